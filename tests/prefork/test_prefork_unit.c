/*
 * tests/prefork/test_prefork_unit.c: a pre-forked family of processes seen
 * through its registry: sums across workers, label sets made in workers,
 * gauge modes, the series limit of the whole family, counters across
 * recycling, worker slots running out, the pid on log lines, the same
 * exposition as one process, and the errors of the API. Each test
 * forks real children; the expositions are read as a user would.
 */
#include <fcntl.h>
#include <math.h>

#include "metrics/prefork_shm.h"
#include "prefork/prefork_test.h"

/* A test that fails half way leaves its family attached: the next one
 * would find it (LUMEN_EBUSY). */
static int detach(void **state)
{
    (void)state;
    lumen_prefork_free(lumen__pf_cur);
    return 0;
}

/* ---- sums ------------------------------------------------------------ */

typedef struct sums {
    lumen_counter *hits;
    lumen_family *jobs;
    lumen_histogram *lat;
    int w;
} sums;

static int sums_child(void *p)
{
    sums *a = p;
    for (int i = 0; i < (a->w + 1) * 1000; i++)
        lumen_counter_inc(a->hits);
    lumen_counter_add(a->hits, 0.25);
    const char *kind[] = {a->w % 2 ? "b" : "a"};
    lumen_counter *j;
    if (lumen_family_counter(&j, a->jobs, kind, 1) != LUMEN_OK)
        return 1;
    lumen_counter_add(j, a->w + 1);
    for (int i = 0; i < a->w + 1; i++)
        lumen_histogram_observe(a->lat, 0.0625);
    lumen_histogram_observe(a->lat, 0.5);
    lumen_histogram_observe(a->lat, 0.5);
    lumen_histogram_observe(a->lat, 4);
    /* The worker's own share, not the family's. */
    return lumen_counter_value(a->hits) == (a->w + 1) * 1000 + 0.25 ? 0 : 2;
}

static void check_sums(const char *t, double hits)
{
    assert_value(t, "pt_hits_total", hits);
    assert_value(t, "pt_jobs_total{kind=\"a\"}", 1 + 3);
    assert_value(t, "pt_jobs_total{kind=\"b\"}", 2 + 4);
    assert_value(t, "pt_lat_seconds_bucket{le=\"0.1\"}", 10);
    assert_value(t, "pt_lat_seconds_bucket{le=\"1\"}", 18);
    assert_value(t, "pt_lat_seconds_bucket{le=\"+Inf\"}", 22);
    assert_value(t, "pt_lat_seconds_count", 22);
    assert_value(t, "pt_lat_seconds_sum", 0.0625 * 10 + 0.5 * 8 + 4 * 4);
}

