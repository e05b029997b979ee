/*
 * core/rcu.c: see rcu.h. Owns the list of reader records, which only
 * grows: a record is never freed, only marked unused when its thread
 * exits and taken again by the next thread that reads, so a writer may
 * walk the list without a lock while threads come and go, and a thread's
 * first read costs a walk of the list and a compare-and-swap, not an
 * allocation, once the list holds as many records as threads ever read
 * at once.
 */
#include "core/rcu.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "core/cpu.h"
#include "core/diag.h"
#include "core/sigblock.h"

LUMEN_TLS lumen__rcu_reader *lumen__rcu_self;
_Atomic uint64_t lumen__rcu_gp = 1;
_Atomic bool lumen__rcu_fence = true;

static _Atomic(lumen__rcu_reader *) g_readers;
/* The record of the threads that could not get one of their own: one such
 * thread at a time holds it, under g_emergency_mu (recursive, for nested
 * sections), as if it were its own. */
static lumen__rcu_reader g_emergency;
static pthread_mutex_t g_emergency_mu;
static LUMEN_TLS unsigned t_emergency_depth;
/* Serialises grace periods, so that one waits for the readers once for
 * all the writers queued behind it. */
static pthread_mutex_t g_gp_mu = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static bool g_key_ok;

static void thread_exit(void *arg)
{
    lumen__rcu_reader *r = arg;
    /* A thread leaves no section open: its records are released as free. */
    atomic_store_explicit(&r->ctr, 0, memory_order_release);
    atomic_store_explicit(&r->used, false, memory_order_release);
    if (lumen__rcu_self == r)
        lumen__rcu_self = NULL;
}

static void init_once(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&g_emergency_mu, &a);
    pthread_mutexattr_destroy(&a);
    /* Listed like any record; its ctr is 0 while nobody holds it. */
    atomic_init(&g_emergency.used, true);
    g_emergency.next = NULL;
    atomic_store(&g_readers, &g_emergency);
    /* Readers fence until membarrier is known to work; the flag only
     * goes from true to false, after registration succeeded. */
    if (lumen__cpu_membarrier())
        atomic_store(&lumen__rcu_fence, false);
    g_key_ok = pthread_key_create(&g_key, thread_exit) == 0;
    pthread_atfork(lumen__rcu_atfork_prepare, lumen__rcu_atfork_parent, lumen__rcu_atfork_child);
}

static lumen__rcu_reader *take_free(void)
{
    for (lumen__rcu_reader *r = atomic_load_explicit(&g_readers, memory_order_acquire); r;
         r = r->next) {
        bool expect = false;
        if (!atomic_load_explicit(&r->used, memory_order_relaxed) &&
            atomic_compare_exchange_strong(&r->used, &expect, true))
            return r;
    }
    return NULL;
}

void lumen__rcu_init(void)
{
    pthread_once(&g_once, init_once);
}

/*
 * Records come from pages mapped for them, never from malloc: a thread's
 * first section may run in a signal handler that interrupted malloc (or a
 * sanitizer's allocator, or another library's), where a call to malloc
 * could wait forever for a lock its own thread holds; mmap is a system
 * call. A page holds a count of the records handed out and then the
 * records, each on its own cache line; a page is never unmapped, so a
 * thread that loses the race to install a new page only unmaps its own.
 */
#define RCU_PAGE 4096
#define RCU_PER_PAGE (RCU_PAGE / sizeof(lumen__rcu_reader) - 1)

typedef struct rcu_page {
    _Alignas(64) _Atomic size_t taken;
    lumen__rcu_reader rec[RCU_PER_PAGE];
} rcu_page;

_Static_assert(sizeof(rcu_page) <= RCU_PAGE, "a page of records fits a page");

static _Atomic(rcu_page *) g_page;

