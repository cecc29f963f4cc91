/* catalogue.c - the event catalogue (the table) and its checker; see
 * include/catalogue.h.
 *
 * The first half is data only: one array of fields per type and one row per
 * type. Fields shared by many types are written once as macros, so a
 * location means the same thing in every report. The second half checks a
 * msgpack body against a row without allocating. */
#include "catalogue.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

/* ---- field constructors ------------------------------------------------- */

#define REQ true
#define OPT false
#define F_STR(n, rq, lo, hi, d)                                                                    \
    {                                                                                              \
        .name = n, .kind = CAT_STR, .required = rq, .min = lo, .max = hi, .doc = d                 \
    }
#define F_TEXT(n, rq, d)                                                                           \
    {                                                                                              \
        .name = n, .kind = CAT_TEXT, .required = rq, .min = 1, .max = 2000, .doc = d               \
    }
#define F_CODE(n, rq, d)                                                                           \
    {                                                                                              \
        .name = n, .kind = CAT_CODE, .required = rq, .min = 1, .max = 63, .doc = d                 \
    }
#define F_INT(n, rq, lo, hi, d)                                                                    \
    {                                                                                              \
        .name = n, .kind = CAT_INT, .required = rq, .min = lo, .max = hi, .doc = d                 \
    }
#define F_NUM(n, rq, lo, hi, d)                                                                    \
    {                                                                                              \
        .name = n, .kind = CAT_NUM, .required = rq, .fmin = lo, .fmax = hi, .doc = d               \
    }
#define F_BOOL(n, rq, d)                                                                           \
    {                                                                                              \
        .name = n, .kind = CAT_BOOL, .required = rq, .doc = d                                      \
    }
#define F_ENUM(n, rq, vals, d)                                                                     \
    {                                                                                              \
        .name = n, .kind = CAT_ENUM, .required = rq, .values = vals, .doc = d                      \
    }
#define F_UUID(n, rq, d)                                                                           \
    {                                                                                              \
        .name = n, .kind = CAT_UUID, .required = rq, .doc = d                                      \
    }
#define F_DATE(n, rq, d)                                                                           \
    {                                                                                              \
        .name = n, .kind = CAT_DATE, .required = rq, .doc = d                                      \
    }
#define F_REF(n, rq, r, d)                                                                         \
    {                                                                                              \
        .name = n, .kind = CAT_REF, .required = rq, .min = 1, .max = 63, .ref = r, .doc = d        \
    }
#define F_LIST(n, rq, hi, item, d)                                                                 \
    {                                                                                              \
        .name = n, .kind = CAT_STR_LIST, .required = rq, .min = 1, .max = hi, .item_max = item,    \
        .doc = d                                                                                   \
    }

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TYPE(n, s, f, r, ex)                                                                       \
    {                                                                                              \
        .name = n, .summary = s, .fields = f, .n_fields = COUNT(f), .rules = r,                    \
        .n_rules = COUNT(r), .example = ex                                                         \
    }
#define TYPE_NR(n, s, f, ex)                                                                       \
    {                                                                                              \
        .name = n, .summary = s, .fields = f, .n_fields = COUNT(f), .example = ex                  \
    }

/* Where something happens. */
#define LOCATION                                                                                   \
    F_REF("community", OPT, CAT_REF_COMMUNITY, "community (社区) it happens in"),                  \
        F_REF("grid", OPT, CAT_REF_GRID, "grid (网格) it happens in"),                             \
        F_REF("key_area", OPT, CAT_REF_KEY_AREA,                                                   \
              "key area (重点区域), e.g. a grave-relocation site"),                                \
        F_STR("address", OPT, 1, 200, "address or landmark as told"),                              \
        F_NUM("lat", OPT, -90, 90, "WGS-84 latitude, with lon"),                                   \
        F_NUM("lon", OPT, -180, 180, "WGS-84 longitude, with lat")
#define LATLON_RULES                                                                               \
    {CAT_RULE_WITH, "lat", "lon", NULL},                                                           \
    {                                                                                              \
        CAT_RULE_WITH, "lon", "lat", NULL                                                          \
    }
#define EVIDENCE F_LIST("evidence", OPT, 10, 512, "photo or video URLs, up to 10")
#define NOTE F_TEXT("note", OPT, "free text")

/* A violation seen by someone: patrol app, camera, hotline operator. */
#define REPORT                                                                                     \
    LOCATION, F_TEXT("description", OPT, "what was seen"),                                         \
        F_STR("reported_by", OPT, 1, 64, "who saw it: a name or an id in the reporting system"),   \
        F_BOOL("ongoing", OPT, "still going on when reported"), EVIDENCE
#define REPORT_RULES {CAT_RULE_ANY_OF, "grid,key_area,community", NULL, NULL}, LATLON_RULES

/* Something done about a dispatched task (dispatch's task id). */
#define TASK                                                                                       \
    F_UUID("task", REQ, "the dispatch task"),                                                      \
        F_STR("by", REQ, 1, 64, "who: a person, squad or post, as the field app names them")

