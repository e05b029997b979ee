/* tests/metrics/test_metrics_reclaim.c: what is taken away while other
 * threads still use it. Series are removed and cleared, families
 * unregistered and registries freed while other threads look series up,
 * update them through fresh and stale handles, and render: nothing may
 * read freed memory (this file runs under ASan and TSan), every update
 * through a dead handle is dropped and counted, totals of the series that
 * were never removed are exact, and every render is well formed. The
 * per-CPU cells are exercised at more threads than CPUs, through thread
 * churn and under a storm of signals that restart their critical
 * sections. ctest runs the file twice: as the machine allows (rseq where
 * the kernel and libc have it) and with LUMEN_METRICS_RSEQ=false (the
 * portable path). */
#include "peer_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/rcu.h"
#include "lumen/metrics.h"
#include "metrics/internal.h"

#if defined(LUMEN__HAVE_RSEQ)
#include <sys/rseq.h>
#endif

/* ThreadSanitizer runs everything some twenty times slower: a smaller
 * scale keeps the same interleavings within the test's time. */
#if defined(__SANITIZE_THREAD__)
#define SCALE 8
#else
#define SCALE 1
#endif

/* Bounded in time: every loop below also stops at its count. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a render validator ------------------------------------------------ */

/* Well-formed lines; histogram buckets cumulative with _count equal to
 * the +Inf bucket; OpenMetrics ends with # EOF. */
static void check_render(const char *text, bool om)
{
    char prev_series[512] = "";
    double prev_bucket = 0, inf_bucket = -1;
    const char *p = text;
    bool eof = false;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        assert_true(len > 0);
        assert_false(eof);
        if (p[0] == '#') {
            if (len == 5 && memcmp(p, "# EOF", 5) == 0)
                eof = true;
            else
                assert_true(strncmp(p, "# TYPE ", 7) == 0 || strncmp(p, "# HELP ", 7) == 0 ||
                            strncmp(p, "# UNIT ", 7) == 0);
        } else {
            const char *sp = memchr(p, ' ', len);
            const char *br = memchr(p, '{', len);
            if (br != NULL && br < sp) /* a quoted value may hold a space */
                sp = strstr(br, "} ") + 1;
            assert_non_null(sp);
            char *end;
            double v = strtod(sp + 1, &end);
            assert_true(end > sp + 1);
            assert_true(*end == '\n' || *end == ' ');
            const char *b = strstr(p, "_bucket{");
            if (b != NULL && b < nl) {
                /* The series: everything but the le pair. */
                const char *le = strstr(b, "le=\"");
                char key[512];
                snprintf(key, sizeof key, "%.*s", (int)(le - p), p);
                if (strcmp(key, prev_series) != 0) {
                    strcpy(prev_series, key);
                    prev_bucket = 0;
                }
                assert_true(v >= prev_bucket);
                prev_bucket = v;
                if (strncmp(le, "le=\"+Inf\"", 9) == 0)
                    inf_bucket = v;
            } else if (strstr(p, "_count") != NULL && strstr(p, "_count") < sp && inf_bucket >= 0) {
                assert_true(v == inf_bucket);
                inf_bucket = -1;
            }
        }
        p = nl + 1;
    }
    assert_true(eof == om);
}

/* ---- a thread's first update inside a signal handler --------------------- */

/* Every allocation lumen makes passes here (installed in main, before any
 * lumen object): one made while a signal handler of the test runs is
 * counted. A handler may interrupt malloc itself (or a sanitizer's
 * allocator: a thread's start under ASan allocates with signals open), so
 * an allocation there can wait forever for a lock its own thread holds. */
static _Thread_local bool t_in_handler;
static atomic_int g_handler_allocs;

static void *count_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (t_in_handler)
        atomic_fetch_add(&g_handler_allocs, 1);
    return malloc(size);
}

static void *count_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    (void)ctx;
    (void)old_size;
    if (t_in_handler)
        atomic_fetch_add(&g_handler_allocs, 1);
    return realloc(p, new_size);
}

static void count_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

static lumen_family *new_fam(lumen_registry *r, lumen_metric_type t, const char *name);

static lumen_family *g_first_fam;
static lumen_counter *g_first_c;
static lumen_histogram *g_first_h;
static atomic_int g_first_done;

