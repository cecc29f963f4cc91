/* config.c - YAML configuration files as a read-only tree of maps,
 * sequences and scalars, with typed getters whose errors name file, line
 * and key. See include/config.h.
 *
 * libyaml's event parser is used rather than its document loader because
 * the loader silently expands aliases and we want to refuse them, and
 * because walking events lets us build the tree without recursion (a deeply
 * nested file cannot overflow the stack). Every node is malloc'd once and
 * threaded on a list in its config_t, so destroying is a flat walk. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct entry {
    config_node_t *key; /* NULL in a sequence */
    config_node_t *value;
} entry_t;

struct config_node {
    config_node_t *next_alloc; /* every node of the tree, for config_destroy */
    config_node_t *parent;     /* enclosing container, used while building */
    config_node_t *pending;    /* map only: key waiting for its value, while building */
    config_t *cfg;
    config_kind_t kind;
    int line;
    bool is_null; /* plain "", "~" or "null": present but without a value */
    entry_t *entries;
    size_t len, cap;
    char text[]; /* scalars only; "" for containers */
};

struct config {
    char *path;
    config_node_t *root;
    config_node_t *nodes; /* allocation list */
};

typedef struct builder {
    config_t *cfg;
    config_node_t *open; /* innermost unfinished map or sequence */
    int documents;
    int document_line; /* where an empty document would be reported */
} builder_t;

/* ---- errors ---------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int s_error_at(const config_t *cfg, int line,
                                                            err_t *err, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(err, "%s:%d: %s", cfg->path, line, msg);
    return -1;
}

int config_error(const config_node_t *node, err_t *err, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node)
        err_set(err, "%s:%d: %s", node->cfg->path, node->line, msg);
    else
        err_set(err, "%s", msg);
    return -1;
}

/* "file:line: key 'k': <msg>", or without the key part when the getter was
 * asked about the node itself (key == NULL). */
__attribute__((format(printf, 4, 5))) static int s_fail(const config_node_t *node, const char *key,
                                                        err_t *err, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        return config_error(node, err, "key '%s': %s", key, msg);
    return config_error(node, err, "%s", msg);
}

static const char *s_kind_name(const config_node_t *node)
{
    if (node->kind == CONFIG_MAP)
        return "a map";
    if (node->kind == CONFIG_SEQ)
        return "a sequence";
    return node->is_null ? "null" : "a scalar";
}

static int s_wrong_type(const config_node_t *node, const char *key, const char *expected,
                        err_t *err)
{
    if (node->kind == CONFIG_SCALAR && !node->is_null)
        return s_fail(node, key, err, "expected %s, got '%s'", expected, node->text);
    return s_fail(node, key, err, "expected %s, got %s", expected, s_kind_name(node));
}

/* ---- building the tree ---------------------------------------------- */

static config_node_t *s_new_node(config_t *cfg, config_kind_t kind, int line, const char *text,
                                 size_t len)
{
    config_node_t *node = calloc(1, sizeof *node + len + 1);
    if (node) {
        node->cfg = cfg;
        node->kind = kind;
        node->line = line;
        memcpy(node->text, text, len);
        node->next_alloc = cfg->nodes;
        cfg->nodes = node;
    }
    return node;
}

/* Hangs node under the open container (or makes it the root). In a map,
 * nodes alternate key, value; the key waits in `pending`. */
static int s_attach(builder_t *b, config_node_t *node, err_t *err)
{
    config_node_t *parent = b->open;
    if (!parent) {
        b->cfg->root = node;
        return 0;
    }
    if (parent->kind == CONFIG_MAP && !parent->pending) {
        if (node->kind != CONFIG_SCALAR)
            return s_error_at(b->cfg, node->line, err, "map keys must be scalars, not %s",
                              s_kind_name(node));
        parent->pending = node;
        return 0;
    }
    if (parent->len == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        entry_t *entries = realloc(parent->entries, cap * sizeof *entries);
        if (!entries) {
            err_set(err, "%s: out of memory", b->cfg->path);
            return -1;
        }
        parent->entries = entries;
        parent->cap = cap;
    }
    parent->entries[parent->len++] = (entry_t){parent->pending, node};
    parent->pending = NULL;
    return 0;
}

