/*
 * service.c — PaaS services as hosts: a storage account, a key vault, a container registry
 * and an AML workspace, each with its public address, listeners, names and the firewall
 * its request hook applies to every request that reaches it.
 *
 * The decision uses only what the request shows: the interface it arrived on (a private
 * endpoint's NIC, or the public endpoint), its source address (public? from the account's
 * region? a subnet's private address, which only a service endpoint delivers here), and
 * the caller's identity. The rules, with their sources (azdocs: is MicrosoftDocs/azure-docs):
 *  - "Storage firewall rules apply to the public endpoint of a storage account. You don't
 *    need any firewall access rules to allow traffic for private endpoints"
 *    (azdocs:articles/storage/common/storage-network-security.md, Scenarios); the same for
 *    ACR ("IP network rules do not apply to private endpoints",
 *    azdocs:articles/container-registry/container-registry-access-selected-networks.md).
 *  - Storage IP rules: public addresses only, no /31 or /32 prefixes, and they "have no
 *    effect on requests that originate from the same Azure region as the storage account.
 *    Use Virtual network rules to allow same-region requests" (storage-network-security.md,
 *    Restrictions for IP network rules).
 *  - Virtual network rules match requests that carry a subnet's identity: "The identities
 *    of the virtual network and the subnet are also transmitted with each request" of a
 *    service endpoint (storage-network-security.md, 2017 edition, Grant access from a
 *    virtual network); forward.c keeps the private source address on that path.
 *  - "Access to a storage account from trusted services takes the highest precedence over
 *    other network access restrictions. If you set Public network access to Disabled …
 *    any resource instances and exceptions that you previously configured … will remain in
 *    effect" (storage-network-security.md, Restrictions and considerations). Azure Machine
 *    Learning (Microsoft.MachineLearningServices/workspaces) is on the list of "Trusted
 *    access based on a managed identity".
 *  - Key Vault: 403 ForbiddenByFirewall "Client address is not authorized and caller is
 *    not a trusted service." (azdocs:articles/key-vault/general/rest-error-codes.md); with
 *    public access disabled, ForbiddenByConnection "Public network access is disabled and
 *    request is not from a trusted service nor via an approved private link." (observed);
 *    "Allow trusted Microsoft services to bypass this firewall" (domain.md §6).
 *  - ACR: network rules and private endpoints are Premium features; "Disabling the public
 *    endpoint overrides all firewall configurations"; a blocked client gets 403 DENIED
 *    "client with IP '<ip>' is not allowed access. Refer https://aka.ms/acr/firewall to
 *    grant access." (container-registry-access-selected-networks.md, Troubleshoot);
 *    trusted services, on by default, bypass the network rules of a network-restricted
 *    registry (azdocs:articles/container-registry/allow-access-trusted-services.md).
 *  - AML workspace: public access Disabled | Enabled | Enabled from selected IPs; a refused
 *    client gets "User is not authorized to access provided resources due to none of the
 *    workspaces/registries are accessible from outside of the designated private link."
 *    (observed: Azure/azure-cli-extensions#6294).
 * Identities and roles (what storage checks once its firewall let a request in) live in
 * service_identity.c.
 */
#include "model/net_internal.h"

#include <string.h>

#define SERVICE_ERROR (g_quark_from_static_string("model-service"))

/* Limits Azure enforces (azure-facts.md §4). */
#define STORAGE_MAX_IP_RULES  200
#define STORAGE_MAX_VNET_RULE 200
#define KV_MAX_IP_RULES       1000
#define KV_MAX_VNET_RULES     200
#define ACR_MAX_IP_RULES      100
#define WS_MAX_IP_RULES       200
#define TAG_SCAN_LIMIT        4096 /* addresses tried per prefix when allocating */

#define STORAGE_DENIED                                                                             \
    "AuthorizationFailure \"This request is not authorized to perform this operation.\""

static const struct {
    ModelServiceKind kind;
    const char *what;     /* for messages */
    const char *tag;      /* the service tag its public address comes from */
    const char *provider; /* Azure resource provider, for traces */
} kinds[] = {
    {MODEL_SERVICE_STORAGE, "storage account", "Storage", "Microsoft.Storage"},
    {MODEL_SERVICE_KEY_VAULT, "key vault", "AzureKeyVault", "Microsoft.KeyVault"},
    {MODEL_SERVICE_REGISTRY, "container registry", "AzureContainerRegistry",
     "Microsoft.ContainerRegistry"},
    {MODEL_SERVICE_WORKSPACE, "workspace", "AzureMachineLearning",
     "Microsoft.MachineLearningServices"},
};

static const char *what_of(const ModelService *svc)
{
    return kinds[svc->kind].what;
}

/* ---- the set ---- */

static void service_free(gpointer p)
{
    ModelService *s = p;
    g_free(s->name);
    g_free(s->guid);
    g_free(s->identity);
    g_free(s->app_insights);
    g_array_free(s->ip_rules, TRUE);
    g_ptr_array_free(s->vnet_rules, TRUE);
    g_ptr_array_free(s->instance_rules, TRUE);
    g_ptr_array_free(s->pes, TRUE);
    g_ptr_array_free(s->subresources, TRUE);
    g_ptr_array_free(s->fqdns, TRUE);
    g_free(s);
}

