/*
 * The managed services behind AML, outside the customer's VNets: each at an address of
 * its service tag, each answering on the ports it really has, each named in public DNS;
 * NSGs that allow only the AML service tags let them through and stop the rest of the
 * internet; the AML service and Batch call into compute.
 *
 * Sources: azdocs:includes/machine-learning-public-internet-access.md (outbound service
 * tags and ports, inbound 44224 from AzureMachineLearning), domain.md §4.3 (seed era: inbound
 * 29876–29877 from BatchNodeManagement), azdocs:articles/batch/
 * simplified-compute-node-communication.md (outbound 443 only),
 * azdocs:articles/virtual-network/service-tags-overview.md.
 *
 *   vnet-ml 10.0.0.0/16  snet-app 10.0.2.0/24  vm 10.0.2.4 (default outbound access)
 *                        snet-ci 10.0.4.0/24   ci 10.0.4.4 (public IP 52.186.9.9)
 *   internet: pypi 151.101.0.223 (pypi.org), Azure DNS 168.63.129.16
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
    ModelSubnet *app, *ci_subnet;
    ModelHost *vm, *ci;
    char *pcap_dir;
} Fx;

static Fx *fx_new(ModelBatchMode batch)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix ml = tn_prefix("10.0.0.0/16");
    fx->ml = MUST(model_net_add_vnet(fx->net, "vnet-ml", &ml, 1, &err));
    fx->app =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-app", tn_prefix("10.0.2.0/24"), &err));
    fx->ci_subnet =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-ci", tn_prefix("10.0.4.0/24"), &err));
    fx->vm = MUST(model_net_add_host(fx->net, "vm", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, fx->vm, fx->app, "nic0", tn_ip("10.0.2.4"), &err));
    fx->ci = MUST(model_net_add_host(fx->net, "ci", MODEL_HOST_VM, &err));
    ModelNic *ci_nic =
        MUST(model_net_add_nic(fx->net, fx->ci, fx->ci_subnet, "nic0", tn_ip("10.0.4.4"), &err));
    OK(model_nic_set_public_ip(fx->net, ci_nic, tn_ip("52.186.9.9"), &err));
    /* What a compute instance listens on for its managers. */
    model_host_listen(fx->ci, 6, 44224);
    model_host_listen(fx->ci, 6, 29876);
    model_host_listen(fx->ci, 6, 29877);
    ModelHost *azure = MUST(model_net_add_host(fx->net, "azure-dns", MODEL_HOST_SERVICE, &err));
    OK(model_host_set_public_ip(fx->net, azure, tn_ip("168.63.129.16"), &err));
    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);
    /* pypi.org is a Fastly address: part of no Azure service tag. */
    ModelHost *pypi = MUST(model_net_add_host(fx->net, "pypi", MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, pypi, tn_ip("151.101.0.223"), &err));
    model_host_listen(pypi, 6, 443);
    OK(model_dns_public_add_a(model_net_dns(fx->net), "pypi.org", tn_ip("151.101.0.223"), &err));
    ModelManagedOptions opts = {.batch_mode = batch};
    OK(model_net_add_managed_services(fx->net, NULL, &opts, &err));
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(11);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-managed-XXXXXX", NULL);
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

/* TCP to fqdn:port (TLS and one request on 443), or one UDP datagram. */
static const ModelVerdictRecord *run(Fx *fx, const char *flow, ModelHost *from, const char *fqdn,
                                     uint8_t proto, uint16_t port)
{
    bool https = proto == 6 && port == 443;
    ModelFlowSpec spec = {.name = flow,
                          .from = from,
                          .fqdn = fqdn,
                          .port = port,
                          .proto = proto,
                          .tls = https,
                          .request = https};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    return verdict(fx, flow);
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("flow %s: got %s %s at %s (%s), want %s %s at %s", v->flow,
                 model_verdict_name(v->verdict), model_cause_name(v->cause), v->at, v->hint,
                 model_verdict_name(verdict), model_cause_name(cause), at ? at : "*");
}

static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *action,
                     const char *needle)
{
    size_t n;
    const ModelStepRecord *s = model_trace_steps(fx->trace, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].flow, flow) == 0 && s[i].stage == stage &&
            strcmp(s[i].action, action) == 0 && (!needle || strstr(s[i].detail, needle)))
            return true;
    return false;
}

