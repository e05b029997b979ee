/* tests/http/test_http_hostile.c: clients that do not play fair: idle and
 * slowloris connections by the hundred, from many addresses and from the
 * scraper's own, with the default limits; oversized headers, malformed
 * request lines and header names, unknown methods, wrong credentials; and
 * TLS. The server must answer 4xx or close, and keep serving. */
#include "http/http_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef LUMEN_HAVE_XCRYPT
#include <crypt.h>
#endif

#include "lumen/http.h"

static lumen_registry *g_reg;

static lumen_http_server *start(lumen_http_server_options *o, char *base, size_t cap)
{
    if (g_reg == NULL) {
        lumen_counter *c;
        assert_int_equal(lumen_registry_new(&g_reg), LUMEN_OK);
        assert_int_equal(lumen_counter_new(&c, g_reg, "hostile_test", "A counter."), LUMEN_OK);
        lumen_counter_add(c, 7);
    }
    o->addr = "127.0.0.1:0";
    o->registries = &g_reg;
    o->registry_count = 1;
    lumen_http_server *srv;
    assert_int_equal(lumen_http_server_start(&srv, o), LUMEN_OK);
    snprintf(base, cap, "%s://127.0.0.1:%u", o->tls_cert_file ? "https" : "http",
             (unsigned)lumen_http_server_port(srv));
    return srv;
}

/* A scrape from 127.0.0.1 that must succeed within `ms`. */
static void scrape_ok(const char *base, long ms)
{
    char u[256];
    snprintf(u, sizeof u, "%s/metrics", base);
    th_resp r;
    int64_t t0 = th_now_ms();
    long s = th_http("GET", u, NULL, NULL, NULL, ms, &r);
    if (s != 200)
        fail_msg("scrape: status %ld (curl %d) after %lld ms", s, r.curl_code,
                 (long long)(th_now_ms() - t0));
    assert_non_null(strstr(r.body, "hostile_test_total 7\n"));
    th_resp_free(&r);
}

/* The bound on a scrape while the server is flooded: attempts from
 * 127.0.0.1, each given the time left, until one answers 200. Well below
 * the header deadline and the idle timeout (10 s each), so a pass shows
 * room made for the scrape, not connections that ran out their time. */
#define FLOOD_SCRAPE_BOUND_MS 5000

/* Scrape until one succeeds or `bound_ms` passes (then fail); returns the
 * body (malloc'd) and the time it took in *took_ms. */
static char *scrape_within(const char *base, long bound_ms, int64_t *took_ms)
{
    char u[256];
    snprintf(u, sizeof u, "%s/metrics", base);
    int64_t t0 = th_now_ms(), left;
    long s = 0;
    int tries = 0;
    while ((left = bound_ms - (th_now_ms() - t0)) > 0) {
        th_resp r;
        tries++;
        s = th_http("GET", u, NULL, NULL, NULL, left, &r);
        if (s == 200) {
            *took_ms = th_now_ms() - t0;
            free(r.headers);
            assert_non_null(strstr(r.body, "hostile_test_total 7\n"));
            return r.body;
        }
        th_resp_free(&r);
    }
    fail_msg("no scrape got through in %ld ms (%d tries, last status %ld)", bound_ms, tries, s);
    return NULL;
}