static void instance_rule_free(gpointer p)
{
    ModelInstanceRule *r = p;
    g_free(r->type);
    g_free(r->instance);
    g_free(r);
}

static void pe_free(gpointer p)
{
    ModelServicePe *pe = p;
    g_free(pe->subresource);
    g_free(pe);
}

static void role_free(gpointer p)
{
    ModelRoleAssignment *r = p;
    g_free(r->identity);
    g_free(r->role);
    g_free(r->scope);
    g_free(r);
}

ModelServiceSet *model__services(ModelNet *net)
{
    if (!net->services) {
        ModelServiceSet *set = g_new0(ModelServiceSet, 1);
        set->services = g_ptr_array_new_with_free_func(service_free);
        set->by_name = g_hash_table_new(g_str_hash, g_str_equal);
        set->roles = g_ptr_array_new_with_free_func(role_free);
        net->services = set;
    }
    return net->services;
}

void model__services_free(ModelNet *net)
{
    ModelServiceSet *set = net->services;
    if (!set)
        return;
    g_hash_table_destroy(set->by_name);
    g_ptr_array_free(set->services, TRUE);
    g_ptr_array_free(set->roles, TRUE);
    if (set->managed_fqdns)
        g_hash_table_destroy(set->managed_fqdns);
    g_free(set);
    net->services = NULL;
}

/* ---- addresses from service tags ---- */

gboolean model__service_tag_address(ModelNet *net, const char *tag, uint32_t *out, GError **error)
{
    const ModelPrefixSet *set = model_service_tags_lookup(net->tags, tag);
    const char *canon = model_service_tags_canonical_name(net->tags, tag);
    if (!set || !canon) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "service tag %s is not in the table: load the published \"Azure IP Ranges "
                    "and Service Tags\" file that has it",
                    tag);
        return FALSE;
    }
    for (size_t i = 0; i < set->len; i++) {
        ModelPrefix p = set->items[i];
        uint64_t size = 1ull << (32 - p.len);
        /* Skip a block's first addresses, as Azure does in subnets: round numbers read as
         * network addresses in a trace. */
        uint64_t first = size >= 8 ? 4 : 0, last = size >= 8 ? size - 2 : size - 1;
        if (last - first > TAG_SCAN_LIMIT)
            last = first + TAG_SCAN_LIMIT;
        for (uint64_t off = first; off <= last; off++) {
            uint32_t ip = p.addr + (uint32_t)off;
            if (g_hash_table_contains(net->public_ip, GUINT_TO_POINTER(ip)) ||
                (net->reserved_public &&
                 g_hash_table_contains(net->reserved_public, GUINT_TO_POINTER(ip))))
                continue;
            /* The address must be explained by this very tag, not a more specific one
             * that happens to overlap it. */
            const char *name = model_service_tags_name_of(net->tags, ip);
            if (!name || g_ascii_strcasecmp(name, canon) != 0)
                continue;
            *out = ip;
            return TRUE;
        }
    }
    g_set_error(error, SERVICE_ERROR, 0, "service tag %s has no free address left", canon);
    return FALSE;
}

void model__service_step(ModelNet *net, const ModelPacket *pkt, const char *node, ModelStage stage,
                         const char *object, const char *action, const char *detail)
{
    /* model__step only reads the flow and frame number: a marker carries them. */
    ModelPacket marker = {.flow = pkt->flow, .frame_no = pkt->frame_no};
    model__step(net, &marker, node, stage, object, action, detail);
}

/* ---- creation ---- */

static bool name_chars(const char *name, size_t min, size_t max, bool lower_only, bool hyphen)
{
    size_t len = strlen(name);
    if (len < min || len > max)
        return false;
    for (const char *c = name; *c; c++) {
        bool ok = g_ascii_isdigit(*c) || (lower_only ? g_ascii_islower(*c) : g_ascii_isalpha(*c)) ||
                  (hyphen && *c == '-');
        if (!ok)
            return false;
    }
    return true;
}

static void service_request(ModelNet *net, ModelHost *host, ModelNic *nic, ModelFlow *flow,
                            const ModelPacket *pkt, ModelAppResponse *out);

static const ModelHostApp service_app = {.request = service_request};

static void add_name(ModelService *svc, const char *subresource, char *fqdn)
{
    g_ptr_array_add(svc->subresources, g_strdup(subresource));
    g_ptr_array_add(svc->fqdns, fqdn);
    model_net_register_fqdn(svc->net, fqdn, svc->host);
}

