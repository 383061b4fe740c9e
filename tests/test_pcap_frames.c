/* Frame synthesis without a dissector: checksums against known vectors and a naive
 * reference, incremental updates against recomputation, DNS round trips, and the DNS
 * decoder fed truncations, pointer loops and random octets (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "pcap/dns.h"
#include "pcap/frame.h"
#include "pcap/tls.h"
#include "sim/rng.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071 done the slow, obvious way: the reference for the 64-bit version. */
static uint16_t reference_checksum(const uint8_t *p, size_t len, uint32_t initial)
{
    uint64_t sum = initial;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static const uint8_t *ip_of(const uint8_t *frame)
{
    return frame + PCAP_ETH_HLEN;
}

static bool ip_checksum_ok(const uint8_t *frame)
{
    const uint8_t *ip = ip_of(frame);
    return pcap_inet_checksum(ip, (size_t)(ip[0] & 15) * 4, 0) == 0;
}

/* The transport checksum verified the receiver's way: over pseudo-header and segment. */
static bool l4_checksum_ok(const uint8_t *frame)
{
    const uint8_t *ip = ip_of(frame);
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t l4_len = get16(ip + 2) - ihl;
    uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    uint32_t pseudo =
        (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + ip[9] + (uint32_t)l4_len;
    if (ip[9] == PCAP_IPPROTO_UDP && get16(ip + ihl + 6) == 0)
        return true;
    if (ip[9] == PCAP_IPPROTO_ICMP)
        pseudo = 0;
    return pcap_inet_checksum(ip + ihl, l4_len, pseudo) == 0;
}

static PcapL3 test_l3(uint32_t src, uint32_t dst)
{
    PcapL3 h = {.src_mac = {2, 0, 0, 0, 0, 1},
                .dst_mac = {2, 0, 0, 0, 0, 2},
                .src_ip = src,
                .dst_ip = dst,
                .ip_id = 0x1234,
                .dont_fragment = true};
    return h;
}

/* ---- checksums --------------------------------------------------------------------- */

static void checksum_matches_rfc1071_example(void **state)
{
    (void)state;
    /* RFC 1071 4.1: the words sum to ddf2, so the checksum is 220d. */
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(pcap_inet_checksum(data, sizeof data, 0), 0x220d);

    /* A real IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is b861. */
    uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(pcap_inet_checksum(ip, sizeof ip, 0), 0xb861);
    ip[10] = 0xb8;
    ip[11] = 0x61;
    assert_int_equal(pcap_inet_checksum(ip, sizeof ip, 0), 0);

    assert_int_equal(pcap_inet_checksum(NULL, 0, 0), 0xffff);
    const uint8_t odd[] = {0xab};
    assert_int_equal(pcap_inet_checksum(odd, 1, 0), (uint16_t)~0xab00);
}

static void checksum_matches_reference_at_every_length_and_alignment(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 1071);
    uint8_t buf[600];
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = round == 0 ? 0xff : (uint8_t)sim_rng_next(&rng);
        for (size_t off = 0; off < 8; off++) {
            for (size_t len = 0; len + off <= sizeof buf; len += 1 + len / 16) {
                uint32_t initial = (uint32_t)sim_rng_below(&rng, 0x4fffe);
                assert_int_equal(pcap_inet_checksum(buf + off, len, initial),
                                 reference_checksum(buf + off, len, initial));
            }
        }
    }
}

/* ---- builders ---------------------------------------------------------------------- */

static void udp_frame_has_the_fields_asked_for(void **state)
{
    (void)state;
    uint8_t frame[128];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(168, 63, 129, 16));
    h.dscp = 46;
    const uint8_t payload[] = "abcde";
    size_t n = pcap_frame_udp(frame, sizeof frame, &h, 5353, 53, payload, 5);
    assert_int_equal(n, PCAP_L4_OFFSET + PCAP_UDP_HLEN + 5);
    assert_memory_equal(frame, h.dst_mac, 6);
    assert_memory_equal(frame + 6, h.src_mac, 6);
    assert_int_equal(get16(frame + 12), 0x0800);
    const uint8_t *ip = ip_of(frame);
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(ip[1], 46 << 2);
    assert_int_equal(get16(ip + 2), 20 + 8 + 5);
    assert_int_equal(get16(ip + 4), 0x1234);
    assert_int_equal(get16(ip + 6), 0x4000);
    assert_int_equal(ip[8], 64);
    assert_int_equal(ip[9], PCAP_IPPROTO_UDP);
    assert_int_equal(get32(ip + 12), IP4(10, 0, 1, 4));
    assert_int_equal(get32(ip + 16), IP4(168, 63, 129, 16));
    const uint8_t *udp = ip + 20;
    assert_int_equal(get16(udp), 5353);
    assert_int_equal(get16(udp + 2), 53);
    assert_int_equal(get16(udp + 4), 13);
    assert_memory_equal(udp + 8, payload, 5);
    assert_true(ip_checksum_ok(frame));
    assert_true(l4_checksum_ok(frame));
    assert_int_not_equal(get16(udp + 6), 0);
}

