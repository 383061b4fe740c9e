/*
 * scn_load.c — the scenario loader's driver: the table of top-level sections, the order
 * they are loaded in, and the checked accessors every section loader uses.
 *
 * Sections are a table: a key, the phase it loads in, and its loader. A phase exists
 * because references go one way — subnets name NSGs and route tables, hosts name subnets,
 * flows name hosts — so a file may list its sections in any order. A section planned but
 * not written yet has a NULL loader and is refused with "'dns' is not supported yet"
 * (SCN_ERROR_UNSUPPORTED); giving it a loader is all it takes to plug it in. The same key
 * may appear twice when a section needs two passes (vnets: address spaces and subnets
 * first, peerings once every VNet exists; dns: servers with the hosts, zones once VNets and
 * private endpoints exist). Azure DNS is added after the hosts whether or not the file has
 * a dns section: every VNet has it.
 */
#include "model/scn_internal.h"

#include <string.h>

G_DEFINE_QUARK(scn - error - quark, scn_error)

/* ---- errors ---- */

static GError *new_error(ScnErrorCode code, const ScnMark *mark, const char *msg)
{
    if (!mark)
        return g_error_new_literal(SCN_ERROR, code, msg);
    return g_error_new(SCN_ERROR, code, "%s:%d:%d: %s", mark->file, mark->line, mark->col, msg);
}

bool scn_fail(GError **error, ScnErrorCode code, const ScnMark *mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_propagate_error(error, new_error(code, mark, msg));
    g_free(msg);
    return false;
}

bool scn_fail_prefix(GError **error, GError *cause, ScnErrorCode code, const ScnMark *mark)
{
    g_propagate_error(error, new_error(code, mark, cause ? cause->message : "failed"));
    if (cause)
        g_error_free(cause);
    return false;
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), ASCII case
 * folded: "adressPrefix" -> "addressPrefix" is 1, "AddressPrefix" is 0. */
static size_t osa_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 256 || m > 256) /* names are short; long input is no typo of them */
        return SIZE_MAX;
    size_t *d = g_new(size_t, (n + 1) * (m + 1));
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (size_t i = 0; i <= n; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= m; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            char ca = g_ascii_tolower(a[i - 1]), cb = g_ascii_tolower(b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            size_t best = MIN(D(i - 1, j) + 1, D(i, j - 1) + 1);
            best = MIN(best, D(i - 1, j - 1) + cost);
            if (i > 1 && j > 1 && ca == g_ascii_tolower(b[j - 2]) &&
                g_ascii_tolower(a[i - 2]) == cb)
                best = MIN(best, D(i - 2, j - 2) + 1);
            D(i, j) = best;
        }
    }
    size_t result = D(n, m);
#undef D
    g_free(d);
    return result;
}

const char *scn_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len <= 2 ? 0 : len <= 4 ? 1 : len <= 8 ? 2 : len / 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = osa_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

void scn_append_suggestion(GString *out, const char *word, const char *const *candidates, size_t n)
{
    const char *s = scn_suggest(word, candidates, n);
    if (s)
        g_string_append_printf(out, " (did you mean '%s'?)", s);
}

/* ---- name registries ---- */

void scn_names_init(ScnNames *names, const char *what)
{
    names->what = what;
    names->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    names->names = g_ptr_array_new_with_free_func(g_free);
}

void scn_names_clear(ScnNames *names)
{
    if (names->by_name)
        g_hash_table_destroy(names->by_name);
    if (names->names)
        g_ptr_array_free(names->names, TRUE);
    names->by_name = NULL;
    names->names = NULL;
}

