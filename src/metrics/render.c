/*
 * metrics/render.c: the two text expositions, Prometheus 0.0.4 and
 * OpenMetrics 1.0.0, of one or more registries.
 *
 * Order: families by name (registered and collected merged), children in
 * label order, so that the same state renders to the same bytes. Each
 * family is read from a snapshot: its children array (family.c) and one
 * read of every cell (lock-free: the cells are summed over the CPUs),
 * from which a histogram's cumulative buckets and its _count are derived,
 * so that its _count equals its +Inf bucket. No lock an update takes is
 * held at any time.
 *
 * Format differences kept here: a counter's TYPE names `x_total` in 0.0.4
 * and `x` in OpenMetrics (each the form its parsers and promtool accept
 * without lint); _created samples, UNIT, exemplars and `# EOF` are
 * OpenMetrics only; `le` and `quantile` values use Go's shortest form in
 * 0.0.4 and the canonical form ("1.0") in OpenMetrics; info is a gauge
 * `x_info` in 0.0.4; untyped is "unknown" in OpenMetrics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/escape.h"
#include "metrics/collect.h"
#include "metrics/exemplar.h"
#include "metrics/exphist.h"
#include "metrics/family.h"
#include "metrics/registry.h"
#include "metrics/render.h"
#include "metrics/render_pb.h"
#include "metrics/summary.h"

#define FLUSH_AT (64 * 1024)

struct lumen__rctx {
    lumen__buf out;
    lumen_write_fn write; /* NULL: keep everything in `out` */
    void *ud;
    bool om;
    bool pb; /* the protobuf exposition (render_pb.c) */
    int err;
    lumen__buf lab; /* the current child's label text */
    double *scratch;
    size_t scratch_n;
};
typedef struct lumen__rctx rctx;

static void flush(rctx *c, bool force)
{
    if (c->write == NULL || c->err != LUMEN_OK)
        return;
    if (c->out.oom) {
        c->err = LUMEN_ENOMEM;
        return;
    }
    if (c->out.len == 0 || (!force && c->out.len < FLUSH_AT))
        return;
    if (c->write(c->out.p, c->out.len, c->ud) != 0)
        c->err = LUMEN_EIO;
    c->out.len = 0;
}

static double *scratch(rctx *c, size_t n)
{
    if (n > c->scratch_n) {
        double *p = lumen__realloc(c->scratch, c->scratch_n * sizeof *p, n * sizeof *p);
        if (p == NULL)
            return NULL;
        c->scratch = p;
        c->scratch_n = n;
    }
    return c->scratch;
}

static const char *type_word(lumen_metric_type t, bool om)
{
    switch (t) {
    case LUMEN_METRIC_COUNTER:
        return "counter";
    case LUMEN_METRIC_GAUGE:
        return "gauge";
    case LUMEN_METRIC_HISTOGRAM:
        return "histogram";
    case LUMEN_METRIC_SUMMARY:
        return "summary";
    case LUMEN_METRIC_INFO:
        return om ? "info" : "gauge";
    default:
        return om ? "unknown" : "untyped";
    }
}

static void header(rctx *c, lumen_metric_type t, const char *name, const char *help,
                   const char *unit)
{
    lumen__buf *b = &c->out;
    /* The name the metadata lines carry. */
    const char *sfx = "";
    if (!c->om && t == LUMEN_METRIC_COUNTER)
        sfx = "_total";
    else if (!c->om && t == LUMEN_METRIC_INFO)
        sfx = "_info";
    if (c->om) {
        lumen__buf_add(b, "# TYPE ", 7);
        lumen__buf_puts(b, name);
        lumen__buf_putc(b, ' ');
        lumen__buf_puts(b, type_word(t, true));
        lumen__buf_putc(b, '\n');
        if (unit != NULL) {
            lumen__buf_add(b, "# UNIT ", 7);
            lumen__buf_puts(b, name);
            lumen__buf_putc(b, ' ');
            lumen__buf_puts(b, unit);
            lumen__buf_putc(b, '\n');
        }
    }
    if (help != NULL && help[0] != '\0') {
        lumen__buf_add(b, "# HELP ", 7);
        lumen__buf_puts(b, name);
        lumen__buf_puts(b, sfx);
        lumen__buf_putc(b, ' ');
        lumen__esc_help(b, help, strlen(help), c->om);
        lumen__buf_putc(b, '\n');
    }
    if (!c->om) {
        lumen__buf_add(b, "# TYPE ", 7);
        lumen__buf_puts(b, name);
        lumen__buf_puts(b, sfx);
        lumen__buf_putc(b, ' ');
        lumen__buf_puts(b, type_word(t, false));
        lumen__buf_putc(b, '\n');
    }
}

