/*
 * scn_net.c — the scenario sections that build the topology: vnets (address spaces and
 * subnets, then peerings once every VNet exists), hosts and privateEndpoints. Their DNS
 * keys (dnsServers, hostsFile, fqdns) are read by scn_dns.c.
 *
 * The model checks Azure's rules (subnets inside the VNet and not overlapping, reserved
 * addresses, peerings without overlap); the loader resolves names with "did you mean"
 * suggestions and points each model error at the node it came from.
 */
#include "model/scn_internal.h"

#include <string.h>

/* ---- virtual networks and subnets ---- */

#define SCN_MAX_VNET_RANGES 1000 /* address ranges per VNet: vnetsim's bound, not Azure's */
/* "Subnets per virtual network: 3,000" (azdocs:articles/azure-resource-manager/management/
 * azure-subscription-service-limits.md, networking limits); also keeps the model's
 * pairwise overlap check cheap on hostile input. */
#define SCN_MAX_SUBNETS 3000

static const ScnKey vnet_keys[] = {
    SCN_F("name"), SCN_F("addressSpace"), SCN_F("subnets"), SCN_F("peerings"), SCN_F("dnsServers"),
};

static const ScnKey subnet_keys[] = {
    SCN_F("name"),
    SCN_F("addressPrefix"),
    SCN_F("networkSecurityGroup"),
    SCN_F("routeTable"),
    SCN_F("privateEndpointNetworkPolicies"),
    SCN_F("serviceEndpoints"),
    SCN_F("natGateway"),
    SCN_F("defaultOutboundAccess"),
    SCN_F("delegations"),
};

/* az prints [{name: aci, serviceName: Microsoft.ContainerInstance/containerGroups,
 * actions: […], …}]. */
static const ScnKey delegation_keys[] = {
    SCN_F("name"),
    SCN_F("serviceName"),
    SCN_I("actions"),
    SCN_AZ_BOOKKEEPING,
};

static const ScnKey service_endpoint_keys[] = {
    SCN_F("service"),
    SCN_F("locations"),
    SCN_I("provisioningState"),
};

static const struct {
    const char *name;
    ModelPePolicies value;
} pe_policy_names[] = {
    {"Disabled", MODEL_PE_POLICIES_DISABLED},
    {"NetworkSecurityGroupEnabled", MODEL_PE_POLICIES_NSG},
    {"RouteTableEnabled", MODEL_PE_POLICIES_ROUTE_TABLE},
    {"Enabled", MODEL_PE_POLICIES_ENABLED},
};

static bool load_pe_policies(const ScnNode *s, ModelSubnet *subnet, GError **error)
{
    const char *text = NULL;
    if (!scn_opt_string(s, "privateEndpointNetworkPolicies", &text, error))
        return false;
    if (!text)
        return true;
    const char *names[G_N_ELEMENTS(pe_policy_names)];
    for (size_t i = 0; i < G_N_ELEMENTS(pe_policy_names); i++) {
        names[i] = pe_policy_names[i].name;
        if (g_ascii_strcasecmp(text, names[i]) == 0) {
            model_subnet_set_pe_policies(subnet, pe_policy_names[i].value);
            return true;
        }
    }
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'privateEndpointNetworkPolicies': unknown value '%s'", text);
    const char *s_ = scn_suggest(text, names, G_N_ELEMENTS(names));
    if (s_)
        g_string_append_printf(msg, " (did you mean '%s'?)", s_);
    else
        g_string_append(msg, " (expected Disabled, NetworkSecurityGroupEnabled, "
                             "RouteTableEnabled or Enabled)");
    scn_fail(error, SCN_ERROR_VALUE, &scn_get(s, "privateEndpointNetworkPolicies")->mark, "%s",
             msg->str);
    g_string_free(msg, TRUE);
    return false;
}

