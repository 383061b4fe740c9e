/*
 * nsg_classifier.c — compiles the rules of one NSG direction into a packet classifier.
 *
 * Design note (the classic bit-vector scheme of Lakshman & Stiliadis, SIGCOMM 1998, with
 * the "aggregated bit vector" summary of Baboescu & Varghese, SIGCOMM 2001, and equivalence
 * classes as in RFC, Gupta & McKeown 1999):
 *
 *   - Five dimensions: source address, destination address, source port, destination port,
 *     IP protocol. Every rule is a union of disjoint ranges on each.
 *   - On each dimension the rule boundaries cut the key space into elementary intervals;
 *     each interval carries the set of rules (bit i = i-th rule by priority) that contain
 *     it. Neighbouring intervals with equal sets are merged, and equal sets are stored once
 *     (an equivalence class), which keeps a service tag's 50 prefixes at the cost of one set.
 *   - A lookup per dimension is O(1): a multibit trie over the interval starts whose
 *     strides adapt to where boundaries cluster (see build_node) leads in two or three
 *     loads to at most four candidate intervals.
 *   - Classification ANDs the five class sets. Each set has a summary word whose bit j
 *     says "word j is non-zero" (copied into every interval of the class, so it arrives with
 *     the lookup); ANDing the five summaries gives the only words that can hold a common
 *     rule, and the first non-zero AND among them holds the winner (lowest set bit = highest
 *     priority). With at most 1003 rules a set is 16 words, so the summary fits one word and
 *     a classification reads one interval and about one set word per dimension however many
 *     rules there are.
 *
 * Why not a decision tree (HiCuts) or cross-producting: both trade memory that grows
 * super-linearly with rules for lookup speed, and NSG sets are small enough that 16-word
 * sets already give a near-flat lookup. Compile time matters too: the simulator compiles
 * each NSG once per scenario, and this is O(P log P) in the resolved ranges.
 *
 * Azure semantics applied here
 * (azdocs:articles/virtual-network/network-security-groups-overview.md):
 *   - protocol "*" (Any) "encompasses TCP, UDP, and ICMP": it is compiled as {1, 6, 17};
 *   - flows of protocols without ports (all but TCP and UDP) get the port key NO_PORT, which
 *     only a "*" (0-65535) port field contains; see model_nsg_table_classify in nsg.h.
 */
#include <stdlib.h>
#include <string.h>

#include "model/nsg.h"

enum { D_SRC, D_DST, D_SPORT, D_DPORT, D_PROTO, N_DIMS };

#define NO_PORT 65536u /* port key of a flow whose protocol has no ports */

static const unsigned key_bits[N_DIMS] = {32, 32, 17, 17, 8};
static const uint64_t key_max[N_DIMS] = {UINT32_MAX, UINT32_MAX, NO_PORT, NO_PORT, 255};

typedef struct {
    uint32_t lo, hi; /* inclusive */
} Range;

typedef struct {
    const ModelNsgRule *rule;
    Range *r[N_DIMS]; /* sorted, disjoint, non-adjacent */
    uint32_t n[N_DIMS];
} CRule;

typedef struct {
    uint32_t start, cls;
    uint64_t summary; /* the class's summary word, kept here to save a dependent load */
} Interval;

typedef struct {
    Interval *iv; /* iv[0].start == 0; interval i ends where i+1 starts */
    uint32_t n_iv;
    uint32_t *nodes; /* the index: nodes, root at 0; see build_node */
    size_t n_nodes_words;
    uint64_t *bits; /* n_cls sets of `stride` words: summary, then the words */
    uint32_t n_cls;
} Dim;

struct ModelNsgTable {
    ModelDirection dir;
    uint32_t n_rules;
    unsigned words;  /* ceil(n_rules / 64), at most 64 so the summary is one word */
    unsigned stride; /* words + 1 */
    CRule *rules;    /* by priority */
    Dim dim[N_DIMS];
    size_t memory;
};

static inline unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* ---- per-rule ranges ---- */

