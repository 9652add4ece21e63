#!/usr/bin/env bash
# ext_authz gRPC Check calls per second, and server CPU per Check, for one or more published Gatehouse builds, in one
# run with the builds alternating (a busy box then hurts every build alike). Issue 12 item 3:
#   dotnet publish src/Gatehouse -c Release -o /tmp/gh-after      # and the build to compare, e.g. from an older commit
#   bench/extauthz-grpc.sh /tmp/gh-before /tmp/gh-after
# env: RUNS=3 (runs per build), DUR=10 (seconds per run, ≤ 20), CONNECTIONS=4, STREAMS=16 (h2load -c / -m),
#      PORT=19191, ADMIN_PORT=19901, BENCH_DIR (default: a new mktemp dir)
# Load: h2load (Debian nghttp2-client) posting one gRPC-framed CheckRequest (9 headers, an RS256 token, mTLS peer
# attributes) over h2c; the answer is checked to be an allow before measuring. Loopback only; each server is stopped
# by its PID when its run ends.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}; DUR=${DUR:-10}; C=${CONNECTIONS:-4}; M=${STREAMS:-16}
PORT=${PORT:-19191}; ADMIN_PORT=${ADMIN_PORT:-19901}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-extauthz.XXXXXX")}
command -v h2load >/dev/null || { echo "h2load is required (apt-get install nghttp2-client)" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2; exit 2; }
PROTOC_DIR=$(ls -d "$HOME"/.nuget/packages/grpc.tools/*/ | tail -1)
PROTOC=$PROTOC_DIR/tools/linux_x64/protoc
PROTOS=$ROOT/src/Gatehouse.Proxy/ExtAuthz/Protos
HZ=$(getconf CLK_TCK)
FIRST=$(cd "$1" && pwd)

mkdir -p "$WORK"; cd "$WORK"
"$FIRST/gatehouse" token keygen -o keys --kid bench-1 >/dev/null
TOKEN=$("$FIRST/gatehouse" token mint -k keys/signing-key.pem --iss https://idp.bench.test --aud orders --sub checkout --scope orders.read --exp 3600)
cat > gatehouse.yaml <<YAML
version: 1
issuers:
  idp: { issuer: "https://idp.bench.test", jwks_file: keys/jwks.json, audiences: [orders], algorithms: [RS256] }
listeners:
  - { name: authz, mode: ext_authz_grpc, address: "127.0.0.1:$PORT" }
  - { name: admin, mode: admin, address: "127.0.0.1:$ADMIN_PORT" }
routes:
  - name: orders
    match: { path_prefix: /orders }
    authentication: { issuers: [idp], require_token: true, required_scopes: [orders.read] }
    claim_headers: { x-gatehouse-sub: sub, x-gatehouse-client: client_id }
policies: {}
YAML
cat > check.txtpb <<TXT
attributes {
  source { address { socket_address { address: "10.0.0.9" port_value: 40000 } } principal: "spiffe://cluster.local/ns/shop/sa/checkout" }
  destination { address { socket_address { address: "10.0.0.10" port_value: 8080 } } }
  request { http {
    id: "8711223344556677" method: "GET" path: "/orders/42?expand=items" host: "orders.shop.svc.cluster.local" scheme: "http" protocol: "HTTP/1.1"
    headers { key: ":authority" value: "orders.shop.svc.cluster.local" } headers { key: ":method" value: "GET" }
    headers { key: ":path" value: "/orders/42?expand=items" } headers { key: ":scheme" value: "http" }
    headers { key: "authorization" value: "Bearer $TOKEN" } headers { key: "user-agent" value: "curl/8.5.0" }
    headers { key: "accept" value: "*/*" } headers { key: "x-request-id" value: "0f6e2d8c-3b1a-4e57-9c0d-2a1b3c4d5e6f" }
  } }
}
TXT
"$PROTOC" -I"$PROTOS" -I"$PROTOC_DIR/build/native/include" --encode=envoy.service.auth.v3.CheckRequest envoy/service/auth/v3/external_auth.proto < check.txtpb > check.bin
python3 -c "import struct,sys; b=open('check.bin','rb').read(); sys.stdout.buffer.write(b'\x00'+struct.pack('>I',len(b))+b)" > check.grpc
URL=http://127.0.0.1:$PORT/envoy.service.auth.v3.Authorization/Check
H2LOAD=(h2load -c "$C" -m "$M" -t 1 -d check.grpc -H 'content-type: application/grpc' -H 'te: trailers')

PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; PID=; }
trap stop EXIT
echo "| run | build | Check/s | server CPU per Check |"
echo "|---|---|---:|---:|"
for r in $(seq 1 "$RUNS"); do
  for build in "$@"; do
    "$build/gatehouse" run -c gatehouse.yaml > "$(basename "$build").log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null && break; sleep 0.1; done
    curl -s --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @check.grpc "$URL" -o answer.bin
    tail -c +6 answer.bin | "$PROTOC" -I"$PROTOS" -I"$PROTOC_DIR/build/native/include" --decode=envoy.service.auth.v3.CheckResponse envoy/service/auth/v3/external_auth.proto | grep -q ok_response \
      || { echo "$build: the Check was not allowed" >&2; exit 1; }
    "${H2LOAD[@]}" -D 3 "$URL" > /dev/null   # warm-up: JIT tiers, connection setup
    c0=$(awk '{print $14+$15}' /proc/$PID/stat)
    out=$("${H2LOAD[@]}" -D "$DUR" "$URL")
    c1=$(awk '{print $14+$15}' /proc/$PID/stat)
    stop
    done_=$(echo "$out" | awk '/^requests:/ {print $8}')
    ok=$(echo "$out" | awk '/^status codes:/ {print $3}')
    [ "$done_" = "$ok" ] || { echo "$build: $((done_ - ok)) answers were not 2xx" >&2; exit 1; }
    rps=$(echo "$out" | awk '/^finished in/ {print $4}')
    echo "| $r | $(basename "$build") | $rps | $(echo "scale=1; ($c1-$c0)*1000000/$HZ/$done_" | bc) µs |"
  done
done
