/*
 * test_lint.c — `vnetsim lint`: each documented pitfall found in a file made for it
 * (tests/data/lint/), silence on the clean shipped scenarios, NSG shadowing checked
 * against the compiled classifier on random rule sets, the PaaS checks on nets built in
 * code (their schema keys have not landed), and the table of checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "model/lint.h"
#include "model/prefixset.h"
#include "model/scn_load.h"
#include "tools/cli_why.h"

static char *data_path(const char *rel)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    return g_build_filename(src ? src : ".", rel, NULL);
}

/* Runs `vnetsim lint` in-process; returns the exit code and stdout. */
static int lint(const char *rel, char **out)
{
    g_autofree char *path = data_path(rel);
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *o = open_memstream(&buf, &len), *e = open_memstream(&ebuf, &elen);
    int rc = cli_lint(path, true, o, e);
    fclose(o);
    fclose(e);
    if (rc == CLI_EXIT_USAGE)
        print_error("%s", ebuf);
    free(ebuf);
    *out = g_strdup(buf);
    free(buf);
    return rc;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static unsigned lines(const char *text)
{
    unsigned n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* ---- one file per pitfall ---- */

typedef struct {
    const char *file;
    int rc;
    const char *expect[6]; /* substrings of the output, NULL-terminated */
} Pitfall;

static const Pitfall pitfalls[] = {
    {"tests/data/lint/nsg-shadowed.yaml",
     CLI_EXIT_FAILED,
     {"error nsg-db/AllowSshFromApp: never matches: DenySshFromVnet (200, Deny) matches every "
      "packet it covers first, and denies it [azure-facts §1]",
      "warning nsg-db/AllowWebUnion: never matches: redundant, AllowHttpsLow (210, Allow), "
      "AllowHttpsHigh (220, Allow) already allow",
      "warning nsg-db/AllowRdpFromVnet: partly overridden: part of the traffic it would allow is "
      "matched first by DenyRdpFromApp (250, Deny)",
      "warning nsg-db/AllowAnyFromCorp: partly overridden",
      "info nsg-db/DenyTcpFromCorp: partly overridden", NULL}},
    {"tests/data/lint/address-overlap.yaml",
     CLI_EXIT_OK,
     {"warning vnet-a: virtual network vnet-a (10.0.0.0/16) overlaps virtual network vnet-b "
      "(10.0.128.0/17): they can never be peered",
      NULL}},
    {"tests/data/lint/docker-bridge.yaml",
     CLI_EXIT_FAILED,
     {"error vnet-ml: address space 172.16.0.0/12 overlaps 172.17.0.0/16, the Docker bridge's "
      "default range",
      "[domain §6]", NULL}},
    {"tests/data/lint/gateway-subnet.yaml",
     CLI_EXIT_FAILED,
     {"error vnet-hub/GatewaySubnet: has network security group nsg-gw",
      "error vnet-hub/GatewaySubnet: route table rt-gw sends 0.0.0.0/0 elsewhere",
      "error vnet-hub/GatewaySubnet: route table rt-gw disables gateway route propagation",
      "error vnet-hub/GatewaySubnet: holds nva",
      "warning vnet-hub/GatewaySubnet: is a /28: /27 or larger is recommended", NULL}},
    {"tests/data/lint/bastion-subnet.yaml",
     CLI_EXIT_FAILED,
     {"error vnet-hub/AzureBastionSubnet: is a /27: Azure Bastion needs /26 or larger "
      "[azure-facts §6]",
      NULL}},
    {"tests/data/lint/forced-tunnel-public-ip.yaml",
     CLI_EXIT_OK,
     {"warning cpu-node: has public IP 52.191.2.10 but subnet vnet-ml/snet-training sends "
      "0.0.0.0/0 to VirtualAppliance (rt-training/default-to-nva)",
      NULL}},
    {"tests/data/lint/appliance-next-hop.yaml",
     CLI_EXIT_FAILED,
     {"error rt-a/to-vm: next hop 10.0.2.4 is vm-b, whose NIC has IP forwarding off",
      "error rt-a/to-nowhere: next hop 10.0.2.99 is no NIC's address", NULL}},
    {"tests/data/lint/broad-service-tag.yaml",
     CLI_EXIT_OK,
     {"info nsg/AllowStorage: allows every resource behind service tag Storage.EastUS", NULL}},
};

static void pitfalls_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(pitfalls); i++) {
        g_autofree char *out = NULL;
        int rc = lint(pitfalls[i].file, &out);
        if (rc != pitfalls[i].rc)
            fail_msg("%s: exit %d, expected %d:\n%s", pitfalls[i].file, rc, pitfalls[i].rc, out);
        for (size_t k = 0; pitfalls[i].expect[k]; k++)
            assert_has(out, pitfalls[i].expect[k]);
        unsigned n = 0;
        while (pitfalls[i].expect[n])
            n++;
        /* Nothing else: every finding of the file is one it was made for. */
        if (strcmp(pitfalls[i].file, "tests/data/lint/docker-bridge.yaml") != 0 && lines(out) != n)
            fail_msg("%s: %u findings, expected %u:\n%s", pitfalls[i].file, lines(out), n, out);
    }
}

