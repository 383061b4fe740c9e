/*
 * stack.c — what hosts do with packets that reach them, and the flows that start them.
 *
 * A TCP flow is a real handshake: SYN, then SYN/ACK from a listening host (or RST/ACK
 * from a host with nothing on the port), then ACK. A lost SYN is retransmitted on the
 * RFC 6298 timer (initial RTO 1 s, doubled each time); after the last retransmission the
 * flow gives up and its verdict is whatever dropped its packets. A UDP flow is one
 * datagram; a host with no listener answers ICMP port unreachable (RFC 1122 §4.1.3.1).
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/dns.h"
#include "pcap/frame.h"

#define SYN_RETRANSMISSIONS 2 /* as Windows' TcpMaxConnectRetransmissions default */
#define RTO_INITIAL         SIM_S(1)
#define TTL_DEFAULT         64
#define TCP_WINDOW          64240
#define TCP_MSS             1460

static ModelFlow *flow_of(ModelNet *net, const ModelPacket *pkt)
{
    return pkt->flow >= 0 ? g_ptr_array_index(net->flows, (guint)pkt->flow) : NULL;
}

static bool listening(const ModelHost *h, uint8_t proto, uint16_t port)
{
    return g_hash_table_contains(h->listen, GUINT_TO_POINTER((guint)proto << 16 | port));
}

static uint16_t next_ip_id(ModelNet *net)
{
    return ++net->ip_id;
}

static ModelPacket *tcp_packet(ModelNet *net, int flow, const ModelFlowKey *k, uint8_t flags,
                               uint32_t seq, uint32_t ack)
{
    ModelPacket *p = model__packet_new(flow);
    PcapL3 l3 = {.src_ip = k->src,
                 .dst_ip = k->dst,
                 .ttl = TTL_DEFAULT,
                 .ip_id = next_ip_id(net),
                 .dont_fragment = true};
    PcapTcp t = {.seq = seq,
                 .ack = ack,
                 .flags = flags,
                 .window = TCP_WINDOW,
                 .mss = (flags & PCAP_TCP_SYN) ? TCP_MSS : 0};
    p->len =
        (uint16_t)pcap_frame_tcp(p->frame, sizeof p->frame, &l3, k->sport, k->dport, &t, NULL, 0);
    p->key = *k;
    p->tcp_flags = flags;
    p->tcp_seq = seq;
    p->tcp_ack = ack;
    return p;
}

static ModelFlowKey reversed(const ModelFlowKey *k)
{
    return (ModelFlowKey){
        .src = k->dst, .dst = k->src, .sport = k->dport, .dport = k->sport, .proto = k->proto};
}

void model__flow_finish(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                        const char *at, const char *hint)
{
    if (flow->done)
        return;
    flow->done = true;
    if (flow->timer) {
        sim_cancel(net->engine, flow->timer);
        flow->timer = 0;
    }
    model_trace_verdict(net->trace, &(ModelVerdictRecord){
                                        .flow = flow->name,
                                        .verdict = verdict,
                                        .cause = cause,
                                        .at = at,
                                        .hint = hint,
                                        .t_ns = sim_now(net->engine),
                                    });
}

static ModelFlow *flow_new(ModelNet *net, const char *name, FlowKind kind, ModelHost *from,
                           uint32_t dst, uint16_t dport)
{
    ModelFlow *f = g_new0(ModelFlow, 1);
    f->net = net;
    f->index = (int)net->flows->len;
    f->name = g_strdup(name);
    f->kind = kind;
    f->from = from;
    f->nic = from->nics->len ? g_ptr_array_index(from->nics, 0) : NULL;
    f->dst = dst;
    f->dport = dport;
    f->sport = net->next_ephemeral;
    net->next_ephemeral = net->next_ephemeral == 65535 ? 49152 : net->next_ephemeral + 1;
    g_ptr_array_add(net->flows, f);
    return f;
}

