#!/usr/bin/env bash
# Coverage-guided fuzzing of Gatehouse's network-facing parsers with AFL++ and SharpFuzz (docs/security.md, "Fuzzing").
#
#   eng/fuzz.sh --list                 the targets, one per line
#   eng/fuzz.sh TARGET [SECONDS]       build, instrument and fuzz one target (default 600 s); prints the executions
#                                      (FUZZ_EXECS=N also stops it after about N executions, whichever comes first)
#   eng/fuzz.sh TARGET --replay PATH…  run saved inputs once each, outside AFL (reproduce a crash)
#
# Needs afl-fuzz (Debian: apt-get install afl++) and the .NET SDK; SharpFuzz's instrumenter is installed as a local
# tool under artifacts/fuzz/tools. Findings go to artifacts/fuzz/findings/TARGET (crashes in .../default/crashes):
# each crash becomes a file in fuzz/regressions/TARGET, which the test suite replays.
set -euo pipefail
cd "$(dirname "$0")/.."

work=artifacts/fuzz
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The assemblies whose edges AFL sees for a target: Gatehouse.Core always, plus Gatehouse.Proxy for the ext_authz
# mapper. Note: the Istio importer lives in the CLI assembly (gatehouse.dll), but with it instrumented afl-fuzz 4.04c
# aborts every dry run with "No instrumentation detected"; the istio target is guided by Core's edges (the policy
# model and compiler the import feeds) only.
instrumented() {
  case "$1" in
    extauthz) echo Gatehouse.Core.dll Gatehouse.Proxy.dll ;;
    *) echo Gatehouse.Core.dll ;;
  esac
}

build() {
  if [ ! -x "$bin/Gatehouse.Fuzz" ] || [ -n "$(find src/Gatehouse.Core src/Gatehouse.Proxy src/Gatehouse fuzz/Gatehouse.Fuzz -name '*.cs' -newer "$bin/Gatehouse.Fuzz" -print -quit)" ]; then
    # A fresh folder each time: SharpFuzz refuses an assembly it has already instrumented.
    rm -rf "$bin"
    # GatehouseAot=false: a publish would otherwise turn the referenced CLI project into a Native AOT (self-contained)
    # executable, which a framework-dependent harness cannot reference (NETSDK1151).
    dotnet publish fuzz/Gatehouse.Fuzz -c Release -o "$bin" --nologo -v quiet -p:GatehouseAot=false >&2
    if [ ! -x "$work/tools/sharpfuzz" ]; then
      dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$work/tools" >&2
    fi
    # Instrument the libraries under test (not the harness): AFL then sees the edges Gatehouse's code takes.
    for dll in $(instrumented "$target"); do
      "$work/tools/sharpfuzz" "$bin/$dll" >&2
    done
  fi
}

if [ "${1:-}" = "--list" ]; then
  dotnet run --project fuzz/Gatehouse.Fuzz -c Release -v quiet -- --list | cut -f1
  exit 0
fi

target=${1:?usage: eng/fuzz.sh --list | TARGET [SECONDS] | TARGET --replay PATH...}
shift
# One build per target: a long run of one target keeps its binaries while another target is rebuilt.
bin=$work/bin/$target
build
if [ "${1:-}" = "--replay" ]; then
  exec "$bin/Gatehouse.Fuzz" "$target" "$@"
fi

seconds=${1:-600}
[ -d "fuzz/corpus/$target" ] || { echo "no seed corpus fuzz/corpus/$target (eng/fuzz.sh --list names the targets)" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 2; }

out=$work/findings/$target
mkdir -p "$out"
# AFL_SKIP_BIN_CHECK: the target is a .NET apphost, instrumented by SharpFuzz rather than by afl-cc.
# AFL_FORKSRV_INIT_TMOUT: the runtime takes far longer than a C program to reach the fork server.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
       AFL_FORKSRV_INIT_TMOUT=30000 AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
limit=(-V "$seconds")
[ -n "${FUZZ_EXECS:-}" ] && limit+=(-E "$FUZZ_EXECS")
run_afl() {
  afl-fuzz -i "fuzz/corpus/$target" -o "$out" "${limit[@]}" -t 5000 -m none -- "$bin/Gatehouse.Fuzz" "$target" >"$out/afl.log" 2>&1
}
# Note: on a loaded machine afl-fuzz 4.04c sometimes aborts the first dry run of a SharpFuzz target with "No
# instrumentation detected" (the .NET start-up outlasting the first run); a second start works, so try once more.
if ! run_afl; then
  if grep -q "No instrumentation detected" "$out/afl.log" && [ ! -f "$out/default/fuzzer_stats" ]; then
    echo "afl-fuzz saw no instrumentation on its first run; starting it once more" >&2
    rm -rf "$out/default"
    run_afl || { tail -n 30 "$out/afl.log" >&2; exit 1; }
  else
    tail -n 30 "$out/afl.log" >&2; exit 1
  fi
fi

stats=$out/default/fuzzer_stats
execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
edges=$(awk -F' *: *' '$1=="edges_found"{print $2}' "$stats")
cover=$(awk -F' *: *' '$1=="bitmap_cvg"{print $2}' "$stats")
runtime=$(awk -F' *: *' '$1=="run_time"{print $2}' "$stats")
rate=$(awk -F' *: *' '$1=="execs_per_sec"{print $2}' "$stats")
crashes=$(find "$out/default/crashes" -type f ! -name README.txt 2>/dev/null | wc -l)
echo "$target: $execs executions in ${runtime}s ($rate/s at the end), $edges edges ($cover of the map), $crashes crashes"
[ "$crashes" -eq 0 ]
