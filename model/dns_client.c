/*
 * dns_client.c — a host's stub resolver, as a flow's first phase.
 *
 * Order (what every stub resolver does): the hosts file, then the configured DNS servers
 * one after the other, each given DNS_QUERY_TIMEOUT, the whole list tried DNS_ROUNDS
 * times. The servers are the host's own list, else its VNet's custom DNS servers, else
 * Azure DNS at 168.63.129.16 (azdocs:articles/virtual-network/
 * virtual-networks-name-resolution-for-vms-and-role-instances.md).
 *
 * Queries and answers are real datagrams: the answer is decoded from the wire, not taken
 * from the server's memory. What the resolver concludes is kept for the verdict's root
 * cause: a public answer for a name that has a private endpoint (DNS_PUBLIC_ANSWER), or a
 * hosts-file line that is neither the private endpoint's address nor the public one
 * (DNS_STALE_HOSTS_ENTRY).
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/dns.h"

#define DNS_QUERY_TIMEOUT SIM_S(2)
#define DNS_ROUNDS        2

ModelHost *model__service_of_fqdn(ModelNet *net, const char *fqdn)
{
    if (!net->fqdn_service || !fqdn)
        return NULL;
    g_autofree char *lower = g_ascii_strdown(fqdn, -1);
    size_t len = strlen(lower);
    if (len && lower[len - 1] == '.')
        lower[len - 1] = '\0';
    return g_hash_table_lookup(net->fqdn_service, lower);
}

/* The private endpoint addresses of a service, appended to out. O(NICs). */
static void private_endpoint_ips(ModelNet *net, const ModelHost *service, GArray *out)
{
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        if (n->pe_target == service)
            g_array_append_val(out, n->ip);
    }
}

static const char *ip_owner(ModelNet *net, uint32_t ip, char buf[MODEL_IP_STRLEN])
{
    ModelNic *n = g_hash_table_lookup(net->public_ip, GUINT_TO_POINTER(ip));
    for (guint i = 0; !n && i < net->vnets->len; i++) {
        ModelVnet *v = g_ptr_array_index(net->vnets, i);
        n = g_hash_table_lookup(v->nic_by_ip, GUINT_TO_POINTER(ip));
    }
    if (n)
        return n->host ? n->host->name : n->name;
    model_ip_format(ip, buf);
    return buf;
}

static GArray *resolvers(const ModelFlow *f)
{
    if (f->from->dns_servers->len)
        return f->from->dns_servers;
    if (f->nic->subnet && f->nic->subnet->vnet->dns_servers->len)
        return f->nic->subnet->vnet->dns_servers;
    return NULL;
}

static uint32_t resolver_at(const ModelFlow *f, guint i, guint *count)
{
    GArray *list = resolvers(f);
    if (list) {
        *count = list->len;
        return g_array_index(list, uint32_t, i);
    }
    /* Inside a VNet with no custom servers: Azure DNS. Outside Azure: none. */
    *count = f->nic->subnet ? 1 : 0;
    return MODEL_AZURE_PLATFORM_IP;
}

static void on_query_timeout(SimEngine *engine, void *payload);

static void send_query(ModelNet *net, ModelFlow *f)
{
    guint count;
    uint32_t server = resolver_at(f, f->dns.server, &count);
    f->dns.server_ip = server;
    f->dns.txid = (uint16_t)model__random(net, f->index);
    f->dns.sport = model__client_port(f->from, f->name, 0x10000u | f->dns.txid);
    uint8_t buf[512];
    PcapDnsMessage q = {.id = f->dns.txid, .rd = true, .qname = f->fqdn, .qtype = PCAP_DNS_A};
    size_t len = pcap_dns_encode(&q, buf, sizeof buf);
    ModelFlowKey k = {.src = f->nic->ip,
                      .dst = server,
                      .sport = f->dns.sport,
                      .dport = 53,
                      .proto = MODEL_IPPROTO_UDP};
    ModelPacket *p = model__udp_packet(net, f->index, &k, buf, len);
    char ipbuf[MODEL_IP_STRLEN];
    const char *who = ip_owner(net, server, ipbuf);
    g_autofree char *detail = g_strdup_printf("A? %s to %s", f->fqdn, who);
    f->timer = sim_schedule(net->engine, DNS_QUERY_TIMEOUT, on_query_timeout, f, NULL);
    model__step(net, p, f->from->name, MODEL_STAGE_DNS, who, "query", detail);
    model__send(net, f->nic, p);
}

