/* keyring.h - secret keys with ids, for data encrypted at rest (a tip's
 * contact in intake.confidential), with libsodium's secretbox
 * (XSalsa20-Poly1305, random 24-byte nonces).
 *
 * The keys never live in the database: they come from the environment or a
 * mounted secret file, like every other secret. Text form, the same in both:
 *
 *   # comments and blank lines are ignored
 *   2 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *   1 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
 *
 * one key per line (a ',' or ';' also ends an entry, for environment
 * variables): an id 1..65535, then ':' or blanks, then the 32-byte key as
 * 64 hex digits. The first entry is the current key: it seals everything
 * new. The others only open what older keys sealed, so a key is rotated by
 * putting a new one first and keeping the old ones until nothing sealed
 * with them is left (docs/deploy.md, "Rotating the contact key").
 *
 * A box is bound to a context (e.g. the row's message id): sealing puts the
 * context inside the box and opening checks it, so a box copied to another
 * row does not open there.
 *
 * Ownership: a keyring_t owns its keys and wipes them when destroyed. */
#ifndef AIRGUARD_KEYRING_H
#define AIRGUARD_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KEYRING_KEY_LEN 32   /* crypto_secretbox_KEYBYTES */
#define KEYRING_NONCE_LEN 24 /* crypto_secretbox_NONCEBYTES */
#define KEYRING_MAC_LEN 16   /* crypto_secretbox_MACBYTES */
#define KEYRING_MAX_KEYS 16
#define KEYRING_ID_MAX 65535

typedef struct keyring keyring_t;

/* Parses keys in the text form above; name says where they came from, for
 * messages ("AIRGUARD_INTAKE_CONTACT_KEY: entry 2: ..."). Returns NULL with
 * err on any mistake (bad id, duplicate id, not 64 hex digits, no key at
 * all, more than KEYRING_MAX_KEYS, libsodium unusable); err never holds
 * key material. */
keyring_t *keyring_parse(const char *name, const char *text, size_t len, err_t *err);

/* The keys from the environment variable env_var when it is set and not
 * empty, else from the file at path (refused when group or others may read
 * it: chmod 600). Returns NULL with err, also when neither is given. */
keyring_t *keyring_load(const char *env_var, const char *path, err_t *err);

/* Wipes and frees; sets *self_p to NULL; safe on NULL and twice. */
void keyring_destroy(keyring_t **self_p);

/* The id of the current key, the one keyring_seal() uses. */
int keyring_current(const keyring_t *kr);

/* Whether the ring holds a key with this id. */
bool keyring_has(const keyring_t *kr, int id);

/* Bytes keyring_seal() writes for a context of ctx_len and len plain bytes. */
size_t keyring_sealed_len(size_t ctx_len, size_t len);

/* Seals ctx || plain with the current key and a fresh random nonce into out
 * (keyring_sealed_len(ctx_len, len) bytes); *key_id and nonce say how to
 * open it. Returns 0, or -1 with err (out of memory). */
int keyring_seal(const keyring_t *kr, const void *ctx, size_t ctx_len, const void *plain,
                 size_t len, int *key_id, uint8_t nonce[KEYRING_NONCE_LEN], uint8_t *out,
                 err_t *err);

/* Opens a box sealed for ctx: *plain (malloc'd, caller frees) and *len get
 * the plain bytes. Returns 0, or -1 with err when the ring has no key
 * key_id, the box was not sealed with that key (wrong key, altered bytes)
 * or was sealed for another context. */
int keyring_open(const keyring_t *kr, int key_id, const uint8_t nonce[KEYRING_NONCE_LEN],
                 const void *ctx, size_t ctx_len, const uint8_t *sealed, size_t sealed_len,
                 uint8_t **plain, size_t *len, err_t *err);

#endif
