/*
 * route.h — a subnet's effective routes, as Azure computes and selects them.
 *
 * Sources (page dates as read):
 *   azdocs:articles/virtual-network/virtual-networks-udr-overview.md (2023-05-27)
 *     system routes, optional default routes, UDR next hops, service-tag UDRs,
 *     "How Azure selects a route", the 0.0.0.0/0 prefix, the routing example's tables;
 *   azdocs:articles/private-link/disable-private-endpoint-network-policy.md (2023-07, 2024-12)
 *     when a UDR invalidates a private endpoint's /32 route;
 *   azdocs:articles/private-link/private-endpoint-overview.md (Limitations, 2020–2021) and
 *   azdocs:articles/private-link/inspect-traffic-with-azure-firewall.md
 *     a /32 UDR overrides a private endpoint route.
 * The rules and the choices made where the pages are silent are written in route.c, each
 * next to its code, and pinned by tests/test_route.c.
 *
 * Life cycle: a scenario loader fills a ModelRouteTable per `routeTables` entry (user
 * input: errors are GErrors), then builds one ModelEffectiveRoutes per subnet with
 * model_routes_build(). The engine calls model_routes_lookup() per packet.
 *
 * Not modelled here (callers handle them): 168.63.129.16 is not subject to UDRs
 * (azdocs:articles/virtual-network/what-is-ip-address-168-63-129-16.md), so the engine must
 * not route it through this table; route propagation must not be disabled on GatewaySubnet
 * (a loader lint); ExpressRoute-over-VPN preference between two gateways advertising the
 * same prefix (the first listed gateway route wins here).
 */
#ifndef VNETSIM_MODEL_ROUTE_H
#define VNETSIM_MODEL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "model/addr.h"

/* Next hop types. Columns: enum suffix, the spelling of `nextHopType` in Azure CLI /
 * ARM JSON (route-table routes and `az network nic show-effective-route-table`), whether
 * a user-defined route may use it. The portal's "Virtual network" is VnetLocal. */
#define MODEL_NEXT_HOP_TYPES(X)                                                                    \
    X(VNET_LOCAL, "VnetLocal", true)                                                               \
    X(VNET_PEERING, "VNetPeering", false)                                                          \
    X(VIRTUAL_NETWORK_GATEWAY, "VirtualNetworkGateway", true)                                      \
    X(INTERNET, "Internet", true)                                                                  \
    X(VIRTUAL_APPLIANCE, "VirtualAppliance", true)                                                 \
    X(NONE, "None", true)                                                                          \
    X(SERVICE_ENDPOINT, "VirtualNetworkServiceEndpoint", false)                                    \
    X(INTERFACE_ENDPOINT, "InterfaceEndpoint", false)

/* Route sources, spelled as the effective-routes `source` field. */
#define MODEL_ROUTE_SOURCES(X)                                                                     \
    X(DEFAULT, "Default")                                                                          \
    X(USER, "User")                                                                                \
    X(VIRTUAL_NETWORK_GATEWAY, "VirtualNetworkGateway")

#define MODEL_X_ENUM_NEXT_HOP(id, name, udr) MODEL_NEXT_HOP_##id,
#define MODEL_X_ENUM_ROUTE_SOURCE(id, name)  MODEL_ROUTE_SOURCE_##id,
typedef enum { MODEL_NEXT_HOP_TYPES(MODEL_X_ENUM_NEXT_HOP) MODEL_NEXT_HOP_COUNT } ModelNextHopType;
typedef enum {
    MODEL_ROUTE_SOURCES(MODEL_X_ENUM_ROUTE_SOURCE) MODEL_ROUTE_SOURCE_COUNT
} ModelRouteSource;
#undef MODEL_X_ENUM_NEXT_HOP
#undef MODEL_X_ENUM_ROUTE_SOURCE

/* Azure's spelling, e.g. "VirtualAppliance". Never NULL ("?" for an out-of-range value). */
const char *model_next_hop_type_name(ModelNextHopType type);
const char *model_route_source_name(ModelRouteSource source);

