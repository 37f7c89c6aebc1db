/* test_mn_log.c - unit tests for mn_log: level names, and quoting text a peer wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mn_log.h"

static void test_parse_level(void **state)
{
    (void)state;
    enum mn_log_level level = MN_LOG_ERR;
    assert_int_equal(mn_log_parse_level("debug", &level), MN_OK);
    assert_int_equal(level, MN_LOG_DEBUG);
    assert_int_equal(mn_log_parse_level("warn", &level), MN_OK);
    assert_int_equal(level, MN_LOG_WARN);
    assert_int_equal(mn_log_parse_level("loud", &level), MN_EINVAL);
    assert_int_equal(mn_log_parse_level(NULL, &level), MN_EINVAL);
    assert_int_equal(level, MN_LOG_WARN); /* unchanged by a failure */
}

static void test_quote_escapes(void **state)
{
    (void)state;
    char out[64];
    mn_log_quote("plain text", out, sizeof out);
    assert_string_equal(out, "plain text");
    mn_log_quote("say \"hi\" \\ bye", out, sizeof out);
    assert_string_equal(out, "say \\\"hi\\\" \\\\ bye");
    mn_log_quote("line\nbreak\x1b[31m\x7f\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "line\\x0abreak\\x1b[31m\\x7f\\xc3\\xa9");
    mn_log_quote(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_quote_cuts_whole_escapes(void **state)
{
    (void)state;
    char out[6];
    mn_log_quote("abcdefgh", out, sizeof out);
    assert_string_equal(out, "abcde");
    mn_log_quote("ab\n", out, sizeof out); /* "\x0a" does not fit after "ab": left out whole */
    assert_string_equal(out, "ab");
    mn_log_quote("\"", out, 2); /* an escape that does not fit at all */
    assert_string_equal(out, "");
    out[0] = 'x';
    mn_log_quote("abc", out, 0); /* no room: nothing written */
    assert_int_equal(out[0], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_cuts_whole_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
