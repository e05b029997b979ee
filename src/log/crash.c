/*
 * log/crash.c: the crash handler (lumen/crash.h). On SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE or SIGABRT it writes one structured line, writes out the
 * log lines already formatted, and lets the default action run.
 *
 * It lives in the log layer because it needs only the log layer (the
 * signal-safe write loop, the batches and queues) and core's per-thread
 * correlation context (core/tctx.h), where the trace layer already writes
 * the current span's ids: it never sees a trace type.
 *
 * Invariants, because the handler runs in a process whose heap and locks
 * may be broken:
 * - The handler calls only async-signal-safe functions (write, read,
 *   fcntl, clock_gettime, getpid, syscall(gettid), sigaction, raise, poll) plus
 *   backtrace() and backtrace_symbols_fd(), which are not on POSIX's list:
 *   backtrace() allocates only when it loads libgcc_s, which install does
 *   first; backtrace_symbols_fd() never allocates (glibc) but takes the
 *   dynamic linker's lock to find symbols (see docs/instrumentation.md).
 * - backtrace_symbols_fd writes to a pipe made at install time, which the
 *   handler reads back, so that the frames become part of the one line.
 * - Every write has one deadline, flush_timeout_ms after the crash: the
 *   descriptors are made non-blocking meanwhile, so a reader that stopped
 *   reading cannot hold the process from its default action.
 * - Only one thread reports: the first to take `crashing`. Another thread
 *   crashing meanwhile waits (bounded) for the first to end the process.
 *   The crash signals are blocked while the handler runs, so a fault inside
 *   it kills the process with the default action rather than recursing.
 */
#include <errno.h>
#ifdef LUMEN_HAVE_BACKTRACE
#include <execinfo.h>
#endif
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/tctx.h"
#include "core/versioned.h"
#include "log/async.h"
#include "log/batch.h"
#include "log/raw.h"
#include "log/sink.h"
#include "lumen/crash.h"

/* Enough for every frame of a deep C++ symbol and the ids. */
#define LINE_MAX_BYTES 65536
#define BT_MAX_BYTES 16384
/* The handler's own stack: backtrace and the unwinder want a few KiB, a
 * sanitizer's instrumented frames more. */
#define ALTSTACK_BYTES (256 * 1024)

static const int SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define NSIG_CRASH (sizeof SIGNALS / sizeof SIGNALS[0])

static const size_t options_sizes[] = {0, sizeof(lumen_crash_options)};

static struct {
    bool installed;
    lumen_crash_options o;
    struct sigaction old[NSIG_CRASH];
    int pipe_r, pipe_w;
} st = {.pipe_r = -1, .pipe_w = -1};

/* The tid of the thread reporting a crash, 0 when none. */
static _Atomic long crashing;

static char line[LINE_MAX_BYTES];
static char bt[BT_MAX_BYTES];

