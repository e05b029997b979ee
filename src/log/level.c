/*
 * log/level.c: level names both ways: lumen_log_level_name,
 * lumen_log_level_parse and the capitals some formats and presets write.
 */
#include "log/level.h"

#include <string.h>

#include "core/env.h"
#include "lumen/log.h"

static const struct {
    const char *name;
    int level;
} LEVELS[] = {
    {"trace", LUMEN_LOG_TRACE}, {"debug", LUMEN_LOG_DEBUG},  {"info", LUMEN_LOG_INFO},
    {"warn", LUMEN_LOG_WARN},   {"warning", LUMEN_LOG_WARN}, {"error", LUMEN_LOG_ERROR},
    {"fatal", LUMEN_LOG_FATAL}, {"off", LUMEN_LOG_OFF},
};

const char *lumen_log_level_name(lumen_log_level level)
{
    switch ((int)level) {
    case LUMEN_LOG_TRACE:
        return "trace";
    case LUMEN_LOG_DEBUG:
        return "debug";
    case LUMEN_LOG_INFO:
        return "info";
    case LUMEN_LOG_WARN:
        return "warn";
    case LUMEN_LOG_ERROR:
        return "error";
    case LUMEN_LOG_FATAL:
        return "fatal";
    case LUMEN_LOG_OFF:
        return "off";
    default:
        return "unknown";
    }
}

const char *lumen__log_level_upper(int level)
{
    switch (level) {
    case LUMEN_LOG_TRACE:
        return "TRACE";
    case LUMEN_LOG_DEBUG:
        return "DEBUG";
    case LUMEN_LOG_INFO:
        return "INFO";
    case LUMEN_LOG_WARN:
        return "WARN";
    case LUMEN_LOG_ERROR:
        return "ERROR";
    case LUMEN_LOG_FATAL:
        return "FATAL";
    default:
        return "UNKNOWN";
    }
}

bool lumen__log_level_parse_n(const char *s, size_t n, int *out)
{
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(LEVELS); i++) {
        if (lumen__strieq(s, n, LEVELS[i].name)) {
            *out = LEVELS[i].level;
            return true;
        }
    }
    return false;
}

int lumen_log_level_parse(lumen_log_level *out, const char *name)
{
    int l;
    if (name == NULL || out == NULL || !lumen__log_level_parse_n(name, strlen(name), &l))
        return LUMEN_EINVAL;
    *out = (lumen_log_level)l;
    return LUMEN_OK;
}
