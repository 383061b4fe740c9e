/*
 * stack.c — what a host does with a packet that reached it.
 *
 * The client end of a flow hands its segments to flow.c and its DNS answers to
 * dns_client.c. Everything else is the server side: a SYN to a listening port gets
 * SYN/ACK, to a closed one RST/ACK (RFC 9293 §3.10.7.1); a TLS ClientHello gets a
 * ServerHello; a request gets what the host's application decides (PaaS services refuse
 * here, with the error they really return); a datagram to a closed UDP port gets ICMP
 * port unreachable (RFC 1122 §4.1.3.1); UDP 53 of a DNS server goes to dns_server.c.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"
#include "pcap/tls.h"

#define TTL_DEFAULT    64
#define RESPONSE_BYTES 1180 /* a small JSON body, encrypted */
#define REFUSAL_BYTES  310  /* an error document, encrypted */

static bool listening(const ModelHost *h, uint8_t proto, uint16_t port)
{
    return g_hash_table_contains(h->listen, GUINT_TO_POINTER((guint)proto << 16 | port));
}

static ModelFlowKey reversed(const ModelFlowKey *k)
{
    return (ModelFlowKey){
        .src = k->dst, .dst = k->src, .sport = k->dport, .dport = k->sport, .proto = k->proto};
}

static void serve_request(ModelNet *net, ModelNic *nic, ModelHost *host, ModelFlow *flow,
                          ModelPacket *pkt)
{
    ModelAppResponse *r = &flow->response;
    model__app_response_clear(r);
    r->status = 200;
    if (host->app && host->app->request)
        host->app->request(net, host, nic, flow, pkt, r);
    bool ok = r->status / 100 == 2;
    g_autofree char *detail = g_strdup_printf("request served: HTTP %d%s%s", r->status,
                                              r->detail ? " " : "", r->detail ? r->detail : "");
    /* A missing role is the identity stage's refusal, anything else the service firewall's. */
    ModelStage stage = MODEL_STAGE_LISTENER;
    if (!ok)
        stage = r->cause == MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED ? MODEL_STAGE_IDENTITY
                                                                : MODEL_STAGE_SERVICE_FIREWALL;
    model__step(net, pkt, host->name, stage, r->at ? r->at : host->name, ok ? "serve" : "deny",
                detail);
    if (!ok && r->cause == MODEL_CAUSE_NONE)
        r->cause = MODEL_CAUSE_SERVICE_FIREWALL_DENIED;

    uint8_t buf[1400];
    size_t len;
    if (flow->tls) {
        len = pcap_tls_application_data(buf, sizeof buf, ok ? RESPONSE_BYTES : REFUSAL_BYTES,
                                        (uint64_t)flow->index << 1 | 1);
    } else {
        int n = g_snprintf((char *)buf, sizeof buf,
                           "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nServer: vnetsim\r\n\r\n",
                           r->status, ok ? "OK" : "Forbidden");
        len = n > 0 ? (size_t)n : 0;
    }
    ModelFlowKey back = reversed(&pkt->key);
    uint32_t seq = flow->srv_nxt;
    uint32_t ack = pkt->tcp_seq + pkt->payload_len;
    model__send(
        net, nic,
        model__tcp_packet(net, pkt->flow, &back, PCAP_TCP_PSH | PCAP_TCP_ACK, seq, ack, buf, len));
}

