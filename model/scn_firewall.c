/*
 * scn_firewall.c — firewalls[] in scenario files: Azure Firewall in a hub's
 * AzureFirewallSubnet with its policy (model/azfw.c, azfw_rules.c).
 *
 * The policy's rule collection groups are read with the keys
 * `az network firewall policy rule-collection-group list -o json` prints, so its output
 * pastes in: bookkeeping is ignored, and the keys az prints empty on every rule (targetUrls,
 * terminateTls, webCategories, httpHeadersToInsert, an application rule's
 * destinationAddresses) load while empty and are refused as not supported once they say
 * something the model cannot do. IP groups, separate resources in Azure, are listed on the
 * firewall; rules name them by name or by resource id.
 *
 * The firewall is a host of the scenario (flows may name it, its capture is
 * <name>-nic0.pcap). It loads after the hosts: a firewall without publicIp takes a free
 * address of AzureCloud.<region>, never one a host gives. Spokes' UDRs, loaded earlier,
 * name it by its private IP, which is why that address defaults to what Azure assigns.
 */
#include "model/net_internal.h"
#include "model/scn_internal.h"

#include <string.h>

static const ScnKey firewall_keys[] = {
    SCN_F("name"),
    SCN_F("subnet"),
    SCN_F("privateIp"),
    SCN_F("publicIp"),
    SCN_F("dnsProxy"),
    SCN_F("dnsServers"),
    SCN_F("snatPrivateRanges"),
    SCN_F("ipGroups"),
    SCN_F("ruleCollectionGroups"),
};

static const ScnKey ip_group_keys[] = {
    SCN_F("name"), SCN_F("ipAddresses"), SCN_AZ_BOOKKEEPING,        SCN_I("location"),
    SCN_I("tags"), SCN_I("firewalls"),   SCN_I("firewallPolicies"),
};

static const ScnKey group_keys[] = {
    SCN_F("name"), SCN_F("priority"), SCN_F("ruleCollections"), SCN_AZ_BOOKKEEPING, SCN_I("size"),
};

static const ScnKey collection_keys[] = {
    SCN_F("name"),   SCN_F("priority"), SCN_F("ruleCollectionType"),
    SCN_F("action"), SCN_F("rules"),    SCN_I("description"),
};

static const ScnKey action_keys[] = {
    SCN_F("type"),
};

static const ScnKey network_rule_keys[] = {
    SCN_F("name"),
    SCN_F("ruleType"),
    SCN_F("ipProtocols"),
    SCN_F("sourceAddresses"),
    SCN_F("sourceIpGroups"),
    SCN_F("destinationAddresses"),
    SCN_F("destinationIpGroups"),
    SCN_F("destinationFqdns"),
    SCN_F("destinationPorts"),
    SCN_I("description"),
};

/* Keys az prints on every application rule, empty: refused only when they hold something
 * (they would change what the rule matches, and the model has no such matching). */
static const char *const app_unsupported[] = {
    "targetUrls",    "terminateTLS",        "terminateTls",
    "webCategories", "httpHeadersToInsert", "destinationAddresses",
};

static const ScnKey app_rule_keys[] = {
    SCN_F("name"),
    SCN_F("ruleType"),
    SCN_F("protocols"),
    SCN_F("sourceAddresses"),
    SCN_F("sourceIpGroups"),
    SCN_F("targetFqdns"),
    SCN_F("fqdnTags"),
    SCN_I("description"),
    SCN_F("targetUrls"),
    SCN_F("terminateTLS"),
    SCN_F("terminateTls"),
    SCN_F("webCategories"),
    SCN_F("httpHeadersToInsert"),
    SCN_F("destinationAddresses"),
};

static const ScnKey protocol_keys[] = {
    SCN_F("protocolType"),
    SCN_F("port"),
};

/* What one firewall's load keeps: its IP groups (rules resolve them with a suggestion),
 * and the string lists of the rule being built, NULL-terminated as the model takes them. */
typedef struct {
    ScnLoad *ld;
    ModelAzfw *fw;
    ScnNames ip_groups;
    GPtrArray *lists; /* GPtrArray * of one rule's lists; emptied after each rule */
    GPtrArray *owned; /* char * built for one rule ("Https:443") */
} FwLoad;

