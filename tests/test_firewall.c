/*
 * Azure Firewall in a hub, spokes sending it everything by a 0.0.0.0/0 UDR (domain.md §5
 * "Hub & spoke", §4.3 forced tunneling): rules, the application-rule proxy, SNAT, state,
 * the DNS proxy. Every verdict emerges from packets meeting the policy; captures are read
 * back by tshark.
 *
 * Sources: azdocs:articles/firewall/rule-processing.md (order, examples 1 and 2),
 * firewall-faq.md (wildcards, the proxy answering the handshake, /26), snat-private-range.md,
 * dns-settings.md, fqdn-filtering-network-rules.md.
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

#define FW_PRIVATE  "10.0.0.4"
#define FW_INSTANCE "10.0.0.5" /* the next free address of AzureFirewallSubnet */
#define FW_PUBLIC   "4.157.0.4"
#define PYPI_IP     "151.101.0.223"
#define EVIL_IP     "93.184.216.34"
#define AML_IP      "20.42.0.241" /* in AzureMachineLearning.EastUS 20.42.0.240/28 */

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *hub, *spoke;
    ModelSubnet *fw_sub, *hub_app, *spoke_app;
    ModelHost *vm, *hub_vm, *pypi, *evil, *aml;
    ModelNic *vm_nic;
    ModelAzfw *fw;
    ModelAzfwGroup *rcg;
    char *pcap_dir;
} Fx;

static ModelHost *internet(Fx *fx, const char *name, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, h, tn_ip(ip), &err));
    model_host_listen(h, 6, 443);
    model_host_listen(h, 6, 80);
    model_host_listen(h, 6, 22);
    return h;
}

/* hub 10.0.0.0/16: AzureFirewallSubnet 10.0.0.0/26 (the firewall at .4), snet-app
 *   10.0.1.0/24 (hub-vm .4); spoke 10.1.0.0/16: snet-app 10.1.1.0/24 (vm .4) whose route
 *   table sends 0.0.0.0/0 to the firewall; peered. Internet: the PyPI CDN (files.pypi.org
 *   and pypi.org on one address), evil.example.com, an AML service address; Azure DNS. */
static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix hub = tn_prefix("10.0.0.0/16"), spoke = tn_prefix("10.1.0.0/16");
    fx->hub = MUST(model_net_add_vnet(fx->net, "vnet-hub", &hub, 1, &err));
    fx->spoke = MUST(model_net_add_vnet(fx->net, "vnet-spoke", &spoke, 1, &err));
    OK(model_net_peer(fx->net, fx->hub, fx->spoke, &err));
    fx->fw_sub = MUST(model_net_add_subnet(fx->net, fx->hub, "AzureFirewallSubnet",
                                           tn_prefix("10.0.0.0/26"), &err));
    fx->hub_app =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-app", tn_prefix("10.0.1.0/24"), &err));
    fx->spoke_app =
        MUST(model_net_add_subnet(fx->net, fx->spoke, "snet-app", tn_prefix("10.1.1.0/24"), &err));
    fx->vm = MUST(model_net_add_host(fx->net, "vm", MODEL_HOST_VM, &err));
    fx->vm_nic =
        MUST(model_net_add_nic(fx->net, fx->vm, fx->spoke_app, "nic0", tn_ip("10.1.1.4"), &err));
    fx->hub_vm = MUST(model_net_add_host(fx->net, "hub-vm", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, fx->hub_vm, fx->hub_app, "nic0", tn_ip("10.0.1.4"), &err));
    model_host_listen(fx->hub_vm, 6, 443);
    model_host_listen(fx->hub_vm, 6, 22);
    fx->fw = MUST(model_net_add_firewall(fx->net, "azfw", fx->fw_sub, tn_ip(FW_PRIVATE),
                                         tn_ip(FW_PUBLIC), &err));
    fx->rcg = MUST(model_azfw_add_group(fx->fw, "rcg-spokes", 200, &err));
    ModelRouteTable *rt = MUST(model_net_add_route_table(fx->net, "rt-spoke", &err));
    OK(model_route_table_add(rt, "default-to-fw", "0.0.0.0/0", "VirtualAppliance", FW_PRIVATE, 0,
                             NULL, NULL, &err));
    model_subnet_set_route_table(fx->spoke_app, rt);

    fx->pypi = internet(fx, "pypi", PYPI_IP);
    fx->evil = internet(fx, "evil", EVIL_IP);
    fx->aml = internet(fx, "aml", AML_IP);
    ModelHost *azure = MUST(model_net_add_host(fx->net, "azure-dns", MODEL_HOST_SERVICE, &err));
    OK(model_host_set_public_ip(fx->net, azure, tn_ip("168.63.129.16"), &err));
    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);
    ModelDnsDb *db = model_net_dns(fx->net);
    OK(model_dns_public_add_a(db, "files.pypi.org", tn_ip(PYPI_IP), &err));
    OK(model_dns_public_add_a(db, "pypi.org", tn_ip(PYPI_IP), &err));
    OK(model_dns_public_add_a(db, "evil.example.com", tn_ip(EVIL_IP), &err));
    OK(model_dns_public_add_a(db, "ssh.example.com", tn_ip(EVIL_IP), &err));
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(7);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-fw-XXXXXX", NULL);
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

