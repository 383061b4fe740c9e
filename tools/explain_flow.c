/*
 * explain_flow.c — one flow explained from its trace (explain_flow.h), shared by `vnetsim
 * explain` and the teaching report.
 *
 * Retransmissions are collapsed (trace_path.h): a run of steps that repeats (the SYN sent
 * three times and dropped each time at the same rule) is printed once with its count.
 *
 * Inferences beyond the trace's own root cause are marked "(from the trace)": a reply
 * dropped on its way back is a missing return route (the path is asymmetric); a packet
 * that reached a stateful appliance without its request took a different route back.
 */
#include "tools/explain_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/lint.h"
#include "tools/trace_path.h"

/* ---- the documented fix's source, per cause ---- */

static const char *cause_doc(ModelCause c)
{
    switch (c) {
    case MODEL_CAUSE_DNS_NXDOMAIN:
    case MODEL_CAUSE_DNS_SERVFAIL:
    case MODEL_CAUSE_DNS_TIMEOUT:
    case MODEL_CAUSE_DNS_PUBLIC_ANSWER:
    case MODEL_CAUSE_DNS_STALE_HOSTS_ENTRY:
        return "domain §3, azure-facts §3";
    case MODEL_CAUSE_NSG_DENIED_OUT:
    case MODEL_CAUSE_NSG_DENIED_IN:
        return "azure-facts §1";
    case MODEL_CAUSE_NO_ROUTE:
    case MODEL_CAUSE_ROUTE_NEXT_HOP_NONE:
    case MODEL_CAUSE_ROUTE_NEXT_HOP_UNREACHABLE:
    case MODEL_CAUSE_ROUTING_LOOP:
    case MODEL_CAUSE_ASYMMETRIC_RETURN:
        return "azure-facts §2";
    case MODEL_CAUSE_FIREWALL_DENIED:
        return "domain §5, azure-facts §2";
    case MODEL_CAUSE_FIREWALL_NO_DNS_PROXY:
        return "azure-facts §3";
    case MODEL_CAUSE_GATEWAY_NOT_CONNECTED:
    case MODEL_CAUSE_ADDRESS_OVERLAP:
    case MODEL_CAUSE_BASTION_DENIED:
        return "azure-facts §6, domain §2";
    case MODEL_CAUSE_PUBLIC_ACCESS_DISABLED:
    case MODEL_CAUSE_SERVICE_FIREWALL_DENIED:
        return "azure-facts §4, domain §2";
    case MODEL_CAUSE_IDENTITY_NOT_AUTHORIZED:
    case MODEL_CAUSE_PRIVATE_LINK_VALIDATION_FAILED:
    case MODEL_CAUSE_TRUSTED_SERVICE_NOT_ALLOWED:
        return "domain §4.2, azure-facts §4";
    case MODEL_CAUSE_COMPUTE_NODE_UNUSABLE:
        return "domain §4.3, azure-facts §5";
    case MODEL_CAUSE_HOST_UNREACHABLE: /* a route found no NIC, or no host at a public IP */
        return "azure-facts §2";
    case MODEL_CAUSE_NO_LISTENER: /* the network delivered; the host refused (RST) */
        return "contract §3";
    default:
        return "contract §2-3";
    }
}

/* ---- the steps of a flow ---- */

static bool is_nsg(const ModelStepRecord *s)
{
    return s->stage == MODEL_STAGE_NSG_IN || s->stage == MODEL_STAGE_NSG_OUT;
}

/* ---- rendering a step in plain words ---- */

static const char *verb(const ModelStepRecord *s)
{
    const char *a = s->action;
    if (strcmp(a, "allow") == 0)
        return strcmp(s->object, "flow-record") == 0 ? "allowed (flow record)" : "allowed by";
    if (strcmp(a, "drop") == 0 || strcmp(a, "deny") == 0)
        return "DROPPED by";
    if (strcmp(a, "route") == 0)
        return "route";
    if (strcmp(a, "forward") == 0)
        return "relayed by";
    if (strcmp(a, "accept") == 0)
        return "accepted by";
    if (strcmp(a, "answer") == 0)
        return "answer from";
    if (strcmp(a, "query") == 0)
        return "query to";
    return a;
}

