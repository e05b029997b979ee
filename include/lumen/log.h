/* lumen/log.h: placeholder until the log layer lands. */
#ifndef LUMEN_LOG_H
#define LUMEN_LOG_H
#include "lumen/common.h"
#endif
