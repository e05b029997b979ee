/*
 * trace/current.h: the calling thread's current span (current.c), the
 * implicit parent of the spans it starts.
 */
#ifndef LUMEN_TRACE_CURRENT_H
#define LUMEN_TRACE_CURRENT_H

#include "core/common.h"
#include "trace/record.h"

extern LUMEN_TLS lumen_span *lumen__tls_current;

#endif
