/* gw_route.c - routing: which topics a report reaches, and which partners get it.
 *
 * Routing: every rule whose conditions all hold emits its topics, placeholders expanded. A
 * topic emitted twice keeps the first rule as rule_of; it counts as emitted by a
 * consent-overriding rule when any rule that emitted it overrides consent. A partner's share
 * (gw_route_plan) is the set of matched topics its bindings match, at the most open sharing
 * level of those bindings. It is marked overriding only when an overriding topic reaches it
 * through a FULL binding: a partner bound to police.acute as pseudonymous and to care.* as full
 * must not get identity without share_care because police.acute overrides consent.
 *
 * The distinct emit templates of all rules are at most MN_TOPICS_MAX (checked when parsing,
 * gw_rules), so no report can match more topics than a delivery holds and none is dropped.
 */
#include "gw_route.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gw_parties.h"
#include "mn_referral.h"

#define S_LEVEL_FULL MELDNET__SHARING_LEVEL__FULL
#define S_LEVEL_PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS

/* ---------------------------------------------------------------------------------------------
 * Evaluation */

static uint32_t s_bit(int value)
{
    return value >= 0 && value < GW_RULE_ENUM_MAX ? 1u << value : 0;
}

static int s_yes(protobuf_c_boolean has, Meldnet__Tristate v)
{
    return has && v == MELDNET__TRISTATE__YES;
}

static int s_in_list(const char *value, const char (*list)[65], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(value, list[i]) == 0)
            return 1;
    return 0;
}

static int s_in_codes(const char *value, const char (*list)[8], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(value, list[i]) == 0)
            return 1;
    return 0;
}

static int s_holds(const gw_rule *rule, const mn_report *r, const char *today)
{
    const Meldnet__Reporter *rp = r->reporter;
    const Meldnet__Victim *v = r->victim;

    if (rule->acute >= 0 && (r->has_acute_danger && r->acute_danger) != rule->acute)
        return 0;
    if (rule->minor >= 0) {
        int age = mn_report_victim_age(r, today);
        if ((age >= 0 && age < 18) != rule->minor)
            return 0;
    }
    if (rule->online >= 0 && s_yes(r->has_online, r->online) != rule->online)
        return 0;
    if (rule->shelter >= 0 &&
        (v && s_yes(v->has_shelter_needed, v->shelter_needed)) != rule->shelter)
        return 0;
    if (rule->forms) {
        int any = 0;
        for (size_t i = 0; i < r->n_exploitation && !any; i++)
            any = r->exploitation[i] && (rule->forms & s_bit(r->exploitation[i]->form));
        if (!any)
            return 0;
    }
    if (rule->sexual) {
        int any = 0;
        for (size_t i = 0; i < r->n_exploitation && !any; i++) {
            const Meldnet__Exploitation *e = r->exploitation[i];
            if (e && e->form == MELDNET__EXPLOITATION_FORM__SEXUAL)
                any = (rule->sexual &
                       s_bit(e->has_sexual ? (int)e->sexual
                                           : MELDNET__SEXUAL_SUBTYPE__SEXUAL_SUBTYPE_UNKNOWN)) != 0;
        }
        if (!any)
            return 0;
    }
    if (rule->reporter_types &&
        !(rule->reporter_types &
          s_bit(rp && rp->has_organisation_type ? (int)rp->organisation_type : 0)))
        return 0;
    if (rule->reporter_kinds &&
        !(rule->reporter_kinds & s_bit(rp && rp->has_kind ? (int)rp->kind : 0)))
        return 0;
    if (rule->n_regions &&
        !s_in_list(r->region ? r->region : "unknown", rule->regions, rule->n_regions))
        return 0;
    if (rule->n_municipalities &&
        !s_in_codes(r->municipality_code ? r->municipality_code : "unknown", rule->municipalities,
                    rule->n_municipalities))
        return 0;
    for (int k = 0; k < GW_RULE_CONSENT_N; k++)
        if (rule->consent[k] >= 0 && mn_report_consent(r, k) != rule->consent[k])
            return 0;
    return 1;
}

