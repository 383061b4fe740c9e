/*
 * lb.c — Azure Load Balancer (Standard): a frontend address, a backend pool, rules and
 * health probes, all as packets.
 *
 * Components (azdocs:articles/load-balancer/components.md): a frontend IP (public, or a
 * private address of a subnet for an internal load balancer), a backend pool of NICs,
 * load-balancing rules mapping a frontend protocol and port to a backend port, and the
 * health probe each rule names.
 *
 * Health probes (azdocs:articles/load-balancer/load-balancer-custom-probe-overview.md):
 *   - "All IPv4 Load Balancer health probes originate from the IP address 168.63.129.16"
 *     and the backend's NSGs decide them: "use a network security group to explicitly
 *     block the health probe" — the AzureLoadBalancer tag's default rule
 *     (AllowAzureLoadBalancerInBound, 65001) lets them in unless a rule before it denies.
 *     So a probe is a real packet, delivered from the backend's host (no route involved),
 *     and flagged so the NSG does not wave it through as other platform traffic.
 *   - TCP: "A TCP probe fails when … The TCP listener on the instance doesn't respond at
 *     all during the timeout period … [or] The probe receives a TCP reset"; the timeout is
 *     the interval ("probes will fail once the configured probe interval duration has
 *     passed and the next probe has been sent"). HTTP: up on status 200, the same timeout
 *     for intervals under 30 s.
 *   - "The health probe attempts to check … every 5 seconds by default". Up: "The health
 *     probe is successful once …"; down: "If the health probe fails, your backend pool
 *     instances are immediately marked as unhealthy" (threshold 1 unless configured).
 *     Before its first success a backend takes no flows ("Any backend endpoint that has
 *     achieved a healthy state is eligible for receiving new flows").
 *   - Probe down: "New TCP connections succeed to remaining healthy backend endpoint.
 *     Established TCP connections to this backend endpoint continue."
 *
 * Probes run on the engine's clock while some flow of the net is under way (a run ends
 * when nothing is left to do); a packet reaching a frontend while they rest wakes them.
 *
 * Distribution: a hash of the 5-tuple, keyed by a seed drawn from the engine's random
 * stream, over the healthy backends (load-balancer-distribution-mode.md: "five-tuple
 * hash"). Inbound NAT: the destination becomes the backend's address and port, the
 * client's address is kept; the backend's replies get the frontend back as source where
 * they first arrive (an internal client, or an appliance on the way) or where they leave
 * for the internet (a public frontend).
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"

#define LB_ERROR            (g_quark_from_static_string("model-lb"))
#define LB_INTERVAL_DEFAULT 5
#define LB_PROBE_LATENCY    SIM_US(40) /* from the backend's own host */
#define LB_PROBE_PORT_FIRST 1024

typedef enum { HEALTH_UNKNOWN, HEALTH_UP, HEALTH_DOWN } Health;

typedef struct LbProbe LbProbe;

/* One probe's view of one backend. */
typedef struct {
    LbProbe *probe;
    ModelNic *backend;
    Health health;
    unsigned fails;   /* in a row */
    bool outstanding; /* a probe awaits its answer */
    uint16_t sport;   /* of the outstanding probe */
    uint32_t isn;     /* our ISN */
    uint32_t srv_isn; /* the backend's, from its SYN/ACK (HTTP probes) */
    char *why;        /* the last failure */
    char *lost;       /* how the outstanding probe was lost, when a drop said so */
} ProbeTarget;

struct LbProbe {
    ModelLb *lb;
    char *name;
    ModelLbProbeProtocol protocol;
    uint16_t port;
    char *path;
    SimTime interval;
    unsigned threshold;
    GPtrArray *targets; /* ProbeTarget *, one per backend (model__lb_start) */
    SimEventId timer;
};

typedef struct {
    char *name;
    uint8_t proto;
    uint16_t frontend_port, backend_port;
    LbProbe *probe;   /* a load-balancing rule's; NULL for an inbound NAT rule */
    ModelNic *nat_to; /* an inbound NAT rule's one backend, else NULL */
} LbRule;