/* An enforcement action on a case (the cases service's case id). */
#define ENFORCEMENT                                                                                \
    F_UUID("case", REQ, "the case"), F_REF("ban", REQ, CAT_REF_BAN, "the ban broken"),             \
        F_STR("party", REQ, 1, 200, "who is penalised: a person or a business"),                   \
        F_STR("officer", REQ, 1, 64, "the enforcement officer")

/* A household on the smoking-household register (households are not in the
 * seed data, so they are named by the register's own label). */
#define HOUSEHOLD                                                                                  \
    F_STR("household", REQ, 1, 100, "the household's register label or address"),                  \
        F_REF("community", REQ, CAT_REF_COMMUNITY, "its community"),                               \
        F_REF("grid", OPT, CAT_REF_GRID, "its grid"),                                              \
        F_REF("compound", OPT, CAT_REF_COMPOUND, "its compound (小区)")

/* ---- enums --------------------------------------------------------------- */

static const char *const e_scale[] = {"single", "several", "large", NULL};
static const char *const e_material[] = {"paper_offerings", "rubbish", "straw", "other", NULL};
static const char *const e_activity[] = {"storage", "sales", "storage_and_sales", NULL};
static const char *const e_finding_visit[] = {"all_clear", "violation_found", "persuaded_on_site",
                                              NULL};
static const char *const e_return_reason[] = {"not_our_area", "cannot_reach", "cannot_find",
                                              "duplicate",    "other",        NULL};
static const char *const e_outcome[] = {"persuaded", "refused", "unfounded", NULL};
static const char *const e_closeout[] = {"closed", "not_closed", NULL};
static const char *const e_pledge_kind[] = {"household", "compound", "school", NULL};
static const char *const e_school_party[] = {"teachers", "parents", NULL};
static const char *const e_point_kind[] = {"former_sales_point", "street_stall", "shop", NULL};
static const char *const e_point_finding[] = {"none", "storage_found", "sales_found", NULL};
static const char *const e_visit_result[] = {"agreed_centralized", "undecided", "refused", NULL};
static const char *const e_spot_target[] = {"checkpoint_post", "patrol_squad", "community_work",
                                            "staff_attendance", NULL};
static const char *const e_spot_result[] = {"pass", "issue_found", NULL};
static const char *const e_leave_reason[] = {"sick", "personal", "official_duty", "other", NULL};

/* ---- the types --------------------------------------------------------- */

static const catalogue_field_t f_fireworks[] = {
    REPORT,
    F_ENUM("scale", OPT, e_scale, "single / several / large"),
};
static const catalogue_field_t f_burning[] = {
    REPORT,
    F_ENUM("material", REQ, e_material, "what is burnt"),
};
static const catalogue_field_t f_smoking[] = {
    REPORT,
    F_REF("compound", OPT, CAT_REF_COMPOUND, "compound (小区)"),
    F_STR("household", OPT, 1, 100, "the household, as told"),
};
static const catalogue_field_t f_storage[] = {
    REPORT,
    F_ENUM("activity", REQ, e_activity, "what was found"),
    F_STR("premises", OPT, 1, 200, "shop, stall or store"),
    F_INT("quantity", OPT, 1, 1000000, "boxes or packs seen"),
};
static const catalogue_rule_t r_report[] = {REPORT_RULES};

static const catalogue_field_t f_tip[] = {
    F_REF("ban", REQ, CAT_REF_BAN, "the ban the tip is about"),
    LOCATION,
    F_TEXT("description", REQ, "what the citizen says"),
    {.name = "contact_name",
     .kind = CAT_STR,
     .required = OPT,
     .min = 1,
     .max = 64,
     .flags = CAT_F_CONFIDENTIAL,
     .doc = "the tipster's name (confidential)"},
    {.name = "contact_phone",
     .kind = CAT_PHONE,
     .required = OPT,
     .min = 5,
     .max = 32,
     .flags = CAT_F_CONFIDENTIAL,
     .doc = "the tipster's phone (confidential)"},
    {.name = "contact_digest",
     .kind = CAT_CODE,
     .required = OPT,
     .min = 64,
     .max = 64,
     .flags = CAT_F_DIGEST,
     .doc = "written by intake in place of contact_name and contact_phone when either was "
            "given: their keyed digest (64 hex digits)"},
    F_BOOL("wants_reward", OPT, "asks for the reward of 有奖举报; needs contact_phone"),
    EVIDENCE,
};
static const catalogue_rule_t r_tip[] = {
    {CAT_RULE_ANY_OF, "grid,key_area,community,address", NULL, NULL},
    LATLON_RULES,
    {CAT_RULE_WHEN, "wants_reward", "true", "contact_phone"},
};

