/*
 * dns.c — the DNS db (public view, private zones, virtual network links) and resolution as
 * Azure DNS performs it. Sources and rules: see dns.h.
 *
 * A view (the public one, or one zone) is a hash of owner names to record sets (an A set
 * or one CNAME) plus the set of names that exist: every owner and its ancestors down to
 * the zone apex, so empty non-terminals answer NODATA rather than NXDOMAIN and wildcards
 * apply only to names that do not exist (RFC 4592 4.3, the closest encloser). Links are
 * indexed vnet -> zone name -> link, so the longest linked zone holding a name is found by
 * walking the name's suffixes: O(labels) lookups per name of a chain.
 */
#include "model/dns.h"

#include <string.h>

#include "model/addr.h"

typedef struct {
    GArray *a; /* uint32_t, host order; NULL: no A record set */
    uint32_t a_ttl;
    char *cname; /* NULL: no CNAME */
    uint32_t cname_ttl;
} DnsNode;

typedef struct {
    const char *apex;  /* "" for the public view, else the zone name (not owned) */
    GHashTable *nodes; /* owner -> DnsNode * */
    GHashTable *exist; /* owners and their ancestors down to apex (a set) */
} DnsView;

typedef struct {
    ModelDnsZone *zone;
    const void *vnet;
    char *name;
    bool nxdomain_redirect;
} DnsLink;

struct ModelDnsZone {
    char *name;
    char *resource_group;
    DnsView view;
    GPtrArray *links; /* DnsLink *, owned */
    ModelDnsDb *db;
};

struct ModelDnsDb {
    DnsView pub;
    GPtrArray *zones;          /* ModelDnsZone *, owned, in creation order */
    GHashTable *links_by_vnet; /* vnet -> (zone name -> DnsLink *, borrowed) */
    ModelDnsVnetNameFn vnet_name;
};

#define PUBLIC_FROM "public"
#define PUBLIC_DNS  "public DNS"

/* ---- views ---- */

static void node_free(gpointer p)
{
    DnsNode *n = p;
    if (n->a)
        g_array_free(n->a, TRUE);
    g_free(n->cname);
    g_free(n);
}

static void view_init(DnsView *v, const char *apex)
{
    v->apex = apex;
    v->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, node_free);
    v->exist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (*apex) /* a zone's apex always exists: it holds the SOA and NS record sets */
        g_hash_table_add(v->exist, g_strdup(apex));
}

static void view_clear(DnsView *v)
{
    g_hash_table_destroy(v->nodes);
    g_hash_table_destroy(v->exist);
}

/* Marks owner and its ancestors down to the apex as existing. Ancestors of a marked name
 * are marked already, so the walk stops at the first one. */
static void view_mark(DnsView *v, const char *owner)
{
    for (const char *p = owner; p;) {
        if (g_hash_table_contains(v->exist, p))
            return;
        g_hash_table_add(v->exist, g_strdup(p));
        if (strcmp(p, v->apex) == 0)
            return;
        p = strchr(p, '.');
        if (p)
            p++;
    }
}

static DnsNode *view_node(DnsView *v, const char *owner)
{
    DnsNode *n = g_hash_table_lookup(v->nodes, owner);
    if (!n) {
        n = g_new0(DnsNode, 1);
        g_hash_table_insert(v->nodes, g_strdup(owner), n);
        view_mark(v, owner);
    }
    return n;
}

/* Whether owner may take an A record: not when it has a CNAME. */
static gboolean view_check_a(const DnsView *v, const char *where, const char *owner, GError **error)
{
    const DnsNode *n = g_hash_table_lookup(v->nodes, owner);
    if (n && n->cname) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                    "%s: %s has a CNAME (to %s), and CNAME record sets can't coexist with other "
                    "record sets with the same name",
                    where, owner, n->cname);
        return FALSE;
    }
    return TRUE;
}

static gboolean view_check_cname(const DnsView *v, const char *where, const char *owner,
                                 const char *target, GError **error)
{
    const DnsNode *n = g_hash_table_lookup(v->nodes, owner);
    if (n && n->a && n->a->len) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                    "%s: %s has an A record, and CNAME record sets can't coexist with other "
                    "record sets with the same name",
                    where, owner);
        return FALSE;
    }
    if (n && n->cname && strcmp(n->cname, target) != 0) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                    "%s: %s already has a CNAME (to %s); a CNAME record set holds one record",
                    where, owner, n->cname);
        return FALSE;
    }
    return TRUE;
}

