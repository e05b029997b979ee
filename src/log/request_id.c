/*
 * log/request_id.c: the calling thread's request id, which every record it
 * logs carries (kept in core's per-thread context, core/tctx.h).
 */
#include <string.h>

#include "core/tctx.h"
#include "lumen/log.h"

int lumen_log_set_request_id(const char *id)
{
    lumen__tctx *c = lumen__tctx_get();
    size_t n = id != NULL ? strlen(id) : 0;
    if (n > LUMEN_LOG_REQUEST_ID_MAX) {
        c->request_id_len = 0;
        c->request_id[0] = '\0';
        return LUMEN_ETOOBIG;
    }
    if (n > 0)
        memcpy(c->request_id, id, n);
    c->request_id[n] = '\0';
    c->request_id_len = (uint8_t)n;
    return LUMEN_OK;
}

void lumen_log_clear_request_id(void)
{
    lumen__tctx *c = lumen__tctx_get();
    c->request_id_len = 0;
    c->request_id[0] = '\0';
}
