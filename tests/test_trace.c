/* The trace's outside: cause names as contract.md §3 lists them, JSONL lines as §2 shows
 * them, atomic writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "model/cause.h"
#include "model/trace.h"

/* Every backquoted NAME in the causes table of contract.md must be a cause we know, and
 * every cause we know must be in the contract (no silent additions). */
static void cause_names_match_the_contract(void **state)
{
    (void)state;
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    char *path = g_build_filename(src ? src : ".", "..", "shared", "docs", "contract.md", NULL);
    g_autofree char *text = NULL;
    gboolean found = g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    if (!found)
        skip(); /* contract.md lives beside the repo; skip() longjmps: nothing owned here */
    const char *table = strstr(text, "## 3. Causes");
    assert_non_null(table);
    const char *end = strstr(table, "## 4.");
    g_autoptr(GRegex) re = g_regex_new("`([A-Z][A-Z_]+)`", 0, 0, NULL);
    g_autofree char *section = g_strndup(table, (gsize)(end - table));
    GMatchInfo *m = NULL;
    int seen[MODEL_CAUSE_COUNT] = {0};
    g_regex_match(re, section, 0, &m);
    int n = 0;
    while (g_match_info_matches(m)) {
        g_autofree char *name = g_match_info_fetch(m, 1);
        ModelCause c;
        if (!model_cause_from_name(name, &c))
            fail_msg("contract cause %s missing from MODEL_CAUSES", name);
        seen[c]++;
        n++;
        g_match_info_next(m, NULL);
    }
    g_match_info_free(m);
    assert_true(n >= 28);
    for (int c = MODEL_CAUSE_NONE + 1; c < MODEL_CAUSE_COUNT; c++)
        if (!seen[c])
            fail_msg("cause %s is not in contract.md", model_cause_name((ModelCause)c));
}

static void root_only_causes_are_the_dns_markers(void **state)
{
    (void)state;
    assert_true(model_cause_is_root_only(MODEL_CAUSE_DNS_PUBLIC_ANSWER));
    assert_true(model_cause_is_root_only(MODEL_CAUSE_DNS_STALE_HOSTS_ENTRY));
    assert_false(model_cause_is_root_only(MODEL_CAUSE_NSG_DENIED_IN));
    assert_string_equal(model_stage_name(MODEL_STAGE_SERVICE_FIREWALL), "service-firewall");
    ModelVerdict v;
    assert_true(model_verdict_from_name("aborted", &v));
    assert_int_equal(v, MODEL_VERDICT_ABORTED);
    assert_false(model_verdict_from_name("lost", &v));
}

static void trace_lines_have_the_contract_shape(void **state)
{
    (void)state;
    ModelTrace *t = model_trace_new();
    model_trace_step(t, &(ModelStepRecord){
                            .t_ns = 1200000,
                            .flow = "studio/storage-blob",
                            .frame = 42,
                            .node = "laptop",
                            .stage = MODEL_STAGE_DNS,
                            .object = "corp-dns",
                            .action = "answer",
                            .detail = "mlwsstore.blob.core.windows.net -> 20.60.1.4 "
                                      "(public: no conditional forwarder for "
                                      "blob.core.windows.net)",
                        });
    model_trace_verdict(t, &(ModelVerdictRecord){
                               .flow = "studio/storage-blob",
                               .verdict = MODEL_VERDICT_DROPPED,
                               .cause = MODEL_CAUSE_PUBLIC_ACCESS_DISABLED,
                               .at = "mlwsstore",
                               .root_cause = MODEL_CAUSE_DNS_PUBLIC_ANSWER,
                               .root_at = "corp-dns",
                               .hint = "add a conditional forwarder",
                               .t_ns = 1350000,
                           });
    size_t len;
    const char *text = model_trace_text(t, &len);
    const char *expected =
        "{\"type\":\"step\",\"t_ns\":1200000,\"flow\":\"studio/storage-blob\",\"frame\":42,"
        "\"node\":\"laptop\",\"stage\":\"dns\",\"object\":\"corp-dns\",\"action\":\"answer\","
        "\"detail\":\"mlwsstore.blob.core.windows.net -> 20.60.1.4 (public: no conditional "
        "forwarder for blob.core.windows.net)\"}\n"
        "{\"type\":\"verdict\",\"flow\":\"studio/storage-blob\",\"verdict\":\"dropped\","
        "\"cause\":\"PUBLIC_ACCESS_DISABLED\",\"at\":\"mlwsstore\","
        "\"root_cause\":\"DNS_PUBLIC_ANSWER at corp-dns\",\"hint\":\"add a conditional "
        "forwarder\",\"t_ns\":1350000}\n";
    assert_string_equal(text, expected);
    const ModelVerdictRecord *v = model_trace_find_verdict(t, "studio/storage-blob");
    assert_non_null(v);
    assert_int_equal(v->cause, MODEL_CAUSE_PUBLIC_ACCESS_DISABLED);
    assert_null(model_trace_find_verdict(t, "nope"));
    model_trace_free(t);
}

