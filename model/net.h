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
/* An address a description gives somewhere (a host's, a gateway's, a scoring IP …): when
 * the model picks a public address itself (a NAT gateway's, a Batch pool's, a firewall's
 * default), it passes this one by, whichever is built first. */
void model_net_reserve_public_ip(ModelNet *net, uint32_t ip);
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
/* defaultOutboundAccess (default true). false makes a private subnet: a NIC there without
 * an instance public IP, and no NAT gateway on the subnet, has no way to the internet
 * (azdocs:articles/virtual-network/ip-services/default-outbound-access.md). */
void model_subnet_set_default_outbound_access(ModelSubnet *subnet, bool enabled);
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

/* The topology as Graphviz DOT (topo_dot.c): on-prem, P2S clients, VNets and subnets, outside
 * services; every NIC a node (a capture point), linking to <pcap_href_prefix><capture>.pcap
 * unless the prefix is NULL. Deterministic. The caller frees the text. */
char *model_net_topology_dot(const ModelNet *net, const char *pcap_href_prefix);

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

/* ---- entry points (gateway.c, onprem.c, bastion.c): on-prem, VPN/ExpressRoute, Bastion ---- */

/* How clients reach the VNet (domain.md §2, azure-facts.md §6). Traffic between on-prem
 * and Azure crosses a gateway: a host with a NIC in the VNet's GatewaySubnet, whose
 * capture shows every packet it relays; the tunnel behind it is one hop with the
 * tunnel's latency. Outcomes emerge from routes: Azure's subnets learn the on-prem ranges
 * as gateway routes (source and next hop VirtualNetworkGateway), the on-prem side routes
 * the VNet ranges into the tunnel, and a packet that never reaches the gateway (an
 * overlapping range keeps it local) fails where it stops. */
typedef struct ModelOnprem ModelOnprem;
typedef struct ModelGateway ModelGateway;
typedef struct ModelConnection ModelConnection;

typedef enum {
    MODEL_GATEWAY_VPN,          /* point-to-site and site-to-site (IPsec over the internet) */
    MODEL_GATEWAY_EXPRESSROUTE, /* a private circuit; routes by BGP only */
} ModelGatewayKind;

/* An on-prem network: its address ranges (host bits clear, not overlapping each other)
 * and the DNS servers its hosts are given (their DHCP). Its hosts' internet traffic leaves
 * through one public address (the corp NAT; model_onprem_set_public_egress, else one from
 * 203.0.113.0/24 is assigned at finalize). NULL with error for a bad name or ranges. */
ModelOnprem *model_net_add_onprem(ModelNet *net, const char *name, const ModelPrefix *prefixes,
                                  size_t n, GError **error);
ModelOnprem *model_net_find_onprem(const ModelNet *net, const char *name);
void model_onprem_set_dns_servers(ModelOnprem *site, const uint32_t *ips, size_t n);
gboolean model_onprem_set_public_egress(ModelNet *net, ModelOnprem *site, uint32_t ip,
                                        GError **error);
/* A NIC of `host` on the site's LAN at `ip` (inside the site's ranges, unused there). Its
 * egress is on-prem routing: the site's own ranges on the LAN, Azure ranges learned over
 * a connection into that connection's tunnel, anything else to the internet (SNAT to the
 * site's public egress). The host gets the site's DNS servers unless it has its own. */
ModelNic *model_onprem_add_nic(ModelNet *net, ModelOnprem *site, ModelHost *host, const char *name,
                               uint32_t ip, GError **error);

/* A virtual network gateway in `vnet`: it needs a subnet named exactly GatewaySubnet
 * ("If you don't have a subnet named GatewaySubnet, when you create your VPN gateway, it
 * fails", azdocs:includes/vpn-gateway-about-gwsubnet-include.md), takes the first free
 * address of it, and a VNet holds at most one gateway of each kind
 * (azdocs:articles/expressroute/expressroute-howto-coexist-resource-manager.md). The
 * subnet's other rules (no NSG, no 0.0.0.0/0 UDR, route propagation on, nothing else in
 * it) are checked at finalize. NULL with error otherwise. */
ModelGateway *model_net_add_gateway(ModelNet *net, const char *name, ModelGatewayKind kind,
                                    ModelVnet *vnet, GError **error);
ModelGateway *model_net_find_gateway(const ModelNet *net, const char *name);
/* The host whose NIC is the gateway's capture point (<gateway>-nic0.pcap). */
ModelHost *model_gateway_host(const ModelGateway *gw);

/* Point-to-site: the VPN client address pool (VPN gateways only). FALSE with error for an
 * ExpressRoute gateway or a second pool. Overlaps with the VNet or on-prem are not refused
 * here: flows that cross them fail with ADDRESS_OVERLAP where the packet goes astray. */
gboolean model_gateway_set_p2s_pool(ModelGateway *gw, ModelPrefix pool, GError **error);
/* A P2S client: a NIC of `host` at `ip` from the pool, at the far end of a P2S tunnel. It
 * routes the VNet's ranges (those of spokes using this gateway, and of sites connected
 * with BGP) into the tunnel and the rest to its own internet (split tunnel). Unless the host has
 * its own DNS servers it gets the VNet's custom DNS servers, or none (azure-facts.md §6). */
