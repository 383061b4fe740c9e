#include "model/trace.h"

#include <stdbool.h>
#include <string.h>

struct ModelTrace {
    GStringChunk *strings;       /* interned copies: a flow name is stored once, not per step */
    GArray *steps;               /* ModelStepRecord */
    GArray *verdicts;            /* ModelVerdictRecord */
    GHashTable *verdict_by_flow; /* flow -> index+1 in verdicts */
    GString *jsonl;
    bool verdicts_only;
    uint64_t n_steps;
    ModelVerdictObserver observer;
    void *observer_ctx;
};

ModelTrace *model_trace_new(void)
{
    ModelTrace *t = g_new0(ModelTrace, 1);
    t->strings = g_string_chunk_new(4096);
    t->steps = g_array_new(FALSE, FALSE, sizeof(ModelStepRecord));
    t->verdicts = g_array_new(FALSE, FALSE, sizeof(ModelVerdictRecord));
    t->verdict_by_flow = g_hash_table_new(g_str_hash, g_str_equal);
    t->jsonl = g_string_sized_new(4096);
    return t;
}

ModelTrace *model_trace_new_verdicts_only(void)
{
    ModelTrace *t = model_trace_new();
    t->verdicts_only = true;
    return t;
}

uint64_t model_trace_step_count(const ModelTrace *t)
{
    return t->n_steps;
}

void model_trace_free(ModelTrace *t)
{
    if (!t)
        return;
    g_string_chunk_free(t->strings);
    g_array_free(t->steps, TRUE);
    g_array_free(t->verdicts, TRUE);
    g_hash_table_destroy(t->verdict_by_flow);
    g_string_free(t->jsonl, TRUE);
    g_free(t);
}

static const char *intern(ModelTrace *t, const char *s)
{
    return g_string_chunk_insert_const(t->strings, s ? s : "");
}

void model_json_append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

static void append_key(GString *out, const char *key, const char *value)
{
    g_string_append_printf(out, ",\"%s\":", key);
    model_json_append_string(out, value);
}

void model_trace_step(ModelTrace *t, const ModelStepRecord *step)
{
    t->n_steps++;
    if (t->verdicts_only)
        return;
    ModelStepRecord r = *step;
    r.flow = intern(t, step->flow);
    r.node = intern(t, step->node);
    r.object = intern(t, step->object);
    r.action = intern(t, step->action);
    r.detail = intern(t, step->detail);
    g_array_append_val(t->steps, r);

    GString *o = t->jsonl;
    g_string_append_printf(o, "{\"type\":\"step\",\"t_ns\":%" G_GUINT64_FORMAT, r.t_ns);
    append_key(o, "flow", r.flow);
    g_string_append_printf(o, ",\"frame\":%" G_GUINT64_FORMAT, r.frame);
    append_key(o, "node", r.node);
    append_key(o, "stage", model_stage_name(r.stage));
    append_key(o, "object", r.object);
    append_key(o, "action", r.action);
    append_key(o, "detail", r.detail);
    g_string_append(o, "}\n");
}

static void append_verdict_json(ModelTrace *t, const ModelVerdictRecord *rec);

void model_trace_verdict(ModelTrace *t, const ModelVerdictRecord *verdict)
{
    ModelVerdictRecord r = *verdict;
    r.flow = intern(t, verdict->flow);
    r.at = intern(t, verdict->at);
    r.root_at = intern(t, verdict->root_at);
    r.hint = intern(t, verdict->hint);
    g_array_append_val(t->verdicts, r);
    g_hash_table_replace(t->verdict_by_flow, (gpointer)r.flow, GUINT_TO_POINTER(t->verdicts->len));
    if (!t->verdicts_only)
        append_verdict_json(t, &r);
    if (t->observer) /* a copy: the observer may append verdicts, moving the array */
        t->observer(&r, t->observer_ctx);
}

void model_trace_observe_verdicts(ModelTrace *t, ModelVerdictObserver fn, void *ctx)
{
    t->observer = fn;
    t->observer_ctx = ctx;
}

static void append_verdict_json(ModelTrace *t, const ModelVerdictRecord *rec)
{
    const ModelVerdictRecord r = *rec;
    GString *o = t->jsonl;
    g_string_append(o, "{\"type\":\"verdict\"");
    append_key(o, "flow", r.flow);
    append_key(o, "verdict", model_verdict_name(r.verdict));
    append_key(o, "cause", model_cause_name(r.cause));
    append_key(o, "at", r.at);
    if (r.root_cause != MODEL_CAUSE_NONE) {
        GString *root = g_string_new(model_cause_name(r.root_cause));
        if (*r.root_at)
            g_string_append_printf(root, " at %s", r.root_at);
        append_key(o, "root_cause", root->str);
        g_string_free(root, TRUE);
    } else {
        append_key(o, "root_cause", "");
    }
    append_key(o, "hint", r.hint);
    g_string_append_printf(o, ",\"t_ns\":%" G_GUINT64_FORMAT "}\n", r.t_ns);
}

const ModelStepRecord *model_trace_steps(const ModelTrace *t, size_t *n)
{
    *n = t->steps->len;
    return (const ModelStepRecord *)(void *)t->steps->data;
}

const ModelVerdictRecord *model_trace_verdicts(const ModelTrace *t, size_t *n)
{
    *n = t->verdicts->len;
    return (const ModelVerdictRecord *)(void *)t->verdicts->data;
}

const ModelVerdictRecord *model_trace_find_verdict(const ModelTrace *t, const char *flow)
{
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(t->verdict_by_flow, flow));
    return i ? &g_array_index(t->verdicts, ModelVerdictRecord, i - 1) : NULL;
}

const char *model_trace_text(const ModelTrace *t, size_t *len)
{
    if (len)
        *len = t->jsonl->len;
    return t->jsonl->str;
}

gboolean model_trace_write(const ModelTrace *t, const char *path, GError **error)
{
    /* CONSISTENT = write a temporary file in the same directory, then rename(2). */
    return g_file_set_contents_full(path, t->jsonl->str, (gssize)t->jsonl->len,
                                    G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}