static _Thread_local bool t_first_ran;

static void first_handler(int sig)
{
    (void)sig;
    if (t_first_ran) /* a signal sent again (below) after the first ran */
        return;
    t_first_ran = true;
    t_in_handler = true;
    const char *v[] = {"x"};
    lumen_counter *c;
    if (lumen_family_counter(&c, g_first_fam, v, 1) == LUMEN_OK) /* a read section */
        lumen_counter_inc(c);
    lumen_counter_inc(g_first_c);
    lumen_histogram_observe(g_first_h, 1.0);
    t_in_handler = false;
    atomic_fetch_add(&g_first_done, 1);
}

#define FIRST_THREADS 8

static void *first_idle(void *arg)
{
    (void)arg;
    /* Nothing of lumen before the signal: its update is the thread's
     * first (a reader record, a stripe on the portable path). */
    while (atomic_load(&g_first_done) < FIRST_THREADS) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_metrics_reclaim__first_update_in_handler(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    g_first_fam = new_fam(r, LUMEN_METRIC_COUNTER, "first_fam");
    const char *v[] = {"x"};
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, g_first_fam, v, 1), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_first_c, r, "first_c", "h"), LUMEN_OK);
    static const double b[] = {0.5, 1.5};
    assert_int_equal(lumen_histogram_new(&g_first_h, r, "first_h", "h", b, 2), LUMEN_OK);
    struct sigaction sa = {.sa_handler = first_handler};
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
    /* Threads at once, more than this file made before (every earlier
     * test's records are free and reused: these need new ones). */
    pthread_t t[FIRST_THREADS];
    enum { ROUNDS = 4 };
    for (int k = 0; k < ROUNDS; k++) {
        atomic_store(&g_first_done, 0);
        atomic_store(&g_handler_allocs, 0);
        for (int i = 0; i < FIRST_THREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, first_idle, NULL), 0);
        for (int i = 0; i < FIRST_THREADS; i++)
            assert_int_equal(pthread_kill(t[i], SIGUSR2), 0);
        /* ThreadSanitizer can lose a signal sent to a thread still in its
         * start (seen once in a loaded run: every thread idle, one
         * handler never called). Send it again, every second, to the
         * threads still waiting; a handler runs its updates once per
         * thread. A handler stuck inside lumen still fails the test. */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int waited = 0; atomic_load(&g_first_done) < FIRST_THREADS;) {
            struct timespec ts = {0, 10000000}, now;
            nanosleep(&ts, NULL);
            clock_gettime(CLOCK_MONOTONIC, &now);
            int s = (int)(now.tv_sec - t0.tv_sec);
            if (s > 120)
                fail_msg("round %d: %d of %d handlers ran in 120 s", k, atomic_load(&g_first_done),
                         FIRST_THREADS);
            if (s > waited) {
                waited = s;
                print_message("round %d: %d of %d handlers after %d s; signalling again\n", k,
                              atomic_load(&g_first_done), FIRST_THREADS, s);
                for (int i = 0; i < FIRST_THREADS; i++)
                    (void)pthread_kill(t[i], SIGUSR2); /* alive until joined */
            }
        }
        for (int i = 0; i < FIRST_THREADS; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(atomic_load(&g_handler_allocs), 0);
    }
    signal(SIGUSR2, SIG_DFL);
    /* Every handler's updates counted, none lost. */
    assert_true(lumen_counter_value(c) == ROUNDS * FIRST_THREADS);
    assert_true(lumen_counter_value(g_first_c) == ROUNDS * FIRST_THREADS);
    lumen_registry_free(r);
}

/* ---- the case: lookups while a family is cleared --------------- */

#define FIXED 4
static lumen_family *g_fam;
static lumen_family *g_stable;
static atomic_bool g_stop;
static const char *const g_fixed[FIXED] = {"GET", "POST", "PUT", "DELETE"};

static void *lookup_worker(void *arg)
{
    uint64_t *done = arg;
    for (uint64_t i = 0; !atomic_load(&g_stop); i++) {
        const char *v[] = {g_fixed[i % FIXED]};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, g_fam, v, 1), LUMEN_OK);
        lumen_counter_inc(c); /* may be removed meanwhile: dropped, counted */
        assert_int_equal(lumen_family_counter(&c, g_stable, v, 1), LUMEN_OK);
        lumen_counter_inc(c);
        (*done)++;
    }
    return NULL;
}

