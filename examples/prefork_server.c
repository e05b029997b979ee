/*
 * examples/prefork_server.c: a pre-forked HTTP server in the Apache
 * prefork model, with one /metrics endpoint for the whole family.
 *
 * The master opens the listening socket, creates the shared metrics
 * (lumen_prefork_new) and its handles, serves /metrics (and the console)
 * on its own port, and forks N workers. Each worker accepts connections on
 * the shared socket, answers every request with "ok", counts it, and
 * exits after R requests; the master reaps it, reclaims its slot and forks
 * a replacement. Prometheus scrapes the master: http_requests_total never
 * goes backwards however often workers are recycled.
 *
 *   prefork_server [--port 8080] [--metrics-port 9464] [--workers 4]
 *                  [--recycle 1000] [--console]
 *
 * SIGTERM or SIGINT stops it (the master waits for them and for its
 * children with sigwaitinfo). Every log line carries the pid of the
 * process that wrote it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lumen/http.h"
#include "lumen/log.h"
#include "lumen/prefork.h"

static sigset_t g_old_mask;
static lumen_counter *g_ok;
static lumen_histogram *g_latency;
static lumen_gauge *g_in_flight;
static lumen_counter *g_spawned;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read the request's head (up to the blank line), answer, close. */
static void handle(int fd)
{
    char buf[4096];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
    ssize_t w = write(fd, reply, sizeof reply - 1);
    (void)w;
}

static int worker(int listener, long recycle)
{
    lumen_logger *log = lumen_logger_get("prefork.worker");
    LUMEN_LOG_INFO(log, "worker started", LUMEN_INT("recycle_after", recycle));
    long served = 0;
    while (served < recycle) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            LUMEN_LOG_ERROR(log, "accept failed", LUMEN_INT("errno", errno));
            return 1;
        }
        double t0 = now_s();
        lumen_gauge_inc(g_in_flight);
        handle(fd);
        close(fd);
        lumen_counter_inc(g_ok);
        lumen_histogram_observe(g_latency, now_s() - t0);
        lumen_gauge_dec(g_in_flight);
        served++;
    }
    LUMEN_LOG_INFO(log, "worker recycled", LUMEN_INT("served", served));
    lumen_log_flush(0);
    return 0;
}

static pid_t spawn(int listener, long recycle)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* The master waits for signals; a worker takes them as usual. */
        pthread_sigmask(SIG_SETMASK, &g_old_mask, NULL);
        _exit(worker(listener, recycle));
    }
    if (pid > 0)
        lumen_counter_inc(g_spawned);
    return pid;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0) {
        perror("prefork_server: listen");
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    int port = 8080, metrics_port = 9464, workers = 4;
    long recycle = 1000;
    bool console = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--console") == 0)
            console = true;
        else if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
            port = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--metrics-port") == 0)
            metrics_port = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--recycle") == 0)
            recycle = atol(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--port P] [--metrics-port M] [--workers N] "
                    "[--recycle R] [--console]\n",
                    argv[0]);
            return 2;
        }
    }
    if (workers < 1 || workers > 256 || recycle < 1)
        return 2;
    int listener = listen_on(port);
    if (listener < 0)
        return 1;

    /* Shared metrics first: every worker forked from here on shares them. */
    lumen_prefork_options po = LUMEN_PREFORK_OPTIONS_INIT;
    po.max_workers = (uint32_t)(2 * workers + 1); /* room for exited, unreaped ones */
    lumen_prefork *pf;
    int rc = lumen_prefork_new(&pf, &po);
    lumen_registry *shared = lumen_prefork_registry(pf);
    const char *code_label[] = {"code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "HTTP requests answered, by status code.";
    o.label_names = code_label;
    o.label_count = 1;
    lumen_family *requests;
    if (rc == LUMEN_OK)
        rc = lumen_family_new(&requests, shared, LUMEN_METRIC_COUNTER, "http_requests", &o);
    const char *ok[] = {"200"};
    if (rc == LUMEN_OK)
        rc = lumen_family_counter(&g_ok, requests, ok, 1);
    if (rc == LUMEN_OK)
        rc = lumen_histogram_new(&g_latency, shared, "http_request_duration_seconds",
                                 "Time to read the request and answer it.", NULL, 0);
    if (rc == LUMEN_OK)
        rc = lumen_gauge_new(&g_in_flight, shared, "http_requests_in_flight",
                             "Requests being answered.");
    if (rc == LUMEN_OK)
        rc = lumen_prefork_set_gauge_mode(pf, "http_requests_in_flight",
                                          LUMEN_PREFORK_GAUGE_LIVESUM);
    if (rc == LUMEN_OK)
        rc = lumen_counter_new(&g_spawned, shared, "prefork_workers_spawned_total",
                               "Workers the master has forked.");
    if (rc != LUMEN_OK) {
        fprintf(stderr, "prefork_server: metrics: %s\n", lumen_strerror(rc));
        return 1;
    }

    /* The master waits for its children and for a stop signal with
     * sigwaitinfo(): blocked here, before any thread starts, they are
     * blocked in every thread, so none is taken elsewhere. */
    sigset_t wait_for;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGCHLD);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGINT);
    pthread_sigmask(SIG_BLOCK, &wait_for, &g_old_mask);

    /* The master's endpoint: the family's metrics, and the master's own
     * process metrics from the default registry. */
    lumen_registry *regs[] = {shared, lumen_registry_default()};
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", metrics_port);
    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = addr;
    so.registries = regs;
    so.registry_count = 2;
    so.flags = console ? LUMEN_HTTP_CONSOLE : 0;
    lumen_http_server *srv;
    if ((rc = lumen_http_server_start(&srv, &so)) != LUMEN_OK) {
        fprintf(stderr, "prefork_server: /metrics: %s\n", lumen_strerror(rc));
        return 1;
    }
    lumen_logger *log = lumen_logger_get("prefork.master");
    LUMEN_LOG_INFO(log, "serving", LUMEN_INT("port", port),
                   LUMEN_INT("metrics_port", lumen_http_server_port(srv)),
                   LUMEN_INT("workers", workers));
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    if (pids == NULL)
        return 1;
    for (int i = 0; i < workers; i++)
        pids[i] = spawn(listener, recycle);
    /* Replace each worker that exits; its slot is folded into the totals
     * first, so that the replacement finds a free one. */
    for (;;) {
        int sig = sigwaitinfo(&wait_for, NULL);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        pid_t pid;
        while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
            lumen_prefork_reclaim(NULL, pf);
            for (int i = 0; i < workers; i++)
                if (pids[i] == pid)
                    pids[i] = spawn(listener, recycle);
        }
    }
    for (int i = 0; i < workers; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    while (waitpid(-1, NULL, 0) > 0) {
    }
    LUMEN_LOG_INFO(log, "stopped");
    lumen_http_server_stop(srv);
    lumen_prefork_free(pf);
    free(pids);
    close(listener);
    return 0;
}
