/*
 * gateway.c — virtual network gateways (VPN: point-to-site and site-to-site;
 * ExpressRoute), their connections, gateway transit over peerings, and the gateway as a
 * hop of the packet walk.
 *
 * The gateway is a host with one NIC in GatewaySubnet, forwarding like an appliance: a
 * packet from the VNet for on-prem reaches it by a gateway route, is captured there, and
 * leaves through the tunnel of the connection whose on-prem ranges hold the destination;
 * a packet out of a tunnel arrives on the same NIC and is routed on by GatewaySubnet's
 * effective routes. Which packets get there is decided by routes, never by a table of
 * outcomes: subnets learn the on-prem ranges as routes with source and next hop
 * VirtualNetworkGateway (model__entry_gateway_routes, fed to route.c), a route table with
 * propagation disabled does not get them, the VNet's own ranges beat them.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs, page dates as read):
 *  - includes/vpn-gateway-about-gwsubnet-include.md (2025-06): "If you don't have a subnet
 *    named GatewaySubnet, when you create your VPN gateway, it fails"; /27 or larger
 *    recommended (a lint, not an error: "you can create a gateway subnet as small as /29",
 *    articles/vpn-gateway/vpn-gateway-vpn-faq.md; /29 is every subnet's minimum in net.c).
 *  - vpn-gateway-vpn-faq.md: "don't deploy VMs or anything else to the gateway subnet".
 *  - includes/vpn-gateway-no-nsg-include.md (2025-03): "NSGs on the gateway subnet aren't
 *    supported"; includes/vpn-gateway-gwudr-warning.md: "User-defined routes with a
 *    0.0.0.0/0 destination and NSGs on the GatewaySubnet are not supported. Gateways
 *    created with this configuration will be blocked from creation … If [BGP route
 *    propagation] is set to disabled, the gateway will not function."
 *  - articles/virtual-network/virtual-networks-udr-overview.md: gateway routes (BGP or
 *    local network gateway prefixes), "The virtual network gateway must be created with
 *    type VPN. You can't specify a virtual network gateway created as type ExpressRoute in
 *    a user-defined route because with ExpressRoute, you must use BGP for custom routes".
 *  - articles/expressroute/expressroute-howto-coexist-resource-manager.md: one VPN and one
 *    ExpressRoute gateway per VNet; "ExpressRoute circuit is preferred over Site-to-Site
 *    VPN when both routes are the same" (ExpressRoute routes are listed first: route.c
 *    keeps the first of equal gateway routes).
 *  - articles/virtual-network/virtual-network-manage-peering.md: useRemoteGateways needs a
 *    gateway in the peered VNet and its "Use this virtual network's gateway" setting;
 *    "You can't use remote gateways if you already have a gateway configured in your
 *    virtual network"; "Only one peering for this virtual network can have this setting
 *    enabled". articles/vpn-gateway/vpn-gateway-peering-gateway-transit.md: the spokes
 *    learn the on-prem routes through the hub's gateway and on-prem learns the spokes.
 *  - articles/virtual-network/service-tags-overview.md: VirtualNetwork includes "all
 *    connected on-premises address spaces".
 *  - articles/vpn-gateway/vpn-gateway-about-point-to-site-routing.md: P2S clients reach
 *    the VNet and the peered VNets using its gateway, and a branch office only over a
 *    site-to-site connection running BGP.
 * Choices where the pages are silent (⚠): a static VPN connection that is NotConnected
 * keeps its local-network-gateway routes (the gateway then drops what reaches it), a BGP
 * one (ExpressRoute always) has its routes withdrawn; the P2S pool is advertised to the
 * VNet like an on-prem range (the effective routes show it with next hop
 * VirtualNetworkGateway); tunnel latencies are one-way figures of a typical deployment.
 */
#include "model/net_internal.h"

#include <string.h>

#define ENTRY_ERROR (g_quark_from_static_string("model-net"))

#define LATENCY_VNET         SIM_US(60)  /* as forward.c: VM to VM in one VNet */
#define LATENCY_PEERING      SIM_US(120) /* across a regional peering */
#define LATENCY_VPN          SIM_MS(8)   /* IPsec over the internet, one way */
#define LATENCY_P2S          SIM_MS(10)  /* a client's home line plus the tunnel */
#define LATENCY_EXPRESSROUTE SIM_MS(2)   /* a private circuit to a nearby peering location */

#define GATEWAY_SUBNET "GatewaySubnet"

/* ---- the entry state ---- */

static void site_free(gpointer p)
{
    ModelOnprem *s = p;
    g_free(s->name);
    g_free(s->prefixes);
    g_array_free(s->dns_servers, TRUE);
    g_hash_table_destroy(s->nic_by_ip);
    g_ptr_array_free(s->connections, TRUE);
    g_free(s);
}

static void gateway_free(gpointer p)
{
    ModelGateway *g = p;
    g_free(g->name);
    g_hash_table_destroy(g->clients);
    g_ptr_array_free(g->connections, TRUE);
    g_array_free(g->client_routes, TRUE);
    g_free(g);
}

