/* test_dispatch_rules.c - the `dispatch:` sections of both seeds load, and
 * broken copies of them are refused with the file, the line and what is
 * wrong: unknown units in routes, the default, the chain and the
 * fallback; grids without a squad or in another community's squad;
 * checkpoints without a post; unknown kinds and values; a kind without a
 * deadline row; shrinking deadlines; typos in keys. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dispatch_fixture.h"

static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef struct broken_case {
    const char *seed;
    const char *old_text; /* must occur in the seed */
    const char *new_text;
    int line_in_new;     /* the error's line: this many lines into new_text;
                            -1: do not check the line */
    const char *message; /* part of the error */
} broken_case_t;

/* Writes seed with old replaced by new into a temp file; returns its line
 * of new (1-based), or -1. path receives the file name. */
static int s_broken_copy(const broken_case_t *c, char *path, size_t cap)
{
    char *text = s_read(c->seed);
    char *at = text ? strstr(text, c->old_text) : NULL;
    int line = -1;
    if (!at) {
        free(text);
        return -1;
    }
    snprintf(path, cap, "/tmp/dispatch-rules-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        line = 1;
        for (const char *p = text; p < at; p++)
            line += *p == '\n';
        fwrite(text, 1, (size_t)(at - text), f);
        fputs(c->new_text, f);
        fputs(at + strlen(c->old_text), f);
        fclose(f);
    }
    free(text);
    return line;
}

static void test_seeds_load(void)
{
    fixture_t f = fx_load(BAIYANG);
    CHECK(f.r && f.r->n_units == 9 + 9 + 5); /* groups, squads, posts */
    CHECK(f.r && f.r->n_chain == 4 && f.r->repeats == 1 && f.r->max_returns == 2);
    CHECK(f.r && fx_streq(f.r->default_unit->id, "coordination"));
    fx_free(&f);
    f = fx_load(SHANHE);
    CHECK(f.r && f.r->n_units == 4 + 3 + 1 + 1);
    CHECK(f.r && fx_streq(f.r->default_unit->id, "leadership"));
    fx_free(&f);
}

