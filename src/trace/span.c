/*
 * trace/span.c: starting, recording and ending spans.
 *
 * The cost model: an unsampled span takes a record from the thread's pool,
 * draws its ids and keeps only its context (no clock read, no name copy);
 * its setters return at the first test. A sampled span also reads the
 * clock, copies its name and attributes into its arena and on end passes
 * its reference to the processors. Nothing here locks. The current span of
 * each thread (the implicit parent) is kept by current.c.
 */
#include <string.h>

#include "core/clock.h"
#include "core/diag.h"
#include "core/fastclock.h"
#include "core/rand.h"
#include "core/versioned.h"
#include "trace/attr.h"
#include "trace/current.h"
#include "trace/ids.h"
#include "trace/pool.h"
#include "trace/provider.h"
#include "trace/sampler.h"
#include "trace/selfmetrics.h"
#include "trace/span_context.h"

/* The parent as the sampler and the new span need it. */
typedef struct parent_ref {
    const uint8_t *trace_id, *span_id;
    const char *trace_state;
    size_t trace_state_len;
    uint8_t flags;
    bool remote;
} parent_ref;

static bool find_parent(const lumen_span_options *o, parent_ref *p)
{
    const lumen_span *ps = NULL;
    if (o == NULL) {
        ps = lumen__tls_current;
    } else if (o->parent != NULL) {
        ps = o->parent;
    } else if (o->parent_context != NULL) {
        const lumen_span_context *pc = o->parent_context;
        if (!lumen_span_context_is_valid(pc))
            return false;
        p->trace_id = pc->trace_id;
        p->span_id = pc->span_id;
        p->flags = pc->trace_flags;
        p->trace_state = pc->trace_state;
        p->trace_state_len = pc->trace_state_len <= LUMEN_TRACESTATE_MAX ? pc->trace_state_len : 0;
        p->remote = pc->is_remote != 0;
        return true;
    } else if (!o->root) {
        ps = lumen__tls_current;
    }
    if (ps == NULL || lumen__span_is_noop(ps))
        return false;
    p->trace_id = ps->trace_id;
    p->span_id = ps->span_id;
    p->flags = ps->flags;
    p->trace_state = ps->trace_state;
    p->trace_state_len = ps->trace_state_len;
    p->remote = false;
    return true;
}

/* A user's sampler gets the parent as a full lumen_span_context: built out
 * of line, so that the span start's own frame stays small. */
static __attribute__((noinline)) lumen_sampling_decision
sample_custom(const lumen_sampler *smp, const parent_ref *p, bool has_parent,
              const uint8_t *trace_id, const char *name, lumen_span_kind kind)
{
    lumen_span_context pc;
    if (has_parent) {
        memcpy(pc.trace_id, p->trace_id, 16);
        memcpy(pc.span_id, p->span_id, 8);
        pc.trace_flags = p->flags;
        pc.is_remote = p->remote;
        pc.trace_state_len = (uint16_t)p->trace_state_len;
        if (p->trace_state_len)
            memcpy(pc.trace_state, p->trace_state, p->trace_state_len);
        pc.trace_state[p->trace_state_len] = '\0';
    }
    return lumen__sample(smp, has_parent ? &pc : NULL, trace_id, name, kind);
}

static inline lumen_sampling_decision sample(const lumen_sampler *smp, const parent_ref *p,
                                             bool has_parent, const uint8_t *trace_id,
                                             const char *name, lumen_span_kind kind)
{
    const lumen_sampling_decision yes = LUMEN_SAMPLING_RECORD_AND_SAMPLE, no = LUMEN_SAMPLING_DROP;
    bool parent_sampled = has_parent && (p->flags & LUMEN_TRACE_FLAG_SAMPLED);
    /* The built-in samplers, decided here without a call: they look at the
     * parent's sampled flag and the trace id only. */
    switch (smp->kind) {
    case LUMEN_SAMPLER_ALWAYS_ON:
        return yes;
    case LUMEN_SAMPLER_ALWAYS_OFF:
        return no;
    case LUMEN_SAMPLER_DEFAULT:
    case LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON:
        return has_parent ? (parent_sampled ? yes : no) : yes;
    case LUMEN_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return parent_sampled ? yes : no;
    case LUMEN_SAMPLER_TRACEIDRATIO:
        return lumen__ratio_sampled(smp->ratio, trace_id) ? yes : no;
    case LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return has_parent ? (parent_sampled ? yes : no)
                          : (lumen__ratio_sampled(smp->ratio, trace_id) ? yes : no);
    default:
        return sample_custom(smp, p, has_parent, trace_id, name, kind);
    }
}

