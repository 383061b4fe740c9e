/*
 * scn_dns.c — DNS in scenario files: the dns section (private DNS zones with their links
 * and records; DNS servers), Azure DNS, and the DNS keys of VNets, hosts and private
 * endpoints.
 *
 * What it builds is model/net.h's DNS (resolution happens packet by packet at replay):
 *  - Azure DNS is in every scenario: a service host "azure-dns" at 168.63.129.16 that
 *    answers from the private zones linked to the asking VNet. A file written before the
 *    dns section existed declared that host itself (kind service, publicIp 168.63.129.16);
 *    such a host, whatever its name, becomes Azure DNS and no other is added.
 *  - dns.servers[] are hosts running a DNS server: a forwarder (a DNS server VM, or with
 *    publicIp a resolver on the internet such as 8.8.8.8), the Azure Firewall DNS proxy,
 *    or a DNS Private Resolver inbound endpoint (kind azure).
 *  - dns.privateZones[] are Private DNS zones; the A records of private endpoints come from
 *    privateEndpoints[].fqdns at finalize, as the portal's DNS integration writes them.
 *  - vnets[].dnsServers, hosts[].dnsServers and hosts[].hostsFile are the resolver
 *    configuration; hosts[].fqdns give hosts their public names.
 *
 * Names are checked with the model's rules (model_dns_name_normalize) and every error is
 * located at the node it came from.
 */
#include "model/scn_internal.h"

#include <string.h>

#define AZURE_DNS_IP   MODEL_IP4(168, 63, 129, 16)
#define AZURE_DNS_NAME "azure-dns"

/* A name given to a host or endpoint, and who claimed it first. */
typedef struct {
    const ScnNode *node;
    ModelHost *service; /* a service host or an endpoint's service; NULL: a plain public A */
    const char *owner;  /* the host's name, for messages (borrowed from the tree) */
} FqdnClaim;

struct ScnDnsLoad {
    const ScnHostDef *azure; /* the host at 168.63.129.16 */
    ScnNode *synthetic[3];   /* the mapping {name: azure-dns} standing for it when added */
    GHashTable *fqdns;       /* canonical name -> FqdnClaim * */
};

static ScnDnsLoad *state(ScnLoad *ld)
{
    if (!ld->dns) {
        ld->dns = g_new0(ScnDnsLoad, 1);
        ld->dns->fqdns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    return ld->dns;
}

void scn_dns_clear(ScnLoad *ld)
{
    ScnDnsLoad *d = ld->dns;
    if (!d)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(d->synthetic); i++) {
        if (!d->synthetic[i])
            continue;
        g_free(d->synthetic[i]->text);
        if (d->synthetic[i]->items)
            g_ptr_array_free(d->synthetic[i]->items, TRUE);
        g_free(d->synthetic[i]);
    }
    g_hash_table_destroy(d->fqdns);
    g_free(d);
    ld->dns = NULL;
}

/* ---- small readers ---- */

/* A list of addresses (a single address is taken as a list of one), none twice. */
static bool ip_list(const ScnNode *v, const char *key, GArray *out, GError **error)
{
    if (v->kind == SCN_NODE_MAP)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark,
                        "'%s' must be a list of IPv4 addresses, not a mapping", key);
    guint n = v->kind == SCN_NODE_SEQ ? v->items->len : 1;
    for (guint i = 0; i < n; i++) {
        const ScnNode *item = v->kind == SCN_NODE_SEQ ? SCN_ITEM(v, i) : v;
        uint32_t ip;
        if (!scn_node_ip(item, key, &ip, error))
            return false;
        for (guint k = 0; k < out->len; k++)
            if (g_array_index(out, uint32_t, k) == ip)
                return scn_fail(error, SCN_ERROR_VALUE, &item->mark, "'%s': %s is listed twice",
                                key, item->text);
        g_array_append_val(out, ip);
    }
    return true;
}

