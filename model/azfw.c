/*
 * azfw.c — Azure Firewall on the wire: what its NIC does with the packets the UDRs send
 * it, its transparent proxy for application rules, its SNAT, its DNS proxy.
 *
 * A new connection (a TCP SYN, any other datagram) meets the network rules first
 * (azdocs:articles/firewall/rule-processing.md: "network rules are applied in priority
 * order before application rules. The rules are terminating"):
 *   - a network rule decides it: Deny drops it (FIREWALL_DENIED at the rule), Allow relays
 *     it as a stateful router would; the existing connection tracking of forward.c then
 *     drops what comes back another way (ASYMMETRIC_RETURN);
 *   - no network rule, TCP to a port the proxy listens on: the firewall's transparent
 *     proxy answers the SYN itself ("Azure Firewall's transparent proxy listens on port
 *     80/443 for outbound traffic. The TCP ping establishes a connection with the
 *     firewall, which then drops the packet", firewall-faq.md). The first data segment
 *     names the target — the TLS ClientHello's server_name (RFC 6066 §3), the HTTP Host
 *     header — and meets the application rules. Allowed, the proxy connects to the server
 *     from its own address ("Application rules are always SNATed using a transparent
 *     proxy whatever the destination IP address", snat-private-range.md) and relays both
 *     ways; denied, the segment is dropped (HTTP gets the 470 page the firewall serves);
 *   - neither: the default action, deny ("Action: Deny. Reason: No rule matched.
 *     Proceeding with default action", the firewall's log line).
 *
 * SNAT: traffic leaving for the internet takes the firewall's public IP where forward.c
 * leaves any NIC for the internet (its instance public IP, or the subnet's NAT gateway).
 * Network-rule traffic to other destinations keeps its source when the destination lies
 * in the SNAT private ranges (IANA RFC 1918 / RFC 6598 by default) and is otherwise
 * SNATed to the address of a firewall instance in AzureFirewallSubnet, as the proxy's is.
 *
 * The proxy keeps the client's sequence numbers towards the server and the server's
 * towards the client (the difference of the two ISNs is carried in every relayed
 * segment), so the captures on both sides read as one TCP conversation each.
 *
 * Not modelled: DNAT rules, threat intelligence, the infrastructure rule collection, FQDN
 * tags, the proxy's own resolution of the target name (it connects to the address the
 * client asked for), rule changes during a run.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"

#define AZFW_ERROR         (g_quark_from_static_string("model-azfw"))
#define AZFW_NAME_MAX      50 /* firewall-faq.md: "There's a 50 character limit" */
#define AZFW_SUBNET        "AzureFirewallSubnet"
#define AZFW_SUBNET_MAXLEN 26 /* "/26 subnet size" */
#define AZFW_PORT_FIRST    1024
#define DNS_PORT           53

typedef enum { CONN_RELAY, CONN_SNAT, CONN_PROXY } ConnKind;

typedef enum {
    PROXY_HANDSHAKE,  /* SYN answered; waiting for the first data segment */
    PROXY_DENIED,     /* an application rule (or none) refused it */
    PROXY_CONNECTING, /* allowed: the firewall's SYN to the server is out */
    PROXY_OPEN,       /* both legs up: relaying */
} ProxyState;

typedef struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t proto;
} ConnKey;

typedef struct {
    ConnKind kind;
    ModelFlowKey client;       /* the client's first packet as it reached the firewall */
    ModelFlowKey up;           /* the firewall's own leg: instance:port -> server (SNAT, proxy) */
    char *object;              /* the rule (or firewall) that decided, for traces */
    const ModelAzfwRule *rule; /* the rule that decided; NULL: none (default action) */
    char *target;              /* proxy: the SNI or Host the application rules saw */
    /* proxy */
    ProxyState state;
    ModelAzfwAppKind app;
    uint32_t client_isn; /* its data keeps these numbers upstream */
    uint32_t isn;        /* the ISN the proxy answered the client with */
    uint32_t delta;      /* server ISN - isn: added to acks going up, taken from seqs going down */
    uint8_t held[MODEL_PACKET_MAX]; /* the first data segment, until the upstream leg is up */
    uint16_t held_len;
    uint32_t held_seq, held_ack;
    uint8_t held_flags;
} AzfwConn;

/* ---- state tables ---- */

static ConnKey conn_key(const ModelFlowKey *k, bool reverse)
{
    ConnKey c;
    memset(&c, 0, sizeof c); /* padding must hash the same every time */
    c.src = reverse ? k->dst : k->src;
    c.dst = reverse ? k->src : k->dst;
    c.sport = reverse ? k->dport : k->sport;
    c.dport = reverse ? k->sport : k->dport;
    c.proto = k->proto;
    return c;
}

