/*
 * Entry points and PaaS services in scenario files: onprem sites and their hosts, gateways
 * (VPN, ExpressRoute) with P2S pools, P2S clients (hosts[].via) and connections, gateway
 * transit on peerings, Azure Bastion and the bastion flow kind, the workspace with its
 * storage, key vault and registry, identity roles, and managedServices — each key loaded
 * and replayed, each class of bad input pinned to its file:line:col, and one end-to-end
 * run of scenarios/services/studio-p2s.yaml.
 *
 * Bad-input files live in tests/data/scn/ (entry-*.yaml); the tests chdir there.
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

#include "model/scn_load.h"
#include "testnet.h"

#define GUID "6b5c8a44-0d2e-4d7e-9a3c-0123456789ab"
#define API  GUID ".workspace.eastus.api.azureml.ms"
#define BLOB "mlwsstore.blob.core.windows.net"

static int enter_data_dir(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *dir = g_build_filename(src ? src : ".", "tests", "data", "scn", NULL);
    return g_chdir(dir);
}

static void expect_error(const char *file, ScnErrorCode code, const char *message)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load(file, &error);
    if (scn)
        fail_msg("%s loaded, expected: %s", file, message);
    if (strcmp(error->message, message) != 0)
        fail_msg("%s:\n  got      %s\n  expected %s", file, error->message, message);
    assert_true(g_error_matches(error, SCN_ERROR, (gint)code));
    g_error_free(error);
}

/* Loads YAML text and asserts the error (of class `code`) starts with `at` and contains
 * `fragment`. */
static void expect_text_error(const char *yaml, ScnErrorCode code, const char *at,
                              const char *fragment)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (scn)
        fail_msg("loaded, expected an error containing: %s", fragment);
    if (!strstr(error->message, fragment) || !g_str_has_prefix(error->message, at) ||
        !g_error_matches(error, SCN_ERROR, (gint)code))
        fail_msg("got %s (code %d)\n  expected %s…%s (code %d)", error->message, error->code, at,
                 fragment, (int)code);
    g_error_free(error);
}

typedef struct {
    ScnScenario *scn;
    ModelTrace *trace;
} Run;

static Run load(const char *yaml)
{
    GError *error = NULL;
    Run r = {0};
    r.scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!r.scn)
        fail_msg("load: %s", error->message);
    return r;
}

static void replay(Run *r)
{
    GError *error = NULL;
    r->trace = model_trace_new();
    if (scn_replay(r->scn, 1, NULL, r->trace, &error) != 0)
        fail_msg("replay: %s", error->message);
}

static void run_free(Run *r)
{
    scn_scenario_free(r->scn);
    model_trace_free(r->trace);
}

/* Asserts every flow with an expect passes it. */
static void all_pass(const Run *r)
{
    for (size_t i = 0; i < scn_scenario_n_flows(r->scn); i++) {
        const ScnFlow *f = scn_scenario_flow(r->scn, i);
        if (!f->expect.set)
            continue;
        const ModelVerdictRecord *v = model_trace_find_verdict(r->trace, f->name);
        g_autoptr(GString) got = g_string_new(NULL);
        g_autoptr(GString) want = g_string_new(NULL);
        if (scn_judge(f, v, got, want) != SCN_JUDGE_PASS)
            fail_msg("flow %s: expected %s, got %s", f->name, want->str, got->str);
    }
}

/* `text` with its one occurrence of `old` replaced by `new_text`; g_free. */
static char *replace(const char *text, const char *old, const char *new_text)
{
    const char *at = strstr(text, old);
    assert_non_null(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - text), text, new_text, at + strlen(old));
}

/* ---- onprem, gateways, connections, transit ---- */

