/* test_mn_envelope.c - unit tests for mn_envelope: seal+sign, verify+open, padding, receipts,
 * registration numbers.
 *
 * The canonical signing inputs are checked against byte strings written out by hand from the
 * layout in mn_envelope.h (and cross-checked with an independent Python encoder), so a change
 * to the signed bytes cannot slip through as a "round trip still works".
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

#include "mn_envelope.h"
#include "mn_key.h"

typedef struct keys {
    mn_key *agent;
    mn_key *agent2;
    mn_key *gateway;
    mn_key *gateway2;
} keys;

static const uint8_t s_report[] = "{\"reporter\":{\"kind\":\"district_team\"},\"acute\":false}";

static int s_group_setup(void **state)
{
    keys *k = calloc(1, sizeof *k);
    mn_diag d;
    if (!k)
        return -1;
    if (mn_key_generate(MN_ROLE_AGENT, "district-utrecht", &k->agent, &d) != MN_OK ||
        mn_key_generate(MN_ROLE_AGENT, "hotline-zwolle", &k->agent2, &d) != MN_OK ||
        mn_key_generate(MN_ROLE_GATEWAY, "gateway", &k->gateway, &d) != MN_OK ||
        mn_key_generate(MN_ROLE_GATEWAY, "gateway-other", &k->gateway2, &d) != MN_OK)
        return -1;
    *state = k;
    return 0;
}

static int s_group_teardown(void **state)
{
    keys *k = *state;
    mn_key_destroy(&k->agent);
    mn_key_destroy(&k->agent2);
    mn_key_destroy(&k->gateway);
    mn_key_destroy(&k->gateway2);
    free(k);
    return 0;
}

static const uint8_t *s_gw_box(const keys *k)
{
    return mn_key_public(k->gateway)->box;
}

static const uint8_t *s_agent_sign(const keys *k)
{
    return mn_key_public(k->agent)->sign;
}

static void s_seal(const keys *k, mn_envelope *env)
{
    mn_diag d;
    assert_int_equal(mn_envelope_seal(k->agent, s_gw_box(k), s_report, sizeof s_report - 1, 7,
                                      1700000000000ull, env, &d),
                     MN_OK);
}

/* Verify must fail, and restore must make it pass again (so every flip is judged alone). */
static void s_assert_verify_fails(const mn_envelope *env, const keys *k, const char *what, size_t i)
{
    if (mn_envelope_verify(env, s_agent_sign(k)) != MN_ECRYPTO)
        fail_msg("verify accepted a flipped byte %zu of %s", i, what);
}

/* ---------------------------------------------------------------------------------------------
 * Envelopes */

static void test_envelope_roundtrip(void **state)
{
    keys *k = *state;
    mn_envelope env, env2;
    uint8_t *plain = NULL;
    size_t len = 0;
    mn_diag d;

    s_seal(k, &env);
    assert_int_equal(env.version, MN_PROTOCOL_VERSION);
    assert_string_equal(env.agent, "district-utrecht");
    assert_int_equal(env.seq, 7);
    assert_int_equal(env.created_ms, 1700000000000ull);
    assert_non_null(env.sealed);
    assert_int_equal(env.sealed_len, 256 + crypto_box_SEALBYTES);

    /* The signature is Ed25519 over exactly the canonical input. */
    uint8_t *input = NULL;
    size_t input_len = 0;
    assert_int_equal(mn_envelope_signing_input(&env, &input, &input_len), MN_OK);
    assert_int_equal(input_len, 19 + 4 + 4 + 16 + 4 + 16 + 8 + 8 + 4 + env.sealed_len);
    assert_int_equal(crypto_sign_verify_detached(env.signature, input, input_len, s_agent_sign(k)),
                     0);
    free(input);

    assert_int_equal(mn_envelope_verify(&env, s_agent_sign(k)), MN_OK);
    assert_int_equal(mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_OK);
    assert_int_equal(len, sizeof s_report - 1);
    assert_memory_equal(plain, s_report, len);
    mn_plain_free(plain, len);

    /* A second seal of the same report: fresh id, different ciphertext. */
    s_seal(k, &env2);
    assert_memory_not_equal(env.id, env2.id, MN_ENVELOPE_ID_BYTES);
    assert_memory_not_equal(env.sealed, env2.sealed, env.sealed_len);

    mn_envelope_clear(&env);
    mn_envelope_clear(&env2);
}

static void test_envelope_tamper_every_byte(void **state)
{
    keys *k = *state;
    mn_envelope env;
    uint8_t *plain = NULL;
    size_t len = 0;
    mn_diag d;

    s_seal(k, &env);
    assert_int_equal(mn_envelope_verify(&env, s_agent_sign(k)), MN_OK);

    for (size_t i = 0; i < 4; i++) {
        env.version ^= 0xffu << (8 * i);
        s_assert_verify_fails(&env, k, "version", i);
        env.version ^= 0xffu << (8 * i);
    }
    for (size_t i = 0; i < MN_ENVELOPE_ID_BYTES; i++) {
        env.id[i] ^= 0x01;
        s_assert_verify_fails(&env, k, "id", i);
        env.id[i] ^= 0x01;
    }
    size_t agent_len = strlen(env.agent);
    for (size_t i = 0; i < agent_len; i++) {
        env.agent[i] ^= 0x01;
        s_assert_verify_fails(&env, k, "agent", i);
        env.agent[i] ^= 0x01;
    }
    /* Agent name longer or shorter by one. */
    env.agent[agent_len] = 'x';
    s_assert_verify_fails(&env, k, "agent (longer)", agent_len);
    env.agent[agent_len] = '\0';
    char last = env.agent[agent_len - 1];
    env.agent[agent_len - 1] = '\0';
    s_assert_verify_fails(&env, k, "agent (shorter)", agent_len - 1);
    env.agent[agent_len - 1] = last;
    for (size_t i = 0; i < 8; i++) {
        env.seq ^= 0xffull << (8 * i);
        s_assert_verify_fails(&env, k, "seq", i);
        env.seq ^= 0xffull << (8 * i);
        env.created_ms ^= 0xffull << (8 * i);
        s_assert_verify_fails(&env, k, "created_ms", i);
        env.created_ms ^= 0xffull << (8 * i);
    }
    for (size_t i = 0; i < env.sealed_len; i++) {
        env.sealed[i] ^= 0x01;
        s_assert_verify_fails(&env, k, "sealed", i);
        plain = NULL;
        if (mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES, &plain, &len, &d) != MN_ECRYPTO)
            fail_msg("open accepted a flipped byte %zu of sealed", i);
        assert_null(plain);
        env.sealed[i] ^= 0x01;
    }
    for (size_t i = 0; i < MN_SIG_BYTES; i++) {
        env.signature[i] ^= 0x01;
        s_assert_verify_fails(&env, k, "signature", i);
        env.signature[i] ^= 0x01;
    }
    /* Truncated sealed part. */
    env.sealed_len--;
    s_assert_verify_fails(&env, k, "sealed (truncated)", env.sealed_len);
    assert_int_equal(mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_ECRYPTO);
    env.sealed_len++;

    /* Everything restored: it verifies and opens again. */
    assert_int_equal(mn_envelope_verify(&env, s_agent_sign(k)), MN_OK);
    assert_int_equal(mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_OK);
    mn_plain_free(plain, len);
    mn_envelope_clear(&env);
}

