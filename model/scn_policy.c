/*
 * scn_policy.c — the scenario sections that hold policy: networkSecurityGroups and
 * routeTables, read with the Azure CLI's JSON keys.
 *
 * Values go to the model through its own parsers and constructors (model_nsg_*,
 * model_route_table_add), so Azure's rules are checked in one place; the loader's part is
 * to point each model error at the node it came from. The bookkeeping keys az prints (etag,
 * id, provisioningState …) are ignored, so pasted `az network nsg rule list -o json` output
 * loads as is, in place, through `!include rules.json`, or as `securityRules: rules.json`.
 */
#include "model/scn_internal.h"

#include <string.h>

/* ---- network security groups ---- */

/* A list given as a file name (`securityRules: rules.json`, the output of `az … list -o
 * json` saved to a file) is read as if it were written in place. */
static const ScnNode *list_or_file(ScnLoad *ld, const ScnNode *v, const char *key, GError **error)
{
    if (v->kind == SCN_NODE_SCALAR)
        v = scn_doc_parse_file(ld->doc, v->text, &v->mark, error);
    if (!v)
        return NULL;
    if (scn_is_null(v))
        return v;
    if (v->kind != SCN_NODE_SEQ) {
        scn_fail(error, SCN_ERROR_SCHEMA, &v->mark,
                 "'%s' must be a list (or the name of a JSON file holding one), not a mapping",
                 key);
        return NULL;
    }
    return v;
}

static const ScnKey nsg_keys[] = {
    SCN_F("name"),
    SCN_F("securityRules"),
    SCN_AZ_BOOKKEEPING,
    SCN_I("location"),
    SCN_I("resourceGuid"),
    SCN_I("tags"),
    /* Azure's six defaults: the model adds them itself, exactly as az prints them. */
    SCN_I("defaultSecurityRules"),
};

static const ScnKey rule_keys[] = {
    SCN_F("name"),
    SCN_F("priority"),
    SCN_F("direction"),
    SCN_F("access"),
    SCN_F("protocol"),
    SCN_F("sourceAddressPrefix"),
    SCN_F("sourceAddressPrefixes"),
    SCN_F("sourcePortRange"),
    SCN_F("sourcePortRanges"),
    SCN_F("destinationAddressPrefix"),
    SCN_F("destinationAddressPrefixes"),
    SCN_F("destinationPortRange"),
    SCN_F("destinationPortRanges"),
    SCN_F("sourceApplicationSecurityGroups"),
    SCN_F("destinationApplicationSecurityGroups"),
    SCN_F("description"),
    SCN_AZ_BOOKKEEPING,
};

static const ScnKey asg_ref_keys[] = {
    SCN_F("id"),   SCN_F("name"), SCN_I("resourceGroup"),     SCN_I("location"),
    SCN_I("etag"), SCN_I("type"), SCN_I("provisioningState"), SCN_I("resourceGuid"),
    SCN_I("tags"),
};

static void collect_tag(const char *name, const ModelPrefixSet *set, void *ctx)
{
    (void)set;
    g_ptr_array_add(ctx, (gpointer)name);
}

/* A service tag in a rule must be one the scenario's service tags define (or a topological
 * one): the model would only find out when compiling, without a location. */
bool scn_check_tag(ScnLoad *ld, const ScnNode *node, const char *tag, GError **error)
{
    const ModelServiceTags *tags = model_net_service_tags(ld->net);
    if (model_service_tag_is_topological(tag) || model_service_tags_lookup(tags, tag))
        return true;
    GPtrArray *names = g_ptr_array_new();
    g_ptr_array_add(names, "VirtualNetwork");
    g_ptr_array_add(names, "Internet");
    model_service_tags_foreach(tags, collect_tag, names);
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "unknown service tag '%s'", tag);
    scn_append_suggestion(msg, tag, (const char *const *)names->pdata, names->len);
    scn_fail(error, SCN_ERROR_REFERENCE, &node->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    g_ptr_array_free(names, TRUE);
    return false;
}

/* The ASG a reference names: az prints {id: ".../applicationSecurityGroups/NAME"}; a bare
 * name or {name: NAME} is accepted too. */