/* ---- small readers ---- */

/* An integer the model range-checks itself (priorities): only its form is checked here. */
static bool req_number(const ScnNode *m, const char *key, const char *what, int *out,
                       GError **error)
{
    int64_t v = 0;
    if (!scn_req_int(m, key, what, INT32_MIN, INT32_MAX, &v, error))
        return false;
    *out = (int)v;
    return true;
}

static bool is_empty(const ScnNode *v)
{
    if (v->kind != SCN_NODE_SCALAR)
        return v->items->len == 0;
    return !*v->text || (v->plain && g_ascii_strcasecmp(v->text, "false") == 0);
}

/* A NULL-terminated array for one rule's list of n items, freed by rule_done. */
static GPtrArray *new_list(FwLoad *f, guint n)
{
    GPtrArray *a = g_ptr_array_sized_new(n + 1);
    g_ptr_array_add(f->lists, a);
    return a;
}

static const char *const *end_list(GPtrArray *a)
{
    g_ptr_array_add(a, NULL);
    return (const char *const *)a->pdata;
}

/* The list under `key` as a NULL-terminated array of its scalars (borrowed from the tree;
 * the array lives until rule_done); NULL when absent or empty. */
static bool str_list(FwLoad *f, const ScnNode *m, const char *key, const char *const **out,
                     GError **error)
{
    const ScnNode *list = NULL;
    *out = NULL;
    if (!scn_opt_list(m, key, &list, error))
        return false;
    if (!list)
        return true;
    GPtrArray *a = new_list(f, list->items->len);
    for (guint i = 0; i < list->items->len; i++) {
        const char *t = NULL;
        if (!scn_node_string(SCN_ITEM(list, i), key, &t, error))
            return false;
        g_ptr_array_add(a, (gpointer)t);
    }
    *out = end_list(a);
    return true;
}

/* IP group references: a name, or az's resource id (…/ipGroups/NAME), each resolved
 * against the firewall's ipGroups with a suggestion. */
static bool ip_group_list(FwLoad *f, const ScnNode *m, const char *key, const char *const **out,
                          GError **error)
{
    const ScnNode *list = NULL;
    *out = NULL;
    if (!scn_opt_list(m, key, &list, error))
        return false;
    if (!list)
        return true;
    GPtrArray *a = new_list(f, list->items->len);
    for (guint i = 0; i < list->items->len; i++) {
        const char *t = NULL;
        if (!scn_node_string(SCN_ITEM(list, i), key, &t, error))
            return false;
        const char *slash = strrchr(t, '/');
        ScnNode ref = *SCN_ITEM(list, i);
        ref.text = (char *)(slash ? slash + 1 : t); /* a suffix: still the tree's */
        if (!scn_names_resolve(&f->ip_groups, &ref, error))
            return false;
        g_ptr_array_add(a, ref.text);
    }
    *out = end_list(a);
    return true;
}

static void rule_done(FwLoad *f)
{
    g_ptr_array_set_size(f->lists, 0);
    g_ptr_array_set_size(f->owned, 0);
}

/* ---- rules ---- */

static const char *const rule_types[] = {"NetworkRule", "ApplicationRule", "NatRule"};
enum { RULE_NETWORK, RULE_APPLICATION, RULE_NAT };

/* A rule's ruleType; the NAT rules of a DNAT collection are refused as not supported. */
static bool rule_type(const ScnNode *r, size_t *out, GError **error)
{
    const ScnNode *v = NULL;
    if (r->kind != SCN_NODE_MAP) /* for its "must be a mapping" error */
        return scn_check_keys(r, "a rule", NULL, 0, error);
    if (!scn_req_node(r, "ruleType", "a rule", &v, error) ||
        !scn_pick(v, "ruleType", rule_types, G_N_ELEMENTS(rule_types), out, error))
        return false;
    if (*out == RULE_NAT)
        return scn_fail(error, SCN_ERROR_UNSUPPORTED, &v->mark,
                        "'ruleType' NatRule (DNAT) is not supported yet");
    return true;
}

