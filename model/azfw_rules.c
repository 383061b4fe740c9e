/*
 * azfw_rules.c — Azure Firewall policy: rule collection groups, collections, network and
 * application rules as the user writes them, and the matching that finds the rule
 * deciding a connection.
 *
 * Processing order (azdocs:articles/firewall/rule-processing.md, policy-rule-sets.md):
 * "network rules are applied in priority order before application rules. The rules are
 * terminating." Within one rule type the firewall walks the rule collection groups by
 * priority (100 first, 65000 last), inside each group its collections of that type by
 * priority, and the rules of a collection in order; the first match decides, with the
 * collection's action. Equal priorities keep creation order (the docs do not say; this
 * keeps runs deterministic).
 *
 * Addresses are resolved when a rule is added: IP groups (which must exist by then) and
 * service tags become prefix sets, so matching is a few binary searches per rule.
 * Service tags are taken with their exact spelling: Azure Firewall does not fold case and
 * reads an unknown name as an IP group (Azure/azure-cli-extensions#2922), so a near miss
 * is refused here with the right spelling rather than silently matching nothing.
 */
#include "model/net_internal.h"

#include <string.h>

#define AZFW_ERROR        (g_quark_from_static_string("model-azfw"))
#define AZFW_PRIORITY_MIN 100
#define AZFW_PRIORITY_MAX 65000
#define AZFW_NAME_MAX     80
#define AZFW_PORT_HTTP    80
#define AZFW_PORT_HTTPS   443
#define AZFW_PORT_MSSQL   1433

/* ---- names ---- */

/* rule-processing.md: "A rule collection name can have only letters, numbers,
 * underscores, periods, or hyphens. It must begin with a letter or number, and end with
 * a letter, number or underscore. The maximum name length is 80 characters." The same
 * shape is checked for groups and rules. */
static gboolean check_name(const char *what, const char *name, GError **error)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > AZFW_NAME_MAX) {
        g_set_error(error, AZFW_ERROR, 0, "%s name '%s' must be 1-%d characters", what,
                    name ? name : "", AZFW_NAME_MAX);
        return FALSE;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
            g_set_error(error, AZFW_ERROR, 0,
                        "%s name '%s': only letters, digits, '_', '.' and '-' are allowed", what,
                        name);
            return FALSE;
        }
    }
    if (!g_ascii_isalnum(name[0]) || !(g_ascii_isalnum(name[len - 1]) || name[len - 1] == '_')) {
        g_set_error(error, AZFW_ERROR, 0,
                    "%s name '%s' must begin with a letter or digit and end with a letter, "
                    "digit or '_'",
                    what, name);
        return FALSE;
    }
    return TRUE;
}

static gboolean check_priority(const char *what, const char *name, int priority, GError **error)
{
    if (priority < AZFW_PRIORITY_MIN || priority > AZFW_PRIORITY_MAX) {
        g_set_error(error, AZFW_ERROR, 0, "%s '%s': priority %d is outside %d-%d", what, name,
                    priority, AZFW_PRIORITY_MIN, AZFW_PRIORITY_MAX);
        return FALSE;
    }
    return TRUE;
}

/* ---- freeing ---- */

static void rule_free(gpointer p)
{
    ModelAzfwRule *r = p;
    g_free(r->name);
    g_free(r->object);
    model_prefix_set_clear(&r->src);
    model_prefix_set_clear(&r->dst);
    g_ptr_array_free(r->fqdns, TRUE);
    g_array_free(r->ports, TRUE);
    g_array_free(r->app_protocols, TRUE);
    g_free(r);
}

static void collection_free(gpointer p)
{
    ModelAzfwCollection *c = p;
    g_ptr_array_free(c->rules, TRUE);
    g_free(c->name);
    g_free(c);
}

void model__azfw_group_free(gpointer p)
{
    ModelAzfwGroup *g = p;
    g_ptr_array_free(g->collections, TRUE);
    g_free(g->name);
    g_free(g);
}

/* ---- groups and collections ---- */