static const char s2s_yaml[] =
    "scenario: s2s\n"
    "onprem:\n"
    "  - {name: corp, addressPrefixes: [192.168.0.0/16], dnsServers: [192.168.0.53],\n"
    "     publicEgress: 203.0.113.10}\n"
    "  - {name: branch, addressPrefixes: 192.169.0.0/16}\n"
    "vnets:\n"
    "  - name: hub\n"
    "    addressSpace: [10.0.0.0/16]\n"
    "    peerings: [{vnet: spoke, allowGatewayTransit: true}]\n"
    "    subnets: [{name: GatewaySubnet, addressPrefix: 10.0.255.0/27},\n"
    "              {name: app, addressPrefix: 10.0.1.0/24}]\n"
    "  - name: spoke\n"
    "    addressSpace: [10.1.0.0/16]\n"
    "    peerings: [{vnet: hub, useRemoteGateways: true}]\n"
    "    subnets: [{name: app, addressPrefix: 10.1.1.0/24}]\n"
    "gateways:\n"
    "  - name: vpngw\n"
    "    type: vpn\n"
    "    vnet: hub\n"
    "    connections:\n"
    "      - {name: to-corp, onprem: corp, bgp: true, prefixes: [192.168.0.0/16]}\n"
    "      - {name: to-branch, onprem: branch, connected: false}\n"
    "hosts:\n"
    "  - {name: pc, onprem: corp, ip: 192.168.1.20}\n"
    "  - {name: nas, onprem: branch, ip: 192.169.1.5, listen: [Tcp/445]}\n"
    "  - {name: vm-spoke, subnet: spoke/app, ip: 10.1.1.4, listen: [Tcp/22]}\n"
    "  - {name: web, kind: internet, publicIp: 93.184.216.34, listen: [Tcp/443]}\n"
    "flows:\n"
    "  - {name: pc-spoke, from: pc, to: {host: vm-spoke, port: 22}, expect: delivered}\n"
    "  - {name: pc-web, from: pc, to: {host: web, port: 443}, expect: delivered}\n"
    "  - {name: spoke-nas, from: vm-spoke, to: {host: nas, port: 445},\n"
    "     expect: {verdict: dropped, cause: GATEWAY_NOT_CONNECTED, at: to-branch}}\n";

static void onprem_gateway_connections_and_transit_load_and_replay(void **state)
{
    (void)state;
    Run r = load(s2s_yaml);
    ModelNet *net = scn_scenario_net(r.scn);
    assert_non_null(model_net_find_onprem(net, "corp"));
    assert_non_null(model_net_find_onprem(net, "branch"));
    ModelGateway *gw = model_net_find_gateway(net, "vpngw");
    assert_non_null(gw);
    assert_non_null(model_gateway_host(gw));
    replay(&r);
    all_pass(&r);
    /* The corp NAT: pc's internet traffic leaves from publicEgress. */
    assert_true(tn_has_step(r.trace, "pc-web", MODEL_STAGE_NAT, "corp", "snat", "-> 203.0.113.10"));
    run_free(&r);
}

/* Without the spoke's useRemoteGateways, the site never learns the spoke. */
static void peering_without_transit_keeps_the_spoke_unknown(void **state)
{
    (void)state;
    g_autofree char *yaml = replace(s2s_yaml, "[{vnet: hub, useRemoteGateways: true}]", "[hub]");
    Run r = load(yaml);
    replay(&r);
    const ModelVerdictRecord *v = model_trace_find_verdict(r.trace, "pc-spoke");
    assert_non_null(v);
    assert_int_equal(v->verdict, MODEL_VERDICT_DROPPED);
    assert_int_equal(v->cause, MODEL_CAUSE_GATEWAY_NOT_CONNECTED);
    run_free(&r);
}

