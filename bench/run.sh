#!/usr/bin/env bash
# Runs the benchmarks of ext-sse and rewrites their sections of BENCHMARKS.md.
#   bench/run.sh              framing runtime throughput latency load broadcast detach memcheck (~20 min)
#   bench/run.sh all          the same plus fuzz (10 million inputs per target, ~10 min more)
#   bench/run.sh NAME...      only those: framing runtime throughput latency load broadcast
#                             detach mercure redis-egress redis-ceiling redis-overload redis-spread
#                             memcheck-ci memcheck fuzz
# Each one is also runnable alone: python3 bench/<name>/run.py, bench/framing/run.sh,
# bench/memcheck.sh [--ci], tests/fuzz/run.sh --runs N. The extension is
# target/release/libsse.so or SSE_EXT; build it first (scripts/setup.sh does).
# Benchmarks run one after the other, never two at once; the CPU-heavy ones under `nice`. Exit status: non-zero
# if a benchmark failed to run (a missed target is reported in BENCHMARKS.md, not here).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export SSE_EXT=${SSE_EXT:-$root/target/release/libsse.so}
[ -f "$SSE_EXT" ] || { echo "bench: extension not found at $SSE_EXT (build it: cargo build --release)" >&2; exit 2; }

# The benchmarks plot with matplotlib: use a python3 that has it (Debian's, if the first one
# on PATH lacks it).
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  PYTHON=/usr/bin/python3
fi
"$PYTHON" -c 'import matplotlib' 2>/dev/null || echo "bench: matplotlib missing (apt-get install python3-matplotlib): no plots" >&2

results=bench/results
mkdir -p "$results"
machine() { "$PYTHON" -c 'import sys; sys.path.insert(0, "bench/lib"); import benchlib as B; print(B.machine() + "; load average " + B.load())'; }

run_framing() {
  # The `## Framing` section belongs to bench/framing/: its text is kept as written unless
  # bench/framing/run.sh itself leaves a bench/results/framing.md to put in its place.
  [ -x bench/framing/run.sh ] || { echo "bench: no bench/framing/run.sh, skipped"; return 0; }
  bench/framing/run.sh | tee "$results/framing.txt"
}
# Runtime and latency mostly sleep (a few % of a core); they run at normal priority because
# they measure scheduling delays, which nice would add. The CPU-heavy ones run under nice.
run_runtime()    { "$PYTHON" bench/runtime/run.py; }
run_throughput() { nice "$PYTHON" bench/throughput/run.py; }
run_latency()    { "$PYTHON" bench/latency/run.py; }
run_load()       { nice "$PYTHON" bench/load/run.py; }
# Broadcast measures delivery latency too: normal priority. It installs redis-server,
# php8.2-redis and php8.2-sqlite3 if missing (bench/broadcast/install.sh) and starts its own
# redis-server on a free loopback port.
run_broadcast()  { "$PYTHON" bench/broadcast/run.py; }
# Detached streams: its servers and client set their own priority and CPUs (see bench/detach/run.py).
run_detach()     { "$PYTHON" bench/detach/run.py; }
run_mercure()    { nice "$PYTHON" bench/mercure/run.py; }
# Redis egress: against the layout before partitions too, built once from its commit.
run_redis_egress() { EGRESS_BEFORE_EXT=$(bench/redis/build-before.sh) nice "$PYTHON" bench/redis/egress.py; }
# The publish ceiling sets its own priorities (Redis and its publishers at nice -10).
run_redis_ceiling() { "$PYTHON" bench/redis/ceiling.py; }
# Past the ceiling: the same set-up, against the build before catch-ups from the hub's recent events.
run_redis_overload() { PATH="$(dirname "$PYTHON"):$PATH" bench/redis/overload.sh; }
# A 3-master cluster: one log against a log per master (`?log=<name>`).
run_redis_spread() { nice "$PYTHON" bench/redis/spread.py; }

