/*
 * AKS inference behind AML: the address ranges Azure checks when the cluster is created,
 * and scoring calls to its endpoint on an internal or a public load balancer, packet by
 * packet (load balancer DNAT to azureml-fe on a node, health probes from 168.63.129.16,
 * the subnet NSG).
 *
 * Sources: azdocs:articles/machine-learning/v1/how-to-secure-inferencing-vnet.md (service
 * CIDR must not overlap any subnet; DNS service IP inside it; Docker bridge outside both;
 * same region; an inbound NSG rule for callers outside the VNet; internal load balancer:
 * private IP, reachable from the VNet), azdocs:articles/aks/internal-lb.md,
 * azdocs:articles/aks/configure-azure-cni.md (not the first address), domain.md §4.4.
 *
 *   vnet-ml 10.0.0.0/16  snet-aks 10.0.4.0/24  scoring endpoint 10.0.4.100 (internal)
 *                        snet-app 10.0.2.0/24  vm 10.0.2.4
 *   internet: client 198.51.100.7; public scoring endpoint 20.42.1.50
 *   service CIDR 10.2.0.0/16, DNS service IP 10.2.0.10, Docker bridge 172.17.0.1/16
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
#include "tshark_util.h"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *ml;
    ModelSubnet *aks_subnet, *app;
    ModelHost *vm, *client;
    char *pcap_dir;
} Fx;

static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix ml = tn_prefix("10.0.0.0/16");
    fx->ml = MUST(model_net_add_vnet(fx->net, "vnet-ml", &ml, 1, &err));
    fx->aks_subnet =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-aks", tn_prefix("10.0.4.0/24"), &err));
    fx->app =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-app", tn_prefix("10.0.2.0/24"), &err));
    fx->vm = MUST(model_net_add_host(fx->net, "vm", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, fx->vm, fx->app, "nic0", tn_ip("10.0.2.4"), &err));
    fx->client = MUST(model_net_add_host(fx->net, "client", MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, fx->client, tn_ip("198.51.100.7"), &err));
    return fx;
}

static ModelAksSpec spec(Fx *fx, ModelAksLbKind lb)
{
    return (ModelAksSpec){
        .subnet = fx->aks_subnet,
        .lb = lb,
        .scoring_ip = lb == MODEL_AKS_LB_INTERNAL ? tn_ip("10.0.4.100") : tn_ip("20.42.1.50"),
        .scoring_port = 80,
        .service_cidr = tn_prefix("10.2.0.0/16"),
        .dns_service_ip = tn_ip("10.2.0.10"),
        .docker_bridge_cidr = {.addr = tn_ip("172.17.0.1"), .len = 16},
    };
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(3);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-aks-XXXXXX", NULL);
    OK(model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err));
}

static void fx_free(Fx *fx)
{
    model_net_close_captures(fx->net, false, NULL);
    model_net_free(fx->net);
    model_trace_free(fx->trace);
    if (fx->engine) {
        assert_int_equal(sim_pending(fx->engine), 0);
        sim_engine_free(fx->engine);
    }
    if (fx->pcap_dir) {
        tn_remove_tree(fx->pcap_dir);
        g_free(fx->pcap_dir);
    }
    g_free(fx);
}

static const ModelVerdictRecord *score(Fx *fx, const char *flow, ModelHost *from, ModelAks *aks)
{
    /* After the first health probe round has had time to mark the node up. */
    model_net_start_aks_scoring(fx->net, flow, from, aks, false, SIM_MS(50));
    sim_run(fx->engine);
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    if (!v)
        fail_msg("flow %s has no verdict", flow);
    return v;
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("flow %s: got %s %s at %s (%s), want %s %s at %s", v->flow,
                 model_verdict_name(v->verdict), model_cause_name(v->cause), v->at, v->hint,
                 model_verdict_name(verdict), model_cause_name(cause), at ? at : "*");
}

