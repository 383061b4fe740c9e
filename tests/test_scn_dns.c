/*
 * DNS in scenario files: Azure DNS in every scenario, the dns section (private zones, their
 * links and records; forwarders, the Firewall DNS proxy, Private Resolver inbound
 * endpoints, public resolvers), vnets[].dnsServers, hosts[].dnsServers / hostsFile /
 * fqdns, privateEndpoints[].fqdns / privateDnsIntegration, flows to DNS names with their
 * TLS defaults, and expect.rootCause — each key replayed and judged, each class of bad
 * input pinned to its file:line:col, and one replay whose captures tshark reads the way
 * the trace tells them.
 *
 * Bad-input files live in tests/data/scn/ (dns-*.yaml); the tests chdir there.
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
#include "tshark_util.h"

#define BLOB  "mlwsstore.blob.core.windows.net"
#define BLOB2 "mlwsstore2.blob.core.windows.net"

static int enter_data_dir(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *dir = g_build_filename(src ? src : ".", "tests", "data", "scn", NULL);
    return g_chdir(dir);
}

/* Loads `file` (in tests/data/scn) and asserts it fails with exactly `message`. */
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

/* Loads YAML text and asserts the error starts with `at` and contains `fragment`. */
static void expect_text_error(const char *yaml, const char *at, const char *fragment)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (scn)
        fail_msg("loaded, expected an error containing: %s", fragment);
    if (!strstr(error->message, fragment) || (at && !g_str_has_prefix(error->message, at)))
        fail_msg("got %s\n  expected %s…%s", error->message, at ? at : "", fragment);
    g_error_free(error);
}

/* ---- a hub-and-spoke topology the replays share ----
 *
 *   vnet-hub 10.0.0.0/16    snet-pe 10.0.1.0/24   pe-blob 10.0.1.6 -> mlwsstore (zone record)
 *                                                 pe-blob2 10.0.1.7 -> mlwsstore2 (none)
 *                           snet-app 10.0.2.0/24  vm-hub 10.0.2.4
 *                           snet-dns, snet-fw, snet-in: for the DNS servers
 *   vnet-spoke 10.1.0.0/16  snet-app 10.1.1.0/24  vm-spoke 10.1.1.4, NSG: no HTTPS to Internet
 *   services: mlwsstore 20.60.0.4, mlwsstore2 20.60.0.5
 *
 * Slots: the spoke's dnsServers, more hosts (list items), the dns section's body, flows. */
static const char topology_fmt[] =
    "scenario: t\n"
    "vnets:\n"
    "  - name: vnet-hub\n"
    "    addressSpace: [10.0.0.0/16]\n"
    "    peerings: [vnet-spoke]\n"
    "    subnets:\n"
    "      - {name: snet-pe, addressPrefix: 10.0.1.0/24}\n"
    "      - {name: snet-app, addressPrefix: 10.0.2.0/24}\n"
    "      - {name: snet-dns, addressPrefix: 10.0.3.0/24}\n"
    "      - {name: snet-fw, addressPrefix: 10.0.4.0/24}\n"
    "      - {name: snet-in, addressPrefix: 10.0.5.0/28}\n"
    "  - name: vnet-spoke\n"
    "    addressSpace: [10.1.0.0/16]\n"
    "    dnsServers: [%s]\n"
    "    subnets:\n"
    "      - {name: snet-app, addressPrefix: 10.1.1.0/24, networkSecurityGroup: nsg}\n"
    "networkSecurityGroups:\n"
    "  - name: nsg\n"
    "    securityRules:\n"
    "      - {name: DenyInternetHttps, priority: 100, direction: Outbound, access: Deny,\n"
    "         protocol: Tcp, sourceAddressPrefix: '*', sourcePortRange: '*',\n"
    "         destinationAddressPrefix: Internet, destinationPortRange: '443'}\n"
    "hosts:\n"
    "  - {name: vm-hub, subnet: vnet-hub/snet-app, ip: 10.0.2.4}\n"
    "  - {name: vm-spoke, subnet: vnet-spoke/snet-app, ip: 10.1.1.4}\n"
    "  - {name: mlwsstore, kind: service, publicIp: 20.60.0.4, listen: [Tcp/443, Tcp/445]}\n"
    "  - {name: mlwsstore2, kind: service, publicIp: 20.60.0.5, listen: [Tcp/443]}\n"
    "%s"
    "privateEndpoints:\n"
    "  - {name: pe-blob, subnet: vnet-hub/snet-pe, ip: 10.0.1.6, service: mlwsstore,\n"
    "     fqdns: [" BLOB "]}\n"
    "  - {name: pe-blob2, subnet: vnet-hub/snet-pe, ip: 10.0.1.7, service: mlwsstore2,\n"
    "     fqdns: [" BLOB2 "], privateDnsIntegration: false}\n"
    "dns:\n"
    "%s"
    "flows:\n"
    "%s";

#define HUB_ZONE "  privateZones: [{name: privatelink.blob.core.windows.net, links: [vnet-hub]}]\n"

typedef struct {
    ScnScenario *scn;
    ModelTrace *trace;
    char *pcap_dir;
} Run;

