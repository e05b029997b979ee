/*
 * core/status.c: status code names and messages, and the runtime version.
 * One table keeps the code, its name and its message together.
 */
#include "core/common.h"

#define LUMEN_STATUS_TABLE(X)                                                                      \
    X(LUMEN_OK, "success")                                                                         \
    X(LUMEN_ENOMEM, "out of memory")                                                               \
    X(LUMEN_EINVAL, "invalid argument")                                                            \
    X(LUMEN_EEXIST, "already registered")                                                          \
    X(LUMEN_ENOENT, "no such object")                                                              \
    X(LUMEN_EBADNAME, "invalid metric name")                                                       \
    X(LUMEN_EBADLABEL, "invalid label name")                                                       \
    X(LUMEN_ERESERVED, "reserved name")                                                            \
    X(LUMEN_ELABELCOUNT, "wrong number of label values")                                           \
    X(LUMEN_ELIMIT, "limit reached")                                                               \
    X(LUMEN_ETYPE, "wrong metric type")                                                            \
    X(LUMEN_ERANGE, "value out of range")                                                          \
    X(LUMEN_EIO, "input/output error")                                                             \
    X(LUMEN_ETIMEDOUT, "timed out")                                                                \
    X(LUMEN_ECONNREFUSED, "connection refused")                                                    \
    X(LUMEN_EHTTP, "HTTP error status")                                                            \
    X(LUMEN_EPARSE, "malformed input")                                                             \
    X(LUMEN_EBUSY, "busy")                                                                         \
    X(LUMEN_ESTATE, "invalid state for this call")                                                 \
    X(LUMEN_EFULL, "queue or buffer full")                                                         \
    X(LUMEN_ESYS, "system call failed")                                                            \
    X(LUMEN_ENOTSUP, "not supported")                                                              \
    X(LUMEN_ECONNECT, "could not connect")                                                         \
    X(LUMEN_EAUTH, "authentication failed")                                                        \
    X(LUMEN_ETLS, "TLS error")                                                                     \
    X(LUMEN_ECONFIG, "invalid configuration")                                                      \
    X(LUMEN_ETOOBIG, "too large")                                                                  \
    X(LUMEN_ESHUTDOWN, "shut down")                                                                \
    X(LUMEN_EVERSION, "unsupported struct version")

const char *lumen_strerror(int status)
{
    switch (status) {
#define X(code, msg)                                                                               \
    case code:                                                                                     \
        return msg;
        LUMEN_STATUS_TABLE(X)
#undef X
    default:
        return "unknown status";
    }
}

const char *lumen_status_name(int status)
{
    switch (status) {
#define X(code, msg)                                                                               \
    case code:                                                                                     \
        return #code;
        LUMEN_STATUS_TABLE(X)
#undef X
    default:
        return "LUMEN_UNKNOWN";
    }
}

const char *lumen_version(void)
{
    return LUMEN_VERSION_STRING;
}

int lumen_version_number(void)
{
    return LUMEN_VERSION_NUMBER;
}
