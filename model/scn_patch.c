/*
 * scn_patch.c — planned changes applied to a scenario's YAML tree before anything is built
 * (`vnetsim diff SCENARIO.yaml --change PATCH.yaml`), and the probe flows of
 * `vnetsim diff --all-pairs`.
 *
 * Why on the tree: the loader then validates the patched scenario exactly as it would a
 * file, and every node keeps the file, line and column it came from, so an error inside a
 * patched-in rule names PATCH.yaml:line:col and an error in an untouched one names the
 * scenario. Nothing here knows what an NSG is: the merge is generic over the tree, and the
 * schema is checked by the loader afterwards.
 *
 * The merge (documented in scenarios/README.md, "Patches"):
 *   - a mapping merges into a mapping, key by key; a null value removes the key;
 *   - a list of named mappings merges into a list of named mappings item by item, by
 *     `name` (each patch item must name an existing item: the patch says what it changes);
 *   - a mapping {add, remove, replace} edits a list: `remove` names items (or scalar values
 *     of a list of scalars), `replace` swaps whole items by name in place, `add` appends
 *     (a name already present is an error); applied in that order;
 *   - anything else replaces the value.
 * `securityRules`, `routes` and a firewall's `ruleCollectionGroups` given as a file name in
 * the scenario are read first, so a patch can edit pasted `az … list -o json` output too.
 *
 * Ownership: the tree is copied on write. Nodes of the scenario and the patch belong to
 * the ScnDoc that parsed them; the containers created here belong to a pool freed after the
 * load, which keeps nothing of the tree.
 */
#include "model/net_internal.h"
#include "model/scn_internal.h"

#include <string.h>

typedef struct {
    ScnDoc *doc;
    GPtrArray *pool; /* ScnNode * created here */
} Patcher;

static void pool_node_free(gpointer p)
{
    ScnNode *n = p;
    g_free(n->text);
    if (n->items)
        g_ptr_array_free(n->items, TRUE);
    g_free(n);
}

static ScnNode *node_new(Patcher *p, ScnNodeKind kind, const ScnMark *mark)
{
    ScnNode *n = g_new0(ScnNode, 1);
    n->kind = kind;
    n->mark = *mark;
    n->weight = 1;
    if (kind != SCN_NODE_SCALAR)
        n->items = g_ptr_array_new();
    g_ptr_array_add(p->pool, n);
    return n;
}

static ScnNode *scalar_new(Patcher *p, const ScnMark *mark, const char *text)
{
    ScnNode *n = node_new(p, SCN_NODE_SCALAR, mark);
    n->text = g_strdup(text);
    n->plain = true;
    return n;
}

/* A shallow copy of a sequence or mapping: the items are shared, the array is new. */
static ScnNode *copy_container(Patcher *p, const ScnNode *n)
{
    ScnNode *c = node_new(p, n->kind, &n->mark);
    for (guint i = 0; i < n->items->len; i++)
        g_ptr_array_add(c->items, n->items->pdata[i]);
    c->weight = n->weight;
    return c;
}

static const char *kind_word(const ScnNode *n)
{
    return n->kind == SCN_NODE_SEQ ? "a list" : n->kind == SCN_NODE_MAP ? "a mapping" : "a value";
}

/* The `name` of a list item, or NULL when the item is not a named mapping. */
static const char *item_name(const ScnNode *item)
{
    if (item->kind != SCN_NODE_MAP)
        return NULL;
    const ScnNode *n = scn_get(item, "name");
    return n && n->kind == SCN_NODE_SCALAR ? n->text : NULL;
}

static bool all_named(const ScnNode *seq)
{
    for (guint i = 0; i < seq->items->len; i++)
        if (!item_name(SCN_ITEM(seq, i)))
            return false;
    return true;
}

/* Position of the item called `name` (named lists) or whose scalar value is `name` (lists
 * of scalars); -1 when absent. */
static int find_item(const ScnNode *seq, const char *name)
{
    for (guint i = 0; i < seq->items->len; i++) {
        const ScnNode *it = SCN_ITEM(seq, i);
        const char *n = it->kind == SCN_NODE_SCALAR ? it->text : item_name(it);
        if (n && strcmp(n, name) == 0)
            return (int)i;
    }
    return -1;
}

