/*
 * scn_entry.c — how clients reach the VNets and the PaaS services behind them, in scenario
 * files: onprem sites, gateways (VPN, ExpressRoute) with their P2S pool and connections,
 * Azure Bastion, the AML workspace with its storage, key vault and registry, and the
 * managed services AML depends on. Also the keys of other sections that use them:
 * hosts[].onprem and hosts[].via (scn_net.c calls scn_entry_load_host), the gateway transit
 * options of vnets[].peerings, and the bastion flow kind (scn_flows.c).
 *
 * What it builds is model/net.h's "entry points" and "PaaS services" API; every model
 * error is located at the node it came from, every reference resolved with a suggestion.
 */
#include "model/scn_internal.h"

#include <string.h>

struct ScnEntryLoad {
    ScnNames onprems, gateways, bastions, services;
    ScnNames workspaces;  /* for `workspace: NAME` references and their suggestions */
    GPtrArray *ws_list;   /* ScnWorkspace *, owned, in file order */
    GHashTable *ws_by_id; /* lower-case GUID -> its ScnWorkspace */
};

static ScnEntryLoad *state(ScnLoad *ld)
{
    if (!ld->entry) {
        ld->entry = g_new0(ScnEntryLoad, 1);
        scn_names_init(&ld->entry->onprems, "on-prem site");
        scn_names_init(&ld->entry->gateways, "gateway");
        scn_names_init(&ld->entry->bastions, "bastion");
        scn_names_init(&ld->entry->services, "service");
        scn_names_init(&ld->entry->workspaces, "workspace");
        ld->entry->ws_list = g_ptr_array_new_with_free_func(g_free);
        ld->entry->ws_by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    return ld->entry;
}

void scn_entry_clear(ScnLoad *ld)
{
    ScnEntryLoad *e = ld->entry;
    if (!e)
        return;
    scn_names_clear(&e->onprems);
    scn_names_clear(&e->gateways);
    scn_names_clear(&e->bastions);
    scn_names_clear(&e->services);
    scn_names_clear(&e->workspaces);
    g_ptr_array_free(e->ws_list, TRUE);
    g_hash_table_destroy(e->ws_by_id);
    g_free(e);
    ld->entry = NULL;
}

/* ---- small readers ---- */

/* A list of prefixes (one prefix reads as a list of one); *out g_free. */
static bool prefix_list(const ScnNode *v, const char *key, ModelPrefix **out, size_t *n,
                        GError **error)
{
    if (v->kind == SCN_NODE_MAP)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark,
                        "'%s' must be a list of address ranges, not a mapping", key);
    guint len = v->kind == SCN_NODE_SEQ ? v->items->len : 1;
    if (len == 0)
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark, "'%s' needs at least one address range",
                        key);
    *out = g_new(ModelPrefix, len);
    for (guint i = 0; i < len; i++) {
        if (!scn_node_prefix(v->kind == SCN_NODE_SEQ ? SCN_ITEM(v, i) : v, key, &(*out)[i],
                             error)) {
            g_free(*out);
            *out = NULL;
            return false;
        }
    }
    *n = len;
    return true;
}

/* A name, resolved in `names` (the value must be a scalar). */
static void *resolve(const ScnNames *names, const ScnNode *ref, const char *key, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(ref, key, &t, error))
        return NULL;
    return scn_names_resolve(names, ref, error);
}

static bool claim_nic_capture(ScnLoad *ld, const ScnNode *name, GError **error)
{
    g_autofree char *capture = g_strdup_printf("%s-nic0", name->text);
    return scn_claim_capture(ld, capture, name, error);
}

/* A name in the hosts' namespace (hosts, endpoints, gateways, bastions, services). */
static bool free_host_name(ScnLoad *ld, const ScnNode *name, GError **error)
{
    const ScnDef *d = scn_names_find(&ld->hosts, name->text);
    if (!d)
        d = scn_names_find(&ld->endpoints, name->text);
    if (!d)
        return true;
    return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                    "'%s' is already the name of the object defined at line %d: hosts, "
                    "gateways, bastions, services and endpoints share one namespace",
                    name->text, d->node->mark.line);
}

/* Registers a model host (a gateway, bastion or service) as a scenario host, so flows can
 * name it (`to.host`) and other objects cannot take its name. */
