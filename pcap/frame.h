/*
 * frame.h — Ethernet II + IPv4 frames carrying UDP, TCP and ICMP, built byte by byte.
 *
 * Addresses are host-order uint32_t as in model/addr.h; the builders turn them into
 * wire order. Every builder writes one whole frame (Ethernet header first) into a
 * caller-owned buffer and returns its length, or returns 0 and leaves the buffer's
 * contents unspecified when the frame does not fit in `cap` or the arguments cannot make
 * a valid frame (IPv4 total length above 65535). Nothing here allocates.
 *
 * The IPv4 header never carries options, so the transport header always starts at
 * PCAP_L4_OFFSET; pcap_frame_forward() and pcap_frame_rewrite() still read the IHL, so
 * frames from elsewhere work too.
 */
#ifndef VNETSIM_PCAP_FRAME_H
#define VNETSIM_PCAP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_ETH_HLEN  14u
#define PCAP_IP4_HLEN  20u
#define PCAP_UDP_HLEN  8u
#define PCAP_TCP_HLEN  20u /* without options; a SYN with MSS takes 24 */
#define PCAP_ICMP_HLEN 8u
#define PCAP_L4_OFFSET (PCAP_ETH_HLEN + PCAP_IP4_HLEN)
/* The largest frame a builder can return: a full 64 KiB IPv4 datagram. */
#define PCAP_FRAME_MAX (PCAP_ETH_HLEN + 65535u)

enum { PCAP_IPPROTO_ICMP = 1, PCAP_IPPROTO_TCP = 6, PCAP_IPPROTO_UDP = 17 };

typedef struct {
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src_ip, dst_ip; /* host order */
    uint8_t ttl;             /* 0 means 64 */
    uint16_t ip_id;
    uint8_t dscp; /* 6 bits, usually 0 */
    bool dont_fragment;
} PcapL3;

#define PCAP_TCP_FIN 0x01
#define PCAP_TCP_SYN 0x02
#define PCAP_TCP_RST 0x04
#define PCAP_TCP_PSH 0x08
#define PCAP_TCP_ACK 0x10

typedef struct {
    uint32_t seq, ack;
    uint8_t flags; /* PCAP_TCP_* */
    uint16_t window;
    uint16_t mss; /* nonzero on a SYN adds the MSS option (RFC 9293 3.7.1) */
} PcapTcp;

/* UDP datagram with payload[0..len). payload may be NULL when len is 0. Returns the frame
 * length or 0 (too small / too long). */
size_t pcap_frame_udp(uint8_t *buf, size_t cap, const PcapL3 *l3, uint16_t sport, uint16_t dport,
                      const uint8_t *payload, size_t len);

/* TCP segment. Returns the frame length or 0 (too small / too long). */
size_t pcap_frame_tcp(uint8_t *buf, size_t cap, const PcapL3 *l3, uint16_t sport, uint16_t dport,
                      const PcapTcp *tcp, const uint8_t *payload, size_t len);

/* ICMP echo request (reply false) or echo reply carrying data[0..len). Returns the frame
 * length or 0. */
size_t pcap_frame_icmp_echo(uint8_t *buf, size_t cap, const PcapL3 *l3, bool reply, uint16_t ident,
                            uint16_t seq, const uint8_t *data, size_t len);

/* Destination unreachable (type 3) or time exceeded (type 11) that quotes the offending
 * datagram's IPv4 header plus its first 8 data octets, as RFC 792 says. orig_ip points at
 * the original frame's IPv4 header (frame + PCAP_ETH_HLEN) and orig_len counts the octets
 * readable there; it must not overlap buf. Returns the frame length, or 0 when cap is too
 * small, type is neither 3 nor 11, or orig_ip does not start with a sane IPv4 header. The quoted
 * datagram is not altered: its TTL and checksum read as they did when it was dropped. */
size_t pcap_frame_icmp_error(uint8_t *buf, size_t cap, const PcapL3 *l3, uint8_t type, uint8_t code,
                             const uint8_t *orig_ip, size_t orig_len);

/* A router's hop on a whole frame from the builders above: decrements the TTL and
 * updates the header checksum incrementally (RFC 1624, eqn. 3). Returns the new TTL; 0
 * means the packet must die (it is left unchanged when its TTL was already 0 or it is not
 * IPv4). The frame must hold at least PCAP_ETH_HLEN + PCAP_IP4_HLEN octets. */
uint8_t pcap_frame_forward(uint8_t *frame);

/* Rewrites the Ethernet addresses (each hop has its own). */
void pcap_frame_set_macs(uint8_t *frame, const uint8_t src[6], const uint8_t dst[6]);

/* SNAT/DNAT as Azure Firewall and NAT gateway do it: replaces whichever of source IP,
 * source port, destination IP, destination port is given non-NULL, fixing the IPv4 and
 * UDP/TCP checksums incrementally (the pseudo-header covers the addresses). A UDP
 * checksum of 0 (none) stays 0.
 * Returns 0, or -1 leaving the frame unchanged when frame[0..len) is not an IPv4 frame
 * with a whole transport header, or a port is asked of a datagram without ports (ICMP,
 * a non-first fragment). An ICMP error's quoted datagram is not translated. */
int pcap_frame_rewrite(uint8_t *frame, size_t len, const uint32_t *new_src_ip,
                       const uint16_t *new_sport, const uint32_t *new_dst_ip,
                       const uint16_t *new_dport);

/* The Internet checksum (RFC 1071) of data[0..len), to be stored as is with a big-endian
 * put. `initial` is a partial sum of big-endian 16-bit words to fold in (a pseudo-header);
 * pass 0 otherwise. Over a header that contains its own valid checksum the result is 0.
 * Sums 64 bits per step: it runs once per frame. */
uint16_t pcap_inet_checksum(const void *data, size_t len, uint32_t initial);

#endif
