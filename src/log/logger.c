/*
 * log/logger.c: the logger tree (named loggers, child loggers with bound
 * fields), level and handler inheritance, level specs (LUMEN_LOG_LEVEL),
 * and the layer's one-time initialisation (default stdout handler, fork
 * and exit hooks).
 *
 * Invariants: every logger is on the `all` list in an order where a
 * parent comes before its descendants (ancestors are created first and
 * appended), so one pass recomputes inherited values. Named loggers are
 * never freed; child loggers are unlinked and freed by lumen_logger_free.
 * head.min_level is the smallest level any effective handler takes, or
 * LUMEN_LOG_OFF when there is none, and is written only under cfg_mu.
 */
#include "log/logger.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/escape.h"
#include "core/clock.h"
#include "log/async.h"
#include "log/batch.h"
#include "log/level.h"
#include "log/otel.h"
#include "log/sink.h"
#include "log/state.h"
#include "log/types.h"

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char root_name[1] = "";
static char root_json[2 + LUMEN__LOG_NAME_PAD] = "\"\"";
static struct lumen_logger root = {
    .head = {LUMEN_LOG_OFF},
    .name = root_name,
    .name_json = root_json,
    .name_json_len = 2,
    .own_level = LUMEN_LOG_INFO,
};
static lumen_logger *all_head = &root;
static lumen_logger *all_tail = &root;
static lumen__log_hset *dead_sets;

/* The macros read a logger's gate word at offset 0 (lumen/log.h): child
 * loggers are the same struct. */
_Static_assert(offsetof(struct lumen_logger, head) == 0, "the gate word is first");

static bool valid_level(int l)
{
    return l == LUMEN_LOG_TRACE || l == LUMEN_LOG_DEBUG || l == LUMEN_LOG_INFO ||
           l == LUMEN_LOG_WARN || l == LUMEN_LOG_ERROR || l == LUMEN_LOG_FATAL ||
           l == LUMEN_LOG_OFF;
}

/* ---- recompute ----------------------------------------------------------- */

/* Every logger's effective level, handler set and head.min_level, parents
 * first; under cfg_mu. */
static void recompute(void)
{
    for (lumen_logger *lg = all_head; lg != NULL; lg = lg->next_all) {
        int lvl;
        lumen__log_hset *set;
        if (lg == &root) {
            lvl = root.own_level;
            set = root.own;
        } else {
            lvl = lg->own_level != LUMEN_LOG_INHERIT
                      ? lg->own_level
                      : atomic_load_explicit(&lg->parent->eff_level, memory_order_relaxed);
            set = lg->own != NULL ? lg->own
                                  : atomic_load_explicit(&lg->parent->eff, memory_order_relaxed);
        }
        int min = LUMEN_LOG_OFF;
        for (size_t i = 0; set != NULL && i < set->n; i++) {
            int hl = set->h[i]->level > lvl ? set->h[i]->level : lvl;
            if (hl < min)
                min = hl;
        }
        atomic_store_explicit(&lg->eff_level, lvl, memory_order_relaxed);
        atomic_store_explicit(&lg->eff, set, memory_order_release);
        __atomic_store_n(&lg->head.min_level, min, __ATOMIC_RELAXED);
    }
}

/* ---- the tree ------------------------------------------------------------- */

static void link_logger(lumen_logger *lg)
{
    lg->prev_all = all_tail;
    lg->next_all = NULL;
    all_tail->next_all = lg;
    all_tail = lg;
}

