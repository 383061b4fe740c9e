/*
 * flow.c — the client side of a flow: resolve, connect, TLS, request.
 *
 * Each phase sends real segments and arms a retransmission timer (RFC 6298: initial RTO
 * 1 s, doubled on each expiry); after SEGMENT_RETRANSMISSIONS the flow gives up and its
 * verdict is whatever dropped its packets. The server side of the same connection lives
 * in stack.c; both ends' sequence numbers are kept in the flow (one connection per flow).
 *
 * The verdict names the step that failed. When an earlier decision explains it — a DNS
 * answer that pointed at a public address although the name has a private endpoint, a
 * hosts-file line that pins a stale address — that decision is the root cause.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/dns.h"
#include "pcap/frame.h"
#include "pcap/tls.h"

#define SEGMENT_RETRANSMISSIONS 2 /* as Windows' TcpMaxConnectRetransmissions default */
#define RTO_INITIAL             SIM_S(1)
#define TTL_DEFAULT             64
#define TCP_WINDOW              64240
#define TCP_MSS                 1460
#define REQUEST_BYTES           420 /* an HTTP request with a bearer token, encrypted */

uint16_t model__next_ephemeral(ModelHost *host)
{
    /* IANA dynamic range, as Windows and most stacks use. */
    uint16_t port = host->next_ephemeral ? host->next_ephemeral : 49152;
    host->next_ephemeral = port == 65535 ? 49152 : port + 1;
    return port;
}

/* FNV-1a: a flow's name, folded into its stream's seed and its ports. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

uint16_t model__client_port(ModelHost *host, const char *flow, uint32_t salt)
{
    if (!host->ports_used)
        host->ports_used = g_hash_table_new(g_direct_hash, g_direct_equal);
    uint64_t h = (name_hash(flow) ^ salt) * 0x9e3779b97f4a7c15ull;
    uint32_t start = (uint32_t)(h >> 40) % 16384;
    for (uint32_t i = 0; i < 16384; i++) {
        uint16_t port = (uint16_t)(49152 + (start + i) % 16384);
        if (!g_hash_table_contains(host->ports_used, GUINT_TO_POINTER(port))) {
            g_hash_table_add(host->ports_used, GUINT_TO_POINTER(port));
            return port;
        }
    }
    return (uint16_t)(49152 + start); /* every port handed out: reuse, as a stack would */
}

uint64_t model__random(ModelNet *net, int flow)
{
    if (flow < 0)
        return sim_random(net->engine);
    ModelFlow *f = g_ptr_array_index(net->flows, (guint)flow);
    return sim_rng_next(&f->rng);
}

uint64_t model__random_below(ModelNet *net, int flow, uint64_t bound)
{
    if (flow < 0)
        return sim_random_below(net->engine, bound);
    ModelFlow *f = g_ptr_array_index(net->flows, (guint)flow);
    return sim_rng_below(&f->rng, bound);
}

void model__random_bytes(ModelNet *net, int flow, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = model__random(net, flow);
        memcpy(out + i, &r, n - i < 8 ? n - i : 8);
    }
}

ModelFlow *model__flow_of(ModelNet *net, const ModelPacket *pkt)
{
    return pkt->flow >= 0 ? g_ptr_array_index(net->flows, (guint)pkt->flow) : NULL;
}

static uint16_t next_ip_id(ModelNet *net)
{
    return ++net->ip_id;
}

ModelPacket *model__tcp_packet(ModelNet *net, int flow, const ModelFlowKey *k, uint8_t flags,
                               uint32_t seq, uint32_t ack, const uint8_t *payload, size_t len)
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
    p->len = (uint16_t)pcap_frame_tcp(p->frame, sizeof p->frame, &l3, k->sport, k->dport, &t,
                                      payload, len);
    p->key = *k;
    p->tcp_flags = flags;
    p->tcp_seq = seq;
    p->tcp_ack = ack;
    p->payload_len = (uint16_t)len;
    p->payload_off = (uint16_t)(p->len - len);
    return p;
}