static guint conn_hash(gconstpointer p)
{
    const unsigned char *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(ConnKey); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean conn_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(ConnKey)) == 0;
}

static void conn_free(gpointer p)
{
    AzfwConn *c = p;
    g_free(c->object);
    g_free(c->target);
    g_free(c);
}

static AzfwConn *conn_new(ModelAzfw *fw, ConnKind kind, const ModelFlowKey *client,
                          const char *object)
{
    AzfwConn *c = g_new0(AzfwConn, 1);
    c->kind = kind;
    c->client = *client;
    c->object = g_strdup(object);
    ConnKey k = conn_key(client, false);
    g_hash_table_replace(fw->conns, g_memdup2(&k, sizeof k), c);
    return c;
}

/* Gives the connection the firewall's own leg (instance address, a port of its own) and
 * indexes the replies that will come back to it. */
static void conn_open_upstream(ModelNet *net, ModelAzfw *fw, AzfwConn *c, int flow)
{
    c->up = c->client;
    c->up.src = fw->instance_ip;
    /* A port of the flow's own (from its name), so one flow's change moves no other's. */
    const ModelFlow *f = flow >= 0 ? g_ptr_array_index(net->flows, (guint)flow) : NULL;
    if (f) {
        c->up.sport = model__client_port(fw->host, f->name, 0x20000u);
    } else {
        c->up.sport = fw->next_port;
        fw->next_port = fw->next_port == 65535 ? AZFW_PORT_FIRST : fw->next_port + 1;
    }
    ConnKey back = conn_key(&c->up, true);
    g_hash_table_replace(fw->upstream, g_memdup2(&back, sizeof back), c);
}

/* ---- creation and settings ---- */

ModelMiddleboxes *model__middleboxes(ModelNet *net)
{
    if (!net->middleboxes) {
        ModelMiddleboxes *m = g_new0(ModelMiddleboxes, 1);
        m->firewalls = g_ptr_array_new_with_free_func(model__azfw_free);
        m->nat_gateways = g_ptr_array_new_with_free_func(model__natgw_free);
        m->load_balancers = g_ptr_array_new_with_free_func(model__lb_free);
        net->middleboxes = m;
    }
    return net->middleboxes;
}

void model__middleboxes_free(ModelNet *net)
{
    ModelMiddleboxes *m = net->middleboxes;
    if (!m)
        return;
    g_ptr_array_free(m->firewalls, TRUE);
    g_ptr_array_free(m->nat_gateways, TRUE);
    g_ptr_array_free(m->load_balancers, TRUE);
    g_free(m);
    net->middleboxes = NULL;
}

static void prefix_set_free(gpointer p)
{
    model_prefix_set_clear(p);
    g_free(p);
}

void model__azfw_free(gpointer p)
{
    ModelAzfw *fw = p;
    g_hash_table_destroy(fw->upstream);
    g_hash_table_destroy(fw->conns);
    g_ptr_array_free(fw->groups, TRUE);
    g_hash_table_destroy(fw->ip_groups);
    model_prefix_set_clear(&fw->snat_private);
    g_array_free(fw->dns_servers, TRUE);
    g_free(fw->name);
    g_free(fw);
}

/* The next address of the subnet that no NIC holds and Azure does not reserve (the
 * first four and the last, virtual-networks-faq.md). 0 when the subnet is full. */
static uint32_t free_address_after(const ModelSubnet *s, uint32_t ip)
{
    uint32_t last = s->prefix.addr + (uint32_t)((1ull << (32 - s->prefix.len)) - 2);
    for (uint32_t a = ip + 1; a <= last && a > ip; a++)
        if (a - s->prefix.addr >= 4 &&
            !g_hash_table_contains(s->vnet->nic_by_ip, GUINT_TO_POINTER(a)))
            return a;
    return 0;
}

