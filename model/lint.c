/*
 * lint.c — the table of configuration checks `vnetsim lint` runs without simulating, and
 * the checks themselves (NSG shadowing's set reasoning is in lint_nsg.c).
 *
 * Each entry names the document section it enforces (domain.md / azure-facts.md), what it
 * finds, and either its function or the schema keys it waits for: a pitfall about a
 * feature whose scenario keys have not landed yet is one line here, and gets its function
 * when they do. Checks read the finalized net only, so a check written against the model
 * (PaaS services, gateways) fires as soon as a loader fills that part of the model.
 */
#include "model/lint.h"
#include "model/lpm.h"
#include "model/net_internal.h"

#include <string.h>

typedef struct {
    const ModelNet *net;
    GPtrArray *out;
    const char *check, *doc; /* the running check */
} Lint;

static void finding(Lint *l, ModelLintSeverity sev, const char *object, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void finding(Lint *l, ModelLintSeverity sev, const char *object, const char *fmt, ...)
{
    ModelLintFinding *f = g_new0(ModelLintFinding, 1);
    f->severity = sev;
    f->check = l->check;
    f->doc = l->doc;
    f->object = g_strdup(object);
    va_list ap;
    va_start(ap, fmt);
    f->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(l->out, f);
}

static void finding_free(gpointer p)
{
    ModelLintFinding *f = p;
    g_free(f->object);
    g_free(f->message);
    g_free(f);
}

const char *model_lint_severity_name(ModelLintSeverity s)
{
#define MODEL_X_NAME_LINT(id, name) name,
    static const char *const names[] = {MODEL_LINT_SEVERITIES(MODEL_X_NAME_LINT)};
#undef MODEL_X_NAME_LINT
    return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "?";
}

/* ---- NSG rules: shadowed and partly overridden ---- */

static void describe_rules(GString *out, const GPtrArray *rules)
{
    for (guint i = 0; i < rules->len; i++) {
        const ModelNsgRule *r = rules->pdata[i];
        g_string_append_printf(out, "%s%s (%d, %s)", i ? ", " : "", r->name, r->priority,
                               model_access_name(r->access));
    }
}

/* The VNets an NSG applies in (through subnets and NICs); none when attached nowhere. */
static GPtrArray *nsg_contexts(const ModelNet *net, const ModelNsg *nsg)
{
    GPtrArray *v = g_ptr_array_new();
    for (guint i = 0; i < net->subnets->len; i++) {
        const ModelSubnet *s = net->subnets->pdata[i];
        if (s->nsg == nsg && !g_ptr_array_find(v, s->vnet, NULL))
            g_ptr_array_add(v, s->vnet);
    }
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = net->nics->pdata[i];
        if (n->nsg == nsg && n->subnet && !g_ptr_array_find(v, n->subnet->vnet, NULL))
            g_ptr_array_add(v, n->subnet->vnet);
    }
    return v;
}

static void check_nsg_rule(Lint *l, const ModelNsg *nsg, const GPtrArray *vnets, ModelDirection dir,
                           size_t i, const ModelNsgRule *r)
{
    /* Shadowed only if shadowed in every VNet the NSG applies in; what decides part of
     * its traffic, in any of them. */
    bool covered = true, gave_up = false;
    GPtrArray *blockers = g_ptr_array_new();
    for (guint v = 0; v < MAX(vnets->len, 1u); v++) {
        ModelNsgShadow sh;
        model_nsg_shadow(l->net, vnets->len ? vnets->pdata[v] : NULL, nsg, dir, i, &sh);
        covered = covered && sh.covered;
        gave_up = gave_up || sh.gave_up;
        for (guint k = 0; k < sh.blockers->len; k++)
            if (!g_ptr_array_find(blockers, sh.blockers->pdata[k], NULL))
                g_ptr_array_add(blockers, sh.blockers->pdata[k]);
        model_nsg_shadow_clear(&sh);
    }
    g_autofree char *object = g_strdup_printf("%s/%s", model_nsg_name(nsg), r->name);
    GPtrArray *against = g_ptr_array_new();
    for (guint k = 0; k < blockers->len; k++)
        if (((const ModelNsgRule *)blockers->pdata[k])->access != r->access)
            g_ptr_array_add(against, blockers->pdata[k]);
    GString *names = g_string_new(NULL);
    if (gave_up) {
        finding(l, MODEL_LINT_INFO, object,
                "too many overlapping rules above it to decide exactly whether it can match");
    } else if (covered && against->len) {
        bool allow = r->access == MODEL_ACCESS_ALLOW;
        describe_rules(names, against);
        if (against->len == blockers->len) {
            finding(l, MODEL_LINT_ERROR, object,
                    "never matches: %s match%s every packet it covers first, and %s it", names->str,
                    against->len > 1 ? "" : "es",
                    against->len > 1 ? (allow ? "deny" : "allow") : (allow ? "denies" : "allows"));
        } else {
            GString *all = g_string_new(NULL);
            describe_rules(all, blockers);
            finding(l, MODEL_LINT_ERROR, object,
                    "never matches: every packet it covers is matched first by %s; %s %s "
                    "what this rule would %s",
                    all->str, names->str,
                    against->len > 1 ? (allow ? "deny" : "allow") : (allow ? "denies" : "allows"),
                    allow ? "allow" : "deny");
            g_string_free(all, TRUE);
        }
    } else if (covered) {
        describe_rules(names, blockers);
        finding(l, MODEL_LINT_WARNING, object,
                "never matches: redundant, %s already %s every packet it covers", names->str,
                blockers->len > 1 ? (r->access == MODEL_ACCESS_ALLOW ? "allow" : "deny")
                                  : (r->access == MODEL_ACCESS_ALLOW ? "allows" : "denies"));
    } else if (against->len) {
        describe_rules(names, against);
        /* An allow that a deny partly defeats is suspicious; a deny with allowed
         * exceptions above it is the usual "exceptions first" pattern: worth knowing. */
        bool allow = r->access == MODEL_ACCESS_ALLOW;
        finding(l, allow ? MODEL_LINT_WARNING : MODEL_LINT_INFO, object,
                "partly overridden: part of the traffic it would %s is matched first by %s, "
                "which %s it",
                allow ? "allow" : "deny", names->str,
                against->len > 1 ? (allow ? "deny" : "allow") : (allow ? "denies" : "allows"));
    }
    g_string_free(names, TRUE);
    g_ptr_array_free(against, TRUE);
    g_ptr_array_free(blockers, TRUE);
}

