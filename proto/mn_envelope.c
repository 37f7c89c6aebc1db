/* mn_envelope.c - envelope seal+sign / verify+open, receipt sign/verify, padded sealed boxes;
 * registration numbers.
 *
 * Padding: a plaintext of len bytes is padded with sodium_pad to its bucket, the smallest power
 * of two >= max(len + 1, MN_PAD_MIN_BUCKET), and the bucket is sealed whole. So a sealed
 * envelope is always bucket + crypto_box_SEALBYTES (48) bytes and a box bucket + 72, and the
 * opener learns the block size from the sealed length alone. The opener checks, before any key
 * agreement, allocation or decryption, that the length is such a bucket and that the smallest
 * plaintext that bucket can hold fits max_len; after opening it checks that the padding is
 * canonical (the bucket is exactly the one the sealer must pick).
 *
 * Envelopes are crypto_box_seal boxes (one ephemeral key each). Boxes (registry records,
 * referrals) are eph_pk(32) || nonce(24) || crypto_box_easy (MAC 16 || ciphertext): a sealer
 * makes one ephemeral keypair and its crypto_box_beforenm key once and seals any number of boxes
 * with it, each with a fresh random nonce (random 24-byte nonces do not repeat in practice); an
 * opener caches the beforenm key of the last eph_pk it saw. The shared keys are wiped when
 * their holder goes (see mn_box_sealer_new for why a sealer is not in sodium_malloc memory); the
 * ephemeral secret key lives only on the stack of s_sealer_init.
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

#include <sodium.h>

#include "mn_bytes.h"

static const char s_envelope_tag[] = "meldnet-envelope-v1"; /* 19 bytes without the NUL */
static const char s_receipt_tag[] = "meldnet-receipt-v1";   /* 18 bytes without the NUL */
#define S_ENVELOPE_TAG_BYTES (sizeof s_envelope_tag - 1)
#define S_RECEIPT_TAG_BYTES (sizeof s_receipt_tag - 1)

/* Largest plaintext mn_box_seal takes: registry records wrap a whole report (which may be
 * MN_REPORT_MAX_BYTES) with some metadata, so allow headroom above a report. */
#define S_BOX_MAX_BYTES (4 * (size_t)MN_REPORT_MAX_BYTES)

/* ---------------------------------------------------------------------------------------------
 * Padding (envelopes and boxes) */

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

/* The bucket for a plaintext of len bytes that will carry `overhead` more bytes when sealed.
 * Returns MN_OK or MN_ETOOBIG (over max_len, or the sealed size does not fit a size_t). */
static int s_pad_bucket(size_t len, size_t max_len, size_t overhead, size_t *bucket)
{
    *bucket = 0;
    if (len > max_len)
        return MN_ETOOBIG;
    *bucket = s_bucket(len);
    if (*bucket == 0 || *bucket > SIZE_MAX - overhead) {
        *bucket = 0;
        return MN_ETOOBIG;
    }
    return MN_OK;
}

/* Copy plain into dst and pad it to exactly `bucket` bytes. Returns MN_OK or MN_ECRYPTO. */
static int s_pad_into(uint8_t *dst, size_t bucket, const uint8_t *plain, size_t len)
{
    size_t padded_len = 0;
    if (len > 0)
        memcpy(dst, plain, len);
    if (sodium_pad(&padded_len, dst, len, bucket, bucket) != 0 || padded_len != bucket)
        return MN_ECRYPTO;
    return MN_OK;
}

/* Check a sealed length before anything is allocated or decrypted: it must be a bucket plus
 * `overhead`, and the bucket's smallest plaintext must fit max_len. Sets *bucket. Returns MN_OK,
 * MN_ECRYPTO or MN_ETOOBIG. */
static int s_check_sealed_len(const uint8_t *sealed, size_t sealed_len, size_t overhead,
                              size_t max_len, size_t *bucket)
{
    *bucket = 0;
    if (!sealed || sealed_len < overhead || !s_is_bucket(sealed_len - overhead))
        return MN_ECRYPTO;
    /* A bucket above the minimum holds at least bucket/2 bytes (else it would be smaller). */
    if (sealed_len - overhead > MN_PAD_MIN_BUCKET && (sealed_len - overhead) / 2 > max_len)
        return MN_ETOOBIG;
    *bucket = sealed_len - overhead;
    return MN_OK;
}