/* A sample of the server's own metrics in an exposition, -1 if absent. */
static double sample(const char *body, const char *series)
{
    char key[256];
    snprintf(key, sizeof key, "\n%s ", series);
    const char *p = strstr(body, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

/* Whether the server has closed fd (reads EOF or a reset within ms). */
static int closed_by_server(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2048 && rl.rlim_max >= 2048) {
        rl.rlim_cur = 2048;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Connections that send half a request and then nothing. */
static int open_idle(int *fds, int n, uint16_t port, const char *src)
{
    static const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = th_connect(port, src);
        if (fds[i] >= 0) {
            send(fds[i], partial, sizeof partial - 1, MSG_NOSIGNAL);
            opened++;
        }
    }
    return opened;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* 500 idle connections from each of `naddr` addresses 127.0.0.<first>...,
 * then a scrape from 127.0.0.1 within the bound, with the default limits. */
static void idle_flood(int naddr, int first, int per_addr)
{
    raise_fd_limit();
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT; /* the default limits */
    lumen_http_server *srv = start(&o, base, sizeof base);
    int n = naddr * per_addr;
    int *fds = calloc((size_t)n, sizeof *fds);
    for (int a = 0; a < naddr; a++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", first + a);
        assert_int_equal(open_idle(fds + a * per_addr, per_addr, lumen_http_server_port(srv), src),
                         per_addr);
    }
    int64_t took;
    char *body = scrape_within(base, FLOOD_SCRAPE_BOUND_MS, &took);
    double evicted = sample(body, "lumen_http_connections_closed_total{reason=\"evicted\"}");
    double open = sample(body, "lumen_http_connections_open");
    print_message("%d idle connections from %d address(es) from 127.0.0.%d: scrape in %lld ms; "
                  "%.0f evicted, %.0f open\n",
                  n, naddr, first, (long long)took, evicted, open);
    /* Room was made by closing idle connections, and never more open than
     * the limit. */
    assert_true(evicted >= n - LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS);
    assert_true(open >= 1 && open <= LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS);
    free(body);
    /* The closed ones see the server close them, oldest first. */
    assert_true(closed_by_server(fds[0], 2000));
    scrape_ok(base, FLOOD_SCRAPE_BOUND_MS);
    close_all(fds, n);
    free(fds);
    lumen_http_server_stop(srv);
}

/* 500 idle connections from 50 addresses: more than the total limit, each
 * address within its own. */
static void test_http_hostile__idle_flood_from_many_addresses(void **state)
{
    (void)state;
    idle_flood(50, 10, 10);
}

/* 500 idle connections from one other address. */
static void test_http_hostile__idle_flood_from_one_address(void **state)
{
    (void)state;
    idle_flood(1, 2, 500);
}

/* 500 idle connections from the scraper's own address (a sidecar, a load
 * balancer, the same host): the per-address limit cannot tell them from
 * the scraper, so the room comes from closing the idle ones. */
static void test_http_hostile__idle_flood_from_the_scrapers_address(void **state)
{
    (void)state;
    idle_flood(1, 1, 500);
}

/* Slowloris: connections that send a request one byte a second, and open
 * again when closed (checked once a second, as slowloris does). */
typedef struct slowloris {
    uint16_t port;
    int naddr, per_addr;
    int *fds;
    atomic_int stop;
    atomic_int opened;    /* connections open after the first round */
    atomic_long reopened; /* closed by the server and opened again */
} slowloris;

static int slow_open(slowloris *sl, int i)
{
    static const char start[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    char src[32];
    snprintf(src, sizeof src, "127.0.0.%d", 20 + i / sl->per_addr);
    int fd = th_connect(sl->port, src);
    if (fd >= 0)
        send(fd, start, sizeof start - 1, MSG_NOSIGNAL);
    return fd;
}

static void *slowloris_main(void *arg)
{
    slowloris *sl = arg;
    int n = sl->naddr * sl->per_addr, open = 0;
    for (int i = 0; i < n; i++)
        open += (sl->fds[i] = slow_open(sl, i)) >= 0;
    atomic_store(&sl->opened, open);
    while (!atomic_load(&sl->stop)) {
        int64_t tick = th_now_ms() + 1000;
        for (int64_t left; (left = tick - th_now_ms()) > 0 && !atomic_load(&sl->stop);) {
            struct timespec ts = {0, (long)(left > 100 ? 100 : left) * 1000000};
            nanosleep(&ts, NULL); /* the attacker's pace: a byte a second */
        }
        for (int i = 0; i < n && !atomic_load(&sl->stop); i++) {
            if (sl->fds[i] >= 0 && !closed_by_server(sl->fds[i], 0) &&
                send(sl->fds[i], "a", 1, MSG_NOSIGNAL) == 1)
                continue;
            if (sl->fds[i] >= 0)
                close(sl->fds[i]);
            sl->fds[i] = slow_open(sl, i);
            atomic_fetch_add(&sl->reopened, 1);
        }
    }
    close_all(sl->fds, n);
    return NULL;
}

/* 136 slowloris connections from 8 addresses (more than the total limit,
 * within each address's), with the default limits: a scrape gets through
 * within the bound, again and again. */
static void test_http_hostile__slowloris(void **state)
{
    (void)state;
    raise_fd_limit();
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT; /* the default limits */
    lumen_http_server *srv = start(&o, base, sizeof base);
    slowloris sl = {.port = lumen_http_server_port(srv), .naddr = 8, .per_addr = 17};
    sl.fds = calloc(8 * 17, sizeof *sl.fds);
    pthread_t t;
    pthread_create(&t, NULL, slowloris_main, &sl);
    int64_t deadline = th_now_ms() + 10000;
    while (atomic_load(&sl.opened) == 0 && th_now_ms() < deadline)
        poll(NULL, 0, 10);
    assert_int_equal(atomic_load(&sl.opened), 8 * 17);
    /* Three scrapes, a while apart, while the attack goes on. */
    for (int i = 0; i < 3; i++) {
        int64_t took;
        char *body = scrape_within(base, FLOOD_SCRAPE_BOUND_MS, &took);
        print_message("slowloris (%d connections, %ld reopened): scrape %d in %lld ms, "
                      "%.0f open\n",
                      8 * 17, atomic_load(&sl.reopened), i, (long long)took,
                      sample(body, "lumen_http_connections_open"));
        assert_true(sample(body, "lumen_http_connections_open") <=
                    LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS);
        free(body);
        /* Let the attacker refill the slots before the next scrape. */
        long before = atomic_load(&sl.reopened);
        deadline = th_now_ms() + 5000;
        while (atomic_load(&sl.reopened) == before && th_now_ms() < deadline)
            poll(NULL, 0, 10);
    }
    atomic_store(&sl.stop, 1);
    pthread_join(t, NULL);
    free(sl.fds);
    lumen_http_server_stop(srv);
}

/* A request's line and headers must arrive within the header deadline,
 * however many bytes the client sends meanwhile (an inactivity timeout
 * would restart on each). */
static void test_http_hostile__header_deadline(void **state)
{
    (void)state;
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.header_timeout_ms = 1000; /* the idle timeout stays 10 s */
    lumen_http_server *srv = start(&o, base, sizeof base);
    uint16_t port = lumen_http_server_port(srv);

    int fd = th_connect(port, "127.0.0.30");
    static const char start_req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    int64_t t0 = th_now_ms();
    send(fd, start_req, sizeof start_req - 1, MSG_NOSIGNAL);
    int closed = 0;
    while (!closed && th_now_ms() - t0 < 6000) {
        closed = closed_by_server(fd, 100);
        if (!closed)
            send(fd, "a", 1, MSG_NOSIGNAL); /* never idle for more than 100 ms */
    }
    int64_t took = th_now_ms() - t0;
    close(fd);
    print_message("a request sent a byte every 100 ms was closed after %lld ms\n", (long long)took);
    assert_true(closed);
    assert_true(took >= 900 && took < 5000);

    int64_t t;
    char *body = scrape_within(base, FLOOD_SCRAPE_BOUND_MS, &t);
    assert_true(sample(body, "lumen_http_connections_closed_total{reason=\"header_timeout\"}") ==
                1);
    free(body);
    lumen_http_server_stop(srv);
}

/* A render in progress is never closed to make room: a slow scrape from
 * 127.0.0.40 while 160 idle connections from it and nine other addresses
 * arrive (past its address's limit and the total limit). */
static atomic_int g_slow_entered;
static int slow_collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    atomic_store(&g_slow_entered, 1);
    struct timespec ts = {0, 800 * 1000000L}; /* a render that takes its time */
    nanosleep(&ts, NULL);
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, "slow_value", "A slow gauge.", NULL);
    return rc ? rc : lumen_collect_sample(s, "", NULL, 0, 1);
}

typedef struct raw_job {
    uint16_t port;
    int status;
    char *answer;
} raw_job;

static void *raw_scrape(void *arg)
{
    raw_job *j = arg;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    j->status = th_raw(j->port, "127.0.0.40", req, sizeof req - 1, 10000, &j->answer);
    return NULL;
}

static void test_http_hostile__request_in_progress_is_kept(void **state)
{
    (void)state;
    raise_fd_limit();
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    assert_int_equal(lumen_registry_add_collector(NULL, reg, NULL, slow_collect, NULL), LUMEN_OK);
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.registries = &reg;
    o.registry_count = 1;
    lumen_http_server *srv;
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_OK);
    uint16_t port = lumen_http_server_port(srv);
    atomic_store(&g_slow_entered, 0);
    raw_job j = {port, 0, NULL};
    pthread_t t;
    pthread_create(&t, NULL, raw_scrape, &j);
    int64_t deadline = th_now_ms() + 10000;
    while (!atomic_load(&g_slow_entered) && th_now_ms() < deadline)
        poll(NULL, 0, 5);
    assert_true(atomic_load(&g_slow_entered));
    enum { ADDRS = 10, PER = 16 };
    int fds[ADDRS * PER];
    for (int a = 0; a < ADDRS; a++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", 40 + a);
        open_idle(fds + a * PER, PER, port, src);
    }
    pthread_join(t, NULL);
    assert_int_equal(j.status, 200);
    assert_non_null(strstr(j.answer, "slow_value 1\n"));
    free(j.answer);
    close_all(fds, ADDRS * PER);
    lumen_http_server_stop(srv);
    lumen_registry_free(reg);
}

static void test_http_hostile__idle_flood_accepted(void **state)
{
    (void)state;
    raise_fd_limit();
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.max_connections = 1000;
    o.max_connections_per_client = 1000;
    lumen_http_server *srv = start(&o, base, sizeof base);
    enum { N = 500 };
    int fds[N];
    /* With limits raised, every one is accepted and held open, and still
     * the scrape gets through: an idle connection costs the server no
     * thread. Once the server counts them all open, scrape again. */
    assert_int_equal(open_idle(fds, N, lumen_http_server_port(srv), NULL), N);
    int64_t took, deadline = th_now_ms() + 10000;
    double open = 0;
    while (open < N + 1 && th_now_ms() < deadline) {
        char *body = scrape_within(base, FLOOD_SCRAPE_BOUND_MS, &took);
        open = sample(body, "lumen_http_connections_open");
        free(body);
    }
    assert_true(open >= N + 1);
    int refused = 0;
    for (int i = 0; i < N; i++)
        refused += closed_by_server(fds[i], 0);
    assert_int_equal(refused, 0);
    scrape_ok(base, 2000);
    close_all(fds, N);
    lumen_http_server_stop(srv);
}

/* The policy, with small limits: a new connection closes the oldest idle
 * one of its address at that address's limit, and the oldest idle one of
 * all at the total limit; the idle timeout closes the rest. */
static void test_http_hostile__total_limit_and_idle_timeout(void **state)
{
    (void)state;
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.max_connections = 8;
    o.max_connections_per_client = 4;
    o.connection_timeout_ms = 2000;
    o.threads = 1;
    lumen_http_server *srv = start(&o, base, sizeof base);
    uint16_t port = lumen_http_server_port(srv);
    int a[6], b[4], c[2];
    /* Six from one address: the fifth and sixth close the first two. */
    open_idle(a, 6, port, "127.0.0.3");
    assert_true(closed_by_server(a[0], 2000));
    assert_true(closed_by_server(a[1], 2000));
    for (int i = 2; i < 6; i++)
        assert_false(closed_by_server(a[i], 0));
    /* Four from another fill the total of 8; two from a third address
     * close the two oldest of all, a[2] and a[3]. */
    open_idle(b, 4, port, "127.0.0.4");
    open_idle(c, 2, port, "127.0.0.5");
    assert_true(closed_by_server(a[2], 2000));
    assert_true(closed_by_server(a[3], 2000));
    int open = 0;
    for (int i = 4; i < 6; i++)
        open += !closed_by_server(a[i], 0);
    for (int i = 0; i < 4; i++)
        open += !closed_by_server(b[i], 0);
    for (int i = 0; i < 2; i++)
        open += !closed_by_server(c[i], 0);
    assert_int_equal(open, 8);
    /* The idle timeout (2 s, shorter than the header deadline) closes
     * every one within a few seconds. */
    int64_t t0 = th_now_ms();
    int still_open = 0;
    for (int i = 4; i < 6; i++)
        still_open += !closed_by_server(a[i], 5000);
    for (int i = 0; i < 4; i++)
        still_open += !closed_by_server(b[i], 5000);
    for (int i = 0; i < 2; i++)
        still_open += !closed_by_server(c[i], 5000);
    assert_int_equal(still_open, 0);
    print_message("idle connections closed after %lld ms\n", (long long)(th_now_ms() - t0));
    assert_true(th_now_ms() - t0 < 5000);
    scrape_ok(base, 2000);
    close_all(a, 6);
    close_all(b, 4);
    close_all(c, 2);
    lumen_http_server_stop(srv);
}

static void expect_refused(uint16_t port, const char *what, const char *req, size_t len)
{
    char *ans = NULL;
    /* Longer than the server's idle timeout: a request that never
     * completes (half a TLS hello) may only end with that timeout, since
     * libmicrohttpd does not always notice the client's half-close. */
    int s = th_raw(port, NULL, req, len, 5000, &ans);
    /* A 4xx (or 505 for an HTTP version we do not speak), or the
     * connection closed without an answer; never a 2xx, another 5xx or a
     * hang. */
    if (!(s == 0 || (s >= 400 && s < 500) || s == 505))
        fail_msg("%s: status %d, answer '%.80s'", what, s, ans ? ans : "");
    free(ans);
}

static void test_http_hostile__malformed_requests(void **state)
{
    (void)state;
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.connection_timeout_ms = 2000;
    lumen_http_server *srv = start(&o, base, sizeof base);
    uint16_t port = lumen_http_server_port(srv);

    /* Headers beyond the limit: 64 KiB in one header, and 2000 small ones. */
    size_t big = 64 * 1024;
    char *req = malloc(big + 256);
    int n = sprintf(req, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    n += (int)big;
    n += sprintf(req + n, "\r\n\r\n");
    char *ans = NULL;
    int s = th_raw(port, NULL, req, (size_t)n, 3000, &ans);
    print_message("64 KiB header: %d\n", s);
    assert_true(s == 0 || s == 431 || s == 413 || s == 400);
    free(ans);
    n = sprintf(req, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 2000 && n < (int)big; i++)
        n += sprintf(req + n, "X-H%d: v\r\n", i);
    n += sprintf(req + n, "\r\n");
    expect_refused(port, "2000 headers", req, (size_t)n);
    /* A request line longer than the memory limit. */
    n = sprintf(req, "GET /");
    memset(req + n, 'p', 32 * 1024);
    n += 32 * 1024;
    n += sprintf(req + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused(port, "32 KiB path", req, (size_t)n);
    free(req);

    static const struct {
        const char *what, *req;
    } bad[] = {
        {"garbage", "GARBAGE\r\n\r\n"},
        {"no path", "GET\r\n\r\n"},
        {"no version", "GET /metrics\r\nHost: x\r\n\r\n"},
        {"bad version", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n"},
        {"no host in 1.1", "GET /metrics HTTP/1.1\r\n\r\n"},
        {"space before colon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n"},
        {"header without colon", "GET /metrics HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n"},
        {"unknown method", "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"unknown method, other path", "FOO /x HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"TLS hello to plain HTTP", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"},
        {"absolute URI elsewhere", "GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(port, bad[i].what, bad[i].req, strlen(bad[i].req));
    /* Content-Length with Transfer-Encoding (the request smuggling shape):
     * refused, or answered and the connection closed (RFC 9112 6.1). */
    static const char both[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    s = th_raw(port, NULL, both, sizeof both - 1, 3000, &ans);
    assert_true((s >= 400 && s < 500) || (s == 200 && strstr(ans, "Connection: close")));
    free(ans);
    /* A malformed chunked body on a GET: the server answers without
     * reading a body, then closes. */
    static const char chunk[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                "chunked\r\n\r\nzz\r\n";
    s = th_raw(port, NULL, chunk, sizeof chunk - 1, 3000, &ans);
    assert_true((s >= 400 && s < 500) || (s == 200 && strstr(ans, "Connection: close")));
    free(ans);
    /* NUL bytes in the request line. */
    static const char nul[] = "GET /met\0rics HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_refused(port, "NUL in path", nul, sizeof nul - 1);
    /* An unknown method on /metrics is 405 precisely. */
    static const char brew[] = "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(th_raw(port, NULL, brew, sizeof brew - 1, 3000, NULL), 405);
    /* HTTP/1.0 without Host is fine. */
    static const char v10[] = "GET /metrics HTTP/1.0\r\n\r\n";
    assert_int_equal(th_raw(port, NULL, v10, sizeof v10 - 1, 3000, NULL), 200);
    scrape_ok(base, 2000);
    lumen_http_server_stop(srv);
}

/* RFC 9112 5.1: whitespace between a field name and its colon is answered
 * 400, the connection closed; so is any other name that is not a token.
 * Checked with the Host header present, so that only the name is at fault. */
static void test_http_hostile__header_name_not_a_token(void **state)
{
    (void)state;
    char base[128];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    lumen_http_server *srv = start(&o, base, sizeof base);
    uint16_t port = lumen_http_server_port(srv);
    static const char *const bad[] = {
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept : text/plain\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept\t: text/plain\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A b: c\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-(a): c\r\n\r\n",
        "GET /healthz HTTP/1.0\r\nX-Forwarded-For : 10.0.0.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *ans = NULL;
        int st = th_raw(port, NULL, bad[i], strlen(bad[i]), 5000, &ans);
        if (st != 400 || strstr(ans, "Connection: close") == NULL)
            fail_msg("'%s': status %d, answer '%.200s'", bad[i], st, ans ? ans : "");
        free(ans);
    }
    /* Every token character is allowed in a name. */
    static const char good[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-a!#$%&'*+.^_`|~9: v\r\n\r\n";
    assert_int_equal(th_raw(port, NULL, good, sizeof good - 1, 5000, NULL), 200);
    lumen_http_server_stop(srv);
}

#ifdef LUMEN_HAVE_XCRYPT
static void test_http_hostile__basic_auth(void **state)
{
    (void)state;
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$2b$", 6, NULL, 0, salt, sizeof salt));
    char users[256];
    snprintf(users, sizeof users, "prometheus:%s", crypt_rn("scrape-me", salt, &cd, sizeof cd));
    char base[128], u[256];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.basic_auth_users = users;
    lumen_http_server *srv = start(&o, base, sizeof base);
    snprintf(u, sizeof u, "%s/metrics", base);
    th_resp r;
    char v[128];
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 401);
    assert_true(th_header(r.headers, "WWW-Authenticate", v, sizeof v));
    assert_non_null(strstr(v, "Basic realm="));
    th_resp_free(&r);
    const char *wrong[] = {"prometheus:scrape-m", "prometheus:scrape-me2", "Prometheus:scrape-me",
                           "nobody:scrape-me",    "prometheus:",           ":scrape-me"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        long s = th_http("GET", u, NULL, wrong[i], NULL, 5000, &r);
        if (s != 401)
            fail_msg("credentials '%s': %ld", wrong[i], s);
        th_resp_free(&r);
    }
    /* A malformed Authorization header is just unauthorized. */
    const char *junk[] = {"Authorization: Basic !!!notbase64", NULL};
    assert_int_equal(th_http("GET", u, junk, NULL, NULL, 5000, &r), 401);
    th_resp_free(&r);
    assert_int_equal(th_http("GET", u, NULL, "prometheus:scrape-me", NULL, 5000, &r), 200);
    assert_non_null(strstr(r.body, "hostile_test_total 7\n"));
    assert_non_null(strstr(r.body, "lumen_http_scrape_errors_total{cause=\"auth\"} 8\n"));
    th_resp_free(&r);
    /* /healthz needs no credentials, unless asked. */
    snprintf(u, sizeof u, "%s/healthz", base);
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 200);
    th_resp_free(&r);
    lumen_http_server_stop(srv);
    o = (lumen_http_server_options)LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.basic_auth_users = users;
    o.flags = LUMEN_HTTP_AUTH_HEALTHZ;
    srv = start(&o, base, sizeof base);
    snprintf(u, sizeof u, "%s/healthz", base);
    assert_int_equal(th_http("GET", u, NULL, NULL, NULL, 5000, &r), 401);
    th_resp_free(&r);
    assert_int_equal(th_http("GET", u, NULL, "prometheus:scrape-me", NULL, 5000, &r), 200);
    th_resp_free(&r);
    lumen_http_server_stop(srv);
}
#endif

#ifdef LUMEN_HAVE_XCRYPT
typedef struct login {
    const char *url;
    long status;
} login;

static void *bad_login(void *arg)
{
    login *l = arg;
    th_resp r;
    l->status = th_http("GET", l->url, NULL, "prometheus:guess", NULL, 10000, &r);
    th_resp_free(&r);
    return NULL;
}

static void test_http_hostile__bad_logins_take_turns(void **state)
{
    (void)state;
    /* Cost 12: a few hundred milliseconds per check. Eight bad logins at
     * once are hashed one after another, not side by side on both cores
     * (each may be told 429 instead when its wait passes a second; how
     * many wait that long depends on the machine's load, so the unit test
     * checks that path). */
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$2b$", 12, NULL, 0, salt, sizeof salt));
    char users[256];
    int64_t t0 = th_now_ms();
    snprintf(users, sizeof users, "prometheus:%s", crypt_rn("right", salt, &cd, sizeof cd));
    int64_t one = th_now_ms() - t0;
    char base[128], u[256];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.basic_auth_users = users;
    o.threads = 8;
    lumen_http_server *srv = start(&o, base, sizeof base);
    snprintf(u, sizeof u, "%s/metrics", base);
    enum { N = 8 };
    login l[N];
    pthread_t t[N];
    t0 = th_now_ms();
    for (int i = 0; i < N; i++) {
        l[i].url = u;
        l[i].status = 0;
        pthread_create(&t[i], NULL, bad_login, &l[i]);
    }
    int denied = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        denied += l[i].status == 401;
        busy += l[i].status == 429;
    }
    int64_t took = th_now_ms() - t0;
    print_message("one hash %lld ms; %d bad logins at once: %d x 401, %d x 429 in %lld ms\n",
                  (long long)one, N, denied, busy, (long long)took);
    /* Each is refused, 401 or 429; that the hashes run one at a time is
     * counted in test_http_units (test_http_auth__one_hash_at_a_time),
     * where the check's own counters can be read. */
    assert_int_equal(denied + busy, N);
    assert_true(denied >= 1);
    lumen_http_server_stop(srv);
}
#endif

static void test_http_hostile__tls(void **state)
{
    (void)state;
    if (!lt_have("openssl")) {
        print_message("openssl not found; skipped\n");
        skip();
    }
    char *dir = lt_tempdir();
    char cmd[2048], cert[512], key[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-days 1 -subj /CN=localhost -keyout %s -out %s",
             key, cert);
    char *out = NULL;
    int rc = lt_run(cmd, NULL, 0, &out);
    if (rc != 0)
        fail_msg("openssl: %s", out);
    free(out);
    char base[128], u[256];
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    lumen_http_server *srv = start(&o, base, sizeof base);
    assert_true(strncmp(base, "https://", 8) == 0);
    scrape_ok(base, 5000);
    /* Plain HTTP to the TLS port gets no metrics. */
    uint16_t port = lumen_http_server_port(srv);
    static const char plain[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    char *ans = NULL;
    int s = th_raw(port, NULL, plain, sizeof plain - 1, 3000, &ans);
    assert_true(s != 200);
    assert_null(strstr(ans ? ans : "", "hostile_test_total"));
    free(ans);
    /* TLS 1.1 is refused. */
    snprintf(cmd, sizeof cmd,
             "echo | openssl s_client -connect 127.0.0.1:%u -tls1_1 -cipher DEFAULT@SECLEVEL=0 "
             "2>&1",
             (unsigned)port);
    rc = lt_run(cmd, NULL, 0, &out);
    assert_int_not_equal(rc, 0);
    free(out);
    scrape_ok(base, 5000);
    lumen_http_server_stop(srv);

    /* The same from PEM text. */
    char *cert_pem = lt_read_file(cert, NULL), *key_pem = lt_read_file(key, NULL);
    o = (lumen_http_server_options)LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.tls_cert_pem = cert_pem;
    o.tls_key_pem = key_pem;
    srv = start(&o, base, sizeof base);
    snprintf(u, sizeof u, "https://127.0.0.1:%u", (unsigned)lumen_http_server_port(srv));
    scrape_ok(u, 5000);
    lumen_http_server_stop(srv);
    /* TLS on an address in use is a system error, not a configuration one. */
    lumen_http_server *other;
    o = (lumen_http_server_options)LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    assert_int_equal(lumen_http_server_start(&other, &o), LUMEN_OK);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", (unsigned)lumen_http_server_port(other));
    o.addr = taken;
    o.tls_cert_pem = cert_pem;
    o.tls_key_pem = key_pem;
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_ESYS);
    lumen_http_server_stop(other);
    /* A key that does not parse is a configuration error. */
    o.tls_key_pem = "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n";
    o.addr = "127.0.0.1:0";
    assert_int_equal(lumen_http_server_start(&srv, &o), LUMEN_ECONFIG);
    free(cert_pem);
    free(key_pem);
    remove(cert);
    remove(key);
    remove(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_hostile__idle_flood_from_many_addresses),
        cmocka_unit_test(test_http_hostile__idle_flood_from_one_address),
        cmocka_unit_test(test_http_hostile__idle_flood_from_the_scrapers_address),
        cmocka_unit_test(test_http_hostile__slowloris),
        cmocka_unit_test(test_http_hostile__header_deadline),
        cmocka_unit_test(test_http_hostile__request_in_progress_is_kept),
        cmocka_unit_test(test_http_hostile__idle_flood_accepted),
        cmocka_unit_test(test_http_hostile__total_limit_and_idle_timeout),
        cmocka_unit_test(test_http_hostile__malformed_requests),
        cmocka_unit_test(test_http_hostile__header_name_not_a_token),
#ifdef LUMEN_HAVE_XCRYPT
        cmocka_unit_test(test_http_hostile__basic_auth),
        cmocka_unit_test(test_http_hostile__bad_logins_take_turns),
#endif
        cmocka_unit_test(test_http_hostile__tls),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    lumen_registry_free(g_reg);
    return rc;
}