static ModelAzfwCollection *collection(Fx *fx, ModelAzfwGroup *g, const char *name, int prio,
                                       ModelAzfwCollectionKind kind, ModelAccess action)
{
    GError *err = NULL;
    return MUST(model_azfw_add_collection(g ? g : fx->rcg, name, prio, kind, action, &err));
}

static void app_rule(ModelAzfwCollection *c, const char *name, const char *proto, const char *fqdn)
{
    GError *err = NULL;
    const char *src[] = {"10.1.0.0/16", NULL}, *protos[] = {proto, NULL}, *fqdns[] = {fqdn, NULL};
    ModelAzfwApplicationRule r = {
        .name = name, .protocols = protos, .source_addresses = src, .target_fqdns = fqdns};
    OK(model_azfw_add_application_rule(c, &r, &err));
}

static void net_rule(ModelAzfwCollection *c, const char *name, const char *proto, const char *dst,
                     const char *port)
{
    GError *err = NULL;
    const char *src[] = {"10.1.0.0/16", NULL}, *protos[] = {proto, NULL}, *dsts[] = {dst, NULL},
               *ports[] = {port, NULL};
    ModelAzfwNetworkRule r = {.name = name,
                              .ip_protocols = protos,
                              .source_addresses = src,
                              .destination_addresses = dsts,
                              .destination_ports = ports};
    OK(model_azfw_add_network_rule(c, &r, &err));
}

static const ModelVerdictRecord *run_flow(Fx *fx, const char *flow, ModelHost *from,
                                          const char *fqdn, const char *ip, uint16_t port, bool tls)
{
    ModelFlowSpec spec = {.name = flow,
                          .from = from,
                          .fqdn = fqdn,
                          .ip = ip ? tn_ip(ip) : 0,
                          .port = port,
                          .proto = 6,
                          .tls = tls,
                          .request = true};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
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

static bool step(Fx *fx, const char *flow, ModelStage stage, const char *object, const char *action,
                 const char *detail_part)
{
    return tn_has_step(fx->trace, flow, stage, object, action, detail_part);
}

/* Every capture of the run dissects clean (checksums, lengths, TCP, TLS, DNS). */
static void assert_captures_clean(Fx *fx)
{
    GError *err = NULL;
    OK(model_net_close_captures(fx->net, true, &err));
    GDir *d = g_dir_open(fx->pcap_dir, 0, NULL);
    const char *name;
    int files = 0;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(fx->pcap_dir, name, NULL);
        if (tshark_count(path, TSHARK_BAD_FRAMES) != 0)
            fail_msg("%s has frames tshark flags", name);
        files++;
    }
    if (d)
        g_dir_close(d);
    assert_true(files > 0);
}

static char *capture(Fx *fx, const char *file)
{
    return g_build_filename(fx->pcap_dir, file, NULL);
}

