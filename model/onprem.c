/*
 * onprem.c — the networks outside Azure that reach it through a gateway: on-prem sites
 * and point-to-site clients, and their routing.
 *
 * A NIC outside Azure has no subnet, no NSG and no Azure routes: what its packets meet is
 * the customer's own routing, modelled as a site router would do it, longest prefix first:
 *  - the site's own ranges are on its LAN (on a tie with a tunnel route the connected LAN
 *    route wins, as on any router);
 *  - the Azure ranges learned over a connection (the VNet behind the gateway and the
 *    spokes that use it) go into that connection's tunnel; a P2S client routes the same
 *    ranges into its own tunnel (split tunnel);
 *  - anything else goes to the internet through the site's public egress (the corp NAT)
 *    or the client's home line, with the translation undone on the way back.
 * A private destination that lies in some VNet but is learned over no connection is
 * GATEWAY_NOT_CONNECTED: on-prem has no tunnel route to it (no connection, a connection
 * whose BGP session is down, a spoke not using the hub's gateway). A destination in the
 * site's own range that no LAN host holds but a VNet uses is ADDRESS_OVERLAP: the site's
 * routers keep the packet, it never reaches the tunnel.
 *
 * 168.63.129.16 is "reachable only from inside Azure"
 * (azdocs:articles/virtual-network/what-is-ip-address-168-63-129-16.md): from here it
 * goes to the internet, where forward.c drops it.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"

#define ONPREM_ERROR (g_quark_from_static_string("model-net"))

#define LATENCY_LAN SIM_US(200) /* a switched campus LAN, a hop or two */

/* ---- sites ---- */