static bool load_network_rule(FwLoad *f, ModelAzfwCollection *c, const ScnNode *r,
                              const ScnNode *name, GError **error)
{
    ModelAzfwNetworkRule rule = {.name = name->text};
    if (!scn_check_keys(r, "network rule", network_rule_keys, G_N_ELEMENTS(network_rule_keys),
                        error) ||
        !str_list(f, r, "ipProtocols", &rule.ip_protocols, error) ||
        !str_list(f, r, "sourceAddresses", &rule.source_addresses, error) ||
        !ip_group_list(f, r, "sourceIpGroups", &rule.source_ip_groups, error) ||
        !str_list(f, r, "destinationAddresses", &rule.destination_addresses, error) ||
        !ip_group_list(f, r, "destinationIpGroups", &rule.destination_ip_groups, error) ||
        !str_list(f, r, "destinationFqdns", &rule.destination_fqdns, error) ||
        !str_list(f, r, "destinationPorts", &rule.destination_ports, error))
        return false;
    /* Service tags in destinations must exist: named here, with a suggestion. */
    const ScnNode *dst = scn_get(r, "destinationAddresses");
    for (guint i = 0; rule.destination_addresses && i < dst->items->len; i++) {
        const char *t = rule.destination_addresses[i];
        if (g_ascii_isalpha(t[0]) && !scn_check_tag(f->ld, SCN_ITEM(dst, i), t, error))
            return false;
    }
    GError *cause = NULL;
    if (!model_azfw_add_network_rule(c, &rule, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    return true;
}

/* protocols[]: az's {protocolType: Https, port: 443}, or the CLI's "Https:443". */
static bool app_protocols(FwLoad *f, const ScnNode *r, const char *const **out, GError **error)
{
    const ScnNode *list = NULL;
    *out = NULL;
    if (!scn_opt_list(r, "protocols", &list, error))
        return false;
    if (!list)
        return true;
    GPtrArray *a = new_list(f, list->items->len);
    for (guint i = 0; i < list->items->len; i++) {
        const ScnNode *p = SCN_ITEM(list, i);
        const char *type = NULL;
        int64_t port = 0;
        if (p->kind == SCN_NODE_SCALAR) {
            if (!scn_node_string(p, "protocols", &type, error))
                return false;
            g_ptr_array_add(a, (gpointer)type);
            continue;
        }
        if (!scn_check_keys(p, "a protocol", protocol_keys, G_N_ELEMENTS(protocol_keys), error) ||
            !scn_req_string(p, "protocolType", "a protocol", &type, error) ||
            !scn_opt_int(p, "port", 0, 65535, &port, error))
            return false;
        char *text = port ? g_strdup_printf("%s:%" G_GINT64_FORMAT, type, port) : g_strdup(type);
        g_ptr_array_add(f->owned, text);
        g_ptr_array_add(a, text);
    }
    *out = end_list(a);
    return true;
}

static bool load_application_rule(FwLoad *f, ModelAzfwCollection *c, const ScnNode *r,
                                  const ScnNode *name, GError **error)
{
    ModelAzfwApplicationRule rule = {.name = name->text};
    if (!scn_check_keys(r, "application rule", app_rule_keys, G_N_ELEMENTS(app_rule_keys), error))
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(app_unsupported); i++) {
        const ScnNode *v = scn_get(r, app_unsupported[i]);
        if (v && !is_empty(v))
            return scn_fail(error, SCN_ERROR_UNSUPPORTED, &scn_get_key(r, app_unsupported[i])->mark,
                            "'%s' is not supported yet", app_unsupported[i]);
    }
    if (!app_protocols(f, r, &rule.protocols, error) ||
        !str_list(f, r, "sourceAddresses", &rule.source_addresses, error) ||
        !ip_group_list(f, r, "sourceIpGroups", &rule.source_ip_groups, error) ||
        !str_list(f, r, "targetFqdns", &rule.target_fqdns, error) ||
        !str_list(f, r, "fqdnTags", &rule.fqdn_tags, error))
        return false;
    GError *cause = NULL;
    if (!model_azfw_add_application_rule(c, &rule, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    return true;
}

/* ---- collections and groups ---- */

static const char *const collection_types[] = {"FirewallPolicyFilterRuleCollection",
                                               "FirewallPolicyNatRuleCollection"};
static const char *const actions[] = {"Allow", "Deny"};

/* action: {type: Allow} as az prints it, or the bare word. */
static bool load_action(const ScnNode *c, const char *what, ModelAccess *out, GError **error)
{
    const ScnNode *v = NULL;
    if (!scn_req_node(c, "action", what, &v, error))
        return false;
    if (v->kind == SCN_NODE_MAP &&
        (!scn_check_keys(v, "'action'", action_keys, G_N_ELEMENTS(action_keys), error) ||
         !scn_req_node(v, "type", "'action'", &v, error)))
        return false;
    size_t i = 0;
    if (!scn_pick(v, "action", actions, G_N_ELEMENTS(actions), &i, error))
        return false;
    *out = i == 0 ? MODEL_ACCESS_ALLOW : MODEL_ACCESS_DENY;
    return true;
}

/* The rules' one type (Azure: "a rule collection … contains rules of one type"); a list
 * mixing them is refused at the first rule of another type. */
static bool collection_kind(const ScnNode *rules, const char *collection,
                            ModelAzfwCollectionKind *out, GError **error)
{
    *out = MODEL_AZFW_NETWORK;
    size_t first = RULE_NETWORK;
    for (guint i = 0; rules && i < rules->items->len; i++) {
        const ScnNode *r = SCN_ITEM(rules, i);
        size_t t = 0;
        if (!rule_type(r, &t, error))
            return false;
        if (i == 0) {
            first = t;
        } else if (t != first) {
            return scn_fail(error, SCN_ERROR_VALUE, &scn_get(r, "ruleType")->mark,
                            "rule collection '%s' holds %ss (its first rule's type): this rule "
                            "is a%s %s, and a collection holds rules of one type",
                            collection, rule_types[first], t == RULE_APPLICATION ? "n" : "",
                            rule_types[t]);
        }
    }
    *out = first == RULE_APPLICATION ? MODEL_AZFW_APPLICATION : MODEL_AZFW_NETWORK;
    return true;
}

static bool load_collection(FwLoad *f, ModelAzfwGroup *g, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "rule collection", collection_keys, G_N_ELEMENTS(collection_keys),
                        error))
        return false;
    const ScnNode *name = scn_name_of(m, "rule collection", error), *type = NULL, *rules = NULL;
    if (!name)
        return false;
    g_autofree char *what = g_strdup_printf("rule collection '%s'", name->text);
    type = scn_get(m, "ruleCollectionType");
    size_t t = 0;
    if (type && !scn_pick(type, "ruleCollectionType", collection_types,
                          G_N_ELEMENTS(collection_types), &t, error))
        return false;
    if (t == 1)
        return scn_fail(error, SCN_ERROR_UNSUPPORTED, &type->mark,
                        "'ruleCollectionType' FirewallPolicyNatRuleCollection (DNAT rules) is "
                        "not supported yet");
    int priority = 0;
    ModelAccess action;
    ModelAzfwCollectionKind kind;
    if (!req_number(m, "priority", what, &priority, error) ||
        !load_action(m, what, &action, error) || !scn_opt_list(m, "rules", &rules, error) ||
        !collection_kind(rules, name->text, &kind, error))
        return false;
    GError *cause = NULL;
    ModelAzfwCollection *c =
        model_azfw_add_collection(g, name->text, priority, kind, action, &cause);
    if (!c)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE,
                               strstr(cause->message, "priority") ? &scn_get(m, "priority")->mark
                                                                  : &name->mark);
    for (guint i = 0; rules && i < rules->items->len; i++) {
        const ScnNode *r = SCN_ITEM(rules, i);
        const ScnNode *rule_name = scn_name_of(r, "rule", error);
        bool ok = rule_name &&
                  (kind == MODEL_AZFW_NETWORK ? load_network_rule(f, c, r, rule_name, error)
                                              : load_application_rule(f, c, r, rule_name, error));
        rule_done(f);
        if (!ok)
            return false;
    }
    return true;
}

