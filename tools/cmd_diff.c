/*
 * cmd_diff.c — `vnetsim diff BASE.yaml CHANGED.yaml` and
 *              `vnetsim diff SCENARIO.yaml --change PATCH.yaml` [--all-pairs]
 *
 * A differential reachability check (as Batfish's differentialReachability compares two
 * snapshots): both configurations are replayed with the same seed, and every flow whose
 * verdict, cause or path changed is listed, base and changed side by side. The path of a
 * flow is the sequence of its decisive steps (node, stage, object, action) with
 * retransmissions collapsed (trace_path.h); NSG flow-record allows and TCP bookkeeping are
 * state rather than decisions and are left out. Paths are compared as sequences and shown
 * as a line diff ("-" base only, "+" changed only).
 *
 * The gate: exit 1 when a flow whose `expect` is `delivered` was delivered in the base and
 * is not in the changed configuration — the planned change breaks a required flow. A flow
 * broken in both is not the change's doing.
 *
 * --all-pairs catches what a change opens, which the scenario's own flows cannot: every
 * host probes every other host and private endpoint on the ports the AML activities use
 * (domain §4.3, azure-facts §5: 22, 443, 445, 53/udp, 29876-29877, 44224, 18881,
 * 5831/udp), in a separate replay so probes and flows do not share state. A probe is
 * "open" when the network let it reach its target (delivered, or answered by the target
 * itself with a reset: nothing listens, but nothing blocked it); newly opened and newly
 * closed pairs are reported and do not change the exit code.
 */
#include "tools/cli_why.h"

#include <glib.h>
#include <string.h>

#include "model/nsg.h"
#include "model/scn_load.h"
#include "tools/trace_path.h"

#define DIFF_SEED 1

static const ScnProbePort probe_ports[] = {
    {MODEL_IPPROTO_TCP, 22},    {MODEL_IPPROTO_TCP, 443},   {MODEL_IPPROTO_TCP, 445},
    {MODEL_IPPROTO_UDP, 53},    {MODEL_IPPROTO_TCP, 29876}, {MODEL_IPPROTO_TCP, 29877},
    {MODEL_IPPROTO_TCP, 44224}, {MODEL_IPPROTO_TCP, 18881}, {MODEL_IPPROTO_UDP, 5831},
    {MODEL_IPPROTO_TCP, 80},    {MODEL_IPPROTO_TCP, 3389}, /* AKS scoring, Bastion RDP */
};

/* One side: the scenario, its replay, the path of each flow. */
typedef struct {
    ScnScenario *scn;
    ModelTrace *trace;
    GHashTable *paths; /* flow name -> GPtrArray of char * signatures */
} Side;

static void side_clear(Side *s)
{
    if (s->paths)
        g_hash_table_destroy(s->paths);
    model_trace_free(s->trace);
    scn_scenario_free(s->scn);
}

static bool decisive(const ModelStepRecord *st)
{
    if (st->stage == MODEL_STAGE_TCP)
        return false;
    if ((st->stage == MODEL_STAGE_NSG_IN || st->stage == MODEL_STAGE_NSG_OUT) &&
        strcmp(st->object, "flow-record") == 0)
        return false;
    return strcmp(st->action, "ignore") != 0;
}

/* Each flow's decisive steps with retransmitted blocks kept once: a packet that crosses
 * an appliance twice (there and back) still shows twice. */
static void paths_build(Side *s)
{
    s->paths =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
    GHashTable *by_flow = trace_steps_by_flow(s->trace);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, by_flow);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        GPtrArray *all = value, *steps = g_ptr_array_new();
        for (guint i = 0; i < all->len; i++)
            if (decisive(all->pdata[i]))
                g_ptr_array_add(steps, all->pdata[i]);
        GArray *blocks = trace_collapse(steps);
        GPtrArray *p = g_ptr_array_new_with_free_func(g_free);
        for (guint b = 0; b < blocks->len; b++) {
            const TraceBlock *bl = &g_array_index(blocks, TraceBlock, b);
            for (guint i = 0; i < bl->period; i++) {
                const ModelStepRecord *st = steps->pdata[bl->start + i];
                g_ptr_array_add(p, g_strdup_printf("%s %s %s %s", st->node,
                                                   model_stage_name(st->stage), st->object,
                                                   st->action));
            }
        }
        g_hash_table_insert(s->paths, key, p);
        g_array_free(blocks, TRUE);
        g_ptr_array_free(steps, TRUE);
    }
    g_hash_table_destroy(by_flow);
}

