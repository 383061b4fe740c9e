/*
 * nsg.h — Azure network security groups: rules as the user wrote them, Azure's default
 * rules, and a compiled classifier that finds the rule deciding a flow.
 *
 * Semantics follow azdocs:articles/virtual-network/network-security-groups-overview.md
 * (2025-07) and azdocs:articles/virtual-network/network-security-group-how-it-works.md:
 * rules of one direction are evaluated by priority (100–4096, lower first) and the first
 * match decides; the six default rules (65000–65500) come last and cannot be removed.
 *
 * Three files, one job each:
 *   nsg_parse.c       user text -> values (ports, protocol, direction, access, addresses)
 *   nsg.c             rules and the NSG container (validation, defaults, description)
 *   nsg_classifier.c  compile one direction into a classifier; classify flows
 *
 * Ownership in one sentence: an NSG owns its rules, a rule owns its strings and arrays, and
 * a compiled table borrows the NSG's rules (free the table before the NSG).
 *
 * GError is used where user text enters (parsers, rule validation, compile-time resolver
 * failures) so the scenario loader can print `file:line: message`; messages never carry
 * the file name themselves, only the rule name and, for clashes, the other rule's line.
 */
#ifndef VNETSIM_MODEL_NSG_H
#define VNETSIM_MODEL_NSG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/addr.h"

#define MODEL_NSG_ERROR (model_nsg_error_quark())
GQuark model_nsg_error_quark(void);

typedef enum {
    MODEL_NSG_ERROR_SYNTAX,   /* text is not a port list, protocol, direction, access, address */
    MODEL_NSG_ERROR_RANGE,    /* a number outside what Azure accepts (port, priority) */
    MODEL_NSG_ERROR_CONFLICT, /* duplicate priority per direction, or duplicate name */
    MODEL_NSG_ERROR_LIMIT,    /* an Azure limit: rules per NSG, prefixes per side, name length */
    MODEL_NSG_ERROR_INVALID,  /* rule shape Azure rejects: empty side, ASG mixed with prefixes */
} ModelNsgError;

/* Azure limits
 * (azdocs:articles/azure-resource-manager/management/azure-subscription-service-limits.md,
 * summarised in azure-facts §1). */
#define MODEL_NSG_MAX_RULES      1000 /* user rules per NSG, both directions together */
#define MODEL_NSG_MAX_SIDE_ITEMS 4000 /* addresses per rule side */
#define MODEL_NSG_MAX_NAME_LEN   80
#define MODEL_NSG_PRIORITY_MIN   100
#define MODEL_NSG_PRIORITY_MAX   4096

typedef enum { MODEL_DIR_INBOUND, MODEL_DIR_OUTBOUND } ModelDirection;
typedef enum { MODEL_ACCESS_ALLOW, MODEL_ACCESS_DENY } ModelAccess;

/* The protocol field as the Azure API spells it: Tcp, Udp, Icmp, Esp, Ah, "*". */
typedef enum {
    MODEL_NSG_PROTO_ANY,
    MODEL_NSG_PROTO_TCP,
    MODEL_NSG_PROTO_UDP,
    MODEL_NSG_PROTO_ICMP,
    MODEL_NSG_PROTO_ESP,
    MODEL_NSG_PROTO_AH,
} ModelNsgProtocol;

/* IP protocol numbers (IANA) that appear in ModelFlowKey.proto. */
#define MODEL_IPPROTO_ICMP 1
#define MODEL_IPPROTO_TCP  6
#define MODEL_IPPROTO_UDP  17
#define MODEL_IPPROTO_ESP  50
#define MODEL_IPPROTO_AH   51

typedef struct {
    uint16_t lo, hi; /* inclusive; lo <= hi */
} ModelPortRange;

typedef enum {
    MODEL_NSG_ADDR_PREFIX, /* CIDR or IP; "*" and "Any" are the prefix 0.0.0.0/0 */
    MODEL_NSG_ADDR_TAG,    /* a service tag name ("Storage.EastUS", "VirtualNetwork") */
    MODEL_NSG_ADDR_ASG,    /* an application security group name */
} ModelNsgAddrKind;