static bool load_group(FwLoad *f, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "rule collection group", group_keys, G_N_ELEMENTS(group_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "rule collection group", error), *list = NULL;
    if (!name)
        return false;
    g_autofree char *what = g_strdup_printf("rule collection group '%s'", name->text);
    int priority = 0;
    if (!req_number(m, "priority", what, &priority, error))
        return false;
    GError *cause = NULL;
    ModelAzfwGroup *g = model_azfw_add_group(f->fw, name->text, priority, &cause);
    if (!g)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE,
                               strstr(cause->message, "priority") ? &scn_get(m, "priority")->mark
                                                                  : &name->mark);
    if (!scn_opt_list(m, "ruleCollections", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++)
        if (!load_collection(f, g, SCN_ITEM(list, i), error))
            return false;
    return true;
}

/* ---- the firewall ---- */

static bool load_ip_groups(FwLoad *f, const ScnNode *m, GError **error)
{
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "ipGroups", &list, error))
        return false;
    for (guint i = 0; list && i < list->items->len; i++) {
        const ScnNode *g = SCN_ITEM(list, i);
        const char *const *addresses = NULL;
        if (!scn_check_keys(g, "IP group", ip_group_keys, G_N_ELEMENTS(ip_group_keys), error))
            return false;
        const ScnNode *name = scn_name_of(g, "IP group", error);
        bool ok = name && scn_check_name(name, "IP group", error) &&
                  scn_names_add(&f->ip_groups, name->text, name, (void *)g, error) &&
                  str_list(f, g, "ipAddresses", &addresses, error);
        GError *cause = NULL;
        size_t n = 0;
        while (ok && addresses && addresses[n])
            n++;
        if (ok && !model_azfw_add_ip_group(f->fw, name->text, addresses, n, &cause))
            ok = scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
        rule_done(f);
        if (!ok)
            return false;
    }
    return true;
}

