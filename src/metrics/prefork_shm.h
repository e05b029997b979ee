/*
 * metrics/prefork_shm.h: the shared memory of a pre-forked family of
 * processes (lumen/prefork.h), one memfd, laid out as:
 *
 *   header      sizes, two robust process-shared mutexes, counts, counters
 *   slots       one per worker: state, generation and pid in one word, its
 *               start time, and a bitmap of the lanes it has written
 *   families    definitions, dense, in creation order ([0, nfams) complete)
 *   series      entries, dense, in creation order ([0, nseries) complete)
 *   index       open addressing over series ids + 1 (0: empty), by hash
 *   heap        names, help, label values, bucket bounds (bump allocated)
 *   acc         two accumulators: the totals of reclaimed workers
 *   lanes       per worker, `nlanes` arrays of max_cells cells: one per CPU
 *               index (the rseq path), then one per stripe (the portable
 *               path)
 *
 * Every offset is from the start of the object, so that processes map it
 * at different addresses. Nothing is ever moved or removed: families and
 * series only grow, and an entry, once counted in nfams or nseries, is
 * complete and immutable (except its atomics).
 *
 * A series owns cells [2 * pair, 2 * pair + ncells) of every lane. A
 * process reserves handle slots [base, base + max_cells / 2) (slots.h) and
 * maps, in each of its cell regions (cells.h), the window of cell ids
 * [2 * base, 2 * base + max_cells) onto the lane of its own worker slot
 * for that region. The series with first pair p then has the handle slot
 * base + p and the cell id 2 * (base + p) in that process: a counter's
 * inc (the rseq add to its slot's pair, update.c) and a histogram's
 * observation add to this worker's lane in shared memory with the
 * instructions of a single process. Gauges store into lane 0 of the
 * worker (cell: value bits, cell + 1: the wall time of the store, 0 for
 * never), with atomics, since every thread of the worker stores there.
 *
 * Locks (both robust and process-shared; a holder that dies leaves
 * EOWNERDEAD to the next, which repairs what it left, prefork_table.c and
 * prefork_fold.c): create_mu serialises creating families and series;
 * fold_mu serialises reclaiming slots and reading the totals (renders), so
 * that a render never sees a worker's cells both folded and not. No update
 * takes either. Local lock order: the process's own mutex, then the shared
 * families' mutexes (the fork handlers hold them all), then the handle-slot
 * and cells mutexes; a family's mutex or the process's before create_mu;
 * the process's before fold_mu.
 */
#ifndef LUMEN_METRICS_PREFORK_SHM_H
#define LUMEN_METRICS_PREFORK_SHM_H

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include "lumen/prefork.h"
#include "metrics/internal.h"

#define LUMEN__PF_MAGIC 0x4b524f4645525046ull /* "FPREFORK" */
#define LUMEN__PF_LAYOUT 1
#define LUMEN__PF_NONE UINT32_MAX

/* Slot states (the low two bits of a slot word). */
enum { LUMEN__PF_FREE = 0, LUMEN__PF_LIVE = 1, LUMEN__PF_LEFT = 2 };

static inline uint32_t lumen__pf_state(uint64_t w)
{
    return (uint32_t)(w & 3);
}
static inline uint32_t lumen__pf_gen(uint64_t w)
{
    return (uint32_t)(w >> 2) & 0x3fffffffu;
}
static inline pid_t lumen__pf_pid(uint64_t w)
{
    return (pid_t)(w >> 32);
}
static inline uint64_t lumen__pf_word(uint32_t state, uint32_t gen, pid_t pid)
{
    return (uint64_t)(uint32_t)pid << 32 | (uint64_t)(gen & 0x3fffffffu) << 2 | state;
}