/* Loads the topology with its slots filled and replays it (seed 1). */
static Run replay(const char *spoke_dns, const char *hosts, const char *dns, const char *flows,
                  bool captures)
{
    g_autofree char *yaml = g_strdup_printf(topology_fmt, spoke_dns, hosts, dns, flows);
    GError *error = NULL;
    Run r = {0};
    r.scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!r.scn)
        fail_msg("load: %s", error->message);
    r.trace = model_trace_new();
    if (captures)
        r.pcap_dir = g_dir_make_tmp("vnetsim-scn-dns-XXXXXX", NULL);
    if (scn_replay(r.scn, 1, r.pcap_dir, r.trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    return r;
}

static void run_free(Run *r)
{
    scn_scenario_free(r->scn);
    model_trace_free(r->trace);
    if (r->pcap_dir)
        tn_remove_tree(r->pcap_dir);
    g_free(r->pcap_dir);
}

/* Asserts the flow passes its expect, printing what happened when it does not. */
static const ModelVerdictRecord *passes(const Run *r, const char *flow)
{
    const ScnFlow *f = scn_scenario_find_flow(r->scn, flow);
    assert_non_null(f);
    assert_true(f->expect.set);
    const ModelVerdictRecord *v = model_trace_find_verdict(r->trace, flow);
    g_autoptr(GString) got = g_string_new(NULL);
    g_autoptr(GString) want = g_string_new(NULL);
    if (scn_judge(f, v, got, want) != SCN_JUDGE_PASS)
        fail_msg("flow %s: expected %s, got %s", flow, want->str, got->str);
    return v;
}

static bool step(const Run *r, const char *flow, ModelStage stage, const char *object,
                 const char *action, const char *detail)
{
    return tn_has_step(r->trace, flow, stage, object, action, detail);
}

/* ---- Azure DNS ---- */

/* 168.63.129.16 is in every scenario, dns section or not, and flows may name it. */
static void azure_dns_is_in_every_scenario(void **state)
{
    (void)state;
    const char *yaml = "scenario: s\n"
                       "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                       "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
                       "hosts: [{name: vm, subnet: v/a, ip: 10.0.1.4}]\n"
                       "flows:\n"
                       "  - {name: by-ip, from: vm, to: {ip: 168.63.129.16, port: 53, protocol: "
                       "Udp}, expect: {verdict: delivered, at: azure-dns}}\n"
                       "  - {name: by-name, from: vm, to: {host: azure-dns, port: 53, protocol: "
                       "Udp}, expect: {verdict: delivered, at: azure-dns}}\n";
    GError *error = NULL;
    Run r = {0};
    r.scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    assert_non_null(r.scn);
    assert_non_null(model_net_find_host(scn_scenario_net(r.scn), "azure-dns"));
    r.trace = model_trace_new();
    assert_int_equal(scn_replay(r.scn, 1, NULL, r.trace, &error), 0);
    passes(&r, "by-ip");
    passes(&r, "by-name");
    run_free(&r);
}

/* Files written before the dns section declared Azure DNS by hand: that host is it. */
static void azure_dns_declared_by_hand_still_loads(void **state)
{
    (void)state;
    Run r =
        replay("", "  - {name: dns168, kind: service, publicIp: 168.63.129.16, listen: [Udp/53]}\n",
               HUB_ZONE,
               "  - {name: blob, from: vm-hub, to: {host: " BLOB ", port: 443},\n"
               "     expect: {verdict: delivered, at: mlwsstore}}\n",
               false);
    passes(&r, "blob");
    assert_null(model_net_find_host(scn_scenario_net(r.scn), "azure-dns"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "dns168", "query", BLOB));
    run_free(&r);
    expect_text_error("scenario: s\nhosts: [{name: azure-dns, kind: internet, publicIp: "
                      "198.51.100.7}]\n",
                      "t.yaml:2:16: ",
                      "'azure-dns' is the name of Azure DNS (168.63.129.16), which every "
                      "scenario has: choose another name");
    expect_text_error("scenario: s\nhosts: [{name: d, kind: internet, publicIp: 168.63.129.16}]\n",
                      "t.yaml:2:45: ",
                      "168.63.129.16 is Azure DNS, which every scenario has: leave it out, or "
                      "declare it kind: service");
    expect_text_error("scenario: s\ndns: {servers: [{name: d, publicIp: 168.63.129.16}]}\n",
                      "t.yaml:2:37: ", "168.63.129.16 is Azure DNS, which every scenario has");
    expect_text_error("scenario: s\ndns: {servers: [{name: azure-dns, publicIp: 8.8.8.8}]}\n",
                      "t.yaml:2:24: ", "'azure-dns' is the name of Azure DNS");
}

/* ---- resolvers ---- */

/* vnets[].dnsServers, a forwarder with conditional forwarders and default forwarders,
 * and privateEndpoints[].fqdns into a linked zone: the spoke's queries go to corp-dns,
 * which sends blob.core.windows.net to the hub forwarder, which asks 168.63.129.16 from
 * the hub. */
static void vnet_dns_servers_and_conditional_forwarders(void **state)
{
    (void)state;
    Run r = replay("10.1.1.53", "",
                   HUB_ZONE "  servers:\n"
                            "    - {name: dns-fwd, kind: forwarder, subnet: vnet-hub/snet-dns, ip: "
                            "10.0.3.4,\n"
                            "       forwarders: [168.63.129.16]}\n"
                            "    - name: corp-dns\n"
                            "      subnet: vnet-spoke/snet-app\n"
                            "      ip: 10.1.1.53\n"
                            "      forwarders: 203.0.113.53\n"
                            "      conditionalForwarders: {blob.core.windows.net: [10.0.3.4], "
                            "Vault.Azure.Net.: 10.0.3.4}\n",
                   "  - {name: blob, from: vm-spoke, to: {host: " BLOB ", port: 443},\n"
                   "     expect: {verdict: delivered, at: mlwsstore}}\n",
                   false);
    passes(&r, "blob");
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "corp-dns", "query", BLOB " to corp-dns"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "corp-dns", "forward",
                     "conditional forwarder for blob.core.windows.net -> 10.0.3.4"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "dns-fwd", "forward", "-> 168.63.129.16"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, NULL, "answer", "view of vnet-hub"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "corp-dns", "answer", "10.0.1.6 (private"));
    run_free(&r);
}

