/*
 * lumen/prefork.h: one set of metrics for a family of worker processes
 * (a master that forks workers: the Apache prefork model, FastCGI and
 * uWSGI-style pools, process-per-connection servers).
 *
 * The master calls lumen_prefork_new() before it forks. Counters, gauges
 * and histograms created in lumen_prefork_registry() live in shared
 * memory, and every process that renders that registry (the master's
 * /metrics endpoint, its console, or any worker's) shows the aggregate of
 * the whole family: counters and histograms are summed over the workers,
 * gauges combined as their mode says (lumen_prefork_set_gauge_mode).
 *
 * Every process of the family has a worker slot of its own: the master
 * takes one in lumen_prefork_new(), a child of fork() takes one before
 * fork() returns in it, a process started otherwise takes one in
 * lumen_prefork_join(). A worker adds to cells of its own slot, one set
 * per CPU, with the same instructions as a single process
 * (docs/architecture.md, "Hot paths"): no lock, no atomic
 * read-modify-write, nothing shared with another process on the hot
 * path. The add is one instruction that commits, so a worker killed at
 * any moment leaves no torn value, and what it had counted stays in the
 * aggregate after it is gone: when its slot is reclaimed its cells are
 * added to the family's totals, so a counter never goes backwards when a
 * worker is recycled. Creating a label set or a family takes a robust
 * process-shared mutex; a worker killed while holding it leaves nothing
 * half made, and the next process to take it carries on.
 *
 * Handles (lumen_counter, lumen_histogram, lumen_gauge, lumen_family) are
 * those of lumen/metrics.h and used the same way; a handle obtained in
 * the master before fork() stays valid in the children. A label set
 * created in one worker appears in every render, and each family's series
 * limit counts the label sets of the whole family of processes.
 *
 * What differs from a single process: summaries are refused (use a
 * histogram); exemplars stay in the process that recorded them and are
 * not rendered; a series cannot be removed (lumen_family_remove returns
 * LUMEN_ENOTSUP, lumen_family_clear does nothing); lumen_counter_value and
 * lumen_gauge_value read the calling process's own contribution. Every
 * log line of a process attached to a family carries its "pid". Linux
 * only, 64-bit targets only (elsewhere lumen_prefork_new returns
 * LUMEN_ENOTSUP). See docs/prefork.md.
 */
#ifndef LUMEN_PREFORK_H
#define LUMEN_PREFORK_H

#include <stdbool.h>

#include "lumen/common.h"
#include "lumen/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The metrics of a family of processes, as one process sees them. */
typedef struct lumen_prefork lumen_prefork;

/**
 * Sizes of the shared memory, fixed when the master creates it. Zero in
 * any field means its default. Memory is reserved, not used: a page costs
 * memory once something is written to it.
 */
typedef struct lumen_prefork_options {
    /** LUMEN_PREFORK_OPTIONS_VERSION */
    unsigned int version;
    /** Processes attached at once, live or not yet reclaimed; 0:
     * LUMEN_PREFORK_DEFAULT_MAX_WORKERS (64), at most LUMEN_PREFORK_MAX_WORKERS. */
    uint32_t max_workers;
    /** Families in the shared registry; 0: LUMEN_PREFORK_DEFAULT_MAX_FAMILIES
     * (1024), at most LUMEN_PREFORK_MAX_FAMILIES. */
    uint32_t max_families;
    /** Label sets of every family together; 0: LUMEN_PREFORK_DEFAULT_MAX_SERIES
     * (65536), at most LUMEN_PREFORK_MAX_SERIES. */
    size_t max_series;
    /** Value cells of every series together (a counter or gauge takes 2, a
     * histogram its buckets + 2, rounded up to even); 0:
     * LUMEN_PREFORK_DEFAULT_CELLS_PER_SERIES (16) per series, at most
     * LUMEN_PREFORK_MAX_CELLS. */
    size_t max_cells;
    /** Bytes of names, help and label values; 0:
     * LUMEN_PREFORK_DEFAULT_LABEL_BYTES_PER_SERIES (64) per series. */
    size_t max_label_bytes;
} lumen_prefork_options;

