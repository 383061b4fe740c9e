/*
 * \summary: DNS messages, encoded with name compression and decoded with bounds checks
 *
 * specification: RFC 1035 (4.1 format, 4.1.4 compression), RFC 3596 (AAAA),
 *                RFC 4343 2.1 (escaping binary label octets)
 *
 *   Header (4.1.1):
 *                                   1  1  1  1  1  1
 *     0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                      ID                       |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                    QDCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                    ANCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                    NSCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                    ARCOUNT                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 *   Question (4.1.2): QNAME, QTYPE (16), QCLASS (16)
 *
 *   Resource record (4.1.3):
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   /                     NAME                      /
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |            TYPE           |       CLASS       |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                      TTL (32)                 |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                   RDLENGTH                    |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--|
 *   /                     RDATA                     /
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 *   A name is a sequence of labels (length octet 0..63, then the octets), ending either
 *   in the root label (0) or in a pointer to a suffix written earlier (4.1.4):
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   | 1  1|                OFFSET                   |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 */
#include "pcap/dns.h"

#include <string.h>

#include "pcap/wire.h"

#define HEADER_LEN    12u
#define CLASS_IN      1u
#define LABEL_MAX     63u
#define NAME_WIRE_MAX 255u
#define POINTER_MASK  0xc0u
#define POINTER_MAX   0x3fffu
#define MAX_SUFFIXES  64u
#define MAX_NAME_HOPS 128

typedef struct {
    uint16_t value;
    const char *name;
} NameEntry;

#define NAME_ENTRY_(name, value, text) {value, text},
static const NameEntry type_names[] = {PCAP_DNS_TYPE_LIST(NAME_ENTRY_){0, NULL}};
static const NameEntry rcode_names[] = {PCAP_DNS_RCODE_LIST(NAME_ENTRY_){0, NULL}};
#undef NAME_ENTRY_

static const char *lookup(const NameEntry *table, uint16_t value)
{
    for (; table->name; table++)
        if (table->value == value)
            return table->name;
    return NULL;
}

const char *pcap_dns_type_name(uint16_t type)
{
    return lookup(type_names, type);
}

const char *pcap_dns_rcode_name(uint8_t rcode)
{
    return lookup(rcode_names, rcode);
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef struct {
    PcapWriter w;
    uint16_t suffix[MAX_SUFFIXES]; /* offsets where an uncompressed label run starts */
    size_t n_suffix;
} Encoder;

/* Length of `name` without its optional trailing dot, or -1 when it is not a valid name
 * (empty label, label over 63 octets, over 255 octets on the wire). */
static long name_text_len(const char *name)
{
    if (!name)
        return -1;
    size_t n = strnlen(name, NAME_WIRE_MAX + 1);
    if (n && name[n - 1] == '.')
        n--;
    /* Each label costs its length plus one, the root one more: text + 2 octets. */
    if (n && n + 2 > NAME_WIRE_MAX)
        return -1;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] != '.') {
            if (++label > LABEL_MAX)
                return -1;
            continue;
        }
        if (label == 0)
            return -1;
        label = 0;
    }
    if (n && label == 0)
        return -1;
    return (long)n;
}

/* True when the name written at msg[off] (our own output, so pointers lead backward)
 * spells text[0..text_len). */
static bool wire_name_equals(const uint8_t *msg, size_t end, size_t off, const char *text,
                             size_t text_len)
{
    size_t t = 0;
    for (int hops = 0; hops < MAX_NAME_HOPS;) {
        if (off >= end)
            return false;
        uint8_t c = msg[off];
        if ((c & POINTER_MASK) == POINTER_MASK) {
            if (end - off < 2)
                return false;
            off = (size_t)(c & 0x3fu) << 8 | msg[off + 1];
            hops++;
            continue;
        }
        if (c == 0)
            return t == text_len;
        if (c > end - off - 1)
            return false;
        if (t > 0) {
            if (t >= text_len || text[t] != '.')
                return false;
            t++;
        }
        if (c > text_len - t || memcmp(msg + off + 1, text + t, c) != 0)
            return false;
        t += c;
        off += 1u + c;
    }
    return false;
}