static bool opt_ip_list(const ScnNode *m, const char *key, GArray *out, GError **error)
{
    const ScnNode *v = scn_get(m, key);
    return !v || ip_list(v, key, out, error);
}

/* A DNS name as the model takes it; the error names the key it was given for. */
static char *dns_name(const ScnNode *v, const char *what, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(v, what, &t, error))
        return NULL;
    GError *cause = NULL;
    char *canon = model_dns_name_normalize(t, &cause);
    if (!canon) {
        scn_fail(error, SCN_ERROR_VALUE, &v->mark, "%s: %s", what, cause->message);
        g_error_free(cause);
    }
    return canon;
}

char *scn_dns_flow_name(const ScnNode *ref, GError **error)
{
    return dns_name(ref, "'to.host'", error);
}

static bool forbid(const ScnNode *m, const char *key, const char *why, GError **error)
{
    const ScnNode *k = scn_get_key(m, key);
    if (!k || !scn_get(m, key))
        return true;
    return scn_fail(error, SCN_ERROR_SCHEMA, &k->mark, "'%s' does not apply to %s", key, why);
}

/* Records that `canon` names `service` (NULL: a plain public name) for `owner`. A name
 * claimed by another owner is refused, pointing at the first claim. */
static bool claim_fqdn(ScnLoad *ld, const ScnNode *at, const char *canon, ModelHost *service,
                       const char *owner, bool same_owner_ok, GError **error)
{
    ScnDnsLoad *d = state(ld);
    FqdnClaim *c = g_hash_table_lookup(d->fqdns, canon);
    if (c) {
        if (same_owner_ok && c->service && c->service == service)
            return true;
        return scn_fail(error, SCN_ERROR_REFERENCE, &at->mark,
                        "'%s' already names '%s' (line %d): a name has one owner", canon, c->owner,
                        c->node->mark.line);
    }
    c = g_new0(FqdnClaim, 1);
    c->node = at;
    c->service = service;
    c->owner = owner;
    g_hash_table_insert(d->fqdns, g_strdup(canon), c);
    return true;
}

/* ---- vnets[].dnsServers ---- */

bool scn_load_vnet_dns(ScnLoad *ld, const ScnNode *m, ModelVnet *vnet, GError **error)
{
    (void)ld;
    GArray *ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    bool ok = opt_ip_list(m, "dnsServers", ips, error);
    if (ok && vnet && ips->len) /* none: Azure DNS, the VNet's default */
        model_vnet_set_dns_servers(vnet, (const uint32_t *)(void *)ips->data, ips->len);
    g_array_free(ips, TRUE);
    return ok;
}

/* ---- hosts: dnsServers, hostsFile, fqdns; Azure DNS declared by hand ---- */

static bool load_hosts_file(const ScnNode *m, ModelHost *host, GError **error)
{
    const ScnNode *file = scn_get(m, "hostsFile");
    if (!file)
        return true;
    if (file->kind != SCN_NODE_MAP)
        return scn_fail(error, SCN_ERROR_SCHEMA, &file->mark,
                        "'hostsFile' must be a mapping of names to addresses "
                        "({mlwsstore.blob.core.windows.net: 10.0.1.6}), not %s",
                        file->kind == SCN_NODE_SEQ ? "a list" : "a value");
    for (guint i = 0; i + 1 < file->items->len; i += 2) {
        const ScnNode *key = g_ptr_array_index(file->items, i);
        const ScnNode *value = g_ptr_array_index(file->items, i + 1);
        g_autofree char *canon = dns_name(key, "'hostsFile'", error);
        uint32_t ip;
        if (!canon)
            return false;
        if (scn_is_null(value))
            return scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                            "hosts file name '%s' needs an address", key->text);
        if (!scn_node_ip(value, key->text, &ip, error))
            return false;
        GError *cause = NULL;
        if (!model_host_add_hosts_entry(host, canon, ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &key->mark);
    }
    return true;
}

/* hosts[].fqdns: a service host's names are PaaS names (public chain at finalize, and the
 * root cause of a public answer when it has a private endpoint); anyone else's are plain
 * A records of its public address. */