static int s_compare_entries(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    int c = strcmp(x->key->text, y->key->text);
    if (c == 0)
        c = (x->key->line > y->key->line) - (x->key->line < y->key->line);
    return c;
}

/* Sorting a copy keeps this O(n log n): a generated file with a huge map
 * must not turn loading into a quadratic scan. Reports the duplicate that
 * comes first in the file. */
static int s_check_duplicates(const config_node_t *map, err_t *err)
{
    int rc = 0;
    const entry_t *dup = NULL, *first = NULL;
    entry_t *sorted = NULL;
    if (map->len < 2)
        goto out;
    sorted = malloc(map->len * sizeof *sorted);
    if (!sorted) {
        err_set(err, "%s: out of memory", map->cfg->path);
        rc = -1;
        goto out;
    }
    memcpy(sorted, map->entries, map->len * sizeof *sorted);
    qsort(sorted, map->len, sizeof *sorted, s_compare_entries);
    for (size_t i = 1; i < map->len; i++) {
        if (strcmp(sorted[i - 1].key->text, sorted[i].key->text) == 0 &&
            (!dup || sorted[i].key->line < dup->key->line)) {
            first = &sorted[i - 1];
            dup = &sorted[i];
        }
    }
    if (dup)
        rc = s_error_at(map->cfg, dup->key->line, err, "duplicate key '%s' (first at line %d)",
                        dup->key->text, first->key->line);
out:
    free(sorted);
    return rc;
}

/* Anchors, aliases and tags are refused: campaign files need none of them,
 * and an alias would make one node appear at two lines. */
static int s_check_plain(const config_t *cfg, int line, const yaml_char_t *anchor,
                         const yaml_char_t *tag, err_t *err)
{
    if (anchor)
        return s_error_at(cfg, line, err, "anchors are not allowed (&%s)", (const char *)anchor);
    if (tag)
        return s_error_at(cfg, line, err, "tags are not allowed (%s)", (const char *)tag);
    return 0;
}

static int s_add_scalar(builder_t *b, const yaml_event_t *ev, int line, err_t *err)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    config_node_t *node;
    if (memchr(text, '\0', len))
        return s_error_at(b->cfg, line, err, "scalar contains a NUL character");
    node = s_new_node(b->cfg, CONFIG_SCALAR, line, text, len);
    if (!node) {
        err_set(err, "%s: out of memory", b->cfg->path);
        return -1;
    }
    /* Only a plain scalar can be null; quoted "null" or "" is a string. */
    node->is_null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    (len == 0 || strcmp(text, "~") == 0 || strcasecmp(text, "null") == 0);
    return s_attach(b, node, err);
}

static int s_open_container(builder_t *b, config_kind_t kind, int line, err_t *err)
{
    config_node_t *node = s_new_node(b->cfg, kind, line, "", 0);
    if (!node) {
        err_set(err, "%s: out of memory", b->cfg->path);
        return -1;
    }
    if (s_attach(b, node, err) < 0)
        return -1;
    node->parent = b->open;
    b->open = node;
    return 0;
}

static int s_on_event(builder_t *b, const yaml_event_t *ev, err_t *err)
{
    config_t *cfg = b->cfg;
    int line = (int)ev->start_mark.line + 1;
    int rc = 0;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ > 0)
            rc = s_error_at(cfg, line, err, "more than one document in the file");
        b->document_line = line;
        break;
    case YAML_ALIAS_EVENT:
        rc = s_error_at(cfg, line, err, "aliases are not allowed (*%s)",
                        (const char *)ev->data.alias.anchor);
        break;
    case YAML_SCALAR_EVENT:
        rc = s_check_plain(cfg, line, ev->data.scalar.anchor, ev->data.scalar.tag, err);
        if (rc == 0)
            rc = s_add_scalar(b, ev, line, err);
        break;
    case YAML_SEQUENCE_START_EVENT:
        rc = s_check_plain(cfg, line, ev->data.sequence_start.anchor, ev->data.sequence_start.tag,
                           err);
        if (rc == 0)
            rc = s_open_container(b, CONFIG_SEQ, line, err);
        break;
    case YAML_MAPPING_START_EVENT:
        rc = s_check_plain(cfg, line, ev->data.mapping_start.anchor, ev->data.mapping_start.tag,
                           err);
        if (rc == 0)
            rc = s_open_container(b, CONFIG_MAP, line, err);
        break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        if (b->open && b->open->kind == CONFIG_MAP)
            rc = s_check_duplicates(b->open, err);
        if (b->open)
            b->open = b->open->parent;
        break;
    case YAML_STREAM_END_EVENT:
        /* A lone "---" or "~" parses as a null scalar: as empty as nothing. */
        if (!cfg->root || cfg->root->is_null)
            rc = s_error_at(cfg, cfg->root ? b->document_line : line, err, "empty document");
        break;
    default:
        break;
    }
    return rc;
}

