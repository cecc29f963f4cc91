/* bodycheck.c - checks a msgpack event body against its catalogue type
 * without allocating; see include/bodycheck.h. The types themselves are
 * data in catalogue.c. */
#include "bodycheck.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "civildate.h"
#include "mp.h"
#include "quote.h"
#include "uuid.h"

const char *bodycheck_status_code(bodycheck_status_t status)
{
    static const char *const codes[] = {
        "OK",          "E_MISSING",     "E_TYPE",        "E_RANGE", "E_UNKNOWN_KEY",
        "E_MALFORMED", "E_UNKNOWN_REF", "E_REF_MISMATCH"};
    /* Only a bug can produce another value; the client sees what it is. */
    return (size_t)status < sizeof codes / sizeof codes[0] ? codes[status] : "E_INTERNAL";
}

/* ---- checking -------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid);
 * its code point in *cp. */
static size_t s_utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    *cp = c;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned v = c & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Code points no string may hold: controls (C0 but what text allows, DEL,
 * C1) and the invisible marks that change how a text reads without being
 * seen (bidi overrides and isolates, LRM/RLM, line/paragraph separators):
 * a name checked as "王某" must not display as something else. */
static bool s_forbidden_cp(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Checks the characters of a string field; 0 or -1 with err. */
static int s_check_chars(const char *name, catalogue_kind_t kind, const char *s, size_t len,
                         err_t *err)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t step = s_utf8_seq(p + i, len - i, &cp);
        if (step == 0) {
            err_set(err, "field '%s': not valid UTF-8 at byte %zu", name, i);
            return -1;
        }
        bool ok;
        switch (kind) {
        case CAT_CODE:
            ok = (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_' || cp == '.' ||
                 cp == '-';
            break;
        case CAT_PHONE:
            ok = (cp >= '0' && cp <= '9') || cp == '+' || cp == '-' || cp == ' ';
            break;
        case CAT_TEXT:
            /* Line breaks as LF or CRLF (what Windows clients send); a lone
             * CR is refused: terminals use it to overwrite a line. */
            ok = !s_forbidden_cp(cp) || cp == '\n' || cp == '\t' ||
                 (cp == '\r' && i + 1 < len && p[i + 1] == '\n');
            break;
        default:
            ok = !s_forbidden_cp(cp);
            break;
        }
        if (!ok) {
            err_set(err, "field '%s': character U+%04X at byte %zu is not allowed in a %s", name,
                    cp, i, catalogue_kind_name(kind));
            return -1;
        }
        i += step;
    }
    return 0;
}

/* A str value of f within min..max bytes with the kind's charset. */
static bodycheck_status_t s_check_str(const catalogue_field_t *f, const msgpack_object *o,
                                      int64_t min, int64_t max, err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        err_set(err, "field '%s': expected str, got %s", f->name, mp_type_name(o->type));
        return BODYCHECK_E_TYPE;
    }
    size_t len = o->via.str.size;
    if ((int64_t)len < min || (int64_t)len > max) {
        err_set(err, "field '%s': %zu bytes, expected %" PRId64 "..%" PRId64, f->name, len, min,
                max);
        return BODYCHECK_E_RANGE;
    }
    catalogue_kind_t chars = f->kind == CAT_STR_LIST ? CAT_STR : f->kind;
    if (chars == CAT_ENUM || chars == CAT_UUID || chars == CAT_DATE || chars == CAT_REF)
        chars = CAT_STR;
    return s_check_chars(f->name, chars, o->via.str.ptr, len, err) == 0 ? BODYCHECK_OK
                                                                        : BODYCHECK_E_RANGE;
}

/* The place a reference names, for the agreement check. */
typedef struct place {
    const char *field;               /* the body field */
    const char *community;           /* community id it lies in, NULL when it has none */
    const char *grid;                /* grid id, for grids, compounds and schools */
    const campaign_key_area_t *area; /* key area, for key areas and checkpoints */
} place_t;

/* Finds a compound (or school) id among every grid of c. */
static const campaign_grid_t *s_grid_of_place(const campaign_t *c, const char *id, bool school)
{
    for (size_t g = 0; g < c->n_grids; g++) {
        const campaign_grid_t *grid = &c->grids[g];
        const campaign_place_t *list = school ? grid->schools : grid->compounds;
        size_t n = school ? grid->n_schools : grid->n_compounds;
        for (size_t i = 0; i < n; i++)
            if (strcmp(list[i].id, id) == 0)
                return grid;
    }
    return NULL;
}