static bool side_load(Side *s, const char *path, const char *patch, FILE *err)
{
    GError *error = NULL;
    s->scn = patch ? scn_load_patched(path, patch, &error) : scn_load(path, &error);
    if (s->scn) {
        s->trace = model_trace_new();
        if (scn_replay(s->scn, DIFF_SEED, NULL, s->trace, &error) == 0) {
            paths_build(s);
            return true;
        }
    }
    fprintf(err, "%s\n", error->message);
    g_error_free(error);
    return false;
}

/* ---- comparing ---- */

static void outcome(GString *out, const ModelVerdictRecord *v)
{
    if (!v) {
        g_string_append(out, "no verdict");
        return;
    }
    g_string_append(out, model_verdict_name(v->verdict));
    if (v->cause != MODEL_CAUSE_NONE)
        g_string_append_printf(out, " %s", model_cause_name(v->cause));
    if (*v->at)
        g_string_append_printf(out, " at %s", v->at);
    if (v->root_cause != MODEL_CAUSE_NONE)
        g_string_append_printf(out, " (root cause %s at %s)", model_cause_name(v->root_cause),
                               v->root_at);
}

static bool same_verdict(const ModelVerdictRecord *a, const ModelVerdictRecord *b)
{
    if (!a || !b)
        return a == b;
    return a->verdict == b->verdict && a->cause == b->cause && strcmp(a->at, b->at) == 0 &&
           a->root_cause == b->root_cause && strcmp(a->root_at, b->root_at) == 0;
}

static bool same_path(const GPtrArray *a, const GPtrArray *b)
{
    guint na = a ? a->len : 0, nb = b ? b->len : 0;
    if (na != nb)
        return false;
    for (guint i = 0; i < na; i++)
        if (strcmp(a->pdata[i], b->pdata[i]) != 0)
            return false;
    return true;
}

/* A line diff of two paths by longest common subsequence (paths are short). */
static void path_diff(GString *out, const GPtrArray *a, const GPtrArray *b)
{
    guint na = a ? a->len : 0, nb = b ? b->len : 0;
    guint *L = g_new0(guint, (na + 1) * (nb + 1));
#define LCS(i, j) L[(i) * (nb + 1) + (j)]
    for (guint i = na; i-- > 0;)
        for (guint j = nb; j-- > 0;)
            LCS(i, j) = strcmp(a->pdata[i], b->pdata[j]) == 0 ? LCS(i + 1, j + 1) + 1
                                                              : MAX(LCS(i + 1, j), LCS(i, j + 1));
    guint i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && strcmp(a->pdata[i], b->pdata[j]) == 0) {
            g_string_append_printf(out, "      %s\n", (const char *)a->pdata[i]);
            i++, j++;
        } else if (j < nb && (i == na || LCS(i, j + 1) >= LCS(i + 1, j))) {
            g_string_append_printf(out, "    + %s\n", (const char *)b->pdata[j++]);
        } else {
            g_string_append_printf(out, "    - %s\n", (const char *)a->pdata[i++]);
        }
    }
#undef LCS
    g_free(L);
}

/* The verdict names of a scenario flow in a trace: its own and its sub-flows'. */
static void names_of(const ModelTrace *t, const char *flow, GPtrArray *out)
{
    size_t n = 0, len = strlen(flow);
    const ModelVerdictRecord *all = model_trace_verdicts(t, &n);
    bool own = false;
    for (size_t i = 0; i < n; i++) {
        const char *f = all[i].flow;
        bool mine = strcmp(f, flow) == 0 || (strncmp(f, flow, len) == 0 && f[len] == '/');
        own = own || strcmp(f, flow) == 0;
        if (mine && !g_ptr_array_find_with_equal_func(out, f, g_str_equal, NULL))
            g_ptr_array_add(out, (gpointer)f);
    }
    if (!own && !g_ptr_array_find_with_equal_func(out, flow, g_str_equal, NULL))
        g_ptr_array_insert(out, 0, (gpointer)flow);
}

typedef struct {
    unsigned changed, regressions, opened, closed;
} Totals;

