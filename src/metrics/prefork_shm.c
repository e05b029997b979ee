/*
 * metrics/prefork_shm.c: what every file of a pre-forked family needs of
 * its shared memory (the layout is in prefork_shm.h): the robust locks,
 * whether a worker still runs, and the gauge stores of update.c. It calls
 * nothing of the other prefork files: a lock's repair is named by its
 * caller.
 *
 * Whether a worker still runs is read from /proc/<pid>/stat: its start
 * time tells a reused pid from the worker, and a zombie whose threads are
 * all gone has exited. Nothing else decides that a slot may be reclaimed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/diag.h"
#include "core/sigblock.h"
#include "metrics/prefork_shm.h"

struct lumen_prefork *lumen__pf_cur;
void (*lumen__pf_test_point)(int point);

/* ---- robust locks ------------------------------------------------------ */

/* After a lock returned EOWNERDEAD. */
static void repair(struct lumen_prefork *pf, pthread_mutex_t *mu, lumen__pf_repair_fn fix)
{
    /* The holder died. Repair what it left, then mark the lock
     * consistent, or the next unlock would make it unusable. */
    fix(pf);
    atomic_fetch_add_explicit(&pf->hdr->recoveries, 1, memory_order_relaxed);
    pthread_mutex_consistent(mu);
}

void lumen__pf_lock(struct lumen_prefork *pf, pthread_mutex_t *mu, lumen__pf_repair_fn fix,
                    sigset_t *old)
{
    lumen__sigblock(old);
    int e = pthread_mutex_lock(mu);
    if (e == EOWNERDEAD) {
        repair(pf, mu, fix);
    } else if (e != 0) {
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: a pre-forked family's lock failed: errno %d", e);
    }
}

void lumen__pf_unlock(pthread_mutex_t *mu, const sigset_t *old)
{
    pthread_mutex_unlock(mu);
    lumen__sigrestore(old);
}

void lumen__pf_repair_if_dead(struct lumen_prefork *pf, pthread_mutex_t *mu,
                              lumen__pf_repair_fn fix)
{
    sigset_t old;
    lumen__sigblock(&old);
    int e = pthread_mutex_trylock(mu);
    if (e == EOWNERDEAD)
        repair(pf, mu, fix);
    if (e == 0 || e == EOWNERDEAD)
        pthread_mutex_unlock(mu);
    lumen__sigrestore(&old);
}

/* ---- processes --------------------------------------------------------- */

/* /proc/<pid>/stat: the state letter, the thread count and the start time
 * (clock ticks after boot). 0 when read, -1 when there is no such process,
 * -2 when /proc cannot tell. open(2) and read(2) only: this runs in the
 * child of a fork(), before it returns. */
static int proc_stat(pid_t pid, char *state, long *threads, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? (access("/proc/self/stat", R_OK) == 0 ? -1 : -2)
                                                 : -2;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return n == 0 || errno == ESRCH ? -1 : -2;
    buf[n] = '\0';
    /* The command name, field 2, is in parentheses and may hold anything:
     * the fields after it start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 1,
               " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld %*d %llu",
               state, threads, start) != 3)
        return -2;
    return 0;
}

bool lumen__pf_alive(struct lumen_prefork *pf, uint32_t w, uint64_t word)
{
    if (lumen__pf_state(word) != LUMEN__PF_LIVE)
        return false;
    pid_t pid = lumen__pf_pid(word);
    if (w == pf->self && pid == pf->pid)
        return true;
    char st;
    long threads;
    unsigned long long start;
    int r = proc_stat(pid, &st, &threads, &start);
    if (r == -1)
        return false;
    if (r == -2)
        return !(kill(pid, 0) != 0 && errno == ESRCH);
    /* The first look at a slot records the start time of the process
     * holding its pid; a later one that differs means the worker exited
     * and its pid was reused. (The worker does not record its own: under
     * qemu-user its /proc/self is emulated, with another clock.) Should
     * the pid already be reused at the first look, the slot is reclaimed
     * late, when that process exits: never early. */
    _Atomic uint64_t *seen = &lumen__pf_slot_at(pf->hdr, w)->start;
    uint64_t mine = atomic_load_explicit(seen, memory_order_acquire);
    if (mine == 0 && !atomic_compare_exchange_strong_explicit(
                         seen, &mine, start + 1, memory_order_acq_rel, memory_order_acquire))
        mine = atomic_load_explicit(seen, memory_order_acquire);
    if (mine != 0 && mine - 1 != start)
        return false;
    /* A zombie leader whose other threads still run is alive. */
    return !((st == 'Z' || st == 'X') && threads <= 1);
}

/* ---- gauges: the paths of update.c --------------------------------------- */

/* The worker's two cells of a shared gauge (value bits, time of the last
 * change), or NULL without a slot. */
static _Atomic uint64_t *gauge_cells(const lumen__child *c)
{
    const struct lumen_prefork *pf = c->fam->shared->pf;
    if (pf->self == LUMEN__PF_NONE || pf->detached)
        return NULL;
    return lumen__pf_lane(pf->hdr, pf->self, 0) + (c->cell - 2 * pf->base);
}

static uint64_t stamp(void)
{
    int64_t t = lumen__wall_ns();
    return t > 0 ? (uint64_t)t : 1;
}

void lumen__prefork_gauge_set(const lumen__child *c, double v)
{
    _Atomic uint64_t *g = gauge_cells(c);
    if (g == NULL)
        return;
    atomic_store_explicit(&g[0], lumen__f64_bits(v), memory_order_relaxed);
    atomic_store_explicit(&g[1], stamp(), memory_order_release);
}

void lumen__prefork_gauge_add(const lumen__child *c, double v)
{
    _Atomic uint64_t *g = gauge_cells(c);
    if (g == NULL)
        return;
    uint64_t old = atomic_load_explicit(&g[0], memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&g[0], &old,
                                                  lumen__f64_bits(lumen__bits_f64(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_store_explicit(&g[1], stamp(), memory_order_release);
}

double lumen__prefork_gauge_value(const lumen__child *c)
{
    _Atomic uint64_t *g = gauge_cells(c);
    return g != NULL ? lumen__bits_f64(atomic_load_explicit(&g[0], memory_order_relaxed)) : 0;
}