/* Resolves a reference; fills where (community/grid) for places. Returns
 * false when the id is not in the campaign. */
static bool s_resolve(const campaign_t *c, catalogue_ref_t ref, const char *id, place_t *where)
{
    const campaign_grid_t *grid;
    const campaign_key_area_t *area;
    const campaign_group_t *group;
    switch (ref) {
    case CAT_REF_COMMUNITY:
        if (!campaign_find_community(c, id))
            return false;
        where->community = campaign_find_community(c, id)->id;
        return true;
    case CAT_REF_GRID:
        if (!(grid = campaign_find_grid(c, id)))
            return false;
        where->community = grid->community_id;
        where->grid = grid->id;
        return true;
    case CAT_REF_KEY_AREA:
    case CAT_REF_CHECKPOINT:
        /* A checkpoint stands for the key area it guards. */
        area = ref == CAT_REF_KEY_AREA ? campaign_find_key_area(c, id)
                                       : campaign_find_checkpoint(c, id);
        if (!area)
            return false;
        where->community = area->community_id;
        where->area = area;
        return true;
    case CAT_REF_COMPOUND:
    case CAT_REF_SCHOOL:
        if (!(grid = s_grid_of_place(c, id, ref == CAT_REF_SCHOOL)))
            return false;
        where->community = grid->community_id;
        where->grid = grid->id;
        return true;
    case CAT_REF_PERSON:
        return campaign_find_person(c, id) != NULL;
    case CAT_REF_GROUP:
        if (!(group = campaign_find_group(c, id)))
            return false;
        where->community = group->community_id;
        return true;
    case CAT_REF_CHANNEL:
        return campaign_has_channel(c, id);
    case CAT_REF_BAN:
        return campaign_has_ban(c, id);
    case CAT_REF_NONE:
        break;
    }
    return false;
}

static bodycheck_status_t s_check_value(const catalogue_field_t *f, const msgpack_object *o,
                                        const campaign_t *campaign, place_t *where, err_t *err)
{
    bodycheck_status_t st;
    char buf[CAMPAIGN_ID_MAX + 1], q[256];
    switch (f->kind) {
    case CAT_INT: {
        int64_t v;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > (uint64_t)INT64_MAX)
            v = INT64_MAX;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                 o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = o->via.i64;
        else {
            err_set(err, "field '%s': expected int, got %s", f->name, mp_type_name(o->type));
            return BODYCHECK_E_TYPE;
        }
        if (v < f->min || v > f->max) {
            err_set(err, "field '%s': %" PRId64 " is out of range %" PRId64 "..%" PRId64, f->name,
                    v, f->min, f->max);
            return BODYCHECK_E_RANGE;
        }
        return BODYCHECK_OK;
    }
    case CAT_NUM: {
        double v;
        if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
            v = o->via.f64;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = (double)o->via.i64;
        else {
            err_set(err, "field '%s': expected number, got %s", f->name, mp_type_name(o->type));
            return BODYCHECK_E_TYPE;
        }
        if (!isfinite(v) || v < f->fmin || v > f->fmax) {
            err_set(err, "field '%s': %g is out of range %g..%g", f->name, v, f->fmin, f->fmax);
            return BODYCHECK_E_RANGE;
        }
        return BODYCHECK_OK;
    }
    case CAT_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN) {
            err_set(err, "field '%s': expected bool, got %s", f->name, mp_type_name(o->type));
            return BODYCHECK_E_TYPE;
        }
        return BODYCHECK_OK;
    case CAT_STR:
    case CAT_TEXT:
    case CAT_CODE:
    case CAT_PHONE:
        return s_check_str(f, o, f->min, f->max, err);
    case CAT_ENUM:
        if ((st = s_check_str(f, o, 1, 63, err)) != BODYCHECK_OK && st == BODYCHECK_E_TYPE)
            return st;
        for (size_t i = 0; st == BODYCHECK_OK && f->values[i]; i++)
            if (mp_str_eq(o, f->values[i]))
                return BODYCHECK_OK;
        quote_bytes(q, sizeof q, o->via.str.ptr, o->via.str.size);
        err_set(err, "field '%s': '%s' is not one of the allowed values", f->name, q);
        return BODYCHECK_E_RANGE;
    case CAT_UUID:
        if ((st = s_check_str(f, o, UUID_LEN, UUID_LEN, err)) != BODYCHECK_OK)
            return st;
        if (!uuid_is_canonical(o->via.str.ptr, o->via.str.size)) {
            quote_bytes(q, sizeof q, o->via.str.ptr, o->via.str.size);
            err_set(err, "field '%s': '%s' is not a canonical UUID", f->name, q);
            return BODYCHECK_E_RANGE;
        }
        return BODYCHECK_OK;
    case CAT_DATE: {
        int32_t day;
        if ((st = s_check_str(f, o, 10, 10, err)) != BODYCHECK_OK && st == BODYCHECK_E_TYPE)
            return st;
        if (st == BODYCHECK_OK) {
            memcpy(buf, o->via.str.ptr, 10);
            buf[10] = '\0';
            if (civildate_parse(buf, &day) == 0)
                return BODYCHECK_OK;
        }
        quote_bytes(q, sizeof q, o->via.str.ptr, o->via.str.size);
        err_set(err, "field '%s': '%s' is not a date YYYY-MM-DD", f->name, q);
        return BODYCHECK_E_RANGE;
    }
    case CAT_REF:
        if ((st = s_check_str(f, o, f->min, f->max, err)) != BODYCHECK_OK)
            return st;
        if (!campaign)
            return BODYCHECK_OK;
        memcpy(buf, o->via.str.ptr, o->via.str.size);
        buf[o->via.str.size] = '\0';
        if (!s_resolve(campaign, f->ref, buf, where)) {
            quote_bytes(q, sizeof q, buf, o->via.str.size);
            err_set(err, "field '%s': '%s' is not a %s of %s", f->name, q,
                    catalogue_ref_name(f->ref), campaign_subdistrict(campaign));
            return BODYCHECK_E_UNKNOWN_REF;
        }
        where->field = f->name;
        return BODYCHECK_OK;
    case CAT_STR_LIST:
        if (o->type != MSGPACK_OBJECT_ARRAY) {
            err_set(err, "field '%s': expected array, got %s", f->name, mp_type_name(o->type));
            return BODYCHECK_E_TYPE;
        }
        if ((int64_t)o->via.array.size < f->min || (int64_t)o->via.array.size > f->max) {
            err_set(err, "field '%s': %" PRIu32 " items, expected %" PRId64 "..%" PRId64, f->name,
                    o->via.array.size, f->min, f->max);
            return BODYCHECK_E_RANGE;
        }
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if ((st = s_check_str(f, &o->via.array.ptr[i], 1, f->item_max, err)) != BODYCHECK_OK)
                return st;
        return BODYCHECK_OK;
    }
    err_set(err, "field '%s': catalogue entry has no kind", f->name);
    return BODYCHECK_E_TYPE;
}

