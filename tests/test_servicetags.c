/* Service tags: the built-in table's containments, case-insensitive lookup, name_of's
 * preference order, and the loader for Microsoft's published JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "model/addr.h"
#include "model/prefixset.h"
#include "model/servicetag.h"

static uint32_t ip(const char *text)
{
    uint32_t a;
    assert_true(model_ip_parse(text, &a));
    return a;
}

static char *data_path(const char *name)
{
    const char *src = getenv("VNETSIM_SOURCE_DIR");
    assert_non_null(src);
    return g_build_filename(src, "tests", "data", name, NULL);
}

static const ModelPrefixSet *must(const ModelServiceTags *tags, const char *name)
{
    const ModelPrefixSet *s = model_service_tags_lookup(tags, name);
    if (!s)
        fail_msg("tag %s missing", name);
    return s;
}

/* Every address of inner lies in outer. */
static bool set_covers_set(const ModelPrefixSet *outer, const ModelPrefixSet *inner)
{
    for (size_t i = 0; i < inner->len; i++)
        if (!model_prefix_set_covers(outer, inner->items[i]))
            return false;
    return true;
}

static bool sets_overlap(const ModelPrefixSet *a, const ModelPrefixSet *b)
{
    for (size_t i = 0; i < a->len; i++)
        for (size_t j = 0; j < b->len; j++)
            if (model_prefix_overlaps(a->items[i], b->items[j]))
                return true;
    return false;
}

static const char *const families[] = {
    "AzureMachineLearning", "BatchNodeManagement",    "Storage",
    "AzureKeyVault",        "AzureContainerRegistry", "MicrosoftContainerRegistry"};
static const char *const regions[] = {"EastUS", "WestEurope", "JapanEast"};
static const char *const cloud_regions[] = {"eastus", "westeurope", "japaneast"};

static void regional_tags_lie_inside_top_level_and_their_azurecloud_region(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    const ModelPrefixSet *cloud = must(tags, "AzureCloud");
    for (size_t f = 0; f < G_N_ELEMENTS(families); f++) {
        const ModelPrefixSet *top = must(tags, families[f]);
        ModelPrefixSet uni;
        model_prefix_set_init(&uni);
        for (size_t r = 0; r < G_N_ELEMENTS(regions); r++) {
            char *name = g_strdup_printf("%s.%s", families[f], regions[r]);
            const ModelPrefixSet *reg = must(tags, name);
            assert_true(reg->len > 0);
            assert_true(model_prefix_set_is_normalized(reg));
            assert_true(set_covers_set(top, reg));
            char *cloud_name = g_strdup_printf("AzureCloud.%s", cloud_regions[r]);
            assert_true(set_covers_set(must(tags, cloud_name), reg));
            assert_true(set_covers_set(cloud, reg));
            model_prefix_set_add_set(&uni, reg);
            g_free(cloud_name);
            g_free(name);
        }
        /* The top level is exactly the union of its regions (none has global prefixes). */
        model_prefix_set_normalize(&uni);
        assert_true(set_covers_set(&uni, top));
        model_prefix_set_clear(&uni);
    }
    for (size_t r = 0; r < G_N_ELEMENTS(cloud_regions); r++) {
        char *cloud_name = g_strdup_printf("AzureCloud.%s", cloud_regions[r]);
        assert_true(set_covers_set(cloud, must(tags, cloud_name)));
        g_free(cloud_name);
    }
    model_service_tags_free(tags);
}

static void regions_of_one_service_do_not_overlap(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    for (size_t f = 0; f <= G_N_ELEMENTS(families); f++) {
        for (size_t a = 0; a < G_N_ELEMENTS(regions); a++) {
            for (size_t b = a + 1; b < G_N_ELEMENTS(regions); b++) {
                char *na, *nb;
                if (f == G_N_ELEMENTS(families)) { /* AzureCloud.<region> too */
                    na = g_strdup_printf("AzureCloud.%s", cloud_regions[a]);
                    nb = g_strdup_printf("AzureCloud.%s", cloud_regions[b]);
                } else {
                    na = g_strdup_printf("%s.%s", families[f], regions[a]);
                    nb = g_strdup_printf("%s.%s", families[f], regions[b]);
                }
                if (sets_overlap(must(tags, na), must(tags, nb)))
                    fail_msg("%s overlaps %s", na, nb);
                g_free(na);
                g_free(nb);
            }
        }
    }
    model_service_tags_free(tags);
}