static void tcp_serve(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ModelFlow *flow = model__flow_of(net, pkt);
    ModelFlowKey back = reversed(&pkt->key);
    uint8_t flags = pkt->tcp_flags;
    if ((flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN) {
        if (flow) {
            g_free(flow->responder);
            flow->responder = g_strdup(host->name);
        }
        if (listening(host, MODEL_IPPROTO_TCP, pkt->key.dport)) {
            model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "accept",
                        "SYN to a listening port: SYN/ACK");
            /* A retransmitted SYN gets the same ISN: it is the same connection attempt. */
            if (flow && flow->srv_isn == 0)
                flow->srv_isn = (uint32_t)model__random(net, pkt->flow) | 1;
            uint32_t isn = flow ? flow->srv_isn : (uint32_t)sim_random(net->engine);
            if (flow)
                flow->srv_nxt = isn + 1;
            model__send(net, nic,
                        model__tcp_packet(net, pkt->flow, &back, PCAP_TCP_SYN | PCAP_TCP_ACK, isn,
                                          pkt->tcp_seq + 1, NULL, 0));
        } else {
            model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "reset",
                        "nothing listens on the port: RST/ACK");
            model__send(net, nic,
                        model__tcp_packet(net, pkt->flow, &back, PCAP_TCP_RST | PCAP_TCP_ACK, 0,
                                          pkt->tcp_seq + 1, NULL, 0));
        }
        return;
    }
    if (!flow && pkt->health_probe && pkt->payload_len) { /* lb.c: an HTTP probe's GET */
        model__lb_probe_serve(net, nic, host, pkt);
        return;
    }
    if (!flow || pkt->payload_len == 0)
        return;
    if (flow->phase == PHASE_TLS) {
        uint8_t random[32], buf[512];
        model__random_bytes(net, pkt->flow, random, sizeof random);
        size_t len = pcap_tls_server_hello(buf, sizeof buf, random);
        model__step(net, pkt, host->name, MODEL_STAGE_TLS, host->name, "server-hello",
                    flow->sni && *flow->sni ? flow->sni : "TLS ClientHello without SNI");
        model__send(net, nic,
                    model__tcp_packet(net, pkt->flow, &back, PCAP_TCP_PSH | PCAP_TCP_ACK,
                                      flow->srv_isn + 1, pkt->tcp_seq + pkt->payload_len, buf,
                                      len));
        return;
    }
    if (flow->phase == PHASE_REQUEST)
        serve_request(net, nic, host, flow, pkt);
}

static void udp_serve(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ModelFlow *flow = model__flow_of(net, pkt);
    bool dns = host->dns_server && (pkt->key.dport == 53 || pkt->key.sport == 53);
    if (dns || listening(host, MODEL_IPPROTO_UDP, pkt->key.dport)) {
        /* Not while it resolves: its DNS query is not the flow's datagram. */
        if (flow && flow->kind == FLOW_UDP && !flow->done && flow->from != host &&
            flow->phase != PHASE_RESOLVE) {
            model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "accept",
                        "datagram delivered to a listening port");
            model__flow_finish(net, flow, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, host->name,
                               "");
        }
        if (dns)
            model__dns_server_receive(net, nic, host, pkt);
        return;
    }
    model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "unreachable",
                "nothing listens on the port: ICMP port unreachable");
    ModelPacket *icmp = model__packet_new(pkt->flow);
    PcapL3 l3 = {
        .src_ip = pkt->key.dst, .dst_ip = pkt->key.src, .ttl = TTL_DEFAULT, .ip_id = ++net->ip_id};
    icmp->len = (uint16_t)pcap_frame_icmp_error(icmp->frame, sizeof icmp->frame, &l3, 3, 3,
                                                pkt->frame + 14, (size_t)pkt->len - 14);
    icmp->key =
        (ModelFlowKey){.src = pkt->key.dst, .dst = pkt->key.src, .proto = MODEL_IPPROTO_ICMP};
    model__send(net, nic, icmp);
    if (flow && flow->kind == FLOW_UDP && !flow->done) {
        g_autofree char *hint =
            g_strdup_printf("nothing listens on UDP %u at %s", pkt->key.dport, host->name);
        model__flow_finish(net, flow, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_LISTENER, host->name,
                           hint);
    }
}

void model__host_receive(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    ModelHost *host = nic->pe_target ? nic->pe_target : nic->host;
    if (host && host->azfw && model__azfw_local(net, nic, pkt)) { /* azfw.c: DNS, no proxy */
        model__packet_free(pkt);
        return;
    }
    ModelFlow *flow = model__flow_of(net, pkt);
    if (host && flow && host == flow->from) { /* the client's own end */
        if (pkt->key.proto == MODEL_IPPROTO_TCP && pkt->key.dport == flow->sport)
            model__flow_tcp_receive(net, flow, pkt);
        else if (pkt->key.proto == MODEL_IPPROTO_UDP && flow->dns.sport &&
                 pkt->key.dport == flow->dns.sport)
            model__dns_client_receive(net, flow, pkt);
        model__packet_free(pkt);
        return;
    }
    if (host) {
        if (pkt->key.proto == MODEL_IPPROTO_TCP)
            tcp_serve(net, nic, host, pkt);
        else if (pkt->key.proto == MODEL_IPPROTO_UDP)
            udp_serve(net, nic, host, pkt);
    }
    model__packet_free(pkt);
}