static void test_envelope_wrong_keys(void **state)
{
    keys *k = *state;
    mn_envelope env;
    uint8_t *plain = (uint8_t *)(uintptr_t)1;
    size_t len = 99;
    mn_diag d;

    s_seal(k, &env);
    mn_diag_clear(&d);
    assert_int_equal(mn_envelope_open(&env, k->gateway2, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_ECRYPTO);
    assert_null(plain);
    assert_int_equal(len, 0);
    assert_int_equal(d.code, MN_ECRYPTO);
    assert_string_equal(d.where, "envelope from district-utrecht");
    /* The agent cannot open its own envelope either. */
    assert_int_equal(mn_envelope_open(&env, k->agent, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_ECRYPTO);
    assert_int_equal(mn_envelope_verify(&env, mn_key_public(k->agent2)->sign), MN_ECRYPTO);
    assert_int_equal(mn_envelope_verify(&env, mn_key_public(k->gateway)->sign), MN_ECRYPTO);
    /* Another agent re-signing under the first agent's name does not verify as the first. */
    uint8_t *input = NULL;
    size_t input_len = 0;
    assert_int_equal(mn_envelope_signing_input(&env, &input, &input_len), MN_OK);
    crypto_sign_detached(env.signature, NULL, input, input_len, mn_key_sign_secret(k->agent2));
    free(input);
    assert_int_equal(mn_envelope_verify(&env, s_agent_sign(k)), MN_ECRYPTO);
    assert_int_equal(mn_envelope_verify(&env, mn_key_public(k->agent2)->sign), MN_OK);
    mn_envelope_clear(&env);
}

static void test_envelope_signing_input_known_answer(void **state)
{
    (void)state;
    static const uint8_t expect[] = {
        /* "meldnet-envelope-v1" */
        'm',
        'e',
        'l',
        'd',
        'n',
        'e',
        't',
        '-',
        'e',
        'n',
        'v',
        'e',
        'l',
        'o',
        'p',
        'e',
        '-',
        'v',
        '1',
        /* u32be version = 1 */
        0x00,
        0x00,
        0x00,
        0x01,
        /* u32be len(id) = 16, id = 00..0f */
        0x00,
        0x00,
        0x00,
        0x10,
        0x00,
        0x01,
        0x02,
        0x03,
        0x04,
        0x05,
        0x06,
        0x07,
        0x08,
        0x09,
        0x0a,
        0x0b,
        0x0c,
        0x0d,
        0x0e,
        0x0f,
        /* u32be len(agent) = 16, "district-utrecht" */
        0x00,
        0x00,
        0x00,
        0x10,
        'd',
        'i',
        's',
        't',
        'r',
        'i',
        'c',
        't',
        '-',
        'u',
        't',
        'r',
        'e',
        'c',
        'h',
        't',
        /* u64be seq = 7 */
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x07,
        /* u64be created_ms = 1700000000000 = 0x0000018bcfe56800 */
        0x00,
        0x00,
        0x01,
        0x8b,
        0xcf,
        0xe5,
        0x68,
        0x00,
        /* u32be len(sealed) = 3, "abc" */
        0x00,
        0x00,
        0x00,
        0x03,
        'a',
        'b',
        'c',
    };
    uint8_t abc[3] = {'a', 'b', 'c'};
    mn_envelope env;
    memset(&env, 0, sizeof env);
    env.version = 1;
    for (int i = 0; i < MN_ENVELOPE_ID_BYTES; i++)
        env.id[i] = (uint8_t)i;
    snprintf(env.agent, sizeof env.agent, "district-utrecht");
    env.seq = 7;
    env.created_ms = 1700000000000ull;
    env.sealed = abc;
    env.sealed_len = sizeof abc;

    uint8_t *input = NULL;
    size_t len = 0;
    assert_int_equal(mn_envelope_signing_input(&env, &input, &len), MN_OK);
    assert_int_equal(sizeof expect, 86);
    assert_int_equal(len, sizeof expect);
    assert_memory_equal(input, expect, sizeof expect);
    free(input);

    /* An empty sealed part is still well defined. */
    env.sealed = NULL;
    env.sealed_len = 0;
    assert_int_equal(mn_envelope_signing_input(&env, &input, &len), MN_OK);
    assert_int_equal(len, sizeof expect - 3);
    assert_memory_equal(input, expect, sizeof expect - 7);
    assert_memory_equal(input + len - 4, "\0\0\0\0", 4);
    free(input);

    /* A length with no bytes behind it is refused, not read. */
    env.sealed_len = 10;
    assert_int_not_equal(mn_envelope_signing_input(&env, &input, &len), MN_OK);
    assert_null(input);
    uint8_t any_pk[MN_KEY_BYTES] = {0};
    assert_int_equal(mn_envelope_verify(&env, any_pk), MN_ECRYPTO);
}

static void test_envelope_seal_limits(void **state)
{
    keys *k = *state;
    mn_envelope env;
    mn_diag d;
    uint8_t zero_pk[MN_KEY_BYTES] = {0};

    /* Over the limit: refused before anything is read from `report` (NULL here). */
    mn_diag_clear(&d);
    assert_int_equal(mn_envelope_seal(k->agent, s_gw_box(k), NULL, MN_REPORT_MAX_BYTES + 1, 1, 1,
                                      &env, &d),
                     MN_ETOOBIG);
    assert_int_equal(d.code, MN_ETOOBIG);
    assert_null(env.sealed);
    assert_int_equal(env.sealed_len, 0);
    mn_envelope_clear(&env);

    /* A public key of small order (all zero) cannot be sealed to. */
    assert_int_equal(mn_envelope_seal(k->agent, zero_pk, s_report, sizeof s_report - 1, 1, 1, &env,
                                      &d),
                     MN_ECRYPTO);
    assert_null(env.sealed);
    mn_envelope_clear(&env);

    /* Exactly the limit: the largest bucket. */
    uint8_t *big = calloc(1, MN_REPORT_MAX_BYTES);
    uint8_t *plain = NULL;
    size_t len = 0;
    assert_non_null(big);
    big[0] = 1;
    big[MN_REPORT_MAX_BYTES - 1] = 2;
    assert_int_equal(mn_envelope_seal(k->agent, s_gw_box(k), big, MN_REPORT_MAX_BYTES, 1, 1, &env,
                                      &d),
                     MN_OK);
    assert_int_equal(env.sealed_len, 2 * (size_t)MN_REPORT_MAX_BYTES + crypto_box_SEALBYTES);
    assert_int_equal(mn_envelope_verify(&env, s_agent_sign(k)), MN_OK);
    assert_int_equal(mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES - 1, &plain, &len, &d),
                     MN_ETOOBIG);
    assert_null(plain);
    assert_int_equal(mn_envelope_open(&env, k->gateway, MN_REPORT_MAX_BYTES, &plain, &len, &d),
                     MN_OK);
    assert_int_equal(len, MN_REPORT_MAX_BYTES);
    assert_memory_equal(plain, big, len);
    mn_plain_free(plain, len);
    free(big);
    mn_envelope_clear(&env);
}

static void test_envelope_clear_twice(void **state)
{
    keys *k = *state;
    mn_envelope env;
    s_seal(k, &env);
    mn_envelope_clear(&env);
    assert_null(env.sealed);
    assert_int_equal(env.sealed_len, 0);
    mn_envelope_clear(&env);
    mn_envelope_clear(NULL);
    mn_plain_free(NULL, 0);
    mn_plain_free(NULL, 10);
}

/* ---------------------------------------------------------------------------------------------
 * Padded boxes: eph_pk(32) || nonce(24) || MAC(16) || ciphertext(bucket) */

#define S_EPH 32
#define S_NONCE 24
#define S_MAC 16

/* Open with mn_box_open and with op (an opener for the same key); both must return rc, leave
 * *plain NULL on failure, and agree on the plaintext. Returns the opener's plaintext (caller:
 * mn_plain_free) or NULL. */
static uint8_t *s_open2(const mn_key *key, mn_box_opener *op, const uint8_t *sealed,
                        size_t sealed_len, size_t max_len, int rc, size_t *len)
{
    uint8_t *p1 = (uint8_t *)(uintptr_t)1, *p2 = (uint8_t *)(uintptr_t)1;
    size_t n1 = 99, n2 = 99;
    int rc1 = mn_box_open(key, sealed, sealed_len, max_len, &p1, &n1);
    int rc2 = mn_box_opener_open(op, sealed, sealed_len, max_len, &p2, &n2);
    if (rc1 != rc || rc2 != rc)
        fail_msg("open of %zu bytes (max %zu): one-shot %s, opener %s, expected %s", sealed_len,
                 max_len, mn_err_name(rc1), mn_err_name(rc2), mn_err_name(rc));
    if (rc != MN_OK) {
        assert_null(p1);
        assert_null(p2);
        assert_int_equal(n1, 0);
        assert_int_equal(n2, 0);
        return NULL;
    }
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal(n1, n2);
    if (n1 > 0)
        assert_memory_equal(p1, p2, n1);
    mn_plain_free(p1, n1);
    *len = n2;
    return p2;
}

/* Open with both and expect exactly want[0..want_len). */
static void s_assert_opens(const mn_key *key, mn_box_opener *op, const uint8_t *sealed,
                           size_t sealed_len, const uint8_t *want, size_t want_len)
{
    size_t len = 0;
    uint8_t *plain = s_open2(key, op, sealed, sealed_len, want_len, MN_OK, &len);
    assert_int_equal(len, want_len);
    if (len > 0)
        assert_memory_equal(plain, want, len);
    mn_plain_free(plain, len);
}

static void test_padding_buckets(void **state)
{
    keys *k = *state;
    const struct {
        size_t len;
        size_t bucket;
    } cases[] = {
        {0, 256},    {1, 256},     {255, 256},   {256, 512},   {511, 512},
        {512, 1024}, {1000, 1024}, {1023, 1024}, {1024, 2048}, {70000, 131072},
    };
    uint8_t *buf = malloc(70000);
    mn_box_opener *op = NULL;
    assert_non_null(buf);
    randombytes_buf(buf, 70000);
    assert_int_equal(MN_BOX_OVERHEAD, S_EPH + S_NONCE + S_MAC);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *sealed = NULL, *plain = NULL;
        size_t sealed_len = 0, len = 99;
        mn_envelope env;
        mn_diag d;

        assert_int_equal(mn_box_seal(s_gw_box(k), buf, cases[i].len, &sealed, &sealed_len), MN_OK);
        assert_int_equal(sealed_len, cases[i].bucket + MN_BOX_OVERHEAD);
        s_assert_opens(k->gateway, op, sealed, sealed_len, buf, cases[i].len);
        free(sealed);

        /* Envelopes keep crypto_box_seal: bucket + 48. */
        assert_int_equal(mn_envelope_seal(k->agent, s_gw_box(k), buf, cases[i].len, i, 1, &env, &d),
                         MN_OK);
        assert_int_equal(env.sealed_len, cases[i].bucket + crypto_box_SEALBYTES);
        assert_int_equal(mn_envelope_open(&env, k->gateway, cases[i].len, &plain, &len, &d), MN_OK);
        assert_int_equal(len, cases[i].len);
        mn_plain_free(plain, len);
        mn_envelope_clear(&env);
    }
    mn_box_opener_destroy(&op);
    free(buf);
}

