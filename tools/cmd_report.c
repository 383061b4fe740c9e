/*
 * cmd_report.c — `vnetsim report OUTDIR --scenario FILE [--output FILE]`
 *
 * The report of a run made earlier: its trace read back (report_read_trace), its captures
 * listed, the topology and the flows' expectations from the scenario. The scenario has to
 * be named because a run directory holds only what the contract puts there (trace.jsonl and
 * pcap/); the trace is checked against it, so a report never pairs one scenario's picture
 * with another's packets.
 */
#include <glib.h>
#include <stdio.h>

#include "tools/cli.h"
#include "tools/report.h"

int cli_report(const CliReportOptions *opt, FILE *out, FILE *err)
{
    if (!opt->scenario) {
        fprintf(err, "%s: which scenario did this run replay? give --scenario FILE\n",
                opt->run_dir);
        return CLI_EXIT_USAGE;
    }
    g_autofree char *trace_path = g_build_filename(opt->run_dir, "trace.jsonl", NULL);
    g_autofree char *pcap_dir = g_build_filename(opt->run_dir, "pcap", NULL);
    if (!g_file_test(trace_path, G_FILE_TEST_IS_REGULAR)) {
        fprintf(err, "%s: not a vnetsim run directory (no trace.jsonl): give the --out of a run\n",
                opt->run_dir);
        return CLI_EXIT_USAGE;
    }
    g_autofree char *output =
        opt->output ? g_strdup(opt->output) : g_build_filename(opt->run_dir, "report.html", NULL);
    GError *error = NULL;
    ModelTrace *trace = NULL;
    char *html = NULL;
    ScnScenario *scn = scn_load(opt->scenario, &error);
    if (scn)
        trace = report_read_trace(trace_path, scn, &error);
    if (trace) {
        ReportInput in = {.scn = scn,
                          .trace = trace,
                          .pcap_dir = pcap_dir,
                          .pcap_final = pcap_dir,
                          .report_path = output};
        html = report_html(&in, &error);
    }
    int rc = CLI_EXIT_USAGE;
    if (html && report_write_file(output, html, &error)) {
        fprintf(out, "%s\n", output);
        rc = CLI_EXIT_OK;
    }
    if (error) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
    }
    g_free(html);
    model_trace_free(trace);
    scn_scenario_free(scn);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    char *scenario = NULL, *output = NULL, *service_tags = NULL;
    GOptionEntry entries[] = {
        {"scenario", 's', 0, G_OPTION_ARG_FILENAME, &scenario,
         "the scenario the run replayed (required)", "FILE"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "where to write the report (default OUTDIR/report.html); replaced atomically", "FILE"},
        {"service-tags", 0, 0, G_OPTION_ARG_FILENAME, &service_tags,
         "the service tags JSON the run started from, if it used --service-tags", "FILE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new(
        "OUTDIR - write the teaching report (one HTML file) of a run's output directory");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Reads OUTDIR/trace.jsonl and lists OUTDIR/pcap/, loads the scenario for the\n"
             "topology and the expectations, and writes one self-contained HTML file: the\n"
             "topology drawn by Graphviz with its capture points, a filterable table of the\n"
             "flows, and per flow a sequence diagram of its packets beside the text of\n"
             "`vnetsim explain`. Prints the report's path. `vnetsim run SCENARIO --report FILE`\n"
             "does the same as part of the run.\n"
             "\n"
             "Exit codes: 0 written; 2 bad input or usage (file:line: message on stderr,\n"
             "nothing written).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    int rc = CLI_EXIT_USAGE;
    if (!ok) {
        fprintf(stderr, "vnetsim report: %s\n", error->message);
    } else if (argc != 2) {
        fprintf(stderr, "vnetsim report: %s (see vnetsim report --help)\n",
                argc < 2 ? "which run? give OUTDIR" : "give one output directory");
    } else if (!scenario) {
        fprintf(stderr,
                "vnetsim report: which scenario did %s replay? give --scenario FILE (see "
                "vnetsim report --help)\n",
                argv[1]);
    } else {
        scn_set_service_tags_file(service_tags);
        CliReportOptions opt = {.run_dir = argv[1], .scenario = scenario, .output = output};
        rc = cli_report(&opt, stdout, stderr);
    }
    g_clear_error(&error);
    g_free(scenario);
    g_free(output);
    g_free(service_tags);
    return rc;
}
