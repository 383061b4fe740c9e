/*
 * net_internal.h — the structures behind net.h, shared by net.c (building), forward.c
 * (the packet walk) and stack.c (hosts' TCP/UDP behaviour). Not for other modules.
 */
#ifndef VNETSIM_MODEL_NET_INTERNAL_H
#define VNETSIM_MODEL_NET_INTERNAL_H

#include "model/net.h"
#include "model/prefixset.h"
#include "pcap/capture.h"
#include "sim/rng.h"

/* Azure's virtual gateway MAC: every frame a VM sends goes to it, every frame it receives
 * comes from it (what a capture inside an Azure VM shows). */
#define MODEL_AZURE_GW_MAC                                                                         \
    {                                                                                              \
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc                                                         \
    }
/* The platform's virtual public IP: DNS, DHCP, health probes
 * (azdocs:articles/virtual-network/what-is-ip-address-168-63-129-16.md). */
#define MODEL_AZURE_PLATFORM_IP MODEL_IP4(168, 63, 129, 16)

#define MODEL_PACKET_MAX     1600
#define MODEL_FLOW_MAX_STEPS 10000 /* beyond this a flow is aborted: TRACE_TOO_LONG */

struct ModelVnet {
    char *name;
    ModelPrefix *space;
    size_t n_space;
    GPtrArray *subnets;    /* ModelSubnet *, owned by the net */
    GPtrArray *peers;      /* ModelVnet *: connected peerings */
    GHashTable *nic_by_ip; /* uint32 ip -> ModelNic *, every NIC (and PE) in the VNet */
    /* The VirtualNetwork and Internet service tags as NSGs in this VNet see them
     * (azdocs:articles/virtual-network/service-tags-overview.md). */
    ModelPrefixSet tag_virtual_network;
    ModelPrefixSet tag_internet;
    GArray *dns_servers; /* uint32: custom DNS servers; empty = Azure DNS */
};

struct ModelSubnet {
    char *name;
    char *path; /* "vnet/subnet", for traces */
    ModelVnet *vnet;
    ModelPrefix prefix;
    ModelNsg *nsg;
    ModelRouteTable *route_table;
    ModelPePolicies pe_policies;
    GPtrArray *service_endpoints; /* char *: "Microsoft.Storage" … */
    ModelNsgTable *nsg_in, *nsg_out;
    ModelEffectiveRoutes *routes;
    ModelNatGw *nat_gateway;  /* natgw.c: the subnet's NAT gateway, NULL for none */
    bool no_default_outbound; /* a private subnet (defaultOutboundAccess: false) */
};

struct ModelNic {
    ModelNet *net; /* back pointer: engine callbacks get only the packet */
    char *name;
    char *capture_name; /* "<host>-<nic>" */
    ModelHost *host;
    ModelSubnet *subnet; /* NULL for an internet host's interface */
    uint32_t ip;
    uint32_t public_ip;           /* 0: none (egress uses default outbound access) */
    uint32_t default_outbound_ip; /* assigned at first internet egress without public_ip */
    bool no_default_outbound;     /* a Batch node of a no-public-IP pool */
    ModelLb *outbound_lb;         /* lb.c: the load balancer whose outbound rule it leaves by */
    uint8_t mac[6];
    ModelNsg *nsg;
    ModelNsgTable *nsg_in, *nsg_out;
    GPtrArray *asgs; /* char * */
    bool ip_forwarding;
    ModelHost *pe_target; /* private endpoint: the service behind it */
    GPtrArray *fqdns;     /* private endpoint: the names it serves (lower case) */
    PcapCapture *capture;
    uint64_t frames; /* frames written to the capture so far */
    /* entry points (onprem.c): set on an on-prem LAN NIC or a P2S client's NIC, whose
     * egress is on-prem routing; NULL in Azure and on the internet. */
    struct ModelOutside *outside;
};

typedef struct ModelDnsServer ModelDnsServer; /* dns_server.c */

/* What a service answers to a request (an HTTP status inside TLS). */
typedef struct {
    int status;       /* 200 when served */
    ModelCause cause; /* why not, when status is not 2xx */
    char *at;         /* the deciding object */
    char *detail;     /* e.g. "HTTP 403 AuthorizationFailure: public network access is Disabled" */
    char *hint;
} ModelAppResponse;

