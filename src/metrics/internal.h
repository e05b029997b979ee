/*
 * metrics/internal.h: the structures shared by the metrics files:
 * registries, families, children (series), the child table and exemplar
 * slots, and the handle-to-series check every update path makes. Only
 * types and inline code: each .c file declares its functions in its own
 * header (names.h, child.h, family.h, registry.h, ...), so that the
 * includes show which file calls which.
 *
 * Ownership: a registry owns its families (through a reference count, so
 * that a render in progress keeps an unregistered family alive); a family
 * owns its children, its tables and its retired garbage. Public handles
 * (lumen_registry, lumen_family, lumen_counter, lumen_gauge,
 * lumen_histogram, lumen_summary) are tokens of metrics/slots.h, never
 * pointers: lumen__registry, lumen__family and lumen__child are reached
 * through their slots, inside a read section (core/rcu.h).
 */
#ifndef LUMEN_METRICS_INTERNAL_H
#define LUMEN_METRICS_INTERNAL_H

#include <pthread.h>

#include "core/buf.h"
#include "core/common.h"
#include "core/rcu.h"
#include "lumen/metrics.h"
#include "metrics/cells.h"
#include "metrics/slots.h"

/* A histogram may have at most this many finite buckets: its buckets,
 * +Inf and its sum must fit in one cell page. */
#define LUMEN__MAX_BUCKETS LUMEN_HISTOGRAM_MAX_BUCKETS
#define LUMEN__MAX_LABELS LUMEN_METRIC_MAX_LABELS
#define LUMEN__MAX_QUANTILES 32
#define LUMEN__OVERFLOW_VALUE "__overflow__"
/* The family that reports overflowing families, rendered when non-zero. */
#define LUMEN__OVERFLOW_FAMILY "lumen_series_overflow"
/* Exemplar label text: 128 code points of names and values, escaped,
 * with their punctuation. */
#define LUMEN__EXEMPLAR_RUNES LUMEN_EXEMPLAR_MAX_RUNES
#define LUMEN__EXEMPLAR_BYTES 1100

enum {
    LUMEN__CF_EXEMPLARS_FROM_TRACE = 1u << 0, /* child flag mirrors the family flag */
    LUMEN__CF_OVERFLOW = 1u << 1,             /* the overflow series */
    LUMEN__CF_SHARED = 1u << 2,               /* a pre-forked family's series (prefork.h) */
    LUMEN__CF_NATIVE = 1u << 3                /* a histogram with native buckets (exphist.h) */
};

/* One exemplar, pre-rendered as OpenMetrics label text. Guarded by `lock`:
 * a writer that finds it taken skips the exemplar (never waits); a render
 * spins briefly. */
typedef struct lumen__exemplar {
    _Atomic int lock;
    bool set;
    uint16_t len;
    double value;
    int64_t ts_ns;
    char labels[LUMEN__EXEMPLAR_BYTES];
} lumen__exemplar;

typedef struct lumen__summary_state lumen__summary_state;

typedef struct lumen__child {
    struct lumen__family *fam;
    uintptr_t tok; /* the handle (slots.h) */
    int64_t created_ns;
    uint32_t cell; /* first cell id (counters, histograms) */
    uint16_t htag; /* the low bits of the values' hash: most probes stop here */
    uint8_t flags; /* LUMEN__CF_* */
    uint8_t type;  /* the family's lumen_metric_type */
    union {
        _Atomic uint64_t gauge;                    /* gauges: double bits */
        _Atomic(lumen__exemplar *) ex;             /* counters: one slot, lazily */
        _Atomic(_Atomic(lumen__exemplar *) *) hex; /* histograms: a slot per bucket, lazily */
        lumen__summary_state *sum;                 /* summaries */
    } u;
    struct lumen__exphist *native; /* native histograms: the exponential buckets */
    /* The label values, each NUL-terminated, back to back. */
    char values[];
} lumen__child;

/* The lock-free child table: open addressing with linear probing over
 * child pointers. A slot goes NULL -> child -> TOMB and never back, so a
 * reader that finds NULL knows the key is absent. Tables are replaced, not
 * resized in place; the old one is kept as garbage. */
typedef struct lumen__table {
    size_t cap;          /* power of two */
    lumen__rcu_head rcu; /* a replaced table waits in core/rcu.c's queue */
    _Atomic(lumen__child *) slot[];
} lumen__table;

#define LUMEN__TOMB ((lumen__child *)(uintptr_t)1)

/* Histograms with at most this many bounds find their bucket with a
 * fixed-size vector compare over bounds padded with +Inf. */
#define LUMEN__SMALL_BUCKETS 16

