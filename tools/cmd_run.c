/*
 * cmd_run.c — `vnetsim run SCENARIO.yaml [--out DIR] [--seed N] [--flow NAME]...`
 *
 * Replays a scenario and writes DIR/trace.jsonl and DIR/pcap/<capture>.pcap. The whole
 * directory is the unit of atomicity: it is built as a hidden sibling and swapped into place
 * with one renameat2(RENAME_EXCHANGE) (or two renames where the file system lacks it), so
 * a reader, a crash or a kill never sees half an output: DIR is the old output or the new
 * one. A killed run can leave its hidden ".DIR.tmp-XXXXXX" sibling behind, never a partial
 * DIR.
 */
#define _GNU_SOURCE /* renameat2 */
#include "tools/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/flowlog.h"
#include "model/scn_load.h"
#include "tools/report.h"

int (*cli_run_before_commit)(const char *tmp_dir);

void cli_print_flow_line(FILE *out, const char *flow, const ModelVerdictRecord *v)
{
    if (!v) {
        fprintf(out, "%-22s %-9s %-28s %s\n", flow, "-", "-", "-");
        return;
    }
    fprintf(out, "%-22s %-9s %-28s %s\n", flow, model_verdict_name(v->verdict),
            v->cause == MODEL_CAUSE_NONE ? "-" : model_cause_name(v->cause), v->at);
}

/* Removes a directory tree we created (or verified to hold only our files). Symlinks are
 * removed, never followed. */
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

/* True when every entry of dir is a file whose name ends in one of the suffixes. */
static bool only_files(const char *dir, const char *const *suffixes, size_t n, char **stranger)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) {
        *stranger = g_strdup(dir);
        return false;
    }
    const char *name;
    bool ok = true;
    while (ok && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = g_str_has_suffix(name, suffixes[i]);
        if (!known || !g_file_test(path, G_FILE_TEST_IS_REGULAR) ||
            g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
            *stranger = g_steal_pointer(&path);
            ok = false;
        }
    }
    g_dir_close(d);
    return ok;
}

/* A directory a run may replace: empty, or holding trace.jsonl and pcap/ with captures. */
static bool is_run_output(const char *dir, char **stranger)
{
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR) || g_file_test(dir, G_FILE_TEST_IS_SYMLINK)) {
        *stranger = g_strdup(dir);
        return false;
    }
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) {
        *stranger = g_strdup(dir);
        return false;
    }
    const char *name;
    bool ok = true;
    while (ok && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        static const char *const pcaps[] = {".pcap", ".pcap.tmp"};
        if (strcmp(name, "pcap") == 0 && g_file_test(path, G_FILE_TEST_IS_DIR) &&
            !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            ok = only_files(path, pcaps, G_N_ELEMENTS(pcaps), stranger);
        else if ((strcmp(name, "trace.jsonl") == 0 || g_str_has_suffix(name, ".html")) &&
                 g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
                 !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            ok = true; /* *.html: teaching reports (`run --report`, `vnetsim report DIR`) */
        else {
            *stranger = g_steal_pointer(&path);
            ok = false;
        }
    }
    g_dir_close(d);
    return ok;
}

/* Puts tmp where dir is, replacing an older dir in one step when the kernel can. */
static bool commit_dir(const char *tmp, const char *dir, const char *parent, const char *base,
                       GError **error)
{
    if (!g_file_test(dir, G_FILE_TEST_EXISTS)) {
        if (rename(tmp, dir) == 0)
            return true;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: cannot create: %s",
                    dir, g_strerror(errno));
        return false;
    }
#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_tree(tmp); /* now the old output */
        return true;
    }
#endif
    /* No atomic exchange here (old kernel, some file systems): move the old output aside,
     * move the new one in, and put the old one back if that fails. */
    g_autofree char *aside = g_strdup_printf("%s/.%s.old-XXXXXX", parent, base);
    if (!g_mkdtemp_full(aside, 0755) || rename(dir, aside) != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "%s: cannot replace the old output: %s", dir, g_strerror(errno));
        g_rmdir(aside);
        return false;
    }
    if (rename(tmp, dir) != 0) {
        int saved = errno;
        if (rename(aside, dir) != 0)
            g_rmdir(aside);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: cannot replace: %s",
                    dir, g_strerror(saved));
        return false;
    }
    remove_tree(aside);
    return true;
}

/* Writes the flow log of the replay to a hidden temporary sibling of `path` (*tmp_out, which
 * the caller renames onto path or removes). False with a message on `err`. */
/* Writes `text` to a hidden sibling of `path` (renamed onto it once the run is committed,
 * so a failure leaves neither half); `what` names it in messages. */