static const catalogue_field_t f_check_in[] = {
    F_CODE("squad", REQ, "the patrol squad or fixed-post team, by its roster id"),
    F_REF("group", OPT, CAT_REF_GROUP, "the group it belongs to"),
    F_REF("grid", REQ, CAT_REF_GRID, "the grid it patrols"),
    F_REF("checkpoint", OPT, CAT_REF_CHECKPOINT, "the checkpoint, for a fixed post"),
    F_INT("headcount", REQ, 1, 100, "people present"),
    F_LIST("members", OPT, 50, 64, "names or staff ids of those present"),
    F_NUM("lat", OPT, -90, 90, "WGS-84 latitude, with lon"),
    F_NUM("lon", OPT, -180, 180, "WGS-84 longitude, with lat"),
};
static const catalogue_field_t f_check_out[] = {
    F_CODE("squad", REQ, "the patrol squad or fixed-post team"),
    F_REF("grid", REQ, CAT_REF_GRID, "the grid it patrolled"),
    F_REF("checkpoint", OPT, CAT_REF_CHECKPOINT, "the checkpoint, for a fixed post"),
    F_INT("headcount", OPT, 0, 100, "people present at check-out"),
    NOTE,
};
static const catalogue_field_t f_visit[] = {
    F_CODE("squad", REQ, "the patrol squad"),
    F_REF("grid", REQ, CAT_REF_GRID, "the grid of the route"),
    F_REF("key_area", OPT, CAT_REF_KEY_AREA, "key area visited"),
    F_REF("checkpoint", OPT, CAT_REF_CHECKPOINT, "checkpoint visited"),
    F_REF("compound", OPT, CAT_REF_COMPOUND, "compound visited"),
    F_REF("school", OPT, CAT_REF_SCHOOL, "school visited"),
    F_NUM("lat", OPT, -90, 90, "WGS-84 latitude, with lon"),
    F_NUM("lon", OPT, -180, 180, "WGS-84 longitude, with lat"),
    F_ENUM("finding", REQ, e_finding_visit, "what the visit found"),
    NOTE,
};
static const catalogue_rule_t r_latlon[] = {LATLON_RULES};

static const catalogue_field_t f_ack[] = {
    TASK,
    F_INT("eta_minutes", OPT, 0, 1440, "expected minutes until arrival"),
};
static const catalogue_field_t f_arrived[] = {
    TASK,
    F_NUM("lat", OPT, -90, 90, "WGS-84 latitude, with lon"),
    F_NUM("lon", OPT, -180, 180, "WGS-84 longitude, with lat"),
};
static const catalogue_field_t f_returned[] = {
    TASK,
    F_ENUM("reason", REQ, e_return_reason, "why the task is handed back"),
    NOTE,
};
static const catalogue_rule_t r_returned[] = {{CAT_RULE_WHEN, "reason", "other", "note"}};
static const catalogue_field_t f_done[] = {
    TASK,
    F_ENUM("outcome", REQ, e_outcome,
           "persuaded (劝导成功) / refused (拒不听劝) / unfounded (不实)"),
    F_INT("people_involved", OPT, 0, 1000, "people persuaded or refusing"),
    NOTE,
    EVIDENCE,
};
static const catalogue_rule_t r_done[] = {{CAT_RULE_WHEN, "outcome", "refused", "note"}};

static const catalogue_field_t f_warning[] = {ENFORCEMENT, NOTE};
static const catalogue_field_t f_fine[] = {
    ENFORCEMENT,
    F_INT("amount_yuan", REQ, 1, 1000000, "the fine in yuan"),
    F_STR("decision_no", OPT, 1, 64, "penalty decision number"),
    NOTE,
};
static const catalogue_field_t f_confiscation[] = {
    ENFORCEMENT,
    F_STR("items", REQ, 1, 500, "what was confiscated"),
    F_INT("quantity", OPT, 1, 1000000, "how many (boxes, packs, pieces)"),
    NOTE,
};

static const catalogue_field_t f_closeout[] = {
    F_UUID("case", REQ, "the case"),
    F_STR("verified_by", REQ, 1, 64, "who verified on site"),
    F_ENUM("result", REQ, e_closeout, "closed (销号) or not"),
    NOTE,
    EVIDENCE,
};
static const catalogue_rule_t r_closeout[] = {{CAT_RULE_WHEN, "result", "not_closed", "note"}};

static const catalogue_field_t f_pledge[] = {
    F_ENUM("kind", REQ, e_pledge_kind, "household / compound / school pledge"),
    F_REF("community", REQ, CAT_REF_COMMUNITY, "community"),
    F_REF("grid", OPT, CAT_REF_GRID, "grid"),
    F_REF("compound", OPT, CAT_REF_COMPOUND, "compound (required for kind compound)"),
    F_REF("school", OPT, CAT_REF_SCHOOL, "school (required for kind school)"),
    F_STR("household", OPT, 1, 100, "household label (required for kind household)"),
    F_ENUM("school_party", OPT, e_school_party, "school pledges: with teachers or parents"),
    F_INT("count", REQ, 1, 100000, "pledges signed in this report"),
    F_STR("collected_by", OPT, 1, 64, "who collected them"),
};
static const catalogue_rule_t r_pledge[] = {
    {CAT_RULE_WHEN, "kind", "household", "household"},
    {CAT_RULE_WHEN, "kind", "compound", "compound"},
    {CAT_RULE_WHEN, "kind", "school", "school"},
    {CAT_RULE_WITH, "school_party", "school", NULL},
};