/* ---- the shipped scenarios ---- */

/* Shipped scenarios that teach a mistake lint can see, and the finding. Every other
 * shipped scenario must lint clean: a new scenario that shows a lint-visible mistake on
 * purpose adds its line here. */
static const struct {
    const char *file, *finding;
} taught[] = {
    {"nsg-order.yaml", "error nsg-db/AllowSshFromWeb1: never matches: DenySshFromVnet (200, "
                       "Deny) matches every packet it covers first, and denies it"},
    {"forced-tunneling.yaml", "warning cpu-node: has public IP 52.191.2.10 but subnet "
                              "vnet-ml/snet-training sends 0.0.0.0/0 to VirtualAppliance"},
    {"no-trusted-access.yaml", "warning mlwsstore: admits neither trusted services nor a "
                               "resource instance rule for workspace mlws"},
    {"service-endpoint-subnet.yaml", "error mlwsstore: is reached through service endpoints, "
                                     "but no VNet rule names the subnet of workspace mlws's "
                                     "private endpoint"},
    {"storage-pe-other-vnet.yaml", "error mlwsstore: has private endpoints, but none in the VNet "
                                   "of workspace mlws's private endpoint"},
};

static void collect_yaml(const char *dir, GPtrArray *out)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (name[0] == '.' || name[0] == '_')
            continue;
        char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            collect_yaml(path, out);
        else if (g_str_has_suffix(name, ".yaml"))
            g_ptr_array_add(out, g_strdup(path));
        g_free(path);
    }
    if (d)
        g_dir_close(d);
}

static void shipped_scenarios(void **state)
{
    (void)state;
    g_autofree char *root = data_path("scenarios");
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    collect_yaml(root, files);
    assert_true(files->len >= 4);
    for (guint i = 0; i < files->len; i++) {
        const char *path = files->pdata[i];
        g_autofree char *base = g_path_get_basename(path);
        char *buf = NULL, *ebuf = NULL;
        size_t len = 0, elen = 0;
        FILE *o = open_memstream(&buf, &len), *e = open_memstream(&ebuf, &elen);
        int rc = cli_lint(path, false, o, e);
        fclose(o);
        fclose(e);
        assert_int_not_equal(rc, CLI_EXIT_USAGE);
        const char *want = NULL;
        for (size_t k = 0; k < G_N_ELEMENTS(taught); k++)
            if (strcmp(taught[k].file, base) == 0)
                want = taught[k].finding;
        if (want) {
            assert_has(buf, want);
            assert_int_equal(lines(buf), 1);
        } else if (len) {
            fail_msg("%s should lint clean, got:\n%s", path, buf);
        }
        free(buf);
        free(ebuf);
    }
    g_ptr_array_free(files, TRUE);
}

static void bad_input_exits_2(void **state)
{
    (void)state;
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *o = open_memstream(&buf, &len), *e = open_memstream(&ebuf, &elen);
    g_autofree char *path = data_path("tests/data/scn/unknown-key.yaml");
    assert_int_equal(cli_lint(path, false, o, e), CLI_EXIT_USAGE);
    fclose(o);
    fclose(e);
    assert_int_equal(len, 0);
    assert_has(ebuf, "unknown-key.yaml:7:9: unknown key 'adressPrefix'");
    free(buf);
    free(ebuf);
}

