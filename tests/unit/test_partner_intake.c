/* test_partner_intake.c - unit tests for partner_intake: a delivery made as the gateway makes it
 * (referral encoded, padded and sealed to the partner's box key, signed over the canonical
 * delivery input for the partner's name) is stored once and acknowledged; every way a delivery
 * can be wrong is refused with its reason and nothing is written.
 *
 * Also the worked example of docs/PROTOCOL.md §13.9, byte for byte. Keys are generated per test
 * run; files go to a mkdtemp directory.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_referral.h"
#include "mn_wire.h"
#include "partner_config.h"
#include "partner_intake.h"
#include "partner_sink.h"
#include "partner_state.h"

#define S_ME "police-midden"

typedef struct fixture {
    char dir[64];
    char out[96];
    char state_dir[96];
    mn_key *gateway;
    mn_key *me;
    mn_key *stranger; /* another partner */
    partner_state *state;
    partner_sink *sink;
    partner_intake in;
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_partner_intake.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    snprintf(f->state_dir, sizeof f->state_dir, "%s/state", f->dir);
    partner_sink_config sc = {.mode = PARTNER_SINK_OUT, .out_dir = f->out, .partner = S_ME};
    if (mn_key_generate(MN_ROLE_GATEWAY, "gateway", &f->gateway, NULL) != MN_OK ||
        mn_key_generate(MN_ROLE_PARTNER, S_ME, &f->me, NULL) != MN_OK ||
        mn_key_generate(MN_ROLE_PARTNER, "care-utrecht", &f->stranger, NULL) != MN_OK ||
        partner_state_open(f->state_dir, 1, &f->state, NULL) != MN_OK ||
        partner_sink_new(&sc, f->state, &f->sink, NULL) != MN_OK)
        return -1;
    if (partner_intake_init(&f->in, f->me, mn_key_public(f->gateway)->sign, f->sink) != MN_OK)
        return -1;
    *state = f;
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    partner_intake_clear(&f->in);
    partner_sink_destroy(&f->sink);
    partner_state_destroy(&f->state);
    mn_key_destroy(&f->gateway);
    mn_key_destroy(&f->me);
    mn_key_destroy(&f->stranger);
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* What to build; defaults make a correct delivery. */
typedef struct spec {
    uint64_t registration;     /* in the delivery */
    uint64_t ref_registration; /* in the referral (0: the same) */
    const char *recipient;     /* in the referral (NULL: S_ME) */
    const char *signed_for;    /* the partner name signed (NULL: S_ME) */
    const mn_key *seal_to;     /* (NULL: f->me) */
    mn_box_sealer *sealer;     /* seal with it (NULL: mn_box_seal to seal_to, a fresh key) */
    const mn_key *signer;      /* (NULL: f->gateway) */
    int garbage;               /* seal bytes that are not a Referral */
    const char *region;        /* figures.region (NULL: "midden-nederland") */
} spec;

