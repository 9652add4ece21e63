#!/usr/bin/env bash
# Mutation testing of Gatehouse.Core's security checks with Stryker.NET (docs/security.md, "Mutation testing").
#
#   eng/mutation.sh --list            the mutation sets (eng/stryker/NAME.json), one per line
#   eng/mutation.sh --summary NAME... per-file scores, folder totals and every survivor of finished runs' reports
#   eng/mutation.sh NAME [SECONDS]    mutate one set against tests/Gatehouse.Core.Tests (default limit 7200 s; a run killed by the limit writes no report)
#
# MUTATION_CONCURRENCY=N runs N mutants at a time instead of the config's 1 (each one is a test host that is mostly
# JIT and startup, so N above the core count gains nothing).
#
# Runs on a snapshot of the committed tree (git archive HEAD) in a temporary folder, so builds in the worktree and
# Stryker's own builds never share bin/ or obj/. Always one mutant at a time, at the lowest CPU priority, bounded by
# SECONDS. Reports (HTML, JSON) go to artifacts/stryker/NAME/reports; the score is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "${1:-}" = "--list" ]; then
  for f in eng/stryker/*.json; do basename "$f" .json; done
  exit 0
fi

if [ "${1:-}" = "--summary" ]; then
  shift
  reports=()
  for name in "$@"; do reports+=("artifacts/stryker/$name/reports/mutation-report.json"); done
  exec python3 eng/stryker/summarize.py "${reports[@]}"
fi

name=${1:?usage: eng/mutation.sh --list | NAME [SECONDS]}
seconds=${2:-7200}
config=$repo/eng/stryker/$name.json
[ -f "$config" ] || { echo "no mutation set eng/stryker/$name.json (--list names them)" >&2; exit 2; }

tool=$repo/artifacts/stryker-tool
if [ ! -x "$tool/dotnet-stryker" ]; then
  dotnet tool install --tool-path "$tool" dotnet-stryker --version 5.1.0 >&2
fi

snapshot=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-stryker-$name.XXXXXX")
trap 'rm -rf "$snapshot"' EXIT
git archive HEAD | tar -x -C "$snapshot"
# Stryker builds the solution named in the config: a small one with Core, DevCa and the Core tests (not committed at
# the root, so the repository keeps one solution).
cp eng/stryker/Gatehouse.Mutation.slnx "$snapshot/"
out=$repo/artifacts/stryker/$name
rm -rf "$out"
mkdir -p "$out"
cd "$snapshot/tests/Gatehouse.Core.Tests"
# concurrency 1 is in the config; nice keeps the machine's other builds responsive; timeout bounds the run.
status=0
extra=()
[ -n "${MUTATION_CONCURRENCY:-}" ] && extra+=(--concurrency "$MUTATION_CONCURRENCY")
timeout --signal=INT --kill-after=60 "$seconds" nice -n 19 "$tool/dotnet-stryker" --config-file "$config" --output "$out" "${extra[@]}" \
  >"$out/stryker.log" 2>&1 || status=$?
grep -E "mutation score|Killed|Survived|Timeout|No coverage|Ignored|Compile" "$out/stryker.log" | tail -n 12 || true
[ "$status" -eq 0 ] || { echo "stryker exited with $status (124: the time limit); log: $out/stryker.log" >&2; exit "$status"; }
