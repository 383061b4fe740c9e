/*
 * scn_internal.h — what the scenario loader's files share: the YAML node tree (scn_yaml.c),
 * the checked accessors and name registries (scn_load.c), and the section loaders
 * (scn_policy.c, scn_net.c, scn_dns.c, scn_flows.c). Not for other modules: the public face is
 * scn_load.h.
 *
 * The loader works in two steps. scn_yaml.c turns the text into a tree of ScnNode (scalars,
 * sequences, mappings), each carrying the file, line and column it came from, with
 * `!include FILE` already replaced by the included file's tree. The section loaders then
 * walk the tree with the scn_* accessors below, which check keys and types and, on
 * failure, set a GError whose message starts with that node's `file:line:col: `.
 *
 * Ownership: every node, string and file name belongs to the ScnDoc that parsed it and
 * lives until scn_doc_free(). Aliases (`*anchor`) share nodes, so the tree is a DAG:
 * never free a node on its own.
 */
#ifndef VNETSIM_MODEL_SCN_INTERNAL_H
#define VNETSIM_MODEL_SCN_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/net.h"
#include "model/scn_load.h"

/* ---- the YAML tree (scn_yaml.c) ---- */

typedef enum { SCN_NODE_SCALAR, SCN_NODE_SEQ, SCN_NODE_MAP } ScnNodeKind;

/* Where a node starts. `file` is the name the file was opened under (the scenario path as
 * given, or an included file's path built from its includer's directory); owned by the
 * ScnDoc. line and col count from 1. */
typedef struct {
    const char *file;
    int line, col;
} ScnMark;

typedef struct ScnNode ScnNode;
struct ScnNode {
    ScnNodeKind kind;
    ScnMark mark;
    char *text;       /* SCALAR: the value (never contains NUL); NULL otherwise */
    bool plain;       /* SCALAR: unquoted, so it may read as null, a boolean or a number */
    GPtrArray *items; /* SEQ: the items; MAP: key, value, key, value …; NULL for SCALAR */
    uint64_t weight;  /* nodes in this subtree, aliases counted as often as they are used */
};

typedef struct ScnDoc ScnDoc;

/* Limits that keep hostile input cheap (the fuzzer's findings, and common sense). */
#define SCN_MAX_FILE_BYTES    (16u << 20) /* one scenario or included file */
#define SCN_MAX_TOTAL_BYTES   (64u << 20) /* all files of one scenario together */
#define SCN_MAX_DEPTH         64          /* nesting of sequences and mappings */
#define SCN_MAX_INCLUDE_DEPTH 8           /* !include inside !include … */
#define SCN_MAX_WEIGHT        1000000u    /* nodes with aliases expanded, or the file's bytes */

ScnDoc *scn_doc_new(void);
void scn_doc_free(ScnDoc *doc);

/* Parses `data` (len bytes; need not be NUL-terminated) as one YAML document named `name`.
 * `!include PATH` scalars are replaced by the included file's document, PATH taken
 * relative to the directory of `name`. Returns the root node (owned by doc), or NULL with
 * *error set to "file:line:col: message" (SCN_ERROR). An empty document is an error. */
ScnNode *scn_doc_parse(ScnDoc *doc, const char *name, const char *data, size_t len, GError **error);

/* Reads and parses the file `path` (relative to the directory of `from->file` unless
 * absolute), as the path form of a list does (`securityRules: rules.json`). Errors are
 * located at `from` when the file cannot be read, inside the file otherwise. */
ScnNode *scn_doc_parse_file(ScnDoc *doc, const char *path, const ScnMark *from, GError **error);

/* Builds and finalizes the scenario a parsed tree describes (scn_load.c); `name` is the
 * scenario's path for messages and scn_scenario_path(). The tree must stay alive until the
 * call returns; nothing of it is kept. NULL with *error set on failure. scn_patch.c calls
 * it with a tree a patch was applied to. */
ScnScenario *scn_load_tree(ScnDoc *doc, const char *name, const ScnNode *root, GError **error);

/* Reads a whole regular file of at most SCN_MAX_FILE_BYTES. On failure returns false with
 * *reason set to a sentence fragment ("No such file or directory", "not a regular file")
 * the caller frees. */
bool scn_read_file(const char *path, char **data, size_t *len, char **reason);

/* ---- errors and suggestions (scn_load.c) ---- */

/* Sets *error (SCN_ERROR, code) to "file:line:col: " + the formatted message. NULL mark:
 * no location. Returns false so callers can `return scn_fail(...)`. */
