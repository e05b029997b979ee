/*
 * metrics/family.h: families and their lock-free child tables
 * (family.c). A family is built here and registered by registry.c.
 */
#ifndef LUMEN_METRICS_FAMILY_H
#define LUMEN_METRICS_FAMILY_H

#include "metrics/internal.h"

void lumen__family_ref(lumen__family *f);
void lumen__family_unref(lumen__family *f);

/* Build (validate and allocate) a family without registering it; `o` is
 * complete (NULL: defaults). Errors as lumen_family_new. */
int lumen__family_build(lumen__family **out, lumen_metric_type type, const char *name,
                        const lumen_family_options *o);
/* Free a family that was never registered. */
void lumen__family_destroy(lumen__family *f);
/* Create the family's only child with these values (info metrics; n = 0:
 * the only series of a family without labels). */
int lumen__family_add_fixed_child(lumen__family *f, const char *const *values, size_t n);

/* Lookup-create for any type, through the family's handle; the child's
 * handle into *out. */
int lumen__family_child(uintptr_t ftok, lumen_metric_type type, const char *const *values, size_t n,
                        uintptr_t *out);
/* Snapshot of the children in label order; release with _end. */
lumen__child **lumen__family_snapshot(lumen__family *f, size_t *n);
void lumen__family_snapshot_end(lumen__family *f, lumen__child **c);
uint64_t lumen__family_overflows(const lumen__family *f);

/* Families sorted by name (a registry's list, or a render's copy of it):
 * the index of the first whose name is >= name, and whether one of them
 * exposes the sample or family name `s` (a counter `a` exposes a, a_total
 * and a_created). */
size_t lumen__families_lower_bound(lumen__family *const *fams, size_t n, const char *name);
bool lumen__families_expose(lumen__family *const *fams, size_t n, const char *s);

#endif