static void label(lumen__buf *b, const char *name, const char *value)
{
    if (b->len > 0)
        lumen__buf_putc(b, ',');
    lumen__buf_puts(b, name);
    lumen__buf_add(b, "=\"", 2);
    lumen__esc_label_value(b, value, strlen(value));
    lumen__buf_putc(b, '"');
}

/* The start of a sample line: name, suffix and labels (the current
 * child's, then one extra pair when `xname` is set), then a space. */
static void sample_start(rctx *c, const char *name, const char *sfx, const char *xname,
                         const char *xval, size_t xlen)
{
    lumen__buf *b = &c->out;
    lumen__buf_puts(b, name);
    lumen__buf_puts(b, sfx);
    if (c->lab.len > 0 || xname != NULL) {
        lumen__buf_putc(b, '{');
        lumen__buf_add(b, c->lab.p, c->lab.len);
        if (xname != NULL) {
            if (c->lab.len > 0)
                lumen__buf_putc(b, ',');
            lumen__buf_puts(b, xname);
            lumen__buf_add(b, "=\"", 2);
            lumen__buf_add(b, xval, xlen);
            lumen__buf_putc(b, '"');
        }
        lumen__buf_putc(b, '}');
    }
    lumen__buf_putc(b, ' ');
}

static void seconds(lumen__buf *b, int64_t ns)
{
    /* Seconds as a realnumber, with the nanoseconds kept to the precision
     * a double holds. */
    lumen__buf_double(b, (double)ns / 1e9);
}

static void exemplar(rctx *c, _Atomic(lumen__exemplar *) *slot)
{
    lumen__exemplar e;
    if (!c->om || slot == NULL || !lumen__exemplar_read(slot, &e))
        return;
    lumen__buf *b = &c->out;
    lumen__buf_add(b, " # {", 4);
    lumen__buf_add(b, e.labels, e.len);
    lumen__buf_add(b, "} ", 2);
    lumen__buf_double(b, e.value);
    lumen__buf_putc(b, ' ');
    seconds(b, e.ts_ns);
}

static void end_value(rctx *c, double v)
{
    lumen__buf_double(&c->out, v);
    lumen__buf_putc(&c->out, '\n');
}

static void created(rctx *c, const lumen__family *f, const lumen__child *ch)
{
    if (!c->om || (f->flags & LUMEN_FAMILY_NO_CREATED))
        return;
    sample_start(c, f->name, "_created", NULL, NULL, 0);
    seconds(&c->out, ch->created_ns);
    lumen__buf_putc(&c->out, '\n');
}

/* ---- the writer for families render.c does not own (render.h) ---------- */

bool lumen__rctx_om(const rctx *c)
{
    return c->om;
}

void lumen__rctx_header(rctx *c, lumen_metric_type t, const char *name, const char *help,
                        const char *unit)
{
    header(c, t, name, help, c->om ? unit : NULL);
}

void lumen__rctx_labels(rctx *c, const lumen_label *l, size_t n)
{
    c->lab.len = 0;
    for (size_t i = 0; i < n; i++)
        label(&c->lab, l[i].name, l[i].value);
    if (c->lab.oom)
        c->out.oom = true;
}

void lumen__rctx_sample(rctx *c, const char *name, const char *sfx, const char *xname,
                        const char *xval, double v)
{
    sample_start(c, name, sfx, xname, xval, xval ? strlen(xval) : 0);
    end_value(c, v);
}

