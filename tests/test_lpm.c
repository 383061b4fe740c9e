/* Longest-prefix match: the routing and service-tag contract, and a randomized comparison
 * with a linear scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "model/addr.h"
#include "model/lpm.h"
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

static void assert_prefix_equal(ModelPrefix a, ModelPrefix b)
{
    assert_int_equal(a.addr, b.addr);
    assert_int_equal(a.len, b.len);
}

/* Collects what a foreach walk reports. */
typedef struct {
    ModelPrefix seen[64];
    void *values[64];
    size_t n;
    size_t stop_after; /* 0: never stop */
} Walk;

static bool collect(ModelPrefix p, void *value, void *ctx)
{
    Walk *w = ctx;
    assert_true(w->n < G_N_ELEMENTS(w->seen));
    w->seen[w->n] = p;
    w->values[w->n] = value;
    w->n++;
    return w->stop_after == 0 || w->n < w->stop_after;
}

static void empty_table_matches_nothing(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    ModelPrefix m = {.addr = 7, .len = 7};
    assert_null(model_lpm_lookup(t, ip("10.0.0.1"), &m));
    assert_int_equal(m.addr, 7); /* untouched on a miss */
    assert_null(model_lpm_exact(t, pfx("0.0.0.0/0")));
    assert_int_equal(model_lpm_size(t), 0);
    Walk w = {0};
    model_lpm_foreach_match(t, ip("10.0.0.1"), collect, &w);
    model_lpm_foreach_overlap(t, pfx("0.0.0.0/0"), collect, &w);
    assert_int_equal(w.n, 0);
    model_lpm_free(t, NULL);
    model_lpm_free(NULL, NULL);
}

static void default_route_matches_every_address(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int internet;
    assert_null(model_lpm_insert(t, pfx("0.0.0.0/0"), &internet));
    ModelPrefix m;
    assert_ptr_equal(model_lpm_lookup(t, 0, &m), &internet);
    assert_prefix_equal(m, pfx("0.0.0.0/0"));
    assert_ptr_equal(model_lpm_lookup(t, 0xffffffffu, NULL), &internet);
    assert_ptr_equal(model_lpm_lookup(t, ip("168.63.129.16"), NULL), &internet);
    model_lpm_free(t, NULL);
}

static void longest_prefix_wins_and_host_route_beats_all(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int def, rfc, vnet, subnet, host;
    model_lpm_insert(t, pfx("0.0.0.0/0"), &def);
    model_lpm_insert(t, pfx("10.0.0.0/8"), &rfc);
    model_lpm_insert(t, pfx("10.1.0.0/16"), &vnet);
    model_lpm_insert(t, pfx("10.1.2.0/24"), &subnet);
    model_lpm_insert(t, pfx("10.1.2.4/32"), &host);
    ModelPrefix m;
    assert_ptr_equal(model_lpm_lookup(t, ip("10.1.2.4"), &m), &host);
    assert_prefix_equal(m, pfx("10.1.2.4/32"));
    assert_ptr_equal(model_lpm_lookup(t, ip("10.1.2.5"), &m), &subnet);
    assert_prefix_equal(m, pfx("10.1.2.0/24"));
    assert_ptr_equal(model_lpm_lookup(t, ip("10.1.3.5"), NULL), &vnet);
    assert_ptr_equal(model_lpm_lookup(t, ip("10.200.0.1"), NULL), &rfc);
    assert_ptr_equal(model_lpm_lookup(t, ip("11.0.0.0"), NULL), &def);
    assert_int_equal(model_lpm_size(t), 5);
    model_lpm_free(t, NULL);
}

static void inserting_a_stored_prefix_replaces_and_hands_back_the_old_value(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int a, b;
    assert_null(model_lpm_insert(t, pfx("20.60.0.0/24"), &a));
    assert_ptr_equal(model_lpm_insert(t, pfx("20.60.0.0/24"), &b), &a);
    assert_int_equal(model_lpm_size(t), 1);
    assert_ptr_equal(model_lpm_exact(t, pfx("20.60.0.0/24")), &b);
    /* A NULL value is a stored prefix too: it still shadows shorter prefixes. */
    assert_null(model_lpm_insert(t, pfx("20.60.0.0/16"), &a));
    assert_null(model_lpm_insert(t, pfx("20.60.0.128/25"), NULL));
    assert_int_equal(model_lpm_size(t), 3);
    ModelPrefix m;
    assert_null(model_lpm_lookup(t, ip("20.60.0.200"), &m));
    assert_prefix_equal(m, pfx("20.60.0.128/25"));
    model_lpm_free(t, NULL);
}