typedef struct {
    ModelNic *backend;
    ModelFlowKey client; /* client -> frontend */
    ModelFlowKey inside; /* client -> backend */
    const LbRule *rule;
} LbFlow;

typedef struct {
    uint32_t a, b;
    uint16_t ap, bp;
    uint32_t proto;
} LbKey;

struct ModelLb {
    ModelNet *net;
    char *name;
    ModelHost *host;
    uint32_t frontend_ip;
    bool internal;
    ModelVnet *vnet;     /* of the backends */
    GPtrArray *backends; /* ModelNic *, borrowed */
    GPtrArray *probes;   /* LbProbe *, owned */
    GPtrArray *rules;    /* LbRule *, owned */
    GHashTable *flows;   /* key(client -> frontend) -> LbFlow *, owned */
    GHashTable *replies; /* key(backend -> client) -> LbFlow * */
    GHashTable *answers; /* key(backend -> 168.63.129.16) -> ProbeTarget * */
    uint64_t seed;
    uint16_t next_port;
    bool outbound;        /* an outbound rule: backends leave for the internet from the frontend */
    char *outbound_label; /* "outbound rule of load balancer <name>", for the SNAT step */
};

/* ---- keys ---- */

static LbKey lb_key(const ModelFlowKey *k, bool reverse)
{
    LbKey x;
    memset(&x, 0, sizeof x);
    x.a = reverse ? k->dst : k->src;
    x.b = reverse ? k->src : k->dst;
    x.ap = reverse ? k->dport : k->sport;
    x.bp = reverse ? k->sport : k->dport;
    x.proto = k->proto;
    return x;
}

static guint lb_hash(gconstpointer p)
{
    const unsigned char *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(LbKey); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean lb_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(LbKey)) == 0;
}

static void put(GHashTable *t, LbKey k, gpointer v)
{
    g_hash_table_replace(t, g_memdup2(&k, sizeof k), v);
}

/* ---- building ---- */

static void target_free(gpointer p)
{
    ProbeTarget *t = p;
    g_free(t->why);
    g_free(t->lost);
    g_free(t);
}

static void probe_free(gpointer p)
{
    LbProbe *pr = p;
    g_ptr_array_free(pr->targets, TRUE);
    g_free(pr->name);
    g_free(pr->path);
    g_free(pr);
}

static void rule_free(gpointer p)
{
    LbRule *r = p;
    g_free(r->name);
    g_free(r);
}

void model__lb_free(gpointer p)
{
    ModelLb *lb = p;
    g_hash_table_destroy(lb->answers);
    g_hash_table_destroy(lb->replies);
    g_hash_table_destroy(lb->flows);
    g_ptr_array_free(lb->rules, TRUE);
    g_ptr_array_free(lb->probes, TRUE);
    g_ptr_array_free(lb->backends, TRUE);
    g_free(lb->outbound_label);
    g_free(lb->name);
    g_free(lb);
}

ModelLb *model_net_add_load_balancer(ModelNet *net, const char *name, ModelSubnet *subnet,
                                     uint32_t frontend_ip, GError **error)
{
    if (!subnet && model_ip_is_private(frontend_ip)) {
        g_set_error(error, LB_ERROR, 0,
                    "load balancer '%s': a public frontend needs a public address", name);
        return NULL;
    }
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_SERVICE, error);
    if (!host)
        return NULL;
    if (subnet) {
        if (!model_net_add_nic(net, host, subnet, "frontend", frontend_ip, error))
            return NULL;
    } else if (!model_host_set_public_ip(net, host, frontend_ip, error)) {
        return NULL;
    }
    ModelLb *lb = g_new0(ModelLb, 1);
    lb->net = net;
    lb->name = g_strdup(name);
    lb->host = host;
    lb->frontend_ip = frontend_ip;
    lb->internal = subnet != NULL;
    lb->vnet = subnet ? subnet->vnet : NULL;
    lb->backends = g_ptr_array_new();
    lb->probes = g_ptr_array_new_with_free_func(probe_free);
    lb->rules = g_ptr_array_new_with_free_func(rule_free);
    lb->flows = g_hash_table_new_full(lb_hash, lb_equal, g_free, g_free);
    lb->replies = g_hash_table_new_full(lb_hash, lb_equal, g_free, NULL);
    lb->answers = g_hash_table_new_full(lb_hash, lb_equal, g_free, NULL);
    lb->next_port = LB_PROBE_PORT_FIRST;
    lb->outbound_label = g_strdup_printf("outbound rule of load balancer %s", name);
    host->lb = lb;
    g_ptr_array_add(model__middleboxes(net)->load_balancers, lb);
    return lb;
}

