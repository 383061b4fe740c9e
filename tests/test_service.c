/*
 * PaaS services as the packets meet them: the storage firewall (public access, IP rules,
 * the same-region rule, virtual network rules through service endpoints, resource
 * instances, trusted services), Key Vault's and the workspace's refusals, ACR's Premium-only
 * network rules, roles, and the studio's data profiling — whose verdict comes from the
 * managed service's packets reaching the storage account.
 *
 * Sources: azdocs:articles/storage/common/storage-network-security.md (private endpoints
 * need no rule; IP rules public only, no effect from the same region; resource instances
 * and trusted services survive Disabled), azdocs:articles/key-vault/general/
 * rest-error-codes.md (ForbiddenByFirewall), azdocs:articles/container-registry/
 * container-registry-access-selected-networks.md (Premium), azdocs:articles/
 * machine-learning/how-to-enable-studio-virtual-network.md and how-to-secure-workspace-vnet.md
 * (Reader on the storage private endpoint; same VNet / same subnet validation),
 * concept-secure-network-traffic-flow.md (data profiling through the Azure datacenter
 * network with the workspace's identity).
 *
 *   vnet-ml 10.0.0.0/16     snet-pe 10.0.1.0/24    private endpoints
 *                           snet-app 10.0.2.0/24   vm 10.0.2.4
 *                           snet-se 10.0.3.0/24    vm-se 10.0.3.4 (Microsoft.Storage endpoint)
 *   vnet-other 10.1.0.0/16  snet-pe 10.1.1.0/24    (not peered)
 *   internet: laptop 198.51.100.7 (DNS isp-dns 8.8.8.8), Azure DNS 168.63.129.16
 *   services: mlwsstore, mlwskv, mlwsacr (Premium), mlws; the managed services
 *   private DNS zones for blob, vault and api.azureml.ms linked to vnet-ml
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

#define BLOB "mlwsstore.blob.core.windows.net"
#define GUID "6b5c8a44-0d2e-4d7e-9a3c-0123456789ab"
#define API  GUID ".workspace.eastus.api.azureml.ms"

typedef struct {
    ModelNet *net;
    SimEngine *engine;
    ModelTrace *trace;
    ModelVnet *ml, *other;
    ModelSubnet *pe, *app, *se, *other_pe;
    ModelHost *vm, *vm_se, *laptop;
    ModelService *store, *kv, *acr, *ws;
    char *pcap_dir;
} Fx;

static ModelHost *vm(Fx *fx, const char *name, ModelSubnet *subnet, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_VM, &err));
    MUST(model_net_add_nic(fx->net, h, subnet, "nic0", tn_ip(ip), &err));
    return h;
}

static ModelHost *internet(Fx *fx, const char *name, const char *ip)
{
    GError *err = NULL;
    ModelHost *h = MUST(model_net_add_host(fx->net, name, MODEL_HOST_INTERNET, &err));
    OK(model_host_set_public_ip(fx->net, h, tn_ip(ip), &err));
    return h;
}

static void zone(Fx *fx, const char *name)
{
    GError *err = NULL;
    ModelDnsZone *z = MUST(model_dns_zone_add(model_net_dns(fx->net), name, &err));
    OK(model_dns_zone_link(z, fx->ml, "ml-link", false, &err));
}

static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;
    fx->net = model_net_new("eastus", NULL);
    ModelPrefix ml = tn_prefix("10.0.0.0/16"), other = tn_prefix("10.1.0.0/16");
    fx->ml = MUST(model_net_add_vnet(fx->net, "vnet-ml", &ml, 1, &err));
    fx->other = MUST(model_net_add_vnet(fx->net, "vnet-other", &other, 1, &err));
    fx->pe = MUST(model_net_add_subnet(fx->net, fx->ml, "snet-pe", tn_prefix("10.0.1.0/24"), &err));
    fx->app =
        MUST(model_net_add_subnet(fx->net, fx->ml, "snet-app", tn_prefix("10.0.2.0/24"), &err));
    fx->se = MUST(model_net_add_subnet(fx->net, fx->ml, "snet-se", tn_prefix("10.0.3.0/24"), &err));
    OK(model_subnet_add_service_endpoint(fx->se, "Microsoft.Storage", &err));
    fx->other_pe =
        MUST(model_net_add_subnet(fx->net, fx->other, "snet-pe", tn_prefix("10.1.1.0/24"), &err));
    fx->vm = vm(fx, "vm", fx->app, "10.0.2.4");
    fx->vm_se = vm(fx, "vm-se", fx->se, "10.0.3.4");
    fx->laptop = internet(fx, "laptop", "198.51.100.7");
    ModelHost *isp = internet(fx, "isp-dns", "8.8.8.8");
    model_host_set_dns_server(isp, MODEL_DNS_SERVER_FORWARDER);
    uint32_t isp_ip = tn_ip("8.8.8.8");
    model_host_set_dns_servers(fx->laptop, &isp_ip, 1);
    ModelHost *azure = MUST(model_net_add_host(fx->net, "azure-dns", MODEL_HOST_SERVICE, &err));
    OK(model_host_set_public_ip(fx->net, azure, tn_ip("168.63.129.16"), &err));
    model_host_set_dns_server(azure, MODEL_DNS_SERVER_AZURE);

    fx->store = MUST(model_net_add_storage_account(fx->net, "mlwsstore", &err));
    fx->kv = MUST(model_net_add_key_vault(fx->net, "mlwskv", &err));
    fx->acr = MUST(model_net_add_container_registry(fx->net, "mlwsacr", MODEL_ACR_PREMIUM, &err));
    fx->ws = MUST(model_net_add_workspace(fx->net, "mlws", GUID, &err));
    OK(model_net_add_managed_services(fx->net, NULL, NULL, &err));
    zone(fx, "privatelink.blob.core.windows.net");
    zone(fx, "privatelink.vaultcore.azure.net");
    zone(fx, "privatelink.api.azureml.ms");
    return fx;
}

static void fx_start(Fx *fx, bool captures)
{
    GError *err = NULL;
    OK(model_net_finalize(fx->net, &err));
    fx->engine = sim_engine_new(7);
    fx->trace = model_trace_new();
    if (captures)
        fx->pcap_dir = g_dir_make_tmp("vnetsim-svc-XXXXXX", NULL);
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
    assert_non_null(v);
    return v;
}

/* TLS and one request to fqdn:443, as the caller `identity` (NULL: an account key). */
static const ModelVerdictRecord *run(Fx *fx, const char *flow, ModelHost *from, const char *fqdn,
                                     const char *identity)
{
    ModelFlowSpec spec = {.name = flow,
                          .from = from,
                          .fqdn = fqdn,
                          .port = 443,
                          .proto = 6,
                          .tls = true,
                          .request = true,
                          .identity = identity};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    return verdict(fx, flow);
}