ModelNic *model_gateway_add_p2s_client(ModelNet *net, ModelGateway *gw, ModelHost *host,
                                       const char *name, uint32_t ip, GError **error);
/* The client's own internet address (its home router); default: one from 203.0.113.0/24. */
gboolean model_p2s_client_set_public_egress(ModelNet *net, ModelNic *client, uint32_t ip,
                                            GError **error);

/* A site-to-site connection (VPN gateway + local network gateway) or an ExpressRoute
 * connection (ExpressRoute gateway + circuit) to `site`. The ranges Azure learns are the
 * site's, unless model_connection_set_prefixes says otherwise (a local network gateway
 * lists its own address space). Connected by default. */
ModelConnection *model_gateway_connect(ModelNet *net, ModelGateway *gw, const char *name,
                                       ModelOnprem *site, GError **error);
gboolean model_connection_set_prefixes(ModelConnection *c, const ModelPrefix *prefixes, size_t n,
                                       GError **error);
/* connectionStatus NotConnected (device down, shared key mismatch): a static VPN
 * connection keeps its routes and the gateway drops what reaches it
 * (GATEWAY_NOT_CONNECTED); a BGP one's routes (ExpressRoute's always) are withdrawn. */
void model_connection_set_connected(ModelConnection *c, bool connected);
/* BGP on a site-to-site connection: the routes are learned while the session is up, and
 * P2S clients of the gateway reach the site ("Non-Windows clients can access VNet1 and
 * Site1", azdocs:articles/vpn-gateway/vpn-gateway-about-point-to-site-routing.md, One VNet
 * and a branch office (BGP); without BGP they reach the VNet only). ExpressRoute always
 * uses BGP. */
void model_connection_set_bgp(ModelConnection *c, bool bgp);

/* Gateway transit on the peering between `vnet` and `remote` (which must be peered),
 * `vnet`'s side: allowGatewayTransit (the hub's) or useRemoteGateways (the spoke's).
 * A spoke using the hub's gateway learns the on-prem routes and on-prem learns the spoke
 * (azdocs:articles/vpn-gateway/vpn-gateway-peering-gateway-transit.md). Checked at
 * finalize: the remote has a gateway and allows transit, `vnet` has no gateway of its
 * own, one peering per VNet uses remote gateways
 * (azdocs:articles/virtual-network/virtual-network-manage-peering.md). */
gboolean model_net_set_gateway_transit(ModelNet *net, ModelVnet *vnet, ModelVnet *remote,
                                       bool allow_gateway_transit, bool use_remote_gateways,
                                       GError **error);

/* Azure Bastion in `vnet`'s AzureBastionSubnet (named exactly that, /26 or larger,
 * azdocs:articles/bastion/configuration-settings.md) at private `ip` with `public_ip`.
 * Returns its host (listening on TCP 443). An NSG on the subnet must hold the rules
 * azdocs:articles/bastion/bastion-nsg.md lists: checked at finalize. */
ModelHost *model_net_add_bastion(ModelNet *net, const char *name, ModelVnet *vnet, uint32_t ip,
                                 uint32_t public_ip, GError **error);
/* A Bastion session, packet by packet: `browser` opens TLS to the Bastion's public IP on
 * 443 (sub-flow "<name>/browser"), then Bastion connects from its private IP to
 * `target`:port, 22 or 3389 (sub-flow "<name>/ssh" or "<name>/rdp"). The session's own
 * verdict ("<name>") is delivered when both succeed; the browser leg's cause when it
 * fails (e.g. NSG_DENIED_IN at the Bastion's NSG); BASTION_DENIED, at the object that
 * stopped the inner connection, when Bastion cannot reach the target. Returns the index
 * of the browser leg's flow. */
int model_net_start_bastion_session(ModelNet *net, const char *name, ModelHost *browser,
                                    ModelHost *bastion, ModelHost *target, uint16_t port,
                                    SimTime at);

/* ==== PaaS services: storage, Key Vault, container registry, AML workspace (service.c) ====
 *
 * Each service is a host (MODEL_HOST_SERVICE) with a public address taken from its
 * service tag's regional prefixes (Storage.<region>, AzureKeyVault.<region>,
 * AzureContainerRegistry.<region>, AzureMachineLearning.<region>), the listeners it really
 * has, its FQDNs in public DNS (and private DNS through its private endpoints, at
 * finalize), and a network configuration that its request hook applies to every request
 * that reaches it: which interface the request came in on (a private endpoint needs no
 * rule), its source address, and the caller's identity (ModelFlowSpec.identity).
 * Refusals carry the error the real service returns. All services live in the net's
 * region. Construction calls fail with a GError for what Azure itself refuses (an IP rule
 * with a private address, network rules on a Basic registry, …) and change nothing. */
typedef struct ModelService ModelService;

typedef enum {
    MODEL_SERVICE_STORAGE,
    MODEL_SERVICE_KEY_VAULT,
    MODEL_SERVICE_REGISTRY,
    MODEL_SERVICE_WORKSPACE,
} ModelServiceKind;

/* publicNetworkAccess. SELECTED is "Enabled from selected virtual networks and IP
 * addresses": default action Deny, then IP rules and virtual network rules. */
