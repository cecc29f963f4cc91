/* fuzz.h - what every libFuzzer harness in tests/fuzz shares.
 *
 * A harness feeds the bytes libFuzzer gives it to one public decoder and,
 * when the decoder accepts them, checks what the accepted result promises
 * (a re-encoding decodes again, a reply is one map ...). A broken promise
 * is a crash like any other: FUZZ_REQUIRE prints it and aborts, so
 * libFuzzer keeps the input. */
#ifndef AIRGUARD_FUZZ_H
#define AIRGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_REQUIRE(cond, ...)                                                                    \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
