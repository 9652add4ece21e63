#!/usr/bin/env bash
# Gateway requests/s with each Prometheus exporter build, in one run (docs/performance.md, "Prometheus exporter").
#   bench/metrics-exporters.sh NAME=PUBLISH_DIR [NAME=PUBLISH_DIR ...]
# Each PUBLISH_DIR is a `dotnet publish src/Gatehouse -c Release` output. All builds run at once on their own ports
# against one nginx upstream (return 200) with a jwks_file issuer and a minted RS256 token; wrk loads one build at a
# time, ROUNDS rounds interleaved (so drift of a shared machine spreads over all builds), DURATION each, after a
# WARMUP per build. The admin /metrics is scraped once a second during every run, as Prometheus would.
# Bounded: at most 3 builds × 3 rounds × 10 s plus warm-ups; everything started here is stopped on exit.
set -euo pipefail
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-5s}; CONNECTIONS=${CONNECTIONS:-50}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-metrics-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 NAME=PUBLISH_DIR ... (1 to 3 builds)" >&2; exit 2; }

UP=18480
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1; pid $WORK/nginx.pid; error_log $WORK/nginx.err; daemon off;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } } }
CONF
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!)

first=${1#*=}
"$first/gatehouse" token keygen --out "$WORK/keys" --kid bench >/dev/null
TOKEN=$("$first/gatehouse" token mint -k "$WORK/keys/signing-key.pem" --iss https://bench.example --aud bench --scope read --exp 3600)

port=18481; names=(); edges=(); admins=()
for spec in "$@"; do
  name=${spec%%=*}; dir=${spec#*=}; edge=127.0.0.1:$port; admin=127.0.0.1:$((port + 1)); port=$((port + 2))
  cat > "$WORK/$name.yaml" <<CONF
version: 1
issuers:
  bench: { issuer: https://bench.example, jwks_file: $WORK/keys/jwks.json, audiences: [bench], algorithms: [RS256] }
listeners:
  - { name: edge, mode: gateway, address: "$edge" }
  - { name: admin, mode: admin, address: "$admin" }
routes:
  - { name: app, match: { path_prefix: / }, upstream: "http://127.0.0.1:$UP", authentication: { issuers: [bench], required_scopes: [read] }, policies: [read] }
policies:
  read: { action: allow, rules: [ { to: { methods: [GET] }, when: { scopes: [read] } } ] }
CONF
  "$dir/gatehouse" run -c "$WORK/$name.yaml" > "$WORK/$name.log" 2>&1 & PIDS+=($!)
  names+=("$name"); edges+=("$edge"); admins+=("$admin")
done
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$UP/" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$UP/" || { echo "nginx upstream did not start: $(cat "$WORK/nginx.err" 2>/dev/null)" >&2; exit 1; }
for a in "${admins[@]}"; do
  for _ in $(seq 300); do curl -sf -o /dev/null "http://$a/readyz" && break; sleep 0.1; done
done
for i in "${!names[@]}"; do
  wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $TOKEN" "http://${edges[$i]}/" > /dev/null
done

echo "| round | $(IFS='|'; echo "${names[*]}" | sed 's/|/ | /g') |"
echo "|---|$(printf -- '---|%.0s' "${names[@]}")"
for r in $(seq "$ROUNDS"); do
  row="| $r |"
  for i in "${!names[@]}"; do
    ( while sleep 1; do curl -s -o /dev/null "http://${admins[$i]}/metrics"; done ) & scraper=$!
    rps=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" "http://${edges[$i]}/" | awk '/Requests\/sec/ {print $2}')
    kill $scraper 2>/dev/null || true; wait $scraper 2>/dev/null || true
    row="$row $rps |"
  done
  echo "$row"
done
for i in "${!names[@]}"; do
  curl -s -o /dev/null -w "${names[$i]}: last status %{http_code}\n" -H "Authorization: Bearer $TOKEN" "http://${edges[$i]}/"
  curl -s "http://${admins[$i]}/metrics" | grep -E '^gatehouse_decisions' | sed "s/^/${names[$i]}: /"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); nproc: $(nproc)"
