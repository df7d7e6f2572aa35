#!/usr/bin/env bash
# The PHPUnit suite under valgrind memcheck, with PHP's allocator off (USE_ZEND_ALLOC=0) so
# that every emalloc is a malloc valgrind can see.
#   bench/memcheck.sh                 the whole suite (several minutes)
#   bench/memcheck.sh --ci            a short subset for CI (framing, parser, recorder tests)
#   bench/memcheck.sh --filter REGEX  any PHPUnit filter
# Prints every error kind with its count, split into records that have a frame in libsse.so
# (attributable to the extension) and the rest (PHP and its libraries). Exits non-zero when a
# record attributable to the extension is an invalid read/write/free, a use of uninitialised
# memory, or a definite leak, or when PHPUnit crashes or errors (test failures are listed). The full log is kept in
# bench/results/memcheck.log. pcre.jit is off: JIT-compiled regex code reads 16 bytes at a
# time past the ends of strings, which memcheck reports as invalid reads in unnamed code.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ext=${SSE_EXT:-$root/target/release/libsse.so}
[ -f "$ext" ] || { echo "memcheck: extension not found at $ext (build it or set SSE_EXT)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "memcheck: valgrind is missing (apt-get install valgrind)" >&2; exit 2; }

filter=()
case "${1:-}" in
  --ci) filter=(--filter 'EventAccessorsTest|InvalidEventTest|EventStreamParserTest|EventStreamRecorderTest|WorkermanCompatibilityTest') ;;
  --filter) filter=(--filter "${2:?--filter needs a pattern}") ;;
  "") ;;
  *) echo "usage: $0 [--ci | --filter REGEX]" >&2; exit 2 ;;
esac

mkdir -p bench/results
log=bench/results/memcheck.log
start=$(date +%s)
USE_ZEND_ALLOC=0 ZEND_DONT_UNLOAD_MODULES=1 valgrind --tool=memcheck --leak-check=full \
  --errors-for-leak-kinds=definite --num-callers=50 --track-origins=no --log-file="$log" \
  php -d pcre.jit=0 -d extension="$ext" /usr/bin/phpunit -c phpunit.xml.dist "${filter[@]}" \
  > bench/results/memcheck.phpunit.txt 2>&1
suite=$?
tail -n 1 bench/results/memcheck.phpunit.txt
echo "memcheck: phpunit exit status $suite in $(( $(date +%s) - start )) s (${filter[*]:-whole suite})"
# Tests can fail under memcheck for its own reasons (wall-clock assertions slowed down; a child
# process inheriting USE_ZEND_ALLOC=0, where memory_limit is not enforced): they are listed, and
# only a crash or an error (status other than 0 or 1) fails this script.
grep -E '^[0-9]+\) ' bench/results/memcheck.phpunit.txt | sed 's/^/memcheck: failed under valgrind: /'

python3 - "$log" <<'PY'
import re, sys, collections
text = open(sys.argv[1]).read()
pid = re.search(r"==(\d+)==", text).group(1)
records, current = [], []
for line in text.splitlines():
    body = re.sub(r"^==\d+== ?", "", line)
    if body == "":
        if current:
            records.append(current)
        current = []
    else:
        current.append(body)
if current:
    records.append(current)
kinds = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free", "Conditional jump",
         "Use of uninitialised", "Syscall param", "definitely lost", "Source and destination overlap")
ours, theirs, kept_alive = collections.Counter(), collections.Counter(), collections.Counter()
examples = {}
for rec in records:
    head = rec[0]
    kind = next((k for k in kinds if k in head), None)
    if kind is None:
        continue
    ours_frames = [l for l in rec if "libsse" in l]
    attributable = bool(ours_frames)
    # An object of one of the extension's classes, allocated by the engine's object_init_ex
    # and never freed: PHP leaves objects that live cycles still reference at shutdown (its
    # own objects show up the same way, counted under "without"), and its allocator drops
    # them with the request. Only a record with other extension frames is the extension's.
    if kind == "definitely lost" and attributable and all(
        ("create_object" in l or "object_alloc" in l or "internal_new" in l) for l in ours_frames
    ):
        kept_alive[kind] += 1
        continue
    (ours if attributable else theirs)[kind] += 1
    if attributable and kind not in examples:
        examples[kind] = "\n".join(rec[:25])
summary = re.findall(r"ERROR SUMMARY: .*", text)
leaks = {k: re.findall(rf"{k}: ([\d,]+) bytes", text) for k in ("definitely lost", "indirectly lost", "possibly lost")}
print("memcheck:", summary[-1] if summary else "no summary")
print("memcheck: leak summary:", ", ".join(f"{k} {v[-1] if v else 0} bytes" for k, v in leaks.items()))
print("memcheck: records with a frame in libsse.so:", dict(ours) or "none")
print("memcheck: records without (PHP, PHPUnit, libraries):", dict(theirs) or "none")
print("memcheck: extension objects still referenced at shutdown:", dict(kept_alive) or "none")
for kind, text in examples.items():
    print(f"--- first {kind} in libsse.so ---\n{text}")
sys.exit(1 if ours else 0)
PY
attributable=$?
[ "$suite" -le 1 ] && [ "$attributable" -eq 0 ]
