/* tests/metrics/test_metrics_threads.c: threads update counters and
 * histograms (and short-lived threads come and go) while another thread
 * renders continuously. Every render must be well formed, no counter or
 * bucket may ever decrease between renders, buckets are cumulative with
 * _count equal to the +Inf bucket in every render, and the final totals
 * are exact. A sample of the renders also goes to the real parsers. */
#include "peer_util.h"

#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lumen/metrics.h"

#define WORKERS 3
#define ITERS 100000
#define SHORT_THREADS 40
#define SHORT_ITERS 1000
#define KEYS 8

static lumen_counter *g_c;
static lumen_family *g_fam;
static lumen_histogram *g_h;
static lumen_family *g_hfam;
static atomic_int g_done;

static const char *const g_keys[KEYS] = {"a", "b", "c\"", "d\\", "e\n", "f", "g", "h"};

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITERS; i++) {
        lumen_counter_inc(g_c);
        const char *v[] = {g_keys[i % KEYS]};
        lumen_counter *lc;
        if (lumen_family_counter(&lc, g_fam, v, 1) == LUMEN_OK)
            lumen_counter_inc(lc);
        lumen_histogram_observe(g_h, (double)(i % 7));
        lumen_histogram *lh;
        if (lumen_family_histogram(&lh, g_hfam, v, 1) == LUMEN_OK)
            lumen_histogram_observe(lh, (double)(i % 3) * 2);
    }
    return NULL;
}

static void *short_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < SHORT_ITERS; i++) {
        lumen_counter_inc(g_c);
        lumen_histogram_observe(g_h, 0.5);
    }
    return NULL;
}

static void *spawner(void *arg)
{
    (void)arg;
    for (int i = 0; i < SHORT_THREADS; i++) {
        pthread_t t;
        pthread_create(&t, NULL, short_worker, NULL);
        pthread_join(t, NULL);
    }
    return NULL;
}

typedef struct sample {
    char *key;
    double v;
} sample;

typedef struct snapshot {
    sample *s;
    size_t n, cap;
} snapshot;

/* Parse one render into samples; check the histogram rules on the way. */
static void parse_render(const char *text, bool om, snapshot *out)
{
    out->n = 0;
    const char *p = text;
    double prev_bucket = -1, inf = -1;
    bool saw_eof = false;
    while (*p) {
        const char *e = strchr(p, '\n');
        assert_non_null(e); /* every line ends with \n */
        size_t len = (size_t)(e - p);
        if (p[0] == '#') {
            assert_true(len > 2);
            if (strncmp(p, "# EOF", 5) == 0) {
                saw_eof = true;
                assert_true(e[1] == '\0');
            } else {
                assert_true(strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0 ||
                            strncmp(p, "# UNIT ", 7) == 0);
            }
            p = e + 1;
            continue;
        }
        const char *sp = p + len;
        while (sp > p && sp[-1] != ' ')
            sp--;
        assert_true(sp > p + 1);
        char *key = strndup(p, (size_t)(sp - 1 - p));
        double v = strtod(sp, NULL);
        /* Compare across formats: OpenMetrics writes le="1.0" for le="1". */
        char *dot;
        while ((dot = strstr(key, ".0\"")) != NULL)
            memmove(dot, dot + 2, strlen(dot + 2) + 1);
        if (strstr(key, "_created") != NULL) {
            free(key);
            p = e + 1;
            continue;
        }
        if (strstr(key, "_bucket{") != NULL) {
            /* Within one series, buckets never decrease as le grows. */
            if (prev_bucket >= 0)
                assert_true(v >= prev_bucket);
            prev_bucket = v;
            if (strstr(key, "le=\"+Inf\"") != NULL) {
                inf = v;
                prev_bucket = -1;
            }
        } else if (strstr(key, "_count") != NULL && inf >= 0) {
            assert_true(v == inf); /* _count == +Inf bucket */
            inf = -1;
        } else if (strstr(key, "_sum") == NULL) {
            prev_bucket = -1;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 64;
            out->s = realloc(out->s, out->cap * sizeof *out->s);
        }
        out->s[out->n++] = (sample){key, v};
        p = e + 1;
    }
    assert_int_equal(saw_eof, om);
}

static void free_snapshot(snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->s[i].key);
    s->n = 0;
}