static void view_add_a(DnsView *v, const char *owner, uint32_t ip, uint32_t ttl)
{
    DnsNode *n = view_node(v, owner);
    if (!n->a) {
        n->a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        n->a_ttl = ttl;
    }
    for (guint i = 0; i < n->a->len; i++)
        if (g_array_index(n->a, uint32_t, i) == ip)
            return;
    g_array_append_val(n->a, ip);
}

/* Replaces owner's A record set with {ip}. */
static void view_set_a(DnsView *v, const char *owner, uint32_t ip, uint32_t ttl)
{
    DnsNode *n = view_node(v, owner);
    if (n->a)
        g_array_set_size(n->a, 0);
    else
        n->a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    n->a_ttl = ttl;
    g_array_append_val(n->a, ip);
}

static void view_add_cname(DnsView *v, const char *owner, const char *target, uint32_t ttl)
{
    DnsNode *n = view_node(v, owner);
    if (!n->cname) {
        n->cname = g_strdup(target);
        n->cname_ttl = ttl;
    }
}

/* Finds the record sets answering name. Returns the node (a wildcard's, with *wildcard,
 * when name itself does not exist and the closest encloser has a "*" child), or NULL with
 * *exists telling NODATA (an empty non-terminal) from NXDOMAIN. */
static const DnsNode *view_find(const DnsView *v, const char *name, bool *exists, bool *wildcard)
{
    *wildcard = false;
    *exists = true;
    const DnsNode *n = g_hash_table_lookup(v->nodes, name);
    if (n)
        return n;
    if (g_hash_table_contains(v->exist, name))
        return NULL;
    for (const char *p = strchr(name, '.'); p; p = strchr(p, '.')) {
        p++;
        if (!g_hash_table_contains(v->exist, p))
            continue;
        g_autofree char *star = g_strconcat("*.", p, NULL);
        n = g_hash_table_lookup(v->nodes, star);
        if (n) {
            *wildcard = true;
            return n;
        }
        break; /* the closest encloser has no wildcard */
    }
    *exists = false;
    return NULL;
}

/* ---- the db ---- */

ModelDnsDb *model_dns_db_new(void)
{
    ModelDnsDb *db = g_new0(ModelDnsDb, 1);
    view_init(&db->pub, "");
    db->zones = g_ptr_array_new();
    db->links_by_vnet = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                              (GDestroyNotify)g_hash_table_destroy);
    return db;
}

static void link_free(gpointer p)
{
    DnsLink *l = p;
    g_free(l->name);
    g_free(l);
}

static void zone_free(ModelDnsZone *z)
{
    view_clear(&z->view);
    g_ptr_array_free(z->links, TRUE);
    g_free(z->name);
    g_free(z->resource_group);
    g_free(z);
}

void model_dns_db_free(ModelDnsDb *db)
{
    if (!db)
        return;
    g_hash_table_destroy(db->links_by_vnet);
    for (guint i = 0; i < db->zones->len; i++)
        zone_free(g_ptr_array_index(db->zones, i));
    g_ptr_array_free(db->zones, TRUE);
    view_clear(&db->pub);
    g_free(db);
}

void model_dns_db_set_vnet_name_fn(ModelDnsDb *db, ModelDnsVnetNameFn fn)
{
    db->vnet_name = fn;
}

/* "linked to vnet-ml", or "linked by link 'ml-link'" when VNets have no names here. */
static char *link_text(const ModelDnsDb *db, const DnsLink *l)
{
    const char *vn = db->vnet_name ? db->vnet_name(l->vnet) : NULL;
    return vn ? g_strdup_printf("linked to %s", vn)
              : g_strdup_printf("linked by link '%s'", l->name);
}

static char *vnet_text(const ModelDnsDb *db, const void *vnet)
{
    const char *vn = db->vnet_name ? db->vnet_name(vnet) : NULL;
    return g_strdup(vn ? vn : "the virtual network");
}

/* ---- the public view ---- */

gboolean model_dns_public_add_a(ModelDnsDb *db, const char *name, uint32_t ip, GError **error)
{
    g_autofree char *owner = model__dns_name_canon(name, true, error);
    if (!owner || !view_check_a(&db->pub, PUBLIC_DNS, owner, error))
        return FALSE;
    view_add_a(&db->pub, owner, ip, MODEL_DNS_TTL_PUBLIC);
    return TRUE;
}