void lumen__rctx_sample_u64(rctx *c, const char *name, const char *sfx, const char *xname,
                            const char *xval, uint64_t v)
{
    sample_start(c, name, sfx, xname, xval, xval ? strlen(xval) : 0);
    lumen__buf_u64(&c->out, v);
    lumen__buf_putc(&c->out, '\n');
}

void lumen__rctx_created(rctx *c, const char *name, int64_t ns)
{
    if (!c->om)
        return;
    sample_start(c, name, "_created", NULL, NULL, 0);
    seconds(&c->out, ns);
    lumen__buf_putc(&c->out, '\n');
}

int lumen__rctx_next(rctx *c)
{
    flush(c, false);
    return c->err;
}

void lumen__rctx_fail(rctx *c, int err)
{
    if (c->err == LUMEN_OK)
        c->err = err;
}

static void child_labels(rctx *c, const lumen__family *f, const lumen__child *ch)
{
    c->lab.len = 0;
    if (c->lab.p != NULL)
        c->lab.p[0] = '\0';
    for (size_t i = 0; i < f->nconst; i++)
        label(&c->lab, f->const_names[i], f->const_values[i]);
    const char *v = ch ? ch->values : NULL;
    for (size_t i = 0; ch && i < f->nlabels; i++) {
        label(&c->lab, f->label_names[i], v);
        v += strlen(v) + 1;
    }
    if (c->lab.oom)
        c->out.oom = true;
}

/* Values of every child's `per` cells, the last `nf` of them doubles,
 * in one pass. */
static double *read_cells(rctx *c, lumen__child **ch, size_t n, size_t per, size_t nf)
{
    double *v = scratch(c, n * per + 1);
    uint64_t u[LUMEN__MAX_BUCKETS + 2];
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        double *o = v + i * per;
        uint32_t nu = (uint32_t)(per - nf);
        lumen__cells_read_u64(ch[i]->cell, nu, u);
        for (uint32_t k = 0; k < nu; k++)
            o[k] = (double)u[k];
        for (uint32_t k = nu; k < per; k++)
            o[k] = lumen__cells_read_f64(ch[i]->cell + k);
    }
    return v;
}

static void render_histogram(rctx *c, lumen__family *f, lumen__child **ch, size_t n)
{
    size_t nb = f->nbuckets, per = nb + 2;
    double *v = read_cells(c, ch, n, per, 1);
    char(*le)[LUMEN__DBL_MAX + 2] = lumen__malloc((nb + 1) * sizeof *le);
    size_t *lelen = lumen__malloc((nb + 1) * sizeof *lelen);
    if (v == NULL || le == NULL || lelen == NULL) {
        c->err = LUMEN_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nb; i++)
        lelen[i] = c->om ? lumen__fmt_double_canonical(le[i], f->buckets[i])
                         : lumen__fmt_double_go(le[i], f->buckets[i]);
    lelen[nb] = lumen__fmt_double(le[nb], INFINITY);
    /* A native-only histogram's +Inf cell holds what its native buckets
     * could not; its total adds theirs (metrics/exphist.h). */
    for (size_t k = 0; f->hkind == LUMEN_HISTOGRAM_NATIVE && k < n; k++)
        v[k * per + nb] += (double)lumen__exphist_count(ch[k]->native);
    for (size_t k = 0; k < n && c->err == LUMEN_OK; k++) {
        child_labels(c, f, ch[k]);
        const double *cv = v + k * per;
        _Atomic(lumen__exemplar *) *hex =
            c->om ? atomic_load_explicit(&ch[k]->u.hex, memory_order_acquire) : NULL;
        uint64_t cum = 0;
        for (size_t i = 0; i <= nb; i++) {
            cum += (uint64_t)cv[i];
            sample_start(c, f->name, "_bucket", "le", le[i], lelen[i]);
            lumen__buf_u64(&c->out, cum);
            exemplar(c, hex ? &hex[i] : NULL);
            lumen__buf_putc(&c->out, '\n');
        }
        sample_start(c, f->name, "_sum", NULL, NULL, 0);
        end_value(c, cv[nb + 1]);
        sample_start(c, f->name, "_count", NULL, NULL, 0);
        lumen__buf_u64(&c->out, cum);
        lumen__buf_putc(&c->out, '\n');
        created(c, f, ch[k]);
        flush(c, false);
    }
out:
    lumen__free(le, (nb + 1) * sizeof *le);
    lumen__free(lelen, (nb + 1) * sizeof *lelen);
}

