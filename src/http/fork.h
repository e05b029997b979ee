/*
 * http/fork.h: liblumen-http's own count of fork()s, so that state tied to
 * the parent (a libcurl handle's cached connections) is renewed in the
 * child without reading liblumen's private id generator.
 */
#ifndef LUMEN_HTTP_FORK_H
#define LUMEN_HTTP_FORK_H

#include "core/common.h"

/* How many times this process descends from a fork() since the first call
 * (which installs the counting handler). Thread-safe. */
unsigned lumen__http_fork_generation(void);

#endif