static bool load_service_endpoints(const ScnNode *s, ModelSubnet *subnet, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(s, "serviceEndpoints", &list, error))
        return false;
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bool ok = true;
    for (guint i = 0; ok && list && i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i), *at = item;
        const char *service = NULL;
        if (item->kind == SCN_NODE_MAP) {
            /* az prints [{service: Microsoft.Storage, locations: [eastus]}]. */
            ok = scn_check_keys(item, "service endpoint", service_endpoint_keys,
                                G_N_ELEMENTS(service_endpoint_keys), error) &&
                 scn_req_string(item, "service", "service endpoint", &service, error);
            at = ok ? scn_get(item, "service") : item;
        } else {
            ok = scn_node_string(item, "serviceEndpoints", &service, error);
        }
        if (!ok)
            break;
        g_autofree char *folded = g_ascii_strdown(service, -1);
        if (g_hash_table_contains(seen, folded)) {
            ok = scn_fail(error, SCN_ERROR_VALUE, &at->mark,
                          "service endpoint '%s' is listed twice", service);
            break;
        }
        GError *cause = NULL;
        if (!model_subnet_add_service_endpoint(subnet, service, &cause)) {
            ok = scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
            break;
        }
        g_hash_table_add(seen, g_steal_pointer(&folded));
    }
    g_hash_table_destroy(seen);
    return ok;
}

/* delegations: service names ("Microsoft.ContainerInstance/containerGroups"), or az's
 * objects with serviceName. Recorded for lint (ACI placement). */
static bool load_delegations(ScnLoad *ld, const ScnNode *s, ModelSubnet *subnet, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(s, "delegations", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i), *at = item;
        const char *service = NULL;
        if (item->kind == SCN_NODE_MAP) {
            if (!scn_check_keys(item, "delegation", delegation_keys, G_N_ELEMENTS(delegation_keys),
                                error) ||
                !scn_req_string(item, "serviceName", "delegation", &service, error))
                return false;
            at = scn_get(item, "serviceName");
        } else if (!scn_node_string(item, "delegations", &service, error)) {
            return false;
        }
        if (!strchr(service, '/'))
            return scn_fail(error, SCN_ERROR_VALUE, &at->mark,
                            "'delegations': '%s' is not a service name like "
                            "Microsoft.ContainerInstance/containerGroups",
                            service);
        GError *cause = NULL;
        if (!model_subnet_add_delegation(ld->net, subnet, service, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    }
    return true;
}

static bool load_subnet(ScnLoad *ld, ModelVnet *vnet, const char *vnet_name, const ScnNode *s,
                        GError **error)
{
    if (!scn_check_keys(s, "subnet", subnet_keys, G_N_ELEMENTS(subnet_keys), error))
        return false;
    const ScnNode *name = scn_name_of(s, "subnet", error);
    if (!name || !scn_check_name(name, "subnet", error))
        return false;
    g_autofree char *what = g_strdup_printf("subnet '%s'", name->text);
    g_autofree char *path = g_strdup_printf("%s/%s", vnet_name, name->text);
    const ScnNode *prefix_node = NULL;
    ModelPrefix prefix;
    if (!scn_req_node(s, "addressPrefix", what, &prefix_node, error) ||
        !scn_node_prefix(prefix_node, "addressPrefix", &prefix, error))
        return false;
    if (scn_names_find(&ld->subnets, path))
        return scn_names_add(&ld->subnets, path, name, NULL, error);
    GError *cause = NULL;
    ModelSubnet *subnet = model_net_add_subnet(ld->net, vnet, name->text, prefix, &cause);
    if (!subnet)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &prefix_node->mark);
    if (!scn_names_add(&ld->subnets, path, name, subnet, error))
        return false;
    const ScnNode *ref = scn_get(s, "networkSecurityGroup");
    if (ref) {
        const char *t = NULL;
        ModelNsg *nsg = NULL;
        if (!scn_node_string(ref, "networkSecurityGroup", &t, error) ||
            !(nsg = scn_names_resolve(&ld->nsgs, ref, error)))
            return false;
        model_subnet_set_nsg(subnet, nsg);
    }
    ref = scn_get(s, "routeTable");
    if (ref) {
        const char *t = NULL;
        ModelRouteTable *table = NULL;
        if (!scn_node_string(ref, "routeTable", &t, error) ||
            !(table = scn_names_resolve(&ld->route_tables, ref, error)))
            return false;
        model_subnet_set_route_table(subnet, table);
    }
    bool outbound = true;
    if (!scn_opt_bool(s, "defaultOutboundAccess", &outbound, error))
        return false;
    model_subnet_set_default_outbound_access(subnet, outbound);
    ref = scn_get(s, "natGateway");
    if (ref && !scn_natgw_subnet_ref(ld, subnet, ref, error))
        return false;
    return load_pe_policies(s, subnet, error) && load_service_endpoints(s, subnet, error) &&
           load_delegations(ld, s, subnet, error);
}

