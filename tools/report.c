/*
 * report.c — the teaching report (report.h): one HTML file, readable offline.
 *
 * The page is built as one string, top to bottom: the topology (model_net_topology_dot
 * laid out by libgvc and inlined as SVG), the flows' table, the captures, then one section
 * per flow with its sequence diagram (report_seq.c) beside its explanation
 * (explain_flow.c). Flows come in the scenario's order, an activity's sub-flows after it, as
 * `vnetsim explain` lists them.
 *
 * The little script only filters the table and the sections; without it the report is
 * complete, just not filterable.
 */
#include "tools/report.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gvc.h>
#include <string.h>
#include <unistd.h>

#include "tools/explain_flow.h"
#include "tools/report_seq.h"
#include "tools/trace_path.h"

/* ---- paths ---- */

/* `to` relative to directory `from` (both absolute and canonical), with '/' separators. */
static char *relative_to(const char *from, const char *to)
{
    g_auto(GStrv) a = g_strsplit(from, "/", -1), b = g_strsplit(to, "/", -1);
    guint i = 0;
    while (a[i] && b[i] && strcmp(a[i], b[i]) == 0)
        i++;
    GPtrArray *parts = g_ptr_array_new();
    for (guint k = i; a[k]; k++)
        if (*a[k])
            g_ptr_array_add(parts, "..");
    for (guint k = i; b[k]; k++)
        if (*b[k])
            g_ptr_array_add(parts, b[k]);
    g_ptr_array_add(parts, NULL);
    char *rel = g_strjoinv("/", (char **)parts->pdata);
    g_ptr_array_free(parts, TRUE);
    return rel;
}

/* A link's href: each path segment percent-encoded, the slashes kept. */
static char *href(const char *path)
{
    return g_uri_escape_string(path, "/", FALSE);
}

/* ---- the topology, laid out by Graphviz ---- */

/* Graphviz, its pango plugin and fontconfig keep caches they never free (text metrics, font
 * sets): not ours to fix, and they do not grow with use. Sanitized builds (VNETSIM_SANITIZE)
 * would fail every report on them, so LeakSanitizer ignores what is allocated while
 * Graphviz works, and only then — and fontconfig's allocations wherever they happen, since
 * pango loads the fonts on a thread of its own. */
#if defined(__SANITIZE_ADDRESS__)
#define REPORT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPORT_UNDER_ASAN 1
#endif
#endif
#ifdef REPORT_UNDER_ASAN
#include <sanitizer/lsan_interface.h>
#define LEAKS_NOT_OURS_BEGIN() __lsan_disable()
#define LEAKS_NOT_OURS_END()   __lsan_enable()
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
#else
#define LEAKS_NOT_OURS_BEGIN() ((void)0)
#define LEAKS_NOT_OURS_END()   ((void)0)
#endif

static GString *gv_messages;

static int gv_collect(char *message)
{
    if (gv_messages)
        g_string_append(gv_messages, message);
    return 0;
}

/* Graphviz keeps global state (its error handler, and caches its pango plugin reads after
 * gvFreeContext: a second context in one process reads freed memory, Graphviz 2.42). So
 * one context serves the whole process, never freed, and one report is laid out at a time. */
G_LOCK_DEFINE_STATIC(graphviz);
static GVC_t *graphviz_context;

/* Graphviz's SVG for dot, without the XML prolog (inline SVG in HTML has none). */
static char *render_svg(const char *dot, GError **error)
{
    G_LOCK(graphviz);
    gv_messages = g_string_new(NULL);
    LEAKS_NOT_OURS_BEGIN();
    agusererrf old = agseterrf(gv_collect);
    if (!graphviz_context)
        graphviz_context = gvContext();
    GVC_t *gvc = graphviz_context;
    Agraph_t *g = agmemread(dot);
    char *data = NULL, *svg = NULL;
    unsigned int len = 0;
    if (g && gvLayout(gvc, g, "dot") == 0) {
        if (gvRenderData(gvc, g, "svg", &data, &len) == 0 && data) {
            const char *start = g_strstr_len(data, len, "<svg");
            if (start)
                svg = g_strndup(start, len - (unsigned int)(start - data));
        }
        gvFreeRenderData(data);
        gvFreeLayout(gvc, g);
    }
    if (g)
        agclose(g);
    agseterrf(old);
    LEAKS_NOT_OURS_END();
    if (!svg)
        g_set_error(error, REPORT_ERROR, 0,
                    "Graphviz could not lay out the topology%s%s (is graphviz installed, and "
                    "its plugins configured: dot -c?)",
                    gv_messages->len ? ": " : "", gv_messages->str);
    g_string_free(gv_messages, TRUE);
    gv_messages = NULL;
    G_UNLOCK(graphviz);
    return svg;
}

