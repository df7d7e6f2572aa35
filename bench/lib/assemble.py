#!/usr/bin/env python3
"""Rewrites BENCHMARKS.md: replaces the sections named on the command line with
bench/results/<name>.md (each starts with its `## ` heading), keeps every other section as it
was, and copies the PNGs a new section references into bench/plots/.

    python3 bench/lib/assemble.py runtime throughput ...
"""
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402

TARGET = B.REPO / "BENCHMARKS.md"
PLOTS = B.BENCH / "plots"
ORDER = ["Framing", "Emitter throughput and hang-up", "Latency of isolated events", "concurrent streams",
         "Broadcast", "Redis egress", "Redis broker: publish ceiling", "Redis broker past its ceiling", "Redis on a cluster", "Redis at scale", "Detached streams", "Fan-out behind nginx",
         "Mercure presence", "Mercure", "Runtime", "Fuzzing", "Memory (valgrind memcheck)"]

HEADER = """# Benchmarks

Every figure below was measured on the machine its section names, with the command it names,
against the peer it is compared with in the same run. To regenerate:

    bench/run.sh                 # every benchmark but the long fuzz run (about 20 minutes)
    bench/run.sh all             # plus the fuzz run of 10 million inputs per target
    bench/run.sh latency load    # only the named ones: framing runtime throughput latency load
                                 # broadcast detach memcheck memcheck-ci fuzz

The extension is `target/release/libsse.so` (or `SSE_EXT`); servers run on 127.0.0.1 on free
ports from temp dirs that the scripts start and remove. The Framing section is kept as
bench/framing/ writes it; bench/run.sh rewrites the others. Raw results go to `bench/results/`
(not committed); the plots referenced here are copied to `bench/plots/`. Tools used: php8.2-cli,
php8.2-fpm, nginx, strace, valgrind, python3 with python3-matplotlib (Debian packages), and
cargo-fuzz with a nightly toolchain for the fuzzing section. The Broadcast and Detached streams
sections read their streams with bench/lib/client (Rust, built with cargo by their scripts); the
Broadcast section also uses redis-server, php8.2-redis and php8.2-sqlite3 (installed by
bench/broadcast/install.sh), the Detached streams section Node with npm (better-sse),
python3-venv (sse-starlette, uvicorn) and its floor, bench/detach/floor (Rust, built with cargo).
"""


def split(text: str):
    """(preamble, [(heading, body)]) by `## ` headings."""
    parts = re.split(r"(?m)^(?=## )", text)
    preamble, sections = parts[0], []
    for part in parts[1:]:
        heading, _, _ = part.partition("\n")
        sections.append((heading[3:].strip(), part.rstrip() + "\n"))
    return preamble, sections


def rank(title: str) -> int:
    for i, key in enumerate(ORDER):
        if key in title:
            return i
    return len(ORDER)


def main():
    names = sys.argv[1:]
    _, sections = split(TARGET.read_text()) if TARGET.exists() else ("", [])
    current = dict(sections)
    order = [t for t, _ in sections]
    PLOTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = B.RESULTS / f"{name}.md"
        if not path.exists():
            print(f"assemble: no {path.name}, section left as it was", file=sys.stderr)
            continue
        text = path.read_text()
        title = text.partition("\n")[0][3:].strip()
        # A section may have been renamed (e.g. another stream count): drop the old one.
        for old in [t for t in order if t != title and rank(t) == rank(title) and rank(t) < len(ORDER)]:
            order.remove(old)
            current.pop(old, None)
        current[title] = text.rstrip() + "\n"
        if title not in order:
            order.append(title)
        for png in re.findall(r"\(bench/plots/([\w.-]+\.png)\)", text):
            src = B.RESULTS / png
            if src.exists():
                shutil.copy2(src, PLOTS / png)
    order.sort(key=rank)
    TARGET.write_text(HEADER + "\n" + "\n".join(current[t] for t in order))
    print(f"assemble: {TARGET} sections: {', '.join(order)}")


if __name__ == "__main__":
    main()
