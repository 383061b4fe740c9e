/*
 * topo_dot.c — the topology as a Graphviz graph, for the teaching report (tools/report.h).
 *
 * Only the picture's content is decided here; Graphviz lays it out. Every NIC is a node
 * because every NIC is a capture point (one pcap each, net.h): that is what a reader
 * clicks through to Wireshark from. Clusters follow where a NIC sits — an on-prem LAN,
 * the far end of a point-to-site tunnel, a subnet of a VNet, or outside every VNet (the
 * internet, and the public endpoints of Azure's services) — so the picture reads left to
 * right the way traffic enters Azure. Edges are only the links a route would not show: a
 * tunnel, a peering, a private endpoint's link to its service.
 *
 * Determinism: nodes and edges follow the net's arrays (creation order), never a hash
 * table's order, so the same scenario gives the same DOT text and the same layout.
 */
#include <string.h>

#include "model/net_internal.h"

typedef enum {
    ROLE_VM,
    ROLE_APPLIANCE,
    ROLE_FIREWALL,
    ROLE_GATEWAY,
    ROLE_DNS,
    ROLE_ENDPOINT,
    ROLE_SERVICE,
    ROLE_INTERNET,
    ROLE_CLIENT,
} Role;

static const struct {
    const char *name, *fill, *border;
} roles[] = {
    [ROLE_VM] = {"VM", "#e8f1fb", "#5b7fa6"},
    [ROLE_APPLIANCE] = {"appliance (IP forwarding)", "#fde2e1", "#b04a45"},
    [ROLE_FIREWALL] = {"Azure Firewall", "#fde2e1", "#b04a45"},
    [ROLE_GATEWAY] = {"gateway", "#fff1c9", "#a8892c"},
    [ROLE_DNS] = {"DNS server", "#e3f5e1", "#4d8a45"},
    [ROLE_ENDPOINT] = {"private endpoint", "#efe4fb", "#7a55a8"},
    [ROLE_SERVICE] = {"Azure service", "#f3f3f3", "#777777"},
    [ROLE_INTERNET] = {"internet host", "#ffffff", "#777777"},
    [ROLE_CLIENT] = {"client", "#e8f1fb", "#5b7fa6"},
};

static const ModelGateway *gateway_of(const ModelNet *net, const ModelHost *h)
{
    for (guint i = 0; net->entry && i < net->entry->gateways->len; i++)
        if (((ModelGateway *)net->entry->gateways->pdata[i])->host == h)
            return net->entry->gateways->pdata[i];
    return NULL;
}

static Role role_of(const ModelNet *net, const ModelNic *nic)
{
    const ModelHost *h = nic->host;
    if (nic->pe_target)
        return ROLE_ENDPOINT;
    if (h->azfw)
        return ROLE_FIREWALL;
    if (h->natgw || h->lb || gateway_of(net, h))
        return ROLE_GATEWAY;
    if (h->dns_server)
        return ROLE_DNS;
    if (nic->outside)
        return ROLE_CLIENT;
    switch (h->kind) {
    case MODEL_HOST_APPLIANCE:
        return ROLE_APPLIANCE;
    case MODEL_HOST_SERVICE:
        return nic->subnet ? ROLE_GATEWAY : ROLE_SERVICE; /* Bastion, a load balancer… */
    case MODEL_HOST_INTERNET:
        return ROLE_INTERNET;
    default:
        return ROLE_VM;
    }
}

/* What the node is, in words: the role, said more precisely where the model knows more. */
static const char *role_words(const ModelNet *net, const ModelNic *nic, Role r)
{
    const ModelHost *h = nic->host;
    const ModelGateway *gw = h ? gateway_of(net, h) : NULL;
    if (gw)
        return gw->kind == MODEL_GATEWAY_EXPRESSROUTE ? "ExpressRoute gateway" : "VPN gateway";
    if (r == ROLE_GATEWAY && h->natgw)
        return "NAT gateway";
    if (r == ROLE_GATEWAY && h->lb)
        return "load balancer";
    if (r == ROLE_GATEWAY)
        return "Azure service in the VNet"; /* Bastion */
    return roles[r].name;
}

