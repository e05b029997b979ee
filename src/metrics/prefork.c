/*
 * metrics/prefork.c: a process's attachment to the shared memory of a
 * pre-forked family (lumen/prefork.h; the layout is in prefork_shm.h).
 *
 * Attaching takes three things in this process: a range of handle slots
 * (slots.h) whose pairs of cell ids name the shared cells; a worker slot
 * in shared memory; and a hook (cells.h) that maps, in every cell region
 * of this process, the window of those cell ids onto this worker's lane
 * for the region. A child of fork() inherits the mappings of its parent's
 * lanes, which it must not write: the fork handler, before fork() returns
 * in the child, takes a worker slot for it and maps its windows onto that
 * slot's lanes (or onto private memory when no slot is free).
 *
 * This file is the top of the pre-forked files: registry.c and render.c
 * reach it only through the registry's shared_ops, which it installs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/cpu.h"
#include "core/diag.h"
#include "core/sigblock.h"
#include "core/tctx.h"
#include "core/versioned.h"
#include "metrics/family.h"
#include "metrics/names.h"
#include "metrics/prefork_fold.h"
#include "metrics/prefork_render.h"
#include "metrics/prefork_table.h"
#include "metrics/registry.h"

/* Serialises attaching, detaching and fork() against each other. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
/* The handle slots reserved by the first attachment, kept for the next. */
static uint32_t g_res_base, g_res_n;

#if defined(__linux__) && UINTPTR_MAX > 0xffffffffu
#define HAVE_PREFORK 1
#endif

/* ---- worker slots ------------------------------------------------------ */

/* Take a free worker slot for this process, reclaiming the slots of
 * exited workers when none is free. LUMEN__PF_NONE when every slot holds
 * a running process. */
static uint32_t claim(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    pid_t pid = getpid();
    for (int round = 0; round < 2; round++) {
        for (uint32_t w = 0; w < h->max_workers; w++) {
            lumen__pf_slot *s = lumen__pf_slot_at(h, w);
            uint64_t word = atomic_load_explicit(&s->word, memory_order_acquire);
            if (lumen__pf_state(word) != LUMEN__PF_FREE)
                continue;
            uint64_t mine = lumen__pf_word(LUMEN__PF_LIVE, lumen__pf_gen(word), pid);
            if (!atomic_compare_exchange_strong_explicit(
                    &s->word, &word, mine, memory_order_acq_rel, memory_order_relaxed))
                continue;
            lumen__pf_point(LUMEN__PF_AT_SLOT_CLAIMED);
            atomic_store_explicit(&s->started_ns, lumen__wall_ns(), memory_order_relaxed);
            atomic_fetch_add_explicit(&h->workers_started, 1, memory_order_relaxed);
            return w;
        }
        if (round > 0)
            break;
        sigset_t old;
        lumen__pf_lock(pf, &h->fold_mu, lumen__pf_repair_fold, &old);
        int n = lumen__pf_reclaim_locked(pf);
        lumen__pf_unlock(&h->fold_mu, &old);
        if (n == 0)
            break;
    }
    atomic_fetch_add_explicit(&h->workers_refused, 1, memory_order_relaxed);
    return LUMEN__PF_NONE;
}

/* ---- windows ----------------------------------------------------------- */

/* The cells hook: map the window of a region onto this worker's lane for
 * it; onto private memory when there is no lane (no slot, detaching, a
 * CPU or stripe index past the lanes). False refuses a region whose index
 * has no lane, so that its CPU's updates take the portable path. */
static bool window(uint64_t *region, int kind, unsigned index, void *ud)
{
    struct lumen_prefork *pf = ud;
    lumen__pf_hdr *h = pf->hdr;
    bool in = kind == LUMEN__CELLS_CPU ? index < h->ncpu : index < h->nstripe;
    uint32_t lane = kind == LUMEN__CELLS_CPU ? index : h->ncpu + index;
    void *at = region + 2 * (uint64_t)pf->base;
    size_t len = (size_t)h->lane_bytes;
    if (in && !pf->detached && pf->self != LUMEN__PF_NONE) {
        if (mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, pf->fd,
                 (off_t)lumen__pf_lane_off(h, pf->self, lane)) != MAP_FAILED) {
            /* Before the region is published: a render that sees any add
             * to this lane sees its bit. */
            atomic_fetch_or_explicit(&lumen__pf_slot_at(h, pf->self)->lanes[lane / 64],
                                     (uint64_t)1 << (lane % 64), memory_order_release);
            return true;
        }
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: cannot map a pre-forked worker's cells: errno %d",
                    errno);
        in = false;
    }
    if (mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
        return false;
    return in || pf->detached || pf->self == LUMEN__PF_NONE;
}

