/*
 * Entry points through a virtual network gateway: point-to-site clients, site-to-site and
 * ExpressRoute connections to an on-prem network, gateway transit to a spoke — each
 * behaviour on a small topology, checked by verdict, cause, deciding object and trace
 * steps; the captures of a P2S path (client, gateway, VM) are checked by tshark.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs): includes/vpn-gateway-about-gwsubnet-include.md
 * and vpn-gateway-vpn-faq.md (GatewaySubnet), includes/vpn-gateway-gwudr-warning.md (no
 * NSG, no 0.0.0.0/0 UDR, propagation on), virtual-networks-udr-overview.md (gateway routes,
 * propagation, no UDR to an ExpressRoute gateway, VNet routes beat BGP routes),
 * expressroute-howto-coexist-resource-manager.md (ExpressRoute preferred),
 * virtual-network-manage-peering.md and vpn-gateway-peering-gateway-transit.md (transit),
 * service-tags-overview.md (VirtualNetwork includes connected on-prem ranges),
 * what-is-ip-address-168-63-129-16.md (only from inside Azure), how-to-custom-dns.md
 * (on-prem → in-VNet forwarder → 168.63.129.16), domain.md §6 (172.17.0.0/16 pitfall).
 *
 *   vnet-hub 10.0.0.0/16   GatewaySubnet 10.0.255.0/27  vpngw .4 (ergw next when present)
 *                          snet-pe  10.0.1.0/24  pe-blob 10.0.1.6 -> mlwsstore
 *                          snet-app 10.0.2.0/24  vm 10.0.2.4 (22, 443)
 *                          snet-dns 10.0.3.0/24  dns-fwd 10.0.3.4 (forwards to 168.63.129.16)
 *   vnet-spoke 10.1.0.0/16 snet-app 10.1.1.0/24  vm-spoke 10.1.1.4 (peered with the hub)
 *   on-prem corp 192.168.0.0/16 (NAT 198.51.100.20): pc 192.168.1.10, corp-dns 192.168.0.53
 *   P2S pool 172.16.201.0/24: laptop 172.16.201.10
 *   internet: mlwsstore 20.60.0.4, web 93.184.216.34, isp-dns 8.8.8.8, Azure DNS
 *   privatelink.blob.core.windows.net linked to vnet-hub
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "model/net.h"
#include "sim/sim.h"
#include "testnet.h"
#include "tshark_util.h"

#define FQDN "mlwsstore.blob.core.windows.net"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *hub, *spoke;
    ModelSubnet *gw_sub, *app, *spoke_app;
    ModelHost *vm, *vm_spoke, *dns_fwd, *pc, *corp_dns, *laptop, *store, *web, *isp_dns;
    ModelOnprem *corp;
    ModelGateway *vpngw, *ergw;
    ModelConnection *conn;
    char *pcap_dir;
} Fx;

static uint32_t IP(const char *text)
{
    uint32_t ip;
    assert_true(model_ip_parse(text, &ip));
    return ip;
}

static ModelPrefix P(const char *text)
{
    ModelPrefix p;
    assert_int_equal(model_prefix_parse(text, false, &p), MODEL_PREFIX_OK);
    return p;
}

/* err is read through a pointer, after expr has run (argument order is unspecified). */

static ModelHost *vm(Fx *fx, const char *name, ModelSubnet *subnet, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, h, subnet, "nic0", IP(ip), &err));
    model_host_listen(h, 6, 22);
    model_host_listen(h, 6, 443);
    return h;
}

static ModelHost *internet(Fx *fx, const char *name, ModelHostKind kind, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, kind, &err));
    OK(model_host_set_public_ip(fx->net, h, IP(ip), &err));
    return h;
}

static ModelHost *onprem(Fx *fx, const char *name, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_VM, &err));
    MUST(model_onprem_add_nic(fx->net, fx->corp, h, "nic0", IP(ip), &err));
    model_host_listen(h, 6, 22);
    return h;
}