bool scn_names_add(ScnNames *names, const char *name, const ScnNode *node, void *object,
                   GError **error)
{
    const ScnDef *first = g_hash_table_lookup(names->by_name, name);
    if (first) {
        if (first->node->mark.file == node->mark.file)
            return scn_fail(error, SCN_ERROR_REFERENCE, &node->mark,
                            "%s '%s' is defined twice (first at line %d)", names->what, name,
                            first->node->mark.line);
        return scn_fail(error, SCN_ERROR_REFERENCE, &node->mark,
                        "%s '%s' is defined twice (first at %s:%d)", names->what, name,
                        first->node->mark.file, first->node->mark.line);
    }
    ScnDef *def = g_new(ScnDef, 1);
    def->object = object;
    def->node = node;
    char *key = g_strdup(name);
    g_hash_table_insert(names->by_name, key, def);
    g_ptr_array_add(names->names, key);
    return true;
}

const ScnDef *scn_names_find(const ScnNames *names, const char *name)
{
    return g_hash_table_lookup(names->by_name, name);
}

void *scn_names_resolve(const ScnNames *names, const ScnNode *ref, GError **error)
{
    const ScnDef *def = scn_names_find(names, ref->text);
    if (def)
        return def->object;
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "%s '%s' is not defined", names->what, ref->text);
    if (names->names->len == 0)
        g_string_append_printf(msg, " (the scenario defines no %s)", names->what);
    else
        scn_append_suggestion(msg, ref->text, (const char *const *)names->names->pdata,
                              names->names->len);
    scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    return NULL;
}

/* ---- keys and values ---- */

static const char *kind_name(const ScnNode *n)
{
    if (n->kind == SCN_NODE_SEQ)
        return "a list";
    if (n->kind == SCN_NODE_MAP)
        return "a mapping";
    return "a value";
}

bool scn_is_null(const ScnNode *node)
{
    if (!node)
        return true;
    if (node->kind != SCN_NODE_SCALAR || !node->plain)
        return false;
    const char *t = node->text;
    return !*t || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 || strcmp(t, "Null") == 0 ||
           strcmp(t, "NULL") == 0;
}

bool scn_check_keys(const ScnNode *map, const char *what, const ScnKey *keys, size_t n,
                    GError **error)
{
    if (map->kind != SCN_NODE_MAP)
        return scn_fail(error, SCN_ERROR_SCHEMA, &map->mark, "%s must be a mapping, not %s", what,
                        kind_name(map));
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        const ScnNode *key = g_ptr_array_index(map->items, i);
        const ScnKey *found = NULL;
        for (size_t k = 0; k < n && !found; k++)
            if (strcmp(keys[k].key, key->text) == 0)
                found = &keys[k];
        if (found && found->kind == SCN_KEY_LATER)
            return scn_fail(error, SCN_ERROR_UNSUPPORTED, &key->mark, "'%s' is not supported yet",
                            key->text);
        if (found)
            continue;
        const char **fields = g_new(const char *, n);
        size_t n_fields = 0;
        for (size_t k = 0; k < n; k++)
            if (keys[k].kind == SCN_KEY_FIELD)
                fields[n_fields++] = keys[k].key;
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg, "unknown key '%s' in %s", key->text, what);
        const char *s = scn_suggest(key->text, fields, n_fields);
        if (s) {
            g_string_append_printf(msg, " (did you mean '%s'?)", s);
        } else {
            g_string_append(msg, " (expected one of: ");
            for (size_t k = 0; k < n_fields; k++)
                g_string_append_printf(msg, "%s%s", k ? ", " : "", fields[k]);
            g_string_append(msg, ")");
        }
        scn_fail(error, SCN_ERROR_SCHEMA, &key->mark, "%s", msg->str);
        g_string_free(msg, TRUE);
        g_free(fields);
        return false;
    }
    return true;
}

const ScnNode *scn_get_key(const ScnNode *map, const char *key)
{
    if (!map || map->kind != SCN_NODE_MAP)
        return NULL;
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        const ScnNode *k = g_ptr_array_index(map->items, i);
        if (strcmp(k->text, key) == 0)
            return k;
    }
    return NULL;
}

