/*
 * \summary: UDP datagrams
 *
 * specification: RFC 768
 *
 *                  0      7 8     15 16    23 24    31
 *                 +--------+--------+--------+--------+
 *                 |     Source      |   Destination   |
 *                 |      Port       |      Port       |
 *                 +--------+--------+--------+--------+
 *                 |                 |                 |
 *                 |     Length      |    Checksum     |
 *                 +--------+--------+--------+--------+
 *                 |
 *                 |          data octets ...
 *                 +---------------- ...
 *
 * The checksum covers a pseudo-header (source, destination, protocol, UDP length). A
 * computed checksum of 0 is sent as 0xffff, since 0 on the wire means "no checksum".
 */
#include <string.h>

#include "pcap/frame.h"
#include "pcap/internal.h"
#include "pcap/wire.h"

size_t pcap_frame_udp(uint8_t *buf, size_t cap, const PcapL3 *l3, uint16_t sport, uint16_t dport,
                      const uint8_t *payload, size_t len)
{
    if (len && !payload)
        return 0;
    if (len > 65535u - PCAP_IP4_HLEN - PCAP_UDP_HLEN)
        return 0;
    size_t l4_len = PCAP_UDP_HLEN + len;
    size_t off = pcap__put_l2l3(buf, cap, l3, PCAP_IPPROTO_UDP, l4_len);
    if (!off)
        return 0;

    uint8_t *udp = buf + off;
    pcap__put16(udp + 0, sport);
    pcap__put16(udp + 2, dport);
    pcap__put16(udp + 4, (uint16_t)l4_len);
    pcap__put16(udp + 6, 0);
    if (len)
        memcpy(udp + PCAP_UDP_HLEN, payload, len);
    uint32_t pseudo = pcap__pseudo_sum(l3->src_ip, l3->dst_ip, PCAP_IPPROTO_UDP, (uint16_t)l4_len);
    uint16_t sum = pcap_inet_checksum(udp, l4_len, pseudo);
    pcap__put16(udp + 6, sum ? sum : 0xffffu);
    return off + l4_len;
}