static void connection_free(gpointer p)
{
    ModelConnection *c = p;
    g_free(c->name);
    g_array_free(c->prefixes, TRUE);
    g_array_free(c->azure_prefixes, TRUE);
    g_free(c);
}

ModelEntry *model__entry(ModelNet *net)
{
    if (!net->entry) {
        ModelEntry *e = g_new0(ModelEntry, 1);
        e->sites = g_ptr_array_new_with_free_func(site_free);
        e->gateways = g_ptr_array_new_with_free_func(gateway_free);
        e->connections = g_ptr_array_new_with_free_func(connection_free);
        e->peering = g_ptr_array_new_with_free_func(g_free);
        e->outsides = g_ptr_array_new_with_free_func(g_free);
        e->bastions = g_ptr_array_new_with_free_func(model__bastion_free);
        e->sessions = g_ptr_array_new_with_free_func(model__bastion_session_free);
        /* TEST-NET-3 (RFC 5737) stands for the public lines of sites and home users. */
        e->next_home_ip = MODEL_IP4(203, 0, 113, 10);
        net->entry = e;
    }
    return net->entry;
}

void model__entry_free(ModelNet *net)
{
    ModelEntry *e = net->entry;
    if (!e)
        return;
    g_ptr_array_free(e->sessions, TRUE);
    g_ptr_array_free(e->bastions, TRUE);
    g_ptr_array_free(e->connections, TRUE);
    g_ptr_array_free(e->gateways, TRUE);
    g_ptr_array_free(e->sites, TRUE);
    g_ptr_array_free(e->peering, TRUE);
    g_ptr_array_free(e->outsides, TRUE);
    g_free(e);
    net->entry = NULL;
}

static const char *node_of(const ModelNic *nic)
{
    return nic->host ? nic->host->name : nic->name;
}

static bool prefix_clean(ModelPrefix p)
{
    return p.len <= 32 && (p.addr & ~model_prefix_mask(p.len)) == 0;
}

static void append_prefixes(GArray *out, const ModelPrefix *p, size_t n)
{
    g_array_append_vals(out, p, (guint)n);
}

/* The longest prefix of `list` holding ip, or -1. */
static int longest_match(const GArray *list, uint32_t ip)
{
    int best = -1;
    for (guint i = 0; i < list->len; i++) {
        ModelPrefix p = g_array_index(list, ModelPrefix, i);
        if (model_prefix_contains(p, ip) && (int)p.len > best)
            best = p.len;
    }
    return best;
}

/* ---- gateways ---- */