static bool load_host_fqdns(ScnLoad *ld, const ScnNode *m, ScnHostDef *def, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "fqdns", &list, error) || !list)
        return true;
    const char *name = scn_get(m, "name")->text;
    if (!def->public_ip)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get_key(m, "fqdns")->mark,
                        "host '%s' has 'fqdns' but no publicIp for them to resolve to", name);
    for (guint i = 0; i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i);
        g_autofree char *canon = dns_name(item, "'fqdns'", error);
        if (!canon)
            return false;
        bool service = def->kind == MODEL_HOST_SERVICE;
        g_autofree char *pl = service ? model_dns_privatelink_name(canon, NULL) : NULL;
        if (pl && strcmp(pl, canon) == 0)
            return scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                            "'%s' is a private link name: give the service's public name", canon);
        if (!claim_fqdn(ld, item, canon, service ? def->host : NULL, name, false, error))
            return false;
        if (service) {
            model_net_register_fqdn(ld->net, canon, def->host);
            continue;
        }
        GError *cause = NULL;
        if (!model_dns_public_add_a(model_net_dns(ld->net), canon, def->public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &item->mark);
    }
    return true;
}

bool scn_load_host_dns(ScnLoad *ld, const ScnNode *m, ScnHostDef *def, GError **error)
{
    const ScnNode *name = scn_get(m, "name");
    if (def->public_ip == AZURE_DNS_IP) {
        /* A file from before the dns section declared Azure DNS itself: that host is it. */
        if (def->kind != MODEL_HOST_SERVICE)
            return scn_fail(error, SCN_ERROR_VALUE, &scn_get(m, "publicIp")->mark,
                            "168.63.129.16 is Azure DNS, which every scenario has: leave it "
                            "out, or declare it kind: service");
        model_host_set_dns_server(def->host, MODEL_DNS_SERVER_AZURE);
        state(ld)->azure = def;
    } else if (strcmp(name->text, AZURE_DNS_NAME) == 0) {
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "'%s' is the name of Azure DNS (168.63.129.16), which every scenario "
                        "has: choose another name",
                        AZURE_DNS_NAME);
    }
    GArray *ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    bool ok = opt_ip_list(m, "dnsServers", ips, error);
    if (ok && ips->len)
        model_host_set_dns_servers(def->host, (const uint32_t *)(void *)ips->data, ips->len);
    g_array_free(ips, TRUE);
    return ok && load_hosts_file(m, def->host, error) && load_host_fqdns(ld, m, def, error);
}

static ScnNode *synthetic_scalar(const ScnMark *mark, const char *text)
{
    ScnNode *n = g_new0(ScnNode, 1);
    n->kind = SCN_NODE_SCALAR;
    n->mark = *mark;
    n->text = g_strdup(text);
    n->plain = true;
    n->weight = 1;
    return n;
}

bool scn_dns_add_azure(ScnLoad *ld, GError **error)
{
    ScnDnsLoad *d = state(ld);
    if (d->azure)
        return true;
    /* It is defined by no line of the file: its node is the mapping {name: azure-dns},
     * located at the top of the scenario. */
    const ScnMark *mark = &ld->root->mark;
    ScnNode *map = g_new0(ScnNode, 1);
    map->kind = SCN_NODE_MAP;
    map->mark = *mark;
    map->items = g_ptr_array_new();
    d->synthetic[0] = map;
    d->synthetic[1] = synthetic_scalar(mark, "name");
    d->synthetic[2] = synthetic_scalar(mark, AZURE_DNS_NAME);
    g_ptr_array_add(map->items, d->synthetic[1]);
    g_ptr_array_add(map->items, d->synthetic[2]);
    map->weight = 3;

    GError *cause = NULL;
    ModelHost *host = model_net_add_host(ld->net, AZURE_DNS_NAME, MODEL_HOST_SERVICE, &cause);
    if (!host)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, mark);
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = host;
    def->kind = MODEL_HOST_SERVICE;
    def->public_ip = AZURE_DNS_IP;
    def->node = map;
    g_ptr_array_add(ld->host_defs, def);
    if (!scn_names_add(&ld->hosts, AZURE_DNS_NAME, d->synthetic[2], def, error) ||
        !scn_claim_capture(ld, AZURE_DNS_NAME "-inet0", d->synthetic[2], error))
        return false;
    if (!model_host_set_public_ip(ld->net, host, AZURE_DNS_IP, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, mark);
    model_host_set_dns_server(host, MODEL_DNS_SERVER_AZURE);
    d->azure = def;
    return true;
}

