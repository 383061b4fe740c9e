/*
 * nsg.c — NSG rules and the NSG container: building rules, Azure's validation, the default
 * rules, and the one-line description used by traces.
 *
 * References: azdocs:articles/virtual-network/network-security-groups-overview.md (2025-07)
 * for rule fields, limits and default rules; the default rules' exact names come from what
 * the Azure API returns (`az network nsg show`, REST "Default Security Rules - Get"):
 * AllowVnetInBound, AllowAzureLoadBalancerInBound, DenyAllInBound, AllowVnetOutBound,
 * AllowInternetOutBound, DenyAllOutBound. The overview page's headings spell two of them
 * differently (AllowVNetInBound, DenyAllInbound); scenario files paste API output and traces
 * name "nsg/rule" as flow logs do, so the API spelling wins.
 */
#include <string.h>

#include "model/nsg.h"

struct ModelNsg {
    char *name;
    GPtrArray *rules[2]; /* per ModelDirection, sorted by priority; owns the rules */
    size_t n_user;       /* user rules in both directions */
};

/* ---- rules ---- */

ModelNsgRule *model_nsg_rule_new(const char *name, int priority, ModelDirection direction,
                                 ModelAccess access, ModelNsgProtocol protocol)
{
    ModelNsgRule *r = g_new0(ModelNsgRule, 1);
    r->name = g_strdup(name ? name : "");
    r->priority = priority;
    r->direction = direction;
    r->access = access;
    r->protocol = protocol;
    return r;
}

static void push_addr(ModelNsgRule *rule, ModelNsgSide side, ModelNsgAddr addr)
{
    size_t n = rule->n_addrs[side];
    rule->addrs[side] = g_renew(ModelNsgAddr, rule->addrs[side], n + 1);
    rule->addrs[side][n] = addr;
    rule->n_addrs[side] = n + 1;
}

bool model_nsg_rule_add_address(ModelNsgRule *rule, ModelNsgSide side, const char *text,
                                GError **error)
{
    ModelNsgAddr a;
    if (!model_nsg_addr_parse(text, &a, error))
        return false;
    push_addr(rule, side, a);
    return true;
}

void model_nsg_rule_add_asg(ModelNsgRule *rule, ModelNsgSide side, const char *asg_name)
{
    ModelNsgAddr a = {MODEL_NSG_ADDR_ASG, g_strdup(asg_name ? asg_name : ""), {0, 0}};
    push_addr(rule, side, a);
}

bool model_nsg_rule_add_ports(ModelNsgRule *rule, ModelNsgSide side, const char *text,
                              GError **error)
{
    GArray *ranges = g_array_new(FALSE, FALSE, sizeof(ModelPortRange));
    bool ok = model_nsg_parse_ports(text, ranges, error);
    if (ok) {
        size_t n = rule->n_ports[side];
        rule->ports[side] = g_renew(ModelPortRange, rule->ports[side], n + ranges->len);
        memcpy(rule->ports[side] + n, ranges->data, ranges->len * sizeof(ModelPortRange));
        rule->n_ports[side] = n + ranges->len;
    }
    g_array_free(ranges, TRUE);
    return ok;
}

void model_nsg_rule_free(ModelNsgRule *rule)
{
    if (rule == NULL)
        return;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < rule->n_addrs[s]; i++)
            model_nsg_addr_clear(&rule->addrs[s][i]);
        g_free(rule->addrs[s]);
        g_free(rule->ports[s]);
    }
    g_free(rule->name);
    g_free(rule);
}

/* ---- description ---- */

#define DESCRIBE_MAX_ITEMS 8 /* a 4000-prefix side would drown a trace line */

static void describe_side(const ModelNsgRule *rule, ModelNsgSide side, GString *out)
{
    size_t n = rule->n_addrs[side];
    if (n == 0)
        g_string_append(out, "(none)");
    for (size_t i = 0; i < n && i < DESCRIBE_MAX_ITEMS; i++)
        g_string_append_printf(out, "%s%s", i ? "," : "", rule->addrs[side][i].text);
    if (n > DESCRIBE_MAX_ITEMS)
        g_string_append_printf(out, ",…(+%zu more)", n - DESCRIBE_MAX_ITEMS);
    g_string_append_c(out, ':');
    size_t np = rule->n_ports[side];
    if (np == 0)
        g_string_append(out, "(none)");
    for (size_t i = 0; i < np && i < DESCRIBE_MAX_ITEMS; i++) {
        ModelPortRange r = rule->ports[side][i];
        if (i)
            g_string_append_c(out, ',');
        if (r.lo == 0 && r.hi == 65535)
            g_string_append_c(out, '*');
        else if (r.lo == r.hi)
            g_string_append_printf(out, "%u", r.lo);
        else
            g_string_append_printf(out, "%u-%u", r.lo, r.hi);
    }
    if (np > DESCRIBE_MAX_ITEMS)
        g_string_append_printf(out, ",…(+%zu more)", np - DESCRIBE_MAX_ITEMS);
}

