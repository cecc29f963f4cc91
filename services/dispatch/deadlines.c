/* deadlines.c - deadline rows and their tightening (see deadlines.h). */
#include "deadlines.h"

#define MIN_DURATION_MS 60000

static int64_t s_tighten(int64_t ms, double factor)
{
    int64_t t = (int64_t)((double)ms * factor) / 1000 * 1000;
    return t < MIN_DURATION_MS ? MIN_DURATION_MS : t;
}

int dispatch_deadlines_for(const dispatch_rules_t *r, const char *kind,
                           dispatch_priority_t priority, bool in_key_area, bool sensitive,
                           int64_t from_ms, dispatch_due_t *out)
{
    for (size_t i = 0; i < r->n_deadlines; i++) {
        const dispatch_deadline_row_t *d = &r->deadlines[i];
        if (!dispatch_rules_kind_in(d->kinds, d->n_kinds, kind) ||
            (!d->any_priority && d->priority != priority))
            continue;
        double f =
            (in_key_area ? r->key_area_factor : 1.0) * (sensitive ? r->sensitive_factor : 1.0);
        out->ack_ms = from_ms + s_tighten(d->ack_ms, f);
        out->arrive_ms = from_ms + s_tighten(d->arrive_ms, f);
        out->resolve_ms = from_ms + s_tighten(d->resolve_ms, f);
        out->row = d;
        return 0;
    }
    return -1;
}

int64_t dispatch_deadlines_step_ms(const dispatch_rules_t *r, bool sensitive)
{
    return s_tighten(r->step_ms, sensitive ? r->sensitive_factor : 1.0);
}
