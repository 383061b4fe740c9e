/*
 * scn_load.h — scenario files: YAML in, a finalized ModelNet and its flows out, and the
 * replay that turns them into a trace and captures.
 *
 * The schema is documented in scenarios/README.md (the contract's §4 sketch, made exact).
 * NSG rules and routes take the Azure CLI's JSON keys, so `az network nsg rule list -o json`
 * output can be pasted, included (`securityRules: !include rules.json`) or named
 * (`securityRules: rules.json`).
 *
 * Errors: every function that reads user input fails with a GError in the SCN_ERROR domain
 * whose message is `file:line:col: what is wrong` — the file being the scenario or the
 * included file that holds the offending node — naming the key and what was expected, with
 * a "did you mean" suggestion for misspelled keys and names. Nothing is half-loaded: on
 * failure no scenario is returned.
 *
 * Sections planned but not modelled yet (gateways, workspace, computes, onprem, a host's
 * via, a flow's activity …) are refused with "'gateways' is not supported yet", never
 * ignored.
 *
 * Thread safety: distinct scenarios may be loaded and replayed in parallel threads; one
 * scenario must not be used from two threads at once.
 */
#ifndef VNETSIM_MODEL_SCN_LOAD_H
#define VNETSIM_MODEL_SCN_LOAD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/cause.h"
#include "model/net.h"
#include "model/trace.h"

#define SCN_ERROR (scn_error_quark())
GQuark scn_error_quark(void);

typedef enum {
    SCN_ERROR_IO,          /* a scenario or included file could not be read */
    SCN_ERROR_SYNTAX,      /* not YAML (or JSON) */
    SCN_ERROR_SCHEMA,      /* unknown key, wrong type, missing key */
    SCN_ERROR_VALUE,       /* a value Azure or the model rejects: CIDR, priority, overlap … */
    SCN_ERROR_REFERENCE,   /* a name that names nothing, or one defined twice */
    SCN_ERROR_UNSUPPORTED, /* a section or key that is planned but not modelled yet */
    SCN_ERROR_REPLAY,      /* the replay could not run (captures, second replay) */
} ScnErrorCode;

typedef struct ScnScenario ScnScenario;

/* A flow's `expect:` block. */
typedef struct {
    bool set;             /* false: the flow has no expect (check skips it) */
    ModelVerdict verdict; /* always compared */
    bool has_cause;       /* compare the cause too */
    ModelCause cause;
    const char *at;      /* compare the verdict's `at` too; NULL when not given */
    bool has_root_cause; /* compare the verdict's root cause (NONE: expect none) */
    ModelCause root_cause;
    const char *root_at; /* compare where the root cause was decided; NULL when not given */
} ScnExpect;

/* A flow as the scenario declares it. Strings are owned by the scenario. */
typedef struct {
    const char *name;
    const char *from; /* the sending host */
    const char *to;   /* the destination: "10.0.1.4", "host vm-b" or "fqdn a.b.example" */
    const char *file; /* where the flow is declared (for messages) */
    int line;
    ScnExpect expect;
    bool selected; /* replayed (all flows unless scn_scenario_select_flows narrowed it) */
} ScnFlow;

/* Loads and validates a scenario file and builds its network (model_net_finalize
 * included). Returns a scenario the caller frees with scn_scenario_free, or NULL with
 * *error set (SCN_ERROR; message "file:line:col: …", or "file: …" when the file itself
 * cannot be read). */
ScnScenario *scn_load(const char *path, GError **error);

/* Microsoft's "Azure IP Ranges and Service Tags" JSON that every scenario loaded after
 * this call starts from, before its own serviceTags: key (the CLI's --service-tags).
 * NULL clears it. Set it before loading, not while scenarios load on other threads. */
void scn_set_service_tags_file(const char *path);

/* The same from memory: `name` is the file name used in messages and as the base for
 * relative includes. data need not be NUL-terminated. For tests and the fuzzer. */
ScnScenario *scn_load_data(const char *name, const char *data, size_t len, GError **error);

/* Frees the scenario and its network. NULL-safe. */
void scn_scenario_free(ScnScenario *scn);

const char *scn_scenario_name(const ScnScenario *scn);
const char *scn_scenario_description(const ScnScenario *scn); /* "" when none */
const char *scn_scenario_path(const ScnScenario *scn);
/* The finalized network; owned by the scenario. */
ModelNet *scn_scenario_net(const ScnScenario *scn);