static bool write_sibling(const char *path, const char *text, const char *what, char **tmp_out,
                          FILE *err)
{
    const char *json = text;
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    size_t len = strlen(json);
    bool ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, json + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        off += ok ? (size_t)n : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok) {
        fprintf(err, "%s: cannot write the %s: %s\n", path, what, g_strerror(errno));
        if (fd >= 0)
            g_unlink(tmp);
        g_free(tmp);
        return false;
    }
    *tmp_out = tmp;
    return true;
}

static bool flow_log_prepare(const ScnScenario *scn, const ModelTrace *trace, const char *pcap_dir,
                             const char *path, char **tmp_out, FILE *err)
{
    GError *error = NULL;
    g_autofree char *json =
        model_flowlog_json(scn_scenario_net(scn), trace, pcap_dir, scn_scenario_name(scn), &error);
    if (!json) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        return false;
    }
    return write_sibling(path, json, "flow log", tmp_out, err);
}

int cli_run(const CliRunOptions *opt, FILE *out, FILE *err)
{
    return cli_run_flow_log(opt, NULL, out, err);
}

int cli_run_flow_log(const CliRunOptions *opt, const char *flow_log, FILE *out, FILE *err)
{
    return cli_run_outputs(opt, flow_log, NULL, out, err);
}

