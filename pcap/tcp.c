/*
 * \summary: TCP segments
 *
 * specification: RFC 9293 (3.1 header, 3.2 MSS option)
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        Sequence Number                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Acknowledgment Number                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Data |       |C|E|U|A|P|R|S|F|                               |
 *   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *   |       |       |R|E|G|K|H|T|N|N|                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Checksum            |         Urgent Pointer        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           [Options]                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                             Data                              :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   MSS option:  | kind 2 | length 4 | maximum segment size (16) |
 *
 * The checksum covers the same pseudo-header as UDP's, with protocol 6.
 */
#include <string.h>

#include "pcap/frame.h"
#include "pcap/internal.h"
#include "pcap/wire.h"

#define OPT_MSS     2u
#define OPT_MSS_LEN 4u

size_t pcap_frame_tcp(uint8_t *buf, size_t cap, const PcapL3 *l3, uint16_t sport, uint16_t dport,
                      const PcapTcp *tcp, const uint8_t *payload, size_t len)
{
    if (len && !payload)
        return 0;
    size_t hlen = PCAP_TCP_HLEN;
    bool with_mss = (tcp->flags & PCAP_TCP_SYN) && tcp->mss;
    if (with_mss)
        hlen += OPT_MSS_LEN;
    if (len > 65535u - PCAP_IP4_HLEN - hlen)
        return 0;
    size_t l4_len = hlen + len;
    size_t off = pcap__put_l2l3(buf, cap, l3, PCAP_IPPROTO_TCP, l4_len);
    if (!off)
        return 0;

    uint8_t *th = buf + off;
    pcap__put16(th + 0, sport);
    pcap__put16(th + 2, dport);
    pcap__put32(th + 4, tcp->seq);
    pcap__put32(th + 8, tcp->ack);
    pcap__put8(th + 12, (uint8_t)(hlen / 4u << 4));
    pcap__put8(th + 13, tcp->flags);
    pcap__put16(th + 14, tcp->window);
    pcap__put16(th + 16, 0);
    pcap__put16(th + 18, 0);
    if (with_mss) {
        pcap__put8(th + 20, OPT_MSS);
        pcap__put8(th + 21, OPT_MSS_LEN);
        pcap__put16(th + 22, tcp->mss);
    }
    if (len)
        memcpy(th + hlen, payload, len);
    uint32_t pseudo = pcap__pseudo_sum(l3->src_ip, l3->dst_ip, PCAP_IPPROTO_TCP, (uint16_t)l4_len);
    pcap__put16(th + 16, pcap_inet_checksum(th, l4_len, pseudo));
    return off + l4_len;
}
