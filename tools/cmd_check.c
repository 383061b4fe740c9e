/*
 * cmd_check.c — `vnetsim check PATH... [--junit FILE] [--jobs N]`
 *
 * Every scenario under the paths is loaded and replayed (seed 1, no captures), and each
 * flow's verdict is compared with its `expect`. Scenarios may replay in parallel (a
 * GThreadPool of --jobs workers; scenarios share nothing), but results are printed in path
 * order: the main thread prints file i as soon as files 0..i are done, so the output is the
 * same byte for byte whatever the number of jobs.
 *
 * Decisions (documented in scenarios/README.md): a file that does not load is reported with
 * its file:line:col message on stderr and the other files are still checked — one typo
 * should not hide the state of every other scenario — but the exit code is then 2, which
 * outranks 1; a flow without `expect` is listed as SKIP and counted in neither total;
 * directories are searched recursively for *.yaml, skipping entries whose names start with
 * '.' or '_' (a place for included fragments), and symlinked directories are not followed.
 */
#include "tools/cli.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "model/scn_load.h"

#define CHECK_SEED 1

typedef enum { CASE_PASS, CASE_FAIL, CASE_SKIP } CaseStatus;

typedef struct {
    char *flow;
    CaseStatus status;
    char *outcome;  /* what happened */
    char *expected; /* what the expect said; NULL for SKIP */
    char *file;
    int line;
} CheckCase;

typedef struct {
    char *path;
    char *scenario; /* its name; NULL when it did not load */
    char *error;    /* why it could not be loaded or replayed; NULL when it was */
    GPtrArray *cases;
    bool done;
} CheckFile;

typedef struct {
    GMutex lock;
    GCond cond;
} CheckSync;

static void case_free(gpointer p)
{
    CheckCase *c = p;
    g_free(c->flow);
    g_free(c->outcome);
    g_free(c->expected);
    g_free(c->file);
    g_free(c);
}

static void file_free(gpointer p)
{
    CheckFile *f = p;
    g_free(f->path);
    g_free(f->scenario);
    g_free(f->error);
    g_ptr_array_free(f->cases, TRUE);
    g_free(f);
}

/* ---- finding the scenarios ---- */

static gint compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_yaml(const char *dir, GPtrArray *out)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (name[0] == '.' || name[0] == '_')
            continue;
        char *path = g_build_filename(dir, name, NULL);
        bool is_dir = g_file_test(path, G_FILE_TEST_IS_DIR);
        if (is_dir && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            find_yaml(path, out);
        if (!is_dir && g_str_has_suffix(name, ".yaml"))
            g_ptr_array_add(out, g_steal_pointer(&path));
        g_free(path);
    }
    if (d)
        g_dir_close(d);
}

/* ---- checking one scenario (runs on a worker thread) ---- */

static void check_file(CheckFile *f)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load(f->path, &error);
    ModelTrace *trace = model_trace_new_verdicts_only(); /* check judges verdicts only */
    if (!scn || scn_replay(scn, CHECK_SEED, NULL, trace, &error) != 0) {
        f->error = g_strdup(error->message);
        g_error_free(error);
        model_trace_free(trace);
        scn_scenario_free(scn);
        return;
    }
    f->scenario = g_strdup(scn_scenario_name(scn));
    for (size_t i = 0; i < scn_scenario_n_flows(scn); i++) {
        const ScnFlow *flow = scn_scenario_flow(scn, i);
        GString *outcome = g_string_new(NULL), *expected = g_string_new(NULL);
        ScnJudgement j =
            scn_judge(flow, model_trace_find_verdict(trace, flow->name), outcome, expected);
        CheckCase *c = g_new0(CheckCase, 1);
        c->flow = g_strdup(flow->name);
        c->status = j == SCN_JUDGE_PASS ? CASE_PASS : j == SCN_JUDGE_FAIL ? CASE_FAIL : CASE_SKIP;
        c->outcome = g_string_free(outcome, FALSE);
        c->expected = g_string_free(expected, FALSE);
        c->file = g_strdup(flow->file);
        c->line = flow->line;
        g_ptr_array_add(f->cases, c);
    }
    model_trace_free(trace);
    scn_scenario_free(scn);
}

static void worker(gpointer data, gpointer user_data)
{
    CheckFile *f = data;
    CheckSync *sync = user_data;
    check_file(f);
    g_mutex_lock(&sync->lock);
    f->done = true;
    g_cond_broadcast(&sync->cond);
    g_mutex_unlock(&sync->lock);
}

/* ---- reporting ---- */

