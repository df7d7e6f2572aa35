#!/usr/bin/env bash
# Builds the extension as it was before Redis partitions and the relay (commit bc6e822: one
# stream, one reader per process) into /tmp/ext-sse-before, for bench/redis/egress.py's
# comparison. About two minutes the first time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir=/tmp/ext-sse-before
if [ ! -d "$dir" ]; then
  git -C "$repo" worktree add --detach "$dir" bc6e822 >/dev/null
fi
CARGO_TARGET_DIR="$dir/target" cargo build --release --manifest-path "$dir/Cargo.toml" -q
echo "$dir/target/release/libsse.so"
