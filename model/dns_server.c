/*
 * dns_server.c — DNS servers as hosts: Azure DNS, forwarders, the Firewall DNS proxy.
 *
 * Azure DNS (168.63.129.16, or a DNS Private Resolver inbound endpoint) answers from the
 * Private DNS zones linked to the asking VNet — "Private DNS zone records are returned
 * only to queries sent to 168.63.129.16" (azdocs:articles/machine-learning/
 * how-to-custom-dns.md) — and publicly otherwise. A forwarder (a DNS server VM, an
 * on-prem DNS server) sends the query on: to the conditional forwarder of the longest
 * matching zone, else to its forwarders, else resolves on the internet (root hints). The
 * Firewall DNS proxy forwards (default: Azure DNS) and caches: positive answers up to
 * 1 h, negative up to 30 min (azdocs:articles/firewall/dns-settings.md).
 *
 * Forwarded queries are real packets from the server's own interface, each with its own
 * transaction id and a 2 s timeout per upstream. A query that comes back to a server
 * already forwarding it (a forwarding loop) is answered SERVFAIL, never looped forever.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/dns.h"

#define UPSTREAM_TIMEOUT   SIM_S(2)
#define CACHE_POSITIVE_MAX SIM_S(3600)
#define CACHE_NEGATIVE_MAX SIM_S(1800)
#define NEGATIVE_TTL_S     300 /* SOA minimum Azure's public zones use, roughly */

typedef struct {
    char *zone;
    GArray *ips; /* uint32 */
} Conditional;

typedef struct {
    uint8_t rcode;
    GArray *records; /* PcapDnsRecord with owned strings */
    SimTime expires;
} CacheEntry;

typedef struct Pending {
    ModelDnsServer *server;
    ModelHost *host;
    ModelNic *nic;       /* where the client's query came in, and the reply leaves */
    ModelFlowKey client; /* the client's query: src = client */
    uint16_t client_txid;
    uint16_t txid; /* ours, towards the upstream */
    uint16_t sport;
    char *qname;
    uint16_t qtype;
    int flow;
    GArray *upstreams; /* uint32, borrowed from the server's configuration */
    guint next;
    SimEventId timer;
    ModelNet *net;
} Pending;

struct ModelDnsServer {
    ModelDnsServerKind kind;
    GArray *forwarders;      /* uint32 */
    GPtrArray *conditionals; /* Conditional * */
    GHashTable *pending;     /* our txid -> Pending * */
    GHashTable *cache;       /* "qname/qtype" -> CacheEntry * */
    GArray *azure_dns;       /* the proxy's default upstream: 168.63.129.16 */
};

static void conditional_free(gpointer p)
{
    Conditional *c = p;
    g_free(c->zone);
    g_array_free(c->ips, TRUE);
    g_free(c);
}

static void records_free(GArray *records)
{
    for (guint i = 0; i < records->len; i++) {
        PcapDnsRecord *r = &g_array_index(records, PcapDnsRecord, i);
        g_free((char *)r->name);
        g_free((char *)r->target);
    }
    g_array_free(records, TRUE);
}

static void cache_entry_free(gpointer p)
{
    CacheEntry *e = p;
    records_free(e->records);
    g_free(e);
}

static void pending_free(gpointer p)
{
    Pending *q = p;
    g_free(q->qname);
    g_free(q);
}

ModelDnsServer *model__dns_server_new(ModelDnsServerKind kind)
{
    ModelDnsServer *s = g_new0(ModelDnsServer, 1);
    s->kind = kind;
    s->forwarders = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    s->conditionals = g_ptr_array_new_with_free_func(conditional_free);
    s->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, pending_free);
    s->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cache_entry_free);
    s->azure_dns = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    uint32_t platform = MODEL_AZURE_PLATFORM_IP;
    g_array_append_val(s->azure_dns, platform);
    return s;
}

void model__dns_server_free(ModelDnsServer *s)
{
    if (!s)
        return;
    g_array_free(s->forwarders, TRUE);
    g_ptr_array_free(s->conditionals, TRUE);
    g_hash_table_destroy(s->pending);
    g_hash_table_destroy(s->cache);
    g_array_free(s->azure_dns, TRUE);
    g_free(s);
}

void model__dns_server_add_forwarder(ModelDnsServer *s, uint32_t ip)
{
    g_array_append_val(s->forwarders, ip);
}

