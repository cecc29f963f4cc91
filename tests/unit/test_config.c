/* test_config.c - config_load/config_parse and the typed getters: the tree,
 * its line numbers, and the exact "file:line: key 'k': ..." messages that
 * operators will read. Files are written under a mkdtemp() directory. */
#include "check.h"
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];
static char s_files[64][128];
static int s_nfiles;

/* Writes text to <tmpdir>/name and returns the path (static storage per
 * file, removed at the end of main). */
static const char *s_write(const char *name, const char *text)
{
    char *path = s_files[s_nfiles < 63 ? s_nfiles++ : 63];
    FILE *f;
    snprintf(path, sizeof s_files[0], "%s/%s", s_dir, name);
    f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Loads text written to a file called name; err receives the message. */
static config_t *s_load(const char *name, const char *text, err_t *err, const char **path)
{
    const char *p = s_write(name, text);
    if (path)
        *path = p;
    err_clear(err);
    return config_load(p, err);
}

static const char campaign[] = "# Baiyang 2019 campaign\n" /* 1 */
                               "name: 白马 campaign\n"     /* 2 */
                               "port: 8080\n"              /* 3 */
                               "ratio: 0.75\n"             /* 4 */
                               "enabled: Yes\n"            /* 5 */
                               "community:\n"              /* 6 */
                               "  name: \"白马\"\n"        /* 7 */
                               "  id: \"123\"\n"           /* 8 */
                               "grids:\n"                  /* 9 */
                               "  - id: 1\n"               /* 10 */
                               "    label: north\n"        /* 11 */
                               "  - id: -2\n"              /* 12 */
                               "    label: 'south'\n"      /* 13 */
                               "tags: [x, y, 42]\n"        /* 14 */
                               "note: |\n"                 /* 15 */
                               "  two\n"                   /* 16 */
                               "  lines\n"                 /* 17 */
                               "nothing:\n"                /* 18 */
                               "quoted_null: \"null\"\n";  /* 19 */

static void test_round_trip(void)
{
    err_t err;
    const char *path, *s = NULL;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const config_node_t *community = NULL, *grids = NULL, *tags = NULL;
    config_t *cfg = s_load("campaign.yaml", campaign, &err, &path);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    const config_node_t *root = config_root(cfg);
    CHECK(strcmp(config_path(cfg), path) == 0);
    CHECK(config_kind(root) == CONFIG_MAP);
    CHECK(config_line(root) == 2);
    CHECK(config_of(root) == cfg);
    CHECK(config_len(root) == 10);
    CHECK(strcmp(config_key_at(root, 0), "name") == 0);
    CHECK(strcmp(config_key_at(root, 9), "quoted_null") == 0);
    CHECK(config_key_at(root, 10) == NULL);
    CHECK(config_at(root, 10) == NULL);

    CHECK(config_string(root, "name", &s, &err) == 0 && strcmp(s, "白马 campaign") == 0);
    CHECK(config_int(root, "port", 1, 65535, &i, &err) == 0 && i == 8080);
    CHECK(config_line(config_get(root, "port")) == 3);
    /* A plain scalar is text too when a string is asked for. */
    CHECK(config_string(root, "port", &s, &err) == 0 && strcmp(s, "8080") == 0);
    CHECK(config_double(root, "ratio", 0, 1, &d, &err) == 0 && d == 0.75);
    CHECK(config_bool(root, "enabled", &b, &err) == 0 && b);

    CHECK(config_map(root, "community", &community, &err) == 0);
    CHECK(config_line(community) == 7);
    CHECK(config_string(community, "name", &s, &err) == 0 && strcmp(s, "白马") == 0);
    CHECK(config_string(community, "id", &s, &err) == 0 && strcmp(s, "123") == 0);
    CHECK(config_line(config_get(community, "id")) == 8);

    CHECK(config_seq(root, "grids", &grids, &err) == 0);
    CHECK(config_kind(grids) == CONFIG_SEQ && config_len(grids) == 2);
    CHECK(config_line(config_at(grids, 1)) == 12);
    CHECK(config_int(config_at(grids, 1), "id", -10, 10, &i, &err) == 0 && i == -2);
    CHECK(config_string(config_at(grids, 1), "label", &s, &err) == 0 && strcmp(s, "south") == 0);
    CHECK(config_line(config_get(config_at(grids, 1), "label")) == 13);
    CHECK(config_key_at(grids, 0) == NULL);
    CHECK(config_get(grids, "id") == NULL);

    /* Items are checked with key == NULL: the node itself. */
    CHECK(config_seq(root, "tags", &tags, &err) == 0 && config_len(tags) == 3);
    CHECK(strcmp(config_scalar(config_at(tags, 0)), "x") == 0);
    CHECK(config_int(config_at(tags, 2), NULL, 0, 100, &i, &err) == 0 && i == 42);
    CHECK(config_int(config_at(tags, 1), NULL, 0, 100, &i, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":14: expected an integer, got 'y'"), "%s", err.msg);

    CHECK(config_string(root, "note", &s, &err) == 0 && strcmp(s, "two\nlines\n") == 0);
    CHECK(config_line(config_get(root, "note")) == 15);
    CHECK(config_scalar(root) == NULL);

    /* An empty value is present but null. */
    CHECK(config_get(root, "nothing") != NULL);
    CHECK(config_string(root, "nothing", &s, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":18: key 'nothing': expected a string, got null"), "%s", err.msg);
    CHECK(config_string_opt(root, "nothing", &s, &err) == -1);
    CHECK(config_string(root, "quoted_null", &s, &err) == 0 && strcmp(s, "null") == 0);

    config_destroy(&cfg);
    CHECK(cfg == NULL);
    config_destroy(&cfg);
    config_destroy(NULL);
}

static void test_missing_file(void)
{
    err_t err;
    char path[128], want[256];
    snprintf(path, sizeof path, "%s/absent.yaml", s_dir);
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    config_t *cfg = config_load(path, &err);
    CHECK(cfg == NULL);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
}

static void test_syntax_error(void)
{
    err_t err;
    const char *path;
    char want[256];
    config_t *cfg = s_load("syntax.yaml", "a: 1\nb: 2\n  c: 3\n", &err, &path);
    CHECK(cfg == NULL);
    snprintf(want, sizeof want, "%s:3: ", path);
    CHECKF(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    CHECKF(CONTAINS(err.msg, "mapping values are not allowed"), "%s", err.msg);

    cfg = s_load("flow.yaml", "a: [1, 2\nb: 3\n", &err, &path);
    CHECK(cfg == NULL);
    CHECKF(CONTAINS(err.msg, "flow.yaml:") && CONTAINS(err.msg, "while parsing a flow sequence"),
           "%s", err.msg);

    /* Encoding errors come with a byte offset; the line is computed. */
    cfg = s_load("utf8.yaml", "a: 1\nb: 2\nc: \xff\n", &err, &path);
    CHECK(cfg == NULL);
    CHECKF(CONTAINS(err.msg, "utf8.yaml:3: ") && CONTAINS(err.msg, "UTF-8"), "%s", err.msg);
}

static void test_missing_key(void)
{
    err_t err;
    const char *path, *s = "default";
    int64_t i = 0;
    char want[256];
    config_t *cfg = s_load("missing.yaml", "\n\nhost: db\nuser: x\n", &err, &path);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    CHECK(config_int(config_root(cfg), "port", 1, 65535, &i, &err) == -1);
    snprintf(want, sizeof want, "%s:3: key 'port': missing", path);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(config_string(config_root(cfg), "password", &s, &err) == -1);
    CHECK(strcmp(s, "default") == 0);
    CHECKF(CONTAINS(err.msg, ":3: key 'password': missing"), "%s", err.msg);
    config_destroy(&cfg);
}

static void test_wrong_type(void)
{
    static const char text[] = "port: abc\n"   /* 1 */
                               "n1: 80x\n"     /* 2 */
                               "n2: 1.5\n"     /* 3 */
                               "n3: 0x10\n"    /* 4 */
                               "n4: \" 12\"\n" /* 5 */
                               "n5: ''\n"      /* 6 */
                               "sub: {a: 1}\n" /* 7 */
                               "flag: maybe\n" /* 8 */
                               "x1: nan\n"     /* 9 */
                               "x2: inf\n"     /* 10 */
                               "x3: 1.5kg\n"   /* 11 */
                               "x4: 0x1p3\n"   /* 12 */
                               "list: [1]\n"   /* 13 */
                               "ok: '42'\n";   /* 14 */
    static const char *const bad_ints[] = {"n1", "n2", "n3", "n4", "n5"};
    static const char *const bad_doubles[] = {"x1", "x2", "x3", "x4", "port"};
    err_t err;
    const char *path, *s = NULL;
    int64_t i = 7;
    double d = 7;
    bool b = true;
    const config_node_t *node = NULL;
    char want[256];
    config_t *cfg = s_load("types.yaml", text, &err, &path);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    const config_node_t *root = config_root(cfg);
    CHECK(config_int(root, "port", 1, 65535, &i, &err) == -1);
    snprintf(want, sizeof want, "%s:1: key 'port': expected an integer, got 'abc'", path);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    for (size_t k = 0; k < sizeof bad_ints / sizeof bad_ints[0]; k++) {
        err_clear(&err);
        CHECKF(config_int(root, bad_ints[k], INT64_MIN, INT64_MAX, &i, &err) == -1, "%s",
               bad_ints[k]);
        CHECKF(CONTAINS(err.msg, "expected an integer, got '"), "%s", err.msg);
    }
    CHECK(i == 7);
    CHECK(config_int(root, "sub", 0, 10, &i, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":7: key 'sub': expected an integer, got a map"), "%s", err.msg);
    CHECK(config_bool(root, "flag", &b, &err) == -1 && b);
    CHECKF(CONTAINS(err.msg, ":8: key 'flag': expected a boolean"), "%s", err.msg);
    CHECKF(CONTAINS(err.msg, "got 'maybe'"), "%s", err.msg);
    for (size_t k = 0; k < sizeof bad_doubles / sizeof bad_doubles[0]; k++) {
        err_clear(&err);
        CHECKF(config_double(root, bad_doubles[k], -1e300, 1e300, &d, &err) == -1, "%s",
               bad_doubles[k]);
        CHECKF(CONTAINS(err.msg, "expected a number, got '"), "%s", err.msg);
    }
    CHECK(d == 7);
    CHECK(config_string(root, "list", &s, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":13: key 'list': expected a string, got a sequence"), "%s", err.msg);
    CHECK(config_map(root, "list", &node, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":13: key 'list': expected a map"), "%s", err.msg);
    CHECK(config_seq(root, "sub", &node, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":7: key 'sub': expected a sequence"), "%s", err.msg);
    CHECK(node == NULL);
    /* Looking a key up in something that is not a map names that node. */
    CHECK(config_int(config_get(root, "list"), "port", 0, 1, &i, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":13: expected a map, got a sequence"), "%s", err.msg);
    /* Numbers are read from quoted text too; the quotes only matter for null. */
    CHECK(config_int(root, "ok", 0, 100, &i, &err) == 0 && i == 42);
    config_destroy(&cfg);
}

static void test_out_of_range(void)
{
    static const char text[] = "port: 70000\n"
                               "big: 99999999999999999999\n"
                               "max: 9223372036854775807\n"
                               "min: -9223372036854775808\n"
                               "neg: -5\n"
                               "ratio: 1.5\n"
                               "huge: 1e999\n"
                               "tiny: -0.25e-1\n";
    err_t err;
    const char *path;
    int64_t i = 0;
    double d = 0;
    char want[256];
    config_t *cfg = s_load("range.yaml", text, &err, &path);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    const config_node_t *root = config_root(cfg);
    CHECK(config_int(root, "port", 1, 65535, &i, &err) == -1 && i == 0);
    snprintf(want, sizeof want, "%s:1: key 'port': 70000 is out of range 1..65535", path);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(config_int(root, "big", INT64_MIN, INT64_MAX, &i, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":2: key 'big': 99999999999999999999 is out of range"), "%s", err.msg);
    CHECK(config_int(root, "max", INT64_MIN, INT64_MAX, &i, &err) == 0 && i == INT64_MAX);
    CHECK(config_int(root, "min", INT64_MIN, INT64_MAX, &i, &err) == 0 && i == INT64_MIN);
    CHECK(config_int(root, "neg", 0, 10, &i, &err) == -1);
    CHECKF(CONTAINS(err.msg, "key 'neg': -5 is out of range 0..10"), "%s", err.msg);
    CHECK(config_int(root, "neg", -10, 10, &i, &err) == 0 && i == -5);
    CHECK(config_double(root, "ratio", 0, 1, &d, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":6: key 'ratio': 1.5 is out of range 0..1"), "%s", err.msg);
    CHECK(config_double(root, "huge", -1e308, 1e308, &d, &err) == -1);
    CHECKF(CONTAINS(err.msg, ":7: key 'huge': 1e999 is out of range"), "%s", err.msg);
    CHECK(config_double(root, "tiny", -1, 1, &d, &err) == 0 && d == -0.025);
    config_destroy(&cfg);
}

static void test_refused_documents(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a: 1\nb: 2\na: 3\n", ":3: duplicate key 'a' (first at line 1)"},
        {"grids:\n  - id: 1\n    id: 2\n", ":3: duplicate key 'id' (first at line 2)"},
        {"{x: 1, y: 2, x: 3}\n", ":1: duplicate key 'x'"},
        {"base: &b 1\nother: *b\n", ":1: anchors are not allowed (&b)"},
        {"a: 1\nb: *nowhere\n", ":2: aliases are not allowed (*nowhere)"},
        {"a: 1\nb: !!str 2\n", ":2: tags are not allowed"},
        {"a: !custom {x: 1}\n", ":1: tags are not allowed"},
        {"a: 1\n---\nb: 2\n", ":2: more than one document"},
        {"", ":1: empty document"},
        {"# nothing but a comment\n", "empty document"},
        {"---\n", ":1: empty document"},
        {"? [a, b]\n: 1\n", ":1: map keys must be scalars, not a sequence"},
        {"a: \"x\\0y\"\n", ":1: scalar contains a NUL character"},
    };
    err_t err;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *path;
        config_t *cfg = s_load("refused.yaml", cases[k].text, &err, &path);
        CHECKF(cfg == NULL, "case %zu loaded", k);
        CHECKF(strncmp(err.msg, path, strlen(path)) == 0, "case %zu: %s", k, err.msg);
        CHECKF(CONTAINS(err.msg, cases[k].want), "case %zu: %s", k, err.msg);
        config_destroy(&cfg);
    }
}

