/*
 * scn_flows.c — the flows section, the replay, and judging a replay against each flow's
 * `expect`.
 *
 * A flow is a TCP connection (optionally TLS and one request) or a UDP datagram from a
 * host to an address and port; the packets decide its verdict. `to.host` names a scenario
 * object instead of an address: a private endpoint means its IP; a VM or appliance means
 * its private IP when the sender sits in a VNet and its instance public IP when the sender
 * is on the internet; an internet or service host means its public IP. A name with a dot
 * that names no object is a DNS name: the sender resolves it at replay (hosts file, then
 * its DNS servers), and a flow to a DNS name on 443 speaks TLS and sends one request unless
 * told otherwise.
 */
#include "model/scn_internal.h"

#include <string.h>

#define SCN_MAX_AT_MS 1000000000 /* about 11.6 days of simulated time */

static const ScnKey flow_keys[] = {
    SCN_F("name"),    SCN_F("from"),    SCN_F("to"),        SCN_F("at_ms"),
    SCN_F("expect"),  SCN_F("bastion"), SCN_F("activity"),  SCN_F("customImage"),
    SCN_F("compute"), SCN_F("https"),   SCN_F("workspace"),
};

static const ScnKey to_keys[] = {
    SCN_F("ip"),  SCN_F("host"),    SCN_F("port"), SCN_F("protocol"),
    SCN_F("tls"), SCN_F("request"), SCN_F("sni"),
};

static const ScnKey expect_keys[] = {
    SCN_F("verdict"), SCN_F("cause"), SCN_F("at"), SCN_F("rootCause"), SCN_F("rootCauseAt"),
};

char *scn_no_sender(const ScnHostDef *h, const char *name)
{
    /* A compute cluster's name with no node behind it (nodes: 0) has no host at all. */
    return h->host
               ? g_strdup_printf("host '%s' has no address to send from (give it a publicIp)", name)
               : g_strdup_printf("'%s' has no node to send from (a compute cluster at 0 "
                                 "nodes: give it nodes)",
                                 name);
}

static bool sender_has_address(const ScnHostDef *h)
{
    return h->nic || h->public_ip;
}

/* The address `to.host` means for a packet from `from` (see the file comment), or the DNS
 * name it resolves (*fqdn, canonical). */
static bool resolve_to_host(ScnLoad *ld, const ScnHostDef *from, const ScnNode *ref, uint32_t *dst,
                            char **fqdn, GError **error)
{
    const char *name = ref->text;
    const ScnDef *d = scn_names_find(&ld->endpoints, name);
    if (d) {
        *dst = ((const ScnEndpointDef *)d->object)->ip;
        return true;
    }
    d = scn_names_find(&ld->hosts, name);
    if (!d) {
        if (strchr(name, '.'))
            return (*fqdn = scn_dns_flow_name(ref, error)) != NULL;
        GPtrArray *names = g_ptr_array_new();
        for (guint i = 0; i < ld->hosts.names->len; i++)
            g_ptr_array_add(names, ld->hosts.names->pdata[i]);
        for (guint i = 0; i < ld->endpoints.names->len; i++)
            g_ptr_array_add(names, ld->endpoints.names->pdata[i]);
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg, "'to.host': no host or private endpoint named '%s'", name);
        scn_append_suggestion(msg, name, (const char *const *)names->pdata, names->len);
        scn_fail(error, SCN_ERROR_REFERENCE, &ref->mark, "%s", msg->str);
        g_string_free(msg, TRUE);
        g_ptr_array_free(names, TRUE);
        return false;
    }
    const ScnHostDef *to = d->object;
    if (to->nic && from->nic && to->ip) { /* ip 0: nothing private to aim at (public LB) */
        *dst = to->ip;
        return true;
    }
    if (to->public_ip) {
        *dst = to->public_ip;
        return true;
    }
    if (to->nic)
        return scn_fail(error, SCN_ERROR_VALUE, &ref->mark,
                        "host '%s' has no public IP, so '%s' (outside every VNet) cannot reach it "
                        "by name; give 'ip' to aim at its private address",
                        name, from->host ? scn_get(from->node, "name")->text : "?");
    return scn_fail(error, SCN_ERROR_VALUE, &ref->mark,
                    "host '%s' has no address: give it a publicIp, or aim at one of its private "
                    "endpoints",
                    name);
}