typedef struct ModelFlow ModelFlow;
typedef struct ModelPacket ModelPacket;

/* A host's application behaviour beyond TCP/UDP listeners: PaaS services decide here
 * (service firewall, identities). NULL members: serve every request (200). */
typedef struct {
    /* The request of `flow` reached `host` on `nic` (a private endpoint's NIC, or the
     * host's own interface for its public endpoint), sent from pkt->key.src. */
    void (*request)(ModelNet *net, ModelHost *host, ModelNic *nic, ModelFlow *flow,
                    const ModelPacket *pkt, ModelAppResponse *out);
} ModelHostApp;

struct ModelHost {
    char *name;
    ModelHostKind kind;
    GPtrArray *nics;    /* ModelNic *, owned by the net */
    GHashTable *listen; /* (proto << 16 | port) set */
    bool stateful;
    uint32_t public_ip;         /* internet and service hosts */
    GArray *dns_servers;        /* uint32: the host's own resolver list; empty = its VNet's */
    GHashTable *hosts_file;     /* name -> ip */
    ModelDnsServer *dns_server; /* non-NULL: answers DNS on UDP 53 */
    uint16_t next_ephemeral;    /* 0: 49152 (flow.c) */
    GHashTable *ports_used;     /* client ports handed out (flow.c), NULL: none yet */
    const ModelHostApp *app;
    void *app_data;
    /* middleboxes: set when the host is one (azfw.c, natgw.c, lb.c) */
    ModelAzfw *azfw;
    ModelNatGw *natgw;
    ModelLb *lb;
};

/* A packet in flight: the frame as it is on the wire now, and its header fields. */
struct ModelPacket {
    uint8_t frame[MODEL_PACKET_MAX];
    uint16_t len;
    ModelFlowKey key; /* host order, kept equal to the frame's headers */
    uint8_t tcp_flags;
    uint32_t tcp_seq, tcp_ack;
    int flow; /* index into net->flows, -1 for none */
    ModelNic *at;
    uint64_t frame_no; /* its number in the last capture that recorded it */
    bool forwarded;    /* left an appliance: egress is the appliance's, not the origin's */
    ModelNic *sent_by; /* the NIC that originated it (Azure DNS answers from its VNet's view) */
    uint16_t payload_off, payload_len; /* L4 payload within frame */
    bool health_probe;                 /* lb.c: a load balancer's probe, which NSGs do decide */
};

typedef enum { FLOW_TCP, FLOW_UDP } FlowKind;

/* Where a flow is: each phase sends real packets and waits on a timer. */
typedef enum {
    PHASE_START,
    PHASE_RESOLVE,
    PHASE_CONNECT, /* SYN sent */
    PHASE_TLS,     /* ClientHello sent */
    PHASE_REQUEST, /* request sent */
    PHASE_DONE,
} FlowPhase;

/* What the resolver concluded, kept for the verdict's root cause. */
typedef struct {
    bool done;
    uint32_t address;
    bool from_hosts_file;
    bool private_answer;
    char *answered_by;   /* the server the client asked (or "hosts-file") */
    char *public_reason; /* who resolved publicly and why, when the answer is public */
    char *public_by;     /* the server that made the public decision */
    /* the query in flight */
    uint16_t txid, sport;
    guint server; /* index into the resolver list */
    int round;
    uint32_t server_ip;
} FlowDns;

struct ModelFlow {
    ModelNet *net;
    int index; /* in net->flows, carried by every packet of the flow */
    char *name;
    SimRng rng;      /* the flow's own random stream (model__random) */
    char *responder; /* the host that answered the SYN, for the verdict */
    FlowKind kind;
    ModelHost *from;
    ModelNic *nic;
    char *fqdn;
    char *sni;
    char *identity;
    bool tls, request;
    uint32_t dst;
    uint16_t sport, dport;
    FlowPhase phase;
    int attempts; /* of the current phase's segment */
    SimEventId timer;
    bool done;
    uint64_t steps;
    FlowDns dns;
    /* TCP sequence space, both ends (the server side lives here too: one connection). */
    uint32_t cli_isn, cli_nxt, srv_isn, srv_nxt;
    uint32_t req_len;          /* bytes of the request segment */
    ModelAppResponse response; /* what the service decided, carried by its response */
    /* The last drop any packet of this flow met: the verdict when the flow gives up. */
    ModelCause drop_cause;
    char *drop_at;
    char *drop_hint;
    /* An earlier decision that explains a later drop (DNS_PUBLIC_ANSWER, …). */
    ModelCause root_cause;
    char *root_at;
    char *root_hint;
    /* entry points (bastion.c): called once, after the verdict is written, by a flow
     * another flow waits for (a Bastion session's legs). */
    void (*on_finish)(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                      const char *at, const char *hint, void *ctx);
    void *on_finish_ctx;
};

