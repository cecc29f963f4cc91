/* test_campaign.c - the campaign loader: both seed files load with the
 * facts of the source document, lookups answer, and broken files fail with
 * an error that names the file and the line of the mistake.
 *
 * Runs from the repository root (paths like "seeds/baiyang-2019.yaml").
 * Broken variants are the demo seed with one edit, written to a mkdtemp
 * directory that is removed at the end. */
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaignset.h"
#include "check.h"

#define BAIYANG "seeds/baiyang-2019.yaml"
#define SHANHE "seeds/demo-shanhe.yaml"

static char s_tmpdir[] = "/tmp/airguard-test-campaign-XXXXXX";
static char s_written[64][256]; /* files to remove at the end */
static int s_n_written;

/* ---- helpers ----------------------------------------------------------- */

/* Whole file, NUL-terminated; NULL on failure. Caller frees. */
static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            buf[len] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static int s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && s_n_written < 64)
        snprintf(s_written[s_n_written++], sizeof s_written[0], "%s", path);
    return rc;
}

/* text with the single occurrence of old replaced by new; NULL when old
 * occurs zero or several times. Caller frees. */
static char *s_replace(const char *text, const char *old, const char *new_text)
{
    const char *at = strstr(text, old);
    if (!at || strstr(at + 1, old))
        return NULL;
    size_t pre = (size_t)(at - text), olen = strlen(old), nlen = strlen(new_text);
    char *out = malloc(strlen(text) - olen + nlen + 1);
    if (!out)
        return NULL;
    memcpy(out, text, pre);
    memcpy(out + pre, new_text, nlen);
    strcpy(out + pre + nlen, at + olen);
    return out;
}

/* 1-based line of the single occurrence of marker in text, 0 if none. */
static int s_line_of(const char *text, const char *marker)
{
    const char *at = strstr(text, marker);
    int line = 1;
    if (!at || strstr(at + 1, marker))
        return 0;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* Writes the demo seed with old replaced by new as <tmpdir>/<name>, loads
 * it, and checks that loading fails with "<path>:<line of marker>:" and a
 * message containing expect. */
static void s_expect_broken(const char *name, const char *old, const char *new_text,
                            const char *marker, const char *expect)
{
    char path[256], where[300];
    char *base = s_read(SHANHE), *text = NULL;
    err_t err = {{0}};
    campaign_t *c = NULL;
    int line;

    CHECKF(base != NULL, "cannot read %s", SHANHE);
    if (!base)
        return;
    text = s_replace(base, old, new_text);
    CHECKF(text != NULL, "%s: '%s' is not in the demo seed exactly once", name, old);
    if (!text)
        goto out;
    line = s_line_of(text, marker);
    CHECKF(line > 0, "%s: marker '%s' not found exactly once", name, marker);
    snprintf(path, sizeof path, "%s/%s", s_tmpdir, name);
    CHECK(s_write(path, text) == 0);
    c = campaign_load(path, &err);
    CHECKF(c == NULL, "%s: loaded although broken", name);
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    CHECKF(strncmp(err.msg, where, strlen(where)) == 0, "%s: error '%s' does not start with '%s'",
           name, err.msg, where);
    CHECKF(CONTAINS(err.msg, expect), "%s: error '%s' lacks '%s'", name, err.msg, expect);
out:
    campaign_destroy(&c);
    free(text);
    free(base);
}

static int s_count_kind(const campaign_t *c, campaign_area_kind_t kind)
{
    int n = 0;
    for (size_t i = 0; i < c->n_key_areas; i++)
        n += c->key_areas[i].kind == kind;
    return n;
}

/* The names of a person list, joined with spaces, into buf. */
static const char *s_names(const campaign_person_t *const *v, size_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? " " : "", v[i]->name);
    return buf;
}

/* ---- the Baiyang seed ---------------------------------------------------- */

