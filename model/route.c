/*
 * route.c — effective routes and route selection (see route.h for the sources).
 *
 * Design: model_routes_build() lists every route Azure would show, decides each route's
 * Active/Invalid state once, and puts the Active ones in a binary trie (one node per prefix
 * bit, at most one Active route per prefix). Lookup is then a plain longest-prefix walk,
 * O(32) per packet: every Azure exception to "longest prefix wins" is folded into the
 * states at build time, where it costs nothing per packet. The trie is private to this
 * file; it can move onto model/lpm.h once that exists.
 */
#include "model/route.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------
 * Names
 */

#define MODEL_X_HOP_INFO(id, name, udr) {name, udr},
static const struct {
    const char *name;
    bool udr;
} next_hop_info[] = {MODEL_NEXT_HOP_TYPES(MODEL_X_HOP_INFO)};
#undef MODEL_X_HOP_INFO

#define MODEL_X_SOURCE_NAME(id, name) name,
static const char *const source_names[] = {MODEL_ROUTE_SOURCES(MODEL_X_SOURCE_NAME)};
#undef MODEL_X_SOURCE_NAME

const char *model_next_hop_type_name(ModelNextHopType type)
{
    return (unsigned)type < MODEL_NEXT_HOP_COUNT ? next_hop_info[type].name : "?";
}

const char *model_route_source_name(ModelRouteSource source)
{
    return (unsigned)source < MODEL_ROUTE_SOURCE_COUNT ? source_names[source] : "?";
}

G_DEFINE_QUARK(model - route - error - quark, model_route_error)

/* UDRs may use exactly VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance and
 * None: "You can't specify Virtual network peering or VirtualNetworkServiceEndpoint as the
 * next hop type in user-defined routes" (azdocs:articles/virtual-network/
 * virtual-networks-udr-overview.md, "User-defined"). */
bool model_next_hop_type_parse_udr(const char *text, ModelNextHopType *out, GError **error)
{
    for (unsigned i = 0; text && i < MODEL_NEXT_HOP_COUNT; i++) {
        if (g_ascii_strcasecmp(text, next_hop_info[i].name) != 0)
            continue;
        if (!next_hop_info[i].udr) {
            g_set_error(error, MODEL_ROUTE_ERROR, MODEL_ROUTE_ERROR_NEXT_HOP_TYPE,
                        "nextHopType %s is created by Azure only and cannot be used in a "
                        "user-defined route (use VirtualNetworkGateway, VnetLocal, Internet, "
                        "VirtualAppliance or None)",
                        next_hop_info[i].name);
            return false;
        }
        *out = (ModelNextHopType)i;
        return true;
    }
    g_set_error(error, MODEL_ROUTE_ERROR, MODEL_ROUTE_ERROR_NEXT_HOP_TYPE,
                "unknown nextHopType '%s' (expected VirtualNetworkGateway, VnetLocal, Internet, "
                "VirtualAppliance or None)",
                text ? text : "(null)");
    return false;
}

/* ---------------------------------------------------------------------------------------
 * Route tables
 */

static void route_free(gpointer p)
{
    ModelRoute *route = p;
    if (!route)
        return;
    g_free(route->name);
    g_free(route->origin);
    g_free(route->address_prefix_text);
    g_free(route);
}

ModelRouteTable *model_route_table_new(const char *name, bool disable_bgp_route_propagation)
{
    ModelRouteTable *table = g_new0(ModelRouteTable, 1);
    table->name = g_strdup(name ? name : "");
    table->routes = g_ptr_array_new_with_free_func(route_free);
    table->disable_bgp_route_propagation = disable_bgp_route_propagation;
    return table;
}

void model_route_table_free(ModelRouteTable *table)
{
    if (!table)
        return;
    g_ptr_array_free(table->routes, TRUE);
    g_free(table->name);
    g_free(table);
}

/* An addressPrefix is a CIDR when it starts with a digit; anything else is a service tag
 * name (tags start with a letter: "Storage", "AzureCloud.eastus"). */
static bool prefix_text_is_cidr(const char *text)
{
    return text[0] >= '0' && text[0] <= '9';
}

