/*
 * Hop-by-hop forwarding on hand-built topologies: each test builds the smallest network
 * that shows one documented Azure behaviour, replays a flow, and checks the verdict, the
 * cause and the deciding object — outcomes that emerge from packets meeting configuration.
 *
 * Sources: azdocs:articles/virtual-network/network-security-groups-overview.md (default
 * rules, priorities), network-security-group-how-it-works.md (order, flow records),
 * virtual-networks-udr-overview.md (routes), disable-private-endpoint-network-policy.md,
 * what-is-ip-address-168-63-129-16.md.
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
#include "sim/sim.h"
#include "testnet.h"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *va, *vb;
    ModelSubnet *app, *nva_sub, *pe_sub, *sb;
    ModelHost *a1, *a2, *nva, *b1, *web, *store, *azdns;
    ModelNic *a1_nic, *a2_nic, *nva_nic;
    char *pcap_dir;
} Fx;

#define P  tn_prefix
#define IP tn_ip

/* vnet-a 10.1.0.0/16: snet-nva 10.1.0.0/24 (nva .4), snet-app 10.1.1.0/24 (a1 .4, a2 .5),
 *                     snet-pe 10.1.2.0/24 (private endpoint .5 -> service "store")
 * vnet-b 10.2.0.0/16: snet-b 10.2.1.0/24 (b1 .4)
 * internet: web 93.184.216.34, store's public endpoint 20.60.0.4, Azure DNS 168.63.129.16 */
static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix a = P("10.1.0.0/16"), b = P("10.2.0.0/16");
    fx->va = MUST(model_net_add_vnet(fx->net, "vnet-a", &a, 1, &err));
    fx->vb = MUST(model_net_add_vnet(fx->net, "vnet-b", &b, 1, &err));
    fx->nva_sub = MUST(model_net_add_subnet(fx->net, fx->va, "snet-nva", P("10.1.0.0/24"), &err));
    fx->app = MUST(model_net_add_subnet(fx->net, fx->va, "snet-app", P("10.1.1.0/24"), &err));
    fx->pe_sub = MUST(model_net_add_subnet(fx->net, fx->va, "snet-pe", P("10.1.2.0/24"), &err));
    fx->sb = MUST(model_net_add_subnet(fx->net, fx->vb, "snet-b", P("10.2.1.0/24"), &err));
    fx->a1 = MUST(model_net_add_host(fx->net, "a1", MODEL_HOST_VM, &err));
    fx->a2 = MUST(model_net_add_host(fx->net, "a2", MODEL_HOST_VM, &err));
    fx->nva = MUST(model_net_add_host(fx->net, "nva", MODEL_HOST_APPLIANCE, &err));
    fx->b1 = MUST(model_net_add_host(fx->net, "b1", MODEL_HOST_VM, &err));
    fx->web = MUST(model_net_add_host(fx->net, "web", MODEL_HOST_INTERNET, &err));
    fx->store = MUST(model_net_add_host(fx->net, "store", MODEL_HOST_SERVICE, &err));
    fx->azdns = MUST(model_net_add_host(fx->net, "azure-dns", MODEL_HOST_SERVICE, &err));
    fx->a1_nic = MUST(model_net_add_nic(fx->net, fx->a1, fx->app, "nic0", IP("10.1.1.4"), &err));
    fx->a2_nic = MUST(model_net_add_nic(fx->net, fx->a2, fx->app, "nic0", IP("10.1.1.5"), &err));
    fx->nva_nic =
        MUST(model_net_add_nic(fx->net, fx->nva, fx->nva_sub, "nic0", IP("10.1.0.4"), &err));
    MUST(model_net_add_nic(fx->net, fx->b1, fx->sb, "nic0", IP("10.2.1.4"), &err));
    OK(model_host_set_public_ip(fx->net, fx->web, IP("93.184.216.34"), &err));
    OK(model_host_set_public_ip(fx->net, fx->store, IP("20.60.0.4"), &err));
    OK(model_host_set_public_ip(fx->net, fx->azdns, IP("168.63.129.16"), &err));
    MUST(model_net_add_private_endpoint(fx->net, "pe-store", fx->pe_sub, IP("10.1.2.5"), fx->store,
                                        &err));
    ModelHost *listeners[] = {fx->a1, fx->a2, fx->b1, fx->web, fx->store};
    for (size_t i = 0; i < G_N_ELEMENTS(listeners); i++) {
        model_host_listen(listeners[i], 6, 443);
        model_host_listen(listeners[i], 6, 22);
    }
    model_host_listen(fx->azdns, 17, 53);
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    if (!model_net_finalize(fx->net, &err))
        fail_msg("finalize: %s", err->message);
    fx->engine = sim_engine_new(1);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-fwd-XXXXXX", NULL);
    if (!model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err))
        fail_msg("attach: %s", err->message);
}