static void test_box_sealer_roundtrip(void **state)
{
    keys *k = *state;
    /* Bucket edges: len + 1 crossing a power of two, the minimum bucket, and a large one. */
    const size_t lens[] = {0, 1, 255, 256, 511, 512, 1023, 1024, 4095, 4096, 65535, 70000};
    uint8_t *buf = malloc(70000);
    mn_box_sealer *s = NULL;
    mn_box_opener *op = NULL;
    assert_non_null(buf);
    randombytes_buf(buf, 70000);
    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s), MN_OK);
    assert_non_null(s);
    assert_memory_equal(mn_box_sealer_recipient(s), s_gw_box(k), MN_KEY_BYTES);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);

    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        size_t bucket = MN_PAD_MIN_BUCKET;
        while (bucket <= lens[i])
            bucket *= 2;
        assert_int_equal(mn_box_sealer_seal(s, buf, lens[i], &sealed, &sealed_len), MN_OK);
        assert_int_equal(sealed_len, bucket + MN_BOX_OVERHEAD);
        s_assert_opens(k->gateway, op, sealed, sealed_len, buf, lens[i]);
        /* The raw layout: crypto_box_open_easy over what follows eph_pk and nonce gives the
         * padded bucket, plaintext first, then 0x80 and zeros. */
        uint8_t *padded = malloc(bucket);
        assert_non_null(padded);
        assert_int_equal(crypto_box_open_easy(padded, sealed + S_EPH + S_NONCE,
                                              sealed_len - S_EPH - S_NONCE, sealed + S_EPH, sealed,
                                              mn_key_box_secret(k->gateway)),
                         0);
        if (lens[i] > 0)
            assert_memory_equal(padded, buf, lens[i]);
        assert_int_equal(padded[lens[i]], 0x80);
        for (size_t j = lens[i] + 1; j < bucket; j++)
            assert_int_equal(padded[j], 0);
        free(padded);
        /* Another recipient's key does not open it. */
        assert_int_equal(mn_box_open(k->gateway2, sealed, sealed_len, 70000, &(uint8_t *){NULL},
                                     &(size_t){0}),
                         MN_ECRYPTO);
        free(sealed);
    }
    mn_box_opener_destroy(&op);
    mn_box_sealer_destroy(&s);
    free(buf);
}

