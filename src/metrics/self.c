/*
 * metrics/self.c: lumen_self_metrics_configure and the choice it records
 * for the log and trace layers' own families. See self.h.
 *
 * A group's choice is read once, when the layer registers its families;
 * from then on it is fixed (claimed), so that a family never moves to
 * another registry while handles to it are in use.
 */
#include <pthread.h>

#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"
#include "metrics/self.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static lumen_registry *g_registry; /* NULL: the default registry */
static uint32_t g_flags;
static bool g_claimed[2];
static _Atomic bool g_refused[2];

static const size_t options_sizes[] = {0, sizeof(lumen_self_metrics_options)};

LUMEN_API int lumen_self_metrics_options_init(lumen_self_metrics_options *opts,
                                              unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

static uint32_t group_flag(lumen__self_group g)
{
    return g == LUMEN__SELF_LOG ? LUMEN_SELF_METRICS_NO_LOG : LUMEN_SELF_METRICS_NO_TRACE;
}

LUMEN_API int lumen_self_metrics_configure(const lumen_self_metrics_options *opts)
{
    lumen_self_metrics_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes, LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK)
        return rc;
    pthread_mutex_lock(&g_mu);
    /* A claimed group keeps its registry and its on/off state. */
    for (int g = 0; g < 2 && rc == LUMEN_OK; g++)
        if (g_claimed[g] && (o.registry != g_registry ||
                             ((o.flags ^ g_flags) & group_flag((lumen__self_group)g)) != 0))
            rc = LUMEN_ESTATE;
    if (rc == LUMEN_OK) {
        g_registry = o.registry;
        g_flags = o.flags;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

lumen_registry *lumen__self_metrics_registry(lumen__self_group group)
{
    static const char *const names[] = {"log", "trace"};
    pthread_mutex_lock(&g_mu);
    g_claimed[group] = true;
    bool off = (g_flags & group_flag(group)) != 0;
    lumen_registry *reg = g_registry;
    pthread_mutex_unlock(&g_mu);
    if (off || !lumen__env_bool("LUMEN_SELF_METRICS", true))
        return NULL;
    if (reg == NULL && (reg = lumen_registry_default()) == NULL)
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: no default registry for the %s self-metrics",
                    names[group]);
    return reg;
}

void lumen__self_metrics_refused(lumen__self_group group, const char *name, int rc)
{
    static const char *const names[] = {"log", "trace"};
    if (atomic_exchange(&g_refused[group], true))
        return;
    lumen__diag_notice(LUMEN_DIAG_WARN,
                       "metrics: the %s self-metrics are off: %s could not be registered (%s)",
                       names[group], name, lumen_status_name(rc));
}
