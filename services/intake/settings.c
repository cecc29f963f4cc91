/* settings.c - the `intake:` section of the service's configuration, with
 * environment overrides; see settings.h for the keys and what is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

#include "confidential.h"

bool intake_settings_endpoint_is_local(const char *endpoint)
{
    if (!strncmp(endpoint, "ipc://", 6) || !strncmp(endpoint, "inproc://", 9))
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return false;
    size_t len = (size_t)(colon - host);
    if ((len == 9 && !strncmp(host, "localhost", 9)) || (len == 5 && !strncmp(host, "[::1]", 5)))
        return true;
    /* 127.a.b.c: four dotted decimal numbers 0..255, the first 127. */
    char ip[16];
    unsigned o[4];
    char tail;
    if (len >= sizeof ip)
        return false;
    memcpy(ip, host, len);
    ip[len] = '\0';
    if (strspn(ip, "0123456789.") != len ||
        sscanf(ip, "%3u.%3u.%3u.%3u%c", &o[0], &o[1], &o[2], &o[3], &tail) != 4)
        return false;
    return o[0] == 127 && o[1] <= 255 && o[2] <= 255 && o[3] <= 255;
}

/* Whether some event type has confidential fields (a tip's contact). */
static bool s_catalogue_has_confidential(void)
{
    for (size_t i = 0; i < catalogue_count(); i++)
        for (size_t f = 0; f < catalogue_at(i)->n_fields; f++)
            if (catalogue_at(i)->fields[f].flags & CAT_F_CONFIDENTIAL)
                return true;
    return false;
}

/* Copies the environment variable var if set, else the config value, else
 * def into out; -1 with err when it does not fit. */
static int s_pick(const char *var, const char *value, const char *def, char *out, size_t cap,
                  const char *key, err_t *err)
{
    const char *env = var ? getenv(var) : NULL;
    const char *v = env && *env ? env : value ? value : def;
    if (strlen(v) >= cap) {
        err_set(err, "intake: setting '%s' is longer than %zu bytes", key, cap - 1);
        return -1;
    }
    snprintf(out, cap, "%s", v);
    return 0;
}

int intake_settings_load(const config_node_t *root, intake_settings_t *out, err_t *err)
{
    static const char *const keys[] = {"submit", "campaigns", "max_future_s", "security", NULL};
    static const char *const sec_keys[] = {"secret_key_file", "allow_list", "contact_key_file",
                                           "insecure", NULL};
    const config_node_t *own = NULL, *sec = NULL;
    const char *submit = NULL, *campaigns = NULL, *secret = NULL, *allow = NULL, *contact = NULL;
    int64_t future_s = 600;
    memset(out, 0, sizeof *out);
    if (config_get(root, "intake") && config_map(root, "intake", &own, err) != 0)
        return -1;
    if (own && (config_only_keys(own, keys, err) != 0 ||
                config_string_opt(own, "submit", &submit, err) != 0 ||
                config_string_opt(own, "campaigns", &campaigns, err) != 0 ||
                config_int_opt(own, "max_future_s", 0, 86400 * 366, &future_s, err) != 0))
        return -1;
    if (own && config_get(own, "security") && config_map(own, "security", &sec, err) != 0)
        return -1;
    if (sec && (config_only_keys(sec, sec_keys, err) != 0 ||
                config_string_opt(sec, "secret_key_file", &secret, err) != 0 ||
                config_string_opt(sec, "allow_list", &allow, err) != 0 ||
                config_string_opt(sec, "contact_key_file", &contact, err) != 0 ||
                config_bool_opt(sec, "insecure", &out->insecure, err) != 0))
        return -1;
    out->max_future_ms = future_s * 1000;
    if (s_pick("AIRGUARD_SUBMIT_ENDPOINT", submit, "tcp://0.0.0.0:7200", out->submit,
               sizeof out->submit, "submit", err) != 0 ||
        s_pick("AIRGUARD_CAMPAIGNS_DIR", campaigns, "seeds", out->campaigns, sizeof out->campaigns,
               "campaigns", err) != 0 ||
        s_pick("AIRGUARD_INTAKE_SECRET_KEY_FILE", secret, "", out->secret_key_file,
               sizeof out->secret_key_file, "secret_key_file", err) != 0 ||
        s_pick("AIRGUARD_INTAKE_ALLOW_LIST", allow, "", out->allow_list, sizeof out->allow_list,
               "allow_list", err) != 0 ||
        s_pick("AIRGUARD_INTAKE_CONTACT_KEY_FILE", contact, "", out->contact_key_file,
               sizeof out->contact_key_file, "contact_key_file", err) != 0)
        return -1;
    const char *inline_keys = getenv(INTAKE_CONTACT_KEY_ENV);
    out->contact_key_env = inline_keys && *inline_keys;
    /* Refuse to start open by accident, and refuse a contradiction. */
    if (!out->insecure && !out->secret_key_file[0]) {
        err_set(err,
                "%s: intake.security: no secret_key_file (or "
                "AIRGUARD_INTAKE_SECRET_KEY_FILE); set 'insecure: true' to run without "
                "authentication on purpose",
                config_path(config_of(root)));
        return -1;
    }
    if (!out->insecure && !out->allow_list[0]) {
        err_set(err,
                "%s: intake.security: no allow_list (or AIRGUARD_INTAKE_ALLOW_LIST): "
                "with CURVE on, clients must be listed",
                config_path(config_of(root)));
        return -1;
    }
    if (out->insecure && out->secret_key_file[0]) {
        err_set(err,
                "%s: intake.security: 'insecure: true' and a secret key are both given; "
                "remove one",
                config_path(config_of(root)));
        return -1;
    }
    /* An allow-list without CURVE would look like protection and be none. */
    if (out->insecure && out->allow_list[0]) {
        err_set(err,
                "%s: intake.security: 'insecure: true' and an allow_list are both given; "
                "the allow-list needs CURVE (a secret key), remove one",
                config_path(config_of(root)));
        return -1;
    }
    if (out->insecure && !intake_settings_endpoint_is_local(out->submit)) {
        err_set(err,
                "%s: intake.security: 'insecure: true' is only allowed on a loopback, ipc:// "
                "or inproc:// submit endpoint, not %s",
                config_path(config_of(root)), out->submit);
        return -1;
    }
    /* Contacts are sealed at rest; only a local test run may keep them plain. */
    if (!out->insecure && !out->contact_key_env && !out->contact_key_file[0] &&
        s_catalogue_has_confidential()) {
        err_set(err,
                "%s: intake.security: no contact_key_file (or AIRGUARD_INTAKE_CONTACT_KEY_FILE, "
                "or the keys in AIRGUARD_INTAKE_CONTACT_KEY): tips' contacts must be encrypted "
                "at rest (docs/deploy.md, \"The contact key\")",
                config_path(config_of(root)));
        return -1;
    }
    return 0;
}