static void tcp_syn_carries_the_mss_option(void **state)
{
    (void)state;
    uint8_t frame[128];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(10, 0, 1, 6));
    h.ttl = 128;
    PcapTcp syn = {
        .seq = 0xdeadbeef, .ack = 99, .flags = PCAP_TCP_SYN, .window = 64240, .mss = 1460};
    size_t n = pcap_frame_tcp(frame, sizeof frame, &h, 50000, 443, &syn, NULL, 0);
    assert_int_equal(n, PCAP_L4_OFFSET + 24);
    const uint8_t *th = ip_of(frame) + 20;
    assert_int_equal(ip_of(frame)[8], 128);
    assert_int_equal(get32(th + 4), 0xdeadbeef);
    assert_int_equal(get32(th + 8), 99);
    assert_int_equal(th[12] >> 4, 6);
    assert_int_equal(th[13], PCAP_TCP_SYN);
    assert_int_equal(get16(th + 14), 64240);
    const uint8_t mss[] = {2, 4, 0x05, 0xb4};
    assert_memory_equal(th + 20, mss, 4);
    assert_true(ip_checksum_ok(frame));
    assert_true(l4_checksum_ok(frame));

    /* MSS belongs on SYNs only. */
    PcapTcp ack = syn;
    ack.flags = PCAP_TCP_ACK;
    assert_int_equal(pcap_frame_tcp(frame, sizeof frame, &h, 50000, 443, &ack, NULL, 0),
                     PCAP_L4_OFFSET + PCAP_TCP_HLEN);
    assert_int_equal(th[12] >> 4, 5);
    assert_true(l4_checksum_ok(frame));
}

static void icmp_error_quotes_header_and_8_octets(void **state)
{
    (void)state;
    uint8_t orig[256], frame[256];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(10, 0, 3, 9));
    uint8_t data[100] = {0};
    size_t on = pcap_frame_udp(orig, sizeof orig, &h, 33434, 33435, data, sizeof data);
    PcapL3 r = test_l3(IP4(10, 0, 1, 1), IP4(10, 0, 1, 4));
    size_t n = pcap_frame_icmp_error(frame, sizeof frame, &r, 11, 0, orig + PCAP_ETH_HLEN, on - 14);
    assert_int_equal(n, PCAP_L4_OFFSET + 8 + 20 + 8);
    const uint8_t *icmp = ip_of(frame) + 20;
    assert_int_equal(icmp[0], 11);
    assert_int_equal(icmp[1], 0);
    assert_int_equal(get32(icmp + 4), 0);
    assert_memory_equal(icmp + 8, orig + PCAP_ETH_HLEN, 28);
    assert_true(ip_checksum_ok(frame));
    assert_true(l4_checksum_ok(frame));

    /* Never more than was given, nor than the datagram held. */
    assert_int_equal(pcap_frame_icmp_error(frame, sizeof frame, &r, 3, 3, orig + PCAP_ETH_HLEN, 24),
                     PCAP_L4_OFFSET + 8 + 24);
    size_t small = pcap_frame_udp(orig, sizeof orig, &h, 1, 2, NULL, 0);
    assert_int_equal(
        pcap_frame_icmp_error(frame, sizeof frame, &r, 3, 3, orig + PCAP_ETH_HLEN, small - 14 + 50),
        PCAP_L4_OFFSET + 8 + 28);

    /* Neither an error type we make nor an IPv4 header: refused. */
    assert_int_equal(pcap_frame_icmp_error(frame, sizeof frame, &r, 5, 0, orig + PCAP_ETH_HLEN, 28),
                     0);
    assert_int_equal(pcap_frame_icmp_error(frame, sizeof frame, &r, 3, 0, orig, 28), 0);
    assert_int_equal(pcap_frame_icmp_error(frame, sizeof frame, &r, 3, 0, orig + PCAP_ETH_HLEN, 19),
                     0);
    assert_int_equal(pcap_frame_icmp_error(frame, sizeof frame, &r, 3, 0, NULL, 28), 0);
}

static void icmp_echo_checksum_is_valid(void **state)
{
    (void)state;
    uint8_t frame[128];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(10, 0, 2, 5));
    const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7};
    for (int reply = 0; reply < 2; reply++) {
        size_t n =
            pcap_frame_icmp_echo(frame, sizeof frame, &h, reply, 0xbeef, 9, data, sizeof data);
        assert_int_equal(n, PCAP_L4_OFFSET + 8 + sizeof data);
        const uint8_t *icmp = ip_of(frame) + 20;
        assert_int_equal(icmp[0], reply ? 0 : 8);
        assert_int_equal(get16(icmp + 4), 0xbeef);
        assert_int_equal(get16(icmp + 6), 9);
        assert_true(ip_checksum_ok(frame));
        assert_true(l4_checksum_ok(frame));
    }
}

/* Each builder, given every capacity from 0 to what it needs in a buffer of exactly that
 * size (ASan watches the edge), returns 0 until the frame fits, then its full length. */
typedef size_t (*BuildFn)(uint8_t *buf, size_t cap);

static PcapL3 build_l3;
static uint8_t build_orig[64];

