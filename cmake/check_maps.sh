#!/bin/sh
# The version scripts list exactly what the headers declare: run before
# each shared library is linked (CMakeLists.txt, PRE_LINK) and by
# test_core_exported_symbols, so that a function added, renamed or removed
# in a header without its line in the map fails at once with the line to
# change, instead of as an undefined reference in liblumen-http's link.
#   src/liblumen.map: node LUMEN_<MAJOR>.<MINOR> == the LUMEN_API functions
#     of include/lumen/*.h but lumen/http*.h; node LUMEN_INTERNAL_<n> == the
#     functions declared LUMEN__INTERNAL under src/.
#   src/http/liblumen-http.map: node LUMEN_HTTP_<MAJOR>.<MINOR> == the
#     LUMEN_API functions of lumen/http*.h.
#   src/sqlite/liblumen-sqlite.map: node LUMEN_SQLITE_<MAJOR>.<MINOR> == the
#     LUMEN_API functions of lumen/sqlite.h (which liblumen leaves out).
# (From 1.0 on, the public names may be spread over the nodes
# LUMEN_<MAJOR>.0 ... LUMEN_<MAJOR>.<MINOR>.)
# Usage: check_maps.sh INCLUDE_DIR SRC_DIR MAJOR.MINOR [liblumen|liblumen-http|liblumen-sqlite]
set -u
inc=$1 src=$2 ver=$3 which=${4:-liblumen liblumen-http}
major=${ver%%.*}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ "$major" -eq 0 ]; then
  pub_re="LUMEN_$(echo "$ver" | sed 's/\./\\./')" http_re="LUMEN_HTTP_$(echo "$ver" | sed 's/\./\\./')"
else
  pub_re="LUMEN_$major\.[0-9]+" http_re="LUMEN_HTTP_$major\.[0-9]+"
fi
sqlite_re=$(echo "$http_re" | sed 's/_HTTP_/_SQLITE_/')
fail=0

declared() {
  # Declarations may span lines: join each header, then take the
  # identifier just before the first '(' after LUMEN_API.
  for h in "$@"; do grep -v "^[[:space:]]*#" "$h" | tr "\n" " "; echo; done |
    grep -o 'LUMEN_API[^;(]*(' | sed 's/($//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u
}
# The global names of the nodes of a version script matching a regex.
map_node() { # map-file node-regex
  sed 's|/\*.*\*/||; s|#.*||' "$1" | tr -d ' \t' | awk -v re="^($2)\\{" '
    $0 ~ re {on = 1; glob = 0; next}
    on && /^}/ {on = 0}
    on && $0 == "global:" {glob = 1; next}
    on && $0 == "local:" {glob = 0; next}
    on && glob && /;$/ {sub(/;$/, ""); print}' | sort -u
}
same() { # what map declared-file map-file
  if ! diff "$3" "$4" > /dev/null; then
    echo "FAIL: $2 does not list exactly $1:"
    comm -23 "$3" "$4" | sed "s|^|    add to $2:      |"
    comm -13 "$3" "$4" | sed "s|^|    remove from $2: |"
    fail=1
  fi
}

for lib in $which; do
  case $lib in
    liblumen)
      declared $(ls "$inc"/lumen/*.h | grep -v -E '/(http[^/]*|sqlite)\.h$') > "$tmp/decl_public"
      find "$src" -name '*.h' -exec grep -h '^LUMEN__INTERNAL ' {} + |
        sed 's/[(;].*//; s/.*[ *]\([A-Za-z_][A-Za-z0-9_]*\)$/\1/' | sort -u > "$tmp/decl_shared"
      map_node "$src/liblumen.map" "$pub_re" > "$tmp/map_public"
      map_node "$src/liblumen.map" 'LUMEN_INTERNAL_[0-9]+' > "$tmp/map_shared"
      same "the LUMEN_API functions of lumen/*.h in its node $(echo "$pub_re" | tr -d '\\')" \
        src/liblumen.map "$tmp/decl_public" "$tmp/map_public"
      same "the LUMEN__INTERNAL functions in its node LUMEN_INTERNAL_<n> (once released, a change renames it LUMEN_INTERNAL_<n+1>)" \
        src/liblumen.map "$tmp/decl_shared" "$tmp/map_shared" ;;
    liblumen-http)
      declared "$inc"/lumen/http*.h > "$tmp/decl_http"
      map_node "$src/http/liblumen-http.map" "$http_re" > "$tmp/map_http"
      same "the LUMEN_API functions of lumen/http*.h in its node $(echo "$http_re" | tr -d '\\')" \
        src/http/liblumen-http.map "$tmp/decl_http" "$tmp/map_http" ;;
    liblumen-sqlite)
      declared "$inc"/lumen/sqlite.h > "$tmp/decl_sqlite"
      map_node "$src/sqlite/liblumen-sqlite.map" "$sqlite_re" > "$tmp/map_sqlite"
      same "the LUMEN_API functions of lumen/sqlite.h in its node $(echo "$sqlite_re" | tr -d '\\')" \
        src/sqlite/liblumen-sqlite.map "$tmp/decl_sqlite" "$tmp/map_sqlite" ;;
  esac
done
exit $fail
