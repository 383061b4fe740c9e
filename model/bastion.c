/*
 * bastion.c — Azure Bastion: browser RDP/SSH to a jump box VM inside the VNet.
 *
 * Bastion is a managed host in the VNet's AzureBastionSubnet with a public IP. A session
 * is two connections the engine runs packet by packet: the user's browser opens TLS to
 * the public IP on 443 (through the subnet's NSG, after Azure's DNAT to the private
 * address), then Bastion connects from its private IP to the target VM on 22 or 3389
 * (through the subnet's outbound NSG, the routes, and the target subnet's inbound NSG).
 * The jump box is an ordinary VM: whatever the user does next starts from it.
 *
 * Sources (azdocs: MicrosoftDocs/azure-docs):
 *  - articles/bastion/configuration-settings.md (2021-10): "Subnet name must be
 *    AzureBastionSubnet. Subnet size must be /26 or larger … The subnet cannot contain
 *    additional resources"; includes/bastion-subnet-size.md: "Create the
 *    AzureBastionSubnet without any route tables or delegations".
 *  - articles/bastion/bastion-nsg.md (2023-06): with an NSG on AzureBastionSubnet "you
 *    must create all of the following ingress and egress traffic rules": inbound 443 from
 *    the Internet ("the source can be either the Internet or a set of public IP addresses
 *    that you specify"), 443 from GatewayManager, 8080/5701 VirtualNetwork to
 *    VirtualNetwork, 443 from AzureLoadBalancer; outbound 22/3389 to the target VM
 *    subnets, 8080/5701 VirtualNetwork to VirtualNetwork, 443 to AzureCloud; port 80 to
 *    the Internet is only "recommended" (a lint). The 2020 revision: "If you do not add
 *    these rules, the NSG creation/update will fail" — so a missing rule is an error here.
 *    Target VM subnet: "RDP/SSH ports … need to be opened on the target VM side over
 *    private IP … you can add the Azure Bastion Subnet IP address range in this rule".
 */
#include "model/net_internal.h"

#include <string.h>

#define BASTION_ERROR  (g_quark_from_static_string("model-net"))
#define BASTION_SUBNET "AzureBastionSubnet"

struct ModelBastion {
    char *name;
    ModelVnet *vnet;
    ModelSubnet *subnet;
    ModelHost *host;
    ModelNic *nic;
};

typedef struct {
    ModelNet *net;
    char *name;
    ModelBastion *bastion;
    ModelHost *target;
    uint32_t target_ip;
    uint16_t port;
    int outer, inner;
} Session;

void model__bastion_free(void *p)
{
    ModelBastion *b = p;
    g_free(b->name);
    g_free(b);
}

void model__bastion_session_free(void *p)
{
    Session *s = p;
    g_free(s->name);
    g_free(s);
}

static ModelBastion *bastion_of_host(const ModelNet *net, const ModelHost *host)
{
    for (guint i = 0; net->entry && i < net->entry->bastions->len; i++) {
        ModelBastion *b = g_ptr_array_index(net->entry->bastions, i);
        if (b->host == host)
            return b;
    }
    return NULL;
}

ModelHost *model_net_add_bastion(ModelNet *net, const char *name, ModelVnet *vnet, uint32_t ip,
                                 uint32_t public_ip, GError **error)
{
    ModelSubnet *subnet = model_vnet_find_subnet(vnet, BASTION_SUBNET);
    if (!subnet) {
        g_set_error(error, BASTION_ERROR, 0,
                    "Azure Bastion '%s': virtual network '%s' has no subnet named exactly "
                    "'AzureBastionSubnet' (configuration-settings.md)",
                    name ? name : "?", vnet->name);
        return NULL;
    }
    if (subnet->prefix.len > 26) {
        char t[MODEL_PREFIX_STRLEN];
        model_prefix_format(subnet->prefix, t);
        g_set_error(error, BASTION_ERROR, 0,
                    "Azure Bastion '%s': %s is %s; the subnet size must be /26 or larger "
                    "(configuration-settings.md)",
                    name ? name : "?", subnet->path, t);
        return NULL;
    }
    for (guint i = 0; net->entry && i < net->entry->bastions->len; i++) {
        ModelBastion *other = g_ptr_array_index(net->entry->bastions, i);
        if (other->vnet == vnet) {
            g_set_error(error, BASTION_ERROR, 0,
                        "Azure Bastion '%s': virtual network '%s' already has Bastion '%s'",
                        name ? name : "?", vnet->name, other->name);
            return NULL;
        }
    }
    if (!model_prefix_contains(subnet->prefix, ip) || model_ip_is_private(public_ip)) {
        g_set_error(error, BASTION_ERROR, 0,
                    "Azure Bastion '%s': needs a private address in %s and a public address",
                    name ? name : "?", subnet->path);
        return NULL;
    }
    if (g_hash_table_contains(net->public_ip, GUINT_TO_POINTER(public_ip))) {
        char t[MODEL_IP_STRLEN];
        model_ip_format(public_ip, t);
        g_set_error(error, BASTION_ERROR, 0, "Azure Bastion '%s': public address %s is used twice",
                    name ? name : "?", t);
        return NULL;
    }
    ModelHost *host = model_net_add_host(net, name, MODEL_HOST_SERVICE, error);
    if (!host)
        return NULL;
    ModelNic *nic = model_net_add_nic(net, host, subnet, "nic0", ip, error);
    if (!nic || !model_nic_set_public_ip(net, nic, public_ip, error))
        return NULL;
    model_host_listen(host, MODEL_IPPROTO_TCP, 443);
    ModelBastion *b = g_new0(ModelBastion, 1);
    b->name = g_strdup(name);
    b->vnet = vnet;
    b->subnet = subnet;
    b->host = host;
    b->nic = nic;
    g_ptr_array_add(model__entry(net)->bastions, b);
    return host;
}