static bool fail_missing(const ScnNode *seq, const ScnNode *at, const char *name, const char *where,
                         GError **error)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < seq->items->len; i++) {
        const ScnNode *it = SCN_ITEM(seq, i);
        const char *n = it->kind == SCN_NODE_SCALAR ? it->text : item_name(it);
        if (n)
            g_ptr_array_add(names, (gpointer)n);
    }
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "%s has no item '%s'", where, name);
    scn_append_suggestion(msg, name, (const char *const *)names->pdata, names->len);
    scn_fail(error, SCN_ERROR_REFERENCE, &at->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    g_ptr_array_free(names, TRUE);
    return false;
}

static const ScnNode *merge(Patcher *p, const ScnNode *base, const ScnNode *patch,
                            const char *where, GError **error);

static bool is_ops(const ScnNode *m)
{
    if (m->kind != SCN_NODE_MAP || m->items->len == 0)
        return false;
    for (guint i = 0; i < m->items->len; i += 2) {
        const char *k = SCN_ITEM(m, i)->text;
        if (strcmp(k, "add") != 0 && strcmp(k, "remove") != 0 && strcmp(k, "replace") != 0)
            return false;
    }
    return true;
}

static bool ops_list(const ScnNode *ops, const char *key, const ScnNode **out, GError **error)
{
    *out = scn_get(ops, key);
    if (*out && (*out)->kind != SCN_NODE_SEQ)
        return scn_fail(error, SCN_ERROR_SCHEMA, &(*out)->mark,
                        "'%s' in a patch must be a list, not %s", key, kind_word(*out));
    return true;
}

/* {add, remove, replace} applied to a list; base may be NULL (the key was absent). */
static const ScnNode *apply_ops(Patcher *p, const ScnNode *base, const ScnNode *ops,
                                const char *where, GError **error)
{
    static const ScnKey op_keys[] = {SCN_F("add"), SCN_F("remove"), SCN_F("replace")};
    const ScnNode *add, *remove, *replace;
    g_autofree char *what = g_strdup_printf("a patch of %s", where);
    if (!scn_check_keys(ops, what, op_keys, G_N_ELEMENTS(op_keys), error) ||
        !ops_list(ops, "add", &add, error) || !ops_list(ops, "remove", &remove, error) ||
        !ops_list(ops, "replace", &replace, error))
        return NULL;
    ScnNode *out = base ? copy_container(p, base) : node_new(p, SCN_NODE_SEQ, &ops->mark);
    for (guint i = 0; remove && i < remove->items->len; i++) {
        const ScnNode *r = SCN_ITEM(remove, i);
        if (r->kind != SCN_NODE_SCALAR) {
            scn_fail(error, SCN_ERROR_SCHEMA, &r->mark, "'remove' lists names (or values), not %s",
                     kind_word(r));
            return NULL;
        }
        int at = find_item(out, r->text);
        if (at < 0) {
            fail_missing(out, r, r->text, where, error);
            return NULL;
        }
        g_ptr_array_remove_index(out->items, (guint)at);
    }
    for (guint i = 0; replace && i < replace->items->len; i++) {
        const ScnNode *r = SCN_ITEM(replace, i);
        const char *name = item_name(r);
        if (!name) {
            scn_fail(error, SCN_ERROR_SCHEMA, &r->mark,
                     "'replace' lists whole items, each with its 'name'");
            return NULL;
        }
        int at = find_item(out, name);
        if (at < 0) {
            fail_missing(out, scn_get(r, "name"), name, where, error);
            return NULL;
        }
        out->items->pdata[at] = (gpointer)r;
    }
    for (guint i = 0; add && i < add->items->len; i++) {
        const ScnNode *a = SCN_ITEM(add, i);
        const char *name = a->kind == SCN_NODE_MAP ? item_name(a) : NULL;
        int at = name ? find_item(out, name) : -1;
        if (at >= 0) {
            const ScnNode *first = SCN_ITEM(out, (guint)at);
            scn_fail(error, SCN_ERROR_REFERENCE, &scn_get(a, "name")->mark,
                     "%s already has '%s' (%s:%d): use 'replace' to change it", where, name,
                     first->mark.file, first->mark.line);
            return NULL;
        }
        g_ptr_array_add(out->items, (gpointer)a);
    }
    return out;
}