/* ---- fork -------------------------------------------------------------- */

static void fork_prepare(void)
{
    pthread_mutex_lock(&g_mu);
    struct lumen_prefork *pf = lumen__pf_cur;
    if (pf != NULL) {
        /* A worker creates label sets of the shared families, takes handle
         * slots and maps cells: what another thread of the parent may hold
         * at fork() must be free in the child. */
        pthread_mutex_lock(&pf->mu);
        for (size_t i = 0; i < pf->nfams; i++)
            pthread_mutex_lock(&pf->fams[i]->f->mu);
        lumen__slots_atfork_prepare();
        lumen__cells_atfork_prepare();
    }
}

static void unlock_families(struct lumen_prefork *pf)
{
    for (size_t i = pf->nfams; i-- > 0;)
        pthread_mutex_unlock(&pf->fams[i]->f->mu);
}

static void fork_parent(void)
{
    struct lumen_prefork *pf = lumen__pf_cur;
    if (pf != NULL) {
        lumen__cells_atfork_parent();
        lumen__slots_atfork_parent();
        unlock_families(pf);
        pthread_mutex_unlock(&pf->mu);
    }
    pthread_mutex_unlock(&g_mu);
}

/* In the child, before fork() returns: a slot of its own, and its windows
 * moved off its parent's lanes. */
static void fork_child(void)
{
    struct lumen_prefork *pf = lumen__pf_cur;
    if (pf != NULL) {
        pf->self = LUMEN__PF_NONE;
        pf->pid = getpid();
        pf->self = claim(pf);
        lumen__cells_atfork_child_rehook();
        lumen__slots_atfork_child();
        unlock_families(pf);
        pthread_mutex_unlock(&pf->mu);
        atomic_store_explicit(&lumen__tctx_pid, (int32_t)pf->pid, memory_order_relaxed);
        if (pf->self == LUMEN__PF_NONE)
            lumen__diag(LUMEN_DIAG_ERROR,
                        "metrics: no free worker slot for process %d (max_workers %u): its "
                        "metrics are not shared",
                        (int)pf->pid, pf->hdr->max_workers);
    }
    pthread_mutex_unlock(&g_mu);
}

static void install_atfork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- layout ------------------------------------------------------------ */

/* CPU ids run below this (the highest possible CPU + 1). */
static uint32_t possible_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        /* A list of ranges ("0-3,8-11"): a few per NUMA node at most. */
        char buf[512];
        ssize_t k = read(fd, buf, sizeof buf - 1);
        close(fd);
        long max = -1;
        for (ssize_t i = 0; k > 0 && i < k;) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                long v = 0;
                while (i < k && buf[i] >= '0' && buf[i] <= '9')
                    v = v * 10 + (buf[i++] - '0');
                if (v > max)
                    max = v;
            } else {
                i++;
            }
        }
        if (max + 1 > n)
            n = max + 1;
    }
    return n < 1 ? 1 : n > LUMEN__CPU_MAX ? LUMEN__CPU_MAX : (uint32_t)n;
}