/* The topology above without any gateway: tests add the entry points they pin. */
static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix hub = P("10.0.0.0/16"), spoke = P("10.1.0.0/16"), corp = P("192.168.0.0/16");
    fx->hub = MUST(model_net_add_vnet(fx->net, "vnet-hub", &hub, 1, &err));
    fx->spoke = MUST(model_net_add_vnet(fx->net, "vnet-spoke", &spoke, 1, &err));
    OK(model_net_peer(fx->net, fx->hub, fx->spoke, &err));
    fx->gw_sub =
        MUST(model_net_add_subnet(fx->net, fx->hub, "GatewaySubnet", P("10.0.255.0/27"), &err));
    ModelSubnet *pe =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-pe", P("10.0.1.0/24"), &err));
    fx->app = MUST(model_net_add_subnet(fx->net, fx->hub, "snet-app", P("10.0.2.0/24"), &err));
    ModelSubnet *dns =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-dns", P("10.0.3.0/24"), &err));
    fx->spoke_app =
        MUST(model_net_add_subnet(fx->net, fx->spoke, "snet-app", P("10.1.1.0/24"), &err));
    fx->vm = vm(fx, "vm", fx->app, "10.0.2.4");
    fx->vm_spoke = vm(fx, "vm-spoke", fx->spoke_app, "10.1.1.4");
    fx->dns_fwd = vm(fx, "dns-fwd", dns, "10.0.3.4");
    model_host_set_dns_server(fx->dns_fwd, MODEL_DNS_SERVER_FORWARDER);
    model_dns_server_add_forwarder(fx->dns_fwd, IP("168.63.129.16"));

    fx->corp = MUST(model_net_add_onprem(fx->net, "corp", &corp, 1, &err));
    OK(model_onprem_set_public_egress(fx->net, fx->corp, IP("198.51.100.20"), &err));
    fx->pc = onprem(fx, "pc", "192.168.1.10");
    fx->corp_dns = onprem(fx, "corp-dns", "192.168.0.53");
    model_host_set_dns_server(fx->corp_dns, MODEL_DNS_SERVER_FORWARDER);
    model_dns_server_add_forwarder(fx->corp_dns, IP("8.8.8.8"));
    uint32_t corp_dns = IP("192.168.0.53");
    model_onprem_set_dns_servers(fx->corp, &corp_dns, 1);
    fx->laptop = MUST(model_net_add_host(fx->net, "laptop", MODEL_HOST_VM, &err));

    fx->store = internet(fx, "mlwsstore", MODEL_HOST_SERVICE, "20.60.0.4");
    model_host_listen(fx->store, 6, 443);
    fx->web = internet(fx, "web", MODEL_HOST_INTERNET, "93.184.216.34");
    model_host_listen(fx->web, 6, 443);
    fx->isp_dns = internet(fx, "isp-dns", MODEL_HOST_INTERNET, "8.8.8.8");
    model_host_set_dns_server(fx->isp_dns, MODEL_DNS_SERVER_FORWARDER);
    ModelHost *azure = internet(fx, "azure-dns", MODEL_HOST_SERVICE, "168.63.129.16");
    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);

    ModelNic *pe_blob = MUST(
        model_net_add_private_endpoint(fx->net, "pe-blob", pe, IP("10.0.1.6"), fx->store, &err));
    OK(model_private_endpoint_add_fqdn(fx->net, pe_blob, FQDN, &err));
    ModelDnsZone *zone =
        MUST(model_dns_zone_add(model_net_dns(fx->net), "privatelink.blob.core.windows.net", &err));
    OK(model_dns_zone_link(zone, fx->hub, "hub-link", false, &err));
    return fx;
}

static ModelGateway *add_vpn(Fx *fx)
{
    GError *err = NULL;
    fx->vpngw = MUST(model_net_add_gateway(fx->net, "vpngw", MODEL_GATEWAY_VPN, fx->hub, &err));
    return fx->vpngw;
}

/* Point-to-site: the pool 172.16.201.0/24 and the laptop at .10. */
static void add_p2s(Fx *fx, const char *pool, const char *ip)
{
    GError *err = NULL;
    if (!fx->vpngw)
        add_vpn(fx);
    OK(model_gateway_set_p2s_pool(fx->vpngw, P(pool), &err));
    MUST(model_gateway_add_p2s_client(fx->net, fx->vpngw, fx->laptop, "vpn0", IP(ip), &err));
}

/* Site-to-site: corp behind a local network gateway, connection conn-corp. */
static void add_s2s(Fx *fx)
{
    GError *err = NULL;
    if (!fx->vpngw)
        add_vpn(fx);
    fx->conn = MUST(model_gateway_connect(fx->net, fx->vpngw, "conn-corp", fx->corp, &err));
}

static void add_er(Fx *fx, const char *conn)
{
    GError *err = NULL;
    fx->ergw =
        MUST(model_net_add_gateway(fx->net, "ergw", MODEL_GATEWAY_EXPRESSROUTE, fx->hub, &err));
    ModelConnection *c = MUST(model_gateway_connect(fx->net, fx->ergw, conn, fx->corp, &err));
    if (!fx->conn)
        fx->conn = c;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(1);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-gw-XXXXXX", NULL);
    OK(model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err));
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void fx_free(Fx *fx)
{
    if (fx->trace && g_getenv("VNETSIM_TEST_TRACE")) /* the trace, for whoever debugs */
        fputs(model_trace_text(fx->trace, NULL), stderr);
    if (fx->engine) {
        model_net_close_captures(fx->net, false, NULL);
        assert_int_equal(sim_pending(fx->engine), 0);
    }
    model_net_free(fx->net);
    model_trace_free(fx->trace);
    sim_engine_free(fx->engine);
    if (fx->pcap_dir) {
        remove_dir(fx->pcap_dir);
        g_free(fx->pcap_dir);
    }
    g_free(fx);
}

static const ModelVerdictRecord *verdict_of(Fx *fx, const char *flow)
{
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    if (!v)
        fail_msg("flow %s has no verdict", flow);
    return v;
}

