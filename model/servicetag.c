/*
 * servicetag.c — the service-tag table: a compiled-in excerpt, a loader for the published
 * JSON, case-insensitive lookup, and the name_of index.
 *
 * Case: NSG rules take tag names case-insensitively (observed: Azure/azure-cli#15462, an
 * NSG rule with AzureCloud.UKSOUTH is applied; MicrosoftDocs/azure-docs#1206, ARM accepts
 * INTERNET). Azure Firewall does not (Azure/azure-cli-extensions#2922: a lower-case tag is
 * taken as an IP group), hence model_service_tags_canonical_name for callers that need the
 * exact spelling.
 *
 * name_of: the stored prefixes containing an address lie on one chain (each covers the
 * next), so the best tag for any address below a stored prefix P depends only on the chain
 * ending at P. At load time every stored prefix gets the best tag of its chain; a lookup is
 * then one longest-prefix match.
 */
#include "model/servicetag.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "model/lpm.h"

/* Not G_DEFINE_QUARK: clang-format would space out its hyphenated name argument. */
GQuark model_service_tags_error_quark(void)
{
    return g_quark_from_static_string("model-service-tags-error-quark");
}

/* name_of preference, lower is more specific. */
typedef enum {
    RANK_REGIONAL = 0,     /* Storage.EastUS */
    RANK_SERVICE = 1,      /* Storage, AzureActiveDirectory, AzureFrontDoor.Frontend */
    RANK_CLOUD_REGION = 2, /* AzureCloud.eastus */
    RANK_CLOUD = 3,        /* AzureCloud */
} TagRank;

typedef struct {
    char *name;   /* the stored spelling */
    char *region; /* region code as the JSON gives it ("eastus"), "" for global tags */
    TagRank rank;
    ModelPrefixSet set; /* normalized */
} Tag;

/* One stored prefix of the name_of index: the best tag having exactly this prefix, and
 * the best tag over the chain of stored prefixes ending here. */
typedef struct {
    ModelPrefix prefix;
    const Tag *own;
    const Tag *best;
    uint8_t best_len; /* length of the prefix through which best matched */
} IndexEntry;

struct ModelServiceTags {
    GHashTable *by_name; /* Tag.name (case-insensitive) -> Tag*, owns the Tag */
    GPtrArray *sorted;   /* Tag*, by case-insensitive name; not owning */
    ModelLpm *index;     /* prefix -> IndexEntry*, owns the entries */
};

/* ---- the compiled-in table ------------------------------------------------------------ */

/*
 * Prefixes copied from Microsoft's ServiceTags_Public_20210301.json (changeNumber 137,
 * the weekly "Azure IP Ranges and Service Tags – Public Cloud" file of 2021-03-01, from
 * the snapshot archive github.com/ryanborMSFT/AzureServiceTagsJson), chosen from the seeds'
 * era (2019–2021). A handful per tag: enough for scenarios to exercise regional scoping,
 * not a replacement for loading the current file. All IPv4, all public.
 *
 * Derived, not listed: each top-level tag (Storage …) is the union of its regional tags
 * plus any global prefixes listed for it; AzureCloud.<region> is the listed supernets plus
 * every regional tag of that region; AzureCloud is every AzureCloud.<region> plus every
 * non-platform global tag. So the containments the real file has hold by construction.
 */
#define PREFIXES(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct {
    const char *name;
    const char *region; /* "" for global tags */
    bool platform;      /* host-local platform address, never part of AzureCloud */
    const char *const *prefixes;
} BuiltinTag;

