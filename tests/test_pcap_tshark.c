/* Captures checked by an independent dissector: every frame type the simulator emits is
 * written to a pcap, and tshark must read back exactly what was asked for, with no
 * malformed frame and no checksum error. Also the capture file's atomic life cycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "pcap/capture.h"
#include "pcap/dns.h"
#include "pcap/frame.h"
#include "pcap/tls.h"
#include "tshark_util.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* The columns compared for every frame, in tshark's -e order. */
#define FIELD_LIST(X)                                                                              \
    X(F_TIME, "frame.time_epoch")                                                                  \
    X(F_IP_SRC, "ip.src")                                                                          \
    X(F_IP_DST, "ip.dst")                                                                          \
    X(F_IP_TTL, "ip.ttl")                                                                          \
    X(F_UDP_SPORT, "udp.srcport")                                                                  \
    X(F_UDP_DPORT, "udp.dstport")                                                                  \
    X(F_TCP_SPORT, "tcp.srcport")                                                                  \
    X(F_TCP_DPORT, "tcp.dstport")                                                                  \
    X(F_TCP_FLAGS, "tcp.flags")                                                                    \
    X(F_TCP_SEQ, "tcp.seq_raw")                                                                    \
    X(F_TCP_ACK, "tcp.ack_raw")                                                                    \
    X(F_TCP_MSS, "tcp.options.mss_val")                                                            \
    X(F_TCP_LEN, "tcp.len")                                                                        \
    X(F_ICMP_TYPE, "icmp.type")                                                                    \
    X(F_ICMP_CODE, "icmp.code")                                                                    \
    X(F_ICMP_IDENT, "icmp.ident")                                                                  \
    X(F_ICMP_SEQ, "icmp.seq")                                                                      \
    X(F_DNS_ID, "dns.id")                                                                          \
    X(F_DNS_QRY, "dns.qry.name")                                                                   \
    X(F_DNS_RESP, "dns.resp.name")                                                                 \
    X(F_DNS_CNAME, "dns.cname")                                                                    \
    X(F_DNS_A, "dns.a")                                                                            \
    X(F_DNS_RCODE, "dns.flags.rcode")                                                              \
    X(F_TLS_HS, "tls.handshake.type")                                                              \
    X(F_TLS_SNI, "tls.handshake.extensions_server_name")                                           \
    X(F_TLS_VERSION, "tls.handshake.extensions.supported_version")                                 \
    X(F_TLS_ALPN, "tls.handshake.extensions_alpn_str")                                             \
    X(F_TLS_CT, "tls.record.content_type")                                                         \
    X(F_TLS_OPAQUE_CT, "tls.record.opaque_type")

#define FIELD_ENUM(id, name) id,
enum { FIELD_LIST(FIELD_ENUM) N_FIELDS };
#define FIELD_NAME(id, name) name,
static const char *const field_names[N_FIELDS] = {FIELD_LIST(FIELD_NAME)};

#define MAX_FRAMES 64

/* A capture being written, and what tshark should say about each frame of it. */
typedef struct {
    PcapCapture *cap;
    uint8_t *frame; /* PCAP_FRAME_MAX octets */
    size_t n;
    char *expect[MAX_FRAMES][N_FIELDS]; /* NULL: field absent */
} Writer;

static const uint8_t mac_vm[6] = {0x00, 0x0d, 0x3a, 0x00, 0x01, 0x04};
/* Azure answers every ARP with this virtual MAC: all off-VM traffic is addressed to it. */
static const uint8_t mac_gw[6] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};

static const uint32_t ip_vm = IP4(10, 0, 1, 4);
static const uint32_t ip_pe = IP4(10, 0, 1, 6); /* storage private endpoint */
static const uint32_t ip_dns = IP4(168, 63, 129, 16);
static const uint32_t ip_app = IP4(10, 0, 2, 5);
static const uint32_t ip_router = IP4(10, 0, 1, 1);
static const uint32_t ip_far = IP4(10, 0, 3, 9);
static const uint32_t ip_nat = IP4(20, 61, 7, 200); /* NAT gateway public address */

