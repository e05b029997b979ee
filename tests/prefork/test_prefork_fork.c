/*
 * tests/prefork/test_prefork_fork.c: the master forks while other threads
 * of it create label sets of a shared family. A thread creating a label
 * set holds the family's mutex; a child that inherited it held would hang
 * on its own first new label set of that family. The fork handlers hold
 * every shared family's mutex across fork() (metrics/prefork.c), so every
 * child creates its label set, counts and exits within the deadline, and
 * the family's total is exact: every creator's count and every child's.
 *
 * The family's series limit is small, so that the creators soon send
 * every new label set to the overflow series: each of their lookups then
 * misses the local table and takes the family's mutex again, and the
 * mutex is held most of the time, at any fork.
 */
#include <pthread.h>

#include "prefork/prefork_test.h"

#define CREATORS 2
#define CHILDREN 200
#define CHILD_DEADLINE_MS 20000
#define SERIES_LIMIT 64

static lumen_family *g_fam;
static lumen_counter *g_children;
static atomic_bool g_stop;
static atomic_long g_made;

static void *create(void *p)
{
    int t = (int)(intptr_t)p;
    for (long i = 0; !atomic_load(&g_stop); i++) {
        char k[32];
        snprintf(k, sizeof k, "t%d-%ld", t, i);
        const char *kv[] = {k};
        lumen_counter *c;
        if (lumen_family_counter(&c, g_fam, kv, 1) != LUMEN_OK)
            return (void *)1;
        lumen_counter_inc(c);
        atomic_fetch_add(&g_made, 1);
    }
    return NULL;
}

/* In the child: a label set of its own in the family the creators hold. */
static int child(void *p)
{
    char k[32];
    snprintf(k, sizeof k, "child-%d", (int)(intptr_t)p);
    const char *kv[] = {k};
    lumen_counter *c;
    if (lumen_family_counter(&c, g_fam, kv, 1) != LUMEN_OK)
        return 1;
    lumen_counter_inc(c);
    lumen_counter_inc(g_children);
    return 0;
}

/* A child's exit status within the deadline; -3 when it did not exit in
 * time (it is killed), -1 when a signal ended it. */
static int wait_deadline(pid_t pid, int ms)
{
    int64_t end = pt_now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -2;
        if (pt_now_ms() >= end) {
            kill(pid, SIGKILL);
            pt_wait(pid);
            return -3;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The sum of the samples of `name` (any labels) in a 0.0.4 text. */
static double sum_samples(const char *text, const char *name)
{
    double sum = 0;
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        if ((p != text && p[-1] != '\n') || (p[n] != '{' && p[n] != ' '))
            continue;
        const char *sp = strchr(p, ' ');
        if (p[n] == '{')
            sp = strstr(p, "} ") ? strstr(p, "} ") + 1 : NULL;
        if (sp != NULL)
            sum += strtod(sp + 1, NULL);
    }
    return sum;
}

static void test_prefork_fork__while_threads_create_label_sets(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    static const char *const k[] = {"k"};
    lumen_family_options fo = LUMEN_FAMILY_OPTIONS_INIT;
    fo.label_names = k;
    fo.label_count = 1;
    fo.series_limit = SERIES_LIMIT;
    assert_int_equal(lumen_family_new(&g_fam, reg, LUMEN_METRIC_COUNTER, "pt_fork_made", &fo),
                     LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_children, reg, "pt_fork_children", NULL), LUMEN_OK);

    pthread_t th[CREATORS];
    for (int t = 0; t < CREATORS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, create, (void *)(intptr_t)t), 0);
    /* The creators are past the limit before the first fork. */
    int64_t end = pt_now_ms() + 30000;
    while (atomic_load(&g_made) < 4 * SERIES_LIMIT && pt_now_ms() < end)
        sched_yield();
    assert_true(atomic_load(&g_made) >= 4 * SERIES_LIMIT);

    int hung = 0, failed = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int st = wait_deadline(pt_spawn(child, (void *)(intptr_t)i), CHILD_DEADLINE_MS);
        hung += st == -3;
        failed += st != 0;
        pt_reclaim(pf);
    }
    atomic_store(&g_stop, true);
    for (int t = 0; t < CREATORS; t++) {
        void *r;
        pthread_join(th[t], &r);
        assert_null(r);
    }
    if (hung > 0)
        fail_msg("%d of %d children hung on their first label set", hung, CHILDREN);
    assert_int_equal(failed, 0);

    char *text = pt_render(reg);
    assert_value(text, "pt_fork_children_total", CHILDREN);
    double want = (double)atomic_load(&g_made) + CHILDREN;
    double got = sum_samples(text, "pt_fork_made_total");
    if (got != want)
        fail_msg("pt_fork_made_total sums to %.17g, want %.17g", got, want);
    assert_true(pt_value(text, "pt_fork_made_total{k=\"__overflow__\"}") > 0);
    lumen_free(text);
    lumen_prefork_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork_fork__while_threads_create_label_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
