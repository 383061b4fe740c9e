/*
 * report.h — the teaching report: one self-contained HTML file per run.
 *
 * It shows the topology (laid out by Graphviz, in-process through libgvc, inlined as SVG),
 * the table of flows with their verdicts (filterable), and per flow a sequence diagram of
 * its packets across the nodes they met, each drop a red cross at the deciding node naming
 * the rule, beside the text `vnetsim explain` prints for it (explain_flow.h). Captures are
 * links relative to the report. No network access is needed to open it: CSS, SVG and the
 * few lines of script are inline.
 *
 * The same scenario, trace and paths give the same bytes: nothing in it depends on the
 * clock, the host or a hash table's order.
 */
#ifndef VNETSIM_TOOLS_REPORT_H
#define VNETSIM_TOOLS_REPORT_H

#include <glib.h>
#include <stdio.h>

#include "model/scn_load.h"
#include "model/trace.h"

#define REPORT_ERROR (report_error_quark())
GQuark report_error_quark(void);

typedef struct {
    const ScnScenario *scn;  /* the scenario the run replayed: topology, flows, expects */
    const ModelTrace *trace; /* the run's trace */
    const char *pcap_dir;    /* where the captures are now: their names are listed there */
    const char *pcap_final;  /* where they will be when the report is read (links) */
    const char *report_path; /* where the report will be: links are relative to it */
} ReportInput;

/* The report as one HTML document (the caller frees it), or NULL with *error when Graphviz
 * could not lay out the topology. */
char *report_html(const ReportInput *in, GError **error);

/* Writes text to path atomically (a hidden temporary sibling renamed over it). */
gboolean report_write_file(const char *path, const char *text, GError **error);

/* Reads a run's trace.jsonl back into a trace. Every flow must be one of scn's flows or one
 * of their activities' sub-flows ("<flow>/<part>"): a trace of another scenario is refused.
 * NULL with *error ("trace.jsonl:LINE: what is wrong") for anything vnetsim does not write. */
ModelTrace *report_read_trace(const char *path, const ScnScenario *scn, GError **error);

/* ---- `vnetsim report OUTDIR --scenario FILE [--output FILE]` ---- */

typedef struct {
    const char *run_dir;  /* a `vnetsim run` output: trace.jsonl and pcap/ */
    const char *scenario; /* the scenario that run replayed */
    const char *output;   /* NULL: run_dir/report.html */
} CliReportOptions;

/* Builds the report of an existing run and prints where it went. CLI_EXIT_OK, or
 * CLI_EXIT_USAGE with `file:line: message` on `err` and nothing written. */
int cli_report(const CliReportOptions *opt, FILE *out, FILE *err);
int cmd_report(int argc, char **argv);

#endif