/* A service host at a free address of <tag>.<region>, listening on TCP 443. */
static ModelService *service_new(ModelNet *net, ModelServiceKind kind, const char *name,
                                 GError **error)
{
    g_autofree char *tag = g_strdup_printf("%s.%s", kinds[kind].tag, net->region);
    uint32_t ip;
    if (model_net_find_service(net, name)) {
        g_set_error(error, SERVICE_ERROR, 0, "service '%s' is defined twice", name);
        return NULL;
    }
    if (!model__service_tag_address(net, tag, &ip, error))
        return NULL;
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_SERVICE, error);
    if (!host || !model_host_set_public_ip(net, host, ip, error))
        return NULL;
    ModelService *svc = g_new0(ModelService, 1);
    svc->net = net;
    svc->kind = kind;
    svc->name = g_strdup(name);
    svc->host = host;
    svc->access = MODEL_PUBLIC_ACCESS_ENABLED;
    /* networkAcls.bypass defaults to AzureServices (storage, key vault); ACR's "allow
     * trusted services" is on by default (allow-access-trusted-services.md). */
    svc->trusted_services = true;
    svc->ip_rules = g_array_new(FALSE, FALSE, sizeof(ModelPrefix));
    svc->vnet_rules = g_ptr_array_new();
    svc->instance_rules = g_ptr_array_new_with_free_func(instance_rule_free);
    svc->pes = g_ptr_array_new_with_free_func(pe_free);
    svc->subresources = g_ptr_array_new_with_free_func(g_free);
    svc->fqdns = g_ptr_array_new_with_free_func(g_free);
    host->app = &service_app;
    host->app_data = svc;
    model_host_listen(host, MODEL_IPPROTO_TCP, 443);
    ModelServiceSet *set = model__services(net);
    g_ptr_array_add(set->services, svc);
    g_hash_table_insert(set->by_name, svc->name, svc);
    return svc;
}

static const char *const storage_subresources[] = {"blob", "file", "queue", "table", "dfs"};

ModelService *model_net_add_storage_account(ModelNet *net, const char *name, GError **error)
{
    /* "Storage account names must be between 3 and 24 characters in length and may contain
     * numbers and lowercase letters only" (azdocs:articles/storage/common/
     * storage-account-overview.md). */
    if (!name || !name_chars(name, 3, 24, true, false)) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "storage account name '%s': 3 to 24 lower-case letters and digits",
                    name ? name : "");
        return NULL;
    }
    ModelService *svc = service_new(net, MODEL_SERVICE_STORAGE, name, error);
    if (!svc)
        return NULL;
    /* Azure Files over SMB 3 (azdocs:articles/storage/files/storage-files-networking-
     * overview.md: "SMB uses port 445"). */
    model_host_listen(svc->host, MODEL_IPPROTO_TCP, 445);
    for (size_t i = 0; i < G_N_ELEMENTS(storage_subresources); i++)
        add_name(svc, storage_subresources[i],
                 g_strdup_printf("%s.%s.core.windows.net", name, storage_subresources[i]));
    return svc;
}

ModelService *model_net_add_key_vault(ModelNet *net, const char *name, GError **error)
{
    /* "Vault name must be a 3-24 character string, containing only 0-9, a-z, A-Z, and -"
     * (azdocs:articles/key-vault/general/about-keys-secrets-certificates.md). */
    if (!name || !name_chars(name, 3, 24, false, true)) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "key vault name '%s': 3 to 24 letters, digits and hyphens", name ? name : "");
        return NULL;
    }
    ModelService *svc = service_new(net, MODEL_SERVICE_KEY_VAULT, name, error);
    g_autofree char *lower = g_ascii_strdown(name, -1);
    if (svc)
        add_name(svc, "vault", g_strdup_printf("%s.vault.azure.net", lower));
    return svc;
}

ModelService *model_net_add_container_registry(ModelNet *net, const char *name, ModelAcrSku sku,
                                               GError **error)
{
    /* "Alphanumeric … between 5 and 50 characters" (azdocs:articles/container-registry/
     * container-registry-get-started-portal.md). */
    if (!name || !name_chars(name, 5, 50, false, false)) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "container registry name '%s': 5 to 50 letters and "
                    "digits",
                    name ? name : "");
        return NULL;
    }
    ModelService *svc = service_new(net, MODEL_SERVICE_REGISTRY, name, error);
    if (!svc)
        return NULL;
    svc->sku = sku;
    g_autofree char *lower = g_ascii_strdown(name, -1);
    add_name(svc, "registry", g_strdup_printf("%s.azurecr.io", lower));
    /* "Private endpoint DNS needs <reg>.azurecr.io and <reg>.<region>.data.azurecr.io"
     * (azure-facts.md §4). */
    add_name(svc, "data", g_strdup_printf("%s.%s.data.azurecr.io", lower, net->region));
    return svc;
}

static bool is_guid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
            return false;
    }
    return true;
}

