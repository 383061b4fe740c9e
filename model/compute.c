/*
 * compute.c — AML compute instances and clusters: Batch nodes injected into a subnet, the
 * NSG Batch puts on their NICs, their public addresses, the management traffic that
 * decides whether a node is usable, and their documented outbound requirements.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs):
 *  - domain.md §4.3 (seeds 000, 001, 004): creating compute "also creates … an NSG
 *    (Batch-managed, at NIC level), a public IP, a load balancer (clusters delete/recreate
 *    these when scaling to 0 nodes; instances keep them). Inbound the NSG allows: TCP
 *    29876–29877 from BatchNodeManagement; TCP 44224 from AzureMachineLearning (compute
 *    instance); optional TCP 22 for SSH. … If a subnet NSG or firewall denies Batch inbound,
 *    the node is marked unusable."
 *  - includes/machine-learning-public-internet-access.md: the outbound service tags and
 *    ports (AzureActiveDirectory 80/443, AzureMachineLearning 443/18881 + UDP 5831,
 *    BatchNodeManagement.region 443, AzureResourceManager 443, Storage.region 443,
 *    AzureFrontDoor.FrontEnd 443, MicrosoftContainerRegistry.region 443), 445 to the
 *    default storage's file share, inbound 44224 from AzureMachineLearning for public-IP
 *    compute only.
 *  - articles/machine-learning/how-to-secure-training-vnet.md, "No public IP for compute
 *    clusters": "no inbound communication requirements from public internet"; "By
 *    default, you do not have public internet access from No Public IP Compute Cluster …
 *    configure User Defined Routing (UDR) to reach to a public IP … a public IP of your
 *    firewall, or … Virtual Network NAT"; "No public IP clusters are dependent on Azure
 *    Private Link for Azure Machine Learning workspace"; they require private endpoint
 *    network policies disabled ("The specified subnet has PrivateLinkServiceNetworkPolicies
 *    or PrivateEndpointNetworkEndpoints enabled").
 *  - includes/machine-learning-compute-user-defined-routes.md / domain.md §4.3 forced
 *    tunneling: UDRs for the BatchNodeManagement and AzureMachineLearning prefixes with next
 *    hop Internet (the public IP answers directly), or a NAT gateway.
 *
 * The public address: "the VMs of the Batch pool are reachable through public IP
 * addresses that Batch creates" (azdocs:articles/batch/create-pool-public-ip.md), on a
 * load balancer whose inbound NAT pools address one node each, from frontend ports
 * 50000–55000, which Batch reserves for itself (Batch API, InboundNatPool:
 * "except ports from 50000 to 55000 which are reserved by the Batch service"). Which port
 * of that range maps to which node and backend port is not published; here node i is
 * reached on 50000+i (29876), 51000+i (29877), 52000+i (44224) and 53000+i (22). The
 * load balancer's outbound rule also gives the nodes their internet egress. Behind the
 * frontend the nodes' NICs decide as they would for any inbound packet: the subnet NSG,
 * then the Batch NSG.
 *
 * A node's usability is never looked up: the management connection runs packet by packet
 * (through service_managed.c's Batch and AML service hosts) and its outcome, with the
 * object that stopped it, becomes the verdict COMPUTE_NODE_UNUSABLE.
 */
#include "model/net_internal.h"

#include <string.h>

#define COMPUTE_ERROR (g_quark_from_static_string("model-compute"))

#define PORT_BATCH_NODE  29876 /* and 29877 */
#define PORT_AML_COMPUTE 44224
#define PRIO_BATCH       1000 /* the Batch NSG's rules: priorities are not documented */
#define PRIO_AML         1010
#define PRIO_SSH         1020

#define NAT_BASE_BATCH  50000 /* + node index: the frontend ports of the Batch pool's LB */
#define NAT_BASE_BATCH2 51000
#define NAT_BASE_AML    52000
#define NAT_BASE_SSH    53000

struct ModelCompute {
    char *name;
    ModelComputeKind kind;
    ModelSubnet *subnet;
    bool public_ip;
    ModelLb *lb; /* the pool's public load balancer, NULL without public IP or nodes */
    ModelComputeOptions options;
    ModelNsg *nsg;
    GPtrArray *nodes; /* ModelHost *, borrowed (the net owns them) */
    GPtrArray *nics;  /* ModelNic *, borrowed */
};