static const BuiltinTag builtin_tags[] = {
    /* Global tags. */
    {"AzureActiveDirectory", "", false,
     PREFIXES("13.64.151.161/32", "20.190.128.0/18", "40.126.0.0/18", "52.161.13.71/32")},
    {"AzureResourceManager", "", false,
     PREFIXES("13.66.141.176/28", "13.69.67.32/28", "13.69.114.0/23", "13.78.109.96/28",
              "20.62.130.0/23", "20.191.162.0/23", "40.71.13.224/28", "40.79.158.0/23",
              "40.79.198.0/23")},
    {"AzureFrontDoor.Frontend", "", false,
     PREFIXES("13.107.208.0/24", "13.107.213.0/24", "13.107.246.0/24", "20.42.4.112/29",
              "20.43.64.88/29")},
    {"AzureFrontDoor.FirstParty", "", false,
     PREFIXES("13.107.4.0/22", "13.107.64.0/18", "13.107.128.0/19", "150.171.32.0/19",
              "204.79.197.0/24")},
    {"AzureFrontDoor.Backend", "", false,
     PREFIXES("20.36.120.104/29", "20.42.4.120/29", "40.67.48.104/29", "147.243.0.0/16")},
    /* The file's AzureMonitor.Core entry, part of AzureMonitor ⚠ (AzureMonitor itself was
     * not read). */
    {"AzureMonitor", "", false,
     PREFIXES("13.69.109.224/27", "20.42.65.128/25", "20.62.132.0/25", "20.191.165.64/27",
              "40.79.190.160/27")},
    /* Platform addresses: azdocs:articles/virtual-network/service-tags-overview.md
     * (AzureLoadBalancer, AzurePlatformDNS) and
     * azdocs:articles/virtual-network/what-is-ip-address-168-63-129-16.md; IMDS is the
     * link-local 169.254.169.254. Not in the published file; not in AzureCloud (the file's
     * AzureCloud ranges skip 168.63.129.16/28). */
    {"AzureLoadBalancer", "", true, PREFIXES("168.63.129.16/32")},
    {"AzurePlatformDNS", "", true, PREFIXES("168.63.129.16/32")},
    {"AzurePlatformIMDS", "", true, PREFIXES("169.254.169.254/32")},

    /* AzureMachineLearning */
    {"AzureMachineLearning.EastUS", "eastus", false,
     PREFIXES("20.42.0.240/28", "40.71.11.64/28", "40.78.227.32/28", "40.79.154.64/28",
              "52.255.214.109/32", "52.255.217.127/32")},
    {"AzureMachineLearning.WestEurope", "westeurope", false,
     PREFIXES("13.69.64.192/28", "13.69.106.192/28", "40.74.24.96/28", "51.105.129.135/32",
              "51.144.184.47/32", "52.236.186.192/28")},
    {"AzureMachineLearning.JapanEast", "japaneast", false,
     PREFIXES("13.78.106.208/28", "20.43.64.96/28", "20.44.132.166/32", "40.79.186.160/28",
              "40.79.194.64/28", "52.155.115.7/32")},

    /* BatchNodeManagement */
    {"BatchNodeManagement.EastUS", "eastus", false,
     PREFIXES("13.92.114.103/32", "20.42.6.224/27", "23.96.12.112/32", "40.71.12.192/27",
              "40.78.227.0/27", "40.79.154.32/27", "52.188.222.115/32", "137.117.45.176/32",
              "191.236.37.239/32")},
    {"BatchNodeManagement.WestEurope", "westeurope", false,
     PREFIXES("13.69.65.64/26", "13.69.106.128/26", "13.73.153.226/32", "20.50.1.64/26",
              "23.97.180.74/32", "40.68.100.153/32", "52.166.19.45/32", "52.236.186.128/26",
              "168.63.5.53/32")},
    {"BatchNodeManagement.JapanEast", "japaneast", false,
     PREFIXES("13.71.144.135/32", "13.78.108.128/27", "20.43.66.96/27", "23.100.100.145/32",
              "40.79.186.128/27", "40.79.194.32/27", "138.91.1.114/32")},

    /* Storage */
    {"Storage.EastUS", "eastus", false,
     PREFIXES("13.68.163.32/28", "20.38.98.0/24", "20.47.1.0/24", "20.47.16.0/23", "20.60.0.0/24",
              "20.60.2.0/23", "20.60.6.0/23", "20.150.32.0/23", "23.96.64.64/26", "40.71.104.16/28",
              "52.239.152.0/22", "52.239.168.0/22", "138.91.96.64/26", "168.62.32.0/26")},
    {"Storage.WestEurope", "westeurope", false,
     PREFIXES("13.69.40.16/28", "13.95.96.176/28", "20.38.108.0/23", "20.47.7.0/24",
              "20.60.26.0/23", "20.60.130.0/24", "20.150.8.0/23", "40.68.176.16/28",
              "52.239.140.0/22", "52.239.212.0/23", "168.61.57.64/26", "168.63.0.0/26")},
    {"Storage.JapanEast", "japaneast", false,
     PREFIXES("13.73.8.16/28", "20.38.116.0/23", "20.47.12.0/24", "20.60.172.0/23",
              "20.150.85.0/24", "23.98.57.64/26", "40.115.169.32/28", "52.239.144.0/23")},

    /* AzureKeyVault */
    {"AzureKeyVault.EastUS", "eastus", false,
     PREFIXES("20.62.134.76/30", "20.62.134.224/29", "20.185.217.251/32", "40.71.10.200/30",
              "40.76.196.75/32", "52.168.109.101/32", "137.116.120.244/32")},
    {"AzureKeyVault.WestEurope", "westeurope", false,
     PREFIXES("13.69.64.72/30", "13.80.247.19/32", "20.61.103.224/29", "20.61.103.232/30",
              "23.97.178.0/32", "40.91.193.78/32", "104.46.40.31/32")},
    {"AzureKeyVault.JapanEast", "japaneast", false,
     PREFIXES("13.78.106.88/30", "20.188.2.148/32", "20.191.166.120/29", "20.191.167.128/30",
              "23.102.72.114/32", "104.41.162.219/32", "104.46.219.151/32")},

    /* AzureContainerRegistry */
    {"AzureContainerRegistry.EastUS", "eastus", false,
     PREFIXES("20.42.66.0/24", "20.42.67.0/24", "20.62.128.0/26", "40.71.10.216/29",
              "40.78.226.208/29", "40.78.231.0/24", "52.168.112.192/26", "52.168.114.0/24")},
    {"AzureContainerRegistry.WestEurope", "westeurope", false,
     PREFIXES("13.69.64.88/29", "13.69.106.80/29", "13.69.110.0/24", "20.50.200.0/24",
              "20.61.97.128/25", "52.178.18.0/23", "52.236.191.0/24")},
    {"AzureContainerRegistry.JapanEast", "japaneast", false,
     PREFIXES("13.78.106.200/29", "13.78.111.0/25", "20.191.160.128/26", "20.194.128.0/25",
              "40.79.186.8/29", "40.79.189.128/25", "40.79.194.96/29")},

    /* MicrosoftContainerRegistry (its blobs come through AzureFrontDoor.FirstParty, which
     * is a separate tag: azdocs:articles/virtual-network/service-tags-overview.md) */
    {"MicrosoftContainerRegistry.EastUS", "eastus", false,
     PREFIXES("40.71.10.208/29", "40.78.226.200/29", "40.79.154.96/29")},
    {"MicrosoftContainerRegistry.WestEurope", "westeurope", false,
     PREFIXES("13.69.64.80/29", "13.69.106.72/29", "52.236.186.72/29")},
    {"MicrosoftContainerRegistry.JapanEast", "japaneast", false,
     PREFIXES("13.78.106.192/29", "40.79.186.0/29", "40.79.194.88/29")},

    /* GatewayManager (West Europe was not read) */
    {"GatewayManager.EastUS", "eastus", false,
     PREFIXES("13.92.84.128/32", "20.42.0.72/29", "40.71.11.96/29", "40.88.222.179/32",
              "52.179.10.142/32")},
    {"GatewayManager.JapanEast", "japaneast", false,
     PREFIXES("13.78.108.16/29", "20.43.64.72/29", "40.115.248.200/32", "40.115.254.17/32")},

    /* AzureCloud.<region>: supernets of that region's address space. The file's own
     * AzureCloud.<region> entries were not read; these are the blocks every service prefix
     * of the region above falls in, and the regional tags are unioned in regardless. */
    {"AzureCloud.eastus", "eastus", false,
     PREFIXES("20.42.0.0/17", "20.62.128.0/17", "40.71.0.0/16", "40.76.0.0/16", "40.78.224.0/21",
              "40.79.152.0/21", "52.168.0.0/16")},
    {"AzureCloud.westeurope", "westeurope", false,
     PREFIXES("13.69.0.0/17", "40.68.0.0/16", "52.166.0.0/16", "52.174.0.0/16")},
    {"AzureCloud.japaneast", "japaneast", false,
     PREFIXES("13.78.0.0/17", "20.43.64.0/19", "40.79.184.0/21", "40.79.192.0/21",
              "40.115.128.0/17")},
};

