/* tests/http/test_http_units.c: the server's parts that need no network:
 * listen address parsing, Accept-Encoding, gzip, basic auth against
 * bcrypt, and the LUMEN_METRICS_* environment. */
#include "http/http_test.h"

#include <arpa/inet.h>
#ifdef LUMEN_HAVE_XCRYPT
#include <crypt.h>
#endif
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "http/addr.h"
#include "http/auth.h"
#include "http/encoding.h"
#include "lumen/http.h"

/* 64 bytes: one more than a DNS label may hold. */
#define NO_SUCH_LABEL "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_http_addr__forms(void **state)
{
    (void)state;
    lumen__http_addr a;
    assert_int_equal(lumen__http_addr_parse("127.0.0.1:0", &a), LUMEN_OK);
    assert_false(a.ipv6);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 0);
    assert_int_equal(lumen__http_addr_parse("127.0.0.1:9464", &a), LUMEN_OK);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 9464);
    assert_int_equal(lumen__http_addr_parse("[::1]:65535", &a), LUMEN_OK);
    assert_true(a.ipv6);
    assert_false(a.dual_stack);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), 65535);
    assert_int_equal(lumen__http_addr_parse(":8080", &a), LUMEN_OK);
    assert_true(a.ipv6 && a.dual_stack);
    assert_int_equal(lumen__http_addr_parse("localhost:1", &a), LUMEN_OK);

    const char *bad[] = {
        "",       "127.0.0.1", "::1:80",       "127.0.0.1:65536", "127.0.0.1:",       "[::1]80",
        "[::1]:", "host:abc",  "127.0.0.1:-1", "[127.0.0.1]:80",  "127.0.0.1:1234567"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (lumen__http_addr_parse(bad[i], &a) != LUMEN_ECONFIG)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(lumen__http_addr_parse(NULL, &a), LUMEN_ECONFIG);
    /* A name that does not resolve, refused by the resolver library itself
     * (a label longer than 63 bytes), so that no DNS query leaves the
     * machine. */
    assert_int_equal(lumen__http_addr_parse("no.such.host." NO_SUCH_LABEL ".invalid:80", &a),
                     LUMEN_ECONFIG);
}

static void test_http_encoding__accepts_gzip(void **state)
{
    (void)state;
    assert_true(lumen__http_accepts_gzip("gzip"));
    assert_true(lumen__http_accepts_gzip("gzip, deflate, br"));
    assert_true(lumen__http_accepts_gzip("deflate, GZIP;q=0.5"));
    assert_true(lumen__http_accepts_gzip("x-gzip"));
    assert_true(lumen__http_accepts_gzip("*"));
    assert_true(lumen__http_accepts_gzip("identity, *;q=0.1"));
    assert_true(lumen__http_accepts_gzip(" gzip ; q=1.0 "));
    assert_false(lumen__http_accepts_gzip(NULL));
    assert_false(lumen__http_accepts_gzip(""));
    assert_false(lumen__http_accepts_gzip("identity"));
    assert_false(lumen__http_accepts_gzip("gzip;q=0"));
    assert_false(lumen__http_accepts_gzip("gzip;q=0.000"));
    assert_false(lumen__http_accepts_gzip("*;q=0"));
    assert_false(lumen__http_accepts_gzip("*, gzip;q=0"));
    assert_false(lumen__http_accepts_gzip("gzipx, br"));
    assert_true(lumen__http_accepts_gzip("br;q=0, gzip;q=0.001"));
}

static void test_http_encoding__gzip_roundtrip(void **state)
{
    (void)state;
    lumen__buf text = LUMEN__BUF_INIT;
    for (int i = 0; i < 5000; i++) {
        char line[64];
        snprintf(line, sizeof line, "requests_total{path=\"/api/%d\"} %d\n", i % 97, i);
        lumen__buf_puts(&text, line);
    }
    lumen__buf z = LUMEN__BUF_INIT;
    assert_int_equal(lumen__gzip(text.p, text.len, &z), LUMEN_OK);
    assert_true(z.len < text.len / 4);
    assert_int_equal((unsigned char)z.p[0], 0x1f);
    assert_int_equal((unsigned char)z.p[1], 0x8b);
    size_t n;
    char *back = th_gunzip(z.p, z.len, &n);
    assert_non_null(back);
    assert_int_equal(n, text.len);
    assert_memory_equal(back, text.p, n);
    free(back);
    lumen__buf_free(&z);
    /* Empty input still makes a valid gzip stream. */
    assert_int_equal(lumen__gzip("", 0, &z), LUMEN_OK);
    back = th_gunzip(z.p, z.len, &n);
    assert_non_null(back);
    assert_int_equal(n, 0);
    free(back);
    lumen__buf_free(&z);
    lumen__buf_free(&text);
}

