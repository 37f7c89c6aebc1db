/* mn_referral.h - the Referral: what one recipient (a partner, or the registry) receives about
 * one registered report, after redaction. Encode/decode, JSON for partners' output.
 *
 * The Referral is the generated protobuf-c type; gw_redact builds it, meldnet-partner reads it.
 * Its JSON form (what meldnet-partner writes, one file per registration):
 *   { "registration": "MN-00000042", "recipient": "police-midden", "topics": ["police.acute"],
 *     "sharing": "full|pseudonymous|statistics", "acute": true, "rules": ["acute"],
 *     "accepted_at": "2026-11-22T14:12:16.927Z", "victim_pseudonym": "<32 hex>",
 *     "withheld": [ { "field": "victim.name", "reason": "..." } ],
 *     "report": { ...as docs/report.schema.json... }   (absent with statistics)
 *     "figures": { "municipality_code", "region", "age_band", "gender", "forms",
 *                  "reporter_type", "acute_danger" } (only with statistics) }
 */
#ifndef MN_REFERRAL_H
#define MN_REFERRAL_H

#include <stddef.h>
#include <stdint.h>

#include "meldnet.pb-c.h"
#include "mn_error.h"
#include "mn_pseudonym.h"

typedef Meldnet__Referral mn_referral;

/* Serialize. Caller owns *out (mn_plain_free). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_referral_encode(const mn_referral *r, uint8_t **out, size_t *len);

/* Deserialize bytes of at most max_len; checks version 1. Caller owns *out
 * (mn_referral_destroy). Returns MN_OK, MN_ETOOBIG, MN_EDECODE, MN_EVERSION, MN_ENOMEM. */
MN_NODISCARD int mn_referral_decode(const uint8_t *buf, size_t len, size_t max_len,
                                    mn_referral **out, mn_diag *d);

/* JSON text as described above (indented). Caller owns *out (mn_plain_free with strlen).
 * Returns MN_OK, MN_EINVAL (a string, of the referral or its report, is not UTF-8: decode does
 * not check text) or MN_ENOMEM. */
MN_NODISCARD int mn_referral_to_json(const mn_referral *r, char **out);

/* Free an unpacked referral (strings and bytes wiped first). NULL-safe. */
void mn_referral_destroy(mn_referral **r_p);

/* "full", "pseudonymous", "statistics" and back (MN_OK or MN_EINVAL). */
const char *mn_sharing_name(int level);
MN_NODISCARD int mn_sharing_parse(const char *text, int *level);

/* The level a referral is made at for `level`: full and pseudonymous as they are, anything
 * else (statistics, unset, unknown) statistics: a level nobody can name shares the least. */
int mn_sharing_level(int level);

#endif