static void test_baiyang_loads(void)
{
    err_t err = {{0}};
    campaign_t *c = campaign_load(BAIYANG, &err);
    CHECKF(c != NULL, "%s", err.msg);
    if (!c)
        return;
    CHECK(strcmp(campaign_subdistrict(c), "baiyang") == 0);
    CHECK(strcmp(c->subdistrict_name, "柏杨街道") == 0);
    CHECK(strcmp(c->county, "巫溪县") == 0);
    CHECK(strcmp(c->timezone, "Asia/Shanghai") == 0);
    CHECK(c->utc_offset_minutes == 480);
    CHECK(c->notice && strcmp(c->notice, "柏杨街办发〔2019〕34号") == 0);
    CHECK(c->issued == 20191122 && c->published == 20191202);
    CHECK(c->n_communities == 4);
    CHECK(
        strcmp(c->communities[0].id, "baima") == 0 && strcmp(c->communities[1].id, "modou") == 0 &&
        strcmp(c->communities[2].id, "xinhua") == 0 && strcmp(c->communities[3].id, "fengyi") == 0);
    CHECK(c->n_grids >= 12 && c->n_grids <= 20); /* 3-5 per community */
    for (size_t i = 0; i < c->n_communities; i++) {
        int n = 0;
        for (size_t j = 0; j < c->n_grids; j++)
            n += c->grids[j].community == &c->communities[i];
        CHECKF(n >= 3 && n <= 5, "community %s has %d grids", c->communities[i].id, n);
    }
    CHECK(s_count_kind(c, CAMPAIGN_AREA_GRAVE_SITE) == 5);
    CHECK(s_count_kind(c, CAMPAIGN_AREA_NON_DEMOLISHED) >= 1);
    CHECK(c->n_bans == 3);
    CHECK(campaign_has_ban(c, "no_burning") && campaign_has_ban(c, "no_fireworks") &&
          campaign_has_ban(c, "no_smoking_meat"));
    CHECK(c->n_channels == 10);
    CHECK(c->n_groups == 9); /* leadership, coordination, 4 patrol, collaboration,
                                enforcement, supervision */
    CHECK(c->from == 20191112 && c->to == 20200228);
    campaign_destroy(&c);
    CHECK(c == NULL);
    campaign_destroy(&c); /* twice is harmless */
}