/* ---- the flows, in the order explain lists them ---- */

typedef struct {
    const char *name;
    const ScnFlow *flow; /* the scenario's own flow; NULL for an activity's sub-flow */
    const ModelVerdictRecord *v;
    GPtrArray *steps; /* borrowed from the by-flow table; NULL when none */
} Entry;

static GArray *collect_flows(const ScnScenario *scn, const ModelTrace *trace, GHashTable *by_flow)
{
    GArray *entries = g_array_new(FALSE, TRUE, sizeof(Entry));
    size_t n = 0;
    const ModelVerdictRecord *all = model_trace_verdicts(trace, &n);
    for (size_t i = 0; i < scn_scenario_n_flows(scn); i++) {
        const ScnFlow *f = scn_scenario_flow(scn, i);
        size_t len = strlen(f->name);
        bool any = false;
        for (size_t k = 0; k < n; k++) {
            bool own = strcmp(all[k].flow, f->name) == 0;
            if (!own && !(strncmp(all[k].flow, f->name, len) == 0 && all[k].flow[len] == '/'))
                continue;
            Entry e = {all[k].flow, own ? f : NULL, &all[k],
                       g_hash_table_lookup(by_flow, all[k].flow)};
            g_array_append_val(entries, e);
            any = true;
        }
        GPtrArray *steps = g_hash_table_lookup(by_flow, f->name);
        if (!any && steps) { /* it sent packets but never ended */
            Entry e = {f->name, f, NULL, steps};
            g_array_append_val(entries, e);
        }
    }
    return entries;
}

/* ---- HTML ---- */

static void esc(GString *out, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s ? s : "", -1);
    g_string_append(out, e);
}

static const char *const style =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "margin:0;color:#1d2733;background:#fff}"
    "header{background:#1f3b57;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;"
    "font-size:22px}header p{margin:2px 0;opacity:.9}"
    "nav{position:sticky;top:0;background:#f4f6f9;border-bottom:1px solid #d5dbe3;"
    "padding:6px 28px;z-index:2}nav a{margin-right:18px;color:#1f5fbf;text-decoration:none}"
    "main{padding:8px 28px 40px}h2{border-bottom:2px solid #1f3b57;padding-bottom:4px;"
    "margin-top:28px}"
    ".topology svg{max-width:100%;height:auto}.legend span{display:inline-block;"
    "margin:0 10px 6px 0;padding:1px 8px;border:1px solid;border-radius:4px;font-size:12px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;"
    "padding:4px 8px;border-bottom:1px solid #e2e6ec;vertical-align:top}"
    "th{background:#f4f6f9}tr[hidden]{display:none}"
    ".v-delivered{color:#1e7b34;font-weight:600}.v-dropped{color:#b3261e;font-weight:600}"
    ".v-aborted{color:#8a5a00;font-weight:600}.v-none{color:#777}"
    ".pass{color:#1e7b34}.fail{color:#b3261e;font-weight:600}"
    ".filters{margin:8px 0}.filters input,.filters select{font:inherit;padding:3px 6px;"
    "margin-right:8px}"
    "section.flow{border:1px solid #d5dbe3;border-radius:6px;margin:18px 0;padding:4px 16px 12px}"
    "section.flow h3{margin:10px 0 6px;font-size:16px}"
    ".flow-body{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}"
    ".seq-wrap{max-width:100%;flex:3 1 640px}"
    ".explain{flex:2 1 360px;min-width:320px}"
    ".explain pre{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;"
    "border:1px solid #e2e6ec;border-radius:4px;padding:10px;font-size:12px;margin:0}"
    ".fix{background:#fff7e0;border-left:4px solid #e0a800;padding:6px 10px;margin:0 0 10px}"
    "svg.seq{font:11px system-ui,Helvetica,Arial,sans-serif;background:#fff;max-width:100%;"
    "height:auto}"
    "svg.seq .node rect{fill:#eef4fb;stroke:#3f6e9e}svg.seq .node text{text-anchor:middle;"
    "font-weight:600}"
    "svg.seq .life{stroke:#9fb3c8;stroke-dasharray:4 3}svg.seq .at{fill:#3f6e9e}"
    "svg.seq .msg line{stroke:#1d2733;stroke-width:1.2}svg.seq .msg polygon{fill:#1d2733}"
    "svg.seq .msg text{text-anchor:middle;fill:#1f5fbf;paint-order:stroke;stroke:#fff;"
    "stroke-width:3px}"
    "svg.seq .drop path{stroke:#c62828;stroke-width:3}svg.seq .drop text{fill:#c62828;"
    "font-weight:700;paint-order:stroke;stroke:#fff;stroke-width:3px}"
    "svg.seq rect.decisive{fill:#fdecea}svg.seq .row .t{fill:#777}svg.seq .row .node{"
    "font-weight:600}svg.seq .row.refused text{fill:#b3261e}"
    "ul.pcaps{columns:3;font-family:ui-monospace,monospace;font-size:12px}"
    "code{font-family:ui-monospace,monospace;font-size:12px}";

