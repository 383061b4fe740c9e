/*
 * Several workspaces in one scenario (`workspaces:`, domain.md §5 configuration 5): each
 * with its own storage and registry, named by the activities and computes that use one
 * (`workspace: NAME`), defaulting to the only one; ambiguity, unknown names, duplicates
 * and `workspace` given with `workspaces` refused at their file:line:col; and the shipped
 * hybrid-zones scenario end to end.
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

#define GUID_A "11111111-1111-4111-8111-111111111111"
#define GUID_B "22222222-2222-4222-8222-222222222222"

/* Two public workspaces, a cluster each, one VM. Line numbers matter to the error tests. */
static const char two_yaml[] =
    "scenario: two\n" /* 1 */
    "vnets:\n"        /* 2 */
    "  - {name: v, addressSpace: [10.0.0.0/16], subnets: [{name: s, addressPrefix: "
    "10.0.1.0/24}]}\n"                                                       /* 3 */
    "workspaces:\n"                                                          /* 4 */
    "  - name: wsa\n"                                                        /* 5 */
    "    id: " GUID_A "\n"                                                   /* 6 */
    "    storage: {name: wsastore}\n"                                        /* 7 */
    "    containerRegistry: {name: wsaacr}\n"                                /* 8 */
    "  - name: wsb\n"                                                        /* 9 */
    "    id: " GUID_B "\n"                                                   /* 10 */
    "    storage: {name: wsbstore}\n"                                        /* 11 */
    "    containerRegistry: {name: wsbacr}\n"                                /* 12 */
    "    imageBuildCompute: cb\n"                                            /* 13 */
    "managedServices: true\n"                                                /* 14 */
    "computes:\n"                                                            /* 15 */
    "  - {name: ca, type: cluster, subnet: v/s, nodes: 1, workspace: wsa}\n" /* 16 */
    "  - {name: cb, type: cluster, subnet: v/s, nodes: 1, workspace: wsb}\n" /* 17 */
    "hosts:\n"                                                               /* 18 */
    "  - {name: vm, subnet: v/s, ip: 10.0.1.4}\n"                            /* 19 */
    "flows:\n"                                                               /* 20 */
    "  - {name: sdk-a, activity: sdk-access, workspace: wsa, from: vm}\n"    /* 21 */
    "  - {name: sdk-b, activity: sdk-access, workspace: wsb, from: vm}\n"    /* 22 */
    "  - {name: img-b, activity: docker-images, customImage: true, workspace: wsb, "
    "from: vm}\n"                                                    /* 23 */
    "  - {name: build-a, activity: image-build, workspace: wsa}\n"   /* 24 */
    "  - {name: build-b, activity: image-build, workspace: wsb}\n"   /* 25 */
    "  - {name: train-b, activity: compute-cluster, compute: cb}\n"; /* 26 */

/* `text` with its one occurrence of `old` replaced by `new_text`; g_free. */
static char *replace(const char *text, const char *old, const char *new_text)
{
    const char *at = strstr(text, old);
    assert_non_null(at);
    assert_null(strstr(at + 1, old));
    return g_strdup_printf("%.*s%s%s", (int)(at - text), text, new_text, at + strlen(old));
}

/* Loads `yaml` as t.yaml and asserts the exact error message and its class. */
static void expect_error(const char *yaml, ScnErrorCode code, const char *message)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (scn)
        fail_msg("loaded, expected: %s", message);
    if (strcmp(error->message, message) != 0 || !g_error_matches(error, SCN_ERROR, (gint)code))
        fail_msg("got      %s (code %d)\n  expected %s (code %d)", error->message, error->code,
                 message, (int)code);
    g_error_free(error);
}