/* ---- finalize: the subnet's rules ---- */

/* One required rule, checked by classifying a representative packet against the compiled
 * subnet NSG: what Azure's own validation of the NSG amounts to. */
typedef struct {
    ModelDirection dir;
    uint32_t src, dst;
    uint16_t port;
    const char *what;
} Requirement;

static gboolean require(const ModelBastion *b, const Requirement *r, GError **error)
{
    const ModelNsgTable *t = r->dir == MODEL_DIR_INBOUND ? b->subnet->nsg_in : b->subnet->nsg_out;
    ModelFlowKey k = {
        .src = r->src, .dst = r->dst, .sport = 50000, .dport = r->port, .proto = MODEL_IPPROTO_TCP};
    const ModelNsgRule *rule = t ? model_nsg_table_classify(t, &k) : NULL;
    if (!t || (rule && rule->access == MODEL_ACCESS_ALLOW))
        return TRUE;
    g_set_error(error, BASTION_ERROR, 0,
                "Azure Bastion '%s': network security group '%s' on %s must allow %s "
                "(bastion-nsg.md); rule '%s' denies it",
                b->name, model_nsg_name(b->subnet->nsg), b->subnet->path, r->what,
                rule ? rule->name : "?");
    return FALSE;
}

static uint32_t tag_address(const ModelNet *net, const char *tag, uint32_t fallback)
{
    const ModelPrefixSet *set = model_service_tags_lookup(net->tags, tag);
    if (!set || set->len == 0)
        return fallback;
    ModelPrefix p = set->items[0];
    return p.len < 32 ? p.addr + 1 : p.addr;
}

/* A target the Bastion would serve: a VM NIC of its VNet outside its subnet. */
static uint32_t target_address(const ModelNet *net, const ModelBastion *b)
{
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = g_ptr_array_index(net->nics, i);
        if (n->subnet && n->subnet->vnet == b->vnet && n->subnet != b->subnet && !n->pe_target)
            return n->ip;
    }
    return b->vnet->space[0].addr + 4;
}

/* "443 from the Internet or a set of public IP addresses that you specify": some inbound
 * Allow rule for TCP 443 from a public source must decide for that source. */
static gboolean require_public_443(const ModelBastion *b, GError **error)
{
    const ModelNsg *nsg = b->subnet->nsg;
    size_t n;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, MODEL_DIR_INBOUND, &n);
    for (size_t i = 0; i < n; i++) {
        const ModelNsgRule *r = rules[i];
        if (r->access != MODEL_ACCESS_ALLOW || r->is_default ||
            (r->protocol != MODEL_NSG_PROTO_TCP && r->protocol != MODEL_NSG_PROTO_ANY))
            continue;
        bool port = false;
        for (size_t p = 0; p < r->n_ports[MODEL_NSG_DST]; p++)
            port |= r->ports[MODEL_NSG_DST][p].lo <= 443 && 443 <= r->ports[MODEL_NSG_DST][p].hi;
        for (size_t a = 0; port && a < r->n_addrs[MODEL_NSG_SRC]; a++) {
            const ModelNsgAddr *src = &r->addrs[MODEL_NSG_SRC][a];
            uint32_t ip = 0;
            if (src->kind == MODEL_NSG_ADDR_TAG && g_ascii_strcasecmp(src->text, "Internet") == 0)
                ip = MODEL_IP4(203, 0, 113, 1);
            else if (src->kind == MODEL_NSG_ADDR_PREFIX && src->prefix.len == 0)
                ip = MODEL_IP4(203, 0, 113, 1);
            else if (src->kind == MODEL_NSG_ADDR_PREFIX && !model_ip_is_private(src->prefix.addr))
                ip = src->prefix.addr;
            if (!ip)
                continue;
            Requirement req = {MODEL_DIR_INBOUND, ip, b->nic->ip, 443, "inbound TCP 443"};
            if (require(b, &req, NULL))
                return TRUE;
        }
    }
    g_set_error(error, BASTION_ERROR, 0,
                "Azure Bastion '%s': network security group '%s' on %s must allow inbound TCP "
                "443 from the Internet or from the public addresses its users come from "
                "(bastion-nsg.md)",
                b->name, model_nsg_name(nsg), b->subnet->path);
    return FALSE;
}