/* The subnet NSG: optionally the inbound rule for the scoring port from the Internet. */
static void subnet_nsg(Fx *fx, bool scoring_rule)
{
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-aks", &err));
    if (scoring_rule) {
        ModelNsgRule *r = model_nsg_rule_new("AllowScoring", 100, MODEL_DIR_INBOUND,
                                             MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP);
        OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, "Internet", &err) &&
           model_nsg_rule_add_address(r, MODEL_NSG_DST, "*", &err) &&
           model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
           model_nsg_rule_add_ports(r, MODEL_NSG_DST, "80", &err) &&
           model_nsg_add_rule(nsg, r, &err));
    }
    model_subnet_set_nsg(fx->aks_subnet, nsg);
}

/* ---- validation ---- */

static void aks_address_ranges_are_validated_as_documented(void **state)
{
    (void)state;
    static const struct {
        const char *service, *dns, *bridge, *region, *needle;
    } bad[] = {
        /* "It must not overlap with any subnet IP ranges" */
        {"10.0.0.0/16", "10.0.0.10", "172.17.0.1/16", NULL, "overlaps subnet"},
        /* "It must be within the Kubernetes service address range" */
        {"10.2.0.0/16", "10.3.0.10", "172.17.0.1/16", NULL, "must be within"},
        /* not the first address: kubernetes.default takes it */
        {"10.2.0.0/16", "10.2.0.1", "172.17.0.1/16", NULL, "first"},
        /* "must not be in any subnet IP ranges, or the Kubernetes service address range" */
        {"10.2.0.0/16", "10.2.0.10", "10.0.4.1/24", NULL, "Docker bridge"},
        {"172.17.0.0/16", "172.17.0.10", "172.17.0.1/16", NULL, "overlaps the Kubernetes"},
        /* same region as the (private-endpoint) workspace's VNet */
        {"10.2.0.0/16", "10.2.0.10", "172.17.0.1/16", "westeurope", "same region"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Fx *fx = fx_new();
        GError *err = NULL;
        ModelAksSpec s = spec(fx, MODEL_AKS_LB_INTERNAL);
        ModelPrefix bridge;
        assert_int_equal(model_prefix_parse(bad[i].bridge, true, &bridge), 0);
        s.service_cidr = tn_prefix(bad[i].service);
        s.dns_service_ip = tn_ip(bad[i].dns);
        s.docker_bridge_cidr = bridge;
        s.region = bad[i].region;
        assert_null(model_net_add_aks(fx->net, "aks", &s, &err));
        if (!err || !strstr(err->message, bad[i].needle))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err ? err->message : "none",
                     bad[i].needle);
        g_clear_error(&err);
        fx_free(fx);
    }
    /* A subnet added after the cluster is checked at finalize. */
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelAksSpec s = spec(fx, MODEL_AKS_LB_INTERNAL);
    MUST(model_net_add_aks(fx->net, "aks", &s, &err));
    ModelPrefix space = tn_prefix("10.2.0.0/16");
    ModelVnet *other = MUST(model_net_add_vnet(fx->net, "vnet-other", &space, 1, &err));
    MUST(model_net_add_subnet(fx->net, other, "snet", tn_prefix("10.2.1.0/24"), &err));
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "overlaps subnet vnet-other/snet"));
    g_clear_error(&err);
    fx_free(fx);
}

/* ---- scoring ---- */

/* "An internal (or private) load balancer is used where only private IPs are allowed as
 * frontend": a VM of the VNet reaches the scoring endpoint; the node's azureml-fe serves. */
