/*
 * flowlog.c — VNet flow log records from a replay's captures and trace (see flowlog.h for
 * the schema and its source).
 *
 * Per NIC in a VNet (private endpoints excepted: they are not a workload of their own, their
 * traffic is the client's), each capture is read back and its frames are grouped into
 * flows by 5-tuple, oriented from the side that opened the flow (the first SYN without ACK,
 * or a UDP flow's first datagram): direction O when the NIC opened it, I otherwise. A flow
 * gives a B tuple at its first frame (no statistics, as Azure's) and an E tuple at its last
 * frame with the packets and bytes each way — the replay ends every connection, so there
 * is no C. Bytes are IP packet lengths ("Packet bytes include the packet header and
 * payload"). Frames an appliance relays cross its NIC twice (in, then out); they are
 * counted on the way in only.
 *
 * The rule: the trace's NSG step for that NIC and 5-tuple. A flow that several NSGs
 * allowed (subnet and NIC) is listed under each, as the schema's flows[] has "multiple
 * entries for access control lists". A denied flow is a D tuple under the denying NSG,
 * once per flow; its frames (an outbound SYN is captured before the NSG drops it) are not
 * counted as a flow. Traffic no NSG decided (no NSG on the NIC or its subnet) is listed
 * with aclID and rule "unspecified", the schema's word for traffic no ACL decided — ⚠ the
 * page documents it for encryption drops only.
 *
 * Times: tuples in milliseconds since the Unix epoch, simulated t = 0 being PCAP_EPOCH_S
 * (the captures' epoch, so flow log and pcaps agree); one record per NIC and one-minute
 * collection interval ("Logs are collected at one-minute intervals"), stamped with the
 * interval's end. Identifiers (flowLogGUID, aclID) are name-based UUIDs, stable across runs.
 */
#define _DEFAULT_SOURCE /* u_char and friends, which <pcap/pcap.h> uses */
#include "model/flowlog.h"
#include "model/net_internal.h"
#include "pcap/capture.h"
#include "pcap/frame.h"

#include <json-glib/json-glib.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#define FLOWLOG_VERSION 4
#define INTERVAL_NS     (60ull * 1000000000ull)
#define UNSPECIFIED     "unspecified"

typedef struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto;
} Tuple;

/* One NSG decision of the trace about a 5-tuple at a node. */
typedef struct {
    char *nsg, *rule; /* rule: "UserRule_X" / "DefaultRule_X" */
    bool deny;
    uint64_t t_ns;
} Decision;

typedef struct {
    Tuple t;
    bool outbound; /* the NIC opened it */
    uint64_t first_ns, last_ns;
    uint64_t pk_fwd, by_fwd, pk_rev, by_rev;
} Flow;

typedef struct {
    guint nic;     /* index in net->nics */
    uint64_t t_ns; /* the tuple's time */
    char *acl, *rule;
    char *text;
} Entry;

/* ---- helpers ---- */

static char *tuple_key(const char *node, bool inbound, const Tuple *t)
{
    return g_strdup_printf("%s|%c|%u|%u|%u|%u|%u", node, inbound ? 'I' : 'O', t->src, t->dst,
                           t->sport, t->dport, t->proto);
}

/* A name-based identifier shaped as a UUID (version 5 bits set), from SHA-1 of the name. */
static char *name_uuid(const char *kind, const char *name)
{
    g_autofree char *seed = g_strdup_printf("vnetsim:%s:%s", kind, name);
    g_autofree char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA1, seed, -1);
    h[12] = '5';
    static const char variant[] = "89ab";
    h[16] = variant[g_ascii_xdigit_value(h[16]) & 3];
    return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static bool parse_tuple(const char *detail, Tuple *t)
{
    char proto[8];
    unsigned a[4], b[4], sp, dp;
    if (sscanf(detail, "%7s %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", proto, &a[0], &a[1], &a[2], &a[3],
               &sp, &b[0], &b[1], &b[2], &b[3], &dp) != 11)
        return false;
    t->src = MODEL_IP4(a[0], a[1], a[2], a[3]);
    t->dst = MODEL_IP4(b[0], b[1], b[2], b[3]);
    t->sport = (uint16_t)sp;
    t->dport = (uint16_t)dp;
    t->proto = strcmp(proto, "Tcp") == 0   ? MODEL_IPPROTO_TCP
               : strcmp(proto, "Udp") == 0 ? MODEL_IPPROTO_UDP
                                           : MODEL_IPPROTO_ICMP;
    return true;
}