ModelGateway *model_net_find_gateway(const ModelNet *net, const char *name)
{
    if (!net->entry || !name)
        return NULL;
    for (guint i = 0; i < net->entry->gateways->len; i++) {
        ModelGateway *g = g_ptr_array_index(net->entry->gateways, i);
        if (strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

ModelHost *model_gateway_host(const ModelGateway *gw)
{
    return gw->host;
}

static ModelGateway *vnet_gateway(const ModelEntry *e, const ModelVnet *v, ModelGatewayKind kind)
{
    for (guint i = 0; e && i < e->gateways->len; i++) {
        ModelGateway *g = g_ptr_array_index(e->gateways, i);
        if (g->vnet == v && g->kind == kind)
            return g;
    }
    return NULL;
}

static bool has_gateway(const ModelEntry *e, const ModelVnet *v)
{
    return vnet_gateway(e, v, MODEL_GATEWAY_VPN) || vnet_gateway(e, v, MODEL_GATEWAY_EXPRESSROUTE);
}

static ModelPeeringOptions *peering_options(const ModelEntry *e, const ModelVnet *v,
                                            const ModelVnet *remote)
{
    for (guint i = 0; e && i < e->peering->len; i++) {
        ModelPeeringOptions *o = g_ptr_array_index(e->peering, i);
        if (o->vnet == v && o->remote == remote)
            return o;
    }
    return NULL;
}

/* The hub whose gateway v uses: v's side says useRemoteGateways and the hub's side
 * allowGatewayTransit (both checked at finalize). NULL when v uses none. */
static ModelVnet *transit_hub(const ModelEntry *e, const ModelVnet *v)
{
    for (guint i = 0; e && i < e->peering->len; i++) {
        ModelPeeringOptions *o = g_ptr_array_index(e->peering, i);
        if (o->vnet != v || !o->use_remote_gateways)
            continue;
        ModelPeeringOptions *back = peering_options(e, o->remote, v);
        if (back && back->allow_gateway_transit && has_gateway(e, o->remote))
            return o->remote;
    }
    return NULL;
}

ModelVnet *model__transit_hub(ModelNet *net, const ModelVnet *v)
{
    return transit_hub(net->entry, v);
}

/* The gateways whose routes v's subnets learn: its own, else its hub's. ExpressRoute
 * first ("preferred over Site-to-Site VPN when both routes are the same"). */
static size_t serving_gateways(const ModelEntry *e, const ModelVnet *v, ModelGateway *out[2])
{
    const ModelVnet *owner = has_gateway(e, v) ? v : transit_hub(e, v);
    size_t n = 0;
    if (!owner)
        return 0;
    ModelGateway *er = vnet_gateway(e, owner, MODEL_GATEWAY_EXPRESSROUTE);
    ModelGateway *vpn = vnet_gateway(e, owner, MODEL_GATEWAY_VPN);
    if (er)
        out[n++] = er;
    if (vpn)
        out[n++] = vpn;
    return n;
}

/* Routes by BGP: ExpressRoute always, a VPN connection when it runs BGP. */
static bool connection_bgp(const ModelConnection *c)
{
    return c->gateway->kind == MODEL_GATEWAY_EXPRESSROUTE || c->bgp;
}

/* Does Azure hold the connection's on-prem routes (and the site Azure's)? Static ones come
 * from the local network gateway and the on-prem device's configuration, which stay when
 * the tunnel is down (⚠); BGP-learned ones go with the session. */
static bool connection_advertises(const ModelConnection *c)
{
    return !connection_bgp(c) || c->connected;
}

/* The VNets whose ranges the gateway carries: its own and the spokes using it. */
static void gateway_azure_ranges(const ModelEntry *e, const ModelGateway *gw, GArray *out)
{
    append_prefixes(out, gw->vnet->space, gw->vnet->n_space);
    for (guint i = 0; i < e->peering->len; i++) {
        ModelPeeringOptions *o = g_ptr_array_index(e->peering, i);
        if (o->remote == gw->vnet && transit_hub(e, o->vnet) == gw->vnet)
            append_prefixes(out, o->vnet->space, o->vnet->n_space);
    }
}

ModelGateway *model_net_add_gateway(ModelNet *net, const char *name, ModelGatewayKind kind,
                                    ModelVnet *vnet, GError **error)
{
    if (!name || !*name) {
        g_set_error(error, ENTRY_ERROR, 0, "a virtual network gateway needs a name");
        return NULL;
    }
    if (model_net_find_gateway(net, name)) {
        g_set_error(error, ENTRY_ERROR, 0, "virtual network gateway '%s' is defined twice", name);
        return NULL;
    }
    ModelSubnet *subnet = model_vnet_find_subnet(vnet, GATEWAY_SUBNET);
    if (!subnet) {
        const char *near = NULL;
        for (guint i = 0; i < vnet->subnets->len && !near; i++) {
            ModelSubnet *s = g_ptr_array_index(vnet->subnets, i);
            if (g_ascii_strcasecmp(s->name, GATEWAY_SUBNET) == 0)
                near = s->name;
        }
        g_set_error(error, ENTRY_ERROR, 0,
                    "gateway '%s': virtual network '%s' has no subnet named exactly "
                    "'GatewaySubnet'%s%s%s: Azure deploys gateways only there and fails to "
                    "create one without it (vpn-gateway-about-gwsubnet-include.md)",
                    name, vnet->name, near ? " (found '" : "", near ? near : "", near ? "')" : "");
        return NULL;
    }
    ModelEntry *e = model__entry(net);
    ModelGateway *same = vnet_gateway(e, vnet, kind);
    if (same) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "gateway '%s': virtual network '%s' already has %s gateway '%s' (one VPN "
                    "and one ExpressRoute gateway per virtual network)",
                    name, vnet->name, kind == MODEL_GATEWAY_VPN ? "VPN" : "ExpressRoute",
                    same->name);
        return NULL;
    }
    /* The gateway takes the first free address of the subnet (.4 onwards: Azure keeps the
     * first four and the last). */
    uint32_t size = (uint32_t)(1ull << (32 - subnet->prefix.len));
    uint32_t ip = 0;
    for (uint32_t off = 4; off + 1 < size && !ip; off++)
        if (!g_hash_table_contains(vnet->nic_by_ip, GUINT_TO_POINTER(subnet->prefix.addr + off)))
            ip = subnet->prefix.addr + off;
    if (!ip) {
        g_set_error(error, ENTRY_ERROR, 0, "gateway '%s': %s has no free address", name,
                    subnet->path);
        return NULL;
    }
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_SERVICE, error);
    if (!host)
        return NULL;
    model_host_set_stateful(host, false); /* it routes; it does not track connections */
    ModelNic *nic = model_net_add_nic(net, host, subnet, "nic0", ip, error);
    if (!nic)
        return NULL;
    model_nic_set_ip_forwarding(nic, true);
    ModelGateway *g = g_new0(ModelGateway, 1);
    g->name = g_strdup(name);
    g->kind = kind;
    g->vnet = vnet;
    g->subnet = subnet;
    g->host = host;
    g->nic = nic;
    g->clients = g_hash_table_new(g_direct_hash, g_direct_equal);
    g->connections = g_ptr_array_new();
    g->client_routes = g_array_new(FALSE, FALSE, sizeof(ModelPrefix));
    g_ptr_array_add(e->gateways, g);
    return g;
}

gboolean model_gateway_set_p2s_pool(ModelGateway *gw, ModelPrefix pool, GError **error)
{
    if (gw->kind != MODEL_GATEWAY_VPN) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "gateway '%s' is an ExpressRoute gateway: point-to-site needs a VPN gateway",
                    gw->name);
        return FALSE;
    }
    if (gw->has_pool) {
        g_set_error(error, ENTRY_ERROR, 0, "gateway '%s' already has a client address pool",
                    gw->name);
        return FALSE;
    }
    if (!prefix_clean(pool) || pool.len > 30) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "gateway '%s': the client address pool must be a network prefix of /30 "
                    "or larger",
                    gw->name);
        return FALSE;
    }
    gw->has_pool = true;
    gw->pool = pool;
    return TRUE;
}