static void put_name(Encoder *e, const char *name)
{
    long valid = name_text_len(name);
    if (valid < 0) {
        e->w.bad = true;
        return;
    }
    size_t n = (size_t)valid;
    for (size_t t = 0; t < n && !e->w.bad;) {
        for (size_t i = 0; i < e->n_suffix; i++) {
            if (wire_name_equals(e->w.buf, e->w.pos, e->suffix[i], name + t, n - t)) {
                pcap__wr16(&e->w, (uint16_t)(0xc000u | e->suffix[i]));
                return;
            }
        }
        if (e->w.pos <= POINTER_MAX && e->n_suffix < MAX_SUFFIXES)
            e->suffix[e->n_suffix++] = (uint16_t)e->w.pos;
        const char *dot = memchr(name + t, '.', n - t);
        size_t label = dot ? (size_t)(dot - (name + t)) : n - t;
        pcap__wr8(&e->w, (uint8_t)label);
        pcap__wr_bytes(&e->w, name + t, label);
        t += label + 1;
    }
    pcap__wr8(&e->w, 0);
}

static void put_record(Encoder *e, const PcapDnsRecord *rr)
{
    put_name(e, rr->name);
    pcap__wr16(&e->w, rr->type);
    pcap__wr16(&e->w, CLASS_IN);
    pcap__wr32(&e->w, rr->ttl);
    size_t rdlength = pcap__wr_mark(&e->w, 2);
    switch (rr->type) {
    case PCAP_DNS_A:
        pcap__wr32(&e->w, rr->a);
        break;
    case PCAP_DNS_AAAA:
        pcap__wr_bytes(&e->w, rr->aaaa, sizeof rr->aaaa);
        break;
    case PCAP_DNS_CNAME:
        put_name(e, rr->target); /* fails on NULL */
        break;
    default:
        e->w.bad = true;
        return;
    }
    pcap__wr_fill16(&e->w, rdlength);
}

size_t pcap_dns_encode(const PcapDnsMessage *msg, uint8_t *buf, size_t cap)
{
    if (!msg || !buf || msg->rcode > 15 || msg->n_answers > UINT16_MAX ||
        (msg->n_answers && !msg->answers))
        return 0;
    Encoder e = {.w = {.buf = buf, .cap = cap}};
    uint16_t flags = (uint16_t)((msg->response ? 0x8000u : 0) | (msg->aa ? 0x0400u : 0) |
                                (msg->rd ? 0x0100u : 0) | (msg->ra ? 0x0080u : 0) | msg->rcode);
    pcap__wr16(&e.w, msg->id);
    pcap__wr16(&e.w, flags);
    pcap__wr16(&e.w, msg->qname ? 1 : 0);
    pcap__wr16(&e.w, (uint16_t)msg->n_answers);
    pcap__wr16(&e.w, 0);
    pcap__wr16(&e.w, 0);
    if (msg->qname) {
        put_name(&e, msg->qname);
        pcap__wr16(&e.w, msg->qtype);
        pcap__wr16(&e.w, CLASS_IN);
    }
    for (size_t i = 0; i < msg->n_answers && !e.w.bad; i++)
        put_record(&e, &msg->answers[i]);
    return e.w.bad ? 0 : e.w.pos;
}

/* ---- decoding ---------------------------------------------------------------------- */

typedef struct {
    char *buf; /* NULL: validate only */
    size_t len;
} Text;

static bool text_put(Text *t, char c)
{
    if (!t->buf)
        return true;
    if (t->len + 1 >= PCAP_DNS_TEXT_MAX)
        return false;
    t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
    return true;
}

static bool text_put_octet(Text *t, uint8_t c)
{
    if (c > 0x20 && c < 0x7f && c != '.' && c != '\\')
        return text_put(t, (char)c);
    return text_put(t, '\\') && text_put(t, (char)('0' + c / 100)) &&
           text_put(t, (char)('0' + c / 10 % 10)) && text_put(t, (char)('0' + c % 10));
}

