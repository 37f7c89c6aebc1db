/* mn_b64.h - URL-safe base64 without padding: the text form of keys (mn_key's public and
 * secret lines).
 *
 * Decoding is strict: the exact length for the wanted number of bytes, no padding, no
 * characters of the standard alphabet, and canonical trailing bits, so every byte string has
 * one text form.
 */
#ifndef MN_B64_H
#define MN_B64_H

#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"

/* URL-safe base64 without padding. mn_b64_encode needs cap >= mn_b64_encoded_len(n) + 1.
 * mn_b64_decode returns MN_OK or MN_EINVAL (bad characters or length != want). */
size_t mn_b64_encoded_len(size_t n);
void mn_b64_encode(const uint8_t *bin, size_t n, char *out, size_t cap);
MN_NODISCARD int mn_b64_decode(const char *text, uint8_t *out, size_t want);

/* As mn_b64_decode, of the len characters at text (a token inside a line: no NUL needed).
 * On MN_EINVAL out holds nothing decoded (untouched, or wiped). Returns MN_OK or MN_EINVAL. */
MN_NODISCARD int mn_b64_decode_span(const char *text, size_t len, uint8_t *out, size_t want);

#endif