/* tls, request, sni. To a DNS name on TCP 443 a flow is HTTPS: TLS with the name as SNI,
 * then one request. Anything else is a bare handshake unless the flow says otherwise. */
static bool load_tls(ScnFlowDef *f, const ScnNode *to, GError **error)
{
    bool tcp = f->proto == MODEL_IPPROTO_TCP;
    f->tls = f->fqdn && tcp && f->port == 443;
    if (!scn_opt_bool(to, "tls", &f->tls, error))
        return false;
    f->request = f->fqdn && f->tls;
    if (!scn_opt_bool(to, "request", &f->request, error))
        return false;
    static const char *const tcp_only[] = {"tls", "request", "sni"};
    for (size_t i = 0; !tcp && i < G_N_ELEMENTS(tcp_only); i++) {
        const ScnNode *k = scn_get_key(to, tcp_only[i]);
        if (k && scn_get(to, tcp_only[i]))
            return scn_fail(error, SCN_ERROR_VALUE, &k->mark,
                            "'%s' needs a Tcp flow: a Udp flow is one datagram", tcp_only[i]);
    }
    const ScnNode *sni = scn_get(to, "sni");
    if (!sni)
        return true;
    if (!f->tls)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get_key(to, "sni")->mark,
                        "'sni' is sent in the TLS ClientHello: it needs tls: true");
    g_autofree char *canon = NULL;
    const char *t = NULL;
    if (!scn_node_string(sni, "sni", &t, error))
        return false;
    GError *cause = NULL;
    if (!(canon = model_dns_name_normalize(t, &cause))) {
        scn_fail(error, SCN_ERROR_VALUE, &sni->mark, "'sni': %s", cause->message);
        g_error_free(cause);
        return false;
    }
    f->sni = g_steal_pointer(&canon);
    return true;
}

static bool load_to(ScnLoad *ld, ScnFlowDef *f, const ScnHostDef *from, const ScnNode *to,
                    GError **error)
{
    if (!scn_check_keys(to, "'to'", to_keys, G_N_ELEMENTS(to_keys), error))
        return false;
    const ScnNode *ip = scn_get(to, "ip"), *host = scn_get(to, "host");
    if (ip && host)
        return scn_fail(error, SCN_ERROR_SCHEMA, &host->mark,
                        "'to' gives both 'ip' and 'host': give one");
    if (!ip && !host)
        return scn_fail(error, SCN_ERROR_SCHEMA, &to->mark, "'to' needs 'ip' or 'host'");
    const char *t = NULL;
    if (ip) {
        if (!scn_node_ip(ip, "ip", &f->dst, error))
            return false;
        f->pub.to = g_strdup(ip->text);
    } else {
        if (!scn_node_string(host, "host", &t, error) ||
            !resolve_to_host(ld, from, host, &f->dst, &f->fqdn, error))
            return false;
        f->pub.to = f->fqdn ? g_strdup_printf("fqdn %s", f->fqdn) : g_strdup_printf("host %s", t);
    }
    int64_t port;
    if (!scn_req_int(to, "port", "'to'", 1, 65535, &port, error))
        return false;
    f->port = (uint16_t)port;
    const char *proto = "Tcp";
    if (!scn_opt_string(to, "protocol", &proto, error))
        return false;
    if (g_ascii_strcasecmp(proto, "Tcp") == 0)
        f->proto = MODEL_IPPROTO_TCP;
    else if (g_ascii_strcasecmp(proto, "Udp") == 0)
        f->proto = MODEL_IPPROTO_UDP;
    else
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get(to, "protocol")->mark,
                        "'protocol': a flow is Tcp or Udp, not \"%s\"", proto);
    return load_tls(f, to, error);
}

static bool enum_error(const ScnNode *at, const char *key, const char *text,
                       const char *const *names, size_t n, GError **error)
{
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'%s': unknown %s '%s'", key, key, text);
    const char *s = scn_suggest(text, names, n);
    if (s) {
        g_string_append_printf(msg, " (did you mean '%s'?)", s);
    } else if (n <= 8) {
        g_string_append(msg, " (expected ");
        for (size_t i = 0; i < n; i++)
            g_string_append_printf(msg, "%s%s", i ? ", " : "", names[i]);
        g_string_append(msg, ")");
    } else {
        g_string_append(msg, " (`vnetsim causes` lists them)");
    }
    scn_fail(error, SCN_ERROR_VALUE, &at->mark, "%s", msg->str);
    g_string_free(msg, TRUE);
    return false;
}

