#!/bin/sh
# test_core_limits: the limits and defaults that lumen/limits.h and
# lumen/http.h name (docs/api.md, "Limits") do not come back as bare
# numbers in the code (plan of issue 12, §5.6). Each rule is a file glob
# under src/, an extended regex, and the name the code must use instead,
# separated by ' @ '.
# Comments are not searched (a comment may say "200 bytes").
#
# ENFORCED rules fail the test on any match. PENDING rules (none today)
# are literals still being removed: their matches are listed but do not
# fail; once one matches nothing the test says so, and it moves to
# ENFORCED.
# Usage: limits.sh SOURCE_DIR
set -u
cd "$1" || exit 1

ENFORCED='
src/metrics/*.[ch] @ \<200\> @ LUMEN_METRIC_NAME_MAX (the metric name limit)
src/log/*.[ch] src/trace/*.[ch] src/otlp/*.[ch] @ \<5000\> @ LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS or LUMEN_BATCH_DEFAULT_SCHEDULE_DELAY_MS
src/*/*.[ch] src/*.[ch] @ 30000000000 @ LUMEN_DEFAULT_EXPORT_TIMEOUT_MS (the simple processor took 30 s whatever its options said)
src/trace/*.[ch] src/otlp/*.[ch] @ \<30000\> @ LUMEN_DEFAULT_EXPORT_TIMEOUT_MS
src/log/format_*.c @ src->(file|func).*\<4096\> @ LUMEN_LOG_SOURCE_MAX (the source location cap)
src/metrics/*.[ch] @ \[256\] @ LUMEN__SAMPLE_NAME_CAP (the sample name buffers, once char names[8][256])
'

PENDING=''

# grep -n for an ERE in the code of the files of a glob (comments blanked).
search() { # glob regex
  for f in $1; do
    [ -f "$f" ] || continue
    sed -e 's|/\*.*\*/||g' -e 's|//.*$||' -e 's|^[[:space:]]*/\*.*$||' \
        -e 's|^[[:space:]]*\*.*$||' "$f" | grep -n -E "$2" | sed "s|^|$f:|"
  done
}

fail=0
out=$(mktemp); trap 'rm -f "$out"' EXIT
echo "$ENFORCED" | while IFS='@' read -r glob re name; do
  [ -n "$glob" ] || continue
  glob=$(echo "$glob" | sed "s/^ *//; s/ *$//") re=$(echo "$re" | sed "s/^ *//; s/ *$//") name=$(echo "$name" | sed "s/^ *//")
  hits=$(search "$glob" "$re")
  if [ -n "$hits" ]; then
    echo "FAIL: /$re/ in $glob: use $name"
    echo "$hits" | sed 's/^/    /'
    echo x
  fi
done > "$out"
if grep -q '^x$' "$out"; then fail=1; fi
grep -v '^x$' "$out"
nrules=$(echo "$ENFORCED" | grep -c '@')
echo "$PENDING" | while IFS='@' read -r glob re name; do
  [ -n "$glob" ] || continue
  glob=$(echo "$glob" | sed "s/^ *//; s/ *$//") re=$(echo "$re" | sed "s/^ *//; s/ *$//") name=$(echo "$name" | sed "s/^ *//")
  hits=$(search "$glob" "$re")
  if [ -n "$hits" ]; then
    echo "pending: /$re/ in $glob ($name), $(echo "$hits" | wc -l) line(s):"
    echo "$hits" | sed 's/^/    /'
  else
    echo "NOTE: pending /$re/ in $glob matches nothing now: move it to ENFORCED in $0"
  fi
done
npending=$(echo "$PENDING" | grep -c '@')
echo "$nrules enforced rules ($([ $fail -eq 0 ] && echo 'no match' || echo 'matches above')), $npending pending"
exit $fail
