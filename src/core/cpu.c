/*
 * core/cpu.c: see cpu.h. Detection runs once; its results only ever go
 * from "off" to "on" (before any reader can rely on them), except that a
 * forked child which cannot register again turns rseq off.
 */
#include "core/cpu.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#if defined(__linux__) && __has_include(<sys/auxv.h>)
#include <sys/auxv.h>
#endif

#include "core/diag.h"
#include "core/env.h"

#if defined(__linux__) && __has_include(<sys/syscall.h>) && __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#if defined(__NR_membarrier)
#define HAVE_MEMBARRIER 1
#endif
#endif

bool lumen__cpu_rseq;
ptrdiff_t lumen__cpu_rseq_off;
ptrdiff_t lumen__cpu_id_off = 4;

#ifdef LUMEN__HAVE_RSEQ
/* What the critical sections read where rseq is not used: a CPU id of
 * RSEQ_CPU_ID_UNINITIALIZED, so that they fail at once. Laid out as the
 * kernel's struct rseq (cpu_id at 4, rseq_cs at 8). */
static LUMEN_TLS struct {
    uint32_t cpu_id_start, cpu_id;
    uint64_t rseq_cs;
} __attribute__((aligned(32))) t_standin = {0, UINT32_MAX, 0};

__attribute__((constructor)) static void standin_init(void)
{
    lumen__cpu_rseq_off = (char *)&t_standin - (char *)__builtin_thread_pointer();
}

/* For lumen__cpu_fake_rseq: a struct rseq the kernel does not know,
 * claiming CPU 0 in one thread only. */
static LUMEN_TLS struct {
    uint32_t cpu_id_start, cpu_id;
    uint64_t rseq_cs;
    uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32))) t_fake = {0, UINT32_MAX, 0, 0, 0, 0, 0};
#endif
static bool g_fake;

/* Readers may rely on membarrier once this is set; set only after the
 * registration succeeded, cleared in a child that fails to register. */
static _Atomic bool g_membarrier;
static bool g_rseq_wanted;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#ifdef LUMEN__HAVE_RSEQ
/* glibc 2.35+; weak, so that a program built here still runs (on the
 * portable path) with an older glibc. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
#endif

#ifdef HAVE_MEMBARRIER
static long membarrier(int cmd)
{
    return syscall(__NR_membarrier, cmd, 0, 0);
}
#endif

/* Register with the kernel for what this process will use. */
static void setup(void)
{
#ifdef HAVE_MEMBARRIER
    long q = membarrier(MEMBARRIER_CMD_QUERY);
    if (q < 0 || !(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0)
        return;
    atomic_store(&g_membarrier, true);
#ifdef LUMEN__HAVE_RSEQ
    /* The rseq path needs the kernel to restart the sections of other
     * CPUs on demand (core/rcu.h's grace periods rely on it), and glibc
     * to have registered the thread's struct rseq. */
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (g_rseq_wanted && &__rseq_size != NULL && &__rseq_offset != NULL && __rseq_size >= 20 &&
        ncpu > 0 && ncpu <= LUMEN__CPU_MAX && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0) {
        /* mm_cid, when the kernel's rseq covers it (AT_RSEQ_FEATURE_SIZE,
         * 27, reaches past its offset 24). glibc registers 32 bytes. */
        if (getauxval(27) >= 28)
            lumen__cpu_id_off = 24;
        lumen__cpu_rseq = true;
        /* Sections running meanwhile read either area: both are safe. */
        __atomic_store_n(&lumen__cpu_rseq_off, __rseq_offset, __ATOMIC_RELAXED);
    }
#endif
#endif
}

static void init_once(void)
{
    g_rseq_wanted = lumen__env_bool("LUMEN_METRICS_RSEQ", true);
    setup();
}

void lumen__cpu_init(void)
{
    pthread_once(&g_once, init_once);
}

bool lumen__cpu_membarrier(void)
{
    lumen__cpu_init();
    return atomic_load(&g_membarrier);
}

void lumen__cpu_barrier(void)
{
    lumen__cpu_init();
#ifdef HAVE_MEMBARRIER
    if (atomic_load(&g_membarrier)) {
        /* Both commands issue a barrier on every thread of the process
         * that is running; the first also restarts their rseq sections. */
        if (lumen__cpu_rseq && !g_fake && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) != 0)
            lumen__diag(LUMEN_DIAG_ERROR, "membarrier(RSEQ) failed: errno %d", errno);
        if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
            return;
        lumen__diag(LUMEN_DIAG_ERROR, "membarrier failed: errno %d", errno);
    }
#endif
#ifdef LUMEN__TSAN
    static _Atomic int sync;
    atomic_fetch_add_explicit(&sync, 0, memory_order_seq_cst);
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

int lumen__cpu_current(void)
{
#ifdef LUMEN__HAVE_RSEQ
    if (lumen__cpu_rseq) {
        uint32_t c = *(volatile uint32_t *)(lumen__cpu_rseq_area() + lumen__cpu_id_off);
        return c < LUMEN__CPU_MAX ? (int)c : -1;
    }
#endif
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

/*
 * A child of fork() has a new memory map, which is not registered for
 * membarrier. It has one thread, so until it starts another no barrier is
 * needed; register again, and where that fails stop relying on membarrier
 * and rseq (readers then fence, updates take the portable path).
 */
void lumen__cpu_atfork_child(void)
{
    if (!atomic_load(&g_membarrier))
        return;
#ifdef HAVE_MEMBARRIER
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
        (!lumen__cpu_rseq || membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0))
        return;
#endif
    lumen__cpu_rseq = false;
#ifdef LUMEN__HAVE_RSEQ
    standin_init();
#endif
    atomic_store(&g_membarrier, false);
}

int lumen__cpu_fake_rseq(void)
{
#ifdef LUMEN__HAVE_RSEQ
    lumen__cpu_init();
    if (lumen__cpu_rseq)
        return 0;
    t_fake.cpu_id = 0;
    t_fake.mm_cid = 0;
    g_fake = true;
    lumen__cpu_id_off = 4;
    lumen__cpu_rseq_off = (char *)&t_fake - (char *)__builtin_thread_pointer();
    lumen__cpu_rseq = true;
    return 1;
#else
    return -1;
#endif
}