typedef struct {
    GPtrArray *names;
    int private_hits;
} Survey;

static void survey_tag(const char *name, const ModelPrefixSet *set, void *ctx)
{
    Survey *s = ctx;
    g_ptr_array_add(s->names, (gpointer)name);
    for (size_t i = 0; i < set->len; i++) {
        ModelPrefix p = set->items[i];
        /* A prefix touches private space when its first or last address is private or it
         * spans a private block; check both ends and the block bases. */
        static const char *const priv[] = {"10.0.0.0", "172.16.0.0", "192.168.0.0", "100.64.0.0"};
        bool hit =
            model_ip_is_private(p.addr) || model_ip_is_private(p.addr | ~model_prefix_mask(p.len));
        for (size_t k = 0; k < G_N_ELEMENTS(priv); k++)
            hit = hit || model_prefix_contains(p, ip(priv[k]));
        if (hit)
            s->private_hits++;
    }
}

static void builtin_tags_are_public_and_platform_addresses_stay_out_of_azurecloud(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    Survey s = {g_ptr_array_new(), 0};
    model_service_tags_foreach(tags, survey_tag, &s);
    assert_int_equal(s.private_hits, 0);
    assert_true(s.names->len >= 30);
    for (guint i = 1; i < s.names->len; i++)
        assert_true(g_ascii_strcasecmp(s.names->pdata[i - 1], s.names->pdata[i]) < 0);
    g_ptr_array_free(s.names, TRUE);

    const ModelPrefixSet *lb = must(tags, "AzureLoadBalancer");
    assert_int_equal(lb->len, 1);
    assert_int_equal(lb->items[0].addr, ip("168.63.129.16"));
    assert_int_equal(lb->items[0].len, 32);
    assert_true(model_prefix_set_contains(must(tags, "AzurePlatformDNS"), ip("168.63.129.16")));
    assert_true(model_prefix_set_contains(must(tags, "AzurePlatformIMDS"), ip("169.254.169.254")));
    const ModelPrefixSet *cloud = must(tags, "AzureCloud");
    assert_false(model_prefix_set_contains(cloud, ip("168.63.129.16")));
    assert_false(model_prefix_set_contains(cloud, ip("169.254.169.254")));
    assert_true(model_prefix_set_contains(cloud, ip("20.190.130.1"))); /* AAD, global */
    model_service_tags_free(tags);
}

static void lookup_ignores_case_and_unknown_tags_are_null(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    const ModelPrefixSet *s = model_service_tags_lookup(tags, "Storage.EastUS");
    assert_non_null(s);
    assert_ptr_equal(model_service_tags_lookup(tags, "storage.EastUS"), s);
    assert_ptr_equal(model_service_tags_lookup(tags, "STORAGE.EASTUS"), s);
    assert_string_equal(model_service_tags_canonical_name(tags, "storage.eastus"),
                        "Storage.EastUS");
    assert_string_equal(model_service_tags_canonical_name(tags, "azurecloud.EASTUS"),
                        "AzureCloud.eastus");
    assert_null(model_service_tags_lookup(tags, "Storage.MarsNorth"));
    assert_null(model_service_tags_lookup(tags, "Storage."));
    assert_null(model_service_tags_lookup(tags, ""));
    assert_null(model_service_tags_canonical_name(tags, "Stor"));
    /* Topological tags are never stored here. */
    assert_null(model_service_tags_lookup(tags, "VirtualNetwork"));
    assert_null(model_service_tags_lookup(tags, "Internet"));
    assert_true(model_service_tag_is_topological("VirtualNetwork"));
    assert_true(model_service_tag_is_topological("internet"));
    assert_true(model_service_tag_is_topological("INTERNET"));
    assert_false(model_service_tag_is_topological("AzureCloud"));
    assert_false(model_service_tag_is_topological(NULL));
    model_service_tags_free(tags);
}