static void short_prefixes_added_after_long_ones_still_match(void **state)
{
    (void)state;
    /* Prefixes shorter than /8 span several /8 blocks; adding one late must update every
     * block it covers, and must not hide the longer prefixes already there. */
    ModelLpm *t = model_lpm_new();
    int a, b, c, d;
    model_lpm_insert(t, pfx("20.60.0.0/24"), &a);
    assert_null(model_lpm_lookup(t, ip("21.0.0.1"), NULL));
    model_lpm_insert(t, pfx("16.0.0.0/4"), &b);
    assert_ptr_equal(model_lpm_lookup(t, ip("20.60.0.1"), NULL), &a);
    assert_ptr_equal(model_lpm_lookup(t, ip("20.60.1.1"), NULL), &b);
    assert_ptr_equal(model_lpm_lookup(t, ip("31.255.255.255"), NULL), &b);
    assert_null(model_lpm_lookup(t, ip("32.0.0.0"), NULL));
    model_lpm_insert(t, pfx("0.0.0.0/0"), &c);
    assert_ptr_equal(model_lpm_lookup(t, ip("32.0.0.0"), NULL), &c);
    assert_ptr_equal(model_lpm_lookup(t, ip("20.60.0.1"), NULL), &a);
    /* A branching node shorter than /8 (16.0.0.0/4 and 8.0.0.0/7 diverge at bit 3). */
    model_lpm_insert(t, pfx("8.0.0.0/7"), &d);
    assert_ptr_equal(model_lpm_lookup(t, ip("9.1.1.1"), NULL), &d);
    assert_ptr_equal(model_lpm_lookup(t, ip("17.1.1.1"), NULL), &b);
    assert_ptr_equal(model_lpm_lookup(t, ip("10.1.1.1"), NULL), &c);
    model_lpm_free(t, NULL);
}

static void exact_ignores_covering_and_branching_prefixes(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int a, b;
    /* These two diverge at bit 23, so the trie holds a valueless 10.1.0.0/23 between them. */
    model_lpm_insert(t, pfx("10.1.0.0/24"), &a);
    model_lpm_insert(t, pfx("10.1.1.0/24"), &b);
    assert_null(model_lpm_exact(t, pfx("10.1.0.0/23")));
    assert_null(model_lpm_exact(t, pfx("10.1.0.0/25")));
    assert_null(model_lpm_exact(t, pfx("10.1.0.0/16")));
    assert_ptr_equal(model_lpm_exact(t, pfx("10.1.1.0/24")), &b);
    assert_null(model_lpm_lookup(t, ip("10.1.2.0"), NULL));
    /* Storing the branching prefix itself makes it a real entry. */
    int c;
    assert_null(model_lpm_insert(t, pfx("10.1.0.0/23"), &c));
    assert_int_equal(model_lpm_size(t), 3);
    assert_ptr_equal(model_lpm_exact(t, pfx("10.1.0.0/23")), &c);
    model_lpm_free(t, NULL);
}

static void foreach_match_reports_longest_first_and_stops_on_false(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int v[4];
    model_lpm_insert(t, pfx("10.1.2.0/24"), &v[2]);
    model_lpm_insert(t, pfx("0.0.0.0/0"), &v[0]);
    model_lpm_insert(t, pfx("10.0.0.0/8"), &v[1]);
    model_lpm_insert(t, pfx("10.1.3.0/24"), &v[3]);
    Walk w = {0};
    model_lpm_foreach_match(t, ip("10.1.2.9"), collect, &w);
    assert_int_equal(w.n, 3);
    assert_prefix_equal(w.seen[0], pfx("10.1.2.0/24"));
    assert_prefix_equal(w.seen[1], pfx("10.0.0.0/8"));
    assert_prefix_equal(w.seen[2], pfx("0.0.0.0/0"));
    assert_ptr_equal(w.values[0], &v[2]);
    Walk first = {.stop_after = 1};
    model_lpm_foreach_match(t, ip("10.1.2.9"), collect, &first);
    assert_int_equal(first.n, 1);
    model_lpm_free(t, NULL);
}