/* A list of named items merged item by item with a patch list naming existing items. */
static const ScnNode *merge_named(Patcher *p, const ScnNode *base, const ScnNode *patch,
                                  const char *where, GError **error)
{
    ScnNode *out = copy_container(p, base);
    for (guint i = 0; i < patch->items->len; i++) {
        const ScnNode *pi = SCN_ITEM(patch, i);
        const char *name = item_name(pi);
        int at = find_item(out, name);
        if (at < 0) {
            fail_missing(out, scn_get(pi, "name"), name, where, error);
            return NULL;
        }
        g_autofree char *inner = g_strdup_printf("'%s'", name);
        const ScnNode *m = merge(p, SCN_ITEM(out, (guint)at), pi, inner, error);
        if (!m)
            return NULL;
        out->items->pdata[at] = (gpointer)m;
    }
    return out;
}

/* `securityRules: rules.json` (and routes, a firewall's ruleCollectionGroups): the list
 * the file holds, so a patch can edit it. */
static const ScnNode *as_list(Patcher *p, const char *key, const ScnNode *v, GError **error)
{
    static const char *const file_keys[] = {"securityRules", "routes", "ruleCollectionGroups"};
    bool file_key = false;
    for (size_t i = 0; i < G_N_ELEMENTS(file_keys); i++)
        file_key = file_key || strcmp(key, file_keys[i]) == 0;
    if (v->kind != SCN_NODE_SCALAR || scn_is_null(v) || !file_key)
        return v;
    return scn_doc_parse_file(p->doc, v->text, &v->mark, error);
}

static const ScnNode *merge_map(Patcher *p, const ScnNode *base, const ScnNode *patch,
                                const char *where, GError **error)
{
    ScnNode *out = copy_container(p, base);
    for (guint i = 0; i + 1 < patch->items->len; i += 2) {
        const ScnNode *k = SCN_ITEM(patch, i), *v = SCN_ITEM(patch, i + 1);
        int at = -1;
        for (guint j = 0; j + 1 < out->items->len && at < 0; j += 2)
            if (strcmp(SCN_ITEM(out, j)->text, k->text) == 0)
                at = (int)j;
        g_autofree char *inner = g_strdup_printf("'%s' of %s", k->text, where);
        if (scn_is_null(v)) { /* `routeTable: null` detaches */
            if (at >= 0)
                g_ptr_array_remove_range(out->items, (guint)at, 2);
            continue;
        }
        if (at < 0) {
            const ScnNode *nv = is_ops(v) ? apply_ops(p, NULL, v, inner, error) : v;
            if (!nv)
                return NULL;
            g_ptr_array_add(out->items, (gpointer)k);
            g_ptr_array_add(out->items, (gpointer)nv);
            continue;
        }
        const ScnNode *bv = SCN_ITEM(out, (guint)at + 1);
        if (!scn_is_null(bv) && (v->kind == SCN_NODE_MAP || v->kind == SCN_NODE_SEQ)) {
            bv = as_list(p, k->text, bv, error);
            if (!bv)
                return NULL;
        }
        const ScnNode *nv = scn_is_null(bv) && is_ops(v) ? apply_ops(p, NULL, v, inner, error)
                                                         : merge(p, bv, v, inner, error);
        if (!nv)
            return NULL;
        out->items->pdata[at + 1] = (gpointer)nv;
    }
    return out;
}

/* The merged value of base (never NULL) and patch; NULL with *error set. */
static const ScnNode *merge(Patcher *p, const ScnNode *base, const ScnNode *patch,
                            const char *where, GError **error)
{
    if (base->kind == SCN_NODE_MAP && patch->kind == SCN_NODE_MAP)
        return merge_map(p, base, patch, where, error);
    if (base->kind == SCN_NODE_SEQ && patch->kind == SCN_NODE_MAP) {
        if (!is_ops(patch)) {
            scn_fail(error, SCN_ERROR_SCHEMA, &patch->mark,
                     "%s is a list: patch it with a list of named items, or with "
                     "{add: [...], remove: [names], replace: [...]}",
                     where);
            return NULL;
        }
        return apply_ops(p, base, patch, where, error);
    }
    if (base->kind == SCN_NODE_SEQ && patch->kind == SCN_NODE_SEQ && base->items->len &&
        all_named(base) && patch->items->len && all_named(patch))
        return merge_named(p, base, patch, where, error);
    return patch; /* a scalar, or a list of values: replaced */
}