static void verdicts_only_trace_keeps_verdicts_and_counts_steps(void **state)
{
    (void)state;
    ModelTrace *t = model_trace_new_verdicts_only();
    model_trace_step(t, &(ModelStepRecord){.flow = "f", .node = "n"});
    model_trace_step(t, &(ModelStepRecord){.flow = "f", .node = "n"});
    model_trace_verdict(t, &(ModelVerdictRecord){.flow = "f",
                                                 .verdict = MODEL_VERDICT_DROPPED,
                                                 .cause = MODEL_CAUSE_NO_ROUTE});
    size_t n, len;
    model_trace_steps(t, &n);
    assert_int_equal(n, 0);
    assert_int_equal(model_trace_step_count(t), 2);
    assert_int_equal(model_trace_find_verdict(t, "f")->cause, MODEL_CAUSE_NO_ROUTE);
    model_trace_text(t, &len);
    assert_int_equal(len, 0);
    model_trace_free(t);
}

static void json_strings_are_escaped(void **state)
{
    (void)state;
    GString *s = g_string_new(NULL);
    model_json_append_string(s, "a\"b\\c\nd\x01");
    assert_string_equal(s->str, "\"a\\\"b\\\\c\\nd\\u0001\"");
    g_string_free(s, TRUE);
}

static void trace_write_replaces_the_file_atomically(void **state)
{
    (void)state;
    g_autofree char *dir = g_dir_make_tmp("vnetsim-trace-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "trace.jsonl", NULL);
    ModelTrace *t = model_trace_new();
    model_trace_step(t, &(ModelStepRecord){.flow = "f", .node = "n"});
    GError *error = NULL;
    assert_true(model_trace_write(t, path, &error));
    g_autofree char *back = NULL;
    assert_true(g_file_get_contents(path, &back, NULL, NULL));
    assert_string_equal(back, model_trace_text(t, NULL));
    /* Only the final file is left: no temporary beside it. */
    GDir *d = g_dir_open(dir, 0, NULL);
    int files = 0;
    while (g_dir_read_name(d))
        files++;
    g_dir_close(d);
    assert_int_equal(files, 1);
    g_autofree char *bad = g_build_filename(dir, "missing", "trace.jsonl", NULL);
    assert_false(model_trace_write(t, bad, &error));
    assert_non_null(error);
    g_clear_error(&error);
    g_unlink(path);
    g_rmdir(dir);
    model_trace_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cause_names_match_the_contract),
        cmocka_unit_test(root_only_causes_are_the_dns_markers),
        cmocka_unit_test(trace_lines_have_the_contract_shape),
        cmocka_unit_test(verdicts_only_trace_keeps_verdicts_and_counts_steps),
        cmocka_unit_test(json_strings_are_escaped),
        cmocka_unit_test(trace_write_replaces_the_file_atomically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
