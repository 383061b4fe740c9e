/*
 * net.c — building a topology and preparing it for replay: validation, the topological
 * service tags, compiled NSGs and every subnet's effective routes.
 */
#include "model/net_internal.h"

#include <glib/gstdio.h>
#include <string.h>

#define NET_ERROR (g_quark_from_static_string("model-net"))

static void vnet_free(gpointer p)
{
    ModelVnet *v = p;
    g_free(v->name);
    g_free(v->space);
    g_ptr_array_free(v->subnets, TRUE);
    g_ptr_array_free(v->peers, TRUE);
    g_hash_table_destroy(v->nic_by_ip);
    model_prefix_set_clear(&v->tag_virtual_network);
    model_prefix_set_clear(&v->tag_internet);
    g_array_free(v->dns_servers, TRUE);
    g_free(v);
}

static void subnet_free(gpointer p)
{
    ModelSubnet *s = p;
    model_nsg_table_free(s->nsg_in);
    model_nsg_table_free(s->nsg_out);
    model_routes_free(s->routes);
    g_ptr_array_free(s->service_endpoints, TRUE);
    g_free(s->name);
    g_free(s->path);
    g_free(s);
}

static void nic_free(gpointer p)
{
    ModelNic *n = p;
    if (n->capture)
        pcap_capture_discard(n->capture);
    model_nsg_table_free(n->nsg_in);
    model_nsg_table_free(n->nsg_out);
    g_ptr_array_free(n->asgs, TRUE);
    g_ptr_array_free(n->fqdns, TRUE);
    g_free(n->name);
    g_free(n->capture_name);
    g_free(n);
}

static void host_free(gpointer p)
{
    ModelHost *h = p;
    g_ptr_array_free(h->nics, TRUE);
    g_hash_table_destroy(h->listen);
    g_array_free(h->dns_servers, TRUE);
    g_hash_table_destroy(h->hosts_file);
    if (h->ports_used)
        g_hash_table_destroy(h->ports_used);
    model__dns_server_free(h->dns_server);
    g_free(h->name);
    g_free(h);
}

static void flow_free(gpointer p)
{
    ModelFlow *f = p;
    g_free(f->name);
    g_free(f->responder);
    g_free(f->fqdn);
    g_free(f->sni);
    g_free(f->identity);
    g_free(f->dns.answered_by);
    g_free(f->dns.public_reason);
    g_free(f->dns.public_by);
    model__app_response_clear(&f->response);
    g_free(f->root_at);
    g_free(f->root_hint);
    g_free(f->drop_at);
    g_free(f->drop_hint);
    g_free(f);
}

static void asg_members_free(gpointer p)
{
    g_array_free(p, TRUE);
}

/* The DNS db keys zone links by VNet pointer; its messages name the VNet. */
static const char *vnet_name_of(const void *vnet)
{
    return ((const ModelVnet *)vnet)->name;
}

ModelNet *model_net_new(const char *region, ModelServiceTags *tags)
{
    ModelNet *net = g_new0(ModelNet, 1);
    net->region = g_strdup(region ? region : "eastus");
    net->tags = tags ? tags : model_service_tags_new_builtin();
    net->vnets = g_ptr_array_new_with_free_func(vnet_free);
    net->subnets = g_ptr_array_new_with_free_func(subnet_free);
    net->hosts = g_ptr_array_new_with_free_func(host_free);
    net->nics = g_ptr_array_new_with_free_func(nic_free);
    net->nsgs = g_ptr_array_new_with_free_func((GDestroyNotify)model_nsg_free);
    net->route_tables = g_ptr_array_new_with_free_func((GDestroyNotify)model_route_table_free);
    net->flows = g_ptr_array_new_with_free_func(flow_free);
    net->nsg_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    net->rt_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    net->host_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    net->vnet_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    net->public_ip = g_hash_table_new(g_direct_hash, g_direct_equal);
    net->asg_members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, asg_members_free);
    net->fqdn_service = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    net->dns = model_dns_db_new();
    model_dns_db_set_vnet_name_fn(net->dns, vnet_name_of);
    /* Default outbound access hands out Azure public IPs; these come from a block the
     * built-in service tags list under AzureCloud only. */
    net->next_default_outbound_ip = MODEL_DEFAULT_OUTBOUND_FIRST;
    return net;
}

