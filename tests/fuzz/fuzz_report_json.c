/* fuzz_report_json.c - the JSON report parser (mn_report_from_json): what meldnet-agent reads
 * from a file or stdin. A report it accepts must render to JSON and encode. */
#include <string.h>

#include "fuzz.h"
#include "mn_envelope.h"
#include "mn_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_report *r = NULL;
    mn_diag d = {0};
    char *json = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;

    if (mn_report_from_json((const char *)data, size, &r, &d) == MN_OK) {
        FUZZ_CHECK(mn_report_validate(r, &d) == MN_OK);
        FUZZ_CHECK(mn_report_to_json(r, &json) == MN_OK);
        FUZZ_CHECK(mn_report_encode(r, &bytes, &len) == MN_OK);
    }
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_plain_free(bytes, len);
    mn_report_destroy(&r);
    return 0;
}