void model__dns_server_add_conditional(ModelDnsServer *s, const char *zone, const uint32_t *ips,
                                       size_t n)
{
    Conditional *c = g_new0(Conditional, 1);
    c->zone = g_ascii_strdown(zone, -1);
    c->ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_vals(c->ips, ips, (guint)n);
    g_ptr_array_add(s->conditionals, c);
}

/* Label-aligned suffix test: "a.blob.core.windows.net" is in "blob.core.windows.net",
 * "ablob.core.windows.net" is not. */
static bool in_zone(const char *name, const char *zone)
{
    size_t ln = strlen(name), lz = strlen(zone);
    if (lz == 0)
        return true;
    if (ln < lz || g_ascii_strcasecmp(name + ln - lz, zone) != 0)
        return false;
    return ln == lz || name[ln - lz - 1] == '.';
}

static const Conditional *conditional_for(const ModelDnsServer *s, const char *qname)
{
    const Conditional *best = NULL;
    for (guint i = 0; i < s->conditionals->len; i++) {
        const Conditional *c = g_ptr_array_index(s->conditionals, i);
        if (in_zone(qname, c->zone) && (!best || strlen(c->zone) > strlen(best->zone)))
            best = c;
    }
    return best;
}

static ModelNic *own_nic(ModelHost *host)
{
    return host->nics->len ? g_ptr_array_index(host->nics, 0) : NULL;
}

/* ---- answering ---- */

static void send_answer(ModelNet *net, ModelNic *nic, const ModelFlowKey *query, int flow,
                        uint16_t txid, const char *qname, uint16_t qtype, uint8_t rcode,
                        const PcapDnsRecord *answers, size_t n)
{
    uint8_t buf[1400];
    PcapDnsMessage m = {.id = txid,
                        .response = true,
                        .rd = true,
                        .ra = true,
                        .rcode = rcode,
                        .qname = qname,
                        .qtype = qtype,
                        .answers = answers,
                        .n_answers = n};
    size_t len = pcap_dns_encode(&m, buf, sizeof buf);
    ModelFlowKey back = {.src = query->dst,
                         .dst = query->src,
                         .sport = query->dport,
                         .dport = query->sport,
                         .proto = MODEL_IPPROTO_UDP};
    model__send(net, nic, model__udp_packet(net, flow, &back, buf, len));
}

/* Notes on the flow which server took a DNS decision that may explain a later failure,
 * and why (the verdict's root cause and fix). With a qname, only for names of PaaS
 * services (a public answer matters only where a private endpoint exists); NULL: always.
 * First decision wins. */
static void note_decision(ModelNet *net, int flow_index, const char *qname, const char *by,
                          const char *why)
{
    if (flow_index < 0)
        return;
    ModelFlow *f = g_ptr_array_index(net->flows, (guint)flow_index);
    if (f->dns.public_by || (qname && !model__service_of_fqdn(net, qname)))
        return;
    f->dns.public_by = g_strdup(by);
    f->dns.public_reason = g_strdup(why);
}

/* The public zone a privatelink zone shadows: "privatelink.blob.core.windows.net" ->
 * "blob.core.windows.net" (for hints). */
static char *public_zone_of(const char *qname)
{
    char *zone = NULL;
    g_free(model_dns_privatelink_name(qname, &zone)); /* only the zone is wanted */
    if (!zone)
        return NULL;
    char *pub = g_str_has_prefix(zone, "privatelink.") ? g_strdup(zone + strlen("privatelink."))
                                                       : g_strdup(zone);
    g_free(zone);
    return pub;
}

