/*
 * Randomized oracle test for the NSG classifier: many random rule sets (1 to 1000 rules,
 * random prefixes, tags, ASGs, ports, protocols, priorities, both directions) and many random
 * packets aimed at the rules' edges. For every packet three answers must be the same rule:
 *   - model_nsg_table_classify (the bit-vector classifier),
 *   - model_nsg_table_classify_linear (priority scan over the compiled ranges),
 *   - a reference written here straight from the rule fields and the docs' semantics, so a
 *     compile bug shared by both table paths is caught too.
 * The seed is fixed (sim/rng.h), so a failure replays exactly; set VNETSIM_NSG_SEED to try
 * others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/nsg.h"
#include "sim/rng.h"

/* tests/test_nsg_fake.c */
bool test_nsg_fake_lookup(ModelNsgAddrKind kind, const char *name, ModelPrefix **out, size_t *n);
bool test_nsg_fake_resolve(void *ctx, const ModelNsgAddr *item, ModelPrefix **prefixes, size_t *n,
                           GError **error);

#define N_SETS          120
#define PACKETS_PER_SET 1500

static const char *const tags[] = {
    "VirtualNetwork",      "Internet",          "Storage.EastUS", "AzureMachineLearning",
    "BatchNodeManagement", "AzureLoadBalancer", "Empty"};
static const char *const asgs[] = {"asg-web", "asg-db"};

/* Addresses the random prefixes cluster around, so rules overlap and packets hit them. */
static const uint32_t anchors[] = {
    MODEL_IP4(10, 0, 1, 0),    MODEL_IP4(10, 0, 2, 0), MODEL_IP4(10, 8, 0, 0),
    MODEL_IP4(20, 60, 4, 0),   MODEL_IP4(52, 1, 2, 0), MODEL_IP4(168, 63, 129, 16),
    MODEL_IP4(203, 0, 113, 0), MODEL_IP4(0, 0, 0, 0),  MODEL_IP4(255, 255, 255, 255),
};
static const uint16_t common_ports[] = {0, 22, 53, 80, 443, 445, 1433, 3389, 8080, 29876, 65535};

static uint32_t rnd(SimRng *rng, uint64_t bound)
{
    return (uint32_t)sim_rng_below(rng, bound);
}

static uint32_t random_ip(SimRng *rng)
{
    uint32_t a = anchors[rnd(rng, G_N_ELEMENTS(anchors))];
    switch (rnd(rng, 4)) {
    case 0:
        return a;
    case 1:
        return a + rnd(rng, 256);
    case 2:
        return a ^ rnd(rng, 1u << 20);
    default:
        return (uint32_t)sim_rng_next(rng);
    }
}

static void add_random_side(SimRng *rng, ModelNsgRule *r, ModelNsgSide side)
{
    uint32_t pick = rnd(rng, 100);
    if (pick < 15) {
        assert_true(model_nsg_rule_add_address(r, side, rnd(rng, 2) ? "*" : "Any", NULL));
    } else if (pick < 30) {
        assert_true(model_nsg_rule_add_address(r, side, tags[rnd(rng, G_N_ELEMENTS(tags))], NULL));
        /* Sometimes explicit prefixes next to the tag. */
        for (uint32_t i = rnd(rng, 3); i > 0; i--) {
            char buf[MODEL_PREFIX_STRLEN];
            model_prefix_format((ModelPrefix){random_ip(rng) & 0xffffff00u, 24}, buf);
            assert_true(model_nsg_rule_add_address(r, side, buf, NULL));
        }
    } else if (pick < 36) {
        model_nsg_rule_add_asg(r, side, asgs[rnd(rng, G_N_ELEMENTS(asgs))]);
    } else {
        for (uint32_t i = 1 + rnd(rng, 4); i > 0; i--) {
            /* Host bits left in on purpose: NSG rules accept and clear them. */
            char buf[MODEL_IP_STRLEN + 4];
            char ip[MODEL_IP_STRLEN];
            model_ip_format(random_ip(rng), ip);
            uint32_t len = rnd(rng, 5) == 0 ? rnd(rng, 33) : 8 + rnd(rng, 25);
            g_snprintf(buf, sizeof buf, "%s/%u", ip, len);
            assert_true(model_nsg_rule_add_address(r, side, buf, NULL));
        }
    }
}