/* hosts[].dnsServers override the VNet's; the Firewall DNS proxy and a Private Resolver
 * inbound endpoint give the private answer; a public resolver (a server with publicIp)
 * gives the public one, whose root cause check compares. */
static void host_dns_servers_proxy_inbound_endpoint_and_public_resolver(void **state)
{
    (void)state;
    Run r = replay("8.8.8.8",
                   "  - {name: vm-proxy, subnet: vnet-spoke/snet-app, ip: 10.1.1.5, dnsServers: "
                   "[10.0.4.4]}\n"
                   "  - {name: vm-resolver, subnet: vnet-spoke/snet-app, ip: 10.1.1.6,\n"
                   "     dnsServers: [10.0.5.4]}\n",
                   HUB_ZONE "  servers:\n"
                            "    - {name: fw-dns, kind: proxy, subnet: vnet-hub/snet-fw, ip: "
                            "10.0.4.4}\n"
                            "    - {name: resolver-in, kind: azure, subnet: vnet-hub/snet-in, ip: "
                            "10.0.5.4}\n"
                            "    - {name: public-dns, publicIp: 8.8.8.8}\n",
                   "  - {name: proxy, from: vm-proxy, to: {host: " BLOB ", port: 443},\n"
                   "     expect: {verdict: delivered, at: mlwsstore}}\n"
                   "  - {name: resolver, from: vm-resolver, to: {host: " BLOB ", port: 443},\n"
                   "     expect: {verdict: delivered, at: mlwsstore, rootCause: NONE}}\n"
                   "  - name: public\n"
                   "    from: vm-spoke\n"
                   "    to: {host: " BLOB ", port: 443}\n"
                   "    expect: {verdict: dropped, cause: NSG_DENIED_OUT, at: "
                   "nsg/DenyInternetHttps,\n"
                   "             rootCause: DNS_PUBLIC_ANSWER, rootCauseAt: public-dns}\n",
                   false);
    passes(&r, "proxy");
    assert_true(step(&r, "proxy", MODEL_STAGE_DNS, "fw-dns", "forward", "-> 168.63.129.16"));
    passes(&r, "resolver");
    assert_true(step(&r, "resolver", MODEL_STAGE_DNS, NULL, "answer", "view of vnet-hub"));
    const ModelVerdictRecord *v = passes(&r, "public");
    assert_non_null(strstr(v->hint, "public-dns"));
    assert_true(step(&r, "public", MODEL_STAGE_DNS, "public-dns", "answer", "20.60.0.4 (public"));
    run_free(&r);
}

/* hosts[].hostsFile answers before any server; a line with an address that is not the
 * endpoint's is the root cause of what follows. */
static void hosts_file_answers_first_and_a_stale_line_is_the_root_cause(void **state)
{
    (void)state;
    Run r = replay("",
                   "  - {name: vm-pinned, subnet: vnet-spoke/snet-app, ip: 10.1.1.5,\n"
                   "     hostsFile: {MLWSSTORE.blob.core.windows.net.: 10.0.1.6}}\n"
                   "  - {name: vm-stale, subnet: vnet-spoke/snet-app, ip: 10.1.1.6,\n"
                   "     hostsFile: {" BLOB ": 10.0.1.9}}\n",
                   HUB_ZONE,
                   "  - {name: pinned, from: vm-pinned, to: {host: " BLOB ", port: 443},\n"
                   "     expect: delivered}\n"
                   "  - {name: stale, from: vm-stale, to: {host: " BLOB ", port: 443},\n"
                   "     expect: {verdict: dropped, cause: HOST_UNREACHABLE,\n"
                   "              rootCause: DNS_STALE_HOSTS_ENTRY, rootCauseAt: "
                   "vm-stale/hosts}}\n",
                   false);
    passes(&r, "pinned");
    assert_true(step(&r, "pinned", MODEL_STAGE_HOSTS_FILE, "vm-pinned/hosts", "answer",
                     BLOB " -> 10.0.1.6 (hosts file)"));
    assert_int_equal(tn_count_steps(r.trace, "pinned", MODEL_STAGE_DNS, NULL, "query", NULL), 0);
    const ModelVerdictRecord *v = passes(&r, "stale");
    assert_non_null(strstr(v->hint, "10.0.1.6"));
    run_free(&r);
}

/* ---- zones ---- */

/* Links as names or mappings (name, resolutionPolicy), records by hand (A lists, CNAMEs),
 * resource groups, and an endpoint without DNS integration: NXDOMAIN from a VNet whose
 * zone lacks its record, the public answer through a NxDomainRedirect link. */
