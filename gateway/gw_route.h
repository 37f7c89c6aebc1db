/* gw_route.h - routing rules (which topics a report reaches) and redaction (what each recipient
 * may see of it).
 *
 * Rules are evaluated in order; every rule whose condition holds emits its topics (a report may
 * match several rules). Conditions are ANDed; a list condition holds when any value matches.
 * Topics may hold placeholders {region} and {municipality} (the report's region and
 * municipality_code, lowercased; "unknown" when absent).
 *
 * In gateway.conf (libconfig), a top-level list:
 *   routes = (
 *     { name = "acute"; when = { acute = true; }; emit = [ "police.acute" ];
 *       overrides_consent = true; },
 *     { name = "minor-sexual"; when = { minor = true; form = [ "sexual" ]; };
 *       emit = [ "care.{region}" ]; },
 *     ...
 *   );
 * Condition keys: acute, minor, online, shelter (booleans); form, sexual (subtypes), reporter
 * (organisation types), reporter_kind, region, municipality (lists of strings); consent = {
 * register_identity, share_police, share_care, share_research, reporter_contact_shareable }
 * (booleans). An unknown key, value or placeholder is refused with file:line and a hint.
 *
 * Redaction (gw_route_redact) for one recipient:
 *   full          identifying fields kept only where the report's consent for the recipient's
 *                 kind allows (police: share_police, care: share_care, research: share_research,
 *                 registry: register_identity; other kinds have no consent flag) or the item
 *                 comes from a consent-overriding (acute) rule; otherwise downgraded to
 *                 pseudonymous, and the referral says so;
 *   pseudonymous  victim name, date of birth (age kept), address, phone removed; reporter
 *                 contact removed; suspects' names and phones removed (descriptions and online
 *                 handles kept); attachments removed; a per-recipient victim pseudonym added;
 *   statistics    no report, only ReportFigures.
 * Always: an anonymous reporter's organisation name and contact never go out; a named
 * reporter's contact goes out only with reporter_contact_shareable. Every removal is listed in
 * Referral.withheld with its reason.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gw_config.h"
#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_referral.h"
#include "mn_report.h"

#define GW_RULE_NAME_MAX 63
#define GW_RULE_LIST_MAX 16

typedef struct gw_rule {
    char name[GW_RULE_NAME_MAX + 1];
    int acute, minor, online, shelter; /* -1 any, 0 must be false/no, 1 must be true/yes */
    uint32_t forms;          /* bit (1u << ExploitationForm): any of; 0 = any */
    uint32_t sexual;         /* bit (1u << SexualSubtype) */
    uint32_t reporter_types; /* bit (1u << OrganisationType) */
    uint32_t reporter_kinds; /* bit (1u << ReporterKind) */
    char regions[GW_RULE_LIST_MAX][65];
    size_t n_regions;
    char municipalities[GW_RULE_LIST_MAX][8];
    size_t n_municipalities;
    int consent[5]; /* -1 any; register_identity, share_police, share_care, share_research,
                       reporter_contact_shareable */
    char emit[MN_TOPICS_MAX][MN_TOPIC_MAX + 1]; /* may hold {region}, {municipality} */
    size_t n_emit;
    int overrides_consent; /* items from this rule may go out in full without consent */
    int line;              /* line in the config file, 0 for defaults */
} gw_rule;

/* The default rules (the Dutch chain): acute -> police.acute (overrides consent); minor with
 * sexual exploitation -> care.{region}; sextortion or grooming -> research.online; online ->
 * research.online; shelter needed -> shelter.coordination; every report -> hotline.{region}.
 * Borrowed static array. */
const gw_rule *gw_route_defaults(size_t *n);

/* Parse the "routes" list. Caller owns *rules (free()). Returns MN_OK or MN_ECONFIG with
 * file:line in the diag. */
MN_NODISCARD int gw_route_parse(const config_setting_t *routes, const char *file,
                                gw_rule **rules, size_t *n, mn_diag *d);

/* What the rules make of one report. */
typedef struct gw_route_match {
    mn_topics topics;                 /* distinct expanded topics, in rule order */
    int rule_of[MN_TOPICS_MAX];       /* index of the first rule that emitted topics.name[i] */
    int overriding[MN_TOPICS_MAX];    /* emitted by a consent-overriding rule */
} gw_route_match;

/* Evaluate rules on r; today = "YYYY-MM-DD" for the minor test (age from date of birth).
 * Never fails: a report no rule matches gives out->topics.n == 0. */
void gw_route_evaluate(const gw_rule *rules, size_t n_rules, const mn_report *r,
                       const char *today, gw_route_match *out);

/* One recipient's share of a match. */
typedef struct gw_route_target {
    const gw_partner *partner; /* borrowed */
    mn_topics topics;          /* the matched topics this partner is bound to */
    int sharing;               /* the most open sharing level among the matching bindings */
    int overriding;            /* one of its topics came from a consent-overriding rule and
                                  reaches it through a FULL binding */
    char rules[256];           /* comma-joined rule names */
} gw_route_target;

/* Which partners get an item, and which topics nobody is bound to (revoked partners are left
 * out: their topics count as unbound unless another partner takes them). targets must hold
 * n_partners entries. Never fails. */
void gw_route_plan(const gw_rule *rules, const gw_route_match *m, const gw_partner *partners,
                   size_t n_partners, gw_route_target *targets, size_t *n_targets,
                   mn_topics *unbound);

/* The per-recipient pseudonym key: keyed BLAKE2b-256 of "meldnet-pseudonym-v1:" + recipient
 * under the master pseudonym key. */
void gw_route_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32]);

/* Build the redacted referral for one recipient (kind: enum gw_partner_kind; for the registry
 * GW_PARTNER_REGISTRY with sharing FULL). recipient_key from gw_route_recipient_key. Caller owns
 * *out (mn_referral_destroy). Returns MN_OK, MN_ENOMEM, or MN_EDECODE when recipient is not a
 * party name or a topic is not valid. */
MN_NODISCARD int gw_route_redact(const mn_report *r, uint64_t registration,
                                 uint64_t accepted_ms, const char *recipient, int kind,
                                 int sharing, int overriding, const mn_topics *topics,
                                 const char *rules, const uint8_t recipient_key[32],
                                 mn_referral **out);

/* The same view without the owned copy: `use` gets it (borrowing r and this call's buffers:
 * valid only during the call) and its result is returned. The gateway's hot path packs the
 * view straight into what it seals. Returns use()'s result, MN_ENOMEM or MN_EDECODE. */
MN_NODISCARD int gw_route_redact_view(const mn_report *r, uint64_t registration,
                                      uint64_t accepted_ms, const char *recipient, int kind,
                                      int sharing, int overriding, const mn_topics *topics,
                                      const char *rules, const uint8_t recipient_key[32],
                                      int (*use)(const mn_referral *view, void *arg),
                                      void *arg);

/* meldnetctl route test: print for report r which topics it reaches and why, which topics no
 * partner is bound to, and for every target partner the referral JSON it would receive.
 * Changes nothing. Returns MN_OK or MN_ENOMEM. */
MN_NODISCARD int gw_route_explain(FILE *out, const gw_config *cfg, const mn_report *r,
                                  const uint8_t master_key[32], const char *today);

#endif
