/* test_keyring.c - the contact keys (common/keyring.c): the text form and
 * its refusals, key files (mode, size), seal then open with the right key,
 * refusal with a wrong key, an unknown key id, another context or one
 * altered byte, and rotation (a new current key seals, the old one still
 * opens). Also the helper that opens rows (build/bin/contact-open) in the
 * integration test tests/integration/contact_key.sh. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "keyring.h"

#define K1 "0101010101010101010101010101010101010101010101010101010101010101"
#define K2 "2a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849"

/* Whether needle occurs in [hay, hay + n). */
static int holds(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return 1;
    return 0;
}

static keyring_t *parse(const char *text, err_t *err)
{
    return keyring_parse("test", text, strlen(text), err);
}

static void test_text_form(void)
{
    err_t err;
    keyring_t *kr = parse("# contact keys\n\n2 " K2 "   # current\n1:" K1 "\n", &err);
    CHECK(kr && keyring_current(kr) == 2 && keyring_has(kr, 1) && keyring_has(kr, 2) &&
          !keyring_has(kr, 3));
    keyring_destroy(&kr);
    keyring_destroy(&kr); /* twice is fine */
    kr = parse("7:" K1 ",3:" K2, &err);
    CHECK(kr && keyring_current(kr) == 7 && keyring_has(kr, 3));
    keyring_destroy(&kr);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "no key"},
        {"# only a comment\n", "no key"},
        {"0:" K1, "key id 1..65535"},
        {"65536:" K1, "key id 1..65535"},
        {"x:" K1, "key id"},
        {K2, "':' or a blank"},
        {"1:" K1 "00", "64 hex digits"},
        {"1:" K1 "\n2:0101", "entry 2 (key 2)"},
        {"1:zz01010101010101010101010101010101010101010101010101010101010101", "hex"},
        {"1:" K1 "\n1:" K2, "given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kr = parse(bad[i].text, &err);
        CHECKF(!kr && CONTAINS(err.msg, bad[i].why), "'%s': %s", bad[i].text, err.msg);
        CHECKF(!CONTAINS(err.msg, "0101010101"), "key material in the message: %s", err.msg);
        keyring_destroy(&kr);
    }
}

static void test_files(void)
{
    err_t err;
    char path[] = "/tmp/ag-keyring-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "3 " K2 "\n", 67) == 67);
    close(fd);
    chmod(path, 0600);
    unsetenv("AG_TEST_KEYS");
    keyring_t *kr = keyring_load("AG_TEST_KEYS", path, &err);
    CHECK(kr && keyring_current(kr) == 3);
    keyring_destroy(&kr);
    /* the environment wins over the file */
    setenv("AG_TEST_KEYS", "9:" K1, 1);
    kr = keyring_load("AG_TEST_KEYS", path, &err);
    CHECK(kr && keyring_current(kr) == 9 && !keyring_has(kr, 3));
    keyring_destroy(&kr);
    unsetenv("AG_TEST_KEYS");
    chmod(path, 0640);
    CHECK(!keyring_load("AG_TEST_KEYS", path, &err) && CONTAINS(err.msg, "chmod 600"));
    unlink(path);
    CHECK(!keyring_load("AG_TEST_KEYS", path, &err) && CONTAINS(err.msg, path));
    CHECK(!keyring_load("AG_TEST_KEYS", "", &err) && CONTAINS(err.msg, "AG_TEST_KEYS"));
}

/* Seals plain for ctx with kr; the box in *box (malloc'd). */
static size_t seal(const keyring_t *kr, const char *ctx, const char *plain, int *id,
                   uint8_t nonce[KEYRING_NONCE_LEN], uint8_t **box)
{
    err_t err;
    size_t n = keyring_sealed_len(strlen(ctx), strlen(plain));
    *box = malloc(n);
    CHECK(keyring_seal(kr, ctx, strlen(ctx), plain, strlen(plain), id, nonce, *box, &err) == 0);
    return n;
}