typedef enum {
    MODEL_PUBLIC_ACCESS_ENABLED,
    MODEL_PUBLIC_ACCESS_SELECTED,
    MODEL_PUBLIC_ACCESS_DISABLED,
} ModelPublicAccess;

typedef enum { MODEL_ACR_BASIC, MODEL_ACR_STANDARD, MODEL_ACR_PREMIUM } ModelAcrSku;

/* A storage account: <name>.{blob,file,queue,table,dfs}.core.windows.net, TCP 443 and 445
 * (SMB, Azure Files). Name: 3–24 lower-case letters and digits. */
ModelService *model_net_add_storage_account(ModelNet *net, const char *name, GError **error);
/* A key vault: <name>.vault.azure.net, TCP 443. Name: 3–24 letters, digits, '-'. */
ModelService *model_net_add_key_vault(ModelNet *net, const char *name, GError **error);
/* A container registry: <name>.azurecr.io and its data endpoint
 * <name>.<region>.data.azurecr.io, TCP 443. Name: 5–50 letters and digits. */
ModelService *model_net_add_container_registry(ModelNet *net, const char *name, ModelAcrSku sku,
                                               GError **error);
/* An AML workspace: <guid>.workspace.<region>.api.azureml.ms, its .cert. twin and
 * ml-<name>-<region>-<guid>.<region>.notebooks.azure.net, TCP 443. Its system-assigned
 * managed identity is named like the workspace. guid: 36-character GUID. */
ModelService *model_net_add_workspace(ModelNet *net, const char *name, const char *guid,
                                      GError **error);

ModelService *model_net_find_service(const ModelNet *net, const char *name);
ModelHost *model_service_host(const ModelService *svc);
ModelServiceKind model_service_kind(const ModelService *svc);
const char *model_service_name(const ModelService *svc);
uint32_t model_service_public_ip(const ModelService *svc);
/* The FQDN of a sub-resource — storage "blob", "file", "queue", "table", "dfs"; vault
 * "vault"; registry "registry", "data"; workspace "api", "cert", "notebooks" — or with
 * NULL the first of them. NULL for a sub-resource the service does not have. Owned by
 * the service. */
const char *model_service_fqdn(const ModelService *svc, const char *subresource);
/* The system-assigned managed identity (workspaces), NULL for the other services. */
const char *model_service_identity(const ModelService *svc);

/* A Basic or Standard registry refuses SELECTED and DISABLED: "Configuring firewall
 * rules or using private endpoints is only available for the Premium SKU". */
gboolean model_service_set_public_access(ModelService *svc, ModelPublicAccess access,
                                         GError **error);
/* An IP rule: "a.b.c.d" or "a.b.c.d/n", public addresses only. Storage refuses /31 and
 * /32 prefixes ("configure these ranges by using individual IP address rules"). */
gboolean model_service_add_ip_rule(ModelService *svc, const char *address, GError **error);
/* A virtual network rule for a subnet (storage, key vault, Premium registry). Azure
 * grants it to requests that carry the subnet's identity, i.e. that left the subnet
 * through its service endpoint; the rule is accepted without one (as
 * ignoreMissingVnetServiceEndpoint does), and then simply never matches. */
gboolean model_service_add_vnet_rule(ModelService *svc, ModelSubnet *subnet, GError **error);
/* A storage resource instance rule, e.g. ("Microsoft.MachineLearningServices/workspaces",
 * "mlws"). */
gboolean model_service_add_resource_instance_rule(ModelService *svc, const char *resource_type,
                                                  const char *instance, GError **error);
/* "Allow Azure services on the trusted services list" (storage, key vault: bypass
 * AzureServices; registry: Premium, on by default). */
gboolean model_service_set_trusted_services(ModelService *svc, bool allow, GError **error);
/* A private endpoint for a sub-resource ("blob", "file", …, "vault", "registry",
 * "amlworkspace") in `subnet`: it serves that sub-resource's FQDNs (the registry's
 * endpoint serves both of its names; the workspace's all three). */
ModelNic *model_service_add_private_endpoint(ModelNet *net, ModelService *svc, const char *name,
                                             const char *subresource, ModelSubnet *subnet,
                                             uint32_t ip, GError **error);

/* An Azure role assignment: `role` (a built-in role name, e.g. "Reader", "Storage Blob
 * Data Reader") for `identity` at `scope`: a service ("mlwsstore") or one of its private
 * endpoints ("mlwsstore/privateEndpoints/<endpoint name or sub-resource>"). A private
 * endpoint is a resource of its own (Microsoft.Network/privateEndpoints): a role on the
 * account does not reach it. */
gboolean model_net_assign_role(ModelNet *net, const char *identity, const char *role,
                               const char *scope, GError **error);

/* The workspace's Application Insights and the Azure Monitor private link scope it sits
 * in (`az monitor private-link-scope`'s ingestionAccessMode / queryAccessMode). Read by
 * lint only: AML needs the scope in Open mode (domain.md §1, seed 001), no traffic is
 * modelled. `scoped` false: no private link scope. FALSE with error for a service that is
 * not a workspace or an empty name. */
typedef enum { MODEL_MONITOR_ACCESS_OPEN, MODEL_MONITOR_ACCESS_PRIVATE_ONLY } ModelMonitorAccess;