static const catalogue_field_t f_publicity[] = {
    F_REF("channel", REQ, CAT_REF_CHANNEL, "one of the campaign's publicity channels"),
    F_REF("community", OPT, CAT_REF_COMMUNITY, "community, when local"),
    F_REF("grid", OPT, CAT_REF_GRID, "grid, when local"),
    F_REF("compound", OPT, CAT_REF_COMPOUND, "compound, when local"),
    F_INT("quantity", OPT, 1, 1000000, "leaflets, banners, slogans, broadcasts ..."),
    F_INT("people_reached", OPT, 0, 10000000, "people reached, estimated"),
    F_INT("households_aware", OPT, 0, 1000000, "households aware"),
    F_INT("households_pledged", OPT, 0, 1000000, "households pledged"),
    F_INT("households_complying", OPT, 0, 1000000, "households complying"),
    F_TEXT("description", OPT, "what was done"),
};

static const catalogue_field_t f_sales_point[] = {
    F_REF("community", REQ, CAT_REF_COMMUNITY, "community"),
    F_REF("grid", OPT, CAT_REF_GRID, "grid"),
    F_STR("premises", REQ, 1, 200, "the sales point or stall"),
    F_STR("address", OPT, 1, 200, "its address"),
    F_ENUM("kind", REQ, e_point_kind, "what kind of sales point"),
    F_ENUM("finding", REQ, e_point_finding, "what the inspection found"),
    F_INT("quantity", OPT, 1, 1000000, "boxes or packs found"),
    F_STR("inspector", OPT, 1, 64, "who inspected"),
    NOTE,
};
static const catalogue_field_t f_hh_registered[] = {
    HOUSEHOLD,
    F_STR("head", OPT, 1, 64, "head of the household"),
    F_INT("planned_kg", OPT, 1, 10000, "meat it plans to smoke, kg"),
    NOTE,
};
static const catalogue_field_t f_hh_visited[] = {
    HOUSEHOLD,
    F_ENUM("result", REQ, e_visit_result, "what the household agreed"),
    F_STR("visited_by", OPT, 1, 64, "who visited"),
    NOTE,
};
static const catalogue_field_t f_hh_used[] = {
    HOUSEHOLD,
    F_STR("point", REQ, 1, 100, "the centralized smoking point used"),
    F_BOOL("closed", OPT, "the register entry is closed (跟踪销号)"),
    NOTE,
};

static const catalogue_field_t f_spot_check[] = {
    F_REF("inspector", REQ, CAT_REF_PERSON, "the supervising person"),
    F_REF("community", REQ, CAT_REF_COMMUNITY, "community inspected"),
    F_REF("grid", OPT, CAT_REF_GRID, "grid inspected"),
    F_REF("key_area", OPT, CAT_REF_KEY_AREA, "key area inspected"),
    F_REF("checkpoint", OPT, CAT_REF_CHECKPOINT, "checkpoint inspected"),
    F_ENUM("target", REQ, e_spot_target, "what was inspected"),
    F_ENUM("result", REQ, e_spot_result, "pass or issue found"),
    F_INT("staff_expected", OPT, 0, 1000, "people who should have been there"),
    F_INT("staff_present", OPT, 0, 1000, "people who were"),
    NOTE,
};
static const catalogue_rule_t r_spot_check[] = {
    {CAT_RULE_WHEN, "result", "issue_found", "note"},
    {CAT_RULE_NOT_AFTER, "staff_present", "staff_expected", NULL},
};

static const catalogue_field_t f_leave[] = {
    F_CODE("staff", REQ, "who asks: staff id in the roster"),
    F_REF("person", OPT, CAT_REF_PERSON, "the same, when a named person of the campaign"),
    F_REF("group", OPT, CAT_REF_GROUP, "the group they serve in"),
    F_DATE("from", REQ, "first day of leave"),
    F_DATE("to", REQ, "last day of leave"),
    F_ENUM("reason", REQ, e_leave_reason, "why"),
    NOTE,
};
static const catalogue_rule_t r_leave[] = {
    {CAT_RULE_NOT_AFTER, "from", "to", NULL},
    {CAT_RULE_WHEN, "reason", "other", "note"},
};

#define EX_TASK "\"task\":\"5d0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f\""
#define EX_CASE "\"case\":\"7e1d2c3b-4a5f-4e6d-8c7b-9a0b1c2d3e4f\""