/* P2S: the pool, clients via the gateway, their public egress; ExpressRoute type. */
static void p2s_clients_and_expressroute(void **state)
{
    (void)state;
    Run r = load("scenario: p2s\n"
                 "onprem: [{name: dc, addressPrefixes: [172.20.0.0/16]}]\n"
                 "vnets:\n"
                 "  - {name: v, addressSpace: [10.0.0.0/16], subnets: [\n"
                 "     {name: GatewaySubnet, addressPrefix: 10.0.255.0/27},\n"
                 "     {name: app, addressPrefix: 10.0.1.0/24}]}\n"
                 "gateways:\n"
                 "  - {name: vpngw, type: vpn, vnet: v, clientAddressPool: 172.16.201.0/24}\n"
                 "  - {name: ergw, type: expressroute, vnet: v,\n"
                 "     connections: [{name: er-dc, onprem: dc}]}\n"
                 "hosts:\n"
                 "  - {name: laptop, via: vpngw, ip: 172.16.201.10, publicIp: 198.51.100.7}\n"
                 "  - {name: server, onprem: dc, ip: 172.20.1.4}\n"
                 "  - {name: vm, subnet: v/app, ip: 10.0.1.4, listen: [Tcp/22]}\n"
                 "flows:\n"
                 "  - {name: laptop-vm, from: laptop, to: {host: vm, port: 22},\n"
                 "     expect: {verdict: delivered, at: vm}}\n"
                 "  - {name: dc-vm, from: server, to: {host: vm, port: 22}, expect: delivered}\n");
    assert_non_null(model_net_find_gateway(scn_scenario_net(r.scn), "ergw"));
    replay(&r);
    all_pass(&r);
    run_free(&r);
}

/* ---- Bastion ---- */

static void bastion_sessions_replay_as_flows(void **state)
{
    (void)state;
    Run r = load("scenario: b\n"
                 "vnets:\n"
                 "  - {name: v, addressSpace: [10.0.0.0/16], subnets: [\n"
                 "     {name: AzureBastionSubnet, addressPrefix: 10.0.254.0/26},\n"
                 "     {name: vms, addressPrefix: 10.0.2.0/24}]}\n"
                 "bastions: [{name: bastion, vnet: v, ip: 10.0.254.4, publicIp: 52.190.1.10}]\n"
                 "hosts:\n"
                 "  - {name: jumpbox, subnet: v/vms, ip: 10.0.2.4, listen: [Tcp/22]}\n"
                 "  - {name: browser, kind: internet, publicIp: 198.51.100.7}\n"
                 "flows:\n"
                 "  - {name: ssh, from: browser, bastion: {via: bastion, to: jumpbox},\n"
                 "     expect: {verdict: delivered, at: jumpbox}}\n"
                 "  - {name: rdp, from: browser, bastion: {via: bastion, to: jumpbox, port: "
                 "3389}}\n"
                 "  - {name: https, from: browser, to: {host: bastion, port: 443},\n"
                 "     expect: delivered}\n");
    const ScnFlow *f = scn_scenario_find_flow(r.scn, "ssh");
    assert_string_equal(f->to, "host jumpbox via bastion bastion");
    replay(&r);
    all_pass(&r);
    const ModelVerdictRecord *v = model_trace_find_verdict(r.trace, "ssh/ssh");
    assert_non_null(v);
    assert_int_equal(v->verdict, MODEL_VERDICT_DELIVERED);
    assert_non_null(model_trace_find_verdict(r.trace, "ssh/browser"));
    /* Nothing listens on 3389: the inner leg fails, and the session with it. */
    v = model_trace_find_verdict(r.trace, "rdp");
    assert_non_null(v);
    assert_int_not_equal(v->verdict, MODEL_VERDICT_DELIVERED);
    run_free(&r);
}

/* ---- workspace, services, roles, managed services ---- */

