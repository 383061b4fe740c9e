/*
 * net.h — a topology, built piece by piece, then replayed packet by packet.
 *
 * The scenario loader and the tests build a ModelNet with the model_net_add_*() calls,
 * call model_net_finalize() once (it compiles NSGs, builds every subnet's effective
 * routes, indexes addresses), then attach an engine, a trace and optionally a capture
 * directory, start flows, and run the engine. Outcomes are never looked up: each packet
 * meets the NSGs, routes, appliances and hosts it would meet in Azure, and the verdict of
 * a flow is whatever happened to its packets.
 *
 * Ownership: the net owns everything added to it; returned pointers stay valid until
 * model_net_free(). Construction calls return NULL / FALSE with a GError for invalid
 * input (the loader prefixes the file:line).
 */
#ifndef VNETSIM_MODEL_NET_H
#define VNETSIM_MODEL_NET_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/addr.h"
#include "model/nsg.h"
#include "model/route.h"
#include "model/servicetag.h"
#include "model/trace.h"
#include "sim/sim.h"

typedef struct ModelNet ModelNet;
typedef struct ModelVnet ModelVnet;
typedef struct ModelSubnet ModelSubnet;
typedef struct ModelNic ModelNic;
typedef struct ModelHost ModelHost;

/* privateEndpointNetworkPolicies of a subnet (azdocs:articles/private-link/
 * disable-private-endpoint-network-policy.md). Default Disabled: NSGs and UDRs do not
 * apply to traffic to private endpoints in the subnet. */
typedef enum {
    MODEL_PE_POLICIES_DISABLED,
    MODEL_PE_POLICIES_NSG,         /* NetworkSecurityGroupEnabled */
    MODEL_PE_POLICIES_ROUTE_TABLE, /* RouteTableEnabled */
    MODEL_PE_POLICIES_ENABLED,
} ModelPePolicies;

typedef enum {
    MODEL_HOST_VM,        /* a VM or compute node in a subnet */
    MODEL_HOST_APPLIANCE, /* a VM with IP forwarding that routes others' packets (NVA) */
    MODEL_HOST_INTERNET,  /* a host with a public IP, outside Azure's VNets */
    MODEL_HOST_SERVICE,   /* a PaaS resource: reached by public IP or private endpoint */
} ModelHostKind;

/* `tags` may be NULL (built-in table). The net takes ownership of tags. */
ModelNet *model_net_new(const char *region, ModelServiceTags *tags);
void model_net_free(ModelNet *net);

ModelNsg *model_net_add_nsg(ModelNet *net, const char *name, GError **error);
ModelRouteTable *model_net_add_route_table(ModelNet *net, const char *name, GError **error);
ModelNsg *model_net_find_nsg(const ModelNet *net, const char *name);
ModelRouteTable *model_net_find_route_table(const ModelNet *net, const char *name);
const ModelServiceTags *model_net_service_tags(const ModelNet *net);

ModelVnet *model_net_add_vnet(ModelNet *net, const char *name, const ModelPrefix *space,
                              size_t n_space, GError **error);
/* The prefix must lie inside the VNet's space and overlap no other subnet of it. */
ModelSubnet *model_net_add_subnet(ModelNet *net, ModelVnet *vnet, const char *name,
                                  ModelPrefix prefix, GError **error);
void model_subnet_set_nsg(ModelSubnet *subnet, ModelNsg *nsg);
void model_subnet_set_route_table(ModelSubnet *subnet, ModelRouteTable *table);
void model_subnet_set_pe_policies(ModelSubnet *subnet, ModelPePolicies policies);
/* Enables a service endpoint ("Microsoft.Storage", "Microsoft.KeyVault",
 * "Microsoft.ContainerRegistry") on the subnet: its traffic to the service's regional
 * prefixes takes a VirtualNetworkServiceEndpoint route and keeps its private source
 * address (azdocs:articles/virtual-network/virtual-network-service-endpoints-overview.md).
 * FALSE with error for a service the model does not know. */
gboolean model_subnet_add_service_endpoint(ModelSubnet *subnet, const char *service,
                                           GError **error);

/* A connected peering, both directions (Azure needs a link on each side; the pair is
 * what "Connected" means). The spaces must not overlap. */
gboolean model_net_peer(ModelNet *net, ModelVnet *a, ModelVnet *b, GError **error);

ModelHost *model_net_add_host(ModelNet *net, const char *name, ModelHostKind kind, GError **error);
/* A NIC in a subnet. Azure reserves the first four addresses and the last of every
 * subnet (azdocs:articles/virtual-network/virtual-networks-faq.md); those are refused. */
ModelNic *model_net_add_nic(ModelNet *net, ModelHost *host, ModelSubnet *subnet, const char *name,
                            uint32_t ip, GError **error);
void model_nic_set_nsg(ModelNic *nic, ModelNsg *nsg);
void model_nic_set_ip_forwarding(ModelNic *nic, bool on);
/* Gives the NIC an instance-level public IP: inbound from the internet reaches it, and
 * its internet egress is SNATed to that address. */
gboolean model_nic_set_public_ip(ModelNet *net, ModelNic *nic, uint32_t public_ip, GError **error);
void model_nic_add_asg(ModelNic *nic, const char *asg);
/* An internet host (e.g. a public service front end) at a public address. */
gboolean model_host_set_public_ip(ModelNet *net, ModelHost *host, uint32_t ip, GError **error);
/* A private endpoint: a NIC in `subnet` that carries packets to the service host. */
ModelNic *model_net_add_private_endpoint(ModelNet *net, const char *name, ModelSubnet *subnet,
                                         uint32_t ip, ModelHost *service, GError **error);

/* Opens TCP or UDP (proto 6 / 17) port on a host. */
void model_host_listen(ModelHost *host, uint8_t proto, uint16_t port);
/* A stateful appliance tracks connections and drops what it did not see begin
 * (ASYMMETRIC_RETURN); the default for appliances. */
void model_host_set_stateful(ModelHost *host, bool stateful);

ModelHost *model_net_find_host(const ModelNet *net, const char *name);
ModelVnet *model_net_find_vnet(const ModelNet *net, const char *name);
ModelSubnet *model_vnet_find_subnet(const ModelVnet *vnet, const char *name);

/* Compiles NSGs and builds effective routes. Call once, after the last add. */
gboolean model_net_finalize(ModelNet *net, GError **error);

/* Binds the net to an engine and a trace (both borrowed). pcap_dir NULL: no captures;
 * otherwise one pcap per NIC and per internet host, named <host>-<nic>.pcap, written to
 * temporary names until model_net_close_captures(commit = true). */
gboolean model_net_attach(ModelNet *net, SimEngine *engine, ModelTrace *trace, const char *pcap_dir,
                          GError **error);
gboolean model_net_close_captures(ModelNet *net, bool commit, GError **error);

/* Starts a flow at simulated time `at`: a TCP connection (handshake, with SYN
 * retransmissions on the RFC 6298 timer) or a UDP datagram from host `from` to dst:port.
 * The flow's verdict is written to the trace when it completes. Returns the flow index. */
int model_net_start_tcp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at);
int model_net_start_udp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at);

/* Replaces an NSG's rules while the simulation runs (a planned change landing): only
 * new connections see the new rules, as in Azure (flow records keep old decisions). */
gboolean model_net_recompile_nsg(ModelNet *net, ModelNsg *nsg, GError **error);

#endif
