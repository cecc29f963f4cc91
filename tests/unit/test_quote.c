/* test_quote.c - the one rule for echoing untrusted keys and texts
 * (quote.h, docs/protocol.md section 2): whole up to 63 bytes, past that
 * cut at a character and escape boundary and ended with "...". */
#include "quote.h"

#include <string.h>

#include "check.h"

static void test_whole_up_to_63(void)
{
    char key[80], q[QUOTE_CAP];
    memset(key, 'k', sizeof key);
    quote_bytes(q, sizeof q, key, 63);
    CHECK(strlen(q) == 63 && strspn(q, "k") == 63); /* kept whole, no "..." */
    quote_bytes(q, sizeof q, "a'b\\c\n", 6);
    CHECK(strcmp(q, "a\\x27b\\x5cc\\x0a") == 0);
    quote_bytes(q, sizeof q, NULL, 0);
    CHECK(q[0] == '\0');
    /* 15 escapes are 60 bytes, a 16th does not fit, so the text is cut */
    quote_bytes(q, sizeof q, "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01", 15);
    CHECK(strlen(q) == 60 && strstr(q, "...") == NULL);
}

static void test_cut_past_63(void)
{
    char key[200], q[QUOTE_CAP];
    memset(key, 'k', sizeof key);
    quote_bytes(q, sizeof q, key, 64);
    CHECK(strlen(q) == 63 && strcmp(q + 60, "...") == 0 && strspn(q, "k") == 60);
    quote_bytes(q, sizeof q, key, sizeof key);
    CHECK(strlen(q) == 63 && strcmp(q + 60, "...") == 0);

    /* control bytes: 4 bytes each, never half an escape */
    memset(key, 0x01, sizeof key);
    quote_bytes(q, sizeof q, key, 40);
    CHECKF(strlen(q) == 15 * 4 + 3 && strcmp(q + 60, "...") == 0, "'%s'", q);

    /* UTF-8: 城 is e5 9f 8e, 12 bytes quoted; a character is never split */
    char han[3 * 20];
    for (int i = 0; i < 20; i++)
        memcpy(han + 3 * i, "\xe5\x9f\x8e", 3);
    quote_bytes(q, sizeof q, han, sizeof han);
    CHECKF(strlen(q) == 5 * 12 + 3 && strncmp(q, "\\xe5\\x9f\\x8e", 12) == 0 &&
               strcmp(q + 48, "\\xe5\\x9f\\x8e...") == 0,
           "'%s'", q);
    /* a shifted start: "ab" then characters; the cut still lands on one */
    char mixed[2 + sizeof han];
    memcpy(mixed, "ab", 2);
    memcpy(mixed + 2, han, sizeof han);
    quote_bytes(q, sizeof q, mixed, sizeof mixed);
    CHECKF(strlen(q) == 2 + 4 * 12 + 3 && strcmp(q + strlen(q) - 15, "\\xe5\\x9f\\x8e...") == 0,
           "'%s'", q);
}

static void test_small_buffers(void)
{
    char q[8], key[20];
    memset(key, 'x', sizeof key);
    quote_bytes(q, sizeof q, key, sizeof key); /* 7 bytes at most */
    CHECK(strcmp(q, "xxxx...") == 0);
    quote_bytes(q, sizeof q, "\xff", 1);
    CHECK(strcmp(q, "\\xff") == 0);
    char one[1];
    quote_bytes(one, sizeof one, key, sizeof key);
    CHECK(one[0] == '\0');
}

int main(void)
{
    RUN(test_whole_up_to_63);
    RUN(test_cut_past_63);
    RUN(test_small_buffers);
    return check_summary();
}
