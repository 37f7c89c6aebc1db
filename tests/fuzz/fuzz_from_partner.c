/* fuzz_from_partner.c - a FromPartner frame (SUBSCRIBE, CREDIT, ACK, NACK) as the gateway's
 * delivery socket decodes it (mn_wire_decode_from_partner). A decoded message must encode
 * again and decode to the same thing. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_from_partner m, again;
    mn_diag d = {0};
    uint8_t *out = NULL;
    size_t len = 0;
    char joined[2048];

    memset(&m, 0, sizeof m);
    memset(&again, 0, sizeof again);
    if (mn_wire_decode_from_partner(data, size, MN_WIRE_DEFAULT_MAX_FRAME, &m, &d) == MN_OK) {
        (void)mn_topics_join(&m.topics, ",", joined, sizeof joined);
        FUZZ_CHECK(mn_wire_encode_from_partner(&m, &out, &len) == MN_OK);
        FUZZ_CHECK(mn_wire_decode_from_partner(out, len, MN_WIRE_DEFAULT_MAX_FRAME, &again, &d) ==
                   MN_OK);
        FUZZ_CHECK(again.kind == m.kind && again.tag == m.tag && again.credit == m.credit &&
                   again.topics.n == m.topics.n);
    }
    free(out);
    return 0;
}