static size_t build_udp(uint8_t *buf, size_t cap)
{
    return pcap_frame_udp(buf, cap, &build_l3, 1, 2, (const uint8_t *)"payload", 7);
}

static size_t build_tcp(uint8_t *buf, size_t cap)
{
    PcapTcp t = {.seq = 1, .flags = PCAP_TCP_SYN, .mss = 1460};
    return pcap_frame_tcp(buf, cap, &build_l3, 1, 2, &t, (const uint8_t *)"xy", 2);
}

static size_t build_echo(uint8_t *buf, size_t cap)
{
    return pcap_frame_icmp_echo(buf, cap, &build_l3, false, 1, 2, (const uint8_t *)"ping", 4);
}

static size_t build_icmp_error(uint8_t *buf, size_t cap)
{
    return pcap_frame_icmp_error(buf, cap, &build_l3, 3, 1, build_orig + PCAP_ETH_HLEN, 40);
}

static size_t build_dns(uint8_t *buf, size_t cap)
{
    const PcapDnsRecord rr[] = {
        {.name = "a.example.com", .type = PCAP_DNS_CNAME, .ttl = 1, .target = "b.example.com"},
        {.name = "b.example.com", .type = PCAP_DNS_A, .ttl = 1, .a = 1},
        {.name = "b.example.com", .type = PCAP_DNS_AAAA, .ttl = 1, .aaaa = {0x20, 1}},
    };
    const PcapDnsMessage m = {.id = 1,
                              .response = true,
                              .qname = "a.example.com",
                              .qtype = PCAP_DNS_A,
                              .answers = rr,
                              .n_answers = 3};
    return pcap_dns_encode(&m, buf, cap);
}

static const uint8_t tls_random[32] = {1, 2, 3};

static size_t build_client_hello(uint8_t *buf, size_t cap)
{
    return pcap_tls_client_hello(buf, cap, "mlwsstore.blob.core.windows.net", tls_random);
}

static size_t build_server_hello(uint8_t *buf, size_t cap)
{
    return pcap_tls_server_hello(buf, cap, tls_random);
}

static size_t build_app_data(uint8_t *buf, size_t cap)
{
    return pcap_tls_application_data(buf, cap, 37, 5);
}

static size_t build_alert(uint8_t *buf, size_t cap)
{
    return pcap_tls_alert(buf, cap, PCAP_TLS_ALERT_FATAL, 40);
}

static void builders_never_write_past_cap(void **state)
{
    (void)state;
    build_l3 = test_l3(IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    size_t on = pcap_frame_udp(build_orig, sizeof build_orig, &build_l3, 7, 8,
                               (const uint8_t *)"0123456789", 10);
    assert_int_equal(on, 52);
    const BuildFn builders[] = {build_udp,          build_tcp,      build_echo,
                                build_icmp_error,   build_dns,      build_client_hello,
                                build_server_hello, build_app_data, build_alert};
    for (size_t b = 0; b < G_N_ELEMENTS(builders); b++) {
        uint8_t *big = g_malloc(4096);
        size_t need = builders[b](big, 4096);
        assert_true(need > 0);
        for (size_t cap = 0; cap <= need; cap++) {
            uint8_t *buf = g_malloc(cap ? cap : 1);
            size_t got = builders[b](buf, cap);
            if (cap < need)
                assert_int_equal(got, 0);
            else
                assert_memory_equal(buf, big, need);
            g_free(buf);
        }
        g_free(big);
    }
}

static void builders_refuse_oversized_datagrams(void **state)
{
    (void)state;
    PcapL3 h = test_l3(1, 2);
    size_t max_udp = 65535 - 20 - 8;
    uint8_t *payload = g_malloc0(max_udp + 1);
    uint8_t *frame = g_malloc(PCAP_FRAME_MAX + 16);
    assert_int_equal(pcap_frame_udp(frame, PCAP_FRAME_MAX + 16, &h, 1, 2, payload, max_udp + 1), 0);
    assert_int_equal(pcap_frame_udp(frame, PCAP_FRAME_MAX + 16, &h, 1, 2, payload, max_udp),
                     PCAP_FRAME_MAX);
    assert_true(l4_checksum_ok(frame));
    PcapTcp t = {.flags = PCAP_TCP_ACK};
    assert_int_equal(pcap_frame_tcp(frame, PCAP_FRAME_MAX, &h, 1, 2, &t, payload, 65535 - 40 + 1),
                     0);
    assert_int_equal(pcap_frame_udp(frame, 100, &h, 1, 2, NULL, 5), 0);
    g_free(payload);
    g_free(frame);
}

/* ---- forwarding and NAT ------------------------------------------------------------ */

static void forward_decrements_ttl_and_keeps_checksum_valid(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 1624);
    uint8_t frame[128], fresh[128];
    for (int round = 0; round < 2000; round++) {
        PcapL3 h = test_l3((uint32_t)sim_rng_next(&rng), (uint32_t)sim_rng_next(&rng));
        h.ip_id = (uint16_t)sim_rng_next(&rng);
        h.ttl = (uint8_t)(1 + sim_rng_below(&rng, 255));
        h.dont_fragment = sim_rng_next(&rng) & 1;
        size_t n = pcap_frame_udp(frame, sizeof frame, &h, 1, 2, NULL, 0);
        for (unsigned ttl = h.ttl; ttl > 0; ttl--) {
            assert_int_equal(pcap_frame_forward(frame), ttl - 1);
            assert_true(ip_checksum_ok(frame));
            if (ttl - 1 > 0) {
                /* Incremental and from-scratch agree bit for bit (RFC 1624 eqn. 3). */
                PcapL3 again = h;
                again.ttl = (uint8_t)(ttl - 1);
                pcap_frame_udp(fresh, sizeof fresh, &again, 1, 2, NULL, 0);
                assert_memory_equal(frame, fresh, n);
            }
        }
        /* Dead already: stays dead and untouched. */
        memcpy(fresh, frame, n);
        assert_int_equal(pcap_frame_forward(frame), 0);
        assert_memory_equal(frame, fresh, n);
    }

    /* Not IPv4: dropped. */
    memset(frame, 0, sizeof frame);
    frame[12] = 0x86;
    frame[13] = 0xdd;
    assert_int_equal(pcap_frame_forward(frame), 0);

    const uint8_t a[6] = {1, 1, 1, 1, 1, 1}, b[6] = {2, 2, 2, 2, 2, 2};
    pcap_frame_set_macs(frame, a, b);
    assert_memory_equal(frame, b, 6);
    assert_memory_equal(frame + 6, a, 6);
}

