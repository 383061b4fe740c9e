/*
 * report_seq.h — one flow's sequence diagram, as inline SVG, for the report (report.h).
 */
#ifndef VNETSIM_TOOLS_REPORT_SEQ_H
#define VNETSIM_TOOLS_REPORT_SEQ_H

#include <glib.h>

#include "model/trace.h"

/* Appends an <svg class="seq"> of the flow's steps (trace order): one column per node the
 * steps visit, in order of first visit; one row per decision; an arrow wherever the packet
 * moved to another node, named by what it carries (DNS query, SYN, SYN/ACK, ClientHello,
 * retransmissions…); a red cross wherever a packet or request was refused, naming the
 * deciding object. `origin` is the flow's own host (NULL: the first step's node): what it
 * sends again is numbered as a retransmission. `broke` (may be NULL) is the decision that
 * broke the flow: highlighted. */
void report_sequence_svg(GString *out, const char *flow, const char *origin, GPtrArray *steps,
                         const ModelStepRecord *broke);

#endif