struct ModelNet {
    char *region;
    ModelServiceTags *tags;
    GPtrArray *vnets, *subnets, *hosts, *nics, *nsgs, *route_tables, *flows;
    GHashTable *nsg_by_name, *rt_by_name, *host_by_name, *vnet_by_name;
    GHashTable *public_ip;       /* uint32 public ip -> ModelNic * (instance IPs, internet hosts) */
    GHashTable *reserved_public; /* uint32 set: addresses Azure's picks pass by, NULL: none */
    GHashTable *asg_members;     /* asg name -> GArray of uint32 ips */
    GHashTable *nsg_state;       /* NsgFlowKey -> 1: flows an NSG allowed (stateful) */
    GHashTable *conntrack;       /* ConnKey -> ConnEntry: appliances' connection tracking */
    GHashTable *snat;            /* SnatKey -> SnatEntry: Azure's outbound SNAT to public IPs */
    GHashTable *snat_out;        /* inside 5-tuple (owner: public IP) -> the public port it took */
    GHashTable *fqdn_service;    /* lower-case fqdn -> ModelHost * (PaaS names) */
    ModelDnsDb *dns;
    struct ModelServiceSet *services; /* service*.c: PaaS services, roles, managed hosts */
    struct ModelEntry *entry; /* gateway.c, onprem.c, bastion.c: on-prem, gateways, Bastion */
    struct ModelMiddleboxes *middleboxes; /* azfw.c, natgw.c, lb.c */
    struct ModelComputeSet *computes;     /* compute.c, aks.c */
    struct Activities *activities;        /* activity.c: activities waiting for parts */
    uint32_t next_default_outbound_ip;
    uint16_t ip_id;
    bool finalized;

    SimEngine *engine;
    ModelTrace *trace;
    char *pcap_dir;
};