ModelAzfw *model_net_add_firewall(ModelNet *net, const char *name, ModelSubnet *subnet,
                                  uint32_t private_ip, uint32_t public_ip, GError **error)
{
    if (!name || !*name || strlen(name) > AZFW_NAME_MAX) {
        g_set_error(error, AZFW_ERROR, 0, "a firewall name is 1-%d characters", AZFW_NAME_MAX);
        return NULL;
    }
    if (strcmp(subnet->name, AZFW_SUBNET) != 0) {
        g_set_error(error, AZFW_ERROR, 0,
                    "firewall '%s': subnet '%s' is not named " AZFW_SUBNET
                    " (Azure Firewall deploys only there)",
                    name, subnet->path);
        return NULL;
    }
    if (subnet->prefix.len > AZFW_SUBNET_MAXLEN) {
        g_set_error(error, AZFW_ERROR, 0,
                    "firewall '%s': " AZFW_SUBNET " must be /26 or larger (firewall-faq.md: "
                    "\"Azure Firewall must provision more virtual machine instances as it "
                    "scales\")",
                    name);
        return NULL;
    }
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_APPLIANCE, error);
    if (!host)
        return NULL;
    ModelNic *nic = model_net_add_nic(net, host, subnet, "nic0", private_ip, error);
    if (!nic || !model_nic_set_public_ip(net, nic, public_ip, error))
        return NULL;
    uint32_t instance = free_address_after(subnet, private_ip);
    if (!instance) {
        g_set_error(error, AZFW_ERROR, 0,
                    "firewall '%s': no free address left in %s for its "
                    "instances",
                    name, subnet->path);
        return NULL;
    }
    model_nic_set_ip_forwarding(nic, true);
    /* The instance address belongs to the same interface: replies to it come here. */
    g_hash_table_insert(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(instance), nic);

    ModelAzfw *fw = g_new0(ModelAzfw, 1);
    fw->net = net;
    fw->name = g_strdup(name);
    fw->host = host;
    fw->nic = nic;
    fw->instance_ip = instance;
    fw->dns_servers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    model_prefix_set_init(&fw->snat_private);
    model__azfw_default_snat_ranges(fw);
    fw->ip_groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, prefix_set_free);
    fw->groups = g_ptr_array_new_with_free_func(model__azfw_group_free);
    fw->conns = g_hash_table_new_full(conn_hash, conn_equal, g_free, conn_free);
    fw->upstream = g_hash_table_new_full(conn_hash, conn_equal, g_free, NULL);
    fw->next_port = AZFW_PORT_FIRST;
    host->azfw = fw;
    g_ptr_array_add(model__middleboxes(net)->firewalls, fw);
    return fw;
}

ModelAzfw *model_net_find_firewall(const ModelNet *net, const char *name)
{
    if (!net->middleboxes)
        return NULL;
    GPtrArray *a = net->middleboxes->firewalls;
    for (guint i = 0; i < a->len; i++) {
        ModelAzfw *fw = g_ptr_array_index(a, i);
        if (strcmp(fw->name, name) == 0)
            return fw;
    }
    return NULL;
}

ModelHost *model_azfw_host(const ModelAzfw *fw)
{
    return fw->host;
}

/* The proxy is dns_server.c's MODEL_DNS_SERVER_PROXY on the firewall's host, forwarding
 * to the firewall's DNS servers (none: Azure DNS, its default upstream). */
static void apply_dns(ModelAzfw *fw)
{
    ModelHost *h = fw->host;
    model__dns_server_free(h->dns_server);
    h->dns_server = NULL;
    g_hash_table_remove(h->listen, GUINT_TO_POINTER((guint)MODEL_IPPROTO_UDP << 16 | DNS_PORT));
    if (!fw->dns_proxy)
        return;
    model_host_set_dns_server(h, MODEL_DNS_SERVER_PROXY);
    for (guint i = 0; i < fw->dns_servers->len; i++)
        model_dns_server_add_forwarder(h, g_array_index(fw->dns_servers, uint32_t, i));
}

void model_azfw_set_dns_proxy(ModelAzfw *fw, bool enabled)
{
    fw->dns_proxy = enabled;
    apply_dns(fw);
}

void model_azfw_set_dns_servers(ModelAzfw *fw, const uint32_t *ips, size_t n)
{
    g_array_set_size(fw->dns_servers, 0);
    g_array_append_vals(fw->dns_servers, ips, (guint)n);
    apply_dns(fw);
}

/* ---- packets ---- */

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

static const char *proto_name(uint8_t proto)
{
    return proto == MODEL_IPPROTO_TCP    ? "TCP"
           : proto == MODEL_IPPROTO_UDP  ? "UDP"
           : proto == MODEL_IPPROTO_ICMP ? "ICMP"
                                         : "IP";
}