static void test_prefork__counters_and_histograms_sum_across_workers(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    sums a;
    static const double bounds[] = {0.1, 1};
    const char *kind[] = {"kind"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = kind;
    o.label_count = 1;
    assert_int_equal(lumen_counter_new(&a.hits, reg, "pt_hits", "Hits."), LUMEN_OK);
    assert_int_equal(lumen_family_new(&a.jobs, reg, LUMEN_METRIC_COUNTER, "pt_jobs", &o), LUMEN_OK);
    assert_int_equal(lumen_histogram_new(&a.lat, reg, "pt_lat_seconds", "Latency.", bounds, 2),
                     LUMEN_OK);
    pid_t kids[4];
    for (int w = 0; w < 4; w++) {
        a.w = w;
        kids[w] = pt_spawn(sums_child, &a);
    }
    for (int w = 0; w < 4; w++)
        assert_child_ok(kids[w]);
    for (int i = 0; i < 7; i++)
        lumen_counter_inc(a.hits);
    assert_true(lumen_counter_value(a.hits) == 7);

    /* The exited workers' slots still hold their counts. */
    char *t = pt_render(reg);
    check_sums(t, 10007 + 1);
    assert_value(t, "lumen_prefork_workers{state=\"exited\"}", 4);
    assert_value(t, "lumen_prefork_workers{state=\"running\"}", 1);
    lumen_free(t);

    /* Reclaimed: the same totals, from the accumulator. */
    assert_int_equal(pt_reclaim(pf), 4);
    assert_int_equal(pt_reclaim(pf), 0);
    t = pt_render(reg);
    check_sums(t, 10007 + 1);
    assert_value(t, "lumen_prefork_workers_reclaimed_total", 4);
    assert_value(t, "lumen_prefork_workers{state=\"exited\"}", 0);
    lumen_free(t);

    /* A new worker in a reclaimed slot starts from zero and adds. */
    a.w = 0;
    assert_child_ok(pt_spawn(sums_child, &a));
    t = pt_render(reg);
    assert_value(t, "pt_hits_total", 10008 + 1000.25);
    assert_value(t, "pt_lat_seconds_count", 22 + 4);
    lumen_free(t);
    lumen_prefork_free(pf);
}

/* ---- label sets made in workers --------------------------------------- */

typedef struct made {
    lumen_family *f;
    pt_gate made, done;
    int w;
} made;

static int made_child(void *p)
{
    made *a = p;
    char v[32];
    snprintf(v, sizeof v, "made-in-%d", a->w);
    const char *vals[] = {v};
    lumen_counter *c;
    if (lumen_family_counter(&c, a->f, vals, 1) != LUMEN_OK)
        return 1;
    lumen_counter_add(c, 100 + a->w);
    pt_post(&a->made);
    /* Alive while the master renders. */
    return pt_await(&a->done, 10000) ? 0 : 2;
}

static void test_prefork__label_sets_made_in_workers_appear(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    const char *names[] = {"origin"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = names;
    o.label_count = 1;
    made a;
    assert_int_equal(
        lumen_family_new(&a.f, lumen_prefork_registry(pf), LUMEN_METRIC_COUNTER, "pt_made", &o),
        LUMEN_OK);
    pt_gate_init(&a.made);
    pt_gate_init(&a.done);
    pid_t kids[3];
    for (int w = 0; w < 3; w++) {
        a.w = w;
        kids[w] = pt_spawn(made_child, &a);
    }
    for (int w = 0; w < 3; w++)
        assert_true(pt_await(&a.made, 10000));
    char *t = pt_render(lumen_prefork_registry(pf));
    for (int w = 0; w < 3; w++) {
        char key[64];
        snprintf(key, sizeof key, "pt_made_total{origin=\"made-in-%d\"}", w);
        assert_value(t, key, 100 + w);
    }
    /* Series in label order, as a single process renders them. */
    assert_true(strstr(t, "made-in-0") < strstr(t, "made-in-1"));
    assert_true(strstr(t, "made-in-1") < strstr(t, "made-in-2"));
    lumen_free(t);
    /* The master finds them too, by lookup. */
    const char *v1[] = {"made-in-1"};
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, a.f, v1, 1), LUMEN_OK);
    lumen_counter_inc(c);
    for (int w = 0; w < 3; w++)
        pt_post(&a.done);
    for (int w = 0; w < 3; w++)
        assert_child_ok(kids[w]);
    t = pt_render(lumen_prefork_registry(pf));
    assert_value(t, "pt_made_total{origin=\"made-in-1\"}", 102);
    lumen_free(t);
    pt_gate_close(&a.made);
    pt_gate_close(&a.done);
    lumen_prefork_free(pf);
}

/* ---- gauge modes -------------------------------------------------------- */

static const char *const g_modes[] = {"all",        "liveall",       "sum", "livesum",
                                      "max",        "livemax",       "min", "livemin",
                                      "mostrecent", "livemostrecent"};

typedef struct gauges {
    lumen_gauge *g[10];
    pt_gate set, go[3];
    int k;
} gauges;

static int gauges_child(void *p)
{
    gauges *a = p;
    for (int m = 0; m < 10; m++) {
        lumen_gauge_set(a->g[m], 10.0 * (a->k + 1) - 1);
        lumen_gauge_inc(a->g[m]);
    }
    pt_post(&a->set);
    return pt_await(&a->go[a->k], 10000) ? 0 : 2;
}

static void gauge_key(char *key, size_t cap, int m, pid_t pid)
{
    if (pid != 0)
        snprintf(key, cap, "pt_g_%s{pid=\"%d\"}", g_modes[m], (int)pid);
    else
        snprintf(key, cap, "pt_g_%s", g_modes[m]);
}

static void expect(const char *t, int m, double want)
{
    char key[64];
    gauge_key(key, sizeof key, m, 0);
    if (isnan(want)) {
        char line[64];
        snprintf(line, sizeof line, "%s ", key);
        if (pt_count(t, line) != 0)
            fail_msg("%s: a sample where none was expected", key);
        return;
    }
    assert_value(t, key, want);
}