void model_net_free(ModelNet *net)
{
    if (!net)
        return;
    /* NSG tables borrow the NSGs' rules: subnets and NICs go first. */
    g_ptr_array_free(net->nics, TRUE);
    g_ptr_array_free(net->subnets, TRUE);
    g_ptr_array_free(net->vnets, TRUE);
    g_ptr_array_free(net->hosts, TRUE);
    g_ptr_array_free(net->nsgs, TRUE);
    g_ptr_array_free(net->route_tables, TRUE);
    g_ptr_array_free(net->flows, TRUE);
    model__activities_free(net);
    g_hash_table_destroy(net->nsg_by_name);
    g_hash_table_destroy(net->rt_by_name);
    g_hash_table_destroy(net->host_by_name);
    g_hash_table_destroy(net->vnet_by_name);
    g_hash_table_destroy(net->public_ip);
    g_hash_table_destroy(net->asg_members);
    g_hash_table_destroy(net->fqdn_service);
    model_dns_db_free(net->dns);
    model__services_free(net);
    model__entry_free(net);       /* gateway.c: sites, gateways, Bastion (NICs are ours) */
    model__middleboxes_free(net); /* azfw.c: firewalls, NAT gateways, load balancers */
    model__computes_free(net);    /* compute.c: compute and AKS (their hosts are ours) */
    if (net->nsg_state)
        g_hash_table_destroy(net->nsg_state);
    if (net->conntrack)
        g_hash_table_destroy(net->conntrack);
    if (net->snat)
        g_hash_table_destroy(net->snat);
    if (net->snat_out)
        g_hash_table_destroy(net->snat_out);
    if (net->reserved_public)
        g_hash_table_destroy(net->reserved_public);
    model_service_tags_free(net->tags);
    g_free(net->region);
    g_free(net->pcap_dir);
    g_free(net);
}

static gboolean name_free(GHashTable *index, const char *what, const char *name, GError **error)
{
    if (!name || !*name) {
        g_set_error(error, NET_ERROR, 0, "%s needs a name", what);
        return FALSE;
    }
    if (g_hash_table_contains(index, name)) {
        g_set_error(error, NET_ERROR, 0, "%s '%s' is defined twice", what, name);
        return FALSE;
    }
    return TRUE;
}

ModelNsg *model_net_add_nsg(ModelNet *net, const char *name, GError **error)
{
    if (!name_free(net->nsg_by_name, "network security group", name, error))
        return NULL;
    ModelNsg *nsg = model_nsg_new(name);
    g_ptr_array_add(net->nsgs, nsg);
    g_hash_table_insert(net->nsg_by_name, (gpointer)model_nsg_name(nsg), nsg);
    return nsg;
}

ModelRouteTable *model_net_add_route_table(ModelNet *net, const char *name, GError **error)
{
    if (!name_free(net->rt_by_name, "route table", name, error))
        return NULL;
    ModelRouteTable *t = model_route_table_new(name, false);
    g_ptr_array_add(net->route_tables, t);
    g_hash_table_insert(net->rt_by_name, t->name, t);
    return t;
}

ModelNsg *model_net_find_nsg(const ModelNet *net, const char *name)
{
    return g_hash_table_lookup(net->nsg_by_name, name);
}

ModelRouteTable *model_net_find_route_table(const ModelNet *net, const char *name)
{
    return g_hash_table_lookup(net->rt_by_name, name);
}

const ModelServiceTags *model_net_service_tags(const ModelNet *net)
{
    return net->tags;
}

ModelVnet *model_net_add_vnet(ModelNet *net, const char *name, const ModelPrefix *space,
                              size_t n_space, GError **error)
{
    if (!name_free(net->vnet_by_name, "virtual network", name, error))
        return NULL;
    if (n_space == 0) {
        g_set_error(error, NET_ERROR, 0, "virtual network '%s' needs an address space", name);
        return NULL;
    }
    for (size_t i = 0; i < n_space; i++)
        for (size_t j = i + 1; j < n_space; j++)
            if (model_prefix_overlaps(space[i], space[j])) {
                g_set_error(error, NET_ERROR, 0,
                            "virtual network '%s': address ranges overlap each other", name);
                return NULL;
            }
    ModelVnet *v = g_new0(ModelVnet, 1);
    v->name = g_strdup(name);
    v->space = g_memdup2(space, n_space * sizeof *space);
    v->n_space = n_space;
    v->subnets = g_ptr_array_new();
    v->peers = g_ptr_array_new();
    v->nic_by_ip = g_hash_table_new(g_direct_hash, g_direct_equal);
    v->dns_servers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    model_prefix_set_init(&v->tag_virtual_network);
    model_prefix_set_init(&v->tag_internet);
    g_ptr_array_add(net->vnets, v);
    g_hash_table_insert(net->vnet_by_name, v->name, v);
    return v;
}