static const ModelVerdictRecord *profile(Fx *fx, const char *flow)
{
    assert_true(
        model_net_start_data_profiling(fx->net, flow, fx->ws, fx->store, sim_now(fx->engine)) >= 0);
    return verdict(fx, flow);
}

static void expect(const ModelVerdictRecord *v, ModelVerdict verdict, ModelCause cause,
                   const char *at, ModelCause root, const char *root_at)
{
    if (v->verdict != verdict || v->cause != cause || (at && strcmp(v->at, at) != 0) ||
        v->root_cause != root || (root_at && strcmp(v->root_at, root_at) != 0))
        fail_msg("flow %s: got %s %s at %s (root %s at %s; hint %s), want %s %s at %s (root %s "
                 "at %s)",
                 v->flow, model_verdict_name(v->verdict), model_cause_name(v->cause), v->at,
                 model_cause_name(v->root_cause), v->root_at, v->hint, model_verdict_name(verdict),
                 model_cause_name(cause), at ? at : "*", model_cause_name(root),
                 root_at ? root_at : "*");
}

static const ModelStepRecord *find_step(Fx *fx, const char *flow, ModelStage stage,
                                        const char *action, const char *needle)
{
    size_t n;
    const ModelStepRecord *s = model_trace_steps(fx->trace, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].flow, flow) == 0 && s[i].stage == stage &&
            strcmp(s[i].action, action) == 0 && (!needle || strstr(s[i].detail, needle)))
            return &s[i];
    return NULL;
}