static void render_step(GString *out, const ModelStepRecord *s, const char *indent)
{
    g_string_append_printf(out, "%s%-12s %-16s %s", indent, s->node, model_stage_name(s->stage),
                           verb(s));
    bool show_object = strcmp(s->object, "flow-record") != 0 && strcmp(s->action, "route") != 0;
    if (show_object && *s->object)
        g_string_append_printf(out, " %s", s->object);
    if (*s->detail)
        g_string_append_printf(out, ": %s", s->detail);
    g_string_append_c(out, '\n');
}

static void render_path(GString *out, GPtrArray *steps)
{
    if (!steps || !steps->len) {
        g_string_append(out, "  path: no step was recorded (the flow never sent a packet)\n");
        return;
    }
    GArray *blocks = trace_collapse(steps);
    g_string_append(out, "  path:\n");
    for (guint b = 0; b < blocks->len; b++) {
        const TraceBlock *bl = &g_array_index(blocks, TraceBlock, b);
        if (bl->reps > 1)
            g_string_append_printf(out,
                                   "    %s happened %u times (retransmissions met the same "
                                   "decisions each time):\n",
                                   bl->period > 1 ? "the next steps" : "this step", bl->reps);
        for (guint i = 0; i < bl->period; i++)
            render_step(out, steps->pdata[bl->start + i], bl->reps > 1 ? "      " : "    ");
    }
    g_array_free(blocks, TRUE);
}

/* ---- finding decisions in the steps ---- */

bool explain_is_drop(const ModelStepRecord *s)
{
    return strcmp(s->action, "drop") == 0 || strcmp(s->action, "deny") == 0 ||
           strcmp(s->action, "reset") == 0 || strcmp(s->action, "servfail") == 0;
}

/* The first step that decided the verdict: a drop at the verdict's object (or node). */
static const ModelStepRecord *breaking_step(GPtrArray *steps, const ModelVerdictRecord *v)
{
    const ModelStepRecord *any_drop = NULL;
    for (guint i = 0; steps && i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        if (!explain_is_drop(s))
            continue;
        if (strcmp(s->object, v->at) == 0 || strcmp(s->node, v->at) == 0)
            return s;
        if (!any_drop)
            any_drop = s;
    }
    if (any_drop || g_strcmp0(model_cause_group(v->cause), "dns") != 0)
        return any_drop;
    /* A DNS failure drops nothing: it is the resolver's last answer (NXDOMAIN, SERVFAIL). */
    for (guint i = steps ? steps->len : 0; i-- > 0;) {
        const ModelStepRecord *s = steps->pdata[i];
        if (s->stage == MODEL_STAGE_DNS &&
            (strcmp(s->action, "answer") == 0 || strcmp(s->action, "servfail") == 0))
            return s;
    }
    return NULL;
}

/* The index of step s in steps. */
static guint index_of(GPtrArray *steps, const ModelStepRecord *s)
{
    guint at = 0;
    g_ptr_array_find(steps, s, &at);
    return at;
}

/* The last step before `upto` with this stage and action at any node (NULL: none). */
static const ModelStepRecord *last_before(GPtrArray *steps, guint upto, ModelStage stage,
                                          const char *action, const char *node)
{
    for (guint i = upto; i-- > 0;) {
        const ModelStepRecord *s = steps->pdata[i];
        if (s->stage == stage && strcmp(s->action, action) == 0 &&
            (!node || strcmp(s->node, node) == 0))
            return s;
    }
    return NULL;
}

static const ModelStepRecord *first_with(GPtrArray *steps, ModelStage stage, const char *action)
{
    for (guint i = 0; steps && i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        if (s->stage == stage && strcmp(s->action, action) == 0)
            return s;
    }
    return NULL;
}

