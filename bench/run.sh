#!/usr/bin/env bash
# Gatehouse side by side with nginx and HAProxy (issues #8 and #18). One command:
#   bench/run.sh                       -> one markdown table on stdout (raw output kept in the work dir)
# Rows: reused and distinct RS256/ES256 tokens over plain HTTP (wrk); mTLS (TLS 1.3 + client certificate) with a new
# connection every 100 requests and with keep-alive (autocannon, bench/mtls-load.mjs: wrk cannot present a client
# certificate); ext_authz gRPC Check over h2c at 1 and 4 connections × 50 streams, decision cache on and off (h2load).
# Gatehouse is the default published build (`dotnet publish src/Gatehouse -c Release`: Native AOT).
# env knobs:
#   CONNECTIONS=50        wrk -c (always -t1, as in the peers kit)
#   DURATION=10s          each reused-token load run (≤ 30 s)
#   DISTINCT_DURATION=20s cap of each distinct-token run (the run stops when the token list is used up)
#   DISTINCT_TOKENS=40000 tokens minted per algorithm; each is sent exactly once to each proxy
#   WARMUP=3s             load before each measured run (connection pools)
#   GH_WARMUP=20s         one longer load on Gatehouse before its first measured run (tiered JIT reaches steady state)
#   START_RUNS=3          Gatehouse cold starts timed (median reported)
#   GH_EDGE=127.0.0.1:8090 GH_ADMIN=127.0.0.1:8091   Gatehouse listeners
#   BENCH_DIR=<dir>       work dir (default: a new mktemp dir); PEERS_SRC (default ../shared/peers from the repo)
#   PEERS_CACHE=<dir>     where the peers kit is copied and installed (default ${TMPDIR:-/tmp}/gatehouse-bench-peers);
#                         the shared kit itself is never written to
#   SKIP_PUBLISH=1        reuse $BENCH_DIR/gatehouse (a previous publish)
#   GH_JIT=1              publish the JIT build instead (-p:PublishAot=false) — the documented alternative
#   MTLS_DURATION=10s     each mTLS run; EXTAUTHZ_DURATION=10s each ext_authz run; SKIP_MTLS=1 / SKIP_EXTAUTHZ=1 skip them
#   GH_MTLS=127.0.0.1:8092 HAPROXY_MTLS_PORT=8446 NGINX_MTLS_PORT=8447 EXTAUTHZ_PORT=8093 EXTAUTHZ_ADMIN=8094
#   GH_ENV="K=V ..."      extra environment for Gatehouse (e.g. DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
# Installs what it needs (the peers kit's install.sh: HAProxy, nginx, wrk, h2load, node packages; apt only for missing
# packages). Loopback only. Everything started here is stopped by PID on exit (trap); a watchdog ends it after 15 min.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10s}
DISTINCT_DURATION=${DISTINCT_DURATION:-20s}
DISTINCT_TOKENS=${DISTINCT_TOKENS:-40000}
WARMUP=${WARMUP:-3s}
GH_WARMUP=${GH_WARMUP:-20s}
START_RUNS=${START_RUNS:-3}
GH_EDGE=${GH_EDGE:-127.0.0.1:8090}
GH_ADMIN=${GH_ADMIN:-127.0.0.1:8091}
GH_MTLS=${GH_MTLS:-127.0.0.1:8092}
HAPROXY_MTLS_PORT=${HAPROXY_MTLS_PORT:-8446}
NGINX_MTLS_PORT=${NGINX_MTLS_PORT:-8447}
EXTAUTHZ_PORT=${EXTAUTHZ_PORT:-8093}
EXTAUTHZ_ADMIN=${EXTAUTHZ_ADMIN:-8094}
MTLS_DURATION=${MTLS_DURATION:-10s}
EXTAUTHZ_DURATION=${EXTAUTHZ_DURATION:-10s}
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
[ -d "$PEERS_SRC" ] || PEERS_SRC=/work/shared/peers
PEERS_CACHE=${PEERS_CACHE:-${TMPDIR:-/tmp}/gatehouse-bench-peers}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")}
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
export PEERS_RUN=$WORK/peers-run
chmod 755 "$WORK"   # nginx workers (nobody) read $PEERS_RUN/pub
CLK_TCK=$(getconf CLK_TCK)

for s in 10#${DURATION%s} 10#${DISTINCT_DURATION%s} 10#${MTLS_DURATION%s} 10#${EXTAUTHZ_DURATION%s}; do
  [ $((s)) -le 30 ] || { echo "run.sh: each load run must be ≤ 30 s" >&2; exit 2; }
done