static void foreach_overlap_lists_covering_and_inner_prefixes_in_address_order(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    const char *stored[] = {"10.1.0.0/24", "0.0.0.0/0",     "10.0.0.0/16", "10.0.5.0/24",
                            "10.0.0.0/8",  "10.0.5.128/25", "10.0.0.0/24", "172.16.0.0/12"};
    for (size_t i = 0; i < G_N_ELEMENTS(stored); i++)
        model_lpm_insert(t, pfx(stored[i]), NULL);
    Walk w = {0};
    model_lpm_foreach_overlap(t, pfx("10.0.0.0/16"), collect, &w);
    const char *expect[] = {"0.0.0.0/0",   "10.0.0.0/8",  "10.0.0.0/16",
                            "10.0.0.0/24", "10.0.5.0/24", "10.0.5.128/25"};
    assert_int_equal(w.n, G_N_ELEMENTS(expect));
    for (size_t i = 0; i < w.n; i++)
        assert_prefix_equal(w.seen[i], pfx(expect[i]));
    /* A prefix nothing is stored under still sees its covering prefixes. */
    Walk c = {0};
    model_lpm_foreach_overlap(t, pfx("10.0.5.200/32"), collect, &c);
    assert_int_equal(c.n, 5);
    assert_prefix_equal(c.seen[3], pfx("10.0.5.0/24"));
    assert_prefix_equal(c.seen[4], pfx("10.0.5.128/25"));
    Walk stop = {.stop_after = 2};
    model_lpm_foreach_overlap(t, pfx("10.0.0.0/16"), collect, &stop);
    assert_int_equal(stop.n, 2);
    model_lpm_free(t, NULL);
}

static int freed;
static void count_free(void *value)
{
    (void)value;
    freed++;
}

static void free_destroys_every_stored_value_once(void **state)
{
    (void)state;
    ModelLpm *t = model_lpm_new();
    int v;
    model_lpm_insert(t, pfx("10.0.0.0/8"), &v);
    model_lpm_insert(t, pfx("10.0.0.0/9"), &v);
    model_lpm_insert(t, pfx("10.128.0.0/9"), NULL);
    model_lpm_insert(t, pfx("192.168.0.0/16"), &v); /* creates a valueless branch node */
    freed = 0;
    model_lpm_free(t, count_free);
    assert_int_equal(freed, 4);
}

/* ---- randomized comparison with a linear scan ------------------------------------------- */

typedef struct {
    ModelPrefix p;
    uintptr_t value;
} OracleEntry;

typedef struct {
    GArray *entries;   /* OracleEntry, unique prefixes */
    GHashTable *where; /* prefix key -> index + 1 in entries */
} Oracle;

static gpointer prefix_key(ModelPrefix p)
{
    /* 32 address bits and 6 length bits: fits a pointer on the 64-bit hosts we build on. */
    G_STATIC_ASSERT(sizeof(gpointer) >= 8);
    return (gpointer)(((uintptr_t)p.addr << 6) | p.len);
}

static OracleEntry *oracle_find(Oracle *o, ModelPrefix p)
{
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(o->where, prefix_key(p)));
    return i ? &g_array_index(o->entries, OracleEntry, i - 1) : NULL;
}

static void oracle_add(Oracle *o, ModelPrefix p, uintptr_t value)
{
    OracleEntry e = {p, value};
    g_array_append_val(o->entries, e);
    g_hash_table_insert(o->where, prefix_key(p), GUINT_TO_POINTER(o->entries->len));
}

static const OracleEntry *oracle_lookup(const Oracle *o, uint32_t a)
{
    const OracleEntry *best = NULL;
    for (guint i = 0; i < o->entries->len; i++) {
        const OracleEntry *e = &g_array_index(o->entries, OracleEntry, i);
        if (model_prefix_contains(e->p, a) && (!best || e->p.len > best->p.len))
            best = e;
    }
    return best;
}

/* Addresses cluster in a few /8s so that prefixes nest and collide often. */
static uint32_t random_addr(SimRng *rng)
{
    static const uint32_t bases[] = {MODEL_IP4(10, 0, 0, 0), MODEL_IP4(20, 0, 0, 0),
                                     MODEL_IP4(52, 0, 0, 0), MODEL_IP4(168, 63, 0, 0)};
    uint32_t base = bases[sim_rng_below(rng, G_N_ELEMENTS(bases))];
    uint32_t low_bits = (uint32_t)sim_rng_below(rng, 4) == 0 ? 24 : 12;
    return base | ((uint32_t)sim_rng_next(rng) & ((1u << low_bits) - 1));
}

static ModelPrefix random_prefix(SimRng *rng)
{
    uint8_t len = (uint8_t)(sim_rng_below(rng, 10) == 0 ? sim_rng_below(rng, 33)
                                                        : 16 + sim_rng_below(rng, 17));
    uint32_t a = random_addr(rng);
    return (ModelPrefix){.addr = a & model_prefix_mask(len), .len = len};
}

static int compare_by_address(const void *pa, const void *pb)
{
    const ModelPrefix *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    return (int)a->len - (int)b->len;
}