static const catalogue_type_t s_types[] = {
    TYPE("report.fireworks_set_off", "fireworks or firecrackers set off (禁放)", f_fireworks,
         r_report,
         "{\"community\":\"baima\",\"grid\":\"baima-g01\",\"address\":\"滨河路12号\","
         "\"lat\":31.4052,\"lon\":109.6218,\"description\":\"楼下燃放鞭炮\","
         "\"reported_by\":\"巡查员王某\",\"ongoing\":true,"
         "\"evidence\":[\"https://files.example/p/1.jpg\"],\"scale\":\"several\"}"),
    TYPE("report.open_burning", "open burning: paper offerings, rubbish, straw (禁燃)", f_burning,
         r_report,
         "{\"key_area\":\"hejiaping\",\"community\":\"baima\",\"description\":\"坟前烧纸\","
         "\"material\":\"paper_offerings\",\"ongoing\":false}"),
    TYPE("report.meat_smoking", "meat smoked at home (禁熏)", f_smoking, r_report,
         "{\"grid\":\"modou-g01\",\"compound\":\"modou-mingzhu\",\"household\":\"3栋2单元501\","
         "\"description\":\"阳台熏制腊肉\"}"),
    TYPE("report.fireworks_storage_sales", "fireworks stored or sold (禁放)", f_storage, r_report,
         "{\"grid\":\"xinhua-g02\",\"activity\":\"sales\",\"premises\":\"新华路小卖部\","
         "\"quantity\":12}"),
    TYPE("tip.received", "a citizen's tip-off (举报); the contact is kept confidential", f_tip,
         r_tip,
         "{\"ban\":\"no_fireworks\",\"address\":\"白马老街\",\"community\":\"baima\","
         "\"description\":\"有人在家储存烟花\",\"contact_name\":\"张先生\","
         "\"contact_phone\":\"+86 138 0000 0000\",\"wants_reward\":true}"),
    TYPE("patrol.check_in", "a patrol squad or fixed post starts its shift", f_check_in, r_latlon,
         "{\"squad\":\"baima-sq1\",\"group\":\"patrol-baima\",\"grid\":\"baima-g01\","
         "\"headcount\":3,\"members\":[\"刘远辉\",\"金忠来\",\"网格员李某\"],"
         "\"lat\":31.4052,\"lon\":109.6218}"),
    TYPE_NR("patrol.check_out", "a patrol squad or fixed post ends its shift", f_check_out,
            "{\"squad\":\"hejiaping-post\",\"grid\":\"baima-g04\","
            "\"checkpoint\":\"hejiaping-cp\",\"headcount\":2}"),
    TYPE("patrol.route_visit", "a patrol squad passes a point of its route", f_visit, r_latlon,
         "{\"squad\":\"xinhua-sq2\",\"grid\":\"xinhua-g03\",\"compound\":\"xinhua-huafu\","
         "\"finding\":\"all_clear\"}"),
    TYPE_NR("task.acknowledged", "a dispatched task is acknowledged", f_ack,
            "{" EX_TASK ",\"by\":\"baima-sq1\",\"eta_minutes\":10}"),
    TYPE("task.arrived", "the responder arrived on site", f_arrived, r_latlon,
         "{" EX_TASK ",\"by\":\"baima-sq1\",\"lat\":31.4052,\"lon\":109.6218}"),
    TYPE("task.returned", "a task is handed back, with the reason", f_returned, r_returned,
         "{" EX_TASK ",\"by\":\"modou-sq1\",\"reason\":\"not_our_area\"}"),
    TYPE("task.done", "a task is finished, with its outcome", f_done, r_done,
         "{" EX_TASK ",\"by\":\"baima-sq1\",\"outcome\":\"persuaded\",\"people_involved\":2}"),
    TYPE_NR("enforcement.warning", "a warning was issued (执法: 警告)", f_warning,
            "{" EX_CASE ",\"ban\":\"no_burning\",\"party\":\"李某\",\"officer\":\"杨民\"}"),
    TYPE_NR("enforcement.fine", "a fine was imposed (执法: 罚款)", f_fine,
            "{" EX_CASE ",\"ban\":\"no_fireworks\",\"party\":\"新华路小卖部\","
            "\"officer\":\"冉启平\",\"amount_yuan\":500,\"decision_no\":\"巫执罚〔2020〕3号\"}"),
    TYPE_NR("enforcement.confiscation", "goods were confiscated (执法: 收缴)", f_confiscation,
            "{" EX_CASE ",\"ban\":\"no_fireworks\",\"party\":\"新华路小卖部\","
            "\"officer\":\"台勇\",\"items\":\"烟花\",\"quantity\":12}"),
    TYPE("closeout.verified", "on-site close-out verification of a case (销号核查)", f_closeout,
         r_closeout, "{" EX_CASE ",\"verified_by\":\"李丽\",\"result\":\"closed\"}"),
    TYPE("pledge.signed", "pledges signed: household, compound or school (承诺书)", f_pledge,
         r_pledge,
         "{\"kind\":\"compound\",\"community\":\"baima\",\"grid\":\"baima-g01\","
         "\"compound\":\"baima-binhe\",\"count\":120,\"collected_by\":\"物业王经理\"}"),
    TYPE_NR("publicity.logged", "a publicity action on one of the plan's channels", f_publicity,
            "{\"channel\":\"leaflet\",\"community\":\"xinhua\",\"quantity\":500,"
            "\"people_reached\":800,\"households_aware\":300,\"households_pledged\":120}"),
    TYPE_NR("survey.sales_point_inspected", "a former fireworks sales point or stall inspected",
            f_sales_point,
            "{\"community\":\"fengyi\",\"grid\":\"fengyi-g01\",\"premises\":\"丰益烟花店（原）\","
            "\"kind\":\"former_sales_point\",\"finding\":\"none\",\"inspector\":\"廖贤军\"}"),
    TYPE_NR("survey.smoking_household_registered",
            "a household that plans to smoke meat is registered", f_hh_registered,
            "{\"household\":\"墨斗社区3组15号\",\"community\":\"modou\",\"grid\":\"modou-g03\","
            "\"head\":\"陈某\",\"planned_kg\":30}"),
    TYPE_NR("survey.smoking_household_visited", "a registered household is visited in advance",
            f_hh_visited,
            "{\"household\":\"墨斗社区3组15号\",\"community\":\"modou\","
            "\"result\":\"agreed_centralized\"}"),
    TYPE_NR("survey.smoking_household_used_centralized",
            "a registered household smoked at the centralized point", f_hh_used,
            "{\"household\":\"墨斗社区3组15号\",\"community\":\"modou\","
            "\"point\":\"墨斗集中熏制点\",\"closed\":true}"),
    TYPE("supervision.spot_check", "an unannounced inspection by the supervision group (督查)",
         f_spot_check, r_spot_check,
         "{\"inspector\":\"li-li\",\"community\":\"baima\",\"key_area\":\"hejiaping\","
         "\"checkpoint\":\"hejiaping-cp\",\"target\":\"checkpoint_post\",\"result\":\"pass\","
         "\"staff_expected\":2,\"staff_present\":2}"),
    TYPE("leave.requested", "a staff member asks for leave", f_leave, r_leave,
         "{\"staff\":\"baima-w07\",\"group\":\"patrol-baima\",\"from\":\"2019-12-02\","
         "\"to\":\"2019-12-03\",\"reason\":\"sick\"}"),
};