static void render_summary(rctx *c, lumen__family *f, lumen__child **ch, size_t n)
{
    double q[LUMEN__MAX_QUANTILES];
    char qs[LUMEN__MAX_QUANTILES][LUMEN__DBL_MAX + 2];
    size_t ql[LUMEN__MAX_QUANTILES];
    for (size_t i = 0; i < f->nquantiles; i++)
        ql[i] = c->om ? lumen__fmt_double_canonical(qs[i], f->quantiles[i])
                      : lumen__fmt_double_go(qs[i], f->quantiles[i]);
    for (size_t k = 0; k < n && c->err == LUMEN_OK; k++) {
        uint64_t count;
        double sum;
        lumen__summary_read(ch[k]->u.sum, f, &count, &sum, q);
        child_labels(c, f, ch[k]);
        for (size_t i = 0; i < f->nquantiles; i++) {
            sample_start(c, f->name, "", "quantile", qs[i], ql[i]);
            end_value(c, q[i]);
        }
        sample_start(c, f->name, "_sum", NULL, NULL, 0);
        end_value(c, sum);
        sample_start(c, f->name, "_count", NULL, NULL, 0);
        lumen__buf_u64(&c->out, count);
        lumen__buf_putc(&c->out, '\n');
        created(c, f, ch[k]);
        flush(c, false);
    }
}

static void render_family(rctx *c, lumen__family *f)
{
    header(c, f->type, f->name, f->help, c->om ? f->unit : NULL);
    if (f->fn != NULL) {
        child_labels(c, f, NULL);
        sample_start(c, f->name, "", NULL, NULL, 0);
        end_value(c, f->fn(f->fn_ud));
        return;
    }
    size_t n;
    lumen__child **ch = lumen__family_snapshot(f, &n);
    if (ch == NULL) {
        c->err = LUMEN_ENOMEM;
        return;
    }
    switch (f->type) {
    case LUMEN_METRIC_COUNTER: {
        double *v = read_cells(c, ch, n, 2, 1);
        if (v == NULL) {
            c->err = LUMEN_ENOMEM;
            break;
        }
        for (size_t k = 0; k < n && c->err == LUMEN_OK; k++) {
            child_labels(c, f, ch[k]);
            sample_start(c, f->name, "_total", NULL, NULL, 0);
            lumen__buf_double(&c->out, v[2 * k] + v[2 * k + 1]);
            exemplar(c, &ch[k]->u.ex);
            lumen__buf_putc(&c->out, '\n');
            created(c, f, ch[k]);
            flush(c, false);
        }
        break;
    }
    case LUMEN_METRIC_GAUGE:
        for (size_t k = 0; k < n && c->err == LUMEN_OK; k++) {
            child_labels(c, f, ch[k]);
            sample_start(c, f->name, "", NULL, NULL, 0);
            end_value(c,
                      lumen__bits_f64(atomic_load_explicit(&ch[k]->u.gauge, memory_order_relaxed)));
            flush(c, false);
        }
        break;
    case LUMEN_METRIC_HISTOGRAM:
        render_histogram(c, f, ch, n);
        break;
    case LUMEN_METRIC_SUMMARY:
        render_summary(c, f, ch, n);
        break;
    case LUMEN_METRIC_INFO:
        for (size_t k = 0; k < n; k++) {
            child_labels(c, f, ch[k]);
            sample_start(c, f->name, "_info", NULL, NULL, 0);
            end_value(c, 1);
        }
        break;
    default:
        break;
    }
    lumen__family_snapshot_end(f, ch);
}