gboolean model_dns_public_add_cname(ModelDnsDb *db, const char *name, const char *target,
                                    GError **error)
{
    g_autofree char *owner = model__dns_name_canon(name, true, error);
    if (!owner)
        return FALSE;
    g_autofree char *t = model__dns_name_canon(target, false, error);
    if (!t || !view_check_cname(&db->pub, PUBLIC_DNS, owner, t, error))
        return FALSE;
    view_add_cname(&db->pub, owner, t, MODEL_DNS_TTL_PUBLIC);
    return TRUE;
}

/* ---- zones ---- */

static const char *rg_or_default(const char *rg)
{
    return rg ? rg : "";
}

ModelDnsZone *model_dns_zone_find_in(const ModelDnsDb *db, const char *zone_name,
                                     const char *resource_group)
{
    g_autofree char *name = model__dns_name_canon(zone_name, false, NULL);
    if (!name)
        return NULL;
    for (guint i = 0; i < db->zones->len; i++) {
        ModelDnsZone *z = g_ptr_array_index(db->zones, i);
        if (strcmp(z->name, name) == 0 &&
            g_ascii_strcasecmp(z->resource_group, rg_or_default(resource_group)) == 0)
            return z;
    }
    return NULL;
}

ModelDnsZone *model_dns_zone_find(const ModelDnsDb *db, const char *zone_name)
{
    g_autofree char *name = model__dns_name_canon(zone_name, false, NULL);
    if (!name)
        return NULL;
    for (guint i = 0; i < db->zones->len; i++) {
        ModelDnsZone *z = g_ptr_array_index(db->zones, i);
        if (strcmp(z->name, name) == 0)
            return z;
    }
    return NULL;
}

ModelDnsZone *model_dns_zone_add_in(ModelDnsDb *db, const char *zone_name,
                                    const char *resource_group, GError **error)
{
    g_autofree char *name = model__dns_name_canon(zone_name, false, error);
    if (!name)
        return NULL;
    guint labels = 1;
    for (const char *p = name; *p; p++)
        labels += *p == '.';
    if (labels < 2 || labels > 34) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                    "private DNS zone '%s' has %u label%s: a private DNS zone must have two or "
                    "more labels and at most 34",
                    name, labels, labels == 1 ? "" : "s");
        return NULL;
    }
    if (model_dns_zone_find_in(db, name, resource_group)) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_DUPLICATE,
                    "private DNS zone '%s' already exists in resource group '%s'", name,
                    resource_group && *resource_group ? resource_group : "default");
        return NULL;
    }
    ModelDnsZone *z = g_new0(ModelDnsZone, 1);
    z->name = g_steal_pointer(&name);
    z->resource_group = g_strdup(rg_or_default(resource_group));
    view_init(&z->view, z->name);
    z->links = g_ptr_array_new_with_free_func(link_free);
    z->db = db;
    g_ptr_array_add(db->zones, z);
    return z;
}

ModelDnsZone *model_dns_zone_add(ModelDnsDb *db, const char *zone_name, GError **error)
{
    return model_dns_zone_add_in(db, zone_name, NULL, error);
}

const char *model_dns_zone_name(const ModelDnsZone *zone)
{
    return zone->name;
}

const char *model_dns_zone_resource_group(const ModelDnsZone *zone)
{
    return zone->resource_group;
}

/* The absolute owner of a record name given to a zone (see dns.h). */
static char *zone_owner(const ModelDnsZone *z, const char *name, GError **error)
{
    if (!name)
        return model__dns_name_canon(NULL, true, error); /* NULL, with the error */
    if (strcmp(name, "@") == 0)
        return g_strdup(z->name);
    char *canon = model__dns_name_canon(name, true, error);
    if (!canon)
        return NULL;
    if (model_dns_name_within(canon, z->name))
        return canon;
    if (name[strlen(name) - 1] == '.') {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_OUTSIDE_ZONE,
                    "record '%s' does not lie in zone %s", name, z->name);
        g_free(canon);
        return NULL;
    }
    g_autofree char *full = g_strconcat(canon, ".", z->name, NULL);
    g_free(canon);
    return model__dns_name_canon(full, true, error);
}