/* The first line of `fields` over frames matching filter in `file`, or "" for none. */
static char *first_fields(Fx *fx, const char *file, const char *filter, const char *const *fields,
                          size_t n)
{
    g_autofree char *path = capture(fx, file);
    gchar **lines = tshark_fields(path, filter, fields, n);
    assert_non_null(lines);
    char *line = g_strdup(lines[0] ? lines[0] : "");
    g_strfreev(lines);
    return line;
}

/* ---- application rules ---- */

/* A spoke VM reaches files.pypi.org through an application rule for *.pypi.org: the
 * proxy answered the handshake, the ClientHello's SNI matched, and the server sees the
 * firewall's public IP (snat-private-range.md: "Azure Firewall provides SNAT capability
 * for all outbound traffic to public IP addresses"). */
static void app_rule_wildcard_delivers_and_server_sees_firewall_public_ip(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "*.pypi.org");
    fx_start(fx, true);
    expect(run_flow(fx, "pip", fx->vm, "files.pypi.org", NULL, 443, true), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pypi");
    assert_true(step(fx, "pip", MODEL_STAGE_FIREWALL, "azfw", "proxy", "TCP 443"));
    assert_true(step(fx, "pip", MODEL_STAGE_FIREWALL, "azfw/allow-pypi/pypi", "allow",
                     "HTTPS request from 10.1.1.4:"));
    assert_true(step(fx, "pip", MODEL_STAGE_FIREWALL, "azfw/allow-pypi/pypi", "allow",
                     "to files.pypi.org:443. Action: Allow"));
    assert_captures_clean(fx);
    /* The server's capture: the ClientHello from the firewall's public address. */
    const char *hello[] = {"ip.src", "tls.handshake.extensions_server_name"};
    g_autofree char *line =
        first_fields(fx, "pypi-inet0.pcap", "tls.handshake.type == 1", hello, 2);
    assert_string_equal(line, FW_PUBLIC "|files.pypi.org");
    /* The client's: the answer to its SYN came "from" the server (the proxy's doing). */
    const char *synack[] = {"ip.src", "ip.dst"};
    g_autofree char *sa =
        first_fields(fx, "vm-nic0.pcap", "tcp.flags.syn == 1 && tcp.flags.ack == 1", synack, 2);
    assert_string_equal(sa, PYPI_IP "|10.1.1.4");
    fx_free(fx);
}

/* An FQDN no rule allows meets the default action. The proxy completed the handshake, so
 * the ClientHello reaches the firewall; nothing goes further (firewall-faq.md: "The TCP
 * ping establishes a connection with the firewall, which then drops the packet"). */
static void fqdn_not_allowed_is_denied_by_default_and_clienthello_goes_no_further(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "*.pypi.org");
    fx_start(fx, true);
    const ModelVerdictRecord *v = run_flow(fx, "evil", fx->vm, "evil.example.com", NULL, 443, true);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    assert_true(step(fx, "evil", MODEL_STAGE_FIREWALL, "azfw", "drop",
                     "to evil.example.com:443. Action: Deny. Reason: No rule matched. "
                     "Proceeding with default action"));
    assert_captures_clean(fx);
    const char *sni[] = {"tls.handshake.extensions_server_name", "ip.dst"};
    g_autofree char *line = first_fields(fx, "azfw-nic0.pcap", "tls.handshake.type == 1", sni, 2);
    assert_string_equal(line, "evil.example.com|" EVIL_IP);
    g_autofree char *server = capture(fx, "evil-inet0.pcap");
    assert_int_equal(tshark_count(server, NULL), 0); /* not even a SYN */
    fx_free(fx);
}

/* "If you configure *.contoso.com, it allows anyvalue.contoso.com, but not contoso.com
 * (the domain apex)" (firewall-faq.md). pypi.org shares files.pypi.org's address: only
 * the SNI tells them apart. */
