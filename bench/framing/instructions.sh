#!/bin/sh
# Instructions per frame for each framing case and side, counted by valgrind (callgrind):
# unlike time, the count does not move with the load of a shared machine. Each count is the
# difference between N=3000 and N=1000 frames, divided by 2000, so start-up cancels out.
#   SSE_EXT=/path/to/libsse.so bench/framing/instructions.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ext=${SSE_EXT:-$repo/target/release/libsse.so}

if ! command -v valgrind >/dev/null; then
    echo "bench/framing: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/sse-callgrind.XXXXXX")
trap 'rm -rf "$out"' EXIT

count() { # case side n -> total instructions of the run
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        php -d extension="$ext" "$here/loop.php" "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

per_frame() {
    small=$(count "$1" "$2" 1000)
    large=$(count "$1" "$2" 3000)
    echo $(( (large - small) / 2000 ))
}

echo "| case | ext instructions/frame | PHP instructions/frame | ratio PHP/ext |"
echo "|---|---:|---:|---:|"
cases=$(php -r 'echo count(require $argv[1]);' "$here/cases.php")
for case in $(seq 0 $((cases - 1))); do
    name=$(php -r '$c = array_keys(require $argv[1]); echo $c[(int) $argv[2]];' "$here/cases.php" "$case")
    e=$(per_frame "$case" ext)
    p=$(per_frame "$case" php)
    echo "| $name | $e | $p | $(awk -v p="$p" -v e="$e" 'BEGIN { printf "%.2fx", p / e }') |"
done
