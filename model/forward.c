/*
 * forward.c — a packet's walk through Azure, one hop per event.
 *
 * At the sending NIC (same instant):  capture -> platform exception -> NIC NSG out ->
 *                                     subnet NSG out -> route lookup -> next hop
 * At the receiving NIC (after the link's latency):
 *                                     DNAT -> subnet NSG in -> NIC NSG in -> capture ->
 *                                     host stack, or appliance forwarding
 * The order of the NSGs is Azure's (azdocs:articles/virtual-network/
 * network-security-group-how-it-works.md): "For inbound traffic Azure processes the rules
 * in a network security group associated to a subnet first … and then the rules in a
 * network security group associated to the network interface"; outbound the reverse.
 *
 * A capture records what a tcpdump on that interface would show: a sender's capture holds
 * the packet even when its own NSG then drops it (NSGs sit in the host's virtual switch,
 * below the VM), and a receiver's capture holds it only if it got through.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"

#define LATENCY_VNET     SIM_US(60)  /* VM to VM in one VNet */
#define LATENCY_PEERING  SIM_US(120) /* across a regional peering */
#define LATENCY_INTERNET SIM_MS(1)   /* to a public address, same region */
#define LATENCY_PLATFORM SIM_US(40)  /* to 168.63.129.16, on the host */

static const uint8_t azure_gw_mac[6] = MODEL_AZURE_GW_MAC;
static const uint8_t internet_mac[6] = {0x02, 0x00, 0x5e, 0xff, 0x00, 0x01};

/* ---- state tables: fixed-size keys hashed as bytes ---- */

typedef struct {
    uintptr_t owner; /* the NIC or host the state belongs to */
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t proto;
} StateKey;

static guint state_hash(gconstpointer p)
{
    const unsigned char *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(StateKey); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean state_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(StateKey)) == 0;
}

static StateKey state_key(const void *owner, const ModelFlowKey *k, bool reverse)
{
    StateKey s;
    memset(&s, 0, sizeof s); /* padding must hash the same every time */
    s.owner = (uintptr_t)owner;
    s.src = reverse ? k->dst : k->src;
    s.dst = reverse ? k->src : k->dst;
    s.sport = reverse ? k->dport : k->sport;
    s.dport = reverse ? k->sport : k->dport;
    s.proto = k->proto;
    return s;
}

static GHashTable *state_table(GHashTable **t, GDestroyNotify value_free)
{
    if (!*t)
        *t = g_hash_table_new_full(state_hash, state_equal, g_free, value_free);
    return *t;
}

static void state_put(GHashTable *t, StateKey key, gpointer value)
{
    g_hash_table_replace(t, g_memdup2(&key, sizeof key), value);
}

/* What SNAT remembers to undo it for the reply. */
typedef struct {
    ModelNic *nic;    /* where the reply goes back in */
    uint32_t orig_ip; /* the address before translation */
    uint16_t orig_port;
    int flow; /* the flow it was made for, -1: none (its port stays taken) */
} Translation;

/* ---- packets, steps, drops ---- */

ModelPacket *model__packet_new(int flow)
{
    ModelPacket *p = g_new0(ModelPacket, 1);
    p->flow = flow;
    return p;
}

void model__packet_free(void *pkt)
{
    g_free(pkt);
}

static const char *node_name(const ModelNic *nic)
{
    return nic->host ? nic->host->name : nic->name;
}

void model__step(ModelNet *net, ModelPacket *pkt, const char *node, ModelStage stage,
                 const char *object, const char *action, const char *detail)
{
    ModelFlow *flow = model__flow_of(net, pkt);
    if (flow && ++flow->steps == MODEL_FLOW_MAX_STEPS && !flow->done)
        model__flow_finish(net, flow, MODEL_VERDICT_ABORTED, MODEL_CAUSE_TRACE_TOO_LONG, node,
                           "the flow kept bouncing between hops; look for a loop");
    model_trace_step(net->trace, &(ModelStepRecord){
                                     .t_ns = sim_now(net->engine),
                                     .flow = flow ? flow->name : "",
                                     .frame = pkt->frame_no,
                                     .node = node,
                                     .stage = stage,
                                     .object = object,
                                     .action = action,
                                     .detail = detail,
                                 });
}