/* forward.c */
void model__send(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
void model__step(ModelNet *net, ModelPacket *pkt, const char *node, ModelStage stage,
                 const char *object, const char *action, const char *detail);
void model__drop(ModelNet *net, ModelPacket *pkt, const char *node, ModelStage stage,
                 const char *object, ModelCause cause, const char *detail, const char *hint);
ModelPacket *model__packet_new(int flow);
void model__packet_free(void *pkt);
void model__activities_free(ModelNet *net); /* activity.c */

/* Builds a TCP or UDP packet of `flow` with `payload`; key is the packet's 5-tuple. */
ModelPacket *model__tcp_packet(ModelNet *net, int flow, const ModelFlowKey *key, uint8_t flags,
                               uint32_t seq, uint32_t ack, const uint8_t *payload, size_t len);
ModelPacket *model__udp_packet(ModelNet *net, int flow, const ModelFlowKey *key,
                               const uint8_t *payload, size_t len);
ModelFlow *model__flow_of(ModelNet *net, const ModelPacket *pkt);
/* The next client port of `host` from the IANA dynamic range 49152-65535, wrapping. Per
 * host, so a flow's ports do not move when a flow of another host changes. */
uint16_t model__next_ephemeral(ModelHost *host);
/* A client port of `host` for flow `flow` (`salt` tells its connections apart), from the
 * dynamic range at a place derived from the flow's name, the next free one on collision:
 * a flow keeps its ports when other flows of the host come or go, so a load balancer's
 * 5-tuple hash sends it where it went before (vnetsim diff stays on the flows it touched). */
uint16_t model__client_port(ModelHost *host, const char *flow, uint32_t salt);
/* Random numbers for flow `flow` (-1: none, the engine's stream): each flow has its own
 * stream, seeded from the engine's seed and the flow's name, so that what one flow draws
 * (jitter, ISNs, TLS randoms, DNS ids) does not depend on any other flow — `vnetsim diff`
 * then sees only the flows a change touched. */
uint64_t model__random(ModelNet *net, int flow);
uint64_t model__random_below(ModelNet *net, int flow, uint64_t bound);
void model__random_bytes(ModelNet *net, int flow, uint8_t *out, size_t n);

/* net_dns.c: public chains and private endpoint records of the registered PaaS names. */
gboolean model__register_service_names(ModelNet *net, GError **error);

/* stack.c: a packet reached a host (server side, or the client's own stack). */
void model__host_receive(ModelNet *net, ModelNic *nic, ModelPacket *pkt);

/* flow.c: the client side. */
void model__flow_finish(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                        const char *at, const char *hint);
void model__flow_tcp_receive(ModelNet *net, ModelFlow *flow, ModelPacket *pkt);
void model__flow_resolved(ModelNet *net, ModelFlow *flow); /* dns_client.c calls it */
void model__app_response_clear(ModelAppResponse *r);

/* dns_client.c: the stub resolver of a flow's host. */
void model__dns_client_start(ModelNet *net, ModelFlow *flow);
void model__dns_client_receive(ModelNet *net, ModelFlow *flow, ModelPacket *pkt);
ModelHost *model__service_of_fqdn(ModelNet *net, const char *fqdn);

/* dns_server.c */
ModelDnsServer *model__dns_server_new(ModelDnsServerKind kind);
void model__dns_server_free(ModelDnsServer *server);
void model__dns_server_add_forwarder(ModelDnsServer *server, uint32_t ip);
void model__dns_server_add_conditional(ModelDnsServer *server, const char *zone,
                                       const uint32_t *ips, size_t n);
/* A datagram reached UDP 53 of a DNS server host; returns false when it was not DNS. */
bool model__dns_server_receive(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt);

/* ==== PaaS services, roles and managed services (service.c, service_identity.c,
 * service_managed.c) ==== */

/* The first address Azure's default outbound access hands out (net.c): a request from one
 * of these came from a VM of the scenario, hence from its region. */
#define MODEL_DEFAULT_OUTBOUND_FIRST MODEL_IP4(52, 186, 0, 10)

typedef struct {
    ModelNic *nic;
    char *subresource; /* "blob", "vault", "registry", "amlworkspace" … */
} ModelServicePe;

typedef struct {
    char *type;     /* "Microsoft.MachineLearningServices/workspaces" */
    char *instance; /* "mlws" */
} ModelInstanceRule;

struct ModelService {
    ModelNet *net;
    ModelServiceKind kind;
    char *name;
    ModelHost *host;
    char *guid;     /* workspaces */
    char *identity; /* system-assigned managed identity (workspaces), else NULL */
    ModelAcrSku sku;
    ModelPublicAccess access;
    bool trusted_services;
    GArray *ip_rules;          /* ModelPrefix */
    GPtrArray *vnet_rules;     /* ModelSubnet * (borrowed) */
    GPtrArray *instance_rules; /* ModelInstanceRule * */
    GPtrArray *pes;            /* ModelServicePe * */
    GPtrArray *subresources;   /* char *, parallel to fqdns */
    GPtrArray *fqdns;          /* char *, lower case */
    /* workspaces, read by lint: */
    ModelCompute *image_build; /* imageBuildCompute (borrowed), NULL: serverless builds */
    /* Its associated resources (borrowed), so that with several workspaces each resource
     * is judged against its own; resources_set false: never said (all apply). */
    ModelService *storage, *key_vault, *registry;
    bool resources_set;
    char *app_insights;  /* NULL: none given */
    bool monitor_scoped; /* in an Azure Monitor private link scope */
    ModelMonitorAccess monitor_ingestion, monitor_query;
};

typedef struct {
    char *identity, *role, *scope; /* scope: "svc" or "svc/privateEndpoints/<nic name>" */
} ModelRoleAssignment;

typedef struct ModelServiceSet {
    GPtrArray *services; /* ModelService *, owned */
    GHashTable *by_name; /* name -> ModelService * */
    GPtrArray *roles;    /* ModelRoleAssignment *, owned */
    bool managed;        /* model_net_add_managed_services ran */
    ModelBatchMode batch_mode;
    GHashTable *managed_fqdns; /* managed host name -> its public name, region expanded */
} ModelServiceSet;

/* service.c */
ModelServiceSet *model__services(ModelNet *net); /* created on first use */
void model__services_free(ModelNet *net);        /* net.c: model_net_free */
/* A free public address in `tag` whose most specific tag (model_service_tags_name_of) is
 * that tag, so explanations name it. FALSE with error when the table has no such tag or
 * no free address. */
gboolean model__service_tag_address(ModelNet *net, const char *tag, uint32_t *out, GError **error);
/* A step of a request's flow, written where a hook decides (the request's packet is
 * const there). */
void model__service_step(ModelNet *net, const ModelPacket *pkt, const char *node, ModelStage stage,
                         const char *object, const char *action, const char *detail);

/* service_identity.c */
ModelService *model__service_of_identity(ModelNet *net, const char *identity);
/* True when `identity` holds one of roles (NULL-terminated) at exactly `scope`. */
bool model__has_role(ModelNet *net, const char *identity, const char *const *roles,
                     const char *scope);
/* Storage's authorization of a request that passed its firewall: for the AML service
 * acting with a workspace's identity (`caller_ws`), first what that service checks (Reader
 * on the account's private endpoints, then their placement against the workspace's);
 * then the data role the identity needs. True when authorized, else false with `out`
 * filled. Nothing is checked for a request without identity (an account key or SAS). */
bool model__storage_authorize(ModelNet *net, ModelService *storage, ModelFlow *flow,
                              const ModelPacket *pkt, ModelService *caller_ws,
                              ModelAppResponse *out);

/* ==== entry points: on-prem sites, VPN / ExpressRoute gateways, Bastion (gateway.c,
 * onprem.c, bastion.c) ==== */

struct ModelOnprem {
    char *name;
    ModelPrefix *prefixes; /* the site's own ranges: its LAN */
    size_t n_prefixes;
    GArray *dns_servers;    /* uint32: what its hosts are given (DHCP) */
    uint32_t public_egress; /* the corp NAT address its internet traffic leaves with */
    GHashTable *nic_by_ip;  /* uint32 ip -> ModelNic *: its hosts' interfaces */
    GPtrArray *connections; /* ModelConnection * (borrowed) */
};

struct ModelGateway {
    char *name;
    ModelGatewayKind kind;
    ModelVnet *vnet;
    ModelSubnet *subnet; /* GatewaySubnet */
    ModelHost *host;     /* the gateway instance; its NIC is the capture point */
    ModelNic *nic;
    bool has_pool;
    ModelPrefix pool;       /* point-to-site client address pool */
    GHashTable *clients;    /* uint32 ip -> ModelNic *: P2S clients */
    GPtrArray *connections; /* ModelConnection * (borrowed) */
    GArray *client_routes;  /* ModelPrefix: what P2S clients send into the tunnel (finalize) */
};

struct ModelConnection {
    char *name;
    ModelGateway *gateway;
    ModelOnprem *site;
    bool connected;
    bool bgp;               /* VPN: BGP on the connection (ExpressRoute always is) */
    GArray *prefixes;       /* ModelPrefix: on-prem ranges Azure learns */
    GArray *azure_prefixes; /* ModelPrefix: Azure ranges the site sends into it (finalize) */
};

/* Where a NIC outside Azure sits. */
typedef struct ModelOutside {
    ModelOnprem *site;      /* on a site's LAN */
    ModelGateway *p2s;      /* or at the far end of this gateway's P2S tunnel */
    uint32_t public_egress; /* P2S: the client's own internet address */
} ModelOutside;

typedef struct {
    ModelVnet *vnet, *remote; /* options of vnet's side of its peering with remote */
    bool allow_gateway_transit, use_remote_gateways;
} ModelPeeringOptions;

typedef struct ModelBastion ModelBastion; /* bastion.c */

typedef struct ModelEntry {
    GPtrArray *sites;       /* ModelOnprem *, owned */
    GPtrArray *gateways;    /* ModelGateway *, owned */
    GPtrArray *connections; /* ModelConnection *, owned */
    GPtrArray *peering;     /* ModelPeeringOptions *, owned */
    GPtrArray *outsides;    /* ModelOutside *, owned (NICs point at them) */
    GPtrArray *bastions;    /* ModelBastion *, owned */
    GPtrArray *sessions;    /* Bastion sessions under way, owned */
    uint32_t next_home_ip;  /* default public egress addresses, from 203.0.113.0/24 */
} ModelEntry;

/* gateway.c */
ModelEntry *model__entry(ModelNet *net); /* created on first use */
/* gateway.c: the hub whose gateway v uses through gateway transit, NULL for none. */
ModelVnet *model__transit_hub(ModelNet *net, const ModelVnet *v);
void model__entry_free(ModelNet *net); /* net.c: model_net_free */
/* net.c: model_net_finalize, before the topological tags: checks the entry points'
 * configuration, computes on-prem routing, adds connected on-prem ranges and P2S pools to
 * the VirtualNetwork tag of the VNets behind a gateway, hands DNS servers to clients. */
gboolean model__entry_prepare(ModelNet *net, GError **error);
/* net.c: model_net_finalize, after the NSGs are compiled (Bastion's NSG rules). */
gboolean model__entry_check(ModelNet *net, GError **error);
/* net.c: build_routes. The gateway routes a subnet learns (ModelRouteGatewayPrefix, names
 * owned by the gateways); an empty array when none. The caller frees the array. */
GArray *model__entry_gateway_routes(const ModelNet *net, const ModelSubnet *subnet);
/* forward.c: the selected route's next hop is VirtualNetworkGateway. Takes the packet. */
void model__gateway_next_hop(ModelNet *net, ModelNic *nic, ModelPacket *pkt,
                             const ModelRoute *route, const char *object, const char *detail);
/* forward.c: a VnetLocal / peering route found no NIC at the destination. True (packet
 * dropped with ADDRESS_OVERLAP, not freed) when the address is also on-prem or in a P2S
 * pool behind a gateway of the VNet: the local route kept it from the gateway. */
bool model__entry_overlap(ModelNet *net, ModelNic *nic, ModelPacket *pkt, const char *object);
/* onprem.c: a packet from an on-prem host or P2S client whose route is the tunnel to gw
 * (over connection c; NULL for point-to-site). Takes the packet. */
void model__gateway_tunnel_in(ModelNet *net, ModelNic *from, ModelPacket *pkt, ModelGateway *gw,
                              const ModelConnection *c);

/* onprem.c */
void model__outside_egress(ModelNet *net, ModelNic *nic, ModelPacket *pkt); /* takes pkt */
void model__outside_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt); /* un-NAT */
uint32_t model__outside_egress_ip(const ModelOutside *side);