/* Remove the padding of an opened bucket and check it is the canonical one (the bucket is
 * exactly the one the sealer must pick for the plaintext). Returns MN_OK, MN_ECRYPTO or
 * MN_ETOOBIG. */
static int s_unpad_check(const uint8_t *buf, size_t bucket, size_t max_len, size_t *len)
{
    size_t unpadded = 0;
    *len = 0;
    if (sodium_unpad(&unpadded, buf, bucket, bucket) != 0 || s_bucket(unpadded) != bucket)
        return MN_ECRYPTO;
    if (unpadded > max_len)
        return MN_ETOOBIG;
    *len = unpadded;
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Envelope sealed boxes: crypto_box_seal of the padded report */

static int s_envelope_pad_seal(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t *plain,
                               size_t len, size_t max_len, uint8_t **out, size_t *out_len)
{
    int rc = MN_OK;
    uint8_t *padded = NULL;
    uint8_t *sealed = NULL;
    size_t bucket = 0;

    *out = NULL;
    *out_len = 0;
    if ((rc = s_pad_bucket(len, max_len, crypto_box_SEALBYTES, &bucket)) != MN_OK)
        goto out;
    padded = malloc(bucket);
    sealed = malloc(bucket + crypto_box_SEALBYTES);
    if (!padded || !sealed) {
        rc = MN_ENOMEM;
        goto out;
    }
    if ((rc = s_pad_into(padded, bucket, plain, len)) != MN_OK)
        goto out;
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

/* Open an envelope's sealed box. Never trusts sealed_len (s_check_sealed_len). */
static int s_envelope_open_unpad(const uint8_t box_pub[MN_KEY_BYTES],
                                 const uint8_t box_sec[MN_KEY_BYTES], const uint8_t *sealed,
                                 size_t sealed_len, size_t max_len, uint8_t **plain, size_t *len)
{
    int rc = MN_OK;
    uint8_t *buf = NULL;
    size_t bucket = 0;

    *plain = NULL;
    *len = 0;
    if ((rc = s_check_sealed_len(sealed, sealed_len, crypto_box_SEALBYTES, max_len, &bucket)) !=
        MN_OK)
        goto out;
    buf = malloc(bucket);
    if (!buf) {
        rc = MN_ENOMEM;
        goto out;
    }
    if (crypto_box_seal_open(buf, sealed, sealed_len, box_pub, box_sec) != 0) {
        rc = MN_ECRYPTO;
        goto out;
    }
    if ((rc = s_unpad_check(buf, bucket, max_len, len)) != MN_OK)
        goto out;
    *plain = buf;
    buf = NULL;
out:
    mn_plain_free(buf, bucket);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Boxes (registry records, referrals): eph_pk || nonce || crypto_box_easy(padded) */

#define S_BOX_EPH_BYTES crypto_box_PUBLICKEYBYTES                /* 32 */
#define S_BOX_NONCE_AT S_BOX_EPH_BYTES                           /* 32 */
#define S_BOX_CIPHER_AT (S_BOX_NONCE_AT + crypto_box_NONCEBYTES) /* 56: MAC, then body */
#define S_BOX_OVERHEAD (S_BOX_CIPHER_AT + crypto_box_MACBYTES)   /* 72: the body */
_Static_assert(S_BOX_OVERHEAD == MN_BOX_OVERHEAD, "MN_BOX_OVERHEAD is eph_pk + nonce + MAC");

/* Fixed size and free of pointers, so the one-shot functions keep one on the stack. The
 * ephemeral secret key is wiped as soon as `shared` is made: only `shared` is kept. */
struct mn_box_sealer {
    uint8_t recipient[MN_KEY_BYTES];
    uint8_t eph_pk[S_BOX_EPH_BYTES];
    uint8_t shared[crypto_box_BEFORENMBYTES];
};

struct mn_box_opener {
    const mn_key *key; /* borrowed */
    int has_shared;    /* shared is the key for eph_pk */
    uint8_t eph_pk[S_BOX_EPH_BYTES];
    uint8_t shared[crypto_box_BEFORENMBYTES];
};

/* True when pk is the canonical encoding of an X25519 u-coordinate: below p = 2^255 - 19, so
 * the top bit is clear. X25519 ignores the top bit and reduces mod p, so without this check a
 * box would open under several eph_pk encodings (eph_pk is not covered by the MAC). Keys from
 * crypto_box_keypair are always canonical. */
static int s_is_canonical_pk(const uint8_t pk[S_BOX_EPH_BYTES])
{
    if (pk[31] & 0x80)
        return 0;
    if (pk[31] != 0x7f || pk[0] < 0xed)
        return 1;
    for (size_t i = 1; i < 31; i++)
        if (pk[i] != 0xff)
            return 1;
    return 0; /* 2^255 - 19 .. 2^255 - 1 */
}

static int s_sealer_init(mn_box_sealer *s, const uint8_t box_pub[MN_KEY_BYTES])
{
    uint8_t eph_sk[crypto_box_SECRETKEYBYTES];
    int rc = MN_OK;

    memcpy(s->recipient, box_pub, MN_KEY_BYTES);
    if (crypto_box_keypair(s->eph_pk, eph_sk) != 0 ||
        crypto_box_beforenm(s->shared, box_pub, eph_sk) != 0) {
        /* beforenm refuses a key whose shared secret is all zero (a point of small order). */
        sodium_memzero(s->shared, sizeof s->shared);
        rc = MN_ECRYPTO;
    }
    sodium_memzero(eph_sk, sizeof eph_sk);
    return rc;
}

static int s_sealer_seal(const mn_box_sealer *s, const uint8_t *plain, size_t len, uint8_t **out,
                         size_t *out_len)
{
    int rc = MN_OK;
    uint8_t *box = NULL;
    size_t bucket = 0;

    *out = NULL;
    *out_len = 0;
    if ((rc = s_pad_bucket(len, S_BOX_MAX_BYTES, S_BOX_OVERHEAD, &bucket)) != MN_OK)
        goto out;
    box = malloc(S_BOX_OVERHEAD + bucket);
    if (!box) {
        rc = MN_ENOMEM;
        goto out;
    }
    /* The padded plaintext goes where its ciphertext will be and is encrypted in place
     * (crypto_box_easy writes the MAC just before it), so no second copy of it exists. */
    if ((rc = s_pad_into(box + S_BOX_OVERHEAD, bucket, plain, len)) != MN_OK)
        goto out;
    memcpy(box, s->eph_pk, S_BOX_EPH_BYTES);
    randombytes_buf(box + S_BOX_NONCE_AT, crypto_box_NONCEBYTES);
    if (crypto_box_easy_afternm(box + S_BOX_CIPHER_AT, box + S_BOX_OVERHEAD, bucket,
                                box + S_BOX_NONCE_AT, s->shared) != 0) {
        rc = MN_ECRYPTO;
        goto out;
    }
    *out = box;
    *out_len = S_BOX_OVERHEAD + bucket;
    box = NULL;
out:
    mn_plain_free(box, box ? S_BOX_OVERHEAD + bucket : 0);
    return rc;
}

/* Open one box. Never trusts sealed_len: it is checked (s_check_sealed_len), and a
 * non-canonical eph_pk refused, before any key agreement, allocation or decryption. The cached
 * shared key is replaced only when eph_pk differs from the last one seen; it is a function of
 * eph_pk and the box secret alone, so a box that fails its MAC does not make the cache wrong. */
static int s_opener_open(mn_box_opener *op, const uint8_t *sealed, size_t sealed_len,
                         size_t max_len, uint8_t **plain, size_t *len)
{
    int rc = MN_OK;
    uint8_t *buf = NULL;
    size_t bucket = 0;

    *plain = NULL;
    *len = 0;
    if ((rc = s_check_sealed_len(sealed, sealed_len, S_BOX_OVERHEAD, max_len, &bucket)) != MN_OK)
        goto out;
    if (!s_is_canonical_pk(sealed)) {
        rc = MN_ECRYPTO;
        goto out;
    }
    /* eph_pk is public: a plain comparison leaks nothing. */
    if (!op->has_shared || memcmp(op->eph_pk, sealed, S_BOX_EPH_BYTES) != 0) {
        op->has_shared = 0;
        if (crypto_box_beforenm(op->shared, sealed, mn_key_box_secret(op->key)) != 0) {
            sodium_memzero(op->shared, sizeof op->shared);
            rc = MN_ECRYPTO; /* eph_pk of small order */
            goto out;
        }
        memcpy(op->eph_pk, sealed, S_BOX_EPH_BYTES);
        op->has_shared = 1;
    }
    buf = malloc(bucket);
    if (!buf) {
        rc = MN_ENOMEM;
        goto out;
    }
    if (crypto_box_open_easy_afternm(buf, sealed + S_BOX_CIPHER_AT, sealed_len - S_BOX_CIPHER_AT,
                                     sealed + S_BOX_NONCE_AT, op->shared) != 0) {
        rc = MN_ECRYPTO;
        goto out;
    }
    if ((rc = s_unpad_check(buf, bucket, max_len, len)) != MN_OK)
        goto out;
    *plain = buf;
    buf = NULL;
out:
    mn_plain_free(buf, bucket);
    return rc;
}

/* A sealer lives for one batch on the gateway's hot path: plain malloc, wiped on destroy.
 * sodium_malloc (guard pages, mlock) costs about as much as the X25519 this saves (~27 us per
 * new + destroy), and the shared key is no longer-lived than crypto_box_seal's own ephemeral key
 * on the stack. The opener, made once per process, uses sodium_malloc. */
int mn_box_sealer_new(const uint8_t box_pub[MN_KEY_BYTES], mn_box_sealer **out)
{
    mn_box_sealer *s = malloc(sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return MN_ENOMEM;
    if ((rc = s_sealer_init(s, box_pub)) != MN_OK) {
        mn_box_sealer_destroy(&s);
        return rc;
    }
    *out = s;
    return MN_OK;
}

int mn_box_sealer_seal(mn_box_sealer *s, const uint8_t *plain, size_t len, uint8_t **out,
                       size_t *out_len)
{
    assert(s);
    return s_sealer_seal(s, plain, len, out, out_len);
}

const uint8_t *mn_box_sealer_recipient(const mn_box_sealer *s)
{
    return s->recipient;
}

void mn_box_sealer_destroy(mn_box_sealer **s_p)
{
    if (!s_p || !*s_p)
        return;
    sodium_memzero(*s_p, sizeof **s_p);
    free(*s_p);
    *s_p = NULL;
}

int mn_box_opener_new(const mn_key *key, mn_box_opener **out)
{
    mn_box_opener *op = NULL;

    *out = NULL;
    assert(key);
    op = sodium_malloc(sizeof *op);
    if (!op)
        return MN_ENOMEM;
    memset(op, 0, sizeof *op);
    op->key = key;
    *out = op;
    return MN_OK;
}

int mn_box_opener_open(mn_box_opener *op, const uint8_t *sealed, size_t sealed_len, size_t max_len,
                       uint8_t **plain, size_t *len)
{
    assert(op);
    return s_opener_open(op, sealed, sealed_len, max_len, plain, len);
}

void mn_box_opener_destroy(mn_box_opener **op_p)
{
    if (!op_p || !*op_p)
        return;
    sodium_memzero(*op_p, sizeof **op_p);
    sodium_free(*op_p);
    *op_p = NULL;
}

/* The one-shot forms keep their state on the stack (no sodium_malloc per call) and wipe it. */
int mn_box_seal(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t *plain, size_t len,
                uint8_t **out, size_t *out_len)
{
    mn_box_sealer s;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (len > S_BOX_MAX_BYTES)
        return MN_ETOOBIG; /* before the key agreement: cheap, and plain is not read */
    if ((rc = s_sealer_init(&s, box_pub)) == MN_OK)
        rc = s_sealer_seal(&s, plain, len, out, out_len);
    sodium_memzero(&s, sizeof s);
    return rc;
}

int mn_box_open(const mn_key *key, const uint8_t *sealed, size_t sealed_len, size_t max_len,
                uint8_t **plain, size_t *len)
{
    mn_box_opener op;
    int rc;

    memset(&op, 0, sizeof op);
    op.key = key;
    rc = s_opener_open(&op, sealed, sealed_len, max_len, plain, len);
    sodium_memzero(&op, sizeof op);
    return rc;
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
    rc = s_envelope_pad_seal(gateway_box_pub, report, len, MN_REPORT_MAX_BYTES, &out->sealed,
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
    if (crypto_sign_detached(out->signature, NULL, input, input_len, mn_key_sign_secret(agent)) !=
        0) {
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
    int rc = s_envelope_open_unpad(mn_key_public(gateway)->box, mn_key_box_secret(gateway),
                                   env->sealed, env->sealed_len, max_len, report, len);

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
 * Registration numbers */

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