static bool vnet_contains_prefix(const ModelVnet *v, ModelPrefix p)
{
    for (size_t i = 0; i < v->n_space; i++)
        if (model_prefix_covers(v->space[i], p))
            return true;
    return false;
}

ModelSubnet *model_net_add_subnet(ModelNet *net, ModelVnet *vnet, const char *name,
                                  ModelPrefix prefix, GError **error)
{
    char text[MODEL_PREFIX_STRLEN];
    model_prefix_format(prefix, text);
    if (!vnet_contains_prefix(vnet, prefix)) {
        g_set_error(error, NET_ERROR, 0,
                    "subnet '%s' (%s) is not inside the address space of virtual network '%s'",
                    name, text, vnet->name);
        return NULL;
    }
    /* Azure: the smallest subnet is /29 (azdocs:articles/virtual-network/
     * virtual-networks-faq.md, "How small and how large can virtual networks and subnets
     * be?"). */
    if (prefix.len > 29) {
        g_set_error(error, NET_ERROR, 0, "subnet '%s' (%s) is smaller than /29, Azure's minimum",
                    name, text);
        return NULL;
    }
    for (guint i = 0; i < vnet->subnets->len; i++) {
        ModelSubnet *other = g_ptr_array_index(vnet->subnets, i);
        if (strcmp(other->name, name) == 0) {
            g_set_error(error, NET_ERROR, 0, "subnet '%s' is defined twice in '%s'", name,
                        vnet->name);
            return NULL;
        }
        if (model_prefix_overlaps(other->prefix, prefix)) {
            g_set_error(error, NET_ERROR, 0, "subnet '%s' (%s) overlaps subnet '%s'", name, text,
                        other->name);
            return NULL;
        }
    }
    ModelSubnet *s = g_new0(ModelSubnet, 1);
    s->name = g_strdup(name);
    s->path = g_strdup_printf("%s/%s", vnet->name, name);
    s->vnet = vnet;
    s->prefix = prefix;
    s->service_endpoints = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(vnet->subnets, s);
    g_ptr_array_add(net->subnets, s);
    return s;
}

void model_subnet_set_nsg(ModelSubnet *subnet, ModelNsg *nsg)
{
    subnet->nsg = nsg;
}

void model_subnet_set_route_table(ModelSubnet *subnet, ModelRouteTable *table)
{
    subnet->route_table = table;
}

void model_subnet_set_pe_policies(ModelSubnet *subnet, ModelPePolicies policies)
{
    subnet->pe_policies = policies;
}

void model_subnet_set_default_outbound_access(ModelSubnet *subnet, bool enabled)
{
    subnet->no_default_outbound = !enabled;
}

/* Service endpoint name -> the service tag whose regional prefixes its routes carry. */
static const struct {
    const char *service, *tag;
} service_endpoint_tags[] = {
    {"Microsoft.Storage", "Storage"},
    {"Microsoft.KeyVault", "AzureKeyVault"},
    {"Microsoft.ContainerRegistry", "AzureContainerRegistry"},
};

static const char *service_endpoint_tag(const char *service)
{
    for (size_t i = 0; i < G_N_ELEMENTS(service_endpoint_tags); i++)
        if (g_ascii_strcasecmp(service, service_endpoint_tags[i].service) == 0)
            return service_endpoint_tags[i].tag;
    return NULL;
}

gboolean model_subnet_add_service_endpoint(ModelSubnet *subnet, const char *service, GError **error)
{
    if (!service_endpoint_tag(service)) {
        g_set_error(error, NET_ERROR, 0,
                    "subnet '%s': unknown service endpoint '%s' (known: Microsoft.Storage, "
                    "Microsoft.KeyVault, Microsoft.ContainerRegistry)",
                    subnet->path, service);
        return FALSE;
    }
    g_ptr_array_add(subnet->service_endpoints, g_strdup(service));
    return TRUE;
}