static bool parse_verdict(const ScnNode *v, ModelVerdict *out, GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(v, "verdict", &t, error))
        return false;
    if (model_verdict_from_name(t, out))
        return true;
    const char *names[MODEL_VERDICT_COUNT];
    for (int i = 0; i < MODEL_VERDICT_COUNT; i++)
        names[i] = model_verdict_name((ModelVerdict)i);
    return enum_error(v, "verdict", t, names, MODEL_VERDICT_COUNT, error);
}

/* A cause by name; with allow_none, NONE too (rootCause: NONE expects no root cause). */
static bool parse_cause(const ScnNode *v, const char *key, bool allow_none, ModelCause *out,
                        GError **error)
{
    const char *t = NULL;
    if (!scn_node_string(v, key, &t, error))
        return false;
    if (allow_none && strcmp(t, "NONE") == 0) {
        *out = MODEL_CAUSE_NONE;
        return true;
    }
    if (model_cause_from_name(t, out))
        return true;
    const char *names[MODEL_CAUSE_COUNT];
    for (int i = 0; i < MODEL_CAUSE_COUNT; i++)
        names[i] = model_cause_name((ModelCause)i);
    return enum_error(v, key, t, names + 1, MODEL_CAUSE_COUNT - 1, error);
}

/* rootCause, rootCauseAt: the earlier decision behind the drop (a DNS answer, a hosts-file
 * line); NONE expects that there is none. */
static bool load_root_cause(ScnExpect *x, const ScnNode *e, GError **error)
{
    const ScnNode *root = scn_get(e, "rootCause"), *root_at = scn_get(e, "rootCauseAt");
    if (!root && !root_at)
        return true;
    if (!root)
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(e, "rootCauseAt")->mark,
                        "'rootCauseAt' needs 'rootCause'");
    if (!parse_cause(root, "rootCause", true, &x->root_cause, error))
        return false;
    x->has_root_cause = true;
    if (x->verdict == MODEL_VERDICT_DELIVERED && x->root_cause != MODEL_CAUSE_NONE)
        return scn_fail(error, SCN_ERROR_VALUE, &root->mark,
                        "a delivered flow has no root cause: drop 'rootCause' or expect dropped");
    if (root_at && x->root_cause == MODEL_CAUSE_NONE)
        return scn_fail(error, SCN_ERROR_VALUE, &scn_get_key(e, "rootCauseAt")->mark,
                        "rootCause NONE has no place: drop 'rootCauseAt'");
    const char *at = NULL;
    if (root_at && !scn_node_string(root_at, "rootCauseAt", &at, error))
        return false;
    x->root_at = g_strdup(at);
    return true;
}

static bool load_expect(ScnFlowDef *f, const ScnNode *e, GError **error)
{
    ScnExpect *x = &f->pub.expect;
    x->set = true;
    if (e->kind == SCN_NODE_SCALAR)
        return parse_verdict(e, &x->verdict, error);
    if (!scn_check_keys(e, "'expect'", expect_keys, G_N_ELEMENTS(expect_keys), error))
        return false;
    const ScnNode *v = NULL, *cause = scn_get(e, "cause");
    const char *at = NULL;
    if (!scn_req_node(e, "verdict", "'expect'", &v, error) ||
        !parse_verdict(v, &x->verdict, error) || !scn_opt_string(e, "at", &at, error))
        return false;
    x->at = g_strdup(at);
    if (!load_root_cause(x, e, error))
        return false;
    if (!cause)
        return true;
    const char *t = cause->text;
    if (!parse_cause(cause, "cause", false, &x->cause, error))
        return false;
    x->has_cause = true;
    if (x->verdict == MODEL_VERDICT_DELIVERED && x->cause != MODEL_CAUSE_NONE)
        return scn_fail(error, SCN_ERROR_VALUE, &cause->mark,
                        "a delivered flow has no cause: drop 'cause' or expect dropped");
    if (x->verdict != MODEL_VERDICT_DELIVERED && x->cause == MODEL_CAUSE_NONE)
        return scn_fail(error, SCN_ERROR_VALUE, &cause->mark,
                        "a %s flow always has a cause; '%s' means none",
                        model_verdict_name(x->verdict), t);
    if (model_cause_is_root_only(x->cause))
        return scn_fail(error, SCN_ERROR_VALUE, &cause->mark,
                        "%s is a root cause only: it never ends a flow (expect the cause it led "
                        "to, and this one as rootCause)",
                        t);
    return true;
}