static lumen__rcu_reader *fresh_record(void)
{
    for (;;) {
        rcu_page *p = atomic_load_explicit(&g_page, memory_order_acquire);
        if (p != NULL) {
            size_t i = atomic_fetch_add_explicit(&p->taken, 1, memory_order_relaxed);
            if (i < RCU_PER_PAGE)
                return &p->rec[i];
        }
        void *m = mmap(NULL, RCU_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        rcu_page *n = m; /* zero-filled: every record free, ctr 0 */
        atomic_store_explicit(&n->taken, 1, memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(&g_page, &p, n, memory_order_acq_rel,
                                                    memory_order_acquire))
            return &n->rec[0];
        munmap(m, RCU_PAGE);
    }
}

static lumen__rcu_reader *reg(void)
{
    pthread_once(&g_once, init_once);
    lumen__rcu_reader *r = take_free();
    if (r == NULL) {
        r = fresh_record();
        if (r == NULL)
            return NULL;
        atomic_init(&r->used, true);
        lumen__rcu_reader *head = atomic_load_explicit(&g_readers, memory_order_relaxed);
        do
            r->next = head;
        while (!atomic_compare_exchange_weak_explicit(&g_readers, &head, r, memory_order_release,
                                                      memory_order_relaxed));
    }
    /* Without the key the record stays taken after the thread exits: a
     * leak of one record per thread, nothing worse. */
    if (g_key_ok)
        pthread_setspecific(g_key, r);
    lumen__rcu_self = r;
    return r;
}

lumen__rcu_section lumen__rcu_lock_slow(void)
{
    if (t_emergency_depth == 0) {
        /* Registration allocates: no handler of this thread may run
         * meanwhile (core/sigblock.h). */
        sigset_t old;
        lumen__sigblock(&old);
        lumen__rcu_reader *r = lumen__rcu_self ? lumen__rcu_self : reg();
        lumen__sigrestore(&old);
        if (r != NULL)
            return lumen__rcu_lock();
    }
    /* No memory for a record: take the emergency one, so that the section
     * is still seen by the writers. Rare, and slow only then. */
    pthread_mutex_lock(&g_emergency_mu);
    if (t_emergency_depth++ == 0) {
        /* seq_cst: the store is ordered before the section's loads. */
        atomic_store(&g_emergency.ctr, atomic_load(&lumen__rcu_gp));
    }
    return (lumen__rcu_section){&g_emergency, LUMEN__RCU_EMERGENCY};
}

void lumen__rcu_unlock_emergency(void)
{
    if (--t_emergency_depth == 0)
        atomic_store_explicit(&g_emergency.ctr, 0, memory_order_release);
    pthread_mutex_unlock(&g_emergency_mu);
}

bool lumen__rcu_reading(void)
{
    lumen__rcu_reader *r = lumen__rcu_self;
    return t_emergency_depth > 0 ||
           (r != NULL && atomic_load_explicit(&r->ctr, memory_order_relaxed) != 0);
}

/* Spin briefly, then yield, then sleep: a reader preempted inside its
 * section needs the CPU to leave it. */
static void backoff(unsigned *n)
{
    if (++*n < 64)
        return;
    if (*n < 128) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, *n < 1024 ? 10000 : 1000000};
    nanosleep(&ts, NULL);
}

int lumen__rcu_synchronize(void)
{
    pthread_once(&g_once, init_once);
    if (lumen__rcu_reading()) {
        lumen__diag(LUMEN_DIAG_ERROR, "rcu: grace period requested inside a read section");
        return LUMEN_EBUSY;
    }
    pthread_mutex_lock(&g_gp_mu);
    lumen__cpu_barrier();
    uint64_t c = atomic_fetch_add_explicit(&lumen__rcu_gp, 1, memory_order_seq_cst) + 1;
    for (lumen__rcu_reader *r = atomic_load_explicit(&g_readers, memory_order_acquire); r;
         r = r->next) {
        unsigned n = 0;
        for (;;) {
            uint64_t v = atomic_load_explicit(&r->ctr, memory_order_acquire);
            if (v == 0 || v >= c)
                break;
            backoff(&n);
        }
    }
    pthread_mutex_unlock(&g_gp_mu);
    return LUMEN_OK;
}

static struct {
    pthread_mutex_t mu;
    lumen__rcu_head *head;
    size_t bytes;
} g_defer = {.mu = PTHREAD_MUTEX_INITIALIZER};

void lumen__rcu_defer(lumen__rcu_head *h, size_t bytes, void (*free)(lumen__rcu_head *))
{
    h->bytes = bytes;
    h->free = free;
    pthread_mutex_lock(&g_defer.mu);
    h->next = g_defer.head;
    g_defer.head = h;
    g_defer.bytes += bytes;
    pthread_mutex_unlock(&g_defer.mu);
}

void lumen__rcu_reclaim(bool force)
{
    if (lumen__rcu_reading())
        return;
    pthread_mutex_lock(&g_defer.mu);
    lumen__rcu_head *h = NULL;
    if (g_defer.head != NULL && (force || g_defer.bytes >= LUMEN__RCU_BATCH)) {
        h = g_defer.head;
        g_defer.head = NULL;
        g_defer.bytes = 0;
    }
    pthread_mutex_unlock(&g_defer.mu);
    if (h == NULL || lumen__rcu_synchronize() != LUMEN_OK)
        return;
    while (h != NULL) {
        lumen__rcu_head *next = h->next;
        h->free(h);
        h = next;
    }
}

size_t lumen__rcu_records(void)
{
    size_t n = 0;
    for (lumen__rcu_reader *r = atomic_load_explicit(&g_readers, memory_order_acquire); r;
         r = r->next)
        n++;
    return n;
}

void lumen__rcu_atfork_prepare(void)
{
    pthread_mutex_lock(&g_defer.mu);
    pthread_mutex_lock(&g_gp_mu);
    pthread_mutex_lock(&g_emergency_mu);
}

void lumen__rcu_atfork_parent(void)
{
    pthread_mutex_unlock(&g_emergency_mu);
    pthread_mutex_unlock(&g_gp_mu);
    pthread_mutex_unlock(&g_defer.mu);
}

void lumen__rcu_atfork_child(void)
{
    pthread_mutex_unlock(&g_emergency_mu);
    pthread_mutex_unlock(&g_gp_mu);
    pthread_mutex_unlock(&g_defer.mu);
    lumen__cpu_atfork_child();
    if (!lumen__cpu_membarrier())
        atomic_store(&lumen__rcu_fence, true);
    /* Only this thread survives: every other record is free, whatever
     * section its thread was in. */
    for (lumen__rcu_reader *r = atomic_load(&g_readers); r; r = r->next) {
        if (r == lumen__rcu_self || r == &g_emergency)
            continue;
        atomic_store(&r->ctr, 0);
        atomic_store(&r->used, false);
    }
    if (t_emergency_depth == 0)
        atomic_store(&g_emergency.ctr, 0);
}
