/* ctl_explain.c - meldnetctl route test: what the routing rules make of one report, and what
 * each partner would receive. Builds everything the gateway would, seals and stores nothing.
 */
#include "ctl_explain.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gw_redact.h"
#include "gw_route.h"
#include "gw_rules.h"
#include "mn_envelope.h"
#include "mn_referral.h"
#include "mn_time.h"

static void s_join_topics(const mn_topics *t, char *out, size_t cap)
{
    size_t pos = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n && pos < cap; i++) {
        int k = snprintf(out + pos, cap - pos, "%s%s", i ? "," : "", t->name[i]);
        if (k < 0)
            break;
        pos += (size_t)k;
    }
}

/* Print JSON indented by four spaces; the dummy registration number shows as "(test)". */
static void s_print_json(FILE *out, const char *json)
{
    static const char key[] = "\"registration\": ";
    const char *line = json;
    int replaced = 0;

    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        const char *at = replaced ? NULL : strstr(line, key);
        fputs("    ", out);
        if (at && at < line + n) {
            const char *value = at + sizeof key - 1;
            const char *end = value;
            while (end < line + n && *end != ',')
                end++;
            fprintf(out, "%.*s\"(test)\"%.*s\n", (int)(value - line), line,
                    (int)(line + n - end), end);
            replaced = 1;
        } else {
            fprintf(out, "%.*s\n", (int)n, line);
        }
        line += n + (nl ? 1 : 0);
    }
}

int ctl_route_explain(FILE *out, const gw_config *cfg, const mn_report *r,
                      const uint8_t master_key[32], const char *today)
{
    const gw_rule *rules = cfg->rules;
    size_t n_rules = cfg->n_rules;
    gw_route_match m;
    gw_route_target *targets = NULL;
    size_t n_targets = 0;
    mn_topics unbound;
    mn_referral *ref = NULL;
    char *json = NULL;
    uint64_t now_ms = mn_now_ms();
    int rc = MN_OK;

    assert(out && cfg && r && master_key);
    if (!rules)
        rules = gw_rules_defaults(&n_rules);
    gw_route_evaluate(rules, n_rules, r, today, &m);
    if (m.topics.n == 0)
        fprintf(out, "no rule matches: the report reaches no topic\n");
    for (size_t i = 0; i < m.topics.n; i++)
        fprintf(out, "topic %s  rule=%s%s\n", m.topics.name[i], rules[m.rule_of[i]].name,
                m.overriding[i] ? "  overrides_consent" : "");

    targets = calloc(cfg->n_partners ? cfg->n_partners : 1, sizeof *targets);
    if (!targets) {
        rc = MN_ENOMEM;
        goto out;
    }
    gw_route_plan(rules, &m, cfg->partners, cfg->n_partners, targets, &n_targets, &unbound);
    for (size_t i = 0; i < unbound.n; i++)
        fprintf(out, "unbound %s (no partner is bound)\n", unbound.name[i]);
    if (m.topics.n && n_targets == 0)
        fprintf(out, "no partner receives this report\n");

    for (size_t i = 0; i < n_targets; i++) {
        const gw_route_target *t = &targets[i];
        uint8_t key[32];
        char list[MN_TOPICS_MAX * (MN_TOPIC_MAX + 1) + 1];
        gw_redact_recipient_key(master_key, t->partner->name, key);
        rc = gw_redact_referral(r, 0, now_ms, t->partner->name, t->partner->kind, t->sharing,
                                t->overriding, &t->topics, t->rules, key, &ref);
        sodium_memzero(key, sizeof key);
        if (rc != MN_OK)
            goto out;
        if ((rc = mn_referral_to_json(ref, &json)) != MN_OK)
            goto out;
        s_join_topics(&t->topics, list, sizeof list);
        fprintf(out, "partner %s kind=%s topics=%s sharing=%s (requested %s)%s\n",
                t->partner->name, gw_partner_kind_name(t->partner->kind), list,
                mn_sharing_name((int)ref->sharing), mn_sharing_name(t->sharing),
                t->overriding ? " overrides_consent" : "");
        s_print_json(out, json);
        mn_plain_free((uint8_t *)json, strlen(json));
        json = NULL;
        mn_referral_destroy(&ref);
    }
out:
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_referral_destroy(&ref);
    free(targets);
    return rc;
}