/* Filters the table and the flow sections by text and verdict. Vanilla, no library. */
static const char *const script =
    "(function () {\n"
    "  'use strict';\n"
    "  var text = document.getElementById('flow-filter');\n"
    "  var verdict = document.getElementById('verdict-filter');\n"
    "  var count = document.getElementById('flow-count');\n"
    "  var rows = Array.prototype.slice.call(document.querySelectorAll('#flow-table tbody tr'));\n"
    "  function apply() {\n"
    "    var q = text.value.trim().toLowerCase(), v = verdict.value, shown = 0;\n"
    "    rows.forEach(function (row) {\n"
    "      var ok = (!v || row.getAttribute('data-verdict') === v) &&\n"
    "               row.textContent.toLowerCase().indexOf(q) >= 0;\n"
    "      row.hidden = !ok;\n"
    "      var section = document.getElementById(row.getAttribute('data-target'));\n"
    "      if (section) section.hidden = !ok;\n"
    "      if (ok) shown++;\n"
    "    });\n"
    "    count.textContent = shown + ' of ' + rows.length + ' flows';\n"
    "  }\n"
    "  text.addEventListener('input', apply);\n"
    "  verdict.addEventListener('change', apply);\n"
    "  apply();\n"
    "})();\n";

static const struct {
    const char *name, *fill, *border;
} legend[] = {
    {"VM / client", "#e8f1fb", "#5b7fa6"},
    {"appliance, Azure Firewall", "#fde2e1", "#b04a45"},
    {"gateway, Bastion, NAT, LB", "#fff1c9", "#a8892c"},
    {"DNS server", "#e3f5e1", "#4d8a45"},
    {"private endpoint", "#efe4fb", "#7a55a8"},
    {"Azure service", "#f3f3f3", "#777777"},
};

static void verdict_cell(GString *out, const ModelVerdictRecord *v)
{
    const char *name = v ? model_verdict_name(v->verdict) : "none";
    g_string_append_printf(out, "<td class=\"v-%s\">%s</td>", name, name);
}

