/*
 * scn_activity.c — flows[].activity (contract.md §4, domain.md §4.1, §4.2): an activity
 * is the documented sequence of connections a user action makes, each a sub-flow
 * "<flow>/<part>" with its own verdict, judged together in the flow's own verdict
 * (model_net_join_activity). Every name comes from the model: the managed services'
 * public names, the workspace's, its default storage's and its registry's FQDNs.
 *
 *   studio-access (from a client): aad, studio (ml.azure.com via AFD), arm, workspace-api,
 *                                  storage-blob — each HTTPS through the client's resolver
 *   sdk-access (from a client):    aad, arm, workspace-api, storage-blob
 *   data-profile (no from):        storage-blob — the data-profiling service to the default
 *                                  storage, with the workspace's identity
 *   docker-images (from a host):   mcr, viennaglobal; with customImage: true, acr only
 */
#include "model/scn_internal.h"

#include <string.h>

static const char *const activity_names[] = {"studio-access", "sdk-access", "data-profile",
                                             "docker-images"};

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
    const ScnNode *from_ref = scn_get(m, "from");
    if (f->activity == SCN_ACTIVITY_DATA_PROFILE) {
        if (from_ref)
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "from")->mark,
                            "data-profile is the data-profiling service's call: drop 'from'");
        f->pub.from = g_strdup("data-profiling");
    } else {
        const char *t = NULL;
        const ScnHostDef *from;
        g_autofree char *what = g_strdup_printf("flow '%s'", f->pub.name);
        if (!scn_req_node(m, "from", what, &from_ref, error) ||
            !scn_node_string(from_ref, "from", &t, error) ||
            !(from = scn_names_resolve(&ld->hosts, from_ref, error)))
            return false;
        if (!from->nic && !from->public_ip)
            return scn_fail(error, SCN_ERROR_VALUE, &from_ref->mark,
                            "host '%s' has no address to send from (give it a publicIp)", t);
        f->from = from->host;
        f->pub.from = g_strdup(t);
    }
    const ScnNode *ci = scn_get_key(m, "customImage");
    if (ci && f->activity != SCN_ACTIVITY_DOCKER_IMAGES)
        return scn_fail(error, SCN_ERROR_SCHEMA, &ci->mark,
                        "'customImage' applies to the docker-images activity only");
    if (!scn_opt_bool(m, "customImage", &f->custom_image, error))
        return false;
    f->pub.to = g_strdup_printf("activity %s", kind);
    if (!model_net_managed_address(ld->net, "aad"))
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                        "activity '%s' reaches the services AML depends on: add "
                        "'managedServices: true'",
                        kind);
    f->workspace = scn_entry_service(ld, MODEL_SERVICE_WORKSPACE);
    f->storage = scn_entry_service(ld, MODEL_SERVICE_STORAGE);
    f->registry = scn_entry_service(ld, MODEL_SERVICE_REGISTRY);
    bool needs_ws = f->activity != SCN_ACTIVITY_DOCKER_IMAGES;
    if (needs_ws && (!f->workspace || !f->storage))
        return scn_fail(error, SCN_ERROR_VALUE, &v->mark,
                        "activity '%s' needs a workspace with its storage account", kind);
    if (f->custom_image && !f->registry)
        return scn_fail(error, SCN_ERROR_VALUE, &ci->mark,
                        "customImage needs the workspace's containerRegistry");
    return true;
}

typedef struct {
    const char *part;
    const char *fqdn;
} Part;

void scn_replay_activity(ScnScenario *scn, ScnFlowDef *f)
{
    ModelNet *net = scn->net;
    Part parts[5];
    size_t n = 0;
    const char *api = f->workspace ? model_service_fqdn(f->workspace, "api") : NULL;
    const char *blob = f->storage ? model_service_fqdn(f->storage, "blob") : NULL;
    switch (f->activity) {
    case SCN_ACTIVITY_STUDIO:
    case SCN_ACTIVITY_SDK:
        parts[n++] = (Part){"aad", model_net_managed_fqdn(net, "aad")};
        if (f->activity == SCN_ACTIVITY_STUDIO)
            parts[n++] = (Part){"studio", model_net_managed_fqdn(net, "afd")};
        parts[n++] = (Part){"arm", model_net_managed_fqdn(net, "arm")};
        parts[n++] = (Part){"workspace-api", api};
        parts[n++] = (Part){"storage-blob", blob};
        break;
    case SCN_ACTIVITY_DOCKER_IMAGES:
        if (f->custom_image) {
            parts[n++] = (Part){"acr", model_service_fqdn(f->registry, "registry")};
        } else {
            parts[n++] = (Part){"mcr", model_net_managed_fqdn(net, "mcr")};
            parts[n++] = (Part){"viennaglobal", model_net_managed_fqdn(net, "viennaglobal")};
        }
        break;
    case SCN_ACTIVITY_DATA_PROFILE: {
        g_autofree char *name = g_strdup_printf("%s/storage-blob", f->pub.name);
        int idx = model_net_start_data_profiling(net, name, f->workspace, f->storage, f->at);
        model_net_join_activity(net, f->pub.name, &idx, 1);
        return;
    }
    case SCN_ACTIVITY_NONE:
        return;
    }
    int idx[G_N_ELEMENTS(parts)];
    for (size_t i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("%s/%s", f->pub.name, parts[i].part);
        ModelFlowSpec spec = {.name = name,
                              .from = f->from,
                              .fqdn = parts[i].fqdn,
                              .port = 443,
                              .proto = MODEL_IPPROTO_TCP,
                              .tls = true,
                              .request = true};
        idx[i] = parts[i].fqdn ? model_net_start_flow(net, &spec, f->at) : -1;
    }
    model_net_join_activity(net, f->pub.name, idx, n);
}
