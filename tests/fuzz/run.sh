#!/usr/bin/env bash
# Fuzzes sse-core with cargo-fuzz (libFuzzer):
#   encode_roundtrip   Event setters + encode, then Parser::parse gives the same event back
#   parse_incremental  arbitrary bytes cut at arbitrary points parse as the whole stream does
#   log_record         the broker log's record format from arbitrary bytes: no panic, no
#                      allocation sized by a length field, what is accepted encodes back (and
#                      so does what a relay log's envelope in it says)
#   log_damage         appends, reads and damage (flipped bytes, deleted and truncated segments,
#                      arbitrary and forged heads) on a real log directory: every read returns
#                      (-timeout), allocates within -malloc_limit_mb, and a reader never goes back
#   mercure_publish_form  a Mercure publish body: what is accepted is valid and frames as it says
#   mercure_selectors  a subscribe query's selectors, within their budget, matched against topics
#   broker_url         broker URLs parse or are refused, and a Redis password is never shown
#   fastcgi_record     php-fpm's request record passes its check exactly when it names real sockets
#   token_claims       Mercure token claims of both drafts (the mercure claim, 1.0's
#                      authorization_details) from arbitrary JSON, shaped entries and signed
#                      access tokens, and tokens presented every way: no panic, caps kept,
#                      malformed grants never make a valid token
#   subscribe_query    the Mercure subscribe query of either draft (and a QUERY's form body),
#                      URL patterns compiled: no panic, the limits kept, `*` matches every topic
#   subscriptions      the subscription API's paths and presence leases read back from a
#                      broker: no panic, a subscription's topic parses back to it
#   url_pattern        URL patterns compiled within a budget and matched against topics: no
#                      panic, a pattern matches the same topics alone and in a list
#
#   tests/fuzz/run.sh                 short run for CI: FUZZ_SECONDS (default 20) per target, FUZZ_JOBS
#                                     (default: the number of CPUs, at most 4) targets at a time; the
#                                     first build adds about a minute
#   tests/fuzz/run.sh --runs 10000000 long run: that many inputs per target
# Installs cargo-fuzz when missing. No sanitizer is
# used (-s none): the code under test is safe Rust, and it runs ~5x more inputs per second.
# The corpus lives in fuzz/corpus/<target> (not committed); a failure leaves its input in
# fuzz/artifacts/<target>/ and makes the exit status non-zero.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"

limit=(-max_total_time="${FUZZ_SECONDS:-20}")
if [ "${1:-}" = "--runs" ]; then
  limit=(-runs="${2:?--runs needs a count}")
fi

# cargo-fuzz wants a nightly compiler; the machine's stable one accepts the same flags when
# told it may (RUSTC_BOOTSTRAP), so no other toolchain is needed.
export RUSTC_BOOTSTRAP=1
toolchain=+stable
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "tests/fuzz: installing cargo-fuzz"
  cargo install --locked --quiet cargo-fuzz
fi

cargo "$toolchain" fuzz build -O -s none
targets=(encode_roundtrip parse_incremental log_record log_damage mercure_publish_form mercure_selectors broker_url fastcgi_record token_claims subscribe_query url_pattern subscriptions)
parallel=${FUZZ_JOBS:-$(nproc)}
((parallel > 4)) && parallel=4
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# One target: its log and a one-line result in $results; the exit status says whether it passed.
fuzz_target() {
  local target=$1 log="$results/$1.log" start result runs cov
  mkdir -p "corpus/$target"
  start=$(date +%s)
  if cargo "$toolchain" fuzz run -O -s none "$target" -- -max_len=4096 -timeout=10 -malloc_limit_mb=64 -rss_limit_mb=1024 "${limit[@]}" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz $target: $result, ${runs:-?} inputs in $(( $(date +%s) - start )) s, coverage ${cov:-?} edges, corpus $(ls "corpus/$target" | wc -l) files" >"$results/$target.result"
  [ "$result" = ok ]
}

# The targets run side by side, `parallel` at a time (each is one single-threaded libFuzzer).
for target in "${targets[@]}"; do
  while (( $(jobs -pr | wc -l) >= parallel )); do wait -n || true; done
  fuzz_target "$target" &
done
wait
status=0
for target in "${targets[@]}"; do
  if ! grep -q ": ok," "$results/$target.result" 2>/dev/null; then
    status=1
    tail -n 60 "$results/$target.log" >&2
  fi
  cat "$results/$target.result" 2>/dev/null || echo "fuzz $target: FAILED (no result)"
done
exit "$status"
