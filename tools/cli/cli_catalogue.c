/* cli_catalogue.c - the event catalogue printed for scripts, people and
 * docs/protocol.md; see cli_catalogue.h. */
#include "cli_catalogue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "mpjson.h"

static void s_json_str(FILE *out, const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    mpjson_print(out, &o);
}

/* One type as a JSON line: its fields and rules, or (examples) a complete
 * event for the Baiyang seed ready for `airguard submit`. */
static void s_print_type(FILE *out, const catalogue_type_t *t, bool examples)
{
    if (examples) {
        fprintf(out, "{\"type\":\"%s\",\"subdistrict\":\"baiyang\",\"body\":%s}\n", t->name,
                t->example);
        return;
    }
    fprintf(out, "{\"type\":\"%s\",\"summary\":", t->name);
    s_json_str(out, t->summary);
    fprintf(out, ",\"fields\":[");
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        fprintf(out, "%s{\"name\":\"%s\",\"kind\":\"%s\",\"required\":%s", i ? "," : "", f->name,
                catalogue_kind_name(f->kind), f->required ? "true" : "false");
        if (f->kind == CAT_NUM)
            fprintf(out, ",\"min\":%g,\"max\":%g", f->fmin, f->fmax);
        else if (f->kind != CAT_BOOL && f->kind != CAT_ENUM && f->kind != CAT_UUID &&
                 f->kind != CAT_DATE)
            fprintf(out, ",\"min\":%lld,\"max\":%lld", (long long)f->min, (long long)f->max);
        if (f->kind == CAT_STR_LIST)
            fprintf(out, ",\"item_max\":%lld", (long long)f->item_max);
        if (f->kind == CAT_REF)
            fprintf(out, ",\"ref\":\"%s\"", catalogue_ref_name(f->ref));
        if (f->values) {
            fprintf(out, ",\"values\":[");
            for (size_t v = 0; f->values[v]; v++)
                fprintf(out, "%s\"%s\"", v ? "," : "", f->values[v]);
            fprintf(out, "]");
        }
        if (f->flags & CAT_F_CONFIDENTIAL)
            fprintf(out, ",\"confidential\":true");
        if (f->flags & CAT_F_DIGEST)
            fprintf(out, ",\"digest\":true");
        fprintf(out, ",\"doc\":");
        s_json_str(out, f->doc);
        fprintf(out, "}");
    }
    fprintf(out, "],\"rules\":[");
    static const char *const kinds[] = {"", "any_of", "with", "when", "not_after"};
    for (size_t i = 0; i < t->n_rules; i++) {
        const catalogue_rule_t *r = &t->rules[i];
        fprintf(out, "%s{\"rule\":\"%s\",\"a\":\"%s\"", i ? "," : "", kinds[r->kind], r->a);
        if (r->b)
            fprintf(out, ",\"b\":\"%s\"", r->b);
        if (r->c)
            fprintf(out, ",\"c\":\"%s\"", r->c);
        fprintf(out, "}");
    }
    fprintf(out, "],\"example\":%s}\n", t->example);
}

/* The "limits" cell of a field in docs/protocol.md. */
static void s_md_limits(FILE *out, const catalogue_field_t *f)
{
    switch (f->kind) {
    case CAT_STR:
    case CAT_TEXT:
    case CAT_CODE:
    case CAT_PHONE:
        if (f->min == f->max)
            fprintf(out, "%lld bytes", (long long)f->min);
        else
            fprintf(out, "%lld .. %lld bytes", (long long)f->min, (long long)f->max);
        break;
    case CAT_INT:
        fprintf(out, "%lld .. %lld", (long long)f->min, (long long)f->max);
        break;
    case CAT_NUM:
        fprintf(out, "%g .. %g", f->fmin, f->fmax);
        break;
    case CAT_ENUM:
        for (size_t v = 0; f->values[v]; v++)
            fprintf(out, "%s`%s`", v ? ", " : "", f->values[v]);
        break;
    case CAT_UUID:
        fprintf(out, "canonical UUID");
        break;
    case CAT_DATE:
        fprintf(out, "`YYYY-MM-DD`");
        break;
    case CAT_REF:
        fprintf(out, "id of a **%s** of the subdistrict", catalogue_ref_name(f->ref));
        break;
    case CAT_STR_LIST:
        fprintf(out, "%lld .. %lld items of 1 .. %lld bytes", (long long)f->min, (long long)f->max,
                (long long)f->item_max);
        break;
    case CAT_BOOL:
        break;
    }
}

/* The "Rules:" line of a type, when it has rules. */
static void s_md_rules(FILE *out, const catalogue_type_t *t)
{
    if (t->n_rules == 0)
        return;
    fprintf(out, "Rules: ");
    for (size_t i = 0; i < t->n_rules; i++) {
        const catalogue_rule_t *r = &t->rules[i];
        fprintf(out, "%s", i ? "; " : "");
        switch (r->kind) {
        case CAT_RULE_ANY_OF:
            fprintf(out, "at least one of ");
            for (const char *p = r->a; *p;) {
                size_t n = strcspn(p, ",");
                fprintf(out, "%s`%.*s`", p == r->a ? "" : ", ", (int)n, p);
                p += n + (p[n] == ',');
            }
            fprintf(out, " (E_MISSING names the first)");
            break;
        case CAT_RULE_WITH:
            fprintf(out, "`%s` is required when `%s` is given", r->b, r->a);
            break;
        case CAT_RULE_WHEN:
            fprintf(out, "`%s` is required when `%s` is `%s`", r->c, r->a, r->b);
            break;
        case CAT_RULE_NOT_AFTER:
            fprintf(out, "`%s` must not be greater than `%s` (E_RANGE on `%s`)", r->a, r->b, r->a);
            break;
        }
    }
    fprintf(out, ".\n\n");
}