static int s_syntax_error(const config_t *cfg, const yaml_parser_t *p, const char *text, size_t len,
                          err_t *err)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line = (int)p->problem_mark.line + 1;
    if (p->error == YAML_MEMORY_ERROR) {
        err_set(err, "%s: out of memory", cfg->path);
    } else if (p->error == YAML_READER_ERROR) {
        /* The reader (encoding checks) reports a byte offset, not a mark. */
        line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += text[i] == '\n';
        s_error_at(cfg, line, err, "%s", problem);
    } else if (p->context) {
        s_error_at(cfg, line, err, "%s (%s at line %d)", problem, p->context,
                   (int)p->context_mark.line + 1);
    } else {
        s_error_at(cfg, line, err, "%s", problem);
    }
    return -1;
}

static int s_build(config_t *cfg, yaml_parser_t *parser, const char *text, size_t len, err_t *err)
{
    builder_t b = {.cfg = cfg};
    yaml_event_t ev;
    bool done = false;
    int rc = 0;
    while (rc == 0 && !done) {
        if (!yaml_parser_parse(parser, &ev)) {
            rc = s_syntax_error(cfg, parser, text, len, err);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = s_on_event(&b, &ev, err);
        yaml_event_delete(&ev);
    }
    return rc;
}

/* ---- loading --------------------------------------------------------- */

config_t *config_parse(const char *name, const char *text, size_t len, err_t *err)
{
    yaml_parser_t parser;
    bool have_parser = false;
    int rc = -1;
    config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->path = strdup(name ? name : "<config>"))) {
        err_set(err, "%s: out of memory", name ? name : "<config>");
        goto out;
    }
    if (!text)
        len = 0;
    if (len > CONFIG_MAX_FILE_BYTES) {
        err_set(err, "%s: larger than %u bytes", cfg->path, CONFIG_MAX_FILE_BYTES);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        err_set(err, "%s: out of memory", cfg->path);
        goto out;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
    rc = s_build(cfg, &parser, text, len, err);
out:
    if (have_parser)
        yaml_parser_delete(&parser);
    if (rc < 0)
        config_destroy(&cfg);
    return cfg;
}

/* Reads the whole stream (works for pipes too, where stat sizes lie),
 * stopping as soon as it is known to be too large. */
static int s_read_all(FILE *f, const char *path, char **out, size_t *out_len, err_t *err)
{
    int rc = -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t want = cap ? cap * 2 : 64 * 1024;
            char *grown;
            if (want > CONFIG_MAX_FILE_BYTES + 1u)
                want = CONFIG_MAX_FILE_BYTES + 1u;
            grown = realloc(buf, want);
            if (!grown) {
                err_set(err, "%s: out of memory", path);
                goto out;
            }
            buf = grown;
            cap = want;
        }
        len += fread(buf + len, 1, cap - len, f);
        if (ferror(f)) {
            err_set(err, "%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (len > CONFIG_MAX_FILE_BYTES) {
            err_set(err, "%s: larger than %u bytes", path, CONFIG_MAX_FILE_BYTES);
            goto out;
        }
        if (feof(f))
            break;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    return rc;
}

config_t *config_load(const char *path, err_t *err)
{
    config_t *cfg = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (s_read_all(f, path, &text, &len, err) < 0)
        goto out;
    cfg = config_parse(path, text, len, err);
out:
    if (f)
        fclose(f);
    free(text);
    return cfg;
}