static void answer_from_db(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt,
                           const PcapDnsDecoded *q, const void *view, const char *view_name)
{
    ModelDnsResult res = {0};
    model_dns_resolve(net->dns, view, q->qname, q->qtype, &res);
    PcapDnsRecord *rr = g_new0(PcapDnsRecord, res.n_answers + 1);
    for (size_t i = 0; i < res.n_answers; i++)
        rr[i] = (PcapDnsRecord){.name = res.answers[i].name,
                                .type = res.answers[i].type,
                                .ttl = res.answers[i].ttl,
                                .a = res.answers[i].a,
                                .target = res.answers[i].target};
    g_autofree char *detail =
        g_strdup_printf("%s%s", res.detail ? res.detail : q->qname, view_name ? view_name : "");
    model__step(net, pkt, host->name, MODEL_STAGE_DNS, res.decided_by ? res.decided_by : host->name,
                "answer", detail);
    if (res.rcode == PCAP_DNS_NOERROR && res.address && !res.private_answer) {
        g_autofree char *pz = public_zone_of(q->qname);
        g_autofree char *why = g_strdup_printf(
            "%s answered %s publicly: %s; link the private DNS zone %s%s to the VNet whose DNS "
            "queries reach Azure DNS",
            host->name, q->qname, res.detail ? res.detail : "no private zone applies",
            pz ? "privatelink." : "", pz ? pz : "of the service");
        note_decision(net, pkt->flow, q->qname, host->name, why);
    } else if (res.rcode == PCAP_DNS_NXDOMAIN) {
        g_autofree char *why = g_strdup_printf(
            "%s; add the record to the zone (a private endpoint DNS zone group does it) or "
            "set the link's resolution policy to NxDomainRedirect",
            res.detail ? res.detail : "NXDOMAIN");
        note_decision(net, pkt->flow, q->qname, host->name, why);
    }
    send_answer(net, nic, &pkt->key, pkt->flow, q->id, q->qname, q->qtype, res.rcode, rr,
                res.n_answers);
    g_free(rr);
    model_dns_result_clear(&res);
}

/* ---- forwarding ---- */

static void on_upstream_timeout(SimEngine *engine, void *payload);

static void send_upstream(ModelNet *net, Pending *p)
{
    ModelNic *nic = own_nic(p->host);
    uint32_t upstream = g_array_index(p->upstreams, uint32_t, p->next);
    uint8_t buf[512];
    PcapDnsMessage m = {.id = p->txid, .rd = true, .qname = p->qname, .qtype = p->qtype};
    size_t len = pcap_dns_encode(&m, buf, sizeof buf);
    ModelFlowKey k = {.src = nic->ip,
                      .dst = upstream,
                      .sport = p->sport,
                      .dport = 53,
                      .proto = MODEL_IPPROTO_UDP};
    p->timer = sim_schedule(net->engine, UPSTREAM_TIMEOUT, on_upstream_timeout, p, NULL);
    model__send(net, nic, model__udp_packet(net, p->flow, &k, buf, len));
}

static void finish_pending(ModelNet *net, Pending *p, uint8_t rcode, const PcapDnsRecord *rr,
                           size_t n)
{
    if (p->timer)
        sim_cancel(net->engine, p->timer);
    p->timer = 0;
    send_answer(net, p->nic, &p->client, p->flow, p->client_txid, p->qname, p->qtype, rcode, rr, n);
    g_hash_table_remove(p->server->pending, GUINT_TO_POINTER(p->txid));
}

static void on_upstream_timeout(SimEngine *engine, void *payload)
{
    (void)engine;
    Pending *p = payload;
    ModelNet *net = p->net;
    p->timer = 0;
    if (++p->next < p->upstreams->len) {
        send_upstream(net, p);
        return;
    }
    ModelPacket marker = {.flow = p->flow};
    model__step(net, &marker, p->host->name, MODEL_STAGE_DNS, p->host->name, "servfail",
                "no upstream answered: SERVFAIL to the client");
    finish_pending(net, p, PCAP_DNS_SERVFAIL, NULL, 0);
}

static bool already_forwarding(const ModelDnsServer *s, int flow, const char *qname)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->pending);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const Pending *p = v;
        if (p->flow == flow && g_ascii_strcasecmp(p->qname, qname) == 0)
            return true;
    }
    return false;
}

static char *cache_key(const char *qname, uint16_t qtype)
{
    g_autofree char *lower = g_ascii_strdown(qname, -1);
    return g_strdup_printf("%s/%u", lower, qtype);
}

