/*
 * The scenario loader: one test per class of bad input, each pinning the exact
 * file:line:col and the message, then the good paths — pasted az JSON, !include and the
 * path form, name resolution — and the limits that keep hostile input cheap.
 *
 * Bad-input files live in tests/data/scn/; the tests chdir there so messages carry the
 * short file names a user would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "model/scn_load.h"

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
    assert_non_null(error);
    if (strcmp(error->message, message) != 0)
        fail_msg("%s:\n  got      %s\n  expected %s", file, error->message, message);
    assert_true(g_error_matches(error, SCN_ERROR, (gint)code));
    g_error_free(error);
}

/* Loads YAML text and asserts the error message contains `fragment` (and starts with the
 * location `at`, when given). */
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

static ScnScenario *load_text(const char *yaml)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!scn)
        fail_msg("load: %s", error->message);
    return scn;
}

/* ---- one test per class of bad input ---- */

static void yaml_syntax_error_is_located(void **state)
{
    (void)state;
    expect_error("syntax.yaml", SCN_ERROR_SYNTAX,
                 "syntax.yaml:5:9: YAML syntax error: did not find expected ',' or ']' (while "
                 "parsing a flow sequence that starts at line 4)");
}

static void unknown_key_suggests_the_closest_key(void **state)
{
    (void)state;
    expect_error("unknown-key.yaml", SCN_ERROR_SCHEMA,
                 "unknown-key.yaml:7:9: unknown key 'adressPrefix' in subnet (did you mean "
                 "'addressPrefix'?)");
}

static void unknown_key_far_from_all_lists_the_keys(void **state)
{
    (void)state;
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16], color: red}]\n",
                      "t.yaml:2:48: ",
                      "unknown key 'color' in virtual network (expected one of: name, "
                      "addressSpace, subnets, peerings, dnsServers)");
    /* Transposition counts as one edit (Damerau). */
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16], sbunets: []}]\n",
                      "t.yaml:2:48: ", "(did you mean 'subnets'?)");
}

static void wrong_type_names_key_and_expectation(void **state)
{
    (void)state;
    expect_error("wrong-type.yaml", SCN_ERROR_SCHEMA,
                 "wrong-type.yaml:6:19: 'priority' must be an integer, not \"high\"");
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: 10.0.0.0/16}]\n",
                      "t.yaml:2:33: ", "'addressSpace' must be a list, not a value");
    expect_text_error("scenario: s\nflows: {name: f}\n",
                      "t.yaml:2:8: ", "'flows' must be a list, not a mapping");
    expect_text_error(
        "scenario: s\nrouteTables: [{name: rt, disableBgpRoutePropagation: yes}]\n",
        "t.yaml:2:54: ", "'disableBgpRoutePropagation' must be true or false, not \"yes\"");
    /* A quoted number is a string, where an integer is expected. */
    expect_text_error("scenario: s\nhosts: [{name: h, kind: internet, publicIp: 198.51.100.7}]\n"
                      "flows: [{name: f, from: h, to: {ip: 198.51.100.8, port: \"443\"}}]\n",
                      "t.yaml:3:57: ", "'port' must be an integer, not \"443\"");
}

static void bad_cidr_says_what_is_wrong(void **state)
{
    (void)state;
    expect_error("bad-cidr.yaml", SCN_ERROR_VALUE,
                 "bad-cidr.yaml:6:39: 'addressPrefix': \"10.0.1/24\": expected an IPv4 address or "
                 "prefix such as 10.0.0.0/16");
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.1/16]}]\n",
                      "t.yaml:2:34: ", "host bits set beyond the prefix length");
}

static void prefix_length_out_of_range(void **state)
{
    (void)state;
    expect_error("prefix-length.yaml", SCN_ERROR_VALUE,
                 "prefix-length.yaml:4:20: 'addressSpace': \"10.0.0.0/33\": prefix length must be "
                 "between 0 and 32");
}

static void priority_outside_100_4096(void **state)
{
    (void)state;
    expect_error("priority-range.yaml", SCN_ERROR_VALUE,
                 "priority-range.yaml:5:35: rule 'DenyAll': priority 5000 is outside 100-4096");
}

static void duplicate_priority_in_one_direction(void **state)
{
    (void)state;
    expect_error("duplicate-priority.yaml", SCN_ERROR_VALUE,
                 "duplicate-priority.yaml:12:36: rule 'AllowSsh': priority 200 is already used "
                 "by Inbound rule 'AllowHttps' (line 5)");
}

