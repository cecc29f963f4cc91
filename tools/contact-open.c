/* contact-open.c - opens sealed contacts of intake.confidential with the
 * contact keys, for whoever holds them (the cases service's reward payout
 * will read them the same way, with keyring_open()) and for the tests.
 *
 *   psql -At -F' ' -c "SELECT msg_id, key_id, encode(nonce, 'hex'),
 *       encode(sealed, 'hex') FROM intake.confidential WHERE sealed IS NOT NULL" |
 *   contact-open [--keys FILE]
 *
 * Keys from AIRGUARD_INTAKE_CONTACT_KEY, else --keys FILE, else
 * $AIRGUARD_INTAKE_CONTACT_KEY_FILE (include/keyring.h has the form). Prints
 * one JSON line per row, {"id": ..., "fields": {...}}; a row that does not
 * open is reported on stderr. Exit status: 0 when every row opened, 1 when
 * one did not, 2 for usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "keyring.h"
#include "mpjson.h"
#include "mpscan.h"
#include "uuid.h"

/* Decodes hex text in place into bytes; returns the count or -1. */
static long s_unhex(char *text)
{
    size_t n = strlen(text);
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(text + i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", text[i]) ||
            !strchr("0123456789abcdefABCDEF", text[i + 1]))
            return -1;
        text[i / 2] = (char)v;
    }
    return (long)(n / 2);
}

/* Opens one row "msg_id key_id nonce_hex sealed_hex"; 0 or -1 (reported). */
static int s_row(const keyring_t *kr, char *line, size_t no)
{
    char *save = NULL;
    char *id = strtok_r(line, " \t", &save), *kid = strtok_r(NULL, " \t", &save);
    char *nonce = strtok_r(NULL, " \t", &save), *sealed = strtok_r(NULL, " \t", &save);
    uint8_t *plain = NULL;
    size_t len = 0;
    err_t err;
    int rc = -1;
    long nl = nonce ? s_unhex(nonce) : -1, sl = sealed ? s_unhex(sealed) : -1;
    if (!id || !kid || nl != KEYRING_NONCE_LEN || sl < 0 || !uuid_is_canonical(id, strlen(id))) {
        fprintf(stderr, "line %zu: expected: msg_id key_id nonce_hex sealed_hex\n", no);
        return -1;
    }
    if (keyring_open(kr, atoi(kid), (const uint8_t *)nonce, id, strlen(id), (const uint8_t *)sealed,
                     (size_t)sl, &plain, &len, &err) != 0) {
        fprintf(stderr, "line %zu: %s: %s\n", no, id, err.msg);
        return -1;
    }
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    if (mpscan_check((const char *)plain, len, &err) != 0 ||
        msgpack_unpack_next(&u, (const char *)plain, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "line %zu: %s: opened, but not msgpack\n", no, id);
        goto out;
    }
    printf("{\"id\":\"%s\",\"fields\":", id);
    mpjson_print(stdout, &u.data);
    printf("}\n");
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    memset(plain, 0, len);
    free(plain);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = getenv("AIRGUARD_INTAKE_CONTACT_KEY_FILE");
    if (argc == 3 && !strcmp(argv[1], "--keys")) {
        path = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: contact-open [--keys FILE] < rows (msg_id key_id nonce_hex "
                        "sealed_hex)\n");
        return 2;
    }
    err_t err;
    keyring_t *kr = keyring_load("AIRGUARD_INTAKE_CONTACT_KEY", path, &err);
    if (!kr) {
        fprintf(stderr, "contact-open: %s\n", err.msg);
        return 2;
    }
    static char line[300000];
    size_t no = 0;
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && s_row(kr, line, no) != 0)
            rc = 1;
    }
    keyring_destroy(&kr);
    return rc;
}