/* Inserts keeping (priority, seq) order: the array is always in processing order. */
static void insert_sorted(GPtrArray *a, gpointer item, int priority, int (*prio_of)(gpointer))
{
    guint i = a->len;
    while (i > 0 && prio_of(g_ptr_array_index(a, i - 1)) > priority)
        i--;
    g_ptr_array_insert(a, (gint)i, item);
}

static int group_priority(gpointer p)
{
    return ((ModelAzfwGroup *)p)->priority;
}

static int collection_priority(gpointer p)
{
    return ((ModelAzfwCollection *)p)->priority;
}

ModelAzfwGroup *model_azfw_add_group(ModelAzfw *fw, const char *name, int priority, GError **error)
{
    if (!check_name("rule collection group", name, error) ||
        !check_priority("rule collection group", name, priority, error))
        return NULL;
    for (guint i = 0; i < fw->groups->len; i++) {
        ModelAzfwGroup *g = g_ptr_array_index(fw->groups, i);
        if (g_ascii_strcasecmp(g->name, name) == 0) {
            g_set_error(error, AZFW_ERROR, 0, "firewall '%s': rule collection group '%s' twice",
                        fw->name, name);
            return NULL;
        }
    }
    ModelAzfwGroup *g = g_new0(ModelAzfwGroup, 1);
    g->name = g_strdup(name);
    g->priority = priority;
    g->seq = fw->seq++;
    g->fw = fw;
    g->collections = g_ptr_array_new_with_free_func(collection_free);
    insert_sorted(fw->groups, g, priority, group_priority);
    return g;
}

ModelAzfwCollection *model_azfw_add_collection(ModelAzfwGroup *group, const char *name,
                                               int priority, ModelAzfwCollectionKind kind,
                                               ModelAccess action, GError **error)
{
    if (!check_name("rule collection", name, error) ||
        !check_priority("rule collection", name, priority, error))
        return NULL;
    ModelAzfw *fw = group->fw;
    for (guint i = 0; i < fw->groups->len; i++) {
        ModelAzfwGroup *g = g_ptr_array_index(fw->groups, i);
        for (guint k = 0; k < g->collections->len; k++) {
            ModelAzfwCollection *c = g_ptr_array_index(g->collections, k);
            if (g_ascii_strcasecmp(c->name, name) == 0) {
                g_set_error(error, AZFW_ERROR, 0, "firewall '%s': rule collection '%s' twice",
                            fw->name, name);
                return NULL;
            }
        }
    }
    ModelAzfwCollection *c = g_new0(ModelAzfwCollection, 1);
    c->name = g_strdup(name);
    c->priority = priority;
    c->seq = fw->seq++;
    c->kind = kind;
    c->action = action;
    c->group = group;
    c->rules = g_ptr_array_new_with_free_func(rule_free);
    insert_sorted(group->collections, c, priority, collection_priority);
    return c;
}

/* ---- addresses ---- */

/* Appends the smallest list of prefixes covering exactly [lo, hi]. */
static void add_range(ModelPrefixSet *set, uint32_t lo, uint32_t hi)
{
    uint64_t at = lo;
    while (at <= hi) {
        uint8_t len = 32;
        /* Grow the block while it stays aligned and inside the range. */
        while (len > 0) {
            uint64_t size = 1ull << (32 - (len - 1));
            if ((at & (size - 1)) != 0 || at + size - 1 > hi)
                break;
            len--;
        }
        model_prefix_set_add(set, (ModelPrefix){(uint32_t)at, len});
        at += 1ull << (32 - len);
    }
}

/* "*", an IP, a CIDR or a range "a-b"; false (no error set) when it is none of these. */
static bool parse_address(const char *text, ModelPrefixSet *out)
{
    if (strcmp(text, "*") == 0) {
        model_prefix_set_add(out, (ModelPrefix){0, 0});
        return true;
    }
    const char *dash = strchr(text, '-');
    if (dash) {
        g_autofree char *a = g_strndup(text, (gsize)(dash - text));
        uint32_t lo, hi;
        if (!model_ip_parse(g_strstrip(a), &lo) || !model_ip_parse(dash + 1, &hi) || lo > hi)
            return false;
        add_range(out, lo, hi);
        return true;
    }
    ModelPrefix p;
    if (model_prefix_parse(text, true, &p) != MODEL_PREFIX_OK)
        return false;
    model_prefix_set_add(out, p);
    return true;
}

