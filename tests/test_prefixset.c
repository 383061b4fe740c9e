/* Prefix sets: canonical form, subtraction (Internet = public space minus VirtualNetwork),
 * membership, and a randomized comparison with a bitmap over a /16. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "model/addr.h"
#include "model/prefixset.h"
#include "sim/rng.h"

static ModelPrefix pfx(const char *text)
{
    ModelPrefix p;
    assert_int_equal(model_prefix_parse(text, false, &p), MODEL_PREFIX_OK);
    return p;
}

static uint32_t ip(const char *text)
{
    uint32_t a;
    assert_true(model_ip_parse(text, &a));
    return a;
}

static void set_of(ModelPrefixSet *s, const char *const *texts, size_t n)
{
    model_prefix_set_init(s);
    for (size_t i = 0; i < n; i++)
        model_prefix_set_add(s, pfx(texts[i]));
}

static void assert_set_is(const ModelPrefixSet *s, const char *const *texts, size_t n)
{
    char buf[MODEL_PREFIX_STRLEN];
    for (size_t i = 0; i < s->len && i < n; i++) {
        model_prefix_format(s->items[i], buf);
        assert_string_equal(buf, texts[i]);
    }
    assert_int_equal(s->len, n);
    assert_true(model_prefix_set_is_normalized(s));
}

static void normalize_sorts_drops_covered_and_merges_siblings(void **state)
{
    (void)state;
    static const char *const in[] = {"20.60.2.0/24",    "20.60.0.0/24", "20.60.1.0/24",
                                     "20.60.0.128/25",  "20.60.3.0/24", "20.60.0.0/24",
                                     "52.239.152.0/22", "20.60.6.0/23"};
    ModelPrefixSet s;
    set_of(&s, in, G_N_ELEMENTS(in));
    assert_false(model_prefix_set_is_normalized(&s));
    model_prefix_set_normalize(&s);
    /* .0/24+.1/24 -> .0/23, then with .2/23 (.2+.3) -> .0/22; .6/23 stays apart. */
    static const char *const want[] = {"20.60.0.0/22", "20.60.6.0/23", "52.239.152.0/22"};
    assert_set_is(&s, want, G_N_ELEMENTS(want));
    model_prefix_set_normalize(&s); /* idempotent */
    assert_set_is(&s, want, G_N_ELEMENTS(want));
    model_prefix_set_clear(&s);
    model_prefix_set_normalize(&s); /* empty is fine */
    assert_int_equal(s.len, 0);
    model_prefix_set_clear(NULL);
}

static void normalize_merges_halves_all_the_way_to_everything(void **state)
{
    (void)state;
    static const char *const in[] = {"128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/3"};
    ModelPrefixSet s;
    set_of(&s, in, G_N_ELEMENTS(in));
    model_prefix_set_normalize(&s);
    static const char *const want[] = {"0.0.0.0/0"};
    assert_set_is(&s, want, 1);
    assert_int_equal(model_prefix_set_size(&s), (uint64_t)1 << 32);
    model_prefix_set_clear(&s);
}

static void public_space_is_everything_minus_rfc1918(void **state)
{
    (void)state;
    static const char *const all[] = {"0.0.0.0/0"};
    static const char *const rfc1918[] = {"192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"};
    ModelPrefixSet s, minus;
    set_of(&s, all, 1);
    set_of(&minus, rfc1918, G_N_ELEMENTS(rfc1918)); /* deliberately not normalized */
    model_prefix_set_subtract(&s, &minus);
    static const char *const want[] = {
        "0.0.0.0/5",      "8.0.0.0/7",      "11.0.0.0/8",     "12.0.0.0/6",     "16.0.0.0/4",
        "32.0.0.0/3",     "64.0.0.0/2",     "128.0.0.0/3",    "160.0.0.0/5",    "168.0.0.0/6",
        "172.0.0.0/12",   "172.32.0.0/11",  "172.64.0.0/10",  "172.128.0.0/9",  "173.0.0.0/8",
        "174.0.0.0/7",    "176.0.0.0/4",    "192.0.0.0/9",    "192.128.0.0/11", "192.160.0.0/13",
        "192.169.0.0/16", "192.170.0.0/15", "192.172.0.0/14", "192.176.0.0/12", "192.192.0.0/10",
        "193.0.0.0/8",    "194.0.0.0/7",    "196.0.0.0/6",    "200.0.0.0/5",    "208.0.0.0/4",
        "224.0.0.0/3"};
    assert_set_is(&s, want, G_N_ELEMENTS(want));
    assert_int_equal(model_prefix_set_size(&s),
                     ((uint64_t)1 << 32) - (1u << 24) - (1u << 20) - (1u << 16));
    assert_true(model_prefix_set_contains(&s, ip("9.255.255.255")));
    assert_false(model_prefix_set_contains(&s, ip("10.0.0.1")));
    assert_true(model_prefix_set_contains(&s, ip("172.15.255.255")));
    assert_false(model_prefix_set_contains(&s, ip("172.31.255.255")));
    assert_true(model_prefix_set_contains(&s, ip("172.32.0.0")));
    assert_false(model_prefix_set_contains(&s, ip("192.168.1.1")));
    assert_true(model_prefix_set_contains(&s, ip("20.60.0.4")));
    assert_true(model_prefix_set_contains(&s, ip("0.0.0.0")));
    assert_true(model_prefix_set_contains(&s, ip("255.255.255.255")));
    model_prefix_set_clear(&s);
    model_prefix_set_clear(&minus);
}