static void test_baiyang_organisation(void)
{
    static const struct {
        const char *community, *group, *names;
    } patrol[] = {
        {"baima", "patrol-baima", "刘远辉 文劲松 金忠来 马道绪"},
        {"modou", "patrol-modou", "金平 余游 李云平 杨益芳"},
        {"xinhua", "patrol-xinhua", "易红莉 伍远鹏 杨俊 胡壁兰"},
        {"fengyi", "patrol-fengyi", "李永华 王发维 金良顺 金忠祥"},
    };
    err_t err = {{0}};
    char a[256], b[256], both[520];
    campaign_t *c = campaign_load(BAIYANG, &err);
    CHECKF(c != NULL, "%s", err.msg);
    if (!c)
        return;

    const campaign_group_t *lead = campaign_find_group(c, "leadership");
    CHECK(lead && lead->kind == CAMPAIGN_GROUP_LEADERSHIP);
    if (lead) {
        CHECK(strcmp(s_names(lead->leaders, lead->n_leaders, a, sizeof a), "赵定忠 李吉林") == 0);
        CHECK(strcmp(s_names(lead->deputies, lead->n_deputies, b, sizeof b),
                     "金平 刘远辉 李永华 易红莉 王发维 余游 伍远鹏 文劲松") == 0);
    }
    for (size_t i = 0; i < sizeof patrol / sizeof patrol[0]; i++) {
        const campaign_group_t *g = campaign_patrol_group(c, patrol[i].community);
        CHECKF(g != NULL, "no patrol group for %s", patrol[i].community);
        if (!g)
            continue;
        CHECK(strcmp(g->id, patrol[i].group) == 0);
        CHECK(g->kind == CAMPAIGN_GROUP_PATROL && g->parent == lead);
        CHECK(g->n_leaders == 1 && g->n_deputies == 3);
        snprintf(both, sizeof both, "%s %s", s_names(g->leaders, g->n_leaders, a, sizeof a),
                 s_names(g->deputies, g->n_deputies, b, sizeof b));
        CHECKF(strcmp(both, patrol[i].names) == 0, "%s: '%s'", g->id, both);
        CHECK(g->community && strcmp(g->community->id, patrol[i].community) == 0);
        CHECK(g->n_member_roles == 5);
    }
    const campaign_group_t *enf = campaign_find_group(c, "enforcement");
    CHECK(enf && enf->kind == CAMPAIGN_GROUP_ENFORCEMENT);
    if (enf) {
        CHECK(strcmp(s_names(enf->leaders, enf->n_leaders, a, sizeof a), "余游") == 0);
        CHECK(strcmp(s_names(enf->deputies, enf->n_deputies, a, sizeof a),
                     "廖贤军 胡代平 金思荣") == 0);
        CHECK(strcmp(s_names(enf->members, enf->n_members, a, sizeof a), "杨民 冉启平 台勇") == 0);
    }
    const campaign_group_t *sup = campaign_find_group(c, "supervision");
    CHECK(sup && sup->kind == CAMPAIGN_GROUP_SUPERVISION && sup->n_leaders == 1 &&
          strcmp(sup->leaders[0]->name, "王发维") == 0 && sup->n_members == 2);
    const campaign_group_t *coord = campaign_find_group(c, "coordination");
    CHECK(coord && coord->n_members == 3 && strcmp(coord->deputies[0]->name, "伍远鹏") == 0);
    const campaign_group_t *collab = campaign_find_group(c, "collaboration");
    CHECK(collab && collab->kind == CAMPAIGN_GROUP_COLLABORATION && collab->n_members == 0 &&
          collab->n_member_roles == 3);
    const campaign_person_t *zhao = campaign_find_person(c, "zhao-dingzhong");
    CHECK(zhao && strcmp(zhao->name, "赵定忠") == 0 && zhao->title);
    CHECK(campaign_patrol_group(c, "nowhere") == NULL);
    campaign_destroy(&c);
}

static void test_baiyang_lookups(void)
{
    err_t err = {{0}};
    campaign_t *c = campaign_load(BAIYANG, &err);
    CHECKF(c != NULL, "%s", err.msg);
    if (!c)
        return;
    const campaign_grid_t *g = campaign_find_grid(c, "baima-g01");
    CHECK(g && strcmp(g->community_id, "baima") == 0 && g->community &&
          strcmp(g->community->name, "白马社区") == 0);
    CHECK(g && g->households > 0 && g->centre.lat > 31.3 && g->centre.lat < 31.5 &&
          g->centre.lon > 109.5 && g->centre.lon < 109.7);
    g = campaign_find_grid(c, "fengyi-g03");
    CHECK(g && strcmp(g->community_id, "fengyi") == 0);
    CHECK(campaign_find_grid(c, "baima-g99") == NULL);
    CHECK(campaign_find_grid(c, "baima") == NULL); /* a community, not a grid */
    CHECK(campaign_find_grid(c, NULL) == NULL);
    CHECK(campaign_find_grid(NULL, "baima-g01") == NULL);

    const campaign_community_t *cm = campaign_find_community(c, "xinhua");
    CHECK(cm && strcmp(cm->name, "新华社区") == 0 && cm == &c->communities[cm->index]);
    CHECK(campaign_find_community(c, "xinhua-g01") == NULL);

    static const char *const graves[] = {"hejiaping", "huangjiawan", "yilian", "sanitation-centre",
                                         "sansuo-liangdui"};
    for (size_t i = 0; i < 5; i++) {
        const campaign_key_area_t *ka = campaign_find_key_area(c, graves[i]);
        CHECKF(ka != NULL, "no key area %s", graves[i]);
        if (!ka)
            continue;
        CHECK(ka->kind == CAMPAIGN_AREA_GRAVE_SITE);
        CHECK(ka->has_checkpoint && ka->checkpoint.with_police && ka->checkpoint.staff >= 1);
        CHECK(ka->community && campaign_find_community(c, ka->community_id) == ka->community);
        CHECK(campaign_find_checkpoint(c, ka->checkpoint.id) == ka);
    }
    const campaign_key_area_t *nd = campaign_find_key_area(c, "baima-old-street");
    CHECK(nd && nd->kind == CAMPAIGN_AREA_NON_DEMOLISHED && nd->rewarded_tips &&
          nd->patrol_multiplier > 1.0 && !nd->has_checkpoint && nd->n_grids == 2 &&
          nd->grids[0] == campaign_find_grid(c, "baima-g03"));
    CHECK(campaign_find_key_area(c, "hejiaping-cp") == NULL);

    CHECK(campaign_has_channel(c, "phone_push"));
    CHECK(campaign_has_channel(c, "warning_sign"));
    CHECK(campaign_has_channel(c, "tv"));
    CHECK(!campaign_has_channel(c, "fax"));
    CHECK(!campaign_has_channel(c, NULL));
    CHECK(campaign_section(c, "scoring") == NULL); /* reserved, not filled in yet */
    CHECK(campaign_section(c, "bans") == NULL);    /* not a reserved name */
    campaign_destroy(&c);
}