/* Reads the name at *pos into out (PCAP_DNS_TEXT_MAX octets, or NULL to only validate)
 * and moves *pos past it. A pointer must point before the labels that led to it, so the
 * targets strictly decrease and no input can loop; MAX_NAME_HOPS and the 255-octet limit
 * are belt and braces. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, char *out)
{
    Text text = {.buf = out};
    if (out)
        out[0] = '\0';
    size_t p = *pos, bound = *pos, resume = 0, wire = 1;
    int hops = 0;
    for (;;) {
        if (p >= len)
            return -1;
        uint8_t c = msg[p];
        if ((c & POINTER_MASK) == POINTER_MASK) {
            if (len - p < 2 || ++hops > MAX_NAME_HOPS)
                return -1;
            size_t target = (size_t)(c & 0x3fu) << 8 | msg[p + 1];
            if (target >= bound)
                return -1;
            if (!resume)
                resume = p + 2;
            bound = p = target;
            continue;
        }
        if (c & POINTER_MASK)
            return -1; /* 0x40 extended and 0x80 reserved label types */
        if (c == 0) {
            p++;
            break;
        }
        if (c > len - p - 1)
            return -1;
        wire += 1u + c;
        if (wire > NAME_WIRE_MAX)
            return -1;
        if (text.len && !text_put(&text, '.'))
            return -1;
        for (size_t i = 0; i < c; i++)
            if (!text_put_octet(&text, msg[p + 1 + i]))
                return -1;
        p += 1u + c;
    }
    *pos = resume ? resume : p;
    return 0;
}

static int read_record(const uint8_t *msg, size_t len, size_t *pos, PcapDnsDecodedRecord *rr)
{
    if (read_name(msg, len, pos, rr ? rr->name : NULL) < 0)
        return -1;
    PcapReader r = {.buf = msg, .len = len, .pos = *pos};
    uint16_t type = pcap__rd16(&r);
    uint16_t rclass = pcap__rd16(&r);
    uint32_t ttl = pcap__rd32(&r);
    uint16_t rdlength = pcap__rd16(&r);
    size_t rdata = r.pos;
    pcap__rd_skip(&r, rdlength);
    if (r.bad)
        return -1;
    *pos = r.pos;

    size_t want = type == PCAP_DNS_A ? 4 : type == PCAP_DNS_AAAA ? 16 : rdlength;
    if (rclass == CLASS_IN && rdlength != want)
        return -1;
    size_t after = rdata;
    if (type == PCAP_DNS_CNAME &&
        (read_name(msg, len, &after, rr ? rr->target : NULL) < 0 || after != rdata + rdlength))
        return -1;
    if (!rr)
        return 0;
    rr->type = type;
    rr->rclass = rclass;
    rr->ttl = ttl;
    rr->a = rclass == CLASS_IN && type == PCAP_DNS_A ? pcap__get32(msg + rdata) : 0;
    memset(rr->aaaa, 0, sizeof rr->aaaa);
    if (rclass == CLASS_IN && type == PCAP_DNS_AAAA)
        memcpy(rr->aaaa, msg + rdata, sizeof rr->aaaa);
    if (type != PCAP_DNS_CNAME)
        rr->target[0] = '\0';
    return 0;
}

int pcap_dns_decode(const uint8_t *buf, size_t len, PcapDnsDecoded *out)
{
    if (!out)
        return -1;
    out->qname[0] = '\0';
    out->qtype = out->qclass = 0;
    out->n_answers = 0;
    if (!buf || len < HEADER_LEN)
        return -1;

    uint16_t flags = pcap__get16(buf + 2);
    out->id = pcap__get16(buf);
    out->response = flags & 0x8000u;
    out->opcode = (uint8_t)(flags >> 11 & 0x0fu);
    out->aa = flags & 0x0400u;
    out->tc = flags & 0x0200u;
    out->rd = flags & 0x0100u;
    out->ra = flags & 0x0080u;
    out->rcode = (uint8_t)(flags & 0x0fu);
    out->qdcount = pcap__get16(buf + 4);
    out->ancount = pcap__get16(buf + 6);
    out->nscount = pcap__get16(buf + 8);
    out->arcount = pcap__get16(buf + 10);

    size_t pos = HEADER_LEN;
    for (unsigned i = 0; i < out->qdcount; i++) {
        if (read_name(buf, len, &pos, i == 0 ? out->qname : NULL) < 0 || len - pos < 4)
            return -1;
        if (i == 0) {
            out->qtype = pcap__get16(buf + pos);
            out->qclass = pcap__get16(buf + pos + 2);
        }
        pos += 4;
    }
    for (unsigned i = 0; i < out->ancount; i++) {
        PcapDnsDecodedRecord *rr = NULL;
        if (out->n_answers < PCAP_DNS_MAX_DECODE)
            rr = &out->answers[out->n_answers];
        if (read_record(buf, len, &pos, rr) < 0)
            return -1;
        if (rr)
            out->n_answers++;
    }
    unsigned rest = (unsigned)out->nscount + out->arcount;
    for (unsigned i = 0; i < rest; i++)
        if (read_record(buf, len, &pos, NULL) < 0)
            return -1;
    return 0;
}