static int range_cmp(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent ranges, then moves them into a new array. */
static Range *normalize(GArray *ranges, uint32_t *n_out)
{
    Range *r = (Range *)(void *)ranges->data;
    uint32_t n = ranges->len, m = 0;
    if (n > 1)
        qsort(r, n, sizeof(Range), range_cmp);
    for (uint32_t i = 0; i < n; i++) {
        if (m > 0 && (uint64_t)r[i].lo <= (uint64_t)r[m - 1].hi + 1) {
            if (r[i].hi > r[m - 1].hi)
                r[m - 1].hi = r[i].hi;
        } else {
            r[m++] = r[i];
        }
    }
    *n_out = m;
    return g_memdup2(r, (gsize)m * sizeof(Range));
}

static Range prefix_range(ModelPrefix p)
{
    uint32_t mask = model_prefix_mask(p.len);
    return (Range){p.addr & mask, (p.addr & mask) | ~mask};
}

typedef struct {
    Range *r;
    size_t n;
} Resolved;

static void resolved_free(gpointer p)
{
    Resolved *res = p;
    g_free(res->r);
    g_free(res);
}

typedef struct {
    ModelNsgResolver resolve;
    void *ctx;
    GHashTable *cache; /* "kind:text" -> Resolved */
} ResolveState;

/* Resolves a tag or ASG once per compile; many rules name the same VirtualNetwork. */
static const Resolved *resolve_item(ResolveState *st, const ModelNsgRule *rule,
                                    const ModelNsgAddr *item, GError **error)
{
    char *key = g_strdup_printf("%d:%s", (int)item->kind, item->text);
    Resolved *res = g_hash_table_lookup(st->cache, key);
    if (res != NULL) {
        g_free(key);
        return res;
    }
    ModelPrefix *prefixes = NULL;
    size_t n = 0;
    GError *local = NULL;
    if (st->resolve == NULL || !st->resolve(st->ctx, item, &prefixes, &n, &local)) {
        g_free(prefixes);
        g_free(key);
        if (local == NULL)
            local = g_error_new(MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "cannot resolve %s \"%s\"",
                                item->kind == MODEL_NSG_ADDR_ASG ? "application security group"
                                                                 : "service tag",
                                item->text);
        if (rule->line > 0)
            g_propagate_prefixed_error(error, local, "rule '%s' (line %d): ", rule->name,
                                       rule->line);
        else
            g_propagate_prefixed_error(error, local, "rule '%s': ", rule->name);
        return NULL;
    }
    res = g_new0(Resolved, 1);
    res->r = g_new(Range, n ? n : 1);
    res->n = n;
    for (size_t i = 0; i < n; i++)
        res->r[i] = prefix_range(prefixes[i]);
    g_free(prefixes);
    g_hash_table_insert(st->cache, key, res);
    return res;
}

static bool rule_addr_ranges(ResolveState *st, const ModelNsgRule *rule, ModelNsgSide side,
                             CRule *out, int dim, GError **error)
{
    GArray *acc = g_array_new(FALSE, FALSE, sizeof(Range));
    for (size_t i = 0; i < rule->n_addrs[side]; i++) {
        const ModelNsgAddr *a = &rule->addrs[side][i];
        if (a->kind == MODEL_NSG_ADDR_PREFIX) {
            Range r = prefix_range(a->prefix);
            g_array_append_val(acc, r);
            continue;
        }
        const Resolved *res = resolve_item(st, rule, a, error);
        if (res == NULL) {
            g_array_free(acc, TRUE);
            return false;
        }
        g_array_append_vals(acc, res->r, (guint)res->n);
    }
    out->r[dim] = normalize(acc, &out->n[dim]);
    g_array_free(acc, TRUE);
    return true;
}

static void rule_port_ranges(const ModelNsgRule *rule, ModelNsgSide side, CRule *out, int dim)
{
    GArray *acc = g_array_new(FALSE, FALSE, sizeof(Range));
    for (size_t i = 0; i < rule->n_ports[side]; i++) {
        Range r = {rule->ports[side][i].lo, rule->ports[side][i].hi};
        g_array_append_val(acc, r);
    }
    out->r[dim] = normalize(acc, &out->n[dim]);
    g_array_free(acc, TRUE);
    /* A field covering every port is "*": it also admits flows that have no ports. */
    if (out->n[dim] == 1 && out->r[dim][0].lo == 0 && out->r[dim][0].hi == 65535)
        out->r[dim][0].hi = NO_PORT;
}

/* IP protocol numbers per ModelNsgProtocol, 0-terminated. Any = {ICMP, TCP, UDP}: "Any
 * encompasses TCP, UDP, and ICMP" (overview, default rules). */
static const uint8_t proto_numbers[][4] = {
    [MODEL_NSG_PROTO_ANY] = {MODEL_IPPROTO_ICMP, MODEL_IPPROTO_TCP, MODEL_IPPROTO_UDP},
    [MODEL_NSG_PROTO_TCP] = {MODEL_IPPROTO_TCP},
    [MODEL_NSG_PROTO_UDP] = {MODEL_IPPROTO_UDP},
    [MODEL_NSG_PROTO_ICMP] = {MODEL_IPPROTO_ICMP},
    [MODEL_NSG_PROTO_ESP] = {MODEL_IPPROTO_ESP},
    [MODEL_NSG_PROTO_AH] = {MODEL_IPPROTO_AH},
};

static void rule_proto_ranges(const ModelNsgRule *rule, CRule *out)
{
    g_assert((size_t)rule->protocol < G_N_ELEMENTS(proto_numbers));
    const uint8_t *list = proto_numbers[rule->protocol];
    out->r[D_PROTO] = g_new(Range, 3);
    out->n[D_PROTO] = 0;
    for (uint32_t i = 0; i < 3 && list[i] != 0; i++)
        out->r[D_PROTO][out->n[D_PROTO]++] = (Range){list[i], list[i]};
}

/* ---- one dimension ---- */

typedef struct {
    uint64_t pos;
    uint32_t rule;
} Event;

static int event_cmp(const void *a, const void *b)
{
    const Event *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Hash-table keys for interning sets: key[0] is the word count, then the words. */
static guint words_hash(gconstpointer p)
{
    const uint64_t *k = p;
    uint64_t h = k[0];
    for (uint64_t i = 1; i <= k[0]; i++)
        h = (h ^ k[i]) * 0x9e3779b97f4a7c15u;
    return (guint)(h ^ (h >> 32));
}

static gboolean words_equal(gconstpointer a, gconstpointer b)
{
    const uint64_t *x = a, *y = b;
    return x[0] == y[0] && memcmp(x + 1, y + 1, x[0] * sizeof(uint64_t)) == 0;
}

typedef struct {
    unsigned words;
    GHashTable *ids; /* key words -> class id + 1 */
    GArray *bits;    /* uint64_t, `words + 1` per class */
    uint64_t *key;   /* scratch: [words, set...] */
} Interner;

static uint32_t intern(Interner *in)
{
    gpointer v = g_hash_table_lookup(in->ids, in->key);
    if (v != NULL)
        return GPOINTER_TO_UINT(v) - 1;
    uint32_t id = in->bits->len / (in->words + 1);
    uint64_t summary = 0;
    for (unsigned j = 0; j < in->words; j++)
        if (in->key[1 + j])
            summary |= (uint64_t)1 << j;
    g_array_append_val(in->bits, summary);
    g_array_append_vals(in->bits, in->key + 1, in->words);
    g_hash_table_insert(in->ids, g_memdup2(in->key, (in->words + 1) * sizeof(uint64_t)),
                        GUINT_TO_POINTER(id + 1));
    return id;
}

/*
 * The index over a dimension's intervals is a multibit trie whose strides adapt to where the
 * boundaries are: a node splits its key range into 2^ib buckets; a bucket that overlaps at
 * most MAX_SPAN + 1 intervals is a leaf holding the first of them (24 bits) and how many more
 * follow (7 bits), and a crowded bucket (a VNet's many /32s in one /16) gets a child node.
 * So a lookup is two or three dependent loads and a scan of at most four interval starts,
 * whatever the number of rules and however the prefixes cluster.
 *
 * Node layout in `nodes`: header (shift | ib << 8), then 2^ib entries. Entry: NODE_FLAG |
 * offset of a child node, or (first interval) | (extra intervals << 24).
 */
#define NODE_FLAG    0x80000000u
#define MAX_SPAN     3
#define ROOT_MAX_IB  16
#define CHILD_MAX_IB 8

static unsigned bits_for(uint64_t n)
{
    unsigned b = 0;
    while (((uint64_t)1 << b) < n)
        b++;
    return b;
}

/* Builds the node for keys [base, base + 2^bits), whose intervals are lo..hi (lo holds
 * `base`). Returns the node's offset. */
static uint32_t build_node(const Dim *d, GArray *nodes, uint64_t base, unsigned bits, uint32_t lo,
                           uint32_t hi, bool root)
{
    unsigned ib = bits_for((uint64_t)(hi - lo) + 1) + 1;
    unsigned max_ib = root ? ROOT_MAX_IB : CHILD_MAX_IB;
    if (root && bits <= 8)
        ib = bits; /* protocol: a direct table of 256 entries */
    if (ib > max_ib)
        ib = max_ib;
    if (ib > bits)
        ib = bits;
    unsigned shift = bits - ib;
    uint32_t off = nodes->len;
    g_assert(off < NODE_FLAG);
    uint32_t header = shift | ib << 8;
    g_array_append_val(nodes, header);
    g_array_set_size(nodes, nodes->len + ((guint)1 << ib));
    uint32_t i = lo;
    for (uint64_t c = 0; c < ((uint64_t)1 << ib); c++) {
        uint64_t cbase = base + (c << shift), cend = cbase + ((uint64_t)1 << shift) - 1;
        while (i < hi && d->iv[i + 1].start <= cbase)
            i++;
        uint32_t j = i;
        while (j < hi && d->iv[j + 1].start <= cend)
            j++;
        uint32_t entry;
        if (j - i <= MAX_SPAN)
            entry = i | (j - i) << 24;
        else
            entry = NODE_FLAG | build_node(d, nodes, cbase, shift, i, j, false);
        g_array_index(nodes, uint32_t, off + 1 + c) = entry;
    }
    return off;
}

static void build_index(Dim *d, int dim)
{
    /* Leaves address intervals with 24 bits: 16M intervals, far above the 8M that 1003
     * rules of 4000 items each could make. */
    g_assert(d->n_iv < (1u << 24));
    GArray *nodes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    build_node(d, nodes, 0, key_bits[dim], 0, d->n_iv - 1, true);
    d->n_nodes_words = nodes->len;
    d->nodes = (uint32_t *)(void *)g_array_free(nodes, FALSE);
}

static void build_dim(ModelNsgTable *t, int dim)
{
    GArray *ev = g_array_new(FALSE, FALSE, sizeof(Event));
    for (uint32_t i = 0; i < t->n_rules; i++) {
        const CRule *cr = &t->rules[i];
        for (uint32_t k = 0; k < cr->n[dim]; k++) {
            Event a = {cr->r[dim][k].lo, i};
            g_array_append_val(ev, a);
            /* A rule's ranges are disjoint and non-adjacent, so toggling its bit at each
             * range's first key and one past its last key rebuilds its membership. */
            if ((uint64_t)cr->r[dim][k].hi < key_max[dim]) {
                Event b = {(uint64_t)cr->r[dim][k].hi + 1, i};
                g_array_append_val(ev, b);
            }
        }
    }
    if (ev->len > 1)
        qsort(ev->data, ev->len, sizeof(Event), event_cmp);
    const Event *e = (const Event *)(void *)ev->data;

    Interner in = {t->words, g_hash_table_new_full(words_hash, words_equal, g_free, NULL),
                   g_array_new(FALSE, FALSE, sizeof(uint64_t)), g_new0(uint64_t, t->words + 1)};
    in.key[0] = t->words;
    GArray *iv = g_array_new(FALSE, FALSE, sizeof(Interval));
    uint64_t pos = 0;
    guint k = 0;
    for (;;) {
        while (k < ev->len && e[k].pos == pos) {
            in.key[1 + (e[k].rule >> 6)] ^= (uint64_t)1 << (e[k].rule & 63);
            k++;
        }
        uint32_t cls = intern(&in);
        Interval *last = iv->len ? &g_array_index(iv, Interval, iv->len - 1) : NULL;
        if (last == NULL || last->cls != cls) {
            Interval x = {(uint32_t)pos, cls,
                          g_array_index(in.bits, uint64_t, (size_t)cls * t->stride)};
            g_array_append_val(iv, x);
        }
        if (k == ev->len)
            break;
        pos = e[k].pos;
    }
    Dim *d = &t->dim[dim];
    d->n_iv = iv->len;
    d->iv = (Interval *)(void *)g_array_free(iv, FALSE);
    d->n_cls = in.bits->len / t->stride;
    d->bits = (uint64_t *)(void *)g_array_free(in.bits, FALSE);
    build_index(d, dim);
    t->memory += d->n_iv * sizeof(Interval) + d->n_nodes_words * sizeof(uint32_t) +
                 (size_t)d->n_cls * t->stride * sizeof(uint64_t);
    g_hash_table_destroy(in.ids);
    g_free(in.key);
    g_array_free(ev, TRUE);
}

/* ---- public ---- */

ModelNsgTable *model_nsg_compile(const ModelNsg *nsg, ModelDirection dir, ModelNsgResolver resolve,
                                 void *ctx, GError **error)
{
    size_t n;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, dir, &n);
    /* model_nsg_add_rule caps an NSG at 1000 user rules (+3 defaults per direction); the
     * one-word summary needs at most 64 words of 64 rules. */
    g_assert(n > 0 && n <= (size_t)64 * 64);
    ModelNsgTable *t = g_new0(ModelNsgTable, 1);
    t->dir = dir;
    t->n_rules = (uint32_t)n;
    t->words = (unsigned)((n + 63) / 64);
    t->stride = t->words + 1;
    t->rules = g_new0(CRule, n);
    ResolveState st = {resolve, ctx,
                       g_hash_table_new_full(g_str_hash, g_str_equal, g_free, resolved_free)};
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        CRule *cr = &t->rules[i];
        cr->rule = rules[i];
        ok = rule_addr_ranges(&st, rules[i], MODEL_NSG_SRC, cr, D_SRC, error) &&
             rule_addr_ranges(&st, rules[i], MODEL_NSG_DST, cr, D_DST, error);
        if (ok) {
            rule_port_ranges(rules[i], MODEL_NSG_SRC, cr, D_SPORT);
            rule_port_ranges(rules[i], MODEL_NSG_DST, cr, D_DPORT);
            rule_proto_ranges(rules[i], cr);
        }
    }
    g_hash_table_destroy(st.cache);
    if (!ok) {
        model_nsg_table_free(t);
        return NULL;
    }
    for (int d = 0; d < N_DIMS; d++)
        build_dim(t, d);
    return t;
}

