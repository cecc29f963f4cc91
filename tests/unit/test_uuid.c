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

int main(void)
{
    RUN(test_new_ids_are_random_v4);
    RUN(test_is_canonical);
    return check_summary();
}