log() { echo "[run.sh $(date -u +%T)] $*" >&2; }
GH_PID=""
EXTRA_PIDS=()   # the mTLS HAProxy and nginx, the ext_authz Gatehouse: each stopped by its own PID
WATCHDOG=""
stop_pid() {
  local p=$1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  stop_pid "$GH_PID"
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
  [ -x "$PEERS_CACHE/stop-all.sh" ] && "$PEERS_CACHE/stop-all.sh" >&2 || true
  # the watchdog subshell and its sleep (by PID: the sleep would otherwise outlive the run for up to 15 min)
  if [ -n "$WATCHDOG" ]; then
    for p in $(ps -o pid= --ppid "$WATCHDOG" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    kill "$WATCHDOG" 2>/dev/null || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Note: the sleep holds none of the script's output pipes (bench/run.sh | grep must end when the script ends).
( sleep 900 < /dev/null > /dev/null 2>&1; log "watchdog: 15 minutes passed, stopping"; kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg); T_START=$(date -u +%T)
# --- 1. peers: a private copy of the kit (scripts refreshed every run; node_modules, keys and PKI kept)
log "peers kit: $PEERS_SRC -> $PEERS_CACHE"
mkdir -p "$PEERS_CACHE"
tar -C "$PEERS_SRC" --exclude=./node/node_modules --exclude=./keys --exclude=./pki/'*'.pem --exclude=./pki/'*'.crt \
    --exclude=./pki/'*'.key -cf - . | tar -C "$PEERS_CACHE" -xf -
"$PEERS_CACHE/install.sh" > "$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; exit 1; }
KEYS=$PEERS_CACHE/keys
for p in 4000 8080 8081 8082 8083 "${GH_EDGE##*:}" "${GH_ADMIN##*:}" "${GH_MTLS##*:}" "$HAPROXY_MTLS_PORT" "$NGINX_MTLS_PORT" "$EXTAUTHZ_PORT" "$EXTAUTHZ_ADMIN"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "run.sh: port $p is already in use (another engineer's peers or Gatehouse?); not starting over it" >&2
    exit 1
  fi
done
"$PEERS_CACHE/start-all.sh" oidc nginx haproxy > "$WORK/peers-start.log" 2>&1 || { cat "$WORK/peers-start.log" >&2; exit 1; }
NGINX_PID=$(cat "$PEERS_RUN/nginx.pid")
HAPROXY_PID=$(cat "$PEERS_RUN/haproxy.pid")

# --- 2. Gatehouse Release build, and tokens (minted in parallel with the publish)
if [ "${SKIP_PUBLISH:-0}" != 1 ] || [ ! -x "$WORK/gatehouse/gatehouse" ]; then
  # Note: the default publish is the Native AOT build (src/Gatehouse/Gatehouse.csproj); GH_JIT=1 is the alternative.
  PUBLISH_ARGS=()
  [ "${GH_JIT:-0}" = 1 ] && PUBLISH_ARGS=(-p:PublishAot=false)
  log "dotnet publish src/Gatehouse -c Release ${PUBLISH_ARGS[*]:-}"
  dotnet publish "$ROOT/src/Gatehouse" -c Release "${PUBLISH_ARGS[@]}" -o "$WORK/gatehouse" -nologo -v q > "$WORK/publish.log" 2>&1 &
  PUB=$!
fi
log "minting $DISTINCT_TOKENS RS256 + $DISTINCT_TOKENS ES256 distinct tokens"
mint() { # alg kid key out
  local w pids=()
  for w in 0 1; do
    node "$BENCH/mint-tokens.mjs" "$1" "$2" "$3" "$DISTINCT_TOKENS" http://127.0.0.1:4000 https://api.example.test 3600 $w 2 > "$4.$w" &
    pids+=($!)
  done
  wait "${pids[@]}"; cat "$4.0" "$4.1" > "$4"; rm -f "$4.0" "$4.1"
}
mint RS256 rs-1 "$KEYS/rs256.key.pem" "$WORK/tokens-rs256.txt"
mint ES256 ec-1 "$KEYS/es256.key.pem" "$WORK/tokens-es256.txt"
if [ -n "${PUB:-}" ]; then
  wait "$PUB" || { tail -30 "$WORK/publish.log" >&2; exit 1; }
fi

# the reused tokens come from the real IdP (client_credentials + resource indicator), as in the peers' bench.sh
idp_token() { curl -sf -u bench-client:bench-secret -d grant_type=client_credentials -d scope='read write' -d "resource=$1" http://127.0.0.1:4000/token | jq -r .access_token; }
RS=$(idp_token https://api.example.test)
ES=$(idp_token https://api-es.example.test)
[ -n "$RS" ] && [ "$RS" != null ] && [ -n "$ES" ] && [ "$ES" != null ] || { echo "run.sh: no token from the IdP" >&2; exit 1; }

# The mTLS rows' PKI: one development CA (trust domain bench.test), a server SVID (also HAProxy's and nginx's server
# certificate) and the client's SVID, all EC P-256, made by Gatehouse's own `ca` commands.
PKI=$WORK/pki
if [ "${SKIP_MTLS:-0}" != 1 ]; then
  GH=$WORK/gatehouse/gatehouse
  "$GH" ca init --trust-domain bench.test --out "$PKI" > /dev/null
  "$GH" ca issue --ca "$PKI" --spiffe-id spiffe://bench.test/ns/bench/sa/server --dns localhost --out "$PKI/server" > /dev/null
  "$GH" ca issue --ca "$PKI" --spiffe-id spiffe://bench.test/ns/bench/sa/client --out "$PKI/client" > /dev/null
  cp "$PKI/client/svid.pem" "$PKI/client.pem"; cp "$PKI/client/svid_key.pem" "$PKI/client_key.pem"
  cat "$PKI/server/svid.pem" "$PKI/server/svid_key.pem" > "$PKI/server/haproxy.pem"
  chmod -R a+rX "$PKI"
fi
MTLS_SED=(-e "s|^#MTLS||"); [ "${SKIP_MTLS:-0}" = 1 ] && MTLS_SED=(-e "/^#MTLS/d")
sed "${MTLS_SED[@]}" -e "s|@JWKS_URI@|http://127.0.0.1:4000/jwks|" -e "s|@AUDIT@|$WORK/audit.jsonl|" -e "s|@EDGE@|$GH_EDGE|" \
    -e "s|@ADMIN@|$GH_ADMIN|" -e "s|@MAX_CONCURRENT@|0|" -e "s|@MTLS@|$GH_MTLS|" -e "s|@PKI@|$PKI|" \
    "$BENCH/gatehouse.yaml.in" > "$WORK/gatehouse.yaml"
"$WORK/gatehouse/gatehouse" check -c "$WORK/gatehouse.yaml" >&2

# --- 3. start to ready: exec → /readyz 200 (JWKS fetched from the IdP), START_RUNS times
now_ns() { date +%s%N; }
start_gatehouse() { # sets GH_PID and READY (ms)
  local t0 t1
  t0=$(now_ns)
  env ${GH_ENV:-} "$WORK/gatehouse/gatehouse" run -c "$WORK/gatehouse.yaml" >> "$WORK/gatehouse.log" 2>&1 < /dev/null &
  GH_PID=$!
  for _ in $(seq 3000); do
    if curl -sf -o /dev/null "http://$GH_ADMIN/readyz"; then
      t1=$(now_ns); READY=$(( (t1 - t0) / 1000000 )); return 0
    fi
    kill -0 "$GH_PID" 2>/dev/null || { tail -20 "$WORK/gatehouse.log" >&2; return 1; }
    sleep 0.01
  done
  echo "run.sh: Gatehouse not ready after 30 s" >&2; return 1
}
stop_gatehouse() {
  kill -TERM "$GH_PID"; wait "$GH_PID" 2>/dev/null || true; GH_PID=""
  # Note: the admin port must be free again before the next start is timed
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/${GH_ADMIN%:*}/${GH_ADMIN##*:}") 2>/dev/null || break; sleep 0.05; done
}
starts=()
for i in $(seq "$START_RUNS"); do
  start_gatehouse; starts+=("$READY")
  [ "$i" -lt "$START_RUNS" ] && stop_gatehouse
done
READY_MS=$(printf '%s\n' "${starts[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
log "start-to-ready (ms): ${starts[*]} -> median $READY_MS"
# Note: without this, the first Gatehouse row measures the JIT's tier-up, not the proxy (docs/performance.md).
log "Gatehouse warm-up: $GH_WARMUP"
wrk -t1 -c"$CONNECTIONS" -d"$GH_WARMUP" -H "Authorization: Bearer $RS" "http://$GH_EDGE/" > /dev/null 2>&1 || true

# --- 4. load runs
ticks() { # summed utime+stime of a pid and its children (nginx: master + worker)
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    total=$(( total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
  done
  echo "$total"
}
procs_of() { # pid -> pid and its direct children
  echo "$1"; ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}
hwm_mb() { # peak RSS (VmHWM) in MB, summed over the pids
  local kb=0 p v
  for p in "$@"; do v=$(awk '/VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0); kb=$((kb + ${v:-0})); done
  echo $(( (kb + 512) / 1024 ))
}
busy_pct() { # % of all CPUs busy over 1 s before a run (other engineers' builds show up here)
  local a b
  read -r _ a1 a2 a3 a4 a5 a6 a7 _ < /proc/stat; sleep 1; read -r _ b1 b2 b3 b4 b5 b6 b7 _ < /proc/stat
  local tot=$(( (b1+b2+b3+b4+b5+b6+b7) - (a1+a2+a3+a4+a5+a6+a7) )) idle=$(( (b4+b5) - (a4+a5) ))
  echo $(( 100 * (tot - idle) / tot ))
}

ROWS=()
declare -A RPS P50 P99 CPU
i=0
AUTOCANNON_DIR=$PEERS_CACHE/node; export AUTOCANNON_DIR
# run KEY "name" url pidsource mode token-or-file-or-connections
#   mode: reused | distinct (wrk) | mtls-ka | mtls-100 (autocannon, keep-alive / new connection per 100 requests)
#         | extauthz (h2load, gRPC Check over h2c, arg = connections, 50 streams each)
run() {
  local key=$1 name=$2 url=$3 who=$4 mode=$5 arg=$6 f pids t0 t1 c0 c1 reqs rps p50 p99 n2 cpu rss busy
  i=$((i + 1)); f="$WORK/$i-$key.txt"
  case $who in
    nginx) mapfile -t pids < <(procs_of "$NGINX_PID") ;;
    nginx_mtls) mapfile -t pids < <(procs_of "$NGINX_MTLS_PID") ;;
    haproxy) pids=("$HAPROXY_PID") ;;
    haproxy_mtls) pids=("$HAPROXY_MTLS_PID") ;;
    gatehouse) pids=("$GH_PID") ;;
    extauthz) pids=("$EA_PID") ;;
  esac
  busy=$(busy_pct)
  if [ "$mode" = mtls-ka ] || [ "$mode" = mtls-100 ]; then
    local rr=0; [ "$mode" = mtls-100 ] && rr=100
    timeout 60 node "$BENCH/mtls-load.mjs" "$url" "${WARMUP%s}" "$CONNECTIONS" "$rr" "$PKI" "$arg" > /dev/null 2>&1 || true
    c0=$(ticks "${pids[@]}")
    timeout 90 node "$BENCH/mtls-load.mjs" "$url" "${MTLS_DURATION%s}" "$CONNECTIONS" "$rr" "$PKI" "$arg" > "$f" 2>&1
    c1=$(ticks "${pids[@]}")
    reqs=$(jq -r .total "$f"); rps=$(jq -r .rps "$f")
    p50="$(jq -r .p50_ms "$f")ms"; p99="$(jq -r .p99_ms "$f")ms"
    n2=$(jq -r '.non2xx + .errors + .timeouts' "$f")
  elif [ "$mode" = extauthz ]; then
    local h2=(h2load -c "$arg" -m 50 -t 1 -d "$WORK/check.grpc" -H 'content-type: application/grpc' -H 'te: trailers')
    timeout 60 "${h2[@]}" -D "${WARMUP%s}" "$url" > /dev/null 2>&1 || true
    c0=$(ticks "${pids[@]}")
    timeout 90 "${h2[@]}" -D "${EXTAUTHZ_DURATION%s}" "$url" > "$f" 2>&1
    c1=$(ticks "${pids[@]}")
    reqs=$(awk '/^requests:/{print $8}' "$f"); rps=$(awk '/^finished in/{print $4}' "$f")
    # Note: h2load reports no percentiles; the p50 column carries its mean, p99 its max.
    p50="$(awk '/^time for request:/{print $6}' "$f") (mean)"; p99="$(awk '/^time for request:/{print $5}' "$f") (max)"
    n2=$(( ${reqs:-0} - $(awk '/^status codes:/{print $3}' "$f") ))
  fi
  if [ "${mode#mtls}" != "$mode" ] || [ "$mode" = extauthz ]; then
    cpu=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="${reqs:-0}" 'BEGIN{ if (n > 0) printf "%.3f", d / hz * 1000 / n; else print "n/a" }')
    rss=$(hwm_mb "${pids[@]}")
    RPS[$key]=${rps%.*}; P50[$key]=$p50; P99[$key]=$p99; CPU[$key]=$cpu
    local ready="–"; [ "$who" = gatehouse ] && ready="${READY_MS} ms"
    ROWS+=("$(printf '| %s | %.0f | %s | %s | %s | %s | %s | %s | %s%% |' "$name" "$rps" "$p50" "$p99" "$cpu" "$rss" "$ready" "$n2" "$busy")")
    log "$name: $(printf '%.0f' "$rps") req/s, p50 $p50, p99 $p99, cpu/1k $cpu, rss $rss MB, errors/non-2xx $n2"
    sleep 1
    return 0
  fi
  if [ "$mode" = reused ]; then
    wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $arg" "$url" > /dev/null 2>&1 || true
    c0=$(ticks "${pids[@]}")
    timeout 60 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $arg" "$url" > "$f" 2>&1
  else
    # warm-up with one reused token (the distinct ones must stay unseen)
    wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $RS" "$url" > /dev/null 2>&1 || true
    c0=$(ticks "${pids[@]}")
    TOKENS_FILE=$arg timeout 60 wrk -t1 -c"$CONNECTIONS" -d"$DISTINCT_DURATION" --latency -s "$BENCH/distinct-tokens.lua" "$url" > "$f" 2>&1
  fi
  c1=$(ticks "${pids[@]}")
  reqs=$(awk '/requests in/{print $1}' "$f")
  rps=$(awk '/^Distinct requests\/sec: [0-9]/{print $3; exit}' "$f")
  [ -n "$rps" ] || rps=$(awk '/^Requests\/sec/{print $2}' "$f")
  p50=$(awk '$1=="50%"{print $2}' "$f"); p99=$(awk '$1=="99%"{print $2}' "$f")
  n2=$(awk '/Non-2xx/{print $NF}' "$f"); n2=${n2:-0}
  cpu=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="${reqs:-0}" 'BEGIN{ if (n > 0) printf "%.3f", d / hz * 1000 / n; else print "n/a" }')
  rss=$(hwm_mb "${pids[@]}")
  RPS[$key]=${rps%.*}; P50[$key]=$p50; P99[$key]=$p99; CPU[$key]=$cpu
  local ready="–"; [ "$who" = gatehouse ] && ready="${READY_MS} ms"
  ROWS+=("$(printf '| %s | %.0f | %s | %s | %s | %s | %s | %s | %s%% |' "$name" "$rps" "$p50" "$p99" "$cpu" "$rss" "$ready" "$n2" "$busy")")
  log "$name: $(printf '%.0f' "$rps") req/s, p50 $p50, p99 $p99, cpu/1k $cpu, rss $rss MB, non-2xx $n2"
  sleep 1
}

H="http://127.0.0.1"
run nginx_direct   "nginx direct (no proxy)"                          "$H:8080/" nginx reused "$RS"
run nginx_proxy    "nginx proxy_pass, no auth ¹"                      "$H:8083/" nginx reused "$RS"
run haproxy_rs     "HAProxy jwt_verify RS256, reused token"           "$H:8082/" haproxy reused "$RS"
run gh_rs          "**Gatehouse RS256, reused token**"               "http://$GH_EDGE/" gatehouse reused "$RS"
run haproxy_es     "HAProxy jwt_verify ES256, reused token"           "$H:8082/" haproxy reused "$ES"
run gh_es          "**Gatehouse ES256, reused token**"               "http://$GH_EDGE/" gatehouse reused "$ES"
run haproxy_rs_d   "HAProxy jwt_verify RS256, distinct tokens"        "$H:8082/" haproxy distinct "$WORK/tokens-rs256.txt"
run gh_rs_d        "**Gatehouse RS256, distinct tokens**"            "http://$GH_EDGE/" gatehouse distinct "$WORK/tokens-rs256.txt"
run haproxy_es_d   "HAProxy jwt_verify ES256, distinct tokens"        "$H:8082/" haproxy distinct "$WORK/tokens-es256.txt"
run gh_es_d        "**Gatehouse ES256, distinct tokens**"            "http://$GH_EDGE/" gatehouse distinct "$WORK/tokens-es256.txt"

# mTLS: the three servers terminate TLS 1.3 with a required client certificate (the bench CA's client SVID); HAProxy
# adds jwt_verify and the claim checks, Gatehouse the SPIFFE policy and the full RS256 check; nginx only proxies.
if [ "${SKIP_MTLS:-0}" != 1 ]; then
  M=$WORK/mtls-run; mkdir -p "$M"
  for t in haproxy-mtls.cfg nginx-mtls.conf; do
    sed -e "s|@PORT@|$([ $t = haproxy-mtls.cfg ] && echo "$HAPROXY_MTLS_PORT" || echo "$NGINX_MTLS_PORT")|" -e "s|@PKI@|$PKI|g" \
        -e "s|@KEYDIR@|$PEERS_RUN/pub|g" -e "s|@RUN@|$M|g" "$BENCH/$t.in" > "$M/$t"
  done
  haproxy -db -f "$M/haproxy-mtls.cfg" > "$M/haproxy.log" 2>&1 < /dev/null &
  HAPROXY_MTLS_PID=$!; EXTRA_PIDS+=("$HAPROXY_MTLS_PID")
  nginx -p "$M" -c "$M/nginx-mtls.conf" -g 'daemon off;' > "$M/nginx.log" 2>&1 < /dev/null &
  NGINX_MTLS_PID=$!; EXTRA_PIDS+=("$NGINX_MTLS_PID")
  mcurl() { curl -k -s -o /dev/null -w '%{http_code}' --max-time 5 --cert "$PKI/client.pem" --key "$PKI/client_key.pem" "$@"; }
  for u in "https://127.0.0.1:$HAPROXY_MTLS_PORT/" "https://127.0.0.1:$NGINX_MTLS_PORT/" "https://$GH_MTLS/"; do
    code=000
    for _ in $(seq 50); do code=$(mcurl -H "Authorization: Bearer $RS" "$u" || true); [ "$code" = 200 ] && break; sleep 0.1; done
    [ "$code" = 200 ] || { echo "run.sh: $u answered $code with the client certificate" >&2; tail -5 "$M"/*.log "$WORK/gatehouse.log" >&2; exit 1; }
  done
  # Every server must refuse a connection without a client certificate (else the rows would not measure mTLS).
  for u in "https://127.0.0.1:$HAPROXY_MTLS_PORT/" "https://$GH_MTLS/"; do
    code=$(curl -k -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $RS" "$u" || true)
    [ "$code" = 000 ] || { echo "run.sh: $u answered $code without a client certificate" >&2; exit 1; }
  done
  code=$(curl -k -s -o /dev/null -w '%{http_code}' --max-time 5 "https://127.0.0.1:$NGINX_MTLS_PORT/" || true)
  [ "$code" = 400 ] || [ "$code" = 000 ] || { echo "run.sh: nginx mTLS answered $code without a client certificate" >&2; exit 1; }
  run nginx_mtls_ka  "nginx mTLS proxy_pass (no token check), keep-alive"          "https://127.0.0.1:$NGINX_MTLS_PORT/" nginx_mtls mtls-ka "$RS"
  run haproxy_mtls_ka "HAProxy mTLS + jwt_verify RS256, keep-alive"                 "https://127.0.0.1:$HAPROXY_MTLS_PORT/" haproxy_mtls mtls-ka "$RS"
  run gh_mtls_ka     "**Gatehouse inbound mTLS + SPIFFE policy + RS256, keep-alive**" "https://$GH_MTLS/" gatehouse mtls-ka "$RS"
  run nginx_mtls_100 "nginx mTLS proxy_pass (no token check), new connection per 100 requests" "https://127.0.0.1:$NGINX_MTLS_PORT/" nginx_mtls mtls-100 "$RS"
  run haproxy_mtls_100 "HAProxy mTLS + jwt_verify RS256, new connection per 100 requests" "https://127.0.0.1:$HAPROXY_MTLS_PORT/" haproxy_mtls mtls-100 "$RS"
  run gh_mtls_100    "**Gatehouse inbound mTLS + SPIFFE policy + RS256, new connection per 100 requests**" "https://$GH_MTLS/" gatehouse mtls-100 "$RS"
fi

AUDIT_LINES=$(cat "$WORK"/audit*.jsonl* 2>/dev/null | wc -l)
AUDIT_DROPPED=$(curl -sf "http://$GH_ADMIN/metrics" | awk '/^gatehouse_audit_dropped_total/{s += $NF} END{print s + 0}')
GH_RSS_NOW=$(awk '/VmRSS/{print int(($2 + 512) / 1024)}' "/proc/$GH_PID/status")
GH_HWM=$(hwm_mb "$GH_PID")

# ext_authz: a second Gatehouse (the same build) with only an ext_authz_grpc listener, once with the decision cache on
# (decision_cache.ttl 5s, the default) and once off (ttl 0); h2load posts one gRPC-framed CheckRequest (GET /, the
# reused RS256 token, an mTLS peer principal) over h2c. The answer is checked to be an allow before each measurement.
EA_PID=""
if [ "${SKIP_EXTAUTHZ:-0}" != 1 ]; then
  PROTOC_DIR=$(ls -d "$HOME"/.nuget/packages/grpc.tools/*/ | tail -1)
  PROTOC=$PROTOC_DIR/tools/linux_x64/protoc
  PROTOS=$ROOT/src/Gatehouse.Proxy/ExtAuthz/Protos
  cat > "$WORK/check.txtpb" <<TXT
attributes {
  source { address { socket_address { address: "10.0.0.9" port_value: 40000 } } principal: "spiffe://bench.test/ns/bench/sa/client" }
  destination { address { socket_address { address: "10.0.0.10" port_value: 8080 } } }
  request { http {
    id: "8711223344556677" method: "GET" path: "/" host: "app.bench.test" scheme: "http" protocol: "HTTP/1.1"
    headers { key: ":authority" value: "app.bench.test" } headers { key: ":method" value: "GET" }
    headers { key: ":path" value: "/" } headers { key: ":scheme" value: "http" }
    headers { key: "authorization" value: "Bearer $RS" } headers { key: "user-agent" value: "curl/8.5.0" }
    headers { key: "accept" value: "*/*" } headers { key: "x-request-id" value: "0f6e2d8c-3b1a-4e57-9c0d-2a1b3c4d5e6f" }
  } }
}
TXT
  "$PROTOC" -I"$PROTOS" -I"$PROTOC_DIR/build/native/include" --encode=envoy.service.auth.v3.CheckRequest envoy/service/auth/v3/external_auth.proto < "$WORK/check.txtpb" > "$WORK/check.bin"
  python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(); sys.stdout.buffer.write(b'\x00'+struct.pack('>I',len(b))+b)" "$WORK/check.bin" > "$WORK/check.grpc"
  EA_URL=http://127.0.0.1:$EXTAUTHZ_PORT/envoy.service.auth.v3.Authorization/Check
  for cache in on off; do
    ttl=5s; [ $cache = off ] && ttl=0s
    cat > "$WORK/extauthz-$cache.yaml" <<YAML
version: 1
issuers:
  idp: { issuer: "http://127.0.0.1:4000", jwks_uri: "http://127.0.0.1:4000/jwks", audiences: [https://api.example.test], algorithms: [RS256, ES256], clock_skew: 60s }
listeners:
  - { name: authz, mode: ext_authz_grpc, address: "127.0.0.1:$EXTAUTHZ_PORT" }
  - { name: admin, mode: admin, address: "127.0.0.1:$EXTAUTHZ_ADMIN" }
routes:
  - name: app
    match: { path_prefix: / }
    authentication: { issuers: [idp], require_token: true, required_scopes: [read] }
    policies: [read-only]
    claim_headers: { x-auth-client: client_id }
policies:
  read-only:
    action: allow
    rules:
      - to: { methods: [GET, HEAD] }
        when: { scopes: [read] }
decision_cache: { ttl: $ttl }
audit: { path: "$WORK/audit-extauthz-$cache.jsonl", max_file_bytes: 256MiB, max_files: 2, queue_capacity: 10000 }
YAML
    "$WORK/gatehouse/gatehouse" check -c "$WORK/extauthz-$cache.yaml" >&2
    env ${GH_ENV:-} "$WORK/gatehouse/gatehouse" run -c "$WORK/extauthz-$cache.yaml" > "$WORK/extauthz-$cache.log" 2>&1 < /dev/null &
    EA_PID=$!; EXTRA_PIDS+=("$EA_PID")
    for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$EXTAUTHZ_ADMIN/readyz" && break; sleep 0.05; done
    curl -s --max-time 5 --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @"$WORK/check.grpc" "$EA_URL" -o "$WORK/answer.bin"
    tail -c +6 "$WORK/answer.bin" | "$PROTOC" -I"$PROTOS" -I"$PROTOC_DIR/build/native/include" --decode=envoy.service.auth.v3.CheckResponse envoy/service/auth/v3/external_auth.proto | grep -q ok_response \
      || { echo "run.sh: the ext_authz Check was not allowed (decision cache $cache)" >&2; tail -5 "$WORK/extauthz-$cache.log" >&2; exit 1; }
    run "ea_${cache}_1" "**Gatehouse ext_authz Check, decision cache $cache, 1 connection × 50 streams**" "$EA_URL" extauthz extauthz 1
    run "ea_${cache}_4" "**Gatehouse ext_authz Check, decision cache $cache, 4 connections × 50 streams**" "$EA_URL" extauthz extauthz 4
    stop_pid "$EA_PID"; EA_PID=""
  done
fi

# --- 5. report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } else print v }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ v += 0; ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "**missed**" }'; }

echo "wrk -t1 -c$CONNECTIONS (mTLS: autocannon -c$CONNECTIONS, $MTLS_DURATION; ext_authz: h2load -m50, $EXTAUTHZ_DURATION), reused-token runs $DURATION, distinct-token runs ≤ $DISTINCT_DURATION ($DISTINCT_TOKENS tokens per algorithm, each sent once), $(nproc) cores, $T_START–$(date -u +%T) UTC $(date -u +%F), load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (uptime)"
echo
echo "| target | req/s | p50 | p99 | vCPU per 1000 req/s | peak RSS MB | start-to-ready | non-2xx | box busy before |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "¹ one nginx process serves both 8083 and its backend 8080, so its CPU and RSS include the backend's. Gatehouse RSS is its peak over the whole run (now $GH_RSS_NOW MB resident); $AUDIT_LINES audit records on disk (rotated files included), $AUDIT_DROPPED dropped (gatehouse_audit_dropped_total)."
echo
r1=$(ratio "${RPS[gh_rs]}" "${RPS[haproxy_rs]}"); r2=$(ratio "${RPS[gh_rs]}" "${RPS[nginx_proxy]}")
r3=$(ratio "${RPS[gh_rs_d]}" "${RPS[haproxy_rs_d]}"); r4=$(ratio "${RPS[gh_es_d]}" "${RPS[haproxy_es_d]}")
p99gh=$(ms "${P99[gh_rs]}"); p99ha=$(ms "${P99[haproxy_rs]}")
r5=$(awk -v a="$p99gh" -v b="$p99ha" 'BEGIN{ printf "%.2f×", a / b }')
echo "| target (issue #18) | goal | this run | |"
echo "|---|---|---:|---|"
echo "| Gatehouse RS256 reused ÷ nginx proxy_pass (no auth) | ≥ 0.9× | $r2 | $(verdict "${r2%×}" '>=' 0.9) |"
echo "| Gatehouse RS256 reused ÷ HAProxy jwt_verify RS256 (issue #8: ≥ 2.0×) | – | $r1 | |"
echo "| distinct tokens ÷ HAProxy, RS256 | ≥ 1.2× | $r3 | $(verdict "${r3%×}" '>=' 1.2) |"
echo "| distinct tokens ÷ HAProxy, ES256 | ≥ 1.2× | $r4 | $(verdict "${r4%×}" '>=' 1.2) |"
echo "| CPU per 1000 req/s (RS256 reused) | ≤ 0.04 vCPU | ${CPU[gh_rs]} | $(verdict "${CPU[gh_rs]}" '<=' 0.04) |"
echo "| peak RSS of the default build over the whole bench (gateway + mTLS rows) | ≤ 60 MB | $GH_HWM MB | $(verdict "$GH_HWM" '<=' 60) |"
echo "| start to ready | ≤ 150 ms | $READY_MS ms (runs: ${starts[*]}) | $(verdict "$READY_MS" '<=' 150) |"
echo "| p99 ÷ HAProxy p99 (RS256 reused, same -c$CONNECTIONS; closed loop, so Gatehouse carries more load) | ≤ 0.5× | $r5 | $(verdict "${r5%×}" '<=' 0.5) |"
if [ "${SKIP_MTLS:-0}" != 1 ]; then
  for m in ka 100; do
    label="keep-alive"; [ $m = 100 ] && label="new connection per 100 requests"
    rh=$(ratio "${RPS[gh_mtls_$m]}" "${RPS[haproxy_mtls_$m]}"); rn=$(ratio "${RPS[gh_mtls_$m]}" "${RPS[nginx_mtls_$m]}")
    echo "| mTLS, $label: Gatehouse ÷ HAProxy (mTLS + jwt_verify) | ≥ 1.0× | $rh | $(verdict "${rh%×}" '>=' 1.0) |"
    echo "| mTLS, $label: Gatehouse ÷ nginx (mTLS proxy_pass) | ≥ 0.8× | $rn | $(verdict "${rn%×}" '>=' 0.8) |"
  done
fi
if [ "${SKIP_EXTAUTHZ:-0}" != 1 ]; then
  echo "| ext_authz Check/s, decision cache on, 1 / 4 connections × 50 streams | ≥ 25.8k / 57.1k | ${RPS[ea_on_1]} / ${RPS[ea_on_4]} | $(verdict "${RPS[ea_on_1]}" '>=' 25800) / $(verdict "${RPS[ea_on_4]}" '>=' 57100) |"
  echo "| ext_authz Check/s, decision cache off, 1 / 4 connections × 50 streams | ≥ 29.2k / 45.5k | ${RPS[ea_off_1]} / ${RPS[ea_off_4]} | $(verdict "${RPS[ea_off_1]}" '>=' 29200) / $(verdict "${RPS[ea_off_4]}" '>=' 45500) |"
fi
echo
echo "raw output: $WORK"