static void fx_free(Fx *fx)
{
    model_net_close_captures(fx->net, false, NULL);
    model_net_free(fx->net);
    model_trace_free(fx->trace);
    assert_int_equal(sim_pending(fx->engine), 0);
    sim_engine_free(fx->engine);
    if (fx->pcap_dir)
        tn_remove_tree(fx->pcap_dir);
    g_free(fx->pcap_dir);
    g_free(fx);
}

static const ModelVerdictRecord *run_tcp(Fx *fx, const char *flow, ModelHost *from, const char *dst,
                                         uint16_t port)
{
    model_net_start_tcp(fx->net, flow, from, IP(dst), port, 0);
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

/* True when the flow has a step at `stage` decided by `object` with `action`. */
static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *object,
                     const char *action)
{
    return tn_has_step(fx->trace, flow, stage, object, action, NULL);
}

static ModelNsg *nsg_with(Fx *fx, const char *name)
{
    GError *err = NULL;
    return MUST(model_net_add_nsg(fx->net, name, &err));
}

static void add_rule(ModelNsg *nsg, const char *name, int prio, ModelDirection dir,
                     ModelAccess access, ModelNsgProtocol proto, const char *src, const char *dst,
                     const char *dports)
{
    GError *err = NULL;
    ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, access, proto);
    if (!model_nsg_rule_add_address(r, MODEL_NSG_SRC, src, &err) ||
        !model_nsg_rule_add_address(r, MODEL_NSG_DST, dst, &err) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_DST, dports, &err) ||
        !model_nsg_add_rule(nsg, r, &err))
        fail_msg("rule %s: %s", name, err->message);
}

static void add_route(ModelRouteTable *t, const char *name, const char *prefix, const char *hop,
                      const char *ip)
{
    GError *err = NULL;
    if (!model_route_table_add(t, name, prefix, hop, ip, 0, NULL, NULL, &err))
        fail_msg("route %s: %s", name, err->message);
}

/* ---- NSGs ---- */

static void default_rules_allow_vnet_inbound(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    model_subnet_set_nsg(fx->app, nsg_with(fx, "nsg-app"));
    fx_start(fx, false);
    expect(run_tcp(fx, "a1-a2", fx->a1, "10.1.1.5", 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "a2");
    assert_true(has_step(fx, "a1-a2", MODEL_STAGE_NSG_IN, "nsg-app/AllowVnetInBound", "allow"));
    assert_true(has_step(fx, "a1-a2", MODEL_STAGE_NSG_OUT, "nsg-app/AllowVnetOutBound", "allow"));
    fx_free(fx);
}

static void default_rules_deny_internet_inbound(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    model_subnet_set_nsg(fx->app, nsg_with(fx, "nsg-app"));
    OK(model_nic_set_public_ip(fx->net, fx->a1_nic, IP("52.186.1.1"), &err));
    (void)err;
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "web-a1", fx->web, "52.186.1.1", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN, "nsg-app/DenyAllInBound");
    /* The inbound NSG saw the private address: DNAT happens first. */
    assert_true(has_step(fx, "web-a1", MODEL_STAGE_NAT, NULL, "dnat"));
    fx_free(fx);
}

