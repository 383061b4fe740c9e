/*
 * lint_nsg.c — which higher-priority NSG rules take a rule's traffic, decided exactly.
 *
 * A rule matches a set of packets: the product of five sets, one per dimension (protocol,
 * source address, destination address, source port, destination port), each a union of
 * intervals once tags, VirtualNetwork/Internet and ASGs are resolved as the compiled
 * classifier resolves them (net.c, resolve_nsg_item). Protocols are small integers (TCP 0,
 * UDP 1, ICMP 2, ESP 3, AH 4): "Any" is {TCP, UDP, ICMP} ("Any encompasses TCP, UDP, and
 * ICMP", azdocs:articles/virtual-network/network-security-groups-overview.md). A packet
 * without ports (ICMP, ESP, AH) matches only rules whose two port fields are "*"
 * (nsg.h, model_nsg_table_classify): for those protocols both port dimensions hold the
 * single value 0 and a rule with narrower ports contributes nothing. So a rule is a union
 * of at most two products, one for TCP/UDP and one for the port-less protocols.
 *
 * First match wins, so what a rule R really matches is its own set minus every higher
 * rule's. We keep R's remainder as a list of disjoint products and subtract each higher
 * rule H in priority order: X \ A, for products X and A, is the union over dimensions i of
 * (X0∩A0 × … × X(i-1)∩A(i-1) × (Xi \ Ai) × X(i+1) × … × X4), empty pieces dropped. H takes
 * part of R's traffic exactly when it meets the remainder at that point (what is left is
 * what no earlier rule matched), and R can never match when nothing remains. No sampling,
 * no heuristics; the only limit is a budget on pieces, past which the answer is "gave up"
 * and nothing is claimed.
 */
#include "model/lint.h"
#include "model/net_internal.h"

#include <string.h>

#define DIMS         5
#define PIECE_BUDGET 20000

enum { D_PROTO, D_SRC, D_DST, D_SPORT, D_DPORT };
enum { P_TCP, P_UDP, P_ICMP, P_ESP, P_AH };

typedef struct {
    uint64_t lo, hi; /* inclusive */
} Span;

/* A union of spans: sorted, disjoint, non-adjacent. */
typedef GArray Set;

typedef struct {
    Set *d[DIMS];
} Product;

static Set *set_new(void)
{
    return g_array_new(FALSE, FALSE, sizeof(Span));
}

static Set *set_copy(const Set *s)
{
    Set *c = set_new();
    g_array_append_vals(c, s->data, s->len);
    return c;
}

static gint span_cmp(gconstpointer a, gconstpointer b)
{
    const Span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Sorts and merges overlapping or adjacent spans. */
static void set_normalize(Set *s)
{
    if (s->len < 2)
        return;
    g_array_sort(s, span_cmp);
    guint w = 0;
    for (guint r = 1; r < s->len; r++) {
        Span *cur = &g_array_index(s, Span, w), *nx = &g_array_index(s, Span, r);
        if (nx->lo <= cur->hi + 1) {
            if (nx->hi > cur->hi)
                cur->hi = nx->hi;
        } else {
            g_array_index(s, Span, ++w) = *nx;
        }
    }
    g_array_set_size(s, w + 1);
}

static void set_add(Set *s, uint64_t lo, uint64_t hi)
{
    Span sp = {lo, hi};
    g_array_append_val(s, sp);
}

static Set *set_intersect(const Set *a, const Set *b)
{
    Set *out = set_new();
    guint i = 0, j = 0;
    while (i < a->len && j < b->len) {
        const Span *x = &g_array_index(a, Span, i), *y = &g_array_index(b, Span, j);
        uint64_t lo = MAX(x->lo, y->lo), hi = MIN(x->hi, y->hi);
        if (lo <= hi)
            set_add(out, lo, hi);
        if (x->hi < y->hi)
            i++;
        else
            j++;
    }
    return out;
}

static Set *set_minus(const Set *a, const Set *b)
{
    Set *out = set_new();
    guint j = 0;
    for (guint i = 0; i < a->len; i++) {
        Span x = g_array_index(a, Span, i);
        while (j < b->len && g_array_index(b, Span, j).hi < x.lo)
            j++;
        uint64_t lo = x.lo;
        bool done = false;
        for (guint k = j; k < b->len && !done; k++) {
            const Span *y = &g_array_index(b, Span, k);
            if (y->lo > x.hi)
                break;
            if (y->lo > lo)
                set_add(out, lo, y->lo - 1);
            if (y->hi >= x.hi)
                done = true;
            else
                lo = y->hi + 1;
        }
        if (!done)
            set_add(out, lo, x.hi);
    }
    return out;
}

static void product_clear(Product *p)
{
    for (int i = 0; i < DIMS; i++)
        if (p->d[i])
            g_array_free(p->d[i], TRUE);
}

static void product_free(gpointer p)
{
    if (!p)
        return;
    product_clear(p);
    g_free(p);
}

static bool product_empty(const Product *p)
{
    for (int i = 0; i < DIMS; i++)
        if (p->d[i]->len == 0)
            return true;
    return false;
}

/* ---- a rule's products ---- */

typedef struct {
    const ModelNet *net;
    const ModelVnet *vnet;
} Ctx;

static void add_prefixes(Set *s, const ModelPrefix *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = items[i].addr;
        uint64_t size = (uint64_t)1 << (32 - items[i].len);
        set_add(s, lo, lo + size - 1);
    }
}

