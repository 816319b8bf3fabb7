"""The import graph of the packages under scripts/, read with `ast` (nothing is imported or run).

    PYTHONPATH=scripts python3 -m tests.import_graph      # prints each module and what it imports of ours

A module's edges are every `import x` / `from x import y` of a first-party module anywhere in its file,
function-level imports included; `from pkg import mod` counts as an edge to pkg.mod when that is a module.
"""
from __future__ import annotations

import ast
import os
import sys

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("warden_tools", "train", "generate", "eval", "bench", "e2e", "validate")


def modules(root: str = SCRIPTS) -> dict[str, str]:
    """{dotted module name: file} for every .py file of the packages (a package is its __init__) and the entry
    scripts at the top of scripts/."""
    found = {name[:-3]: os.path.join(root, name) for name in sorted(os.listdir(root)) if name.endswith(".py")}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(root, package)):
            if "__pycache__" in folder:
                continue
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    parts = os.path.relpath(path, root)[:-3].split(os.sep)
                    if parts[-1] == "__init__":
                        parts = parts[:-1]
                    found[".".join(parts)] = path
    return found


def imports_of(path: str, known: set[str]) -> set[str]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return {name for name in out if name in known}


def graph(root: str = SCRIPTS) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    return {name: imports_of(path, known) - {name} for name, path in sorted(found.items())}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(g):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


if __name__ == "__main__":
    g = graph()
    for name, deps in g.items():
        print(f"{name} -> {', '.join(sorted(deps)) or '(nothing of ours)'}")
    cycle = find_cycle(g)
    print("cycle: " + " -> ".join(cycle) if cycle else "no cycle")
    sys.exit(1 if cycle else 0)