static void test_http_encoding__gzip_out_of_memory(void **state)
{
    (void)state;
    const char text[] = "a_metric 1\nb_metric 2\n";
    lt_failalloc_install();
    for (long k = 0;; k++) {
        lumen__buf z = LUMEN__BUF_INIT;
        lt_failalloc_arm(k);
        int rc = lumen__gzip(text, sizeof text - 1, &z);
        int triggered = lt_failalloc_triggered();
        lt_failalloc_disarm();
        lumen__buf_free(&z);
        assert_int_equal(lt_failalloc_live(), 0);
        if (!triggered) {
            assert_int_equal(rc, LUMEN_OK);
            break;
        }
        assert_int_equal(rc, LUMEN_ENOMEM);
    }
    lt_failalloc_uninstall();
}

#ifdef LUMEN_HAVE_XCRYPT
/* ---- basic auth ------------------------------------------------------------ */

static char *make_hash(const char *password, const char *prefix, int cost)
{
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn(prefix, (unsigned long)cost, NULL, 0, salt, sizeof salt));
    const char *h = crypt_rn(password, salt, &cd, sizeof cd);
    assert_non_null(h);
    return strdup(h);
}

static int64_t time_check(lumen__http_auth *a, const char *u, const char *p, int expect)
{
    int64_t t0 = lumen__mono_ns();
    assert_int_equal(lumen__http_auth_check(a, u, p), expect);
    return lumen__mono_ns() - t0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_http_auth__bcrypt_users(void **state)
{
    (void)state;
    char *h1 = make_hash("s3cret", "$2b$", 6);
    char *h2 = make_hash("other:pw", "$2y$", 6);
    char users[512];
    snprintf(users, sizeof users, "alice:%s,\n  bob:%s\n", h1, h2);
    lumen__http_auth *a;
    assert_int_equal(lumen__http_auth_new(&a, users, NULL), LUMEN_OK);
    assert_non_null(a);
    assert_int_equal(lumen__http_auth_check(a, "alice", "s3cret"), LUMEN__AUTH_OK);
    assert_int_equal(lumen__http_auth_check(a, "bob", "other:pw"), LUMEN__AUTH_OK);
    assert_int_equal(lumen__http_auth_check(a, "alice", "other:pw"), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "alice", "s3cre"), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "alice", "s3cret "), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "alic", "s3cret"), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "alicealice", "s3cret"), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, NULL, NULL), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, NULL, "s3cret"), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "alice", NULL), LUMEN__AUTH_DENIED);
    assert_int_equal(lumen__http_auth_check(a, "", ""), LUMEN__AUTH_DENIED);
    /* After a success is cached, a wrong password for that user is still
     * refused (the cache is keyed by the exact bytes). */
    assert_int_equal(lumen__http_auth_check(a, "alice", "s3cret"), LUMEN__AUTH_OK);
    assert_int_equal(lumen__http_auth_check(a, "alice", "s3cretX"), LUMEN__AUTH_DENIED);
    /* Someone else's password never opens alice's account, cached or not. */
    assert_int_equal(lumen__http_auth_check(a, "alice", "other:pw"), LUMEN__AUTH_DENIED);
    lumen__http_auth_free(a);
    free(h1);
    free(h2);
}

static void test_http_auth__unknown_user_costs_a_hash(void **state)
{
    (void)state;
    char *h = make_hash("right", "$2b$", 8);
    char users[256];
    snprintf(users, sizeof users, "prom:%s", h);
    lumen__http_auth *a;
    assert_int_equal(lumen__http_auth_new(&a, users, NULL), LUMEN_OK);
    enum { N = 5 };
    int64_t known[N], unknown[N];
    for (int i = 0; i < N; i++) {
        known[i] = time_check(a, "prom", "wrong", LUMEN__AUTH_DENIED);
        unknown[i] = time_check(a, "nobody", "wrong", LUMEN__AUTH_DENIED);
    }
    qsort(known, N, sizeof *known, cmp64);
    qsort(unknown, N, sizeof *unknown, cmp64);
    double ratio = (double)unknown[N / 2] / (double)known[N / 2];
    print_message("bcrypt cost 8: known user %.2f ms, unknown user %.2f ms\n", known[N / 2] / 1e6,
                  unknown[N / 2] / 1e6);
    assert_true(ratio > 0.5 && ratio < 2.0);
    uint64_t work;
    unsigned at_once;
    lumen__http_auth_stats(a, &work, &at_once);
    assert_int_equal(work, 2 * N * 256); /* one cost-8 hash per check */
    /* The first success pays a hash; a repeat within the cache time does not. */
    int64_t first = time_check(a, "prom", "right", LUMEN__AUTH_OK);
    int64_t again = time_check(a, "prom", "right", LUMEN__AUTH_OK);
    assert_true(again * 10 < first);
    lumen__http_auth_free(a);
    free(h);
}

