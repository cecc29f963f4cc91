/* digest.c - HMAC-SHA-256 (RFC 2104), for the digest intake writes into an
 * event in place of its confidential fields; libsodium's implementation,
 * checked against the RFC 4231 vectors in the unit tests.
 *
 * Why keyed: the digest is published with the event, and a phone number
 * has so few possible values that a plain hash of it is reversed by trying
 * them all. */
#include "digest.h"

#include <sodium.h>

void intake_digest_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                               const void *b, size_t b_len, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    if (a_len)
        crypto_auth_hmacsha256_update(&st, a, a_len);
    if (b_len)
        crypto_auth_hmacsha256_update(&st, b, b_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}
