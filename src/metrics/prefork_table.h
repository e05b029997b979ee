/*
 * metrics/prefork_table.h: the families and series of a pre-forked
 * family's shared memory (prefork_table.c): created under create_mu,
 * found lock-free, and the places family.c gives its shared series.
 */
#ifndef LUMEN_METRICS_PREFORK_TABLE_H
#define LUMEN_METRICS_PREFORK_TABLE_H

#include "metrics/prefork_shm.h"

/* The family `name` in shared memory, created when absent; its index into
 * *idx. LUMEN_EEXIST when it exists with another definition. */
int lumen__pf_family_get(struct lumen_prefork *pf, const lumen__family *f, uint32_t *idx);
/* The family `name` (base name) in shared memory, or LUMEN__PF_NONE. */
uint32_t lumen__pf_family_find(const lumen__pf_hdr *h, const char *name);
/* Repair after a creator died holding create_mu. */
void lumen__pf_repair_create(struct lumen_prefork *pf);
/* The i-th label value of a series. */
const char *lumen__pf_series_value(const lumen__pf_hdr *h, const lumen__pf_series *s, size_t i);

/* family.c's lookups of a shared family: where the series of `values`
 * lives (created when absent, the family's overflow series past its
 * limit), its limit and its overflows. */
int lumen__prefork_place(lumen__pf_family *pfam, const char *const *values, size_t n,
                         lumen__pf_place *out);
void lumen__prefork_set_limit(lumen__pf_family *pfam, size_t limit);
uint64_t lumen__prefork_overflows(const lumen__pf_family *pfam);

#endif
