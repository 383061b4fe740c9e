/*
 * DNS as it happens on the wire: stub resolvers, Azure DNS, forwarders, the Firewall DNS
 * proxy, hosts files — each behaviour on a small topology, checked by verdict, cause,
 * root cause and trace steps; the captured DNS packets are checked by tshark.
 *
 * Sources: azdocs:articles/private-link/private-endpoint-dns.md (zones, chains),
 * azdocs:articles/machine-learning/how-to-custom-dns.md ("Private DNS zone records are
 * returned only to queries sent to 168.63.129.16"), azdocs:articles/virtual-network/
 * what-is-ip-address-168-63-129-16.md (reachable only from inside Azure),
 * azdocs:articles/dns/private-dns-virtual-network-links.md (NxDomainRedirect),
 * azdocs:articles/firewall/dns-settings.md (DNS proxy, caching).
 *
 *   vnet-hub 10.0.0.0/16   snet-pe 10.0.1.0/24   pe-blob 10.0.1.6 -> mlwsstore
 *                          snet-app 10.0.2.0/24  vm-hub 10.0.2.4
 *                          snet-dns 10.0.3.0/24  dns-fwd 10.0.3.4 (forwards to 168.63.129.16)
 *                          snet-fw 10.0.4.0/24   fw-dns 10.0.4.4 (DNS proxy)
 *   vnet-spoke 10.1.0.0/16 snet-app 10.1.1.0/24  vm-spoke 10.1.1.4
 *     (peered)             snet-corp 10.1.2.0/24 corp-dns 10.1.2.4 (plays the on-prem DNS)
 *   internet: mlwsstore 20.60.0.4, isp-dns 8.8.8.8 (public resolver), laptop 198.51.100.7,
 *             Azure DNS 168.63.129.16
 *   privatelink.blob.core.windows.net linked to vnet-hub
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

#define FQDN  "mlwsstore.blob.core.windows.net"
#define FQDN2 "mlwsstore2.blob.core.windows.net"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *hub, *spoke;
    ModelSubnet *hub_app, *spoke_app;
    ModelHost *vm_hub, *vm_spoke, *dns_fwd, *fw_dns, *corp_dns, *isp_dns, *laptop, *store;
    ModelHost *store2;
    ModelDnsZone *zone;
    char *pcap_dir;
} Fx;

#define IP tn_ip
#define P  tn_prefix

/* err is read through a pointer, after expr has run (argument order is unspecified). */

static ModelHost *vm(Fx *fx, const char *name, ModelHostKind kind, ModelSubnet *subnet,
                     const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, kind, &err));
    MUST(model_net_add_nic(fx->net, h, subnet, "nic0", IP(ip), &err));
    return h;
}

static ModelHost *internet(Fx *fx, const char *name, ModelHostKind kind, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, kind, &err));
    OK(model_host_set_public_ip(fx->net, h, IP(ip), &err));
    return h;
}

