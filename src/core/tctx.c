/* core/tctx.c: storage for the per-thread correlation context and the
 * process's log pid. */
#include "core/tctx.h"

LUMEN_TLS lumen__tctx lumen__tctx_tls;
_Atomic int32_t lumen__tctx_pid;