static void render_collected(rctx *c, const lumen_collect_sink *s, const lumen__cfam *f)
{
    const char *name = lumen__sink_str(s, f->name);
    header(c, f->type, name, lumen__sink_str(s, f->help),
           c->om ? lumen__sink_str(s, f->unit) : NULL);
    for (size_t i = 0; i < f->n; i++) {
        const lumen__csample *x = &s->samples[f->first + i];
        if (!c->om && x->suffix == SFX_CREATED)
            continue;
        c->lab.len = 0;
        const char *p = s->arena.p + x->labels;
        for (size_t k = 0; k < x->nlabels; k++) {
            const char *ln = p;
            p += strlen(p) + 1;
            const char *lv = p;
            p += strlen(p) + 1;
            if (strcmp(ln, "le") == 0 || strcmp(ln, "quantile") == 0) {
                /* Canonical number forms for the format, when parseable. */
                double d;
                char tmp[LUMEN__DBL_MAX + 2];
                if (lumen__parse_double(lv, &d)) {
                    if (c->om)
                        lumen__fmt_double_canonical(tmp, d);
                    else
                        lumen__fmt_double_go(tmp, d);
                    lv = tmp;
                    label(&c->lab, ln, lv);
                    continue;
                }
            }
            label(&c->lab, ln, lv);
        }
        if (c->lab.oom)
            c->out.oom = true;
        sample_start(c, name, lumen__sfx_text(x->suffix), NULL, NULL, 0);
        /* Integral values print without a decimal point, as OpenMetrics
         * wants for counts. */
        end_value(c, x->value);
    }
}

/* ---- the whole exposition -------------------------------------------- */

typedef struct item {
    const char *name;
    lumen__family *fam; /* registered, or NULL */
    size_t sink, cfam;  /* collected: sink index, family index */
    size_t order;       /* registry, then position: keeps the first */
    void *shared;       /* a pre-forked family's render (its registry's shared_ops), or NULL */
    const lumen__shared_ops *ops;
} item;

static int cmp_item(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    int r = strcmp(a->name, b->name);
    if (r != 0)
        return r;
    return a->order < b->order ? -1 : a->order > b->order;
}

#define OVERFLOW_HELP                                                                              \
    "Label sets sent to a family's overflow series because it held its series limit."

static void overflow_pb(rctx *c, item *items, size_t nitems)
{
    const char **names = lumen__calloc(nitems + 1, sizeof *names);
    double *v = lumen__calloc(nitems + 1, sizeof *v);
    size_t n = 0;
    if (names == NULL || v == NULL) {
        c->err = LUMEN_ENOMEM;
    } else {
        for (size_t i = 0; i < nitems; i++) {
            lumen__family *f = items[i].fam;
            uint64_t o = f ? lumen__family_overflows(f) : 0;
            if (o > 0) {
                names[n] = f->name;
                v[n++] = (double)o;
            }
        }
        lumen__pb_counter_family(&c->out, LUMEN__OVERFLOW_FAMILY, OVERFLOW_HELP, "family", names, v,
                                 n);
    }
    lumen__free(names, (nitems + 1) * sizeof *names);
    lumen__free(v, (nitems + 1) * sizeof *v);
}

static void render_overflow(rctx *c, item *items, size_t nitems)
{
    bool any = false;
    for (size_t i = 0; i < nitems; i++) {
        if (strcmp(items[i].name, LUMEN__OVERFLOW_FAMILY) == 0)
            return; /* a family of that name exists: it wins */
        any = any || (items[i].fam && lumen__family_overflows(items[i].fam) > 0);
    }
    if (!any)
        return;
    if (c->pb) {
        overflow_pb(c, items, nitems);
        return;
    }
    header(c, LUMEN_METRIC_COUNTER, LUMEN__OVERFLOW_FAMILY, OVERFLOW_HELP, NULL);
    for (size_t i = 0; i < nitems; i++) {
        lumen__family *f = items[i].fam;
        uint64_t o = f ? lumen__family_overflows(f) : 0;
        if (o == 0)
            continue;
        c->lab.len = 0;
        label(&c->lab, "family", f->name);
        sample_start(c, LUMEN__OVERFLOW_FAMILY, "_total", NULL, NULL, 0);
        lumen__buf_u64(&c->out, o);
        lumen__buf_putc(&c->out, '\n');
    }
}

