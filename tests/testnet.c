#include "testnet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

uint32_t tn_ip(const char *text)
{
    uint32_t ip = 0;
    if (!model_ip_parse(text, &ip))
        fail_msg("bad address in test: %s", text);
    return ip;
}

ModelPrefix tn_prefix(const char *text)
{
    ModelPrefix p = {0, 0};
    if (model_prefix_parse(text, false, &p) != MODEL_PREFIX_OK)
        fail_msg("bad prefix in test: %s", text);
    return p;
}

int tn_count_steps(const ModelTrace *trace, const char *flow, ModelStage stage, const char *object,
                   const char *action, const char *detail_part)
{
    size_t n;
    int count = 0;
    const ModelStepRecord *s = model_trace_steps(trace, &n);
    for (size_t i = 0; i < n; i++)
        count += strcmp(s[i].flow, flow) == 0 && s[i].stage == stage &&
                 (!object || strcmp(s[i].object, object) == 0) &&
                 strcmp(s[i].action, action) == 0 &&
                 (!detail_part || strstr(s[i].detail, detail_part) != NULL);
    return count;
}

bool tn_has_step(const ModelTrace *trace, const char *flow, ModelStage stage, const char *object,
                 const char *action, const char *detail_part)
{
    return tn_count_steps(trace, flow, stage, object, action, detail_part) > 0;
}

void tn_remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            tn_remove_tree(path);
        else
            g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

void *tn_must(void *p, GError **err)
{
    if (!p)
        fail_msg("build failed: %s", *err ? (*err)->message : "?");
    return p;
}