static void check_nsg_shadowing(Lint *l)
{
    for (guint n = 0; n < l->net->nsgs->len; n++) {
        const ModelNsg *nsg = l->net->nsgs->pdata[n];
        GPtrArray *vnets = nsg_contexts(l->net, nsg);
        for (int d = 0; d < 2; d++) {
            size_t count = 0;
            const ModelNsgRule *const *rules = model_nsg_rules(nsg, (ModelDirection)d, &count);
            /* Default rules are Azure's and cannot be removed: only user rules are judged. */
            for (size_t i = 0; i < count; i++)
                if (!rules[i]->is_default)
                    check_nsg_rule(l, nsg, vnets, (ModelDirection)d, i, rules[i]);
        }
        g_ptr_array_free(vnets, TRUE);
    }
}

/* A service tag "represents the service, but not specific instances": allowing
 * Storage(.region) allows every storage account of the region (azure-facts §1). */
static void check_broad_service_tags(Lint *l)
{
    static const char *const broad[] = {"Storage", "AzureKeyVault", "AzureContainerRegistry",
                                        "AzureCloud"};
    for (guint n = 0; n < l->net->nsgs->len; n++) {
        const ModelNsg *nsg = l->net->nsgs->pdata[n];
        size_t count = 0;
        const ModelNsgRule *const *rules = model_nsg_rules(nsg, MODEL_DIR_OUTBOUND, &count);
        for (size_t i = 0; i < count; i++) {
            const ModelNsgRule *r = rules[i];
            if (r->is_default || r->access != MODEL_ACCESS_ALLOW)
                continue;
            for (size_t a = 0; a < r->n_addrs[MODEL_NSG_DST]; a++) {
                const ModelNsgAddr *ad = &r->addrs[MODEL_NSG_DST][a];
                for (size_t b = 0; ad->kind == MODEL_NSG_ADDR_TAG && b < G_N_ELEMENTS(broad); b++) {
                    size_t len = strlen(broad[b]);
                    if (g_ascii_strncasecmp(ad->text, broad[b], len) != 0 ||
                        (ad->text[len] && ad->text[len] != '.'))
                        continue;
                    g_autofree char *object =
                        g_strdup_printf("%s/%s", model_nsg_name(nsg), r->name);
                    finding(l, MODEL_LINT_INFO, object,
                            "allows every resource behind service tag %s, not only this "
                            "workspace's (a data exfiltration path); private endpoints reach "
                            "one resource",
                            ad->text);
                }
            }
        }
    }
}

/* ---- address spaces ---- */

typedef enum { OWNER_VNET, OWNER_ONPREM, OWNER_P2S } OwnerKind;

typedef struct {
    OwnerKind kind;
    const char *name;
    ModelPrefix prefix;
    const void *object; /* ModelVnet *, ModelOnprem *, ModelGateway * */
} Owner;

/* "virtual network vnet-a (10.0.0.0/16)" */
static void describe_owner(GString *out, const Owner *o)
{
    char p[MODEL_PREFIX_STRLEN];
    model_prefix_format(o->prefix, p);
    const char *word = o->kind == OWNER_VNET     ? "virtual network"
                       : o->kind == OWNER_ONPREM ? "on-premises network"
                                                 : "the point-to-site pool of";
    g_string_append_printf(out, "%s %s (%s)", word, o->name, p);
}

static bool peered(const ModelVnet *a, const ModelVnet *b)
{
    return g_ptr_array_find(a->peers, b, NULL);
}

/* The on-prem site is connected to a gateway of this VNet (or of a peer it uses). */
static bool site_connected(const ModelNet *net, const ModelOnprem *site, const ModelVnet *v)
{
    const ModelEntry *e = net->entry;
    for (guint i = 0; e && i < e->connections->len; i++) {
        const ModelConnection *c = e->connections->pdata[i];
        if (c->site != site)
            continue;
        if (c->gateway->vnet == v || peered(c->gateway->vnet, v))
            return true;
    }
    return false;
}

typedef struct {
    Lint *l;
    const Owner *self;
    GHashTable *seen; /* "a\nb" pairs reported */
} OverlapCtx;

static bool on_overlap(ModelPrefix p, void *value, void *ctx)
{
    (void)p;
    OverlapCtx *oc = ctx;
    const GPtrArray *owners = value;
    for (guint i = 0; i < owners->len; i++) {
        const Owner *a = oc->self, *b = owners->pdata[i];
        if (a == b || (a->kind == b->kind && a->object == b->object))
            continue;
        if (b->kind < a->kind || (b->kind == a->kind && strcmp(b->name, a->name) < 0)) {
            const Owner *t = a;
            a = b;
            b = t;
        }
        GString *da = g_string_new(NULL), *db = g_string_new(NULL);
        describe_owner(da, a);
        describe_owner(db, b);
        g_autofree char *key = g_strdup_printf("%s\n%s", da->str, db->str);
        if (g_hash_table_contains(oc->seen, key)) {
            g_string_free(da, TRUE);
            g_string_free(db, TRUE);
            continue;
        }
        g_hash_table_add(oc->seen, g_strdup(key));
        ModelLintSeverity sev = MODEL_LINT_WARNING;
        const char *why = "they can never be peered or joined through a gateway later";
        if (a->kind == OWNER_VNET && b->kind == OWNER_VNET && peered(a->object, b->object)) {
            sev = MODEL_LINT_ERROR;
            why = "they are peered: Azure refuses a peering between overlapping spaces";
        } else if (a->kind == OWNER_VNET && b->kind == OWNER_ONPREM &&
                   site_connected(oc->l->net, b->object, a->object)) {
            sev = MODEL_LINT_ERROR;
            why = "they are connected: traffic to the overlap stays on one side "
                  "(ADDRESS_OVERLAP)";
        } else if (b->kind == OWNER_P2S) {
            sev = MODEL_LINT_ERROR;
            why = "a point-to-site pool must not overlap the VNet or on-premises ranges";
        }
        finding(oc->l, sev, a->name, "%s overlaps %s: %s", da->str, db->str, why);
        g_string_free(da, TRUE);
        g_string_free(db, TRUE);
    }
    return true;
}