void model__drop(ModelNet *net, ModelPacket *pkt, const char *node, ModelStage stage,
                 const char *object, ModelCause cause, const char *detail, const char *hint)
{
    model__step(net, pkt, node, stage, object, "drop", detail);
    if (pkt->health_probe) /* lb.c: why a backend's probe fails */
        model__lb_probe_lost(net, pkt, object, cause);
    ModelFlow *flow = model__flow_of(net, pkt);
    if (!flow)
        return;
    flow->drop_cause = cause;
    g_free(flow->drop_at);
    flow->drop_at = g_strdup(object && *object ? object : node);
    g_free(flow->drop_hint);
    flow->drop_hint = g_strdup(hint ? hint : "");
    /* A datagram is not retransmitted: its flow ends with its first loss (a DNS query's
     * loss is the resolver's business: it times out and tries the next server). */
    if (flow->kind == FLOW_UDP && flow->phase != PHASE_RESOLVE && !flow->done)
        model__flow_finish(net, flow, MODEL_VERDICT_DROPPED, cause, flow->drop_at, hint);
}

static bool flow_aborted(ModelNet *net, const ModelPacket *pkt)
{
    ModelFlow *flow = model__flow_of(net, pkt);
    return flow && flow->steps >= MODEL_FLOW_MAX_STEPS;
}

static void capture(ModelNic *nic, ModelPacket *pkt, bool outgoing, SimTime now)
{
    const uint8_t *peer = nic->subnet ? azure_gw_mac : internet_mac;
    if (outgoing)
        pcap_frame_set_macs(pkt->frame, nic->mac, peer);
    else
        pcap_frame_set_macs(pkt->frame, peer, nic->mac);
    nic->frames++;
    pkt->frame_no = nic->frames;
    if (nic->capture)
        pcap_capture_write(nic->capture, now, pkt->frame, pkt->len);
}