/* Tags that name no published prefix list: VirtualNetwork and AzureLoadBalancer are
 * computed per VNet / host, Internet is "everything else". ⚠ The UDR page does not list
 * them; they are rejected here because they cannot be resolved to prefixes (the service
 * tags download file has no entry for them) — a project decision, pinned by a test. */
static bool tag_forbidden_in_udr(const char *tag)
{
    static const char *const forbidden[] = {"VirtualNetwork", "AzureLoadBalancer", "Internet"};
    for (size_t i = 0; i < G_N_ELEMENTS(forbidden); i++)
        if (g_ascii_strcasecmp(tag, forbidden[i]) == 0)
            return true;
    return false;
}

static bool set_add_error(GError **error, const ModelRouteTable *table, const char *name,
                          ModelRouteErrorCode code, const char *what)
{
    g_set_error(error, MODEL_ROUTE_ERROR, code, "route table '%s', route '%s': %s", table->name,
                name, what);
    return false;
}

static ModelRoute *route_new(const char *name, ModelPrefix prefix, ModelNextHopType type,
                             uint32_t next_hop_ip, ModelRouteSource source, const char *origin,
                             const char *text, int line)
{
    ModelRoute *route = g_new0(ModelRoute, 1);
    route->name = g_strdup(name);
    route->prefix = prefix;
    route->type = type;
    route->next_hop_ip = next_hop_ip;
    route->source = source;
    route->origin = g_strdup(origin);
    route->address_prefix_text = g_strdup(text);
    route->line = line;
    return route;
}