static ScnHostDef *add_host_def(ScnLoad *ld, const ScnNode *name, const ScnNode *m, ModelHost *host,
                                uint32_t public_ip, GError **error)
{
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = host;
    def->kind = MODEL_HOST_SERVICE;
    def->public_ip = public_ip;
    def->node = m;
    g_ptr_array_add(ld->host_defs, def);
    return scn_names_add(&ld->hosts, name->text, name, def, error) ? def : NULL;
}

/* ---- onprem ---- */

static const ScnKey onprem_keys[] = {
    SCN_F("name"),
    SCN_F("addressPrefixes"),
    SCN_F("dnsServers"),
    SCN_F("publicEgress"),
};

static bool load_onprem(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "on-prem site", onprem_keys, G_N_ELEMENTS(onprem_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "on-prem site", error), *v = NULL;
    if (!name || !scn_check_name(name, "on-prem site", error))
        return false;
    g_autofree char *what = g_strdup_printf("on-prem site '%s'", name->text);
    ModelPrefix *prefixes = NULL;
    size_t n = 0;
    if (!scn_req_node(m, "addressPrefixes", what, &v, error) ||
        !prefix_list(v, "addressPrefixes", &prefixes, &n, error))
        return false;
    if (scn_names_find(&state(ld)->onprems, name->text)) {
        g_free(prefixes);
        return scn_names_add(&state(ld)->onprems, name->text, name, NULL, error);
    }
    GError *cause = NULL;
    ModelOnprem *site = model_net_add_onprem(ld->net, name->text, prefixes, n, &cause);
    g_free(prefixes);
    if (!site)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &v->mark);
    if (!scn_names_add(&state(ld)->onprems, name->text, name, site, error))
        return false;
    const ScnNode *dns = scn_get(m, "dnsServers");
    if (dns) {
        if (!scn_check_list(dns, "dnsServers", error))
            return false;
        GArray *ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        for (guint i = 0; i < dns->items->len; i++) {
            uint32_t ip;
            if (!scn_node_ip(SCN_ITEM(dns, i), "dnsServers", &ip, error)) {
                g_array_free(ips, TRUE);
                return false;
            }
            g_array_append_val(ips, ip);
        }
        model_onprem_set_dns_servers(site, (const uint32_t *)(void *)ips->data, ips->len);
        g_array_free(ips, TRUE);
    }
    const ScnNode *egress = scn_get(m, "publicEgress");
    uint32_t ip;
    if (egress && (!scn_node_ip(egress, "publicEgress", &ip, error) ||
                   !model_onprem_set_public_egress(ld->net, site, ip, &cause)))
        return cause ? scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &egress->mark) : false;
    return true;
}

