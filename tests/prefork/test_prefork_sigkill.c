/*
 * tests/prefork/test_prefork_sigkill.c: workers killed with SIGKILL in the
 * middle of their updates, again and again, while the master's endpoint
 * is scraped.
 *
 * Each worker counts into series of its own (label w), so that each
 * series is one worker's work: it adds 1 to a counter, observes 0.5 into a
 * histogram, then records in a separate shared page (not lumen's) how many
 * iterations it finished; every 4096 iterations it also creates a label set
 * in a shared family, so that some kills land while it holds the
 * creation lock. The master keeps four workers running, kills one every
 * few milliseconds and forks a replacement, 100 times, reclaims the dead, and a
 * thread scrapes /metrics all along.
 *
 * At the end, for every worker: a survivor (stopped by a flag) has exactly
 * its recorded count in both series; a killed one at most one more (its
 * last iteration may have been cut between the add and the record), its
 * histogram's count equal to the counter or one less, and its sum half
 * the count or half of one less (the observation cut between its bucket
 * and its sum). Every scrape answered 200 and creation never stopped.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <sys/mman.h>

#include "http/http_test.h"
#include "lumen/http.h"
#include "prefork/prefork_test.h"

#define MAXW 4096
#define LIVE 4

typedef struct shared {
    _Atomic uint64_t done[MAXW]; /* iterations each worker finished */
    _Atomic int stop;
} shared;

static shared *g_sh;
static lumen_family *g_work, *g_obs, *g_churn;

static int worker(void *p)
{
    int id = (int)(intptr_t)p;
    char w[16];
    snprintf(w, sizeof w, "%d", id);
    const char *v[] = {w};
    lumen_counter *c;
    lumen_histogram *h;
    if (lumen_family_counter(&c, g_work, v, 1) != LUMEN_OK ||
        lumen_family_histogram(&h, g_obs, v, 1) != LUMEN_OK)
        return 1;
    uint64_t n = 0;
    while (!atomic_load_explicit(&g_sh->stop, memory_order_relaxed)) {
        lumen_counter_inc(c);
        lumen_histogram_observe(h, 0.5);
        atomic_store_explicit(&g_sh->done[id], ++n, memory_order_release);
        if (n % 4096 == 0) {
            char k[32];
            snprintf(k, sizeof k, "%d-%llu", id, (unsigned long long)n);
            const char *kv[] = {k};
            lumen_counter *ck;
            if (lumen_family_counter(&ck, g_churn, kv, 1) != LUMEN_OK)
                return 2;
            lumen_counter_inc(ck);
        }
    }
    return 0;
}

typedef struct scraper {
    uint16_t port;
    _Atomic int stop;
    _Atomic int ok;
    int bad;
    char last[256];
} scraper;

static void *scrape(void *p)
{
    scraper *s = p;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)s->port);
    while (!atomic_load(&s->stop)) {
        th_resp r;
        long st = th_http("GET", url, NULL, NULL, NULL, 5000, &r);
        if (st == 200 && r.body != NULL && strstr(r.body, "pf_work_total") != NULL)
            s->ok++;
        else {
            s->bad++;
            snprintf(s->last, sizeof s->last, "%ld %.200s", st, r.body ? r.body : "");
        }
        th_resp_free(&r);
        usleep(20000);
    }
    return NULL;
}