const ScnNode *scn_get(const ScnNode *map, const char *key)
{
    if (!map || map->kind != SCN_NODE_MAP)
        return NULL;
    for (guint i = 0; i + 1 < map->items->len; i += 2) {
        const ScnNode *k = g_ptr_array_index(map->items, i);
        if (strcmp(k->text, key) == 0) {
            const ScnNode *v = g_ptr_array_index(map->items, i + 1);
            return scn_is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

bool scn_pick(const ScnNode *v, const char *key, const char *const *names, size_t n, size_t *out,
              GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(v, key, &t, error))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (g_ascii_strcasecmp(t, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'%s': unknown value '%s'", key, t);
    const char *s = scn_suggest(t, names, n);
    if (s) {
        g_string_append_printf(msg, " (did you mean '%s'?)", s);
    } else {
        g_string_append(msg, " (expected ");
        for (size_t i = 0; i < n; i++)
            g_string_append_printf(msg, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
        g_string_append(msg, ")");
    }
    scn_fail(error, SCN_ERROR_VALUE, &v->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    return false;
}

bool scn_node_string(const ScnNode *node, const char *key, const char **out, GError **error)
{
    if (node->kind != SCN_NODE_SCALAR)
        return scn_fail(error, SCN_ERROR_SCHEMA, &node->mark, "'%s' must be a single value, not %s",
                        key, kind_name(node));
    if (scn_is_null(node))
        return scn_fail(error, SCN_ERROR_SCHEMA, &node->mark, "'%s' must not be empty", key);
    *out = node->text;
    return true;
}

bool scn_req_node(const ScnNode *map, const char *key, const char *what, const ScnNode **out,
                  GError **error)
{
    const ScnNode *v = scn_get(map, key);
    if (!v)
        return scn_fail(error, SCN_ERROR_SCHEMA, &map->mark, "%s needs '%s'", what, key);
    *out = v;
    return true;
}

bool scn_req_string(const ScnNode *map, const char *key, const char *what, const char **out,
                    GError **error)
{
    const ScnNode *v = NULL;
    return scn_req_node(map, key, what, &v, error) && scn_node_string(v, key, out, error);
}

bool scn_opt_string(const ScnNode *map, const char *key, const char **out, GError **error)
{
    const ScnNode *v = scn_get(map, key);
    return !v || scn_node_string(v, key, out, error);
}

bool scn_opt_bool(const ScnNode *map, const char *key, bool *out, GError **error)
{
    const ScnNode *v = scn_get(map, key);
    if (!v)
        return true;
    if (v->kind == SCN_NODE_SCALAR && v->plain) {
        static const char *const yes[] = {"true", "True", "TRUE"};
        static const char *const no[] = {"false", "False", "FALSE"};
        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
            if (strcmp(v->text, yes[i]) == 0) {
                *out = true;
                return true;
            }
            if (strcmp(v->text, no[i]) == 0) {
                *out = false;
                return true;
            }
        }
    }
    if (v->kind != SCN_NODE_SCALAR)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark, "'%s' must be true or false, not %s",
                        key, kind_name(v));
    return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark, "'%s' must be true or false, not \"%s\"",
                    key, v->text);
}

static bool node_int(const ScnNode *v, const char *key, int64_t lo, int64_t hi, int64_t *out,
                     GError **error)
{
    if (v->kind != SCN_NODE_SCALAR)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark, "'%s' must be an integer, not %s", key,
                        kind_name(v));
    const char *t = v->text;
    bool digits = *t != '\0';
    for (const char *c = (*t == '-' || *t == '+') ? t + 1 : t; *c; c++)
        digits = digits && g_ascii_isdigit(*c);
    if (*t == '-' || *t == '+')
        digits = digits && t[1] != '\0';
    if (!v->plain || !digits)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark, "'%s' must be an integer, not \"%s\"",
                        key, t);
    gint64 value;
    if (!g_ascii_string_to_signed(t, 10, lo, hi, &value, NULL))
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                        "'%s' is %s, outside %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT, key, t, lo,
                        hi);
    *out = value;
    return true;
}