static void describe_key(const ModelFlowKey *k, GString *out)
{
    char s[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(k->src, s);
    model_ip_format(k->dst, d);
    const char *proto = k->proto == MODEL_IPPROTO_TCP    ? "Tcp"
                        : k->proto == MODEL_IPPROTO_UDP  ? "Udp"
                        : k->proto == MODEL_IPPROTO_ICMP ? "Icmp"
                                                         : "ip";
    g_string_append_printf(out, "%s %s:%u -> %s:%u", proto, s, k->sport, d, k->dport);
}

/* ---- NSGs ---- */

/* Evaluates one NSG table; returns false (and drops) on deny. */
static bool nsg_pass(ModelNet *net, ModelPacket *pkt, ModelNic *nic, const ModelNsg *nsg,
                     const ModelNsgTable *table, ModelDirection dir)
{
    if (!table)
        return true;
    ModelStage stage = dir == MODEL_DIR_INBOUND ? MODEL_STAGE_NSG_IN : MODEL_STAGE_NSG_OUT;
    const ModelNsgRule *rule = model_nsg_table_classify(table, &pkt->key);
    g_autofree char *object = NULL;
    g_autoptr(GString) detail = g_string_new(NULL);
    describe_key(&pkt->key, detail);
    if (!rule) {
        object = g_strdup(model_nsg_name(nsg));
        g_string_append(detail, ": no rule matches this protocol");
        model__drop(net, pkt, node_name(nic), stage, object, MODEL_CAUSE_UNSUPPORTED_FEATURE,
                    detail->str, "");
        return false;
    }
    object = g_strdup_printf("%s/%s", model_nsg_name(nsg), rule->name);
    g_string_append(detail, " matched ");
    model_nsg_rule_describe(rule, detail);
    if (rule->access == MODEL_ACCESS_ALLOW) {
        model__step(net, pkt, node_name(nic), stage, object, "allow", detail->str);
        return true;
    }
    /* The fix depends on where the deny sits: user rules take priorities 100-4096, so a
     * default rule is beaten by any user rule, a user deny by a lower number — unless it
     * already has the lowest, and then only changing the deny itself helps. */
    const char *dir_name = dir == MODEL_DIR_INBOUND ? "inbound" : "outbound";
    g_autofree char *hint =
        rule->is_default
            ? g_strdup_printf("add an %s rule to %s that allows this traffic (any priority "
                              "100-4096 comes before the default rule %s)",
                              dir_name, model_nsg_name(nsg), rule->name)
        : rule->priority > MODEL_NSG_PRIORITY_MIN
            ? g_strdup_printf("add an %s rule to %s that allows this traffic with a priority "
                              "number below %d (lower numbers are evaluated first), or narrow "
                              "%s",
                              dir_name, model_nsg_name(nsg), rule->priority, rule->name)
            : g_strdup_printf("narrow or remove rule %s of %s: at priority %d nothing can be "
                              "evaluated before it",
                              rule->name, model_nsg_name(nsg), rule->priority);
    model__drop(net, pkt, node_name(nic), stage, object,
                dir == MODEL_DIR_INBOUND ? MODEL_CAUSE_NSG_DENIED_IN : MODEL_CAUSE_NSG_DENIED_OUT,
                detail->str, hint);
    return false;
}

/* Flow records make NSGs stateful: a connection allowed one way lets its replies through
 * ("A flow record … return traffic is allowed", network-security-group-how-it-works.md),
 * and rule changes apply to new connections only. */
static bool nsg_state_known(ModelNet *net, ModelPacket *pkt, ModelNic *nic, ModelStage stage)
{
    GHashTable *t = state_table(&net->nsg_state, NULL);
    StateKey fwd = state_key(nic, &pkt->key, false), rev = state_key(nic, &pkt->key, true);
    const char *why = NULL;
    if (g_hash_table_contains(t, &rev))
        why = "return traffic of a connection allowed earlier (NSG flow record)";
    else if (g_hash_table_contains(t, &fwd))
        why = "existing connection (NSG flow record)";
    if (!why)
        return false;
    model__step(net, pkt, node_name(nic), stage, "flow-record", "allow", why);
    return true;
}

static void nsg_state_record(ModelNet *net, ModelPacket *pkt, ModelNic *nic)
{
    state_put(state_table(&net->nsg_state, NULL), state_key(nic, &pkt->key, false),
              GINT_TO_POINTER(1));
}

static bool pe_nsg_applies(const ModelNic *nic)
{
    ModelPePolicies p = nic->subnet->pe_policies;
    return p == MODEL_PE_POLICIES_NSG || p == MODEL_PE_POLICIES_ENABLED;
}

/* True when an NSG on the NIC or its subnet names the AzurePlatformDNS tag: then the NSGs
 * decide platform traffic after all. */
static bool platform_rules(const ModelNic *nic)
{
    const ModelNsg *nsgs[2] = {nic->nsg, nic->subnet->nsg};
    for (int i = 0; i < 2; i++)
        if (nsgs[i] && model_nsg_mentions_tag(nsgs[i], "AzurePlatformDNS"))
            return true;
    return false;
}

static bool nsg_egress(ModelNet *net, ModelPacket *pkt, ModelNic *nic)
{
    if (!nic->nsg && !nic->subnet->nsg)
        return true;
    if (nsg_state_known(net, pkt, nic, MODEL_STAGE_NSG_OUT))
        return true;
    if (!nsg_pass(net, pkt, nic, nic->nsg, nic->nsg_out, MODEL_DIR_OUTBOUND) ||
        !nsg_pass(net, pkt, nic, nic->subnet->nsg, nic->subnet->nsg_out, MODEL_DIR_OUTBOUND))
        return false;
    nsg_state_record(net, pkt, nic);
    return true;
}

static bool nsg_ingress(ModelNet *net, ModelPacket *pkt, ModelNic *nic)
{
    if (nic->pe_target && !pe_nsg_applies(nic)) {
        if (nic->subnet->nsg)
            model__step(net, pkt, nic->name, MODEL_STAGE_NSG_IN, model_nsg_name(nic->subnet->nsg),
                        "skip",
                        "private endpoint network policies are Disabled on the subnet: NSGs "
                        "do not apply to traffic to the private endpoint");
        return true;
    }
    if (!nic->nsg && !nic->subnet->nsg)
        return true;
    /* Health probes are the exception: NSGs decide them (AllowAzureLoadBalancerInBound;
     * load-balancer-custom-probe-overview.md, "Probe source IP address"). */
    if (pkt->key.src == MODEL_AZURE_PLATFORM_IP && !pkt->health_probe && !platform_rules(nic)) {
        model__step(net, pkt, node_name(nic), MODEL_STAGE_PLATFORM, "168.63.129.16", "bypass",
                    "platform traffic from 168.63.129.16 is not subject to NSGs");
        return true;
    }
    if (nsg_state_known(net, pkt, nic, MODEL_STAGE_NSG_IN))
        return true;
    if (!nsg_pass(net, pkt, nic, nic->subnet->nsg, nic->subnet->nsg_in, MODEL_DIR_INBOUND) ||
        !nsg_pass(net, pkt, nic, nic->nsg, nic->nsg_in, MODEL_DIR_INBOUND))
        return false;
    nsg_state_record(net, pkt, nic);
    return true;
}

/* ---- hops ---- */

static void on_arrive(SimEngine *engine, void *payload);

static void hop(ModelNet *net, ModelPacket *pkt, ModelNic *to, SimTime latency)
{
    pkt->at = to;
    /* A little deterministic jitter (±5%): real links are not metronomes, and equal
     * timestamps would hide which packet went first. */
    SimTime jitter = model__random_below(net, pkt->flow, latency / 10 + 1);
    sim_schedule(net->engine, latency - latency / 20 + jitter, on_arrive, pkt, model__packet_free);
}

static ModelNic *vnet_nic(const ModelVnet *v, uint32_t ip)
{
    return g_hash_table_lookup(v->nic_by_ip, GUINT_TO_POINTER(ip));
}

/* The NIC holding ip in the VNet or one of its peers. */
static ModelNic *reachable_nic(const ModelVnet *v, uint32_t ip, bool *via_peering)
{
    ModelNic *n = vnet_nic(v, ip);
    *via_peering = false;
    if (n)
        return n;
    for (guint i = 0; i < v->peers->len; i++) {
        n = vnet_nic(g_ptr_array_index(v->peers, i), ip);
        if (n) {
            *via_peering = true;
            return n;
        }
    }
    return NULL;
}

static void rewrite(ModelPacket *pkt, const uint32_t *src, const uint16_t *sport,
                    const uint32_t *dst, const uint16_t *dport)
{
    pcap_frame_rewrite(pkt->frame, pkt->len, src, sport, dst, dport);
    if (src)
        pkt->key.src = *src;
    if (sport)
        pkt->key.sport = *sport;
    if (dst)
        pkt->key.dst = *dst;
    if (dport)
        pkt->key.dport = *dport;
}

static bool translation_live(ModelNet *net, const Translation *tr)
{
    return tr->flow < 0 ||
           !((const ModelFlow *)g_ptr_array_index(net->flows, (guint)tr->flow))->done;
}

/* Remembers how to send the reply of a translated (or deliberately untranslated) flow
 * back to `nic`: `after` is the packet as it leaves, orig_* what the reply must carry.
 * With `pat`, the translation is port address translation, as every NAT device does it:
 * when another inside address already holds after's public address and port towards the
 * same remote end, the next free port is taken (after->sport changes; the caller rewrites
 * the packet with it). */
static void remember_return(ModelNet *net, ModelNic *nic, ModelFlowKey *after, uint32_t orig_ip,
                            uint16_t orig_port, int flow, bool pat)
{
    GHashTable *snat = state_table(&net->snat, g_free);
    /* A connection keeps the public port it was given for as long as that port still
     * leads back to it: its later packets must not move when the connection it once
     * stepped aside for has ended. */
    ModelFlowKey inside = *after;
    inside.src = orig_ip;
    inside.sport = orig_port;
    StateKey out_key = state_key((const void *)(uintptr_t)after->src, &inside, false);
    GHashTable *kept = state_table(&net->snat_out, NULL);
    gpointer port = pat ? g_hash_table_lookup(kept, &out_key) : NULL;
    if (port) {
        ModelFlowKey was = *after;
        was.sport = (uint16_t)GPOINTER_TO_UINT(port);
        StateKey back = state_key(NULL, &was, true);
        const Translation *held = g_hash_table_lookup(snat, &back);
        if (held && held->orig_ip == orig_ip && held->orig_port == orig_port) {
            after->sport = was.sport;
            return;
        }
    }
    /* A port whose flow has ended is free again, as a NAT device releases a closed
     * connection's port. */
    for (unsigned tries = 0; pat && tries < 16384; tries++) {
        StateKey k = state_key(NULL, after, true);
        const Translation *held = g_hash_table_lookup(snat, &k);
        if (!held || (held->orig_ip == orig_ip && held->orig_port == orig_port) ||
            !translation_live(net, held))
            break;
        after->sport = after->sport == 65535 ? 49152 : after->sport + 1;
    }
    Translation *tr = g_new(Translation, 1);
    tr->nic = nic;
    tr->orig_ip = orig_ip;
    tr->orig_port = orig_port;
    tr->flow = flow;
    /* The reply arrives as (remote -> after.src): remember it under that key. */
    state_put(snat, state_key(NULL, after, true), tr);
    if (pat)
        state_put(kept, out_key, GUINT_TO_POINTER(after->sport));
}

/* Outbound to a public address: Azure SNATs the NIC's private address to its instance
 * public IP, or else to a default-outbound-access address (azdocs:articles/
 * virtual-network/ip-services/default-outbound-access.md); the reply is translated back. */
static void to_internet(ModelNet *net, ModelPacket *pkt, ModelNic *nic, const char *via,
                        bool service_endpoint)
{
    if (service_endpoint) {
        /* "The source IP address … switches from a public IPv4 address to its private
         * IPv4 address" (virtual-network-service-endpoints-overview.md): no SNAT. */
        remember_return(net, nic, &pkt->key, pkt->key.src, pkt->key.sport, pkt->flow, false);
        model__step(net, pkt, node_name(nic), MODEL_STAGE_NAT, via, "keep-source",
                    "service endpoint: the service sees the subnet's private address");
    } else if (nic->host && nic->host->azfw && model__azfw_never_snats(nic->host->azfw)) {
        /* Its private address goes out as the source: nothing on the internet can answer
         * it, as the documentation warns. */
        model__step(net, pkt, node_name(nic), MODEL_STAGE_NAT, nic->host->name, "no-snat",
                    "SNAT private IP address ranges include 0.0.0.0/0: the firewall never "
                    "SNATs, and its internet traffic leaves with a private source address "
                    "(snat-private-range.md: it \"can never route traffic directly to the "
                    "Internet\")");
    } else if (model__lb_public_reply(net, pkt)) {
        /* lb.c: the reply of a flow a public load balancer brought in leaves from its
         * frontend, translated there. */
    } else if (nic->subnet) {
        uint32_t pub = nic->public_ip;
        const char *how = "instance public IP";
        model__natgw_snat(nic, pkt, &pub, &how); /* natgw.c: the subnet's NAT gateway first */
        if (!pub)                                /* lb.c: then a load balancer's outbound rule */
            model__lb_outbound_snat(nic, &pub, &how);
        if (!pub && (nic->no_default_outbound || nic->subnet->no_default_outbound)) {
            /* No address to leave from: a private subnet has no default outbound access
             * (default-outbound-access.md, "private subnet"), nor has a node of a Batch
             * pool without public IPs ("your virtual machines won't be able to access the
             * public internet unless you configure … virtual network NAT", azdocs:articles/
             * batch/simplified-node-communication-pool-no-public-ip.md). */
            bool batch = nic->no_default_outbound;
            model__drop(net, pkt, node_name(nic), MODEL_STAGE_NAT, nic->subnet->path,
                        MODEL_CAUSE_NO_ROUTE,
                        batch ? "no outbound path to the internet: a node without public IP "
                                "has no default outbound access, and the subnet has no NAT "
                                "gateway"
                              : "no outbound path to the internet: a private subnet "
                                "(defaultOutboundAccess false) without a NAT gateway",
                        "give the subnet a NAT gateway, or route 0.0.0.0/0 to a firewall "
                        "that SNATs (how-to-secure-training-vnet.md, no public IP)");
            model__packet_free(pkt);
            return;
        }
        if (!pub) {
            /* One address per NIC for all its connections, as Azure keeps it. */
            if (!nic->default_outbound_ip)
                nic->default_outbound_ip = net->next_default_outbound_ip++;
            pub = nic->default_outbound_ip;
            how = "default outbound access";
        }
        ModelFlowKey after = pkt->key;
        after.src = pub;
        remember_return(net, nic, &after, pkt->key.src, pkt->key.sport, pkt->flow, true);
        char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
        model_ip_format(pkt->key.src, a);
        model_ip_format(pub, b);
        g_autofree char *detail =
            g_strdup_printf("SNAT %s:%u -> %s:%u (%s)", a, pkt->key.sport, b, after.sport, how);
        rewrite(pkt, &pub, &after.sport, NULL, NULL);
        model__step(net, pkt, node_name(nic), MODEL_STAGE_NAT, via, "snat", detail);
    }
    if (pkt->key.dst == MODEL_AZURE_PLATFORM_IP && !nic->subnet) {
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_PLATFORM, "168.63.129.16",
                    MODEL_CAUSE_HOST_UNREACHABLE,
                    "168.63.129.16 is reachable only from inside Azure", "");
        model__packet_free(pkt);
        return;
    }
    ModelNic *to = g_hash_table_lookup(net->public_ip, GUINT_TO_POINTER(pkt->key.dst));
    GHashTable *snat = state_table(&net->snat, g_free);
    StateKey k = state_key(NULL, &pkt->key, false);
    Translation *back = g_hash_table_lookup(snat, &k);
    if (!to && !back) {
        char d[MODEL_IP_STRLEN];
        model_ip_format(pkt->key.dst, d);
        g_autofree char *detail = g_strdup_printf("no host answers at %s on the internet", d);
        model__drop(net, pkt, "internet", MODEL_STAGE_ROUTE, "internet",
                    MODEL_CAUSE_HOST_UNREACHABLE, detail, "");
        model__packet_free(pkt);
        return;
    }
    hop(net, pkt, back ? back->nic : to, LATENCY_INTERNET);
}