static void zones_links_records_and_nxdomain_redirect(void **state)
{
    (void)state;
    Run r =
        replay("", "  - {name: app, subnet: vnet-hub/snet-app, ip: 10.0.2.10, listen: [Tcp/443]}\n",
               "  privateZones:\n"
               "    - name: privatelink.blob.core.windows.net\n"
               "      links:\n"
               "        - vnet-hub\n"
               "        - {vnet: vnet-spoke, name: spoke-link, resolutionPolicy: "
               "nxdomainredirect,\n"
               "           registrationEnabled: false}\n"
               "    - name: contoso.internal\n"
               "      resourceGroup: rg-dns\n"
               "      links: [{vnet: vnet-hub}]\n"
               "      records:\n"
               "        - {name: app, a: [10.0.2.10]}\n"
               "        - {name: www, cname: app.contoso.internal}\n"
               "    - {name: contoso.internal, resourceGroup: rg-other}\n",
               "  - {name: hub-blob2, from: vm-hub, to: {host: " BLOB2 ", port: 443},\n"
               "     expect: {verdict: dropped, cause: DNS_NXDOMAIN, at: azure-dns}}\n"
               "  - {name: spoke-blob2, from: vm-spoke, to: {host: " BLOB2 ", port: 443},\n"
               "     expect: {verdict: dropped, cause: NSG_DENIED_OUT, rootCause: "
               "DNS_PUBLIC_ANSWER,\n"
               "              rootCauseAt: azure-dns}}\n"
               "  - {name: spoke-blob, from: vm-spoke, to: {host: " BLOB ", port: 443},\n"
               "     expect: {verdict: delivered, at: mlwsstore}}\n"
               "  - {name: www, from: vm-hub, to: {host: www.contoso.internal, port: 443},\n"
               "     expect: {verdict: delivered, at: app}}\n"
               "  - {name: spoke-www, from: vm-spoke, to: {host: www.contoso.internal, port: "
               "443},\n"
               "     expect: {verdict: dropped, cause: DNS_NXDOMAIN}}\n",
               false);
    const ModelVerdictRecord *v = passes(&r, "hub-blob2");
    assert_non_null(strstr(v->hint, "NxDomainRedirect"));
    /* Through the NxDomainRedirect link: the public answer, and the spoke's NSG. */
    passes(&r, "spoke-blob2");
    assert_true(step(&r, "spoke-blob2", MODEL_STAGE_DNS, NULL, "answer", "20.60.0.5 (public"));
    passes(&r, "spoke-blob");
    passes(&r, "www");
    assert_true(step(&r, "www", MODEL_STAGE_DNS, "contoso.internal", "answer",
                     "www.contoso.internal CNAME app.contoso.internal A 10.0.2.10"));
    passes(&r, "spoke-www");
    run_free(&r);
}

/* hosts[].fqdns: a service host's public name gets Azure's public chain; an internet
 * host's name a plain A record. Neither has a private endpoint, so no root cause. */
static void host_fqdns_name_services_and_internet_hosts(void **state)
{
    (void)state;
    Run r = replay("",
                   "  - {name: kv, kind: service, publicIp: 20.62.0.7, listen: [Tcp/443],\n"
                   "     fqdns: [mlwskv.vault.azure.net]}\n"
                   "  - {name: pypi, kind: internet, publicIp: 151.101.0.223, listen: [Tcp/443],\n"
                   "     fqdns: [pypi.org, files.pythonhosted.org]}\n",
                   HUB_ZONE,
                   "  - {name: kv, from: vm-hub, to: {host: mlwskv.vault.azure.net, port: 443},\n"
                   "     expect: {verdict: delivered, at: kv, rootCause: NONE}}\n"
                   "  - {name: pypi, from: vm-hub, to: {host: files.pythonhosted.org, port: "
                   "443},\n"
                   "     expect: {verdict: delivered, at: pypi}}\n",
                   false);
    passes(&r, "kv");
    assert_true(step(&r, "kv", MODEL_STAGE_DNS, NULL, "answer", "A 20.62.0.7"));
    passes(&r, "pypi");
    assert_true(step(&r, "pypi", MODEL_STAGE_DNS, "azure-dns", "answer",
                     "files.pythonhosted.org -> 151.101.0.223 (public"));
    run_free(&r);
}

/* ---- flows ---- */

/* To a DNS name on 443 a flow is TLS (SNI: the name) and one request; elsewhere a bare
 * handshake; tls, request and sni change that, for addresses and host names too. */