ModelPacket *model__udp_packet(ModelNet *net, int flow, const ModelFlowKey *k,
                               const uint8_t *payload, size_t len)
{
    ModelPacket *p = model__packet_new(flow);
    PcapL3 l3 = {.src_ip = k->src, .dst_ip = k->dst, .ttl = TTL_DEFAULT, .ip_id = next_ip_id(net)};
    p->len =
        (uint16_t)pcap_frame_udp(p->frame, sizeof p->frame, &l3, k->sport, k->dport, payload, len);
    p->key = *k;
    p->payload_len = (uint16_t)len;
    p->payload_off = (uint16_t)(p->len - len);
    return p;
}

void model__app_response_clear(ModelAppResponse *r)
{
    g_free(r->at);
    g_free(r->detail);
    g_free(r->hint);
    memset(r, 0, sizeof *r);
}

void model__flow_finish(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                        const char *at, const char *hint)
{
    if (flow->done)
        return;
    flow->done = true;
    flow->phase = PHASE_DONE;
    if (flow->timer) {
        sim_cancel(net->engine, flow->timer);
        flow->timer = 0;
    }
    bool rooted = verdict != MODEL_VERDICT_DELIVERED && flow->root_cause != MODEL_CAUSE_NONE;
    /* The fix that helps is the root cause's: the later drop is only its symptom. */
    const char *fix = rooted && flow->root_hint ? flow->root_hint : hint;
    model_trace_verdict(net->trace, &(ModelVerdictRecord){
                                        .flow = flow->name,
                                        .verdict = verdict,
                                        .cause = cause,
                                        .at = at,
                                        .root_cause = rooted ? flow->root_cause : MODEL_CAUSE_NONE,
                                        .root_at = rooted ? flow->root_at : "",
                                        .hint = fix,
                                        .t_ns = sim_now(net->engine),
                                    });
    if (flow->on_finish) /* entry points (bastion.c): a session waits for this leg */
        flow->on_finish(net, flow, verdict, cause, at, fix, flow->on_finish_ctx);
}

static ModelFlowKey client_key(const ModelFlow *f, uint8_t proto)
{
    return (ModelFlowKey){
        .src = f->nic->ip, .dst = f->dst, .sport = f->sport, .dport = f->dport, .proto = proto};
}

static void on_rto(SimEngine *engine, void *payload);

/* (Re)sends the segment the current phase waits an answer for. */
static void send_phase(ModelFlow *f)
{
    ModelNet *net = f->net;
    ModelFlowKey k = client_key(f, MODEL_IPPROTO_TCP);
    uint8_t buf[1400];
    size_t len = 0;
    uint8_t flags = PCAP_TCP_PSH | PCAP_TCP_ACK;
    uint32_t seq = f->cli_isn + 1;
    switch (f->phase) {
    case PHASE_CONNECT:
        flags = PCAP_TCP_SYN;
        seq = f->cli_isn;
        break;
    case PHASE_TLS: {
        uint8_t random[32];
        model__random_bytes(net, f->index, random, sizeof random);
        len = pcap_tls_client_hello(buf, sizeof buf, f->sni, random);
        break;
    }
    case PHASE_REQUEST:
        seq = f->cli_nxt;
        if (f->tls) {
            len = pcap_tls_application_data(buf, sizeof buf, REQUEST_BYTES, (uint64_t)f->index);
        } else {
            int n = g_snprintf((char *)buf, sizeof buf,
                               "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: vnetsim\r\n\r\n",
                               f->fqdn ? f->fqdn : "");
            len = n > 0 ? (size_t)n : 0;
        }
        break;
    default:
        return;
    }
    if (f->phase == PHASE_TLS)
        f->cli_nxt = f->cli_isn + 1 + (uint32_t)len;
    if (f->phase == PHASE_REQUEST)
        f->req_len = (uint32_t)len;
    uint32_t ack = f->phase == PHASE_CONNECT ? 0 : f->srv_nxt;
    ModelPacket *p = model__tcp_packet(net, f->index, &k, flags, seq, ack, buf, len);
    f->attempts++;
    f->timer = sim_schedule(net->engine, RTO_INITIAL << (f->attempts - 1), on_rto, f, NULL);
    model__send(net, f->nic, p);
}

static void give_up(ModelFlow *f)
{
    ModelNet *net = f->net;
    if (f->drop_cause != MODEL_CAUSE_NONE) {
        model__flow_finish(net, f, MODEL_VERDICT_DROPPED, f->drop_cause, f->drop_at, f->drop_hint);
        return;
    }
    const char *what =
        f->phase == PHASE_CONNECT ? "no answer to any SYN" : "no answer to the data sent";
    g_autofree char *hint = g_strdup_printf("%s and no drop seen on the path", what);
    model__flow_finish(net, f, MODEL_VERDICT_DROPPED, MODEL_CAUSE_HOST_UNREACHABLE,
                       f->responder ? f->responder : "", hint);
}