static bool load_vnet(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "virtual network", vnet_keys, G_N_ELEMENTS(vnet_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "virtual network", error);
    if (!name || !scn_check_name(name, "virtual network", error))
        return false;
    g_autofree char *what = g_strdup_printf("virtual network '%s'", name->text);
    const ScnNode *space = NULL;
    if (!scn_req_node(m, "addressSpace", what, &space, error) ||
        !scn_check_list(space, "addressSpace", error))
        return false;
    if (space->items->len == 0)
        return scn_fail(error, SCN_ERROR_VALUE, &space->mark,
                        "'addressSpace' needs at least one address range");
    if (space->items->len > SCN_MAX_VNET_RANGES)
        return scn_fail(error, SCN_ERROR_VALUE, &space->mark,
                        "'addressSpace' holds more than %d ranges", SCN_MAX_VNET_RANGES);
    ModelPrefix *prefixes = g_new(ModelPrefix, space->items->len);
    for (guint i = 0; i < space->items->len; i++) {
        const ScnNode *item = SCN_ITEM(space, i);
        if (!scn_node_prefix(item, "addressSpace", &prefixes[i], error)) {
            g_free(prefixes);
            return false;
        }
        /* Name the two ranges that overlap (the model only says that some do). */
        for (guint j = 0; j < i; j++) {
            if (model_prefix_overlaps(prefixes[i], prefixes[j])) {
                scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                         "virtual network '%s': %s overlaps %s, an earlier range of the same "
                         "address space",
                         name->text, item->text, SCN_ITEM(space, j)->text);
                g_free(prefixes);
                return false;
            }
        }
    }
    ModelVnet *vnet = NULL;
    GError *cause = NULL;
    if (!scn_names_find(&ld->vnets, name->text)) {
        vnet = model_net_add_vnet(ld->net, name->text, prefixes, space->items->len, &cause);
        if (!vnet) {
            g_free(prefixes);
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &space->mark);
        }
    }
    g_free(prefixes);
    if (!scn_names_add(&ld->vnets, name->text, name, vnet, error) ||
        !scn_load_vnet_dns(ld, m, vnet, error))
        return false;
    const ScnNode *subnets = NULL;
    if (!scn_opt_list(m, "subnets", &subnets, error))
        return false;
    if (subnets && subnets->items->len > SCN_MAX_SUBNETS)
        return scn_fail(error, SCN_ERROR_VALUE, &subnets->mark,
                        "virtual network '%s' has %u subnets (Azure allows %d)", name->text,
                        subnets->items->len, SCN_MAX_SUBNETS);
    for (guint i = 0; subnets && i < subnets->items->len; i++)
        if (!load_subnet(ld, vnet, name->text, SCN_ITEM(subnets, i), error))
            return false;
    return true;
}