static const ScnNode *patch_tree(Patcher *p, const ScnNode *root, const char *patch_path,
                                 GError **error)
{
    char *data = NULL, *reason = NULL;
    size_t len = 0;
    if (!scn_read_file(patch_path, &data, &len, &reason)) {
        g_set_error(error, SCN_ERROR, SCN_ERROR_IO, "%s: cannot read the patch: %s", patch_path,
                    reason);
        g_free(reason);
        return NULL;
    }
    const ScnNode *patch = scn_doc_parse(p->doc, patch_path, data, len, error);
    g_free(data);
    if (!patch)
        return NULL;
    if (patch->kind != SCN_NODE_MAP || root->kind != SCN_NODE_MAP) {
        const ScnNode *bad = patch->kind != SCN_NODE_MAP ? patch : root;
        scn_fail(error, SCN_ERROR_SCHEMA, &bad->mark, "a %s must be a mapping of sections, not %s",
                 bad == patch ? "patch" : "scenario", kind_word(bad));
        return NULL;
    }
    return merge_map(p, root, patch, "the scenario", error);
}

/* ---- probes ---- */

typedef struct {
    char *name; /* host or private endpoint */
    uint32_t private_ip, public_ip;
} ProbeTarget;

static void target_free(gpointer p)
{
    ProbeTarget *t = p;
    g_free(t->name);
    g_free(t);
}

/* Every host and private endpoint of the net, with the addresses a sender can aim at. */
static GPtrArray *probe_targets(const ModelNet *net)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(target_free);
    for (guint i = 0; i < net->hosts->len; i++) {
        const ModelHost *h = net->hosts->pdata[i];
        ProbeTarget *t = g_new0(ProbeTarget, 1);
        t->name = g_strdup(h->name);
        t->public_ip = h->public_ip;
        for (guint k = 0; k < h->nics->len; k++) {
            const ModelNic *nic = h->nics->pdata[k];
            if (nic->subnet && !t->private_ip)
                t->private_ip = nic->ip;
            if (nic->public_ip && !t->public_ip)
                t->public_ip = nic->public_ip;
        }
        g_ptr_array_add(out, t);
    }
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *nic = net->nics->pdata[i];
        if (!nic->pe_target)
            continue;
        ProbeTarget *t = g_new0(ProbeTarget, 1);
        t->name = g_strdup(nic->name);
        t->private_ip = nic->ip;
        g_ptr_array_add(out, t);
    }
    return out;
}

/* Does `name` send from inside a VNet (then it aims at private addresses)? */
static bool sender_in_vnet(const ModelNet *net, const char *name)
{
    const ModelHost *h = model_net_find_host(net, name);
    for (guint k = 0; h && k < h->nics->len; k++)
        if (((const ModelNic *)h->nics->pdata[k])->subnet)
            return true;
    return false;
}

static bool can_send(const ModelNet *net, const char *name)
{
    const ModelHost *h = model_net_find_host(net, name);
    return h && (h->nics->len || h->public_ip);
}

typedef struct {
    const ModelNet *net; /* the scenario loaded once without probes */
    const ScnProbePort *ports;
    size_t n_ports;
    GArray *probes; /* ScnProbe */
} ProbeCtx;

static ScnNode *map_put(Patcher *p, ScnNode *map, const char *key, ScnNode *value)
{
    g_ptr_array_add(map->items, scalar_new(p, &map->mark, key));
    g_ptr_array_add(map->items, value);
    return map;
}

/* Replaces the flows of the tree by one probe per (sender, target, port). Senders are the
 * hosts of the `hosts` section that are vms, appliances or internet hosts (a PaaS service
 * does not open connections); targets are every host and private endpoint of the net. */