static bool load_settings(FwLoad *f, const ScnNode *m, GError **error)
{
    bool proxy = false;
    if (!scn_opt_bool(m, "dnsProxy", &proxy, error))
        return false;
    model_azfw_set_dns_proxy(f->fw, proxy);
    const ScnNode *list = NULL;
    if (!scn_opt_list(m, "dnsServers", &list, error))
        return false;
    if (list) {
        uint32_t *ips = g_new(uint32_t, list->items->len);
        bool ok = true;
        for (guint i = 0; ok && i < list->items->len; i++)
            ok = scn_node_ip(SCN_ITEM(list, i), "dnsServers", &ips[i], error);
        if (ok)
            model_azfw_set_dns_servers(f->fw, ips, list->items->len);
        g_free(ips);
        if (!ok)
            return false;
    }
    const char *const *ranges = NULL;
    if (!str_list(f, m, "snatPrivateRanges", &ranges, error))
        return false;
    if (ranges) {
        GError *cause = NULL;
        list = scn_get(m, "snatPrivateRanges");
        bool ok = model_azfw_set_snat_private_ranges(f->fw, ranges, list->items->len, &cause);
        rule_done(f);
        if (!ok)
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &list->mark);
    }
    return true;
}

/* ruleCollectionGroups: a list, or the name of a file holding one (what `az network
 * firewall policy rule-collection-group list -o json > rcg.json` saved). *out NULL: none. */
static bool rule_collection_groups(ScnLoad *ld, const ScnNode *m, const ScnNode **out,
                                   GError **error)
{
    const ScnNode *v = scn_get(m, "ruleCollectionGroups");
    *out = NULL;
    if (v && v->kind == SCN_NODE_SCALAR &&
        !(v = scn_doc_parse_file(ld->doc, v->text, &v->mark, error)))
        return false;
    if (!v || scn_is_null(v))
        return true;
    if (v->kind != SCN_NODE_SEQ)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark,
                        "'ruleCollectionGroups' must be a list (or the name of a JSON file "
                        "holding one), not %s",
                        v->kind == SCN_NODE_MAP ? "a mapping" : "a value");
    *out = v;
    return true;
}