static void subtract_leaves_disjoint_sets_alone_and_self_subtraction_empties(void **state)
{
    (void)state;
    static const char *const a[] = {"20.60.0.0/24", "52.239.152.0/22"};
    static const char *const b[] = {"20.61.0.0/16", "52.239.156.0/22"};
    ModelPrefixSet s, minus;
    set_of(&s, a, 2);
    set_of(&minus, b, 2);
    model_prefix_set_subtract(&s, &minus);
    assert_set_is(&s, a, 2);
    /* A subtrahend prefix covering an item removes it whole. */
    static const char *const cover[] = {"52.239.0.0/16"};
    ModelPrefixSet c;
    set_of(&c, cover, 1);
    model_prefix_set_subtract(&s, &c);
    assert_set_is(&s, a, 1);
    model_prefix_set_subtract(&s, &s);
    assert_int_equal(s.len, 0);
    model_prefix_set_clear(&s);
    model_prefix_set_clear(&minus);
    model_prefix_set_clear(&c);
}

static void subtracting_a_host_splits_a_prefix_into_maximal_pieces(void **state)
{
    (void)state;
    static const char *const a[] = {"168.63.128.0/22"};
    static const char *const b[] = {"168.63.129.16/32"};
    ModelPrefixSet s, minus;
    set_of(&s, a, 1);
    set_of(&minus, b, 1);
    model_prefix_set_subtract(&s, &minus);
    static const char *const want[] = {"168.63.128.0/24",  "168.63.129.0/28",  "168.63.129.17/32",
                                       "168.63.129.18/31", "168.63.129.20/30", "168.63.129.24/29",
                                       "168.63.129.32/27", "168.63.129.64/26", "168.63.129.128/25",
                                       "168.63.130.0/23"};
    assert_set_is(&s, want, G_N_ELEMENTS(want));
    assert_false(model_prefix_set_contains(&s, ip("168.63.129.16")));
    assert_true(model_prefix_set_contains(&s, ip("168.63.129.17")));
    assert_true(model_prefix_set_covers(&s, pfx("168.63.129.128/25")));
    assert_true(model_prefix_set_covers(&s, pfx("168.63.129.32/27")));
    assert_false(model_prefix_set_covers(&s, pfx("168.63.129.0/24")));
    assert_false(model_prefix_set_covers(&s, pfx("168.63.132.0/24")));
    model_prefix_set_clear(&s);
    model_prefix_set_clear(&minus);
}

static void add_set_appends_and_allows_self(void **state)
{
    (void)state;
    static const char *const a[] = {"20.60.0.0/24"};
    static const char *const b[] = {"20.60.1.0/24"};
    ModelPrefixSet s, o;
    set_of(&s, a, 1);
    set_of(&o, b, 1);
    model_prefix_set_add_set(&s, &o);
    model_prefix_set_add_set(&s, &s);
    assert_int_equal(s.len, 4);
    model_prefix_set_normalize(&s);
    static const char *const want[] = {"20.60.0.0/23"};
    assert_set_is(&s, want, 1);
    assert_int_equal(o.len, 1);
    model_prefix_set_clear(&s);
    model_prefix_set_clear(&o);
}

/* ---- randomized comparison with a bitmap over 20.60.0.0/16 ------------------------------ */