static bool has_step(Fx *fx, const char *flow, ModelStage stage, const char *action,
                     const char *needle)
{
    return find_step(fx, flow, stage, action, needle) != NULL;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static ModelNic *store_pe(Fx *fx, const char *name, ModelSubnet *subnet, const char *ip)
{
    GError *err = NULL;
    return MUST(model_service_add_private_endpoint(fx->net, fx->store, name, "blob", subnet,
                                                   tn_ip(ip), &err));
}

static void ws_pe(Fx *fx, ModelSubnet *subnet, const char *ip)
{
    GError *err = NULL;
    MUST(model_service_add_private_endpoint(fx->net, fx->ws, "pe-ws", "amlworkspace", subnet,
                                            tn_ip(ip), &err));
}

static void role(Fx *fx, const char *role, const char *scope)
{
    GError *err = NULL;
    OK(model_net_assign_role(fx->net, "mlws", role, scope, &err));
}

static void access(ModelService *svc, ModelPublicAccess a)
{
    GError *err = NULL;
    OK(model_service_set_public_access(svc, a, &err));
}

/* The documented studio set-up: workspace and storage endpoints in vnet-ml, public access
 * Disabled, the identity's two roles. */
static Fx *profiling_fx(void)
{
    Fx *fx = fx_new();
    store_pe(fx, "pe-blob", fx->pe, "10.0.1.6");
    ws_pe(fx, fx->pe, "10.0.1.5");
    access(fx->store, MODEL_PUBLIC_ACCESS_DISABLED);
    return fx;
}

static void grant_profiling_roles(Fx *fx)
{
    role(fx, "Reader", "mlwsstore/privateEndpoints/pe-blob");
    role(fx, "Storage Blob Data Reader", "mlwsstore");
}

static void trusted(ModelService *svc, bool on)
{
    GError *err = NULL;
    OK(model_service_set_trusted_services(svc, on, &err));
}

/* ---- storage ---- */

static void storage_private_endpoint_serves_with_public_access_disabled(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    store_pe(fx, "pe-blob", fx->pe, "10.0.1.6");
    access(fx->store, MODEL_PUBLIC_ACCESS_DISABLED);
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm, BLOB, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_DNS, "answer", "10.0.1.6 (private"));
    assert_true(
        has_step(fx, "blob", MODEL_STAGE_SERVICE_FIREWALL, "allow", "through private endpoint"));
    fx_free(fx);
}

static void storage_public_access_disabled_refuses_a_public_client(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    store_pe(fx, "pe-blob", fx->pe, "10.0.1.6");
    access(fx->store, MODEL_PUBLIC_ACCESS_DISABLED);
    fx_start(fx, false);
    /* The laptop is on the internet: its resolver's public answer is the only one that
     * could reach anything from there, so DNS is not the root cause (a VPN client asking
     * the same resolver is: tests/test_scn_activity.c, studio-home). */
    const ModelVerdictRecord *v = run(fx, "blob", fx->laptop, BLOB, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    const ModelStepRecord *s =
        find_step(fx, "blob", MODEL_STAGE_SERVICE_FIREWALL, "deny", "HTTP 403");
    assert_non_null(s);
    assert_contains(s->detail, "AuthorizationFailure");
    assert_contains(s->detail, "This request is not authorized to perform this operation.");
    assert_string_equal(s->node, "mlwsstore");
    /* Straight to the address, no DNS involved: the refusal is its own root. */
    ModelFlowSpec spec = {.name = "by-address",
                          .from = fx->laptop,
                          .ip = model_service_public_ip(fx->store),
                          .sni = BLOB,
                          .port = 443,
                          .proto = 6,
                          .tls = true,
                          .request = true};
    model_net_start_flow(fx->net, &spec, sim_now(fx->engine));
    v = verdict(fx, "by-address");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "private endpoint");
    fx_free(fx);
}