bool scn_req_int(const ScnNode *map, const char *key, const char *what, int64_t lo, int64_t hi,
                 int64_t *out, GError **error)
{
    const ScnNode *v = NULL;
    return scn_req_node(map, key, what, &v, error) && node_int(v, key, lo, hi, out, error);
}

bool scn_opt_int(const ScnNode *map, const char *key, int64_t lo, int64_t hi, int64_t *out,
                 GError **error)
{
    const ScnNode *v = scn_get(map, key);
    return !v || node_int(v, key, lo, hi, out, error);
}

bool scn_check_list(const ScnNode *list, const char *key, GError **error)
{
    if (list->kind != SCN_NODE_SEQ)
        return scn_fail(error, SCN_ERROR_SCHEMA, &list->mark, "'%s' must be a list, not %s", key,
                        kind_name(list));
    return true;
}

const ScnNode *scn_name_of(const ScnNode *map, const char *what, GError **error)
{
    const ScnNode *n = NULL;
    const char *text = NULL;
    if (!scn_req_node(map, "name", what, &n, error) || !scn_node_string(n, "name", &text, error))
        return NULL;
    return n;
}

bool scn_opt_list(const ScnNode *map, const char *key, const ScnNode **out, GError **error)
{
    const ScnNode *v = scn_get(map, key);
    *out = NULL;
    if (!v)
        return true;
    if (v->kind != SCN_NODE_SEQ)
        return scn_fail(error, SCN_ERROR_SCHEMA, &v->mark, "'%s' must be a list, not %s", key,
                        kind_name(v));
    if (v->items->len)
        *out = v;
    return true;
}

bool scn_check_name(const ScnNode *node, const char *what, GError **error)
{
    const char *t = node->text;
    size_t len = strlen(t);
    bool ok = len >= 1 && len <= 80 && (g_ascii_isalnum(t[0]) || t[0] == '_');
    for (size_t i = 0; ok && i < len; i++)
        ok = g_ascii_isalnum(t[i]) || t[i] == '_' || t[i] == '-' || t[i] == '.';
    if (ok)
        return true;
    return scn_fail(error, SCN_ERROR_VALUE, &node->mark,
                    "%s name \"%s\" is not valid: use 1-80 letters, digits, '_', '-' and '.', "
                    "starting with a letter, digit or '_'",
                    what, t);
}

bool scn_node_ip(const ScnNode *node, const char *key, uint32_t *out, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(node, key, &t, error))
        return false;
    if (!model_ip_parse(t, out))
        return scn_fail(error, SCN_ERROR_VALUE, &node->mark,
                        "'%s': \"%s\" is not an IPv4 address such as 10.0.1.4", key, t);
    return true;
}

bool scn_node_prefix(const ScnNode *node, const char *key, ModelPrefix *out, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(node, key, &t, error))
        return false;
    ModelPrefixStatus st = model_prefix_parse(t, false, out);
    if (st != MODEL_PREFIX_OK)
        return scn_fail(error, SCN_ERROR_VALUE, &node->mark, "'%s': \"%s\": %s", key, t,
                        model_prefix_status_text(st));
    return true;
}

/* ---- the META sections: what the scenario is, before the net exists ---- */

static bool load_name(ScnLoad *ld, const ScnNode *v, GError **error)
{
    const char *name = NULL;
    if (!scn_node_string(v, "scenario", &name, error) || !scn_check_name(v, "scenario", error))
        return false;
    ld->scn->name = g_strdup(name);
    return true;
}

static bool load_description(ScnLoad *ld, const ScnNode *v, GError **error)
{
    const char *text = NULL;
    if (!scn_node_string(v, "description", &text, error))
        return false;
    ld->scn->description = g_strdup(text);
    return true;
}

