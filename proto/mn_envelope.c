/* mn_envelope.c - envelope seal+sign / verify+open, receipt sign/verify, padded sealed boxes;
 * registration numbers, clocks and times as text.
 *
 * Padding: a plaintext of len bytes is padded with sodium_pad to its bucket, the smallest power
 * of two >= max(len + 1, MN_PAD_MIN_BUCKET), and the bucket is sealed whole. So a sealed box is
 * always bucket + crypto_box_SEALBYTES bytes, and the opener learns the block size from the
 * sealed length alone. The opener checks, before allocating or decrypting, that the length is
 * such a bucket and that the smallest plaintext that bucket can hold fits max_len; after opening
 * it checks that the padding is canonical (the bucket is exactly the one the sealer must pick).
 *
 * Signatures cover an explicit canonical byte string (see mn_envelope.h), never protobuf bytes.
 * Every length in it is fixed-width big-endian, so no two different envelopes share an input.
 *
 * Plaintext buffers are wiped before they are freed (mn_plain_free).
 */
#include "mn_envelope.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "mn_bytes.h"

static const char s_envelope_tag[] = "meldnet-envelope-v1"; /* 19 bytes without the NUL */
static const char s_receipt_tag[] = "meldnet-receipt-v1";   /* 18 bytes without the NUL */
#define S_ENVELOPE_TAG_BYTES (sizeof s_envelope_tag - 1)
#define S_RECEIPT_TAG_BYTES (sizeof s_receipt_tag - 1)
#define S_LAST_SECOND_9999 253402300799ull /* 9999-12-31T23:59:59Z */

/* Largest plaintext mn_box_seal takes: registry records wrap a whole report (which may be
 * MN_REPORT_MAX_BYTES) with some metadata, so allow headroom above a report. */
#define S_BOX_MAX_BYTES (4 * (size_t)MN_REPORT_MAX_BYTES)

/* ---------------------------------------------------------------------------------------------
 * Padded sealed boxes */

/* Smallest power of two >= max(len + 1, MN_PAD_MIN_BUCKET); 0 when it does not fit a size_t. */
static size_t s_bucket(size_t len)
{
    size_t b = MN_PAD_MIN_BUCKET;
    if (len > SIZE_MAX / 2)
        return 0;
    while (b <= len) /* b < len + 1 */
        b *= 2;
    return b;
}

static int s_is_bucket(size_t n)
{
    return n >= MN_PAD_MIN_BUCKET && (n & (n - 1)) == 0;
}

static int s_pad_seal(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t *plain, size_t len,
                      size_t max_len, uint8_t **out, size_t *out_len)
{
    int rc = MN_OK;
    uint8_t *padded = NULL;
    uint8_t *sealed = NULL;
    size_t bucket = 0;
    size_t padded_len = 0;

    *out = NULL;
    *out_len = 0;
    if (len > max_len) {
        rc = MN_ETOOBIG;
        goto out;
    }
    bucket = s_bucket(len);
    if (bucket == 0 || bucket > SIZE_MAX - crypto_box_SEALBYTES) {
        rc = MN_ETOOBIG;
        goto out;
    }
    padded = malloc(bucket);
    sealed = malloc(bucket + crypto_box_SEALBYTES);
    if (!padded || !sealed) {
        rc = MN_ENOMEM;
        goto out;
    }
    if (len > 0)
        memcpy(padded, plain, len);
    if (sodium_pad(&padded_len, padded, len, bucket, bucket) != 0 || padded_len != bucket) {
        rc = MN_ECRYPTO;
        goto out;
    }
    if (crypto_box_seal(sealed, padded, bucket, box_pub) != 0) {
        rc = MN_ECRYPTO; /* e.g. a public key of small order */
        goto out;
    }
    *out = sealed;
    *out_len = bucket + crypto_box_SEALBYTES;
    sealed = NULL;
out:
    mn_plain_free(padded, bucket);
    free(sealed);
    return rc;
}

/* Open a padded sealed box. Never trusts sealed_len: it must be a bucket plus the seal overhead,
 * and the bucket's smallest plaintext must fit max_len, before anything is allocated. */
static int s_open_unpad(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t box_sec[MN_KEY_BYTES],
                        const uint8_t *sealed, size_t sealed_len, size_t max_len, uint8_t **plain,
                        size_t *len)
{
    int rc = MN_OK;
    uint8_t *buf = NULL;
    size_t bucket = 0;
    size_t unpadded = 0;

    *plain = NULL;
    *len = 0;
    if (!sealed || sealed_len < crypto_box_SEALBYTES) {
        rc = MN_ECRYPTO;
        goto out;
    }
    bucket = sealed_len - crypto_box_SEALBYTES;
    if (!s_is_bucket(bucket)) {
        rc = MN_ECRYPTO;
        goto out;
    }
    /* A bucket above the minimum holds at least bucket/2 bytes (else it would be smaller). */
    if (bucket > MN_PAD_MIN_BUCKET && bucket / 2 > max_len) {
        rc = MN_ETOOBIG;
        goto out;
    }
    buf = malloc(bucket);
    if (!buf) {
        rc = MN_ENOMEM;
        goto out;
    }
    if (crypto_box_seal_open(buf, sealed, sealed_len, box_pub, box_sec) != 0 ||
        sodium_unpad(&unpadded, buf, bucket, bucket) != 0 || s_bucket(unpadded) != bucket) {
        rc = MN_ECRYPTO;
        goto out;
    }
    if (unpadded > max_len) {
        rc = MN_ETOOBIG;
        goto out;
    }
    *plain = buf;
    *len = unpadded;
    buf = NULL;
out:
    mn_plain_free(buf, bucket);
    return rc;
}

