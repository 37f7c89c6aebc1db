/* test_mn_b64.c - unit tests for mn_b64: URL-safe base64 without padding, strict decoding.
 *
 * Known answers were computed with an independent implementation (Python's base64 module).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mn_b64.h"

/* Bytes 00..1f. */
#define KAT_CURVE_SK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void test_b64_known_answers(void **state)
{
    (void)state;
    uint8_t bin[32], back[32];
    char text[64];
    for (int i = 0; i < 32; i++)
        bin[i] = (uint8_t)i;
    assert_int_equal(mn_b64_encoded_len(32), 43);
    assert_int_equal(mn_b64_encoded_len(0), 0);
    assert_int_equal(mn_b64_encoded_len(3), 4);
    mn_b64_encode(bin, 32, text, sizeof text);
    assert_string_equal(text, KAT_CURVE_SK);
    assert_int_equal(mn_b64_decode(text, back, 32), MN_OK);
    assert_memory_equal(back, bin, 32);

    memset(bin, 0xff, 32);
    mn_b64_encode(bin, 32, text, sizeof text);
    assert_string_equal(text, "__________________________________________8");
    mn_b64_encode((const uint8_t *)"foo", 3, text, sizeof text);
    assert_string_equal(text, "Zm9v");

    /* Wrong length, padding, standard-alphabet characters, non-canonical trailing bits. */
    assert_int_equal(mn_b64_decode(KAT_CURVE_SK "A", back, 32), MN_EINVAL);
    assert_int_equal(mn_b64_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh", back, 32),
                     MN_EINVAL);
    assert_int_equal(mn_b64_decode(KAT_CURVE_SK "=", back, 32), MN_EINVAL);
    assert_int_equal(mn_b64_decode("+_________________________________________8", back, 32),
                     MN_EINVAL);
    assert_int_equal(mn_b64_decode("/_________________________________________8", back, 32),
                     MN_EINVAL);
    assert_int_equal(mn_b64_decode("__________________________________________9", back, 32),
                     MN_EINVAL);
    assert_int_equal(mn_b64_decode("", back, 32), MN_EINVAL);
    assert_int_equal(mn_b64_decode(NULL, back, 32), MN_EINVAL);
}

static void test_b64_decode_span(void **state)
{
    (void)state;
    const char line[] = "curve=" KAT_CURVE_SK " sign=";
    uint8_t want[32], back[32];
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)i;
    /* A token inside a line: only its own characters count. */
    assert_int_equal(mn_b64_decode_span(line + 6, 43, back, 32), MN_OK);
    assert_memory_equal(back, want, 32);
    assert_int_equal(mn_b64_decode_span(line + 6, 44, back, 32), MN_EINVAL);
    assert_int_equal(mn_b64_decode_span(line + 6, 42, back, 32), MN_EINVAL);
    /* A bad character inside: nothing decoded is left behind. */
    char bad[44];
    memcpy(bad, KAT_CURVE_SK, 44);
    bad[20] = '+';
    memset(back, 0x55, sizeof back);
    assert_int_equal(mn_b64_decode_span(bad, 43, back, 32), MN_EINVAL);
    for (int i = 0; i < 32; i++)
        assert_true(back[i] == 0 || back[i] == 0x55);
    assert_int_equal(mn_b64_decode_span("", 0, back, 0), MN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_known_answers),
        cmocka_unit_test(test_b64_decode_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
