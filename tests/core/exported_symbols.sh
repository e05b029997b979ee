#!/bin/sh
# What the shared libraries export and import, and at which symbol versions
# (docs/api.md, "Versions and compatibility"; plan of issue 12, §3.4):
# 1. liblumen exports exactly the functions declared LUMEN_API in its public
#    headers (every one but lumen/http*.h and lumen/sqlite.h, liblumen-sqlite's), each at LUMEN_<MAJOR>.<MINOR>
#    (0.x: the one node of the soname), plus the internals that
#    src/liblumen.map lists in its node LUMEN_INTERNAL_<n>, each at that
#    node; nothing else, and no data.
# 2. liblumen-http exports exactly the LUMEN_API functions of lumen/http*.h,
#    each at LUMEN_HTTP_<MAJOR>.<MINOR>; nothing else, and no data.
# 3. Every lumen symbol liblumen-http imports is a public function of
#    liblumen at its public node (lumen_*@LUMEN_<MAJOR>.<MINOR>) or an
#    internal one at LUMEN_INTERNAL_<n> (lumen__*@LUMEN_INTERNAL_<n>), never
#    a data symbol; and the internals it imports are exactly the map's
#    LUMEN_INTERNAL_<n> set (no internal is exported for nothing).
# The internal set is read from the map, so that it can shrink (or grow)
# without this script changing; cmake/check_maps.sh, run first (and before
# each link), checks that the map's nodes list what the headers declare.
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
# The global names of the nodes of a version script whose name matches a
# regex (as cmake/check_maps.sh reads them).
map_node() { # map-file node-regex
  sed 's|/\*.*\*/||; s|#.*||' "$1" | tr -d ' \t' | awk -v re="^($2)\\{" '
    $0 ~ re {on = 1; glob = 0; next}
    on && /^}/ {on = 0}
    on && $0 == "global:" {glob = 1; next}
    on && $0 == "local:" {glob = 0; next}
    on && glob && /;$/ {sub(/;$/, ""); print}' | sort -u
}
# "TYPE name@@NODE" for each defined dynamic symbol (functions and data;
# not the version nodes' own absolute symbols, type A).
exported_typed() {
  nm -D --defined-only --with-symbol-versions "$1" | awk 'NF >= 3 && $2 != "A" {print $2, $3}' |
    grep -v -E ' (_init|_fini|_edata|_end|__bss_start)(@|$)' | sort -u
}
same() { # what expected-file actual-file hint
  if ! diff -u "$2" "$3" > "$tmp/diff"; then
    echo "FAIL: $1 ('-' only in the first, '+' only in the second):"
    grep '^[-+][A-Za-z_]' "$tmp/diff" | sed 's/^/    /'
    [ -n "${4:-}" ] && echo "    $4"
    fail=1
  fi
}
# Data (not function) symbols among "TYPE name" lines: nm's types other
# than T/t (text), W/w (weak function) and i (indirect function).
data_of() { awk '$1 !~ /^[TtWwi]$/ {print $2}' "$1"; }

# The maps list what the headers declare.
sh "$src/../cmake/check_maps.sh" "$inc" "$src" "$ver" || fail=1

# ---- 1. liblumen ----
declared $(ls "$inc"/lumen/*.h | grep -v -E '/(http[^/]*|sqlite)\.h$') > "$tmp/decl_public"
inode=$(sed 's|/\*.*\*/||' "$src/liblumen.map" | grep -o -E '^[[:space:]]*LUMEN_INTERNAL_[0-9]+' |
  tr -d ' \t' | sort -u)
if [ "$(echo "$inode" | grep -c .)" -ne 1 ]; then
  echo "FAIL: src/liblumen.map has $(echo "$inode" | grep -c .) LUMEN_INTERNAL_<n> nodes, not one: $inode"
  fail=1
  inode=$(echo "$inode" | head -1)
fi
map_node "$src/liblumen.map" "$inode" > "$tmp/internal"
exported_typed "$lib" > "$tmp/typed_core"
awk '{print $2}' "$tmp/typed_core" > "$tmp/exp_core"
{ sed "s/\$/@@$pub_node/" "$tmp/decl_public"
  sed "s/\$/@@$inode/" "$tmp/internal"; } | sort -u > "$tmp/want_core"
