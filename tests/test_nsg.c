/*
 * NSG rules, parsing, validation and first-match semantics, each pinned to what
 * azdocs:articles/virtual-network/network-security-groups-overview.md says (or, where it is
 * silent, to the decision written in model/nsg.h). Every decision is checked on both the
 * compiled classifier and the linear scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/nsg.h"

/* tests/test_nsg_fake.c */
extern int test_nsg_fake_calls;
bool test_nsg_fake_resolve(void *ctx, const ModelNsgAddr *item, ModelPrefix **prefixes, size_t *n,
                           GError **error);

/* Adds "a;b;asg:c" items to one side. */
static void add_items(ModelNsgRule *r, ModelNsgSide side, const char *items)
{
    char **parts = g_strsplit(items, ";", -1);
    for (char **p = parts; *p; p++) {
        if (g_str_has_prefix(*p, "asg:")) {
            model_nsg_rule_add_asg(r, side, *p + 4);
        } else {
            GError *err = NULL;
            bool ok = model_nsg_rule_add_address(r, side, *p, &err);
            if (!ok)
                fail_msg("%s", err->message);
        }
    }
    g_strfreev(parts);
}

static ModelNsgRule *mk(const char *name, int prio, ModelDirection dir, ModelAccess acc,
                        ModelNsgProtocol proto, const char *src, const char *sports,
                        const char *dst, const char *dports)
{
    ModelNsgRule *r = model_nsg_rule_new(name, prio, dir, acc, proto);
    add_items(r, MODEL_NSG_SRC, src);
    add_items(r, MODEL_NSG_DST, dst);
    assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_SRC, sports, NULL));
    assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_DST, dports, NULL));
    return r;
}

static void add_ok(ModelNsg *nsg, ModelNsgRule *r)
{
    GError *err = NULL;
    if (!model_nsg_add_rule(nsg, r, &err))
        fail_msg("add_rule: %s", err->message);
}