static void test_metrics_threads__render_while_updating(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&g_c, r, "t_ops_total", "Ops."), LUMEN_OK);
    const char *ln[] = {"key"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Keyed.";
    o.label_names = ln;
    o.label_count = 1;
    assert_int_equal(lumen_family_new(&g_fam, r, LUMEN_METRIC_COUNTER, "t_keyed_total", &o),
                     LUMEN_OK);
    double b[] = {1, 2, 5};
    assert_int_equal(lumen_histogram_new(&g_h, r, "t_lat", "Lat.", b, 3), LUMEN_OK);
    lumen_family_options ho = LUMEN_FAMILY_OPTIONS_INIT;
    ho.help = "Keyed lat.";
    ho.label_names = ln;
    ho.label_count = 1;
    ho.buckets = b;
    ho.bucket_count = 3;
    assert_int_equal(lumen_family_new(&g_hfam, r, LUMEN_METRIC_HISTOGRAM, "t_klat", &ho), LUMEN_OK);
    for (int k = 0; k < KEYS; k++) {
        const char *v[] = {g_keys[k]};
        lumen_counter *c;
        lumen_histogram *h;
        assert_int_equal(lumen_family_counter(&c, g_fam, v, 1), LUMEN_OK);
        assert_int_equal(lumen_family_histogram(&h, g_hfam, v, 1), LUMEN_OK);
    }

    pthread_t t[WORKERS + 1];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    pthread_create(&t[WORKERS], NULL, spawner, NULL);

    bool joined[WORKERS + 1] = {false};
    snapshot prev = {0}, cur = {0};
    char *kept[4] = {NULL};
    int nkept = 0, renders = 0;
    for (;;) {
        bool finished = atomic_load(&g_done) != 0;
        bool om = renders % 2 == 1;
        char *s;
        assert_int_equal(lumen_registry_render_string(
                             &s, NULL, r, om ? LUMEN_FORMAT_OPENMETRICS : LUMEN_FORMAT_PROMETHEUS),
                         LUMEN_OK);
        parse_render(s, om, &cur);
        if (prev.n > 0) {
            assert_int_equal(cur.n, prev.n);
            for (size_t i = 0; i < cur.n; i++) {
                assert_string_equal(cur.s[i].key, prev.s[i].key);
                if (cur.s[i].v < prev.s[i].v)
                    fail_msg("%s went from %g to %g", cur.s[i].key, prev.s[i].v, cur.s[i].v);
            }
        }
        free_snapshot(&prev);
        snapshot tmp = prev;
        prev = cur;
        cur = tmp;
        if (om && nkept < 2 && renders % 20 == 1)
            kept[nkept++] = s;
        else if (!om && nkept >= 2 && nkept < 4 && renders % 20 == 0)
            kept[nkept++] = s;
        else
            lumen_free(s);
        renders++;
        if (finished)
            break;
        bool alive = false;
        for (int i = 0; i <= WORKERS; i++) {
            if (!joined[i] && pthread_tryjoin_np(t[i], NULL) == 0)
                joined[i] = true;
            alive = alive || !joined[i];
        }
        if (!alive)
            atomic_store(&g_done, 1);
    }
    free_snapshot(&prev);
    free(prev.s);
    free(cur.s);
    /* Exact totals. */
    double total = (double)WORKERS * ITERS + (double)SHORT_THREADS * SHORT_ITERS;
    assert_true(lumen_counter_value(g_c) == total);
    for (int k = 0; k < KEYS; k++) {
        const char *v[] = {g_keys[k]};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, g_fam, v, 1), LUMEN_OK);
        assert_true(lumen_counter_value(c) == (double)WORKERS * ITERS / KEYS);
    }
    char *s;
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    char want[128];
    snprintf(want, sizeof want, "t_lat_count %.0f\n", total);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof want, "t_ops_total %.0f\n", total);
    assert_non_null(strstr(s, want));
    lumen_free(s);
    print_message("%d renders\n", renders);

    /* The kept renders go to the real parsers. */
    for (int i = 0; i < nkept; i++) {
        char *out = NULL;
        bool om = strstr(kept[i], "# EOF") != NULL;
        int rc = peer_parse(kept[i], strlen(kept[i]), om, &out);
        if (rc != 0)
            print_error("%s\n", out);
        assert_int_equal(rc, 0);
        free(out);
        if (!om && lt_have("promtool")) {
            rc = peer_promtool(kept[i], strlen(kept[i]), &out);
            if (rc != 0)
                print_error("%s\n", out);
            assert_int_equal(rc, 0);
            free(out);
        }
        lumen_free(kept[i]);
    }
    lumen_registry_free(r);
}

#define CKEYS 3000
#define CITERS 30000
static lumen_family *g_cfam;
static atomic_int g_cdone;

