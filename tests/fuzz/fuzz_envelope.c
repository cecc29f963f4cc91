/* fuzz_envelope.c - the envelope decoder, then the catalogue check of its
 * body against the Baiyang campaign, as intake runs them on every submit.
 *
 * Promises checked on accepted input: the canonical encoding of a decoded
 * envelope decodes again to the same header; a body the catalogue accepts
 * survives normalisation, and its stored form (confidential fields taken
 * out) passes bodycheck_stored(). Unknown types are mapped onto a
 * catalogue type picked from the input, so every type's rules are reached
 * without the fuzzer having to guess a type name first. */
#include <string.h>

#include "catalogue.h"
#include "envelope.h"
#include "fuzz.h"
#include "bodycheck.h"
#include "mp.h"
#include "mpscan.h"
#include "../services/intake/validator.h"

static campaign_t *campaign;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    err_t err;
    const char *path = getenv("AIRGUARD_FUZZ_CAMPAIGN");
    if (!(campaign = campaign_load(path ? path : "seeds/baiyang-2019.yaml", &err))) {
        fprintf(stderr, "fuzz_envelope: %s (run from the repository root)\n", err.msg);
        exit(2);
    }
    return 0;
}

/* Re-encodes env and decodes the result: it must decode, to the same header. */
static void s_round_trip(const envelope_t *env)
{
    msgpack_sbuffer sb;
    envelope_t again;
    err_t err;
    msgpack_sbuffer_init(&sb);
    envelope_init(&again);
    FUZZ_REQUIRE(envelope_encode(env, &sb, &err) == 0, "encode of a decoded envelope: %s", err.msg);
    envelope_status_t st = envelope_decode(&again, sb.data, sb.size, &err);
    FUZZ_REQUIRE(st == ENVELOPE_OK, "re-decode: %s", err.msg);
    FUZZ_REQUIRE(!strcmp(again.id, env->id) && !strcmp(again.type, env->type) &&
                     !strcmp(again.source, env->source) &&
                     !strcmp(again.subdistrict, env->subdistrict) &&
                     again.time_ms == env->time_ms && again.version == env->version,
                 "header changed in a round trip");
    envelope_fini(&again);
    msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    envelope_t env;
    err_t err;
    char field[CATALOGUE_FIELD_MAX + 1];
    envelope_init(&env);
    if (envelope_decode(&env, (const char *)data, size, &err) != ENVELOPE_OK)
        goto out;
    FUZZ_REQUIRE(env.body.type == MSGPACK_OBJECT_MAP, "decoded body is a %s",
                 mp_type_name(env.body.type));
    s_round_trip(&env);
    const catalogue_type_t *t = catalogue_find(env.type);
    if (!t)
        t = catalogue_at((size_t)data[size / 2] % catalogue_count());
    bodycheck_status_t st = bodycheck_submitted(t, &env.body, campaign, field, sizeof field, &err);
    FUZZ_REQUIRE(st == BODYCHECK_OK || err.msg[0], "refusal without a message");
    (void)bodycheck_submitted(t, &env.body, NULL, field, sizeof field, &err);
    (void)bodycheck_stored(t, &env.body, field, sizeof field, &err);
    if (st == BODYCHECK_OK) {
        bodycheck_normalise(t, &env.body);
        st = bodycheck_submitted(t, &env.body, campaign, field, sizeof field, &err);
        FUZZ_REQUIRE(st == BODYCHECK_OK, "normalised body refused: %s", err.msg);
        /* What intake stores: confidential fields out, their digest in. */
        static const uint8_t key[INTAKE_DIGEST_KEY_LEN] = {1, 2, 3};
        intake_confidential_pending_t pending;
        memset(&pending, 0, sizeof pending);
        msgpack_sbuffer_init(&pending.fields);
        (void)intake_confidential_take(t, &env, key, &pending);
        st = bodycheck_stored(t, &env.body, field, sizeof field, &err);
        FUZZ_REQUIRE(st == BODYCHECK_OK, "stored form refused: %s", err.msg);
        msgpack_sbuffer_destroy(&pending.fields);
    }
out:
    envelope_fini(&env);
    return 0;
}
