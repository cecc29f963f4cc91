/* input.h - what dispatch reads from an intake event: the envelope's body
 * turned into a dispatch_report_t or a dispatch_response_t (report.h,
 * response.h). Pure: no SQL, sockets or clock. Intake has validated the
 * body against the catalogue already; dispatch still refuses a body of
 * the wrong shape with a reason instead of trusting it. */
#ifndef AIRGUARD_DISPATCH_INPUT_H
#define AIRGUARD_DISPATCH_INPUT_H

#include "envelope.h"
#include "err.h"
#include "report.h"
#include "response.h"
#include "rules.h"

#define DISPATCH_INPUT_ID_MAX 63

/* An input event, decoded: the strings the report or response borrows. */
typedef struct dispatch_input {
    enum {
        DISPATCH_INPUT_NONE = 0, /* opens no task and is no response: nothing to do */
        DISPATCH_INPUT_REPORT,   /* report is filled */
        DISPATCH_INPUT_RESPONSE, /* response is filled */
    } what;
    dispatch_report_t report;
    dispatch_response_t response;
    /* Storage the two borrow from (NUL-terminated copies of body strings). */
    char community[DISPATCH_INPUT_ID_MAX + 1], grid[DISPATCH_INPUT_ID_MAX + 1],
        key_area[DISPATCH_INPUT_ID_MAX + 1], checkpoint[DISPATCH_INPUT_ID_MAX + 1],
        compound[DISPATCH_INPUT_ID_MAX + 1], school[DISPATCH_INPUT_ID_MAX + 1],
        detail[DISPATCH_INPUT_ID_MAX + 1], task[DISPATCH_INPUT_ID_MAX + 1],
        by[64 + 1], /* the catalogue's `by`: 1..64 bytes */
        reason[DISPATCH_INPUT_ID_MAX + 1], outcome[DISPATCH_INPUT_ID_MAX + 1];
} dispatch_input_t;

/* Reads env (rules: its subdistrict's) into in. Returns 0, or -1 with err
 * naming the field when the body cannot be read (a dead letter). in
 * borrows env->id and env->type. */
int dispatch_input_read(const dispatch_rules_t *r, const envelope_t *env, dispatch_input_t *in,
                        err_t *err);

#endif