static void
name_of_prefers_regional_then_service_then_azurecloud_region_then_azurecloud(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    /* In Storage.EastUS, Storage, AzureCloud.eastus … and AzureCloud. */
    assert_string_equal(model_service_tags_name_of(tags, ip("20.60.0.4")), "Storage.EastUS");
    assert_string_equal(model_service_tags_name_of(tags, ip("52.239.141.7")), "Storage.WestEurope");
    assert_string_equal(model_service_tags_name_of(tags, ip("40.79.186.170")),
                        "AzureMachineLearning.JapanEast");
    /* A global service tag inside an AzureCloud.<region> supernet. */
    assert_string_equal(model_service_tags_name_of(tags, ip("20.42.4.113")),
                        "AzureFrontDoor.Frontend");
    assert_string_equal(model_service_tags_name_of(tags, ip("20.190.130.1")),
                        "AzureActiveDirectory");
    /* Only the regional AzureCloud supernet. */
    assert_string_equal(model_service_tags_name_of(tags, ip("40.71.200.1")), "AzureCloud.eastus");
    /* Same rank, same length: the alphabetically first name. */
    assert_string_equal(model_service_tags_name_of(tags, ip("168.63.129.16")), "AzureLoadBalancer");
    assert_string_equal(model_service_tags_name_of(tags, ip("169.254.169.254")),
                        "AzurePlatformIMDS");
    /* The published file puts 20.60.1.0/24 in Storage.WestUS, which the excerpt omits. */
    assert_null(model_service_tags_name_of(tags, ip("20.60.1.4")));
    assert_null(model_service_tags_name_of(tags, ip("8.8.8.8")));
    assert_null(model_service_tags_name_of(tags, ip("10.0.0.4")));
    model_service_tags_free(tags);
}

/* Writes text to a fresh temporary file; returns its path (caller frees and unlinks). */
static char *temp_json(const char *text)
{
    char *path = NULL;
    GError *error = NULL;
    int fd = g_file_open_tmp("vnetsim-tags-XXXXXX.json", &path, &error);
    assert_true(fd >= 0);
    close(fd);
    assert_true(g_file_set_contents(path, text, -1, &error));
    return path;
}

static void name_of_ranks_before_length_and_length_before_name(void **state)
{
    (void)state;
    /* Documentation ranges (RFC 5737), so nothing built in interferes. */
    char *path =
        temp_json("{\"values\": ["
                  "{\"name\": \"Wide\", \"properties\": {\"region\": \"\", "
                  "\"addressPrefixes\": [\"198.51.0.0/16\"]}},"
                  "{\"name\": \"Narrow\", \"properties\": {\"region\": \"\", "
                  "\"addressPrefixes\": [\"198.51.100.0/24\"]}},"
                  "{\"name\": \"Svc\", \"properties\": {\"region\": \"\", "
                  "\"addressPrefixes\": [\"203.0.113.128/25\"]}},"
                  "{\"name\": \"Svc.EastUS\", \"properties\": {\"region\": \"eastus\", "
                  "\"addressPrefixes\": [\"203.0.113.0/24\"]}},"
                  "{\"name\": \"AzureCloud.eastus\", \"properties\": {\"region\": \"eastus\", "
                  "\"addressPrefixes\": [\"203.0.113.192/26\", \"40.71.0.0/16\"]}}"
                  "]}");
    ModelServiceTags *tags = model_service_tags_new_builtin();
    assert_true(model_service_tags_load_json(tags, path, NULL));
    /* Same rank: the longer matching prefix. */
    assert_string_equal(model_service_tags_name_of(tags, ip("198.51.100.7")), "Narrow");
    assert_string_equal(model_service_tags_name_of(tags, ip("198.51.7.7")), "Wide");
    /* Rank first: the regional tag wins although the global and cloud ones are longer. */
    assert_string_equal(model_service_tags_name_of(tags, ip("203.0.113.200")), "Svc.EastUS");
    assert_string_equal(model_service_tags_name_of(tags, ip("203.0.113.1")), "Svc.EastUS");
    g_unlink(path);
    g_free(path);
    model_service_tags_free(tags);
}

