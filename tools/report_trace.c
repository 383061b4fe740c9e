/*
 * report_trace.c — a run's trace.jsonl read back (report.h), for `vnetsim report OUTDIR`.
 *
 * The reader accepts exactly what model/trace.c writes (contract.md §2) and rebuilds the
 * in-memory trace with the same records, so the report of a run directory is the report
 * `run --report` would have written. Anything else is refused at its line: a report drawn
 * from a guess would teach the wrong thing.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "tools/report.h"

G_DEFINE_QUARK(vnetsim - report - error - quark, report_error)

typedef struct {
    const char *path;
    guint line;
    JsonObject *obj;
    GError **error;
} Line;

static gboolean fail(const Line *l, const char *what, const char *key)
{
    g_set_error(l->error, REPORT_ERROR, 0, "%s:%u: %s%s%s", l->path, l->line, what, key ? " " : "",
                key ? key : "");
    return FALSE;
}

static gboolean get_string(const Line *l, const char *key, const char **out)
{
    JsonNode *n = json_object_get_member(l->obj, key);
    if (!n || json_node_get_value_type(n) != G_TYPE_STRING)
        return fail(l, "expected a string member", key);
    *out = json_node_get_string(n);
    return TRUE;
}

static gboolean get_u64(const Line *l, const char *key, uint64_t *out)
{
    JsonNode *n = json_object_get_member(l->obj, key);
    if (!n || json_node_get_value_type(n) != G_TYPE_INT64 || json_node_get_int(n) < 0)
        return fail(l, "expected a non-negative integer member", key);
    *out = (uint64_t)json_node_get_int(n);
    return TRUE;
}

static gboolean get_stage(const Line *l, ModelStage *out)
{
    const char *name;
    if (!get_string(l, "stage", &name))
        return FALSE;
    for (int s = 0; s < MODEL_STAGE_COUNT; s++)
        if (strcmp(model_stage_name((ModelStage)s), name) == 0) {
            *out = (ModelStage)s;
            return TRUE;
        }
    return fail(l, "unknown stage", name);
}

/* "DNS_PUBLIC_ANSWER at home-dns", "DNS_PUBLIC_ANSWER" or "" (none). */
static gboolean get_root_cause(const Line *l, ModelCause *cause, char **at)
{
    const char *text;
    if (!get_string(l, "root_cause", &text))
        return FALSE;
    *cause = MODEL_CAUSE_NONE;
    if (!*text) {
        *at = g_strdup("");
        return TRUE;
    }
    const char *sep = strstr(text, " at ");
    g_autofree char *name = sep ? g_strndup(text, (gsize)(sep - text)) : g_strdup(text);
    if (!model_cause_from_name(name, cause))
        return fail(l, "unknown root cause", name);
    *at = g_strdup(sep ? sep + 4 : "");
    return TRUE;
}

/* The flow is the scenario's, or a sub-flow of one of its activities; "" is a step of no
 * flow (a load balancer's health probe), as model/trace.c writes it. */
static gboolean flow_known(const Line *l, const ScnScenario *scn, const char *flow)
{
    if (!scn || !*flow || scn_scenario_find_flow(scn, flow))
        return TRUE;
    for (const char *slash = strchr(flow, '/'); slash; slash = strchr(slash + 1, '/')) {
        g_autofree char *parent = g_strndup(flow, (gsize)(slash - flow));
        if (scn_scenario_find_flow(scn, parent))
            return TRUE;
    }
    g_autofree char *what =
        g_strdup_printf("flow '%s' is not a flow of scenario '%s' (%s): is this the run of "
                        "another scenario?",
                        flow, scn_scenario_name(scn), scn_scenario_path(scn));
    return fail(l, what, NULL);
}

static gboolean read_step(const Line *l, const ScnScenario *scn, ModelTrace *trace)
{
    ModelStepRecord s = {0};
    if (!get_u64(l, "t_ns", &s.t_ns) || !get_string(l, "flow", &s.flow) ||
        !get_u64(l, "frame", &s.frame) || !get_string(l, "node", &s.node) ||
        !get_stage(l, &s.stage) || !get_string(l, "object", &s.object) ||
        !get_string(l, "action", &s.action) || !get_string(l, "detail", &s.detail) ||
        !flow_known(l, scn, s.flow))
        return FALSE;
    model_trace_step(trace, &s);
    return TRUE;
}

static gboolean read_verdict(const Line *l, const ScnScenario *scn, ModelTrace *trace)
{
    ModelVerdictRecord v = {0};
    const char *verdict, *cause;
    g_autofree char *root_at = NULL;
    if (!get_string(l, "flow", &v.flow) || !get_string(l, "verdict", &verdict) ||
        !get_string(l, "cause", &cause) || !get_string(l, "at", &v.at) ||
        !get_root_cause(l, &v.root_cause, &root_at) || !get_string(l, "hint", &v.hint) ||
        !get_u64(l, "t_ns", &v.t_ns) || !flow_known(l, scn, v.flow))
        return FALSE;
    if (!model_verdict_from_name(verdict, &v.verdict))
        return fail(l, "unknown verdict", verdict);
    if (!*cause) /* delivered */
        v.cause = MODEL_CAUSE_NONE;
    else if (!model_cause_from_name(cause, &v.cause))
        return fail(l, "unknown cause", cause);
    v.root_at = root_at;
    model_trace_verdict(trace, &v);
    return TRUE;
}

ModelTrace *report_read_trace(const char *path, const ScnScenario *scn, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    GError *io = NULL;
    if (!g_file_get_contents(path, &text, &len, &io)) {
        g_set_error(error, REPORT_ERROR, 0, "%s: %s", path, io->message);
        g_error_free(io);
        return NULL;
    }
    ModelTrace *trace = model_trace_new();
    JsonParser *parser = json_parser_new();
    Line l = {.path = path, .error = error};
    gboolean ok = TRUE;
    /* strtok_r would skip empty lines and so miscount them; split by hand instead. */
    for (char *p = text, *end; ok && p < text + len; p = end + 1) {
        end = strchr(p, '\n');
        if (!end)
            end = text + len;
        *end = '\0';
        l.line++;
        GError *perr = NULL;
        if (!json_parser_load_from_data(parser, p, -1, &perr)) {
            g_autofree char *what = g_strdup_printf("not JSON: %s", perr->message);
            g_error_free(perr);
            ok = fail(&l, what, NULL);
            break;
        }
        JsonNode *root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
            ok = fail(&l, "expected one JSON object per line", NULL);
            break;
        }
        l.obj = json_node_get_object(root);
        const char *type = NULL;
        if (!get_string(&l, "type", &type))
            ok = FALSE;
        else if (strcmp(type, "step") == 0)
            ok = read_step(&l, scn, trace);
        else if (strcmp(type, "verdict") == 0)
            ok = read_verdict(&l, scn, trace);
        else
            ok = fail(&l, "unknown record type", type);
    }
    g_object_unref(parser);
    if (!ok) {
        model_trace_free(trace);
        return NULL;
    }
    return trace;
}