static void fail_timeout(ModelNet *net, ModelFlow *f)
{
    char ipbuf[MODEL_IP_STRLEN];
    const char *who = ip_owner(net, f->dns.server_ip, ipbuf);
    /* The query went to an Azure Firewall whose DNS proxy is off (azfw.c): that, not the
     * silence that followed, is why the name did not resolve. */
    if (f->drop_cause == MODEL_CAUSE_FIREWALL_NO_DNS_PROXY) {
        model__flow_finish(net, f, MODEL_VERDICT_DROPPED, f->drop_cause, f->drop_at, f->drop_hint);
        return;
    }
    g_autoptr(GString) hint = g_string_new(NULL);
    if (f->dns.server_ip == MODEL_AZURE_PLATFORM_IP && !f->nic->subnet)
        g_string_append(hint, "168.63.129.16 answers only inside Azure: give the client a DNS "
                              "forwarder in the VNet, the Azure Firewall DNS proxy or a DNS "
                              "Private Resolver inbound endpoint");
    else
        g_string_printf(hint, "no answer from %s", who);
    if (f->drop_cause != MODEL_CAUSE_NONE)
        g_string_append_printf(hint, " (the query was dropped: %s at %s)",
                               model_cause_name(f->drop_cause), f->drop_at);
    model__flow_finish(net, f, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_TIMEOUT, who, hint->str);
}

static void on_query_timeout(SimEngine *engine, void *payload)
{
    (void)engine;
    ModelFlow *f = payload;
    ModelNet *net = f->net;
    f->timer = 0;
    if (f->done || f->phase != PHASE_RESOLVE)
        return;
    guint count;
    resolver_at(f, 0, &count);
    if (++f->dns.server >= count) {
        f->dns.server = 0;
        if (++f->dns.round >= DNS_ROUNDS) {
            fail_timeout(net, f);
            return;
        }
    }
    send_query(net, f);
}

static void hosts_file_answer(ModelNet *net, ModelFlow *f, uint32_t ip)
{
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(ip, ipt);
    g_autofree char *object = g_strdup_printf("%s/hosts", f->from->name);
    g_autofree char *detail = g_strdup_printf("%s -> %s (hosts file)", f->fqdn, ipt);
    ModelPacket marker = {.flow = f->index};
    model__step(net, &marker, f->from->name, MODEL_STAGE_HOSTS_FILE, object, "answer", detail);
    f->dns.done = true;
    f->dns.address = ip;
    f->dns.from_hosts_file = true;
    f->dns.answered_by = g_strdup("hosts-file");

    ModelHost *service = model__service_of_fqdn(net, f->fqdn);
    if (service) {
        GArray *valid = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        private_endpoint_ips(net, service, valid);
        bool known = service->public_ip == ip;
        for (guint i = 0; i < valid->len; i++)
            known |= g_array_index(valid, uint32_t, i) == ip;
        if (!known) {
            f->root_cause = MODEL_CAUSE_DNS_STALE_HOSTS_ENTRY;
            f->root_at = g_strdup(object);
            GString *hint = g_string_new(NULL);
            g_string_printf(hint, "the hosts file of %s pins %s to %s, which is not %s's address",
                            f->from->name, f->fqdn, ipt, service->name);
            if (valid->len) {
                char pe[MODEL_IP_STRLEN];
                model_ip_format(g_array_index(valid, uint32_t, 0), pe);
                g_string_append_printf(hint, " (its private endpoint is %s): fix the line", pe);
            }
            f->root_hint = g_string_free(hint, FALSE);
        }
        g_array_free(valid, TRUE);
    }
    model__flow_resolved(net, f);
}

void model__dns_client_start(ModelNet *net, ModelFlow *f)
{
    gpointer ip;
    if (g_hash_table_lookup_extended(f->from->hosts_file, f->fqdn, NULL, &ip)) {
        hosts_file_answer(net, f, GPOINTER_TO_UINT(ip));
        return;
    }
    guint count;
    resolver_at(f, 0, &count);
    if (count == 0) {
        g_autofree char *hint = g_strdup_printf(
            "host '%s' is outside Azure and has no DNS server: give it dnsServers", f->from->name);
        model__flow_finish(net, f, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_TIMEOUT, f->from->name,
                           hint);
        return;
    }
    f->dns.server = 0;
    f->dns.round = 0;
    send_query(net, f);
}