static void loading_json_replaces_named_tags_adds_new_ones_and_keeps_the_rest(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    ModelPrefixSet kv_before;
    model_prefix_set_init(&kv_before);
    model_prefix_set_add_set(&kv_before, must(tags, "AzureKeyVault.EastUS"));

    char *path = data_path("servicetags-mini.json");
    GError *error = NULL;
    assert_true(model_service_tags_load_json(tags, path, &error));
    assert_null(error);

    /* Replaced: exactly the file's three prefixes. */
    const ModelPrefixSet *st = must(tags, "storage.eastus");
    assert_int_equal(st->len, 3);
    assert_true(model_prefix_set_contains(st, ip("20.38.98.1")));
    assert_false(model_prefix_set_contains(st, ip("20.60.0.4")));
    /* The file did not name Storage, so the top level keeps the built-in union, and
     * name_of (rebuilt at load) now falls back to it. */
    assert_true(model_prefix_set_contains(must(tags, "Storage"), ip("20.60.0.4")));
    assert_string_equal(model_service_tags_name_of(tags, ip("20.60.0.4")), "Storage");
    /* Untouched tag. */
    const ModelPrefixSet *kv = must(tags, "AzureKeyVault.EastUS");
    assert_int_equal(kv->len, kv_before.len);
    for (size_t i = 0; i < kv->len; i++) {
        assert_int_equal(kv->items[i].addr, kv_before.items[i].addr);
        assert_int_equal(kv->items[i].len, kv_before.items[i].len);
    }
    /* Added tag, found by name_of. */
    assert_true(
        model_prefix_set_contains(must(tags, "StorageSyncService.EastUS"), ip("104.41.148.238")));
    assert_string_equal(model_service_tags_name_of(tags, ip("104.41.148.238")),
                        "StorageSyncService.EastUS");
    assert_string_equal(model_service_tags_name_of(tags, ip("20.42.4.250")),
                        "StorageSyncService.EastUS");
    model_prefix_set_clear(&kv_before);
    g_free(path);
    model_service_tags_free(tags);
}

static void loading_json_skips_ipv6_prefixes(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    char *path = data_path("servicetags-mini.json");
    assert_true(model_service_tags_load_json(tags, path, NULL));
    /* Two IPv4 prefixes and one IPv6 in the file. */
    const ModelPrefixSet *aml = must(tags, "AzureMachineLearning.JapanEast");
    assert_int_equal(aml->len, 2);
    /* A tag with only IPv6 prefixes exists, empty. */
    const ModelPrefixSet *df = must(tags, "DataFactory.UKNorth");
    assert_int_equal(df->len, 0);
    const ModelPrefixSet *fp = must(tags, "AzureFrontDoor.FirstParty");
    assert_int_equal(model_prefix_set_size(fp), 256 + 1024 + 256);
    g_free(path);
    model_service_tags_free(tags);
}

static void malformed_json_reports_path_and_line_and_changes_nothing(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    char *path = data_path("servicetags-malformed.json");
    GError *error = NULL;
    assert_false(model_service_tags_load_json(tags, path, &error));
    assert_non_null(error);
    assert_true(g_error_matches(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_SYNTAX));
    char *want = g_strdup_printf("%s:16:", path);
    if (!g_str_has_prefix(error->message, want))
        fail_msg("message \"%s\" does not start with \"%s\"", error->message, want);
    g_free(want);
    g_error_free(error);
    /* Nothing half-loaded. */
    assert_true(model_prefix_set_contains(must(tags, "Storage.EastUS"), ip("20.60.0.4")));
    assert_null(model_service_tags_lookup(tags, "StorageSyncService.EastUS"));
    g_free(path);
    model_service_tags_free(tags);
}

