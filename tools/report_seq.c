/*
 * report_seq.c — a flow's sequence diagram (report_seq.h), drawn from its trace steps.
 *
 * The trace records decisions, not packets: a step says which node decided what about the
 * packet in hand. Consecutive steps at one node at one instant are one row (a host routes,
 * then SNATs, the same packet); when the next row is at another node, the packet travelled
 * there, and an arrow is drawn — slanted, because it took time. A drop ends a packet: no
 * arrow leaves its row, and the next row starts a new packet, a retransmission when the
 * flow's own host sends again.
 *
 * What an arrow carries is read from the decisions around it, the way one reads a ladder
 * diagram: a DNS query until a server answers, the SYN until a listener accepts it, its
 * SYN/ACK until the client's handshake completes, and so on. The names are for reading
 * only; the rows beside the arrows hold the trace's own words.
 */
#include "tools/report_seq.h"

#include <math.h>
#include <string.h>

#include "tools/explain_flow.h"

#define COL_W    150 /* between two nodes' lifelines */
#define MARGIN   16
#define HEAD_H   44 /* the node boxes */
#define ROW_H    22
#define TEXT_GAP 24  /* from the last lifeline to the rows' text */
#define TEXT_W   400 /* room for a row's text */
#define TEXT_MAX 66  /* characters of a row's text before it is cut (the tooltip has all) */
/* Rows drawn at most: a flow aborted for bouncing between hops has thousands, and a diagram
 * a hundred metres long teaches nothing the first screens do not. */
#define ROWS_MAX 300

/* Steps [first, last] at one node and one instant: one row. */
typedef struct {
    guint first, last;
    guint col;
    bool dropped;   /* a step of the row dropped the packet: it goes no further */
    char *carrying; /* what leaves the row for the next one (NULL: nothing) */
} Row;

/* What the packets of the flow carry, tracked along the steps. */
typedef struct {
    const char *origin; /* the flow's own host: its new packets are (re)transmissions */
    const char *connect;
    bool tls;
    const char *label;        /* what is in flight now */
    const char *origin_label; /* what the origin sent last */
    GHashTable *sent;         /* label -> packets the origin sent with it */
} Conv;

static bool step_is(const ModelStepRecord *s, ModelStage stage, const char *action)
{
    return s->stage == stage && strcmp(s->action, action) == 0;
}

/* TCP or UDP, and TLS: from what the steps met (an NSG names the protocol). */
static void flow_kind(GPtrArray *steps, Conv *c)
{
    c->connect = "packet";
    for (guint i = 0; i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        if (s->stage == MODEL_STAGE_TLS)
            c->tls = true;
        if (s->stage == MODEL_STAGE_LISTENER || s->stage == MODEL_STAGE_TCP ||
            s->stage == MODEL_STAGE_TLS ||
            ((s->stage == MODEL_STAGE_NSG_OUT || s->stage == MODEL_STAGE_NSG_IN) &&
             g_str_has_prefix(s->detail, "Tcp ")))
            c->connect = "SYN";
        else if (strcmp(c->connect, "packet") == 0 &&
                 (s->stage == MODEL_STAGE_NSG_OUT || s->stage == MODEL_STAGE_NSG_IN) &&
                 g_str_has_prefix(s->detail, "Udp ") && !strstr(s->detail, ":53 "))
            c->connect = "UDP datagram";
    }
}

/* "response HTTP 403" from a detail naming the status. */
static const char *response_label(const ModelStepRecord *s, GStringChunk *strings)
{
    const char *http = strstr(s->detail, "HTTP ");
    if (!http || strlen(http) < 8)
        return "response";
    g_autofree char *label = g_strdup_printf("response %.8s", http);
    return g_string_chunk_insert_const(strings, label);
}

/* What a packet leaving `node` for another node carries, the origin's retransmissions
 * numbered. */
static char *carried(Conv *c, const char *node)
{
    if (strcmp(node, c->origin) != 0)
        return g_strdup(c->label);
    c->origin_label = c->label;
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(c->sent, c->label)) + 1;
    g_hash_table_insert(c->sent, (gpointer)c->label, GUINT_TO_POINTER(n));
    if (n == 1)
        return g_strdup(c->label);
    return g_strdup_printf("%s (%s %u)", c->label,
                           g_str_has_prefix(c->label, "DNS") ? "retry" : "retransmission", n - 1);
}

