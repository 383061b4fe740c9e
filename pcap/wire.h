/*
 * wire.h — big-endian field access for frame synthesis (internal to pcap/).
 *
 * Every field reaches the wire through these helpers, never by copying a host struct:
 * struct padding and host byte order must not leak into a capture. The plain getters
 * read from a buffer whose length the caller has already checked; PcapReader (untrusted
 * input) and PcapWriter (caller-sized output) check each access themselves.
 */
#ifndef VNETSIM_PCAP_WIRE_H
#define VNETSIM_PCAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void pcap__put8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

static inline void pcap__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pcap__put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void pcap__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t pcap__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pcap__get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A cursor over untrusted octets. Reads past the end fail and latch `bad`, so a
 * decoder can read a whole structure and test once (tcpdump's GET_ macros, without
 * the longjmp). */
typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool bad;
} PcapReader;

static inline bool pcap__rd_has(const PcapReader *r, size_t n)
{
    return !r->bad && r->pos <= r->len && n <= r->len - r->pos;
}

static inline uint8_t pcap__rd8(PcapReader *r)
{
    if (!pcap__rd_has(r, 1)) {
        r->bad = true;
        return 0;
    }
    return r->buf[r->pos++];
}

static inline uint16_t pcap__rd16(PcapReader *r)
{
    if (!pcap__rd_has(r, 2)) {
        r->bad = true;
        return 0;
    }
    uint16_t v = pcap__get16(r->buf + r->pos);
    r->pos += 2;
    return v;
}

static inline uint32_t pcap__rd32(PcapReader *r)
{
    if (!pcap__rd_has(r, 4)) {
        r->bad = true;
        return 0;
    }
    uint32_t v = pcap__get32(r->buf + r->pos);
    r->pos += 4;
    return v;
}

static inline void pcap__rd_skip(PcapReader *r, size_t n)
{
    if (!pcap__rd_has(r, n)) {
        r->bad = true;
        return;
    }
    r->pos += n;
}

/* A cursor that writes into buf[0..cap). A write that does not fit writes nothing and
 * latches `bad`, so a builder writes a whole message and tests once; a builder returns 0
 * when bad is set. Length-prefixed vectors (TLS, DNS RDATA) reserve their length field
 * with pcap__wr_mark() and fill it with pcap__wr_fill16/24() once the body is written. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t pos;
    bool bad;
} PcapWriter;

static inline uint8_t *pcap__wr_take(PcapWriter *w, size_t n)
{
    if (w->bad || n > w->cap - w->pos) {
        w->bad = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->pos;
    w->pos += n;
    return p;
}

static inline void pcap__wr8(PcapWriter *w, uint8_t v)
{
    uint8_t *p = pcap__wr_take(w, 1);
    if (p)
        pcap__put8(p, v);
}

static inline void pcap__wr16(PcapWriter *w, uint16_t v)
{
    uint8_t *p = pcap__wr_take(w, 2);
    if (p)
        pcap__put16(p, v);
}

static inline void pcap__wr32(PcapWriter *w, uint32_t v)
{
    uint8_t *p = pcap__wr_take(w, 4);
    if (p)
        pcap__put32(p, v);
}

static inline void pcap__wr_bytes(PcapWriter *w, const void *src, size_t n)
{
    uint8_t *p = pcap__wr_take(w, n);
    if (p && n)
        memcpy(p, src, n);
}

/* Reserves an n-octet length field and returns its offset. */
static inline size_t pcap__wr_mark(PcapWriter *w, size_t n)
{
    size_t at = w->pos;
    uint8_t *p = pcap__wr_take(w, n);
    if (p)
        memset(p, 0, n);
    return at;
}

/* Fills the 16-bit length field reserved at `mark` with the octets written since. */
static inline void pcap__wr_fill16(PcapWriter *w, size_t mark)
{
    if (w->bad)
        return;
    size_t n = w->pos - mark - 2;
    if (n > UINT16_MAX) {
        w->bad = true;
        return;
    }
    pcap__put16(w->buf + mark, (uint16_t)n);
}

static inline void pcap__wr_fill24(PcapWriter *w, size_t mark)
{
    if (w->bad)
        return;
    size_t n = w->pos - mark - 3;
    if (n > 0xffffffu) {
        w->bad = true;
        return;
    }
    pcap__put24(w->buf + mark, (uint32_t)n);
}

#endif