void model_nsg_rule_describe(const ModelNsgRule *rule, GString *out)
{
    const char *proto =
        rule->protocol == MODEL_NSG_PROTO_ANY ? "Any" : model_nsg_protocol_name(rule->protocol);
    g_string_append_printf(out, "%s (priority %d, %s, %s, %s ", rule->name, rule->priority,
                           model_direction_name(rule->direction), model_access_name(rule->access),
                           proto);
    describe_side(rule, MODEL_NSG_SRC, out);
    g_string_append(out, " -> ");
    describe_side(rule, MODEL_NSG_DST, out);
    g_string_append_c(out, ')');
}

/* ---- the NSG ---- */

static const struct {
    const char *name;
    int priority;
    ModelDirection dir;
    ModelAccess access;
    const char *src, *dst;
} default_rules[] = {
    {"AllowVnetInBound", 65000, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW, "VirtualNetwork",
     "VirtualNetwork"},
    {"AllowAzureLoadBalancerInBound", 65001, MODEL_DIR_INBOUND, MODEL_ACCESS_ALLOW,
     "AzureLoadBalancer", "*"},
    {"DenyAllInBound", 65500, MODEL_DIR_INBOUND, MODEL_ACCESS_DENY, "*", "*"},
    {"AllowVnetOutBound", 65000, MODEL_DIR_OUTBOUND, MODEL_ACCESS_ALLOW, "VirtualNetwork",
     "VirtualNetwork"},
    {"AllowInternetOutBound", 65001, MODEL_DIR_OUTBOUND, MODEL_ACCESS_ALLOW, "*", "Internet"},
    {"DenyAllOutBound", 65500, MODEL_DIR_OUTBOUND, MODEL_ACCESS_DENY, "*", "*"},
};

static void free_rule_cb(gpointer p)
{
    model_nsg_rule_free(p);
}

ModelNsg *model_nsg_new(const char *name)
{
    ModelNsg *nsg = g_new0(ModelNsg, 1);
    nsg->name = g_strdup(name ? name : "");
    for (int d = 0; d < 2; d++)
        nsg->rules[d] = g_ptr_array_new_with_free_func(free_rule_cb);
    for (size_t i = 0; i < G_N_ELEMENTS(default_rules); i++) {
        /* Defaults use protocol "*" and ports "*", as the API returns them. */
        ModelNsgRule *r =
            model_nsg_rule_new(default_rules[i].name, default_rules[i].priority,
                               default_rules[i].dir, default_rules[i].access, MODEL_NSG_PROTO_ANY);
        bool ok = model_nsg_rule_add_address(r, MODEL_NSG_SRC, default_rules[i].src, NULL) &&
                  model_nsg_rule_add_address(r, MODEL_NSG_DST, default_rules[i].dst, NULL) &&
                  model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "*", NULL) &&
                  model_nsg_rule_add_ports(r, MODEL_NSG_DST, "*", NULL);
        g_assert(ok);
        r->is_default = true;
        /* The table lists them by ascending priority, so appending keeps the order. */
        g_ptr_array_add(nsg->rules[r->direction], r);
    }
    return nsg;
}

void model_nsg_free(ModelNsg *nsg)
{
    if (nsg == NULL)
        return;
    for (int d = 0; d < 2; d++)
        g_ptr_array_free(nsg->rules[d], TRUE);
    g_free(nsg->name);
    g_free(nsg);
}

const char *model_nsg_name(const ModelNsg *nsg)
{
    return nsg->name;
}

const ModelNsgRule *const *model_nsg_rules(const ModelNsg *nsg, ModelDirection dir, size_t *n)
{
    *n = nsg->rules[dir]->len;
    return (const ModelNsgRule *const *)nsg->rules[dir]->pdata;
}

size_t model_nsg_n_user_rules(const ModelNsg *nsg)
{
    return nsg->n_user;
}

/* \w in the overview page's name rule: ASCII letters, digits and '_'. */
static bool is_word_char(char c)
{
    return g_ascii_isalnum(c) || c == '_';
}

/* "The name can be up to 80 characters long. It must begin with a word character, and it
 * must end with a word character or with '_'. The name can contain word characters, '.',
 * '-', or '_'." (overview, "Security rules"). */
static bool check_name(const ModelNsgRule *rule, GError **error)
{
    const char *name = rule->name;
    size_t len = strlen(name);
    if (len == 0) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID, "rule has an empty name");
        return false;
    }
    if (len > MODEL_NSG_MAX_NAME_LEN) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_LIMIT,
                    "rule name '%s' is %zu characters long (Azure allows %d)", name, len,
                    MODEL_NSG_MAX_NAME_LEN);
        return false;
    }
    bool ok = is_word_char(name[0]) && is_word_char(name[len - 1]);
    for (size_t i = 0; ok && i < len; i++)
        ok = is_word_char(name[i]) || name[i] == '.' || name[i] == '-';
    if (!ok) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID,
                    "rule name '%s': Azure allows letters, digits, '_', '.', '-', starting "
                    "with a letter, digit or '_' and ending with one",
                    name);
        return false;
    }
    return true;
}