static bool load_flow(ScnLoad *ld, const ScnNode *m, size_t index, GError **error)
{
    if (!scn_check_keys(m, "flow", flow_keys, G_N_ELEMENTS(flow_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "flow", error);
    if (!name || !scn_check_name(name, "flow", error))
        return false;
    g_autofree char *what = g_strdup_printf("flow '%s'", name->text);
    ScnFlowDef *f = g_new0(ScnFlowDef, 1);
    g_ptr_array_add(ld->scn->flows, f);
    f->pub.name = g_strdup(name->text);
    f->pub.file = g_strdup(m->mark.file);
    f->pub.line = m->mark.line;
    f->pub.selected = true;
    f->at = SIM_MS(index + 1);
    if (!scn_names_add(&ld->flows, name->text, name, f, error))
        return false;
    const ScnNode *from_ref = NULL, *to = NULL, *e = NULL;
    const ScnHostDef *from;
    const char *t = NULL;
    int64_t at_ms = -1;
    if (scn_get_key(m, "activity")) {
        if (!scn_load_activity(ld, f, m, error))
            return false;
        goto timing;
    }
    static const char *const activity_only[] = {"customImage", "compute", "https", "workspace"};
    for (size_t i = 0; i < G_N_ELEMENTS(activity_only); i++)
        if (scn_get_key(m, activity_only[i]))
            return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, activity_only[i])->mark,
                            "'%s' belongs to an activity: this flow has no 'activity'",
                            activity_only[i]);
    if (!scn_req_node(m, "from", what, &from_ref, error) ||
        !scn_node_string(from_ref, "from", &t, error) ||
        !(from = scn_names_resolve(&ld->hosts, from_ref, error)))
        return false;
    if (!sender_has_address(from)) {
        g_autofree char *why = scn_no_sender(from, t);
        return scn_fail(error, SCN_ERROR_VALUE, &from_ref->mark, "%s", why);
    }
    f->from = from->host;
    f->pub.from = g_strdup(t);
    const ScnNode *bastion = scn_get(m, "bastion");
    if (bastion && scn_get(m, "to"))
        return scn_fail(error, SCN_ERROR_SCHEMA, &scn_get_key(m, "bastion")->mark,
                        "flow '%s' gives both 'to' and 'bastion': a Bastion session names its "
                        "VM in bastion.to",
                        name->text);
    if (bastion ? !scn_entry_load_bastion_flow(ld, f, bastion, error)
                : (!scn_req_node(m, "to", what, &to, error) || !load_to(ld, f, from, to, error)))
        return false;
timing:
    if (!scn_opt_int(m, "at_ms", 0, SCN_MAX_AT_MS, &at_ms, error))
        return false;
    if (at_ms >= 0)
        f->at = SIM_MS(at_ms);
    e = scn_get(m, "expect");
    return !e || load_expect(f, e, error);
}

bool scn_load_flows(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "flows", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_flow(ld, SCN_ITEM(value, i), i, error))
            return false;
    return true;
}

/* ---- selection and replay ---- */

bool scn_scenario_select_flows(ScnScenario *scn, const char *const *names, size_t n, GError **error)
{
    for (size_t k = 0; k < n; k++) {
        if (scn_scenario_find_flow(scn, names[k]))
            continue;
        GPtrArray *all = g_ptr_array_new();
        for (guint i = 0; i < scn->flows->len; i++)
            g_ptr_array_add(all, (gpointer)((ScnFlowDef *)scn->flows->pdata[i])->pub.name);
        GString *msg = g_string_new(NULL);
        g_string_append_printf(msg, "no flow named '%s' in scenario '%s'", names[k], scn->name);
        scn_append_suggestion(msg, names[k], (const char *const *)all->pdata, all->len);
        g_set_error_literal(error, SCN_ERROR, SCN_ERROR_REFERENCE, msg->str);
        g_string_free(msg, TRUE);
        g_ptr_array_free(all, TRUE);
        return false;
    }
    for (guint i = 0; i < scn->flows->len; i++) {
        ScnFlowDef *f = scn->flows->pdata[i];
        f->pub.selected = n == 0;
        for (size_t k = 0; k < n && !f->pub.selected; k++)
            f->pub.selected = strcmp(f->pub.name, names[k]) == 0;
    }
    return true;
}

