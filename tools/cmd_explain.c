/*
 * cmd_explain.c — `vnetsim explain SCENARIO.yaml [FLOW]`
 *
 * Replays the scenario as `run` does (seed 1, every flow, no captures: other flows leave
 * NSG flow records and caches that a flow may depend on) and tells, from the trace alone,
 * what each packet of a flow met: the path hop by hop, the first decision that broke it,
 * the root cause when it lies earlier or in another layer, and the documented fix with
 * the document section it comes from. Nothing is looked up in a table of outcomes: the
 * text is built from the steps and the verdict (trace.h), plus the topology where a fix
 * has to name an object the trace does not (the subnet a reply leaves from).
 *
 * The explanation itself is explain_flow.c's, shared with the teaching report (report.h),
 * so a flow reads the same in the terminal and in the browser.
 */
#include "tools/cli_why.h"

#include <glib.h>
#include <string.h>

#include "model/scn_load.h"
#include "tools/explain_flow.h"
#include "tools/trace_path.h"

#define EXPLAIN_SEED 1

static void explain_one(FILE *out, const ModelNet *net, const ScnFlow *flow, const char *name,
                        const ModelVerdictRecord *v, GPtrArray *steps)
{
    GString *text = g_string_new(NULL);
    explain_flow(text, net, flow, name, v, steps);
    fputs(text->str, out);
    g_string_free(text, TRUE);
}

/* The verdicts of a scenario flow: its own, or its activity's sub-flows ("<flow>/<part>"). */
static void verdicts_of(const ModelTrace *trace, const char *flow, GPtrArray *out)
{
    size_t n = 0;
    const ModelVerdictRecord *all = model_trace_verdicts(trace, &n);
    size_t len = strlen(flow);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].flow, flow) == 0 ||
            (strncmp(all[i].flow, flow, len) == 0 && all[i].flow[len] == '/'))
            g_ptr_array_add(out, (gpointer)&all[i]);
}

int cli_explain(const char *scenario, const char *flow_name, FILE *out, FILE *err)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load(scenario, &error);
    if (!scn) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    /* Validates the name with the loader's suggestion; the replay keeps every flow. */
    if (flow_name && !scn_scenario_find_flow(scn, flow_name) &&
        !scn_scenario_select_flows(scn, &flow_name, 1, &error)) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        scn_scenario_free(scn);
        return CLI_EXIT_USAGE;
    }
    ModelTrace *trace = model_trace_new();
    if (scn_replay(scn, EXPLAIN_SEED, NULL, trace, &error) != 0) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        model_trace_free(trace);
        scn_scenario_free(scn);
        return CLI_EXIT_USAGE;
    }
    GHashTable *by_flow = trace_steps_by_flow(trace);
    const ModelNet *net = scn_scenario_net(scn);
    unsigned explained = 0;
    for (size_t i = 0; i < scn_scenario_n_flows(scn); i++) {
        const ScnFlow *f = scn_scenario_flow(scn, i);
        if (flow_name && strcmp(f->name, flow_name) != 0)
            continue;
        GPtrArray *vs = g_ptr_array_new();
        verdicts_of(trace, f->name, vs);
        if (vs->len == 0 && flow_name) /* no verdict at all: still tell what happened */
            explain_one(out, net, f, f->name, NULL, g_hash_table_lookup(by_flow, f->name));
        for (guint k = 0; k < vs->len; k++) {
            const ModelVerdictRecord *v = vs->pdata[k];
            if (!flow_name && v->verdict == MODEL_VERDICT_DELIVERED)
                continue;
            bool own = strcmp(v->flow, f->name) == 0;
            explain_one(out, net, own ? f : NULL, v->flow, v,
                        g_hash_table_lookup(by_flow, v->flow));
            explained++;
        }
        g_ptr_array_free(vs, TRUE);
    }
    if (!flow_name && explained == 0)
        fprintf(out,
                "every flow of %s was delivered: nothing failed to explain (name a flow to see "
                "its path: vnetsim explain %s FLOW)\n",
                scn_scenario_name(scn), scenario);
    fflush(out);
    g_hash_table_destroy(by_flow);
    model_trace_free(trace);
    scn_scenario_free(scn);
    return CLI_EXIT_OK;
}

int cmd_explain(int argc, char **argv)
{
    GOptionContext *ctx = g_option_context_new(
        "SCENARIO.yaml [FLOW] - tell hop by hop why a flow failed, its root cause and the fix");
    g_option_context_set_description(
        ctx, "Replays the scenario (seed 1, no captures) and explains FLOW, or every flow\n"
             "that was not delivered: the path hop by hop (retransmissions collapsed), the\n"
             "first decision that broke it, the root cause when it lies earlier or in another\n"
             "layer, and the documented fix with its document section. For a delivered flow:\n"
             "the path and teaching notes.\n"
             "\n"
             "Exit codes: 0 explained (whatever the verdicts); 2 bad input or usage, or an\n"
             "unknown flow (file:line:col: message on stderr).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    if (!ok) {
        fprintf(stderr, "vnetsim explain: %s\n", error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "vnetsim explain: %s (see vnetsim explain --help)\n",
                argc < 2 ? "which scenario? give SCENARIO.yaml [FLOW]"
                         : "give one scenario file and at most one flow");
        return CLI_EXIT_USAGE;
    }
    return cli_explain(argv[1], argc == 3 ? argv[2] : NULL, stdout, stderr);
}