if [ "$major" -ne 0 ]; then
  sed -E "s/@@$pub_re\$/@@$pub_node/" "$tmp/exp_core" | sort -u > "$tmp/exp_core2"
  mv "$tmp/exp_core2" "$tmp/exp_core"
fi
same "liblumen: the headers' LUMEN_API functions and the map's $inode set (name@@node) vs what $(basename "$lib") exports" \
  "$tmp/want_core" "$tmp/exp_core"
data_of "$tmp/typed_core" > "$tmp/data_core"
if [ -s "$tmp/data_core" ]; then
  echo "FAIL: liblumen exports data symbols (only functions may cross the boundary):"
  sed 's/^/    /' "$tmp/data_core"
  fail=1
fi
echo "liblumen: $(grep -cE "@@$pub_re\$" "$tmp/exp_core" || true) symbols at $pub_node," \
  "$(grep -c "@@$inode\$" "$tmp/exp_core" || true) internals at $inode (the map lists $(wc -l < "$tmp/internal"))"

# ---- 2. liblumen-http ----
if [ -n "$http" ]; then
  declared "$inc"/lumen/http*.h > "$tmp/decl_http"
  sed "s/\$/@@$http_node/" "$tmp/decl_http" | sort -u > "$tmp/want_http"
  exported_typed "$http" > "$tmp/typed_http"
  awk '{print $2}' "$tmp/typed_http" > "$tmp/exp_http"
  [ "$major" -ne 0 ] && sed -E -i "s/@@$http_re\$/@@$http_node/" "$tmp/exp_http"
  same "liblumen-http: the LUMEN_API functions of lumen/http*.h (name@@node) vs what $(basename "$http") exports" \
    "$tmp/want_http" "$tmp/exp_http"
  data_of "$tmp/typed_http" > "$tmp/data_http"
  if [ -s "$tmp/data_http" ]; then
    echo "FAIL: liblumen-http exports data symbols:"
    sed 's/^/    /' "$tmp/data_http"
    fail=1
  fi
  echo "liblumen-http: $(wc -l < "$tmp/exp_http") symbols at $http_node"

  # ---- 3. what liblumen-http imports from liblumen ----
  nm -D --undefined-only --with-symbol-versions "$http" | awk '{print $NF}' | grep '^lumen_' |
    sort -u > "$tmp/imp_http"
  : > "$tmp/bad"
  grep '^lumen__' "$tmp/imp_http" | grep -v -E "@$inode\$" | sed 's/$/  (an internal, not at the map'"'"'s node)/' >> "$tmp/bad"
  grep -v '^lumen__' "$tmp/imp_http" | grep -v -E "@$pub_re\$" | sed 's/$/  (public, not at its node)/' >> "$tmp/bad"
  # Each import must be something liblumen defines, as a function.
  sed 's/@.*//' "$tmp/imp_http" | sort -u > "$tmp/imp_names"
  sed 's/@.*//' "$tmp/exp_core" | sort -u > "$tmp/exp_names"
  comm -23 "$tmp/imp_names" "$tmp/exp_names" | sed 's/$/  (liblumen does not export it)/' >> "$tmp/bad"
  data_of "$tmp/typed_core" | sed 's/@.*//' | sort -u > "$tmp/data_names"
  comm -12 "$tmp/imp_names" "$tmp/data_names" | sed 's/$/  (a data symbol)/' >> "$tmp/bad"
  if [ -s "$tmp/bad" ]; then
    echo "FAIL: liblumen-http imports lumen symbols it may not:"
    sed 's/^/    /' "$tmp/bad"
    fail=1
  fi
  grep '^lumen__' "$tmp/imp_names" > "$tmp/imp_internal" || true
  same "the map's $inode set vs the internals liblumen-http imports" "$tmp/internal" \
    "$tmp/imp_internal" \
    "list an internal in $inode (src/liblumen.map) only if liblumen-http calls it"
  echo "liblumen-http imports $(grep -vc '^lumen__' "$tmp/imp_names" || true) public functions at $pub_node" \
    "and $(wc -l < "$tmp/imp_internal") internals at $inode"
fi
exit $fail