/* bastion.c */
void model__bastion_free(void *bastion);
void model__bastion_session_free(void *session);
gboolean model__bastion_check(ModelNet *net, GError **error);

/* forward.c, for the entry points: one hop after `latency`; the internet's delivery of a
 * packet leaving `nic` (no SNAT for a NIC outside Azure); remembering where the reply of
 * a translated flow goes back in. */
void model__hop(ModelNet *net, ModelPacket *pkt, ModelNic *to, SimTime latency);
void model__to_internet(ModelNet *net, ModelPacket *pkt, ModelNic *nic, const char *via);
void model__remember_return(ModelNet *net, ModelNic *nic, ModelFlowKey *after, uint32_t orig_ip,
                            uint16_t orig_port, int flow);
/* The inside address and port a reply to a translated flow goes back to; false: none. */
bool model__snat_reverse(ModelNet *net, const ModelFlowKey *reply, uint32_t *ip, uint16_t *port);

/* net.c: a NIC of `host` outside any subnet (on-prem, P2S), in the net's NIC list. */
ModelNic *model__nic_new(ModelNet *net, ModelHost *host, const char *name, uint32_t ip);

/* ==== middleboxes: Azure Firewall (azfw.c, azfw_rules.c), NAT gateway (natgw.c), load
 * balancer (lb.c) ==== */