/* Adds and expects failure with `code`; returns the message (caller frees). */
static char *add_fails(ModelNsg *nsg, ModelNsgRule *r, int code)
{
    GError *err = NULL;
    assert_false(model_nsg_add_rule(nsg, r, &err));
    assert_non_null(err);
    assert_true(err->domain == MODEL_NSG_ERROR);
    assert_int_equal(err->code, code);
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

static ModelFlowKey flow(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                         uint16_t dport)
{
    ModelFlowKey k = {0, 0, sport, dport, proto};
    assert_true(model_ip_parse(src, &k.src));
    assert_true(model_ip_parse(dst, &k.dst));
    return k;
}

/* The deciding rule's name ("(none)" when nothing matched), from both classifiers, which
 * must agree. */
static const char *decide(const ModelNsg *nsg, ModelDirection dir, ModelFlowKey k)
{
    GError *err = NULL;
    ModelNsgTable *t = model_nsg_compile(nsg, dir, test_nsg_fake_resolve, NULL, &err);
    if (t == NULL)
        fail_msg("compile: %s", err->message);
    const ModelNsgRule *a = model_nsg_table_classify(t, &k);
    const ModelNsgRule *b = model_nsg_table_classify_linear(t, &k);
    assert_ptr_equal(a, b);
    model_nsg_table_free(t);
    return a ? a->name : "(none)";
}

#define IN    MODEL_DIR_INBOUND
#define OUT   MODEL_DIR_OUTBOUND
#define ALLOW MODEL_ACCESS_ALLOW
#define DENY  MODEL_ACCESS_DENY
#define TCP   MODEL_IPPROTO_TCP
#define UDP   MODEL_IPPROTO_UDP
#define ICMP  MODEL_IPPROTO_ICMP

/* ---- default rules ---- */

static void default_rules_are_azures_six_exactly(void **state)
{
    (void)state;
    static const struct {
        ModelDirection dir;
        const char *name;
        int prio;
        ModelAccess access;
        const char *src, *dst;
    } want[] = {
        {IN, "AllowVnetInBound", 65000, ALLOW, "VirtualNetwork", "VirtualNetwork"},
        {IN, "AllowAzureLoadBalancerInBound", 65001, ALLOW, "AzureLoadBalancer", "*"},
        {IN, "DenyAllInBound", 65500, DENY, "*", "*"},
        {OUT, "AllowVnetOutBound", 65000, ALLOW, "VirtualNetwork", "VirtualNetwork"},
        {OUT, "AllowInternetOutBound", 65001, ALLOW, "*", "Internet"},
        {OUT, "DenyAllOutBound", 65500, DENY, "*", "*"},
    };
    ModelNsg *nsg = model_nsg_new("nsg-a");
    assert_string_equal(model_nsg_name(nsg), "nsg-a");
    assert_int_equal(model_nsg_n_user_rules(nsg), 0);
    size_t k = 0;
    for (int d = 0; d < 2; d++) {
        size_t n;
        const ModelNsgRule *const *rules = model_nsg_rules(nsg, (ModelDirection)d, &n);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++, k++) {
            const ModelNsgRule *r = rules[i];
            assert_string_equal(r->name, want[k].name);
            assert_int_equal(r->direction, want[k].dir);
            assert_int_equal(r->priority, want[k].prio);
            assert_int_equal(r->access, want[k].access);
            assert_int_equal(r->protocol, MODEL_NSG_PROTO_ANY);
            assert_true(r->is_default);
            assert_int_equal(r->n_addrs[MODEL_NSG_SRC], 1);
            assert_int_equal(r->n_addrs[MODEL_NSG_DST], 1);
            assert_string_equal(r->addrs[MODEL_NSG_SRC][0].text, want[k].src);
            assert_string_equal(r->addrs[MODEL_NSG_DST][0].text, want[k].dst);
            for (int s = 0; s < 2; s++) {
                assert_int_equal(r->n_ports[s], 1);
                assert_int_equal(r->ports[s][0].lo, 0);
                assert_int_equal(r->ports[s][0].hi, 65535);
            }
        }
    }
    model_nsg_free(nsg);
}

static void default_rules_decide_when_there_are_no_user_rules(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    assert_string_equal(decide(nsg, IN, flow("10.0.1.4", "10.0.2.4", TCP, 5000, 22)),
                        "AllowVnetInBound");
    assert_string_equal(decide(nsg, IN, flow("168.63.129.16", "10.0.2.4", TCP, 5000, 80)),
                        "AllowAzureLoadBalancerInBound");
    assert_string_equal(decide(nsg, IN, flow("52.1.2.3", "10.0.2.4", TCP, 5000, 22)),
                        "DenyAllInBound");
    assert_string_equal(decide(nsg, OUT, flow("10.0.2.4", "10.8.0.9", UDP, 5000, 53)),
                        "AllowVnetOutBound");
    assert_string_equal(decide(nsg, OUT, flow("10.0.2.4", "52.1.2.3", TCP, 5000, 443)),
                        "AllowInternetOutBound");
    /* 10.9.0.1 is neither in the VNet nor in the (fake) Internet tag. */
    assert_string_equal(decide(nsg, OUT, flow("10.0.2.4", "10.9.0.1", TCP, 5000, 443)),
                        "DenyAllOutBound");
    model_nsg_free(nsg);
}

/* ---- validation ---- */

