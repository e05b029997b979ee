/*
 * metrics/registry.h: registries (registry.c): their families, the
 * names collectors declared, and their collectors.
 */
#ifndef LUMEN_METRICS_REGISTRY_H
#define LUMEN_METRICS_REGISTRY_H

#include "metrics/internal.h"

/* The registry of a handle (NULL: the default) with a reference taken,
 * or NULL when the handle is stale. Release with lumen__registry_put. */
lumen__registry *lumen__registry_get(lumen_registry *tok);
void lumen__registry_put(lumen__registry *r);
/* Insert a fully built family; refuses clashing names (LUMEN_EEXIST),
 * with registered families and with collectors' declared names. Its new
 * handle into *tok (read under the registry's lock: once it is unlocked
 * another thread may unregister and free the family). */
int lumen__registry_add(lumen__registry *reg, lumen__family *f, uintptr_t *tok);
/* Would `f` (built, not registered) clash with a family or a collector's
 * declared name of the registry? Pre-forked families (metrics/prefork.c)
 * are checked here, then kept outside the registry's list. */
bool lumen__registry_clashes(lumen__registry *r, const lumen__family *f);
/* Referenced copies of the registry's families, sorted by name (unref
 * each, free the array); NULL on allocation failure. */
lumen__family **lumen__registry_families(lumen__registry *r, size_t *n);

/* Build and register a family in the registry of handle `reg`; its handle
 * into *ftok and, for a family without labels, its only series' handle
 * into *only (either may be NULL). `opts` is complete (NULL: defaults).
 * Errors as lumen_family_new, and LUMEN_ENOENT for a stale registry
 * handle. */
int lumen__family_new(lumen_registry *reg, lumen_metric_type type, const char *name,
                      const lumen_family_options *opts, uintptr_t *ftok, uintptr_t *only);

/* The default registry's hook: registers the process collector unless the
 * environment says LUMEN_PROCESS_METRICS=false. Called once, when the
 * default registry is created. */
void lumen__process_collector_add_default(lumen_registry *reg);

#endif