static void dangling_reference_suggests_a_defined_name(void **state)
{
    (void)state;
    expect_error("dangling-ref.yaml", SCN_ERROR_REFERENCE,
                 "dangling-ref.yaml:9:76: network security group 'nsg-ap' is not defined (did you "
                 "mean 'nsg-app'?)");
    /* Subnets are VNET/SUBNET; a bare name gets its full path suggested. */
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                      "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
                      "hosts: [{name: h, subnet: a, ip: 10.0.1.4}]\n",
                      "t.yaml:4:27: ",
                      "'subnet' must be written VNET/SUBNET, not 'a' (did you "
                      "mean 'v/a'?)");
    expect_text_error(
        "scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
        "  subnets: [{name: snet-a, addressPrefix: 10.0.1.0/24}]}]\n"
        "hosts: [{name: h, subnet: v/snet-b, ip: 10.0.1.4}]\n",
        "t.yaml:4:27: ", "subnet 'v/snet-b' is not defined (did you mean 'v/snet-a'?)");
    expect_text_error(
        "scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16], peerings: [w]}]\n",
        "t.yaml:2:59: ", "virtual network 'w' is not defined");
    expect_text_error(
        "scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
        "  subnets: [{name: a, addressPrefix: 10.0.1.0/24, routeTable: rt}]}]\n",
        "t.yaml:3:63: ", "route table 'rt' is not defined (the scenario defines no route table)");
}

static void overlapping_subnets_are_refused(void **state)
{
    (void)state;
    expect_error("overlap.yaml", SCN_ERROR_VALUE,
                 "overlap.yaml:7:39: subnet 'snet-b' (10.0.1.0/24) overlaps subnet 'snet-a'");
    expect_error("peering-overlap.yaml", SCN_ERROR_VALUE,
                 "peering-overlap.yaml:3:60: cannot peer 'vnet-a' with 'vnet-b': their address "
                 "spaces overlap");
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16, 10.0.4.0/24]}]\n",
                      "t.yaml:2:47: ", "10.0.4.0/24 overlaps 10.0.0.0/16");
    /* Two unpeered VNets may overlap: Azure allows it. */
    scn_scenario_free(load_text("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16]},\n"
                                "        {name: w, addressSpace: [10.0.0.0/16]}]\n"));
}

static void missing_required_key(void **state)
{
    (void)state;
    expect_error("missing-key.yaml", SCN_ERROR_SCHEMA,
                 "missing-key.yaml:6:9: subnet 'snet-a' needs 'addressPrefix'");
    expect_text_error("vnets: []\n", "t.yaml:1:1: ", "the scenario needs 'scenario'");
    expect_text_error(
        "scenario: s\nnetworkSecurityGroups: [{name: n, securityRules: [\n"
        "  {name: r, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,\n"
        "   sourcePortRange: '*', destinationAddressPrefix: '*',\n"
        "   destinationPortRange: '*'}]}]\n",
        "t.yaml:3:3: ",
        "security rule 'r' needs 'sourceAddressPrefix' (or 'sourceAddressPrefixes', "
        "'sourceApplicationSecurityGroups')");
}

static void duplicate_name_points_at_the_first(void **state)
{
    (void)state;
    expect_error("duplicate-name.yaml", SCN_ERROR_REFERENCE,
                 "duplicate-name.yaml:10:12: host 'vm1' is defined twice (first at line 8)");
    expect_text_error("scenario: s\nnetworkSecurityGroups: [{name: a}, {name: a}]\n",
                      "t.yaml:2:43: ", "network security group 'a' is defined twice");
    expect_text_error("scenario: s\nscenario: t\n",
                      "t.yaml:2:1: ", "duplicate key 'scenario' (first given at line 1)");
}

static void include_of_a_missing_file(void **state)
{
    (void)state;
    expect_error("include-missing.yaml", SCN_ERROR_IO,
                 "include-missing.yaml:4:20: cannot include 'no-such-rules.json': No such file or "
                 "directory");
}

static void error_inside_an_included_file_names_that_file(void **state)
{
    (void)state;
    expect_error("include-bad-json.yaml", SCN_ERROR_SCHEMA,
                 "include-bad.rules.json:11:5: unknown key 'destinationPortRnage' in security rule "
                 "(did you mean 'destinationPortRange'?)");
}