/* A route step's detail without the object it starts with ("rt/x 0.0.0.0/0 -> …"). */
static const char *route_text(const ModelStepRecord *s)
{
    size_t n = strlen(s->object);
    if (n && strncmp(s->detail, s->object, n) == 0 && s->detail[n] == ' ')
        return s->detail + n + 1;
    return s->detail;
}

/* ---- the context of one explanation ---- */

typedef struct {
    const ModelNet *net;
    const ScnFlow *flow; /* the scenario's flow, NULL for an activity's sub-flow */
    const ModelVerdictRecord *v;
    GPtrArray *steps;
    const ModelStepRecord *broke;
    /* what the explanation concluded */
    GString *root; /* the root cause sentence; empty when the break is its own root */
    GString *fix;
    const char *doc;
} Why;

/* The client's address and the destination the flow aimed at, from the scenario. */
static bool flow_endpoints(const Why *w, uint32_t *src, uint32_t *dst, const char **dst_name)
{
    if (!w->flow)
        return false;
    ModelLintPlace from, to;
    model_lint_place(w->net, w->flow->from, &from);
    *src = from.ip ? from.ip : from.public_ip;
    *dst = 0;
    *dst_name = NULL;
    const char *t = w->flow->to;
    if (g_str_has_prefix(t, "host ")) {
        *dst_name = t + 5;
        model_lint_place(w->net, *dst_name, &to);
        *dst = from.ip && to.ip ? to.ip : to.public_ip;
    } else if (!model_ip_parse(t, dst)) {
        return false;
    }
    return *src && *dst;
}

/* "Tcp 10.1.1.4:49153 -> 10.1.2.4:22 matched …": the traffic in words for an NSG rule. */
static void nsg_traffic(const ModelStepRecord *s, GString *out)
{
    char proto[8], src[32], dst[32];
    unsigned sport, dport;
    if (sscanf(s->detail, "%7s %31[0-9.]:%u -> %31[0-9.]:%u", proto, src, &sport, dst, &dport) == 5)
        g_string_append_printf(out, "%s from %s to %s port %u", proto, src, dst, dport);
    else
        g_string_append(out, "this traffic");
}

static int rule_priority(const ModelStepRecord *s)
{
    const char *p = strstr(s->detail, "(priority ");
    return p ? atoi(p + 10) : 0;
}

/* NSG denies: which NSG, below which priority, which traffic — and what to do when no
 * priority is left below the deny (100 is the smallest Azure accepts). */
static void fix_nsg(Why *w)
{
    const ModelStepRecord *s = w->broke;
    const char *slash = strchr(s->object, '/');
    g_autofree char *nsg =
        slash ? g_strndup(s->object, (gsize)(slash - s->object)) : g_strdup(s->object);
    const char *rule = slash ? slash + 1 : s->object;
    const char *dir = s->stage == MODEL_STAGE_NSG_IN ? "inbound" : "outbound";
    int prio = rule_priority(s);
    GString *traffic = g_string_new(NULL);
    nsg_traffic(s, traffic);
    if (prio >= 65000)
        g_string_printf(w->fix,
                        "%s denies it by Azure's default rule %s: add an %s rule to %s that "
                        "allows %s, with a priority between 100 and 4096.",
                        nsg, rule, dir, nsg, traffic->str);
    else if (prio <= 100)
        g_string_printf(w->fix,
                        "%s/%s has priority %d, the smallest number Azure accepts, so no rule "
                        "can come before it: narrow or remove %s (or renumber it above a new "
                        "%s rule that allows %s).",
                        nsg, rule, prio, rule, dir, traffic->str);
    else
        g_string_printf(w->fix,
                        "add an %s rule to %s that allows %s with a priority number below %d "
                        "(lower numbers are evaluated first), or narrow %s so it no longer "
                        "covers it.",
                        dir, nsg, traffic->str, prio, rule);
    g_string_free(traffic, TRUE);
}

/* A reply dropped on its way back: the request reached the responder, which has no route
 * (or a None route) back to the client. */
