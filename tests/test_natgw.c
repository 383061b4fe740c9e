/*
 * NAT gateway: a subnet's internet egress SNATed to the gateway's addresses, before the
 * instance public IP; nothing unsolicited inbound; a UDR to an appliance still wins; on
 * AzureFirewallSubnet it gives the firewall's (and so the spokes') traffic its address.
 *
 * Source: azdocs:articles/nat-gateway/nat-overview.md ("Outbound connectivity follows this
 * order of precedence …", "Unsolicited inbound connections from the internet aren't
 * permitted through a NAT gateway", the configuration limits),
 * azdocs:articles/firewall/integrate-with-nat-gateway.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "model/net.h"
#include "model/net_internal.h" /* model__client_port, to make two flows share a port */
#include "sim/sim.h"
#include "testnet.h"
#include "tshark_util.h"

#define NATGW_IP "20.120.0.1"
#define VM_PIP   "4.157.2.10"
#define WEB_IP   "93.184.216.34"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *vnet;
    ModelSubnet *app, *nva_sub;
    ModelHost *vm, *web;
    ModelNic *vm_nic;
    ModelNatGw *natgw;
    char *pcap_dir;
} Fx;

/* vnet 10.0.0.0/16: snet-app 10.0.1.0/24 (vm .4, with an instance public IP, listening on
 * 22), snet-nva 10.0.2.0/24; NAT gateway natgw (20.120.0.1) on snet-app; a web server. */
static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix space = tn_prefix("10.0.0.0/16");
    fx->vnet = MUST(model_net_add_vnet(fx->net, "vnet", &space, 1, &err));
    fx->app =
        MUST(model_net_add_subnet(fx->net, fx->vnet, "snet-app", tn_prefix("10.0.1.0/24"), &err));
    fx->nva_sub =
        MUST(model_net_add_subnet(fx->net, fx->vnet, "snet-nva", tn_prefix("10.0.2.0/24"), &err));
    fx->vm = MUST(model_net_add_host(fx->net, "vm", MODEL_HOST_VM, &err));
    fx->vm_nic = MUST(model_net_add_nic(fx->net, fx->vm, fx->app, "nic0", tn_ip("10.0.1.4"), &err));
    OK(model_nic_set_public_ip(fx->net, fx->vm_nic, tn_ip(VM_PIP), &err));
    model_host_listen(fx->vm, 6, 22);
    fx->web = MUST(model_net_add_host(fx->net, "web", MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, fx->web, tn_ip(WEB_IP), &err));
    model_host_listen(fx->web, 6, 443);
    uint32_t ip = tn_ip(NATGW_IP);
    fx->natgw = MUST(model_net_add_nat_gateway(fx->net, "natgw", &ip, 1, &err));
    OK(model_subnet_set_nat_gateway(fx->app, fx->natgw, &err));
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(3);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-natgw-XXXXXX", NULL);
    OK(model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err));
}

static void fx_free(Fx *fx)
{
    model_net_close_captures(fx->net, false, NULL);
    model_net_free(fx->net);
    model_trace_free(fx->trace);
    assert_int_equal(sim_pending(fx->engine), 0);
    sim_engine_free(fx->engine);
    if (fx->pcap_dir) {
        tn_remove_tree(fx->pcap_dir);
        g_free(fx->pcap_dir);
    }
    g_free(fx);
}

static const ModelVerdictRecord *run_tcp(Fx *fx, const char *flow, ModelHost *from, const char *dst,
                                         uint16_t port)
{
    model_net_start_tcp(fx->net, flow, from, tn_ip(dst), port, sim_now(fx->engine));
    sim_run(fx->engine);
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    assert_non_null(v);
    return v;
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("flow %s: got %s %s at %s, want %s %s at %s", v->flow,
                 model_verdict_name(v->verdict), model_cause_name(v->cause), v->at,
                 model_verdict_name(verdict), model_cause_name(cause), at ? at : "*");
}