static const ModelVerdictRecord *run_tcp(Fx *fx, const char *flow, ModelHost *from, const char *dst,
                                         uint16_t port)
{
    model_net_start_tcp(fx->net, flow, from, IP(dst), port, sim_now(fx->engine));
    sim_run(fx->engine);
    return verdict_of(fx, flow);
}

/* A TLS request to an address or (ip NULL) to FQDN. */
static const ModelVerdictRecord *run_https(Fx *fx, const char *flow, ModelHost *from,
                                           const char *ip)
{
    ModelFlowSpec spec = {.name = flow,
                          .from = from,
                          .fqdn = ip ? NULL : FQDN,
                          .ip = ip ? IP(ip) : 0,
                          .port = 443,
                          .proto = 6,
                          .tls = true,
                          .request = true};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    sim_run(fx->engine);
    return verdict_of(fx, flow);
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("flow %s: got %s %s at %s (%s), want %s %s at %s", v->flow,
                 model_verdict_name(v->verdict), model_cause_name(v->cause), v->at, v->hint,
                 model_verdict_name(verdict), model_cause_name(cause), at ? at : "*");
}

/* A step of `flow` at stage with action, decided by object (NULL: any), whose detail
 * contains needle (NULL: any). */
static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *object,
                     const char *action, const char *needle)
{
    size_t n;
    const ModelStepRecord *s = model_trace_steps(fx->trace, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].flow, flow) == 0 && s[i].stage == stage &&
            (!object || strcmp(s[i].object, object) == 0) && strcmp(s[i].action, action) == 0 &&
            (!needle || strstr(s[i].detail, needle)))
            return true;
    return false;
}

static void add_rule(Fx *fx, ModelNsg *nsg, const char *name, int prio, ModelDirection dir,
                     ModelAccess access, const char *src, const char *dports)
{
    GError *err = NULL;
    ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, access, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, src, &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, dports, &err) &&
       model_nsg_add_rule(nsg, r, &err));
    (void)fx;
}

/* ---- point-to-site ---- */

static void assert_clean(const char *dir, const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    assert_int_equal(tshark_count(path, TSHARK_BAD_FRAMES), 0);
}

/* The SYNs in a capture as "src|dst|ttl" lines. */
static gchar **syns(const char *dir, const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    const char *fields[] = {"ip.src", "ip.dst", "ip.ttl"};
    gchar **lines = tshark_fields(path, "tcp.flags.syn == 1 && tcp.flags.ack == 0", fields, 3);
    assert_non_null(lines);
    return lines;
}

/* A P2S client reaches a VM and a private endpoint: into the tunnel by its VNet route,
 * out of the gateway by GatewaySubnet's routes; the VM's reply takes the P2S pool's
 * gateway route back (azure-facts.md §6: "Private endpoints are reachable from on-prem over
 * VPN or ExpressRoute"). Every capture on the path dissects clean and shows the gateway
 * relaying (TTL 64 in, 63 out). */