static bool rule_is_default(const ModelNet *net, const char *nsg, const char *rule)
{
    const ModelNsg *n = model_net_find_nsg(net, nsg);
    for (int d = 0; n && d < 2; d++) {
        size_t count = 0;
        const ModelNsgRule *const *rules = model_nsg_rules(n, (ModelDirection)d, &count);
        for (size_t i = 0; i < count; i++)
            if (rules[i]->is_default && strcmp(rules[i]->name, rule) == 0)
                return true;
    }
    return false;
}

static void decision_free(gpointer p)
{
    Decision *d = p;
    g_free(d->nsg);
    g_free(d->rule);
    g_free(d);
}

/* (node, direction, tuple) -> GPtrArray of Decision *, from the trace's NSG steps. */
static GHashTable *decisions_of(const ModelNet *net, const ModelTrace *trace)
{
    GHashTable *out =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    size_t n = 0;
    const ModelStepRecord *steps = model_trace_steps(trace, &n);
    for (size_t i = 0; i < n; i++) {
        const ModelStepRecord *s = &steps[i];
        bool in = s->stage == MODEL_STAGE_NSG_IN;
        if ((!in && s->stage != MODEL_STAGE_NSG_OUT) || strcmp(s->object, "flow-record") == 0)
            continue;
        bool deny = strcmp(s->action, "drop") == 0;
        if (!deny && strcmp(s->action, "allow") != 0)
            continue;
        Tuple t;
        const char *slash = strchr(s->object, '/');
        if (!slash || !parse_tuple(s->detail, &t))
            continue;
        char *key = tuple_key(s->node, in, &t);
        GPtrArray *list = g_hash_table_lookup(out, key);
        if (!list) {
            list = g_ptr_array_new_with_free_func(decision_free);
            g_hash_table_insert(out, key, list);
        } else {
            g_free(key);
        }
        g_autofree char *nsg = g_strndup(s->object, (gsize)(slash - s->object));
        bool known = false;
        for (guint k = 0; k < list->len && !known; k++)
            known = strcmp(((Decision *)list->pdata[k])->nsg, nsg) == 0;
        if (known) /* a retransmission met the same rule */
            continue;
        Decision *d = g_new0(Decision, 1);
        d->nsg = g_strdup(nsg);
        d->rule = g_strdup_printf(
            "%s_%s", rule_is_default(net, nsg, slash + 1) ? "DefaultRule" : "UserRule", slash + 1);
        d->deny = deny;
        d->t_ns = s->t_ns;
        g_ptr_array_add(list, d);
    }
    return out;
}

