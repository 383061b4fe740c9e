/*
 * prefixset.c — canonical prefix sets (see prefixset.h).
 *
 * Canonical form is the unique decomposition of the address set into maximal aligned
 * blocks. normalize() reaches it in two passes over the sorted array: drop every prefix
 * covered by the last kept one (after sorting, a covering prefix always precedes what it
 * covers, and the kept prefixes are disjoint, so only the last kept one can cover the
 * next), then merge equal-length sibling halves with a stack, since a merged parent can in
 * turn become the sibling of the entry before it.
 */
#include "model/prefixset.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

static inline uint32_t prefix_last(ModelPrefix p)
{
    return p.addr | ~model_prefix_mask(p.len);
}

static bool prefix_valid(ModelPrefix p)
{
    return p.len <= 32 && (p.addr & ~model_prefix_mask(p.len)) == 0;
}

/* The other half of p's parent, when a and b are the two halves of one prefix. */
static bool are_siblings(ModelPrefix a, ModelPrefix b)
{
    if (a.len != b.len || a.len == 0)
        return false;
    uint32_t half = 1u << (32 - a.len);
    return (a.addr & half) == 0 && b.addr == (a.addr | half);
}

static int compare_prefix(const void *pa, const void *pb)
{
    const ModelPrefix *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    return (int)a->len - (int)b->len;
}

static void reserve(ModelPrefixSet *s, size_t need)
{
    if (need <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 8;
    while (cap < need)
        cap *= 2;
    s->items = g_renew(ModelPrefix, s->items, cap);
    s->cap = cap;
}

void model_prefix_set_init(ModelPrefixSet *s)
{
    s->items = NULL;
    s->len = 0;
    s->cap = 0;
}

void model_prefix_set_clear(ModelPrefixSet *s)
{
    if (!s)
        return;
    g_free(s->items);
    model_prefix_set_init(s);
}

void model_prefix_set_add(ModelPrefixSet *s, ModelPrefix p)
{
    g_return_if_fail(s != NULL);
    g_return_if_fail(prefix_valid(p));
    reserve(s, s->len + 1);
    s->items[s->len++] = p;
}

void model_prefix_set_add_set(ModelPrefixSet *s, const ModelPrefixSet *other)
{
    g_return_if_fail(s != NULL && other != NULL);
    size_t n = other->len; /* read before reserve: other may be s */
    if (n == 0)
        return;
    reserve(s, s->len + n);
    memmove(s->items + s->len, other->items, n * sizeof *s->items);
    s->len += n;
}

void model_prefix_set_normalize(ModelPrefixSet *s)
{
    g_return_if_fail(s != NULL);
    if (s->len == 0)
        return;
    qsort(s->items, s->len, sizeof *s->items, compare_prefix);

    /* Pass 1: drop covered prefixes (duplicates included). */
    size_t kept = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (kept > 0 && model_prefix_covers(s->items[kept - 1], s->items[i]))
            continue;
        s->items[kept++] = s->items[i];
    }

    /* Pass 2: merge siblings; items[0..top) is the stack, always canonical. */
    size_t top = 0;
    for (size_t i = 0; i < kept; i++) {
        ModelPrefix p = s->items[i];
        while (top > 0 && are_siblings(s->items[top - 1], p)) {
            p = s->items[top - 1];
            p.len--;
            top--;
        }
        s->items[top++] = p;
    }
    s->len = top;
}

bool model_prefix_set_is_normalized(const ModelPrefixSet *s)
{
    g_return_val_if_fail(s != NULL, false);
    for (size_t i = 0; i < s->len; i++) {
        if (!prefix_valid(s->items[i]))
            return false;
        if (i == 0)
            continue;
        ModelPrefix a = s->items[i - 1], b = s->items[i];
        if (prefix_last(a) >= b.addr || are_siblings(a, b))
            return false;
    }
    return true;
}

/* Emits into out the part of a not covered by b[0..nb), where b are the (sorted,
 * disjoint) prefixes of the subtrahend that overlap a. Halves a until each half is either
 * untouched (emitted whole) or covered (dropped); recursion depth <= 32. The pieces come
 * out in address order and are already maximal. */