void config_destroy(config_t **self_p)
{
    config_t *cfg = self_p ? *self_p : NULL;
    if (!cfg)
        return;
    for (config_node_t *node = cfg->nodes, *next; node; node = next) {
        next = node->next_alloc;
        free(node->entries);
        free(node);
    }
    free(cfg->path);
    free(cfg);
    *self_p = NULL;
}

/* ---- inspection ------------------------------------------------------ */

const char *config_path(const config_t *cfg)
{
    return cfg ? cfg->path : NULL;
}

const config_node_t *config_root(const config_t *cfg)
{
    return cfg ? cfg->root : NULL;
}

config_kind_t config_kind(const config_node_t *node)
{
    return node ? node->kind : CONFIG_SCALAR;
}

int config_line(const config_node_t *node)
{
    return node ? node->line : 0;
}

const config_t *config_of(const config_node_t *node)
{
    return node ? node->cfg : NULL;
}

size_t config_len(const config_node_t *node)
{
    return node ? node->len : 0;
}

const config_node_t *config_at(const config_node_t *node, size_t i)
{
    return node && i < node->len ? node->entries[i].value : NULL;
}

const char *config_key_at(const config_node_t *map, size_t i)
{
    return map && map->kind == CONFIG_MAP && i < map->len ? map->entries[i].key->text : NULL;
}

const char *config_scalar(const config_node_t *node)
{
    return node && node->kind == CONFIG_SCALAR ? node->text : NULL;
}

const config_node_t *config_get(const config_node_t *map, const char *key)
{
    const config_node_t *found = NULL;
    if (map && key && map->kind == CONFIG_MAP) {
        for (size_t i = 0; i < map->len && !found; i++)
            if (strcmp(map->entries[i].key->text, key) == 0)
                found = map->entries[i].value;
    }
    return found;
}

/* ---- typed getters --------------------------------------------------- */

/* Finds the value under key, or the node itself when key is NULL (so the
 * getters also check sequence items). Returns 1 when found, 0 when absent
 * and optional, -1 with err filled in otherwise. */
static int s_find(const config_node_t *map, const char *key, bool optional,
                  const config_node_t **out, err_t *err)
{
    if (!map) {
        err_set(err, "key '%s': no configuration node to look in", key ? key : "");
        return -1;
    }
    if (!key) {
        *out = map;
        return 1;
    }
    if (map->kind != CONFIG_MAP)
        return s_wrong_type(map, NULL, "a map", err);
    *out = config_get(map, key);
    if (*out)
        return 1;
    return optional ? 0 : s_fail(map, key, err, "missing");
}

static int s_get_string(const config_node_t *map, const char *key, bool optional, const char **out,
                        err_t *err)
{
    const config_node_t *node = NULL;
    int rc = s_find(map, key, optional, &node, err);
    if (rc <= 0)
        return rc;
    if (node->kind != CONFIG_SCALAR || node->is_null)
        return s_wrong_type(node, key, "a string", err);
    *out = node->text;
    return 0;
}

int config_string(const config_node_t *map, const char *key, const char **out, err_t *err)
{
    return s_get_string(map, key, false, out, err);
}

int config_string_opt(const config_node_t *map, const char *key, const char **out, err_t *err)
{
    return s_get_string(map, key, true, out, err);
}

/* Decimal only: YAML 1.1 also reads 0x1F, 0o17 and 1_000 as integers, but
 * in a config those are more likely typos than intent. */
static bool s_parse_int(const char *s, int64_t *out, bool *overflow)
{
    char *end = NULL;
    long long v;
    const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;
    if (*digits < '0' || *digits > '9') /* strtoll would skip spaces */
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    *overflow = errno == ERANGE;
    *out = (int64_t)v;
    return *end == '\0';
}

static int s_get_int(const config_node_t *map, const char *key, bool optional, int64_t min,
                     int64_t max, int64_t *out, err_t *err)
{
    const config_node_t *node = NULL;
    int64_t v = 0;
    bool overflow = false;
    int rc = s_find(map, key, optional, &node, err);
    if (rc <= 0)
        return rc;
    if (node->kind != CONFIG_SCALAR || node->is_null || !s_parse_int(node->text, &v, &overflow))
        return s_wrong_type(node, key, "an integer", err);
    if (overflow || v < min || v > max)
        return s_fail(node, key, err, "%s is out of range %" PRId64 "..%" PRId64, node->text, min,
                      max);
    *out = v;
    return 0;
}