gboolean model_net_peer(ModelNet *net, ModelVnet *a, ModelVnet *b, GError **error)
{
    (void)net;
    if (a == b) {
        g_set_error(error, NET_ERROR, 0, "virtual network '%s' cannot peer with itself", a->name);
        return FALSE;
    }
    /* "The address spaces of the peered virtual networks can't overlap"
     * (azdocs:articles/virtual-network/virtual-network-manage-peering.md). */
    for (size_t i = 0; i < a->n_space; i++)
        for (size_t j = 0; j < b->n_space; j++)
            if (model_prefix_overlaps(a->space[i], b->space[j])) {
                g_set_error(error, NET_ERROR, 0,
                            "cannot peer '%s' with '%s': their address spaces overlap", a->name,
                            b->name);
                return FALSE;
            }
    g_ptr_array_add(a->peers, b);
    g_ptr_array_add(b->peers, a);
    return TRUE;
}

ModelHost *model_net_add_host(ModelNet *net, const char *name, ModelHostKind kind, GError **error)
{
    if (!name_free(net->host_by_name, "host", name, error))
        return NULL;
    ModelHost *h = g_new0(ModelHost, 1);
    h->name = g_strdup(name);
    h->kind = kind;
    h->nics = g_ptr_array_new();
    h->listen = g_hash_table_new(g_direct_hash, g_direct_equal);
    h->dns_servers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    h->hosts_file = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    h->stateful = kind == MODEL_HOST_APPLIANCE;
    g_ptr_array_add(net->hosts, h);
    g_hash_table_insert(net->host_by_name, h->name, h);
    return h;
}

static ModelNic *nic_new(ModelNet *net, ModelHost *host, const char *name, uint32_t ip)
{
    ModelNic *n = g_new0(ModelNic, 1);
    n->net = net;
    n->name = g_strdup(name);
    n->capture_name = g_strdup_printf("%s-%s", host ? host->name : "pe", name);
    n->host = host;
    n->ip = ip;
    n->asgs = g_ptr_array_new_with_free_func(g_free);
    n->fqdns = g_ptr_array_new_with_free_func(g_free);
    /* 00:0d:3a is the Microsoft OUI Azure NICs carry; the rest numbers the NIC. */
    guint index = net->nics->len + 1;
    const uint8_t mac[6] = {
        0x00, 0x0d, 0x3a, (uint8_t)(index >> 16), (uint8_t)(index >> 8), (uint8_t)index};
    memcpy(n->mac, mac, 6);
    g_ptr_array_add(net->nics, n);
    if (host)
        g_ptr_array_add(host->nics, n);
    return n;
}

/* For the entry points (onprem.c, gateway.c): a NIC outside every subnet. */
ModelNic *model__nic_new(ModelNet *net, ModelHost *host, const char *name, uint32_t ip)
{
    return nic_new(net, host, name, ip);
}

static gboolean check_nic_ip(ModelSubnet *subnet, const char *name, uint32_t ip, GError **error)
{
    char ipt[MODEL_IP_STRLEN], st[MODEL_PREFIX_STRLEN];
    model_ip_format(ip, ipt);
    model_prefix_format(subnet->prefix, st);
    if (!model_prefix_contains(subnet->prefix, ip)) {
        g_set_error(error, NET_ERROR, 0, "'%s': %s is not inside subnet %s (%s)", name, ipt,
                    subnet->path, st);
        return FALSE;
    }
    /* Azure reserves x.x.x.0 (network), .1 (default gateway), .2 and .3 (Azure DNS), and
     * the last address (broadcast) of every subnet (azdocs:articles/virtual-network/
     * virtual-networks-faq.md, "Are there any restrictions on using IP addresses within
     * these subnets?"). */
    uint32_t offset = ip - subnet->prefix.addr;
    uint32_t size = (uint32_t)(1ull << (32 - subnet->prefix.len));
    if (offset < 4 || offset == size - 1) {
        g_set_error(error, NET_ERROR, 0,
                    "'%s': %s is reserved by Azure in subnet %s (the first four addresses and "
                    "the last one are)",
                    name, ipt, subnet->path);
        return FALSE;
    }
    if (g_hash_table_contains(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(ip))) {
        ModelNic *other = g_hash_table_lookup(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(ip));
        g_set_error(error, NET_ERROR, 0, "'%s': %s is already used by '%s'", name, ipt,
                    other->capture_name);
        return FALSE;
    }
    return TRUE;
}