typedef struct lumen__family {
    /* Read by histogram observations: first, in one cache line. */
    double small_bounds[LUMEN__SMALL_BUCKETS] __attribute__((aligned(16)));
    _Atomic long refs;
    uintptr_t tok; /* the handle (slots.h) */
    lumen_metric_type type;
    unsigned flags;
    char *name; /* base name: counters without _total, info without _info */
    char *help;
    char *unit;
    size_t nlabels;
    char **label_names;
    size_t nconst;
    char **const_names;
    char **const_values;
    double *buckets; /* finite upper bounds */
    size_t nbuckets;
    double *quantiles;
    size_t nquantiles;
    double max_age_s;
    unsigned age_buckets;
    /* Native histograms (exphist.h): kind, starting scale, bucket limit
     * per sign, zero threshold. */
    lumen_histogram_kind hkind;
    int32_t native_scale;
    uint32_t native_max_buckets;
    double native_zero_threshold;
    lumen_gauge_fn fn; /* gauge_func */
    void *fn_ud;

    pthread_mutex_t mu; /* guards everything below except the atomics */
    _Atomic(lumen__table *) table;
    size_t count; /* live children in the table */
    size_t tombs;
    _Atomic size_t limit;
    _Atomic uint64_t overflows;
    _Atomic uint64_t rejected; /* refused updates (negative adds, NaN) */
    void *snap;                /* children in label order, for renders (family.c) */
    bool dirty;                /* the set of children changed since `snap` */
    int renders;               /* renders holding a copy of `sorted` */
    lumen__child **retired;    /* removed children (handles dead) awaiting a grace period */
    size_t nretired, retired_cap;
    lumen__child *only; /* the child of an unlabelled family */
    /* A pre-forked family's place in shared memory (metrics/prefork_shm.h),
     * else NULL: its children are cached views of shared series. */
    struct lumen__pf_family *shared;
} lumen__family;

typedef struct lumen_collector {
    lumen_collect_fn fn;
    void *ud;
    struct lumen_collector *next;
} lumen_collector;

/* A name a collector declared (lumen_collector_options): every name a
 * family of that name may expose, reserved in its registry. */
typedef struct lumen__reserved {
    char *name;
    const lumen_collector *owner;
} lumen__reserved;

struct lumen__rctx;
struct lumen__registry;
struct lumen_prefork;

/*
 * The registry of a pre-forked family (metrics/prefork.c) creates and
 * renders its shared families through these, which prefork.c installs:
 * registry.c and render.c sit below the pre-forked files, so they call up
 * only through this table, never by name.
 */
typedef struct lumen__shared_ops {
    /* lumen__family_new for the registry: build and share the family. */
    int (*family_new)(struct lumen__registry *r, lumen_metric_type type, const char *name,
                      const lumen_family_options *opts, uintptr_t *ftok, uintptr_t *only);
    /* lumen_family_lookup for the families shared_ops made: the handle of
     * the one named `name` into *out; LUMEN_ENOENT when there is none. */
    int (*family_lookup)(struct lumen__registry *r, const char *name, uintptr_t *out);
    /* A render of the shared families: begin lists them in name order
     * (NULL: no memory); each is then rendered by index; end frees. */
    void *(*render_begin)(struct lumen_prefork *pf);
    size_t (*render_count)(const void *rs);
    const char *(*render_name)(const void *rs, size_t i);
    void (*render_family)(void *rs, size_t i, struct lumen__rctx *c);
    void (*render_end)(void *rs);
} lumen__shared_ops;

typedef struct lumen__registry {
    _Atomic long refs;          /* the owner's, and one per call in progress */
    uintptr_t tok;              /* the handle (slots.h) */
    pthread_mutex_t mu;         /* families, collectors list */
    pthread_mutex_t collect_mu; /* held while collectors run */
    lumen__family **fams;       /* sorted by name */
    size_t nfams, cap;
    lumen_collector *collectors;
    lumen__reserved *reserved; /* under mu, unsorted */
    size_t nreserved, reserved_cap;
    bool is_default;
    _Atomic bool freed; /* lumen_registry_free was called */
    /* The pre-forked family whose registry this is, and its hooks
     * (metrics/prefork.c): counters, gauges and histograms created in it
     * are shared. NULL for every other registry. */
    struct lumen_prefork *prefork;
    const lumen__shared_ops *shared_ops;
} lumen__registry;

/* Whether slot word w is that of a live handle t of this type. */
static inline bool lumen__series_word_live(uintptr_t t, lumen_metric_type type, uint64_t w)
{
#if LUMEN__SLOT_IDX_BITS == 32
    /* One comparison checks generation, kind and type; a counter's word
     * may instead be the fast one, equal to its handle. */
    return w == lumen__slot_word(t, LUMEN__SLOT_SLOW | (uint32_t)type) ||
           (type == LUMEN_METRIC_COUNTER && w == (uint64_t)t);
#else
    return lumen__slot_matches(t, w) && lumen__slot_idx(t) != 0 &&
           ((w & LUMEN__SLOT_SLOW)
                ? (uint32_t)w == (LUMEN__SLOT_SLOW | (uint32_t)type)
                : type == LUMEN_METRIC_COUNTER && (uint32_t)w == lumen__slot_idx(t));
#endif
}

/* Inside a read section: the series of a handle of this type, or NULL
 * (and the update counted as lost) when the handle is dead. NULL handles
 * are no-ops, not losses. */
static inline lumen__child *lumen__series_of(uintptr_t t, lumen_metric_type type)
{
    lumen__slot *s = lumen__slot_at(t);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (LUMEN_UNLIKELY(!lumen__series_word_live(t, type, w))) {
        if (t != 0)
            atomic_fetch_add_explicit(&lumen__metrics_stale, 1, memory_order_relaxed);
        return NULL;
    }
    return (lumen__child *)atomic_load_explicit(&s->obj, memory_order_relaxed);
}

/* For a caller that keeps handles it looked up itself (instrument/server.c's
 * cache): observe through h and return true, or return false without
 * counting a loss when h is dead (the caller looks its series up again).
 * Thread-safe; locks nothing. (update.c) */
bool lumen__histogram_observe_cached(lumen_histogram *h, double v);

#endif