/* As many stripes as cells.c uses. */
static uint32_t stripes(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    return n < 1 ? 1 : n > LUMEN__CELL_STRIPES ? LUMEN__CELL_STRIPES : (uint32_t)n;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

/* Fill the sizes and offsets of a header from the options. */
static int layout(lumen__pf_hdr *h, const lumen_prefork_options *o)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t workers = o->max_workers ? o->max_workers : LUMEN_PREFORK_DEFAULT_MAX_WORKERS;
    uint64_t fams = o->max_families ? o->max_families : LUMEN_PREFORK_DEFAULT_MAX_FAMILIES;
    uint64_t series = o->max_series ? o->max_series : LUMEN_PREFORK_DEFAULT_MAX_SERIES;
    if (workers > LUMEN_PREFORK_MAX_WORKERS || fams > LUMEN_PREFORK_MAX_FAMILIES ||
        series > LUMEN_PREFORK_MAX_SERIES)
        return LUMEN_EINVAL;
    uint64_t cells = o->max_cells ? o->max_cells : LUMEN_PREFORK_DEFAULT_CELLS_PER_SERIES * series;
    uint64_t heap = o->max_label_bytes ? o->max_label_bytes
                                       : LUMEN_PREFORK_DEFAULT_LABEL_BYTES_PER_SERIES * series;
    /* Whole pages of cells, so that a window maps pages. */
    cells = round_up(cells, page / sizeof(uint64_t));
    if (cells > LUMEN_PREFORK_MAX_CELLS || heap >= UINT32_MAX)
        return LUMEN_EINVAL;
    uint64_t cap = 1;
    while (cap < 2 * series)
        cap *= 2;
    h->page = (uint32_t)page;
    h->max_workers = (uint32_t)workers;
    h->max_families = (uint32_t)fams;
    h->ncpu = possible_cpus();
    h->nstripe = stripes();
    h->nlanes = h->ncpu + h->nstripe;
    h->bitmap_words = (h->nlanes + 63) / 64;
    h->max_series = series;
    h->table_cap = cap;
    h->max_cells = cells;
    h->heap_bytes = heap;
    h->slot_bytes = round_up(sizeof(lumen__pf_slot) + h->bitmap_words * sizeof(uint64_t), 64);
    h->lane_bytes = cells * sizeof(uint64_t);
    uint64_t at = round_up(sizeof *h, 64);
    h->off_slots = at;
    at = round_up(at + workers * h->slot_bytes, 64);
    h->off_fams = at;
    at = round_up(at + fams * sizeof(lumen__pf_fam), 64);
    h->off_series = at;
    at = round_up(at + series * sizeof(lumen__pf_series), 64);
    h->off_index = at;
    at = round_up(at + cap * sizeof(uint32_t), 64);
    h->off_heap = at;
    at = round_up(at + heap, page);
    h->off_acc = at;
    at += 2 * h->lane_bytes;
    h->off_lanes = at;
    h->total = at + workers * h->nlanes * h->lane_bytes;
    return LUMEN_OK;
}

static int init_mutex(pthread_mutex_t *mu)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return LUMEN_ENOMEM;
    int rc = LUMEN_OK;
    if (pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
        pthread_mutex_init(mu, &a) != 0)
        rc = LUMEN_ENOTSUP;
    pthread_mutexattr_destroy(&a);
    return rc;
}

/* ---- attaching and detaching ------------------------------------------- */

/* Robust mutexes release a dead holder's lock through the kernel's robust
 * futex list; where the kernel (or qemu-user) has none, say so once. */
static void robust_check(void)
{
#ifdef SYS_get_robust_list
    void *head;
    size_t len;
    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 && errno == ENOSYS)
        lumen__diag(LUMEN_DIAG_WARN,
                    "metrics: no robust futexes here: a process of the pre-forked family killed "
                    "while creating a label set or reclaiming a slot would leave that lock held");
#endif
}

/* The names of the family's own metrics (prefork_render.c), declared by
 * its collector so that a shared family of the same name is refused when
 * it is created. */
static const char *const self_names[] = {
    "lumen_prefork_workers",
    "lumen_prefork_workers_started",
    "lumen_prefork_workers_refused",
    "lumen_prefork_workers_reclaimed",
    "lumen_prefork_lock_recoveries",
    "lumen_prefork_label_sets_refused",
    "lumen_prefork_capacity_used_ratio",
    "lumen_prefork_series_overflow",
};

/* ---- the hooks of registry.c and render.c -------------------------------- */

static int family_new(lumen__registry *r, lumen_metric_type type, const char *name,
                      const lumen_family_options *opts, uintptr_t *ftok, uintptr_t *only);

/* The shared family of this process named `name` (a counter's with or
 * without _total), as lumen_family_lookup finds a registered one. */
