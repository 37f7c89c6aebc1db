/* test_mn_suggest.c - unit tests for mn_suggest: edit distance and the "did you mean" choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mn_suggest.h"

static void test_distance_known_answers(void **state)
{
    (void)state;
    assert_int_equal(mn_suggest_distance("", ""), 0);
    assert_int_equal(mn_suggest_distance("", "abc"), 3);
    assert_int_equal(mn_suggest_distance("abc", ""), 3);
    assert_int_equal(mn_suggest_distance("listen", "listen"), 0);
    assert_int_equal(mn_suggest_distance("lisen", "listen"), 1);   /* deletion */
    assert_int_equal(mn_suggest_distance("inof", "info"), 2);      /* transposition */
    assert_int_equal(mn_suggest_distance("kitten", "sitting"), 3); /* classic */
    assert_int_equal(mn_suggest_distance("flaw", "lawn"), 2);
    assert_int_equal(mn_suggest_distance("sitting", "kitten"), 3); /* symmetric */
}

static void test_distance_ignores_case(void **state)
{
    (void)state;
    assert_int_equal(mn_suggest_distance("LISTEN", "listen"), 0);
    assert_int_equal(mn_suggest_distance("Data_Dir", "data_dir"), 0);
    assert_int_equal(mn_suggest_distance("\xc3\x89", "\xc3\xa9"), 1); /* bytes, not UTF-8 */
}

static void test_distance_length_limit(void **state)
{
    char at_limit[MN_SUGGEST_MAX_LEN + 1], over[MN_SUGGEST_MAX_LEN + 2];
    (void)state;
    memset(at_limit, 'a', MN_SUGGEST_MAX_LEN);
    at_limit[MN_SUGGEST_MAX_LEN] = '\0';
    memset(over, 'a', MN_SUGGEST_MAX_LEN + 1);
    over[MN_SUGGEST_MAX_LEN + 1] = '\0';
    assert_int_equal(mn_suggest_distance(at_limit, at_limit), 0);
    assert_int_equal(mn_suggest_distance(at_limit, ""), MN_SUGGEST_MAX_LEN);
    assert_true(mn_suggest_distance(over, "a") == SIZE_MAX);
    assert_true(mn_suggest_distance("a", over) == SIZE_MAX);
}

static void test_closest(void **state)
{
    static const char *const settings[] = {"listen", "data_dir", "map_size_mb", "batch_max",
                                           "log_level"};
    static const char *const levels[] = {"err", "warn", "notice", "info", "debug"};
    (void)state;
    assert_string_equal(mn_suggest_closest("lisen", settings, 5), "listen");
    assert_string_equal(mn_suggest_closest("LISTEN", settings, 5), "listen");
    assert_string_equal(mn_suggest_closest("batch_mx", settings, 5), "batch_max");
    assert_string_equal(mn_suggest_closest("inof", levels, 5), "info");
    assert_null(mn_suggest_closest("warning", levels, 5)); /* 3 edits: far for 7 bytes */
    assert_null(mn_suggest_closest("zzzzqqqq", settings, 5));
    assert_null(mn_suggest_closest("trace", levels, 5));
}

static void test_closest_prefix(void **state)
{
    static const char *const settings[] = {"listen", "data_dir", "map_size_mb"};
    (void)state;
    assert_string_equal(mn_suggest_closest("data", settings, 3), "data_dir");
    assert_string_equal(mn_suggest_closest("map_size", settings, 3), "map_size_mb");
    assert_string_equal(mn_suggest_closest("DATA", settings, 3), "data_dir");
    assert_null(mn_suggest_closest("ma", settings, 3)); /* a prefix under 3 bytes is no hint */
}

static void test_closest_threshold_grows_with_length(void **state)
{
    static const char *const keys[] = {"date_of_birth", "age_years"};
    (void)state;
    /* 2 edits are always close; 13 bytes allow 4. */
    assert_string_equal(mn_suggest_closest("date_of_brith", keys, 2), "date_of_birth");
    assert_string_equal(mn_suggest_closest("dat_of_brth_x", keys, 2), "date_of_birth");
    assert_null(mn_suggest_closest("xxxx_of_xxxxx", keys, 2));
}

static void test_closest_ties_and_edges(void **state)
{
    static const char *const cands[] = {"cat", "car", "cap"};
    (void)state;
    assert_string_equal(mn_suggest_closest("cax", cands, 3), "cat"); /* first of equals */
    assert_string_equal(mn_suggest_closest("car", cands, 3), "car"); /* exact beats near */
    assert_null(mn_suggest_closest(NULL, cands, 3));
    assert_null(mn_suggest_closest("cat", cands, 0));
    assert_null(mn_suggest_closest("cat", NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_known_answers),
        cmocka_unit_test(test_distance_ignores_case),
        cmocka_unit_test(test_distance_length_limit),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_closest_prefix),
        cmocka_unit_test(test_closest_threshold_grows_with_length),
        cmocka_unit_test(test_closest_ties_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
