/*
 * service_identity.c — identities, Azure role assignments, and what a storage account
 * checks about the caller once its firewall let a request in.
 *
 * Sources (azdocs: is MicrosoftDocs/azure-docs):
 *  - Storage data access with Microsoft Entra credentials needs a data role: "Storage Blob
 *    Data Reader", "… Contributor", "… Owner" and their queue/table/file twins; Owner and
 *    Contributor are control-plane roles and grant no data access
 *    (azdocs:articles/storage/blobs/assign-azure-role-data-access.md). A refused request:
 *    403 AuthorizationPermissionMismatch "This request is not authorized to perform this
 *    operation using this permission." (observed: the PowerShell output quoted in the
 *    storage ABAC tutorials, and SDK errors in many issue trackers).
 *  - Data profiling: "the workspace uses a service principal to access storage … add the
 *    service principal for the workspace to the Reader role to the private endpoint of the
 *    storage account. This role is used to verify the workspace and storage subnet
 *    information. If they're the same, access is allowed. Finally, the service principal
 *    also requires Blob data contributor access" (azdocs:articles/machine-learning/
 *    concept-secure-network-traffic-flow.md); "Your storage account may have multiple
 *    private endpoints … Add the managed identity to both endpoints"
 *    (azdocs:articles/machine-learning/how-to-enable-studio-virtual-network.md, which asks
 *    only for Blob Data Reader).
 *  - Validation: "If the storage account uses a service endpoint, the workspace private
 *    endpoint and storage service endpoint must be in the same subnet of the VNet. If the
 *    storage account uses a private endpoint, the workspace private endpoint and storage
 *    private endpoint must be in the same VNet. In this case, they can be in different
 *    subnets." (azdocs:articles/machine-learning/how-to-secure-workspace-vnet.md).
 *  - The studio's message when profiling fails: "Unable to profile this dataset. This might
 *    be because your data is stored behind a virtual network or your data does not support
 *    profile." (domain.md §4.2, seed 004).
 */
#include "model/net_internal.h"

#include <string.h>

#define SERVICE_ERROR (g_quark_from_static_string("model-service"))
#define PE_SCOPE      "/privateEndpoints/"

#define PROFILE_FAILED                                                                             \
    "\"Unable to profile this dataset. This might be because your data is stored behind a "        \
    "virtual network or your data does not support profile.\""
#define PERMISSION_MISMATCH                                                                        \
    "AuthorizationPermissionMismatch \"This request is not authorized to perform this "            \
    "operation using this permission.\""

/* Roles that read a resource's configuration (Microsoft.Network/privateEndpoints/read). */
static const char *const reader_roles[] = {"Reader", "Contributor", "Owner", NULL};
static const char *const blob_roles[] = {
    "Storage Blob Data Reader", "Storage Blob Data Contributor", "Storage Blob Data Owner", NULL};
static const char *const queue_roles[] = {
    "Storage Queue Data Reader", "Storage Queue Data Contributor",
    "Storage Queue Data Message Processor", "Storage Queue Data Message Sender", NULL};
static const char *const table_roles[] = {"Storage Table Data Reader",
                                          "Storage Table Data Contributor", NULL};
static const char *const file_roles[] = {"Storage File Data Privileged Reader",
                                         "Storage File Data Privileged Contributor", NULL};
/* Other built-in roles scenarios name (azdocs:articles/role-based-access-control/
 * built-in-roles.md). */
static const char *const other_roles[] = {"AcrPull",
                                          "AcrPush",
                                          "AzureML Data Scientist",
                                          "Key Vault Administrator",
                                          "Key Vault Reader",
                                          "Key Vault Secrets Officer",
                                          "Key Vault Secrets User",
                                          "Network Contributor",
                                          "Storage Account Contributor",
                                          NULL};

static const char *const *const role_lists[] = {reader_roles, blob_roles, queue_roles,
                                                table_roles,  file_roles, other_roles};

static const char *known_role(const char *role)
{
    for (size_t l = 0; l < G_N_ELEMENTS(role_lists); l++)
        for (const char *const *r = role_lists[l]; *r; r++)
            if (g_ascii_strcasecmp(*r, role) == 0)
                return *r;
    return NULL;
}

