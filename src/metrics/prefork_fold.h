/*
 * metrics/prefork_fold.h: reclaiming the worker slots of a pre-forked
 * family (prefork_fold.c): an exited worker's cells folded into the
 * family's totals under fold_mu.
 */
#ifndef LUMEN_METRICS_PREFORK_FOLD_H
#define LUMEN_METRICS_PREFORK_FOLD_H

#include "metrics/prefork_shm.h"

/* Under fold_mu: reclaim every slot whose process has exited; returns how
 * many. */
int lumen__pf_reclaim_locked(struct lumen_prefork *pf);
/* Repair after a reclaimer died holding fold_mu. */
void lumen__pf_repair_fold(struct lumen_prefork *pf);
/* Clear a slot's lanes (every cell reads 0 again). */
void lumen__pf_clear_lanes(struct lumen_prefork *pf, uint32_t w);

#endif