/* Later sections are refused, never ignored. */
static void planned_sections_are_not_supported_yet(void **state)
{
    (void)state;
    expect_error("unsupported-section.yaml", SCN_ERROR_UNSUPPORTED,
                 "unsupported-section.yaml:7:76: 'registrationEnabled: true' (autoregistration "
                 "of VM records) is not supported yet");
    /* computes and dns.servers[].onprem were planned; they load now. */
    scn_scenario_free(load_text("scenario: s\ncomputes: []\n"));
    /* flows[].activity is supported now (tests/test_scn_activity.c): no longer refused. */
    expect_error("unsupported-key.yaml", SCN_ERROR_VALUE,
                 "unsupported-key.yaml:10:41: activity 'studio-access' reaches the services AML "
                 "depends on: add 'managedServices: true'");
    expect_text_error(
        "scenario: s\ndns: {servers: [{name: corp-dns, onprem: corp, ip: 10.1.0.4}]}\n",
        "t.yaml:2:42: ", "'onprem': no on-prem site named 'corp' (define it under 'onprem')");
}

static void flow_endpoints_must_name_something(void **state)
{
    (void)state;
    expect_error("flow-from-unknown.yaml", SCN_ERROR_REFERENCE,
                 "flow-from-unknown.yaml:11:22: host 'web1' is not defined (did you mean "
                 "'web-1'?)");
    expect_text_error("scenario: s\nhosts: [{name: h, kind: internet, publicIp: 198.51.100.7},\n"
                      "  {name: web, kind: internet, publicIp: 198.51.100.8}]\n"
                      "flows: [{name: f, from: h, to: {host: wbe, port: 443}}]\n",
                      "t.yaml:4:39: ",
                      "'to.host': no host or private endpoint named 'wbe' (did you mean 'web'?)");
}

static void expectations_are_checked(void **state)
{
    (void)state;
    const char *base = "scenario: s\nhosts: [{name: h, kind: internet, publicIp: 198.51.100.7}]\n"
                       "flows: [{name: f, from: h, to: {ip: 198.51.100.8, port: 443},\n";
    g_autofree char *a =
        g_strconcat(base, "  expect: {verdict: dropped, cause: NSG_DENIED_INN}}]\n", NULL);
    expect_text_error(a, "t.yaml:4:37: ",
                      "unknown cause 'NSG_DENIED_INN' (did you mean "
                      "'NSG_DENIED_IN'?)");
    g_autofree char *b = g_strconcat(base, "  expect: deliverd}]\n", NULL);
    expect_text_error(b, "t.yaml:4:11: ", "unknown verdict 'deliverd' (did you mean 'delivered'?)");
    g_autofree char *c =
        g_strconcat(base, "  expect: {verdict: delivered, cause: NO_ROUTE}}]\n", NULL);
    expect_text_error(c, "t.yaml:4:39: ", "a delivered flow has no cause");
    g_autofree char *d =
        g_strconcat(base, "  expect: {verdict: dropped, cause: DNS_PUBLIC_ANSWER}}]\n", NULL);
    expect_text_error(d, "t.yaml:4:37: ", "DNS_PUBLIC_ANSWER is a root cause only");
}

/* ---- good paths ---- */

/* Pasted `az network nsg rule list -o json` output: the bookkeeping keys are ignored,
 * null singular fields with plural lists are understood, ASGs come from their ids. */