/* Parses a UDR `nextHopType` (ASCII case-insensitive, as ARM accepts enum values). Only
 * the five types a user-defined route may use are accepted; VNetPeering,
 * VirtualNetworkServiceEndpoint and InterfaceEndpoint are created by Azure only. On failure
 * returns false, sets *error (MODEL_ROUTE_ERROR_NEXT_HOP_TYPE) and leaves *out alone. */
bool model_next_hop_type_parse_udr(const char *text, ModelNextHopType *out, GError **error);

#define MODEL_ROUTE_ERROR (model_route_error_quark())
GQuark model_route_error_quark(void);
typedef enum {
    MODEL_ROUTE_ERROR_PREFIX,          /* addressPrefix is neither a CIDR nor a known tag */
    MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED, /* VirtualNetwork, AzureLoadBalancer, Internet */
    MODEL_ROUTE_ERROR_NEXT_HOP_TYPE,   /* unknown, or not allowed in a UDR */
    MODEL_ROUTE_ERROR_NEXT_HOP_IP,     /* missing for VirtualAppliance, present otherwise, bad */
    MODEL_ROUTE_ERROR_DUPLICATE,       /* same route name, or same addressPrefix, twice */
    MODEL_ROUTE_ERROR_LIMIT,           /* > 400 routes, or > 25 service-tag routes */
} ModelRouteErrorCode;

/* One route. Strings are owned by whoever owns the route (a table or an effective set). */
typedef struct {
    char *name;         /* UDR name; NULL for system and gateway routes */
    ModelPrefix prefix; /* one prefix; a service-tag UDR becomes one route per prefix */
    ModelNextHopType type;
    uint32_t next_hop_ip; /* VirtualAppliance only; 0 otherwise */
    ModelRouteSource source;
    char *origin;              /* for traces: route table name, "peering:vnet-hub", gateway
                                  name, "service-endpoint:Microsoft.Storage",
                                  "private-endpoint:pe-blob", the VNet name, "system" */
    char *address_prefix_text; /* as written: "10.0.0.0/16", or the tag "Storage.EastUS" */
    int line;                  /* scenario line of the UDR; 0 for system routes */
} ModelRoute;

/* Azure's limits (azdocs:articles/private-link/inspect-traffic-with-azure-firewall.md:
 * "A route table supports up to 400 routes"; virtual-networks-udr-overview.md: "You can
 * currently create 25 or less routes with service tags in each route table"). */
#define MODEL_ROUTE_TABLE_MAX_ROUTES     400
#define MODEL_ROUTE_TABLE_MAX_TAG_ROUTES 25

typedef struct {
    char *name;
    GPtrArray *routes; /* ModelRoute *, owned; a tag route contributes one per prefix */
    bool disable_bgp_route_propagation;
    /* Maintained by model_route_table_add for Azure's limits; read-only for callers. */
    unsigned n_defined;    /* routes added (a tag route counts once) */
    unsigned n_tag_routes; /* of which service-tag routes */
} ModelRouteTable;

/* Resolves a service tag to its IPv4 prefixes. Returns false when the tag is unknown. The
 * prefixes stay owned by the resolver and need only live for the call. */
typedef bool (*ModelRouteTagResolver)(void *ctx, const char *tag, const ModelPrefix **prefixes,
                                      size_t *n);

/* A new empty table. Never fails (GLib aborts on out-of-memory). Free with
 * model_route_table_free. */
ModelRouteTable *model_route_table_new(const char *name, bool disable_bgp_route_propagation);

/* Frees the table and its routes. NULL is fine. */
void model_route_table_free(ModelRouteTable *table);

/* Adds one route as written in `az network route-table route list` JSON: addressPrefix is
 * a CIDR (host bits rejected) or a service tag resolved through resolve_tag (may be NULL
 * when the table uses no tags); nextHopIpAddress is required for VirtualAppliance and
 * forbidden otherwise (NULL or ""). `line` is kept for traces.
 * On failure returns false, sets *error with a message naming the route, and leaves the
 * table unchanged. Cost: O(routes already in the table). */
bool model_route_table_add(ModelRouteTable *table, const char *name,
                           const char *address_prefix_text, const char *next_hop_type_text,
                           const char *next_hop_ip_text, int line,
                           ModelRouteTagResolver resolve_tag, void *ctx, GError **error);

