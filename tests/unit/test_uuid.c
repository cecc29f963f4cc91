/* test_uuid.c - canonical UUID text: the check, and fresh ids that are
 * random version-4 UUIDs in lower case, all different. */
#include "uuid.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_new_ids_are_random_v4(void)
{
    enum { N = 2000 };
    static char ids[N][UUID_LEN + 1];
    for (int i = 0; i < N; i++) {
        CHECK(uuid_new(ids[i]) == 0);
        CHECK(strlen(ids[i]) == UUID_LEN);
        CHECK(uuid_is_canonical(ids[i], UUID_LEN));
        CHECK(ids[i][14] == '4');
        CHECK(strchr("89ab", ids[i][19]) != NULL);
        for (int j = 0; j < UUID_LEN; j++)
            CHECK(!(ids[i][j] >= 'A' && ids[i][j] <= 'F'));
    }
    qsort(ids, N, sizeof ids[0], cmp_id);
    for (int i = 1; i < N; i++)
        CHECK(strcmp(ids[i - 1], ids[i]) != 0);
}

static void test_is_canonical(void)
{
    CHECK(uuid_is_canonical("0b9e5c3a-6f1d-4e2a-9c7b-1d2e3f405162", 36));
    CHECK(uuid_is_canonical("0B9E5C3A-6F1D-4E2A-9C7B-1D2E3F405162", 36));
    CHECK(!uuid_is_canonical("0b9e5c3a-6f1d-4e2a-9c7b-1d2e3f40516", 35));
    CHECK(!uuid_is_canonical("0b9e5c3a6f1d-4e2a-9c7b-1d2e3f4051620", 36));
    CHECK(!uuid_is_canonical("0b9e5c3a-6f1d-4e2a-9c7b-1d2e3f40516g", 36));
    CHECK(!uuid_is_canonical(NULL, 36));
}

/* Text -> 16 bytes -> text gives the lower-cased input back; anything
 * not canonical is refused. */
static void test_parse_and_format(void)
{
    unsigned char b[16];
    char out[UUID_LEN + 1];
    const char *id = "0B6E2F4C-6d0a-4c1e-9a57-2F3C4D5E6F70";
    CHECK(uuid_parse(id, strlen(id), b) == 0 && b[0] == 0x0b && b[15] == 0x70);
    uuid_format(b, out);
    CHECK(strcmp(out, "0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f70") == 0);
    CHECK(uuid_parse("0b6e2f4c6d0a-4c1e-9a57-2f3c4d5e6f70-", 36, b) != 0);
    CHECK(uuid_parse("0b6e2f4c-6d0a-4c1e-9a57-2f3c4d5e6f7g", 36, b) != 0);
    CHECK(uuid_parse(id, 35, b) != 0);
}

int main(void)
{
    RUN(test_new_ids_are_random_v4);
    RUN(test_is_canonical);
    RUN(test_parse_and_format);
    return check_summary();
}