static void flow_tls_request_and_sni(void **state)
{
    (void)state;
    Run r = replay("",
                   "  - {name: web, subnet: vnet-hub/snet-app, ip: 10.0.2.10, listen: [Tcp/443, "
                   "Tcp/8080]}\n",
                   HUB_ZONE,
                   "  - {name: https, from: vm-hub, to: {host: " BLOB ", port: 443}}\n"
                   "  - {name: smb, from: vm-hub, to: {host: " BLOB ", port: 445}}\n"
                   "  - {name: no-tls, from: vm-hub, to: {host: " BLOB ", port: 443, tls: false}}\n"
                   "  - {name: sni, from: vm-hub, to: {host: " BLOB ", port: 443, sni: "
                   "Other.Example.COM}}\n"
                   "  - {name: ip-tls, from: vm-hub, to: {ip: 10.0.2.10, port: 443, tls: true}}\n"
                   "  - {name: http, from: vm-hub, to: {host: web, port: 8080, request: true}}\n",
                   false);
    assert_string_equal(scn_scenario_find_flow(r.scn, "https")->to, "fqdn " BLOB);
    assert_true(step(&r, "https", MODEL_STAGE_TLS, "mlwsstore", "server-hello", BLOB));
    assert_true(step(&r, "https", MODEL_STAGE_LISTENER, "mlwsstore", "serve", "HTTP 200"));
    assert_int_equal(model_trace_find_verdict(r.trace, "smb")->verdict, MODEL_VERDICT_DELIVERED);
    assert_int_equal(tn_count_steps(r.trace, "smb", MODEL_STAGE_TLS, NULL, NULL, NULL), 0);
    assert_int_equal(tn_count_steps(r.trace, "no-tls", MODEL_STAGE_TLS, NULL, NULL, NULL), 0);
    assert_int_equal(model_trace_find_verdict(r.trace, "no-tls")->verdict, MODEL_VERDICT_DELIVERED);
    assert_true(step(&r, "sni", MODEL_STAGE_TLS, "mlwsstore", "server-hello", "other.example.com"));
    assert_true(step(&r, "ip-tls", MODEL_STAGE_TLS, "web", "server-hello", NULL));
    assert_int_equal(tn_count_steps(r.trace, "ip-tls", MODEL_STAGE_LISTENER, NULL, "serve", NULL),
                     0);
    assert_true(step(&r, "http", MODEL_STAGE_LISTENER, "web", "serve", "HTTP 200"));
    assert_int_equal(tn_count_steps(r.trace, "http", MODEL_STAGE_TLS, NULL, "server-hello", NULL),
                     0);
    run_free(&r);

    const char *base = "scenario: s\nhosts: [{name: h, kind: internet, publicIp: 198.51.100.7}]\n"
                       "flows:\n";
    g_autofree char *a = g_strconcat(base,
                                     "  - {name: f, from: h, to: {ip: 198.51.100.8, port: 53, "
                                     "protocol: Udp, tls: true}}\n",
                                     NULL);
    expect_text_error(a, "t.yaml:4:72: ", "'tls' needs a Tcp flow: a Udp flow is one datagram");
    g_autofree char *b = g_strconcat(base,
                                     "  - {name: f, from: h, to: {host: www.example.com, port: 80, "
                                     "sni: www.example.com}}\n",
                                     NULL);
    expect_text_error(b,
                      "t.yaml:4:62: ", "'sni' is sent in the TLS ClientHello: it needs tls: true");
    g_autofree char *c = g_strconcat(base,
                                     "  - {name: f, from: h, to: {host: www.example.com, port: "
                                     "443, sni: 'a b'}}\n",
                                     NULL);
    expect_text_error(c, "t.yaml:4:68: ", "'sni': 'a b' is not a valid DNS name");
    g_autofree char *d = g_strconcat(base,
                                     "  - {name: f, from: h, to: {host: www.example.com, port: "
                                     "443, tls: maybe}}\n",
                                     NULL);
    expect_text_error(d, "t.yaml:4:68: ", "'tls' must be true or false, not \"maybe\"");
}

/* ---- expect.rootCause ---- */

static void expect_root_cause_is_checked_and_compared(void **state)
{
    (void)state;
    const char *base = "scenario: s\nhosts: [{name: h, kind: internet, publicIp: 198.51.100.7}]\n"
                       "flows: [{name: f, from: h, to: {ip: 198.51.100.8, port: 443},\n";
    g_autofree char *a =
        g_strconcat(base, "  expect: {verdict: dropped, rootCauseAt: x}}]\n", NULL);
    expect_text_error(a, "t.yaml:4:30: ", "'rootCauseAt' needs 'rootCause'");
    g_autofree char *b =
        g_strconcat(base, "  expect: {verdict: delivered, rootCause: DNS_PUBLIC_ANSWER}}]\n", NULL);
    expect_text_error(b, "t.yaml:4:43: ", "a delivered flow has no root cause");
    g_autofree char *c =
        g_strconcat(base, "  expect: {verdict: dropped, rootCause: DNS_PUBLIC_ANSWR}}]\n", NULL);
    expect_text_error(c, "t.yaml:4:41: ",
                      "'rootCause': unknown rootCause 'DNS_PUBLIC_ANSWR' (did you mean "
                      "'DNS_PUBLIC_ANSWER'?)");
    g_autofree char *d = g_strconcat(
        base, "  expect: {verdict: dropped, rootCause: NONE, rootCauseAt: x}}]\n", NULL);
    expect_text_error(d, "t.yaml:4:47: ", "rootCause NONE has no place");

    ScnFlow flow = {.name = "f",
                    .expect = {.set = true,
                               .verdict = MODEL_VERDICT_DROPPED,
                               .has_cause = true,
                               .cause = MODEL_CAUSE_NSG_DENIED_OUT,
                               .has_root_cause = true,
                               .root_cause = MODEL_CAUSE_DNS_PUBLIC_ANSWER,
                               .root_at = "corp-dns"}};
    ModelVerdictRecord got = {.flow = "f",
                              .verdict = MODEL_VERDICT_DROPPED,
                              .cause = MODEL_CAUSE_NSG_DENIED_OUT,
                              .at = "nsg/DenyWeb",
                              .root_cause = MODEL_CAUSE_DNS_PUBLIC_ANSWER,
                              .root_at = "corp-dns"};
    GString *o = g_string_new(NULL), *e = g_string_new(NULL);
    assert_int_equal(scn_judge(&flow, &got, o, e), SCN_JUDGE_PASS);
    assert_string_equal(o->str, "dropped NSG_DENIED_OUT at nsg/DenyWeb (root cause "
                                "DNS_PUBLIC_ANSWER at corp-dns)");
    assert_string_equal(e->str,
                        "dropped NSG_DENIED_OUT (root cause DNS_PUBLIC_ANSWER at corp-dns)");
    got.root_at = "azure-dns";
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_FAIL);
    got.root_cause = MODEL_CAUSE_NONE;
    got.root_at = "";
    g_string_truncate(o, 0);
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_FAIL);
    assert_string_equal(o->str, "dropped NSG_DENIED_OUT at nsg/DenyWeb (no root cause)");
    flow.expect.root_cause = MODEL_CAUSE_NONE;
    flow.expect.root_at = NULL;
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_PASS);
    flow.expect.has_root_cause = false; /* not given: any root cause */
    got.root_cause = MODEL_CAUSE_DNS_STALE_HOSTS_ENTRY;
    got.root_at = "h/hosts";
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_PASS);
    g_string_free(o, TRUE);
    g_string_free(e, TRUE);
}

