/* mn_delivery.h - the partner protocol's messages in our types, and the delivery signature.
 *
 * A Delivery carries one referral sealed to the partner's box key. The gateway signs, with its
 * signing key, the canonical delivery input (never protobuf bytes):
 *
 *   "meldnet-delivery-v1" (19 bytes, no NUL)
 *   | u32be len(partner) | partner | u64be registration | u32be n_topics
 *   | n_topics x (u32be len(topic) | topic) | u32be len(sealed) | sealed
 *
 * tag, attempt and acute are transport bookkeeping and are not signed. docs/PROTOCOL.md is the
 * normative copy. mn_wire encodes and decodes these structs.
 */
#ifndef MN_DELIVERY_H
#define MN_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"

#define MN_TOPIC_MAX 64    /* characters in a topic: [a-z0-9._-], and '*' only in patterns */
#define MN_TOPICS_MAX 16   /* topics in one subscription, delivery or queue item */
#define MN_CREDIT_MAX 1024 /* deliveries in flight per connection */

/* True for a character topics (and routing rule names) may hold: a-z, 0-9, '.', '_', '-'. */
int mn_topic_char_is_valid(char c);

/* True when `topic` is 1-MN_TOPIC_MAX characters of [a-z0-9._-]. */
int mn_topic_is_valid(const char *topic);

/* True when `pattern` may be subscribed or bound: a topic (mn_topic_is_valid), "*", or a topic
 * followed by ".*" ("care.*"), MN_TOPIC_MAX characters in all. */
int mn_topic_pattern_is_valid(const char *pattern);

/* True when `pattern` (a topic, or a prefix ending in ".*", or "*") matches `topic`. */
int mn_topic_matches(const char *pattern, const char *topic);

typedef struct mn_topics {
    size_t n;
    char name[MN_TOPICS_MAX][MN_TOPIC_MAX + 1];
} mn_topics;

/* Join t's topics (t may be NULL) with `sep` into buf (cap bytes, cut to fit); "" for none.
 * Returns buf. */
char *mn_topics_join(const mn_topics *t, const char *sep, char *buf, size_t cap);

typedef struct mn_delivery {
    uint64_t tag;
    mn_topics topics;
    uint64_t registration;
    uint32_t attempt;
    int acute;
    uint8_t *sealed; /* owned, malloc */
    size_t sealed_len;
    uint8_t signature[MN_SIG_BYTES];
} mn_delivery;

/* Free d->sealed and zero the struct. NULL-safe; twice is harmless. */
void mn_delivery_clear(mn_delivery *d);

/* The canonical delivery input for `partner`. Caller owns *out (free()). MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_delivery_signing_input(const mn_delivery *dl, const char *partner,
                                           uint8_t **out, size_t *len);

/* Sign dl in place (gateway) / verify it (partner). verify returns MN_OK or MN_ECRYPTO. */
MN_NODISCARD int mn_delivery_sign(mn_delivery *dl, const char *partner, const mn_key *gateway);
MN_NODISCARD int mn_delivery_verify(const mn_delivery *dl, const char *partner,
                                    const uint8_t gateway_sign_pub[MN_KEY_BYTES]);

/* Partner -> gateway. */
typedef enum {
    MN_FROM_PARTNER_SUBSCRIBE = 1,
    MN_FROM_PARTNER_CREDIT = 2,
    MN_FROM_PARTNER_ACK = 3,
    MN_FROM_PARTNER_NACK = 4,
} mn_from_partner_kind;

typedef struct mn_from_partner {
    mn_from_partner_kind kind;
    mn_topics topics; /* SUBSCRIBE */
    uint32_t credit;  /* SUBSCRIBE, CREDIT */
    uint64_t tag;     /* ACK, NACK */
    char reason[256]; /* NACK */
    int transient;    /* NACK: 1 when the refusal passes by itself (Nack.transient) */
} mn_from_partner;

/* Gateway -> partner. */
typedef enum {
    MN_TO_PARTNER_SUBSCRIBED = 1,
    MN_TO_PARTNER_DELIVERY = 2,
    MN_TO_PARTNER_ERROR = 3,
} mn_to_partner_kind;

enum mn_partner_error {
    MN_PARTNER_UNBOUND_TOPIC = 1,
    MN_PARTNER_NOT_SUBSCRIBED = 2,
    MN_PARTNER_UNKNOWN_TAG = 3,
    MN_PARTNER_BAD_REQUEST = 4,
};

typedef struct mn_to_partner {
    mn_to_partner_kind kind;
    mn_topics topics;     /* SUBSCRIBED: granted; ERROR: bound topics (with UNBOUND_TOPIC) */
    uint32_t credit;      /* SUBSCRIBED */
    mn_delivery delivery; /* DELIVERY (owns its sealed bytes: mn_delivery_clear) */
    int error;            /* ERROR: enum mn_partner_error */
    char detail[256];     /* ERROR */
} mn_to_partner;

/* "UNBOUND_TOPIC" etc. */
const char *mn_partner_error_name(int code);

#endif
