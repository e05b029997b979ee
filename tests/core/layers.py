#!/usr/bin/env python3
"""test_core_layers: the library's folders and files form a graph that only
points down (docs/architecture.md, "Layers and files").

Edges come from two places: every `#include "..."` between files under src/,
and every symbol an object file references that another object file of the
libraries defines (nm). A file's module is its stem (x.c with x.h).

Fails on
  - a folder edge against the layer order
        core < metrics < {trace, log} < {otlp, sqlite, instrument} < http
    (trace and log do not know each other; they meet in core/tctx);
  - any cycle between modules (a strongly connected component of the
    union of include and call edges), within a folder or across;
and on a line of the pending file that no longer matches anything (so the
list only shrinks). Usage:
  layers.py <src dir> <pending file> <object files...>
"""
import collections
import os
import re
import subprocess
import sys

RANK = {"core": 0, "metrics": 1, "trace": 2, "log": 2, "otlp": 3, "sqlite": 3, "instrument": 3,
        "http": 4}


def stem(p):
    return re.sub(r"\.(c|h)$", "", p)


def main():
    src, pending_path, objs = sys.argv[1], sys.argv[2], sys.argv[3:]
    files = []
    for d in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, d)):
            for f in sorted(os.listdir(os.path.join(src, d))):
                if f.endswith((".c", ".h")):
                    files.append(d + "/" + f)
    edges = collections.defaultdict(dict)  # module -> module -> why

    def add(a, b, why):
        if a != b and b not in edges[a]:
            edges[a][b] = why

    for f in files:
        for line in open(os.path.join(src, f), encoding="utf-8"):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            t = m.group(1)
            if os.path.exists(os.path.join(src, t)):
                add(stem(f), stem(t), "includes " + t)
            elif os.path.exists(os.path.join(src, os.path.dirname(f), t)):
                add(stem(f), stem(os.path.dirname(f) + "/" + t), "includes " + t)

    defs, refs = {}, collections.defaultdict(set)
    for o in objs:
        m = re.search(r"/src/(.+)\.c\.o$", o)
        if not m:
            continue
        mod = m.group(1)
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for l in out.splitlines():
            p = l.split()
            if len(p) == 3 and p[1] in "TDBRCVW" and p[2] not in defs:
                defs[p[2]] = mod
            elif len(p) == 2 and p[0] == "U":
                refs[mod].add(p[1])
    if not defs:
        print("no object files given")
        return 1
    for mod, syms in refs.items():
        for s in sorted(syms):
            if s in defs:
                add(mod, defs[s], "calls " + s)

    found = []
    for a in sorted(edges):
        for b, why in sorted(edges[a].items()):
            fa, fb = a.split("/")[0], b.split("/")[0]
            if fa == fb:
                continue
            ra, rb = RANK.get(fa), RANK.get(fb)
            if ra is None or rb is None or rb >= ra:
                found.append("edge %s -> %s" % (a, b))
                print("against the layers: %s -> %s (%s)" % (a, b, why))

    # Tarjan's strongly connected components, iteratively.
    nodes = sorted(set(edges) | {b for a in edges for b in edges[a]})
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, {})))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))
    for comp in sccs:
        found.append("cycle " + " ".join(comp))
        print("cycle: " + " ".join(comp))
        for a in comp:
            for b in comp:
                if b in edges.get(a, {}):
                    print("    %s -> %s (%s)" % (a, b, edges[a][b]))

    pending = []
    for line in open(pending_path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            pending.append(line)
    bad = [f for f in found if f not in pending]
    stale = [p for p in pending if p not in found]
    for p in stale:
        print("pending line no longer found (delete it): " + p)
    print("%d modules, %d edges, %d findings (%d pending), %d stale pending lines" %
          (len(nodes), sum(len(v) for v in edges.values()), len(found), len(found) - len(bad),
           len(stale)))
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main())
