/* gw_route.h - routing: which topics a report reaches (evaluate) and which partners get it
 * (plan). The rules themselves, and how gateway.conf writes them, are in gw_rules.h; what each
 * partner may see of the report is gw_redact's part.
 *
 * Rules are evaluated in order; every rule whose condition holds emits its topics (a report may
 * match several rules). Conditions are ANDed; a list condition holds when any value matches.
 * Topics may hold placeholders {region} and {municipality} (the report's region and
 * municipality_code, lowercased; "unknown" when absent).
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>

#include "gw_rules.h"
#include "mn_delivery.h"
#include "mn_report.h"

struct gw_partner; /* gw_parties.h */

/* What the rules make of one report. */
typedef struct gw_route_match {
    mn_topics topics;              /* distinct expanded topics, in rule order */
    int rule_of[MN_TOPICS_MAX];    /* index of the first rule that emitted topics.name[i] */
    int overriding[MN_TOPICS_MAX]; /* emitted by a consent-overriding rule */
} gw_route_match;

/* Evaluate rules on r; today = "YYYY-MM-DD" for the minor test (age from date of birth).
 * Never fails: a report no rule matches gives out->topics.n == 0. */
void gw_route_evaluate(const gw_rule *rules, size_t n_rules, const mn_report *r, const char *today,
                       gw_route_match *out);

/* One recipient's share of a match. */
typedef struct gw_route_target {
    const struct gw_partner *partner; /* borrowed */
    mn_topics topics;                 /* the matched topics this partner is bound to */
    int sharing;                      /* the most open sharing level among the matching bindings */
    int overriding;  /* one of its topics came from a consent-overriding rule and reaches
                            it through a FULL binding */
    char rules[256]; /* comma-joined rule names */
} gw_route_target;

/* Which partners get an item, and which topics nobody is bound to (revoked partners are left
 * out: their topics count as unbound unless another partner takes them). targets must hold
 * n_partners entries. Never fails. */
void gw_route_plan(const gw_rule *rules, const gw_route_match *m, const struct gw_partner *partners,
                   size_t n_partners, gw_route_target *targets, size_t *n_targets,
                   mn_topics *unbound);

/* The topics the acute rules (those asking acute = true) emit that no partner that is not
 * revoked is bound to: an acute report would wait unrouted there. Templates come as written;
 * one with a placeholder ("police.{region}") counts as bound only when one binding covers every
 * value of it ("police.*", "*"). *unbound holds them in rule order, each once; none when no rule
 * asks acute = true. Never fails. */
void gw_route_acute_unbound(const gw_rule *rules, size_t n_rules, const struct gw_partner *partners,
                            size_t n_partners, mn_topics *unbound);

#endif
