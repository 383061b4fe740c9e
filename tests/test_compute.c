/*
 * AML compute instances and clusters, packet by packet: the NSG Batch puts on the nodes'
 * NICs, the management connections (Batch on 29876, the AML service on 44224, or the node
 * calling Batch on 443) that decide whether a node is usable, and the outbound
 * requirements of a node, with and without a public IP.
 *
 * Sources: domain.md §4.3 (seeds: Batch NSG at NIC level, 29876-29877 from
 * BatchNodeManagement, 44224 from AzureMachineLearning, a denied Batch inbound marks the
 * node unusable, forced tunneling needs UDRs to Internet or a NAT gateway),
 * azdocs:includes/machine-learning-public-internet-access.md (outbound tags and ports, 445
 * to the default storage), azdocs:articles/machine-learning/how-to-secure-training-vnet.md
 * (no public IP: no inbound, outbound through NAT gateway or firewall, depends on the
 * workspace's Private Link, private endpoint network policies disabled),
 * azdocs:includes/machine-learning-compute-user-defined-routes.md.
 *
 *   vnet-ml 10.0.0.0/16  snet-pe 10.0.1.0/24        ws 10.0.1.5, blob 10.0.1.6, file 10.0.1.7
 *                        snet-training 10.0.2.0/24  compute nodes from 10.0.2.4
 *                        snet-nva 10.0.9.0/24       nva 10.0.9.4 (stateful, IP forwarding)
 *   Azure DNS 168.63.129.16; managed services (eastus); private zones for blob, file and
 *   api.azureml.ms linked to vnet-ml; mlwsstore with public network access Disabled.
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

#define GUID "6b5c8a44-0d2e-4d7e-9a3c-0123456789ab"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *ml;
    ModelSubnet *pe, *training, *nva_subnet;
    ModelService *store, *ws;
    ModelHost *nva;
    char *pcap_dir;
} Fx;

static void zone(Fx *fx, const char *name)
{
    GError *err = NULL;
    ModelDnsZone *z = MUST(model_dns_zone_add(model_net_dns(fx->net), name, &err));
    OK(model_dns_zone_link(z, fx->ml, "ml-link", false, &err));
}

static Fx *fx_new(ModelBatchMode batch)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix ml = tn_prefix("10.0.0.0/16");
    fx->ml = MUST(model_net_add_vnet(fx->net, "vnet-ml", &ml, 1, &err));
    fx->pe = MUST(model_net_add_subnet(fx->net, fx->ml, "snet-pe", tn_prefix("10.0.1.0/24"), &err));
    fx->training = MUST(
        model_net_add_subnet(fx->net, fx->ml, "snet-training", tn_prefix("10.0.2.0/24"), &err));
    fx->nva_subnet =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-nva", tn_prefix("10.0.9.0/24"), &err));
    fx->nva = MUST(model_net_add_host(fx->net, "nva", MODEL_HOST_APPLIANCE, &err));
    ModelNic *nva_nic =
        MUST(model_net_add_nic(fx->net, fx->nva, fx->nva_subnet, "nic0", tn_ip("10.0.9.4"), &err));
    model_nic_set_ip_forwarding(nva_nic, true);
    ModelHost *azure = MUST(model_net_add_host(fx->net, "azure-dns", MODEL_HOST_SERVICE, &err));
    OK(model_host_set_public_ip(fx->net, azure, tn_ip("168.63.129.16"), &err));
    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);
    ModelManagedOptions opts = {.batch_mode = batch};
    OK(model_net_add_managed_services(fx->net, NULL, &opts, &err));
    fx->store = MUST(model_net_add_storage_account(fx->net, "mlwsstore", &err));
    OK(model_service_set_public_access(fx->store, MODEL_PUBLIC_ACCESS_DISABLED, &err));
    fx->ws = MUST(model_net_add_workspace(fx->net, "mlws", GUID, &err));
    zone(fx, "privatelink.api.azureml.ms");
    zone(fx, "privatelink.blob.core.windows.net");
    zone(fx, "privatelink.file.core.windows.net");
    MUST(model_service_add_private_endpoint(fx->net, fx->ws, "pe-ws", "amlworkspace", fx->pe,
                                            tn_ip("10.0.1.5"), &err));
    MUST(model_service_add_private_endpoint(fx->net, fx->store, "pe-blob", "blob", fx->pe,
                                            tn_ip("10.0.1.6"), &err));
    MUST(model_service_add_private_endpoint(fx->net, fx->store, "pe-file", "file", fx->pe,
                                            tn_ip("10.0.1.7"), &err));
    return fx;
}

static ModelCompute *compute(Fx *fx, const char *name, ModelComputeKind kind, unsigned nodes,
                             bool public_ip)
{
    GError *err = NULL;
    ModelComputeOptions o = {.workspace = fx->ws, .storage = fx->store};
    return MUST(
        model_net_add_compute(fx->net, name, kind, fx->training, nodes, public_ip, &o, &err));
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(5);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-compute-XXXXXX", NULL);
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

static const ModelVerdictRecord *verdict(Fx *fx, const char *flow)
{
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

static void hint_has(const ModelVerdictRecord *v, const char *needle)
{
    if (!strstr(v->hint, needle))
        fail_msg("flow %s: hint \"%s\" lacks \"%s\"", v->flow, v->hint, needle);
}

static ModelNsg *nsg(Fx *fx, const char *name)
{
    GError *err = NULL;
    return MUST(model_net_add_nsg(fx->net, name, &err));
}

static void rule(ModelNsg *nsg, const char *name, int priority, ModelDirection dir,
                 ModelAccess access, const char *src, const char *dst, const char *ports)
{
    GError *err = NULL;
    ModelNsgRule *r = model_nsg_rule_new(name, priority, dir, access, MODEL_NSG_PROTO_ANY);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, src, &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, dst, &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, ports, &err) && model_nsg_add_rule(nsg, r, &err));
}

static bool resolve_tag(void *ctx, const char *tag, const ModelPrefix **prefixes, size_t *n)
{
    const ModelPrefixSet *set = model_service_tags_lookup(ctx, tag);
    if (!set)
        return false;
    *prefixes = set->items;
    *n = set->len;
    return true;
}

/* 0.0.0.0/0 to the NVA (forced tunneling), and optionally the documented service-tag UDRs
 * with next hop Internet. */
