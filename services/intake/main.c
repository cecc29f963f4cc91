/* main.c - the intake service: wiring only.
 *
 * Outside systems submit events on a ROUTER socket (CURVE-authenticated
 * unless the configuration says `insecure: true`, loopback only); the
 * shared door common/ingest.c validates them with intake_validator_check(),
 * group-commits them to the stream "events.<instance>" with
 * intake_confidential_store() writing confidential fields in the same
 * transaction, acknowledges after the commit and publishes. The control
 * socket adds "stats", "types" and "campaigns" to the built-in ops.
 * docs/protocol.md is the client's view of all of it.
 *
 * Every socket option that security or limits depend on is checked: a
 * service that cannot set them up refuses to start rather than run open. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "curvekey.h"
#include "ingest.h"
#include "log.h"
#include "service.h"
#include "sockopt.h"
#include "zap.h"

#include "allowlist.h"
#include "confidential.h"
#include "intake.h"
#include "settings.h"
#include "validator.h"

typedef struct intake {
    service_t svc;                 /* config, loop, db, control, producer */
    intake_settings_t settings;    /* the `intake:` section */
    campaignset_t *campaigns;      /* every subdistrict we accept events for */
    intake_allowlist_t *allowlist; /* NULL when insecure */
    zap_t *zap;                    /* NULL when insecure */
    void *router;                  /* the submit socket */
    intake_validator_t validator;  /* ingest's validate callback state */
    keyring_t *contact_keys;       /* seals contacts; NULL only when insecure without one */
    uint8_t digest_key[INTAKE_DIGEST_KEY_LEN]; /* read at start, copied into validator */
    ingest_server_t *door;                     /* validate, group commit, ack, publish */
} intake_t;

/* ZAP: a CURVE client is known when its key is in the allow-list; its
 * source name becomes the User-Id its messages carry. */
static int s_zap_decide(void *arg, const char *domain, const uint8_t key[32], char *user_id,
                        size_t cap)
{
    intake_t *self = arg;
    const char *source = intake_allowlist_source_of(self->allowlist, key);
    if (strcmp(domain, INTAKE_ZAP_DOMAIN) != 0 || !source)
        return -1;
    snprintf(user_id, cap, "%s", source);
    return 0;
}

static void s_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    control_pack_str(pk, key);
    msgpack_pack_uint64(pk, v);
}

static void s_op_stats(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)request;
    intake_t *self = arg;
    ingest_stats_t st;
    uint64_t zap_ok = 0, zap_refused = 0;
    ingest_server_stats(self->door, &st);
    if (self->zap)
        zap_counts(self->zap, &zap_ok, &zap_refused);
    control_stats_t ctl;
    control_stats(self->svc.control, &ctl);
    /* docs/protocol.md section 6 says what each counter counts. */
    msgpack_pack_map(pk, 15);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    s_pack_kv_u64(pk, "accepted", st.accepted);
    s_pack_kv_u64(pk, "duplicates", st.duplicates);
    s_pack_kv_u64(pk, "rejected", st.rejected);
    s_pack_kv_u64(pk, "unavailable", st.unavailable);
    s_pack_kv_u64(pk, "internal", st.internal);
    s_pack_kv_u64(pk, "misshapen", st.misshapen);
    s_pack_kv_u64(pk, "batches", st.batches);
    s_pack_kv_u64(pk, "lookups", st.lookups);
    s_pack_kv_u64(pk, "lookup_queries", st.lookup_queries);
    control_pack_str(pk, "control");
    msgpack_pack_map(pk, 5);
    s_pack_kv_u64(pk, "requests", ctl.requests);
    s_pack_kv_u64(pk, "turns", ctl.turns);
    s_pack_kv_u64(pk, "budget_stops", ctl.budget_stops);
    s_pack_kv_u64(pk, "max_per_turn", ctl.max_per_turn);
    s_pack_kv_u64(pk, "health_checks", ctl.health_checks);
    control_pack_str(pk, "refused_by_code");
    msgpack_pack_map(pk, self->validator.nrefused);
    for (size_t i = 0; i < self->validator.nrefused; i++)
        s_pack_kv_u64(pk, self->validator.refused[i].code, self->validator.refused[i].n);
    control_pack_str(pk, "secure");
    if (self->zap)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    s_pack_kv_u64(pk, "clients_accepted", zap_ok);
    s_pack_kv_u64(pk, "clients_refused", zap_refused);
}

static void s_op_types(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)arg;
    (void)request;
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "types");
    msgpack_pack_array(pk, catalogue_count());
    for (size_t i = 0; i < catalogue_count(); i++) {
        msgpack_pack_map(pk, 2);
        control_pack_str(pk, "type");
        control_pack_str(pk, catalogue_at(i)->name);
        control_pack_str(pk, "summary");
        control_pack_str(pk, catalogue_at(i)->summary);
    }
}