static void test_metrics_reclaim__lookup_while_clearing(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *ln[] = {"k"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = ln;
    o.label_count = 1;
    assert_int_equal(lumen_family_new(&g_fam, r, LUMEN_METRIC_COUNTER, "churn", &o), LUMEN_OK);
    assert_int_equal(lumen_family_new(&g_stable, r, LUMEN_METRIC_COUNTER, "stable", &o), LUMEN_OK);
    atomic_store(&g_stop, false);
    pthread_t t[3];
    uint64_t done[3] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, lookup_worker, &done[i]), 0);
    char name[32];
    for (int round = 0; round < 300 / SCALE; round++) {
        for (int k = 0; k < 2000; k++) {
            snprintf(name, sizeof name, "s%d", k);
            const char *v[] = {name};
            lumen_counter *c;
            assert_int_equal(lumen_family_counter(&c, g_fam, v, 1), LUMEN_OK);
            lumen_counter_inc(c);
        }
        lumen_family_clear(g_fam);
    }
    atomic_store(&g_stop, true);
    uint64_t total = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        total += done[i];
    }
    /* The family never cleared holds every increment. */
    double sum = 0;
    for (int i = 0; i < FIXED; i++) {
        const char *v[] = {g_fixed[i]};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, g_stable, v, 1), LUMEN_OK);
        sum += lumen_counter_value(c);
    }
    assert_true(sum == (double)total);
    lumen_registry_free(r);
}

/* ---- everything taken away while updates and renders go on -------------- */

typedef struct world {
    _Atomic(lumen_registry *) reg2; /* freed and replaced */
    _Atomic(lumen_family *) fam2;   /* a family of reg2 */
    _Atomic(lumen_family *) cfam;   /* in reg: unregistered and recreated */
    lumen_registry *reg;            /* lives throughout */
    lumen_family *hist;             /* in reg: series removed */
    lumen_family *gauge;            /* in reg: cleared */
    lumen_family *summ;             /* in reg: cleared */
    lumen_family *stable;           /* in reg: never touched */
    lumen_counter *stable_only;
    atomic_bool stop;
    atomic_long renders;
} world;

static world W;

static const char *const g_vals[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};

static void *update_worker(void *arg)
{
    uint64_t *done = arg;
    /* Handles kept across the loop: they die under the worker. */
    lumen_counter *kept_c = NULL;
    lumen_histogram *kept_h = NULL;
    for (uint64_t i = 0; !atomic_load(&W.stop) && i < 20000000; i++) {
        const char *v[] = {g_vals[i % 8]};
        lumen_counter *c;
        lumen_histogram *h;
        lumen_gauge *g;
        lumen_summary *s;
        lumen_family *cf = atomic_load(&W.cfam);
        int rc = lumen_family_counter(&c, cf, v, 1);
        assert_true(rc == LUMEN_OK || rc == LUMEN_ENOENT);
        if (rc == LUMEN_OK) {
            lumen_counter_inc(c);
            lumen_counter_add(c, 0.5);
            if (i % 64 == 0)
                kept_c = c;
        }
        if (lumen_family_histogram(&h, W.hist, v, 1) == LUMEN_OK) {
            lumen_histogram_observe(h, (double)(i % 13) / 10);
            if (i % 64 == 1)
                kept_h = h;
        }
        if (lumen_family_gauge(&g, W.gauge, v, 1) == LUMEN_OK) {
            lumen_gauge_set(g, (double)i);
            lumen_gauge_add(g, 1);
        }
        if (i % 16 == 0 && lumen_family_summary(&s, W.summ, v, 1) == LUMEN_OK)
            lumen_summary_observe(s, (double)i);
        lumen_family *f2 = atomic_load(&W.fam2);
        rc = lumen_family_counter(&c, f2, v, 1);
        assert_true(rc == LUMEN_OK || rc == LUMEN_ENOENT);
        if (rc == LUMEN_OK)
            lumen_counter_inc(c);
        lumen_counter_inc(kept_c);
        lumen_histogram_observe(kept_h, 1);
        /* The stable family: through a lookup and through a kept handle. */
        assert_int_equal(lumen_family_counter(&c, W.stable, v, 1), LUMEN_OK);
        lumen_counter_inc(c);
        lumen_counter_inc(W.stable_only);
        (*done)++;
    }
    return NULL;
}