bool model_route_table_add(ModelRouteTable *table, const char *name,
                           const char *address_prefix_text, const char *next_hop_type_text,
                           const char *next_hop_ip_text, int line,
                           ModelRouteTagResolver resolve_tag, void *ctx, GError **error)
{
    g_return_val_if_fail(table != NULL, false);
    if (!name || !*name)
        return set_add_error(error, table, "", MODEL_ROUTE_ERROR_PREFIX, "a route needs a name");
    if (!address_prefix_text || !*address_prefix_text)
        return set_add_error(error, table, name, MODEL_ROUTE_ERROR_PREFIX,
                             "addressPrefix is missing");
    if (table->n_defined >= MODEL_ROUTE_TABLE_MAX_ROUTES)
        return set_add_error(error, table, name, MODEL_ROUTE_ERROR_LIMIT,
                             "a route table holds at most 400 routes");

    bool is_cidr = prefix_text_is_cidr(address_prefix_text);
    for (guint i = 0; i < table->routes->len; i++) {
        const ModelRoute *other = g_ptr_array_index(table->routes, i);
        if (g_ascii_strcasecmp(other->name, name) == 0)
            return set_add_error(error, table, name, MODEL_ROUTE_ERROR_DUPLICATE,
                                 "a route with this name already exists in the table");
        /* Two routes with the same written addressPrefix conflict. A tag route and a CIDR
         * route may share a prefix: the page defines who wins ("Exact Match" below). */
        if (g_ascii_strcasecmp(other->address_prefix_text, address_prefix_text) == 0)
            return set_add_error(error, table, name, MODEL_ROUTE_ERROR_DUPLICATE,
                                 "another route in the table has the same addressPrefix");
    }

    ModelNextHopType type;
    GError *local = NULL;
    if (!model_next_hop_type_parse_udr(next_hop_type_text, &type, &local)) {
        set_add_error(error, table, name, MODEL_ROUTE_ERROR_NEXT_HOP_TYPE, local->message);
        g_error_free(local);
        return false;
    }

    /* "When you create a route with the virtual appliance hop type, you also specify a next
     * hop IP address" (virtual-networks-udr-overview.md); ARM refuses the address for the
     * other types. */
    uint32_t hop_ip = 0;
    bool has_ip = next_hop_ip_text && *next_hop_ip_text;
    if (type == MODEL_NEXT_HOP_VIRTUAL_APPLIANCE && !has_ip)
        return set_add_error(error, table, name, MODEL_ROUTE_ERROR_NEXT_HOP_IP,
                             "nextHopType VirtualAppliance requires nextHopIpAddress");
    if (type != MODEL_NEXT_HOP_VIRTUAL_APPLIANCE && has_ip) {
        char *msg = g_strdup_printf("nextHopIpAddress is only allowed with nextHopType "
                                    "VirtualAppliance, not %s",
                                    model_next_hop_type_name(type));
        set_add_error(error, table, name, MODEL_ROUTE_ERROR_NEXT_HOP_IP, msg);
        g_free(msg);
        return false;
    }
    if (has_ip && !model_ip_parse(next_hop_ip_text, &hop_ip)) {
        char *msg =
            g_strdup_printf("nextHopIpAddress '%s' is not an IPv4 address", next_hop_ip_text);
        set_add_error(error, table, name, MODEL_ROUTE_ERROR_NEXT_HOP_IP, msg);
        g_free(msg);
        return false;
    }

    if (is_cidr) {
        /* ⚠ Whether ARM normalises "10.0.0.5/24" in a route is not documented; rejecting it
         * (as for subnets) surfaces the typo instead of guessing. */
        ModelPrefix prefix;
        ModelPrefixStatus status = model_prefix_parse(address_prefix_text, false, &prefix);
        if (status != MODEL_PREFIX_OK) {
            char *msg = g_strdup_printf("addressPrefix '%s': %s", address_prefix_text,
                                        model_prefix_status_text(status));
            set_add_error(error, table, name, MODEL_ROUTE_ERROR_PREFIX, msg);
            g_free(msg);
            return false;
        }
        g_ptr_array_add(table->routes,
                        route_new(name, prefix, type, hop_ip, MODEL_ROUTE_SOURCE_USER, table->name,
                                  address_prefix_text, line));
        table->n_defined++;
        return true;
    }

    /* "You can now specify a service tag as the address prefix for a user-defined route
     * instead of an explicit IP range" (virtual-networks-udr-overview.md, "Service Tags for
     * user-defined routes"); one effective route per prefix of the tag. */
    if (tag_forbidden_in_udr(address_prefix_text)) {
        char *msg = g_strdup_printf("service tag '%s' cannot be used as a route's "
                                    "addressPrefix (it has no fixed prefix list)",
                                    address_prefix_text);
        set_add_error(error, table, name, MODEL_ROUTE_ERROR_TAG_NOT_ALLOWED, msg);
        g_free(msg);
        return false;
    }
    if (table->n_tag_routes >= MODEL_ROUTE_TABLE_MAX_TAG_ROUTES)
        return set_add_error(error, table, name, MODEL_ROUTE_ERROR_LIMIT,
                             "a route table holds at most 25 routes with service tags");
    const ModelPrefix *prefixes = NULL;
    size_t n = 0;
    if (!resolve_tag || !resolve_tag(ctx, address_prefix_text, &prefixes, &n)) {
        char *msg = g_strdup_printf("addressPrefix '%s' is neither a CIDR prefix nor a known "
                                    "service tag",
                                    address_prefix_text);
        set_add_error(error, table, name, MODEL_ROUTE_ERROR_PREFIX, msg);
        g_free(msg);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        g_ptr_array_add(table->routes,
                        route_new(name, prefixes[i], type, hop_ip, MODEL_ROUTE_SOURCE_USER,
                                  table->name, address_prefix_text, line));
    table->n_defined++;
    table->n_tag_routes++;
    return true;
}

/* ---------------------------------------------------------------------------------------
 * The trie: nodes in one array, child index 0 means "none" (the root is never a child).
 */

typedef struct {
    uint32_t child[2];
    int32_t entry; /* index into the entries, or -1 */
} TrieNode;

static GArray *trie_new(void)
{
    GArray *nodes = g_array_new(FALSE, FALSE, sizeof(TrieNode));
    TrieNode root = {{0, 0}, -1};
    g_array_append_val(nodes, root);
    return nodes;
}

static inline unsigned prefix_bit(uint32_t addr, unsigned depth)
{
    return (addr >> (31 - depth)) & 1u;
}

/* Marks p with entry unless p already holds one (the first insert wins). O(p.len). */
static void trie_insert(GArray *nodes, ModelPrefix p, int32_t entry)
{
    uint32_t at = 0;
    for (unsigned depth = 0; depth < p.len; depth++) {
        unsigned bit = prefix_bit(p.addr, depth);
        uint32_t next = g_array_index(nodes, TrieNode, at).child[bit];
        if (next == 0) {
            TrieNode node = {{0, 0}, -1};
            g_array_append_val(nodes, node);
            next = nodes->len - 1;
            g_array_index(nodes, TrieNode, at).child[bit] = next;
        }
        at = next;
    }
    TrieNode *node = &g_array_index(nodes, TrieNode, at);
    if (node->entry < 0)
        node->entry = entry;
}

/* True when some marked prefix of length in [min_len, max_len] contains addr. O(max_len). */
static bool trie_any_on_path(const GArray *nodes, uint32_t addr, unsigned min_len, unsigned max_len)
{
    const TrieNode *n = (const TrieNode *)(const void *)nodes->data;
    uint32_t at = 0;
    for (unsigned depth = 0;; depth++) {
        if (depth >= min_len && n[at].entry >= 0)
            return true;
        if (depth >= max_len)
            return false;
        at = n[at].child[prefix_bit(addr, depth)];
        if (at == 0)
            return false;
    }
}

/* ---------------------------------------------------------------------------------------
 * Effective routes
 */

/* Precedence between routes with the *same* prefix, highest first. "If multiple routes
 * contain the same address prefix, Azure selects the route type, based on the following
 * priority: 1. User-defined route 2. BGP route 3. System route"
 * (virtual-networks-udr-overview.md, "How Azure selects a route"), refined by:
 *  - "The system gives preference to the route with the explicit prefix when there's an
 *    exact prefix match between a route with an explicit IP prefix and a route with a
 *    Service Tag. When multiple routes with Service Tags have matching IP prefixes, routes
 *    are evaluated in the following order: 1. Regional tags 2. Top level tags 3. AzureCloud
 *    regional tags 4. The AzureCloud tag" (same page, "Exact Match");
 *  - "System routes for traffic related to virtual network, virtual network peerings, or
 *    virtual network service endpoints, are preferred routes, even if BGP routes are more
 *    specific" (same page, note). Read as covering the equal-prefix case too: if they beat
 *    a *longer* BGP route they beat an equal one (pinned by a test);
 *  - reserved-prefix None routes lose to any other system route with the same prefix (a
 *    peered range equal to 10.0.0.0/8), by analogy with the VNet's own range, which
 *    "changes the next hop type for the route from None to Virtual network". */
enum {
    RANK_RESERVED_NONE = 1,
    RANK_SYSTEM = 2,           /* 0.0.0.0/0 Internet, InterfaceEndpoint */
    RANK_BGP = 3,              /* source VirtualNetworkGateway */
    RANK_SYSTEM_PROTECTED = 4, /* VnetLocal, VNetPeering, VirtualNetworkServiceEndpoint */
    RANK_USER_AZURECLOUD = 5,
    RANK_USER_AZURECLOUD_REGIONAL = 6,
    RANK_USER_TAG = 7,
    RANK_USER_TAG_REGIONAL = 8,
    RANK_USER_PREFIX = 9,
};

typedef struct {
    ModelRoute route; /* strings owned */
    uint8_t rank;
    bool active;
    bool pe_policy;      /* InterfaceEndpoint: route-table network policy on the PE's subnet */
    uint8_t pe_vnet_len; /* InterfaceEndpoint: length of the host VNet range holding the PE */
} Entry;

struct ModelEffectiveRoutes {
    GArray *entries; /* Entry, in listing order */
    GArray *nodes;   /* TrieNode over the Active entries */
};

static uint8_t user_rank(const char *text)
{
    if (prefix_text_is_cidr(text))
        return RANK_USER_PREFIX;
    if (g_ascii_strcasecmp(text, "AzureCloud") == 0)
        return RANK_USER_AZURECLOUD;
    if (g_ascii_strncasecmp(text, "AzureCloud.", 11) == 0)
        return RANK_USER_AZURECLOUD_REGIONAL;
    return strchr(text, '.') ? RANK_USER_TAG_REGIONAL : RANK_USER_TAG;
}

static Entry *push(ModelEffectiveRoutes *r, const ModelRoute *src, uint8_t rank)
{
    /* Invariant: prefixes come from model_prefix_parse or Azure, host bits clear. */
    g_assert(src->prefix.len <= 32 &&
             (src->prefix.addr & ~model_prefix_mask(src->prefix.len)) == 0);
    Entry e = {0};
    e.route = *src;
    e.route.name = g_strdup(src->name);
    e.route.origin = g_strdup(src->origin);
    e.route.address_prefix_text = g_strdup(src->address_prefix_text);
    e.rank = rank;
    e.active = true;
    g_array_append_val(r->entries, e);
    return &g_array_index(r->entries, Entry, r->entries->len - 1);
}

static Entry *push_system(ModelEffectiveRoutes *r, ModelPrefix prefix, ModelNextHopType type,
                          ModelRouteSource source, const char *origin, uint8_t rank)
{
    char text[MODEL_PREFIX_STRLEN];
    model_prefix_format(prefix, text);
    ModelRoute route = {
        .name = NULL,
        .prefix = prefix,
        .type = type,
        .next_hop_ip = 0,
        .source = source,
        .origin = (char *)origin,
        .address_prefix_text = text,
        .line = 0,
    };
    return push(r, &route, rank);
}

/* True when one of the VNet's ranges, or a peered VNet's, covers (includes or equals) p. */
static bool vnet_ranges_cover(const ModelRouteInput *in, ModelPrefix p)
{
    for (size_t i = 0; i < in->n_vnet_space; i++)
        if (model_prefix_covers(in->vnet_space[i], p))
            return true;
    for (size_t i = 0; i < in->n_peerings; i++)
        for (size_t j = 0; j < in->peerings[i].n; j++)
            if (model_prefix_covers(in->peerings[i].space[j], p))
                return true;
    return false;
}

static bool table_has_user_default_route(const ModelRouteTable *table)
{
    for (guint i = 0; table && i < table->routes->len; i++) {
        const ModelRoute *route = g_ptr_array_index(table->routes, i);
        if (route->prefix.len == 0)
            return true;
    }
    return false;
}

/* Length of the address range (this VNet's or a peer's) that holds a private endpoint. */
static uint8_t pe_host_range_len(const ModelRouteInput *in, uint32_t ip)
{
    for (size_t i = 0; i < in->n_vnet_space; i++)
        if (model_prefix_contains(in->vnet_space[i], ip))
            return in->vnet_space[i].len;
    for (size_t i = 0; i < in->n_peerings; i++)
        for (size_t j = 0; j < in->peerings[i].n; j++)
            if (model_prefix_contains(in->peerings[i].space[j], ip))
                return in->peerings[i].space[j].len;
    /* Host VNet unknown to this subnet: only the exact /32 (plain precedence) overrides. */
    return 32;
}

static void add_system_routes(ModelEffectiveRoutes *r, const ModelRouteInput *in)
{
    /* "Azure creates a route with an address prefix that corresponds to each address range
     * defined within the address space of a virtual network" (udr-overview, "Default"). */
    const char *vnet = in->vnet_name ? in->vnet_name : "vnet";
    for (size_t i = 0; i < in->n_vnet_space; i++)
        push_system(r, in->vnet_space[i], MODEL_NEXT_HOP_VNET_LOCAL, MODEL_ROUTE_SOURCE_DEFAULT,
                    vnet, RANK_SYSTEM_PROTECTED);

    /* "the system adds a route for each address range within the address space of each
     * virtual network involved in the peering" (udr-overview, "Optional default routes"). */
    for (size_t i = 0; i < in->n_peerings; i++) {
        char *origin = g_strconcat("peering:", in->peerings[i].peer_name, NULL);
        for (size_t j = 0; j < in->peerings[i].n; j++)
            push_system(r, in->peerings[i].space[j], MODEL_NEXT_HOP_VNET_PEERING,
                        MODEL_ROUTE_SOURCE_DEFAULT, origin, RANK_SYSTEM_PROTECTED);
        g_free(origin);
    }

    /* "When you disable route propagation, the system doesn't add routes to the route table
     * of all subnets with Virtual network gateway route propagation disabled. This process
     * applies to both static routes and BGP routes" (udr-overview, "Border gateway
     * protocol"): local-network-gateway prefixes go too. */
    if (!(in->table && in->table->disable_bgp_route_propagation))
        for (size_t i = 0; i < in->n_gateway_routes; i++)
            push_system(r, in->gateway_routes[i].prefix, MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY,
                        MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY, in->gateway_routes[i].gateway,
                        RANK_BGP);

    ModelPrefix any = {0, 0};
    push_system(r, any, MODEL_NEXT_HOP_INTERNET, MODEL_ROUTE_SOURCE_DEFAULT, "system", RANK_SYSTEM);

    /* Reserved prefixes -> None. "If you assign any of the previous address ranges within
     * the address space of a virtual network, Azure automatically changes the next hop type
     * for the route from None to Virtual network. If you assign an address range to the
     * address space of a virtual network that includes, but isn't the same as, one of the
     * four reserved address prefixes, Azure removes the route for the prefix and adds a
     * route for the address prefix you added" (udr-overview, "Default").
     *  - equal: the VNet's own VnetLocal route (added above) is that route; the None route
     *    is not listed;
     *  - the VNet range *includes* the reserved prefix (10.0.0.0/7 ⊇ 10.0.0.0/8): removed;
     *  - the VNet range lies *inside* it (10.0.0.0/16 ⊂ 10.0.0.0/8): the page says nothing,
     *    and its own example lists "Default Active 10.0.0.0/16 Virtual network" next to
     *    "Default Active 10.0.0.0/8 None" for Subnet2 — so the None route stays, and traffic
     *    to the rest of 10.0.0.0/8 is dropped. (Not "removed": azure-facts.md §2 reads the
     *    sentence the other way.)
     * Extrapolation ⚠: peered ranges are treated like the VNet's own ranges, so a peering
     * of 10.0.0.0/8 is not shadowed by a None route.
     * Forced tunnelling: "Azure removed the routes for the 10.0.0.0/8, 192.168.0.0/16, and
     * 100.64.0.0/10 address prefixes from the Subnet1 route table when the user-defined
     * route for the 0.0.0.0/0 address prefix was added to Subnet1" (udr-overview, routing
     * example; confirmed as intended by Microsoft in MicrosoftDocs/azure-docs#51082). The
     * example predates 172.16.0.0/12 in the list; all four are removed here. ⚠ The page
     * says nothing about a 0.0.0.0/0 learned by BGP: the None routes stay then. */
    static const struct {
        uint32_t addr;
        uint8_t len;
        const char *origin;
    } reserved[] = {
        {MODEL_IP4(10, 0, 0, 0), 8, "reserved:RFC1918"},
        {MODEL_IP4(172, 16, 0, 0), 12, "reserved:RFC1918"},
        {MODEL_IP4(192, 168, 0, 0), 16, "reserved:RFC1918"},
        {MODEL_IP4(100, 64, 0, 0), 10, "reserved:RFC6598"},
    };
    if (!table_has_user_default_route(in->table))
        for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++) {
            ModelPrefix p = {reserved[i].addr, reserved[i].len};
            if (!vnet_ranges_cover(in, p))
                push_system(r, p, MODEL_NEXT_HOP_NONE, MODEL_ROUTE_SOURCE_DEFAULT,
                            reserved[i].origin, RANK_RESERVED_NONE);
        }

    /* "the route is only added to the route table of a subnet a service endpoint is enabled
     * for" (udr-overview): the caller passes them only for such a subnet. */
    for (size_t i = 0; i < in->n_service_endpoint_routes; i++) {
        char *origin =
            g_strconcat("service-endpoint:", in->service_endpoint_routes[i].service, NULL);
        push_system(r, in->service_endpoint_routes[i].prefix, MODEL_NEXT_HOP_SERVICE_ENDPOINT,
                    MODEL_ROUTE_SOURCE_DEFAULT, origin, RANK_SYSTEM_PROTECTED);
        g_free(origin);
    }

    /* "the /32 default route propagated by the private endpoint"
     * (disable-private-endpoint-network-policy.md), next hop InterfaceEndpoint. */
    for (size_t i = 0; i < in->n_private_endpoints; i++) {
        const ModelRoutePrivateEndpoint *pe = &in->private_endpoints[i];
        char *origin = g_strconcat("private-endpoint:", pe->endpoint, NULL);
        ModelPrefix p = {pe->ip, 32};
        Entry *e = push_system(r, p, MODEL_NEXT_HOP_INTERFACE_ENDPOINT, MODEL_ROUTE_SOURCE_DEFAULT,
                               origin, RANK_SYSTEM);
        e->pe_policy = pe->route_table_policy;
        e->pe_vnet_len = pe_host_range_len(in, pe->ip);
        g_free(origin);
    }
}