/* A parent's tracestate, kept by the new span. A parent context's list
 * was checked when it was stored (lumen_span_context is opaque, filled
 * only by lumen's parsers and setters), a parent span's came from one. */
static __attribute__((noinline)) void keep_trace_state(lumen_span *s, const parent_ref *p)
{
    s->trace_state = lumen__span_strdup(s, p->trace_state, p->trace_state_len);
    if (s->trace_state != NULL)
        s->trace_state_len = (uint16_t)p->trace_state_len;
}

/* The recording half of lumen_span_start, kept out of line so that the
 * unsampled path stays short and register-light. */
static __attribute__((noinline)) void start_recording(lumen_span *s, const char *name,
                                                      const lumen_span_options *o)
{
    s->recording = 1;
    s->status = LUMEN_SPAN_STATUS_UNSET;
    s->status_msg = NULL;
    s->dropped_warned = 0;
    s->attrs = s->attrs_inline;
    s->nattrs = 0;
    s->attrs_cap = LUMEN__SPAN_INLINE_ATTRS;
    s->dropped_attrs = 0;
    s->events = NULL;
    s->nevents = s->events_cap = s->dropped_events = 0;
    s->links = NULL;
    s->nlinks = s->links_cap = s->dropped_links = 0;
    s->end_ns = 0;
    size_t nl = strlen(name);
    s->name = lumen__span_strdup_text(s, name, nl, NULL);
    if (s->name == NULL)
        s->name = "";
    s->start_ns = (o != NULL && o->start_ns > 0) ? o->start_ns : lumen__now_fast();
    lumen__trace_metric_inc_local(LUMEN__TM_STARTED);
    if (o != NULL && o->attrs != NULL && o->attr_count > 0)
        lumen_span_set_attrs(s, o->attrs, o->attr_count);
}

static const size_t options_sizes[] = {0, sizeof(lumen_span_options)};