typedef struct {
    unsigned passed, failed, skipped, errors;
} Totals;

static void report_file(const CheckFile *f, FILE *out, FILE *err, Totals *t)
{
    if (f->error) {
        fprintf(err, "%s\n", f->error);
        t->errors++;
        return;
    }
    for (guint i = 0; i < f->cases->len; i++) {
        const CheckCase *c = f->cases->pdata[i];
        switch (c->status) {
        case CASE_PASS:
            fprintf(out, "PASS %s/%s: %s\n", f->scenario, c->flow, c->outcome);
            t->passed++;
            break;
        case CASE_FAIL:
            fprintf(out, "FAIL %s/%s: expected %s, got %s\n", f->scenario, c->flow, c->expected,
                    c->outcome);
            t->failed++;
            break;
        case CASE_SKIP:
            fprintf(out, "SKIP %s/%s: no expect (got %s)\n", f->scenario, c->flow, c->outcome);
            t->skipped++;
            break;
        }
    }
    fflush(out);
}

/* Text safe for an XML 1.0 attribute or element: valid UTF-8, no control characters but
 * tab and newline, markup escaped. */
static char *xml_text(const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    for (char *p = valid; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n')
            *p = '?';
    return g_markup_escape_text(valid, -1);
}

static void xml_attr(GString *x, const char *name, const char *value)
{
    g_autofree char *v = xml_text(value);
    g_string_append_printf(x, " %s=\"%s\"", name, v);
}

static char *junit_xml(GPtrArray *files, const Totals *t)
{
    GString *x = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append_printf(x,
                           "<testsuites name=\"vnetsim check\" tests=\"%u\" failures=\"%u\" "
                           "errors=\"%u\" skipped=\"%u\">\n",
                           t->passed + t->failed + t->skipped + t->errors, t->failed, t->errors,
                           t->skipped);
    for (guint i = 0; i < files->len; i++) {
        const CheckFile *f = files->pdata[i];
        const char *suite = f->scenario ? f->scenario : f->path;
        unsigned failures = 0, skipped = 0;
        for (guint k = 0; k < f->cases->len; k++) {
            const CheckCase *c = f->cases->pdata[k];
            failures += c->status == CASE_FAIL;
            skipped += c->status == CASE_SKIP;
        }
        g_string_append(x, "  <testsuite");
        xml_attr(x, "name", suite);
        xml_attr(x, "file", f->path);
        g_string_append_printf(x, " tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\">\n",
                               f->error ? 1 : f->cases->len, failures, f->error ? 1 : 0, skipped);
        if (f->error) {
            g_string_append(x, "    <testcase name=\"load\"");
            xml_attr(x, "classname", suite);
            xml_attr(x, "file", f->path);
            g_string_append(x, ">\n      <error type=\"bad-input\"");
            xml_attr(x, "message", f->error);
            g_string_append(x, "/>\n    </testcase>\n");
        }
        for (guint k = 0; k < f->cases->len; k++) {
            const CheckCase *c = f->cases->pdata[k];
            g_string_append(x, "    <testcase");
            xml_attr(x, "name", c->flow);
            xml_attr(x, "classname", suite);
            xml_attr(x, "file", c->file);
            g_string_append_printf(x, " line=\"%d\"", c->line);
            if (c->status == CASE_PASS) {
                g_string_append(x, "/>\n");
                continue;
            }
            g_string_append(x, ">\n");
            if (c->status == CASE_FAIL) {
                g_autofree char *msg =
                    g_strdup_printf("expected %s, got %s", c->expected, c->outcome);
                g_autofree char *body = xml_text(msg);
                g_string_append(x, "      <failure type=\"expectation\"");
                xml_attr(x, "message", msg);
                g_string_append_printf(x, ">%s</failure>\n", body);
            } else {
                g_autofree char *msg = g_strdup_printf("no expect (got %s)", c->outcome);
                g_string_append(x, "      <skipped");
                xml_attr(x, "message", msg);
                g_string_append(x, "/>\n");
            }
            g_string_append(x, "    </testcase>\n");
        }
        g_string_append(x, "  </testsuite>\n");
    }
    g_string_append(x, "</testsuites>\n");
    return g_string_free(x, FALSE);
}

int cli_check(const CliCheckOptions *opt, FILE *out, FILE *err)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(file_free);
    bool bad_path = false;
    for (size_t i = 0; i < opt->n_paths; i++) {
        const char *p = opt->paths[i];
        GPtrArray *found = g_ptr_array_new();
        if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
            find_yaml(p, found);
            g_ptr_array_sort(found, compare_paths);
        } else if (g_file_test(p, G_FILE_TEST_EXISTS)) {
            g_ptr_array_add(found, g_strdup(p));
        } else {
            fprintf(err, "%s: no such file or directory\n", p);
            bad_path = true;
        }
        for (guint k = 0; k < found->len; k++) {
            CheckFile *f = g_new0(CheckFile, 1);
            f->path = found->pdata[k];
            f->cases = g_ptr_array_new_with_free_func(case_free);
            g_ptr_array_add(files, f);
        }
        g_ptr_array_free(found, TRUE);
    }
    if (files->len == 0) {
        if (!bad_path)
            fprintf(err, "vnetsim check: no scenario (*.yaml) under the given paths\n");
        g_ptr_array_free(files, TRUE);
        return CLI_EXIT_USAGE;
    }

    Totals t = {0, 0, 0, 0};
    CheckSync sync;
    g_mutex_init(&sync.lock);
    g_cond_init(&sync.cond);
    GThreadPool *pool = NULL;
    if (opt->jobs > 1) {
        pool = g_thread_pool_new(worker, &sync, (gint)opt->jobs, TRUE, NULL);
        for (guint i = 0; i < files->len; i++)
            g_thread_pool_push(pool, files->pdata[i], NULL);
    }
    for (guint i = 0; i < files->len; i++) {
        CheckFile *f = files->pdata[i];
        if (pool) {
            g_mutex_lock(&sync.lock);
            while (!f->done)
                g_cond_wait(&sync.cond, &sync.lock);
            g_mutex_unlock(&sync.lock);
        } else {
            check_file(f);
        }
        report_file(f, out, err, &t);
    }
    if (pool)
        g_thread_pool_free(pool, FALSE, TRUE);
    g_mutex_clear(&sync.lock);
    g_cond_clear(&sync.cond);
    fprintf(out, "%u passed, %u failed\n", t.passed, t.failed);
    fflush(out);

    int rc = t.errors || bad_path ? CLI_EXIT_USAGE : t.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    if (opt->junit) {
        g_autofree char *xml = junit_xml(files, &t);
        GError *error = NULL;
        /* g_file_set_contents writes a temporary file and renames it over the target. */
        if (!g_file_set_contents(opt->junit, xml, -1, &error)) {
            fprintf(err, "%s\n", error->message);
            g_error_free(error);
            rc = CLI_EXIT_USAGE;
        }
    }
    g_ptr_array_free(files, TRUE);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    char *junit = NULL;
    gint jobs = 1;
    char *service_tags = NULL;
    GOptionEntry entries[] = {
        {"junit", 0, 0, G_OPTION_ARG_FILENAME, &junit, "write JUnit XML to FILE (atomically)",
         "FILE"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
         "replay N scenarios in parallel (default 1; 0: one per processor)", "N"},
        {"service-tags", 0, 0, G_OPTION_ARG_FILENAME, &service_tags,
         "start from Microsoft's published service tags JSON (ServiceTags_Public_*.json)", "FILE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx =
        g_option_context_new("PATH... - replay scenarios and compare each flow with its expect");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Checks every *.yaml under each PATH (directories recursively, in sorted order,\n"
             "skipping names that start with '.' or '_'). Prints PASS, FAIL or SKIP (no expect)\n"
             "per flow, then \"N passed, M failed\". Output order does not depend on --jobs.\n"
             "\n"
             "Exit codes: 0 every expectation held; 1 an expectation failed; 2 bad input or\n"
             "usage (a scenario that does not load is reported as file:line:col: message on\n"
             "stderr, and the other scenarios are still checked).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    scn_set_service_tags_file(service_tags);
    g_free(service_tags);
    int rc = CLI_EXIT_USAGE;
    if (!ok) {
        fprintf(stderr, "vnetsim check: %s\n", error->message);
    } else if (argc < 2) {
        fprintf(stderr, "vnetsim check: give at least one PATH (see vnetsim check --help)\n");
    } else if (jobs < 0) {
        fprintf(stderr, "vnetsim check: --jobs wants a number >= 0, not %d\n", jobs);
    } else {
        CliCheckOptions opt = {
            .paths = (const char *const *)argv + 1,
            .n_paths = (size_t)argc - 1,
            .junit = junit,
            .jobs = jobs == 0 ? g_get_num_processors() : (unsigned)jobs,
        };
        rc = cli_check(&opt, stdout, stderr);
    }
    g_clear_error(&error);
    g_free(junit);
    return rc;
}