static bool explain_return_path(Why *w)
{
    guint at = index_of(w->steps, w->broke);
    const ModelStepRecord *accept = last_before(w->steps, at, MODEL_STAGE_LISTENER, "accept", NULL);
    if (!accept || w->broke->stage != MODEL_STAGE_ROUTE || strcmp(accept->node, w->broke->node))
        return false;
    const char *responder = accept->node;
    ModelLintPlace back, client;
    model_lint_place(w->net, responder, &back);
    uint32_t src = 0, dst = 0;
    const char *dst_name = NULL;
    bool ends = flow_endpoints(w, &src, &dst, &dst_name);
    if (w->flow)
        model_lint_place(w->net, w->flow->from, &client);
    /* The appliance that relayed the request, if any: replies must come back through it. */
    const ModelStepRecord *relay =
        last_before(w->steps, index_of(w->steps, accept), MODEL_STAGE_ROUTE, "forward", NULL);
    ModelLintPlace hop;
    if (relay)
        model_lint_place(w->net, relay->node, &hop);
    char client_ip[MODEL_IP_STRLEN] = "the client", range[MODEL_PREFIX_STRLEN] = "", hop_ip[16];
    if (ends)
        model_ip_format(src, client_ip);
    if (w->flow && client.vnet)
        model_prefix_format(client.vnet_space, range);
    g_string_printf(w->root,
                    "(from the trace) missing return route: the request reached %s%s%s, but "
                    "its reply met %s (%s) on the way back to %s, so the path is asymmetric",
                    responder, relay ? " through " : "", relay ? relay->node : "", w->broke->object,
                    route_text(w->broke), client_ip);
    if (back.subnet) {
        const char *where = back.route_table ? back.route_table : NULL;
        g_autofree char *target =
            *range ? g_strdup_printf("%s (%s's range)", range, client.vnet) : g_strdup(client_ip);
        if (relay && hop.ip) {
            model_ip_format(hop.ip, hop_ip);
            if (where)
                g_string_printf(w->fix,
                                "add to route table %s (subnet %s) a route for %s with next hop "
                                "VirtualAppliance %s (%s), so replies go back through the "
                                "appliance that carried the request.",
                                where, back.subnet, target, hop_ip, relay->node);
            else
                g_string_printf(w->fix,
                                "give subnet %s a route table with a route for %s with next "
                                "hop VirtualAppliance %s (%s), so replies go back through the "
                                "appliance that carried the request.",
                                back.subnet, target, hop_ip, relay->node);
        } else {
            g_string_printf(w->fix, "give subnet %s a route for %s that leads back to the client.",
                            back.subnet, target);
        }
        w->doc = "domain §5, azure-facts §2";
    }
    return true;
}

/* A stateful appliance saw a packet without its connection's start: which route sent it
 * there. */
static void explain_asymmetric(Why *w)
{
    guint at = index_of(w->steps, w->broke);
    const ModelStepRecord *route = NULL;
    for (guint i = at; i-- > 0 && !route;) {
        const ModelStepRecord *s = w->steps->pdata[i];
        if (s->stage == MODEL_STAGE_ROUTE && strcmp(s->action, "route") == 0 &&
            strstr(s->detail, "VirtualAppliance"))
            route = s;
    }
    const ModelStepRecord *accept = last_before(w->steps, at, MODEL_STAGE_LISTENER, "accept", NULL);
    if (!route)
        return;
    ModelLintPlace from;
    model_lint_place(w->net, route->node, &from);
    g_string_printf(w->root,
                    "(from the trace) %s's %s left by route %s (%s) and reached %s, "
                    "which never saw the request: the request came in without crossing it, so "
                    "the path is asymmetric",
                    route->node, accept ? "replies" : "packets", route->object, route_text(route),
                    w->broke->node);
    if (from.subnet) {
        uint32_t src = 0, dst = 0;
        const char *dst_name = NULL;
        char client[32] = "the caller";
        if (flow_endpoints(w, &src, &dst, &dst_name))
            model_ip_format(src, client);
        g_string_printf(w->fix,
                        "add to route table %s a route for %s with next hop Internet, so %s's "
                        "replies leave the way the request came in; or make both directions "
                        "cross %s, or SNAT there so replies come back to it.",
                        from.route_table ? from.route_table : from.subnet, client, route->node,
                        w->broke->node);
    }
}

