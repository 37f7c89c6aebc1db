/* gw_redact.h - redaction: what each recipient may see of a report, as the Referral it gets.
 *
 * Redaction for one recipient:
 *   full          identifying fields kept only where the report's consent for the recipient's
 *                 kind allows (police: share_police, care: share_care, research: share_research,
 *                 registry: register_identity; other kinds have no consent flag) or the item
 *                 comes from a consent-overriding (acute) rule; otherwise downgraded to
 *                 pseudonymous, and the referral says so;
 *   pseudonymous  victim name, date of birth (age kept), address, phone removed; reporter
 *                 contact removed; suspects' names and phones removed (descriptions and online
 *                 handles kept); attachments removed;
 *   statistics    no report, only ReportFigures.
 * Full and pseudonymous referrals (and the registry's view) carry the recipient's victim
 * pseudonym (proto/mn_pseudonym.h) whenever the report names the victim or a date of birth;
 * statistics never does.
 * Always: an anonymous reporter's organisation name and contact never go out; a named
 * reporter's contact goes out only with reporter_contact_shareable. Every removal is listed in
 * Referral.withheld with its reason.
 */
#ifndef GW_REDACT_H
#define GW_REDACT_H

#include <stdint.h>

#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_referral.h"
#include "mn_report.h"

/* The per-recipient pseudonym key: keyed BLAKE2b-256 of "meldnet-pseudonym-v1:" + recipient
 * under the master pseudonym key (mn_pseudonym_recipient_key). */
void gw_redact_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32]);

/* Build the redacted referral for one recipient (kind: enum gw_partner_kind; for the registry
 * GW_PARTNER_REGISTRY with sharing FULL). recipient_key from gw_redact_recipient_key. Caller
 * owns *out (mn_referral_destroy). Returns MN_OK, MN_ENOMEM, or MN_EDECODE when recipient is
 * not a party name or a topic is not valid. */
MN_NODISCARD int gw_redact_referral(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                                    const char *recipient, int kind, int sharing, int overriding,
                                    const mn_topics *topics, const char *rules,
                                    const uint8_t recipient_key[32], mn_referral **out);

/* The same view without the owned copy: `use` gets it (borrowing r and this call's buffers:
 * valid only during the call) and its result is returned. The gateway's hot path packs the
 * view straight into what it seals. Returns use()'s result, MN_ENOMEM or MN_EDECODE. */
MN_NODISCARD int gw_redact_view(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                                const char *recipient, int kind, int sharing, int overriding,
                                const mn_topics *topics, const char *rules,
                                const uint8_t recipient_key[32],
                                int (*use)(const mn_referral *view, void *arg), void *arg);

#endif