static void on_rto(SimEngine *engine, void *payload)
{
    (void)engine;
    ModelFlow *f = payload;
    f->timer = 0;
    if (f->done)
        return;
    if (f->attempts <= SEGMENT_RETRANSMISSIONS)
        send_phase(f);
    else
        give_up(f);
}

static void enter(ModelFlow *f, FlowPhase phase)
{
    if (f->timer) {
        sim_cancel(f->net->engine, f->timer);
        f->timer = 0;
    }
    f->phase = phase;
    f->attempts = 0;
    send_phase(f);
}

static void send_ack(ModelNet *net, ModelFlow *f)
{
    ModelFlowKey k = client_key(f, MODEL_IPPROTO_TCP);
    model__send(
        net, f->nic,
        model__tcp_packet(net, f->index, &k, PCAP_TCP_ACK, f->cli_nxt, f->srv_nxt, NULL, 0));
}

static void send_datagram(ModelFlow *f)
{
    ModelNet *net = f->net;
    /* Port 53 speaks DNS: a probe there is a real query, so dissectors read it as one. */
    uint8_t data[512];
    size_t len;
    if (f->dport == 53) {
        PcapDnsMessage q = {.id = (uint16_t)model__random(net, f->index),
                            .rd = true,
                            .qname = "probe.vnetsim.invalid",
                            .qtype = PCAP_DNS_A};
        len = pcap_dns_encode(&q, data, sizeof data);
    } else {
        static const uint8_t probe[8] = "vnetsim";
        memcpy(data, probe, sizeof probe);
        len = sizeof probe;
    }
    ModelFlowKey k = client_key(f, MODEL_IPPROTO_UDP);
    model__send(net, f->nic, model__udp_packet(net, f->index, &k, data, len));
}

/* After resolution (or straight away for an address): connect. */
static void proceed(ModelFlow *f)
{
    if (f->kind == FLOW_UDP) {
        /* Out of the resolve phase: the datagram's delivery or loss now ends the flow. */
        f->phase = PHASE_CONNECT;
        send_datagram(f);
        return;
    }
    f->cli_isn = (uint32_t)model__random(f->net, f->index);
    enter(f, PHASE_CONNECT);
}

void model__flow_resolved(ModelNet *net, ModelFlow *f)
{
    (void)net;
    f->dst = f->dns.address;
    proceed(f);
}

static void on_start(SimEngine *engine, void *payload)
{
    (void)engine;
    ModelFlow *f = payload;
    if (f->fqdn) {
        f->phase = PHASE_RESOLVE;
        model__dns_client_start(f->net, f);
        return;
    }
    proceed(f);
}