ModelService *model_net_add_workspace(ModelNet *net, const char *name, const char *guid,
                                      GError **error)
{
    /* Workspace names: 3–33 characters, letters, digits, '-' and '_'
     * (azdocs:articles/machine-learning/how-to-manage-workspace.md). */
    bool ok = name && strlen(name) >= 3 && strlen(name) <= 33;
    for (const char *c = name; ok && *c; c++)
        ok = g_ascii_isalnum(*c) || *c == '-' || *c == '_';
    if (!ok) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "workspace name '%s': 3 to 33 letters, digits, '-' and '_'", name ? name : "");
        return NULL;
    }
    if (!is_guid(guid)) {
        g_set_error(error, SERVICE_ERROR, 0, "workspace '%s': id '%s' is not a GUID", name,
                    guid ? guid : "");
        return NULL;
    }
    ModelService *svc = service_new(net, MODEL_SERVICE_WORKSPACE, name, error);
    if (!svc)
        return NULL;
    svc->guid = g_ascii_strdown(guid, -1);
    /* "The workspace-managed identity in Azure AD has the same name as your Azure Machine
     * Learning workspace" (azdocs:articles/machine-learning/
     * how-to-enable-studio-virtual-network.md). */
    svc->identity = g_strdup(name);
    const char *r = net->region;
    add_name(svc, "api", g_strdup_printf("%s.workspace.%s.api.azureml.ms", svc->guid, r));
    add_name(svc, "cert", g_strdup_printf("%s.workspace.%s.cert.api.azureml.ms", svc->guid, r));
    /* ml-<ws-name>-<region>-<ws-guid>.<region>.notebooks.azure.net, the first label at
     * most 63 characters with the name truncated (how-to-custom-dns.md). */
    g_autofree char *lname = g_ascii_strdown(name, -1);
    for (char *c = lname; *c; c++)
        if (*c == '_')
            *c = '-'; /* '_' is not a host name character */
    int room = 63 - (int)(strlen("ml---") + strlen(r) + 36);
    if (room < 1)
        room = 1;
    add_name(svc, "notebooks",
             g_strdup_printf("ml-%.*s-%s-%s.%s.notebooks.azure.net", room, lname, r, svc->guid, r));
    return svc;
}

/* ---- accessors ---- */

ModelService *model_net_find_service(const ModelNet *net, const char *name)
{
    return net->services && name ? g_hash_table_lookup(net->services->by_name, name) : NULL;
}

ModelHost *model_service_host(const ModelService *svc)
{
    return svc->host;
}

ModelServiceKind model_service_kind(const ModelService *svc)
{
    return svc->kind;
}

const char *model_service_name(const ModelService *svc)
{
    return svc->name;
}

uint32_t model_service_public_ip(const ModelService *svc)
{
    return svc->host->public_ip;
}

const char *model_service_fqdn(const ModelService *svc, const char *subresource)
{
    for (guint i = 0; i < svc->fqdns->len; i++)
        if (!subresource || strcmp(g_ptr_array_index(svc->subresources, i), subresource) == 0)
            return g_ptr_array_index(svc->fqdns, i);
    return NULL;
}

const char *model_service_identity(const ModelService *svc)
{
    return svc->identity;
}

/* ---- network configuration ---- */

static gboolean premium_only(const ModelService *svc, const char *feature, GError **error)
{
    if (svc->kind != MODEL_SERVICE_REGISTRY || svc->sku == MODEL_ACR_PREMIUM)
        return TRUE;
    /* "Configuring firewall rules or using private endpoints is only available for the
     * Premium SKU"; "Modifying settings for access by trusted services is a feature of the
     * Premium service tier" (allow-access-trusted-services.md). */
    g_set_error(error, SERVICE_ERROR, 0,
                "container registry '%s': %s needs the Premium SKU (this registry is %s)",
                svc->name, feature, svc->sku == MODEL_ACR_BASIC ? "Basic" : "Standard");
    return FALSE;
}

gboolean model_service_set_public_access(ModelService *svc, ModelPublicAccess access,
                                         GError **error)
{
    if (access != MODEL_PUBLIC_ACCESS_ENABLED && !premium_only(svc, "network rules", error))
        return FALSE;
    svc->access = access;
    return TRUE;
}

gboolean model_service_add_ip_rule(ModelService *svc, const char *address, GError **error)
{
    ModelPrefix p;
    ModelPrefixStatus st = model_prefix_parse(address ? address : "", false, &p);
    if (st != MODEL_PREFIX_OK) {
        g_set_error(error, SERVICE_ERROR, 0, "%s '%s': IP rule '%s': %s", what_of(svc), svc->name,
                    address ? address : "", model_prefix_status_text(st));
        return FALSE;
    }
    if (!premium_only(svc, "network rules", error))
        return FALSE;
    if (model_ip_is_private(p.addr)) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "%s '%s': IP rule '%s': IP rules accept public addresses only (private "
                    "networks reach the service through virtual network rules or private "
                    "endpoints)",
                    what_of(svc), svc->name, address);
        return FALSE;
    }
    if (svc->kind == MODEL_SERVICE_STORAGE && strchr(address, '/') && p.len >= 31) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "storage account '%s': IP rule '%s': /31 and /32 prefixes are not supported; "
                    "give individual addresses",
                    svc->name, address);
        return FALSE;
    }
    guint max = svc->kind == MODEL_SERVICE_STORAGE     ? STORAGE_MAX_IP_RULES
                : svc->kind == MODEL_SERVICE_KEY_VAULT ? KV_MAX_IP_RULES
                : svc->kind == MODEL_SERVICE_REGISTRY  ? ACR_MAX_IP_RULES
                                                       : WS_MAX_IP_RULES;
    if (svc->ip_rules->len >= max) {
        g_set_error(error, SERVICE_ERROR, 0, "%s '%s': at most %u IP rules", what_of(svc),
                    svc->name, max);
        return FALSE;
    }
    g_array_append_val(svc->ip_rules, p);
    return TRUE;
}

