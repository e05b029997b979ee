/* tests/http/test_http_process.c: the process collector (src/metrics/
 * process.c): the standard names, plausible values that follow the
 * process (a new thread, a new descriptor, bytes written), both formats
 * accepted by the real parsers, and the LUMEN_PROCESS_METRICS switch. */
#include "http/http_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "metrics/registry.h"

static char *render(lumen_registry *reg, lumen_format fmt)
{
    char *s = NULL;
    assert_int_equal(lumen_registry_render_string(&s, NULL, reg, fmt), LUMEN_OK);
    return s;
}

static double value(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    if (p == NULL)
        fail_msg("%s missing from:\n%s", name, text);
    return strtod(p + strlen(key), NULL);
}

static void *idle_thread(void *arg)
{
    while (!atomic_load((atomic_int *)arg))
        usleep(1000);
    return NULL;
}

static void test_metrics_process__names_and_values(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_collector *col;
    assert_int_equal(lumen_process_collector_add(&col, NULL), LUMEN_EINVAL);
    assert_int_equal(lumen_process_collector_add(&col, reg), LUMEN_OK);
    char *t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(t, "# TYPE process_resident_memory_bytes gauge\n"));
    assert_true(value(t, "process_cpu_seconds_total") >= 0);
    double rss = value(t, "process_resident_memory_bytes");
    double vsz = value(t, "process_virtual_memory_bytes");
    assert_true(rss > 1e5 && vsz > rss);
    double start = value(t, "process_start_time_seconds");
    double now = (double)time(NULL);
    assert_true(start > now - 600 && start <= now + 1);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    assert_true(value(t, "process_max_fds") == (double)rl.rlim_cur);
    assert_true(value(t, "process_virtual_memory_max_bytes") > 0);
    double fds = value(t, "process_open_fds");
    double threads = value(t, "process_threads");
    double written = value(t, "process_io_written_bytes_total");
    assert_true(value(t, "process_io_read_bytes_total") > 0);
    assert_true(value(t, "process_io_storage_read_bytes_total") >= 0);
    assert_true(value(t, "process_io_storage_written_bytes_total") >= 0);
    lumen_free(t);

    /* Two more descriptors, one more thread, 4096 bytes written. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    atomic_int stop = 0;
    pthread_t th;
    pthread_create(&th, NULL, idle_thread, &stop);
    int nul = open("/dev/null", O_WRONLY);
    char block[4096] = {0};
    assert_int_equal(write(nul, block, sizeof block), (ssize_t)sizeof block);
    t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    double fds2 = value(t, "process_open_fds"), threads2 = value(t, "process_threads");
    double written2 = value(t, "process_io_written_bytes_total");
    lumen_free(t);
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    /* Exact in a plain build; a sanitizer's runtime may start threads or
     * open files of its own in between. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    assert_true(fds2 >= fds + 3);
    assert_true(threads2 >= threads + 1);
#else
    assert_true(fds2 == fds + 3);
    assert_true(threads2 == threads + 1);
#endif
    assert_true(written2 >= written + 4096);
    close(p[0]);
    close(p[1]);
    close(nul);
    /* Removed, the collector's families are gone from the registry. */
    assert_int_equal(lumen_registry_remove_collector(reg, col), LUMEN_OK);
    t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    assert_null(strstr(t, "process_"));
    lumen_free(t);
    lumen_registry_free(reg);
}

static void check_with(const char *cmd, const char *text)
{
    char *out = NULL;
    int rc = lt_run(cmd, text, strlen(text), &out);
    if (rc != 0)
        fail_msg("%s: exit %d\n%s\n---\n%s", cmd, rc, out, text);
    free(out);
}

static void test_metrics_process__parsers_accept(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    assert_int_equal(lumen_process_collector_add(NULL, reg), LUMEN_OK);
    char cmd[512];
    char *t = render(reg, LUMEN_FORMAT_OPENMETRICS);
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds counter\n"));
    assert_non_null(strstr(t, "# UNIT process_cpu_seconds seconds\n"));
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys; from prometheus_client.openmetrics.parser import "
             "text_string_to_metric_families as p; [None for _ in p(sys.stdin.read())]'",
             lt_python());
    check_with(cmd, t);
    lumen_free(t);
    t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys; from prometheus_client.parser import "
             "text_string_to_metric_families as p; [None for _ in p(sys.stdin.read())]'",
             lt_python());
    check_with(cmd, t);
    if (lt_have("promtool"))
        check_with("promtool check metrics", t);
    lumen_free(t);
    lumen_registry_free(reg);
}

static void test_metrics_process__environment_switch(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    setenv("LUMEN_PROCESS_METRICS", "false", 1);
    lumen__process_collector_add_default(reg);
    char *t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    assert_null(strstr(t, "process_"));
    lumen_free(t);
    unsetenv("LUMEN_PROCESS_METRICS");
    lumen__process_collector_add_default(reg);
    t = render(reg, LUMEN_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "process_open_fds"));
    lumen_free(t);
    lumen_registry_free(reg);
    /* The default registry has it from the start. */
    t = render(NULL, LUMEN_FORMAT_PROMETHEUS);
    assert_non_null(strstr(t, "\nprocess_resident_memory_bytes "));
    lumen_free(t);
}

static void test_metrics_process__scrape_is_quick(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    assert_int_equal(lumen_process_collector_add(NULL, reg), LUMEN_OK);
    int64_t t0 = th_now_ms();
    for (int i = 0; i < 200; i++) {
        char *t = render(reg, LUMEN_FORMAT_PROMETHEUS);
        lumen_free(t);
    }
    int64_t ms = th_now_ms() - t0;
    print_message("200 renders of the process metrics: %lld ms\n", (long long)ms);
    assert_true(ms < 2000); /* about 20 us each; generous for sanitizers */
    lumen_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_process__names_and_values),
        cmocka_unit_test(test_metrics_process__parsers_accept),
        cmocka_unit_test(test_metrics_process__environment_switch),
        cmocka_unit_test(test_metrics_process__scrape_is_quick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
