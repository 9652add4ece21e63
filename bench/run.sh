#!/usr/bin/env bash
# Gatehouse side by side with nginx and HAProxy (issue #8). One command:
#   bench/run.sh                       -> one markdown table on stdout (raw output kept in the work dir)
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
#   GH_AOT=1              publish Gatehouse as Native AOT (-r linux-x64 -p:GatehouseAot=true; needs clang, zlib1g-dev)
#   GH_ENV="K=V ..."      extra environment for Gatehouse (e.g. DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
# Loopback only. Everything started here is stopped on exit (trap), and a watchdog ends the script after 10 min.
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
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
[ -d "$PEERS_SRC" ] || PEERS_SRC=/work/shared/peers
PEERS_CACHE=${PEERS_CACHE:-${TMPDIR:-/tmp}/gatehouse-bench-peers}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")}
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
export PEERS_RUN=$WORK/peers-run
chmod 755 "$WORK"   # nginx workers (nobody) read $PEERS_RUN/pub
CLK_TCK=$(getconf CLK_TCK)

for s in 10#${DURATION%s} 10#${DISTINCT_DURATION%s}; do
  [ $((s)) -le 30 ] || { echo "run.sh: each load run must be ≤ 30 s" >&2; exit 2; }
done

log() { echo "[run.sh $(date -u +%T)] $*" >&2; }
GH_PID=""
WATCHDOG=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$GH_PID" ] && kill -0 "$GH_PID" 2>/dev/null; then
    kill -TERM "$GH_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$GH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GH_PID" 2>/dev/null || true
  fi
  [ -x "$PEERS_CACHE/stop-all.sh" ] && "$PEERS_CACHE/stop-all.sh" >&2 || true
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
( sleep 600; log "watchdog: 10 minutes passed, stopping"; kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!

# --- 1. peers: a private copy of the kit (scripts refreshed every run; node_modules, keys and PKI kept)
log "peers kit: $PEERS_SRC -> $PEERS_CACHE"
mkdir -p "$PEERS_CACHE"
tar -C "$PEERS_SRC" --exclude=./node/node_modules --exclude=./keys --exclude=./pki/'*'.pem --exclude=./pki/'*'.crt \
    --exclude=./pki/'*'.key -cf - . | tar -C "$PEERS_CACHE" -xf -
"$PEERS_CACHE/install.sh" > "$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; exit 1; }
KEYS=$PEERS_CACHE/keys
for p in 4000 8080 8081 8082 8083 "${GH_EDGE##*:}" "${GH_ADMIN##*:}"; do
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
  PUBLISH_ARGS=()
  [ "${GH_AOT:-0}" = 1 ] && PUBLISH_ARGS=(-r linux-x64 -p:GatehouseAot=true)
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

sed -e "s|@JWKS_URI@|http://127.0.0.1:4000/jwks|" -e "s|@AUDIT@|$WORK/audit.jsonl|" -e "s|@EDGE@|$GH_EDGE|" \
    -e "s|@ADMIN@|$GH_ADMIN|" -e "s|@MAX_CONCURRENT@|0|" "$BENCH/gatehouse.yaml.in" > "$WORK/gatehouse.yaml"
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
# run KEY "name" url pidsource mode token-or-file
run() {
  local key=$1 name=$2 url=$3 who=$4 mode=$5 arg=$6 f pids t0 t1 c0 c1 reqs rps p50 p99 n2 cpu rss busy
  i=$((i + 1)); f="$WORK/$i-$key.txt"
  case $who in
    nginx) mapfile -t pids < <(procs_of "$NGINX_PID") ;;
    haproxy) pids=("$HAPROXY_PID") ;;
    gatehouse) pids=("$GH_PID") ;;
  esac
  busy=$(busy_pct)
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

AUDIT_LINES=$(cat "$WORK"/audit*.jsonl* 2>/dev/null | wc -l)
AUDIT_DROPPED=$(curl -sf "http://$GH_ADMIN/metrics" | awk '/^gatehouse_audit_dropped_total/{s += $NF} END{print s + 0}')
GH_RSS_NOW=$(awk '/VmRSS/{print int(($2 + 512) / 1024)}' "/proc/$GH_PID/status")
GH_HWM=$(hwm_mb "$GH_PID")

# --- 5. report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } else print v }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ v += 0; ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "**missed**" }'; }

echo "wrk -t1 -c$CONNECTIONS, reused-token runs $DURATION, distinct-token runs ≤ $DISTINCT_DURATION ($DISTINCT_TOKENS tokens per algorithm, each sent once), $(nproc) cores, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
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
echo "| target (issue #8) | goal | this run | |"
echo "|---|---|---:|---|"
echo "| Gatehouse RS256 reused ÷ HAProxy jwt_verify RS256 | ≥ 2.0× | $r1 | $(verdict "${r1%×}" '>=' 2.0) |"
echo "| Gatehouse RS256 reused ÷ nginx proxy_pass | ≥ 0.8× | $r2 | $(verdict "${r2%×}" '>=' 0.8) |"
echo "| distinct tokens ÷ HAProxy, RS256 | ≥ 1.0× | $r3 | $(verdict "${r3%×}" '>=' 1.0) |"
echo "| distinct tokens ÷ HAProxy, ES256 | ≥ 1.0× | $r4 | $(verdict "${r4%×}" '>=' 1.0) |"
echo "| p99 ÷ HAProxy p99 (RS256 reused, same -c$CONNECTIONS; closed loop, so Gatehouse carries more load) | ≤ 1.0× | $r5 | $(verdict "${r5%×}" '<=' 1.0) |"
echo "| CPU per 1000 req/s (RS256 reused) | ≤ 0.05 vCPU | ${CPU[gh_rs]} | $(verdict "${CPU[gh_rs]}" '<=' 0.05) |"
echo "| resident memory under load (peak) | ≤ 60 MB | $GH_HWM MB | $(verdict "$GH_HWM" '<=' 60) |"
echo "| start to ready | ≤ 500 ms | $READY_MS ms (runs: ${starts[*]}) | $(verdict "$READY_MS" '<=' 500) |"
echo
echo "raw output: $WORK"
