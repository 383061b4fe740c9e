/*
 * Azure Bastion: a browser session to the Bastion's public IP, then Bastion's own
 * connection from its private IP to the jump box — packets through the Bastion subnet's
 * NSG, the routes and the target subnet's NSG; captures checked by tshark.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs): articles/bastion/bastion-nsg.md (required
 * NSG rules on AzureBastionSubnet; "the source can be either the Internet or a set of
 * public IP addresses that you specify"; target VM subnet needs 22/3389 from the Bastion
 * subnet), articles/bastion/configuration-settings.md (AzureBastionSubnet, /26 or larger,
 * no additional resources), includes/bastion-subnet-size.md (no route tables).
 *
 *   vnet-ml 10.0.0.0/16  AzureBastionSubnet 10.0.254.0/26  bastion 10.0.254.4, 52.190.1.10
 *                        snet-vm 10.0.2.0/24  jumpbox 10.0.2.4 (22, 3389)
 *   internet: browser 198.51.100.7 (a home line), office 203.0.113.50 (the corp range
 *             203.0.113.0/24), web 93.184.216.34
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "model/net.h"
#include "sim/sim.h"
#include "testnet.h"
#include "tshark_util.h"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *vnet;
    ModelSubnet *bastion_sub, *vm_sub;
    ModelHost *bastion, *jumpbox, *browser, *office, *web;
    char *pcap_dir;
} Fx;

static uint32_t IP(const char *text)
{
    uint32_t ip;
    assert_true(model_ip_parse(text, &ip));
    return ip;
}

static ModelPrefix P(const char *text)
{
    ModelPrefix p;
    assert_int_equal(model_prefix_parse(text, false, &p), MODEL_PREFIX_OK);
    return p;
}

static ModelHost *internet(Fx *fx, const char *name, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, h, IP(ip), &err));
    return h;
}

/* The topology above; `bastion_prefix` sizes AzureBastionSubnet. No Bastion yet. */
static Fx *fx_new_sized(const char *bastion_prefix)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix space = P("10.0.0.0/16");
    fx->vnet = MUST(model_net_add_vnet(fx->net, "vnet-ml", &space, 1, &err));
    fx->bastion_sub = MUST(
        model_net_add_subnet(fx->net, fx->vnet, "AzureBastionSubnet", P(bastion_prefix), &err));
    fx->vm_sub = MUST(model_net_add_subnet(fx->net, fx->vnet, "snet-vm", P("10.0.2.0/24"), &err));
    fx->jumpbox = MUST(model_net_add_host(fx->net, "jumpbox", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, fx->jumpbox, fx->vm_sub, "nic0", IP("10.0.2.4"), &err));
    model_host_listen(fx->jumpbox, 6, 22);
    model_host_listen(fx->jumpbox, 6, 3389);
    fx->browser = internet(fx, "browser", "198.51.100.7");
    fx->office = internet(fx, "office", "203.0.113.50");
    fx->web = internet(fx, "web", "93.184.216.34");
    model_host_listen(fx->web, 6, 443);
    return fx;
}

static Fx *fx_new(void)
{
    Fx *fx = fx_new_sized("10.0.254.0/26");
    GError *err = NULL;
    fx->bastion = MUST(model_net_add_bastion(fx->net, "bastion", fx->vnet, IP("10.0.254.4"),
                                             IP("52.190.1.10"), &err));
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(1);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-bastion-XXXXXX", NULL);
    OK(model_net_attach(fx->net, fx->engine, fx->trace, fx->pcap_dir, &err));
}

static void fx_free(Fx *fx)
{
    if (fx->trace && g_getenv("VNETSIM_TEST_TRACE")) /* the trace, for whoever debugs */
        fputs(model_trace_text(fx->trace, NULL), stderr);
    if (fx->engine) {
        model_net_close_captures(fx->net, false, NULL);
        assert_int_equal(sim_pending(fx->engine), 0);
    }
    model_net_free(fx->net);
    model_trace_free(fx->trace);
    sim_engine_free(fx->engine);
    if (fx->pcap_dir) {
        GDir *d = g_dir_open(fx->pcap_dir, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *path = g_build_filename(fx->pcap_dir, name, NULL);
            g_unlink(path);
        }
        if (d)
            g_dir_close(d);
        g_rmdir(fx->pcap_dir);
        g_free(fx->pcap_dir);
    }
    g_free(fx);
}

