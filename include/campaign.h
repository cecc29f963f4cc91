/* campaign.h - one subdistrict's air-pollution campaign, loaded from its
 * seed file (seeds/<subdistrict>-<year>.yaml), and the set of all of them.
 *
 * A campaign is the data the services share about one subdistrict's
 * autumn-winter campaign: its territory (communities -> grids -> compounds
 * and schools; key areas with their checkpoints), its organisation (people
 * and the groups they lead or serve in), the three bans, the publicity
 * channels, and the calendar (measures with their date ranges, sensitive
 * dates). campaign_load() validates everything and stops at the first
 * mistake with "file:line: what is wrong"; a loaded campaign is consistent
 * (every reference resolved, every id unique in its namespace).
 *
 * File layout (seeds/baiyang-2019.yaml is the annotated example):
 *   subdistrict:        {id, name, county, province?, timezone, utc_offset_minutes}
 *   campaign:           {id, name, notice?, notice_title?, issued?, published?,
 *                        principle?, goal?}
 *   bans:               [{id, name, description?}]
 *   publicity_channels: [{id, name, phrase?}]
 *   communities:        [{id, name}]
 *   grids:              [{id, name, community, centre: {lat, lon}, households,
 *                         compounds?: [{id, name, households?}],
 *                         schools?: [{id, name}]}]
 *   key_areas:          [{id, name, kind, community, centre?, grids?: [id],
 *                         grave_site:     checkpoint: {id, name, with_police?, staff?}
 *                         non_demolished: rewarded_tips, patrol_multiplier}]
 *   people:             [{id, name, title?}]
 *   groups:             [{id, name, kind, parent?, community? (required for patrol),
 *                         leaders, deputies?, members?, member_roles?, duties?}]
 *   calendar:           {from, to,
 *                        measures: [{id, name, from, to?, groups?}],
 *                        sensitive_dates: [{id, name, date | from+to,
 *                                           all_hands?, invented?}]}
 *   rosters, dispatch, cases, attendance, scoring:
 *                       reserved for the services of those names; this loader
 *                       accepts them unread and hands them out through
 *                       campaign_section(), and each service validates its own.
 * Any other key, at any level, is an error (typos must not pass silently).
 *
 * Identifiers. Entity ids (subdistrict, campaign, communities, grids,
 * compounds, schools, key areas, checkpoints, people, groups, sensitive
 * dates) are 1..63 bytes of [a-z0-9-], starting with a letter or digit.
 * Code ids (bans, publicity channels, measures) are 1..63 bytes of
 * [a-z0-9_], starting with a letter, like the event types they appear in.
 * Namespaces: communities, grids, compounds, schools, key areas and
 * checkpoints share one ("places": a location id in an event is never
 * ambiguous); people, groups, sensitive dates, bans, channels and measures
 * each have their own.
 *
 * Dates. A campaign date is a civil date in the campaign's time zone, stored
 * as int32 yyyymmdd (20200124 = 2020-01-24), the form aclock_local() gives;
 * yyyymmdd values compare in calendar order. In files: "YYYY-MM-DD", years
 * 1970..9999, a real day of the Gregorian calendar (civildate.h).
 *
 * Ownership. A campaign_t owns everything reachable from it, including the
 * parsed YAML tree that its strings point into; every pointer the lookups
 * return is borrowed and valid until campaign_destroy(). Nothing here is
 * modified after loading, so a loaded campaign may be read from several
 * threads at once. A county's campaigns, one per subdistrict, are loaded
 * together by campaignset.h. */
#ifndef AIRGUARD_CAMPAIGN_H
#define AIRGUARD_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* Longest id (entity or code); equals ENVELOPE_NAME_MAX so a subdistrict id
 * always fits in a message envelope. */
#define CAMPAIGN_ID_MAX 63
/* Longest name or free text field, in bytes (UTF-8). */
#define CAMPAIGN_TEXT_MAX 1024

/* A point, WGS-84 degrees. */
typedef struct campaign_geo {
    double lat; /* -90..90, north positive */
    double lon; /* -180..180, east positive */
} campaign_geo_t;

