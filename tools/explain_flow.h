/*
 * explain_flow.h — one flow explained from its trace: what `vnetsim explain` prints and what
 * the teaching report (report.h) shows beside each sequence diagram, so the two never
 * disagree.
 *
 * Everything is inferred from the steps and the verdict (trace.h), plus the topology where
 * a fix has to name an object the trace does not (the subnet a reply leaves from). Nothing
 * is looked up in a table of outcomes.
 */
#ifndef VNETSIM_TOOLS_EXPLAIN_FLOW_H
#define VNETSIM_TOOLS_EXPLAIN_FLOW_H

#include <glib.h>
#include <stdbool.h>

#include "model/net.h"
#include "model/scn_load.h"
#include "model/trace.h"

/* Why a flow that was not delivered failed. Strings are owned: explain_why_clear. */
typedef struct {
    const ModelStepRecord *broke; /* the first decision that broke it; NULL when none */
    char *root;                   /* the root cause in words; "" when the break is its own */
    char *fix;                    /* the documented fix; "" when none is known */
    const char *doc;              /* the document section behind the fix ("azure-facts §1") */
} ExplainWhy;

/* flow: the scenario's flow, NULL for an activity's sub-flow (fewer inferences). steps: the
 * flow's steps in trace order (trace_path.h), NULL when it has none. */
void explain_why(const ModelNet *net, const ScnFlow *flow, const ModelVerdictRecord *v,
                 GPtrArray *steps, ExplainWhy *out);
void explain_why_clear(ExplainWhy *w);

/* The whole text `vnetsim explain` prints for one flow (name, verdict, expect, the path with
 * retransmissions collapsed, then the break, root cause and fix, or teaching notes for a
 * delivered flow), ending with an empty line. v NULL: the flow never ended. */
void explain_flow(GString *out, const ModelNet *net, const ScnFlow *flow, const char *name,
                  const ModelVerdictRecord *v, GPtrArray *steps);

/* A step that refused the packet or the request (drop, deny, reset, SERVFAIL). */
bool explain_is_drop(const ModelStepRecord *s);

#endif
