/*
 * metrics/process.c: what the process collector reports, and its collect
 * function (registry.c registers it): CPU time, memory, file
 * descriptors, threads, start time and I/O bytes of the calling process,
 * under the names the other Prometheus clients use (client_golang and
 * client_python for the common set, VictoriaMetrics' client for the I/O
 * bytes, which the official clients do not export).
 *
 * A scrape reads /proc/self/stat, /proc/self/io and the /proc/self/fd
 * directory with plain system calls into stack buffers: no lock, no
 * allocation, a few microseconds. Whatever cannot be read (no /proc in a
 * chroot, /proc/self/io hidden by a container) is left out of that scrape
 * rather than reported as zero.
 */
#include "core/common.h"

#ifdef __linux__
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#endif
#include "metrics/process.h"

#ifdef __linux__

/* Read a small /proc file into buf (NUL-terminated); length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

static unsigned long long next_ull(const char **p)
{
    char *end;
    unsigned long long v = strtoull(*p, &end, 10);
    *p = end;
    return v;
}

/* The fields of /proc/self/stat we use (proc(5) numbering). */
typedef struct stat_fields {
    unsigned long long utime, stime; /* 14, 15: clock ticks */
    unsigned long long threads;      /* 20 */
    unsigned long long starttime;    /* 22: ticks after boot */
    unsigned long long vsize;        /* 23: bytes */
    unsigned long long rss;          /* 24: pages */
} stat_fields;

static bool read_stat(stat_fields *f)
{
    char buf[1024];
    if (read_small("/proc/self/stat", buf, sizeof buf) <= 0)
        return false;
    /* The command name (field 2) may hold spaces and ')': skip to the
     * last ')'. Field 3 follows it. */
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return false;
    p += 2;
    p = strchr(p, ' '); /* past field 3, the state letter */
    if (p == NULL)
        return false;
    unsigned long long v[22] = {0}; /* fields 4..24 */
    for (int i = 4; i <= 24; i++)
        v[i - 4] = next_ull(&p);
    f->utime = v[14 - 4];
    f->stime = v[15 - 4];
    f->threads = v[20 - 4];
    f->starttime = v[22 - 4];
    f->vsize = v[23 - 4];
    f->rss = v[24 - 4];
    return true;
}

/* Boot time in seconds since the epoch, from /proc/stat's btime line. It
 * never changes, so it is read once (a racing first read is harmless). */
static double boot_time(void)
{
    static _Atomic(double) cached = 0;
    double bt = atomic_load_explicit(&cached, memory_order_relaxed);
    if (bt > 0)
        return bt;
    char buf[16384];
    if (read_small("/proc/stat", buf, sizeof buf) <= 0)
        return 0;
    const char *p = strstr(buf, "\nbtime ");
    if (p == NULL)
        return 0;
    p += 7;
    bt = (double)next_ull(&p);
    atomic_store_explicit(&cached, bt, memory_order_relaxed);
    return bt;
}

/* Open descriptors: the entries of /proc/self/fd, read with getdents64
 * into a stack buffer, minus the one used to read it. */