static size_t build_l4(uint8_t *frame, size_t cap, bool tcp, const PcapL3 *h, uint16_t sport,
                       uint16_t dport, const uint8_t *payload, size_t len)
{
    if (!tcp)
        return pcap_frame_udp(frame, cap, h, sport, dport, payload, len);
    PcapTcp t = {.seq = 1000, .ack = 2000, .flags = PCAP_TCP_ACK | PCAP_TCP_PSH, .window = 500};
    return pcap_frame_tcp(frame, cap, h, sport, dport, &t, payload, len);
}

static void rewrite_keeps_ip_and_l4_checksums_valid(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 3022);
    uint8_t frame[256], fresh[256], payload[100];
    for (int round = 0; round < 20000; round++) {
        bool tcp = round & 1;
        size_t len = sim_rng_below(&rng, sizeof payload);
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)sim_rng_next(&rng);
        PcapL3 h = test_l3((uint32_t)sim_rng_next(&rng), (uint32_t)sim_rng_next(&rng));
        uint16_t sport = (uint16_t)sim_rng_next(&rng), dport = (uint16_t)sim_rng_next(&rng);
        size_t n = build_l4(frame, sizeof frame, tcp, &h, sport, dport, payload, len);

        unsigned which = (unsigned)sim_rng_below(&rng, 16);
        uint32_t src = (uint32_t)sim_rng_next(&rng), dst = (uint32_t)sim_rng_next(&rng);
        uint16_t nsport = (uint16_t)sim_rng_next(&rng), ndport = (uint16_t)sim_rng_next(&rng);
        assert_int_equal(pcap_frame_rewrite(frame, n, which & 1 ? &src : NULL,
                                            which & 2 ? &nsport : NULL, which & 4 ? &dst : NULL,
                                            which & 8 ? &ndport : NULL),
                         0);
        assert_true(ip_checksum_ok(frame));
        assert_true(l4_checksum_ok(frame));

        /* The same bytes as a frame built with the new values in the first place. */
        if (which & 1)
            h.src_ip = src;
        if (which & 4)
            h.dst_ip = dst;
        build_l4(fresh, sizeof fresh, tcp, &h, which & 2 ? nsport : sport,
                 which & 8 ? ndport : dport, payload, len);
        assert_memory_equal(frame, fresh, n);
    }
}

static void rewrite_leaves_udp_without_checksum_alone(void **state)
{
    (void)state;
    uint8_t frame[64];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(8, 8, 8, 8));
    size_t n = pcap_frame_udp(frame, sizeof frame, &h, 1000, 53, (const uint8_t *)"q", 1);
    frame[PCAP_L4_OFFSET + 6] = frame[PCAP_L4_OFFSET + 7] = 0;
    uint32_t src = IP4(20, 1, 2, 3);
    uint16_t port = 4000;
    assert_int_equal(pcap_frame_rewrite(frame, n, &src, &port, NULL, NULL), 0);
    assert_int_equal(get16(frame + PCAP_L4_OFFSET + 6), 0);
    assert_int_equal(get32(ip_of(frame) + 12), src);
    assert_int_equal(get16(frame + PCAP_L4_OFFSET), 4000);
    assert_true(ip_checksum_ok(frame));
}

