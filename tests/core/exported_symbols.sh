#!/bin/sh
# What the shared libraries export, and at which symbol versions
# (docs/api.md, "Versions and compatibility"):
# 1. liblumen exports exactly the functions declared LUMEN_API in its public
#    headers (every one but lumen/http*.h), each at the node LUMEN_<MAJOR>.<MINOR>
#    (0.x: the one node of the soname), and the internals declared
#    LUMEN__SHARED under src/, each at LUMEN_INTERNAL_<n>; src/liblumen.map
#    lists the same two sets in those nodes.
# 2. liblumen-http exports exactly the LUMEN_API functions of lumen/http*.h,
#    each at LUMEN_HTTP_<MAJOR>.<MINOR>; src/http/liblumen-http.map lists them.
# 3. Every lumen symbol liblumen-http imports is a public one at liblumen's
#    public node or an internal one at LUMEN_INTERNAL_<n>, and the internals
#    it imports are exactly the LUMEN__SHARED set (no internal is exported
#    for nothing, none is used unmarked).
# Usage: exported_symbols.sh INCLUDE_DIR SRC_DIR MAJOR.MINOR liblumen.so [liblumen-http.so]
set -u
inc=$1 src=$2 ver=$3 lib=$4 http=${5:-}
major=${ver%%.*}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
if [ "$major" -eq 0 ]; then
  pub_node="LUMEN_$ver" http_node="LUMEN_HTTP_$ver"
  pub_re="LUMEN_$(echo "$ver" | sed 's/\./\\./')" http_re="LUMEN_HTTP_$(echo "$ver" | sed 's/\./\\./')"
else
  # From 1.0 each release adds its own node (LUMEN_1.0, LUMEN_1.1, ...).
  pub_node="LUMEN_$major.*" http_node="LUMEN_HTTP_$major.*"
  pub_re="LUMEN_$major\.[0-9]+" http_re="LUMEN_HTTP_$major\.[0-9]+"
fi

declared() {
  # Declarations may span lines: join each header, then take the
  # identifier just before the first '(' after LUMEN_API.
  for h in "$@"; do grep -v "^[[:space:]]*#" "$h" | tr "\n" " "; echo; done |
    grep -o 'LUMEN_API[^;(]*(' | sed 's/($//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u
}
# "name@@NODE" for each defined dynamic symbol (functions and data).
exported() {
  nm -D --defined-only --with-symbol-versions "$1" | awk '$2 ~ /^[TDBRWVi]$/ {print $3}' |
    grep -v -E '^(_init|_fini|_edata|_end|__bss_start)(@|$)' | sort -u
}
same() { # what expected-file actual-file hint
  if ! diff -u "$2" "$3" > "$tmp/diff"; then
    echo "FAIL: $1 ('-' only in the first, '+' only in the second):"
    grep '^[-+][A-Za-z_]' "$tmp/diff" | sed 's/^/    /'
    [ -n "${4:-}" ] && echo "    $4"
    fail=1
  fi
}

# ---- liblumen ----
declared $(ls "$inc"/lumen/*.h | grep -v '/http[^/]*\.h$') > "$tmp/decl_public"
find "$src" -name '*.h' -exec grep -h '^LUMEN__SHARED ' {} + |
  sed 's/[(;].*//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u > "$tmp/decl_shared"
# The maps list the declared sets (cmake/check_maps.sh, also run before each link).
sh "$src/../cmake/check_maps.sh" "$inc" "$src" "$ver" || fail=1
exported "$lib" > "$tmp/exp_core"
{ sed "s/\$/@@$pub_node/" "$tmp/decl_public"
  grep -o -E "@@LUMEN_INTERNAL_[0-9]+" "$tmp/exp_core" | sort -u | head -1 > "$tmp/inode"
  sed "s/\$/$(cat "$tmp/inode")/" "$tmp/decl_shared"; } | sort -u > "$tmp/want_core"
if [ "$major" -ne 0 ]; then
  sed -E "s/@@$pub_re\$/@@$pub_node/" "$tmp/exp_core" | sort -u > "$tmp/exp_core2"
  mv "$tmp/exp_core2" "$tmp/exp_core"
fi
same "liblumen: declared (name@@node) vs exported by $(basename "$lib")" "$tmp/want_core" "$tmp/exp_core"
[ -s "$tmp/inode" ] || { echo "FAIL: liblumen exports no LUMEN_INTERNAL_<n> node"; fail=1; }
echo "liblumen: $(grep -cE "@@$pub_re\$" "$tmp/exp_core" 2>/dev/null || true) functions at $pub_node," \
  "$(grep -c '@@LUMEN_INTERNAL_' "$tmp/exp_core") internals at $(sed 's/@@//' "$tmp/inode")"

# ---- liblumen-http ----
if [ -n "$http" ]; then
  declared "$inc"/lumen/http*.h > "$tmp/decl_http"
  sed "s/\$/@@$http_node/" "$tmp/decl_http" | sort -u > "$tmp/want_http"
  exported "$http" > "$tmp/exp_http"
  [ "$major" -ne 0 ] && sed -E -i "s/@@$http_re\$/@@$http_node/" "$tmp/exp_http"
  same "liblumen-http: declared (name@@node) vs exported by $(basename "$http")" \
    "$tmp/want_http" "$tmp/exp_http"
  echo "liblumen-http: $(wc -l < "$tmp/exp_http") functions at $http_node"

  # Its imports of lumen symbols, with the version each is bound to.
  nm -D --undefined-only --with-symbol-versions "$http" | awk '{print $2}' | grep '^lumen_' |
    sort -u > "$tmp/imp_http"
  grep '^lumen__' "$tmp/imp_http" | grep -v -E "@LUMEN_INTERNAL_[0-9]+\$" > "$tmp/bad"
  grep -v '^lumen__' "$tmp/imp_http" | grep -v -E "@$pub_re\$" >> "$tmp/bad"
  if [ -s "$tmp/bad" ]; then
    echo "FAIL: liblumen-http imports lumen symbols at no version or the wrong one:"
    sed 's/^/    /' "$tmp/bad"
    fail=1
  fi
  grep '^lumen__' "$tmp/imp_http" | sed 's/@.*//' | sort -u > "$tmp/imp_shared"
  same "LUMEN__SHARED internals vs those liblumen-http imports" "$tmp/decl_shared" "$tmp/imp_shared" \
    "mark an internal LUMEN__SHARED (and list it in LUMEN_INTERNAL_<n>) only if liblumen-http calls it"
  echo "liblumen-http imports $(grep -vc '^lumen__' "$tmp/imp_http") public functions at $pub_node" \
    "and $(wc -l < "$tmp/imp_shared") internals at LUMEN_INTERNAL_<n>"
fi
exit $fail