static void forced_tunneling(Fx *fx, bool service_tag_udrs)
{
    GError *err = NULL;
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-training", &err));
    void *tags = (void *)model_net_service_tags(fx->net);
    OK(model_route_table_add(rt, "forced-tunnel", "0.0.0.0/0", "VirtualAppliance", "10.0.9.4", 0,
                             NULL, NULL, &err));
    if (service_tag_udrs) {
        OK(model_route_table_add(rt, "batch", "BatchNodeManagement.EastUS", "Internet", NULL, 0,
                                 resolve_tag, tags, &err));
        OK(model_route_table_add(rt, "aml", "AzureMachineLearning.EastUS", "Internet", NULL, 0,
                                 resolve_tag, tags, &err));
    }
    model_subnet_set_route_table(fx->training, rt);
}

static const ModelVerdictRecord *manage(Fx *fx, const char *flow, ModelCompute *c,
                                        ModelComputeManager who)
{
    model_net_start_compute_management(fx->net, flow, c, 0, who, sim_now(fx->engine));
    return verdict(fx, flow);
}

/* ---- the Batch-managed NSG and the nodes ---- */

/* create-pool-public-ip.md: the pool's VMs "are reachable through public IP addresses
 * that Batch creates" — one load balancer frontend, a NAT port per node in the range Batch
 * reserves (50000-55000), the nodes' NICs with the Batch NSG. */