/* One source or destination item of a rule. A tagged value: `prefix` is meaningful only for
 * MODEL_NSG_ADDR_PREFIX; for tags and ASGs the name is `text`. */
typedef struct {
    ModelNsgAddrKind kind;
    char *text;         /* as the user wrote it; owned */
    ModelPrefix prefix; /* PREFIX only; host bits cleared */
} ModelNsgAddr;

typedef enum { MODEL_NSG_SRC = 0, MODEL_NSG_DST = 1 } ModelNsgSide;

/*
 * A security rule, as written (Azure CLI JSON keys in brackets). Arrays are indexed by
 * ModelNsgSide. Read the fields freely; change them only through the functions below before
 * the rule is added to an NSG.
 */
typedef struct {
    char *name;                /* [name] owned */
    int priority;              /* [priority] */
    ModelDirection direction;  /* [direction] */
    ModelAccess access;        /* [access] */
    ModelNsgProtocol protocol; /* [protocol] */
    ModelNsgAddr *addrs[2]; /* [source|destination AddressPrefix(es), ApplicationSecurityGroups] */
    size_t n_addrs[2];
    ModelPortRange *ports[2]; /* [source|destination PortRange(s)], as written (not merged) */
    size_t n_ports[2];
    int line;        /* scenario line the rule came from, 0 if none */
    bool is_default; /* one of Azure's six default rules */
} ModelNsgRule;

typedef struct ModelNsg ModelNsg;

/* ---- names (one table each in nsg_parse.c feeds both the parsers and these) ---- */

/* "Inbound" / "Outbound", "Allow" / "Deny", "Tcp" … "*" as the Azure API spells them.
 * Never NULL; static strings. O(1). */
const char *model_direction_name(ModelDirection dir);
const char *model_access_name(ModelAccess access);
const char *model_nsg_protocol_name(ModelNsgProtocol proto);

/* ---- parsers for user text (nsg_parse.c) ---- */

/* Parses a port field: "*", "80", "10000-10005" or a comma list "80, 10000-10005"
 * (azdocs:…/network-security-groups-overview.md, "Port range"). Spaces around items are
 * allowed. Each range is appended to `out` (a GArray of ModelPortRange) as written; "*"
 * appends 0-65535. Failure (empty text or item, non-digits, a value above 65535, lo > hi,
 * "*" inside a list): returns false, sets `error` (MODEL_NSG_ERROR_SYNTAX or _RANGE) and
 * leaves `out` as it was. O(length of text). */
bool model_nsg_parse_ports(const char *text, GArray *out, GError **error);

/* Parses the protocol field, case-insensitively as az accepts it: Tcp, Udp, Icmp, Esp, Ah,
 * and "*" or "Any". On failure returns false, sets `error`, leaves `*out` alone. O(1). */
bool model_nsg_parse_protocol(const char *text, ModelNsgProtocol *out, GError **error);

/* "Inbound" / "Outbound", case-insensitive. Same failure contract as above. O(1). */
bool model_nsg_parse_direction(const char *text, ModelDirection *out, GError **error);

/* "Allow" / "Deny", case-insensitive. Same failure contract as above. O(1). */
bool model_nsg_parse_access(const char *text, ModelAccess *out, GError **error);

/* Parses one address item of sourceAddressPrefix(es) / destinationAddressPrefix(es):
 * "*" or "Any" (any address), an IP or CIDR (host bits allowed and cleared, as Azure does for
 * NSG rules), otherwise a service tag name, whose validity is the resolver's business.
 * Text that starts like an address but does not parse (e.g. "10.0.0.0/33"), IPv6 (not
 * modelled), empty text, or a name with spaces or commas is an error: returns false, sets
 * `error`, leaves `*out` untouched. On success `out->text` is a new string the caller owns
 * (release with model_nsg_addr_clear). O(length of text). */
bool model_nsg_addr_parse(const char *text, ModelNsgAddr *out, GError **error);

/* Frees the item's text and zeroes it. NULL-safe. O(1). */
void model_nsg_addr_clear(ModelNsgAddr *addr);

