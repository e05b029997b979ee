/* tests/log/test_log_env.c: configuration from the environment,
 * LUMEN_LOG_LEVEL ("warn,app.db=debug") and LUMEN_LOG_FORMAT, read once
 * when the log layer starts; so main() sets them before any lumen call,
 * and the invalid-value case runs in a fresh process. */
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

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1 && strcmp(argv[1], "--bad") == 0)
        return bad_child();
    setenv("LUMEN_LOG_LEVEL", " warn , app.db=DEBUG,app.db.noisy=off", 1);
    setenv("LUMEN_LOG_FORMAT", "logfmt", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_env__levels_per_logger),
        cmocka_unit_test(test_log_env__format_applies_to_auto_handlers),
        cmocka_unit_test(test_log_env__invalid_values_fall_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
