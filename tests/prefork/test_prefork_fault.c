/*
 * tests/prefork/test_prefork_fault.c: a process of the family killed with
 * SIGKILL at each point where it holds a shared lock half way through a
 * change (the points of metrics/prefork.h, where a test hook raises
 * SIGKILL in that process): creating a series before and after it is
 * indexed, creating a family before its overflow series exists,
 * reclaiming a slot before and after publishing the totals, and taking a
 * slot before its start time is written. Each time the next process
 * repairs what was left (lumen_prefork_lock_recoveries_total counts it),
 * nothing is counted twice or lost, and the family goes on.
 */
#include "metrics/prefork_shm.h"
#include "prefork/prefork_test.h"

static int g_target;
static pid_t g_master;

/* The hook: die at the chosen point, in any process but the master. */
static void die_at(int point)
{
    if (point == g_target && getpid() != g_master)
        raise(SIGKILL);
}

static lumen_prefork *g_pf;
static lumen_registry *g_reg;
static lumen_family *g_fam;

static int setup(void **state)
{
    (void)state;
    g_master = getpid();
    lumen_prefork_options o = LUMEN_PREFORK_OPTIONS_INIT;
    o.max_workers = 8;
    if (lumen_prefork_new(&g_pf, &o) != LUMEN_OK)
        return -1;
    g_reg = lumen_prefork_registry(g_pf);
    const char *names[] = {"k"};
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.label_names = names;
    mo.label_count = 1;
    return lumen_family_new(&g_fam, g_reg, LUMEN_METRIC_COUNTER, "pf_fault", &mo);
}

static int teardown(void **state)
{
    (void)state;
    lumen_prefork_free(g_pf);
    return 0;
}

static uint64_t recoveries(void)
{
    char *t = pt_render(g_reg);
    double v = pt_value(t, "lumen_prefork_lock_recoveries_total");
    lumen_free(t);
    return (uint64_t)v;
}

static const char *g_value;

/* A child that looks up g_value (dying at g_target on the way). */
static int lookup_child(void *p)
{
    (void)p;
    lumen__pf_test_point = die_at;
    const char *v[] = {g_value};
    lumen_counter *c;
    if (lumen_family_counter(&c, g_fam, v, 1) != LUMEN_OK)
        return 1;
    lumen_counter_add(c, 1000);
    return 0;
}

static void killed_creating(int point, const char *value)
{
    uint64_t before = recoveries();
    g_target = point;
    g_value = value;
    assert_int_equal(pt_wait(pt_spawn(lookup_child, NULL)), -1);
    /* The master creates the same label set and adds to it. */
    const char *v[] = {value};
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, g_fam, v, 1), LUMEN_OK);
    lumen_counter_add(c, 7);
    char *t = pt_render(g_reg);
    char key[64];
    snprintf(key, sizeof key, "pf_fault_total{k=\"%s\"}", value);
    assert_int_equal(pt_count(t, key), 1); /* one series, not two */
    assert_value(t, key, 7);
    assert_value(t, "lumen_prefork_lock_recoveries_total", before + 1);
    lumen_free(t);
    /* The lock works again. */
    assert_int_equal(pt_wait(pt_spawn(lookup_child, NULL)), 0);
    g_target = 0;
    char after[32];
    snprintf(after, sizeof after, "%s-after", value);
    g_value = after;
    assert_int_equal(pt_wait(pt_spawn(lookup_child, NULL)), 0);
    t = pt_render(g_reg);
    snprintf(key, sizeof key, "pf_fault_total{k=\"%s\"}", after);
    assert_value(t, key, 1000);
    lumen_free(t);
}

static void test_prefork_fault__killed_before_indexing_a_series(void **state)
{
    (void)state;
    /* Its entry is left unreferenced and overwritten: the master's
     * creation makes a new one. */
    killed_creating(LUMEN__PF_AT_SERIES_FILLED, "filled");
}

static void test_prefork_fault__killed_after_indexing_a_series(void **state)
{
    (void)state;
    /* Its entry is complete and found by lookups; repair counts it, so
     * that renders show it. */
    killed_creating(LUMEN__PF_AT_SERIES_INDEXED, "indexed");
    lumen__pf_hdr *h = lumen__pf_cur->hdr;
    /* Every entry counted is in a family, every family counts its own. */
    uint64_t n = atomic_load(&h->nseries), counted = 0;
    for (uint32_t i = 0; i < atomic_load(&h->nfams); i++)
        counted += atomic_load(&lumen__pf_fam_at(h, i)->count) +
                   (atomic_load(&lumen__pf_fam_at(h, i)->overflow) != LUMEN__PF_NONE);
    assert_int_equal(counted, n);
}

static int family_child(void *p)
{
    (void)p;
    lumen__pf_test_point = die_at;
    const char *names[] = {"x"};
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.label_names = names;
    mo.label_count = 1;
    mo.series_limit = 1;
    lumen_family *f;
    return lumen_family_new(&f, g_reg, LUMEN_METRIC_COUNTER, "pf_late", &mo) == LUMEN_OK ? 0 : 1;
}