static void owner_add(GPtrArray *all, ModelLpm *lpm, OwnerKind kind, const char *name,
                      ModelPrefix p, const void *object)
{
    Owner *o = g_new(Owner, 1);
    *o = (Owner){kind, name, p, object};
    g_ptr_array_add(all, o);
    GPtrArray *at = model_lpm_exact(lpm, p);
    if (!at) {
        at = g_ptr_array_new();
        model_lpm_insert(lpm, p, at);
    }
    g_ptr_array_add(at, o);
}

static void owners_free(gpointer p)
{
    g_ptr_array_free(p, TRUE);
}

static void check_overlaps(Lint *l)
{
    ModelLpm *lpm = model_lpm_new();
    GPtrArray *all = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < l->net->vnets->len; i++) {
        const ModelVnet *v = l->net->vnets->pdata[i];
        for (size_t k = 0; k < v->n_space; k++)
            owner_add(all, lpm, OWNER_VNET, v->name, v->space[k], v);
    }
    const ModelEntry *e = l->net->entry;
    for (guint i = 0; e && i < e->sites->len; i++) {
        const ModelOnprem *s = e->sites->pdata[i];
        for (size_t k = 0; k < s->n_prefixes; k++)
            owner_add(all, lpm, OWNER_ONPREM, s->name, s->prefixes[k], s);
    }
    for (guint i = 0; e && i < e->gateways->len; i++) {
        const ModelGateway *g = e->gateways->pdata[i];
        if (g->has_pool)
            owner_add(all, lpm, OWNER_P2S, g->name, g->pool, g);
    }
    OverlapCtx oc = {.l = l, .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    for (guint i = 0; i < all->len; i++) {
        oc.self = all->pdata[i];
        model_lpm_foreach_overlap(lpm, oc.self->prefix, on_overlap, &oc);
    }
    g_hash_table_destroy(oc.seen);
    model_lpm_free(lpm, owners_free);
    g_ptr_array_free(all, TRUE);
}

/* "Do not use 172.17.0.0/16 for a VNet (Docker bridge default)" (domain §6): AML compute
 * runs its jobs in Docker containers, whose bridge takes that range. */
static void check_docker_bridge(Lint *l)
{
    const ModelPrefix bridge = {MODEL_IP4(172, 17, 0, 0), 16};
    for (guint i = 0; i < l->net->vnets->len; i++) {
        const ModelVnet *v = l->net->vnets->pdata[i];
        for (size_t k = 0; k < v->n_space; k++) {
            if (!model_prefix_overlaps(v->space[k], bridge))
                continue;
            char p[MODEL_PREFIX_STRLEN];
            model_prefix_format(v->space[k], p);
            finding(l, MODEL_LINT_ERROR, v->name,
                    "address space %s overlaps 172.17.0.0/16, the Docker bridge's default "
                    "range that AML compute containers use: choose another range",
                    p);
        }
    }
}

/* ---- special subnets ---- */

static bool has_default_udr(const ModelRouteTable *t)
{
    for (guint i = 0; t && i < t->routes->len; i++) {
        const ModelRoute *r = t->routes->pdata[i];
        if (r->prefix.len == 0)
            return true;
    }
    return false;
}

static bool subnet_has_hosts(const ModelNet *net, const ModelSubnet *s, const char **who)
{
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = net->nics->pdata[i];
        if (n->subnet != s)
            continue;
        bool gateway = false;
        for (guint g = 0; net->entry && g < net->entry->gateways->len; g++)
            gateway = gateway || ((const ModelGateway *)net->entry->gateways->pdata[g])->nic == n;
        if (!gateway) {
            *who = n->host ? n->host->name : n->name;
            return true;
        }
    }
    return false;
}

/* GatewaySubnet: "named exactly that; /27+ recommended; nothing else in it; no NSG, no 0/0
 * UDR" (azure-facts §6); route propagation never disabled on it (azure-facts §2). */
static void check_gateway_subnet(Lint *l)
{
    for (guint i = 0; i < l->net->subnets->len; i++) {
        const ModelSubnet *s = l->net->subnets->pdata[i];
        if (strcmp(s->name, "GatewaySubnet") != 0)
            continue;
        const char *who = NULL;
        if (s->nsg)
            finding(l, MODEL_LINT_ERROR, s->path,
                    "has network security group %s: the gateway subnet must have none",
                    model_nsg_name(s->nsg));
        if (has_default_udr(s->route_table))
            finding(l, MODEL_LINT_ERROR, s->path,
                    "route table %s sends 0.0.0.0/0 elsewhere: not allowed on the gateway "
                    "subnet",
                    s->route_table->name);
        if (s->route_table && s->route_table->disable_bgp_route_propagation)
            finding(l, MODEL_LINT_ERROR, s->path,
                    "route table %s disables gateway route propagation, which the gateway "
                    "subnet needs",
                    s->route_table->name);
        if (s->prefix.len > 27)
            finding(l, MODEL_LINT_WARNING, s->path, "is a /%u: /27 or larger is recommended",
                    s->prefix.len);
        if (subnet_has_hosts(l->net, s, &who))
            finding(l, MODEL_LINT_ERROR, s->path,
                    "holds %s: nothing but the gateways may be deployed in it", who);
    }
}

