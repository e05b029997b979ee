/*
 * metrics/cells.h: per-CPU value cells, the storage behind counters and
 * histograms.
 *
 * Every series owns a small range of cell ids. A cell exists once per CPU
 * (and once per stripe of the portable path): a contiguous region of
 * memory per CPU, reserved at its full size and made writable as ids are
 * handed out, in which cell `id` is the 8 bytes at offset 8 * id. An
 * update adds to the current CPU's copy inside an rseq critical section
 * (core/cpu.h): a plain add, exact without a `lock` prefix because only
 * the thread running on that CPU writes there and the kernel restarts the
 * section if the thread is interrupted before its committing store. A
 * reader sums one cell over the regions. Memory and reading cost are
 * bounded by the number of CPUs, whatever the number of threads, and a
 * thread's exit costs nothing: its counts are already in the CPUs' cells.
 *
 * The portable path (no rseq: musl, qemu-user, valgrind, ThreadSanitizer,
 * LUMEN_METRICS_RSEQ=off, or a CPU id past LUMEN__CPU_MAX) adds with
 * atomic read-modify-writes to one of a few stripe regions, chosen per
 * thread; stripes are separate from the CPU regions, so the plain adds of
 * the rseq path never race with them.
 *
 * A cell holds an unsigned 64-bit count or the bits of a double; the
 * owner of the range knows which. Regions are never unmapped; ids are
 * released, zeroed and reused only after a grace period (core/rcu.h) in
 * which every rseq section that might still add to them was restarted.
 */
#ifndef LUMEN_METRICS_CELLS_H
#define LUMEN_METRICS_CELLS_H

#include <string.h>

#include "core/common.h"
#include "core/cpu.h"

/* Cell ids: [0, LUMEN__CELL_PAIRS) are two per handle slot (slots.h), the
 * cells of a counter whose handle has that slot, so that a counter's
 * update finds them from its handle alone; [LUMEN__CELL_PAIRS,
 * LUMEN__CELL_MAX) are ranges handed out by lumen__cells_alloc. */
#if UINTPTR_MAX > 0xffffffffu
#define LUMEN__CELL_PAIRS (2u << 24)
#define LUMEN__CELL_MAX (1u << 27) /* 1 GiB of address space per region */
#else
#define LUMEN__CELL_PAIRS (2u << 18)
#define LUMEN__CELL_MAX (1u << 21)
#endif
#define LUMEN__CELL_STRIPES 64

/* The region of each CPU, NULL until a thread first updates a cell there. */
extern LUMEN__HIDDEN uint64_t *lumen__cell_cpu[LUMEN__CPU_MAX];

/* Slow paths: the portable path, and the first update on a CPU. */
void lumen__cell_add_u64_slow(uint32_t id, uint64_t v);
void lumen__cell_add_f64_slow(uint32_t id, double v);

/* Add v to cell id (a count). Lock-free; allocates only on a CPU's first
 * update. The id must be live for the whole call (the caller holds a read
 * section, or checked a handle inside the same critical section). */
static inline void lumen__cell_add_u64(uint32_t id, uint64_t v)
{
#ifdef LUMEN__HAVE_RSEQ
    if (LUMEN_LIKELY(lumen__cpu_add_u64(lumen__cell_cpu, id, v)))
        return;
#endif
    lumen__cell_add_u64_slow(id, v);
}

/* Add v to cell id (a double). */
static inline void lumen__cell_add_f64(uint32_t id, double v)
{
#ifdef LUMEN__HAVE_RSEQ
    if (LUMEN_LIKELY(lumen__cpu_add_f64(lumen__cell_cpu, id, v)))
        return;
#endif
    lumen__cell_add_f64_slow(id, v);
}

/* Add v to count cell `id` and d to double cell `sum` (a histogram's
 * bucket and sum), each exactly once. */
static inline void lumen__cell_add_u64_f64(uint32_t id, uint64_t v, uint32_t sum, double d)
{
#ifdef LUMEN__HAVE_RSEQ
    int r = lumen__cpu_add_u64_f64(lumen__cell_cpu, id, v, sum, d);
    if (LUMEN_LIKELY(r == 0))
        return;
    if (r == 1)
#endif
        lumen__cell_add_u64_slow(id, v);
    lumen__cell_add_f64_slow(sum, d);
}

static inline double lumen__bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t lumen__f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* The two cells of slot `idx` into *first (2 * idx), made writable.
 * Returns LUMEN_OK, LUMEN_ELIMIT or LUMEN_ENOMEM. */
int lumen__cells_pair(uint32_t idx, uint32_t *first);

/*
 * Allocate `n` consecutive ids from the ranges into *first. Returns LUMEN_OK, LUMEN_EINVAL
 * (n is 0 or too large), LUMEN_ELIMIT (the id space is full) or
 * LUMEN_ENOMEM. The cells read zero.
 */
int lumen__cells_alloc(uint32_t n, uint32_t *first);

/* Zero the range in every region and recycle it. Only after a grace
 * period that began once the range was unreachable. */
void lumen__cells_release(uint32_t first, uint32_t n);

/* The sum over every region of the counts first..first+n into out. Lock-free. */
void lumen__cells_read_u64(uint32_t first, uint32_t n, uint64_t *out);
/* The sum over every region of the double in cell id. Lock-free. */
double lumen__cells_read_f64(uint32_t id);

/* Updates lost because a region could not be mapped. */
uint64_t lumen__cells_lost(void);

/* Regions mapped (CPU and stripe), for tests and the docs' cost figures. */
size_t lumen__cells_regions(void);

/*
 * Pre-forked families (metrics/prefork.h) map a window of every region
 * onto shared memory. The hook is called under the cells' mutex for a
 * region before it is published, with its kind (LUMEN__CELLS_CPU or
 * LUMEN__CELLS_STRIPE) and index; when it returns false the region is not
 * made (a CPU's updates then take the portable path, a stripe's are lost
 * and counted). Installing a hook calls it for every region mapped
 * already (their result is ignored). NULL removes it. Thread-safe.
 */
enum { LUMEN__CELLS_CPU = 0, LUMEN__CELLS_STRIPE = 1 };
typedef bool (*lumen__cells_hook)(uint64_t *region, int kind, unsigned index, void *ud);
void lumen__cells_set_hook(lumen__cells_hook fn, void *ud);
/* Fork handling for the owner of a hook: hold the cells' mutex across
 * fork(); in the child, call the hook for every region, then release. */
void lumen__cells_atfork_prepare(void);
void lumen__cells_atfork_parent(void);
void lumen__cells_atfork_child_rehook(void);

#endif
