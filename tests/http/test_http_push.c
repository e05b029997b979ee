/* tests/http/test_http_push.c: the Pushgateway client: group URLs and
 * their @base64 form, each failure's own status code (refused, timeout,
 * non-2xx with the gateway's message), basic auth on the wire. The real
 * gateway is in test_http_pushgateway.c. */
#include "http/http_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "http/push_url.h"
#include "lumen/http.h"

/* 64 bytes: one more than a DNS label may hold. */
#define NO_SUCH_LABEL "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static char *push_url(const char *base, const char *job, const lumen_label *g, size_t n, int *rc)
{
    static char out[1024];
    lumen__buf b = LUMEN__BUF_INIT;
    *rc = lumen__push_url(&b, base, job, g, n);
    snprintf(out, sizeof out, "%s", b.p ? b.p : "");
    lumen__buf_free(&b);
    return out;
}

static void test_http_push_url__plain_and_base64(void **state)
{
    (void)state;
    int rc;
    assert_string_equal(push_url("http://gw:9091", "backup", NULL, 0, &rc),
                        "http://gw:9091/metrics/job/backup");
    assert_int_equal(rc, LUMEN_OK);
    assert_string_equal(push_url("http://gw:9091/prefix//", "a-b_c.d~", NULL, 0, &rc),
                        "http://gw:9091/prefix/metrics/job/a-b_c.d~");
    lumen_label g[] = {{"instance", "host/1"},
                       {"empty", ""},
                       {"dc", "eu1"},
                       {"utf8", "caf\xc3\xa9"},
                       {"dots", ".."}};
    assert_string_equal(push_url("http://gw", "x/y", g, 5, &rc),
                        "http://gw/metrics/job@base64/eC95/instance@base64/aG9zdC8x"
                        "/empty@base64/=/dc/eu1/utf8@base64/Y2Fmw6k=/dots@base64/Li4=");
    assert_int_equal(rc, LUMEN_OK);
    lumen_label bad1[] = {{"job", "x"}};
    push_url("http://gw", "j", bad1, 1, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    lumen_label bad2[] = {{"a", "1"}, {"a", "2"}};
    push_url("http://gw", "j", bad2, 2, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    lumen_label bad3[] = {{"no-dash", "1"}};
    push_url("http://gw", "j", bad3, 1, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    lumen_label bad4[] = {{"a", NULL}};
    push_url("http://gw", "j", bad4, 1, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    push_url("http://gw", "", NULL, 0, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    push_url("http://gw", NULL, NULL, 0, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
    push_url("", "j", NULL, 0, &rc);
    assert_int_equal(rc, LUMEN_EINVAL);
}

static void test_http_push_url__base64url_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"f", "Zg=="},
             {"fo", "Zm8="},
             {"foo", "Zm9v"},
             {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="},
             {"foobar", "Zm9vYmFy"},
             {"\xfb\xff", "-_8="}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        lumen__buf b = LUMEN__BUF_INIT;
        lumen__base64url(&b, (const unsigned char *)v[i].in, strlen(v[i].in));
        assert_string_equal(b.p ? b.p : "", v[i].out);
        lumen__buf_free(&b);
    }
}

/* ---- a one-shot fake gateway ------------------------------------------------ */

typedef struct fake {
    int lfd;
    uint16_t port;
    const char *answer; /* NULL: accept, read, never answer */
    char request[8192];
    size_t request_len;
    pthread_t t;
} fake;

static void *fake_run(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        ssize_t n =
            recv(fd, f->request + f->request_len, sizeof f->request - 1 - f->request_len, 0);
        if (n <= 0)
            break;
        f->request_len += (size_t)n;
        f->request[f->request_len] = '\0';
        /* Headers complete and the body (Content-Length) read? */
        char *end = strstr(f->request, "\r\n\r\n");
        if (end) {
            char *cl = strstr(f->request, "Content-Length: ");
            size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0;
            if (f->request_len >= (size_t)(end + 4 - f->request) + want)
                break;
        }
    }
    if (f->answer)
        send(fd, f->answer, strlen(f->answer), MSG_NOSIGNAL);
    else
        usleep(1500 * 1000);
    close(fd);
    return NULL;
}

static void fake_start(fake *f, const char *answer, int serve)
{
    memset(f, 0, sizeof *f);
    f->answer = answer;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    socklen_t l = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &l);
    f->port = ntohs(a.sin_port);
    if (serve)
        pthread_create(&f->t, NULL, fake_run, f);
}

static void fake_stop(fake *f, int served)
{
    if (served)
        pthread_join(f->t, NULL);
    close(f->lfd);
}

static lumen_registry *one_counter(void)
{
    lumen_registry *r;
    lumen_counter *c;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&c, r, "pushed_things", "Things."), LUMEN_OK);
    lumen_counter_add(c, 3);
    return r;
}

