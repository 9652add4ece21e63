#!/usr/bin/env bash
# Builds the Gatehouse image and tests it without running a container (podman builds images on machines where it
# cannot run them, e.g. without a usable cgroup hierarchy): the image's filesystem is exported and the executable is
# run from it in a private mount namespace, chrooted into the image's root made read-only (as
# readOnlyRootFilesystem), with a tmpfs /tmp, /proc, /sys, /dev and the config mounted like a ConfigMap, as UID 65532:
#   `--version`, `check`, `ca init`/`ca issue` (writes to a mounted volume), then `run` until /readyz answers 200,
#   an HTTPS request through the image's OpenSSL (401 without a token), and a graceful stop on SIGTERM (exit 0).
# Prints the image size and start-to-ready time (docs/performance.md, "Container image").
#
# Usage: deploy/container/test-image.sh [IMAGE]            (root, or sudo; podman; curl)
#   SKIP_BUILD=1   test an image that is already built
#   SDK_IMAGE=…    the build stage's base (default: the locally assembled localhost/gatehouse-sdk:10.0, made by
#                  build-sdk-image.sh when missing; set mcr.microsoft.com/dotnet/sdk:10.0 where registries are reachable)
set -euo pipefail
cd "$(dirname "$0")/../.."
image="${1:-localhost/gatehouse:test}"

if ! command -v podman >/dev/null 2>&1; then
  echo "image test skipped: podman is not installed (apt-get install podman)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env=SKIP_BUILD,SDK_IMAGE "$0" "$@"; fi

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  sdk="${SDK_IMAGE:-localhost/gatehouse-sdk:10.0}"
  if [ "$sdk" = localhost/gatehouse-sdk:10.0 ] && ! podman image exists "$sdk"; then
    step "assembling $sdk from this machine's Debian packages and .NET SDK"
    deploy/container/build-sdk-image.sh "$sdk"
  fi
  # The local NuGet cache, when there is one, spares the build a download of every package.
  cache=(); [ -d "$HOME/.nuget/packages" ] && cache=(-v "$HOME/.nuget/packages:/root/.nuget/packages")
  step "podman build (Native AOT publish in the build stage)"
  started=$(date +%s)
  podman build --isolation chroot --build-arg SDK_IMAGE="$sdk" "${cache[@]}" -t "$image" -f Containerfile .
  echo "build took $(( $(date +%s) - started )) s"
fi

step "image metadata"
size=$(podman image inspect --format '{{.Size}}' "$image")
user=$(podman image inspect --format '{{.Config.User}}' "$image")
entrypoint=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$image")
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
echo "size ${size} bytes ($(( size / 1024 / 1024 )) MiB), user ${user}, entrypoint ${entrypoint}, healthcheck ${healthcheck}"
[ "$user" = 65532:65532 ] || fail "image user is '$user', expected 65532:65532"
[ "$entrypoint" = '["/usr/local/bin/gatehouse"]' ] || fail "unexpected entrypoint $entrypoint"
case "$healthcheck" in null|'{}'|'') ;; *) fail "the image declares a HEALTHCHECK: $healthcheck";; esac