static ModelFlowKey flow_key(const ModelFlow *f, uint8_t proto)
{
    return (ModelFlowKey){
        .src = f->nic->ip, .dst = f->dst, .sport = f->sport, .dport = f->dport, .proto = proto};
}

static void on_rto(SimEngine *engine, void *payload);

static void send_syn(ModelFlow *f)
{
    ModelNet *net = f->net;
    ModelFlowKey k = flow_key(f, MODEL_IPPROTO_TCP);
    ModelPacket *p = tcp_packet(net, f->index, &k, PCAP_TCP_SYN, f->isn, 0);
    f->attempts++;
    f->timer = sim_schedule(net->engine, RTO_INITIAL << (f->attempts - 1), on_rto, f, NULL);
    model__send(net, f->nic, p);
}

static void on_rto(SimEngine *engine, void *payload)
{
    (void)engine;
    ModelFlow *f = payload;
    f->timer = 0;
    if (f->done)
        return;
    if (f->attempts <= SYN_RETRANSMISSIONS) {
        send_syn(f);
        return;
    }
    if (f->drop_cause != MODEL_CAUSE_NONE) {
        model__flow_finish(f->net, f, MODEL_VERDICT_DROPPED, f->drop_cause, f->drop_at,
                           f->drop_hint);
        return;
    }
    model__flow_finish(f->net, f, MODEL_VERDICT_DROPPED, MODEL_CAUSE_HOST_UNREACHABLE, "",
                       "no answer to any SYN and no drop seen on the path");
}

static void on_tcp_start(SimEngine *engine, void *payload)
{
    ModelFlow *f = payload;
    f->isn = (uint32_t)sim_random(engine);
    send_syn(f);
}

static void on_udp_start(SimEngine *engine, void *payload)
{
    ModelFlow *f = payload;
    ModelNet *net = f->net;
    ModelPacket *p = model__packet_new(f->index);
    PcapL3 l3 = {
        .src_ip = f->nic->ip, .dst_ip = f->dst, .ttl = TTL_DEFAULT, .ip_id = next_ip_id(net)};
    /* Port 53 speaks DNS: a probe there is a real query, so dissectors read it as one. */
    uint8_t data[512];
    size_t len = 0;
    if (f->dport == 53) {
        PcapDnsMessage q = {.id = (uint16_t)sim_random(engine),
                            .rd = true,
                            .qname = "probe.vnetsim.invalid",
                            .qtype = PCAP_DNS_A};
        len = pcap_dns_encode(&q, data, sizeof data);
    } else {
        static const uint8_t probe[8] = "vnetsim";
        memcpy(data, probe, sizeof probe);
        len = sizeof probe;
    }
    p->len =
        (uint16_t)pcap_frame_udp(p->frame, sizeof p->frame, &l3, f->sport, f->dport, data, len);
    p->key = flow_key(f, MODEL_IPPROTO_UDP);
    model__send(net, f->nic, p);
}

static int start(ModelNet *net, const char *name, FlowKind kind, ModelHost *from, uint32_t dst,
                 uint16_t dport, SimTime at)
{
    g_return_val_if_fail(net->engine && net->trace, -1);
    ModelFlow *f = flow_new(net, name, kind, from, dst, dport);
    if (!f->nic) {
        g_autofree char *hint = g_strdup_printf("host '%s' has no network interface", from->name);
        f->done = false;
        model__flow_finish(net, f, MODEL_VERDICT_ABORTED, MODEL_CAUSE_UNKNOWN_ENDPOINT, from->name,
                           hint);
        return f->index;
    }
    /* A start time already past means "now": flows added between runs still start. */
    SimTime now = sim_now(net->engine);
    sim_schedule_at(net->engine, at > now ? at : now,
                    kind == FLOW_TCP ? on_tcp_start : on_udp_start, f, NULL);
    return f->index;
}

int model_net_start_tcp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at)
{
    return start(net, flow, FLOW_TCP, from, dst, dport, at);
}

int model_net_start_udp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at)
{
    return start(net, flow, FLOW_UDP, from, dst, dport, at);
}