static void egress(ModelNet *net, ModelNic *nic, ModelPacket *pkt);

/* An appliance (a NIC with IP forwarding) relays a packet not addressed to it. */
static void appliance_forward(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    ModelHost *host = nic->host;
    if (!nic->ip_forwarding || !host) {
        g_autofree char *detail = g_strdup_printf(
            "IP forwarding is disabled on NIC %s: Azure drops packets not addressed to it",
            nic->capture_name);
        g_autofree char *hint =
            g_strdup_printf("enable IP forwarding on NIC %s", nic->capture_name);
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, nic->capture_name,
                    MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, detail, hint);
        model__packet_free(pkt);
        return;
    }
    /* Azure Firewall (azfw.c) decides first: rules, its proxy, its SNAT. */
    if (host->azfw && !model__azfw_forward(net, nic, pkt))
        return;
    if (host->stateful) {
        GHashTable *ct = state_table(&net->conntrack, NULL);
        StateKey fwd = state_key(host, &pkt->key, false), rev = state_key(host, &pkt->key, true);
        bool known = g_hash_table_contains(ct, &fwd) || g_hash_table_contains(ct, &rev);
        bool opens = pkt->key.proto != MODEL_IPPROTO_TCP ||
                     (pkt->tcp_flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN;
        if (!known && !opens) {
            model__drop(net, pkt, host->name, MODEL_STAGE_FIREWALL, host->name,
                        MODEL_CAUSE_ASYMMETRIC_RETURN,
                        "stateful appliance saw no connection start for this packet: the "
                        "other direction took another path",
                        "make both directions cross the appliance (a UDR on the other side), "
                        "or SNAT at the appliance so replies come back to it");
            model__packet_free(pkt);
            return;
        }
        if (!known)
            state_put(ct, fwd, GINT_TO_POINTER(1));
    }
    uint8_t ttl = pcap_frame_forward(pkt->frame);
    if (ttl == 0) {
        model__drop(net, pkt, host->name, MODEL_STAGE_ROUTE, host->name, MODEL_CAUSE_ROUTING_LOOP,
                    "TTL expired while forwarding: the packet is going round in circles",
                    "check the route tables of the appliances' subnets for routes that point "
                    "back at each other");
        model__packet_free(pkt);
        return;
    }
    model__step(net, pkt, host->name, MODEL_STAGE_ROUTE, nic->capture_name, "forward",
                "IP forwarding: relayed, TTL decremented");
    pkt->forwarded = true;
    egress(net, nic, pkt);
}