/* Build a delivery the way the gateway does. Caller: mn_delivery_clear. */
static void s_build(fixture *f, const spec *s, mn_delivery *dl)
{
    Meldnet__Referral r = MELDNET__REFERRAL__INIT;
    Meldnet__ReportFigures fig = MELDNET__REPORT_FIGURES__INIT;
    char *topics[] = {"police.acute", "care.utrecht"};
    char *rules[] = {"acute"};
    uint8_t *plain = NULL;
    size_t plain_len = 0;

    r.version = 1;
    r.registration = s->ref_registration ? s->ref_registration : s->registration;
    r.n_topics = 2;
    r.topics = topics;
    r.recipient = (char *)(s->recipient ? s->recipient : S_ME);
    r.sharing = MELDNET__SHARING_LEVEL__STATISTICS;
    fig.municipality_code = "GM0344";
    fig.region = (char *)(s->region ? s->region : "midden-nederland");
    r.figures = &fig;
    r.n_rules = 1;
    r.rules = rules;
    r.accepted_ms = 1700000000123ull;
    r.has_acute = 1;
    r.acute = 1;
    if (s->garbage) {
        plain = malloc(16);
        assert_non_null(plain);
        memset(plain, 0xff, 16);
        plain_len = 16;
    } else {
        assert_int_equal(mn_referral_encode(&r, &plain, &plain_len), MN_OK);
    }

    memset(dl, 0, sizeof *dl);
    dl->tag = 77;
    dl->registration = s->registration;
    dl->attempt = 1;
    assert_int_equal(partner_topics_parse("police.acute,care.utrecht", &dl->topics, NULL), MN_OK);
    const mn_key *to = s->seal_to ? s->seal_to : f->me;
    if (s->sealer)
        assert_int_equal(mn_box_sealer_seal(s->sealer, plain, plain_len, &dl->sealed,
                                            &dl->sealed_len),
                         MN_OK);
    else
        assert_int_equal(mn_box_seal(mn_key_public(to)->box, plain, plain_len, &dl->sealed,
                                     &dl->sealed_len),
                         MN_OK);
    mn_plain_free(plain, plain_len);
    assert_int_equal(mn_delivery_sign(dl, s->signed_for ? s->signed_for : S_ME,
                                      s->signer ? s->signer : f->gateway),
                     MN_OK);
}

/* The number of files in dir (temp files included); a missing dir has none. */
static size_t s_count_files(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    if (!dp)
        return 0;
    while ((de = readdir(dp)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dp);
    return n;
}

static int s_is_empty(const char *dir)
{
    return s_count_files(dir) == 0;
}

/* Refused with `reason` (a prefix), nothing written, the refusal recorded. */
static void s_assert_refused(fixture *f, const spec *s, const char *reason)
{
    mn_delivery dl;
    partner_intake_result res;
    partner_state_summary sum;
    size_t files = s_count_files(f->out);
    s_build(f, s, &dl);
    partner_intake_handle(&f->in, &dl, &res);
    assert_int_equal(res.outcome, PARTNER_SINK_REFUSED);
    if (strncmp(res.reason, reason, strlen(reason)) != 0)
        fail_msg("reason \"%s\", expected \"%s...\"", res.reason, reason);
    assert_int_equal(s_count_files(f->out), files);
    assert_false(partner_state_has(f->state, s->registration));
    assert_int_equal(partner_state_summarize(f->state, &sum, NULL), MN_OK);
    assert_true(sum.has_refusal);
    assert_int_equal(sum.refusal.registration, s->registration);
    assert_string_equal(sum.refusal.reason, res.reason);
    mn_delivery_clear(&dl);
}

static void test_stored_then_duplicate(void **state)
{
    fixture *f = *state;
    mn_delivery dl;
    partner_intake_result res;
    char path[160];
    spec s = {.registration = 42};

    s_build(f, &s, &dl);
    partner_intake_handle(&f->in, &dl, &res);
    assert_int_equal(res.outcome, PARTNER_SINK_STORED);
    assert_true(res.acute);
    snprintf(path, sizeof path, "%s/MN-00000042.json", f->out);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "\"registration\": \"MN-00000042\""));
    assert_non_null(strstr(buf, "\"recipient\": \"" S_ME "\""));
    assert_non_null(strstr(buf, "\"sharing\": \"statistics\""));
    assert_non_null(strstr(buf, "GM0344"));
    assert_true(n > 0 && buf[n - 1] == '\n');
    assert_true(partner_state_has(f->state, 42));

    /* The same delivery again (attempt 2, another tag): acknowledged, not written again. */
    dl.attempt = 2;
    dl.tag = 78;
    assert_int_equal(unlink(path), 0);
    partner_intake_handle(&f->in, &dl, &res);
    assert_int_equal(res.outcome, PARTNER_SINK_DUPLICATE);
    assert_int_equal(access(path, F_OK), -1);
    mn_delivery_clear(&dl);
}

