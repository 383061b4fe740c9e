/*
 * cli_why.h — the subcommands that answer "why" and "what if" (contract.md §1):
 * `vnetsim explain`, `vnetsim diff` and `vnetsim lint`.
 *
 * As in cli.h, cmd_*() parses the command line and cli_*() does the work with its streams
 * passed in, so tests drive the same code in-process. Exit codes: CLI_EXIT_OK,
 * CLI_EXIT_FAILED (diff: a required flow broke; lint: an error finding), CLI_EXIT_USAGE
 * (bad input: `file:line:col: message` on the error stream, nothing written to `out`).
 */
#ifndef VNETSIM_TOOLS_CLI_WHY_H
#define VNETSIM_TOOLS_CLI_WHY_H

#include <stdbool.h>
#include <stdio.h>

#include "tools/cli.h"

/* ---- explain ---- */

/*
 * Replays the scenario (seed 1, no captures) and explains `flow` (NULL: every flow that was
 * not delivered; when every flow was, says so): the path hop by hop with retransmissions
 * collapsed, the first decision that broke it, the root cause when it lies earlier or in
 * another layer, and the documented fix with its document section; for a delivered flow,
 * the path and teaching notes. `explain` reports, like `run`: CLI_EXIT_OK once explained,
 * CLI_EXIT_USAGE for bad input or an unknown flow (with a suggestion).
 */
int cli_explain(const char *scenario, const char *flow, FILE *out, FILE *err);

/* ---- diff ---- */

typedef struct {
    const char *base;    /* BASE.yaml or SCENARIO.yaml */
    const char *changed; /* CHANGED.yaml; NULL with `patch` */
    const char *patch;   /* PATCH.yaml (--change); NULL with `changed` */
    bool all_pairs;      /* also probe every host pair on the activities' ports */
} CliDiffOptions;

/*
 * Replays both sides and prints each flow whose verdict, cause or path changed, base and
 * changed side by side; with all_pairs, also the host pairs newly opened or closed. Exit:
 * CLI_EXIT_FAILED when a flow whose expect is `delivered` was delivered in the base and is
 * not in the changed side; CLI_EXIT_OK otherwise; CLI_EXIT_USAGE for bad input.
 */
int cli_diff(const CliDiffOptions *opt, FILE *out, FILE *err);

/* ---- lint ---- */

/* Prints one line per finding, `severity object: message [doc §]`, then nothing else
 * (silence is a clean scenario). CLI_EXIT_FAILED when any finding is an error. */
int cli_lint(const char *scenario, bool with_info, FILE *out, FILE *err);
/* The check table: id, status (active, or the schema keys it waits for), doc, what. */
void cli_lint_list_checks(FILE *out);

int cmd_explain(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_lint(int argc, char **argv);

#endif
