/* mn_message.h - what every protobuf-c codec here shares: pack into a fresh buffer, unpack
 * with a size limit, wipe and free.
 *
 * The typed codecs (mn_wire, mn_report, mn_referral, the registry record) fill or check the
 * generated structs; these do the generic part, so every decoder checks the length against its
 * limit before protobuf-c allocates anything and says the same things when it fails.
 */
#ifndef MN_MESSAGE_H
#define MN_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "mn_error.h"

/* Pack m into a fresh malloc buffer. Caller owns *out (free(), or mn_plain_free for secrets).
 * Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_message_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len);

/* Unpack len bytes (buf may be NULL when len is 0) of at most max_len as a desc message; `noun`
 * ("report") names it in the diag, whose where it is. Caller owns *out
 * (protobuf_c_message_free_unpacked). Returns MN_OK, MN_ETOOBIG, MN_EDECODE ("the bytes are not
 * a protobuf Report ..."). */
MN_NODISCARD int mn_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                                   size_t len, size_t max_len, const char *noun,
                                   ProtobufCMessage **out, mn_diag *d);

/* Wipe every field of an unpacked protobuf-c message and its sub-messages (strings, bytes,
 * numbers, unknown fields), driven by the descriptors; does not free. NULL-safe. */
void mn_message_wipe(ProtobufCMessage *m);

/* Wipe m (mn_message_wipe) and free it (protobuf_c_message_free_unpacked). NULL-safe. */
void mn_message_free(ProtobufCMessage *m);

#endif
