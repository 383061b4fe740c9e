/*
 * `vnetsim run` and `vnetsim check`, driven in-process through cli_run()/cli_check() (and,
 * for the command line itself, through the built binary): outputs are written atomically
 * and survive a failed or killed run, the same seed gives byte-identical output, check
 * counts, exits and orders its report as documented, and its JUnit XML parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tools/cli.h"
#include "tshark_util.h"

static char *tmp_root;

static char *source_path(const char *rel)
{
    const char *src = g_getenv("VNETSIM_SOURCE_DIR");
    return g_build_filename(src ? src : "..", rel, NULL);
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            remove_tree(path);
        else
            g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    tmp_root = g_dir_make_tmp("vnetsim-scn-cli-XXXXXX", NULL);
    return tmp_root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    remove_tree(tmp_root);
    g_free(tmp_root);
    return 0;
}

/* A fresh directory under the test root. */
static char *fresh_dir(const char *name)
{
    char *dir = g_build_filename(tmp_root, name, NULL);
    remove_tree(dir);
    g_mkdir_with_parents(dir, 0755);
    return dir;
}

typedef struct {
    int rc;
    char *out, *err;
} Captured;

static void captured_clear(Captured *c)
{
    g_free(c->out);
    g_free(c->err);
}

static Captured run(const char *scenario, const char *out_dir, uint64_t seed,
                    const char *const *flows, size_t n_flows)
{
    Captured c = {0, NULL, NULL};
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    CliRunOptions opt = {scenario, out_dir, seed, flows, n_flows};
    c.rc = cli_run(&opt, out, err);
    fclose(out);
    fclose(err);
    return c;
}

