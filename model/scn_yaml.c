/*
 * scn_yaml.c — YAML (and JSON, which is YAML) to a tree of located nodes.
 *
 * Built on libyaml's event parser rather than its document API so that every node keeps
 * the file it came from (an `!include`d file's nodes name that file) and so that hostile
 * input stays cheap: nesting depth, file sizes, include depth and the size of the tree
 * with aliases expanded are all bounded (see SCN_MAX_* in scn_internal.h), which is what
 * keeps a "billion laughs" document from costing more than a small one.
 *
 * What is accepted: one document per file; block and flow styles; comments; anchors and
 * aliases (an alias may only name a node that is complete, so no cycles); the tags
 * `!include` (on a scalar naming a file) and `!!str`; string keys, each given once per
 * mapping. Anything else is an error located at the offending node.
 */
#include "model/scn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define TAG_INCLUDE "!include"

struct ScnDoc {
    GPtrArray *nodes;     /* ScnNode *, owned */
    GPtrArray *files;     /* char *: file names marks point to, owned */
    GPtrArray *including; /* char *: canonical paths of the files being parsed, outermost first */
    uint64_t bytes;       /* bytes read from all files */
};

typedef struct {
    ScnDoc *doc;
    const char *file; /* interned in doc->files */
    const char *data;
    size_t len;
    GHashTable *anchors;     /* anchor -> ScnNode *, complete nodes only */
    GPtrArray *open;         /* the collections being filled, outermost first */
    GPtrArray *open_anchors; /* anchor names (or NULL) of the open collections */
    ScnNode *root;
} Parse;

static void node_free(gpointer p)
{
    ScnNode *n = p;
    g_free(n->text);
    if (n->items)
        g_ptr_array_free(n->items, TRUE);
    g_free(n);
}

ScnDoc *scn_doc_new(void)
{
    ScnDoc *doc = g_new0(ScnDoc, 1);
    doc->nodes = g_ptr_array_new_with_free_func(node_free);
    doc->files = g_ptr_array_new_with_free_func(g_free);
    doc->including = g_ptr_array_new_with_free_func(g_free);
    return doc;
}

void scn_doc_free(ScnDoc *doc)
{
    if (!doc)
        return;
    g_ptr_array_free(doc->nodes, TRUE);
    g_ptr_array_free(doc->files, TRUE);
    g_ptr_array_free(doc->including, TRUE);
    g_free(doc);
}

static const char *intern_file(ScnDoc *doc, const char *name)
{
    for (guint i = 0; i < doc->files->len; i++)
        if (strcmp(g_ptr_array_index(doc->files, i), name) == 0)
            return g_ptr_array_index(doc->files, i);
    char *copy = g_strdup(name);
    g_ptr_array_add(doc->files, copy);
    return copy;
}

