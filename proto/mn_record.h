/* mn_record.h - the RegistryRecord: what the registry holds for one registration.
 *
 * The gateway writes one record per registration, sealed to the registry's box key
 * (gw_dispatch), around the registry's own redacted view of the report: the Referral that
 * redaction made for the recipient "registry". The record keeps the view's report
 * (pseudonymised without consent to register identity), its sharing level, the registry's
 * victim pseudonym and what was withheld; the view's topics, rules and figures are not kept.
 * meldnetctl opens it with the registry's secret key (registry show, hold release unrouted).
 *
 * This module is the only one that packs and unpacks a RegistryRecord. The record is the
 * generated protobuf-c type (meldnet.proto); readers use its fields directly.
 */
#ifndef MN_RECORD_H
#define MN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "meldnet.pb-c.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_referral.h"
#include "mn_report.h"

typedef Meldnet__RegistryRecord mn_record;

/* The largest record a reader opens: a report plus the record's own fields. */
#define MN_RECORD_MAX_BYTES (MN_REPORT_MAX_BYTES + 4096)

/* What the registry holds for one registration (sealed to the registry's box key). */
typedef struct mn_record_info {
    uint64_t registration;
    uint8_t envelope_id[16];
    char agent[65];
    uint64_t accepted_ms;
    uint64_t created_ms;
} mn_record_info;

/* RegistryRecord <-> bytes. encode: caller owns *out (mn_plain_free). decode: caller owns
 * *report. Return MN_OK, MN_ENOMEM, MN_EDECODE, MN_EVERSION. */
MN_NODISCARD int mn_record_encode(const mn_record_info *info, const mn_report *r, uint8_t **out,
                                  size_t *len);
MN_NODISCARD int mn_record_decode(const uint8_t *buf, size_t len, mn_record_info *info,
                                  mn_report **report, mn_diag *d);

/* The record the gateway writes: info, and the registry's redacted view (borrowed; it must hold
 * a report): its report, victim_pseudonym (when set), withheld and sharing level (always
 * written). protobuf-c packs fields in number order, so equal inputs give equal bytes. Caller
 * owns *out (mn_plain_free). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_record_encode_view(const mn_record_info *info, const mn_referral *view,
                                       uint8_t **out, size_t *len);

/* The whole record, checked as mn_record_decode checks it, into *out, and its info into *info.
 * Caller owns *out (mn_record_destroy); *out is NULL on failure. Returns MN_OK, MN_ENOMEM,
 * MN_EDECODE, MN_EVERSION. */
MN_NODISCARD int mn_record_decode_all(const uint8_t *buf, size_t len, mn_record_info *info,
                                      mn_record **out, mn_diag *d);

/* Wipe and free *rec_p (its report too) and set it to NULL. NULL-safe. */
void mn_record_destroy(mn_record **rec_p);

#endif