static bool load_region(ScnLoad *ld, const ScnNode *v, GError **error)
{
    const char *region = NULL;
    if (!scn_node_string(v, "region", &region, error))
        return false;
    ld->region_node = v;
    g_free(ld->scn->region);
    ld->scn->region = g_ascii_strdown(region, -1);
    return true;
}

/* A published "Azure IP Ranges and Service Tags" file replacing the built-in excerpt's
 * definitions of the tags it names. */
static bool load_service_tags(ScnLoad *ld, const ScnNode *v, GError **error)
{
    const char *path = NULL;
    if (!scn_node_string(v, "serviceTags", &path, error))
        return false;
    g_autofree char *dir = g_path_get_dirname(v->mark.file);
    g_autofree char *full = g_path_is_absolute(path) || strcmp(dir, ".") == 0
                                ? g_strdup(path)
                                : g_build_filename(dir, path, NULL);
    GError *cause = NULL;
    if (!model_service_tags_load_json(ld->tags, full, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &v->mark);
    return true;
}

static void collect_region(const char *name, const ModelPrefixSet *set, void *ctx)
{
    (void)set;
    static const char cloud[] = "AzureCloud.";
    if (g_ascii_strncasecmp(name, cloud, sizeof cloud - 1) == 0)
        g_ptr_array_add(ctx, g_ascii_strdown(name + sizeof cloud - 1, -1));
}

/* After META: the region must be one the service tags know (service endpoint routes and
 * regional tags depend on it); then the net is created. */
/* Every public address the file writes down, wherever: Azure's own picks (a NAT gateway's
 * or a firewall's default address, a Batch pool's frontend) must never take one of them,
 * whichever section loads first. */
static void reserve_given_addresses(ModelNet *net, const ScnNode *n)
{
    static const char *const keys[] = {"publicIp", "publicIpAddresses", "scoringIp",
                                       "publicEgress"};
    if (n->kind == SCN_NODE_SEQ) {
        for (guint i = 0; i < n->items->len; i++)
            reserve_given_addresses(net, SCN_ITEM(n, i));
        return;
    }
    if (n->kind != SCN_NODE_MAP)
        return;
    for (guint i = 0; i + 1 < n->items->len; i += 2) {
        const ScnNode *k = SCN_ITEM(n, i), *v = SCN_ITEM(n, i + 1);
        bool given = false;
        for (size_t j = 0; j < G_N_ELEMENTS(keys) && !given; j++)
            given = k->kind == SCN_NODE_SCALAR && strcmp(k->text, keys[j]) == 0;
        const ScnNode *one = v;
        for (guint m = 0; given && (v->kind == SCN_NODE_SEQ ? m < v->items->len : m < 1); m++) {
            one = v->kind == SCN_NODE_SEQ ? SCN_ITEM(v, m) : v;
            uint32_t ip;
            if (one->kind == SCN_NODE_SCALAR && model_ip_parse(one->text, &ip) &&
                !model_ip_is_private(ip))
                model_net_reserve_public_ip(net, ip);
        }
        reserve_given_addresses(net, v);
    }
}

static bool create_net(ScnLoad *ld, GError **error)
{
    g_autofree char *cloud = g_strdup_printf("AzureCloud.%s", ld->scn->region);
    if (!model_service_tags_lookup(ld->tags, cloud)) {
        GPtrArray *regions = g_ptr_array_new_with_free_func(g_free);
        model_service_tags_foreach(ld->tags, collect_region, regions);
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg, "region '%s' is not known to the service tags",
                               ld->scn->region);
        const char *s =
            scn_suggest(ld->scn->region, (const char *const *)regions->pdata, regions->len);
        if (s) {
            g_string_append_printf(msg, " (did you mean '%s'?)", s);
        } else {
            g_string_append(msg, " (known:");
            for (guint i = 0; i < regions->len; i++)
                g_string_append_printf(msg, " %s", (const char *)regions->pdata[i]);
            g_string_append(msg, "; load more with serviceTags: ServiceTags_Public.json)");
        }
        const ScnMark *m = ld->region_node ? &ld->region_node->mark : &ld->root->mark;
        scn_fail(error, SCN_ERROR_VALUE, m, "%s", msg->str);
        g_string_free(msg, TRUE);
        g_ptr_array_free(regions, TRUE);
        return false;
    }
    ld->net = model_net_new(ld->scn->region, ld->tags);
    ld->tags = NULL; /* the net owns them now */
    ld->scn->net = ld->net;
    reserve_given_addresses(ld->net, ld->root);
    return true;
}