static gboolean add_addresses(const char *rule, const char *const *items, ModelPrefixSet *out,
                              GError **error)
{
    for (size_t i = 0; items && items[i]; i++)
        if (!parse_address(items[i], out)) {
            g_set_error(error, AZFW_ERROR, 0, "rule '%s': '%s' is not an address, CIDR or range",
                        rule, items[i]);
            return FALSE;
        }
    return TRUE;
}

static gboolean add_ip_groups(const ModelAzfw *fw, const char *rule, const char *const *names,
                              ModelPrefixSet *out, GError **error)
{
    for (size_t i = 0; names && names[i]; i++) {
        const ModelPrefixSet *g = g_hash_table_lookup(fw->ip_groups, names[i]);
        if (!g) {
            g_set_error(error, AZFW_ERROR, 0, "rule '%s': no IP group '%s' on firewall '%s'", rule,
                        names[i], fw->name);
            return FALSE;
        }
        model_prefix_set_add_set(out, g);
    }
    return TRUE;
}

/* A destination that is not an address: a service tag, spelt as Microsoft publishes it. */
static gboolean add_destination(const ModelAzfw *fw, const char *rule, const char *text,
                                ModelPrefixSet *out, GError **error)
{
    if (parse_address(text, out))
        return TRUE;
    const ModelServiceTags *tags = model_net_service_tags(fw->net);
    const char *canonical = model_service_tags_canonical_name(tags, text);
    if (canonical && strcmp(canonical, text) == 0) {
        model_prefix_set_add_set(out, model_service_tags_lookup(tags, text));
        return TRUE;
    }
    if (canonical)
        g_set_error(error, AZFW_ERROR, 0,
                    "rule '%s': service tag '%s' must be spelt '%s' (Azure Firewall matches "
                    "tag names exactly)",
                    rule, text, canonical);
    else if (model_service_tag_is_topological(text))
        g_set_error(error, AZFW_ERROR, 0,
                    "rule '%s': '%s' is an NSG tag; name the address ranges instead", rule, text);
    else
        g_set_error(error, AZFW_ERROR, 0,
                    "rule '%s': '%s' is neither an address, CIDR, range nor a known service tag",
                    rule, text);
    return FALSE;
}

static bool valid_fqdn(const char *name, bool wildcard_ok)
{
    size_t len = strlen(name);
    if (len == 0 || len > 253)
        return false;
    if (wildcard_ok && strcmp(name, "*") == 0)
        return true;
    const char *body = wildcard_ok && g_str_has_prefix(name, "*.") ? name + 2 : name;
    for (const char *c = body; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.' && *c != '_')
            return false;
    return *body && body[0] != '.' && body[strlen(body) - 1] != '.';
}

/* ---- rules ---- */

static ModelAzfwRule *rule_new(ModelAzfwCollection *c, const char *name)
{
    ModelAzfwRule *r = g_new0(ModelAzfwRule, 1);
    r->name = g_strdup(name);
    r->object = g_strdup_printf("%s/%s/%s", c->group->fw->name, c->name, name);
    r->collection = c;
    model_prefix_set_init(&r->src);
    model_prefix_set_init(&r->dst);
    r->fqdns = g_ptr_array_new_with_free_func(g_free);
    r->ports = g_array_new(FALSE, FALSE, sizeof(ModelPortRange));
    r->app_protocols = g_array_new(FALSE, FALSE, sizeof(ModelAzfwAppProtocol));
    return r;
}

static gboolean rule_header(ModelAzfwCollection *c, const char *name, ModelAzfwCollectionKind kind,
                            GError **error)
{
    if (!check_name("rule", name, error))
        return FALSE;
    if (c->kind != kind) {
        /* "Rules in a rule collection must be of the same type" (rule-processing.md). */
        g_set_error(error, AZFW_ERROR, 0, "rule '%s': collection '%s' holds %s rules", name,
                    c->name, c->kind == MODEL_AZFW_NETWORK ? "network" : "application");
        return FALSE;
    }
    for (guint i = 0; i < c->rules->len; i++)
        if (g_ascii_strcasecmp(((ModelAzfwRule *)g_ptr_array_index(c->rules, i))->name, name) ==
            0) {
            g_set_error(error, AZFW_ERROR, 0, "rule '%s' twice in collection '%s'", name, c->name);
            return FALSE;
        }
    return TRUE;
}

static gboolean rule_sources(const ModelAzfw *fw, ModelAzfwRule *r, const char *const *addresses,
                             const char *const *groups, GError **error)
{
    if (!(addresses && addresses[0]) && !(groups && groups[0])) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs a source address or IP group", r->name);
        return FALSE;
    }
    if (!add_addresses(r->name, addresses, &r->src, error) ||
        !add_ip_groups(fw, r->name, groups, &r->src, error))
        return FALSE;
    model_prefix_set_normalize(&r->src);
    return TRUE;
}

