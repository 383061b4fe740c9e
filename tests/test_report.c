/*
 * The teaching report (tools/report.h), driven in-process on shipped scenarios: every flow
 * of the trace has its table row, its sequence diagram and its explanation; a drop is a
 * cross naming the rule that decided; every capture is linked, relative to the report; the
 * report of a run directory (`vnetsim report`) is byte for byte the one `run --report`
 * wrote; the same run gives the same bytes; bad input leaves nothing behind. The browser
 * side (console errors, a screenshot) is tests/report-browser.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "model/scn_load.h"
#include "testnet.h"
#include "tools/cli.h"
#include "tools/explain_flow.h"
#include "tools/report.h"
#include "tools/trace_path.h"
#include "tshark_util.h"

static char *tmp_root;

static char *source_path(const char *rel)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    return g_build_filename(src ? src : "..", rel, NULL);
}

static int setup(void **state)
{
    (void)state;
    tmp_root = g_dir_make_tmp("vnetsim-report-XXXXXX", NULL);
    return tmp_root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tn_remove_tree(tmp_root);
    g_free(tmp_root);
    return 0;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    GError *error = NULL;
    if (!g_file_get_contents(path, &data, NULL, &error)) {
        fail_msg("cannot read %s: %s", path, error->message);
        return NULL;
    }
    return g_steal_pointer(&data);
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected to find: %s", needle);
}

typedef struct {
    int rc;
    char *out, *err;
} Captured;

static void captured_clear(Captured *c)
{
    g_free(c->out);
    g_free(c->err);
}

/* `vnetsim run SCENARIO --out <root>/<name> --report <root>/<name>.html`; *dir and *report
 * (NULL or earlier results, freed) receive the two paths. */
static Captured run_with_report(const char *scenario, const char *name, char **dir, char **report)
{
    g_free(*dir);
    g_free(*report);
    *dir = g_build_filename(tmp_root, name, NULL);
    *report = g_strdup_printf("%s.html", *dir);
    Captured c = {0};
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    CliRunOptions opt = {scenario, *dir, 1, NULL, 0};
    c.rc = cli_run_outputs(&opt, NULL, *report, out, err);
    fclose(out);
    fclose(err);
    return c;
}

static Captured report_cmd(const char *run_dir, const char *scenario, const char *output)
{
    Captured c = {0};
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    CliReportOptions opt = {run_dir, scenario, output};
    c.rc = cli_report(&opt, out, err);
    fclose(out);
    fclose(err);
    return c;
}

static char *escaped(const char *s)
{
    return g_markup_escape_text(s, -1);
}

/* Every verdict of the trace has its row, its section and its diagram, in that report. */
static void assert_every_flow(const char *html, const ModelTrace *trace)
{
    size_t n = 0;
    const ModelVerdictRecord *v = model_trace_verdicts(trace, &n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        g_autofree char *name = escaped(v[i].flow);
        g_autofree char *row = g_strdup_printf("<tr data-verdict=\"%s\" data-target=\"flow-",
                                               model_verdict_name(v[i].verdict));
        g_autofree char *row_end = g_strdup_printf("data-flow=\"%s\">", name);
        const char *r = strstr(html, row_end);
        if (!r)
            fail_msg("no table row for %s", v[i].flow);
        /* the row's verdict is the trace's */
        const char *tr = g_strrstr_len(html, r - html, "<tr ");
        assert_non_null(tr);
        assert_true(strncmp(tr, row, strlen(row)) == 0);
        g_autofree char *section = g_strdup_printf("class=\"flow\" id=\"flow-");
        g_autofree char *svg = g_strdup_printf("<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/"
                                               "svg\"");
        g_autofree char *svg_flow = g_strdup_printf("role=\"img\" data-flow=\"%s\">", name);
        assert_has(html, section);
        assert_has(html, svg);
        if (!strstr(html, svg_flow))
            fail_msg("no sequence diagram for %s", v[i].flow);
    }
}

/* The trace of `dir` read back, for comparing with the report. */
static ModelTrace *trace_of(const char *dir, const ScnScenario *scn)
{
    g_autofree char *path = g_build_filename(dir, "trace.jsonl", NULL);
    GError *error = NULL;
    ModelTrace *t = report_read_trace(path, scn, &error);
    if (!t)
        fail_msg("%s", error->message);
    return t;
}

