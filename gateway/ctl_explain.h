/* ctl_explain.h - meldnetctl route test: explain the routing of one report. */
#ifndef CTL_EXPLAIN_H
#define CTL_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "gw_config.h"
#include "mn_report.h"

/* Print for report r which topics it reaches and why, which topics no partner is bound to, and
 * for every target partner the referral JSON it would receive (the registration number shows as
 * "(test)"). cfg->rules NULL: the default rules. master_key: the pseudonym key; today:
 * "YYYY-MM-DD" for the minor test. Changes nothing. Returns MN_OK, MN_ENOMEM, or what building
 * or rendering a referral returned (gw_redact_referral, mn_referral_to_json); what was printed
 * up to then stays printed. */
MN_NODISCARD int ctl_route_explain(FILE *out, const gw_config *cfg, const mn_report *r,
                                   const uint8_t master_key[32], const char *today);

#endif