ModelService *model__service_of_identity(ModelNet *net, const char *identity)
{
    if (!identity || !net->services)
        return NULL;
    GPtrArray *list = net->services->services;
    for (guint i = 0; i < list->len; i++) {
        ModelService *svc = g_ptr_array_index(list, i);
        if (svc->identity && g_ascii_strcasecmp(svc->identity, identity) == 0)
            return svc;
    }
    return NULL;
}

/* The private endpoint of svc a scope names: by NIC name, else by sub-resource when only
 * one endpoint serves it. */
static const ModelServicePe *scope_pe(const ModelService *svc, const char *which, bool *ambiguous)
{
    const ModelServicePe *by_sub = NULL;
    int n_sub = 0;
    *ambiguous = false;
    for (guint i = 0; i < svc->pes->len; i++) {
        const ModelServicePe *pe = g_ptr_array_index(svc->pes, i);
        if (strcmp(pe->nic->name, which) == 0)
            return pe;
        if (g_ascii_strcasecmp(pe->subresource, which) == 0) {
            by_sub = pe;
            n_sub++;
        }
    }
    *ambiguous = n_sub > 1;
    return n_sub == 1 ? by_sub : NULL;
}

static char *pe_scope(const ModelService *svc, const ModelServicePe *pe)
{
    return g_strdup_printf("%s" PE_SCOPE "%s", svc->name, pe->nic->name);
}

gboolean model_net_assign_role(ModelNet *net, const char *identity, const char *role,
                               const char *scope, GError **error)
{
    if (!identity || !*identity) {
        g_set_error(error, SERVICE_ERROR, 0, "a role assignment needs an identity");
        return FALSE;
    }
    const char *canon = role ? known_role(role) : NULL;
    if (!canon) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "role '%s' is not a built-in role the model knows (e.g. Reader, Storage Blob "
                    "Data Reader, Storage Blob Data Contributor, AcrPull, Key Vault Secrets User)",
                    role ? role : "");
        return FALSE;
    }
    const char *slash = scope ? strstr(scope, PE_SCOPE) : NULL;
    g_autofree char *svc_name =
        scope ? g_strndup(scope, slash ? (gsize)(slash - scope) : strlen(scope)) : NULL;
    ModelService *svc = model_net_find_service(net, svc_name);
    if (!svc) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "role assignment scope '%s': no service named '%s' (scopes are a service, "
                    "or <service>/privateEndpoints/<endpoint>)",
                    scope ? scope : "", svc_name ? svc_name : "");
        return FALSE;
    }
    g_autofree char *canon_scope = NULL;
    if (slash) {
        bool ambiguous;
        const ModelServicePe *pe = scope_pe(svc, slash + strlen(PE_SCOPE), &ambiguous);
        if (!pe) {
            g_set_error(error, SERVICE_ERROR, 0,
                        ambiguous ? "role assignment scope '%s': several private endpoints of %s "
                                    "serve that sub-resource: name the endpoint"
                                  : "role assignment scope '%s': %s has no such private endpoint",
                        scope, svc->name);
            return FALSE;
        }
        canon_scope = pe_scope(svc, pe);
    } else {
        canon_scope = g_strdup(svc->name);
    }
    ModelServiceSet *set = model__services(net);
    for (guint i = 0; i < set->roles->len; i++) {
        const ModelRoleAssignment *r = g_ptr_array_index(set->roles, i);
        if (g_ascii_strcasecmp(r->identity, identity) == 0 && strcmp(r->role, canon) == 0 &&
            strcmp(r->scope, canon_scope) == 0)
            return TRUE; /* Azure refuses a duplicate assignment; the effect is the same */
    }
    ModelRoleAssignment *r = g_new0(ModelRoleAssignment, 1);
    r->identity = g_strdup(identity);
    r->role = g_strdup(canon);
    r->scope = g_steal_pointer(&canon_scope);
    g_ptr_array_add(set->roles, r);
    return TRUE;
}

bool model__has_role(ModelNet *net, const char *identity, const char *const *roles,
                     const char *scope)
{
    if (!identity || !net->services)
        return false;
    GPtrArray *list = net->services->roles;
    for (guint i = 0; i < list->len; i++) {
        const ModelRoleAssignment *r = g_ptr_array_index(list, i);
        if (g_ascii_strcasecmp(r->identity, identity) != 0 || strcmp(r->scope, scope) != 0)
            continue;
        for (const char *const *want = roles; *want; want++)
            if (strcmp(r->role, *want) == 0)
                return true;
    }
    return false;
}

