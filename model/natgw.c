/*
 * natgw.c — Azure NAT Gateway: a subnet's internet egress, SNATed to the gateway's public
 * addresses, and nothing inbound.
 *
 * azdocs:articles/nat-gateway/nat-overview.md:
 *   - "Outbound connectivity follows this order of precedence …: Virtual appliance UDR /
 *     VPN Gateway / ExpressRoute >> NAT gateway >> Instance-level public IP address on a
 *     virtual machine >> Load balancer outbound rules >> default system route to the
 *     internet". The routes already send a packet to an appliance or gateway before it
 *     ever takes the Internet hop; where it does (forward.c to_internet), the subnet's NAT
 *     gateway is asked first, and the instance public IP and default outbound access only
 *     when there is none.
 *   - "Unsolicited inbound connections from the internet aren't permitted through a NAT
 *     gateway. Only packets arriving as response packets to an outbound connection can
 *     pass": replies find their way back through forward.c's SNAT table; anything else
 *     addressed to the gateway lands on its pseudo-interface here and is dropped.
 *   - "A NAT gateway can't span multiple virtual networks", "can't be deployed in a
 *     gateway subnet", "Multiple NAT gateways can't be attached to a single subnet", up to
 *     16 public IP addresses.
 *
 * Which of several addresses a flow gets is not documented; here it is a hash of the
 * private source address, so one VM keeps one address (deterministic). The SNAT port is
 * the flow's own, as forward.c keeps it for every outbound SNAT.
 */
#include "model/net_internal.h"

#include <string.h>

#include "pcap/frame.h"

#define NATGW_ERROR   (g_quark_from_static_string("model-natgw"))
#define NATGW_IPS_MAX 16

struct ModelNatGw {
    char *name;
    char *label;       /* "NAT gateway <name>", for the SNAT step */
    ModelHost *host;   /* the gateway's addresses, as seen from the internet */
    GArray *ips;       /* uint32: public */
    ModelVnet *vnet;   /* of its subnets; NULL until the first is attached */
    GHashTable *flows; /* FlowId set: the connections it translates */
};

/* A connection as its private side sends it. */
typedef struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t proto;
} FlowId;

static guint flow_hash(gconstpointer p)
{
    const unsigned char *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(FlowId); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean flow_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(FlowId)) == 0;
}

void model__natgw_free(gpointer p)
{
    ModelNatGw *gw = p;
    g_array_free(gw->ips, TRUE);
    g_hash_table_destroy(gw->flows);
    g_free(gw->name);
    g_free(gw->label);
    g_free(gw);
}

ModelNatGw *model_net_add_nat_gateway(ModelNet *net, const char *name, const uint32_t *public_ips,
                                      size_t n, GError **error)
{
    if (n == 0 || n > NATGW_IPS_MAX) {
        g_set_error(error, NATGW_ERROR, 0,
                    "NAT gateway '%s' needs 1-%d public IP addresses (nat-overview.md)",
                    name ? name : "", NATGW_IPS_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char t[MODEL_IP_STRLEN];
        model_ip_format(public_ips[i], t);
        if (model_ip_is_private(public_ips[i]) ||
            g_hash_table_contains(net->public_ip, GUINT_TO_POINTER(public_ips[i]))) {
            g_set_error(error, NATGW_ERROR, 0, "NAT gateway '%s': %s is not a free public address",
                        name, t);
            return NULL;
        }
    }
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_SERVICE, error);
    if (!host || !model_host_set_public_ip(net, host, public_ips[0], error))
        return NULL;
    /* Every address leads to the same pseudo-interface. */
    ModelNic *nic = g_hash_table_lookup(net->public_ip, GUINT_TO_POINTER(public_ips[0]));
    for (size_t i = 1; i < n; i++)
        g_hash_table_insert(net->public_ip, GUINT_TO_POINTER(public_ips[i]), nic);
    ModelNatGw *gw = g_new0(ModelNatGw, 1);
    gw->name = g_strdup(name);
    gw->label = g_strdup_printf("NAT gateway %s", name);
    gw->host = host;
    gw->ips = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    gw->flows = g_hash_table_new_full(flow_hash, flow_equal, g_free, NULL);
    g_array_append_vals(gw->ips, public_ips, (guint)n);
    host->natgw = gw;
    g_ptr_array_add(model__middleboxes(net)->nat_gateways, gw);
    return gw;
}

