/* digest.h - HMAC-SHA-256, for the keyed digest intake writes into an
 * event in place of its confidential fields (confidential.h). */
#ifndef AIRGUARD_INTAKE_DIGEST_H
#define AIRGUARD_INTAKE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define INTAKE_DIGEST_KEY_LEN 32 /* bytes of the key that digests are made under */
#define INTAKE_DIGEST_HEX 64     /* characters of a digest in hex */

/* HMAC-SHA-256 of the concatenation a || b under key, into out. */
void intake_digest_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                               const void *b, size_t b_len, uint8_t out[32]);

#endif