/* ---- lookups -------------------------------------------------------------- */

size_t catalogue_count(void)
{
    return COUNT(s_types);
}

const catalogue_type_t *catalogue_at(size_t i)
{
    return i < COUNT(s_types) ? &s_types[i] : NULL;
}

const catalogue_type_t *catalogue_find(const char *name)
{
    for (size_t i = 0; name && i < COUNT(s_types); i++)
        if (strcmp(s_types[i].name, name) == 0)
            return &s_types[i];
    return NULL;
}

const catalogue_field_t *catalogue_field(const catalogue_type_t *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n_fields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    return NULL;
}

const char *catalogue_status_code(catalogue_status_t status)
{
    static const char *const codes[] = {
        "OK",          "E_MISSING",     "E_TYPE",        "E_RANGE", "E_UNKNOWN_KEY",
        "E_MALFORMED", "E_UNKNOWN_REF", "E_REF_MISMATCH"};
    /* Only a bug can produce another value; the client sees what it is. */
    return (size_t)status < COUNT(codes) ? codes[status] : "E_INTERNAL";
}

const char *catalogue_kind_name(catalogue_kind_t kind)
{
    static const char *const names[] = {"?",    "str",  "text", "code", "phone", "int",  "number",
                                        "bool", "enum", "uuid", "date", "ref",   "str[]"};
    return (size_t)kind < COUNT(names) ? names[kind] : "?";
}

const char *catalogue_ref_name(catalogue_ref_t ref)
{
    static const char *const names[] = {"",           "community", "grid",   "key_area",
                                        "checkpoint", "compound",  "school", "person",
                                        "group",      "channel",   "ban"};
    return (size_t)ref < COUNT(names) ? names[ref] : "?";
}

/* ---- checking -------------------------------------------------------------- */

/* Untrusted bytes echoed in messages: printable ASCII kept, the rest as
 * \xNN, capped, so error texts and logs stay one clean line. */
static void s_quote(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            dst[n++] = (char)c;
        else
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", c);
        if (i == 40 && len > 44) {
            n += (size_t)snprintf(dst + n, cap - n, "...");
            break;
        }
    }
    dst[n] = '\0';
}

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
static catalogue_status_t s_check_str(const catalogue_field_t *f, const msgpack_object *o,
                                      int64_t min, int64_t max, err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        err_set(err, "field '%s': expected str, got %s", f->name, mp_type_name(o->type));
        return CATALOGUE_E_TYPE;
    }
    size_t len = o->via.str.size;
    if ((int64_t)len < min || (int64_t)len > max) {
        err_set(err, "field '%s': %zu bytes, expected %" PRId64 "..%" PRId64, f->name, len, min,
                max);
        return CATALOGUE_E_RANGE;
    }
    catalogue_kind_t chars = f->kind == CAT_STR_LIST ? CAT_STR : f->kind;
    if (chars == CAT_ENUM || chars == CAT_UUID || chars == CAT_DATE || chars == CAT_REF)
        chars = CAT_STR;
    return s_check_chars(f->name, chars, o->via.str.ptr, len, err) == 0 ? CATALOGUE_OK
                                                                        : CATALOGUE_E_RANGE;
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