static void deny_rule_overrides_vnet_allow_by_priority(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-app");
    add_rule(nsg, "DenySshFromVnet", 200, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP,
             "VirtualNetwork", "*", "22");
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    expect(run_tcp(fx, "ssh", fx->a1, "10.1.1.5", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-app/DenySshFromVnet");
    expect(run_tcp(fx, "https", fx->a1, "10.1.1.5", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "a2");
    fx_free(fx);
}

/* Inbound: subnet NSG first, then the NIC NSG; both must allow. */
static void inbound_subnet_nsg_then_nic_nsg_both_must_allow(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *sub = nsg_with(fx, "nsg-subnet"), *nic = nsg_with(fx, "nsg-nic");
    add_rule(sub, "AllowSsh", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP, "*",
             "*", "22");
    add_rule(nic, "DenySsh", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP, "*",
             "*", "22");
    model_subnet_set_nsg(fx->app, sub);
    model_nic_set_nsg(fx->a2_nic, nic);
    fx_start(fx, false);
    expect(run_tcp(fx, "ssh", fx->a1, "10.1.1.5", 22), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-nic/DenySsh");
    /* The subnet NSG was consulted first and allowed. */
    assert_true(has_step(fx, "ssh", MODEL_STAGE_NSG_IN, "nsg-subnet/AllowSsh", "allow"));
    fx_free(fx);
}

/* Outbound: NIC NSG first; its deny decides before the subnet NSG is consulted. */
static void outbound_nic_nsg_is_evaluated_before_subnet_nsg(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *sub = nsg_with(fx, "nsg-subnet"), *nic = nsg_with(fx, "nsg-nic");
    add_rule(sub, "DenyOut443", 100, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP,
             "*", "*", "443");
    add_rule(nic, "DenyOutAll443", 110, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP,
             "*", "*", "443");
    model_subnet_set_nsg(fx->app, sub);
    model_nic_set_nsg(fx->a1_nic, nic);
    fx_start(fx, false);
    expect(run_tcp(fx, "out", fx->a1, "10.2.1.4", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_OUT, "nsg-nic/DenyOutAll443");
    assert_false(has_step(fx, "out", MODEL_STAGE_NSG_OUT, "nsg-subnet/DenyOut443", "drop"));
    fx_free(fx);
}

/* Flow records: the SYN/ACK comes back although no inbound rule allows it. */
static void stateful_nsg_lets_return_traffic_in(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-a1");
    add_rule(nsg, "DenyAllIn", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY, "*",
             "*", "*");
    model_nic_set_nsg(fx->a1_nic, nsg);
    fx_start(fx, false);
    expect(run_tcp(fx, "out", fx->a1, "10.1.1.5", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "a2");
    assert_true(has_step(fx, "out", MODEL_STAGE_NSG_IN, "flow-record", "allow"));
    /* A new connection the other way is still denied. */
    expect(run_tcp(fx, "in", fx->a2, "10.1.1.4", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-a1/DenyAllIn");
    fx_free(fx);
}

static int retransmissions(Fx *fx, const char *flow)
{
    return tn_count_steps(fx->trace, flow, MODEL_STAGE_NSG_IN, NULL, "drop", NULL);
}

/* A denied SYN is retransmitted (RFC 6298 timer) before the flow gives up. */
static void denied_syn_is_retransmitted_then_the_flow_gives_up(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-app");
    add_rule(nsg, "DenySsh", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP, "*",
             "*", "22");
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "ssh", fx->a1, "10.1.1.5", 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN, "nsg-app/DenySsh");
    assert_int_equal(retransmissions(fx, "ssh"), 3); /* SYN + 2 retransmissions */
    assert_true(v->t_ns >= SIM_S(7));                /* 1 s + 2 s + 4 s of timers */
    fx_free(fx);
}

/* Rule changes apply to new connections only: the flow record keeps an existing one
 * going ("Modifying NSG rules only affects new connections", how-it-works.md). The rule
 * lands while the SYN/ACK is in flight; the handshake's last ACK still gets in. */
static void rule_change_affects_only_new_connections(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-a2");
    model_nic_set_nsg(fx->a2_nic, nsg);
    fx_start(fx, false);
    model_net_start_tcp(fx->net, "existing", fx->a1, IP("10.1.1.5"), 443, 0);
    sim_run_until(fx->engine, SIM_US(90)); /* SYN arrived (~60 us), final ACK not yet */
    add_rule(nsg, "DenyHttps", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP, "*",
             "*", "443");
    GError *err = NULL;
    if (!model_net_recompile_nsg(fx->net, nsg, &err))
        fail_msg("%s", err->message);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "existing"), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "a2");
    assert_true(has_step(fx, "existing", MODEL_STAGE_NSG_IN, "flow-record", "allow"));
    assert_false(has_step(fx, "existing", MODEL_STAGE_NSG_IN, "nsg-a2/DenyHttps", "drop"));
    expect(run_tcp(fx, "new", fx->a1, "10.1.1.5", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-a2/DenyHttps");
    fx_free(fx);
}

/* ---- routes ---- */

static ModelRouteTable *table(Fx *fx, const char *name, ModelSubnet *subnet)
{
    GError *err = NULL;
    ModelRouteTable *t = MUST(model_net_add_route_table(fx->net, name, &err));
    model_subnet_set_route_table(subnet, t);
    return t;
}

static void udr_to_appliance_sends_traffic_through_it(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "to-b-via-nva", "10.2.0.0/16", "VirtualAppliance", "10.1.0.4");
    GError *err = NULL;
    OK(model_net_peer(fx->net, fx->va, fx->vb, &err));
    (void)err;
    model_nic_set_ip_forwarding(fx->nva_nic, true);
    fx_start(fx, false);
    expect(run_tcp(fx, "a1-b1", fx->a1, "10.2.1.4", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "b1");
    assert_true(has_step(fx, "a1-b1", MODEL_STAGE_ROUTE, "rt-app/to-b-via-nva", "route"));
    assert_true(has_step(fx, "a1-b1", MODEL_STAGE_ROUTE, NULL, "forward"));
    fx_free(fx);
}

static void appliance_without_ip_forwarding_drops(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "to-b-via-nva", "10.2.0.0/16", "VirtualAppliance", "10.1.0.4");
    GError *err = NULL;
    OK(model_net_peer(fx->net, fx->va, fx->vb, &err));
    (void)err;
    fx_start(fx, false);
    expect(run_tcp(fx, "a1-b1", fx->a1, "10.2.1.4", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, "nva-nic0");
    fx_free(fx);
}

static void route_next_hop_none_drops(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "blackhole", "93.184.216.0/24", "None", NULL);
    fx_start(fx, false);
    expect(run_tcp(fx, "web", fx->a1, "93.184.216.34", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, "rt-app/blackhole");
    fx_free(fx);
}

/* Without a peering, 10.2.0.0/16 falls in the reserved 10.0.0.0/8 system route: None. */
static void unpeered_private_range_hits_reserved_none_route(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "a1-b1", fx->a1, "10.2.1.4", 443);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ROUTE_NEXT_HOP_NONE, NULL);
    fx_free(fx);
}

static void peering_carries_traffic_between_vnets(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    OK(model_net_peer(fx->net, fx->va, fx->vb, &err));
    (void)err;
    fx_start(fx, false);
    expect(run_tcp(fx, "a1-b1", fx->a1, "10.2.1.4", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "b1");
    assert_true(has_step(fx, "a1-b1", MODEL_STAGE_ROUTE, "peering:vnet-b", "route"));
    fx_free(fx);
}

/* Internet egress: default outbound access SNATs the private address. */
static void internet_egress_is_snatted_and_the_reply_comes_back(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    expect(run_tcp(fx, "web", fx->a1, "93.184.216.34", 443), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "web");
    assert_true(has_step(fx, "web", MODEL_STAGE_NAT, NULL, "dnat"));
    /* Every packet of the connection leaves from the same public address. */
    int snats = tn_count_steps(fx->trace, "web", MODEL_STAGE_NAT, NULL, "snat", NULL);
    assert_true(snats >= 2); /* SYN and ACK */
    assert_int_equal(
        tn_count_steps(fx->trace, "web", MODEL_STAGE_NAT, NULL, "snat", "-> 52.186.0.10:"), snats);
    fx_free(fx);
}

/* Forced tunneling: 0.0.0.0/0 to an appliance sends internet traffic through it. */
static void forced_tunneling_sends_internet_traffic_to_the_appliance(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "default-to-nva", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    model_nic_set_ip_forwarding(fx->nva_nic, true);
    fx_start(fx, false);
    expect(run_tcp(fx, "web", fx->a1, "93.184.216.34", 443), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "web");
    assert_true(has_step(fx, "web", MODEL_STAGE_ROUTE, "rt-app/default-to-nva", "route"));
    assert_true(has_step(fx, "web", MODEL_STAGE_ROUTE, NULL, "forward"));
    /* VNet-local traffic stays local: the VNet route is more specific. */
    expect(run_tcp(fx, "local", fx->a1, "10.1.1.5", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "a2");
    assert_false(has_step(fx, "local", MODEL_STAGE_ROUTE, NULL, "forward"));
    fx_free(fx);
}

/* Forced tunneling breaks direct inbound from the internet: the reply goes to the
 * stateful appliance, which never saw the SYN. */
static void forced_tunneling_makes_inbound_replies_asymmetric(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "default-to-nva", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    model_nic_set_ip_forwarding(fx->nva_nic, true);
    OK(model_nic_set_public_ip(fx->net, fx->a1_nic, IP("52.186.1.1"), &err));
    (void)err;
    fx_start(fx, false);
    expect(run_tcp(fx, "inbound", fx->web, "52.186.1.1", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ASYMMETRIC_RETURN, "nva");
    fx_free(fx);
}

static void appliances_pointing_at_each_other_loop_until_ttl_expires(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    /* nva (snet-nva) and nva2 (snet-app) each route the web prefix to the other. */
    ModelHost *nva2 = MUST(model_net_add_host(fx->net, "nva2", MODEL_HOST_APPLIANCE, &err));
    ModelNic *nic2 = MUST(model_net_add_nic(fx->net, nva2, fx->app, "nic0", IP("10.1.1.6"), &err));
    model_host_set_stateful(fx->nva, false);
    model_host_set_stateful(nva2, false);
    model_nic_set_ip_forwarding(fx->nva_nic, true);
    model_nic_set_ip_forwarding(nic2, true);
    add_route(table(fx, "rt-app", fx->app), "web-via-nva", "93.184.216.0/24", "VirtualAppliance",
              "10.1.0.4");
    add_route(table(fx, "rt-nva", fx->nva_sub), "web-via-nva2", "93.184.216.0/24",
              "VirtualAppliance", "10.1.1.6");
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_tcp(fx, "loop", fx->a1, "93.184.216.34", 443);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_ROUTING_LOOP, NULL);
    fx_free(fx);
}

/* A service endpoint route (the service's regional prefixes) is longer than a forced
 * tunnel's 0.0.0.0/0 and keeps the VM's private source address
 * (azdocs:articles/virtual-network/virtual-network-service-endpoints-overview.md). */
static void service_endpoint_beats_forced_tunneling_and_keeps_private_source(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    add_route(table(fx, "rt-app", fx->app), "default-to-nva", "0.0.0.0/0", "VirtualAppliance",
              "10.1.0.4"); /* IP forwarding off: anything sent there would be lost */
    OK(model_subnet_add_service_endpoint(fx->app, "Microsoft.Storage", &err));
    assert_false(model_subnet_add_service_endpoint(fx->app, "Microsoft.Nope", &err));
    g_clear_error(&err);
    fx_start(fx, false);
    expect(run_tcp(fx, "se", fx->a1, "20.60.0.4", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "store");
    assert_true(has_step(fx, "se", MODEL_STAGE_NAT, NULL, "keep-source"));
    assert_false(has_step(fx, "se", MODEL_STAGE_NAT, NULL, "snat"));
    /* Another region's storage is not covered: it takes the forced tunnel and is lost. */
    expect(run_tcp(fx, "other", fx->a1, "93.184.216.34", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE, NULL);
    fx_free(fx);
}

/* VirtualNetwork includes "address prefixes used on user-defined routes"; Internet is
 * the public space outside it (azdocs:articles/virtual-network/service-tags-overview.md).
 * A UDR for the web's prefix thus moves the web from Internet to VirtualNetwork. */
static void udr_prefixes_join_the_virtual_network_tag(void **state)
{
    (void)state;
    for (int with_udr = 0; with_udr <= 1; with_udr++) {
        Fx *fx = fx_new();
        GError *err = NULL;
        ModelNsg *nsg = nsg_with(fx, "nsg-app");
        add_rule(nsg, "DenyInternetHttps", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY,
                 MODEL_NSG_PROTO_TCP, "Internet", "*", "443");
        model_subnet_set_nsg(fx->app, nsg);
        OK(model_nic_set_public_ip(fx->net, fx->a1_nic, IP("52.186.1.1"), &err));
        (void)err;
        if (with_udr)
            add_route(table(fx, "rt-app", fx->app), "web-direct", "93.184.216.0/24", "Internet",
                      NULL);
        fx_start(fx, false);
        const ModelVerdictRecord *v = run_tcp(fx, "in", fx->web, "52.186.1.1", 443);
        if (with_udr)
            expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "a1");
        else
            expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN,
                   "nsg-app/DenyInternetHttps");
        fx_free(fx);
    }
}

/* Peered VNets are in each other's VirtualNetwork tag. */
static void peered_vnet_is_in_the_virtual_network_tag(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelNsg *nsg = nsg_with(fx, "nsg-b");
    add_rule(nsg, "DenyVnetHttps", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP,
             "VirtualNetwork", "*", "443");
    model_subnet_set_nsg(fx->sb, nsg);
    OK(model_net_peer(fx->net, fx->va, fx->vb, &err));
    (void)err;
    fx_start(fx, false);
    expect(run_tcp(fx, "a1-b1", fx->a1, "10.2.1.4", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-b/DenyVnetHttps");
    fx_free(fx);
}

/* ---- private endpoints ---- */

static ModelNsg *deny_https_in(Fx *fx)
{
    ModelNsg *nsg = nsg_with(fx, "nsg-pe");
    add_rule(nsg, "DenyHttpsIn", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP,
             "*", "*", "443");
    model_subnet_set_nsg(fx->pe_sub, nsg);
    return nsg;
}

static void private_endpoint_ignores_nsg_when_network_policies_disabled(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    deny_https_in(fx);
    fx_start(fx, false);
    expect(run_tcp(fx, "pe", fx->a1, "10.1.2.5", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "store");
    assert_true(has_step(fx, "pe", MODEL_STAGE_NSG_IN, "nsg-pe", "skip"));
    fx_free(fx);
}

static void private_endpoint_obeys_nsg_when_network_policies_enabled(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    deny_https_in(fx);
    model_subnet_set_pe_policies(fx->pe_sub, MODEL_PE_POLICIES_NSG);
    fx_start(fx, false);
    expect(run_tcp(fx, "pe", fx->a1, "10.1.2.5", 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-pe/DenyHttpsIn");
    fx_free(fx);
}

/* A 0.0.0.0/0 UDR to an appliance does not capture traffic to a private endpoint: the
 * endpoint's /32 route is longer. */
static void private_endpoint_route_beats_forced_tunneling(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelRouteTable *t = table(fx, "rt-app", fx->app);
    add_route(t, "default-to-nva", "0.0.0.0/0", "VirtualAppliance", "10.1.0.4");
    fx_start(fx, false);
    expect(run_tcp(fx, "pe", fx->a1, "10.1.2.5", 443), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "store");
    assert_false(has_step(fx, "pe", MODEL_STAGE_ROUTE, NULL, "forward"));
    fx_free(fx);
}

/* ---- hosts, platform ---- */

static void closed_port_answers_rst(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    expect(run_tcp(fx, "rdp", fx->a1, "10.1.1.5", 3389), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NO_LISTENER, "a2");
    fx_free(fx);
}

static void platform_dns_bypasses_nsg_deny_all(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-app");
    add_rule(nsg, "DenyAllOut", 100, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY,
             "*", "*", "*");
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    model_net_start_udp(fx->net, "dns", fx->a1, IP("168.63.129.16"), 53, 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "dns"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "azure-dns");
    assert_true(has_step(fx, "dns", MODEL_STAGE_PLATFORM, "168.63.129.16", "bypass"));
    fx_free(fx);
}

static void nsg_naming_azure_platform_dns_does_apply(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-app");
    add_rule(nsg, "DenyAzureDns", 100, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY,
             "*", "AzurePlatformDNS", "*");
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    model_net_start_udp(fx->net, "dns", fx->a1, IP("168.63.129.16"), 53, 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "dns"), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_OUT, "nsg-app/DenyAzureDns");
    fx_free(fx);
}

static void platform_address_is_unreachable_from_the_internet(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    model_net_start_udp(fx->net, "dns", fx->web, IP("168.63.129.16"), 53, 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "dns"), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_HOST_UNREACHABLE, NULL);
    fx_free(fx);
}

/* ---- determinism ---- */

static char *replay_text(void)
{
    Fx *fx = fx_new();
    ModelNsg *nsg = nsg_with(fx, "nsg-app");
    add_rule(nsg, "DenySsh", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP, "*",
             "*", "22");
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    model_net_start_tcp(fx->net, "ssh", fx->a1, IP("10.1.1.5"), 22, 0);
    model_net_start_tcp(fx->net, "web", fx->a1, IP("93.184.216.34"), 443, SIM_MS(5));
    model_net_start_udp(fx->net, "dns", fx->a2, IP("168.63.129.16"), 53, SIM_MS(5));
    sim_run(fx->engine);
    char *text = g_strdup(model_trace_text(fx->trace, NULL));
    fx_free(fx);
    return text;
}

static void same_seed_gives_identical_trace(void **state)
{
    (void)state;
    g_autofree char *a = replay_text();
    g_autofree char *b = replay_text();
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"verdict\":\"dropped\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_rules_allow_vnet_inbound),
        cmocka_unit_test(default_rules_deny_internet_inbound),
        cmocka_unit_test(deny_rule_overrides_vnet_allow_by_priority),
        cmocka_unit_test(inbound_subnet_nsg_then_nic_nsg_both_must_allow),
        cmocka_unit_test(outbound_nic_nsg_is_evaluated_before_subnet_nsg),
        cmocka_unit_test(stateful_nsg_lets_return_traffic_in),
        cmocka_unit_test(denied_syn_is_retransmitted_then_the_flow_gives_up),
        cmocka_unit_test(rule_change_affects_only_new_connections),
        cmocka_unit_test(udr_to_appliance_sends_traffic_through_it),
        cmocka_unit_test(appliance_without_ip_forwarding_drops),
        cmocka_unit_test(route_next_hop_none_drops),
        cmocka_unit_test(unpeered_private_range_hits_reserved_none_route),
        cmocka_unit_test(peering_carries_traffic_between_vnets),
        cmocka_unit_test(internet_egress_is_snatted_and_the_reply_comes_back),
        cmocka_unit_test(forced_tunneling_sends_internet_traffic_to_the_appliance),
        cmocka_unit_test(forced_tunneling_makes_inbound_replies_asymmetric),
        cmocka_unit_test(appliances_pointing_at_each_other_loop_until_ttl_expires),
        cmocka_unit_test(service_endpoint_beats_forced_tunneling_and_keeps_private_source),
        cmocka_unit_test(udr_prefixes_join_the_virtual_network_tag),
        cmocka_unit_test(peered_vnet_is_in_the_virtual_network_tag),
        cmocka_unit_test(private_endpoint_ignores_nsg_when_network_policies_disabled),
        cmocka_unit_test(private_endpoint_obeys_nsg_when_network_policies_enabled),
        cmocka_unit_test(private_endpoint_route_beats_forced_tunneling),
        cmocka_unit_test(closed_port_answers_rst),
        cmocka_unit_test(platform_dns_bypasses_nsg_deny_all),
        cmocka_unit_test(nsg_naming_azure_platform_dns_does_apply),
        cmocka_unit_test(platform_address_is_unreachable_from_the_internet),
        cmocka_unit_test(same_seed_gives_identical_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