ModelNic *model_gateway_add_p2s_client(ModelNet *net, ModelGateway *gw, ModelHost *host,
                                       const char *name, uint32_t ip, GError **error)
{
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(ip, ipt);
    if (!gw->has_pool) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "P2S client '%s': gateway '%s' has no client address pool (point-to-site "
                    "is not configured)",
                    host->name, gw->name);
        return NULL;
    }
    uint32_t last = gw->pool.addr | ~model_prefix_mask(gw->pool.len);
    if (!model_prefix_contains(gw->pool, ip) || ip == gw->pool.addr || ip == last) {
        char pt[MODEL_PREFIX_STRLEN];
        model_prefix_format(gw->pool, pt);
        g_set_error(error, ENTRY_ERROR, 0,
                    "P2S client '%s': %s is not a client address of gateway '%s''s pool %s",
                    host->name, ipt, gw->name, pt);
        return NULL;
    }
    if (g_hash_table_contains(gw->clients, GUINT_TO_POINTER(ip))) {
        g_set_error(error, ENTRY_ERROR, 0, "P2S client '%s': %s is already given to another client",
                    host->name, ipt);
        return NULL;
    }
    ModelEntry *e = model__entry(net);
    ModelOutside *side = g_new0(ModelOutside, 1);
    side->p2s = gw;
    g_ptr_array_add(e->outsides, side);
    ModelNic *nic = model__nic_new(net, host, name && *name ? name : "vpn0", ip);
    nic->outside = side;
    g_hash_table_insert(gw->clients, GUINT_TO_POINTER(ip), nic);
    return nic;
}

gboolean model_p2s_client_set_public_egress(ModelNet *net, ModelNic *client, uint32_t ip,
                                            GError **error)
{
    (void)net;
    if (!client->outside || !client->outside->p2s) {
        g_set_error(error, ENTRY_ERROR, 0, "'%s' is not a P2S client", client->capture_name);
        return FALSE;
    }
    if (model_ip_is_private(ip)) {
        char t[MODEL_IP_STRLEN];
        model_ip_format(ip, t);
        g_set_error(error, ENTRY_ERROR, 0, "'%s': %s is not a public address", client->capture_name,
                    t);
        return FALSE;
    }
    client->outside->public_egress = ip;
    return TRUE;
}