/* One side's addresses, resolved as net.c's resolve_nsg_item does. */
static Set *side_addresses(const Ctx *c, const ModelNsgRule *r, ModelNsgSide side)
{
    Set *s = set_new();
    for (size_t i = 0; i < r->n_addrs[side]; i++) {
        const ModelNsgAddr *a = &r->addrs[side][i];
        if (a->kind == MODEL_NSG_ADDR_PREFIX) {
            add_prefixes(s, &a->prefix, 1);
        } else if (a->kind == MODEL_NSG_ADDR_ASG) {
            GArray *m = g_hash_table_lookup(c->net->asg_members, a->text);
            for (guint k = 0; m && k < m->len; k++) {
                uint32_t ip = g_array_index(m, uint32_t, k);
                set_add(s, ip, ip);
            }
        } else if (g_ascii_strcasecmp(a->text, "VirtualNetwork") == 0) {
            if (c->vnet)
                add_prefixes(s, c->vnet->tag_virtual_network.items,
                             c->vnet->tag_virtual_network.len);
        } else if (g_ascii_strcasecmp(a->text, "Internet") == 0) {
            if (c->vnet)
                add_prefixes(s, c->vnet->tag_internet.items, c->vnet->tag_internet.len);
        } else {
            const ModelPrefixSet *t = model_service_tags_lookup(c->net->tags, a->text);
            if (t)
                add_prefixes(s, t->items, t->len);
        }
    }
    set_normalize(s);
    return s;
}

static Set *side_ports(const ModelNsgRule *r, ModelNsgSide side)
{
    Set *s = set_new();
    for (size_t i = 0; i < r->n_ports[side]; i++)
        set_add(s, r->ports[side][i].lo, r->ports[side][i].hi);
    set_normalize(s);
    return s;
}

static bool full_ports(const Set *s)
{
    return s->len == 1 && g_array_index(s, Span, 0).lo == 0 &&
           g_array_index(s, Span, 0).hi == 65535;
}

/* Appends the rule's products (ported, port-less) to `out` (a GPtrArray of Product *). */
static void rule_products(const Ctx *c, const ModelNsgRule *r, GPtrArray *out)
{
    bool proto[5] = {false};
    switch (r->protocol) {
    case MODEL_NSG_PROTO_ANY:
        proto[P_TCP] = proto[P_UDP] = proto[P_ICMP] = true;
        break;
    case MODEL_NSG_PROTO_TCP:
        proto[P_TCP] = true;
        break;
    case MODEL_NSG_PROTO_UDP:
        proto[P_UDP] = true;
        break;
    case MODEL_NSG_PROTO_ICMP:
        proto[P_ICMP] = true;
        break;
    case MODEL_NSG_PROTO_ESP:
        proto[P_ESP] = true;
        break;
    case MODEL_NSG_PROTO_AH:
        proto[P_AH] = true;
        break;
    }
    Set *src = side_addresses(c, r, MODEL_NSG_SRC), *dst = side_addresses(c, r, MODEL_NSG_DST);
    Set *sp = side_ports(r, MODEL_NSG_SRC), *dp = side_ports(r, MODEL_NSG_DST);
    bool portless_ok = full_ports(sp) && full_ports(dp);
    for (int kind = 0; kind < 2; kind++) {
        Set *pr = set_new();
        for (int p = kind == 0 ? P_TCP : P_ICMP; p <= (kind == 0 ? P_UDP : P_AH); p++)
            if (proto[p])
                set_add(pr, (uint64_t)p, (uint64_t)p);
        set_normalize(pr);
        if (pr->len == 0 || (kind == 1 && !portless_ok)) {
            g_array_free(pr, TRUE);
            continue;
        }
        Product *prod = g_new0(Product, 1);
        prod->d[D_PROTO] = pr;
        prod->d[D_SRC] = set_copy(src);
        prod->d[D_DST] = set_copy(dst);
        if (kind == 0) {
            prod->d[D_SPORT] = set_copy(sp);
            prod->d[D_DPORT] = set_copy(dp);
        } else {
            prod->d[D_SPORT] = set_new();
            set_add(prod->d[D_SPORT], 0, 0);
            prod->d[D_DPORT] = set_new();
            set_add(prod->d[D_DPORT], 0, 0);
        }
        if (product_empty(prod))
            product_free(prod);
        else
            g_ptr_array_add(out, prod);
    }
    g_array_free(src, TRUE);
    g_array_free(dst, TRUE);
    g_array_free(sp, TRUE);
    g_array_free(dp, TRUE);
}