static void route_and_send(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    const ModelRoute *route = model_routes_lookup(nic->subnet->routes, pkt->key.dst);
    g_autoptr(GString) detail = g_string_new(NULL);
    g_autofree char *object = NULL;
    if (!route) {
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, nic->subnet->path,
                    MODEL_CAUSE_NO_ROUTE, "no route matches", "");
        model__packet_free(pkt);
        return;
    }
    object = route->name ? g_strdup_printf("%s/%s", route->origin, route->name)
                         : g_strdup(route->origin);
    model_route_describe(route, detail);
    bool via_peering = false;
    ModelNic *to = NULL;
    switch (route->type) {
    case MODEL_NEXT_HOP_NONE:
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object,
                    MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, detail->str,
                    "the route's next hop is None: traffic to this prefix is dropped; remove "
                    "the route or add a more specific one to where the traffic should go");
        model__packet_free(pkt);
        return;
    case MODEL_NEXT_HOP_INTERNET:
        model__step(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object, "route", detail->str);
        to_internet(net, pkt, nic, object, false);
        return;
    case MODEL_NEXT_HOP_SERVICE_ENDPOINT:
        model__step(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object, "route", detail->str);
        to_internet(net, pkt, nic, object, true);
        return;
    case MODEL_NEXT_HOP_VIRTUAL_APPLIANCE:
        to = reachable_nic(nic->subnet->vnet, route->next_hop_ip, &via_peering);
        if (!to) {
            g_string_append(detail, ": no NIC has the next-hop address");
            model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object,
                        MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, detail->str,
                        "point nextHopIpAddress at the appliance's private IP");
            model__packet_free(pkt);
            return;
        }
        break;
    case MODEL_NEXT_HOP_VNET_LOCAL:
    case MODEL_NEXT_HOP_VNET_PEERING:
    case MODEL_NEXT_HOP_INTERFACE_ENDPOINT:
        to = reachable_nic(nic->subnet->vnet, pkt->key.dst, &via_peering);
        if (!to) {
            char d[MODEL_IP_STRLEN];
            model_ip_format(pkt->key.dst, d);
            g_string_append_printf(detail, ": no NIC has %s", d);
            /* Entry points (gateway.c): the address is also on-prem / in a P2S pool. */
            if (model__entry_overlap(net, nic, pkt, object)) {
                model__packet_free(pkt);
                return;
            }
            model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object,
                        MODEL_CAUSE_HOST_UNREACHABLE, detail->str, "");
            model__packet_free(pkt);
            return;
        }
        break;
    case MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY:
        /* Entry points (gateway.c): to the gateway, or out of its tunnel. */
        model__gateway_next_hop(net, nic, pkt, route, object, detail->str);
        return;
    default:
        g_string_append(detail, ": next hop not modelled yet");
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object,
                    MODEL_CAUSE_UNSUPPORTED_FEATURE, detail->str, "");
        model__packet_free(pkt);
        return;
    }
    model__step(net, pkt, node_name(nic), MODEL_STAGE_ROUTE, object, "route", detail->str);
    hop(net, pkt, to, via_peering ? LATENCY_PEERING : LATENCY_VNET);
}

