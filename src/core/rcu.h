/*
 * core/rcu.h: read-copy-update, for lumen's lock-free readers (label
 * lookups, the slow paths of metric updates) and the writers that unlink
 * and free what those readers may hold (series removal, table growth,
 * family and registry teardown).
 *
 * A reader brackets its accesses with lumen__rcu_lock/unlock. A writer
 * first unpublishes an object (no reader that starts later can reach it),
 * then waits in lumen__rcu_synchronize until every reader that might have
 * reached it has left, then frees it. This is the membarrier flavour of
 * userspace RCU (as in liburcu's urcu-memb), written small for lumen:
 *
 * - Each thread that reads owns a record (registered on its first read,
 *   recycled when the thread exits) holding `ctr`: 0 outside a read
 *   section, else the value of the global grace-period counter read on
 *   entry. Entry is a load of the counter and a store to the record,
 *   exit a release store of 0: no atomic read-modify-write, no fence on
 *   the reader's side when membarrier is available.
 * - lumen__rcu_synchronize: (1) a barrier on every thread (membarrier, or
 *   a fence with fencing readers; lumen__cpu_barrier); (2) increment the
 *   counter to C; (3) wait until every record reads 0 or at least C.
 *
 * Why it is safe (the argument is in docs/architecture.md, "Reclamation"):
 * a reader whose store of `ctr` was not yet visible at (1) had not yet
 * loaded anything the writer unpublished, because the barrier at (1) sits
 * between the writer's unpublish and (3), and in the reader between
 * its store and its loads; a reader whose store was visible holds a value
 * below C and is waited for; a reader that enters after (2) reads a value
 * of at least C through an acquire load that orders it after the
 * unpublish. The release store of 0 on exit orders the reader's accesses
 * before the writer's free.
 *
 * Sections nest (a signal handler may read inside another section): the
 * value returned by lock is handed back to unlock, and only the outermost
 * pair touches `ctr`. Waiting inside a section for a grace period would
 * deadlock, so lumen__rcu_synchronize must not be called from one.
 */
#ifndef LUMEN_CORE_RCU_H
#define LUMEN_CORE_RCU_H

#include "core/common.h"

/* One cache line each: every section's entry and exit writes `ctr`, which
 * must not share a line with another thread's. */
typedef struct lumen__rcu_reader {
    _Alignas(64) _Atomic uint64_t ctr;
    _Atomic bool used;
    struct lumen__rcu_reader *next; /* set before the record is published */
} lumen__rcu_reader;

/* What lock hands to unlock: the thread's record and the value its `ctr`
 * had (0 for an outermost section). */
typedef struct lumen__rcu_section {
    lumen__rcu_reader *r;
    uint64_t old;
} lumen__rcu_section;

/* `old` of a section entered without a record of its own (memory for one
 * could not be allocated): it holds a global mutex instead. */
#define LUMEN__RCU_EMERGENCY UINT64_MAX

extern LUMEN__HIDDEN LUMEN_TLS lumen__rcu_reader *lumen__rcu_self;
extern LUMEN__HIDDEN _Atomic uint64_t lumen__rcu_gp;
/* True when readers must fence (membarrier unavailable). */
extern LUMEN__HIDDEN _Atomic bool lumen__rcu_fence;

/* Out of line: the first section of a thread (registration), and the
 * sections of a thread that could not get a record. */
lumen__rcu_section lumen__rcu_lock_slow(void);
void lumen__rcu_unlock_emergency(void);

static inline lumen__rcu_section lumen__rcu_lock(void)
{
    lumen__rcu_reader *r = lumen__rcu_self;
    if (LUMEN_UNLIKELY(r == NULL))
        return lumen__rcu_lock_slow();
    uint64_t old = atomic_load_explicit(&r->ctr, memory_order_relaxed);
    if (LUMEN_LIKELY(old == 0)) {
        uint64_t gp = atomic_load_explicit(&lumen__rcu_gp, memory_order_acquire);
#ifdef LUMEN__TSAN
        atomic_store_explicit(&r->ctr, gp, memory_order_seq_cst);
#else
        atomic_store_explicit(&r->ctr, gp, memory_order_relaxed);
        if (LUMEN_UNLIKELY(atomic_load_explicit(&lumen__rcu_fence, memory_order_relaxed)))
            atomic_thread_fence(memory_order_seq_cst);
        else
            atomic_signal_fence(memory_order_seq_cst);
#endif
    }
    return (lumen__rcu_section){r, old};
}

static inline void lumen__rcu_unlock(lumen__rcu_section s)
{
    if (LUMEN_LIKELY(s.old == 0))
        atomic_store_explicit(&s.r->ctr, 0, memory_order_release);
    else if (LUMEN_UNLIKELY(s.old == LUMEN__RCU_EMERGENCY))
        lumen__rcu_unlock_emergency();
}

/* True inside a read section on this thread. */
bool lumen__rcu_reading(void);

/* Wait until every read section that began before this call has ended.
 * Must not be called inside a read section (it then returns at once,
 * having waited for nothing, and reports LUMEN_EBUSY). Thread-safe. */
int lumen__rcu_synchronize(void);

/*
 * Deferred frees. An object unlinked from what readers can reach starts
 * with (or holds) a lumen__rcu_head; lumen__rcu_defer queues it, and
 * lumen__rcu_reclaim frees the queue, a grace period later, once it holds
 * LUMEN__RCU_BATCH bytes or more (force: whatever it holds). One grace
 * period thus pays for many objects of many owners. defer never blocks
 * (call it under a lock); reclaim may wait (not under one a reader takes,
 * never inside a read section, where it does nothing).
 */
typedef struct lumen__rcu_head {
    struct lumen__rcu_head *next;
    size_t bytes;
    void (*free)(struct lumen__rcu_head *);
} lumen__rcu_head;

#define LUMEN__RCU_BATCH (1u << 20)

void lumen__rcu_defer(lumen__rcu_head *h, size_t bytes, void (*free)(lumen__rcu_head *));
void lumen__rcu_reclaim(bool force);

/* Reader records ever handed to a thread (they are reused, never freed).
 * For tests. */
size_t lumen__rcu_records(void);

/* Set up the record list, the thread-exit key and the fork handlers, which
 * allocate: called where a metric is created (a registry's creation), so
 * that a thread's first read section, which may run in a signal handler,
 * never has to. Thread-safe; idempotent. */
void lumen__rcu_init(void);

/* Fork handling (the child has one thread: every other record is free). */
void lumen__rcu_atfork_prepare(void);
void lumen__rcu_atfork_parent(void);
void lumen__rcu_atfork_child(void);

#endif