const char *scn_asg_ref_name(const ScnNode *ref, GError **error)
{
    if (ref->kind == SCN_NODE_SCALAR) {
        const char *t = NULL;
        return scn_node_string(ref, "applicationSecurityGroups", &t, error) ? t : NULL;
    }
    if (!scn_check_keys(ref, "application security group reference", asg_ref_keys,
                        G_N_ELEMENTS(asg_ref_keys), error))
        return NULL;
    const char *id = NULL, *name = NULL;
    if (!scn_opt_string(ref, "id", &id, error) || !scn_opt_string(ref, "name", &name, error))
        return NULL;
    if (id) {
        static const char marker[] = "/applicationsecuritygroups/";
        g_autofree char *lower = g_ascii_strdown(id, -1);
        const char *at = strstr(lower, marker);
        const char *last = at ? id + (at - lower) + sizeof marker - 1 : NULL;
        if (!last || !*last || strchr(last, '/')) {
            scn_fail(error, SCN_ERROR_VALUE, &scn_get(ref, "id")->mark,
                     "'id' \"%s\" does not end in /applicationSecurityGroups/NAME", id);
            return NULL;
        }
        return last;
    }
    if (name)
        return name;
    scn_fail(error, SCN_ERROR_SCHEMA, &ref->mark,
             "an application security group reference needs 'id' (or 'name')");
    return NULL;
}

static void note_asg_use(ScnLoad *ld, const char *name, const ScnNode *node)
{
    if (g_hash_table_contains(ld->asg_uses, name))
        return;
    char *key = g_strdup(name);
    g_ptr_array_add(ld->asg_use_order, key);
    g_hash_table_insert(ld->asg_uses, key, (gpointer)node);
}

static const char *const side_word[2] = {"source", "destination"};