static void test_only_keys(void)
{
    static const char *const allowed[] = {"host", "port", "tls", NULL};
    err_t err;
    const char *path;
    char want[256];
    config_t *cfg = s_load("keys.yaml", "host: db\nprot: 5432\ntls: on\n", &err, &path);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    CHECK(config_only_keys(config_root(cfg), allowed, &err) == -1);
    snprintf(want, sizeof want, "%s:2: unknown key 'prot'", path);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    config_destroy(&cfg);

    cfg = s_load("keys_ok.yaml", "port: 5432\nhost: db\n", &err, NULL);
    CHECKF(cfg != NULL, "%s", err.msg);
    err_clear(&err);
    CHECK(config_only_keys(config_root(cfg), allowed, &err) == 0);
    CHECK(err.msg[0] == '\0');
    config_destroy(&cfg);
}

static void test_opt_defaults(void)
{
    err_t err;
    const char *s = "dflt";
    int64_t i = 5432;
    bool b = true;
    const config_node_t *seq = NULL;
    config_t *cfg = s_load("opt.yaml", "name: x\nport: many\nverbose: off\n", &err, NULL);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    const config_node_t *root = config_root(cfg);
    CHECK(config_string_opt(root, "absent", &s, &err) == 0 && strcmp(s, "dflt") == 0);
    CHECK(config_int_opt(root, "absent", 1, 65535, &i, &err) == 0 && i == 5432);
    CHECK(config_bool_opt(root, "absent", &b, &err) == 0 && b);
    CHECK(config_seq_opt(root, "absent", &seq, &err) == 0 && seq == NULL);
    /* Present but wrong is still an error. */
    CHECK(config_int_opt(root, "port", 1, 65535, &i, &err) == -1 && i == 5432);
    CHECKF(CONTAINS(err.msg, ":2: key 'port': expected an integer, got 'many'"), "%s", err.msg);
    CHECK(config_seq_opt(root, "name", &seq, &err) == -1 && seq == NULL);
    CHECKF(CONTAINS(err.msg, ":1: key 'name': expected a sequence"), "%s", err.msg);
    CHECK(config_bool_opt(root, "verbose", &b, &err) == 0 && !b);
    CHECK(config_string_opt(root, "name", &s, &err) == 0 && strcmp(s, "x") == 0);
    config_destroy(&cfg);
}

