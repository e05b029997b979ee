/*
 * log/raw.c: the async-signal-safe path for signal and crash handlers.
 * It formats one JSON line into a stack buffer with its own escaper and
 * its own UTC calendar arithmetic (gmtime_r takes glibc's time-zone lock,
 * which a signal may have interrupted), and writes it with write(2) only.
 * No lock, no allocation, no stdio, no thread-local state.
 */
#include "log/log_int.h"

#include <string.h>
#include <time.h>

#include "core/escape.h"

static void put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

size_t lumen__log_civil_ts(char *out, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* Days since 1970-01-01 to a proleptic Gregorian date (the
     * era/day-of-era method). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = 0;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, (int)(rem / 3600));
    out[13] = ':';
    put2(out + 14, (int)(rem / 60 % 60));
    out[16] = ':';
    put2(out + 17, (int)(rem % 60));
    out[19] = '.';
    int us = (int)(frac / 1000);
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
    return 27;
}

#define RAW_MSG_MAX 1024

void lumen_log_raw(int fd, lumen_log_level level, const char *msg)
{
    static const char HEX[] = "0123456789abcdef";
    /* Worst case: every input byte becomes a 6-byte \u00XX escape. */
    char line[RAW_MSG_MAX * 6 + 128];
    size_t o = 0;
#define PUT(s)                                \
    do {                                      \
        size_t l_ = strlen(s);                \
        memcpy(line + o, (s), l_);            \
        o += l_;                              \
    } while (0)
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    PUT("{\"ts\":\"");
    o += lumen__log_civil_ts(line + o, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    PUT("\",\"level\":\"");
    const char *ln = lumen_log_level_name(level);
    PUT(ln);
    PUT("\",\"logger\":\"raw\",\"msg\":\"");
    const unsigned char *u = (const unsigned char *)(msg != NULL ? msg : "");
    size_t n = strlen((const char *)u);
    bool cut = n > RAW_MSG_MAX;
    if (cut)
        n = RAW_MSG_MAX;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            line[o++] = '\\';
            line[o++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            line[o++] = '\\';
            line[o++] = 'u';
            line[o++] = '0';
            line[o++] = '0';
            line[o++] = HEX[c >> 4];
            line[o++] = HEX[c & 15];
            i++;
        } else if (c < 0x80) {
            line[o++] = (char)c;
            i++;
        } else {
            size_t l = lumen__utf8_seq(u + i, n - i);
            if (l == 0) {
                memcpy(line + o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
            } else {
                memcpy(line + o, u + i, l);
                o += l;
                i += l;
            }
        }
    }
    if (cut)
        PUT("...[truncated]");
    PUT("\"}\n");
#undef PUT
    /* Signal-safe: write(2), pthread_sigmask and sigtimedwait only. */
    lumen__log_write_all(fd >= 0 ? fd : 1, line, o, true);
}