static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix hub = P("10.0.0.0/16"), spoke = P("10.1.0.0/16");
    fx->hub = MUST(model_net_add_vnet(fx->net, "vnet-hub", &hub, 1, &err));
    fx->spoke = MUST(model_net_add_vnet(fx->net, "vnet-spoke", &spoke, 1, &err));
    OK(model_net_peer(fx->net, fx->hub, fx->spoke, &err));
    ModelSubnet *pe =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-pe", P("10.0.1.0/24"), &err));
    fx->hub_app = MUST(model_net_add_subnet(fx->net, fx->hub, "snet-app", P("10.0.2.0/24"), &err));
    ModelSubnet *dns =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-dns", P("10.0.3.0/24"), &err));
    ModelSubnet *fw =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-fw", P("10.0.4.0/24"), &err));
    fx->spoke_app =
        MUST(model_net_add_subnet(fx->net, fx->spoke, "snet-app", P("10.1.1.0/24"), &err));
    ModelSubnet *corp =
        MUST(model_net_add_subnet(fx->net, fx->spoke, "snet-corp", P("10.1.2.0/24"), &err));

    fx->vm_hub = vm(fx, "vm-hub", MODEL_HOST_VM, fx->hub_app, "10.0.2.4");
    fx->vm_spoke = vm(fx, "vm-spoke", MODEL_HOST_VM, fx->spoke_app, "10.1.1.4");
    fx->dns_fwd = vm(fx, "dns-fwd", MODEL_HOST_VM, dns, "10.0.3.4");
    fx->fw_dns = vm(fx, "fw-dns", MODEL_HOST_APPLIANCE, fw, "10.0.4.4");
    fx->corp_dns = vm(fx, "corp-dns", MODEL_HOST_VM, corp, "10.1.2.4");
    fx->store = internet(fx, "mlwsstore", MODEL_HOST_SERVICE, "20.60.0.4");
    fx->store2 = internet(fx, "mlwsstore2", MODEL_HOST_SERVICE, "20.60.0.5");
    fx->isp_dns = internet(fx, "isp-dns", MODEL_HOST_INTERNET, "8.8.8.8");
    fx->laptop = internet(fx, "laptop", MODEL_HOST_INTERNET, "198.51.100.7");
    ModelHost *azure = internet(fx, "azure-dns", MODEL_HOST_SERVICE, "168.63.129.16");

    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);
    model_host_set_dns_server(fx->dns_fwd, MODEL_DNS_SERVER_FORWARDER);
    model_dns_server_add_forwarder(fx->dns_fwd, IP("168.63.129.16"));
    model_host_set_dns_server(fx->fw_dns, MODEL_DNS_SERVER_PROXY);
    model_host_set_dns_server(fx->corp_dns, MODEL_DNS_SERVER_FORWARDER);
    model_dns_server_add_forwarder(fx->corp_dns, IP("8.8.8.8"));
    model_host_set_dns_server(fx->isp_dns, MODEL_DNS_SERVER_FORWARDER);
    model_host_listen(fx->store, 6, 443);
    model_host_listen(fx->store2, 6, 443);

    ModelNic *pe_blob = MUST(
        model_net_add_private_endpoint(fx->net, "pe-blob", pe, IP("10.0.1.6"), fx->store, &err));
    OK(model_private_endpoint_add_fqdn(fx->net, pe_blob, FQDN, &err));
    /* The second account has a private endpoint whose record never reached the zone. */
    MUST(model_net_add_private_endpoint(fx->net, "pe-blob2", pe, IP("10.0.1.7"), fx->store2, &err));
    model_net_register_fqdn(fx->net, FQDN2, fx->store2);
    OK(model_dns_register_service(model_net_dns(fx->net), FQDN2, IP("20.60.0.5"), NULL, true,
                                  &err));
    fx->zone =
        MUST(model_dns_zone_add(model_net_dns(fx->net), "privatelink.blob.core.windows.net", &err));
    return fx;
}

static void link_hub(Fx *fx, bool redirect)
{
    GError *err = NULL;
    OK(model_dns_zone_link(fx->zone, fx->hub, "hub-link", redirect, &err));
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(1);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-dns-XXXXXX", NULL);
    OK(model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err));
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

static const ModelVerdictRecord *run(Fx *fx, const char *flow, ModelHost *from, const char *fqdn)
{
    ModelFlowSpec spec = {.name = flow,
                          .from = from,
                          .fqdn = fqdn,
                          .port = 443,
                          .proto = 6,
                          .tls = true,
                          .request = true};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    sim_run(fx->engine);
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    assert_non_null(v);
    return v;
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at, ModelCause root, const char *root_at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0) ||
        v->root_cause != root || (root_at && strcmp(v->root_at, root_at) != 0))
        fail_msg("flow %s: got %s %s at %s (root %s at %s), want %s %s at %s (root %s at %s)",
                 v->flow, model_verdict_name(v->verdict), model_cause_name(v->cause), v->at,
                 model_cause_name(v->root_cause), v->root_at, model_verdict_name(verdict),
                 model_cause_name(cause), at ? at : "*", model_cause_name(root),
                 root_at ? root_at : "*");
}

/* A step of the flow whose detail contains `needle`, at stage/action. */
static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *action,
                     const char *needle)
{
    return tn_has_step(fx->trace, flow, stage, NULL, action, needle);
}

static int count_steps(Fx *fx, const char *flow, ModelStage stage, const char *action)
{
    return tn_count_steps(fx->trace, flow, stage, NULL, action, NULL);
}