gboolean model_dns_zone_add_a(ModelDnsZone *zone, const char *name, uint32_t ip, GError **error)
{
    g_autofree char *owner = zone_owner(zone, name, error);
    if (!owner || !view_check_a(&zone->view, zone->name, owner, error))
        return FALSE;
    view_add_a(&zone->view, owner, ip, MODEL_DNS_TTL_DEFAULT);
    return TRUE;
}

gboolean model_dns_zone_add_cname(ModelDnsZone *zone, const char *name, const char *target,
                                  GError **error)
{
    g_autofree char *owner = zone_owner(zone, name, error);
    if (!owner)
        return FALSE;
    if (strcmp(owner, zone->name) == 0) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                    "%s: you can't create a CNAME record set at the zone apex", zone->name);
        return FALSE;
    }
    g_autofree char *t = model__dns_name_canon(target, false, error);
    if (!t || !view_check_cname(&zone->view, zone->name, owner, t, error))
        return FALSE;
    view_add_cname(&zone->view, owner, t, MODEL_DNS_TTL_DEFAULT);
    return TRUE;
}

/* "A Private Link zone": the fallback policy is "only available for Private DNS zones
 * associated to Private Link resources" (private-dns-fallback.md). Their names carry a
 * label starting "privatelink" (privatelink.blob…, eastus.data.privatelink.azurecr.io,
 * privatelink-global.wvd.microsoft.com). */
static bool is_private_link_zone(const char *name)
{
    for (const char *p = name; p; p = strchr(p, '.')) {
        if (*p == '.')
            p++;
        if (g_str_has_prefix(p, "privatelink"))
            return true;
    }
    return false;
}

gboolean model_dns_zone_link(ModelDnsZone *zone, const void *vnet, const char *link_name,
                             bool nxdomain_redirect, GError **error)
{
    ModelDnsDb *db = zone->db;
    if (!vnet || !link_name || !*link_name) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_LINK,
                    "a virtual network link of %s needs a name and a virtual network", zone->name);
        return FALSE;
    }
    for (guint i = 0; i < zone->links->len; i++) {
        const DnsLink *l = g_ptr_array_index(zone->links, i);
        if (g_ascii_strcasecmp(l->name, link_name) == 0) {
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_DUPLICATE,
                        "%s already has a virtual network link named '%s'", zone->name, link_name);
            return FALSE;
        }
    }
    GHashTable *inner = g_hash_table_lookup(db->links_by_vnet, vnet);
    const DnsLink *old = inner ? g_hash_table_lookup(inner, zone->name) : NULL;
    if (old) {
        g_autofree char *vn = vnet_text(db, vnet);
        if (old->zone == zone)
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_LINK,
                        "%s is already linked to %s (link '%s'): you can create only one link "
                        "between a private DNS zone and a virtual network",
                        zone->name, vn, old->name);
        else
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_LINK,
                        "A virtual network cannot be linked to multiple zones with overlapping "
                        "namespaces: %s is already linked to %s (resource group '%s')",
                        vn, old->zone->name,
                        *old->zone->resource_group ? old->zone->resource_group : "default");
        return FALSE;
    }
    if (nxdomain_redirect && !is_private_link_zone(zone->name)) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_LINK,
                    "link '%s' of %s: resolution policy NxDomainRedirect is only available for "
                    "Private DNS zones associated to Private Link resources",
                    link_name, zone->name);
        return FALSE;
    }
    DnsLink *l = g_new0(DnsLink, 1);
    l->zone = zone;
    l->vnet = vnet;
    l->name = g_strdup(link_name);
    l->nxdomain_redirect = nxdomain_redirect;
    g_ptr_array_add(zone->links, l);
    if (!inner) {
        inner = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_insert(db->links_by_vnet, (gpointer)vnet, inner);
    }
    g_hash_table_insert(inner, zone->name, l);
    return TRUE;
}

/* The link of the longest zone linked to vnet that holds name, or NULL. */
static const DnsLink *link_for(const ModelDnsDb *db, const void *vnet, const char *name)
{
    GHashTable *inner = vnet ? g_hash_table_lookup(db->links_by_vnet, vnet) : NULL;
    if (!inner)
        return NULL;
    for (const char *p = name; p;) {
        const DnsLink *l = g_hash_table_lookup(inner, p);
        if (l)
            return l;
        p = strchr(p, '.');
        if (p)
            p++;
    }
    return NULL;
}