static const char ws_fmt[] =
    "scenario: ws\n"
    "vnets:\n"
    "  - {name: v, addressSpace: [10.0.0.0/16], subnets: [\n"
    "     {name: pe, addressPrefix: 10.0.1.0/24},\n"
    "     {name: se, addressPrefix: 10.0.3.0/24, serviceEndpoints: [Microsoft.Storage]}]}\n"
    "workspace:\n"
    "  name: mlws\n"
    "  id: " GUID "\n"
    "  publicNetworkAccess: Disabled\n"
    "  privateEndpoints: [{subnet: v/pe, ip: 10.0.1.5}]\n"
    "  storage:\n"
    "    name: mlwsstore\n"
    "    publicNetworkAccess: SelectedNetworks\n"
    "    ipRules: [198.51.100.7]\n"
    "    virtualNetworkRules: [v/se]\n"
    "    resourceInstanceRules: [mlws]\n"
    "    trustedServices: true\n"
    "    privateEndpoints: [{name: pe-blob, subresource: blob, subnet: v/pe, ip: 10.0.1.6}]\n"
    "  keyVault: {name: mlwskv, publicNetworkAccess: Disabled, trustedServices: true,\n"
    "             privateEndpoints: [{subnet: v/pe, ip: 10.0.1.8}]}\n"
    "  containerRegistry: {name: mlwsacr, sku: Premium, publicNetworkAccess: Disabled,\n"
    "                      privateEndpoints: [{subnet: v/pe, ip: 10.0.1.9}]}\n"
    "  identityRoles:\n"
    "    - {role: Reader, scope: mlwsstore/privateEndpoints/pe-blob}\n"
    "    - {role: Storage Blob Data Reader, scope: mlwsstore}\n"
    "managedServices: %s\n"
    "dns:\n"
    "  privateZones: [{name: privatelink.blob.core.windows.net, links: [v]},\n"
    "                 {name: privatelink.api.azureml.ms, links: [v]}]\n"
    "  servers: [{name: isp-dns, publicIp: 8.8.8.8}]\n"
    "hosts:\n"
    "  - {name: vm, subnet: v/pe, ip: 10.0.1.20}\n"
    "  - {name: vm-se, subnet: v/se, ip: 10.0.3.4}\n"
    "  - {name: laptop, kind: internet, publicIp: 198.51.100.7, dnsServers: [8.8.8.8]}\n"
    "  - {name: cafe, kind: internet, publicIp: 198.51.100.8, dnsServers: [8.8.8.8]}\n"
    "flows:\n"
    "  - {name: vm-api, from: vm, to: {host: " API ", port: 443}, expect: delivered}\n"
    "  - {name: vm-blob, from: vm, to: {host: " BLOB ", port: 443},\n"
    "     expect: {verdict: delivered, at: mlwsstore}}\n"
    "  - {name: by-pe, from: vm, to: {host: pe-mlwskv-vault, port: 443}, expect: delivered}\n"
    "  - {name: laptop-blob, from: laptop, to: {host: " BLOB ", port: 443}, expect: delivered}\n"
    "  - {name: cafe-blob, from: cafe, to: {host: " BLOB ", port: 443},\n"
    "     expect: {verdict: dropped, cause: SERVICE_FIREWALL_DENIED, at: mlwsstore}}\n"
    "  - {name: laptop-api, from: laptop, to: {host: " API ", port: 443},\n"
    "     expect: {verdict: dropped, cause: PUBLIC_ACCESS_DISABLED, at: mlws}}\n";

static void workspace_services_and_roles_load_and_replay(void **state)
{
    (void)state;
    g_autofree char *yaml = g_strdup_printf(ws_fmt, "true");
    Run r = load(yaml);
    ModelNet *net = scn_scenario_net(r.scn);
    ModelService *ws = model_net_find_service(net, "mlws");
    assert_non_null(ws);
    assert_int_equal(model_service_kind(ws), MODEL_SERVICE_WORKSPACE);
    assert_string_equal(model_service_fqdn(ws, "api"), API);
    assert_int_equal(model_service_kind(model_net_find_service(net, "mlwsstore")),
                     MODEL_SERVICE_STORAGE);
    assert_int_equal(model_service_kind(model_net_find_service(net, "mlwskv")),
                     MODEL_SERVICE_KEY_VAULT);
    assert_int_equal(model_service_kind(model_net_find_service(net, "mlwsacr")),
                     MODEL_SERVICE_REGISTRY);
    assert_int_not_equal(model_net_managed_address(net, "aad"), 0);
    replay(&r);
    all_pass(&r);
    run_free(&r);
}

