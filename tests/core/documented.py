#!/usr/bin/env python3
"""Every LUMEN_API declaration in include/lumen/*.h has a doc comment:
the line before it ends a comment, or it belongs to a group of
declarations that directly follows one."""
import glob
import sys

inc = sys.argv[1]
bad, count = [], 0
for h in sorted(glob.glob(inc + '/lumen/*.h')):
    lines = open(h).read().split('\n')
    for i, line in enumerate(lines):
        if not line.startswith('LUMEN_API'):
            continue
        count += 1
        j = i - 1
        # Walk back over the continuation lines of a previous declaration
        # in the same group; a blank line ends the group.
        while j >= 0 and lines[j].strip() and not lines[j].strip().endswith('*/') \
                and not lines[j].startswith('LUMEN_API'):
            j -= 1
        if j >= 0 and (lines[j].strip().endswith('*/') or lines[j].startswith('LUMEN_API')):
            continue
        bad.append(f'{h}:{i + 1}: {line.strip()}')
for b in bad:
    print('undocumented:', b)
print(f'{count} declarations, {len(bad)} without a doc comment')
sys.exit(1 if bad or count == 0 else 0)
