/*
 * metrics/child.h: the storage behind one series (child.c): its cells,
 * exemplar slots or summary state, by the family's type.
 */
#ifndef LUMEN_METRICS_CHILD_H
#define LUMEN_METRICS_CHILD_H

#include "metrics/internal.h"

/* Give a new child of family f what its type needs (its handle is already
 * allocated: a counter's cells are its slot's pair). LUMEN_OK,
 * LUMEN_ENOMEM or LUMEN_ELIMIT. */
int lumen__child_init_storage(lumen__child *c, lumen__family *f);
/* Release what a child holds, its handle and the child itself; only after
 * a grace period that began after its handle was killed. */
void lumen__child_free(lumen__child *c);
/* Bytes of a child's allocation. */
size_t lumen__child_size(const lumen__child *c);

#endif
