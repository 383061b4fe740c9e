/*
 * bench_nsg.c — NSG decision throughput: the compiled classifier against the linear scan.
 *
 * Setup, per size N in {10, 100, 1000}: a NIC NSG and a subnet NSG with N outbound user
 * rules each (plus Azure's defaults). An outbound packet must be allowed by the NIC NSG and
 * then by the subnet NSG (azdocs:articles/virtual-network/network-security-group-how-it-works.md),
 * so one decision is up to two classifications. Rules look like real ones: sources "*",
 * VirtualNetwork or a few /24–/32 subnet prefixes; destinations a service tag of ~50 public
 * prefixes (/16–/28) or 1–4 explicit /16–/32 prefixes; TCP, UDP and some Any; single ports,
 * ranges and "*"; about a quarter denies. Packets come from NICs in 10.0.1.0/24: 40% to some
 * rule's destination, 30% to random public and 30% to random VNet addresses (the last two
 * mostly fall through to the default rules, as VNet-internal and general internet traffic
 * does). Everything is seeded, so runs are comparable.
 *
 * Output, one line per size and a summary:
 *   rules=N classifier_decisions_per_s=… linear_decisions_per_s=… speedup=…
 *   classifier_10_vs_1000=… (decisions/s at 10 rules ÷ at 1000)
 * Each rate is the best of several timed rounds (the machine may be shared).
 * Build with -DCMAKE_BUILD_TYPE=Release for meaningful numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/nsg.h"
#include "sim/rng.h"

#define N_TAGS        20
#define TAG_PREFIXES  50
#define N_PACKETS     (1u << 16)
#define ROUNDS        5
#define ROUND_SECONDS 0.15

typedef struct {
    ModelPrefix tags[N_TAGS][TAG_PREFIXES];
} BenchWorld;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t rnd(SimRng *rng, uint64_t bound)
{
    return (uint32_t)sim_rng_below(rng, bound);
}

/* A public address: anything outside 10/8, 172.16/12, 192.168/16 and 0/8, 127/8, 224/3. */
static uint32_t public_ip(SimRng *rng)
{
    for (;;) {
        uint32_t ip = (uint32_t)sim_rng_next(rng);
        uint32_t a = ip >> 24;
        if (a != 0 && a != 10 && a != 127 && a < 224 && !model_ip_is_private(ip))
            return ip;
    }
}

static ModelPrefix random_prefix(SimRng *rng, uint32_t ip, unsigned min_len, unsigned max_len)
{
    uint8_t len = (uint8_t)(min_len + rnd(rng, max_len - min_len + 1));
    return (ModelPrefix){ip & model_prefix_mask(len), len};
}

/* "Svc7" -> 7; -1 for anything else. */
static int tag_index(const char *name)
{
    if (!g_str_has_prefix(name, "Svc") || !g_ascii_isdigit(name[3]))
        return -1;
    char *end;
    guint64 t = g_ascii_strtoull(name + 3, &end, 10);
    return *end == '\0' && t < N_TAGS ? (int)t : -1;
}

static bool bench_resolve(void *ctx, const ModelNsgAddr *item, ModelPrefix **out, size_t *n,
                          GError **error)
{
    const BenchWorld *w = ctx;
    static const char *const internet[] = {"0.0.0.0/5",  "8.0.0.0/7",  "11.0.0.0/8", "12.0.0.0/6",
                                           "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"};
    const char *name = item->text;
    if (g_strcmp0(name, "VirtualNetwork") == 0) {
        *out = g_new(ModelPrefix, 1);
        (*out)[0] = (ModelPrefix){MODEL_IP4(10, 0, 0, 0), 16};
        *n = 1;
        return true;
    }
    if (g_strcmp0(name, "Internet") == 0) {
        *out = g_new(ModelPrefix, G_N_ELEMENTS(internet));
        for (size_t i = 0; i < G_N_ELEMENTS(internet); i++)
            model_prefix_parse(internet[i], false, &(*out)[i]);
        *n = G_N_ELEMENTS(internet);
        return true;
    }
    int t = tag_index(name);
    if (t >= 0) {
        *out = g_memdup2(w->tags[t], sizeof w->tags[t]);
        *n = TAG_PREFIXES;
        return true;
    }
    g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "unknown tag %s", name);
    return false;
}

