/* lumen/trace.h: placeholder until the trace layer lands. */
#ifndef LUMEN_TRACE_H
#define LUMEN_TRACE_H
#include "lumen/common.h"
#endif