/* ---- shadowing, against the classifier ---- */

/* A deterministic xorshift: the same rule sets on every run. */
static uint32_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 16);
}

/* Resolves as model_nsg_shadow does for an NSG attached nowhere: service tags from the
 * net's table, VirtualNetwork and Internet empty (only the default rules name them). */
static bool resolve_tags(void *ctx, const ModelNsgAddr *item, ModelPrefix **p, size_t *n,
                         GError **error)
{
    (void)error;
    const ModelPrefixSet *set = model_service_tags_lookup(model_net_service_tags(ctx), item->text);
    *n = set ? set->len : 0;
    *p = *n ? g_memdup2(set->items, *n * sizeof **p) : NULL;
    return true;
}

/* Small universes so random rules overlap a lot: addresses in 10.0.0.0/28, ports 0-15 or
 * "*", all five protocols. */
static void random_side(uint64_t *s, ModelNsgRule *r, ModelNsgSide side)
{
    static const char *const addrs[] = {"*",           "*",           "10.0.0.0/28",
                                        "10.0.0.0/29", "10.0.0.8/29", "10.0.0.4/30",
                                        "10.0.0.5",    "10.0.0.12/30"};
    static const char *const ports[] = {"*", "*",   "*",    "0-7",     "8-15",
                                        "3", "4-9", "0-15", "16-65535"};
    unsigned n = 1 + rnd(s) % 2;
    for (unsigned i = 0; i < n; i++)
        assert_true(model_nsg_rule_add_address(r, side, addrs[rnd(s) % G_N_ELEMENTS(addrs)], NULL));
    const char *p = ports[rnd(s) % G_N_ELEMENTS(ports)];
    assert_true(model_nsg_rule_add_ports(r, side, p, NULL));
}

/* Representative points: every cell of the grid the rules' boundaries cut each dimension
 * into is uniform (every rule matches all of it or none), so its low corner stands for it. */
static void boundaries(GArray *cuts, uint32_t lo, uint32_t hi_plus_1)
{
    g_array_append_val(cuts, lo);
    g_array_append_val(cuts, hi_plus_1);
}

