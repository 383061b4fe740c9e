/*
 * nsg_parse.c — user text to NSG rule values.
 *
 * Spellings follow the Azure API (`az network nsg rule list` output) and the field rules of
 * azdocs:articles/virtual-network/network-security-groups-overview.md ("Security rules"):
 * protocol TCP, UDP, ICMP, ESP, AH or Any; ports single, range, or comma list
 * ("80, 10000-10005"); source/destination Any, IP, CIDR, service tag or ASG. az accepts the
 * enum words in any case ("tcp", "allow"), so the parsers do too.
 */
#include <string.h>

#include "model/nsg.h"

G_DEFINE_QUARK(model - nsg - error - quark, model_nsg_error)

/* One {value, "name"} table per enum: the parser and the name function read the same list,
 * so a spelling cannot drift between input and trace. The first entry per value is the
 * canonical (API) spelling. */
typedef struct {
    int value;
    const char *name;
} NameEntry;

static const NameEntry direction_names[] = {
    {MODEL_DIR_INBOUND, "Inbound"},
    {MODEL_DIR_OUTBOUND, "Outbound"},
    {0, NULL},
};

static const NameEntry access_names[] = {
    {MODEL_ACCESS_ALLOW, "Allow"},
    {MODEL_ACCESS_DENY, "Deny"},
    {0, NULL},
};

static const NameEntry protocol_names[] = {
    {MODEL_NSG_PROTO_ANY, "*"},
    {MODEL_NSG_PROTO_TCP, "Tcp"},
    {MODEL_NSG_PROTO_UDP, "Udp"},
    {MODEL_NSG_PROTO_ICMP, "Icmp"},
    {MODEL_NSG_PROTO_ESP, "Esp"},
    {MODEL_NSG_PROTO_AH, "Ah"},
    /* The docs and the portal call "*" "Any"; accept both. */
    {MODEL_NSG_PROTO_ANY, "Any"},
    {0, NULL},
};

static const char *name_of(const NameEntry *table, int value)
{
    for (const NameEntry *e = table; e->name != NULL; e++)
        if (e->value == value)
            return e->name;
    return "?";
}

/* Looks `text` up case-insensitively. Returns false when absent. */
static bool value_of(const NameEntry *table, const char *text, int *out)
{
    if (text == NULL)
        return false;
    for (const NameEntry *e = table; e->name != NULL; e++) {
        if (g_ascii_strcasecmp(e->name, text) == 0) {
            *out = e->value;
            return true;
        }
    }
    return false;
}

/* "Inbound, Outbound" for error messages, built from the table itself. */
static char *expected_list(const NameEntry *table)
{
    GString *s = g_string_new(NULL);
    for (const NameEntry *e = table; e->name != NULL; e++)
        g_string_append_printf(s, "%s%s", s->len ? ", " : "", e->name);
    return g_string_free(s, FALSE);
}

static bool parse_enum(const NameEntry *table, const char *what, const char *text, int *out,
                       GError **error)
{
    if (value_of(table, text, out))
        return true;
    char *expected = expected_list(table);
    g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "invalid %s \"%s\" (expected %s)",
                what, text ? text : "", expected);
    g_free(expected);
    return false;
}

const char *model_direction_name(ModelDirection dir)
{
    return name_of(direction_names, (int)dir);
}

const char *model_access_name(ModelAccess access)
{
    return name_of(access_names, (int)access);
}

const char *model_nsg_protocol_name(ModelNsgProtocol proto)
{
    return name_of(protocol_names, (int)proto);
}

bool model_nsg_parse_protocol(const char *text, ModelNsgProtocol *out, GError **error)
{
    int v;
    if (!parse_enum(protocol_names, "protocol", text, &v, error))
        return false;
    *out = (ModelNsgProtocol)v;
    return true;
}

bool model_nsg_parse_direction(const char *text, ModelDirection *out, GError **error)
{
    int v;
    if (!parse_enum(direction_names, "direction", text, &v, error))
        return false;
    *out = (ModelDirection)v;
    return true;
}

bool model_nsg_parse_access(const char *text, ModelAccess *out, GError **error)
{
    int v;
    if (!parse_enum(access_names, "access", text, &v, error))
        return false;
    *out = (ModelAccess)v;
    return true;
}

/* ---- ports ---- */

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Reads a decimal port at *p. Digits only (no sign), at most 5 of them so the value cannot
 * overflow; the value must be <= 65535. Advances *p past the digits. */