static bool check_side(const ModelNsgRule *rule, ModelNsgSide side, GError **error)
{
    const char *what = side == MODEL_NSG_SRC ? "source" : "destination";
    size_t n = rule->n_addrs[side], tags = 0, asgs = 0;
    if (n == 0 || rule->n_ports[side] == 0) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID, "rule '%s' has no %s %s",
                    rule->name, what, n == 0 ? "address" : "port range");
        return false;
    }
    if (n > MODEL_NSG_MAX_SIDE_ITEMS) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_LIMIT,
                    "rule '%s' has %zu %s items (Azure allows %d)", rule->name, n, what,
                    MODEL_NSG_MAX_SIDE_ITEMS);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        tags += rule->addrs[side][i].kind == MODEL_NSG_ADDR_TAG;
        asgs += rule->addrs[side][i].kind == MODEL_NSG_ADDR_ASG;
    }
    /* "you can't specify multiple service tags or application groups in a single rule"
     * (overview, "Source or destination"); the service still allows one ASG per side. */
    if (tags > 1) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID,
                    "rule '%s' names %zu service tags as %s (Azure allows one per rule)",
                    rule->name, tags, what);
        return false;
    }
    if (asgs > 1) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID,
                    "rule '%s' names %zu application security groups as %s (Azure allows one "
                    "per rule)",
                    rule->name, asgs, what);
        return false;
    }
    /* An ASG side cannot carry prefixes too: the API holds them in separate, exclusive
     * fields (observed: hashicorp/terraform-provider-azurerm#15279, apply fails). */
    if (asgs > 0 && asgs < n) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_INVALID,
                    "rule '%s' mixes an application security group with addresses as %s",
                    rule->name, what);
        return false;
    }
    return true;
}

static void append_line(GString *msg, int line)
{
    if (line > 0)
        g_string_append_printf(msg, " (line %d)", line);
}

bool model_nsg_add_rule(ModelNsg *nsg, ModelNsgRule *rule, GError **error)
{
    if (!check_name(rule, error))
        goto fail;
    if (rule->priority < MODEL_NSG_PRIORITY_MIN || rule->priority > MODEL_NSG_PRIORITY_MAX) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_RANGE,
                    "rule '%s': priority %d is outside %d-%d", rule->name, rule->priority,
                    MODEL_NSG_PRIORITY_MIN, MODEL_NSG_PRIORITY_MAX);
        goto fail;
    }
    if (!check_side(rule, MODEL_NSG_SRC, error) || !check_side(rule, MODEL_NSG_DST, error))
        goto fail;
    if (nsg->n_user >= MODEL_NSG_MAX_RULES) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_LIMIT,
                    "rule '%s': NSG '%s' already holds %d rules (the Azure limit)", rule->name,
                    nsg->name, MODEL_NSG_MAX_RULES);
        goto fail;
    }
    for (int d = 0; d < 2; d++) {
        GPtrArray *rules = nsg->rules[d];
        for (guint i = 0; i < rules->len; i++) {
            const ModelNsgRule *o = rules->pdata[i];
            if (o->is_default)
                continue;
            bool same_name = g_ascii_strcasecmp(o->name, rule->name) == 0;
            bool same_prio = o->direction == rule->direction && o->priority == rule->priority;
            if (!same_name && !same_prio)
                continue;
            GString *msg = g_string_new(NULL);
            if (same_name)
                g_string_append_printf(msg, "rule '%s': NSG '%s' already has a rule named '%s'",
                                       rule->name, nsg->name, o->name);
            else
                g_string_append_printf(
                    msg, "rule '%s': priority %d is already used by %s rule '%s'", rule->name,
                    rule->priority, model_direction_name(o->direction), o->name);
            append_line(msg, o->line);
            g_set_error_literal(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_CONFLICT, msg->str);
            g_string_free(msg, TRUE);
            goto fail;
        }
    }
    /* Sorted insertion; user priorities are below the defaults' 65000+, so defaults stay
     * last. */
    GPtrArray *rules = nsg->rules[rule->direction];
    guint pos = 0;
    while (pos < rules->len && ((const ModelNsgRule *)rules->pdata[pos])->priority < rule->priority)
        pos++;
    rule->is_default = false;
    g_ptr_array_insert(rules, (gint)pos, rule);
    nsg->n_user++;
    return true;
fail:
    model_nsg_rule_free(rule);
    return false;
}

bool model_nsg_mentions_tag(const ModelNsg *nsg, const char *tag)
{
    for (int d = 0; d < 2; d++) {
        for (guint i = 0; i < nsg->rules[d]->len; i++) {
            const ModelNsgRule *r = nsg->rules[d]->pdata[i];
            for (int s = 0; s < 2; s++)
                for (size_t k = 0; k < r->n_addrs[s]; k++)
                    if (r->addrs[s][k].kind == MODEL_NSG_ADDR_TAG &&
                        g_ascii_strcasecmp(r->addrs[s][k].text, tag) == 0)
                        return true;
        }
    }
    return false;
}