static ModelConnection *find_connection(const ModelEntry *e, const char *name)
{
    for (guint i = 0; i < e->connections->len; i++) {
        ModelConnection *c = g_ptr_array_index(e->connections, i);
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

ModelConnection *model_gateway_connect(ModelNet *net, ModelGateway *gw, const char *name,
                                       ModelOnprem *site, GError **error)
{
    ModelEntry *e = model__entry(net);
    if (!name || !*name) {
        g_set_error(error, ENTRY_ERROR, 0, "a connection needs a name");
        return NULL;
    }
    if (find_connection(e, name)) {
        g_set_error(error, ENTRY_ERROR, 0, "connection '%s' is defined twice", name);
        return NULL;
    }
    for (guint i = 0; i < gw->connections->len; i++) {
        ModelConnection *c = g_ptr_array_index(gw->connections, i);
        if (c->site == site) {
            g_set_error(error, ENTRY_ERROR, 0,
                        "connection '%s': gateway '%s' is already connected to '%s' by '%s'", name,
                        gw->name, site->name, c->name);
            return NULL;
        }
    }
    ModelConnection *c = g_new0(ModelConnection, 1);
    c->name = g_strdup(name);
    c->gateway = gw;
    c->site = site;
    c->connected = true;
    c->prefixes = g_array_new(FALSE, FALSE, sizeof(ModelPrefix));
    append_prefixes(c->prefixes, site->prefixes, site->n_prefixes);
    c->azure_prefixes = g_array_new(FALSE, FALSE, sizeof(ModelPrefix));
    g_ptr_array_add(e->connections, c);
    g_ptr_array_add(gw->connections, c);
    g_ptr_array_add(site->connections, c);
    return c;
}

gboolean model_connection_set_prefixes(ModelConnection *c, const ModelPrefix *prefixes, size_t n,
                                       GError **error)
{
    for (size_t i = 0; i < n; i++)
        if (!prefix_clean(prefixes[i])) {
            g_set_error(error, ENTRY_ERROR, 0,
                        "connection '%s': address prefix %zu has host bits set", c->name, i + 1);
            return FALSE;
        }
    g_array_set_size(c->prefixes, 0);
    append_prefixes(c->prefixes, prefixes, n);
    return TRUE;
}

void model_connection_set_connected(ModelConnection *c, bool connected)
{
    c->connected = connected;
}

void model_connection_set_bgp(ModelConnection *c, bool bgp)
{
    c->bgp = bgp;
}

gboolean model_net_set_gateway_transit(ModelNet *net, ModelVnet *vnet, ModelVnet *remote,
                                       bool allow_gateway_transit, bool use_remote_gateways,
                                       GError **error)
{
    bool peered = false;
    for (guint i = 0; i < vnet->peers->len; i++)
        peered |= g_ptr_array_index(vnet->peers, i) == remote;
    if (!peered) {
        g_set_error(error, ENTRY_ERROR, 0, "gateway transit: '%s' and '%s' are not peered",
                    vnet->name, remote->name);
        return FALSE;
    }
    ModelEntry *e = model__entry(net);
    ModelPeeringOptions *o = peering_options(e, vnet, remote);
    if (!o) {
        o = g_new0(ModelPeeringOptions, 1);
        o->vnet = vnet;
        o->remote = remote;
        g_ptr_array_add(e->peering, o);
    }
    o->allow_gateway_transit = allow_gateway_transit;
    o->use_remote_gateways = use_remote_gateways;
    return TRUE;
}

/* ---- finalize ---- */

static gboolean check_gateway_subnet(ModelNet *net, const ModelGateway *gw, GError **error)
{
    const ModelSubnet *s = gw->subnet;
    if (s->nsg) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "%s has network security group '%s': NSGs on the gateway subnet aren't "
                    "supported, and gateway '%s' would be blocked from creation "
                    "(vpn-gateway-no-nsg-include.md, vpn-gateway-gwudr-warning.md)",
                    s->path, model_nsg_name(s->nsg), gw->name);
        return FALSE;
    }
    const ModelRouteTable *t = s->route_table;
    if (t && t->disable_bgp_route_propagation) {
        g_set_error(error, ENTRY_ERROR, 0,
                    "%s: route table '%s' disables gateway route propagation, with which "
                    "gateway '%s' will not function (vpn-gateway-gwudr-warning.md)",
                    s->path, t->name, gw->name);
        return FALSE;
    }
    for (guint i = 0; t && i < t->routes->len; i++) {
        const ModelRoute *r = g_ptr_array_index(t->routes, i);
        if (r->prefix.len == 0) {
            g_set_error(error, ENTRY_ERROR, 0,
                        "%s: route '%s/%s' sends 0.0.0.0/0 elsewhere; user-defined routes with "
                        "a 0.0.0.0/0 destination on the GatewaySubnet are not supported "
                        "(vpn-gateway-gwudr-warning.md)",
                        s->path, t->name, r->name ? r->name : "?");
            return FALSE;
        }
    }
    ModelEntry *e = net->entry;
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = g_ptr_array_index(net->nics, i);
        if (n->subnet != s)
            continue;
        bool is_gateway = false;
        for (guint k = 0; k < e->gateways->len; k++)
            is_gateway |= ((ModelGateway *)g_ptr_array_index(e->gateways, k))->nic == n;
        if (!is_gateway) {
            g_set_error(error, ENTRY_ERROR, 0,
                        "'%s' has an interface in %s: don't deploy VMs or anything else to the "
                        "gateway subnet (vpn-gateway-vpn-faq.md)",
                        n->capture_name, s->path);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_transit(const ModelEntry *e, GError **error)
{
    for (guint i = 0; i < e->peering->len; i++) {
        const ModelPeeringOptions *o = g_ptr_array_index(e->peering, i);
        if (!o->use_remote_gateways)
            continue;
        const char *why = NULL;
        if (has_gateway(e, o->vnet))
            why = "it has a gateway of its own, and a virtual network with a gateway can't use "
                  "remote gateways";
        else if (!has_gateway(e, o->remote))
            why = "the peered virtual network has no virtual network gateway";
        else if (!peering_options(e, o->remote, o->vnet) ||
                 !peering_options(e, o->remote, o->vnet)->allow_gateway_transit)
            why = "the peered virtual network's side does not allow gateway transit ('Use this "
                  "virtual network's gateway')";
        for (guint k = 0; k < i && !why; k++) {
            const ModelPeeringOptions *p = g_ptr_array_index(e->peering, k);
            if (p->vnet == o->vnet && p->use_remote_gateways)
                why = "only one peering of a virtual network can use remote gateways";
        }
        if (why) {
            g_set_error(error, ENTRY_ERROR, 0,
                        "peering '%s' -> '%s' uses remote gateways, but %s "
                        "(virtual-network-manage-peering.md)",
                        o->vnet->name, o->remote->name, why);
            return FALSE;
        }
    }
    return TRUE;
}

static uint32_t next_home_ip(ModelNet *net)
{
    ModelEntry *e = net->entry;
    while (g_hash_table_contains(net->public_ip, GUINT_TO_POINTER(e->next_home_ip)))
        e->next_home_ip++;
    return e->next_home_ip++;
}

/* What each side routes into Azure, and the public lines nobody named. */
static void compute_outside_routes(ModelNet *net)
{
    ModelEntry *e = net->entry;
    for (guint i = 0; i < e->connections->len; i++) {
        ModelConnection *c = g_ptr_array_index(e->connections, i);
        g_array_set_size(c->azure_prefixes, 0);
        if (!connection_advertises(c))
            continue;
        gateway_azure_ranges(e, c->gateway, c->azure_prefixes);
        /* A VPN gateway running BGP advertises its P2S pool to the site as well (the
         * point-to-site routing page's "One VNet and a branch office (BGP)"). */
        if (c->gateway->kind == MODEL_GATEWAY_VPN && c->bgp && c->gateway->has_pool)
            g_array_append_val(c->azure_prefixes, c->gateway->pool);
    }
    for (guint i = 0; i < e->gateways->len; i++) {
        ModelGateway *g = g_ptr_array_index(e->gateways, i);
        g_array_set_size(g->client_routes, 0);
        if (!g->has_pool)
            continue;
        gateway_azure_ranges(e, g, g->client_routes);
        /* P2S clients reach a branch only over a connection running BGP ("Windows clients
         * can access only VNet1" without; modelled as the non-Windows clients, which get
         * the routes pushed). */
        for (guint c = 0; c < g->connections->len; c++) {
            const ModelConnection *conn = g_ptr_array_index(g->connections, c);
            if (conn->bgp && connection_advertises(conn))
                g_array_append_vals(g->client_routes, conn->prefixes->data, conn->prefixes->len);
        }
    }
    for (guint i = 0; i < e->sites->len; i++) {
        ModelOnprem *s = g_ptr_array_index(e->sites, i);
        if (!s->public_egress)
            s->public_egress = next_home_ip(net);
    }
    for (guint i = 0; i < e->outsides->len; i++) {
        ModelOutside *o = g_ptr_array_index(e->outsides, i);
        if (o->p2s && !o->public_egress)
            o->public_egress = next_home_ip(net);
    }
}

/* "all connected on-premises address spaces" join VirtualNetwork in every VNet whose
 * subnets route to them (the P2S pool too: its clients are on-prem). Added before
 * net.c computes the rest of the tag. */
static void add_virtual_network_tag(ModelNet *net)
{
    ModelEntry *e = net->entry;
    for (guint i = 0; i < net->vnets->len; i++) {
        ModelVnet *v = g_ptr_array_index(net->vnets, i);
        ModelGateway *gws[2];
        size_t n = serving_gateways(e, v, gws);
        for (size_t k = 0; k < n; k++) {
            for (guint c = 0; c < gws[k]->connections->len; c++) {
                ModelConnection *conn = g_ptr_array_index(gws[k]->connections, c);
                if (!connection_advertises(conn))
                    continue;
                for (guint p = 0; p < conn->prefixes->len; p++)
                    model_prefix_set_add(&v->tag_virtual_network,
                                         g_array_index(conn->prefixes, ModelPrefix, p));
            }
            if (gws[k]->has_pool)
                model_prefix_set_add(&v->tag_virtual_network, gws[k]->pool);
        }
    }
}

/* Clients get resolvers as their network hands them out: an on-prem host its site's
 * (DHCP), a P2S client the VNet's custom DNS servers (the VPN client profile carries
 * them; azure-facts.md §6); a host's own list wins. */
static void hand_out_dns(ModelNet *net)
{
    for (guint i = 0; i < net->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(net->nics, i);
        if (!n->outside || !n->host || n->host->dns_servers->len)
            continue;
        GArray *from =
            n->outside->site ? n->outside->site->dns_servers : n->outside->p2s->vnet->dns_servers;
        g_array_append_vals(n->host->dns_servers, from->data, from->len);
    }
}

gboolean model__entry_prepare(ModelNet *net, GError **error)
{
    ModelEntry *e = net->entry;
    if (!e)
        return TRUE;
    for (guint i = 0; i < e->gateways->len; i++)
        if (!check_gateway_subnet(net, g_ptr_array_index(e->gateways, i), error))
            return FALSE;
    if (!check_transit(e, error))
        return FALSE;
    compute_outside_routes(net);
    add_virtual_network_tag(net);
    hand_out_dns(net);
    return TRUE;
}

gboolean model__entry_check(ModelNet *net, GError **error)
{
    return !net->entry || model__bastion_check(net, error);
}

GArray *model__entry_gateway_routes(const ModelNet *net, const ModelSubnet *subnet)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(ModelRouteGatewayPrefix));
    if (!net->entry)
        return out;
    ModelGateway *gws[2];
    size_t n = serving_gateways(net->entry, subnet->vnet, gws);
    for (size_t k = 0; k < n; k++) {
        const ModelGateway *g = gws[k];
        for (guint c = 0; c < g->connections->len; c++) {
            const ModelConnection *conn = g_ptr_array_index(g->connections, c);
            if (!connection_advertises(conn))
                continue;
            for (guint p = 0; p < conn->prefixes->len; p++) {
                ModelRouteGatewayPrefix r = {g->name,
                                             g_array_index(conn->prefixes, ModelPrefix, p)};
                g_array_append_val(out, r);
            }
        }
        if (g->has_pool) {
            ModelRouteGatewayPrefix r = {g->name, g->pool};
            g_array_append_val(out, r);
        }
    }
    return out;
}