static int render_all(rctx *c, lumen__registry *const *regs, size_t nregs)
{
    lumen__family ***fams = lumen__calloc(nregs, sizeof *fams);
    size_t *nf = lumen__calloc(nregs, sizeof *nf);
    lumen_collect_sink *sinks = lumen__calloc(nregs, sizeof *sinks);
    /* A pre-forked family's registry renders its shared families from
     * shared memory, locked against reclaiming until the end. */
    void **shared = lumen__calloc(nregs, sizeof *shared);
    item *items = NULL;
    size_t nitems = 0, total = 0;
    if (fams == NULL || nf == NULL || sinks == NULL || shared == NULL)
        goto nomem;
    for (size_t r = 0; r < nregs; r++) {
        lumen__sink_init(&sinks[r]);
        if ((fams[r] = lumen__registry_families(regs[r], &nf[r])) == NULL)
            goto nomem;
        lumen__sink_collect(&sinks[r], regs[r], fams[r], nf[r]);
        total += nf[r] + sinks[r].nfams;
        bool again = false; /* the same registry twice: rendered from the first */
        for (size_t j = 0; j < r; j++)
            again = again || regs[j]->prefork == regs[r]->prefork;
        if (regs[r]->prefork != NULL && !again) {
            if ((shared[r] = regs[r]->shared_ops->render_begin(regs[r]->prefork)) == NULL)
                goto nomem;
            total += regs[r]->shared_ops->render_count(shared[r]);
        }
    }
    if ((items = lumen__malloc((total + 1) * sizeof *items)) == NULL)
        goto nomem;
    for (size_t r = 0; r < nregs; r++) {
        /* The index is read before the increment: in one expression the
         * two would be unsequenced. */
        for (size_t i = 0; i < nf[r]; i++, nitems++)
            items[nitems] = (item){fams[r][i]->name, fams[r][i], 0, 0, nitems, NULL, NULL};
        for (size_t i = 0; i < sinks[r].nfams; i++, nitems++)
            items[nitems] = (item){
                lumen__sink_str(&sinks[r], sinks[r].fams[i].name), NULL, r, i, nitems, NULL, NULL};
        const lumen__shared_ops *ops = regs[r]->shared_ops;
        for (size_t i = 0; shared[r] && i < ops->render_count(shared[r]); i++, nitems++)
            items[nitems] =
                (item){ops->render_name(shared[r], i), NULL, 0, i, nitems, shared[r], ops};
    }
    qsort(items, nitems, sizeof *items, cmp_item);
    bool overflow_done = false;
    for (size_t i = 0; i < nitems && c->err == LUMEN_OK; i++) {
        if (i > 0 && strcmp(items[i].name, items[i - 1].name) == 0)
            continue; /* a name in two registries: the first one wins */
        if (!overflow_done && strcmp(items[i].name, LUMEN__OVERFLOW_FAMILY) > 0) {
            render_overflow(c, items, nitems);
            overflow_done = true;
        }
        if (c->pb && items[i].fam != NULL)
            lumen__pb_family(&c->out, items[i].fam);
        else if (c->pb && items[i].shared == NULL)
            lumen__pb_collected(&c->out, &sinks[items[i].sink],
                                &sinks[items[i].sink].fams[items[i].cfam]);
        else if (items[i].fam != NULL)
            render_family(c, items[i].fam);
        else if (items[i].shared != NULL)
            items[i].ops->render_family(items[i].shared, items[i].cfam, c);
        else
            render_collected(c, &sinks[items[i].sink], &sinks[items[i].sink].fams[items[i].cfam]);
        flush(c, false);
    }
    if (!overflow_done && c->err == LUMEN_OK)
        render_overflow(c, items, nitems);
    if (c->om)
        lumen__buf_add(&c->out, "# EOF\n", 6);
    if (c->out.oom && c->err == LUMEN_OK)
        c->err = LUMEN_ENOMEM;
    flush(c, true);
    goto out;
nomem:
    c->err = LUMEN_ENOMEM;
out:
    lumen__free(items, (total + 1) * sizeof *items);
    for (size_t r = 0; sinks && fams && nf && r < nregs; r++) {
        for (size_t i = 0; fams[r] && i < nf[r]; i++)
            lumen__family_unref(fams[r][i]);
        lumen__free(fams[r], (nf[r] ? nf[r] : 1) * sizeof **fams);
        lumen__sink_free(&sinks[r]);
    }
    for (size_t r = 0; shared && r < nregs; r++)
        if (shared[r] != NULL)
            regs[r]->shared_ops->render_end(shared[r]);
    lumen__free(shared, nregs * sizeof *shared);
    lumen__free(fams, nregs * sizeof *fams);
    lumen__free(nf, nregs * sizeof *nf);
    lumen__free(sinks, nregs * sizeof *sinks);
    return c->err;
}

