/*
 * http/console_hist.h: the console's short memory of metric values.
 *
 * The console does not keep a time-series database: it keeps the last
 * `points` samples (by default 180, six minutes at one sample every two
 * seconds) of at most `max_series` series, taken by rendering the program's
 * registries in the text format and parsing the result. Charts ask for the
 * history of a few families; rates and quantiles are computed by the page.
 * Series beyond max_series are not tracked and are counted.
 *
 * Thread-safe: a mutex guards everything; neither adding a sample nor
 * answering a request is on a hot path of the program.
 */
#ifndef LUMEN_HTTP_CONSOLE_HIST_H
#define LUMEN_HTTP_CONSOLE_HIST_H

#include "core/buf.h"

typedef struct lumen__mhist lumen__mhist;

int lumen__mhist_new(lumen__mhist **out, size_t max_series, size_t points);
void lumen__mhist_free(lumen__mhist *h);

/* Parse a text-format (0.0.4) exposition taken at `ts_ms` (Unix ms) and
 * record one point for every series in it. Malformed lines are skipped and
 * counted. Returns LUMEN_OK or LUMEN_ENOMEM. */
int lumen__mhist_add(lumen__mhist *h, int64_t ts_ms, const char *text, size_t len);

/* {"families":[{"name","type","help","series"}...],"untracked":N,"bad_lines":N} */
void lumen__mhist_families_json(lumen__mhist *h, lumen__buf *b);

/* {"timestamps":[...],"series":[{"family","type","name","labels":{},
 * "values":[...]}...],"series_cut":N,"families_ignored":M} for the families
 * named in `fams` (all when n is 0), up to `limit` series. series_cut counts
 * the series of those families left out by the limit; families_ignored is
 * passed through (family parameters the caller could not take), so that
 * nothing is left out without the answer saying so. Missing points and
 * non-finite values are null. */
void lumen__mhist_series_json(lumen__mhist *h, const char *const *fams, size_t n, size_t limit,
                              size_t families_ignored, lumen__buf *b);

#endif