static void test_http_push__status_codes(void **state)
{
    (void)state;
    lumen_registry *reg = one_counter();
    char url[64];
    lumen_push_options o = LUMEN_PUSH_OPTIONS_INIT;
    lumen_push_result res = LUMEN_PUSH_RESULT_INIT;
    o.registries = &reg;
    o.registry_count = 1;
    o.job = "test";
    o.url = url;
    o.timeout_ms = 500;

    /* Nobody listening. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)th_free_port());
    assert_int_equal(lumen_push(&res, &o), LUMEN_ECONNREFUSED);
    assert_int_equal(res.http_status, 0);
    assert_true(strlen(res.message) > 0);

    /* Listening but never answering: the timeout, within reason. */
    fake f;
    fake_start(&f, NULL, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)f.port);
    int64_t t0 = th_now_ms();
    assert_int_equal(lumen_push(NULL, &o), LUMEN_ETIMEDOUT);
    int64_t took = th_now_ms() - t0;
    assert_true(took >= 450 && took < 1400);
    fake_stop(&f, 1);

    /* A non-2xx answer: its status and message are kept. */
    fake_start(&f,
               "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 39\r\n"
               "Connection: close\r\n\r\ntext format parsing error in line 1: x\n",
               1);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)f.port);
    o.username = "pusher";
    o.password = "p@ss:word";
    lumen_label g[] = {{"instance", "a/b"}};
    o.grouping = g;
    o.grouping_count = 1;
    assert_int_equal(lumen_push_add(&res, &o), LUMEN_EHTTP);
    assert_int_equal(res.http_status, 400);
    assert_string_equal(res.message, "text format parsing error in line 1: x\n");
    fake_stop(&f, 1);
    /* What went over the wire. */
    assert_true(
        strncmp(f.request, "POST /metrics/job/test/instance@base64/YS9i HTTP/1.1\r\n", 54) == 0);
    assert_non_null(strstr(f.request, "\r\nAuthorization: Basic cHVzaGVyOnBAc3M6d29yZA==\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(f.request, "\r\n\r\n# HELP pushed_things_total Things.\n"));
    assert_non_null(strstr(f.request, "\npushed_things_total 3\n"));

    /* 2xx, DELETE without a body. */
    fake_start(&f, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)f.port);
    o.username = NULL;
    o.grouping = NULL;
    o.grouping_count = 0;
    assert_int_equal(lumen_push_delete(&res, &o), LUMEN_OK);
    assert_int_equal(res.http_status, 202);
    fake_stop(&f, 1);
    assert_true(strncmp(f.request, "DELETE /metrics/job/test HTTP/1.1\r\n", 35) == 0);
    assert_null(strstr(f.request, "pushed_things"));

    /* The URL from the environment; missing pieces. */
    fake_start(&f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 1);
    char env[64];
    snprintf(env, sizeof env, "http://127.0.0.1:%u", (unsigned)f.port);
    setenv("LUMEN_PUSHGATEWAY_URL", env, 1);
    o.url = NULL;
    assert_int_equal(lumen_push(&res, &o), LUMEN_OK);
    fake_stop(&f, 1);
    assert_true(strncmp(f.request, "PUT /metrics/job/test HTTP/1.1\r\n", 32) == 0);
    unsetenv("LUMEN_PUSHGATEWAY_URL");
    assert_int_equal(lumen_push(&res, &o), LUMEN_EINVAL);
    o.url = "http://127.0.0.1:1";
    o.job = NULL;
    assert_int_equal(lumen_push(&res, &o), LUMEN_EINVAL);
    assert_int_equal(lumen_push(&res, NULL), LUMEN_EINVAL);
    o.job = "j";
    o.url = "gopher://127.0.0.1:1";
    assert_int_equal(lumen_push(&res, &o), LUMEN_EINVAL);
    /* A name that cannot be resolved, refused by the resolver itself (a
     * label longer than 63 bytes) so that no DNS query leaves the machine. */
    o.url = "http://no-such-host-" NO_SUCH_LABEL ".invalid:9091";
    assert_int_equal(lumen_push(&res, &o), LUMEN_ECONNECT);
    lumen_registry_free(reg);
}

/* Options or a result not started from their _INIT are refused before
 * anything is sent; a result is written only up to its own version. */
static void test_http_push__versions(void **state)
{
    (void)state;
    lumen_push_options o = LUMEN_PUSH_OPTIONS_INIT;
    o.url = "http://127.0.0.1:1";
    o.job = "v";
    lumen_push_result res;
    memset(&res, 0x7f, sizeof res);
    res.version = 0;
    assert_int_equal(lumen_push(&res, &o), LUMEN_EVERSION);
    assert_int_equal(res.http_status, 0x7f7f7f7f); /* untouched */
    res.version = LUMEN_PUSH_RESULT_VERSION + 1;
    assert_int_equal(lumen_push_delete(&res, &o), LUMEN_EVERSION);
    lumen_push_options bad;
    memset(&bad, 0, sizeof bad);
    bad.url = o.url;
    bad.job = o.job;
    assert_int_equal(lumen_push_add(NULL, &bad), LUMEN_EVERSION);
    assert_int_equal(lumen_push(NULL, NULL), LUMEN_EINVAL);
    assert_int_equal(lumen_push_result_init(&res, LUMEN_PUSH_RESULT_VERSION), LUMEN_OK);
    assert_int_equal(res.http_status, 0);
    assert_int_equal(res.message[0], '\0');
    assert_int_equal(lumen_push_options_init(&bad, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_push_options_init(&bad, LUMEN_PUSH_OPTIONS_VERSION), LUMEN_OK);
    assert_null(bad.url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_push_url__plain_and_base64),
        cmocka_unit_test(test_http_push_url__base64url_vectors),
        cmocka_unit_test(test_http_push__status_codes),
        cmocka_unit_test(test_http_push__versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