static void test_box_sealer_shares_eph_key(void **state)
{
    keys *k = *state;
    static const uint8_t msg[] = "the same referral, twice";
    mn_box_sealer *s = NULL;
    mn_box_opener *op = NULL;
    uint8_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    size_t a_len = 0, b_len = 0, c_len = 0, d_len = 0;

    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s, msg, sizeof msg, &a, &a_len), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s, msg, sizeof msg, &b, &b_len), MN_OK);
    assert_int_equal(a_len, b_len);
    /* One ephemeral key, two nonces, two ciphertexts. */
    assert_memory_equal(a, b, S_EPH);
    assert_memory_not_equal(a + S_EPH, b + S_EPH, S_NONCE);
    assert_memory_not_equal(a + S_EPH + S_NONCE, b + S_EPH + S_NONCE, a_len - S_EPH - S_NONCE);
    /* The ephemeral key is not the recipient's. */
    assert_memory_not_equal(a, s_gw_box(k), S_EPH);
    s_assert_opens(k->gateway, op, a, a_len, msg, sizeof msg);
    s_assert_opens(k->gateway, op, b, b_len, msg, sizeof msg);

    /* mn_box_seal makes a fresh ephemeral key each time, and its boxes open with an opener. */
    assert_int_equal(mn_box_seal(s_gw_box(k), msg, sizeof msg, &c, &c_len), MN_OK);
    assert_int_equal(mn_box_seal(s_gw_box(k), msg, sizeof msg, &d, &d_len), MN_OK);
    assert_int_equal(c_len, a_len);
    assert_memory_not_equal(c, d, S_EPH);
    assert_memory_not_equal(c, a, S_EPH);
    s_assert_opens(k->gateway, op, c, c_len, msg, sizeof msg);
    s_assert_opens(k->gateway, op, d, d_len, msg, sizeof msg);
    free(a);
    free(b);
    free(c);
    free(d);
    mn_box_opener_destroy(&op);
    mn_box_sealer_destroy(&s);
}

/* The opener's cached key follows the ephemeral key: boxes of two sealers alternately, a box
 * for another recipient, a box with a hostile eph_pk, and the cache still right after each. */