typedef struct {
    ModelNet *net;
    char *name;
    ModelCompute *compute;
    unsigned node;
    ModelComputeManager who;
    bool inbound;     /* the manager connects to the node (else the node calls out) */
    uint32_t manager; /* the manager's address */
} Call;

/* ---- the set ---- */

static void compute_free(gpointer p)
{
    ModelCompute *c = p;
    g_ptr_array_free(c->nodes, TRUE);
    g_ptr_array_free(c->nics, TRUE);
    g_free(c->name);
    g_free(c);
}

static void call_free(gpointer p)
{
    Call *c = p;
    g_free(c->name);
    g_free(c);
}

static void aci_free(gpointer p)
{
    ModelAci *a = p;
    g_free(a->name);
    g_free(a);
}

static void delegation_free(gpointer p)
{
    ModelDelegation *d = p;
    g_free(d->service);
    g_free(d);
}

ModelComputeSet *model__computes(ModelNet *net)
{
    if (!net->computes) {
        net->computes = g_new0(ModelComputeSet, 1);
        net->computes->computes = g_ptr_array_new_with_free_func(compute_free);
        net->computes->aks = g_ptr_array_new_with_free_func(model__aks_free);
        net->computes->calls = g_ptr_array_new_with_free_func(call_free);
        net->computes->aci = g_ptr_array_new_with_free_func(aci_free);
        net->computes->delegations = g_ptr_array_new_with_free_func(delegation_free);
    }
    return net->computes;
}

void model__computes_free(ModelNet *net)
{
    if (!net->computes)
        return;
    g_ptr_array_free(net->computes->calls, TRUE);
    g_ptr_array_free(net->computes->delegations, TRUE);
    g_ptr_array_free(net->computes->aci, TRUE);
    g_ptr_array_free(net->computes->aks, TRUE);
    g_ptr_array_free(net->computes->computes, TRUE);
    g_free(net->computes);
    net->computes = NULL;
}

static bool aci_named(const ModelNet *net, const char *name)
{
    for (guint i = 0; net->computes && i < net->computes->aci->len; i++)
        if (strcmp(((const ModelAci *)g_ptr_array_index(net->computes->aci, i))->name, name) == 0)
            return true;
    return false;
}