static void
cluster_nodes_get_subnet_addresses_a_batch_load_balancer_and_nsg_at_nic_level(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "cpu-cluster", MODEL_COMPUTE_CLUSTER, 2, true);
    assert_int_equal(model_compute_n_nodes(c), 2);
    assert_ptr_equal(model_compute_node(c, 1), model_net_find_host(fx->net, "cpu-cluster-node1"));
    assert_int_equal(model_compute_node_ip(c, 0), tn_ip("10.0.2.4"));
    assert_int_equal(model_compute_node_ip(c, 1), tn_ip("10.0.2.5"));
    const char *tag = model_service_tags_name_of(model_net_service_tags(fx->net),
                                                 model_compute_node_public_ip(c, 0));
    assert_non_null(tag);
    assert_string_equal(tag, "AzureCloud.eastus");
    assert_int_equal(model_compute_node_public_ip(c, 0), model_compute_node_public_ip(c, 1));
    assert_non_null(model_compute_load_balancer(c));
    assert_int_equal(model_lb_frontend_ip(model_compute_load_balancer(c)),
                     model_compute_node_public_ip(c, 0));
    assert_int_equal(model_compute_node_public_port(c, 0, 29876), 50000);
    assert_int_equal(model_compute_node_public_port(c, 1, 29876), 50001);
    assert_int_equal(model_compute_node_public_port(c, 1, 29877), 51001);
    assert_int_equal(model_compute_node_public_port(c, 1, 44224), 52001);
    assert_int_equal(model_compute_node_public_port(c, 1, 22), 0);    /* no ssh asked */
    assert_int_equal(model_compute_node_public_port(c, 2, 29876), 0); /* no such node */
    ModelNsg *n = model_compute_nsg(c);
    assert_string_equal(model_nsg_name(n), "cpu-cluster-nsg");
    size_t count;
    const ModelNsgRule *const *rules = model_nsg_rules(n, MODEL_DIR_INBOUND, &count);
    bool batch = false, aml = false;
    for (size_t i = 0; i < count; i++) {
        batch |= strcmp(rules[i]->name, "BatchNodeManagement") == 0;
        aml |= strcmp(rules[i]->name, "AzureMachineLearning") == 0;
    }
    assert_true(batch && aml);
    fx_free(fx);
}

/* "clusters delete them at 0 nodes": no NSG, no public IP, no node. */
static void cluster_at_zero_nodes_has_no_nsg_and_no_public_ip(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "idle", MODEL_COMPUTE_CLUSTER, 0, true);
    assert_int_equal(model_compute_n_nodes(c), 0);
    assert_null(model_compute_nsg(c));
    assert_null(model_compute_node(c, 0));
    assert_int_equal(model_compute_node_public_ip(c, 0), 0);
    fx_start(fx, false);
    assert_int_equal(model_net_start_compute_outbound(fx->net, c, "idle", 0, NULL), -1);
    fx_free(fx);
}

static void compute_construction_errors_follow_azure(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    assert_null(model_net_add_compute(fx->net, "ci", MODEL_COMPUTE_INSTANCE, fx->training, 2, true,
                                      NULL, &err));
    assert_non_null(strstr(err->message, "one node"));
    g_clear_error(&err);
    /* A /29 has three usable addresses: four nodes would be partially allocated. */
    ModelSubnet *tiny =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-tiny", tn_prefix("10.0.3.0/29"), &err));
    assert_null(
        model_net_add_compute(fx->net, "big", MODEL_COMPUTE_CLUSTER, tiny, 4, true, NULL, &err));
    assert_non_null(strstr(err->message, "partially allocated"));
    g_clear_error(&err);
    fx_free(fx);
}

/* "No public IP clusters are dependent on Azure Private Link for Azure Machine Learning
 * workspace" (how-to-secure-training-vnet.md): without the workspace's private endpoint
 * reachable from the compute's VNet, finalize refuses; so does an enabled network policy. */
static void no_public_ip_compute_requires_a_workspace_private_endpoint(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    ModelComputeOptions none = {0};
    MUST(model_net_add_compute(fx->net, "npip", MODEL_COMPUTE_CLUSTER, fx->training, 1, false,
                               &none, &err));
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "Private Link"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new(MODEL_BATCH_CLASSIC);
    compute(fx, "npip", MODEL_COMPUTE_CLUSTER, 1, false);
    model_subnet_set_pe_policies(fx->training, MODEL_PE_POLICIES_ENABLED);
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "PrivateEndpointNetworkEndpoints"));
    g_clear_error(&err);
    fx_free(fx);
}

/* ---- management: usable or not ---- */