static int sink_discard(const char *data, size_t len, void *ud)
{
    (void)ud, (void)data, (void)len;
    return 0;
}

static void *render_worker(void *arg)
{
    (void)arg;
    int peer_checks = 0;
    while (!atomic_load(&W.stop)) {
        for (int om = 0; om < 2; om++) {
            char *s = NULL;
            size_t len;
            assert_int_equal(lumen_registry_render_string(&s, &len, W.reg, om), LUMEN_OK);
            check_render(s, om);
            /* A few renders go to the strict parser as well. */
            if (om && peer_checks < 2 && atomic_load(&W.renders) % 40 == 39 &&
                lt_have("/usr/bin/python3")) {
                char *out = NULL;
                assert_int_equal(peer_parse(s, len, 1, &out), 0);
                free(out);
                peer_checks++;
            }
            lumen_free(s);
            lumen_registry *r2 = atomic_load(&W.reg2);
            lumen_registry *both[] = {W.reg, r2};
            int rc = lumen_registries_render(both, 2, om, sink_discard, NULL);
            assert_true(rc == LUMEN_OK || rc == LUMEN_ENOENT);
            atomic_fetch_add(&W.renders, 1);
        }
    }
    return NULL;
}

static lumen_family *new_fam(lumen_registry *r, lumen_metric_type t, const char *name)
{
    const char *ln[] = {"k"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = ln;
    o.label_count = 1;
    static const double q[] = {0.5, 0.9};
    if (t == LUMEN_METRIC_SUMMARY) {
        o.quantiles = q;
        o.quantile_count = 2;
    }
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, r, t, name, &o), LUMEN_OK);
    return f;
}

static void test_metrics_reclaim__everything_while_updating(void **state)
{
    (void)state;
    memset(&W, 0, sizeof W);
    assert_int_equal(lumen_registry_new(&W.reg), LUMEN_OK);
    lumen_registry *r2;
    assert_int_equal(lumen_registry_new(&r2), LUMEN_OK);
    atomic_store(&W.reg2, r2);
    atomic_store(&W.fam2, new_fam(r2, LUMEN_METRIC_COUNTER, "other"));
    atomic_store(&W.cfam, new_fam(W.reg, LUMEN_METRIC_COUNTER, "requests"));
    W.hist = new_fam(W.reg, LUMEN_METRIC_HISTOGRAM, "latency");
    W.gauge = new_fam(W.reg, LUMEN_METRIC_GAUGE, "depth");
    W.summ = new_fam(W.reg, LUMEN_METRIC_SUMMARY, "sizes");
    W.stable = new_fam(W.reg, LUMEN_METRIC_COUNTER, "stable");
    assert_int_equal(lumen_counter_new(&W.stable_only, W.reg, "stable_only", "h"), LUMEN_OK);

    uint64_t lost_before = lumen__metrics_lost_stale();
    enum { UPDATERS = 3 };
    pthread_t up[UPDATERS], rend;
    uint64_t done[UPDATERS] = {0};
    for (int i = 0; i < UPDATERS; i++)
        assert_int_equal(pthread_create(&up[i], NULL, update_worker, &done[i]), 0);
    assert_int_equal(pthread_create(&rend, NULL, render_worker, NULL), 0);

    /* The mutator: a bounded number of rounds, each taking something away. */
    double t0 = now_s();
    int rounds = 0;
    for (; rounds < 3000 / SCALE && (now_s() - t0 < 3.0 || rounds < 50); rounds++) {
        const char *v[] = {g_vals[rounds % 8]};
        switch (rounds % 5) {
        case 0: {
            int rc = lumen_family_remove(W.hist, v, 1);
            assert_true(rc == LUMEN_OK || rc == LUMEN_ENOENT);
            break;
        }
        case 1:
            lumen_family_clear(W.gauge);
            lumen_family_clear(W.summ);
            break;
        case 2: {
            /* Unregister by name, then register again: the old handle dies. */
            assert_int_equal(lumen_registry_unregister(W.reg, "requests"), LUMEN_OK);
            atomic_store(&W.cfam, new_fam(W.reg, LUMEN_METRIC_COUNTER, "requests"));
            break;
        }
        case 3: {
            lumen_registry *nr;
            assert_int_equal(lumen_registry_new(&nr), LUMEN_OK);
            lumen_family *nf = new_fam(nr, LUMEN_METRIC_COUNTER, "other");
            lumen_registry *old = atomic_exchange(&W.reg2, nr);
            atomic_store(&W.fam2, nf);
            lumen_registry_free(old);
            break;
        }
        default:
            /* Many removals at once, past the reclamation threshold. */
            for (int k = 0; k < 1500; k++) {
                char name[16];
                snprintf(name, sizeof name, "x%d", k);
                const char *xv[] = {name};
                lumen_histogram *h;
                assert_int_equal(lumen_family_histogram(&h, W.hist, xv, 1), LUMEN_OK);
                lumen_histogram_observe(h, 1);
            }
            for (int k = 0; k < 1500; k++) {
                char name[16];
                snprintf(name, sizeof name, "x%d", k);
                const char *xv[] = {name};
                assert_int_equal(lumen_family_remove(W.hist, xv, 1), LUMEN_OK);
            }
            break;
        }
    }
    atomic_store(&W.stop, true);
    uint64_t total = 0;
    for (int i = 0; i < UPDATERS; i++) {
        assert_int_equal(pthread_join(up[i], NULL), 0);
        total += done[i];
    }
    assert_int_equal(pthread_join(rend, NULL), 0);
    assert_true(atomic_load(&W.renders) > 0);

    /* Exact where nothing was taken away. */
    double sum = 0;
    for (int i = 0; i < 8; i++) {
        const char *v[] = {g_vals[i]};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, W.stable, v, 1), LUMEN_OK);
        sum += lumen_counter_value(c);
    }
    assert_true(sum == (double)total);
    assert_true(lumen_counter_value(W.stable_only) == (double)total);
    /* Kept handles outlived their series: those updates were counted. */
    assert_true(lumen__metrics_lost_stale() > lost_before);
    lumen_registry_free(atomic_load(&W.reg2));
    lumen_registry_free(W.reg);
}

