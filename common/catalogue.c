/* catalogue.c - the event catalogue, the table; see include/catalogue.h.
 *
 * Data only: one array of fields per type and one row per type, and the
 * lookups. Fields shared by many types are written once as macros, so a
 * location means the same thing in every report. bodycheck.c checks a
 * msgpack body against a row. */
#include "catalogue.h"

#include <string.h>

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
static const char *const e_detected[] = {"smoke", "fire", "fireworks", NULL};

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

/* A smoke camera's video analysis raised an alarm (烟火监控): machine-made,
 * so where it is may be the camera's point only. */
static const catalogue_field_t f_camera[] = {
    F_CODE("camera", REQ, "the camera's id in the video system"),
    F_ENUM("detected", REQ, e_detected, "what the analysis saw: smoke, open fire, fireworks"),
    F_INT("confidence", OPT, 0, 100, "the analysis's confidence, percent"),
    LOCATION,
    F_BOOL("ongoing", OPT, "still seen when the alarm was raised"),
    EVIDENCE,
};
static const catalogue_rule_t r_camera[] = {
    {CAT_RULE_ANY_OF, "grid,key_area,community,lat", NULL, NULL},
    LATLON_RULES,
};

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
    TYPE("alarm.camera", "a smoke camera's alarm (烟火监控报警)", f_camera, r_camera,
         "{\"camera\":\"cam-baima-07\",\"detected\":\"smoke\",\"confidence\":87,"
         "\"grid\":\"baima-g02\",\"lat\":31.4061,\"lon\":109.623,\"ongoing\":true,"
         "\"evidence\":[\"https://video.example/s/cam-baima-07/1.jpg\"]}"),
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
