/*
 * tests/prefork/test_prefork_join.c: a process that was not forked from
 * the master (this program again, through exec, with the descriptor of the
 * shared memory kept open) joins the family: it takes a slot, defines the
 * same families (another definition is refused) and shares their series.
 */
#include <fcntl.h>

#include "prefork/prefork_test.h"

/* ---- joining through the descriptor ------------------------------------------ */

static const double join_bounds[] = {1, 2};

/* What a process started with exec runs (argv: --join FD). */
static int joiner(int fd)
{
    lumen_prefork *pf;
    int rc = lumen_prefork_join(&pf, fd);
    if (rc != LUMEN_OK) {
        fprintf(stderr, "join: %s\n", lumen_strerror(rc));
        return 10;
    }
    lumen_registry *reg = lumen_prefork_registry(pf);
    lumen_histogram *h;
    lumen_counter *c;
    /* The definitions must agree with the family's. */
    static const double other[] = {1, 3};
    if (lumen_histogram_new(&h, reg, "pt_joined_seconds", NULL, other, 2) != LUMEN_EEXIST)
        return 11;
    if (lumen_histogram_new(&h, reg, "pt_joined_seconds", NULL, join_bounds, 2) != LUMEN_OK ||
        lumen_counter_new(&c, reg, "pt_joined", NULL) != LUMEN_OK)
        return 12;
    lumen_histogram_observe(h, 1.5);
    lumen_counter_add(c, 40);
    /* Its render shows the family, the master's counts included. */
    char *t = NULL;
    if (lumen_registry_render_string(&t, NULL, reg, LUMEN_FORMAT_PROMETHEUS) != LUMEN_OK)
        return 13;
    rc = pt_value(t, "pt_joined_total") == 42 ? 0 : 14;
    if (rc != 0)
        fprintf(stderr, "%s", t);
    lumen_free(t);
    lumen_prefork_free(pf);
    return rc;
}

static void test_prefork__a_process_joins_through_the_descriptor(void **state)
{
    (void)state;
    lumen_prefork *pf;
    assert_int_equal(lumen_prefork_new(&pf, NULL), LUMEN_OK);
    lumen_registry *reg = lumen_prefork_registry(pf);
    lumen_histogram *h;
    lumen_counter *c;
    assert_int_equal(lumen_histogram_new(&h, reg, "pt_joined_seconds", NULL, join_bounds, 2),
                     LUMEN_OK);
    assert_int_equal(lumen_counter_new(&c, reg, "pt_joined", NULL), LUMEN_OK);
    lumen_counter_add(c, 2);
    int fd = dup(lumen_prefork_fd(pf)); /* without FD_CLOEXEC */
    assert_true(fd >= 0);
    char arg[16];
    snprintf(arg, sizeof arg, "%d", fd);
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        execl("/proc/self/exe", "test_prefork_join", "--join", arg, (char *)NULL);
        _exit(127);
    }
    close(fd);
    assert_int_equal(pt_wait(kid), 0);
    char *t = pt_render(reg);
    assert_value(t, "pt_joined_total", 42);
    assert_value(t, "pt_joined_seconds_bucket{le=\"2\"}", 1);
    assert_value(t, "pt_joined_seconds_sum", 1.5);
    lumen_free(t);
    /* Not a family's memory. */
    lumen_prefork *other;
    int null = open("/dev/null", O_RDONLY);
    assert_int_equal(lumen_prefork_join(&other, null), LUMEN_EINVAL);
    assert_int_equal(lumen_prefork_join(&other, -1), LUMEN_EINVAL);
    close(null);
    assert_int_equal(lumen_prefork_join(&other, lumen_prefork_fd(pf)), LUMEN_EBUSY);
    lumen_prefork_free(pf);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--join") == 0)
        return joiner(atoi(argv[2]));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefork__a_process_joins_through_the_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
