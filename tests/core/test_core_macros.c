/*
 * test_core_macros: every public macro of every public header, expanded in
 * a program and checked at run time, as C (this file, C11) and as C++
 * (test_core_macros.cc includes this file, C++11). Each header's macros are
 * used in macros/<header>.inc, which the engineer changing the header keeps
 * up to date; test_core_macros_covered fails when a public macro appears in
 * none of them.
 *
 * macros_check.py compiles this file under gcc and clang, as C99 and C11
 * and as C++11, 14, 17 and 20, with -Wall -Wextra -Wpedantic: any warning
 * fails the test (docs/api.md: every public macro compiles warning-free
 * from C++11 on). It also compiles a few probes that must warn or fail
 * (a bad LUMEN_PRINTF format, a LUMEN_DEPRECATED call, 32 log fields).
 * Then it runs this program, built by CMake.
 *
 * LUMEN_MACROS_HTTP (0 or 1) says whether liblumen-http's headers are used
 * (the compile checks always use them; the program links liblumen-http
 * only when it is built).
 */
#include <lumen/lumen.h>
#include <lumen/sqlite.h>
#if LUMEN_MACROS_HTTP
#include <lumen/http.h>
#include <lumen/http_console.h>
#include <lumen/http_otlp.h>
#include <lumen/http_mhd.h>
#ifndef LUMEN_MACROS_NO_CURL /* a compiler without <curl/curl.h>: macros_check.py */
#include <lumen/http_curl.h>
#endif
#endif

#include "macros/check.h"

#include "macros/common.inc"
#include "macros/version.inc"
#include "macros/metrics.inc"
#include "macros/prefork.inc"
#include "macros/log.inc"
#include "macros/trace.inc"
#include "macros/limits.inc"
#include "macros/crash.inc"
#include "macros/sqlite.inc"
#include "macros/instrument.inc"
#if LUMEN_MACROS_HTTP
#include "macros/http.inc"
#include "macros/http_console.inc"
#include "macros/http_otlp.inc"
#include "macros/http_mhd.inc"
#ifndef LUMEN_MACROS_NO_CURL
#include "macros/http_curl.inc"
#endif
#endif

int main(void)
{
    macros_common();
    macros_version();
    macros_metrics();
    macros_prefork();
    macros_log();
    macros_trace();
    macros_limits();
    macros_crash();
    macros_instrument();
#if LUMEN_MACROS_HTTP
    macros_http();
    macros_http_console();
    macros_http_otlp();
    macros_http_mhd();
#ifndef LUMEN_MACROS_NO_CURL
    macros_http_curl();
#endif
#endif
    if (macros_failures != 0) {
        fprintf(stderr, "%d of %d checks failed\n", macros_failures, macros_checks);
        return 1;
    }
    printf("%d checks passed (%s)\n", macros_checks,
#ifdef __cplusplus
           "C++"
#else
           "C"
#endif
    );
    return 0;
}