static void deny_internet_out(Fx *fx, ModelSubnet *subnet)
{
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-app", &err));
    /* HTTPS only: DNS to a public resolver still goes out. */
    ModelNsgRule *r = model_nsg_rule_new("DenyInternetOut", 100, MODEL_DIR_OUTBOUND,
                                         MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, "Internet", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, "443", &err) && model_nsg_add_rule(nsg, r, &err));
    model_subnet_set_nsg(subnet, nsg);
}

/* ---- tests ---- */

static void vm_in_linked_vnet_gets_private_endpoint_address(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_hub, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "10.0.1.6 (private"));
    /* The chain went through the privatelink CNAME to the zone's A record. */
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "mlwsstore.privatelink.blob"));
    fx_free(fx);
}

static void conditional_forwarder_chain_reaches_azure_dns_and_the_private_ip(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    link_hub(fx, false);
    uint32_t fwd = IP("10.0.3.4");
    OK(model_dns_server_add_conditional(fx->corp_dns, "blob.core.windows.net", &fwd, 1, &err));
    uint32_t corp = IP("10.1.2.4");
    model_host_set_dns_servers(fx->vm_spoke, &corp, 1);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "forward", "conditional forwarder"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "view of vnet-hub"));
    fx_free(fx);
}

static void missing_conditional_forwarder_gives_the_public_answer(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    uint32_t corp = IP("10.1.2.4");
    model_host_set_dns_servers(fx->vm_spoke, &corp, 1);
    deny_internet_out(fx, fx->spoke_app);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", fx->vm_spoke, FQDN);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_OUT, "nsg-app/DenyInternetOut",
           MODEL_CAUSE_DNS_PUBLIC_ANSWER, "corp-dns");
    assert_non_null(strstr(v->hint, "conditional forwarder for blob.core.windows.net"));
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "20.60.0.4 (public"));
    fx_free(fx);
}

static void azure_dns_is_unreachable_from_outside_azure(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    uint32_t azure = IP("168.63.129.16");
    model_host_set_dns_servers(fx->laptop, &azure, 1);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", fx->laptop, FQDN);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_TIMEOUT, "azure-dns", MODEL_CAUSE_NONE, NULL);
    assert_non_null(strstr(v->hint, "only inside Azure"));
    /* One query per round, two rounds, then give up after their timeouts. */
    assert_int_equal(count_steps(fx, "blob", MODEL_STAGE_DNS, "query"), 2);
    assert_true(v->t_ns >= SIM_S(4));
    fx_free(fx);
}

static void hosts_file_answers_before_any_dns_server(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    OK(model_host_add_hosts_entry(fx->vm_spoke, FQDN, IP("10.0.1.6"), &err));
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_HOSTS_FILE, "answer", "10.0.1.6"));
    assert_int_equal(count_steps(fx, "blob", MODEL_STAGE_DNS, "query"), 0);
    fx_free(fx);
}

static void stale_hosts_entry_is_the_root_cause(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    OK(model_host_add_hosts_entry(fx->vm_spoke, FQDN, IP("10.0.1.9"), &err));
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", fx->vm_spoke, FQDN);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_HOST_UNREACHABLE, NULL,
           MODEL_CAUSE_DNS_STALE_HOSTS_ENTRY, "vm-spoke/hosts");
    assert_non_null(strstr(v->hint, "10.0.1.6"));
    fx_free(fx);
}

/* "A VNet with custom DNS servers does not consult Private DNS Zones directly." */
static void vnet_with_custom_dns_does_not_consult_private_zones(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    uint32_t isp = IP("8.8.8.8");
    model_vnet_set_dns_servers(fx->hub, &isp, 1);
    deny_internet_out(fx, fx->hub_app);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_hub, FQDN), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_OUT,
           NULL, MODEL_CAUSE_DNS_PUBLIC_ANSWER, "isp-dns");
    fx_free(fx);
}

static void second_account_without_zone_record_is_nxdomain(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob2", fx->vm_hub, FQDN2);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_NXDOMAIN, NULL, MODEL_CAUSE_NONE, NULL);
    assert_non_null(strstr(v->hint, "NxDomainRedirect"));
    fx_free(fx);
}