/* ---- storage's checks ---- */

static void refuse(ModelAppResponse *out, const ModelService *svc, ModelCause cause, char *detail,
                   char *hint)
{
    out->status = 403;
    out->cause = cause;
    out->at = g_strdup(svc->name);
    out->detail = detail;
    out->hint = hint;
}

static void identity_ok(ModelNet *net, const ModelPacket *pkt, const ModelService *svc,
                        const char *object, const char *detail)
{
    model__service_step(net, pkt, svc->name, MODEL_STAGE_IDENTITY, object, "allow", detail);
}

static bool has_storage_endpoint(const ModelSubnet *s)
{
    for (guint i = 0; i < s->service_endpoints->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(s->service_endpoints, i), "Microsoft.Storage") ==
            0)
            return true;
    return false;
}

static bool storage_allows_subnet(const ModelService *storage, const ModelSubnet *s)
{
    for (guint i = 0; i < storage->vnet_rules->len; i++)
        if (g_ptr_array_index(storage->vnet_rules, i) == s)
            return true;
    return false;
}

/* Where a service's private endpoints are, for messages: "vnet-a/snet-pe (pe-x), …". */
static char *pe_places(const ModelService *svc)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < svc->pes->len; i++) {
        const ModelServicePe *pe = g_ptr_array_index(svc->pes, i);
        g_string_append_printf(s, "%s%s (%s)", i ? ", " : "", pe->nic->subnet->path, pe->nic->name);
    }
    if (!svc->pes->len)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

/* The AML service's validation of where the workspace's and the storage's endpoints sit.
 * True when it passes (or the storage is not in a VNet at all); else false with out
 * filled. */
static bool validate_placement(ModelNet *net, const ModelPacket *pkt, ModelService *storage,
                               const ModelService *ws, ModelAppResponse *out)
{
    const char *object = ws->name;
    /* The validation pairs the workspace's private endpoint with the storage's ("when the
     * workspace uses a private endpoint", how-to-enable-studio-virtual-network.md): a
     * workspace without one has nothing to validate. */
    if (!ws->pes->len)
        return true;
    if (storage->pes->len) {
        for (guint i = 0; i < ws->pes->len; i++) {
            const ModelServicePe *wp = g_ptr_array_index(ws->pes, i);
            for (guint k = 0; k < storage->pes->len; k++) {
                const ModelServicePe *sp = g_ptr_array_index(storage->pes, k);
                if (wp->nic->subnet->vnet != sp->nic->subnet->vnet)
                    continue;
                g_autofree char *d = g_strdup_printf(
                    "private link validation: workspace private endpoint %s and storage private "
                    "endpoint %s are both in %s",
                    wp->nic->name, sp->nic->name, wp->nic->subnet->vnet->name);
                identity_ok(net, pkt, storage, object, d);
                return true;
            }
        }
        g_autofree char *wsp = pe_places(ws), *stp = pe_places(storage);
        const ModelServicePe *first_ws = ws->pes->len ? g_ptr_array_index(ws->pes, 0) : NULL;
        char *hint =
            first_ws
                ? g_strdup_printf("create a private endpoint of %s in %s, the VNet of workspace "
                                  "%s's private endpoint (the subnet may differ)",
                                  storage->name, first_ws->nic->subnet->vnet->name, ws->name)
                : g_strdup_printf("give workspace %s a private endpoint in the VNet of %s's "
                                  "private endpoints",
                                  ws->name, storage->name);
        refuse(out, storage, MODEL_CAUSE_PRIVATE_LINK_VALIDATION_FAILED,
               g_strdup_printf("%s (storage with private endpoints needs the workspace's private "
                               "endpoint in the same VNet: workspace %s: %s; storage %s: %s)",
                               PROFILE_FAILED, ws->name, wsp, storage->name, stp),
               hint);
        return false;
    }
    if (!storage->vnet_rules->len)
        return true; /* not behind a VNet: nothing to match */
    for (guint i = 0; i < ws->pes->len; i++) {
        const ModelServicePe *wp = g_ptr_array_index(ws->pes, i);
        const ModelSubnet *s = wp->nic->subnet;
        if (!has_storage_endpoint(s) || !storage_allows_subnet(storage, s))
            continue;
        g_autofree char *d = g_strdup_printf(
            "private link validation: workspace private endpoint %s sits in %s, which has the "
            "Microsoft.Storage service endpoint and a virtual network rule on %s",
            wp->nic->name, s->path, storage->name);
        identity_ok(net, pkt, storage, object, d);
        return true;
    }
    g_autofree char *wsp = pe_places(ws);
    refuse(out, storage, MODEL_CAUSE_PRIVATE_LINK_VALIDATION_FAILED,
           g_strdup_printf("%s (storage with service endpoints needs the workspace's private "
                           "endpoint in a subnet with the storage service endpoint: workspace %s: "
                           "%s)",
                           PROFILE_FAILED, ws->name, wsp),
           g_strdup_printf("put workspace %s's private endpoint in a subnet that has the "
                           "Microsoft.Storage service endpoint and a virtual network rule on %s",
                           ws->name, storage->name));
    return false;
}

