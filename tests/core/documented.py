#!/usr/bin/env python3
"""Every LUMEN_API declaration in include/lumen/*.h has a doc comment (the
line before it ends a comment, or it belongs to a group of declarations that
directly follows one), and that comment states its thread-safety with one of
the sentences of docs/api.md: "Thread-safe.", "Safe on distinct objects."
(or "... spans", "... loggers": the objects it acts on), "Not thread-safe."
or "Async-signal-safe.".

Declarations still lacking the thread-safety sentence are listed in the
pending file (second argument; "header name" per line). A listed declaration
that has its sentence, or no longer exists, fails the test too, so the list
only shrinks; it must be empty by the end of issue 12.
Usage: documented.py INCLUDE_DIR [PENDING_FILE]
"""
import glob
import os
import re
import sys

TS = re.compile(r'\b(thread-safe|safe on distinct \w+|async-signal-safe)\b', re.I)
NAME = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(')


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
                doc = ' '.join(x.strip() for x in lines[k:end + 1])
            out.append((os.path.basename(h), i + 1, name, doc))
    return out


def read_pending(path):
    pending = {}
    if path is None:
        return pending
    for n, line in enumerate(open(path), 1):
        line = line.split('#', 1)[0].strip()
        if line:
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f'{path}:{n}: expected "header name", got {line!r}')
            pending[(parts[0], parts[1])] = n
    return pending


def main():
    inc = sys.argv[1]
    pending_path = sys.argv[2] if len(sys.argv) > 2 else None
    pending = read_pending(pending_path)
    decls = declarations(inc)
    fail = 0
    undocumented = [d for d in decls if d[3] is None]
    for h, line, name, _ in undocumented:
        print(f'undocumented: {inc}/lumen/{h}:{line}: {name}')
        fail = 1
    no_ts = [(h, line, name) for h, line, name, doc in decls if doc is not None and not TS.search(doc)]
    waiting = 0
    for h, line, name in no_ts:
        if (h, name) in pending:
            waiting += 1
            continue
        print(f'no thread-safety sentence: {inc}/lumen/{h}:{line}: {name}')
        fail = 1
    if any((h, name) not in pending for h, _, name in no_ts):
        print('  (the doc of each, or of its group, says none of "Thread-safe.", "Safe on distinct '
              'objects.", "Not thread-safe.", "Async-signal-safe.": see docs/api.md)')
    missing = {(h, name) for h, _, name in no_ts}
    for key, n in sorted(pending.items(), key=lambda kv: kv[1]):
        if key not in missing:
            state = 'has its thread-safety sentence' if any(
                (h, name) == key for h, _, name, _ in decls) else 'is not declared any more'
            print(f'stale: {pending_path}:{n}: {key[0]} {key[1]} {state}: delete the line')
            fail = 1
    print(f'{len(decls)} declarations, {len(undocumented)} without a doc comment, '
          f'{len(no_ts)} without a thread-safety sentence ({waiting} of them pending in '
          f'{os.path.basename(pending_path) if pending_path else "no pending file"})')
    sys.exit(1 if fail or not decls else 0)


if __name__ == '__main__':
    main()