static Captured check(const char *const *paths, size_t n, const char *junit, unsigned jobs)
{
    Captured c = {0, NULL, NULL};
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    CliCheckOptions opt = {paths, n, junit, jobs};
    c.rc = cli_check(&opt, out, err);
    fclose(out);
    fclose(err);
    return c;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    if (!g_file_get_contents(path, &data, NULL, NULL))
        fail_msg("cannot read %s", path);
    return data;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir, sorted, as one space-separated string. */
static char *sorted_listing(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        g_ptr_array_add(names, g_strdup(name));
    if (d)
        g_dir_close(d);
    g_ptr_array_sort(names, cmp_str);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", (const char *)names->pdata[i]);
    g_ptr_array_free(names, TRUE);
    return g_string_free(s, FALSE);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_mkdir_with_parents(parent, 0755);
    if (!g_file_set_contents(path, text, -1, NULL))
        fail_msg("cannot write %s", path);
}

/* ---- run ---- */

static void run_writes_trace_and_one_capture_per_nic(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/forced-tunneling.yaml");
    g_autofree char *parent = fresh_dir("run-writes");
    g_autofree char *dir = g_build_filename(parent, "ft", NULL);
    Captured c = run(scenario, dir, 1, NULL, 0);
    if (c.rc != 0)
        fail_msg("run: %s", c.err);
    /* One line per flow, in file order, in the demo's format. */
    g_auto(GStrv) lines = g_strsplit(c.out, "\n", -1);
    assert_int_equal(g_strv_length(lines), 6);
    assert_true(g_str_has_prefix(lines[0], "node-pypi              delivered -      "));
    assert_true(g_str_has_suffix(lines[0], " pypi.org"));
    assert_true(g_str_has_prefix(lines[4], "laptop-ssh-node        dropped   ASYMMETRIC_RETURN"));
    assert_true(g_str_has_suffix(lines[4], " nva"));
    /* The output directory and nothing else next to it. */
    g_autofree char *siblings = sorted_listing(parent);
    assert_string_equal(siblings, "ft");
    g_autofree char *top = sorted_listing(dir);
    assert_string_equal(top, "pcap trace.jsonl");
    g_autofree char *pcap_dir = g_build_filename(dir, "pcap", NULL);
    g_autofree char *pcaps = sorted_listing(pcap_dir);
    /* azure-dns-inet0: Azure DNS (168.63.129.16) is in every scenario. */
    assert_string_equal(pcaps, "azure-dns-inet0.pcap batch-inet0.pcap cpu-node-nic0.pcap "
                               "laptop-inet0.pcap "
                               "mlwsstore-inet0.pcap nva-nic0.pcap pe-blob.pcap "
                               "pypi.org-inet0.pcap");
    /* Each capture as Wireshark reads it: well-formed frames, every checksum good. */
    gchar **names = g_strsplit(pcaps, " ", -1);
    for (gchar **n = names; tshark_available() && *n; n++) {
        g_autofree char *path = g_build_filename(pcap_dir, *n, NULL);
        if (tshark_count(path, TSHARK_BAD_FRAMES) != 0)
            fail_msg("%s: tshark flags frames", *n);
    }
    g_strfreev(names);
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *trace = slurp(trace_path);
    static const char *const flows[] = {"node-pypi", "node-blob-pe",
                                        "node-storage-service-endpoint", "node-batch",
                                        "laptop-ssh-node"};
    for (size_t i = 0; i < G_N_ELEMENTS(flows); i++) {
        g_autofree char *v = g_strdup_printf("{\"type\":\"verdict\",\"flow\":\"%s\"", flows[i]);
        assert_non_null(strstr(trace, v));
    }
    captured_clear(&c);
}

static bool same_tree(const char *a, const char *b)
{
    g_autofree char *la = sorted_listing(a), *lb = sorted_listing(b);
    if (strcmp(la, lb) != 0)
        return false;
    g_auto(GStrv) names = g_strsplit(la, " ", -1);
    for (char **n = names; *n && **n; n++) {
        g_autofree char *pa = g_build_filename(a, *n, NULL), *pb = g_build_filename(b, *n, NULL);
        if (g_file_test(pa, G_FILE_TEST_IS_DIR)) {
            if (!same_tree(pa, pb))
                return false;
            continue;
        }
        gchar *da, *db;
        gsize na, nb;
        g_file_get_contents(pa, &da, &na, NULL);
        g_file_get_contents(pb, &db, &nb, NULL);
        bool same = na == nb && memcmp(da, db, na) == 0;
        g_free(da);
        g_free(db);
        if (!same)
            return false;
    }
    return true;
}

static void run_same_seed_gives_byte_identical_output(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *parent = fresh_dir("run-seed");
    g_autofree char *a = g_build_filename(parent, "a", NULL);
    g_autofree char *b = g_build_filename(parent, "b", NULL);
    g_autofree char *c7 = g_build_filename(parent, "c", NULL);
    Captured ra = run(scenario, a, 7, NULL, 0), rb = run(scenario, b, 7, NULL, 0),
             rc = run(scenario, c7, 8, NULL, 0);
    assert_int_equal(ra.rc, 0);
    assert_int_equal(rb.rc, 0);
    assert_int_equal(rc.rc, 0);
    assert_true(same_tree(a, b));
    assert_string_equal(ra.out, rb.out);
    /* Another seed: other sequence numbers and jitter, same verdicts. */
    assert_false(same_tree(a, c7));
    assert_string_equal(ra.out, rc.out);
    captured_clear(&ra);
    captured_clear(&rb);
    captured_clear(&rc);
}

static void run_replaces_an_older_output_whole(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *parent = fresh_dir("run-replace");
    g_autofree char *dir = g_build_filename(parent, "out", NULL);
    const char *one[] = {"web1-db-ssh"};
    Captured first = run(scenario, dir, 1, one, 1);
    assert_int_equal(first.rc, 0);
    assert_non_null(strstr(first.out, "web1-db-ssh"));
    assert_null(strstr(first.out, "web1-db-sql"));
    g_autofree char *trace_path = g_build_filename(dir, "trace.jsonl", NULL);
    g_autofree char *before = slurp(trace_path);
    assert_null(strstr(before, "\"flow\":\"web1-db-sql\""));
    Captured second = run(scenario, dir, 1, NULL, 0);
    assert_int_equal(second.rc, 0);
    g_autofree char *after = slurp(trace_path);
    assert_non_null(strstr(after, "\"flow\":\"web1-db-sql\""));
    g_autofree char *siblings = sorted_listing(parent);
    assert_string_equal(siblings, "out"); /* the old output and the temporary are gone */
    captured_clear(&first);
    captured_clear(&second);
}

static int fail_before_commit(const char *tmp_dir)
{
    (void)tmp_dir;
    return 1;
}

static void run_failure_leaves_the_old_output_untouched(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *parent = fresh_dir("run-fail");
    g_autofree char *dir = g_build_filename(parent, "out", NULL);
    g_autofree char *fresh = g_build_filename(parent, "never", NULL);
    Captured ok = run(scenario, dir, 1, NULL, 0);
    assert_int_equal(ok.rc, 0);
    g_autofree char *copy = g_build_filename(parent, "copy", NULL);
    Captured ok2 = run(scenario, copy, 1, NULL, 0);
    assert_int_equal(ok2.rc, 0);

    cli_run_before_commit = fail_before_commit;
    Captured bad = run(scenario, dir, 99, NULL, 0);
    Captured bad_fresh = run(scenario, fresh, 99, NULL, 0);
    cli_run_before_commit = NULL;
    assert_int_equal(bad.rc, CLI_EXIT_USAGE);
    assert_int_equal(bad_fresh.rc, CLI_EXIT_USAGE);
    assert_string_equal(bad.out, "");  /* nothing reported as done */
    assert_true(same_tree(dir, copy)); /* byte for byte the first run's */
    assert_false(g_file_test(fresh, G_FILE_TEST_EXISTS));
    g_autofree char *siblings = sorted_listing(parent);
    assert_string_equal(siblings, "copy out"); /* no temporary left behind */
    captured_clear(&ok);
    captured_clear(&ok2);
    captured_clear(&bad);
    captured_clear(&bad_fresh);
}

static int die_before_commit(const char *tmp_dir)
{
    (void)tmp_dir;
    raise(SIGKILL);
    return 0;
}

/* `test_scn_cli --die-before-commit SCENARIO DIR`: the victim of the kill test. A fresh
 * process, not a fork: captures are written by a background thread, and a forked child of
 * a process with threads may inherit a lock that nobody will release. */
static int die_mode(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    cli_run_before_commit = die_before_commit;
    CliRunOptions opt = {argv[2], argv[3], 5, NULL, 0};
    return cli_run(&opt, stdout, stderr); /* not reached: the hook kills the process */
}

static char *self_path;

/* A run killed at the worst moment (everything written, nothing renamed) leaves the old
 * output as it was and no partial output directory: only a hidden temporary sibling. */
static void run_killed_midway_leaves_no_partial_output(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/peering.yaml");
    g_autofree char *parent = fresh_dir("run-killed");
    g_autofree char *dir = g_build_filename(parent, "old", NULL);
    g_autofree char *copy = g_build_filename(parent, "copy", NULL);
    g_autofree char *fresh = g_build_filename(parent, "new", NULL);
    Captured a = run(scenario, dir, 1, NULL, 0), b = run(scenario, copy, 1, NULL, 0);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    const char *targets[] = {dir, fresh};
    for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
        const char *argv[] = {self_path, "--die-before-commit", scenario, targets[i], NULL};
        int status = 0;
        GError *error = NULL;
        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                          NULL, &status, &error))
            fail_msg("spawn: %s", error->message);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    assert_true(same_tree(dir, copy));
    assert_false(g_file_test(fresh, G_FILE_TEST_EXISTS));
    /* What a kill leaves: hidden temporaries, named after their targets. */
    g_autofree char *siblings = sorted_listing(parent);
    g_auto(GStrv) names = g_strsplit(siblings, " ", -1);
    assert_int_equal(g_strv_length(names), 4);
    assert_true(g_str_has_prefix(names[0], ".new.tmp-"));
    assert_true(g_str_has_prefix(names[1], ".old.tmp-"));
    assert_string_equal(names[2], "copy");
    assert_string_equal(names[3], "old");
    captured_clear(&a);
    captured_clear(&b);
}