static int family_lookup(lumen__registry *r, const char *name, uintptr_t *out)
{
    struct lumen_prefork *pf = r->prefork;
    int rc = LUMEN_ENOENT;
    pthread_mutex_lock(&pf->mu);
    for (size_t i = 0; i < pf->nfams && rc != LUMEN_OK; i++) {
        const lumen__family *f = pf->fams[i]->f;
        size_t n = lumen__family_base_len(f->type, name);
        if (strlen(f->name) == n && memcmp(f->name, name, n) == 0) {
            *out = f->tok;
            rc = LUMEN_OK;
        }
    }
    pthread_mutex_unlock(&pf->mu);
    return rc;
}

static void *render_begin(struct lumen_prefork *pf)
{
    return lumen__pf_render_begin(pf);
}

static size_t render_count(const void *rs)
{
    return lumen__pf_render_count(rs);
}

static const char *render_name(const void *rs, size_t i)
{
    return lumen__pf_render_name(rs, i);
}

static void render_family(void *rs, size_t i, struct lumen__rctx *c)
{
    lumen__pf_render_family(rs, i, c);
}

static void render_end(void *rs)
{
    lumen__pf_render_end(rs);
}

static const lumen__shared_ops shared_ops = {
    family_new, family_lookup, render_begin, render_count, render_name, render_family, render_end,
};

/* Under g_mu, with pf->hdr mapped and pf->fd set: take what this process
 * needs (handle slots, a worker slot, the registry) and start sharing. */
static int attach(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    uint32_t need = (uint32_t)(h->max_cells / 2);
    int rc = LUMEN_OK;
    if (g_res_n == 0)
        rc = lumen__slot_reserve(need, h->page / 16, &g_res_base) == LUMEN_OK ? LUMEN_OK
                                                                              : LUMEN_ELIMIT;
    if (rc == LUMEN_OK && g_res_n == 0)
        g_res_n = need;
    if (rc != LUMEN_OK || need > g_res_n)
        return LUMEN_ELIMIT;
    pf->base = g_res_base;
    pf->pid = getpid();
    if ((pf->views = lumen__calloc(h->max_families, sizeof *pf->views)) == NULL)
        return LUMEN_ENOMEM;
    lumen_registry *reg;
    if ((rc = lumen_registry_new(&reg)) != LUMEN_OK)
        return rc;
    pf->reg = (uintptr_t)reg;
    lumen_collector_options co = LUMEN_COLLECTOR_OPTIONS_INIT;
    co.family_names = self_names;
    co.family_count = LUMEN_ARRAY_LEN(self_names);
    if ((rc = lumen_registry_add_collector(&pf->col, reg, &co, lumen__pf_collect, pf)) != LUMEN_OK)
        return rc;
    if ((pf->self = claim(pf)) == LUMEN__PF_NONE)
        return LUMEN_ELIMIT;
    lumen__registry *r = lumen__registry_get(reg);
    r->prefork = pf;
    r->shared_ops = &shared_ops;
    lumen__registry_put(r);
    lumen__cpu_init();
    robust_check();
    lumen__pf_cur = pf;
    lumen__cells_set_hook(window, pf);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_atfork);
    atomic_store_explicit(&lumen__tctx_pid, (int32_t)pf->pid, memory_order_relaxed);
    return LUMEN_OK;
}

static struct lumen_prefork *pf_alloc(void)
{
    struct lumen_prefork *pf = lumen__calloc(1, sizeof *pf);
    if (pf != NULL) {
        pf->fd = -1;
        pf->self = LUMEN__PF_NONE;
        pthread_mutex_init(&pf->mu, NULL);
    }
    return pf;
}

/* Undo what a failed attach or a detach leaves: the registry, the views,
 * the mapping, the descriptor. */
static void pf_release(struct lumen_prefork *pf)
{
    if (pf->reg != 0)
        lumen_registry_free((lumen_registry *)pf->reg);
    if (pf->views != NULL) {
        for (uint32_t i = 0; i < pf->hdr->max_families; i++)
            lumen__free(pf->views[i].ids, pf->views[i].cap * sizeof(uint32_t));
        lumen__free(pf->views, pf->hdr->max_families * sizeof *pf->views);
    }
    lumen__free(pf->fams, pf->cap * sizeof *pf->fams);
    if (pf->hdr != NULL)
        munmap(pf->hdr, pf->bytes);
    if (pf->fd >= 0)
        close(pf->fd);
    pthread_mutex_destroy(&pf->mu);
    lumen__free(pf, sizeof *pf);
}