int lumen_span_options_init(lumen_span_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

static __attribute__((noinline, cold)) lumen_span *bad_options(const lumen_span_options *o)
{
    lumen__diag(LUMEN_DIAG_ERROR,
                "lumen_span_start: options of version %u (this library knows 1 to %u); the span "
                "does nothing",
                o->version, LUMEN__VERSIONS(options_sizes));
    return &lumen__span_noop;
}

lumen_span *lumen_span_start(lumen_tracer *t, const char *name, const lumen_span_options *o)
{
    if (LUMEN_UNLIKELY(t == NULL || t->noop))
        return &lumen__span_noop;
    /* The caller's options are read in place, without a copy, when they
     * are of this library's version: the only one there is so far. Once a
     * version 2 exists, an older caller's options are first copied with
     * lumen__versioned_in, here, off the common path. */
    if (LUMEN_UNLIKELY(o != NULL && o->version != LUMEN_SPAN_OPTIONS_VERSION))
        return bad_options(o);
    struct lumen_tracer_provider *tp = t->provider;
    if (LUMEN_UNLIKELY(atomic_load_explicit(&tp->shut, memory_order_relaxed)))
        return &lumen__span_noop;
    if (name == NULL)
        name = "";
    lumen_span_kind kind =
        (o != NULL && o->kind >= LUMEN_SPAN_INTERNAL && o->kind <= LUMEN_SPAN_CONSUMER)
            ? o->kind
            : LUMEN_SPAN_INTERNAL;
    parent_ref p;
    bool has_parent = find_parent(o, &p);

    lumen_span *s = lumen__span_alloc();
    if (LUMEN_UNLIKELY(s == NULL))
        return &lumen__span_noop;
    s->tracer = t;
    atomic_store_explicit(&s->refs, 1, memory_order_relaxed);
    s->ended = 0;
    s->entered = 0;
    s->kind = (uint8_t)kind;
    s->arena_p = s->arena;
    s->arena_left = sizeof s->arena;
    lumen__idgen *g = lumen__idgen_get();
    if (has_parent) {
        memcpy(s->trace_id, p.trace_id, 16);
        memcpy(s->parent_id, p.span_id, 8);
        s->has_parent = p.remote ? 2 : 1; /* 2: the parent is remote */
    } else {
        uint64_t hi = lumen__idgen_next(g), lo = lumen__idgen_next(g);
        memcpy(s->trace_id, &hi, 8);
        memcpy(s->trace_id + 8, &lo, 8);
        s->has_parent = 0;
    }
    lumen_sampling_decision d = sample(&tp->sampler, &p, has_parent, s->trace_id, name, kind);
    uint64_t sid = lumen__idgen_next(g);
    memcpy(s->span_id, &sid, 8);
    /* The sampled bit is this span's decision. The random bit (W3C Level
     * 2) is the trace id's: set when lumen drew the id, kept from the
     * parent otherwise. Reserved bits are not propagated. */
    s->flags = (d == LUMEN_SAMPLING_RECORD_AND_SAMPLE ? LUMEN_TRACE_FLAG_SAMPLED : 0) |
               (has_parent ? p.flags & LUMEN_TRACE_FLAG_RANDOM : LUMEN_TRACE_FLAG_RANDOM);
    s->trace_state = NULL;
    s->trace_state_len = 0;
    if (has_parent && p.trace_state_len > 0)
        keep_trace_state(s, &p);
    if (d == LUMEN_SAMPLING_DROP) {
        s->recording = 0;
        return s;
    }
    start_recording(s, name, o);
    return s;
}

void lumen_span_end_at(lumen_span *s, int64_t end_ns)
{
    if (s == NULL || lumen__span_is_noop(s))
        return;
    if (LUMEN_UNLIKELY(s->ended)) {
        lumen__diag(LUMEN_DIAG_WARN, "lumen_span_end called twice on a span");
        return;
    }
    s->ended = 1;
    if (s->entered && lumen__tls_current == s)
        lumen_span_leave(s);
    if (!s->recording) {
        lumen__span_release(s);
        return;
    }
    s->end_ns = end_ns > 0 ? end_ns : lumen__now_fast();
    if (s->end_ns < s->start_ns)
        s->end_ns = s->start_ns;
    lumen__trace_metric_inc_local(LUMEN__TM_ENDED);
    lumen__provider_on_end(s->tracer->provider, s);
}

void lumen_span_end(lumen_span *s)
{
    lumen_span_end_at(s, 0);
}

bool lumen_span_is_recording(const lumen_span *s)
{
    return s != NULL && s->recording && !s->ended;
}

/* ---- attributes, events, links, status ---- */

static inline bool writable(const lumen_span *s)
{
    return s != NULL && s->recording && !s->ended;
}

static const lumen__limits *limits(const lumen_span *s)
{
    return &s->tracer->provider->limits;
}

static void warn_dropped(lumen_span *s, const char *what)
{
    /* At most one message per span, as the specification asks. */
    if (!s->dropped_warned) {
        s->dropped_warned = 1;
        lumen__diag(LUMEN_DIAG_WARN, "span limit reached: %s dropped", what);
    }
}

/* A new slot for an attribute, or NULL (counted) at the count limit or
 * when the arena is out of memory. The key is the caller's to fill. */
static lumen_attr *new_slot(lumen_span *s, const lumen__limits *lim)
{
    if (s->nattrs >= lim->attrs) {
        s->dropped_attrs++;
        warn_dropped(s, "attribute");
        return NULL;
    }
    if (s->nattrs == s->attrs_cap) {
        uint32_t cap = s->attrs_cap * 2;
        lumen_attr *na = lumen__span_arena_alloc(s, cap * sizeof *na, 8);
        if (na == NULL) {
            s->dropped_attrs++;
            return NULL;
        }
        memcpy(na, s->attrs, s->nattrs * sizeof *na);
        s->attrs = na;
        s->attrs_cap = cap;
    }
    return &s->attrs[s->nattrs];
}

static void set_attr(lumen_span *s, const lumen_attr *a)
{
    if (a->key == NULL)
        return;
    const lumen__limits *lim = limits(s);
    bool copied;
    size_t kn;
    const char *key = lumen__attr_key(s, a->key, &kn, &copied);
    if (key == NULL) {
        s->dropped_attrs++;
        return;
    }
    lumen_attr *slot = NULL;
    for (uint32_t i = 0; i < s->nattrs; i++) {
        if (s->attrs[i].key[0] == key[0] && strcmp(s->attrs[i].key, key) == 0) {
            slot = &s->attrs[i];
            break;
        }
    }
    if (slot == NULL) {
        if ((slot = new_slot(s, lim)) == NULL)
            return;
        const char *k = copied ? key : lumen__span_strdup(s, key, kn);
        if (k == NULL) {
            s->dropped_attrs++;
            return;
        }
        s->nattrs++;
        slot->key = k;
    }
    lumen__attrs_copy_one(s, slot, a, lim->value_len);
}

void lumen__span_set_known(lumen_span *s, const char *key, const lumen_attr *a, unsigned flags)
{
    if (!writable(s))
        return;
    const lumen__limits *lim = limits(s);
    lumen_attr *slot = NULL;
    uint32_t n_search = (flags & LUMEN__KNOWN_NEW) ? 0 : s->nattrs;
    for (uint32_t i = 0; i < n_search; i++) {
        const char *k = s->attrs[i].key;
        if (k == key || (k[0] == key[0] && strcmp(k, key) == 0)) {
            slot = &s->attrs[i];
            break;
        }
    }
    if (slot == NULL) {
        if ((slot = new_slot(s, lim)) == NULL)
            return;
        s->nattrs++;
        slot->key = key;
    }
    if ((flags & LUMEN__KNOWN_STATIC_VALUE) && a->type == LUMEN_ATTR_STRING && a->v.s != NULL) {
        size_t n = a->len != (size_t)-1 ? a->len : strlen(a->v.s);
        if (lim->value_len == 0 || n <= lim->value_len) {
            slot->type = LUMEN_ATTR_STRING;
            slot->v.s = a->v.s;
            slot->len = n;
            return;
        }
    }
    lumen__attrs_copy_one(s, slot, a, lim->value_len);
}

void lumen_span_set_attrs(lumen_span *s, const lumen_attr *attrs, size_t n)
{
    if (!writable(s) || attrs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        set_attr(s, &attrs[i]);
}

void lumen_span_set_strn(lumen_span *s, const char *key, const char *value, size_t len)
{
    if (!writable(s))
        return;
    lumen_attr a = {key, LUMEN_ATTR_STRING, len, {.s = value}};
    set_attr(s, &a);
}

void lumen_span_set_str(lumen_span *s, const char *key, const char *value)
{
    lumen_span_set_strn(s, key, value, (size_t)-1);
}

void lumen_span_set_int(lumen_span *s, const char *key, int64_t value)
{
    if (!writable(s))
        return;
    lumen_attr a = {key, LUMEN_ATTR_INT, 0, {.i = value}};
    set_attr(s, &a);
}

void lumen_span_set_double(lumen_span *s, const char *key, double value)
{
    if (!writable(s))
        return;
    lumen_attr a = {key, LUMEN_ATTR_DOUBLE, 0, {.d = value}};
    set_attr(s, &a);
}

void lumen_span_set_bool(lumen_span *s, const char *key, bool value)
{
    if (!writable(s))
        return;
    lumen_attr a = {key, LUMEN_ATTR_BOOL, 0, {.b = value}};
    set_attr(s, &a);
}

void lumen_span_add_event(lumen_span *s, const char *name, int64_t time_ns, const lumen_attr *attrs,
                          size_t n)
{
    if (!writable(s))
        return;
    const lumen__limits *lim = limits(s);
    if (s->nevents >= lim->events) {
        s->dropped_events++;
        warn_dropped(s, "event");
        return;
    }
    if (s->nevents == s->events_cap) {
        uint32_t cap = s->events_cap ? s->events_cap * 2 : 4;
        lumen__event *ne = lumen__span_arena_alloc(s, cap * sizeof *ne, 8);
        if (ne == NULL) {
            s->dropped_events++;
            return;
        }
        if (s->nevents)
            memcpy(ne, s->events, s->nevents * sizeof *ne);
        s->events = ne;
        s->events_cap = cap;
    }
    lumen__event *e = &s->events[s->nevents];
    if (name == NULL)
        name = "";
    e->name = lumen__span_strdup_text(s, name, strlen(name), NULL);
    if (e->name == NULL) {
        s->dropped_events++;
        return;
    }
    e->time_ns = time_ns > 0 ? time_ns : lumen__now_fast();
    e->attrs = lumen__attrs_copy_list(s, attrs, n, lim->event_attrs, lim->value_len, &e->nattrs,
                                      &e->dropped);
    s->nevents++;
}

void lumen_span_add_link(lumen_span *s, const lumen_span_context *ctx, const lumen_attr *attrs,
                         size_t n)
{
    if (!writable(s) || !lumen_span_context_is_valid(ctx))
        return;
    const lumen__limits *lim = limits(s);
    if (s->nlinks >= lim->links) {
        s->dropped_links++;
        warn_dropped(s, "link");
        return;
    }
    if (s->nlinks == s->links_cap) {
        uint32_t cap = s->links_cap ? s->links_cap * 2 : 2;
        lumen__link *nl = lumen__span_arena_alloc(s, cap * sizeof *nl, 8);
        if (nl == NULL) {
            s->dropped_links++;
            return;
        }
        if (s->nlinks)
            memcpy(nl, s->links, s->nlinks * sizeof *nl);
        s->links = nl;
        s->links_cap = cap;
    }
    lumen__link *l = &s->links[s->nlinks];
    memcpy(l->trace_id, ctx->trace_id, 16);
    memcpy(l->span_id, ctx->span_id, 8);
    l->flags = ctx->trace_flags & (LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);
    /* The context's tracestate was checked when it was stored. */
    size_t tsl = ctx->trace_state_len <= LUMEN_TRACESTATE_MAX ? ctx->trace_state_len : 0;
    l->trace_state = tsl ? lumen__span_strdup(s, ctx->trace_state, tsl) : NULL;
    l->attrs = lumen__attrs_copy_list(s, attrs, n, lim->link_attrs, lim->value_len, &l->nattrs,
                                      &l->dropped);
    s->nlinks++;
}

void lumen_span_set_status(lumen_span *s, lumen_span_status code, const char *description)
{
    if (!writable(s) || code == LUMEN_SPAN_STATUS_UNSET || s->status == LUMEN_SPAN_STATUS_OK)
        return;
    if (code == LUMEN_SPAN_STATUS_OK) {
        s->status = LUMEN_SPAN_STATUS_OK;
        s->status_msg = NULL;
    } else if (code == LUMEN_SPAN_STATUS_ERROR) {
        s->status = LUMEN_SPAN_STATUS_ERROR;
        s->status_msg =
            description ? lumen__span_strdup_text(s, description, strlen(description), NULL) : NULL;
    }
}

void lumen_span_update_name(lumen_span *s, const char *name)
{
    if (!writable(s) || name == NULL)
        return;
    const char *n = lumen__span_strdup_text(s, name, strlen(name), NULL);
    if (n != NULL)
        s->name = n;
}

void lumen_span_get_context(lumen_span_context *out, const lumen_span *s)
{
    if (out == NULL)
        return;
    if (s == NULL || lumen__span_is_noop(s)) {
        lumen__span_context_clear(out);
        return;
    }
    memcpy(out->trace_id, s->trace_id, 16);
    memcpy(out->span_id, s->span_id, 8);
    out->trace_flags = s->flags;
    out->is_remote = 0;
    out->trace_state_len = s->trace_state_len;
    if (s->trace_state_len)
        memcpy(out->trace_state, s->trace_state, s->trace_state_len);
    out->trace_state[s->trace_state_len] = '\0';
}