/* What the packet carries after step s decided: an answer, an accept, a response replace
 * it; everything else (routes, NSGs, NAT, relays) passes it on unchanged. */
static void after_step(Conv *c, const ModelStepRecord *s, GStringChunk *strings)
{
    bool at_origin = strcmp(s->node, c->origin) == 0;
    const char *next = NULL;
    if (step_is(s, MODEL_STAGE_DNS, "query"))
        next = "DNS query";
    else if (step_is(s, MODEL_STAGE_DNS, "forward"))
        next = "DNS query (forwarded)";
    else if (step_is(s, MODEL_STAGE_DNS, "answer") || step_is(s, MODEL_STAGE_HOSTS_FILE, "answer"))
        next = at_origin ? c->connect : "DNS answer";
    else if (step_is(s, MODEL_STAGE_DNS, "relay"))
        next = "DNS answer";
    else if (step_is(s, MODEL_STAGE_DNS, "servfail"))
        next = "DNS SERVFAIL";
    else if (step_is(s, MODEL_STAGE_LISTENER, "accept"))
        next = "SYN/ACK";
    else if (step_is(s, MODEL_STAGE_TCP, "established"))
        next = c->tls ? "ClientHello" : "request";
    else if (step_is(s, MODEL_STAGE_TLS, "server-hello"))
        next = at_origin ? "request (in TLS)" : "ServerHello";
    else if (step_is(s, MODEL_STAGE_LISTENER, "serve") ||
             ((s->stage == MODEL_STAGE_SERVICE_FIREWALL || s->stage == MODEL_STAGE_IDENTITY) &&
              strcmp(s->action, "deny") == 0))
        next = response_label(s, strings);
    if (next)
        c->label = next;
}

static guint column_of(GPtrArray *nodes, const char *node)
{
    for (guint i = 0; i < nodes->len; i++)
        if (strcmp(nodes->pdata[i], node) == 0)
            return i;
    g_ptr_array_add(nodes, (gpointer)node);
    return nodes->len - 1;
}

static void append_text(GString *out, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s, -1);
    g_string_append(out, e);
}

/* Cuts s to max characters (UTF-8 safe), with an ellipsis. */
static char *cut(const char *s, glong max)
{
    if (max < 8)
        max = 8;
    if (g_utf8_strlen(s, -1) <= max)
        return g_strdup(s);
    g_autofree char *head = g_utf8_substring(s, 0, max - 1);
    return g_strconcat(head, "…", NULL);
}

static double col_x(guint col)
{
    return MARGIN + COL_W / 2.0 + col * COL_W;
}

static double row_y(guint row)
{
    return HEAD_H + MARGIN + ROW_H / 2.0 + row * ROW_H;
}

static void arrow(GString *out, double x1, double y1, double x2, double y2, const char *label)
{
    double dx = x2 - x1, dy = y2 - y1, len = sqrt(dx * dx + dy * dy);
    double ux = dx / len, uy = dy / len;
    double tx = x2 - ux * 4, ty = y2 - uy * 4; /* stop short of the lifeline's dot */
    g_string_append(out, "<g class=\"msg\"><line ");
    g_string_append_printf(out, "x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y1, tx,
                           ty);
    /* The head: a triangle along the arrow's direction. */
    double bx = tx - ux * 8, by = ty - uy * 8;
    g_string_append_printf(out, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>", tx, ty,
                           bx - uy * 4, by + ux * 4, bx + uy * 4, by - ux * 4);
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", (x1 + x2) / 2, (y1 + y2) / 2 - 4);
    append_text(out, label);
    g_string_append(out, "</text></g>\n");
}