/* hosts, gateways, bastions, services, endpoints, firewalls: one namespace. */
static bool free_host_name(ScnLoad *ld, const ScnNode *name, GError **error)
{
    const ScnDef *d = scn_names_find(&ld->hosts, name->text);
    if (!d)
        d = scn_names_find(&ld->endpoints, name->text);
    if (!d)
        return true;
    return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                    "'%s' is already the name of the object defined at line %d: hosts, "
                    "firewalls, gateways, bastions, services and endpoints share one namespace",
                    name->text, d->node->mark.line);
}

/* Creates the firewall and registers it as a host; *fw NULL on failure. */
static bool add_firewall(ScnLoad *ld, const ScnNode *m, const ScnNode *name, ModelAzfw **fw,
                         GError **error)
{
    g_autofree char *what = g_strdup_printf("firewall '%s'", name->text);
    g_autofree char *capture = g_strdup_printf("%s-nic0", name->text);
    const ScnNode *subnet_ref = NULL, *priv = scn_get(m, "privateIp"),
                  *pub = scn_get(m, "publicIp");
    ModelSubnet *subnet;
    if (!scn_req_node(m, "subnet", what, &subnet_ref, error) ||
        !(subnet = scn_resolve_subnet(ld, subnet_ref, error)) || !free_host_name(ld, name, error) ||
        !scn_claim_capture(ld, capture, name, error))
        return false;
    /* Azure gives the firewall the subnet's first usable address (.4: the first four are
     * reserved), the one the spokes' UDRs name. */
    uint32_t private_ip = subnet->prefix.addr + 4, public_ip = 0;
    GError *cause = NULL;
    if ((priv && !scn_node_ip(priv, "privateIp", &private_ip, error)) ||
        (pub && !scn_node_ip(pub, "publicIp", &public_ip, error)))
        return false;
    if (!pub) {
        g_autofree char *cloud = g_strdup_printf("AzureCloud.%s", ld->scn->region);
        if (!model__service_tag_address(ld->net, cloud, &public_ip, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    }
    *fw = model_net_add_firewall(ld->net, name->text, subnet, private_ip, public_ip, &cause);
    if (!*fw) {
        /* The subnet's name or size, else an address the NIC cannot take. */
        const char *msg = cause->message;
        bool subnet_wrong =
            strstr(msg, "is not named AzureFirewallSubnet") || strstr(msg, "must be /26 or larger");
        const ScnNode *at = g_str_has_prefix(msg, "a firewall name") ? name
                            : subnet_wrong                           ? subnet_ref
                            : pub && strstr(msg, "public")           ? pub
                            : priv                                   ? priv
                                                                     : subnet_ref;
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    }
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = model_azfw_host(*fw);
    def->kind = MODEL_HOST_APPLIANCE;
    def->nic = g_ptr_array_index(def->host->nics, 0);
    def->ip = private_ip;
    def->public_ip = public_ip;
    def->node = m;
    g_ptr_array_add(ld->host_defs, def);
    return scn_names_add(&ld->hosts, name->text, name, def, error);
}

static bool load_firewall(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "firewall", firewall_keys, G_N_ELEMENTS(firewall_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "firewall", error);
    if (!name || !scn_check_name(name, "firewall", error))
        return false;
    FwLoad f = {.ld = ld};
    if (!add_firewall(ld, m, name, &f.fw, error))
        return false;
    scn_names_init(&f.ip_groups, "IP group");
    f.lists = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    f.owned = g_ptr_array_new_with_free_func(g_free);
    /* The DNS proxy first: network rules with FQDNs need it. */
    const ScnNode *groups = NULL;
    bool ok = load_settings(&f, m, error) && load_ip_groups(&f, m, error) &&
              rule_collection_groups(ld, m, &groups, error);
    for (guint i = 0; ok && groups && i < groups->items->len; i++)
        ok = load_group(&f, SCN_ITEM(groups, i), error);
    scn_names_clear(&f.ip_groups);
    g_ptr_array_free(f.lists, TRUE);
    g_ptr_array_free(f.owned, TRUE);
    return ok;
}

bool scn_load_firewalls(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "firewalls", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_firewall(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}
