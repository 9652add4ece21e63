# Gatehouse itself speaks gRPC (h2c) on its ext_authz_grpc listener.
Kind     = "service-defaults"
Name     = "gatehouse"
Protocol = "grpc"