static uint16_t random_port(SimRng *rng)
{
    if (rnd(rng, 2))
        return (uint16_t)(common_ports[rnd(rng, G_N_ELEMENTS(common_ports))] + rnd(rng, 3) - 1);
    return (uint16_t)rnd(rng, 65536);
}

static void add_random_ports(SimRng *rng, ModelNsgRule *r, ModelNsgSide side)
{
    uint32_t pick = rnd(rng, 100);
    const char *text = NULL;
    if (pick < 40)
        text = "*";
    else if (pick < 44)
        text = "0-65535";
    else if (pick < 47)
        text = "0-1023,1024-65535"; /* pieces that cover everything mean "*" too */
    if (text) {
        assert_true(model_nsg_rule_add_ports(r, side, text, NULL));
        return;
    }
    GString *s = g_string_new(NULL);
    for (uint32_t i = 1 + rnd(rng, 3); i > 0; i--) {
        uint16_t a = random_port(rng), b = random_port(rng);
        if (rnd(rng, 2))
            b = a;
        if (a > b) {
            uint16_t t = a;
            a = b;
            b = t;
        }
        g_string_append_printf(s, "%s%u-%u", s->len ? ", " : "", a, b);
    }
    assert_true(model_nsg_rule_add_ports(r, side, s->str, NULL));
    g_string_free(s, TRUE);
}

/* `one_dir` puts every rule in one direction, so a single table can hold 1000 rules. */
static ModelNsg *random_nsg(SimRng *rng, size_t n_rules, bool one_dir)
{
    ModelNsg *nsg = model_nsg_new("rand");
    bool used[2][MODEL_NSG_PRIORITY_MAX + 1] = {{false}};
    for (size_t i = 0; i < n_rules; i++) {
        ModelDirection dir = one_dir ? MODEL_DIR_INBOUND : (ModelDirection)rnd(rng, 2);
        int prio;
        do
            prio = MODEL_NSG_PRIORITY_MIN +
                   (int)rnd(rng, MODEL_NSG_PRIORITY_MAX - MODEL_NSG_PRIORITY_MIN + 1);
        while (used[dir][prio]);
        used[dir][prio] = true;
        char name[32];
        g_snprintf(name, sizeof name, "r%zu", i);
        ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, (ModelAccess)rnd(rng, 2),
                                             (ModelNsgProtocol)rnd(rng, 6));
        add_random_side(rng, r, MODEL_NSG_SRC);
        add_random_side(rng, r, MODEL_NSG_DST);
        add_random_ports(rng, r, MODEL_NSG_SRC);
        add_random_ports(rng, r, MODEL_NSG_DST);
        GError *err = NULL;
        if (!model_nsg_add_rule(nsg, r, &err))
            fail_msg("random rule rejected: %s", err->message);
    }
    return nsg;
}

/* ---- the reference: straight from the rule fields ---- */

static bool ref_addr(const ModelNsgRule *r, ModelNsgSide side, uint32_t ip)
{
    for (size_t i = 0; i < r->n_addrs[side]; i++) {
        const ModelNsgAddr *a = &r->addrs[side][i];
        if (a->kind == MODEL_NSG_ADDR_PREFIX) {
            if (model_prefix_contains(a->prefix, ip))
                return true;
            continue;
        }
        ModelPrefix *p = NULL;
        size_t n = 0;
        assert_true(test_nsg_fake_lookup(a->kind, a->text, &p, &n));
        bool hit = false;
        for (size_t k = 0; k < n && !hit; k++)
            hit = model_prefix_contains(p[k], ip);
        g_free(p);
        if (hit)
            return true;
    }
    return false;
}