ModelCompute *model_net_find_compute(const ModelNet *net, const char *name)
{
    for (guint i = 0; net->computes && i < net->computes->computes->len; i++) {
        ModelCompute *c = g_ptr_array_index(net->computes->computes, i);
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

const char *model_compute_name(const ModelCompute *c)
{
    return c->name;
}

ModelSubnet *model_compute_subnet(const ModelCompute *c)
{
    return c->subnet;
}

ModelService *model_compute_workspace(const ModelCompute *c)
{
    return c->options.workspace;
}

ModelComputeKind model_compute_kind(const ModelCompute *c)
{
    return c->kind;
}

bool model_compute_has_public_ip(const ModelCompute *c)
{
    return c->public_ip;
}

unsigned model_compute_n_nodes(const ModelCompute *c)
{
    return c->nodes->len;
}

ModelHost *model_compute_node(const ModelCompute *c, unsigned i)
{
    return i < c->nodes->len ? g_ptr_array_index(c->nodes, i) : NULL;
}

static ModelNic *node_nic(const ModelCompute *c, unsigned i)
{
    return i < c->nics->len ? g_ptr_array_index(c->nics, i) : NULL;
}

uint32_t model_compute_node_ip(const ModelCompute *c, unsigned i)
{
    ModelNic *n = node_nic(c, i);
    return n ? n->ip : 0;
}

uint32_t model_compute_node_public_ip(const ModelCompute *c, unsigned i)
{
    return node_nic(c, i) && c->lb ? model_lb_frontend_ip(c->lb) : 0;
}

uint16_t model_compute_node_public_port(const ModelCompute *c, unsigned i, uint16_t port)
{
    if (!node_nic(c, i) || !c->lb)
        return 0;
    switch (port) {
    case PORT_BATCH_NODE:
        return (uint16_t)(NAT_BASE_BATCH + i);
    case PORT_BATCH_NODE + 1:
        return (uint16_t)(NAT_BASE_BATCH2 + i);
    case PORT_AML_COMPUTE:
        return (uint16_t)(NAT_BASE_AML + i);
    case 22:
        return c->options.ssh ? (uint16_t)(NAT_BASE_SSH + i) : 0;
    default:
        return 0;
    }
}

ModelLb *model_compute_load_balancer(const ModelCompute *c)
{
    return c->lb;
}

ModelNsg *model_compute_nsg(const ModelCompute *c)
{
    return c->nsg;
}

/* ---- building ---- */

gboolean model__subnet_free_addresses(ModelSubnet *subnet, unsigned n, uint32_t *out,
                                      const char *what, GError **error)
{
    uint64_t size = 1ull << (32 - subnet->prefix.len);
    unsigned found = 0;
    /* Azure reserves the first four addresses and the last (virtual-networks-faq.md). */
    for (uint64_t off = 4; found < n && size > 5 && off < size - 1; off++) {
        uint32_t ip = subnet->prefix.addr + (uint32_t)off;
        if (!g_hash_table_contains(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(ip)))
            out[found++] = ip;
    }
    if (found == n)
        return TRUE;
    g_set_error(error, COMPUTE_ERROR, 0,
                "%s: subnet %s has %u free address(es), %u needed (without enough free IP "
                "addresses a cluster is only partially allocated)",
                what, subnet->path, found, n);
    return FALSE;
}

static gboolean add_rule(ModelNsg *nsg, const char *name, int priority, const char *source,
                         const char *ports, GError **error)
{
    ModelNsgRule *r = model_nsg_rule_new(name, priority, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
                                         MODEL_NSG_PROTO_TCP);
    if (!model_nsg_rule_add_address(r, MODEL_NSG_SRC, source, error) ||
        !model_nsg_rule_add_address(r, MODEL_NSG_DST, "*", error) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", error) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_DST, ports, error)) {
        model_nsg_rule_free(r);
        return FALSE;
    }
    return model_nsg_add_rule(nsg, r, error);
}

/* The NSG Batch creates for the pool's NICs ("Batch-managed, at NIC level"). */
static ModelNsg *batch_nsg(ModelNet *net, const ModelCompute *c, GError **error)
{
    g_autofree char *name = g_strdup_printf("%s-nsg", c->name);
    ModelNsg *nsg = model_net_add_nsg(net, name, error);
    if (!nsg)
        return NULL;
    if (!add_rule(nsg, "BatchNodeManagement", PRIO_BATCH, "BatchNodeManagement", "29876-29877",
                  error))
        return NULL;
    /* "inbound TCP 44224 from AzureMachineLearning (public-IP compute only)"; the seeds
     * list it for compute instances. */
    if ((c->kind == MODEL_COMPUTE_INSTANCE || c->public_ip) &&
        !add_rule(nsg, "AzureMachineLearning", PRIO_AML, "AzureMachineLearning", "44224", error))
        return NULL;
    if (c->options.ssh && !add_rule(nsg, "SSH", PRIO_SSH, "*", "22", error))
        return NULL;
    return nsg;
}

/* Node i's inbound NAT rules on the pool's load balancer: the listeners the Batch NSG
 * admits, each on its own frontend port. */
static gboolean add_nat_rules(ModelCompute *c, unsigned i, ModelNic *nic, GError **error)
{
    static const uint16_t ports[] = {PORT_BATCH_NODE, PORT_BATCH_NODE + 1, PORT_AML_COMPUTE, 22};
    for (size_t k = 0; k < G_N_ELEMENTS(ports); k++) {
        uint16_t front = model_compute_node_public_port(c, i, ports[k]);
        g_autofree char *rule = g_strdup_printf("%s-%u", nic->host->name, ports[k]);
        if (front && !model_lb_add_inbound_nat_rule(c->lb, rule, MODEL_IPPROTO_TCP, front, nic,
                                                    ports[k], error))
            return FALSE;
    }
    return TRUE;
}

static gboolean add_node(ModelNet *net, ModelCompute *c, unsigned i, uint32_t ip, GError **error)
{
    g_autofree char *name = c->kind == MODEL_COMPUTE_INSTANCE
                                ? g_strdup(c->name)
                                : g_strdup_printf("%s-node%u", c->name, i);
    ModelHost *h = model_net_add_host(net, name, MODEL_HOST_VM, error);
    if (!h)
        return FALSE;
    ModelNic *nic = model_net_add_nic(net, h, c->subnet, "nic0", ip, error);
    if (!nic)
        return FALSE;
    model_nic_set_nsg(nic, c->nsg);
    g_ptr_array_add(c->nics, nic); /* before the NAT rules, which ask for the node's ports */
    if (c->lb && !add_nat_rules(c, i, nic, error))
        return FALSE;
    nic->no_default_outbound = !c->public_ip;
    model_host_listen(h, MODEL_IPPROTO_TCP, PORT_BATCH_NODE);
    model_host_listen(h, MODEL_IPPROTO_TCP, PORT_BATCH_NODE + 1);
    model_host_listen(h, MODEL_IPPROTO_TCP, PORT_AML_COMPUTE);
    if (c->options.ssh)
        model_host_listen(h, MODEL_IPPROTO_TCP, 22);
    g_ptr_array_add(c->nodes, h);
    return TRUE;
}

ModelCompute *model_net_add_compute(ModelNet *net, const char *name, ModelComputeKind kind,
                                    ModelSubnet *subnet, unsigned nodes, bool public_ip,
                                    const ModelComputeOptions *options, GError **error)
{
    if (!name || !*name || !subnet) {
        g_set_error(error, COMPUTE_ERROR, 0, "compute needs a name and a subnet");
        return NULL;
    }
    if (model_net_find_compute(net, name) || aci_named(net, name)) {
        g_set_error(error, COMPUTE_ERROR, 0, "compute '%s' already exists", name);
        return NULL;
    }
    if (kind == MODEL_COMPUTE_INSTANCE && nodes != 1) {
        g_set_error(error, COMPUTE_ERROR, 0,
                    "compute instance '%s' is one node (%u asked); use a cluster for more", name,
                    nodes);
        return NULL;
    }
    g_autofree uint32_t *ips = g_new0(uint32_t, nodes ? nodes : 1);
    g_autofree char *what = g_strdup_printf("compute '%s'", name);
    if (!model__subnet_free_addresses(subnet, nodes, ips, what, error))
        return NULL;
    ModelCompute *c = g_new0(ModelCompute, 1);
    c->name = g_strdup(name);
    c->kind = kind;
    c->subnet = subnet;
    c->public_ip = public_ip;
    if (options)
        c->options = *options;
    c->nodes = g_ptr_array_new();
    c->nics = g_ptr_array_new();
    g_ptr_array_add(model__computes(net)->computes, c);
    if (nodes == 0) /* a cluster scaled to 0: no NSG, no public IP, no load balancer */
        return c;
    c->nsg = batch_nsg(net, c, error);
    if (!c->nsg)
        return NULL;
    if (public_ip) {
        g_autofree char *cloud = g_strdup_printf("AzureCloud.%s", net->region);
        g_autofree char *lb_name = g_strdup_printf("%s-lb", name);
        uint32_t pub = c->options.first_public_ip;
        if (!pub && !model__service_tag_address(net, cloud, &pub, error))
            return NULL;
        c->lb = model_net_add_load_balancer(net, lb_name, NULL, pub, error);
        if (!c->lb)
            return NULL;
        model_lb_set_outbound_rule(c->lb, true);
    }
    for (unsigned i = 0; i < nodes; i++) {
        if (!add_node(net, c, i, ips[i], error)) {
            g_prefix_error(error, "compute '%s': ", name);
            return NULL;
        }
    }
    return c;
}

/* ---- placements lint reads: ACI, subnet delegations ---- */

gboolean model_net_add_aci(ModelNet *net, const char *name, ModelSubnet *subnet,
                           const ModelService *workspace, GError **error)
{
    if (!name || !*name || !subnet) {
        g_set_error(error, COMPUTE_ERROR, 0, "ACI needs a name and a subnet");
        return FALSE;
    }
    if (model_net_find_compute(net, name) || model_net_find_aks(net, name) ||
        aci_named(net, name)) {
        g_set_error(error, COMPUTE_ERROR, 0, "compute '%s' already exists", name);
        return FALSE;
    }
    ModelAci *a = g_new0(ModelAci, 1);
    a->name = g_strdup(name);
    a->subnet = subnet;
    a->workspace = workspace;
    g_ptr_array_add(model__computes(net)->aci, a);
    return TRUE;
}

gboolean model_subnet_add_delegation(ModelNet *net, ModelSubnet *subnet, const char *service,
                                     GError **error)
{
    if (model_subnet_delegated(net, subnet, service)) {
        g_set_error(error, COMPUTE_ERROR, 0, "subnet %s is already delegated to %s", subnet->path,
                    service);
        return FALSE;
    }
    ModelDelegation *d = g_new0(ModelDelegation, 1);
    d->subnet = subnet;
    d->service = g_strdup(service);
    g_ptr_array_add(model__computes(net)->delegations, d);
    return TRUE;
}

/* Service names are compared without case, as ARM compares resource types. */
bool model_subnet_delegated(const ModelNet *net, const ModelSubnet *subnet, const char *service)
{
    for (guint i = 0; net->computes && i < net->computes->delegations->len; i++) {
        const ModelDelegation *d = g_ptr_array_index(net->computes->delegations, i);
        if (d->subnet == subnet && g_ascii_strcasecmp(d->service, service) == 0)
            return true;
    }
    return false;
}

/* ---- finalize ---- */

static bool vnet_reaches(const ModelVnet *a, const ModelVnet *b)
{
    if (a == b)
        return true;
    for (guint i = 0; i < a->peers->len; i++)
        if (g_ptr_array_index(a->peers, i) == b)
            return true;
    return false;
}

static gboolean check_compute(const ModelCompute *c, GError **error)
{
    if (c->public_ip)
        return TRUE;
    const ModelService *ws = c->options.workspace;
    const ModelVnet *vnet = c->subnet->vnet;
    bool pe = false;
    for (guint i = 0; ws && i < ws->pes->len; i++) {
        const ModelServicePe *p = g_ptr_array_index(ws->pes, i);
        pe |= strcmp(p->subresource, "amlworkspace") == 0 && p->nic->subnet &&
              vnet_reaches(vnet, p->nic->subnet->vnet);
    }
    if (!pe) {
        g_set_error(error, COMPUTE_ERROR, 0,
                    "compute '%s' has no public IP: it depends on Azure Private Link for the "
                    "workspace, and %s has no amlworkspace private endpoint in %s or a peered "
                    "virtual network (how-to-secure-training-vnet.md)",
                    c->name, ws ? ws->name : "no workspace given", vnet->name);
        return FALSE;
    }
    if (c->subnet->pe_policies != MODEL_PE_POLICIES_DISABLED) {
        g_set_error(error, COMPUTE_ERROR, 0,
                    "compute '%s' has no public IP: \"The specified subnet has "
                    "PrivateLinkServiceNetworkPolicies or PrivateEndpointNetworkEndpoints "
                    "enabled\" — disable private endpoint network policies on %s "
                    "(how-to-secure-training-vnet.md)",
                    c->name, c->subnet->path);
        return FALSE;
    }
    return TRUE;
}

gboolean model__compute_check(ModelNet *net, GError **error)
{
    if (!net->computes)
        return TRUE;
    for (guint i = 0; i < net->computes->computes->len; i++)
        if (!check_compute(g_ptr_array_index(net->computes->computes, i), error))
            return FALSE;
    for (guint i = 0; i < net->computes->aks->len; i++)
        if (!model__aks_check(net, g_ptr_array_index(net->computes->aks, i), error))
            return FALSE;
    return TRUE;
}

/* ---- management: is the node usable? ---- */

static const char *requirement(const Call *call)
{
    if (call->who == MODEL_COMPUTE_MGMT_AML)
        return "inbound TCP 44224 from the AzureMachineLearning service tag";
    return call->inbound ? "inbound TCP 29876-29877 from the BatchNodeManagement service tag"
                         : "outbound TCP 443 to the BatchNodeManagement service tag";
}

/* The priority a rule allowing the traffic needs: below the deciding rule's (4097 for a
 * default rule: any custom priority will do). */
static int rule_priority(ModelNet *net, const char *nsg_name, const char *rule, ModelDirection dir)
{
    const ModelNsg *nsg = model_net_find_nsg(net, nsg_name);
    size_t n = 0;
    const ModelNsgRule *const *rules = nsg ? model_nsg_rules(nsg, dir, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i]->name, rule) == 0)
            return rules[i]->is_default ? 4097 : rules[i]->priority;
    return 4097;
}

