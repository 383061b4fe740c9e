/*
 * addr.h — IPv4 addresses and prefixes as Azure writes them ("10.0.0.0/16", "10.0.1.4").
 *
 * Addresses are host-order uint32_t inside the model; only pcap/ turns them into wire
 * order. Parsing is strict (four decimal octets, no leading zeros that would read as
 * octal elsewhere, length 0–32) because a scenario file is user input.
 */
#ifndef VNETSIM_MODEL_ADDR_H
#define VNETSIM_MODEL_ADDR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t addr; /* network address; host bits are always zero after parsing */
    uint8_t len;   /* 0..32 */
} ModelPrefix;

#define MODEL_IP4(a, b, c, d)                                                                      \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define MODEL_IP_STRLEN     16 /* "255.255.255.255" + NUL */
#define MODEL_PREFIX_STRLEN 20 /* "255.255.255.255/32" + NUL, with room GCC can prove */

static inline uint32_t model_prefix_mask(uint8_t len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

static inline bool model_prefix_contains(ModelPrefix p, uint32_t ip)
{
    return ((ip ^ p.addr) & model_prefix_mask(p.len)) == 0;
}

/* True when the two prefixes share at least one address. */
static inline bool model_prefix_overlaps(ModelPrefix a, ModelPrefix b)
{
    uint8_t len = a.len < b.len ? a.len : b.len;
    return ((a.addr ^ b.addr) & model_prefix_mask(len)) == 0;
}

/* True when every address of inner lies in outer. */
static inline bool model_prefix_covers(ModelPrefix outer, ModelPrefix inner)
{
    return outer.len <= inner.len && model_prefix_contains(outer, inner.addr);
}

/* Parses a dotted quad. Returns false on anything else. */
bool model_ip_parse(const char *text, uint32_t *out);

typedef enum {
    MODEL_PREFIX_OK,
    MODEL_PREFIX_SYNTAX,    /* not a.b.c.d or a.b.c.d/n */
    MODEL_PREFIX_LENGTH,    /* n outside 0..32 */
    MODEL_PREFIX_HOST_BITS, /* a.b.c.d has bits set beyond /n (Azure rejects these) */
} ModelPrefixStatus;

/* Parses "a.b.c.d/n", or a bare "a.b.c.d" as a /32. With allow_host_bits the host bits
 * are cleared instead of rejected (NSG rules accept "10.0.0.5/24"; subnets do not). */
ModelPrefixStatus model_prefix_parse(const char *text, bool allow_host_bits, ModelPrefix *out);

/* Human text for a status, e.g. "host bits set beyond the prefix length". */
const char *model_prefix_status_text(ModelPrefixStatus status);

void model_ip_format(uint32_t ip, char buf[MODEL_IP_STRLEN]);
void model_prefix_format(ModelPrefix p, char buf[MODEL_PREFIX_STRLEN]);

/* RFC 1918 private space, and 100.64.0.0/10 (shared address space), which Azure treats
 * like private space in its system routes. */
bool model_ip_is_private(uint32_t ip);

#endif