/* The platform address is "not subject to user defined routes" and its DNS/health
 * traffic "is not subject to NSGs" unless a rule names the AzurePlatform* tags
 * (azdocs:articles/virtual-network/what-is-ip-address-168-63-129-16.md). */
static bool platform_bypass(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    if (pkt->key.dst != MODEL_AZURE_PLATFORM_IP || !nic->subnet)
        return false;
    ModelNic *platform = g_hash_table_lookup(net->public_ip, GUINT_TO_POINTER(pkt->key.dst));
    if (platform_rules(nic))
        return false; /* the NSGs decide after all */
    model__step(net, pkt, node_name(nic), MODEL_STAGE_PLATFORM, "168.63.129.16", "bypass",
                "platform traffic to 168.63.129.16 is not subject to NSGs or UDRs");
    /* The platform answers on the host: the reply comes straight back to this NIC. */
    remember_return(net, nic, &pkt->key, pkt->key.src, pkt->key.sport, pkt->flow, false);
    if (!platform) {
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_PLATFORM, "168.63.129.16",
                    MODEL_CAUSE_UNSUPPORTED_FEATURE, "the scenario has no Azure DNS host", "");
        model__packet_free(pkt);
        return true;
    }
    hop(net, pkt, platform, LATENCY_PLATFORM);
    return true;
}