static void test_prefork_fault__killed_before_a_family_has_its_overflow_series(void **state)
{
    (void)state;
    uint64_t before = recoveries();
    g_target = LUMEN__PF_AT_FAMILY_PUBLISHED;
    assert_int_equal(pt_wait(pt_spawn(family_child, NULL)), -1);
    g_target = 0;
    /* The family exists in shared memory; the master uses it past its
     * limit, which needs the overflow series repair made. */
    const char *names[] = {"x"};
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.label_names = names;
    mo.label_count = 1;
    mo.series_limit = 1;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, g_reg, LUMEN_METRIC_COUNTER, "pf_late", &mo), LUMEN_OK);
    lumen_counter *a, *b;
    const char *va[] = {"a"}, *vb[] = {"b"};
    assert_int_equal(lumen_family_counter(&a, f, va, 1), LUMEN_OK);
    assert_int_equal(lumen_family_counter(&b, f, vb, 1), LUMEN_OK);
    lumen_counter_inc(a);
    lumen_counter_add(b, 2);
    char *t = pt_render(g_reg);
    assert_value(t, "pf_late_total{x=\"a\"}", 1);
    assert_value(t, "pf_late_total{x=\"__overflow__\"}", 2);
    assert_value(t, "lumen_prefork_lock_recoveries_total", before + 1);
    lumen_free(t);
}

static lumen_counter *g_counter;

static int count_child(void *p)
{
    lumen_counter_add(g_counter, *(double *)p);
    return 0;
}

static int reclaim_child(void *p)
{
    (void)p;
    lumen__pf_test_point = die_at;
    pt_reclaim(g_pf);
    return 0;
}

static void killed_reclaiming(int point)
{
    const char *v[] = {point == LUMEN__PF_AT_FOLD_SUMMED ? "summed" : "published"};
    assert_int_equal(lumen_family_counter(&g_counter, g_fam, v, 1), LUMEN_OK);
    char key[64];
    snprintf(key, sizeof key, "pf_fault_total{k=\"%s\"}", v[0]);
    /* Counted by a worker that exited, and by the master. */
    double five = 5;
    assert_int_equal(pt_reclaim(g_pf) >= 0, 1);
    assert_child_ok(pt_spawn(count_child, &five));
    lumen_counter_add(g_counter, 0.5);
    uint64_t before = recoveries();
    char *t = pt_render(g_reg);
    assert_value(t, key, 5.5);
    lumen_free(t);
    /* A process reclaiming it dies half way. */
    g_target = point;
    assert_int_equal(pt_wait(pt_spawn(reclaim_child, NULL)), -1);
    g_target = 0;
    t = pt_render(g_reg);
    assert_value(t, key, 5.5); /* neither lost nor counted twice */
    assert_value(t, "lumen_prefork_lock_recoveries_total", before + 1);
    lumen_free(t);
    /* Reclaiming finishes (the worker, if repair did not, and the dead
     * reclaimer) with the same total. */
    pt_reclaim(g_pf);
    t = pt_render(g_reg);
    assert_value(t, key, 5.5);
    assert_value(t, "lumen_prefork_workers{state=\"exited\"}", 0);
    lumen_free(t);
    /* And a new worker in a reclaimed slot adds from zero. */
    assert_child_ok(pt_spawn(count_child, &five));
    t = pt_render(g_reg);
    assert_value(t, key, 10.5);
    lumen_free(t);
}

static void test_prefork_fault__killed_reclaiming_before_publishing(void **state)
{
    (void)state;
    killed_reclaiming(LUMEN__PF_AT_FOLD_SUMMED);
}

static void test_prefork_fault__killed_reclaiming_after_publishing(void **state)
{
    (void)state;
    killed_reclaiming(LUMEN__PF_AT_FOLD_PUBLISHED);
}

static void test_prefork_fault__killed_while_taking_a_slot(void **state)
{
    (void)state;
    pt_reclaim(g_pf);
    char *t = pt_render(g_reg);
    double reclaimed = pt_value(t, "lumen_prefork_workers_reclaimed_total");
    lumen_free(t);
    /* Dies in the fork handler, with its slot taken and no start time. */
    g_target = LUMEN__PF_AT_SLOT_CLAIMED;
    lumen__pf_test_point = die_at;
    pid_t kid = pt_spawn(count_child, &(double){1});
    lumen__pf_test_point = NULL;
    g_target = 0;
    assert_int_equal(pt_wait(kid), -1);
    t = pt_render(g_reg);
    assert_value(t, "lumen_prefork_workers{state=\"exited\"}", 1);
    lumen_free(t);
    assert_int_equal(pt_reclaim(g_pf), 1);
    t = pt_render(g_reg);
    assert_value(t, "lumen_prefork_workers_reclaimed_total", reclaimed + 1);
    lumen_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork_fault__killed_before_indexing_a_series),
        cmocka_unit_test(test_prefork_fault__killed_after_indexing_a_series),
        cmocka_unit_test(test_prefork_fault__killed_before_a_family_has_its_overflow_series),
        cmocka_unit_test(test_prefork_fault__killed_reclaiming_before_publishing),
        cmocka_unit_test(test_prefork_fault__killed_reclaiming_after_publishing),
        cmocka_unit_test(test_prefork_fault__killed_while_taking_a_slot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