static gboolean check_bastion(const ModelNet *net, const ModelBastion *b, GError **error)
{
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = g_ptr_array_index(net->nics, i);
        if (n->subnet == b->subnet && n != b->nic) {
            g_set_error(error, BASTION_ERROR, 0,
                        "'%s' has an interface in %s: the subnet cannot contain additional "
                        "resources (configuration-settings.md)",
                        n->capture_name, b->subnet->path);
            return FALSE;
        }
    }
    if (b->subnet->route_table) {
        g_set_error(error, BASTION_ERROR, 0,
                    "%s has route table '%s': create the AzureBastionSubnet without any route "
                    "tables (bastion-subnet-size.md)",
                    b->subnet->path, b->subnet->route_table->name);
        return FALSE;
    }
    if (!b->subnet->nsg)
        return TRUE;
    uint32_t me = b->nic->ip;
    /* Another instance of the Bastion, talking to this one on the data plane. */
    uint32_t peer = b->subnet->prefix.addr + (me == b->subnet->prefix.addr + 5 ? 6 : 5);
    uint32_t vm = target_address(net, b);
    uint32_t gm = tag_address(net, "GatewayManager", 0);
    uint32_t cloud = tag_address(net, "AzureCloud", 0);
    const Requirement reqs[] = {
        {MODEL_DIR_INBOUND, gm, me, 443, "inbound TCP 443 from GatewayManager"},
        {MODEL_DIR_INBOUND, MODEL_AZURE_PLATFORM_IP, me, 443,
         "inbound TCP 443 from AzureLoadBalancer"},
        {MODEL_DIR_INBOUND, peer, me, 8080, "inbound 8080 from VirtualNetwork to VirtualNetwork"},
        {MODEL_DIR_INBOUND, peer, me, 5701, "inbound 5701 from VirtualNetwork to VirtualNetwork"},
        {MODEL_DIR_OUTBOUND, me, vm, 22, "outbound TCP 22 to the target VMs (VirtualNetwork)"},
        {MODEL_DIR_OUTBOUND, me, vm, 3389, "outbound TCP 3389 to the target VMs (VirtualNetwork)"},
        {MODEL_DIR_OUTBOUND, me, peer, 8080, "outbound 8080 from VirtualNetwork to VirtualNetwork"},
        {MODEL_DIR_OUTBOUND, me, peer, 5701, "outbound 5701 from VirtualNetwork to VirtualNetwork"},
        {MODEL_DIR_OUTBOUND, me, cloud, 443, "outbound TCP 443 to AzureCloud"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(reqs); i++) {
        /* A tag missing from the service-tag table cannot be checked. */
        if (reqs[i].src && reqs[i].dst && !require(b, &reqs[i], error))
            return FALSE;
    }
    return require_public_443(b, error);
}

gboolean model__bastion_check(ModelNet *net, GError **error)
{
    for (guint i = 0; i < net->entry->bastions->len; i++)
        if (!check_bastion(net, g_ptr_array_index(net->entry->bastions, i), error))
            return FALSE;
    return TRUE;
}

/* ---- sessions ---- */

static void session_verdict(Session *s, ModelVerdict verdict, ModelCause cause, const char *at,
                            ModelCause root, const char *root_at, const char *hint)
{
    ModelNet *net = s->net;
    model_trace_verdict(net->trace, &(ModelVerdictRecord){
                                        .flow = s->name,
                                        .verdict = verdict,
                                        .cause = cause,
                                        .at = at ? at : "",
                                        .root_cause = root,
                                        .root_at = root_at ? root_at : "",
                                        .hint = hint ? hint : "",
                                        .t_ns = sim_now(net->engine),
                                    });
}