static void test_box_opener_cache(void **state)
{
    keys *k = *state;
    static const uint8_t m1[] = "from batch one", m2[] = "from batch two, a bit longer";
    mn_box_sealer *s1 = NULL, *s2 = NULL, *other = NULL;
    mn_box_opener *op = NULL, *op2 = NULL;
    uint8_t *a1 = NULL, *a2 = NULL, *b1 = NULL, *b2 = NULL, *x = NULL;
    size_t a1_len = 0, a2_len = 0, b1_len = 0, b2_len = 0, x_len = 0, len = 0;

    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s1), MN_OK);
    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s2), MN_OK);
    assert_int_equal(mn_box_sealer_new(mn_key_public(k->gateway2)->box, &other), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway2, &op2), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s1, m1, sizeof m1, &a1, &a1_len), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s1, m1, sizeof m1, &a2, &a2_len), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s2, m2, sizeof m2, &b1, &b1_len), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s2, m2, sizeof m2, &b2, &b2_len), MN_OK);
    assert_int_equal(mn_box_sealer_seal(other, m1, sizeof m1, &x, &x_len), MN_OK);
    assert_memory_not_equal(a1, b1, S_EPH);

    for (int round = 0; round < 3; round++) {
        s_assert_opens(k->gateway, op, a1, a1_len, m1, sizeof m1);
        s_assert_opens(k->gateway, op, b1, b1_len, m2, sizeof m2);
        s_assert_opens(k->gateway, op, a2, a2_len, m1, sizeof m1);
        s_assert_opens(k->gateway, op, a1, a1_len, m1, sizeof m1);
        s_assert_opens(k->gateway, op, b2, b2_len, m2, sizeof m2);
        /* For gateway2: does not open with gateway's opener, and leaves it working. */
        assert_null(s_open2(k->gateway, op, x, x_len, 1000, MN_ECRYPTO, &len));
        s_assert_opens(k->gateway, op, b1, b1_len, m2, sizeof m2);
    }
    /* The other recipient's opener opens only its own. */
    s_assert_opens(k->gateway2, op2, x, x_len, m1, sizeof m1);
    assert_null(s_open2(k->gateway2, op2, a1, a1_len, 1000, MN_ECRYPTO, &len));
    s_assert_opens(k->gateway2, op2, x, x_len, m1, sizeof m1);

    /* A box whose eph_pk is a point of small order: no key agreement, refused, cache reset. */
    s_assert_opens(k->gateway, op, a1, a1_len, m1, sizeof m1);
    uint8_t saved[S_EPH];
    memcpy(saved, a1, S_EPH);
    memset(a1, 0, S_EPH);
    assert_null(s_open2(k->gateway, op, a1, a1_len, 1000, MN_ECRYPTO, &len));
    a1[0] = 1;
    assert_null(s_open2(k->gateway, op, a1, a1_len, 1000, MN_ECRYPTO, &len));
    memcpy(a1, saved, S_EPH);
    s_assert_opens(k->gateway, op, a2, a2_len, m1, sizeof m1);
    s_assert_opens(k->gateway, op, a1, a1_len, m1, sizeof m1);

    free(a1);
    free(a2);
    free(b1);
    free(b2);
    free(x);
    mn_box_opener_destroy(&op);
    mn_box_opener_destroy(&op2);
    mn_box_sealer_destroy(&s1);
    mn_box_sealer_destroy(&s2);
    mn_box_sealer_destroy(&other);
}

/* Every byte of a box, in each region, flipped alone: refused, and the restored box opens.
 * Includes the top bit of eph_pk, which X25519 ignores: the MAC does not cover eph_pk, so only
 * the opener's canonical-key check refuses that flip (found by this test). */
static void test_box_tamper_each_region(void **state)
{
    keys *k = *state;
    static const uint8_t msg[] = "a registry record";
    mn_box_sealer *s = NULL;
    mn_box_opener *op = NULL;
    uint8_t *box = NULL;
    size_t box_len = 0, len = 0;

    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);
    assert_int_equal(mn_box_sealer_seal(s, msg, sizeof msg, &box, &box_len), MN_OK);
    assert_int_equal(box_len, 256 + MN_BOX_OVERHEAD);
    for (size_t i = 0; i < box_len; i++) {
        const char *region = i < S_EPH                     ? "eph_pk"
                             : i < S_EPH + S_NONCE         ? "nonce"
                             : i < S_EPH + S_NONCE + S_MAC ? "mac"
                                                           : "body";
        for (unsigned bit = 0x01; bit <= 0x80; bit <<= 7) { /* lowest and highest bit */
            int rc1, rc2;
            uint8_t *p = NULL;
            box[i] ^= (uint8_t)bit;
            rc1 = mn_box_open(k->gateway, box, box_len, 1000, &p, &len);
            assert_null(p);
            rc2 = mn_box_opener_open(op, box, box_len, 1000, &p, &len);
            assert_null(p);
            box[i] ^= (uint8_t)bit;
            if (rc1 != MN_ECRYPTO || rc2 != MN_ECRYPTO)
                fail_msg("flipping bit 0x%02x of byte %zu (%s): %s / %s", bit, i, region,
                         mn_err_name(rc1), mn_err_name(rc2));
        }
    }
    s_assert_opens(k->gateway, op, box, box_len, msg, sizeof msg);
    free(box);
    mn_box_opener_destroy(&op);
    mn_box_sealer_destroy(&s);
}

/* Every shorter length, and longer ones, of boxes of two buckets: refused, never read past. */
static void test_box_truncated(void **state)
{
    keys *k = *state;
    uint8_t data[300];
    mn_box_opener *op = NULL;
    size_t len = 0;
    memset(data, 'r', sizeof data);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);

    const size_t sizes[] = {10, 300}; /* buckets 256 and 512 */
    for (size_t c = 0; c < 2; c++) {
        uint8_t *box = NULL;
        size_t box_len = 0;
        assert_int_equal(mn_box_seal(s_gw_box(k), data, sizes[c], &box, &box_len), MN_OK);
        for (size_t n = 0; n < box_len; n++) {
            /* A copy of exactly n bytes, so a read past n is a heap error under ASan. */
            uint8_t *cut = malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, box, n);
            assert_null(s_open2(k->gateway, op, cut, n, 1000, MN_ECRYPTO, &len));
            free(cut);
        }
        /* Longer: junk appended (to the next bucket's length too). */
        const size_t extra[] = {1, 24, 256, box_len - MN_BOX_OVERHEAD};
        for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
            uint8_t *longer = calloc(1, box_len + extra[e]);
            assert_non_null(longer);
            memcpy(longer, box, box_len);
            assert_null(
                s_open2(k->gateway, op, longer, box_len + extra[e], 1000, MN_ECRYPTO, &len));
            free(longer);
        }
        s_assert_opens(k->gateway, op, box, box_len, data, sizes[c]);
        free(box);
    }
    mn_box_opener_destroy(&op);
}

