#!/usr/bin/env bash
# Past the ceiling: bench/redis/ceiling.py's set-up (4 machines, 1,000 detached streams, one
# redis-server) at targets it cannot deliver in time (1,000 and 3,000 events/s), with the build
# from before overflowed streams caught up from their hub's recent events (commit 1ce18cf, they
# read Redis each) and the work tree's build, taking turns, OVERLOAD_ROUNDS (2) rounds. What it
# shows: whether every stream still gets every event once, and what the catch-ups cost Redis.
#   bench/redis/overload.sh        # about 12 minutes; needs target/release/libsse.so
# Results: bench/results/redis-overload/<build>-<round>/redis-ceiling.{json,md}, and the section
# bench/results/redis-overload.md (bench/run.sh redis-overload puts it in BENCHMARKS.md).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
before_commit=1ce18cf
before="$(bench/redis/build-before.sh "$before_commit")"
out="${BENCH_RESULTS:-$repo/bench/results}/redis-overload"
mkdir -p "$out"
export CEILING_BROKERS=redis CEILING_RATES=1000,3000 CEILING_ROUNDS=1 CEILING_BISECT=0
for round in $(seq 1 "${OVERLOAD_ROUNDS:-2}"); do
  BENCH_RESULTS="$out/before-$round" SSE_EXT="$before" SSE_COMMIT="$before_commit" python3 bench/redis/ceiling.py >/dev/null
  BENCH_RESULTS="$out/after-$round" python3 bench/redis/ceiling.py >/dev/null
done
python3 - "$out" "${BENCH_RESULTS:-$repo/bench/results}/redis-overload.md" "$before_commit" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, "bench/lib")
import benchlib as B
out, md, before = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
runs = sorted(out.glob("*-*/redis-ceiling.json"), key=lambda p: (int(p.parent.name.split("-")[1]), not p.parent.name.startswith("before")))
lines = [
    "## Redis broker past its ceiling (catch-ups)",
    "",
    f"Machine: {B.machine()}; load average at the end {B.load()}; the work tree's build and a build of commit {before}.",
    "",
    "Command: `bench/redis/overload.sh`: the set-up of the publish ceiling above (4 machines, 1,000 detached streams on one "
    "topic, one redis-server, everything on this machine's 2 CPUs) at 1,000 and 3,000 events/s, past what it delivers within "
    "1 s, so that inboxes overflow and streams catch up. `before`: commit " + before + ", where each overflowed stream read "
    "Redis for its catch-up, on its process's one connection; `after`: the work tree, where it reads the events its hub "
    "dispatched lately (the last 4,096) when they reach back far enough. The builds take turns, a new Redis and new stacks "
    "each time. Streams incomplete: streams that had not got every event 10 s after publishing ended (then 3 s of quiet).",
    "",
    "| build | round | target ev/s | reached ev/s | deliveries / expected | streams incomplete | dup | p50 | p99 | Redis CPU / event | Redis bytes / event |",
    "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
]
for run in runs:
    build, round_ = run.parent.name.split("-")
    data = json.loads(run.read_text())
    for step in data["redis"]["rounds"][0]["steps"]:
        lines.append(f"| {build} | {round_} | {step['target']:,} | {step['reached']:,.0f} | {step['deliveries']:,} / {step['expected']:,} | "
                     f"{step['streams_incomplete']} | {step['dup']} | {step['p50_us'] / 1e3:,.0f} ms | {step['p99_us'] / 1e3:,.0f} ms | "
                     f"{step['redis_cpu_us_per_event']:.1f} µs | {step['redis_bytes_per_event']:,.0f} B |")
md.write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
