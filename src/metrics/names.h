/*
 * metrics/names.h: the names of the Prometheus data model: metric and
 * label name checks and the sample names a family exposes (label values
 * are repaired with core/utf8.h). The bottom of the metrics layer: it knows no family,
 * registry or series.
 */
#ifndef LUMEN_METRICS_NAMES_H
#define LUMEN_METRICS_NAMES_H

#include "core/common.h"
#include "lumen/metrics.h"

/* The most sample names one family exposes (a histogram's five: base,
 * _bucket, _sum, _count, _created), with room to spare. */
#define LUMEN__SAMPLE_NAMES_MAX 8
/* Bytes of one sample name with its NUL: a family name of at most
 * LUMEN_METRIC_NAME_MAX bytes (without suffixes) and its longest suffix. */
#define LUMEN__SAMPLE_NAME_CAP (LUMEN_METRIC_NAME_MAX + sizeof "_created")

/* A buffer for every sample name of one family. */
typedef char lumen__sample_names[LUMEN__SAMPLE_NAMES_MAX][LUMEN__SAMPLE_NAME_CAP];

bool lumen__valid_metric_name(const char *s, size_t n);
bool lumen__valid_label_name(const char *s, size_t n);

/* Family name after removing a type's implied suffix (_total, _info). */
size_t lumen__family_base_len(lumen_metric_type type, const char *name);

/* The names a family of this type and base name exposes, into out;
 * returns how many. `base` is at most LUMEN_METRIC_NAME_MAX bytes. */
size_t lumen__family_sample_names(lumen_metric_type type, const char *base,
                                  lumen__sample_names out);

#endif