static void pasted_az_json_rules_load(void **state)
{
    (void)state;
    ScnScenario *scn = load_text(
        "scenario: az\n"
        "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
        "  subnets: [{name: a, addressPrefix: 10.0.1.0/24, networkSecurityGroup: nsg-k8s}]}]\n"
        "hosts: [{name: web, subnet: v/a, ip: 10.0.1.4, applicationSecurityGroups: [asg-web]}]\n"
        "networkSecurityGroups:\n"
        "- name: nsg-k8s\n"
        "  securityRules: [\n"
        "  {\n"
        "    \"access\": \"Allow\",\n"
        "    \"description\": null,\n"
        "    \"destinationAddressPrefix\": \"*\",\n"
        "    \"destinationAddressPrefixes\": [],\n"
        "    \"destinationApplicationSecurityGroups\": null,\n"
        "    \"destinationPortRange\": null,\n"
        "    \"destinationPortRanges\": [\"22\", \"6443\"],\n"
        "    \"direction\": \"Inbound\",\n"
        "    \"etag\": \"W/\\\"XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX\\\"\",\n"
        "    \"id\": \"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/"
        "networkSecurityGroups/nsg-k8s/securityRules/K8s\",\n"
        "    \"name\": \"K8s\",\n"
        "    \"priority\": 100,\n"
        "    \"protocol\": \"Tcp\",\n"
        "    \"provisioningState\": \"Succeeded\",\n"
        "    \"resourceGroup\": \"rg\",\n"
        "    \"sourceAddressPrefix\": \"Internet\",\n"
        "    \"sourceAddressPrefixes\": [],\n"
        "    \"sourceApplicationSecurityGroups\": null,\n"
        "    \"sourcePortRange\": \"*\",\n"
        "    \"sourcePortRanges\": [],\n"
        "    \"type\": \"Microsoft.Network/networkSecurityGroups/securityRules\"\n"
        "  },\n"
        "  {\n"
        "    \"access\": \"Deny\", \"direction\": \"Outbound\", \"name\": \"NoSmbFromWeb\",\n"
        "    \"priority\": 200, \"protocol\": \"*\",\n"
        "    \"sourceAddressPrefix\": null,\n"
        "    \"sourceApplicationSecurityGroups\": [{\"id\": \"/subscriptions/x/resourceGroups/rg/"
        "providers/Microsoft.Network/applicationSecurityGroups/asg-web\", \"resourceGroup\": "
        "\"rg\"}],\n"
        "    \"sourcePortRange\": \"*\", \"destinationAddressPrefix\": \"Storage.EastUS\",\n"
        "    \"destinationPortRange\": \"445\"\n"
        "  }]\n");
    ModelNsg *nsg = model_net_find_nsg(scn_scenario_net(scn), "nsg-k8s");
    assert_non_null(nsg);
    assert_int_equal(model_nsg_n_user_rules(nsg), 2);
    size_t n;
    const ModelNsgRule *const *in = model_nsg_rules(nsg, MODEL_DIR_INBOUND, &n);
    assert_string_equal(in[0]->name, "K8s");
    assert_int_equal(in[0]->n_ports[MODEL_NSG_DST], 2);
    assert_int_equal(in[0]->ports[MODEL_NSG_DST][1].lo, 6443);
    assert_int_equal(in[0]->line, 8);
    const ModelNsgRule *const *out = model_nsg_rules(nsg, MODEL_DIR_OUTBOUND, &n);
    assert_string_equal(out[0]->name, "NoSmbFromWeb");
    assert_int_equal(out[0]->addrs[MODEL_NSG_SRC][0].kind, MODEL_NSG_ADDR_ASG);
    assert_string_equal(out[0]->addrs[MODEL_NSG_SRC][0].text, "asg-web");
    scn_scenario_free(scn);
}

/* The same rules in place, through !include, and as a file name load identically. */
static void include_and_path_forms_load_the_same(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "securityRules: nsg-order.rules.json",
        "securityRules: !include nsg-order.rules.json",
    };
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *dir = g_build_filename(src ? src : "..", "scenarios", "basics", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        g_autofree char *yaml = g_strdup_printf("scenario: s\nnetworkSecurityGroups:\n"
                                                "  - name: nsg-db\n    %s\n",
                                                forms[i]);
        g_autofree char *name = g_build_filename(dir, "t.yaml", NULL);
        GError *error = NULL;
        ScnScenario *scn = scn_load_data(name, yaml, strlen(yaml), &error);
        if (!scn)
            fail_msg("%s: %s", forms[i], error->message);
        ModelNsg *nsg = model_net_find_nsg(scn_scenario_net(scn), "nsg-db");
        size_t n;
        const ModelNsgRule *const *in = model_nsg_rules(nsg, MODEL_DIR_INBOUND, &n);
        assert_int_equal(n, 3 + 3); /* three rules and Azure's three inbound defaults */
        assert_string_equal(in[0]->name, "AllowSqlFromWeb");
        assert_string_equal(in[1]->name, "DenySshFromVnet");
        assert_string_equal(in[2]->name, "AllowSshFromWeb1");
        assert_string_equal(in[2]->addrs[MODEL_NSG_SRC][0].text, "10.1.1.4");
        scn_scenario_free(scn);
    }
    /* A mapping where the list belongs is refused, file or not. */
    expect_text_error("scenario: s\nnetworkSecurityGroups: [{name: n, securityRules: {a: b}}]\n",
                      "t.yaml:2:50: ", "'securityRules' must be a list");
}

