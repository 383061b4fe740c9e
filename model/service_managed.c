/*
 * service_managed.c — the managed services behind AML that live outside the customer's
 * VNets, as hosts at addresses of their service tags, with their real listeners and their
 * names in public DNS; and the flows they start (into compute, and to storage).
 *
 * Which services, which ports (domain.md §1 and §4.3; azure-facts.md §5):
 *  - Microsoft Entra ID (login.microsoftonline.com): outbound TCP 80, 443 to
 *    AzureActiveDirectory.
 *  - Azure Resource Manager (management.azure.com): TCP 443, AzureResourceManager.
 *  - The AML service (<region>.api.azureml.ms): TCP 443 and 18881, UDP 5831, to
 *    AzureMachineLearning; it calls into compute instances on TCP 44224 ("inbound TCP 44224
 *    from AzureMachineLearning", azdocs:includes/machine-learning-public-internet-access.md).
 *  - Azure Front Door (ml.azure.com): TCP 443, AzureFrontDoor.Frontend.
 *  - Azure Batch: classic node communication "require[s] inbound TCP communication on ports
 *    29876 and 29877 from the BatchNodeManagement.{region} service tag"; simplified
 *    communication "require[s] outbound TCP communication on port 443 to the
 *    BatchNodeManagement.{region} service tag. No open inbound ports are required."
 *    (Azure Batch .NET SDK, NodeCommunicationMode; azdocs:articles/batch/
 *    simplified-compute-node-communication.md).
 *  - Microsoft-managed storage used by Batch: blob, table, queue over 443, Storage.<region>.
 *  - MCR (mcr.microsoft.com): 443, MicrosoftContainerRegistry.<region>, whose data
 *    endpoint sits behind AzureFrontDoor.FirstParty ("depends on AzureFrontDoor.FirstParty",
 *    azure-facts.md §1); viennaglobal.azurecr.io: AzureContainerRegistry.
 *  - The data-profiling service: a caller only, from the AzureMachineLearning addresses,
 *    "through the Azure data center network" (concept-secure-network-traffic-flow.md).
 *  - ACR Tasks, which builds environment images when no image-build compute is set: a
 *    caller only, from the AzureContainerRegistry addresses, outside every customer VNet —
 *    which is why "when ACR is behind the VNet, AML cannot build images with serverless
 *    compute" (domain.md §4.5; azdocs:articles/machine-learning/how-to-secure-workspace-
 *    vnet.md, "Enable Azure Container Registry"). It calls without the workspace's
 *    identity, so a registry's trusted-services exception does not admit it.
 * The front-end host names the public CNAMEs point at are illustrative (no document gives
 * them); the addresses are real prefixes of the tags (servicetag.c).
 */
#include "model/net_internal.h"

#include <string.h>

#define SERVICE_ERROR (g_quark_from_static_string("model-service"))

#define PORT_AML_COMPUTE  44224 /* AML service -> compute instance */
#define PORT_BATCH_NODE   29876 /* Batch -> node, classic communication (and 29877) */
#define MAX_TCP_LISTENERS 3

typedef struct {
    const char *name;
    const char *tag;  /* "{region}" stands for the region */
    const char *fqdn; /* NULL: no name (a caller only) */
    const char *edge; /* the host the public CNAME points at; NULL: the PaaS default */
    uint16_t tcp[MAX_TCP_LISTENERS];
    uint16_t udp;
} ManagedRow;

static const ManagedRow rows[] = {
    {"aad",
     "AzureActiveDirectory",
     "login.microsoftonline.com",
     "www.tm.ak.prd.aadg.akadns.net",
     {80, 443},
     0},
    {"arm",
     "AzureResourceManager",
     "management.azure.com",
     "arm-frontdoor-prod.trafficmanager.net",
     {443},
     0},
    {"aml-service",
     "AzureMachineLearning.{region}",
     "{region}.api.azureml.ms",
     "aml-frontend-{region}.cloudapp.azure.com",
     {443, 18881},
     5831},
    {"afd", "AzureFrontDoor.Frontend", "ml.azure.com", "ml-azure-com.z01.azurefd.net", {443}, 0},
    {"data-profiling", "AzureMachineLearning.{region}", NULL, NULL, {0}, 0},
    {"acr-tasks", "AzureContainerRegistry.{region}", NULL, NULL, {0}, 0},
    {"batch",
     "BatchNodeManagement.{region}",
     "amlbatch.{region}.service.batch.azure.com",
     "batch-nm-{region}.cloudapp.azure.com",
     {443},
     0},
    {"ms-storage", "Storage.{region}", "amlmsstore{region}.blob.core.windows.net", NULL, {443}, 0},
    {"mcr",
     "MicrosoftContainerRegistry.{region}",
     "mcr.microsoft.com",
     "mcr-0001.mcr-msedge.net",
     {443},
     0},
    {"mcr-data",
     "AzureFrontDoor.FirstParty",
     "{region}.data.mcr.microsoft.com",
     "mcr-data-{region}.afd.azureedge.net",
     {443},
     0},
    {"viennaglobal",
     "AzureContainerRegistry.{region}",
     "viennaglobal.azurecr.io",
     "viennaglobal-{region}.cloudapp.azure.com",
     {443},
     0},
};

