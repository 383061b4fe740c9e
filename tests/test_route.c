/*
 * Effective routes and route selection, one test per documented behaviour.
 *
 * "udr-overview" is azdocs:articles/virtual-network/virtual-networks-udr-overview.md;
 * "pe-policy" is azdocs:articles/private-link/disable-private-endpoint-network-policy.md.
 * Expectations are written as model_route_describe() lines so a failure reads like
 * Azure's effective-routes view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "model/route.h"
#include "sim/rng.h"

/* ---------------------------------------------------------------------------------------
 * Helpers
 */

static ModelPrefix P(const char *text)
{
    ModelPrefix p = {0, 0};
    assert_int_equal(model_prefix_parse(text, false, &p), MODEL_PREFIX_OK);
    return p;
}

static uint32_t IP(const char *text)
{
    uint32_t ip = 0;
    assert_true(model_ip_parse(text, &ip));
    return ip;
}

/* A fixed stand-in for the service tags file: enough overlap to exercise "Exact Match". */
static bool fake_tags(void *ctx, const char *tag, const ModelPrefix **prefixes, size_t *n)
{
    (void)ctx;
    static const ModelPrefix storage[] = {{MODEL_IP4(20, 60, 0, 0), 16},
                                          {MODEL_IP4(20, 38, 0, 0), 16}};
    static const ModelPrefix storage_eastus[] = {{MODEL_IP4(20, 60, 0, 0), 16}};
    static const ModelPrefix azurecloud[] = {{MODEL_IP4(20, 0, 0, 0), 8},
                                             {MODEL_IP4(20, 60, 0, 0), 16}};
    static const ModelPrefix azurecloud_eastus[] = {{MODEL_IP4(20, 60, 0, 0), 16},
                                                    {MODEL_IP4(20, 38, 128, 0), 17}};
    static const struct {
        const char *tag;
        const ModelPrefix *p;
        size_t n;
    } tags[] = {
        {"Storage", storage, G_N_ELEMENTS(storage)},
        {"Storage.EastUS", storage_eastus, G_N_ELEMENTS(storage_eastus)},
        {"AzureCloud", azurecloud, G_N_ELEMENTS(azurecloud)},
        {"AzureCloud.eastus", azurecloud_eastus, G_N_ELEMENTS(azurecloud_eastus)},
    };
    /* "Synthetic.<n>" -> 30.<n>.0.0/16, for the 25-tag-routes limit. */
    static ModelPrefix synthetic;
    if (g_str_has_prefix(tag, "Synthetic.")) {
        char *end = NULL;
        guint64 k = g_ascii_strtoull(tag + 10, &end, 10);
        if (end == tag + 10 || *end != '\0' || k > 255)
            return false;
        synthetic = (ModelPrefix){MODEL_IP4(30, k, 0, 0), 16};
        *prefixes = &synthetic;
        *n = 1;
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(tags); i++)
        if (strcmp(tag, tags[i].tag) == 0) {
            *prefixes = tags[i].p;
            *n = tags[i].n;
            return true;
        }
    return false;
}

static void add_ok(ModelRouteTable *t, const char *name, const char *prefix, const char *hop,
                   const char *ip)
{
    GError *error = NULL;
    bool ok = model_route_table_add(t, name, prefix, hop, ip, 1, fake_tags, NULL, &error);
    if (!ok)
        fail_msg("unexpected error: %s", error->message);
}

static void add_fails(ModelRouteTable *t, const char *name, const char *prefix, const char *hop,
                      const char *ip, ModelRouteErrorCode code, const char *needle)
{
    GError *error = NULL;
    guint before = t->routes->len;
    assert_false(model_route_table_add(t, name, prefix, hop, ip, 1, fake_tags, NULL, &error));
    assert_non_null(error);
    assert_true(error->domain == MODEL_ROUTE_ERROR);
    assert_int_equal(error->code, code);
    if (!strstr(error->message, needle))
        fail_msg("message '%s' lacks '%s'", error->message, needle);
    assert_int_equal(t->routes->len, before); /* the table is left unchanged */
    g_error_free(error);
}

/* Asserts which route carries traffic to dst, by its description. */
static void expect_route(const ModelEffectiveRoutes *r, const char *dst, const char *expected)
{
    const ModelRoute *route = model_routes_lookup(r, IP(dst));
    assert_non_null(route);
    GString *s = g_string_new(NULL);
    model_route_describe(route, s);
    if (strcmp(s->str, expected) != 0)
        fail_msg("to %s: got '%s', expected '%s'", dst, s->str, expected);
    g_string_free(s, TRUE);
}

typedef struct {
    ModelPrefix prefix;
    ModelNextHopType type;
    int found;  /* routes listed with this prefix and type */
    int active; /* of which Active */
} StateQuery;

static void state_cb(const ModelRoute *route, bool active, void *ctx)
{
    StateQuery *q = ctx;
    if (route->prefix.addr == q->prefix.addr && route->prefix.len == q->prefix.len &&
        route->type == q->type) {
        q->found++;
        q->active += active;
    }
}

/* 'A' Active, 'I' Invalid, '-' not listed (asserts at most one such route). */
static char state(const ModelEffectiveRoutes *r, const char *prefix, ModelNextHopType type)
{
    StateQuery q = {P(prefix), type, 0, 0};
    model_routes_foreach(r, state_cb, &q);
    assert_true(q.found <= 1);
    return q.found == 0 ? '-' : q.active ? 'A' : 'I';
}

static const ModelPrefix vnet_ml[] = {{MODEL_IP4(10, 0, 0, 0), 16}};

static ModelRouteInput input_vnet(const ModelPrefix *space, size_t n)
{
    ModelRouteInput in = {0};
    in.vnet_name = "vnet-ml";
    in.vnet_space = space;
    in.n_vnet_space = n;
    return in;
}

/* ---------------------------------------------------------------------------------------
 * System routes (udr-overview, "System routes" / "Default")
 */

/* "Azure automatically creates the following default system routes for each subnet": the
 * VNet's range -> Virtual network, 0.0.0.0/0 -> Internet, the four reserved -> None. */