/* Find or create the named logger; under cfg_mu. */
static lumen_logger *get_locked(const char *name, size_t n)
{
    if (n == 0)
        return &root;
    for (lumen_logger *lg = root.next_all; lg != NULL; lg = lg->next_all) {
        if (!lg->is_child && lg->name_len == n && memcmp(lg->name, name, n) == 0)
            return lg;
    }
    /* The parent is the name up to the last '.', created first so that it
     * precedes this logger on the list. */
    size_t cut = n;
    while (cut > 0 && name[cut - 1] != '.')
        cut--;
    lumen_logger *parent = cut > 0 ? get_locked(name, cut - 1) : &root;
    if (parent == NULL)
        return NULL;
    lumen_logger *lg = lumen__calloc(1, sizeof *lg);
    if (lg == NULL)
        return NULL;
    lg->name = lumen__strndup(name, n);
    if (lg->name == NULL) {
        lumen__free(lg, sizeof *lg);
        return NULL;
    }
    lg->name_len = n;
    lumen__buf j = LUMEN__BUF_INIT;
    lumen__json_str(&j, name, n);
    /* Zeroed padding after the text: the JSON formatter copies the name
     * in 16-byte moves. */
    if (lumen__buf_reserve(&j, LUMEN__LOG_NAME_PAD))
        memset(j.p + j.len, 0, LUMEN__LOG_NAME_PAD + 1);
    if (j.oom) {
        lumen__buf_free(&j);
        lumen__free(lg->name, n + 1);
        lumen__free(lg, sizeof *lg);
        return NULL;
    }
    lg->name_json = lumen__buf_steal(&j, &lg->name_json_len);
    lg->parent = parent;
    lg->own_level = LUMEN_LOG_INHERIT;
    lg->head.min_level = LUMEN_LOG_OFF;
    link_logger(lg);
    return lg;
}

lumen_logger *lumen_logger_get(const char *name)
{
    lumen__log_ensure_init();
    size_t n = name != NULL ? strlen(name) : 0;
    if (n > LUMEN_LOG_NAME_MAX) {
        lumen__diag(LUMEN_DIAG_WARN, "log: logger name longer than %d bytes; using the root",
                    LUMEN_LOG_NAME_MAX);
        return &root;
    }
    pthread_mutex_lock(&cfg_mu);
    lumen_logger *lg = get_locked(name, n);
    if (lg != NULL)
        recompute();
    pthread_mutex_unlock(&cfg_mu);
    if (lg == NULL) {
        lumen__diag(LUMEN_DIAG_WARN, "log: out of memory creating a logger; using the root");
        return &root;
    }
    return lg;
}

const char *lumen_logger_name(const lumen_logger *lg)
{
    return lg != NULL ? lg->name : "";
}

/* Copy fields and their strings into one block. */
static int copy_fields(lumen__log_bound *dst, const lumen__log_bound *inherited,
                       const lumen_field *f, size_t n)
{
    size_t total = inherited->n + n;
    size_t bytes = total * sizeof(lumen_field);
    for (size_t i = 0; i < n; i++) {
        bytes += (f[i].key ? strlen(f[i].key) : 0) + 1;
        if (f[i].type == LUMEN_FIELD_STR || f[i].type == LUMEN_FIELD_BYTES)
            bytes += f[i].len + 1;
    }
    for (size_t i = 0; i < inherited->n; i++) {
        bytes += strlen(inherited->f[i].key) + 1;
        if (inherited->f[i].type == LUMEN_FIELD_STR || inherited->f[i].type == LUMEN_FIELD_BYTES)
            bytes += inherited->f[i].len + 1;
    }
    char *mem = lumen__malloc(bytes);
    if (mem == NULL)
        return LUMEN_ENOMEM;
    lumen_field *out = (lumen_field *)(void *)mem;
    char *s = mem + total * sizeof(lumen_field);
    for (size_t i = 0; i < total; i++) {
        const lumen_field *src = i < inherited->n ? &inherited->f[i] : &f[i - inherited->n];
        out[i] = *src;
        size_t kl = src->key ? strlen(src->key) : 0;
        if (kl > 0)
            memcpy(s, src->key, kl);
        s[kl] = '\0';
        out[i].key = s;
        s += kl + 1;
        if (src->type == LUMEN_FIELD_STR || src->type == LUMEN_FIELD_BYTES) {
            if (src->len > 0)
                memcpy(s, src->v.p, src->len);
            s[src->len] = '\0';
            out[i].v.p = s;
            s += src->len + 1;
        }
    }
    dst->n = total;
    dst->f = out;
    dst->bytes = bytes;
    return LUMEN_OK;
}

int lumen_logger_with(lumen_logger **out, lumen_logger *parent, const lumen_field *fields, size_t n)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (parent == NULL || (fields == NULL && n > 0))
        return LUMEN_EINVAL;
    lumen__log_ensure_init();
    lumen_logger *lg = lumen__calloc(1, sizeof *lg);
    if (lg == NULL)
        return LUMEN_ENOMEM;
    /* A child of a child carries both sets of fields; the name is the
     * named ancestor's (borrowed, since named loggers are never freed). */
    if (copy_fields(&lg->bound, &parent->bound, fields, n) != LUMEN_OK) {
        lumen__free(lg, sizeof *lg);
        return LUMEN_ENOMEM;
    }
    lg->name = parent->name;
    lg->name_len = parent->name_len;
    lg->name_json = parent->name_json;
    lg->name_json_len = parent->name_json_len;
    lg->parent = parent;
    lg->is_child = true;
    lg->own_level = LUMEN_LOG_INHERIT;
    lg->head.min_level = LUMEN_LOG_OFF;
    pthread_mutex_lock(&cfg_mu);
    link_logger(lg);
    recompute();
    pthread_mutex_unlock(&cfg_mu);
    *out = lg;
    return LUMEN_OK;
}