static void egress(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    if (flow_aborted(net, pkt)) {
        model__packet_free(pkt);
        return;
    }
    capture(nic, pkt, true, sim_now(net->engine));
    if (nic->outside) { /* entry points (onprem.c): on-prem or P2S routing */
        model__outside_egress(net, nic, pkt);
        return;
    }
    if (!nic->subnet) { /* an internet host: straight onto the internet */
        to_internet(net, pkt, nic, "internet", false);
        return;
    }
    if (model__lb_probe_answer(net, nic, pkt)) /* lb.c: a backend answers a health probe */
        return;
    if (platform_bypass(net, nic, pkt))
        return;
    /* A private endpoint only ever answers: its packets are return traffic. */
    if (!nic->pe_target && !nsg_egress(net, pkt, nic)) {
        model__packet_free(pkt);
        return;
    }
    route_and_send(net, nic, pkt);
}

void model__send(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    pkt->at = nic;
    pkt->sent_by = nic;
    pkt->forwarded = false;
    egress(net, nic, pkt);
}

/* Inbound from the internet to an instance public IP, or a reply to an SNATed flow. */
static bool dnat(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    if (!nic->subnet || pkt->key.dst == nic->ip)
        return true;
    StateKey k = state_key(NULL, &pkt->key, false);
    Translation *back = net->snat ? g_hash_table_lookup(net->snat, &k) : NULL;
    uint32_t to_ip;
    uint16_t to_port = pkt->key.dport;
    if (back) {
        to_ip = back->orig_ip;
        to_port = back->orig_port;
    } else if (nic->public_ip && pkt->key.dst == nic->public_ip && nic->host && nic->host->azfw) {
        /* Azure Firewall takes unsolicited inbound on its public IP only through DNAT rules
         * (azdocs:articles/firewall/tutorial-firewall-dnat.md); without one the default
         * action drops it, silently — no reset. */
        model__drop(net, pkt, node_name(nic), MODEL_STAGE_FIREWALL, nic->host->name,
                    MODEL_CAUSE_FIREWALL_DENIED,
                    "unsolicited inbound to the firewall's public IP: only a DNAT rule admits "
                    "it, and none matches (DNAT rules are not modelled): default action, deny",
                    "reach the service behind the firewall another way (DNAT rules are not "
                    "modelled yet)");
        return false; /* the engine still owns the packet: it frees it */
    } else if (nic->public_ip && pkt->key.dst == nic->public_ip) {
        to_ip = nic->ip;
    } else {
        return true; /* not ours to translate: a packet for an appliance to relay */
    }
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.dst, a);
    model_ip_format(to_ip, b);
    g_autofree char *detail = g_strdup_printf("DNAT %s:%u -> %s:%u", a, pkt->key.dport, b, to_port);
    rewrite(pkt, NULL, NULL, &to_ip, &to_port);
    model__step(net, pkt, node_name(nic), MODEL_STAGE_NAT, nic->capture_name, "dnat", detail);
    return true;
}