ModelNic *model_net_add_nic(ModelNet *net, ModelHost *host, ModelSubnet *subnet, const char *name,
                            uint32_t ip, GError **error)
{
    if (!check_nic_ip(subnet, name, ip, error))
        return NULL;
    ModelNic *n = nic_new(net, host, name, ip);
    n->subnet = subnet;
    g_hash_table_insert(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(ip), n);
    return n;
}

void model_nic_set_nsg(ModelNic *nic, ModelNsg *nsg)
{
    nic->nsg = nsg;
}

void model_nic_set_ip_forwarding(ModelNic *nic, bool on)
{
    nic->ip_forwarding = on;
}

static gboolean claim_public_ip(ModelNet *net, uint32_t ip, ModelNic *nic, GError **error)
{
    char t[MODEL_IP_STRLEN];
    model_ip_format(ip, t);
    if (model_ip_is_private(ip)) {
        g_set_error(error, NET_ERROR, 0, "%s is not a public address", t);
        return FALSE;
    }
    if (g_hash_table_contains(net->public_ip, GUINT_TO_POINTER(ip))) {
        g_set_error(error, NET_ERROR, 0, "public address %s is used twice", t);
        return FALSE;
    }
    g_hash_table_insert(net->public_ip, GUINT_TO_POINTER(ip), nic);
    return TRUE;
}

gboolean model_nic_set_public_ip(ModelNet *net, ModelNic *nic, uint32_t public_ip, GError **error)
{
    if (!claim_public_ip(net, public_ip, nic, error))
        return FALSE;
    nic->public_ip = public_ip;
    return TRUE;
}

void model_nic_add_asg(ModelNic *nic, const char *asg)
{
    g_ptr_array_add(nic->asgs, g_strdup(asg));
}

gboolean model_host_set_public_ip(ModelNet *net, ModelHost *host, uint32_t ip, GError **error)
{
    if (host->public_ip) {
        g_set_error(error, NET_ERROR, 0, "host '%s' already has a public address", host->name);
        return FALSE;
    }
    /* The host's interface on the internet: no subnet, no NSG, captured like any NIC. */
    ModelNic *n = nic_new(net, host, "inet0", ip);
    if (!claim_public_ip(net, ip, n, error))
        return FALSE;
    host->public_ip = ip;
    return TRUE;
}

ModelNic *model_net_add_private_endpoint(ModelNet *net, const char *name, ModelSubnet *subnet,
                                         uint32_t ip, ModelHost *service, GError **error)
{
    if (!check_nic_ip(subnet, name, ip, error))
        return NULL;
    ModelNic *n = nic_new(net, NULL, name, ip);
    g_free(n->capture_name);
    n->capture_name = g_strdup(name);
    n->subnet = subnet;
    n->pe_target = service;
    g_hash_table_insert(subnet->vnet->nic_by_ip, GUINT_TO_POINTER(ip), n);
    return n;
}

void model_host_listen(ModelHost *host, uint8_t proto, uint16_t port)
{
    g_hash_table_add(host->listen, GUINT_TO_POINTER((guint)proto << 16 | port));
}

void model_host_set_stateful(ModelHost *host, bool stateful)
{
    host->stateful = stateful;
}

ModelHost *model_net_find_host(const ModelNet *net, const char *name)
{
    return g_hash_table_lookup(net->host_by_name, name);
}

ModelVnet *model_net_find_vnet(const ModelNet *net, const char *name)
{
    return g_hash_table_lookup(net->vnet_by_name, name);
}