/* The managed hosts, their names, their ports and the tag their address belongs to. */
typedef struct {
    const char *host;
    const char *fqdn;
    const char *tag;
    uint8_t proto;
    uint16_t ports[3];
} Managed;

static const Managed managed[] = {
    {"aad", "login.microsoftonline.com", "AzureActiveDirectory", 6, {80, 443}},
    {"arm", "management.azure.com", "AzureResourceManager", 6, {443}},
    {"aml-service", "eastus.api.azureml.ms", "AzureMachineLearning.EastUS", 6, {443, 18881}},
    {"aml-service", "eastus.api.azureml.ms", "AzureMachineLearning.EastUS", 17, {5831}},
    {"afd", "ml.azure.com", "AzureFrontDoor.Frontend", 6, {443}},
    {"batch", "amlbatch.eastus.service.batch.azure.com", "BatchNodeManagement.EastUS", 6, {443}},
    {"ms-storage", "amlmsstoreeastus.blob.core.windows.net", "Storage.EastUS", 6, {443}},
    {"ms-storage", "amlmsstoreeastus.table.core.windows.net", "Storage.EastUS", 6, {443}},
    {"ms-storage", "amlmsstoreeastus.queue.core.windows.net", "Storage.EastUS", 6, {443}},
    {"mcr", "mcr.microsoft.com", "MicrosoftContainerRegistry.EastUS", 6, {443}},
    {"mcr-data", "eastus.data.mcr.microsoft.com", "AzureFrontDoor.FirstParty", 6, {443}},
    {"viennaglobal", "viennaglobal.azurecr.io", "AzureContainerRegistry.EastUS", 6, {443}},
    /* A caller only: no name, no listener. */
    {"data-profiling", NULL, "AzureMachineLearning.EastUS", 0, {0}},
};

static void managed_service_addresses_lie_in_their_service_tags(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    const ModelServiceTags *tags = model_net_service_tags(fx->net);
    for (size_t i = 0; i < G_N_ELEMENTS(managed); i++) {
        uint32_t ip = model_net_managed_address(fx->net, managed[i].host);
        assert_true(ip != 0);
        const char *tag = model_service_tags_name_of(tags, ip);
        if (!tag || strcmp(tag, managed[i].tag) != 0)
            fail_msg("%s: its address lies in %s, want %s", managed[i].host, tag ? tag : "no tag",
                     managed[i].tag);
    }
    assert_int_equal(model_net_managed_address(fx->net, "no-such-service"), 0);
    fx_free(fx);
}

/* Each name resolves (public DNS, through Azure DNS) to the service's address, and the
 * service answers on each port it has, from a VM with nothing but default outbound
 * access. */
static void managed_services_answer_on_their_ports_from_a_vm(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    fx_start(fx, false);
    for (size_t i = 0; i < G_N_ELEMENTS(managed); i++) {
        for (int k = 0; managed[i].fqdn && k < 3 && managed[i].ports[k]; k++) {
            char flow[96];
            g_snprintf(flow, sizeof flow, "%s/%s/%u", managed[i].host,
                       managed[i].proto == 6 ? "tcp" : "udp", managed[i].ports[k]);
            expect(run(fx, flow, fx->vm, managed[i].fqdn, managed[i].proto, managed[i].ports[k]),
                   MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
            char ip[MODEL_IP_STRLEN];
            model_ip_format(model_net_managed_address(fx->net, managed[i].host), ip);
            g_autofree char *answer = g_strdup_printf("%s -> %s (public", managed[i].fqdn, ip);
            if (!has_step(fx, flow, MODEL_STAGE_DNS, "answer", answer))
                fail_msg("%s: no DNS answer \"%s\"", flow, answer);
        }
    }
    /* A port the service does not have: refused. */
    expect(run(fx, "arm/tcp/80", fx->vm, "management.azure.com", 6, 80), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NO_LISTENER, "arm");
    fx_free(fx);
}

static void allow_out(ModelNsg *nsg, const char *name, int priority, const char *tag,
                      const char *ports)
{
    GError *err = NULL;
    ModelNsgRule *r = model_nsg_rule_new(name, priority, MODEL_DIR_OUTBOUND, MODEL_ACCESS_ALLOW,
                                         MODEL_NSG_PROTO_ANY);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, tag, &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, ports, &err) && model_nsg_add_rule(nsg, r, &err));
}