int scn_replay(ScnScenario *scn, uint64_t seed, const char *pcap_dir, ModelTrace *trace,
               GError **error)
{
    if (scn->engine) {
        g_set_error(error, SCN_ERROR, SCN_ERROR_REPLAY,
                    "scenario '%s' was already replayed: load it again", scn->name);
        return -1;
    }
    scn->engine = sim_engine_new(seed);
    if (!model_net_attach(scn->net, scn->engine, trace, pcap_dir, error)) {
        g_prefix_error(error, "scenario '%s': ", scn->name);
        return -1;
    }
    for (guint i = 0; i < scn->flows->len; i++) {
        ScnFlowDef *f = scn->flows->pdata[i];
        if (!f->pub.selected)
            continue;
        if (f->activity) {
            scn_replay_activity(scn, f);
            continue;
        }
        if (f->bastion) {
            model_net_start_bastion_session(scn->net, f->pub.name, f->from, f->bastion, f->target,
                                            f->port, f->at);
            continue;
        }
        ModelFlowSpec spec = {.name = f->pub.name,
                              .from = f->from,
                              .fqdn = f->fqdn,
                              .ip = f->dst,
                              .port = f->port,
                              .proto = f->proto,
                              .tls = f->tls,
                              .sni = f->sni,
                              .request = f->request};
        model_net_start_flow(scn->net, &spec, f->at);
    }
    sim_run(scn->engine);
    if (pcap_dir && !model_net_close_captures(scn->net, true, error)) {
        model_net_close_captures(scn->net, false, NULL);
        g_prefix_error(error, "scenario '%s': ", scn->name);
        return -1;
    }
    return 0;
}

/* ---- judging ---- */

static void describe(GString *out, ModelVerdict verdict, bool has_cause, ModelCause cause,
                     const char *at)
{
    g_string_append(out, model_verdict_name(verdict));
    if (has_cause && cause != MODEL_CAUSE_NONE)
        g_string_append_printf(out, " %s", model_cause_name(cause));
    if (at && *at)
        g_string_append_printf(out, " at %s", at);
}

/* " (root cause DNS_PUBLIC_ANSWER at corp-dns)", " (no root cause)". */
static void describe_root(GString *out, ModelCause root, const char *at)
{
    if (root == MODEL_CAUSE_NONE) {
        g_string_append(out, " (no root cause)");
        return;
    }
    g_string_append_printf(out, " (root cause %s", model_cause_name(root));
    if (at && *at)
        g_string_append_printf(out, " at %s", at);
    g_string_append(out, ")");
}

ScnJudgement scn_judge(const ScnFlow *flow, const ModelVerdictRecord *got, GString *outcome,
                       GString *expected)
{
    const ScnExpect *x = &flow->expect;
    if (got) {
        describe(outcome, got->verdict, true, got->cause, got->at);
        /* A root cause is always worth telling; its absence only when one was expected. */
        if (got->root_cause != MODEL_CAUSE_NONE ||
            (x->has_root_cause && x->root_cause != MODEL_CAUSE_NONE))
            describe_root(outcome, got->root_cause, got->root_at);
    } else {
        g_string_append(outcome, "no verdict");
    }
    if (!x->set)
        return SCN_JUDGE_NO_EXPECT;
    if (expected) {
        describe(expected, x->verdict, x->has_cause, x->cause, x->at);
        if (x->has_root_cause)
            describe_root(expected, x->root_cause, x->root_at);
    }
    bool pass = got && got->verdict == x->verdict && (!x->has_cause || got->cause == x->cause) &&
                (!x->at || strcmp(got->at, x->at) == 0) &&
                (!x->has_root_cause || got->root_cause == x->root_cause) &&
                (!x->root_at || (got->root_at && strcmp(got->root_at, x->root_at) == 0));
    return pass ? SCN_JUDGE_PASS : SCN_JUDGE_FAIL;
}
