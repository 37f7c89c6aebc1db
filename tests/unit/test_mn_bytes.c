/* test_mn_bytes.c - unit tests for mn_bytes.h: big-endian writers and readers, known bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mn_bytes.h"

static void test_put_known_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x01, 0x02,                                     /* u16 */
        0x03, 0x04, 0x05, 0x06,                         /* u32 */
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, /* u64 */
        'a',  'b',                                      /* bytes */
    };
    uint8_t buf[sizeof want + 1];
    memset(buf, 0xee, sizeof buf);
    uint8_t *p = buf;
    p = mn_bytes_put_u16be(p, 0x0102);
    p = mn_bytes_put_u32be(p, 0x03040506u);
    p = mn_bytes_put_u64be(p, 0x0708090a0b0c0d0eull);
    p = mn_bytes_put(p, "ab", 2);
    p = mn_bytes_put(p, NULL, 0); /* nothing, not even a read */
    assert_ptr_equal(p, buf + sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(buf[sizeof want], 0xee); /* nothing written past the end */
}

static void test_get_known_values(void **state)
{
    (void)state;
    static const uint8_t b[] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
    assert_int_equal(mn_bytes_get_u16be(b), 0xfffe);
    assert_int_equal(mn_bytes_get_u32be(b), 0xfffefdfcu);
    assert_true(mn_bytes_get_u64be(b) == 0xfffefdfcfbfaf9f8ull);
}

static void test_round_trip_extremes(void **state)
{
    (void)state;
    static const uint64_t values[] =
        {0, 1, 0xff, 0x100, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX - 1, UINT64_MAX};
    uint8_t buf[8];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        mn_bytes_put_u64be(buf, values[i]);
        assert_true(mn_bytes_get_u64be(buf) == values[i]);
        mn_bytes_put_u32be(buf, (uint32_t)values[i]);
        assert_true(mn_bytes_get_u32be(buf) == (uint32_t)values[i]);
        mn_bytes_put_u16be(buf, (uint16_t)values[i]);
        assert_true(mn_bytes_get_u16be(buf) == (uint16_t)values[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_known_bytes),
        cmocka_unit_test(test_get_known_values),
        cmocka_unit_test(test_round_trip_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
