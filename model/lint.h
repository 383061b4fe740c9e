/*
 * lint.h — configuration findings without simulating (`vnetsim lint`), and the topology
 * questions `vnetsim explain` asks of a loaded network.
 *
 * Checks are a table (lint.c, `checks[]`): an id, the document section it enforces, the
 * data it reads and its function. A check whose data the scenario schema cannot express yet
 * has a NULL function and says which schema key it waits for: adding it when that key lands
 * is one entry (`vnetsim lint --checks` lists them all).
 *
 * Every finding is reasoned, not guessed: NSG shadowing is exact set reasoning over the
 * resolved rule sets (lint_nsg.c); overlaps come from the longest-prefix trie.
 *
 * Ownership: findings and their strings belong to the array model_lint_net returns.
 */
#ifndef VNETSIM_MODEL_LINT_H
#define VNETSIM_MODEL_LINT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/net.h"

#define MODEL_LINT_SEVERITIES(X)                                                                   \
    X(ERROR, "error")                                                                              \
    X(WARNING, "warning")                                                                          \
    X(INFO, "info")

#define MODEL_X_ENUM_LINT(id, name) MODEL_LINT_##id,
typedef enum {
    MODEL_LINT_SEVERITIES(MODEL_X_ENUM_LINT) MODEL_LINT_SEVERITY_COUNT
} ModelLintSeverity;
#undef MODEL_X_ENUM_LINT

const char *model_lint_severity_name(ModelLintSeverity s);

typedef struct {
    ModelLintSeverity severity;
    const char *check; /* the table entry's id, e.g. "nsg-shadowed"; static */
    char *object;      /* what to change: "nsg-db/AllowSshFromWeb1", "vnet-a" */
    char *message;
    const char *doc; /* the document section, e.g. "azure-facts §1"; static */
} ModelLintFinding;

/* A check of the table: what `vnetsim lint --checks` prints. */
typedef struct {
    const char *id;
    const char *doc;
    const char *what;  /* one line: what it finds */
    const char *needs; /* NULL when active; else the schema keys it waits for */
} ModelLintCheckInfo;

/* The table, in the order checks run: i < model_lint_n_checks(). Static data. */
size_t model_lint_n_checks(void);
const ModelLintCheckInfo *model_lint_check(size_t i);

/*
 * Runs every active check on a finalized net and returns the findings (a GPtrArray of
 * ModelLintFinding *, freeing them with the array), sorted by severity, then object, then
 * message, so the output is stable. Never fails: a check that cannot decide (an NSG too
 * complex for the exact analysis's budget) says so as an info finding rather than guess.
 * Cost: dominated by NSG shadowing, O(R^2 · pieces) per NSG and VNet it is attached in.
 */
GPtrArray *model_lint_net(const ModelNet *net);

/* ---- NSG shadowing on its own (lint_nsg.c), for tests and the checks ---- */

/* What decides a rule's traffic before it does. */
typedef struct {
    bool covered;        /* the higher rules together match all its traffic */
    bool gave_up;        /* the analysis exceeded its budget: nothing is claimed */
    GPtrArray *blockers; /* const ModelNsgRule *: higher rules that decide part of its
                          * traffic, in priority order */
} ModelNsgShadow;

/*
 * For the rule at index `i` of the direction's evaluation order (model_nsg_rules), which
 * higher-priority rules take part of its match space, with tags, VirtualNetwork/Internet
 * and ASGs resolved as the NSG sees them in `vnet` (NULL: an NSG attached nowhere, where
 * only prefixes and service tags resolve; topological tags and ASGs then match nothing).
 * Exact over the five dimensions source, destination, source port, destination port and
 * protocol ("Any" is TCP, UDP and ICMP; ICMP, ESP and AH have no ports and match only rules
 * whose port fields are both "*"). Fills *out (free with model_nsg_shadow_clear).
 */
void model_nsg_shadow(const ModelNet *net, const ModelVnet *vnet, const ModelNsg *nsg,
                      ModelDirection dir, size_t i, ModelNsgShadow *out);
void model_nsg_shadow_clear(ModelNsgShadow *s);

/* ---- topology questions (lint_topo.c), for `vnetsim explain` ---- */

/* A host's (or private endpoint's) place in the network; strings borrowed from the net. */
typedef struct {
    bool found;
    const char *subnet;      /* "vnet/subnet", NULL when outside every VNet */
    const char *vnet;        /* NULL when outside */
    const char *nsg;         /* the subnet's NSG, NULL when none */
    const char *nic_nsg;     /* the NIC's NSG, NULL when none */
    const char *route_table; /* the subnet's route table, NULL when none */
    uint32_t ip;             /* the private address, 0 when outside */
    uint32_t public_ip;      /* instance or host public address, 0 when none */
    ModelHostKind kind;
    bool private_endpoint;
    ModelPrefix vnet_space; /* the VNet's first range, when inside */
} ModelLintPlace;

/* Where `name` (a host or a private endpoint) sits. out->found false when unknown. */
void model_lint_place(const ModelNet *net, const char *name, ModelLintPlace *out);

/* The name of the host or private endpoint whose NIC holds `ip` (private or public), or
 * NULL. O(NICs). */
const char *model_lint_owner_of(const ModelNet *net, uint32_t ip);

/* The service tag that most specifically contains ip ("Storage.EastUS"), or NULL. */
const char *model_lint_tag_of(const ModelNet *net, uint32_t ip);

#endif