static void append_table(GString *out, GArray *entries)
{
    g_string_append(
        out, "<section id=\"flows\"><h2>Flows</h2>\n<div class=\"filters\">"
             "<input id=\"flow-filter\" type=\"search\" placeholder=\"filter: flow, cause, node…\" "
             "aria-label=\"filter flows\"><select id=\"verdict-filter\" aria-label=\"verdict\">"
             "<option value=\"\">every verdict</option><option value=\"delivered\">delivered"
             "</option><option value=\"dropped\">dropped</option><option value=\"aborted\">"
             "aborted</option><option value=\"none\">no verdict</option></select>"
             "<span id=\"flow-count\"></span></div>\n<table id=\"flow-table\"><thead><tr>"
             "<th>flow</th><th>from → to</th><th>verdict</th><th>cause</th><th>at</th>"
             "<th>root cause</th><th>expect</th></tr></thead><tbody>\n");
    for (guint i = 0; i < entries->len; i++) {
        const Entry *e = &g_array_index(entries, Entry, i);
        const ModelVerdictRecord *v = e->v;
        g_string_append_printf(out, "<tr data-verdict=\"%s\" data-target=\"flow-%u\" data-flow=\"",
                               v ? model_verdict_name(v->verdict) : "none", i);
        esc(out, e->name);
        g_string_append_printf(out, "\"><td><a href=\"#flow-%u\">", i);
        esc(out, e->name);
        g_string_append(out, "</a></td><td>");
        if (e->flow) {
            esc(out, e->flow->from);
            g_string_append(out, " → ");
            esc(out, e->flow->to);
        }
        g_string_append(out, "</td>");
        verdict_cell(out, v);
        g_string_append(out, "<td>");
        if (v && v->cause != MODEL_CAUSE_NONE)
            esc(out, model_cause_name(v->cause));
        g_string_append(out, "</td><td>");
        esc(out, v ? v->at : "");
        g_string_append(out, "</td><td>");
        if (v && v->root_cause != MODEL_CAUSE_NONE) {
            esc(out, model_cause_name(v->root_cause));
            if (*v->root_at) {
                g_string_append(out, " at ");
                esc(out, v->root_at);
            }
        }
        g_string_append(out, "</td><td>");
        if (e->flow && e->flow->expect.set) {
            GString *got = g_string_new(NULL), *want = g_string_new(NULL);
            bool pass = scn_judge(e->flow, v, got, want) == SCN_JUDGE_PASS;
            g_string_append_printf(out, "<span class=\"%s\" title=\"expected ",
                                   pass ? "pass" : "fail");
            esc(out, want->str);
            g_string_append_printf(out, "\">%s</span>", pass ? "as expected" : "NOT as expected");
            g_string_free(got, TRUE);
            g_string_free(want, TRUE);
        }
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</tbody></table></section>\n");
}

/* A flow whose packets all belong to its parts (an activity, a Bastion session's legs):
 * links to their diagrams. False when it has no parts either. */
static bool append_parts(GString *out, GArray *entries, const Entry *e)
{
    size_t len = strlen(e->name);
    bool any = false;
    for (guint i = 0; i < entries->len; i++) {
        const Entry *part = &g_array_index(entries, Entry, i);
        if (strncmp(part->name, e->name, len) != 0 || part->name[len] != '/')
            continue;
        g_string_append_printf(out, "%s<a href=\"#flow-%u\">",
                               any ? ", "
                                   : "<p class=\"parts\">"
                                     "Its packets are those of its parts: ",
                               i);
        esc(out, part->name);
        g_string_append(out, "</a>");
        any = true;
    }
    if (any)
        g_string_append(out, ".</p>\n");
    return any;
}

static void append_flow(GString *out, const ModelNet *net, GArray *entries, guint index)
{
    const Entry *e = &g_array_index(entries, Entry, index);
    g_string_append_printf(out, "<section class=\"flow\" id=\"flow-%u\" data-flow=\"", index);
    esc(out, e->name);
    g_string_append(out, "\"><h3>");
    esc(out, e->name);
    g_string_append(out, " ");
    if (e->v) {
        g_string_append_printf(out, "<span class=\"v-%s\">%s", model_verdict_name(e->v->verdict),
                               model_verdict_name(e->v->verdict));
        if (e->v->cause != MODEL_CAUSE_NONE) {
            g_string_append_c(out, ' ');
            esc(out, model_cause_name(e->v->cause));
        }
        if (*e->v->at) {
            g_string_append(out, " at ");
            esc(out, e->v->at);
        }
        g_string_append(out, "</span>");
    } else {
        g_string_append(out, "<span class=\"v-none\">no verdict</span>");
    }
    g_string_append(out, "</h3>\n<div class=\"flow-body\"><div class=\"seq-wrap\">\n");
    ExplainWhy why = {0};
    bool failed = e->v && e->v->verdict != MODEL_VERDICT_DELIVERED;
    if (failed)
        explain_why(net, e->flow, e->v, e->steps, &why);
    if (e->steps || !append_parts(out, entries, e))
        report_sequence_svg(out, e->name, e->flow ? e->flow->from : NULL, e->steps, why.broke);
    g_string_append(out, "</div><div class=\"explain\">\n");
    if (failed && why.fix && *why.fix) {
        g_string_append(out, "<p class=\"fix\"><b>Fix:</b> ");
        esc(out, why.fix);
        g_string_append(out, " <i>[");
        esc(out, why.doc);
        g_string_append(out, "]</i></p>\n");
    }
    GString *text = g_string_new(NULL);
    explain_flow(text, net, e->flow, e->name, e->v, e->steps);
    g_string_append(out, "<pre>");
    esc(out, text->str);
    g_string_append(out, "</pre>\n</div></div></section>\n");
    g_string_free(text, TRUE);
    explain_why_clear(&why);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The captures in pcap_dir, sorted (a directory's order is the file system's). */
static GPtrArray *list_pcaps(const char *pcap_dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = pcap_dir ? g_dir_open(pcap_dir, 0, NULL) : NULL;
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".pcap"))
            g_ptr_array_add(names, g_strdup(name));
    if (d)
        g_dir_close(d);
    g_ptr_array_sort(names, cmp_names);
    return names;
}

