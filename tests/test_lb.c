/*
 * Azure Load Balancer: an internal frontend (AKS's scoring endpoint, domain.md §4.4) and a
 * public one, backends kept in rotation by health probes that are packets from
 * 168.63.129.16 meeting the backends' NSGs and listeners.
 *
 * Sources: azdocs:articles/load-balancer/components.md,
 * load-balancer-custom-probe-overview.md ("Probe source IP address", probe up/down
 * behaviour, interval), load-balancer-distribution-mode.md (five-tuple hash),
 * azure-facts.md §1 (AllowAzureLoadBalancerInBound, 65001).
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

#define ILB_IP    "10.0.2.100"
#define PLB_IP    "52.190.0.10"
#define CLIENT_IP "198.51.100.7"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *vnet;
    ModelSubnet *backend_sub, *lb_sub, *client_sub;
    ModelHost *be1, *be2, *client, *inet_client;
    ModelNic *be1_nic, *be2_nic;
    char *pcap_dir;
} Fx;

/* vnet 10.0.0.0/16: snet-backend 10.0.1.0/24 (be1 .4, be2 .5), snet-lb 10.0.2.0/24,
 * snet-client 10.0.3.0/24 (client .4); an internet client. The backends listen on 5001
 * (azureml-fe's model port, azure-facts.md §5) unless a test says otherwise. */
static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix space = tn_prefix("10.0.0.0/16");
    fx->vnet = MUST(model_net_add_vnet(fx->net, "vnet", &space, 1, &err));
    fx->backend_sub = MUST(
        model_net_add_subnet(fx->net, fx->vnet, "snet-backend", tn_prefix("10.0.1.0/24"), &err));
    fx->lb_sub =
        MUST(model_net_add_subnet(fx->net, fx->vnet, "snet-lb", tn_prefix("10.0.2.0/24"), &err));
    fx->client_sub = MUST(
        model_net_add_subnet(fx->net, fx->vnet, "snet-client", tn_prefix("10.0.3.0/24"), &err));
    fx->be1 = MUST(model_net_add_host(fx->net, "be1", MODEL_HOST_VM, &err));
    fx->be2 = MUST(model_net_add_host(fx->net, "be2", MODEL_HOST_VM, &err));
    fx->be1_nic =
        MUST(model_net_add_nic(fx->net, fx->be1, fx->backend_sub, "nic0", tn_ip("10.0.1.4"), &err));
    fx->be2_nic =
        MUST(model_net_add_nic(fx->net, fx->be2, fx->backend_sub, "nic0", tn_ip("10.0.1.5"), &err));
    model_host_listen(fx->be1, 6, 5001);
    model_host_listen(fx->be2, 6, 5001);
    fx->client = MUST(model_net_add_host(fx->net, "client", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, fx->client, fx->client_sub, "nic0", tn_ip("10.0.3.4"), &err));
    fx->inet_client = MUST(model_net_add_host(fx->net, "laptop", MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, fx->inet_client, tn_ip(CLIENT_IP), &err));
    return fx;
}

