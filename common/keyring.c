/* keyring.c - secretbox keys with ids, for data encrypted at rest; see
 * include/keyring.h for the text form and the contract. */
#include "keyring.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEYRING_FILE_MAX 8192

typedef struct keyring_key {
    int id;                       /* 1..KEYRING_ID_MAX */
    uint8_t key[KEYRING_KEY_LEN]; /* the secret */
} keyring_key_t;

struct keyring {
    keyring_key_t keys[KEYRING_MAX_KEYS]; /* keys[0] is the current one */
    size_t n;                             /* keys held */
};

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one entry [p, end) (comment and blanks already trimmed) into k;
 * -1 with err naming entry number no. */
static int s_entry(const char *name, size_t no, const char *p, const char *end, keyring_key_t *k,
                   err_t *err)
{
    long id = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9' && id <= KEYRING_ID_MAX)
        id = id * 10 + (*q++ - '0');
    if (q == p || id < 1 || id > KEYRING_ID_MAX) {
        err_set(err, "%s: entry %zu: expected a key id 1..%d first", name, no, KEYRING_ID_MAX);
        return -1;
    }
    if (q < end && *q == ':')
        q++;
    else if (q < end && s_blank(*q))
        while (q < end && s_blank(*q))
            q++;
    else {
        err_set(err, "%s: entry %zu: expected ':' or a blank after the key id", name, no);
        return -1;
    }
    if (end - q != 2 * KEYRING_KEY_LEN) {
        err_set(err, "%s: entry %zu (key %ld): expected %d hex digits", name, no, id,
                2 * KEYRING_KEY_LEN);
        return -1;
    }
    for (int i = 0; i < KEYRING_KEY_LEN; i++) {
        int hi = s_hex(q[2 * i]), lo = s_hex(q[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            err_set(err, "%s: entry %zu (key %ld): expected %d hex digits", name, no, id,
                    2 * KEYRING_KEY_LEN);
            return -1;
        }
        k->key[i] = (uint8_t)(hi * 16 + lo);
    }
    k->id = (int)id;
    return 0;
}

keyring_t *keyring_parse(const char *name, const char *text, size_t len, err_t *err)
{
    keyring_t *kr = NULL;
    if (sodium_init() < 0) {
        err_set(err, "%s: libsodium cannot initialise", name);
        goto fail;
    }
    if (!(kr = calloc(1, sizeof *kr))) {
        err_set(err, "%s: out of memory", name);
        goto fail;
    }
    const char *p = text, *end = text + len;
    size_t no = 0;
    while (p < end) {
        /* One entry ends at a newline, ',' or ';'; a '#' starts a comment
         * that runs to the end of the line. */
        const char *e = p;
        while (e < end && *e != '\n' && *e != ',' && *e != ';' && *e != '#')
            e++;
        const char *next = e;
        if (next < end && *next == '#')
            while (next < end && *next != '\n')
                next++;
        if (next < end)
            next++;
        const char *b = p;
        while (b < e && s_blank(*b))
            b++;
        while (e > b && s_blank(e[-1]))
            e--;
        p = next;
        if (b == e)
            continue;
        no++;
        if (kr->n == KEYRING_MAX_KEYS) {
            err_set(err, "%s: more than %d keys", name, KEYRING_MAX_KEYS);
            goto fail;
        }
        keyring_key_t *k = &kr->keys[kr->n];
        if (s_entry(name, no, b, e, k, err) != 0)
            goto fail;
        if (keyring_has(kr, k->id)) {
            err_set(err, "%s: entry %zu: key id %d is given twice", name, no, k->id);
            goto fail;
        }
        kr->n++;
    }
    if (kr->n == 0) {
        err_set(err, "%s: no key", name);
        goto fail;
    }
    return kr;
fail:
    keyring_destroy(&kr);
    return NULL;
}

keyring_t *keyring_load(const char *env_var, const char *path, err_t *err)
{
    const char *env = env_var ? getenv(env_var) : NULL;
    if (env && *env)
        return keyring_parse(env_var, env, strlen(env), err);
    if (!path || !*path) {
        err_set(err, "no key given (%s or a key file)", env_var ? env_var : "environment");
        return NULL;
    }
    keyring_t *kr = NULL;
    char *buf = NULL;
    struct stat st;
    FILE *f = NULL;
    /* sodium_malloc() aborts before sodium_init(). */
    if (sodium_init() < 0) {
        err_set(err, "%s: libsodium cannot initialise", path);
        goto out;
    }
    if (!(f = fopen(path, "r"))) {
        err_set(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* A secret others can read is no secret: say so rather than use it. */
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        err_set(err, "%s: key file is readable by group or others (chmod 600 it)", path);
        goto out;
    }
    if (!(buf = sodium_malloc(KEYRING_FILE_MAX + 1))) {
        err_set(err, "%s: out of memory", path);
        goto out;
    }
    size_t n = fread(buf, 1, KEYRING_FILE_MAX + 1, f);
    if (ferror(f) || n > KEYRING_FILE_MAX) {
        err_set(err, "%s: %s", path, ferror(f) ? "cannot read" : "longer than 8 KiB");
        goto out;
    }
    kr = keyring_parse(path, buf, n, err);
out:
    if (buf)
        sodium_free(buf); /* wipes it */
    if (f)
        fclose(f);
    return kr;
}

void keyring_destroy(keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero((*self_p)->keys, sizeof(*self_p)->keys);
    free(*self_p);
    *self_p = NULL;
}

int keyring_current(const keyring_t *kr)
{
    return kr->keys[0].id;
}

static const keyring_key_t *s_find(const keyring_t *kr, int id)
{
    for (size_t i = 0; i < kr->n; i++)
        if (kr->keys[i].id == id)
            return &kr->keys[i];
    return NULL;
}

bool keyring_has(const keyring_t *kr, int id)
{
    return s_find(kr, id) != NULL;
}

size_t keyring_sealed_len(size_t ctx_len, size_t len)
{
    return KEYRING_MAC_LEN + ctx_len + len;
}

int keyring_seal(const keyring_t *kr, const void *ctx, size_t ctx_len, const void *plain,
                 size_t len, int *key_id, uint8_t nonce[KEYRING_NONCE_LEN], uint8_t *out,
                 err_t *err)
{
    uint8_t *msg = malloc(ctx_len + len + 1);
    if (!msg) {
        err_set(err, "out of memory");
        return -1;
    }
    if (ctx_len)
        memcpy(msg, ctx, ctx_len);
    if (len)
        memcpy(msg + ctx_len, plain, len);
    randombytes_buf(nonce, KEYRING_NONCE_LEN);
    crypto_secretbox_easy(out, msg, ctx_len + len, nonce, kr->keys[0].key);
    sodium_memzero(msg, ctx_len + len);
    free(msg);
    *key_id = kr->keys[0].id;
    return 0;
}

int keyring_open(const keyring_t *kr, int key_id, const uint8_t nonce[KEYRING_NONCE_LEN],
                 const void *ctx, size_t ctx_len, const uint8_t *sealed, size_t sealed_len,
                 uint8_t **plain, size_t *len, err_t *err)
{
    const keyring_key_t *k = s_find(kr, key_id);
    *plain = NULL;
    *len = 0;
    if (!k) {
        err_set(err, "no key with id %d in the key ring", key_id);
        return -1;
    }
    if (sealed_len < KEYRING_MAC_LEN + ctx_len) {
        err_set(err, "sealed data too short (%zu bytes)", sealed_len);
        return -1;
    }
    size_t n = sealed_len - KEYRING_MAC_LEN;
    uint8_t *msg = malloc(n + 1);
    if (!msg) {
        err_set(err, "out of memory");
        return -1;
    }
    if (crypto_secretbox_open_easy(msg, sealed, sealed_len, nonce, k->key) != 0) {
        err_set(err, "does not open with key %d (another key, or altered)", key_id);
        goto fail;
    }
    if ((ctx_len && memcmp(msg, ctx, ctx_len) != 0)) {
        err_set(err, "sealed for another record");
        goto fail;
    }
    memmove(msg, msg + ctx_len, n - ctx_len);
    *plain = msg;
    *len = n - ctx_len;
    return 0;
fail:
    sodium_memzero(msg, n);
    free(msg);
    return -1;
}