typedef struct {
    uint32_t addr;
    uint8_t len;
    uint8_t rank;
    uint32_t index;
} SortKey;

static int sort_key_cmp(const void *pa, const void *pb)
{
    const SortKey *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1; /* higher rank first */
    return a->index < b->index ? -1 : (a->index > b->index);
}

static bool is_protected(const Entry *e)
{
    return e->rank == RANK_SYSTEM_PROTECTED;
}

/* Decides Active/Invalid. Three steps, in this order:
 * 1. BGP routes inside an Active VNet / peering / service-endpoint system route are Invalid
 *    (the note in "How Azure selects a route", quoted above RANK_*). A system route that a
 *    UDR with its prefix overrides no longer protects anything. ⚠ The page does not say
 *    what state Azure *shows* for such a BGP route; Invalid, because it can never carry
 *    traffic.
 * 2. A private endpoint's /32 is Invalid when its subnet enables route-table network
 *    policies and a UDR covering the PE has "a prefix length equal to or larger than the
 *    virtual network address space prefix length where the private endpoint is
 *    provisioned. For example, a user-defined routes default route (0.0.0.0/0) doesn't
 *    invalidate private endpoint routes. Network policies should be enabled in the subnet
 *    that hosts the private endpoint" (disable-private-endpoint-network-policy.md,
 *    2023-07). The 2024-12 revision words it "a prefix size that is equal to or smaller
 *    than the virtual network address space" — size as in address count, the same rule;
 *    "prefix length ≥ the host range's length" is the reading both versions and the 0/0
 *    example agree on (pinned by tests at /8, /16 and /24 for a /16 VNet).
 *    A UDR for exactly the /32 overrides without the policy, through plain equal-prefix
 *    precedence: "Deploy individual routes with /32 prefix to override private endpoint
 *    routes" (private-endpoint-overview.md, Limitations, 2020–2021) and "One route per
 *    private endpoint is configured to route traffic through Azure Firewall"
 *    (inspect-traffic-with-azure-firewall.md, scenario 2).
 * 3. Among the routes still eligible, each prefix keeps one Active route: the highest rank,
 *    then the first listed. */
