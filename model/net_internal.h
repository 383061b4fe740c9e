/*
 * net_internal.h — the structures behind net.h, shared by net.c (building), forward.c
 * (the packet walk) and stack.c (hosts' TCP/UDP behaviour). Not for other modules.
 */
#ifndef VNETSIM_MODEL_NET_INTERNAL_H
#define VNETSIM_MODEL_NET_INTERNAL_H

#include "model/net.h"
#include "model/prefixset.h"
#include "pcap/capture.h"

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
};

struct ModelNic {
    ModelNet *net; /* back pointer: engine callbacks get only the packet */
    char *name;
    char *capture_name; /* "<host>-<nic>" */
    ModelHost *host;
    ModelSubnet *subnet; /* NULL for an internet host's interface */
    uint32_t ip;
    uint32_t public_ip; /* 0: none (egress uses default outbound access) */
    uint32_t default_outbound_ip; /* assigned at first internet egress without public_ip */
    uint8_t mac[6];
    ModelNsg *nsg;
    ModelNsgTable *nsg_in, *nsg_out;
    GPtrArray *asgs; /* char * */
    bool ip_forwarding;
    ModelHost *pe_target; /* private endpoint: the service behind it */
    GPtrArray *fqdns;     /* private endpoint: the names it serves (lower case) */
    PcapCapture *capture;
    uint64_t frames; /* frames written to the capture so far */
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
    const ModelHostApp *app;
    void *app_data;
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
};

struct ModelNet {
    char *region;
    ModelServiceTags *tags;
    GPtrArray *vnets, *subnets, *hosts, *nics, *nsgs, *route_tables, *flows;
    GHashTable *nsg_by_name, *rt_by_name, *host_by_name, *vnet_by_name;
    GHashTable *public_ip;    /* uint32 public ip -> ModelNic * (instance IPs, internet hosts) */
    GHashTable *asg_members;  /* asg name -> GArray of uint32 ips */
    GHashTable *nsg_state;    /* NsgFlowKey -> 1: flows an NSG allowed (stateful) */
    GHashTable *conntrack;    /* ConnKey -> ConnEntry: appliances' connection tracking */
    GHashTable *snat;         /* SnatKey -> SnatEntry: Azure's outbound SNAT to public IPs */
    GHashTable *fqdn_service; /* lower-case fqdn -> ModelHost * (PaaS names) */
    ModelDnsDb *dns;
    uint32_t next_default_outbound_ip;
    uint16_t next_ephemeral;
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

/* Builds a TCP or UDP packet of `flow` with `payload`; key is the packet's 5-tuple. */
ModelPacket *model__tcp_packet(ModelNet *net, int flow, const ModelFlowKey *key, uint8_t flags,
                               uint32_t seq, uint32_t ack, const uint8_t *payload, size_t len);
ModelPacket *model__udp_packet(ModelNet *net, int flow, const ModelFlowKey *key,
                               const uint8_t *payload, size_t len);
ModelFlow *model__flow_of(ModelNet *net, const ModelPacket *pkt);

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

#endif