bool scn_read_file(const char *path, char **data, size_t *len, char **reason)
{
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below anyway. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *reason = g_strdup(g_strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *reason = g_strdup(g_strerror(errno));
        close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *reason = g_strdup("not a regular file");
        close(fd);
        return false;
    }
    if ((uint64_t)st.st_size > SCN_MAX_FILE_BYTES) {
        *reason = g_strdup_printf("larger than %u MiB", SCN_MAX_FILE_BYTES >> 20);
        close(fd);
        return false;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = g_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            /* The file grew while we read it: read on, within the limit. */
            if (cap >= SCN_MAX_FILE_BYTES) {
                *reason = g_strdup_printf("larger than %u MiB", SCN_MAX_FILE_BYTES >> 20);
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            if (cap > SCN_MAX_FILE_BYTES)
                cap = SCN_MAX_FILE_BYTES;
            buf = g_realloc(buf, cap + 1);
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *reason = g_strdup(g_strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return true;
fail:
    close(fd);
    g_free(buf);
    return false;
}

/* ---- errors ---- */

/* libyaml marks count from 0. */
static ScnMark mark_of(const Parse *ps, yaml_mark_t m)
{
    return (ScnMark){ps->file, (int)m.line + 1, (int)m.column + 1};
}

/* Line and column of a byte offset, for reader errors (bad UTF-8), which carry no mark. */
static ScnMark mark_at_offset(const Parse *ps, size_t offset)
{
    ScnMark m = {ps->file, 1, 1};
    for (size_t i = 0; i < offset && i < ps->len; i++) {
        if (ps->data[i] == '\n') {
            m.line++;
            m.col = 1;
        } else if (((unsigned char)ps->data[i] & 0xc0) != 0x80) {
            m.col++;
        }
    }
    return m;
}

static bool syntax_error(Parse *ps, yaml_parser_t *p, GError **error)
{
    if (p->error == YAML_MEMORY_ERROR)
        return scn_fail(error, SCN_ERROR_SYNTAX, &(ScnMark){ps->file, 1, 1},
                        "YAML parser out of memory");
    ScnMark m = p->error == YAML_READER_ERROR ? mark_at_offset(ps, p->problem_offset)
                                              : mark_of(ps, p->problem_mark);
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        return scn_fail(error, SCN_ERROR_SYNTAX, &m,
                        "YAML syntax error: %s (%s that starts at line %d)", problem, p->context,
                        (int)p->context_mark.line + 1);
    return scn_fail(error, SCN_ERROR_SYNTAX, &m, "YAML syntax error: %s", problem);
}

/* ---- building the tree ---- */

static ScnNode *node_new(Parse *ps, ScnNodeKind kind, ScnMark mark)
{
    ScnNode *n = g_new0(ScnNode, 1);
    n->kind = kind;
    n->mark = mark;
    n->weight = 1;
    if (kind != SCN_NODE_SCALAR)
        n->items = g_ptr_array_new();
    g_ptr_array_add(ps->doc->nodes, n);
    return n;
}

static void attach(Parse *ps, ScnNode *n)
{
    if (ps->open->len == 0) {
        ps->root = n;
        return;
    }
    ScnNode *parent = g_ptr_array_index(ps->open, ps->open->len - 1);
    g_ptr_array_add(parent->items, n);
}

static bool remember_anchor(Parse *ps, const yaml_char_t *anchor, ScnNode *n)
{
    if (anchor)
        g_hash_table_replace(ps->anchors, g_strdup((const char *)anchor), n);
    return true;
}

/* Tags: !include on scalars; the core schema's own tags where they change nothing. */
static bool check_tag(Parse *ps, const yaml_char_t *tag, yaml_mark_t at, const char *core,
                      GError **error)
{
    if (!tag || strcmp((const char *)tag, "!") == 0 || strcmp((const char *)tag, core) == 0)
        return true;
    ScnMark m = mark_of(ps, at);
    return scn_fail(error, SCN_ERROR_SCHEMA, &m,
                    "unsupported tag '%s' (vnetsim knows !include on a file name)",
                    (const char *)tag);
}

static bool check_map_keys(const ScnNode *map, GError **error)
{
    guint n = map->items->len;
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    bool ok = true;
    for (guint i = 0; i + 1 < n && ok; i += 2) {
        const ScnNode *key = g_ptr_array_index(map->items, i);
        if (key->kind != SCN_NODE_SCALAR) {
            ok = scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                          "a mapping key must be a name, not a %s",
                          key->kind == SCN_NODE_SEQ ? "list" : "mapping");
            break;
        }
        const ScnNode *first = g_hash_table_lookup(seen, key->text);
        if (first) {
            if (first->mark.file == key->mark.file)
                ok = scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                              "duplicate key '%s' (first given at line %d)", key->text,
                              first->mark.line);
            else
                ok = scn_fail(error, SCN_ERROR_SCHEMA, &key->mark,
                              "duplicate key '%s' (first given at %s:%d)", key->text,
                              first->mark.file, first->mark.line);
            break;
        }
        g_hash_table_insert(seen, key->text, (gpointer)key);
    }
    g_hash_table_destroy(seen);
    return ok;
}

static ScnNode *parse_buffer(ScnDoc *doc, const char *file, const char *data, size_t len,
                             GError **error);

static const char *dir_of(const char *file, char **owned)
{
    *owned = g_path_get_dirname(file);
    return *owned;
}

/* The path an include names, as shown in messages: relative to the includer's directory. */
static char *include_path(const char *includer, const char *path)
{
    if (g_path_is_absolute(path))
        return g_strdup(path);
    char *dir_owned;
    const char *dir = dir_of(includer, &dir_owned);
    char *full = strcmp(dir, ".") == 0 ? g_strdup(path) : g_build_filename(dir, path, NULL);
    g_free(dir_owned);
    return full;
}

static ScnNode *include_file(ScnDoc *doc, const char *path, const ScnMark *from, GError **error)
{
    if (!*path) {
        scn_fail(error, SCN_ERROR_SCHEMA, from, "!include needs a file name");
        return NULL;
    }
    if (doc->including->len >= SCN_MAX_INCLUDE_DEPTH) {
        scn_fail(error, SCN_ERROR_VALUE, from,
                 "cannot include '%s': includes nest deeper than %d files", path,
                 SCN_MAX_INCLUDE_DEPTH);
        return NULL;
    }
    g_autofree char *full = include_path(from->file, path);
    g_autofree char *canonical = g_canonicalize_filename(full, NULL);
    for (guint i = 0; i < doc->including->len; i++) {
        if (strcmp(g_ptr_array_index(doc->including, i), canonical) == 0) {
            scn_fail(error, SCN_ERROR_VALUE, from, "cannot include '%s': it includes itself", path);
            return NULL;
        }
    }
    char *data = NULL, *reason = NULL;
    size_t len = 0;
    if (!scn_read_file(full, &data, &len, &reason)) {
        scn_fail(error, SCN_ERROR_IO, from, "cannot include '%s': %s", path, reason);
        g_free(reason);
        return NULL;
    }
    ScnNode *root = parse_buffer(doc, full, data, len, error);
    g_free(data);
    return root;
}

static bool on_scalar(Parse *ps, yaml_event_t *ev, GError **error)
{
    ScnMark m = mark_of(ps, ev->start_mark);
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (strlen(value) != len)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m, "a value contains a NUL character");
    ScnNode *n;
    if (tag && strcmp(tag, TAG_INCLUDE) == 0) {
        n = include_file(ps->doc, value, &m, error);
        if (!n)
            return false;
    } else {
        if (!check_tag(ps, ev->data.scalar.tag, ev->start_mark, YAML_STR_TAG, error))
            return false;
        n = node_new(ps, SCN_NODE_SCALAR, m);
        n->text = g_strndup(value, len);
        n->plain = !tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    }
    attach(ps, n);
    return remember_anchor(ps, ev->data.scalar.anchor, n);
}

