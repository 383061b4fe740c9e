/*
 * \summary: Ethernet II and IPv4 headers; a router's hop (TTL and MAC rewrite)
 *
 * specification: RFC 894 (IP over Ethernet), RFC 791 (IPv4), RFC 1812 5.3.1 (TTL),
 *                RFC 1624 (incremental checksum update)
 *
 *   Ethernet II:  | destination MAC (6) | source MAC (6) | EtherType 0x0800 (2) | IPv4 ...
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |Flags|      Fragment Offset    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination Address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Options                    |    Padding    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The builders never write options (IHL 5) and never fragment.
 */
#include <string.h>

#include "pcap/frame.h"
#include "pcap/internal.h"
#include "pcap/wire.h"

#define ETHERTYPE_IPV4 0x0800u
#define IP_DF          0x4000u
#define DEFAULT_TTL    64u

size_t pcap__put_l2l3(uint8_t *buf, size_t cap, const PcapL3 *l3, uint8_t proto, size_t l4_len)
{
    if (l4_len > 65535u - PCAP_IP4_HLEN || cap < PCAP_L4_OFFSET || l4_len > cap - PCAP_L4_OFFSET)
        return 0;

    memcpy(buf, l3->dst_mac, 6);
    memcpy(buf + 6, l3->src_mac, 6);
    pcap__put16(buf + 12, ETHERTYPE_IPV4);

    uint8_t *ip = buf + PCAP_ETH_HLEN;
    pcap__put8(ip + 0, 0x45);
    pcap__put8(ip + 1, (uint8_t)((l3->dscp & 0x3fu) << 2));
    pcap__put16(ip + 2, (uint16_t)(PCAP_IP4_HLEN + l4_len));
    pcap__put16(ip + 4, l3->ip_id);
    pcap__put16(ip + 6, l3->dont_fragment ? IP_DF : 0);
    pcap__put8(ip + 8, l3->ttl ? l3->ttl : DEFAULT_TTL);
    pcap__put8(ip + 9, proto);
    pcap__put16(ip + 10, 0);
    pcap__put32(ip + 12, l3->src_ip);
    pcap__put32(ip + 16, l3->dst_ip);
    pcap__put16(ip + 10, pcap_inet_checksum(ip, PCAP_IP4_HLEN, 0));
    return PCAP_L4_OFFSET;
}

uint8_t pcap_frame_forward(uint8_t *frame)
{
    uint8_t *ip = frame + PCAP_ETH_HLEN;
    if (pcap__get16(frame + 12) != ETHERTYPE_IPV4 || ip[0] >> 4 != 4)
        return 0;
    uint8_t ttl = ip[8];
    if (ttl == 0)
        return 0;
    /* TTL shares a 16-bit checksum word with Protocol. */
    uint16_t old_word = pcap__get16(ip + 8);
    uint16_t new_word = (uint16_t)(old_word - 0x100u);
    pcap__put8(ip + 8, (uint8_t)(ttl - 1));
    pcap__put16(ip + 10, pcap__csum_update16(pcap__get16(ip + 10), old_word, new_word));
    return (uint8_t)(ttl - 1);
}

void pcap_frame_set_macs(uint8_t *frame, const uint8_t src[6], const uint8_t dst[6])
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
}