static inline void flow_keys(const ModelFlowKey *f, uint32_t k[N_DIMS])
{
    bool ported = f->proto == MODEL_IPPROTO_TCP || f->proto == MODEL_IPPROTO_UDP;
    k[D_SRC] = f->src;
    k[D_DST] = f->dst;
    k[D_SPORT] = ported ? f->sport : NO_PORT;
    k[D_DPORT] = ported ? f->dport : NO_PORT;
    k[D_PROTO] = f->proto;
}

static inline const Interval *dim_interval(const Dim *d, uint32_t key)
{
    const uint32_t *node = d->nodes;
    uint32_t e;
    for (;;) {
        e = node[1 + ((key >> (node[0] & 0xff)) & ((1u << (node[0] >> 8)) - 1))];
        if (!(e & NODE_FLAG))
            break;
        node = d->nodes + (e & ~NODE_FLAG);
    }
    /* Starts are sorted: the interval holding `key` is the first plus the number of the
     * following (at most MAX_SPAN) that start at or before it. Branch-free on purpose. */
    uint32_t first = e & 0xffffffu, span = e >> 24, at = first;
    for (uint32_t k = 1; k <= span; k++)
        at += d->iv[first + k].start <= key;
    return &d->iv[at];
}

const ModelNsgRule *model_nsg_table_classify(const ModelNsgTable *t, const ModelFlowKey *key)
{
    uint32_t k[N_DIMS];
    flow_keys(key, k);
    const Interval *i0 = dim_interval(&t->dim[D_SRC], k[D_SRC]);
    const Interval *i1 = dim_interval(&t->dim[D_DST], k[D_DST]);
    const Interval *i2 = dim_interval(&t->dim[D_SPORT], k[D_SPORT]);
    const Interval *i3 = dim_interval(&t->dim[D_DPORT], k[D_DPORT]);
    const Interval *i4 = dim_interval(&t->dim[D_PROTO], k[D_PROTO]);
    uint64_t cand = i0->summary & i1->summary & i2->summary & i3->summary & i4->summary;
    if (cand == 0)
        return NULL;
    size_t stride = t->stride;
    const uint64_t *s0 = t->dim[D_SRC].bits + i0->cls * stride;
    const uint64_t *s1 = t->dim[D_DST].bits + i1->cls * stride;
    const uint64_t *s2 = t->dim[D_SPORT].bits + i2->cls * stride;
    const uint64_t *s3 = t->dim[D_DPORT].bits + i3->cls * stride;
    const uint64_t *s4 = t->dim[D_PROTO].bits + i4->cls * stride;
    while (cand) {
        unsigned j = ctz64(cand) + 1;
        uint64_t w = s0[j] & s1[j] & s2[j] & s3[j] & s4[j];
        if (w)
            return t->rules[(j - 1) * 64 + ctz64(w)].rule;
        cand &= cand - 1;
    }
    return NULL;
}

