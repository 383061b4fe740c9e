/*
 * flowlog.h — Azure Network Watcher virtual network flow log records of a replay
 * (`vnetsim run --flow-log FILE`), so that tools written for real flow logs read simulated
 * traffic.
 *
 * Schema: azdocs:articles/network-watcher/vnet-flow-logs-overview.md (ms.date 2024-08-02),
 * "Log format" and "Sample log record": {"records": [{time, flowLogVersion 4, flowLogGUID,
 * macAddress, category "FlowLogFlowEvent", flowLogResourceID, targetResourceID,
 * operationName "FlowLogFlowEvent", flowRecords: {flows: [{aclID, flowGroups: [{rule,
 * flowTuples: ["time,src,dst,sport,dport,proto,I|O,B|C|E|D,NX,packets,bytes,packets,
 * bytes"]}]}]}}]}. Rule names take the NSG flow log spelling, UserRule_<name> and
 * DefaultRule_<name> (azdocs:articles/network-watcher/nsg-flow-logs-overview.md; the
 * VNet sample shows DefaultRule_AllowInternetOutBound).
 *
 * What a record holds comes from the replay itself: packets and bytes from the captures of
 * each VNet NIC (what crossed it), the rule and the denies from the trace's NSG steps.
 */
#ifndef VNETSIM_MODEL_FLOWLOG_H
#define VNETSIM_MODEL_FLOWLOG_H

#include <glib.h>

#include "model/net.h"
#include "model/trace.h"

/*
 * Builds the flow log of a finished replay of `net` whose captures are in pcap_dir (one
 * <capture>.pcap per NIC, as model_net_attach names them) and whose steps are in `trace`
 * (a full trace, not verdicts-only). `scenario` names the flow log resource. Returns the
 * JSON text (g_free), or NULL with *error set when a capture cannot be read.
 * Cost: one pass over every capture of a VNet NIC and over the trace's NSG steps.
 */
char *model_flowlog_json(const ModelNet *net, const ModelTrace *trace, const char *pcap_dir,
                         const char *scenario, GError **error);

#endif