static void test_baiyang_calendar(void)
{
    err_t err = {{0}};
    campaign_t *c = campaign_load(BAIYANG, &err);
    CHECKF(c != NULL, "%s", err.msg);
    if (!c)
        return;
    CHECK(campaign_is_sensitive_date(c, 2020, 1, 24));
    CHECK(campaign_is_sensitive_date(c, 2020, 1, 25));
    CHECK(!campaign_is_sensitive_date(c, 2020, 1, 26));
    CHECK(!campaign_is_sensitive_date(c, 2020, 2, 30)); /* no such day */
    CHECK(!campaign_is_sensitive_date(c, 2020, 13, 1));
    const campaign_sensitive_t *eve = campaign_sensitive_on(c, 20200124);
    CHECK(eve && strcmp(eve->name, "除夕") == 0 && eve->all_hands && !eve->invented);
    const campaign_sensitive_t *sf = campaign_sensitive_on(c, 20200125);
    CHECK(sf && strcmp(sf->name, "春节") == 0 && sf->all_hands && !sf->invented);
    int from_document = 0;
    for (size_t i = 0; i < c->n_sensitive; i++)
        from_document += !c->sensitive[i].invented;
    CHECK(from_document == 2);

    bool found_patrol = false, found_publicity = false;
    for (size_t i = 0; i < c->n_measures; i++) {
        const campaign_measure_t *m = &c->measures[i];
        if (strcmp(m->id, "daily_patrol") == 0) {
            found_patrol = true;
            CHECK(m->from == 20191125 && m->to == 20200228 && !m->open_ended);
            CHECK(m->n_groups == 4 && m->groups[0]->kind == CAMPAIGN_GROUP_PATROL);
        }
        if (strcmp(m->id, "publicity") == 0) {
            found_publicity = true;
            CHECK(m->from == 20191112 && m->open_ended && m->to == c->to);
        }
    }
    CHECK(found_patrol && found_publicity);
    campaign_destroy(&c);
}

/* ---- the demo seed, and both side by side ------------------------------ */

