/*
 * dns.h — DNS messages (RFC 1035) as Azure DNS (168.63.129.16) and private DNS zones send
 * them: one question, answers of type A, AAAA or CNAME, names compressed.
 *
 * Names are dotted text without escapes ("mlwsstore.blob.core.windows.net"; a trailing
 * dot is accepted, "" or "." is the root). The encoder writes into a caller-owned buffer;
 * the decoder fills a caller-owned PcapDnsDecoded. Neither allocates.
 */
#ifndef VNETSIM_PCAP_DNS_H
#define VNETSIM_PCAP_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One list makes each enum and its names (pcap_dns_type_name(), pcap_dns_rcode_name()). */
#define PCAP_DNS_TYPE_LIST(X)                                                                      \
    X(PCAP_DNS_A, 1, "A")                                                                          \
    X(PCAP_DNS_CNAME, 5, "CNAME")                                                                  \
    X(PCAP_DNS_AAAA, 28, "AAAA")

#define PCAP_DNS_RCODE_LIST(X)                                                                     \
    X(PCAP_DNS_NOERROR, 0, "NOERROR")                                                              \
    X(PCAP_DNS_SERVFAIL, 2, "SERVFAIL")                                                            \
    X(PCAP_DNS_NXDOMAIN, 3, "NXDOMAIN")                                                            \
    X(PCAP_DNS_REFUSED, 5, "REFUSED")

#define PCAP_DNS_ENUM_(name, value, text) name = value,
enum { PCAP_DNS_TYPE_LIST(PCAP_DNS_ENUM_) };
enum { PCAP_DNS_RCODE_LIST(PCAP_DNS_ENUM_) };
#undef PCAP_DNS_ENUM_

#define PCAP_DNS_PORT 53

/* "A", "CNAME", … or NULL for a value not in the list. */
const char *pcap_dns_type_name(uint16_t type);
/* "NOERROR", "NXDOMAIN", … or NULL for a value not in the list. */
const char *pcap_dns_rcode_name(uint8_t rcode);

typedef struct {
    const char *name;
    uint16_t type; /* PCAP_DNS_A, _AAAA or _CNAME */
    uint32_t ttl;
    uint32_t a;         /* host order, for A */
    const char *target; /* for CNAME */
    uint8_t aaaa[16];   /* for AAAA */
} PcapDnsRecord;

typedef struct {
    uint16_t id;
    bool response, rd, ra, aa;
    uint8_t rcode;     /* 0..15 */
    const char *qname; /* NULL: no question section */
    uint16_t qtype;
    const PcapDnsRecord *answers;
    size_t n_answers;
} PcapDnsMessage;

/* Encodes msg (class IN throughout, opcode QUERY) into buf[0..cap), compressing every
 * name against the names written before it (RFC 1035 4.1.4), CNAME targets included.
 * Returns the message length, or 0 when it does not fit in cap, a name is invalid (empty
 * label, label over 63 octets, name over 255 octets), an answer's type is not A, AAAA or
 * CNAME, a CNAME has no target, or rcode > 15. */
size_t pcap_dns_encode(const PcapDnsMessage *msg, uint8_t *buf, size_t cap);

/* Decoded names are text: labels joined by '.', no trailing dot, "" for the root. Octets
 * other than printable ASCII, '.' and '\\' appear as \DDD (RFC 4343 2.1), so a 255-octet
 * wire name fits in PCAP_DNS_TEXT_MAX with its NUL. */
#define PCAP_DNS_TEXT_MAX   1024
#define PCAP_DNS_MAX_DECODE 16

typedef struct {
    char name[PCAP_DNS_TEXT_MAX];
    uint16_t type, rclass;
    uint32_t ttl;
    uint32_t a;                     /* host order, type A */
    uint8_t aaaa[16];               /* type AAAA */
    char target[PCAP_DNS_TEXT_MAX]; /* type CNAME; "" otherwise */
} PcapDnsDecodedRecord;

typedef struct {
    uint16_t id;
    bool response, aa, tc, rd, ra;
    uint8_t opcode, rcode;
    uint16_t qdcount, ancount, nscount, arcount; /* as in the header */
    char qname[PCAP_DNS_TEXT_MAX];               /* first question; "" when none */
    uint16_t qtype, qclass;
    size_t n_answers; /* answers stored: min(ancount, PCAP_DNS_MAX_DECODE) */
    PcapDnsDecodedRecord answers[PCAP_DNS_MAX_DECODE];
} PcapDnsDecoded;

/* Decodes buf[0..len), which may hold any octets at all. Every section is walked, so a
 * truncated record anywhere fails; the first PCAP_DNS_MAX_DECODE answers are stored.
 * Compression pointers must point strictly before the labels being read (which rules out
 * loops) and a name may not pass 255 octets. Returns 0, or -1 on malformed input (then
 * *out holds partial results). Octets after the last record are ignored. About 34 KiB:
 * allocate it once, not per packet. */
int pcap_dns_decode(const uint8_t *buf, size_t len, PcapDnsDecoded *out);

#endif