static void storage_selected_networks_serves_an_allowed_public_ip(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    access(fx->store, MODEL_PUBLIC_ACCESS_SELECTED);
    OK(model_service_add_ip_rule(fx->store, "198.51.100.7", &err));
    fx_start(fx, false);
    expect(run(fx, "blob", fx->laptop, BLOB, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_SERVICE_FIREWALL, "allow", "IP rule"));
    fx_free(fx);
}

static void storage_ip_rule_has_no_effect_from_the_same_region(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    /* The VM's instance public IP is an Azure address of eastus, the account's region. */
    ModelHost *pub = MUST(model_net_add_host(fx->net, "vm-pip", MODEL_HOST_VM, &err));
    ModelNic *pn = MUST(model_net_add_nic(fx->net, pub, fx->app, "nic0", tn_ip("10.0.2.5"), &err));
    OK(model_nic_set_public_ip(fx->net, pn, tn_ip("52.186.7.7"), &err));
    access(fx->store, MODEL_PUBLIC_ACCESS_SELECTED);
    OK(model_service_add_ip_rule(fx->store, "52.186.7.7", &err));
    OK(model_service_add_ip_rule(fx->store, "198.51.100.7", &err));
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", pub, BLOB, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_SERVICE_FIREWALL_DENIED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "same Azure region");
    assert_true(has_step(fx, "blob", MODEL_STAGE_SERVICE_FIREWALL, "deny", "own region (eastus)"));
    /* The same kind of rule works for a client outside Azure. */
    expect(run(fx, "laptop", fx->laptop, BLOB, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE,
           NULL, MODEL_CAUSE_NONE, NULL);
    fx_free(fx);
}

static void storage_vnet_rule_admits_a_subnet_through_its_service_endpoint(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    access(fx->store, MODEL_PUBLIC_ACCESS_SELECTED);
    OK(model_service_add_vnet_rule(fx->store, fx->se, &err));
    fx_start(fx, false);
    expect(run(fx, "blob", fx->vm_se, BLOB, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_NAT, "keep-source", NULL));
    assert_true(has_step(fx, "blob", MODEL_STAGE_SERVICE_FIREWALL, "allow",
                         "10.0.3.4 from vnet-ml/snet-se through its service endpoint"));
    fx_free(fx);
}

static void storage_vnet_rule_without_service_endpoint_is_denied(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    access(fx->store, MODEL_PUBLIC_ACCESS_SELECTED);
    /* A rule for snet-app, which has no Microsoft.Storage endpoint: its requests leave by
     * default outbound access, from a public address of the region. */
    OK(model_service_add_vnet_rule(fx->store, fx->app, &err));
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "blob", fx->vm, BLOB, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_SERVICE_FIREWALL_DENIED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "blob", MODEL_STAGE_NAT, "snat", "default outbound access"));
    assert_contains(v->hint, "service endpoint");
    fx_free(fx);
}

