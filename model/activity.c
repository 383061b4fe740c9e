/*
 * activity.c — an activity's verdict from its parts' verdicts (domain.md §4): the parts are
 * ordinary flows, each with its own verdict; the activity waits for the last of them and
 * is delivered only when every one was, else it carries the first failing part's verdict,
 * cause, place and root cause. Nothing is decided here that the packets did not decide.
 */
#include "model/net_internal.h"

typedef struct {
    ModelVerdict verdict;
    ModelCause cause, root;
    char *at, *root_at, *hint;
    bool done;
} Part;

typedef struct Activity Activity;

typedef struct {
    Activity *a;
    size_t i;
} PartRef;

struct Activity {
    ModelNet *net;
    char *name;
    Part *parts;
    PartRef *refs; /* each part's flow points at its own */
    size_t n, pending;
};

static void activity_free(void *p)
{
    Activity *a = p;
    for (size_t i = 0; i < a->n; i++) {
        g_free(a->parts[i].at);
        g_free(a->parts[i].root_at);
        g_free(a->parts[i].hint);
    }
    g_free(a->parts);
    g_free(a->refs);
    g_free(a->name);
    g_free(a);
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
            write_verdict(a, p->verdict, p->cause, p->at, p->root, p->root_at, p->hint);
            return;
        }
    }
    write_verdict(a, MODEL_VERDICT_DELIVERED, MODEL_CAUSE_NONE, "", MODEL_CAUSE_NONE, NULL, "");
}

static void record(Activity *a, size_t i, const ModelVerdictRecord *r)
{
    Part *p = &a->parts[i];
    static const ModelVerdictRecord lost = {.verdict = MODEL_VERDICT_ABORTED,
                                            .cause = MODEL_CAUSE_UNKNOWN_ENDPOINT};
    if (p->done)
        return;
    if (!r)
        r = &lost;
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

static void part_done(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                      const char *at, const char *hint, void *ctx)
{
    (void)verdict;
    (void)cause;
    (void)at;
    (void)hint;
    PartRef *ref = ctx;
    record(ref->a, ref->i, model_trace_find_verdict(net->trace, flow->name));
}

void model_net_join_activity(ModelNet *net, const char *name, const int *parts, size_t n)
{
    g_return_if_fail(net->engine && net->trace);
    if (!net->activities)
        net->activities = g_ptr_array_new_with_free_func(activity_free);
    Activity *a = g_new0(Activity, 1);
    a->net = net;
    a->name = g_strdup(name);
    a->n = a->pending = n;
    a->parts = g_new0(Part, n ? n : 1);
    g_ptr_array_add(net->activities, a);
    for (size_t i = 0; i < n; i++) {
        if (parts[i] < 0) {
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
    a->refs = g_new0(PartRef, n);
    for (size_t i = 0; i < n; i++) {
        a->refs[i] = (PartRef){a, i};
        ModelFlow *f = g_ptr_array_index(net->flows, (guint)parts[i]);
        if (f->done) { /* finished before it began (no interface): its verdict is written */
            record(a, i, model_trace_find_verdict(net->trace, f->name));
            continue;
        }
        f->on_finish = part_done;
        f->on_finish_ctx = &a->refs[i];
    }
}