/* The first route dropped the request: which VNet holds the destination, and is it a peer
 * of a peer (peering is not transitive)? */
static void explain_route_request(Why *w)
{
    uint32_t src = 0, dst = 0;
    const char *dst_name = NULL;
    if (!flow_endpoints(w, &src, &dst, &dst_name) || !dst_name)
        return;
    ModelLintPlace from, to;
    model_lint_place(w->net, w->flow->from, &from);
    model_lint_place(w->net, dst_name, &to);
    if (!from.vnet || !to.vnet || strcmp(from.vnet, to.vnet) == 0)
        return;
    char ip[MODEL_IP_STRLEN], range[MODEL_PREFIX_STRLEN];
    model_ip_format(dst, ip);
    model_prefix_format(to.vnet_space, range);
    g_string_printf(w->root,
                    "(from the trace) %s's subnet %s has no route to %s in %s: %s is not "
                    "peered with %s, and peering is not transitive",
                    w->flow->from, from.subnet, ip, to.vnet, from.vnet, to.vnet);
    g_string_printf(w->fix,
                    "peer %s with %s, or give subnet %s a route for %s (%s) with next hop "
                    "VirtualAppliance at an appliance in a VNet peered with both — and the "
                    "matching route back from %s.",
                    from.vnet, to.vnet, from.subnet, range, to.vnet, to.subnet);
    w->doc = "domain §5, azure-facts §2";
}

/* The step where the root cause was decided (a DNS answer, a hosts-file line). */
static const ModelStepRecord *root_step(GPtrArray *steps, const ModelVerdictRecord *v)
{
    for (guint i = 0; steps && i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        if ((s->stage == MODEL_STAGE_DNS || s->stage == MODEL_STAGE_HOSTS_FILE) &&
            strcmp(s->action, "answer") == 0 &&
            (strcmp(s->object, v->root_at) == 0 || strcmp(s->node, v->root_at) == 0))
            return s;
    }
    return NULL;
}

static void analyse(Why *w)
{
    const ModelVerdictRecord *v = w->v;
    w->doc = cause_doc(v->root_cause != MODEL_CAUSE_NONE ? v->root_cause : v->cause);
    if (*v->hint)
        g_string_assign(w->fix, v->hint);
    if (v->root_cause != MODEL_CAUSE_NONE) {
        const ModelStepRecord *rs = root_step(w->steps, v);
        g_string_printf(w->root, "%s at %s: %s", model_cause_name(v->root_cause), v->root_at,
                        model_cause_text(v->root_cause));
        if (rs)
            g_string_append_printf(w->root, " (%s %s: %s)", rs->node, model_stage_name(rs->stage),
                                   rs->detail);
        /* Azure DNS answered from a VNet's view without the zone: name that VNet. */
        const char *view = rs ? strstr(rs->detail, "(view of ") : NULL;
        if (view && v->root_cause == MODEL_CAUSE_DNS_PUBLIC_ANSWER && w->fix->len) {
            g_autofree char *vnet = g_strndup(view + 9, strcspn(view + 9, ")"));
            g_string_append_printf(w->fix, " (here: %s)", vnet);
        }
        return; /* the model's fix (the root cause's hint) stands */
    }
    if (!w->broke)
        return;
    switch (v->cause) {
    case MODEL_CAUSE_NSG_DENIED_IN:
    case MODEL_CAUSE_NSG_DENIED_OUT:
        if (is_nsg(w->broke))
            fix_nsg(w);
        break;
    case MODEL_CAUSE_ASYMMETRIC_RETURN:
        explain_asymmetric(w);
        break;
    case MODEL_CAUSE_ROUTE_NEXT_HOP_NONE:
    case MODEL_CAUSE_NO_ROUTE:
    case MODEL_CAUSE_HOST_UNREACHABLE:
        if (!explain_return_path(w) && v->cause == MODEL_CAUSE_ROUTE_NEXT_HOP_NONE)
            explain_route_request(w);
        break;
    default:
        break;
    }
}