ModelSubnet *model_vnet_find_subnet(const ModelVnet *vnet, const char *name)
{
    for (guint i = 0; i < vnet->subnets->len; i++) {
        ModelSubnet *s = g_ptr_array_index(vnet->subnets, i);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

/* ---- finalize: topological tags, NSG tables, effective routes ---- */

/* The VirtualNetwork tag of a VNet: "the virtual network address space (all IP address
 * ranges defined for the virtual network), all connected on-premises address spaces,
 * peered virtual networks, virtual networks connected to a virtual network gateway, the
 * virtual IP address of the host, and address prefixes used on user-defined routes"
 * (azdocs:articles/virtual-network/service-tags-overview.md). The UDR prefixes are those
 * of the route tables associated with the VNet's subnets. The Internet tag is the public
 * address space outside it. */
static void compute_topological_tags(ModelVnet *v)
{
    ModelPrefixSet *vn = &v->tag_virtual_network;
    for (size_t i = 0; i < v->n_space; i++)
        model_prefix_set_add(vn, v->space[i]);
    for (guint p = 0; p < v->peers->len; p++) {
        ModelVnet *peer = g_ptr_array_index(v->peers, p);
        for (size_t i = 0; i < peer->n_space; i++)
            model_prefix_set_add(vn, peer->space[i]);
    }
    model_prefix_set_add(vn, (ModelPrefix){MODEL_AZURE_PLATFORM_IP, 32});
    for (guint s = 0; s < v->subnets->len; s++) {
        ModelSubnet *sub = g_ptr_array_index(v->subnets, s);
        if (!sub->route_table)
            continue;
        for (guint r = 0; r < sub->route_table->routes->len; r++) {
            const ModelRoute *route = g_ptr_array_index(sub->route_table->routes, r);
            model_prefix_set_add(vn, route->prefix);
        }
    }
    model_prefix_set_normalize(vn);

    /* Public space: everything but RFC 1918, shared (100.64/10), loopback, link-local,
     * "this network", multicast and reserved. */
    static const ModelPrefix not_public[] = {
        {MODEL_IP4(0, 0, 0, 0), 8},      {MODEL_IP4(10, 0, 0, 0), 8},
        {MODEL_IP4(100, 64, 0, 0), 10},  {MODEL_IP4(127, 0, 0, 0), 8},
        {MODEL_IP4(169, 254, 0, 0), 16}, {MODEL_IP4(172, 16, 0, 0), 12},
        {MODEL_IP4(192, 168, 0, 0), 16}, {MODEL_IP4(224, 0, 0, 0), 3},
    };
    ModelPrefixSet minus;
    model_prefix_set_init(&minus);
    for (size_t i = 0; i < G_N_ELEMENTS(not_public); i++)
        model_prefix_set_add(&minus, not_public[i]);
    model_prefix_set_add_set(&minus, vn);
    model_prefix_set_normalize(&minus);
    model_prefix_set_add(&v->tag_internet, (ModelPrefix){0, 0});
    model_prefix_set_subtract(&v->tag_internet, &minus);
    model_prefix_set_clear(&minus);
}

typedef struct {
    ModelNet *net;
    ModelVnet *vnet;
} ResolveCtx;

static ModelPrefix *set_to_array(const ModelPrefixSet *s, size_t *n)
{
    *n = s->len;
    return s->len ? g_memdup2(s->items, s->len * sizeof *s->items) : NULL;
}

static bool resolve_nsg_item(void *ctx, const ModelNsgAddr *item, ModelPrefix **prefixes, size_t *n,
                             GError **error)
{
    ResolveCtx *rc = ctx;
    if (item->kind == MODEL_NSG_ADDR_ASG) {
        GArray *members = g_hash_table_lookup(rc->net->asg_members, item->text);
        /* An ASG without members in this VNet matches nothing ("members in one VNet"). */
        *n = members ? members->len : 0;
        *prefixes = *n ? g_new(ModelPrefix, *n) : NULL;
        for (size_t i = 0; i < *n; i++)
            (*prefixes)[i] = (ModelPrefix){g_array_index(members, uint32_t, i), 32};
        return true;
    }
    if (g_ascii_strcasecmp(item->text, "VirtualNetwork") == 0) {
        *prefixes = set_to_array(&rc->vnet->tag_virtual_network, n);
        return true;
    }
    if (g_ascii_strcasecmp(item->text, "Internet") == 0) {
        *prefixes = set_to_array(&rc->vnet->tag_internet, n);
        return true;
    }
    const ModelPrefixSet *set = model_service_tags_lookup(rc->net->tags, item->text);
    if (!set) {
        g_set_error(error, NET_ERROR, 0, "unknown service tag or address '%s'", item->text);
        return false;
    }
    *prefixes = set_to_array(set, n);
    return true;
}

static gboolean compile_pair(ModelNet *net, ModelNsg *nsg, ModelVnet *vnet, ModelNsgTable **in,
                             ModelNsgTable **out, GError **error)
{
    model_nsg_table_free(*in);
    model_nsg_table_free(*out);
    *in = *out = NULL;
    if (!nsg)
        return TRUE;
    ResolveCtx rc = {net, vnet};
    *in = model_nsg_compile(nsg, MODEL_DIR_INBOUND, resolve_nsg_item, &rc, error);
    if (!*in)
        return FALSE;
    *out = model_nsg_compile(nsg, MODEL_DIR_OUTBOUND, resolve_nsg_item, &rc, error);
    if (!*out) {
        g_prefix_error(error, "network security group '%s': ", model_nsg_name(nsg));
        return FALSE;
    }
    return TRUE;
}

static gboolean compile_nsgs(ModelNet *net, ModelNsg *only, GError **error)
{
    for (guint i = 0; i < net->subnets->len; i++) {
        ModelSubnet *s = g_ptr_array_index(net->subnets, i);
        if ((!only || s->nsg == only) &&
            !compile_pair(net, s->nsg, s->vnet, &s->nsg_in, &s->nsg_out, error))
            return FALSE;
    }
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        if (n->subnet && (!only || n->nsg == only) &&
            !compile_pair(net, n->nsg, n->subnet->vnet, &n->nsg_in, &n->nsg_out, error))
            return FALSE;
    }
    return TRUE;
}

static void add_private_endpoints(ModelVnet *v, GArray *pes)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, v->nic_by_ip);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        ModelNic *n = value;
        if (!n->pe_target)
            continue;
        ModelPePolicies pol = n->subnet->pe_policies;
        ModelRoutePrivateEndpoint pe = {
            .endpoint = n->name,
            .ip = n->ip,
            .route_table_policy =
                pol == MODEL_PE_POLICIES_ROUTE_TABLE || pol == MODEL_PE_POLICIES_ENABLED,
        };
        g_array_append_val(pes, pe);
    }
}