static gboolean parse_ip_protocols(ModelAzfwRule *r, const char *const *items, GError **error)
{
    if (!(items && items[0])) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs a protocol", r->name);
        return FALSE;
    }
    for (size_t i = 0; items[i]; i++) {
        if (g_ascii_strcasecmp(items[i], "TCP") == 0)
            r->tcp = true;
        else if (g_ascii_strcasecmp(items[i], "UDP") == 0)
            r->udp = true;
        else if (g_ascii_strcasecmp(items[i], "ICMP") == 0)
            r->icmp = true;
        else if (g_ascii_strcasecmp(items[i], "Any") == 0)
            r->any_protocol = true;
        else {
            g_set_error(error, AZFW_ERROR, 0,
                        "rule '%s': protocol '%s' is none of TCP, UDP, ICMP, Any", r->name,
                        items[i]);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean model_azfw_add_network_rule(ModelAzfwCollection *c, const ModelAzfwNetworkRule *spec,
                                     GError **error)
{
    ModelAzfw *fw = c->group->fw;
    if (!rule_header(c, spec->name, MODEL_AZFW_NETWORK, error))
        return FALSE;
    ModelAzfwRule *r = rule_new(c, spec->name);
    gboolean ok = rule_sources(fw, r, spec->source_addresses, spec->source_ip_groups, error) &&
                  parse_ip_protocols(r, spec->ip_protocols, error);
    for (size_t i = 0; ok && spec->destination_addresses && spec->destination_addresses[i]; i++)
        ok = add_destination(fw, r->name, spec->destination_addresses[i], &r->dst, error);
    ok = ok && add_ip_groups(fw, r->name, spec->destination_ip_groups, &r->dst, error);
    for (size_t i = 0; ok && spec->destination_fqdns && spec->destination_fqdns[i]; i++) {
        const char *f = spec->destination_fqdns[i];
        if (!valid_fqdn(f, false)) {
            /* "By design, FQDN filtering in network rules doesn't support wildcards"
             * (fqdn-filtering-network-rules.md). */
            g_set_error(error, AZFW_ERROR, 0,
                        "rule '%s': '%s' is not an FQDN (network rules take no wildcards)", r->name,
                        f);
            ok = FALSE;
        } else if (!fw->dns_proxy) {
            g_set_error(error, AZFW_ERROR, 0,
                        "rule '%s': FQDN '%s' in a network rule needs the DNS proxy, which is "
                        "off on firewall '%s' (\"You must enable DNS Proxy to use FQDNs in your "
                        "network rules\")",
                        r->name, f, fw->name);
            ok = FALSE;
        } else {
            g_ptr_array_add(r->fqdns, g_ascii_strdown(f, -1));
        }
    }
    if (ok && r->dst.len == 0 && r->fqdns->len == 0) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs a destination", r->name);
        ok = FALSE;
    }
    for (size_t i = 0; ok && spec->destination_ports && spec->destination_ports[i]; i++)
        ok = model_nsg_parse_ports(spec->destination_ports[i], r->ports, error);
    if (ok && r->ports->len == 0) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs destination ports", r->name);
        ok = FALSE;
    }
    if (!ok) {
        g_prefix_error(error, "firewall '%s': ", fw->name);
        rule_free(r);
        return FALSE;
    }
    model_prefix_set_normalize(&r->dst);
    g_ptr_array_add(c->rules, r);
    return TRUE;
}