bool scn_load_onprem(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "onprem", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_onprem(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* ---- gateways and connections ---- */

static const ScnKey gateway_keys[] = {
    SCN_F("name"), SCN_F("type"), SCN_F("vnet"), SCN_F("clientAddressPool"), SCN_F("connections"),
};

static const ScnKey connection_keys[] = {
    SCN_F("name"), SCN_F("onprem"), SCN_F("prefixes"), SCN_F("bgp"), SCN_F("connected"),
};

static bool load_connection(ScnLoad *ld, ModelGateway *gw, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "connection", connection_keys, G_N_ELEMENTS(connection_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "connection", error), *site_ref = NULL;
    if (!name || !scn_check_name(name, "connection", error))
        return false;
    g_autofree char *what = g_strdup_printf("connection '%s'", name->text);
    ModelOnprem *site;
    if (!scn_req_node(m, "onprem", what, &site_ref, error) ||
        !(site = resolve(&state(ld)->onprems, site_ref, "onprem", error)))
        return false;
    GError *cause = NULL;
    ModelConnection *c = model_gateway_connect(ld->net, gw, name->text, site, &cause);
    if (!c)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    const ScnNode *pv = scn_get(m, "prefixes");
    if (pv) {
        ModelPrefix *prefixes = NULL;
        size_t n = 0;
        if (!prefix_list(pv, "prefixes", &prefixes, &n, error))
            return false;
        bool ok = model_connection_set_prefixes(c, prefixes, n, &cause);
        g_free(prefixes);
        if (!ok)
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pv->mark);
    }
    bool bgp = false, connected = true;
    if (!scn_opt_bool(m, "bgp", &bgp, error) || !scn_opt_bool(m, "connected", &connected, error))
        return false;
    if (scn_get(m, "bgp"))
        model_connection_set_bgp(c, bgp);
    model_connection_set_connected(c, connected);
    return true;
}

static bool load_gateway(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "gateway", gateway_keys, G_N_ELEMENTS(gateway_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "gateway", error), *type = NULL, *vnet_ref = NULL;
    if (!name || !scn_check_name(name, "gateway", error))
        return false;
    g_autofree char *what = g_strdup_printf("gateway '%s'", name->text);
    static const char *const types[] = {"vpn", "expressroute", "vpn-p2s", "vpn-s2s"};
    size_t t = 0;
    ModelVnet *vnet;
    if (!scn_req_node(m, "type", what, &type, error) ||
        !scn_pick(type, "type", types, G_N_ELEMENTS(types), &t, error) ||
        !scn_req_node(m, "vnet", what, &vnet_ref, error) ||
        !(vnet = resolve(&ld->vnets, vnet_ref, "vnet", error)) ||
        !free_host_name(ld, name, error) || !claim_nic_capture(ld, name, error))
        return false;
    ModelGatewayKind kind = t == 1 ? MODEL_GATEWAY_EXPRESSROUTE : MODEL_GATEWAY_VPN;
    GError *cause = NULL;
    ModelGateway *gw = model_net_add_gateway(ld->net, name->text, kind, vnet, &cause);
    if (!gw)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &vnet_ref->mark);
    if (!scn_names_add(&state(ld)->gateways, name->text, name, gw, error) ||
        !add_host_def(ld, name, m, model_gateway_host(gw), 0, error))
        return false;
    const ScnNode *pool = scn_get(m, "clientAddressPool");
    if (pool) {
        ModelPrefix p;
        if (!scn_node_prefix(pool, "clientAddressPool", &p, error))
            return false;
        if (!model_gateway_set_p2s_pool(gw, p, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pool->mark);
    }
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "connections", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++)
        if (!load_connection(ld, gw, SCN_ITEM(list, i), error))
            return false;
    return true;
}

bool scn_load_gateways(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "gateways", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_gateway(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* ---- hosts[].onprem, hosts[].via ---- */

bool scn_entry_load_host(ScnLoad *ld, const ScnNode *m, ScnHostDef *def, GError **error)
{
    const ScnNode *site_ref = scn_get(m, "onprem"), *gw_ref = scn_get(m, "via");
    const ScnNode *name = scn_get(m, "name"), *ip_node = NULL;
    if (site_ref && gw_ref)
        return scn_fail(error, SCN_ERROR_SCHEMA, &gw_ref->mark,
                        "host '%s' gives both 'onprem' and 'via': a host is on the site's LAN "
                        "or a P2S client, not both",
                        name->text);
    g_autofree char *what = g_strdup_printf("host '%s'", name->text);
    ModelOnprem *site = NULL;
    ModelGateway *gw = NULL;
    if (site_ref && !(site = resolve(&state(ld)->onprems, site_ref, "onprem", error)))
        return false;
    if (gw_ref && !(gw = resolve(&state(ld)->gateways, gw_ref, "via", error)))
        return false;
    if (!scn_req_node(m, "ip", what, &ip_node, error) ||
        !scn_node_ip(ip_node, "ip", &def->ip, error) || !claim_nic_capture(ld, name, error))
        return false;
    GError *cause = NULL;
    def->nic = site ? model_onprem_add_nic(ld->net, site, def->host, "nic0", def->ip, &cause)
                    : model_gateway_add_p2s_client(ld->net, gw, def->host, "nic0", def->ip, &cause);
    if (!def->nic)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ip_node->mark);
    const ScnNode *pub = scn_get(m, "publicIp");
    if (pub) {
        if (site)
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "publicIp")->mark,
                            "'publicIp' does not apply to an on-prem host: its internet traffic "
                            "leaves through the site's publicEgress");
        if (!scn_node_ip(pub, "publicIp", &def->public_ip, error))
            return false;
        if (!model_p2s_client_set_public_egress(ld->net, def->nic, def->public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pub->mark);
    }
    return true;
}