int mn_box_seal(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t *plain, size_t len,
                uint8_t **out, size_t *out_len)
{
    return s_pad_seal(box_pub, plain, len, S_BOX_MAX_BYTES, out, out_len);
}

int mn_box_open(const mn_key *key, const uint8_t *sealed, size_t sealed_len, size_t max_len,
                uint8_t **plain, size_t *len)
{
    return s_open_unpad(mn_key_public(key)->box, mn_key_box_secret(key), sealed, sealed_len,
                        max_len, plain, len);
}

void mn_plain_free(uint8_t *plain, size_t len)
{
    if (!plain)
        return;
    sodium_memzero(plain, len);
    free(plain);
}

/* ---------------------------------------------------------------------------------------------
 * Envelopes */

void mn_envelope_clear(mn_envelope *env)
{
    if (!env)
        return;
    free(env->sealed);
    memset(env, 0, sizeof *env);
}

int mn_envelope_signing_input(const mn_envelope *env, uint8_t **out, size_t *len)
{
    size_t agent_len = strnlen(env->agent, sizeof env->agent);
    size_t fixed = S_ENVELOPE_TAG_BYTES + 4 + 4 + MN_ENVELOPE_ID_BYTES + 4 + agent_len + 8 + 8 + 4;
    uint8_t *buf = NULL;
    uint8_t *p = NULL;

    *out = NULL;
    *len = 0;
    if (!env->sealed && env->sealed_len > 0)
        return MN_EINVAL;
    if (env->sealed_len > UINT32_MAX || env->sealed_len > SIZE_MAX - fixed)
        return MN_ETOOBIG; /* cannot be written as a u32be length */
    buf = malloc(fixed + env->sealed_len);
    if (!buf)
        return MN_ENOMEM;
    p = buf;
    p = mn_bytes_put(p, s_envelope_tag, S_ENVELOPE_TAG_BYTES);
    p = mn_bytes_put_u32be(p, env->version);
    p = mn_bytes_put_u32be(p, MN_ENVELOPE_ID_BYTES);
    p = mn_bytes_put(p, env->id, MN_ENVELOPE_ID_BYTES);
    p = mn_bytes_put_u32be(p, (uint32_t)agent_len);
    p = mn_bytes_put(p, env->agent, agent_len);
    p = mn_bytes_put_u64be(p, env->seq);
    p = mn_bytes_put_u64be(p, env->created_ms);
    p = mn_bytes_put_u32be(p, (uint32_t)env->sealed_len);
    p = mn_bytes_put(p, env->sealed, env->sealed_len);
    assert((size_t)(p - buf) == fixed + env->sealed_len);
    *out = buf;
    *len = fixed + env->sealed_len;
    return MN_OK;
}

int mn_envelope_seal(const mn_key *agent, const uint8_t gateway_box_pub[MN_KEY_BYTES],
                     const uint8_t *report, size_t len, uint64_t seq, uint64_t created_ms,
                     mn_envelope *out, mn_diag *d)
{
    int rc = MN_OK;
    uint8_t *input = NULL;
    size_t input_len = 0;
    const mn_pubkey *pub = mn_key_public(agent);

    memset(out, 0, sizeof *out);
    if (len > MN_REPORT_MAX_BYTES) {
        rc = mn_diag_set(d, MN_ETOOBIG, "", "report is %zu bytes, the limit is %u", len,
                         (unsigned)MN_REPORT_MAX_BYTES);
        goto out;
    }
    out->version = MN_PROTOCOL_VERSION;
    randombytes_buf(out->id, sizeof out->id);
    snprintf(out->agent, sizeof out->agent, "%s", pub->name);
    out->seq = seq;
    out->created_ms = created_ms;
    rc = s_pad_seal(gateway_box_pub, report, len, MN_REPORT_MAX_BYTES, &out->sealed,
                    &out->sealed_len);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, "", "cannot seal the report to the gateway's envelope key");
        goto out;
    }
    rc = mn_envelope_signing_input(out, &input, &input_len);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, "", "cannot build the envelope signing input");
        goto out;
    }
    if (crypto_sign_detached(out->signature, NULL, input, input_len,
                             mn_key_sign_secret(agent)) != 0) {
        rc = mn_diag_set(d, MN_ECRYPTO, "", "cannot sign the envelope");
        goto out;
    }