/* "BatchNodeManagement.EastUS": the regional tag as the tag table spells it. */
static char *regional_tag(ModelNet *net, const char *tag)
{
    g_autofree char *name = g_strdup_printf("%s.%s", tag, net->region);
    const char *canon = model_service_tags_canonical_name(net->tags, name);
    return g_strdup(canon ? canon : name);
}

/* The fix for what stopped the management connection, from what the packets met. */
static char *unusable_hint(ModelNet *net, const Call *call, ModelCause cause, const char *at,
                           const char *inner_hint)
{
    ModelHost *node = model_compute_node(call->compute, call->node);
    ModelSubnet *subnet = call->compute->subnet;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s cannot be managed: %s at %s. ", node->name,
                           model_cause_name(cause), at);
    const char *slash = strchr(at, '/');
    if ((cause == MODEL_CAUSE_NSG_DENIED_IN || cause == MODEL_CAUSE_NSG_DENIED_OUT) && slash) {
        g_autofree char *name = g_strndup(at, (gsize)(slash - at));
        int below = rule_priority(net, name, slash + 1,
                                  cause == MODEL_CAUSE_NSG_DENIED_IN ? MODEL_DIR_INBOUND
                                                                     : MODEL_DIR_OUTBOUND);
        g_string_append_printf(s,
                               "Allow %s in NSG %s with a priority number below %d, so that it "
                               "is evaluated before rule %s (how-to-secure-training-vnet.md)",
                               requirement(call), name, below, slash + 1);
        return g_string_free(s, FALSE);
    }
    /* Where the node's packets to the manager go: a 0.0.0.0/0 to an appliance or gateway
     * (forced tunneling) takes the replies away from the internet they came from. */
    const ModelRoute *route = model_routes_lookup(subnet->routes, call->manager);
    bool tunneled = route && (route->type == MODEL_NEXT_HOP_VIRTUAL_APPLIANCE ||
                              route->type == MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY);
    if (tunneled) {
        g_autoptr(GString) r = g_string_new(NULL);
        model_route_describe(route, r);
        char m[MODEL_IP_STRLEN];
        model_ip_format(call->manager, m);
        g_string_append_printf(s, "The node's packets to %s (%s) take route %s", m,
                               call->who == MODEL_COMPUTE_MGMT_AML ? "AzureMachineLearning"
                                                                   : "BatchNodeManagement",
                               r->str);
        if (call->inbound)
            g_string_append(s, " while the management connection came in from the internet: "
                               "the reply returns asymmetrically");
        g_autofree char *batch = regional_tag(net, "BatchNodeManagement");
        g_autofree char *aml = regional_tag(net, "AzureMachineLearning");
        g_string_append_printf(s,
                               ". Add user-defined routes for the %s and %s service tags with "
                               "next hop Internet to %s%s of %s",
                               batch, aml, subnet->route_table ? "route table " : "a route table",
                               subnet->route_table ? subnet->route_table->name : "", subnet->path);
        if (!call->inbound)
            g_string_append(s, ", or let the firewall allow them, or attach a NAT gateway");
        g_string_append(s, " (machine-learning-compute-user-defined-routes.md)");
        return g_string_free(s, FALSE);
    }
    g_string_append_printf(s, "The node needs %s", requirement(call));
    if (!call->inbound)
        g_string_append(s, " and an outbound path (NAT gateway, a firewall through a UDR, or "
                           "default outbound access)");
    if (inner_hint && *inner_hint)
        g_string_append_printf(s, "; %s", inner_hint);
    return g_string_free(s, FALSE);
}