static void test_demo_and_side_by_side(void)
{
    err_t err = {{0}};
    campaign_t *a = campaign_load(BAIYANG, &err);
    CHECKF(a != NULL, "%s", err.msg);
    campaign_t *b = campaign_load(SHANHE, &err);
    CHECKF(b != NULL, "%s", err.msg);
    if (a && b) {
        CHECK(strcmp(campaign_subdistrict(b), "shanhe") == 0);
        CHECK(b->n_communities == 2 && b->n_grids == 4);
        CHECK(s_count_kind(b, CAMPAIGN_AREA_GRAVE_SITE) == 1);
        CHECK(b->province == NULL && b->notice == NULL && b->issued == 0);
        /* each campaign knows only its own territory */
        CHECK(campaign_find_grid(b, "shangcun-g01") != NULL);
        CHECK(campaign_find_grid(a, "shangcun-g01") == NULL);
        CHECK(campaign_find_grid(b, "baima-g01") == NULL);
        /* same group id in both files, different groups */
        CHECK(campaign_find_group(a, "enforcement") && campaign_find_group(b, "enforcement") &&
              campaign_find_group(a, "enforcement") != campaign_find_group(b, "enforcement"));
        CHECK(campaign_has_channel(b, "leaflet") && !campaign_has_channel(b, "tv"));
        /* a sensitive period, not only single days */
        CHECK(campaign_is_sensitive_date(b, 2020, 1, 28));
        CHECK(!campaign_is_sensitive_date(a, 2020, 1, 28));
        const campaign_key_area_t *ka = campaign_find_checkpoint(b, "songling-cp");
        CHECK(ka && ka->checkpoint.staff == 3 && ka->checkpoint.with_police); /* default */
    }
    campaign_destroy(&a);
    campaign_destroy(&b);
}

static void test_set_of_seeds(void)
{
    err_t err = {{0}};
    campaignset_t *set = campaignset_load_dir("seeds", &err);
    CHECKF(set != NULL, "%s", err.msg);
    if (!set)
        return;
    CHECK(campaignset_count(set) >= 2);
    const campaign_t *a = campaignset_find(set, "baiyang");
    const campaign_t *b = campaignset_find(set, "shanhe");
    CHECK(a && strcmp(a->path, BAIYANG) == 0);
    CHECK(b && strcmp(b->path, SHANHE) == 0);
    CHECK(campaignset_find(set, "nowhere") == NULL);
    CHECK(campaignset_find(set, NULL) == NULL);
    /* file-name order */
    for (size_t i = 1; i < campaignset_count(set); i++)
        CHECK(strcmp(campaignset_at(set, i - 1)->path, campaignset_at(set, i)->path) < 0);
    CHECK(campaignset_at(set, campaignset_count(set)) == NULL);
    campaignset_destroy(&set);
    CHECK(set == NULL);
    campaignset_destroy(&set);
}

/* ---- dates ------------------------------------------------------------- */

/* ---- broken files ------------------------------------------------------ */