gboolean model_subnet_set_nat_gateway(ModelSubnet *subnet, ModelNatGw *gw, GError **error)
{
    if (strcmp(subnet->name, "GatewaySubnet") == 0) {
        g_set_error(error, NATGW_ERROR, 0,
                    "NAT gateway '%s': \"A NAT gateway can't be deployed in a gateway subnet\"",
                    gw->name);
        return FALSE;
    }
    if (subnet->nat_gateway && subnet->nat_gateway != gw) {
        g_set_error(error, NATGW_ERROR, 0,
                    "subnet %s already has NAT gateway '%s' (one per subnet)", subnet->path,
                    subnet->nat_gateway->name);
        return FALSE;
    }
    if (gw->vnet && gw->vnet != subnet->vnet) {
        g_set_error(error, NATGW_ERROR, 0,
                    "NAT gateway '%s' serves %s: \"A NAT gateway can't span multiple virtual "
                    "networks\"",
                    gw->name, gw->vnet->name);
        return FALSE;
    }
    gw->vnet = subnet->vnet;
    subnet->nat_gateway = gw;
    return TRUE;
}

ModelHost *model_nat_gateway_host(const ModelNatGw *gw)
{
    return gw->host;
}

void model__natgw_snat(const ModelNic *nic, const ModelPacket *pkt, uint32_t *ip, const char **how)
{
    ModelNatGw *gw = nic->subnet ? nic->subnet->nat_gateway : NULL;
    if (!gw)
        return;
    /* It translates the connections it sees begin. A TCP segment of one it never saw
     * start answers a connection that came in another way (to an instance public IP):
     * "NAT gateway allows flows to be created from the virtual network to the services
     * outside", and the reply leaves the way the request came in. */
    FlowId id;
    memset(&id, 0, sizeof id);
    id.src = pkt->key.src;
    id.dst = pkt->key.dst;
    id.sport = pkt->key.sport;
    id.dport = pkt->key.dport;
    id.proto = pkt->key.proto;
    bool opens = pkt->key.proto != MODEL_IPPROTO_TCP ||
                 (pkt->tcp_flags & (PCAP_TCP_SYN | PCAP_TCP_ACK)) == PCAP_TCP_SYN;
    if (opens)
        g_hash_table_add(gw->flows, g_memdup2(&id, sizeof id));
    else if (!g_hash_table_contains(gw->flows, &id))
        return;
    /* FNV-1a over the private source: a stable pick among the gateway's addresses. */
    uint32_t h = 2166136261u, src = pkt->key.src;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((src >> (8 * i)) & 0xff)) * 16777619u;
    *ip = g_array_index(gw->ips, uint32_t, h % gw->ips->len);
    *how = gw->label;
}

bool model__natgw_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt)
{
    if (!nic->host || !nic->host->natgw)
        return false;
    ModelNatGw *gw = nic->host->natgw;
    char d[MODEL_IP_STRLEN];
    model_ip_format(pkt->key.dst, d);
    g_autofree char *detail = g_strdup_printf(
        "%s is NAT gateway %s's address and no outbound flow expects this packet: "
        "\"Unsolicited inbound connections from the internet aren't permitted through a NAT "
        "gateway\"",
        d, gw->name);
    model__drop(net, pkt, gw->name, MODEL_STAGE_NAT, gw->name, MODEL_CAUSE_HOST_UNREACHABLE, detail,
                "reach the VM through a public load balancer, an instance public IP, Azure "
                "Bastion or a gateway; a NAT gateway is outbound only");
    return true;
}