static void az_route_json_loads(void **state)
{
    (void)state;
    ScnScenario *scn = load_text(
        "scenario: s\n"
        "routeTables:\n"
        "  - name: rt\n"
        "    disableBgpRoutePropagation: true\n"
        "    routes: [{\"addressPrefix\": \"0.0.0.0/0\", \"etag\": \"W/x\", \"hasBgpOverride\": "
        "false,\n"
        "      \"id\": \"/subscriptions/x/routeTables/rt/routes/default\", \"name\": \"default\",\n"
        "      \"nextHopIpAddress\": \"10.0.0.4\", \"nextHopType\": \"VirtualAppliance\",\n"
        "      \"provisioningState\": \"Succeeded\", \"resourceGroup\": \"rg\",\n"
        "      \"type\": \"Microsoft.Network/routeTables/routes\"},\n"
        "      {\"name\": \"ml\", \"addressPrefix\": \"AzureMachineLearning\", \"nextHopType\": "
        "\"Internet\", \"nextHopIpAddress\": null}]\n");
    ModelRouteTable *t = model_net_find_route_table(scn_scenario_net(scn), "rt");
    assert_non_null(t);
    assert_true(t->disable_bgp_route_propagation);
    assert_int_equal(t->n_defined, 2);
    assert_int_equal(t->n_tag_routes, 1);
    scn_scenario_free(scn);
    expect_text_error("scenario: s\nrouteTables: [{name: rt, routes: [{name: r, addressPrefix: "
                      "0.0.0.0/0, nextHopType: VirtualApliance}]}]\n",
                      "t.yaml:2:84: ", "unknown nextHopType 'VirtualApliance'");
    expect_text_error("scenario: s\nrouteTables: [{name: rt, routes: [{name: r, addressPrefix: "
                      "0.0.0.0/0, nextHopType: VirtualAppliance}]}]\n",
                      "t.yaml:2:35: ", "requires nextHopIpAddress");
    expect_text_error("scenario: s\nrouteTables: [{name: rt, routes: [{name: r, addressPrefix: "
                      "Storage.EastUs2, nextHopType: Internet}]}]\n",
                      "t.yaml:2:60: ",
                      "unknown service tag 'Storage.EastUs2' (did you mean "
                      "'Storage.EastUS'?)");
}

static void unknown_service_tag_in_a_rule_suggests(void **state)
{
    (void)state;
    expect_text_error(
        "scenario: s\nnetworkSecurityGroups: [{name: n, securityRules: [\n"
        "  {name: r, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,\n"
        "   sourceAddressPrefix: BatchNodeManagment, sourcePortRange: '*',\n"
        "   destinationAddressPrefix: '*', destinationPortRange: '*'}]}]\n",
        "t.yaml:4:25: ",
        "unknown service tag 'BatchNodeManagment' (did you mean "
        "'BatchNodeManagement'?)");
    expect_text_error(
        "scenario: s\nnetworkSecurityGroups: [{name: n, securityRules: [\n"
        "  {name: r, priority: 100, direction: Inbund, access: Allow, protocol: Tcp,\n"
        "   sourceAddressPrefix: '*', sourcePortRange: '*',\n"
        "   destinationAddressPrefix: '*', destinationPortRange: '*'}]}]\n",
        "t.yaml:3:39: ", "invalid direction \"Inbund\"");
    expect_text_error("scenario: s\nregion: estus\n", "t.yaml:2:9: ",
                      "region 'estus' is not known to the service tags (did you mean 'eastus'?)");
}

static void asg_without_members_is_a_typo(void **state)
{
    (void)state;
    expect_text_error(
        "scenario: s\n"
        "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
        "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
        "hosts: [{name: h, subnet: v/a, ip: 10.0.1.4, applicationSecurityGroups: "
        "[asg-web]}]\n"
        "networkSecurityGroups: [{name: n, securityRules: [\n"
        "  {name: r, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,\n"
        "   sourceAddressPrefix: '*', sourcePortRange: '*',\n"
        "   destinationApplicationSecurityGroups: [{id: /x/applicationSecurityGroups/"
        "asg-wbe}],\n"
        "   destinationPortRange: '*'}]}]\n",
        "t.yaml:8:43: ",
        "application security group 'asg-wbe' has no member (no host lists it in "
        "applicationSecurityGroups) (did you mean 'asg-web'?)");
}

/* to.host: a private endpoint is its IP; a VM its private IP from inside a VNet and its
 * public IP from the internet; an internet or service host its public IP. */