static bool ref_ports_any(const ModelNsgRule *r, ModelNsgSide side)
{
    /* Does the union of the ranges cover 0..65535? */
    uint32_t next = 0; /* first port not yet known to be covered */
    bool grew = true;
    while (grew && next <= 65535) {
        grew = false;
        for (size_t i = 0; i < r->n_ports[side]; i++) {
            ModelPortRange p = r->ports[side][i];
            if (p.lo <= next && p.hi >= next) {
                next = (uint32_t)p.hi + 1;
                grew = true;
            }
        }
    }
    return next > 65535;
}

static bool ref_port(const ModelNsgRule *r, ModelNsgSide side, bool ported, uint16_t port)
{
    if (!ported)
        return ref_ports_any(r, side);
    for (size_t i = 0; i < r->n_ports[side]; i++)
        if (r->ports[side][i].lo <= port && port <= r->ports[side][i].hi)
            return true;
    return false;
}

static bool ref_proto(ModelNsgProtocol p, uint8_t proto)
{
    switch (p) {
    case MODEL_NSG_PROTO_ANY: /* "Any encompasses TCP, UDP, and ICMP" */
        return proto == MODEL_IPPROTO_TCP || proto == MODEL_IPPROTO_UDP ||
               proto == MODEL_IPPROTO_ICMP;
    case MODEL_NSG_PROTO_TCP:
        return proto == MODEL_IPPROTO_TCP;
    case MODEL_NSG_PROTO_UDP:
        return proto == MODEL_IPPROTO_UDP;
    case MODEL_NSG_PROTO_ICMP:
        return proto == MODEL_IPPROTO_ICMP;
    case MODEL_NSG_PROTO_ESP:
        return proto == MODEL_IPPROTO_ESP;
    case MODEL_NSG_PROTO_AH:
        return proto == MODEL_IPPROTO_AH;
    }
    return false;
}

static const ModelNsgRule *reference(const ModelNsg *nsg, ModelDirection dir, const ModelFlowKey *k)
{
    size_t n;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, dir, &n);
    bool ported = k->proto == MODEL_IPPROTO_TCP || k->proto == MODEL_IPPROTO_UDP;
    for (size_t i = 0; i < n; i++) {
        const ModelNsgRule *r = rules[i];
        if (ref_proto(r->protocol, k->proto) && ref_port(r, MODEL_NSG_SRC, ported, k->sport) &&
            ref_port(r, MODEL_NSG_DST, ported, k->dport) && ref_addr(r, MODEL_NSG_SRC, k->src) &&
            ref_addr(r, MODEL_NSG_DST, k->dst))
            return r;
    }
    return NULL;
}

/* ---- packets aimed at the edges ---- */

typedef struct {
    GArray *ips;   /* uint32_t: prefix first/last addresses and their neighbours */
    GArray *ports; /* uint16_t: range ends and their neighbours */
} Edges;

static void edges_add_prefix(Edges *e, ModelPrefix p)
{
    uint32_t lo = p.addr, hi = p.addr | ~model_prefix_mask(p.len);
    uint32_t v[4] = {lo, hi, lo - 1, hi + 1};
    g_array_append_vals(e->ips, v, 4);
}

static Edges collect_edges(const ModelNsg *nsg)
{
    Edges e = {g_array_new(FALSE, FALSE, sizeof(uint32_t)),
               g_array_new(FALSE, FALSE, sizeof(uint16_t))};
    for (int d = 0; d < 2; d++) {
        size_t n;
        const ModelNsgRule *const *rules = model_nsg_rules(nsg, (ModelDirection)d, &n);
        for (size_t i = 0; i < n; i++) {
            for (int s = 0; s < 2; s++) {
                const ModelNsgRule *r = rules[i];
                for (size_t k = 0; k < r->n_addrs[s]; k++) {
                    const ModelNsgAddr *a = &r->addrs[s][k];
                    if (a->kind == MODEL_NSG_ADDR_PREFIX) {
                        edges_add_prefix(&e, a->prefix);
                        continue;
                    }
                    ModelPrefix *p = NULL;
                    size_t np = 0;
                    assert_true(test_nsg_fake_lookup(a->kind, a->text, &p, &np));
                    for (size_t j = 0; j < np; j++)
                        edges_add_prefix(&e, p[j]);
                    g_free(p);
                }
                for (size_t k = 0; k < r->n_ports[s]; k++) {
                    ModelPortRange p = r->ports[s][k];
                    uint16_t v[4] = {p.lo, p.hi, (uint16_t)(p.lo - 1), (uint16_t)(p.hi + 1)};
                    g_array_append_vals(e.ports, v, 4);
                }
            }
        }
    }
    return e;
}