static void managed_services_forms(void **state)
{
    (void)state;
    const char *forms[] = {"false", "{batchMode: simplified}", "{batchMode: Classic}"};
    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        g_autofree char *yaml = g_strdup_printf("scenario: m\nmanagedServices: %s\n", forms[i]);
        Run r = load(yaml);
        bool added = model_net_managed_address(scn_scenario_net(r.scn), "batch") != 0;
        assert_int_equal(added, i != 0);
        run_free(&r);
    }
}

/* ---- errors: one per class, each located ---- */

static void errors_are_located_with_suggestions(void **state)
{
    (void)state;
    /* SCHEMA: an unknown key, with its suggestion (file). */
    expect_error("entry-gateway-key.yaml", SCN_ERROR_SCHEMA,
                 "entry-gateway-key.yaml:7:45: unknown key 'clientAdressPool' in gateway (did you "
                 "mean 'clientAddressPool'?)");
    /* REFERENCE: a gateway that is not defined (file). */
    expect_error("entry-via.yaml", SCN_ERROR_REFERENCE,
                 "entry-via.yaml:9:25: gateway 'vpngww' is not defined (did you mean 'vpngw'?)");
    /* VALUE: an enum with a suggestion. */
    expect_text_error("scenario: s\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16]}]\n"
                      "gateways: [{name: g, type: vnp, vnet: v}]\n",
                      SCN_ERROR_VALUE,
                      "t.yaml:3:28: ", "unknown value 'vnp' (did you mean 'vpn'?)");
    expect_text_error("scenario: s\n"
                      "workspace: {name: mlws, id: " GUID ",\n"
                      "  storage: {name: mlwsstore, publicNetworkAccess: Disable}}\n",
                      SCN_ERROR_VALUE, "t.yaml:3:51: ", "(did you mean 'Disabled'?)");
    expect_text_error("scenario: s\nmanagedServices: {batchMode: simplifed}\n", SCN_ERROR_VALUE,
                      "t.yaml:2:30: ", "(did you mean 'simplified'?)");
    /* VALUE: what the model refuses, located at the node. */
    expect_text_error("scenario: s\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16]}]\n"
                      "gateways: [{name: g, type: vpn, vnet: v}]\n",
                      SCN_ERROR_VALUE, "t.yaml:3:39: ", "GatewaySubnet");
    expect_text_error("scenario: s\n"
                      "workspace: {name: mlws, id: " GUID ",\n"
                      "  containerRegistry: {name: mlwsacr, sku: Basic, "
                      "publicNetworkAccess: Disabled}}\n",
                      SCN_ERROR_VALUE, "t.yaml:3:", "Premium");
    /* REFERENCE: other names. */
    expect_text_error("scenario: s\nonprem: [{name: corp, addressPrefixes: [192.168.0.0/16]}]\n"
                      "hosts: [{name: pc, onprem: crop, ip: 192.168.1.4}]\n",
                      SCN_ERROR_REFERENCE,
                      "t.yaml:3:28: ", "on-prem site 'crop' is not defined (did you mean 'corp'?)");
    expect_text_error(
        "scenario: s\n"
        "vnets: [{name: v, addressSpace: [10.0.0.0/16], subnets: [{name: AzureBastionSubnet, "
        "addressPrefix: 10.0.254.0/26}, {name: a, addressPrefix: 10.0.1.0/24}]}]\n"
        "bastions: [{name: bastion, vnet: v, ip: 10.0.254.4, publicIp: 52.190.1.10}]\n"
        "hosts: [{name: vm, subnet: v/a, ip: 10.0.1.4}, {name: b, kind: internet, publicIp: "
        "198.51.100.7}]\n"
        "flows: [{name: f, from: b, bastion: {via: bastoin, to: vm}}]\n",
        SCN_ERROR_REFERENCE, "t.yaml:5:43: ",
        "bastion 'bastoin' is not defined (did you mean "
        "'bastion'?)");
    /* SCHEMA: keys that exclude each other, keys that do not apply. */
    expect_text_error("scenario: s\n"
                      "hosts: [{name: pc, onprem: corp, via: g, ip: 192.168.1.4}]\n",
                      SCN_ERROR_SCHEMA, "t.yaml:2:39: ", "both 'onprem' and 'via'");
    expect_text_error("scenario: s\n"
                      "hosts: [{name: pc, onprem: corp, subnet: v/a, ip: 192.168.1.4}]\n",
                      SCN_ERROR_SCHEMA,
                      "t.yaml:2:34: ", "'subnet' does not apply to an on-prem host");
    expect_text_error("scenario: s\nmanagedServices: yes please\n", SCN_ERROR_SCHEMA,
                      "t.yaml:2:18: ", "must be true, false or {batchMode");
    /* VALUE: a P2S client outside the pool; a Bastion port that is neither SSH nor RDP. */
    expect_text_error("scenario: s\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16], subnets: [{name: "
                      "GatewaySubnet, addressPrefix: 10.0.255.0/27}]}]\n"
                      "gateways: [{name: g, type: vpn, vnet: v, clientAddressPool: "
                      "172.16.201.0/24}]\n"
                      "hosts: [{name: l, via: g, ip: 172.16.202.10}]\n",
                      SCN_ERROR_VALUE, "t.yaml:4:31: ", "172.16.202.10");
    expect_text_error(
        "scenario: s\n"
        "vnets: [{name: v, addressSpace: [10.0.0.0/16], subnets: [{name: AzureBastionSubnet, "
        "addressPrefix: 10.0.254.0/26}, {name: a, addressPrefix: 10.0.1.0/24}]}]\n"
        "bastions: [{name: bastion, vnet: v, ip: 10.0.254.4, publicIp: 52.190.1.10}]\n"
        "hosts: [{name: vm, subnet: v/a, ip: 10.0.1.4}, {name: b, kind: internet, publicIp: "
        "198.51.100.7}]\n"
        "flows: [{name: f, from: b, bastion: {via: bastion, to: vm, port: 80}}]\n",
        SCN_ERROR_VALUE, "t.yaml:5:66: ", "SSH (22) or RDP (3389)");
}