static void resolve_states(ModelEffectiveRoutes *r)
{
    GArray *entries = r->entries;
    guint n = entries->len;

    GArray *users = trie_new();
    for (guint i = 0; i < n; i++) {
        const Entry *e = &g_array_index(entries, Entry, i);
        if (e->route.source == MODEL_ROUTE_SOURCE_USER)
            trie_insert(users, e->route.prefix, (int32_t)i);
    }

    GArray *protected_ = trie_new();
    for (guint i = 0; i < n; i++) {
        const Entry *e = &g_array_index(entries, Entry, i);
        if (is_protected(e) && !trie_any_on_path(users, e->route.prefix.addr, e->route.prefix.len,
                                                 e->route.prefix.len))
            trie_insert(protected_, e->route.prefix, (int32_t)i);
    }

    for (guint i = 0; i < n; i++) {
        Entry *e = &g_array_index(entries, Entry, i);
        if (e->route.source == MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY &&
            trie_any_on_path(protected_, e->route.prefix.addr, 0, e->route.prefix.len))
            e->active = false;
        if (e->route.type == MODEL_NEXT_HOP_INTERFACE_ENDPOINT && e->pe_policy &&
            trie_any_on_path(users, e->route.prefix.addr, e->pe_vnet_len, 32))
            e->active = false;
    }
    g_array_free(users, TRUE);
    g_array_free(protected_, TRUE);

    SortKey *keys = g_new(SortKey, n ? n : 1);
    guint nk = 0;
    for (guint i = 0; i < n; i++) {
        const Entry *e = &g_array_index(entries, Entry, i);
        if (e->active)
            keys[nk++] = (SortKey){e->route.prefix.addr, e->route.prefix.len, e->rank, i};
    }
    qsort(keys, nk, sizeof *keys, sort_key_cmp);
    for (guint k = 1; k < nk; k++)
        if (keys[k].addr == keys[k - 1].addr && keys[k].len == keys[k - 1].len)
            g_array_index(entries, Entry, keys[k].index).active = false;
    g_free(keys);
}