/* Top-level tags whose regional parts are listed above. */
static const char *const derived_top_level[] = {
    "AzureMachineLearning",   "BatchNodeManagement",        "Storage",        "AzureKeyVault",
    "AzureContainerRegistry", "MicrosoftContainerRegistry", "GatewayManager",
};

#define AZURE_CLOUD "AzureCloud"

/* ---- tags ------------------------------------------------------------------------------- */

static guint name_hash(gconstpointer key)
{
    /* djb2 over the lower-cased name, to agree with name_equal. */
    guint h = 5381;
    for (const char *p = key; *p; p++)
        h = h * 33 + (guchar)g_ascii_tolower(*p);
    return h;
}

static gboolean name_equal(gconstpointer a, gconstpointer b)
{
    return g_ascii_strcasecmp(a, b) == 0;
}

static bool is_cloud_region_name(const char *name)
{
    size_t n = strlen(AZURE_CLOUD);
    return g_ascii_strncasecmp(name, AZURE_CLOUD, n) == 0 && name[n] == '.';
}

static TagRank rank_of(const char *name, const char *region)
{
    if (g_ascii_strcasecmp(name, AZURE_CLOUD) == 0)
        return RANK_CLOUD;
    if (is_cloud_region_name(name))
        return RANK_CLOUD_REGION;
    return region[0] ? RANK_REGIONAL : RANK_SERVICE;
}

