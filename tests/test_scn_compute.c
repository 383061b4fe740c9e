/*
 * computes[] and the compute activities: compute instances and clusters (Batch management
 * inbound, the documented outbound, the workspace's resources through their private
 * endpoints), AKS scoring behind an internal or a public load balancer, and image builds
 * by ACR Tasks or by an image-build compute cluster (domain.md §4.3–4.5). End to end on
 * the shipped scenarios/compute/, aks/ and images/ files, plus one located error per class
 * of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "model/scn_load.h"
#include "testnet.h"

typedef struct {
    ScnScenario *scn;
    ModelTrace *trace;
} Run;

static Run replay_file(const char *dir, const char *name)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *path = g_build_filename(src ? src : ".", "scenarios", dir, name, NULL);
    GError *error = NULL;
    Run r = {scn_load(path, &error), model_trace_new()};
    if (!r.scn)
        fail_msg("%s: %s", path, error->message);
    if (scn_replay(r.scn, 1, NULL, r.trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    return r;
}

static void run_free(Run *r)
{
    scn_scenario_free(r->scn);
    model_trace_free(r->trace);
}

static const ModelVerdictRecord *verdict(const Run *r, const char *flow)
{
    const ModelVerdictRecord *v = model_trace_find_verdict(r->trace, flow);
    if (!v)
        fail_msg("no verdict for %s", flow);
    return v;
}

static void expect(const Run *r, const char *flow, ModelVerdict verdict_, ModelCause cause,
                   const char *at)
{
    const ModelVerdictRecord *v = verdict(r, flow);
    if (v->verdict != verdict_ || v->cause != cause || (at && strcmp(v->at, at) != 0))
        fail_msg("%s: got %s %s at %s", flow, model_verdict_name(v->verdict),
                 model_cause_name(v->cause), v->at);
}

/* The parts of compute-cluster / compute-instance, in the documented order: management
 * first, then the outbound requirements and the workspace's resources. */