static void test_box_open_too_big(void **state)
{
    keys *k = *state;
    uint8_t data[1000];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0, len = 0;
    mn_box_opener *op = NULL, *op2 = NULL;
    memset(data, 'x', sizeof data);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway2, &op2), MN_OK);

    /* 300 bytes (bucket 512): found too big after opening. */
    assert_int_equal(mn_box_seal(s_gw_box(k), data, 300, &sealed, &sealed_len), MN_OK);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 299, MN_ETOOBIG, &len));
    s_assert_opens(k->gateway, op, sealed, sealed_len, data, 300);
    free(sealed);

    /* 1000 bytes (bucket 1024) against max 100: refused from the length alone. */
    assert_int_equal(mn_box_seal(s_gw_box(k), data, 1000, &sealed, &sealed_len), MN_OK);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 100, MN_ETOOBIG, &len));
    /* ...even when it would not open at all. */
    assert_null(s_open2(k->gateway2, op2, sealed, sealed_len, 100, MN_ETOOBIG, &len));
    free(sealed);

    /* 10 bytes against max 5: the minimum bucket, found after opening. */
    assert_int_equal(mn_box_seal(s_gw_box(k), data, 10, &sealed, &sealed_len), MN_OK);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 5, MN_ETOOBIG, &len));
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 0, MN_ETOOBIG, &len));
    free(sealed);
    mn_box_opener_destroy(&op);
    mn_box_opener_destroy(&op2);
}

/* Over the sealing limit (16 MiB): refused before plain is read (NULL here) or a key is made. */
static void test_box_seal_too_big(void **state)
{
    keys *k = *state;
    mn_box_sealer *s = NULL;
    uint8_t *sealed = (uint8_t *)(uintptr_t)1;
    size_t sealed_len = 99;
    const size_t too_big[] = {4 * (size_t)MN_REPORT_MAX_BYTES + 1, SIZE_MAX / 2 + 1, SIZE_MAX};

    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s), MN_OK);
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        assert_int_equal(mn_box_seal(s_gw_box(k), NULL, too_big[i], &sealed, &sealed_len),
                         MN_ETOOBIG);
        assert_null(sealed);
        assert_int_equal(sealed_len, 0);
        sealed = (uint8_t *)(uintptr_t)1;
        assert_int_equal(mn_box_sealer_seal(s, NULL, too_big[i], &sealed, &sealed_len), MN_ETOOBIG);
        assert_null(sealed);
        assert_int_equal(sealed_len, 0);
    }
    /* An empty plaintext may be NULL. */
    assert_int_equal(mn_box_sealer_seal(s, NULL, 0, &sealed, &sealed_len), MN_OK);
    assert_int_equal(sealed_len, 256 + MN_BOX_OVERHEAD);
    free(sealed);
    mn_box_sealer_destroy(&s);
}

/* Keys of small order (the all-zero key, u = 1) cannot be sealed to. */
static void test_box_small_order_key(void **state)
{
    (void)state;
    uint8_t bad[2][MN_KEY_BYTES] = {{0}, {1}};
    for (size_t i = 0; i < 2; i++) {
        mn_box_sealer *s = (mn_box_sealer *)(uintptr_t)1;
        uint8_t *sealed = (uint8_t *)(uintptr_t)1;
        size_t sealed_len = 99;
        assert_int_equal(mn_box_sealer_new(bad[i], &s), MN_ECRYPTO);
        assert_null(s);
        assert_int_equal(mn_box_seal(bad[i], (const uint8_t *)"x", 1, &sealed, &sealed_len),
                         MN_ECRYPTO);
        assert_null(sealed);
        assert_int_equal(sealed_len, 0);
    }
}

static void test_box_destroy_twice(void **state)
{
    keys *k = *state;
    mn_box_sealer *s = NULL;
    mn_box_opener *op = NULL;
    assert_int_equal(mn_box_sealer_new(s_gw_box(k), &s), MN_OK);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);
    mn_box_sealer_destroy(&s);
    assert_null(s);
    mn_box_sealer_destroy(&s);
    mn_box_sealer_destroy(NULL);
    mn_box_opener_destroy(&op);
    assert_null(op);
    mn_box_opener_destroy(&op);
    mn_box_opener_destroy(NULL);
}

/* A box of `bucket` bytes as given (no padding applied here), to craft hostile boxes. */
static uint8_t *s_raw_box(const keys *k, const uint8_t *padded, size_t bucket, size_t *out_len)
{
    uint8_t eph_sk[crypto_box_SECRETKEYBYTES];
    uint8_t *box = malloc(bucket + MN_BOX_OVERHEAD);
    assert_non_null(box);
    assert_int_equal(crypto_box_keypair(box, eph_sk), 0);
    randombytes_buf(box + S_EPH, S_NONCE);
    assert_int_equal(crypto_box_easy(box + S_EPH + S_NONCE, padded, bucket, box + S_EPH,
                                     s_gw_box(k), eph_sk),
                     0);
    *out_len = bucket + MN_BOX_OVERHEAD;
    return box;
}

/* The same, as an envelope's crypto_box_seal. */
static uint8_t *s_raw_seal(const keys *k, const uint8_t *padded, size_t bucket, size_t *out_len)
{
    uint8_t *sealed = malloc(bucket + crypto_box_SEALBYTES);
    assert_non_null(sealed);
    assert_int_equal(crypto_box_seal(sealed, padded, bucket, s_gw_box(k)), 0);
    *out_len = bucket + crypto_box_SEALBYTES;
    return sealed;
}

