/*
 * trace_path.c — grouping a trace's steps by flow and collapsing retransmissions (see
 * trace_path.h).
 */
#include "tools/trace_path.h"

#include <string.h>

#define MAX_PERIOD 64

GHashTable *trace_steps_by_flow(const ModelTrace *trace)
{
    GHashTable *t =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
    size_t n = 0;
    const ModelStepRecord *steps = model_trace_steps(trace, &n);
    for (size_t i = 0; i < n; i++) {
        GPtrArray *a = g_hash_table_lookup(t, steps[i].flow);
        if (!a) {
            a = g_ptr_array_new();
            g_hash_table_insert(t, (gpointer)steps[i].flow, a);
        }
        g_ptr_array_add(a, (gpointer)&steps[i]);
    }
    return t;
}

bool trace_same_step(const ModelStepRecord *a, const ModelStepRecord *b)
{
    if (a->stage != b->stage || strcmp(a->node, b->node) != 0 || strcmp(a->action, b->action) != 0)
        return false;
    if ((a->stage == MODEL_STAGE_NSG_IN || a->stage == MODEL_STAGE_NSG_OUT) &&
        strcmp(a->action, "allow") == 0)
        return true; /* the rule the first time, its flow record on retransmissions */
    return strcmp(a->object, b->object) == 0;
}

static bool same_run(GPtrArray *s, guint a, guint b, guint k)
{
    for (guint i = 0; i < k; i++)
        if (!trace_same_step(s->pdata[a + i], s->pdata[b + i]))
            return false;
    return true;
}

GArray *trace_collapse(GPtrArray *s)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(TraceBlock));
    guint i = 0;
    while (s && i < s->len) {
        TraceBlock best = {i, 1, 1};
        for (guint k = 1; k <= MAX_PERIOD && i + 2 * k <= s->len; k++) {
            guint reps = 1;
            while (i + (reps + 1) * k <= s->len && same_run(s, i, i + reps * k, k))
                reps++;
            if (reps > 1 && k * reps > best.period * best.reps)
                best = (TraceBlock){i, k, reps};
        }
        g_array_append_val(out, best);
        i += best.period * best.reps;
    }
    return out;
}
