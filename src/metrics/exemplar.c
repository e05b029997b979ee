/*
 * metrics/exemplar.c: exemplar slots. A slot is allocated on its first
 * exemplar and guarded by a one-word try-lock: an update that finds it
 * taken drops its exemplar instead of waiting, so the updating thread never
 * blocks; a render spins, since a writer holds the lock only for a copy.
 * The labels are validated and escaped when recorded, so a render copies
 * ready text. OpenMetrics limits names and values together to 128 code
 * points; a longer set is dropped (the update itself still counts).
 */
#include <sched.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/fastclock.h"
#include "core/hex.h"
#include "core/tctx.h"
#include "metrics/exemplar.h"
#include "metrics/names.h"

static lumen__exemplar *slot_get(_Atomic(lumen__exemplar *) *slot)
{
    lumen__exemplar *e = atomic_load_explicit(slot, memory_order_acquire);
    if (LUMEN_LIKELY(e != NULL))
        return e;
    lumen__exemplar *ne = lumen__calloc(1, sizeof *ne);
    if (ne == NULL)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &e, ne, memory_order_acq_rel,
                                                memory_order_acquire))
        return ne;
    lumen__free(ne, sizeof *ne);
    return e;
}

/* The slot's exemplar, locked; NULL when there is none (no memory) or
 * another writer holds it (skipped rather than waited for). */
static lumen__exemplar *slot_lock(_Atomic(lumen__exemplar *) *slot)
{
    lumen__exemplar *e = slot_get(slot);
    if (e == NULL)
        return NULL;
    int unlocked = 0;
    if (!atomic_compare_exchange_strong_explicit(&e->lock, &unlocked, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return NULL;
    return e;
}

static void store(_Atomic(lumen__exemplar *) *slot, double v, const char *text, size_t len)
{
    lumen__exemplar *e = slot_lock(slot);
    if (e == NULL)
        return;
    memcpy(e->labels, text, len);
    e->len = (uint16_t)len;
    e->value = v;
    e->ts_ns = lumen__now_fast(); /* a vDSO call cost more than the rest */
    e->set = true;
    atomic_store_explicit(&e->lock, 0, memory_order_release);
}

void lumen__exemplar_record(_Atomic(lumen__exemplar *) *slot, double v, const lumen_label *labels,
                            size_t n)
{
    if (n > 0 && labels == NULL)
        return;
    size_t runes = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i].name == NULL || labels[i].value == NULL)
            return;
        size_t nl = strlen(labels[i].name);
        if (!lumen__valid_label_name(labels[i].name, nl))
            return;
        runes += nl + lumen__utf8_count(labels[i].value, strlen(labels[i].value));
        if (runes > LUMEN__EXEMPLAR_RUNES)
            return;
    }
    char text[LUMEN__EXEMPLAR_BYTES];
    lumen__buf b;
    lumen__buf_fixed(&b, text, sizeof text);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            lumen__buf_putc(&b, ',');
        lumen__buf_puts(&b, labels[i].name);
        lumen__buf_add(&b, "=\"", 2);
        lumen__esc_label_value(&b, labels[i].value, strlen(labels[i].value));
        lumen__buf_putc(&b, '"');
    }
    if (b.oom)
        return;
    store(slot, v, text, b.len);
}

void lumen__exemplar_from_trace(_Atomic(lumen__exemplar *) *slot, double v)
{
    const lumen__tctx *t = lumen__tctx_get();
    lumen__exemplar *e = slot_lock(slot);
    if (e == NULL)
        return;
    /* Written in place, 70 bytes: every observation of a histogram with
     * exemplars from the trace comes here. */
    char *o = e->labels;
    memcpy(o, "trace_id=\"", 10);
    o += 10;
    lumen__hex(o, t->trace_id, sizeof t->trace_id);
    o += 2 * sizeof t->trace_id;
    memcpy(o, "\",span_id=\"", 11);
    o += 11;
    lumen__hex(o, t->span_id, sizeof t->span_id);
    o += 2 * sizeof t->span_id;
    *o++ = '"';
    e->len = (uint16_t)(o - e->labels);
    e->value = v;
    e->ts_ns = lumen__now_fast();
    e->set = true;
    atomic_store_explicit(&e->lock, 0, memory_order_release);
}

_Static_assert(10 + 32 + 11 + 16 + 1 <= LUMEN__EXEMPLAR_BYTES, "a trace exemplar fits");

bool lumen__exemplar_read(_Atomic(lumen__exemplar *) *slot, lumen__exemplar *out)
{
    lumen__exemplar *e = atomic_load_explicit(slot, memory_order_acquire);
    if (e == NULL)
        return false;
    int unlocked = 0;
    while (!atomic_compare_exchange_weak_explicit(&e->lock, &unlocked, 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
        unlocked = 0;
        sched_yield();
    }
    out->set = e->set;
    if (e->set) {
        out->len = e->len;
        out->value = e->value;
        out->ts_ns = e->ts_ns;
        memcpy(out->labels, e->labels, e->len);
    }
    atomic_store_explicit(&e->lock, 0, memory_order_release);
    return out->set;
}

void lumen__exemplar_free(_Atomic(lumen__exemplar *) *slot)
{
    lumen__free(atomic_load_explicit(slot, memory_order_relaxed), sizeof(lumen__exemplar));
}
