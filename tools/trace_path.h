/*
 * trace_path.h — a flow's steps as `explain` and `diff` read them: grouped by flow, with
 * retransmissions collapsed.
 *
 * A retransmitted packet meets the same decisions again, so a flow's steps are a few
 * blocks, each repeated (the SYN sent three times, dropped each time at the same rule).
 * Two steps are the same when node, stage, action and object agree, except that an NSG
 * allow by a rule and the allow by the flow record that rule left behind count as one:
 * that is what the retransmitted SYN meets the second time.
 */
#ifndef VNETSIM_TOOLS_TRACE_PATH_H
#define VNETSIM_TOOLS_TRACE_PATH_H

#include <glib.h>
#include <stdbool.h>

#include "model/trace.h"

/* flow name -> GPtrArray of const ModelStepRecord * in trace order. Borrowed from the
 * trace; free the table with g_hash_table_destroy before the trace. O(steps). */
GHashTable *trace_steps_by_flow(const ModelTrace *trace);

bool trace_same_step(const ModelStepRecord *a, const ModelStepRecord *b);

/* steps[start .. start + period) repeated reps times (reps 1: not repeated). */
typedef struct {
    guint start, period, reps;
} TraceBlock;

/* Greedy run-length coding of repeated blocks: at each position the block that covers the
 * most steps by repetition wins. Returns a GArray of TraceBlock covering steps in order.
 * O(n · 64 · reps): blocks longer than 64 steps are not looked for. */
GArray *trace_collapse(GPtrArray *steps);

#endif
