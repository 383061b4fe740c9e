/*
 * cli.h — the `vnetsim run` and `vnetsim check` subcommands (contract.md §1).
 *
 * Each subcommand is split in two: cmd_*() parses the command line (GOptionContext, with
 * --help) and cli_*() does the work with its streams passed in, so tests drive the same
 * code in-process. Exit codes, for every subcommand: CLI_EXIT_OK, CLI_EXIT_FAILED (an
 * expectation failed), CLI_EXIT_USAGE (bad input or usage; a `file:line:col: message` on
 * the error stream, nothing left behind).
 */
#ifndef VNETSIM_TOOLS_CLI_H
#define VNETSIM_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/trace.h"

#define CLI_EXIT_OK     0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE  2

/* One summary line per flow, as `vnetsim demo` prints it: name, verdict, cause, where.
 * v NULL: the flow ended without a verdict. */
void cli_print_flow_line(FILE *out, const char *flow, const ModelVerdictRecord *v);

/* ---- run ---- */

typedef struct {
    const char *scenario;     /* SCENARIO.yaml */
    const char *out_dir;      /* NULL: out/<scenario-name> */
    uint64_t seed;            /* the engine's seed (vnetsim run's default is 1) */
    const char *const *flows; /* --flow names; n_flows == 0: every flow */
    size_t n_flows;
} CliRunOptions;

/*
 * Loads and replays the scenario, writes out_dir/trace.jsonl and out_dir/pcap/<capture>.pcap, and
 * prints one line per replayed flow (file order) to `out`. The outputs are built in a
 * temporary sibling directory (".<name>.tmp-XXXXXX") and renamed into place, replacing an
 * older output directory in one step; on any failure the temporary directory is removed
 * and an older output is left untouched. An existing out_dir that does not look like a
 * vnetsim output (anything besides trace.jsonl and pcap/<capture>.pcap) is never replaced.
 * `run` reports, `check` judges: expectations do not change the exit code.
 * Returns CLI_EXIT_OK or CLI_EXIT_USAGE (message on `err`).
 */
int cli_run(const CliRunOptions *opt, FILE *out, FILE *err);
/* cli_run, also writing Azure VNet flow log records (model/flowlog.h) to `flow_log` (NULL:
 * none): built from the captures and the trace, written to a hidden temporary sibling and
 * renamed onto flow_log once the output directory is committed, so a failure leaves
 * neither half. */
int cli_run_flow_log(const CliRunOptions *opt, const char *flow_log, FILE *out, FILE *err);
/* cli_run_flow_log, also writing the teaching report (tools/report.h) to `report` (NULL:
 * none): rendered before the output directory is committed, so a failure leaves nothing;
 * written (atomically) after, its capture links pointing into the committed directory. */
int cli_run_outputs(const CliRunOptions *opt, const char *flow_log, const char *report, FILE *out,
                    FILE *err);

/* Test hook: when set, called with the filled temporary directory just before it is
 * renamed into place; a nonzero return makes the run fail there (as a crash or a full disk
 * would). NULL in production. */
extern int (*cli_run_before_commit)(const char *tmp_dir);

/* ---- check ---- */

typedef struct {
    const char *const *paths; /* files, or directories searched recursively for *.yaml */
    size_t n_paths;
    const char *junit; /* NULL: no JUnit XML */
    unsigned jobs;     /* scenarios replayed in parallel; 0 or 1: one at a time */
} CliCheckOptions;

/*
 * Replays every scenario (seed 1, no captures) and compares each flow with its expect.
 * Prints "PASS scenario/flow: outcome", "FAIL scenario/flow: expected X, got Y" or
 * "SKIP scenario/flow: no expect (got Y)" per flow, in path order whatever `jobs` is, then
 * exactly "N passed, M failed". A file that does not load is reported on `err` with its
 * file:line:col message, the others are still checked, and the exit code is then
 * CLI_EXIT_USAGE; otherwise CLI_EXIT_FAILED when any flow failed, else CLI_EXIT_OK. With
 * opt->junit, JUnit XML is written there atomically (load errors included as <error>).
 */
int cli_check(const CliCheckOptions *opt, FILE *out, FILE *err);

/* The subcommands: argv[0] is the subcommand's name. */
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
