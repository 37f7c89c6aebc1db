/* mn_envelope.h - envelope seal+sign / verify+open, receipt sign/verify, padded sealed boxes;
 * registration numbers.
 *
 * Padding: plaintext is sodium_pad'ded to its bucket, the smallest power of two
 * >= max(len + 1, 256), and the whole bucket is sealed: lengths say little. Openers refuse a
 * sealed length that is not a bucket plus the overhead, and padding that is not canonical.
 *
 * Envelope (agent to gateway): sealed = crypto_box_seal(padded report) to the gateway's box
 * key, bucket + 48 bytes (crypto_box_SEALBYTES), one ephemeral key per envelope.
 *
 * Box (registry records, partner referrals), bucket + 72 bytes:
 *
 *   eph_pk (32) | nonce (24) | crypto_box_easy(padded, nonce, recipient_pk, eph_sk)
 *                              = MAC (16) | ciphertext (bucket)
 *
 * eph_pk is the sender's ephemeral X25519 public key, shared by every box of one mn_box_sealer
 * (one batch); nonce is random per box. The recipient computes crypto_box_beforenm(eph_pk,
 * its box secret) and crypto_box_open_easy_afternm. The MAC does not cover eph_pk, so openers
 * refuse a non-canonical eph_pk (>= 2^255 - 19, e.g. the top bit set), which X25519 would take
 * as another key's alias.
 *
 * Envelope signature = crypto_sign_detached by the agent over the canonical envelope input
 * (never protobuf bytes):
 *
 *   "meldnet-envelope-v1" (19 bytes, no NUL)
 *   u32be version | u32be len(id) | id | u32be len(agent) | agent (UTF-8)
 *   | u64be seq | u64be created_ms | u32be len(sealed) | sealed
 *
 * Receipt: signature = crypto_sign_detached by the gateway over
 *
 *   "meldnet-receipt-v1" (18 bytes) | u32be len(id) | id | u32be status
 *   | u64be registration | u64be accepted_ms
 *
 * docs/PROTOCOL.md is the normative copy of these layouts (§5, §6, §13.6).
 */
#ifndef MN_ENVELOPE_H
#define MN_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"

#define MN_PROTOCOL_VERSION 1
#define MN_ENVELOPE_ID_BYTES 16
#define MN_PAD_MIN_BUCKET 256
#define MN_BOX_OVERHEAD 72 /* a box is bucket + 72 bytes: eph_pk 32, nonce 24, MAC 16 */
#define MN_REPORT_MAX_BYTES (4u * 1024 * 1024) /* largest plaintext report accepted anywhere */

/* Our view of an Envelope (mn_wire converts to and from the protobuf). */
typedef struct mn_envelope {
    uint32_t version;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    char agent[MN_NAME_MAX + 1];
    uint64_t seq;
    uint64_t created_ms;
    uint8_t *sealed; /* owned, malloc */
    size_t sealed_len;
    uint8_t signature[MN_SIG_BYTES];
} mn_envelope;

/* Free env->sealed and zero the struct. NULL-safe; twice is harmless. */
void mn_envelope_clear(mn_envelope *env);

/* Seal `report` (len bytes of a serialized Report) to gateway_box_pub and sign it with agent's
 * signing key; a fresh random id. Fills *out (caller clears it). Returns MN_OK, MN_ETOOBIG
 * (len > MN_REPORT_MAX_BYTES), MN_ENOMEM, MN_ECRYPTO. */
MN_NODISCARD int mn_envelope_seal(const mn_key *agent, const uint8_t gateway_box_pub[MN_KEY_BYTES],
                                  const uint8_t *report, size_t len, uint64_t seq,
                                  uint64_t created_ms, mn_envelope *out, mn_diag *d);

/* The canonical signing input. Caller owns *out (free()). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_envelope_signing_input(const mn_envelope *env, uint8_t **out, size_t *len);

/* Check env->signature with the agent's public signing key. Returns MN_OK or MN_ECRYPTO. */
MN_NODISCARD int mn_envelope_verify(const mn_envelope *env,
                                    const uint8_t agent_sign_pub[MN_KEY_BYTES]);

/* Open env->sealed with the gateway's box key and remove the padding. Caller owns *report and
 * frees it with mn_plain_free(). Returns MN_OK, MN_ECRYPTO (does not open / bad padding),
 * MN_ETOOBIG (over max_len), MN_ENOMEM. */
MN_NODISCARD int mn_envelope_open(const mn_envelope *env, const mn_key *gateway, size_t max_len,
                                  uint8_t **report, size_t *len, mn_diag *d);

/* One padded box (the format above) to any box public key (registry records, referrals): the
 * same padding as envelopes, a fresh ephemeral key (as mn_box_sealer_new + _seal + _destroy).
 * Caller owns *out (free()). Returns MN_OK, MN_ETOOBIG, MN_ENOMEM, MN_ECRYPTO (box_pub is a
 * point no key agreement works with, e.g. of small order). */