static void nxdomain_redirect_falls_back_to_the_public_answer(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, true);
    fx_start(fx, false);
    expect(run(fx, "blob2", fx->vm_hub, FQDN2), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore2", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob2", MODEL_STAGE_DNS, "answer", "20.60.0.5 (public"));
    fx_free(fx);
}

static void hub_zone_not_linked_to_spoke_gives_public_answer(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    deny_internet_out(fx, fx->spoke_app);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_spoke, FQDN), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_OUT,
           NULL, MODEL_CAUSE_DNS_PUBLIC_ANSWER, "azure-dns");
    fx_free(fx);
}

static void firewall_dns_proxy_caches_answers_for_their_ttl(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    link_hub(fx, false);
    uint32_t proxy = IP("10.0.4.4");
    model_host_set_dns_servers(fx->vm_spoke, &proxy, 1);
    fx_start(fx, false);
    expect(run(fx, "first", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_int_equal(count_steps(fx, "first", MODEL_STAGE_DNS, "forward"), 1);
    /* The proxy forwards from the hub, whose view has the zone: a private answer. */
    assert_true(has_step(fx, "first", MODEL_STAGE_DNS, "answer", "10.0.1.6 (private"));
    /* Within the answer's TTL (the private endpoint record's 10 s): from the cache. */
    sim_run_until(fx->engine, sim_now(fx->engine) + SIM_S(5));
    expect(run(fx, "second", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_int_equal(count_steps(fx, "second", MODEL_STAGE_DNS, "cache-hit"), 1);
    assert_int_equal(count_steps(fx, "second", MODEL_STAGE_DNS, "forward"), 0);
    /* After it: the proxy asks again. */
    sim_run_until(fx->engine, sim_now(fx->engine) + SIM_S(15));
    expect(run(fx, "third", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_int_equal(count_steps(fx, "third", MODEL_STAGE_DNS, "cache-hit"), 0);
    assert_int_equal(count_steps(fx, "third", MODEL_STAGE_DNS, "forward"), 1);
    fx_free(fx);
}

static void forwarding_loop_ends_in_servfail(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    link_hub(fx, false);
    uint32_t fwd = IP("10.0.3.4"), corp = IP("10.1.2.4");
    OK(model_dns_server_add_conditional(fx->corp_dns, "blob.core.windows.net", &fwd, 1, &err));
    OK(model_dns_server_add_conditional(fx->dns_fwd, "blob.core.windows.net", &corp, 1, &err));
    model_host_set_dns_servers(fx->vm_spoke, &corp, 1);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", fx->vm_spoke, FQDN);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_DNS_SERVFAIL, NULL, MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "servfail", "forwarding loop"));
    fx_free(fx);
}

/* A DNS Private Resolver inbound endpoint answers with its own VNet's linked zones, so a
 * client anywhere that can reach it gets the private answer
 * (azdocs:articles/dns/dns-private-resolver-overview.md, inbound endpoints). */
static void private_resolver_inbound_endpoint_answers_with_its_vnet_view(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    link_hub(fx, false);
    ModelSubnet *inbound =
        MUST(model_net_add_subnet(fx->net, fx->hub, "snet-inbound", P("10.0.5.0/28"), &err));
    ModelHost *resolver = vm(fx, "resolver-in", MODEL_HOST_SERVICE, inbound, "10.0.5.4");
    model_host_set_dns_server(resolver, MODEL_DNS_SERVER_AZURE);
    uint32_t ip = IP("10.0.5.4");
    model_host_set_dns_servers(fx->vm_spoke, &ip, 1);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_spoke, FQDN), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "mlwsstore", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "view of vnet-hub"));
    fx_free(fx);
}

static void assert_capture_dns(const char *dir, const char *file, long min_dns)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    assert_int_equal(tshark_count(path, TSHARK_BAD_FRAMES), 0);
    assert_true(tshark_count(path, "dns") >= min_dns);
    /* Every DNS packet on this path asks for the flow's name and nothing else. */
    g_autofree char *other = g_strdup_printf("dns && dns.qry.name != \"%s\"", FQDN);
    assert_int_equal(tshark_count(path, other), 0);
}

/* Every capture of a forwarding chain (client, two forwarders, Azure DNS) dissects clean,
 * and the answer the client got is the one the trace reports. */
static void forwarder_chain_captures_dissect_clean_and_match_the_trace(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    GError *err = NULL;
    link_hub(fx, false);
    uint32_t fwd = IP("10.0.3.4"), corp = IP("10.1.2.4");
    OK(model_dns_server_add_conditional(fx->corp_dns, "blob.core.windows.net", &fwd, 1, &err));
    model_host_set_dns_servers(fx->vm_spoke, &corp, 1);
    fx_start(fx, true);
    run(fx, "blob", fx->vm_spoke, FQDN);
    OK(model_net_close_captures(fx->net, true, &err));
    assert_capture_dns(fx->pcap_dir, "vm-spoke-nic0.pcap", 2);
    assert_capture_dns(fx->pcap_dir, "corp-dns-nic0.pcap", 4);
    assert_capture_dns(fx->pcap_dir, "dns-fwd-nic0.pcap", 4);
    assert_capture_dns(fx->pcap_dir, "azure-dns-inet0.pcap", 2);
    g_autofree char *path = g_build_filename(fx->pcap_dir, "vm-spoke-nic0.pcap", NULL);
    const char *fields[] = {"dns.a", "ip.src", "dns.flags.rcode"};
    gchar **lines = tshark_fields(path, "dns.flags.response == 1", fields, 3);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], "10.0.1.6|10.1.2.4|0");
    g_strfreev(lines);
    assert_true(
        has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "10.0.1.6 (private, from corp-dns)"));
    fx_free(fx);
}