static void test_prefork_sigkill__workers_killed_mid_update(void **state)
{
    (void)state;
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(g_sh != MAP_FAILED);
    lumen_prefork_options o = LUMEN_PREFORK_OPTIONS_INIT;
    o.max_workers = 16;
    o.max_series = 1 << 18;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    const char *wl[] = {"w"}, *kl[] = {"k"};
    static const double one[] = {1};
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.label_names = wl;
    mo.label_count = 1;
    mo.series_limit = MAXW;
    assert_int_equal(lumen_family_new(&g_work, reg, LUMEN_METRIC_COUNTER, "pf_work", &mo),
                     LUMEN_OK);
    mo.buckets = one;
    mo.bucket_count = 1;
    assert_int_equal(lumen_family_new(&g_obs, reg, LUMEN_METRIC_HISTOGRAM, "pf_obs", &mo),
                     LUMEN_OK);
    mo.label_names = kl;
    mo.buckets = NULL;
    mo.bucket_count = 0;
    mo.series_limit = 1 << 17;
    assert_int_equal(lumen_family_new(&g_churn, reg, LUMEN_METRIC_COUNTER, "pf_churn", &mo),
                     LUMEN_OK);

    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.registries = &reg;
    so.registry_count = 1;
    lumen_http_server *srv;
    assert_int_equal(lumen_http_server_start(&srv, &so), LUMEN_OK);
    scraper sc = {.port = lumen_http_server_port(srv)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, scrape, &sc), 0);

    pid_t pids[MAXW] = {0};
    int killed[MAXW] = {0};
    int next = 0, kills = 0, live[LIVE];
    for (int i = 0; i < LIVE; i++) {
        live[i] = next;
        pids[next] = pt_spawn(worker, (void *)(intptr_t)next);
        next++;
    }
    unsigned seed = (unsigned)getpid();
    /* 100 kills, within a minute however slow the machine. */
    int64_t end = pt_now_ms() + 60000;
    while (kills < 100 && pt_now_ms() < end && next < MAXW) {
        /* Let them work a little, a random while, then kill one. */
        usleep(2000 + rand_r(&seed) % 8000);
        int i = rand_r(&seed) % LIVE, id = live[i];
        kill(pids[id], SIGKILL);
        assert_int_equal(pt_wait(pids[id]), -1);
        killed[id] = 1;
        kills++;
        if (kills % 8 == 0)
            pt_reclaim(pf);
        live[i] = next;
        pids[next] = pt_spawn(worker, (void *)(intptr_t)next);
        next++;
    }
    atomic_store(&g_sh->stop, 1);
    for (int i = 0; i < LIVE; i++)
        assert_child_ok(pids[live[i]]);
    /* The scraper paces itself: on a busy machine it may not have had its
     * ten answers yet. Wait for them (or fail below at the deadline). */
    for (int64_t d = pt_now_ms() + 30000; atomic_load(&sc.ok) < 10 && pt_now_ms() < d;)
        usleep(10000);
    atomic_store(&sc.stop, 1);
    pthread_join(th, NULL);
    lumen_http_server_stop(srv);
    pt_reclaim(pf);

    char *t = pt_render(reg);
    int cut = 0;
    for (int id = 0; id < next; id++) {
        char key[64];
        uint64_t done = atomic_load(&g_sh->done[id]);
        snprintf(key, sizeof key, "pf_work_total{w=\"%d\"}", id);
        double work = pt_value(t, key);
        snprintf(key, sizeof key, "pf_obs_count{w=\"%d\"}", id);
        double count = pt_value(t, key);
        snprintf(key, sizeof key, "pf_obs_sum{w=\"%d\"}", id);
        double sum = pt_value(t, key);
        if (done == 0 && (isnan(work) || isnan(count)))
            continue; /* killed before its lookups were done */
        bool ok = killed[id] ? (work == done || work == done + 1) &&
                                   (count == work || count == work - 1) &&
                                   (2 * sum == count || 2 * sum == count - 1) &&
                                   (work > done || count == done)
                             : work == done && count == done && 2 * sum == count;
        if (!ok)
            fail_msg("worker %d (%s): recorded %llu, counter %.17g, count %.17g, sum %.17g", id,
                     killed[id] ? "killed" : "stopped", (unsigned long long)done, work, count, sum);
        cut += work != done;
    }
    print_message("%d workers, %d killed (%d cut mid-iteration), %d scrapes answered, "
                  "%.0f lock recoveries\n",
                  next, kills, cut, sc.ok, pt_value(t, "lumen_prefork_lock_recoveries_total"));
    lumen_free(t);
    assert_int_equal(kills, 100);
    assert_int_equal(sc.bad, 0);
    assert_true(sc.ok >= 10);
    /* Creation still works. */
    const char *kv[] = {"last"};
    lumen_counter *ck;
    assert_int_equal(lumen_family_counter(&ck, g_churn, kv, 1), LUMEN_OK);
    lumen_prefork_free(pf);
    munmap(g_sh, sizeof *g_sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork_sigkill__workers_killed_mid_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