static void wildcard_target_fqdn_does_not_match_the_domain_apex(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "*.pypi.org");
    fx_start(fx, false);
    expect(run_flow(fx, "apex", fx->vm, "pypi.org", NULL, 443, true), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    expect(run_flow(fx, "sub", fx->vm, "files.pypi.org", NULL, 443, true), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pypi");
    fx_free(fx);
}

/* The proxy reads the name from the ClientHello, not from DNS or the address: a hello
 * without server_name matches no target FQDN, and one naming another site is judged by
 * that name although it goes to PyPI's address. */
static void application_rules_judge_the_sni_not_the_address(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "files.pypi.org");
    fx_start(fx, false);
    ModelFlowSpec spec = {.name = "no-sni",
                          .from = fx->vm,
                          .ip = tn_ip(PYPI_IP),
                          .port = 443,
                          .proto = 6,
                          .tls = true,
                          .sni = ""};
    model_net_start_flow(fx->net, &spec, 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "no-sni"), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    assert_true(step(fx, "no-sni", MODEL_STAGE_FIREWALL, "azfw", "drop", "carries no SNI"));
    spec.name = "other-sni";
    spec.sni = "evil.example.com";
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "other-sni"), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    spec.name = "right-sni";
    spec.sni = "FILES.PYPI.ORG"; /* names compare without case */
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "right-sni"), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "pypi");
    fx_free(fx);
}