static void assert_captures_clean(Fx *fx)
{
    GError *err = NULL;
    OK(model_net_close_captures(fx->net, true, &err));
    GDir *d = g_dir_open(fx->pcap_dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(fx->pcap_dir, name, NULL);
        if (tshark_count(path, TSHARK_BAD_FRAMES) != 0)
            fail_msg("%s has frames tshark flags", name);
    }
    if (d)
        g_dir_close(d);
}

static char *syn_source(Fx *fx, const char *file)
{
    g_autofree char *path = g_build_filename(fx->pcap_dir, file, NULL);
    const char *fields[] = {"ip.src"};
    gchar **lines = tshark_fields(path, "tcp.flags.syn == 1 && tcp.flags.ack == 0", fields, 1);
    assert_non_null(lines);
    char *line = g_strdup(lines[0] ? lines[0] : "");
    g_strfreev(lines);
    return line;
}

/* "NAT gateway >> Instance-level public IP address on a virtual machine": the VM has a
 * public IP of its own, yet the web server sees the NAT gateway's address. */
static void nat_gateway_address_is_used_instead_of_the_instance_public_ip(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    fx_start(fx, true);
    expect(run_tcp(fx, "out", fx->vm, WEB_IP, 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    assert_true(tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "-> " NATGW_IP ":"));
    assert_true(
        tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "(NAT gateway natgw)"));
    assert_captures_clean(fx);
    g_autofree char *src = syn_source(fx, "web-inet0.pcap");
    assert_string_equal(src, NATGW_IP);
    fx_free(fx);
}

/* The instance public IP still takes inbound connections, and their replies leave the way
 * the request came in (the NAT gateway only translates flows it saw begin). */
static void inbound_to_instance_public_ip_is_answered_from_that_ip(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    fx_start(fx, true);
    expect(run_tcp(fx, "ssh-in", fx->web, VM_PIP, 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "vm");
    assert_captures_clean(fx);
    g_autofree char *path = g_build_filename(fx->pcap_dir, "web-inet0.pcap", NULL);
    const char *fields[] = {"ip.src"};
    gchar **lines = tshark_fields(path, "tcp.flags.syn == 1 && tcp.flags.ack == 1", fields, 1);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], VM_PIP);
    g_strfreev(lines);
    fx_free(fx);
}

/* "Unsolicited inbound connections from the internet aren't permitted through a NAT
 * gateway": a SYN to its address dies there. */