bool scn_load_vnets(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "vnets", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_vnet(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* Second pass over vnets: a peering listed on either side is a connected pair (Azure's two
 * links, as creating the peering on both sides makes it); listing it on both is fine. */
bool scn_load_peerings(ScnLoad *ld, const ScnNode *value, GError **error)
{
    for (guint i = 0; i < value->items->len; i++) {
        const ScnNode *m = SCN_ITEM(value, i), *list;
        ModelVnet *a = scn_names_find(&ld->vnets, scn_get(m, "name")->text)->object;
        if (!scn_opt_list(m, "peerings", &list, error))
            return false;
        for (guint k = 0; list && k < list->items->len; k++) {
            const ScnNode *item = SCN_ITEM(list, k);
            const ScnNode *ref = scn_entry_peering_ref(item, error);
            const char *t = NULL;
            ModelVnet *b;
            if (!ref || !scn_node_string(ref, "peerings", &t, error) ||
                !(b = scn_names_resolve(&ld->vnets, ref, error)))
                return false;
            const char *na = scn_get(m, "name")->text;
            g_autofree char *pair = strcmp(na, t) < 0 ? g_strdup_printf("%s\n%s", na, t)
                                                      : g_strdup_printf("%s\n%s", t, na);
            if (!g_hash_table_contains(ld->peered, pair)) {
                GError *cause = NULL;
                if (!model_net_peer(ld->net, a, b, &cause))
                    return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ref->mark);
                g_hash_table_add(ld->peered, g_steal_pointer(&pair));
            }
            if (!scn_entry_peering_options(ld, item, a, b, error))
                return false;
        }
    }
    return true;
}

/* A "vnet/subnet" reference. A bare subnet name gets a suggestion of its full path. */
ModelSubnet *scn_resolve_subnet(ScnLoad *ld, const ScnNode *ref, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(ref, "subnet", &t, error))
        return NULL;
    if (!strchr(t, '/')) {
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg, "'subnet' must be written VNET/SUBNET, not '%s'", t);
        for (guint i = 0; i < ld->subnets.names->len; i++) {
            const char *path = g_ptr_array_index(ld->subnets.names, i);
            if (strcmp(strchr(path, '/') + 1, t) == 0) {
                g_string_append_printf(msg, " (did you mean '%s'?)", path);
                break;
            }
        }
        scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark, "%s", msg->str);
        g_string_free(msg, TRUE);
        return NULL;
    }
    return scn_names_resolve(&ld->subnets, ref, error);
}

/* ---- hosts ---- */

static const ScnKey host_keys[] = {
    SCN_F("name"),         SCN_F("kind"),       SCN_F("subnet"),
    SCN_F("ip"),           SCN_F("publicIp"),   SCN_F("networkSecurityGroup"),
    SCN_F("ipForwarding"), SCN_F("stateful"),   SCN_F("applicationSecurityGroups"),
    SCN_F("listen"),       SCN_F("dnsServers"), SCN_F("hostsFile"),
    SCN_F("fqdns"),        SCN_F("via"),        SCN_F("onprem"),
};

static const struct {
    const char *name;
    ModelHostKind kind;
} host_kinds[] = {
    {"vm", MODEL_HOST_VM},
    {"appliance", MODEL_HOST_APPLIANCE},
    {"internet", MODEL_HOST_INTERNET},
    {"service", MODEL_HOST_SERVICE},
};

