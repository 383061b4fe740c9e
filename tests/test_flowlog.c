/*
 * test_flowlog.c — `vnetsim run --flow-log FILE`: the VNet flow log schema's fields
 * (azdocs:articles/network-watcher/vnet-flow-logs-overview.md, "Log format"), tuples for
 * an allowed and a denied flow with their rules, the same bytes on every run, and nothing
 * left behind when the flow log cannot be written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "testnet.h"
#include "tools/cli.h"
#include "tshark_util.h"

typedef struct {
    char *dir; /* temporary: out/ and flows.json */
} Fx;

static int setup(void **state)
{
    Fx *fx = g_new0(Fx, 1);
    fx->dir = g_dir_make_tmp("vnetsim-flowlog-XXXXXX", NULL);
    *state = fx;
    return fx->dir ? 0 : -1;
}

static int teardown(void **state)
{
    Fx *fx = *state;
    tn_remove_tree(fx->dir);
    g_free(fx->dir);
    g_free(fx);
    return 0;
}

static int run(const Fx *fx, const char *scenario, const char *out_name, const char *log)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    g_autofree char *scn = g_build_filename(src ? src : ".", scenario, NULL);
    g_autofree char *out = g_build_filename(fx->dir, out_name, NULL);
    CliRunOptions opt = {scn, out, 1, NULL, 0};
    FILE *o = fopen("/dev/null", "w"), *e = fopen("/dev/null", "w");
    int rc = cli_run_flow_log(&opt, log, o, e);
    fclose(o);
    fclose(e);
    /* The captures the flow log counts from, as Wireshark reads them. */
    g_autofree char *pcap_dir = g_build_filename(out, "pcap", NULL);
    GDir *d = tshark_available() ? g_dir_open(pcap_dir, 0, NULL) : NULL;
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(pcap_dir, name, NULL);
        if (tshark_count(path, TSHARK_BAD_FRAMES) != 0)
            fail_msg("%s: tshark flags frames", name);
    }
    if (d)
        g_dir_close(d);
    return rc;
}

static const char *str(JsonObject *o, const char *member)
{
    assert_true(json_object_has_member(o, member));
    return json_object_get_string_member(o, member);
}

/* Every tuple of every record: "nic-mac rule tuple". Checks the fields on the way. */
static GPtrArray *tuples(const char *path)
{
    JsonParser *p = json_parser_new();
    GError *error = NULL;
    if (!json_parser_load_from_file(p, path, &error))
        fail_msg("%s", error->message);
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    JsonArray *records = json_object_get_array_member(root, "records");
    assert_non_null(records);
    assert_true(json_array_get_length(records) > 0);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < json_array_get_length(records); i++) {
        JsonObject *r = json_array_get_object_element(records, i);
        /* The record's properties, as the schema lists them. */
        assert_true(g_str_has_suffix(str(r, "time"), "Z"));
        assert_int_equal(json_object_get_int_member(r, "flowLogVersion"), 4);
        assert_int_equal(strlen(str(r, "flowLogGUID")), 36);
        const char *mac = str(r, "macAddress");
        assert_int_equal(strlen(mac), 12);
        for (const char *c = mac; *c; c++)
            assert_true(g_ascii_isxdigit(*c) && !g_ascii_islower(*c));
        assert_string_equal(str(r, "category"), "FlowLogFlowEvent");
        assert_string_equal(str(r, "operationName"), "FlowLogFlowEvent");
        assert_non_null(strstr(str(r, "flowLogResourceID"), "/FLOWLOGS/"));
        assert_non_null(strstr(str(r, "targetResourceID"),
                               "/providers/Microsoft.Network/virtualNetworks/vnet-app"));
        JsonObject *fr = json_object_get_object_member(r, "flowRecords");
        JsonArray *flows = json_object_get_array_member(fr, "flows");
        for (guint f = 0; f < json_array_get_length(flows); f++) {
            JsonObject *acl = json_array_get_object_element(flows, f);
            assert_int_equal(strlen(str(acl, "aclID")), 36);
            JsonArray *groups = json_object_get_array_member(acl, "flowGroups");
            for (guint g = 0; g < json_array_get_length(groups); g++) {
                JsonObject *grp = json_array_get_object_element(groups, g);
                const char *rule = str(grp, "rule");
                assert_true(g_str_has_prefix(rule, "UserRule_") ||
                            g_str_has_prefix(rule, "DefaultRule_"));
                JsonArray *ts = json_object_get_array_member(grp, "flowTuples");
                for (guint t = 0; t < json_array_get_length(ts); t++) {
                    const char *tuple = json_array_get_string_element(ts, t);
                    /* time,src,dst,sport,dport,proto,I|O,B|C|E|D,NX,pk,by,pk,by */
                    g_auto(GStrv) f13 = g_strsplit(tuple, ",", -1);
                    assert_int_equal(g_strv_length(f13), 13);
                    assert_true(strlen(f13[0]) == 13); /* milliseconds since the epoch */
                    assert_true(strcmp(f13[6], "I") == 0 || strcmp(f13[6], "O") == 0);
                    assert_non_null(strchr("BCED", f13[7][0]));
                    assert_string_equal(f13[8], "NX");
                    g_ptr_array_add(out, g_strdup_printf("%s %s %s", mac, rule, tuple));
                }
            }
        }
    }
    g_object_unref(p);
    return out;
}

