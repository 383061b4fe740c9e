/*
 * lpm.c — the path-compressed binary trie behind model/lpm.h (design note there).
 *
 * Invariants (tests/test_lpm.c checks the observable consequences against a linear scan):
 *   - a node's addr has no bits set beyond its len;
 *   - child[b] of node n holds a strictly longer prefix inside n whose bit n.len is b;
 *   - a node without a value has exactly two children (it exists only to branch);
 *   - slots[b] is what refresh_slot(b) would compute now (insert refreshes every block the
 *     node it wrote spans).
 */
#include "model/lpm.h"

typedef struct LpmNode LpmNode;
struct LpmNode {
    uint32_t addr;
    uint8_t len;
    bool has_value;
    void *value;
    LpmNode *child[2];
};

/* The root jump table: for each /8 block, where a lookup for an address in it resumes
 * (start) and the longest valued prefix shorter than /8 covering the whole block (best).
 * It saves the top levels of every walk; see refresh_slot for the exact definition. */
#define LPM_SLOT_BITS 8
#define LPM_SLOTS     (1u << LPM_SLOT_BITS)

typedef struct {
    const LpmNode *start;
    const LpmNode *best;
} LpmSlot;

struct ModelLpm {
    LpmNode *root;
    size_t size;
    LpmSlot slots[LPM_SLOTS];
};

/* Deepest trie: one node per length 0..32. The walks keep explicit stacks of this size
 * instead of recursing. */
#define LPM_MAX_DEPTH 33

/* The bit of addr just past a prefix of length len (len < 32): which child to follow. */
static inline unsigned branch_bit(uint32_t addr, uint8_t len)
{
    return (addr >> (31 - len)) & 1u;
}

/* branch_bit that is also defined for len == 32 (where it yields 0): the child to follow
 * from a node of length len. A /32 node has no children, so following it ends a walk. */
static inline unsigned child_index(uint32_t addr, uint8_t len)
{
    return (unsigned)(((uint64_t)addr << len) >> 31) & 1u;
}

static inline bool node_contains(const LpmNode *n, uint32_t ip)
{
    return ((ip ^ n->addr) & model_prefix_mask(n->len)) == 0;
}

/* True when node n's prefix covers p (n.len <= p.len and p inside n). */
static inline bool node_covers(const LpmNode *n, ModelPrefix p)
{
    return n->len <= p.len && node_contains(n, p.addr);
}

static inline ModelPrefix node_prefix(const LpmNode *n)
{
    return (ModelPrefix){.addr = n->addr, .len = n->len};
}

static LpmNode *node_new(uint32_t addr, uint8_t len, bool has_value, void *value)
{
    LpmNode *n = g_new0(LpmNode, 1);
    n->addr = addr;
    n->len = len;
    n->has_value = has_value;
    n->value = value;
    return n;
}

static bool prefix_valid(ModelPrefix p)
{
    return p.len <= 32 && (p.addr & ~model_prefix_mask(p.len)) == 0;
}

/* Recomputes slot b as the walk from the root would meet block b (b << 24, /8): best is
 * the deepest valued node shorter than /8 that covers the whole block, start the first
 * node after those — a node of exactly /8 covering the block, a node inside it, a node
 * that diverges from it (the lookup's containment test then stops at once), or NULL.
 * Every node skipped covers all of block b, so a lookup resuming at start with best
 * preset visits exactly the nodes a walk from the root would. O(8). */
static void refresh_slot(ModelLpm *lpm, uint32_t b)
{
    uint32_t block = b << (32 - LPM_SLOT_BITS);
    const LpmNode *best = NULL;
    const LpmNode *n = lpm->root;
    while (n && n->len < LPM_SLOT_BITS && node_contains(n, block)) {
        if (n->has_value)
            best = n;
        n = n->child[branch_bit(block, n->len)];
    }
    lpm->slots[b].start = n;
    lpm->slots[b].best = best;
}

/* After the trie changed at the node holding prefix p: the slots whose walks pass there
 * are the /8 blocks overlapping p. At most 256 slots (p = /0), usually one. */
static void refresh_slots(ModelLpm *lpm, ModelPrefix p)
{
    uint32_t first = p.addr >> (32 - LPM_SLOT_BITS);
    uint32_t count = p.len < LPM_SLOT_BITS ? 1u << (LPM_SLOT_BITS - p.len) : 1u;
    for (uint32_t b = first; b < first + count; b++)
        refresh_slot(lpm, b);
}

ModelLpm *model_lpm_new(void)
{
    return g_new0(ModelLpm, 1);
}

void model_lpm_free(ModelLpm *lpm, GDestroyNotify free_value)
{
    if (!lpm)
        return;
    /* Pre-order walk with an explicit stack; a node is freed once its children are pushed.
     * The stack holds at most one pending right child per level plus the current node. */
    LpmNode *stack[LPM_MAX_DEPTH + 2];
    size_t top = 0;
    if (lpm->root)
        stack[top++] = lpm->root;
    while (top > 0) {
        LpmNode *n = stack[--top];
        if (n->child[1])
            stack[top++] = n->child[1];
        if (n->child[0])
            stack[top++] = n->child[0];
        if (n->has_value && free_value)
            free_value(n->value);
        g_free(n);
    }
    g_free(lpm);
}

/* The insertion proper; returns the replaced value and sets *changed to the prefix of the
 * node whose link or value it wrote, for refresh_slots. */
