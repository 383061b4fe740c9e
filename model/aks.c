/*
 * aks.c — an AKS inference cluster attached to the workspace: its nodes in a subnet, its
 * scoring endpoint on a load balancer (lb.c), and the address ranges Azure checks.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs):
 *  - articles/machine-learning/v1/how-to-secure-inferencing-vnet.md (2022-07): "Kubernetes
 *    Service address range … must not overlap with any subnet IP ranges"; "Kubernetes DNS
 *    service IP address … must be within the Kubernetes service address range"; "Docker
 *    bridge address … must not be in any subnet IP ranges, or the Kubernetes service
 *    address range"; "If your workspace has a private endpoint, the Azure Kubernetes
 *    Service cluster must be in the same Azure region as the workspace"; "Make sure that
 *    the network security group (NSG) that controls the virtual network has an inbound
 *    security rule enabled for the IP address of the scoring endpoint if you want to call
 *    it from outside the virtual network"; "the same IP is shared by all deployments to one
 *    AKS cluster"; "By default, AKS deployments use a public load balancer … An internal
 *    (or private) load balancer is used where only private IPs are allowed as frontend".
 *  - articles/aks/configure-azure-cni.md (prerequisites): the DNS service IP must not be
 *    "the first IP address in your address range", which kubernetes.default.svc takes.
 *  - articles/aks/internal-lb.md: the internal load balancer is "kubernetes-internal", the
 *    public one "kubernetes".
 *  - azure-facts.md §5: "Inside the cluster, azureml-fe forwards to model pods on 5001".
 *
 * What is modelled: the scoring endpoint is the load balancer's frontend; a load-balancing
 * rule sends the scoring port to azureml-fe on the nodes (the same port, TCP-probed from
 * 168.63.129.16); azureml-fe and the model pod (5001) share the node, so the pod is a
 * listener of the node host and the hop between them is not a packet. AKS's own load
 * balancer uses floating IP (the NSG sees the frontend address as destination); lb.c
 * DNATs to the node, so an NSG rule for the scoring port must name the nodes (or "*") as
 * destination to match here — a limitation, not Azure's behaviour. AKS's node-level NSG,
 * which AKS keeps open for its services, is not modelled: the customer's subnet NSG
 * decides.
 */
#include "model/net_internal.h"

#include <string.h>

#define AKS_ERROR (g_quark_from_static_string("model-aks"))

#define AKS_POD_PORT     5001 /* the model pod behind azureml-fe */
#define AKS_DEFAULT_PORT 80
#define AKS_PROBE        "azureml-fe"

struct ModelAks {
    char *name;
    ModelAksSpec spec; /* region not kept */
    ModelLb *lb;
    GPtrArray *nodes; /* ModelHost *, borrowed */
};

void model__aks_free(gpointer p)
{
    ModelAks *a = p;
    g_ptr_array_free(a->nodes, TRUE);
    g_free(a->name);
    g_free(a);
}

static gboolean overlapping_subnet(const ModelNet *net, const char *aks, const char *what,
                                   ModelPrefix range, GError **error)
{
    for (guint i = 0; i < net->subnets->len; i++) {
        const ModelSubnet *s = g_ptr_array_index(net->subnets, i);
        if (!model_prefix_overlaps(range, s->prefix))
            continue;
        char r[MODEL_PREFIX_STRLEN], p[MODEL_PREFIX_STRLEN];
        model_prefix_format(range, r);
        model_prefix_format(s->prefix, p);
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s': the %s %s overlaps subnet %s (%s); it must not overlap any "
                    "subnet IP range (how-to-secure-inferencing-vnet.md)",
                    aks, what, r, s->path, p);
        return TRUE;
    }
    return FALSE;
}

/* The rules Azure checks on the cluster's address ranges. */
static gboolean check_ranges(const ModelNet *net, const char *name, const ModelAksSpec *spec,
                             GError **error)
{
    char svc[MODEL_PREFIX_STRLEN], dns[MODEL_IP_STRLEN], bridge[MODEL_PREFIX_STRLEN];
    model_prefix_format(spec->service_cidr, svc);
    model_ip_format(spec->dns_service_ip, dns);
    model_prefix_format(spec->docker_bridge_cidr, bridge);
    if (overlapping_subnet(net, name, "Kubernetes service address range", spec->service_cidr,
                           error))
        return FALSE;
    if (!model_prefix_contains(spec->service_cidr, spec->dns_service_ip)) {
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s': the DNS service IP %s must be within the Kubernetes service "
                    "address range %s (how-to-secure-inferencing-vnet.md)",
                    name, dns, svc);
        return FALSE;
    }
    uint32_t offset = spec->dns_service_ip - spec->service_cidr.addr;
    if (offset <= 1) {
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s': the DNS service IP %s is the %s of %s; don't use the first IP "
                    "address of the range, kubernetes.default.svc.cluster.local takes it "
                    "(configure-azure-cni.md)",
                    name, dns, offset == 0 ? "network address" : "first address", svc);
        return FALSE;
    }
    if (overlapping_subnet(net, name, "Docker bridge address", spec->docker_bridge_cidr, error))
        return FALSE;
    if (model_prefix_overlaps(spec->docker_bridge_cidr, spec->service_cidr)) {
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s': the Docker bridge address %s overlaps the Kubernetes service "
                    "address range %s (how-to-secure-inferencing-vnet.md)",
                    name, bridge, svc);
        return FALSE;
    }
    return TRUE;
}

gboolean model__aks_check(ModelNet *net, const ModelAks *aks, GError **error)
{
    return check_ranges(net, aks->name, &aks->spec, error);
}

static ModelPrefix normalized(ModelPrefix p)
{
    p.addr &= model_prefix_mask(p.len);
    return p;
}

