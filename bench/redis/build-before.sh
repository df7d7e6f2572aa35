#!/usr/bin/env bash
# Builds the extension as it was at an earlier commit, for a comparison in the same run, into
# /tmp/ext-sse-<commit>, and prints the path of its libsse.so. About two minutes the first time.
#   bench/redis/build-before.sh [COMMIT]
# COMMIT defaults to bc6e822 (before Redis partitions and the relay: one stream, one reader per
# process), what bench/redis/egress.py compares with; bench/redis/overload.sh passes its own.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
commit="${1:-bc6e822}"
dir="/tmp/ext-sse-$commit"
if [ ! -d "$dir" ]; then
  git -C "$repo" worktree add --detach "$dir" "$commit" >/dev/null
fi
CARGO_TARGET_DIR="$dir/target" cargo build --release --manifest-path "$dir/Cargo.toml" -q
echo "$dir/target/release/libsse.so"