static void p2s_client_reaches_vm_and_private_endpoint_through_the_gateway(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    fx_start(fx, tshark_available());
    expect(run_tcp(fx, "ssh", fx->laptop, "10.0.2.4", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "vm");
    assert_true(has_step(fx, "ssh", MODEL_STAGE_ROUTE, "laptop", "route", "vpngw's tunnel"));
    assert_true(has_step(fx, "ssh", MODEL_STAGE_GATEWAY, "vpngw", "tunnel", "into the"));
    assert_true(has_step(fx, "ssh", MODEL_STAGE_ROUTE, "vnet-hub", "route", NULL));
    /* The reply: the P2S pool is a gateway route in the VM's subnet. */
    assert_true(has_step(fx, "ssh", MODEL_STAGE_ROUTE, "vpngw", "route", "VirtualNetworkGateway"));
    assert_true(has_step(fx, "ssh", MODEL_STAGE_GATEWAY, "vpngw", "tunnel", "out of the"));

    expect(run_https(fx, "blob", fx->laptop, "10.0.1.6"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(has_step(fx, "blob", MODEL_STAGE_ROUTE, NULL, "route", "InterfaceEndpoint"));

    if (fx->pcap_dir) {
        OK(model_net_close_captures(fx->net, true, &err));
        assert_clean(fx->pcap_dir, "laptop-vpn0.pcap");
        assert_clean(fx->pcap_dir, "vpngw-nic0.pcap");
        assert_clean(fx->pcap_dir, "vm-nic0.pcap");
        gchar **at_vm = syns(fx->pcap_dir, "vm-nic0.pcap");
        assert_non_null(at_vm[0]);
        assert_string_equal(at_vm[0], "172.16.201.10|10.0.2.4|63");
        g_strfreev(at_vm);
        gchar **at_gw = syns(fx->pcap_dir, "vpngw-nic0.pcap");
        assert_non_null(at_gw[0]);
        assert_non_null(at_gw[1]);
        assert_string_equal(at_gw[0], "172.16.201.10|10.0.2.4|64");
        assert_string_equal(at_gw[1], "172.16.201.10|10.0.2.4|63");
        g_strfreev(at_gw);
        gchar **at_client = syns(fx->pcap_dir, "laptop-vpn0.pcap");
        assert_non_null(at_client[0]);
        assert_string_equal(at_client[0], "172.16.201.10|10.0.2.4|64");
        g_strfreev(at_client);
        /* The private endpoint's answer crossed the gateway too. */
        g_autofree char *gw = g_build_filename(fx->pcap_dir, "vpngw-nic0.pcap", NULL);
        assert_true(tshark_count(gw, "ip.src == 10.0.1.6 && tcp.flags.syn == 1") >= 2);
    }
    fx_free(fx);
}

/* "168.63.129.16 … Only reachable from inside Azure": a P2S client that asks it gets no
 * answer; one without any DNS server (the VNet has none to hand out) has nobody to ask. */
static void p2s_client_cannot_use_azure_dns(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    uint32_t azure = IP("168.63.129.16");
    model_host_set_dns_servers(fx->laptop, &azure, 1);
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_https(fx, "blob", fx->laptop, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_TIMEOUT, "azure-dns");
    assert_non_null(strstr(v->hint, "only inside Azure"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_PLATFORM, "168.63.129.16", "drop",
                         "only from inside Azure"));
    fx_free(fx);

    fx = fx_new();
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    fx_start(fx, false);
    v = run_https(fx, "blob", fx->laptop, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_TIMEOUT, "laptop");
    fx_free(fx);
}

/* P2S clients use the VNet's custom DNS servers (azure-facts.md §6): the in-VNet forwarder
 * asks 168.63.129.16 from inside, whose answer comes from the zone linked to the hub. */
static void p2s_client_uses_vnet_custom_dns_and_resolves_the_private_endpoint(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    uint32_t fwd = IP("10.0.3.4");
    model_vnet_set_dns_servers(fx->hub, &fwd, 1);
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    fx_start(fx, false);
    expect(run_https(fx, "blob", fx->laptop, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "dns-fwd", "query", "A? " FQDN));
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, NULL, "answer", "view of vnet-hub"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, NULL, "answer", "10.0.1.6 (private"));
    fx_free(fx);
}

/* P2S clients reach a branch office only over a site-to-site connection running BGP
 * (vpn-gateway-about-point-to-site-routing.md, "One VNet and a branch office" with and
 * without BGP). With it, the laptop of contract.md's example uses the corp DNS server,
 * which forwards blob.core.windows.net to the in-VNet forwarder: the private endpoint. */
static void p2s_client_reaches_onprem_only_over_a_bgp_connection(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    add_s2s(fx);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "laptop-pc", fx->laptop, "192.168.1.10", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_ROUTE, "laptop");
    assert_non_null(strstr(v->hint, "enable BGP on connection conn-corp"));
    fx_free(fx);

    fx = fx_new();
    GError *err = NULL;
    uint32_t corp_dns = IP("192.168.0.53"), fwd = IP("10.0.3.4");
    model_host_set_dns_servers(fx->laptop, &corp_dns, 1);
    OK(model_dns_server_add_conditional(fx->corp_dns, "blob.core.windows.net", &fwd, 1, &err));
    add_p2s(fx, "172.16.201.0/24", "172.16.201.10");
    add_s2s(fx);
    model_connection_set_bgp(fx->conn, true);
    fx_start(fx, false);
    expect(run_tcp(fx, "laptop-pc", fx->laptop, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    /* In by the P2S tunnel, out by conn-corp's; the reply the other way round. */
    assert_true(has_step(fx, "laptop-pc", MODEL_STAGE_GATEWAY, "conn-corp", "tunnel", "to pc"));
    assert_true(has_step(fx, "laptop-pc", MODEL_STAGE_GATEWAY, "vpngw", "tunnel", "to laptop"));
    expect(run_https(fx, "blob", fx->laptop, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, NULL, "answer", "view of vnet-hub"));
    assert_true(
        has_step(fx, "blob", MODEL_STAGE_DNS, "192.168.0.53", "answer", "10.0.1.6 (private"));
    fx_free(fx);
}

/* ---- site-to-site ---- */

/* The local network gateway's prefixes become gateway routes in the VNet (source and next
 * hop VirtualNetworkGateway); on-prem routes the VNet into the tunnel. Both directions. */
static void s2s_onprem_and_vm_reach_each_other_by_gateway_routes(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "vm");
    assert_true(has_step(fx, "pc-vm", MODEL_STAGE_ROUTE, "corp", "route", "conn-corp"));
    assert_true(has_step(fx, "pc-vm", MODEL_STAGE_GATEWAY, "conn-corp", "tunnel", "site-to-site"));

    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    /* The VM's route step names the gateway that learned 192.168.0.0/16. */
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "vpngw", "route",
                         "192.168.0.0/16 -> VirtualNetworkGateway (VirtualNetworkGateway)"));
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_GATEWAY, "conn-corp", "tunnel", "to pc"));
    fx_free(fx);
}

/* VirtualNetwork covers "all connected on-premises address spaces": a VM subnet NSG that
 * allows SSH only from VirtualNetwork lets the on-prem PC in, and the internet not. */
