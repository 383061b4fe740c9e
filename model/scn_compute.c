/*
 * scn_compute.c — computes[]: AML compute instances and clusters injected into a subnet,
 * and AKS inference clusters (contract.md §4, domain.md §4.3–4.4). The model builds what
 * Azure builds when they are created (compute.c: the nodes, the Batch-managed NSG, the
 * public addresses; aks.c: the nodes and the load balancer); the loader only names them.
 *
 * Every node is a host of the scenario ("<name>" for an instance, "<name>-node<i>" for a
 * cluster or AKS), and the compute's own name means its first node as a sender
 * (`from: cpu-cluster`); an AKS name as a destination means its scoring endpoint.
 * An `aci` compute is an Azure Container Instances inference target placed in a subnet: a
 * placement only (no hosts, no traffic model; flows cannot name it), kept so that lint can
 * say that ACI in a VNet is unsupported with a private-endpoint workspace (domain.md §4.5).
 *
 * Computes load after the workspace: a compute reaches the workspace's resources (and a
 * no-public-IP one depends on the workspace's private endpoint), and its nodes take the
 * subnet's first free addresses after every address a scenario gives explicitly.
 */
#include "model/net_internal.h"
#include "model/scn_internal.h"

#include <string.h>

static const ScnKey compute_keys[] = {
    SCN_F("name"),        SCN_F("type"),        SCN_F("subnet"),       SCN_F("publicIp"),
    SCN_F("nodes"),       SCN_F("ssh"),         SCN_F("loadBalancer"), SCN_F("scoringIp"),
    SCN_F("scoringPort"), SCN_F("serviceCidr"), SCN_F("dnsServiceIp"), SCN_F("dockerBridgeCidr"),
    SCN_F("description"), SCN_F("workspace"),
};

static const char *const compute_types[] = {"instance", "cluster", "aks", "aci"};
enum { TYPE_INSTANCE, TYPE_CLUSTER, TYPE_AKS, TYPE_ACI };

/* Keys that belong to one family of types: refused on the other with a clear reason. */
/* `workspace` too: an AKS cluster's traffic model reaches none of a workspace's resources. */
static const char *const batch_only[] = {"publicIp", "ssh", "workspace"};
static const char *const aks_only[] = {"loadBalancer", "scoringIp",    "scoringPort",
                                       "serviceCidr",  "dnsServiceIp", "dockerBridgeCidr"};
/* An ACI placement has no nodes of its own to configure. */
static const char *const not_aci[] = {"publicIp",     "ssh",          "nodes",
                                      "loadBalancer", "scoringIp",    "scoringPort",
                                      "serviceCidr",  "dnsServiceIp", "dockerBridgeCidr"};

static bool refuse_keys(const ScnNode *m, const char *const *keys, size_t n, const char *why,
                        GError **error)
{
    for (size_t i = 0; i < n; i++) {
        const ScnNode *k = scn_get_key(m, keys[i]);
        if (k)
            return scn_fail(error, SCN_ERROR_SCHEMA, &k->mark, "'%s' %s", keys[i], why);
    }
    return true;
}

/* A node (or the compute's own name, meaning its first node) as a scenario host. */
static ScnHostDef *add_node_def(ScnLoad *ld, const char *name, const ScnNode *at, const ScnNode *m,
                                ModelHost *host, GError **error)
{
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = host;
    def->kind = MODEL_HOST_VM;
    def->nic = host->nics->len ? g_ptr_array_index(host->nics, 0) : NULL;
    def->ip = def->nic ? def->nic->ip : 0;
    def->public_ip = def->nic ? def->nic->public_ip : 0;
    def->node = m;
    g_ptr_array_add(ld->host_defs, def);
    g_autofree char *capture = g_strdup_printf("%s-nic0", name);
    if (!scn_names_add(&ld->hosts, name, at, def, error) ||
        (def->nic && !scn_claim_capture(ld, capture, at, error)))
        return NULL;
    return def;
}

static bool free_name(ScnLoad *ld, const ScnNode *name, const char *node_name, GError **error)
{
    const ScnDef *d = scn_names_find(&ld->hosts, node_name);
    if (!d)
        d = scn_names_find(&ld->endpoints, node_name);
    if (!d)
        return true;
    return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                    "compute '%s' names its node '%s', already the name of the object defined "
                    "at line %d",
                    name->text, node_name, d->node->mark.line);
}