static void two_workspaces_load_and_activities_choose(void **state)
{
    (void)state;
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", two_yaml, sizeof two_yaml - 1, &error);
    if (!scn)
        fail_msg("load: %s", error->message);
    ModelNet *net = scn_scenario_net(scn);
    ModelService *wsa = model_net_find_service(net, "wsa"),
                 *wsb = model_net_find_service(net, "wsb");
    assert_non_null(wsa);
    assert_non_null(wsb);
    /* Each compute belongs to the workspace it names; the image-build compute to its own. */
    assert_ptr_equal(model_compute_workspace(model_net_find_compute(net, "ca")), wsa);
    assert_ptr_equal(model_compute_workspace(model_net_find_compute(net, "cb")), wsb);
    assert_null(model_service_image_build_compute(wsa));
    assert_ptr_equal(model_service_image_build_compute(wsb), model_net_find_compute(net, "cb"));

    ModelTrace *trace = model_trace_new();
    if (scn_replay(scn, 1, NULL, trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    /* Each activity reaches its own workspace's API, storage and registry, and nothing of
     * the other's. */
    assert_true(tn_has_step(trace, "sdk-a/workspace-api", MODEL_STAGE_DNS, NULL, "query", GUID_A));
    assert_true(
        tn_has_step(trace, "sdk-a/storage-blob", MODEL_STAGE_DNS, NULL, "query", "wsastore.blob"));
    assert_true(tn_has_step(trace, "sdk-b/workspace-api", MODEL_STAGE_DNS, NULL, "query", GUID_B));
    assert_true(
        tn_has_step(trace, "sdk-b/storage-blob", MODEL_STAGE_DNS, NULL, "query", "wsbstore.blob"));
    assert_true(tn_has_step(trace, "img-b/acr", MODEL_STAGE_DNS, NULL, "query", "wsbacr.azurecr"));
    assert_int_equal(
        tn_count_steps(trace, "sdk-b/workspace-api", MODEL_STAGE_DNS, NULL, "query", GUID_A), 0);
    /* wsb builds on cb's node, which resolves the registry through the VNet; wsa's build is
     * serverless (ACR Tasks resolves nothing in the scenario). */
    assert_true(
        tn_has_step(trace, "build-b/acr-push", MODEL_STAGE_DNS, NULL, "query", "wsbacr.azurecr"));
    assert_int_equal(
        tn_count_steps(trace, "build-a/acr-push", MODEL_STAGE_DNS, NULL, "query", NULL), 0);
    /* The compute's outbound reaches its workspace's storage. */
    assert_true(
        tn_has_step(trace, "train-b/storage-https", MODEL_STAGE_DNS, NULL, "query", "wsbstore"));
    model_trace_free(trace);
    scn_scenario_free(scn);
}

/* One `workspace:` still loads as before, and `workspace: NAME` may name it. */
static void one_workspace_is_the_default(void **state)
{
    (void)state;
    g_autofree char *one = replace(two_yaml,
                                   "workspaces:\n"
                                   "  - name: wsa\n"
                                   "    id: " GUID_A "\n"
                                   "    storage: {name: wsastore}\n"
                                   "    containerRegistry: {name: wsaacr}\n"
                                   "  - name: wsb\n",
                                   "workspace:\n"
                                   "    name: wsb\n"
                                   "\n\n\n\n");
    g_autofree char *a = replace(one, "nodes: 1, workspace: wsa}", "nodes: 1}");
    g_autofree char *b = replace(a, "workspace: wsa, from: vm}", "from: vm}");
    g_autofree char *c = replace(b, "{name: build-a, activity: image-build, workspace: wsa}",
                                 "{name: build-a, activity: image-build}");
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", c, strlen(c), &error);
    if (!scn)
        fail_msg("load: %s", error->message);
    ModelNet *net = scn_scenario_net(scn);
    ModelService *wsb = model_net_find_service(net, "wsb");
    assert_ptr_equal(model_compute_workspace(model_net_find_compute(net, "ca")), wsb);
    ModelTrace *trace = model_trace_new();
    if (scn_replay(scn, 1, NULL, trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    assert_true(tn_has_step(trace, "sdk-a/workspace-api", MODEL_STAGE_DNS, NULL, "query", GUID_B));
    model_trace_free(trace);
    scn_scenario_free(scn);

    /* A name that is not the workspace's is still an error. */
    g_autofree char *d = replace(c, "{name: build-a, activity: image-build}",
                                 "{name: build-a, activity: image-build, workspace: wsx}");
    expect_error(d, SCN_ERROR_REFERENCE,
                 "t.yaml:24:55: workspace 'wsx' is not defined (did you mean 'wsb'?)");
}

static void ambiguity_and_unknown_names_are_located(void **state)
{
    (void)state;
    /* An activity that reaches a workspace's resources, without a name. */
    g_autofree char *a = replace(two_yaml, "activity: sdk-access, workspace: wsa, from: vm",
                                 "activity: sdk-access, from: vm");
    expect_error(a, SCN_ERROR_REFERENCE,
                 "t.yaml:21:29: this scenario has 2 workspaces: name one with 'workspace: "
                 "NAME'");
    /* A compute instance or cluster, without a name: located at the compute's name. */
    g_autofree char *b = replace(two_yaml, "nodes: 1, workspace: wsa}", "nodes: 1}");
    expect_error(b, SCN_ERROR_REFERENCE,
                 "t.yaml:16:12: this scenario has 2 workspaces: name one with 'workspace: "
                 "NAME'");
    /* Unknown names, with a suggestion when one is close. */
    g_autofree char *c =
        replace(two_yaml, "sdk-access, workspace: wsb", "sdk-access, workspace: wsc");
    expect_error(c, SCN_ERROR_REFERENCE,
                 "t.yaml:22:52: workspace 'wsc' is not defined (did you mean 'wsa'?)");
    g_autofree char *d =
        replace(two_yaml, "nodes: 1, workspace: wsb}", "nodes: 1, workspace: research}");
    expect_error(d, SCN_ERROR_REFERENCE, "t.yaml:17:65: workspace 'research' is not defined");
}

static void workspace_key_where_it_changes_nothing_is_refused(void **state)
{
    (void)state;
    /* A plain flow. */
    g_autofree char *a =
        replace(two_yaml, "  - {name: sdk-a, activity: sdk-access, workspace: wsa, from: vm}\n",
                "  - {name: sdk-a, from: vm, workspace: wsa, to: {ip: 10.0.1.5, port: 22}}\n");
    expect_error(a, SCN_ERROR_SCHEMA,
                 "t.yaml:21:29: 'workspace' belongs to an activity: this flow has no 'activity'");
    /* docker-images from MCR, and a compute activity (the compute names it). */
    g_autofree char *b = replace(two_yaml, "activity: docker-images, customImage: true,",
                                 "activity: docker-images,");
    expect_error(b, SCN_ERROR_SCHEMA,
                 "t.yaml:23:44: activity 'docker-images' pulls from MCR, no workspace's "
                 "registry, unless customImage: true: drop 'workspace'");
    g_autofree char *c = replace(two_yaml, "compute: cb}", "compute: cb, workspace: wsb}");
    expect_error(c, SCN_ERROR_SCHEMA,
                 "t.yaml:26:61: activity 'compute-cluster' reaches no workspace's own "
                 "resources (its compute names the workspace: give 'workspace' there): drop "
                 "'workspace'");
    /* An AKS cluster. */
    g_autofree char *d = replace(two_yaml, "  - {name: cb, type: cluster, subnet: v/s, nodes: 1,",
                                 "  - {name: cb, type: aks, subnet: v/s, nodes: 1,");
    expect_error(d, SCN_ERROR_SCHEMA,
                 "t.yaml:17:50: 'workspace' applies to compute instances and clusters, not to "
                 "AKS");
}

static void duplicates_and_both_forms_are_refused(void **state)
{
    (void)state;
    /* `workspace` and `workspaces` together. */
    g_autofree char *a = replace(two_yaml, "managedServices: true\n",
                                 "managedServices: true\n"
                                 "workspace: {name: wsz, id: " GUID_A "}\n");
    expect_error(a, SCN_ERROR_SCHEMA,
                 "t.yaml:4:1: give 'workspace' (one) or 'workspaces' (a list), not both");
    /* The same id twice. */
    g_autofree char *c = replace(two_yaml, "    id: " GUID_B "\n", "    id: " GUID_A "\n");
    expect_error(c, SCN_ERROR_REFERENCE,
                 "t.yaml:10:9: 'id': workspace 'wsa' (line 5) already has id " GUID_A
                 ": every workspace has its own");
    /* The same name twice. */
    g_autofree char *d = replace(two_yaml, "  - name: wsb\n", "  - name: wsa\n");
    expect_error(d, SCN_ERROR_REFERENCE,
                 "t.yaml:9:11: 'wsa' is already the name of the object defined at line 5: "
                 "hosts, gateways, bastions, services and endpoints share one namespace");
    /* An image-build cluster of the other workspace. */
    g_autofree char *f = replace(two_yaml, "imageBuildCompute: cb", "imageBuildCompute: ca");
    expect_error(f, SCN_ERROR_REFERENCE,
                 "t.yaml:13:24: 'imageBuildCompute': 'ca' belongs to workspace 'wsa', not 'wsb' "
                 "(its 'workspace' key)");
    /* A list, not a mapping. */
    expect_error("scenario: x\nworkspaces: {name: wsa}\n", SCN_ERROR_SCHEMA,
                 "t.yaml:2:13: 'workspaces' must be a list, not a mapping");
}

/* scenarios/network-configs/hybrid-zones.yaml: every expectation holds. */
static void hybrid_zones_scenario_passes(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *path = g_build_filename(src ? src : "../..", "scenarios", "network-configs",
                                             "hybrid-zones.yaml", NULL);
    GError *error = NULL;
    ScnScenario *scn = scn_load(path, &error);
    if (!scn)
        fail_msg("load: %s", error->message);
    ModelTrace *trace = model_trace_new();
    if (scn_replay(scn, 1, NULL, trace, &error) != 0)
        fail_msg("replay: %s", error->message);
    size_t judged = 0;
    for (size_t i = 0; i < scn_scenario_n_flows(scn); i++) {
        const ScnFlow *f = scn_scenario_flow(scn, i);
        if (!f->expect.set)
            continue;
        g_autoptr(GString) got = g_string_new(NULL);
        g_autoptr(GString) want = g_string_new(NULL);
        if (scn_judge(f, model_trace_find_verdict(trace, f->name), got, want) != SCN_JUDGE_PASS)
            fail_msg("flow %s: expected %s, got %s", f->name, want->str, got->str);
        judged++;
    }
    assert_true(judged >= 10);
    /* The two workspaces' storages are their own: studio from the exploration zone reads
     * mlexplorestore, profiling of the sensitive one mlwsstore. */
    assert_true(tn_has_step(trace, "explore-studio/storage-blob", MODEL_STAGE_DNS, NULL, "query",
                            "mlexplorestore"));
    model_trace_free(trace);
    scn_scenario_free(scn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_workspaces_load_and_activities_choose),
        cmocka_unit_test(one_workspace_is_the_default),
        cmocka_unit_test(ambiguity_and_unknown_names_are_located),
        cmocka_unit_test(workspace_key_where_it_changes_nothing_is_refused),
        cmocka_unit_test(duplicates_and_both_forms_are_refused),
        cmocka_unit_test(hybrid_zones_scenario_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
