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
    uint8_t mac[6];
    ModelNsg *nsg;
    ModelNsgTable *nsg_in, *nsg_out;
    GPtrArray *asgs; /* char * */
    bool ip_forwarding;
    ModelHost *pe_target; /* private endpoint: the service behind it */
    PcapCapture *capture;
    uint64_t frames; /* frames written to the capture so far */
};

struct ModelHost {
    char *name;
    ModelHostKind kind;
    GPtrArray *nics;    /* ModelNic *, owned by the net */
    GHashTable *listen; /* (proto << 16 | port) set */
    bool stateful;
    uint32_t public_ip; /* internet and service hosts */
};

/* A packet in flight: the frame as it is on the wire now, and its header fields. */
typedef struct ModelPacket {
    uint8_t frame[MODEL_PACKET_MAX];
    uint16_t len;
    ModelFlowKey key; /* host order, kept equal to the frame's headers */
    uint8_t tcp_flags;
    uint32_t tcp_seq, tcp_ack;
    int flow; /* index into net->flows, -1 for none */
    ModelNic *at;
    uint64_t frame_no; /* its number in the last capture that recorded it */
    bool forwarded;    /* left an appliance: egress is the appliance's, not the origin's */
} ModelPacket;

typedef enum { FLOW_TCP, FLOW_UDP } FlowKind;

typedef struct {
    ModelNet *net;
    int index; /* in net->flows, carried by every packet of the flow */
    char *name;
    char *responder; /* the host that answered the SYN, for the verdict */
    FlowKind kind;
    ModelHost *from;
    ModelNic *nic;
    uint32_t dst;
    uint16_t sport, dport;
    uint32_t isn;
    int attempts;
    SimEventId timer;
    bool done;
    uint64_t steps;
    /* The last drop any packet of this flow met: the verdict when the flow gives up. */
    ModelCause drop_cause;
    char *drop_at;
    char *drop_hint;
} ModelFlow;

struct ModelNet {
    char *region;
    ModelServiceTags *tags;
    GPtrArray *vnets, *subnets, *hosts, *nics, *nsgs, *route_tables, *flows;
    GHashTable *nsg_by_name, *rt_by_name, *host_by_name, *vnet_by_name;
    GHashTable *public_ip;   /* uint32 public ip -> ModelNic * (instance IPs, internet hosts) */
    GHashTable *asg_members; /* asg name -> GArray of uint32 ips */
    GHashTable *nsg_state;   /* NsgFlowKey -> 1: flows an NSG allowed (stateful) */
    GHashTable *conntrack;   /* ConnKey -> ConnEntry: appliances' connection tracking */
    GHashTable *snat;        /* SnatKey -> SnatEntry: Azure's outbound SNAT to public IPs */
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

/* stack.c */
void model__host_receive(ModelNet *net, ModelNic *nic, ModelPacket *pkt);
void model__flow_finish(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                        const char *at, const char *hint);

#endif