static void connected_onprem_range_is_in_the_virtual_network_tag(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-app", &err));
    add_rule(fx, nsg, "AllowSshFromVnet", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
             "VirtualNetwork", "22");
    add_rule(fx, nsg, "DenySsh", 200, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, "*", "22");
    model_subnet_set_nsg(fx->app, nsg);
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "vm");
    assert_true(
        has_step(fx, "pc-vm", MODEL_STAGE_NSG_IN, "nsg-app/AllowSshFromVnet", "allow", NULL));
    fx_free(fx);
}

/* The true on-prem version of the DNS chain (how-to-custom-dns.md): the corp DNS server
 * conditionally forwards blob.core.windows.net through the tunnel to the in-VNet
 * forwarder, which asks 168.63.129.16 from inside the VNet linked to the private zone. */
static void onprem_conditional_forwarder_resolves_private_endpoint_over_the_tunnel(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    uint32_t fwd = IP("10.0.3.4");
    OK(model_dns_server_add_conditional(fx->corp_dns, "blob.core.windows.net", &fwd, 1, &err));
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_https(fx, "blob", fx->pc, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "corp-dns", "forward",
                         "conditional forwarder for blob.core.windows.net -> 10.0.3.4"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_GATEWAY, "conn-corp", "tunnel", NULL));
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, NULL, "answer", "view of vnet-hub"));
    assert_true(
        has_step(fx, "blob", MODEL_STAGE_DNS, "192.168.0.53", "answer", "10.0.1.6 (private"));
    fx_free(fx);
}

/* Without the conditional forwarder the corp DNS asks the internet through the corp NAT:
 * the public answer sends the PC to the account's public address, through the NAT too. */
static void onprem_without_conditional_forwarder_goes_public_through_the_corp_nat(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_https(fx, "blob", fx->pc, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, NULL, "answer", "20.60.0.4 (public"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_NAT, "corp", "snat", "-> 198.51.100.20:"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_NAT, "corp", "dnat", "reply through corp's NAT"));
    fx_free(fx);
}

/* "When you disable route propagation, the system doesn't add routes to the route table of
 * all subnets with Virtual network gateway route propagation disabled": the VM's traffic to
 * 192.168.1.10 falls to the reserved 192.168.0.0/16 route, next hop None — also its replies
 * to a connection the PC opened. */
static void disabled_route_propagation_drops_vm_to_onprem_at_the_reserved_none_route(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    rt->disable_bgp_route_propagation = true;
    model_subnet_set_route_table(fx->app, rt);
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, "reserved:RFC1918");
    expect(run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, "reserved:RFC1918");
    /* Another subnet keeps the gateway route. */
    expect(run_tcp(fx, "fwd-pc", fx->dns_fwd, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    fx_free(fx);
}

/* ---- connections that are not there ---- */

/* A VPN connection whose tunnel is down (connectionStatus NotConnected) keeps its static
 * routes: packets reach the gateway, or the on-prem device, and are dropped there. */
static void vpn_connection_not_connected_drops_at_the_gateway(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    model_connection_set_connected(fx->conn, false);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_GATEWAY_NOT_CONNECTED, "conn-corp");
    assert_non_null(strstr(v->hint, "shared key"));
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_GATEWAY, "conn-corp", "drop", "not connected"));
    expect(run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_GATEWAY_NOT_CONNECTED, "conn-corp");
    fx_free(fx);
}

/* A user-defined route to VirtualNetworkGateway in a VNet without a gateway: the route
 * points nowhere. */
static void udr_to_gateway_without_a_gateway_is_not_connected(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-spoke", &err));
    OK(model_route_table_add(rt, "to-corp", "192.168.0.0/16", "VirtualNetworkGateway", NULL, 0,
                             NULL, NULL, &err));
    model_subnet_set_route_table(fx->spoke_app, rt);
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "spoke-pc", fx->vm_spoke, "192.168.1.10", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_GATEWAY_NOT_CONNECTED, "rt-spoke/to-corp");
    fx_free(fx);
}

/* "Virtual network gateway: Specify when you want traffic destined for specific address
 * prefixes routed to a virtual network gateway. The virtual network gateway must be created
 * with type VPN": the UDR takes the VPN gateway, and the gateway's connection carries it. */
static void udr_to_vpn_gateway_sends_traffic_through_it(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    OK(model_route_table_add(rt, "pc-via-gw", "192.168.1.0/24", "VirtualNetworkGateway", NULL, 0,
                             NULL, NULL, &err));
    model_subnet_set_route_table(fx->app, rt);
    add_s2s(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "rt-app/pc-via-gw", "route", NULL));
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_GATEWAY, "conn-corp", "tunnel", NULL));
    fx_free(fx);
}

/* ---- ExpressRoute ---- */

/* Same data path, BGP-learned routes, a few milliseconds instead of an IPsec tunnel over
 * the internet. */