/* A compound (小区) or school inside a grid. */
typedef struct campaign_place {
    const char *id;     /* entity id, in the places namespace */
    const char *name;   /* display name, e.g. "滨河小区" */
    int64_t households; /* compounds: households, -1 when not given; schools: -1 */
    int line;           /* line of the entry in the seed file */
} campaign_place_t;

/* A community (社区): the unit that is responsible and assessed. */
typedef struct campaign_community {
    const char *id;   /* entity id, e.g. "baima" */
    const char *name; /* e.g. "白马社区" */
    size_t index;     /* position in campaign_t.communities */
    int line;         /* line of the entry in the seed file */
} campaign_community_t;

/* A grid (网格), the unit patrol squads and dispatch work with. */
typedef struct campaign_grid {
    const char *id;                        /* entity id, e.g. "baima-g01" */
    const char *name;                      /* e.g. "白马社区第一网格" */
    const char *community_id;              /* id of the community it belongs to */
    const campaign_community_t *community; /* the same, resolved */
    campaign_geo_t centre;                 /* approximate centre */
    int64_t households;                    /* approximate number of households */
    const campaign_place_t *compounds;     /* residential compounds, may be NULL */
    size_t n_compounds;                    /* entries in compounds */
    const campaign_place_t *schools;       /* schools, may be NULL */
    size_t n_schools;                      /* entries in schools */
    size_t index;                          /* position in campaign_t.grids */
    int line;                              /* line of the entry in the seed file */
} campaign_grid_t;

/* Kinds of key area (重点区域). */
typedef enum campaign_area_kind {
    CAMPAIGN_AREA_GRAVE_SITE = 1, /* "grave_site": 集中迁葬点, checkpoint at the road entrance */
    CAMPAIGN_AREA_NON_DEMOLISHED, /* "non_demolished": 未拆迁区域, more patrols, rewarded tips */
} campaign_area_kind_t;

/* A checkpoint (设卡, fixed post) at a key area. */
typedef struct campaign_checkpoint {
    const char *id;   /* entity id, in the places namespace */
    const char *name; /* e.g. "贺家坪路口卡点" */
    bool with_police; /* held jointly with the police (default true) */
    int64_t staff;    /* minimum people on the post at any time (default 2) */
    int line;         /* line of the checkpoint map in the seed file */
} campaign_checkpoint_t;

/* A key area (重点区域). */
typedef struct campaign_key_area {
    const char *id;                        /* entity id, e.g. "hejiaping" */
    const char *name;                      /* e.g. "贺家坪集中迁葬点" */
    campaign_area_kind_t kind;             /* what it is; decides the fields below */
    const char *community_id;              /* community it lies in */
    const campaign_community_t *community; /* the same, resolved */
    bool has_centre;                       /* centre was given */
    campaign_geo_t centre;                 /* approximate centre when has_centre */
    const campaign_grid_t *const *grids;   /* grids it covers (same community), may be NULL */
    size_t n_grids;                        /* entries in grids */
    bool has_checkpoint;                   /* grave sites: always true; others: false */
    campaign_checkpoint_t checkpoint;      /* the fixed post when has_checkpoint */
    bool rewarded_tips;                    /* non_demolished: tips are rewarded (有奖举报) */
    double patrol_multiplier;              /* non_demolished: patrol frequency factor >= 1;
                                              1.0 for other kinds */
    size_t index;                          /* position in campaign_t.key_areas */
    int line;                              /* line of the entry in the seed file */
} campaign_key_area_t;

/* A named person of the organisation. */
typedef struct campaign_person {
    const char *id;    /* entity id, e.g. "zhao-dingzhong" (pinyin) */
    const char *name;  /* name as written in the document, e.g. "赵定忠" */
    const char *title; /* office, e.g. "街道党工委书记"; NULL when not given */
    int line;          /* line of the entry in the seed file */
} campaign_person_t;

/* Kinds of group (工作组). */
typedef enum campaign_group_kind {
    CAMPAIGN_GROUP_LEADERSHIP = 1, /* "leadership": 领导小组 */
    CAMPAIGN_GROUP_COORDINATION,   /* "coordination": 综合协调组 */
    CAMPAIGN_GROUP_PATROL,         /* "patrol": 巡查组, one per community */
    CAMPAIGN_GROUP_COLLABORATION,  /* "collaboration": 协同工作组 */
    CAMPAIGN_GROUP_ENFORCEMENT,    /* "enforcement": 执法工作组 */
    CAMPAIGN_GROUP_SUPERVISION,    /* "supervision": 督查工作组 */
} campaign_group_kind_t;

