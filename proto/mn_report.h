/* mn_report.h - the Report: JSON <-> protobuf, validation, canonical bytes, keyed digest.
 *
 * The JSON form is documented in docs/report.schema.json and the files in examples/.
 * Enumerations are lowercase strings ("sexual", "loverboy", "district_team", "unknown"); unknown values are
 * written "unknown", never guessed. Validation errors name the field by its JSON path, e.g.
 * "victim.date_of_birth", in mn_diag.where.
 *
 * The Report is the generated protobuf-c type; the gateway and agents read its fields directly.
 */
#ifndef MN_REPORT_H
#define MN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "meldnet.pb-c.h"
#include "mn_error.h"

typedef Meldnet__Report mn_report;

#define MN_ATTACHMENT_MAX_BYTES (512u * 1024)         /* one attachment's data */
#define MN_ATTACHMENTS_TOTAL_MAX_BYTES (1024u * 1024) /* all attachments of one report */
#define MN_NARRATIVE_MAX_BYTES (16u * 1024)
#define MN_TEXT_MAX_BYTES 1024 /* any other string field */
#define MN_LIST_MAX 64         /* entries in any repeated field */

/* Parse and validate JSON text (len bytes, need not be NUL-terminated). Unknown JSON keys are
 * errors (with the key named). Caller owns *out (mn_report_destroy). Returns MN_OK, MN_EREPORT
 * (diag.where = JSON path, diag.what = what is wrong), MN_ETOOBIG, MN_ENOMEM. */
MN_NODISCARD int mn_report_from_json(const char *json, size_t len, mn_report **out, mn_diag *d);

/* Read a file ("-" = stdin) and parse it like mn_report_from_json. Returns also MN_ESYS. */
MN_NODISCARD int mn_report_load_json(const char *path, mn_report **out, mn_diag *d);

/* Render as JSON (indented, keys in schema order; absent fields left out). Caller owns *out
 * (mn_plain_free with strlen). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_report_to_json(const mn_report *r, char **out);

/* Check every rule of the schema (sizes, enumerations, dates, codes, at least one form,
 * acute_reason when acute_danger, no contact when anonymous...). Returns MN_OK or MN_EREPORT. */
MN_NODISCARD int mn_report_validate(const mn_report *r, mn_diag *d);

/* Serialize (protobuf-c packs fields in number order, so equal reports give equal bytes).
 * Caller owns *out (mn_plain_free). Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_report_encode(const mn_report *r, uint8_t **out, size_t *len);

/* Deserialize bytes of at most max_len. Caller owns *out. Does not validate.
 * Returns MN_OK, MN_ETOOBIG, MN_EDECODE, MN_ENOMEM. */
MN_NODISCARD int mn_report_decode(const uint8_t *buf, size_t len, size_t max_len, mn_report **out,
                                  mn_diag *d);

/* Keyed BLAKE2b-256 over the sending agent's name and the canonical encoding: equal content
 * from the same agent gives an equal digest; the same content from another agent does not (an
 * agent cannot learn another's registration by sending a copy); without the key the digest
 * says nothing. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int mn_report_digest(const mn_report *r, const char *agent, const uint8_t key[32],
                                  uint8_t out[32]);

/* Free *r_p (string fields are wiped first) and set it to NULL. NULL-safe. */
void mn_report_destroy(mn_report **r_p);

/* The lowercase JSON name of `value` in one of the report's enumerations (Tristate,
 * OrganisationType, ReporterKind, Gender, ExploitationForm, SexualSubtype), as to_json writes
 * it; NULL for another descriptor or a value without a name. */
const char *mn_report_enum_name(const ProtobufCEnumDescriptor *desc, int value);

/* Age in whole years on `today` (YYYY-MM-DD) from date_of_birth or age_years; -1 if unknown. */
int mn_report_victim_age(const mn_report *r, const char *today);

/* The report's consent flags (Consent), as mn_report_consent names them. */
enum mn_consent {
    MN_CONSENT_REGISTER_IDENTITY,
    MN_CONSENT_SHARE_POLICE,
    MN_CONSENT_SHARE_CARE,
    MN_CONSENT_SHARE_RESEARCH,
    MN_CONSENT_REPORTER_CONTACT_SHAREABLE,
    MN_CONSENT_N
};

/* 1 when the report gives consent `flag` (enum mn_consent): the flag is present and true. 0 when
 * it is false or absent, when r or its consent is NULL, and for a flag out of range: no answer
 * is no consent. */
int mn_report_consent(const mn_report *r, int flag);

#endif