static void compare_flow(GString *out, const Side *b, const Side *c, const ScnFlow *bf,
                         const ScnFlow *cf, const char *name, Totals *t)
{
    const ModelVerdictRecord *vb = bf ? model_trace_find_verdict(b->trace, name) : NULL;
    const ModelVerdictRecord *vc = cf ? model_trace_find_verdict(c->trace, name) : NULL;
    const GPtrArray *pb = bf ? g_hash_table_lookup(b->paths, name) : NULL;
    const GPtrArray *pc = cf ? g_hash_table_lookup(c->paths, name) : NULL;
    if (bf && cf && same_verdict(vb, vc) && same_path(pb, pc))
        return;
    t->changed++;
    GString *ob = g_string_new(NULL), *oc = g_string_new(NULL);
    outcome(ob, vb);
    outcome(oc, vc);
    const ScnFlow *req = bf ? bf : cf;
    bool required = req->expect.set && req->expect.verdict == MODEL_VERDICT_DELIVERED;
    bool regression = bf && cf && required && vb && vb->verdict == MODEL_VERDICT_DELIVERED &&
                      (!vc || vc->verdict != MODEL_VERDICT_DELIVERED);
    t->regressions += regression;
    if (!bf)
        g_string_append_printf(out, "+ %s (only in the changed configuration): %s\n", name,
                               oc->str);
    else if (!cf)
        g_string_append_printf(out, "- %s (only in the base configuration): %s\n", name, ob->str);
    else
        g_string_append_printf(
            out, "%s %s%s\n    base:    %s\n    changed: %s\n", regression ? "!" : "~", name,
            regression ? ": REGRESSION, a required flow is no longer delivered" : "", ob->str,
            oc->str);
    if (bf && cf && !same_path(pb, pc)) {
        g_string_append(out, "    path (- base only, + changed only):\n");
        path_diff(out, pb, pc);
    }
    g_string_free(ob, TRUE);
    g_string_free(oc, TRUE);
}

/* ---- all pairs ---- */

static bool probe_open(const ModelVerdictRecord *v)
{
    return v && (v->verdict == MODEL_VERDICT_DELIVERED || v->cause == MODEL_CAUSE_NO_LISTENER);
}

static char *probe_key(const ScnProbe *p)
{
    return g_strdup_printf("%s\n%s\n%u\n%u", p->from, p->to, p->proto, p->port);
}

static bool probes_replay(const char *path, const char *patch, ModelTrace **trace, GArray **probes,
                          FILE *err)
{
    GError *error = NULL;
    ScnScenario *scn =
        scn_load_probes(path, patch, probe_ports, G_N_ELEMENTS(probe_ports), probes, &error);
    *trace = NULL;
    if (scn) {
        *trace = model_trace_new_verdicts_only();
        if (scn_replay(scn, DIFF_SEED, NULL, *trace, &error) == 0) {
            scn_scenario_free(scn);
            return true;
        }
    }
    fprintf(err, "%s\n", error->message);
    g_error_free(error);
    scn_scenario_free(scn);
    return false;
}

static void compare_pairs(GString *out, const ModelTrace *tb, GArray *pb, const ModelTrace *tc,
                          GArray *pc, Totals *t)
{
    GHashTable *base = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < pb->len; i++) {
        const ScnProbe *p = &g_array_index(pb, ScnProbe, i);
        g_hash_table_insert(base, probe_key(p), (gpointer)p);
    }
    GString *opened = g_string_new(NULL), *closed = g_string_new(NULL);
    for (guint i = 0; i < pc->len; i++) {
        const ScnProbe *p = &g_array_index(pc, ScnProbe, i);
        g_autofree char *key = probe_key(p);
        const ScnProbe *q = g_hash_table_lookup(base, key);
        if (!q)
            continue; /* a host of one side only: its own flows tell */
        const ModelVerdictRecord *vb = model_trace_find_verdict(tb, q->flow);
        const ModelVerdictRecord *vc = model_trace_find_verdict(tc, p->flow);
        if (probe_open(vb) == probe_open(vc))
            continue;
        GString *ob = g_string_new(NULL), *oc = g_string_new(NULL);
        outcome(ob, vb);
        outcome(oc, vc);
        char ip[MODEL_IP_STRLEN];
        model_ip_format(p->ip, ip);
        GString *into = probe_open(vc) ? opened : closed;
        g_string_append_printf(into, "  %s %s -> %s (%s) %s/%u: base %s; changed %s\n",
                               into == opened ? "opened" : "closed", p->from, p->to, ip,
                               p->proto == MODEL_IPPROTO_UDP ? "Udp" : "Tcp", p->port, ob->str,
                               oc->str);
        if (into == opened)
            t->opened++;
        else
            t->closed++;
        g_string_free(ob, TRUE);
        g_string_free(oc, TRUE);
    }
    g_string_append(out, "all pairs (22, 443, 445, 53/udp, 29876-29877, 44224, 18881, "
                         "5831/udp):\n");
    g_string_append(out, opened->str);
    g_string_append(out, closed->str);
    g_string_append_printf(out, "  %u pair%s newly opened, %u newly closed\n", t->opened,
                           t->opened == 1 ? "" : "s", t->closed);
    g_string_free(opened, TRUE);
    g_string_free(closed, TRUE);
    g_hash_table_destroy(base);
}