static long count_fds(void)
{
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    long n = 0;
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        long r = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (r < 0) {
            n = -1;
            break;
        }
        if (r == 0)
            break;
        for (long off = 0; off < r;) {
            /* struct linux_dirent64: d_ino(8) d_off(8) d_reclen(2) d_type(1) d_name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (name[0] != '.')
                n++;
            off += reclen;
        }
    }
    close(dfd);
    return n < 0 ? -1 : n - 1;
}

static int gauge(lumen_collect_sink *s, const char *name, const char *help, const char *unit,
                 double v)
{
    int rc = lumen_collect_family(s, LUMEN_METRIC_GAUGE, name, help, unit);
    return rc != LUMEN_OK ? rc : lumen_collect_sample(s, "", NULL, 0, v);
}

/* `name` without the _total suffix, which the exposition adds. */
static int counter(lumen_collect_sink *s, const char *name, const char *help, const char *unit,
                   double v)
{
    int rc = lumen_collect_family(s, LUMEN_METRIC_COUNTER, name, help, unit);
    return rc != LUMEN_OK ? rc : lumen_collect_sample(s, "", NULL, 0, v);
}

static double rlimit_value(int which)
{
    struct rlimit rl;
    if (getrlimit(which, &rl) != 0)
        return -1;
    /* Unlimited is exposed as the number itself (2^64-1), as client_golang does. */
    return (double)rl.rlim_cur;
}

int lumen__process_collect(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    int rc = LUMEN_OK;
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != LUMEN_OK)                                                                \
            return rc;                                                                             \
    } while (0)

    stat_fields f;
    if (read_stat(&f)) {
        double ticks = (double)sysconf(_SC_CLK_TCK);
        double page = (double)sysconf(_SC_PAGESIZE);
        if (ticks <= 0)
            ticks = 100;
        TRY(counter(s, "process_cpu_seconds", "Total user and system CPU time spent in seconds.",
                    "seconds", (double)(f.utime + f.stime) / ticks));
        TRY(gauge(s, "process_resident_memory_bytes", "Resident memory size in bytes.", "bytes",
                  (double)f.rss * page));
        TRY(gauge(s, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "bytes",
                  (double)f.vsize));
        double bt = boot_time();
        if (bt > 0)
            TRY(gauge(s, "process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.", "seconds",
                      bt + (double)f.starttime / ticks));
        TRY(gauge(s, "process_threads", "Number of OS threads in the process.", NULL,
                  (double)f.threads));
    }
    double vmax = rlimit_value(RLIMIT_AS);
    if (vmax >= 0)
        TRY(gauge(s, "process_virtual_memory_max_bytes",
                  "Maximum amount of virtual memory available in bytes.", "bytes", vmax));
    long fds = count_fds();
    if (fds >= 0)
        TRY(gauge(s, "process_open_fds", "Number of open file descriptors.", NULL, (double)fds));
    double maxfds = rlimit_value(RLIMIT_NOFILE);
    if (maxfds >= 0)
        TRY(gauge(s, "process_max_fds", "Maximum number of open file descriptors.", NULL, maxfds));

    char io[1024];
    if (read_small("/proc/self/io", io, sizeof io) > 0) {
        /* "rchar: N\nwchar: N\nsyscr: ..\nsyscw: ..\nread_bytes: N\nwrite_bytes: N\n..." */
        static const struct {
            const char *key, *name, *help;
        } rows[] = {
            {"rchar:", "process_io_read_bytes",
             "Bytes read by read(2) and similar calls, from any file or socket."},
            {"wchar:", "process_io_written_bytes",
             "Bytes written by write(2) and similar calls, to any file or socket."},
            {"read_bytes:", "process_io_storage_read_bytes",
             "Bytes the process caused to be fetched from the storage layer."},
            {"write_bytes:", "process_io_storage_written_bytes",
             "Bytes the process caused to be sent to the storage layer."},
        };
        for (size_t i = 0; i < LUMEN_ARRAY_LEN(rows); i++) {
            const char *p = strstr(io, rows[i].key);
            if (p == NULL || (p != io && p[-1] != '\n'))
                continue;
            p += strlen(rows[i].key);
            TRY(counter(s, rows[i].name, rows[i].help, "bytes", (double)next_ull(&p)));
        }
    }
#undef TRY
    return LUMEN_OK;
}

#else /* no /proc: the collector reports nothing */
int lumen__process_collect(lumen_collect_sink *s, void *ud)
{
    (void)s, (void)ud;
    return LUMEN_OK;
}
#endif

/* Every family lumen__process_collect may write, declared by
 * lumen_process_collector_add (registry.c) so that a clash with a
 * program's family is refused at registration. */
const char *const lumen__process_names[] = {
    "process_cpu_seconds",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
    "process_virtual_memory_max_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_io_read_bytes",
    "process_io_written_bytes",
    "process_io_storage_read_bytes",
    "process_io_storage_written_bytes",
};
const size_t lumen__process_name_count = LUMEN_ARRAY_LEN(lumen__process_names);