/* A group and its named people. A person is in at most one of leaders,
 * deputies and members of the same group; people may be in several groups. */
typedef struct campaign_group {
    const char *id;                           /* entity id, e.g. "patrol-baima" */
    const char *name;                         /* e.g. "白马巡查组" */
    campaign_group_kind_t kind;               /* what the group does */
    const struct campaign_group *parent;      /* group it reports to, NULL if none */
    const char *community_id;                 /* community it serves (required for patrol
                                                 groups, optional for others); NULL if none */
    const campaign_community_t *community;    /* the same, resolved */
    const campaign_person_t *const *leaders;  /* 组长, at least one */
    size_t n_leaders;                         /* entries in leaders */
    const campaign_person_t *const *deputies; /* 副组长, may be NULL */
    size_t n_deputies;                        /* entries in deputies */
    const campaign_person_t *const *members;  /* named 成员, may be NULL */
    size_t n_members;                         /* entries in members */
    const char *const *member_roles;          /* unnamed members by role, e.g.
                                                 "社区干部"; may be NULL */
    size_t n_member_roles;                    /* entries in member_roles */
    const char *duties;                       /* what it does; NULL when not given */
    size_t index;                             /* position in campaign_t.groups */
    int line;                                 /* line of the entry in the seed file */
} campaign_group_t;

/* One of the bans (禁燃 / 禁放 / 禁熏). */
typedef struct campaign_ban {
    const char *id;          /* code id, e.g. "no_fireworks" */
    const char *name;        /* e.g. "禁放" */
    const char *description; /* what is forbidden; NULL when not given */
    int line;                /* line of the entry in the seed file */
} campaign_ban_t;

/* A publicity channel (电视, 广播 ...). */
typedef struct campaign_channel {
    const char *id;     /* code id, e.g. "phone_push" */
    const char *name;   /* e.g. "手机推送" */
    const char *phrase; /* the plan's wording, e.g. "手机有推送"; NULL when not given */
    int line;           /* line of the entry in the seed file */
} campaign_channel_t;

/* A measure of the work plan with its dates (宣传, 摸底排查, 日常巡查 ...). */
typedef struct campaign_measure {
    const char *id;                        /* code id, e.g. "daily_patrol" */
    const char *name;                      /* e.g. "抓实日常巡查" */
    int32_t from;                          /* first day, yyyymmdd */
    int32_t to;                            /* last day, yyyymmdd; the calendar's end
                                              when the file gives none */
    bool open_ended;                       /* the file gave no "to" */
    const campaign_group_t *const *groups; /* groups that carry it out, may be NULL */
    size_t n_groups;                       /* entries in groups */
    int line;                              /* line of the entry in the seed file */
} campaign_measure_t;

/* A sensitive date or period (敏感节点). */
typedef struct campaign_sensitive {
    const char *id;   /* entity id, e.g. "spring-festival" */
    const char *name; /* e.g. "春节" */
    int32_t from;     /* first day, yyyymmdd */
    int32_t to;       /* last day, yyyymmdd (== from for a single date) */
    bool all_hands;   /* everyone on duty (全员参与) */
    bool invented;    /* not named by the source document (seed data's own choice) */
    int line;         /* line of the entry in the seed file */
} campaign_sensitive_t;

struct campaign_priv; /* lookup indexes and owned memory; see campaign.c */

/* One loaded campaign. All fields are read-only after campaign_load(). Arrays
 * are in file order; an array with zero entries is NULL. */