gboolean model_service_add_vnet_rule(ModelService *svc, ModelSubnet *subnet, GError **error)
{
    if (svc->kind == MODEL_SERVICE_WORKSPACE) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "workspace '%s': a workspace's public access takes IP addresses only, not "
                    "virtual networks",
                    svc->name);
        return FALSE;
    }
    if (!premium_only(svc, "network rules", error))
        return FALSE;
    guint max = svc->kind == MODEL_SERVICE_KEY_VAULT ? KV_MAX_VNET_RULES : STORAGE_MAX_VNET_RULE;
    if (svc->vnet_rules->len >= max) {
        g_set_error(error, SERVICE_ERROR, 0, "%s '%s': at most %u virtual network rules",
                    what_of(svc), svc->name, max);
        return FALSE;
    }
    for (guint i = 0; i < svc->vnet_rules->len; i++)
        if (g_ptr_array_index(svc->vnet_rules, i) == subnet)
            return TRUE;
    g_ptr_array_add(svc->vnet_rules, subnet);
    return TRUE;
}

gboolean model_service_add_resource_instance_rule(ModelService *svc, const char *resource_type,
                                                  const char *instance, GError **error)
{
    if (svc->kind != MODEL_SERVICE_STORAGE) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "%s '%s': resource instance rules are a storage firewall feature", what_of(svc),
                    svc->name);
        return FALSE;
    }
    if (!resource_type || !strchr(resource_type, '/') || !instance || !*instance) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "storage account '%s': a resource instance rule needs a resource type "
                    "(Provider/type, e.g. Microsoft.MachineLearningServices/workspaces) and an "
                    "instance name",
                    svc->name);
        return FALSE;
    }
    ModelInstanceRule *r = g_new0(ModelInstanceRule, 1);
    r->type = g_strdup(resource_type);
    r->instance = g_strdup(instance);
    g_ptr_array_add(svc->instance_rules, r);
    return TRUE;
}

gboolean model_service_set_trusted_services(ModelService *svc, bool allow, GError **error)
{
    if (svc->kind == MODEL_SERVICE_WORKSPACE) {
        g_set_error(error, SERVICE_ERROR, 0,
                    "workspace '%s': workspaces have no trusted services exception", svc->name);
        return FALSE;
    }
    if (!premium_only(svc, "the trusted services setting", error))
        return FALSE;
    svc->trusted_services = allow;
    return TRUE;
}

gboolean model_service_set_app_insights(ModelService *ws, const char *name, bool scoped,
                                        ModelMonitorAccess ingestion, ModelMonitorAccess query,
                                        GError **error)
{
    if (ws->kind != MODEL_SERVICE_WORKSPACE || !name || !*name) {
        g_set_error(error, SERVICE_ERROR, 0, "'%s': Application Insights %s", ws->name,
                    ws->kind != MODEL_SERVICE_WORKSPACE ? "belongs to a workspace"
                                                        : "needs a name");
        return FALSE;
    }
    g_free(ws->app_insights);
    ws->app_insights = g_strdup(name);
    ws->monitor_scoped = scoped;
    ws->monitor_ingestion = ingestion;
    ws->monitor_query = query;
    return TRUE;
}

void model_service_set_image_build_compute(ModelService *ws, ModelCompute *c)
{
    g_return_if_fail(ws->kind == MODEL_SERVICE_WORKSPACE);
    ws->image_build = c;
}

ModelCompute *model_service_image_build_compute(const ModelService *ws)
{
    return ws->image_build;
}

void model_service_set_resources(ModelService *ws, ModelService *storage, ModelService *key_vault,
                                 ModelService *registry)
{
    g_return_if_fail(ws->kind == MODEL_SERVICE_WORKSPACE);
    ws->storage = storage;
    ws->key_vault = key_vault;
    ws->registry = registry;
    ws->resources_set = true;
}

static const struct {
    ModelServiceKind kind;
    const char *subresource; /* the groupId a private endpoint names */
    const char *serves;      /* the names it serves: a sub-resource, or "*" for all */
} pe_groups[] = {
    /* azdocs:articles/private-link/private-endpoint-dns.md, the sub-resource column. */
    {MODEL_SERVICE_STORAGE, "blob", "blob"},   {MODEL_SERVICE_STORAGE, "file", "file"},
    {MODEL_SERVICE_STORAGE, "queue", "queue"}, {MODEL_SERVICE_STORAGE, "table", "table"},
    {MODEL_SERVICE_STORAGE, "dfs", "dfs"},     {MODEL_SERVICE_KEY_VAULT, "vault", "*"},
    {MODEL_SERVICE_REGISTRY, "registry", "*"}, {MODEL_SERVICE_WORKSPACE, "amlworkspace", "*"},
};