static void wrong_layout_bad_prefix_and_missing_file_are_reported_with_the_path(void **state)
{
    (void)state;
    ModelServiceTags *tags = model_service_tags_new_builtin();
    size_t storage_len = must(tags, "Storage.EastUS")->len;
    struct {
        const char *text;
        const char *fragment;
        int code;
    } cases[] = {
        {"[1, 2]", "expected an object with a \"values\" array", MODEL_SERVICE_TAGS_ERROR_FORMAT},
        {"", "expected an object with a \"values\" array", MODEL_SERVICE_TAGS_ERROR_FORMAT},
        {"{\"values\": [{\"id\": \"x\"}]}", "values[0]: expected an object with a non-empty",
         MODEL_SERVICE_TAGS_ERROR_FORMAT},
        {"{\"values\": [{\"name\": \"Storage.EastUS\", \"properties\": {}}]}",
         "values[0] (Storage.EastUS): missing \"properties.addressPrefixes\"",
         MODEL_SERVICE_TAGS_ERROR_FORMAT},
        {"{\"values\": [{\"name\": \"A\", \"properties\": {\"addressPrefixes\": "
         "[\"20.60.0.0/24\", \"20.60.0.0/33\"]}}]}",
         "values[0] (A): addressPrefixes[1] \"20.60.0.0/33\": prefix length must be between",
         MODEL_SERVICE_TAGS_ERROR_FORMAT},
        {"{\"values\": [{\"name\": \"A\", \"properties\": {\"addressPrefixes\": []}},"
         "{\"name\": \"a\", \"properties\": {\"addressPrefixes\": []}}]}",
         "values[1]: tag \"a\" appears twice", MODEL_SERVICE_TAGS_ERROR_FORMAT},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *path = temp_json(cases[i].text);
        GError *error = NULL;
        assert_false(model_service_tags_load_json(tags, path, &error));
        assert_true(g_error_matches(error, MODEL_SERVICE_TAGS_ERROR, cases[i].code));
        char *prefix = g_strconcat(path, ": ", NULL);
        if (!g_str_has_prefix(error->message, prefix) || !strstr(error->message, cases[i].fragment))
            fail_msg("case %zu: \"%s\"", i, error->message);
        g_free(prefix);
        g_error_free(error);
        g_unlink(path);
        g_free(path);
    }
    GError *error = NULL;
    assert_false(model_service_tags_load_json(tags, "/nonexistent/tags.json", &error));
    assert_true(g_error_matches(error, MODEL_SERVICE_TAGS_ERROR, MODEL_SERVICE_TAGS_ERROR_IO));
    assert_true(g_str_has_prefix(error->message, "/nonexistent/tags.json: "));
    g_error_free(error);
    /* Still the built-in table. */
    assert_int_equal(must(tags, "Storage.EastUS")->len, storage_len);
    model_service_tags_free(tags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regional_tags_lie_inside_top_level_and_their_azurecloud_region),
        cmocka_unit_test(regions_of_one_service_do_not_overlap),
        cmocka_unit_test(builtin_tags_are_public_and_platform_addresses_stay_out_of_azurecloud),
        cmocka_unit_test(lookup_ignores_case_and_unknown_tags_are_null),
        cmocka_unit_test(
            name_of_prefers_regional_then_service_then_azurecloud_region_then_azurecloud),
        cmocka_unit_test(name_of_ranks_before_length_and_length_before_name),
        cmocka_unit_test(loading_json_replaces_named_tags_adds_new_ones_and_keeps_the_rest),
        cmocka_unit_test(loading_json_skips_ipv6_prefixes),
        cmocka_unit_test(malformed_json_reports_path_and_line_and_changes_nothing),
        cmocka_unit_test(wrong_layout_bad_prefix_and_missing_file_are_reported_with_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
