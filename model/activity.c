/*
 * activity.c — an activity's verdict from its parts' verdicts (domain.md §4): the parts are
 * ordinary flows (or other activities, or compute management judgements), each with its
 * own verdict; the activity waits for the last of them and is delivered only when every
 * one was, else it carries the first failing part's verdict, cause, place and root cause.
 * Nothing is decided here that the packets did not decide.
 *
 * Parts are awaited by name through the trace's verdict observer, not through flow
 * callbacks: a part may be a judgement written by someone else (compute.c writes a
 * node's management verdict when its inner connection ends), and a flow's own callback
 * stays free for whoever started it.
 */
#include "model/net_internal.h"

typedef struct {
    ModelVerdict verdict;
    ModelCause cause, root;
    char *at, *root_at, *hint;
    char *fix; /* the activity's own fix when this part fails, NULL: the part's hint */
    bool done;
} Part;

typedef struct {
    ModelNet *net;
    char *name;
    Part *parts;
    size_t n, pending;
} Activity;

typedef struct {
    Activity *a;
    size_t i;
} PartRef;

/* What the net keeps for its activities: the activities, and who waits for which name. */
typedef struct Activities {
    GPtrArray *all;      /* Activity *, owned */
    GHashTable *waiting; /* part name (owned) -> GArray of PartRef */
} Activities;

static void activity_free(void *p)
{
    Activity *a = p;
    for (size_t i = 0; i < a->n; i++) {
        g_free(a->parts[i].at);
        g_free(a->parts[i].root_at);
        g_free(a->parts[i].hint);
        g_free(a->parts[i].fix);
    }
    g_free(a->parts);
    g_free(a->name);
    g_free(a);
}

void model__activities_free(ModelNet *net)
{
    Activities *acts = net->activities;
    if (!acts)
        return;
    g_hash_table_destroy(acts->waiting);
    g_ptr_array_free(acts->all, TRUE);
    g_free(acts);
    net->activities = NULL;
}

static void write_verdict(Activity *a, ModelVerdict verdict, ModelCause cause, const char *at,
                          ModelCause root, const char *root_at, const char *hint)
{
    model_trace_verdict(a->net->trace, &(ModelVerdictRecord){
                                           .flow = a->name,
                                           .verdict = verdict,
                                           .cause = cause,
                                           .at = at ? at : "",
                                           .root_cause = root,
                                           .root_at = root_at ? root_at : "",
                                           .hint = hint ? hint : "",
                                           .t_ns = sim_now(a->net->engine),
                                       });
}

static void conclude(Activity *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const Part *p = &a->parts[i];
        if (p->verdict != MODEL_VERDICT_DELIVERED) {
            write_verdict(a, p->verdict, p->cause, p->at, p->root, p->root_at,
                          p->fix ? p->fix : p->hint);
            return;
        }
    }
    write_verdict(a, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "", MODEL_CAUSE_NONE, NULL, "");
}

static void record(Activity *a, size_t i, const ModelVerdictRecord *r)
{
    Part *p = &a->parts[i];
    if (p->done)
        return;
    p->done = true;
    p->verdict = r->verdict;
    p->cause = r->cause;
    p->root = r->root_cause;
    p->at = g_strdup(r->at);
    p->root_at = g_strdup(r->root_at);
    p->hint = g_strdup(r->hint);
    if (--a->pending == 0)
        conclude(a);
}

static void on_verdict(const ModelVerdictRecord *r, void *ctx)
{
    Activities *acts = ctx;
    gpointer key, value;
    if (!g_hash_table_lookup_extended(acts->waiting, r->flow, &key, &value))
        return;
    /* Taken out before recording: concluding writes verdicts, which land here again. */
    g_hash_table_steal(acts->waiting, r->flow);
    GArray *refs = value;
    for (guint k = 0; k < refs->len; k++) {
        PartRef ref = g_array_index(refs, PartRef, k);
        record(ref.a, ref.i, r);
    }
    g_array_free(refs, TRUE);
    g_free(key);
}

static Activities *activities(ModelNet *net)
{
    if (!net->activities) {
        Activities *acts = g_new0(Activities, 1);
        acts->all = g_ptr_array_new_with_free_func(activity_free);
        acts->waiting =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_array_unref);
        net->activities = acts;
        model_trace_observe_verdicts(net->trace, on_verdict, acts);
    }
    return net->activities;
}

void model_net_join_activity(ModelNet *net, const char *name, const char *const *parts, size_t n)
{
    model_net_join_activity_fixes(net, name, parts, NULL, n);
}

void model_net_join_activity_fixes(ModelNet *net, const char *name, const char *const *parts,
                                   const char *const *fixes, size_t n)
{
    g_return_if_fail(net->engine && net->trace);
    Activities *acts = activities(net);
    Activity *a = g_new0(Activity, 1);
    a->net = net;
    a->name = g_strdup(name);
    a->n = a->pending = n;
    a->parts = g_new0(Part, n ? n : 1);
    for (size_t i = 0; fixes && i < n; i++)
        a->parts[i].fix = g_strdup(fixes[i]);
    g_ptr_array_add(acts->all, a);
    for (size_t i = 0; i < n; i++) {
        if (!parts[i]) {
            write_verdict(a, MODEL_VERDICT_ABORTED, MODEL_CAUSE_UNKNOWN_ENDPOINT, name,
                          MODEL_CAUSE_NONE, NULL, "a part of the activity could not start");
            a->pending = SIZE_MAX; /* never concludes again */
            return;
        }
    }
    if (n == 0) {
        conclude(a);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* A part that ended before the activity was joined (no interface, no managed
         * services) has its verdict written already. */
        const ModelVerdictRecord *done = model_trace_find_verdict(net->trace, parts[i]);
        if (done) {
            ModelVerdictRecord copy = *done;
            record(a, i, &copy);
            continue;
        }
        GArray *refs = g_hash_table_lookup(acts->waiting, parts[i]);
        if (!refs) {
            refs = g_array_new(FALSE, FALSE, sizeof(PartRef));
            g_hash_table_insert(acts->waiting, g_strdup(parts[i]), refs);
        }
        g_array_append_val(refs, ((PartRef){a, i}));
    }
}