static void test_broken_copies(void)
{
    static const broken_case_t cases[] = {
        {BAIYANG, "  default: coordination", "  default: coordinaton", 0,
         "default: unknown unit 'coordinaton'"},
        {BAIYANG, "      to: enforcement\n    - name: refused",
         "      to: enforcment\n    - name: refused", 0, "to: unknown unit 'enforcment'"},
        {BAIYANG, "chain: [$patrol_deputies, $patrol_leaders, coordination, leadership]",
         "chain: [$patrol_deputies, $patrol_leaders, coordination, leadrship]", 0,
         "chain: unknown unit 'leadrship'"},
        {BAIYANG, "chain: [$patrol_deputies,", "chain: [$patrol_deputy,", 0,
         "chain step '$patrol_deputy'"},
        {BAIYANG, "returns: {max: 2, fallback: coordination}",
         "returns: {max: 2, fallback: nobody}", 0, "fallback: unknown unit 'nobody'"},
        {BAIYANG, "sensitive: {notify: coordination}", "sensitive: {notify: police}", 0,
         "notify: unknown unit 'police'"},
        {BAIYANG, "grids: [xinhua-g04, xinhua-g05]}", "grids: [xinhua-g04]}", -1,
         "grid 'xinhua-g05' has no squad"},
        {BAIYANG, "grids: [baima-g01, baima-g02]}", "grids: [baima-g01, modou-g02]}", 0,
         "grid 'modou-g02' is not in community 'baima'"},
        {BAIYANG, "grids: [fengyi-g03]}", "grids: [fengyi-g03, fengyi-g01]}", 0,
         "grid 'fengyi-g01' already has squad 'fengyi-sq1'"},
        {BAIYANG, "group: patrol-modou, grids: [modou-g03]",
         "group: enforcement, grids: [modou-g03]", 0, "'enforcement' is not a patrol group"},
        {BAIYANG,
         "    - {id: yilian-post, name: 亿联卡点蹲守组, checkpoint: yilian-cp, radius_m: 300}\n",
         "", -1, "checkpoint 'yilian-cp' has no post"},
        {BAIYANG, "{kind: report.meat_smoking, priority: normal}",
         "{kind: report.meat_smokin, priority: normal}", 0,
         "kind 'report.meat_smokin': not an event type of the catalogue"},
        {BAIYANG, "{kind: \"task.done:refused\", priority: normal}",
         "{kind: \"task.done:ignored\", priority: normal}", 0, "not an outcome of task.done"},
        {BAIYANG, "only: [storage_found, sales_found]", "only: [storage_found, sold]", 0,
         "'sold' is not a value of field 'finding'"},
        {BAIYANG, "{name: checkpoint, where: grave_site, to: $post",
         "{name: checkpoint, where: grid, to: $post", 0, "$post needs"},
        {BAIYANG, "{name: grid-squad, where: grid, to: $squad}",
         "{name: grid-squad, where: grid, to: $sqaud}", 0, "unknown '$sqaud'"},
        {BAIYANG, "{priority: urgent, ack_minutes: 5, arrive_minutes: 20",
         "{priority: urgent, ack_minutes: 25, arrive_minutes: 20", 0, "must not shrink"},
        {BAIYANG, "tighten: {key_area: 0.5, sensitive: 0.5}",
         "tighten: {key_area: 0.5, sensitve: 0.5}", 0, "unknown key 'sensitve'"},
        {BAIYANG, "tighten: {key_area: 0.5,", "tighten: {key_area: 1.5,", 0, "key 'key_area'"},
        {BAIYANG, "  duplicates: {distance_m: 200", "  duplicate: {distance_m: 200", 0,
         "unknown key 'duplicate'"},
        {BAIYANG, "{id: baima-sq2, name:", "{id: baima-sq1, name:", 0,
         "unit 'baima-sq1' is already defined at line"},
        {BAIYANG, "{id: baima-sq2, name:", "{id: Baima_Sq2, name:", 0, "unit id 'Baima_Sq2'"},
        {SHANHE, "    - {ack_minutes: 20, arrive_minutes: 90, resolve_minutes: 600}\n", "", -1,
         "kind 'report.fireworks_set_off' at priority normal has no deadline row"},
        {SHANHE, "dates: [spring-festival-week]", "dates: [spring-festival]", 0,
         "unknown sensitive date 'spring-festival'"},
        {SHANHE, "{id: shanhe-collab-contact,", "{id: enforcement,", 0,
         "unit 'enforcement' is already a group of the campaign"},
        {SHANHE, "kinds: [report.fireworks_storage_sales], to: enforcement",
         "kinds: [patrol.check_in], to: enforcement", 0, "kind 'patrol.check_in' opens no task"},
        {SHANHE, "checkpoint: songling-cp, radius_m: 250}", "checkpoint: songling, radius_m: 250}",
         0, "unknown checkpoint 'songling'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const broken_case_t *c = &cases[i];
        char path[64];
        int line = s_broken_copy(c, path, sizeof path);
        CHECKF(line > 0, "case %zu: '%s' not found in %s", i, c->old_text, c->seed);
        if (line <= 0)
            continue;
        err_t err = {{0}};
        campaign_t *camp = campaign_load(path, &err);
        CHECKF(camp != NULL, "case %zu: the campaign itself fails: %s", i, err.msg);
        dispatch_rules_t *r = camp ? dispatch_rules_load(camp, &err) : NULL;
        char where[96];
        if (c->line_in_new >= 0)
            snprintf(where, sizeof where, "%s:%d: ", path, line + c->line_in_new);
        else
            snprintf(where, sizeof where, "%s:", path);
        CHECKF(r == NULL && strncmp(err.msg, where, strlen(where)) == 0 &&
                   CONTAINS(err.msg, c->message),
               "case %zu: expected '%s...%s', got '%s'", i, where, c->message, err.msg);
        dispatch_rules_destroy(&r);
        campaign_destroy(&camp);
        unlink(path);
    }
}

static void test_no_section(void)
{
    char *text = s_read(SHANHE);
    CHECK(text != NULL);
    if (!text)
        return;
    char *cut = strstr(text, "\ndispatch:");
    CHECK(cut != NULL);
    if (cut)
        cut[1] = '\0';
    char path[] = "/tmp/dispatch-none-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(text);
    err_t err = {{0}};
    campaign_t *c = campaign_load(path, &err);
    CHECK(c != NULL);
    dispatch_rules_t *r = dispatch_rules_load(c, &err);
    CHECK(r == NULL && CONTAINS(err.msg, path) && CONTAINS(err.msg, "no 'dispatch' section"));
    campaign_destroy(&c);
    r = dispatch_rules_load(NULL, &err);
    CHECK(r == NULL && CONTAINS(err.msg, "no campaign"));
    unlink(path);
}

int main(void)
{
    RUN(test_seeds_load);
    RUN(test_broken_copies);
    RUN(test_no_section);
    return check_summary();
}
