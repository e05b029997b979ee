/*
 * http/console_logs.c: the console's recent log lines and the log handler
 * that fills them (see console_store.h). The handler is a callback sink
 * with the JSON formatter and lumen's field names, so every kept line is
 * already one JSON object; the page reads its fields by those names. A
 * ring of LUMEN__CL_LINES lines, the oldest overwritten first.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/console.h"
#include "http/console_store.h"
#include "lumen/http_console.h"

typedef struct cl_line {
    int level;
    char trace_id[33]; /* "" when the line has none */
    size_t len;
    char *json;
} cl_line;

static struct {
    pthread_mutex_t mu;
    cl_line lines[LUMEN__CL_LINES];
    size_t next, count;
} g_cl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void find_trace_id(const char *line, size_t len, char out[33])
{
    static const char key[] = "\"trace_id\":\"";
    out[0] = '\0';
    const char *p = memmem(line, len, key, sizeof key - 1);
    if (p == NULL || (size_t)(line + len - p) < sizeof key - 1 + 32)
        return;
    memcpy(out, p + sizeof key - 1, 32);
    out[32] = '\0';
}

static void on_line(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)ud;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    char *copy = lumen__strndup(line, len);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&g_cl.mu);
    cl_line *l = &g_cl.lines[g_cl.next];
    lumen__free(l->json, 0);
    l->json = copy;
    l->len = len;
    l->level = (int)level;
    find_trace_id(copy, len, l->trace_id);
    g_cl.next = (g_cl.next + 1) % LUMEN__CL_LINES;
    if (g_cl.count < LUMEN__CL_LINES)
        g_cl.count++;
    pthread_mutex_unlock(&g_cl.mu);
}

int lumen_console_log_handler_new(lumen_log_handler **out, lumen_log_level min_level)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.level = min_level;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.preset = LUMEN_LOG_PRESET_LUMEN;
    o.sink = LUMEN_LOG_SINK_CALLBACK;
    o.callback = on_line;
    /* The console shows a line, not a megabyte: long values are cut. */
    o.max_value_bytes = 4096;
    return lumen_log_handler_new(out, &o);
}

int lumen__console_logs_json(void *ud, const char *arg, const char *query, lumen__buf *out)
{
    (void)ud;
    (void)arg;
    char v[64];
    lumen_log_level min = LUMEN_LOG_TRACE;
    if (lumen__query_param(query, "level", v, sizeof v, NULL) &&
        lumen_log_level_parse(&min, v) != LUMEN_OK) {
        lumen__buf_puts(out, "{\"error\":\"unknown level\"}");
        return 400;
    }
    char tid[64] = "";
    lumen__query_param(query, "trace_id", tid, sizeof tid, NULL);
    long limit = 500;
    if (lumen__query_param(query, "limit", v, sizeof v, NULL))
        limit = strtol(v, NULL, 10);
    if (limit <= 0 || limit > LUMEN__CL_LINES)
        limit = 500;
    /* Newest last, like a terminal: collect the newest `limit` matches
     * walking backwards, then write them in order. */
    size_t idx[LUMEN__CL_LINES];
    size_t n = 0;
    lumen__buf_puts(out, "{\"logs\":[");
    pthread_mutex_lock(&g_cl.mu);
    for (size_t k = 1; k <= g_cl.count && (long)n < limit; k++) {
        size_t i = (g_cl.next + LUMEN__CL_LINES - k) % LUMEN__CL_LINES;
        cl_line *l = &g_cl.lines[i];
        if (l->level < (int)min)
            continue;
        if (tid[0] && strncmp(l->trace_id, tid, strlen(tid)) != 0)
            continue;
        idx[n++] = i;
    }
    for (size_t k = n; k-- > 0;) {
        cl_line *l = &g_cl.lines[idx[k]];
        /* A line is JSON as the log formatter wrote it; the console's
         * answers also escape < > & (docs/console.md). */
        lumen__console_json_html_safe(out, l->json, l->len);
        if (k)
            lumen__buf_putc(out, ',');
    }
    pthread_mutex_unlock(&g_cl.mu);
    /* One trace's lines are worth gathering from the peer consoles too:
     * a request that crossed services logged in each of them. */
    char local[4];
    if (tid[0] && !lumen__query_param(query, "local", local, sizeof local, NULL)) {
        lumen__buf pq = LUMEN__BUF_INIT;
        lumen__buf_puts(&pq, "/api/logs?local=1&trace_id=");
        for (const char *p = tid; *p; p++)
            if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
                lumen__buf_putc(&pq, *p);
        lumen__buf_puts(&pq, "&level=");
        lumen__buf_puts(&pq, lumen_log_level_name(min));
        if (!pq.oom)
            lumen__console_peer_array(pq.p, "logs", n, out);
        lumen__buf_free(&pq);
    }
    lumen__buf_puts(out, "]}");
    return 200;
}
