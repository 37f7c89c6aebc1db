/* fuzz_report.c - the Report inside an opened envelope, as the gateway handles it:
 * mn_report_decode, mn_report_validate, and on success the JSON a partner would get.
 * A valid report must encode again, and its JSON must parse back into a valid report. */
#include <string.h>

#include "fuzz.h"
#include "mn_envelope.h"
#include "mn_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_report *r = NULL, *back = NULL;
    mn_diag d = {0};
    char *json = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;

    if (mn_report_decode(data, size, MN_REPORT_MAX_BYTES, &r, &d) == MN_OK &&
        mn_report_validate(r, &d) == MN_OK) {
        FUZZ_CHECK(mn_report_encode(r, &bytes, &len) == MN_OK);
        FUZZ_CHECK(mn_report_to_json(r, &json) == MN_OK);
        FUZZ_CHECK(mn_report_from_json(json, strlen(json), &back, &d) == MN_OK);
    }
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_plain_free(bytes, len);
    mn_report_destroy(&back);
    mn_report_destroy(&r);
    return 0;
}