ModelAks *model_net_add_aks(ModelNet *net, const char *name, const ModelAksSpec *spec,
                            GError **error)
{
    if (!name || !*name || !spec || !spec->subnet) {
        g_set_error(error, AKS_ERROR, 0, "AKS needs a name and a subnet");
        return NULL;
    }
    if (spec->region && g_ascii_strcasecmp(spec->region, net->region) != 0) {
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s' is in %s, its virtual network %s in %s: the cluster must be in "
                    "the same region (how-to-secure-inferencing-vnet.md)",
                    name, spec->region, spec->subnet->vnet->name, net->region);
        return NULL;
    }
    ModelAksSpec s = *spec;
    s.region = NULL;
    s.service_cidr = normalized(s.service_cidr);
    s.docker_bridge_cidr = normalized(s.docker_bridge_cidr);
    s.scoring_port = s.scoring_port ? s.scoring_port : AKS_DEFAULT_PORT;
    s.nodes = s.nodes ? s.nodes : 1;
    if (!check_ranges(net, name, &s, error))
        return NULL;
    bool internal = s.lb == MODEL_AKS_LB_INTERNAL;
    /* Addresses as Azure hands them out when none is asked for: the nodes the subnet's
     * first free ones, an internal frontend the next, a public one from the region. */
    g_autofree uint32_t *ips = g_new0(uint32_t, s.nodes + 2);
    g_autofree char *what = g_strdup_printf("AKS '%s'", name);
    bool pick_frontend = internal && !s.scoring_ip;
    /* A frontend address given in the subnet is not one of the nodes': pick one more and
     * leave it out. */
    bool given_inside =
        internal && s.scoring_ip && model_prefix_contains(s.subnet->prefix, s.scoring_ip);
    if (!model__subnet_free_addresses(s.subnet, s.nodes + pick_frontend + given_inside, ips, what,
                                      error))
        return NULL;
    if (given_inside) {
        unsigned k = 0;
        for (unsigned i = 0; i < s.nodes + 1; i++)
            if (ips[i] != s.scoring_ip && k < s.nodes)
                ips[k++] = ips[i];
    }
    if (pick_frontend)
        s.scoring_ip = ips[s.nodes];
    g_autofree char *cloud = g_strdup_printf("AzureCloud.%s", net->region);
    if (!internal && !s.scoring_ip && !model__service_tag_address(net, cloud, &s.scoring_ip, error))
        return NULL;
    if (internal != model_ip_is_private(s.scoring_ip)) {
        g_set_error(error, AKS_ERROR, 0,
                    "AKS '%s': the scoring endpoint of an %s load balancer needs a %s address",
                    name, internal ? "internal" : "public", internal ? "private" : "public");
        return NULL;
    }
    g_autofree char *lb_name =
        g_strdup_printf("%s-%s", name, internal ? "kubernetes-internal" : "kubernetes");
    ModelLb *lb =
        model_net_add_load_balancer(net, lb_name, internal ? s.subnet : NULL, s.scoring_ip, error);
    if (!lb)
        return NULL;
    ModelAks *aks = g_new0(ModelAks, 1);
    aks->name = g_strdup(name);
    aks->spec = s;
    aks->lb = lb;
    aks->nodes = g_ptr_array_new();
    g_ptr_array_add(model__computes(net)->aks, aks);
    if (!model_lb_add_probe(lb, AKS_PROBE, MODEL_LB_PROBE_TCP, s.scoring_port, NULL, 0, 0, error) ||
        !model_lb_add_rule(lb, "scoring", MODEL_IPPROTO_TCP, s.scoring_port, s.scoring_port,
                           AKS_PROBE, error))
        return NULL;
    for (unsigned i = 0; i < s.nodes; i++) {
        g_autofree char *node = g_strdup_printf("%s-node%u", name, i);
        ModelHost *h = model_net_add_host(net, node, MODEL_HOST_VM, error);
        ModelNic *nic = h ? model_net_add_nic(net, h, s.subnet, "nic0", ips[i], error) : NULL;
        if (!nic || !model_lb_add_backend(lb, nic, error))
            return NULL;
        model_host_listen(h, MODEL_IPPROTO_TCP, s.scoring_port); /* azureml-fe */
        model_host_listen(h, MODEL_IPPROTO_TCP, AKS_POD_PORT);   /* the model pod */
        g_ptr_array_add(aks->nodes, h);
    }
    return aks;
}

ModelAks *model_net_find_aks(const ModelNet *net, const char *name)
{
    const ModelComputeSet *cs = net->computes;
    for (guint i = 0; cs && i < cs->aks->len; i++) {
        ModelAks *aks = g_ptr_array_index(cs->aks, i);
        if (strcmp(aks->name, name) == 0)
            return aks;
    }
    return NULL;
}

ModelHost *model_aks_node(const ModelAks *aks, unsigned i)
{
    return i < aks->nodes->len ? g_ptr_array_index(aks->nodes, i) : NULL;
}

ModelLb *model_aks_load_balancer(const ModelAks *aks)
{
    return aks->lb;
}

uint32_t model_aks_scoring_ip(const ModelAks *aks)
{
    return aks->spec.scoring_ip;
}

uint16_t model_aks_scoring_port(const ModelAks *aks)
{
    return aks->spec.scoring_port;
}

int model_net_start_aks_scoring(ModelNet *net, const char *flow, ModelHost *client, ModelAks *aks,
                                bool https, SimTime at)
{
    ModelFlowSpec spec = {.name = flow,
                          .from = client,
                          .ip = aks->spec.scoring_ip,
                          .port = aks->spec.scoring_port,
                          .proto = MODEL_IPPROTO_TCP,
                          .tls = https,
                          .request = true};
    return model_net_start_flow(net, &spec, at);
}
