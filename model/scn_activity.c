/*
 * scn_activity.c — flows[].activity (contract.md §4, domain.md §4): an activity is the
 * documented sequence of connections a user action makes, each a sub-flow "<flow>/<part>"
 * with its own verdict, judged together in the flow's own verdict
 * (model_net_join_activity). Every name comes from the model: the managed services'
 * public names, the workspace's, its default storage's and its registry's FQDNs.
 *
 *   studio-access (from a client): aad, studio (ml.azure.com via AFD), arm, workspace-api,
 *                                  storage-blob — each HTTPS through the client's resolver
 *   sdk-access (from a client):    aad, arm, workspace-api, storage-blob
 *   data-profile (no from):        storage-blob — the data-profiling service to the default
 *                                  storage, with the workspace's identity
 *   docker-images (from a host):   mcr, mcr-data, viennaglobal; with customImage: true, acr
 *                                  and acr-data
 *   compute-instance, compute-cluster (compute: NAME): batch-mgmt (Batch node management),
 *                                  aml-mgmt (the AML service on 44224; public-IP compute
 *                                  only), then node 0's documented outbound (compute.c)
 *   aks-inference (from a client, compute: AKS): scoring
 *   image-build (no from):         base-image, acr-push — from ACR Tasks (serverless), or
 *                                  from the workspace's imageBuildCompute
 *
 * The workspace is the scenario's only one, or the one the flow names (`workspace: NAME`)
 * when there are several: the activities that reach a workspace's own resources take it.
 */
#include "model/scn_internal.h"

#include <string.h>

/* In ScnActivity order, from SCN_ACTIVITY_STUDIO. */
static const char *const activity_names[] = {
    "studio-access",    "sdk-access",      "data-profile",  "docker-images",
    "compute-instance", "compute-cluster", "aks-inference", "image-build",
};

static bool parse_activity(const ScnNode *v, ScnActivity *out, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(v, "activity", &t, error))
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(activity_names); i++)
        if (strcmp(t, activity_names[i]) == 0) {
            *out = (ScnActivity)(i + 1);
            return true;
        }
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'activity': unknown activity '%s'", t);
    const char *s = scn_suggest(t, activity_names, G_N_ELEMENTS(activity_names));
    if (s) {
        g_string_append_printf(msg, " (did you mean '%s'?)", s);
    } else {
        g_string_append(msg, " (expected ");
        for (size_t i = 0; i < G_N_ELEMENTS(activity_names); i++)
            g_string_append_printf(msg, "%s%s", i ? ", " : "", activity_names[i]);
        g_string_append(msg, ")");
    }
    scn_fail(error, SCN_ERROR_VALUE, &v->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    return false;
}

/* Whether the activity is started by a user's host (`from` required) or by Azure. */
static bool has_sender(ScnActivity a)
{
    return a == SCN_ACTIVITY_STUDIO || a == SCN_ACTIVITY_SDK || a == SCN_ACTIVITY_DOCKER_IMAGES ||
           a == SCN_ACTIVITY_AKS_INFERENCE;
}

static const char *azure_sender(ScnActivity a)
{
    switch (a) {
    case SCN_ACTIVITY_DATA_PROFILE:
        return "data-profiling";
    case SCN_ACTIVITY_COMPUTE_INSTANCE:
    case SCN_ACTIVITY_COMPUTE_CLUSTER:
        return "the AML and Batch services";
    case SCN_ACTIVITY_IMAGE_BUILD:
        return "the image builder";
    default:
        return NULL;
    }
}

static bool load_sender(ScnLoad *ld, ScnFlowDef *f, const ScnNode *m, const char *kind,
                        GError **error)
{
    const ScnNode *from_ref = scn_get(m, "from");
    if (!has_sender(f->activity)) {
        if (from_ref)
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "from")->mark,
                            "activity '%s' is started by Azure, not by a host: drop 'from'", kind);
        f->pub.from = g_strdup(azure_sender(f->activity));
        return true;
    }
    const char *t = NULL;
    const ScnHostDef *from;
    g_autofree char *what = g_strdup_printf("flow '%s'", f->pub.name);
    if (!scn_req_node(m, "from", what, &from_ref, error) ||
        !scn_node_string(from_ref, "from", &t, error) ||
        !(from = scn_names_resolve(&ld->hosts, from_ref, error)))
        return false;
    if (!from->host || (!from->nic && !from->public_ip)) {
        g_autofree char *why = scn_no_sender(from, t);
        return scn_fail(error, SCN_ERROR_VALUE, &from_ref->mark, "%s", why);
    }
    f->from = from->host;
    f->pub.from = g_strdup(t);
    return true;
}