static void storage_data_role_is_checked_for_an_identity(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    fx_start(fx, false);
    /* An account key: no role to check. */
    expect(run(fx, "key", fx->laptop, BLOB, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    /* A Microsoft Entra identity without a data role: Owner would not do either. */
    const ModelVerdictRecord *v = run(fx, "entra", fx->laptop, BLOB, "alice");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_true(
        has_step(fx, "entra", MODEL_STAGE_IDENTITY, "deny", "AuthorizationPermissionMismatch"));
    assert_contains(v->hint, "Storage Blob Data Reader on mlwsstore to alice");
    fx_free(fx);
}

/* ---- Key Vault, registry, workspace ---- */

static void key_vault_firewall_refuses_with_forbidden_by_firewall(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    access(fx->kv, MODEL_PUBLIC_ACCESS_SELECTED);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "kv", fx->laptop, "mlwskv.vault.azure.net", NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_SERVICE_FIREWALL_DENIED, "mlwskv",
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "kv", MODEL_STAGE_SERVICE_FIREWALL, "deny",
                         "ForbiddenByFirewall \"Client address is not authorized and caller is "
                         "not a trusted service. Client address: 198.51.100.7"));
    /* With public access disabled the vault answers ForbiddenByConnection. */
    access(fx->kv, MODEL_PUBLIC_ACCESS_DISABLED);
    v = run(fx, "kv-off", fx->laptop, "mlwskv.vault.azure.net", NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, "mlwskv", MODEL_CAUSE_NONE,
           NULL);
    assert_true(
        has_step(fx, "kv-off", MODEL_STAGE_SERVICE_FIREWALL, "deny", "ForbiddenByConnection"));
    fx_free(fx);
}

static void registry_network_rules_need_premium(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    ModelService *basic =
        MUST(model_net_add_container_registry(fx->net, "mlwsbasic", MODEL_ACR_BASIC, &err));
    assert_false(model_service_set_public_access(basic, MODEL_PUBLIC_ACCESS_SELECTED, &err));
    assert_non_null(strstr(err->message, "Premium"));
    g_clear_error(&err);
    assert_false(model_service_set_public_access(basic, MODEL_PUBLIC_ACCESS_DISABLED, &err));
    g_clear_error(&err);
    assert_false(model_service_add_ip_rule(basic, "198.51.100.7", &err));
    g_clear_error(&err);
    assert_null(model_service_add_private_endpoint(fx->net, basic, "pe-acr", "registry", fx->pe,
                                                   tn_ip("10.0.1.9"), &err));
    assert_non_null(strstr(err->message, "Premium"));
    g_clear_error(&err);
    /* Premium takes all of it; a refused client gets ACR's DENIED. */
    OK(model_service_set_public_access(fx->acr, MODEL_PUBLIC_ACCESS_SELECTED, &err));
    OK(model_service_add_ip_rule(fx->acr, "203.0.113.0/24", &err));
    fx_start(fx, false);
    expect(run(fx, "acr", fx->laptop, "mlwsacr.azurecr.io", NULL), MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_SERVICE_FIREWALL_DENIED, "mlwsacr", MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "acr", MODEL_STAGE_SERVICE_FIREWALL, "deny",
                         "client with IP '198.51.100.7' is not allowed access"));
    fx_free(fx);
}

static void workspace_with_public_access_disabled_refuses_outside_clients(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    ws_pe(fx, fx->pe, "10.0.1.5");
    access(fx->ws, MODEL_PUBLIC_ACCESS_DISABLED);
    fx_start(fx, false);
    const ModelVerdictRecord *v = run(fx, "api", fx->laptop, API, NULL);
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, "mlws", MODEL_CAUSE_NONE,
           NULL);
    assert_true(
        has_step(fx, "api", MODEL_STAGE_SERVICE_FIREWALL, "deny",
                 "none of the workspaces/registries are accessible from outside of the designated "
                 "private link"));
    /* From the VNet the name resolves to the workspace's private endpoint. */
    expect(run(fx, "inside", fx->vm, API, NULL), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(has_step(fx, "inside", MODEL_STAGE_DNS, "answer", "10.0.1.5 (private"));
    fx_free(fx);
}

/* ---- data profiling ---- */