static inline bool ranges_contain(const Range *r, uint32_t n, uint32_t key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r[mid].hi < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo].lo <= key;
}

const ModelNsgRule *model_nsg_table_classify_linear(const ModelNsgTable *t, const ModelFlowKey *key)
{
    uint32_t k[N_DIMS];
    flow_keys(key, k);
    for (uint32_t i = 0; i < t->n_rules; i++) {
        const CRule *cr = &t->rules[i];
        /* Cheapest, most selective tests first: protocol and ports, then addresses. */
        if (ranges_contain(cr->r[D_PROTO], cr->n[D_PROTO], k[D_PROTO]) &&
            ranges_contain(cr->r[D_DPORT], cr->n[D_DPORT], k[D_DPORT]) &&
            ranges_contain(cr->r[D_SPORT], cr->n[D_SPORT], k[D_SPORT]) &&
            ranges_contain(cr->r[D_DST], cr->n[D_DST], k[D_DST]) &&
            ranges_contain(cr->r[D_SRC], cr->n[D_SRC], k[D_SRC]))
            return cr->rule;
    }
    return NULL;
}

size_t model_nsg_table_n_rules(const ModelNsgTable *t)
{
    return t->n_rules;
}

size_t model_nsg_table_memory(const ModelNsgTable *t)
{
    return t->memory;
}

void model_nsg_table_free(ModelNsgTable *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->n_rules; i++)
        for (int d = 0; d < N_DIMS; d++)
            g_free(t->rules[i].r[d]);
    g_free(t->rules);
    for (int d = 0; d < N_DIMS; d++) {
        g_free(t->dim[d].iv);
        g_free(t->dim[d].nodes);
        g_free(t->dim[d].bits);
    }
    g_free(t);
}
