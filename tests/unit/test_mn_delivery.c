/* test_mn_delivery.c - unit tests for mn_delivery: topics, patterns and lists of them, the
 * canonical delivery input, delivery signatures, partner error names.
 *
 * The signing input is checked against bytes written out by hand from the layout in
 * mn_delivery.h, so a change to the signed bytes cannot slip through as a "round trip still
 * works".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "mn_delivery.h"
#include "mn_key.h"

typedef struct keys {
    mn_key *gateway;
    mn_key *gateway2;
} keys;

static int s_group_setup(void **state)
{
    keys *k = calloc(1, sizeof *k);
    mn_diag d;
    if (!k || mn_crypto_init() != MN_OK)
        return -1;
    if (mn_key_generate(MN_ROLE_GATEWAY, "gateway", &k->gateway, &d) != MN_OK ||
        mn_key_generate(MN_ROLE_GATEWAY, "gateway-other", &k->gateway2, &d) != MN_OK)
        return -1;
    *state = k;
    return 0;
}

static int s_group_teardown(void **state)
{
    keys *k = *state;
    mn_key_destroy(&k->gateway);
    mn_key_destroy(&k->gateway2);
    free(k);
    return 0;
}

static const uint8_t *s_gw_sign(const keys *k)
{
    return mn_key_public(k->gateway)->sign;
}

static void s_topic_add(mn_topics *t, const char *name)
{
    assert_true(t->n < MN_TOPICS_MAX);
    snprintf(t->name[t->n], sizeof t->name[t->n], "%s", name);
    t->n++;
}

/* A delivery of three sealed bytes under two topics (sealed is malloc'd: clear it). */
static void s_make(mn_delivery *dl)
{
    memset(dl, 0, sizeof *dl);
    dl->tag = 7;
    dl->registration = 42;
    dl->attempt = 1;
    s_topic_add(&dl->topics, "police.acute");
    s_topic_add(&dl->topics, "care.midden");
    dl->sealed = malloc(3);
    assert_non_null(dl->sealed);
    memcpy(dl->sealed, "\x01\x02\x03", 3);
    dl->sealed_len = 3;
}

/* ---------------------------------------------------------------------------------------------
 * Topics */

static void test_topic_is_valid(void **state)
{
    (void)state;
    static const struct {
        const char *topic;
        int valid;
    } cases[] = {
        {"police.acute", 1},
        {"care.midden-nederland", 1},
        {"research.online", 1},
        {"hotline.gm0344", 1},
        {"a", 1},
        {"shelter_coordination", 1},
        {"0-9._-", 1},
        {"", 0},
        {"Police.acute", 0},
        {"police acute", 0},
        {"police.*", 0},
        {"*", 0},
        {"police/acute", 0},
        {"polïce", 0},
        {"police.acute\n", 0},
    };
    char longest[MN_TOPIC_MAX + 2];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mn_topic_is_valid(cases[i].topic) != cases[i].valid)
            fail_msg("mn_topic_is_valid(\"%s\") should be %d", cases[i].topic, cases[i].valid);
    assert_false(mn_topic_is_valid(NULL));

    memset(longest, 'a', MN_TOPIC_MAX);
    longest[MN_TOPIC_MAX] = '\0';
    assert_true(mn_topic_is_valid(longest)); /* 64 characters */
    longest[MN_TOPIC_MAX] = 'a';
    longest[MN_TOPIC_MAX + 1] = '\0';
    assert_false(mn_topic_is_valid(longest)); /* 65 characters */
}