static gboolean parse_app_protocol(const char *rule, const char *text, ModelAzfwAppProtocol *out,
                                   GError **error)
{
    static const struct {
        const char *name;
        ModelAzfwAppKind kind;
        uint16_t port;
    } kinds[] = {
        {"Http", MODEL_AZFW_APP_HTTP, AZFW_PORT_HTTP},
        {"Https", MODEL_AZFW_APP_HTTPS, AZFW_PORT_HTTPS},
        {"Mssql", MODEL_AZFW_APP_MSSQL, AZFW_PORT_MSSQL},
    };
    const char *sep = strpbrk(text, ":=");
    g_autofree char *name = sep ? g_strndup(text, (gsize)(sep - text)) : g_strdup(text);
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (g_ascii_strcasecmp(name, kinds[i].name) != 0)
            continue;
        out->kind = kinds[i].kind;
        out->port = kinds[i].port;
        if (!sep)
            return TRUE;
        char *end = NULL;
        guint64 port = g_ascii_strtoull(sep + 1, &end, 10);
        if (end != sep + 1 && *end == '\0' && port >= 1 && port <= 65535) {
            out->port = (uint16_t)port;
            return TRUE;
        }
        break;
    }
    g_set_error(error, AZFW_ERROR, 0,
                "rule '%s': protocol '%s' is not Http, Https or Mssql with an optional :port", rule,
                text);
    return FALSE;
}

gboolean model_azfw_add_application_rule(ModelAzfwCollection *c,
                                         const ModelAzfwApplicationRule *spec, GError **error)
{
    ModelAzfw *fw = c->group->fw;
    if (!rule_header(c, spec->name, MODEL_AZFW_APPLICATION, error))
        return FALSE;
    ModelAzfwRule *r = rule_new(c, spec->name);
    gboolean ok = rule_sources(fw, r, spec->source_addresses, spec->source_ip_groups, error);
    for (size_t i = 0; ok && spec->protocols && spec->protocols[i]; i++) {
        ModelAzfwAppProtocol p;
        ok = parse_app_protocol(r->name, spec->protocols[i], &p, error);
        if (ok)
            g_array_append_val(r->app_protocols, p);
    }
    if (ok && r->app_protocols->len == 0) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs a protocol", r->name);
        ok = FALSE;
    }
    if (ok && spec->fqdn_tags && spec->fqdn_tags[0]) {
        g_set_error(error, AZFW_ERROR, 0,
                    "rule '%s': FQDN tag '%s' is not modelled (Microsoft does not publish the "
                    "FQDNs behind a tag); list the target FQDNs instead",
                    r->name, spec->fqdn_tags[0]);
        ok = FALSE;
    }
    for (size_t i = 0; ok && spec->target_fqdns && spec->target_fqdns[i]; i++) {
        const char *f = spec->target_fqdns[i];
        if (!valid_fqdn(f, true)) {
            g_set_error(error, AZFW_ERROR, 0,
                        "rule '%s': target FQDN '%s' is neither a name, '*.name' nor '*'", r->name,
                        f);
            ok = FALSE;
        } else {
            g_ptr_array_add(r->fqdns, g_ascii_strdown(f, -1));
        }
    }
    if (ok && r->fqdns->len == 0) {
        g_set_error(error, AZFW_ERROR, 0, "rule '%s' needs a target FQDN", r->name);
        ok = FALSE;
    }
    if (!ok) {
        g_prefix_error(error, "firewall '%s': ", fw->name);
        rule_free(r);
        return FALSE;
    }
    g_ptr_array_add(c->rules, r);
    return TRUE;
}

/* ---- matching ---- */

static bool port_in(const GArray *ports, uint16_t port)
{
    for (guint i = 0; i < ports->len; i++) {
        const ModelPortRange *p = &g_array_index(ports, ModelPortRange, i);
        if (port >= p->lo && port <= p->hi)
            return true;
    }
    return false;
}

