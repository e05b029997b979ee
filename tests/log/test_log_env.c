/* tests/log/test_log_env.c: configuration from the environment,
 * LUMEN_LOG_LEVEL ("warn,app.db=debug") and LUMEN_LOG_FORMAT, read once
 * when the log layer starts; so main() sets them before any lumen call,
 * and the invalid-value case runs in a fresh process. The same goes for
 * where the layer's own metrics go (lumen_self_metrics_configure, fixed by
 * the first record): each choice runs in a fresh process. */
#include "log_test.h"

#include <sys/wait.h>

static const char *self_path;

static void test_log_env__levels_per_logger(void **state)
{
    (void)state;
    lumen_logger *root = lumen_logger_get(NULL);
    lumen_logger *db = lumen_logger_get("app.db");
    assert_int_equal(lumen_logger_level(root), LUMEN_LOG_WARN);
    assert_int_equal(lumen_logger_level(lumen_logger_get("app")), LUMEN_LOG_WARN);
    assert_int_equal(lumen_logger_level(db), LUMEN_LOG_DEBUG);
    assert_int_equal(lumen_logger_level(lumen_logger_get("app.db.pool")), LUMEN_LOG_DEBUG);
    assert_int_equal(lumen_logger_level(lumen_logger_get("app.db.noisy")), LUMEN_LOG_OFF);
    assert_false(LUMEN_LOG_ENABLED(lumen_logger_get("app.db.noisy"), LUMEN_LOG_FATAL));
}

static void test_log_env__format_applies_to_auto_handlers(void **state)
{
    (void)state;
    lt_cap c;
    lumen_logger *lg = lt_cap_open(&c, "envfmt", LUMEN_LOG_FORMAT_AUTO, LUMEN_LOG_PRESET_LUMEN, 0);
    LUMEN_LOG_INFO(lg, "hello world", LUMEN_INT("n", 1));
    size_t n;
    char *out = lt_cap_read(&c, &n);
    assert_non_null(strstr(out, " level=info logger=envfmt msg=\"hello world\" n=1\n"));
    assert_true(strncmp(out, "ts=", 3) == 0);
    free(out);
}

static void test_log_env__invalid_values_fall_back(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_path, self_path, "--bad", (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int bad_child(void)
{
    setenv("LUMEN_LOG_LEVEL", "debug,app=verbose", 1);
    setenv("LUMEN_LOG_FORMAT", "yaml", 1);
    lumen_logger *root = lumen_logger_get(NULL);
    if (lumen_logger_level(root) != LUMEN_LOG_INFO)
        return 3; /* the whole spec is rejected, not half applied */
    lumen_log_handler *h;
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_CALLBACK;
    o.callback = NULL;
    if (lumen_log_handler_new(&h, &o) != LUMEN_EINVAL)
        return 4;
    return 0;
}

/* Run this program again with `arg`; its exit status. */
static int run_self(const char *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_path, self_path, arg, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static bool rendered(lumen_registry *r, const char *needle)
{
    char *s = NULL;
    bool found = lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK &&
                 strstr(s, needle) != NULL;
    lumen_free(s);
    return found;
}

/* One error record through a sink whose writes fail (fd 987 is not open):
 * one record counted, one line dropped. */
static void log_one_lost(void)
{
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = 987;
    o.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *h;
    if (lumen_log_handler_new(&h, &o) != LUMEN_OK)
        return;
    lumen_logger *lg = lumen_logger_get("selfmetrics");
    lumen_logger_set_handlers(lg, &h, 1);
    LUMEN_LOG_ERROR(lg, "lost");
}

/* The program's registry: the record and the drop are counted there and
 * nowhere else. */
static int selfmetrics_registry_child(void)
{
    lumen_registry *mine;
    if (lumen_registry_new(&mine) != LUMEN_OK)
        return 2;
    lumen_self_metrics_options so = LUMEN_SELF_METRICS_OPTIONS_INIT;
    so.registry = mine;
    if (lumen_self_metrics_configure(&so) != LUMEN_OK)
        return 3;
    log_one_lost();
    if (lumen_log_dropped() != 1)
        return 4;
    if (!rendered(mine, "lumen_log_events_total{level=\"error\"} 1\n") ||
        !rendered(mine, "\nlumen_log_dropped_total 1\n"))
        return 5;
    if (rendered(NULL, "lumen_log_"))
        return 6;
    return 0;
}

/* Off: no family anywhere, the names free for the program, and
 * lumen_log_dropped still counts. */
static int selfmetrics_off_child(void)
{
    lumen_self_metrics_options so = LUMEN_SELF_METRICS_OPTIONS_INIT;
    so.flags = LUMEN_SELF_METRICS_NO_LOG;
    if (lumen_self_metrics_configure(&so) != LUMEN_OK)
        return 2;
    log_one_lost();
    if (lumen_log_dropped() != 1)
        return 3;
    if (rendered(NULL, "lumen_log_"))
        return 4;
    lumen_counter *c;
    if (lumen_counter_new(&c, NULL, "lumen_log_dropped_total", "Mine.") != LUMEN_OK)
        return 5;
    return 0;
}

static void test_log_env__self_metrics_in_the_chosen_registry(void **state)
{
    (void)state;
    assert_int_equal(run_self("--selfmetrics-registry"), 0);
}

static void test_log_env__self_metrics_off(void **state)
{
    (void)state;
    assert_int_equal(run_self("--selfmetrics-off"), 0);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1 && strcmp(argv[1], "--bad") == 0)
        return bad_child();
    if (argc > 1 && strcmp(argv[1], "--selfmetrics-registry") == 0)
        return selfmetrics_registry_child();
    if (argc > 1 && strcmp(argv[1], "--selfmetrics-off") == 0)
        return selfmetrics_off_child();
    setenv("LUMEN_LOG_LEVEL", " warn , app.db=DEBUG,app.db.noisy=off", 1);
    setenv("LUMEN_LOG_FORMAT", "logfmt", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_env__levels_per_logger),
        cmocka_unit_test(test_log_env__format_applies_to_auto_handlers),
        cmocka_unit_test(test_log_env__invalid_values_fall_back),
        cmocka_unit_test(test_log_env__self_metrics_in_the_chosen_registry),
        cmocka_unit_test(test_log_env__self_metrics_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
