/*
 * demo.c — a compute cluster in a locked-down AML VNet, replayed packet by packet.
 *
 *   vnet-ml 10.0.0.0/16
 *     snet-fw       10.0.0.0/24   nva (10.0.0.4, IP forwarding): the egress appliance
 *     snet-training 10.0.2.0/24   cpu-node (10.0.2.4), NSG nsg-training, UDR 0/0 -> nva
 *     snet-pe       10.0.1.0/24   pe-blob (10.0.1.6), pe-file (10.0.1.7) -> mlwsstore
 *   vnet-other 10.5.0.0/16 (not peered)   other-vm (10.5.1.4)
 *   internet: pypi.org (151.101.0.223), mlwsstore's public endpoint (20.60.0.4),
 *             a laptop (198.51.100.7), Azure DNS (168.63.129.16)
 *
 * Each flow's verdict emerges from the packets: the private endpoints are reached over
 * their /32 routes despite the forced tunnel, DNS to 168.63.129.16 bypasses the NSG, the
 * internet is reached through the appliance, the laptop's SSH meets DenyAllInBound, and
 * the unpeered VNet falls into the reserved 10.0.0.0/8 None route.
 */
#include "tools/demo.h"

#include <glib/gstdio.h>

#include "model/net.h"

#define DEMO_ERROR (g_quark_from_static_string("vnetsim-demo"))

static ModelPrefix prefix(const char *text)
{
    ModelPrefix p = {0, 0};
    model_prefix_parse(text, false, &p);
    return p;
}

static uint32_t ip(const char *text)
{
    uint32_t v = 0;
    model_ip_parse(text, &v);
    return v;
}

static gboolean rule(ModelNsg *nsg, const char *name, int prio, ModelDirection dir,
                     ModelAccess access, const char *src, const char *dst, const char *ports,
                     GError **error)
{
    ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, access, MODEL_NSG_PROTO_TCP);
    if (!model_nsg_rule_add_address(r, MODEL_NSG_SRC, src, error) ||
        !model_nsg_rule_add_address(r, MODEL_NSG_DST, dst, error) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", error) ||
        !model_nsg_rule_add_ports(r, MODEL_NSG_DST, ports, error)) {
        model_nsg_rule_free(r);
        return FALSE;
    }
    return model_nsg_add_rule(nsg, r, error);
}

static ModelNet *build(GError **error)
{
    ModelNet *net = model_net_new("eastus", NULL);
    ModelPrefix ml = prefix("10.0.0.0/16"), other = prefix("10.5.0.0/16");
    ModelVnet *v = model_net_add_vnet(net, "vnet-ml", &ml, 1, error);
    ModelVnet *vo = v ? model_net_add_vnet(net, "vnet-other", &other, 1, error) : NULL;
    if (!vo)
        goto fail;
    ModelSubnet *fw = model_net_add_subnet(net, v, "snet-fw", prefix("10.0.0.0/24"), error);
    ModelSubnet *tr = model_net_add_subnet(net, v, "snet-training", prefix("10.0.2.0/24"), error);
    ModelSubnet *pe = model_net_add_subnet(net, v, "snet-pe", prefix("10.0.1.0/24"), error);
    ModelSubnet *so = model_net_add_subnet(net, vo, "snet-other", prefix("10.5.1.0/24"), error);
    if (!fw || !tr || !pe || !so)
        goto fail;

    ModelNsg *nsg = model_net_add_nsg(net, "nsg-training", error);
    if (!nsg ||
        !rule(nsg, "AllowBatchInbound", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
              "BatchNodeManagement", "*", "29876-29877", error) ||
        !rule(nsg, "AllowAzureMLInbound", 110, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
              "AzureMachineLearning", "*", "44224", error))
        goto fail;
    model_subnet_set_nsg(tr, nsg);
    ModelRouteTable *rt = model_net_add_route_table(net, "rt-training", error);
    if (!rt || !model_route_table_add(rt, "default-to-nva", "0.0.0.0/0", "VirtualAppliance",
                                      "10.0.0.4", 0, NULL, NULL, error))
        goto fail;
    model_subnet_set_route_table(tr, rt);

    ModelHost *node = model_net_add_host(net, "cpu-node", MODEL_HOST_VM, error);
    ModelHost *nva = model_net_add_host(net, "nva", MODEL_HOST_APPLIANCE, error);
    ModelHost *ovm = model_net_add_host(net, "other-vm", MODEL_HOST_VM, error);
    ModelHost *store = model_net_add_host(net, "mlwsstore", MODEL_HOST_SERVICE, error);
    ModelHost *pypi = model_net_add_host(net, "pypi.org", MODEL_HOST_INTERNET, error);
    ModelHost *laptop = model_net_add_host(net, "laptop", MODEL_HOST_INTERNET, error);
    ModelHost *dns = model_net_add_host(net, "azure-dns", MODEL_HOST_SERVICE, error);
    if (!node || !nva || !ovm || !store || !pypi || !laptop || !dns)
        goto fail;
    ModelNic *node_nic = model_net_add_nic(net, node, tr, "nic0", ip("10.0.2.4"), error);
    ModelNic *nva_nic = model_net_add_nic(net, nva, fw, "nic0", ip("10.0.0.4"), error);
    if (!node_nic || !nva_nic || !model_net_add_nic(net, ovm, so, "nic0", ip("10.5.1.4"), error) ||
        !model_nic_set_public_ip(net, node_nic, ip("52.186.7.7"), error) ||
        !model_net_add_private_endpoint(net, "pe-blob", pe, ip("10.0.1.6"), store, error) ||
        !model_net_add_private_endpoint(net, "pe-file", pe, ip("10.0.1.7"), store, error) ||
        !model_host_set_public_ip(net, store, ip("20.60.0.4"), error) ||
        !model_host_set_public_ip(net, pypi, ip("151.101.0.223"), error) ||
        !model_host_set_public_ip(net, laptop, ip("198.51.100.7"), error) ||
        !model_host_set_public_ip(net, dns, ip("168.63.129.16"), error))
        goto fail;
    model_nic_set_ip_forwarding(nva_nic, true);
    model_host_listen(store, 6, 443);
    model_host_listen(store, 6, 445);
    model_host_listen(pypi, 6, 443);
    model_host_listen(node, 6, 22);
    model_host_listen(ovm, 6, 443);
    model_host_listen(dns, 17, 53);
    if (!model_net_finalize(net, error))
        goto fail;
    return net;
fail:
    model_net_free(net);
    return NULL;
}