static void *insert_node(ModelLpm *lpm, ModelPrefix p, void *value, ModelPrefix *changed)
{
    *changed = p;
    LpmNode **link = &lpm->root;
    while (*link) {
        LpmNode *n = *link;
        if (node_covers(n, p)) {
            if (n->len == p.len) {
                /* Exact prefix: replace, or give a branching node its first value. */
                void *old = n->has_value ? n->value : NULL;
                if (!n->has_value)
                    lpm->size++;
                n->has_value = true;
                n->value = value;
                return old;
            }
            link = &n->child[branch_bit(p.addr, n->len)];
            continue;
        }
        LpmNode *fresh = node_new(p.addr, p.len, true, value);
        lpm->size++;
        if (p.len < n->len && model_prefix_contains(p, n->addr)) {
            /* p covers n: p becomes n's parent. */
            fresh->child[branch_bit(n->addr, p.len)] = n;
            *link = fresh;
            return NULL;
        }
        /* Neither covers the other: they diverge at the first differing bit, which lies
         * before both lengths; a valueless node at that length branches to both. */
        uint32_t diff = p.addr ^ n->addr;
        uint8_t common = (uint8_t)__builtin_clz(diff); /* diff != 0: they differ early */
        uint32_t glue_addr = p.addr & model_prefix_mask(common);
        LpmNode *glue = node_new(glue_addr, common, false, NULL);
        glue->child[branch_bit(n->addr, common)] = n;
        glue->child[branch_bit(p.addr, common)] = fresh;
        *link = glue;
        *changed = node_prefix(glue);
        return NULL;
    }
    *link = node_new(p.addr, p.len, true, value);
    lpm->size++;
    return NULL;
}

void *model_lpm_insert(ModelLpm *lpm, ModelPrefix p, void *value)
{
    g_return_val_if_fail(lpm != NULL, NULL);
    g_return_val_if_fail(prefix_valid(p), NULL);
    ModelPrefix changed;
    void *old = insert_node(lpm, p, value, &changed);
    refresh_slots(lpm, changed);
    return old;
}

void *model_lpm_exact(const ModelLpm *lpm, ModelPrefix p)
{
    g_return_val_if_fail(lpm != NULL, NULL);
    const LpmNode *n = lpm->root;
    while (n && node_covers(n, p)) {
        if (n->len == p.len)
            return n->has_value ? n->value : NULL;
        n = n->child[branch_bit(p.addr, n->len)];
    }
    return NULL;
}

void *model_lpm_lookup(const ModelLpm *lpm, uint32_t ip, ModelPrefix *matched)
{
    g_return_val_if_fail(lpm != NULL, NULL);
    /* Resume below the /8 levels (refresh_slot), then walk. The containment test is
     * almost always true until the walk ends, so it predicts well; the child index is
     * computed rather than branched on, and a /32 node's child index leads to NULL. */
    const LpmSlot *slot = &lpm->slots[ip >> (32 - LPM_SLOT_BITS)];
    const LpmNode *best = slot->best;
    const LpmNode *n = slot->start;
    while (n && node_contains(n, ip)) {
        if (n->has_value)
            best = n;
        n = n->child[child_index(ip, n->len)];
    }
    if (!best)
        return NULL;
    if (matched)
        *matched = node_prefix(best);
    return best->value;
}

void model_lpm_foreach_match(const ModelLpm *lpm, uint32_t ip,
                             bool (*fn)(ModelPrefix p, void *value, void *ctx), void *ctx)
{
    g_return_if_fail(lpm != NULL && fn != NULL);
    /* Matches lie on one root-to-leaf path, shortest first; collect, then report in
     * reverse so the caller sees the longest (the routing winner) first. */
    const LpmNode *path[LPM_MAX_DEPTH];
    size_t count = 0;
    const LpmNode *n = lpm->root;
    while (n && node_contains(n, ip)) {
        if (n->has_value)
            path[count++] = n;
        if (n->len == 32)
            break;
        n = n->child[branch_bit(ip, n->len)];
    }
    while (count > 0) {
        const LpmNode *m = path[--count];
        if (!fn(node_prefix(m), m->value, ctx))
            return;
    }
}

void model_lpm_foreach_overlap(const ModelLpm *lpm, ModelPrefix p,
                               bool (*fn)(ModelPrefix p, void *value, void *ctx), void *ctx)
{
    g_return_if_fail(lpm != NULL && fn != NULL);
    g_return_if_fail(prefix_valid(p));
    /* First the stored prefixes covering p, met on the way down (shorter first, and their
     * addresses never exceed p's), then the whole subtree inside p in pre-order with the
     * 0-child first, which is ascending (address, length) order. */
    const LpmNode *n = lpm->root;
    while (n && !model_prefix_covers(p, node_prefix(n))) {
        if (!node_covers(n, p))
            return; /* disjoint: nothing below n overlaps p either */
        if (n->has_value && !fn(node_prefix(n), n->value, ctx))
            return;
        n = n->child[branch_bit(p.addr, n->len)];
    }
    if (!n)
        return;
    const LpmNode *stack[LPM_MAX_DEPTH + 2];
    size_t top = 0;
    stack[top++] = n;
    while (top > 0) {
        const LpmNode *m = stack[--top];
        if (m->has_value && !fn(node_prefix(m), m->value, ctx))
            return;
        if (m->child[1])
            stack[top++] = m->child[1];
        if (m->child[0])
            stack[top++] = m->child[0];
    }
}

size_t model_lpm_size(const ModelLpm *lpm)
{
    g_return_val_if_fail(lpm != NULL, 0);
    return lpm->size;
}
