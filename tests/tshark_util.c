/* Spawns tshark synchronously; see tshark_util.h. */
#include "tshark_util.h"

#include <stdio.h>
#include <string.h>

static const char *const checksum_prefs[] = {
    "-o", "ip.check_checksum:TRUE",  "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
};

const char *tshark_path(void)
{
    const char *env = g_getenv("VNETSIM_TSHARK");
    if (!env || !*env || g_str_has_suffix(env, "-NOTFOUND"))
        return "tshark";
    return env;
}

/* Runs argv; returns stdout (caller frees) or NULL after printing why. */
static gchar *spawn(GPtrArray *argv)
{
    gchar *out = NULL, *err = NULL;
    gint status = 0;
    GError *error = NULL;
    g_ptr_array_add(argv, NULL);
    gboolean ok = g_spawn_sync(NULL, (gchar **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error);
    if (ok && !g_spawn_check_wait_status(status, &error))
        ok = FALSE;
    if (!ok) {
        fprintf(stderr, "tshark failed: %s\n%s", error ? error->message : "?", err ? err : "");
        g_clear_error(&error);
        g_free(out);
        out = NULL;
    }
    g_free(err);
    return out;
}

bool tshark_available(void)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)tshark_path());
    g_ptr_array_add(argv, "-v");
    gchar *out = spawn(argv);
    g_ptr_array_free(argv, TRUE);
    g_free(out);
    return out != NULL;
}

gchar **tshark_run(const char *pcap_path, const char *const *args, size_t n_args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)tshark_path());
    g_ptr_array_add(argv, "-n");
    g_ptr_array_add(argv, "-r");
    g_ptr_array_add(argv, (gpointer)pcap_path);
    for (size_t i = 0; i < G_N_ELEMENTS(checksum_prefs); i++)
        g_ptr_array_add(argv, (gpointer)checksum_prefs[i]);
    for (size_t i = 0; i < n_args; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    gchar *out = spawn(argv);
    g_ptr_array_free(argv, TRUE);
    if (!out)
        return NULL;

    size_t n = strlen(out);
    if (n && out[n - 1] == '\n')
        out[n - 1] = '\0';
    gchar **lines = n ? g_strsplit(out, "\n", -1) : g_new0(gchar *, 1);
    g_free(out);
    return lines;
}

gchar **tshark_fields(const char *pcap_path, const char *filter, const char *const *fields,
                      size_t n)
{
    GPtrArray *args = g_ptr_array_new();
    if (filter && *filter) {
        g_ptr_array_add(args, "-Y");
        g_ptr_array_add(args, (gpointer)filter);
    }
    g_ptr_array_add(args, "-T");
    g_ptr_array_add(args, "fields");
    g_ptr_array_add(args, "-E");
    g_ptr_array_add(args, "separator=|");
    g_ptr_array_add(args, "-E");
    g_ptr_array_add(args, "aggregator=,");
    for (size_t i = 0; i < n; i++) {
        g_ptr_array_add(args, "-e");
        g_ptr_array_add(args, (gpointer)fields[i]);
    }
    gchar **lines = tshark_run(pcap_path, (const char *const *)args->pdata, args->len);
    g_ptr_array_free(args, TRUE);
    return lines;
}

long tshark_count(const char *pcap_path, const char *display_filter)
{
    const char *field = "frame.number";
    gchar **lines = tshark_fields(pcap_path, display_filter, &field, 1);
    if (!lines)
        return -1;
    long n = (long)g_strv_length(lines);
    g_strfreev(lines);
    return n;
}