/* ---- the packet walk ---- */

static SimTime tunnel_latency(const ModelGateway *gw, bool p2s)
{
    if (p2s)
        return LATENCY_P2S;
    return gw->kind == MODEL_GATEWAY_EXPRESSROUTE ? LATENCY_EXPRESSROUTE : LATENCY_VPN;
}

static const char *tunnel_kind(const ModelGateway *gw, bool p2s)
{
    if (p2s)
        return "point-to-site tunnel";
    return gw->kind == MODEL_GATEWAY_EXPRESSROUTE ? "ExpressRoute private peering"
                                                  : "site-to-site IPsec tunnel";
}

static void drop_free(ModelNet *net, ModelPacket *pkt, const char *node, ModelStage stage,
                      const char *object, ModelCause cause, const char *detail, const char *hint)
{
    model__drop(net, pkt, node, stage, object, cause, detail, hint);
    model__packet_free(pkt);
}

static void not_connected(ModelNet *net, ModelPacket *pkt, const char *node,
                          const ModelConnection *c)
{
    g_autofree char *detail =
        g_strdup_printf("connection %s (%s <-> %s) is not connected: the %s is down", c->name,
                        c->gateway->name, c->site->name, tunnel_kind(c->gateway, false));
    g_autofree char *hint = g_strdup_printf(
        c->gateway->kind == MODEL_GATEWAY_VPN
            ? "bring connection %s up: check the on-prem VPN device, the shared key and the "
              "local network gateway's public IP and address space"
            : "bring connection %s up: check the circuit's provisioning state with the "
              "provider and its private peering's BGP session",
        c->name);
    drop_free(net, pkt, node, MODEL_STAGE_GATEWAY, c->name, MODEL_CAUSE_GATEWAY_NOT_CONNECTED,
              detail, hint);
}