static bool parse_kind(const ScnNode *m, ModelHostKind *out, GError **error)
{
    const char *text = NULL;
    *out = MODEL_HOST_VM;
    if (!scn_opt_string(m, "kind", &text, error))
        return false;
    if (!text)
        return true;
    const char *names[G_N_ELEMENTS(host_kinds)];
    for (size_t i = 0; i < G_N_ELEMENTS(host_kinds); i++) {
        names[i] = host_kinds[i].name;
        if (strcmp(text, names[i]) == 0) {
            *out = host_kinds[i].kind;
            return true;
        }
    }
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'kind': unknown host kind '%s'", text);
    const char *s = scn_suggest(text, names, G_N_ELEMENTS(names));
    if (s)
        g_string_append_printf(msg, " (did you mean '%s'?)", s);
    else
        g_string_append(msg, " (expected vm, appliance, internet or service)");
    scn_fail(error, SCN_ERROR_VALUE, &scn_get(m, "kind")->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    return false;
}

/* "Tcp/443", "Udp/53". */
static bool load_listen(const ScnNode *m, ModelHost *host, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "listen", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i);
        const char *t = NULL;
        if (!scn_node_string(item, "listen", &t, error))
            return false;
        const char *slash = strchr(t, '/');
        uint8_t proto = 0;
        guint64 port = 0;
        if (slash && g_ascii_strncasecmp(t, "Tcp", (size_t)(slash - t)) == 0 && slash - t == 3)
            proto = MODEL_IPPROTO_TCP;
        else if (slash && g_ascii_strncasecmp(t, "Udp", (size_t)(slash - t)) == 0 && slash - t == 3)
            proto = MODEL_IPPROTO_UDP;
        if (!proto || !g_ascii_string_to_unsigned(slash + 1, 10, 1, 65535, &port, NULL))
            return scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                            "'listen': \"%s\" is not PROTOCOL/PORT such as Tcp/443 or Udp/53", t);
        model_host_listen(host, proto, (uint16_t)port);
    }
    return true;
}

static bool forbid(const ScnNode *m, const char *key, const char *why, GError **error)
{
    const ScnNode *k = scn_get_key(m, key);
    if (!k || !scn_get(m, key))
        return true;
    return scn_fail(error, SCN_ERROR_SCHEMA, &k->mark, "'%s' does not apply to %s", key, why);
}

bool scn_claim_capture(ScnLoad *ld, const char *capture, const ScnNode *at, GError **error)
{
    const ScnDef *other = scn_names_find(&ld->captures, capture);
    if (other)
        return scn_fail(error, SCN_ERROR_REFERENCE, &at->mark,
                        "'%s' would write the same capture file (%s.pcap) as the object defined "
                        "at line %d: rename one",
                        at->text, capture, other->node->mark.line);
    return scn_names_add(&ld->captures, capture, at, NULL, error);
}

static bool load_asgs(ScnLoad *ld, const ScnNode *m, ModelNic *nic, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "applicationSecurityGroups", &list, error))
        return false;
    GHashTable *mine = g_hash_table_new(g_str_hash, g_str_equal);
    bool ok = true;
    for (guint i = 0; ok && list && i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i);
        const char *name = scn_asg_ref_name(item, error);
        if (!name) {
            ok = false;
            break;
        }
        if (g_hash_table_contains(mine, name)) {
            ok = scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                          "application security group '%s' is listed twice", name);
            break;
        }
        g_hash_table_add(mine, (gpointer)name);
        if (!scn_names_find(&ld->asgs, name))
            ok = scn_names_add(&ld->asgs, name, item, NULL, error);
        model_nic_add_asg(nic, name);
    }
    g_hash_table_destroy(mine);
    return ok;
}