size_t scn_scenario_n_flows(const ScnScenario *scn);
/* Flows in file order; i < scn_scenario_n_flows(). */
const ScnFlow *scn_scenario_flow(const ScnScenario *scn, size_t i);
/* The flow of that name, or NULL. O(flows). */
const ScnFlow *scn_scenario_find_flow(const ScnScenario *scn, const char *name);

/* Replays only the named flows (names[0..n)). An unknown name fails with "no flow named 'X'
 * in scenario 'S' (did you mean 'Y'?)" and changes nothing. n == 0 selects every flow. */
bool scn_scenario_select_flows(ScnScenario *scn, const char *const *names, size_t n,
                               GError **error);

/*
 * Replays the selected flows: attaches the net to a new engine seeded with `seed` and to
 * `trace` (borrowed), starts each flow at its at_ms (default: its position in the file, in
 * milliseconds from 1), and runs the engine until nothing is left. With pcap_dir, one
 * capture per NIC is written there (created if needed) and committed at the end; without,
 * no captures. A scenario replays once: a second call fails (SCN_ERROR_REPLAY).
 * Returns 0, or -1 with *error set; on failure no capture is left under its final name.
 */
int scn_replay(ScnScenario *scn, uint64_t seed, const char *pcap_dir, ModelTrace *trace,
               GError **error);

/* ---- planned changes and probes (scn_patch.c; `vnetsim diff`) ---- */

/*
 * Loads the scenario with the patch file applied to its YAML tree before anything is built
 * (the merge rules are in scenarios/README.md, "Patches"): the patched scenario is then
 * checked exactly as a file would be, and every error names the file that holds the
 * offending node — the scenario, the patch or an included file — with its line and column.
 * Returns the scenario, or NULL with *error set (SCN_ERROR).
 */
ScnScenario *scn_load_patched(const char *path, const char *patch_path, GError **error);

/* A port to probe: TCP or UDP (MODEL_IPPROTO_TCP / _UDP). */
typedef struct {
    uint8_t proto;
    uint16_t port;
} ScnProbePort;

/* One probe flow of scn_load_probes(). Strings are owned by the probe array. */
typedef struct {
    const char *flow; /* its flow name in the probing scenario ("probe-17") */
    const char *from; /* the sending host */
    const char *to;   /* the target host or private endpoint */
    uint32_t ip;      /* the address aimed at: private from inside a VNet, else public */
    uint8_t proto;
    uint16_t port;
} ScnProbe;

/*
 * Loads the scenario (patched when patch_path is not NULL) with its own flows replaced by
 * probes: from every vm, appliance and internet host of the `hosts` section to every other
 * host and private endpoint of the network (Azure DNS and the model's own hosts included),
 * on each of ports[0..n_ports), at the address a flow's `to.host` would mean. *probes
 * receives the probes (a GArray of ScnProbe, in flow order; free with scn_probes_free).
 * Cost: the scenario is loaded twice (once to learn its hosts). NULL with *error set (and
 * *probes NULL) on failure.
 */
ScnScenario *scn_load_probes(const char *path, const char *patch_path, const ScnProbePort *ports,
                             size_t n_ports, GArray **probes, GError **error);
void scn_probes_free(GArray *probes);

/* ---- judging a replay against the expectations (what `vnetsim check` does) ---- */

typedef enum {
    SCN_JUDGE_PASS,
    SCN_JUDGE_FAIL,
    SCN_JUDGE_NO_EXPECT, /* the flow has no expect: nothing to judge */
} ScnJudgement;

/* Compares the flow's verdict (NULL: the flow ended without one, which fails) with its
 * expect. Appends to `outcome` what happened ("delivered at vm-b", "dropped NSG_DENIED_IN at
 * nsg-app/DenySsh", "dropped NSG_DENIED_OUT at nsg-app/DenyWeb (root cause
 * DNS_PUBLIC_ANSWER at corp-dns)", "no verdict") and, when `expected` is not NULL, what was
 * expected in the same words. */
ScnJudgement scn_judge(const ScnFlow *flow, const ModelVerdictRecord *got, GString *outcome,
                       GString *expected);

#endif