/* ---- rules (nsg.c) ---- */

/* A new rule with no addresses and no ports; the caller owns it until it is handed to
 * model_nsg_add_rule. Never fails (aborts on out-of-memory, as GLib does). Fields are not
 * validated here; model_nsg_add_rule validates the whole rule. O(length of name). */
ModelNsgRule *model_nsg_rule_new(const char *name, int priority, ModelDirection direction,
                                 ModelAccess access, ModelNsgProtocol protocol);

/* Appends one address item parsed from `text` (see model_nsg_addr_parse) to a side.
 * On failure returns false, sets `error` and leaves the rule unchanged. Amortised O(1)
 * plus parsing. */
bool model_nsg_rule_add_address(ModelNsgRule *rule, ModelNsgSide side, const char *text,
                                GError **error);

/* Appends an application security group (by name, as in
 * sourceApplicationSecurityGroups[].id's last segment) to a side. Never fails. O(1). */
void model_nsg_rule_add_asg(ModelNsgRule *rule, ModelNsgSide side, const char *asg_name);

/* Appends the port ranges parsed from `text` (see model_nsg_parse_ports) to a side.
 * On failure returns false, sets `error` and leaves the rule unchanged. */
bool model_nsg_rule_add_ports(ModelNsgRule *rule, ModelNsgSide side, const char *text,
                              GError **error);

/* Frees a rule the caller still owns (never one an NSG owns). NULL-safe. O(items). */
void model_nsg_rule_free(ModelNsgRule *rule);

/* Appends a one-line description for traces, e.g.
 * "AllowBatchInbound (priority 100, Inbound, Allow, Tcp BatchNodeManagement:* -> *:29876-29877)".
 * Never fails. O(items). */
void model_nsg_rule_describe(const ModelNsgRule *rule, GString *out);

/* ---- the NSG (nsg.c) ---- */

/* A new NSG holding exactly Azure's six default rules, named and valued as
 * `az network nsg show` returns them. Never fails. The caller owns the NSG. */
ModelNsg *model_nsg_new(const char *name);

/* Frees the NSG and every rule it owns. Free compiled tables first. NULL-safe. */
void model_nsg_free(ModelNsg *nsg);

const char *model_nsg_name(const ModelNsg *nsg);

/*
 * Adds a user rule. The NSG takes ownership of `rule` in every case: on failure the rule is
 * freed, so the caller must not touch it after the call.
 * Checks, with Azure's wording of the limits: name 1–80 characters of word characters, '.',
 * '-', '_', starting with a word character and ending with a word character or '_'; names
 * unique among the NSG's user rules (case-insensitive, as ARM resource names are; a user rule
 * may reuse a default rule's name, since defaults live in defaultSecurityRules); priority
 * 100–4096 and unique within the direction (the error names the clashing rule and its line);
 * at least one address and one port range per side; at most one service tag per side; a side
 * holds either ASGs or addresses, not both; at most 4000 items per side; at most 1000 user
 * rules per NSG. Returns false and sets `error` on the first failed check.
 * Cost: O(rules) for the uniqueness checks and the sorted insertion.
 */
bool model_nsg_add_rule(ModelNsg *nsg, ModelNsgRule *rule, GError **error);

/* The rules of one direction, defaults included, in evaluation order (priority ascending).
 * The array and rules belong to the NSG and stay valid until the next add or the free.
 * Never fails. O(1). */
const ModelNsgRule *const *model_nsg_rules(const ModelNsg *nsg, ModelDirection dir, size_t *n);

/* Number of user rules (defaults excluded), both directions. O(1). */
size_t model_nsg_n_user_rules(const ModelNsg *nsg);

/* True when some rule of either direction names `tag` as a service tag (case-insensitive).
 * The forwarding code asks this for AzurePlatformDNS / AzurePlatformIMDS / AzurePlatformLKM:
 * platform traffic to 168.63.129.16 and 169.254.169.254 bypasses NSGs unless a rule targets
 * those tags (azdocs:…/network-security-groups-overview.md, "Azure platform considerations").
 * O(total address items). */