static void cross(GString *out, double x, double y, const ModelStepRecord *s, bool decisive)
{
    g_string_append(out, "<g class=\"drop");
    if (decisive)
        g_string_append(out, " decisive");
    g_string_append(out, "\" data-object=\"");
    append_text(out, s->object);
    g_string_append(out, "\"><title>");
    append_text(out, s->node);
    g_string_append_printf(out, " %s %s ", model_stage_name(s->stage), s->action);
    append_text(out, s->object);
    g_string_append(out, ": ");
    append_text(out, s->detail);
    g_string_append_printf(out,
                           "</title><path d=\"M%.1f %.1fl12 12m0 -12l-12 12\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\">",
                           x - 6, y - 6, x + 10, y - 6);
    append_text(out, s->object);
    g_string_append(out, "</text></g>\n");
}

/* The row's words: time, then each decision as stage, action, object. */
static void row_text(GString *out, GPtrArray *steps, const Row *r, double x, double y,
                     const ModelStepRecord *broke)
{
    const ModelStepRecord *first = steps->pdata[r->first];
    GString *line = g_string_new(NULL);
    for (guint i = r->first; i <= r->last; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        g_string_append_printf(line, "%s%s %s", i > r->first ? " · " : "",
                               model_stage_name(s->stage), s->action);
        if (*s->object && strcmp(s->object, s->node) != 0)
            g_string_append_printf(line, " %s", s->object);
    }
    bool decisive = false;
    for (guint i = r->first; i <= r->last; i++)
        decisive |= steps->pdata[i] == broke;
    bool refused = false;
    for (guint i = r->first; i <= r->last; i++)
        refused |= explain_is_drop(steps->pdata[i]);
    g_string_append_printf(out, "<g class=\"row%s%s\"><title>", refused ? " refused" : "",
                           decisive ? " decisive" : "");
    for (guint i = r->first; i <= r->last; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        g_autofree char *one = g_strdup_printf(
            "%s%s %s %s %s: %s (frame %" G_GUINT64_FORMAT ")", i > r->first ? "\n" : "", s->node,
            model_stage_name(s->stage), s->action, s->object, s->detail, s->frame);
        append_text(out, one);
    }
    g_string_append_printf(out, "</title><text x=\"%.1f\" y=\"%.1f\"><tspan class=\"t\">%.3f ms", x,
                           y + 4, (double)first->t_ns / 1e6);
    g_string_append(out, "</tspan> <tspan class=\"node\">");
    append_text(out, first->node);
    g_string_append(out, "</tspan> ");
    g_autofree char *words = cut(line->str, TEXT_MAX - 11 - g_utf8_strlen(first->node, -1));
    append_text(out, words);
    g_string_append(out, "</text></g>\n");
    g_string_free(line, TRUE);
}