/* "TCP request from 10.1.1.4:49152 to 20.42.0.241:443", as the firewall's log opens. */
static void describe_request(const ModelFlowKey *k, const char *app, const char *target,
                             GString *out)
{
    char s[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(k->src, s);
    model_ip_format(k->dst, d);
    if (k->proto == MODEL_IPPROTO_ICMP)
        g_string_append_printf(out, "ICMP request from %s to %s", s, d);
    else
        g_string_append_printf(out, "%s request from %s:%u to %s:%u",
                               app ? app : proto_name(k->proto), s, k->sport,
                               target && *target ? target : d, k->dport);
}

static void describe_rule(const ModelAzfwRule *rule, ModelAccess action, GString *out)
{
    if (!rule) {
        g_string_append(out, ". Action: Deny. Reason: No rule matched. Proceeding with default "
                             "action");
        return;
    }
    g_string_append_printf(out,
                           ". Action: %s. Rule Collection Group: %s. Rule Collection: %s. "
                           "Rule: %s",
                           action == MODEL_ACCESS_ALLOW ? "Allow" : "Deny",
                           rule->collection->group->name, rule->collection->name, rule->name);
}

static void fw_step(ModelNet *net, ModelAzfw *fw, ModelPacket *pkt, const char *object,
                    const char *action, const char *detail)
{
    model__step(net, pkt, fw->name, MODEL_STAGE_FIREWALL, object, action, detail);
}

/* Drops pkt (and frees it) for a rule's Deny or the default action; target: the FQDN an
 * application rule would have to name, when the proxy saw one. */
static void deny(ModelNet *net, ModelAzfw *fw, ModelPacket *pkt, const ModelAzfwRule *rule,
                 const char *target, const char *detail)
{
    g_autofree char *hint = NULL;
    if (rule)
        hint = g_strdup_printf("rule %s denies it: allow the traffic in a rule processed "
                               "before it (network rules come first; then lower collection "
                               "group and collection priority numbers)",
                               rule->object);
    else if (target && *target)
        hint = g_strdup_printf("no rule of firewall %s matches: allow %s in an application rule "
                               "(or the destination and port in a network rule)",
                               fw->name, target);
    else
        hint = g_strdup_printf("no rule of firewall %s matches: add a network rule for the "
                               "destination and port, or an application rule for the FQDN",
                               fw->name);
    model__drop(net, pkt, fw->name, MODEL_STAGE_FIREWALL, rule ? rule->object : fw->name,
                MODEL_CAUSE_FIREWALL_DENIED, detail, hint);
    model__packet_free(pkt);
}

/* Sends a segment of `flow` from the firewall's NIC. */
static void send_tcp(ModelNet *net, ModelAzfw *fw, int flow, const ModelFlowKey *k, uint8_t flags,
                     uint32_t seq, uint32_t ack, const uint8_t *payload, size_t len)
{
    model__send(net, fw->nic, model__tcp_packet(net, flow, k, flags, seq, ack, payload, len));
}

static ModelFlowKey toward_client(const AzfwConn *c)
{
    return (ModelFlowKey){.src = c->client.dst,
                          .dst = c->client.src,
                          .sport = c->client.dport,
                          .dport = c->client.sport,
                          .proto = c->client.proto};
}

/* ---- network-rule SNAT to the instance address ---- */

static void relay_translated(ModelNet *net, ModelAzfw *fw, ModelPacket *pkt, const char *detail)
{
    if (pcap_frame_forward(pkt->frame) == 0) {
        model__drop(net, pkt, fw->name, MODEL_STAGE_ROUTE, fw->name, MODEL_CAUSE_ROUTING_LOOP,
                    "TTL expired while forwarding: the packet is going round in circles",
                    "check the route tables for routes that point back at each other");
        model__packet_free(pkt);
        return;
    }
    model__step(net, pkt, fw->name, MODEL_STAGE_NAT, fw->name, "snat", detail);
    model__send(net, fw->nic, pkt);
}

static void snat_out(ModelNet *net, ModelAzfw *fw, AzfwConn *c, ModelPacket *pkt)
{
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.src, a);
    model_ip_format(c->up.src, b);
    g_autofree char *detail =
        g_strdup_printf("SNAT %s:%u -> %s:%u (destination outside the SNAT private ranges)", a,
                        pkt->key.sport, b, c->up.sport);
    rewrite(pkt, &c->up.src, &c->up.sport, NULL, NULL);
    relay_translated(net, fw, pkt, detail);
}

static void snat_back(ModelNet *net, ModelAzfw *fw, AzfwConn *c, ModelPacket *pkt)
{
    char a[MODEL_IP_STRLEN];
    model_ip_format(c->client.src, a);
    g_autofree char *detail =
        g_strdup_printf("reply translated back to the client, %s:%u", a, c->client.sport);
    rewrite(pkt, NULL, NULL, &c->client.src, &c->client.sport);
    relay_translated(net, fw, pkt, detail);
}

/* ---- the application-rule proxy ---- */

/* The server_name of a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), lower case, into
 * out ("" when the hello has none). False when data is not a ClientHello. Every length
 * is checked against what is there: the octets come from the wire. */
