/* test_catalogue.c - the event catalogue as data: every type is found by
 * its name, names and fields are well formed, enums have values, references
 * say what they name, confidential fields come with exactly one digest
 * field, and rules name fields of their type. Checking bodies against the
 * table is test_bodycheck.c. */
#include "catalogue.h"

#include <string.h>

#include "check.h"
#include "uuid.h"

static void test_table_is_consistent(void)
{
    CHECK(catalogue_count() >= 24);
    for (size_t i = 0; i < catalogue_count(); i++) {
        const catalogue_type_t *t = catalogue_at(i);
        CHECKF(uuid_is_canonical("00000000-0000-0000-0000-000000000000", 36), "uuid helper");
        CHECKF(catalogue_find(t->name) == t, "%s: not found by name (duplicate?)", t->name);
        for (const char *p = t->name; *p; p++)
            CHECKF((*p >= 'a' && *p <= 'z') || *p == '_' || *p == '.', "%s: bad type charset",
                   t->name);
        CHECKF(t->n_fields > 0 && t->n_fields <= 32 && t->summary && t->example, "%s", t->name);
        int confidential = 0, digests = 0;
        for (size_t f = 0; f < t->n_fields; f++) {
            const catalogue_field_t *fd = &t->fields[f];
            CHECKF(catalogue_field(t, fd->name) == fd, "%s.%s duplicated", t->name, fd->name);
            CHECKF(fd->doc && fd->kind >= CAT_STR && fd->kind <= CAT_STR_LIST, "%s.%s", t->name,
                   fd->name);
            CHECKF(fd->kind != CAT_ENUM || (fd->values && fd->values[0]), "%s.%s no values",
                   t->name, fd->name);
            CHECKF(fd->kind != CAT_REF || fd->ref != CAT_REF_NONE, "%s.%s no ref", t->name,
                   fd->name);
            CHECKF(!(fd->flags & (CAT_F_CONFIDENTIAL | CAT_F_DIGEST)) || !fd->required,
                   "%s.%s: confidential and digest fields are optional", t->name, fd->name);
            confidential += (fd->flags & CAT_F_CONFIDENTIAL) != 0;
            digests += (fd->flags & CAT_F_DIGEST) != 0;
        }
        /* intake needs exactly one place to put the digest of the contact */
        CHECKF(digests == (confidential > 0 ? 1 : 0), "%s: %d digest fields for %d confidential",
               t->name, digests, confidential);
        for (size_t r = 0; r < t->n_rules; r++) {
            const catalogue_rule_t *rule = &t->rules[r];
            if (rule->kind == CAT_RULE_ANY_OF)
                continue;
            CHECKF(catalogue_field(t, rule->a), "%s: rule names unknown field %s", t->name,
                   rule->a);
            CHECKF(rule->kind == CAT_RULE_WHEN || catalogue_field(t, rule->b),
                   "%s: rule names unknown field %s", t->name, rule->b);
            CHECKF(rule->kind != CAT_RULE_WHEN || catalogue_field(t, rule->c),
                   "%s: rule names unknown field %s", t->name, rule->c);
        }
    }
    CHECK(catalogue_find("no.such_type") == NULL && catalogue_find(NULL) == NULL);
}

static void test_names_for_documentation(void)
{
    CHECK(!strcmp(catalogue_kind_name(CAT_STR), "str"));
    CHECK(!strcmp(catalogue_kind_name(CAT_STR_LIST), "str[]"));
    CHECK(!strcmp(catalogue_ref_name(CAT_REF_GRID), "grid"));
    CHECK(!strcmp(catalogue_ref_name((catalogue_ref_t)99), "?"));
}

int main(void)
{
    RUN(test_table_is_consistent);
    RUN(test_names_for_documentation);
    return check_summary();
}