static bool protocol_matches(const ModelAzfwRule *r, const ModelFlowKey *k)
{
    if (r->any_protocol)
        return true;
    switch (k->proto) {
    case MODEL_IPPROTO_TCP:
        return r->tcp;
    case MODEL_IPPROTO_UDP:
        return r->udp;
    case MODEL_IPPROTO_ICMP:
        return r->icmp;
    default:
        return false;
    }
}

static bool network_rule_matches(const ModelAzfwRule *r, const ModelFlowKey *k,
                                 ModelAzfwResolved resolved, void *ctx)
{
    if (!protocol_matches(r, k) || !model_prefix_set_contains(&r->src, k->src))
        return false;
    /* ICMP has no ports: its rules' port field is not consulted. */
    bool has_ports = k->proto == MODEL_IPPROTO_TCP || k->proto == MODEL_IPPROTO_UDP;
    if (has_ports && !port_in(r->ports, k->dport))
        return false;
    if (model_prefix_set_contains(&r->dst, k->dst))
        return true;
    for (guint i = 0; resolved && i < r->fqdns->len; i++)
        if (resolved(ctx, g_ptr_array_index(r->fqdns, i), k->dst))
            return true;
    return false;
}

const ModelAzfwRule *model__azfw_match_network(const ModelAzfw *fw, const ModelFlowKey *key,
                                               ModelAzfwResolved resolved, void *ctx)
{
    for (guint g = 0; g < fw->groups->len; g++) {
        const ModelAzfwGroup *group = g_ptr_array_index(fw->groups, g);
        for (guint c = 0; c < group->collections->len; c++) {
            const ModelAzfwCollection *col = g_ptr_array_index(group->collections, c);
            if (col->kind != MODEL_AZFW_NETWORK)
                continue;
            for (guint r = 0; r < col->rules->len; r++) {
                const ModelAzfwRule *rule = g_ptr_array_index(col->rules, r);
                if (network_rule_matches(rule, key, resolved, ctx))
                    return rule;
            }
        }
    }
    return NULL;
}

/* Application-rule target FQDNs (firewall-faq.md, "How do wildcards work in an
 * application rule target FQDN?"): "*.contoso.com" "allows anyvalue.contoso.com, but not
 * contoso.com (the domain apex)"; "*" allows everything. */
static bool fqdn_matches(const char *pattern, const char *name)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    if (g_str_has_prefix(pattern, "*.")) {
        size_t ln = strlen(name), ls = strlen(pattern + 1); /* ".contoso.com" */
        return ln > ls && g_ascii_strcasecmp(name + ln - ls, pattern + 1) == 0;
    }
    return g_ascii_strcasecmp(pattern, name) == 0;
}

static bool app_rule_matches(const ModelAzfwRule *r, uint32_t src, ModelAzfwAppKind kind,
                             uint16_t port, const char *fqdn)
{
    if (!model_prefix_set_contains(&r->src, src))
        return false;
    bool proto = false;
    for (guint i = 0; i < r->app_protocols->len && !proto; i++) {
        const ModelAzfwAppProtocol *p = &g_array_index(r->app_protocols, ModelAzfwAppProtocol, i);
        proto = p->kind == kind && p->port == port;
    }
    if (!proto || !fqdn || !*fqdn)
        return false;
    for (guint i = 0; i < r->fqdns->len; i++)
        if (fqdn_matches(g_ptr_array_index(r->fqdns, i), fqdn))
            return true;
    return false;
}

const ModelAzfwRule *model__azfw_match_application(const ModelAzfw *fw, uint32_t src,
                                                   ModelAzfwAppKind kind, uint16_t port,
                                                   const char *fqdn)
{
    for (guint g = 0; g < fw->groups->len; g++) {
        const ModelAzfwGroup *group = g_ptr_array_index(fw->groups, g);
        for (guint c = 0; c < group->collections->len; c++) {
            const ModelAzfwCollection *col = g_ptr_array_index(group->collections, c);
            if (col->kind != MODEL_AZFW_APPLICATION)
                continue;
            for (guint r = 0; r < col->rules->len; r++) {
                const ModelAzfwRule *rule = g_ptr_array_index(col->rules, r);
                if (app_rule_matches(rule, src, kind, port, fqdn))
                    return rule;
            }
        }
    }
    return NULL;
}