/* tshark reads the DNS packets the way the trace tells them. */
static void captured_dns_matches_the_trace(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = fx_new();
    link_hub(fx, false);
    fx_start(fx, true);
    run(fx, "blob", fx->vm_hub, FQDN);
    GError *err = NULL;
    OK(model_net_close_captures(fx->net, true, &err));
    g_autofree char *path = g_build_filename(fx->pcap_dir, "vm-hub-nic0.pcap", NULL);
    assert_int_equal(tshark_count(path, TSHARK_BAD_FRAMES), 0);
    const char *fields[] = {"dns.qry.name", "dns.cname", "dns.a", "ip.src"};
    gchar **lines = tshark_fields(path, "dns.flags.response == 1", fields, 4);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], FQDN "|mlwsstore.privatelink.blob.core.windows.net|10.0.1.6|"
                                       "168.63.129.16");
    g_strfreev(lines);
    /* The TLS ClientHello carries the name as SNI, to the private endpoint's address. */
    const char *tls[] = {"tls.handshake.extensions_server_name", "ip.dst"};
    lines = tshark_fields(path, "tls.handshake.type == 1", tls, 2);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    assert_string_equal(lines[0], FQDN "|10.0.1.6");
    g_strfreev(lines);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_in_linked_vnet_gets_private_endpoint_address),
        cmocka_unit_test(conditional_forwarder_chain_reaches_azure_dns_and_the_private_ip),
        cmocka_unit_test(missing_conditional_forwarder_gives_the_public_answer),
        cmocka_unit_test(azure_dns_is_unreachable_from_outside_azure),
        cmocka_unit_test(hosts_file_answers_before_any_dns_server),
        cmocka_unit_test(stale_hosts_entry_is_the_root_cause),
        cmocka_unit_test(vnet_with_custom_dns_does_not_consult_private_zones),
        cmocka_unit_test(second_account_without_zone_record_is_nxdomain),
        cmocka_unit_test(nxdomain_redirect_falls_back_to_the_public_answer),
        cmocka_unit_test(hub_zone_not_linked_to_spoke_gives_public_answer),
        cmocka_unit_test(firewall_dns_proxy_caches_answers_for_their_ttl),
        cmocka_unit_test(forwarding_loop_ends_in_servfail),
        cmocka_unit_test(private_resolver_inbound_endpoint_answers_with_its_vnet_view),
        cmocka_unit_test(forwarder_chain_captures_dissect_clean_and_match_the_trace),
        cmocka_unit_test(captured_dns_matches_the_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