static void test_prefork__gauge_modes(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    gauges a;
    for (int m = 0; m < 10; m++) {
        char name[32];
        snprintf(name, sizeof name, "pt_g_%s", g_modes[m]);
        assert_int_equal(lumen_gauge_new(&a.g[m], reg, name, "A gauge."), LUMEN_OK);
        assert_int_equal(lumen_prefork_set_gauge_mode(pf, name, (lumen_prefork_gauge_mode)m),
                         LUMEN_OK);
    }
    pt_gate_init(&a.set);
    for (int k = 0; k < 3; k++)
        pt_gate_init(&a.go[k]);
    /* Three workers set 10, 20, 30 in that order; the third exits and
     * stays a zombie. */
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        a.k = k;
        kids[k] = pt_spawn(gauges_child, &a);
        assert_true(pt_await(&a.set, 10000));
    }
    pt_post(&a.go[2]);
    pt_wait_zombie(kids[2]);

    char *t = pt_render(reg);
    char key[64];
    for (int k = 0; k < 3; k++) {
        gauge_key(key, sizeof key, 0, kids[k]);
        assert_value(t, key, 10.0 * (k + 1));
        gauge_key(key, sizeof key, 1, kids[k]);
        if (k < 2)
            assert_value(t, key, 10.0 * (k + 1));
        else
            assert_int_equal(pt_count(t, key), 0);
    }
    assert_int_equal(pt_count(t, "pt_g_all{"), 3);
    assert_int_equal(pt_count(t, "pt_g_liveall{"), 2);
    const double dead_kept[10] = {NAN, NAN, 60, 30, 30, 20, 10, 10, 30, 20};
    for (int m = 2; m < 10; m++)
        expect(t, m, dead_kept[m]);
    lumen_free(t);

    /* Reclaimed: `all` drops the dead worker, the others keep its value. */
    assert_int_equal(pt_reclaim(pf), 1);
    assert_child_ok(kids[2]);
    t = pt_render(reg);
    assert_int_equal(pt_count(t, "pt_g_all{"), 2);
    assert_int_equal(pt_count(t, "pt_g_liveall{"), 2);
    for (int m = 2; m < 10; m++)
        expect(t, m, dead_kept[m]);
    lumen_free(t);

    /* Every worker gone and reclaimed: no live value is left. */
    pt_post(&a.go[0]);
    pt_post(&a.go[1]);
    assert_child_ok(kids[0]);
    assert_child_ok(kids[1]);
    assert_int_equal(pt_reclaim(pf), 2);
    t = pt_render(reg);
    assert_int_equal(pt_count(t, "pt_g_all{"), 0);
    assert_int_equal(pt_count(t, "pt_g_liveall{"), 0);
    const double gone[10] = {NAN, NAN, 60, 0, 30, NAN, 10, NAN, 30, NAN};
    for (int m = 2; m < 10; m++)
        expect(t, m, gone[m]);
    lumen_free(t);

    /* The master's own value counts like any worker's. */
    lumen_gauge_set(a.g[3], 5);
    assert_true(lumen_gauge_value(a.g[3]) == 5);
    t = pt_render(reg);
    expect(t, 3, 5);
    gauge_key(key, sizeof key, 0, getpid());
    assert_int_equal(pt_count(t, key), 0);
    lumen_free(t);
    pt_gate_close(&a.set);
    for (int k = 0; k < 3; k++)
        pt_gate_close(&a.go[k]);
    lumen_prefork_free(pf);
}

/* ---- the series limit of the whole family ---------------------------------- */

typedef struct limit {
    lumen_family *f;
    int w;
    pt_gate turn;
} limit;

static int limit_child(void *p)
{
    limit *a = p;
    for (int i = 0; i < 5; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d-%d", a->w, i);
        const char *vals[] = {v};
        lumen_counter *c;
        if (lumen_family_counter(&c, a->f, vals, 1) != LUMEN_OK)
            return 1;
        lumen_counter_add(c, 3);
    }
    return 0;
}

