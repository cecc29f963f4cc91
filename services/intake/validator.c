/* validator.c - everything a submit must pass before it is stored, in the
 * order a client can fix it: who sent it (E_FORBIDDEN), which campaign
 * (E_UNKNOWN_SUBDISTRICT), which type (E_UNKNOWN_TYPE), the body against
 * the catalogue and the campaign (E_MISSING, E_TYPE, E_RANGE,
 * E_UNKNOWN_KEY, E_UNKNOWN_REF, E_REF_MISMATCH ...), the event time. Only
 * then is the body normalised (uuids lower-cased) and are confidential
 * fields replaced by their digest, kept for the store hook: nothing here
 * touches the database, so a refusal stores nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validator.h"

#include "bodycheck.h"
#include "campaignset.h"

int intake_validator_init(intake_validator_t *v, const campaignset_t *campaigns,
                          const intake_allowlist_t *allowlist, db_t *db, const aclock_t *clock,
                          int64_t max_future_ms, const uint8_t digest_key[INTAKE_DIGEST_KEY_LEN])
{
    memset(v, 0, sizeof *v);
    v->campaigns = campaigns;
    v->allowlist = allowlist;
    v->db = db;
    v->clock = clock;
    v->max_future_ms = max_future_ms;
    memcpy(v->digest_key, digest_key, INTAKE_DIGEST_KEY_LEN);
    /* On the heap: a batch's worth of slots is too big for a stack. */
    if (!(v->pending = calloc(INGEST_BATCH_MAX, sizeof *v->pending)))
        return -1;
    for (size_t i = 0; i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_init(&v->pending[i].fields);
    return 0;
}

void intake_validator_fini(intake_validator_t *v)
{
    for (size_t i = 0; v->pending && i < INGEST_BATCH_MAX; i++)
        msgpack_sbuffer_destroy(&v->pending[i].fields);
    free(v->pending);
    v->pending = NULL;
    explicit_bzero(v->digest_key, sizeof v->digest_key);
}

/* Counts a refusal and sets the outputs; always returns -1. */
static int s_refuse(intake_validator_t *v, const char *code, const char *field,
                    const char **code_out, const char **field_out)
{
    size_t i;
    for (i = 0; i < v->nrefused && strcmp(v->refused[i].code, code) != 0; i++)
        ;
    if (i == v->nrefused && i < INTAKE_VALIDATOR_MAX_CODES)
        v->refused[v->nrefused++] = (intake_validator_code_count_t){.code = code, .n = 0};
    if (i < v->nrefused)
        v->refused[i].n++;
    snprintf(v->field, sizeof v->field, "%s", field ? field : "");
    *code_out = code;
    *field_out = field ? v->field : NULL;
    return -1;
}

int intake_validator_check(void *arg, envelope_t *env, const char *user_id, size_t slot,
                           const char **code, const char **field, err_t *err)
{
    intake_validator_t *v = arg;
    const char *denied = NULL;
    char bad[CATALOGUE_FIELD_MAX + 1];

    if (!v->pending || slot >= INGEST_BATCH_MAX) {
        err_set(err, "internal error: request slot %zu out of range", slot);
        return s_refuse(v, "E_INTERNAL", NULL, code, field);
    }
    /* With authentication on, the connection's name decides what it may send. */
    if (v->allowlist && !intake_allowlist_permits(v->allowlist, user_id, env, &denied)) {
        if (!strcmp(denied, "source"))
            err_set(err, "field 'source': '%s' may not be used by this client (it is '%s')",
                    env->source, user_id ? user_id : "unauthenticated");
        else
            err_set(err, "field '%s': client '%s' may not send '%s'", denied, user_id,
                    !strcmp(denied, "type") ? env->type : env->subdistrict);
        return s_refuse(v, "E_FORBIDDEN", denied, code, field);
    }
    const campaign_t *campaign = campaignset_find(v->campaigns, env->subdistrict);
    if (!campaign) {
        err_set(err, "field 'subdistrict': no campaign for '%s'", env->subdistrict);
        return s_refuse(v, "E_UNKNOWN_SUBDISTRICT", "subdistrict", code, field);
    }
    const catalogue_type_t *type = catalogue_find(env->type);
    if (!type) {
        err_set(err, "field 'type': '%s' is not in the event catalogue", env->type);
        return s_refuse(v, "E_UNKNOWN_TYPE", "type", code, field);
    }
    bodycheck_status_t st = bodycheck_submitted(type, &env->body, campaign, bad, sizeof bad, err);
    if (st != BODYCHECK_OK)
        return s_refuse(v, bodycheck_status_code(st), bad[0] ? bad : NULL, code, field);
    if (v->clock && v->max_future_ms > 0 &&
        env->time_ms > aclock_wall_ms(v->clock) + v->max_future_ms) {
        err_set(err, "field 'time': %" PRId64 " is more than %" PRId64 " s ahead of our clock",
                env->time_ms, v->max_future_ms / 1000);
        return s_refuse(v, "E_RANGE", "time", code, field);
    }
    /* Accepted: from here on only the canonical form is shaped. */
    bodycheck_normalise(type, &env->body);
    return intake_confidential_take(type, env, v->digest_key, &v->pending[slot]) > 0 ? 1 : 0;
}
