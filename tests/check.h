/* check.h - the smallest test harness that tells the truth.
 *
 * Each test program includes this once, writes `static void test_x(void)`
 * functions using CHECK(...), lists them with RUN(test_x) in main, and ends
 * with `return check_summary();`, which prints the plain line
 * "N passed, N failed" that CI reads, and returns non-zero on any failure.
 * A test passes when none of its CHECKs failed. */
#ifndef AIRGUARD_CHECK_H
#define AIRGUARD_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_current_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            check_current_failures++;                                                              \
        }                                                                                          \
    } while (0)

/* CHECK with a printf-style explanation printed on failure. */
#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            check_current_failures++;                                                              \
        }                                                                                          \
    } while (0)

/* True when haystack contains needle; for asserting on error messages. */
#define CONTAINS(haystack, needle) (strstr((haystack), (needle)) != NULL)

#define RUN(test_fn)                                                                               \
    do {                                                                                           \
        check_current_failures = 0;                                                                \
        test_fn();                                                                                 \
        if (check_current_failures == 0) {                                                         \
            check_passed++;                                                                        \
            fprintf(stderr, "ok   %s\n", #test_fn);                                                \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "FAIL %s\n", #test_fn);                                                \
        }                                                                                          \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