static bool load_batch_compute(ScnLoad *ld, const ScnNode *m, const ScnNode *name, int type,
                               ModelSubnet *subnet, GError **error)
{
    ModelComputeKind kind = type == TYPE_INSTANCE ? MODEL_COMPUTE_INSTANCE : MODEL_COMPUTE_CLUSTER;
    bool public_ip = true, ssh = false;
    int64_t nodes = 1;
    const ScnNode *nodes_key = scn_get_key(m, "nodes");
    if (nodes_key && type == TYPE_INSTANCE)
        return scn_fail(error, SCN_ERROR_SCHEMA, &nodes_key->mark,
                        "'nodes': a compute instance is one node; use type: cluster for more");
    if (!scn_opt_bool(m, "publicIp", &public_ip, error) || !scn_opt_bool(m, "ssh", &ssh, error) ||
        !scn_opt_int(m, "nodes", 0, 100, &nodes, error))
        return false;
    for (int64_t i = 0; i < nodes; i++) {
        g_autofree char *node = type == TYPE_INSTANCE
                                    ? g_strdup(name->text)
                                    : g_strdup_printf("%s-node%" G_GINT64_FORMAT, name->text, i);
        if (!free_name(ld, name, node, error))
            return false;
    }
    const ScnWorkspace *ws = NULL;
    if (!scn_entry_pick_workspace(ld, m, name, &ws, error))
        return false;
    ModelComputeOptions options = {.ssh = ssh};
    if (ws) {
        options.workspace = ws->workspace;
        options.storage = ws->storage;
        options.key_vault = ws->key_vault;
        options.registry = ws->registry;
    }
    GError *cause = NULL;
    ModelCompute *c = model_net_add_compute(ld->net, name->text, kind, subnet, (unsigned)nodes,
                                            public_ip, &options, &cause);
    if (!c)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    for (unsigned i = 0; i < model_compute_n_nodes(c); i++) {
        ModelHost *h = model_compute_node(c, i);
        if (!add_node_def(ld, h->name, name, m, h, error))
            return false;
    }
    /* A cluster's name means its first node as a sender; at 0 nodes it names nothing that
     * can send, which a flow from it reports. */
    if (kind == MODEL_COMPUTE_CLUSTER) {
        ScnHostDef *def = g_new0(ScnHostDef, 1);
        ModelHost *h0 = model_compute_node(c, 0);
        if (h0) {
            def->host = h0;
            def->nic = g_ptr_array_index(h0->nics, 0);
            def->ip = def->nic->ip;
            def->public_ip = def->nic->public_ip;
        }
        def->kind = MODEL_HOST_VM;
        def->node = m;
        g_ptr_array_add(ld->host_defs, def);
        if (!scn_names_add(&ld->hosts, name->text, name, def, error))
            return false;
    }
    return true;
}

static bool load_aks(ScnLoad *ld, const ScnNode *m, const ScnNode *name, ModelSubnet *subnet,
                     GError **error)
{
    /* Defaults are AKS's own (kubenet/Azure CNI): service CIDR 10.0.0.0/16, DNS service
     * IP 10.0.0.10, Docker bridge 172.17.0.1/16 (azdocs:articles/aks/configure-azure-cni.md);
     * a VNet in 10.0.0.0/16 must therefore give its own, as Azure requires. */
    ModelAksSpec spec = {.subnet = subnet, .lb = MODEL_AKS_LB_PUBLIC, .nodes = 3};
    model_prefix_parse("10.0.0.0/16", false, &spec.service_cidr);
    model_ip_parse("10.0.0.10", &spec.dns_service_ip);
    model_prefix_parse("172.17.0.1/16", true, &spec.docker_bridge_cidr);
    static const char *const lbs[] = {"public", "internal"};
    size_t lb = 0;
    int64_t port = 80, nodes = 3;
    const ScnNode *v;
    if ((v = scn_get(m, "loadBalancer")) && !scn_pick(v, "loadBalancer", lbs, 2, &lb, error))
        return false;
    spec.lb = lb ? MODEL_AKS_LB_INTERNAL : MODEL_AKS_LB_PUBLIC;
    if (((v = scn_get(m, "scoringIp")) && !scn_node_ip(v, "scoringIp", &spec.scoring_ip, error)) ||
        ((v = scn_get(m, "serviceCidr")) &&
         !scn_node_prefix(v, "serviceCidr", &spec.service_cidr, error)) ||
        ((v = scn_get(m, "dnsServiceIp")) &&
         !scn_node_ip(v, "dnsServiceIp", &spec.dns_service_ip, error)) ||
        !scn_opt_int(m, "scoringPort", 1, 65535, &port, error) ||
        !scn_opt_int(m, "nodes", 1, 100, &nodes, error))
        return false;
    if ((v = scn_get(m, "dockerBridgeCidr"))) {
        const char *t = NULL;
        if (!scn_node_string(v, "dockerBridgeCidr", &t, error))
            return false;
        if (model_prefix_parse(t, true, &spec.docker_bridge_cidr) != MODEL_PREFIX_OK)
            return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                            "'dockerBridgeCidr': '%s' is not an IPv4 address with a prefix "
                            "length (e.g. 172.17.0.1/16)",
                            t);
    }
    spec.scoring_port = (uint16_t)port;
    spec.nodes = (unsigned)nodes;
    for (int64_t i = 0; i < nodes; i++) {
        g_autofree char *node = g_strdup_printf("%s-node%" G_GINT64_FORMAT, name->text, i);
        if (!free_name(ld, name, node, error))
            return false;
    }
    GError *cause = NULL;
    ModelAks *aks = model_net_add_aks(ld->net, name->text, &spec, &cause);
    if (!aks)
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
    for (unsigned i = 0; model_aks_node(aks, i); i++) {
        ModelHost *h = model_aks_node(aks, i);
        if (!add_node_def(ld, h->name, name, m, h, error))
            return false;
    }
    /* The cluster's name: its first node as a sender, its scoring endpoint as a
     * destination (private inside the VNet for an internal load balancer). */
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    ModelHost *h0 = model_aks_node(aks, 0);
    def->host = h0;
    def->nic = g_ptr_array_index(h0->nics, 0);
    def->kind = MODEL_HOST_VM;
    def->node = m;
    if (spec.lb == MODEL_AKS_LB_INTERNAL)
        def->ip = model_aks_scoring_ip(aks);
    else
        def->public_ip = model_aks_scoring_ip(aks);
    g_ptr_array_add(ld->host_defs, def);
    return scn_names_add(&ld->hosts, name->text, name, def, error);
}

