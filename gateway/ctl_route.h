/* ctl_route.h - meldnetctl route test: dry-run the routing rules on a report file. */
#ifndef CTL_ROUTE_H
#define CTL_ROUTE_H

#include <stdint.h>
#include <stdio.h>

#include "gw_config.h"
#include "mn_report.h"

/* `meldnetctl route test FILE.json [--home DIR]` (argv[0] is the group's label, argv[1] the
 * subcommand): the topics the report reaches, by which rule, and what each partner would
 * receive, on stdout; changes nothing. Returns the exit status: 0, 1 failure, 2 usage error. */
int ctl_cmd_route(int argc, char **argv);

/* Print for report r which topics it reaches and why, which topics no partner is bound to, and
 * for every target partner the referral JSON it would receive (the registration number shows as
 * "(test)"). cfg->rules NULL: the default rules. master_key: the pseudonym key; today:
 * "YYYY-MM-DD" for the minor test. Changes nothing. Returns MN_OK, MN_ENOMEM, or what building
 * or rendering a referral returned (gw_redact_referral, mn_referral_to_json); what was printed
 * up to then stays printed. */
MN_NODISCARD int ctl_route_explain(FILE *out, const gw_config *cfg, const mn_report *r,
                                   const uint8_t master_key[32], const char *today);

#endif