static bool tls_sni(const uint8_t *d, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    if (n < 9 || d[0] != 0x16 || d[5] != 1) /* handshake record, ClientHello */
        return false;
    size_t left = (size_t)d[3] << 8 | d[4];
    if (left > n - 5)
        left = n - 5;
    const uint8_t *p = d + 9;
    size_t hs = (size_t)d[6] << 16 | (size_t)d[7] << 8 | d[8];
    if (left < 4)
        return false;
    left -= 4;
    if (hs < left)
        left = hs;
    if (left < 35) /* legacy_version, random, session id length */
        return false;
    size_t l = p[34];
    if (left < 35 + l + 2)
        return false;
    p += 35 + l;
    left -= 35 + l;
    l = (size_t)p[0] << 8 | p[1]; /* cipher suites */
    if (left < 2 + l + 1)
        return false;
    p += 2 + l;
    left -= 2 + l;
    l = p[0]; /* compression methods */
    if (left < 1 + l)
        return false;
    p += 1 + l;
    left -= 1 + l;
    if (left < 2)
        return true; /* no extensions */
    size_t ext = (size_t)p[0] << 8 | p[1];
    p += 2;
    left -= 2;
    if (ext < left)
        left = ext;
    while (left >= 4) {
        unsigned type = (unsigned)p[0] << 8 | p[1];
        size_t el = (size_t)p[2] << 8 | p[3];
        p += 4;
        left -= 4;
        if (el > left)
            return false;
        if (type == 0 && el >= 5 && p[2] == 0) { /* server_name, host_name */
            size_t nl = (size_t)p[3] << 8 | p[4];
            if (5 + nl <= el && nl < cap) {
                for (size_t i = 0; i < nl; i++)
                    out[i] = g_ascii_tolower((char)p[5 + i]);
                out[nl] = '\0';
            }
            return true;
        }
        p += el;
        left -= el;
    }
    return true;
}

/* The Host of an HTTP/1.x request (RFC 9112 §3.2), lower case and without port, into
 * out. False when data is not an HTTP request. */
static bool http_host(const uint8_t *d, size_t n, char *out, size_t cap)
{
    static const char *const methods[] = {"GET ",    "POST ",  "PUT ",     "HEAD ",
                                          "DELETE ", "PATCH ", "OPTIONS ", "CONNECT "};
    out[0] = '\0';
    bool request = false;
    for (size_t i = 0; i < G_N_ELEMENTS(methods) && !request; i++) {
        size_t ml = strlen(methods[i]);
        request = n > ml && memcmp(d, methods[i], ml) == 0;
    }
    if (!request)
        return false;
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && d[end] != '\r' && d[end] != '\n')
            end++;
        if (end == i)
            break; /* the blank line: end of the header */
        if (end - i > 5 && g_ascii_strncasecmp((const char *)d + i, "host:", 5) == 0) {
            size_t s = i + 5, e = end;
            while (s < e && (d[s] == ' ' || d[s] == '\t'))
                s++;
            while (e > s && (d[e - 1] == ' ' || d[e - 1] == '\t'))
                e--;
            for (size_t k = s; k < e; k++)
                if (d[k] == ':')
                    e = k;
            if (e - s < cap) {
                for (size_t k = s; k < e; k++)
                    out[k - s] = g_ascii_tolower((char)d[k]);
                out[e - s] = '\0';
            }
            return true;
        }
        i = end;
        while (i < n && (d[i] == '\r' || d[i] == '\n') && i < end + 2)
            i++;
    }
    return true;
}

static void send_upstream_syn(ModelNet *net, ModelAzfw *fw, AzfwConn *c, int flow)
{
    send_tcp(net, fw, flow, &c->up, PCAP_TCP_SYN, c->client_isn, 0, NULL, 0);
}

/* The firewall's answer to a refused plain-HTTP request: status 470 with its log line as
 * the page (observed: the status line "HTTP/1.1 470 status code 470" curl prints). */
