/*
 * trace/tracestate.h: W3C tracestate lists (tracestate.c): parsing one or
 * several header lines into a normalised list, cut to LUMEN_TRACESTATE_MAX.
 * Shared by the span context's setter, traceparent parsing, extraction
 * and injection (and the fuzz target).
 */
#ifndef LUMEN_TRACE_TRACESTATE_H
#define LUMEN_TRACE_TRACESTATE_H

#include "core/common.h"
#include "lumen/trace.h"

/* W3C tracestate: members in a list, characters in a key and in a value. */
#define LUMEN__TRACESTATE_MEMBERS 32
#define LUMEN__TRACESTATE_KEY_MAX 256
#define LUMEN__TRACESTATE_VALUE_MAX 256

/* A list being parsed, one header line at a time. Members are kept as
 * offsets into `base`: the parsed string itself, or (when lines arrive
 * through a carrier, whose values live only during the callback) a copy
 * of the normalized members, on the stack and, for lists longer than
 * LUMEN__TS_LOCAL, on the heap. A valid list never needs more than
 * LUMEN__TS_STORE. */
#define LUMEN__TS_LOCAL 1024
#define LUMEN__TS_STORE                                                                            \
    (LUMEN__TRACESTATE_MEMBERS * (LUMEN__TRACESTATE_KEY_MAX + 1 + LUMEN__TRACESTATE_VALUE_MAX))

typedef struct lumen__ts_member {
    uint32_t off;
    uint16_t len, keylen;
} lumen__ts_member;

typedef struct lumen__ts_list {
    lumen__ts_member m[LUMEN__TRACESTATE_MEMBERS];
    unsigned nm;   /* kept (a duplicated key keeps its first member) */
    unsigned seen; /* non-empty members, duplicates included */
    bool invalid;
    bool copy;
    const char *base;
    char *heap;
    size_t slen, scap;
    char local[LUMEN__TS_LOCAL];
} lumen__ts_list;

/* Begin a list: `base` is the one line to be parsed in place, or NULL
 * when lines will arrive separately (they are then copied). */
void lumen__ts_init(lumen__ts_list *l, const char *base);
/* One header line's members (OWS trimmed, empty members skipped). */
void lumen__ts_add(lumen__ts_list *l, const char *s, size_t n);
/* The kept list into out[LUMEN_TRACESTATE_MAX+1], cut by whole members to
 * LUMEN_TRACESTATE_MAX. Returns the length, or -1 when the list was
 * invalid. Counts what it discards and cuts (selfmetrics.h). */
int lumen__ts_finish(lumen__ts_list *l, char *out);
void lumen__ts_free(lumen__ts_list *l);

/* Parse a combined tracestate value (lines already joined by ',') into
 * out[LUMEN_TRACESTATE_MAX+1], normalised (OWS and empty members removed,
 * a duplicated key's later members dropped) and cut by whole members to
 * LUMEN_TRACESTATE_MAX. Returns the length, or -1 when the list is invalid
 * (then the whole tracestate is discarded). Any length of input. */
int lumen__tracestate_parse(const char *s, size_t n, char *out);

#endif
