/*
 * core/diag.c: the diagnostics hook, the standard-error default and the
 * per-call-site budgets (see diag.h).
 *
 * The hook and its argument are published together as one immutable
 * record swapped atomically, so a reader never sees one hook with
 * another's argument. Old records are never freed, because a thread may
 * still be calling through one; they stay reachable from g_records (there
 * are as many as calls to lumen_set_diag_hook, which a program makes a
 * handful of times).
 *
 * Also the reports of invalid settings (lumen__env_invalid): once per
 * name=value pair, through the same budgets and standard-error default.
 */
#include "core/diag.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/envvar.h"
#include "core/hash.h"
#include "core/sigpipe.h"

typedef struct hook_rec {
    lumen_diag_fn fn;
    void *ud;
    lumen_diag_level min;
    struct hook_rec *older;
} hook_rec;

static _Atomic(hook_rec *) g_records;
static _Atomic(hook_rec *) g_hook;

/* What standard error gets when no hook is installed (OTEL_LOG_LEVEL). */
enum { STDERR_UNREAD = -2, STDERR_NOTICES = -1, STDERR_NONE = 100 };
static atomic_int g_stderr_min = STDERR_UNREAD;

void lumen_set_diag_hook(lumen_diag_level min_level, lumen_diag_fn fn, void *ud)
{
    hook_rec *r = NULL;
    if (fn != NULL) {
        /* Plain malloc: this record must outlive any allocator swap. */
        r = malloc(sizeof *r);
        if (r == NULL)
            return;
        r->fn = fn;
        r->ud = ud;
        r->min = min_level;
        r->older = atomic_load_explicit(&g_records, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&g_records, &r->older, r,
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
    }
    atomic_store_explicit(&g_hook, r, memory_order_release);
}

/* OTEL_LOG_LEVEL, read once. Unset: notices only. */
static int stderr_min(void)
{
    int v = atomic_load_explicit(&g_stderr_min, memory_order_acquire);
    if (LUMEN_LIKELY(v != STDERR_UNREAD))
        return v;
    static const struct {
        const char *name;
        int min;
    } names[] = {
        {"none", STDERR_NONE},       {"off", STDERR_NONE},          {"error", LUMEN_DIAG_ERROR},
        {"warn", LUMEN_DIAG_WARN},   {"warning", LUMEN_DIAG_WARN},  {"info", LUMEN_DIAG_INFO},
        {"debug", LUMEN_DIAG_DEBUG}, {"verbose", LUMEN_DIAG_DEBUG}, {"all", LUMEN_DIAG_DEBUG}};
    const char *s = lumen__env("OTEL_LOG_LEVEL");
    bool bad = false;
    v = STDERR_NOTICES;
    if (s != NULL) {
        size_t n = strlen(s);
        const char *t = lumen__trim(s, &n);
        size_t i;
        for (i = 0; i < LUMEN_ARRAY_LEN(names); i++)
            if (lumen__strieq(t, n, names[i].name))
                break;
        if (i < LUMEN_ARRAY_LEN(names))
            v = names[i].min;
        else
            bad = true;
    }
    atomic_store_explicit(&g_stderr_min, v, memory_order_release);
    if (bad)
        lumen__env_invalid("OTEL_LOG_LEVEL", s,
                           "expected none, error, warn, info or debug; using the default "
                           "(invalid settings and data lost at shutdown only)");
    return v;
}

bool lumen__diag_enabled(lumen_diag_level level)
{
    hook_rec *r = atomic_load_explicit(&g_hook, memory_order_acquire);
    if (r != NULL)
        return level >= r->min;
    int m = stderr_min();
    return m >= 0 && m != STDERR_NONE && (int)level >= m;
}

/* A token bucket on one atomic per site: each message pushes the site's
 * "next free" time 200 ms further; a burst of 10 is allowed by letting it
 * lag up to 2 s behind now. */
static bool take_token(lumen__diag_site *site)
{
    int64_t now = lumen__mono_ns() / 1000000;
    int_fast64_t next = atomic_load_explicit(&site->next_ms, memory_order_relaxed);
    for (;;) {
        int64_t base = next < now - 2000 ? now - 2000 : next;
        if (base > now)
            return false;
        if (atomic_compare_exchange_weak_explicit(&site->next_ms, &next, base + 200,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
}

static const char *level_word(lumen_diag_level level)
{
    switch (level) {
    case LUMEN_DIAG_DEBUG:
        return "debug";
    case LUMEN_DIAG_INFO:
        return "info";
    case LUMEN_DIAG_WARN:
        return "warning";
    default:
        return "error";
    }
}

/* One line, one write(2), never a SIGPIPE (stderr may be a closed pipe). */
static void to_stderr(lumen_diag_level level, const char *msg)
{
    char line[700];
    int n = snprintf(line, sizeof line, "lumen: %s: %s\n", level_word(level), msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    line[len - 1] = '\n';
    int e = errno;
    struct iovec iov = {line, len};
    (void)lumen__write_guarded(STDERR_FILENO, &iov, 1);
    errno = e;
}

void lumen__diag_at(lumen__diag_site *site, unsigned flags, lumen_diag_level level, const char *fmt,
                    ...)
{
    hook_rec *r = atomic_load_explicit(&g_hook, memory_order_acquire);
    if (r != NULL) {
        if (level < r->min)
            return;
    } else {
        int m = stderr_min();
        if (m == STDERR_NONE || (m == STDERR_NOTICES && !(flags & LUMEN__DIAG_NOTICE)) ||
            (m >= 0 && (int)level < m))
            return;
    }
    if (!(flags & LUMEN__DIAG_UNLIMITED) && !take_token(site)) {
        atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
        return;
    }
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, 512, fmt, ap);
    va_end(ap);
    uint64_t skipped = atomic_exchange_explicit(&site->suppressed, 0, memory_order_relaxed);
    if (skipped > 0 && n >= 0) {
        size_t at = (size_t)n < 512 ? (size_t)n : 511;
        snprintf(msg + at, sizeof msg - at, " (%llu more from here suppressed)",
                 (unsigned long long)skipped);
    }
    if (r != NULL)
        r->fn(level, msg, r->ud);
    else
        to_stderr(level, msg);
}

/* ---- invalid settings ---------------------------------------------------- */

/* Reported name=value pairs, by hash. Settings are read a handful of times
 * (each provider, processor or handler created reads its own), so a small
 * table suffices; past it, reports fall back to a per-site budget. */
#define SEEN_MAX 128
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen[SEEN_MAX];
static size_t nseen;

/* true when name=value was not reported yet (and now counts as reported),
 * or when the table is full (*unlimited then says false). */
static bool first_time(const char *name, const char *value, bool *unlimited)
{
    size_t nl = strlen(name), vl = strlen(value);
    uint64_t h = lumen__hash(value, vl, lumen__hash(name, nl, 0x6c756d656eULL) ^ nl);
    bool fresh = true;
    *unlimited = true;
    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < nseen; i++)
        if (seen[i] == h)
            fresh = false;
    if (fresh) {
        if (nseen < SEEN_MAX)
            seen[nseen++] = h;
        else
            *unlimited = false;
    }
    pthread_mutex_unlock(&seen_mu);
    return fresh;
}

/* The value as the report shows it: printable ASCII as is, " and \
 * escaped, other bytes as \xHH, cut at 100 input bytes. */
static void show(char *out, size_t cap, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; v[i] != '\0' && i < 100 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (v[i] != '\0' && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void lumen__env_invalid(const char *name, const char *value, const char *fmt, ...)
{
    static lumen__diag_site site;
    bool unlimited;
    if (value == NULL)
        value = "";
    if (!first_time(name, value, &unlimited))
        return;
    char shown[512], why[256];
    show(shown, sizeof shown, value);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    lumen__diag_at(&site, LUMEN__DIAG_NOTICE | (unlimited ? LUMEN__DIAG_UNLIMITED : 0u),
                   LUMEN_DIAG_WARN, "invalid %s=\"%s\": %s", name, shown, why);
}