static bool on_start(Parse *ps, yaml_event_t *ev, ScnNodeKind kind, GError **error)
{
    ScnMark m = mark_of(ps, ev->start_mark);
    const yaml_char_t *tag =
        kind == SCN_NODE_SEQ ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
    const yaml_char_t *anchor =
        kind == SCN_NODE_SEQ ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
    if (tag && strcmp((const char *)tag, TAG_INCLUDE) == 0)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m, "!include takes a file name, not a %s",
                        kind == SCN_NODE_SEQ ? "list" : "mapping");
    if (!check_tag(ps, tag, ev->start_mark, kind == SCN_NODE_SEQ ? YAML_SEQ_TAG : YAML_MAP_TAG,
                   error))
        return false;
    if (ps->open->len >= SCN_MAX_DEPTH)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m,
                        "lists and mappings nest deeper than %d levels", SCN_MAX_DEPTH);
    ScnNode *n = node_new(ps, kind, m);
    attach(ps, n);
    g_ptr_array_add(ps->open, n);
    g_ptr_array_add(ps->open_anchors, anchor ? g_strdup((const char *)anchor) : NULL);
    return true;
}

static bool on_end(Parse *ps, GError **error)
{
    ScnNode *n = g_ptr_array_index(ps->open, ps->open->len - 1);
    g_ptr_array_remove_index(ps->open, ps->open->len - 1);
    char *anchor = g_ptr_array_steal_index(ps->open_anchors, ps->open_anchors->len - 1);
    uint64_t w = 1;
    for (guint i = 0; i < n->items->len; i++)
        w += ((const ScnNode *)g_ptr_array_index(n->items, i))->weight;
    n->weight = w;
    /* Every literal node takes at least one byte of text, so a document without aliases
     * never weighs more than its size: only alias expansion can pass this limit, which
     * is what it is for (a "billion laughs" bomb), whatever the file's honest size. */
    uint64_t limit = ps->len > SCN_MAX_WEIGHT ? ps->len : SCN_MAX_WEIGHT;
    bool ok = true;
    if (w > limit)
        ok = scn_fail(error, SCN_ERROR_VALUE, &n->mark,
                      "the document is too large: more than %" G_GUINT64_FORMAT
                      " values once aliases are expanded",
                      limit);
    else if (n->kind == SCN_NODE_MAP)
        ok = check_map_keys(n, error);
    /* Registered only now: an alias inside its own anchor's node would make a cycle. */
    if (ok && anchor)
        g_hash_table_replace(ps->anchors, anchor, n);
    else
        g_free(anchor);
    return ok;
}