/* `compute: NAME` for the compute and AKS activities, checked against the kind each
 * needs. */
static bool load_compute_ref(ScnLoad *ld, ScnFlowDef *f, const ScnNode *m, const char *kind,
                             GError **error)
{
    bool wants = f->activity == SCN_ACTIVITY_COMPUTE_INSTANCE ||
                 f->activity == SCN_ACTIVITY_COMPUTE_CLUSTER ||
                 f->activity == SCN_ACTIVITY_AKS_INFERENCE;
    const ScnNode *key = scn_get_key(m, "compute"), *ref = NULL;
    const char *t = NULL;
    if (!wants)
        return !key || scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                                "activity '%s' names no compute: drop 'compute'", kind);
    g_autofree char *what = g_strdup_printf("activity '%s'", kind);
    if (!scn_req_node(m, "compute", what, &ref, error) ||
        !scn_node_string(ref, "compute", &t, error))
        return false;
    f->compute = model_net_find_compute(ld->net, t);
    f->aks = model_net_find_aks(ld->net, t);
    if (!f->compute && !f->aks)
        return scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark,
                        "'compute': no compute named '%s' (define it under 'computes')", t);
    if (f->activity == SCN_ACTIVITY_AKS_INFERENCE) {
        if (!f->aks)
            return scn_fail(error, SCN_ERROR_VALUE, &ref->mark,
                            "'compute': '%s' is not an AKS cluster (type: aks)", t);
        f->https = model_aks_scoring_port(f->aks) == 443;
        return scn_opt_bool(m, "https", &f->https, error);
    }
    ModelComputeKind need = f->activity == SCN_ACTIVITY_COMPUTE_INSTANCE ? MODEL_COMPUTE_INSTANCE
                                                                         : MODEL_COMPUTE_CLUSTER;
    if (!f->compute || model_compute_kind(f->compute) != need)
        return scn_fail(error, SCN_ERROR_VALUE, &ref->mark, "'compute': '%s' is not a compute %s",
                        t, need == MODEL_COMPUTE_INSTANCE ? "instance" : "cluster");
    if (model_compute_n_nodes(f->compute) == 0)
        return scn_fail(error, SCN_ERROR_VALUE, &ref->mark,
                        "'compute': cluster '%s' has 0 nodes: nothing runs to be managed (give "
                        "it nodes)",
                        t);
    return true;
}

/* `workspace: NAME`, for the activities that reach a workspace's own resources; the others
 * refuse it, as a key that would change nothing. */
static bool load_workspace_ref(ScnLoad *ld, const ScnFlowDef *f, const ScnNode *m,
                               const ScnNode *activity, const char *kind, const ScnWorkspace **out,
                               GError **error)
{
    bool uses = f->activity == SCN_ACTIVITY_STUDIO || f->activity == SCN_ACTIVITY_SDK ||
                f->activity == SCN_ACTIVITY_DATA_PROFILE ||
                f->activity == SCN_ACTIVITY_IMAGE_BUILD ||
                (f->activity == SCN_ACTIVITY_DOCKER_IMAGES && f->custom_image);
    const ScnNode *key = scn_get_key(m, "workspace");
    *out = NULL;
    if (!uses) {
        if (!key)
            return true;
        if (f->activity == SCN_ACTIVITY_DOCKER_IMAGES)
            return scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                            "activity 'docker-images' pulls from MCR, no workspace's registry, "
                            "unless customImage: true: drop 'workspace'");
        return scn_fail(
            error, SCN_ERROR_SCHEMA, &key->mark,
            "activity '%s' reaches no workspace's own resources%s: drop 'workspace'", kind,
            f->compute ? " (its compute names the workspace: give 'workspace' there)" : "");
    }
    return scn_entry_pick_workspace(ld, m, activity, out, error);
}