static const ModelVerdictRecord *verdict_of(Fx *fx, const char *flow)
{
    const ModelVerdictRecord *v = model_trace_find_verdict(fx->trace, flow);
    if (!v)
        fail_msg("flow %s has no verdict", flow);
    return v;
}

static const ModelVerdictRecord *session(Fx *fx, const char *name, ModelHost *browser,
                                         uint16_t port)
{
    model_net_start_bastion_session(fx->net, name, browser, fx->bastion, fx->jumpbox, port,
                                    sim_now(fx->engine));
    sim_run(fx->engine);
    return verdict_of(fx, name);
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("flow %s: got %s %s at %s (%s), want %s %s at %s", v->flow,
                 model_verdict_name(v->verdict), model_cause_name(v->cause), v->at, v->hint,
                 model_verdict_name(verdict), model_cause_name(cause), at ? at : "*");
}

static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *object,
                     const char *action, const char *needle)
{
    size_t n;
    const ModelStepRecord *s = model_trace_steps(fx->trace, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].flow, flow) == 0 && s[i].stage == stage &&
            (!object || strcmp(s[i].object, object) == 0) && strcmp(s[i].action, action) == 0 &&
            (!needle || strstr(s[i].detail, needle)))
            return true;
    return false;
}

static void add_rule(ModelNsg *nsg, const char *name, int prio, ModelDirection dir,
                     ModelAccess access, ModelNsgProtocol proto, const char *src, const char *dst,
                     const char *dports)
{
    GError *err = NULL;
    ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, access, proto);
    OK(model_nsg_rule_add_address(r, MODEL_NSG_SRC, src, &err) &&
       model_nsg_rule_add_address(r, MODEL_NSG_DST, dst, &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", &err) &&
       model_nsg_rule_add_ports(r, MODEL_NSG_DST, dports, &err) &&
       model_nsg_add_rule(nsg, r, &err));
}

/* The NSG bastion-nsg.md asks for, with "the Internet or a set of public IP addresses that
 * you specify" as `users`; `gateway_manager` false leaves the control plane's rule out. */
static ModelNsg *bastion_nsg(Fx *fx, const char *users, bool gateway_manager, bool azure_cloud)
{
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-bastion", &err));
    const ModelDirection in = MODEL_DIR_INBOUND, out = MODEL_DIR_OUTBOUND;
    const ModelAccess allow = MODEL_ACCESS_ALLOW;
    add_rule(nsg, "AllowHttpsInbound", 120, in, allow, MODEL_NSG_PROTO_TCP, users, "*", "443");
    if (gateway_manager)
        add_rule(nsg, "AllowGatewayManagerInbound", 130, in, allow, MODEL_NSG_PROTO_TCP,
                 "GatewayManager", "*", "443");
    add_rule(nsg, "AllowAzureLoadBalancerInbound", 140, in, allow, MODEL_NSG_PROTO_TCP,
             "AzureLoadBalancer", "*", "443");
    add_rule(nsg, "AllowBastionHostCommunication", 150, in, allow, MODEL_NSG_PROTO_ANY,
             "VirtualNetwork", "VirtualNetwork", "8080,5701");
    add_rule(nsg, "DenyAllInbound", 4000, in, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY, "*", "*",
             "*");
    add_rule(nsg, "AllowSshRdpOutbound", 100, out, allow, MODEL_NSG_PROTO_ANY, "*",
             "VirtualNetwork", "22,3389");
    if (azure_cloud)
        add_rule(nsg, "AllowAzureCloudOutbound", 110, out, allow, MODEL_NSG_PROTO_TCP, "*",
                 "AzureCloud", "443");
    add_rule(nsg, "AllowBastionCommunication", 120, out, allow, MODEL_NSG_PROTO_ANY,
             "VirtualNetwork", "VirtualNetwork", "8080,5701");
    add_rule(nsg, "AllowHttpOutbound", 130, out, allow, MODEL_NSG_PROTO_ANY, "*", "Internet", "80");
    add_rule(nsg, "DenyAllOutbound", 4000, out, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_ANY, "*", "*",
             "*");
    model_subnet_set_nsg(fx->bastion_sub, nsg);
    return nsg;
}