static void cache_store(ModelNet *net, ModelDnsServer *s, const Pending *p,
                        const PcapDnsDecoded *msg)
{
    if (msg->rcode != PCAP_DNS_NOERROR && msg->rcode != PCAP_DNS_NXDOMAIN)
        return;
    CacheEntry *e = g_new0(CacheEntry, 1);
    e->rcode = msg->rcode;
    e->records = g_array_new(FALSE, TRUE, sizeof(PcapDnsRecord));
    uint32_t ttl = msg->rcode == PCAP_DNS_NOERROR ? UINT32_MAX : NEGATIVE_TTL_S;
    for (size_t i = 0; i < msg->n_answers; i++) {
        const PcapDnsDecodedRecord *d = &msg->answers[i];
        PcapDnsRecord r = {.name = g_strdup(d->name),
                           .type = d->type,
                           .ttl = d->ttl,
                           .a = d->a,
                           .target = d->type == PCAP_DNS_CNAME ? g_strdup(d->target) : NULL};
        g_array_append_val(e->records, r);
        if (d->ttl < ttl)
            ttl = d->ttl;
    }
    SimTime life = SIM_S(ttl == UINT32_MAX ? 3600 : ttl);
    SimTime cap = msg->rcode == PCAP_DNS_NOERROR ? CACHE_POSITIVE_MAX : CACHE_NEGATIVE_MAX;
    e->expires = sim_now(net->engine) + (life < cap ? life : cap);
    g_hash_table_replace(s->cache, cache_key(p->qname, p->qtype), e);
}

static void upstream_answer(ModelNet *net, ModelHost *host, ModelDnsServer *s, ModelPacket *pkt,
                            const PcapDnsDecoded *msg)
{
    Pending *p = g_hash_table_lookup(s->pending, GUINT_TO_POINTER(msg->id));
    if (!p || g_ascii_strcasecmp(p->qname, msg->qname) != 0) {
        model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "ignore",
                    "answer to no query in flight");
        return;
    }
    PcapDnsRecord *rr = g_new0(PcapDnsRecord, msg->n_answers + 1);
    for (size_t i = 0; i < msg->n_answers; i++)
        rr[i] = (PcapDnsRecord){.name = msg->answers[i].name,
                                .type = msg->answers[i].type,
                                .ttl = msg->answers[i].ttl,
                                .a = msg->answers[i].a,
                                .target = msg->answers[i].target};
    g_autofree char *detail = g_strdup_printf("%s: %s relayed to the client", msg->qname,
                                              pcap_dns_rcode_name(msg->rcode));
    model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "relay", detail);
    if (s->kind == MODEL_DNS_SERVER_PROXY)
        cache_store(net, s, p, msg);
    finish_pending(net, p, msg->rcode, rr, msg->n_answers);
    g_free(rr);
}

static bool answer_from_cache(ModelNet *net, ModelNic *nic, ModelHost *host, ModelDnsServer *s,
                              ModelPacket *pkt, const PcapDnsDecoded *q)
{
    g_autofree char *key = cache_key(q->qname, q->qtype);
    CacheEntry *e = g_hash_table_lookup(s->cache, key);
    if (!e)
        return false;
    if (e->expires <= sim_now(net->engine)) {
        g_hash_table_remove(s->cache, key);
        return false;
    }
    g_autofree char *detail = g_strdup_printf(
        "%s: %s from the cache (%" G_GUINT64_FORMAT " s left)", q->qname,
        pcap_dns_rcode_name(e->rcode), (e->expires - sim_now(net->engine)) / SIM_S(1));
    model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "cache-hit", detail);
    send_answer(net, nic, &pkt->key, pkt->flow, q->id, q->qname, q->qtype, e->rcode,
                (const PcapDnsRecord *)(void *)e->records->data, e->records->len);
    return true;
}

bool model__dns_server_cached_a(ModelNet *net, const ModelDnsServer *s, const char *qname,
                                uint32_t ip)
{
    g_autofree char *key = cache_key(qname, PCAP_DNS_A);
    const CacheEntry *e = g_hash_table_lookup(s->cache, key);
    if (!e || e->expires <= sim_now(net->engine))
        return false;
    for (guint i = 0; i < e->records->len; i++) {
        const PcapDnsRecord *r = &g_array_index(e->records, PcapDnsRecord, i);
        if (r->type == PCAP_DNS_A && r->a == ip)
            return true;
    }
    return false;
}