#define BASE  MODEL_IP4(20, 60, 0, 0)
#define SPACE 65536u

static void random_set(SimRng *rng, ModelPrefixSet *s, bool bitmap[SPACE], size_t count)
{
    model_prefix_set_init(s);
    memset(bitmap, 0, SPACE * sizeof bitmap[0]);
    for (size_t i = 0; i < count; i++) {
        /* Mostly long prefixes: a few /16../19 would swallow the whole space and leave
         * nothing to merge or split. */
        uint64_t roll = sim_rng_below(rng, 100);
        uint8_t len = (uint8_t)(roll < 3    ? 16 + sim_rng_below(rng, 4)
                                : roll < 25 ? 20 + sim_rng_below(rng, 4)
                                            : 24 + sim_rng_below(rng, 9));
        g_assert(len >= 16 && len <= 32); /* within the /16 under test */
        uint32_t addr = (BASE | (uint32_t)sim_rng_below(rng, SPACE)) & model_prefix_mask(len);
        model_prefix_set_add(s, (ModelPrefix){.addr = addr, .len = len});
        uint32_t first = addr - BASE, n = SPACE >> (len - 16);
        for (uint32_t a = first; a < first + n; a++)
            bitmap[a] = true;
    }
}

/* The canonical decomposition of a bitmap: from each set address, the largest aligned
 * block that is entirely set. */
static void canonical_from_bitmap(const bool bitmap[SPACE], ModelPrefixSet *out)
{
    model_prefix_set_init(out);
    uint32_t a = 0;
    while (a < SPACE) {
        if (!bitmap[a]) {
            a++;
            continue;
        }
        uint32_t size = 1;
        while (size < SPACE && a % (size * 2) == 0 && a + size * 2 <= SPACE) {
            bool full = true;
            for (uint32_t k = a + size; k < a + size * 2 && full; k++)
                full = bitmap[k];
            if (!full)
                break;
            size *= 2;
        }
        uint8_t len = (uint8_t)(32 - __builtin_ctz(size));
        model_prefix_set_add(out, (ModelPrefix){.addr = BASE + a, .len = len});
        a += size;
    }
}

static void assert_sets_equal(const ModelPrefixSet *a, const ModelPrefixSet *b)
{
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        assert_int_equal(a->items[i].addr, b->items[i].addr);
        assert_int_equal(a->items[i].len, b->items[i].len);
    }
}

static void normalize_and_subtract_match_a_bitmap_on_random_sets(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 7);
    bool *in_a = g_new(bool, SPACE), *in_b = g_new(bool, SPACE), *diff = g_new(bool, SPACE);
    for (int round = 0; round < 40; round++) {
        ModelPrefixSet a, b, want;
        random_set(&rng, &a, in_a, 1 + sim_rng_below(&rng, 60));
        random_set(&rng, &b, in_b, sim_rng_below(&rng, 60));

        model_prefix_set_normalize(&a);
        canonical_from_bitmap(in_a, &want);
        assert_sets_equal(&a, &want);
        model_prefix_set_clear(&want);
        for (uint32_t k = 0; k < SPACE; k++)
            assert_int_equal(model_prefix_set_contains(&a, BASE + k), in_a[k]);
        assert_false(model_prefix_set_contains(&a, BASE - 1));
        assert_false(model_prefix_set_contains(&a, BASE + SPACE));

        for (uint32_t k = 0; k < SPACE; k++)
            diff[k] = in_a[k] && !in_b[k];
        model_prefix_set_subtract(&a, &b); /* b unnormalized */
        canonical_from_bitmap(diff, &want);
        assert_sets_equal(&a, &want);
        model_prefix_set_clear(&want);

        model_prefix_set_clear(&a);
        model_prefix_set_clear(&b);
    }
    g_free(in_a);
    g_free(in_b);
    g_free(diff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize_sorts_drops_covered_and_merges_siblings),
        cmocka_unit_test(normalize_merges_halves_all_the_way_to_everything),
        cmocka_unit_test(public_space_is_everything_minus_rfc1918),
        cmocka_unit_test(subtract_leaves_disjoint_sets_alone_and_self_subtraction_empties),
        cmocka_unit_test(subtracting_a_host_splits_a_prefix_into_maximal_pieces),
        cmocka_unit_test(add_set_appends_and_allows_self),
        cmocka_unit_test(normalize_and_subtract_match_a_bitmap_on_random_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