/* ---- bad input: one file per class, then the rest of the checks as text ---- */

static void dns_errors_are_located(void **state)
{
    (void)state;
    expect_error("dns-name.yaml", SCN_ERROR_VALUE,
                 "dns-name.yaml:12:16: 'to.host': 'mlwsstore..blob.core.windows.net' is not a "
                 "valid DNS name: it has an empty label");
    expect_error("dns-link.yaml", SCN_ERROR_REFERENCE,
                 "dns-link.yaml:8:25: virtual network 'vnet-spoek' is not defined (did you mean "
                 "'vnet-spoke'?)");
    expect_error("dns-server-ip.yaml", SCN_ERROR_VALUE,
                 "dns-server-ip.yaml:9:54: DNS server 'dns-fwd': 10.0.4.4 is not inside subnet "
                 "vnet-hub/snet-dns (10.0.3.0/24)");
    expect_error("dns-conditional.yaml", SCN_ERROR_VALUE,
                 "dns-conditional.yaml:14:9: 'conditionalForwarders': 'file..core.windows.net' is "
                 "not a valid DNS name: it has an empty label");

    const char *net = "scenario: s\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                      "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n";
#define ERR(body, at, fragment)                                                                    \
    do {                                                                                           \
        g_autofree char *y_ = g_strconcat(net, body, NULL);                                        \
        expect_text_error(y_, at, fragment);                                                       \
    } while (0)
    /* The dns section's keys, and the servers'. */
    ERR("dns: {privateZone: []}\n",
        "t.yaml:4:7: ", "unknown key 'privateZone' in 'dns' (did you mean 'privateZones'?)");
    ERR("dns: [a]\n", "t.yaml:4:6: ", "'dns' must be a mapping, not a list");
    ERR("dns: {servers: [{name: d, kind: forwader, subnet: v/a, ip: 10.0.1.4}]}\n",
        "t.yaml:4:33: ", "'kind': unknown value 'forwader' (did you mean 'forwarder'?)");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4, publicIp: 8.8.8.8}]}\n",
        "t.yaml:4:54: ", "DNS server 'd' gives both 'subnet' and 'publicIp'");
    ERR("dns: {servers: [{name: d, forwarders: [8.8.8.8]}]}\n", "t.yaml:4:17: ",
        "DNS server 'd' needs 'subnet' and 'ip' (in a VNet), 'onprem' and 'ip' (on a site's "
        "LAN) or 'publicIp' (on the internet)");
    ERR("dns: {servers: [{name: d, subnet: v/a}]}\n", "t.yaml:4:17: ", "DNS server 'd' needs 'ip'");
    ERR("dns: {servers: [{name: d, subnet: a, ip: 10.0.1.4}]}\n",
        "t.yaml:4:35: ", "'subnet' must be written VNET/SUBNET, not 'a' (did you mean 'v/a'?)");
    ERR("dns: {servers: [{name: d, kind: proxy, publicIp: 8.8.8.8}]}\n", "t.yaml:4:40: ",
        "DNS server 'd' is the Azure Firewall DNS proxy (kind proxy), which has a private IP in "
        "a subnet");
    ERR("dns: {servers: [{name: d, kind: azure, subnet: v/a, ip: 10.0.1.4, forwarders: "
        "[8.8.8.8]}]}\n",
        "t.yaml:4:67: ", "'forwarders' does not apply to an inbound endpoint");
    ERR("dns: {servers: [{name: d, kind: proxy, subnet: v/a, ip: 10.0.1.4,\n"
        "  conditionalForwarders: {a.b: [8.8.8.8]}}]}\n",
        "t.yaml:5:3: ", "'conditionalForwarders' does not apply to the Azure Firewall DNS proxy");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4, forwarders: [8.8.8]}]}\n",
        "t.yaml:4:67: ", "'forwarders': \"8.8.8\" is not an IPv4 address");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4, forwarders: [8.8.8.8, 8.8.8.8]}]}\n",
        "t.yaml:4:76: ", "'forwarders': 8.8.8.8 is listed twice");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4,\n"
        "  conditionalForwarders: {a.example: [10.0.1.5], A.Example.: 10.0.1.6}}]}\n",
        "t.yaml:5:50: ", "conditional forwarder zone 'a.example' is given twice (first at line 5)");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4,\n"
        "  conditionalForwarders: {a.example: []}}]}\n",
        "t.yaml:5:27: ", "conditional forwarder zone 'a.example' needs at least one server");
    ERR("dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.4, conditionalForwarders: [a]}]}\n",
        "t.yaml:4:77: ", "'conditionalForwarders' must be a mapping of zones to servers");
    ERR("hosts: [{name: d, subnet: v/a, ip: 10.0.1.4}]\n"
        "dns: {servers: [{name: d, subnet: v/a, ip: 10.0.1.5}]}\n",
        "t.yaml:5:24: ",
        "DNS server 'd' has the name of the host defined at line 4: servers are hosts");
    /* Zones: links, policies, records. */
    ERR("dns: {privateZones: [{name: privatelink.blob.core.windows.net, links: [v, v]}]}\n",
        "t.yaml:4:75: ", "zone 'privatelink.blob.core.windows.net' links 'v' twice");
    ERR("dns: {privateZones: [{name: privatelink.blob.core.windows.net, links: [{vnet: v, "
        "resolutionPolicy: NxDomainRedirct}]}]}\n",
        "t.yaml:4:100: ",
        "'resolutionPolicy': unknown value 'NxDomainRedirct' (did you mean 'NxDomainRedirect'?)");
    ERR("dns: {privateZones: [{name: contoso.internal, links: [{vnet: v, resolutionPolicy: "
        "NxDomainRedirect}]}]}\n",
        "t.yaml:4:83: ",
        "resolutionPolicy NxDomainRedirect is only available for private link zones");
    ERR("dns: {privateZones: [{name: contoso.internal, links: [{vnet: v, registrationEnabled: "
        "true}]}]}\n",
        "t.yaml:4:86: ",
        "'registrationEnabled: true' (autoregistration of VM records) is not "
        "supported yet");
    ERR("dns: {privateZones: [{name: contoso.internal, links: [{name: l}]}]}\n",
        "t.yaml:4:55: ", "zone link needs 'vnet'");
    ERR("dns: {privateZones: [{name: internal}]}\n", "t.yaml:4:29: ", "has 1 label");
    ERR("dns: {privateZones: [{name: a.internal}, {name: A.internal}]}\n",
        "t.yaml:4:49: ", "already");
    ERR("dns: {privateZones: [{name: a.internal, records: [{name: www, a: 10.0.1.4, cname: x.y}]}]}"
        "\n",
        "t.yaml:4:76: ", "record 'www' gives both 'a' and 'cname'");
    ERR("dns: {privateZones: [{name: a.internal, records: [{name: www}]}]}\n",
        "t.yaml:4:51: ", "record 'www' needs 'a' or 'cname'");
    ERR("dns: {privateZones: [{name: a.internal, records: [{name: '@', cname: x.y}]}]}\n",
        "t.yaml:4:58: ", "apex");
    ERR("dns: {privateZones: [{name: a.internal, records: [{name: w, a: 10.0.1.4},\n"
        "  {name: w, cname: x.y}]}]}\n",
        "t.yaml:5:10: ", "CNAME");
    /* The DNS keys of VNets, hosts and endpoints. */
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, dnsServers: [10.0.1.5, x]}]\n",
        "t.yaml:4:69: ", "'dnsServers': \"x\" is not an IPv4 address");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, dnsServers: {a: b}}]\n",
        "t.yaml:4:58: ", "'dnsServers' must be a list of IPv4 addresses, not a mapping");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, hostsFile: [a.b]}]\n",
        "t.yaml:4:57: ", "'hostsFile' must be a mapping of names to addresses");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, hostsFile: {a.b: 10.0.1}}]\n",
        "t.yaml:4:63: ", "'a.b': \"10.0.1\" is not an IPv4 address");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, hostsFile: {a.b: 10.0.1.5, A.B.: "
        "10.0.1.6}}]\n",
        "t.yaml:4:73: ", "is in its hosts file twice");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, hostsFile: {'a..b': 10.0.1.5}}]\n",
        "t.yaml:4:58: ", "'hostsFile': 'a..b' is not a valid DNS name");
    ERR("hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, fqdns: [h.example.com]}]\n",
        "t.yaml:4:46: ", "host 'h' has 'fqdns' but no publicIp for them to resolve to");
    ERR("hosts: [{name: s, kind: service, publicIp: 20.60.0.4, fqdns: "
        "[s.privatelink.blob.core.windows.net]}]\n",
        "t.yaml:4:63: ", "is a private link name: give the service's public name");
    ERR("hosts: [{name: s, kind: service, publicIp: 20.60.0.4, fqdns: [s.blob.core.windows.net]},\n"
        "  {name: t, kind: internet, publicIp: 198.51.100.7, fqdns: [S.blob.core.windows.net]}]\n",
        "t.yaml:5:61: ", "'s.blob.core.windows.net' already names 's' (line 4)");
    ERR("hosts: [{name: s, kind: service, publicIp: 20.60.0.4}]\n"
        "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.5, service: s, fqdns: "
        "[s.example.com]}]\n",
        "t.yaml:5:78: ",
        "private endpoint 'pe': no private link zone is known for 's.example.com'");
    ERR("hosts: [{name: s, kind: service, publicIp: 20.60.0.4}]\n"
        "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.5, service: s, fqdns: "
        "[s.privatelink.blob.core.windows.net]}]\n",
        "t.yaml:5:78: ", "is a private link name: give the public name the endpoint serves");
    ERR("hosts: [{name: s, kind: service}]\n"
        "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.5, service: s, fqdns: "
        "[s.blob.core.windows.net], privateDnsIntegration: false}]\n",
        "t.yaml:5:127: ", "service 's' needs a publicIp");
    ERR("hosts: [{name: s, kind: service, publicIp: 20.60.0.4}, {name: t, kind: service,\n"
        "  publicIp: 20.60.0.5, fqdns: [s.blob.core.windows.net]}]\n"
        "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.5, service: s, fqdns: "
        "[s.blob.core.windows.net]}]\n",
        "t.yaml:6:78: ", "'s.blob.core.windows.net' already names 't' (line 5)");
