/*
 * flows[].activity: each activity expands into its documented parts, sub-flows named
 * "<flow>/<part>" with their own verdicts; the activity's verdict is delivered only when
 * every part is, else the first failing part's; an unknown activity is a file:line:col
 * error with a suggestion. End to end on the shipped scenarios/activities/ files.
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

typedef struct {
    ScnScenario *scn;
    ModelTrace *trace;
} Run;

static Run replay_file(const char *name)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *path =
        g_build_filename(src ? src : ".", "scenarios", "activities", name, NULL);
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

static void test_activity_parts_named(void **state)
{
    (void)state;
    Run r = replay_file("studio-and-profiling.yaml");
    static const char *const studio[] = {"aad", "studio", "arm", "workspace-api", "storage-blob"};
    for (size_t i = 0; i < G_N_ELEMENTS(studio); i++) {
        g_autofree char *n = g_strdup_printf("studio/%s", studio[i]);
        assert_int_equal(verdict(&r, n)->verdict, MODEL_VERDICT_DELIVERED);
    }
    assert_int_equal(verdict(&r, "profile/storage-blob")->verdict, MODEL_VERDICT_DELIVERED);
    run_free(&r);

    r = replay_file("profiling-missing-reader.yaml");
    static const char *const sdk[] = {"sdk/aad",          "sdk/arm",    "sdk/workspace-api",
                                      "sdk/storage-blob", "images/mcr", "images/viennaglobal"};
    for (size_t i = 0; i < G_N_ELEMENTS(sdk); i++)
        assert_int_equal(verdict(&r, sdk[i])->verdict, MODEL_VERDICT_DELIVERED);
    assert_null(model_trace_find_verdict(r.trace, "sdk/studio")); /* the SDK needs no AFD */
    assert_null(model_trace_find_verdict(r.trace, "images/acr")); /* no customImage */
    assert_int_equal(verdict(&r, "sdk")->verdict, MODEL_VERDICT_DELIVERED);
    assert_int_equal(verdict(&r, "images")->verdict, MODEL_VERDICT_DELIVERED);
    run_free(&r);
}

static void test_activity_verdict_aggregation(void **state)
{
    (void)state;
    Run r = replay_file("studio-and-profiling.yaml");
    assert_int_equal(verdict(&r, "studio")->verdict, MODEL_VERDICT_DELIVERED);
    /* The public parts succeed; the first failing part gives the activity its verdict. */
    assert_int_equal(verdict(&r, "studio-home/aad")->verdict, MODEL_VERDICT_DELIVERED);
    assert_int_equal(verdict(&r, "studio-home/studio")->verdict, MODEL_VERDICT_DELIVERED);
    assert_int_equal(verdict(&r, "studio-home/arm")->verdict, MODEL_VERDICT_DELIVERED);
    const ModelVerdictRecord *part = verdict(&r, "studio-home/workspace-api");
    const ModelVerdictRecord *all = verdict(&r, "studio-home");
    assert_int_equal(part->verdict, MODEL_VERDICT_DROPPED);
    assert_int_equal(all->verdict, MODEL_VERDICT_DROPPED);
    assert_int_equal(all->cause, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED);
    assert_string_equal(all->at, "mlws");
    assert_int_equal(all->root_cause, MODEL_CAUSE_DNS_PUBLIC_ANSWER);
    assert_string_equal(all->root_at, "home-dns");
    /* The activity is written after its last part. */
    assert_int_equal(verdict(&r, "studio-home/storage-blob")->verdict, MODEL_VERDICT_DROPPED);
    assert_true(all->t_ns >= verdict(&r, "studio-home/storage-blob")->t_ns);
    run_free(&r);

    r = replay_file("profiling-missing-reader.yaml");
    all = verdict(&r, "profile");
    assert_int_equal(all->verdict, MODEL_VERDICT_DROPPED);
    assert_int_equal(all->cause, MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED);
    assert_string_equal(all->at, "mlwsstore");
    assert_int_equal(verdict(&r, "profile/storage-blob")->cause,
                     MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED);
    run_free(&r);
}

static void expect_error(const char *yaml, const char *message)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (scn)
        fail_msg("loaded, expected: %s", message);
    if (strcmp(error->message, message) != 0)
        fail_msg("got      %s\n  expected %s", error->message, message);
    g_error_free(error);
}

#define BASE                                                                                       \
    "scenario: s\n"                                                                                \
    "vnets:\n"                                                                                     \
    "  - {name: v, addressSpace: [10.0.0.0/16], subnets: [{name: a, addressPrefix: "               \
    "10.0.1.0/24}]}\n"                                                                             \
    "hosts:\n"                                                                                     \
    "  - {name: vm, subnet: v/a, ip: 10.0.1.4}\n"

static void test_activity_errors(void **state)
{
    (void)state;
    expect_error(BASE "managedServices: true\n"
                      "flows:\n"
                      "  - {name: x, activity: studio-acess, from: vm}\n",
                 "t.yaml:8:25: 'activity': unknown activity 'studio-acess' (did you mean "
                 "'studio-access'?)");
    expect_error(BASE "flows:\n"
                      "  - {name: x, activity: docker-images, from: vm}\n",
                 "t.yaml:7:25: activity 'docker-images' reaches the services AML depends on: "
                 "add 'managedServices: true'");
    expect_error(BASE "managedServices: true\n"
                      "flows:\n"
                      "  - {name: x, activity: sdk-access, from: vm}\n",
                 "t.yaml:8:25: activity 'sdk-access' needs a workspace with its storage "
                 "account");
    expect_error(
        BASE "managedServices: true\n"
             "flows:\n"
             "  - {name: x, activity: data-profile, from: vm}\n",
        "t.yaml:8:39: activity 'data-profile' is started by Azure, not by a host: drop 'from'");
    expect_error(BASE "managedServices: true\n"
                      "flows:\n"
                      "  - {name: x, from: vm, to: {ip: 10.0.1.5, port: 1}, customImage: true}\n",
                 "t.yaml:8:54: 'customImage' belongs to an activity: this flow has no 'activity'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activity_parts_named),
        cmocka_unit_test(test_activity_verdict_aggregation),
        cmocka_unit_test(test_activity_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
