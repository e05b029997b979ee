/*
 * metrics/prefork_render.h: what a render of a pre-forked family's
 * registry shows (prefork_render.c): its shared families, summed over the
 * workers, and the family's own metrics.
 */
#ifndef LUMEN_METRICS_PREFORK_RENDER_H
#define LUMEN_METRICS_PREFORK_RENDER_H

#include "metrics/prefork_shm.h"

/* The family's own metrics (lumen_prefork_*), a collector of its registry. */
int lumen__pf_collect(lumen_collect_sink *sink, void *ud);
/* A render of the shared families (render.c, through the registry's
 * shared_ops): begin lists them in name
 * order (NULL: no memory); each is then rendered by index, under fold_mu;
 * end frees the list. */
typedef struct lumen__pf_render lumen__pf_render;
struct lumen__rctx;
lumen__pf_render *lumen__pf_render_begin(struct lumen_prefork *pf);
size_t lumen__pf_render_count(const lumen__pf_render *r);
const char *lumen__pf_render_name(const lumen__pf_render *r, size_t i);
void lumen__pf_render_family(lumen__pf_render *r, size_t i, struct lumen__rctx *c);
void lumen__pf_render_end(lumen__pf_render *r);

#endif