static void call_verdict(ModelNet *net, const Call *call, ModelVerdict verdict, ModelCause cause,
                         const char *at, ModelCause root, const char *root_at, const char *hint)
{
    model_trace_verdict(net->trace, &(ModelVerdictRecord){
                                        .flow = call->name,
                                        .verdict = verdict,
                                        .cause = cause,
                                        .at = at ? at : "",
                                        .root_cause = root,
                                        .root_at = root_at ? root_at : "",
                                        .hint = hint ? hint : "",
                                        .t_ns = sim_now(net->engine),
                                    });
}

static void call_done(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                      const char *at, const char *hint, void *ctx)
{
    (void)flow;
    Call *call = ctx;
    ModelHost *node = model_compute_node(call->compute, call->node);
    if (verdict == MODEL_VERDICT_DELIVERED) {
        call_verdict(net, call, verdict, MODEL_CAUSE_NONE, node->name, MODEL_CAUSE_NONE, NULL, "");
        return;
    }
    if (verdict == MODEL_VERDICT_ABORTED) {
        call_verdict(net, call, verdict, cause, at, MODEL_CAUSE_NONE, NULL, hint);
        return;
    }
    g_autofree char *fix = unusable_hint(net, call, cause, at ? at : "", hint);
    call_verdict(net, call, MODEL_VERDICT_DROPPED, MODEL_CAUSE_COMPUTE_NODE_UNUSABLE, at, cause, at,
                 fix);
}