static void start_flows(ModelNet *net)
{
    ModelHost *node = model_net_find_host(net, "cpu-node");
    ModelHost *laptop = model_net_find_host(net, "laptop");
    model_net_start_udp(net, "node/dns", node, ip("168.63.129.16"), 53, SIM_MS(1));
    model_net_start_tcp(net, "node/storage-smb", node, ip("10.0.1.7"), 445, SIM_MS(2));
    model_net_start_tcp(net, "node/storage-blob", node, ip("10.0.1.6"), 443, SIM_MS(3));
    model_net_start_tcp(net, "node/pypi", node, ip("151.101.0.223"), 443, SIM_MS(4));
    model_net_start_tcp(net, "node/other-vnet", node, ip("10.5.1.4"), 443, SIM_MS(5));
    model_net_start_tcp(net, "laptop/ssh-node", laptop, ip("52.186.7.7"), 22, SIM_MS(6));
}

static void print_summary(const ModelTrace *trace, FILE *out)
{
    size_t n;
    const ModelVerdictRecord *v = model_trace_verdicts(trace, &n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-22s %-9s %-28s %s\n", v[i].flow, model_verdict_name(v[i].verdict),
                v[i].cause == MODEL_CAUSE_NONE ? "-" : model_cause_name(v[i].cause), v[i].at);
}

int vnetsim_demo_run(const char *out_dir, uint64_t seed, FILE *summary, GError **error)
{
    ModelNet *net = build(error);
    if (!net)
        return 2;
    SimEngine *engine = sim_engine_new(seed);
    ModelTrace *trace = model_trace_new();
    g_autofree char *pcap_dir = g_build_filename(out_dir, "pcap", NULL);
    g_autofree char *trace_path = g_build_filename(out_dir, "trace.jsonl", NULL);
    int rc = 2;
    if (!model_net_attach(net, engine, trace, pcap_dir, error))
        goto out;
    start_flows(net);
    sim_run(engine);
    /* Captures first, trace last: the trace's presence says the run completed. */
    if (!model_net_close_captures(net, true, error) || !model_trace_write(trace, trace_path, error))
        goto out;
    print_summary(trace, summary);
    rc = 0;
out:
    model_net_close_captures(net, false, NULL);
    model_net_free(net);
    model_trace_free(trace);
    sim_engine_free(engine);
    return rc;
}