/* AzureBastionSubnet: /26 or larger (azure-facts §6). */
static void check_bastion_subnet(Lint *l)
{
    for (guint i = 0; i < l->net->subnets->len; i++) {
        const ModelSubnet *s = l->net->subnets->pdata[i];
        if (strcmp(s->name, "AzureBastionSubnet") == 0 && s->prefix.len > 26)
            finding(l, MODEL_LINT_ERROR, s->path, "is a /%u: Azure Bastion needs /26 or larger",
                    s->prefix.len);
    }
}

/* ---- routes ---- */

typedef struct {
    const ModelRoute *best;
} DefaultRoute;

static void find_default(const ModelRoute *r, bool active, void *ctx)
{
    DefaultRoute *d = ctx;
    /* A 0.0.0.0/0 UDR, or one the gateway learned over BGP from on-premises (forced
     * tunneling by advertisement, azure-facts §2). */
    if (active && r->prefix.len == 0 &&
        (r->source == MODEL_ROUTE_SOURCE_USER ||
         r->source == MODEL_ROUTE_SOURCE_VIRTUAL_NETWORK_GATEWAY))
        d->best = r;
}

static bool is_compute_node(const ModelNet *net, const ModelHost *h)
{
    for (guint i = 0; h && net->computes && i < net->computes->computes->len; i++) {
        const ModelCompute *c = net->computes->computes->pdata[i];
        for (unsigned k = 0; k < model_compute_n_nodes(c); k++)
            if (model_compute_node(c, k) == h)
                return true;
    }
    return false;
}

/* The documented fix for compute behind forced tunneling: UDRs for the Batch and AML
 * service tags of the region with next hop Internet (domain §4.3; azdocs:includes/
 * machine-learning-compute-user-defined-routes.md). True when every range of both tags
 * leaves the subnet to Internet, so the managers' connections are answered directly. */
static bool managers_routed_direct(const ModelNet *net, const ModelSubnet *s)
{
    static const char *const tags[] = {"BatchNodeManagement", "AzureMachineLearning"};
    for (size_t t = 0; t < G_N_ELEMENTS(tags); t++) {
        g_autofree char *regional = g_strdup_printf("%s.%s", tags[t], net->region);
        const char *canon = model_service_tags_canonical_name(net->tags, regional);
        const ModelPrefixSet *set = model_service_tags_lookup(net->tags, canon ? canon : tags[t]);
        if (!set || !set->len)
            return false;
        for (size_t i = 0; i < set->len; i++) {
            const ModelRoute *r = model_routes_lookup(s->routes, set->items[i].addr);
            if (!r || r->type != MODEL_NEXT_HOP_INTERNET)
                return false;
        }
    }
    return true;
}

/* Forced tunneling "sends everything there … direct inbound from the internet breaks
 * (asymmetric return)" (azure-facts §2): a NIC with an instance public IP in such a subnet
 * answers its inbound connections through the tunnel. */
static void check_forced_tunnel_public_ip(Lint *l)
{
    for (guint i = 0; i < l->net->nics->len; i++) {
        const ModelNic *n = l->net->nics->pdata[i];
        /* Reached from the internet by its instance public IP, or through a public load
         * balancer's frontend (a compute pool's): replies leave by the same routes. */
        uint32_t public_ip = n->public_ip ? n->public_ip : model__lb_public_frontend_of(l->net, n);
        if (!n->subnet || !public_ip || !n->subnet->routes)
            continue;
        DefaultRoute d = {NULL};
        model_routes_foreach(n->subnet->routes, find_default, &d);
        if (!d.best || (d.best->type != MODEL_NEXT_HOP_VIRTUAL_APPLIANCE &&
                        d.best->type != MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY))
            continue;
        /* A compute node's callers are known: Batch and the AML service. */
        if (is_compute_node(l->net, n->host) && managers_routed_direct(l->net, n->subnet))
            continue;
        char pub[MODEL_IP_STRLEN];
        model_ip_format(public_ip, pub);
        g_autofree char *object = g_strdup(n->host ? n->host->name : n->name);
        finding(l, MODEL_LINT_WARNING, object,
                "has public IP %s%s but subnet %s sends 0.0.0.0/0 to %s (%s%s%s): replies to "
                "inbound connections take the tunnel and are dropped (asymmetric return); "
                "add routes with next hop Internet for the callers, or drop the public IP",
                pub, n->public_ip ? "" : " (a load balancer's frontend)", n->subnet->path,
                model_next_hop_type_name(d.best->type), d.best->origin,
                d.best->name && *d.best->name ? "/" : " over BGP",
                d.best->name ? d.best->name : "");
    }
}

static const ModelNic *nic_with_ip(const ModelNet *net, uint32_t ip)
{
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = net->nics->pdata[i];
        if (n->subnet && n->ip == ip)
            return n;
    }
    return NULL;
}

/* VirtualAppliance next hops "need next-hop IP and IP forwarding" (azure-facts §2). Only
 * tables attached to a subnet are judged: a spare table routes nothing. */
