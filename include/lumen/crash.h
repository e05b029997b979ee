/*
 * lumen/crash.h: crashes as the unexpected errors. An installed handler
 * turns SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT into one structured log
 * line (signal, si_code, fault address, a symbolised backtrace, and the
 * trace, span and request ids current on the crashing thread), writes out
 * the log lines lumen had already formatted, then lets the signal's default
 * action run, so the process still dies of that signal and still dumps
 * core.
 *
 * Symbols: the backtrace names the functions the dynamic linker knows, so a
 * program that wants its own functions named links with -rdynamic
 * (CMake: ENABLE_EXPORTS); static functions and stripped binaries show as
 * module+offset, which addr2line resolves later.
 */
#ifndef LUMEN_CRASH_H
#define LUMEN_CRASH_H

#include "lumen/common.h"
#include "lumen/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flags for lumen_crash_options.flags. */
enum {
    /** After writing the line and flushing, call the handler that was
     * installed for the signal before lumen's (if it was a function), then
     * run the default action. */
    LUMEN_CRASH_CHAIN = 1u << 0,
    /** Do not give the installing thread an alternate signal stack (the
     * program has its own, or wants none; a stack overflow then kills the
     * process without a line). */
    LUMEN_CRASH_NO_ALTSTACK = 1u << 1
};

/**
 * Options of the crash handler (a versioned struct, docs/api.md). Start
 * from LUMEN_CRASH_OPTIONS_INIT; every field left zero takes its default.
 */
typedef struct lumen_crash_options {
    /** LUMEN_CRASH_OPTIONS_VERSION */
    unsigned int version;
    /** Where the crash line goes; 0: standard output (1), where lumen's
     * default log handler writes. Standard input is never a log target. */
    int fd;
    /** JSON (the default, also for AUTO), LOGFMT or TEXT. */
    lumen_log_format format;
    /** LUMEN_CRASH_* flags */
    uint32_t flags;
    /** The longest the handler spends writing, in all: the crash line and
     * the lines already formatted give up at this deadline when their
     * descriptor takes no more bytes (a reader that stopped reading) or an
     * asynchronous writer thread holds a batch; 0:
     * LUMEN_CRASH_DEFAULT_FLUSH_TIMEOUT_MS. */
    uint32_t flush_timeout_ms;
} lumen_crash_options;

#define LUMEN_CRASH_OPTIONS_VERSION 1
#define LUMEN_CRASH_OPTIONS_INIT                                                                   \
    LUMEN__VERSIONED_INIT(lumen_crash_options, LUMEN_CRASH_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION (0 or newer than this library). Thread-safe. */
LUMEN_API int lumen_crash_options_init(lumen_crash_options *opts, unsigned int version);

/**
 * Install the crash handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and
 * SIGABRT (NULL options: every default), remembering the handlers it
 * replaces. It loads the unwinder (libgcc_s) now, because loading it from
 * inside a signal handler would allocate, and gives the calling thread an
 * alternate signal stack so that a stack overflow on that thread is
 * reported too (other threads: lumen_crash_thread_init). Installing again
 * replaces the options and keeps the first remembered handlers.
 *
 * The line (JSON format) is one object: ts, level "fatal", logger "crash",
 * msg "crash: SIGSEGV", signal, signo, si_code, si_code_name, addr, pid,
 * tid, trace_id, span_id, trace_flags and request_id when the thread had
 * them, and backtrace, an array of frames. See docs/instrumentation.md.
 *
 * Returns LUMEN_OK, LUMEN_EVERSION, LUMEN_EINVAL (a negative fd or an
 * unknown format) or LUMEN_ESYS (sigaction, sigaltstack or pipe failed;
 * nothing is left installed). Not thread-safe: it must not run alongside
 * another sigaction for these signals or lumen_crash_uninstall.
 */
LUMEN_API int lumen_crash_install(const lumen_crash_options *opts);

/**
 * Give the calling thread an alternate signal stack (freed when the thread
 * exits), so that a stack overflow on it is reported. A thread that has one
 * already keeps it. Returns LUMEN_OK, LUMEN_ENOMEM or LUMEN_ESYS.
 * Thread-safe: it acts on the calling thread.
 */
LUMEN_API int lumen_crash_thread_init(void);

/**
 * Put back the handlers lumen_crash_install replaced. Returns LUMEN_OK or
 * LUMEN_ESTATE (not installed). Not thread-safe: it must not run alongside
 * lumen_crash_install or another sigaction for these signals.
 */
LUMEN_API int lumen_crash_uninstall(void);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_CRASH_H */