static void test_bad_signature(void **state)
{
    fixture *f = *state;
    mn_delivery dl;
    partner_intake_result res;
    spec s = {.registration = 50};
    s_build(f, &s, &dl);
    dl.signature[0] ^= 1;
    partner_intake_handle(&f->in, &dl, &res);
    assert_int_equal(res.outcome, PARTNER_SINK_REFUSED);
    assert_string_equal(res.reason, "signature does not verify");
    mn_delivery_clear(&dl);

    /* Signed fields changed after signing: registration, topics, sealed bytes. */
    s_build(f, &s, &dl);
    dl.registration = 51;
    partner_intake_handle(&f->in, &dl, &res);
    assert_string_equal(res.reason, "signature does not verify");
    mn_delivery_clear(&dl);
    s_build(f, &s, &dl);
    dl.topics.n = 1;
    partner_intake_handle(&f->in, &dl, &res);
    assert_string_equal(res.reason, "signature does not verify");
    mn_delivery_clear(&dl);
    s_build(f, &s, &dl);
    dl.sealed[dl.sealed_len - 1] ^= 1;
    partner_intake_handle(&f->in, &dl, &res);
    assert_string_equal(res.reason, "signature does not verify");
    mn_delivery_clear(&dl);
    assert_true(s_is_empty(f->out));
}

static void test_signed_by_another_key(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 52, .signer = f->stranger};
    s_assert_refused(f, &s, "signature does not verify");
}

static void test_signed_for_another_partner(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 53, .signed_for = "care-utrecht"};
    s_assert_refused(f, &s, "signature does not verify");
}

static void test_sealed_to_another_key(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 54, .seal_to = f->stranger};
    s_assert_refused(f, &s, "referral does not open with this partner's key");
}

static void test_not_a_referral(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 55, .garbage = 1};
    s_assert_refused(f, &s, "referral does not decode");
}

static void test_registration_mismatch(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 56, .ref_registration = 57};
    s_assert_refused(f, &s,
                     "referral is for registration MN-00000057, the delivery says "
                     "MN-00000056");
}

static void test_recipient_mismatch(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 58, .recipient = "care-utrecht"};
    s_assert_refused(f, &s, "referral is for another recipient");
}

/* Found by fuzz_referral: decode accepts any bytes as text, to_json refuses what is not UTF-8,
 * and the nack said "no memory". */
static void test_not_utf8(void **state)
{
    fixture *f = *state;
    spec s = {.registration = 59,
              .region = "midden-nederla\xce"
                        "d"};
    s_assert_refused(f, &s, "referral holds text that is not UTF-8");
}

/* Stored, with its marker. */
static void s_assert_stored(fixture *f, const spec *s)
{
    mn_delivery dl;
    partner_intake_result res;
    s_build(f, s, &dl);
    partner_intake_handle(&f->in, &dl, &res);
    if (res.outcome != PARTNER_SINK_STORED)
        fail_msg("registration %llu: outcome %d, reason \"%s\"",
                 (unsigned long long)s->registration, (int)res.outcome, res.reason);
    assert_true(partner_state_has(f->state, s->registration));
    mn_delivery_clear(&dl);
}

/* The gateway seals a batch with one ephemeral key per partner: the intake's opener does the
 * key agreement once per key, and deliveries of two batches (and one-shot boxes) interleaved,
 * or a delivery sealed to another partner in between, do not confuse it. */
