/*
 * cause.h — the stable names a trace uses: verdicts, stages and drop causes.
 *
 * One list generates the enums, the names written to trace.jsonl, the `vnetsim causes`
 * listing and the tests (contract.md §2–3: scripts outside the repo depend on these
 * spellings; extend the lists, never rename an entry).
 *
 * Columns of MODEL_CAUSES: enum suffix, group, root-cause-only flag, one-line meaning.
 * A root-cause-only cause never ends a flow by itself; it names the earlier decision that
 * sent a packet where it was dropped (e.g. the DNS answer that pointed to a public IP).
 */
#ifndef VNETSIM_MODEL_CAUSE_H
#define VNETSIM_MODEL_CAUSE_H

#include <stdbool.h>

#define MODEL_VERDICTS(X)                                                                          \
    X(DELIVERED, "delivered")                                                                      \
    X(DROPPED, "dropped")                                                                          \
    X(ABORTED, "aborted")

#define MODEL_STAGES(X)                                                                            \
    X(DNS, "dns")                                                                                  \
    X(HOSTS_FILE, "hosts-file")                                                                    \
    X(NSG_OUT, "nsg-out")                                                                          \
    X(NSG_IN, "nsg-in")                                                                            \
    X(ROUTE, "route")                                                                              \
    X(PEERING, "peering")                                                                          \
    X(GATEWAY, "gateway")                                                                          \
    X(FIREWALL, "firewall")                                                                        \
    X(NAT, "nat")                                                                                  \
    X(SERVICE_FIREWALL, "service-firewall")                                                        \
    X(IDENTITY, "identity")                                                                        \
    X(LISTENER, "listener")                                                                        \
    X(TCP, "tcp")                                                                                  \
    X(TLS, "tls")                                                                                  \
    X(PLATFORM, "platform")                                                                        \
    X(DELIVER, "deliver")

#define MODEL_CAUSES(X)                                                                            \
    X(NONE, "-", false, "no cause: the flow was delivered")                                        \
    X(DNS_NXDOMAIN, "dns", false, "the name does not exist in the view the resolver used")         \
    X(DNS_SERVFAIL, "dns", false, "a resolver failed (forwarding loop, CNAME loop, upstream)")     \
    X(DNS_TIMEOUT, "dns", false, "no resolver answered (e.g. 168.63.129.16 from on-prem)")         \
    X(DNS_PUBLIC_ANSWER, "dns", true, "a name with a private endpoint resolved to its public IP")  \
    X(DNS_STALE_HOSTS_ENTRY, "dns", true,                                                          \
      "a hosts file pins an address that is not the endpoint's")                                   \
    X(NSG_DENIED_OUT, "nsg", false, "an outbound NSG rule denied the packet")                      \
    X(NSG_DENIED_IN, "nsg", false, "an inbound NSG rule denied the packet")                        \
    X(NO_ROUTE, "routing", false, "no route matched the destination")                              \
    X(ROUTE_NEXT_HOP_NONE, "routing", false, "the selected route's next hop is None")              \
    X(ROUTE_NEXT_HOP_UNREACHABLE, "routing", false,                                                \
      "the next hop (appliance, gateway) does not exist or does not forward")                      \
    X(ROUTING_LOOP, "routing", false, "the packet's TTL ran out between hops")                     \
    X(ASYMMETRIC_RETURN, "routing", false, "a stateful device saw only one direction")             \
    X(FIREWALL_DENIED, "firewall", false, "an Azure Firewall rule or its default deny")            \
    X(FIREWALL_NO_DNS_PROXY, "firewall", false,                                                    \
      "DNS sent to the firewall, whose DNS proxy is off")                                          \
    X(GATEWAY_NOT_CONNECTED, "entry", false, "the gateway or connection is not there")             \
    X(ADDRESS_OVERLAP, "entry", false, "address spaces overlap across the connection")             \
    X(BASTION_DENIED, "entry", false, "Azure Bastion could not reach the target")                  \
    X(PUBLIC_ACCESS_DISABLED, "services", false,                                                   \
      "the service's public network access is disabled")                                           \
    X(SERVICE_FIREWALL_DENIED, "services", false,                                                  \
      "the service firewall (IP, VNet rules) refused the caller")                                  \
    X(IDENTITY_NOT_AUTHORIZED, "services", false, "the calling identity lacks a role")             \
    X(PRIVATE_LINK_VALIDATION_FAILED, "services", false,                                           \
      "workspace and storage endpoints are not placed as the service requires")                    \
    X(TRUSTED_SERVICE_NOT_ALLOWED, "services", false,                                              \
      "a managed service was refused: no resource-instance rule, trusted services off")            \
    X(NO_LISTENER, "hosts", false, "nothing listens on the port (TCP RST)")                        \
    X(HOST_UNREACHABLE, "hosts", false, "the destination address belongs to no host")              \
    X(COMPUTE_NODE_UNUSABLE, "hosts", false, "Batch cannot manage the node")                       \
    X(UNSUPPORTED_FEATURE, "aborted", false, "the simulator does not model this")                  \
    X(TRACE_TOO_LONG, "aborted", false, "the flow exceeded the step limit")                        \
    X(UNKNOWN_ENDPOINT, "aborted", false, "the flow names an endpoint the scenario lacks")

#define MODEL_X_ENUM_VERDICT(id, name)     MODEL_VERDICT_##id,
#define MODEL_X_ENUM_STAGE(id, name)       MODEL_STAGE_##id,
#define MODEL_X_ENUM_CAUSE(id, g, r, text) MODEL_CAUSE_##id,

typedef enum { MODEL_VERDICTS(MODEL_X_ENUM_VERDICT) MODEL_VERDICT_COUNT } ModelVerdict;
typedef enum { MODEL_STAGES(MODEL_X_ENUM_STAGE) MODEL_STAGE_COUNT } ModelStage;
typedef enum { MODEL_CAUSES(MODEL_X_ENUM_CAUSE) MODEL_CAUSE_COUNT } ModelCause;

const char *model_verdict_name(ModelVerdict v);
const char *model_stage_name(ModelStage s);
const char *model_cause_name(ModelCause c);
const char *model_cause_group(ModelCause c);
const char *model_cause_text(ModelCause c);
bool model_cause_is_root_only(ModelCause c);

/* Reverse lookups for scenario `expect:` blocks. Return false for an unknown name. */
bool model_cause_from_name(const char *name, ModelCause *out);
bool model_verdict_from_name(const char *name, ModelVerdict *out);

#endif