static void test_box_open_malformed(void **state)
{
    keys *k = *state;
    uint8_t buf[1024];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0, len = 0, padded_len = 0;
    uint8_t junk[600];
    mn_box_opener *op = NULL;
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(mn_box_opener_new(k->gateway, &op), MN_OK);

    /* Lengths that cannot be a bucket plus the box overhead (304: an envelope's length). */
    const size_t bad_lens[] = {0,
                               1,
                               MN_BOX_OVERHEAD - 1,
                               MN_BOX_OVERHEAD,
                               MN_BOX_OVERHEAD + 128,
                               MN_BOX_OVERHEAD + 255,
                               MN_BOX_OVERHEAD + 257,
                               300,
                               256 + crypto_box_SEALBYTES,
                               512 + crypto_box_SEALBYTES,
                               399};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++)
        assert_null(s_open2(k->gateway, op, junk, bad_lens[i], 1000, MN_ECRYPTO, &len));
    assert_null(s_open2(k->gateway, op, NULL, 256 + MN_BOX_OVERHEAD, 1000, MN_ECRYPTO, &len));
    /* Right length, junk bytes (eph_pk 0x5a... is a usable point). */
    assert_null(s_open2(k->gateway, op, junk, 256 + MN_BOX_OVERHEAD, 1000, MN_ECRYPTO, &len));

    /* The crafting path itself is sound: canonical padding opens. */
    memset(buf, 'q', 10);
    assert_int_equal(sodium_pad(&padded_len, buf, 10, 256, sizeof buf), 0);
    assert_int_equal(padded_len, 256);
    sealed = s_raw_box(k, buf, 256, &sealed_len);
    s_assert_opens(k->gateway, op, sealed, sealed_len, buf, 10);
    free(sealed);

    /* Authentic box, but 10 bytes in a 512-byte bucket: not the bucket the rule picks. */
    memset(buf, 'q', 10);
    assert_int_equal(sodium_pad(&padded_len, buf, 10, 512, sizeof buf), 0);
    assert_int_equal(padded_len, 512);
    sealed = s_raw_box(k, buf, 512, &sealed_len);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 1000, MN_ECRYPTO, &len));
    free(sealed);

    /* Authentic box without a padding marker (all zero). */
    memset(buf, 0, 256);
    sealed = s_raw_box(k, buf, 256, &sealed_len);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 1000, MN_ECRYPTO, &len));
    free(sealed);

    /* Authentic box with junk after the marker. */
    memset(buf, 0, 256);
    buf[100] = 0x80;
    buf[200] = 0x01;
    sealed = s_raw_box(k, buf, 256, &sealed_len);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 1000, MN_ECRYPTO, &len));
    free(sealed);

    /* The two formats do not open as each other: an envelope's sealed part is not a box. */
    memset(buf, 'q', 10);
    assert_int_equal(sodium_pad(&padded_len, buf, 10, 256, sizeof buf), 0);
    sealed = s_raw_seal(k, buf, 256, &sealed_len);
    assert_null(s_open2(k->gateway, op, sealed, sealed_len, 1000, MN_ECRYPTO, &len));
    free(sealed);
    mn_box_opener_destroy(&op);
}

/* The envelope's own opener keeps the same length and padding checks, for crypto_box_seal. */
static void test_envelope_open_malformed(void **state)
{
    keys *k = *state;
    uint8_t buf[1024];
    size_t padded_len = 0, len = 0;
    uint8_t *plain = NULL;
    uint8_t junk[600];
    mn_envelope env;
    mn_diag d;
    memset(junk, 0x5a, sizeof junk);

    s_seal(k, &env);
    free(env.sealed);
    env.sealed = NULL;
    const size_t bad_lens[] = {0, 1, crypto_box_SEALBYTES, 256 + MN_BOX_OVERHEAD, 399};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        env.sealed = junk;
        env.sealed_len = bad_lens[i];
        assert_int_equal(mn_envelope_open(&env, k->gateway, 1000, &plain, &len, &d), MN_ECRYPTO);
        assert_null(plain);
    }

    /* Canonical padding opens; 10 bytes in a 512 bucket, no marker, junk after it do not. */
    struct {
        size_t bucket;
        int pad;        /* sodium_pad 10 'q' bytes to bucket; else the marker goes at 100 */
        int junk_after; /* a nonzero byte after the marker */
        int rc;
    } cases[] = {
        {256, 1, 0, MN_OK},
        {512, 1, 0, MN_ECRYPTO},
        {256, 0, 0, MN_ECRYPTO},
        {256, 0, 1, MN_ECRYPTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0, sizeof buf);
        if (cases[i].pad) {
            memset(buf, 'q', 10);
            assert_int_equal(sodium_pad(&padded_len, buf, 10, cases[i].bucket, sizeof buf), 0);
        } else if (cases[i].junk_after) {
            buf[100] = 0x80;
            buf[200] = 0x01;
        }
        env.sealed = s_raw_seal(k, buf, cases[i].bucket, &env.sealed_len);
        assert_int_equal(mn_envelope_open(&env, k->gateway, 1000, &plain, &len, &d), cases[i].rc);
        if (cases[i].rc == MN_OK)
            assert_int_equal(len, 10);
        else
            assert_null(plain);
        mn_plain_free(plain, len);
        plain = NULL;
        free(env.sealed);
        env.sealed = NULL;
    }

    /* A box (the other format) is not an envelope's sealed part. */
    memset(buf, 'q', 10);
    assert_int_equal(sodium_pad(&padded_len, buf, 10, 256, sizeof buf), 0);
    env.sealed = s_raw_box(k, buf, 256, &env.sealed_len);
    assert_int_equal(mn_envelope_open(&env, k->gateway, 1000, &plain, &len, &d), MN_ECRYPTO);
    mn_envelope_clear(&env);
}

/* ---------------------------------------------------------------------------------------------
 * Receipts */

static void test_receipt_signing_input_known_answer(void **state)
{
    (void)state;
    static const uint8_t expect[] = {
        /* "meldnet-receipt-v1" */
        'm',
        'e',
        'l',
        'd',
        'n',
        'e',
        't',
        '-',
        'r',
        'e',
        'c',
        'e',
        'i',
        'p',
        't',
        '-',
        'v',
        '1',
        /* u32be len(id) = 16, id = 00..0f */
        0x00,
        0x00,
        0x00,
        0x10,
        0x00,
        0x01,
        0x02,
        0x03,
        0x04,
        0x05,
        0x06,
        0x07,
        0x08,
        0x09,
        0x0a,
        0x0b,
        0x0c,
        0x0d,
        0x0e,
        0x0f,
        /* u32be status = ACCEPTED (1) */
        0x00,
        0x00,
        0x00,
        0x01,
        /* u64be registration = 42 */
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x2a,
        /* u64be accepted_ms = 1700000000000 */
        0x00,
        0x00,
        0x01,
        0x8b,
        0xcf,
        0xe5,
        0x68,
        0x00,
    };
    mn_receipt r;
    uint8_t buf[MN_RECEIPT_INPUT_BYTES + 8];
    size_t len = 0;

    memset(&r, 0, sizeof r);
    for (int i = 0; i < MN_ENVELOPE_ID_BYTES; i++)
        r.id[i] = (uint8_t)i;
    r.status = MN_RECEIPT_ACCEPTED;
    r.registration = 42;
    r.accepted_ms = 1700000000000ull;
    memset(buf, 0xee, sizeof buf);
    mn_receipt_signing_input(&r, buf, sizeof buf, &len);
    assert_int_equal(sizeof expect, 58);
    assert_int_equal(MN_RECEIPT_INPUT_BYTES, 58);
    assert_int_equal(len, sizeof expect);
    assert_memory_equal(buf, expect, sizeof expect);
    assert_int_equal(buf[58], 0xee); /* nothing written past the input */

    r.status = MN_RECEIPT_DUPLICATE;
    mn_receipt_signing_input(&r, buf, sizeof buf, &len);
    assert_int_equal(buf[18 + 4 + 16 + 3], 0x02);
}