static void internal_lb_scoring_from_a_vm_in_the_vnet_is_delivered(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelAksSpec s = spec(fx, MODEL_AKS_LB_INTERNAL);
    ModelAks *aks = MUST(model_net_add_aks(fx->net, "aks", &s, &err));
    subnet_nsg(fx, false); /* AllowVNetInBound is enough inside the VNet */
    fx_start(fx, false);
    expect(score(fx, "score", fx->vm, aks), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(tn_has_step(fx->trace, "score", MODEL_STAGE_NAT, "aks-kubernetes-internal", "dnat",
                            "10.0.4.4:80"));
    assert_int_equal(model_aks_scoring_ip(aks), tn_ip("10.0.4.100"));
    /* An internal endpoint has no public address: the internet cannot reach it. */
    expect(score(fx, "from-internet", fx->client, aks), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_HOST_UNREACHABLE, NULL);
    fx_free(fx);
}

/* "reachable only from the VNet or joined networks" (domain.md §4.4): a data scientist on a
 * point-to-site VPN reaches the internal scoring endpoint through the gateway. */
static void internal_lb_scoring_from_a_p2s_vpn_client_is_delivered(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    MUST(model_net_add_subnet(fx->net, fx->ml, "GatewaySubnet", tn_prefix("10.0.255.0/27"), &err));
    ModelGateway *gw =
        MUST(model_net_add_gateway(fx->net, "vpngw", MODEL_GATEWAY_VPN, fx->ml, &err));
    OK(model_gateway_set_p2s_pool(gw, tn_prefix("172.16.201.0/24"), &err));
    ModelHost *laptop = MUST(model_net_add_host(fx->net, "laptop", MODEL_HOST_VM, &err));
    MUST(model_gateway_add_p2s_client(fx->net, gw, laptop, "vpn0", tn_ip("172.16.201.10"), &err));
    ModelAksSpec s = spec(fx, MODEL_AKS_LB_INTERNAL);
    ModelAks *aks = MUST(model_net_add_aks(fx->net, "aks", &s, &err));
    fx_start(fx, false);
    expect(score(fx, "score", laptop, aks), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(
        tn_has_step(fx->trace, "score", MODEL_STAGE_NAT, "aks-kubernetes-internal", "dnat", NULL));
    fx_free(fx);
}

/* "an inbound security rule … for the IP address of the scoring endpoint if you want to
 * call it from outside the virtual network": without it the subnet NSG's default
 * DenyAllInBound stops the client; with it the request is served. */
static void public_lb_scoring_from_the_internet_needs_an_nsg_rule(void **state)
{
    (void)state;
    for (int with_rule = 0; with_rule < 2; with_rule++) {
        Fx *fx = fx_new();
        GError *err = NULL;
        ModelAksSpec s = spec(fx, MODEL_AKS_LB_PUBLIC);
        ModelAks *aks = MUST(model_net_add_aks(fx->net, "aks", &s, &err));
        subnet_nsg(fx, with_rule);
        fx_start(fx, false);
        const ModelVerdictRecord *v = score(fx, "score", fx->client, aks);
        if (with_rule)
            expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
        else
            expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN, "nsg-aks/DenyAllInBound");
        fx_free(fx);
    }
}

static void aks_captures_dissect_clean(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelAksSpec s = spec(fx, MODEL_AKS_LB_PUBLIC);
    ModelAks *aks = MUST(model_net_add_aks(fx->net, "aks", &s, &err));
    subnet_nsg(fx, true);
    fx_start(fx, true);
    score(fx, "score", fx->client, aks);
    OK(model_net_close_captures(fx->net, true, &err));
    GDir *d = g_dir_open(fx->pcap_dir, 0, NULL);
    assert_non_null(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(fx->pcap_dir, name, NULL);
        long bad = tshark_count(path, TSHARK_BAD_FRAMES);
        if (bad != 0)
            fail_msg("%s: %ld bad frames", name, bad);
        n++;
    }
    g_dir_close(d);
    assert_true(n > 0);
    /* The client saw its HTTP answer come from the scoring endpoint. */
    g_autofree char *path = g_build_filename(fx->pcap_dir, "client-inet0.pcap", NULL);
    assert_true(tshark_count(path, "http.response && ip.src == 20.42.1.50") == 1);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aks_address_ranges_are_validated_as_documented),
        cmocka_unit_test(internal_lb_scoring_from_a_vm_in_the_vnet_is_delivered),
        cmocka_unit_test(internal_lb_scoring_from_a_p2s_vpn_client_is_delivered),
        cmocka_unit_test(public_lb_scoring_from_the_internet_needs_an_nsg_rule),
        cmocka_unit_test(aks_captures_dissect_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