static gint u32_cmp(gconstpointer a, gconstpointer b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void dedupe(GArray *a)
{
    g_array_sort(a, u32_cmp);
    guint w = 0;
    for (guint r = 0; r < a->len; r++)
        if (!w || g_array_index(a, uint32_t, w - 1) != g_array_index(a, uint32_t, r))
            g_array_index(a, uint32_t, w++) = g_array_index(a, uint32_t, r);
    g_array_set_size(a, w);
}

/* A rule for a port-less protocol with narrowed ports matches no packet at all. */
static bool matches_nothing(const ModelNsgRule *r)
{
    if (r->protocol != MODEL_NSG_PROTO_ICMP && r->protocol != MODEL_NSG_PROTO_ESP &&
        r->protocol != MODEL_NSG_PROTO_AH)
        return false;
    for (int side = 0; side < 2; side++) {
        bool full = false;
        for (size_t k = 0; k < r->n_ports[side]; k++)
            full = full || (r->ports[side][k].lo == 0 && r->ports[side][k].hi == 65535);
        if (!full)
            return true;
    }
    return false;
}

static void shadow_matches_classifier(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    ModelNet *net = model_net_new("eastus", NULL);
    static const uint8_t protos[] = {MODEL_IPPROTO_TCP, MODEL_IPPROTO_UDP, MODEL_IPPROTO_ICMP,
                                     MODEL_IPPROTO_ESP, MODEL_IPPROTO_AH};
    static const ModelNsgProtocol rule_protos[] = {MODEL_NSG_PROTO_ANY, MODEL_NSG_PROTO_TCP,
                                                   MODEL_NSG_PROTO_UDP, MODEL_NSG_PROTO_ICMP,
                                                   MODEL_NSG_PROTO_ESP, MODEL_NSG_PROTO_AH};
    unsigned shadowed = 0, partial = 0;
    for (int round = 0; round < 200; round++) {
        ModelNsg *nsg = model_nsg_new("nsg");
        unsigned n = 3 + rnd(&seed) % 7;
        for (unsigned i = 0; i < n; i++) {
            g_autofree char *name = g_strdup_printf("r%u", i);
            ModelNsgRule *r =
                model_nsg_rule_new(name, 100 + (int)i * 10, MODEL_DIR_INBOUND,
                                   rnd(&seed) % 2 ? MODEL_ACCESS_ALLOW : MODEL_ACCESS_DENY,
                                   rule_protos[rnd(&seed) % G_N_ELEMENTS(rule_protos)]);
            random_side(&seed, r, MODEL_NSG_SRC);
            random_side(&seed, r, MODEL_NSG_DST);
            assert_true(model_nsg_add_rule(nsg, r, NULL));
        }
        ModelNsgTable *t = model_nsg_compile(nsg, MODEL_DIR_INBOUND, resolve_tags, net, NULL);
        assert_non_null(t);
        size_t count = 0;
        const ModelNsgRule *const *rules = model_nsg_rules(nsg, MODEL_DIR_INBOUND, &count);
        GArray *acut = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        GArray *pcut = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        boundaries(acut, 0, MODEL_IP4(10, 0, 0, 16));
        boundaries(pcut, 0, 16);
        for (size_t i = 0; i < n; i++)
            for (int side = 0; side < 2; side++) {
                for (size_t a = 0; a < rules[i]->n_addrs[side]; a++) {
                    ModelPrefix p = rules[i]->addrs[side][a].prefix;
                    uint64_t end = (uint64_t)p.addr + ((uint64_t)1 << (32 - p.len));
                    boundaries(acut, p.addr, end > G_MAXUINT32 ? G_MAXUINT32 : (uint32_t)end);
                }
                for (size_t k = 0; k < rules[i]->n_ports[side]; k++)
                    boundaries(pcut, rules[i]->ports[side][k].lo,
                               (uint32_t)rules[i]->ports[side][k].hi + 1);
            }
        dedupe(acut);
        dedupe(pcut);
        /* Which rules ever decide a representative point. */
        bool *decides = g_new0(bool, count);
        for (guint s = 0; s < acut->len; s++)
            for (guint d = 0; d < acut->len; d++)
                for (guint sp = 0; sp < pcut->len; sp++)
                    for (guint dp = 0; dp < pcut->len; dp++)
                        for (size_t pr = 0; pr < G_N_ELEMENTS(protos); pr++) {
                            bool ported =
                                protos[pr] == MODEL_IPPROTO_TCP || protos[pr] == MODEL_IPPROTO_UDP;
                            if (!ported && (sp || dp))
                                continue;
                            uint32_t spv = g_array_index(pcut, uint32_t, sp);
                            uint32_t dpv = g_array_index(pcut, uint32_t, dp);
                            if (spv > 65535 || dpv > 65535)
                                continue;
                            ModelFlowKey k = {
                                .src = g_array_index(acut, uint32_t, s),
                                .dst = g_array_index(acut, uint32_t, d),
                                .sport = ported ? (uint16_t)spv : 0,
                                .dport = ported ? (uint16_t)dpv : 0,
                                .proto = protos[pr],
                            };
                            const ModelNsgRule *hit = model_nsg_table_classify(t, &k);
                            for (size_t i = 0; hit && i < count; i++)
                                if (rules[i] == hit)
                                    decides[i] = true;
                        }
        for (size_t i = 0; i < count; i++) {
            if (rules[i]->is_default)
                continue;
            ModelNsgShadow sh;
            model_nsg_shadow(net, NULL, nsg, MODEL_DIR_INBOUND, i, &sh);
            assert_false(sh.gave_up);
            /* Shadowed exactly when no point is decided by the rule (a rule that matches
             * nothing at all, e.g. Esp with narrowed ports, counts as not shadowed). */
            if (sh.covered && decides[i])
                fail_msg("round %d: rule %s reported shadowed but decides a point", round,
                         rules[i]->name);
            if (!sh.covered && !decides[i] && !matches_nothing(rules[i]))
                fail_msg("round %d: rule %s decides no point but was not reported shadowed", round,
                         rules[i]->name);
            shadowed += sh.covered;
            partial += !sh.covered && sh.blockers->len > 0;
            model_nsg_shadow_clear(&sh);
        }
        g_free(decides);
        g_array_free(acut, TRUE);
        g_array_free(pcut, TRUE);
        model_nsg_table_free(t);
        model_nsg_free(nsg);
    }
    print_message("%u shadowed, %u partly overridden\n", shadowed, partial);
    /* The random sets exercise both answers. */
    assert_true(shadowed > 20);
    assert_true(partial > 20);
    model_net_free(net);
}

/* The converse: a rule no point is decided by, which matches something, is reported
 * covered. Checked on hand-made cases where the union matters. */
static void shadow_by_union(void **state)
{
    (void)state;
    ModelNet *net = model_net_new("eastus", NULL);
    ModelNsg *nsg = model_nsg_new("nsg");
    struct {
        const char *name, *src, *sport, *dport;
        ModelNsgProtocol proto;
        ModelAccess access;
    } rs[] = {
        {"low", "10.0.0.0/25", "*", "*", MODEL_NSG_PROTO_ANY, MODEL_ACCESS_DENY},
        {"high", "10.0.0.128/25", "*", "*", MODEL_NSG_PROTO_TCP, MODEL_ACCESS_DENY},
        {"high-udp", "10.0.0.128/25", "*", "*", MODEL_NSG_PROTO_UDP, MODEL_ACCESS_DENY},
        {"high-icmp", "10.0.0.128/25", "*", "*", MODEL_NSG_PROTO_ICMP, MODEL_ACCESS_DENY},
        {"whole", "10.0.0.0/24", "*", "*", MODEL_NSG_PROTO_ANY, MODEL_ACCESS_ALLOW},
        {"esp", "10.0.0.0/24", "*", "*", MODEL_NSG_PROTO_ESP, MODEL_ACCESS_ALLOW},
        {"ports-a", "*", "0-1000", "22", MODEL_NSG_PROTO_TCP, MODEL_ACCESS_ALLOW},
        {"ports-b", "*", "1001-65535", "22", MODEL_NSG_PROTO_TCP, MODEL_ACCESS_ALLOW},
        {"ssh", "192.168.0.0/16", "*", "22", MODEL_NSG_PROTO_TCP, MODEL_ACCESS_DENY},
        {"ssh-udp", "192.168.0.0/16", "*", "22", MODEL_NSG_PROTO_ANY, MODEL_ACCESS_DENY},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rs); i++) {
        ModelNsgRule *r = model_nsg_rule_new(rs[i].name, 100 + (int)i, MODEL_DIR_INBOUND,
                                             rs[i].access, rs[i].proto);
        assert_true(model_nsg_rule_add_address(r, MODEL_NSG_SRC, rs[i].src, NULL));
        assert_true(model_nsg_rule_add_address(r, MODEL_NSG_DST, "*", NULL));
        assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_SRC, rs[i].sport, NULL));
        assert_true(model_nsg_rule_add_ports(r, MODEL_NSG_DST, rs[i].dport, NULL));
        assert_true(model_nsg_add_rule(nsg, r, NULL));
    }
    struct {
        size_t index;
        bool covered;
        unsigned blockers;
    } want[] = {
        {4, true, 4},  /* whole = low ∪ high ∪ high-udp ∪ high-icmp, all protocols of Any */
        {5, false, 0}, /* Esp: Any does not include it */
        {8, true, 2},  /* ssh: the two port halves of ports-a, ports-b */
        {9, false, 2}, /* ssh-udp: its Udp and Icmp parts remain (Icmp: ports are not "*") */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        ModelNsgShadow sh;
        model_nsg_shadow(net, NULL, nsg, MODEL_DIR_INBOUND, want[i].index, &sh);
        if (sh.covered != want[i].covered || sh.blockers->len != want[i].blockers)
            fail_msg("rule %s: covered %d blockers %u, expected %d and %u", rs[want[i].index].name,
                     sh.covered, sh.blockers->len, want[i].covered, want[i].blockers);
        model_nsg_shadow_clear(&sh);
    }
    model_nsg_free(nsg);
    model_net_free(net);
}