/* ---- privateEndpoints[]: fqdns, privateDnsIntegration ---- */

bool scn_load_endpoint_dns(ScnLoad *ld, const ScnNode *m, const ScnEndpointDef *pe,
                           const ScnHostDef *service, GError **error)
{
    const ScnNode *list = NULL;
    bool integration = true;
    if (!scn_opt_list(m, "fqdns", &list, error) ||
        !scn_opt_bool(m, "privateDnsIntegration", &integration, error))
        return false;
    const char *pe_name = scn_get(m, "name")->text;
    const char *service_name = scn_get(service->node, "name")->text;
    if (!integration && !service->public_ip && list)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get(m, "privateDnsIntegration")->mark,
                        "without DNS integration the names keep only their public answer: "
                        "service '%s' needs a publicIp",
                        service_name);
    for (guint i = 0; list && i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i);
        g_autofree char *canon = dns_name(item, "'fqdns'", error);
        if (!canon)
            return false;
        g_autofree char *zone = NULL;
        g_autofree char *pl = model_dns_privatelink_name(canon, &zone);
        if (!pl)
            return scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                            "private endpoint '%s': no private link zone is known for '%s' "
                            "(endpoints serve names such as ACCOUNT.blob.core.windows.net, "
                            "VAULT.vault.azure.net, REGISTRY.azurecr.io)",
                            pe_name, canon);
        if (strcmp(pl, canon) == 0)
            return scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                            "'%s' is a private link name: give the public name the endpoint "
                            "serves",
                            canon);
        if (!claim_fqdn(ld, item, canon, service->host, service_name, true, error))
            return false;
        GError *cause = NULL;
        if (integration) {
            /* The portal's DNS integration: A record in the zone at finalize. */
            if (!model_private_endpoint_add_fqdn(ld->net, pe->nic, canon, &cause))
                return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &item->mark);
            continue;
        }
        /* No zone group: Azure still publishes the privatelink CNAME, but no zone gets the
         * endpoint's record. */
        model_net_register_fqdn(ld->net, canon, service->host);
        if (!model_dns_register_service(model_net_dns(ld->net), canon, service->public_ip, NULL,
                                        true, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &item->mark);
    }
    return true;
}

/* ---- dns.servers[] ---- */

static const ScnKey dns_keys[] = {
    SCN_F("privateZones"),
    SCN_F("servers"),
};

static const ScnKey server_keys[] = {
    SCN_F("name"),
    SCN_F("kind"),
    SCN_F("subnet"),
    SCN_F("ip"),
    SCN_F("publicIp"),
    SCN_F("forwarders"),
    SCN_F("conditionalForwarders"),
    SCN_F("onprem"),
};

static const char *const server_kind_names[] = {"forwarder", "proxy", "azure"};
static const ModelDnsServerKind server_kinds[] = {
    MODEL_DNS_SERVER_FORWARDER,
    MODEL_DNS_SERVER_PROXY,
    MODEL_DNS_SERVER_AZURE,
};

static const char *kind_words(ModelDnsServerKind kind)
{
    switch (kind) {
    case MODEL_DNS_SERVER_AZURE:
        return "a DNS Private Resolver inbound endpoint (kind azure)";
    case MODEL_DNS_SERVER_PROXY:
        return "the Azure Firewall DNS proxy (kind proxy)";
    default:
        return "a forwarder";
    }
}