static void studio_p2s_report_has_every_flow_capture_and_fix(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/services/studio-p2s.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "sp", &dir, &report);
    if (c.rc != 0)
        fail_msg("run --report: %s", c.err);
    g_autofree char *html = slurp(report);
    ScnScenario *scn = scn_load(scenario, NULL);
    assert_non_null(scn);
    ModelTrace *trace = trace_of(dir, scn);
    assert_every_flow(html, trace);

    /* The drops: a cross at the deciding service, decisive, beside the fix explain gives. */
    assert_has(html, "<g class=\"drop decisive\" data-object=\"mlwsstore\">");
    assert_has(html, "<g class=\"drop decisive\" data-object=\"mlws\">");
    assert_has(html, "<td>DNS_PUBLIC_ANSWER at home-dns</td>");
    assert_has(html, "<p class=\"fix\"><b>Fix:</b> home-dns has no conditional forwarder for "
                     "blob.core.windows.net");
    /* The packets: DNS, the handshake, TLS, and the answer that refused the request. */
    assert_has(html, ">DNS query</text>");
    assert_has(html, ">DNS answer</text>");
    assert_has(html, ">SYN</text>");
    assert_has(html, ">SYN/ACK</text>");
    assert_has(html, ">ClientHello</text>");
    assert_has(html, ">ServerHello</text>");
    assert_has(html, ">response HTTP 403</text>");

    /* Every capture linked, relative to the report (it sits next to the run directory), in
     * the list and on its node of the topology. */
    g_autofree char *pcap_dir = g_build_filename(dir, "pcap", NULL);
    GDir *d = g_dir_open(pcap_dir, 0, NULL);
    assert_non_null(d);
    const char *name;
    unsigned pcaps = 0;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *link = g_strdup_printf("<a class=\"pcap\" href=\"sp/pcap/%s\">", name);
        g_autofree char *node = g_strdup_printf("xlink:href=\"sp/pcap/%s\"", name);
        assert_has(html, link);
        assert_has(html, node);
        /* What the links open: well-formed frames, every checksum good. */
        g_autofree char *path = g_build_filename(pcap_dir, name, NULL);
        if (tshark_available() && tshark_count(path, TSHARK_BAD_FRAMES) != 0)
            fail_msg("%s: tshark flags frames", name);
        pcaps++;
    }
    g_dir_close(d);
    assert_true(pcaps >= 10);
    /* Topology: the VNet, its subnets, the gateway, the endpoints, a DNS server, services. */
    assert_has(html, "VNet vnet&#45;ml 10.0.0.0/16");
    assert_has(html, "subnet snet&#45;pe 10.0.1.0/24");
    assert_has(html, "point&#45;to&#45;site clients of vpngw");
    assert_has(html, "private endpoint of mlwsstore");
    assert_has(html, "DNS server");
    assert_has(html, "Azure services (public endpoints)");

    /* Self-contained: nothing fetched from anywhere. */
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "href=\"http"));
    assert_null(strstr(html, "url(http"));
    assert_null(strstr(html, "@import"));

    model_trace_free(trace);
    scn_scenario_free(scn);
    captured_clear(&c);
}

/* The explanation beside each diagram is explain's, word for word. */
static void explanation_is_explains(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "nsg", &dir, &report);
    if (c.rc != 0)
        fail_msg("run --report: %s", c.err);
    g_autofree char *html = slurp(report);
    ScnScenario *scn = scn_load(scenario, NULL);
    ModelTrace *trace = trace_of(dir, scn);
    assert_every_flow(html, trace);
    /* The rule's name on the cross, at the node that decided. */
    assert_has(html, "<g class=\"drop decisive\" data-object=\"nsg-db/DenySshFromVnet\">");
    assert_has(html, ">nsg-db/DenySshFromVnet</text></g>");
    assert_has(html, ">SYN (retransmission 2)</text>");
    GHashTable *by_flow = trace_steps_by_flow(trace);
    const ModelVerdictRecord *v = model_trace_find_verdict(trace, "web1-db-ssh");
    assert_non_null(v);
    GString *text = g_string_new(NULL);
    explain_flow(text, scn_scenario_net(scn), scn_scenario_find_flow(scn, "web1-db-ssh"),
                 "web1-db-ssh", v, g_hash_table_lookup(by_flow, "web1-db-ssh"));
    g_autofree char *pre = escaped(text->str);
    assert_has(html, pre);
    assert_has(text->str, "fix: add an inbound rule to nsg-db");
    g_string_free(text, TRUE);
    g_hash_table_destroy(by_flow);
    model_trace_free(trace);
    scn_scenario_free(scn);
    captured_clear(&c);
}