static void batch_classic_management_reaches_a_public_ip_node_through_the_batch_nsg(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "cpu-cluster", MODEL_COMPUTE_CLUSTER, 1, true);
    fx_start(fx, false);
    expect(manage(fx, "mgmt", c, MODEL_COMPUTE_MGMT_BATCH), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "cpu-cluster-node0");
    expect(verdict(fx, "mgmt/batch-29876"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(tn_has_step(fx->trace, "mgmt/batch-29876", MODEL_STAGE_NSG_IN,
                            "cpu-cluster-nsg/BatchNodeManagement", "allow", "29876"));
    /* Batch calls the pool's frontend on the node's NAT port; the load balancer hands it
     * to the node's 29876, and the reply leaves from the frontend again. */
    assert_true(tn_has_step(fx->trace, "mgmt/batch-29876", MODEL_STAGE_NAT, "cpu-cluster-lb",
                            "dnat", "inbound NAT rule cpu-cluster-node0-29876"));
    assert_true(tn_has_step(fx->trace, "mgmt/batch-29876", MODEL_STAGE_NAT, "cpu-cluster-lb",
                            "dnat", ":50000 -> 10.0.2.4:29876"));
    assert_true(tn_has_step(fx->trace, "mgmt/batch-29876", MODEL_STAGE_NAT, "cpu-cluster-lb",
                            "snat", "(frontend)"));
    fx_free(fx);
}

/* A subnet NSG denying inbound at a lower priority number than any allow: Batch's packets
 * stop at the subnet NSG (evaluated before the NIC's), and the node is unusable. */
static void subnet_nsg_denying_inbound_first_makes_the_node_unusable(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "cpu-cluster", MODEL_COMPUTE_CLUSTER, 1, true);
    ModelNsg *n = nsg(fx, "nsg-training");
    rule(n, "DenyAllInbound", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, "*", "*", "*");
    model_subnet_set_nsg(fx->training, n);
    fx_start(fx, false);
    const ModelVerdictRecord *v = manage(fx, "mgmt", c, MODEL_COMPUTE_MGMT_BATCH);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_COMPUTE_NODE_UNUSABLE,
           "nsg-training/DenyAllInbound");
    assert_int_equal(v->root_cause, MODEL_CAUSE_NSG_DENIED_IN);
    hint_has(v, "inbound TCP 29876-29877 from the BatchNodeManagement service tag");
    hint_has(v, "nsg-training with a priority number below 100");
    expect(verdict(fx, "mgmt/batch-29876"), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN,
           "nsg-training/DenyAllInbound");
    fx_free(fx);
}

/* Forced tunneling: 0.0.0.0/0 to an appliance takes the node's SYN/ACK to a stateful NVA
 * that never saw the SYN (it came in from the internet to the public IP). */
static void forced_tunneling_without_service_tag_udrs_makes_management_asymmetric(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "cpu-cluster", MODEL_COMPUTE_CLUSTER, 1, true);
    forced_tunneling(fx, false);
    fx_start(fx, false);
    const ModelVerdictRecord *v = manage(fx, "mgmt", c, MODEL_COMPUTE_MGMT_BATCH);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_COMPUTE_NODE_UNUSABLE, "nva");
    assert_int_equal(v->root_cause, MODEL_CAUSE_ASYMMETRIC_RETURN);
    hint_has(v, "rt-training/forced-tunnel");
    hint_has(v, "BatchNodeManagement.EastUS");
    hint_has(v, "next hop Internet");
    fx_free(fx);
}

/* With the UDRs the docs prescribe (BatchNodeManagement and AzureMachineLearning -> Internet)
 * the replies leave straight from the public IP: both managers reach the node. */
static void forced_tunneling_with_service_tag_udrs_to_internet_keeps_the_node_usable(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "cpu-cluster", MODEL_COMPUTE_CLUSTER, 1, true);
    forced_tunneling(fx, true);
    fx_start(fx, false);
    expect(manage(fx, "batch", c, MODEL_COMPUTE_MGMT_BATCH), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, NULL);
    expect(manage(fx, "aml", c, MODEL_COMPUTE_MGMT_AML), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           NULL);
    assert_true(tn_has_step(fx->trace, "batch/batch-29876", MODEL_STAGE_ROUTE, "rt-training/batch",
                            "route", NULL));
    fx_free(fx);
}

/* "Inbound TCP 44224 from AzureMachineLearning": the AML service's connection to the
 * instance passes the Batch NSG's AzureMachineLearning rule. */
static void compute_instance_takes_44224_from_the_aml_service(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "ci", MODEL_COMPUTE_INSTANCE, 1, true);
    fx_start(fx, false);
    expect(manage(fx, "aml", c, MODEL_COMPUTE_MGMT_AML), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "ci");
    assert_true(tn_has_step(fx->trace, "aml/aml-44224", MODEL_STAGE_NSG_IN,
                            "ci-nsg/AzureMachineLearning", "allow", "44224"));
    fx_free(fx);
}