static void *creator(void *arg)
{
    int id = *(int *)arg;
    for (int i = 0; i < CITERS; i++) {
        /* Each thread walks the keys from its own offset, so the table
         * grows while other threads look up and create. */
        char v[16];
        snprintf(v, sizeof v, "k%d", (i * 7 + id * 1000) % CKEYS);
        const char *vals[] = {v, id % 2 ? "odd" : "even"};
        lumen_counter *c;
        assert_int_equal(lumen_family_counter(&c, g_cfam, vals, 2), LUMEN_OK);
        lumen_counter_inc(c);
    }
    return NULL;
}

static void *renderer(void *arg)
{
    lumen_registry *r = arg;
    while (!atomic_load(&g_cdone)) {
        char *s;
        assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_OPENMETRICS),
                         LUMEN_OK);
        assert_non_null(strstr(s, "# EOF\n"));
        lumen_free(s);
    }
    return NULL;
}

/* Children created concurrently from several threads, while lock-free
 * lookups and renders run: every increment lands in the right series. */
static void test_metrics_threads__concurrent_child_creation(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *ln[] = {"key", "parity"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Created concurrently.";
    o.label_names = ln;
    o.label_count = 2;
    assert_int_equal(lumen_family_new(&g_cfam, r, LUMEN_METRIC_COUNTER, "cc_total", &o), LUMEN_OK);
    pthread_t t[4], rt;
    int ids[4] = {0, 1, 2, 3};
    pthread_create(&rt, NULL, renderer, r);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, creator, &ids[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    atomic_store(&g_cdone, 1);
    pthread_join(rt, NULL);
    /* Expected counts, recomputed. */
    static int want[2][CKEYS];
    memset(want, 0, sizeof want);
    for (int id = 0; id < 4; id++)
        for (int i = 0; i < CITERS; i++)
            want[id % 2][(i * 7 + id * 1000) % CKEYS]++;
    double total = 0;
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < CKEYS; k++) {
            if (want[p][k] == 0)
                continue;
            char v[16];
            snprintf(v, sizeof v, "k%d", k);
            const char *vals[] = {v, p ? "odd" : "even"};
            lumen_counter *c;
            assert_int_equal(lumen_family_counter(&c, g_cfam, vals, 2), LUMEN_OK);
            assert_true(lumen_counter_value(c) == want[p][k]);
            total += lumen_counter_value(c);
        }
    assert_true(total == 4.0 * CITERS);
    assert_int_equal(lumen_family_overflows(g_cfam), 0);
    lumen_registry_free(r);
}

static void *churner(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5000; i++) {
        char v[16];
        snprintf(v, sizeof v, "c%d", i);
        const char *vals[] = {v, "x"};
        lumen_counter *c;
        int crc = lumen_family_counter(&c, g_cfam, vals, 2);
        if (crc != LUMEN_OK) {
            fprintf(stderr, "churn %d: %s\n", i, lumen_status_name(crc));
            abort(); /* cmocka asserts belong to the main thread */
        }
        lumen_counter_inc(c);
        if (i >= 50) {
            snprintf(v, sizeof v, "c%d", i - 50);
            int rc = lumen_family_remove(g_cfam, vals, 2);
            /* Series made before the last clear are already gone. */
            if (rc != LUMEN_OK && !(rc == LUMEN_ENOENT && i % 1000 <= 50))
                abort();
        }
        if (i % 1000 == 0)
            lumen_family_clear(g_cfam);
    }
    return NULL;
}

/* Series created and removed (and the family cleared) in a loop, past the
 * point where removed series are freed, while renders run: a render only
 * ever reads series its snapshot keeps alive. */
static void test_metrics_threads__remove_while_rendering(void **state)
{
    (void)state;
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    const char *ln[] = {"key", "k2"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Churned.";
    o.label_names = ln;
    o.label_count = 2;
    assert_int_equal(lumen_family_new(&g_cfam, r, LUMEN_METRIC_COUNTER, "churn_total", &o),
                     LUMEN_OK);
    atomic_store(&g_cdone, 0);
    pthread_t ct, rt;
    pthread_create(&rt, NULL, renderer, r);
    pthread_create(&ct, NULL, churner, NULL);
    pthread_join(ct, NULL);
    atomic_store(&g_cdone, 1);
    pthread_join(rt, NULL);
    char *s;
    assert_int_equal(lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS), LUMEN_OK);
    /* The last 50 series remain, each counted once. */
    assert_non_null(strstr(s, "churn_total{key=\"c4999\",k2=\"x\"} 1\n"));
    assert_null(strstr(s, "churn_total{key=\"c4949\""));
    lumen_free(s);
    lumen_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_threads__render_while_updating),
        cmocka_unit_test(test_metrics_threads__concurrent_child_creation),
        cmocka_unit_test(test_metrics_threads__remove_while_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