typedef struct lumen__pf_hdr {
    uint64_t magic;
    uint32_t layout;
    uint32_t mutex_size; /* sizeof(pthread_mutex_t) of the build that made it */
    uint32_t page;
    uint32_t max_workers, max_families;
    uint32_t ncpu, nstripe, nlanes; /* lanes per worker */
    uint32_t bitmap_words;          /* of each slot's lane bitmap */
    uint32_t pad0;
    uint64_t max_series, table_cap, max_cells, heap_bytes;
    uint64_t slot_bytes, lane_bytes;
    uint64_t off_slots, off_fams, off_series, off_index, off_heap, off_acc, off_lanes, total;
    int64_t created_ns;
    pthread_mutex_t create_mu;
    pthread_mutex_t fold_mu;
    /* Written under create_mu; read by anyone (acquire). */
    _Atomic uint32_t nfams;
    _Atomic uint64_t nseries;
    _Atomic uint64_t pairs;     /* cell pairs handed out */
    _Atomic uint64_t heap_used; /* heap bytes handed out */
    /* Written under fold_mu: bit 0 the current accumulator; bits 1-31 a
     * slot being reclaimed + 1 (0: none), bits 32-61 its generation. */
    _Atomic uint64_t acc;
    /* Counters, from any process. */
    _Atomic uint64_t workers_started, workers_refused, workers_reclaimed;
    _Atomic uint64_t recoveries; /* a lock taken from a holder that died */
    _Atomic uint64_t arena_full; /* label sets refused: the memory was full */
    _Atomic uint64_t cells_lost; /* cell pairs of series their creator died making */
} lumen__pf_hdr;

typedef struct lumen__pf_slot {
    _Atomic uint64_t word;      /* lumen__pf_word(state, gen, pid) */
    _Atomic uint64_t start;     /* its process's start time in clock ticks + 1, as first seen;
                                   0: not yet looked at */
    _Atomic int64_t started_ns; /* wall clock */
    uint64_t pad;
    _Atomic uint64_t lanes[]; /* bitmap_words words: lanes written */
} lumen__pf_slot;

typedef struct lumen__pf_fam {
    uint32_t type;              /* lumen_metric_type */
    uint32_t flags;             /* LUMEN_FAMILY_NO_CREATED */
    uint32_t name, help, unit;  /* heap offsets, LUMEN__PF_NONE: none */
    uint32_t nlabels, labels;   /* label names, NUL-terminated, back to back */
    uint32_t nconst, consts;    /* name\0value\0 pairs */
    uint32_t nbuckets, buckets; /* finite bounds, 8-aligned doubles */
    uint32_t ncells;            /* cells of each series, even */
    _Atomic uint32_t mode;      /* gauges: lumen_prefork_gauge_mode */
    _Atomic uint32_t overflow;  /* the overflow series, or LUMEN__PF_NONE */
    _Atomic uint64_t limit, count, overflows;
} lumen__pf_fam;

enum { LUMEN__PF_SERIES_OVERFLOW = 1u << 0 };

typedef struct lumen__pf_series {
    uint64_t hash;
    uint32_t fam, flags;
    uint32_t values, values_len; /* heap: each value NUL-terminated, back to back */
    uint32_t pair, pad;
    int64_t created_ns;
} lumen__pf_series;

/* A shared family as one process sees it: the local family that hands out
 * its handles, and where it is in shared memory. */
typedef struct lumen__pf_family {
    struct lumen_prefork *pf;
    uint32_t idx;
    lumen__family *f;
} lumen__pf_family;

/* This process's view of one shared family's series, kept for renders. */
typedef struct lumen__pf_view {
    uint32_t *ids; /* series ids, in label order */
    size_t n, cap;
    bool dirty;
} lumen__pf_view;

/* The process's attachment (the public lumen_prefork). */
struct lumen_prefork {
    lumen__pf_hdr *hdr;
    size_t bytes; /* mapped */
    int fd;
    uint32_t base; /* first reserved handle slot */
    uint32_t self; /* worker slot, or LUMEN__PF_NONE */
    pid_t pid;     /* of the process when `self` was taken */
    bool detached; /* lumen_prefork_free is tearing down: windows go private */
    uintptr_t reg; /* the registry's handle */
    lumen_collector *col;
    pthread_mutex_t mu; /* the lists below */
    lumen__pf_family **fams;
    size_t nfams, cap;
    lumen__pf_view *views; /* max_families of them */
    uint64_t seen;         /* series ids already sorted into views */
};

/* Where the series of a lookup lives: its handle slot and first cell id in
 * this process, and whether it is the family's overflow series. */
typedef struct lumen__pf_place {
    uint32_t slot, cell;
    bool overflow;
} lumen__pf_place;

/* The attached family of this process, or NULL. */
extern struct lumen_prefork *lumen__pf_cur;