static void rewrite_refuses_what_it_cannot_translate(void **state)
{
    (void)state;
    uint8_t frame[128], before[128];
    PcapL3 h = test_l3(IP4(10, 0, 1, 4), IP4(10, 0, 2, 5));
    uint32_t ip = IP4(1, 2, 3, 4);
    uint16_t port = 80;

    size_t n = pcap_frame_icmp_echo(frame, sizeof frame, &h, false, 1, 1, NULL, 0);
    memcpy(before, frame, n);
    assert_int_equal(pcap_frame_rewrite(frame, n, NULL, &port, NULL, NULL), -1);
    assert_memory_equal(frame, before, n);
    /* An ICMP address change needs no transport checksum change. */
    assert_int_equal(pcap_frame_rewrite(frame, n, &ip, NULL, NULL, NULL), 0);
    assert_true(ip_checksum_ok(frame));
    assert_true(l4_checksum_ok(frame));

    PcapTcp t = {.flags = PCAP_TCP_ACK};
    n = pcap_frame_tcp(frame, sizeof frame, &h, 1, 2, &t, NULL, 0);
    memcpy(before, frame, n);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(pcap_frame_rewrite(frame, cut, &ip, &port, &ip, &port), -1);
    assert_memory_equal(frame, before, n);
    frame[12] = 0x86;
    assert_int_equal(pcap_frame_rewrite(frame, n, &ip, NULL, NULL, NULL), -1);
    assert_int_equal(pcap_frame_rewrite(NULL, 0, &ip, NULL, NULL, NULL), -1);
}

/* ---- DNS --------------------------------------------------------------------------- */

static const PcapDnsRecord azure_chain[] = {
    {.name = "mlwsstore.blob.core.windows.net",
     .type = PCAP_DNS_CNAME,
     .ttl = 60,
     .target = "mlwsstore.privatelink.blob.core.windows.net"},
    {.name = "mlwsstore.privatelink.blob.core.windows.net",
     .type = PCAP_DNS_CNAME,
     .ttl = 300,
     .target = "blob.bl5prdstr09a.store.core.windows.net."},
    {.name = "blob.bl5prdstr09a.store.core.windows.net",
     .type = PCAP_DNS_A,
     .ttl = 10,
     .a = IP4(20, 60, 153, 33)},
    {.name = "blob.bl5prdstr09a.store.core.windows.net",
     .type = PCAP_DNS_AAAA,
     .ttl = 10,
     .aaaa = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x33}},
};

static const PcapDnsMessage azure_answer = {.id = 0xbeef,
                                            .response = true,
                                            .rd = true,
                                            .ra = true,
                                            .qname = "mlwsstore.blob.core.windows.net",
                                            .qtype = PCAP_DNS_A,
                                            .answers = azure_chain,
                                            .n_answers = G_N_ELEMENTS(azure_chain)};

static void dns_round_trip_with_compression_and_cname_chain(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = pcap_dns_encode(&azure_answer, buf, sizeof buf);
    assert_true(n > 0);
    /* The first answer's name is the question's: a pointer to offset 12. Each CNAME
     * target's tail (".blob.core.windows.net", ".core.windows.net") is compressed too. */
    size_t first_answer = 12 + 33 + 4;
    assert_int_equal(buf[first_answer], 0xc0);
    assert_int_equal(buf[first_answer + 1], 12);
    assert_true(n < 200);

    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    assert_int_equal(pcap_dns_decode(buf, n, d), 0);
    assert_int_equal(d->id, 0xbeef);
    assert_true(d->response && d->rd && d->ra && !d->aa && !d->tc);
    assert_int_equal(d->rcode, PCAP_DNS_NOERROR);
    assert_int_equal(d->qdcount, 1);
    assert_string_equal(d->qname, "mlwsstore.blob.core.windows.net");
    assert_int_equal(d->qtype, PCAP_DNS_A);
    assert_int_equal(d->qclass, 1);
    assert_int_equal(d->ancount, 4);
    assert_int_equal(d->n_answers, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(d->answers[i].name, azure_chain[i].name);
        assert_int_equal(d->answers[i].type, azure_chain[i].type);
        assert_int_equal(d->answers[i].ttl, azure_chain[i].ttl);
        assert_int_equal(d->answers[i].rclass, 1);
    }
    assert_string_equal(d->answers[0].target, "mlwsstore.privatelink.blob.core.windows.net");
    assert_string_equal(d->answers[1].target, "blob.bl5prdstr09a.store.core.windows.net");
    assert_int_equal(d->answers[2].a, IP4(20, 60, 153, 33));
    assert_string_equal(d->answers[2].target, "");
    assert_memory_equal(d->answers[3].aaaa, azure_chain[3].aaaa, 16);

    /* The query, and the NXDOMAIN answer to it. */
    PcapDnsMessage q = {.id = 7, .rd = true, .qname = "nosuch.example.", .qtype = PCAP_DNS_AAAA};
    n = pcap_dns_encode(&q, buf, sizeof buf);
    assert_int_equal(n, 12 + 16 + 4);
    assert_int_equal(pcap_dns_decode(buf, n, d), 0);
    assert_false(d->response);
    assert_string_equal(d->qname, "nosuch.example");
    assert_int_equal(d->qtype, PCAP_DNS_AAAA);
    q.response = true;
    q.rcode = PCAP_DNS_NXDOMAIN;
    n = pcap_dns_encode(&q, buf, sizeof buf);
    assert_int_equal(pcap_dns_decode(buf, n, d), 0);
    assert_int_equal(d->rcode, PCAP_DNS_NXDOMAIN);
    assert_int_equal(d->n_answers, 0);
    g_free(d);
}