static char *ip_text(uint32_t ip)
{
    return g_strdup_printf("%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

static PcapL3 l3(uint32_t src, uint32_t dst, uint16_t id)
{
    bool from_vm = src == ip_vm;
    PcapL3 h = {.src_ip = src, .dst_ip = dst, .ip_id = id, .dont_fragment = true};
    memcpy(h.src_mac, from_vm ? mac_vm : mac_gw, 6);
    memcpy(h.dst_mac, from_vm ? mac_gw : mac_vm, 6);
    return h;
}

static void expect(Writer *w, int field, char *value)
{
    g_free(w->expect[w->n][field]);
    w->expect[w->n][field] = value;
}

/* Writes w->frame[0..len) at t and records the fields every IPv4 frame has. */
static void emit(Writer *w, uint64_t t, size_t len)
{
    assert_true(len > 0);
    assert_true(w->n < MAX_FRAMES);
    pcap_capture_write(w->cap, t, w->frame, len);
    expect(w, F_TIME,
           g_strdup_printf("%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT,
                           PCAP_EPOCH_S + t / 1000000000u, t % 1000000000u));
    w->n++;
}

static void expect_ip(Writer *w, const PcapL3 *h)
{
    expect(w, F_IP_SRC, ip_text(h->src_ip));
    expect(w, F_IP_DST, ip_text(h->dst_ip));
    expect(w, F_IP_TTL, g_strdup_printf("%u", h->ttl ? h->ttl : 64));
}

static void udp(Writer *w, uint64_t t, const PcapL3 *h, uint16_t sport, uint16_t dport,
                const void *payload, size_t len)
{
    size_t n = pcap_frame_udp(w->frame, PCAP_FRAME_MAX, h, sport, dport, payload, len);
    expect_ip(w, h);
    expect(w, F_UDP_SPORT, g_strdup_printf("%u", sport));
    expect(w, F_UDP_DPORT, g_strdup_printf("%u", dport));
    emit(w, t, n);
}

static void tcp(Writer *w, uint64_t t, const PcapL3 *h, uint16_t sport, uint16_t dport,
                const PcapTcp *seg, const void *payload, size_t len)
{
    size_t n = pcap_frame_tcp(w->frame, PCAP_FRAME_MAX, h, sport, dport, seg, payload, len);
    expect_ip(w, h);
    expect(w, F_TCP_SPORT, g_strdup_printf("%u", sport));
    expect(w, F_TCP_DPORT, g_strdup_printf("%u", dport));
    expect(w, F_TCP_FLAGS, g_strdup_printf("0x%04x", seg->flags));
    expect(w, F_TCP_SEQ, g_strdup_printf("%u", seg->seq));
    /* tshark shows the raw field whether or not ACK is set. */
    expect(w, F_TCP_ACK, g_strdup_printf("%u", seg->ack));
    if ((seg->flags & PCAP_TCP_SYN) && seg->mss)
        expect(w, F_TCP_MSS, g_strdup_printf("%u", seg->mss));
    expect(w, F_TCP_LEN, g_strdup_printf("%zu", len));
    emit(w, t, n);
}

static void dns(Writer *w, uint64_t t, const PcapDnsMessage *msg, const char *resp_names,
                const char *cnames, const char *addrs)
{
    uint8_t payload[512];
    size_t len = pcap_dns_encode(msg, payload, sizeof payload);
    assert_true(len > 0);
    PcapL3 h = msg->response ? l3(ip_dns, ip_vm, 0) : l3(ip_vm, ip_dns, msg->id);
    uint16_t vm_port = (uint16_t)(50000 + msg->id % 1000);
    expect(w, F_DNS_ID, g_strdup_printf("0x%04x", msg->id));
    expect(w, F_DNS_QRY, g_strdup(msg->qname));
    expect(w, F_DNS_RESP, resp_names ? g_strdup(resp_names) : NULL);
    expect(w, F_DNS_CNAME, cnames ? g_strdup(cnames) : NULL);
    expect(w, F_DNS_A, addrs ? g_strdup(addrs) : NULL);
    /* Queries have no reply code to show. */
    expect(w, F_DNS_RCODE, msg->response ? g_strdup_printf("%u", msg->rcode) : NULL);
    if (msg->response)
        udp(w, t, &h, PCAP_DNS_PORT, vm_port, payload, len);
    else
        udp(w, t, &h, vm_port, PCAP_DNS_PORT, payload, len);
}

static void free_expectations(Writer *w)
{
    for (size_t i = 0; i < MAX_FRAMES; i++)
        for (int f = 0; f < N_FIELDS; f++)
            g_free(w->expect[i][f]);
}

typedef struct {
    gchar *dir;
    gchar *path;
} TmpCapture;

static int make_tmp(void **state)
{
    TmpCapture *tc = g_new0(TmpCapture, 1);
    GError *error = NULL;
    tc->dir = g_dir_make_tmp("vnetsim-pcap-XXXXXX", &error);
    assert_non_null(tc->dir);
    tc->path = g_build_filename(tc->dir, "run.pcap", NULL);
    *state = tc;
    return 0;
}

static int remove_tmp(void **state)
{
    TmpCapture *tc = *state;
    GDir *d = g_dir_open(tc->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        gchar *p = g_build_filename(tc->dir, name, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(tc->dir);
    g_free(tc->dir);
    g_free(tc->path);
    g_free(tc);
    return 0;
}

static char *tmp_name(const TmpCapture *tc)
{
    return g_strconcat(tc->path, ".tmp", NULL);
}

/* The DNS exchanges of a VM resolving its workspace storage account through a private
 * endpoint, a name that does not exist, and a resolver that fails. */
static void write_dns(Writer *w)
{
    const PcapDnsMessage query = {
        .id = 0x1001, .rd = true, .qname = "mlwsstore.blob.core.windows.net", .qtype = PCAP_DNS_A};
    dns(w, 1000000123u, &query, NULL, NULL, NULL);
    const PcapDnsRecord chain[] = {
        {.name = "mlwsstore.blob.core.windows.net",
         .type = PCAP_DNS_CNAME,
         .ttl = 60,
         .target = "mlwsstore.privatelink.blob.core.windows.net"},
        {.name = "mlwsstore.privatelink.blob.core.windows.net",
         .type = PCAP_DNS_A,
         .ttl = 10,
         .a = ip_pe},
    };
    PcapDnsMessage answer = query;
    answer.response = answer.ra = true;
    answer.answers = chain;
    answer.n_answers = G_N_ELEMENTS(chain);
    dns(w, 1001500000u, &answer,
        "mlwsstore.blob.core.windows.net,mlwsstore.privatelink.blob.core.windows.net",
        "mlwsstore.privatelink.blob.core.windows.net", "10.0.1.6");

    /* Without a private endpoint the public chain has two CNAMEs. */
    const PcapDnsMessage query2 = {
        .id = 0x1002, .rd = true, .qname = "mlwslogs.blob.core.windows.net", .qtype = PCAP_DNS_A};
    dns(w, 1002000000u, &query2, NULL, NULL, NULL);
    const PcapDnsRecord chain2[] = {
        {.name = "mlwslogs.blob.core.windows.net",
         .type = PCAP_DNS_CNAME,
         .ttl = 60,
         .target = "mlwslogs.privatelink.blob.core.windows.net"},
        {.name = "mlwslogs.privatelink.blob.core.windows.net",
         .type = PCAP_DNS_CNAME,
         .ttl = 60,
         .target = "blob.bl5prdstr09a.store.core.windows.net"},
        {.name = "blob.bl5prdstr09a.store.core.windows.net",
         .type = PCAP_DNS_A,
         .ttl = 60,
         .a = IP4(20, 60, 153, 33)},
    };
    PcapDnsMessage answer2 = query2;
    answer2.response = answer2.ra = true;
    answer2.answers = chain2;
    answer2.n_answers = G_N_ELEMENTS(chain2);
    dns(w, 1003000000u, &answer2,
        "mlwslogs.blob.core.windows.net,mlwslogs.privatelink.blob.core.windows.net,"
        "blob.bl5prdstr09a.store.core.windows.net",
        "mlwslogs.privatelink.blob.core.windows.net,blob.bl5prdstr09a.store.core.windows.net",
        "20.60.153.33");

    const PcapDnsMessage query3 = {.id = 0x1003,
                                   .rd = true,
                                   .qname = "nosuch.privatelink.blob.core.windows.net",
                                   .qtype = PCAP_DNS_A};
    dns(w, 1004000000u, &query3, NULL, NULL, NULL);
    PcapDnsMessage nx = query3;
    nx.response = nx.ra = true;
    nx.rcode = PCAP_DNS_NXDOMAIN;
    dns(w, 1004000001u, &nx, NULL, NULL, NULL);

    const PcapDnsMessage query4 = {
        .id = 0x1004, .rd = true, .qname = "mlws.api.azureml.ms", .qtype = PCAP_DNS_A};
    dns(w, 1005000000u, &query4, NULL, NULL, NULL);
    PcapDnsMessage fail = query4;
    fail.response = fail.ra = true;
    fail.rcode = PCAP_DNS_SERVFAIL;
    dns(w, 2005000000u, &fail, NULL, NULL, NULL);
}

/* An HTTPS connection to the storage private endpoint, from SYN to FIN, and a port with
 * no listener answering RST. */
static void write_tcp(Writer *w)
{
    const uint16_t cport = 50000, sport = PCAP_TLS_PORT;
    PcapL3 c2s = l3(ip_vm, ip_pe, 100), s2c = l3(ip_pe, ip_vm, 200);
    uint32_t cseq = 3000000000u, sseq = 123456789u; /* client seq wraps on purpose later */
    uint64_t t = 3000000000u;

    PcapTcp syn = {.seq = cseq, .flags = PCAP_TCP_SYN, .window = 64240, .mss = 1460};
    tcp(w, t, &c2s, cport, sport, &syn, NULL, 0);
    PcapTcp synack = {.seq = sseq,
                      .ack = cseq + 1,
                      .flags = PCAP_TCP_SYN | PCAP_TCP_ACK,
                      .window = 65535,
                      .mss = 1418};
    tcp(w, t += 1500000, &s2c, sport, cport, &synack, NULL, 0);
    cseq++, sseq++;
    c2s.ip_id++;
    PcapTcp ack = {.seq = cseq, .ack = sseq, .flags = PCAP_TCP_ACK, .window = 502};
    tcp(w, t += 20000, &c2s, cport, sport, &ack, NULL, 0);

    uint8_t random[32];
    for (size_t i = 0; i < sizeof random; i++)
        random[i] = (uint8_t)(i * 7 + 1);
    uint8_t rec[1024];
    size_t n = pcap_tls_client_hello(rec, sizeof rec, "mlwsstore.blob.core.windows.net", random);
    assert_true(n > 0);
    c2s.ip_id++;
    PcapTcp psh = {.seq = cseq, .ack = sseq, .flags = PCAP_TCP_PSH | PCAP_TCP_ACK, .window = 502};
    expect(w, F_TLS_HS, g_strdup("1"));
    expect(w, F_TLS_SNI, g_strdup("mlwsstore.blob.core.windows.net"));
    expect(w, F_TLS_VERSION, g_strdup("0x0304,0x0303"));
    expect(w, F_TLS_ALPN, g_strdup("h2,http/1.1"));
    expect(w, F_TLS_CT, g_strdup("22"));
    tcp(w, t += 100000, &c2s, cport, sport, &psh, rec, n);
    cseq += (uint32_t)n;

    n = pcap_tls_server_hello(rec, sizeof rec, random);
    assert_true(n > 0);
    s2c.ip_id++;
    PcapTcp spsh = {.seq = sseq, .ack = cseq, .flags = PCAP_TCP_PSH | PCAP_TCP_ACK, .window = 501};
    expect(w, F_TLS_HS, g_strdup("2"));
    expect(w, F_TLS_VERSION, g_strdup("0x0304"));
    expect(w, F_TLS_CT, g_strdup("22"));
    tcp(w, t += 1400000, &s2c, sport, cport, &spsh, rec, n);
    sseq += (uint32_t)n;

    n = pcap_tls_application_data(rec, sizeof rec, 600, 42);
    assert_int_equal(n, 605);
    c2s.ip_id++;
    psh.seq = cseq;
    psh.ack = sseq;
    /* After a TLS 1.3 ServerHello the outer type is the opaque_type (RFC 8446 5.2). */
    expect(w, F_TLS_OPAQUE_CT, g_strdup("23"));
    tcp(w, t += 30000, &c2s, cport, sport, &psh, rec, n);
    cseq += (uint32_t)n;

    c2s.ip_id++;
    PcapTcp fin = {.seq = cseq, .ack = sseq, .flags = PCAP_TCP_FIN | PCAP_TCP_ACK, .window = 502};
    tcp(w, t += 5000000, &c2s, cport, sport, &fin, NULL, 0);
    s2c.ip_id++;
    PcapTcp sfin = {
        .seq = sseq, .ack = cseq + 1, .flags = PCAP_TCP_FIN | PCAP_TCP_ACK, .window = 501};
    tcp(w, t += 1000000, &s2c, sport, cport, &sfin, NULL, 0);
    c2s.ip_id++;
    PcapTcp last = {.seq = cseq + 1, .ack = sseq + 1, .flags = PCAP_TCP_ACK, .window = 502};
    tcp(w, t += 20000, &c2s, cport, sport, &last, NULL, 0);

    /* Nothing listens on 8080: the SYN meets RST/ACK. */
    PcapL3 c2a = l3(ip_vm, ip_app, 300), a2c = l3(ip_app, ip_vm, 0);
    PcapTcp syn2 = {.seq = 77, .flags = PCAP_TCP_SYN, .window = 64240, .mss = 1460};
    tcp(w, t += 1000000, &c2a, 50001, 8080, &syn2, NULL, 0);
    PcapTcp rst = {.seq = 0, .ack = 78, .flags = PCAP_TCP_RST | PCAP_TCP_ACK};
    tcp(w, t += 900000, &a2c, 8080, 50001, &rst, NULL, 0);
}

/* Ping, a traceroute hop, and a port unreachable. */
static void write_icmp(Writer *w)
{
    uint64_t t = 4000000000u;
    uint8_t data[32];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)('a' + i % 23);
    PcapL3 h = l3(ip_vm, ip_app, 400);
    size_t n =
        pcap_frame_icmp_echo(w->frame, PCAP_FRAME_MAX, &h, false, 0x77, 1, data, sizeof data);
    expect_ip(w, &h);
    expect(w, F_ICMP_TYPE, g_strdup("8"));
    expect(w, F_ICMP_CODE, g_strdup("0"));
    expect(w, F_ICMP_IDENT, g_strdup("119"));
    expect(w, F_ICMP_SEQ, g_strdup("1"));
    emit(w, t, n);
    h = l3(ip_app, ip_vm, 401);
    n = pcap_frame_icmp_echo(w->frame, PCAP_FRAME_MAX, &h, true, 0x77, 1, data, sizeof data);
    expect_ip(w, &h);
    expect(w, F_ICMP_TYPE, g_strdup("0"));
    expect(w, F_ICMP_CODE, g_strdup("0"));
    expect(w, F_ICMP_IDENT, g_strdup("119"));
    expect(w, F_ICMP_SEQ, g_strdup("1"));
    emit(w, t += 700000, n);

    /* A TTL-1 probe dies at the first router, which quotes it back. */
    uint8_t probe[128];
    PcapL3 ph = l3(ip_vm, ip_far, 500);
    ph.ttl = 1;
    ph.dont_fragment = false;
    size_t pn = pcap_frame_udp(probe, sizeof probe, &ph, 33434, 33434, data, 12);
    assert_true(pn > 0);
    udp(w, t += 1000000, &ph, 33434, 33434, data, 12);
    PcapL3 rh = l3(ip_router, ip_vm, 501);
    n = pcap_frame_icmp_error(w->frame, PCAP_FRAME_MAX, &rh, 11, 0, probe + PCAP_ETH_HLEN,
                              pn - PCAP_ETH_HLEN);
    expect(w, F_IP_SRC, g_strdup("10.0.1.1,10.0.1.4"));
    expect(w, F_IP_DST, g_strdup("10.0.1.4,10.0.3.9"));
    expect(w, F_IP_TTL, g_strdup("64,1"));
    expect(w, F_UDP_SPORT, g_strdup("33434"));
    expect(w, F_UDP_DPORT, g_strdup("33434"));
    expect(w, F_ICMP_TYPE, g_strdup("11"));
    expect(w, F_ICMP_CODE, g_strdup("0"));
    emit(w, t += 300000, n);

    /* A datagram to a closed port is answered with type 3, code 3. */
    ph = l3(ip_vm, ip_app, 502);
    pn = pcap_frame_udp(probe, sizeof probe, &ph, 40001, 9999, data, 20);
    udp(w, t += 1000000, &ph, 40001, 9999, data, 20);
    rh = l3(ip_app, ip_vm, 503);
    n = pcap_frame_icmp_error(w->frame, PCAP_FRAME_MAX, &rh, 3, 3, probe + PCAP_ETH_HLEN,
                              pn - PCAP_ETH_HLEN);
    expect(w, F_IP_SRC, g_strdup("10.0.2.5,10.0.1.4"));
    expect(w, F_IP_DST, g_strdup("10.0.1.4,10.0.2.5"));
    expect(w, F_IP_TTL, g_strdup("64,64"));
    expect(w, F_UDP_SPORT, g_strdup("40001"));
    expect(w, F_UDP_DPORT, g_strdup("9999"));
    expect(w, F_ICMP_TYPE, g_strdup("3"));
    expect(w, F_ICMP_CODE, g_strdup("3"));
    emit(w, t += 300000, n);
}

/* Frames changed on the way: routed twice (TTL 62), then source-NATed by a NAT gateway,
 * and a SYN destination-NATed by a firewall. The checksums must still hold. */
static void write_rewritten(Writer *w)
{
    uint64_t t = 5000000000u;
    PcapL3 h = l3(ip_vm, IP4(52, 239, 1, 1), 600);
    const char msg[] = "telemetry";
    size_t n = pcap_frame_udp(w->frame, PCAP_FRAME_MAX, &h, 41000, 8125, (const uint8_t *)msg,
                              sizeof msg - 1);
    assert_int_equal(pcap_frame_forward(w->frame), 63);
    assert_int_equal(pcap_frame_forward(w->frame), 62);
    uint32_t src = ip_nat;
    uint16_t sport = 1024;
    assert_int_equal(pcap_frame_rewrite(w->frame, n, &src, &sport, NULL, NULL), 0);
    expect(w, F_IP_SRC, ip_text(ip_nat));
    expect(w, F_IP_DST, g_strdup("52.239.1.1"));
    expect(w, F_IP_TTL, g_strdup("62"));
    expect(w, F_UDP_SPORT, g_strdup("1024"));
    expect(w, F_UDP_DPORT, g_strdup("8125"));
    emit(w, t, n);

    h = l3(IP4(203, 0, 113, 9), ip_nat, 601);
    PcapTcp syn = {.seq = 0xfffffff0u, .flags = PCAP_TCP_SYN, .window = 29200, .mss = 1380};
    n = pcap_frame_tcp(w->frame, PCAP_FRAME_MAX, &h, 61000, 443, &syn, NULL, 0);
    uint32_t dst = ip_app;
    uint16_t dport = 8443;
    assert_int_equal(pcap_frame_rewrite(w->frame, n, NULL, NULL, &dst, &dport), 0);
    expect(w, F_IP_SRC, g_strdup("203.0.113.9"));
    expect(w, F_IP_DST, ip_text(ip_app));
    expect(w, F_IP_TTL, g_strdup("64"));
    expect(w, F_TCP_SPORT, g_strdup("61000"));
    expect(w, F_TCP_DPORT, g_strdup("8443"));
    expect(w, F_TCP_FLAGS, g_strdup("0x0002"));
    expect(w, F_TCP_SEQ, g_strdup("4294967280"));
    expect(w, F_TCP_ACK, g_strdup("0"));
    expect(w, F_TCP_MSS, g_strdup("1380"));
    expect(w, F_TCP_LEN, g_strdup("0"));
    emit(w, t + 1, n);
}

static void every_frame_type_reads_back_clean(void **state)
{
    TmpCapture *tc = *state;
    if (!tshark_available())
        skip();

    Writer *w = g_new0(Writer, 1);
    w->frame = g_malloc(PCAP_FRAME_MAX);
    GError *error = NULL;
    w->cap = pcap_capture_open(tc->path, &error);
    assert_non_null(w->cap);

    PcapL3 h = l3(ip_vm, ip_app, 7);
    const char hello[] = "hello";
    udp(w, 0, &h, 40000, 9000, hello, sizeof hello - 1);
    write_dns(w);
    write_tcp(w);
    write_icmp(w);
    write_rewritten(w);

    uint64_t frames = pcap_capture_frames(w->cap), bytes = pcap_capture_bytes(w->cap);
    assert_int_equal(frames, w->n);
    assert_int_equal(pcap_capture_commit(w->cap, &error), 0);
    assert_null(error);

    GStatBuf st;
    assert_int_equal(g_stat(tc->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, bytes);
    char *tmp = tmp_name(tc);
    assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_free(tmp);

    /* An independent reader must find nothing wrong: no malformed frame, no expert
     * error (bad checksums are errors once checking is on). */
    long bad = tshark_count(tc->path, TSHARK_BAD_FRAMES);
    if (bad != 0) {
        const char *args[] = {"-Y", TSHARK_BAD_FRAMES, "-V"};
        gchar **lines = tshark_run(tc->path, args, G_N_ELEMENTS(args));
        for (gchar **l = lines; l && *l; l++)
            fprintf(stderr, "%s\n", *l);
        g_strfreev(lines);
    }
    assert_int_equal(bad, 0);
    assert_int_equal(tshark_count(tc->path, NULL), (long)w->n);
    /* And every checksum was actually verified good, not skipped (1 is "Good"); the UDP
     * header quoted in an ICMP error cannot be, its payload being cut off. */
    assert_int_equal(tshark_count(tc->path, "!(ip.checksum.status == 1) || "
                                            "(tcp && !(tcp.checksum.status == 1)) || "
                                            "(udp && !icmp && !(udp.checksum.status == 1)) || "
                                            "(icmp && !(icmp.checksum.status == 1))"),
                     0);

    gchar **lines = tshark_fields(tc->path, NULL, field_names, N_FIELDS);
    assert_non_null(lines);
    assert_int_equal(g_strv_length(lines), w->n);
    int mismatches = 0;
    for (size_t i = 0; i < w->n; i++) {
        gchar **got = g_strsplit(lines[i], "|", -1);
        assert_int_equal(g_strv_length(got), N_FIELDS);
        for (int f = 0; f < N_FIELDS; f++) {
            const char *want = w->expect[i][f] ? w->expect[i][f] : "";
            if (strcmp(want, got[f]) != 0) {
                fprintf(stderr, "frame %zu %s: want '%s', got '%s'\n", i + 1, field_names[f], want,
                        got[f]);
                mismatches++;
            }
        }
        g_strfreev(got);
    }
    g_strfreev(lines);
    assert_int_equal(mismatches, 0);

    free_expectations(w);
    g_free(w->frame);
    g_free(w);
}

/* The negative control: the filter the test above relies on does catch bad checksums
 * at each layer (and so would catch a regression in the incremental updates). */
static void tshark_flags_bad_checksums(void **state)
{
    TmpCapture *tc = *state;
    if (!tshark_available())
        skip();
    GError *error = NULL;
    PcapCapture *cap = pcap_capture_open(tc->path, &error);
    assert_non_null(cap);
    uint8_t frame[128];
    PcapL3 h = l3(ip_vm, ip_app, 1);
    const size_t check_at[] = {
        PCAP_ETH_HLEN + 10,  /* IPv4 header */
        PCAP_L4_OFFSET + 6,  /* UDP */
        PCAP_L4_OFFSET + 16, /* TCP */
        PCAP_L4_OFFSET + 2,  /* ICMP */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(check_at); i++) {
        PcapTcp seg = {.seq = 1, .flags = PCAP_TCP_SYN, .window = 1000};
        size_t n = i == 2   ? pcap_frame_tcp(frame, sizeof frame, &h, 1000, 80, &seg, NULL, 0)
                   : i == 3 ? pcap_frame_icmp_echo(frame, sizeof frame, &h, false, 1, 1, NULL, 0)
                            : pcap_frame_udp(frame, sizeof frame, &h, 1000, 2000, NULL, 0);
        frame[check_at[i]] ^= 0x40;
        pcap_capture_write(cap, i, frame, n);
    }
    assert_int_equal(pcap_capture_commit(cap, &error), 0);
    assert_int_equal(tshark_count(tc->path, TSHARK_BAD_FRAMES), (long)G_N_ELEMENTS(check_at));
}

static void commit_leaves_only_the_final_file(void **state)
{
    TmpCapture *tc = *state;
    GError *error = NULL;
    PcapCapture *cap = pcap_capture_open(tc->path, &error);
    assert_non_null(cap);
    char *tmp = tmp_name(tc);
    assert_true(g_file_test(tmp, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(tc->path, G_FILE_TEST_EXISTS));
    uint8_t frame[64] = {0};
    pcap_capture_write(cap, 0, frame, sizeof frame);
    assert_int_equal(pcap_capture_bytes(cap), PCAP_FILE_HLEN + PCAP_REC_HLEN + sizeof frame);
    assert_int_equal(pcap_capture_commit(cap, &error), 0);
    assert_true(g_file_test(tc->path, G_FILE_TEST_IS_REGULAR));
    assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_free(tmp);
}

static void discard_leaves_no_file(void **state)
{
    TmpCapture *tc = *state;
    GError *error = NULL;
    PcapCapture *cap = pcap_capture_open(tc->path, &error);
    assert_non_null(cap);
    uint8_t frame[64] = {0};
    for (int i = 0; i < 100000; i++) /* more than the staging buffer: real writes happen */
        pcap_capture_write(cap, (uint64_t)i, frame, sizeof frame);
    pcap_capture_discard(cap);
    char *tmp = tmp_name(tc);
    assert_false(g_file_test(tc->path, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_free(tmp);
    pcap_capture_discard(NULL);
}

/* A commit that cannot rename (a directory holds the final name) reports it and cleans
 * up after itself. */
static void failed_commit_removes_the_temporary_file(void **state)
{
    TmpCapture *tc = *state;
    assert_int_equal(g_mkdir(tc->path, 0755), 0);
    gchar *inside = g_build_filename(tc->path, "keep", NULL);
    assert_true(g_file_set_contents(inside, "x", 1, NULL));
    GError *error = NULL;
    PcapCapture *cap = pcap_capture_open(tc->path, &error);
    assert_non_null(cap);
    uint8_t frame[64] = {0};
    pcap_capture_write(cap, 0, frame, sizeof frame);
    assert_int_equal(pcap_capture_commit(cap, &error), -1);
    assert_non_null(error);
    assert_true(error->domain == G_FILE_ERROR);
    assert_non_null(strstr(error->message, tc->path));
    g_error_free(error);
    char *tmp = tmp_name(tc);
    assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    assert_true(g_file_test(tc->path, G_FILE_TEST_IS_DIR));
    g_free(tmp);
    g_unlink(inside);
    g_rmdir(tc->path);
    g_free(inside);
}

static void open_in_missing_directory_fails(void **state)
{
    TmpCapture *tc = *state;
    gchar *path = g_build_filename(tc->dir, "no", "such", "dir", "run.pcap", NULL);
    GError *error = NULL;
    assert_null(pcap_capture_open(path, &error));
    assert_non_null(error);
    assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    assert_non_null(strstr(error->message, path));
    g_error_free(error);
    g_free(path);
}

/* A file header from libpcap, then records with the exact nanosecond stamps. */
static void file_is_nanosecond_pcap_from_epoch(void **state)
{
    TmpCapture *tc = *state;
    GError *error = NULL;
    PcapCapture *cap = pcap_capture_open(tc->path, &error);
    assert_non_null(cap);
    uint8_t frame[PCAP_SNAPLEN + 100];
    memset(frame, 0xab, sizeof frame);
    const uint64_t t = 86400u * 1000000000ull + 999999999u;
    pcap_capture_write(cap, t, frame, 60);
    pcap_capture_write(cap, t + 1, frame, sizeof frame); /* cut to the snap length */
    assert_int_equal(pcap_capture_frames(cap), 2);
    assert_int_equal(pcap_capture_commit(cap, &error), 0);

    gchar *data = NULL;
    gsize len = 0;
    assert_true(g_file_get_contents(tc->path, &data, &len, NULL));
    assert_int_equal(len, PCAP_FILE_HLEN + 2 * PCAP_REC_HLEN + 60 + PCAP_SNAPLEN);
    uint32_t v[4];
    memcpy(v, data, 4);
    assert_int_equal(v[0], 0xa1b23c4du);
    memcpy(v, data + PCAP_FILE_HLEN, 16);
    assert_int_equal(v[0], PCAP_EPOCH_S + 86400u);
    assert_int_equal(v[1], 999999999u);
    assert_int_equal(v[2], 60);
    assert_int_equal(v[3], 60);
    memcpy(v, data + PCAP_FILE_HLEN + PCAP_REC_HLEN + 60, 16);
    assert_int_equal(v[0], PCAP_EPOCH_S + 86401u);
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2], PCAP_SNAPLEN);
    assert_int_equal(v[3], sizeof frame);
    g_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_frame_type_reads_back_clean, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(tshark_flags_bad_checksums, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(commit_leaves_only_the_final_file, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(discard_leaves_no_file, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(failed_commit_removes_the_temporary_file, make_tmp,
                                        remove_tmp),
        cmocka_unit_test_setup_teardown(open_in_missing_directory_fails, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(file_is_nanosecond_pcap_from_epoch, make_tmp, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