static void test_broken_files(void)
{
    s_expect_broken("unknown-key.yaml", "    households: 300\n",
                    "    households: 300\n    househods: 5\n", "househods",
                    "unknown key 'househods'");
    s_expect_broken("unknown-top-key.yaml", "calendar:\n", "calender:\n", "calender",
                    "unknown key 'calender'");
    s_expect_broken("grid-unknown-community.yaml",
                    "    community: xiacun\n    centre: {lat: 30.4981",
                    "    community: nowhere\n    centre: {lat: 30.4981", "nowhere",
                    "unknown community 'nowhere'");
    s_expect_broken("grid-community-is-grid.yaml",
                    "    community: xiacun\n    centre: {lat: 30.4960",
                    "    community: xiacun-g01\n    centre: {lat: 30.4960",
                    "xiacun-g01\n    centre", "unknown community 'xiacun-g01'");
    s_expect_broken("duplicate-grid.yaml", "  - id: xiacun-g02\n", "  - id: xiacun-g01\n",
                    "  - id: xiacun-g01\n    name: 下村第二网格", "duplicate grid id 'xiacun-g01'");
    s_expect_broken("duplicate-place.yaml", "{id: shangcun-demo-court,", "{id: xiacun,",
                    "{id: xiacun, name: 示例小区", "duplicate id 'xiacun'");
    s_expect_broken("duplicate-person.yaml", "{id: demo-lower, name: 示例丁}",
                    "{id: demo-upper, name: 示例丁}", "{id: demo-upper, name: 示例丁}",
                    "duplicate person id 'demo-upper'");
    s_expect_broken("bad-date.yaml", "      from: 2019-12-01\n", "      from: 2019-12-32\n",
                    "2019-12-32", "not a date YYYY-MM-DD");
    s_expect_broken("bad-date-form.yaml", "      from: 2019-12-01\n", "      from: 2019-12-1\n",
                    "2019-12-1\n", "not a date YYYY-MM-DD");
    s_expect_broken("from-after-to.yaml", "      to: 2020-02-29\n", "      to: 2019-11-30\n",
                    "2019-11-30", "is before 'from' 2019-12-01");
    s_expect_broken("calendar-from-after-to.yaml", "  to: 2020-02-29\n  measures",
                    "  to: 2019-11-01\n  measures", "2019-11-01", "is before 'from'");
    s_expect_broken("sensitive-from-after-to.yaml", "from: 2020-01-24, to: 2020-01-30",
                    "from: 2020-01-24, to: 2020-01-20", "2020-01-20", "is before 'from'");
    s_expect_broken("outside-calendar.yaml", "date: 2020-02-08", "date: 2020-03-08", "2020-03-08",
                    "outside the campaign calendar");
    s_expect_broken("bad-id.yaml", "  - id: shangcun-g02\n", "  - id: Shangcun_G02\n",
                    "Shangcun_G02", "not a valid id");
    s_expect_broken("bad-lat.yaml", "{lat: 30.4960,", "{lat: 95.0,", "95.0", "out of range");
    s_expect_broken("bad-kind.yaml", "kind: grave_site", "kind: graveyard", "graveyard",
                    "unknown key area kind 'graveyard'");
    s_expect_broken("grave-without-checkpoint.yaml",
                    "    checkpoint: {id: songling-cp, name: 松岭路口卡点, staff: 3}\n", "",
                    "  - id: songling", "key 'checkpoint': missing");
    s_expect_broken("area-grid-of-other-community.yaml",
                    "    community: xiacun\n    centre: {lat: 30.4930",
                    "    community: xiacun\n    grids: [shangcun-g01]\n    centre: {lat: 30.4930",
                    "shangcun-g01]", "belongs to community 'shangcun'");
    s_expect_broken("unknown-leader.yaml", "leaders: [demo-lower]", "leaders: [demo-nobody]",
                    "demo-nobody", "unknown person 'demo-nobody'");
    s_expect_broken("second-patrol-group.yaml", "    community: xiacun\n    leaders: [demo-lower]",
                    "    community: shangcun\n    leaders: [demo-lower]",
                    "community: shangcun\n    leaders: [demo-lower]",
                    "already has patrol group 'patrol-shangcun'");
    s_expect_broken("unknown-parent.yaml", "    parent: leadership\n    leaders: [demo-deputy]",
                    "    parent: leader\n    leaders: [demo-deputy]", "parent: leader\n",
                    "unknown group 'leader'");
    s_expect_broken("person-twice.yaml", "members: [demo-officer]", "members: [demo-deputy]",
                    "members: [demo-deputy]", "listed twice");
    s_expect_broken("empty-name.yaml", "{id: xiacun, name: 下村社区}", "{id: xiacun, name: \"\"}",
                    "{id: xiacun, name: \"\"}", "must be 1..");
    s_expect_broken("not-a-list.yaml",
                    "bans:\n  - {id: no_burning, name: 禁燃}\n  - {id: no_fireworks, name: 禁放}\n"
                    "  - {id: no_smoking_meat, name: 禁熏}\n",
                    "bans: 禁燃\n", "bans: 禁燃", "expected a sequence");
}

