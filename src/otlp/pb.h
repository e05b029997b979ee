/*
 * otlp/pb.h: the protobuf wire writers the OTLP encoders share (proto.c
 * for traces, logs_proto.c for logs).
 *
 * A nested message's length comes before its bytes. Each message reserves
 * three bytes for its length varint (enough up to 2 MiB), is written in
 * place, then its length is filled in; a shorter varint shifts the body
 * left by one or two bytes and a longer one shifts it right. proto3 rules:
 * default values (0, empty) are omitted by the callers.
 */
#ifndef LUMEN_OTLP_PB_H
#define LUMEN_OTLP_PB_H

#include <string.h>

#include "core/buf.h"
#include "core/common.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
#define RESERVE 3

static inline void varint(lumen__buf *b, uint64_t v)
{
    if (!lumen__buf_reserve(b, 10))
        return;
    unsigned char *p = (unsigned char *)b->p + b->len;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    b->len += n;
}

static inline void tag(lumen__buf *b, unsigned field, unsigned wt)
{
    varint(b, ((uint64_t)field << 3) | wt);
}

static inline void bytes_field(lumen__buf *b, unsigned field, const void *p, size_t n)
{
    tag(b, field, WT_LEN);
    varint(b, n);
    lumen__buf_add(b, p, n);
}

static inline void str_field(lumen__buf *b, unsigned field, const char *s)
{
    if (s != NULL && *s != '\0')
        bytes_field(b, field, s, strlen(s));
}

static inline void fixed64_field(lumen__buf *b, unsigned field, uint64_t v)
{
    tag(b, field, WT_I64);
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    lumen__buf_add(b, le, 8);
}

static inline void fixed32_field(lumen__buf *b, unsigned field, uint32_t v)
{
    tag(b, field, WT_I32);
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    lumen__buf_add(b, le, 4);
}

static inline void uint_field(lumen__buf *b, unsigned field, uint64_t v)
{
    if (v != 0) {
        tag(b, field, WT_VARINT);
        varint(b, v);
    }
}

static inline size_t begin(lumen__buf *b, unsigned field)
{
    tag(b, field, WT_LEN);
    if (!lumen__buf_reserve(b, RESERVE))
        return 0;
    b->len += RESERVE;
    return b->len;
}

static inline void end(lumen__buf *b, size_t body)
{
    if (b->oom || body == 0)
        return;
    size_t n = b->len - body;
    unsigned char v[10];
    size_t k = 0;
    uint64_t x = n;
    while (x >= 0x80) {
        v[k++] = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    v[k++] = (unsigned char)x;
    char *hdr = b->p + body - RESERVE;
    if (k < RESERVE) {
        memmove(hdr + k, b->p + body, n);
        b->len -= RESERVE - k;
    } else if (k > RESERVE) {
        if (!lumen__buf_reserve(b, k - RESERVE))
            return;
        hdr = b->p + body - RESERVE;
        memmove(hdr + k, b->p + body, n);
        b->len += k - RESERVE;
    }
    memcpy(hdr, v, k);
    b->p[b->len] = '\0';
}

#endif