static void test_seal_and_open(void)
{
    err_t err;
    keyring_t *kr = parse("1:" K1, &err), *other = parse("1:" K2, &err);
    const char *id = "7b2b9a64-2f7c-4d8e-9b51-0c2f3a4d5e6f", *phone = "13812345678";
    uint8_t nonce[KEYRING_NONCE_LEN], nonce2[KEYRING_NONCE_LEN], *box = NULL, *box2 = NULL,
                                                                 *out = NULL;
    size_t len = 0;
    int key_id = 0, key_id2 = 0;
    size_t n = seal(kr, id, phone, &key_id, nonce, &box);
    CHECK(key_id == 1 && n == KEYRING_MAC_LEN + strlen(id) + strlen(phone));
    CHECK(!holds(box, n, phone) && !holds(box, n, id));
    /* a fresh nonce every time: the same contact twice gives two boxes */
    seal(kr, id, phone, &key_id2, nonce2, &box2);
    CHECK(memcmp(nonce, nonce2, sizeof nonce) != 0 && memcmp(box, box2, n) != 0);
    CHECK(keyring_open(kr, 1, nonce, id, strlen(id), box, n, &out, &len, &err) == 0 &&
          len == strlen(phone) && !memcmp(out, phone, len));
    free(out);
    /* wrong key, unknown id, another row, altered byte, truncated */
    CHECK(keyring_open(other, 1, nonce, id, strlen(id), box, n, &out, &len, &err) == -1 && !out &&
          CONTAINS(err.msg, "does not open with key 1"));
    CHECK(keyring_open(kr, 2, nonce, id, strlen(id), box, n, &out, &len, &err) == -1 &&
          CONTAINS(err.msg, "no key with id 2"));
    const char *id2 = "7b2b9a64-2f7c-4d8e-9b51-0c2f3a4d5e70";
    CHECK(keyring_open(kr, 1, nonce, id2, strlen(id2), box, n, &out, &len, &err) == -1 &&
          CONTAINS(err.msg, "another record"));
    box[n - 1] ^= 1;
    CHECK(keyring_open(kr, 1, nonce, id, strlen(id), box, n, &out, &len, &err) == -1);
    box[n - 1] ^= 1;
    CHECK(keyring_open(kr, 1, nonce, id, strlen(id), box, 10, &out, &len, &err) == -1);
    CHECK(keyring_open(kr, 1, nonce2, id, strlen(id), box, n, &out, &len, &err) == -1);
    free(box);
    free(box2);
    keyring_destroy(&kr);
    keyring_destroy(&other);
}

static void test_rotation(void)
{
    err_t err;
    keyring_t *old = parse("1:" K1, &err), *rotated = parse("2:" K2 "\n1:" K1, &err);
    const char *ctx = "row";
    uint8_t nonce[KEYRING_NONCE_LEN], *box = NULL, *out = NULL;
    size_t len = 0;
    int key_id = 0;
    size_t n = seal(old, ctx, "before", &key_id, nonce, &box);
    CHECK(key_id == 1);
    CHECK(keyring_open(rotated, key_id, nonce, ctx, 3, box, n, &out, &len, &err) == 0 && len == 6 &&
          !memcmp(out, "before", 6));
    free(out);
    free(box);
    n = seal(rotated, ctx, "after", &key_id, nonce, &box);
    CHECK(key_id == 2);
    CHECK(keyring_open(old, key_id, nonce, ctx, 3, box, n, &out, &len, &err) == -1);
    free(box);
    keyring_destroy(&old);
    keyring_destroy(&rotated);
}

int main(void)
{
    /* Files first: keyring_load() must work as a program's first libsodium call. */
    RUN(test_files);
    RUN(test_text_form);
    RUN(test_seal_and_open);
    RUN(test_rotation);
    return check_summary();
}