static void test_topic_matches(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        const char *topic;
        int match;
    } cases[] = {
        {"police.acute", "police.acute", 1},
        {"police.acute", "police.acutes", 0},
        {"police.acute", "police", 0},
        {"police.*", "police.acute", 1},
        {"police.*", "police.a", 1},
        {"police.*", "police.region.midden", 1}, /* any depth */
        {"police.*", "police.", 0},              /* one or more further characters */
        {"police.*", "police", 0},
        {"police.*", "policex.acute", 0},
        {"police.*", "care.police", 0},
        {"care.midden.*", "care.midden.utrecht", 1},
        {"care.midden.*", "care.midden", 0},
        {"*", "police.acute", 1},
        {"*", "x", 1},
        {"*", "", 0},
        {"", "police", 0},
        {"police*", "police.acute", 0}, /* only ".*" is a wildcard */
        {"*.acute", "police.acute", 0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mn_topic_matches(cases[i].pattern, cases[i].topic) != cases[i].match)
            fail_msg("mn_topic_matches(\"%s\", \"%s\") should be %d", cases[i].pattern,
                     cases[i].topic, cases[i].match);
    assert_false(mn_topic_matches(NULL, "police"));
    assert_false(mn_topic_matches("*", NULL));
}

/* ---------------------------------------------------------------------------------------------
 * Signing input */

static void test_topic_pattern_is_valid(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        int valid;
    } cases[] = {
        {"police.acute", 1}, {"care.*", 1},  {"*", 1},     {"a.*", 1}, {"", 0},
        {".*", 0},           {"*.acute", 0}, {"care*", 0}, {"**", 0},  {"care.*.x", 0},
        {"Care.*", 0},       {"care .*", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mn_topic_pattern_is_valid(cases[i].pattern) != cases[i].valid)
            fail_msg("mn_topic_pattern_is_valid(\"%s\") should be %d", cases[i].pattern,
                     cases[i].valid);
    assert_false(mn_topic_pattern_is_valid(NULL));
    char longest[MN_TOPIC_MAX + 2];
    memset(longest, 'a', sizeof longest);
    memcpy(longest + MN_TOPIC_MAX - 2, ".*", 3); /* 64 characters */
    assert_true(mn_topic_pattern_is_valid(longest));
    memset(longest, 'a', sizeof longest);
    memcpy(longest + MN_TOPIC_MAX - 1, ".*", 3); /* 65 characters */
    assert_false(mn_topic_pattern_is_valid(longest));
}

static void test_topics_join(void **state)
{
    (void)state;
    mn_topics t = {0};
    char buf[64], tiny[8];
    assert_string_equal(mn_topics_join(&t, ",", buf, sizeof buf), "");
    assert_string_equal(mn_topics_join(NULL, ",", buf, sizeof buf), "");
    s_topic_add(&t, "police.acute");
    assert_string_equal(mn_topics_join(&t, ",", buf, sizeof buf), "police.acute");
    s_topic_add(&t, "care.*");
    assert_string_equal(mn_topics_join(&t, ", ", buf, sizeof buf), "police.acute, care.*");
    /* cut to fit, always terminated */
    assert_string_equal(mn_topics_join(&t, ",", tiny, sizeof tiny), "police.");
    assert_ptr_equal(mn_topics_join(&t, ",", tiny, 0), tiny);
}

static void test_signing_input_vector(void **state)
{
    (void)state;
    /* "meldnet-delivery-v1" | u32be 13 "police-midden" | u64be 42 | u32be 2
     * | u32be 12 "police.acute" | u32be 11 "care.midden" | u32be 3 01 02 03 */
    static const uint8_t want[] = "meldnet-delivery-v1"
                                  "\x00\x00\x00\x0d"
                                  "police-midden"
                                  "\x00\x00\x00\x00\x00\x00\x00\x2a"
                                  "\x00\x00\x00\x02"
                                  "\x00\x00\x00\x0c"
                                  "police.acute"
                                  "\x00\x00\x00\x0b"
                                  "care.midden"
                                  "\x00\x00\x00\x03"
                                  "\x01\x02\x03";
    mn_delivery dl;
    uint8_t *input = NULL;
    size_t len = 0;

    s_make(&dl);
    assert_int_equal(mn_delivery_signing_input(&dl, "police-midden", &input, &len), MN_OK);
    assert_int_equal(len, sizeof want - 1);
    assert_int_equal(len, 19 + 4 + 13 + 8 + 4 + 4 + 12 + 4 + 11 + 4 + 3);
    assert_memory_equal(input, want, len);
    free(input);

    /* tag, attempt and acute are not in it. */
    dl.tag = 99;
    dl.attempt = 5;
    dl.acute = 1;
    assert_int_equal(mn_delivery_signing_input(&dl, "police-midden", &input, &len), MN_OK);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(input, want, len);
    free(input);
    mn_delivery_clear(&dl);
}