static void dns_encode_refuses_invalid_input(void **state)
{
    (void)state;
    uint8_t buf[1024];
    char long_label[80], long_name[300];
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    for (size_t i = 0; i < 254; i++)
        long_name[i] = i % 2 ? '.' : 'x'; /* "x.x.…": 127 labels, 253 text + 2 = 255 */
    long_name[253] = '\0';
    const char *bad[] = {"a..b", ".a", "a.b..", long_label, NULL};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        PcapDnsMessage m = {.qname = bad[i] ? bad[i] : "ok", .qtype = 1};
        PcapDnsRecord rr = {.name = "ok", .type = PCAP_DNS_CNAME, .target = bad[i]};
        if (bad[i])
            assert_int_equal(pcap_dns_encode(&m, buf, sizeof buf), 0);
        m.qname = "ok";
        m.answers = &rr;
        m.n_answers = 1;
        assert_int_equal(pcap_dns_encode(&m, buf, sizeof buf), 0);
    }
    /* 255 octets on the wire is the limit: one more is refused. */
    PcapDnsMessage m = {.qname = long_name, .qtype = 1};
    assert_int_equal(pcap_dns_encode(&m, buf, sizeof buf), 12 + 255 + 4);
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    assert_int_equal(pcap_dns_decode(buf, 12 + 255 + 4, d), 0);
    assert_string_equal(d->qname, long_name);
    g_free(d);
    long_name[253] = 'x';
    long_name[254] = '\0';
    assert_int_equal(pcap_dns_encode(&m, buf, sizeof buf), 0);

    PcapDnsRecord mx = {.name = "a", .type = 15};
    PcapDnsMessage with_mx = {.answers = &mx, .n_answers = 1};
    assert_int_equal(pcap_dns_encode(&with_mx, buf, sizeof buf), 0);
    PcapDnsMessage bad_rcode = {.rcode = 16};
    assert_int_equal(pcap_dns_encode(&bad_rcode, buf, sizeof buf), 0);
    PcapDnsMessage root = {.qname = ".", .qtype = 2};
    assert_int_equal(pcap_dns_encode(&root, buf, sizeof buf), 12 + 1 + 4);
}

static void dns_decode_rejects_every_truncation(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = pcap_dns_encode(&azure_answer, buf, sizeof buf);
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = g_memdup2(buf, len ? len : 1);
        assert_int_equal(pcap_dns_decode(copy, len, d), -1);
        g_free(copy);
    }
    assert_int_equal(pcap_dns_decode(buf, n, d), 0);
    assert_int_equal(pcap_dns_decode(NULL, 0, d), -1);
    g_free(d);
}

