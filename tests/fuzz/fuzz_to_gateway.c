/* fuzz_to_gateway.c - a ToGateway frame from an agent (mn_wire_decode_to_gateway): what the
 * gateway's ingest socket decodes before anything is verified. */
#include <stdlib.h>

#include "fuzz.h"
#include "mn_envelope.h"
#include "mn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_envelope env = {0};
    mn_reject reject = {0};
    uint8_t *out = NULL, *input = NULL;
    size_t len = 0, input_len = 0;

    if (mn_wire_decode_to_gateway(data, size, MN_WIRE_DEFAULT_MAX_FRAME, &env, &reject) == MN_OK) {
        FUZZ_CHECK(mn_wire_encode_envelope(&env, &out, &len) == MN_OK);
        FUZZ_CHECK(mn_envelope_signing_input(&env, &input, &input_len) == MN_OK);
    } else {
        /* The reject goes back to the agent: it must encode whatever the frame was. */
        FUZZ_CHECK(mn_wire_encode_reject(&reject, &out, &len) == MN_OK);
    }
    free(out);
    free(input);
    mn_envelope_clear(&env);
    return 0;
}