/* Users with different bcrypt costs: an unknown user costs what a known
 * user with a wrong password costs, whichever user, in rounds of bcrypt
 * counted exactly and in time (medians of interleaved samples, within a
 * generous factor: before, an unknown user cost the first entry's cost-4
 * hash, about 1/64 of the others). */
static void test_http_auth__mixed_costs_hide_users(void **state)
{
    (void)state;
    char *fast = make_hash("fast-pw", "$2b$", 4);
    char *slow = make_hash("slow-pw", "$2y$", 10);
    char *mid = make_hash("mid-pw", "$2a$", 7);
    char users[512];
    snprintf(users, sizeof users, "fast:%s\nslow:%s\nmid:%s\n", fast, slow, mid);
    lumen__http_auth *a;
    assert_int_equal(lumen__http_auth_new(&a, users, NULL), LUMEN_OK);

    /* Rounds: every failure does 2^10, the work of the costliest hash. */
    static const char *const who[] = {"nobody", "slow", "fast", "mid", "fas", "slowslow"};
    for (size_t i = 0; i < sizeof who / sizeof *who; i++) {
        uint64_t w0, w1;
        unsigned at_once;
        lumen__http_auth_stats(a, &w0, &at_once);
        assert_int_equal(lumen__http_auth_check(a, who[i], "wrong"), LUMEN__AUTH_DENIED);
        lumen__http_auth_stats(a, &w1, &at_once);
        if (w1 - w0 != 1024)
            fail_msg("user '%s': %llu rounds of bcrypt, not 1024", who[i],
                     (unsigned long long)(w1 - w0));
    }
    /* A success costs the user's own hash only. */
    uint64_t w0, w1;
    unsigned at_once;
    lumen__http_auth_stats(a, &w0, &at_once);
    assert_int_equal(lumen__http_auth_check(a, "fast", "fast-pw"), LUMEN__AUTH_OK);
    lumen__http_auth_stats(a, &w1, &at_once);
    assert_int_equal(w1 - w0, 16);

    /* Time: interleaved, so that load on the machine falls on all three. */
    enum { N = 9 };
    int64_t unknown[N], known_slow[N], known_fast[N];
    for (int i = 0; i < N; i++) {
        unknown[i] = time_check(a, "nobody", "wrong", LUMEN__AUTH_DENIED);
        known_slow[i] = time_check(a, "slow", "wrong", LUMEN__AUTH_DENIED);
        known_fast[i] = time_check(a, "fast", "wrong", LUMEN__AUTH_DENIED);
    }
    qsort(unknown, N, sizeof *unknown, cmp64);
    qsort(known_slow, N, sizeof *known_slow, cmp64);
    qsort(known_fast, N, sizeof *known_fast, cmp64);
    double u = unknown[N / 2] / 1e6, ks = known_slow[N / 2] / 1e6, kf = known_fast[N / 2] / 1e6;
    print_message("costs 4, 10 and 7: unknown user %.2f ms, known (cost 10) %.2f ms, "
                  "known (cost 4) %.2f ms\n",
                  u, ks, kf);
    assert_true(u / ks > 1.0 / 3 && u / ks < 3);
    assert_true(u / kf > 1.0 / 3 && u / kf < 3);
    lumen__http_auth_free(a);
    free(fast);
    free(slow);
    free(mid);
}

typedef struct checker {
    lumen__http_auth *a;
    int result;
} checker;

static void *check_thread(void *arg)
{
    checker *c = arg;
    c->result = lumen__http_auth_check(c->a, "prom", "wrong");
    return NULL;
}

