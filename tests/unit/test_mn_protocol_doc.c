/* test_mn_protocol_doc.c - the worked example of docs/PROTOCOL.md section 12 is what the code
 * produces: keys, public lines, signing inputs, signatures and frames, byte for byte; and each
 * hex block below appears in the document, so the two cannot drift apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_wire.h"

static const char *const AGENT_SECRET =
    "meldnet1-secret agent hotline-utrecht curve=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 "
    "sign=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8 "
    "box=QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8\n";
static const char *const GATEWAY_SECRET =
    "meldnet1-secret gateway gateway curve=gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8 "
    "sign=oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8 "
    "box=wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t8\n";
static const char *const AGENT_PUBLIC =
    "meldnet1 agent hotline-utrecht curve=j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8 "
    "sign=Kay64UG8yvCyLhqU000LxzYeUm0L_hLIl5S8kyKWbdc "
    "box=eaYx7t4b-cmPEgMs3q3Q56B5OY_HhriMyEbsia-FpRo";
static const char *const GATEWAY_PUBLIC =
    "meldnet1 gateway gateway curve=ST6C_HRGSlkmiBdiPSBTxeuOLMSpiLT-4XnsawENUx0 "
    "sign=T9CZzNR9eJPf6ewkQU7LDZtUICMqrTDZHEZb4zy-ZcQ "
    "box=3CzKMejkO72R3_fkdcyjNH60eBB9W9dlq6SuSjDDXUQ";

static const char *const ENVELOPE_INPUT =
    "6d656c646e65742d656e76656c6f70652d763100000001000000100011223344"
    "5566778899aabbccddeeff0000000f686f746c696e652d757472656368740000"
    "0000000000070000018bcfe5680000000008deadbeef01020304";
static const char *const ENVELOPE_SIGNATURE =
    "2c8a03c8faf82d27eece324ce600a3ea0c542a038e0d8942c6c56e456805d0e2"
    "613067e9ed3f02a5a460a232cef7915886f6c7ef539abfb4e322e05ce6318c01";
static const char *const TO_GATEWAY_FRAME =
    "0801127a0801121000112233445566778899aabbccddeeff1a0f686f746c696e"
    "652d7574726563687420072880d095ffbc313208deadbeef010203043a402c8a"
    "03c8faf82d27eece324ce600a3ea0c542a038e0d8942c6c56e456805d0e26130"
    "67e9ed3f02a5a460a232cef7915886f6c7ef539abfb4e322e05ce6318c01";
static const char *const RECEIPT_INPUT =
    "6d656c646e65742d726563656970742d76310000001000112233445566778899"
    "aabbccddeeff00000001000000000000002a0000018bcfe5687b";
static const char *const RECEIPT_SIGNATURE =
    "58980b03a9382ac12a84f4ebabab167af7b09cee911d77612ce224cb2a0ff154"
    "ac9f59b5bb4570172fccf69aa851f3819024ec156edc89d9275d76bf28771804";
static const char *const FROM_GATEWAY_RECEIPT =
    "0801125f0a1000112233445566778899aabbccddeeff1001182a20fbd095ffbc"
    "312a4058980b03a9382ac12a84f4ebabab167af7b09cee911d77612ce224cb2a"
    "0ff154ac9f59b5bb4570172fccf69aa851f3819024ec156edc89d9275d76bf28"
    "771804";
static const char *const FROM_GATEWAY_REJECT =
    "08011a1b0a1000112233445566778899aabbccddeeff10051a036261642000";

static const uint8_t ID[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t SEALED[8] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};

static char *s_hex(const uint8_t *bin, size_t n)
{
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    sodium_bin2hex(hex, 2 * n + 1, bin, n);
    return hex;
}

static void s_assert_hex(const uint8_t *bin, size_t n, const char *want)
{
    char *hex = s_hex(bin, n);
    assert_string_equal(hex, want);
    free(hex);
}

static mn_key *s_load_secret(const char *text)
{
    char path[] = "/tmp/mn-protodoc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    mn_key *key = NULL;
    assert_int_equal(mn_key_load(path, &key, NULL), MN_OK);
    unlink(path);
    return key;
}

static void s_envelope(mn_envelope *env)
{
    memset(env, 0, sizeof *env);
    env->version = 1;
    memcpy(env->id, ID, sizeof ID);
    snprintf(env->agent, sizeof env->agent, "hotline-utrecht");
    env->seq = 7;
    env->created_ms = 1700000000000ull;
    env->sealed = malloc(sizeof SEALED);
    assert_non_null(env->sealed);
    memcpy(env->sealed, SEALED, sizeof SEALED);
    env->sealed_len = sizeof SEALED;
}

static void test_public_lines(void **state)
{
    (void)state;
    mn_key *agent = s_load_secret(AGENT_SECRET);
    mn_key *gateway = s_load_secret(GATEWAY_SECRET);
    char line[MN_PUBLIC_LINE_MAX];
    mn_pubkey_format(mn_key_public(agent), line, sizeof line);
    assert_string_equal(line, AGENT_PUBLIC);
    mn_pubkey_format(mn_key_public(gateway), line, sizeof line);
    assert_string_equal(line, GATEWAY_PUBLIC);
    mn_key_destroy(&agent);
    mn_key_destroy(&gateway);
}

static void test_envelope_vector(void **state)
{
    (void)state;
    mn_key *agent = s_load_secret(AGENT_SECRET);
    mn_envelope env;
    s_envelope(&env);
    uint8_t *input = NULL, *frame = NULL;
    size_t input_len = 0, frame_len = 0;
    assert_int_equal(mn_envelope_signing_input(&env, &input, &input_len), MN_OK);
    s_assert_hex(input, input_len, ENVELOPE_INPUT);
    /* Ed25519 is deterministic: the same key and input give the documented signature. */
    crypto_sign_detached(env.signature, NULL, input, input_len, mn_key_sign_secret(agent));
    s_assert_hex(env.signature, sizeof env.signature, ENVELOPE_SIGNATURE);
    assert_int_equal(mn_envelope_verify(&env, mn_key_public(agent)->sign), MN_OK);
    assert_int_equal(mn_wire_encode_envelope(&env, &frame, &frame_len), MN_OK);
    s_assert_hex(frame, frame_len, TO_GATEWAY_FRAME);
    free(input);
    free(frame);
    mn_envelope_clear(&env);
    mn_key_destroy(&agent);
}