out:
    free(input);
    if (rc != MN_OK)
        mn_envelope_clear(out);
    return rc;
}

int mn_envelope_verify(const mn_envelope *env, const uint8_t agent_sign_pub[MN_KEY_BYTES])
{
    uint8_t *input = NULL;
    size_t input_len = 0;
    int rc = mn_envelope_signing_input(env, &input, &input_len);
    if (rc != MN_OK)
        return rc == MN_ENOMEM ? MN_ENOMEM : MN_ECRYPTO;
    if (crypto_sign_verify_detached(env->signature, input, input_len, agent_sign_pub) != 0)
        rc = MN_ECRYPTO;
    free(input);
    return rc;
}

int mn_envelope_open(const mn_envelope *env, const mn_key *gateway, size_t max_len,
                     uint8_t **report, size_t *len, mn_diag *d)
{
    char where[MN_NAME_MAX + 32];
    int rc = s_open_unpad(mn_key_public(gateway)->box, mn_key_box_secret(gateway), env->sealed,
                          env->sealed_len, max_len, report, len);

    snprintf(where, sizeof where, "envelope from %.*s", MN_NAME_MAX, env->agent);
    if (rc == MN_ECRYPTO)
        mn_diag_set(d, rc, where,
                    "sealed report does not open with this gateway's envelope key, or its "
                    "padding is wrong");
    else if (rc == MN_ETOOBIG)
        mn_diag_set(d, rc, where, "sealed report is over the limit of %zu bytes", max_len);
    else if (rc != MN_OK)
        mn_diag_set(d, rc, where, "cannot open the sealed report");
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Receipts */

void mn_receipt_signing_input(const mn_receipt *r, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t *p = buf;

    assert(cap >= MN_RECEIPT_INPUT_BYTES);
    *len = 0;
    if (cap < MN_RECEIPT_INPUT_BYTES)
        return;
    p = mn_bytes_put(p, s_receipt_tag, S_RECEIPT_TAG_BYTES);
    p = mn_bytes_put_u32be(p, MN_ENVELOPE_ID_BYTES);
    p = mn_bytes_put(p, r->id, MN_ENVELOPE_ID_BYTES);
    p = mn_bytes_put_u32be(p, (uint32_t)r->status);
    p = mn_bytes_put_u64be(p, r->registration);
    p = mn_bytes_put_u64be(p, r->accepted_ms);
    *len = (size_t)(p - buf);
    assert(*len == MN_RECEIPT_INPUT_BYTES);
}

void mn_receipt_sign(mn_receipt *r, const mn_key *gateway)
{
    uint8_t buf[MN_RECEIPT_INPUT_BYTES];
    size_t len = 0;
    mn_receipt_signing_input(r, buf, sizeof buf, &len);
    /* crypto_sign_detached cannot fail for a valid secret key. */
    (void)crypto_sign_detached(r->signature, NULL, buf, len, mn_key_sign_secret(gateway));
}

int mn_receipt_verify(const mn_receipt *r, const uint8_t gateway_sign_pub[MN_KEY_BYTES])
{
    uint8_t buf[MN_RECEIPT_INPUT_BYTES];
    size_t len = 0;
    mn_receipt_signing_input(r, buf, sizeof buf, &len);
    if (crypto_sign_verify_detached(r->signature, buf, len, gateway_sign_pub) != 0)
        return MN_ECRYPTO;
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Registration numbers and clocks */

void mn_registration_format(uint64_t reg, char *buf, size_t cap)
{
    snprintf(buf, cap, "MN-%08llu", (unsigned long long)reg);
}

int mn_registration_parse(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = text;

    if (!p)
        return MN_EINVAL;
    if (strncmp(p, "MN-", 3) == 0)
        p += 3;
    if (*p == '\0')
        return MN_EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return MN_EINVAL;
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return MN_EINVAL;
        v = v * 10 + digit;
    }
    if (v == 0)
        return MN_EINVAL;
    *out = v;
    return MN_OK;
}

static uint64_t s_clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mn_now_ms(void)
{
    return s_clock_ms(CLOCK_REALTIME);
}

uint64_t mn_mono_ms(void)
{
    return s_clock_ms(CLOCK_MONOTONIC);
}

/* The ISO text of ms in UTC, with the time of day when `with_time`; NULL (buf "") past
 * 9999-12-31T23:59:59Z, where dates would get a fifth year digit. */
static const char *s_iso(uint64_t ms, int with_time, char *buf, size_t cap)
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (cap == 0)
        return NULL;
    buf[0] = '\0';
    if (ms / 1000 > S_LAST_SECOND_9999 || !gmtime_r(&secs, &tm))
        return NULL;
    if (with_time)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(ms % 1000));
    else
        snprintf(buf, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

const char *mn_time_format_ms(uint64_t ms, char *buf, size_t cap)
{
    return s_iso(ms, 1, buf, cap);
}

const char *mn_time_format_day(uint64_t ms, char *buf, size_t cap)
{
    return s_iso(ms, 0, buf, cap);
}
