/* fuzz_referral.c - a Referral as meldnet-partner decodes it after opening a delivery
 * (mn_referral_decode), and its JSON (mn_referral_to_json), what the partner writes to disk. */
#include <string.h>

#include "fuzz.h"
#include "mn_envelope.h"
#include "mn_referral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_referral *r = NULL;
    mn_diag d = {0};
    char *json = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;

    if (mn_referral_decode(data, size, MN_REPORT_MAX_BYTES, &r, &d) == MN_OK) {
        /* decode does not check text: to_json refuses what is not UTF-8 (MN_EINVAL). */
        int rc = mn_referral_to_json(r, &json);
        FUZZ_CHECK(rc == MN_OK || rc == MN_EINVAL);
        FUZZ_CHECK(mn_referral_encode(r, &bytes, &len) == MN_OK);
    }
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_plain_free(bytes, len);
    mn_referral_destroy(&r);
    return 0;
}