int config_int(const config_node_t *map, const char *key, int64_t min, int64_t max, int64_t *out,
               err_t *err)
{
    return s_get_int(map, key, false, min, max, out, err);
}

int config_int_opt(const config_node_t *map, const char *key, int64_t min, int64_t max,
                   int64_t *out, err_t *err)
{
    return s_get_int(map, key, true, min, max, out, err);
}

/* Plain decimal notation only: strtod alone would also take "nan", "inf",
 * hex floats and leading spaces. Parsing follows the C locale's '.', which
 * is what the services run with (none calls setlocale). */
static bool s_parse_double(const char *s, double *out, bool *overflow)
{
    char *end = NULL;
    if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    *overflow = errno == ERANGE && !isfinite(*out);
    return *end == '\0';
}

int config_double(const config_node_t *map, const char *key, double min, double max, double *out,
                  err_t *err)
{
    const config_node_t *node = NULL;
    double v = 0;
    bool overflow = false;
    int rc = s_find(map, key, false, &node, err);
    if (rc <= 0)
        return rc;
    if (node->kind != CONFIG_SCALAR || node->is_null || !s_parse_double(node->text, &v, &overflow))
        return s_wrong_type(node, key, "a number", err);
    if (overflow || !(v >= min && v <= max))
        return s_fail(node, key, err, "%s is out of range %g..%g", node->text, min, max);
    *out = v;
    return 0;
}

static int s_get_bool(const config_node_t *map, const char *key, bool optional, bool *out,
                      err_t *err)
{
    static const char *const truths[] = {"true", "yes", "on"};
    static const char *const lies[] = {"false", "no", "off"};
    const config_node_t *node = NULL;
    int rc = s_find(map, key, optional, &node, err);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; node->kind == CONFIG_SCALAR && i < 3; i++) {
        if (strcasecmp(node->text, truths[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(node->text, lies[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return s_wrong_type(node, key, "a boolean (true/false)", err);
}

int config_bool(const config_node_t *map, const char *key, bool *out, err_t *err)
{
    return s_get_bool(map, key, false, out, err);
}

int config_bool_opt(const config_node_t *map, const char *key, bool *out, err_t *err)
{
    return s_get_bool(map, key, true, out, err);
}

static int s_get_kind(const config_node_t *map, const char *key, bool optional, config_kind_t kind,
                      const config_node_t **out, err_t *err)
{
    const config_node_t *node = NULL;
    int rc = s_find(map, key, optional, &node, err);
    if (rc <= 0)
        return rc;
    if (node->kind != kind)
        return s_wrong_type(node, key, kind == CONFIG_MAP ? "a map" : "a sequence", err);
    *out = node;
    return 0;
}

int config_map(const config_node_t *map, const char *key, const config_node_t **out, err_t *err)
{
    return s_get_kind(map, key, false, CONFIG_MAP, out, err);
}

int config_seq(const config_node_t *map, const char *key, const config_node_t **out, err_t *err)
{
    return s_get_kind(map, key, false, CONFIG_SEQ, out, err);
}

int config_seq_opt(const config_node_t *map, const char *key, const config_node_t **out, err_t *err)
{
    return s_get_kind(map, key, true, CONFIG_SEQ, out, err);
}

int config_only_keys(const config_node_t *map, const char *const *allowed, err_t *err)
{
    if (!map)
        return config_error(NULL, err, "no configuration node to check keys of");
    if (map->kind != CONFIG_MAP)
        return s_wrong_type(map, NULL, "a map", err);
    for (size_t i = 0; i < map->len; i++) {
        const config_node_t *key = map->entries[i].key;
        bool known = false;
        for (size_t j = 0; allowed && allowed[j] && !known; j++)
            known = strcmp(allowed[j], key->text) == 0;
        if (!known)
            return config_error(key, err, "unknown key '%s'", key->text);
    }
    return 0;
}