/* A placeholder's value: lowercased, "unknown" when absent or not fit for a topic. */
static void s_placeholder_value(const char *value, char *out, size_t cap)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0 || n >= cap) {
        snprintf(out, cap, "unknown");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!mn_topic_char_is_valid(c)) {
            snprintf(out, cap, "unknown");
            return;
        }
        out[i] = c;
    }
    out[n] = '\0';
}

static void s_fill(const char *tmpl, const char *region, const char *muni, char *out)
{
    size_t o = 0;
    for (size_t i = 0; tmpl[i] && o <= MN_TOPIC_MAX;) {
        const char *value = NULL;
        if (strncmp(tmpl + i, "{region}", 8) == 0) {
            value = region;
            i += 8;
        } else if (strncmp(tmpl + i, "{municipality}", 14) == 0) {
            value = muni;
            i += 14;
        }
        if (value) {
            for (; *value && o <= MN_TOPIC_MAX; value++)
                out[o++] = *value;
        } else {
            out[o++] = tmpl[i++];
        }
    }
    out[o <= MN_TOPIC_MAX ? o : MN_TOPIC_MAX] = '\0';
    if (o > MN_TOPIC_MAX)
        out[0] = '\0'; /* too long: not a valid topic */
}

/* Expand a template. A value that would make it too long becomes "unknown", so the topic still
 * exists (and shows up as unbound) instead of being lost. */
static void s_expand(const char *tmpl, const mn_report *r, char out[MN_TOPIC_MAX + 1])
{
    char region[MN_TOPIC_MAX + 1];
    char muni[MN_TOPIC_MAX + 1];
    s_placeholder_value(r->region, region, sizeof region);
    s_placeholder_value(r->municipality_code, muni, sizeof muni);
    s_fill(tmpl, region, muni, out);
    if (!mn_topic_is_valid(out))
        s_fill(tmpl, "unknown", "unknown", out);
}