static void data_profiling_is_allowed_by_a_resource_instance_rule(void **state)
{
    (void)state;
    Fx *fx = profiling_fx();
    GError *err = NULL;
    trusted(fx->store, false);
    OK(model_service_add_resource_instance_rule(
        fx->store, "Microsoft.MachineLearningServices/workspaces", "mlws", &err));
    grant_profiling_roles(fx);
    fx_start(fx, false);
    expect(profile(fx, "profile"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(
        has_step(fx, "profile", MODEL_STAGE_SERVICE_FIREWALL, "allow", "resource instance rule"));
    assert_true(has_step(fx, "profile", MODEL_STAGE_IDENTITY, "allow",
                         "Reader on mlwsstore/privateEndpoints/pe-blob"));
    assert_true(has_step(fx, "profile", MODEL_STAGE_IDENTITY, "allow",
                         "pe-ws and storage private endpoint pe-blob are both in vnet-ml"));
    fx_free(fx);
}

static void data_profiling_is_allowed_by_trusted_services(void **state)
{
    (void)state;
    Fx *fx = profiling_fx();
    grant_profiling_roles(fx);
    fx_start(fx, false);
    expect(profile(fx, "profile"), MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL,
           MODEL_CAUSE_NONE, NULL);
    assert_true(
        has_step(fx, "profile", MODEL_STAGE_SERVICE_FIREWALL, "allow", "trusted Azure services"));
    fx_free(fx);
}

static void data_profiling_without_instance_rule_or_trusted_services_is_refused(void **state)
{
    (void)state;
    Fx *fx = profiling_fx();
    trusted(fx->store, false);
    grant_profiling_roles(fx);
    fx_start(fx, false);
    const ModelVerdictRecord *v = profile(fx, "profile");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_TRUSTED_SERVICE_NOT_ALLOWED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "resource instance rule for Microsoft.MachineLearningServices/"
                             "workspaces mlws");
    fx_free(fx);
}

static void data_profiling_without_reader_on_the_private_endpoint_is_not_authorized(void **state)
{
    (void)state;
    Fx *fx = profiling_fx();
    /* Reader on the account does not reach its private endpoint. */
    role(fx, "Reader", "mlwsstore");
    role(fx, "Storage Blob Data Contributor", "mlwsstore");
    fx_start(fx, false);
    const ModelVerdictRecord *v = profile(fx, "profile");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "Reader role on mlwsstore/privateEndpoints/pe-blob to mlws");
    assert_true(has_step(fx, "profile", MODEL_STAGE_IDENTITY, "deny", "Unable to profile"));
    fx_free(fx);
}

static void data_profiling_without_a_blob_data_role_is_not_authorized(void **state)
{
    (void)state;
    Fx *fx = profiling_fx();
    role(fx, "Reader", "mlwsstore/privateEndpoints/blob"); /* named by sub-resource */
    fx_start(fx, false);
    const ModelVerdictRecord *v = profile(fx, "profile");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "Storage Blob Data Reader on mlwsstore to mlws");
    fx_free(fx);
}

static void data_profiling_with_storage_endpoint_in_another_vnet_fails_validation(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    store_pe(fx, "pe-blob", fx->other_pe, "10.1.1.6");
    ws_pe(fx, fx->pe, "10.0.1.5");
    access(fx->store, MODEL_PUBLIC_ACCESS_DISABLED);
    grant_profiling_roles(fx);
    fx_start(fx, false);
    const ModelVerdictRecord *v = profile(fx, "profile");
    expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PRIVATE_LINK_VALIDATION_FAILED, "mlwsstore",
           MODEL_CAUSE_NONE, NULL);
    assert_contains(v->hint, "in vnet-ml");
    assert_true(has_step(fx, "profile", MODEL_STAGE_SERVICE_FIREWALL, "deny",
                         "storage mlwsstore: vnet-other/snet-pe (pe-blob)"));
    fx_free(fx);
}