static Tag *tag_new(const char *name, const char *region)
{
    Tag *t = g_new0(Tag, 1);
    t->name = g_strdup(name);
    t->region = g_strdup(region);
    t->rank = rank_of(name, region);
    model_prefix_set_init(&t->set);
    return t;
}

static void tag_free(gpointer data)
{
    Tag *t = data;
    if (!t)
        return;
    g_free(t->name);
    g_free(t->region);
    model_prefix_set_clear(&t->set);
    g_free(t);
}

/* Stores t, replacing (and freeing) a tag of the same name in any case. */
static void put_tag(ModelServiceTags *tags, Tag *t)
{
    /* Remove first: g_hash_table_replace would free the old Tag while its name is the key. */
    g_hash_table_remove(tags->by_name, t->name);
    g_hash_table_insert(tags->by_name, t->name, t);
}

static Tag *get_tag(const ModelServiceTags *tags, const char *name)
{
    return name ? g_hash_table_lookup(tags->by_name, name) : NULL;
}

/* ---- the name_of index --------------------------------------------------------------- */

/* True when candidate (matching through a prefix of length len) explains an address
 * better than current (matching through current_len). */
static bool better(const Tag *candidate, uint8_t len, const Tag *current, uint8_t current_len)
{
    if (!current)
        return true;
    if (candidate->rank != current->rank)
        return candidate->rank < current->rank;
    if (len != current_len)
        return len > current_len;
    return g_ascii_strcasecmp(candidate->name, current->name) < 0;
}

typedef struct {
    IndexEntry *entry;
} ChainCtx;