static int render(lumen__registry *const *regs, size_t n, lumen_format format, lumen_write_fn write,
                  void *ud, char **str, size_t *len)
{
    if (format != LUMEN_FORMAT_PROMETHEUS && format != LUMEN_FORMAT_OPENMETRICS &&
        format != LUMEN_FORMAT_PROTOBUF)
        return LUMEN_EINVAL;
    /* A pre-forked family's shared families render through the text
     * writer only (render.h): its registries have no protobuf form. */
    for (size_t i = 0; i < n && format == LUMEN_FORMAT_PROTOBUF; i++)
        if (regs[i]->prefork != NULL)
            return LUMEN_ENOTSUP;
    rctx c = {.out = LUMEN__BUF_INIT,
              .write = write,
              .ud = ud,
              .om = format == LUMEN_FORMAT_OPENMETRICS,
              .pb = format == LUMEN_FORMAT_PROTOBUF,
              .lab = LUMEN__BUF_INIT};
    if (!lumen__buf_reserve(&c.out, write ? FLUSH_AT + 4096 : 4096) ||
        !lumen__buf_reserve(&c.lab, 256)) {
        c.err = LUMEN_ENOMEM;
    } else {
        render_all(&c, regs, n);
    }
    if (c.err == LUMEN_OK && str != NULL)
        *str = lumen__buf_steal(&c.out, len);
    lumen__buf_free(&c.out);
    lumen__buf_free(&c.lab);
    lumen__free(c.scratch, c.scratch_n * sizeof *c.scratch);
    return c.err;
}

/* Render the registries of handles regs[0..n) (NULL: the default). */
static int render_handles(lumen_registry *const *regs, size_t n, lumen_format format,
                          lumen_write_fn write, void *ud, char **str, size_t *len)
{
    lumen__registry *r[LUMEN_RENDER_MAX_REGISTRIES];
    if (n > LUMEN_ARRAY_LEN(r))
        return LUMEN_EINVAL;
    int rc = LUMEN_OK;
    size_t got = 0;
    for (; got < n; got++)
        if ((r[got] = lumen__registry_get(regs[got])) == NULL) {
            rc = LUMEN_ENOENT;
            break;
        }
    if (rc == LUMEN_OK)
        rc = render(r, n, format, write, ud, str, len);
    for (size_t i = 0; i < got; i++)
        lumen__registry_put(r[i]);
    return rc;
}

LUMEN_API int lumen_registry_render(lumen_registry *reg, lumen_format format, lumen_write_fn write,
                                    void *ud)
{
    if (write == NULL)
        return LUMEN_EINVAL;
    return render_handles(&reg, 1, format, write, ud, NULL, NULL);
}

LUMEN_API int lumen_registry_render_string(char **out, size_t *out_len, lumen_registry *reg,
                                           lumen_format format)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    return render_handles(&reg, 1, format, NULL, NULL, out, out_len);
}

LUMEN_API int lumen_registries_render(lumen_registry *const *regs, size_t n, lumen_format format,
                                      lumen_write_fn write, void *ud)
{
    if (write == NULL || (n > 0 && regs == NULL))
        return LUMEN_EINVAL;
    return render_handles(regs, n, format, write, ud, NULL, NULL);
}