/* ---- the PaaS checks, on nets built in code ---- */

static GPtrArray *lint_services(ModelAcrSku sku, bool same_vnet, bool trusted)
{
    GError *err = NULL;
    ModelNet *net = model_net_new("eastus", NULL);
    ModelPrefix a = {MODEL_IP4(10, 0, 0, 0), 16}, b = {MODEL_IP4(10, 1, 0, 0), 16};
    ModelVnet *va = model_net_add_vnet(net, "vnet-ml", &a, 1, &err);
    ModelVnet *vb = model_net_add_vnet(net, "vnet-other", &b, 1, &err);
    ModelSubnet *sa =
        model_net_add_subnet(net, va, "snet-pe", (ModelPrefix){a.addr | 0x100, 24}, &err);
    ModelSubnet *sb =
        model_net_add_subnet(net, vb, "snet-pe", (ModelPrefix){b.addr | 0x100, 24}, &err);
    assert_non_null(sa);
    assert_non_null(sb);
    ModelService *ws =
        model_net_add_workspace(net, "mlws", "6b5c8a44-0d2e-4d7e-9a3c-0123456789ab", &err);
    ModelService *st = model_net_add_storage_account(net, "mlwsstore", &err);
    ModelService *acr = model_net_add_container_registry(net, "mlwsacr", sku, &err);
    ModelService *kv = model_net_add_key_vault(net, "mlwskv", &err);
    assert_non_null(ws);
    assert_non_null(st);
    assert_non_null(acr);
    assert_non_null(kv);
    assert_non_null(model_service_add_private_endpoint(net, ws, "pe-ws", "amlworkspace", sa,
                                                       MODEL_IP4(10, 0, 1, 5), &err));
    assert_non_null(model_service_add_private_endpoint(
        net, st, "pe-blob", "blob", same_vnet ? sa : sb,
        MODEL_IP4(same_vnet ? 10 : 10, same_vnet ? 0 : 1, 1, 6), &err));
    assert_true(model_service_set_public_access(st, MODEL_PUBLIC_ACCESS_DISABLED, &err));
    assert_true(model_service_set_trusted_services(st, trusted, &err));
    assert_true(model_service_set_public_access(kv, MODEL_PUBLIC_ACCESS_DISABLED, &err));
    assert_true(model_service_set_trusted_services(kv, trusted, &err));
    if (!model_net_finalize(net, &err))
        fail_msg("finalize: %s", err->message);
    GPtrArray *f = model_lint_net(net);
    model_net_free(net);
    return f;
}

