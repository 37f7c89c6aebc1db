/* mn_wire.h - one-frame messages between clients (agents, partners) and the gateway:
 * encode/decode with limits.
 *
 * The only module that packs and unpacks the transport wrappers (ToGateway, FromGateway,
 * FromPartner, ToPartner); the rest of the code sees mn_envelope, mn_receipt, mn_reject and the
 * partner structs of mn_delivery.h.
 */
#ifndef MN_WIRE_H
#define MN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_error.h"

/* A report with the full 1 MiB of attachments pads to a 2 MiB bucket; 3 MiB leaves room. */
#define MN_WIRE_DEFAULT_MAX_FRAME (3u * 1024 * 1024)

/* Reasons, numbered as RejectReason in meldnet.proto. */
enum mn_reject_reason {
    MN_REJECT_MALFORMED = 1,
    MN_REJECT_UNSUPPORTED_VERSION = 2,
    MN_REJECT_TOO_LARGE = 3,
    MN_REJECT_AGENT_MISMATCH = 4,
    MN_REJECT_BAD_SIGNATURE = 5,
    MN_REJECT_CANNOT_OPEN = 6,
    MN_REJECT_INVALID_REPORT = 7,
    MN_REJECT_BAD_ID = 8,
    MN_REJECT_STORE_FAILED = 9,
    MN_REJECT_OVERLOADED = 10,
    MN_REJECT_RATE_LIMITED = 11,
    MN_REJECT_SHUTTING_DOWN = 12,
    MN_REJECT_NOT_PERMITTED = 13,
    MN_REJECT_ID_REUSED = 14,
};
#define MN_REJECT_REASON_MAX 14

typedef struct mn_reject {
    int has_id;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    int reason; /* enum mn_reject_reason */
    char detail[256];
    int retryable;
} mn_reject;

/* "BAD_SIGNATURE" etc.; "UNSPECIFIED" for anything else. */
const char *mn_reject_reason_name(int reason);
/* Whether the same envelope may succeed when sent again later. */
int mn_reject_reason_is_retryable(int reason);

/* Encode a ToGateway{envelope}. Caller owns *out (free()). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_wire_encode_envelope(const mn_envelope *env, uint8_t **out, size_t *len);

/* Decode a ToGateway frame of at most max_len bytes into *env (caller clears it). On failure the
 * reject to send back is filled (reason, detail, id when it could be read). Returns MN_OK,
 * MN_ETOOBIG, MN_EDECODE, MN_EVERSION, MN_EINVAL (bad id length), MN_ENOMEM. */
MN_NODISCARD int mn_wire_decode_to_gateway(const uint8_t *buf, size_t len, size_t max_len,
                                           mn_envelope *env, mn_reject *reject);

/* Encode a FromGateway{receipt} / FromGateway{reject}. Caller owns *out (free()). */
MN_NODISCARD int mn_wire_encode_receipt(const mn_receipt *r, uint8_t **out, size_t *len);
MN_NODISCARD int mn_wire_encode_reject(const mn_reject *r, uint8_t **out, size_t *len);

typedef enum { MN_FROM_RECEIPT = 1, MN_FROM_REJECT = 2 } mn_from_kind;
typedef struct mn_from_gateway {
    mn_from_kind kind;
    mn_receipt receipt; /* when kind == MN_FROM_RECEIPT */
    mn_reject reject;   /* when kind == MN_FROM_REJECT */
} mn_from_gateway;

/* Decode a FromGateway frame. Returns MN_OK, MN_ETOOBIG, MN_EDECODE, MN_EVERSION. */
MN_NODISCARD int mn_wire_decode_from_gateway(const uint8_t *buf, size_t len, size_t max_len,
                                             mn_from_gateway *out, mn_diag *d);

/* --- partner protocol (delivery socket) --------------------------------------------------- */

/* Encode a FromPartner / ToPartner. Caller owns *out (free()). Returns MN_OK or MN_ENOMEM
 * (MN_EINVAL for a kind that is not one of the enum). */
MN_NODISCARD int mn_wire_encode_from_partner(const mn_from_partner *m, uint8_t **out, size_t *len);
MN_NODISCARD int mn_wire_encode_to_partner(const mn_to_partner *m, uint8_t **out, size_t *len);

/* Decode with a length limit. Topics are checked with mn_topic_is_valid (patterns allowed in
 * SUBSCRIBE and SUBSCRIBED); more than MN_TOPICS_MAX is MN_EDECODE. decode_to_partner fills
 * m->delivery.sealed (caller: mn_delivery_clear). Returns MN_OK, MN_ETOOBIG, MN_EDECODE,
 * MN_EVERSION, MN_ENOMEM, with the diag saying what is wrong. */
MN_NODISCARD int mn_wire_decode_from_partner(const uint8_t *buf, size_t len, size_t max_len,
                                             mn_from_partner *m, mn_diag *d);
MN_NODISCARD int mn_wire_decode_to_partner(const uint8_t *buf, size_t len, size_t max_len,
                                           mn_to_partner *m, mn_diag *d);

#endif