void gw_route_evaluate(const gw_rule *rules, size_t n_rules, const mn_report *r, const char *today,
                       gw_route_match *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if (!rules || !r)
        return;
    for (size_t i = 0; i < n_rules; i++) {
        const gw_rule *rule = &rules[i];
        if (!s_holds(rule, r, today))
            continue;
        for (size_t e = 0; e < rule->n_emit && e < MN_TOPICS_MAX; e++) {
            char topic[MN_TOPIC_MAX + 1];
            size_t k;
            s_expand(rule->emit[e], r, topic);
            if (!mn_topic_is_valid(topic))
                continue;
            for (k = 0; k < out->topics.n; k++)
                if (strcmp(out->topics.name[k], topic) == 0)
                    break;
            if (k < out->topics.n) {
                out->overriding[k] |= rule->overrides_consent ? 1 : 0;
                continue;
            }
            if (out->topics.n == MN_TOPICS_MAX)
                continue; /* parse keeps the distinct templates within MN_TOPICS_MAX */
            memcpy(out->topics.name[k], topic, sizeof topic);
            out->rule_of[k] = (int)i;
            out->overriding[k] = rule->overrides_consent ? 1 : 0;
            out->topics.n++;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Plan */

/* Rank of a sharing level: lower is more open. An unknown level counts as statistics. */
static int s_rank(int level)
{
    return level == S_LEVEL_FULL ? 0 : level == S_LEVEL_PSEUDO ? 1 : 2;
}

/* Append name to the comma-joined list unless it is there or does not fit. */
static void s_add_rule_name(char *list, size_t cap, const char *name)
{
    size_t len = strlen(list);
    size_t nlen = strlen(name);
    for (const char *t = list; *t;) {
        const char *comma = strchr(t, ',');
        size_t tlen = comma ? (size_t)(comma - t) : strlen(t);
        if (tlen == nlen && strncmp(t, name, nlen) == 0)
            return;
        t += tlen + (comma ? 1 : 0);
    }
    if (nlen == 0 || len + (len ? 1 : 0) + nlen + 1 > cap)
        return;
    snprintf(list + len, cap - len, "%s%s", len ? "," : "", name);
}

void gw_route_plan(const gw_rule *rules, const gw_route_match *m, const gw_partner *partners,
                   size_t n_partners, gw_route_target *targets, size_t *n_targets,
                   mn_topics *unbound)
{
    int bound[MN_TOPICS_MAX] = {0};
    size_t n_topics;

    assert(m && n_targets && unbound);
    *n_targets = 0;
    memset(unbound, 0, sizeof *unbound);
    n_topics = m->topics.n < MN_TOPICS_MAX ? m->topics.n : MN_TOPICS_MAX;
    for (size_t p = 0; p < n_partners; p++) {
        const gw_partner *partner = &partners[p];
        if (partner->revoked) /* it may receive nothing; its topics may go unrouted */
            continue;
        gw_route_target t;
        memset(&t, 0, sizeof t);
        t.partner = partner;
        for (size_t i = 0; i < n_topics; i++) {
            const char *topic = m->topics.name[i];
            int best = 0;
            for (size_t b = 0; b < partner->n_bindings && b < GW_BINDINGS_MAX; b++) {
                const gw_binding *bd = &partner->bindings[b];
                if (mn_topic_matches(bd->topic, topic) &&
                    (!best || s_rank(bd->sharing) < s_rank(best)))
                    best = mn_sharing_level(bd->sharing);
            }
            if (!best)
                continue;
            bound[i] = 1;
            memcpy(t.topics.name[t.topics.n++], topic, sizeof t.topics.name[0]);
            if (!t.sharing || s_rank(best) < s_rank(t.sharing))
                t.sharing = best;
            /* An override reaches the partner only through a FULL binding of that topic. */
            if (m->overriding[i] && best == S_LEVEL_FULL)
                t.overriding = 1;
            if (rules && m->rule_of[i] >= 0)
                s_add_rule_name(t.rules, sizeof t.rules, rules[m->rule_of[i]].name);
        }
        if (t.topics.n)
            targets[(*n_targets)++] = t;
    }
    for (size_t i = 0; i < n_topics; i++)
        if (!bound[i])
            memcpy(unbound->name[unbound->n++], m->topics.name[i], sizeof unbound->name[0]);
}

/* True when a binding of a partner that is not revoked covers every topic tmpl can expand to.
 * A placeholder stands for any value, written here as a character no topic or pattern holds, so
 * only a pattern ending before it ("police.*", "*") matches. */
static int s_template_bound(const char *tmpl, const gw_partner *partners, size_t n_partners)
{
    char topic[MN_TOPIC_MAX + 2];
    size_t head = strcspn(tmpl, "{");
    snprintf(topic, sizeof topic, "%.*s%s", (int)(head < MN_TOPIC_MAX ? head : MN_TOPIC_MAX), tmpl,
             tmpl[head] ? "\x01" : "");
    for (size_t p = 0; p < n_partners; p++) {
        if (partners[p].revoked)
            continue;
        for (size_t b = 0; b < partners[p].n_bindings && b < GW_BINDINGS_MAX; b++)
            if (mn_topic_matches(partners[p].bindings[b].topic, topic))
                return 1;
    }
    return 0;
}

void gw_route_acute_unbound(const gw_rule *rules, size_t n_rules, const gw_partner *partners,
                            size_t n_partners, mn_topics *unbound)
{
    assert(unbound);
    memset(unbound, 0, sizeof *unbound);
    for (size_t i = 0; rules && i < n_rules; i++) {
        if (rules[i].acute != 1)
            continue;
        for (size_t e = 0; e < rules[i].n_emit && e < MN_TOPICS_MAX; e++) {
            const char *tmpl = rules[i].emit[e];
            size_t k;
            for (k = 0; k < unbound->n; k++)
                if (strcmp(unbound->name[k], tmpl) == 0)
                    break;
            if (k < unbound->n || unbound->n == MN_TOPICS_MAX ||
                s_template_bound(tmpl, partners, n_partners))
                continue;
            snprintf(unbound->name[unbound->n++], sizeof unbound->name[0], "%s", tmpl);
        }
    }
}