static void test_batches_interleaved(void **state)
{
    fixture *f = *state;
    mn_box_sealer *b1 = NULL, *b2 = NULL, *theirs = NULL;
    assert_non_null(f->in.opener);
    assert_int_equal(mn_box_sealer_new(mn_key_public(f->me)->box, &b1), MN_OK);
    assert_int_equal(mn_box_sealer_new(mn_key_public(f->me)->box, &b2), MN_OK);
    assert_int_equal(mn_box_sealer_new(mn_key_public(f->stranger)->box, &theirs), MN_OK);

    s_assert_stored(f, &(spec){.registration = 60, .sealer = b1});
    s_assert_stored(f, &(spec){.registration = 61, .sealer = b1});
    s_assert_stored(f, &(spec){.registration = 62, .sealer = b2});
    s_assert_stored(f, &(spec){.registration = 63, .sealer = b1});
    s_assert_stored(f, &(spec){.registration = 64}); /* mn_box_seal: a key of its own */
    s_assert_refused(f, &(spec){.registration = 65, .sealer = theirs},
                     "referral does not open with this partner's key");
    s_assert_stored(f, &(spec){.registration = 66, .sealer = b2});
    s_assert_refused(f, &(spec){.registration = 67, .sealer = b1, .recipient = "care-utrecht"},
                     "referral is for another recipient");
    s_assert_stored(f, &(spec){.registration = 68, .sealer = b1});
    mn_box_sealer_destroy(&b1);
    mn_box_sealer_destroy(&b2);
    mn_box_sealer_destroy(&theirs);
}

/* An intake filled in by hand (no opener) opens each delivery on its own. */
static void test_without_opener(void **state)
{
    fixture *f = *state;
    partner_intake_clear(&f->in);
    f->in = (partner_intake){.identity = f->me,
                             .gateway_sign = mn_key_public(f->gateway)->sign,
                             .sink = f->sink};
    s_assert_stored(f, &(spec){.registration = 70});
    s_assert_refused(f, &(spec){.registration = 71, .seal_to = f->stranger},
                     "referral does not open with this partner's key");
}

static void test_clear_twice(void **state)
{
    fixture *f = *state;
    partner_intake_clear(&f->in);
    assert_null(f->in.opener);
    assert_null(f->in.identity);
    partner_intake_clear(&f->in);
    partner_intake_clear(NULL);
}

/* --- docs/PROTOCOL.md §13.9 ------------------------------------------------------------------ */

static const char *const GATEWAY_SECRET =
    "meldnet1-secret gateway gateway curve=gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8 "
    "sign=oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8 "
    "box=wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t8\n";
static const char *const DELIVERY_INPUT =
    "6d656c646e65742d64656c69766572792d76310000000d706f6c6963652d6d69"
    "6464656e000000000000002a000000020000000c706f6c6963652e6163757465"
    "0000000c636172652e7574726563687400000008deadbeef01020304";
static const char *const DELIVERY_SIGNATURE =
    "7f8eee01f78cff71ebf065f6cba33b9b8fc5d70b9162ac72e49296b0010cf8b0"
    "9dba41e0ca89188952814178257e6d7dfd844aac63646b9185b980b54ae37109";
static const char *const TO_PARTNER_FRAME =
    "08011a6e0807120c706f6c6963652e6163757465120c636172652e7574726563"
    "6874182a20012a08deadbeef0102030432407f8eee01f78cff71ebf065f6cba3"
    "3b9b8fc5d70b9162ac72e49296b0010cf8b09dba41e0ca89188952814178257e"
    "6d7dfd844aac63646b9185b980b54ae37109";
static const char *const SUBSCRIBE_FRAME = "080112100a0c706f6c6963652e61637574651010";
static const char *const ACK_FRAME = "080122020807";

static void s_assert_hex(const uint8_t *bin, size_t n, const char *want)
{
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", bin[i]);
    hex[2 * n] = '\0';
    assert_string_equal(hex, want);
    free(hex);
}

/* The worked example of the delivery protocol is what the code makes, and the document holds
 * every block of it, so the two cannot drift apart. */