void lumen_logger_free(lumen_logger *lg)
{
    if (lg == NULL || !lg->is_child)
        return;
    pthread_mutex_lock(&cfg_mu);
    /* A child of this child would lose its parent: reparent it. */
    for (lumen_logger *o = all_head; o != NULL; o = o->next_all)
        if (o->parent == lg)
            o->parent = lg->parent;
    lg->prev_all->next_all = lg->next_all;
    if (lg->next_all != NULL)
        lg->next_all->prev_all = lg->prev_all;
    else
        all_tail = lg->prev_all;
    pthread_mutex_unlock(&cfg_mu);
    lumen__free(lg->bound.f, lg->bound.bytes);
    lumen__free(lg, sizeof *lg);
}

int lumen_logger_set_level(lumen_logger *lg, lumen_log_level level)
{
    if (lg == NULL || (level != LUMEN_LOG_INHERIT && !valid_level((int)level)))
        return LUMEN_EINVAL;
    lumen__log_ensure_init();
    if (lg->is_child)
        return LUMEN_EINVAL;
    pthread_mutex_lock(&cfg_mu);
    lg->own_level = (lg == &root && level == LUMEN_LOG_INHERIT) ? LUMEN_LOG_INFO : (int)level;
    recompute();
    pthread_mutex_unlock(&cfg_mu);
    return LUMEN_OK;
}

lumen_log_level lumen_logger_level(const lumen_logger *lg)
{
    if (lg == NULL)
        return LUMEN_LOG_OFF;
    lumen__log_ensure_init();
    return (lumen_log_level)atomic_load_explicit(&lg->eff_level, memory_order_relaxed);
}

int lumen_logger_set_handlers(lumen_logger *lg, lumen_log_handler *const *handlers, size_t n)
{
    if (lg == NULL || lg->is_child || (handlers == NULL && n > 0))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (handlers[i] == NULL)
            return LUMEN_EINVAL;
    lumen__log_ensure_init();
    lumen__log_hset *set = NULL;
    if (n > 0 || lg == &root) {
        set = lumen__malloc(sizeof *set + n * sizeof(lumen_log_handler *));
        if (set == NULL)
            return LUMEN_ENOMEM;
        set->n = n;
        set->next_dead = NULL;
        for (size_t i = 0; i < n; i++)
            set->h[i] = handlers[i];
    }
    pthread_mutex_lock(&cfg_mu);
    lumen__log_hset *old = lg->own;
    lg->own = set;
    recompute();
    /* Another thread may still be walking the old set: keep it. */
    if (old != NULL) {
        old->next_dead = dead_sets;
        dead_sets = old;
    }
    pthread_mutex_unlock(&cfg_mu);
    return LUMEN_OK;
}

int lumen_logger_add_handler(lumen_logger *lg, lumen_log_handler *h)
{
    if (lg == NULL || lg->is_child || h == NULL)
        return LUMEN_EINVAL;
    lumen__log_ensure_init();
    pthread_mutex_lock(&cfg_mu);
    /* The handlers it has now, its own or inherited, plus h. */
    lumen__log_hset *cur = atomic_load_explicit(&lg->eff, memory_order_relaxed);
    size_t n = cur != NULL ? cur->n : 0;
    lumen__log_hset *set = lumen__malloc(sizeof *set + (n + 1) * sizeof(lumen_log_handler *));
    if (set == NULL) {
        pthread_mutex_unlock(&cfg_mu);
        return LUMEN_ENOMEM;
    }
    set->n = 0;
    set->next_dead = NULL;
    for (size_t i = 0; i < n; i++)
        if (cur->h[i] != h)
            set->h[set->n++] = cur->h[i];
    set->h[set->n++] = h;
    lumen__log_hset *old = lg->own;
    lg->own = set;
    recompute();
    if (old != NULL) {
        old->next_dead = dead_sets;
        dead_sets = old;
    }
    pthread_mutex_unlock(&cfg_mu);
    return LUMEN_OK;
}

