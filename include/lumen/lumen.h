/*
 * lumen/lumen.h: the umbrella header of liblumen. What is not declared in
 * the headers it includes is not API: names with a `lumen__` prefix and
 * everything under src/ may change in any release.
 *
 * liblumen-http (the /metrics endpoint, console, Pushgateway and OTLP/HTTP
 * transport) has its own header, lumen/http.h, and its own library.
 */
#ifndef LUMEN_H
#define LUMEN_H

#include "lumen/common.h"
#include "lumen/limits.h"
#include "lumen/metrics.h"
#include "lumen/prefork.h"
#include "lumen/log.h"
#include "lumen/trace.h"
#include "lumen/otlp.h"
#include "lumen/crash.h"
#include "lumen/instrument.h"

#endif