/* `vnetsim report DIR` reads the run back and writes what `run --report` wrote; the same
 * run twice gives the same bytes. */
static void report_of_run_dir_is_run_report_and_deterministic(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/services/studio-p2s.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "det", &dir, &report);
    assert_int_equal(c.rc, 0);
    captured_clear(&c);
    g_autofree char *first = slurp(report);
    /* Same output path, same seed: same bytes. */
    c = run_with_report(scenario, "det", &dir, &report);
    assert_int_equal(c.rc, 0);
    captured_clear(&c);
    g_autofree char *second = slurp(report);
    assert_string_equal(first, second);
    /* From the run directory, to the same place: the same report. */
    c = report_cmd(dir, scenario, report);
    if (c.rc != 0)
        fail_msg("report: %s", c.err);
    g_autofree char *printed = g_strdup_printf("%s\n", report);
    assert_string_equal(c.out, printed);
    captured_clear(&c);
    g_autofree char *again = slurp(report);
    assert_string_equal(first, again);
    /* The trace read back is the trace written, byte for byte. */
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *written = slurp(trace_path);
    ScnScenario *scn = scn_load(scenario, NULL);
    ModelTrace *t = trace_of(dir, scn);
    size_t len = 0;
    assert_string_equal(model_trace_text(t, &len), written);
    model_trace_free(t);
    scn_scenario_free(scn);
    /* Default output: DIR/report.html, with links into DIR/pcap; a later run replaces it. */
    c = report_cmd(dir, scenario, NULL);
    assert_int_equal(c.rc, 0);
    g_autofree char *inside = g_build_filename(dir, "report.html", NULL);
    g_autofree char *html = slurp(inside);
    assert_has(html, "<a class=\"pcap\" href=\"pcap/laptop-nic0.pcap\">");
    captured_clear(&c);
    c = run_with_report(scenario, "det", &dir, &report);
    assert_int_equal(c.rc, 0);
    assert_false(g_file_test(inside, G_FILE_TEST_EXISTS));
    captured_clear(&c);
}

/* A run with load balancer health probes has steps of no flow ("flow":""): the run
 * directory still reads back into the very report `run --report` wrote. */
static void report_of_a_run_with_health_probes_is_the_run_report(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/aks/internal-vs-public-lb.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "aks", &dir, &report);
    assert_int_equal(c.rc, 0);
    captured_clear(&c);
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *trace = slurp(trace_path);
    assert_has(trace, "\"flow\":\"\",");
    g_autofree char *first = slurp(report);
    c = report_cmd(dir, scenario, report);
    if (c.rc != 0)
        fail_msg("report: %s", c.err);
    captured_clear(&c);
    g_autofree char *again = slurp(report);
    assert_string_equal(first, again);
}

/* A report that cannot be written stops the run before its output replaces the old one;
 * a report of any name may live inside the output directory, run after run. */
static void unwritable_report_leaves_the_old_output(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/peering.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "keep", &dir, &report);
    assert_int_equal(c.rc, 0);
    captured_clear(&c);
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *before = slurp(trace_path);
    g_autofree char *nowhere = g_build_filename(tmp_root, "no-such-dir", "r.html", NULL);
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    g_autofree char *inside = g_build_filename(dir, "view.html", NULL);
    CliRunOptions opt = {scenario, dir, 2, NULL, 0}; /* another seed: another trace */
    c.rc = cli_run_outputs(&opt, NULL, nowhere, out, err);
    fclose(out);
    fclose(err);
    assert_int_equal(c.rc, 2);
    assert_has(c.err, "cannot write the report");
    captured_clear(&c);
    g_autofree char *after = slurp(trace_path);
    assert_string_equal(before, after);
    for (int i = 0; i < 2; i++) {
        out = open_memstream(&c.out, &lo);
        err = open_memstream(&c.err, &le);
        c.rc = cli_run_outputs(&opt, NULL, inside, out, err);
        fclose(out);
        fclose(err);
        if (c.rc != 0)
            fail_msg("run %d: %s", i, c.err);
        captured_clear(&c);
        assert_true(g_file_test(inside, G_FILE_TEST_IS_REGULAR));
    }
}

