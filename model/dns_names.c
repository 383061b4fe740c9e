/*
 * dns_names.c — DNS names as text, and the one table of Azure PaaS names: which public
 * FQDN Azure CNAMEs to which private link name, and which private DNS zone holds it.
 *
 * The table follows azdocs:articles/private-link/private-endpoint-dns.md ("Azure
 * Private Endpoint private DNS zone values": Storage, Key Vault, Container Registry,
 * Azure Machine Learning), azdocs:articles/machine-learning/how-to-custom-dns.md (the
 * workspace FQDNs and "the following Canonical Names (CNAMEs) called the workspace
 * Private Link FQDNs") and /work/shared/docs/azure-facts.md §3. A pattern label "*" is
 * exactly one label; "$1", "$2" are the labels it matched, "$w" the workspace GUID, "$s"
 * a stamp letter for the illustrative public front-end host.
 */
#include "model/dns.h"

#include <string.h>

#define NAME_MAX_LEN  253 /* RFC 1035 2.3.4: 255 octets on the wire, 253 as text */
#define LABEL_MAX_LEN 63

GQuark model_dns_error_quark(void)
{
    return g_quark_from_static_string("model-dns");
}

/* ---- names ---- */

static bool label_char_ok(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_';
}

char *model__dns_name_canon(const char *name, bool allow_wildcard, GError **error)
{
    if (!name) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME, "a DNS name is required");
        return NULL;
    }
    size_t len = strlen(name);
    if (len && name[len - 1] == '.')
        len--;
    if (len == 0) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                    "'%s' is not a DNS name: it is empty", name);
        return NULL;
    }
    if (len > NAME_MAX_LEN) {
        g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                    "'%.40s…' is not a DNS name: %zu characters, the limit is %d", name, len,
                    NAME_MAX_LEN);
        return NULL;
    }
    char *out = g_ascii_strdown(name, (gssize)len);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && out[i] != '.')
            continue;
        size_t llen = i - start;
        const char *why = NULL;
        if (llen == 0)
            why = "an empty label";
        else if (llen > LABEL_MAX_LEN)
            why = "a label longer than 63 characters";
        else if (llen == 1 && out[start] == '*')
            why = allow_wildcard && start == 0 ? NULL
                                               : "'*' other than as a wildcard's leftmost label";
        else
            for (size_t k = start; k < i && !why; k++)
                if (!label_char_ok(out[k]))
                    why = "a character other than letters, digits, '-' and '_'";
        if (why) {
            g_set_error(error, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NAME,
                        "'%s' is not a valid DNS name: it has %s", name, why);
            g_free(out);
            return NULL;
        }
        start = i + 1;
    }
    return out;
}

char *model_dns_name_normalize(const char *name, GError **error)
{
    return model__dns_name_canon(name, false, error);
}

bool model_dns_name_within(const char *name, const char *zone)
{
    size_t ln = strlen(name), lz = strlen(zone);
    if (lz == 0)
        return true; /* the root holds every name */
    if (ln < lz || g_ascii_strcasecmp(name + ln - lz, zone) != 0)
        return false;
    return ln == lz || name[ln - lz - 1] == '.';
}

/* ---- the PaaS table ---- */

typedef struct {
    const char *pattern;     /* the public FQDN */
    const char *privatelink; /* what Azure's public DNS CNAMEs it to */
    const char *zone;        /* the recommended private DNS zone */
    const char *alt_zone;    /* another zone the record may live in, or NULL */
    const char *record;      /* registered by DNS integration; NULL: the privatelink name */
    const char *host;        /* illustrative public front end (no document names these) */
} PaasRow;

#define STORAGE(sub)                                                                               \
    {                                                                                              \
        "*." sub ".core.windows.net", "$1.privatelink." sub ".core.windows.net",                   \
            "privatelink." sub ".core.windows.net", NULL, NULL,                                    \
            sub ".bl5prdstr09$s.store.core.windows.net"                                            \
    }