/* ---- reading a capture back ---- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

typedef struct {
    Tuple t;
    uint16_t ip_len;
    uint8_t tcp_flags;
    bool outgoing;
} Frame;

static bool parse_frame(const uint8_t *f, uint32_t caplen, const uint8_t mac[6], Frame *out)
{
    if (caplen < PCAP_ETH_HLEN + PCAP_IP4_HLEN || rd16(f + 12) != 0x0800)
        return false;
    const uint8_t *ip = f + PCAP_ETH_HLEN;
    unsigned ihl = (ip[0] & 0x0f) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < PCAP_IP4_HLEN || caplen < PCAP_ETH_HLEN + ihl + 4)
        return false;
    out->outgoing = memcmp(f + 6, mac, 6) == 0;
    out->ip_len = rd16(ip + 2);
    out->t = (Tuple){.src = rd32(ip + 12), .dst = rd32(ip + 16), .proto = ip[9]};
    out->tcp_flags = 0;
    const uint8_t *l4 = ip + ihl;
    if (out->t.proto == MODEL_IPPROTO_TCP || out->t.proto == MODEL_IPPROTO_UDP) {
        out->t.sport = rd16(l4);
        out->t.dport = rd16(l4 + 2);
        if (out->t.proto == MODEL_IPPROTO_TCP && caplen >= PCAP_ETH_HLEN + ihl + 14)
            out->tcp_flags = l4[13];
    }
    return true;
}

static Tuple reversed(const Tuple *t)
{
    return (Tuple){t->dst, t->src, t->dport, t->sport, t->proto};
}

static char *flow_id(const Tuple *t)
{
    return g_strdup_printf("%u|%u|%u|%u|%u", t->src, t->dst, t->sport, t->dport, t->proto);
}

/* The flows of one NIC's capture, in the order they began. */
static bool read_capture(const ModelNic *nic, const char *path, GPtrArray *flows, GError **error)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot read the capture: %s",
                    path, errbuf);
        return false;
    }
    GHashTable *by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    const uint64_t epoch_ns = (uint64_t)PCAP_EPOCH_S * 1000000000ull;
    while (pcap_next_ex(p, &h, &data) == 1) {
        Frame fr;
        if (!parse_frame(data, h->caplen, nic->mac, &fr))
            continue;
        uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec - epoch_ns;
        bool own = fr.t.src == nic->ip || fr.t.dst == nic->ip;
        if (!own && fr.outgoing) /* relayed: counted on the way in */
            continue;
        g_autofree char *id = flow_id(&fr.t);
        Tuple rev = reversed(&fr.t);
        g_autofree char *rid = flow_id(&rev);
        Flow *f = g_hash_table_lookup(by_id, id);
        bool forward = true;
        if (!f && (f = g_hash_table_lookup(by_id, rid)))
            forward = false;
        if (!f) {
            /* A TCP segment other than a SYN opening a flow we did not see begin (its SYN was
             * denied elsewhere, or we only see replies) still belongs to a flow, oriented
             * as seen. */
            f = g_new0(Flow, 1);
            f->t = fr.t;
            f->outbound = own ? fr.t.src == nic->ip : false;
            f->first_ns = t;
            g_hash_table_insert(by_id, g_strdup(id), f);
            g_ptr_array_add(flows, f);
        }
        f->last_ns = t;
        if (forward) {
            f->pk_fwd++;
            f->by_fwd += fr.ip_len;
        } else {
            f->pk_rev++;
            f->by_rev += fr.ip_len;
        }
    }
    pcap_close(p);
    g_hash_table_destroy(by_id);
    return true;
}

/* ---- building the records ---- */

static void entry_free(gpointer p)
{
    Entry *e = p;
    g_free(e->acl);
    g_free(e->rule);
    g_free(e->text);
    g_free(e);
}

static void add_entry(GPtrArray *entries, guint nic, uint64_t t_ns, const char *acl,
                      const char *rule, const Tuple *t, bool outbound, char state,
                      const Flow *counts)
{
    char s[MODEL_IP_STRLEN], d[MODEL_IP_STRLEN];
    model_ip_format(t->src, s);
    model_ip_format(t->dst, d);
    uint64_t ms = (uint64_t)PCAP_EPOCH_S * 1000ull + t_ns / 1000000ull;
    Entry *e = g_new0(Entry, 1);
    e->nic = nic;
    e->t_ns = t_ns;
    e->acl = g_strdup(acl);
    e->rule = g_strdup(rule);
    e->text = g_strdup_printf("%" G_GUINT64_FORMAT ",%s,%s,%u,%u,%u,%c,%c,NX,%" G_GUINT64_FORMAT
                              ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT,
                              ms, s, d, t->sport, t->dport, t->proto, outbound ? 'O' : 'I', state,
                              counts ? counts->pk_fwd : 0, counts ? counts->by_fwd : 0,
                              counts ? counts->pk_rev : 0, counts ? counts->by_rev : 0);
    g_ptr_array_add(entries, e);
}

static const char *node_of(const ModelNic *nic)
{
    return nic->host ? nic->host->name : nic->name;
}

