#!/bin/sh
# The ABI check (docs/api.md, "Versions and compatibility"; abi/BREAKS.md):
# the shared libraries of a build compared with the baselines committed in
# abi/, with libabigail (Debian abigail-tools).
#
#   abi.sh check BUILD_DIR [liblumen|liblumen-http]
#       Compare the built library (both without a name) with abi/<lib>.abi.
#       Passes when nothing but additions changed: new functions, and fields
#       appended to versioned structs (abi/lumen.abignore). Fails on a
#       removed or changed function, a changed frozen type, a field inserted
#       or retyped, and when abi/BREAKS.md has no heading for the baseline's
#       soname.
#   abi.sh update BUILD_DIR [--force]
#       Write both baselines from the build (a gcc RelWithDebInfo build, as
#       scripts/test.sh's release build). Refuses when the built soname is
#       the baseline's and the check fails, i.e. a break without a soname
#       bump, unless --force (only for a soname not yet released: see
#       abi/BREAKS.md).
#   abi.sh dump LIB OUT HEADERS_DIR [HEADER_FILE]
#   abi.sh compare BASELINE LIB HEADERS_DIR [HEADER_FILE]
#       The two steps the others are made of (tests/abi/selftest.sh uses
#       them on its fixture libraries).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
abi=$top/abi
suppr=$abi/lumen.abignore

need() {
  for t in abidw abidiff; do
    command -v $t >/dev/null 2>&1 ||
      { echo "abi.sh: $t not found (Debian: apt-get install abigail-tools)" >&2; exit 2; }
  done
}

dump() { # lib out headers-dir [header-file]
  # Hashed type ids keep the baseline's diff small when a type is added.
  # Locations stay (file names only): without them abidiff takes every
  # type of the baseline for a private one and --drop-private-types then
  # hides every change to it (test_abi_selftest found that).
  abidw --drop-private-types --no-corpus-path --no-comp-dir-path --short-locs \
    --type-id-style hash --headers-dir "$3" ${4:+--header-file "$4"} --out-file "$2" "$1"
}

compare() { # baseline lib headers-dir [header-file]; prints the report, returns abidiff's status
  abidiff --no-added-syms --suppressions "$suppr" --drop-private-types \
    --headers-dir2 "$3" ${4:+--header-file2 "$4"} "$1" "$2"
}

# A '## ' heading of abi/BREAKS.md names the soname ("## liblumen.so.0.2 and liblumen-http.so.0.2").
has_heading() { grep '^## ' "$abi/BREAKS.md" | tr ' ,' '\n\n' | grep -qxF "$1"; }

soname_of_baseline() { sed -n "s/.*<abi-corpus[^>]* soname='\([^']*\)'.*/\1/p" "$1" | head -1; }

built() { # build-dir name: the versioned file of the shared library
  f=$(readlink -f "$1/$2.so" 2>/dev/null)
  [ -n "$f" ] && [ -f "$f" ] || { echo "abi.sh: $1/$2.so not found (build the shared library)" >&2; exit 2; }
  echo "$f"
}

check_one() { # build-dir name
  lib=$(built "$1" "$2")
  base=$abi/$2.abi
  [ -f "$base" ] || { echo "FAIL: no baseline $base (abi.sh update)"; return 1; }
  so=$(soname_of_baseline "$base")
  rc=0
  out=$(compare "$base" "$lib" "$top/include/lumen" "$1/include/lumen/version.h" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$out"
    echo "FAIL: $2 ($(basename "$lib")) breaks the ABI of its baseline $so (abidiff status $rc)."
    echo "  A break is deliberate only with a new soname: abi/BREAKS.md says how to record one."
  else
    echo "$2: $(basename "$lib") keeps the ABI of the baseline $so (additions aside)"
  fi
  if ! has_heading "$so"; then
    echo "FAIL: abi/BREAKS.md has no '## $so' heading for the baseline's soname"
    rc=1
  fi
  return $rc
}

cmd=${1:-}
case $cmd in
  check)
    [ $# -ge 2 ] || { echo "usage: abi.sh check BUILD_DIR [liblumen|liblumen-http]" >&2; exit 2; }
    need
    status=0
    for name in ${3:-liblumen liblumen-http}; do
      check_one "$2" "$name" || status=1
    done
    exit $status ;;
  update)
    [ $# -ge 2 ] || { echo "usage: abi.sh update BUILD_DIR [--force]" >&2; exit 2; }
    need
    force=${3:-}
    for name in liblumen liblumen-http; do
      lib=$(built "$2" "$name")
      base=$abi/$name.abi
      if [ -f "$base" ] && [ "$force" != --force ]; then
        new_so=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
        if [ "$new_so" = "$(soname_of_baseline "$base")" ] &&
           ! compare "$base" "$lib" "$top/include/lumen" "$2/include/lumen/version.h" > /dev/null 2>&1; then
          echo "abi.sh: $name breaks the ABI of $base at the same soname $new_so: bump the soname" >&2
          echo "  (abi/BREAKS.md), or pass --force if $new_so was never released" >&2
          exit 1
        fi
      fi
    done
    for name in liblumen liblumen-http; do
      lib=$(built "$2" "$name")
      dump "$lib" "$abi/$name.abi" "$top/include/lumen" "$2/include/lumen/version.h" || exit 1
      so=$(soname_of_baseline "$abi/$name.abi")
      echo "wrote abi/$name.abi ($so, $(wc -c < "$abi/$name.abi") bytes)"
      has_heading "$so" ||
        echo "abi.sh: add a '## $so' entry to abi/BREAKS.md (the check fails without it)" >&2
    done ;;
  dump)
    [ $# -ge 4 ] || { echo "usage: abi.sh dump LIB OUT HEADERS_DIR [HEADER_FILE]" >&2; exit 2; }
    need
    dump "$2" "$3" "$4" "${5:-}" ;;
  compare)
    [ $# -ge 4 ] || { echo "usage: abi.sh compare BASELINE LIB HEADERS_DIR [HEADER_FILE]" >&2; exit 2; }
    need
    compare "$2" "$3" "$4" "${5:-}" ;;
  *)
    echo "usage: abi.sh check|update|dump|compare ... (see the top of this file)" >&2
    exit 2 ;;
esac