ModelOnprem *model_net_find_onprem(const ModelNet *net, const char *name)
{
    if (!net->entry || !name)
        return NULL;
    for (guint i = 0; i < net->entry->sites->len; i++) {
        ModelOnprem *s = g_ptr_array_index(net->entry->sites, i);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

ModelOnprem *model_net_add_onprem(ModelNet *net, const char *name, const ModelPrefix *prefixes,
                                  size_t n, GError **error)
{
    if (!name || !*name) {
        g_set_error(error, ONPREM_ERROR, 0, "an on-prem network needs a name");
        return NULL;
    }
    if (model_net_find_onprem(net, name)) {
        g_set_error(error, ONPREM_ERROR, 0, "on-prem network '%s' is defined twice", name);
        return NULL;
    }
    if (n == 0) {
        g_set_error(error, ONPREM_ERROR, 0, "on-prem network '%s' needs address prefixes", name);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((prefixes[i].addr & ~model_prefix_mask(prefixes[i].len)) != 0 || prefixes[i].len > 32) {
            g_set_error(error, ONPREM_ERROR, 0,
                        "on-prem network '%s': address prefix %zu has host bits set", name, i + 1);
            return NULL;
        }
        for (size_t j = i + 1; j < n; j++)
            if (model_prefix_overlaps(prefixes[i], prefixes[j])) {
                g_set_error(error, ONPREM_ERROR, 0,
                            "on-prem network '%s': address prefixes overlap each other", name);
                return NULL;
            }
    }
    ModelEntry *e = model__entry(net);
    ModelOnprem *s = g_new0(ModelOnprem, 1);
    s->name = g_strdup(name);
    s->prefixes = g_memdup2(prefixes, n * sizeof *prefixes);
    s->n_prefixes = n;
    s->dns_servers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    s->nic_by_ip = g_hash_table_new(g_direct_hash, g_direct_equal);
    s->connections = g_ptr_array_new();
    g_ptr_array_add(e->sites, s);
    return s;
}

void model_onprem_set_dns_servers(ModelOnprem *site, const uint32_t *ips, size_t n)
{
    g_array_set_size(site->dns_servers, 0);
    g_array_append_vals(site->dns_servers, ips, (guint)n);
}

gboolean model_onprem_set_public_egress(ModelNet *net, ModelOnprem *site, uint32_t ip,
                                        GError **error)
{
    (void)net;
    if (model_ip_is_private(ip)) {
        char t[MODEL_IP_STRLEN];
        model_ip_format(ip, t);
        g_set_error(error, ONPREM_ERROR, 0, "on-prem network '%s': %s is not a public address",
                    site->name, t);
        return FALSE;
    }
    site->public_egress = ip;
    return TRUE;
}

static bool site_holds(const ModelOnprem *site, uint32_t ip, int *len)
{
    *len = -1;
    for (size_t i = 0; i < site->n_prefixes; i++)
        if (model_prefix_contains(site->prefixes[i], ip) && (int)site->prefixes[i].len > *len)
            *len = site->prefixes[i].len;
    return *len >= 0;
}

ModelNic *model_onprem_add_nic(ModelNet *net, ModelOnprem *site, ModelHost *host, const char *name,
                               uint32_t ip, GError **error)
{
    char ipt[MODEL_IP_STRLEN];
    model_ip_format(ip, ipt);
    int len;
    if (!site_holds(site, ip, &len)) {
        g_set_error(error, ONPREM_ERROR, 0, "'%s': %s is not inside on-prem network '%s'",
                    host->name, ipt, site->name);
        return NULL;
    }
    ModelNic *other = g_hash_table_lookup(site->nic_by_ip, GUINT_TO_POINTER(ip));
    if (other) {
        g_set_error(error, ONPREM_ERROR, 0, "'%s': %s is already used by '%s' on '%s'", host->name,
                    ipt, other->capture_name, site->name);
        return NULL;
    }
    ModelEntry *e = model__entry(net);
    ModelOutside *side = g_new0(ModelOutside, 1);
    side->site = site;
    g_ptr_array_add(e->outsides, side);
    ModelNic *nic = model__nic_new(net, host, name && *name ? name : "nic0", ip);
    nic->outside = side;
    g_hash_table_insert(site->nic_by_ip, GUINT_TO_POINTER(ip), nic);
    return nic;
}

uint32_t model__outside_egress_ip(const ModelOutside *side)
{
    return side->site ? side->site->public_egress : side->public_egress;
}

/* ---- the walk ---- */

static const char *node_of(const ModelNic *nic)
{
    return nic->host ? nic->host->name : nic->name;
}

/* Who routes for the NIC: its site, or the P2S client itself. */
static const char *router_of(const ModelNic *nic)
{
    return nic->outside->site ? nic->outside->site->name : node_of(nic);
}

static void drop_free(ModelNet *net, ModelPacket *pkt, const char *node, const char *object,
                      ModelCause cause, const char *detail, const char *hint)
{
    model__drop(net, pkt, node, MODEL_STAGE_ROUTE, object, cause, detail, hint);
    model__packet_free(pkt);
}

/* The VNet whose range holds ip, if any. */
static const ModelVnet *vnet_of(const ModelNet *net, uint32_t ip)
{
    for (guint i = 0; i < net->vnets->len; i++) {
        const ModelVnet *v = g_ptr_array_index(net->vnets, i);
        for (size_t k = 0; k < v->n_space; k++)
            if (model_prefix_contains(v->space[k], ip))
                return v;
    }
    return NULL;
}

/* A private destination in Azure that no tunnel route covers: why not, as precisely as
 * the configuration tells. */
static void no_tunnel(ModelNet *net, ModelNic *nic, ModelPacket *pkt, const ModelVnet *v)
{
    const ModelOutside *side = nic->outside;
    char d[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.dst, d);
    const char *object = router_of(nic);
    g_autoptr(GString) hint = g_string_new(NULL);
    if (side->p2s) {
        g_string_printf(hint,
                        "the point-to-site clients of %s route only its VNet and the spokes "
                        "using it as their remote gateway: peer %s with gateway transit and "
                        "download the VPN client profile again",
                        side->p2s->name, v->name);
    } else {
        for (guint i = 0; i < side->site->connections->len && !hint->len; i++) {
            const ModelConnection *c = g_ptr_array_index(side->site->connections, i);
            const ModelVnet *gv = c->gateway->vnet;
            bool peered = false;
            for (guint p = 0; p < gv->peers->len; p++)
                peered |= g_ptr_array_index(gv->peers, p) == v;
            /* Down, its routes are withdrawn from its own VNet and from the spokes that use
             * it through gateway transit alike. */
            if ((gv == v || model__transit_hub(net, v) == gv) && !c->connected) {
                object = c->name;
                g_string_printf(hint,
                                "connection %s is not connected: its BGP routes are withdrawn; "
                                "%s",
                                c->name,
                                c->gateway->kind == MODEL_GATEWAY_EXPRESSROUTE
                                    ? "bring the circuit's private peering up"
                                    : "bring the tunnel and its BGP session up");
            } else if (peered) {
                object = c->name;
                g_string_printf(hint,
                                "%s is peered with %s but on-prem learns it only when its "
                                "peering uses the remote gateway (useRemoteGateways) and %s's "
                                "side allows gateway transit (vpn-gateway-peering-gateway-"
                                "transit.md)",
                                v->name, gv->name, gv->name);
            }
        }
        if (!hint->len)
            g_string_printf(hint, "connect site %s to a gateway of %s (or of a hub it uses)",
                            side->site->name, v->name);
    }
    g_autofree char *detail = g_strdup_printf(
        "%s is in virtual network %s, but %s has no tunnel route to it: no connection "
        "carries it",
        d, v->name, router_of(nic));
    drop_free(net, pkt, node_of(nic), object, MODEL_CAUSE_GATEWAY_NOT_CONNECTED, detail, hint->str);
}

/* A P2S client's packet for a branch office its gateway reaches over a static (no BGP)
 * connection: the client has no route to it ("Windows clients can access only VNet1",
 * vpn-gateway-about-point-to-site-routing.md, One VNet and a branch office). */
static bool p2s_static_branch(ModelNic *nic, ModelPacket *pkt)
{
    const ModelGateway *gw = nic->outside->p2s;
    for (guint i = 0; i < gw->connections->len; i++) {
        const ModelConnection *c = g_ptr_array_index(gw->connections, i);
        for (guint k = 0; k < c->prefixes->len; k++) {
            if (!model_prefix_contains(g_array_index(c->prefixes, ModelPrefix, k), pkt->key.dst))
                continue;
            char d[MODEL_IP_STRLEN];
            model_ip_format(pkt->key.dst, d);
            g_autofree char *detail = g_strdup_printf(
                "%s is on site %s, which %s reaches over %s without BGP: point-to-site clients "
                "get no route to it",
                d, c->site->name, gw->name, c->name);
            g_autofree char *hint = g_strdup_printf(
                "enable BGP on connection %s (and on %s and the on-prem device): P2S clients "
                "then learn the site's ranges and the site learns the client pool",
                c->name, gw->name);
            drop_free(nic->net, pkt, node_of(nic), node_of(nic), MODEL_CAUSE_NO_ROUTE, detail,
                      hint);
            return true;
        }
    }
    return false;
}

static void to_lan(ModelNet *net, ModelNic *nic, ModelPacket *pkt, int lan_len, bool tunnel_too)
{
    const ModelOnprem *site = nic->outside->site;
    char d[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.dst, d);
    ModelNic *to = g_hash_table_lookup(site->nic_by_ip, GUINT_TO_POINTER(pkt->key.dst));
    if (!to) {
        g_autofree char *detail = NULL;
        if (tunnel_too) {
            detail = g_strdup_printf(
                "%s is in site %s's own range (/%d) and also in an Azure range reached over a "
                "connection: the site's routers keep it on the LAN, it never reaches the "
                "tunnel; no host here has it",
                d, site->name, lan_len);
            drop_free(net, pkt, node_of(nic), site->name, MODEL_CAUSE_ADDRESS_OVERLAP, detail,
                      "address spaces across a connection must not overlap: renumber the "
                      "on-prem range or the virtual network");
        } else {
            detail = g_strdup_printf("no host has %s on site %s", d, site->name);
            drop_free(net, pkt, node_of(nic), site->name, MODEL_CAUSE_HOST_UNREACHABLE, detail, "");
        }
        return;
    }
    g_autofree char *detail = g_strdup_printf("%s is on site %s's LAN", d, site->name);
    model__step(net, pkt, node_of(nic), MODEL_STAGE_ROUTE, site->name, "route", detail);
    model__hop(net, pkt, to, LATENCY_LAN);
}

static void to_internet(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    uint32_t pub = model__outside_egress_ip(nic->outside);
    const char *via = router_of(nic);
    ModelFlowKey after = pkt->key;
    after.src = pub;
    model__remember_return(net, nic, &after, pkt->key.src, pkt->key.sport, pkt->flow);
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.src, a);
    model_ip_format(pub, b);
    model_ip_format(pkt->key.dst, d);
    g_autofree char *route = g_strdup_printf("%s: default route to the internet", d);
    model__step(net, pkt, node_of(nic), MODEL_STAGE_ROUTE, via, "route", route);
    g_autofree char *detail = g_strdup_printf("SNAT %s:%u -> %s:%u (%s's internet egress)", a,
                                              pkt->key.sport, b, after.sport, via);
    pcap_frame_rewrite(pkt->frame, pkt->len, &pub, &after.sport, NULL, NULL);
    pkt->key.src = pub;
    pkt->key.sport = after.sport;
    model__step(net, pkt, node_of(nic), MODEL_STAGE_NAT, via, "snat", detail);
    model__to_internet(net, pkt, nic, via);
}

void model__outside_egress(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    const ModelOutside *side = nic->outside;
    uint32_t dst = pkt->key.dst;
    int lan_len = -1, tun_len = -1;
    const ModelConnection *via = NULL;
    ModelGateway *gw = NULL;
    if (side->site) {
        site_holds(side->site, dst, &lan_len);
        for (guint i = 0; i < side->site->connections->len; i++) {
            const ModelConnection *c = g_ptr_array_index(side->site->connections, i);
            for (guint k = 0; k < c->azure_prefixes->len; k++) {
                ModelPrefix p = g_array_index(c->azure_prefixes, ModelPrefix, k);
                if (model_prefix_contains(p, dst) && (int)p.len > tun_len) {
                    tun_len = p.len;
                    via = c;
                    gw = c->gateway;
                }
            }
        }
    } else {
        for (guint k = 0; k < side->p2s->client_routes->len; k++) {
            ModelPrefix p = g_array_index(side->p2s->client_routes, ModelPrefix, k);
            if (model_prefix_contains(p, dst) && (int)p.len > tun_len) {
                tun_len = p.len;
                gw = side->p2s;
            }
        }
    }
    if (lan_len >= 0 && lan_len >= tun_len) {
        to_lan(net, nic, pkt, lan_len, tun_len >= 0);
        return;
    }
    if (tun_len >= 0) {
        char d[MODEL_IP_STRLEN];
        model_ip_format(dst, d);
        g_autofree char *detail =
            g_strdup_printf("%s: route learned over %s to %s's tunnel", d,
                            via ? via->name : "the point-to-site connection", gw->name);
        model__step(net, pkt, node_of(nic), MODEL_STAGE_ROUTE, router_of(nic), "route", detail);
        model__gateway_tunnel_in(net, nic, pkt, gw, via);
        return;
    }
    const ModelVnet *v = model_ip_is_private(dst) ? vnet_of(net, dst) : NULL;
    if (v) {
        no_tunnel(net, nic, pkt, v);
        return;
    }
    if (side->p2s && p2s_static_branch(nic, pkt))
        return;
    to_internet(net, nic, pkt);
}

/* A reply from the internet reached the NIC through its site's (or home router's) NAT:
 * undo the translation, as the NAT device did before handing it on. */
void model__outside_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    uint32_t pub = model__outside_egress_ip(nic->outside);
    if (!pub || pkt->key.dst != pub || pkt->key.dst == nic->ip)
        return;
    uint32_t ip = nic->ip;
    uint16_t port = pkt->key.dport;
    if (!model__snat_reverse(net, &pkt->key, &ip, &port))
        ip = nic->ip;
    char a[MODEL_IP_STRLEN], b[MODEL_IP_STRLEN];
    model_ip_format(pub, a);
    model_ip_format(ip, b);
    g_autofree char *detail = g_strdup_printf("DNAT %s:%u -> %s:%u (reply through %s's NAT)", a,
                                              pkt->key.dport, b, port, router_of(nic));
    pcap_frame_rewrite(pkt->frame, pkt->len, NULL, NULL, &ip, &port);
    pkt->key.dst = ip;
    pkt->key.dport = port;
    model__step(net, pkt, node_of(nic), MODEL_STAGE_NAT, router_of(nic), "dnat", detail);
}