/* The tuple whose line contains every needle, or NULL. */
static const char *find(GPtrArray *all, const char *a, const char *b, const char *c)
{
    for (guint i = 0; i < all->len; i++) {
        const char *t = all->pdata[i];
        if (strstr(t, a) && strstr(t, b) && (!c || strstr(t, c)))
            return t;
    }
    return NULL;
}

static void schema_and_tuples(void **state)
{
    Fx *fx = *state;
    g_autofree char *log = g_build_filename(fx->dir, "flows.json", NULL);
    assert_int_equal(run(fx, "scenarios/basics/nsg-order.yaml", "out", log), CLI_EXIT_OK);
    GPtrArray *all = tuples(log);
    /* Allowed: web1 -> db1 SQL, seen at db1's NIC as inbound, begun then ended with its
     * statistics (SYN + ACK from web1, SYN/ACK back), under nsg-db's user rule. */
    const char *b =
        find(all, "UserRule_AllowSqlFromWeb", ",10.1.1.4,10.1.2.4,", ",1433,6,I,B,NX,0,0,0,0");
    const char *e =
        find(all, "UserRule_AllowSqlFromWeb", ",10.1.1.4,10.1.2.4,", ",1433,6,I,E,NX,2,");
    if (!b || !e)
        fail_msg("no B/E tuples for the allowed SQL flow");
    /* ... and at web1's NIC as outbound, allowed by Azure's default rule. */
    assert_non_null(find(all, "DefaultRule_AllowVnetOutBound", ",1433,6,O,B,", NULL));
    /* Denied: web1 -> db1 SSH at db1's NIC, once (not per retransmission). */
    const char *d =
        find(all, "UserRule_DenySshFromVnet", ",10.1.1.4,10.1.2.4,", ",22,6,I,D,NX,0,0,0,0");
    assert_non_null(d);
    unsigned n = 0;
    for (guint i = 0; i < all->len; i++)
        n += strstr(all->pdata[i], "UserRule_DenySshFromVnet") != NULL;
    assert_int_equal(n, 1);
    /* Denied from the internet by a default rule, addressed after DNAT (the NSG's view). */
    assert_non_null(
        find(all, "DefaultRule_DenyAllInBound", ",198.51.100.7,10.1.1.4,", ",22,6,I,D,"));
    /* Denied outbound at web2's own NIC NSG: its SYN is captured, but it is no flow. */
    assert_non_null(find(all, "UserRule_DenySqlOut", ",10.1.1.5,10.1.2.4,", ",1433,6,O,D,"));
    assert_null(find(all, ",10.1.1.5,10.1.2.4,", ",O,B,", NULL));
    g_ptr_array_free(all, TRUE);
}

static void same_bytes_every_run(void **state)
{
    Fx *fx = *state;
    g_autofree char *a = g_build_filename(fx->dir, "a.json", NULL);
    g_autofree char *b = g_build_filename(fx->dir, "b.json", NULL);
    assert_int_equal(run(fx, "scenarios/basics/forced-tunneling.yaml", "o1", a), CLI_EXIT_OK);
    assert_int_equal(run(fx, "scenarios/basics/forced-tunneling.yaml", "o2", b), CLI_EXIT_OK);
    g_autofree char *ta = NULL, *tb = NULL;
    assert_true(g_file_get_contents(a, &ta, NULL, NULL));
    assert_true(g_file_get_contents(b, &tb, NULL, NULL));
    assert_string_equal(ta, tb);
    /* The appliance relays node-pypi: counted once, on the way in. */
    assert_non_null(strstr(ta, ",10.0.2.4,151.101.0.223,"));
}

static void nothing_left_on_failure(void **state)
{
    Fx *fx = *state;
    g_autofree char *log = g_build_filename(fx->dir, "no-such-dir", "flows.json", NULL);
    assert_int_equal(run(fx, "scenarios/basics/nsg-order.yaml", "out-fail", log), CLI_EXIT_USAGE);
    g_autofree char *out = g_build_filename(fx->dir, "out-fail", NULL);
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(log, G_FILE_TEST_EXISTS));
    /* Only the temporary parent of the test's own files is left: no hidden siblings. */
    GDir *d = g_dir_open(fx->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)))
        assert_false(name[0] == '.');
    g_dir_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(schema_and_tuples, setup, teardown),
        cmocka_unit_test_setup_teardown(same_bytes_every_run, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_left_on_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