static void test_signing_input_empty(void **state)
{
    (void)state;
    static const uint8_t want[] = "meldnet-delivery-v1"
                                  "\x00\x00\x00\x01"
                                  "p"
                                  "\x00\x00\x00\x00\x00\x00\x00\x01"
                                  "\x00\x00\x00\x00"
                                  "\x00\x00\x00\x00";
    mn_delivery dl;
    uint8_t *input = NULL;
    size_t len = 0;

    memset(&dl, 0, sizeof dl);
    dl.registration = 1;
    assert_int_equal(mn_delivery_signing_input(&dl, "p", &input, &len), MN_OK);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(input, want, len);
    free(input);

    /* Inputs that cannot be written: no partner, too many topics, bytes promised but absent. */
    assert_int_equal(mn_delivery_signing_input(&dl, NULL, &input, &len), MN_EINVAL);
    assert_null(input);
    dl.topics.n = MN_TOPICS_MAX + 1;
    assert_int_equal(mn_delivery_signing_input(&dl, "p", &input, &len), MN_EINVAL);
    dl.topics.n = 0;
    dl.sealed_len = 4;
    assert_int_equal(mn_delivery_signing_input(&dl, "p", &input, &len), MN_EINVAL);
}

/* ---------------------------------------------------------------------------------------------
 * Sign / verify */

static void test_sign_verify(void **state)
{
    keys *k = *state;
    mn_delivery dl;
    uint8_t *input = NULL;
    size_t len = 0;

    s_make(&dl);
    assert_int_equal(mn_delivery_sign(&dl, "police-midden", k->gateway), MN_OK);
    assert_int_equal(mn_delivery_verify(&dl, "police-midden", s_gw_sign(k)), MN_OK);

    /* It is Ed25519 over exactly the canonical input. */
    assert_int_equal(mn_delivery_signing_input(&dl, "police-midden", &input, &len), MN_OK);
    assert_int_equal(crypto_sign_verify_detached(dl.signature, input, len, s_gw_sign(k)), 0);
    free(input);

    /* Another gateway's key, another partner: no. */
    assert_int_equal(mn_delivery_verify(&dl, "police-midden", mn_key_public(k->gateway2)->sign),
                     MN_ECRYPTO);
    assert_int_equal(mn_delivery_verify(&dl, "police-noord", s_gw_sign(k)), MN_ECRYPTO);
    assert_int_equal(mn_delivery_verify(&dl, "police-midde", s_gw_sign(k)), MN_ECRYPTO);

    /* A flipped signature byte. */
    dl.signature[10] ^= 0x01;
    assert_int_equal(mn_delivery_verify(&dl, "police-midden", s_gw_sign(k)), MN_ECRYPTO);
    dl.signature[10] ^= 0x01;
    assert_int_equal(mn_delivery_verify(&dl, "police-midden", s_gw_sign(k)), MN_OK);
    mn_delivery_clear(&dl);
}

static void s_assert_fails(const mn_delivery *dl, const keys *k, const char *what)
{
    if (mn_delivery_verify(dl, "police-midden", s_gw_sign(k)) != MN_ECRYPTO)
        fail_msg("verify accepted a delivery with a changed %s", what);
}

static void s_assert_passes(const mn_delivery *dl, const keys *k, const char *what)
{
    if (mn_delivery_verify(dl, "police-midden", s_gw_sign(k)) != MN_OK)
        fail_msg("verify refused a delivery after %s was restored or changed", what);
}