/* One side of a rule: its addresses (or ASGs) and its ports, singular or plural keys. */
static bool load_side(ScnLoad *ld, const ScnNode *r, const char *rule_name, ModelNsgRule *rule,
                      ModelNsgSide side, GError **error)
{
    const char *w = side_word[side];
    g_autofree char *k_addr = g_strdup_printf("%sAddressPrefix", w);
    g_autofree char *k_addrs = g_strdup_printf("%sAddressPrefixes", w);
    g_autofree char *k_asgs = g_strdup_printf("%sApplicationSecurityGroups", w);
    g_autofree char *k_port = g_strdup_printf("%sPortRange", w);
    g_autofree char *k_ports = g_strdup_printf("%sPortRanges", w);
    const ScnNode *addr = scn_get(r, k_addr), *addrs, *asgs, *port = scn_get(r, k_port), *ports;
    if (!scn_opt_list(r, k_addrs, &addrs, error) || !scn_opt_list(r, k_asgs, &asgs, error) ||
        !scn_opt_list(r, k_ports, &ports, error))
        return false;
    if ((addr != NULL) + (addrs != NULL) + (asgs != NULL) > 1)
        return scn_fail(error, SCN_ERROR_SCHEMA, &(addrs ? addrs : asgs)->mark,
                        "security rule '%s' gives more than one of '%s', '%s' and '%s': Azure "
                        "takes one",
                        rule_name, k_addr, k_addrs, k_asgs);
    if (!addr && !addrs && !asgs)
        return scn_fail(error, SCN_ERROR_SCHEMA, &r->mark,
                        "security rule '%s' needs '%s' (or '%s', '%s')", rule_name, k_addr, k_addrs,
                        k_asgs);
    if (port && ports)
        return scn_fail(error, SCN_ERROR_SCHEMA, &ports->mark,
                        "security rule '%s' gives both '%s' and '%s': Azure takes one", rule_name,
                        k_port, k_ports);
    if (!port && !ports)
        return scn_fail(error, SCN_ERROR_SCHEMA, &r->mark,
                        "security rule '%s' needs '%s' (or '%s')", rule_name, k_port, k_ports);

    const ScnNode *single[1];
    const ScnNode *const *items = single;
    size_t n = 1;
    if (addr)
        single[0] = addr;
    else if (addrs)
        items = (const ScnNode *const *)addrs->items->pdata, n = addrs->items->len;
    for (size_t i = 0; (addr || addrs) && i < n; i++) {
        const char *text = NULL;
        GError *cause = NULL;
        if (!scn_node_string(items[i], addr ? k_addr : k_addrs, &text, error))
            return false;
        if (!model_nsg_rule_add_address(rule, side, text, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &items[i]->mark);
        const ModelNsgAddr *a = &rule->addrs[side][rule->n_addrs[side] - 1];
        if (a->kind == MODEL_NSG_ADDR_TAG && !scn_check_tag(ld, items[i], a->text, error))
            return false;
    }
    for (guint i = 0; asgs && i < asgs->items->len; i++) {
        const char *name = scn_asg_ref_name(SCN_ITEM(asgs, i), error);
        if (!name)
            return false;
        model_nsg_rule_add_asg(rule, side, name);
        note_asg_use(ld, name, SCN_ITEM(asgs, i));
    }
    if (port) {
        single[0] = port, items = single, n = 1;
    } else {
        items = (const ScnNode *const *)ports->items->pdata, n = ports->items->len;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = NULL;
        GError *cause = NULL;
        if (!scn_node_string(items[i], port ? k_port : k_ports, &text, error))
            return false;
        if (!model_nsg_rule_add_ports(rule, side, text, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &items[i]->mark);
    }
    return true;
}

/* Reads an enum field through the model's parser; its error is located at the value. */
typedef bool (*EnumParser)(const char *text, int *out, GError **error);

static bool parse_direction(const char *t, int *out, GError **e)
{
    ModelDirection v;
    bool ok = model_nsg_parse_direction(t, &v, e);
    *out = (int)v;
    return ok;
}

static bool parse_access(const char *t, int *out, GError **e)
{
    ModelAccess v;
    bool ok = model_nsg_parse_access(t, &v, e);
    *out = (int)v;
    return ok;
}

static bool parse_protocol(const char *t, int *out, GError **e)
{
    ModelNsgProtocol v;
    bool ok = model_nsg_parse_protocol(t, &v, e);
    *out = (int)v;
    return ok;
}

static bool req_enum(const ScnNode *map, const char *key, const char *what, EnumParser parse,
                     int *out, GError **error)
{
    const ScnNode *v = NULL;
    const char *text = NULL;
    GError *cause = NULL;
    if (!scn_req_node(map, key, what, &v, error) || !scn_node_string(v, key, &text, error))
        return false;
    if (!parse(text, out, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &v->mark);
    return true;
}

static bool load_rule(ScnLoad *ld, ModelNsg *nsg, GHashTable *rule_names, const ScnNode *r,
                      GError **error)
{
    if (!scn_check_keys(r, "security rule", rule_keys, G_N_ELEMENTS(rule_keys), error))
        return false;
    const ScnNode *name_node = scn_name_of(r, "security rule", error);
    if (!name_node)
        return false;
    const char *name = name_node->text;
    g_autofree char *what = g_strdup_printf("security rule '%s'", name);
    int64_t priority;
    int dir, access, proto;
    const char *description = NULL;
    if (!scn_req_int(r, "priority", what, INT32_MIN, INT32_MAX, &priority, error) ||
        !req_enum(r, "direction", what, parse_direction, &dir, error) ||
        !req_enum(r, "access", what, parse_access, &access, error) ||
        !req_enum(r, "protocol", what, parse_protocol, &proto, error) ||
        !scn_opt_string(r, "description", &description, error))
        return false;
    ModelNsgRule *rule = model_nsg_rule_new(name, (int)priority, (ModelDirection)dir,
                                            (ModelAccess)access, (ModelNsgProtocol)proto);
    /* The model names a clashing rule by its line; no setter exists, and the field is the
     * caller's to fill before the rule is added. */
    rule->line = r->mark.line;
    if (!load_side(ld, r, name, rule, MODEL_NSG_SRC, error) ||
        !load_side(ld, r, name, rule, MODEL_NSG_DST, error)) {
        model_nsg_rule_free(rule);
        return false;
    }
    GError *cause = NULL;
    g_autofree char *folded = g_ascii_strdown(name, -1);
    if (!model_nsg_add_rule(nsg, rule, &cause)) {
        const ScnNode *at = r;
        if (cause->code == MODEL_NSG_ERROR_RANGE)
            at = scn_get(r, "priority");
        else if (cause->code == MODEL_NSG_ERROR_CONFLICT)
            at = g_hash_table_contains(rule_names, folded) ? name_node : scn_get(r, "priority");
        else if (cause->code == MODEL_NSG_ERROR_INVALID || cause->code == MODEL_NSG_ERROR_LIMIT)
            at = strstr(cause->message, "name") ? name_node : r;
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    }
    g_hash_table_add(rule_names, g_steal_pointer(&folded));
    return true;
}

static bool load_nsg(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "network security group", nsg_keys, G_N_ELEMENTS(nsg_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "network security group", error);
    if (!name || !scn_check_name(name, "network security group", error))
        return false;
    GError *cause = NULL;
    if (scn_names_find(&ld->nsgs, name->text))
        return scn_names_add(&ld->nsgs, name->text, name, NULL, error);
    ModelNsg *nsg = model_net_add_nsg(ld->net, name->text, &cause);
    if (!nsg)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    if (!scn_names_add(&ld->nsgs, name->text, name, nsg, error))
        return false;
    const ScnNode *rules = scn_get(m, "securityRules");
    if (!rules)
        return true;
    rules = list_or_file(ld, rules, "securityRules", error);
    if (!rules)
        return false;
    if (scn_is_null(rules))
        return true;
    GHashTable *rule_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bool ok = true;
    for (guint i = 0; ok && i < rules->items->len; i++)
        ok = load_rule(ld, nsg, rule_names, SCN_ITEM(rules, i), error);
    g_hash_table_destroy(rule_names);
    return ok;
}

bool scn_load_nsgs(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "networkSecurityGroups", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_nsg(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

/* ---- route tables ---- */

static const ScnKey table_keys[] = {
    SCN_F("name"),     SCN_F("disableBgpRoutePropagation"),
    SCN_F("routes"),   SCN_AZ_BOOKKEEPING,
    SCN_I("location"), SCN_I("resourceGuid"),
    SCN_I("tags"),
};

static const ScnKey route_keys[] = {
    SCN_F("name"),      SCN_F("addressPrefix"),  SCN_F("nextHopType"), SCN_F("nextHopIpAddress"),
    SCN_AZ_BOOKKEEPING, SCN_I("hasBgpOverride"),
};

static bool resolve_route_tag(void *ctx, const char *tag, const ModelPrefix **prefixes, size_t *n)
{
    const ModelPrefixSet *set = model_service_tags_lookup(ctx, tag);
    if (!set)
        return false;
    *prefixes = set->items;
    *n = set->len;
    return true;
}

static bool load_route(ScnLoad *ld, ModelRouteTable *table, GHashTable *route_names,
                       const ScnNode *r, GError **error)
{
    if (!scn_check_keys(r, "route", route_keys, G_N_ELEMENTS(route_keys), error))
        return false;
    const ScnNode *name = scn_name_of(r, "route", error);
    if (!name)
        return false;
    g_autofree char *what = g_strdup_printf("route '%s'", name->text);
    const char *prefix, *hop, *hop_ip = NULL;
    if (!scn_req_string(r, "addressPrefix", what, &prefix, error) ||
        !scn_req_string(r, "nextHopType", what, &hop, error) ||
        !scn_opt_string(r, "nextHopIpAddress", &hop_ip, error))
        return false;
    const ScnNode *prefix_node = scn_get(r, "addressPrefix");
    if (g_ascii_isdigit(prefix[0])) {
        /* CIDR: the status text says what is wrong with it. */
        ModelPrefix p;
        if (!scn_node_prefix(prefix_node, "addressPrefix", &p, error))
            return false;
    } else if (!model_service_tag_is_topological(prefix) &&
               !scn_check_tag(ld, prefix_node, prefix, error)) {
        return false;
    }
    GError *cause = NULL;
    g_autofree char *folded = g_ascii_strdown(name->text, -1);
    if (!model_route_table_add(table, name->text, prefix, hop, hop_ip, r->mark.line,
                               resolve_route_tag, (void *)model_net_service_tags(ld->net),
                               &cause)) {
        const ScnNode *at = r;
        switch (cause->code) {
        case MODEL_ROUTE_ERROR_PREFIX:
        case MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED:
            at = prefix_node;
            break;
        case MODEL_ROUTE_ERROR_NEXT_HOP_TYPE:
            at = scn_get(r, "nextHopType");
            break;
        case MODEL_ROUTE_ERROR_NEXT_HOP_IP:
            at = scn_get(r, "nextHopIpAddress") ? scn_get(r, "nextHopIpAddress") : r;
            break;
        case MODEL_ROUTE_ERROR_DUPLICATE:
            at = g_hash_table_contains(route_names, folded) ? name : prefix_node;
            break;
        default:
            break;
        }
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    }
    g_hash_table_add(route_names, g_steal_pointer(&folded));
    return true;
}

static bool load_route_table(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "route table", table_keys, G_N_ELEMENTS(table_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "route table", error);
    bool disable = false;
    if (!name || !scn_check_name(name, "route table", error) ||
        !scn_opt_bool(m, "disableBgpRoutePropagation", &disable, error))
        return false;
    if (scn_names_find(&ld->route_tables, name->text))
        return scn_names_add(&ld->route_tables, name->text, name, NULL, error);
    GError *cause = NULL;
    ModelRouteTable *table = model_net_add_route_table(ld->net, name->text, &cause);
    if (!table)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    /* No setter in net.h; the field is public in route.h. */
    table->disable_bgp_route_propagation = disable;
    if (!scn_names_add(&ld->route_tables, name->text, name, table, error))
        return false;
    const ScnNode *routes = scn_get(m, "routes");
    if (!routes)
        return true;
    routes = list_or_file(ld, routes, "routes", error);
    if (!routes)
        return false;
    if (scn_is_null(routes))
        return true;
    GHashTable *route_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    bool ok = true;
    for (guint i = 0; ok && i < routes->items->len; i++)
        ok = load_route(ld, table, route_names, SCN_ITEM(routes, i), error);
    g_hash_table_destroy(route_names);
    return ok;
}

bool scn_load_route_tables(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "routeTables", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_route_table(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}