typedef enum { MODEL_AZFW_APP_HTTP, MODEL_AZFW_APP_HTTPS, MODEL_AZFW_APP_MSSQL } ModelAzfwAppKind;

typedef struct {
    ModelAzfwAppKind kind;
    uint16_t port;
} ModelAzfwAppProtocol;

/* One rule, its sets resolved when it was added (IP groups, service tags). */
typedef struct {
    char *name;
    char *object; /* "<fw>/<collection>/<rule>": the trace's object */
    ModelAzfwCollection *collection;
    ModelPrefixSet src, dst; /* normalized */
    GPtrArray *fqdns;        /* char *, lower case: network destinations or target FQDNs */
    bool tcp, udp, icmp, any_protocol;
    GArray *ports;         /* ModelPortRange: network destination ports */
    GArray *app_protocols; /* ModelAzfwAppProtocol */
} ModelAzfwRule;

struct ModelAzfwCollection {
    char *name;
    int priority;
    guint seq; /* creation order: equal priorities keep it */
    ModelAzfwCollectionKind kind;
    ModelAccess action;
    ModelAzfwGroup *group;
    GPtrArray *rules; /* ModelAzfwRule *, owned, in order */
};

struct ModelAzfwGroup {
    char *name;
    int priority;
    guint seq;
    ModelAzfw *fw;
    GPtrArray *collections; /* ModelAzfwCollection *, owned, by (priority, seq) */
};