static bool nic_flows(const ModelNet *net, guint index, const char *pcap_dir, GHashTable *decisions,
                      GPtrArray *entries, GError **error)
{
    const ModelNic *nic = net->nics->pdata[index];
    g_autofree char *file = g_strdup_printf("%s.pcap", nic->capture_name);
    g_autofree char *path = g_build_filename(pcap_dir, file, NULL);
    GPtrArray *flows = g_ptr_array_new_with_free_func(g_free);
    if (!read_capture(nic, path, flows, error)) {
        g_ptr_array_free(flows, TRUE);
        return false;
    }
    GHashTable *denied = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* Denies first: D tuples, and their frames are not flows. */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, decisions);
    const char *node = node_of(nic);
    size_t node_len = strlen(node);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *key = k;
        if (strncmp(key, node, node_len) != 0 || key[node_len] != '|')
            continue;
        const GPtrArray *list = v;
        for (guint i = 0; i < list->len; i++) {
            const Decision *d = list->pdata[i];
            if (!d->deny)
                continue;
            Tuple t;
            unsigned src, dst, sp, dp, pr;
            char dir;
            if (sscanf(key + node_len, "|%c|%u|%u|%u|%u|%u", &dir, &src, &dst, &sp, &dp, &pr) != 6)
                continue;
            t = (Tuple){src, dst, (uint16_t)sp, (uint16_t)dp, (uint8_t)pr};
            if ((dir == 'O' ? t.src : t.dst) != nic->ip)
                continue; /* another NIC of the host */
            g_autofree char *acl = name_uuid("nsg", d->nsg);
            add_entry(entries, index, d->t_ns, acl, d->rule, &t, dir == 'O', 'D', NULL);
            g_hash_table_add(denied, flow_id(&t));
        }
    }
    for (guint i = 0; i < flows->len; i++) {
        const Flow *f = flows->pdata[i];
        g_autofree char *id = flow_id(&f->t);
        if (g_hash_table_contains(denied, id))
            continue;
        g_autofree char *key = tuple_key(node, !f->outbound, &f->t);
        const GPtrArray *list = g_hash_table_lookup(decisions, key);
        bool any = false;
        for (guint d = 0; list && d < list->len; d++) {
            const Decision *dec = list->pdata[d];
            if (dec->deny)
                continue;
            g_autofree char *acl = name_uuid("nsg", dec->nsg);
            add_entry(entries, index, f->first_ns, acl, dec->rule, &f->t, f->outbound, 'B', NULL);
            add_entry(entries, index, f->last_ns, acl, dec->rule, &f->t, f->outbound, 'E', f);
            any = true;
        }
        if (!any) {
            add_entry(entries, index, f->first_ns, UNSPECIFIED, UNSPECIFIED, &f->t, f->outbound,
                      'B', NULL);
            add_entry(entries, index, f->last_ns, UNSPECIFIED, UNSPECIFIED, &f->t, f->outbound, 'E',
                      f);
        }
    }
    g_hash_table_destroy(denied);
    g_ptr_array_free(flows, TRUE);
    return true;
}

static gint entry_cmp(gconstpointer a, gconstpointer b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    if (x->nic != y->nic)
        return x->nic < y->nic ? -1 : 1;
    uint64_t mx = x->t_ns / INTERVAL_NS, my = y->t_ns / INTERVAL_NS;
    if (mx != my)
        return mx < my ? -1 : 1;
    int c = strcmp(x->acl, y->acl);
    if (c)
        return c;
    c = strcmp(x->rule, y->rule);
    if (c)
        return c;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return strcmp(x->text, y->text);
}

static char *iso_time(uint64_t t_ns)
{
    GDateTime *dt =
        g_date_time_new_from_unix_utc((gint64)PCAP_EPOCH_S + (gint64)(t_ns / 1000000000ull));
    g_autofree char *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
    g_date_time_unref(dt);
    return g_strdup_printf("%s.%07" G_GUINT64_FORMAT "Z", base,
                           (uint64_t)((t_ns % 1000000000ull) / 100));
}