memory_section() { # $1 = command shown, $2 = output of bench/memcheck.sh
  {
    printf '## Memory (valgrind memcheck)\n\nMachine: %s.\n\n' "$(machine)"
    printf 'Command: `%s`. PHP runs with `USE_ZEND_ALLOC=0` (every allocation visible to valgrind), `pcre.jit=0`, ' "$1"
    printf '`--leak-check=full`. A record is attributed to the extension when one of its frames is in libsse.so. '
    printf 'Reading the leak records: PHP frees the contents of objects still alive at shutdown (cycles the collector '
    printf 'never saw, references never released) but not the objects themselves, "so they show up as leaks" '
    printf '(zend_objects_store_free_object_storage): such records end in `object_init_ex`, and one whose object was '
    printf 'created through ext-php-rs (`create_object` in libsse.so) is an extension object still referenced at exit. '
    printf 'Test failures listed by PHPUnit are failures of the suite, not of memcheck.\n\n'
    printf '```\n%s\n```\n' "$(grep -E '^(memcheck:|Tests:|OK \(|FAILURES)|^---|^   (at|by) |are definitely lost' <<<"$2")"
  } > "$results/memory.md"
}
run_memcheck_ci() { local out s; out=$(nice bench/memcheck.sh --ci); s=$?; echo "$out"; memory_section "bench/memcheck.sh --ci" "$out"; return $s; }
run_memcheck()    { local out s; out=$(nice bench/memcheck.sh); s=$?; echo "$out"; memory_section "bench/memcheck.sh" "$out"; return $s; }

run_fuzz() {
  # FUZZ_LOG: the saved output of an earlier `tests/fuzz/run.sh --runs $FUZZ_RUNS` to write the
  # section from, instead of fuzzing again.
  local runs=${FUZZ_RUNS:-10000000} out s
  if [ -n "${FUZZ_LOG:-}" ]; then
    out=$(cat "$FUZZ_LOG"); s=0
    grep -q 'FAILED' <<<"$out" && s=1
  else
    out=$(nice tests/fuzz/run.sh --runs "$runs" 2>&1); s=$?
  fi
  echo "$out" | tail -n 5
  {
    printf '## Fuzzing\n\nMachine: %s; sse-core (core/) as of commit %s.\n\n' \
      "$("$PYTHON" -c 'import sys; sys.path.insert(0, "bench/lib"); import benchlib as B; print(B.machine())')" \
      "$(git log -1 --format=%h -- core)"
    printf 'Command: `tests/fuzz/run.sh --runs %s` (cargo-fuzz %s, libFuzzer, %s, no sanitizer: the code is safe Rust). ' \
      "$runs" "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" "$(rustc +nightly --version 2>/dev/null)"
    printf 'CI runs the same targets for 20 s each: `tests/fuzz/run.sh`. The times are wall-clock under `nice` on a machine shared with other work.\n\n'
    printf -- '- `encode_roundtrip` (fuzz/fuzz_targets/encode_roundtrip.rs): arbitrary values through every `sse_core::Event` setter; a refused value leaves the field unset; the encoded frame, parsed whole and cut at an arbitrary point, gives back the same event (data with CR and CRLF arriving as LF, type `message` when none), the same id and retry.\n'
    printf -- '- `parse_incremental` (fuzz/fuzz_targets/parse_incremental.rs): arbitrary bytes cut at arbitrary points, and byte by byte, give the same events, retry and last event id as the whole stream parsed at once; no panic.\n\n'
    printf '```\n%s\n```\n' "$(grep '^fuzz ' <<<"$out")"
  } > "$results/fuzz.md"
  return $s
}

default=(framing runtime throughput latency load broadcast detach mercure redis-egress redis-ceiling redis-overload redis-spread memcheck)
if [ "${1:-}" = all ]; then
  selected=("${default[@]}" fuzz)
else
  selected=("${@:-${default[@]}}")
fi

status=0 done_sections=()
for name in "${selected[@]}"; do
  echo; echo "=== bench: $name ($(date +%T))"
  start=$(date +%s)
  case "$name" in
    memcheck|memcheck-ci) section=memory ;;
    *) section=$name ;;
  esac
  rm -f "$results/$section.md"  # a failed run must not leave an older section to be copied
  if "run_${name//-/_}"; then
    echo "=== bench $name: done in $(( $(date +%s) - start )) s"
  else
    echo "=== bench $name: FAILED after $(( $(date +%s) - start )) s"; status=1
  fi
  done_sections+=("$section")
done
"$PYTHON" bench/lib/assemble.py "${done_sections[@]}"
exit "$status"
