/*
 * internal.h — helpers shared by the protocol files of pcap/ (not part of the API).
 *
 * Names are pcap__ (two underscores), after libuv's uv__: non-static, yet internal.
 */
#ifndef VNETSIM_PCAP_INTERNAL_H
#define VNETSIM_PCAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pcap/frame.h"

/* Writes the Ethernet II and IPv4 headers (checksum included) for an l4_len-octet
 * payload of protocol `proto`. Returns PCAP_L4_OFFSET, or 0 when the IPv4 total length
 * would pass 65535 or cap cannot hold the whole frame (headers + l4_len). */
size_t pcap__put_l2l3(uint8_t *buf, size_t cap, const PcapL3 *l3, uint8_t proto, size_t l4_len);

/* The pseudo-header's share of a UDP/TCP checksum (RFC 768, RFC 9293 3.1), as a sum of
 * big-endian 16-bit words for pcap_inet_checksum()'s `initial`. */
uint32_t pcap__pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint8_t proto, uint16_t l4_len);

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after a 16-bit field (or, for
 * the 32-bit variant, two adjacent fields) changed from old to new. Recomputing would
 * read the whole segment; a NAT or router touches only the header. */
uint16_t pcap__csum_update16(uint16_t check, uint16_t old_val, uint16_t new_val);
uint16_t pcap__csum_update32(uint16_t check, uint32_t old_val, uint32_t new_val);

#endif
