#!/usr/bin/env bash
# Soak and fault run (issue #8 item 4; not in CI):
#   phase 1, SOAK_SECONDS (default 600) at a steady load (wrk -c SOAK_CONNECTIONS, chunks of ≤ 30 s) while
#     - the IdP is stopped and restarted ROTATIONS times (default 3), each time with a new key generation
#       (new kids; the JWKS keeps the previous generation, as in a real rotation), down for IDP_DOWN seconds,
#       and the load switches to a token of the new key as soon as the IdP gives one;
#     - the config is reloaded RELOADS times (default 100; SIGHUP), every 5th reload invalid (empty audiences);
#     expected: zero failed valid requests (every response 200, no socket errors), Gatehouse alive;
#   phase 2, OVERLOAD_SECONDS (default 15) at 10× the concurrency limit (limits.max_concurrent_requests = LIMIT,
#     default 20; wrk -c 10×LIMIT): expected no crash, memory bounded, excess answered 503 (not timeouts).
# Prints a markdown summary. env as bench/run.sh: PEERS_SRC, PEERS_CACHE, BENCH_DIR, GH_EDGE, GH_ADMIN, SKIP_PUBLISH;
# GH_DIR=<publish dir> reuses a published Gatehouse.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-8}
ROTATIONS=${ROTATIONS:-3}
IDP_DOWN=${IDP_DOWN:-5}
RELOADS=${RELOADS:-100}
LIMIT=${LIMIT:-20}
OVERLOAD_SECONDS=${OVERLOAD_SECONDS:-15}
GH_EDGE=${GH_EDGE:-127.0.0.1:8090}
GH_ADMIN=${GH_ADMIN:-127.0.0.1:8091}
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
[ -d "$PEERS_SRC" ] || PEERS_SRC=/work/shared/peers
PEERS_CACHE=${PEERS_CACHE:-${TMPDIR:-/tmp}/gatehouse-bench-peers}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-soak.XXXXXX")}
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd); chmod 755 "$WORK"
export PEERS_RUN=$WORK/peers-run
[ "$OVERLOAD_SECONDS" -le 30 ] || { echo "soak.sh: OVERLOAD_SECONDS must be ≤ 30" >&2; exit 2; }

log() { echo "[soak.sh $(date -u +%T)] $*" >&2; }
GH_PID="" LOAD_PID="" ROT_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "$LOAD_PID" "$ROT_PID"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "$GH_PID" ] && kill -0 "$GH_PID" 2>/dev/null; then
    kill -TERM "$GH_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$GH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GH_PID" 2>/dev/null || true
  fi
  [ -x "$PEERS_CACHE/stop-all.sh" ] && "$PEERS_CACHE/stop-all.sh" >&2 || true
  wait 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- peers (private copy of the kit, as run.sh) with key generation 0
mkdir -p "$PEERS_CACHE"
tar -C "$PEERS_SRC" --exclude=./node/node_modules --exclude=./keys --exclude=./pki/'*'.pem --exclude=./pki/'*'.crt \
    --exclude=./pki/'*'.key -cf - . | tar -C "$PEERS_CACHE" -xf -
"$PEERS_CACHE/install.sh" > "$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; exit 1; }
for p in 4000 8080 "${GH_EDGE##*:}" "${GH_ADMIN##*:}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "soak.sh: port $p already in use" >&2; exit 1; fi
done
node "$BENCH/rotate-keys.mjs" "$WORK/keys-0" 0
PEERS_KEYS=$WORK/keys-0 "$PEERS_CACHE/start-all.sh" oidc nginx > "$WORK/peers-start.log" 2>&1 || { cat "$WORK/peers-start.log" >&2; exit 1; }

# --- Gatehouse
GH_DIR=${GH_DIR:-$WORK/gatehouse}
if [ ! -x "$GH_DIR/gatehouse" ]; then
  log "dotnet publish src/Gatehouse -c Release"
  dotnet publish "$ROOT/src/Gatehouse" -c Release -o "$GH_DIR" -nologo -v q > "$WORK/publish.log" 2>&1 || { tail -30 "$WORK/publish.log" >&2; exit 1; }