static void data_profiling_with_service_endpoints_needs_the_workspace_endpoint_there(void **state)
{
    (void)state;
    for (int placed = 0; placed < 2; placed++) {
        Fx *fx = fx_new();
        GError *err = NULL;
        access(fx->store, MODEL_PUBLIC_ACCESS_SELECTED);
        OK(model_service_add_vnet_rule(fx->store, fx->se, &err));
        /* The workspace endpoint in snet-pe (no storage endpoint there), then in snet-se. */
        ws_pe(fx, placed ? fx->se : fx->pe, placed ? "10.0.3.5" : "10.0.1.5");
        role(fx, "Storage Blob Data Reader", "mlwsstore");
        fx_start(fx, false);
        const ModelVerdictRecord *v = profile(fx, "profile");
        if (placed)
            expect(v, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL, MODEL_CAUSE_NONE, NULL);
        else
            expect(v, MODEL_VERDICT_DROPPED, MODEL_CAUSE_PRIVATE_LINK_VALIDATION_FAILED,
                   "mlwsstore", MODEL_CAUSE_NONE, NULL);
        fx_free(fx);
    }
}

/* ---- configuration Azure refuses ---- */

static void configuration_azure_refuses_is_an_error(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    GError *err = NULL;
    store_pe(fx, "pe-blob", fx->pe, "10.0.1.6");
    assert_false(model_service_add_ip_rule(fx->store, "10.0.2.4", &err));
    assert_non_null(strstr(err->message, "public addresses only"));
    g_clear_error(&err);
    assert_false(model_service_add_ip_rule(fx->store, "198.51.100.7/32", &err));
    assert_non_null(strstr(err->message, "/31 and /32"));
    g_clear_error(&err);
    assert_false(
        model_net_assign_role(fx->net, "mlws", "Storage Blob Data Wizard", "mlwsstore", &err));
    assert_non_null(strstr(err->message, "not a built-in role"));
    g_clear_error(&err);
    assert_false(model_net_assign_role(fx->net, "mlws", "Reader", "nosuchstore", &err));
    assert_non_null(strstr(err->message, "no service"));
    g_clear_error(&err);
    assert_false(model_net_assign_role(fx->net, "mlws", "Reader",
                                       "mlwsstore/privateEndpoints/pe-file", &err));
    assert_non_null(strstr(err->message, "no such private endpoint"));
    g_clear_error(&err);
    assert_false(model_service_add_resource_instance_rule(
        fx->kv, "Microsoft.MachineLearningServices/workspaces", "mlws", &err));
    assert_non_null(strstr(err->message, "storage firewall feature"));
    g_clear_error(&err);
    assert_false(model_service_add_vnet_rule(fx->ws, fx->app, &err));
    assert_non_null(strstr(err->message, "IP addresses only"));
    g_clear_error(&err);
    assert_null(model_service_add_private_endpoint(fx->net, fx->store, "pe-x", "vault", fx->pe,
                                                   tn_ip("10.0.1.20"), &err));
    assert_non_null(strstr(err->message, "no private link sub-resource"));
    g_clear_error(&err);
    assert_null(model_net_add_storage_account(fx->net, "MLWS_Store", &err));
    assert_non_null(strstr(err->message, "lower-case"));
    g_clear_error(&err);
    assert_null(model_net_add_workspace(fx->net, "ws2", "not-a-guid", &err));
    assert_non_null(strstr(err->message, "not a GUID"));
    g_clear_error(&err);
    fx_free(fx);
}

static void service_addresses_come_from_their_service_tags(void **state)
{
    (void)state;
    Fx *fx = fx_new();
    const ModelServiceTags *tags = model_net_service_tags(fx->net);
    const struct {
        ModelService *svc;
        const char *tag;
    } want[] = {
        {fx->store, "Storage.EastUS"},
        {fx->kv, "AzureKeyVault.EastUS"},
        {fx->acr, "AzureContainerRegistry.EastUS"},
        {fx->ws, "AzureMachineLearning.EastUS"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        const char *tag = model_service_tags_name_of(tags, model_service_public_ip(want[i].svc));
        assert_non_null(tag);
        assert_string_equal(tag, want[i].tag);
    }
    assert_string_equal(model_service_fqdn(fx->acr, "data"), "mlwsacr.eastus.data.azurecr.io");
    assert_string_equal(model_service_fqdn(fx->ws, "notebooks"),
                        "ml-mlws-eastus-" GUID ".eastus.notebooks.azure.net");
    assert_string_equal(model_service_identity(fx->ws), "mlws");
    assert_null(model_service_identity(fx->store));
    fx_free(fx);
}

/* ---- captures ---- */

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

/* The first ClientHello of a capture: "sni|ip.dst". */
static char *client_hello(const char *dir, const char *file)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    const char *fields[] = {"tls.handshake.extensions_server_name", "ip.dst"};
    gchar **lines = tshark_fields(path, "tls.handshake.type == 1", fields, 2);
    assert_non_null(lines);
    assert_non_null(lines[0]);
    char *first = g_strdup(lines[0]);
    g_strfreev(lines);
    return first;
}