static ModelLb *ilb(Fx *fx, ModelLbProbeProtocol proto, uint16_t probe_port)
{
    GError *err = NULL;
    ModelLb *lb =
        MUST(model_net_add_load_balancer(fx->net, "ilb", fx->lb_sub, tn_ip(ILB_IP), &err));
    OK(model_lb_add_backend(lb, fx->be1_nic, &err));
    OK(model_lb_add_backend(lb, fx->be2_nic, &err));
    OK(model_lb_add_probe(lb, "probe-5001", proto, probe_port, "/health", 0, 0, &err));
    OK(model_lb_add_rule(lb, "scoring", 6, 80, 5001, "probe-5001", &err));
    return lb;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(11);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-lb-XXXXXX", NULL);
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
                                         uint16_t port, SimTime at)
{
    model_net_start_tcp(fx->net, flow, from, tn_ip(dst), port, at);
    sim_run(fx->engine);
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    assert_non_null(v);
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

static char *first_fields(Fx *fx, const char *file, const char *filter, const char *const *fields,
                          size_t n)
{
    g_autofree char *path = g_build_filename(fx->pcap_dir, file, NULL);
    gchar **lines = tshark_fields(path, filter, fields, n);
    assert_non_null(lines);
    char *line = g_strdup(lines[0] ? lines[0] : "");
    g_strfreev(lines);
    return line;
}

/* A healthy backend answers the probe from 168.63.129.16 and gets the client's flow, DNAT
 * to its own address with the client's address kept; the client sees the frontend
 * answer. */
static void internal_lb_delivers_to_a_healthy_backend(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    ilb(fx, MODEL_LB_PROBE_TCP, 5001);
    fx_start(fx, true);
    const ModelVerdictRecord *v = run_tcp(fx, "score", fx->client, ILB_IP, 80, 0);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(strcmp(v->at, "be1") == 0 || strcmp(v->at, "be2") == 0);
    assert_true(tn_has_step(fx->trace, "score", MODEL_STAGE_NAT, "ilb", "dnat",
                            "rule scoring: DNAT " ILB_IP ":80 -> 10.0.1."));
    assert_true(tn_has_step(fx->trace, "", MODEL_STAGE_NAT, "ilb/probe-5001", "up", NULL));
    assert_captures_clean(fx);
    const char *synack[] = {"ip.src", "tcp.srcport"};
    g_autofree char *sa =
        first_fields(fx, "client-nic0.pcap", "tcp.flags.syn == 1 && tcp.flags.ack == 1", synack, 2);
    assert_string_equal(sa, ILB_IP "|80");
    g_autofree char *file = g_strdup_printf("%s-nic0.pcap", v->at);
    const char *syn[] = {"ip.src", "tcp.dstport"};
    g_autofree char *s = first_fields(fx, file,
                                      "tcp.flags.syn == 1 && tcp.flags.ack == 0 && "
                                      "ip.src != 168.63.129.16",
                                      syn, 2);
    assert_string_equal(s, "10.0.3.4|5001");
    /* The probe, as the backend's capture shows it. */
    g_autofree char *path = g_build_filename(fx->pcap_dir, file, NULL);
    assert_true(tshark_count(path, "ip.src == 168.63.129.16 && tcp.dstport == 5001") >= 1);
    fx_free(fx);
}

/* Flows spread by the 5-tuple hash over the healthy backends; the same seed gives the
 * same choice. */
static void flows_are_spread_over_healthy_backends_by_five_tuple_hash(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ilb(fx, MODEL_LB_PROBE_TCP, 5001);
    fx_start(fx, false);
    int be1 = 0, be2 = 0;
    for (int i = 0; i < 16; i++) {
        g_autofree char *name = g_strdup_printf("score-%d", i);
        const ModelVerdictRecord *v =
            run_tcp(fx, name, fx->client, ILB_IP, 80, sim_now(fx->engine));
        expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
        be1 += strcmp(v->at, "be1") == 0;
        be2 += strcmp(v->at, "be2") == 0;
    }
    assert_int_equal(be1 + be2, 16);
    assert_true(be1 > 0 && be2 > 0);
    fx_free(fx);
}

/* The backends' NSG allows the clients but denies everything else before the default
 * AllowAzureLoadBalancerInBound (65001): the probes from 168.63.129.16 die at the NSG,
 * the backends are marked down, and a flow to the frontend finds none healthy. */
static void backend_nsg_blocking_probes_marks_it_down_and_flows_fail(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-backend", &err));
    ModelNsgRule *allow = model_nsg_rule_new("AllowClients", 100, MODEL_DIR_INBOUND,
                                             MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(allow, MODEL_NSG_SRC, "10.0.3.0/24", &err) &&
       model_nsg_rule_add_address(allow, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_DST, "5001", &err) &&
       model_nsg_add_rule(nsg, allow, &err));
    ModelNsgRule *deny = model_nsg_rule_new("DenyAllInbound", 200, MODEL_DIR_INBOUND,
                                            MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY);
    OK(model_nsg_rule_add_address(deny, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_address(deny, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(deny, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(deny, MODEL_NSG_DST, "*", &err) &&
       model_nsg_add_rule(nsg, deny, &err));
    model_subnet_set_nsg(fx->backend_sub, nsg);
    ilb(fx, MODEL_LB_PROBE_TCP, 5001);
    fx_start(fx, false);
    /* After the first probe interval (5 s): the unanswered probes count as failures. */
    const ModelVerdictRecord *v = run_tcp(fx, "score", fx->client, ILB_IP, 80, SIM_S(6));
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_HOST_UNREACHABLE, "ilb");
    assert_non_null(strstr(v->hint, "AzureLoadBalancer"));
    assert_true(tn_has_step(fx->trace, "", MODEL_STAGE_NAT, "ilb/probe-5001", "down",
                            "dropped by nsg-backend/DenyAllInbound (NSG_DENIED_IN)"));
    assert_true(tn_has_step(fx->trace, "score", MODEL_STAGE_NAT, "ilb", "drop",
                            "no healthy backend for rule scoring of load balancer ilb: probe "
                            "probe-5001 (Tcp:5001) failed on be1-nic0 because the probe from "
                            "168.63.129.16 was dropped by nsg-backend/DenyAllInbound"));
    /* The probes met the NSG: they are not platform traffic that bypasses it. */
    assert_true(tn_has_step(fx->trace, "", MODEL_STAGE_NSG_IN, "nsg-backend/DenyAllInbound", "drop",
                            "168.63.129.16"));
    fx_free(fx);
}

/* A backend with nothing on the probe port answers with a reset: down at once (threshold
 * 1); the other takes every flow. */
static void backend_without_listener_fails_probe_and_gets_no_flows(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelHost *be3 = MUST(model_net_add_host(fx->net, "be3", MODEL_HOST_VM, &err));
    ModelNic *be3_nic =
        MUST(model_net_add_nic(fx->net, be3, fx->backend_sub, "nic0", tn_ip("10.0.1.6"), &err));
    model_host_listen(be3, 6, 8080);
    ModelLb *lb =
        MUST(model_net_add_load_balancer(fx->net, "ilb", fx->lb_sub, tn_ip(ILB_IP), &err));
    OK(model_lb_add_backend(lb, fx->be1_nic, &err));
    OK(model_lb_add_backend(lb, be3_nic, &err));
    OK(model_lb_add_probe(lb, "probe-5001", MODEL_LB_PROBE_TCP, 5001, NULL, 0, 0, &err));
    OK(model_lb_add_rule(lb, "scoring", 6, 80, 5001, "probe-5001", &err));
    fx_start(fx, false);
    for (int i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("score-%d", i);
        expect(run_tcp(fx, name, fx->client, ILB_IP, 80, sim_now(fx->engine)),
               MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "be1");
    }
    assert_true(tn_has_step(fx->trace, "", MODEL_STAGE_NAT, "ilb/probe-5001", "down",
                            "TCP reset: nothing listens on port 5001 of be3-nic0"));
    fx_free(fx);
}

/* A public frontend: the internet client reaches a backend on another port through an
 * HTTP probe's good graces; the reply leaves from the frontend address (no SNAT). */
static void public_lb_frontend_reaches_backend_from_the_internet(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    GError *err = NULL;
    model_host_listen(fx->be1, 6, 8080);
    model_host_listen(fx->be2, 6, 8080);
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-backend", &err));
    ModelNsgRule *allow = model_nsg_rule_new("AllowWebInbound", 100, MODEL_DIR_INBOUND,
                                             MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(allow, MODEL_NSG_SRC, "Internet", &err) &&
       model_nsg_rule_add_address(allow, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_DST, "8080", &err) &&
       model_nsg_add_rule(nsg, allow, &err));
    model_subnet_set_nsg(fx->backend_sub, nsg);
    ModelLb *lb = MUST(model_net_add_load_balancer(fx->net, "plb", NULL, tn_ip(PLB_IP), &err));
    OK(model_lb_add_backend(lb, fx->be1_nic, &err));
    OK(model_lb_add_backend(lb, fx->be2_nic, &err));
    OK(model_lb_add_probe(lb, "http-health", MODEL_LB_PROBE_HTTP, 8080, "/health", 0, 0, &err));
    OK(model_lb_add_rule(lb, "web", 6, 80, 8080, "http-health", &err));
    fx_start(fx, true);
    const ModelVerdictRecord *v = run_tcp(fx, "web", fx->inet_client, PLB_IP, 80, 0);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_false(tn_has_step(fx->trace, "web", MODEL_STAGE_NAT, NULL, "snat", "default outbound"));
    assert_captures_clean(fx);
    const char *synack[] = {"ip.src", "tcp.srcport"};
    g_autofree char *sa = first_fields(fx, "laptop-inet0.pcap",
                                       "tcp.flags.syn == 1 && tcp.flags.ack == 1", synack, 2);
    assert_string_equal(sa, PLB_IP "|80");
    g_autofree char *file = g_strdup_printf("%s-nic0.pcap", v->at);
    const char *syn[] = {"ip.src", "tcp.dstport"};
    g_autofree char *s = first_fields(fx, file,
                                      "tcp.flags.syn == 1 && tcp.flags.ack == 0 && "
                                      "ip.src != 168.63.129.16",
                                      syn, 2);
    assert_string_equal(s, CLIENT_IP "|8080");
    const char *uri[] = {"http.request.uri", "ip.src"};
    g_autofree char *get = first_fields(fx, file, "http.request", uri, 2);
    assert_string_equal(get, "/health|168.63.129.16");
    fx_free(fx);
}

/* inbound-nat-rules.md: a frontend port reaches one backend's port, no probe involved
 * (be2 answers though no probe ever ran for it); outbound-rules.md: a backend without
 * instance public IP leaves for the internet from the frontend, and its reply finds it. */
static void
inbound_nat_rule_reaches_one_backend_and_outbound_rule_snats_to_the_frontend(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    GError *err = NULL;
    model_host_listen(fx->be2, 6, 22);
    model_host_listen(fx->inet_client, 6, 443);
    ModelLb *lb = MUST(model_net_add_load_balancer(fx->net, "plb", NULL, tn_ip(PLB_IP), &err));
    OK(model_lb_add_inbound_nat_rule(lb, "be2-ssh", 6, 50001, fx->be2_nic, 22, &err));
    assert_false(model_lb_add_inbound_nat_rule(lb, "again", 6, 50001, fx->be1_nic, 22, &err));
    g_clear_error(&err);
    model_lb_set_outbound_rule(lb, true);
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-backend", &err));
    ModelNsgRule *allow = model_nsg_rule_new("AllowSshInbound", 100, MODEL_DIR_INBOUND,
                                             MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(allow, MODEL_NSG_SRC, "Internet", &err) &&
       model_nsg_rule_add_address(allow, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(allow, MODEL_NSG_DST, "22", &err) &&
       model_nsg_add_rule(nsg, allow, &err));
    model_subnet_set_nsg(fx->backend_sub, nsg);
    fx_start(fx, true);
    const ModelVerdictRecord *v = run_tcp(fx, "ssh", fx->inet_client, PLB_IP, 50001, 0);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "be2");
    assert_true(tn_has_step(fx->trace, "ssh", MODEL_STAGE_NAT, "plb", "dnat",
                            "inbound NAT rule be2-ssh: DNAT " PLB_IP ":50001 -> 10.0.1.5:22"));
    v = run_tcp(fx, "egress", fx->be2, CLIENT_IP, 443, 0);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "laptop");
    assert_true(tn_has_step(fx->trace, "egress", MODEL_STAGE_NAT, NULL, "snat", "-> " PLB_IP ":"));
    assert_true(tn_has_step(fx->trace, "egress", MODEL_STAGE_NAT, NULL, "snat",
                            "(outbound rule of load balancer plb)"));
    /* A NIC that is no backend of it keeps default outbound access. */
    v = run_tcp(fx, "other", fx->be1, CLIENT_IP, 443, 0);
    expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "laptop");
    assert_true(
        tn_has_step(fx->trace, "other", MODEL_STAGE_NAT, NULL, "snat", "default outbound access"));
    assert_captures_clean(fx);
    const char *syn[] = {"ip.src", "tcp.dstport"};
    g_autofree char *s = first_fields(fx, "laptop-inet0.pcap",
                                      "tcp.flags.syn == 1 && tcp.flags.ack == 0 && "
                                      "tcp.dstport == 443",
                                      syn, 2);
    assert_string_equal(s, PLB_IP "|443");
    fx_free(fx);
}

static void load_balancer_configuration_is_checked(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    assert_null(model_net_add_load_balancer(fx->net, "plb", NULL, tn_ip("10.9.0.1"), &err));
    g_clear_error(&err);
    ModelLb *lb =
        MUST(model_net_add_load_balancer(fx->net, "ilb", fx->lb_sub, tn_ip(ILB_IP), &err));
    assert_false(model_lb_add_rule(lb, "r", 6, 80, 5001, "no-such-probe", &err));
    g_clear_error(&err);
    OK(model_lb_add_probe(lb, "p", MODEL_LB_PROBE_TCP, 5001, NULL, 0, 0, &err));
    OK(model_lb_add_rule(lb, "r", 6, 80, 5001, "p", &err));
    assert_false(model_lb_add_rule(lb, "r2", 6, 80, 5002, "p", &err));
    g_clear_error(&err);
    ModelPrefix other = tn_prefix("10.5.0.0/16");
    ModelVnet *v2 = MUST(model_net_add_vnet(fx->net, "vnet2", &other, 1, &err));
    ModelSubnet *s2 =
        MUST(model_net_add_subnet(fx->net, v2, "snet", tn_prefix("10.5.1.0/24"), &err));
    ModelHost *far = MUST(model_net_add_host(fx->net, "far", MODEL_HOST_VM, &err));
    ModelNic *far_nic = MUST(model_net_add_nic(fx->net, far, s2, "nic0", tn_ip("10.5.1.4"), &err));
    assert_false(model_lb_add_backend(lb, far_nic, &err));
    g_clear_error(&err);
    OK(model_lb_add_backend(lb, fx->be1_nic, &err));
    fx_start(fx, false);
    /* A port no rule names is not load-balanced. */
    expect(run_tcp(fx, "no-rule", fx->client, ILB_IP, 443, 0), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_HOST_UNREACHABLE, "ilb");
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(internal_lb_delivers_to_a_healthy_backend),
        cmocka_unit_test(flows_are_spread_over_healthy_backends_by_five_tuple_hash),
        cmocka_unit_test(backend_nsg_blocking_probes_marks_it_down_and_flows_fail),
        cmocka_unit_test(backend_without_listener_fails_probe_and_gets_no_flows),
        cmocka_unit_test(public_lb_frontend_reaches_backend_from_the_internet),
        cmocka_unit_test(
            inbound_nat_rule_reaches_one_backend_and_outbound_rule_snats_to_the_frontend),
        cmocka_unit_test(load_balancer_configuration_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
