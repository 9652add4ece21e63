#!/usr/bin/env bash
# A/B of two Gatehouse builds or runtime settings, interleaved (A B A B …) so that the box's background load hits
# both alike. Needs the peers running (bench/run.sh leaves nothing running; start them with
#   PEERS_RUN=<dir> <peers copy>/start-all.sh oidc nginx haproxy).
#   A_DIR=<publish dir> B_DIR=<publish dir> [A_ENV="DOTNET_x=1"] [B_ENV=...] CONFIG=<gatehouse.yaml> bench/ab.sh
#   (A_CONFIG / B_CONFIG override CONFIG per variant, e.g. audit on vs off)
# env: ROUNDS=3 DURATION=8s WARMUP=3s CONNECTIONS=50 TOKEN=<jwt> (default: one from the IdP) GH_ADMIN, GH_EDGE
# Prints per round and the medians: req/s, p99, vCPU per 1000 req/s, peak RSS. Stops every Gatehouse it started.
set -euo pipefail
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} WARMUP=${WARMUP:-3s} CONNECTIONS=${CONNECTIONS:-50}
GH_EDGE=${GH_EDGE:-127.0.0.1:8090} GH_ADMIN=${GH_ADMIN:-127.0.0.1:8091}
: "${A_DIR:?}" "${B_DIR:?}" "${CONFIG:?}"
CLK_TCK=$(getconf CLK_TCK)
TOKEN=${TOKEN:-$(curl -sf -u bench-client:bench-secret -d grant_type=client_credentials -d scope='read write' \
  -d resource=https://api.example.test http://127.0.0.1:4000/token | jq -r .access_token)}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-ab.XXXXXX")
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true' EXIT
one() { # label dir env config
  local label=$1 dir=$2 envs=$3 config=$4 f c0 c1 reqs
  env $envs "$dir/gatehouse" run -c "$config" > "$OUT/$label.log" 2>&1 < /dev/null &
  PID=$!
  for _ in $(seq 300); do curl -sf -o /dev/null "http://$GH_ADMIN/readyz" && break; sleep 0.05; done
  wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $TOKEN" "http://$GH_EDGE/" > /dev/null
  c0=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $12 + $13}')
  f="$OUT/$label.$r.txt"
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://$GH_EDGE/" > "$f"
  c1=$(sed 's/.*) //' "/proc/$PID/stat" | awk '{print $12 + $13}')
  reqs=$(awk '/requests in/{print $1}' "$f")
  printf '%s %s %s %s %s\n' "$label" "$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$f")" "$(awk '$1=="99%"{print $2}' "$f")" \
    "$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN{printf "%.3f", d / hz * 1000 / n}')" \
    "$(awk '/VmHWM/{printf "%d", $2 / 1024}' "/proc/$PID/status")" | tee -a "$OUT/results"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/${GH_ADMIN%:*}/${GH_ADMIN##*:}") 2>/dev/null || break; sleep 0.05; done
}
echo "label req/s p99 vCPU/1k-rps peakRSS-MB"
for r in $(seq "$ROUNDS"); do
  one A "$A_DIR" "${A_ENV:-}" "${A_CONFIG:-$CONFIG}"
  one B "$B_DIR" "${B_ENV:-}" "${B_CONFIG:-$CONFIG}"
done
for l in A B; do
  # each column's own median (not the values of the median-req/s round)
  med() { awk -v l=$l '$1==l' "$OUT/results" | awk -v k="$1" '{v = $k; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v}' | sort -g | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
  printf 'median %s: %s req/s, p99 %s ms, vCPU/1k %s, RSS %s MB (n=%d)\n' "$l" "$(med 2)" "$(med 3)" "$(med 4)" "$(med 5)" \
    "$(awk -v l=$l '$1==l' "$OUT/results" | wc -l)"
done