int model_net_start_compute_management(ModelNet *net, const char *flow, ModelCompute *c,
                                       unsigned node, ModelComputeManager who, SimTime at)
{
    g_return_val_if_fail(net->engine && net->trace, -1);
    Call *call = g_new0(Call, 1);
    call->net = net;
    call->name = g_strdup(flow);
    call->compute = c;
    call->node = node;
    call->who = who;
    g_ptr_array_add(model__computes(net)->calls, call);
    ModelHost *host = model_compute_node(c, node);
    bool managed = net->services && net->services->managed;
    const char *manager = who == MODEL_COMPUTE_MGMT_AML ? "aml-service" : "batch";
    call->manager = model_net_managed_address(net, manager);
    if (!host || !managed || (who == MODEL_COMPUTE_MGMT_AML && !c->lb)) {
        const char *why =
            !host      ? "the compute has no such node (a cluster at 0 nodes has none)"
            : !managed ? "the managed services (Batch, the AML service) are not in the scenario"
                       : "without a public IP the AML service reaches the instance over Private "
                         "Link, which is not modelled";
        call_verdict(net, call, MODEL_VERDICT_ABORTED,
                     host && managed ? MODEL_CAUSE_UNSUPPORTED_FEATURE
                                     : MODEL_CAUSE_UNKNOWN_ENDPOINT,
                     host ? host->name : c->name, MODEL_CAUSE_NONE, NULL, why);
        return -1;
    }
    int index;
    if (who == MODEL_COMPUTE_MGMT_AML) {
        call->inbound = true;
        g_autofree char *inner = g_strdup_printf("%s/aml-44224", flow);
        index =
            model__aml_service_call(net, inner, model_compute_node_public_ip(c, node),
                                    model_compute_node_public_port(c, node, PORT_AML_COMPUTE), at);
    } else if (c->lb && net->services->batch_mode == MODEL_BATCH_CLASSIC) {
        call->inbound = true;
        g_autofree char *inner = g_strdup_printf("%s/batch-29876", flow);
        index = model__batch_node_management(
            net, inner, host, model_compute_node_public_ip(c, node),
            model_compute_node_public_port(c, node, PORT_BATCH_NODE), at);
    } else if (c->lb) {
        g_autofree char *inner = g_strdup_printf("%s/batch-443", flow);
        index = model_net_start_batch_node_management(net, inner, host, at);
    } else {
        /* No public IP: "no inbound communication requirements"; the node calls Batch's
         * node management endpoint (simplified communication) through its outbound path. */
        g_autofree char *inner = g_strdup_printf("%s/batch-443", flow);
        g_autofree char *fqdn = g_strdup_printf("amlbatch.%s.service.batch.azure.com", net->region);
        ModelFlowSpec spec = {.name = inner,
                              .from = host,
                              .fqdn = fqdn,
                              .port = 443,
                              .proto = MODEL_IPPROTO_TCP,
                              .tls = true,
                              .request = true};
        index = model_net_start_flow(net, &spec, at);
    }
    if (index < 0)
        return -1;
    ModelFlow *inner = g_ptr_array_index(net->flows, (guint)index);
    inner->on_finish = call_done;
    inner->on_finish_ctx = call;
    return index;
}