static void check_appliance_next_hops(Lint *l)
{
    for (guint t = 0; t < l->net->route_tables->len; t++) {
        const ModelRouteTable *rt = l->net->route_tables->pdata[t];
        bool attached = false;
        for (guint i = 0; i < l->net->subnets->len && !attached; i++)
            attached = ((const ModelSubnet *)l->net->subnets->pdata[i])->route_table == rt;
        const char *last = NULL;
        for (guint i = 0; attached && i < rt->routes->len; i++) {
            const ModelRoute *r = rt->routes->pdata[i];
            if (r->type != MODEL_NEXT_HOP_VIRTUAL_APPLIANCE || (last && strcmp(last, r->name) == 0))
                continue;
            last = r->name; /* a tag route is several routes of one name */
            const ModelNic *n = nic_with_ip(l->net, r->next_hop_ip);
            char ip[MODEL_IP_STRLEN];
            model_ip_format(r->next_hop_ip, ip);
            g_autofree char *object = g_strdup_printf("%s/%s", rt->name, r->name);
            if (!n)
                finding(l, MODEL_LINT_ERROR, object,
                        "next hop %s is no NIC's address: traffic on this route is dropped", ip);
            else if (!n->ip_forwarding)
                finding(l, MODEL_LINT_ERROR, object,
                        "next hop %s is %s, whose NIC has IP forwarding off: it drops what it "
                        "should relay",
                        ip, n->host ? n->host->name : n->name);
        }
    }
}

/* ---- PaaS services (model_net_add_* of net.h; schema: `workspace:`) ---- */

static const ModelServiceSet *services(const ModelNet *net)
{
    return net->services;
}

static GPtrArray *services_of(const ModelNet *net, ModelServiceKind kind)
{
    GPtrArray *out = g_ptr_array_new();
    const ModelServiceSet *set = services(net);
    for (guint i = 0; set && i < set->services->len; i++) {
        const ModelService *s = set->services->pdata[i];
        if (s->kind == kind)
            g_ptr_array_add(out, (gpointer)s);
    }
    return out;
}

/* Whether `svc` is one of workspace `ws`'s associated resources. A net whose loader never
 * said (model_service_set_resources) holds one workspace, and all its resources are
 * that workspace's. */
static bool belongs(const ModelService *ws, const ModelService *svc)
{
    return !ws->resources_set || svc == ws->storage || svc == ws->key_vault || svc == ws->registry;
}

/* "ACR: Premium SKU" (domain §1, §6): only Premium takes private endpoints and firewall
 * rules, which a workspace behind a VNet needs for its registry. */