/* "Limited outbound": deny the internet, allow the service tags AML needs (how-to-access-
 * azureml-behind-firewall / domain.md §4.3). The tags hold the services' addresses, so AAD
 * passes and pypi.org, on no Azure tag, does not. */
static void nsg_allowing_only_aml_service_tags_blocks_pypi_but_not_aad(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-app", &err));
    allow_out(nsg, "AllowAAD", 100, "AzureActiveDirectory", "80,443");
    allow_out(nsg, "AllowAML", 110, "AzureMachineLearning", "443,18881");
    allow_out(nsg, "AllowARM", 120, "AzureResourceManager", "443");
    allow_out(nsg, "AllowStorage", 130, "Storage.EastUS", "443");
    allow_out(nsg, "AllowFrontDoor", 140, "AzureFrontDoor.Frontend", "443");
    ModelNsgRule *deny = model_nsg_rule_new("DenyInternet", 4000, MODEL_DIR_OUTBOUND,
                                            MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY);
    OK(model_nsg_rule_add_address(deny, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_address(deny, MODEL_NSG_DST, "Internet", &err) &&
       model_nsg_rule_add_ports(deny, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(deny, MODEL_NSG_DST, "*", &err) &&
       model_nsg_add_rule(nsg, deny, &err));
    model_subnet_set_nsg(fx->app, nsg);
    fx_start(fx, false);
    expect(run(fx, "aad", fx->vm, "login.microsoftonline.com", 6, 443), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "aad", MODEL_STAGE_NSG_OUT, "allow", NULL));
    expect(run(fx, "studio", fx->vm, "ml.azure.com", 6, 443), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, NULL);
    expect(run(fx, "pypi", fx->vm, "pypi.org", 6, 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_OUT, "nsg-app/DenyInternet");
    /* MCR is not allowed either: its tag is not in the list. */
    expect(run(fx, "mcr", fx->vm, "mcr.microsoft.com", 6, 443), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_OUT, "nsg-app/DenyInternet");
    fx_free(fx);
}

static ModelNsg *compute_nsg(Fx *fx, const char *source_tag, const char *ports)
{
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-ci", &err));
    ModelNsgRule *r = model_nsg_rule_new("AllowManagement", 100, MODEL_DIR_INBOUND,
                                         MODEL_ACCESS_ALLOW, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, source_tag, &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, ports, &err) && model_nsg_add_rule(nsg, r, &err));
    model_subnet_set_nsg(fx->ci_subnet, nsg);
    return nsg;
}

/* "Inbound TCP 44224 from AzureMachineLearning": the AML service's packets carry an
 * AzureMachineLearning source, so the rule naming that tag lets them in; without it the
 * default DenyAllInbound stops them. */
static void aml_service_calls_a_compute_instance_on_44224(void **state)
{
    (void)state;
    for (int allowed = 0; allowed < 2; allowed++) {
        Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
        compute_nsg(fx, allowed ? "AzureMachineLearning" : "BatchNodeManagement", "44224");
        fx_start(fx, false);
        assert_true(model_net_start_aml_service_call(fx->net, "aml-ci", tn_ip("52.186.9.9"), 0) >=
                    0);
        const ModelVerdictRecord *v = verdict(fx, "aml-ci");
        if (allowed)
            expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
        else
            expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN, "nsg-ci/DenyAllInBound");
        assert_true(has_step(fx, "aml-ci", MODEL_STAGE_NAT, "dnat", "52.186.9.9:44224"));
        fx_free(fx);
    }
}

static void batch_classic_mode_calls_into_the_node_on_29876(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    compute_nsg(fx, "BatchNodeManagement", "29876-29877");
    fx_start(fx, false);
    assert_true(model_net_start_batch_node_management(fx->net, "batch", fx->ci, 0) >= 0);
    expect(verdict(fx, "batch"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "batch", MODEL_STAGE_PLATFORM, "mode", "classic"));
    assert_true(has_step(fx, "batch", MODEL_STAGE_NSG_IN, "allow", "29876"));
    fx_free(fx);
}

/* Current docs: the node calls out on 443 and needs no inbound port, so an NSG with no
 * inbound rule at all does not matter. */