/* ---- outbound requirements ---- */

typedef struct {
    const char *part;
    const char *fqdn; /* "{region}" stands for the region */
    uint8_t proto;
    uint16_t port;
} Requirement;

/* includes/machine-learning-public-internet-access.md, as the managed hosts publish them
 * (service_managed.c). */
static const Requirement requirements[] = {
    {"aad", "login.microsoftonline.com", MODEL_IPPROTO_TCP, 443},
    {"aml", "{region}.api.azureml.ms", MODEL_IPPROTO_TCP, 443},
    {"aml-18881", "{region}.api.azureml.ms", MODEL_IPPROTO_TCP, 18881},
    {"aml-5831", "{region}.api.azureml.ms", MODEL_IPPROTO_UDP, 5831},
    {"batch", "amlbatch.{region}.service.batch.azure.com", MODEL_IPPROTO_TCP, 443},
    {"arm", "management.azure.com", MODEL_IPPROTO_TCP, 443},
    {"ms-storage", "amlmsstore{region}.blob.core.windows.net", MODEL_IPPROTO_TCP, 443},
    {"afd", "ml.azure.com", MODEL_IPPROTO_TCP, 443},
    {"mcr", "mcr.microsoft.com", MODEL_IPPROTO_TCP, 443},
};

/* Starts "<prefix>/<part>" and appends its name to `names` (NULL when it could not start). */
static void start_one(ModelNet *net, ModelHost *from, const char *prefix, const char *part,
                      const char *fqdn, uint8_t proto, uint16_t port, SimTime at, GPtrArray *names)
{
    char *name = g_strdup_printf("%s/%s", prefix, part);
    bool https = proto == MODEL_IPPROTO_TCP && port == 443;
    ModelFlowSpec spec = {.name = name,
                          .from = from,
                          .fqdn = fqdn,
                          .port = port,
                          .proto = proto,
                          .tls = https,
                          .request = https};
    bool started = model_net_start_flow(net, &spec, at) >= 0;
    if (names)
        g_ptr_array_add(names, started ? name : NULL);
    if (!started || !names)
        g_free(name);
}

