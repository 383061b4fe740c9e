/*
 * bench-engine — the engine's baseline benchmark, an equivalent of a well-known ns-3
 * workload (tools/bench_engine_ns3.cc is its ns-3 twin; tools/bench-compare.sh runs both):
 *
 *   client --(1 Gbit/s, 1 ms)-- router --(1 Gbit/s, 1 ms)-- server
 *
 * N UDP datagrams of 512 payload bytes, one every 10 µs. Each point-to-point device has a
 * transmit queue and is busy for the serialisation time (bytes * 8 ns at 1 Gbit/s); the
 * frame reaches the peer after serialisation + propagation. The router decrements the TTL
 * (incremental checksum) and rewrites MACs, as a real router does. With --pcap DIR every
 * transmission is captured at both ends of each link: four capture files.
 *
 * Every frame is synthesised for real (Ethernet, IPv4 with header checksum, UDP with the
 * pseudo-header checksum over a payload carrying the sequence number), so the figure
 * includes frame synthesis, not just event handling.
 *
 * Output: key=value lines (see main()).
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "pcap/capture.h"
#include "pcap/frame.h"
#include "sim/sim.h"

#define PAYLOAD_BYTES 512
#define FRAME_MAX     (14 + 20 + 8 + PAYLOAD_BYTES)
#define LINK_DELAY    SIM_MS(1)
#define SEND_INTERVAL SIM_US(10)
#define QUEUE_CAP     1024u /* a power of two */

typedef struct Device Device;
typedef struct Bench Bench;

typedef struct Packet {
    struct Packet *next_free;
    Device *at; /* the device that will receive it */
    uint16_t len;
    uint8_t frame[FRAME_MAX];
} Packet;

struct Device {
    const char *name;
    Bench *bench;
    Device *peer;
    int node; /* 0 client, 1 router, 2 server */
    bool busy;
    Packet *queue[QUEUE_CAP];
    uint32_t q_head, q_len;
    PcapCapture *capture;
    uint8_t mac[6];
};

struct Bench {
    SimEngine *engine;
    Device dev[4]; /* client.eth0, router.eth0, router.eth1, server.eth0 */
    Packet *free_list;
    uint64_t sent, delivered, dropped, to_send;
};

static Packet *packet_get(Bench *b)
{
    Packet *p = b->free_list;
    if (p) {
        b->free_list = p->next_free;
        return p;
    }
    return g_new(Packet, 1);
}

static void packet_put(Bench *b, Packet *p)
{
    p->next_free = b->free_list;
    b->free_list = p;
}

static void device_send(Device *d, Packet *p);

static void on_receive(SimEngine *e, void *payload)
{
    Packet *p = payload;
    Device *d = p->at;
    Bench *b = d->bench;
    if (d->capture)
        pcap_capture_write(d->capture, sim_now(e), p->frame, p->len);
    if (d->node == 1) {
        if (pcap_frame_forward(p->frame) == 0) {
            b->dropped++;
            packet_put(b, p);
            return;
        }
        Device *out = &b->dev[2];
        pcap_frame_set_macs(p->frame, out->mac, out->peer->mac);
        device_send(out, p);
        return;
    }
    b->delivered++;
    packet_put(b, p);
}

static void start_transmission(Device *d, Packet *p);

static void on_tx_complete(SimEngine *e, void *payload)
{
    (void)e;
    Device *d = payload;
    d->busy = false;
    if (d->q_len > 0) {
        Packet *p = d->queue[d->q_head];
        d->q_head = (d->q_head + 1) & (QUEUE_CAP - 1);
        d->q_len--;
        start_transmission(d, p);
    }
}

static void start_transmission(Device *d, Packet *p)
{
    SimEngine *e = d->bench->engine;
    SimTime serialisation = (SimTime)p->len * 8; /* 1 Gbit/s = 1 bit per ns */
    d->busy = true;
    if (d->capture)
        pcap_capture_write(d->capture, sim_now(e), p->frame, p->len);
    p->at = d->peer;
    sim_schedule(e, serialisation, on_tx_complete, d, NULL);
    sim_schedule(e, serialisation + LINK_DELAY, on_receive, p, NULL);
}

static void device_send(Device *d, Packet *p)
{
    if (!d->busy) {
        start_transmission(d, p);
        return;
    }
    if (d->q_len == QUEUE_CAP) { /* tail drop, as a DropTail queue does */
        d->bench->dropped++;
        packet_put(d->bench, p);
        return;
    }
    d->queue[(d->q_head + d->q_len) & (QUEUE_CAP - 1)] = p;
    d->q_len++;
}