static bool load_compute(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "compute", compute_keys, G_N_ELEMENTS(compute_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "compute", error), *type_node = NULL, *subnet_ref = NULL;
    if (!name || !scn_check_name(name, "compute", error))
        return false;
    g_autofree char *what = g_strdup_printf("compute '%s'", name->text);
    size_t type = 0;
    ModelSubnet *subnet;
    if (!free_name(ld, name, name->text, error) ||
        !scn_req_node(m, "type", what, &type_node, error) ||
        !scn_pick(type_node, "type", compute_types, G_N_ELEMENTS(compute_types), &type, error) ||
        !scn_req_node(m, "subnet", what, &subnet_ref, error) ||
        !(subnet = scn_resolve_subnet(ld, subnet_ref, error)))
        return false;
    if (type == TYPE_ACI) {
        GError *cause = NULL;
        if (!refuse_keys(m, not_aci, G_N_ELEMENTS(not_aci),
                         "does not apply to an ACI placement (type aci)", error))
            return false;
        /* The workspace it serves decides which private endpoints and registry concern it
         * (lint); several workspaces need a name, as for the other computes. */
        const ScnWorkspace *ws = NULL;
        if (!scn_entry_pick_workspace(ld, m, name, &ws, error))
            return false;
        if (!model_net_add_aci(ld->net, name->text, subnet, ws ? ws->workspace : NULL, &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &name->mark);
        return true;
    }
    if (type == TYPE_AKS)
        return refuse_keys(m, batch_only, G_N_ELEMENTS(batch_only),
                           "applies to compute instances and clusters, not to AKS", error) &&
               load_aks(ld, m, name, subnet, error);
    return refuse_keys(m, aks_only, G_N_ELEMENTS(aks_only), "applies to type aks only", error) &&
           load_batch_compute(ld, m, name, type, subnet, error);
}

bool scn_load_computes(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "computes", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_compute(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

static bool load_image_build(ScnLoad *ld, ScnWorkspace *w, GError **error)
{
    const ScnNode *ref = scn_get(w->node, "imageBuildCompute");
    const char *t = NULL;
    if (!ref)
        return true;
    if (!scn_node_string(ref, "imageBuildCompute", &t, error))
        return false;
    ModelCompute *c = model_net_find_compute(ld->net, t);
    if (!c) {
        const ScnDef *d = scn_names_find(&ld->hosts, t);
        return scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark,
                        d ? "'imageBuildCompute': '%s' is not a compute instance or cluster"
                          : "'imageBuildCompute': compute '%s' is not defined (add it under "
                            "'computes')",
                        t);
    }
    /* "The image build compute must be a compute cluster (CPU SKU)" (domain.md §4.5). */
    if (model_compute_kind(c) != MODEL_COMPUTE_CLUSTER)
        return scn_fail(error, SCN_ERROR_VALUE, &ref->mark,
                        "'imageBuildCompute': '%s' is a compute instance; images are built on a "
                        "compute cluster (CPU SKU)",
                        t);
    /* A cluster of another workspace builds into that workspace's registry, not this one's. */
    ModelService *owner = model_compute_workspace(c);
    if (owner && owner != w->workspace)
        return scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark,
                        "'imageBuildCompute': '%s' belongs to workspace '%s', not '%s' (its "
                        "'workspace' key)",
                        t, model_service_name(owner), model_service_name(w->workspace));
    w->image_build = c;
    model_service_set_image_build_compute(w->workspace, c); /* lint reads it from the model */
    return true;
}

bool scn_load_image_build_compute(ScnLoad *ld, const ScnNode *value, GError **error)
{
    (void)value; /* each workspace's own mapping says it */
    GPtrArray *all = scn_entry_workspaces(ld);
    for (guint i = 0; all && i < all->len; i++)
        if (!load_image_build(ld, all->pdata[i], error))
            return false;
    return true;
}