static catalogue_status_t s_check_value(const catalogue_field_t *f, const msgpack_object *o,
                                        const campaign_t *campaign, place_t *where, err_t *err)
{
    catalogue_status_t st;
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
            return CATALOGUE_E_TYPE;
        }
        if (v < f->min || v > f->max) {
            err_set(err, "field '%s': %" PRId64 " is out of range %" PRId64 "..%" PRId64, f->name,
                    v, f->min, f->max);
            return CATALOGUE_E_RANGE;
        }
        return CATALOGUE_OK;
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
            return CATALOGUE_E_TYPE;
        }
        if (!isfinite(v) || v < f->fmin || v > f->fmax) {
            err_set(err, "field '%s': %g is out of range %g..%g", f->name, v, f->fmin, f->fmax);
            return CATALOGUE_E_RANGE;
        }
        return CATALOGUE_OK;
    }
    case CAT_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN) {
            err_set(err, "field '%s': expected bool, got %s", f->name, mp_type_name(o->type));
            return CATALOGUE_E_TYPE;
        }
        return CATALOGUE_OK;
    case CAT_STR:
    case CAT_TEXT:
    case CAT_CODE:
    case CAT_PHONE:
        return s_check_str(f, o, f->min, f->max, err);
    case CAT_ENUM:
        if ((st = s_check_str(f, o, 1, 63, err)) != CATALOGUE_OK && st == CATALOGUE_E_TYPE)
            return st;
        for (size_t i = 0; st == CATALOGUE_OK && f->values[i]; i++)
            if (mp_str_eq(o, f->values[i]))
                return CATALOGUE_OK;
        s_quote(q, sizeof q, o->via.str.ptr, o->via.str.size);
        err_set(err, "field '%s': '%s' is not one of the allowed values", f->name, q);
        return CATALOGUE_E_RANGE;
    case CAT_UUID:
        if ((st = s_check_str(f, o, ENVELOPE_ID_LEN, ENVELOPE_ID_LEN, err)) != CATALOGUE_OK)
            return st;
        if (!envelope_is_uuid(o->via.str.ptr, o->via.str.size)) {
            s_quote(q, sizeof q, o->via.str.ptr, o->via.str.size);
            err_set(err, "field '%s': '%s' is not a canonical UUID", f->name, q);
            return CATALOGUE_E_RANGE;
        }
        return CATALOGUE_OK;
    case CAT_DATE: {
        int32_t day;
        if ((st = s_check_str(f, o, 10, 10, err)) != CATALOGUE_OK && st == CATALOGUE_E_TYPE)
            return st;
        if (st == CATALOGUE_OK) {
            memcpy(buf, o->via.str.ptr, 10);
            buf[10] = '\0';
            if (campaign_date_parse(buf, &day) == 0)
                return CATALOGUE_OK;
        }
        s_quote(q, sizeof q, o->via.str.ptr, o->via.str.size);
        err_set(err, "field '%s': '%s' is not a date YYYY-MM-DD", f->name, q);
        return CATALOGUE_E_RANGE;
    }
    case CAT_REF:
        if ((st = s_check_str(f, o, f->min, f->max, err)) != CATALOGUE_OK)
            return st;
        if (!campaign)
            return CATALOGUE_OK;
        memcpy(buf, o->via.str.ptr, o->via.str.size);
        buf[o->via.str.size] = '\0';
        if (!s_resolve(campaign, f->ref, buf, where)) {
            s_quote(q, sizeof q, buf, o->via.str.size);
            err_set(err, "field '%s': '%s' is not a %s of %s", f->name, q,
                    catalogue_ref_name(f->ref), campaign_subdistrict(campaign));
            return CATALOGUE_E_UNKNOWN_REF;
        }
        where->field = f->name;
        return CATALOGUE_OK;
    case CAT_STR_LIST:
        if (o->type != MSGPACK_OBJECT_ARRAY) {
            err_set(err, "field '%s': expected array, got %s", f->name, mp_type_name(o->type));
            return CATALOGUE_E_TYPE;
        }
        if ((int64_t)o->via.array.size < f->min || (int64_t)o->via.array.size > f->max) {
            err_set(err, "field '%s': %" PRIu32 " items, expected %" PRId64 "..%" PRId64, f->name,
                    o->via.array.size, f->min, f->max);
            return CATALOGUE_E_RANGE;
        }
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if ((st = s_check_str(f, &o->via.array.ptr[i], 1, f->item_max, err)) != CATALOGUE_OK)
                return st;
        return CATALOGUE_OK;
    }
    err_set(err, "field '%s': catalogue entry has no kind", f->name);
    return CATALOGUE_E_TYPE;
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
static catalogue_status_t s_check_rules(const catalogue_type_t *t, const msgpack_object **slot,
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
                return CATALOGUE_E_MISSING;
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
            return CATALOGUE_E_MISSING;
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
                return CATALOGUE_E_MISSING;
            }
        }
        if (rule->kind == CAT_RULE_NOT_AFTER && slot[b] && s_after(slot[a], slot[b])) {
            s_name(field, cap, rule->a);
            err_set(err, "field '%s': must not be after '%s'", rule->a, rule->b);
            return CATALOGUE_E_RANGE;
        }
    }
    return CATALOGUE_OK;
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
static catalogue_status_t s_check_places(const place_t *places, size_t n, char *field, size_t cap,
                                         err_t *err)
{
    const place_t *community = NULL, *grid = NULL, *area = NULL;
    for (size_t i = 0; i < n; i++) {
        const place_t *p = &places[i];
        if (p->community && community && strcmp(p->community, community->community) != 0) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': lies in community '%s', but '%s' is in '%s'", p->field,
                    p->community, community->field, community->community);
            return CATALOGUE_E_REF_MISMATCH;
        }
        if (p->grid && grid && strcmp(p->grid, grid->grid) != 0) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': lies in grid '%s', but '%s' is in '%s'", p->field, p->grid,
                    grid->field, grid->grid);
            return CATALOGUE_E_REF_MISMATCH;
        }
        if (p->area && area && p->area != area->area) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': belongs to key area '%s', but '%s' is at '%s'", p->field,
                    p->area->id, area->field, area->area->id);
            return CATALOGUE_E_REF_MISMATCH;
        }
        const place_t *g = p->grid ? p : grid, *a = p->area ? p : area;
        if (g && a && !s_area_covers(a->area, g->grid)) {
            s_name(field, cap, p->field);
            err_set(err, "field '%s': grid '%s' ('%s') is not a grid of key area '%s' ('%s')",
                    p->field, g->grid, g->field, a->area->id, a->field);
            return CATALOGUE_E_REF_MISMATCH;
        }
        if (p->community && !community)
            community = p;
        if (p->grid && !grid)
            grid = p;
        if (p->area && !area)
            area = p;
    }
    return CATALOGUE_OK;
}