/* ---- stale handles: dropped, counted, never landing elsewhere ---------- */

static void test_metrics_reclaim__stale_handles_counted(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *cf = new_fam(r, LUMEN_METRIC_COUNTER, "c");
    lumen_family *gf = new_fam(r, LUMEN_METRIC_GAUGE, "g");
    lumen_family *hf = new_fam(r, LUMEN_METRIC_HISTOGRAM, "h");
    lumen_family *sf = new_fam(r, LUMEN_METRIC_SUMMARY, "s");
    const char *v[] = {"x"};
    lumen_counter *c;
    lumen_gauge *g;
    lumen_histogram *h;
    lumen_summary *s;
    assert_int_equal(lumen_family_counter(&c, cf, v, 1), LUMEN_OK);
    assert_int_equal(lumen_family_gauge(&g, gf, v, 1), LUMEN_OK);
    assert_int_equal(lumen_family_histogram(&h, hf, v, 1), LUMEN_OK);
    assert_int_equal(lumen_family_summary(&s, sf, v, 1), LUMEN_OK);
    lumen_counter_inc(c);
    lumen_gauge_set(g, 7);
    assert_true(lumen_counter_value(c) == 1 && lumen_gauge_value(g) == 7);

    /* Removed, cleared, unregistered: each way of dying. */
    assert_int_equal(lumen_family_remove(cf, v, 1), LUMEN_OK);
    lumen_family_clear(gf);
    assert_int_equal(lumen_registry_unregister(r, "h"), LUMEN_OK);
    uint64_t before = lumen__metrics_lost_stale();
    lumen_counter_inc(c);
    lumen_counter_add(c, 2);
    lumen_counter_add(c, 0.25);
    lumen_gauge_set(g, 1);
    lumen_gauge_add(g, 1);
    lumen_histogram_observe(h, 1);
    assert_int_equal(lumen__metrics_lost_stale() - before, 6);
    assert_true(lumen_counter_value(c) == 0 && lumen_gauge_value(g) == 0);
    /* A stale family handle is refused, not dereferenced. */
    assert_int_equal(lumen_family_histogram(&h, hf, v, 1), LUMEN_ENOENT);
    assert_int_equal(lumen_family_remove(hf, v, 1), LUMEN_ENOENT);
    assert_null(lumen_family_name(hf));

    /* Churn enough series that the dead slots and cells are reused; the
     * stale handles still reach none of the new series. */
    lumen_family *nf = new_fam(r, LUMEN_METRIC_COUNTER, "fresh");
    char name[16];
    for (int k = 0; k < 3000; k++) {
        snprintf(name, sizeof name, "n%d", k);
        const char *nv[] = {name};
        lumen_counter *x;
        assert_int_equal(lumen_family_counter(&x, nf, nv, 1), LUMEN_OK);
    }
    lumen_family_clear(nf);
    for (int k = 0; k < 3000; k++) {
        snprintf(name, sizeof name, "m%d", k);
        const char *nv[] = {name};
        lumen_counter *x;
        assert_int_equal(lumen_family_counter(&x, nf, nv, 1), LUMEN_OK);
    }
    before = lumen__metrics_lost_stale();
    for (int i = 0; i < 100; i++) {
        lumen_counter_inc(c);
        lumen_gauge_set(g, 5);
    }
    assert_int_equal(lumen__metrics_lost_stale() - before, 200);
    char *out;
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    assert_null(strstr(out, "fresh_total{k=\"m1\"} 1"));
    assert_non_null(strstr(out, "fresh_total{k=\"m1\"} 0"));
    lumen_free(out);

    /* The registry itself: freed, then every handle from it is dead. */
    lumen_summary_observe(s, 1);
    lumen_registry_free(r);
    before = lumen__metrics_lost_stale();
    lumen_summary_observe(s, 1);
    lumen_counter_inc(c);
    assert_int_equal(lumen__metrics_lost_stale() - before, 2);
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_ENOENT);
    assert_int_equal(lumen_family_counter(&c, cf, v, 1), LUMEN_ENOENT);
    lumen_registry_free(r); /* twice: a no-op */
    /* NULL handles stay no-ops, not losses. */
    before = lumen__metrics_lost_stale();
    lumen_counter_inc(NULL);
    lumen_gauge_set(NULL, 1);
    lumen_histogram_observe(NULL, 1);
    assert_int_equal(lumen__metrics_lost_stale(), before);
    /* The losses are exposed by the default registry. */
    assert_int_equal(lumen_registry_render_string(&out, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    char want[128];
    snprintf(want, sizeof want, "lumen_metrics_updates_lost_total{reason=\"stale_handle\"} %llu\n",
             (unsigned long long)before);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "lumen_metrics_updates_lost_total{reason=\"no_memory\"} 0\n"));
    lumen_free(out);
}