static bool load_host(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "host", host_keys, G_N_ELEMENTS(host_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "host", error);
    ModelHostKind kind;
    if (!name || !scn_check_name(name, "host", error) || !parse_kind(m, &kind, error))
        return false;
    g_autofree char *what = g_strdup_printf("host '%s'", name->text);
    bool in_vnet = kind == MODEL_HOST_VM || kind == MODEL_HOST_APPLIANCE;
    /* On a site's LAN (onprem) or a P2S client (via): scn_entry.c gives it its NIC. */
    const char *entry_key = scn_get(m, "onprem") ? "onprem" : scn_get(m, "via") ? "via" : NULL;
    if (entry_key && kind != MODEL_HOST_VM)
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, entry_key)->mark,
                        "'%s' applies to hosts of kind vm only", entry_key);
    if (entry_key) {
        const char *why = strcmp(entry_key, "onprem") == 0
                              ? "an on-prem host: it sits on its site's LAN"
                              : "a P2S client: it sits at the far end of the VPN tunnel";
        static const char *const lan_only[] = {"subnet", "networkSecurityGroup", "ipForwarding",
                                               "applicationSecurityGroups"};
        for (size_t i = 0; i < G_N_ELEMENTS(lan_only); i++)
            if (!forbid(m, lan_only[i], why, error))
                return false;
    }
    if (!in_vnet) {
        const char *why = kind == MODEL_HOST_INTERNET
                              ? "an internet host: it sits outside every VNet (its address is "
                                "publicIp)"
                              : "a service host: it sits outside every VNet (reach it by "
                                "publicIp or through a private endpoint)";
        static const char *const vnet_only[] = {"subnet", "ip", "networkSecurityGroup",
                                                "ipForwarding", "applicationSecurityGroups"};
        for (size_t i = 0; i < G_N_ELEMENTS(vnet_only); i++)
            if (!forbid(m, vnet_only[i], why, error))
                return false;
    }
    if (scn_names_find(&ld->hosts, name->text) || scn_names_find(&ld->endpoints, name->text)) {
        const ScnDef *d = scn_names_find(&ld->hosts, name->text);
        if (!d)
            d = scn_names_find(&ld->endpoints, name->text);
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "host '%s' is defined twice (first at line %d)", name->text,
                        d->node->mark.line);
    }
    GError *cause = NULL;
    ModelHost *host = model_net_add_host(ld->net, name->text, kind, &cause);
    if (!host)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = host;
    def->kind = kind;
    def->node = m;
    g_ptr_array_add(ld->host_defs, def);
    if (!scn_names_add(&ld->hosts, name->text, name, def, error))
        return false;

    const ScnNode *pub = scn_get(m, "publicIp");
    if (entry_key) {
        if (!scn_entry_load_host(ld, m, def, error))
            return false;
    } else if (pub && !scn_node_ip(pub, "publicIp", &def->public_ip, error)) {
        return false;
    }
    if (entry_key) {
        /* the NIC is in place */
    } else if (in_vnet) {
        const ScnNode *subnet_ref = NULL, *ip_node = NULL;
        ModelSubnet *subnet;
        if (!scn_req_node(m, "subnet", what, &subnet_ref, error) ||
            !(subnet = scn_resolve_subnet(ld, subnet_ref, error)) ||
            !scn_req_node(m, "ip", what, &ip_node, error) ||
            !scn_node_ip(ip_node, "ip", &def->ip, error))
            return false;
        g_autofree char *capture = g_strdup_printf("%s-nic0", name->text);
        if (!scn_claim_capture(ld, capture, name, error))
            return false;
        def->nic = model_net_add_nic(ld->net, host, subnet, "nic0", def->ip, &cause);
        if (!def->nic)
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ip_node->mark);
        if (pub && !model_nic_set_public_ip(ld->net, def->nic, def->public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pub->mark);
        const ScnNode *ref = scn_get(m, "networkSecurityGroup");
        if (ref) {
            const char *t = NULL;
            ModelNsg *nsg = NULL;
            if (!scn_node_string(ref, "networkSecurityGroup", &t, error) ||
                !(nsg = scn_names_resolve(&ld->nsgs, ref, error)))
                return false;
            model_nic_set_nsg(def->nic, nsg);
        }
        bool forwarding = kind == MODEL_HOST_APPLIANCE;
        if (!scn_opt_bool(m, "ipForwarding", &forwarding, error) ||
            !load_asgs(ld, m, def->nic, error))
            return false;
        model_nic_set_ip_forwarding(def->nic, forwarding);
    } else if (pub) {
        g_autofree char *capture = g_strdup_printf("%s-inet0", name->text);
        if (!scn_claim_capture(ld, capture, name, error))
            return false;
        if (!model_host_set_public_ip(ld->net, host, def->public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &pub->mark);
    } else if (kind == MODEL_HOST_INTERNET) {
        return scn_fail(error, SCN_ERROR_SCHEMA, &m->mark,
                        "%s needs 'publicIp' (an internet host's address)", what);
    }
    bool stateful = kind == MODEL_HOST_APPLIANCE;
    if (!scn_opt_bool(m, "stateful", &stateful, error))
        return false;
    model_host_set_stateful(host, stateful);
    return load_listen(m, host, error) && scn_load_host_dns(ld, m, def, error);
}