char *report_html(const ReportInput *in, GError **error)
{
    const ScnScenario *scn = in->scn;
    const ModelNet *net = scn_scenario_net(scn);
    g_autofree char *report_abs = g_canonicalize_filename(in->report_path, NULL);
    g_autofree char *report_dir = g_path_get_dirname(report_abs);
    g_autofree char *pcap_abs = g_canonicalize_filename(in->pcap_final, NULL);
    g_autofree char *pcap_rel = relative_to(report_dir, pcap_abs);
    g_autofree char *pcap_prefix = g_strdup_printf("%s%s", pcap_rel, *pcap_rel ? "/" : "");
    g_autofree char *pcap_href = href(pcap_prefix);
    g_autofree char *dot = model_net_topology_dot(net, pcap_href);
    g_autofree char *topology = render_svg(dot, error);
    if (!topology)
        return NULL;

    GHashTable *by_flow = trace_steps_by_flow(in->trace);
    GArray *entries = collect_flows(scn, in->trace, by_flow);
    unsigned counts[MODEL_VERDICT_COUNT] = {0};
    for (guint i = 0; i < entries->len; i++) {
        const Entry *e = &g_array_index(entries, Entry, i);
        if (e->v)
            counts[e->v->verdict]++;
    }
    GString *out = g_string_new("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                "<meta name=\"viewport\" content=\"width=device-width\">"
                                "<link rel=\"icon\" href=\"data:,\"><title>vnetsim: ");
    esc(out, scn_scenario_name(scn));
    g_string_append_printf(out, "</title><style>%s</style></head>\n<body>\n<header><h1>", style);
    esc(out, scn_scenario_name(scn));
    g_string_append(out, "</h1><p>");
    esc(out, scn_scenario_description(scn));
    g_string_append(out, "</p><p>scenario <code>");
    esc(out, scn_scenario_path(scn));
    g_string_append_printf(out,
                           "</code> · %u flows: %u delivered, %u dropped, %u aborted</p>"
                           "</header>\n<nav><a href=\"#topology\">Topology</a><a "
                           "href=\"#flows\">Flows</a><a href=\"#captures\">Captures</a><a "
                           "href=\"#details\">Packets, flow by flow</a></nav>\n<main>\n",
                           entries->len, counts[MODEL_VERDICT_DELIVERED],
                           counts[MODEL_VERDICT_DROPPED], counts[MODEL_VERDICT_ABORTED]);

    g_string_append(out, "<section id=\"topology\" class=\"topology\"><h2>Topology</h2>\n"
                         "<p class=\"legend\">");
    for (size_t i = 0; i < G_N_ELEMENTS(legend); i++)
        g_string_append_printf(out, "<span style=\"background:%s;border-color:%s\">%s</span>",
                               legend[i].fill, legend[i].border, legend[i].name);
    g_string_append(out, "<br>Every box is a network interface, and a capture point: its last "
                         "line names its pcap; click the box to open it (Wireshark).</p>\n");
    g_string_append(out, topology);
    g_string_append(out, "</section>\n");

    append_table(out, entries);

    GPtrArray *pcaps = list_pcaps(in->pcap_dir);
    g_string_append_printf(out, "<section id=\"captures\"><h2>Captures</h2><p>One pcap per capture "
                                "point, in <code>");
    esc(out, pcap_rel);
    g_string_append_printf(out, "</code>: %u files.</p><ul class=\"pcaps\">\n", pcaps->len);
    for (guint i = 0; i < pcaps->len; i++) {
        g_autofree char *link = href(pcaps->pdata[i]);
        g_string_append_printf(out, "<li><a class=\"pcap\" href=\"%s%s\">", pcap_href, link);
        esc(out, pcaps->pdata[i]);
        g_string_append(out, "</a></li>\n");
    }
    g_string_append(out, "</ul></section>\n");
    g_ptr_array_free(pcaps, TRUE);

    g_string_append(out, "<section id=\"details\"><h2>Packets, flow by flow</h2>\n<p>Time runs "
                         "down; each column is a node the flow's packets met, each row a "
                         "decision there (hover for the trace's words). A red cross is a "
                         "refusal, named by the rule or object that decided; the shaded row is "
                         "the decision that broke the flow.</p>\n");
    for (guint i = 0; i < entries->len; i++)
        append_flow(out, net, entries, i);
    g_string_append_printf(out, "</section>\n</main>\n<script>\n%s</script>\n</body></html>\n",
                           script);
    g_array_free(entries, TRUE);
    g_hash_table_destroy(by_flow);
    return g_string_free(out, FALSE);
}

gboolean report_write_file(const char *path, const char *text, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    bool ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        off += ok ? (size_t)n : 0;
    }
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        if (fd >= 0)
            g_unlink(tmp);
        g_set_error(error, REPORT_ERROR, 0, "%s: cannot write the report: %s", path,
                    g_strerror(saved));
    }
    return ok;
}