/* Microsoft-managed storage serves "blob, table, queue over 443" (domain.md §1). */
static const char *const ms_storage_extra[] = {"amlmsstore{region}.table.core.windows.net",
                                               "amlmsstore{region}.queue.core.windows.net"};

static char *expand(const char *pattern, const char *region)
{
    GString *s = g_string_new(pattern);
    g_string_replace(s, "{region}", region, 0);
    return g_string_free(s, FALSE);
}

static gboolean publish(ModelNet *net, const char *pattern, const char *edge_pattern,
                        const char *region, uint32_t ip, GError **error)
{
    g_autofree char *fqdn = expand(pattern, region);
    g_autofree char *edge = edge_pattern ? expand(edge_pattern, region) : NULL;
    return model_dns_register_service(net->dns, fqdn, ip, edge, false, error);
}

static gboolean add_row(ModelNet *net, const ManagedRow *row, const char *region, GError **error)
{
    g_autofree char *tag = expand(row->tag, region);
    uint32_t ip;
    if (!model__service_tag_address(net, tag, &ip, error))
        return FALSE;
    ModelHost *h = model_net_add_host(net, row->name, MODEL_HOST_SERVICE, error);
    if (!h || !model_host_set_public_ip(net, h, ip, error))
        return FALSE;
    for (int i = 0; i < MAX_TCP_LISTENERS && row->tcp[i]; i++)
        model_host_listen(h, MODEL_IPPROTO_TCP, row->tcp[i]);
    if (row->udp)
        model_host_listen(h, MODEL_IPPROTO_UDP, row->udp);
    if (row->fqdn && !publish(net, row->fqdn, row->edge, region, ip, error))
        return FALSE;
    if (row->fqdn)
        g_hash_table_insert(model__services(net)->managed_fqdns, g_strdup(row->name),
                            expand(row->fqdn, region));
    if (strcmp(row->name, "ms-storage") == 0)
        for (size_t i = 0; i < G_N_ELEMENTS(ms_storage_extra); i++)
            if (!publish(net, ms_storage_extra[i], NULL, region, ip, error))
                return FALSE;
    return TRUE;
}

gboolean model_net_add_managed_services(ModelNet *net, const char *region,
                                        const ModelManagedOptions *options, GError **error)
{
    ModelServiceSet *set = model__services(net);
    if (set->managed) {
        g_set_error(error, SERVICE_ERROR, 0, "the managed services are already added");
        return FALSE;
    }
    g_autofree char *r = g_ascii_strdown(region ? region : net->region, -1);
    set->managed_fqdns = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
        if (!add_row(net, &rows[i], r, error)) {
            g_prefix_error(error, "managed service '%s': ", rows[i].name);
            return FALSE;
        }
    set->managed = true;
    set->batch_mode = options ? options->batch_mode : MODEL_BATCH_CLASSIC;
    return TRUE;
}

static ModelHost *managed(const ModelNet *net, const char *name)
{
    return net->services && net->services->managed ? model_net_find_host(net, name) : NULL;
}

const char *model_net_managed_fqdn(const ModelNet *net, const char *name)
{
    if (!managed(net, name))
        return NULL;
    return g_hash_table_lookup(net->services->managed_fqdns, name);
}

uint32_t model_net_managed_address(const ModelNet *net, const char *name)
{
    ModelHost *h = managed(net, name);
    return h ? h->public_ip : 0;
}

int model_net_start_aml_service_call(ModelNet *net, const char *flow, uint32_t compute_ip,
                                     SimTime at)
{
    return model__aml_service_call(net, flow, compute_ip, PORT_AML_COMPUTE, at);
}

int model__aml_service_call(ModelNet *net, const char *flow, uint32_t ip, uint16_t port, SimTime at)
{
    ModelHost *aml = managed(net, "aml-service");
    if (!aml)
        return -1;
    return model_net_start_tcp(net, flow, aml, ip, port, at);
}

/* A trace line saying which Batch communication mode applied, written when the flow
 * starts (azure-facts.md: "says in the trace which one applied"). */
typedef struct {
    ModelNet *net;
    int flow;
    char *detail;
} ModeNote;

static void mode_note_free(void *p)
{
    ModeNote *n = p;
    g_free(n->detail);
    g_free(n);
}