static bool on_alias(Parse *ps, yaml_event_t *ev, GError **error)
{
    ScnMark m = mark_of(ps, ev->start_mark);
    const char *name = (const char *)ev->data.alias.anchor;
    ScnNode *target = g_hash_table_lookup(ps->anchors, name);
    if (!target)
        return scn_fail(error, SCN_ERROR_SCHEMA, &m,
                        "alias '*%s' names no complete anchor defined before it", name);
    attach(ps, target);
    return true;
}

static ScnNode *parse_buffer(ScnDoc *doc, const char *file, const char *data, size_t len,
                             GError **error)
{
    Parse ps = {
        .doc = doc,
        .file = intern_file(doc, file),
        .data = data,
        .len = len,
        .anchors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .open = g_ptr_array_new(),
        .open_anchors = g_ptr_array_new_with_free_func(g_free),
    };
    ScnMark start = {ps.file, 1, 1};
    ScnNode *result = NULL;
    doc->bytes += len;
    if (doc->bytes > SCN_MAX_TOTAL_BYTES) {
        scn_fail(error, SCN_ERROR_VALUE, &start,
                 "the scenario and its included files exceed %u MiB together",
                 SCN_MAX_TOTAL_BYTES >> 20);
        goto out;
    }
    g_ptr_array_add(doc->including, g_canonicalize_filename(file, NULL));

    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    bool ok = true, done = false;
    int documents = 0;
    while (ok && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            ok = syntax_error(&ps, &parser, error);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                ScnMark m = mark_of(&ps, ev.start_mark);
                ok = scn_fail(error, SCN_ERROR_SYNTAX, &m,
                              "a second YAML document ('---'): a scenario file holds one");
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_SCALAR_EVENT:
            ok = on_scalar(&ps, &ev, error);
            break;
        case YAML_SEQUENCE_START_EVENT:
            ok = on_start(&ps, &ev, SCN_NODE_SEQ, error);
            break;
        case YAML_MAPPING_START_EVENT:
            ok = on_start(&ps, &ev, SCN_NODE_MAP, error);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            ok = on_end(&ps, error);
            break;
        case YAML_ALIAS_EVENT:
            ok = on_alias(&ps, &ev, error);
            break;
        default: /* stream start, document end, no event */
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    g_ptr_array_remove_index(doc->including, doc->including->len - 1);
    if (ok && !ps.root)
        ok = scn_fail(error, SCN_ERROR_SCHEMA, &start, "the file holds no YAML document");
    if (ok)
        result = ps.root;
out:
    g_hash_table_destroy(ps.anchors);
    g_ptr_array_free(ps.open, TRUE);
    g_ptr_array_free(ps.open_anchors, TRUE);
    return result;
}

ScnNode *scn_doc_parse(ScnDoc *doc, const char *name, const char *data, size_t len, GError **error)
{
    return parse_buffer(doc, name, data, len, error);
}

ScnNode *scn_doc_parse_file(ScnDoc *doc, const char *path, const ScnMark *from, GError **error)
{
    return include_file(doc, path, from, error);
}