static const ScnNode *add_probes(Patcher *p, const ScnNode *root, ProbeCtx *ctx)
{
    ScnNode *out = copy_container(p, root);
    const ScnNode *hosts = scn_get(root, "hosts");
    ScnNode *flows = node_new(p, SCN_NODE_SEQ, &root->mark);
    GPtrArray *targets = probe_targets(ctx->net);
    for (guint i = 0; hosts && hosts->kind == SCN_NODE_SEQ && i < hosts->items->len; i++) {
        const ScnNode *h = SCN_ITEM(hosts, i);
        const char *from = item_name(h);
        const ScnNode *kind = scn_get(h, "kind");
        if (!from || (kind && kind->kind == SCN_NODE_SCALAR && strcmp(kind->text, "service") == 0))
            continue;
        if (!can_send(ctx->net, from))
            continue;
        bool inside = sender_in_vnet(ctx->net, from);
        for (guint t = 0; t < targets->len; t++) {
            const ProbeTarget *to = targets->pdata[t];
            uint32_t ip = inside && to->private_ip ? to->private_ip : to->public_ip;
            if (strcmp(to->name, from) == 0 || !ip)
                continue;
            char ipt[MODEL_IP_STRLEN];
            model_ip_format(ip, ipt);
            for (size_t k = 0; k < ctx->n_ports; k++) {
                ScnProbe probe = {
                    .flow = g_strdup_printf("probe-%u", ctx->probes->len + 1),
                    .from = g_strdup(from),
                    .to = g_strdup(to->name),
                    .ip = ip,
                    .proto = ctx->ports[k].proto,
                    .port = ctx->ports[k].port,
                };
                g_array_append_val(ctx->probes, probe);
                const ScnMark *m = &root->mark;
                ScnNode *dst = node_new(p, SCN_NODE_MAP, m);
                map_put(p, dst, "ip", scalar_new(p, m, ipt));
                g_autofree char *port = g_strdup_printf("%u", probe.port);
                map_put(p, dst, "port", scalar_new(p, m, port));
                map_put(p, dst, "protocol",
                        scalar_new(p, m, probe.proto == MODEL_IPPROTO_UDP ? "Udp" : "Tcp"));
                ScnNode *flow = node_new(p, SCN_NODE_MAP, m);
                map_put(p, flow, "name", scalar_new(p, m, probe.flow));
                map_put(p, flow, "from", scalar_new(p, m, from));
                map_put(p, flow, "to", dst);
                g_ptr_array_add(flows->items, flow);
            }
        }
    }
    g_ptr_array_free(targets, TRUE);
    bool replaced = false;
    for (guint j = 0; j + 1 < out->items->len; j += 2)
        if (strcmp(SCN_ITEM(out, j)->text, "flows") == 0) {
            out->items->pdata[j + 1] = flows;
            replaced = true;
        }
    if (!replaced)
        map_put(p, out, "flows", flows);
    return out;
}

/* ---- loading ---- */

static ScnScenario *load(const char *path, const char *patch_path, ProbeCtx *probes, GError **error)
{
    char *data = NULL, *reason = NULL;
    size_t len = 0;
    if (!scn_read_file(path, &data, &len, &reason)) {
        g_set_error(error, SCN_ERROR, SCN_ERROR_IO, "%s: cannot read the scenario: %s", path,
                    reason);
        g_free(reason);
        return NULL;
    }
    Patcher p = {.doc = scn_doc_new(), .pool = g_ptr_array_new_with_free_func(pool_node_free)};
    ScnScenario *scn = NULL;
    const ScnNode *root = scn_doc_parse(p.doc, path, data, len, error);
    g_free(data);
    if (root && patch_path)
        root = patch_tree(&p, root, patch_path, error);
    if (root && probes)
        root = add_probes(&p, root, probes);
    if (root)
        scn = scn_load_tree(p.doc, path, root, error);
    g_ptr_array_free(p.pool, TRUE);
    scn_doc_free(p.doc);
    return scn;
}

ScnScenario *scn_load_patched(const char *path, const char *patch_path, GError **error)
{
    return load(path, patch_path, NULL, error);
}

void scn_probes_free(GArray *probes)
{
    for (guint i = 0; probes && i < probes->len; i++) {
        ScnProbe *pr = &g_array_index(probes, ScnProbe, i);
        g_free((char *)pr->flow);
        g_free((char *)pr->from);
        g_free((char *)pr->to);
    }
    if (probes)
        g_array_free(probes, TRUE);
}

ScnScenario *scn_load_probes(const char *path, const char *patch_path, const ScnProbePort *ports,
                             size_t n_ports, GArray **probes, GError **error)
{
    *probes = NULL;
    ScnScenario *plain = load(path, patch_path, NULL, error);
    if (!plain)
        return NULL;
    ProbeCtx ctx = {
        .net = scn_scenario_net(plain),
        .ports = ports,
        .n_ports = n_ports,
        .probes = g_array_new(FALSE, TRUE, sizeof(ScnProbe)),
    };
    ScnScenario *scn = load(path, patch_path, &ctx, error);
    scn_scenario_free(plain);
    if (!scn) {
        scn_probes_free(ctx.probes);
        return NULL;
    }
    *probes = ctx.probes;
    return scn;
}