/* Index of field `name` (len bytes) in t, or -1. */
static int s_index(const catalogue_type_t *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strlen(t->fields[i].name) == len && memcmp(t->fields[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Copies a field name into the caller's buffer. */
static void s_name(char *field, size_t cap, const char *name)
{
    if (cap)
        snprintf(field, cap, "%s", name);
}

/* Compares two present values for CAT_RULE_NOT_AFTER: ints numerically,
 * dates (and other strs) by bytes, which is calendar order for YYYY-MM-DD. */
static bool s_after(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type == MSGPACK_OBJECT_STR && b->type == MSGPACK_OBJECT_STR) {
        size_t n = a->via.str.size < b->via.str.size ? a->via.str.size : b->via.str.size;
        int c = memcmp(a->via.str.ptr, b->via.str.ptr, n);
        return c > 0 || (c == 0 && a->via.str.size > b->via.str.size);
    }
    return a->via.i64 > b->via.i64;
}

/* True when the rule names a field the stored form never holds. */
static bool s_rule_names_confidential(const catalogue_type_t *t, const catalogue_rule_t *rule)
{
    const char *names[3] = {rule->a, rule->kind == CAT_RULE_WHEN ? NULL : rule->b,
                            rule->kind == CAT_RULE_WHEN ? rule->c : NULL};
    for (size_t k = 0; k < 3; k++) {
        for (const char *p = names[k]; p && *p;) {
            size_t n = strcspn(p, ",");
            int i = s_index(t, p, n);
            if (i >= 0 && (t->fields[i].flags & CAT_F_CONFIDENTIAL))
                return true;
            p += n + (p[n] == ',');
        }
    }
    return false;
}

/* Checks t's rules over the present fields; stored skips the rules that
 * name a confidential field (they held when the event was submitted). */
static bodycheck_status_t s_check_rules(const catalogue_type_t *t, const msgpack_object **slot,
                                        bool stored, char *field, size_t cap, err_t *err)
{
    for (size_t r = 0; r < t->n_rules; r++) {
        const catalogue_rule_t *rule = &t->rules[r];
        int a = -1, b = -1, c = -1;
        if (stored && s_rule_names_confidential(t, rule))
            continue;
        if (rule->kind == CAT_RULE_ANY_OF) {
            const char *p = rule->a;
            const char *first = NULL;
            size_t first_len = 0;
            bool any = false;
            while (*p) {
                size_t n = strcspn(p, ",");
                int i = s_index(t, p, n);
                if (!first)
                    first = p, first_len = n;
                any |= i >= 0 && slot[i];
                p += n + (p[n] == ',');
            }
            if (!any) {
                snprintf(field, cap, "%.*s", (int)first_len, first);
                err_set(err, "field '%s': missing; one of %s is required", field, rule->a);
                return BODYCHECK_E_MISSING;
            }
            continue;
        }
        a = s_index(t, rule->a, strlen(rule->a));
        if (rule->kind == CAT_RULE_WHEN)
            c = s_index(t, rule->c, strlen(rule->c));
        else
            b = s_index(t, rule->b, strlen(rule->b));
        if (a < 0 || !slot[a] || (rule->kind == CAT_RULE_WHEN ? c < 0 : b < 0))
            continue;
        if (rule->kind == CAT_RULE_WITH && !slot[b]) {
            s_name(field, cap, rule->b);
            err_set(err, "field '%s': missing; required with '%s'", rule->b, rule->a);
            return BODYCHECK_E_MISSING;
        }
        if (rule->kind == CAT_RULE_WHEN && !slot[c]) {
            const msgpack_object *v = slot[a];
            bool match = v->type == MSGPACK_OBJECT_BOOLEAN
                             ? (v->via.boolean == (strcmp(rule->b, "true") == 0))
                             : mp_str_eq(v, rule->b);
            if (match) {
                s_name(field, cap, rule->c);
                err_set(err, "field '%s': missing; required when '%s' is %s", rule->c, rule->a,
                        rule->b);
                return BODYCHECK_E_MISSING;
            }
        }
        if (rule->kind == CAT_RULE_NOT_AFTER && slot[b] && s_after(slot[a], slot[b])) {
            s_name(field, cap, rule->a);
            err_set(err, "field '%s': must not be after '%s'", rule->a, rule->b);
            return BODYCHECK_E_RANGE;
        }
    }
    return BODYCHECK_OK;
}

/* True when the key area lists no grids (nothing to compare) or lists grid. */
static bool s_area_covers(const campaign_key_area_t *area, const char *grid)
{
    if (area->n_grids == 0)
        return true;
    for (size_t i = 0; i < area->n_grids; i++)
        if (strcmp(area->grids[i]->id, grid) == 0)
            return true;
    return false;
}

/* All places named in one body must lie in one community, a compound or
 * school in the grid named beside it, a checkpoint at the key area named
 * beside it, and a grid among the grids of that key area when the seed
 * lists them. The later field of a disagreeing pair is named. */
static bodycheck_status_t s_check_places(const place_t *places, size_t n, char *field, size_t cap,
                                         err_t *err)
{
    const place_t *community = NULL, *grid = NULL, *area = NULL;
    for (size_t i = 0; i < n; i++) {
        const place_t *p = &places[i];
        if (p->community && community && strcmp(p->community, community->community) != 0) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': lies in community '%s', but '%s' is in '%s'", p->field,
                    p->community, community->field, community->community);
            return BODYCHECK_E_REF_MISMATCH;
        }
        if (p->grid && grid && strcmp(p->grid, grid->grid) != 0) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': lies in grid '%s', but '%s' is in '%s'", p->field, p->grid,
                    grid->field, grid->grid);
            return BODYCHECK_E_REF_MISMATCH;
        }
        if (p->area && area && p->area != area->area) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': belongs to key area '%s', but '%s' is at '%s'", p->field,
                    p->area->id, area->field, area->area->id);
            return BODYCHECK_E_REF_MISMATCH;
        }
        const place_t *g = p->grid ? p : grid, *a = p->area ? p : area;
        if (g && a && !s_area_covers(a->area, g->grid)) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': grid '%s' ('%s') is not a grid of key area '%s' ('%s')",
                    p->field, g->grid, g->field, a->area->id, a->field);
            return BODYCHECK_E_REF_MISMATCH;
        }
        if (p->community && !community)
            community = p;
        if (p->grid && !grid)
            grid = p;
        if (p->area && !area)
            area = p;
    }
    return BODYCHECK_OK;
}