/* ---- resolution ---- */

typedef struct {
    const ModelDnsDb *db;
    const void *vnet;
    const ModelDnsZone *only; /* model_dns_zone_answer: this zone alone */
    uint16_t qtype;
    GArray *answers; /* ModelDnsRR */
    GString *chain;  /* "a CNAME b A 10.0.1.6" */
    char *redirect;  /* why a name went to public DNS under NxDomainRedirect, or NULL */
    ModelDnsResult *out;
} Walk;

static void walk_add(Walk *w, const char *owner, uint16_t type, uint32_t ttl, uint32_t a,
                     const char *target, const char *from)
{
    ModelDnsRR rr = {.name = g_strdup(owner),
                     .type = type,
                     .ttl = ttl,
                     .a = a,
                     .target = target ? g_strdup(target) : NULL,
                     .from = from};
    g_array_append_val(w->answers, rr);
    if (type == PCAP_DNS_CNAME) {
        g_string_append_printf(w->chain, " CNAME %s", target);
    } else {
        char ip[MODEL_IP_STRLEN];
        model_ip_format(a, ip);
        g_string_append_printf(w->chain, " A %s", ip);
    }
}

static void rr_clear(ModelDnsRR *rr)
{
    g_free(rr->name);
    g_free(rr->target);
}

/* Moves the walk into out: rcode, decided_by, the detail "<chain><tail>". */
static void walk_finish(Walk *w, uint8_t rcode, const char *decided_by, char *tail)
{
    ModelDnsResult *out = w->out;
    out->rcode = rcode;
    out->decided_by = g_strdup(decided_by);
    if (rcode == PCAP_DNS_SERVFAIL) {
        for (guint i = 0; i < w->answers->len; i++)
            rr_clear(&g_array_index(w->answers, ModelDnsRR, i));
        g_array_set_size(w->answers, 0);
    }
    out->n_answers = w->answers->len;
    for (guint i = 0; i < w->answers->len; i++) {
        const ModelDnsRR *rr = &g_array_index(w->answers, ModelDnsRR, i);
        if (rr->type == PCAP_DNS_A && !out->address)
            out->address = rr->a;
    }
    out->answers = out->n_answers ? (ModelDnsRR *)(void *)g_array_free(w->answers, FALSE) : NULL;
    if (!out->n_answers)
        g_array_free(w->answers, TRUE);
    w->answers = NULL;
    g_string_append(w->chain, tail);
    g_free(tail);
    if (w->redirect && rcode != PCAP_DNS_SERVFAIL)
        g_string_append_printf(w->chain, " [%s]", w->redirect);
    out->detail = g_string_free(w->chain, FALSE);
    w->chain = NULL;
    g_free(w->redirect);
    w->redirect = NULL;
}

/* "mlwsstore2" for mlwsstore2.privatelink.blob.core.windows.net in that zone; "@". */
static char *relative_name(const char *name, const char *zone)
{
    size_t ln = strlen(name), lz = strlen(zone);
    return ln == lz ? g_strdup("@") : g_strndup(name, ln - lz - 1);
}

static bool redirect_applies(uint16_t qtype)
{
    /* "Only applicable ... for A,AAAA,CNAME queries" (PrivateDnsResolutionPolicy). */
    return qtype == PCAP_DNS_A || qtype == PCAP_DNS_AAAA || qtype == PCAP_DNS_CNAME;
}

static const char *type_text(uint16_t qtype, char buf[16])
{
    const char *t = pcap_dns_type_name(qtype);
    if (t)
        return t;
    g_snprintf(buf, 16, "TYPE%u", qtype);
    return buf;
}