/* Every capture dissects clean; each ClientHello names the service and goes where the trace
 * says: the private endpoint from the VNet, the public address from outside. */
static void service_captures_name_the_service_and_its_address(void **state)
{
    (void)state;
    if (!tshark_available())
        skip();
    Fx *fx = profiling_fx();
    GError *err = NULL;
    grant_profiling_roles(fx);
    fx_start(fx, true);
    run(fx, "inside", fx->vm, BLOB, NULL);
    run(fx, "outside", fx->laptop, BLOB, NULL);
    profile(fx, "profile");
    OK(model_net_close_captures(fx->net, true, &err));
    assert_clean(fx->pcap_dir);
    char pub[MODEL_IP_STRLEN];
    model_ip_format(model_service_public_ip(fx->store), pub);
    g_autofree char *inside = client_hello(fx->pcap_dir, "vm-nic0.pcap");
    assert_string_equal(inside, BLOB "|10.0.1.6");
    g_autofree char *outside = client_hello(fx->pcap_dir, "laptop-inet0.pcap");
    g_autofree char *want = g_strdup_printf(BLOB "|%s", pub);
    assert_string_equal(outside, want);
    g_autofree char *dp = client_hello(fx->pcap_dir, "data-profiling-inet0.pcap");
    assert_string_equal(dp, want);
    /* The endpoint's own capture holds the request that came through it. */
    g_autofree char *at_pe = client_hello(fx->pcap_dir, "pe-blob.pcap");
    assert_string_equal(at_pe, BLOB "|10.0.1.6");
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(storage_private_endpoint_serves_with_public_access_disabled),
        cmocka_unit_test(storage_public_access_disabled_refuses_a_public_client),
        cmocka_unit_test(storage_selected_networks_serves_an_allowed_public_ip),
        cmocka_unit_test(storage_ip_rule_has_no_effect_from_the_same_region),
        cmocka_unit_test(storage_vnet_rule_admits_a_subnet_through_its_service_endpoint),
        cmocka_unit_test(storage_vnet_rule_without_service_endpoint_is_denied),
        cmocka_unit_test(storage_data_role_is_checked_for_an_identity),
        cmocka_unit_test(key_vault_firewall_refuses_with_forbidden_by_firewall),
        cmocka_unit_test(registry_network_rules_need_premium),
        cmocka_unit_test(workspace_with_public_access_disabled_refuses_outside_clients),
        cmocka_unit_test(data_profiling_is_allowed_by_a_resource_instance_rule),
        cmocka_unit_test(data_profiling_is_allowed_by_trusted_services),
        cmocka_unit_test(data_profiling_without_instance_rule_or_trusted_services_is_refused),
        cmocka_unit_test(data_profiling_without_reader_on_the_private_endpoint_is_not_authorized),
        cmocka_unit_test(data_profiling_without_a_blob_data_role_is_not_authorized),
        cmocka_unit_test(data_profiling_with_storage_endpoint_in_another_vnet_fails_validation),
        cmocka_unit_test(data_profiling_with_service_endpoints_needs_the_workspace_endpoint_there),
        cmocka_unit_test(configuration_azure_refuses_is_an_error),
        cmocka_unit_test(service_addresses_come_from_their_service_tags),
        cmocka_unit_test(service_captures_name_the_service_and_its_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