MN_NODISCARD int mn_box_seal(const uint8_t box_pub[MN_KEY_BYTES], const uint8_t *plain, size_t len,
                             uint8_t **out, size_t *out_len);

/* Open a padded box (the format above) with key's box keypair; max_len bounds the plaintext.
 * Caller owns *plain (mn_plain_free()). Returns MN_OK, MN_ECRYPTO (a length that is not a bucket
 * plus 72, an eph_pk not canonical or of small order, a bad MAC, padding not canonical), MN_ETOOBIG
 * (the plaintext is, or from the length alone must be, over max_len), MN_ENOMEM. Any bytes are
 * safe input. */
MN_NODISCARD int mn_box_open(const mn_key *key, const uint8_t *sealed, size_t sealed_len,
                             size_t max_len, uint8_t **plain, size_t *len);

/* Many boxes to one recipient with one ephemeral key (the gateway seals a batch this way): the
 * X25519 work happens once in mn_box_sealer_new, each mn_box_sealer_seal is symmetric only, with
 * a fresh random nonce. Boxes are eph_pk(32) || nonce(24) || crypto_box_easy(padded plain), the
 * same format mn_box_seal writes and mn_box_open reads (docs/PROTOCOL.md). Boxes of one sealer
 * share eph_pk, so a holder of several can tell they came from one batch; nothing more.
 * A sealer belongs to one thread. The ephemeral secret key is wiped as soon as the shared key
 * is made; destroy wipes the shared key. */
typedef struct mn_box_sealer mn_box_sealer;

/* Caller owns *out (mn_box_sealer_destroy). Returns MN_OK, MN_ENOMEM, MN_ECRYPTO (box_pub is a
 * point no key agreement works with). */
MN_NODISCARD int mn_box_sealer_new(const uint8_t box_pub[MN_KEY_BYTES], mn_box_sealer **out);
/* Seal len bytes of plain (not read when over the limit). Caller owns *out (free()). Returns
 * MN_OK, MN_ETOOBIG, MN_ENOMEM. */
MN_NODISCARD int mn_box_sealer_seal(mn_box_sealer *s, const uint8_t *plain, size_t len,
                                    uint8_t **out, size_t *out_len);
/* The recipient's box key, as given to mn_box_sealer_new. */
const uint8_t *mn_box_sealer_recipient(const mn_box_sealer *s);
/* Wipe and free *s_p and set it to NULL. NULL-safe; twice is harmless. */
void mn_box_sealer_destroy(mn_box_sealer **s_p);

/* Opening many boxes with one key: keeps the shared key of the last ephemeral key seen, so a
 * batch costs one X25519. Borrows `key`. One thread. */
typedef struct mn_box_opener mn_box_opener;

/* key (borrowed) must outlive the opener. Caller owns *out (mn_box_opener_destroy). Returns
 * MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_box_opener_new(const mn_key *key, mn_box_opener **out);
/* As mn_box_open. */
MN_NODISCARD int mn_box_opener_open(mn_box_opener *op, const uint8_t *sealed, size_t sealed_len,
                                    size_t max_len, uint8_t **plain, size_t *len);
/* Wipe and free *op_p and set it to NULL. NULL-safe; twice is harmless. */
void mn_box_opener_destroy(mn_box_opener **op_p);

/* Wipe and free plaintext. NULL-safe. */
void mn_plain_free(uint8_t *plain, size_t len);

enum mn_receipt_status { MN_RECEIPT_ACCEPTED = 1, MN_RECEIPT_DUPLICATE = 2 };

typedef struct mn_receipt {
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    int status; /* enum mn_receipt_status */
    uint64_t registration;
    uint64_t accepted_ms;
    uint8_t signature[MN_SIG_BYTES];
} mn_receipt;

/* The canonical receipt input into buf (cap >= MN_RECEIPT_INPUT_BYTES); sets *len. */
#define MN_RECEIPT_INPUT_BYTES (18 + 4 + MN_ENVELOPE_ID_BYTES + 4 + 8 + 8)
void mn_receipt_signing_input(const mn_receipt *r, uint8_t *buf, size_t cap, size_t *len);

/* Sign r in place with the gateway's signing key. */
void mn_receipt_sign(mn_receipt *r, const mn_key *gateway);

/* Check r->signature with the gateway's public signing key. Returns MN_OK or MN_ECRYPTO. */
MN_NODISCARD int mn_receipt_verify(const mn_receipt *r,
                                   const uint8_t gateway_sign_pub[MN_KEY_BYTES]);

/* Registration numbers print as "MN-" and at least 8 digits: MN-00000042. parse accepts that
 * form or bare digits. Returns MN_OK or MN_EINVAL. */
void mn_registration_format(uint64_t reg, char *buf, size_t cap);
MN_NODISCARD int mn_registration_parse(const char *text, uint64_t *out);

#endif