static void walk(Walk *w, const char *qname)
{
    const ModelDnsDb *db = w->db;
    const char *resolver = w->only ? w->only->name : w->vnet ? "Azure DNS" : PUBLIC_DNS;
    w->answers = g_array_new(FALSE, FALSE, sizeof(ModelDnsRR));
    char *name = model__dns_name_canon(qname, true, NULL);
    w->chain = g_string_new(name ? name : qname ? qname : "(null)");
    if (!name) {
        walk_finish(w, PCAP_DNS_NXDOMAIN, resolver,
                    g_strdup(" NXDOMAIN: not a valid DNS name, so no zone holds it"));
        return;
    }
    if (w->only && !model_dns_name_within(name, w->only->name)) {
        walk_finish(w, PCAP_DNS_REFUSED, resolver,
                    g_strdup_printf(" REFUSED: not in zone %s", w->only->name));
        g_free(name);
        return;
    }
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    unsigned cnames = 0;
    for (;;) {
        if (!g_hash_table_add(seen, name)) { /* takes name either way */
            walk_finish(w, PCAP_DNS_SERVFAIL, resolver,
                        g_strdup_printf(" SERVFAIL: CNAME loop (%s again)", name));
            break;
        }
        /* Who answers this name: the longest linked zone, else public DNS. */
        const DnsLink *link = w->only ? NULL : link_for(db, w->vnet, name);
        const DnsView *view = w->only ? &w->only->view : link ? &link->zone->view : &db->pub;
        const char *from = w->only ? w->only->name : link ? link->zone->name : PUBLIC_FROM;
        bool exists, wildcard;
        const DnsNode *n = view_find(view, name, &exists, &wildcard);
        g_autofree char *source = NULL;
        g_autofree char *lt = link ? link_text(db, link) : NULL;
        if (w->only)
            source = g_strdup_printf("zone %s", w->only->name);
        else if (link)
            source = g_strdup_printf("private zone %s %s", link->zone->name, lt);
        else
            source = g_strdup(PUBLIC_DNS);
        if (!n && !exists && link && link->nxdomain_redirect && redirect_applies(w->qtype)) {
            g_autofree char *rel = relative_name(name, link->zone->name);
            g_free(w->redirect);
            w->redirect = g_strdup_printf("%s is %s and has no record for %s; resolution "
                                          "policy NxDomainRedirect: public DNS answers %s",
                                          link->zone->name, lt, rel, name);
            w->out->nxdomain_redirected = true;
            link = NULL;
            view = &db->pub;
            from = PUBLIC_FROM;
            g_free(source);
            source = g_strdup(PUBLIC_DNS);
            n = view_find(view, name, &exists, &wildcard);
        }
        const char *decided = link ? link->zone->name : w->only ? w->only->name : PUBLIC_DNS;
        if (!n && !exists) {
            char *why;
            if (link) {
                g_autofree char *rel = relative_name(name, link->zone->name);
                why = g_strdup_printf(" NXDOMAIN: %s is %s and has no record for %s (resolution "
                                      "policy %s)",
                                      link->zone->name, lt, rel,
                                      link->nxdomain_redirect ? "NxDomainRedirect" : "Default");
            } else if (w->only) {
                g_autofree char *rel = relative_name(name, w->only->name);
                why =
                    g_strdup_printf(" NXDOMAIN: zone %s has no record for %s", w->only->name, rel);
            } else {
                why = g_strdup_printf(" NXDOMAIN: public DNS has no record for %s", name);
            }
            walk_finish(w, PCAP_DNS_NXDOMAIN, decided, why);
            break;
        }
        if (n && n->cname) {
            if (w->qtype != PCAP_DNS_CNAME && cnames == MODEL_DNS_MAX_CNAMES) {
                walk_finish(w, PCAP_DNS_SERVFAIL, resolver,
                            g_strdup_printf(" SERVFAIL: more than %d CNAMEs (at %s)",
                                            MODEL_DNS_MAX_CNAMES, name));
                break;
            }
            cnames++;
            walk_add(w, name, PCAP_DNS_CNAME, n->cname_ttl, 0, n->cname, from);
            if (w->qtype == PCAP_DNS_CNAME) {
                walk_finish(w, PCAP_DNS_NOERROR, decided, g_strdup_printf(" (%s)", source));
                break;
            }
            if (w->only && !model_dns_name_within(n->cname, w->only->name)) {
                /* An authoritative server leaves an out-of-zone target to the client. */
                walk_finish(w, PCAP_DNS_NOERROR, decided,
                            g_strdup_printf(" (%s; %s is outside the zone)", source, n->cname));
                break;
            }
            name = g_strdup(n->cname);
            continue;
        }
        if (n && n->a && n->a->len && w->qtype == PCAP_DNS_A) {
            for (guint i = 0; i < n->a->len; i++)
                walk_add(w, name, PCAP_DNS_A, n->a_ttl, g_array_index(n->a, uint32_t, i), NULL,
                         from);
            w->out->private_answer = link != NULL;
            walk_finish(w, PCAP_DNS_NOERROR, decided,
                        g_strdup_printf(" (%s%s)", source, wildcard ? ", wildcard record" : ""));
            break;
        }
        char tb[16];
        walk_finish(w, PCAP_DNS_NOERROR, decided,
                    g_strdup_printf(" NODATA: %s has no %s record (%s)", name,
                                    type_text(w->qtype, tb), source));
        break;
    }
    g_hash_table_destroy(seen);
}

