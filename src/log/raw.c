/*
 * log/raw.c: the async-signal-safe path for signal and crash handlers.
 * It formats one JSON line into a stack buffer with its own escaper and
 * core's lock-free calendar arithmetic (lumen__rfc3339_us_safe), and
 * writes it with write(2) only, inside core's SIGPIPE guard.
 * No lock, no allocation, no stdio; the only thread-local state is the
 * guard's own flag (initial-exec TLS, safe in a handler), which is what
 * lets a handler's write nest inside the interrupted thread's write.
 */
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/escape.h"
#include "core/utf8.h"
#include "log/level.h"
#include "log/raw.h"
#include "log/sink.h"
#include "lumen/log.h"

#define RAW_MSG_MAX LUMEN_LOG_RAW_MAX

size_t lumen__raw_json_escape(char *line, const unsigned char *u, size_t n)
{
    static const char HEX[] = "0123456789abcdef";
    size_t o = 0;
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
                memcpy(line + o, LUMEN__UTF8_REPLACEMENT, 3);
                o += 3;
                i++;
            } else if (l == 3 && c == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] | 1) == 0xA9) {
                /* U+2028, U+2029: escaped as the other formatters do. */
                memcpy(line + o, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                o += 6;
                i += 3;
            } else {
                memcpy(line + o, u + i, l);
                o += l;
                i += l;
            }
        }
    }
    return o;
}

void lumen_log_raw(int fd, lumen_log_level level, const char *msg)
{
    /* Worst case: every input byte becomes a 6-byte \u00XX escape. */
    char line[RAW_MSG_MAX * 6 + 128];
    size_t o = 0;
#define PUT(s)                                                                                     \
    do {                                                                                           \
        size_t l_ = strlen(s);                                                                     \
        memcpy(line + o, (s), l_);                                                                 \
        o += l_;                                                                                   \
    } while (0)
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    PUT("{\"ts\":\"");
    o += lumen__rfc3339_us_safe(line + o, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    PUT("\",\"level\":\"");
    const char *ln = lumen_log_level_name(level);
    PUT(ln);
    PUT("\",\"logger\":\"raw\",\"msg\":\"");
    const unsigned char *u = (const unsigned char *)(msg != NULL ? msg : "");
    size_t n = strlen((const char *)u);
    bool cut = n > RAW_MSG_MAX;
    if (cut)
        n = RAW_MSG_MAX;
    o += lumen__raw_json_escape(line + o, u, n);
    if (cut)
        PUT("...[truncated]");
    PUT("\"}\n");
#undef PUT
    /* Signal-safe: write(2), pthread_sigmask, sigpending and sigtimedwait only. */
    lumen__log_write_all(fd >= 0 ? fd : 1, line, o, true);
}
