/*
 * test_lint.c — `vnetsim lint`: each documented pitfall found in a file made for it
 * (tests/data/lint/), silence on the clean shipped scenarios, NSG shadowing checked
 * against the compiled classifier on random rule sets, the PaaS checks on nets built in
 * code, the compute, image and inference placement checks on small scenario texts (each
 * with the configuration that fixes it), and the table of checks.
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
    {"tests/data/lint/forced-tunnel-bgp.yaml",
     CLI_EXIT_OK,
     {"warning vm: has public IP 52.191.1.10 but subnet vnet/snet sends 0.0.0.0/0 to "
      "VirtualNetworkGateway (vpngw over BGP)",
      NULL}},
    /* An ACI serving the public one of two workspaces: judged against its own, nothing. */
    {"tests/data/lint/aci-two-workspaces.yaml", CLI_EXIT_OK, {NULL}},
    {"tests/data/lint/vnet-rule-endpoint.yaml",
     CLI_EXIT_FAILED,
     {"error mlwsstore: has a virtual network rule for vnet/snet, which has no "
      "Microsoft.Storage service endpoint",
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

/* Shipped scenarios that show a mistake lint can see, and every finding each shows (the
 * output holds exactly these lines). Every other shipped scenario must lint clean: a new
 * scenario that shows a lint-visible mistake on purpose adds its line here. */
static const struct {
    const char *file, *findings[3]; /* NULL-terminated */
} taught[] = {
    {"nsg-order.yaml",
     {"error nsg-db/AllowSshFromWeb1: never matches: DenySshFromVnet (200, "
      "Deny) matches every packet it covers first, and denies it",
      NULL}},
    {"forced-tunneling.yaml",
     {"warning cpu-node: has public IP 52.191.2.10 but subnet "
      "vnet-ml/snet-training sends 0.0.0.0/0 to VirtualAppliance",
      NULL}},
    {"no-trusted-access.yaml",
     {"warning mlwsstore: admits neither trusted services nor a "
      "resource instance rule for workspace mlws",
      NULL}},
    {"service-endpoint-subnet.yaml",
     {"error mlwsstore: is reached through service endpoints, "
      "but no VNet rule names the subnet of workspace mlws's "
      "private endpoint",
      NULL}},
    {"storage-pe-other-vnet.yaml",
     {"error mlwsstore: has private endpoints, but none in the VNet "
      "of workspace mlws's private endpoint",
      NULL}},
    {"serverless-build.yaml",
     {"warning mlwsacr: is behind the virtual network (public network access Disabled) and "
      "workspace mlws has no imageBuildCompute",
      NULL}},
    /* The cluster without any way out, and the tunnelled cluster whose management replies
     * take the tunnel; the cluster with the service-tag UDRs is not reported. */
    {"egress-paths.yaml",
     {"error lonely-cluster: has no public IP, and subnet vnet-ml/snet-npip-none has no NAT "
      "gateway and no 0.0.0.0/0 route to a firewall or gateway",
      "warning tunnel-cluster-node0: has public IP 20.42.0.5 (a load balancer's frontend) but "
      "subnet vnet-ml/snet-tunnel "
      "sends 0.0.0.0/0 to VirtualAppliance",
      NULL}},
    /* These keep the workspace's registry behind the VNet without an image-build compute
     * cluster, which domain §4.5 documents as a mistake even though their flows build no
     * image (they pull custom images): the finding stands until they name a cluster. */
    {"fully-closed.yaml",
     {"warning mlwsacr: is behind the virtual network (public network access Disabled) and "
      "workspace mlws has no imageBuildCompute",
      NULL}},
    /* Here by design: the sensitive workspace builds nothing (its serverless build is
     * refused, flow sensitive-build) and runs images imported into mlwsacr. */
    {"hybrid-zones.yaml",
     {"warning mlwsacr: is behind the virtual network (public network access Disabled) and "
      "workspace mlws has no imageBuildCompute",
      NULL}},
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
        const char *const *want = NULL;
        for (size_t k = 0; k < G_N_ELEMENTS(taught); k++)
            if (strcmp(taught[k].file, base) == 0)
                want = taught[k].findings;
        if (want) {
            unsigned n = 0;
            for (; want[n]; n++)
                assert_has(buf, want[n]);
            if (lines(buf) != n)
                fail_msg("%s: %u findings, expected %u:\n%s", path, lines(buf), n, buf);
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

/* ---- the placement checks, on small scenario texts ---- */

/* Two peered VNets; the workspace's private endpoint, its storage's and its registry in
 * va/pe; va/c takes no-public-IP compute. Lints clean (lint_base_is_clean). */
#define LINT_BASE                                                                                  \
    "scenario: t\n"                                                                                \
    "vnets:\n"                                                                                     \
    "  - {name: va, addressSpace: [10.1.0.0/16], peerings: [vb],\n"                                \
    "     subnets: [{name: pe, addressPrefix: 10.1.1.0/24},\n"                                     \
    "               {name: c, addressPrefix: 10.1.2.0/24,\n"                                       \
    "                privateEndpointNetworkPolicies: Disabled}]}\n"                                \
    "  - {name: vb, addressSpace: [10.2.0.0/16],\n"                                                \
    "     subnets: [{name: c, addressPrefix: 10.2.2.0/24}]}\n"                                     \
    "workspace:\n"                                                                                 \
    "  name: mlws\n"                                                                               \
    "  id: 6b5c8a44-0d2e-4d7e-9a3c-0123456789ab\n"                                                 \
    "  publicNetworkAccess: Disabled\n"                                                            \
    "  privateEndpoints: [{name: pe-ws, subnet: va/pe, ip: 10.1.1.5}]\n"                           \
    "  storage: {name: mlwsstore, privateEndpoints: [{subnet: va/pe, ip: 10.1.1.6}]}\n"

/* The findings of a scenario text that must load (LINT_BASE + extra). */
static GPtrArray *lint_text(const char *extra)
{
    g_autofree char *yaml = g_strconcat(LINT_BASE, extra, NULL);
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!scn)
        fail_msg("load: %s\n%s", error->message, yaml);
    GPtrArray *f = model_lint_net(scn_scenario_net(scn));
    scn_scenario_free(scn);
    return f;
}

/* The message of the one finding of `check` on `object` (NULL: none); fails when `check`
 * found anything else. */
static const char *only_finding(GPtrArray *f, const char *check, const char *object)
{
    const char *msg = NULL;
    for (guint i = 0; i < f->len; i++) {
        const ModelLintFinding *x = f->pdata[i];
        if (strcmp(x->check, check) != 0)
            continue;
        if (!object || strcmp(x->object, object) != 0 || msg)
            fail_msg("unexpected %s %s: %s", x->check, x->object, x->message);
        msg = x->message;
    }
    if (object && !msg)
        fail_msg("no %s finding on %s", check, object);
    return msg;
}

static const ModelLintFinding *finding_of(GPtrArray *f, const char *check, const char *object)
{
    for (guint i = 0; i < f->len; i++) {
        const ModelLintFinding *x = f->pdata[i];
        if (strcmp(x->check, check) == 0 && strcmp(x->object, object) == 0)
            return x;
    }
    fail_msg("no %s finding on %s", check, object);
    return NULL;
}

/* LINT_BASE with one more VNet (a `vnets` item) and `rest`. LINT_BASE ends inside
 * `workspace:`, and a second `vnets` key would be a duplicate, so the VNet is spliced into
 * the first list. */
static GPtrArray *lint_with_vnet(const char *vnet, const char *rest)
{
    g_autofree char *base = g_strdup(LINT_BASE);
    char *ws = strstr(base, "workspace:");
    *ws = '\0';
    g_autofree char *yaml = g_strconcat(base, vnet, LINT_BASE + (ws - base), rest, NULL);
    GError *error = NULL;
    ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
    if (!scn)
        fail_msg("load: %s\n%s", error->message, yaml);
    GPtrArray *f = model_lint_net(scn_scenario_net(scn));
    scn_scenario_free(scn);
    return f;
}

/* A VNet vc whose subnet aci has the delegations given (NULL: no key). */
static GPtrArray *lint_aci(const char *delegations, const char *rest)
{
    g_autofree char *vnet =
        g_strdup_printf("  - {name: vc, addressSpace: [10.3.0.0/16],\n"
                        "     subnets: [{name: aci, addressPrefix: 10.3.1.0/24%s%s%s}]}\n",
                        delegations ? ", delegations: [" : "", delegations ? delegations : "",
                        delegations ? "]" : "");
    return lint_with_vnet(vnet, rest);
}

static void lint_base_is_clean(void **state)
{
    (void)state;
    GPtrArray *f = lint_text("");
    for (guint i = 0; i < f->len; i++) {
        const ModelLintFinding *x = f->pdata[i];
        fail_msg("unexpected %s %s: %s", x->check, x->object, x->message);
    }
    g_ptr_array_free(f, TRUE);
}

/* domain §4.5; how-to-secure-workspace-vnet.md, "Enable Azure Container Registry". */
static void registry_behind_vnet_needs_an_image_build_cluster(void **state)
{
    (void)state;
#define ACR(access)                                                                                \
    "  containerRegistry: {name: mlwsacr, sku: Premium, publicNetworkAccess: " access "}\n"
    GPtrArray *f = lint_text(ACR("Disabled"));
    const ModelLintFinding *x = finding_of(f, "acr-behind-vnet-image-build", "mlwsacr");
    assert_int_equal(x->severity, MODEL_LINT_WARNING);
    assert_has(x->message, "public network access Disabled");
    assert_has(x->message, "set imageBuildCompute to a compute cluster in the VNet");
    assert_string_equal(x->doc, "domain §4.5");
    g_ptr_array_free(f, TRUE);
    /* SelectedNetworks keeps ACR Tasks out as well. */
    f = lint_text(ACR("SelectedNetworks"));
    assert_has(only_finding(f, "acr-behind-vnet-image-build", "mlwsacr"),
               "public network access SelectedNetworks");
    g_ptr_array_free(f, TRUE);
    /* The fix: builds run on a cluster in the VNet. */
    f = lint_text(ACR("Disabled") "  imageBuildCompute: builder\n"
                                  "computes: [{name: builder, type: cluster, subnet: va/c}]\n");
    assert_null(only_finding(f, "acr-behind-vnet-image-build", NULL));
    g_ptr_array_free(f, TRUE);
    /* An open registry takes ACR Tasks' push (serverless-build-open.yaml). */
    f = lint_text(ACR("Enabled"));
    assert_null(only_finding(f, "acr-behind-vnet-image-build", NULL));
    g_ptr_array_free(f, TRUE);
#undef ACR
}

/* azure-facts §5; how-to-secure-training-vnet.md, "Compute instance/cluster or serverless
 * with no public IP". */
static void no_public_ip_compute_needs_nat_gateway_or_firewall_route(void **state)
{
    (void)state;
    GPtrArray *f = lint_text("computes: [{name: npip, type: cluster, subnet: va/c, publicIp: "
                             "false}]\n");
    const ModelLintFinding *x = finding_of(f, "compute-no-outbound", "npip");
    assert_int_equal(x->severity, MODEL_LINT_ERROR);
    assert_has(x->message, "subnet va/c has no NAT gateway and no 0.0.0.0/0 route");
    g_ptr_array_free(f, TRUE);
    /* A route to Internet gives the node no address to leave with; a NAT gateway on the
     * subnet, or a default route to a firewall, is a way out. vd/c is peered to the
     * workspace's VNet, which is enough for no-public-IP compute. */
    static const struct {
        const char *next_hop;
        bool finding;
    } routes[] = {
        {"Internet", true},
        {"VirtualAppliance, nextHopIpAddress: 10.1.1.4", false},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
        g_autofree char *rest = g_strdup_printf(
            "routeTables: [{name: rt, routes: [{name: out, addressPrefix: 0.0.0.0/0,\n"
            "               nextHopType: %s}]}]\n"
            "hosts: [{name: nva, kind: appliance, subnet: va/pe, ip: 10.1.1.4,\n"
            "         ipForwarding: true}]\n"
            "computes: [{name: npip, type: instance, subnet: va/c, publicIp: false},\n"
            "           {name: routed, type: cluster, subnet: vd/c, publicIp: false}]\n",
            routes[i].next_hop);
        f = lint_with_vnet("  - {name: vd, addressSpace: [10.4.0.0/16], peerings: [va],\n"
                           "     subnets: [{name: c, addressPrefix: 10.4.2.0/24, routeTable: rt,\n"
                           "                privateEndpointNetworkPolicies: Disabled}]}\n",
                           rest);
        if (routes[i].finding)
            finding_of(f, "compute-no-outbound", "routed");
        else
            assert_null(strstr(only_finding(f, "compute-no-outbound", "npip"), "vd/c"));
        g_ptr_array_free(f, TRUE);
    }
    f = lint_text("natGateways: [{name: nat, subnets: [va/c]}]\n"
                  "computes: [{name: npip, type: cluster, subnet: va/c, publicIp: false}]\n");
    assert_null(only_finding(f, "compute-no-outbound", NULL));
    g_ptr_array_free(f, TRUE);
    /* With a public IP the node leaves from its own address. */
    f = lint_text("computes: [{name: pip, type: cluster, subnet: va/c}]\n");
    assert_null(only_finding(f, "compute-no-outbound", NULL));
    g_ptr_array_free(f, TRUE);
}

/* how-to-secure-training-vnet.md: "You can't create a compute instance in a different
 * region/VNet, only a compute cluster". */
static void compute_instance_must_be_in_the_workspace_vnet(void **state)
{
    (void)state;
    GPtrArray *f = lint_text("computes: [{name: ci, type: instance, subnet: vb/c}]\n");
    const ModelLintFinding *x = finding_of(f, "compute-instance-placement", "ci");
    assert_int_equal(x->severity, MODEL_LINT_ERROR);
    assert_has(x->message, "is a compute instance in vb, but workspace mlws has no private "
                           "endpoint in that virtual network");
    g_ptr_array_free(f, TRUE);
    /* In the workspace's VNet; or a cluster, which may sit in a peered one. */
    f = lint_text("computes: [{name: ci, type: instance, subnet: va/c},\n"
                  "           {name: cc, type: cluster, subnet: vb/c}]\n");
    assert_null(only_finding(f, "compute-instance-placement", NULL));
    g_ptr_array_free(f, TRUE);
}

/* domain §4.5 (seed 001: "ACI in a VNet is unsupported when the workspace uses private
 * endpoints"; 004: subnet delegation Microsoft.ContainerInstance/containerGroups). */
static void aci_in_vnet_is_unsupported_with_a_private_endpoint_workspace(void **state)
{
    (void)state;
    const char *aci = "computes: [{name: aci1, type: aci, subnet: vc/aci}]\n";
    GPtrArray *f = lint_aci("Microsoft.ContainerInstance/containerGroups", aci);
    const ModelLintFinding *x = finding_of(f, "aci-private-workspace", "aci1");
    assert_int_equal(x->severity, MODEL_LINT_ERROR);
    assert_has(x->message, "unsupported while workspace mlws uses private endpoints");
    assert_int_equal(f->len, 1);
    g_ptr_array_free(f, TRUE);
    /* Without the delegation, the subnet is named too; az's object form counts. */
    f = lint_aci(NULL, aci);
    x = finding_of(f, "aci-private-workspace", "vc/aci");
    assert_int_equal(x->severity, MODEL_LINT_WARNING);
    assert_has(x->message, "not delegated to Microsoft.ContainerInstance/containerGroups");
    g_ptr_array_free(f, TRUE);
    f = lint_aci("{name: d, serviceName: Microsoft.ContainerInstance/containerGroups, "
                 "actions: [x]}",
                 aci);
    assert_int_equal(f->len, 1);
    g_ptr_array_free(f, TRUE);
    /* A registry behind the VNet: ACI cannot deploy from it either. */
    f = lint_aci("Microsoft.ContainerInstance/containerGroups",
                 "  containerRegistry: {name: mlwsacr, sku: Premium,\n"
                 "                      privateEndpoints: [{subnet: va/pe, ip: 10.1.1.9}]}\n"
                 "computes: [{name: aci1, type: aci, subnet: vc/aci}]\n");
    finding_of(f, "aci-private-workspace", "aci1");
    unsigned n = 0;
    for (guint i = 0; i < f->len; i++)
        n += strcmp(((const ModelLintFinding *)f->pdata[i])->check, "aci-private-workspace") == 0;
    assert_int_equal(n, 2);
    g_ptr_array_free(f, TRUE);
}

static void aci_placement_and_delegation_errors_are_located(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *message;
    } cases[] = {
        {"computes: [{name: aci1, type: aci, subnet: va/c, publicIp: false}]\n",
         "t.yaml:15:50: 'publicIp' does not apply to an ACI placement (type aci)"},
        {"computes: [{name: x, type: aci, subnet: va/c}, {name: x, type: cluster, subnet: va/c}]\n",
         "t.yaml:15:55: compute 'x' already exists"},
    };
    static const struct {
        const char *yaml, *message;
    } delegations[] = {
        {"delegations: [aci]", "t.yaml:2:110: 'delegations': 'aci' is not a service name like "
                               "Microsoft.ContainerInstance/containerGroups"},
        {"delegations: [{serviceName: A/b}, {serviceName: a/B}]",
         "t.yaml:2:144: subnet v/a is already delegated to a/B"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(delegations); i++) {
        g_autofree char *yaml = g_strdup_printf(
            "scenario: t\nvnets: [{name: v, addressSpace: [10.1.0.0/16], subnets: [{name: a, "
            "addressPrefix: 10.1.1.0/24, %s}]}]\n",
            delegations[i].yaml);
        GError *error = NULL;
        assert_null(scn_load_data("t.yaml", yaml, strlen(yaml), &error));
        if (strcmp(error->message, delegations[i].message) != 0)
            fail_msg("\n  got      %s\n  expected %s", error->message, delegations[i].message);
        g_error_free(error);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *yaml = g_strconcat(LINT_BASE, cases[i].yaml, NULL);
        GError *error = NULL;
        ScnScenario *scn = scn_load_data("t.yaml", yaml, strlen(yaml), &error);
        if (scn)
            fail_msg("loaded, expected: %s", cases[i].message);
        if (strcmp(error->message, cases[i].message) != 0)
            fail_msg("\n  got      %s\n  expected %s", error->message, cases[i].message);
        g_error_free(error);
    }
}

/* domain §1 (seed 001): the Azure Monitor private link scope must use Open mode. */
static void monitor_private_link_scope_must_be_open(void **state)
{
    (void)state;
    GPtrArray *f = lint_text("  applicationInsights:\n"
                             "    name: mlws-ai\n"
                             "    privateLinkScope: {name: ampls, ingestionAccessMode: "
                             "PrivateOnly, queryAccessMode: Open}\n");
    const ModelLintFinding *x = finding_of(f, "monitor-private-link-scope", "mlws-ai");
    assert_int_equal(x->severity, MODEL_LINT_ERROR);
    assert_has(x->message, "ingestion access mode is PrivateOnly: workspace mlws needs the scope "
                           "in Open mode");
    g_ptr_array_free(f, TRUE);
    f = lint_text("  applicationInsights: {name: mlws-ai, privateLinkScope: {queryAccessMode: "
                  "privateonly, ingestionAccessMode: PrivateOnly}}\n");
    assert_has(only_finding(f, "monitor-private-link-scope", "mlws-ai"),
               "ingestion and query access modes are PrivateOnly");
    g_ptr_array_free(f, TRUE);
    /* Open (the default), or no scope at all. */
    f = lint_text("  applicationInsights: {name: mlws-ai, privateLinkScope: {}}\n");
    assert_null(only_finding(f, "monitor-private-link-scope", NULL));
    g_ptr_array_free(f, TRUE);
    f = lint_text("  applicationInsights: {name: mlws-ai}\n");
    assert_null(only_finding(f, "monitor-private-link-scope", NULL));
    g_ptr_array_free(f, TRUE);
    g_autofree char *bad = g_strconcat(LINT_BASE,
                                       "  applicationInsights: {name: ai, privateLinkScope: "
                                       "{queryAccessMode: Private}}\n",
                                       NULL);
    GError *error = NULL;
    assert_null(scn_load_data("t.yaml", bad, strlen(bad), &error));
    assert_has(error->message, "t.yaml:15:71: 'queryAccessMode': unknown value 'Private'");
    g_error_free(error);
}

/* AKS ranges Azure refuses (domain §4.4) are bad input: exit 2 with file:line:col, never a
 * finding (contract.md §1). */
static void aks_service_cidr_is_a_load_error(void **state)
{
    (void)state;
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *o = open_memstream(&buf, &len), *e = open_memstream(&ebuf, &elen);
    g_autofree char *path = data_path("tests/data/lint/aks-service-cidr.yaml");
    assert_int_equal(cli_lint(path, false, o, e), CLI_EXIT_USAGE);
    fclose(o);
    fclose(e);
    assert_int_equal(len, 0);
    assert_has(ebuf, "aks-service-cidr.yaml:9:12: AKS 'aks1': the Kubernetes service address "
                     "range 10.0.0.0/16 overlaps subnet vnet-ml/snet-aks");
    free(buf);
    free(ebuf);
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
    /* Every schema key a check waited for has landed; the AKS ranges are the loader's. */
    assert_int_equal(waiting, 0);
    assert_int_equal(active, n);
    static const char *const placement[] = {"acr-behind-vnet-image-build", "aci-private-workspace",
                                            "compute-no-outbound", "compute-instance-placement",
                                            "monitor-private-link-scope"};
    for (size_t k = 0; k < G_N_ELEMENTS(placement); k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || strcmp(model_lint_check(i)->id, placement[k]) == 0;
        if (!found)
            fail_msg("no check %s", placement[k]);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(model_lint_check(i)->id, "aks-service-cidr");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pitfalls_found),
        cmocka_unit_test(shipped_scenarios),
        cmocka_unit_test(bad_input_exits_2),
        cmocka_unit_test(shadow_matches_classifier),
        cmocka_unit_test(shadow_by_union),
        cmocka_unit_test(service_checks),
        cmocka_unit_test(lint_base_is_clean),
        cmocka_unit_test(registry_behind_vnet_needs_an_image_build_cluster),
        cmocka_unit_test(no_public_ip_compute_needs_nat_gateway_or_firewall_route),
        cmocka_unit_test(compute_instance_must_be_in_the_workspace_vnet),
        cmocka_unit_test(aci_in_vnet_is_unsupported_with_a_private_endpoint_workspace),
        cmocka_unit_test(aci_placement_and_delegation_errors_are_located),
        cmocka_unit_test(monitor_private_link_scope_must_be_open),
        cmocka_unit_test(aks_service_cidr_is_a_load_error),
        cmocka_unit_test(check_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