/* ---- receiving ---- */

static void tcp_receive(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ModelFlow *flow = flow_of(net, pkt);
    uint8_t flags = pkt->tcp_flags;
    ModelFlowKey back = reversed(&pkt->key);
    if ((flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN) {
        if (flow) {
            g_free(flow->responder);
            flow->responder = g_strdup(host->name);
        }
        if (listening(host, MODEL_IPPROTO_TCP, pkt->key.dport)) {
            model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "accept",
                        "SYN to a listening port: SYN/ACK");
            uint32_t isn = (uint32_t)sim_random(net->engine);
            model__send(net, nic,
                        tcp_packet(net, pkt->flow, &back, PCAP_TCP_SYN | PCAP_TCP_ACK, isn,
                                   pkt->tcp_seq + 1));
        } else {
            model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "reset",
                        "nothing listens on the port: RST/ACK");
            model__send(net, nic,
                        tcp_packet(net, pkt->flow, &back, PCAP_TCP_RST | PCAP_TCP_ACK, 0,
                                   pkt->tcp_seq + 1));
        }
        return;
    }
    if (!flow || flow->done || flow->kind != FLOW_TCP)
        return;
    const char *peer = flow->responder ? flow->responder : "";
    if ((flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == (PCAP_TCP_SYN | PCAP_TCP_ACK)) {
        model__step(net, pkt, host->name, MODEL_STAGE_TCP, host->name, "established",
                    "SYN/ACK received: handshake complete, ACK sent");
        model__send(
            net, nic,
            tcp_packet(net, pkt->flow, &back, PCAP_TCP_ACK, pkt->tcp_ack, pkt->tcp_seq + 1));
        model__flow_finish(net, flow, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, peer, "");
    } else if (flags & PCAP_TCP_RST) {
        g_autofree char *hint =
            g_strdup_printf("nothing listens on TCP %u at %s: start the service or use its port",
                            flow->dport, peer);
        model__step(net, pkt, host->name, MODEL_STAGE_TCP, host->name, "reset",
                    "connection refused (RST)");
        model__flow_finish(net, flow, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_LISTENER, peer, hint);
    }
}

static void udp_receive(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ModelFlow *flow = flow_of(net, pkt);
    if (listening(host, MODEL_IPPROTO_UDP, pkt->key.dport)) {
        model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "accept",
                    "datagram delivered to a listening port");
        if (flow && flow->kind == FLOW_UDP)
            model__flow_finish(net, flow, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, host->name,
                               "");
        return;
    }
    model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "unreachable",
                "nothing listens on the port: ICMP port unreachable");
    ModelPacket *icmp = model__packet_new(pkt->flow);
    PcapL3 l3 = {.src_ip = pkt->key.dst,
                 .dst_ip = pkt->key.src,
                 .ttl = TTL_DEFAULT,
                 .ip_id = next_ip_id(net)};
    icmp->len = (uint16_t)pcap_frame_icmp_error(icmp->frame, sizeof icmp->frame, &l3, 3, 3,
                                                pkt->frame + 14, (size_t)pkt->len - 14);
    icmp->key =
        (ModelFlowKey){.src = pkt->key.dst, .dst = pkt->key.src, .proto = MODEL_IPPROTO_ICMP};
    model__send(net, nic, icmp);
    if (flow && flow->kind == FLOW_UDP) {
        g_autofree char *hint =
            g_strdup_printf("nothing listens on UDP %u at %s", pkt->key.dport, host->name);
        model__flow_finish(net, flow, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_LISTENER, host->name,
                           hint);
    }
}

void model__host_receive(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    ModelHost *host = nic->pe_target ? nic->pe_target : nic->host;
    if (host) {
        if (pkt->key.proto == MODEL_IPPROTO_TCP)
            tcp_receive(net, nic, host, pkt);
        else if (pkt->key.proto == MODEL_IPPROTO_UDP)
            udp_receive(net, nic, host, pkt);
    }
    model__packet_free(pkt);
}
