/*
 * bench/http/wrk_run.h: run wrk against a URL and read its requests per
 * second; shared by the lumen and prometheus-cpp scrape benchmarks so that
 * both are driven identically (wrk -t1 -c2, as bench-spec.md says).
 */
#ifndef LUMEN_BENCH_WRK_RUN_H
#define LUMEN_BENCH_WRK_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests per second, or -1 when wrk failed or saw non-2xx answers.
 * Socket errors are reported as a comment line but do not void the run:
 * prometheus-cpp's civetweb closes every connection after its answer
 * (no keep-alive), which wrk counts as read errors. */
static inline double bench_wrk(const char *url, int seconds)
{
    char cmd[512], line[512];
    snprintf(cmd, sizeof cmd, "wrk -t1 -c2 -d%ds %s 2>&1", seconds, url);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    double rps = -1;
    int errors = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        if (strncmp(line, "Requests/sec:", 13) == 0)
            rps = strtod(line + 13, NULL);
        if (strstr(line, "Socket errors") != NULL)
            printf("# wrk: %s", line);
        if (strstr(line, "Non-2xx") != NULL) {
            printf("# wrk: %s", line);
            errors = 1;
        }
    }
    if (pclose(p) != 0 || errors)
        return -1;
    return rps;
}

#endif