int model_net_start_compute_outbound(ModelNet *net, ModelCompute *c, const char *flow_prefix,
                                     SimTime at, GPtrArray *names)
{
    ModelHost *node = model_compute_node(c, 0);
    if (!node || !net->services || !net->services->managed)
        return -1;
    guint before = names ? names->len : 0;
    int n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(requirements); i++) {
        const Requirement *r = &requirements[i];
        /* UDP 5831: "create, update, and delete of compute instance". */
        if (r->proto == MODEL_IPPROTO_UDP && c->kind != MODEL_COMPUTE_INSTANCE)
            continue;
        GString *fqdn = g_string_new(r->fqdn);
        g_string_replace(fqdn, "{region}", net->region, 0);
        start_one(net, node, flow_prefix, r->part, fqdn->str, r->proto, r->port, at, names);
        g_string_free(fqdn, TRUE);
        n++;
    }
    /* The workspace and its resources, by their names: through their private endpoints
     * when the VNet's DNS says so (no-public-IP compute depends on the workspace's private
     * link). SMB to the default storage's file share: 445 ("files over 445 (SMB) and
     * 443"). */
    const ModelComputeOptions *o = &c->options;
    const struct {
        const char *part;
        ModelService *svc;
        const char *sub;
        uint16_t port;
    } resources[] = {
        {"workspace-api", o->workspace, "api", 443}, {"storage-smb", o->storage, "file", 445},
        {"storage-https", o->storage, "blob", 443},  {"keyvault", o->key_vault, "vault", 443},
        {"acr", o->registry, "registry", 443},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(resources); i++) {
        if (!resources[i].svc)
            continue;
        start_one(net, node, flow_prefix, resources[i].part,
                  model_service_fqdn(resources[i].svc, resources[i].sub), MODEL_IPPROTO_TCP,
                  resources[i].port, at, names);
        n++;
    }
    g_assert(!names || names->len - before == (guint)n);
    return n;
}