/* The name a reader knows the node by: the host, or the endpoint for a private endpoint. */
static const char *nic_title(const ModelNic *nic)
{
    return nic->host ? nic->host->name : nic->capture_name;
}

/* s inside a DOT double-quoted string. Labels are plain text, not Graphviz's HTML-like
 * labels: those go through pango's markup parser, which leaks on every label. */
static void append_quoted(GString *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *s);
    }
}

static void append_nic(GString *out, const ModelNet *net, guint index, const ModelNic *nic,
                       const char *pcap_href_prefix)
{
    Role r = role_of(net, nic);
    char ip[MODEL_IP_STRLEN];
    model_ip_format(nic->ip, ip);
    g_string_append_printf(out, "    n%u [id=\"nic-", index);
    append_quoted(out, nic->capture_name);
    g_string_append_printf(out, "\" fillcolor=\"%s\" color=\"%s\" label=\"", roles[r].fill,
                           roles[r].border);
    append_quoted(out, nic_title(nic));
    g_string_append(out, "\\n");
    if (r == ROLE_ENDPOINT) {
        g_string_append(out, "private endpoint of ");
        append_quoted(out, nic->pe_target->name);
    } else {
        append_quoted(out, role_words(net, nic, r));
    }
    g_string_append_printf(out, "\\n%s", ip);
    if (nic->public_ip || (nic->host && nic->host->public_ip && nic->host->public_ip != nic->ip)) {
        char pub[MODEL_IP_STRLEN];
        model_ip_format(nic->public_ip ? nic->public_ip : nic->host->public_ip, pub);
        g_string_append_printf(out, " (public %s)", pub);
    }
    /* The capture point: every NIC writes one pcap. */
    g_string_append(out, "\\npcap: ");
    append_quoted(out, nic->capture_name);
    g_string_append(out, "\"");
    if (pcap_href_prefix) {
        g_string_append(out, " href=\"");
        append_quoted(out, pcap_href_prefix);
        append_quoted(out, nic->capture_name);
        g_string_append(out, ".pcap\" tooltip=\"open the capture ");
        append_quoted(out, nic->capture_name);
        g_string_append(out, ".pcap\"");
    }
    g_string_append(out, "];\n");
}

static guint index_in(GPtrArray *a, gconstpointer p)
{
    guint at = 0;
    g_ptr_array_find(a, p, &at);
    return at;
}

/* Nodes of `nics` whose place matches, as "n<i>"; returns how many. */
typedef bool (*NicFilter)(const ModelNic *nic, const void *where);

static unsigned append_nics(GString *out, const ModelNet *net, NicFilter keep, const void *where,
                            const char *pcap_href_prefix)
{
    unsigned n = 0;
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *nic = net->nics->pdata[i];
        if (keep(nic, where)) {
            append_nic(out, net, i, nic, pcap_href_prefix);
            n++;
        }
    }
    return n;
}

/* Many nodes without links between them (the managed services) would make one row as wide
 * as twenty boxes: invisible edges stack them GRID_RUN deep instead. */
#define GRID_RUN 5

static void append_grid(GString *out, const ModelNet *net, NicFilter keep, const void *where)
{
    guint placed = 0, prev = 0;
    for (guint i = 0; i < net->nics->len; i++) {
        if (!keep(net->nics->pdata[i], where))
            continue;
        if (placed++ % GRID_RUN != 0)
            g_string_append_printf(out, "    n%u -> n%u [style=invis];\n", prev, i);
        prev = i;
    }
}

static bool in_subnet(const ModelNic *nic, const void *subnet)
{
    return nic->subnet == subnet;
}

static bool on_site(const ModelNic *nic, const void *site)
{
    return nic->outside && nic->outside->site == site;
}

static bool p2s_of(const ModelNic *nic, const void *gw)
{
    return nic->outside && !nic->outside->site && nic->outside->p2s == gw;
}

static bool outside_vnets(const ModelNic *nic, const void *kind)
{
    if (nic->subnet || (nic->outside && (nic->outside->site || nic->outside->p2s)))
        return false;
    bool service = nic->host && nic->host->kind == MODEL_HOST_SERVICE;
    return service == (*(const ModelHostKind *)kind == MODEL_HOST_SERVICE);
}