static void system_routes_present(void **state_)
{
    (void)state_;
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(model_routes_count(r), 6);
    assert_int_equal(state(r, "10.0.0.0/16", MODEL_NEXT_HOP_VNET_LOCAL), 'A');
    assert_int_equal(state(r, "0.0.0.0/0", MODEL_NEXT_HOP_INTERNET), 'A');
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), 'A');
    assert_int_equal(state(r, "172.16.0.0/12", MODEL_NEXT_HOP_NONE), 'A');
    assert_int_equal(state(r, "192.168.0.0/16", MODEL_NEXT_HOP_NONE), 'A');
    assert_int_equal(state(r, "100.64.0.0/10", MODEL_NEXT_HOP_NONE), 'A');
    expect_route(r, "10.0.1.4", "vnet-ml 10.0.0.0/16 -> VnetLocal (Default)");
    expect_route(r, "8.8.8.8", "system 0.0.0.0/0 -> Internet (Default)");
    model_routes_free(r);
}

/* "Traffic routed to the None next hop type is dropped": 10/8, 172.16/12, 192.168/16 (RFC
 * 1918) and 100.64/10 (RFC 6598) outside the VNet have no way out. */
static void reserved_prefix_routes_drop_traffic(void **state_)
{
    (void)state_;
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    ModelEffectiveRoutes *r = model_routes_build(&in);
    expect_route(r, "10.1.0.1", "reserved:RFC1918 10.0.0.0/8 -> None (Default)");
    expect_route(r, "172.31.255.254", "reserved:RFC1918 172.16.0.0/12 -> None (Default)");
    expect_route(r, "192.168.0.53", "reserved:RFC1918 192.168.0.0/16 -> None (Default)");
    expect_route(r, "100.127.0.1", "reserved:RFC6598 100.64.0.0/10 -> None (Default)");
    expect_route(r, "172.32.0.1", "system 0.0.0.0/0 -> Internet (Default)");
    model_routes_free(r);
}

/* "If you assign any of the previous address ranges within the address space of a virtual
 * network, Azure automatically changes the next hop type for the route from None to Virtual
 * network." */
static void vnet_range_equal_to_reserved_prefix_becomes_vnet_local(void **state_)
{
    (void)state_;
    static const ModelPrefix space[] = {{MODEL_IP4(10, 0, 0, 0), 8}};
    ModelRouteInput in = input_vnet(space, 1);
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), '-');
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_VNET_LOCAL), 'A');
    assert_int_equal(model_routes_count(r), 5);
    expect_route(r, "10.200.0.1", "vnet-ml 10.0.0.0/8 -> VnetLocal (Default)");
    model_routes_free(r);
}

/* "If you assign an address range to the address space of a virtual network that includes,
 * but isn't the same as, one of the four reserved address prefixes, Azure removes the route
 * for the prefix and adds a route for the address prefix you added". */
static void vnet_range_including_reserved_prefix_removes_it(void **state_)
{
    (void)state_;
    static const ModelPrefix space[] = {{MODEL_IP4(172, 0, 0, 0), 11}};
    ModelRouteInput in = input_vnet(space, 1);
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "172.16.0.0/12", MODEL_NEXT_HOP_NONE), '-');
    expect_route(r, "172.20.0.1", "vnet-ml 172.0.0.0/11 -> VnetLocal (Default)");
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), 'A');
    model_routes_free(r);
}

/* Pinned reading: a VNet range *inside* a reserved prefix leaves the None route in place.
 * The page is silent, but its routing example lists, for Subnet2, "Default Active
 * 10.0.0.0/16 Virtual network" and "Default Active 10.0.0.0/8 None" together. */
static void vnet_range_inside_reserved_prefix_keeps_none_route(void **state_)
{
    (void)state_;
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), 'A');
    expect_route(r, "10.0.255.254", "vnet-ml 10.0.0.0/16 -> VnetLocal (Default)");
    expect_route(r, "10.1.0.1", "reserved:RFC1918 10.0.0.0/8 -> None (Default)");
    model_routes_free(r);
}

/* Extrapolation (route.c): a peered range equal to a reserved prefix is treated like the
 * VNet's own range, so the peering is not shadowed by None. */
static void peered_range_equal_to_reserved_prefix_replaces_none_route(void **state_)
{
    (void)state_;
    static const ModelPrefix hub[] = {{MODEL_IP4(192, 168, 0, 0), 16}};
    ModelRoutePeering peerings[] = {{"vnet-hub", hub, 1}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.peerings = peerings;
    in.n_peerings = 1;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "192.168.0.0/16", MODEL_NEXT_HOP_NONE), '-');
    expect_route(r, "192.168.0.4", "peering:vnet-hub 192.168.0.0/16 -> VNetPeering (Default)");
    model_routes_free(r);
}

/* ---------------------------------------------------------------------------------------
 * Selection (udr-overview, "How Azure selects a route")
 */

/* "Azure directs traffic destined for 10.0.0.5 to the next hop type specified in the route
 * with the 10.0.0.0/24 address prefix ... Azure directs traffic destined for 10.0.1.5 to
 * the next hop type specified in the route with the 10.0.0.0/16 address prefix." */