bool model_nsg_mentions_tag(const ModelNsg *nsg, const char *tag);

/* ---- classification (nsg_classifier.c) ---- */

/* A flow as the NSG sees it: addresses after inbound DNAT / before outbound SNAT
 * (azdocs:…/network-security-groups-overview.md, "Source or destination"). Host order. */
typedef struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto; /* IP protocol number (MODEL_IPPROTO_*) */
} ModelFlowKey;

/*
 * Turns a service tag or ASG item into prefixes. Called by model_nsg_compile once per
 * distinct (kind, text) pair, never for MODEL_NSG_ADDR_PREFIX items. On success sets
 * `*prefixes` to a g_malloc'd array of `*n` prefixes (NULL with n = 0 is an empty set, which
 * matches nothing) that the caller takes over and releases with g_free; order and overlap do
 * not matter. Returns false and sets `error` for an unknown tag or ASG.
 */
typedef bool (*ModelNsgResolver)(void *ctx, const ModelNsgAddr *item,
                                 /* out */ ModelPrefix **prefixes, size_t *n, GError **error);

typedef struct ModelNsgTable ModelNsgTable;

/*
 * Compiles the rules of one direction into a classifier.
 * Failure: when the resolver fails, returns NULL with `error` set to the resolver's error
 * prefixed with the rule ("rule 'X' (line N): …"), or to a generic "cannot resolve" error
 * if the resolver set none; nothing is kept or leaked.
 * Ownership: the caller owns the table; it borrows the NSG's rules, so free the table before
 * the NSG, and recompile after adding rules.
 * Cost: O(P log P + I·R/64) time and O(I·R/64) words, where P is the number of resolved
 * ranges, I the number of distinct rule sets over elementary intervals, and R the rules.
 */
ModelNsgTable *model_nsg_compile(const ModelNsg *nsg, ModelDirection dir, ModelNsgResolver resolve,
                                 void *ctx, GError **error);

/*
 * The rule that decides the flow: the first rule by priority that matches it.
 * Protocol "*" (Any) matches TCP, UDP and ICMP only, as the overview page states ("Any
 * encompasses TCP, UDP, and ICMP"; Microsoft confirmed "only" in MicrosoftDocs/azure-docs#60780,
 * although a 2019 docs change, #24986, had said Any passes every protocol); ESP and AH match
 * only rules that name them. So NULL is
 * returned exactly when no rule matched, which only happens for protocols outside TCP, UDP
 * and ICMP (e.g. ESP without an Esp rule): Azure's documentation does not say what happens
 * then, and the caller should report UNSUPPORTED_FEATURE (aborted) rather than guess.
 * Flows without ports (anything but TCP and UDP) match only rules whose source and
 * destination port fields are "*" / 0-65535: ICMP "doesn't have a port. So when you create a
 * rule for ICMP, use any/any in the ports field" (Microsoft, MicrosoftDocs/azure-docs#37413).
 * Never fails; the table is read-only, so concurrent calls are safe.
 * Cost: five interval lookups (two or three loads in an adaptive trie, then at most four
 * interval starts) and an AND of five rule sets that stops at the first non-zero word:
 * close to flat in the number of rules (see the design note in nsg_classifier.c).
 */
const ModelNsgRule *model_nsg_table_classify(const ModelNsgTable *table, const ModelFlowKey *key);

/* The same decision by a plain scan of the rules in priority order over the same resolved
 * sets (binary search inside each rule's ranges): the test oracle and benchmark baseline.
 * Cost: O(R log P). */
const ModelNsgRule *model_nsg_table_classify_linear(const ModelNsgTable *table,
                                                    const ModelFlowKey *key);

/* Number of rules compiled (the direction's rules, defaults included). O(1). */
size_t model_nsg_table_n_rules(const ModelNsgTable *table);

/* Bytes held by the table's classifier structures (for benchmarks and limits). O(1). */
size_t model_nsg_table_memory(const ModelNsgTable *table);

/* Frees the table. NULL-safe. */
void model_nsg_table_free(ModelNsgTable *table);

#endif
