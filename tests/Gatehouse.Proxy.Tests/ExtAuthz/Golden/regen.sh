#!/usr/bin/env bash
# Regenerates the golden CheckRequest bytes: each *.txtpb (protobuf text format written against Envoy's field
# numbers) is encoded with `protoc --encode` into *.bin, and `protoc --decode_raw` writes *.raw.txt beside it so
# reviewers can check the raw field numbers against envoy api/envoy/service/auth/v3/*.proto.
# Needs protoc and the well-known types: Debian `apt-get install -y protobuf-compiler` (libprotobuf-dev comes with it).
# A *.txtpb may name its message and schema in "# message: ..." and "# proto: ..." lines; the default is
# envoy.service.auth.v3.CheckRequest from Gatehouse's own protos.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
protos="$(cd "$here/../../../../src/Gatehouse.Proxy/ExtAuthz/Protos" && pwd)"
include="${PROTOC_INCLUDE:-/usr/include}"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
[ -f "$include/google/protobuf/struct.proto" ] || { echo "google/protobuf/*.proto not under $include" >&2; exit 1; }

for txt in "$here"/*.txtpb; do
  base="${txt%.txtpb}"
  message="$(sed -n 's/^# message: *//p' "$txt" | head -n1)"
  proto="$(sed -n 's/^# proto: *//p' "$txt" | head -n1)"
  message="${message:-envoy.service.auth.v3.CheckRequest}"
  proto="${proto:-envoy/service/auth/v3/external_auth.proto}"
  protoc -I "$here" -I "$protos" -I "$include" --encode="$message" "$proto" < "$txt" > "$base.bin"
  protoc --decode_raw < "$base.bin" > "$base.raw.txt"
  echo "$(basename "$base").bin: $(stat -c %s "$base.bin") bytes"
done
