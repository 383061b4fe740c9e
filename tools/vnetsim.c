/*
 * vnetsim — the command line (contract.md §1).
 *
 * Subcommands implemented so far: `demo` (a built-in topology replayed packet by packet,
 * until scenario files land) and `causes` (the stable cause names). Exit codes: 0 all
 * good, 1 an expectation failed, 2 bad input or usage.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "model/cause.h"
#include "tools/cli.h"
#include "tools/cli_why.h"
#include "tools/demo.h"
#include "tools/report.h"

#define EXIT_USAGE 2

static const char *const usage_text =
    "Usage: vnetsim SUBCOMMAND [OPTIONS]\n"
    "\n"
    "Replays the network traffic of a secured Azure Machine Learning workspace packet by\n"
    "packet, writing pcap captures and a trace of every decision.\n"
    "\n"
    "Subcommands:\n"
    "  run       replay a scenario file (writes pcaps and trace.jsonl, prints each flow)\n"
    "  check     replay scenarios and compare each flow with its expect\n"
    "  explain   tell hop by hop why a flow failed: cause, root cause, documented fix\n"
    "  diff      replay two configurations (or one and a patch) and list what changed\n"
    "  lint      report configuration findings without simulating\n"
    "  report    write the teaching report (HTML) of a run: topology, packets, explanations\n"
    "  demo      replay the built-in demonstration topology (writes pcaps and trace.jsonl)\n"
    "  causes    list the drop causes a trace can name\n"
    "\n"
    "Options:\n"
    "  --version   print the version\n"
    "  --help      this text; SUBCOMMAND --help for a subcommand's options\n";

static int cmd_causes(int argc, char **argv)
{
    GOptionContext *ctx = g_option_context_new("- list the drop causes a trace can name");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    if (!ok) {
        fprintf(stderr, "vnetsim causes: %s\n", error->message);
        g_error_free(error);
        return EXIT_USAGE;
    }
    for (int c = MODEL_CAUSE_NONE + 1; c < MODEL_CAUSE_COUNT; c++)
        printf("%-32s %-9s %s%s\n", model_cause_name((ModelCause)c),
               model_cause_group((ModelCause)c), model_cause_text((ModelCause)c),
               model_cause_is_root_only((ModelCause)c) ? " (root cause only)" : "");
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    char *out = NULL;
    gint64 seed = 1;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "output directory (default out/demo)", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "random seed (default 1)", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("- replay the built-in demonstration topology");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    if (!ok || argc > 1) {
        fprintf(stderr, "vnetsim demo: %s\n", error ? error->message : "unexpected argument");
        g_clear_error(&error);
        g_free(out);
        return EXIT_USAGE;
    }
    int rc = vnetsim_demo_run(out ? out : "out/demo", (uint64_t)seed, stdout, &error);
    if (rc == EXIT_USAGE || error) {
        fprintf(stderr, "vnetsim demo: %s\n", error ? error->message : "failed");
        g_clear_error(&error);
    }
    g_free(out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0) {
        printf("vnetsim %s\n", VNETSIM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    /* Subcommands parse their own options; argv[1] becomes their program name. */
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "causes") == 0)
        return cmd_causes(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return cmd_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "lint") == 0)
        return cmd_lint(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "vnetsim: unknown subcommand '%s'\n\n%s", cmd, usage_text);
    return EXIT_USAGE;
}