ModelNic *model_service_add_private_endpoint(ModelNet *net, ModelService *svc, const char *name,
                                             const char *subresource, ModelSubnet *subnet,
                                             uint32_t ip, GError **error)
{
    const char *serves = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(pe_groups) && !serves; i++)
        if (pe_groups[i].kind == svc->kind && subresource &&
            g_ascii_strcasecmp(pe_groups[i].subresource, subresource) == 0)
            serves = pe_groups[i].serves;
    if (!serves) {
        g_set_error(error, SERVICE_ERROR, 0, "%s '%s' has no private link sub-resource '%s'",
                    what_of(svc), svc->name, subresource ? subresource : "");
        return NULL;
    }
    if (!premium_only(svc, "a private endpoint", error))
        return NULL;
    ModelNic *nic = model_net_add_private_endpoint(net, name, subnet, ip, svc->host, error);
    if (!nic)
        return NULL;
    /* The registry's endpoint carries both of its names (Azure gives it one address per
     * name; one suffices here: both reach the same host and the same firewall). */
    for (guint i = 0; i < svc->fqdns->len; i++) {
        const char *sub = g_ptr_array_index(svc->subresources, i);
        if ((strcmp(serves, "*") == 0 || strcmp(serves, sub) == 0) &&
            !model_private_endpoint_add_fqdn(net, nic, g_ptr_array_index(svc->fqdns, i), error))
            return NULL;
    }
    ModelServicePe *pe = g_new0(ModelServicePe, 1);
    pe->nic = nic;
    pe->subresource = g_ascii_strdown(subresource, -1);
    g_ptr_array_add(svc->pes, pe);
    return nic;
}

/* ---- the request hook ---- */

/* "IP network rules have no effect on requests that originate from the same Azure region
 * as the storage account": an address of AzureCloud.<region>, or one Azure gave a VM of
 * the scenario (whose VNets are all in the net's region): an instance public IP or a
 * default outbound access address. */
static bool from_region(ModelNet *net, uint32_t ip)
{
    g_autofree char *tag = g_strdup_printf("AzureCloud.%s", net->region);
    const ModelPrefixSet *set = model_service_tags_lookup(net->tags, tag);
    if (set && model_prefix_set_contains(set, ip))
        return true;
    ModelNic *n = g_hash_table_lookup(net->public_ip, GUINT_TO_POINTER(ip));
    if (n && n->subnet)
        return true;
    return ip >= MODEL_DEFAULT_OUTBOUND_FIRST && ip < net->next_default_outbound_ip;
}

/* The subnet a request from a private address left by its service endpoint: the sending
 * NIC's (Azure tags the request with it), else the first subnet holding the address. */
static ModelSubnet *origin_subnet(ModelNet *net, const ModelPacket *pkt)
{
    uint32_t src = pkt->key.src;
    if (pkt->sent_by && pkt->sent_by->subnet &&
        model_prefix_contains(pkt->sent_by->subnet->prefix, src))
        return pkt->sent_by->subnet;
    for (guint i = 0; i < net->subnets->len; i++) {
        ModelSubnet *s = g_ptr_array_index(net->subnets, i);
        if (model_prefix_contains(s->prefix, src))
            return s;
    }
    return NULL;
}

/* The workspace whose managed identity the AML service presents: the identity is a
 * workspace's, and the request comes from the AzureMachineLearning service's own
 * addresses (through the Azure datacenter network, concept-secure-network-traffic-flow.md).
 * NULL otherwise. */
static ModelService *aml_service_caller(ModelNet *net, const ModelFlow *flow, uint32_t src)
{
    ModelService *ws = model__service_of_identity(net, flow->identity);
    if (!ws || ws->kind != MODEL_SERVICE_WORKSPACE)
        return NULL;
    const ModelPrefixSet *aml = model_service_tags_lookup(net->tags, "AzureMachineLearning");
    return aml && model_prefix_set_contains(aml, src) ? ws : NULL;
}

/* Resource types compare case-insensitively; the portal writes the singular
 * "Microsoft.MachineLearningServices/Workspace" (how-to-secure-workspace-vnet.md), ARM
 * the plural. */
static bool same_type(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && (a[la - 1] == 's' || a[la - 1] == 'S'))
        la--;
    if (lb && (b[lb - 1] == 's' || b[lb - 1] == 'S'))
        lb--;
    return la == lb && g_ascii_strncasecmp(a, b, la) == 0;
}

static const ModelInstanceRule *instance_rule_for(const ModelService *svc, const ModelService *ws)
{
    for (guint i = 0; i < svc->instance_rules->len; i++) {
        const ModelInstanceRule *r = g_ptr_array_index(svc->instance_rules, i);
        if (same_type(r->type, "Microsoft.MachineLearningServices/workspaces") &&
            g_ascii_strcasecmp(r->instance, ws->name) == 0)
            return r;
    }
    return NULL;
}

static const ModelPrefix *ip_rule_for(const ModelService *svc, uint32_t ip)
{
    for (guint i = 0; i < svc->ip_rules->len; i++) {
        const ModelPrefix *p = &g_array_index(svc->ip_rules, ModelPrefix, i);
        if (model_prefix_contains(*p, ip))
            return p;
    }
    return NULL;
}