static void forward_query(ModelNet *net, ModelNic *nic, ModelHost *host, ModelDnsServer *s,
                          ModelPacket *pkt, const PcapDnsDecoded *q)
{
    if (already_forwarding(s, pkt->flow, q->qname)) {
        model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "servfail",
                    "forwarding loop: this server is already forwarding the query");
        g_autofree char *why = g_strdup_printf(
            "DNS forwarding loop through %s: make one server in the chain resolve the zone "
            "(Azure DNS 168.63.129.16) instead of forwarding it back",
            host->name);
        note_decision(net, pkt->flow, NULL, host->name, why);
        send_answer(net, nic, &pkt->key, pkt->flow, q->id, q->qname, q->qtype, PCAP_DNS_SERVFAIL,
                    NULL, 0);
        return;
    }
    if (s->kind == MODEL_DNS_SERVER_PROXY && answer_from_cache(net, nic, host, s, pkt, q))
        return;
    const Conditional *c = conditional_for(s, q->qname);
    GArray *upstreams = c ? c->ips : s->forwarders;
    if (!upstreams->len && s->kind == MODEL_DNS_SERVER_PROXY)
        upstreams = s->azure_dns;
    if (!upstreams->len || !own_nic(host)) {
        /* No forwarder for the name: the server resolves on the internet itself. */
        g_autofree char *pz = public_zone_of(q->qname);
        g_autofree char *why = g_strdup_printf(
            "%s has no conditional forwarder for %s and resolves it on the internet: add one "
            "pointing at a DNS server in the VNet (which forwards to 168.63.129.16)",
            host->name, pz ? pz : q->qname);
        note_decision(net, pkt->flow, q->qname, host->name, why);
        answer_from_db(net, nic, host, pkt, q, NULL, " (root hints: public DNS)");
        return;
    }
    if (!c && s->forwarders->len) {
        g_autofree char *pz = public_zone_of(q->qname);
        if (pz) {
            g_autofree char *why = g_strdup_printf(
                "%s has no conditional forwarder for %s and sends it to its default "
                "forwarders: add a conditional forwarder for %s pointing at a DNS server in "
                "the VNet (which forwards to 168.63.129.16)",
                host->name, pz, pz);
            /* Used only if the answer turns out public (the flow checks the address). */
            note_decision(net, pkt->flow, q->qname, host->name, why);
        }
    }
    Pending *p = g_new0(Pending, 1);
    p->net = net;
    p->server = s;
    p->host = host;
    p->nic = nic;
    p->client = pkt->key;
    p->client_txid = q->id;
    p->qname = g_strdup(q->qname);
    p->qtype = q->qtype;
    p->flow = pkt->flow;
    p->upstreams = upstreams;
    do
        p->txid = (uint16_t)model__random(net, p->flow);
    while (g_hash_table_contains(s->pending, GUINT_TO_POINTER(p->txid)));
    p->sport = model__next_ephemeral(host);
    g_hash_table_insert(s->pending, GUINT_TO_POINTER(p->txid), p);
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(g_array_index(upstreams, uint32_t, 0), ipt);
    g_autofree char *detail =
        c ? g_strdup_printf("%s: conditional forwarder for %s -> %s", q->qname, c->zone, ipt)
          : g_strdup_printf("%s: forwarder -> %s", q->qname, ipt);
    model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "forward", detail);
    send_upstream(net, p);
}

bool model__dns_server_receive(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt)
{
    ModelDnsServer *s = host->dns_server;
    PcapDnsDecoded *msg = g_new0(PcapDnsDecoded, 1);
    if (pcap_dns_decode(pkt->frame + pkt->payload_off, pkt->payload_len, msg) != 0) {
        model__step(net, pkt, host->name, MODEL_STAGE_DNS, host->name, "ignore",
                    "not a DNS message");
        g_free(msg);
        return false;
    }
    if (msg->response) {
        upstream_answer(net, host, s, pkt, msg);
    } else if (s->kind == MODEL_DNS_SERVER_AZURE) {
        /* 168.63.129.16 answers with the asking VNet's view; an inbound endpoint with its
         * own VNet's. */
        const ModelVnet *view = nic->subnet                            ? nic->subnet->vnet
                                : pkt->sent_by && pkt->sent_by->subnet ? pkt->sent_by->subnet->vnet
                                                                       : NULL;
        g_autofree char *suffix = view ? g_strdup_printf(" (view of %s)", view->name) : NULL;
        answer_from_db(net, nic, host, pkt, msg, view, suffix);
    } else {
        forward_query(net, nic, host, s, pkt, msg);
    }
    g_free(msg);
    return true;
}