#define CATALOGUE_MAX_FIELDS 32

/* The checker behind both forms (see catalogue.h): stored is the log's
 * form, in which confidential keys are unknown and the digest is allowed. */
static catalogue_status_t s_check(const catalogue_type_t *t, const msgpack_object *body,
                                  const campaign_t *campaign, bool stored, char *field, size_t cap,
                                  err_t *err)
{
    const msgpack_object *slot[CATALOGUE_MAX_FIELDS] = {NULL};
    place_t places[CATALOGUE_MAX_FIELDS];
    size_t nplaces = 0;
    char q[256];
    catalogue_status_t st;

    s_name(field, cap, "");
    err_clear(err);
    if (!t || t->n_fields > CATALOGUE_MAX_FIELDS) {
        err_set(err, "no such type in the catalogue");
        return CATALOGUE_E_MALFORMED;
    }
    if (!body || body->type != MSGPACK_OBJECT_MAP) {
        s_name(field, cap, "body");
        err_set(err, "field 'body': expected map, got %s",
                body ? mp_type_name(body->type) : "nothing");
        return body ? CATALOGUE_E_TYPE : CATALOGUE_E_MISSING;
    }
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object *key = &body->via.map.ptr[i].key;
        if (key->type != MSGPACK_OBJECT_STR) {
            err_set(err, "body: key %" PRIu32 " is %s, keys must be str", i,
                    mp_type_name(key->type));
            return CATALOGUE_E_UNKNOWN_KEY;
        }
        int f = s_index(t, key->via.str.ptr, key->via.str.size);
        s_quote(q, sizeof q, key->via.str.ptr, key->via.str.size);
        if (f < 0) {
            s_name(field, cap, q);
            err_set(err, "field '%s': not a field of %s", q, t->name);
            return CATALOGUE_E_UNKNOWN_KEY;
        }
        if (!stored && (t->fields[f].flags & CAT_F_DIGEST)) {
            s_name(field, cap, q);
            err_set(err, "field '%s': written by intake, a client may not send it", q);
            return CATALOGUE_E_UNKNOWN_KEY;
        }
        if (stored && (t->fields[f].flags & CAT_F_CONFIDENTIAL)) {
            s_name(field, cap, q);
            err_set(err, "field '%s': confidential, never part of a stored event", q);
            return CATALOGUE_E_UNKNOWN_KEY;
        }
        if (slot[f]) {
            s_name(field, cap, q);
            err_set(err, "field '%s': given twice", q);
            return CATALOGUE_E_MALFORMED;
        }
        slot[f] = &body->via.map.ptr[i].val;
    }
    for (size_t i = 0; i < t->n_fields; i++) {
        const catalogue_field_t *f = &t->fields[i];
        if (!slot[i]) {
            if (f->required) {
                s_name(field, cap, f->name);
                err_set(err, "field '%s': missing", f->name);
                return CATALOGUE_E_MISSING;
            }
            continue;
        }
        place_t where = {NULL, NULL, NULL, NULL};
        if ((st = s_check_value(f, slot[i], campaign, &where, err)) != CATALOGUE_OK) {
            s_name(field, cap, f->name);
            return st;
        }
        if (where.field && (where.community || where.grid || where.area))
            places[nplaces++] = where;
    }
    if ((st = s_check_rules(t, slot, stored, field, cap, err)) != CATALOGUE_OK)
        return st;
    return s_check_places(places, nplaces, field, cap, err);
}

catalogue_status_t catalogue_check(const catalogue_type_t *t, const msgpack_object *body,
                                   const campaign_t *campaign, char *field, size_t cap, err_t *err)
{
    return s_check(t, body, campaign, false, field, cap, err);
}

catalogue_status_t catalogue_check_stored(const catalogue_type_t *t, const msgpack_object *body,
                                          char *field, size_t cap, err_t *err)
{
    return s_check(t, body, NULL, true, field, cap, err);
}

void catalogue_normalise(const catalogue_type_t *t, msgpack_object *body)
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
