/*
 * cmd_lint.c — `vnetsim lint SCENARIO.yaml [--checks]`
 *
 * Loads the scenario (the loader's own checks run first: a file that does not load exits 2
 * with its file:line:col message) and runs the table of checks in model/lint.c on the
 * finalized network, without replaying anything. One line per finding:
 *
 *   error nsg-db/AllowSshFromWeb1: never matches: … [azure-facts §1]
 *
 * A clean scenario prints nothing (the Unix way: silence is success). Exit 1 when any
 * finding is an error, so lint gates a pipeline the way `check` does.
 */
#include "tools/cli_why.h"

#include <glib.h>

#include "model/lint.h"
#include "model/scn_load.h"

int cli_lint(const char *scenario, bool with_info, FILE *out, FILE *err)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load(scenario, &error);
    if (!scn) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    GPtrArray *findings = model_lint_net(scn_scenario_net(scn));
    bool errors = false;
    for (guint i = 0; i < findings->len; i++) {
        const ModelLintFinding *f = findings->pdata[i];
        errors = errors || f->severity == MODEL_LINT_ERROR;
        /* Info findings describe normal patterns (a deny with allow exceptions above it,
         * a service tag's reach): shown on request, so a clean scenario prints nothing. */
        if (f->severity == MODEL_LINT_INFO && !with_info)
            continue;
        fprintf(out, "%s %s: %s [%s]\n", model_lint_severity_name(f->severity), f->object,
                f->message, f->doc);
    }
    fflush(out);
    g_ptr_array_free(findings, TRUE);
    scn_scenario_free(scn);
    return errors ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

void cli_lint_list_checks(FILE *out)
{
    for (size_t i = 0; i < model_lint_n_checks(); i++) {
        const ModelLintCheckInfo *c = model_lint_check(i);
        fprintf(out, "%-28s %s [%s]", c->id, c->what, c->doc);
        if (c->needs)
            fprintf(out, " (waits for %s)", c->needs);
        fputc('\n', out);
    }
}

int cmd_lint(int argc, char **argv)
{
    gboolean list = FALSE, info = FALSE;
    GOptionEntry entries[] = {
        {"info", 0, 0, G_OPTION_ARG_NONE, &info,
         "also print info findings (normal patterns worth knowing, e.g. what a service tag "
         "allows)",
         NULL},
        {"checks", 0, 0, G_OPTION_ARG_NONE, &list,
         "list the checks (active, or waiting for a schema key) and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx =
        g_option_context_new("SCENARIO.yaml - report configuration findings without simulating");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Prints one line per finding, \"severity object: message [doc §]\": NSG rules that\n"
             "can never match or that higher rules partly override, overlapping address\n"
             "spaces, and the documented pitfalls (domain.md §6, azure-facts.md). A clean\n"
             "scenario prints nothing (info findings only with --info).\n"
             "\n"
             "Exit codes: 0 no error finding; 1 an error finding; 2 bad input or usage\n"
             "(file:line:col: message on stderr).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    if (!ok) {
        fprintf(stderr, "vnetsim lint: %s\n", error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    if (list) {
        cli_lint_list_checks(stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 2) {
        fprintf(stderr, "vnetsim lint: %s (see vnetsim lint --help)\n",
                argc < 2 ? "which scenario? give SCENARIO.yaml" : "give one scenario file");
        return CLI_EXIT_USAGE;
    }
    return cli_lint(argv[1], info, stdout, stderr);
}
