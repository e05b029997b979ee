/* lumen/http.h: placeholder until liblumen-http lands. */
#ifndef LUMEN_HTTP_H
#define LUMEN_HTTP_H
#include "lumen/metrics.h"
#endif