static bool has_vnet_rule(const ModelService *svc, const ModelSubnet *subnet)
{
    for (guint i = 0; subnet && i < svc->vnet_rules->len; i++)
        if (g_ptr_array_index(svc->vnet_rules, i) == subnet)
            return true;
    return false;
}

static void refuse(ModelAppResponse *out, const ModelService *svc, ModelCause cause, char *detail,
                   char *hint)
{
    out->status = 403;
    out->cause = cause;
    out->at = g_strdup(svc->name);
    out->detail = detail;
    out->hint = hint;
}

/* The service's own words for a refusal of its public endpoint. */
static char *error_text(const ModelService *svc, bool disabled, uint32_t src)
{
    char ip[MODEL_IP_STRLEN];
    model_ip_format(src, ip);
    switch (svc->kind) {
    case MODEL_SERVICE_STORAGE:
        return g_strdup(STORAGE_DENIED);
    case MODEL_SERVICE_KEY_VAULT:
        if (disabled)
            return g_strdup("ForbiddenByConnection \"Public network access is disabled and "
                            "request is not from a trusted service nor via an approved private "
                            "link.\"");
        return g_strdup_printf("ForbiddenByFirewall \"Client address is not authorized and caller "
                               "is not a trusted service. Client address: %s Vault: %s;"
                               "location=%s\"",
                               ip, svc->name, svc->net->region);
    case MODEL_SERVICE_REGISTRY:
        return g_strdup_printf("DENIED \"client with IP '%s' is not allowed access. Refer "
                               "https://aka.ms/acr/firewall to grant access.\"",
                               ip);
    case MODEL_SERVICE_WORKSPACE:
        return g_strdup("UserError \"User is not authorized to access provided resources due to "
                        "none of the workspaces/registries are accessible from outside of the "
                        "designated private link.\"");
    }
    return g_strdup("Forbidden");
}

static void deny(ModelAppResponse *out, const ModelService *svc, ModelCause cause, uint32_t src,
                 const char *why, char *hint)
{
    g_autofree char *text = error_text(svc, svc->access == MODEL_PUBLIC_ACCESS_DISABLED, src);
    refuse(out, svc, cause, g_strdup_printf("%s (%s)", text, why), hint);
}

static const char *access_name(ModelPublicAccess a)
{
    return a == MODEL_PUBLIC_ACCESS_ENABLED    ? "Enabled from all networks"
           : a == MODEL_PUBLIC_ACCESS_SELECTED ? "Enabled from selected networks"
                                               : "Disabled";
}

static char *private_path_hint(const ModelService *svc)
{
    const char *fqdn = model_service_fqdn(svc, NULL);
    if (svc->pes->len)
        return g_strdup_printf("reach %s through its private endpoint (from the VNet, or over "
                               "VPN/ExpressRoute with DNS resolving %s to it)",
                               svc->name, fqdn);
    return g_strdup_printf("give %s a private endpoint and reach it from the VNet, or allow "
                           "this client in its firewall",
                           svc->name);
}

/* A refusal of the AML service acting for a workspace: what it lacks is the exception
 * that lets a trusted service through. */
static void deny_aml_service(ModelAppResponse *out, const ModelService *svc, const ModelService *ws,
                             uint32_t src)
{
    char ip[MODEL_IP_STRLEN];
    model_ip_format(src, ip);
    g_autofree char *why = g_strdup_printf(
        "the AML service (%s, AzureMachineLearning) acting for workspace %s: no resource "
        "instance rule for it, trusted services not allowed, public network access %s",
        ip, ws->name, access_name(svc->access));
    char *hint = svc->kind == MODEL_SERVICE_STORAGE
                     ? g_strdup_printf("on %s, add a resource instance rule for "
                                       "Microsoft.MachineLearningServices/workspaces %s, or allow "
                                       "Azure services on the trusted services list",
                                       svc->name, ws->name)
                     : g_strdup_printf("on %s, allow trusted Microsoft services to bypass the "
                                       "firewall",
                                       svc->name);
    deny(out, svc, MODEL_CAUSE_TRUSTED_SERVICE_NOT_ALLOWED, src, why, hint);
}

static void allow(ModelNet *net, const ModelPacket *pkt, const ModelService *svc,
                  const char *object, const char *detail)
{
    model__service_step(net, pkt, svc->name, MODEL_STAGE_SERVICE_FIREWALL, object, "allow", detail);
}

/* Resource instance rules and the trusted services exception, which come before every
 * other rule and survive Disabled. True when one lets the AML service in. */
static bool trusted_exception(ModelNet *net, const ModelPacket *pkt, const ModelService *svc,
                              const ModelService *ws)
{
    const ModelInstanceRule *r = instance_rule_for(svc, ws);
    if (r) {
        g_autofree char *obj = g_strdup_printf("%s/resourceInstance/%s", svc->name, r->instance);
        g_autofree char *d = g_strdup_printf("resource instance rule %s %s: the AML service acts "
                                             "with workspace %s's managed identity",
                                             r->type, r->instance, ws->name);
        allow(net, pkt, svc, obj, d);
        return true;
    }
    if (svc->trusted_services) {
        g_autofree char *obj = g_strdup_printf("%s/trustedServices", svc->name);
        g_autofree char *d = g_strdup_printf("trusted Azure services exception: Azure Machine "
                                             "Learning with workspace %s's managed identity",
                                             ws->name);
        allow(net, pkt, svc, obj, d);
        return true;
    }
    return false;
}