void model_dns_resolve(const ModelDnsDb *db, const void *vnet, const char *qname, uint16_t qtype,
                       ModelDnsResult *out)
{
    memset(out, 0, sizeof *out);
    Walk w = {.db = db, .vnet = vnet, .qtype = qtype, .out = out};
    walk(&w, qname);
}

void model_dns_zone_answer(const ModelDnsZone *zone, const char *qname, uint16_t qtype,
                           ModelDnsResult *out)
{
    memset(out, 0, sizeof *out);
    Walk w = {.db = zone->db, .only = zone, .qtype = qtype, .out = out};
    walk(&w, qname);
}

void model_dns_result_clear(ModelDnsResult *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->n_answers; i++)
        rr_clear(&result->answers[i]);
    g_free(result->answers);
    g_free(result->decided_by);
    g_free(result->detail);
    memset(result, 0, sizeof *result);
}

/* ---- PaaS registration ---- */

/* Canonical fqdn and (optional) GUID, and the table row; sets *error on failure. */
static bool paas_prepare(const char *fqdn, const char *workspace_guid, char **name,
                         ModelDnsPaasName *pn, bool *known, GError **error)
{
    *name = model__dns_name_canon(fqdn, false, error);
    if (!*name)
        return false;
    g_autofree char *guid = NULL;
    if (workspace_guid) {
        guid = model__dns_name_canon(workspace_guid, false, error);
        if (!guid || strchr(guid, '.')) {
            if (guid)
                g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                            "workspace GUID '%s' is not a single label", workspace_guid);
            g_clear_pointer(name, g_free);
            return false;
        }
    }
    *known = model__dns_paas_lookup(*name, guid, pn);
    return true;
}

static void no_private_link(const char *name, bool has_guid, GError **error)
{
    ModelDnsPaasName probe;
    bool needs_guid = !has_guid && model__dns_paas_lookup(name, "guid", &probe);
    if (needs_guid)
        model__dns_paas_clear(&probe);
    g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NO_PRIVATE_LINK,
                needs_guid ? "%s: its private link name needs the workspace GUID"
                           : "%s: no private link zone is known for this name",
                name);
}

/* Whether host may answer A ip in the public view: no CNAME, no other address. */
static bool host_free_for(const DnsView *pub, const char *host, uint32_t ip)
{
    const DnsNode *n = g_hash_table_lookup(pub->nodes, host);
    if (!n)
        return true;
    if (n->cname)
        return false;
    for (guint i = 0; n->a && i < n->a->len; i++)
        if (g_array_index(n->a, uint32_t, i) != ip)
            return false;
    return true;
}