/* ---- the section table ---- */

typedef enum {
    SCN_PHASE_META,      /* scenario, description, region, serviceTags */
    SCN_PHASE_POLICY,    /* NSGs and route tables: named by subnets and NICs */
    SCN_PHASE_NETWORK,   /* VNets and their subnets */
    SCN_PHASE_LINKS,     /* peerings: every VNet exists */
    SCN_PHASE_HOSTS,     /* hosts, DNS servers, firewalls, NAT gateways; then Azure DNS */
    SCN_PHASE_ENDPOINTS, /* private endpoints: name subnets and service hosts */
    SCN_PHASE_DNS,       /* private DNS zones: name VNets; hold endpoints' records */
    SCN_PHASE_FLOWS,     /* flows: name hosts and endpoints */
    SCN_PHASE_COUNT
} ScnPhase;

typedef struct {
    const char *key;
    ScnPhase phase;
    ScnSectionFn load; /* NULL: planned, refused as "not supported yet" */
} ScnSection;

static const ScnSection sections[] = {
    {"scenario", SCN_PHASE_META, load_name},
    {"description", SCN_PHASE_META, load_description},
    {"region", SCN_PHASE_META, load_region},
    {"serviceTags", SCN_PHASE_META, load_service_tags},
    {"networkSecurityGroups", SCN_PHASE_POLICY, scn_load_nsgs},
    {"routeTables", SCN_PHASE_POLICY, scn_load_route_tables},
    {"vnets", SCN_PHASE_NETWORK, scn_load_vnets},
    {"onprem", SCN_PHASE_NETWORK, scn_load_onprem},
    {"vnets", SCN_PHASE_LINKS, scn_load_peerings},
    {"gateways", SCN_PHASE_LINKS, scn_load_gateways},
    {"bastions", SCN_PHASE_LINKS, scn_load_bastions},
    {"hosts", SCN_PHASE_HOSTS, scn_load_hosts},
    {"dns", SCN_PHASE_HOSTS, scn_load_dns_servers},
    {"firewalls", SCN_PHASE_HOSTS, scn_load_firewalls},
    {"natGateways", SCN_PHASE_HOSTS, scn_load_nat_gateways},
    {"vnets", SCN_PHASE_HOSTS, scn_attach_nat_gateways},
    {"privateEndpoints", SCN_PHASE_ENDPOINTS, scn_load_private_endpoints},
    {"workspace", SCN_PHASE_ENDPOINTS, scn_load_workspace},
    {"workspaces", SCN_PHASE_ENDPOINTS, scn_load_workspaces},
    {"managedServices", SCN_PHASE_ENDPOINTS, scn_load_managed_services},
    {"computes", SCN_PHASE_ENDPOINTS, scn_load_computes},
    {"workspace", SCN_PHASE_ENDPOINTS, scn_load_image_build_compute},
    {"workspaces", SCN_PHASE_ENDPOINTS, scn_load_image_build_compute},
    {"dns", SCN_PHASE_DNS, scn_load_dns_zones},
    {"flows", SCN_PHASE_FLOWS, scn_load_flows},
};