static bool fold_chain(ModelPrefix p, void *value, void *ctx)
{
    ChainCtx *c = ctx;
    IndexEntry *other = value;
    if (p.len > c->entry->prefix.len)
        return true; /* below the entry: not an ancestor */
    if (better(other->own, p.len, c->entry->best, c->entry->best_len)) {
        c->entry->best = other->own;
        c->entry->best_len = p.len;
    }
    return true;
}

/* Rebuilds sorted and index from by_name. O(P * 32) for P stored prefixes. */
static void rebuild(ModelServiceTags *tags)
{
    g_ptr_array_set_size(tags->sorted, 0);
    model_lpm_free(tags->index, g_free);
    tags->index = model_lpm_new();

    GPtrArray *entries = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, tags->by_name);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const Tag *t = value;
        g_ptr_array_add(tags->sorted, value);
        for (size_t i = 0; i < t->set.len; i++) {
            ModelPrefix p = t->set.items[i];
            IndexEntry *e = model_lpm_exact(tags->index, p);
            if (!e) {
                e = g_new0(IndexEntry, 1);
                e->prefix = p;
                model_lpm_insert(tags->index, p, e);
                g_ptr_array_add(entries, e);
            }
            if (better(t, p.len, e->own, p.len))
                e->own = t;
        }
    }
    for (guint i = 0; i < entries->len; i++) {
        IndexEntry *e = entries->pdata[i];
        ChainCtx c = {e};
        model_lpm_foreach_match(tags->index, e->prefix.addr, fold_chain, &c);
    }
    g_ptr_array_free(entries, TRUE);
}

static gint compare_tag_names(gconstpointer a, gconstpointer b)
{
    const Tag *ta = *(const Tag *const *)a, *tb = *(const Tag *const *)b;
    int c = g_ascii_strcasecmp(ta->name, tb->name);
    return c ? c : strcmp(ta->name, tb->name);
}

static void commit(ModelServiceTags *tags)
{
    rebuild(tags);
    g_ptr_array_sort(tags->sorted, compare_tag_names);
}

/* ---- construction --------------------------------------------------------------------- */

static ModelServiceTags *tags_new_empty(void)
{
    ModelServiceTags *tags = g_new0(ModelServiceTags, 1);
    tags->by_name = g_hash_table_new_full(name_hash, name_equal, NULL, tag_free);
    tags->sorted = g_ptr_array_new();
    tags->index = model_lpm_new();
    return tags;
}

static void add_builtin_prefixes(Tag *t, const char *const *prefixes)
{
    for (const char *const *s = prefixes; *s; s++) {
        ModelPrefix p;
        ModelPrefixStatus st = model_prefix_parse(*s, false, &p);
        /* The table is source code: a bad entry is a programming error. */
        g_assert(st == MODEL_PREFIX_OK);
        model_prefix_set_add(&t->set, p);
    }
}