/* ---- no public IP: outbound requirements ---- */

static const char *const internet_parts[] = {"aad", "aml",        "aml-18881", "batch",
                                             "arm", "ms-storage", "afd",       "mcr"};

/* simplified-node-communication-pool-no-public-ip.md: "your virtual machines won't be able
 * to access the public internet unless you configure … virtual network NAT": with nothing
 * on the subnet, the node's internet-bound packets stop where they would need an address
 * (NO_ROUTE), while the storage private endpoint is still reached inside the VNet. */
static void no_public_ip_node_has_no_default_outbound_access(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "npip", MODEL_COMPUTE_CLUSTER, 1, false);
    assert_null(model_compute_load_balancer(c));
    fx_start(fx, false);
    model_net_start_compute_outbound(fx->net, c, "out", 0, NULL);
    sim_run(fx->engine);
    for (size_t i = 0; i < G_N_ELEMENTS(internet_parts); i++) {
        g_autofree char *flow = g_strdup_printf("out/%s", internet_parts[i]);
        expect(verdict(fx, flow), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NO_ROUTE,
               "vnet-ml/snet-training");
        assert_false(tn_has_step(fx->trace, flow, MODEL_STAGE_NAT, NULL, "snat", NULL));
    }
    expect(verdict(fx, "out/storage-smb"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    fx_free(fx);
}

/* No inbound from the internet; the requirements leave through the NAT gateway, the storage
 * names resolve to its private endpoints (SMB 445 to the file endpoint). */
static void no_public_ip_compute_reaches_its_requirements_through_a_nat_gateway(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    ModelCompute *c = compute(fx, "npip", MODEL_COMPUTE_CLUSTER, 1, false);
    uint32_t nat_ip = tn_ip("20.42.0.200");
    ModelNatGw *gw = MUST(model_net_add_nat_gateway(fx->net, "natgw", &nat_ip, 1, &err));
    OK(model_subnet_set_nat_gateway(fx->training, gw, &err));
    assert_int_equal(model_compute_node_public_ip(c, 0), 0);
    fx_start(fx, false);
    assert_true(model_net_start_compute_outbound(fx->net, c, "out", 0, NULL) >= 0);
    sim_run(fx->engine);
    for (size_t i = 0; i < G_N_ELEMENTS(internet_parts); i++) {
        g_autofree char *flow = g_strdup_printf("out/%s", internet_parts[i]);
        expect(verdict(fx, flow), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
        assert_true(tn_has_step(fx->trace, flow, MODEL_STAGE_NAT, NULL, "snat", "NAT gateway"));
    }
    assert_null(model_trace_find_verdict(fx->trace, "out/aml-5831")); /* instances only */
    expect(verdict(fx, "out/storage-smb"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(
        tn_has_step(fx->trace, "out/storage-smb", MODEL_STAGE_DNS, NULL, "answer", "10.0.1.7"));
    expect(verdict(fx, "out/storage-https"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    /* Management without public IP: the node calls Batch on 443. */
    expect(manage(fx, "mgmt", c, MODEL_COMPUTE_MGMT_BATCH), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, NULL);
    assert_non_null(model_trace_find_verdict(fx->trace, "mgmt/batch-443"));
    /* And the AML service has no way in. */
    model_net_start_compute_management(fx->net, "aml", c, 0, MODEL_COMPUTE_MGMT_AML, 0);
    expect(verdict(fx, "aml"), MODEL_VERDICT_ABORTED, MODEL_CAUSE_UNSUPPORTED_FEATURE, NULL);
    fx_free(fx);
}

/* An NSG denying the internet and no NAT gateway: every internet requirement stops at that
 * rule, the private-endpoint ones still pass, and Batch cannot manage the node. */
static void no_public_ip_compute_without_outbound_path_fails_where_its_packets_stop(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "npip", MODEL_COMPUTE_CLUSTER, 1, false);
    ModelNsg *n = nsg(fx, "nsg-training");
    rule(n, "DenyInternetOutbound", 4000, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, "*", "Internet",
         "*");
    model_subnet_set_nsg(fx->training, n);
    fx_start(fx, false);
    model_net_start_compute_outbound(fx->net, c, "out", 0, NULL);
    sim_run(fx->engine);
    for (size_t i = 0; i < G_N_ELEMENTS(internet_parts); i++) {
        g_autofree char *flow = g_strdup_printf("out/%s", internet_parts[i]);
        expect(verdict(fx, flow), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_OUT,
               "nsg-training/DenyInternetOutbound");
    }
    expect(verdict(fx, "out/storage-smb"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(verdict(fx, "out/storage-https"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    const ModelVerdictRecord *v = manage(fx, "mgmt", c, MODEL_COMPUTE_MGMT_BATCH);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_COMPUTE_NODE_UNUSABLE,
           "nsg-training/DenyInternetOutbound");
    assert_int_equal(v->root_cause, MODEL_CAUSE_NSG_DENIED_OUT);
    hint_has(v, "outbound TCP 443 to the BatchNodeManagement service tag");
    fx_free(fx);
}

/* A public-IP instance: its outbound requirements (UDP 5831 included) leave through its
 * load balancer's outbound rule (outbound-rules.md); SMB to the default storage goes to the file
 * private endpoint, while the account's public endpoint is disabled. */
static void smb_445_to_default_storage_goes_through_its_private_endpoint(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    ModelCompute *c = compute(fx, "ci", MODEL_COMPUTE_INSTANCE, 1, true);
    fx_start(fx, false);
    model_net_start_compute_outbound(fx->net, c, "ci-out", 0, NULL);
    sim_run(fx->engine);
    expect(verdict(fx, "ci-out/aml-5831"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(verdict(fx, "ci-out/storage-smb"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore");
    assert_true(
        tn_has_step(fx->trace, "ci-out/storage-smb", MODEL_STAGE_DNS, NULL, "answer", "10.0.1.7"));
    assert_true(tn_has_step(fx->trace, "ci-out/aad", MODEL_STAGE_NAT, NULL, "snat",
                            "outbound rule of load balancer ci-lb"));
    fx_free(fx);
}

static void compute_captures_dissect_clean(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    ModelCompute *ci = compute(fx, "ci", MODEL_COMPUTE_INSTANCE, 1, true);
    forced_tunneling(fx, false);
    fx_start(fx, true);
    model_net_start_compute_management(fx->net, "batch", ci, 0, MODEL_COMPUTE_MGMT_BATCH, 0);
    model_net_start_compute_management(fx->net, "aml", ci, 0, MODEL_COMPUTE_MGMT_AML, 0);
    model_net_start_compute_outbound(fx->net, ci, "out", 0, NULL);
    sim_run(fx->engine);
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
    /* The node's capture shows Batch's SYNs to 29876 arriving (after DNAT). */
    g_autofree char *path = g_build_filename(fx->pcap_dir, "ci-nic0.pcap", NULL);
    assert_true(tshark_count(path, "tcp.dstport == 29876 && tcp.flags.syn == 1") > 0);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            cluster_nodes_get_subnet_addresses_a_batch_load_balancer_and_nsg_at_nic_level),
        cmocka_unit_test(cluster_at_zero_nodes_has_no_nsg_and_no_public_ip),
        cmocka_unit_test(compute_construction_errors_follow_azure),
        cmocka_unit_test(no_public_ip_compute_requires_a_workspace_private_endpoint),
        cmocka_unit_test(batch_classic_management_reaches_a_public_ip_node_through_the_batch_nsg),
        cmocka_unit_test(subnet_nsg_denying_inbound_first_makes_the_node_unusable),
        cmocka_unit_test(forced_tunneling_without_service_tag_udrs_makes_management_asymmetric),
        cmocka_unit_test(forced_tunneling_with_service_tag_udrs_to_internet_keeps_the_node_usable),
        cmocka_unit_test(compute_instance_takes_44224_from_the_aml_service),
        cmocka_unit_test(no_public_ip_node_has_no_default_outbound_access),
        cmocka_unit_test(no_public_ip_compute_reaches_its_requirements_through_a_nat_gateway),
        cmocka_unit_test(no_public_ip_compute_without_outbound_path_fails_where_its_packets_stop),
        cmocka_unit_test(smb_445_to_default_storage_goes_through_its_private_endpoint),
        cmocka_unit_test(compute_captures_dissect_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