bool scn_load_activity(ScnLoad *ld, ScnFlowDef *f, const ScnNode *m, GError **error)
{
    const ScnNode *v = scn_get(m, "activity");
    if (!parse_activity(v, &f->activity, error))
        return false;
    const char *kind = v->text;
    static const char *const refused[] = {"to", "bastion"};
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++)
        if (scn_get_key(m, refused[i]))
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, refused[i])->mark,
                            "activity '%s' makes its own connections: drop '%s'", kind, refused[i]);
    const ScnNode *https = scn_get_key(m, "https");
    if (https && f->activity != SCN_ACTIVITY_AKS_INFERENCE)
        return scn_fail(error, SCN_ERROR_SCHEMA, &https->mark,
                        "'https' applies to the aks-inference activity only");
    if (!load_sender(ld, f, m, kind, error) || !load_compute_ref(ld, f, m, kind, error))
        return false;
    const ScnNode *ci = scn_get_key(m, "customImage");
    if (ci && f->activity != SCN_ACTIVITY_DOCKER_IMAGES)
        return scn_fail(error, SCN_ERROR_SCHEMA, &ci->mark,
                        "'customImage' applies to the docker-images activity only");
    const ScnWorkspace *w = NULL;
    if (!scn_opt_bool(m, "customImage", &f->custom_image, error) ||
        !load_workspace_ref(ld, f, m, v, kind, &w, error))
        return false;
    f->pub.to = g_strdup_printf("activity %s", kind);
    if (f->activity == SCN_ACTIVITY_AKS_INFERENCE)
        return true; /* a client and a load balancer: nothing managed takes part */
    if (!model_net_managed_address(ld->net, "aad"))
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                        "activity '%s' reaches the services AML depends on: add "
                        "'managedServices: true'",
                        kind);
    if (w) {
        f->workspace = w->workspace;
        f->storage = w->storage;
        f->registry = w->registry;
    }
    bool needs_ws = f->activity == SCN_ACTIVITY_STUDIO || f->activity == SCN_ACTIVITY_SDK ||
                    f->activity == SCN_ACTIVITY_DATA_PROFILE;
    if (needs_ws && (!f->workspace || !f->storage))
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                        "activity '%s' needs a workspace with its storage account", kind);
    if (f->custom_image && !f->registry)
        return scn_fail(error, SCN_ERROR_VALUE, &ci->mark,
                        "customImage needs the workspace's containerRegistry");
    if (f->activity == SCN_ACTIVITY_IMAGE_BUILD) {
        if (!f->registry)
            return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                            "activity 'image-build' pushes to the workspace's containerRegistry: "
                            "the workspace has none");
        ModelCompute *build = w ? w->image_build : NULL;
        f->builder = build ? model_compute_node(build, 0) : NULL;
        if (build && !f->builder)
            return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                            "the image-build compute has 0 nodes: it scales up for a build, so "
                            "give it 1 node to replay one");
    }
    return true;
}

typedef struct {
    const char *part;
    const char *fqdn;
} Part;

/* HTTPS parts by name from the activity's sender: the user-started activities. */
static void start_named_parts(ScnScenario *scn, ScnFlowDef *f, GPtrArray *names)
{
    ModelNet *net = scn->net;
    Part parts[5];
    size_t n = 0;
    const char *api = f->workspace ? model_service_fqdn(f->workspace, "api") : NULL;
    const char *blob = f->storage ? model_service_fqdn(f->storage, "blob") : NULL;
    if (f->activity == SCN_ACTIVITY_DOCKER_IMAGES) {
        if (f->custom_image) {
            /* The registry's login and manifests, then the layers from its data endpoint
             * (<registry>.<region>.data.azurecr.io, which a private endpoint also serves:
             * container-registry-private-link.md, "DNS configuration"). */
            parts[n++] = (Part){"acr", model_service_fqdn(f->registry, "registry")};
            parts[n++] = (Part){"acr-data", model_service_fqdn(f->registry, "data")};
        } else {
            /* MCR's manifests, then its layers from the data endpoint behind
             * AzureFrontDoor.FirstParty ("depends on AzureFrontDoor.FirstParty"). */
            parts[n++] = (Part){"mcr", model_net_managed_fqdn(net, "mcr")};
            parts[n++] = (Part){"mcr-data", model_net_managed_fqdn(net, "mcr-data")};
            parts[n++] = (Part){"viennaglobal", model_net_managed_fqdn(net, "viennaglobal")};
        }
    } else {
        parts[n++] = (Part){"aad", model_net_managed_fqdn(net, "aad")};
        if (f->activity == SCN_ACTIVITY_STUDIO)
            parts[n++] = (Part){"studio", model_net_managed_fqdn(net, "afd")};
        parts[n++] = (Part){"arm", model_net_managed_fqdn(net, "arm")};
        parts[n++] = (Part){"workspace-api", api};
        parts[n++] = (Part){"storage-blob", blob};
    }
    for (size_t i = 0; i < n; i++) {
        char *name = g_strdup_printf("%s/%s", f->pub.name, parts[i].part);
        ModelFlowSpec spec = {.name = name,
                              .from = f->from,
                              .fqdn = parts[i].fqdn,
                              .port = 443,
                              .proto = MODEL_IPPROTO_TCP,
                              .tls = true,
                              .request = true};
        bool started = parts[i].fqdn && model_net_start_flow(net, &spec, f->at) >= 0;
        g_ptr_array_add(names, started ? name : NULL);
        if (!started)
            g_free(name);
    }
}