/* ---- end to end: the teaching scenario ---- */

static void studio_p2s_scenario_passes(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *path =
        g_build_filename(src ? src : "../..", "scenarios", "services", "studio-p2s.yaml", NULL);
    GError *error = NULL;
    Run r = {0};
    r.scn = scn_load(path, &error);
    if (!r.scn)
        fail_msg("load: %s", error->message);
    replay(&r);
    all_pass(&r);
    const ModelVerdictRecord *v = model_trace_find_verdict(r.trace, "home-blob");
    assert_int_equal(v->cause, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED);
    assert_int_equal(v->root_cause, MODEL_CAUSE_DNS_PUBLIC_ANSWER);
    /* Through the tunnel, at the private endpoint. */
    assert_true(tn_has_step(r.trace, "studio-blob", MODEL_STAGE_DNS, NULL, "answer", "10.0.1.6"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(onprem_gateway_connections_and_transit_load_and_replay),
        cmocka_unit_test(peering_without_transit_keeps_the_spoke_unknown),
        cmocka_unit_test(p2s_clients_and_expressroute),
        cmocka_unit_test(bastion_sessions_replay_as_flows),
        cmocka_unit_test(workspace_services_and_roles_load_and_replay),
        cmocka_unit_test(managed_services_forms),
        cmocka_unit_test(errors_are_located_with_suggestions),
        cmocka_unit_test(studio_p2s_scenario_passes),
    };
    return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