static void mode_note_fire(SimEngine *engine, void *payload)
{
    (void)engine;
    ModeNote *n = payload;
    ModelPacket marker = {.flow = n->flow};
    model__step(n->net, &marker, "batch", MODEL_STAGE_PLATFORM, "batch", "mode", n->detail);
}

int model_net_start_batch_node_management(ModelNet *net, const char *flow, ModelHost *node,
                                          SimTime at)
{
    return model__batch_node_management(net, flow, node, 0, 0, at);
}

int model__batch_node_management(ModelNet *net, const char *flow, ModelHost *node, uint32_t ip,
                                 uint16_t port, SimTime at)
{
    ModelHost *batch = managed(net, "batch");
    if (!batch || !node || !net->engine)
        return -1;
    SimTime now = sim_now(net->engine);
    bool classic = net->services->batch_mode == MODEL_BATCH_CLASSIC;
    ModeNote *note = g_new0(ModeNote, 1);
    note->net = net;
    note->flow = (int)net->flows->len; /* the index model_net_start_flow gives next */
    note->detail = g_strdup(
        classic ? "classic node communication (seed era): Batch opens TCP 29876-29877 to the "
                  "node from BatchNodeManagement"
                : "simplified node communication (current docs): the node opens TCP 443 to "
                  "BatchNodeManagement; no inbound port");
    /* Scheduled first, so the note precedes the flow's own first step at the same time. */
    sim_schedule_at(net->engine, at > now ? at : now, mode_note_fire, note, mode_note_free);
    if (classic) {
        ModelNic *nic = node->nics->len ? g_ptr_array_index(node->nics, 0) : NULL;
        /* Batch reaches the node at its public address; without one it has nowhere to go
         * but the private address, which the internet does not route. */
        uint32_t dst = ip ? ip : nic ? (nic->public_ip ? nic->public_ip : nic->ip) : 0;
        return model_net_start_tcp(net, flow, batch, dst, port ? port : PORT_BATCH_NODE, at);
    }
    g_autofree char *fqdn = expand("amlbatch.{region}.service.batch.azure.com", net->region);
    ModelFlowSpec spec = {.name = flow,
                          .from = node,
                          .fqdn = fqdn,
                          .port = 443,
                          .proto = MODEL_IPPROTO_TCP,
                          .tls = true,
                          .request = true};
    return model_net_start_flow(net, &spec, at);
}

int model_net_start_data_profiling(ModelNet *net, const char *flow, ModelService *workspace,
                                   ModelService *storage, SimTime at)
{
    ModelHost *dp = managed(net, "data-profiling");
    if (!dp || !workspace || !storage)
        return -1;
    /* The service knows the account's public endpoint as the control plane does: it
     * connects to the address and names the blob endpoint in its ClientHello. */
    ModelFlowSpec spec = {.name = flow,
                          .from = dp,
                          .ip = model_service_public_ip(storage),
                          .sni = model_service_fqdn(storage, "blob"),
                          .port = 443,
                          .proto = MODEL_IPPROTO_TCP,
                          .tls = true,
                          .request = true,
                          .identity = model_service_identity(workspace)};
    return model_net_start_flow(net, &spec, at);
}

/* One HTTPS connection of an image build: by name through `from`'s resolver when it sits in
 * a VNet, else (a Microsoft-hosted agent) straight to the public address, naming the
 * host in the ClientHello as the control plane does. */
static void start_build_part(ModelNet *net, ModelHost *from, const char *prefix, const char *part,
                             const char *fqdn, uint32_t public_ip, SimTime at, GPtrArray *names)
{
    char *name = g_strdup_printf("%s/%s", prefix, part);
    bool agent = from->kind == MODEL_HOST_SERVICE;
    ModelFlowSpec spec = {.name = name,
                          .from = from,
                          .fqdn = agent ? NULL : fqdn,
                          .ip = agent ? public_ip : 0,
                          .sni = agent ? fqdn : NULL,
                          .port = 443,
                          .proto = MODEL_IPPROTO_TCP,
                          .tls = true,
                          .request = true};
    if (model_net_start_flow(net, &spec, at) >= 0) {
        g_ptr_array_add(names, name);
    } else {
        g_ptr_array_add(names, NULL);
        g_free(name);
    }
}

int model_net_start_image_build(ModelNet *net, const char *flow_prefix, ModelService *registry,
                                ModelHost *builder, SimTime at, GPtrArray *names)
{
    ModelHost *mcr = managed(net, "mcr");
    ModelHost *from = builder ? builder : managed(net, "acr-tasks");
    if (!mcr || !from || !registry)
        return -1;
    start_build_part(net, from, flow_prefix, "base-image", "mcr.microsoft.com", mcr->public_ip, at,
                     names);
    start_build_part(net, from, flow_prefix, "acr-push", model_service_fqdn(registry, "registry"),
                     model_service_public_ip(registry), at, names);
    return 2;
}