static void dns_decode_rejects_pointer_loops_and_bad_labels(void **state)
{
    (void)state;
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    const uint8_t header[12] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
    uint8_t msg[64];
    struct {
        const char *what;
        uint8_t name[16];
        size_t len;
        int want;
    } cases[] = {
        {"pointer to itself", {0xc0, 12}, 2, -1},
        {"label then pointer back to it", {1, 'a', 0xc0, 12}, 4, -1},
        {"pointer forward", {0xc0, 14, 1, 'a', 0}, 5, -1},
        {"two pointers chasing each other", {0xc0, 14, 0xc0, 12}, 4, -1},
        {"extended label type 0x40", {0x41, 'a', 0}, 3, -1},
        {"reserved label type 0x80", {0x81, 'a', 0}, 3, -1},
        {"label past the end", {9, 'a', 'b'}, 3, -1},
        {"pointer cut in half", {0xc0}, 1, -1},
        {"fine", {1, 'a', 0}, 3, 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        memcpy(msg, header, 12);
        memcpy(msg + 12, cases[i].name, cases[i].len);
        memcpy(msg + 12 + cases[i].len, "\0\1\0\1", 4);
        int got = pcap_dns_decode(msg, 12 + cases[i].len + 4, d);
        if (got != cases[i].want)
            fail_msg("%s: got %d", cases[i].what, got);
    }

    /* A backward pointer chain is fine: the answer points at the question. */
    const uint8_t ok[] = {0,    1,   0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                          3,    'f', 'o',  'o',  0, 0, 1, 0, 1,          /* question */
                          0xc0, 12,  0,    5,    0, 1, 0, 0, 0, 9, 0, 2, /* CNAME */
                          0xc0, 12};
    assert_int_equal(pcap_dns_decode(ok, sizeof ok, d), 0);
    assert_string_equal(d->answers[0].name, "foo");
    assert_string_equal(d->answers[0].target, "foo");
    /* An A record must hold 4 octets, and CNAME RDATA must end with its name. */
    uint8_t bad_a[sizeof ok];
    memcpy(bad_a, ok, sizeof ok);
    bad_a[24] = 1;
    assert_int_equal(pcap_dns_decode(bad_a, sizeof bad_a, d), -1);
    uint8_t long_rdata[sizeof ok + 1];
    memcpy(long_rdata, ok, sizeof ok);
    long_rdata[32] = 3;
    long_rdata[sizeof ok] = 0;
    assert_int_equal(pcap_dns_decode(long_rdata, sizeof long_rdata, d), -1);
    g_free(d);
}

static void dns_decode_escapes_binary_labels(void **state)
{
    (void)state;
    const uint8_t msg[] = {0,   1,   0,    0,    0, 1,   0,    0, 0, 0, 0, 0, 4,
                           'a', '.', 0x00, '\\', 2, ' ', 0xff, 0, 0, 1, 0, 1};
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    assert_int_equal(pcap_dns_decode(msg, sizeof msg, d), 0);
    assert_string_equal(d->qname, "a\\046\\000\\092.\\032\\255");
    g_free(d);
}

static void dns_decode_keeps_the_first_16_answers(void **state)
{
    (void)state;
    PcapDnsRecord rr[20];
    for (size_t i = 0; i < G_N_ELEMENTS(rr); i++)
        rr[i] = (PcapDnsRecord){.name = "many.example", .type = PCAP_DNS_A, .a = (uint32_t)i};
    PcapDnsMessage m = {.response = true,
                        .qname = "many.example",
                        .qtype = 1,
                        .answers = rr,
                        .n_answers = G_N_ELEMENTS(rr)};
    uint8_t buf[1024];
    size_t n = pcap_dns_encode(&m, buf, sizeof buf);
    assert_int_equal(n, 12 + 14 + 4 + 20 * 16);
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    assert_int_equal(pcap_dns_decode(buf, n, d), 0);
    assert_int_equal(d->ancount, 20);
    assert_int_equal(d->n_answers, PCAP_DNS_MAX_DECODE);
    assert_int_equal(d->answers[15].a, 15);
    /* The ones not kept are still checked. */
    assert_int_equal(pcap_dns_decode(buf, n - 1, d), -1);
    g_free(d);
}

static void check_decoded_strings(const PcapDnsDecoded *d)
{
    assert_true(memchr(d->qname, '\0', sizeof d->qname) != NULL);
    assert_true(d->n_answers <= PCAP_DNS_MAX_DECODE);
    for (size_t i = 0; i < d->n_answers; i++) {
        assert_true(memchr(d->answers[i].name, '\0', PCAP_DNS_TEXT_MAX) != NULL);
        assert_true(memchr(d->answers[i].target, '\0', PCAP_DNS_TEXT_MAX) != NULL);
    }
}

/* tcpdump's rule: the decoder will meet any octets at all. Random messages (with small
 * counts so that parsing gets past the header) and random mutations of a valid one. */
static void dns_decode_survives_random_octets(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 1035);
    PcapDnsDecoded *d = g_new(PcapDnsDecoded, 1);
    int accepted = 0;
    for (int round = 0; round < 100000; round++) {
        size_t len = sim_rng_below(&rng, 300);
        uint8_t *buf = g_malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)sim_rng_next(&rng);
        for (size_t i = 4; i < 12 && i + 1 < len; i += 2) {
            buf[i] = 0;
            buf[i + 1] = (uint8_t)sim_rng_below(&rng, 4);
        }
        /* Favour label-ish octets so names get deep. */
        for (size_t i = 12; i < len; i++)
            if (sim_rng_below(&rng, 3) == 0)
                buf[i] = (uint8_t)(sim_rng_below(&rng, 2) ? sim_rng_below(&rng, 8) : 0xc0);
        if (pcap_dns_decode(buf, len, d) == 0) {
            accepted++;
            check_decoded_strings(d);
        }
        g_free(buf);
    }

    uint8_t valid[512];
    size_t n = pcap_dns_encode(&azure_answer, valid, sizeof valid);
    for (int round = 0; round < 100000; round++) {
        uint8_t *buf = g_memdup2(valid, n);
        unsigned flips = 1 + (unsigned)sim_rng_below(&rng, 4);
        for (unsigned f = 0; f < flips; f++)
            buf[sim_rng_below(&rng, n)] = (uint8_t)sim_rng_next(&rng);
        size_t len = sim_rng_below(&rng, 4) ? n : sim_rng_below(&rng, n + 1);
        if (pcap_dns_decode(buf, len, d) == 0) {
            accepted++;
            check_decoded_strings(d);
        }
        g_free(buf);
    }
    assert_true(accepted > 1000); /* the fuzzer did reach the record parser */
    g_free(d);
}

static void dns_names_come_from_one_list(void **state)
{
    (void)state;
    assert_string_equal(pcap_dns_type_name(PCAP_DNS_CNAME), "CNAME");
    assert_string_equal(pcap_dns_type_name(PCAP_DNS_AAAA), "AAAA");
    assert_null(pcap_dns_type_name(15));
    assert_string_equal(pcap_dns_rcode_name(PCAP_DNS_NXDOMAIN), "NXDOMAIN");
    assert_string_equal(pcap_dns_rcode_name(PCAP_DNS_NOERROR), "NOERROR");
    assert_null(pcap_dns_rcode_name(1));
}

/* ---- TLS --------------------------------------------------------------------------- */