work=$(mktemp -d); ctr=""
cleanup() { [ -n "$ctr" ] && podman rm -f "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
root="$work/root"; mkdir -p "$root"
ctr=$(podman create "$image")
podman export "$ctr" | tar -C "$root" -xf -
podman rm -f "$ctr" >/dev/null; ctr=""

step "image filesystem"
(cd "$root" && find . -type f -o -type l | sort)
for shell in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash bin/busybox; do
  [ ! -e "$root/$shell" ] || fail "the image contains a shell: /$shell"
done
# Every shared object in the image is one the executable needs: what `ldd` names plus libssl/libcrypto (dlopen).
needed=$(ldd "$root/usr/local/bin/gatehouse" | grep -o '/[^ ]*' | xargs -n1 basename; echo libssl.so.3; echo libcrypto.so.3)
while read -r lib; do
  grep -qx "$(basename "$lib")" <<<"$needed" || fail "unexpected library in the image: $lib"
done < <(cd "$root" && find . -name '*.so*' -type f)

# Mount points a container runtime would provide; the config and a writable volume, as a ConfigMap and an emptyDir.
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/var/run/gatehouse" "$work/config" "$work/volume"
chmod 0777 "$work/volume"
admin=$(shuf -i 20000-29999 -n 1); edge=$(shuf -i 30000-39999 -n 1)
cp samples/jwks.json "$work/config/jwks.json"
cat > "$work/config/gatehouse.yaml" <<YAML
version: 1
issuers:
  corp: { issuer: "https://idp.example.com/", jwks_file: /etc/gatehouse/jwks.json, audiences: [orders] }
listeners:
  - name: edge
    mode: gateway
    address: "127.0.0.1:${edge}"
    tls: { certificate: /var/run/gatehouse/svid/svid.pem, key: /var/run/gatehouse/svid/svid_key.pem }
  - { name: admin, mode: admin, address: "127.0.0.1:${admin}" }
routes:
  - { name: orders, match: { path_prefix: /orders }, upstream: "http://127.0.0.1:9", authentication: { issuers: [corp], require_token: true } }
audit: { stdout: true }
YAML

# In a private mount namespace: every mount below disappears with it.
unshare --mount --propagation private bash -s "$root" "$work" "$admin" "$edge" <<'INNER'
set -euo pipefail
root=$1 work=$2 admin=$3 edge=$4
fail() { echo "FAIL: $*" >&2; exit 1; }
mnt="$work/mnt"; mkdir -p "$mnt"
mount --bind "$root" "$mnt"
mount -o remount,bind,ro "$mnt"                      # readOnlyRootFilesystem
mount -t tmpfs -o size=16m tmpfs "$mnt/tmp"
mount -t proc proc "$mnt/proc"
mount --rbind /sys "$mnt/sys"                        # the runtime reads CPU and cgroup limits there
mount --rbind /dev "$mnt/dev"
mount --bind "$work/config" "$mnt/etc/gatehouse"; mount -o remount,bind,ro "$mnt/etc/gatehouse"
mount --bind "$work/volume" "$mnt/var/run/gatehouse"
# The image's environment only, as UID/GID 65532; env and chroot exec, so a background job's PID is gatehouse's.
gatehouse=(env -i SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
           "$(command -v chroot)" --userspec=65532:65532 "$mnt" /usr/local/bin/gatehouse)
gh() { "${gatehouse[@]}" "$@"; }

echo "== gatehouse --version";  gh --version
echo "== gatehouse ca init / issue (writes to the mounted volume)"
gh ca init --trust-domain test.local --out /var/run/gatehouse/ca >/dev/null
gh ca issue --ca /var/run/gatehouse/ca --spiffe-id spiffe://test.local/ns/edge/sa/gateway --dns localhost --out /var/run/gatehouse/svid >/dev/null
echo "== gatehouse check";      gh check -c /etc/gatehouse/gatehouse.yaml
if gh check -c /etc/gatehouse/missing.yaml 2>/dev/null; then fail "check accepted a missing file"; fi

echo "== gatehouse run"
start=$(date +%s%N)
"${gatehouse[@]}" run -c /etc/gatehouse/gatehouse.yaml > "$work/run.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 1500); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${admin}/readyz" || true)" = 200 ]; then
    ready=$(( ($(date +%s%N) - start) / 1000000 )); break
  fi
  kill -0 "$pid" 2>/dev/null || { cat "$work/run.log"; fail "gatehouse run exited before it was ready"; }
  sleep 0.01
done
[ -n "$ready" ] || { cat "$work/run.log"; kill "$pid"; fail "/readyz never answered 200"; }
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "?")
echo "ready in ${ready} ms (start to /readyz 200), ${rss} kB resident"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/volume/svid/bundle.pem" "https://localhost:${edge}/orders/1")
[ "$code" = 401 ] || { cat "$work/run.log"; fail "HTTPS request without a token answered $code, expected 401"; }
echo "HTTPS through the image's OpenSSL: 401 without a token, as expected"
kill -TERM "$pid"; status=0; wait "$pid" || status=$?
[ "$status" = 0 ] || { cat "$work/run.log"; fail "gatehouse run exited $status after SIGTERM"; }
echo "stopped on SIGTERM, exit 0"
echo "RESULT ready_ms=${ready} rss_kb=${rss}"
INNER
echo "RESULT image_bytes=${size}"
echo "image test passed: $image"