bool model__azfw_proxy_port(const ModelAzfw *fw, uint16_t port)
{
    if (port == AZFW_PORT_HTTP || port == AZFW_PORT_HTTPS)
        return true;
    for (guint g = 0; g < fw->groups->len; g++) {
        const ModelAzfwGroup *group = g_ptr_array_index(fw->groups, g);
        for (guint c = 0; c < group->collections->len; c++) {
            const ModelAzfwCollection *col = g_ptr_array_index(group->collections, c);
            for (guint r = 0; col->kind == MODEL_AZFW_APPLICATION && r < col->rules->len; r++) {
                const ModelAzfwRule *rule = g_ptr_array_index(col->rules, r);
                for (guint i = 0; i < rule->app_protocols->len; i++)
                    if (g_array_index(rule->app_protocols, ModelAzfwAppProtocol, i).port == port)
                        return true;
            }
        }
    }
    return false;
}

/* ---- IP groups, SNAT private ranges ---- */

gboolean model_azfw_add_ip_group(ModelAzfw *fw, const char *name, const char *const *addresses,
                                 size_t n, GError **error)
{
    if (!check_name("IP group", name, error))
        return FALSE;
    if (g_hash_table_contains(fw->ip_groups, name)) {
        g_set_error(error, AZFW_ERROR, 0, "firewall '%s': IP group '%s' twice", fw->name, name);
        return FALSE;
    }
    ModelPrefixSet *set = g_new0(ModelPrefixSet, 1);
    model_prefix_set_init(set);
    for (size_t i = 0; i < n; i++)
        if (!parse_address(addresses[i], set)) {
            g_set_error(error, AZFW_ERROR, 0,
                        "IP group '%s': '%s' is not an address, CIDR or range", name, addresses[i]);
            model_prefix_set_clear(set);
            g_free(set);
            return FALSE;
        }
    model_prefix_set_normalize(set);
    g_hash_table_insert(fw->ip_groups, g_strdup(name), set);
    return TRUE;
}

/* IANAPrivateRanges: "IANA RFC 1918 or shared address space per IANA RFC 6598"
 * (snat-private-range.md) — the space model_ip_is_private knows. */
static void add_iana_private(ModelPrefixSet *s)
{
    static const ModelPrefix iana[] = {
        {MODEL_IP4(10, 0, 0, 0), 8},
        {MODEL_IP4(172, 16, 0, 0), 12},
        {MODEL_IP4(192, 168, 0, 0), 16},
        {MODEL_IP4(100, 64, 0, 0), 10},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(iana); i++)
        model_prefix_set_add(s, iana[i]);
}

void model__azfw_default_snat_ranges(ModelAzfw *fw)
{
    model_prefix_set_clear(&fw->snat_private);
    add_iana_private(&fw->snat_private);
    model_prefix_set_normalize(&fw->snat_private);
}

gboolean model_azfw_set_snat_private_ranges(ModelAzfw *fw, const char *const *ranges, size_t n,
                                            GError **error)
{
    ModelPrefixSet set;
    model_prefix_set_init(&set);
    for (size_t i = 0; i < n; i++) {
        if (g_ascii_strcasecmp(ranges[i], "IANAPrivateRanges") == 0) {
            add_iana_private(&set);
            continue;
        }
        ModelPrefix p;
        /* "255.255.255.255/32" means "always SNAT": it is a range like any other here,
         * and one no destination falls in. */
        if (model_prefix_parse(ranges[i], false, &p) != MODEL_PREFIX_OK) {
            g_set_error(error, AZFW_ERROR, 0,
                        "firewall '%s': SNAT private range '%s' is not IANAPrivateRanges, an IP "
                        "or a CIDR",
                        fw->name, ranges[i]);
            model_prefix_set_clear(&set);
            return FALSE;
        }
        model_prefix_set_add(&set, p);
    }
    model_prefix_set_normalize(&set);
    model_prefix_set_clear(&fw->snat_private);
    fw->snat_private = set;
    return TRUE;
}