ModelServiceTags *model_service_tags_new_builtin(void)
{
    ModelServiceTags *tags = tags_new_empty();
    size_t n = G_N_ELEMENTS(builtin_tags);

    /* Listed tags. Regional service tags are also unioned into AzureCloud.<region>. */
    for (size_t i = 0; i < n; i++) {
        const BuiltinTag *b = &builtin_tags[i];
        Tag *t = tag_new(b->name, b->region);
        add_builtin_prefixes(t, b->prefixes);
        put_tag(tags, t);
    }
    for (size_t i = 0; i < n; i++) {
        const BuiltinTag *b = &builtin_tags[i];
        if (!b->region[0] || is_cloud_region_name(b->name))
            continue;
        char *cloud_name = g_strconcat(AZURE_CLOUD ".", b->region, NULL);
        Tag *cloud = get_tag(tags, cloud_name);
        g_free(cloud_name);
        g_assert(cloud != NULL); /* every region used has its AzureCloud.<region> */
        add_builtin_prefixes(cloud, b->prefixes);
    }

    /* Top-level tags: the union of their regional tags (and their own global entry, if the
     * table lists one). */
    for (size_t d = 0; d < G_N_ELEMENTS(derived_top_level); d++) {
        const char *family = derived_top_level[d];
        Tag *top = get_tag(tags, family);
        if (!top) {
            top = tag_new(family, "");
            put_tag(tags, top);
        }
        size_t flen = strlen(family);
        for (size_t i = 0; i < n; i++) {
            const BuiltinTag *b = &builtin_tags[i];
            if (b->region[0] && strncmp(b->name, family, flen) == 0 && b->name[flen] == '.')
                add_builtin_prefixes(top, b->prefixes);
        }
    }

    /* AzureCloud: every regional AzureCloud tag and every non-platform global tag. */
    Tag *cloud = tag_new(AZURE_CLOUD, "");
    for (size_t i = 0; i < n; i++) {
        const BuiltinTag *b = &builtin_tags[i];
        if (b->platform || (b->region[0] && !is_cloud_region_name(b->name)))
            continue; /* regional service tags arrive through AzureCloud.<region> */
        Tag *t = get_tag(tags, b->name);
        model_prefix_set_add_set(&cloud->set, &t->set);
    }
    put_tag(tags, cloud);

    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, tags->by_name);
    while (g_hash_table_iter_next(&it, NULL, &value))
        model_prefix_set_normalize(&((Tag *)value)->set);
    commit(tags);
    return tags;
}

void model_service_tags_free(ModelServiceTags *tags)
{
    if (!tags)
        return;
    model_lpm_free(tags->index, g_free);
    g_ptr_array_free(tags->sorted, TRUE);
    g_hash_table_destroy(tags->by_name);
    g_free(tags);
}

/* ---- the JSON loader -------------------------------------------------------------------- */

static JsonObject *member_object(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *member_array(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* The member as a string, or NULL when absent or not a string. */
static const char *member_string(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

/* Parses values[index] into a new Tag, or sets error ("path: values[i] ...: ...") and
 * returns NULL. */
static Tag *parse_value(const char *path, guint index, JsonNode *node, GError **error)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    const char *name = o ? member_string(o, "name") : NULL;
    if (!name || !name[0]) {
        g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                    "%s: values[%u]: expected an object with a non-empty \"name\" string", path,
                    index);
        return NULL;
    }
    JsonObject *props = member_object(o, "properties");
    JsonArray *list = props ? member_array(props, "addressPrefixes") : NULL;
    if (!list) {
        g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                    "%s: values[%u] (%s): missing \"properties.addressPrefixes\" array", path,
                    index, name);
        return NULL;
    }
    const char *region = member_string(props, "region");
    Tag *t = tag_new(name, region ? region : "");
    guint n = json_array_get_length(list);
    for (guint j = 0; j < n; j++) {
        JsonNode *pn = json_array_get_element(list, j);
        const char *text = NULL;
        if (JSON_NODE_HOLDS_VALUE(pn) && json_node_get_value_type(pn) == G_TYPE_STRING)
            text = json_node_get_string(pn);
        if (!text) {
            g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                        "%s: values[%u] (%s): addressPrefixes[%u] is not a string", path, index,
                        name, j);
            tag_free(t);
            return NULL;
        }
        if (strchr(text, ':'))
            continue; /* IPv6: the model is IPv4-only */
        ModelPrefix p;
        /* Host bits are cleared rather than rejected, as NSGs do for rule prefixes: the
         * file is Microsoft's, and a stray host bit should not make it unusable. */
        ModelPrefixStatus st = model_prefix_parse(text, true, &p);
        if (st != MODEL_PREFIX_OK) {
            g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                        "%s: values[%u] (%s): addressPrefixes[%u] \"%s\": %s", path, index, name, j,
                        text, model_prefix_status_text(st));
            tag_free(t);
            return NULL;
        }
        model_prefix_set_add(&t->set, p);
    }
    model_prefix_set_normalize(&t->set);
    return t;
}