/* Test hook: called at the points where a process may die with a lock
 * held (LUMEN__PF_AT_*), so that a test kills it exactly there. */
enum {
    LUMEN__PF_AT_SERIES_INDEXED = 1, /* a series is in the index, not yet counted */
    LUMEN__PF_AT_SERIES_FILLED,      /* a series entry is written, not yet indexed */
    LUMEN__PF_AT_FAMILY_PUBLISHED,   /* a family is counted, its overflow series not made */
    LUMEN__PF_AT_FOLD_SUMMED,        /* a reclaim has summed, not yet published */
    LUMEN__PF_AT_FOLD_PUBLISHED,     /* a reclaim has published, not yet cleared the slot */
    LUMEN__PF_AT_SLOT_CLAIMED        /* a slot is taken, its claimer not yet started */
};
extern void (*lumen__pf_test_point)(int point);
static inline void lumen__pf_point(int p)
{
    if (LUMEN_UNLIKELY(lumen__pf_test_point != NULL))
        lumen__pf_test_point(p);
}

/* ---- the layout ---- */
static inline lumen__pf_slot *lumen__pf_slot_at(const lumen__pf_hdr *h, uint32_t w)
{
    return (lumen__pf_slot *)((char *)h + h->off_slots + (uint64_t)w * h->slot_bytes);
}
static inline lumen__pf_fam *lumen__pf_fam_at(const lumen__pf_hdr *h, uint32_t i)
{
    return (lumen__pf_fam *)((char *)h + h->off_fams) + i;
}
static inline lumen__pf_series *lumen__pf_series_at(const lumen__pf_hdr *h, uint64_t id)
{
    return (lumen__pf_series *)((char *)h + h->off_series) + id;
}
static inline _Atomic uint32_t *lumen__pf_index(const lumen__pf_hdr *h)
{
    return (_Atomic uint32_t *)((char *)h + h->off_index);
}
static inline char *lumen__pf_heap(const lumen__pf_hdr *h, uint32_t off)
{
    return (char *)h + h->off_heap + off;
}
static inline uint64_t lumen__pf_lane_off(const lumen__pf_hdr *h, uint32_t w, uint32_t lane)
{
    return h->off_lanes + ((uint64_t)w * h->nlanes + lane) * h->lane_bytes;
}
static inline _Atomic uint64_t *lumen__pf_lane(const lumen__pf_hdr *h, uint32_t w, uint32_t lane)
{
    return (_Atomic uint64_t *)((char *)h + lumen__pf_lane_off(h, w, lane));
}
static inline _Atomic uint64_t *lumen__pf_acc(const lumen__pf_hdr *h, uint32_t k)
{
    return (_Atomic uint64_t *)((char *)h + h->off_acc + (uint64_t)k * h->lane_bytes);
}

/* ---- prefork_shm.c: locks, processes, gauges ---- */
/* Lock a robust mutex of the header, repairing what a holder that died
 * left (`repair` runs with the lock held: lumen__pf_repair_create for
 * create_mu, lumen__pf_repair_fold for fold_mu; the caller names it, so
 * that this file calls nothing above it). Signals are blocked until
 * lumen__pf_unlock: a handler that updates a metric must not wait for a
 * lock its own thread holds. */
typedef void (*lumen__pf_repair_fn)(struct lumen_prefork *pf);
void lumen__pf_lock(struct lumen_prefork *pf, pthread_mutex_t *mu, lumen__pf_repair_fn repair,
                    sigset_t *old);
void lumen__pf_unlock(pthread_mutex_t *mu, const sigset_t *old);
/* Repair a lock whose holder died, if it did; never waits. */
void lumen__pf_repair_if_dead(struct lumen_prefork *pf, pthread_mutex_t *mu,
                              lumen__pf_repair_fn repair);

/* Is the process of a slot word still running? A zombie is not. */
bool lumen__pf_alive(struct lumen_prefork *pf, uint32_t w, uint64_t word);

/* The gauge paths of update.c for a series of a shared family. */
void lumen__prefork_gauge_set(const lumen__child *c, double v);
void lumen__prefork_gauge_add(const lumen__child *c, double v);
double lumen__prefork_gauge_value(const lumen__child *c);

#endif
