/*
 * trace.h — the trace: every decision a packet met, then one verdict per flow.
 *
 * Written as JSON Lines exactly as contract.md §2 fixes it (key order included, so a
 * line-oriented diff of two traces is meaningful). Records are kept in simulated-time
 * order because they are appended as the engine fires events.
 *
 * The trace is built in memory and written with model_trace_write(), which replaces the
 * file atomically: readers never see a half-written trace.
 */
#ifndef VNETSIM_MODEL_TRACE_H
#define VNETSIM_MODEL_TRACE_H

#include <glib.h>
#include <stdint.h>

#include "model/cause.h"

typedef struct ModelTrace ModelTrace;

typedef struct {
    const char *flow;
    ModelVerdict verdict;
    ModelCause cause;
    const char *at;        /* the node or object that decided; "" when delivered */
    ModelCause root_cause; /* MODEL_CAUSE_NONE when the cause is its own root */
    const char *root_at;   /* where the root cause was decided */
    const char *hint;      /* the documented fix, "" when none */
    uint64_t t_ns;
} ModelVerdictRecord;

typedef struct {
    uint64_t t_ns;
    const char *flow;
    uint64_t frame; /* frame number in the captures; 0 when no frame was involved */
    const char *node;
    ModelStage stage;
    const char *object;
    const char *action;
    const char *detail;
} ModelStepRecord;

ModelTrace *model_trace_new(void);
/* A trace that keeps only verdicts: steps are counted and dropped, no JSONL is built.
 * For `check`, which judges verdicts: memory stays a few hundred bytes per flow. */
ModelTrace *model_trace_new_verdicts_only(void);
/* Steps recorded so far (also counted by a verdicts-only trace). */
uint64_t model_trace_step_count(const ModelTrace *trace);
void model_trace_free(ModelTrace *trace);

/* Strings are copied (interned); the caller keeps its own. NULL strings read as "". */
void model_trace_step(ModelTrace *trace, const ModelStepRecord *step);
void model_trace_verdict(ModelTrace *trace, const ModelVerdictRecord *verdict);

/* Called after each verdict is recorded, with a copy of the record (its strings live as
 * long as the trace); one observer per trace. A verdict written from inside the observer
 * is observed too: that is how an activity of activities concludes. */
typedef void (*ModelVerdictObserver)(const ModelVerdictRecord *verdict, void *ctx);
void model_trace_observe_verdicts(ModelTrace *trace, ModelVerdictObserver fn, void *ctx);

/* In-memory views, for the CLI summary, `check`, `explain` and tests. Records and their
 * strings live as long as the trace. */
const ModelStepRecord *model_trace_steps(const ModelTrace *trace, size_t *n);
const ModelVerdictRecord *model_trace_verdicts(const ModelTrace *trace, size_t *n);
/* The verdict of a flow by name; NULL when the flow has none (yet). O(1). */
const ModelVerdictRecord *model_trace_find_verdict(const ModelTrace *trace, const char *flow);

/* The JSONL text so far. */
const char *model_trace_text(const ModelTrace *trace, size_t *len);

/* Writes the JSONL text to path atomically (temporary file + rename). Returns FALSE with
 * error on failure, leaving any previous file untouched. */
gboolean model_trace_write(const ModelTrace *trace, const char *path, GError **error);

/* Appends s to out as a JSON string literal (quotes included). */
void model_json_append_string(GString *out, const char *s);

#endif