gboolean model_service_tags_load_json(ModelServiceTags *tags, const char *path, GError **error)
{
    g_return_val_if_fail(tags != NULL && path != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    JsonParser *parser = json_parser_new();
    GError *local = NULL;
    if (!json_parser_load_from_file(parser, path, &local)) {
        if (local->domain == JSON_PARSER_ERROR && g_str_has_prefix(local->message, path)) {
            /* json-glib already wrote "path:line:col: Parse error: …". */
            g_set_error_literal(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_SYNTAX,
                                local->message);
        } else {
            g_set_error(error, MODEL_SERVICE_TAGS_ERROR,
                        local->domain == JSON_PARSER_ERROR ? MODEL_SERVICE_TAGS_ERROR_SYNTAX
                                                           : MODEL_SERVICE_TAGS_ERROR_IO,
                        "%s: %s", path, local->message);
        }
        g_error_free(local);
        g_object_unref(parser);
        return FALSE;
    }

    JsonNode *root = json_parser_get_root(parser);
    JsonObject *top = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonArray *values = top ? member_array(top, "values") : NULL;
    if (!values) {
        g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                    "%s: expected an object with a \"values\" array, as in Microsoft's "
                    "ServiceTags_Public_YYYYMMDD.json",
                    path);
        g_object_unref(parser);
        return FALSE;
    }

    /* Parse everything before touching tags, so a bad file changes nothing. */
    GPtrArray *parsed = g_ptr_array_new_with_free_func(tag_free);
    GHashTable *seen = g_hash_table_new(name_hash, name_equal);
    gboolean ok = TRUE;
    guint n = json_array_get_length(values);
    for (guint i = 0; i < n && ok; i++) {
        Tag *t = parse_value(path, i, json_array_get_element(values, i), error);
        if (!t) {
            ok = FALSE;
        } else if (g_hash_table_contains(seen, t->name)) {
            g_set_error(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_FORMAT,
                        "%s: values[%u]: tag \"%s\" appears twice", path, i, t->name);
            tag_free(t);
            ok = FALSE;
        } else {
            g_hash_table_add(seen, t->name);
            g_ptr_array_add(parsed, t);
        }
    }
    g_hash_table_destroy(seen);
    g_object_unref(parser);
    if (!ok) {
        g_ptr_array_free(parsed, TRUE);
        return FALSE;
    }

    while (parsed->len > 0)
        put_tag(tags, g_ptr_array_steal_index_fast(parsed, parsed->len - 1));
    g_ptr_array_free(parsed, TRUE);
    commit(tags);
    return TRUE;
}

/* ---- queries ---------------------------------------------------------------------------- */

const ModelPrefixSet *model_service_tags_lookup(const ModelServiceTags *tags, const char *name)
{
    g_return_val_if_fail(tags != NULL, NULL);
    const Tag *t = get_tag(tags, name);
    return t ? &t->set : NULL;
}

const char *model_service_tags_canonical_name(const ModelServiceTags *tags, const char *name)
{
    g_return_val_if_fail(tags != NULL, NULL);
    const Tag *t = get_tag(tags, name);
    return t ? t->name : NULL;
}

const char *model_service_tags_name_of(const ModelServiceTags *tags, uint32_t ip)
{
    g_return_val_if_fail(tags != NULL, NULL);
    const IndexEntry *e = model_lpm_lookup(tags->index, ip, NULL);
    return e ? e->best->name : NULL;
}

void model_service_tags_foreach(const ModelServiceTags *tags,
                                void (*fn)(const char *name, const ModelPrefixSet *set, void *ctx),
                                void *ctx)
{
    g_return_if_fail(tags != NULL && fn != NULL);
    for (guint i = 0; i < tags->sorted->len; i++) {
        const Tag *t = tags->sorted->pdata[i];
        fn(t->name, &t->set, ctx);
    }
}

bool model_service_tag_is_topological(const char *name)
{
    return name && (g_ascii_strcasecmp(name, "VirtualNetwork") == 0 ||
                    g_ascii_strcasecmp(name, "Internet") == 0);
}