static bool load_conditionals(const ScnNode *m, ModelHost *host, GError **error)
{
    const ScnNode *map = scn_get(m, "conditionalForwarders");
    if (!map)
        return true;
    if (map->kind != SCN_NODE_MAP)
        return scn_fail(error, SCN_ERROR_SCHEMA, &map->mark,
                        "'conditionalForwarders' must be a mapping of zones to servers "
                        "({blob.core.windows.net: [10.0.3.4]}), not %s",
                        map->kind == SCN_NODE_SEQ ? "a list" : "a value");
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bool ok = true;
    for (guint i = 0; ok && i + 1 < map->items->len; i += 2) {
        const ScnNode *key = g_ptr_array_index(map->items, i);
        const ScnNode *value = g_ptr_array_index(map->items, i + 1);
        char *zone = dns_name(key, "'conditionalForwarders'", error);
        if (!zone) {
            ok = false;
            break;
        }
        const ScnNode *first = g_hash_table_lookup(seen, zone);
        if (first) {
            ok = scn_fail(error, SCN_ERROR_VALUE, &key->mark,
                          "conditional forwarder zone '%s' is given twice (first at line %d)", zone,
                          first->mark.line);
            g_free(zone);
            break;
        }
        g_hash_table_insert(seen, zone, (gpointer)key);
        GArray *ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        if (scn_is_null(value) || (value->kind == SCN_NODE_SEQ && value->items->len == 0))
            ok =
                scn_fail(error, SCN_ERROR_VALUE, &key->mark,
                         "conditional forwarder zone '%s' needs at least one server address", zone);
        else
            ok = ip_list(value, key->text, ips, error);
        GError *cause = NULL;
        if (ok && !model_dns_server_add_conditional(host, zone, (const uint32_t *)(void *)ips->data,
                                                    ips->len, &cause))
            ok = scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &key->mark);
        g_array_free(ips, TRUE);
    }
    g_hash_table_destroy(seen);
    return ok;
}

/* The model names the NIC in its address errors ("'nic0': …"); a server is one host with
 * one NIC, so the message names the server instead. */
static bool fail_nic(GError **error, GError *cause, const char *server, const ScnMark *mark)
{
    const char *msg = cause->message;
    if (g_str_has_prefix(msg, "'nic0': "))
        msg += strlen("'nic0': ");
    scn_fail(error, SCN_ERROR_VALUE, mark, "DNS server '%s': %s", server, msg);
    g_error_free(cause);
    return false;
}