/* Management first (a node that cannot be managed is unusable, whatever it reaches), then
 * what the node must reach. */
static void start_compute_parts(ScnScenario *scn, ScnFlowDef *f, GPtrArray *names)
{
    ModelNet *net = scn->net;
    g_autofree char *batch = g_strdup_printf("%s/batch-mgmt", f->pub.name);
    model_net_start_compute_management(net, batch, f->compute, 0, MODEL_COMPUTE_MGMT_BATCH, f->at);
    g_ptr_array_add(names, g_strdup(batch));
    /* Inbound 44224 from the AML service: compute with a public IP only; without one the
     * node's management is outbound, through the workspace's private endpoint. */
    if (model_compute_has_public_ip(f->compute)) {
        g_autofree char *aml = g_strdup_printf("%s/aml-mgmt", f->pub.name);
        model_net_start_compute_management(net, aml, f->compute, 0, MODEL_COMPUTE_MGMT_AML, f->at);
        g_ptr_array_add(names, g_strdup(aml));
    }
    if (model_net_start_compute_outbound(net, f->compute, f->pub.name, f->at, names) < 0)
        g_ptr_array_add(names, NULL);
}

void scn_replay_activity(ScnScenario *scn, ScnFlowDef *f)
{
    ModelNet *net = scn->net;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    switch (f->activity) {
    case SCN_ACTIVITY_STUDIO:
    case SCN_ACTIVITY_SDK:
    case SCN_ACTIVITY_DOCKER_IMAGES:
        start_named_parts(scn, f, names);
        break;
    case SCN_ACTIVITY_DATA_PROFILE: {
        char *name = g_strdup_printf("%s/storage-blob", f->pub.name);
        bool started =
            model_net_start_data_profiling(net, name, f->workspace, f->storage, f->at) >= 0;
        g_ptr_array_add(names, started ? name : NULL);
        if (!started)
            g_free(name);
        break;
    }
    case SCN_ACTIVITY_COMPUTE_INSTANCE:
    case SCN_ACTIVITY_COMPUTE_CLUSTER:
        start_compute_parts(scn, f, names);
        break;
    case SCN_ACTIVITY_AKS_INFERENCE: {
        char *name = g_strdup_printf("%s/scoring", f->pub.name);
        bool started =
            model_net_start_aks_scoring(net, name, f->from, f->aks, f->https, f->at) >= 0;
        g_ptr_array_add(names, started ? name : NULL);
        if (!started)
            g_free(name);
        break;
    }
    case SCN_ACTIVITY_IMAGE_BUILD:
        if (model_net_start_image_build(net, f->pub.name, f->registry, f->builder, f->at, names) <
            0) {
            g_ptr_array_add(names, NULL);
        } else if (!f->builder) {
            /* Whatever stops ACR Tasks' push stops it outside the VNet: the documented
             * way around is to build inside it. */
            g_autofree char *fix = g_strdup_printf(
                "serverless builds run in ACR Tasks, outside the VNet: set the workspace's "
                "imageBuildCompute to a compute cluster in the VNet that can reach %s and "
                "the internet (how-to-secure-workspace-vnet.md, Enable Azure Container "
                "Registry) [domain §4.5]",
                model_service_fqdn(f->registry, "registry"));
            const char *fixes[] = {NULL, fix};
            model_net_join_activity_fixes(net, f->pub.name, (const char *const *)names->pdata,
                                          fixes, names->len);
            g_ptr_array_free(names, TRUE);
            return;
        }
        break;
    case SCN_ACTIVITY_NONE:
        break;
    }
    model_net_join_activity(net, f->pub.name, (const char *const *)names->pdata, names->len);
    g_ptr_array_free(names, TRUE);
}
