/* yamlpack.c - YAML to msgpack through libyaml's document tree; see
 * include/yamlpack.h. */
#include "yamlpack.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct packing {
    yaml_document_t *doc; /* borrowed */
    msgpack_packer *pk;   /* borrowed */
    const char *name;     /* for messages */
    err_t *err;
} packing_t;

static int s_fail(const packing_t *p, const yaml_node_t *node, const char *what)
{
    err_set(p->err, "%s:%lu: %s", p->name, (unsigned long)node->start_mark.line + 1, what);
    return -1;
}

/* Types a plain scalar the way YAML 1.2's core schema does. */
static void s_pack_plain(msgpack_packer *pk, const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '~') || (n == 4 && strncasecmp(s, "null", 4) == 0)) {
        msgpack_pack_nil(pk);
        return;
    }
    if (n == 4 && strncasecmp(s, "true", 4) == 0) {
        msgpack_pack_true(pk);
        return;
    }
    if (n == 5 && strncasecmp(s, "false", 5) == 0) {
        msgpack_pack_false(pk);
        return;
    }
    char buf[64];
    if (n < sizeof buf && strchr("+-0123456789.", s[0])) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        char *end = NULL;
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (*end == '\0' && errno == 0) {
            msgpack_pack_int64(pk, v);
            return;
        }
        errno = 0;
        double d = strtod(buf, &end);
        if (*end == '\0' && errno == 0 && isfinite(d) && strpbrk(buf, ".eE")) {
            msgpack_pack_double(pk, d);
            return;
        }
    }
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int s_pack_node(const packing_t *p, const yaml_node_t *node, int depth)
{
    if (!node)
        return -1;
    if (depth > YAMLPACK_MAX_DEPTH)
        return s_fail(p, node, "nested too deeply");
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        size_t n = node->data.scalar.length;
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            s_pack_plain(p->pk, s, n);
        } else {
            msgpack_pack_str(p->pk, n);
            msgpack_pack_str_body(p->pk, s, n);
        }
        return 0;
    }
    case YAML_SEQUENCE_NODE: {
        yaml_node_item_t *item = node->data.sequence.items.start;
        size_t count = (size_t)(node->data.sequence.items.top - item);
        msgpack_pack_array(p->pk, count);
        for (; item < node->data.sequence.items.top; item++)
            if (s_pack_node(p, yaml_document_get_node(p->doc, *item), depth + 1) != 0)
                return -1;
        return 0;
    }
    case YAML_MAPPING_NODE: {
        yaml_node_pair_t *pair = node->data.mapping.pairs.start;
        size_t count = (size_t)(node->data.mapping.pairs.top - pair);
        msgpack_pack_map(p->pk, count);
        for (; pair < node->data.mapping.pairs.top; pair++) {
            const yaml_node_t *key = yaml_document_get_node(p->doc, pair->key);
            if (!key || key->type != YAML_SCALAR_NODE)
                return s_fail(p, node, "map keys must be plain strings");
            msgpack_pack_str(p->pk, key->data.scalar.length);
            msgpack_pack_str_body(p->pk, key->data.scalar.value, key->data.scalar.length);
            if (s_pack_node(p, yaml_document_get_node(p->doc, pair->value), depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    default:
        return s_fail(p, node, "empty node");
    }
}

/* Refuses an alias, as the configuration reader does: libyaml's document
 * loader resolves *x to the node of &x, and packing a tree of aliases of
 * aliases expands it exponentially (485 bytes of YAML would take hours).
 * Events see the alias itself, with its line. A syntax error is left to
 * the loader to report. */
static int s_refuse_aliases(const char *name, const char *text, size_t len, err_t *err)
{
    int rc = 0;
    yaml_parser_t parser;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&parser)) {
        err_set(err, "%s: out of memory", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev))
            break;
        yaml_event_type_t type = ev.type;
        if (type == YAML_ALIAS_EVENT) {
            err_set(err, "%s:%lu: aliases are not allowed (*%s)", name,
                    (unsigned long)ev.start_mark.line + 1, (const char *)ev.data.alias.anchor);
            rc = -1;
        }
        yaml_event_delete(&ev);
        if (rc != 0 || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

int yamlpack_parse(const char *name, const char *text, size_t len, msgpack_packer *pk, err_t *err)
{
    int rc = -1;
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_doc = 0;
    if (!yaml_parser_initialize(&parser)) {
        err_set(err, "%s: out of memory", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (s_refuse_aliases(name, text, len, err) != 0)
        goto out;
    if (!yaml_parser_load(&parser, &doc)) {
        err_set(err, "%s:%lu: %s", name, (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "YAML syntax error");
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        err_set(err, "%s: no YAML document", name);
        goto out;
    }
    packing_t p = {.doc = &doc, .pk = pk, .name = name, .err = err};
    rc = s_pack_node(&p, root, 0);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