/* ---- teaching notes for a delivered flow ---- */

static void add_note(GPtrArray *notes, char *note)
{
    for (guint i = 0; i < notes->len; i++)
        if (strcmp(notes->pdata[i], note) == 0) {
            g_free(note);
            return;
        }
    g_ptr_array_add(notes, note);
}

/* "SNAT a:p -> b:q (…)" (or a load balancer's "… -> b:q (frontend)"): whether b is public.
 * A firewall's SNAT to its instance address or an internal frontend crosses no internet. */
static bool translates_to_public(const char *detail)
{
    const char *arrow = strstr(detail, " -> ");
    if (!arrow)
        return false;
    char ip[16] = {0};
    size_t n = 0;
    for (const char *p = arrow + 4; *p && *p != ':' && *p != ' ' && n + 1 < sizeof ip; p++)
        ip[n++] = *p;
    uint32_t addr;
    return model_ip_parse(ip, &addr) && !model_ip_is_private(addr);
}

static void teaching_notes(GPtrArray *steps, GPtrArray *notes)
{
    static const char *const broad[] = {"Storage", "AzureKeyVault", "AzureContainerRegistry",
                                        "AzureCloud", "AzureMachineLearning"};
    for (guint i = 0; steps && i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        if (s->stage == MODEL_STAGE_NAT && strcmp(s->action, "snat") == 0 &&
            translates_to_public(s->detail))
            add_note(notes, g_strdup_printf("traffic crossed the public internet: %s left with a "
                                            "public source address (%s) [azure-facts §2]",
                                            s->node, s->detail));
        if (s->stage == MODEL_STAGE_NAT && strcmp(s->action, "keep-source") == 0)
            add_note(notes, g_strdup_printf("%s reached the service through a service endpoint: "
                                            "the service sees the subnet's private address, and "
                                            "its firewall can name the subnet [azure-facts §2]",
                                            s->node));
        if (s->stage == MODEL_STAGE_ROUTE && g_str_has_prefix(s->object, "private-endpoint:"))
            add_note(notes,
                     g_strdup_printf("reached through private endpoint %s: a /32 route that a "
                                     "0.0.0.0/0 UDR does not override [azure-facts §2]",
                                     s->object + strlen("private-endpoint:")));
        if (s->stage == MODEL_STAGE_ROUTE && strcmp(s->action, "forward") == 0)
            add_note(notes, g_strdup_printf("%s relayed the packets (IP forwarding): replies must "
                                            "come back through it too [azure-facts §2]",
                                            s->node));
        if (is_nsg(s) && strcmp(s->object, "flow-record") == 0 &&
            g_str_has_prefix(s->detail, "return traffic"))
            add_note(notes, g_strdup("replies passed the NSGs on the flow record of the allowed "
                                     "request: NSGs are stateful, no rule is needed for return "
                                     "traffic [azure-facts §1]"));
        if (s->stage == MODEL_STAGE_PLATFORM && strcmp(s->action, "bypass") == 0)
            add_note(notes, g_strdup("traffic to 168.63.129.16 bypasses NSGs and UDRs "
                                     "[azure-facts §1, §3]"));
        if (is_nsg(s) && strcmp(s->action, "allow") == 0) {
            /* The rule's description lists its addresses: look for a broad tag there. */
            const char *m = strstr(s->detail, " matched ");
            g_auto(GStrv) words = m ? g_strsplit_set(m, " ,():", -1) : NULL;
            for (guint w = 0; words && words[w]; w++)
                for (size_t b = 0; b < G_N_ELEMENTS(broad); b++) {
                    size_t len = strlen(broad[b]);
                    if (g_ascii_strncasecmp(words[w], broad[b], len) != 0 ||
                        (words[w][len] && words[w][len] != '.'))
                        continue;
                    add_note(notes, g_strdup_printf("%s allowed it by service tag %s, which covers "
                                                    "every resource of the service in the region, "
                                                    "not only yours [azure-facts §1]",
                                                    s->object, words[w]));
                }
        }
    }
}