/* The server's segment reached the client. */
void model__flow_tcp_receive(ModelNet *net, ModelFlow *f, ModelPacket *pkt)
{
    if (f->done)
        return;
    const char *me = f->from->name;
    const char *peer = f->responder ? f->responder : "";
    uint8_t flags = pkt->tcp_flags;
    if (flags & PCAP_TCP_RST) {
        if (f->phase == PHASE_CONNECT) {
            g_autofree char *hint = g_strdup_printf(
                "nothing listens on TCP %u at %s: start the service or use its port", f->dport,
                peer);
            model__step(net, pkt, me, MODEL_STAGE_TCP, me, "reset", "connection refused (RST)");
            model__flow_finish(net, f, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_LISTENER, peer, hint);
        } else {
            model__step(net, pkt, me, MODEL_STAGE_TCP, me, "reset", "connection reset (RST)");
            ModelCause c =
                f->drop_cause != MODEL_CAUSE_NONE ? f->drop_cause : MODEL_CAUSE_NO_LISTENER;
            model__flow_finish(net, f, MODEL_VERDICT_DROPPED, c, f->drop_at ? f->drop_at : peer,
                               f->drop_hint);
        }
        return;
    }
    if (f->phase == PHASE_CONNECT &&
        (flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == (PCAP_TCP_SYN | PCAP_TCP_ACK)) {
        f->srv_isn = pkt->tcp_seq;
        f->srv_nxt = pkt->tcp_seq + 1;
        f->cli_nxt = f->cli_isn + 1;
        model__step(net, pkt, me, MODEL_STAGE_TCP, me, "established",
                    "SYN/ACK received: handshake complete, ACK sent");
        send_ack(net, f);
        if (f->tls)
            enter(f, PHASE_TLS);
        else if (f->request)
            enter(f, PHASE_REQUEST);
        else
            model__flow_finish(net, f, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, peer, "");
        return;
    }
    if (pkt->payload_len == 0)
        return;
    uint32_t seq_end = pkt->tcp_seq + pkt->payload_len;
    if (f->phase == PHASE_TLS) {
        f->srv_nxt = seq_end;
        model__step(net, pkt, me, MODEL_STAGE_TLS, peer, "server-hello",
                    "TLS ServerHello received: handshake under way");
        if (f->request) {
            enter(f, PHASE_REQUEST);
            return;
        }
        send_ack(net, f);
        model__flow_finish(net, f, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, peer, "");
        return;
    }
    if (f->phase == PHASE_REQUEST) {
        f->srv_nxt = seq_end;
        f->cli_nxt += f->req_len;
        send_ack(net, f);
        ModelAppResponse *r = &f->response;
        g_autofree char *detail = g_strdup_printf("response: HTTP %d%s%s", r->status,
                                                  r->detail ? " " : "", r->detail ? r->detail : "");
        model__step(net, pkt, me, MODEL_STAGE_TLS, r->at ? r->at : peer,
                    r->status / 100 == 2 ? "response" : "refused", detail);
        if (r->status / 100 == 2)
            model__flow_finish(net, f, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, peer, "");
        else
            model__flow_finish(net, f, MODEL_VERDICT_DROPPED, r->cause, r->at ? r->at : peer,
                               r->hint ? r->hint : "");
    }
}

static ModelFlow *flow_new(ModelNet *net, const ModelFlowSpec *spec)
{
    ModelFlow *f = g_new0(ModelFlow, 1);
    f->net = net;
    f->index = (int)net->flows->len;
    f->name = g_strdup(spec->name);
    f->kind = spec->proto == MODEL_IPPROTO_UDP ? FLOW_UDP : FLOW_TCP;
    f->from = spec->from;
    f->nic = spec->from->nics->len ? g_ptr_array_index(spec->from->nics, 0) : NULL;
    f->fqdn = spec->fqdn ? g_ascii_strdown(spec->fqdn, -1) : NULL;
    f->sni = g_strdup(spec->sni ? spec->sni : (f->fqdn ? f->fqdn : ""));
    f->identity = g_strdup(spec->identity);
    f->tls = spec->tls;
    f->request = spec->request;
    f->dst = spec->ip;
    f->dport = spec->port;
    f->sport = model__client_port(f->from, f->name, 0);
    sim_rng_seed(&f->rng, sim_engine_seed(net->engine) ^ name_hash(f->name));
    g_ptr_array_add(net->flows, f);
    return f;
}

int model_net_start_flow(ModelNet *net, const ModelFlowSpec *spec, SimTime at)
{
    g_return_val_if_fail(net->engine && net->trace, -1);
    ModelFlow *f = flow_new(net, spec);
    if (!f->nic) {
        g_autofree char *hint =
            g_strdup_printf("host '%s' has no network interface", spec->from->name);
        model__flow_finish(net, f, MODEL_VERDICT_ABORTED, MODEL_CAUSE_UNKNOWN_ENDPOINT,
                           spec->from->name, hint);
        return f->index;
    }
    SimTime now = sim_now(net->engine);
    sim_schedule_at(net->engine, at > now ? at : now, on_start, f, NULL);
    return f->index;
}

int model_net_start_tcp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at)
{
    ModelFlowSpec spec = {
        .name = flow, .from = from, .ip = dst, .port = dport, .proto = MODEL_IPPROTO_TCP};
    return model_net_start_flow(net, &spec, at);
}

int model_net_start_udp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at)
{
    ModelFlowSpec spec = {
        .name = flow, .from = from, .ip = dst, .port = dport, .proto = MODEL_IPPROTO_UDP};
    return model_net_start_flow(net, &spec, at);
}