static void test_missing_and_malformed(void)
{
    err_t err = {{0}};
    char path[300];
    campaign_t *c = campaign_load("seeds/no-such-file.yaml", &err);
    CHECK(c == NULL && CONTAINS(err.msg, "seeds/no-such-file.yaml"));
    c = campaign_load(NULL, &err);
    CHECK(c == NULL && err.msg[0] != '\0');

    snprintf(path, sizeof path, "%s/scalar.yaml", s_tmpdir);
    CHECK(s_write(path, "just a line\n") == 0);
    c = campaign_load(path, &err);
    CHECKF(c == NULL && CONTAINS(err.msg, path) && CONTAINS(err.msg, ":1:"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/syntax.yaml", s_tmpdir);
    CHECK(s_write(path, "subdistrict: {id: x\n") == 0);
    c = campaign_load(path, &err);
    CHECKF(c == NULL && CONTAINS(err.msg, path), "%s", err.msg);
}

static void test_set_duplicate_subdistrict(void)
{
    char dir[300], a[320], b[320], ignored[320], where[400];
    err_t err = {{0}};
    char *text = s_read(SHANHE);
    CHECK(text != NULL);
    if (!text)
        return;
    snprintf(dir, sizeof dir, "%s/set", s_tmpdir);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(a, sizeof a, "%s/a-shanhe.yaml", dir);
    snprintf(b, sizeof b, "%s/b-shanhe-again.yaml", dir);
    snprintf(ignored, sizeof ignored, "%s/notes.txt", dir);
    CHECK(s_write(a, text) == 0);
    CHECK(s_write(ignored, "not a campaign") == 0);

    /* one file: loads, the .txt is ignored */
    campaignset_t *set = campaignset_load_dir(dir, &err);
    CHECKF(set && campaignset_count(set) == 1, "%s", err.msg);
    campaignset_destroy(&set);

    /* two files, same subdistrict: the later file is blamed at its id line */
    CHECK(s_write(b, text) == 0);
    set = campaignset_load_dir(dir, &err);
    CHECK(set == NULL);
    snprintf(where, sizeof where, "%s:%d: ", b, s_line_of(text, "  id: shanhe"));
    CHECKF(strncmp(err.msg, where, strlen(where)) == 0, "'%s' does not start with '%s'", err.msg,
           where);
    CHECKF(CONTAINS(err.msg, "subdistrict 'shanhe' is already defined in") && CONTAINS(err.msg, a),
           "%s", err.msg);

    /* a broken file in the set fails the set with that file's error */
    char *broken = s_replace(text, "  id: shanhe\n", "  id: other\n  idd: x\n");
    CHECK(broken != NULL);
    if (broken) {
        CHECK(s_write(b, broken) == 0);
        set = campaignset_load_dir(dir, &err);
        CHECKF(set == NULL && CONTAINS(err.msg, b) && CONTAINS(err.msg, "unknown key 'idd'"), "%s",
               err.msg);
        campaignset_destroy(&set);
    }
    free(broken);

    /* an empty or missing directory is an error, not an empty set */
    set = campaignset_load_dir("seeds/no-such-dir", &err);
    CHECK(set == NULL && CONTAINS(err.msg, "seeds/no-such-dir"));
    CHECK(unlink(a) == 0 && unlink(b) == 0);
    set = campaignset_load_dir(dir, &err);
    CHECKF(set == NULL && CONTAINS(err.msg, "no campaign files"), "%s", err.msg);
    free(text);
}

int main(void)
{
    if (!mkdtemp(s_tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_baiyang_loads);
    RUN(test_baiyang_organisation);
    RUN(test_baiyang_lookups);
    RUN(test_baiyang_calendar);
    RUN(test_demo_and_side_by_side);
    RUN(test_set_of_seeds);
    RUN(test_broken_files);
    RUN(test_missing_and_malformed);
    RUN(test_set_duplicate_subdistrict);

    for (int i = 0; i < s_n_written; i++)
        unlink(s_written[i]);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/set", s_tmpdir);
    rmdir(sub);
    rmdir(s_tmpdir);
    return check_summary();
}
