/* sensitive.c - sensitive-date mode from the campaign calendar, in the
 * campaign's time zone (see sensitive.h). Dates come from aclock_local()
 * and civildate_add(); the zone is a fixed offset (Asia/Shanghai has
 * had no DST since 1991), so local days are exactly 24 h long. */
#include "sensitive.h"

#include "civildate.h"

#include "clock.h"

/* Longest look-ahead for the next change: a campaign spans one season. */
#define MAX_SCAN_DAYS 3700

static const campaign_sensitive_t *s_on_date(const dispatch_rules_t *r, int32_t ymd)
{
    const campaign_t *c = r->campaign;
    for (size_t i = 0; i < c->n_sensitive; i++)
        if (r->sensitive_on[i] && c->sensitive[i].from <= ymd && ymd <= c->sensitive[i].to)
            return &c->sensitive[i];
    return NULL;
}

static int32_t s_local_date(const dispatch_rules_t *r, int64_t now_ms)
{
    int32_t ymd;
    int minute;
    aclock_local(now_ms, r->campaign->utc_offset_minutes, &ymd, &minute);
    return ymd;
}

const campaign_sensitive_t *dispatch_sensitive_at(const dispatch_rules_t *r, int64_t now_ms)
{
    return s_on_date(r, s_local_date(r, now_ms));
}

int64_t dispatch_sensitive_local_midnight(const dispatch_rules_t *r, int64_t now_ms)
{
    int64_t offset_ms = (int64_t)r->campaign->utc_offset_minutes * 60000;
    int64_t local = now_ms + offset_ms;
    int64_t into_day = local % DISPATCH_DAY_MS;
    if (into_day < 0) /* before 1970: floor, not truncation */
        into_day += DISPATCH_DAY_MS;
    return now_ms - into_day;
}

int64_t dispatch_sensitive_next_change(const dispatch_rules_t *r, int64_t now_ms)
{
    int32_t day = s_local_date(r, now_ms);
    bool on = s_on_date(r, day) != NULL;
    int64_t midnight = dispatch_sensitive_local_midnight(r, now_ms);
    for (int i = 1; i <= MAX_SCAN_DAYS; i++) {
        day = civildate_add(day, 1);
        if (day == 0)
            break;
        bool next_on = s_on_date(r, day) != NULL;
        if (next_on != on)
            return midnight + (int64_t)i * DISPATCH_DAY_MS;
        if (!on && day > r->campaign->to) /* the loader keeps every date inside */
            break;
    }
    return -1;
}

void dispatch_sensitive_arm(const dispatch_rules_t *r, int64_t now_ms, dispatch_decision_t *d)
{
    int64_t next = dispatch_sensitive_next_change(r, now_ms);
    if (next > 0)
        dispatch_decision_timer_set(d, DISPATCH_TIMER_SENSITIVE, NULL, r->campaign->subdistrict_id,
                                    next);
}

void dispatch_sensitive_on_timer(const dispatch_rules_t *r, int64_t due_ms, int64_t now_ms,
                                 dispatch_decision_t *d)
{
    const campaign_sensitive_t *now_on = dispatch_sensitive_at(r, due_ms);
    const campaign_sensitive_t *before = dispatch_sensitive_at(r, due_ms - 1);
    if ((now_on != NULL) != (before != NULL)) {
        dispatch_record_t *rec = dispatch_decision_record(
            d, now_on ? DISPATCH_REC_SENSITIVE_STARTED : DISPATCH_REC_SENSITIVE_ENDED, NULL,
            now_ms);
        if (rec) {
            rec->sensitive_id = now_on ? now_on->id : before->id;
            rec->unit = r->sensitive_notify->id;
        }
    }
    dispatch_sensitive_arm(r, due_ms, d);
}
