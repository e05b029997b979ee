/*
 * log/level.h: level names both ways (level.c).
 */
#ifndef LUMEN_LOG_LEVEL_H
#define LUMEN_LOG_LEVEL_H

#include "core/common.h"

/* The level named by s[0..n) (any case; "warning" is warn, "off" is
 * LUMEN_LOG_OFF) into *out; false when it names none. */
bool lumen__log_level_parse_n(const char *s, size_t n, int *out);
/* The level's name in capitals ("INFO"), "UNKNOWN" for a number that is
 * no named level. */
const char *lumen__log_level_upper(int level);

#endif