static void run_never_replaces_a_foreign_directory(void **state)
{
    (void)state;
    g_autofree char *scenario = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *dir = fresh_dir("run-foreign");
    write_file(dir, "notes.txt", "precious");
    Captured c = run(scenario, dir, 1, NULL, 0);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_non_null(strstr(c.err, "is not a vnetsim output directory"));
    assert_non_null(strstr(c.err, "notes.txt"));
    g_autofree char *left = sorted_listing(dir);
    assert_string_equal(left, "notes.txt");
    captured_clear(&c);
}

static void run_bad_input_writes_nothing(void **state)
{
    (void)state;
    g_autofree char *bad = source_path("tests/data/scn/unknown-key.yaml");
    g_autofree char *good = source_path("scenarios/basics/nsg-order.yaml");
    g_autofree char *parent = fresh_dir("run-bad");
    g_autofree char *dir = g_build_filename(parent, "out", NULL);
    Captured c = run(bad, dir, 1, NULL, 0);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_non_null(strstr(c.err, "unknown-key.yaml:7:9: unknown key 'adressPrefix' in subnet "
                                  "(did you mean 'addressPrefix'?)\n"));
    const char *flows[] = {"web1-db-sql", "web1-db-shh"};
    Captured f = run(good, dir, 1, flows, 2);
    assert_int_equal(f.rc, CLI_EXIT_USAGE);
    assert_string_equal(f.err, "no flow named 'web1-db-shh' in scenario 'nsg-order' (did you "
                               "mean 'web1-db-ssh'?)\n");
    g_autofree char *left = sorted_listing(parent);
    assert_string_equal(left, "");
    captured_clear(&c);
    captured_clear(&f);
}

