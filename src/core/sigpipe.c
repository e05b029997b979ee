/*
 * core/sigpipe.c: see sigpipe.h.
 *
 * Who owns a pending SIGPIPE. A guard entered with SIGPIPE unblocked is the
 * thread's outermost guard (OWNER): it blocked the signal, so any SIGPIPE
 * raised until it unblocks it again is lumen's. A guard entered with
 * SIGPIPE already blocked is either nested inside lumen's own guard (a
 * signal handler interrupted a guarded write: NESTED) or inside the
 * program's own block (PROGRAM), which a per-thread flag tells apart.
 *
 * - OWNER consumes a pending SIGPIPE when its write failed with EPIPE or a
 *   nested write reported one (`owed`), then restores the mask.
 * - NESTED cannot consume (the signal stays blocked after it) and must not
 *   leave it for the program: it sets `owed` for the owner.
 * - PROGRAM consumes a SIGPIPE its own write raised, and only that: one
 *   that was pending on entry is the program's and stays pending. A
 *   program may block SIGPIPE for good, and a handler whose sa_mask blocks
 *   every signal (a common idiom; ThreadSanitizer also runs every handler
 *   that way) writes with SIGPIPE blocked outside any guard of lumen's:
 *   left pending, its SIGPIPE would kill the process as soon as the handler
 *   returned and the mask came back. A SIGPIPE raised by a write is
 *   directed at the writing thread, so while it stays blocked nothing else
 *   can take it; sigpending tells whether one was there before.
 *
 * Entering and leaving the owner's state happen with every signal blocked,
 * so a handler never runs between "SIGPIPE blocked" and "flag set", nor
 * between "owed checked" and "mask restored": the windows in which a
 * nested write's SIGPIPE would otherwise be delivered by the restore and
 * kill the process. A handler that runs after the restore sees SIGPIPE
 * unblocked and is an owner itself.
 *
 * The flag and `owed` are initial-exec thread-locals read and written by
 * one thread and its signal handlers only: volatile sig_atomic_t is the
 * type C allows there.
 */
#include "core/sigpipe.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

enum { NONE, OWNER, NESTED, PROGRAM };

static LUMEN_TLS volatile sig_atomic_t g_guarded; /* an OWNER guard is active */
static LUMEN_TLS volatile sig_atomic_t g_owed;    /* a nested write raised SIGPIPE */

void lumen__sigpipe_enter(lumen__sigpipe_guard *g)
{
    sigset_t all;
    sigfillset(&all);
    g->mode = NONE;
    if (pthread_sigmask(SIG_BLOCK, &all, &g->old) != 0)
        return;
    if (sigismember(&g->old, SIGPIPE)) {
        g->mode = g_guarded ? NESTED : PROGRAM;
        if (g->mode == PROGRAM) {
            sigset_t pend;
            /* When sigpending fails, assume one is pending: never take the
             * program's. */
            g->pending = sigpending(&pend) != 0 || sigismember(&pend, SIGPIPE);
        }
    } else {
        g->mode = OWNER;
        g_guarded = 1;
        g_owed = 0;
    }
    sigset_t during = g->old;
    sigaddset(&during, SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &during, NULL);
}

/* Take one pending SIGPIPE (it is blocked), if there is one. */
static void consume(void)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
}

void lumen__sigpipe_leave(lumen__sigpipe_guard *g, bool raised)
{
    int e = errno;
    switch (g->mode) {
    case NESTED:
        if (raised)
            g_owed = 1;
        return; /* the mask is what it was on entry */
    case PROGRAM:
        if (raised && !g->pending)
            consume();
        errno = e;
        return; /* SIGPIPE stays blocked, as the program has it */
    case NONE:
        return;
    default:
        break;
    }
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if (raised || g_owed)
        consume();
    g_owed = 0;
    g_guarded = 0;
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = e;
}

int lumen__write_guarded(int fd, struct iovec *iov, int cnt)
{
    lumen__sigpipe_guard g;
    lumen__sigpipe_enter(&g);
    int rc = LUMEN_OK, err = 0;
    for (;;) {
        while (cnt > 0 && iov->iov_len == 0) { /* written, or empty */
            iov++;
            cnt--;
        }
        if (cnt == 0)
            break;
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            rc = LUMEN_EIO;
            break;
        }
        size_t k = (size_t)w;
        while (k > 0) { /* k never exceeds what is left */
            size_t t = k < iov->iov_len ? k : iov->iov_len;
            iov->iov_base = (char *)iov->iov_base + t;
            iov->iov_len -= t;
            k -= t;
            if (iov->iov_len == 0) {
                iov++;
                cnt--;
            }
        }
    }
    lumen__sigpipe_leave(&g, err == EPIPE);
    if (rc != LUMEN_OK)
        errno = err;
    return rc;
}