#define CATALOGUE_MAX_FIELDS 32

/* The checker behind both forms (see catalogue.h): stored is the log's
 * form, in which confidential keys are unknown and the digest is allowed. */
static bodycheck_status_t s_check(const catalogue_type_t *t, const msgpack_object *body,
                                  const campaign_t *campaign, bool stored, char *field, size_t cap,
                                  err_t *err)
{
    const msgpack_object *slot[CATALOGUE_MAX_FIELDS] = {NULL};
    place_t places[CATALOGUE_MAX_FIELDS];
    size_t nplaces = 0;
    char q[256];
    bodycheck_status_t st;

    s_name(field, cap, "");
    err_clear(err);
    if (!t || t->n_fields > CATALOGUE_MAX_FIELDS) {
        err_set(err, "no such type in the catalogue");
        return BODYCHECK_E_MALFORMED;
    }
    if (!body || body->type != MSGPACK_OBJECT_MAP) {
        s_name(field, cap, "body");
        err_set(err, "field 'body': expected map, got %s",
                body ? mp_type_name(body->type) : "nothing");
        return body ? BODYCHECK_E_TYPE : BODYCHECK_E_MISSING;
    }
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object *key = &body->via.map.ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            err_set(err, "body: key %" PRIu32 " is %s, keys must be str", i,
                    mp_type_name(key->type));
            return BODYCHECK_E_UNKNOWN_KEY;
        }
        int f = s_index(t, key->via.str.ptr, key->via.str.size);
        quote_bytes(q, sizeof q, key->via.str.ptr, key->via.str.size);
        if (f < 0) {
            s_name(field, cap, q);
            err_set(err, "field '%s': not a field of %s", q, t->name);
            return BODYCHECK_E_UNKNOWN_KEY;
        }
        if (!stored && (t->fields[f].flags & CAT_F_DIGEST)) {
            s_name(field, cap, q);
            err_set(err, "field '%s': written by intake, a client may not send it", q);
            return BODYCHECK_E_UNKNOWN_KEY;
        }
        if (stored && (t->fields[f].flags & CAT_F_CONFIDENTIAL)) {
            s_name(field, cap, q);
            err_set(err, "field '%s': confidential, never part of a stored event", q);
            return BODYCHECK_E_UNKNOWN_KEY;
        }
        if (slot[f]) {
            s_name(field, cap, q);
            err_set(err, "field '%s': given twice", q);
            return BODYCHECK_E_MALFORMED;
        }
        slot[f] = &body->via.map.ptr[i].val;
    }
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        if (!slot[i]) {
            if (f->required) {
                s_name(field, cap, f->name);
                err_set(err, "field '%s': missing", f->name);
                return BODYCHECK_E_MISSING;
            }
            continue;
        }
        place_t where = {NULL, NULL, NULL, NULL};
        if ((st = s_check_value(f, slot[i], campaign, &where, err)) != BODYCHECK_OK) {
            s_name(field, cap, f->name);
            return st;
        }
        if (where.field && (where.community || where.grid || where.area))
            places[nplaces++] = where;
    }
    if ((st = s_check_rules(t, slot, stored, field, cap, err)) != BODYCHECK_OK)
        return st;
    return s_check_places(places, nplaces, field, cap, err);
}

bodycheck_status_t bodycheck_submitted(const catalogue_type_t *t, const msgpack_object *body,
                                       const campaign_t *campaign, char *field, size_t cap,
                                       err_t *err)
{
    return s_check(t, body, campaign, false, field, cap, err);
}

bodycheck_status_t bodycheck_stored(const catalogue_type_t *t, const msgpack_object *body,
                                    char *field, size_t cap, err_t *err)
{
    return s_check(t, body, NULL, true, field, cap, err);
}

void bodycheck_normalise(const catalogue_type_t *t, msgpack_object *body)
{
    if (!t || !body || body->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_STR)
            continue;
        int f = s_index(t, kv->key.via.str.ptr, kv->key.via.str.size);
        if (f < 0 || t->fields[f].kind != CAT_UUID)
            continue;
        /* msgpack-c types the bytes const; the caller vouches they are
         * writable (see catalogue.h). */
        char *p = (char *)(uintptr_t)kv->val.via.str.ptr;
        for (uint32_t k = 0; k < kv->val.via.str.size; k++)
            if (p[k] >= 'A' && p[k] <= 'F')
                p[k] = (char)(p[k] - 'A' + 'a');
    }
}
