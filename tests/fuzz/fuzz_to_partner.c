/* fuzz_to_partner.c - a ToPartner frame (SUBSCRIBED, DELIVERY, ERROR) as meldnet-partner
 * decodes it (mn_wire_decode_to_partner). A decoded message must encode again and decode to the
 * same thing. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_to_partner m, again;
    mn_diag d = {0};
    uint8_t *out = NULL, *input = NULL;
    size_t len = 0, input_len = 0;

    memset(&m, 0, sizeof m);
    memset(&again, 0, sizeof again);
    if (mn_wire_decode_to_partner(data, size, MN_WIRE_DEFAULT_MAX_FRAME, &m, &d) == MN_OK) {
        (void)mn_partner_error_name(m.error);
        if (m.kind == MN_TO_PARTNER_DELIVERY)
            FUZZ_CHECK(mn_delivery_signing_input(&m.delivery, "fuzz", &input, &input_len) == MN_OK);
        FUZZ_CHECK(mn_wire_encode_to_partner(&m, &out, &len) == MN_OK);
        FUZZ_CHECK(mn_wire_decode_to_partner(out, len, MN_WIRE_DEFAULT_MAX_FRAME, &again, &d) ==
                   MN_OK);
        FUZZ_CHECK(again.kind == m.kind && again.delivery.sealed_len == m.delivery.sealed_len &&
                   again.topics.n == m.topics.n);
    }
    free(out);
    free(input);
    mn_delivery_clear(&again.delivery);
    mn_delivery_clear(&m.delivery);
    return 0;
}