static void expressroute_carries_onprem_traffic_with_bgp_routes(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_er(fx, "er-corp");
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "vm");
    assert_true(v->t_ns < SIM_MS(6)); /* SYN and SYN/ACK, ~2 ms each way */
    assert_true(has_step(fx, "pc-vm", MODEL_STAGE_GATEWAY, "er-corp", "tunnel",
                         "ExpressRoute private peering"));
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "ergw", "route", NULL));
    fx_free(fx);

    /* The VPN tunnel takes longer: ~8 ms each way over the internet. */
    fx = fx_new();
    add_s2s(fx);
    fx_start(fx, false);
    v = run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "vm");
    assert_true(v->t_ns > SIM_MS(14));
    fx_free(fx);
}

/* "ExpressRoute circuit is preferred over Site-to-Site VPN when both routes are the same". */
static void expressroute_is_preferred_over_vpn_for_the_same_prefix(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    add_er(fx, "er-corp");
    fx_start(fx, false);
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "ergw", "route", NULL));
    assert_false(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "vpngw", "route", NULL));
    fx_free(fx);
}

/* "You can't specify a virtual network gateway created as type ExpressRoute in a
 * user-defined route"; and a circuit that is down withdraws its BGP routes on both sides. */
static void expressroute_takes_no_udr_and_withdraws_routes_when_down(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    OK(model_route_table_add(rt, "web-via-gw", "93.184.216.0/24", "VirtualNetworkGateway", NULL, 0,
                             NULL, NULL, &err));
    model_subnet_set_route_table(fx->app, rt);
    add_er(fx, "er-corp");
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "vm-web", fx->vm, "93.184.216.34", 443);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, "rt-app/web-via-gw");
    assert_non_null(strstr(v->hint, "BGP"));
    fx_free(fx);

    /* "You can't specify Virtual Network Gateways if you have VPN and ExpressRoute
     * coexisting connections either." */
    fx = fx_new();
    rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    OK(model_route_table_add(rt, "pc-via-gw", "192.168.1.0/24", "VirtualNetworkGateway", NULL, 0,
                             NULL, NULL, &err));
    model_subnet_set_route_table(fx->app, rt);
    add_s2s(fx);
    add_er(fx, "er-corp");
    fx_start(fx, false);
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, "rt-app/pc-via-gw");
    fx_free(fx);

    fx = fx_new();
    add_er(fx, "er-corp");
    model_connection_set_connected(fx->conn, false);
    fx_start(fx, false);
    expect(run_tcp(fx, "vm-pc", fx->vm, "192.168.1.10", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, "reserved:RFC1918");
    v = run_tcp(fx, "pc-vm", fx->pc, "10.0.2.4", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_GATEWAY_NOT_CONNECTED, "er-corp");
    assert_non_null(strstr(v->hint, "BGP routes are withdrawn"));
    fx_free(fx);
}

/* ---- gateway transit ---- */

static void set_transit(Fx *fx, bool use_remote)
{
    GError *err = NULL;
    OK(model_net_set_gateway_transit(fx->net, fx->hub, fx->spoke, true, false, &err));
    OK(model_net_set_gateway_transit(fx->net, fx->spoke, fx->hub, false, use_remote, &err));
}

/* Hub allowGatewayTransit, spoke useRemoteGateways: the spoke learns corp through the hub's
 * gateway and corp learns the spoke (vpn-gateway-peering-gateway-transit.md). */
