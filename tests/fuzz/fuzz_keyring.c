/* fuzz_keyring.c - the contact key text (include/keyring.h), as intake reads
 * it from AIRGUARD_INTAKE_CONTACT_KEY or its file.
 *
 * Promises checked on accepted input: the current key is one the ring
 * has; what it seals opens again, for the same context only. */
#include <string.h>

#include "fuzz.h"
#include "keyring.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    err_t err;
    keyring_t *kr = keyring_parse("fuzz", (const char *)data, size, &err);
    if (!kr) {
        FUZZ_REQUIRE(err.msg[0], "refusal without a message");
        return 0;
    }
    FUZZ_REQUIRE(keyring_has(kr, keyring_current(kr)), "current key not in the ring");
    uint8_t nonce[KEYRING_NONCE_LEN], box[KEYRING_MAC_LEN + 8], *out = NULL;
    size_t len = 0;
    int id = 0;
    FUZZ_REQUIRE(keyring_seal(kr, "ctx", 3, "plain", 5, &id, nonce, box, &err) == 0, "seal: %s",
                 err.msg);
    FUZZ_REQUIRE(keyring_open(kr, id, nonce, "ctx", 3, box, sizeof box, &out, &len, &err) == 0 &&
                     len == 5 && !memcmp(out, "plain", 5),
                 "open: %s", err.msg);
    free(out);
    FUZZ_REQUIRE(keyring_open(kr, id, nonce, "xtc", 3, box, sizeof box, &out, &len, &err) != 0,
                 "opened for another context");
    keyring_destroy(&kr);
    return 0;
}