#define LUMEN_PREFORK_OPTIONS_VERSION 1
#define LUMEN_PREFORK_OPTIONS_INIT                                                                 \
    LUMEN__VERSIONED_INIT(lumen_prefork_options, LUMEN_PREFORK_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION (0 or newer than this library). Thread-safe. */
LUMEN_API int lumen_prefork_options_init(lumen_prefork_options *opts, unsigned int version);

/**
 * Create the shared memory of a family of processes and attach the
 * calling process (the master) to it, before it forks. *out is the
 * caller's; free it with lumen_prefork_free. NULL opts: every default.
 * One family per process: a second call before lumen_prefork_free
 * returns LUMEN_EBUSY.
 *
 * From then on every child of fork() is attached with a worker slot of
 * its own before fork() returns in it, and inherits *out and every handle
 * (a child that finds no free slot is reported through the diagnostics
 * hook and counted in lumen_prefork_workers_refused_total; its updates
 * are then not seen).
 *
 * Errors: LUMEN_EINVAL (out NULL, an option out of range), LUMEN_EVERSION
 * (opts not started from LUMEN_PREFORK_OPTIONS_INIT), LUMEN_EBUSY, LUMEN_ENOTSUP (not Linux, a
 * 32-bit target, or no memfd or process-shared robust mutexes), LUMEN_ELIMIT (the handles this
 * process has leave no room for the family's range of them, or the family is larger than one this
 * process attached to before), LUMEN_ESYS (errno says why), LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_prefork_new(lumen_prefork **out, const lumen_prefork_options *opts);

/**
 * Attach the calling process to the family whose shared memory `fd`
 * refers to (lumen_prefork_fd of a process of the family, passed to a
 * program that was not forked from it, say through exec with the
 * descriptor kept open), with a worker slot of its own. `fd` is
 * duplicated, not taken. The process then creates its families in
 * lumen_prefork_registry(*out) with the same definitions as the others
 * (same type, labels and buckets) and shares their series. Errors as
 * lumen_prefork_new, and LUMEN_EINVAL when fd is not such memory, made by
 * another build of lumen, or LUMEN_ELIMIT when no worker slot is free.
 * Thread-safe.
 */
LUMEN_API int lumen_prefork_join(lumen_prefork **out, int fd);

/** The descriptor of the shared memory, owned by `pf` (close-on-exec: a
 * program that execs a worker clears FD_CLOEXEC on a duplicate); -1 for
 * NULL. Thread-safe. */
LUMEN_API int lumen_prefork_fd(const lumen_prefork *pf);

/**
 * The registry whose counters, gauges and histograms are shared by the
 * family, borrowed until lumen_prefork_free; NULL for NULL. Create
 * families in it with lumen_family_new, lumen_counter_new and the like;
 * a name already defined by another process of the family gives that
 * family when the definitions agree (LUMEN_EEXIST otherwise, and for a
 * name this process created already: lumen_family_lookup finds the
 * families this process created). Summaries are refused
 * (LUMEN_ETYPE); a gauge family may not have a label named "pid", which
 * the all modes add (LUMEN_ERESERVED); more than max_families families is
 * LUMEN_ELIMIT. Info metrics, gauge functions and collectors added to it
 * stay the rendering process's own. Render it, or serve it with the HTTP
 * server, from any process: it shows the whole family. Thread-safe.
 */
LUMEN_API lumen_registry *lumen_prefork_registry(const lumen_prefork *pf);

/**
 * How a gauge's values in the workers combine into what is rendered,
 * after client_python's multiprocess modes. A worker contributes once it
 * has set or changed the gauge; a "live" mode skips a worker that has
 * exited, the others keep its last value: `all` until its slot is
 * reclaimed, `sum`, `max`, `min` and `mostrecent` for good (folded into
 * the family's totals when its slot is reclaimed).
 */
typedef enum lumen_prefork_gauge_mode {
    LUMEN_PREFORK_GAUGE_ALL = 0,           /**< one sample per worker, labelled pid (the default) */
    LUMEN_PREFORK_GAUGE_LIVEALL = 1,       /**< one sample per running worker, labelled pid */
    LUMEN_PREFORK_GAUGE_SUM = 2,           /**< the sum over the workers */
    LUMEN_PREFORK_GAUGE_LIVESUM = 3,       /**< the sum over the running workers */
    LUMEN_PREFORK_GAUGE_MAX = 4,           /**< the largest value */
    LUMEN_PREFORK_GAUGE_LIVEMAX = 5,       /**< the largest value of a running worker */
    LUMEN_PREFORK_GAUGE_MIN = 6,           /**< the smallest value */
    LUMEN_PREFORK_GAUGE_LIVEMIN = 7,       /**< the smallest value of a running worker */
    LUMEN_PREFORK_GAUGE_MOSTRECENT = 8,    /**< the value set last */
    LUMEN_PREFORK_GAUGE_LIVEMOSTRECENT = 9 /**< the value a running worker set last */
} lumen_prefork_gauge_mode;

/**
 * Set how the gauge family `name` combines its workers' values, for every
 * process of the family (set it before the workers start: values folded
 * under one mode are not converted to another). Returns LUMEN_OK,
 * LUMEN_EINVAL (NULL, an unknown mode), LUMEN_ENOENT (no such family in
 * the shared registry), LUMEN_ETYPE (not a gauge) or LUMEN_ERESERVED (an
 * all mode on a family with a "pid" label). Thread-safe.
 */
LUMEN_API int lumen_prefork_set_gauge_mode(lumen_prefork *pf, const char *name,
                                           lumen_prefork_gauge_mode mode);

/**
 * Reclaim the slots of workers that have exited: add their counts to the
 * family's totals, fold their gauges as their modes say, and free the
 * slots for new workers. A master calls it after reaping a child
 * (waitpid); otherwise a slot is reclaimed when a new worker finds none
 * free. A worker is known to have exited by its pid and start time (a
 * zombie counts as exited). The number of slots reclaimed goes to *out
 * (which may be NULL). Returns LUMEN_OK, or LUMEN_EINVAL for a NULL pf.
 * Thread-safe.
 */
LUMEN_API int lumen_prefork_reclaim(size_t *out, lumen_prefork *pf);

/**
 * Detach the calling process: its handles into the shared registry die
 * (updates through them are counted as lost), its registry is freed and
 * its slot is left for reclaiming, with everything it counted. The shared
 * memory lives on while another process of the family uses it. NULL is a
 * no-op. Not thread-safe: no other thread may use `pf`, its registry or
 * its handles meanwhile.
 */
LUMEN_API void lumen_prefork_free(lumen_prefork *pf);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_PREFORK_H */