int cli_run_outputs(const CliRunOptions *opt, const char *flow_log, const char *report_path,
                    FILE *out, FILE *err)
{
    GError *error = NULL;
    ScnScenario *scn = scn_load(opt->scenario, &error);
    if (!scn) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    ModelTrace *trace = NULL;
    char *tmp = NULL, *stranger = NULL, *pcap_dir = NULL, *trace_path = NULL, *flow_tmp = NULL;
    char *report = NULL, *report_tmp = NULL;
    g_autofree char *default_dir = g_build_filename("out", scn_scenario_name(scn), NULL);
    g_autofree char *dir = g_canonicalize_filename(opt->out_dir ? opt->out_dir : default_dir, NULL);
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *base = g_path_get_basename(dir);
    if (!scn_scenario_select_flows(scn, opt->flows, opt->n_flows, &error))
        goto out;
    if (strcmp(dir, parent) == 0) {
        fprintf(err, "%s: cannot write the output over the root directory\n", dir);
        goto out;
    }
    if (g_file_test(dir, G_FILE_TEST_EXISTS) && !is_run_output(dir, &stranger)) {
        fprintf(err,
                "%s: exists and is not a vnetsim output directory (it holds %s): choose "
                "another --out, or remove it\n",
                opt->out_dir ? opt->out_dir : default_dir, stranger);
        goto out;
    }
    if (g_mkdir_with_parents(parent, 0755) != 0) {
        fprintf(err, "%s: cannot create directory: %s\n", parent, g_strerror(errno));
        goto out;
    }
    tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", parent, base);
    if (!g_mkdtemp_full(tmp, 0755)) {
        fprintf(err, "%s: cannot create a temporary directory: %s\n", parent, g_strerror(errno));
        g_clear_pointer(&tmp, g_free);
        goto out;
    }
    trace = model_trace_new();
    pcap_dir = g_build_filename(tmp, "pcap", NULL);
    trace_path = g_build_filename(tmp, "trace.jsonl", NULL);
    if (scn_replay(scn, opt->seed, pcap_dir, trace, &error) != 0 ||
        !model_trace_write(trace, trace_path, &error))
        goto out;
    /* --flow-log: built from the committed captures and the trace, written to a hidden
     * sibling of FILE now and renamed onto it once the output directory is in place, so a
     * failure leaves neither half. */
    if (flow_log && !flow_log_prepare(scn, trace, pcap_dir, flow_log, &flow_tmp, err))
        goto out;
    /* --report: rendered now, while a failure still leaves everything as it was; written
     * once the output directory is in place (the report may live inside it). */
    if (report_path) {
        g_autofree char *final_pcaps = g_build_filename(dir, "pcap", NULL);
        ReportInput in = {.scn = scn,
                          .trace = trace,
                          .pcap_dir = pcap_dir,
                          .pcap_final = final_pcaps,
                          .report_path = report_path};
        if (!(report = report_html(&in, &error)))
            goto out;
        /* Inside the output directory it is committed with it; elsewhere it waits in a
         * hidden sibling, so a report that cannot be written stops the run before anything
         * is replaced. */
        g_autofree char *report_abs = g_canonicalize_filename(report_path, NULL);
        g_autofree char *report_dir = g_path_get_dirname(report_abs);
        g_autofree char *report_base = g_path_get_basename(report_abs);
        if (strcmp(report_dir, dir) == 0) {
            g_autofree char *inside = g_build_filename(tmp, report_base, NULL);
            if (!g_file_set_contents(inside, report, -1, &error))
                goto out;
        } else if (!write_sibling(report_abs, report, "report", &report_tmp, err)) {
            goto out;
        }
    }
    if (cli_run_before_commit && cli_run_before_commit(tmp) != 0) {
        fprintf(err, "%s: the run was interrupted before its output was committed\n", dir);
        goto out;
    }
    if (!commit_dir(tmp, dir, parent, base, &error))
        goto out;
    g_clear_pointer(&tmp, g_free);
    if (flow_tmp && rename(flow_tmp, flow_log) != 0) {
        fprintf(err, "%s: cannot write the flow log: %s\n", flow_log, g_strerror(errno));
        goto out;
    }
    g_clear_pointer(&flow_tmp, g_free);
    if (report_tmp && rename(report_tmp, report_path) != 0) {
        fprintf(err, "%s: cannot write the report: %s\n", report_path, g_strerror(errno));
        goto out;
    }
    g_clear_pointer(&report_tmp, g_free);
    for (size_t i = 0; i < scn_scenario_n_flows(scn); i++) {
        const ScnFlow *f = scn_scenario_flow(scn, i);
        if (f->selected)
            cli_print_flow_line(out, f->name, model_trace_find_verdict(trace, f->name));
    }
    rc = CLI_EXIT_OK;
out:
    if (error) {
        fprintf(err, "%s\n", error->message);
        g_error_free(error);
    }
    if (tmp) {
        remove_tree(tmp);
        g_free(tmp);
    }
    if (flow_tmp) {
        g_unlink(flow_tmp);
        g_free(flow_tmp);
    }
    if (report_tmp) {
        g_unlink(report_tmp);
        g_free(report_tmp);
    }
    g_free(stranger);
    g_free(report);
    g_free(pcap_dir);
    g_free(trace_path);
    model_trace_free(trace);
    scn_scenario_free(scn);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    char *out = NULL, *seed_text = NULL, *flow_log = NULL, *report = NULL;
    char **flows = NULL;
    char *service_tags = NULL;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "output directory (default out/<scenario-name>); replaced atomically", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "random seed (default 1)", "N"},
        {"flow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &flows, "replay only this flow (repeat for more)",
         "NAME"},
        {"flow-log", 0, 0, G_OPTION_ARG_FILENAME, &flow_log,
         "also write Azure VNet flow log records (JSON) to FILE, atomically", "FILE"},
        {"report", 0, 0, G_OPTION_ARG_FILENAME, &report,
         "also write the teaching report (one self-contained HTML file) to FILE", "FILE"},
        {"service-tags", 0, 0, G_OPTION_ARG_FILENAME, &service_tags,
         "start from Microsoft's published service tags JSON (ServiceTags_Public_*.json)", "FILE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx =
        g_option_context_new("SCENARIO.yaml - replay a scenario, writing its trace and captures");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Writes DIR/trace.jsonl and one capture per NIC in DIR/pcap/, and prints one line\n"
             "per flow: name, verdict, cause, where. `run` reports and `check` judges: the\n"
             "exit code is 0 whatever the flows' expect says. --report FILE also writes the\n"
             "teaching report (as `vnetsim report DIR` does), its capture links relative to FILE.\n"
             "\n"
             "Exit codes: 0 the replay completed; 2 bad input or usage (file:line:col: message\n"
             "on stderr, nothing written).\n");
    GError *error = NULL;
    gboolean ok = g_option_context_parse(ctx, &argc, &argv, &error);
    g_option_context_free(ctx);
    scn_set_service_tags_file(service_tags);
    g_free(service_tags);
    int rc = CLI_EXIT_USAGE;
    guint64 seed = 1;
    if (!ok) {
        fprintf(stderr, "vnetsim run: %s\n", error->message);
    } else if (argc != 2) {
        fprintf(stderr, "vnetsim run: %s (see vnetsim run --help)\n",
                argc < 2 ? "which scenario? give SCENARIO.yaml" : "give one scenario file");
    } else if (seed_text &&
               !g_ascii_string_to_unsigned(seed_text, 10, 0, G_MAXUINT64, &seed, NULL)) {
        fprintf(stderr, "vnetsim run: --seed wants a non-negative integer, not \"%s\"\n",
                seed_text);
    } else {
        CliRunOptions opt = {
            .scenario = argv[1],
            .out_dir = out,
            .seed = seed,
            .flows = (const char *const *)flows,
            .n_flows = flows ? g_strv_length(flows) : 0,
        };
        rc = cli_run_outputs(&opt, flow_log, report, stdout, stderr);
    }
    g_clear_error(&error);
    g_free(out);
    g_free(seed_text);
    g_free(flow_log);
    g_free(report);
    g_strfreev(flows);
    return rc;
}
