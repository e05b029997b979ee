#!/bin/sh
# test_core_format: every C source and header of the tree is formatted as
# .clang-format says (clang-format 14, Debian 12's). `make format` fixes a
# difference. Usage: format.sh <source dir>
set -u
src=$1
cf=$(command -v clang-format-14 || command -v clang-format) || {
    echo "clang-format not found (scripts/deps.sh test installs it)"
    exit 77
}
cd "$src" || exit 1
bad=0
for f in $(find include src tests examples fuzz bench -name '*.c' -o -name '*.h' -o -name '*.cc' | sort); do
    if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
        echo "not formatted: $f"
        bad=$((bad + 1))
    fi
done
n=$(find include src tests examples fuzz bench -name '*.c' -o -name '*.h' -o -name '*.cc' | wc -l)
echo "$n files checked, $bad not formatted"
[ "$bad" -eq 0 ]