static bool check_top_keys(const ScnNode *root, GError **error)
{
    ScnKey keys[G_N_ELEMENTS(sections)];
    size_t n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(sections); i++) {
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup = dup || strcmp(keys[k].key, sections[i].key) == 0;
        if (!dup)
            keys[n++] = (ScnKey){sections[i].key, sections[i].load ? SCN_KEY_FIELD : SCN_KEY_LATER};
    }
    return scn_check_keys(root, "the scenario", keys, n, error);
}

static void load_clear(ScnLoad *ld)
{
    ScnNames *all[] = {&ld->nsgs,      &ld->route_tables, &ld->vnets, &ld->subnets, &ld->hosts,
                       &ld->endpoints, &ld->asgs,         &ld->flows, &ld->captures};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        scn_names_clear(all[i]);
    if (ld->asg_uses)
        g_hash_table_destroy(ld->asg_uses);
    if (ld->asg_use_order)
        g_ptr_array_free(ld->asg_use_order, TRUE);
    if (ld->peered)
        g_hash_table_destroy(ld->peered);
    if (ld->host_defs)
        g_ptr_array_free(ld->host_defs, TRUE);
    if (ld->endpoint_defs)
        g_ptr_array_free(ld->endpoint_defs, TRUE);
    scn_dns_clear(ld);
    scn_entry_clear(ld);
    scn_natgw_clear(ld);
    model_service_tags_free(ld->tags);
}

static void flow_def_free(gpointer p)
{
    ScnFlowDef *f = p;
    g_free((char *)f->pub.name);
    g_free((char *)f->pub.from);
    g_free((char *)f->pub.to);
    g_free((char *)f->pub.file);
    g_free((char *)f->pub.expect.at);
    g_free((char *)f->pub.expect.root_at);
    g_free(f->fqdn);
    g_free(f->sni);
    g_free(f);
}

void scn_scenario_free(ScnScenario *scn)
{
    if (!scn)
        return;
    model_net_free(scn->net);
    sim_engine_free(scn->engine);
    g_ptr_array_free(scn->flows, TRUE);
    g_free(scn->path);
    g_free(scn->name);
    g_free(scn->description);
    g_free(scn->region);
    g_free(scn);
}

/* Builds the scenario from a parsed tree: what scn_load_data does after parsing, and what
 * scn_patch.c calls once it has applied a patch to the tree (scn_internal.h). */
static char *service_tags_file;

void scn_set_service_tags_file(const char *path)
{
    g_free(service_tags_file);
    service_tags_file = g_strdup(path);
}

