/*
 * log/log_int.h: the log layer's internal types, shared by its files.
 *
 * Invariants:
 * - Named loggers, handlers, sinks and handler sets are never freed before
 *   lumen_log_shutdown()'s final teardown (there is none: they live for the
 *   process), so the hot path reads them without reference counts. A
 *   replaced handler set goes to a graveyard list instead of being freed.
 * - Configuration changes (levels, handlers) happen under lumen__log_cfg_mu
 *   and end with lumen__log_recompute(), which rewrites every logger's
 *   effective level, handler set and head.min_level.
 * - Lock order: cfg_mu -> thread buffer mutex -> sink write mutex.
 */
#ifndef LUMEN_LOG_INT_H
#define LUMEN_LOG_INT_H

#include "core/common.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/tctx.h"
#include "lumen/log.h"

#define LUMEN__LOG_NAME_MAX 255
/* Bytes after a logger's name_json that may be read (zeros), so that the
 * JSON formatter copies the name in fixed 16-byte moves. */
#define LUMEN__LOG_NAME_PAD 16
/* A batch never exceeds PIPE_BUF when it holds more than one line, so a
 * batch written into a pipe shared with other processes stays atomic. */
#define LUMEN__LOG_BATCH 4096

typedef struct lumen__log_sink {
    int kind; /* lumen_log_sink */
    _Atomic int fd;
    bool owns_fd;
    bool is_pipe; /* FIFO or socket: SIGPIPE is possible */
    bool is_tty;
    bool broken_reported;
    char *path;
    lumen_log_line_fn cb;
    void *cb_ud;
    pthread_mutex_t write_mu;          /* one writer at a time: no in-process interleaving */
    struct lumen__log_sink *next_file; /* list of file sinks, for reopen */
} lumen__log_sink;

typedef struct lumen__log_async lumen__log_async;

struct lumen_log_handler {
    int level;
    int format; /* resolved: JSON, LOGFMT or TEXT */
    int preset;
    unsigned flags;
    bool color;
    bool batch;           /* sync: batch lines per thread */
    bool format_in_batch; /* batch and sync: lines are formatted into the batch */
    int64_t flush_interval_ns;
    size_t max_value;
    lumen__log_sink *sink;
    lumen__log_async *async; /* NULL in sync mode */
    /* JSON fragments built once from the preset (format.c), padded so that
     * the formatter copies them with fixed-size moves. */
    char frag_head[32];     /* {"ts":" */
    char frag_level[6][64]; /* ","level":"info"  (+ severity number) */
    char frag_logger[32];   /* ,"logger": */
    char frag_msg[32];      /* ,"msg": */
    uint8_t frag_head_len, frag_level_len[6], frag_logger_len, frag_msg_len;
    struct lumen_log_handler *next_all;
};

typedef struct lumen__log_hset {
    size_t n;
    struct lumen__log_hset *next_dead;
    lumen_log_handler *h[];
} lumen__log_hset;

/* Bound fields, copied into one allocation. */
typedef struct lumen__log_bound {
    size_t n;
    lumen_field *f;
    size_t bytes; /* allocation size */
} lumen__log_bound;

struct lumen_logger {
    lumen__log_gate head; /* must stay first: read by the macros */
    char *name;
    size_t name_len;
    char *name_json; /* the name as a JSON string with quotes, then
                        LUMEN__LOG_NAME_PAD readable bytes */
    size_t name_json_len;
    struct lumen_logger *parent; /* named parent, or for a child the logger it came from */
    bool is_child;               /* made by lumen_logger_with */
    int own_level;               /* LUMEN_LOG_INHERIT or a level */
    lumen__log_hset *own;        /* own handlers, NULL: inherit */
    _Atomic int eff_level;
    _Atomic(lumen__log_hset *) eff; /* effective handlers */
    lumen__log_bound bound;         /* child loggers: their own fields */
    struct lumen_logger *next_all;
    struct lumen_logger *prev_all;
};

/* A record on its way to the formatters. */
typedef struct lumen__log_rec {
    int level;
    int64_t ts_ns;
    const lumen_logger *lg;
    const lumen_log_src *src;
    const char *msg;
    size_t msg_len;
    const lumen_field *f;
    size_t n;
    uint64_t suppressed;
    const lumen__tctx *ctx;
} lumen__log_rec;

/* logger.c */
extern pthread_mutex_t lumen__log_cfg_mu;
void lumen__log_init(void); /* once; cheap after the first call */
extern _Atomic int lumen__log_inited;
static inline void lumen__log_ensure_init(void)
{
    if (LUMEN_UNLIKELY(!atomic_load_explicit(&lumen__log_inited, memory_order_acquire)))
        lumen__log_init();
}
void lumen__log_recompute(void); /* under cfg_mu */
lumen_log_handler *lumen__log_handlers_all(void);
extern _Atomic int lumen__log_shut; /* after lumen_log_shutdown */

/* format.c */
void lumen__log_format(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);
/* The JSON formatter itself (format_json.c), for callers that know. */
void lumen__log_format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);
void lumen__log_frags(lumen_log_handler *h);
const char *lumen__log_level_upper(int level);

/* sink.c */
int lumen__log_sink_open(lumen__log_sink **out, const lumen_log_handler_options *o);
/* Write all of p[0..n) with one write(2) where the kernel allows, retrying
 * short writes and EINTR, never raising SIGPIPE. Takes the sink's write
 * lock. Returns false when the bytes could not be written. */
bool lumen__log_sink_write(lumen__log_sink *s, const char *p, size_t n);
/* The same without the lock, for the signal-safe paths. */
bool lumen__log_write_all(int fd, const char *p, size_t n, bool is_pipe);
int lumen__log_sinks_reopen(void);
extern _Atomic int lumen__log_reopen_pending;
void lumen__log_sink_atfork_child(void);

/* batch.c: per-thread batches for sync handlers */
void lumen__log_batch_add(lumen_log_handler *h, int level, const char *line, size_t n);
/* Format the record straight into the thread's batch; false (nothing
 * changed) when it does not fit, and the caller takes the scratch path. */
bool lumen__log_batch_format(lumen_log_handler *h, const lumen__log_rec *r);
void lumen__log_batch_flush_all(void);
void lumen__log_batch_stop(int64_t deadline_ns);
void lumen__log_batch_atfork_prepare(void);
void lumen__log_batch_atfork_parent(void);
void lumen__log_batch_atfork_child(void);
lumen__buf *lumen__log_scratch(void);

/* async.c */
int lumen__log_async_new(lumen__log_async **out, lumen_log_handler *h,
                         const lumen_log_handler_options *o);
/* Make a new queue visible to flush, shutdown and fork (after the
 * handler is complete); a queue never published can be freed. */
void lumen__log_async_publish(lumen__log_async *q);
void lumen__log_async_free(lumen__log_async *q);
void lumen__log_async_put(lumen__log_async *q, int level, const char *line, size_t n);
/* Wait until every queue is empty or the deadline (monotonic ns) passes;
 * true when all are empty. */
bool lumen__log_async_drain(int64_t deadline_ns);
void lumen__log_async_stop(int64_t deadline_ns);
void lumen__log_async_atfork_prepare(void);
void lumen__log_async_atfork_parent(void);
void lumen__log_async_atfork_child(void);

/* emit.c */
void lumen__log_deliver(lumen_log_handler *h, int level, const char *line, size_t n);
void lumen__log_count_drop(uint64_t n);

/* metrics.c: glue to the default registry */
void lumen__log_metrics_event(int level);
void lumen__log_metrics_dropped(uint64_t n);

/* raw.c */

#endif