static bool load_server(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "DNS server", server_keys, G_N_ELEMENTS(server_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "DNS server", error);
    if (!name || !scn_check_name(name, "DNS server", error))
        return false;
    if (strcmp(name->text, AZURE_DNS_NAME) == 0)
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "'%s' is the name of Azure DNS (168.63.129.16), which every scenario "
                        "has: don't declare it, point dnsServers or forwarders at 168.63.129.16",
                        AZURE_DNS_NAME);
    const ScnDef *other = scn_names_find(&ld->hosts, name->text);
    if (other)
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "DNS server '%s' has the name of the host defined at line %d: servers "
                        "are hosts and share their names",
                        name->text, other->node->mark.line);
    size_t k = 0;
    const ScnNode *kind_node = scn_get(m, "kind");
    if (kind_node &&
        !scn_pick(kind_node, "kind", server_kind_names, G_N_ELEMENTS(server_kind_names), &k, error))
        return false;
    ModelDnsServerKind kind = server_kinds[k];
    g_autofree char *what = g_strdup_printf("DNS server '%s'", name->text);
    const ScnNode *subnet_ref = scn_get(m, "subnet"), *ip_node = scn_get(m, "ip"),
                  *pub = scn_get(m, "publicIp");
    const ScnNode *site_ref = scn_get(m, "onprem");
    static const char *const places[] = {"subnet", "onprem", "publicIp"};
    const char *first = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(places); i++) {
        if (!scn_get(m, places[i]))
            continue;
        if (first)
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, places[i])->mark,
                            "%s gives both '%s' and '%s': a server is in a VNet (subnet, ip), on "
                            "an on-prem site's LAN (onprem, ip) or on the internet (publicIp)",
                            what, first, places[i]);
        first = places[i];
    }
    if (!subnet_ref && !pub && !site_ref)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m->mark,
                        "%s needs 'subnet' and 'ip' (in a VNet), 'onprem' and 'ip' (on a site's "
                        "LAN) or 'publicIp' (on the internet)",
                        what);
    ModelOnprem *site = NULL;
    if (site_ref) {
        const char *t = NULL;
        if (!scn_node_string(site_ref, "onprem", &t, error))
            return false;
        if (!(site = model_net_find_onprem(ld->net, t)))
            return scn_fail(error, SCN_ERROR_REFERENCE, &site_ref->mark,
                            "'onprem': no on-prem site named '%s' (define it under 'onprem')", t);
        if (kind != MODEL_DNS_SERVER_FORWARDER)
            return scn_fail(error, SCN_ERROR_VALUE, &scn_get_key(m, "onprem")->mark,
                            "%s is %s, which lives in a VNet: give 'subnet' and 'ip'", what,
                            kind_words(kind));
        if (!ip_node)
            return scn_fail(error, SCN_ERROR_SCHEMA, &m->mark, "%s needs 'ip'", what);
    }
    if (pub && kind != MODEL_DNS_SERVER_FORWARDER)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get_key(m, "publicIp")->mark,
                        "%s is %s, which has a private IP in a subnet: give 'subnet' and 'ip'",
                        what, kind_words(kind));
    if (pub && ip_node)
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "ip")->mark,
                        "'ip' does not apply to a server on the internet (its address is "
                        "publicIp)");
    if (kind == MODEL_DNS_SERVER_AZURE) {
        const char *why = "an inbound endpoint: it resolves with Azure DNS, from its VNet's "
                          "linked zones (forwarding rulesets belong to outbound endpoints)";
        if (!forbid(m, "forwarders", why, error) || !forbid(m, "conditionalForwarders", why, error))
            return false;
    }
    if (kind == MODEL_DNS_SERVER_PROXY &&
        !forbid(m, "conditionalForwarders",
                "the Azure Firewall DNS proxy: it sends every query to its forwarders (the "
                "firewall policy's DNS servers, default Azure DNS)",
                error))
        return false;

    ScnHostDef *def = g_new0(ScnHostDef, 1);
    g_ptr_array_add(ld->host_defs, def);
    def->kind = pub                              ? MODEL_HOST_INTERNET
                : kind == MODEL_DNS_SERVER_AZURE ? MODEL_HOST_SERVICE
                                                 : MODEL_HOST_VM;
    def->node = m;
    GError *cause = NULL;
    ModelSubnet *subnet = NULL;
    if (subnet_ref && !(subnet = scn_resolve_subnet(ld, subnet_ref, error)))
        return false;
    if (subnet && !ip_node)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m->mark, "%s needs 'ip'", what);
    if (pub) {
        if (!scn_node_ip(pub, "publicIp", &def->public_ip, error))
            return false;
        if (def->public_ip == AZURE_DNS_IP)
            return scn_fail(error, SCN_ERROR_VALUE, &pub->mark,
                            "168.63.129.16 is Azure DNS, which every scenario has: don't declare "
                            "it, point dnsServers or forwarders at it");
    } else if (!scn_node_ip(ip_node, "ip", &def->ip, error)) {
        return false;
    }
    def->host = model_net_add_host(ld->net, name->text, def->kind, &cause);
    if (!def->host)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    if (!scn_names_add(&ld->hosts, name->text, name, def, error))
        return false;
    g_autofree char *capture = g_strdup_printf("%s-%s", name->text, pub ? "inet0" : "nic0");
    if (!scn_claim_capture(ld, capture, name, error))
        return false;
    if (pub) {
        if (!model_host_set_public_ip(ld->net, def->host, def->public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pub->mark);
    } else {
        def->nic = site ? model_onprem_add_nic(ld->net, site, def->host, "nic0", def->ip, &cause)
                        : model_net_add_nic(ld->net, def->host, subnet, "nic0", def->ip, &cause);
        if (!def->nic)
            return fail_nic(error, cause, name->text, &ip_node->mark);
    }
    model_host_set_dns_server(def->host, kind);
    GArray *fwd = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    bool ok = opt_ip_list(m, "forwarders", fwd, error);
    for (guint i = 0; ok && i < fwd->len; i++)
        model_dns_server_add_forwarder(def->host, g_array_index(fwd, uint32_t, i));
    g_array_free(fwd, TRUE);
    return ok && load_conditionals(m, def->host, error);
}