ModelEffectiveRoutes *model_routes_build(const ModelRouteInput *in)
{
    g_return_val_if_fail(in != NULL, NULL);
    ModelEffectiveRoutes *r = g_new0(ModelEffectiveRoutes, 1);
    r->entries = g_array_new(FALSE, TRUE, sizeof(Entry));

    add_system_routes(r, in);
    for (guint i = 0; in->table && i < in->table->routes->len; i++) {
        const ModelRoute *udr = g_ptr_array_index(in->table->routes, i);
        push(r, udr, user_rank(udr->address_prefix_text));
    }
    resolve_states(r);

    r->nodes = trie_new();
    for (guint i = 0; i < r->entries->len; i++) {
        const Entry *e = &g_array_index(r->entries, Entry, i);
        if (e->active)
            trie_insert(r->nodes, e->route.prefix, (int32_t)i);
    }
    return r;
}

const ModelRoute *model_routes_lookup(const ModelEffectiveRoutes *r, uint32_t dst)
{
    g_return_val_if_fail(r != NULL, NULL);
    const TrieNode *n = (const TrieNode *)(const void *)r->nodes->data;
    int32_t best = n[0].entry;
    uint32_t at = 0;
    for (unsigned depth = 0; depth < 32; depth++) {
        at = n[at].child[prefix_bit(dst, depth)];
        if (at == 0)
            break;
        if (n[at].entry >= 0)
            best = n[at].entry;
    }
    return best >= 0 ? &g_array_index(r->entries, Entry, best).route : NULL;
}