static bool read_port(const char **p, const char *text, uint16_t *out, GError **error)
{
    const char *s = *p;
    uint32_t v = 0;
    int digits = 0;
    while (g_ascii_isdigit(*s)) {
        if (++digits > 5) {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_RANGE,
                        "invalid port list \"%s\": port above 65535", text);
            return false;
        }
        v = v * 10 + (uint32_t)(*s - '0');
        s++;
    }
    if (digits == 0) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                    "invalid port list \"%s\": expected a port number, \"lo-hi\" or \"*\"", text);
        return false;
    }
    if (v > 65535) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_RANGE,
                    "invalid port list \"%s\": port %u is above 65535", text, v);
        return false;
    }
    *out = (uint16_t)v;
    *p = s;
    return true;
}

bool model_nsg_parse_ports(const char *text, GArray *out, GError **error)
{
    g_return_val_if_fail(out != NULL, false);
    if (text == NULL)
        text = "";
    const char *p = skip_spaces(text);
    if (*p == '*' && *skip_spaces(p + 1) == '\0') {
        ModelPortRange any = {0, 65535};
        g_array_append_val(out, any);
        return true;
    }
    if (*p == '\0') {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "empty port list");
        return false;
    }
    guint before = out->len;
    for (;;) {
        p = skip_spaces(p);
        if (*p == ',' || *p == '\0') {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                        "invalid port list \"%s\": empty item", text);
            goto fail;
        }
        if (*p == '*') {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                        "invalid port list \"%s\": \"*\" must stand alone", text);
            goto fail;
        }
        ModelPortRange r;
        if (!read_port(&p, text, &r.lo, error))
            goto fail;
        r.hi = r.lo;
        if (*p == '-') {
            p++;
            if (!read_port(&p, text, &r.hi, error))
                goto fail;
            if (r.lo > r.hi) {
                g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_RANGE,
                            "invalid port list \"%s\": range %u-%u starts above its end", text,
                            r.lo, r.hi);
                goto fail;
            }
        }
        g_array_append_val(out, r);
        p = skip_spaces(p);
        if (*p == '\0')
            return true;
        if (*p != ',') {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                        "invalid port list \"%s\": unexpected '%c'", text, *p);
            goto fail;
        }
        p++;
    }
fail:
    g_array_set_size(out, before);
    return false;
}

/* ---- addresses ---- */

/* Characters seen in service tag names ("AzureFrontDoor.FirstParty", "Storage.EastUS2",
 * "AzureMonitor", "Sql.West-Europe" style regions). Anything else cannot be a tag. */
static bool is_tag_char(char c)
{
    return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
}

bool model_nsg_addr_parse(const char *text, ModelNsgAddr *out, GError **error)
{
    if (text == NULL || *text == '\0') {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "empty address");
        return false;
    }
    /* The overview page: "Clients like the Azure portal, Azure CLI, or PowerShell can use *
     * or Any for this expression" (0.0.0.0/0). */
    if (strcmp(text, "*") == 0 || g_ascii_strcasecmp(text, "Any") == 0) {
        out->kind = MODEL_NSG_ADDR_PREFIX;
        out->prefix = (ModelPrefix){0, 0};
        out->text = g_strdup(text);
        return true;
    }
    if (strchr(text, ':') != NULL) {
        g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                    "address \"%s\": IPv6 is not modelled", text);
        return false;
    }
    if (g_ascii_isdigit(text[0])) {
        ModelPrefix p;
        ModelPrefixStatus st = model_prefix_parse(text, true, &p);
        if (st != MODEL_PREFIX_OK) {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX, "address \"%s\": %s", text,
                        model_prefix_status_text(st));
            return false;
        }
        out->kind = MODEL_NSG_ADDR_PREFIX;
        out->prefix = p;
        out->text = g_strdup(text);
        return true;
    }
    for (const char *c = text; *c; c++) {
        if (!is_tag_char(*c)) {
            g_set_error(error, MODEL_NSG_ERROR, MODEL_NSG_ERROR_SYNTAX,
                        "address \"%s\" is not \"*\", an IP, a CIDR or a service tag name", text);
            return false;
        }
    }
    out->kind = MODEL_NSG_ADDR_TAG;
    out->prefix = (ModelPrefix){0, 0};
    out->text = g_strdup(text);
    return true;
}

void model_nsg_addr_clear(ModelNsgAddr *addr)
{
    if (addr == NULL)
        return;
    g_free(addr->text);
    addr->text = NULL;
}