ScnScenario *scn_load_tree(ScnDoc *doc, const char *name, const ScnNode *root, GError **error)
{
    if (root->kind != SCN_NODE_MAP) {
        scn_fail(error, SCN_ERROR_SCHEMA, &root->mark,
                 "a scenario must be a mapping of sections (scenario:, vnets:, flows: …), "
                 "not %s",
                 kind_name(root));
        return NULL;
    }
    if (!check_top_keys(root, error))
        return NULL;

    ScnScenario *scn = g_new0(ScnScenario, 1);
    scn->path = g_strdup(name);
    scn->region = g_strdup("eastus");
    scn->flows = g_ptr_array_new_with_free_func(flow_def_free);
    ScnLoad ld = {.doc = doc, .scn = scn, .root = root};
    scn_names_init(&ld.nsgs, "network security group");
    scn_names_init(&ld.route_tables, "route table");
    scn_names_init(&ld.vnets, "virtual network");
    scn_names_init(&ld.subnets, "subnet");
    scn_names_init(&ld.hosts, "host");
    scn_names_init(&ld.endpoints, "private endpoint");
    scn_names_init(&ld.asgs, "application security group");
    scn_names_init(&ld.flows, "flow");
    scn_names_init(&ld.captures, "capture");
    ld.asg_uses = g_hash_table_new(g_str_hash, g_str_equal);
    ld.asg_use_order = g_ptr_array_new_with_free_func(g_free);
    ld.peered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ld.host_defs = g_ptr_array_new_with_free_func(g_free);
    ld.endpoint_defs = g_ptr_array_new_with_free_func(g_free);
    ld.tags = model_service_tags_new_builtin();

    bool ok = true;
    if (service_tags_file) {
        GError *cause = NULL;
        if (!model_service_tags_load_json(ld.tags, service_tags_file, &cause)) {
            g_set_error(error, SCN_ERROR, SCN_ERROR_IO, "--service-tags: %s", cause->message);
            g_error_free(cause);
            ok = false;
        }
    }
    const ScnNode *name_node = scn_get(root, "scenario");
    if (ok && !name_node)
        ok = scn_fail(error, SCN_ERROR_SCHEMA, &root->mark,
                      "the scenario needs 'scenario' (its name, used for the output directory)");
    for (int phase = 0; ok && phase < SCN_PHASE_COUNT; phase++) {
        for (size_t i = 0; ok && i < G_N_ELEMENTS(sections); i++) {
            const ScnNode *v =
                sections[i].phase == (ScnPhase)phase ? scn_get(root, sections[i].key) : NULL;
            if (v)
                ok = sections[i].load(&ld, v, error);
        }
        if (ok && phase == SCN_PHASE_META)
            ok = create_net(&ld, error);
        if (ok && phase == SCN_PHASE_HOSTS)
            ok = scn_dns_add_azure(&ld, error);
    }
    if (ok)
        ok = scn_check_asg_uses(&ld, error);
    if (ok) {
        GError *cause = NULL;
        if (!model_net_finalize(ld.net, &cause))
            ok = scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &root->mark);
    }
    if (!scn->description)
        scn->description = g_strdup("");
    load_clear(&ld);
    if (!ok) {
        scn_scenario_free(scn);
        return NULL;
    }
    return scn;
}

ScnScenario *scn_load_data(const char *name, const char *data, size_t len, GError **error)
{
    ScnDoc *doc = scn_doc_new();
    const ScnNode *root = scn_doc_parse(doc, name, data, len, error);
    ScnScenario *scn = root ? scn_load_tree(doc, name, root, error) : NULL;
    scn_doc_free(doc);
    return scn;
}

ScnScenario *scn_load(const char *path, GError **error)
{
    char *data = NULL, *reason = NULL;
    size_t len = 0;
    if (!scn_read_file(path, &data, &len, &reason)) {
        g_set_error(error, SCN_ERROR, SCN_ERROR_IO, "%s: cannot read the scenario: %s", path,
                    reason);
        g_free(reason);
        return NULL;
    }
    ScnScenario *scn = scn_load_data(path, data, len, error);
    g_free(data);
    return scn;
}

/* ---- accessors ---- */

const char *scn_scenario_name(const ScnScenario *scn)
{
    return scn->name;
}

const char *scn_scenario_description(const ScnScenario *scn)
{
    return scn->description;
}

const char *scn_scenario_path(const ScnScenario *scn)
{
    return scn->path;
}

ModelNet *scn_scenario_net(const ScnScenario *scn)
{
    return scn->net;
}

size_t scn_scenario_n_flows(const ScnScenario *scn)
{
    return scn->flows->len;
}

const ScnFlow *scn_scenario_flow(const ScnScenario *scn, size_t i)
{
    g_return_val_if_fail(i < scn->flows->len, NULL);
    const ScnFlowDef *f = g_ptr_array_index(scn->flows, i);
    return &f->pub;
}

const ScnFlow *scn_scenario_find_flow(const ScnScenario *scn, const char *name)
{
    for (guint i = 0; i < scn->flows->len; i++) {
        const ScnFlowDef *f = g_ptr_array_index(scn->flows, i);
        if (strcmp(f->pub.name, name) == 0)
            return &f->pub;
    }
    return NULL;
}