static void spoke_reaches_onprem_through_hub_gateway_transit(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    set_transit(fx, true);
    fx_start(fx, false);
    expect(run_tcp(fx, "spoke-pc", fx->vm_spoke, "192.168.1.10", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pc");
    assert_true(has_step(fx, "spoke-pc", MODEL_STAGE_ROUTE, "vpngw", "route", NULL));
    expect(run_tcp(fx, "pc-spoke", fx->pc, "10.1.1.4", 22), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "vm-spoke");
    assert_true(has_step(fx, "pc-spoke", MODEL_STAGE_ROUTE, "peering:vnet-spoke", "route", NULL));
    fx_free(fx);
}

/* Without useRemoteGateways the spoke has no route to corp (the reserved None route
 * decides) and corp has none to the spoke. */
static void spoke_without_use_remote_gateways_cannot_reach_onprem(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_s2s(fx);
    set_transit(fx, false);
    fx_start(fx, false);
    expect(run_tcp(fx, "spoke-pc", fx->vm_spoke, "192.168.1.10", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, "reserved:RFC1918");
    const ModelVerdictRecord *v = run_tcp(fx, "pc-spoke", fx->pc, "10.1.1.4", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_GATEWAY_NOT_CONNECTED, "conn-corp");
    assert_non_null(strstr(v->hint, "useRemoteGateways"));
    fx_free(fx);
}

/* ---- overlaps ---- */

/* The documented pitfall (domain.md §6): a VNet on 172.17.0.0/16 and an on-prem network on
 * 172.16.0.0/12. Azure's system route for the VNet range beats the gateway route, so a VM's
 * packet for an on-prem host in the shared range stays in the VNet; on-prem's own range
 * keeps its packet for that range on the LAN. */
static void onprem_range_overlapping_the_vnet_never_reaches_the_gateway(void **state)
{
    (void)state;
    GError *err = NULL;
    Fx *fx = g_new0(Fx, 1);
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix space = P("172.17.0.0/16"), corp = P("172.16.0.0/12");
    fx->hub = MUST(model_net_add_vnet(fx->net, "vnet-ml", &space, 1, &err));
    MUST(model_net_add_subnet(fx->net, fx->hub, "GatewaySubnet", P("172.17.255.0/27"), &err));
    ModelSubnet *app =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-app", P("172.17.1.0/24"), &err));
    fx->vm = vm(fx, "vm", app, "172.17.1.4");
    fx->corp = MUST(model_net_add_onprem(fx->net, "corp", &corp, 1, &err));
    fx->pc = onprem(fx, "pc", "172.17.5.5");
    ModelHost *far = onprem(fx, "far", "172.20.0.5");
    add_s2s(fx);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "vm-pc", fx->vm, "172.17.5.5", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ADDRESS_OVERLAP, "vnet-ml");
    assert_true(has_step(fx, "vm-pc", MODEL_STAGE_ROUTE, "vnet-ml", "drop", "corp behind vpngw"));
    /* The PC's SYN reaches the VM (the VNet's /16 is longer than corp's /12 on-prem), but
     * the SYN/ACK for 172.17.5.5 is kept in the VNet the same way. */
    expect(run_tcp(fx, "pc-vm", fx->pc, "172.17.1.4", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ADDRESS_OVERLAP, "vnet-ml");
    assert_true(has_step(fx, "pc-vm", MODEL_STAGE_LISTENER, "vm", "accept", NULL));
    /* Outside the shared range the gateway route for 172.16.0.0/12 carries the reply. */
    expect(run_tcp(fx, "far-vm", far, "172.17.1.4", 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "vm");
    fx_free(fx);

    /* Equal ranges: the LAN's connected route wins on-prem. */
    fx = g_new0(Fx, 1);
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix same = P("172.17.0.0/16");
    fx->hub = MUST(model_net_add_vnet(fx->net, "vnet-ml", &same, 1, &err));
    MUST(model_net_add_subnet(fx->net, fx->hub, "GatewaySubnet", P("172.17.255.0/27"), &err));
    app = MUST(model_net_add_subnet(fx->net, fx->hub, "snet-app", P("172.17.1.0/24"), &err));
    fx->vm = vm(fx, "vm", app, "172.17.1.4");
    fx->corp = MUST(model_net_add_onprem(fx->net, "corp", &same, 1, &err));
    fx->pc = onprem(fx, "pc", "172.17.5.5");
    add_s2s(fx);
    fx_start(fx, false);
    v = run_tcp(fx, "pc-vm", fx->pc, "172.17.1.4", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ADDRESS_OVERLAP, "corp");
    fx_free(fx);
}

/* The P2S pool must not overlap the VNet (azure-facts.md §6): the client's SYN gets in,
 * but the VM's SYN/ACK for a pool address inside the VNet range takes the VNet's route and
 * never reaches the gateway. */
static void p2s_pool_overlapping_the_vnet_loses_the_replies(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    add_p2s(fx, "10.0.200.0/24", "10.0.200.10");
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "ssh", fx->laptop, "10.0.2.4", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ADDRESS_OVERLAP, "vnet-hub");
    assert_true(has_step(fx, "ssh", MODEL_STAGE_LISTENER, "vm", "accept", NULL));
    assert_non_null(strstr(v->hint, "must not overlap"));
    fx_free(fx);
}

/* ---- configuration Azure refuses ---- */

static void expect_error(GError **err, const char *needle)
{
    assert_non_null(*err);
    if (!strstr((*err)->message, needle))
        fail_msg("error '%s' lacks '%s'", (*err)->message, needle);
    g_clear_error(err);
}

static void finalize_fails(Fx *fx, const char *needle)
{
    GError *err = NULL;
    assert_false(model_net_finalize(fx->net, &err));
    expect_error(&err, needle);
    fx_free(fx);
}

/* GatewaySubnet: named exactly that, nothing else in it, no NSG, no 0.0.0.0/0 UDR,
 * propagation on; one gateway of each kind; P2S needs a VPN gateway; useRemoteGateways
 * needs the hub's gateway and transit, and no gateway of the spoke's own. */
static void gateway_subnet_misuse_is_rejected(void **state)
{
    (void)state;
    GError *err = NULL;
    ModelPrefix space = P("10.9.0.0/16");

    /* Named otherwise. */
    ModelNet *net = model_net_new("eastus", NULL);
    ModelVnet *v = MUST(model_net_add_vnet(net, "vnet-x", &space, 1, &err));
    MUST(model_net_add_subnet(net, v, "gatewaysubnet", P("10.9.255.0/27"), &err));
    assert_null(model_net_add_gateway(net, "gw", MODEL_GATEWAY_VPN, v, &err));
    expect_error(&err, "no subnet named exactly 'GatewaySubnet' (found 'gatewaysubnet')");
    model_net_free(net);

    /* A second VPN gateway; P2S on ExpressRoute. */
    Fx *fx = fx_new();
    add_vpn(fx);
    assert_null(model_net_add_gateway(fx->net, "vpngw2", MODEL_GATEWAY_VPN, fx->hub, &err));
    expect_error(&err, "already has VPN gateway 'vpngw'");
    fx->ergw =
        MUST(model_net_add_gateway(fx->net, "ergw", MODEL_GATEWAY_EXPRESSROUTE, fx->hub, &err));
    assert_false(model_gateway_set_p2s_pool(fx->ergw, P("172.16.201.0/24"), &err));
    expect_error(&err, "point-to-site needs a VPN gateway");
    fx_free(fx);

    /* An NSG on it. */
    fx = fx_new();
    add_s2s(fx);
    model_subnet_set_nsg(fx->gw_sub, MUST(model_net_add_nsg(fx->net, "nsg-gw", &err)));
    finalize_fails(fx, "NSGs on the gateway subnet aren't supported");

    /* A VM in it. */
    fx = fx_new();
    add_s2s(fx);
    vm(fx, "intruder", fx->gw_sub, "10.0.255.10");
    finalize_fails(fx, "don't deploy VMs or anything else to the gateway subnet");

    /* A 0.0.0.0/0 UDR, or propagation disabled. */
    fx = fx_new();
    add_s2s(fx);
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-gw", &err));
    OK(model_route_table_add(rt, "default", "0.0.0.0/0", "VirtualAppliance", "10.0.2.4", 0, NULL,
                             NULL, &err));
    model_subnet_set_route_table(fx->gw_sub, rt);
    finalize_fails(fx, "0.0.0.0/0 destination on the GatewaySubnet are not supported");
    fx = fx_new();
    add_s2s(fx);
    rt = MUST(model_net_add_route_table(fx->net, "rt-gw", &err));
    rt->disable_bgp_route_propagation = true;
    model_subnet_set_route_table(fx->gw_sub, rt);
    finalize_fails(fx, "will not function");

    /* useRemoteGateways: not peered; the hub does not allow transit; the spoke has its
     * own gateway. */
    fx = fx_new();
    ModelPrefix far = P("10.7.0.0/16");
    ModelVnet *lonely = MUST(model_net_add_vnet(fx->net, "vnet-far", &far, 1, &err));
    assert_false(model_net_set_gateway_transit(fx->net, lonely, fx->hub, false, true, &err));
    expect_error(&err, "are not peered");
    add_s2s(fx);
    OK(model_net_set_gateway_transit(fx->net, fx->spoke, fx->hub, false, true, &err));
    finalize_fails(fx, "does not allow gateway transit");
    fx = fx_new();
    add_s2s(fx);
    set_transit(fx, true);
    MUST(model_net_add_subnet(fx->net, fx->spoke, "GatewaySubnet", P("10.1.255.0/27"), &err));
    MUST(model_net_add_gateway(fx->net, "spokegw", MODEL_GATEWAY_VPN, fx->spoke, &err));
    finalize_fails(fx, "a virtual network with a gateway can't use remote gateways");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(p2s_client_reaches_vm_and_private_endpoint_through_the_gateway),
        cmocka_unit_test(p2s_client_cannot_use_azure_dns),
        cmocka_unit_test(p2s_client_uses_vnet_custom_dns_and_resolves_the_private_endpoint),
        cmocka_unit_test(p2s_client_reaches_onprem_only_over_a_bgp_connection),
        cmocka_unit_test(s2s_onprem_and_vm_reach_each_other_by_gateway_routes),
        cmocka_unit_test(connected_onprem_range_is_in_the_virtual_network_tag),
        cmocka_unit_test(onprem_conditional_forwarder_resolves_private_endpoint_over_the_tunnel),
        cmocka_unit_test(onprem_without_conditional_forwarder_goes_public_through_the_corp_nat),
        cmocka_unit_test(disabled_route_propagation_drops_vm_to_onprem_at_the_reserved_none_route),
        cmocka_unit_test(vpn_connection_not_connected_drops_at_the_gateway),
        cmocka_unit_test(udr_to_gateway_without_a_gateway_is_not_connected),
        cmocka_unit_test(udr_to_vpn_gateway_sends_traffic_through_it),
        cmocka_unit_test(expressroute_carries_onprem_traffic_with_bgp_routes),
        cmocka_unit_test(expressroute_is_preferred_over_vpn_for_the_same_prefix),
        cmocka_unit_test(expressroute_takes_no_udr_and_withdraws_routes_when_down),
        cmocka_unit_test(spoke_reaches_onprem_through_hub_gateway_transit),
        cmocka_unit_test(spoke_without_use_remote_gateways_cannot_reach_onprem),
        cmocka_unit_test(onprem_range_overlapping_the_vnet_never_reaches_the_gateway),
        cmocka_unit_test(p2s_pool_overlapping_the_vnet_loses_the_replies),
        cmocka_unit_test(gateway_subnet_misuse_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