static void test_protocol_doc_vector(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "/tmp/test_partner_intake.key.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, GATEWAY_SECRET, strlen(GATEWAY_SECRET)),
                     (ssize_t)strlen(GATEWAY_SECRET));
    close(fd);
    mn_key *gw = NULL;
    assert_int_equal(mn_key_load(path, &gw, NULL), MN_OK);
    unlink(path);

    static const uint8_t sealed[8] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
    mn_delivery dl;
    memset(&dl, 0, sizeof dl);
    dl.tag = 7;
    dl.registration = 42;
    dl.attempt = 1;
    assert_int_equal(partner_topics_parse("police.acute,care.utrecht", &dl.topics, NULL), MN_OK);
    dl.sealed = malloc(sizeof sealed);
    assert_non_null(dl.sealed);
    memcpy(dl.sealed, sealed, sizeof sealed);
    dl.sealed_len = sizeof sealed;
    uint8_t *input = NULL, *frame = NULL;
    size_t len = 0;
    assert_int_equal(mn_delivery_signing_input(&dl, S_ME, &input, &len), MN_OK);
    s_assert_hex(input, len, DELIVERY_INPUT);
    free(input);
    assert_int_equal(mn_delivery_sign(&dl, S_ME, gw), MN_OK);
    s_assert_hex(dl.signature, sizeof dl.signature, DELIVERY_SIGNATURE);
    assert_int_equal(mn_delivery_verify(&dl, S_ME, mn_key_public(gw)->sign), MN_OK);
    assert_int_equal(mn_delivery_verify(&dl, "care-utrecht", mn_key_public(gw)->sign), MN_ECRYPTO);

    mn_to_partner m;
    memset(&m, 0, sizeof m);
    m.kind = MN_TO_PARTNER_DELIVERY;
    m.delivery = dl;
    assert_int_equal(mn_wire_encode_to_partner(&m, &frame, &len), MN_OK);
    s_assert_hex(frame, len, TO_PARTNER_FRAME);
    free(frame);
    mn_from_partner fp;
    memset(&fp, 0, sizeof fp);
    fp.kind = MN_FROM_PARTNER_SUBSCRIBE;
    fp.credit = 16;
    assert_int_equal(partner_topics_parse("police.acute", &fp.topics, NULL), MN_OK);
    assert_int_equal(mn_wire_encode_from_partner(&fp, &frame, &len), MN_OK);
    s_assert_hex(frame, len, SUBSCRIBE_FRAME);
    free(frame);
    memset(&fp, 0, sizeof fp);
    fp.kind = MN_FROM_PARTNER_ACK;
    fp.tag = 7;
    assert_int_equal(mn_wire_encode_from_partner(&fp, &frame, &len), MN_OK);
    s_assert_hex(frame, len, ACK_FRAME);
    free(frame);
    mn_delivery_clear(&dl);
    mn_key_destroy(&gw);

    /* The document, with every line break and space removed, holds each block. */
    const char *src = getenv("MN_SRCDIR");
    snprintf(path, sizeof path, "%s/docs/PROTOCOL.md", src ? src : ".");
    FILE *fp_doc = fopen(path, "r");
    assert_non_null(fp_doc);
    size_t cap = 1 << 20, n = 0;
    char *doc = malloc(cap);
    assert_non_null(doc);
    int c;
    while ((c = fgetc(fp_doc)) != EOF && n + 1 < cap)
        if (c != '\n' && c != ' ')
            doc[n++] = (char)c;
    doc[n] = '\0';
    fclose(fp_doc);
    const char *const blocks[] = {DELIVERY_INPUT, DELIVERY_SIGNATURE, TO_PARTNER_FRAME,
                                  SUBSCRIBE_FRAME, ACK_FRAME};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (!strstr(doc, blocks[i]))
            fail_msg("docs/PROTOCOL.md lacks the vector %s", blocks[i]);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stored_then_duplicate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signed_by_another_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signed_for_another_partner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sealed_to_another_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_referral, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_registration_mismatch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recipient_mismatch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_utf8, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batches_interleaved, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_without_opener, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clear_twice, s_setup, s_teardown),
        cmocka_unit_test(test_protocol_doc_vector),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