static uint32_t packet_ip(SimRng *rng, const Edges *e)
{
    uint32_t pick = rnd(rng, 4);
    if (pick < 2)
        return g_array_index(e->ips, uint32_t, rnd(rng, e->ips->len));
    if (pick == 2)
        return g_array_index(e->ips, uint32_t, rnd(rng, e->ips->len)) + rnd(rng, 64) - 32;
    return random_ip(rng);
}

static uint16_t packet_port(SimRng *rng, const Edges *e)
{
    if (rnd(rng, 2))
        return g_array_index(e->ports, uint16_t, rnd(rng, e->ports->len));
    return random_port(rng);
}

static uint8_t packet_proto(SimRng *rng)
{
    static const uint8_t protos[] = {MODEL_IPPROTO_TCP,
                                     MODEL_IPPROTO_TCP,
                                     MODEL_IPPROTO_TCP,
                                     MODEL_IPPROTO_TCP,
                                     MODEL_IPPROTO_UDP,
                                     MODEL_IPPROTO_UDP,
                                     MODEL_IPPROTO_UDP,
                                     MODEL_IPPROTO_ICMP,
                                     MODEL_IPPROTO_ICMP,
                                     MODEL_IPPROTO_ESP,
                                     MODEL_IPPROTO_AH,
                                     47 /* GRE */,
                                     0,
                                     255};
    return protos[rnd(rng, G_N_ELEMENTS(protos))];
}

/* An address inside one of the side's items (any address if the item is empty). */
static uint32_t ip_inside(SimRng *rng, const ModelNsgRule *r, ModelNsgSide side)
{
    const ModelNsgAddr *a = &r->addrs[side][rnd(rng, r->n_addrs[side])];
    ModelPrefix p = a->prefix;
    if (a->kind != MODEL_NSG_ADDR_PREFIX) {
        ModelPrefix *ps = NULL;
        size_t n = 0;
        assert_true(test_nsg_fake_lookup(a->kind, a->text, &ps, &n));
        if (n == 0)
            return (uint32_t)sim_rng_next(rng);
        p = ps[rnd(rng, n)];
        g_free(ps);
    }
    return p.addr | ((uint32_t)sim_rng_next(rng) & ~model_prefix_mask(p.len));
}

static uint16_t port_inside(SimRng *rng, const ModelNsgRule *r, ModelNsgSide side)
{
    ModelPortRange p = r->ports[side][rnd(rng, r->n_ports[side])];
    return (uint16_t)(p.lo + rnd(rng, (uint64_t)p.hi - p.lo + 1));
}

/* A packet that matches `r` (so it is decided by `r` or by a rule before it). */
static ModelFlowKey aimed_packet(SimRng *rng, const ModelNsgRule *r)
{
    static const uint8_t any[] = {MODEL_IPPROTO_TCP, MODEL_IPPROTO_UDP, MODEL_IPPROTO_ICMP};
    static const uint8_t by_proto[] = {0,
                                       MODEL_IPPROTO_TCP,
                                       MODEL_IPPROTO_UDP,
                                       MODEL_IPPROTO_ICMP,
                                       MODEL_IPPROTO_ESP,
                                       MODEL_IPPROTO_AH};
    uint8_t proto = r->protocol == MODEL_NSG_PROTO_ANY ? any[rnd(rng, 3)] : by_proto[r->protocol];
    ModelFlowKey k = {ip_inside(rng, r, MODEL_NSG_SRC), ip_inside(rng, r, MODEL_NSG_DST),
                      port_inside(rng, r, MODEL_NSG_SRC), port_inside(rng, r, MODEL_NSG_DST),
                      proto};
    return k;
}