/* ---- level specs ------------------------------------------------------------ */

int lumen_log_set_levels(const char *spec)
{
    if (spec == NULL)
        return LUMEN_EINVAL;
    lumen__log_ensure_init();
    /* Two passes: check everything, then apply, so a bad spec changes
     * nothing. Entries are bounded by the name limit; nothing is copied
     * into fixed buffers. */
    for (int apply = 0; apply < 2; apply++) {
        const char *p = spec;
        while (*p != '\0') {
            const char *end = strchr(p, ',');
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
            size_t tl = len;
            const char *t = lumen__trim(p, &tl);
            if (tl > 0) {
                const char *eq = memchr(t, '=', tl);
                const char *name = t, *lv = t;
                size_t nl = 0, ll = tl;
                if (eq != NULL) {
                    nl = (size_t)(eq - t);
                    name = lumen__trim(t, &nl);
                    ll = tl - (size_t)(eq + 1 - t);
                    lv = lumen__trim(eq + 1, &ll);
                }
                int level;
                if (!lumen__log_level_parse_n(lv, ll, &level) || nl > LUMEN_LOG_NAME_MAX ||
                    (eq != NULL && nl == 0))
                    return LUMEN_ECONFIG;
                if (apply) {
                    pthread_mutex_lock(&cfg_mu);
                    lumen_logger *lg = get_locked(name, nl);
                    if (lg != NULL)
                        lg->own_level = level;
                    recompute();
                    pthread_mutex_unlock(&cfg_mu);
                    if (lg == NULL)
                        return LUMEN_ENOMEM;
                }
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }
    return LUMEN_OK;
}

/* ---- initialisation ---------------------------------------------------------- */

/* How long the exit hook waits for the asynchronous queues (docs/logging.md:
 * "At exit the queues are drained for at most 2 s"). */
#define EXIT_DRAIN_NS 2000000000LL

static void at_exit(void)
{
    lumen__log_batch_flush_all();
    /* After lumen_log_shutdown the queues are stopped (a writer may be
     * stuck on a full pipe): do not wait for them again. */
    if (atomic_load(&lumen__log_shut))
        return;
    lumen__log_async_drain(lumen__mono_ns() + EXIT_DRAIN_NS);
    lumen__log_batch_flush_all();
    lumen__log_otel_flush_all(lumen__mono_ns() + EXIT_DRAIN_NS);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&cfg_mu);
    lumen__log_async_atfork_prepare();
    lumen__log_batch_atfork_prepare();
}

static void fork_parent(void)
{
    lumen__log_batch_atfork_parent();
    lumen__log_async_atfork_parent();
    pthread_mutex_unlock(&cfg_mu);
}

static void fork_child(void)
{
    lumen__log_batch_atfork_child();
    lumen__log_async_atfork_child();
    lumen__log_sink_atfork_child();
    pthread_mutex_init(&cfg_mu, NULL);
}

static void init(void)
{
    /* The root's default handler: stdout, format from LUMEN_LOG_FORMAT or
     * the terminal test. Without memory the root stays handler-less
     * (silent) rather than crashing. */
    lumen_log_handler *h = NULL;
    if (lumen_log_handler_new(&h, NULL) == LUMEN_OK) {
        lumen__log_hset *set = lumen__malloc(sizeof *set + sizeof(lumen_log_handler *));
        if (set != NULL) {
            set->n = 1;
            set->next_dead = NULL;
            set->h[0] = h;
            root.own = set;
        }
    }
    const char *lv = lumen__env("LUMEN_LOG_LEVEL");
    pthread_mutex_lock(&cfg_mu);
    recompute();
    pthread_mutex_unlock(&cfg_mu);
    atomic_store_explicit(&lumen__log_inited, 1, memory_order_release);
    if (lv != NULL && lumen_log_set_levels(lv) != LUMEN_OK)
        lumen__env_invalid("LUMEN_LOG_LEVEL", lv,
                           "expected LEVEL or LEVEL,logger=LEVEL,... with trace, debug, info, "
                           "warn, error, fatal or off; using info");
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(at_exit);
}

void lumen__log_init(void)
{
    pthread_once(&init_once, init);
}