gboolean model_service_set_app_insights(ModelService *ws, const char *name, bool scoped,
                                        ModelMonitorAccess ingestion, ModelMonitorAccess query,
                                        GError **error);

/* ==== the managed services behind AML (service_managed.c) ==== */

/* How Azure Batch manages compute nodes. CLASSIC (the seeds' era, the default): the
 * Batch service opens TCP 29876–29877 to the node, from BatchNodeManagement.<region>.
 * SIMPLIFIED (current docs): the node opens TCP 443 to BatchNodeManagement.<region>. */
typedef enum { MODEL_BATCH_CLASSIC, MODEL_BATCH_SIMPLIFIED } ModelBatchMode;

typedef struct {
    ModelBatchMode batch_mode;
} ModelManagedOptions;

/* Adds the hosts outside the customer's VNets that AML depends on, each at an address
 * inside its service tag (regional tags of `region`, NULL: the net's), with its real
 * listeners and its name in public DNS: "aad" (login.microsoftonline.com, TCP 80, 443),
 * "arm" (management.azure.com, 443), "aml-service" (<region>.api.azureml.ms, TCP 443,
 * 18881, UDP 5831), "afd" (ml.azure.com, 443), "data-profiling" (no listener: it only
 * calls), "batch" (the node management endpoint, 443), "ms-storage" (Microsoft-managed
 * storage, blob/table/queue 443), "mcr" (mcr.microsoft.com, 443), "mcr-data" (its
 * data endpoint, AzureFrontDoor.FirstParty, 443) and "viennaglobal"
 * (viennaglobal.azurecr.io, 443). options NULL: defaults. Once per net. */
gboolean model_net_add_managed_services(ModelNet *net, const char *region,
                                        const ModelManagedOptions *options, GError **error);

/* The public DNS name of managed service `name` ("aad": login.microsoftonline.com, …),
 * NULL when it has none or the managed services were not added. */
const char *model_net_managed_fqdn(const ModelNet *net, const char *name);
/* The public address of managed service `name` ("aad", "batch", …), 0 when there is none. */
uint32_t model_net_managed_address(const ModelNet *net, const char *name);

/* The AML service opens TCP 44224 to a compute's public address (its management
 * connection to a compute instance). Returns the flow index, or -1 when the managed
 * services were not added. */
int model_net_start_aml_service_call(ModelNet *net, const char *flow, uint32_t compute_ip,
                                     SimTime at);
/* Batch node management for `node`, as the managed options' batch mode says: CLASSIC,
 * Batch connects to the node's public address on TCP 29876; SIMPLIFIED, the node connects
 * to the Batch node management endpoint on 443. -1 when the managed services were not
 * added. */
int model_net_start_batch_node_management(ModelNet *net, const char *flow, ModelHost *node,
                                          SimTime at);
/* The studio's data profiling: the data-profiling service opens TLS to the public blob
 * endpoint of `storage`, acting with the workspace's managed identity. Whatever happens
 * to it happens at the storage account (firewall, roles, the AML service's private link
 * validation). -1 when the managed services were not added. */
int model_net_start_data_profiling(ModelNet *net, const char *flow, ModelService *workspace,
                                   ModelService *storage, SimTime at);

/* Building an environment image and pushing it to the workspace's `registry`
 * (domain.md §4.5): sub-flows "<prefix>/base-image" (the base image from
 * mcr.microsoft.com) and "<prefix>/acr-push" (to the registry), HTTPS each. `builder`
 * NULL: serverless, i.e. ACR Tasks, a Microsoft-hosted agent outside every VNet, reaching
 * the registry's public endpoint; else the image-build compute's node, resolving both
 * names through its VNet's DNS. Appends the sub-flows' names to `names` (NULL: could not
 * start); returns how many, -1 without managed services or registry. */
int model_net_start_image_build(ModelNet *net, const char *flow_prefix, ModelService *registry,
                                ModelHost *builder, SimTime at, GPtrArray *names);

/* An activity (domain.md §4): verdicts already on their way as its parts (flow names in
 * `parts`, in the documented order: flows, compute management judgements, other
 * activities), judged together in the verdict `name`, written when the last part's is:
 * delivered when every part is; else the verdict, cause, at and root cause of the first
 * part (in the order given) that was not. A NULL part (one that could not start) makes the
 * activity aborted UNKNOWN_ENDPOINT at once. */
void model_net_join_activity(ModelNet *net, const char *name, const char *const *parts, size_t n);
/* The same, with the activity's own documented fix for a failing part (fixes[i] NULL, or
 * fixes NULL: the part's hint) — where the fix lies above the part, e.g. in who builds. */
void model_net_join_activity_fixes(ModelNet *net, const char *name, const char *const *parts,
                                   const char *const *fixes, size_t n);

/* ---- Azure Firewall (azfw.c, azfw_rules.c) ---- */

