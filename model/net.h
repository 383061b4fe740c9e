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
#include "model/dns.h"
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

/* ---- flows: what a host does, packet by packet ---- */

/* A flow: resolve (when fqdn is given: hosts file, then the host's DNS servers, real
 * queries with timeouts), connect (TCP handshake with SYN retransmissions on the RFC 6298
 * timer, or one UDP datagram), then optionally TLS (ClientHello with SNI, ServerHello)
 * and one request with its response. Its verdict is written to the trace when it ends:
 * delivered when every step succeeded, else dropped with the cause of the step that
 * failed (and the DNS step behind it as root cause, when there is one). */
typedef struct {
    const char *name;
    ModelHost *from;
    const char *fqdn; /* NULL: connect to ip */
    uint32_t ip;
    uint16_t port;
    uint8_t proto; /* 6 TCP, 17 UDP */
    bool tls;
    const char *sni;      /* NULL: fqdn */
    bool request;         /* one request/response after the handshake (and TLS) */
    const char *identity; /* the caller's identity, for services that check roles */
} ModelFlowSpec;

/* Starts the flow at `at` (a time already past means now). Returns the flow's index. */
int model_net_start_flow(ModelNet *net, const ModelFlowSpec *spec, SimTime at);
/* Shorthands: a TCP handshake or a UDP datagram to an address. */
int model_net_start_tcp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at);
int model_net_start_udp(ModelNet *net, const char *flow, ModelHost *from, uint32_t dst,
                        uint16_t dport, SimTime at);

/* ---- DNS ---- */

/* The scenario's DNS data: the public view and the Private DNS zones. Owned by the net. */
ModelDnsDb *model_net_dns(ModelNet *net);
/* A VNet's custom DNS servers; none (the default) means Azure DNS, 168.63.129.16. */
void model_vnet_set_dns_servers(ModelVnet *vnet, const uint32_t *ips, size_t n);
/* A host's own resolver list: overrides the VNet's (a P2S client, an on-prem laptop). */
void model_host_set_dns_servers(ModelHost *host, const uint32_t *ips, size_t n);
/* A hosts-file line: consulted before any DNS server, as every stub resolver does. */
gboolean model_host_add_hosts_entry(ModelHost *host, const char *name, uint32_t ip, GError **error);

typedef enum {
    /* Azure DNS: 168.63.129.16, or a DNS Private Resolver inbound endpoint. Answers from
     * the Private DNS zones linked to the asking VNet (for an inbound endpoint: its own
     * VNet), else publicly. */
    MODEL_DNS_SERVER_AZURE,
    /* A DNS server VM or an on-prem DNS server: conditional forwarders by longest zone
     * suffix, else its forwarders, else the public internet (root hints). */
    MODEL_DNS_SERVER_FORWARDER,
    /* Azure Firewall's DNS proxy: forwards to its forwarders (default 168.63.129.16) and
     * caches answers, positive up to 1 h, negative up to 30 min
     * (azdocs:articles/firewall/dns-settings.md). */
    MODEL_DNS_SERVER_PROXY,
} ModelDnsServerKind;

/* Makes the host a DNS server of that kind, listening on UDP 53. */
void model_host_set_dns_server(ModelHost *host, ModelDnsServerKind kind);
void model_dns_server_add_forwarder(ModelHost *host, uint32_t ip);
gboolean model_dns_server_add_conditional(ModelHost *host, const char *zone, const uint32_t *ips,
                                          size_t n, GError **error);
/* Declares that `fqdn` names `service` (a PaaS endpoint): the trace can then tell a public
 * answer for a name with a private endpoint (root cause DNS_PUBLIC_ANSWER) or a hosts
 * entry that is neither the endpoint's nor the public address (DNS_STALE_HOSTS_ENTRY). */
void model_net_register_fqdn(ModelNet *net, const char *fqdn, ModelHost *service);
/* Declares that the private endpoint serves `fqdn` (e.g. the blob endpoint serves
 * acct.blob.core.windows.net). At finalize the public view gets Azure's chain (fqdn CNAME
 * its privatelink name CNAME the public host A the service's public IP) and the private
 * DNS zone of that privatelink name, when the scenario has one, gets the endpoint's A
 * record — what the portal's private DNS integration does. */
gboolean model_private_endpoint_add_fqdn(ModelNet *net, ModelNic *pe, const char *fqdn,
                                         GError **error);

/* Replaces an NSG's rules while the simulation runs (a planned change landing): only
 * new connections see the new rules, as in Azure (flow records keep old decisions). */
gboolean model_net_recompile_nsg(ModelNet *net, ModelNsg *nsg, GError **error);

#endif