static void subtract_one(ModelPrefix a, const ModelPrefix *b, size_t nb, ModelPrefixSet *out)
{
    if (nb == 0) {
        model_prefix_set_add(out, a);
        return;
    }
    if (model_prefix_covers(b[0], a))
        return;
    /* Every b lies strictly inside a, so a.len < 32. */
    ModelPrefix lo = {.addr = a.addr, .len = (uint8_t)(a.len + 1)};
    ModelPrefix hi = {.addr = a.addr | (1u << (31 - a.len)), .len = (uint8_t)(a.len + 1)};
    size_t split = 0;
    while (split < nb && b[split].addr < hi.addr)
        split++;
    subtract_one(lo, b, split, out);
    subtract_one(hi, b + split, nb - split, out);
}

void model_prefix_set_subtract(ModelPrefixSet *s, const ModelPrefixSet *minus)
{
    g_return_if_fail(s != NULL && minus != NULL);
    if (minus == s) {
        s->len = 0;
        return;
    }
    model_prefix_set_normalize(s);
    ModelPrefixSet copy;
    model_prefix_set_init(&copy);
    const ModelPrefixSet *m = minus;
    if (!model_prefix_set_is_normalized(minus)) {
        model_prefix_set_add_set(&copy, minus);
        model_prefix_set_normalize(&copy);
        m = &copy;
    }

    ModelPrefixSet out;
    model_prefix_set_init(&out);
    size_t j = 0;
    for (size_t i = 0; i < s->len; i++) {
        ModelPrefix a = s->items[i];
        /* Skip subtrahend prefixes wholly before a; those that reach into a follow
         * contiguously. One that covers a may also cover the next a, so j stays put. */
        while (j < m->len && prefix_last(m->items[j]) < a.addr)
            j++;
        size_t k = j;
        while (k < m->len && m->items[k].addr <= prefix_last(a))
            k++;
        subtract_one(a, m->items + j, k - j, &out);
    }
    model_prefix_set_clear(&copy);
    g_free(s->items);
    *s = out;
    /* The pieces of different items cannot be siblings (the items were canonical), but
     * normalizing keeps the guarantee independent of that argument. */
    model_prefix_set_normalize(s);
}

/* Index of the last item whose address is <= ip, or s->len when there is none. */
static size_t last_at_or_below(const ModelPrefixSet *s, uint32_t ip)
{
    size_t lo = 0, hi = s->len; /* answer in [lo, hi) of "items[i].addr <= ip" prefix */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->items[mid].addr <= ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? s->len : lo - 1;
}

bool model_prefix_set_contains(const ModelPrefixSet *s, uint32_t ip)
{
    g_return_val_if_fail(s != NULL, false);
    size_t i = last_at_or_below(s, ip);
    return i < s->len && model_prefix_contains(s->items[i], ip);
}

bool model_prefix_set_covers(const ModelPrefixSet *s, ModelPrefix p)
{
    g_return_val_if_fail(s != NULL, false);
    g_return_val_if_fail(prefix_valid(p), false);
    /* Walk the items from the one holding p's first address; they must tile p without a
     * gap. 64-bit cursor so that reaching 255.255.255.255 does not wrap. */
    size_t i = last_at_or_below(s, p.addr);
    if (i == s->len)
        return false;
    uint64_t next = p.addr;
    uint64_t last = prefix_last(p);
    for (; i < s->len && next <= last; i++) {
        ModelPrefix it = s->items[i];
        if (it.addr > next || prefix_last(it) < next)
            return false;
        next = (uint64_t)prefix_last(it) + 1;
    }
    return next > last;
}

uint64_t model_prefix_set_size(const ModelPrefixSet *s)
{
    g_return_val_if_fail(s != NULL, 0);
    uint64_t total = 0;
    for (size_t i = 0; i < s->len; i++)
        total += (uint64_t)1 << (32 - s->items[i].len);
    return total;
}