static void mac_text(const uint8_t mac[6], char out[13])
{
    snprintf(out, 13, "%02X%02X%02X%02X%02X%02X", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* One record: one NIC, one collection interval, entries [from, to). */
static void write_record(JsonBuilder *b, const ModelNet *net, GPtrArray *entries, guint from,
                         guint to, const char *scenario, const char *guid)
{
    const Entry *first = entries->pdata[from];
    const ModelNic *nic = net->nics->pdata[first->nic];
    char mac[13];
    mac_text(nic->mac, mac);
    g_autofree char *time = iso_time((first->t_ns / INTERVAL_NS + 1) * INTERVAL_NS);
    g_autofree char *region = g_ascii_strup(net->region, -1);
    g_autofree char *name = g_ascii_strup(scenario, -1);
    g_autofree char *flowlog_id = g_strdup_printf(
        "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/"
        "PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_%s/FLOWLOGS/%s",
        region, name);
    g_autofree char *target = g_strdup_printf(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/%s/providers/"
        "Microsoft.Network/virtualNetworks/%s",
        scenario, nic->subnet->vnet->name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "time");
    json_builder_add_string_value(b, time);
    json_builder_set_member_name(b, "flowLogVersion");
    json_builder_add_int_value(b, FLOWLOG_VERSION);
    json_builder_set_member_name(b, "flowLogGUID");
    json_builder_add_string_value(b, guid);
    json_builder_set_member_name(b, "macAddress");
    json_builder_add_string_value(b, mac);
    json_builder_set_member_name(b, "category");
    json_builder_add_string_value(b, "FlowLogFlowEvent");
    json_builder_set_member_name(b, "flowLogResourceID");
    json_builder_add_string_value(b, flowlog_id);
    json_builder_set_member_name(b, "targetResourceID");
    json_builder_add_string_value(b, target);
    json_builder_set_member_name(b, "operationName");
    json_builder_add_string_value(b, "FlowLogFlowEvent");
    json_builder_set_member_name(b, "flowRecords");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "flows");
    json_builder_begin_array(b);
    for (guint i = from; i < to;) {
        const Entry *acl = entries->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "aclID");
        json_builder_add_string_value(b, acl->acl);
        json_builder_set_member_name(b, "flowGroups");
        json_builder_begin_array(b);
        while (i < to && strcmp(((const Entry *)entries->pdata[i])->acl, acl->acl) == 0) {
            const Entry *rule = entries->pdata[i];
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "rule");
            json_builder_add_string_value(b, rule->rule);
            json_builder_set_member_name(b, "flowTuples");
            json_builder_begin_array(b);
            for (; i < to && strcmp(((const Entry *)entries->pdata[i])->acl, acl->acl) == 0 &&
                   strcmp(((const Entry *)entries->pdata[i])->rule, rule->rule) == 0;
                 i++)
                json_builder_add_string_value(b, ((const Entry *)entries->pdata[i])->text);
            json_builder_end_array(b);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
}

char *model_flowlog_json(const ModelNet *net, const ModelTrace *trace, const char *pcap_dir,
                         const char *scenario, GError **error)
{
    GHashTable *decisions = decisions_of(net, trace);
    GPtrArray *entries = g_ptr_array_new_with_free_func(entry_free);
    bool ok = true;
    for (guint i = 0; ok && i < net->nics->len; i++) {
        const ModelNic *nic = net->nics->pdata[i];
        if (nic->subnet && !nic->pe_target && !nic->outside)
            ok = nic_flows(net, i, pcap_dir, decisions, entries, error);
    }
    g_hash_table_destroy(decisions);
    if (!ok) {
        g_ptr_array_free(entries, TRUE);
        return NULL;
    }
    g_ptr_array_sort(entries, entry_cmp);
    g_autofree char *guid = name_uuid("flowlog", scenario);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "records");
    json_builder_begin_array(b);
    for (guint i = 0; i < entries->len;) {
        const Entry *e = entries->pdata[i];
        guint j = i + 1;
        while (j < entries->len && ((const Entry *)entries->pdata[j])->nic == e->nic &&
               ((const Entry *)entries->pdata[j])->t_ns / INTERVAL_NS == e->t_ns / INTERVAL_NS)
            j++;
        write_record(b, net, entries, i, j, scenario, guid);
        i = j;
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    JsonGenerator *g = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    json_generator_set_indent(g, 2);
    char *text = json_generator_to_data(g, NULL);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
    g_ptr_array_free(entries, TRUE);
    return text;
}
