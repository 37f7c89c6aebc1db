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
 * mn_topic_matches; mn_topic_is_valid refuses them, and mn_topic_pattern_is_valid accepts them
 * for the places where the protocol allows them (subscriptions, bindings).
 */
#include "mn_delivery.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mn_bytes.h"

static const char s_delivery_tag[] = "meldnet-delivery-v1"; /* 19 bytes without the NUL */
#define S_DELIVERY_TAG_BYTES (sizeof s_delivery_tag - 1)

/* ---------------------------------------------------------------------------------------------
 * Topics */

int mn_topic_char_is_valid(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int mn_topic_is_valid(const char *topic)
{
    size_t n = 0;

    if (!topic)
        return 0;
    for (; topic[n]; n++)
        if (n >= MN_TOPIC_MAX || !mn_topic_char_is_valid(topic[n]))
            return 0;
    return n > 0;
}

int mn_topic_pattern_is_valid(const char *pattern)
{
    char prefix[MN_TOPIC_MAX + 1];
    size_t n;

    if (!pattern)
        return 0;
    if (strcmp(pattern, "*") == 0)
        return 1;
    n = strnlen(pattern, MN_TOPIC_MAX + 1);
    if (n > 2 && n <= MN_TOPIC_MAX && pattern[n - 2] == '.' && pattern[n - 1] == '*') {
        memcpy(prefix, pattern, n - 2);
        prefix[n - 2] = '\0';
        return mn_topic_is_valid(prefix);
    }
    return mn_topic_is_valid(pattern);
}

char *mn_topics_join(const mn_topics *t, const char *sep, char *buf, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; t && i < t->n; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s", i ? sep : "", t->name[i]);
        if (n < 0 || (size_t)n >= cap - o)
            break; /* snprintf cut it and ended it with a NUL */
        o += (size_t)n;
    }
    return buf;
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
    p = mn_bytes_put(p, s_delivery_tag, S_DELIVERY_TAG_BYTES);
    p = mn_bytes_put_u32be(p, (uint32_t)partner_len);
    p = mn_bytes_put(p, partner, partner_len);
    p = mn_bytes_put_u64be(p, dl->registration);
    p = mn_bytes_put_u32be(p, (uint32_t)dl->topics.n);
    for (size_t i = 0; i < dl->topics.n; i++) {
        p = mn_bytes_put_u32be(p, (uint32_t)topic_len[i]);
        p = mn_bytes_put(p, dl->topics.name[i], topic_len[i]);
    }
    p = mn_bytes_put_u32be(p, (uint32_t)dl->sealed_len);
    p = mn_bytes_put(p, dl->sealed, dl->sealed_len);
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
    if (crypto_sign_detached(dl->signature, NULL, input, input_len, mn_key_sign_secret(gateway)) !=
        0)
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