static bool has_finding(GPtrArray *f, const char *check, const char *object)
{
    for (guint i = 0; i < f->len; i++) {
        const ModelLintFinding *x = f->pdata[i];
        if (strcmp(x->check, check) == 0 && strcmp(x->object, object) == 0)
            return true;
    }
    return false;
}

static void service_checks(void **state)
{
    (void)state;
    GPtrArray *bad = lint_services(MODEL_ACR_BASIC, false, false);
    assert_true(has_finding(bad, "acr-premium", "mlwsacr"));
    assert_true(has_finding(bad, "storage-placement", "mlwsstore"));
    assert_true(has_finding(bad, "storage-data-profiling", "mlwsstore"));
    assert_true(has_finding(bad, "key-vault-trusted-services", "mlwskv"));
    g_ptr_array_free(bad, TRUE);
    GPtrArray *good = lint_services(MODEL_ACR_PREMIUM, true, true);
    for (guint i = 0; i < good->len; i++) {
        const ModelLintFinding *x = good->pdata[i];
        fail_msg("unexpected %s %s: %s", x->check, x->object, x->message);
    }
    g_ptr_array_free(good, TRUE);
}

/* ---- the table ---- */

static void check_table(void **state)
{
    (void)state;
    size_t n = model_lint_n_checks(), active = 0, waiting = 0;
    assert_true(n >= 10);
    for (size_t i = 0; i < n; i++) {
        const ModelLintCheckInfo *c = model_lint_check(i);
        assert_non_null(c->id);
        assert_non_null(c->what);
        /* Every check cites a section of domain.md or azure-facts.md. */
        assert_true(strstr(c->doc, "§") != NULL);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(model_lint_check(k)->id, c->id);
        c->needs ? waiting++ : active++;
    }
    assert_true(active >= 8);
    assert_true(waiting >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pitfalls_found),    cmocka_unit_test(shipped_scenarios),
        cmocka_unit_test(bad_input_exits_2), cmocka_unit_test(shadow_matches_classifier),
        cmocka_unit_test(shadow_by_union),   cmocka_unit_test(service_checks),
        cmocka_unit_test(check_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
