/*
 * test_diff.c — `vnetsim diff`: a planned NSG change that breaks a required flow exits 1;
 * one that only opens a port exits 0 and --all-pairs reports the pair; two files compared
 * side by side; patches (the .patch.yaml files of tests/data/diff) merged on the YAML tree with
 * their errors located in the file that holds the offending node; a firewall policy change
 * reported on exactly the flows it touches.
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
#include "tools/cli_why.h"

static char *src_path(const char *rel)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    return g_build_filename(src ? src : ".", rel, NULL);
}

typedef struct {
    int rc;
    char *out, *err;
} Result;

static Result diff(const char *base, const char *changed, const char *patch, bool all_pairs)
{
    g_autofree char *b = src_path(base);
    g_autofree char *c = changed ? src_path(changed) : NULL;
    g_autofree char *p = patch ? src_path(patch) : NULL;
    CliDiffOptions opt = {.base = b, .changed = c, .patch = p, .all_pairs = all_pairs};
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *o = open_memstream(&buf, &len), *e = open_memstream(&ebuf, &elen);
    Result r = {.rc = cli_diff(&opt, o, e)};
    fclose(o);
    fclose(e);
    r.out = g_strdup(buf);
    r.err = g_strdup(ebuf);
    free(buf);
    free(ebuf);
    return r;
}

static void result_clear(Result *r)
{
    g_free(r->out);
    g_free(r->err);
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

#define NSG_ORDER "scenarios/basics/nsg-order.yaml"

static void breaking_change_exits_1(void **state)
{
    (void)state;
    Result r = diff(NSG_ORDER, NULL, "tests/data/diff/break-sql.patch.yaml", false);
    if (r.rc != CLI_EXIT_FAILED)
        fail_msg("exit %d:\n%s%s", r.rc, r.out, r.err);
    assert_has(r.out, "! web1-db-sql: REGRESSION, a required flow is no longer delivered\n"
                      "    base:    delivered at db1\n"
                      "    changed: dropped NSG_DENIED_IN at nsg-db/AllowSqlFromWeb\n");
    /* The path shows where it changed: the rule that allowed now drops. */
    assert_has(r.out, "    + db1 nsg-in nsg-db/AllowSqlFromWeb drop\n");
    assert_has(r.out, "    - db1 nsg-in nsg-db/AllowSqlFromWeb allow\n");
    assert_has(r.out, "1 flow changed, 1 regression\n");
    result_clear(&r);
}