static void test_prefork__series_limit_holds_across_the_family(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    const char *names[] = {"id"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.label_names = names;
    o.label_count = 1;
    o.series_limit = 10;
    limit a;
    assert_int_equal(
        lumen_family_new(&a.f, lumen_prefork_registry(pf), LUMEN_METRIC_COUNTER, "pt_limited", &o),
        LUMEN_OK);
    /* One after the other, so that which label sets got in is known. */
    for (int w = 0; w < 3; w++) {
        a.w = w;
        assert_child_ok(pt_spawn(limit_child, &a));
    }
    char *t = pt_render(lumen_prefork_registry(pf));
    assert_int_equal(pt_count(t, "pt_limited_total{id=\"0-"), 5);
    assert_int_equal(pt_count(t, "pt_limited_total{id=\"1-"), 5);
    assert_int_equal(pt_count(t, "pt_limited_total{id=\"2-"), 0);
    assert_value(t, "pt_limited_total{id=\"__overflow__\"}", 15);
    assert_value(t, "lumen_prefork_series_overflow_total{family=\"pt_limited\"}", 5);
    lumen_free(t);
    assert_int_equal(lumen_family_overflows(a.f), 5);
    /* A higher limit from any process applies to the family. */
    lumen_family_set_series_limit(a.f, 11);
    a.w = 2;
    assert_child_ok(pt_spawn(limit_child, &a));
    t = pt_render(lumen_prefork_registry(pf));
    assert_int_equal(pt_count(t, "pt_limited_total{id=\"2-"), 1);
    assert_value(t, "pt_limited_total{id=\"2-0\"}", 3);
    assert_value(t, "pt_limited_total{id=\"__overflow__\"}", 15 + 12);
    lumen_free(t);
    lumen_prefork_free(pf);
}

/* ---- worker slots running out ---------------------------------------------- */

typedef struct slots {
    lumen_counter *c;
    pt_gate up, go;
    double add;
} slots;

static int slots_child(void *p)
{
    slots *a = p;
    lumen_counter_add(a->c, a->add);
    pt_post(&a->up);
    return pt_await(&a->go, 10000) ? 0 : 2;
}

static void test_prefork__a_worker_without_a_slot_is_counted(void **state)
{
    (void)state;
    lumen_prefork_options o = LUMEN_PREFORK_OPTIONS_INIT;
    o.max_workers = 2; /* the master and one worker */
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_OK);
    slots a;
    assert_int_equal(lumen_counter_new(&a.c, lumen_prefork_registry(pf), "pt_slots", NULL),
                     LUMEN_OK);
    pt_gate_init(&a.up);
    pt_gate_init(&a.go);
    a.add = 1;
    pid_t first = pt_spawn(slots_child, &a);
    assert_true(pt_await(&a.up, 10000));
    a.add = 10; /* no slot: not seen */
    pid_t second = pt_spawn(slots_child, &a);
    assert_true(pt_await(&a.up, 10000));
    char *t = pt_render(lumen_prefork_registry(pf));
    assert_value(t, "pt_slots_total", 1);
    assert_value(t, "lumen_prefork_workers_refused_total", 1);
    assert_value(t, "lumen_prefork_capacity_used_ratio{resource=\"workers\"}", 1);
    lumen_free(t);
    pt_post(&a.go);
    pt_post(&a.go);
    assert_child_ok(first);
    assert_child_ok(second);
    /* The first one's slot is reclaimed by the next worker that needs it. */
    a.add = 100;
    pid_t third = pt_spawn(slots_child, &a);
    assert_true(pt_await(&a.up, 10000));
    t = pt_render(lumen_prefork_registry(pf));
    assert_value(t, "pt_slots_total", 101);
    assert_value(t, "lumen_prefork_workers_refused_total", 1);
    assert_value(t, "lumen_prefork_workers_reclaimed_total", 1);
    lumen_free(t);
    pt_post(&a.go);
    assert_child_ok(third);
    pt_gate_close(&a.up);
    pt_gate_close(&a.go);
    lumen_prefork_free(pf);
}

/* ---- the pid on log lines ---------------------------------------------------- */

static int log_child(void *p)
{
    lumen_logger *lg = p;
    LUMEN_LOG_INFO(lg, "from the worker", LUMEN_INT("n", 2));
    lumen_log_flush(0);
    return 0;
}