/* Selected networks (default action Deny): a virtual network rule for a request that came
 * through a subnet's service endpoint, or an IP rule. True when one allows the request;
 * else *why and *hint (new strings) say what is missing. */
static bool network_rules(ModelNet *net, const ModelPacket *pkt, const ModelService *svc,
                          char **why, char **hint)
{
    uint32_t src = pkt->key.src;
    char ip[MODEL_IP_STRLEN];
    model_ip_format(src, ip);
    if (model_ip_is_private(src)) {
        ModelSubnet *subnet = origin_subnet(net, pkt);
        const char *path = subnet ? subnet->path : "an unknown subnet";
        if (has_vnet_rule(svc, subnet)) {
            g_autofree char *obj = g_strdup_printf("%s/virtualNetworkRules/%s", svc->name, path);
            g_autofree char *d = g_strdup_printf(
                "virtual network rule: %s from %s through its service endpoint", ip, path);
            allow(net, pkt, svc, obj, d);
            return true;
        }
        *why = g_strdup_printf("%s from %s through its service endpoint: no virtual network rule "
                               "for that subnet",
                               ip, path);
        *hint = g_strdup_printf("add a virtual network rule for %s to %s", path, svc->name);
        return false;
    }
    const ModelPrefix *rule = ip_rule_for(svc, src);
    bool same_region = svc->kind == MODEL_SERVICE_STORAGE && from_region(net, src);
    if (rule && !same_region) {
        char p[MODEL_PREFIX_STRLEN];
        model_prefix_format(*rule, p);
        g_autofree char *obj = g_strdup_printf("%s/ipRules/%s", svc->name, p);
        g_autofree char *d = g_strdup_printf("IP rule %s allows %s", p, ip);
        allow(net, pkt, svc, obj, d);
        return true;
    }
    if (same_region) {
        *why = g_strdup_printf("%s comes from the account's own region (%s), where IP rules have "
                               "no effect%s",
                               ip, net->region, rule ? " (an IP rule names it)" : "");
        *hint = g_strdup_printf("requests from the same Azure region ignore IP rules: enable the "
                                "Microsoft.Storage service endpoint on the client's subnet and "
                                "add a virtual network rule for it to %s, or use a private "
                                "endpoint",
                                svc->name);
        return false;
    }
    *why = g_strdup_printf("public network access from selected networks; no rule allows %s", ip);
    *hint = g_strdup_printf("add an IP rule for %s to %s, or reach it through a private endpoint",
                            ip, svc->name);
    return false;
}

/* The firewall of the public endpoint. True when the request may go on. */
static bool firewall(ModelNet *net, ModelService *svc, ModelNic *nic, const ModelPacket *pkt,
                     const ModelService *aml_ws, ModelAppResponse *out)
{
    uint32_t src = pkt->key.src;
    if (nic->pe_target == svc->host) {
        g_autofree char *d = g_strdup_printf("through private endpoint %s: firewall rules govern "
                                             "only the public endpoint",
                                             nic->name);
        allow(net, pkt, svc, nic->name, d);
        return true;
    }
    if (svc->access == MODEL_PUBLIC_ACCESS_ENABLED) {
        allow(net, pkt, svc, svc->name, "public network access Enabled from all networks");
        return true;
    }
    if (svc->kind == MODEL_SERVICE_WORKSPACE)
        aml_ws = NULL; /* a workspace has no trusted services exception */
    if (aml_ws && trusted_exception(net, pkt, svc, aml_ws))
        return true;
    char *why = NULL, *hint = NULL;
    if (svc->access == MODEL_PUBLIC_ACCESS_SELECTED && network_rules(net, pkt, svc, &why, &hint))
        return true;
    if (aml_ws) {
        g_free(why);
        g_free(hint);
        deny_aml_service(out, svc, aml_ws, src);
        return false;
    }
    if (svc->access == MODEL_PUBLIC_ACCESS_DISABLED) {
        char ip[MODEL_IP_STRLEN];
        model_ip_format(src, ip);
        g_autofree char *d = g_strdup_printf(
            "public network access is Disabled; %s came to the public endpoint", ip);
        deny(out, svc, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, src, d, private_path_hint(svc));
        return false;
    }
    deny(out, svc, MODEL_CAUSE_SERVICE_FIREWALL_DENIED, src, why, hint);
    g_free(why);
    return false;
}

static void service_request(ModelNet *net, ModelHost *host, ModelNic *nic, ModelFlow *flow,
                            const ModelPacket *pkt, ModelAppResponse *out)
{
    ModelService *svc = host->app_data;
    ModelService *aml_ws = aml_service_caller(net, flow, pkt->key.src);
    if (!firewall(net, svc, nic, pkt, aml_ws, out))
        return;
    if (svc->kind == MODEL_SERVICE_STORAGE)
        model__storage_authorize(net, svc, flow, pkt, aml_ws, out);
}
