#!/usr/bin/env python3
"""Every LUMEN_API declaration in include/lumen/*.h has a doc comment (the
line before it ends a comment, or it belongs to a group of declarations that
directly follows one), and that comment states its thread-safety with
exactly one of the sentences of docs/api.md: "Thread-safe.", "Safe on
distinct objects." or "Not thread-safe." (each may go on with a colon or a
parenthesis saying more), and optionally "Async-signal-safe.".

The sentences are matched as written (case and all), across the line
breaks of the comment, so that a doc saying "thread-safe" in passing, or
both "Thread-safe" and "Not thread-safe", is caught.
Usage: documented.py INCLUDE_DIR
"""
import glob
import os
import re
import sys

SENTENCES = ('Not thread-safe', 'Thread-safe', 'Safe on distinct objects')
TS = re.compile(r'\b(Not thread-safe|Thread-safe|Safe on distinct objects)\b')
NAME = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(')


def comment_text(lines):
    """The text of a comment's lines, without the comment markers and the
    leading '*' of each line, joined by single spaces."""
    out = []
    for x in lines:
        x = x.strip()
        x = re.sub(r'^/\*\*?', '', x)
        x = re.sub(r'\*/$', '', x)
        x = re.sub(r'^\*(?!/)', '', x)
        out.append(x.strip())
    return ' '.join(w for w in out if w)


def declarations(inc):
    """[(header, line, name, doc or None)] of every LUMEN_API declaration."""
    out = []
    for h in sorted(glob.glob(os.path.join(inc, 'lumen', '*.h'))):
        lines = open(h).read().split('\n')
        for i, line in enumerate(lines):
            if not line.startswith('LUMEN_API'):
                continue
            decl, j = line, i
            while '(' not in decl and j + 1 < len(lines):
                j += 1
                decl += ' ' + lines[j]
            m = NAME.search(decl)
            name = m.group(1) if m else line.strip()
            # Walk back over the continuation lines and the previous
            # declarations of the same group; a blank line ends the group.
            k = i - 1
            while k >= 0 and lines[k].strip() and not lines[k].strip().endswith('*/'):
                k -= 1
            doc = None
            if k >= 0 and lines[k].strip().endswith('*/'):
                end = k
                while k > 0 and '/*' not in lines[k]:
                    k -= 1
                doc = comment_text(lines[k:end + 1])
            out.append((os.path.basename(h), i + 1, name, doc))
    return out


def main():
    inc = sys.argv[1]
    decls = declarations(inc)
    fail = 0
    undocumented = [d for d in decls if d[3] is None]
    for h, line, name, _ in undocumented:
        print(f'FAIL: undocumented: {inc}/lumen/{h}:{line}: {name}')
        fail = 1
    counts = dict.fromkeys(SENTENCES, 0)
    for h, line, name, doc in decls:
        if doc is None:
            continue
        said = sorted(set(TS.findall(doc)))
        if len(said) == 1:
            counts[said[0]] += 1
            continue
        what = 'none' if not said else ' and '.join(f'"{s}"' for s in said)
        print(f'FAIL: {inc}/lumen/{h}:{line}: {name}: its doc (or its group\'s) says {what} of '
              '"Thread-safe.", "Safe on distinct objects.", "Not thread-safe." (docs/api.md, '
              'Thread-safety: exactly one)')
        fail = 1
    print(f'{len(decls)} declarations, {len(undocumented)} without a doc comment; ' +
          ', '.join(f'{n} "{s}"' for s, n in counts.items()))
    sys.exit(1 if fail or not decls else 0)


if __name__ == '__main__':
    main()