static void to_host_resolves_by_where_the_sender_is(void **state)
{
    (void)state;
    ScnScenario *scn = load_text(
        "scenario: s\n"
        "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
        "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
        "hosts:\n"
        "  - {name: vm, subnet: v/a, ip: 10.0.1.4, publicIp: 52.191.0.9, listen: [Tcp/22]}\n"
        "  - {name: vm2, subnet: v/a, ip: 10.0.1.5}\n"
        "  - {name: laptop, kind: internet, publicIp: 198.51.100.7}\n"
        "  - {name: store, kind: service, publicIp: 20.60.0.4, listen: [Tcp/443]}\n"
        "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.6, service: store}]\n"
        "flows:\n"
        "  - {name: inside, from: vm2, to: {host: vm, port: 22}, expect: delivered}\n"
        "  - {name: outside, from: laptop, to: {host: vm, port: 22}}\n"
        "  - {name: via-pe, from: vm2, to: {host: pe, port: 443}, expect: {verdict: delivered, "
        "at: store}}\n"
        "  - {name: public, from: vm2, to: {host: store, port: 443, protocol: tcp}, at_ms: 50}\n");
    assert_int_equal(scn_scenario_n_flows(scn), 4);
    assert_string_equal(scn_scenario_flow(scn, 0)->to, "host vm");
    ModelTrace *trace = model_trace_new();
    GError *error = NULL;
    assert_int_equal(scn_replay(scn, 1, NULL, trace, &error), 0);
    const char *want_at[] = {"vm", "", "store", "store"};
    size_t n;
    const ModelStepRecord *steps = model_trace_steps(trace, &n);
    for (size_t i = 0; i < 4; i++) {
        const ScnFlow *f = scn_scenario_flow(scn, i);
        const ModelVerdictRecord *v = model_trace_find_verdict(trace, f->name);
        assert_non_null(v);
        if (i != 1) {
            assert_int_equal(v->verdict, MODEL_VERDICT_DELIVERED);
            assert_string_equal(v->at, want_at[i]);
        }
    }
    /* From the internet the SYN went to the public IP and was translated. */
    bool dnat = false;
    for (size_t i = 0; i < n; i++)
        dnat = dnat || (strcmp(steps[i].flow, "outside") == 0 &&
                        steps[i].stage == MODEL_STAGE_NAT && strcmp(steps[i].action, "dnat") == 0);
    assert_true(dnat);
    /* A scenario replays once. */
    assert_int_equal(scn_replay(scn, 1, NULL, trace, &error), -1);
    assert_true(g_error_matches(error, SCN_ERROR, SCN_ERROR_REPLAY));
    g_clear_error(&error);
    model_trace_free(trace);
    scn_scenario_free(scn);
    expect_text_error("scenario: s\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                      "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
                      "hosts: [{name: vm, subnet: v/a, ip: 10.0.1.4},\n"
                      "  {name: laptop, kind: internet, publicIp: 198.51.100.7}]\n"
                      "flows: [{name: f, from: laptop, to: {host: vm, port: 22}}]\n",
                      "t.yaml:6:44: ", "host 'vm' has no public IP");
}

static void judge_compares_verdict_cause_and_place(void **state)
{
    (void)state;
    ScnFlow flow = {.name = "f",
                    .expect = {.set = true,
                               .verdict = MODEL_VERDICT_DROPPED,
                               .has_cause = true,
                               .cause = MODEL_CAUSE_NSG_DENIED_IN,
                               .at = "nsg-x/rule"}};
    ModelVerdictRecord got = {.flow = "f", .verdict = MODEL_VERDICT_DELIVERED, .at = "vm"};
    GString *o = g_string_new(NULL), *e = g_string_new(NULL);
    assert_int_equal(scn_judge(&flow, &got, o, e), SCN_JUDGE_FAIL);
    assert_string_equal(e->str, "dropped NSG_DENIED_IN at nsg-x/rule");
    assert_string_equal(o->str, "delivered at vm");
    g_string_truncate(o, 0);
    got = (ModelVerdictRecord){.flow = "f",
                               .verdict = MODEL_VERDICT_DROPPED,
                               .cause = MODEL_CAUSE_NSG_DENIED_IN,
                               .at = "nsg-x/rule"};
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_PASS);
    flow.expect.at = NULL; /* not given: any place */
    got.at = "nsg-y/other";
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_PASS);
    assert_int_equal(scn_judge(&flow, NULL, o, NULL), SCN_JUDGE_FAIL);
    flow.expect.set = false;
    assert_int_equal(scn_judge(&flow, &got, o, NULL), SCN_JUDGE_NO_EXPECT);
    g_string_free(o, TRUE);
    g_string_free(e, TRUE);
}

static void flow_selection_suggests_names(void **state)
{
    (void)state;
    ScnScenario *scn =
        load_text("scenario: s\n"
                  "hosts: [{name: h, kind: internet, publicIp: 198.51.100.7}]\n"
                  "flows: [{name: alpha, from: h, to: {ip: 198.51.100.8, port: 1}},\n"
                  "        {name: beta, from: h, to: {ip: 198.51.100.8, port: 2}}]\n");
    GError *error = NULL;
    const char *bad[] = {"alpah"};
    assert_false(scn_scenario_select_flows(scn, bad, 1, &error));
    assert_string_equal(error->message,
                        "no flow named 'alpah' in scenario 's' (did you mean 'alpha'?)");
    g_clear_error(&error);
    const char *good[] = {"beta"};
    assert_true(scn_scenario_select_flows(scn, good, 1, &error));
    assert_false(scn_scenario_flow(scn, 0)->selected);
    assert_true(scn_scenario_flow(scn, 1)->selected);
    scn_scenario_free(scn);
}