static void fail_mismatch(uint64_t seed, int set, const ModelFlowKey *k, const ModelNsgRule *c,
                          const ModelNsgRule *l, const ModelNsgRule *r)
{
    char s[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(k->src, s);
    model_ip_format(k->dst, d);
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "seed %llu set %d: %s:%u -> %s:%u proto %u\n",
                           (unsigned long long)seed, set, s, k->sport, d, k->dport, k->proto);
    const ModelNsgRule *who[3] = {c, l, r};
    const char *what[3] = {"classifier", "linear", "reference"};
    for (int i = 0; i < 3; i++) {
        g_string_append_printf(msg, "  %s: ", what[i]);
        if (who[i])
            model_nsg_rule_describe(who[i], msg);
        else
            g_string_append(msg, "(none)");
        g_string_append_c(msg, '\n');
    }
    fail_msg("%s", msg->str);
}

static void classifier_equals_linear_scan_and_reference_on_random_rule_sets(void **state)
{
    (void)state;
    uint64_t seed = 20240611;
    const char *env = getenv("VNETSIM_NSG_SEED");
    if (env != NULL)
        seed = g_ascii_strtoull(env, NULL, 10);
    SimRng rng;
    sim_rng_seed(&rng, seed);
    size_t by_user = 0, by_default = 0, by_none = 0, largest = 0;
    for (int set = 0; set < N_SETS; set++) {
        /* Sizes 1..1000: every third set large, the rest small, and the extremes pinned. */
        size_t n_rules = set == 0       ? 1
                         : set == 1     ? MODEL_NSG_MAX_RULES
                         : set % 3 == 0 ? 1 + rnd(&rng, MODEL_NSG_MAX_RULES)
                                        : 1 + rnd(&rng, 40);
        ModelNsg *nsg = random_nsg(&rng, n_rules, set % 2 == 1);
        Edges edges = collect_edges(nsg);
        for (int d = 0; d < 2; d++) {
            ModelDirection dir = (ModelDirection)d;
            GError *err = NULL;
            ModelNsgTable *t = model_nsg_compile(nsg, dir, test_nsg_fake_resolve, NULL, &err);
            if (t == NULL)
                fail_msg("compile: %s", err->message);
            if (model_nsg_table_n_rules(t) > largest)
                largest = model_nsg_table_n_rules(t);
            size_t n_dir;
            const ModelNsgRule *const *rules = model_nsg_rules(nsg, dir, &n_dir);
            for (int p = 0; p < PACKETS_PER_SET; p++) {
                ModelFlowKey k = {packet_ip(&rng, &edges), packet_ip(&rng, &edges),
                                  packet_port(&rng, &edges), packet_port(&rng, &edges),
                                  packet_proto(&rng)};
                if (rnd(&rng, 2))
                    k = aimed_packet(&rng, rules[rnd(&rng, n_dir)]);
                const ModelNsgRule *c = model_nsg_table_classify(t, &k);
                const ModelNsgRule *l = model_nsg_table_classify_linear(t, &k);
                const ModelNsgRule *r = reference(nsg, dir, &k);
                if (c != l || l != r)
                    fail_mismatch(seed, set, &k, c, l, r);
                if (c == NULL)
                    by_none++;
                else if (c->is_default)
                    by_default++;
                else
                    by_user++;
            }
            model_nsg_table_free(t);
        }
        g_array_free(edges.ips, TRUE);
        g_array_free(edges.ports, TRUE);
        model_nsg_free(nsg);
    }
    print_message("oracle: %zu decisions by user rules, %zu by defaults, %zu by none; "
                  "largest table %zu rules\n",
                  by_user, by_default, by_none, largest);
    /* The test only means something if every kind of outcome happened often. */
    size_t total = by_user + by_default + by_none;
    assert_true(by_user > total / 5);
    assert_true(by_default > total / 20);
    assert_true(by_none > total / 50);
    assert_true(largest == MODEL_NSG_MAX_RULES + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classifier_equals_linear_scan_and_reference_on_random_rule_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