uint32_t model_lb_frontend_ip(const ModelLb *lb)
{
    return lb->frontend_ip;
}

ModelHost *model_lb_host(const ModelLb *lb)
{
    return lb->host;
}

gboolean model_lb_add_backend(ModelLb *lb, ModelNic *nic, GError **error)
{
    if (!nic->subnet || nic->pe_target || !nic->host) {
        g_set_error(error, LB_ERROR, 0,
                    "load balancer '%s': backend '%s' is not a VM's NIC in a subnet", lb->name,
                    nic->capture_name);
        return FALSE;
    }
    /* A backend pool's members sit in one virtual network (backend-pool-management.md);
     * an internal frontend's too. */
    if (lb->vnet && nic->subnet->vnet != lb->vnet) {
        g_set_error(error, LB_ERROR, 0, "load balancer '%s': backend '%s' is in %s, the pool in %s",
                    lb->name, nic->capture_name, nic->subnet->vnet->name, lb->vnet->name);
        return FALSE;
    }
    lb->vnet = nic->subnet->vnet;
    g_ptr_array_add(lb->backends, nic);
    if (lb->outbound && !nic->outbound_lb)
        nic->outbound_lb = lb;
    return TRUE;
}

static LbProbe *find_probe(const ModelLb *lb, const char *name)
{
    for (guint i = 0; i < lb->probes->len; i++) {
        LbProbe *p = g_ptr_array_index(lb->probes, i);
        if (strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

gboolean model_lb_add_probe(ModelLb *lb, const char *name, ModelLbProbeProtocol protocol,
                            uint16_t port, const char *path, unsigned interval_s,
                            unsigned threshold, GError **error)
{
    if (!name || !*name || find_probe(lb, name) || port == 0) {
        g_set_error(error, LB_ERROR, 0,
                    "load balancer '%s': probe '%s' needs a new name and a port", lb->name,
                    name ? name : "");
        return FALSE;
    }
    LbProbe *p = g_new0(LbProbe, 1);
    p->lb = lb;
    p->name = g_strdup(name);
    p->protocol = protocol;
    p->port = port;
    p->path = g_strdup(path && *path ? path : "/");
    p->interval = SIM_S(interval_s ? interval_s : LB_INTERVAL_DEFAULT);
    p->threshold = threshold ? threshold : 1;
    p->targets = g_ptr_array_new_with_free_func(target_free);
    g_ptr_array_add(lb->probes, p);
    return TRUE;
}

static bool port_free(const ModelLb *lb, const char *name, uint8_t protocol, uint16_t frontend_port,
                      GError **error)
{
    for (guint i = 0; i < lb->rules->len; i++) {
        const LbRule *r = g_ptr_array_index(lb->rules, i);
        if (r->proto == protocol && r->frontend_port == frontend_port) {
            g_set_error(error, LB_ERROR, 0,
                        "load balancer '%s': rules '%s' and '%s' share a frontend port", lb->name,
                        r->name, name);
            return false;
        }
    }
    return true;
}

/* A load-balancing rule (probe) or an inbound NAT rule (nat_to): one frontend port each. */
static LbRule *add_rule(ModelLb *lb, const char *name, uint8_t protocol, uint16_t frontend_port,
                        uint16_t backend_port, LbProbe *probe, ModelNic *nat_to, GError **error)
{
    if (!port_free(lb, name, protocol, frontend_port, error))
        return NULL;
    LbRule *r = g_new0(LbRule, 1);
    r->name = g_strdup(name);
    r->proto = protocol;
    r->frontend_port = frontend_port;
    r->backend_port = backend_port;
    r->probe = probe;
    r->nat_to = nat_to;
    g_ptr_array_add(lb->rules, r);
    return r;
}

gboolean model_lb_add_rule(ModelLb *lb, const char *name, uint8_t protocol, uint16_t frontend_port,
                           uint16_t backend_port, const char *probe, GError **error)
{
    LbProbe *p = probe ? find_probe(lb, probe) : NULL;
    if (!p || (protocol != MODEL_IPPROTO_TCP && protocol != MODEL_IPPROTO_UDP) ||
        frontend_port == 0 || backend_port == 0) {
        g_set_error(error, LB_ERROR, 0,
                    "load balancer '%s': rule '%s' needs Tcp or Udp, ports and an existing "
                    "probe",
                    lb->name, name ? name : "");
        return FALSE;
    }
    return add_rule(lb, name, protocol, frontend_port, backend_port, p, NULL, error) != NULL;
}

gboolean model_lb_add_inbound_nat_rule(ModelLb *lb, const char *name, uint8_t protocol,
                                       uint16_t frontend_port, ModelNic *backend,
                                       uint16_t backend_port, GError **error)
{
    if (!backend || (protocol != MODEL_IPPROTO_TCP && protocol != MODEL_IPPROTO_UDP) ||
        frontend_port == 0 || backend_port == 0) {
        g_set_error(error, LB_ERROR, 0,
                    "load balancer '%s': inbound NAT rule '%s' needs Tcp or Udp, ports and a "
                    "backend",
                    lb->name, name ? name : "");
        return FALSE;
    }
    if (!port_free(lb, name, protocol, frontend_port, error) ||
        (!g_ptr_array_find(lb->backends, backend, NULL) &&
         !model_lb_add_backend(lb, backend, error)))
        return FALSE;
    return add_rule(lb, name, protocol, frontend_port, backend_port, NULL, backend, error) != NULL;
}

void model_lb_set_outbound_rule(ModelLb *lb, bool on)
{
    lb->outbound = on && !lb->internal;
    /* Kept on the backends: the egress path asks per packet. */
    for (guint i = 0; i < lb->backends->len; i++) {
        ModelNic *nic = g_ptr_array_index(lb->backends, i);
        if (lb->outbound && !nic->outbound_lb)
            nic->outbound_lb = lb;
        else if (!lb->outbound && nic->outbound_lb == lb)
            nic->outbound_lb = NULL;
    }
}

bool model__lb_outbound_snat(const ModelNic *nic, uint32_t *ip, const char **how)
{
    if (!nic->outbound_lb)
        return false;
    *ip = nic->outbound_lb->frontend_ip;
    *how = nic->outbound_lb->outbound_label;
    return true;
}

uint32_t model__lb_public_frontend_of(const ModelNet *net, const ModelNic *nic)
{
    if (!net->middleboxes)
        return 0;
    GPtrArray *lbs = net->middleboxes->load_balancers;
    for (guint i = 0; i < lbs->len; i++) {
        const ModelLb *lb = g_ptr_array_index(lbs, i);
        if (!lb->internal && lb->rules->len && g_ptr_array_find(lb->backends, nic, NULL))
            return lb->frontend_ip;
    }
    return 0;
}

/* ---- probes ---- */

static bool flows_under_way(const ModelNet *net)
{
    for (guint i = 0; i < net->flows->len; i++)
        if (!((const ModelFlow *)g_ptr_array_index(net->flows, i))->done)
            return true;
    return false;
}

static void probe_step(ModelNet *net, const ProbeTarget *t, const char *action, const char *detail)
{
    ModelPacket marker = {.flow = -1};
    g_autofree char *object = g_strdup_printf("%s/%s", t->probe->lb->name, t->probe->name);
    model__step(net, &marker, t->probe->lb->name, MODEL_STAGE_NAT, object, action, detail);
}

static const char *probe_proto_name(const LbProbe *p)
{
    return p->protocol == MODEL_LB_PROBE_HTTP ? "Http" : "Tcp";
}

static void probe_ok(ModelNet *net, ProbeTarget *t)
{
    t->outstanding = false;
    t->fails = 0;
    g_clear_pointer(&t->lost, g_free);
    if (t->health == HEALTH_UP)
        return;
    t->health = HEALTH_UP;
    g_autofree char *detail =
        g_strdup_printf("probe %s:%u to %s answered: backend up", probe_proto_name(t->probe),
                        t->probe->port, t->backend->capture_name);
    probe_step(net, t, "up", detail);
}

static void probe_failed(ModelNet *net, ProbeTarget *t, const char *why)
{
    t->outstanding = false;
    t->fails++;
    g_free(t->why);
    t->why = g_strdup(why);
    if (t->fails < t->probe->threshold || t->health == HEALTH_DOWN)
        return;
    t->health = HEALTH_DOWN;
    g_autofree char *detail = g_strdup_printf(
        "probe %s:%u to %s failed %u time(s) in a row: backend down (%s)",
        probe_proto_name(t->probe), t->probe->port, t->backend->capture_name, t->fails, why);
    probe_step(net, t, "down", detail);
}

static void send_probe(ModelNet *net, ProbeTarget *t, uint8_t flags, uint32_t seq, uint32_t ack,
                       const uint8_t *payload, size_t len)
{
    ModelLb *lb = t->probe->lb;
    ModelFlowKey k = {.src = MODEL_AZURE_PLATFORM_IP,
                      .dst = t->backend->ip,
                      .sport = t->sport,
                      .dport = t->probe->port,
                      .proto = MODEL_IPPROTO_TCP};
    ModelPacket *pkt = model__tcp_packet(net, -1, &k, flags, seq, ack, payload, len);
    pkt->health_probe = true;
    put(lb->answers, lb_key(&k, true), t);
    model__hop(net, pkt, t->backend, LB_PROBE_LATENCY);
}

static void on_probe_round(SimEngine *engine, void *payload)
{
    (void)engine;
    LbProbe *p = payload;
    ModelLb *lb = p->lb;
    ModelNet *net = lb->net;
    p->timer = 0;
    for (guint i = 0; i < p->targets->len; i++) {
        ProbeTarget *t = g_ptr_array_index(p->targets, i);
        if (t->outstanding) {
            LbKey old = lb_key(&(ModelFlowKey){.src = MODEL_AZURE_PLATFORM_IP,
                                               .dst = t->backend->ip,
                                               .sport = t->sport,
                                               .dport = p->port,
                                               .proto = MODEL_IPPROTO_TCP},
                               true);
            g_hash_table_remove(lb->answers, &old);
            g_autofree char *why =
                t->lost ? g_strdup(t->lost)
                        : g_strdup(p->protocol == MODEL_LB_PROBE_HTTP
                                       ? "no HTTP response within the probe interval"
                                       : "no answer to the SYN within the probe interval");
            probe_failed(net, t, why);
        }
        t->outstanding = true;
        g_clear_pointer(&t->lost, g_free);
        t->sport = lb->next_port;
        lb->next_port = lb->next_port == 65535 ? LB_PROBE_PORT_FIRST : lb->next_port + 1;
        t->isn = (uint32_t)sim_random(net->engine);
        send_probe(net, t, PCAP_TCP_SYN, t->isn, 0, NULL, 0);
    }
    if (flows_under_way(net))
        p->timer = sim_schedule(net->engine, p->interval, on_probe_round, p, NULL);
}

static void start_probe(ModelLb *lb, LbProbe *p)
{
    if (p->timer)
        return;
    p->timer = sim_schedule(lb->net->engine, 0, on_probe_round, p, NULL);
}

void model__lb_start(ModelNet *net)
{
    if (!net->middleboxes)
        return;
    GPtrArray *lbs = net->middleboxes->load_balancers;
    for (guint i = 0; i < lbs->len; i++) {
        ModelLb *lb = g_ptr_array_index(lbs, i);
        lb->seed = sim_random(net->engine);
        for (guint k = 0; k < lb->probes->len; k++) {
            LbProbe *p = g_ptr_array_index(lb->probes, k);
            g_ptr_array_set_size(p->targets, 0);
            for (guint b = 0; b < lb->backends->len; b++) {
                ProbeTarget *t = g_new0(ProbeTarget, 1);
                t->probe = p;
                t->backend = g_ptr_array_index(lb->backends, b);
                g_ptr_array_add(p->targets, t);
            }
            start_probe(lb, p);
        }
    }
}

static ProbeTarget *probe_target_of(ModelNet *net, const ModelFlowKey *k, ModelLb **lb_out)
{
    if (!net->middleboxes)
        return NULL;
    GPtrArray *lbs = net->middleboxes->load_balancers;
    LbKey key = lb_key(k, false);
    for (guint i = 0; i < lbs->len; i++) {
        ModelLb *lb = g_ptr_array_index(lbs, i);
        ProbeTarget *t = g_hash_table_lookup(lb->answers, &key);
        if (t) {
            if (lb_out)
                *lb_out = lb;
            return t;
        }
    }
    return NULL;
}

bool model__lb_probe_answer(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    (void)nic;
    if (pkt->key.dst != MODEL_AZURE_PLATFORM_IP || pkt->key.proto != MODEL_IPPROTO_TCP)
        return false;
    ProbeTarget *t = probe_target_of(net, &pkt->key, NULL);
    if (!t || !t->outstanding) {
        if (t) {
            model__packet_free(pkt);
            return true; /* a late answer to a probe already given up */
        }
        return false;
    }
    uint8_t flags = pkt->tcp_flags;
    if (flags & PCAP_TCP_RST) {
        g_autofree char *why = g_strdup_printf("TCP reset: nothing listens on port %u of %s",
                                               t->probe->port, t->backend->capture_name);
        probe_failed(net, t, why);
    } else if ((flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == (PCAP_TCP_SYN | PCAP_TCP_ACK)) {
        if (t->probe->protocol == MODEL_LB_PROBE_TCP) {
            probe_ok(net, t);
        } else {
            t->srv_isn = pkt->tcp_seq;
            char get[256];
            char host[MODEL_IP_STRLEN];
            model_ip_format(t->backend->ip, host);
            int n = g_snprintf(get, sizeof get,
                               "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Load Balancer Agent\r\n"
                               "\r\n",
                               t->probe->path, host);
            send_probe(net, t, PCAP_TCP_PSH | PCAP_TCP_ACK, t->isn + 1, pkt->tcp_seq + 1,
                       (const uint8_t *)get, n > 0 && (size_t)n < sizeof get ? (size_t)n : 0);
        }
    } else if (pkt->payload_len >= 12 && t->probe->protocol == MODEL_LB_PROBE_HTTP) {
        const char *body = (const char *)pkt->frame + pkt->payload_off;
        int status = 0;
        if (memcmp(body, "HTTP/1.", 7) == 0)
            status = (body[9] - '0') * 100 + (body[10] - '0') * 10 + (body[11] - '0');
        if (status == 200) {
            probe_ok(net, t);
        } else {
            g_autofree char *why =
                g_strdup_printf("HTTP %d to GET %s (only 200 is up)", status, t->probe->path);
            probe_failed(net, t, why);
        }
    }
    model__packet_free(pkt);
    return true;
}

void model__lb_probe_lost(ModelNet *net, const ModelPacket *pkt, const char *object,
                          ModelCause cause)
{
    ProbeTarget *t = probe_target_of(net,
                                     &(ModelFlowKey){.src = pkt->key.dst,
                                                     .dst = pkt->key.src,
                                                     .sport = pkt->key.dport,
                                                     .dport = pkt->key.sport,
                                                     .proto = pkt->key.proto},
                                     NULL);
    if (!t)
        return;
    g_free(t->lost);
    t->lost = g_strdup_printf("the probe from 168.63.129.16 was dropped by %s (%s)", object,
                              model_cause_name(cause));
}

void model__lb_probe_serve(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ProbeTarget *t = probe_target_of(net,
                                     &(ModelFlowKey){.src = pkt->key.dst,
                                                     .dst = pkt->key.src,
                                                     .sport = pkt->key.dport,
                                                     .dport = pkt->key.sport,
                                                     .proto = pkt->key.proto},
                                     NULL);
    /* A listening web server answers the probe's GET (its path is not modelled). */
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    ModelFlowKey back = {.src = pkt->key.dst,
                         .dst = pkt->key.src,
                         .sport = pkt->key.dport,
                         .dport = pkt->key.sport,
                         .proto = MODEL_IPPROTO_TCP};
    model__step(net, pkt, host->name, MODEL_STAGE_LISTENER, host->name, "serve",
                "health probe GET: HTTP 200");
    model__send(net, nic,
                model__tcp_packet(net, -1, &back, PCAP_TCP_PSH | PCAP_TCP_ACK,
                                  t ? t->srv_isn + 1 : 1, pkt->tcp_seq + pkt->payload_len,
                                  (const uint8_t *)ok, sizeof ok - 1));
}

/* ---- the frontend ---- */

static const LbRule *rule_for(const ModelLb *lb, const ModelFlowKey *k)
{
    for (guint i = 0; i < lb->rules->len; i++) {
        const LbRule *r = g_ptr_array_index(lb->rules, i);
        if (r->proto == k->proto && r->frontend_port == k->dport)
            return r;
    }
    return NULL;
}

static ProbeTarget *target_of(const LbProbe *p, const ModelNic *backend)
{
    for (guint i = 0; i < p->targets->len; i++) {
        ProbeTarget *t = g_ptr_array_index(p->targets, i);
        if (t->backend == backend)
            return t;
    }
    return NULL;
}

static void describe_unhealthy(const ModelLb *lb, const LbRule *rule, GString *out)
{
    const LbProbe *p = rule->probe;
    g_string_append_printf(out, "no healthy backend for rule %s of load balancer %s: ", rule->name,
                           lb->name);
    if (!lb->backends->len) {
        g_string_append(out, "the backend pool is empty");
        return;
    }
    for (guint i = 0; i < lb->backends->len; i++) {
        const ModelNic *b = g_ptr_array_index(lb->backends, i);
        const ProbeTarget *t = target_of(p, b);
        g_string_append_printf(out, "%sprobe %s (%s:%u) ", i ? "; " : "", p->name,
                               probe_proto_name(p), p->port);
        if (t && t->health == HEALTH_DOWN)
            g_string_append_printf(out, "failed on %s because %s", b->capture_name, t->why);
        else if (t && (t->lost || t->why))
            g_string_append_printf(out, "has not succeeded on %s: %s", b->capture_name,
                                   t->lost ? t->lost : t->why);
        else
            g_string_append_printf(out, "has not answered from %s yet", b->capture_name);
    }
}

static ModelNic *pick_backend(ModelLb *lb, const LbRule *rule, const ModelFlowKey *k)
{
    GPtrArray *healthy = g_ptr_array_new();
    for (guint i = 0; i < lb->backends->len; i++) {
        ModelNic *b = g_ptr_array_index(lb->backends, i);
        const ProbeTarget *t = target_of(rule->probe, b);
        if (t && t->health == HEALTH_UP)
            g_ptr_array_add(healthy, b);
    }
    ModelNic *pick = NULL;
    if (healthy->len) {
        LbKey key = lb_key(k, false);
        uint64_t h = lb->seed ^ 0xcbf29ce484222325ull;
        const unsigned char *b = (const unsigned char *)&key;
        for (size_t i = 0; i < sizeof key; i++)
            h = (h ^ b[i]) * 0x100000001b3ull;
        pick = g_ptr_array_index(healthy, (guint)(h % healthy->len));
    }
    g_ptr_array_free(healthy, TRUE);
    return pick;
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

static ModelNic *frontend(ModelNet *net, ModelLb *lb, ModelPacket *pkt)
{
    for (guint i = 0; i < lb->probes->len; i++) /* wake the probes up if they rest */
        start_probe(lb, g_ptr_array_index(lb->probes, i));
    LbKey k = lb_key(&pkt->key, false);
    LbFlow *f = g_hash_table_lookup(lb->flows, &k);
    if (!f) {
        const LbRule *rule = rule_for(lb, &pkt->key);
        char d[MODEL_IP_STRLEN];
        model_ip_format(pkt->key.dst, d);
        if (!rule) {
            g_autofree char *detail = g_strdup_printf(
                "no load-balancing rule of %s for %s port %u on frontend %s", lb->name,
                pkt->key.proto == MODEL_IPPROTO_TCP ? "Tcp" : "Udp", pkt->key.dport, d);
            model__drop(net, pkt, lb->name, MODEL_STAGE_NAT, lb->name, MODEL_CAUSE_HOST_UNREACHABLE,
                        detail, "add a load-balancing rule for the frontend port");
            return NULL;
        }
        ModelNic *backend = rule->nat_to ? rule->nat_to : pick_backend(lb, rule, &pkt->key);
        if (!backend) {
            g_autoptr(GString) detail = g_string_new(NULL);
            describe_unhealthy(lb, rule, detail);
            g_autofree char *hint = g_strdup_printf(
                "let the probe in: the backends' NSGs must allow 168.63.129.16 (service tag "
                "AzureLoadBalancer) on port %u before any deny, and something must listen "
                "there (load-balancer-custom-probe-overview.md, \"Probe source IP address\")",
                rule->probe->port);
            model__drop(net, pkt, lb->name, MODEL_STAGE_NAT, lb->name, MODEL_CAUSE_HOST_UNREACHABLE,
                        detail->str, hint);
            return NULL;
        }
        f = g_new0(LbFlow, 1);
        f->backend = backend;
        f->rule = rule;
        f->client = pkt->key;
        f->inside = pkt->key;
        f->inside.dst = backend->ip;
        f->inside.dport = rule->backend_port;
        put(lb->flows, k, f);
        put(lb->replies, lb_key(&f->inside, true), f);
    }
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.dst, a);
    model_ip_format(f->inside.dst, b);
    g_autofree char *detail =
        f->rule->nat_to
            ? g_strdup_printf("inbound NAT rule %s: DNAT %s:%u -> %s:%u (%s)", f->rule->name, a,
                              pkt->key.dport, b, f->inside.dport, f->backend->capture_name)
            : g_strdup_printf("rule %s: DNAT %s:%u -> %s:%u (%s, healthy by probe %s)",
                              f->rule->name, a, pkt->key.dport, b, f->inside.dport,
                              f->backend->capture_name, f->rule->probe->name);
    rewrite(pkt, NULL, NULL, &f->inside.dst, &f->inside.dport);
    model__step(net, pkt, lb->name, MODEL_STAGE_NAT, lb->name, "dnat", detail);
    pkt->at = f->backend;
    return f->backend;
}

/* The reply of a load-balanced flow: its source becomes the frontend again. */
static LbFlow *reply_flow(ModelNet *net, const ModelPacket *pkt, ModelLb **lb_out)
{
    GPtrArray *lbs = net->middleboxes->load_balancers;
    LbKey k = lb_key(&pkt->key, false);
    for (guint i = 0; i < lbs->len; i++) {
        ModelLb *lb = g_ptr_array_index(lbs, i);
        LbFlow *f = g_hash_table_lookup(lb->replies, &k);
        if (f) {
            *lb_out = lb;
            return f;
        }
    }
    return NULL;
}

static void reverse_nat(ModelNet *net, ModelLb *lb, LbFlow *f, ModelPacket *pkt)
{
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.src, a);
    model_ip_format(f->client.dst, b);
    g_autofree char *detail = g_strdup_printf("reply of rule %s: %s:%u -> %s:%u (frontend)",
                                              f->rule->name, a, pkt->key.sport, b, f->client.dport);
    rewrite(pkt, &f->client.dst, &f->client.dport, NULL, NULL);
    model__step(net, pkt, lb->name, MODEL_STAGE_NAT, lb->name, "snat", detail);
}

ModelNic *model__lb_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    if (!net->middleboxes || !net->middleboxes->load_balancers->len)
        return nic;
    if (nic->host && nic->host->lb && pkt->key.dst == nic->host->lb->frontend_ip)
        return frontend(net, nic->host->lb, pkt);
    ModelLb *lb;
    LbFlow *f = reply_flow(net, pkt, &lb);
    if (f)
        reverse_nat(net, lb, f, pkt);
    return nic;
}

bool model__lb_public_reply(ModelNet *net, ModelPacket *pkt)
{
    if (!net->middleboxes || !net->middleboxes->load_balancers->len)
        return false;
    ModelLb *lb;
    LbFlow *f = reply_flow(net, pkt, &lb);
    if (!f || lb->internal)
        return false;
    reverse_nat(net, lb, f, pkt);
    return true;
}
