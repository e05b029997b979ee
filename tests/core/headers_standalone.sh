#!/bin/sh
# Compile every public header alone, as C99 and as C++, with warnings as
# errors. Usage: headers_standalone.sh INCLUDE_DIR GENERATED_INCLUDE_DIR
set -u
inc=$1 gen=$2
fail=0 n=0
for h in "$inc"/lumen/*.h; do
  name=lumen/$(basename "$h")
  n=$((n + 1))
  if ! printf '#include "%s"\n#include "%s"\nint lumen_header_check;\n' "$name" "$name" |
       ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" -I"$gen" -x c -; then
    echo "FAIL: $name as C99"; fail=1
  fi
  if ! printf '#include "%s"\nint lumen_header_check;\n' "$name" |
       ${CXX:-c++} -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" -I"$gen" -x c++ -; then
    echo "FAIL: $name as C++"; fail=1
  fi
done
echo "checked $n headers"
exit $fail