static void test_receipt_sign_verify_tamper(void **state)
{
    keys *k = *state;
    const uint8_t *gw_sign = mn_key_public(k->gateway)->sign;
    mn_receipt r;

    memset(&r, 0, sizeof r);
    randombytes_buf(r.id, sizeof r.id);
    r.status = MN_RECEIPT_ACCEPTED;
    r.registration = 123456;
    r.accepted_ms = 1700000000123ull;
    mn_receipt_sign(&r, k->gateway);
    assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_OK);

    uint8_t input[MN_RECEIPT_INPUT_BYTES];
    size_t len = 0;
    mn_receipt_signing_input(&r, input, sizeof input, &len);
    assert_int_equal(crypto_sign_verify_detached(r.signature, input, len, gw_sign), 0);

    for (size_t i = 0; i < MN_ENVELOPE_ID_BYTES; i++) {
        r.id[i] ^= 0x80;
        assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
        r.id[i] ^= 0x80;
    }
    r.status = MN_RECEIPT_DUPLICATE;
    assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
    r.status = 0;
    assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
    r.status = MN_RECEIPT_ACCEPTED;
    for (size_t i = 0; i < 8; i++) {
        r.registration ^= 0xffull << (8 * i);
        assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
        r.registration ^= 0xffull << (8 * i);
        r.accepted_ms ^= 0xffull << (8 * i);
        assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
        r.accepted_ms ^= 0xffull << (8 * i);
    }
    for (size_t i = 0; i < MN_SIG_BYTES; i++) {
        r.signature[i] ^= 0x01;
        assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
        r.signature[i] ^= 0x01;
    }
    assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_OK);
    /* Only the gateway's key verifies it. */
    assert_int_equal(mn_receipt_verify(&r, mn_key_public(k->gateway2)->sign), MN_ECRYPTO);
    assert_int_equal(mn_receipt_verify(&r, s_agent_sign(k)), MN_ECRYPTO);
    /* A receipt signed by someone else does not verify with the gateway's key. */
    mn_receipt_sign(&r, k->agent);
    assert_int_equal(mn_receipt_verify(&r, gw_sign), MN_ECRYPTO);
}

/* ---------------------------------------------------------------------------------------------
 * Registration numbers */

static void test_registration_numbers(void **state)
{
    (void)state;
    char buf[32];
    uint64_t v = 0;

    mn_registration_format(42, buf, sizeof buf);
    assert_string_equal(buf, "MN-00000042");
    mn_registration_format(1, buf, sizeof buf);
    assert_string_equal(buf, "MN-00000001");
    mn_registration_format(123456789, buf, sizeof buf);
    assert_string_equal(buf, "MN-123456789");
    mn_registration_format(UINT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "MN-18446744073709551615");

    const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        {"MN-00000042", 42},
        {"42", 42},
        {"MN-42", 42},
        {"00000042", 42},
        {"1", 1},
        {"MN-123456789", 123456789},
        {"18446744073709551615", UINT64_MAX},
        {"MN-18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = 0;
        assert_int_equal(mn_registration_parse(good[i].text, &v), MN_OK);
        assert_true(v == good[i].value);
    }
    const char *bad[] = {
        "",
        "MN-",
        "0",
        "MN-0",
        "MN-00000000",
        "00",
        "18446744073709551616",
        "MN-18446744073709551616",
        "99999999999999999999999",
        "-1",
        "+1",
        " 42",
        "42 ",
        "42\n",
        "MN-4x",
        "4 2",
        "mn-42",
        "MN--42",
        "MN-MN-42",
        "0x2a",
        "MN 42",
        "MN-+42",
        "4.2",
        "abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 77;
        if (mn_registration_parse(bad[i], &v) != MN_EINVAL)
            fail_msg("accepted bad registration \"%s\"", bad[i]);
        assert_true(v == 77);
    }
    assert_int_equal(mn_registration_parse(NULL, &v), MN_EINVAL);

    /* Round trip. */
    const uint64_t values[] = {1, 42, 99999999, 100000000, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        mn_registration_format(values[i], buf, sizeof buf);
        assert_int_equal(mn_registration_parse(buf, &v), MN_OK);
        assert_true(v == values[i]);
    }
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_roundtrip),
        cmocka_unit_test(test_envelope_tamper_every_byte),
        cmocka_unit_test(test_envelope_wrong_keys),
        cmocka_unit_test(test_envelope_signing_input_known_answer),
        cmocka_unit_test(test_envelope_seal_limits),
        cmocka_unit_test(test_envelope_clear_twice),
        cmocka_unit_test(test_padding_buckets),
        cmocka_unit_test(test_box_sealer_roundtrip),
        cmocka_unit_test(test_box_sealer_shares_eph_key),
        cmocka_unit_test(test_box_opener_cache),
        cmocka_unit_test(test_box_tamper_each_region),
        cmocka_unit_test(test_box_truncated),
        cmocka_unit_test(test_box_open_too_big),
        cmocka_unit_test(test_box_seal_too_big),
        cmocka_unit_test(test_box_small_order_key),
        cmocka_unit_test(test_box_destroy_twice),
        cmocka_unit_test(test_box_open_malformed),
        cmocka_unit_test(test_envelope_open_malformed),
        cmocka_unit_test(test_receipt_signing_input_known_answer),
        cmocka_unit_test(test_receipt_sign_verify_tamper),
        cmocka_unit_test(test_registration_numbers),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