/* One type as the section of docs/protocol.md that describes it. */
static void s_print_markdown(FILE *out, const catalogue_type_t *t)
{
    fprintf(out, "### `%s`\n\n%s.\n\n", t->name, t->summary);
    fprintf(out, "| field | type | req | limits | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        fprintf(out, "| `%s` | %s | %s | ", f->name, catalogue_kind_name(f->kind),
                f->required ? "yes" : "");
        s_md_limits(out, f);
        fprintf(out, " | %s%s%s |\n", f->doc,
                f->flags & CAT_F_CONFIDENTIAL ? " **confidential**" : "",
                f->flags & CAT_F_DIGEST ? " **set by intake: never send it**" : "");
    }
    fprintf(out, "\n");
    s_md_rules(out, t);
    fprintf(out, "Example body: `%s`\n\n", t->example);
}

/* A field's limits as plain text (the markdown cell without its marks). */
static void s_plain_limits(const catalogue_field_t *f, char *buf, size_t size)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    buf[0] = '\0';
    if (!m)
        return;
    s_md_limits(m, f);
    fclose(m);
    size_t k = 0;
    for (size_t i = 0; text[i] && k + 1 < size; i++)
        if (text[i] != '`' && text[i] != '*')
            buf[k++] = text[i];
    buf[k] = '\0';
    free(text);
}

/* Every type, one line each: name, number of fields, summary; then the
 * fields, required ones marked with '*'. */
static void s_table_all(FILE *out)
{
    int w = 4;
    for (size_t i = 0; i < catalogue_count(); i++)
        if ((int)strlen(catalogue_at(i)->name) > w)
            w = (int)strlen(catalogue_at(i)->name);
    fprintf(out, "%-*s  %s\n", w, "TYPE", "SUMMARY / FIELDS (* required)");
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        fprintf(out, "%-*s  %s\n%-*s  ", w, t->name, t->summary, w, "");
        for (size_t k = 0; k < t->n_fields; k++)
            if (!(t->fields[k].flags & CAT_F_DIGEST))
                fprintf(out, "%s%s%s", k ? ", " : "", t->fields[k].name,
                        t->fields[k].required ? "*" : "");
        fputc('\n', out);
    }
    fprintf(out, "\n`airguard catalogue TYPE` shows a type's fields and limits; --json for "
                 "JSON lines, --examples for events to submit.\n");
}

/* One type: its fields as a table, its rules and its example body. */
static void s_table_one(FILE *out, const catalogue_type_t *t)
{
    int wn = 5, wk = 4, wl = 6;
    char limits[512];
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        s_plain_limits(f, limits, sizeof limits);
        wn = (int)strlen(f->name) > wn ? (int)strlen(f->name) : wn;
        wk = (int)strlen(catalogue_kind_name(f->kind)) > wk
                 ? (int)strlen(catalogue_kind_name(f->kind))
                 : wk;
        wl = (int)strlen(limits) > wl ? (int)strlen(limits) : wl;
    }
    if (wl > 48)
        wl = 48;
    fprintf(out, "%s: %s\n\n%-*s  %-*s  %-3s  %-*s  %s\n", t->name, t->summary, wn, "FIELD", wk,
            "KIND", "REQ", wl, "LIMITS", "MEANING");
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        s_plain_limits(f, limits, sizeof limits);
        fprintf(out, "%-*s  %-*s  %-3s  %-*s  %s%s%s\n", wn, f->name, wk,
                catalogue_kind_name(f->kind), f->required ? "yes" : "", wl, limits, f->doc,
                f->flags & CAT_F_CONFIDENTIAL ? " (confidential)" : "",
                f->flags & CAT_F_DIGEST ? " (set by intake: never send it)" : "");
    }
    fputc('\n', out);
    s_md_rules(out, t);
    fprintf(out, "Example body: %s\n", t->example);
}

int cli_catalogue_print(FILE *out, const char *type, cli_catalogue_form_t form)
{
    size_t from = 0, to = catalogue_count();
    if (type) {
        const catalogue_type_t *t = catalogue_find(type);
        if (!t) {
            fprintf(stderr, "airguard: no event type '%s' (airguard catalogue lists them)\n", type);
            return 1;
        }
        for (from = 0; catalogue_at(from) != t; from++)
            ;
        to = from + 1;
    }
    if (form == CLI_CATALOGUE_TABLE) {
        if (type)
            s_table_one(out, catalogue_at(from));
        else
            s_table_all(out);
        return 0;
    }
    for (size_t i = from; i < to; i++) {
        if (form == CLI_CATALOGUE_MARKDOWN)
            s_print_markdown(out, catalogue_at(i));
        else
            s_print_type(out, catalogue_at(i), form == CLI_CATALOGUE_EXAMPLES);
    }
    return 0;
}