/* ---- check ---- */

static const char pass_yaml[] =
    "scenario: passing\n"
    "hosts:\n"
    "  - {name: client, kind: internet, publicIp: 198.51.100.7}\n"
    "  - {name: web, kind: internet, publicIp: 198.51.100.8, listen: [Tcp/443]}\n"
    "flows:\n"
    "  - {name: https, from: client, to: {host: web, port: 443}, expect: delivered}\n"
    "  - {name: ssh, from: client, to: {host: web, port: 22},\n"
    "     expect: {verdict: dropped, cause: NO_LISTENER, at: web}}\n"
    "  - {name: explore, from: client, to: {host: web, port: 80}}\n";

static const char fail_yaml[] =
    "scenario: failing\n"
    "hosts:\n"
    "  - {name: client, kind: internet, publicIp: 198.51.100.7}\n"
    "  - {name: web, kind: internet, publicIp: 198.51.100.8, listen: [Tcp/443]}\n"
    "flows:\n"
    "  - {name: ssh, from: client, to: {host: web, port: 22}, expect: delivered}\n"
    "  - {name: https, from: client, to: {host: web, port: 443}, expect: {verdict: delivered, "
    "at: web}}\n";

static void check_counts_passes_and_failures(void **state)
{
    (void)state;
    g_autofree char *dir = fresh_dir("check-counts");
    write_file(dir, "a/passing.yaml", pass_yaml);
    const char *paths[] = {dir};
    Captured ok = check(paths, 1, NULL, 1);
    assert_int_equal(ok.rc, CLI_EXIT_OK);
    assert_string_equal(ok.out, "PASS passing/https: delivered at web\n"
                                "PASS passing/ssh: dropped NO_LISTENER at web\n"
                                "SKIP passing/explore: no expect (got dropped NO_LISTENER at web)\n"
                                "2 passed, 0 failed\n");
    write_file(dir, "b/failing.yaml", fail_yaml);
    write_file(dir, "notes.txt", "not a scenario");
    Captured bad = check(paths, 1, NULL, 1);
    assert_int_equal(bad.rc, CLI_EXIT_FAILED);
    assert_non_null(strstr(bad.out, "FAIL failing/ssh: expected delivered, got dropped "
                                    "NO_LISTENER at web\n"
                                    "PASS failing/https: delivered at web\n"
                                    "3 passed, 1 failed\n"));
    assert_string_equal(bad.err, "");
    captured_clear(&ok);
    captured_clear(&bad);
}