/* A plain HTTP request the rules refuse gets the firewall's own answer, status 470. */
static void denied_http_request_gets_status_470_from_the_firewall(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Http:80", "*.pypi.org");
    fx_start(fx, false);
    expect(run_flow(fx, "http", fx->vm, "evil.example.com", NULL, 80, false), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    assert_true(step(fx, "http", MODEL_STAGE_TLS, "azfw", "refused", "HTTP 470"));
    expect(run_flow(fx, "http-ok", fx->vm, "files.pypi.org", NULL, 80, false),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "pypi");
    assert_true(step(fx, "http-ok", MODEL_STAGE_FIREWALL, "azfw/allow-pypi/pypi", "allow",
                     "HTTP request from"));
    fx_free(fx);
}

/* "Application rules are always SNATed using a transparent proxy whatever the
 * destination IP address" (snat-private-range.md): a hub server sees a firewall
 * instance's address, not the spoke VM's. */
static void application_rule_traffic_to_a_private_address_is_snated(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    GError *err = NULL;
    /* The spoke's route to the hub's app subnet goes through the firewall too. */
    ModelRouteTable *spoke = model_net_find_route_table(fx->net, "rt-spoke");
    OK(model_route_table_add(spoke, "hub-app-via-fw", "10.0.1.0/24", "VirtualAppliance", FW_PRIVATE,
                             0, NULL, NULL, &err));
    OK(model_host_add_hosts_entry(fx->vm, "intranet.contoso.com", tn_ip("10.0.1.4"), &err));
    app_rule(
        collection(fx, NULL, "allow-intranet", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
        "intranet", "Https", "intranet.contoso.com");
    fx_start(fx, true);
    expect(run_flow(fx, "intranet", fx->vm, "intranet.contoso.com", NULL, 443, true),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "hub-vm");
    assert_captures_clean(fx);
    const char *src[] = {"ip.src"};
    g_autofree char *line = first_fields(fx, "hub-vm-nic0.pcap", "tls.handshake.type == 1", src, 1);
    assert_string_equal(line, FW_INSTANCE);
    fx_free(fx);
}

/* ---- network rules ---- */

/* A network rule naming the AzureMachineLearning service tag (azure-facts.md §5: TCP 443
 * AzureMachineLearning) lets the connection through as network traffic: no proxy, SNAT
 * to the firewall's public IP on the way out. */
static void network_rule_with_service_tag_allows_azure_machine_learning(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    net_rule(collection(fx, NULL, "allow-aml", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW), "aml",
             "TCP", "AzureMachineLearning", "443");
    fx_start(fx, false);
    expect(run_flow(fx, "aml", fx->vm, NULL, AML_IP, 443, true), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "aml");
    assert_true(step(fx, "aml", MODEL_STAGE_FIREWALL, "azfw/allow-aml/aml", "allow",
                     "TCP request from 10.1.1.4:"));
    assert_false(step(fx, "aml", MODEL_STAGE_FIREWALL, NULL, "proxy", NULL));
    assert_true(step(fx, "aml", MODEL_STAGE_NAT, NULL, "snat", "-> " FW_PUBLIC));
    /* The same port to an address outside the tag: no rule, so the proxy takes it and
     * the default action refuses it (no application rule either). */
    expect(run_flow(fx, "other", fx->vm, NULL, EVIL_IP, 443, true), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    fx_free(fx);
}

/* rule-processing.md, example 2: "SSH connections are denied because a higher priority
 * network rule collection blocks it" — Deny at priority 100 beats Allow at 200; swapped,
 * the allow wins. */
static void deny_collection_with_lower_priority_number_beats_later_allow(void **state)
{
    (void)state;
    for (int swapped = 0; swapped <= 1; swapped++) {
        Fx *fx = fx_new();
        net_rule(collection(fx, NULL, "Allow-collection", swapped ? 100 : 200, MODEL_AZFW_NETWORK,
                            MODEL_ACCESS_ALLOW),
                 "Allow-SSH", "TCP", "*", "22");
        net_rule(collection(fx, NULL, "Deny-collection", swapped ? 200 : 100, MODEL_AZFW_NETWORK,
                            MODEL_ACCESS_DENY),
                 "Deny-SSH", "TCP", "*", "22");
        fx_start(fx, false);
        const ModelVerdictRecord *v = run_flow(fx, "ssh", fx->vm, NULL, EVIL_IP, 22, false);
        if (swapped) {
            expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "evil");
        } else {
            expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_FIREWALL_DENIED,
                   "azfw/Deny-collection/Deny-SSH");
            assert_true(step(fx, "ssh", MODEL_STAGE_FIREWALL, "azfw/Deny-collection/Deny-SSH",
                             "drop", "Action: Deny. Rule Collection Group: rcg-spokes"));
        }
        fx_free(fx);
    }
}

/* Rule collection groups come first: a group with a lower priority number is processed
 * before another group's collections, whatever their own numbers (policy-rule-sets.md). */
static void rule_collection_group_priority_orders_collections(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelAzfwGroup *first = MUST(model_azfw_add_group(fx->fw, "rcg-first", 100, &err));
    net_rule(collection(fx, NULL, "allow-late", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW),
             "allow-ssh", "TCP", "*", "22");
    net_rule(collection(fx, first, "deny-early", 65000, MODEL_AZFW_NETWORK, MODEL_ACCESS_DENY),
             "deny-ssh", "TCP", "*", "22");
    fx_start(fx, false);
    expect(run_flow(fx, "ssh", fx->vm, NULL, EVIL_IP, 22, false), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw/deny-early/deny-ssh");
    fx_free(fx);
}

/* "network rules are applied in priority order before application rules. The rules are
 * terminating." Both match here: the network Deny in the last group at 65000 decides
 * before the application Allow at 100; and (example 1) a network Allow lets through what
 * an application rule would deny. */
static void network_rules_are_processed_before_application_rules(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelAzfwGroup *early = MUST(model_azfw_add_group(fx->fw, "rcg-apps", 100, &err));
    ModelAzfwGroup *late = MUST(model_azfw_add_group(fx->fw, "rcg-net", 65000, &err));
    app_rule(collection(fx, early, "allow-pypi", 100, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "*.pypi.org");
    net_rule(collection(fx, late, "deny-web", 65000, MODEL_AZFW_NETWORK, MODEL_ACCESS_DENY),
             "deny-443", "TCP", PYPI_IP, "443");
    app_rule(collection(fx, early, "deny-evil", 200, MODEL_AZFW_APPLICATION, MODEL_ACCESS_DENY),
             "evil", "Https:443", "evil.example.com");
    net_rule(collection(fx, late, "allow-evil", 64000, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW),
             "evil-443", "TCP", EVIL_IP, "443");
    fx_start(fx, false);
    expect(run_flow(fx, "pip", fx->vm, "files.pypi.org", NULL, 443, true), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw/deny-web/deny-443");
    assert_false(step(fx, "pip", MODEL_STAGE_FIREWALL, NULL, "proxy", NULL));
    expect(run_flow(fx, "evil", fx->vm, "evil.example.com", NULL, 443, true),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "evil");
    assert_true(step(fx, "evil", MODEL_STAGE_FIREWALL, "azfw/allow-evil/evil-443", "allow", NULL));
    fx_free(fx);
}

/* Network rules to private destinations keep the source (no SNAT within IANA private
 * ranges); with "255.255.255.255/32" as the private range the firewall always SNATs, to
 * an instance address (snat-private-range.md). The hub routes the spoke back through the
 * firewall, so both directions cross it. */
static void snat_private_ranges_decide_whether_network_traffic_keeps_its_source(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    for (int always = 0; always <= 1; always++) {
        Fx *fx = fx_new();
        GError *err = NULL;
        ModelRouteTable *spoke = model_net_find_route_table(fx->net, "rt-spoke");
        OK(model_route_table_add(spoke, "hub-app-via-fw", "10.0.1.0/24", "VirtualAppliance",
                                 FW_PRIVATE, 0, NULL, NULL, &err));
        ModelRouteTable *hub = MUST(model_net_add_route_table(fx->net, "rt-hub", &err));
        OK(model_route_table_add(hub, "spoke-via-fw", "10.1.0.0/16", "VirtualAppliance", FW_PRIVATE,
                                 0, NULL, NULL, &err));
        model_subnet_set_route_table(fx->hub_app, hub);
        net_rule(collection(fx, NULL, "allow-ssh", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW),
                 "ssh-hub", "TCP", "10.0.1.0/24", "22");
        if (always) {
            const char *ranges[] = {"255.255.255.255/32"};
            OK(model_azfw_set_snat_private_ranges(fx->fw, ranges, 1, &err));
        }
        fx_start(fx, true);
        expect(run_flow(fx, "ssh", fx->vm, NULL, "10.0.1.4", 22, false), MODEL_VERDICT_DELIVERED,
               MODEL_CAUSE_NONE, "hub-vm");
        assert_captures_clean(fx);
        const char *src[] = {"ip.src"};
        g_autofree char *line = first_fields(fx, "hub-vm-nic0.pcap",
                                             "tcp.flags.syn == 1 && tcp.flags.ack == 0", src, 1);
        assert_string_equal(line, always ? FW_INSTANCE : "10.1.1.4");
        fx_free(fx);
    }
}

/* ---- state ---- */

/* Forced tunneling breaks direct inbound (domain.md §4.3): the VM's public IP takes the
 * SYN straight in, the SYN/ACK follows 0.0.0.0/0 to the firewall, which never saw the
 * connection begin. */
static void reply_that_bypassed_the_firewall_on_the_way_in_is_asymmetric(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    OK(model_nic_set_public_ip(fx->net, fx->vm_nic, tn_ip("4.157.1.10"), &err));
    model_host_listen(fx->vm, 6, 22);
    net_rule(collection(fx, NULL, "allow-all", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW), "all",
             "Any", "*", "*");
    fx_start(fx, false);
    model_net_start_tcp(fx->net, "inbound", fx->evil, tn_ip("4.157.1.10"), 22, 0);
    sim_run(fx->engine);
    expect(model_trace_find_verdict(fx->trace, "inbound"), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_ASYMMETRIC_RETURN, "azfw");
    /* The rules were never asked: a SYN/ACK opens nothing. */
    assert_false(step(fx, "inbound", MODEL_STAGE_FIREWALL, "azfw/allow-all/all", "allow", NULL));
    fx_free(fx);
}

/* ---- DNS proxy ---- */

static void use_firewall_for_dns(Fx *fx)
{
    uint32_t ip = tn_ip(FW_PRIVATE);
    model_vnet_set_dns_servers(fx->spoke, &ip, 1);
}

/* DNS proxy on, the spoke's DNS server is the firewall: it forwards to Azure DNS once and
 * answers the second query from its cache (dns-settings.md). */
static void dns_proxy_forwards_to_azure_dns_and_caches(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    model_azfw_set_dns_proxy(fx->fw, true);
    use_firewall_for_dns(fx);
    app_rule(collection(fx, NULL, "allow-pypi", 300, MODEL_AZFW_APPLICATION, MODEL_ACCESS_ALLOW),
             "pypi", "Https:443", "*.pypi.org");
    fx_start(fx, false);
    expect(run_flow(fx, "first", fx->vm, "files.pypi.org", NULL, 443, true),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "pypi");
    assert_true(step(fx, "first", MODEL_STAGE_DNS, "azfw", "forward", "files.pypi.org"));
    expect(run_flow(fx, "second", fx->vm, "files.pypi.org", NULL, 443, true),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "pypi");
    assert_true(step(fx, "second", MODEL_STAGE_DNS, "azfw", "cache-hit", "files.pypi.org"));
    assert_false(step(fx, "second", MODEL_STAGE_DNS, "azfw", "forward", NULL));
    fx_free(fx);
}

/* The spoke names the firewall as its DNS server but the proxy is off ("By default, DNS
 * Proxy is disabled"): the query dies at the firewall. */
static void dns_to_firewall_without_proxy_is_firewall_no_dns_proxy(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    use_firewall_for_dns(fx);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run_flow(fx, "dns", fx->vm, "files.pypi.org", NULL, 443, true);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_FIREWALL_NO_DNS_PROXY, "azfw");
    assert_non_null(strstr(v->hint, "enable DNS proxy"));
    assert_true(step(fx, "dns", MODEL_STAGE_FIREWALL, "azfw", "drop", "DNS proxy is disabled"));
    fx_free(fx);
}

/* FQDNs in network rules match the addresses the firewall resolved for them; with the
 * DNS proxy in the clients' path those are the ones it handed out
 * (fqdn-filtering-network-rules.md, dns-settings.md: "DNS Proxy puts Azure Firewall in the
 * path of the client requests to avoid inconsistency"). Before anyone resolved the name,
 * its address matches nothing; after, it does. */
static void network_rule_fqdn_matches_what_the_dns_proxy_resolved(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    const char *src[] = {"10.1.0.0/16", NULL}, *protos[] = {"TCP", NULL},
               *fqdns[] = {"ssh.example.com", NULL}, *ports[] = {"22", NULL};
    ModelAzfwNetworkRule r = {.name = "ssh-fqdn",
                              .ip_protocols = protos,
                              .source_addresses = src,
                              .destination_fqdns = fqdns,
                              .destination_ports = ports};
    ModelAzfwCollection *c =
        collection(fx, NULL, "allow-ssh", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW);
    /* Without the DNS proxy the rule is refused ("You must enable DNS Proxy"). */
    assert_false(model_azfw_add_network_rule(c, &r, &err));
    assert_non_null(strstr(err->message, "needs the DNS proxy"));
    g_clear_error(&err);
    model_azfw_set_dns_proxy(fx->fw, true);
    use_firewall_for_dns(fx);
    OK(model_azfw_add_network_rule(c, &r, &err));
    fx_start(fx, false);
    /* Before any resolution, the address alone matches nothing. */
    expect(run_flow(fx, "by-ip", fx->vm, NULL, EVIL_IP, 22, false), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_FIREWALL_DENIED, "azfw");
    expect(run_flow(fx, "by-name", fx->vm, "ssh.example.com", NULL, 22, false),
           MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "evil");
    assert_true(
        step(fx, "by-name", MODEL_STAGE_FIREWALL, "azfw/allow-ssh/ssh-fqdn", "allow", NULL));
    fx_free(fx);
}

/* ---- configuration ---- */

static void firewall_configuration_is_checked_as_azure_does(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelSubnet *small = MUST(model_net_add_subnet(fx->net, fx->spoke, "AzureFirewallSubnet",
                                                   tn_prefix("10.1.9.0/27"), &err));
    assert_null(
        model_net_add_firewall(fx->net, "fw2", small, tn_ip("10.1.9.4"), tn_ip("4.157.0.9"), &err));
    assert_non_null(strstr(err->message, "/26"));
    g_clear_error(&err);
    assert_null(model_net_add_firewall(fx->net, "fw3", fx->hub_app, tn_ip("10.0.1.9"),
                                       tn_ip("4.157.0.9"), &err));
    assert_non_null(strstr(err->message, "AzureFirewallSubnet"));
    g_clear_error(&err);
    assert_null(model_azfw_add_group(fx->fw, "rcg-bad", 99, &err));
    g_clear_error(&err);
    assert_null(model_azfw_add_collection(fx->rcg, "-bad", 100, MODEL_AZFW_NETWORK,
                                          MODEL_ACCESS_ALLOW, &err));
    g_clear_error(&err);
    ModelAzfwCollection *net =
        collection(fx, NULL, "net", 100, MODEL_AZFW_NETWORK, MODEL_ACCESS_ALLOW);
    const char *src[] = {"10.1.0.0/16", NULL}, *protos[] = {"TCP", NULL},
               *lower[] = {"azuremachinelearning", NULL}, *ports[] = {"443", NULL};
    ModelAzfwNetworkRule r = {.name = "aml",
                              .ip_protocols = protos,
                              .source_addresses = src,
                              .destination_addresses = lower,
                              .destination_ports = ports};
    assert_false(model_azfw_add_network_rule(net, &r, &err));
    assert_non_null(strstr(err->message, "must be spelt 'AzureMachineLearning'"));
    g_clear_error(&err);
    const char *wild[] = {"*.example.com", NULL};
    r.destination_addresses = NULL;
    r.destination_fqdns = wild;
    assert_false(model_azfw_add_network_rule(net, &r, &err));
    g_clear_error(&err);
    /* IP groups and ranges resolve when the rule is added. */
    const char *members[] = {"10.1.1.0-10.1.1.9"};
    OK(model_azfw_add_ip_group(fx->fw, "ipg-spoke", members, 1, &err));
    const char *groups[] = {"ipg-spoke", NULL}, *dst[] = {"*", NULL}, *ssh[] = {"22", NULL};
    ModelAzfwNetworkRule g = {.name = "from-group",
                              .ip_protocols = protos,
                              .source_ip_groups = groups,
                              .destination_addresses = dst,
                              .destination_ports = ssh};
    OK(model_azfw_add_network_rule(net, &g, &err));
    const char *missing[] = {"ipg-nope", NULL};
    g.name = "missing";
    g.source_ip_groups = missing;
    assert_false(model_azfw_add_network_rule(net, &g, &err));
    g_clear_error(&err);
    /* Application rules in a network collection are refused. */
    const char *https[] = {"Https", NULL}, *fqdn[] = {"pypi.org", NULL};
    ModelAzfwApplicationRule a = {
        .name = "app", .protocols = https, .source_addresses = src, .target_fqdns = fqdn};
    assert_false(model_azfw_add_application_rule(net, &a, &err));
    g_clear_error(&err);
    fx_start(fx, false);
    expect(run_flow(fx, "in-group", fx->vm, NULL, EVIL_IP, 22, false), MODEL_VERDICT_DELIVERED,
           MODEL_CAUSE_NONE, "evil");
    assert_true(step(fx, "in-group", MODEL_STAGE_FIREWALL, "azfw/net/from-group", "allow", NULL));
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(app_rule_wildcard_delivers_and_server_sees_firewall_public_ip),
        cmocka_unit_test(fqdn_not_allowed_is_denied_by_default_and_clienthello_goes_no_further),
        cmocka_unit_test(wildcard_target_fqdn_does_not_match_the_domain_apex),
        cmocka_unit_test(application_rules_judge_the_sni_not_the_address),
        cmocka_unit_test(denied_http_request_gets_status_470_from_the_firewall),
        cmocka_unit_test(application_rule_traffic_to_a_private_address_is_snated),
        cmocka_unit_test(network_rule_with_service_tag_allows_azure_machine_learning),
        cmocka_unit_test(deny_collection_with_lower_priority_number_beats_later_allow),
        cmocka_unit_test(rule_collection_group_priority_orders_collections),
        cmocka_unit_test(network_rules_are_processed_before_application_rules),
        cmocka_unit_test(snat_private_ranges_decide_whether_network_traffic_keeps_its_source),
        cmocka_unit_test(reply_that_bypassed_the_firewall_on_the_way_in_is_asymmetric),
        cmocka_unit_test(dns_proxy_forwards_to_azure_dns_and_caches),
        cmocka_unit_test(dns_to_firewall_without_proxy_is_firewall_no_dns_proxy),
        cmocka_unit_test(network_rule_fqdn_matches_what_the_dns_proxy_resolved),
        cmocka_unit_test(firewall_configuration_is_checked_as_azure_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