static void test_receipt_and_reject_vectors(void **state)
{
    (void)state;
    mn_key *gateway = s_load_secret(GATEWAY_SECRET);
    mn_receipt r = {.status = MN_RECEIPT_ACCEPTED,
                    .registration = 42,
                    .accepted_ms = 1700000000123ull};
    memcpy(r.id, ID, sizeof ID);
    uint8_t input[MN_RECEIPT_INPUT_BYTES];
    size_t input_len = 0;
    mn_receipt_signing_input(&r, input, sizeof input, &input_len);
    s_assert_hex(input, input_len, RECEIPT_INPUT);
    mn_receipt_sign(&r, gateway);
    s_assert_hex(r.signature, sizeof r.signature, RECEIPT_SIGNATURE);
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    assert_int_equal(mn_wire_encode_receipt(&r, &frame, &frame_len), MN_OK);
    s_assert_hex(frame, frame_len, FROM_GATEWAY_RECEIPT);
    free(frame);

    mn_reject rj = {.has_id = 1, .reason = MN_REJECT_BAD_SIGNATURE, .retryable = 0};
    memcpy(rj.id, ID, sizeof ID);
    snprintf(rj.detail, sizeof rj.detail, "bad");
    assert_int_equal(mn_wire_encode_reject(&rj, &frame, &frame_len), MN_OK);
    s_assert_hex(frame, frame_len, FROM_GATEWAY_REJECT);
    free(frame);
    mn_key_destroy(&gateway);
}

/* The document, with every line break and space removed, contains each vector. */
static void test_document_holds_the_vectors(void **state)
{
    (void)state;
    const char *src = getenv("MN_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/PROTOCOL.md", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 20, n = 0;
    char *doc = malloc(cap);
    assert_non_null(doc);
    int c;
    while ((c = fgetc(f)) != EOF && n + 1 < cap)
        if (c != '\n' && c != ' ')
            doc[n++] = (char)c;
    doc[n] = '\0';
    fclose(f);
    const char *const blocks[] = {ENVELOPE_INPUT,     ENVELOPE_SIGNATURE, TO_GATEWAY_FRAME,
                                  RECEIPT_INPUT,      RECEIPT_SIGNATURE,  FROM_GATEWAY_RECEIPT,
                                  FROM_GATEWAY_REJECT};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        if (!strstr(doc, blocks[i]))
            fail_msg("docs/PROTOCOL.md lacks the vector %s", blocks[i]);
    }
    char line[MN_PUBLIC_LINE_MAX];
    snprintf(line, sizeof line, "%s", AGENT_PUBLIC);
    for (char *p = line; *p; p++)
        if (*p == ' ')
            memmove(p, p + 1, strlen(p));
    assert_non_null(strstr(doc, line));
    free(doc);
}

/* The reject table of section 7 says, for every reason the code has, its name and whether it
 * is retryable, as the gateway sends it. NOT_PERMITTED is retryable: a revoked agent's reports
 * wait for it to be admitted again instead of being lost. */
static void test_reject_table_matches_the_code(void **state)
{
    (void)state;
    const char *src = getenv("MN_SRCDIR");
    char path[4096], row[512], want[128];
    snprintf(path, sizeof path, "%s/docs/PROTOCOL.md", src ? src : ".");
    assert_true(mn_reject_reason_is_retryable(MN_REJECT_NOT_PERMITTED));
    for (int reason = 1; reason <= MN_REJECT_REASON_MAX; reason++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        /* "| 13   | `NOT_PERMITTED`       | yes |" with the table's padding squeezed out */
        snprintf(want, sizeof want, "|%d|`%s`|%s|", reason, mn_reject_reason_name(reason),
                 mn_reject_reason_is_retryable(reason) ? "yes" : "no");
        int found = 0;
        while (!found && fgets(row, sizeof row, f)) {
            size_t n = 0;
            for (const char *p = row; *p; p++)
                if (*p != ' ' && *p != '\n')
                    row[n++] = *p;
            row[n] = '\0';
            found = strncmp(row, want, strlen(want)) == 0;
        }
        fclose(f);
        if (!found)
            fail_msg("docs/PROTOCOL.md section 7 lacks the row %s", want);
    }
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_lines),
        cmocka_unit_test(test_envelope_vector),
        cmocka_unit_test(test_receipt_and_reject_vectors),
        cmocka_unit_test(test_document_holds_the_vectors),
        cmocka_unit_test(test_reject_table_matches_the_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