/* ---- vnets[].peerings[] options ---- */

static const ScnKey peering_keys[] = {
    SCN_F("vnet"),
    SCN_F("allowGatewayTransit"),
    SCN_F("useRemoteGateways"),
};

const ScnNode *scn_entry_peering_ref(const ScnNode *item, GError **error)
{
    if (item->kind != SCN_NODE_MAP)
        return item;
    const ScnNode *v = NULL;
    if (!scn_check_keys(item, "peering", peering_keys, G_N_ELEMENTS(peering_keys), error) ||
        !scn_req_node(item, "vnet", "peering", &v, error))
        return NULL;
    return v;
}

bool scn_entry_peering_options(ScnLoad *ld, const ScnNode *item, ModelVnet *vnet, ModelVnet *remote,
                               GError **error)
{
    if (item->kind != SCN_NODE_MAP)
        return true;
    bool allow = false, use = false;
    if (!scn_opt_bool(item, "allowGatewayTransit", &allow, error) ||
        !scn_opt_bool(item, "useRemoteGateways", &use, error))
        return false;
    if (!allow && !use)
        return true;
    GError *cause = NULL;
    if (!model_net_set_gateway_transit(ld->net, vnet, remote, allow, use, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &item->mark);
    return true;
}

/* ---- bastions ---- */

static const ScnKey bastion_keys[] = {
    SCN_F("name"),
    SCN_F("vnet"),
    SCN_F("ip"),
    SCN_F("publicIp"),
};

static bool load_bastion(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "bastion", bastion_keys, G_N_ELEMENTS(bastion_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "bastion", error), *vnet_ref = NULL, *ip_node = NULL,
                  *pub = NULL;
    if (!name || !scn_check_name(name, "bastion", error))
        return false;
    g_autofree char *what = g_strdup_printf("bastion '%s'", name->text);
    ModelVnet *vnet;
    uint32_t ip, public_ip;
    if (!scn_req_node(m, "vnet", what, &vnet_ref, error) ||
        !(vnet = resolve(&ld->vnets, vnet_ref, "vnet", error)) ||
        !scn_req_node(m, "ip", what, &ip_node, error) || !scn_node_ip(ip_node, "ip", &ip, error) ||
        !scn_req_node(m, "publicIp", what, &pub, error) ||
        !scn_node_ip(pub, "publicIp", &public_ip, error) || !free_host_name(ld, name, error) ||
        !claim_nic_capture(ld, name, error))
        return false;
    GError *cause = NULL;
    ModelHost *host = model_net_add_bastion(ld->net, name->text, vnet, ip, public_ip, &cause);
    if (!host)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ip_node->mark);
    return scn_names_add(&state(ld)->bastions, name->text, name, host, error) &&
           add_host_def(ld, name, m, host, public_ip, error);
}