static gboolean register_service(ModelDnsDb *db, const char *fqdn, const char *workspace_guid,
                                 uint32_t public_ip, const char *public_host,
                                 bool has_private_endpoint, GError **error)
{
    g_autofree char *name = NULL;
    ModelDnsPaasName pn = {0};
    bool known = false;
    if (!paas_prepare(fqdn, workspace_guid, &name, &pn, &known, error))
        return FALSE;
    gboolean ok = FALSE;
    g_autofree char *host = NULL;
    const char *pl = known ? pn.privatelink : NULL;
    if (pl && strcmp(pl, name) == 0) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                    "%s is a private link name: register the public name of the service", name);
        goto out;
    }
    if (has_private_endpoint && !pl) {
        no_private_link(name, workspace_guid != NULL, error);
        goto out;
    }
    /* Published already with its private link CNAME: an endpoint was registered first, and
     * registering the name again without one does not take the CNAME back. */
    const DnsNode *own = g_hash_table_lookup(db->pub.nodes, name);
    if (!has_private_endpoint && pl && own && own->cname && strcmp(own->cname, pl) == 0) {
        ok = TRUE;
        goto out;
    }
    /* A private link name already published (a compute instance shares its workspace's)
     * keeps its chain: the new name joins it. */
    const DnsNode *pl_node =
        pl && has_private_endpoint ? g_hash_table_lookup(db->pub.nodes, pl) : NULL;
    bool join = pl_node && pl_node->cname && !public_host;
    if (public_host) {
        host = model__dns_name_canon(public_host, false, error);
        if (!host)
            goto out;
        if (!host_free_for(&db->pub, host, public_ip)) {
            char ip[MODEL_IP_STRLEN];
            model_ip_format(public_ip, ip);
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                        "public host %s already answers with another address (or a CNAME); "
                        "%s needs %s: give it a distinct public host",
                        host, name, ip);
            goto out;
        }
    } else if (join) {
        host = g_strdup(pl_node->cname);
    } else {
        for (char s = 'a'; s <= 'z' && !host; s++) {
            char *h = model__dns_paas_host(known ? &pn : &(ModelDnsPaasName){0}, s);
            if (host_free_for(&db->pub, h, public_ip))
                host = h;
            else
                g_free(h);
        }
        if (!host) {
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                        "%s: every default public host is taken: give a public host", name);
            goto out;
        }
    }
    if (strcmp(host, name) == 0 || (pl && strcmp(host, pl) == 0)) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_CONFLICT,
                    "%s: the public host must differ from the service's names", name);
        goto out;
    }
    /* Check everything, then add: a failure changes nothing. */
    const char *first = has_private_endpoint ? pl : host;
    if (!view_check_cname(&db->pub, PUBLIC_DNS, name, first, error))
        goto out;
    if (has_private_endpoint && !join && !view_check_cname(&db->pub, PUBLIC_DNS, pl, host, error))
        goto out;
    if (!join && !view_check_a(&db->pub, PUBLIC_DNS, host, error))
        goto out;
    view_add_cname(&db->pub, name, first, MODEL_DNS_TTL_PUBLIC);
    if (!join) {
        if (has_private_endpoint)
            view_add_cname(&db->pub, pl, host, MODEL_DNS_TTL_PUBLIC);
        view_add_a(&db->pub, host, public_ip, MODEL_DNS_TTL_PUBLIC);
    }
    ok = TRUE;
out:
    model__dns_paas_clear(&pn);
    return ok;
}

gboolean model_dns_register_service(ModelDnsDb *db, const char *fqdn, uint32_t public_ip,
                                    const char *public_host, bool has_private_endpoint,
                                    GError **error)
{
    return register_service(db, fqdn, NULL, public_ip, public_host, has_private_endpoint, error);
}

gboolean model_dns_register_workspace_service(ModelDnsDb *db, const char *fqdn,
                                              const char *workspace_guid, uint32_t public_ip,
                                              const char *public_host, bool has_private_endpoint,
                                              GError **error)
{
    return register_service(db, fqdn, workspace_guid, public_ip, public_host, has_private_endpoint,
                            error);
}

static ModelDnsZone *register_private_endpoint(ModelDnsDb *db, const char *fqdn,
                                               const char *workspace_guid, uint32_t ip,
                                               GError **error)
{
    g_autofree char *name = NULL;
    ModelDnsPaasName pn = {0};
    bool known = false;
    if (!paas_prepare(fqdn, workspace_guid, &name, &pn, &known, error))
        return NULL;
    ModelDnsZone *zone = NULL;
    if (!known) {
        no_private_link(name, workspace_guid != NULL, error);
        goto out;
    }
    zone = model_dns_zone_find(db, pn.zone);
    if (!zone && pn.alt_zone)
        zone = model_dns_zone_find(db, pn.alt_zone);
    if (!zone)
        goto out; /* no such zone: the record goes nowhere */
    if (!view_check_a(&zone->view, zone->name, pn.record, error)) {
        zone = NULL;
        goto out;
    }
    view_set_a(&zone->view, pn.record, ip, MODEL_DNS_TTL_PRIVATE_ENDPOINT);
out:
    model__dns_paas_clear(&pn);
    return zone;
}

ModelDnsZone *model_dns_register_private_endpoint(ModelDnsDb *db, const char *fqdn, uint32_t ip,
                                                  GError **error)
{
    return register_private_endpoint(db, fqdn, NULL, ip, error);
}

ModelDnsZone *model_dns_register_workspace_private_endpoint(ModelDnsDb *db, const char *fqdn,
                                                            const char *workspace_guid, uint32_t ip,
                                                            GError **error)
{
    return register_private_endpoint(db, fqdn, workspace_guid, ip, error);
}