fi
render() { # methods audiences -> config on stdout
  sed -e "s|@JWKS_URI@|http://127.0.0.1:4000/jwks|" -e "s|@AUDIT@|$WORK/audit.jsonl|" -e "s|@EDGE@|$GH_EDGE|" \
      -e "s|@ADMIN@|$GH_ADMIN|" -e "s|@MAX_CONCURRENT@|$LIMIT|" -e "s|methods: \[GET, HEAD\]|methods: [$1]|" \
      -e "s|audiences: \[https://api.example.test, https://api-es.example.test\]|audiences: [$2]|" "$BENCH/gatehouse.yaml.in"
}
render "GET, HEAD" "https://api.example.test, https://api-es.example.test" > "$WORK/gatehouse.yaml"
"$GH_DIR/gatehouse" run -c "$WORK/gatehouse.yaml" > "$WORK/gatehouse.log" 2>&1 < /dev/null &
GH_PID=$!
for _ in $(seq 300); do curl -sf -o /dev/null "http://$GH_ADMIN/readyz" && break; sleep 0.05; done
curl -sf -o /dev/null "http://$GH_ADMIN/readyz" || { tail -20 "$WORK/gatehouse.log" >&2; exit 1; }

idp_token() { curl -sf -u bench-client:bench-secret -d grant_type=client_credentials -d scope='read write' -d resource=https://api.example.test http://127.0.0.1:4000/token | jq -r .access_token; }
idp_token > "$WORK/token.tmp" && mv "$WORK/token.tmp" "$WORK/token"
hwm() { awk '/VmHWM/{print int(($2 + 512) / 1024)}' "/proc/$GH_PID/status"; }
rss() { awk '/VmRSS/{print int(($2 + 512) / 1024)}' "/proc/$GH_PID/status"; }

# --- phase 1: steady load in ≤ 30 s chunks
log "phase 1: $SOAK_SECONDS s at -c$SOAK_CONNECTIONS; $ROTATIONS IdP key rotations; $RELOADS config reloads"
END=$(( $(date +%s) + SOAK_SECONDS ))
(
  k=0
  while [ "$(date +%s)" -lt "$END" ]; do
    left=$(( END - $(date +%s) )); [ "$left" -gt 30 ] && left=30; [ "$left" -ge 1 ] || break
    k=$((k + 1))
    TOKEN_FILE=$WORK/token wrk -t1 -c"$SOAK_CONNECTIONS" -d"${left}s" --latency -s "$BENCH/soak.lua" "http://$GH_EDGE/" > "$WORK/soak-$k.txt" 2>&1 || true
  done
) &
LOAD_PID=$!

(
  for g in $(seq "$ROTATIONS"); do
    sleep $(( SOAK_SECONDS / (ROTATIONS + 1) - IDP_DOWN > 1 ? SOAK_SECONDS / (ROTATIONS + 1) - IDP_DOWN : 1 ))
    "$PEERS_CACHE/stop-all.sh" oidc > /dev/null 2>&1
    echo "$(date -u +%T) IdP stopped" >> "$WORK/rotations.log"
    node "$BENCH/rotate-keys.mjs" "$WORK/keys-$g" "$g" "$WORK/keys-$((g - 1))"
    sleep "$IDP_DOWN"
    PEERS_KEYS=$WORK/keys-$g "$PEERS_CACHE/start-all.sh" oidc >> "$WORK/peers-start.log" 2>&1 || echo "IdP restart failed" >> "$WORK/rotations.log"
    for _ in $(seq 50); do t=$(idp_token 2>/dev/null || true); [ -n "$t" ] && [ "$t" != null ] && break; sleep 0.2; done
    echo "$t" > "$WORK/token.tmp" && mv "$WORK/token.tmp" "$WORK/token"
    echo "$(date -u +%T) IdP restarted with keys rs-$g/ec-$g; load now uses kid $(cut -d. -f1 "$WORK/token" | base64 -d 2>/dev/null | jq -r .kid)" >> "$WORK/rotations.log"
  done
) &
ROT_PID=$!

interval_ms=$(( SOAK_SECONDS * 1000 / (RELOADS + 1) ))
invalid=0
for r in $(seq "$RELOADS"); do
  sleep "$(awk -v m="$interval_ms" 'BEGIN{printf "%.3f", m / 1000}')"
  if [ $((r % 5)) -eq 0 ]; then
    render "GET, HEAD" "" > "$WORK/next.yaml"; invalid=$((invalid + 1))      # invalid: empty audiences
  elif [ $((r % 2)) -eq 0 ]; then
    render "GET, HEAD, OPTIONS" "https://api.example.test, https://api-es.example.test" > "$WORK/next.yaml"
  else
    render "GET, HEAD" "https://api.example.test, https://api-es.example.test" > "$WORK/next.yaml"
  fi
  echo "# reload $r" >> "$WORK/next.yaml"
  mv "$WORK/next.yaml" "$WORK/gatehouse.yaml"
  kill -HUP "$GH_PID"
done
# leave a valid config in force
render "GET, HEAD" "https://api.example.test, https://api-es.example.test" > "$WORK/next.yaml"; mv "$WORK/next.yaml" "$WORK/gatehouse.yaml"; kill -HUP "$GH_PID"
wait "$ROT_PID" || true; ROT_PID=""
wait "$LOAD_PID" || true; LOAD_PID=""
ALIVE1=$(kill -0 "$GH_PID" 2>/dev/null && echo yes || echo NO)
HWM1=$(hwm); RSS1=$(rss)
curl -sf "http://$GH_ADMIN/metrics" > "$WORK/metrics-after-soak.txt" || true

sum_status() { # file-glob -> "200=N 401=M ..."
  cat "$@" | awk '/^statuses:/{for (i = 2; i <= NF; i++) { split($i, a, "="); s[a[1]] += a[2] } } END{for (k in s) printf "%s=%d ", k, s[k]}'
}
sum_errors() {
  cat "$@" | awk '/^socket errors:/{for (i = 3; i <= NF; i++) { split($i, a, "="); s += a[2] } } END{print s + 0}'
}
S1=$(sum_status "$WORK"/soak-*.txt); E1=$(sum_errors "$WORK"/soak-*.txt)
OK1=$(echo "$S1" | tr ' ' '\n' | awk -F= '$1=="200"{print $2}'); OK1=${OK1:-0}
BAD1=$(echo "$S1" | tr ' ' '\n' | awk -F= '$1!="200" && $1!=""{s+=$2} END{print s+0}')

# --- phase 2: 10× overload
log "phase 2: $OVERLOAD_SECONDS s at -c$((10 * LIMIT)) against max_concurrent_requests=$LIMIT"
TOKEN_FILE=$WORK/token wrk -t1 -c$((10 * LIMIT)) -d"${OVERLOAD_SECONDS}s" --latency -s "$BENCH/soak.lua" "http://$GH_EDGE/" > "$WORK/overload.txt" 2>&1 || true
ALIVE2=$(kill -0 "$GH_PID" 2>/dev/null && echo yes || echo NO)
HWM2=$(hwm); RSS2=$(rss)
S2=$(sum_status "$WORK/overload.txt"); E2=$(sum_errors "$WORK/overload.txt")
curl -sf "http://$GH_ADMIN/metrics" > "$WORK/metrics-after-overload.txt" || true
READY_AFTER=$(curl -s -o /dev/null -w '%{http_code}' "http://$GH_ADMIN/readyz")
RELOAD_METRICS=$(grep -E '^gatehouse_config_reload' "$WORK/metrics-after-soak.txt" | tr '\n' ';' || true)

echo "### Soak $(date -u +%FT%TZ): ${SOAK_SECONDS}s steady load -c$SOAK_CONNECTIONS, $ROTATIONS IdP restarts with rotated keys (down ${IDP_DOWN}s each), $RELOADS reloads ($invalid invalid)"
echo
echo "| check | result | |"
echo "|---|---|---|"
echo "| phase 1 responses | $S1| $([ "$BAD1" = 0 ] && [ "$E1" = 0 ] && [ "$OK1" -gt 0 ] && echo met || echo '**FAILED**') |"
echo "| phase 1 socket errors | $E1 | |"
echo "| Gatehouse alive after phase 1 | $ALIVE1 (RSS $RSS1 MB, peak $HWM1 MB) | |"
echo "| reload metrics | ${RELOAD_METRICS:-n/a} | |"
echo "| phase 2 (-c$((10 * LIMIT)), limit $LIMIT) responses | $S2| $(echo "$S2" | grep -q '503=' && echo 'shed with 503' || echo '**no 503**') |"
echo "| phase 2 socket errors (timeouts incl.) | $E2 | $([ "$E2" = 0 ] && echo met || echo '**errors**') |"
echo "| phase 2 latency p50 / p99 | $(awk '$1=="50%"{print $2}' "$WORK/overload.txt") / $(awk '$1=="99%"{print $2}' "$WORK/overload.txt") | |"
echo "| Gatehouse alive after overload, /readyz | $ALIVE2, $READY_AFTER (RSS $RSS2 MB, peak $HWM2 MB) | |"
echo
echo "rotations:"; sed 's/^/  /' "$WORK/rotations.log" 2>/dev/null || true
echo "raw output: $WORK"