static const PaasRow paas_rows[] = {
    /* Storage account / blob, table, queue, file, web, dfs: "privatelink.<sub>.core.
     * windows.net"; the chain acct.blob… CNAME acct.privatelink.blob… CNAME
     * blob.<stamp>.store.core.windows.net is azdocs:articles/storage/common/
     * storage-private-endpoints.md (and the nslookup in dns/private-dns-fallback.md). */
    STORAGE("blob"),
    STORAGE("file"),
    STORAGE("queue"),
    STORAGE("table"),
    STORAGE("dfs"),
    STORAGE("web"),
    /* Key Vault / vault: zone privatelink.vaultcore.azure.net, public zones "vault.azure.net
     * vaultcore.azure.net". */
    {"*.vault.azure.net", "$1.privatelink.vaultcore.azure.net", "privatelink.vaultcore.azure.net",
     NULL, NULL, "kv-fe-$s.cloudapp.azure.com"},
    {"*.vaultcore.azure.net", "$1.privatelink.vaultcore.azure.net",
     "privatelink.vaultcore.azure.net", NULL, NULL, "kv-fe-$s.cloudapp.azure.com"},
    /* Container Registry / registry: zones "privatelink.azurecr.io {regionName}.data.
     * privatelink.azurecr.io", public "azurecr.io {regionName}.data.azurecr.io". Older
     * deployments keep the data record in privatelink.azurecr.io: the alternate zone. */
    {"*.azurecr.io", "$1.privatelink.azurecr.io", "privatelink.azurecr.io", NULL, NULL,
     "acr-fe-$s.cloudapp.azure.com"},
    {"*.*.data.azurecr.io", "$1.$2.data.privatelink.azurecr.io", "$2.data.privatelink.azurecr.io",
     "privatelink.azurecr.io", NULL, "acr-data-fe-$s.$2.cloudapp.azure.com"},
    /* Azure Machine Learning / amlworkspace: zones privatelink.api.azureml.ms and
     * privatelink.notebooks.azure.net. how-to-custom-dns.md lists the workspace FQDNs and
     * their private link CNAMEs; the cert name's private link form is the zone record
     * "<guid>.workspace.<region>.cert" that DNS integration writes. */
    {"*.workspace.*.api.azureml.ms", "$1.workspace.$2.privatelink.api.azureml.ms",
     "privatelink.api.azureml.ms", NULL, NULL, "aml-fe-$s.$2.cloudapp.azure.com"},
    {"*.workspace.*.cert.api.azureml.ms", "$1.workspace.$2.cert.privatelink.api.azureml.ms",
     "privatelink.api.azureml.ms", NULL, NULL, "aml-fe-$s.$2.cloudapp.azure.com"},
    {"*.*.notebooks.azure.net", "$1.$2.privatelink.notebooks.azure.net",
     "privatelink.notebooks.azure.net", NULL, NULL, "nb-fe-$s.$2.cloudapp.azure.com"},
    /* Managed online endpoints: "<managed online endpoint name>.<per-workspace globally-
     * unique identifier>.inference.<region>.privatelink.api.azureml.ms"; "an A record with
     * wildcard *.<per-workspace globally-unique identifier>.inference.<region>.privatelink.
     * api.azureml.ms should be added". */
    {"*.*.inference.ml.azure.com", "$1.$w.inference.$2.privatelink.api.azureml.ms",
     "privatelink.api.azureml.ms", NULL, "*.$w.inference.$2.privatelink.api.azureml.ms",
     "inference-fe-$s.$2.cloudapp.azure.com"},
    /* Compute instances (and "<instance>-22" for SSH): the docs give no private link name,
     * only "use the private IP address of the workspace private endpoint"; modelled as a
     * CNAME to the workspace's own private link name, which gives exactly that address. */
    {"*.*.instances.azureml.ms", "$w.workspace.$2.privatelink.api.azureml.ms",
     "privatelink.api.azureml.ms", NULL, NULL, "aml-fe-$s.$2.cloudapp.azure.com"},
};

/* Matches name against a pattern label by label; on success *caps holds the labels the
 * "*"s matched (g_strfreev). */
static bool pattern_match(const char *pattern, const char *name, char ***caps)
{
    g_auto(GStrv) pl = g_strsplit(pattern, ".", -1);
    g_auto(GStrv) nl = g_strsplit(name, ".", -1);
    if (g_strv_length(pl) != g_strv_length(nl))
        return false;
    GPtrArray *c = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; pl[i]; i++) {
        if (strcmp(pl[i], "*") == 0)
            g_ptr_array_add(c, g_strdup(nl[i]));
        else if (strcmp(pl[i], nl[i]) != 0) {
            g_ptr_array_free(c, TRUE);
            return false;
        }
    }
    g_ptr_array_add(c, NULL);
    *caps = (char **)g_ptr_array_free(c, FALSE);
    return true;
}