void model__gateway_tunnel_in(ModelNet *net, ModelNic *from, ModelPacket *pkt, ModelGateway *gw,
                              const ModelConnection *c)
{
    const char *node = node_of(from);
    if (c && !c->connected) {
        not_connected(net, pkt, node, c);
        return;
    }
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(gw->nic->ip, ipt);
    g_autofree char *detail =
        g_strdup_printf("into the %s to %s (%s)", tunnel_kind(gw, !c), gw->name, ipt);
    model__step(net, pkt, node, MODEL_STAGE_GATEWAY, c ? c->name : gw->name, "tunnel", detail);
    model__hop(net, pkt, gw->nic, tunnel_latency(gw, !c));
}

/* The packet is at the gateway and its route says the gateway: out through the tunnel of
 * the side that holds the destination (longest prefix; a tie between two sides is the
 * overlap the gateway cannot resolve). */
static void tunnel_out(ModelNet *net, ModelGateway *gw, ModelPacket *pkt)
{
    uint32_t dst = pkt->key.dst;
    char d[MODEL_IP_STRLEN];
    model_ip_format(dst, d);
    int best = -1;
    const ModelConnection *via = NULL;
    const char *other = NULL;
    bool tie = false;
    for (guint i = 0; i < gw->connections->len; i++) {
        const ModelConnection *c = g_ptr_array_index(gw->connections, i);
        if (!connection_advertises(c))
            continue;
        int len = longest_match(c->prefixes, dst);
        if (len < 0)
            continue;
        if (len > best) {
            tie = false;
            best = len;
            via = c;
        } else if (len == best) {
            tie = true;
            other = c->site->name;
        }
    }
    bool p2s = false;
    if (gw->has_pool && model_prefix_contains(gw->pool, dst)) {
        if ((int)gw->pool.len > best) {
            tie = false;
            p2s = true;
            best = gw->pool.len;
        } else if ((int)gw->pool.len == best) {
            tie = true;
            other = "the point-to-site pool";
        }
    }
    if (tie) {
        g_autofree char *detail = g_strdup_printf(
            "%s is in both %s's range and %s behind %s: the gateway can't tell which side owns "
            "it",
            d, via ? via->site->name : "?", other, gw->name);
        drop_free(net, pkt, gw->name, MODEL_STAGE_GATEWAY, gw->name, MODEL_CAUSE_ADDRESS_OVERLAP,
                  detail,
                  "renumber one side: on-prem ranges and the P2S client pool must not overlap "
                  "each other or the VNet");
        return;
    }
    if (best < 0) {
        g_autofree char *detail = g_strdup_printf(
            "no connection of %s carries %s (forced tunneling to an on-prem default site is not "
            "modelled)",
            gw->name, d);
        drop_free(net, pkt, gw->name, MODEL_STAGE_GATEWAY, gw->name,
                  MODEL_CAUSE_UNSUPPORTED_FEATURE, detail, "");
        return;
    }
    ModelNic *to;
    if (p2s) {
        to = g_hash_table_lookup(gw->clients, GUINT_TO_POINTER(dst));
        if (!to) {
            g_autofree char *detail =
                g_strdup_printf("no point-to-site client of %s holds %s", gw->name, d);
            drop_free(net, pkt, gw->name, MODEL_STAGE_GATEWAY, gw->name,
                      MODEL_CAUSE_HOST_UNREACHABLE, detail, "");
            return;
        }
    } else {
        if (!via->connected) {
            not_connected(net, pkt, gw->name, via);
            return;
        }
        to = g_hash_table_lookup(via->site->nic_by_ip, GUINT_TO_POINTER(dst));
        if (!to) {
            g_autofree char *detail =
                g_strdup_printf("no host has %s on site %s", d, via->site->name);
            drop_free(net, pkt, gw->name, MODEL_STAGE_GATEWAY, via->site->name,
                      MODEL_CAUSE_HOST_UNREACHABLE, detail, "");
            return;
        }
    }
    g_autofree char *detail =
        g_strdup_printf("out of the %s to %s (%s)", tunnel_kind(gw, p2s), node_of(to), d);
    model__step(net, pkt, gw->name, MODEL_STAGE_GATEWAY, p2s ? gw->name : via->name, "tunnel",
                detail);
    model__hop(net, pkt, to, tunnel_latency(gw, p2s));
}