bool scn_load_hosts(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "hosts", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_host(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* ---- private endpoints ---- */

static const ScnKey pe_keys[] = {
    SCN_F("name"),    SCN_F("subnet"), SCN_F("ip"),
    SCN_F("service"), SCN_F("fqdns"),  SCN_F("privateDnsIntegration"),
};

static bool load_private_endpoint(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "private endpoint", pe_keys, G_N_ELEMENTS(pe_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "private endpoint", error);
    if (!name || !scn_check_name(name, "private endpoint", error))
        return false;
    g_autofree char *what = g_strdup_printf("private endpoint '%s'", name->text);
    const ScnNode *subnet_ref = NULL, *ip_node = NULL, *service_ref = NULL;
    ModelSubnet *subnet;
    ScnHostDef *service;
    const char *t = NULL;
    ScnEndpointDef *def = g_new0(ScnEndpointDef, 1);
    g_ptr_array_add(ld->endpoint_defs, def);
    if (!scn_req_node(m, "subnet", what, &subnet_ref, error) ||
        !(subnet = scn_resolve_subnet(ld, subnet_ref, error)) ||
        !scn_req_node(m, "ip", what, &ip_node, error) ||
        !scn_node_ip(ip_node, "ip", &def->ip, error) ||
        !scn_req_node(m, "service", what, &service_ref, error) ||
        !scn_node_string(service_ref, "service", &t, error) ||
        !(service = scn_names_resolve(&ld->hosts, service_ref, error)))
        return false;
    if (service->kind != MODEL_HOST_SERVICE)
        return scn_fail(error, SCN_ERROR_VALUE, &service_ref->mark,
                        "'%s' is not a service host (kind: service): a private endpoint "
                        "connects to a PaaS resource",
                        t);
    const ScnDef *host = scn_names_find(&ld->hosts, name->text);
    if (host)
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "private endpoint '%s' has the name of the host defined at line %d: "
                        "endpoints and hosts share one namespace",
                        name->text, host->node->mark.line);
    if (scn_names_find(&ld->endpoints, name->text))
        return scn_names_add(&ld->endpoints, name->text, name, def, error);
    if (!scn_claim_capture(ld, name->text, name, error))
        return false;
    GError *cause = NULL;
    def->nic =
        model_net_add_private_endpoint(ld->net, name->text, subnet, def->ip, service->host, &cause);
    if (!def->nic)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &ip_node->mark);
    return scn_names_add(&ld->endpoints, name->text, name, def, error) &&
           scn_load_endpoint_dns(ld, m, def, service, error);
}

bool scn_load_private_endpoints(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "privateEndpoints", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_private_endpoint(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* ASGs exist here only through their members: a rule naming an ASG no host belongs to is
 * almost always a typo, so it is refused with a suggestion. */
bool scn_check_asg_uses(ScnLoad *ld, GError **error)
{
    for (guint i = 0; i < ld->asg_use_order->len; i++) {
        const char *name = g_ptr_array_index(ld->asg_use_order, i);
        if (scn_names_find(&ld->asgs, name))
            continue;
        const ScnNode *at = g_hash_table_lookup(ld->asg_uses, name);
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg,
                               "application security group '%s' has no member (no host lists it "
                               "in applicationSecurityGroups)",
                               name);
        scn_append_suggestion(msg, name, (const char *const *)ld->asgs.names->pdata,
                              ld->asgs.names->len);
        scn_fail(error, SCN_ERROR_REFERENCE, &at->mark, "%s", msg->str);
        g_string_free(msg, TRUE);
        return false;
    }
    return true;
}