/* Azure Firewall as a host in AzureFirewallSubnet: its private IP is what the spokes' UDRs
 * name as next hop, its public IP what its internet traffic leaves with. A packet it
 * relays meets the rules as azdocs:articles/firewall/rule-processing.md orders them:
 * network rules first (rule collection groups by priority, their network collections by
 * priority, rules in order, first match wins), then application rules for HTTP, HTTPS and
 * MSSQL, else the default action, deny ("Action: Deny. Reason: No rule matched. Proceeding
 * with default action"). Application rules are decided on the first data segment (the TLS
 * ClientHello's SNI, the HTTP Host): the firewall's transparent proxy completes the
 * client's TCP handshake itself (firewall-faq.md, "Why can a TCP ping … successfully
 * connect …") and opens its own connection to the server only when a rule allows. Traffic
 * to the internet leaves SNATed to the public IP; network-rule traffic to private ranges
 * (IANA RFC 1918 and RFC 6598 unless configured) keeps its source, application-rule
 * traffic is always SNATed (snat-private-range.md). Stateful: a reply it never saw begin
 * is ASYMMETRIC_RETURN. A deny is FIREWALL_DENIED at "<fw>/<collection>/<rule>", the
 * default action at "<fw>". DNAT rules and FQDN tags are not modelled. */
typedef struct ModelAzfw ModelAzfw;
typedef struct ModelAzfwGroup ModelAzfwGroup;
typedef struct ModelAzfwCollection ModelAzfwCollection;

typedef enum {
    MODEL_AZFW_NETWORK,     /* a network rule collection */
    MODEL_AZFW_APPLICATION, /* an application rule collection */
} ModelAzfwCollectionKind;

/* A firewall in `subnet`, which must be named AzureFirewallSubnet and be /26 or larger
 * (firewall-faq.md, "Why does Azure Firewall need a /26 subnet size?"), with its NIC at
 * private_ip (IP forwarding on) and public_ip. Its instances use the next free address of
 * the subnet as the source of what they SNAT to a private address. The name is 1–50
 * characters (firewall-faq.md). NULL with error otherwise. */
ModelAzfw *model_net_add_firewall(ModelNet *net, const char *name, ModelSubnet *subnet,
                                  uint32_t private_ip, uint32_t public_ip, GError **error);
ModelAzfw *model_net_find_firewall(const ModelNet *net, const char *name);
/* The host that is the firewall: its NIC's capture (<fw>-nic0.pcap) shows what it sees. */
ModelHost *model_azfw_host(const ModelAzfw *fw);
/* DNS proxy (azdocs:articles/firewall/dns-settings.md): disabled by default. Enabled, the
 * firewall listens on UDP 53 of its private IP and forwards to its DNS servers (default
 * Azure DNS), caching answers; FQDNs in network rules match the addresses it handed out.
 * Disabled, DNS sent to it is dropped: FIREWALL_NO_DNS_PROXY. */
void model_azfw_set_dns_proxy(ModelAzfw *fw, bool enabled);
/* The firewall's custom DNS servers ("DNS servers" setting); none: Azure DNS. */
void model_azfw_set_dns_servers(ModelAzfw *fw, const uint32_t *ips, size_t n);
/* SNAT private IP address ranges (snat-private-range.md): destinations of network-rule
 * traffic that keeps its source. Items: "IANAPrivateRanges" (the default: RFC 1918 and
 * 100.64.0.0/10), an IP, a CIDR; "0.0.0.0/0" never SNATs, "255.255.255.255/32" always.
 * FALSE with error for a bad item (the ranges are then unchanged). */
gboolean model_azfw_set_snat_private_ranges(ModelAzfw *fw, const char *const *ranges, size_t n,
                                            GError **error);
/* An IP group (azdocs:articles/firewall/ip-groups.md): a named list of IPs, CIDRs and
 * ranges ("10.0.0.1-10.0.0.9") that rules added after it may name. */
gboolean model_azfw_add_ip_group(ModelAzfw *fw, const char *name, const char *const *addresses,
                                 size_t n, GError **error);
/* A rule collection group, priority 100–65000 (lower first; policy-rule-sets.md). Names
 * follow rule-processing.md: letters, digits, '_', '.', '-', starting with a letter or
 * digit, ending with a letter, digit or '_', at most 80 characters. NULL with error. */
ModelAzfwGroup *model_azfw_add_group(ModelAzfw *fw, const char *name, int priority, GError **error);
/* A rule collection of `kind` in `group`: priority 100–65000, one action for its rules. */
ModelAzfwCollection *model_azfw_add_collection(ModelAzfwGroup *group, const char *name,
                                               int priority, ModelAzfwCollectionKind kind,
                                               ModelAccess action, GError **error);

/* Rule fields as the firewall policy's JSON names them; every list is NULL-terminated and
 * NULL means empty. Addresses: "*", an IP, a CIDR, a range "a.b.c.d-e.f.g.h"; destinations
 * may also be a service tag, spelt exactly (Azure Firewall does not fold case:
 * Azure/azure-cli-extensions#2922). */
typedef struct {
    const char *name;
    const char *const *ip_protocols;     /* "TCP", "UDP", "ICMP", "Any" */
    const char *const *source_addresses; /* at least one source address or IP group */
    const char *const *source_ip_groups;
    const char *const *destination_addresses; /* at least one destination of any kind */
    const char *const *destination_ip_groups;
    const char *const *destination_fqdns; /* no wildcards; need the DNS proxy */
    const char *const *destination_ports; /* "*", "443", "8000-8999" */
} ModelAzfwNetworkRule;