void report_sequence_svg(GString *out, const char *flow, const char *origin, GPtrArray *steps,
                         const ModelStepRecord *broke)
{
    if (!steps || steps->len == 0) {
        g_string_append(out, "<p class=\"nosteps\">No step was recorded: the flow never sent a "
                             "packet.</p>\n");
        return;
    }
    GPtrArray *nodes = g_ptr_array_new();
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(Row));
    GStringChunk *strings = g_string_chunk_new(256);
    Conv c = {.origin = origin ? origin : ((const ModelStepRecord *)steps->pdata[0])->node,
              .sent = g_hash_table_new(g_str_hash, g_str_equal)};
    flow_kind(steps, &c);
    c.label = c.connect; /* until a DNS query says otherwise */
    for (guint i = 0; i < steps->len; i++) {
        const ModelStepRecord *s = steps->pdata[i];
        Row *prev = rows->len ? &g_array_index(rows, Row, rows->len - 1) : NULL;
        const ModelStepRecord *last = prev ? steps->pdata[prev->last] : NULL;
        if (!prev || prev->dropped || strcmp(last->node, s->node) != 0 || last->t_ns != s->t_ns) {
            if (prev && !prev->dropped && strcmp(last->node, s->node) != 0)
                prev->carrying = carried(&c, last->node);
            /* A drop ended the packet: the origin sending again sends what it sent last. */
            if (prev && prev->dropped && strcmp(s->node, c.origin) == 0 && c.origin_label)
                c.label = c.origin_label;
            Row r = {.first = i, .last = i, .col = column_of(nodes, s->node)};
            g_array_append_val(rows, r);
        }
        Row *row = &g_array_index(rows, Row, rows->len - 1);
        row->last = i;
        /* A refusal that answers (an HTTP 403, a RST, SERVFAIL) still sends a packet back. */
        row->dropped |= strcmp(s->action, "drop") == 0;
        after_step(&c, s, strings);
    }

    guint shown = MIN(rows->len, ROWS_MAX);
    /* The rows' text starts right of the last lifeline, clear of the names its crosses
     * carry (some 7 px a character at 11 px). */
    glong label = 0;
    for (guint i = 0; i < shown; i++) {
        const Row *r = &g_array_index(rows, Row, i);
        for (guint k = r->first; k <= r->last && r->col == nodes->len - 1; k++)
            if (explain_is_drop(steps->pdata[k]) || steps->pdata[k] == broke)
                label = MAX(label,
                            g_utf8_strlen(((const ModelStepRecord *)steps->pdata[k])->object, -1));
    }
    double text_x = MAX(MARGIN * 2 + nodes->len * COL_W, col_x(nodes->len - 1) + 10 + label * 7.0);
    text_x += TEXT_GAP;
    double width = text_x + TEXT_W, height = row_y(shown) + MARGIN;
    g_string_append_printf(out,
                           "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" "
                           "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                           "role=\"img\" data-flow=\"",
                           width, height, width, height);
    append_text(out, flow);
    g_string_append(out, "\"><title>");
    append_text(out, flow);
    g_string_append(out, ": packets across the nodes</title>\n");
    for (guint i = 0; i < shown; i++) { /* the decisive row behind everything */
        const Row *r = &g_array_index(rows, Row, i);
        for (guint k = r->first; k <= r->last; k++)
            if (steps->pdata[k] == broke)
                g_string_append_printf(out,
                                       "<rect class=\"decisive\" x=\"0\" y=\"%.1f\" "
                                       "width=\"%.0f\" height=\"%d\"/>\n",
                                       row_y(i) - ROW_H / 2.0, width, ROW_H);
    }
    for (guint n = 0; n < nodes->len; n++) {
        double x = col_x(n);
        g_string_append_printf(out,
                               "<g class=\"node\"><rect x=\"%.1f\" y=\"%d\" width=\"%d\" "
                               "height=\"26\" rx=\"4\"/><text x=\"%.1f\" y=\"%d\">",
                               x - COL_W / 2.0 + 6, MARGIN / 2, COL_W - 12, x, MARGIN / 2 + 17);
        append_text(out, nodes->pdata[n]);
        g_string_append_printf(out,
                               "</text><line class=\"life\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                               "y2=\"%.1f\"/></g>\n",
                               x, MARGIN / 2 + 26, x, height - MARGIN / 2.0);
    }
    for (guint i = 0; i < shown; i++) {
        const Row *r = &g_array_index(rows, Row, i);
        double x = col_x(r->col), y = row_y(i);
        if (i > 0) {
            const Row *p = &g_array_index(rows, Row, i - 1);
            if (p->carrying && p->col != r->col)
                arrow(out, col_x(p->col), row_y(i - 1), x, y, p->carrying);
        }
        g_string_append_printf(out, "<circle class=\"at\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", x,
                               y);
        /* Every refusal, and the decision that broke the flow even when it refused nothing
         * (the NXDOMAIN answer a resolver took at its word). */
        for (guint k = r->first; k <= r->last; k++)
            if (explain_is_drop(steps->pdata[k]) || steps->pdata[k] == broke)
                cross(out, x, y, steps->pdata[k], steps->pdata[k] == broke);
        row_text(out, steps, r, text_x, y, broke);
    }
    g_string_append(out, "</svg>\n");
    if (shown < rows->len)
        g_string_append_printf(out,
                               "<p class=\"cut\">The diagram stops after %u of its %u rows; the "
                               "trace has every step.</p>\n",
                               shown, rows->len);

    for (guint i = 0; i < rows->len; i++)
        g_free(g_array_index(rows, Row, i).carrying);
    g_array_free(rows, TRUE);
    g_ptr_array_free(nodes, TRUE);
    g_hash_table_destroy(c.sent);
    g_string_chunk_free(strings);
}
