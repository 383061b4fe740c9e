/*
 * prefixset.h — sets of IPv4 addresses written as prefixes, in a canonical form.
 *
 * NSG service tags are sets, not lists: Internet is "public space minus VirtualNetwork",
 * a tag's top level is the union of its regions. A set is a growable array of prefixes;
 * after model_prefix_set_normalize it is canonical: sorted by address, pairwise disjoint,
 * and maximally merged (no two entries are the halves of one larger prefix). Two sets that
 * hold the same addresses then have identical arrays (compare them item by item: the
 * struct has padding, so not with memcmp), and membership is a binary search.
 *
 * Ownership: the set owns items. Copying the struct by value aliases the array; use
 * model_prefix_set_add_set on an initialised set to copy.
 */
#ifndef VNETSIM_MODEL_PREFIXSET_H
#define VNETSIM_MODEL_PREFIXSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/addr.h"

typedef struct {
    ModelPrefix *items;
    size_t len, cap;
} ModelPrefixSet; /* sorted, disjoint, maximally merged after model_prefix_set_normalize */

/* An empty set; no allocation until the first add. Never fails. */
void model_prefix_set_init(ModelPrefixSet *s);

/* Frees the items and leaves s empty and reusable. NULL-safe. */
void model_prefix_set_clear(ModelPrefixSet *s);

/* Appends p (which must have no host bits beyond p.len, as model_prefix_parse produces;
 * otherwise the call is rejected with a g_return_if_fail warning). The set is no longer
 * normalized. Amortised O(1); grows by doubling, aborting on out-of-memory like GLib. */
void model_prefix_set_add(ModelPrefixSet *s, ModelPrefix p);

/* Appends every item of other (which is left unchanged; other == s is allowed). The set
 * is no longer normalized. O(other->len). */
void model_prefix_set_add_set(ModelPrefixSet *s, const ModelPrefixSet *other);

/* Sorts, drops prefixes covered by others and merges sibling halves until canonical.
 * Idempotent. O(n log n), in place, no allocation. */
void model_prefix_set_normalize(ModelPrefixSet *s);

/* s = s minus every address in minus; the result is normalized. minus is left unchanged
 * and need not be normalized (a normalized copy is made when it is not); minus == s
 * empties s. O((n + m) * 32 + m log m). */
void model_prefix_set_subtract(ModelPrefixSet *s, const ModelPrefixSet *minus);

/* True when ip lies in the set. s must be normalized (the binary search relies on sorted,
 * disjoint items); on a set that is not, the answer is unspecified. O(log n). */
bool model_prefix_set_contains(const ModelPrefixSet *s, uint32_t ip);

/* True when s is sorted, disjoint and maximally merged. O(n). For assertions and tests. */
bool model_prefix_set_is_normalized(const ModelPrefixSet *s);

/* True when every address of p lies in the normalized set s (p may span several items).
 * O(log n + items inside p). */
bool model_prefix_set_covers(const ModelPrefixSet *s, ModelPrefix p);

/* Number of addresses in the normalized set s, as a 64-bit count (0.0.0.0/0 has 2^32).
 * O(n). */
uint64_t model_prefix_set_size(const ModelPrefixSet *s);

#endif