struct ModelAzfw {
    ModelNet *net;
    char *name;
    ModelHost *host;
    ModelNic *nic;
    uint32_t instance_ip; /* the source of what the firewall SNATs to a private address */
    bool dns_proxy;
    GArray *dns_servers;         /* uint32: custom DNS servers; empty = Azure DNS */
    ModelPrefixSet snat_private; /* network-rule destinations not SNATed, normalized */
    GHashTable *ip_groups;       /* name -> ModelPrefixSet *, normalized */
    GPtrArray *groups;           /* ModelAzfwGroup *, owned, by (priority, seq) */
    guint seq;
    GHashTable *conns;    /* connection key -> AzfwConn * (azfw.c), owned */
    GHashTable *upstream; /* key of a reply to the firewall's own side -> AzfwConn * */
    uint16_t next_port;   /* SNAT / proxy source ports */
};

/* azfw_rules.c: the first rule of the firewall's network collections (in processing order)
 * matching the flow, or NULL. `resolved` says whether the firewall's DNS handed out `ip`
 * for `fqdn` (FQDNs in network rules). */
typedef bool (*ModelAzfwResolved)(void *ctx, const char *fqdn, uint32_t ip);
const ModelAzfwRule *model__azfw_match_network(const ModelAzfw *fw, const ModelFlowKey *key,
                                               ModelAzfwResolved resolved, void *ctx);
/* The first application rule matching a request of `kind` on `port` from `src` for `fqdn`
 * (SNI or Host, lower case; NULL or "" matches no target FQDN), or NULL. */
const ModelAzfwRule *model__azfw_match_application(const ModelAzfw *fw, uint32_t src,
                                                   ModelAzfwAppKind kind, uint16_t port,
                                                   const char *fqdn);
/* True when the transparent proxy takes TCP connections to `port`: 80 and 443, and any
 * port an application rule names (firewall-faq.md; MicrosoftDocs/azure-docs#121272). */
bool model__azfw_proxy_port(const ModelAzfw *fw, uint16_t port);
void model__azfw_group_free(gpointer group);
void model__azfw_default_snat_ranges(ModelAzfw *fw); /* IANAPrivateRanges */

/* All middleboxes of a net, created on first use (azfw.c) and freed by model_net_free. */
typedef struct ModelMiddleboxes {
    GPtrArray *firewalls;      /* ModelAzfw *, owned */
    GPtrArray *nat_gateways;   /* ModelNatGw *, owned */
    GPtrArray *load_balancers; /* ModelLb *, owned */
} ModelMiddleboxes;

ModelMiddleboxes *model__middleboxes(ModelNet *net);
void model__middleboxes_free(ModelNet *net); /* net.c: model_net_free */
void model__azfw_free(gpointer fw);
void model__natgw_free(gpointer gw);
void model__lb_free(gpointer lb);

/* Hooks. forward.c appliance_forward, for a firewall's NIC, before connection tracking:
 * true lets the packet go on as a plain stateful relay; false when the firewall took it
 * (denied and freed, proxied, or translated and sent on). */
