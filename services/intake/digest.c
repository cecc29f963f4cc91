/* digest.c - HMAC-SHA-256 (FIPS 180-4, RFC 2104), for the digest intake
 * writes into an event in place of its confidential fields.
 *
 * Why keyed: the digest is published with the event, and a phone number
 * has so few possible values that a plain hash of it is reversed by trying
 * them all. Why here: the build links no crypto library, and these ~100
 * lines are checked against the RFC 4231 vectors in the unit tests. */
#include <string.h>

#include "digest.h"

typedef struct sha256 {
    uint32_t h[8];
    uint8_t block[64];
    size_t used;    /* bytes in block */
    uint64_t total; /* bytes hashed */
} sha256_t;

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t s_ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void s_compress(sha256_t *c, const uint8_t *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = s_ror(w[i - 15], 7) ^ s_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = s_ror(w[i - 2], 17) ^ s_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, c->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (s_ror(v[4], 6) ^ s_ror(v[4], 11) ^ s_ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + s_k[i] + w[i];
        uint32_t t2 = (s_ror(v[0], 2) ^ s_ror(v[0], 13) ^ s_ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        c->h[i] += v[i];
}

static void s_init(sha256_t *c)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->used = 0;
    c->total = 0;
}

static void s_update(sha256_t *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    c->total += len;
    while (len > 0) {
        size_t take = 64 - c->used < len ? 64 - c->used : len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used == 64) {
            s_compress(c, c->block);
            c->used = 0;
        }
    }
}

static void s_final(sha256_t *c, uint8_t out[32])
{
    uint64_t bits = c->total * 8;
    uint8_t pad = 0x80, zero = 0, len[8];
    s_update(c, &pad, 1);
    while (c->used != 56)
        s_update(c, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    s_update(c, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void intake_digest_hmac_sha256(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                               const void *b, size_t b_len, uint8_t out[32])
{
    uint8_t k[64] = {0}, pad[64], inner[32];
    sha256_t c;
    if (key_len > 64) { /* RFC 2104: a long key is hashed first */
        s_init(&c);
        s_update(&c, key, key_len);
        s_final(&c, k);
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    s_init(&c);
    s_update(&c, pad, 64);
    s_update(&c, a, a_len);
    s_update(&c, b, b_len);
    s_final(&c, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    s_init(&c);
    s_update(&c, pad, 64);
    s_update(&c, inner, 32);
    s_final(&c, out);
    explicit_bzero(k, sizeof k);
    explicit_bzero(pad, sizeof pad);
}