static void test_prefork__log_lines_carry_the_pid(void **state)
{
    (void)state;
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.sink = LUMEN_LOG_SINK_FD;
    ho.fd = fd[1];
    ho.format = LUMEN_LOG_FORMAT_JSON;
    ho.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &ho), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("pt.log");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG_INFO(lg, "before", LUMEN_INT("n", 0));
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    LUMEN_LOG_INFO(lg, "from the master", LUMEN_INT("n", 1));
    pid_t kid = pt_spawn(log_child, lg);
    assert_child_ok(kid);
    lumen_prefork_free(pf);
    LUMEN_LOG_INFO(lg, "after", LUMEN_INT("n", 3));
    close(fd[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd[0]);
    char want[128];
    snprintf(want, sizeof want, "\"msg\":\"from the master\",\"pid\":%d,\"n\":1", (int)getpid());
    if (strstr(buf, want) == NULL)
        fail_msg("no %s in\n%s", want, buf);
    snprintf(want, sizeof want, "\"msg\":\"from the worker\",\"pid\":%d,\"n\":2", (int)kid);
    if (strstr(buf, want) == NULL)
        fail_msg("no %s in\n%s", want, buf);
    if (strstr(buf, "\"msg\":\"before\",\"n\":0") == NULL ||
        strstr(buf, "\"msg\":\"after\",\"n\":3") == NULL)
        fail_msg("lines outside a family carry no pid:\n%s", buf);
    assert_int_equal(lumen_logger_set_handlers(lg, NULL, 0), LUMEN_OK);
}

/* ---- the same exposition as one process ---------------------------------------- */

typedef struct same {
    lumen_family *req;
    lumen_histogram *lat;
    lumen_gauge *temp;
    lumen_counter *bytes;
    int from, to; /* the share of the work this process does */
} same;

static int same_family(lumen_registry *reg, same *a)
{
    const char *names[] = {"method", "path"};
    lumen_label consts[] = {{"service", "checkout"}};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Requests \\ \"served\"\nper path.";
    o.label_names = names;
    o.label_count = 2;
    o.const_labels = consts;
    o.const_label_count = 1;
    o.flags = LUMEN_FAMILY_NO_CREATED;
    int rc = lumen_family_new(&a->req, reg, LUMEN_METRIC_COUNTER, "pt_same_requests", &o);
    static const double b[] = {0.001, 0.5, 2.5};
    lumen_family_options ho = LUMEN_FAMILY_OPTIONS_INIT;
    ho.help = "Latency.";
    ho.unit = "seconds";
    ho.buckets = b;
    ho.bucket_count = 3;
    ho.flags = LUMEN_FAMILY_NO_CREATED;
    lumen_family *hf;
    if (rc == LUMEN_OK)
        rc = lumen_family_new(&hf, reg, LUMEN_METRIC_HISTOGRAM, "pt_same_latency_seconds", &ho);
    if (rc == LUMEN_OK)
        rc = lumen_family_histogram(&a->lat, hf, NULL, 0);
    lumen_family_options go = LUMEN_FAMILY_OPTIONS_INIT;
    go.help = "Temperature.";
    lumen_family *gf;
    if (rc == LUMEN_OK)
        rc = lumen_family_new(&gf, reg, LUMEN_METRIC_GAUGE, "pt_same_temperature", &go);
    if (rc == LUMEN_OK)
        rc = lumen_family_gauge(&a->temp, gf, NULL, 0);
    lumen_family_options co = LUMEN_FAMILY_OPTIONS_INIT;
    co.help = "Bytes.";
    co.flags = LUMEN_FAMILY_NO_CREATED;
    lumen_family *cf;
    if (rc == LUMEN_OK)
        rc = lumen_family_new(&cf, reg, LUMEN_METRIC_COUNTER, "pt_same_bytes", &co);
    if (rc == LUMEN_OK)
        rc = lumen_family_counter(&a->bytes, cf, NULL, 0);
    return rc;
}

static int same_work(void *p)
{
    same *a = p;
    static const char *const paths[] = {"/a", "/b\"q\"", "/\xc3\xa9t\xc3\xa9", "/bad\xff"};
    for (int i = a->from; i < a->to; i++) {
        const char *v[] = {i % 3 ? "GET" : "POST", paths[i % 4]};
        lumen_counter *c;
        if (lumen_family_counter(&c, a->req, v, 2) != LUMEN_OK)
            return 1;
        lumen_counter_inc(c);
        lumen_histogram_observe(a->lat, (i % 5) * 0.75);
        lumen_counter_add(a->bytes, i % 2 ? 1.5 : 1024);
    }
    return 0;
}