static void add_prefix_text(ModelNsgRule *r, ModelNsgSide side, ModelPrefix p)
{
    char buf[MODEL_PREFIX_STRLEN];
    model_prefix_format(p, buf);
    if (!model_nsg_rule_add_address(r, side, buf, NULL))
        abort();
}

static void add(ModelNsgRule *r, ModelNsgSide side, const char *text)
{
    if (!model_nsg_rule_add_address(r, side, text, NULL))
        abort();
}

static ModelNsg *bench_nsg(SimRng *rng, const char *name, size_t n_rules)
{
    static const uint16_t ports[] = {22,   53,   80,   123,  443,  445,  1433,  3306,
                                     5432, 5671, 6379, 8080, 8443, 9000, 18881, 29876};
    ModelNsg *nsg = model_nsg_new(name);
    for (size_t i = 0; i < n_rules; i++) {
        char rname[32];
        g_snprintf(rname, sizeof rname, "rule%zu", i);
        uint32_t pp = rnd(rng, 100);
        ModelNsgProtocol proto = pp < 55   ? MODEL_NSG_PROTO_TCP
                                 : pp < 85 ? MODEL_NSG_PROTO_UDP
                                           : MODEL_NSG_PROTO_ANY;
        ModelAccess access = rnd(rng, 4) == 0 ? MODEL_ACCESS_DENY : MODEL_ACCESS_ALLOW;
        /* Priorities spread over 100..4096 in rule order, unique. */
        int prio = MODEL_NSG_PRIORITY_MIN + (int)(i * 3996 / (n_rules > 1 ? n_rules - 1 : 1));
        if (n_rules > 1000)
            abort();
        ModelNsgRule *r = model_nsg_rule_new(rname, prio, MODEL_DIR_OUTBOUND, access, proto);
        uint32_t s = rnd(rng, 100);
        if (s < 50)
            add(r, MODEL_NSG_SRC, "*");
        else if (s < 75)
            add(r, MODEL_NSG_SRC, "VirtualNetwork");
        else
            for (uint32_t k = 1 + rnd(rng, 3); k > 0; k--)
                add_prefix_text(r, MODEL_NSG_SRC,
                                random_prefix(rng, MODEL_IP4(10, 0, 1, 0) | rnd(rng, 256), 24, 32));
        /* Destinations are what the rules are about: a service tag (~50 prefixes) or a few
         * explicit /16–/32 prefixes, mostly public. "Any destination" is left to the defaults
         * (AllowVnetOutBound, AllowInternetOutBound, DenyAllOutBound). */
        if (rnd(rng, 100) < 35) {
            char tag[16];
            g_snprintf(tag, sizeof tag, "Svc%u", rnd(rng, N_TAGS));
            add(r, MODEL_NSG_DST, tag);
        } else {
            for (uint32_t k = 1 + rnd(rng, 4); k > 0; k--) {
                uint32_t ip =
                    rnd(rng, 4) ? public_ip(rng) : MODEL_IP4(10, 0, 0, 0) | rnd(rng, 1u << 16);
                add_prefix_text(r, MODEL_NSG_DST, random_prefix(rng, ip, 16, 32));
            }
        }
        if (!model_nsg_rule_add_ports(r, MODEL_NSG_SRC, rnd(rng, 20) ? "*" : "1024-65535", NULL))
            abort();
        char dports[32];
        uint32_t dp = rnd(rng, 100);
        uint16_t p = ports[rnd(rng, G_N_ELEMENTS(ports))];
        if (dp < 60)
            g_snprintf(dports, sizeof dports, "%u", p);
        else if (dp < 85)
            g_snprintf(dports, sizeof dports, "%u-%u", p, p + rnd(rng, 100));
        else
            g_snprintf(dports, sizeof dports, "*");
        if (!model_nsg_rule_add_ports(r, MODEL_NSG_DST, dports, NULL))
            abort();
        GError *err = NULL;
        if (!model_nsg_add_rule(nsg, r, &err)) {
            fprintf(stderr, "bench-nsg: %s\n", err->message);
            exit(1);
        }
    }
    return nsg;
}