/* Subtracts product a from every piece of `rest` (replaced in place). Returns true when a
 * met some piece, i.e. when a decides part of what is left. */
static bool subtract(GPtrArray *rest, const Product *a)
{
    bool met = false;
    GPtrArray *out = g_ptr_array_new_with_free_func(product_free);
    for (guint k = 0; k < rest->len; k++) {
        Product *x = rest->pdata[k];
        Set *inter[DIMS] = {NULL};
        bool disjoint = false;
        for (int i = 0; i < DIMS && !disjoint; i++) {
            inter[i] = set_intersect(x->d[i], a->d[i]);
            disjoint = inter[i]->len == 0;
        }
        if (disjoint) {
            for (int i = 0; i < DIMS; i++)
                if (inter[i])
                    g_array_free(inter[i], TRUE);
            rest->pdata[k] = NULL;
            g_ptr_array_add(out, x);
            continue;
        }
        met = true;
        for (int i = 0; i < DIMS; i++) {
            Set *diff = set_minus(x->d[i], a->d[i]);
            if (diff->len == 0) {
                g_array_free(diff, TRUE);
                continue;
            }
            Product *piece = g_new0(Product, 1);
            for (int j = 0; j < DIMS; j++)
                piece->d[j] = j < i ? set_copy(inter[j]) : j == i ? diff : set_copy(x->d[j]);
            g_ptr_array_add(out, piece);
        }
        for (int i = 0; i < DIMS; i++)
            g_array_free(inter[i], TRUE);
    }
    /* Move the survivors back; the consumed pieces are freed with `rest`'s free func. */
    g_ptr_array_set_size(rest, 0);
    for (guint k = 0; k < out->len; k++) {
        g_ptr_array_add(rest, out->pdata[k]);
        out->pdata[k] = NULL;
    }
    g_ptr_array_free(out, TRUE);
    return met;
}

void model_nsg_shadow(const ModelNet *net, const ModelVnet *vnet, const ModelNsg *nsg,
                      ModelDirection dir, size_t i, ModelNsgShadow *out)
{
    size_t n = 0;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, dir, &n);
    out->covered = false;
    out->gave_up = false;
    out->blockers = g_ptr_array_new();
    g_return_if_fail(i < n);
    Ctx c = {net, vnet};
    GPtrArray *rest = g_ptr_array_new_with_free_func(product_free);
    rule_products(&c, rules[i], rest);
    if (rest->len == 0) { /* matches nothing at all (e.g. an ASG with no member) */
        g_ptr_array_free(rest, TRUE);
        return;
    }
    for (size_t h = 0; h < i && rest->len; h++) {
        GPtrArray *hp = g_ptr_array_new_with_free_func(product_free);
        rule_products(&c, rules[h], hp);
        bool met = false;
        for (guint k = 0; k < hp->len && rest->len; k++)
            met = subtract(rest, hp->pdata[k]) || met;
        g_ptr_array_free(hp, TRUE);
        if (met)
            g_ptr_array_add(out->blockers, (gpointer)rules[h]);
        if (rest->len > PIECE_BUDGET) {
            out->gave_up = true;
            break;
        }
    }
    out->covered = !out->gave_up && rest->len == 0;
    g_ptr_array_free(rest, TRUE);
}

void model_nsg_shadow_clear(ModelNsgShadow *s)
{
    if (s->blockers)
        g_ptr_array_free(s->blockers, TRUE);
    s->blockers = NULL;
}