bool scn_load_bastions(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "bastions", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_bastion(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

static const ScnKey bastion_flow_keys[] = {
    SCN_F("via"),
    SCN_F("to"),
    SCN_F("port"),
};

bool scn_entry_load_bastion_flow(ScnLoad *ld, ScnFlowDef *f, const ScnNode *b, GError **error)
{
    if (!scn_check_keys(b, "'bastion'", bastion_flow_keys, G_N_ELEMENTS(bastion_flow_keys), error))
        return false;
    const ScnNode *via = NULL, *to = NULL;
    const ScnHostDef *target;
    int64_t port = 22;
    if (!scn_req_node(b, "via", "'bastion'", &via, error) ||
        !(f->bastion = resolve(&state(ld)->bastions, via, "via", error)) ||
        !scn_req_node(b, "to", "'bastion'", &to, error) ||
        !(target = resolve(&ld->hosts, to, "to", error)) ||
        !scn_opt_int(b, "port", 1, 65535, &port, error))
        return false;
    if (!target->nic || target->kind == MODEL_HOST_SERVICE)
        return scn_fail(error, SCN_ERROR_VALUE, &to->mark,
                        "'to': host '%s' is no VM in a VNet: Bastion connects to a VM's private "
                        "address",
                        to->text);
    if (port != 22 && port != 3389)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get(b, "port")->mark,
                        "'port': Bastion opens SSH (22) or RDP (3389), not %" G_GINT64_FORMAT,
                        port);
    f->target = target->host;
    f->port = (uint16_t)port;
    f->proto = MODEL_IPPROTO_TCP;
    f->pub.to = g_strdup_printf("host %s via bastion %s", to->text, via->text);
    return true;
}

/* ---- managedServices ---- */

static const ScnKey managed_keys[] = {
    SCN_F("batchMode"),
};

bool scn_load_managed_services(ScnLoad *ld, const ScnNode *value, GError **error)
{
    ModelManagedOptions opts = {.batch_mode = MODEL_BATCH_CLASSIC};
    if (value->kind == SCN_NODE_MAP) {
        if (!scn_check_keys(value, "'managedServices'", managed_keys, G_N_ELEMENTS(managed_keys),
                            error))
            return false;
        const ScnNode *mode = scn_get(value, "batchMode");
        static const char *const modes[] = {"classic", "simplified"};
        size_t i = 0;
        if (mode && !scn_pick(mode, "batchMode", modes, G_N_ELEMENTS(modes), &i, error))
            return false;
        opts.batch_mode = i == 1 ? MODEL_BATCH_SIMPLIFIED : MODEL_BATCH_CLASSIC;
    } else {
        /* true, or false (nothing added). scn_opt_bool reads a key: wrap the value. */
        const char *t = value->kind == SCN_NODE_SCALAR ? value->text : "";
        bool yes = value->plain && g_ascii_strcasecmp(t, "true") == 0;
        bool no = value->plain && g_ascii_strcasecmp(t, "false") == 0;
        if (!yes && !no)
            return scn_fail(error, SCN_ERROR_SCHEMA, &value->mark,
                            "'managedServices' must be true, false or {batchMode: classic|"
                            "simplified}");
        if (no)
            return true;
    }
    GError *cause = NULL;
    if (!model_net_add_managed_services(ld->net, NULL, &opts, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &value->mark);
    return true;
}

/* ---- workspace and its services ---- */

static const ScnKey workspace_keys[] = {
    SCN_F("name"),
    SCN_F("id"),
    SCN_F("publicNetworkAccess"),
    SCN_F("privateEndpoints"),
    SCN_F("storage"),
    SCN_F("keyVault"),
    SCN_F("containerRegistry"),
    SCN_F("identityRoles"),
    SCN_F("imageBuildCompute"), /* read by scn_compute.c once computes exist */
    SCN_F("ipRules"),           /* "Enabled from selected IP addresses" (SelectedNetworks) */
    SCN_F("applicationInsights"),
};

static const ScnKey app_insights_keys[] = {
    SCN_F("name"),
    SCN_F("privateLinkScope"),
};

/* az monitor private-link-scope's names for accessModeSettings. */
static const ScnKey link_scope_keys[] = {
    SCN_F("name"),
    SCN_F("ingestionAccessMode"),
    SCN_F("queryAccessMode"),
};

static const ScnKey service_keys[] = {
    SCN_F("name"),
    SCN_F("publicNetworkAccess"),
    SCN_F("privateEndpoints"),
    SCN_F("ipRules"),
    SCN_F("virtualNetworkRules"),
    SCN_F("resourceInstanceRules"),
    SCN_F("trustedServices"),
    SCN_F("sku"),
};

static const ScnKey service_pe_keys[] = {
    SCN_F("name"),
    SCN_F("subresource"),
    SCN_F("subnet"),
    SCN_F("ip"),
};

static const ScnKey role_keys[] = {
    SCN_F("role"),
    SCN_F("scope"),
    SCN_F("identity"),
};

static const char *default_subresource(ModelServiceKind kind)
{
    switch (kind) {
    case MODEL_SERVICE_STORAGE:
        return "blob";
    case MODEL_SERVICE_KEY_VAULT:
        return "vault";
    case MODEL_SERVICE_REGISTRY:
        return "registry";
    case MODEL_SERVICE_WORKSPACE:
        return "amlworkspace";
    }
    return "";
}

static bool load_service_pe(ScnLoad *ld, ModelService *svc, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "private endpoint", service_pe_keys, G_N_ELEMENTS(service_pe_keys),
                        error))
        return false;
    const char *sub = default_subresource(model_service_kind(svc)), *t = NULL;
    const ScnNode *subnet_ref = NULL, *ip_node = NULL, *name = scn_get(m, "name");
    if (!scn_opt_string(m, "subresource", &sub, error))
        return false;
    g_autofree char *dflt = g_strdup_printf("pe-%s-%s", model_service_name(svc), sub);
    if (name && (!scn_node_string(name, "name", &t, error) ||
                 !scn_check_name(name, "private endpoint", error)))
        return false;
    const char *pe_name = name ? name->text : dflt;
    const ScnNode *at = name ? name : m;
    ScnEndpointDef *def = g_new0(ScnEndpointDef, 1);
    g_ptr_array_add(ld->endpoint_defs, def);
    ModelSubnet *subnet;
    if (!scn_req_node(m, "subnet", "private endpoint", &subnet_ref, error) ||
        !(subnet = scn_resolve_subnet(ld, subnet_ref, error)) ||
        !scn_req_node(m, "ip", "private endpoint", &ip_node, error) ||
        !scn_node_ip(ip_node, "ip", &def->ip, error))
        return false;
    if (scn_names_find(&ld->hosts, pe_name) || scn_names_find(&ld->endpoints, pe_name))
        return scn_fail(error, SCN_ERROR_REFERENCE, &at->mark,
                        "private endpoint '%s': the name is taken (name it with 'name')", pe_name);
    if (scn_names_find(&ld->captures, pe_name))
        return scn_fail(error, SCN_ERROR_REFERENCE, &at->mark,
                        "private endpoint '%s' would write the same capture file as another "
                        "object: name it with 'name'",
                        pe_name);
    GError *cause = NULL;
    def->nic =
        model_service_add_private_endpoint(ld->net, svc, pe_name, sub, subnet, def->ip, &cause);
    if (!def->nic)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ip_node->mark);
    return scn_names_add(&ld->captures, pe_name, at, NULL, error) &&
           scn_names_add(&ld->endpoints, pe_name, at, def, error);
}

