/* tests/support/support.c: see support.h. */
#include "support/support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int lt_run(const char *cmd, const char *in, size_t inlen, char **out)
{
    int pin[2], pout[2];
    if (pipe2(pin, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(pout, O_CLOEXEC) != 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(pout[1], 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    signal(SIGPIPE, SIG_IGN);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    size_t off = 0, cap = 4096, len = 0;
    char *buf = malloc(cap);
    int in_open = 1;
    if (inlen == 0) {
        close(pin[1]);
        in_open = 0;
    }
    for (;;) {
        struct pollfd fds[2] = {{pout[0], POLLIN, 0}, {in_open ? pin[1] : -1, POLLOUT, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (in_open && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(pin[1], in + off, inlen - off);
            if (w > 0)
                off += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                off = inlen;
            if (off >= inlen) {
                close(pin[1]);
                in_open = 0;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (cap - len < 4096) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
            ssize_t r = read(pout[0], buf + len, cap - len - 1);
            if (r > 0)
                len += (size_t)r;
            else if (r == 0 || errno != EINTR)
                break;
        }
    }
    if (in_open)
        close(pin[1]);
    close(pout[0]);
    buf[len] = '\0';
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static atomic_int lt_skipped;

void lt__note_skip(void)
{
    atomic_store(&lt_skipped, 1);
}

int lt__group_result(int failed)
{
    if (failed != 0)
        return 1;
    return atomic_load(&lt_skipped) ? LT_SKIP_CODE : 0;
}

int lt_have(const char *prog)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return lt_run(cmd, NULL, 0, NULL) == 0;
}

const char *lt_python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

const char *lt_source_dir(void)
{
    const char *s = getenv("LUMEN_SOURCE_DIR");
    return s ? s : LUMEN_SOURCE_DIR;
}

/* ---- failing allocator --------------------------------------------------- */

static atomic_long fa_countdown = -1;
static atomic_long fa_live;
static atomic_int fa_triggered;

static int fa_should_fail(void)
{
    long c = atomic_load(&fa_countdown);
    if (c < 0)
        return 0;
    if (c == 0) {
        atomic_store(&fa_triggered, 1);
        return 1;
    }
    atomic_fetch_sub(&fa_countdown, 1);
    return 0;
}

static void *fa_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (fa_should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&fa_live, 1);
    return p;
}

static void *fa_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    if (fa_should_fail())
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&fa_live, 1);
    return q;
}

static void fa_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    if (p)
        atomic_fetch_sub(&fa_live, 1);
    free(p);
}

void lt_failalloc_install(void)
{
    lumen_allocator a = LUMEN_ALLOCATOR_INIT;
    a.malloc = fa_malloc;
    a.realloc = fa_realloc;
    a.free = fa_free;
    lumen_set_allocator(&a);
}

void lt_failalloc_uninstall(void)
{
    lumen_set_allocator(NULL);
}

void lt_failalloc_arm(long n)
{
    atomic_store(&fa_triggered, 0);
    atomic_store(&fa_countdown, n);
}

void lt_failalloc_disarm(void)
{
    atomic_store(&fa_countdown, -1);
}

long lt_failalloc_live(void)
{
    return atomic_load(&fa_live);
}

int lt_failalloc_triggered(void)
{
    return atomic_load(&fa_triggered);
}

char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

lt_closed_stdout lt_stdout_to_closed_pipe(void)
{
    lt_closed_stdout c = {-1, signal(SIGPIPE, SIG_DFL)};
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    close(fds[0]);
    fflush(stdout);
    c.saved = dup(1);
    dup2(fds[1], 1);
    close(fds[1]);
    return c;
}

int lt_stdout_restore(lt_closed_stdout c)
{
    dup2(c.saved, 1);
    close(c.saved);
    sigset_t pend;
    int clean = sigpending(&pend) == 0 && !sigismember(&pend, SIGPIPE);
    signal(SIGPIPE, c.old_pipe);
    return clean;
}

char *lt_tempdir(void)
{
    char tmpl[] = "/tmp/lumen-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}