/* Expands $1..$9 and $w; "$s" is kept when keep_stamp, else replaced by stamp. */
static char *expand(const char *tmpl, char *const *caps, const char *guid, bool keep_stamp,
                    char stamp)
{
    GString *s = g_string_new(NULL);
    for (const char *p = tmpl; *p; p++) {
        if (p[0] != '$' || !p[1]) {
            g_string_append_c(s, *p);
            continue;
        }
        char k = *++p;
        if (k >= '1' && k <= '9') {
            guint i = (guint)(k - '1');
            g_string_append(s, caps && i < g_strv_length((char **)caps) ? caps[i] : "");
        } else if (k == 'w')
            g_string_append(s, guid ? guid : "");
        else if (k == 's' && keep_stamp)
            g_string_append(s, "$s");
        else if (k == 's')
            g_string_append_c(s, stamp);
        else
            g_string_append_c(s, k);
    }
    return g_string_free(s, FALSE);
}

static bool uses_workspace(const PaasRow *r)
{
    return strstr(r->privatelink, "$w") || (r->record && strstr(r->record, "$w"));
}

/* A name already in private link form: under a row's zone (its "$n" labels as "*"),
 * longest zone first. */
static bool identity_lookup(const char *fqdn, ModelDnsPaasName *out)
{
    size_t best_labels = 0;
    char *best_zone = NULL;
    g_auto(GStrv) nl = g_strsplit(fqdn, ".", -1);
    guint n = g_strv_length(nl);
    for (size_t r = 0; r < G_N_ELEMENTS(paas_rows); r++) {
        g_auto(GStrv) zl = g_strsplit(paas_rows[r].zone, ".", -1);
        guint k = g_strv_length(zl);
        if (k >= n || k <= best_labels)
            continue;
        bool ok = true;
        for (guint i = 0; i < k && ok; i++)
            ok = zl[i][0] == '$' || strcmp(zl[i], nl[n - k + i]) == 0;
        if (!ok)
            continue;
        best_labels = k;
        g_free(best_zone);
        best_zone = g_strjoinv(".", nl + (n - k));
    }
    if (!best_zone)
        return false;
    *out = (ModelDnsPaasName){
        .privatelink = g_strdup(fqdn), .zone = best_zone, .record = g_strdup(fqdn)};
    return true;
}

bool model__dns_paas_lookup(const char *fqdn, const char *workspace_guid, ModelDnsPaasName *out)
{
    memset(out, 0, sizeof *out);
    if (workspace_guid && (!*workspace_guid || strchr(workspace_guid, '.')))
        return false;
    for (size_t r = 0; r < G_N_ELEMENTS(paas_rows); r++) {
        const PaasRow *row = &paas_rows[r];
        g_auto(GStrv) caps = NULL;
        if (!pattern_match(row->pattern, fqdn, &caps))
            continue;
        if (uses_workspace(row) && !workspace_guid)
            return false;
        out->privatelink = expand(row->privatelink, caps, workspace_guid, false, 0);
        out->zone = expand(row->zone, caps, workspace_guid, false, 0);
        out->alt_zone = row->alt_zone ? g_strdup(row->alt_zone) : NULL;
        out->record =
            expand(row->record ? row->record : row->privatelink, caps, workspace_guid, false, 0);
        out->host_fmt = expand(row->host, caps, workspace_guid, true, 0);
        return true;
    }
    return identity_lookup(fqdn, out);
}

char *model__dns_paas_host(const ModelDnsPaasName *n, char stamp)
{
    return expand(n->host_fmt ? n->host_fmt : "paas-fe-$s.cloudapp.azure.com", NULL, NULL, false,
                  stamp);
}

void model__dns_paas_clear(ModelDnsPaasName *n)
{
    g_free(n->privatelink);
    g_free(n->zone);
    g_free(n->alt_zone);
    g_free(n->record);
    g_free(n->host_fmt);
    memset(n, 0, sizeof *n);
}

char *model_dns_privatelink_name_for_workspace(const char *public_fqdn, const char *workspace_guid,
                                               char **zone_out)
{
    if (zone_out)
        *zone_out = NULL;
    g_autofree char *fqdn = model__dns_name_canon(public_fqdn, false, NULL);
    g_autofree char *guid =
        workspace_guid ? model__dns_name_canon(workspace_guid, false, NULL) : NULL;
    if (!fqdn || (workspace_guid && !guid))
        return NULL;
    ModelDnsPaasName n;
    if (!model__dns_paas_lookup(fqdn, guid, &n))
        return NULL;
    char *pl = g_steal_pointer(&n.privatelink);
    if (zone_out)
        *zone_out = g_steal_pointer(&n.zone);
    model__dns_paas_clear(&n);
    return pl;
}

char *model_dns_privatelink_name(const char *public_fqdn, char **zone_out)
{
    return model_dns_privatelink_name_for_workspace(public_fqdn, NULL, zone_out);
}