/* A user-defined route with next hop VirtualNetworkGateway names no gateway: it means the
 * VNet's VPN gateway (its hub's, for a spoke using remote gateways). "The virtual network
 * gateway must be created with type VPN … You can't specify Virtual Network Gateways if you
 * have VPN and ExpressRoute coexisting connections either" (virtual-networks-udr-overview.md):
 * with an ExpressRoute gateway there, *er is set and NULL returned. */
static ModelGateway *udr_gateway(const ModelEntry *e, const ModelVnet *v, bool *er)
{
    *er = false;
    const ModelVnet *owner = has_gateway(e, v) ? v : transit_hub(e, v);
    if (!owner)
        return NULL;
    *er = vnet_gateway(e, owner, MODEL_GATEWAY_EXPRESSROUTE) != NULL;
    return *er ? NULL : vnet_gateway(e, owner, MODEL_GATEWAY_VPN);
}

void model__gateway_next_hop(ModelNet *net, ModelNic *nic, ModelPacket *pkt,
                             const ModelRoute *route, const char *object, const char *detail)
{
    const char *node = node_of(nic);
    ModelVnet *v = nic->subnet->vnet;
    ModelGateway *gw = NULL;
    if (route->source == MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY) {
        gw = model_net_find_gateway(net, route->origin);
    } else {
        bool er = false;
        gw = udr_gateway(net->entry, v, &er);
        if (er) {
            g_autofree char *d = g_strdup_printf(
                "%s: the gateway of %s is (or coexists with) an ExpressRoute gateway, which a "
                "user-defined route can't point at",
                detail, v->name);
            drop_free(net, pkt, node, MODEL_STAGE_ROUTE, object,
                      MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, d,
                      "with ExpressRoute you must use BGP for custom routes "
                      "(virtual-networks-udr-overview.md): advertise the prefix from on-prem "
                      "instead of a user-defined route");
            return;
        }
    }
    if (!gw) {
        g_autofree char *d =
            g_strdup_printf("%s: %s has no virtual network gateway", detail, v->name);
        drop_free(net, pkt, node, MODEL_STAGE_ROUTE, object, MODEL_CAUSE_GATEWAY_NOT_CONNECTED, d,
                  "deploy a VPN gateway in the VNet's GatewaySubnet (or use a hub's gateway "
                  "through a peering with gateway transit), or remove the route");
        return;
    }
    model__step(net, pkt, node, MODEL_STAGE_ROUTE, object, "route", detail);
    if (nic == gw->nic) {
        tunnel_out(net, gw, pkt);
        return;
    }
    model__hop(net, pkt, gw->nic, gw->vnet == v ? LATENCY_VNET : LATENCY_PEERING);
}

bool model__entry_overlap(ModelNet *net, ModelNic *nic, ModelPacket *pkt, const char *object)
{
    if (!net->entry || !nic->subnet)
        return false;
    uint32_t dst = pkt->key.dst;
    ModelGateway *gws[2];
    size_t n = serving_gateways(net->entry, nic->subnet->vnet, gws);
    const char *side = NULL, *via = NULL;
    for (size_t k = 0; k < n && !side; k++) {
        for (guint c = 0; c < gws[k]->connections->len && !side; c++) {
            const ModelConnection *conn = g_ptr_array_index(gws[k]->connections, c);
            if (longest_match(conn->prefixes, dst) >= 0) {
                side = conn->site->name;
                via = gws[k]->name;
            }
        }
        if (!side && gws[k]->has_pool && model_prefix_contains(gws[k]->pool, dst)) {
            side = "the point-to-site client pool";
            via = gws[k]->name;
        }
    }
    if (!side)
        return false;
    char d[MODEL_IP_STRLEN];
    model_ip_format(dst, d);
    g_autofree char *detail = g_strdup_printf(
        "%s is inside the range of route %s and also in %s behind %s: the system route for "
        "the virtual network wins over the gateway route (virtual-networks-udr-overview.md), "
        "so the packet stays in Azure and never reaches the gateway; no NIC here has %s",
        d, object, side, via, d);
    model__drop(net, pkt, node_of(nic), MODEL_STAGE_ROUTE, object, MODEL_CAUSE_ADDRESS_OVERLAP,
                detail,
                "address spaces across a connection must not overlap: renumber the on-prem "
                "range, the P2S pool or the virtual network");
    return true;
}