/* The sub-resource a request is for, from the name its TLS ClientHello carries. */
static const char *subresource_of(const ModelService *storage, const ModelFlow *flow)
{
    for (guint i = 0; flow->sni && i < storage->fqdns->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(storage->fqdns, i), flow->sni) == 0)
            return g_ptr_array_index(storage->subresources, i);
    return "blob";
}

static const char *const *data_roles(const char *sub)
{
    if (strcmp(sub, "queue") == 0)
        return queue_roles;
    if (strcmp(sub, "table") == 0)
        return table_roles;
    if (strcmp(sub, "file") == 0)
        return file_roles;
    return blob_roles; /* blob and dfs (Data Lake Storage Gen2 uses the blob roles) */
}

static char *role_list(const char *const *roles)
{
    GString *s = g_string_new(NULL);
    for (const char *const *r = roles; *r; r++)
        g_string_append_printf(s, "%s%s", r == roles ? "" : r[1] ? ", " : " or ", *r);
    return g_string_free(s, FALSE);
}

bool model__storage_authorize(ModelNet *net, ModelService *storage, ModelFlow *flow,
                              const ModelPacket *pkt, ModelService *caller_ws,
                              ModelAppResponse *out)
{
    const char *id = flow->identity;
    if (!id || !*id)
        return true; /* an account key or a SAS: no role to check */
    if (caller_ws) {
        /* The AML service reads the storage account's private endpoints with the
         * workspace's identity before it trusts the placement. */
        for (guint i = 0; i < storage->pes->len; i++) {
            const ModelServicePe *pe = g_ptr_array_index(storage->pes, i);
            g_autofree char *scope = pe_scope(storage, pe);
            if (!model__has_role(net, id, reader_roles, scope)) {
                refuse(out, storage, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED,
                       g_strdup_printf("%s (the AML service cannot read private endpoint %s: "
                                       "identity %s has no Reader role on %s)",
                                       PROFILE_FAILED, pe->nic->name, id, scope),
                       g_strdup_printf("assign the Reader role on %s to %s, workspace %s's "
                                       "managed identity (a role on the account does not reach "
                                       "its private endpoints)",
                                       scope, id, caller_ws->name));
                return false;
            }
            g_autofree char *d = g_strdup_printf("Reader on %s: the AML service may read the "
                                                 "endpoint's placement",
                                                 scope);
            identity_ok(net, pkt, storage, scope, d);
        }
        if (!validate_placement(net, pkt, storage, caller_ws, out))
            return false;
    }
    const char *sub = subresource_of(storage, flow);
    const char *const *roles = data_roles(sub);
    if (!model__has_role(net, id, roles, storage->name)) {
        g_autofree char *names = role_list(roles);
        refuse(out, storage, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED,
               g_strdup_printf("%s (identity %s holds none of %s on %s)", PERMISSION_MISMATCH, id,
                               names, storage->name),
               g_strdup_printf("assign %s on %s to %s", roles[0], storage->name, id));
        if (caller_ws) {
            char *d = out->detail;
            out->detail = g_strdup_printf("%s; %s", PROFILE_FAILED, d);
            g_free(d);
        }
        return false;
    }
    g_autofree char *d = g_strdup_printf(
        "%s holds a %s data role on %s (Microsoft Entra authorization)", id, sub, storage->name);
    identity_ok(net, pkt, storage, storage->name, d);
    return true;
}