int lumen_crash_options_init(lumen_crash_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

/* ---- the line ------------------------------------------------------------------------------- */

typedef struct out {
    char *p;
    size_t n, cap;
    int fmt; /* LUMEN_LOG_FORMAT_JSON, _LOGFMT or _TEXT */
    bool first;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (n > o->cap - o->n)
        n = o->cap - o->n;
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_u64(out *o, uint64_t v, int base)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = "0123456789abcdef"[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v > 0);
    put(o, d + i, sizeof d - i);
}

static void put_i64(out *o, int64_t v)
{
    if (v < 0) {
        put(o, "-", 1);
        put_u64(o, (uint64_t)0 - (uint64_t)v, 10);
    } else {
        put_u64(o, (uint64_t)v, 10);
    }
}

/* A string value, escaped for the format: the inside of a JSON string (no
 * raw control character, invalid UTF-8 replaced), or a logfmt quoted
 * value with the same escapes. */
static void put_esc(out *o, const char *s, size_t n)
{
    /* Escape in pieces, so a long value needs no big scratch buffer. */
    char tmp[6 * 256];
    while (n > 0) {
        size_t k = n > 256 ? 256 : n;
        /* Never split a UTF-8 sequence between pieces. */
        while (k < n && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        if (k == 0)
            k = n > 256 ? 256 : n;
        put(o, tmp, lumen__raw_json_escape(tmp, (const unsigned char *)s, k));
        s += k;
        n -= k;
    }
}

static void key(out *o, const char *k)
{
    if (o->fmt == LUMEN_LOG_FORMAT_JSON) {
        puts_(o, o->first ? "{\"" : ",\"");
        puts_(o, k);
        puts_(o, "\":");
    } else {
        if (!o->first)
            put(o, " ", 1);
        puts_(o, k);
        put(o, "=", 1);
    }
    o->first = false;
}

static void field_str(out *o, const char *k, const char *v, size_t n)
{
    key(o, k);
    put(o, "\"", 1);
    put_esc(o, v, n);
    put(o, "\"", 1);
}

/* A value that needs no escaping or quoting (a name, hex digits). */
static void field_word(out *o, const char *k, const char *v, size_t n)
{
    key(o, k);
    if (o->fmt == LUMEN_LOG_FORMAT_JSON)
        put(o, "\"", 1);
    put(o, v, n);
    if (o->fmt == LUMEN_LOG_FORMAT_JSON)
        put(o, "\"", 1);
}

static void field_int(out *o, const char *k, int64_t v)
{
    key(o, k);
    put_i64(o, v);
}

static void field_hex(out *o, const char *k, const uint8_t *b, size_t n)
{
    char h[32];
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = "0123456789abcdef"[b[i] >> 4];
        h[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    field_word(o, k, h, 2 * n);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    default:
        return "SIGNAL";
    }
}

/* The name of si_code for the signal (signal.h's), or NULL. */
static const char *code_name(int sig, int code)
{
    static const char *const segv[] = {"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"};
    static const char *const bus[] = {"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
                                      "BUS_MCEERR_AO"};
    static const char *const ill[] = {"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
                                      "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"};
    static const char *const fpe[] = {"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
                                      "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"};
#define PICK(a) return code >= 1 && (size_t)code <= sizeof a / sizeof a[0] ? a[code - 1] : NULL
    switch (code) {
    case SI_USER:
        return "SI_USER";
    case SI_KERNEL:
        return "SI_KERNEL";
    case SI_QUEUE:
        return "SI_QUEUE";
    case SI_TKILL:
        return "SI_TKILL";
    default:
        break;
    }
    switch (sig) {
    case SIGSEGV:
        PICK(segv);
    case SIGBUS:
        PICK(bus);
    case SIGILL:
        PICK(ill);
    case SIGFPE:
        PICK(fpe);
    default:
        return NULL;
    }
#undef PICK
}

/* The frames of the interrupted thread, symbolised by the dynamic linker,
 * as one field: a JSON array of strings, or one string with the frames
 * separated by " | ". */
static void field_backtrace(out *o)
{
    size_t got = 0;
#ifdef LUMEN_HAVE_BACKTRACE
    void *frames[LUMEN_CRASH_FRAMES_MAX + 1];
    int n = backtrace(frames, LUMEN_CRASH_FRAMES_MAX + 1);
    if (n > 1 && st.pipe_w >= 0) {
        /* Frame 0 is this function; the signal trampoline and the crashing
         * function follow. Anything left in the pipe is stale. */
        while (read(st.pipe_r, bt, sizeof bt) > 0)
            ;
        backtrace_symbols_fd(frames + 1, n - 1, st.pipe_w);
        for (;;) {
            ssize_t r = read(st.pipe_r, bt + got, sizeof bt - got);
            if (r > 0 && (got += (size_t)r) < sizeof bt)
                continue;
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
    }
#endif
    key(o, "backtrace");
    put(o, o->fmt == LUMEN_LOG_FORMAT_JSON ? "[" : "\"", 1);
    size_t i = 0, k = 0;
    while (i < got) {
        size_t e = i;
        while (e < got && bt[e] != '\n')
            e++;
        if (e > i) {
            if (o->fmt == LUMEN_LOG_FORMAT_JSON) {
                puts_(o, k > 0 ? ",\"" : "\"");
                put_esc(o, bt + i, e - i);
                put(o, "\"", 1);
            } else {
                if (k > 0)
                    puts_(o, " | ");
                put_esc(o, bt + i, e - i);
            }
            k++;
        }
        i = e + 1;
    }
    put(o, o->fmt == LUMEN_LOG_FORMAT_JSON ? "]" : "\"", 1);
}

static size_t format_line(int sig, const siginfo_t *si, long tid)
{
    out o = {line, 0, sizeof line - 2, st.o.format, true};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char t[32];
    size_t tl = lumen__rfc3339_us_safe(t, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    const char *name = signal_name(sig);
    if (o.fmt == LUMEN_LOG_FORMAT_TEXT) {
        /* Readable like the text formatter's lines: time, level, logger,
         * message, then key=value. */
        put(&o, t, tl);
        puts_(&o, " FATAL crash: crash: ");
        puts_(&o, name);
        o.first = false;
    } else {
        field_word(&o, "ts", t, tl);
        field_word(&o, "level", "fatal", 5);
        field_word(&o, "logger", "crash", 5);
        char msg[32] = "crash: ";
        size_t ml = strlen(name);
        memcpy(msg + 7, name, ml);
        field_str(&o, "msg", msg, 7 + ml);
    }
    field_word(&o, "signal", name, strlen(name));
    field_int(&o, "signo", sig);
    if (si != NULL) {
        field_int(&o, "si_code", si->si_code);
        const char *cn = code_name(sig, si->si_code);
        if (cn != NULL)
            field_word(&o, "si_code_name", cn, strlen(cn));
        /* The kernel fills si_addr for the faults it raises (si_code > 0). */
        if (si->si_code > 0 && sig != SIGABRT) {
            char a[20] = "0x";
            out ao = {a + 2, 0, sizeof a - 2, 0, false};
            put_u64(&ao, (uint64_t)(uintptr_t)si->si_addr, 16);
            field_word(&o, "addr", a, 2 + ao.n);
        }
    }
    field_int(&o, "pid", getpid());
    field_int(&o, "tid", tid);
    /* The crashing thread's own context: the handler runs on it (faults
     * are delivered to the thread that caused them), and TLS is
     * initial-exec, so reading it neither locks nor allocates. */
    const lumen__tctx *c = lumen__tctx_get();
    if (c->has_span) {
        field_hex(&o, "trace_id", c->trace_id, 16);
        field_hex(&o, "span_id", c->span_id, 8);
        field_hex(&o, "trace_flags", &c->trace_flags, 1);
    }
    if (c->request_id_len > 0)
        field_str(&o, "request_id", c->request_id, c->request_id_len);
    field_backtrace(&o);
    /* The last two bytes were kept for the end, so that a line cut short
     * by the buffer still ends as the format says. */
    o.cap += 2;
    if (o.fmt == LUMEN_LOG_FORMAT_JSON)
        put(&o, "}", 1);
    put(&o, "\n", 1);
    return o.n;
}

/* ---- the handler ---------------------------------------------------------------------------- */

static void reraise(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    /* The signal is blocked while its handler runs: raise() leaves it
     * pending, and it is delivered, with the default action (core dump),
     * as the handler returns. A fault re-executed would do the same, but
     * a signal sent with kill() would not come back on its own. */
    raise(sig);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    for (size_t i = 0; i < NSIG_CRASH; i++) {
        if (SIGNALS[i] != sig)
            continue;
        const struct sigaction *old = &st.old[i];
        if (old->sa_flags & SA_SIGINFO) {
            if (old->sa_sigaction != NULL)
                old->sa_sigaction(sig, si, uc);
        } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN &&
                   old->sa_handler != NULL) {
            old->sa_handler(sig);
        }
    }
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    long tid = syscall(SYS_gettid);
    long none = 0;
    uint32_t budget_ms = st.o.flush_timeout_ms;
    if (!atomic_compare_exchange_strong(&crashing, &none, tid)) {
        /* Another thread is reporting its crash and will end the process:
         * wait for it, bounded, then die of this signal. */
        int64_t until = lumen__mono_ns() + ((int64_t)budget_ms + 1000) * 1000000;
        while (lumen__mono_ns() < until)
            poll(NULL, 0, 10);
        reraise(sig);
        errno = saved;
        return;
    }
    /* One budget for every write: a reader that stopped reading (a full
     * pipe) holds the handler up to the deadline, never longer. */
    int64_t deadline = lumen__mono_ns() + (int64_t)budget_ms * 1000000;
    size_t n = format_line(sig, si, tid);
    /* The crash line first: if the flush below is held up by a stuck
     * reader and a supervisor kills the process, the line is already out. */
    lumen__log_write_until(st.o.fd, line, n, true, deadline);
    lumen__log_batch_flush_from_signal(deadline);
    lumen__log_async_flush_from_signal(deadline);
    if (st.o.flags & LUMEN_CRASH_CHAIN)
        chain(sig, si, uc);
    reraise(sig);
    errno = saved;
}

/* ---- install -------------------------------------------------------------------------------- */

static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static bool stack_key_ok;

static void stack_free(void *p)
{
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    munmap(p, ALTSTACK_BYTES);
}

static void stack_key_init(void)
{
    stack_key_ok = pthread_key_create(&stack_key, stack_free) == 0;
}

int lumen_crash_thread_init(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return LUMEN_ESYS;
    if (!(cur.ss_flags & SS_DISABLE))
        return LUMEN_OK;
    pthread_once(&stack_once, stack_key_init);
    void *p =
        mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return LUMEN_ENOMEM;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = p;
    ss.ss_size = ALTSTACK_BYTES;
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, ALTSTACK_BYTES);
        return LUMEN_ESYS;
    }
    /* The main thread's stack outlives every destructor; other threads
     * give theirs back when they exit. */
    if (stack_key_ok)
        pthread_setspecific(stack_key, p);
    return LUMEN_OK;
}

int lumen_crash_install(const lumen_crash_options *opts)
{
    lumen_crash_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes, LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (o.fd < 0 || o.format < LUMEN_LOG_FORMAT_AUTO || o.format > LUMEN_LOG_FORMAT_TEXT)
        return LUMEN_EINVAL;
    if (o.fd == 0)
        o.fd = 1;
    if (o.format == LUMEN_LOG_FORMAT_AUTO)
        o.format = LUMEN_LOG_FORMAT_JSON;
    if (o.flush_timeout_ms == 0)
        o.flush_timeout_ms = LUMEN_CRASH_DEFAULT_FLUSH_TIMEOUT_MS;

        /* backtrace() loads libgcc_s's unwinder on its first call, with
         * malloc: do it here, never in the handler. */
#ifdef LUMEN_HAVE_BACKTRACE
    void *warm[2];
    backtrace(warm, 2);
#endif

    bool new_pipe = st.pipe_w < 0;
    if (new_pipe) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
            return LUMEN_ESYS;
        st.pipe_r = p[0];
        st.pipe_w = p[1];
    }
    if (!(o.flags & LUMEN_CRASH_NO_ALTSTACK)) {
        rc = lumen_crash_thread_init();
        if (rc != LUMEN_OK)
            goto fail;
    }
    /* Options first: the handler may run as soon as it is installed. */
    st.o = o;
    if (!st.installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_crash;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < NSIG_CRASH; i++)
            sigaddset(&sa.sa_mask, SIGNALS[i]);
        for (size_t i = 0; i < NSIG_CRASH; i++) {
            if (sigaction(SIGNALS[i], &sa, &st.old[i]) != 0) {
                while (i-- > 0)
                    sigaction(SIGNALS[i], &st.old[i], NULL);
                rc = LUMEN_ESYS;
                goto fail;
            }
        }
        st.installed = true;
    }
    return LUMEN_OK;
fail:
    if (new_pipe) {
        close(st.pipe_r);
        close(st.pipe_w);
        st.pipe_r = st.pipe_w = -1;
    }
    return rc;
}

int lumen_crash_uninstall(void)
{
    if (!st.installed)
        return LUMEN_ESTATE;
    for (size_t i = 0; i < NSIG_CRASH; i++)
        sigaction(SIGNALS[i], &st.old[i], NULL);
    st.installed = false;
    return LUMEN_OK;
}