typedef struct {
    const char *name;
    const char *const *protocols; /* "Https:443", "Http:80", "Mssql:1433"; port optional */
    const char *const *source_addresses;
    const char *const *source_ip_groups;
    const char *const *target_fqdns; /* "pypi.org", "*.pypi.org" (not the apex), "*" */
    const char *const *fqdn_tags;    /* refused: the FQDNs behind a tag are not published */
} ModelAzfwApplicationRule;

/* Appends a rule to a collection of the matching kind. FALSE with error (naming the rule)
 * for a bad field, a missing side, an unknown IP group or service tag, a wildcard in a
 * network FQDN, or a network FQDN on a firewall whose DNS proxy is off
 * (fqdn-filtering-network-rules.md: "You must enable DNS Proxy"). */
gboolean model_azfw_add_network_rule(ModelAzfwCollection *c, const ModelAzfwNetworkRule *rule,
                                     GError **error);
gboolean model_azfw_add_application_rule(ModelAzfwCollection *c,
                                         const ModelAzfwApplicationRule *rule, GError **error);

/* ---- NAT gateway (natgw.c) ---- */

/* A NAT gateway (azdocs:articles/nat-gateway/nat-overview.md) with 1–16 public IPs. A
 * subnet's internet egress is SNATed to one of them: it "takes precedence over other
 * outbound connectivity methods, including Load balancer, instance-level public IP
 * addresses" (a UDR to an appliance still wins: the packet never takes the Internet hop).
 * "Unsolicited inbound connections from the internet aren't permitted through a NAT
 * gateway": they are dropped there (HOST_UNREACHABLE at the gateway). */
typedef struct ModelNatGw ModelNatGw;

ModelNatGw *model_net_add_nat_gateway(ModelNet *net, const char *name, const uint32_t *public_ips,
                                      size_t n, GError **error);
/* At most one NAT gateway per subnet, not GatewaySubnet, and one gateway's subnets all in
 * one VNet ("A NAT gateway can't span multiple virtual networks"). */
gboolean model_subnet_set_nat_gateway(ModelSubnet *subnet, ModelNatGw *gw, GError **error);
ModelHost *model_nat_gateway_host(const ModelNatGw *gw);

/* ---- Azure Load Balancer (lb.c) ---- */

/* A Standard load balancer (azdocs:articles/load-balancer/components.md): one frontend
 * IP (public, or private in a subnet for an internal one), one backend pool of NICs,
 * load-balancing rules (protocol, frontend port -> backend port, probe) and health probes.
 * Probes are packets from 168.63.129.16 (the AzureLoadBalancer tag) to every backend on
 * the engine's clock, subject to the backend's NSGs; a backend takes new flows once a
 * probe succeeded and until `threshold` probes in a row failed
 * (load-balancer-custom-probe-overview.md). A flow to the frontend goes to a healthy
 * backend chosen by a hash of its 5-tuple, DNAT to the backend's address (the client's
 * address is kept); its replies leave from the frontend. No healthy backend: the packet
 * is dropped, HOST_UNREACHABLE at the load balancer, naming the probe failures. */
typedef struct ModelLb ModelLb;

typedef enum {
    MODEL_LB_PROBE_TCP,  /* a handshake: SYN/ACK up, RST or silence down */
    MODEL_LB_PROBE_HTTP, /* GET path: HTTP 200 up */
} ModelLbProbeProtocol;

/* subnet NULL: a public load balancer whose frontend is the public `frontend_ip`; else an
 * internal one at a private address of `subnet`. NULL with error. */
ModelLb *model_net_add_load_balancer(ModelNet *net, const char *name, ModelSubnet *subnet,
                                     uint32_t frontend_ip, GError **error);
uint32_t model_lb_frontend_ip(const ModelLb *lb);
ModelHost *model_lb_host(const ModelLb *lb);
/* Backends are VM NICs of one VNet (the internal frontend's VNet). */
gboolean model_lb_add_backend(ModelLb *lb, ModelNic *nic, GError **error);
/* interval_s 0: 5 s (the default); threshold 0: 1 ("If the health probe fails, your
 * backend pool instances are immediately marked as unhealthy"). path: HTTP only. */
gboolean model_lb_add_probe(ModelLb *lb, const char *name, ModelLbProbeProtocol protocol,
                            uint16_t port, const char *path, unsigned interval_s,
                            unsigned threshold, GError **error);
/* protocol 6 (Tcp) or 17 (Udp); the probe must exist. */
gboolean model_lb_add_rule(ModelLb *lb, const char *name, uint8_t protocol, uint16_t frontend_port,
                           uint16_t backend_port, const char *probe, GError **error);
/* An inbound NAT rule (azdocs:articles/load-balancer/inbound-nat-rules.md): frontend_port
 * of the frontend goes to backend_port of one backend (added to the pool if it is not in
 * it), with no health probe; the client's address is kept, the reply leaves from the
 * frontend. A frontend port belongs to one rule of either kind. */
gboolean model_lb_add_inbound_nat_rule(ModelLb *lb, const char *name, uint8_t protocol,
                                       uint16_t frontend_port, ModelNic *backend,
                                       uint16_t backend_port, GError **error);