static void test_config_error(void)
{
    err_t err;
    char want[256];
    static const char text[] = "a: 1\n\ncommunity: 99\n";
    config_t *cfg = config_parse("seeds/baiyang-2019.yaml", text, strlen(text), &err);
    CHECKF(cfg != NULL, "%s", err.msg);
    if (!cfg)
        return;
    const config_node_t *node = config_get(config_root(cfg), "community");
    CHECK(config_error(node, &err, "unknown community id %d", 99) == -1);
    snprintf(want, sizeof want, "seeds/baiyang-2019.yaml:3: unknown community id 99");
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(config_error(NULL, &err, "no node %s", "here") == -1);
    CHECK(strcmp(err.msg, "no node here") == 0);
    CHECK(config_error(node, NULL, "ignored") == -1);
    config_destroy(&cfg);
}

static void test_limits(void)
{
    err_t err;
    char path[128];
    enum { DEPTH = 5000 };
    char *deep = malloc(2 * DEPTH + 2);
    FILE *f;
    config_t *cfg;

    /* Nesting is handled without recursion. */
    CHECK(deep != NULL);
    if (deep) {
        memset(deep, '[', DEPTH);
        memset(deep + DEPTH, ']', DEPTH);
        deep[2 * DEPTH] = '\n';
        deep[2 * DEPTH + 1] = '\0';
        cfg = config_parse("deep", deep, strlen(deep), &err);
        CHECKF(cfg != NULL, "%s", err.msg);
        CHECK(config_len(config_root(cfg)) == 1);
        config_destroy(&cfg);
        free(deep);
    }

    /* One byte over the limit is refused before parsing. */
    snprintf(path, sizeof path, "%s/big.yaml", s_dir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(ftruncate(fileno(f), (off_t)CONFIG_MAX_FILE_BYTES + 1) == 0);
        fclose(f);
        cfg = config_load(path, &err);
        CHECK(cfg == NULL);
        CHECKF(CONTAINS(err.msg, "big.yaml: larger than"), "%s", err.msg);
        unlink(path);
    }

    /* A scalar document is allowed; getters on it ask for a map. */
    cfg = config_parse("scalar", "just text", 9, &err);
    CHECKF(cfg != NULL, "%s", err.msg);
    CHECK(strcmp(config_scalar(config_root(cfg)), "just text") == 0);
    CHECK(config_only_keys(config_root(cfg), NULL, &err) == -1);
    CHECKF(CONTAINS(err.msg, "scalar:1: expected a map, got 'just text'"), "%s", err.msg);
    config_destroy(&cfg);
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/airguard-test-config-XXXXXX");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_missing_file);
    RUN(test_syntax_error);
    RUN(test_missing_key);
    RUN(test_wrong_type);
    RUN(test_out_of_range);
    RUN(test_refused_documents);
    RUN(test_only_keys);
    RUN(test_opt_defaults);
    RUN(test_config_error);
    RUN(test_limits);
    for (int k = 0; k < s_nfiles; k++)
        unlink(s_files[k]);
    rmdir(s_dir);
    return check_summary();
}