static void inner_done(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                       const char *at, const char *hint, void *ctx)
{
    (void)net;
    (void)flow;
    Session *s = ctx;
    if (verdict == MODEL_VERDICT_DELIVERED) {
        session_verdict(s, verdict, MODEL_CAUSE_NONE, s->target->name, MODEL_CAUSE_NONE, NULL, "");
        return;
    }
    if (verdict == MODEL_VERDICT_ABORTED) {
        session_verdict(s, verdict, cause, at, MODEL_CAUSE_NONE, NULL, hint);
        return;
    }
    char t[MODEL_IP_STRLEN], range[MODEL_PREFIX_STRLEN];
    model_ip_format(s->target_ip, t);
    model_prefix_format(s->bastion->subnet->prefix, range);
    g_autofree char *why = g_strdup_printf(
        "Azure Bastion %s could not open TCP %u to %s (%s): %s at %s%s%s. The target VM needs "
        "TCP %u open from the AzureBastionSubnet range %s over its private IP "
        "(bastion-nsg.md, Target VM subnet)",
        s->bastion->name, s->port, s->target->name, t, model_cause_name(cause), at,
        hint && *hint ? ": " : "", hint ? hint : "", s->port, range);
    session_verdict(s, MODEL_VERDICT_DROPPED, MODEL_CAUSE_BASTION_DENIED, at, cause, at, why);
}

static const char *leg_name(uint16_t port)
{
    return port == 22 ? "ssh" : port == 3389 ? "rdp" : NULL;
}

static void outer_done(ModelNet *net, ModelFlow *flow, ModelVerdict verdict, ModelCause cause,
                       const char *at, const char *hint, void *ctx)
{
    Session *s = ctx;
    if (verdict != MODEL_VERDICT_DELIVERED) {
        session_verdict(s, verdict, cause, at, MODEL_CAUSE_NONE, NULL, hint);
        return;
    }
    const char *leg = leg_name(s->port);
    g_autofree char *name = leg ? g_strdup_printf("%s/%s", s->name, leg)
                                : g_strdup_printf("%s/tcp%u", s->name, s->port);
    char a[MODEL_IP_STRLEN], t[MODEL_IP_STRLEN];
    model_ip_format(s->bastion->nic->ip, a);
    model_ip_format(s->target_ip, t);
    g_autofree char *detail =
        g_strdup_printf("browser session up: Bastion connects from its private IP %s to %s %s:%u",
                        a, s->target->name, t, s->port);
    ModelPacket marker = {.flow = flow->index};
    model__step(net, &marker, s->bastion->name, MODEL_STAGE_GATEWAY, s->bastion->name, "session",
                detail);
    ModelFlowSpec spec = {.name = name,
                          .from = s->bastion->host,
                          .ip = s->target_ip,
                          .port = s->port,
                          .proto = MODEL_IPPROTO_TCP};
    s->inner = model_net_start_flow(net, &spec, sim_now(net->engine));
    ModelFlow *inner = g_ptr_array_index(net->flows, (guint)s->inner);
    inner->on_finish = inner_done;
    inner->on_finish_ctx = s;
}

static ModelNic *first_azure_nic(const ModelHost *h)
{
    for (guint i = 0; i < h->nics->len; i++) {
        ModelNic *n = g_ptr_array_index(h->nics, i);
        if (n->subnet)
            return n;
    }
    return NULL;
}

int model_net_start_bastion_session(ModelNet *net, const char *name, ModelHost *browser,
                                    ModelHost *bastion, ModelHost *target, uint16_t port,
                                    SimTime at)
{
    g_return_val_if_fail(net->engine && net->trace, -1);
    ModelBastion *b = bastion_of_host(net, bastion);
    ModelNic *target_nic = first_azure_nic(target);
    Session *s = g_new0(Session, 1);
    s->net = net;
    s->name = g_strdup(name);
    s->bastion = b;
    s->target = target;
    s->port = port;
    s->outer = s->inner = -1;
    g_ptr_array_add(model__entry(net)->sessions, s);
    if (!b || !target_nic || !browser->nics->len) {
        const char *who = !b ? bastion->name : !target_nic ? target->name : browser->name;
        g_autofree char *hint = g_strdup_printf(
            !b            ? "'%s' is not an Azure Bastion"
            : !target_nic ? "'%s' has no interface in a virtual network: Bastion reaches VMs "
                            "over their private IP"
                          : "'%s' has no network interface",
            who);
        session_verdict(s, MODEL_VERDICT_ABORTED, MODEL_CAUSE_UNKNOWN_ENDPOINT, who,
                        MODEL_CAUSE_NONE, NULL, hint);
        return -1;
    }
    s->target_ip = target_nic->ip;
    g_autofree char *leg = g_strdup_printf("%s/browser", name);
    g_autofree char *sni = g_strdup_printf("%s.bastion.azure.com", b->name);
    ModelFlowSpec spec = {.name = leg,
                          .from = browser,
                          .ip = b->nic->public_ip,
                          .port = 443,
                          .proto = MODEL_IPPROTO_TCP,
                          .tls = true,
                          .sni = sni};
    s->outer = model_net_start_flow(net, &spec, at);
    ModelFlow *outer = g_ptr_array_index(net->flows, (guint)s->outer);
    outer->on_finish = outer_done;
    outer->on_finish_ctx = s;
    return s->outer;
}