static void on_app_send(SimEngine *e, void *payload)
{
    Bench *b = payload;
    Device *d = &b->dev[0];
    Packet *p = packet_get(b);
    uint8_t data[PAYLOAD_BYTES] = {0};
    /* Like ns-3's UdpClient: a sequence number and a timestamp lead the payload. */
    uint64_t seq = b->sent, now = sim_now(e);
    memcpy(data, &seq, sizeof seq);
    memcpy(data + 8, &now, sizeof now);
    PcapL3 l3 = {.src_ip = 0x0a010101, .dst_ip = 0x0a010202, .ttl = 64, .ip_id = (uint16_t)seq};
    memcpy(l3.src_mac, d->mac, 6);
    memcpy(l3.dst_mac, d->peer->mac, 6);
    p->len = (uint16_t)pcap_frame_udp(p->frame, sizeof p->frame, &l3, 49153, 9, data, sizeof data);
    b->sent++;
    device_send(d, p);
    if (b->sent < b->to_send)
        sim_schedule(e, SEND_INTERVAL, on_app_send, b, NULL);
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void device_init(Bench *b, int i, const char *name, int node, int peer)
{
    Device *d = &b->dev[i];
    d->name = name;
    d->bench = b;
    d->node = node;
    d->peer = &b->dev[peer];
    memcpy(d->mac, (uint8_t[6]){0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}, 6);
}

int main(int argc, char **argv)
{
    gint64 packets = 1000000;
    char *pcap_dir = NULL;
    GOptionEntry entries[] = {
        {"packets", 'n', 0, G_OPTION_ARG_INT64, &packets, "datagrams to send (default 1000000)",
         "N"},
        {"pcap", 0, 0, G_OPTION_ARG_FILENAME, &pcap_dir, "capture at all 4 devices into DIR",
         "DIR"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("- engine baseline: client -> router -> server");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || packets < 1) {
        fprintf(stderr, "bench-engine: %s\n", error ? error->message : "--packets must be >= 1");
        return 2;
    }
    g_option_context_free(ctx);

    Bench b = {.engine = sim_engine_new(1), .to_send = (uint64_t)packets};
    device_init(&b, 0, "client-eth0", 0, 1);
    device_init(&b, 1, "router-eth0", 1, 0);
    device_init(&b, 2, "router-eth1", 1, 3);
    device_init(&b, 3, "server-eth0", 2, 2);
    if (pcap_dir) {
        g_mkdir_with_parents(pcap_dir, 0755);
        for (int i = 0; i < 4; i++) {
            g_autofree char *name = g_strdup_printf("%s.pcap", b.dev[i].name);
            g_autofree char *path = g_build_filename(pcap_dir, name, NULL);
            b.dev[i].capture = pcap_capture_open(path, &error);
            if (!b.dev[i].capture) {
                fprintf(stderr, "bench-engine: %s\n", error->message);
                return 2;
            }
        }
    }

    sim_schedule(b.engine, 0, on_app_send, &b, NULL);
    double t0 = monotonic_s();
    sim_run(b.engine);
    double wall = monotonic_s() - t0;

    uint64_t pcap_bytes = 0;
    for (int i = 0; i < 4; i++) {
        if (!b.dev[i].capture)
            continue;
        pcap_bytes += pcap_capture_bytes(b.dev[i].capture);
        if (pcap_capture_commit(b.dev[i].capture, &error) < 0) {
            fprintf(stderr, "bench-engine: %s\n", error->message);
            return 1;
        }
    }
    double t_end = monotonic_s() - t0; /* including the final flush of the captures */

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("engine=vnetsim\n");
    printf("packets_sent=%" G_GUINT64_FORMAT "\n", b.sent);
    printf("packets_delivered=%" G_GUINT64_FORMAT "\n", b.delivered);
    printf("packets_dropped=%" G_GUINT64_FORMAT "\n", b.dropped);
    printf("sim_time_s=%.6f\n", (double)sim_now(b.engine) / 1e9);
    printf("wall_s=%.6f\n", t_end);
    printf("packets_per_s=%.0f\n", (double)b.delivered / t_end);
    printf("events=%" G_GUINT64_FORMAT "\n", sim_events_fired(b.engine));
    printf("events_per_s=%.0f\n", (double)sim_events_fired(b.engine) / wall);
    printf("pcap_bytes=%" G_GUINT64_FORMAT "\n", pcap_bytes);
    printf("pcap_bytes_per_s=%.0f\n", (double)pcap_bytes / t_end);
    printf("peak_rss_kb=%ld\n", ru.ru_maxrss);

    while (b.free_list) {
        Packet *p = b.free_list;
        b.free_list = p->next_free;
        g_free(p);
    }
    sim_engine_free(b.engine);
    g_free(pcap_dir);
    return b.delivered == b.sent ? 0 : 1;
}
