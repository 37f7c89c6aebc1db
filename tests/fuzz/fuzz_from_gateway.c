/* fuzz_from_gateway.c - a FromGateway frame (receipt or reject) as an agent decodes it
 * (mn_wire_decode_from_gateway). */
#include <stdlib.h>

#include "fuzz.h"
#include "mn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_from_gateway m = {0};
    mn_diag d = {0};
    uint8_t *out = NULL, input[MN_RECEIPT_INPUT_BYTES];
    size_t len = 0;

    if (mn_wire_decode_from_gateway(data, size, MN_WIRE_DEFAULT_MAX_FRAME, &m, &d) == MN_OK) {
        if (m.kind == MN_FROM_RECEIPT) {
            mn_receipt_signing_input(&m.receipt, input, sizeof input, &len);
            FUZZ_CHECK(mn_wire_encode_receipt(&m.receipt, &out, &len) == MN_OK);
        } else {
            FUZZ_CHECK(m.kind == MN_FROM_REJECT);
            (void)mn_reject_reason_name(m.reject.reason);
            FUZZ_CHECK(mn_wire_encode_reject(&m.reject, &out, &len) == MN_OK);
        }
    }
    free(out);
    return 0;
}