static bool load_network_config(ScnLoad *ld, ModelService *svc, const ScnNode *m, GError **error)
{
    GError *cause = NULL;
    const ScnNode *v = scn_get(m, "publicNetworkAccess");
    if (v) {
        static const char *const names[] = {"Enabled", "SelectedNetworks", "Disabled"};
        static const ModelPublicAccess values[] = {MODEL_PUBLIC_ACCESS_ENABLED,
                                                   MODEL_PUBLIC_ACCESS_SELECTED,
                                                   MODEL_PUBLIC_ACCESS_DISABLED};
        size_t i = 0;
        if (!scn_pick(v, "publicNetworkAccess", names, G_N_ELEMENTS(names), &i, error))
            return false;
        if (!model_service_set_public_access(svc, values[i], &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &v->mark);
    }
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "ipRules", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const char *t = NULL;
        if (!scn_node_string(SCN_ITEM(list, i), "ipRules", &t, error))
            return false;
        if (!model_service_add_ip_rule(svc, t, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &SCN_ITEM(list, i)->mark);
    }
    if (!scn_opt_list(m, "virtualNetworkRules", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        ModelSubnet *subnet = scn_resolve_subnet(ld, SCN_ITEM(list, i), error);
        if (!subnet)
            return false;
        if (!model_service_add_vnet_rule(svc, subnet, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &SCN_ITEM(list, i)->mark);
    }
    if (!scn_opt_list(m, "resourceInstanceRules", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const char *t = NULL;
        if (!scn_node_string(SCN_ITEM(list, i), "resourceInstanceRules", &t, error))
            return false;
        if (!model_service_add_resource_instance_rule(
                svc, "Microsoft.MachineLearningServices/workspaces", t, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &SCN_ITEM(list, i)->mark);
    }
    bool trusted = false;
    if (!scn_opt_bool(m, "trustedServices", &trusted, error))
        return false;
    if (scn_get(m, "trustedServices") && !model_service_set_trusted_services(svc, trusted, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &scn_get(m, "trustedServices")->mark);
    if (!scn_opt_list(m, "privateEndpoints", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++)
        if (!load_service_pe(ld, svc, SCN_ITEM(list, i), error))
            return false;
    return true;
}

/* Registers the service under its name (hosts and services share the namespace). */
static bool register_service(ScnLoad *ld, ModelService *svc, const ScnNode *name, const ScnNode *m,
                             GError **error)
{
    return scn_names_add(&state(ld)->services, name->text, name, svc, error) &&
           add_host_def(ld, name, m, model_service_host(svc), model_service_public_ip(svc),
                        error) != NULL;
}

static bool load_service(ScnLoad *ld, const ScnNode *m, ModelServiceKind kind, const char *what,
                         ModelService **out, GError **error)
{
    if (!scn_check_keys(m, what, service_keys, G_N_ELEMENTS(service_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, what, error);
    if (!name || !free_host_name(ld, name, error))
        return false;
    if (kind != MODEL_SERVICE_REGISTRY && scn_get(m, "sku"))
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "sku")->mark,
                        "'sku' applies to the container registry only");
    if (kind != MODEL_SERVICE_STORAGE && scn_get(m, "resourceInstanceRules"))
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "resourceInstanceRules")->mark,
                        "'resourceInstanceRules' applies to the storage account only");
    GError *cause = NULL;
    ModelService *svc = NULL;
    if (kind == MODEL_SERVICE_STORAGE) {
        svc = model_net_add_storage_account(ld->net, name->text, &cause);
    } else if (kind == MODEL_SERVICE_KEY_VAULT) {
        svc = model_net_add_key_vault(ld->net, name->text, &cause);
    } else {
        static const char *const skus[] = {"Basic", "Standard", "Premium"};
        size_t i = 2;
        const ScnNode *sku = scn_get(m, "sku");
        if (sku && !scn_pick(sku, "sku", skus, G_N_ELEMENTS(skus), &i, error))
            return false;
        svc = model_net_add_container_registry(ld->net, name->text, (ModelAcrSku)i, &cause);
    }
    if (!svc)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    *out = svc;
    return register_service(ld, svc, name, m, error) && load_network_config(ld, svc, m, error);
}

static bool load_roles(ScnLoad *ld, ModelService *ws, const ScnNode *m, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "identityRoles", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const ScnNode *r = SCN_ITEM(list, i);
        const char *role = NULL, *scope = NULL, *identity = model_service_identity(ws);
        if (!scn_check_keys(r, "role assignment", role_keys, G_N_ELEMENTS(role_keys), error) ||
            !scn_req_string(r, "role", "role assignment", &role, error) ||
            !scn_req_string(r, "scope", "role assignment", &scope, error) ||
            !scn_opt_string(r, "identity", &identity, error))
            return false;
        GError *cause = NULL;
        if (!model_net_assign_role(ld->net, identity, role, scope, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &r->mark);
    }
    return true;
}

/* workspace.applicationInsights: only what lint reads, the Azure Monitor private link
 * scope's access modes (domain.md §1: AML needs Open); absent modes are Open. */
static bool load_app_insights(ModelService *ws, const ScnNode *value, GError **error)
{
    const ScnNode *m = scn_get(value, "applicationInsights"), *name = NULL;
    if (!m)
        return true;
    if (!scn_check_keys(m, "'applicationInsights'", app_insights_keys,
                        G_N_ELEMENTS(app_insights_keys), error) ||
        !(name = scn_name_of(m, "Application Insights", error)) ||
        !scn_check_name(name, "Application Insights", error))
        return false;
    static const char *const modes[] = {"Open", "PrivateOnly"};
    size_t mode[2] = {0, 0};
    static const char *const mode_keys[2] = {"ingestionAccessMode", "queryAccessMode"};
    const ScnNode *scope = scn_get(m, "privateLinkScope");
    if (scope && !scn_check_keys(scope, "'privateLinkScope'", link_scope_keys,
                                 G_N_ELEMENTS(link_scope_keys), error))
        return false;
    for (int i = 0; scope && i < 2; i++) {
        const ScnNode *v = scn_get(scope, mode_keys[i]);
        if (v && !scn_pick(v, mode_keys[i], modes, G_N_ELEMENTS(modes), &mode[i], error))
            return false;
    }
    GError *cause = NULL;
    if (!model_service_set_app_insights(
            ws, name->text, scope != NULL,
            mode[0] ? MODEL_MONITOR_ACCESS_PRIVATE_ONLY : MODEL_MONITOR_ACCESS_OPEN,
            mode[1] ? MODEL_MONITOR_ACCESS_PRIVATE_ONLY : MODEL_MONITOR_ACCESS_OPEN, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    return true;
}

GPtrArray *scn_entry_workspaces(ScnLoad *ld)
{
    return ld->entry ? ld->entry->ws_list : NULL;
}

bool scn_entry_pick_workspace(ScnLoad *ld, const ScnNode *m, const ScnNode *at,
                              const ScnWorkspace **out, GError **error)
{
    GPtrArray *all = scn_entry_workspaces(ld);
    guint n = all ? all->len : 0;
    const ScnNode *ref = scn_get(m, "workspace");
    *out = NULL;
    if (ref) {
        const char *t = NULL;
        if (!scn_node_string(ref, "workspace", &t, error))
            return false;
        if (n == 0)
            return scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark,
                            "'workspace': this scenario has no workspace (add 'workspace' or "
                            "'workspaces')");
        return (*out = scn_names_resolve(&state(ld)->workspaces, ref, error)) != NULL;
    }
    if (n > 1)
        return scn_fail(error, SCN_ERROR_REFERENCE, &at->mark,
                        "this scenario has %u workspaces: name one with 'workspace: NAME'", n);
    *out = n ? all->pdata[0] : NULL;
    return true;
}

static bool load_one_workspace(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_keys(value, "workspace", workspace_keys, G_N_ELEMENTS(workspace_keys), error))
        return false;
    ScnWorkspace *w = g_new0(ScnWorkspace, 1);
    w->node = value;
    g_ptr_array_add(state(ld)->ws_list, w);
    static const struct {
        const char *key;
        ModelServiceKind kind;
        const char *what;
    } parts[] = {
        {"storage", MODEL_SERVICE_STORAGE, "storage account"},
        {"keyVault", MODEL_SERVICE_KEY_VAULT, "key vault"},
        {"containerRegistry", MODEL_SERVICE_REGISTRY, "container registry"},
    };
    ModelService **slots[] = {&w->storage, &w->key_vault, &w->registry};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        const ScnNode *m = scn_get(value, parts[i].key);
        if (m && !load_service(ld, m, parts[i].kind, parts[i].what, slots[i], error))
            return false;
    }
    const ScnNode *name = scn_name_of(value, "workspace", error), *id = NULL;
    const char *guid = NULL;
    if (!name || !free_host_name(ld, name, error) ||
        !scn_req_node(value, "id", "workspace", &id, error) ||
        !scn_node_string(id, "id", &guid, error))
        return false;
    /* Two workspaces with one id would share every FQDN: Azure never hands one out twice. */
    g_autofree char *key = g_ascii_strdown(guid, -1);
    const ScnWorkspace *other = g_hash_table_lookup(state(ld)->ws_by_id, key);
    if (other)
        return scn_fail(error, SCN_ERROR_REFERENCE, &id->mark,
                        "'id': workspace '%s' (line %d) already has id %s: every workspace has "
                        "its own",
                        model_service_name(other->workspace), other->node->mark.line, guid);
    GError *cause = NULL;
    ModelService *ws = model_net_add_workspace(ld->net, name->text, guid, &cause);
    if (!ws)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &id->mark);
    w->workspace = ws;
    g_hash_table_insert(state(ld)->ws_by_id, g_steal_pointer(&key), w);
    model_service_set_resources(ws, w->storage, w->key_vault, w->registry);
    return scn_names_add(&state(ld)->workspaces, name->text, name, w, error) &&
           register_service(ld, ws, name, value, error) &&
           load_network_config(ld, ws, value, error) && load_roles(ld, ws, value, error) &&
           load_app_insights(ws, value, error);
}

bool scn_load_workspace(ScnLoad *ld, const ScnNode *value, GError **error)
{
    const ScnNode *both =
        scn_get(ld->root, "workspaces") ? scn_get_key(ld->root, "workspaces") : NULL;
    if (both)
        return scn_fail(error, SCN_ERROR_SCHEMA, &both->mark,
                        "give 'workspace' (one) or 'workspaces' (a list), not both");
    return load_one_workspace(ld, value, error);
}

bool scn_load_workspaces(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "workspaces", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_one_workspace(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}
