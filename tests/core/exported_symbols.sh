#!/bin/sh
# The exported dynamic symbols of each library must equal the functions
# declared with LUMEN_API in its public headers: lumen/http*.h for
# liblumen-http, every other header for liblumen. liblumen also exports the
# internal functions marked LUMEN__SHARED under src/ (see core/common.h),
# and those must be exactly the lumen__ symbols liblumen-http imports.
# Usage: exported_symbols.sh INCLUDE_DIR SRC_DIR liblumen.so [liblumen-http.so]
set -u
inc=$1 src=$2 lib=$3 http=${4:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declared() {
  # Declarations may span lines: join each header, then take the
  # identifier just before the first '(' after LUMEN_API.
  for h in "$@"; do grep -v "^[[:space:]]*#" "$h" | tr "\n" " "; echo; done |
    grep -o 'LUMEN_API[^;(]*(' | sed 's/($//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u
}
exported() {
  nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRWV]$/ {print $3}' | sed 's/@.*//' |
    grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' | sort -u
}
fail=0
check() { # name declared-file exported-file
  if ! diff -u "$2" "$3" > "$tmp/diff"; then
    echo "$1: exported symbols differ from LUMEN_API declarations ('-' declared only, '+' exported only):"
    grep '^[-+][A-Za-z_]' "$tmp/diff"
    fail=1
  else
    echo "$1: $(wc -l < "$3") symbols exported, each declared (LUMEN_API, or LUMEN__SHARED internals)"
  fi
}
declared $(ls "$inc"/lumen/*.h | grep -v '/http[^/]*\.h$') > "$tmp/decl_public"
# LUMEN__SHARED declarations: the identifier before the '(' or ';'.
find "$src" -name '*.h' -exec grep -h '^LUMEN__SHARED ' {} + |
  sed 's/[(;].*//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u > "$tmp/decl_shared"
sort -u "$tmp/decl_public" "$tmp/decl_shared" > "$tmp/decl_core"
exported "$lib" > "$tmp/exp_core"
check liblumen "$tmp/decl_core" "$tmp/exp_core"
if [ -n "$http" ]; then
  declared "$inc"/lumen/http*.h > "$tmp/decl_http"
  exported "$http" > "$tmp/exp_http"
  check liblumen-http "$tmp/decl_http" "$tmp/exp_http"
  nm -D --undefined-only "$http" | awk '{print $2}' | sed 's/@.*//' | grep '^lumen__' |
    sort -u > "$tmp/imp_http"
  if ! diff -u "$tmp/decl_shared" "$tmp/imp_http" > "$tmp/diff"; then
    echo "LUMEN__SHARED functions differ from what liblumen-http imports ('-' marked only, '+' imported only):"
    grep '^[-+][A-Za-z_]' "$tmp/diff"
    fail=1
  else
    echo "liblumen-http imports exactly the $(wc -l < "$tmp/imp_http") LUMEN__SHARED internals"
  fi
fi
exit $fail