static void refuse_http(ModelNet *net, ModelAzfw *fw, AzfwConn *c, const ModelPacket *pkt,
                        const char *why, const char *hint)
{
    ModelFlow *flow = model__flow_of(net, pkt);
    if (flow) {
        ModelAppResponse *r = &flow->response;
        model__app_response_clear(r);
        r->status = 470;
        r->cause = MODEL_CAUSE_FIREWALL_DENIED;
        r->at = g_strdup(c->object);
        r->detail = g_strdup(why);
        r->hint = g_strdup(hint);
    }
    char page[512];
    int n = g_snprintf(page, sizeof page,
                       "HTTP/1.1 470 status code 470\r\nContent-Type: text/plain\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       strlen(why), why);
    ModelFlowKey k = toward_client(c);
    send_tcp(net, fw, pkt->flow, &k, PCAP_TCP_PSH | PCAP_TCP_ACK, c->isn + 1,
             pkt->tcp_seq + pkt->payload_len, (const uint8_t *)page,
             n > 0 && (size_t)n < sizeof page ? (size_t)n : 0);
}

/* The first data segment of a proxied connection: the application rules decide. */
static void proxy_decide(ModelNet *net, ModelAzfw *fw, AzfwConn *c, ModelPacket *pkt)
{
    const uint8_t *data = pkt->frame + pkt->payload_off;
    char target[256];
    const char *app = NULL;
    if (tls_sni(data, pkt->payload_len, target, sizeof target)) {
        c->app = MODEL_AZFW_APP_HTTPS;
        app = "HTTPS";
    } else if (http_host(data, pkt->payload_len, target, sizeof target)) {
        c->app = MODEL_AZFW_APP_HTTP;
        app = "HTTP";
    }
    const ModelAzfwRule *rule =
        app ? model__azfw_match_application(fw, c->client.src, c->app, c->client.dport, target)
            : NULL;
    /* SQL FQDN filtering (azdocs:articles/firewall/sql-fqdn-filtering.md): an Mssql
     * application rule names the server's FQDN, which a client's encrypted connection
     * carries in its TLS server name; the flows here open SQL's TLS directly (no TDS
     * pre-login), so a TLS ClientHello that no HTTPS rule takes is offered to the Mssql
     * rules on its port. */
    if (!rule && c->app == MODEL_AZFW_APP_HTTPS) {
        rule = model__azfw_match_application(fw, c->client.src, MODEL_AZFW_APP_MSSQL,
                                             c->client.dport, target);
        if (rule) {
            c->app = MODEL_AZFW_APP_MSSQL;
            app = "MSSQL";
        }
    }
    g_autoptr(GString) detail = g_string_new(NULL);
    describe_request(&c->client, app, target, detail);
    ModelAccess action = rule ? rule->collection->action : MODEL_ACCESS_DENY;
    describe_rule(rule, action, detail);
    if (!app)
        g_string_append(detail, " (the first data is neither a TLS ClientHello nor an HTTP "
                                "request: no application rule can match it)");
    else if (!*target)
        g_string_append(detail, c->app == MODEL_AZFW_APP_HTTPS
                                    ? " (the ClientHello carries no SNI)"
                                    : " (the request has no Host header)");
    g_free(c->object);
    c->object = g_strdup(rule ? rule->object : fw->name);
    c->rule = rule;
    c->target = app ? g_strdup(target) : NULL;
    if (action == MODEL_ACCESS_DENY) {
        c->state = PROXY_DENIED;
        if (c->app == MODEL_AZFW_APP_HTTP && app) {
            /* The page carries the log line's verdict part. */
            const char *why = strstr(detail->str, "Action: ");
            g_autofree char *hint = g_strdup_printf("allow %s in an application rule of %s",
                                                    *target ? target : "the site", fw->name);
            refuse_http(net, fw, c, pkt, why ? why : "Action: Deny", hint);
        }
        deny(net, fw, pkt, rule, target, detail->str);
        return;
    }
    fw_step(net, fw, pkt, c->object, "allow", detail->str);
    c->state = PROXY_CONNECTING;
    size_t len = pkt->payload_len < sizeof c->held ? pkt->payload_len : sizeof c->held;
    memcpy(c->held, data, len);
    c->held_len = (uint16_t)len;
    c->held_seq = pkt->tcp_seq;
    c->held_ack = pkt->tcp_ack;
    c->held_flags = pkt->tcp_flags;
    conn_open_upstream(net, fw, c, pkt->flow);
    char s[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(c->up.src, s);
    model_ip_format(c->up.dst, d);
    g_autofree char *how = g_strdup_printf(
        "the proxy connects to %s:%u from %s:%u (application rules are always SNATed)", d,
        c->up.dport, s, c->up.sport);
    fw_step(net, fw, pkt, c->object, "connect", how);
    send_upstream_syn(net, fw, c, pkt->flow);
    model__packet_free(pkt);
}

/* A segment from the client of a proxied connection. Takes pkt. */
static void proxy_from_client(ModelNet *net, ModelAzfw *fw, AzfwConn *c, ModelPacket *pkt)
{
    uint8_t flags = pkt->tcp_flags;
    if ((flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN) {
        if (c->state == PROXY_HANDSHAKE) { /* a retransmitted SYN: the same answer */
            ModelFlowKey k = toward_client(c);
            send_tcp(net, fw, pkt->flow, &k, PCAP_TCP_SYN | PCAP_TCP_ACK, c->isn, c->client_isn + 1,
                     NULL, 0);
        }
        model__packet_free(pkt);
        return;
    }
    switch (c->state) {
    case PROXY_HANDSHAKE:
        if (pkt->payload_len == 0) { /* the handshake's last ACK ends here */
            model__packet_free(pkt);
            return;
        }
        proxy_decide(net, fw, c, pkt);
        return;
    case PROXY_DENIED: {
        if (pkt->payload_len == 0) {
            model__packet_free(pkt);
            return;
        }
        g_autoptr(GString) detail = g_string_new(NULL);
        describe_request(&c->client,
                         c->target ? (c->app == MODEL_AZFW_APP_HTTP ? "HTTP" : "HTTPS") : NULL,
                         c->target, detail);
        g_string_append(detail, ": retransmission of a request the firewall denied");
        deny(net, fw, pkt, c->rule, c->target, detail->str);
        return;
    }
    case PROXY_CONNECTING:
        if (pkt->payload_len) /* the client retransmitted: so does the proxy */
            send_upstream_syn(net, fw, c, pkt->flow);
        model__packet_free(pkt);
        return;
    case PROXY_OPEN:
        send_tcp(net, fw, pkt->flow, &c->up, flags, pkt->tcp_seq, pkt->tcp_ack + c->delta,
                 pkt->frame + pkt->payload_off, pkt->payload_len);
        model__packet_free(pkt);
        return;
    }
}

/* A segment from the server to the proxy's own leg. Takes pkt. */
static void proxy_from_server(ModelNet *net, ModelAzfw *fw, AzfwConn *c, ModelPacket *pkt)
{
    uint8_t flags = pkt->tcp_flags;
    if (c->state == PROXY_CONNECTING &&
        (flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == (PCAP_TCP_SYN | PCAP_TCP_ACK)) {
        c->delta = pkt->tcp_seq - c->isn;
        c->state = PROXY_OPEN;
        fw_step(net, fw, pkt, c->object, "relay",
                "server answered: the proxy forwards the client's first segment");
        send_tcp(net, fw, pkt->flow, &c->up, PCAP_TCP_ACK, c->client_isn + 1, pkt->tcp_seq + 1,
                 NULL, 0);
        send_tcp(net, fw, pkt->flow, &c->up, c->held_flags, c->held_seq, c->held_ack + c->delta,
                 c->held, c->held_len);
        model__packet_free(pkt);
        return;
    }
    if (c->state != PROXY_OPEN && !(flags & PCAP_TCP_RST)) {
        model__packet_free(pkt);
        return;
    }
    if (flags & PCAP_TCP_RST)
        fw_step(net, fw, pkt, c->object, "reset",
                "the server reset the proxy's connection: so is the client's");
    ModelFlowKey k = toward_client(c);
    uint32_t ack =
        (flags & PCAP_TCP_RST) && c->state != PROXY_OPEN ? c->held_seq + c->held_len : pkt->tcp_ack;
    send_tcp(net, fw, pkt->flow, &k, flags, pkt->tcp_seq - c->delta, ack,
             pkt->frame + pkt->payload_off, pkt->payload_len);
    model__packet_free(pkt);
}

static void proxy_accept(ModelNet *net, ModelAzfw *fw, ModelPacket *pkt)
{
    AzfwConn *c = conn_new(fw, CONN_PROXY, &pkt->key, fw->name);
    c->state = PROXY_HANDSHAKE;
    c->client_isn = pkt->tcp_seq;
    /* The server side of a flow lives in the flow (stack.c): the ISN chosen here is the
     * one the server will use too, so the two legs line up. */
    ModelFlow *flow = model__flow_of(net, pkt);
    if (flow && flow->srv_isn == 0)
        flow->srv_isn = (uint32_t)model__random(net, pkt->flow) | 1;
    c->isn = flow ? flow->srv_isn : (uint32_t)sim_random(net->engine) | 1;
    /* The SYN/ACK the client gets is the firewall's: until a server answers upstream, the
     * firewall is who answered (a bare handshake is "delivered at <fw>"). */
    if (flow && !flow->responder)
        flow->responder = g_strdup(fw->name);
    g_autoptr(GString) detail = g_string_new(NULL);
    describe_request(&pkt->key, NULL, NULL, detail);
    g_string_append_printf(detail,
                           ": no network rule matched; the transparent proxy listens on "
                           "TCP %u and completes the handshake itself, the application "
                           "rules decide on the first data (TLS SNI or HTTP Host)",
                           pkt->key.dport);
    fw_step(net, fw, pkt, fw->name, "proxy", detail->str);
    ModelFlowKey k = toward_client(c);
    send_tcp(net, fw, pkt->flow, &k, PCAP_TCP_SYN | PCAP_TCP_ACK, c->isn, c->client_isn + 1, NULL,
             0);
    model__packet_free(pkt);
}

/* ---- the hooks ---- */

static bool resolved_by_proxy(void *ctx, const char *fqdn, uint32_t ip)
{
    ModelAzfw *fw = ctx;
    return fw->host->dns_server &&
           model__dns_server_cached_a(fw->net, fw->host->dns_server, fqdn, ip);
}

/* Network-rule traffic that does not leave for the internet is SNATed unless its
 * destination is in the SNAT private ranges (snat-private-range.md). */
bool model__azfw_never_snats(const ModelAzfw *fw)
{
    for (size_t i = 0; i < fw->snat_private.len; i++)
        if (fw->snat_private.items[i].len == 0)
            return true;
    return false;
}

static bool needs_private_snat(const ModelAzfw *fw, uint32_t dst)
{
    if (model_prefix_set_contains(&fw->snat_private, dst))
        return false;
    const ModelRoute *r = model_routes_lookup(fw->nic->subnet->routes, dst);
    return r && r->type != MODEL_NEXT_HOP_INTERNET;
}

static bool opens_connection(const ModelPacket *pkt)
{
    return pkt->key.proto != MODEL_IPPROTO_TCP ||
           (pkt->tcp_flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN;
}

bool model__azfw_forward(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    ModelAzfw *fw = nic->host->azfw;
    ConnKey k = conn_key(&pkt->key, false);
    AzfwConn *c = g_hash_table_lookup(fw->upstream, &k);
    if (c) { /* to the firewall's own leg */
        if (c->kind == CONN_SNAT)
            snat_back(net, fw, c, pkt);
        else
            proxy_from_server(net, fw, c, pkt);
        return false;
    }
    c = g_hash_table_lookup(fw->conns, &k);
    if (c) {
        switch (c->kind) {
        case CONN_RELAY:
            return true;
        case CONN_SNAT:
            snat_out(net, fw, c, pkt);
            return false;
        case CONN_PROXY:
            proxy_from_client(net, fw, c, pkt);
            return false;
        }
    }
    ConnKey rk = conn_key(&pkt->key, true);
    if (g_hash_table_contains(fw->conns, &rk))
        return true; /* a reply of a relayed connection */
    if (!opens_connection(pkt))
        return true; /* connection tracking drops it: the firewall saw no start */

    const ModelAzfwRule *rule = model__azfw_match_network(fw, &pkt->key, resolved_by_proxy, fw);
    g_autoptr(GString) detail = g_string_new(NULL);
    describe_request(&pkt->key, NULL, NULL, detail);
    if (rule) {
        describe_rule(rule, rule->collection->action, detail);
        if (rule->collection->action == MODEL_ACCESS_DENY) {
            deny(net, fw, pkt, rule, NULL, detail->str);
            return false;
        }
        fw_step(net, fw, pkt, rule->object, "allow", detail->str);
        if (needs_private_snat(fw, pkt->key.dst)) {
            c = conn_new(fw, CONN_SNAT, &pkt->key, rule->object);
            conn_open_upstream(net, fw, c, pkt->flow);
            snat_out(net, fw, c, pkt);
            return false;
        }
        conn_new(fw, CONN_RELAY, &pkt->key, rule->object);
        return true;
    }
    if (pkt->key.proto == MODEL_IPPROTO_TCP && model__azfw_proxy_port(fw, pkt->key.dport)) {
        proxy_accept(net, fw, pkt);
        return false;
    }
    describe_rule(NULL, MODEL_ACCESS_DENY, detail);
    deny(net, fw, pkt, NULL, NULL, detail->str);
    return false;
}

bool model__azfw_local(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    ModelAzfw *fw = nic->host->azfw;
    if (fw->dns_proxy || pkt->key.dport != DNS_PORT ||
        (pkt->key.proto != MODEL_IPPROTO_UDP && pkt->key.proto != MODEL_IPPROTO_TCP))
        return false;
    char s[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.src, s);
    g_autofree char *detail = g_strdup_printf(
        "DNS query from %s to the firewall's private IP: DNS proxy is disabled (\"By default, "
        "DNS Proxy is disabled\", dns-settings.md), so nothing listens on port 53",
        s);
    g_autofree char *hint = g_strdup_printf(
        "enable DNS proxy on firewall %s, or give the VNet DNS servers that answer", fw->name);
    model__drop(net, pkt, fw->name, MODEL_STAGE_FIREWALL, fw->name,
                MODEL_CAUSE_FIREWALL_NO_DNS_PROXY, detail, hint);
    return true;
}