/* Inputs of model_routes_build. Named (not anonymous) so callers can declare arrays. */
typedef struct {
    const char *peer_name;    /* the peered VNet, e.g. "vnet-hub" */
    const ModelPrefix *space; /* its address ranges */
    size_t n;
} ModelRoutePeering;

typedef struct {
    const char *gateway; /* the gateway that learned the prefix (BGP or local network gw) */
    ModelPrefix prefix;
} ModelRouteGatewayPrefix;

typedef struct {
    const char *service; /* e.g. "Microsoft.Storage" */
    ModelPrefix prefix;
} ModelRouteServiceEndpointPrefix;

typedef struct {
    const char *endpoint; /* private endpoint name */
    uint32_t ip;
    /* The PE's *own* subnet has privateEndpointNetworkPolicies RouteTableEnabled or Enabled
     * ("Network policies should be enabled in the subnet that hosts the private endpoint",
     * disable-private-endpoint-network-policy.md). Per endpoint, because one client subnet
     * reaches endpoints in several subnets with different settings. */
    bool route_table_policy;
} ModelRoutePrivateEndpoint;

typedef struct {
    const char *vnet_name;         /* origin of the VnetLocal routes in traces; NULL: "vnet" */
    const ModelPrefix *vnet_space; /* this VNet's address ranges (non-overlapping) */
    size_t n_vnet_space;
    const ModelRoutePeering *peerings; /* peered VNets (gateway-transit routes arrive as */
    size_t n_peerings;                 /* gateway_routes instead) */
    const ModelRouteGatewayPrefix *gateway_routes; /* learned by this VNet's gateway(s) */
    size_t n_gateway_routes;
    const ModelRouteServiceEndpointPrefix *service_endpoint_routes; /* only for a subnet with */
    size_t n_service_endpoint_routes;                               /* the endpoint enabled */
    const ModelRoutePrivateEndpoint *private_endpoints; /* PEs in this and peered VNets */
    size_t n_private_endpoints;
    const ModelRouteTable *table; /* the subnet's route table; NULL: none */
} ModelRouteInput;

typedef struct ModelEffectiveRoutes ModelEffectiveRoutes;

/* Computes the subnet's effective routes: system routes, optional default routes, UDRs,
 * and each route's Active/Invalid state as Azure's effective-routes view shows it. The
 * result copies everything it needs (the input and table may be freed afterwards).
 * Every prefix in the input must have its host bits clear (as model_prefix_parse gives
 * them); a caller bug otherwise, caught by an assertion. Never fails (GLib aborts on
 * out-of-memory). Cost: O(n log n + 32 n) for n routes. */
ModelEffectiveRoutes *model_routes_build(const ModelRouteInput *in);

/* The route Azure uses for traffic from the subnet to dst (which may have next hop None:
 * the caller drops). NULL only when no route matches, which cannot happen while
 * 0.0.0.0/0 is present. The route lives as long as `routes`. Cost: O(32), no allocation. */
const ModelRoute *model_routes_lookup(const ModelEffectiveRoutes *routes, uint32_t dst);

/* Calls fn for every route, Active or Invalid, in the order Azure lists them (system
 * routes, then gateway, service endpoint, private endpoint and user routes). Removed
 * routes (a reserved prefix replaced by the VNet's range) are not listed. Cost: O(n). */
void model_routes_foreach(const ModelEffectiveRoutes *routes,
                          void (*fn)(const ModelRoute *route, bool active, void *ctx), void *ctx);

/* Number of routes model_routes_foreach would list. */
size_t model_routes_count(const ModelEffectiveRoutes *routes);

/* Frees everything; NULL is fine. Routes returned by lookup become invalid. */
void model_routes_free(ModelEffectiveRoutes *routes);

/* Appends a one-line description, e.g.
 * "rt-training/to-fw 0.0.0.0/0 -> VirtualAppliance 10.1.0.4 (User)",
 * "rt/to-storage 20.38.0.0/16 (Storage) -> Internet (User)",
 * "peering:vnet-hub 10.1.0.0/16 -> VNetPeering (Default)". */
void model_route_describe(const ModelRoute *route, GString *out);

#endif