typedef struct campaign {
    const char *path;             /* file it was loaded from */
    const char *subdistrict_id;   /* e.g. "baiyang" */
    const char *subdistrict_name; /* e.g. "柏杨街道" */
    const char *county;           /* e.g. "巫溪县" */
    const char *province;         /* e.g. "重庆市"; NULL when not given */
    const char *timezone;         /* IANA name, e.g. "Asia/Shanghai" */
    int utc_offset_minutes;       /* fixed offset east of UTC for aclock_local() */
    const char *campaign_id;      /* e.g. "2019-autumn-winter" */
    const char *campaign_name; /* e.g. "柏杨街道2019年秋冬季大气污染防治攻坚行动" */
    const char *notice; /* document number, e.g. "柏杨街办发〔2019〕34号"; may be NULL */
    const char *notice_title; /* document title; may be NULL */
    int32_t issued;           /* date written (成文日期), yyyymmdd; 0 if not given */
    int32_t published;        /* date published, yyyymmdd; 0 if not given */
    const char *principle;    /* working principle; may be NULL */
    const char *goal;         /* goal wording; may be NULL */
    int32_t from;             /* calendar: first day of the campaign, yyyymmdd */
    int32_t to;               /* calendar: last day of the campaign, yyyymmdd */

    const campaign_ban_t *bans; /* the bans */
    size_t n_bans;
    const campaign_channel_t *channels; /* publicity channels */
    size_t n_channels;
    const campaign_community_t *communities; /* communities */
    size_t n_communities;
    const campaign_grid_t *grids; /* grids of all communities */
    size_t n_grids;
    const campaign_key_area_t *key_areas; /* key areas */
    size_t n_key_areas;
    const campaign_person_t *people; /* named people */
    size_t n_people;
    const campaign_group_t *groups; /* groups */
    size_t n_groups;
    const campaign_measure_t *measures; /* measures of the plan */
    size_t n_measures;
    const campaign_sensitive_t *sensitive; /* sensitive dates and periods */
    size_t n_sensitive;

    struct campaign_priv *priv; /* private: do not touch */
} campaign_t;

/* Loads and validates one campaign file. Returns NULL and fills err with
 * "path:line: message" on any problem (unreadable file, YAML error, missing
 * or unknown key, wrong type, bad id, duplicate id, unresolved reference,
 * bad date, from > to, date outside the campaign, out-of-range number).
 * The caller owns the result and frees it with campaign_destroy(). */
campaign_t *campaign_load(const char *path, err_t *err);

/* Frees the campaign and sets *self_p to NULL; safe on NULL and twice. */
void campaign_destroy(campaign_t **self_p);

/* The subdistrict id ("baiyang"), borrowed. */
const char *campaign_subdistrict(const campaign_t *c);

/* The node of the subdistrict's id in the file, for messages naming its
 * file and line (config_error()); NULL for a NULL campaign. */
const config_node_t *campaign_subdistrict_node(const campaign_t *c);

/* Lookups by id; NULL (false) when absent or when id is NULL. O(log n). */
const campaign_community_t *campaign_find_community(const campaign_t *c, const char *id);
const campaign_grid_t *campaign_find_grid(const campaign_t *c, const char *id);
const campaign_key_area_t *campaign_find_key_area(const campaign_t *c, const char *id);
const campaign_person_t *campaign_find_person(const campaign_t *c, const char *id);
const campaign_group_t *campaign_find_group(const campaign_t *c, const char *id);
bool campaign_has_channel(const campaign_t *c, const char *id);
bool campaign_has_ban(const campaign_t *c, const char *id);

/* The key area whose checkpoint has this id; NULL when none. */
const campaign_key_area_t *campaign_find_checkpoint(const campaign_t *c, const char *id);

/* The patrol group of a community; NULL when the community is unknown. */
const campaign_group_t *campaign_patrol_group(const campaign_t *c, const char *community_id);

/* True when the date is (in) a sensitive date or period of the campaign;
 * false also for an impossible date (month 13, February 30 ...). */
bool campaign_is_sensitive_date(const campaign_t *c, int yyyy, int mm, int dd);

/* The first sensitive entry in file order covering yyyymmdd; NULL if none. */
const campaign_sensitive_t *campaign_sensitive_on(const campaign_t *c, int32_t yyyymmdd);

/* A section reserved for another service ("rosters", "dispatch", "cases",
 * "attendance", "scoring"), unvalidated, for that service to read with the
 * config.h getters; NULL when the file has none or name is not reserved. */
const config_node_t *campaign_section(const campaign_t *c, const char *name);

#endif