static void append_prefixes(GString *out, const ModelPrefix *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char buf[MODEL_PREFIX_STRLEN];
        model_prefix_format(p[i], buf);
        g_string_append_printf(out, "%s%s", i ? ", " : " ", buf);
    }
}

static void append_subnet(GString *out, const ModelNet *net, guint index, const ModelSubnet *s,
                          const char *pcap_href_prefix)
{
    char prefix[MODEL_PREFIX_STRLEN];
    model_prefix_format(s->prefix, prefix);
    g_string_append_printf(out, "   subgraph cluster_subnet%u {\n    id=\"subnet-%u\";\n", index,
                           index);
    g_string_append(out, "    style=\"rounded,filled\"; fillcolor=\"#fbfcfe\"; color=\"#9fb3c8\";\n"
                         "    label=\"subnet ");
    append_quoted(out, s->name);
    g_string_append_printf(out, " %s", prefix);
    if (s->nsg || s->route_table) {
        g_string_append(out, "\\n");
        if (s->nsg) {
            g_string_append(out, "NSG ");
            append_quoted(out, model_nsg_name(s->nsg));
        }
        if (s->route_table) {
            g_string_append(out, s->nsg ? " · route table " : "route table ");
            append_quoted(out, s->route_table->name);
        }
    }
    g_string_append(out, "\";\n");
    if (append_nics(out, net, in_subnet, s, pcap_href_prefix) == 0)
        g_string_append_printf(out,
                               "    empty%u [shape=plaintext label=\"(no NIC)\" "
                               "fontsize=9];\n",
                               index);
    g_string_append(out, "   }\n");
}

