/* mn_b64.c - URL-safe base64 without padding, by libsodium (which also refuses non-canonical
 * trailing bits). */
#include "mn_b64.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

#define S_B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

size_t mn_b64_encoded_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, S_B64_VARIANT) - 1;
}

void mn_b64_encode(const uint8_t *bin, size_t n, char *out, size_t cap)
{
    assert(cap >= mn_b64_encoded_len(n) + 1);
    if (cap < mn_b64_encoded_len(n) + 1) {
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, cap, bin, n, S_B64_VARIANT);
}

int mn_b64_decode_span(const char *text, size_t len, uint8_t *out, size_t want)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (len != mn_b64_encoded_len(want))
        return MN_EINVAL;
    if (sodium_base642bin(out, want, text, len, NULL, &bin_len, &end, S_B64_VARIANT) != 0 ||
        end != text + len || bin_len != want) {
        sodium_memzero(out, want);
        return MN_EINVAL;
    }
    return MN_OK;
}

int mn_b64_decode(const char *text, uint8_t *out, size_t want)
{
    if (!text)
        return MN_EINVAL;
    return mn_b64_decode_span(text, strlen(text), out, want);
}