/* An outbound rule (azdocs:articles/load-balancer/outbound-rules.md), public frontends
 * only: backends without an instance public IP leave for the internet SNATed to the
 * frontend (a subnet's NAT gateway still comes first). */
void model_lb_set_outbound_rule(ModelLb *lb, bool on);

/* ==== AML compute and AKS inference (compute.c, aks.c) ==== */

/* A compute instance or compute cluster injected into a subnet (domain.md §4.3,
 * azdocs:articles/machine-learning/how-to-secure-training-vnet.md). Its nodes are VMs of
 * the subnet at its first free addresses, in order (deterministic), named "<name>" (an
 * instance) or "<name>-node<i>" (a cluster). Azure Batch gives every node NIC a
 * Batch-managed NSG, "<name>-nsg": inbound TCP 29876-29877 from BatchNodeManagement
 * (classic node communication, the seeds' era), TCP 44224 from AzureMachineLearning (an
 * instance, or compute with a public IP), optionally TCP 22; outbound the defaults. The
 * nodes listen on 29876, 29877, 44224 (and 22).
 *
 * With a public IP the pool gets a public load balancer, "<name>-lb", its frontend from
 * AzureCloud.<region> (or options->first_public_ip): an inbound NAT rule per node and
 * listener (model_compute_node_public_port) through which management inbound reaches the
 * node, and an outbound rule for the nodes' internet egress. A cluster at 0 nodes has no
 * NSG, no public IP and no load balancer ("clusters delete them at 0 nodes"). Without a
 * public IP nothing inbound reaches a node from the internet and its management is
 * outbound only; model_net_finalize then requires the workspace (options->workspace)
 * to have an amlworkspace private endpoint in the compute's VNet or a peered one ("No
 * public IP clusters are dependent on Azure Private Link for Azure Machine Learning
 * workspace") and the subnet's private endpoint network policies Disabled. NULL with
 * error for an instance with other than 1 node, too few free addresses ("the cluster
 * would be partially allocated"), a taken name or address. */
typedef struct ModelCompute ModelCompute;

typedef enum { MODEL_COMPUTE_INSTANCE, MODEL_COMPUTE_CLUSTER } ModelComputeKind;

typedef struct {
    bool ssh;                 /* the Batch NSG also allows inbound TCP 22 */
    uint32_t first_public_ip; /* the load balancer's frontend; 0: from AzureCloud.<region> */
    ModelService *workspace;  /* its private endpoint is required without public IP */
    /* The workspace's associated resources: what model_net_start_compute_outbound reaches
     * through their FQDNs (NULL: that sub-flow is not started). */
    ModelService *storage, *key_vault, *registry;
} ModelComputeOptions;

ModelCompute *model_net_add_compute(ModelNet *net, const char *name, ModelComputeKind kind,
                                    ModelSubnet *subnet, unsigned nodes, bool public_ip,
                                    const ModelComputeOptions *options, GError **error);
ModelCompute *model_net_find_compute(const ModelNet *net, const char *name);
ModelComputeKind model_compute_kind(const ModelCompute *c);
bool model_compute_has_public_ip(const ModelCompute *c);
unsigned model_compute_n_nodes(const ModelCompute *c);
ModelHost *model_compute_node(const ModelCompute *c, unsigned i); /* NULL past the end */
uint32_t model_compute_node_ip(const ModelCompute *c, unsigned i);
/* Where node i is reached from the internet: the pool load balancer's frontend, and the
 * frontend port of the node's listener `port` (29876, 29877, 44224, 22); 0: none. */
uint32_t model_compute_node_public_ip(const ModelCompute *c, unsigned i);
uint16_t model_compute_node_public_port(const ModelCompute *c, unsigned i, uint16_t port);
ModelLb *model_compute_load_balancer(const ModelCompute *c); /* NULL: none */
ModelNsg *model_compute_nsg(const ModelCompute *c);          /* NULL at 0 nodes */
const char *model_compute_name(const ModelCompute *c);
ModelSubnet *model_compute_subnet(const ModelCompute *c);
ModelService *model_compute_workspace(const ModelCompute *c); /* options.workspace */

/* workspace.imageBuildCompute: the compute cluster the workspace builds its images on
 * (domain.md §4.5); NULL, the default, is serverless builds (ACR Tasks). The workspace
 * borrows it. */
void model_service_set_image_build_compute(ModelService *ws, ModelCompute *c);
ModelCompute *model_service_image_build_compute(const ModelService *ws);
/* workspace.storage, keyVault, containerRegistry: the workspace's associated resources
 * (NULL: none), which lint judges against this workspace only. Never set: lint assumes
 * every resource of the net belongs to every workspace (one workspace per net). */
void model_service_set_resources(ModelService *ws, ModelService *storage, ModelService *key_vault,
                                 ModelService *registry);

/* An Azure Container Instances inference target in `subnet` (domain.md §4.5): a placement
 * only, for lint ("ACI in a VNet is unsupported when the workspace uses private
 * endpoints"); it has no hosts and no traffic model, so flows cannot use it. FALSE with
 * error for an empty or taken name (another compute, AKS or ACI). */
/* `workspace`: the workspace it serves (NULL: not said; lint then judges it against all). */
gboolean model_net_add_aci(ModelNet *net, const char *name, ModelSubnet *subnet,
                           const ModelService *workspace, GError **error);