/* ---- tests ---- */

/* A browser reaches Bastion's public IP on 443; Bastion opens SSH (and RDP) to the jump
 * box from its private IP; the jump box is a normal VM whose own flows then start. Every
 * capture dissects clean, and the jump box sees Bastion's private address. */
static void bastion_session_reaches_the_jump_box_from_its_private_ip(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    bastion_nsg(fx, "Internet", true, true);
    fx_start(fx, tshark_available());
    expect(session(fx, "ssh", fx->browser, 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "jumpbox");
    expect(verdict_of(fx, "ssh/browser"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "bastion");
    expect(verdict_of(fx, "ssh/ssh"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "jumpbox");
    assert_true(has_step(fx, "ssh/browser", MODEL_STAGE_NSG_IN, "nsg-bastion/AllowHttpsInbound",
                         "allow", NULL));
    assert_true(has_step(fx, "ssh/browser", MODEL_STAGE_GATEWAY, "bastion", "session",
                         "from its private IP 10.0.254.4"));
    assert_true(has_step(fx, "ssh/ssh", MODEL_STAGE_NSG_OUT, "nsg-bastion/AllowSshRdpOutbound",
                         "allow", "10.0.254.4"));
    expect(session(fx, "rdp", fx->browser, 3389), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "jumpbox");
    expect(verdict_of(fx, "rdp/rdp"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "jumpbox");
    /* The development environment: the jump box's own traffic. */
    model_net_start_tcp(fx->net, "jumpbox-web", fx->jumpbox, IP("93.184.216.34"), 443,
                        sim_now(fx->engine));
    sim_run(fx->engine);
    expect(verdict_of(fx, "jumpbox-web"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "web");

    if (fx->pcap_dir) {
        OK(model_net_close_captures(fx->net, true, &err));
        const char *files[] = {"browser-inet0.pcap", "bastion-nic0.pcap", "jumpbox-nic0.pcap"};
        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
            g_autofree char *path = g_build_filename(fx->pcap_dir, files[i], NULL);
            assert_int_equal(tshark_count(path, TSHARK_BAD_FRAMES), 0);
        }
        g_autofree char *jb = g_build_filename(fx->pcap_dir, "jumpbox-nic0.pcap", NULL);
        const char *fields[] = {"ip.src", "ip.dst", "tcp.dstport"};
        gchar **lines = tshark_fields(jb, "tcp.flags.syn == 1 && tcp.flags.ack == 0", fields, 3);
        assert_non_null(lines);
        assert_non_null(lines[0]);
        assert_string_equal(lines[0], "10.0.254.4|10.0.2.4|22");
        assert_non_null(lines[1]);
        assert_string_equal(lines[1], "10.0.254.4|10.0.2.4|3389");
        g_strfreev(lines);
        /* The browser talked TLS to the public IP, with the Bastion's name as SNI. */
        g_autofree char *br = g_build_filename(fx->pcap_dir, "browser-inet0.pcap", NULL);
        const char *tls[] = {"ip.dst", "tls.handshake.extensions_server_name"};
        lines = tshark_fields(br, "tls.handshake.type == 1", tls, 2);
        assert_non_null(lines);
        assert_non_null(lines[0]);
        assert_string_equal(lines[0], "52.190.1.10|bastion.bastion.azure.com");
        g_strfreev(lines);
    }
    fx_free(fx);
}

/* The target subnet's NSG lets SSH in only from the admins' subnet, not from the Bastion
 * subnet: the session fails with BASTION_DENIED at the rule that stopped Bastion's SYN,
 * and the hint names the range to allow ("add the Azure Bastion Subnet IP address range"). */
static void vm_subnet_nsg_blocking_bastion_is_bastion_denied(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelNsg *nsg = MUST(model_net_add_nsg(fx->net, "nsg-vm", &err));
    add_rule(nsg, "AllowSshFromAdmins", 100, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
             MODEL_NSG_PROTO_TCP, "10.0.10.0/24", "*", "22");
    add_rule(nsg, "DenySsh", 200, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, MODEL_NSG_PROTO_TCP, "*",
             "*", "22");
    model_subnet_set_nsg(fx->vm_sub, nsg);
    fx_start(fx, false);
    const ModelVerdictRecord *v = session(fx, "ssh", fx->browser, 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_BASTION_DENIED, "nsg-vm/DenySsh");
    assert_int_equal(v->root_cause, MODEL_CAUSE_NSG_DENIED_IN);
    assert_non_null(strstr(v->hint, "10.0.254.0/26"));
    expect(verdict_of(fx, "ssh/browser"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(verdict_of(fx, "ssh/ssh"), MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN,
           "nsg-vm/DenySsh");
    /* RDP is not denied: that session works. */
    expect(session(fx, "rdp", fx->browser, 3389), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "jumpbox");
    fx_free(fx);
}

/* Bastion's NSG admits only the office's public range on 443: a browser on a home line is
 * denied at the Bastion subnet's NSG, the office browser gets in. */
static void browser_outside_the_allowed_sources_is_denied_at_bastion_nsg(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    bastion_nsg(fx, "203.0.113.0/24", true, true);
    fx_start(fx, false);
    const ModelVerdictRecord *v = session(fx, "home", fx->browser, 22);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN, "nsg-bastion/DenyAllInbound");
    assert_null(model_trace_find_verdict(fx->trace, "home/ssh")); /* Bastion never tried */
    expect(session(fx, "office", fx->office, 22), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           "jumpbox");
    fx_free(fx);
}

/* What Azure refuses: a missing required NSG rule ("If you do not add these rules, the NSG
 * creation/update will fail"), a subnet smaller than /26 or misnamed, another resource or a
 * route table in AzureBastionSubnet. */
static void bastion_configuration_azure_refuses_is_rejected(void **state)
{
    (void)state;
    GError *err = NULL;
    /* With 443 open to all of the Internet, GatewayManager's public addresses are let in by
     * that rule; restricted to the office, its own rule is needed. */
    Fx *fx = fx_new();
    bastion_nsg(fx, "Internet", false, true);
    OK(model_net_finalize(fx->net, &err));
    fx_free(fx);
    fx = fx_new();
    bastion_nsg(fx, "203.0.113.0/24", false, true);
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "inbound TCP 443 from GatewayManager"));
    assert_non_null(strstr(err->message, "nsg-bastion"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new();
    bastion_nsg(fx, "Internet", true, false);
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "outbound TCP 443 to AzureCloud"));
    assert_non_null(strstr(err->message, "DenyAllOutbound"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new_sized("10.0.254.0/27");
    assert_null(model_net_add_bastion(fx->net, "bastion", fx->vnet, IP("10.0.254.4"),
                                      IP("52.190.1.10"), &err));
    assert_non_null(strstr(err->message, "/26 or larger"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new_sized("10.0.254.0/26");
    ModelPrefix other = P("10.9.0.0/16");
    ModelVnet *v = MUST(model_net_add_vnet(fx->net, "vnet-other", &other, 1, &err));
    MUST(model_net_add_subnet(fx->net, v, "BastionSubnet", P("10.9.1.0/26"), &err));
    assert_null(model_net_add_bastion(fx->net, "b2", v, IP("10.9.1.4"), IP("52.190.1.11"), &err));
    assert_non_null(strstr(err->message, "exactly 'AzureBastionSubnet'"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new();
    ModelHost *vm = MUST(model_net_add_host(fx->net, "squatter", MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, vm, fx->bastion_sub, "nic0", IP("10.0.254.20"), &err));
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "cannot contain additional resources"));
    g_clear_error(&err);
    fx_free(fx);

    fx = fx_new();
    model_subnet_set_route_table(fx->bastion_sub,
                                 MUST(model_net_add_route_table(fx->net, "rt-bastion", &err)));
    assert_false(model_net_finalize(fx->net, &err));
    assert_non_null(strstr(err->message, "without any route tables"));
    g_clear_error(&err);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bastion_session_reaches_the_jump_box_from_its_private_ip),
        cmocka_unit_test(vm_subnet_nsg_blocking_bastion_is_bastion_denied),
        cmocka_unit_test(browser_outside_the_allowed_sources_is_denied_at_bastion_nsg),
        cmocka_unit_test(bastion_configuration_azure_refuses_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