static void check_reports_bad_files_and_checks_the_rest(void **state)
{
    (void)state;
    g_autofree char *dir = fresh_dir("check-bad");
    write_file(dir, "1-broken.yaml", "scenario: broken\nvnets: [{name: v, adressSpace: []}]\n");
    write_file(dir, "2-passing.yaml", pass_yaml);
    write_file(dir, "_fragments/rules.yaml", "- not: a scenario\n"); /* skipped: '_' */
    write_file(dir, ".hidden.yaml", "broken: [\n");                  /* skipped: '.' */
    const char *paths[] = {dir};
    Captured c = check(paths, 1, NULL, 1);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    assert_non_null(strstr(c.err, "1-broken.yaml:2:19: unknown key 'adressSpace' in virtual "
                                  "network (did you mean 'addressSpace'?)\n"));
    assert_non_null(strstr(c.out, "PASS passing/https"));
    assert_true(g_str_has_suffix(c.out, "\n2 passed, 0 failed\n"));
    const char *missing[] = {"/no/such/dir"};
    Captured m = check(missing, 1, NULL, 1);
    assert_int_equal(m.rc, CLI_EXIT_USAGE);
    g_autofree char *empty = fresh_dir("check-empty");
    const char *none[] = {empty};
    Captured e = check(none, 1, NULL, 1);
    assert_int_equal(e.rc, CLI_EXIT_USAGE);
    assert_non_null(strstr(e.err, "no scenario"));
    captured_clear(&c);
    captured_clear(&m);
    captured_clear(&e);
}

static void check_output_does_not_depend_on_jobs(void **state)
{
    (void)state;
    g_autofree char *scenarios = source_path("scenarios");
    g_autofree char *dir = fresh_dir("check-jobs");
    write_file(dir, "passing.yaml", pass_yaml);
    write_file(dir, "failing.yaml", fail_yaml);
    const char *paths[] = {scenarios, dir};
    Captured one = check(paths, 2, NULL, 1), four = check(paths, 2, NULL, 4);
    assert_int_equal(one.rc, CLI_EXIT_FAILED);
    assert_int_equal(four.rc, CLI_EXIT_FAILED);
    assert_string_equal(one.out, four.out);
    captured_clear(&one);
    captured_clear(&four);
}

typedef struct {
    int suites, cases, failures, errors, skipped;
    int declared_tests, declared_failures;
} JunitCount;

static void on_start(GMarkupParseContext *ctx, const char *element, const char **names,
                     const char **values, gpointer data, GError **error)
{
    (void)ctx;
    (void)error;
    JunitCount *n = data;
    if (strcmp(element, "testsuites") == 0) {
        for (int i = 0; names[i]; i++) {
            if (strcmp(names[i], "tests") == 0)
                n->declared_tests = (int)g_ascii_strtoll(values[i], NULL, 10);
            if (strcmp(names[i], "failures") == 0)
                n->declared_failures = (int)g_ascii_strtoll(values[i], NULL, 10);
        }
    }
    n->suites += strcmp(element, "testsuite") == 0;
    n->cases += strcmp(element, "testcase") == 0;
    n->failures += strcmp(element, "failure") == 0;
    n->errors += strcmp(element, "error") == 0;
    n->skipped += strcmp(element, "skipped") == 0;
}

static void check_writes_well_formed_junit(void **state)
{
    (void)state;
    g_autofree char *dir = fresh_dir("check-junit");
    write_file(dir, "in/a.yaml", pass_yaml);
    write_file(dir, "in/b.yaml", fail_yaml);
    write_file(dir, "in/c.yaml", "scenario: c\nvnets: [{name: \"<&>\"}]\n");
    g_autofree char *in = g_build_filename(dir, "in", NULL);
    g_autofree char *xml_path = g_build_filename(dir, "report.xml", NULL);
    const char *paths[] = {in};
    Captured c = check(paths, 1, xml_path, 2);
    assert_int_equal(c.rc, CLI_EXIT_USAGE);
    g_autofree char *xml = slurp(xml_path);
    JunitCount n = {0};
    GMarkupParser parser = {on_start, NULL, NULL, NULL, NULL};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &n, NULL);
    GError *error = NULL;
    if (!g_markup_parse_context_parse(ctx, xml, -1, &error) ||
        !g_markup_parse_context_end_parse(ctx, &error))
        fail_msg("JUnit XML does not parse: %s\n%s", error->message, xml);
    g_markup_parse_context_free(ctx);
    assert_int_equal(n.suites, 3);
    assert_int_equal(n.cases, 3 + 2 + 1);
    assert_int_equal(n.failures, 1);
    assert_int_equal(n.errors, 1);
    assert_int_equal(n.skipped, 1);
    assert_int_equal(n.declared_tests, 6);
    assert_int_equal(n.declared_failures, 1);
    assert_non_null(strstr(xml, "message=\"expected delivered, got dropped NO_LISTENER at web\""));
    assert_non_null(strstr(xml, "&lt;&amp;&gt;"));
    g_autofree char *left = sorted_listing(dir);
    assert_string_equal(left, "in report.xml"); /* written by rename: no temporary left */
    captured_clear(&c);
}