int cli_diff(const CliDiffOptions *opt, FILE *out, FILE *err)
{
    Side b = {0}, c = {0};
    const char *changed_path = opt->changed ? opt->changed : opt->base;
    if (!side_load(&b, opt->base, NULL, err) || !side_load(&c, changed_path, opt->patch, err)) {
        side_clear(&b);
        side_clear(&c);
        return CLI_EXIT_USAGE;
    }
    ModelTrace *tb = NULL, *tc = NULL;
    GArray *pb = NULL, *pc = NULL;
    if (opt->all_pairs && (!probes_replay(opt->base, NULL, &tb, &pb, err) ||
                           !probes_replay(changed_path, opt->patch, &tc, &pc, err))) {
        model_trace_free(tb);
        model_trace_free(tc);
        scn_probes_free(pb);
        scn_probes_free(pc);
        side_clear(&b);
        side_clear(&c);
        return CLI_EXIT_USAGE;
    }
    GString *o = g_string_new(NULL);
    Totals t = {0};
    for (int pass = 0; pass < 2; pass++) {
        const Side *s = pass == 0 ? &b : &c;
        for (size_t i = 0; i < scn_scenario_n_flows(s->scn); i++) {
            const ScnFlow *f = scn_scenario_flow(s->scn, i);
            const ScnFlow *bf = scn_scenario_find_flow(b.scn, f->name);
            const ScnFlow *cf = scn_scenario_find_flow(c.scn, f->name);
            if (pass == 1 && bf)
                continue; /* compared in the first pass */
            GPtrArray *names = g_ptr_array_new();
            if (bf)
                names_of(b.trace, f->name, names);
            if (cf)
                names_of(c.trace, f->name, names);
            for (guint k = 0; k < names->len; k++)
                compare_flow(o, &b, &c, bf, cf, names->pdata[k], &t);
            g_ptr_array_free(names, TRUE);
        }
    }
    if (opt->all_pairs)
        compare_pairs(o, tb, pb, tc, pc, &t);
    g_string_append_printf(o, "%u flow%s changed, %u regression%s\n", t.changed,
                           t.changed == 1 ? "" : "s", t.regressions, t.regressions == 1 ? "" : "s");
    fputs(o->str, out);
    fflush(out);
    g_string_free(o, TRUE);
    model_trace_free(tb);
    model_trace_free(tc);
    scn_probes_free(pb);
    scn_probes_free(pc);
    side_clear(&b);
    side_clear(&c);
    return t.regressions ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

int cmd_diff(int argc, char **argv)
{
    char *patch = NULL;
    gboolean all_pairs = FALSE;
    GOptionEntry entries[] = {
        {"change", 'c', 0, G_OPTION_ARG_FILENAME, &patch,
         "apply the patch file to SCENARIO.yaml instead of giving CHANGED.yaml", "PATCH.yaml"},
        {"all-pairs", 0, 0, G_OPTION_ARG_NONE, &all_pairs,
         "also probe every host pair on the activities' ports (22, 443, 445, 53/udp, "
         "29876-29877, 44224, 18881, 5831/udp)",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new(
        "BASE.yaml CHANGED.yaml | SCENARIO.yaml --change PATCH.yaml - what a change does");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Replays both configurations (seed 1) and lists every flow whose verdict, cause or\n"
             "path changed, base and changed side by side; the path's steps are diffed line\n"
             "by line (- base only, + changed only). The patch format is in\n"
             "scenarios/README.md (\"Patches\").\n"
             "\n"
             "Exit codes: 0 no required flow broke; 1 a flow whose expect is delivered was\n"
             "delivered in the base and is not after the change; 2 bad input or usage\n"
             "(file:line:col: message on stderr).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    int rc = CLI_EXIT_USAGE;
    if (!ok) {
        fprintf(stderr, "vnetsim diff: %s\n", error->message);
        g_error_free(error);
    } else if (patch ? argc != 2 : argc != 3) {
        fprintf(stderr, "vnetsim diff: %s (see vnetsim diff --help)\n",
                patch ? "give one SCENARIO.yaml with --change PATCH.yaml"
                      : "give BASE.yaml and CHANGED.yaml, or SCENARIO.yaml --change PATCH.yaml");
    } else {
        CliDiffOptions opt = {
            .base = argv[1],
            .changed = patch ? NULL : argv[2],
            .patch = patch,
            .all_pairs = all_pairs,
        };
        rc = cli_diff(&opt, stdout, stderr);
    }
    g_free(patch);
    return rc;
}
