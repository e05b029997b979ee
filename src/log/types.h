/*
 * log/types.h: the structures the log layer's files share (sink, handler,
 * handler set, logger, record) and the two sizes they are built around.
 * Definitions only: each file's functions are declared in its own header.
 *
 * Invariants:
 * - Named loggers, handlers, sinks and handler sets are never freed (they
 *   live for the process), so the hot path reads them without reference
 *   counts. A replaced handler set goes to a graveyard list instead of
 *   being freed.
 * - Configuration changes (levels, handlers) happen under logger.c's
 *   configuration mutex and end with a recompute, which rewrites every
 *   logger's effective level, handler set and head.min_level.
 * - Lock order: configuration mutex -> thread batch lock -> sink write mutex.
 */
#ifndef LUMEN_LOG_TYPES_H
#define LUMEN_LOG_TYPES_H

#include "core/common.h"

#include <pthread.h>

#include "core/buf.h"
#include "core/tctx.h"
#include "lumen/log.h"

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
    pthread_mutex_t write_mu;     /* one writer at a time: no in-process interleaving */
    struct lumen__log_sink *next; /* sink.c's list of every sink, for reopen and fork */
} lumen__log_sink;

typedef struct lumen__log_async lumen__log_async;
typedef struct lumen__log_otel lumen__log_otel;

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
    /* JSON fragments built once from the preset (format_json.c), padded so
     * that the formatter copies them with fixed-size moves. */
    char frag_head[32];     /* {"ts":" */
    char frag_level[6][64]; /* ","level":"info"  (+ severity number) */
    char frag_logger[32];   /* ,"logger": */
    char frag_msg[32];      /* ,"msg": */
    char frag_trace[32];    /* ,"trace_id":" */
    char frag_span[32];     /* ","span_id":" */
    char frag_flags[32];    /* ","trace_flags":"  (empty when the preset has none) */
    char frag_rid[32];      /* ,"request_id": */
    uint8_t frag_head_len, frag_level_len[6], frag_logger_len, frag_msg_len;
    uint8_t frag_trace_len, frag_span_len, frag_flags_len, frag_rid_len;
    struct lumen_log_handler *next_all; /* handler.c's list of every handler */
    lumen__log_otel *otel;              /* a batch handler of records (otel_batch.c), else NULL */
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

#endif