/* Only the lines of the pt_same_ families, in order. */
static char *same_lines(const char *t)
{
    char *out = malloc(strlen(t) + 1), *o = out;
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        if (strstr(p, "pt_same_") != NULL && strstr(p, "pt_same_") < p + n) {
            memcpy(o, p, n);
            o += n;
        }
        p += n;
    }
    *o = '\0';
    return out;
}

static void test_prefork__renders_what_one_process_would(void **state)
{
    (void)state;
    /* One process does all the work. */
    lumen_registry *one;
    assert_int_equal(lumen_registry_new(&one), LUMEN_OK);
    same a1 = {.from = 0, .to = 1000};
    assert_int_equal(same_family(one, &a1), LUMEN_OK);
    assert_int_equal(same_work(&a1), 0);
    lumen_gauge_set(a1.temp, 21.5);

    /* The family: two workers and the master share it. */
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    same a2;
    assert_int_equal(same_family(reg, &a2), LUMEN_OK);
    assert_int_equal(
        lumen_prefork_set_gauge_mode(pf, "pt_same_temperature", LUMEN_PREFORK_GAUGE_MOSTRECENT),
        LUMEN_OK);
    a2.from = 0, a2.to = 300;
    assert_child_ok(pt_spawn(same_work, &a2));
    a2.from = 300, a2.to = 700;
    assert_child_ok(pt_spawn(same_work, &a2));
    assert_int_equal(pt_reclaim(pf), 2);
    a2.from = 700, a2.to = 1000;
    assert_int_equal(same_work(&a2), 0);
    lumen_gauge_set(a2.temp, 21.5);

    for (int om = 0; om < 2; om++) {
        lumen_format fmt = om ? LUMEN_FORMAT_OPENMETRICS : LUMEN_FORMAT_PROMETHEUS;
        char *t1 = pt_render_as(one, fmt), *t2 = pt_render_as(reg, fmt);
        char *l1 = same_lines(t1), *l2 = same_lines(t2);
        if (strcmp(l1, l2) != 0)
            fail_msg("one process:\n%s\nthe family:\n%s", l1, l2);
        assert_true(strlen(l1) > 500);
        /* The peers read the family's whole exposition. */
        char *out = NULL;
        if (lt_have("promtool") && !om) {
            int rc = lt_run("promtool check metrics", t2, strlen(t2), &out);
            if (rc != 0)
                fail_msg("promtool: %d %s", rc, out ? out : "");
            free(out);
        }
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "%s -c 'import sys; from prometheus_client%s.parser import "
                 "text_string_to_metric_families as p; print(len(list(p(sys.stdin.read()))))'",
                 lt_python(), om ? ".openmetrics" : "");
        out = NULL;
        int rc = lt_run(cmd, t2, strlen(t2), &out);
        if (rc != 0)
            fail_msg("prometheus_client parser: %d %s", rc, out ? out : "");
        free(out);
        free(l1);
        free(l2);
        lumen_free(t1);
        lumen_free(t2);
    }
    lumen_registry_free(one);
    lumen_prefork_free(pf);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_prefork__errors(void **state)
{
    (void)state;
    lumen_prefork *pf;
    lumen_prefork_options o = LUMEN_PREFORK_OPTIONS_INIT;
    assert_int_equal(lumen_prefork_new(NULL, NULL), LUMEN_EINVAL);
    o.version = 0;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_EVERSION);
    assert_null(pf);
    o.version = LUMEN_PREFORK_OPTIONS_VERSION + 1;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_EVERSION);
    assert_int_equal(lumen_prefork_options_init(&o, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_prefork_options_init(NULL, LUMEN_PREFORK_OPTIONS_VERSION), LUMEN_EINVAL);
    assert_int_equal(lumen_prefork_options_init(&o, LUMEN_PREFORK_OPTIONS_VERSION), LUMEN_OK);
    o.max_workers = 1u << 20;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_EINVAL);
    assert_int_equal(lumen_prefork_options_init(&o, LUMEN_PREFORK_OPTIONS_VERSION), LUMEN_OK);
    o.max_families = 2;
    assert_int_equal(lumen_prefork_new(&pf, &o), LUMEN_OK);
    lumen_prefork *again;
    assert_int_equal(lumen_prefork_new(&again, NULL), LUMEN_EBUSY);
    lumen_registry *reg = lumen_prefork_registry(pf);

    lumen_summary *s;
    assert_int_equal(lumen_summary_new(&s, reg, "pt_summary", NULL), LUMEN_ETYPE);
    const char *pid[] = {"pid"};
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.label_names = pid;
    mo.label_count = 1;
    lumen_family *f;
    assert_int_equal(lumen_family_new(&f, reg, LUMEN_METRIC_GAUGE, "pt_g", &mo), LUMEN_ERESERVED);
    assert_int_equal(lumen_family_new(&f, reg, LUMEN_METRIC_COUNTER, "pt_c", &mo), LUMEN_OK);
    lumen_family *dup;
    assert_int_equal(lumen_family_new(&dup, reg, LUMEN_METRIC_COUNTER, "pt_c", &mo), LUMEN_EEXIST);
    assert_null(dup);
    /* The family an EEXIST refers to, found by name as in any registry. */
    assert_int_equal(lumen_family_lookup(&dup, reg, "pt_c"), LUMEN_OK);
    assert_ptr_equal(dup, f);
    assert_int_equal(lumen_family_lookup(&dup, reg, "pt_c_total"), LUMEN_OK);
    assert_ptr_equal(dup, f);
    assert_int_equal(lumen_family_lookup(&dup, reg, "pt_nothing"), LUMEN_ENOENT);
    assert_null(dup);
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, reg, "pt_c_total", NULL), LUMEN_EEXIST);
    assert_int_equal(lumen_gauge_new(&g, reg, "pt_gauge", NULL), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&g, reg, "pt_third", NULL), LUMEN_ELIMIT);
    /* Local metrics live beside the shared ones. */
    assert_int_equal(lumen_info_new(NULL, reg, "pt_build", NULL, NULL, 0), LUMEN_OK);

    const char *v[] = {"1"};
    assert_int_equal(lumen_family_remove(f, v, 1), LUMEN_ENOTSUP);
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, f, v, 1), LUMEN_OK);
    lumen_counter_inc(c);
    lumen_family_clear(f);
    lumen_counter_inc(c);

    assert_int_equal(lumen_prefork_set_gauge_mode(pf, "nothing", LUMEN_PREFORK_GAUGE_SUM),
                     LUMEN_ENOENT);
    assert_int_equal(lumen_prefork_set_gauge_mode(pf, "pt_c", LUMEN_PREFORK_GAUGE_SUM),
                     LUMEN_ETYPE);
    assert_int_equal(lumen_prefork_set_gauge_mode(pf, "pt_gauge", (lumen_prefork_gauge_mode)10),
                     LUMEN_EINVAL);
    assert_int_equal(lumen_prefork_set_gauge_mode(NULL, "pt_gauge", LUMEN_PREFORK_GAUGE_SUM),
                     LUMEN_EINVAL);
    assert_int_equal(lumen_prefork_reclaim(NULL, NULL), LUMEN_EINVAL);
    size_t reclaimed = 99;
    assert_int_equal(lumen_prefork_reclaim(&reclaimed, NULL), LUMEN_EINVAL);
    assert_int_equal(reclaimed, 0);
    assert_int_equal(lumen_prefork_fd(NULL), -1);
    assert_null(lumen_prefork_registry(NULL));

    char *t = pt_render(reg);
    assert_value(t, "pt_c_total{pid=\"1\"}", 2);
    assert_value(t, "pt_build_info", 1);
    assert_value(t, "lumen_prefork_capacity_used_ratio{resource=\"families\"}", 1);
    lumen_free(t);
    lumen_prefork_free(pf);
    lumen_prefork_free(NULL);
    /* Handles of a freed family are dead, not dangling. */
    lumen_counter_inc(c);
    lumen_gauge_set(g, 1);
    assert_true(lumen_counter_value(c) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_prefork__counters_and_histograms_sum_across_workers, detach),
        cmocka_unit_test_teardown(test_prefork__label_sets_made_in_workers_appear, detach),
        cmocka_unit_test_teardown(test_prefork__gauge_modes, detach),
        cmocka_unit_test_teardown(test_prefork__series_limit_holds_across_the_family, detach),
        cmocka_unit_test_teardown(test_prefork__a_worker_without_a_slot_is_counted, detach),
        cmocka_unit_test_teardown(test_prefork__log_lines_carry_the_pid, detach),
        cmocka_unit_test_teardown(test_prefork__renders_what_one_process_would, detach),
        cmocka_unit_test_teardown(test_prefork__errors, detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