static void unsolicited_inbound_to_nat_gateway_address_is_dropped(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "in", fx->web, NATGW_IP, 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_HOST_UNREACHABLE, "natgw");
    assert_true(tn_has_step(fx->trace, "in", MODEL_STAGE_NAT, "natgw", "drop",
                            "aren't permitted through a NAT gateway"));
    /* While the answer to an outbound flow does come back through it. */
    expect(run_tcp(fx, "out", fx->vm, WEB_IP, 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    fx_free(fx);
}

/* "Virtual appliance UDR … >> NAT gateway": with 0.0.0.0/0 to an appliance the packet
 * leaves from the appliance's subnet, which has no NAT gateway. */
static void udr_to_virtual_appliance_takes_precedence_over_nat_gateway(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelHost *nva = MUST(model_net_add_host(fx->net, "nva", MODEL_HOST_APPLIANCE, &err));
    ModelNic *nic =
        MUST(model_net_add_nic(fx->net, nva, fx->nva_sub, "nic0", tn_ip("10.0.2.4"), &err));
    model_nic_set_ip_forwarding(nic, true);
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    OK(model_route_table_add(rt, "to-nva", "0.0.0.0/0", "VirtualAppliance", "10.0.2.4", 0, NULL,
                             NULL, &err));
    model_subnet_set_route_table(fx->app, rt);
    fx_start(fx, false);
    expect(run_tcp(fx, "out", fx->vm, WEB_IP, 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    assert_false(tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "NAT gateway"));
    assert_true(
        tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "default outbound access"));
    fx_free(fx);
}

/* A NAT gateway on AzureFirewallSubnet: spoke traffic leaves the firewall with the NAT
 * gateway's address (integrate-with-nat-gateway.md). */
static void nat_gateway_on_firewall_subnet_gives_firewall_traffic_its_address(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelSubnet *fw_sub = MUST(model_net_add_subnet(fx->net, fx->vnet, "AzureFirewallSubnet",
                                                    tn_prefix("10.0.3.0/26"), &err));
    ModelAzfw *fw = MUST(model_net_add_firewall(fx->net, "azfw", fw_sub, tn_ip("10.0.3.4"),
                                                tn_ip("4.157.0.4"), &err));
    uint32_t ip = tn_ip("20.120.0.2");
    ModelNatGw *fw_nat = MUST(model_net_add_nat_gateway(fx->net, "natgw-fw", &ip, 1, &err));
    OK(model_subnet_set_nat_gateway(fw_sub, fw_nat, &err));
    ModelAzfwGroup *g = MUST(model_azfw_add_group(fw, "rcg", 100, &err));
    ModelAzfwCollection *c = MUST(
        model_azfw_add_collection(g, "web", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW, &err));
    const char *src[] = {"10.0.1.0/24", NULL}, *protos[] = {"TCP", NULL}, *dst[] = {WEB_IP, NULL},
               *ports[] = {"443", NULL};
    ModelAzfwNetworkRule r = {.name = "web-443",
                              .ip_protocols = protos,
                              .source_addresses = src,
                              .destination_addresses = dst,
                              .destination_ports = ports};
    OK(model_azfw_add_network_rule(c, &r, &err));
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-app", &err));
    OK(model_route_table_add(rt, "to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.3.4", 0, NULL,
                             NULL, &err));
    model_subnet_set_route_table(fx->app, rt);
    fx_start(fx, false);
    expect(run_tcp(fx, "out", fx->vm, WEB_IP, 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    assert_true(tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "-> 20.120.0.2:"));
    assert_true(
        tn_has_step(fx->trace, "out", MODEL_STAGE_NAT, NULL, "snat", "(NAT gateway natgw-fw)"));
    fx_free(fx);
}

/* Two VMs behind one NAT gateway whose connections to the same server start from the same
 * client port: the gateway translates ports as well as addresses (SNAT port allocation,
 * azdocs:articles/nat-gateway/nat-gateway-resource.md), so the second leaves from another
 * public port and both replies find their VM. */
static void nat_gateway_translates_ports_of_vms_sharing_its_address(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelHost *vm2 = MUST(model_net_add_host(fx->net, "vm2", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, vm2, fx->app, "nic0", tn_ip("10.0.1.5"), &err));
    /* A second flow name whose client port equals the first's (ports come from names). */
    ModelNet *scratch = model_net_new("eastus", NULL);
    ModelHost *h1 = MUST(model_net_add_host(scratch, "h1", MODEL_HOST_VM, &err));
    uint16_t port = model__client_port(h1, "a", 0);
    g_autofree char *other = NULL;
    for (unsigned i = 0; !other && i < 1000000; i++) {
        g_autofree char *name = g_strdup_printf("b%u", i);
        g_autofree char *hn = g_strdup_printf("t%u", i);
        ModelHost *t = MUST(model_net_add_host(scratch, hn, MODEL_HOST_VM, &err));
        if (model__client_port(t, name, 0) == port)
            other = g_strdup(name);
    }
    assert_non_null(other);
    model_net_free(scratch);
    fx_start(fx, false);
    model_net_start_tcp(fx->net, "a", fx->vm, tn_ip(WEB_IP), 443, 0);
    /* The second connection outlives the first: TLS and a request after the handshake. */
    ModelFlowSpec longer = {.name = other,
                            .from = vm2,
                            .ip = tn_ip(WEB_IP),
                            .port = 443,
                            .proto = MODEL_IPPROTO_TCP,
                            .tls = true,
                            .request = true};
    assert_true(model_net_start_flow(fx->net, &longer, 0) >= 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "a"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    expect(model_trace_find_verdict(fx->trace, other), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "web");
    g_autofree char *first = g_strdup_printf("10.0.1.4:%u -> " NATGW_IP ":%u", port, port);
    g_autofree char *second =
        g_strdup_printf("10.0.1.5:%u -> " NATGW_IP ":%u", port, port == 65535 ? 49152 : port + 1);
    assert_true(tn_has_step(fx->trace, "a", MODEL_STAGE_NAT, NULL, "snat", first));
    /* Every packet of the second keeps its public port, also once the first has ended and
     * freed the port it stepped aside from. */
    size_t n = 0, snats = 0;
    const ModelStepRecord *steps = model_trace_steps(fx->trace, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(steps[i].flow, other) != 0 || steps[i].stage != MODEL_STAGE_NAT ||
            strcmp(steps[i].action, "snat") != 0)
            continue;
        if (!strstr(steps[i].detail, second))
            fail_msg("%s moved: %s", other, steps[i].detail);
        snats++;
    }
    assert_true(snats >= 4); /* SYN, ACK, ClientHello, request */
    const ModelVerdictRecord *va = model_trace_find_verdict(fx->trace, "a");
    const ModelVerdictRecord *vb = model_trace_find_verdict(fx->trace, other);
    assert_true(va->t_ns < vb->t_ns);
    fx_free(fx);
}

static void nat_gateway_configuration_limits_are_enforced(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    uint32_t ips[17];
    for (int i = 0; i < 17; i++)
        ips[i] = tn_ip("20.121.0.1") + (uint32_t)i;
    assert_null(model_net_add_nat_gateway(fx->net, "too-many", ips, 17, &err));
    g_clear_error(&err);
    uint32_t private_ip = tn_ip("10.9.9.9");
    assert_null(model_net_add_nat_gateway(fx->net, "private", &private_ip, 1, &err));
    g_clear_error(&err);
    ModelSubnet *gw = MUST(
        model_net_add_subnet(fx->net, fx->vnet, "GatewaySubnet", tn_prefix("10.0.255.0/27"), &err));
    assert_false(model_subnet_set_nat_gateway(gw, fx->natgw, &err));
    g_clear_error(&err);
    ModelPrefix other = tn_prefix("10.5.0.0/16");
    ModelVnet *v2 = MUST(model_net_add_vnet(fx->net, "vnet2", &other, 1, &err));
    ModelSubnet *s2 =
        MUST(model_net_add_subnet(fx->net, v2, "snet", tn_prefix("10.5.1.0/24"), &err));
    assert_false(model_subnet_set_nat_gateway(s2, fx->natgw, &err));
    assert_non_null(strstr(err->message, "can't span multiple virtual networks"));
    g_clear_error(&err);
    /* Two addresses: every one of them refuses unsolicited traffic. */
    uint32_t two[] = {tn_ip("20.122.0.1"), tn_ip("20.122.0.2")};
    MUST(model_net_add_nat_gateway(fx->net, "natgw2", two, 2, &err));
    fx_start(fx, false);
    expect(run_tcp(fx, "second-ip", fx->web, "20.122.0.2", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_HOST_UNREACHABLE, "natgw2");
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nat_gateway_address_is_used_instead_of_the_instance_public_ip),
        cmocka_unit_test(inbound_to_instance_public_ip_is_answered_from_that_ip),
        cmocka_unit_test(unsolicited_inbound_to_nat_gateway_address_is_dropped),
        cmocka_unit_test(udr_to_virtual_appliance_takes_precedence_over_nat_gateway),
        cmocka_unit_test(nat_gateway_on_firewall_subnet_gives_firewall_traffic_its_address),
        cmocka_unit_test(nat_gateway_translates_ports_of_vms_sharing_its_address),
        cmocka_unit_test(nat_gateway_configuration_limits_are_enforced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