static void write_file(const char *path, const char *text)
{
    if (!g_file_set_contents(path, text, -1, NULL))
        fail_msg("cannot write %s", path);
}

/* Bad input: file:line: message, exit 2, nothing written. */
static void bad_input_writes_nothing(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/services/studio-p2s.yaml");
    g_autofree char *other = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "bad", &dir, &report);
    assert_int_equal(c.rc, 0);
    captured_clear(&c);
    g_autofree char *out = g_build_filename(tmp_root, "bad-report.html", NULL);

    /* The trace of another scenario. */
    c = report_cmd(dir, other, out);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "trace.jsonl:1: flow 'studio-api' is not a flow of scenario 'nsg-order'");
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    captured_clear(&c);

    /* A line that is not the trace's. */
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *text = slurp(trace_path);
    char *second = strchr(text, '\n') + 1;
    g_autofree char *broken = g_strdup_printf("%.*s{\"type\":\"step\",\"t_ns\":\"soon\"}\n%s",
                                              (int)(second - text), text, second);
    write_file(trace_path, broken);
    c = report_cmd(dir, scenario, out);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "trace.jsonl:2: expected a non-negative integer member t_ns");
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
    captured_clear(&c);

    g_autofree char *garbled = g_strdup_printf("%.*s{not json\n", (int)(second - text), text);
    write_file(trace_path, garbled);
    c = report_cmd(dir, scenario, out);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "trace.jsonl:2: not JSON");
    captured_clear(&c);

    /* No scenario, no run directory. */
    c = report_cmd(dir, NULL, out);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "give --scenario FILE");
    captured_clear(&c);
    c = report_cmd(tmp_root, scenario, out);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "not a vnetsim run directory");
    captured_clear(&c);
    assert_false(g_file_test(out, G_FILE_TEST_EXISTS));

    /* run --report with a scenario that does not load: no directory, no report. */
    g_autofree char *bad_scn = g_build_filename(tmp_root, "bad.yaml", NULL);
    write_file(bad_scn, "scenario: x\nvnets: 3\n");
    g_autofree char *bad_dir = NULL, *bad_report = NULL;
    c = run_with_report(bad_scn, "never", &bad_dir, &bad_report);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_has(c.err, "bad.yaml:2:");
    assert_false(g_file_test(bad_dir, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(bad_report, G_FILE_TEST_EXISTS));
    captured_clear(&c);
}

/* A Bastion session's packets are its legs': the session links to their diagrams, and the
 * leg that was refused has the cross. */
static void session_links_its_legs(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/entry/bastion-jumpbox.yaml");
    g_autofree char *dir = NULL, *report = NULL;
    Captured c = run_with_report(scenario, "bastion", &dir, &report);
    if (c.rc != 0)
        fail_msg("run --report: %s", c.err);
    g_autofree char *html = slurp(report);
    const char *session = strstr(html, "data-flow=\"db-ssh\"><h3>");
    assert_non_null(session);
    const char *end = strstr(session, "</section>");
    g_autofree char *section = g_strndup(session, (gsize)(end - session));
    assert_has(section, "<p class=\"parts\">Its packets are those of its parts: <a href=\"#flow-");
    assert_has(section, ">db-ssh/browser</a>");
    assert_null(strstr(section, "<svg"));
    assert_has(html, "<g class=\"drop decisive\" data-object=\"nsg-db/DenyVnetInbound\">");
    captured_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(studio_p2s_report_has_every_flow_capture_and_fix),
        cmocka_unit_test(explanation_is_explains),
        cmocka_unit_test(report_of_run_dir_is_run_report_and_deterministic),
        cmocka_unit_test(report_of_a_run_with_health_probes_is_the_run_report),
        cmocka_unit_test(unwritable_report_leaves_the_old_output),
        cmocka_unit_test(bad_input_writes_nothing),
        cmocka_unit_test(session_links_its_legs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