static void batch_simplified_mode_node_calls_out_on_443(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_SIMPLIFIED);
    compute_nsg(fx, "AzureMachineLearning", "44224");
    fx_start(fx, false);
    assert_true(model_net_start_batch_node_management(fx->net, "batch", fx->ci, 0) >= 0);
    expect(verdict(fx, "batch"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "batch");
    assert_true(has_step(fx, "batch", MODEL_STAGE_PLATFORM, "mode", "simplified"));
    assert_true(has_step(fx, "batch", MODEL_STAGE_TLS, "server-hello", "amlbatch.eastus"));
    fx_free(fx);
}

static void managed_services_are_added_once_and_need_their_tags(void **state)
{
    (void)state;
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    assert_false(model_net_add_managed_services(fx->net, NULL, NULL, &err));
    assert_non_null(strstr(err->message, "already"));
    g_clear_error(&err);
    fx_free(fx);
    /* The built-in table has no westus2 prefixes: say so rather than invent addresses. */
    ModelNet *net = model_net_new("westus2", NULL);
    assert_false(model_net_add_managed_services(net, NULL, NULL, &err));
    assert_non_null(strstr(err->message, "westus2"));
    g_clear_error(&err);
    assert_int_equal(model_net_start_aml_service_call(net, "x", tn_ip("52.186.9.9"), 0), -1);
    model_net_free(net);
}

static void assert_clean(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        long bad = tshark_count(path, TSHARK_BAD_FRAMES);
        if (bad != 0)
            fail_msg("%s: %ld bad frames", name, bad);
        n++;
    }
    g_dir_close(d);
    assert_true(n > 0);
}

/* Every capture of a run that touches every managed service dissects clean, and the VM's
 * ClientHellos name each service and go to its address. */
static void managed_service_captures_dissect_clean(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new(MODEL_BATCH_CLASSIC);
    GError *err = NULL;
    fx_start(fx, true);
    for (size_t i = 0; i < G_N_ELEMENTS(managed); i++)
        for (int k = 0; managed[i].fqdn && k < 3 && managed[i].ports[k]; k++) {
            char flow[96];
            g_snprintf(flow, sizeof flow, "%s/%u/%u", managed[i].host, managed[i].proto,
                       managed[i].ports[k]);
            run(fx, flow, fx->vm, managed[i].fqdn, managed[i].proto, managed[i].ports[k]);
        }
    assert_true(model_net_start_aml_service_call(fx->net, "aml-ci", tn_ip("52.186.9.9"),
                                                 sim_now(fx->engine)) >= 0);
    assert_true(model_net_start_batch_node_management(fx->net, "batch-ci", fx->ci,
                                                      sim_now(fx->engine)) >= 0);
    sim_run(fx->engine);
    OK(model_net_close_captures(fx->net, true, &err));
    assert_clean(fx->pcap_dir);
    g_autofree char *path = g_build_filename(fx->pcap_dir, "vm-nic0.pcap", NULL);
    const char *fields[] = {"tls.handshake.extensions_server_name", "ip.dst"};
    gchar **lines = tshark_fields(path, "tls.handshake.type == 1", fields, 2);
    assert_non_null(lines);
    int hellos = 0;
    for (gchar **l = lines; *l; l++, hellos++) {
        gchar **f = g_strsplit(*l, "|", 2);
        bool found = false;
        for (size_t i = 0; i < G_N_ELEMENTS(managed) && !found; i++) {
            if (!managed[i].fqdn || strcmp(managed[i].fqdn, f[0]) != 0)
                continue;
            char ip[MODEL_IP_STRLEN];
            model_ip_format(model_net_managed_address(fx->net, managed[i].host), ip);
            assert_string_equal(f[1], ip);
            found = true;
        }
        if (!found)
            fail_msg("ClientHello for %s", *l);
        g_strfreev(f);
    }
    g_strfreev(lines);
    assert_int_equal(hellos, 11); /* one per name served on 443 */
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(managed_service_addresses_lie_in_their_service_tags),
        cmocka_unit_test(managed_services_answer_on_their_ports_from_a_vm),
        cmocka_unit_test(nsg_allowing_only_aml_service_tags_blocks_pypi_but_not_aad),
        cmocka_unit_test(aml_service_calls_a_compute_instance_on_44224),
        cmocka_unit_test(batch_classic_mode_calls_into_the_node_on_29876),
        cmocka_unit_test(batch_simplified_mode_node_calls_out_on_443),
        cmocka_unit_test(managed_services_are_added_once_and_need_their_tags),
        cmocka_unit_test(managed_service_captures_dissect_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