char *model_net_topology_dot(const ModelNet *net, const char *pcap_href_prefix)
{
    GString *out = g_string_new(NULL);
    g_string_append(out, "digraph topology {\n"
                         "  rankdir=TB; compound=true; newrank=true; nodesep=0.25; ranksep=0.6;\n"
                         "  fontname=\"Helvetica\"; fontsize=11;\n"
                         "  node [shape=box style=\"rounded,filled\" fontname=\"Helvetica\" "
                         "fontsize=11 margin=\"0.12,0.05\"];\n"
                         "  edge [fontname=\"Helvetica\" fontsize=9 arrowhead=none];\n");
    const ModelEntry *entry = net->entry;
    /* On-prem sites and P2S clients: where traffic comes from, on the left. */
    for (guint i = 0; entry && i < entry->sites->len; i++) {
        const ModelOnprem *site = entry->sites->pdata[i];
        g_string_append_printf(out, "  subgraph cluster_site%u {\n   id=\"site-%u\";\n", i, i);
        g_string_append(out, "   style=\"rounded,filled\"; fillcolor=\"#f7f4ec\"; "
                             "color=\"#a8892c\";\n   label=\"on-prem ");
        append_quoted(out, site->name);
        append_prefixes(out, site->prefixes, site->n_prefixes);
        g_string_append(out, "\";\n");
        g_string_append_printf(out, "   site%u [shape=point style=invis];\n", i);
        append_nics(out, net, on_site, site, pcap_href_prefix);
        g_string_append(out, "  }\n");
    }
    for (guint i = 0; entry && i < entry->gateways->len; i++) {
        const ModelGateway *gw = entry->gateways->pdata[i];
        if (!gw->has_pool)
            continue;
        char pool[MODEL_PREFIX_STRLEN];
        model_prefix_format(gw->pool, pool);
        g_string_append_printf(out,
                               "  subgraph cluster_p2s%u {\n   id=\"p2s-%u\";\n"
                               "   style=\"rounded,filled\"; fillcolor=\"#f7f4ec\"; "
                               "color=\"#a8892c\";\n   label=\"point-to-site clients of ",
                               i, i);
        append_quoted(out, gw->name);
        g_string_append_printf(out, "\\npool %s\";\n", pool);
        append_nics(out, net, p2s_of, gw, pcap_href_prefix);
        g_string_append(out, "  }\n");
    }
    for (guint v = 0; v < net->vnets->len; v++) {
        const ModelVnet *vnet = net->vnets->pdata[v];
        g_string_append_printf(out, "  subgraph cluster_vnet%u {\n   id=\"vnet-%u\";\n", v, v);
        g_string_append(out, "   style=\"rounded,filled\"; fillcolor=\"#eef4fb\"; "
                             "color=\"#3f6e9e\"; penwidth=1.5;\n   label=\"VNet ");
        append_quoted(out, vnet->name);
        append_prefixes(out, vnet->space, vnet->n_space);
        g_string_append(out, "\";\n");
        g_string_append_printf(out, "   vnet%u [shape=point style=invis];\n", v);
        for (guint s = 0; s < vnet->subnets->len; s++) {
            const ModelSubnet *subnet = vnet->subnets->pdata[s];
            append_subnet(out, net, index_in(net->subnets, subnet), subnet, pcap_href_prefix);
        }
        g_string_append(out, "  }\n");
    }
    /* Outside every VNet: the public endpoints of Azure's services (the managed services
     * AML calls in from, Azure DNS) and the rest of the internet. */
    static const ModelHostKind service = MODEL_HOST_SERVICE, internet = MODEL_HOST_INTERNET;
    g_string_append(out, "  subgraph cluster_outside {\n   id=\"outside\";\n"
                         "   style=\"rounded,dashed\"; color=\"#999999\";\n"
                         "   label=\"outside the VNets\";\n"
                         "   subgraph cluster_services {\n    id=\"services\";\n"
                         "    style=\"rounded,filled\"; fillcolor=\"#f6f6f6\"; color=\"#bbbbbb\";\n"
                         "    label=\"Azure services (public endpoints)\";\n");
    append_nics(out, net, outside_vnets, &service, pcap_href_prefix);
    append_grid(out, net, outside_vnets, &service);
    g_string_append(out, "   }\n   subgraph cluster_internet {\n    id=\"internet\";\n"
                         "    style=\"rounded\"; color=\"#bbbbbb\"; label=\"internet\";\n");
    append_nics(out, net, outside_vnets, &internet, pcap_href_prefix);
    g_string_append(out, "   }\n  }\n");

    /* The links a route table would not show. */
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *nic = net->nics->pdata[i];
        if (nic->pe_target && nic->pe_target->nics->len)
            g_string_append_printf(out,
                                   "  n%u -> n%u [style=dashed color=\"#7a55a8\" "
                                   "label=\"private link\"];\n",
                                   i, index_in(net->nics, nic->pe_target->nics->pdata[0]));
        if (nic->outside && nic->outside->p2s && nic->outside->p2s->nic)
            g_string_append_printf(out,
                                   "  n%u -> n%u [color=\"#a8892c\" penwidth=1.5 "
                                   "label=\"P2S tunnel\"];\n",
                                   i, index_in(net->nics, nic->outside->p2s->nic));
    }
    for (guint i = 0; entry && i < entry->connections->len; i++) {
        const ModelConnection *c = entry->connections->pdata[i];
        if (!c->site || !c->gateway || !c->gateway->nic)
            continue;
        g_string_append_printf(
            out, "  site%u -> n%u [ltail=cluster_site%u color=\"%s\" penwidth=1.5 %slabel=\"",
            index_in(entry->sites, c->site), index_in(net->nics, c->gateway->nic),
            index_in(entry->sites, c->site), c->connected ? "#a8892c" : "#c0392b",
            c->connected ? "" : "style=dashed ");
        append_quoted(out, c->name);
        g_string_append_printf(out, "%s%s\"];\n",
                               c->gateway->kind == MODEL_GATEWAY_EXPRESSROUTE ? " (ExpressRoute)"
                                                                              : " (IPsec)",
                               c->connected ? "" : " not connected");
    }
    for (guint a = 0; a < net->vnets->len; a++) {
        const ModelVnet *va = net->vnets->pdata[a];
        for (guint p = 0; p < va->peers->len; p++) {
            guint b = index_in(net->vnets, va->peers->pdata[p]);
            if (b > a)
                g_string_append_printf(out,
                                       "  vnet%u -> vnet%u [ltail=cluster_vnet%u "
                                       "lhead=cluster_vnet%u color=\"#3f6e9e\" penwidth=2 "
                                       "label=\"peering\"];\n",
                                       a, b, a, b);
        }
    }
    g_string_append(out, "}\n");
    return g_string_free(out, FALSE);
}
