#!/bin/sh
# Compile and link every complete C program found in README.md and
# docs/*.md. Usage: snippets.sh SRC_DIR CC FLAGS LIBLUMEN_HTTP_A LIBLUMEN_A GEN_INCLUDE
# [LIBLUMEN_SQLITE_A]. A program that includes lumen/sqlite.h also links
# liblumen-sqlite and libsqlite3; without the archive it is not built, and
# the count says so.
set -u
src=$1 cc=$2 flags=$3 http=$4 core=$5 gen=$6 sqlite=${7:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
deps=$(pkg-config --libs libmicrohttpd libcurl zlib 2>/dev/null)
pkg-config --exists libxcrypt 2>/dev/null && deps="$deps $(pkg-config --libs libxcrypt)"
n=0 fail=0
for md in "$src/README.md" "$src"/docs/*.md; do
  # Split the ```c blocks into numbered files.
  awk -v dir="$tmp" -v base="$(basename "$md" .md)" '
    /^```c[[:space:]]*$/ { inblk = 1; k++; f = dir "/" base "_" k ".c"; next }
    /^```/ && inblk { inblk = 0; close(f); next }
    inblk { print > f }' "$md"
done
for f in "$tmp"/*.c; do
  [ -f "$f" ] || continue
  grep -q 'int main' "$f" || continue
  extra=""
  if grep -q 'lumen/sqlite.h' "$f"; then
    if [ -z "$sqlite" ]; then
      nosqlite=$((${nosqlite:-0} + 1))
      continue
    fi
    extra="$sqlite $(pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)"
  fi
  n=$((n + 1))
  if ! $cc -std=c11 -D_GNU_SOURCE -Wall -Werror=implicit-function-declaration $flags \
       -I"$src/include" -I"$gen" -o "$f.bin" "$f" $extra "$http" "$core" $deps -lpthread -lm \
       2>"$f.err"; then
    echo "FAIL: $(basename "$f") does not build:"; sed 's/^/    /' "$f.err" | head -20
    fail=1
  fi
done
echo "$n documented programs built${nosqlite:+ ($nosqlite not: liblumen-sqlite is not built)}"
[ "$n" -gt 0 ] || { echo "no documented program found"; exit 1; }
exit $fail