void model_routes_foreach(const ModelEffectiveRoutes *r,
                          void (*fn)(const ModelRoute *route, bool active, void *ctx), void *ctx)
{
    g_return_if_fail(r != NULL && fn != NULL);
    for (guint i = 0; i < r->entries->len; i++) {
        const Entry *e = &g_array_index(r->entries, Entry, i);
        fn(&e->route, e->active, ctx);
    }
}

size_t model_routes_count(const ModelEffectiveRoutes *r)
{
    return r ? r->entries->len : 0;
}

void model_routes_free(ModelEffectiveRoutes *r)
{
    if (!r)
        return;
    for (guint i = 0; i < r->entries->len; i++) {
        Entry *e = &g_array_index(r->entries, Entry, i);
        g_free(e->route.name);
        g_free(e->route.origin);
        g_free(e->route.address_prefix_text);
    }
    g_array_free(r->entries, TRUE);
    if (r->nodes)
        g_array_free(r->nodes, TRUE);
    g_free(r);
}

void model_route_describe(const ModelRoute *route, GString *out)
{
    g_return_if_fail(route != NULL && out != NULL);
    g_string_append(out, route->origin ? route->origin : "?");
    if (route->name) {
        g_string_append_c(out, '/');
        g_string_append(out, route->name);
    }
    char buf[MODEL_PREFIX_STRLEN];
    model_prefix_format(route->prefix, buf);
    g_string_append_c(out, ' ');
    g_string_append(out, buf);
    if (route->address_prefix_text && !prefix_text_is_cidr(route->address_prefix_text))
        g_string_append_printf(out, " (%s)", route->address_prefix_text);
    g_string_append(out, " -> ");
    g_string_append(out, model_next_hop_type_name(route->type));
    if (route->type == MODEL_NEXT_HOP_VIRTUAL_APPLIANCE) {
        char ip[MODEL_IP_STRLEN];
        model_ip_format(route->next_hop_ip, ip);
        g_string_append_c(out, ' ');
        g_string_append(out, ip);
    }
    g_string_append_printf(out, " (%s)", model_route_source_name(route->source));
}
