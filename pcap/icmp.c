/*
 * \summary: ICMP echo, destination unreachable and time exceeded messages
 *
 * specification: RFC 792, RFC 1812 4.3.2.3 (what a router quotes)
 *
 *   Echo or echo reply (type 8 / 0):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Identifier          |        Sequence Number        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Data ...
 *   +-+-+-+-+-
 *
 *   Destination unreachable or time exceeded (type 3 / 11):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                             unused                            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Internet Header + 64 bits of Original Data Datagram      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum covers the ICMP message only (no pseudo-header). The 8 quoted octets hold
 * the UDP/TCP ports, which is all a host needs to find the socket to blame. The "unused"
 * word stays 0, also for "fragmentation needed" (code 4), whose next-hop MTU field
 * (RFC 1191) we have no value for.
 */
#include <string.h>

#include "pcap/frame.h"
#include "pcap/internal.h"
#include "pcap/wire.h"

#define ICMP_ECHO_REPLY    0
#define ICMP_UNREACHABLE   3
#define ICMP_ECHO          8
#define ICMP_TIME_EXCEEDED 11
#define QUOTED_DATA_OCTETS 8u

static size_t finish(uint8_t *buf, size_t off, size_t l4_len)
{
    uint8_t *icmp = buf + off;
    pcap__put16(icmp + 2, pcap_inet_checksum(icmp, l4_len, 0));
    return off + l4_len;
}

size_t pcap_frame_icmp_echo(uint8_t *buf, size_t cap, const PcapL3 *l3, bool reply, uint16_t ident,
                            uint16_t seq, const uint8_t *data, size_t len)
{
    if (len && !data)
        return 0;
    if (len > 65535u - PCAP_IP4_HLEN - PCAP_ICMP_HLEN)
        return 0;
    size_t l4_len = PCAP_ICMP_HLEN + len;
    size_t off = pcap__put_l2l3(buf, cap, l3, PCAP_IPPROTO_ICMP, l4_len);
    if (!off)
        return 0;

    uint8_t *icmp = buf + off;
    pcap__put8(icmp + 0, reply ? ICMP_ECHO_REPLY : ICMP_ECHO);
    pcap__put8(icmp + 1, 0);
    pcap__put16(icmp + 2, 0);
    pcap__put16(icmp + 4, ident);
    pcap__put16(icmp + 6, seq);
    if (len)
        memcpy(icmp + PCAP_ICMP_HLEN, data, len);
    return finish(buf, off, l4_len);
}

size_t pcap_frame_icmp_error(uint8_t *buf, size_t cap, const PcapL3 *l3, uint8_t type, uint8_t code,
                             const uint8_t *orig_ip, size_t orig_len)
{
    if (type != ICMP_UNREACHABLE && type != ICMP_TIME_EXCEEDED)
        return 0;
    if (!orig_ip || orig_len < PCAP_IP4_HLEN || orig_ip[0] >> 4 != 4)
        return 0;
    size_t ihl = (size_t)(orig_ip[0] & 0x0fu) * 4u;
    if (ihl < PCAP_IP4_HLEN || ihl > orig_len)
        return 0;
    /* Header + 8 octets, but no more than the datagram had, nor than we were given. */
    size_t quote = ihl + QUOTED_DATA_OCTETS;
    size_t total = pcap__get16(orig_ip + 2);
    if (total >= ihl && total < quote)
        quote = total;
    if (quote > orig_len)
        quote = orig_len;

    size_t l4_len = PCAP_ICMP_HLEN + quote;
    size_t off = pcap__put_l2l3(buf, cap, l3, PCAP_IPPROTO_ICMP, l4_len);
    if (!off)
        return 0;

    uint8_t *icmp = buf + off;
    pcap__put8(icmp + 0, type);
    pcap__put8(icmp + 1, code);
    pcap__put16(icmp + 2, 0);
    pcap__put32(icmp + 4, 0);
    memcpy(icmp + PCAP_ICMP_HLEN, orig_ip, quote);
    return finish(buf, off, l4_len);
}
