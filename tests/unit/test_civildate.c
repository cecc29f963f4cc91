/* test_civildate.c - calendar arithmetic on yyyymmdd dates: parsing,
 * validity, adding days across month, year and leap-day boundaries. */
#include "civildate.h"

#include "check.h"

static void test_parse_valid_add(void)
{
    int32_t d = 0;
    CHECK(civildate_parse("2020-01-24", &d) == 0 && d == 20200124);
    CHECK(civildate_parse("2020-02-29", &d) == 0 && d == 20200229);
    CHECK(civildate_parse("2019-02-29", &d) != 0); /* not a leap year */
    CHECK(civildate_parse("2019-13-01", &d) != 0);
    CHECK(civildate_parse("2019-11-5", &d) != 0);
    CHECK(civildate_parse("2019/11/05", &d) != 0);
    CHECK(civildate_parse("2019-11-05 ", &d) != 0);
    CHECK(civildate_parse("+019-11-05", &d) != 0);
    CHECK(civildate_parse(NULL, &d) != 0);
    CHECK(civildate_valid(20191125) && !civildate_valid(20191131) && !civildate_valid(0));
    CHECK(civildate_add(20200228, 1) == 20200229);
    CHECK(civildate_add(20200229, 1) == 20200301);
    CHECK(civildate_add(20191231, 1) == 20200101);
    CHECK(civildate_add(20200301, -1) == 20200229);
    CHECK(civildate_add(20191125, 95) == 20200228); /* the daily patrol is 96 days */
    CHECK(civildate_add(20191131, 1) == 0);
    CHECK(civildate_add(19700101, -1) == 0);
}

static void test_make(void)
{
    CHECK(civildate_make(2020, 1, 24) == 20200124);
    CHECK(civildate_make(2020, 2, 29) == 20200229);
    CHECK(civildate_make(2019, 2, 29) == 0);
    CHECK(civildate_make(2019, 13, 1) == 0);
    CHECK(civildate_make(2019, 101, 1) == 0); /* would spell 20200101 */
    CHECK(civildate_make(2019, 0, 1) == 0);
    CHECK(civildate_make(2019, 1, 0) == 0);
    CHECK(civildate_make(1969, 12, 31) == 0);
    CHECK(civildate_make(10000, 1, 1) == 0);
    CHECK(civildate_make(-2019, 1, 1) == 0);
}

int main(void)
{
    RUN(test_parse_valid_add);
    RUN(test_make);
    return check_summary();
}