/* A packet a rule was written for: destination, destination port and protocol inside one
 * random rule (the source is the NIC's, as for every packet). */
static void aim(SimRng *rng, const ModelNsg *nsg, const BenchWorld *w, ModelFlowKey *k)
{
    static const uint8_t any[] = {MODEL_IPPROTO_TCP, MODEL_IPPROTO_UDP};
    size_t n;
    const ModelNsgRule *const *rules = model_nsg_rules(nsg, MODEL_DIR_OUTBOUND, &n);
    const ModelNsgRule *r = rules[rnd(rng, n)];
    const ModelNsgAddr *a = &r->addrs[MODEL_NSG_DST][rnd(rng, r->n_addrs[MODEL_NSG_DST])];
    ModelPrefix p = a->prefix;
    int t = tag_index(a->text);
    if (a->kind == MODEL_NSG_ADDR_TAG)
        p = t >= 0 ? w->tags[t][rnd(rng, TAG_PREFIXES)] : (ModelPrefix){public_ip(rng), 32};
    k->dst = p.addr | ((uint32_t)sim_rng_next(rng) & ~model_prefix_mask(p.len));
    ModelPortRange pr = r->ports[MODEL_NSG_DST][rnd(rng, r->n_ports[MODEL_NSG_DST])];
    k->dport = (uint16_t)(pr.lo + rnd(rng, (uint64_t)pr.hi - pr.lo + 1));
    k->proto = r->protocol == MODEL_NSG_PROTO_UDP   ? MODEL_IPPROTO_UDP
               : r->protocol == MODEL_NSG_PROTO_TCP ? MODEL_IPPROTO_TCP
                                                    : any[rnd(rng, 2)];
}

static void make_packets(SimRng *rng, const ModelNsg *nic, const ModelNsg *subnet,
                         const BenchWorld *w, ModelFlowKey *pk)
{
    static const uint16_t ports[] = {22, 53, 80, 443, 445, 1433, 5432, 8080, 18881, 29876};
    for (uint32_t i = 0; i < N_PACKETS; i++) {
        ModelFlowKey *k = &pk[i];
        k->src = MODEL_IP4(10, 0, 1, 4) + rnd(rng, 200);
        uint32_t p = rnd(rng, 100);
        k->proto = p < 60 ? MODEL_IPPROTO_TCP : p < 95 ? MODEL_IPPROTO_UDP : MODEL_IPPROTO_ICMP;
        k->sport = (uint16_t)(32768 + rnd(rng, 28232));
        k->dport = rnd(rng, 3) ? ports[rnd(rng, G_N_ELEMENTS(ports))] : (uint16_t)rnd(rng, 65536);
        uint32_t d = rnd(rng, 100);
        if (d < 40)
            aim(rng, rnd(rng, 2) ? nic : subnet, w, k);
        else
            k->dst = d < 70 ? public_ip(rng) : MODEL_IP4(10, 0, 0, 0) | rnd(rng, 1u << 16);
    }
}

typedef const ModelNsgRule *(*ClassifyFn)(const ModelNsgTable *, const ModelFlowKey *);

/* Outbound: NIC NSG first, then subnet NSG; both must allow. */
static inline bool allowed(ClassifyFn fn, const ModelNsgTable *nic, const ModelNsgTable *subnet,
                           const ModelFlowKey *k)
{
    const ModelNsgRule *r = fn(nic, k);
    if (r == NULL || r->access != MODEL_ACCESS_ALLOW)
        return false;
    r = fn(subnet, k);
    return r != NULL && r->access == MODEL_ACCESS_ALLOW;
}