bool scn_load_dns_servers(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_keys(value, "'dns'", dns_keys, G_N_ELEMENTS(dns_keys), error))
        return false;
    const ScnNode *list = NULL;
    if (!scn_opt_list(value, "servers", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++)
        if (!load_server(ld, SCN_ITEM(list, i), error))
            return false;
    return true;
}

/* ---- dns.privateZones[] ---- */

static const ScnKey zone_keys[] = {
    SCN_F("name"),
    SCN_F("resourceGroup"),
    SCN_F("links"),
    SCN_F("records"),
};

static const ScnKey link_keys[] = {
    SCN_F("vnet"),
    SCN_F("name"),
    SCN_F("resolutionPolicy"),
    SCN_F("registrationEnabled"),
};

static const ScnKey record_keys[] = {
    SCN_F("name"),
    SCN_F("a"),
    SCN_F("cname"),
};

static const char *const policy_names[] = {"Default", "NxDomainRedirect"};

/* "Only available for Private DNS zones associated to Private Link resources"
 * (azdocs:articles/dns/private-dns-fallback.md): a zone with a label starting
 * "privatelink", as the model takes it. */
static bool is_private_link_zone(const char *zone)
{
    for (const char *l = zone; l; l = strchr(l, '.') ? strchr(l, '.') + 1 : NULL)
        if (g_str_has_prefix(l, "privatelink"))
            return true;
    return false;
}

/* linked: the VNets the zone's links named so far (a VNet listed twice is refused here:
 * its default link name would otherwise hide the real rule behind a name clash). */
static bool load_link(ScnLoad *ld, ModelDnsZone *zone, GHashTable *linked, const ScnNode *item,
                      GError **error)
{
    const ScnNode *vnet_ref = item, *name_node = NULL, *policy = NULL;
    if (item->kind == SCN_NODE_MAP) {
        if (!scn_check_keys(item, "zone link", link_keys, G_N_ELEMENTS(link_keys), error) ||
            !scn_req_node(item, "vnet", "zone link", &vnet_ref, error))
            return false;
        name_node = scn_get(item, "name");
        policy = scn_get(item, "resolutionPolicy");
        bool registration = false;
        if (!scn_opt_bool(item, "registrationEnabled", &registration, error))
            return false;
        if (registration)
            return scn_fail(error, SCN_ERROR_UNSUPPORTED,
                            &scn_get(item, "registrationEnabled")->mark,
                            "'registrationEnabled: true' (autoregistration of VM records) is not "
                            "supported yet");
    }
    const char *t = NULL;
    ModelVnet *vnet;
    if (!scn_node_string(vnet_ref, "vnet", &t, error) ||
        !(vnet = scn_names_resolve(&ld->vnets, vnet_ref, error)))
        return false;
    const ScnNode *first = g_hash_table_lookup(linked, vnet);
    if (first)
        return scn_fail(error, SCN_ERROR_VALUE, &vnet_ref->mark,
                        "zone '%s' links '%s' twice (first at line %d): Azure allows one link "
                        "between a zone and a virtual network",
                        model_dns_zone_name(zone), t, first->mark.line);
    g_hash_table_insert(linked, vnet, (gpointer)vnet_ref);
    const char *link_name = t;
    if (name_node) {
        if (!scn_node_string(name_node, "name", &link_name, error) ||
            !scn_check_name(name_node, "zone link", error))
            return false;
    }
    size_t p = 0;
    if (policy &&
        !scn_pick(policy, "resolutionPolicy", policy_names, G_N_ELEMENTS(policy_names), &p, error))
        return false;
    if (p == 1 && !is_private_link_zone(model_dns_zone_name(zone)))
        return scn_fail(error, SCN_ERROR_VALUE, &policy->mark,
                        "resolutionPolicy NxDomainRedirect is only available for private link "
                        "zones (privatelink.…), not '%s'",
                        model_dns_zone_name(zone));
    GError *cause = NULL;
    if (!model_dns_zone_link(zone, vnet, link_name, p == 1, &cause)) {
        const ScnNode *at =
            cause->code == MODEL_DNS_ERROR_DUPLICATE && name_node ? name_node : vnet_ref;
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    }
    return true;
}