static void tls_client_hello_lengths_nest_and_carry_the_sni(void **state)
{
    (void)state;
    uint8_t buf[1024];
    const char *sni = "mlwsstore.blob.core.windows.net";
    size_t n = pcap_tls_client_hello(buf, sizeof buf, sni, tls_random);
    assert_true(n > 0);
    assert_int_equal(buf[0], 22);
    assert_int_equal(get16(buf + 1), 0x0301);
    assert_int_equal(get16(buf + 3), n - 5);
    assert_int_equal(buf[5], 1);
    assert_int_equal((size_t)buf[6] << 16 | get16(buf + 7), n - 9);
    assert_int_equal(get16(buf + 9), 0x0303);
    assert_memory_equal(buf + 11, tls_random, 32);

    /* Walk to the extensions and check that their lengths add up exactly. */
    size_t p = 11 + 32;
    p += 1 + buf[p];         /* session id */
    p += 2 + get16(buf + p); /* cipher suites */
    p += 1 + buf[p];         /* compression */
    size_t ext_end = p + 2 + get16(buf + p);
    assert_int_equal(ext_end, n);
    bool saw_sni = false;
    for (p += 2; p < ext_end; p += 4 + get16(buf + p + 2)) {
        if (get16(buf + p) == 0) {
            const uint8_t *e = buf + p + 4;
            assert_int_equal(get16(e), strlen(sni) + 3);
            assert_int_equal(e[2], 0);
            assert_int_equal(get16(e + 3), strlen(sni));
            assert_memory_equal(e + 5, sni, strlen(sni));
            saw_sni = true;
        }
    }
    assert_int_equal(p, ext_end);
    assert_true(saw_sni);

    size_t without = pcap_tls_client_hello(buf, sizeof buf, NULL, tls_random);
    assert_int_equal(without, n - 4 - 5 - strlen(sni));
    char long_sni[300];
    memset(long_sni, 'a', sizeof long_sni - 1);
    long_sni[sizeof long_sni - 1] = '\0';
    assert_int_equal(pcap_tls_client_hello(buf, sizeof buf, long_sni, tls_random), 0);
}

static void tls_application_data_is_deterministic(void **state)
{
    (void)state;
    uint8_t a[PCAP_TLS_RECORD_MAX + 5], b[PCAP_TLS_RECORD_MAX + 5];
    assert_int_equal(pcap_tls_application_data(a, sizeof a, 1000, 7), 1005);
    assert_int_equal(pcap_tls_application_data(b, sizeof b, 1000, 7), 1005);
    assert_memory_equal(a, b, 1005);
    assert_int_equal(a[0], 23);
    assert_int_equal(get16(a + 3), 1000);
    assert_int_equal(pcap_tls_application_data(b, sizeof b, 1000, 8), 1005);
    assert_memory_not_equal(a + 5, b + 5, 1000);
    /* A shorter record is a prefix of the longer one's content. */
    assert_int_equal(pcap_tls_application_data(b, sizeof b, 13, 7), 18);
    assert_memory_equal(a + 5, b + 5, 8);
    assert_int_equal(pcap_tls_application_data(a, sizeof a, PCAP_TLS_RECORD_MAX, 1),
                     PCAP_TLS_RECORD_MAX + 5);
    assert_int_equal(pcap_tls_application_data(a, sizeof a, PCAP_TLS_RECORD_MAX + 1, 1), 0);
    assert_int_equal(pcap_tls_alert(a, sizeof a, 2, 40), 7);
    const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
    assert_memory_equal(a, alert, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksum_matches_rfc1071_example),
        cmocka_unit_test(checksum_matches_reference_at_every_length_and_alignment),
        cmocka_unit_test(udp_frame_has_the_fields_asked_for),
        cmocka_unit_test(tcp_syn_carries_the_mss_option),
        cmocka_unit_test(icmp_error_quotes_header_and_8_octets),
        cmocka_unit_test(icmp_echo_checksum_is_valid),
        cmocka_unit_test(builders_never_write_past_cap),
        cmocka_unit_test(builders_refuse_oversized_datagrams),
        cmocka_unit_test(forward_decrements_ttl_and_keeps_checksum_valid),
        cmocka_unit_test(rewrite_keeps_ip_and_l4_checksums_valid),
        cmocka_unit_test(rewrite_leaves_udp_without_checksum_alone),
        cmocka_unit_test(rewrite_refuses_what_it_cannot_translate),
        cmocka_unit_test(dns_round_trip_with_compression_and_cname_chain),
        cmocka_unit_test(dns_encode_refuses_invalid_input),
        cmocka_unit_test(dns_decode_rejects_every_truncation),
        cmocka_unit_test(dns_decode_rejects_pointer_loops_and_bad_labels),
        cmocka_unit_test(dns_decode_escapes_binary_labels),
        cmocka_unit_test(dns_decode_keeps_the_first_16_answers),
        cmocka_unit_test(dns_decode_survives_random_octets),
        cmocka_unit_test(dns_names_come_from_one_list),
        cmocka_unit_test(tls_client_hello_lengths_nest_and_carry_the_sni),
        cmocka_unit_test(tls_application_data_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
