/* mn_delivery.c - topics, the canonical delivery input, delivery signatures.
 *
 * The signed bytes follow the layout in mn_delivery.h exactly: a domain tag, then partner,
 * registration, topics and sealed referral, every length a fixed-width big-endian prefix, so no
 * two different deliveries share an input. The partner's name is signed although it is not on
 * the wire: a delivery made for one partner does not verify for another. tag, attempt and acute
 * change on redelivery and are left out, so one signature, made at enqueue time, serves every
 * attempt.
 *
 * Topics are [a-z0-9._-]{1,64}. Patterns ("prefix.*", "*") are only meaningful to
 * mn_topic_matches; mn_topic_is_valid refuses them, and the wire decoder accepts them only where
 * the protocol allows them.
 */
#include "mn_delivery.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const char s_delivery_tag[] = "meldnet-delivery-v1"; /* 19 bytes without the NUL */
#define S_DELIVERY_TAG_BYTES (sizeof s_delivery_tag - 1)

/* ---------------------------------------------------------------------------------------------
 * Topics */

static int s_topic_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int mn_topic_is_valid(const char *topic)
{
    size_t n = 0;

    if (!topic)
        return 0;
    for (; topic[n]; n++)
        if (n >= MN_TOPIC_MAX || !s_topic_char_ok(topic[n]))
            return 0;
    return n > 0;
}

int mn_topic_matches(const char *pattern, const char *topic)
{
    size_t plen;

    if (!pattern || !topic || !*topic)
        return 0;
    if (strcmp(pattern, topic) == 0)
        return 1;
    if (strcmp(pattern, "*") == 0)
        return 1;
    plen = strlen(pattern);
    /* "prefix.*": the prefix, its dot, and at least one more character. */
    if (plen >= 3 && pattern[plen - 1] == '*' && pattern[plen - 2] == '.')
        return strncmp(pattern, topic, plen - 1) == 0 && topic[plen - 1] != '\0';
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Deliveries */

void mn_delivery_clear(mn_delivery *d)
{
    if (!d)
        return;
    free(d->sealed);
    memset(d, 0, sizeof *d);
}

static uint8_t *s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *s_put_u64(uint8_t *p, uint64_t v)
{
    p = s_put_u32(p, (uint32_t)(v >> 32));
    return s_put_u32(p, (uint32_t)v);
}

static uint8_t *s_put_bytes(uint8_t *p, const void *data, size_t n)
{
    if (n > 0)
        memcpy(p, data, n);
    return p + n;
}

int mn_delivery_signing_input(const mn_delivery *dl, const char *partner, uint8_t **out,
                              size_t *len)
{
    size_t partner_len;
    size_t topic_len[MN_TOPICS_MAX];
    size_t total;
    uint8_t *buf = NULL;
    uint8_t *p = NULL;

    *out = NULL;
    *len = 0;
    if (!partner || dl->topics.n > MN_TOPICS_MAX || (!dl->sealed && dl->sealed_len > 0))
        return MN_EINVAL;
    partner_len = strnlen(partner, MN_NAME_MAX + 1);
    if (partner_len > MN_NAME_MAX)
        return MN_EINVAL;
    total = S_DELIVERY_TAG_BYTES + 4 + partner_len + 8 + 4;
    for (size_t i = 0; i < dl->topics.n; i++) {
        topic_len[i] = strnlen(dl->topics.name[i], sizeof dl->topics.name[i]);
        if (topic_len[i] > MN_TOPIC_MAX)
            return MN_EINVAL; /* not NUL-terminated */
        total += 4 + topic_len[i];
    }
    if (dl->sealed_len > UINT32_MAX || dl->sealed_len > SIZE_MAX - total - 4)
        return MN_ETOOBIG; /* cannot be written as a u32be length */
    total += 4 + dl->sealed_len;
    buf = malloc(total);
    if (!buf)
        return MN_ENOMEM;
    p = buf;
    p = s_put_bytes(p, s_delivery_tag, S_DELIVERY_TAG_BYTES);
    p = s_put_u32(p, (uint32_t)partner_len);
    p = s_put_bytes(p, partner, partner_len);
    p = s_put_u64(p, dl->registration);
    p = s_put_u32(p, (uint32_t)dl->topics.n);
    for (size_t i = 0; i < dl->topics.n; i++) {
        p = s_put_u32(p, (uint32_t)topic_len[i]);
        p = s_put_bytes(p, dl->topics.name[i], topic_len[i]);
    }
    p = s_put_u32(p, (uint32_t)dl->sealed_len);
    p = s_put_bytes(p, dl->sealed, dl->sealed_len);
    assert((size_t)(p - buf) == total);
    *out = buf;
    *len = total;
    return MN_OK;
}

int mn_delivery_sign(mn_delivery *dl, const char *partner, const mn_key *gateway)
{
    uint8_t *input = NULL;
    size_t input_len = 0;
    int rc = mn_delivery_signing_input(dl, partner, &input, &input_len);
    if (rc != MN_OK)
        goto out;
    if (crypto_sign_detached(dl->signature, NULL, input, input_len,
                             mn_key_sign_secret(gateway)) != 0)
        rc = MN_ECRYPTO;
out:
    free(input);
    return rc;
}

int mn_delivery_verify(const mn_delivery *dl, const char *partner,
                       const uint8_t gateway_sign_pub[MN_KEY_BYTES])
{
    uint8_t *input = NULL;
    size_t input_len = 0;
    int rc = mn_delivery_signing_input(dl, partner, &input, &input_len);
    if (rc != MN_OK) {
        rc = rc == MN_ENOMEM ? MN_ENOMEM : MN_ECRYPTO;
        goto out;
    }
    if (crypto_sign_verify_detached(dl->signature, input, input_len, gateway_sign_pub) != 0)
        rc = MN_ECRYPTO;
out:
    free(input);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Partner errors */

static const char *const s_partner_error_names[] = {
    [0] = "UNSPECIFIED",
    [MN_PARTNER_UNBOUND_TOPIC] = "UNBOUND_TOPIC",
    [MN_PARTNER_NOT_SUBSCRIBED] = "NOT_SUBSCRIBED",
    [MN_PARTNER_UNKNOWN_TAG] = "UNKNOWN_TAG",
    [MN_PARTNER_BAD_REQUEST] = "BAD_REQUEST",
};

const char *mn_partner_error_name(int code)
{
    if (code <= 0 || (size_t)code >= sizeof s_partner_error_names / sizeof s_partner_error_names[0])
        return s_partner_error_names[0];
    return s_partner_error_names[code];
}
