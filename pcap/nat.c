/*
 * \summary: address and port translation (SNAT/DNAT) with incremental checksums
 *
 * specification: RFC 3022 4.2 (NAT checksum adjustment), RFC 1624 (incremental update)
 *
 *   Fields touched, and the checksums each one feeds:
 *
 *   IPv4  +-------+-------+---------------+-------------------------------+
 *         |       ...                     |   Header Checksum  <- addrs   |
 *         +-------------------------------+-------------------------------+
 *         |                 Source Address (SNAT)                         |
 *         +---------------------------------------------------------------+
 *         |              Destination Address (DNAT)                       |
 *         +---------------------------------------------------------------+
 *   UDP   |   Source Port (SNAT)          |  Destination Port (DNAT)      |
 *         |   Length                      |  Checksum <- addrs + ports    |
 *   TCP   |   Source Port (SNAT)          |  Destination Port (DNAT)      |
 *         |   ...  Checksum (offset 16) <- addrs + ports                  |
 *
 * The transport checksum covers the addresses through the pseudo-header, so an address
 * change updates both sums. Each update is RFC 1624 eqn. 3 on the changed words only:
 * the cost does not grow with the payload, which matters on a firewall's hot path.
 */
#include <stdbool.h>

#include "pcap/frame.h"
#include "pcap/internal.h"
#include "pcap/wire.h"

#define ETHERTYPE_IPV4 0x0800u
#define IP_FRAG_OFFSET 0x1fffu

static void set_addr(uint8_t *ip, size_t at, uint32_t new_ip, uint8_t *l4_check, bool udp)
{
    uint32_t old_ip = pcap__get32(ip + at);
    pcap__put32(ip + at, new_ip);
    pcap__put16(ip + 10, pcap__csum_update32(pcap__get16(ip + 10), old_ip, new_ip));
    if (!l4_check)
        return;
    uint16_t check = pcap__get16(l4_check);
    if (udp && check == 0)
        return; /* sender sent no checksum; a NAT must not invent one */
    check = pcap__csum_update32(check, old_ip, new_ip);
    pcap__put16(l4_check, udp && check == 0 ? 0xffffu : check);
}

static void set_port(uint8_t *port, uint16_t new_port, uint8_t *l4_check, bool udp)
{
    uint16_t old_port = pcap__get16(port);
    pcap__put16(port, new_port);
    uint16_t check = pcap__get16(l4_check);
    if (udp && check == 0)
        return;
    check = pcap__csum_update16(check, old_port, new_port);
    pcap__put16(l4_check, udp && check == 0 ? 0xffffu : check);
}

int pcap_frame_rewrite(uint8_t *frame, size_t len, const uint32_t *new_src_ip,
                       const uint16_t *new_sport, const uint32_t *new_dst_ip,
                       const uint16_t *new_dport)
{
    if (!frame || len < PCAP_ETH_HLEN + PCAP_IP4_HLEN || pcap__get16(frame + 12) != ETHERTYPE_IPV4)
        return -1;
    uint8_t *ip = frame + PCAP_ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0x0fu) * 4u;
    if (ip[0] >> 4 != 4 || ihl < PCAP_IP4_HLEN || ihl > len - PCAP_ETH_HLEN)
        return -1;

    /* Only the first fragment carries the transport header. */
    bool first_fragment = (pcap__get16(ip + 6) & IP_FRAG_OFFSET) == 0;
    uint8_t proto = ip[9];
    uint8_t *l4 = ip + ihl;
    size_t l4_avail = len - PCAP_ETH_HLEN - ihl;
    uint8_t *check = NULL;
    bool udp = false;
    if (first_fragment && proto == PCAP_IPPROTO_UDP) {
        if (l4_avail < PCAP_UDP_HLEN)
            return -1;
        check = l4 + 6;
        udp = true;
    } else if (first_fragment && proto == PCAP_IPPROTO_TCP) {
        if (l4_avail < PCAP_TCP_HLEN)
            return -1;
        check = l4 + 16;
    }
    if ((new_sport || new_dport) && !check)
        return -1;

    if (new_src_ip)
        set_addr(ip, 12, *new_src_ip, check, udp);
    if (new_dst_ip)
        set_addr(ip, 16, *new_dst_ip, check, udp);
    if (new_sport)
        set_port(l4, *new_sport, check, udp);
    if (new_dport)
        set_port(l4 + 2, *new_dport, check, udp);
    return 0;
}
