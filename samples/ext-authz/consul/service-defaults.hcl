# Consul service mesh: the orders sidecar (Envoy) asks Gatehouse before every inbound request.
Kind     = "service-defaults"
Name     = "orders"
Protocol = "http"
EnvoyExtensions = [
  {
    Name = "builtin/ext-authz"
    Arguments = {
      ProxyType = "connect-proxy"
      Config = {
        IncludePeerCertificate = true
        GrpcService = {
          Target = {
            # A Gatehouse service registered in Consul (Protocol = "grpc"), or URI = "127.0.0.1:9191" for a
            # Gatehouse container in the same task/pod.
            Service = { Name = "gatehouse" }
          }
          Timeout = "0.25s"
        }
      }
    }
  }
]