/* Best decisions per second over ROUNDS rounds of at least ROUND_SECONDS each. */
static double rate(ClassifyFn fn, const ModelNsgTable *nic, const ModelNsgTable *subnet,
                   const ModelFlowKey *pk, uint64_t *sink)
{
    double best = 0;
    uint32_t i = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t done = 0, allow = 0;
        double t0 = now_s(), t1;
        do {
            for (int b = 0; b < 256; b++, i = (i + 1) & (N_PACKETS - 1))
                allow += allowed(fn, nic, subnet, &pk[i]);
            done += 256;
            t1 = now_s();
        } while (t1 - t0 < ROUND_SECONDS);
        *sink += allow;
        double r = (double)done / (t1 - t0);
        if (r > best)
            best = r;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {10, 100, 1000};
    double classifier_rate[G_N_ELEMENTS(sizes)] = {0};
    /* `bench-nsg 1000` runs one size only (for profiling); the default runs all three. */
    size_t only = argc > 1 ? (size_t)g_ascii_strtoull(argv[1], NULL, 10) : 0;
    BenchWorld *w = g_new(BenchWorld, 1);
    SimRng rng;
    sim_rng_seed(&rng, 42);
    for (int t = 0; t < N_TAGS; t++)
        for (int k = 0; k < TAG_PREFIXES; k++)
            w->tags[t][k] = random_prefix(&rng, public_ip(&rng), 16, 28);
    ModelFlowKey *pk = g_new(ModelFlowKey, N_PACKETS);
    uint64_t sink = 0;
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
        if (only != 0 && sizes[s] != only)
            continue;
        ModelNsg *nic = bench_nsg(&rng, "nsg-nic", sizes[s]);
        ModelNsg *subnet = bench_nsg(&rng, "nsg-subnet", sizes[s]);
        GError *err = NULL;
        double c0 = now_s();
        ModelNsgTable *tn = model_nsg_compile(nic, MODEL_DIR_OUTBOUND, bench_resolve, w, &err);
        ModelNsgTable *ts = model_nsg_compile(subnet, MODEL_DIR_OUTBOUND, bench_resolve, w, &err);
        double compile_ms = (now_s() - c0) * 1e3;
        if (tn == NULL || ts == NULL) {
            fprintf(stderr, "bench-nsg: %s\n", err->message);
            return 1;
        }
        make_packets(&rng, nic, subnet, w, pk);
        /* The two paths must agree before their speed means anything. */
        uint64_t allow = 0, user = 0;
        for (uint32_t i = 0; i < N_PACKETS; i++) {
            const ModelNsgRule *a = model_nsg_table_classify(tn, &pk[i]);
            if (a != model_nsg_table_classify_linear(tn, &pk[i]) ||
                model_nsg_table_classify(ts, &pk[i]) !=
                    model_nsg_table_classify_linear(ts, &pk[i])) {
                fprintf(stderr, "bench-nsg: classifier and linear scan disagree\n");
                return 1;
            }
            allow += allowed(model_nsg_table_classify, tn, ts, &pk[i]);
            user += a != NULL && !a->is_default;
        }
        double cr = rate(model_nsg_table_classify, tn, ts, pk, &sink);
        double lr = rate(model_nsg_table_classify_linear, tn, ts, pk, &sink);
        classifier_rate[s] = cr;
        printf("rules=%zu classifier_decisions_per_s=%.0f linear_decisions_per_s=%.0f "
               "speedup=%.1f\n",
               sizes[s], cr, lr, cr / lr);
        fprintf(stderr,
                "  (rules=%zu: compile both %.1f ms, table memory %zu + %zu bytes, "
                "%.0f%% allowed, %.0f%% decided by a user rule at the NIC)\n",
                sizes[s], compile_ms, model_nsg_table_memory(tn), model_nsg_table_memory(ts),
                100.0 * (double)allow / N_PACKETS, 100.0 * (double)user / N_PACKETS);
        model_nsg_table_free(tn);
        model_nsg_table_free(ts);
        model_nsg_free(nic);
        model_nsg_free(subnet);
    }
    if (only == 0)
        printf("classifier_10_vs_1000=%.2f\n", classifier_rate[0] / classifier_rate[2]);
    fprintf(stderr, "  (checksum %llu)\n", (unsigned long long)sink);
    g_free(pk);
    g_free(w);
    return 0;
}
