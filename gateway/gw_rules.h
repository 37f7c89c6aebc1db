/* gw_rules.h - routing rules: the rule type, the default rules, and reading them from
 * gateway.conf. What a rule does with a report is gw_route's part.
 *
 * In gateway.conf (libconfig), a top-level list:
 *   routes = (
 *     { name = "acute"; when = { acute = true; }; emit = [ "police.acute" ];
 *       overrides_consent = true; },
 *     { name = "minor"; when = { minor = true; }; emit = [ "care.{region}" ]; },
 *     ...
 *   );
 * Condition keys: acute, minor, online, shelter (booleans); form, sexual (subtypes), reporter
 * (organisation types), reporter_kind, region, municipality (lists of strings); consent = {
 * register_identity, share_police, share_care, share_research, reporter_contact_shareable }
 * (booleans). Topics may hold placeholders {region} and {municipality}. An unknown key, value
 * or placeholder is refused with file:line and a hint.
 */
#ifndef GW_RULES_H
#define GW_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "mn_delivery.h"
#include "mn_error.h"
#include "mn_report.h"

#define GW_RULE_NAME_MAX 63
#define GW_RULE_LIST_MAX 16
#define GW_RULE_ANY (-1)               /* a yes/no condition that is not asked */
#define GW_RULE_CONSENT_N MN_CONSENT_N /* gw_rule.consent, indexed by enum mn_consent */
#define GW_RULE_ENUM_MAX 32            /* enumeration values fit a uint32_t bit set */

typedef struct gw_rule {
    char name[GW_RULE_NAME_MAX + 1];
    int acute, minor, online, shelter; /* -1 any, 0 must be false/no, 1 must be true/yes */
    uint32_t forms;                    /* bit (1u << ExploitationForm): any of; 0 = any */
    uint32_t sexual;                   /* bit (1u << SexualSubtype) */
    uint32_t reporter_types;           /* bit (1u << OrganisationType) */
    uint32_t reporter_kinds;           /* bit (1u << ReporterKind) */
    char regions[GW_RULE_LIST_MAX][65];
    size_t n_regions;
    char municipalities[GW_RULE_LIST_MAX][8];
    size_t n_municipalities;
    int consent[GW_RULE_CONSENT_N]; /* -1 any; register_identity, share_police, share_care,
                                       share_research, reporter_contact_shareable */
    char emit[MN_TOPICS_MAX][MN_TOPIC_MAX + 1]; /* may hold {region}, {municipality} */
    size_t n_emit;
    int overrides_consent; /* items from this rule may go out in full without consent */
    int line;              /* line in the config file, 0 for defaults */
} gw_rule;

/* The default rules (the Dutch chain): acute -> police.acute (overrides consent); minor with
 * sexual exploitation -> care.{region}; sextortion or grooming -> research.online; online ->
 * research.online; shelter needed -> shelter.coordination; every report -> hotline.{region}.
 * Borrowed static array. */
const gw_rule *gw_rules_defaults(size_t *n);

struct config_setting_t; /* libconfig.h: only gw_rules.c reads the setting */

/* Parse the "routes" list. Caller owns *rules (free()). Returns MN_OK, MN_ECONFIG with
 * file:line in the diag (file names the config when libconfig does not), or MN_ENOMEM. The
 * distinct emit templates of all rules are at most MN_TOPICS_MAX, so no report can match more
 * topics than a delivery holds. */
MN_NODISCARD int gw_rules_parse(const struct config_setting_t *routes, const char *file,
                                gw_rule **rules, size_t *n, mn_diag *d);

#endif