static void on_arrive(SimEngine *engine, void *payload)
{
    (void)engine;
    ModelPacket *pkt = payload;
    ModelNic *nic = pkt->at;
    ModelNet *net = nic->net;
    if (flow_aborted(net, pkt))
        return;
    if (!dnat(net, nic, pkt))
        return;
    if (nic->outside) /* entry points (onprem.c): a reply through the site's NAT */
        model__outside_arrive(net, nic, pkt);
    /* Middleboxes (lb.c, natgw.c): a load balancer frontend hands the packet on to a backend,
     * where it carries on; a NAT gateway's address takes nothing unsolicited. */
    if (!(nic = model__lb_arrive(net, nic, pkt)) || model__natgw_arrive(net, nic, pkt))
        return;
    if (nic->subnet && !nsg_ingress(net, pkt, nic))
        return;
    sim_claim_payload(engine); /* from here on the packet is ours to pass on or free */
    capture(nic, pkt, false, sim_now(net->engine));
    bool for_me = pkt->key.dst == nic->ip || pkt->key.dst == nic->public_ip;
    if (!for_me && nic->subnet) {
        appliance_forward(net, nic, pkt);
        return;
    }
    model__host_receive(net, nic, pkt);
}

/* ---- for the entry points (gateway.c, onprem.c): the hops they reuse ---- */

void model__hop(ModelNet *net, ModelPacket *pkt, ModelNic *to, SimTime latency)
{
    hop(net, pkt, to, latency);
}

void model__to_internet(ModelNet *net, ModelPacket *pkt, ModelNic *nic, const char *via)
{
    to_internet(net, pkt, nic, via, false);
}

bool model__snat_reverse(ModelNet *net, const ModelFlowKey *reply, uint32_t *ip, uint16_t *port)
{
    StateKey k = state_key(NULL, reply, false);
    const Translation *back = net->snat ? g_hash_table_lookup(net->snat, &k) : NULL;
    if (!back)
        return false;
    *ip = back->orig_ip;
    *port = back->orig_port;
    return true;
}

void model__remember_return(ModelNet *net, ModelNic *nic, ModelFlowKey *after, uint32_t orig_ip,
                            uint16_t orig_port, int flow)
{
    remember_return(net, nic, after, orig_ip, orig_port, flow, true);
}
