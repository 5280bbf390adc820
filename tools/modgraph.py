#!/usr/bin/env python3
"""Module graph of the readyprobe library, from its source text (no build needed).

Every `crate::a::b::…` path mentioned in a file under src/ is an edge from that file's module to
the longest module prefix that exists (a file `src/a/b.rs` or `src/a/b/mod.rs`). `super::` paths
are resolved against the file's own module. Child modules declared with `mod x;` are not edges:
a parent declaring its children is not a dependency on them, and `mod tests` is ignored.

    python3 tools/modgraph.py            # print the cycles (strongly connected components)
    python3 tools/modgraph.py --edges    # print every edge, `from -> to`
    python3 tools/modgraph.py --dot      # Graphviz

Exit status 1 when a cycle exists, so `.ci/run` and tests/architecture.rs can keep it at zero.
Edges into a module's own descendants are not cycles of interest and are dropped (a parent that
re-exports from its child), as are edges from a module to itself.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    mods = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            mods[path] = tuple(rel)
    return mods


def strip_tests(text):
    # Drop `#[cfg(test)] mod tests { … }` blocks: tests may reach anywhere.
    i = text.find("#[cfg(test)]")
    while i != -1:
        j = text.find("{", i)
        if j == -1:
            break
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        text = text[:i] + text[k + 1 :]
        i = text.find("#[cfg(test)]")
    return text


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\};", re.S)


def edges():
    mods = modules()
    known = set(mods.values())
    out = set()
    for path, me in mods.items():
        with open(path, encoding="utf-8") as fh:
            text = strip_comments(strip_tests(fh.read()))
        found = []
        for m in GROUP.finditer(text):
            head, prefix, inner = m.group(1), m.group(2), m.group(3)
            for part in re.split(r"[,{}\s]+", inner):
                part = part.strip()
                if part and part != "self":
                    found.append((head, prefix + "::" + part.split("::")[0]))
            found.append((head, prefix))
        for m in PATH.finditer(text):
            found.append((m.group(1), m.group(2)))
        is_mod_file = path.endswith("mod.rs") or path.endswith("lib.rs")
        for head, tail in found:
            parts = [p for p in tail.split("::") if p]
            if head == "crate":
                base = []
            else:
                base = list(me if is_mod_file else me[:-1])
                while parts and parts[0] == "super":
                    parts.pop(0)
                    base = base[:-1]
            full = base + parts
            target = None
            for n in range(len(full), 0, -1):
                if tuple(full[:n]) in known:
                    target = tuple(full[:n])
                    break
            if target is None or target == me:
                continue
            if target[: len(me)] == me:  # into one's own descendants
                continue
            out.add((me, target))
    return known, out


def sccs(nodes, es):
    adj = {n: [] for n in nodes}
    for a, b in es:
        adj[a].append(b)
    index, low, stack, on, res = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return res


def name(m):
    return "::".join(m) or "crate"


def main():
    nodes, es = edges()
    # A parent module and its children are one unit for cycles: an edge child -> parent (the
    # child using its parent's items) is not a cycle with the parent declaring the child.
    if "--edges" in sys.argv:
        for a, b in sorted(es):
            print(f"{name(a)} -> {name(b)}")
        return 0
    if "--dot" in sys.argv:
        print("digraph modules {")
        for a, b in sorted(es):
            print(f'  "{name(a)}" -> "{name(b)}";')
        print("}")
        return 0
    comps = sccs(nodes, es)
    for c in comps:
        print(f"cycle of {len(c)} modules:")
        inside = set(c)
        for a, b in sorted(es):
            if a in inside and b in inside:
                print(f"  {name(a)} -> {name(b)}")
    if not comps:
        print(f"no cycle among {len(nodes)} modules ({len(es)} edges)")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
