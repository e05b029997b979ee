#!/bin/sh
# The ABI check can fail: scripts/abi.sh (the same dump and compare, with
# abi/lumen.abignore) run on a fixture library (fixture/), built as the
# baseline and then once per change. It must fail on a removed function, on
# a field inserted in the middle of a frozen struct or of a versioned one,
# on a field appended to a frozen struct and on a changed signature, naming
# what changed, and pass on the unchanged library and on additions (a field
# appended to a versioned struct, a new function).
# Usage: selftest.sh CC
set -u
cc=$1
here=$(cd "$(dirname "$0")" && pwd)
abi=$here/../../scripts/abi.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

build() { # name defines...
  name=$1; shift
  "$cc" -g -O2 -fPIC -shared -Wl,-soname,liblumen_fix.so.1 "$@" -I"$here/fixture" \
    -o "$tmp/$name.so" "$here/fixture/fixture.c" || { echo "FAIL: cannot build $name"; exit 1; }
}
expect() { # pass|fail name what-the-report-must-name
  rc=0
  sh "$abi" compare "$tmp/base.abi" "$tmp/$2.so" "$here/fixture/lumen" > "$tmp/$2.out" 2>&1 || rc=$?
  if [ "$1" = pass ] && [ "$rc" -ne 0 ]; then
    echo "FAIL: $2 should pass the check, abidiff status $rc:"; sed 's/^/    /' "$tmp/$2.out"; fail=1
  elif [ "$1" = fail ] && [ "$rc" -eq 0 ]; then
    echo "FAIL: $2 should fail the check, it passed"; fail=1
  elif [ "$1" = fail ] && ! grep -q "$3" "$tmp/$2.out"; then
    echo "FAIL: the report on $2 does not name $3:"; sed 's/^/    /' "$tmp/$2.out"; fail=1
  else
    echo "$2: ${1}ed as it must (abidiff status $rc)$([ -n "$3" ] && echo ", naming $3")"
  fi
}

build base
sh "$abi" dump "$tmp/base.so" "$tmp/base.abi" "$here/fixture/lumen" || { echo "FAIL: abidw"; exit 1; }
build same
build appended -DFIX_APPEND
build removed -DFIX_REMOVE
build inserted -DFIX_INSERT_MID
build changed -DFIX_CHANGE_SIG
build inserted_versioned -DFIX_INSERT_VERSIONED
build appended_frozen -DFIX_APPEND_FROZEN
expect pass same ""
expect pass appended ""
expect fail removed lumen_fix_gone
expect fail inserted lumen_fix_pair
expect fail changed lumen_fix_sum
expect fail inserted_versioned lumen_fix_options
expect fail appended_frozen lumen_fix_pair
exit $fail