static void compute_activity_parts_are_management_then_outbound(void **state)
{
    (void)state;
    Run r = replay_file("compute", "cluster-and-instance.yaml");
    static const char *const cluster[] = {
        "batch-mgmt",    "aml-mgmt",    "aad",           "aml",      "aml-18881",
        "batch",         "arm",         "ms-storage",    "afd",      "mcr",
        "workspace-api", "storage-smb", "storage-https", "keyvault", "acr"};
    for (size_t i = 0; i < G_N_ELEMENTS(cluster); i++) {
        g_autofree char *n = g_strdup_printf("train/%s", cluster[i]);
        expect(&r, n, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    }
    /* UDP 5831 is for "create, update, and delete of compute instance" only. */
    assert_null(model_trace_find_verdict(r.trace, "train/aml-5831"));
    expect(&r, "notebook/aml-5831", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "aml-service");
    expect(&r, "train", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    run_free(&r);
}

/* domain.md §4.3: "If a subnet NSG or firewall denies Batch inbound, the node is marked
 * unusable" — the compute activity carries the management verdict, whatever else works. */
static void compute_activity_fails_as_unusable_when_the_subnet_nsg_blocks_batch(void **state)
{
    (void)state;
    Run r = replay_file("compute", "cluster-and-instance.yaml");
    expect(&r, "train-locked/batch-mgmt/batch-29876", MODEL_VERDICT_DROPPED,
           MODEL_CAUSE_NSG_DENIED_IN, "nsg-locked/DenyAllInBound");
    expect(&r, "train-locked/aad", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    const ModelVerdictRecord *v = verdict(&r, "train-locked");
    expect(&r, "train-locked", MODEL_VERDICT_DROPPED, MODEL_CAUSE_COMPUTE_NODE_UNUSABLE,
           "nsg-locked/DenyAllInBound");
    assert_int_equal(v->root_cause, MODEL_CAUSE_NSG_DENIED_IN);
    assert_non_null(strstr(v->hint, "29876"));
    run_free(&r);
}

/* how-to-secure-inferencing-vnet.md: the internal load balancer is reached from the VNet
 * and joined networks; a public one from outside only through an NSG rule for the scoring
 * port. */
static void aks_scoring_follows_the_load_balancer_and_the_subnet_nsg(void **state)
{
    (void)state;
    Run r = replay_file("aks", "internal-vs-public-lb.yaml");
    expect(&r, "score-vnet", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(&r, "score-vpn", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(&r, "score-public", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(&r, "score-closed", MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN,
           "nsg-aks-closed/DenyAllInBound");
    expect(&r, "score-closed/scoring", MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_IN,
           "nsg-aks-closed/DenyAllInBound");
    run_free(&r);
}

/* domain.md §4.5: "When the workspace ACR is behind the VNet, AML cannot build images with
 * serverless compute: set an image-build compute cluster". */
static void image_build_needs_a_compute_cluster_when_the_registry_is_behind_the_vnet(void **state)
{
    (void)state;
    Run r = replay_file("images", "serverless-build.yaml");
    expect(&r, "build/base-image", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "mcr");
    expect(&r, "build/acr-push", MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED,
           "mlwsacr");
    const ModelVerdictRecord *v = verdict(&r, "build");
    expect(&r, "build", MODEL_VERDICT_DROPPED, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED, "mlwsacr");
    assert_non_null(strstr(v->hint, "imageBuildCompute"));
    run_free(&r);

    r = replay_file("images", "serverless-build-open.yaml");
    expect(&r, "build", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    run_free(&r);

    r = replay_file("images", "image-build-compute.yaml");
    expect(&r, "build/acr-push", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "mlwsacr");
    expect(&r, "build", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    expect(&r, "pull-closed", MODEL_VERDICT_DROPPED, MODEL_CAUSE_NSG_DENIED_OUT,
           "nsg-closed/DenyInternetOutbound");
    expect(&r, "pull-custom/acr", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "mlwsacr");
    /* The layers come from the data endpoint, which the private endpoint serves too. */
    expect(&r, "pull-custom/acr-data", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "mlwsacr");
    run_free(&r);
}

/* An AKS name as a destination is its scoring endpoint: a public load balancer's address
 * from a VM in a VNet too (it has no private one); an internal frontend given at the
 * subnet's first free address leaves the nodes the next ones. (Found in review.) */
static void aks_name_means_the_scoring_endpoint_public_or_internal(void **state)
{
    (void)state;
    static const char yaml[] =
        "scenario: aks-names\n"
        "vnets: [{name: vnet, addressSpace: [10.1.0.0/16], subnets: [\n"
        "  {name: snet, addressPrefix: 10.1.1.0/24}, {name: snet2, addressPrefix: 10.1.2.0/24},\n"
        "  {name: snet3, addressPrefix: 10.1.3.0/24}]}]\n"
        "hosts: [{name: vm, subnet: vnet/snet2, ip: 10.1.2.4}]\n"
        "computes:\n"
        "  - {name: aks, type: aks, subnet: vnet/snet}\n"
        "  - {name: aks-in, type: aks, subnet: vnet/snet3, loadBalancer: internal,\n"
        "     scoringIp: 10.1.3.4}\n"
        "flows:\n"
        "  - {name: by-name, from: vm, to: {host: aks, port: 80}, expect: delivered}\n"
        "  - {name: by-name-in, from: vm, to: {host: aks-in, port: 80}, expect: delivered}\n";
    GError *error = NULL;
    Run r = {scn_load_data("t.yaml", yaml, strlen(yaml), &error), model_trace_new()};
    if (!r.scn)
        fail_msg("load: %s", error->message);
    ModelNet *net = scn_scenario_net(r.scn);
    ModelAks *in = model_net_find_aks(net, "aks-in");
    assert_int_equal(model_aks_scoring_ip(in), tn_ip("10.1.3.4"));
    if (scn_replay(r.scn, 1, NULL, r.trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    expect(&r, "by-name", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    assert_true(strncmp(verdict(&r, "by-name")->at, "aks-node", 8) == 0);
    expect(&r, "by-name-in", MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, NULL);
    run_free(&r);
}

/* ---- errors: file:line:col, one per class ---- */

#define BASE                                                                                       \
    "scenario: t\n"                                                                                \
    "vnets: [{name: v, addressSpace: [10.1.0.0/16],\n"                                             \
    "         subnets: [{name: a, addressPrefix: 10.1.1.0/24}]}]\n"

static void expect_error(const char *yaml, const char *message)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (scn)
        fail_msg("loaded, expected: %s", message);
    if (strcmp(error->message, message) != 0)
        fail_msg("\n  got      %s\n  expected %s", error->message, message);
    g_error_free(error);
}

static void compute_errors_are_located(void **state)
{
    (void)state;
    expect_error(BASE "computes: [{name: c, type: clustr, subnet: v/a}]\n",
                 "t.yaml:4:28: 'type': unknown value 'clustr' (did you mean 'cluster'?)");
    expect_error(BASE "computes: [{name: c, type: cluster}]\n",
                 "t.yaml:4:12: compute 'c' needs 'subnet'");
    expect_error(BASE "computes: [{name: c, type: cluster, subnet: v/b}]\n",
                 "t.yaml:4:45: subnet 'v/b' is not defined (did you mean 'v/a'?)");
    expect_error(BASE "computes: [{name: c, type: instance, subnet: v/a, nodes: 2}]\n",
                 "t.yaml:4:51: 'nodes': a compute instance is one node; use type: cluster for "
                 "more");
    expect_error(BASE "computes: [{name: c, type: cluster, subnet: v/a, scoringPort: 80}]\n",
                 "t.yaml:4:50: 'scoringPort' applies to type aks only");
    expect_error(BASE "computes: [{name: c, type: aks, subnet: v/a, publicIp: false}]\n",
                 "t.yaml:4:46: 'publicIp' applies to compute instances and clusters, not to AKS");
    expect_error(BASE "computes: [{name: c, type: aks, subnet: v/a, serviceCidr: 10.1.0.0/16,\n"
                      "             dnsServiceIp: 10.1.0.10}]\n",
                 "t.yaml:4:19: AKS 'c': the Kubernetes service address range 10.1.0.0/16 "
                 "overlaps subnet v/a (10.1.1.0/24); it must not overlap any subnet IP range "
                 "(how-to-secure-inferencing-vnet.md)");
    expect_error(BASE "hosts: [{name: c-node0, kind: vm, subnet: v/a, ip: 10.1.1.4}]\n"
                      "computes: [{name: c, type: cluster, subnet: v/a}]\n",
                 "t.yaml:5:19: compute 'c' names its node 'c-node0', already the name of the "
                 "object defined at line 4");
    expect_error(BASE "workspace: {name: mlws, id: 6b5c8a44-0d2e-4d7e-9a3c-0123456789ab,\n"
                      "            imageBuildCompute: ci, storage: {name: mlwsstore},\n"
                      "            containerRegistry: {name: mlwsacr}}\n"
                      "computes: [{name: ci, type: instance, subnet: v/a}]\n",
                 "t.yaml:5:32: 'imageBuildCompute': 'ci' is a compute instance; images are "
                 "built on a compute cluster (CPU SKU)");
    expect_error(BASE "workspace: {name: mlws, id: 6b5c8a44-0d2e-4d7e-9a3c-0123456789ab,\n"
                      "            imageBuildCompute: nope, storage: {name: mlwsstore}}\n",
                 "t.yaml:5:32: 'imageBuildCompute': compute 'nope' is not defined (add it "
                 "under 'computes')");
    expect_error(BASE "computes: [{name: c, type: cluster, subnet: v/a, nodes: 0}]\n"
                      "flows: [{name: f, from: c, to: {ip: 10.1.1.9, port: 22}}]\n",
                 "t.yaml:5:25: 'c' has no node to send from (a compute cluster at 0 nodes: give "
                 "it nodes)");
}

static void compute_activity_errors_are_located(void **state)
{
    (void)state;
#define WS                                                                                         \
    "workspace: {name: mlws, id: 6b5c8a44-0d2e-4d7e-9a3c-0123456789ab, storage: {name: "           \
    "mlwsstore}}\n"                                                                                \
    "managedServices: true\n"
    expect_error(BASE WS "computes: [{name: c, type: cluster, subnet: v/a}]\n"
                         "flows: [{name: f, activity: compute-instance, compute: c}]\n",
                 "t.yaml:7:56: 'compute': 'c' is not a compute instance");
    expect_error(BASE WS "computes: [{name: c, type: cluster, subnet: v/a, nodes: 0}]\n"
                         "flows: [{name: f, activity: compute-cluster, compute: c}]\n",
                 "t.yaml:7:55: 'compute': cluster 'c' has 0 nodes: nothing runs to be managed "
                 "(give it nodes)");
    expect_error(BASE WS "flows: [{name: f, activity: compute-cluster}]\n",
                 "t.yaml:6:9: activity 'compute-cluster' needs 'compute'");
    expect_error(BASE WS "flows: [{name: f, activity: compute-cluster, compute: x}]\n",
                 "t.yaml:6:55: 'compute': no compute named 'x' (define it under 'computes')");
    expect_error(BASE WS "computes: [{name: c, type: cluster, subnet: v/a}]\n"
                         "flows: [{name: f, activity: compute-cluster, compute: c, from: c}]\n",
                 "t.yaml:7:58: activity 'compute-cluster' is started by Azure, not by a host: "
                 "drop 'from'");
    expect_error(BASE WS "computes: [{name: c, type: cluster, subnet: v/a}]\n"
                         "flows: [{name: f, activity: aks-inference, from: c, compute: c}]\n",
                 "t.yaml:7:62: 'compute': 'c' is not an AKS cluster (type: aks)");
    expect_error(BASE WS "flows: [{name: f, activity: studio-access, from: x, https: true}]\n",
                 "t.yaml:6:53: 'https' applies to the aks-inference activity only");
    expect_error(BASE "managedServices: true\n"
                      "flows: [{name: f, activity: image-build}]\n",
                 "t.yaml:5:29: activity 'image-build' pushes to the workspace's "
                 "containerRegistry: the workspace has none");
#undef WS
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compute_activity_parts_are_management_then_outbound),
        cmocka_unit_test(compute_activity_fails_as_unusable_when_the_subnet_nsg_blocks_batch),
        cmocka_unit_test(aks_scoring_follows_the_load_balancer_and_the_subnet_nsg),
        cmocka_unit_test(image_build_needs_a_compute_cluster_when_the_registry_is_behind_the_vnet),
        cmocka_unit_test(aks_name_means_the_scoring_endpoint_public_or_internal),
        cmocka_unit_test(compute_errors_are_located),
        cmocka_unit_test(compute_activity_errors_are_located),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