/* ---- YAML features and limits ---- */

static void anchors_and_aliases_share_values(void **state)
{
    (void)state;
    ScnScenario *scn = load_text(
        "scenario: s\n"
        "networkSecurityGroups:\n"
        "  - name: a\n"
        "    securityRules: &rules\n"
        "      - {name: r, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,\n"
        "         sourceAddressPrefix: '*', sourcePortRange: '*',\n"
        "         destinationAddressPrefix: '*', destinationPortRange: '22'}\n"
        "  - {name: b, securityRules: *rules}\n");
    assert_int_equal(model_nsg_n_user_rules(model_net_find_nsg(scn_scenario_net(scn), "b")), 1);
    scn_scenario_free(scn);
    expect_text_error("scenario: s\nvnets: *nothing\n",
                      "t.yaml:2:8: ", "alias '*nothing' names no complete anchor");
    /* An alias inside its own anchor would make a cycle. */
    expect_text_error("scenario: s\nvnets: &v [*v]\n", "t.yaml:2:12: ", "names no complete anchor");
}

static void hostile_input_is_bounded(void **state)
{
    (void)state;
    /* A billion laughs: ten aliases per level, nine levels. */
    GString *y = g_string_new("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        g_string_append_printf(y,
                               "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                               "*a%d, *a%d]\n",
                               i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                               i - 1);
    expect_text_error(y->str, "t.yaml:", "the document is too large");
    g_string_free(y, TRUE);
    /* Deep nesting. */
    GString *deep = g_string_new("scenario: s\nvnets: ");
    for (int i = 0; i < 100; i++)
        g_string_append_c(deep, '[');
    expect_text_error(deep->str, "t.yaml:2:", "nest deeper than 64 levels");
    g_string_free(deep, TRUE);
    expect_text_error("scenario: s\n---\nscenario: t\n", "t.yaml:2:1: ", "a second YAML document");
    expect_text_error("", "t.yaml:1:1: ", "the file holds no YAML document");
    expect_text_error("[1, 2]\n", "t.yaml:1:1: ", "a scenario must be a mapping");
    expect_text_error("scenario: s\ndescription: !!binary aGVsbG8=\n",
                      "t.yaml:2:14: ", "unsupported tag 'tag:yaml.org,2002:binary'");
    expect_text_error("scenario: s\nnetworkSecurityGroups: [{name: n, securityRules: !include "
                      "include-self.yaml}]\n",
                      NULL, "include-self.yaml");
    expect_text_error("scenario: \"a\\0b\"\n", "t.yaml:1:11: ", "NUL character");
    expect_text_error("scenario: \xff\n", "t.yaml:1:11: ", "YAML syntax error");
    expect_text_error("scenario: ../etc\n",
                      "t.yaml:1:11: ", "scenario name \"../etc\" is not valid");
}

static void include_cycles_are_refused(void **state)
{
    (void)state;
    expect_error("include-self.yaml", SCN_ERROR_VALUE,
                 "include-self.yaml:1:11: cannot include 'include-self.yaml': it includes itself");
}

/* serviceTags: a published file, relative to the scenario, adds tags rules may then name. */
static void service_tags_file_extends_the_tags(void **state)
{
    (void)state;
    const char *yaml = "scenario: s\nserviceTags: ../servicetags-mini.json\n"
                       "networkSecurityGroups: [{name: n, securityRules: [\n"
                       "  {name: r, priority: 100, direction: Outbound, access: Allow, protocol: "
                       "Tcp,\n"
                       "   sourceAddressPrefix: '*', sourcePortRange: '*',\n"
                       "   destinationAddressPrefix: DataFactory.UKNorth, destinationPortRange: "
                       "'443'}]}]\n";
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!scn)
        fail_msg("load: %s", error->message);
    scn_scenario_free(scn);
    expect_text_error("scenario: s\nserviceTags: ../servicetags-malformed.json\n",
                      "t.yaml:2:14: ", "servicetags-malformed.json");
    expect_text_error("scenario: s\nserviceTags: nope.json\n", "t.yaml:2:14: ", "nope.json");
}