/* ---- more threads than CPUs, churn and signals ------------------------- */

static lumen_counter *g_hot;
static lumen_histogram *g_hoth;
static lumen_counter *g_sig;
static atomic_long g_sig_count;

static void on_signal(int sig)
{
    (void)sig;
    lumen_counter_inc(g_sig); /* a section inside an interrupted one */
    atomic_fetch_add(&g_sig_count, 1);
}

#define HOT_THREADS 64
#define HOT_ITERS (20000 / SCALE)

static void *hot_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < HOT_ITERS; i++) {
        lumen_counter_inc(g_hot);
        lumen_histogram_observe(g_hoth, (double)(i % 4));
        lumen_counter_add(g_hot, 2);
    }
    return NULL;
}

static void test_metrics_reclaim__many_threads_exact(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_hot, r, "hot", "h"), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_sig, r, "sig", "h"), LUMEN_OK);
    static const double b[] = {0.5, 1.5, 2.5};
    assert_int_equal(lumen_histogram_new(&g_hoth, r, "hoth", "h", b, 3), LUMEN_OK);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    atomic_store(&g_sig_count, 0);
    pthread_t t[HOT_THREADS];
    for (int i = 0; i < HOT_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hot_worker, NULL), 0);
    /* Signals land in the middle of the workers' updates. */
    for (int k = 0; k < 2000; k++)
        pthread_kill(t[k % HOT_THREADS], SIGUSR1);
    for (int i = 0; i < HOT_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    signal(SIGUSR1, SIG_DFL);
    assert_true(lumen_counter_value(g_hot) == 3.0 * HOT_THREADS * HOT_ITERS);
    assert_true(lumen_counter_value(g_sig) == (double)atomic_load(&g_sig_count));
    char *out;
    assert_int_equal(lumen_registry_render_string(&out, NULL, r, LUMEN_FORMAT_OPENMETRICS),
                     LUMEN_OK);
    check_render(out, true);
    char want[64];
    snprintf(want, sizeof want, "hoth_count %d\n", HOT_THREADS * HOT_ITERS);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "hoth_bucket{le=\"0.5\"} %d\n", HOT_THREADS * HOT_ITERS / 4);
    assert_non_null(strstr(out, want));
    lumen_free(out);
    /* Cells are per CPU (or per stripe), not per thread. */
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    assert_true(lumen__cells_regions() <= (size_t)cpus + LUMEN__CELL_STRIPES);
    assert_true(lumen__cells_regions() <= 2 * (size_t)cpus + 1);
    lumen_registry_free(r);
}