/* The name has a private endpoint but the answer is public: remember who decided so. */
static void mark_public_answer(ModelNet *net, ModelFlow *f, const char *answered_by)
{
    /* From the internet the public answer is the only useful one: no private endpoint is
     * reachable from there, so the answer is not what went wrong. */
    if (f->from->kind == MODEL_HOST_INTERNET || f->from->kind == MODEL_HOST_SERVICE)
        return;
    ModelHost *service = model__service_of_fqdn(net, f->fqdn);
    if (!service)
        return;
    GArray *pes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    private_endpoint_ips(net, service, pes);
    guint n_pe = pes->len;
    g_array_free(pes, TRUE);
    if (n_pe == 0)
        return;
    f->root_cause = MODEL_CAUSE_DNS_PUBLIC_ANSWER;
    f->root_at = g_strdup(f->dns.public_by ? f->dns.public_by : answered_by);
    if (f->dns.public_reason)
        f->root_hint = g_strdup(f->dns.public_reason);
    else
        f->root_hint = g_strdup_printf(
            "%s answered %s's public address although it has a private endpoint: resolve it "
            "through Azure DNS from a VNet linked to its private DNS zone",
            answered_by, f->fqdn);
}

void model__dns_client_receive(ModelNet *net, ModelFlow *f, ModelPacket *pkt)
{
    if (f->done || f->phase != PHASE_RESOLVE)
        return;
    PcapDnsDecoded *msg = g_new0(PcapDnsDecoded, 1);
    int rc = pcap_dns_decode(pkt->frame + pkt->payload_off, pkt->payload_len, msg);
    char ipbuf[MODEL_IP_STRLEN];
    const char *who = ip_owner(net, pkt->key.src, ipbuf);
    if (rc != 0 || !msg->response || msg->id != f->dns.txid) {
        model__step(net, pkt, f->from->name, MODEL_STAGE_DNS, who, "ignore",
                    "not an answer to the query in flight");
        g_free(msg);
        return;
    }
    if (f->timer) {
        sim_cancel(net->engine, f->timer);
        f->timer = 0;
    }
    f->dns.answered_by = g_strdup(who);
    uint32_t address = 0;
    for (size_t i = 0; i < msg->n_answers && !address; i++)
        if (msg->answers[i].type == PCAP_DNS_A)
            address = msg->answers[i].a;
    if (msg->rcode != PCAP_DNS_NOERROR || !address) {
        bool servfail = msg->rcode == PCAP_DNS_SERVFAIL;
        g_autofree char *detail = g_strdup_printf(
            "%s: %s from %s", f->fqdn,
            msg->rcode == PCAP_DNS_NOERROR ? "no A record" : pcap_dns_rcode_name(msg->rcode), who);
        model__step(net, pkt, f->from->name, MODEL_STAGE_DNS, who, "answer", detail);
        const char *hint = f->dns.public_reason ? f->dns.public_reason : detail;
        model__flow_finish(net, f, MODEL_VERDICT_DROPPED,
                           servfail ? MODEL_CAUSE_DNS_SERVFAIL : MODEL_CAUSE_DNS_NXDOMAIN,
                           f->dns.public_by ? f->dns.public_by : who, hint);
        g_free(msg);
        return;
    }
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(address, ipt);
    g_autofree char *detail =
        g_strdup_printf("%s -> %s (%s, from %s)", f->fqdn, ipt,
                        model_ip_is_private(address) ? "private" : "public", who);
    model__step(net, pkt, f->from->name, MODEL_STAGE_DNS, who, "answer", detail);
    f->dns.done = true;
    f->dns.address = address;
    f->dns.private_answer = model_ip_is_private(address);
    if (!f->dns.private_answer)
        mark_public_answer(net, f, who);
    /* Drops met by queries that another server then answered explain nothing later. */
    f->drop_cause = MODEL_CAUSE_NONE;
    g_free(msg);
    model__flow_resolved(net, f);
}