static void test_tamper(void **state)
{
    keys *k = *state;
    mn_delivery dl;
    char saved[MN_TOPIC_MAX + 1];

    s_make(&dl);
    assert_int_equal(mn_delivery_sign(&dl, "police-midden", k->gateway), MN_OK);

    dl.registration = 43;
    s_assert_fails(&dl, k, "registration");
    dl.registration = 42;
    s_assert_passes(&dl, k, "registration");

    for (size_t i = 0; i < dl.topics.n; i++) {
        memcpy(saved, dl.topics.name[i], sizeof saved);
        dl.topics.name[i][0] ^= 0x01;
        s_assert_fails(&dl, k, "topic");
        memcpy(dl.topics.name[i], saved, sizeof saved);
        s_assert_passes(&dl, k, "topic");
    }

    /* Reordered, dropped and added topics. */
    memcpy(saved, dl.topics.name[0], sizeof saved);
    memcpy(dl.topics.name[0], dl.topics.name[1], sizeof saved);
    memcpy(dl.topics.name[1], saved, sizeof saved);
    s_assert_fails(&dl, k, "topic order");
    memcpy(dl.topics.name[1], dl.topics.name[0], sizeof saved);
    memcpy(dl.topics.name[0], saved, sizeof saved);
    s_assert_passes(&dl, k, "topic order");
    dl.topics.n = 1;
    s_assert_fails(&dl, k, "topic count (dropped)");
    dl.topics.n = 2;
    s_topic_add(&dl.topics, "research.online");
    s_assert_fails(&dl, k, "topic count (added)");
    dl.topics.n = 2;
    s_assert_passes(&dl, k, "topic count");

    for (size_t i = 0; i < dl.sealed_len; i++) {
        dl.sealed[i] ^= 0x80;
        s_assert_fails(&dl, k, "sealed byte");
        dl.sealed[i] ^= 0x80;
    }
    dl.sealed_len = 2;
    s_assert_fails(&dl, k, "sealed length");
    dl.sealed_len = 3;
    s_assert_passes(&dl, k, "sealed");

    /* Transport bookkeeping is not signed: redelivery keeps the signature. */
    dl.tag = 123456;
    dl.attempt = 9;
    dl.acute = 1;
    s_assert_passes(&dl, k, "tag/attempt/acute");
    mn_delivery_clear(&dl);
}

static void test_clear_twice(void **state)
{
    (void)state;
    mn_delivery dl;

    s_make(&dl);
    mn_delivery_clear(&dl);
    assert_null(dl.sealed);
    assert_int_equal(dl.sealed_len, 0);
    assert_int_equal(dl.topics.n, 0);
    mn_delivery_clear(&dl);
    mn_delivery_clear(NULL);
}

static void test_partner_error_names(void **state)
{
    (void)state;
    assert_string_equal(mn_partner_error_name(MN_PARTNER_UNBOUND_TOPIC), "UNBOUND_TOPIC");
    assert_string_equal(mn_partner_error_name(MN_PARTNER_NOT_SUBSCRIBED), "NOT_SUBSCRIBED");
    assert_string_equal(mn_partner_error_name(MN_PARTNER_UNKNOWN_TAG), "UNKNOWN_TAG");
    assert_string_equal(mn_partner_error_name(MN_PARTNER_BAD_REQUEST), "BAD_REQUEST");
    assert_string_equal(mn_partner_error_name(0), "UNSPECIFIED");
    assert_string_equal(mn_partner_error_name(5), "UNSPECIFIED");
    assert_string_equal(mn_partner_error_name(-1), "UNSPECIFIED");
}

static void test_topic_chars(void **state)
{
    (void)state;
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
    for (int c = 1; c < 256; c++)
        assert_int_equal(mn_topic_char_is_valid((char)c) != 0, strchr(ok, c) != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_is_valid),
        cmocka_unit_test(test_topic_matches),
        cmocka_unit_test(test_topic_pattern_is_valid),
        cmocka_unit_test(test_topics_join),
        cmocka_unit_test(test_signing_input_vector),
        cmocka_unit_test(test_signing_input_empty),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_clear_twice),
        cmocka_unit_test(test_partner_error_names),
        cmocka_unit_test(test_topic_chars),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