#define CHURN_SERIES 10000
static lumen_counter *g_many[CHURN_SERIES];
static lumen_family *g_churn_fam;

static void *churn_thread(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    /* Eight series, four through a lookup (a read section), four through
     * kept handles. */
    for (int i = 0; i < 8; i++) {
        size_t idx = (k * 8 + (size_t)i) % CHURN_SERIES;
        if (i < 4) {
            char name[16];
            snprintf(name, sizeof name, "%zu", idx);
            const char *v[] = {name};
            lumen_counter *c;
            assert_int_equal(lumen_family_counter(&c, g_churn_fam, v, 1), LUMEN_OK);
            lumen_counter_inc(c);
        } else {
            lumen_counter_inc(g_many[idx]);
        }
    }
    return NULL;
}

static void test_metrics_reclaim__thread_churn(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    g_churn_fam = new_fam(r, LUMEN_METRIC_COUNTER, "churned");
    for (int i = 0; i < CHURN_SERIES; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", i);
        const char *v[] = {name};
        assert_int_equal(lumen_family_counter(&g_many[i], g_churn_fam, v, 1), LUMEN_OK);
    }
    size_t regions = lumen__cells_regions();
    size_t records = lumen__rcu_records();
    enum { THREADS = 3000 / SCALE };
    for (uintptr_t k = 0; k < THREADS; k++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, churn_thread, (void *)k), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    double sum = 0;
    for (int i = 0; i < CHURN_SERIES; i++)
        sum += lumen_counter_value(g_many[i]);
    assert_true(sum == 8.0 * THREADS);
    /* Threads leave nothing behind: no cells of their own, and reader
     * records are reused (one at a time here). */
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    assert_true(lumen__cells_regions() <= regions + (size_t)cpus + 1);
    assert_true(lumen__rcu_records() <= records + 1);
    lumen_registry_free(r);
}

/* The run tests the path it means to: rseq wherever glibc registered it
 * (so that the fast path cannot silently go untested), the portable one
 * when told to. */
static void test_metrics_reclaim__path_in_use(void **state)
{
    (void)state;
    lumen_registry *r;
    lumen_counter *c;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&c, r, "probe", "h"), LUMEN_OK);
    const char *e = getenv("LUMEN_METRICS_RSEQ");
    if (e != NULL && strcmp(e, "false") == 0) {
        assert_false(lumen__cpu_rseq);
    } else {
#if defined(LUMEN__HAVE_RSEQ)
        if (__rseq_size > 0)
            assert_true(lumen__cpu_rseq);
#endif
    }
    lumen_registry_free(r);
}

int main(void)
{
    lumen_allocator a = LUMEN_ALLOCATOR_INIT;
    a.malloc = count_malloc;
    a.realloc = count_realloc;
    a.free = count_free;
    if (lumen_set_allocator(&a) != LUMEN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_reclaim__path_in_use),
        cmocka_unit_test(test_metrics_reclaim__first_update_in_handler),
        cmocka_unit_test(test_metrics_reclaim__lookup_while_clearing),
        cmocka_unit_test(test_metrics_reclaim__stale_handles_counted),
        cmocka_unit_test(test_metrics_reclaim__everything_while_updating),
        cmocka_unit_test(test_metrics_reclaim__many_threads_exact),
        cmocka_unit_test(test_metrics_reclaim__thread_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