static int cmp_pe(gconstpointer a, gconstpointer b)
{
    const ModelRoutePrivateEndpoint *x = a, *y = b;
    return (x->ip > y->ip) - (x->ip < y->ip);
}

/* Service endpoint routes carry the service's prefixes in the subnet's region ("the
 * public IP address prefixes of the service", virtual-networks-udr-overview.md, optional
 * default routes); only the subnet with the endpoint gets them. */
static void add_service_endpoint_routes(const ModelNet *net, const ModelSubnet *s, GArray *out)
{
    for (guint i = 0; i < s->service_endpoints->len; i++) {
        const char *service = g_ptr_array_index(s->service_endpoints, i);
        g_autofree char *tag = g_strdup_printf("%s.%s", service_endpoint_tag(service), net->region);
        const ModelPrefixSet *set = model_service_tags_lookup(net->tags, tag);
        for (size_t k = 0; set && k < set->len; k++) {
            ModelRouteServiceEndpointPrefix r = {service, set->items[k]};
            g_array_append_val(out, r);
        }
    }
}

static void build_routes(const ModelNet *net, ModelSubnet *s)
{
    ModelVnet *v = s->vnet;
    GArray *peerings = g_array_new(FALSE, FALSE, sizeof(ModelRoutePeering));
    GArray *pes = g_array_new(FALSE, FALSE, sizeof(ModelRoutePrivateEndpoint));
    add_private_endpoints(v, pes);
    for (guint p = 0; p < v->peers->len; p++) {
        ModelVnet *peer = g_ptr_array_index(v->peers, p);
        ModelRoutePeering rp = {peer->name, peer->space, peer->n_space};
        g_array_append_val(peerings, rp);
        /* "Private endpoints … add a /32 route in the host VNet and peered VNets". */
        add_private_endpoints(peer, pes);
    }
    g_array_sort(pes, cmp_pe); /* hash order is not deterministic across GLib versions */
    GArray *se = g_array_new(FALSE, FALSE, sizeof(ModelRouteServiceEndpointPrefix));
    add_service_endpoint_routes(net, s, se);
    /* Entry points (gateway.c): on-prem ranges learned by the VNet's (or its hub's) gateway. */
    GArray *gw = model__entry_gateway_routes(net, s);
    ModelRouteInput in = {
        .vnet_name = v->name,
        .vnet_space = v->space,
        .n_vnet_space = v->n_space,
        .peerings = (const ModelRoutePeering *)(void *)peerings->data,
        .n_peerings = peerings->len,
        .gateway_routes = (const ModelRouteGatewayPrefix *)(void *)gw->data,
        .n_gateway_routes = gw->len,
        .service_endpoint_routes = (const ModelRouteServiceEndpointPrefix *)(void *)se->data,
        .n_service_endpoint_routes = se->len,
        .private_endpoints = (const ModelRoutePrivateEndpoint *)(void *)pes->data,
        .n_private_endpoints = pes->len,
        .table = s->route_table,
    };
    model_routes_free(s->routes);
    s->routes = model_routes_build(&in);
    g_array_free(peerings, TRUE);
    g_array_free(pes, TRUE);
    g_array_free(se, TRUE);
    g_array_free(gw, TRUE);
}