static void priority_bounds_100_and_4096_accepted_99_and_4097_rejected(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("p100", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22"));
    add_ok(nsg, mk("p4096", 4096, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22"));
    g_free(add_fails(nsg, mk("p99", 99, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22"),
                     MODEL_NSG_ERROR_RANGE));
    char *msg =
        add_fails(nsg, mk("p4097", 4097, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22"),
                  MODEL_NSG_ERROR_RANGE);
    assert_non_null(strstr(msg, "4097"));
    g_free(msg);
    /* The defaults' 65000+ are reserved to them. */
    g_free(add_fails(nsg, mk("p65000", 65000, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22"),
                     MODEL_NSG_ERROR_RANGE));
    assert_int_equal(model_nsg_n_user_rules(nsg), 2);
    model_nsg_free(nsg);
}

static void duplicate_priority_rejected_in_same_direction_naming_the_clash(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    ModelNsgRule *a = mk("AllowSsh", 200, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "22");
    a->line = 12;
    add_ok(nsg, a);
    char *msg =
        add_fails(nsg, mk("AllowHttp", 200, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"),
                  MODEL_NSG_ERROR_CONFLICT);
    assert_non_null(strstr(msg, "AllowHttp"));
    assert_non_null(strstr(msg, "'AllowSsh'"));
    assert_non_null(strstr(msg, "line 12"));
    g_free(msg);
    /* "You can't create two security rules with the same priority and direction": the other
     * direction is free. */
    add_ok(nsg, mk("OutHttp", 200, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    assert_int_equal(model_nsg_n_user_rules(nsg), 2);
    model_nsg_free(nsg);
}

static void duplicate_name_rejected_but_default_names_may_be_reused(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("Web", 200, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    g_free(add_fails(nsg, mk("web", 300, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"),
                     MODEL_NSG_ERROR_CONFLICT));
    /* A common pattern: a user rule "DenyAllInbound" at 4096 next to the default
     * DenyAllInBound (defaults live in defaultSecurityRules, a separate collection). */
    add_ok(nsg, mk("DenyAllInbound", 4096, IN, DENY, MODEL_NSG_PROTO_ANY, "*", "*", "*", "*"));
    assert_string_equal(decide(nsg, IN, flow("10.0.1.4", "10.0.2.4", TCP, 1, 22)),
                        "DenyAllInbound");
    model_nsg_free(nsg);
}

static void rule_names_follow_azures_character_rules(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    char long_name[82];
    memset(long_name, 'a', 81);
    long_name[81] = '\0';
    g_free(add_fails(nsg, mk(long_name, 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"),
                     MODEL_NSG_ERROR_LIMIT));
    long_name[80] = '\0';
    add_ok(nsg, mk(long_name, 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"));
    g_free(add_fails(nsg, mk(".dot", 101, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"),
                     MODEL_NSG_ERROR_INVALID));
    g_free(add_fails(nsg, mk("dot.", 102, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"),
                     MODEL_NSG_ERROR_INVALID));
    g_free(add_fails(nsg, mk("a b", 103, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"),
                     MODEL_NSG_ERROR_INVALID));
    g_free(add_fails(nsg, mk("", 104, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"),
                     MODEL_NSG_ERROR_INVALID));
    add_ok(nsg, mk("Allow-web.v2_", 105, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "1"));
    model_nsg_free(nsg);
}

static void rule_shape_is_validated(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    ModelNsgRule *r = model_nsg_rule_new("NoDst", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP);
    add_items(r, MODEL_NSG_SRC, "*");
    assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", NULL));
    assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_DST, "*", NULL));
    char *msg = add_fails(nsg, r, MODEL_NSG_ERROR_INVALID);
    assert_non_null(strstr(msg, "destination address"));
    g_free(msg);

    r = model_nsg_rule_new("NoPorts", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP);
    add_items(r, MODEL_NSG_SRC, "*");
    add_items(r, MODEL_NSG_DST, "*");
    assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_DST, "*", NULL));
    msg = add_fails(nsg, r, MODEL_NSG_ERROR_INVALID);
    assert_non_null(strstr(msg, "source port range"));
    g_free(msg);

    /* "you can't specify multiple service tags or application groups in a single rule" */
    g_free(add_fails(nsg,
                     mk("TwoTags", 100, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*",
                        "Storage.EastUS;AzureMachineLearning", "443"),
                     MODEL_NSG_ERROR_INVALID));
    g_free(add_fails(nsg,
                     mk("TwoAsgs", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "asg:asg-web;asg:asg-db",
                        "*", "*", "443"),
                     MODEL_NSG_ERROR_INVALID));
    g_free(add_fails(nsg,
                     mk("AsgAndPrefix", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*",
                        "asg:asg-web;10.0.1.0/24", "443"),
                     MODEL_NSG_ERROR_INVALID));
    /* A tag next to explicit prefixes on one side is left alone (only counts are limited). */
    add_ok(nsg, mk("TagAndPrefix", 100, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*",
                   "Storage.EastUS;10.0.1.0/24", "443"));
    model_nsg_free(nsg);
}

static void at_most_1000_user_rules_per_nsg(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    for (int i = 0; i < MODEL_NSG_MAX_RULES; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "r%d", i);
        ModelDirection dir = i % 2 ? OUT : IN;
        add_ok(nsg, mk(name, 100 + i / 2, dir, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    }
    assert_int_equal(model_nsg_n_user_rules(nsg), 1000);
    g_free(add_fails(nsg, mk("r1000", 4000, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"),
                     MODEL_NSG_ERROR_LIMIT));
    /* The largest table the classifier ever sees: 500 user rules + 3 defaults. */
    assert_string_equal(decide(nsg, IN, flow("1.2.3.4", "10.0.0.1", TCP, 1, 80)), "r0");
    assert_string_equal(decide(nsg, IN, flow("1.2.3.4", "10.0.0.1", TCP, 1, 81)), "DenyAllInBound");
    model_nsg_free(nsg);
}

static void rules_are_kept_in_priority_order_with_defaults_last(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("c", 300, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    add_ok(nsg, mk("a", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    add_ok(nsg, mk("b", 200, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "*", "80"));
    size_t n;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, IN, &n);
    assert_int_equal(n, 6);
    const char *want[] = {
        "a", "b", "c", "AllowVnetInBound", "AllowAzureLoadBalancerInBound", "DenyAllInBound"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(rules[i]->name, want[i]);
    model_nsg_free(nsg);
}

/* ---- matching ---- */

static void first_match_by_priority_wins(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    /* Added out of order on purpose: priority, not insertion, decides. */
    add_ok(nsg, mk("AllowSshFromSubnet", 300, IN, ALLOW, MODEL_NSG_PROTO_TCP, "10.0.1.0/24", "*",
                   "*", "22"));
    add_ok(nsg,
           mk("DenySshFromHost", 200, IN, DENY, MODEL_NSG_PROTO_TCP, "10.0.1.7", "*", "*", "22"));
    /* The deny at 200 overrides both the allow at 300 and AllowVnetInBound at 65000. */
    assert_string_equal(decide(nsg, IN, flow("10.0.1.7", "10.0.2.4", TCP, 40000, 22)),
                        "DenySshFromHost");
    assert_string_equal(decide(nsg, IN, flow("10.0.1.8", "10.0.2.4", TCP, 40000, 22)),
                        "AllowSshFromSubnet");
    assert_string_equal(decide(nsg, IN, flow("10.0.1.7", "10.0.2.4", TCP, 40000, 80)),
                        "AllowVnetInBound");
    /* An NSG rule's address with host bits ("10.0.1.7/24") is its network. */
    add_ok(nsg,
           mk("DenyHostBits", 100, IN, DENY, MODEL_NSG_PROTO_UDP, "10.0.3.9/24", "*", "*", "*"));
    assert_string_equal(decide(nsg, IN, flow("10.0.3.200", "10.0.2.4", UDP, 1, 53)),
                        "DenyHostBits");
    model_nsg_free(nsg);
}

static void augmented_rule_matches_any_listed_prefix_and_port(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("AllowWeb", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "203.0.113.0/24;198.51.100.7",
                   "*", "*", "80, 443, 10000-10005"));
    add_ok(nsg, mk("DenyRest", 4000, IN, DENY, MODEL_NSG_PROTO_ANY, "*", "*", "*", "*"));
    const char *src[] = {"203.0.113.1", "203.0.113.255", "198.51.100.7"};
    uint16_t ports[] = {80, 443, 10000, 10003, 10005};
    for (size_t i = 0; i < G_N_ELEMENTS(src); i++)
        for (size_t j = 0; j < G_N_ELEMENTS(ports); j++)
            assert_string_equal(decide(nsg, IN, flow(src[i], "10.0.2.4", TCP, 1234, ports[j])),
                                "AllowWeb");
    assert_string_equal(decide(nsg, IN, flow("198.51.100.8", "10.0.2.4", TCP, 1234, 443)),
                        "DenyRest");
    assert_string_equal(decide(nsg, IN, flow("203.0.113.1", "10.0.2.4", TCP, 1234, 10006)),
                        "DenyRest");
    assert_string_equal(decide(nsg, IN, flow("203.0.114.1", "10.0.2.4", TCP, 1234, 80)),
                        "DenyRest");
    assert_string_equal(decide(nsg, IN, flow("203.0.113.1", "10.0.2.4", UDP, 1234, 80)),
                        "DenyRest");
    model_nsg_free(nsg);
}

/* "In the Protocol column, Any encompasses TCP, UDP, and ICMP." (overview, default rules).
 * ESP and AH are matched only by rules naming them; with only the defaults nothing matches
 * and the caller must report the flow as unsupported rather than guess. */
static void protocol_any_covers_tcp_udp_icmp_but_not_esp_or_ah(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg,
           mk("DenyAnyFromHost", 100, IN, DENY, MODEL_NSG_PROTO_ANY, "10.0.1.7", "*", "*", "*"));
    const char *src = "10.0.1.7", *dst = "10.0.2.4";
    assert_string_equal(decide(nsg, IN, flow(src, dst, TCP, 1, 2)), "DenyAnyFromHost");
    assert_string_equal(decide(nsg, IN, flow(src, dst, UDP, 1, 2)), "DenyAnyFromHost");
    assert_string_equal(decide(nsg, IN, flow(src, dst, ICMP, 0, 0)), "DenyAnyFromHost");
    assert_string_equal(decide(nsg, IN, flow(src, dst, MODEL_IPPROTO_ESP, 0, 0)), "(none)");
    assert_string_equal(decide(nsg, IN, flow(src, dst, MODEL_IPPROTO_AH, 0, 0)), "(none)");
    assert_string_equal(decide(nsg, IN, flow(src, dst, 47 /* GRE */, 0, 0)), "(none)");
    add_ok(nsg, mk("AllowEsp", 200, IN, ALLOW, MODEL_NSG_PROTO_ESP, "*", "*", "*", "*"));
    add_ok(nsg, mk("AllowAh", 300, IN, ALLOW, MODEL_NSG_PROTO_AH, "*", "*", "*", "*"));
    assert_string_equal(decide(nsg, IN, flow(src, dst, MODEL_IPPROTO_ESP, 0, 0)), "AllowEsp");
    assert_string_equal(decide(nsg, IN, flow(src, dst, MODEL_IPPROTO_AH, 0, 0)), "AllowAh");
    assert_string_equal(decide(nsg, IN, flow(src, dst, TCP, 1, 2)), "DenyAnyFromHost");
    model_nsg_free(nsg);
}

/* ICMP has no ports: Microsoft's answer is to "use any/any in the ports field"
 * (MicrosoftDocs/azure-docs#37413), and a port-restricted Any rule does not pass pings
 * (observed). So a portless flow matches only rules whose port fields are "*". */
static void icmp_matches_only_rules_whose_ports_are_any(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("AllowAny9000", 100, IN, ALLOW, MODEL_NSG_PROTO_ANY, "*", "*", "*", "9000"));
    add_ok(nsg, mk("AllowIcmpType8", 110, IN, ALLOW, MODEL_NSG_PROTO_ICMP, "*", "*", "*", "8"));
    add_ok(nsg, mk("DenyIcmp", 120, IN, DENY, MODEL_NSG_PROTO_ICMP, "*", "*", "*", "*"));
    ModelFlowKey ping = flow("10.0.1.7", "10.0.2.4", ICMP, 0, 0);
    assert_string_equal(decide(nsg, IN, ping), "DenyIcmp");
    ping.dport = 9000; /* whatever a caller leaves in the port fields is ignored */
    assert_string_equal(decide(nsg, IN, ping), "DenyIcmp");
    assert_string_equal(decide(nsg, IN, flow("10.0.1.7", "10.0.2.4", TCP, 1, 9000)),
                        "AllowAny9000");
    /* Ports written as "0-65535" or as pieces covering it mean "*". */
    add_ok(nsg, mk("AllowIcmpFull", 105, IN, ALLOW, MODEL_NSG_PROTO_ICMP, "*", "0-100,101-65535",
                   "*", "0-65535"));
    assert_string_equal(decide(nsg, IN, ping), "AllowIcmpFull");
    model_nsg_free(nsg);
}

static void asg_resolves_through_the_resolver(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg,
           mk("AllowWebAsg", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "asg:asg-web", "443"));
    add_ok(nsg, mk("DenyAll", 4096, IN, DENY, MODEL_NSG_PROTO_ANY, "*", "*", "*", "*"));
    assert_string_equal(decide(nsg, IN, flow("52.1.2.3", "10.0.1.4", TCP, 1, 443)), "AllowWebAsg");
    assert_string_equal(decide(nsg, IN, flow("52.1.2.3", "10.0.1.5", TCP, 1, 443)), "AllowWebAsg");
    assert_string_equal(decide(nsg, IN, flow("52.1.2.3", "10.0.1.6", TCP, 1, 443)), "DenyAll");
    model_nsg_free(nsg);
}

static void service_tags_resolve_once_per_compile(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    for (int i = 0; i < 20; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "s%d", i);
        add_ok(nsg, mk(name, 100 + i, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "VirtualNetwork", "*",
                       "Storage.EastUS", "443"));
    }
    test_nsg_fake_calls = 0;
    ModelNsgTable *t = model_nsg_compile(nsg, OUT, test_nsg_fake_resolve, NULL, NULL);
    assert_non_null(t);
    /* VirtualNetwork, Storage.EastUS, Internet: once each. */
    assert_int_equal(test_nsg_fake_calls, 3);
    assert_int_equal(model_nsg_table_n_rules(t), 23);
    assert_true(model_nsg_table_memory(t) > 0);
    ModelFlowKey k = flow("10.0.2.4", "20.60.4.9", TCP, 1, 443);
    assert_string_equal(model_nsg_table_classify(t, &k)->name, "s0");
    model_nsg_table_free(t);
    model_nsg_free(nsg);
}

static void unknown_tag_fails_compile_naming_the_rule(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    ModelNsgRule *r =
        mk("ToNowhere", 100, OUT, ALLOW, MODEL_NSG_PROTO_TCP, "*", "*", "NoSuchTag", "443");
    r->line = 41;
    add_ok(nsg, r);
    GError *err = NULL;
    assert_null(model_nsg_compile(nsg, OUT, test_nsg_fake_resolve, NULL, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "rule 'ToNowhere' (line 41): "));
    assert_non_null(strstr(err->message, "NoSuchTag"));
    g_clear_error(&err);
    /* The inbound direction does not use the rule and compiles. */
    ModelNsgTable *t = model_nsg_compile(nsg, IN, test_nsg_fake_resolve, NULL, NULL);
    assert_non_null(t);
    model_nsg_table_free(t);
    /* A resolver that fails without an error still yields one. */
    assert_null(model_nsg_compile(nsg, OUT, NULL, NULL, &err));
    assert_non_null(strstr(err->message, "NoSuchTag"));
    g_error_free(err);
    model_nsg_free(nsg);
}

static void empty_resolved_set_matches_nothing(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    add_ok(nsg, mk("ToEmpty", 100, OUT, DENY, MODEL_NSG_PROTO_ANY, "*", "*", "Empty", "*"));
    assert_string_equal(decide(nsg, OUT, flow("10.0.2.4", "52.1.2.3", TCP, 1, 443)),
                        "AllowInternetOutBound");
    model_nsg_free(nsg);
}

static void mentions_tag_finds_azure_platform_dns(void **state)
{
    (void)state;
    ModelNsg *nsg = model_nsg_new("nsg");
    /* Defaults name VirtualNetwork, AzureLoadBalancer and Internet, never the platform tags. */
    assert_false(model_nsg_mentions_tag(nsg, "AzurePlatformDNS"));
    assert_true(model_nsg_mentions_tag(nsg, "AzureLoadBalancer"));
    add_ok(nsg,
           mk("DenyDns", 100, OUT, DENY, MODEL_NSG_PROTO_ANY, "*", "*", "AzurePlatformDNS", "53"));
    assert_true(model_nsg_mentions_tag(nsg, "AzurePlatformDNS"));
    assert_true(model_nsg_mentions_tag(nsg, "azureplatformdns"));
    assert_false(model_nsg_mentions_tag(nsg, "AzurePlatformIMDS"));
    assert_string_equal(decide(nsg, OUT, flow("10.0.2.4", "168.63.129.16", UDP, 1, 53)), "DenyDns");
    model_nsg_free(nsg);
}

static void describe_gives_one_line_for_traces(void **state)
{
    (void)state;
    ModelNsgRule *r = mk("AllowBatchInbound", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP,
                         "BatchNodeManagement", "*", "*", "29876-29877");
    GString *s = g_string_new(NULL);
    model_nsg_rule_describe(r, s);
    assert_string_equal(s->str, "AllowBatchInbound (priority 100, Inbound, Allow, Tcp "
                                "BatchNodeManagement:* -> *:29876-29877)");
    model_nsg_rule_free(r);
    g_string_truncate(s, 0);
    r = mk("Aug", 200, OUT, DENY, MODEL_NSG_PROTO_ANY, "10.0.0.5/24;asg-x", "1-2,3", "Internet",
           "80, 443");
    model_nsg_rule_describe(r, s);
    assert_string_equal(s->str, "Aug (priority 200, Outbound, Deny, Any 10.0.0.5/24,asg-x:1-2,3 -> "
                                "Internet:80,443)");
    model_nsg_rule_free(r);
    g_string_free(s, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_rules_are_azures_six_exactly),
        cmocka_unit_test(default_rules_decide_when_there_are_no_user_rules),
        cmocka_unit_test(priority_bounds_100_and_4096_accepted_99_and_4097_rejected),
        cmocka_unit_test(duplicate_priority_rejected_in_same_direction_naming_the_clash),
        cmocka_unit_test(duplicate_name_rejected_but_default_names_may_be_reused),
        cmocka_unit_test(rule_names_follow_azures_character_rules),
        cmocka_unit_test(rule_shape_is_validated),
        cmocka_unit_test(at_most_1000_user_rules_per_nsg),
        cmocka_unit_test(rules_are_kept_in_priority_order_with_defaults_last),
        cmocka_unit_test(first_match_by_priority_wins),
        cmocka_unit_test(augmented_rule_matches_any_listed_prefix_and_port),
        cmocka_unit_test(protocol_any_covers_tcp_udp_icmp_but_not_esp_or_ah),
        cmocka_unit_test(icmp_matches_only_rules_whose_ports_are_any),
        cmocka_unit_test(asg_resolves_through_the_resolver),
        cmocka_unit_test(service_tags_resolve_once_per_compile),
        cmocka_unit_test(unknown_tag_fails_compile_naming_the_rule),
        cmocka_unit_test(empty_resolved_set_matches_nothing),
        cmocka_unit_test(mentions_tag_finds_azure_platform_dns),
        cmocka_unit_test(describe_gives_one_line_for_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