bool scn_fail(GError **error, ScnErrorCode code, const ScnMark *mark, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* Prefixes an existing error (e.g. a model GError) with "file:line:col: " and turns it into
 * an SCN_ERROR with `code`. Returns false. */
bool scn_fail_prefix(GError **error, GError *cause, ScnErrorCode code, const ScnMark *mark);

/* The candidate closest to `word` by optimal-string-alignment (Damerau–Levenshtein)
 * distance, ASCII case ignored, if close enough to be a plausible typo: none but case for
 * words of 1-2 characters, 1 edit up to 4, 2 up to 8, then a third of the length. Ties go to the
 * earlier candidate. NULL when none is close. O(n · |word| · |candidate|). */
const char *scn_suggest(const char *word, const char *const *candidates, size_t n);

/* Appends " (did you mean 'X'?)" to out when a candidate is close, else nothing. */
void scn_append_suggestion(GString *out, const char *word, const char *const *candidates, size_t n);

/* ---- the load in progress ---- */

/* A name defined by the scenario: the object and where it was defined. */
typedef struct {
    void *object;
    const ScnNode *node;
} ScnDef;

/* One namespace of names (NSGs, route tables, VNets, subnets, hosts, …): a hash for lookup
 * and the names in definition order for deterministic suggestions. */
typedef struct {
    const char *what; /* "network security group", for messages */
    GHashTable *by_name;
    GPtrArray *names; /* const char *, in definition order; owned */
} ScnNames;

typedef struct ScnFlowDef ScnFlowDef;

/* A host as the loader knows it, beyond the model's view (for `to.host` resolution). */
typedef struct {
    ModelHost *host;
    ModelHostKind kind;
    ModelNic *nic;       /* the NIC in a subnet, NULL for internet and service hosts */
    uint32_t ip;         /* the NIC's private address, 0 when none */
    uint32_t public_ip;  /* instance public IP (vm, appliance) or the host's address */
    const ScnNode *node; /* the host's mapping */
} ScnHostDef;

typedef struct {
    ModelNic *nic;
    uint32_t ip;
} ScnEndpointDef;

typedef struct ScnDnsLoad ScnDnsLoad;     /* scn_dns.c: names claimed, Azure DNS */
typedef struct ScnEntryLoad ScnEntryLoad; /* scn_entry.c: sites, gateways, bastions, services */
typedef struct ScnNatgwLoad ScnNatgwLoad; /* scn_natgw.c: NAT gateways, subnets naming them */

typedef struct {
    ScnDoc *doc;
    ScnScenario *scn;
    ModelNet *net;          /* created after the META phase */
    ModelServiceTags *tags; /* until handed to the net */
    const ScnNode *root;
    const ScnNode *region_node; /* NULL: the default region */
    ScnNames nsgs, route_tables, vnets, subnets, hosts, endpoints, asgs, flows, captures;
    GHashTable *asg_uses;     /* ASG name -> first ScnNode naming it in a rule */
    GPtrArray *asg_use_order; /* ASG names in first-use order */
    GHashTable *peered;       /* "a\nb" pairs already peered */
    GPtrArray *host_defs;     /* ScnHostDef *, owned (ld->hosts points into it) */
    GPtrArray *endpoint_defs; /* ScnEndpointDef *, owned (ld->endpoints points into it) */
    ScnDnsLoad *dns;          /* created on first use; freed by scn_dns_clear() */
    ScnEntryLoad *entry;      /* created on first use; freed by scn_entry_clear() */
    ScnNatgwLoad *natgw;      /* created on first use; freed by scn_natgw_clear() */
} ScnLoad;

void scn_names_init(ScnNames *names, const char *what);
void scn_names_clear(ScnNames *names);
/* Registers `name` (copied) defined at `node`. Fails with a duplicate-name error located at
 * node, naming the first definition's line. */
bool scn_names_add(ScnNames *names, const char *name, const ScnNode *node, void *object,
                   GError **error);
/* The definition of name, or NULL. */
const ScnDef *scn_names_find(const ScnNames *names, const char *name);
/* Looks `ref` (a scalar naming something) up; on failure sets "<what> 'X' is not defined
 * (did you mean 'Y'?)" located at ref. Returns the object. */
void *scn_names_resolve(const ScnNames *names, const ScnNode *ref, GError **error);

/* ---- keys and typed values (scn_load.c) ---- */

typedef enum {
    SCN_KEY_FIELD,   /* a key the loader reads */
    SCN_KEY_IGNORED, /* az output that changes nothing (etag, id, provisioningState …) */
    SCN_KEY_LATER,   /* planned: refused with "'key' is not supported yet" */
} ScnKeyKind;

typedef struct {
    const char *key;
    ScnKeyKind kind;
} ScnKey;

#define SCN_F(k)                                                                                   \
    {                                                                                              \
        k, SCN_KEY_FIELD                                                                           \
    }
#define SCN_I(k)                                                                                   \
    {                                                                                              \
        k, SCN_KEY_IGNORED                                                                         \
    }
#define SCN_L(k)                                                                                   \
    {                                                                                              \
        k, SCN_KEY_LATER                                                                           \
    }
/* Keys az prints on every ARM resource and sub-resource: harmless, ignored. */
#define SCN_AZ_BOOKKEEPING                                                                         \
    SCN_I("id"), SCN_I("etag"), SCN_I("type"), SCN_I("provisioningState"), SCN_I("resourceGroup")

/* Checks that `map` is a mapping whose keys are all in keys[0..n) (unknown key: error with a
 * suggestion over the FIELD keys; LATER key: "not supported yet"), each given once. `what`
 * names the object in messages ("subnet"). */
bool scn_check_keys(const ScnNode *map, const char *what, const ScnKey *keys, size_t n,
                    GError **error);

/* The value of `key` in `map`, or NULL when absent. A null value (`~`, `null`, empty) reads
 * as absent too: az prints null for unset fields. */
const ScnNode *scn_get(const ScnNode *map, const char *key);
/* The key node of `key` in `map` (for locating errors about the key), or NULL. */
const ScnNode *scn_get_key(const ScnNode *map, const char *key);

bool scn_is_null(const ScnNode *node);

/* Typed reads. Each fails with "file:line:col: 'key' …" naming what was expected. The
 * optional variants leave *out alone when the key is absent or null. Strings are borrowed
 * from the tree. */
bool scn_req_node(const ScnNode *map, const char *key, const char *what, const ScnNode **out,
                  GError **error);
bool scn_req_string(const ScnNode *map, const char *key, const char *what, const char **out,
                    GError **error);
bool scn_opt_string(const ScnNode *map, const char *key, const char **out, GError **error);
bool scn_opt_bool(const ScnNode *map, const char *key, bool *out, GError **error);
bool scn_req_int(const ScnNode *map, const char *key, const char *what, int64_t lo, int64_t hi,
                 int64_t *out, GError **error);
bool scn_opt_int(const ScnNode *map, const char *key, int64_t lo, int64_t hi, int64_t *out,
                 GError **error);
/* A string from a scalar node (any scalar but null). */
bool scn_node_string(const ScnNode *node, const char *key, const char **out, GError **error);
/* One of names[0..n) (ASCII case ignored) into *out; else "'key': unknown value 'X'" with a
 * suggestion, or the list of expected values. */
bool scn_pick(const ScnNode *v, const char *key, const char *const *names, size_t n, size_t *out,
              GError **error);
/* Fails unless `list` is a sequence ("'key' must be a list, not a mapping"). */
bool scn_check_list(const ScnNode *list, const char *key, GError **error);
#define SCN_ITEM(list, i) ((const ScnNode *)g_ptr_array_index((list)->items, (i)))
/* The `name` of an object (a mapping): required; returns its scalar node. */
const ScnNode *scn_name_of(const ScnNode *map, const char *what, GError **error);
/* An optional list: absent/null/[] gives *out = NULL. A scalar or mapping is a type error. */
bool scn_opt_list(const ScnNode *map, const char *key, const ScnNode **out, GError **error);
/* A name as vnetsim accepts them: 1–80 of letters, digits, '_', '-', '.', starting with a
 * letter, digit or '_' (they end up in file names and trace objects). */
bool scn_check_name(const ScnNode *node, const char *what, GError **error);
/* Parses a dotted quad; error located at node. */
bool scn_node_ip(const ScnNode *node, const char *key, uint32_t *out, GError **error);
/* Parses a prefix with model_prefix_parse (host bits rejected); error located at node. */
bool scn_node_prefix(const ScnNode *node, const char *key, ModelPrefix *out, GError **error);

/* ---- section loaders ---- */

/* Each gets the value of its top-level key (never NULL) and the load in progress. */
typedef bool (*ScnSectionFn)(ScnLoad *ld, const ScnNode *value, GError **error);

bool scn_load_nsgs(ScnLoad *ld, const ScnNode *value, GError **error);         /* scn_policy.c */
bool scn_load_route_tables(ScnLoad *ld, const ScnNode *value, GError **error); /* scn_policy.c */
bool scn_load_vnets(ScnLoad *ld, const ScnNode *value, GError **error);        /* scn_net.c */
bool scn_load_peerings(ScnLoad *ld, const ScnNode *value, GError **error);     /* scn_net.c */
bool scn_load_hosts(ScnLoad *ld, const ScnNode *value, GError **error);        /* scn_net.c */
bool scn_load_private_endpoints(ScnLoad *ld, const ScnNode *value, GError **error); /* scn_net.c */
bool scn_check_asg_uses(ScnLoad *ld, GError **error);                               /* scn_net.c */
/* scn_net.c, shared with scn_dns.c: a "VNET/SUBNET" reference (a bare subnet name gets its
 * full path suggested); a capture file name no other object writes (error located at `at`). */
ModelSubnet *scn_resolve_subnet(ScnLoad *ld, const ScnNode *ref, GError **error);
bool scn_claim_capture(ScnLoad *ld, const char *capture, const ScnNode *at, GError **error);

/* scn_dns.c: the dns section in two passes — servers with the hosts (flows and private
 * endpoints may name them), zones once every VNet and endpoint exists — and Azure DNS,
 * which every scenario has (a service host "azure-dns" at 168.63.129.16, added after the
 * hosts unless the file declares a host at that address itself). */
bool scn_load_dns_servers(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_dns_zones(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_dns_add_azure(ScnLoad *ld, GError **error);
/* The DNS keys of other sections' objects, called by their loaders: vnets[].dnsServers;
 * hosts[].dnsServers, hostsFile and fqdns; privateEndpoints[].fqdns and
 * privateDnsIntegration. */
bool scn_load_vnet_dns(ScnLoad *ld, const ScnNode *m, ModelVnet *vnet, GError **error);
bool scn_load_host_dns(ScnLoad *ld, const ScnNode *m, ScnHostDef *def, GError **error);
bool scn_load_endpoint_dns(ScnLoad *ld, const ScnNode *m, const ScnEndpointDef *pe,
                           const ScnHostDef *service, GError **error);
/* A DNS name a flow aims at: NULL when `ref` is no valid name (error located at ref). The
 * canonical form, g_free. */
char *scn_dns_flow_name(const ScnNode *ref, GError **error);
void scn_dns_clear(ScnLoad *ld);

/* scn_policy.c, shared with scn_net.c: a service tag in a rule or route must exist (error
 * with a suggestion, located at node); an ASG reference ({id: …/applicationSecurityGroups/
 * NAME}, {name: NAME} or NAME) gives the name, borrowed from the tree. */
bool scn_check_tag(ScnLoad *ld, const ScnNode *node, const char *tag, GError **error);
const char *scn_asg_ref_name(const ScnNode *ref, GError **error);
bool scn_load_flows(ScnLoad *ld, const ScnNode *value, GError **error); /* scn_flows.c */

/* scn_entry.c: on-prem sites (NETWORK phase), gateways and their connections (LINKS),
 * bastions (HOSTS), the workspaces with their storage, key vault and registry, and the AML
 * managed services (ENDPOINTS); and the keys of other sections that use them. */
bool scn_load_onprem(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_gateways(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_bastions(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_workspace(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_workspaces(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_managed_services(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_load_computes(ScnLoad *ld, const ScnNode *value, GError **error); /* scn_compute.c */
/* Every workspace's imageBuildCompute, once the computes exist (scn_compute.c); `value`
 * is the workspace or workspaces section, read through scn_entry_workspaces. */
bool scn_load_image_build_compute(ScnLoad *ld, const ScnNode *value, GError **error);
/* hosts[].onprem / hosts[].via: the host's NIC on a site's LAN or as a P2S client. */
bool scn_entry_load_host(ScnLoad *ld, const ScnNode *m, ScnHostDef *def, GError **error);
/* vnets[].peerings[] item: a VNet name, or {vnet, allowGatewayTransit, useRemoteGateways}.
 * _ref gives the node naming the remote VNet (NULL with error); _options applies the
 * transit flags on `vnet`'s side once the pair is peered. */
const ScnNode *scn_entry_peering_ref(const ScnNode *item, GError **error);
bool scn_entry_peering_options(ScnLoad *ld, const ScnNode *item, ModelVnet *vnet, ModelVnet *remote,
                               GError **error);
/* flows[].bastion: {via: BASTION, to: VM, port: 22|3389}. */
bool scn_entry_load_bastion_flow(ScnLoad *ld, ScnFlowDef *f, const ScnNode *b, GError **error);
void scn_entry_clear(ScnLoad *ld);

/* scn_firewall.c: firewalls[] (HOSTS phase, after the hosts: a firewall's default public
 * IP must not take an address a host gives). Each firewall is a host of the scenario. */
bool scn_load_firewalls(ScnLoad *ld, const ScnNode *value, GError **error);
/* scn_natgw.c: natGateways[] (HOSTS phase, after the firewalls), then the subnets'
 * natGateway keys: scn_natgw_subnet_ref checks one's form as the subnet loads,
 * scn_attach_nat_gateways (a second "vnets" entry, after natGateways) resolves them. */
bool scn_load_nat_gateways(ScnLoad *ld, const ScnNode *value, GError **error);
bool scn_natgw_subnet_ref(ScnLoad *ld, ModelSubnet *subnet, const ScnNode *ref, GError **error);
bool scn_attach_nat_gateways(ScnLoad *ld, const ScnNode *value, GError **error);
void scn_natgw_clear(ScnLoad *ld);

/* ---- the scenario (shared by scn_load.c and scn_flows.c) ---- */

typedef enum {
    SCN_ACTIVITY_NONE,
    SCN_ACTIVITY_STUDIO,
    SCN_ACTIVITY_SDK,
    SCN_ACTIVITY_DATA_PROFILE,
    SCN_ACTIVITY_DOCKER_IMAGES,
    SCN_ACTIVITY_COMPUTE_INSTANCE,
    SCN_ACTIVITY_COMPUTE_CLUSTER,
    SCN_ACTIVITY_AKS_INFERENCE,
    SCN_ACTIVITY_IMAGE_BUILD,
} ScnActivity;

/* A workspace of `workspace:` or `workspaces:` and the services its section added (NULL:
 * not given). */
typedef struct {
    ModelService *workspace, *storage, *key_vault, *registry;
    ModelCompute *image_build; /* imageBuildCompute, NULL: serverless builds */
    const ScnNode *node;       /* its mapping */
} ScnWorkspace;

/* scn_entry.c: the workspaces in file order (ScnWorkspace *, owned by the load; NULL when
 * none). */
GPtrArray *scn_entry_workspaces(ScnLoad *ld);
/* The workspace an object uses: the one `workspace: NAME` in `m` names, else the only one.
 * *out is NULL when the scenario has none. Several and no name: an error located at `at`
 * ("this scenario has N workspaces: name one with 'workspace: NAME'"); an unknown name: an
 * error located at it, with a suggestion. */
bool scn_entry_pick_workspace(ScnLoad *ld, const ScnNode *m, const ScnNode *at,
                              const ScnWorkspace **out, GError **error);

struct ScnFlowDef {
    ScnFlow pub; /* what scn_load.h shows */
    ModelHost *from;
    uint32_t dst; /* 0 when fqdn is set */
    char *fqdn;   /* a DNS name the sender resolves, canonical; owned; NULL: dst */
    char *sni;    /* owned; NULL: the fqdn */
    bool tls;     /* a TLS handshake after the TCP one */
    bool request; /* one request/response after the handshake(s) */
    uint16_t port;
    uint8_t proto; /* MODEL_IPPROTO_TCP / _UDP */
    SimTime at;
    bool selected;
    ModelHost *bastion;      /* a Bastion session (flows[].bastion) when set */
    ModelHost *target;       /* the session's VM */
    ScnActivity activity;    /* flows[].activity; SCN_ACTIVITY_NONE: a plain flow */
    bool custom_image;       /* docker-images: the workspace registry instead of MCR */
    ModelService *workspace; /* activities: the workspace, its storage and registry */
    ModelService *storage;
    ModelService *registry;
    ModelCompute *compute; /* compute-instance, compute-cluster: the compute managed */
    ModelAks *aks;         /* aks-inference: the cluster called */
    bool https;            /* aks-inference: TLS to the scoring endpoint */
    ModelHost *builder;    /* image-build: the image-build compute's node, NULL: serverless */
};

/* scn_flows.c: why `h` (named `name`) cannot send a flow; g_free it. */
char *scn_no_sender(const ScnHostDef *h, const char *name);

/* scn_activity.c: flows[].activity (the flow's `activity` key given), and its replay. */
bool scn_load_activity(ScnLoad *ld, ScnFlowDef *f, const ScnNode *m, GError **error);
void scn_replay_activity(ScnScenario *scn, ScnFlowDef *f);

struct ScnScenario {
    char *path;
    char *name;
    char *description;
    char *region;
    ModelNet *net;
    GPtrArray *flows;  /* ScnFlowDef *, in file order */
    SimEngine *engine; /* set by the (one) replay */
};

#endif