static void longest_prefix_wins(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-subnet1", false);
    add_ok(t, "Within-VNet1", "10.0.0.0/16", "VirtualAppliance", "10.0.100.4");
    add_ok(t, "Within-Subnet1", "10.0.0.0/24", "VnetLocal", NULL);
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    expect_route(r, "10.0.0.5", "rt-subnet1/Within-Subnet1 10.0.0.0/24 -> VnetLocal (User)");
    expect_route(r, "10.0.1.5",
                 "rt-subnet1/Within-VNet1 10.0.0.0/16 -> VirtualAppliance 10.0.100.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "If multiple routes contain the same address prefix ... 1. User-defined route"; the
 * example's ID1 turns Invalid when ID2 (a UDR for 10.0.0.0/16) is added. */
static void equal_prefix_user_route_beats_system_route(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-subnet1", false);
    add_ok(t, "Within-VNet1", "10.0.0.0/16", "VirtualAppliance", "10.0.100.4");
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.0.0.0/16", MODEL_NEXT_HOP_VNET_LOCAL), 'I');
    assert_int_equal(state(r, "10.0.0.0/16", MODEL_NEXT_HOP_VIRTUAL_APPLIANCE), 'A');
    expect_route(r, "10.0.3.3",
                 "rt-subnet1/Within-VNet1 10.0.0.0/16 -> VirtualAppliance 10.0.100.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "1. User-defined route 2. BGP route": the example's ID8 (gateway, 10.10.0.0/16) is
 * overridden by ID9 (To-On-Prem, same prefix, to the appliance). */
static void equal_prefix_user_route_beats_bgp_route(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-subnet1", false);
    add_ok(t, "To-On-Prem", "10.10.0.0/16", "VirtualAppliance", "10.0.100.4");
    ModelRouteGatewayPrefix gw[] = {{"vpngw", {MODEL_IP4(10, 10, 0, 0), 16}}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.gateway_routes = gw;
    in.n_gateway_routes = 1;
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.10.0.0/16", MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY), 'I');
    expect_route(r, "10.10.1.1",
                 "rt-subnet1/To-On-Prem 10.10.0.0/16 -> VirtualAppliance 10.0.100.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "2. BGP route 3. System route": an advertised 0.0.0.0/0 overrides the Internet route, and
 * an advertised 10.0.0.0/8 overrides the reserved None route. Pinned (⚠ undocumented): a
 * BGP 0.0.0.0/0 does not remove the reserved None routes as a UDR 0.0.0.0/0 does. */
static void equal_prefix_bgp_route_beats_system_route(void **state_)
{
    (void)state_;
    ModelRouteGatewayPrefix gw[] = {{"ergw", {0, 0}}, {"ergw", {MODEL_IP4(10, 0, 0, 0), 8}}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.gateway_routes = gw;
    in.n_gateway_routes = 2;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "0.0.0.0/0", MODEL_NEXT_HOP_INTERNET), 'I');
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), 'I');
    assert_int_equal(state(r, "192.168.0.0/16", MODEL_NEXT_HOP_NONE), 'A');
    expect_route(r, "8.8.8.8", "ergw 0.0.0.0/0 -> VirtualNetworkGateway (VirtualNetworkGateway)");
    expect_route(r, "10.20.0.1",
                 "ergw 10.0.0.0/8 -> VirtualNetworkGateway (VirtualNetworkGateway)");
    expect_route(r, "192.168.1.1", "reserved:RFC1918 192.168.0.0/16 -> None (Default)");
    expect_route(r, "10.0.0.4", "vnet-ml 10.0.0.0/16 -> VnetLocal (Default)");
    model_routes_free(r);
}

/* "System routes for traffic related to virtual network, virtual network peerings, or
 * virtual network service endpoints, are preferred routes, even if BGP routes are more
 * specific." Pinned: also over a BGP route with the *same* prefix. */
static void vnet_peering_service_endpoint_routes_beat_more_specific_bgp(void **state_)
{
    (void)state_;
    static const ModelPrefix hub[] = {{MODEL_IP4(10, 1, 0, 0), 16}};
    ModelRoutePeering peerings[] = {{"vnet-hub", hub, 1}};
    ModelRouteGatewayPrefix gw[] = {
        {"vpngw", {MODEL_IP4(10, 0, 5, 0), 24}},  /* inside the VNet */
        {"vpngw", {MODEL_IP4(10, 1, 0, 0), 16}},  /* equal to the peering */
        {"vpngw", {MODEL_IP4(20, 60, 1, 0), 24}}, /* inside a service endpoint prefix */
        {"vpngw", {MODEL_IP4(10, 0, 0, 0), 8}},   /* shorter: still used outside them */
    };
    ModelRouteServiceEndpointPrefix se[] = {{"Microsoft.Storage", {MODEL_IP4(20, 60, 0, 0), 16}}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.peerings = peerings;
    in.n_peerings = 1;
    in.gateway_routes = gw;
    in.n_gateway_routes = G_N_ELEMENTS(gw);
    in.service_endpoint_routes = se;
    in.n_service_endpoint_routes = 1;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    expect_route(r, "10.0.5.9", "vnet-ml 10.0.0.0/16 -> VnetLocal (Default)");
    expect_route(r, "10.1.0.9", "peering:vnet-hub 10.1.0.0/16 -> VNetPeering (Default)");
    expect_route(r, "20.60.1.9",
                 "service-endpoint:Microsoft.Storage 20.60.0.0/16 -> "
                 "VirtualNetworkServiceEndpoint (Default)");
    expect_route(r, "10.2.0.9",
                 "vpngw 10.0.0.0/8 -> VirtualNetworkGateway "
                 "(VirtualNetworkGateway)");
    assert_int_equal(state(r, "10.0.5.0/24", MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY), 'I');
    assert_int_equal(state(r, "10.1.0.0/16", MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY), 'I');
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY), 'A');
    model_routes_free(r);
}

/* "When you disable route propagation, the system doesn't add routes to the route table of
 * all subnets with Virtual network gateway route propagation disabled. This process applies
 * to both static routes and BGP routes." */
static void disable_bgp_route_propagation_removes_gateway_routes(void **state_)
{
    (void)state_;
    ModelRouteGatewayPrefix gw[] = {{"vpngw", {MODEL_IP4(10, 10, 0, 0), 16}}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.gateway_routes = gw;
    in.n_gateway_routes = 1;

    ModelRouteTable *t = model_route_table_new("rt-nopropagation", true);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.10.0.0/16", MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY), '-');
    expect_route(r, "10.10.0.1", "reserved:RFC1918 10.0.0.0/8 -> None (Default)");
    model_routes_free(r);
    model_route_table_free(t);

    t = model_route_table_new("rt-propagation", false);
    in.table = t;
    r = model_routes_build(&in);
    expect_route(r, "10.10.0.1",
                 "vpngw 10.10.0.0/16 -> VirtualNetworkGateway "
                 "(VirtualNetworkGateway)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "When you override the 0.0.0.0/0 address prefix ... Azure sends all traffic to the next
 * hop type specified in the route"; VNet and peering prefixes are longer and stay. */
static void forced_tunneling_sends_internet_to_appliance_vnet_stays_local(void **state_)
{
    (void)state_;
    static const ModelPrefix hub[] = {{MODEL_IP4(10, 1, 0, 0), 16}};
    ModelRoutePeering peerings[] = {{"vnet-hub", hub, 1}};
    ModelRouteTable *t = model_route_table_new("rt-training", false);
    add_ok(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.peerings = peerings;
    in.n_peerings = 1;
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "0.0.0.0/0", MODEL_NEXT_HOP_INTERNET), 'I');
    expect_route(r, "20.60.1.1", "rt-training/to-fw 0.0.0.0/0 -> VirtualAppliance 10.1.0.4 (User)");
    expect_route(r, "10.0.2.4", "vnet-ml 10.0.0.0/16 -> VnetLocal (Default)");
    expect_route(r, "10.1.0.4", "peering:vnet-hub 10.1.0.0/16 -> VNetPeering (Default)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "Azure removed the routes for the 10.0.0.0/8, 192.168.0.0/16, and 100.64.0.0/10 address
 * prefixes from the Subnet1 route table when the user-defined route for the 0.0.0.0/0
 * address prefix was added to Subnet1" (routing example; MicrosoftDocs/azure-docs#51082). */
static void forced_tunneling_removes_reserved_none_routes(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-training", false);
    add_ok(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    assert_int_equal(state(r, "10.0.0.0/8", MODEL_NEXT_HOP_NONE), '-');
    assert_int_equal(state(r, "172.16.0.0/12", MODEL_NEXT_HOP_NONE), '-');
    assert_int_equal(state(r, "192.168.0.0/16", MODEL_NEXT_HOP_NONE), '-');
    assert_int_equal(state(r, "100.64.0.0/10", MODEL_NEXT_HOP_NONE), '-');
    expect_route(r, "192.168.0.53",
                 "rt-training/to-fw 0.0.0.0/0 -> VirtualAppliance 10.1.0.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "When you enable a service endpoint for a service, Azure creates a route with address
 * prefixes for the service. Traffic to the service doesn't route to the next hop type in a
 * route with the 0.0.0.0/0 address prefix." */
static void service_endpoint_route_beats_forced_tunneling(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-training", false);
    add_ok(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    ModelRouteServiceEndpointPrefix se[] = {{"Microsoft.Storage", {MODEL_IP4(20, 60, 0, 0), 16}}};
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.service_endpoint_routes = se;
    in.n_service_endpoint_routes = 1;
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    expect_route(r, "20.60.12.4",
                 "service-endpoint:Microsoft.Storage 20.60.0.0/16 -> "
                 "VirtualNetworkServiceEndpoint (Default)");
    expect_route(r, "20.61.0.1", "rt-training/to-fw 0.0.0.0/0 -> VirtualAppliance 10.1.0.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* ---------------------------------------------------------------------------------------
 * Private endpoints (pe-policy)
 */

static ModelEffectiveRoutes *build_pe(const char *udr_prefix, bool policy, ModelRouteTable **t)
{
    static const ModelPrefix hub[] = {{MODEL_IP4(10, 1, 0, 0), 16}};
    static ModelRoutePeering peerings[] = {{"vnet-hub", hub, 1}};
    static ModelRoutePrivateEndpoint pes[2];
    pes[0] = (ModelRoutePrivateEndpoint){"pe-blob", MODEL_IP4(10, 0, 1, 5), policy};
    pes[1] = (ModelRoutePrivateEndpoint){"pe-hub-kv", MODEL_IP4(10, 1, 2, 6), policy};
    *t = model_route_table_new("rt-training", false);
    add_ok(*t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.2.0.4");
    if (udr_prefix)
        add_ok(*t, "pe-via-fw", udr_prefix, "VirtualAppliance", "10.2.0.4");
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.peerings = peerings;
    in.n_peerings = 1;
    in.private_endpoints = pes;
    in.n_private_endpoints = 2;
    in.table = *t;
    return model_routes_build(&in);
}

/* "a user-defined routes default route (0.0.0.0/0) doesn't invalidate private endpoint
 * routes" — even with the route-table network policy enabled. */
static void private_endpoint_route_beats_default_route_udr(void **state_)
{
    (void)state_;
    for (int policy = 0; policy <= 1; policy++) {
        ModelRouteTable *t;
        ModelEffectiveRoutes *r = build_pe(NULL, policy, &t);
        assert_int_equal(state(r, "10.0.1.5/32", MODEL_NEXT_HOP_INTERFACE_ENDPOINT), 'A');
        expect_route(r, "10.0.1.5",
                     "private-endpoint:pe-blob 10.0.1.5/32 -> InterfaceEndpoint (Default)");
        expect_route(r, "10.1.2.6",
                     "private-endpoint:pe-hub-kv 10.1.2.6/32 -> InterfaceEndpoint (Default)");
        model_routes_free(r);
        model_route_table_free(t);
    }
}

/* "If you enable network security policies for user-defined routes, you can use a custom
 * address prefix length (subnet mask) equal to or larger than the virtual network address
 * space prefix length to invalidate the /32 default route propagated by the private
 * endpoint ... Network policies should be enabled in the subnet that hosts the private
 * endpoint." Without the policy, the /32 keeps winning by longest prefix. */
static void private_endpoint_override_needs_route_table_policy(void **state_)
{
    (void)state_;
    ModelRouteTable *t;
    ModelEffectiveRoutes *r = build_pe("10.0.0.0/16", false, &t);
    assert_int_equal(state(r, "10.0.1.5/32", MODEL_NEXT_HOP_INTERFACE_ENDPOINT), 'A');
    expect_route(r, "10.0.1.5",
                 "private-endpoint:pe-blob 10.0.1.5/32 -> InterfaceEndpoint (Default)");
    model_routes_free(r);
    model_route_table_free(t);

    r = build_pe("10.0.0.0/16", true, &t);
    assert_int_equal(state(r, "10.0.1.5/32", MODEL_NEXT_HOP_INTERFACE_ENDPOINT), 'I');
    expect_route(r, "10.0.1.5",
                 "rt-training/pe-via-fw 10.0.0.0/16 -> VirtualAppliance 10.2.0.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* Pinned reading of "prefix length ... equal to or larger than the virtual network address
 * space prefix length" (2023-07) / "prefix size that is equal to or smaller than the
 * virtual network address space" (2024-12): for a /16 VNet, /16 and /24 invalidate, /8
 * does not; a PE in a peered VNet is judged by *its* VNet's range. */
static void private_endpoint_override_needs_prefix_at_least_vnet_length(void **state_)
{
    (void)state_;
    ModelRouteTable *t;
    ModelEffectiveRoutes *r = build_pe("10.0.0.0/8", true, &t);
    expect_route(r, "10.0.1.5",
                 "private-endpoint:pe-blob 10.0.1.5/32 -> InterfaceEndpoint (Default)");
    expect_route(r, "10.1.2.6",
                 "private-endpoint:pe-hub-kv 10.1.2.6/32 -> InterfaceEndpoint (Default)");
    model_routes_free(r);
    model_route_table_free(t);

    r = build_pe("10.0.1.0/24", true, &t);
    expect_route(r, "10.0.1.5",
                 "rt-training/pe-via-fw 10.0.1.0/24 -> VirtualAppliance 10.2.0.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);

    /* Hub-and-spoke, dedicated PE VNet: "A route pointing to the network address space
     * where the private endpoints are deployed is created"
     * (azdocs:articles/private-link/inspect-traffic-with-azure-firewall.md, scenario 1). */
    r = build_pe("10.1.0.0/16", true, &t);
    expect_route(r, "10.1.2.6",
                 "rt-training/pe-via-fw 10.1.0.0/16 -> VirtualAppliance 10.2.0.4 (User)");
    assert_int_equal(state(r, "10.1.0.0/16", MODEL_NEXT_HOP_VNET_PEERING), 'I');
    model_routes_free(r);
    model_route_table_free(t);
}

/* "Deploy individual routes with /32 prefix to override private endpoint routes"
 * (private-endpoint-overview.md, Limitations): equal-prefix precedence, no policy needed. */
static void private_endpoint_exact_32_udr_overrides_without_policy(void **state_)
{
    (void)state_;
    ModelRouteTable *t;
    ModelEffectiveRoutes *r = build_pe("10.0.1.5/32", false, &t);
    assert_int_equal(state(r, "10.0.1.5/32", MODEL_NEXT_HOP_INTERFACE_ENDPOINT), 'I');
    expect_route(r, "10.0.1.5",
                 "rt-training/pe-via-fw 10.0.1.5/32 -> VirtualAppliance 10.2.0.4 (User)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* ---------------------------------------------------------------------------------------
 * User-defined routes (udr-overview, "User-defined", "Service Tags for user-defined routes")
 */

/* "You can now specify a service tag as the address prefix for a user-defined route": one
 * effective route per prefix of the tag, all named after the route. */
static void service_tag_udr_expands_to_one_route_per_prefix(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt", false);
    add_ok(t, "StorageRoute", "Storage", "VirtualAppliance", "10.0.100.4");
    assert_int_equal(t->routes->len, 2);
    assert_int_equal(t->n_defined, 1);
    assert_int_equal(t->n_tag_routes, 1);
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    expect_route(r, "20.60.0.1",
                 "rt/StorageRoute 20.60.0.0/16 (Storage) -> VirtualAppliance 10.0.100.4 (User)");
    expect_route(r, "20.38.0.1",
                 "rt/StorageRoute 20.38.0.0/16 (Storage) -> VirtualAppliance 10.0.100.4 (User)");
    expect_route(r, "20.39.0.1", "system 0.0.0.0/0 -> Internet (Default)");
    model_routes_free(r);
    model_route_table_free(t);
}

/* "The system gives preference to the route with the explicit prefix when there's an exact
 * prefix match between a route with an explicit IP prefix and a route with a Service Tag.
 * When multiple routes with Service Tags have matching IP prefixes, routes are evaluated in
 * the following order: Regional tags, Top level tags, AzureCloud regional tags, The
 * AzureCloud tag." All five below cover 20.60.0.0/16. */
static void service_tag_exact_match_precedence(void **state_)
{
    (void)state_;
    static const struct {
        const char *name, *prefix, *hop;
    } all[] = {
        {"cloud", "AzureCloud", "None"},
        {"cloud-region", "AzureCloud.eastus", "VnetLocal"},
        {"storage", "Storage", "VirtualNetworkGateway"},
        {"storage-region", "Storage.EastUS", "Internet"},
        {"explicit", "20.60.0.0/16", "None"},
    };
    static const char *const expected[] = {
        "rt/cloud 20.60.0.0/16 (AzureCloud) -> None (User)",
        "rt/cloud-region 20.60.0.0/16 (AzureCloud.eastus) -> VnetLocal (User)",
        "rt/storage 20.60.0.0/16 (Storage) -> VirtualNetworkGateway (User)",
        "rt/storage-region 20.60.0.0/16 (Storage.EastUS) -> Internet (User)",
        "rt/explicit 20.60.0.0/16 -> None (User)",
    };
    /* With routes 0..k in the table, route k wins; add them in reverse order too. */
    for (size_t k = 0; k < G_N_ELEMENTS(all); k++) {
        for (int reverse = 0; reverse <= 1; reverse++) {
            ModelRouteTable *t = model_route_table_new("rt", false);
            for (size_t i = 0; i <= k; i++) {
                size_t j = reverse ? k - i : i;
                add_ok(t, all[j].name, all[j].prefix, all[j].hop, NULL);
            }
            ModelRouteInput in = input_vnet(vnet_ml, 1);
            in.table = t;
            ModelEffectiveRoutes *r = model_routes_build(&in);
            expect_route(r, "20.60.7.7", expected[k]);
            model_routes_free(r);
            model_route_table_free(t);
        }
    }
}

/* "When you create a route with the virtual appliance hop type, you also specify a next hop
 * IP address"; "You can't specify Virtual network peering or VirtualNetworkServiceEndpoint
 * as the next hop type in user-defined routes"; plus Azure's limits and duplicates. */
static void udr_validation_errors(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt", false);
    add_fails(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", NULL, MODEL_ROUTE_ERROR_NEXT_HOP_IP,
              "requires nextHopIpAddress");
    add_fails(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "", MODEL_ROUTE_ERROR_NEXT_HOP_IP,
              "requires nextHopIpAddress");
    add_fails(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.256",
              MODEL_ROUTE_ERROR_NEXT_HOP_IP, "not an IPv4 address");
    add_fails(t, "out", "0.0.0.0/0", "Internet", "10.1.0.4", MODEL_ROUTE_ERROR_NEXT_HOP_IP,
              "only allowed with nextHopType VirtualAppliance, not Internet");
    add_fails(t, "vnet", "VirtualNetwork", "VirtualAppliance", "10.1.0.4",
              MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED, "'VirtualNetwork'");
    add_fails(t, "lb", "AzureLoadBalancer", "None", NULL, MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED,
              "AzureLoadBalancer");
    add_fails(t, "inet", "internet", "None", NULL, MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED, "internet");
    add_fails(t, "peer", "10.1.0.0/16", "VNetPeering", NULL, MODEL_ROUTE_ERROR_NEXT_HOP_TYPE,
              "created by Azure only");
    add_fails(t, "se", "10.1.0.0/16", "VirtualNetworkServiceEndpoint", NULL,
              MODEL_ROUTE_ERROR_NEXT_HOP_TYPE, "created by Azure only");
    add_fails(t, "bad", "10.1.0.0/16", "Firewall", NULL, MODEL_ROUTE_ERROR_NEXT_HOP_TYPE,
              "unknown nextHopType 'Firewall'");
    add_fails(t, "host", "10.1.0.5/16", "None", NULL, MODEL_ROUTE_ERROR_PREFIX, "host bits set");
    add_fails(t, "len", "10.1.0.0/33", "None", NULL, MODEL_ROUTE_ERROR_PREFIX, "10.1.0.0/33");
    add_fails(t, "tag", "NoSuchTag", "None", NULL, MODEL_ROUTE_ERROR_PREFIX,
              "neither a CIDR prefix nor a known service tag");
    add_fails(t, "", "10.1.0.0/16", "None", NULL, MODEL_ROUTE_ERROR_PREFIX, "needs a name");

    add_ok(t, "to-fw", "0.0.0.0/0", "virtualappliance", "10.1.0.4"); /* case-insensitive */
    add_fails(t, "TO-FW", "10.9.0.0/16", "None", NULL, MODEL_ROUTE_ERROR_DUPLICATE, "name");
    add_fails(t, "again", "0.0.0.0/0", "None", NULL, MODEL_ROUTE_ERROR_DUPLICATE,
              "same addressPrefix");
    add_ok(t, "st", "Storage", "None", NULL);
    add_fails(t, "st2", "Storage", "Internet", NULL, MODEL_ROUTE_ERROR_DUPLICATE,
              "same addressPrefix");
    model_route_table_free(t);

    /* "A route table supports up to 400 routes"; "25 or less routes with service tags". */
    t = model_route_table_new("rt-big", false);
    for (unsigned i = 0; i < MODEL_ROUTE_TABLE_MAX_ROUTES; i++) {
        char name[16], prefix[MODEL_PREFIX_STRLEN];
        g_snprintf(name, sizeof name, "r%u", i);
        ModelPrefix p = {MODEL_IP4(10, i / 256, i % 256, 0), 24};
        model_prefix_format(p, prefix);
        add_ok(t, name, prefix, "None", NULL);
    }
    add_fails(t, "one-too-many", "11.0.0.0/8", "None", NULL, MODEL_ROUTE_ERROR_LIMIT, "400");
    model_route_table_free(t);

    t = model_route_table_new("rt-tags", false);
    for (unsigned i = 0; i < MODEL_ROUTE_TABLE_MAX_TAG_ROUTES; i++) {
        char name[16], tag[32];
        g_snprintf(name, sizeof name, "t%u", i);
        g_snprintf(tag, sizeof tag, "Synthetic.%u", i);
        add_ok(t, name, tag, "None", NULL);
    }
    add_ok(t, "cidr-still-fine", "30.200.0.0/16", "None", NULL);
    add_fails(t, "tag-26", "Storage.WestUS", "None", NULL, MODEL_ROUTE_ERROR_LIMIT, "25");
    model_route_table_free(t);
}

static void next_hop_type_names_round_trip(void **state_)
{
    (void)state_;
    static const char *const udr[] = {"VirtualNetworkGateway", "VnetLocal", "Internet",
                                      "VirtualAppliance", "None"};
    for (size_t i = 0; i < G_N_ELEMENTS(udr); i++) {
        ModelNextHopType type = MODEL_NEXT_HOP_COUNT;
        assert_true(model_next_hop_type_parse_udr(udr[i], &type, NULL));
        assert_string_equal(model_next_hop_type_name(type), udr[i]);
    }
    ModelNextHopType type = MODEL_NEXT_HOP_COUNT;
    assert_true(model_next_hop_type_parse_udr("VNetLocal", &type, NULL)); /* doc's spelling */
    assert_int_equal(type, MODEL_NEXT_HOP_VNET_LOCAL);
    assert_false(model_next_hop_type_parse_udr("InterfaceEndpoint", &type, NULL));
    assert_false(model_next_hop_type_parse_udr(NULL, &type, NULL));
    assert_string_equal(model_next_hop_type_name(MODEL_NEXT_HOP_INTERFACE_ENDPOINT),
                        "InterfaceEndpoint");
    assert_string_equal(model_next_hop_type_name(MODEL_NEXT_HOP_COUNT), "?");
    assert_string_equal(model_route_source_name(MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY),
                        "VirtualNetworkGateway");
}

/* The build copies what it needs: the table can go first. */
static void effective_routes_outlive_the_table(void **state_)
{
    (void)state_;
    ModelRouteTable *t = model_route_table_new("rt-training", false);
    add_ok(t, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    ModelRouteInput in = input_vnet(vnet_ml, 1);
    in.table = t;
    ModelEffectiveRoutes *r = model_routes_build(&in);
    model_route_table_free(t);
    expect_route(r, "1.1.1.1", "rt-training/to-fw 0.0.0.0/0 -> VirtualAppliance 10.1.0.4 (User)");
    model_routes_free(r);
    model_routes_free(NULL);
    model_route_table_free(NULL);
}

/* ---------------------------------------------------------------------------------------
 * Randomised: the trie lookup agrees with a brute-force reading of the same rules,
 * evaluated per destination over every listed route (Active or not).
 */

typedef struct {
    const ModelRoute *route;
    unsigned order;
} Listed;

static void collect_cb(const ModelRoute *route, bool active, void *ctx)
{
    (void)active; /* the oracle derives selection from the rules, not from the states */
    GArray *all = ctx;
    Listed l = {route, all->len};
    g_array_append_val(all, l);
}

static int oracle_rank(const ModelRoute *r)
{
    if (r->source == MODEL_ROUTE_SOURCE_USER) {
        const char *t = r->address_prefix_text;
        if (t[0] >= '0' && t[0] <= '9')
            return 9;
        if (strcmp(t, "AzureCloud") == 0)
            return 5;
        if (strncmp(t, "AzureCloud.", 11) == 0)
            return 6;
        return strchr(t, '.') ? 8 : 7;
    }
    if (r->source == MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY)
        return 3;
    switch (r->type) {
    case MODEL_NEXT_HOP_VNET_LOCAL:
    case MODEL_NEXT_HOP_VNET_PEERING:
    case MODEL_NEXT_HOP_SERVICE_ENDPOINT:
        return 4;
    case MODEL_NEXT_HOP_NONE:
        return 1;
    default:
        return 2;
    }
}

static bool oracle_protected(const ModelRoute *r)
{
    return r->source == MODEL_ROUTE_SOURCE_DEFAULT && oracle_rank(r) == 4;
}

static bool same_prefix(ModelPrefix a, ModelPrefix b)
{
    return a.addr == b.addr && a.len == b.len;
}

static const ModelRoute *oracle_lookup(const GArray *all, const ModelRouteInput *in, uint32_t dst)
{
    const Listed *l = (const Listed *)(const void *)all->data;
    const ModelRoute *best = NULL;
    int best_rank = -1;
    unsigned best_order = 0;
    for (guint i = 0; i < all->len; i++) {
        const ModelRoute *c = l[i].route;
        if (!model_prefix_contains(c->prefix, dst))
            continue;
        /* BGP: beaten by a VNet/peering/service-endpoint system route of equal or shorter
         * length containing dst, unless a UDR with that route's prefix overrides it. */
        if (c->source == MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY) {
            bool beaten = false;
            for (guint j = 0; j < all->len && !beaten; j++) {
                const ModelRoute *p = l[j].route;
                if (!oracle_protected(p) || p->prefix.len > c->prefix.len ||
                    !model_prefix_contains(p->prefix, dst))
                    continue;
                bool overridden = false;
                for (guint k = 0; k < all->len; k++)
                    if (l[k].route->source == MODEL_ROUTE_SOURCE_USER &&
                        same_prefix(l[k].route->prefix, p->prefix))
                        overridden = true;
                beaten = !overridden;
            }
            if (beaten)
                continue;
        }
        /* PE /32: invalidated by a UDR containing dst, at least as long as the PE's VNet
         * range, when the PE's subnet enables route-table policies. */
        if (c->type == MODEL_NEXT_HOP_INTERFACE_ENDPOINT) {
            bool policy = false;
            for (size_t k = 0; k < in->n_private_endpoints; k++)
                if (in->private_endpoints[k].ip == c->prefix.addr) {
                    policy = in->private_endpoints[k].route_table_policy;
                    break;
                }
            unsigned host_len = 32;
            bool found = false;
            for (size_t k = 0; k < in->n_vnet_space && !found; k++)
                if (model_prefix_contains(in->vnet_space[k], dst)) {
                    host_len = in->vnet_space[k].len;
                    found = true;
                }
            for (size_t k = 0; k < in->n_peerings && !found; k++)
                for (size_t m = 0; m < in->peerings[k].n && !found; m++)
                    if (model_prefix_contains(in->peerings[k].space[m], dst)) {
                        host_len = in->peerings[k].space[m].len;
                        found = true;
                    }
            bool overridden = false;
            for (guint k = 0; k < all->len && policy; k++) {
                const ModelRoute *u = l[k].route;
                if (u->source == MODEL_ROUTE_SOURCE_USER && u->prefix.len >= host_len &&
                    model_prefix_contains(u->prefix, dst))
                    overridden = true;
            }
            if (overridden)
                continue;
        }
        /* Longest prefix, then precedence at equal prefix, then first listed. */
        int rank = oracle_rank(c);
        if (!best || c->prefix.len > best->prefix.len ||
            (c->prefix.len == best->prefix.len && rank > best_rank) ||
            (c->prefix.len == best->prefix.len && rank == best_rank && l[i].order < best_order)) {
            best = c;
            best_rank = rank;
            best_order = l[i].order;
        }
    }
    return best;
}

static uint32_t rnd(SimRng *rng, uint32_t bound)
{
    return (uint32_t)sim_rng_below(rng, bound);
}

/* A prefix near one of the anchors, so that random routes nest and collide often. */
static ModelPrefix random_prefix(SimRng *rng, const uint32_t *anchors, size_t n_anchors)
{
    static const uint8_t lens[] = {0, 8, 10, 11, 12, 16, 16, 16, 17, 20, 24, 24, 24, 25, 28, 32};
    uint32_t anchor =
        rnd(rng, 8) == 0 ? (uint32_t)sim_rng_next(rng) : anchors[rnd(rng, (uint32_t)n_anchors)];
    uint8_t len = rnd(rng, 5) == 0 ? (uint8_t)rnd(rng, 33) : lens[rnd(rng, G_N_ELEMENTS(lens))];
    uint32_t wiggle = (uint32_t)sim_rng_next(rng) & (rnd(rng, 2) ? 0xffu : 0xffffu);
    ModelPrefix p = {(anchor ^ wiggle) & model_prefix_mask(len), len};
    return p;
}

static bool overlaps_any(ModelPrefix p, const ModelPrefix *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (model_prefix_overlaps(p, set[i]))
            return true;
    return false;
}

static void random_lookup_matches_oracle(void **state_)
{
    (void)state_;
    SimRng rng;
    sim_rng_seed(&rng, 20240611);
    static const char *const hops[] = {"VirtualNetworkGateway", "VnetLocal", "Internet",
                                       "VirtualAppliance", "None"};
    static const char *const tags[] = {"Storage", "Storage.EastUS", "AzureCloud",
                                       "AzureCloud.eastus"};
    static const ModelPrefix space_pool[] = {
        {MODEL_IP4(10, 0, 0, 0), 16},   {MODEL_IP4(10, 1, 0, 0), 16},
        {MODEL_IP4(10, 0, 0, 0), 8},    {MODEL_IP4(172, 16, 0, 0), 12},
        {MODEL_IP4(172, 0, 0, 0), 11},  {MODEL_IP4(192, 168, 1, 0), 24},
        {MODEL_IP4(100, 64, 0, 0), 10}, {MODEL_IP4(10, 2, 0, 0), 24},
        {MODEL_IP4(10, 3, 0, 0), 20},   {MODEL_IP4(192, 168, 0, 0), 16},
    };
    unsigned checked = 0;
    for (int config = 0; config < 400; config++) {
        /* VNet and peered ranges: pairwise disjoint, as Azure requires. */
        ModelPrefix ranges[6];
        size_t n_ranges = 0;
        for (int tries = 0; tries < 6; tries++) {
            ModelPrefix p = space_pool[rnd(&rng, G_N_ELEMENTS(space_pool))];
            if (!overlaps_any(p, ranges, n_ranges))
                ranges[n_ranges++] = p;
        }
        size_t n_vnet = 1 + rnd(&rng, (uint32_t)n_ranges);
        if (n_vnet > n_ranges)
            n_vnet = n_ranges;
        ModelRoutePeering peerings[2];
        size_t n_peerings = 0;
        if (n_ranges > n_vnet) {
            size_t rest = n_ranges - n_vnet;
            size_t first = rest > 1 ? 1 + rnd(&rng, (uint32_t)(rest - 1)) : rest;
            peerings[n_peerings++] = (ModelRoutePeering){"peer-a", ranges + n_vnet, first};
            if (rest > first)
                peerings[n_peerings++] =
                    (ModelRoutePeering){"peer-b", ranges + n_vnet + first, rest - first};
        }

        uint32_t anchors[24];
        size_t n_anchors = 0;
        for (size_t i = 0; i < n_ranges; i++)
            anchors[n_anchors++] = ranges[i].addr;
        anchors[n_anchors++] = MODEL_IP4(20, 60, 0, 0);
        anchors[n_anchors++] = MODEL_IP4(20, 38, 0, 0);
        anchors[n_anchors++] = MODEL_IP4(10, 0, 0, 0);

        ModelRoutePrivateEndpoint pes[4];
        size_t n_pes = rnd(&rng, 5);
        for (size_t i = 0; i < n_pes; i++) {
            ModelPrefix host = ranges[rnd(&rng, (uint32_t)n_ranges)];
            uint32_t ip = host.addr | ((uint32_t)sim_rng_next(&rng) & ~model_prefix_mask(host.len));
            pes[i] = (ModelRoutePrivateEndpoint){"pe", ip, rnd(&rng, 2) == 1};
            anchors[n_anchors++] = ip;
        }

        ModelRouteGatewayPrefix gws[6];
        size_t n_gws = rnd(&rng, 7);
        for (size_t i = 0; i < n_gws; i++)
            gws[i] = (ModelRouteGatewayPrefix){i % 2 ? "vpngw" : "ergw",
                                               random_prefix(&rng, anchors, n_anchors)};

        ModelRouteServiceEndpointPrefix ses[3];
        size_t n_ses = rnd(&rng, 4);
        for (size_t i = 0; i < n_ses; i++)
            ses[i] = (ModelRouteServiceEndpointPrefix){"Microsoft.Storage",
                                                       random_prefix(&rng, anchors, n_anchors)};

        ModelRouteTable *t = NULL;
        if (rnd(&rng, 4) != 0) {
            t = model_route_table_new("rt", rnd(&rng, 4) == 0);
            size_t n_udr = rnd(&rng, 12);
            for (size_t i = 0; i < n_udr; i++) {
                char name[16], text[MODEL_PREFIX_STRLEN];
                g_snprintf(name, sizeof name, "u%zu", i);
                const char *prefix = text;
                if (rnd(&rng, 5) == 0)
                    prefix = tags[rnd(&rng, G_N_ELEMENTS(tags))];
                else
                    model_prefix_format(random_prefix(&rng, anchors, n_anchors), text);
                const char *hop = hops[rnd(&rng, G_N_ELEMENTS(hops))];
                const char *ip = strcmp(hop, "VirtualAppliance") == 0 ? "10.9.0.4" : NULL;
                GError *error = NULL;
                if (!model_route_table_add(t, name, prefix, hop, ip, (int)i, fake_tags, NULL,
                                           &error)) {
                    assert_int_equal(error->code, MODEL_ROUTE_ERROR_DUPLICATE);
                    g_error_free(error);
                }
            }
        }

        ModelRouteInput in = {0};
        in.vnet_space = ranges;
        in.n_vnet_space = n_vnet;
        in.peerings = peerings;
        in.n_peerings = n_peerings;
        in.gateway_routes = gws;
        in.n_gateway_routes = n_gws;
        in.service_endpoint_routes = ses;
        in.n_service_endpoint_routes = n_ses;
        in.private_endpoints = pes;
        in.n_private_endpoints = n_pes;
        in.table = t;
        ModelEffectiveRoutes *r = model_routes_build(&in);
        GArray *all = g_array_new(FALSE, FALSE, sizeof(Listed));
        model_routes_foreach(r, collect_cb, all);
        assert_int_equal(all->len, model_routes_count(r));

        for (int q = 0; q < 300; q++) {
            uint32_t dst;
            uint32_t how = rnd(&rng, 4);
            if (how == 0) {
                dst = (uint32_t)sim_rng_next(&rng);
            } else if (how == 1 && n_pes) {
                dst = pes[rnd(&rng, (uint32_t)n_pes)].ip;
            } else {
                const ModelRoute *route = g_array_index(all, Listed, rnd(&rng, all->len)).route;
                dst = route->prefix.addr |
                      ((uint32_t)sim_rng_next(&rng) & ~model_prefix_mask(route->prefix.len));
            }
            const ModelRoute *got = model_routes_lookup(r, dst);
            const ModelRoute *want = oracle_lookup(all, &in, dst);
            if (got != want) {
                GString *s = g_string_new(NULL);
                char ip[MODEL_IP_STRLEN];
                model_ip_format(dst, ip);
                g_string_append_printf(s, "config %d, dst %s: got ", config, ip);
                if (got)
                    model_route_describe(got, s);
                g_string_append(s, ", oracle ");
                if (want)
                    model_route_describe(want, s);
                fail_msg("%s", s->str);
            }
            checked++;
        }
        g_array_free(all, TRUE);
        model_routes_free(r);
        model_route_table_free(t);
    }
    assert_int_equal(checked, 400 * 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(system_routes_present),
        cmocka_unit_test(reserved_prefix_routes_drop_traffic),
        cmocka_unit_test(vnet_range_equal_to_reserved_prefix_becomes_vnet_local),
        cmocka_unit_test(vnet_range_including_reserved_prefix_removes_it),
        cmocka_unit_test(vnet_range_inside_reserved_prefix_keeps_none_route),
        cmocka_unit_test(peered_range_equal_to_reserved_prefix_replaces_none_route),
        cmocka_unit_test(longest_prefix_wins),
        cmocka_unit_test(equal_prefix_user_route_beats_system_route),
        cmocka_unit_test(equal_prefix_user_route_beats_bgp_route),
        cmocka_unit_test(equal_prefix_bgp_route_beats_system_route),
        cmocka_unit_test(vnet_peering_service_endpoint_routes_beat_more_specific_bgp),
        cmocka_unit_test(disable_bgp_route_propagation_removes_gateway_routes),
        cmocka_unit_test(forced_tunneling_sends_internet_to_appliance_vnet_stays_local),
        cmocka_unit_test(forced_tunneling_removes_reserved_none_routes),
        cmocka_unit_test(service_endpoint_route_beats_forced_tunneling),
        cmocka_unit_test(private_endpoint_route_beats_default_route_udr),
        cmocka_unit_test(private_endpoint_override_needs_route_table_policy),
        cmocka_unit_test(private_endpoint_override_needs_prefix_at_least_vnet_length),
        cmocka_unit_test(private_endpoint_exact_32_udr_overrides_without_policy),
        cmocka_unit_test(service_tag_udr_expands_to_one_route_per_prefix),
        cmocka_unit_test(service_tag_exact_match_precedence),
        cmocka_unit_test(udr_validation_errors),
        cmocka_unit_test(next_hop_type_names_round_trip),
        cmocka_unit_test(effective_routes_outlive_the_table),
        cmocka_unit_test(random_lookup_matches_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
