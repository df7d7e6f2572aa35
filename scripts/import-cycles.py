#!/usr/bin/env python3
"""Fails when Rust files of a crate import each other in a circle (a module and its own
children excepted): the arrows of the house point one way.

    scripts/import-cycles.py [crate src dirs...]   (default: src server/src core/src)

It reads `crate::` and `super::` paths as text, which is what the rule is about."""
import os
import re
import sys


def modules(root):
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, root)[:-3].split("/")
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                files["::".join(parts)] = path
    return files


def imports(root):
    files = modules(root)
    graph = {module: set() for module in files}
    for module, path in files.items():
        text = re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read())
        parent = module.split("::")[:-1]
        paths = [ref.split("::") for ref in re.findall(r"crate::((?:\w+::)*\w+)", text)]
        paths += [parent + ref.split("::") for ref in re.findall(r"\bsuper::((?:\w+::)*\w+)", text)]
        for parts in paths:
            for k in range(len(parts), 0, -1):
                target = "::".join(parts[:k])
                if target in files:
                    if target != module:
                        graph[module].add(target)
                    break
    return graph


def family(a, b):
    return a == "" or b == "" or a.startswith(b + "::") or b.startswith(a + "::")


def circles(graph):
    """Strongly connected groups of more than one module (Tarjan), parent-child links left out."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if family(v, w):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main():
    roots = sys.argv[1:] or ["src", "server/src", "core/src"]
    failed = False
    for root in roots:
        for group in circles(imports(root)):
            failed = True
            print(f"import-cycles: {root}: {' -> '.join(group)} import each other", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
