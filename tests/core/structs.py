#!/usr/bin/env python3
"""Every struct whose layout a public header shows is one of the kinds of
docs/api.md ("Structs that cross the boundary"):

- versioned: its first member is `unsigned int version`, and the public
  headers define LUMEN_<NAME>_VERSION and LUMEN_<NAME>_INIT and declare
  lumen_<name>_init();
- frozen: named in the page's list of frozen value types.

A versioned struct's LUMEN_<NAME>_INIT must be
LUMEN__VERSIONED_INIT(lumen_<name>, LUMEN_<NAME>_VERSION), the one expansion
that works in C (a designated initializer, usable for a static) and C++ (no
missing-field warning). Opaque handles show no layout and are not checked;
nor are `lumen__` structs, which are not API. Any other struct with a body
in a public header fails.
Usage: structs.py INCLUDE_DIR API_MD
"""
import glob
import os
import re
import sys

TYPEDEF = re.compile(r'^\s*(?:typedef\s+)?struct\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{')
VERSION_FIRST = re.compile(r'^\s*unsigned\s+int\s+version\s*;')


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


def structs(inc):
    """[(header, line, name, first member)] of every typedef struct with a body."""
    out = []
    for h in sorted(glob.glob(os.path.join(inc, 'lumen', '*.h'))):
        lines = strip_comments(open(h).read()).split('\n')
        for i, line in enumerate(lines):
            m = TYPEDEF.match(line)
            if not m:
                continue
            rest = line[m.end():]
            j = i
            while not rest.strip() and j + 1 < len(lines):
                j += 1
                rest = lines[j]
            first = rest.strip().split(';')[0] + ';' if rest.strip() else ''
            out.append((os.path.basename(h), i + 1, m.group(1), first))
    return out


def frozen_list(api_md):
    """The names of the frozen value types in docs/api.md, or None without the page."""
    if not os.path.exists(api_md):
        return None
    text = open(api_md).read()
    m = re.search(r'\*\*Frozen value types\*\*(.*?)(?:\n\s*\d+\.\s|\n#|\Z)', text, re.S)
    if not m:
        sys.exit(f'{api_md}: no "**Frozen value types**" list found')
    return set(re.findall(r'`(lumen_[a-z0-9_]+)`', m.group(1)))


def main():
    inc, api_md = sys.argv[1:3]
    frozen = frozen_list(api_md)
    if frozen is None:
        print(f'note: {api_md} does not exist: no struct counts as frozen')
        frozen = set()
    headers = ''
    for h in glob.glob(os.path.join(inc, 'lumen', '*.h')):
        headers += strip_comments(open(h).read())
    fail = 0
    found = structs(inc)
    kinds = {'versioned': 0, 'frozen': 0, 'internal': 0}
    for h, line, name, first in found:
        where = f'{inc}/lumen/{h}:{line}: {name}'
        if name.startswith('lumen__'):
            kinds['internal'] += 1
            continue
        if VERSION_FIRST.match(first):
            up = name.upper()
            lacks = [x for x, pat in (
                (f'LUMEN{up[5:]}_VERSION', rf'#\s*define\s+LUMEN{up[5:]}_VERSION\b'),
                (f'LUMEN{up[5:]}_INIT', rf'#\s*define\s+LUMEN{up[5:]}_INIT\b'),
                (f'{name}_init()', rf'LUMEN_API\s+int\s+{name}_init\s*\('))
                if not re.search(pat, headers)]
            if lacks:
                print(f'FAIL: {where} is versioned but lacks {", ".join(lacks)}')
                fail = 1
            init = re.search(rf'#\s*define\s+LUMEN{up[5:]}_INIT\b((?:[^\n]*\\\n)*[^\n]*)',
                             headers)
            body = re.sub(r'\s+', '', init.group(1).replace('\\\n', '')) if init else ''
            want = f'LUMEN__VERSIONED_INIT({name},LUMEN{up[5:]}_VERSION)'
            if init and body != want:
                print(f'FAIL: {where}: LUMEN{up[5:]}_INIT is {body}, not {want}')
                fail = 1
            kinds['versioned'] += 1
            continue
        if name in frozen:
            kinds['frozen'] += 1
            continue
        print(f'FAIL: {where}: neither versioned (first member "unsigned int version") nor in '
              f'the frozen value types of {os.path.basename(api_md)}')
        fail = 1
    # The page lists only what the headers lay out.
    for name in sorted(frozen - {n for _, _, n, _ in found}):
        print(f'FAIL: {api_md} lists {name} as a frozen value type, but no public header lays it '
              'out')
        fail = 1
    print(f'{len(found)} structs with a public layout: {kinds["versioned"]} versioned, '
          f'{kinds["frozen"]} frozen, {kinds["internal"]} internal (lumen__)')
    sys.exit(1 if fail or not found else 0)


if __name__ == '__main__':
    main()