static void s_op_campaigns(void *arg, const msgpack_object *request, msgpack_packer *pk)
{
    (void)request;
    intake_t *self = arg;
    size_t n = campaignset_count(self->campaigns);
    msgpack_pack_map(pk, 2);
    control_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    control_pack_str(pk, "subdistricts");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        const campaign_t *c = campaignset_at(self->campaigns, i);
        msgpack_pack_map(pk, 3);
        control_pack_str(pk, "subdistrict");
        control_pack_str(pk, c->subdistrict_id);
        control_pack_str(pk, "name");
        control_pack_str(pk, c->subdistrict_name);
        control_pack_str(pk, "campaign");
        control_pack_str(pk, c->campaign_id);
    }
}

/* Sets one option of the submit socket; -1 with err naming it. */
static int s_setopt(void *socket, int option, const char *name, const void *value, size_t len,
                    err_t *err)
{
    if (zmq_setsockopt(socket, option, value, len) == 0)
        return 0;
    err_set(err, "submit socket: cannot set ZMQ_%s: %s", name, zmq_strerror(zmq_errno()));
    return -1;
}

/* Security first: the ZAP handler must exist before the CURVE socket binds,
 * and every CURVE option must take, or we do not start. */
static int s_open_security(intake_t *self, err_t *err)
{
    if (self->settings.insecure) {
        log_warn("INSECURE: submit endpoint runs WITHOUT authentication (intake.security."
                 "insecure is true); allowed on a local endpoint only, for tests",
                 LF_STR("submit", self->settings.submit));
        return 0;
    }
    if (!zmq_has("curve")) {
        err_set(err, "this libzmq has no CURVE support: cannot secure the submit endpoint");
        return -1;
    }
    uint8_t secret[32];
    int curve = 1, rc = -1;
    if (curvekey_read(self->settings.secret_key_file, true, secret, err) != 0 ||
        !(self->allowlist = intake_allowlist_load(self->settings.allow_list, err)) ||
        !(self->zap = zap_new(self->svc.zmq, self->svc.loop, s_zap_decide, self, err)))
        goto out;
    void *r = self->router;
    /* ingest_socket_options() set the limit for the frame as sent; under
     * CURVE ZeroMQ checks the larger MESSAGE command that carries it. */
    int64_t max = INGEST_SOCKET_MAX_BYTES + SOCKOPT_CURVE_OVERHEAD;
    if (s_setopt(r, ZMQ_MAXMSGSIZE, "MAXMSGSIZE", &max, sizeof max, err) != 0 ||
        s_setopt(r, ZMQ_CURVE_SERVER, "CURVE_SERVER", &curve, sizeof curve, err) != 0 ||
        s_setopt(r, ZMQ_CURVE_SECRETKEY, "CURVE_SECRETKEY", secret, sizeof secret, err) != 0 ||
        s_setopt(r, ZMQ_ZAP_DOMAIN, "ZAP_DOMAIN", INTAKE_ZAP_DOMAIN, strlen(INTAKE_ZAP_DOMAIN),
                 err) != 0)
        goto out;
    log_info("submit endpoint secured with CURVE",
             LF_INT("clients", intake_allowlist_count(self->allowlist)),
             LF_STR("allow_list", self->settings.allow_list));
    rc = 0;
out:
    explicit_bzero(secret, sizeof secret);
    return rc;
}

/* One start-up step that needs the database. */
typedef db_rc_t (*s_db_step_fn)(intake_t *self, err_t *err);

static db_rc_t s_step_digest_key(intake_t *self, err_t *err)
{
    return intake_confidential_key_load(self->svc.db, self->digest_key, err);
}

static db_rc_t s_step_reseal(intake_t *self, err_t *err)
{
    size_t n = 0;
    db_rc_t rc = intake_confidential_reseal(self->svc.db, self->contact_keys, &n, err);
    if (n > 0)
        log_info("contacts sealed with the current key", LF_INT("rows", n),
                 LF_INT("key_id", keyring_current(self->contact_keys)));
    return rc;
}

/* Runs step after the migrations; the database was up a moment ago, so a
 * transient failure is waited out (until a signal). */