static const size_t options_sizes[] = {0, sizeof(lumen_prefork_options)};

LUMEN_API int lumen_prefork_options_init(lumen_prefork_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

LUMEN_API int lumen_prefork_new(lumen_prefork **out, const lumen_prefork_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_prefork_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes, LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK)
        return rc;
#ifndef HAVE_PREFORK
    return LUMEN_ENOTSUP;
#else
    lumen__pf_hdr tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    rc = layout(&tmpl, &o);
    if (rc != LUMEN_OK)
        return rc;
    pthread_mutex_lock(&g_mu);
    struct lumen_prefork *pf = NULL;
    if (lumen__pf_cur != NULL) {
        rc = LUMEN_EBUSY;
        goto fail;
    }
    if ((pf = pf_alloc()) == NULL) {
        rc = LUMEN_ENOMEM;
        goto fail;
    }
    pf->fd = memfd_create("lumen-prefork", MFD_CLOEXEC);
    if (pf->fd < 0) {
        rc = errno == ENOSYS ? LUMEN_ENOTSUP : LUMEN_ESYS;
        goto fail;
    }
    if (ftruncate(pf->fd, (off_t)tmpl.total) != 0) {
        rc = LUMEN_ESYS;
        goto fail;
    }
    void *p = mmap(NULL, (size_t)tmpl.total, PROT_READ | PROT_WRITE, MAP_SHARED, pf->fd, 0);
    if (p == MAP_FAILED) {
        rc = errno == ENOMEM ? LUMEN_ENOMEM : LUMEN_ESYS;
        goto fail;
    }
    pf->hdr = p;
    pf->bytes = (size_t)tmpl.total;
    lumen__pf_hdr *h = pf->hdr;
    memcpy(h, &tmpl, sizeof tmpl);
    h->layout = LUMEN__PF_LAYOUT;
    h->mutex_size = sizeof(pthread_mutex_t);
    h->created_ns = lumen__wall_ns();
    if ((rc = init_mutex(&h->create_mu)) != LUMEN_OK || (rc = init_mutex(&h->fold_mu)) != LUMEN_OK)
        goto fail;
    /* The magic last: a joiner accepts only a finished header. */
    atomic_thread_fence(memory_order_release);
    h->magic = LUMEN__PF_MAGIC;
    if ((rc = attach(pf)) != LUMEN_OK)
        goto fail;
    pthread_mutex_unlock(&g_mu);
    *out = pf;
    return LUMEN_OK;
fail:
    if (pf != NULL) {
        if (lumen__pf_cur == pf) {
            lumen__cells_set_hook(NULL, NULL);
            lumen__pf_cur = NULL;
        }
        pf_release(pf);
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
#endif
}

LUMEN_API int lumen_prefork_join(lumen_prefork **out, int fd)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
#ifndef HAVE_PREFORK
    (void)fd;
    return LUMEN_ENOTSUP;
#else
    struct stat st;
    lumen__pf_hdr probe;
    if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof probe ||
        pread(fd, &probe, sizeof probe, 0) != (ssize_t)sizeof probe ||
        probe.magic != LUMEN__PF_MAGIC || probe.layout != LUMEN__PF_LAYOUT ||
        probe.mutex_size != sizeof(pthread_mutex_t) ||
        probe.page != (uint32_t)sysconf(_SC_PAGESIZE) || probe.total != (uint64_t)st.st_size)
        return LUMEN_EINVAL;
    pthread_mutex_lock(&g_mu);
    int rc = LUMEN_OK;
    struct lumen_prefork *pf = NULL;
    if (lumen__pf_cur != NULL) {
        rc = LUMEN_EBUSY;
        goto fail;
    }
    if ((pf = pf_alloc()) == NULL) {
        rc = LUMEN_ENOMEM;
        goto fail;
    }
    if ((pf->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        rc = LUMEN_ESYS;
        goto fail;
    }
    void *p = mmap(NULL, (size_t)probe.total, PROT_READ | PROT_WRITE, MAP_SHARED, pf->fd, 0);
    if (p == MAP_FAILED) {
        rc = errno == ENOMEM ? LUMEN_ENOMEM : LUMEN_ESYS;
        goto fail;
    }
    pf->hdr = p;
    pf->bytes = (size_t)probe.total;
    if ((rc = attach(pf)) != LUMEN_OK)
        goto fail;
    pthread_mutex_unlock(&g_mu);
    *out = pf;
    return LUMEN_OK;
fail:
    if (pf != NULL) {
        if (lumen__pf_cur == pf) {
            lumen__cells_set_hook(NULL, NULL);
            lumen__pf_cur = NULL;
        }
        pf_release(pf);
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
#endif
}

LUMEN_API void lumen_prefork_free(lumen_prefork *pf)
{
    if (pf == NULL)
        return;
    pthread_mutex_lock(&g_mu);
    /* The handles die first; dropping each family waits for a grace
     * period, after which no rseq section can still add through them. */
    pthread_mutex_lock(&pf->mu);
    lumen__pf_family **fams = pf->fams;
    size_t n = pf->nfams, cap = pf->cap;
    pf->fams = NULL;
    pf->nfams = pf->cap = 0;
    pthread_mutex_unlock(&pf->mu);
    for (size_t i = 0; i < n; i++) {
        lumen__family_unref(fams[i]->f);
        lumen__free(fams[i], sizeof *fams[i]);
    }
    lumen__free(fams, cap * sizeof *fams);
    if (lumen__pf_cur == pf) {
        pf->detached = true;
        lumen__cells_set_hook(window, pf); /* every window onto private memory */
        lumen__cells_set_hook(NULL, NULL);
        lumen__pf_cur = NULL;
        atomic_store_explicit(&lumen__tctx_pid, 0, memory_order_relaxed);
    }
    /* What it counted stays, to be folded when its slot is reclaimed. */
    if (pf->self != LUMEN__PF_NONE) {
        lumen__pf_slot *s = lumen__pf_slot_at(pf->hdr, pf->self);
        uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
        if (lumen__pf_state(w) == LUMEN__PF_LIVE && lumen__pf_pid(w) == pf->pid)
            atomic_compare_exchange_strong_explicit(
                &s->word, &w, lumen__pf_word(LUMEN__PF_LEFT, lumen__pf_gen(w), pf->pid),
                memory_order_acq_rel, memory_order_relaxed);
    }
    pf_release(pf);
    pthread_mutex_unlock(&g_mu);
}

LUMEN_API int lumen_prefork_fd(const lumen_prefork *pf)
{
    return pf != NULL ? pf->fd : -1;
}

LUMEN_API lumen_registry *lumen_prefork_registry(const lumen_prefork *pf)
{
    return pf != NULL ? (lumen_registry *)pf->reg : NULL;
}

LUMEN_API int lumen_prefork_reclaim(size_t *out, lumen_prefork *pf)
{
    if (out != NULL)
        *out = 0;
    if (pf == NULL)
        return LUMEN_EINVAL;
    sigset_t old;
    lumen__pf_lock(pf, &pf->hdr->fold_mu, lumen__pf_repair_fold, &old);
    int n = lumen__pf_reclaim_locked(pf);
    lumen__pf_unlock(&pf->hdr->fold_mu, &old);
    if (out != NULL)
        *out = (size_t)n;
    return LUMEN_OK;
}

static bool has_pid_label(const lumen__pf_hdr *h, const lumen__pf_fam *f)
{
    const char *p = lumen__pf_heap(h, f->labels);
    for (uint32_t i = 0; i < f->nlabels; p += strlen(p) + 1, i++)
        if (strcmp(p, "pid") == 0)
            return true;
    p = lumen__pf_heap(h, f->consts);
    for (uint32_t i = 0; i < f->nconst; i++) {
        if (strcmp(p, "pid") == 0)
            return true;
        p += strlen(p) + 1; /* the name */
        p += strlen(p) + 1; /* the value */
    }
    return false;
}

LUMEN_API int lumen_prefork_set_gauge_mode(lumen_prefork *pf, const char *name,
                                           lumen_prefork_gauge_mode mode)
{
    if (pf == NULL || name == NULL || (int)mode < LUMEN_PREFORK_GAUGE_ALL ||
        mode > LUMEN_PREFORK_GAUGE_LIVEMOSTRECENT)
        return LUMEN_EINVAL;
    uint32_t i = lumen__pf_family_find(pf->hdr, name);
    if (i == LUMEN__PF_NONE)
        return LUMEN_ENOENT;
    lumen__pf_fam *f = lumen__pf_fam_at(pf->hdr, i);
    if (f->type != LUMEN_METRIC_GAUGE)
        return LUMEN_ETYPE;
    if ((mode == LUMEN_PREFORK_GAUGE_ALL || mode == LUMEN_PREFORK_GAUGE_LIVEALL) &&
        has_pid_label(pf->hdr, f))
        return LUMEN_ERESERVED;
    atomic_store_explicit(&f->mode, (uint32_t)mode, memory_order_relaxed);
    return LUMEN_OK;
}

/* ---- families: the hook of lumen__family_new (registry.c) --------------- */

static int family_new(lumen__registry *r, lumen_metric_type type, const char *name,
                      const lumen_family_options *opts, uintptr_t *ftok, uintptr_t *only)
{
    struct lumen_prefork *pf = r->prefork;
    if (type == LUMEN_METRIC_SUMMARY)
        return LUMEN_ETYPE;
    lumen__family *f;
    int rc = lumen__family_build(&f, type, name, opts);
    if (rc != LUMEN_OK)
        return rc;
    /* Exemplars stay in the process that records them: not shared. */
    f->flags &= ~(unsigned)LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
    if (type == LUMEN_METRIC_GAUGE) {
        for (size_t i = 0; i < f->nlabels + f->nconst; i++)
            if (strcmp(i < f->nlabels ? f->label_names[i] : f->const_names[i - f->nlabels],
                       "pid") == 0)
                rc = LUMEN_ERESERVED;
    }
    if (rc == LUMEN_OK && lumen__registry_clashes(r, f))
        rc = LUMEN_EEXIST;
    lumen__pf_family *pfam = NULL;
    pthread_mutex_lock(&pf->mu);
    for (size_t i = 0; rc == LUMEN_OK && i < pf->nfams; i++)
        if (strcmp(pf->fams[i]->f->name, f->name) == 0)
            rc = LUMEN_EEXIST;
    if (rc == LUMEN_OK && pf->nfams == pf->cap) {
        size_t cap = pf->cap ? pf->cap * 2 : 16;
        lumen__pf_family **v = lumen__realloc(pf->fams, pf->cap * sizeof *v, cap * sizeof *v);
        if (v == NULL)
            rc = LUMEN_ENOMEM;
        else
            pf->fams = v, pf->cap = cap;
    }
    if (rc == LUMEN_OK && (pfam = lumen__calloc(1, sizeof *pfam)) == NULL)
        rc = LUMEN_ENOMEM;
    if (rc == LUMEN_OK)
        rc = lumen__pf_family_get(pf, f, &pfam->idx);
    if (rc == LUMEN_OK)
        rc = lumen__slot_alloc(LUMEN__SLOT_FAMILY, f, 0, &f->tok);
    if (rc != LUMEN_OK) {
        pthread_mutex_unlock(&pf->mu);
        lumen__free(pfam, sizeof *pfam);
        lumen__family_destroy(f);
        return rc;
    }
    pfam->pf = pf;
    pfam->f = f;
    f->shared = pfam;
    pf->fams[pf->nfams++] = pfam;
    pthread_mutex_unlock(&pf->mu);
    uintptr_t only_tok = 0;
    if (f->nlabels == 0 &&
        (rc = lumen__family_child(f->tok, type, NULL, 0, &only_tok)) != LUMEN_OK) {
        /* Undo: nothing of the family is left in this process. */
        pthread_mutex_lock(&pf->mu);
        for (size_t i = 0; i < pf->nfams; i++)
            if (pf->fams[i] == pfam) {
                pf->fams[i] = pf->fams[--pf->nfams];
                break;
            }
        pthread_mutex_unlock(&pf->mu);
        lumen__family_unref(f);
        lumen__free(pfam, sizeof *pfam);
        return rc;
    }
    if (ftok != NULL)
        *ftok = f->tok;
    if (only != NULL)
        *only = only_tok;
    return LUMEN_OK;
}