static void matches_linear_scan_on_random_tables(void **state)
{
    (void)state;
    SimRng rng;
    sim_rng_seed(&rng, 20210301);
    for (int round = 0; round < 4; round++) {
        ModelLpm *t = model_lpm_new();
        Oracle o = {g_array_new(FALSE, FALSE, sizeof(OracleEntry)),
                    g_hash_table_new(g_direct_hash, g_direct_equal)};
        for (uintptr_t i = 1; i <= 3000; i++) {
            ModelPrefix p = random_prefix(&rng);
            void *old = model_lpm_insert(t, p, (void *)i);
            OracleEntry *e = oracle_find(&o, p);
            if (e) {
                assert_int_equal((uintptr_t)old, e->value);
                e->value = i;
            } else {
                assert_null(old);
                oracle_add(&o, p, i);
            }
            /* Check while the table grows too: an insert must keep every earlier answer
             * right, not only the final ones. */
            if (i % 97 == 0) {
                for (int q = 0; q < 40; q++) {
                    uint32_t a = random_addr(&rng);
                    const OracleEntry *want = oracle_lookup(&o, a);
                    void *got = model_lpm_lookup(t, a, NULL);
                    assert_int_equal((uintptr_t)got, want ? want->value : 0);
                }
            }
        }
        assert_int_equal(model_lpm_size(t), o.entries->len);

        for (int q = 0; q < 5000; q++) {
            uint32_t a =
                sim_rng_below(&rng, 8) == 0 ? (uint32_t)sim_rng_next(&rng) : random_addr(&rng);
            const OracleEntry *want = oracle_lookup(&o, a);
            ModelPrefix m;
            void *got = model_lpm_lookup(t, a, &m);
            if (!want) {
                assert_null(got);
                continue;
            }
            assert_int_equal((uintptr_t)got, want->value);
            assert_prefix_equal(m, want->p);

            /* foreach_match: every containing prefix, strictly decreasing length. */
            Walk w = {0};
            model_lpm_foreach_match(t, a, collect, &w);
            size_t containing = 0;
            for (guint i = 0; i < o.entries->len; i++)
                containing += model_prefix_contains(g_array_index(o.entries, OracleEntry, i).p, a);
            assert_int_equal(w.n, containing);
            for (size_t i = 0; i < w.n; i++) {
                assert_true(model_prefix_contains(w.seen[i], a));
                assert_int_equal((uintptr_t)w.values[i], oracle_find(&o, w.seen[i])->value);
                if (i > 0)
                    assert_true(w.seen[i].len < w.seen[i - 1].len);
            }
        }

        for (int q = 0; q < 300; q++) {
            ModelPrefix p = random_prefix(&rng);
            void *exact = model_lpm_exact(t, p);
            OracleEntry *e = oracle_find(&o, p);
            assert_int_equal((uintptr_t)exact, e ? e->value : 0);

            /* foreach_overlap: exactly the overlapping prefixes, in address order. Narrow
             * p so the expected list fits the Walk buffer. */
            if (p.len < 20)
                continue;
            GArray *want = g_array_new(FALSE, FALSE, sizeof(ModelPrefix));
            for (guint i = 0; i < o.entries->len; i++) {
                ModelPrefix s = g_array_index(o.entries, OracleEntry, i).p;
                if (model_prefix_overlaps(s, p))
                    g_array_append_val(want, s);
            }
            g_array_sort(want, compare_by_address);
            Walk w = {0};
            if (want->len <= G_N_ELEMENTS(w.seen)) {
                model_lpm_foreach_overlap(t, p, collect, &w);
                assert_int_equal(w.n, want->len);
                for (size_t i = 0; i < w.n; i++)
                    assert_prefix_equal(w.seen[i], g_array_index(want, ModelPrefix, i));
            }
            g_array_free(want, TRUE);
        }
        g_array_free(o.entries, TRUE);
        g_hash_table_destroy(o.where);
        model_lpm_free(t, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_table_matches_nothing),
        cmocka_unit_test(default_route_matches_every_address),
        cmocka_unit_test(longest_prefix_wins_and_host_route_beats_all),
        cmocka_unit_test(inserting_a_stored_prefix_replaces_and_hands_back_the_old_value),
        cmocka_unit_test(short_prefixes_added_after_long_ones_still_match),
        cmocka_unit_test(exact_ignores_covering_and_branching_prefixes),
        cmocka_unit_test(foreach_match_reports_longest_first_and_stops_on_false),
        cmocka_unit_test(foreach_overlap_lists_covering_and_inner_prefixes_in_address_order),
        cmocka_unit_test(free_destroys_every_stored_value_once),
        cmocka_unit_test(matches_linear_scan_on_random_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