/* ---- the command line itself ---- */

static int spawn(const char *const *argv, char **out, char **err)
{
    const char *bin = g_getenv("VNETSIM_BIN");
    if (!bin)
        fail_msg("VNETSIM_BIN is not set");
    GPtrArray *args = g_ptr_array_new();
    g_ptr_array_add(args, (gpointer)bin);
    for (const char *const *a = argv; *a; a++)
        g_ptr_array_add(args, (gpointer)*a);
    g_ptr_array_add(args, NULL);
    int status = 0;
    GError *error = NULL;
    if (!g_spawn_sync(tmp_root, (char **)args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                      &status, &error))
        fail_msg("spawn: %s", error->message);
    g_ptr_array_free(args, TRUE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void command_line_help_and_usage_errors(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *run_help[] = {"run", "--help", NULL};
    assert_int_equal(spawn(run_help, &out, &err), 0);
    assert_non_null(strstr(out, "--flow=NAME"));
    assert_non_null(strstr(out, "SCENARIO.yaml"));
    g_free(out);
    g_free(err);
    const char *check_help[] = {"check", "--help", NULL};
    assert_int_equal(spawn(check_help, &out, &err), 0);
    assert_non_null(strstr(out, "--junit=FILE"));
    assert_non_null(strstr(out, "--jobs=N"));
    g_free(out);
    g_free(err);
    const char *no_file[] = {"run", NULL};
    assert_int_equal(spawn(no_file, &out, &err), CLI_EXIT_USAGE);
    g_free(out);
    g_free(err);
    const char *bad_seed[] = {"run", "x.yaml", "--seed", "-3", NULL};
    assert_int_equal(spawn(bad_seed, &out, &err), CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--seed"));
    g_free(out);
    g_free(err);
    const char *no_path[] = {"check", NULL};
    assert_int_equal(spawn(no_path, &out, &err), CLI_EXIT_USAGE);
    g_free(out);
    g_free(err);
    /* Default output directory: ./out/<scenario-name>/ (relative to the working directory). */
    g_autofree char *scenario = source_path("scenarios/basics/peering.yaml");
    const char *defaults[] = {"run", scenario, NULL};
    assert_int_equal(spawn(defaults, &out, &err), 0);
    g_autofree char *trace = g_build_filename(tmp_root, "out", "peering", "trace.jsonl", NULL);
    assert_true(g_file_test(trace, G_FILE_TEST_IS_REGULAR));
    g_free(out);
    g_free(err);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--die-before-commit") == 0)
        return die_mode(argc, argv);
    self_path = g_file_read_link("/proc/self/exe", NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_writes_trace_and_one_capture_per_nic),
        cmocka_unit_test(run_same_seed_gives_byte_identical_output),
        cmocka_unit_test(run_replaces_an_older_output_whole),
        cmocka_unit_test(run_failure_leaves_the_old_output_untouched),
        cmocka_unit_test(run_killed_midway_leaves_no_partial_output),
        cmocka_unit_test(run_never_replaces_a_foreign_directory),
        cmocka_unit_test(run_bad_input_writes_nothing),
        cmocka_unit_test(check_counts_passes_and_failures),
        cmocka_unit_test(check_reports_bad_files_and_checks_the_rest),
        cmocka_unit_test(check_output_does_not_depend_on_jobs),
        cmocka_unit_test(check_writes_well_formed_junit),
        cmocka_unit_test(command_line_help_and_usage_errors),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    g_free(self_path);
    return rc;
}