static void check_acr_premium(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *acr = services_of(l->net, MODEL_SERVICE_REGISTRY);
    for (guint i = 0; i < acr->len; i++) {
        const ModelService *r = acr->pdata[i];
        bool private_ws = false;
        for (guint w = 0; w < ws->len; w++) {
            const ModelService *wsv = ws->pdata[w];
            private_ws = private_ws || (wsv->pes->len > 0 && belongs(wsv, r));
        }
        if (private_ws && r->sku != MODEL_ACR_PREMIUM)
            finding(l, MODEL_LINT_ERROR, r->name,
                    "is %s: a registry for a workspace behind a virtual network must be "
                    "Premium (private endpoints and network rules are Premium only)",
                    r->sku == MODEL_ACR_BASIC ? "Basic" : "Standard");
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(acr, TRUE);
}

/* Storage placement rules the AML service validates (domain §4.2, seed 001): with private
 * endpoints, the workspace's and the storage's endpoints in the same VNet; with service
 * endpoints, the workspace's endpoint in the subnet that has the storage's service
 * endpoint. */
static void check_storage_placement(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *st = services_of(l->net, MODEL_SERVICE_STORAGE);
    for (guint w = 0; w < ws->len; w++) {
        const ModelService *wsv = ws->pdata[w];
        if (!wsv->pes->len)
            continue;
        for (guint s = 0; s < st->len; s++) {
            const ModelService *sv = st->pdata[s];
            if (!belongs(wsv, sv))
                continue;
            bool same_vnet = false, same_subnet = false;
            for (guint a = 0; a < wsv->pes->len; a++) {
                const ModelSubnet *wsub = ((const ModelServicePe *)wsv->pes->pdata[a])->nic->subnet;
                for (guint b = 0; b < sv->pes->len; b++)
                    same_vnet = same_vnet ||
                                ((const ModelServicePe *)sv->pes->pdata[b])->nic->subnet->vnet ==
                                    wsub->vnet;
                for (guint b = 0; b < sv->vnet_rules->len; b++)
                    same_subnet = same_subnet || sv->vnet_rules->pdata[b] == wsub;
            }
            if (sv->pes->len && !same_vnet)
                finding(l, MODEL_LINT_ERROR, sv->name,
                        "has private endpoints, but none in the VNet of workspace %s's private "
                        "endpoint: the AML service's validation fails (same VNet required)",
                        wsv->name);
            else if (!sv->pes->len && sv->vnet_rules->len && !same_subnet)
                finding(l, MODEL_LINT_ERROR, sv->name,
                        "is reached through service endpoints, but no VNet rule names the "
                        "subnet of workspace %s's private endpoint (same subnet required)",
                        wsv->name);
            else if (!sv->pes->len && !sv->vnet_rules->len &&
                     sv->access == MODEL_PUBLIC_ACCESS_ENABLED)
                finding(l, MODEL_LINT_WARNING, sv->name,
                        "is open to all networks while workspace %s is private: "
                        "workspace-storage traffic does not use the VNet (not end-to-end)",
                        wsv->name);
        }
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(st, TRUE);
}

/* Data profiling reaches the default storage from outside the VNet: it needs a resource
 * instance rule for the workspace or "allow trusted services" (domain §4.2). */
static void check_storage_profiling(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *st = services_of(l->net, MODEL_SERVICE_STORAGE);
    for (guint s = 0; ws->len && s < st->len; s++) {
        const ModelService *sv = st->pdata[s];
        if (sv->access == MODEL_PUBLIC_ACCESS_ENABLED || sv->trusted_services)
            continue;
        for (guint w = 0; w < ws->len; w++) {
            const ModelService *wsv = ws->pdata[w];
            if (!belongs(wsv, sv))
                continue;
            bool rule = false;
            for (guint k = 0; k < sv->instance_rules->len; k++)
                rule = rule ||
                       strcmp(((const ModelInstanceRule *)sv->instance_rules->pdata[k])->instance,
                              wsv->name) == 0;
            if (!rule)
                finding(l, MODEL_LINT_WARNING, sv->name,
                        "admits neither trusted services nor a resource instance rule for "
                        "workspace %s: studio data profiling (preview, AutoML, designer, "
                        "labeling) cannot reach it",
                        wsv->name);
        }
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(st, TRUE);
}

/* "Key Vault: … allow trusted Microsoft services to bypass this firewall" (domain §6). */
static void check_key_vault_trusted(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *kv = services_of(l->net, MODEL_SERVICE_KEY_VAULT);
    for (guint i = 0; i < kv->len; i++) {
        const ModelService *k = kv->pdata[i];
        bool used = false;
        for (guint w = 0; w < ws->len; w++)
            used = used || belongs(ws->pdata[w], k);
        if (used && k->access != MODEL_PUBLIC_ACCESS_ENABLED && !k->trusted_services)
            finding(l, MODEL_LINT_WARNING, k->name,
                    "has its firewall on without \"allow trusted Microsoft services to bypass "
                    "this firewall\"");
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(kv, TRUE);
}

/* "VNet rules need a service endpoint on the subnet" (azure-facts §4): without it the
 * subnet's requests arrive from a public address and the rule matches nothing (Azure
 * refuses to create it unless told to ignore the missing endpoint). */
static void check_vnet_rule_endpoints(Lint *l)
{
    static const struct {
        ModelServiceKind kind;
        const char *endpoint;
    } needs[] = {{MODEL_SERVICE_STORAGE, "Microsoft.Storage"},
                 {MODEL_SERVICE_KEY_VAULT, "Microsoft.KeyVault"},
                 {MODEL_SERVICE_REGISTRY, "Microsoft.ContainerRegistry"}};
    for (size_t n = 0; n < G_N_ELEMENTS(needs); n++) {
        GPtrArray *svcs = services_of(l->net, needs[n].kind);
        for (guint i = 0; i < svcs->len; i++) {
            const ModelService *svc = svcs->pdata[i];
            for (guint r = 0; r < svc->vnet_rules->len; r++) {
                const ModelSubnet *s = g_ptr_array_index(svc->vnet_rules, r);
                bool has = false;
                for (guint e = 0; e < s->service_endpoints->len && !has; e++)
                    has = g_str_has_prefix(g_ptr_array_index(s->service_endpoints, e),
                                           needs[n].endpoint);
                if (!has)
                    finding(l, MODEL_LINT_ERROR, svc->name,
                            "has a virtual network rule for %s, which has no %s service "
                            "endpoint: its requests arrive from a public address and the rule "
                            "matches none of them; add the service endpoint to the subnet",
                            s->path, needs[n].endpoint);
            }
        }
        g_ptr_array_free(svcs, TRUE);
    }
}

/* ---- images, compute and inference placement (schema: workspace, computes[]) ---- */

static bool registry_behind_vnet(const ModelService *r)
{
    return r->access == MODEL_PUBLIC_ACCESS_DISABLED || r->access == MODEL_PUBLIC_ACCESS_SELECTED;
}

static const char *access_name(ModelPublicAccess a)
{
    return a == MODEL_PUBLIC_ACCESS_DISABLED   ? "Disabled"
           : a == MODEL_PUBLIC_ACCESS_SELECTED ? "SelectedNetworks"
                                               : "Enabled";
}

/* "When the workspace ACR is behind the VNet, AML cannot build images with serverless
 * compute: set an image-build compute cluster in the same VNet" (domain §4.5; azdocs:
 * articles/machine-learning/how-to-secure-workspace-vnet.md, "Enable Azure Container
 * Registry"). Serverless builds run in ACR Tasks, outside every customer VNet, and push to
 * the registry's public endpoint, which its firewall refuses. */
static void check_acr_image_build(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *acr = services_of(l->net, MODEL_SERVICE_REGISTRY);
    for (guint w = 0; w < ws->len; w++) {
        const ModelService *wsv = ws->pdata[w];
        if (wsv->image_build)
            continue;
        for (guint i = 0; i < acr->len; i++) {
            const ModelService *r = acr->pdata[i];
            if (belongs(wsv, r) && registry_behind_vnet(r))
                finding(l, MODEL_LINT_WARNING, r->name,
                        "is behind the virtual network (public network access %s) and workspace "
                        "%s has no imageBuildCompute: serverless image builds (ACR Tasks, outside "
                        "the VNet) cannot push to it; set imageBuildCompute to a compute cluster "
                        "in the VNet",
                        access_name(r->access), wsv->name);
        }
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(acr, TRUE);
}

typedef struct {
    const ModelRoute *active; /* the active 0.0.0.0/0 route */
} ActiveDefault;

static void find_active_default(const ModelRoute *r, bool active, void *ctx)
{
    ActiveDefault *d = ctx;
    if (active && r->prefix.len == 0)
        d->active = r;
}

/* No-public-IP compute "needs NAT gateway / firewall for outbound" (azure-facts §5;
 * azdocs:articles/machine-learning/how-to-secure-training-vnet.md, "Compute instance/
 * cluster or serverless with no public IP"): its nodes have no address of their own and
 * no default outbound access, so without a NAT gateway on the subnet or a 0.0.0.0/0 route
 * to an appliance or gateway that leaves for them, Batch and the AML service are out of
 * reach and the nodes are unusable. A 0.0.0.0/0 route to Internet does not help: the node
 * still has no address to leave with. */
static void check_compute_outbound(Lint *l)
{
    const ModelComputeSet *set = l->net->computes;
    for (guint i = 0; set && i < set->computes->len; i++) {
        const ModelCompute *c = set->computes->pdata[i];
        const ModelSubnet *s = model_compute_subnet(c);
        if (model_compute_has_public_ip(c) || s->nat_gateway)
            continue;
        ActiveDefault d = {NULL};
        if (s->routes)
            model_routes_foreach(s->routes, find_active_default, &d);
        if (d.active && (d.active->type == MODEL_NEXT_HOP_VIRTUAL_APPLIANCE ||
                         d.active->type == MODEL_NEXT_HOP_VIRTUAL_NETWORK_GATEWAY))
            continue;
        finding(l, MODEL_LINT_ERROR, model_compute_name(c),
                "has no public IP, and subnet %s has no NAT gateway and no 0.0.0.0/0 route to a "
                "firewall or gateway: its nodes have no way out to Batch and the AML service "
                "and are unusable; attach a NAT gateway to the subnet or route 0.0.0.0/0 to a "
                "firewall",
                s->path);
    }
}

static bool has_workspace_pe(const ModelService *ws, const ModelVnet *vnet)
{
    for (guint i = 0; i < ws->pes->len; i++) {
        const ModelServicePe *p = ws->pes->pdata[i];
        if (strcmp(p->subresource, "amlworkspace") == 0 && p->nic->subnet &&
            p->nic->subnet->vnet == vnet)
            return true;
    }
    return false;
}

/* "You can't create a compute instance in a different region/VNet, only a compute
 * cluster" (azdocs:articles/machine-learning/how-to-secure-training-vnet.md, "Compute
 * cluster in a different VNet/region from workspace"; azure-facts §5). The workspace's
 * VNet is where its private endpoint is: a workspace without one has none to compare.
 * The region half cannot be written in a scenario (every VNet is in the scenario's
 * region), and the private endpoint a no-public-IP compute needs in its own or a peered
 * VNet is refused at load (compute.c check_compute), so lint does not repeat it. */
static void check_compute_instance_placement(Lint *l)
{
    const ModelComputeSet *set = l->net->computes;
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    for (guint i = 0; set && i < set->computes->len; i++) {
        const ModelCompute *c = set->computes->pdata[i];
        if (model_compute_kind(c) != MODEL_COMPUTE_INSTANCE)
            continue;
        const ModelSubnet *s = model_compute_subnet(c);
        const ModelService *own = model_compute_workspace(c);
        for (guint w = 0; w < ws->len; w++) {
            const ModelService *wsv = ws->pdata[w];
            if (own && wsv != own)
                continue; /* another workspace's compute */
            bool any = false;
            for (guint k = 0; k < wsv->pes->len; k++)
                any = any || strcmp(((const ModelServicePe *)wsv->pes->pdata[k])->subresource,
                                    "amlworkspace") == 0;
            if (any && !has_workspace_pe(wsv, s->vnet))
                finding(l, MODEL_LINT_ERROR, model_compute_name(c),
                        "is a compute instance in %s, but workspace %s has no private endpoint "
                        "in that virtual network: a compute instance must be in the workspace's "
                        "VNet (only a compute cluster may be in another VNet or region)",
                        s->vnet->name, wsv->name);
        }
    }
    g_ptr_array_free(ws, TRUE);
}

#define ACI_DELEGATION "Microsoft.ContainerInstance/containerGroups"

/* "ACI in a VNet is unsupported when the workspace uses private endpoints (001); ACI needs
 * subnet delegation Microsoft.ContainerInstance/containerGroups and can't coexist with ACR
 * in the VNet (004)" (domain §4.5; azdocs:articles/machine-learning/
 * tutorial-create-secure-workspace-vnet.md: "The steps in this article put Azure Container
 * Registry behind the VNet. In this configuration, you cannot deploy a model to Azure
 * Container Instances inside the VNet"). */
static void check_aci(Lint *l)
{
    const ModelComputeSet *set = l->net->computes;
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    GPtrArray *acr = services_of(l->net, MODEL_SERVICE_REGISTRY);
    for (guint i = 0; set && i < set->aci->len; i++) {
        const ModelAci *a = set->aci->pdata[i];
        for (guint w = 0; w < ws->len; w++) {
            const ModelService *wsv = ws->pdata[w];
            if (a->workspace && a->workspace != wsv)
                continue; /* it serves another workspace */
            if (wsv->pes->len)
                finding(l, MODEL_LINT_ERROR, a->name,
                        "is Azure Container Instances in subnet %s, which is unsupported while "
                        "workspace %s uses private endpoints: deploy to AKS (or a managed online "
                        "endpoint) instead",
                        a->subnet->path, wsv->name);
        }
        for (guint r = 0; r < acr->len; r++) {
            const ModelService *reg = acr->pdata[r];
            if (a->workspace && !belongs(a->workspace, reg))
                continue;
            if (reg->pes->len || registry_behind_vnet(reg))
                finding(l, MODEL_LINT_ERROR, a->name,
                        "is Azure Container Instances in subnet %s while registry %s is behind "
                        "the virtual network: ACI in a VNet cannot deploy from it",
                        a->subnet->path, reg->name);
        }
        if (!model_subnet_delegated(l->net, a->subnet, ACI_DELEGATION))
            finding(l, MODEL_LINT_WARNING, a->subnet->path,
                    "holds Azure Container Instances %s but is not delegated to " ACI_DELEGATION
                    ", which ACI in a virtual network needs",
                    a->name);
    }
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(acr, TRUE);
}

/* "Application Insights / Azure Monitor: private link scope must use Open mode" (domain
 * §1, seed 001). The scope's access modes (azdocs:articles/azure-monitor/logs/
 * private-link-security.md, "Private Link access modes: Private Only vs. Open") decide
 * whether the VNet reaches Azure Monitor resources outside the scope. */
static void check_monitor_scope(Lint *l)
{
    GPtrArray *ws = services_of(l->net, MODEL_SERVICE_WORKSPACE);
    for (guint w = 0; w < ws->len; w++) {
        const ModelService *wsv = ws->pdata[w];
        if (!wsv->app_insights || !wsv->monitor_scoped)
            continue;
        bool in = wsv->monitor_ingestion == MODEL_MONITOR_ACCESS_PRIVATE_ONLY;
        bool q = wsv->monitor_query == MODEL_MONITOR_ACCESS_PRIVATE_ONLY;
        if (in || q)
            finding(l, MODEL_LINT_ERROR, wsv->app_insights,
                    "sits in an Azure Monitor private link scope whose %s access mode%s "
                    "PrivateOnly: workspace %s needs the scope in Open mode",
                    in && q ? "ingestion and query"
                    : in    ? "ingestion"
                            : "query",
                    in && q ? "s are" : " is", wsv->name);
    }
    g_ptr_array_free(ws, TRUE);
}

/* ---- the table ---- */

typedef struct {
    ModelLintCheckInfo info;
    void (*run)(Lint *l); /* NULL: waiting for info.needs */
} Check;

static const Check checks[] = {
    {{"nsg-shadowed", "azure-facts §1",
      "NSG rules that can never match, or that higher rules partly override with the opposite "
      "access (exact set reasoning)",
      NULL},
     check_nsg_shadowing},
    {{"nsg-broad-service-tag", "azure-facts §1",
      "outbound allows to a whole service tag (every account of the region)", NULL},
     check_broad_service_tags},
    {{"address-overlap", "domain §6, azure-facts §2, §6",
      "overlapping VNet, on-premises and point-to-site ranges", NULL},
     check_overlaps},
    {{"docker-bridge-range", "domain §6", "a VNet range overlapping 172.17.0.0/16", NULL},
     check_docker_bridge},
    {{"gateway-subnet", "azure-facts §6, §2",
      "GatewaySubnet with an NSG, a 0.0.0.0/0 UDR, propagation disabled, other hosts, < /27", NULL},
     check_gateway_subnet},
    {{"bastion-subnet", "azure-facts §6", "AzureBastionSubnet smaller than /26", NULL},
     check_bastion_subnet},
    {{"forced-tunnel-public-ip", "azure-facts §2, domain §4.3",
      "an instance public IP behind a 0.0.0.0/0 route to an appliance or gateway", NULL},
     check_forced_tunnel_public_ip},
    {{"appliance-next-hop", "azure-facts §2",
      "a VirtualAppliance next hop that is no NIC, or a NIC without IP forwarding", NULL},
     check_appliance_next_hops},
    {{"acr-premium", "domain §1, §6", "a registry not Premium for a private workspace", NULL},
     check_acr_premium},
    {{"storage-placement", "domain §4.2, §6",
      "storage endpoints placed where the AML service's validation fails; storage outside "
      "the VNet of a private workspace",
      NULL},
     check_storage_placement},
    {{"storage-data-profiling", "domain §4.2",
      "storage that data profiling cannot reach (no instance rule, no trusted services)", NULL},
     check_storage_profiling},
    {{"key-vault-trusted-services", "domain §6", "a key vault firewall without trusted services",
      NULL},
     check_key_vault_trusted},
    {{"vnet-rule-endpoint", "azure-facts §4",
      "a service's virtual network rule for a subnet without its service endpoint", NULL},
     check_vnet_rule_endpoints},
    {{"acr-behind-vnet-image-build", "domain §4.5",
      "registry behind the VNet without an image-build compute cluster (serverless builds "
      "fail)",
      NULL},
     check_acr_image_build},
    {{"aci-private-workspace", "domain §4.5",
      "ACI in a VNet with a private-endpoint workspace or a registry behind the VNet "
      "(unsupported); its subnet not delegated to ACI",
      NULL},
     check_aci},
    {{"compute-no-outbound", "azure-facts §5, domain §4.3",
      "no-public-IP compute without a NAT gateway or a 0.0.0.0/0 route to a firewall or gateway",
      NULL},
     check_compute_outbound},
    {{"compute-instance-placement", "azure-facts §5, domain §4.3",
      "compute instance outside the VNet of the workspace's private endpoint", NULL},
     check_compute_instance_placement},
    {{"monitor-private-link-scope", "domain §1",
      "Azure Monitor private link scope not in Open mode", NULL},
     check_monitor_scope},
    /* No "aks-service-cidr" entry (domain §4.4: service CIDR overlapping a subnet, DNS IP
     * outside it, Docker bridge inside either): Azure refuses to create such a cluster,
     * so the loader refuses the scenario (aks.c check_ranges) and `vnetsim lint` exits 2
     * with its file:line:col, as for any input that cannot exist (contract.md §1). A lint
     * finding would need a net the model never builds. */
};

size_t model_lint_n_checks(void)
{
    return G_N_ELEMENTS(checks);
}

const ModelLintCheckInfo *model_lint_check(size_t i)
{
    g_return_val_if_fail(i < G_N_ELEMENTS(checks), NULL);
    return &checks[i].info;
}

static gint finding_cmp(gconstpointer a, gconstpointer b)
{
    const ModelLintFinding *x = *(const ModelLintFinding *const *)a;
    const ModelLintFinding *y = *(const ModelLintFinding *const *)b;
    if (x->severity != y->severity)
        return x->severity < y->severity ? -1 : 1;
    int c = strcmp(x->object, y->object);
    return c ? c : strcmp(x->message, y->message);
}

GPtrArray *model_lint_net(const ModelNet *net)
{
    Lint l = {.net = net, .out = g_ptr_array_new_with_free_func(finding_free)};
    for (size_t i = 0; i < G_N_ELEMENTS(checks); i++) {
        if (!checks[i].run)
            continue;
        l.check = checks[i].info.id;
        l.doc = checks[i].info.doc;
        checks[i].run(&l);
    }
    g_ptr_array_sort(l.out, finding_cmp);
    return l.out;
}