static bool load_record(ModelDnsZone *zone, const ScnNode *r, GError **error)
{
    const ScnNode *name = NULL;
    const char *t = NULL;
    if (!scn_check_keys(r, "DNS record", record_keys, G_N_ELEMENTS(record_keys), error) ||
        !scn_req_node(r, "name", "DNS record", &name, error) ||
        !scn_node_string(name, "name", &t, error))
        return false;
    const ScnNode *a = scn_get(r, "a"), *cname = scn_get(r, "cname");
    if (a && cname)
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(r, "cname")->mark,
                        "record '%s' gives both 'a' and 'cname': a CNAME cannot coexist with "
                        "other records of its name",
                        t);
    if (!a && !cname)
        return scn_fail(error, SCN_ERROR_SCHEMA, &r->mark, "record '%s' needs 'a' or 'cname'", t);
    GError *cause = NULL;
    if (cname) {
        const char *target = NULL;
        if (!scn_node_string(cname, "cname", &target, error))
            return false;
        if (!model_dns_zone_add_cname(zone, t, target, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE,
                                   cause->code == MODEL_DNS_ERROR_NAME ? &cname->mark
                                                                       : &name->mark);
        return true;
    }
    GArray *ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    bool ok = ip_list(a, "a", ips, error);
    for (guint i = 0; ok && i < ips->len; i++)
        if (!model_dns_zone_add_a(zone, t, g_array_index(ips, uint32_t, i), &cause))
            ok = scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    g_array_free(ips, TRUE);
    return ok;
}

static bool load_zone(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "private DNS zone", zone_keys, G_N_ELEMENTS(zone_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "private DNS zone", error);
    const char *rg = NULL;
    if (!name || !scn_opt_string(m, "resourceGroup", &rg, error))
        return false;
    GError *cause = NULL;
    ModelDnsZone *zone = model_dns_zone_add_in(model_net_dns(ld->net), name->text, rg, &cause);
    if (!zone)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    const ScnNode *links = NULL, *records = NULL;
    if (!scn_opt_list(m, "links", &links, error) || !scn_opt_list(m, "records", &records, error))
        return false;
    GHashTable *linked = g_hash_table_new(g_direct_hash, g_direct_equal);
    bool ok = true;
    for (guint i = 0; ok && links && i < links->items->len; i++)
        ok = load_link(ld, zone, linked, SCN_ITEM(links, i), error);
    g_hash_table_destroy(linked);
    if (!ok)
        return false;
    for (guint i = 0; records && i < records->items->len; i++)
        if (!load_record(zone, SCN_ITEM(records, i), error))
            return false;
    return true;
}

bool scn_load_dns_zones(ScnLoad *ld, const ScnNode *value, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(value, "privateZones", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++)
        if (!load_zone(ld, SCN_ITEM(list, i), error))
            return false;
    return true;
}