bool model__azfw_forward(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
/* stack.c model__host_receive, for a packet addressed to a firewall: true when it was
 * dropped there (DNS without the DNS proxy); the caller frees it. */
bool model__azfw_local(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
/* forward.c to_internet: the subnet's NAT gateway replaces *ip (and *how) when it has one. */
void model__natgw_snat(const ModelNic *nic, const ModelPacket *pkt, uint32_t *ip, const char **how);
/* forward.c on_arrive: true when the packet reached a NAT gateway's address unsolicited
 * and was dropped (left to the engine to free). */
bool model__natgw_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
/* forward.c on_arrive, before the NSGs: a load balancer frontend DNATs the packet to a
 * backend and returns the backend's NIC, where the packet carries on; NULL when it was
 * dropped (no rule, no healthy backend; left to the engine to free). Any other NIC is
 * returned as is, after a reply of a load-balanced flow got its frontend source back. */
/* service_managed.c: the AML service's call and Batch's node management, to where the
 * node is reached from the internet (ip, port; Batch: 0 for the node's own address and
 * 29876). */
int model__aml_service_call(ModelNet *net, const char *flow, uint32_t ip, uint16_t port,
                            SimTime at);
int model__batch_node_management(ModelNet *net, const char *flow, ModelHost *node, uint32_t ip,
                                 uint16_t port, SimTime at);
/* azfw.c: SNAT private ranges include 0.0.0.0/0: "Azure Firewall can never route traffic
 * directly to the Internet" (snat-private-range.md) — it leaves unSNATed. */
bool model__azfw_never_snats(const ModelAzfw *fw);
/* lb.c: the frontend an outbound rule SNATs `nic` to (and the step's label); the public
 * frontend through which `nic` is reached from the internet, 0 for none (lint). */
bool model__lb_outbound_snat(const ModelNic *nic, uint32_t *ip, const char **how);
uint32_t model__lb_public_frontend_of(const ModelNet *net, const ModelNic *nic);
ModelNic *model__lb_arrive(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
/* forward.c to_internet: true when the packet is the reply of a flow that came in through
 * a public load balancer; it now leaves from the frontend (rewritten), without SNAT. */
bool model__lb_public_reply(ModelNet *net, ModelPacket *pkt);
/* forward.c egress, before the platform bypass: true when the packet answers a health
 * probe; the load balancer took it (freed). */
bool model__lb_probe_answer(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
/* forward.c model__drop: a health probe was dropped (why a backend goes down). */
void model__lb_probe_lost(ModelNet *net, const ModelPacket *pkt, const char *object,
                          ModelCause cause);
/* stack.c tcp_serve: the GET of an HTTP probe reached a listening backend. */
void model__lb_probe_serve(ModelNet *net, ModelNic *nic, ModelHost *host, ModelPacket *pkt);
/* net.c model_net_attach: the probes start on the engine's clock. */
void model__lb_start(ModelNet *net);

/* dns_server.c, for FQDNs in Azure Firewall network rules: true when the server (a DNS
 * proxy) holds an unexpired answer for qname with the A record ip. */
bool model__dns_server_cached_a(ModelNet *net, const ModelDnsServer *server, const char *qname,
                                uint32_t ip);

/* ==== AML compute and AKS inference (compute.c, aks.c) ==== */

typedef struct ModelComputeSet {
    GPtrArray *computes; /* ModelCompute *, owned */
    GPtrArray *aks;      /* ModelAks *, owned */
    GPtrArray *calls;    /* management calls under way, owned (compute.c) */
    GPtrArray *aci;      /* ModelAci *, owned: placements only (lint) */
    /* ModelDelegation *, owned: kept here rather than on the subnet because only the
     * placements' checks read them. */
    GPtrArray *delegations;
} ModelComputeSet;

typedef struct {
    char *name;
    ModelSubnet *subnet;
    const ModelService *workspace; /* the workspace it serves, NULL: not said (all) */
} ModelAci;

typedef struct {
    ModelSubnet *subnet;
    char *service; /* "Microsoft.ContainerInstance/containerGroups" */
} ModelDelegation;

ModelComputeSet *model__computes(ModelNet *net); /* compute.c: created on first use */
void model__computes_free(ModelNet *net);        /* net.c: model_net_free */
/* net.c: model_net_finalize, after the NSGs are compiled: no-public-IP compute needs the
 * workspace's private endpoint; AKS CIDRs against subnets added since. */
gboolean model__compute_check(ModelNet *net, GError **error);
/* compute.c, for aks.c: the first `n` free addresses of `subnet`, in order; FALSE with
 * error (naming `what`) when it has fewer. */
gboolean model__subnet_free_addresses(ModelSubnet *subnet, unsigned n, uint32_t *out,
                                      const char *what, GError **error);
/* aks.c */
void model__aks_free(gpointer aks);
gboolean model__aks_check(ModelNet *net, const ModelAks *aks, GError **error);

#endif
