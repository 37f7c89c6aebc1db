/* test_mn_time.c - unit tests for mn_time: the clocks, times and durations as text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mn_time.h"

static void test_clocks(void **state)
{
    (void)state;
    uint64_t now = mn_now_ms();
    assert_true(now > 1600000000000ull); /* after 2020 */
    assert_true(now < 4102444800000ull); /* before 2100 */
    uint64_t a = mn_mono_ms();
    uint64_t b = mn_mono_ms();
    assert_true(a > 0);
    assert_true(b >= a);
}

static void test_time_format(void **state)
{
    (void)state;
    char buf[MN_TIME_TEXT_MAX], day[11], tiny[8];
    assert_ptr_equal(mn_time_format_ms(1795356736927ull, buf, sizeof buf), buf);
    assert_string_equal(buf, "2026-11-22T14:12:16.927Z");
    assert_string_equal(mn_time_format_ms(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(mn_time_format_day(1795356736927ull, day, sizeof day), "2026-11-22");
    /* 9999-12-31T23:59:59.999Z is the last time with four year digits */
    assert_string_equal(mn_time_format_ms(253402300799999ull, buf, sizeof buf),
                        "9999-12-31T23:59:59.999Z");
    assert_null(mn_time_format_ms(253402300800000ull, buf, sizeof buf));
    assert_string_equal(buf, "");
    assert_null(mn_time_format_day(UINT64_MAX, day, sizeof day));
    assert_string_equal(day, "");
    assert_string_equal(mn_time_format_ms(0, tiny, sizeof tiny), "1970-01"); /* cut to fit */
    assert_null(mn_time_format_day(0, tiny, 0));
}

static void test_age_format(void **state)
{
    (void)state;
    char buf[32], tiny[4];
    mn_age_format(0, buf, sizeof buf);
    assert_string_equal(buf, "0s");
    mn_age_format(45999, buf, sizeof buf);
    assert_string_equal(buf, "45s");
    mn_age_format(60000, buf, sizeof buf);
    assert_string_equal(buf, "1m00s");
    mn_age_format((12 * 60 + 3) * 1000ull, buf, sizeof buf);
    assert_string_equal(buf, "12m03s");
    mn_age_format(3599999, buf, sizeof buf);
    assert_string_equal(buf, "59m59s");
    mn_age_format((5 * 3600 + 2 * 60 + 59) * 1000ull, buf, sizeof buf);
    assert_string_equal(buf, "5h02m");
    mn_age_format(86399999, buf, sizeof buf);
    assert_string_equal(buf, "23h59m");
    mn_age_format((3 * 86400 + 4 * 3600 + 3599) * 1000ull, buf, sizeof buf);
    assert_string_equal(buf, "3d04h");
    mn_age_format(UINT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "213503982334d14h");
    mn_age_format(12 * 60 * 1000, tiny, sizeof tiny); /* cut to fit */
    assert_string_equal(tiny, "12m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_age_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