#undef ERR
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16], dnsServers: "
                      "[10.0.0.4, 10.0.0.4]}]\n",
                      "t.yaml:2:71: ", "'dnsServers': 10.0.0.4 is listed twice");
}

/* ---- end to end: the trace and the captures tell the same story ---- */

/* The spoke asks corp-dns, which conditionally forwards to the hub forwarder, which asks
 * Azure DNS: every hop is a step in the trace and a datagram in the captures, and tshark
 * reads in them the name asked and the address answered that the trace reports. */
static void trace_and_captures_agree_on_the_dns_steps(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Run r = replay("10.1.1.53", "",
                   HUB_ZONE "  servers:\n"
                            "    - {name: dns-fwd, subnet: vnet-hub/snet-dns, ip: 10.0.3.4, "
                            "forwarders: [168.63.129.16]}\n"
                            "    - {name: corp-dns, subnet: vnet-spoke/snet-app, ip: 10.1.1.53,\n"
                            "       conditionalForwarders: {blob.core.windows.net: [10.0.3.4]}}\n",
                   "  - {name: blob, from: vm-spoke, to: {host: " BLOB ", port: 443},\n"
                   "     expect: {verdict: delivered, at: mlwsstore}}\n",
                   true);
    passes(&r, "blob");
    /* The trace: query, two forwards, Azure DNS's answer, two relays, the client's answer. */
    assert_int_equal(tn_count_steps(r.trace, "blob", MODEL_STAGE_DNS, NULL, "query", NULL), 1);
    assert_int_equal(tn_count_steps(r.trace, "blob", MODEL_STAGE_DNS, NULL, "forward", NULL), 2);
    assert_int_equal(tn_count_steps(r.trace, "blob", MODEL_STAGE_DNS, NULL, "relay", NULL), 2);
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "privatelink.blob.core.windows.net", "answer",
                     BLOB " CNAME mlwsstore.privatelink.blob.core.windows.net A 10.0.1.6"));
    assert_true(step(&r, "blob", MODEL_STAGE_DNS, "corp-dns", "answer",
                     BLOB " -> 10.0.1.6 (private, from corp-dns)"));

    static const char *const pcaps[] = {"vm-spoke-nic0.pcap", "corp-dns-nic0.pcap",
                                        "dns-fwd-nic0.pcap", "azure-dns-inet0.pcap"};
    static const long dns_frames[] = {2, 4, 4, 2};
    for (size_t i = 0; i < G_N_ELEMENTS(pcaps); i++) {
        g_autofree char *path = g_build_filename(r.pcap_dir, pcaps[i], NULL);
        assert_int_equal(tshark_count(path, TSHARK_BAD_FRAMES), 0);
        assert_int_equal(tshark_count(path, "dns"), dns_frames[i]);
        assert_int_equal(tshark_count(path, "dns && dns.qry.name != \"" BLOB "\""), 0);
    }
    /* The client's view: the answer came from corp-dns with the address the trace names. */
    g_autofree char *client = g_build_filename(r.pcap_dir, "vm-spoke-nic0.pcap", NULL);
    const char *fields[] = {"dns.qry.name", "dns.a", "ip.src", "dns.flags.rcode"};
    gchar **lines = tshark_fields(client, "dns.flags.response == 1", fields, 4);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], BLOB "|10.0.1.6|10.1.1.53|0");
    assert_null(lines[1]);
    g_strfreev(lines);
    /* Azure DNS's answer carries the whole chain. */
    g_autofree char *azure = g_build_filename(r.pcap_dir, "azure-dns-inet0.pcap", NULL);
    const char *chain[] = {"dns.cname", "dns.a", "ip.dst"};
    lines = tshark_fields(azure, "dns.flags.response == 1", chain, 3);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], "mlwsstore.privatelink.blob.core.windows.net|10.0.1.6|10.0.3.4");
    g_strfreev(lines);
    /* Then HTTPS to the address answered, with the name as SNI. */
    const char *tls[] = {"tls.handshake.extensions_server_name", "ip.dst"};
    lines = tshark_fields(client, "tls.handshake.type == 1", tls, 2);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], BLOB "|10.0.1.6");
    g_strfreev(lines);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(azure_dns_is_in_every_scenario),
        cmocka_unit_test(azure_dns_declared_by_hand_still_loads),
        cmocka_unit_test(vnet_dns_servers_and_conditional_forwarders),
        cmocka_unit_test(host_dns_servers_proxy_inbound_endpoint_and_public_resolver),
        cmocka_unit_test(hosts_file_answers_first_and_a_stale_line_is_the_root_cause),
        cmocka_unit_test(zones_links_records_and_nxdomain_redirect),
        cmocka_unit_test(host_fqdns_name_services_and_internet_hosts),
        cmocka_unit_test(flow_tls_request_and_sni),
        cmocka_unit_test(expect_root_cause_is_checked_and_compared),
        cmocka_unit_test(dns_errors_are_located),
        cmocka_unit_test(trace_and_captures_agree_on_the_dns_steps),
    };
    return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