/* A subnet delegation (`az network vnet subnet update --delegations`), e.g.
 * "Microsoft.ContainerInstance/containerGroups", which ACI in a VNet needs. Recorded for
 * lint; nothing else reads it. FALSE with error when the subnet already has it. */
gboolean model_subnet_add_delegation(ModelNet *net, ModelSubnet *subnet, const char *service,
                                     GError **error);
bool model_subnet_delegated(const ModelNet *net, const ModelSubnet *subnet, const char *service);

/* Who manages a node. BATCH: with a public IP and classic node communication, the Batch
 * service opens TCP 29876 to the node's public address; otherwise (simplified mode, or no
 * public IP) the node opens TLS on 443 to the Batch node management endpoint. AML: the AML
 * service opens TCP 44224 to the node's public address. */
typedef enum { MODEL_COMPUTE_MGMT_BATCH, MODEL_COMPUTE_MGMT_AML } ModelComputeManager;

/* Management of node `node`, as real packets in sub-flow "<flow>/batch-29876",
 * "<flow>/batch-443" or "<flow>/aml-44224", judged in the flow "<flow>": delivered when the
 * connection is; else dropped with COMPUTE_NODE_UNUSABLE ("If a subnet NSG or firewall
 * denies Batch inbound, the node is marked unusable", domain.md §4.3), `at` the object
 * that stopped the inner connection (e.g. "nsg-training/DenyAllInbound"), the inner cause
 * as root cause, and a hint built from what the packets met. Returns the inner flow's
 * index; -1 (and an aborted verdict) without managed services or for the AML service and
 * a node without public IP (it would come over Private Link, not modelled). */
int model_net_start_compute_management(ModelNet *net, const char *flow, ModelCompute *c,
                                       unsigned node, ModelComputeManager who, SimTime at);
/* The documented outbound requirements of node 0 (azdocs:includes/
 * machine-learning-public-internet-access.md), one sub-flow each, all starting at `at`,
 * each through DNS: "<prefix>/aad" (login.microsoftonline.com 443), "/aml"
 * (<region>.api.azureml.ms 443), "/aml-18881", "/aml-5831" (UDP, instances), "/batch"
 * (443), "/arm", "/ms-storage" (Storage.<region>), "/afd", "/mcr"; and with the options'
 * services "/workspace-api", "/storage-smb" (file endpoint 445), "/storage-https" (blob
 * endpoint 443), "/keyvault", "/acr". Appends the sub-flows' names to `names` (may be NULL;
 * a NULL entry: that one could not start). Returns how many, -1 without managed services
 * or nodes. */
int model_net_start_compute_outbound(ModelNet *net, ModelCompute *c, const char *flow_prefix,
                                     SimTime at, GPtrArray *names);

/* An AKS inference cluster attached to the workspace (domain.md §4.4, azdocs:articles/
 * machine-learning/v1/how-to-secure-inferencing-vnet.md). Its scoring endpoint is the
 * frontend of a Standard load balancer: INTERNAL, a private address of the subnet
 * ("kubernetes-internal", azdocs:articles/aks/internal-lb.md), or PUBLIC, a public
 * address; a load-balancing rule scoring_port -> azureml-fe on the nodes' scoring_port,
 * TCP-probed there; azureml-fe hands the request to the model pod (port 5001) inside the
 * node. Callers outside the VNet need an inbound NSG rule for the scoring port on the
 * subnet. */
typedef struct ModelAks ModelAks;

typedef enum { MODEL_AKS_LB_INTERNAL, MODEL_AKS_LB_PUBLIC } ModelAksLbKind;

typedef struct {
    ModelSubnet *subnet;
    ModelAksLbKind lb;
    uint32_t scoring_ip;   /* internal: an address of the subnet; public: public. 0: Azure's
                            * pick (the subnet's next free one; AzureCloud.<region>) */
    uint16_t scoring_port; /* 0: 80 */
    ModelPrefix service_cidr;
    uint32_t dns_service_ip;
    ModelPrefix docker_bridge_cidr; /* host bits allowed ("172.17.0.1/16") */
    const char *region;             /* NULL: the net's */
    unsigned nodes;                 /* 0: 1 */
} ModelAksSpec;

/* NULL with error as Azure refuses: service CIDR overlapping a subnet, DNS service IP
 * outside it or its first address, docker bridge overlapping a subnet or the service
 * CIDR, region other than the VNet's (checked again at finalize for later subnets). */
ModelAks *model_net_add_aks(ModelNet *net, const char *name, const ModelAksSpec *spec,
                            GError **error);
ModelAks *model_net_find_aks(const ModelNet *net, const char *name);
ModelHost *model_aks_node(const ModelAks *aks, unsigned i);
ModelLb *model_aks_load_balancer(const ModelAks *aks);
uint32_t model_aks_scoring_ip(const ModelAks *aks);
uint16_t model_aks_scoring_port(const ModelAks *aks);
/* A client calls the scoring endpoint: TCP to scoring_ip:scoring_port and one HTTP
 * request (TLS first when https). Returns the flow's index. */
int model_net_start_aks_scoring(ModelNet *net, const char *flow, ModelHost *client, ModelAks *aks,
                                bool https, SimTime at);

#endif
