/* --service-tags: Microsoft's published JSON replaces the built-in prefixes of the tags it
 * names and adds the others, for every scenario loaded afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "model/scn_load.h"

/* DataFactory.UKNorth is not in the built-in table; tests/data/servicetags-mini.json has it. */
static const char scenario[] =
    "scenario: tags\n"
    "region: eastus\n"
    "vnets:\n"
    "  - name: v\n"
    "    addressSpace: [10.0.0.0/16]\n"
    "    subnets: [{name: s, addressPrefix: 10.0.1.0/24, networkSecurityGroup: n}]\n"
    "networkSecurityGroups:\n"
    "  - name: n\n"
    "    securityRules:\n"
    "      - {name: r, priority: 100, direction: Outbound, access: Allow, protocol: Tcp,\n"
    "         sourceAddressPrefix: '*', sourcePortRange: '*',\n"
    "         destinationAddressPrefix: DataFactory.UKNorth, destinationPortRange: '443'}\n";

static char *data_file(const char *name)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    return g_build_filename(src ? src : ".", "tests", "data", name, NULL);
}

static void published_service_tags_file_adds_tags_to_every_scenario(void **state)
{
    (void)state;
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", scenario, strlen(scenario), &error);
    assert_null(scn); /* unknown without the file */
    assert_non_null(strstr(error->message, "DataFactory.UKNorth"));
    g_clear_error(&error);

    g_autofree char *mini = data_file("servicetags-mini.json");
    scn_set_service_tags_file(mini);
    scn = scn_load_data("t.yaml", scenario, strlen(scenario), &error);
    if (!scn)
        fail_msg("%s", error->message);
    scn_scenario_free(scn);
    scn_set_service_tags_file(NULL);
}

static void malformed_service_tags_file_is_reported_with_its_path(void **state)
{
    (void)state;
    g_autofree char *bad = data_file("servicetags-malformed.json");
    scn_set_service_tags_file(bad);
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", scenario, strlen(scenario), &error);
    scn_set_service_tags_file(NULL);
    assert_null(scn);
    assert_non_null(strstr(error->message, "--service-tags: "));
    assert_non_null(strstr(error->message, "servicetags-malformed.json"));
    g_clear_error(&error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(published_service_tags_file_adds_tags_to_every_scenario),
        cmocka_unit_test(malformed_service_tags_file_is_reported_with_its_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