static void test_http_auth__one_hash_at_a_time(void **state)
{
    (void)state;
    char *h = make_hash("right", "$2b$", 12);
    char users[256];
    snprintf(users, sizeof users, "prom:%s", h);
    lumen__http_auth *a;
    assert_int_equal(lumen__http_auth_new(&a, users, NULL), LUMEN_OK);
    int64_t t0 = lumen__mono_ns();
    assert_int_equal(lumen__http_auth_check(a, "prom", "wrong"), LUMEN__AUTH_DENIED);
    int64_t one = lumen__mono_ns() - t0;
    /* Five at once: they take turns; whoever waits more than a second for
     * the slot is answered BUSY. */
    enum { N = 5 };
    checker c[N];
    pthread_t t[N];
    t0 = lumen__mono_ns();
    for (int i = 0; i < N; i++) {
        c[i].a = a;
        pthread_create(&t[i], NULL, check_thread, &c[i]);
    }
    int denied = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        denied += c[i].result == LUMEN__AUTH_DENIED;
        busy += c[i].result == LUMEN__AUTH_BUSY;
    }
    int64_t took = lumen__mono_ns() - t0;
    print_message("one hash %.0f ms; %d at once: %d denied, %d busy, %.0f ms\n", one / 1e6, N,
                  denied, busy, took / 1e6);
    assert_int_equal(denied + busy, N);
    assert_true(denied >= 1);
    /* One after another, never side by side; and a BUSY answer cost no
     * hash (counted, not timed, so that a busy machine cannot fool it). */
    uint64_t work;
    unsigned at_once;
    lumen__http_auth_stats(a, &work, &at_once);
    assert_int_equal(at_once, 1);
    assert_int_equal(work, (uint64_t)(1 + denied) << 12);
    lumen__http_auth_free(a);
    free(h);
}

static void test_http_auth__config_errors(void **state)
{
    (void)state;
    lumen__http_auth *a = (lumen__http_auth *)1;
    assert_int_equal(lumen__http_auth_new(&a, NULL, NULL), LUMEN_OK);
    assert_null(a);
    const char *bad[] = {
        "alice",                                                              /* no hash */
        "alice:plaintext",                                                    /* not bcrypt */
        ":$2b$04$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9u",      /* no user */
        "alice:$1$abc$0123456789",                                            /* md5-crypt */
        "alice:$2b$04$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9",  /* short */
        "alice:$2b$99$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9u", /* cost */
        "alice:$2b$04$abcdefghijklmnopqrstuuJ3bXq1cSgE5wDgp6lpF8fX0E0iQ8y9!", /* alphabet */
        "",                                                                   /* no users at all */
        " \n ,\n# only a comment\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (lumen__http_auth_new(&a, bad[i], NULL) != LUMEN_ECONFIG)
            fail_msg("accepted users '%s'", bad[i]);
    }
    assert_int_equal(lumen__http_auth_new(&a, NULL, "/nonexistent/htpasswd"), LUMEN_ECONFIG);

    /* An htpasswd file with a comment and CRLF line ends. */
    char *h = make_hash("pw", "$2y$", 4);
    char *dir = lt_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/htpasswd", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "# users\r\nscraper:%s\r\n\r\n", h);
    fclose(f);
    assert_int_equal(lumen__http_auth_new(&a, NULL, path), LUMEN_OK);
    assert_int_equal(lumen__http_auth_check(a, "scraper", "pw"), LUMEN__AUTH_OK);
    lumen__http_auth_free(a);
    remove(path);
    remove(dir);
    free(dir);
    free(h);
}

#endif /* LUMEN_HAVE_XCRYPT */

/* ---- environment ------------------------------------------------------------ */

static void clear_env(void)
{
    const char *vars[] = {"LUMEN_METRICS_ADDR",
                          "LUMEN_METRICS_MAX_CONNECTIONS",
                          "LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT",
                          "LUMEN_METRICS_CONNECTION_TIMEOUT",
                          "LUMEN_METRICS_MAX_HEADER_BYTES",
                          "LUMEN_METRICS_MAX_SCRAPES",
                          "LUMEN_METRICS_SCRAPE_TIMEOUT",
                          "LUMEN_METRICS_THREADS",
                          "LUMEN_METRICS_BASIC_AUTH_FILE",
                          "LUMEN_METRICS_TLS_CERT_FILE",
                          "LUMEN_METRICS_TLS_KEY_FILE",
                          "LUMEN_METRICS_GZIP",
                          "LUMEN_METRICS_HEADER_TIMEOUT"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}

/* Options not started from their _INIT (version 0) or from a newer
 * library are refused before anything is done with them. */
static void test_http_server__options_version(void **state)
{
    (void)state;
    lumen_http_server_options o;
    memset(&o, 0, sizeof o);
    lumen_http_server *srv = (lumen_http_server *)1;
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_EVERSION);
    assert_int_equal(lumen_http_server_options_from_env(&o), LUMEN_EVERSION);
    o.version = LUMEN_HTTP_SERVER_OPTIONS_VERSION + 1;
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_EVERSION);
    assert_int_equal(lumen_http_server_options_init(&o, LUMEN_HTTP_SERVER_OPTIONS_VERSION),
                     LUMEN_OK);
    assert_null(o.addr);
    assert_int_equal(lumen_http_server_options_init(&o, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_http_server_options_init(NULL, 1), LUMEN_EINVAL);
}