static int s_with_db(intake_t *self, s_db_step_fn step, err_t *err)
{
    long delay_ms = 100;
    for (;;) {
        db_rc_t rc = step(self, err);
        if (rc == DB_OK)
            return 0;
        if (rc != DB_TRANSIENT || loop_interrupted())
            return -1;
        log_warn("database unavailable, retrying", LF_STR("error", err->msg));
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
}

/* The contact keys (include/keyring.h), from AIRGUARD_INTAKE_CONTACT_KEY or
 * the key file; settings refused a secure start without either. Every
 * plain row and every row of an older key is sealed with the current key
 * before the first submit is taken. */
static int s_open_contact_keys(intake_t *self, err_t *err)
{
    const intake_settings_t *st = &self->settings;
    if (!st->contact_key_env && !st->contact_key_file[0]) {
        log_warn("INSECURE: no contact key: tips' contacts are stored in PLAIN TEXT "
                 "(intake.security.contact_key_file); allowed with 'insecure: true' only");
        return 0;
    }
    if (!(self->contact_keys = keyring_load(INTAKE_CONTACT_KEY_ENV, st->contact_key_file, err))) {
        char why[ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        err_set(err, "intake.security.contact_key_file: %s", why);
        return -1;
    }
    return s_with_db(self, s_step_reseal, err);
}

static int s_open(intake_t *self, err_t *err)
{
    service_t *svc = &self->svc;
    int zero = 0, hwm = 100000, rc = -1;
    if (intake_settings_load(config_root(svc->config), &self->settings, err) != 0 ||
        !(self->campaigns = campaignset_load_dir(self->settings.campaigns, err)))
        goto out;
    if (!(self->router = zmq_socket(svc->zmq, ZMQ_ROUTER))) {
        err_set(err, "cannot create the submit socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    /* Everything a listener copies at bind time is set before zmq_bind:
     * the frame size limit (ingest_socket_options) and the security. */
    void *r = self->router;
    if (s_setopt(r, ZMQ_LINGER, "LINGER", &zero, sizeof zero, err) != 0 ||
        s_setopt(r, ZMQ_SNDHWM, "SNDHWM", &hwm, sizeof hwm, err) != 0 ||
        s_setopt(r, ZMQ_RCVHWM, "RCVHWM", &hwm, sizeof hwm, err) != 0)
        goto out;
    if (ingest_socket_options(self->router) != 0 || sockopt_liveness(self->router) != 0) {
        err_set(err, "submit socket: cannot set the ingest options: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (s_open_security(self, err) != 0 ||
        service_migrate(svc, "stream", stream_migrations, err) != 0 ||
        service_migrate(svc, "intake", intake_migrations, err) != 0 ||
        s_with_db(self, s_step_digest_key, err) != 0 || s_open_contact_keys(self, err) != 0 ||
        service_open_producer(svc, "events", err) != 0)
        goto out;
    if (zmq_bind(self->router, self->settings.submit) != 0) {
        err_set(err, "cannot bind submit endpoint %s: %s", self->settings.submit,
                zmq_strerror(zmq_errno()));
        goto out;
    }
    if (intake_validator_init(&self->validator, self->campaigns, self->allowlist, svc->db,
                              svc->clock, self->settings.max_future_ms, self->digest_key) != 0) {
        err_set(err, "out of memory");
        goto out;
    }
    self->validator.contact_keys = self->contact_keys;
    if (!(self->door = ingest_server_new(svc->loop, self->router, svc->producer, svc->db,
                                         intake_validator_check, intake_confidential_store,
                                         &self->validator, err)))
        goto out;
    if (control_add_handler(svc->control, "stats", s_op_stats, self) != 0 ||
        control_add_handler(svc->control, "types", s_op_types, self) != 0 ||
        control_add_handler(svc->control, "campaigns", s_op_campaigns, self) != 0) {
        err_set(err, "control socket: cannot register intake's ops");
        goto out;
    }
    log_info("accepting submits", LF_STR("submit", self->settings.submit),
             LF_INT("subdistricts", campaignset_count(self->campaigns)),
             LF_INT("types", catalogue_count()));
    rc = 0;
out:
    explicit_bzero(self->digest_key, sizeof self->digest_key);
    return rc;
}

int main(int argc, char **argv)
{
    static intake_t self; /* large (ingest keeps its slots inside the door); not on the stack */
    err_t err;
    int exit_now = 0, rc = 1;
    if (service_open(&self.svc, "intake", argc, argv, &exit_now, &err) != 0)
        goto fail;
    if (exit_now) {
        rc = 0;
        goto out;
    }
    if (s_open(&self, &err) != 0)
        goto fail;
    rc = service_run(&self.svc) == 0 ? 0 : 1;
    goto out;
fail:
    log_error("cannot start", LF_STR("error", err.msg));
out:
    ingest_server_destroy(&self.door);
    intake_validator_fini(&self.validator);
    zap_destroy(&self.zap);
    if (self.router)
        zmq_close(self.router);
    service_close(&self.svc);
    intake_allowlist_destroy(&self.allowlist);
    keyring_destroy(&self.contact_keys);
    campaignset_destroy(&self.campaigns);
    return rc;
}