/* VNet-only keys on hosts outside every VNet are refused, not ignored. */
static void host_kinds_take_their_own_keys(void **state)
{
    (void)state;
    expect_text_error("scenario: s\nhosts: [{name: h, kind: internet, ip: 10.0.0.4}]\n",
                      "t.yaml:2:35: ", "'ip' does not apply to an internet host");
    expect_text_error("scenario: s\nhosts: [{name: h, kind: internet}]\n",
                      "t.yaml:2:9: ", "host 'h' needs 'publicIp'");
    expect_text_error("scenario: s\nhosts: [{name: h, kind: servise}]\n",
                      "t.yaml:2:25: ", "unknown host kind 'servise' (did you mean 'service'?)");
    expect_text_error("scenario: s\nhosts: [{name: h, kind: service, listen: [Tcp443]}]\n",
                      "t.yaml:2:43: ", "\"Tcp443\" is not PROTOCOL/PORT");
    expect_text_error("scenario: s\nvnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                      "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
                      "hosts: [{name: h, subnet: v/a, ip: 10.0.1.1}]\n",
                      "t.yaml:4:36: ", "10.0.1.1 is reserved by Azure");
    expect_text_error("scenario: s\nhosts: [{name: svc, kind: service, publicIp: 20.60.0.4},\n"
                      "  {name: vm, kind: internet, publicIp: 198.51.100.7}]\n"
                      "vnets: [{name: v, addressSpace: [10.0.0.0/16],\n"
                      "  subnets: [{name: a, addressPrefix: 10.0.1.0/24}]}]\n"
                      "privateEndpoints: [{name: pe, subnet: v/a, ip: 10.0.1.5, service: vm}]\n",
                      "t.yaml:6:67: ", "'vm' is not a service host");
}

/* Every crash found (by the fuzzer, or by these tests) became a crash-*.yaml file here:
 * each must load and replay, or fail with a located message. */
static void crash_regressions_fail_cleanly(void **state)
{
    (void)state;
    GDir *d = g_dir_open(".", 0, NULL);
    assert_non_null(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_prefix(name, "crash-"))
            continue;
        GError *error = NULL;
        ScnScenario *scn = scn_load(name, &error);
        if (scn) {
            ModelTrace *trace = model_trace_new();
            assert_int_equal(scn_replay(scn, 1, NULL, trace, &error), 0);
            model_trace_free(trace);
        }
        assert_true(scn != NULL || (error && g_str_has_prefix(error->message, name)));
        g_clear_error(&error);
        scn_scenario_free(scn);
        n++;
    }
    g_dir_close(d);
    assert_true(n >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yaml_syntax_error_is_located),
        cmocka_unit_test(unknown_key_suggests_the_closest_key),
        cmocka_unit_test(unknown_key_far_from_all_lists_the_keys),
        cmocka_unit_test(wrong_type_names_key_and_expectation),
        cmocka_unit_test(bad_cidr_says_what_is_wrong),
        cmocka_unit_test(prefix_length_out_of_range),
        cmocka_unit_test(priority_outside_100_4096),
        cmocka_unit_test(duplicate_priority_in_one_direction),
        cmocka_unit_test(dangling_reference_suggests_a_defined_name),
        cmocka_unit_test(overlapping_subnets_are_refused),
        cmocka_unit_test(missing_required_key),
        cmocka_unit_test(duplicate_name_points_at_the_first),
        cmocka_unit_test(include_of_a_missing_file),
        cmocka_unit_test(error_inside_an_included_file_names_that_file),
        cmocka_unit_test(planned_sections_are_not_supported_yet),
        cmocka_unit_test(flow_endpoints_must_name_something),
        cmocka_unit_test(expectations_are_checked),
        cmocka_unit_test(pasted_az_json_rules_load),
        cmocka_unit_test(include_and_path_forms_load_the_same),
        cmocka_unit_test(az_route_json_loads),
        cmocka_unit_test(unknown_service_tag_in_a_rule_suggests),
        cmocka_unit_test(asg_without_members_is_a_typo),
        cmocka_unit_test(service_tags_file_extends_the_tags),
        cmocka_unit_test(host_kinds_take_their_own_keys),
        cmocka_unit_test(to_host_resolves_by_where_the_sender_is),
        cmocka_unit_test(judge_compares_verdict_cause_and_place),
        cmocka_unit_test(flow_selection_suggests_names),
        cmocka_unit_test(anchors_and_aliases_share_values),
        cmocka_unit_test(hostile_input_is_bounded),
        cmocka_unit_test(include_cycles_are_refused),
        cmocka_unit_test(crash_regressions_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, enter_data_dir, NULL);
}
