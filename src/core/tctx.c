/* core/tctx.c: storage for the per-thread correlation context. */
#include "core/tctx.h"

LUMEN_TLS lumen__tctx lumen__tctx_tls;