/* ---- one flow ---- */

void explain_why(const ModelNet *net, const ScnFlow *flow, const ModelVerdictRecord *v,
                 GPtrArray *steps, ExplainWhy *out)
{
    Why w = {.net = net,
             .flow = flow,
             .v = v,
             .steps = steps,
             .broke = steps ? breaking_step(steps, v) : NULL,
             .root = g_string_new(NULL),
             .fix = g_string_new(NULL)};
    analyse(&w);
    out->broke = w.broke;
    out->root = g_string_free(w.root, FALSE);
    out->fix = g_string_free(w.fix, FALSE);
    out->doc = w.doc;
}

void explain_why_clear(ExplainWhy *w)
{
    g_clear_pointer(&w->root, g_free);
    g_clear_pointer(&w->fix, g_free);
}

void explain_flow(GString *o, const ModelNet *net, const ScnFlow *flow, const char *name,
                  const ModelVerdictRecord *v, GPtrArray *steps)
{
    g_string_append_printf(o, "%s", name);
    if (flow)
        g_string_append_printf(o, ": from %s to %s", flow->from, flow->to);
    g_string_append_c(o, '\n');
    if (!v) {
        g_string_append(o, "  verdict: none (the flow never ended)\n");
    } else {
        g_string_append_printf(o, "  verdict: %s", model_verdict_name(v->verdict));
        if (v->cause != MODEL_CAUSE_NONE)
            g_string_append_printf(o, " %s", model_cause_name(v->cause));
        if (*v->at)
            g_string_append_printf(o, " at %s", v->at);
        g_string_append_c(o, '\n');
    }
    if (flow && flow->expect.set) {
        GString *got = g_string_new(NULL), *want = g_string_new(NULL);
        ScnJudgement j = scn_judge(flow, v, got, want);
        g_string_append_printf(o, "  expect: %s (%s)\n", want->str,
                               j == SCN_JUDGE_PASS ? "as expected" : "NOT what happened");
        g_string_free(got, TRUE);
        g_string_free(want, TRUE);
    }
    render_path(o, steps);
    if (v && v->verdict != MODEL_VERDICT_DELIVERED) {
        ExplainWhy w;
        explain_why(net, flow, v, steps, &w);
        if (w.broke)
            g_string_append_printf(o, "  broke at: %s, %s %s: %s\n", w.broke->node,
                                   model_stage_name(w.broke->stage), w.broke->object,
                                   w.broke->detail);
        g_string_append_printf(o, "  cause: %s: %s\n", model_cause_name(v->cause),
                               model_cause_text(v->cause));
        g_string_append_printf(o, "  root cause: %s\n",
                               *w.root ? w.root : "the same decision (no earlier cause)");
        /* A fix that names its own document section keeps it alone: the cause's sections
         * would cite the decision, not where the fix is documented. */
        bool cited = g_str_has_suffix(w.fix, "]") && strstr(w.fix, "§");
        if (*w.fix && cited)
            g_string_append_printf(o, "  fix: %s\n", w.fix);
        else if (*w.fix)
            g_string_append_printf(o, "  fix: %s [%s]\n", w.fix, w.doc);
        else
            g_string_append_printf(o, "  fix: no documented fix is known for %s [%s]\n",
                                   model_cause_name(v->cause), w.doc);
        explain_why_clear(&w);
    } else if (v) {
        GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
        teaching_notes(steps, notes);
        const ModelStepRecord *dns = first_with(steps, MODEL_STAGE_DNS, "answer");
        if (dns)
            add_note(notes, g_strdup_printf("the name was resolved by %s: %s [domain §3]",
                                            dns->object, dns->detail));
        for (guint i = 0; i < notes->len; i++)
            g_string_append_printf(o, "  note: %s\n", (const char *)notes->pdata[i]);
        g_ptr_array_free(notes, TRUE);
    }
    g_string_append_c(o, '\n');
}