static void opening_change_found_by_all_pairs(void **state)
{
    (void)state;
    Result r = diff(NSG_ORDER, NULL, "tests/data/diff/open-smb.patch.yaml", true);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    /* No flow of the scenario uses 445: only the probes see the opening. */
    assert_has(r.out, "0 flows changed, 0 regressions\n");
    assert_has(r.out, "  opened laptop -> web1 (52.191.1.10) Tcp/445: base dropped NSG_DENIED_IN "
                      "at nsg-web/DenyAllInBound; changed dropped NO_LISTENER at web1\n");
    assert_has(r.out, "  1 pair newly opened, 0 newly closed\n");
    result_clear(&r);
    /* Without --all-pairs the change is invisible. */
    r = diff(NSG_ORDER, NULL, "tests/data/diff/open-smb.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    assert_string_equal(r.out, "0 flows changed, 0 regressions\n");
    result_clear(&r);
}

#define HUB_SPOKE "scenarios/network-configs/hub-spoke-firewall.yaml"

/* A firewall policy change shows up on the flows it touches and on no other: every flow
 * draws its jitter, ISNs and TLS randoms from its own stream, and each host its own
 * ports, so a flow that now ends sooner moves nobody else's packets. */
static void firewall_policy_change_touches_only_its_flows(void **state)
{
    (void)state;
    Result r = diff(HUB_SPOKE, NULL, "tests/data/diff/firewall-drop-pypi.patch.yaml", false);
    if (r.rc != CLI_EXIT_FAILED)
        fail_msg("exit %d:\n%s%s", r.rc, r.out, r.err);
    assert_has(r.out, "! spoke-pypi: REGRESSION, a required flow is no longer delivered\n"
                      "    base:    delivered at pypi\n"
                      "    changed: dropped FIREWALL_DENIED at azfw\n");
    assert_has(r.out, "    - azfw firewall azfw/app-packages/pypi allow\n");
    assert_has(r.out, "1 flow changed, 1 regression\n");
    result_clear(&r);

    r = diff(HUB_SPOKE, NULL, "tests/data/diff/firewall-allow-mcr.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    assert_has(r.out, "~ spoke-images/mcr\n"
                      "    base:    dropped FIREWALL_DENIED at azfw\n"
                      "    changed: delivered at mcr\n");
    assert_has(r.out, "    + azfw firewall azfw/net-azure-services/mcr allow\n");
    assert_has(r.out, "2 flows changed, 0 regressions\n"); /* mcr and mcr-data */
    result_clear(&r);
}

/* A flow's ports come from its name, not from how many flows its host started before it:
 * without score-vnet, scoring-by-name (same VM, same internal load balancer) keeps its
 * 5-tuple and so its backend. */
static void removing_a_flow_changes_no_other(void **state)
{
    (void)state;
    Result r = diff("scenarios/aks/internal-vs-public-lb.yaml", NULL,
                    "tests/data/diff/aks-remove-flow.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    assert_has(r.out, "- score-vnet (only in the base configuration): delivered\n");
    assert_has(r.out, "2 flows changed, 0 regressions\n"); /* score-vnet and its part */
    result_clear(&r);
}

/* The policy lives in a pasted az JSON file: the patch edits its rules all the same. */
static void patch_edits_a_firewall_policy_file(void **state)
{
    (void)state;
    Result r = diff("tests/data/diff/fw-file/scenario.yaml", NULL,
                    "tests/data/diff/fw-file-drop-pypi.patch.yaml", false);
    if (r.rc != CLI_EXIT_FAILED)
        fail_msg("exit %d:\n%s%s", r.rc, r.out, r.err);
    assert_has(r.out, "! vm-pypi: REGRESSION, a required flow is no longer delivered\n");
    assert_has(r.out, "    changed: dropped FIREWALL_DENIED at azfw\n");
    result_clear(&r);
}

static void closing_change_reported(void **state)
{
    (void)state;
    /* The reverse change closes the pair. */
    g_autofree char *dir = g_dir_make_tmp("vnetsim-diff-XXXXXX", NULL);
    g_autofree char *patch = g_build_filename(dir, "deny.patch.yaml", NULL);
    assert_true(g_file_set_contents(
        patch,
        "networkSecurityGroups:\n"
        "  - name: nsg-web\n"
        "    securityRules:\n"
        "      replace:\n"
        "        - {name: AllowHttpsFromInternet, priority: 100, direction: Inbound,\n"
        "           access: Deny, protocol: Tcp, sourceAddressPrefix: Internet,\n"
        "           sourcePortRange: '*', destinationAddressPrefix: '*',\n"
        "           destinationPortRange: '443'}\n",
        -1, NULL));
    g_autofree char *base = src_path(NSG_ORDER);
    CliDiffOptions opt = {.base = base, .patch = patch, .all_pairs = true};
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    FILE *e = fopen("/dev/null", "w");
    assert_int_equal(cli_diff(&opt, o, e), CLI_EXIT_FAILED); /* laptop-web1-https broke */
    fclose(o);
    fclose(e);
    assert_has(buf, "! laptop-web1-https: REGRESSION");
    assert_has(buf, "  closed laptop -> web1 (52.191.1.10) Tcp/443: base delivered at web1; "
                    "changed dropped NSG_DENIED_IN at nsg-web/AllowHttpsFromInternet\n");
    free(buf);
    remove(patch);
    g_rmdir(dir);
}

static void two_files(void **state)
{
    (void)state;
    Result r = diff("scenarios/basics/peering.yaml", "tests/data/diff/peering-return-route.yaml",
                    NULL, false);
    assert_int_equal(r.rc, CLI_EXIT_OK); /* a dropped flow now delivered is no regression */
    assert_has(r.out, "~ c-a-no-return-route\n"
                      "    base:    dropped ROUTE_NEXT_HOP_NONE at reserved:RFC1918\n"
                      "    changed: delivered at vm-a\n");
    /* The reply goes back through the appliance: it appears twice on the new path. */
    assert_has(r.out, "    + vm-a route rt-spoke1/spoke3-via-hub route\n"
                      "    + hub-nva route hub-nva-nic0 forward\n");
    assert_has(r.out, "1 flow changed, 0 regressions\n");
    result_clear(&r);
    /* A configuration against itself: nothing. */
    r = diff("scenarios/basics/peering.yaml", "scenarios/basics/peering.yaml", NULL, true);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    assert_has(r.out, "  0 pairs newly opened, 0 newly closed\n0 flows changed, 0 regressions\n");
    result_clear(&r);
}

static void patch_settings(void **state)
{
    (void)state;
    Result r = diff(NSG_ORDER, NULL, "tests/data/diff/detach-nsg.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_OK);
    /* nsg-db gone: SSH now reaches db1, whose listen list no longer has 22. */
    assert_has(r.out, "~ web1-db-ssh\n"
                      "    base:    dropped NSG_DENIED_IN at nsg-db/DenySshFromVnet\n"
                      "    changed: dropped NO_LISTENER at db1\n");
    result_clear(&r);
}

static void patch_errors_located(void **state)
{
    (void)state;
    Result r = diff(NSG_ORDER, NULL, "tests/data/diff/remove-unknown.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_USAGE);
    assert_string_equal(r.out, "");
    assert_has(r.err, "remove-unknown.patch.yaml:5:16: 'securityRules' of 'nsg-db' has no item "
                      "'DenySshFromVnett' (did you mean 'DenySshFromVnet'?)\n");
    result_clear(&r);
    /* A patched-in rule the loader refuses: located in the patch, by the loader's check. */
    r = diff(NSG_ORDER, NULL, "tests/data/diff/bad-priority.patch.yaml", false);
    assert_int_equal(r.rc, CLI_EXIT_USAGE);
    assert_has(r.err, "bad-priority.patch.yaml:6:38: rule 'AllowSmb': priority 5000 is outside "
                      "100-4096\n");
    result_clear(&r);
}

/* The merge rules on their own, through scn_load_patched. */
static ScnScenario *load_patched(const char *patch_text, char **error_text)
{
    g_autofree char *dir = g_dir_make_tmp("vnetsim-patch-XXXXXX", NULL);
    g_autofree char *patch = g_build_filename(dir, "p.yaml", NULL);
    assert_true(g_file_set_contents(patch, patch_text, -1, NULL));
    g_autofree char *base = src_path(NSG_ORDER);
    GError *error = NULL;
    ScnScenario *scn = scn_load_patched(base, patch, &error);
    *error_text = error ? g_strdup(error->message) : NULL;
    g_clear_error(&error);
    remove(patch);
    g_rmdir(dir);
    return scn;
}

static void patch_merge_rules(void **state)
{
    (void)state;
    char *err = NULL;
    /* add a flow, rename the scenario: a mapping merges key by key. */
    ScnScenario *scn = load_patched("scenario: renamed\n"
                                    "flows: {add: [{name: extra, from: db1, to: {host: web1, "
                                    "port: 22}}]}\n",
                                    &err);
    if (!scn)
        fail_msg("%s", err);
    assert_string_equal(scn_scenario_name(scn), "renamed");
    assert_non_null(scn_scenario_find_flow(scn, "extra"));
    assert_int_equal(scn_scenario_n_flows(scn), 8);
    scn_scenario_free(scn);
    /* remove flows by name */
    scn = load_patched("flows: {remove: [web1-db-sql, db1-web1-https]}\n", &err);
    assert_non_null(scn);
    assert_int_equal(scn_scenario_n_flows(scn), 5);
    assert_null(scn_scenario_find_flow(scn, "web1-db-sql"));
    scn_scenario_free(scn);
    /* add an existing name: refused, pointing at both places */
    scn = load_patched("flows: {add: [{name: web1-db-sql, from: db1, to: {host: web1, port: "
                       "22}}]}\n",
                       &err);
    assert_null(scn);
    assert_non_null(strstr(err, "p.yaml:1:22: 'flows' of the scenario already has "
                                "'web1-db-sql' ("));
    assert_non_null(strstr(err, "nsg-order.yaml:"));
    g_free(err);
    /* a list patched with a plain mapping that is not {add, remove, replace} */
    scn = load_patched("flows: {name: x}\n", &err);
    assert_null(scn);
    assert_non_null(strstr(err, "p.yaml:1:8: 'flows' of the scenario is a list: patch it with"));
    g_free(err);
    /* a patch that is not a mapping */
    scn = load_patched("- a\n", &err);
    assert_null(scn);
    assert_non_null(strstr(err, "p.yaml:1:1: a patch must be a mapping of sections"));
    g_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breaking_change_exits_1),
        cmocka_unit_test(opening_change_found_by_all_pairs),
        cmocka_unit_test(closing_change_reported),
        cmocka_unit_test(firewall_policy_change_touches_only_its_flows),
        cmocka_unit_test(patch_edits_a_firewall_policy_file),
        cmocka_unit_test(removing_a_flow_changes_no_other),
        cmocka_unit_test(two_files),
        cmocka_unit_test(patch_settings),
        cmocka_unit_test(patch_errors_located),
        cmocka_unit_test(patch_merge_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