gboolean model_net_finalize(ModelNet *net, GError **error)
{
    /* ASG membership: NIC /32s, by ASG name. */
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        for (guint a = 0; a < n->asgs->len; a++) {
            const char *asg = g_ptr_array_index(n->asgs, a);
            GArray *m = g_hash_table_lookup(net->asg_members, asg);
            if (!m) {
                m = g_array_new(FALSE, FALSE, sizeof(uint32_t));
                g_hash_table_insert(net->asg_members, g_strdup(asg), m);
            }
            g_array_append_val(m, n->ip);
        }
    }
    /* Entry points (gateway.c): checks, on-prem routing, on-prem ranges in VirtualNetwork. */
    if (!model__entry_prepare(net, error))
        return FALSE;
    for (guint i = 0; i < net->vnets->len; i++)
        compute_topological_tags(g_ptr_array_index(net->vnets, i));
    if (!model__register_service_names(net, error))
        return FALSE;
    if (!compile_nsgs(net, NULL, error))
        return FALSE;
    if (!model__entry_check(net, error)) /* gateway.c: Bastion's NSG rules */
        return FALSE;
    if (!model__compute_check(net, error)) /* compute.c: workspace PE, AKS CIDRs */
        return FALSE;
    for (guint i = 0; i < net->subnets->len; i++)
        build_routes(net, g_ptr_array_index(net->subnets, i));
    net->finalized = true;
    return TRUE;
}

gboolean model_net_recompile_nsg(ModelNet *net, ModelNsg *nsg, GError **error)
{
    return compile_nsgs(net, nsg, error);
}

/* ---- captures ---- */

gboolean model_net_attach(ModelNet *net, SimEngine *engine, ModelTrace *trace, const char *pcap_dir,
                          GError **error)
{
    g_return_val_if_fail(net->finalized, FALSE);
    net->engine = engine;
    net->trace = trace;
    model__lb_start(net); /* lb.c: health probes run on the engine's clock */
    if (!pcap_dir)
        return TRUE;
    if (g_mkdir_with_parents(pcap_dir, 0755) != 0) {
        g_set_error(error, NET_ERROR, 0, "%s: cannot create directory", pcap_dir);
        return FALSE;
    }
    net->pcap_dir = g_strdup(pcap_dir);
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        g_autofree char *file = g_strdup_printf("%s.pcap", n->capture_name);
        g_autofree char *path = g_build_filename(pcap_dir, file, NULL);
        n->capture = pcap_capture_open(path, error);
        if (!n->capture) {
            model_net_close_captures(net, false, NULL);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean model_net_close_captures(ModelNet *net, bool commit, GError **error)
{
    gboolean ok = TRUE;
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        if (!n->capture)
            continue;
        if (commit && ok) {
            if (pcap_capture_commit(n->capture, error) < 0)
                ok = FALSE;
        } else {
            pcap_capture_discard(n->capture);
        }
        n->capture = NULL;
    }
    return ok;
}

void model_net_reserve_public_ip(ModelNet *net, uint32_t ip)
{
    if (!net->reserved_public)
        net->reserved_public = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_add(net->reserved_public, GUINT_TO_POINTER(ip));
}