static void test_http_server_env__applies_and_checks(void **state)
{
    (void)state;
    clear_env();
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    assert_int_equal(lumen_http_server_options_from_env(&o), LUMEN_OK);
    assert_null(o.addr);
    assert_int_equal(o.max_connections, 0);

    setenv("LUMEN_METRICS_ADDR", "[::1]:9999", 1);
    setenv("LUMEN_METRICS_MAX_CONNECTIONS", "50", 1);
    setenv("LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT", "5", 1);
    setenv("LUMEN_METRICS_CONNECTION_TIMEOUT", "7", 1);
    setenv("LUMEN_METRICS_MAX_HEADER_BYTES", "8192", 1);
    setenv("LUMEN_METRICS_MAX_SCRAPES", "3", 1);
    setenv("LUMEN_METRICS_SCRAPE_TIMEOUT", "2.5", 1);
    setenv("LUMEN_METRICS_HEADER_TIMEOUT", "0.75", 1);
    setenv("LUMEN_METRICS_THREADS", "2", 1);
    setenv("LUMEN_METRICS_GZIP", "false", 1);
    setenv("LUMEN_METRICS_BASIC_AUTH_FILE", "/etc/lumen/htpasswd", 1);
    assert_int_equal(lumen_http_server_options_from_env(&o), LUMEN_OK);
    assert_string_equal(o.addr, "[::1]:9999");
    assert_int_equal(o.max_connections, 50);
    assert_int_equal(o.max_connections_per_client, 5);
    assert_int_equal(o.connection_timeout_ms, 7000);
    assert_int_equal(o.max_header_bytes, 8192);
    assert_int_equal(o.max_concurrent_scrapes, 3);
    assert_int_equal(o.scrape_timeout_ms, 2500);
    assert_int_equal(o.header_timeout_ms, 750);
    assert_int_equal(o.threads, 2);
    assert_true(o.flags & LUMEN_HTTP_NO_GZIP);
    assert_string_equal(o.basic_auth_file, "/etc/lumen/htpasswd");

    /* Bad values are refused one by one; the good ones still apply. */
    lumen_http_server_options p = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    setenv("LUMEN_METRICS_ADDR", "nonsense", 1);
    setenv("LUMEN_METRICS_MAX_CONNECTIONS", "12x", 1);
    setenv("LUMEN_METRICS_MAX_HEADER_BYTES", "100", 1);
    setenv("LUMEN_METRICS_SCRAPE_TIMEOUT", "-1", 1);
    setenv("LUMEN_METRICS_HEADER_TIMEOUT", "soon", 1);
    setenv("LUMEN_METRICS_GZIP", "maybe", 1);
    setenv("LUMEN_METRICS_TLS_CERT_FILE", "/x.pem", 1);
    assert_int_equal(lumen_http_server_options_from_env(&p), LUMEN_ECONFIG);
    assert_null(p.addr);
    assert_int_equal(p.max_connections, 0);
    assert_int_equal(p.max_header_bytes, 0);
    assert_int_equal(p.scrape_timeout_ms, 0);
    assert_int_equal(p.header_timeout_ms, 0);
    assert_null(p.tls_cert_file);
    assert_int_equal(p.max_connections_per_client, 5);
    assert_int_equal(lumen_http_server_options_from_env(NULL), LUMEN_EINVAL);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_addr__forms),
        cmocka_unit_test(test_http_encoding__accepts_gzip),
        cmocka_unit_test(test_http_encoding__gzip_roundtrip),
        cmocka_unit_test(test_http_encoding__gzip_out_of_memory),
#ifdef LUMEN_HAVE_XCRYPT
        cmocka_unit_test(test_http_auth__bcrypt_users),
        cmocka_unit_test(test_http_auth__unknown_user_costs_a_hash),
        cmocka_unit_test(test_http_auth__mixed_costs_hide_users),
        cmocka_unit_test(test_http_auth__one_hash_at_a_time),
        cmocka_unit_test(test_http_auth__config_errors),
#endif
        cmocka_unit_test(test_http_server__options_version),
        cmocka_unit_test(test_http_server_env__applies_and_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
