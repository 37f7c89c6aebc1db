/* ctl_route.c - meldnetctl route test: what the routing rules make of one report, and what each
 * partner would receive. Builds everything the gateway would, seals and stores nothing.
 */
#include "ctl_route.h"

#include <assert.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_common.h"
#include "gw_redact.h"
#include "gw_route.h"
#include "gw_rules.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_referral.h"
#include "mn_time.h"

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
            fprintf(out, "%.*s\"(test)\"%.*s\n", (int)(value - line), line, (int)(line + n - end),
                    end);
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
        mn_topics_join(&t->topics, ",", list, sizeof list);
        fprintf(out, "partner %s kind=%s topics=%s sharing=%s (requested %s)%s\n", t->partner->name,
                gw_partner_kind_name(t->partner->kind), list, mn_sharing_name((int)ref->sharing),
                mn_sharing_name(t->sharing), t->overriding ? " overrides_consent" : "");
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

/* --- the command ------------------------------------------------------------------------- */

static const char s_usage_route[] = "usage: meldnetctl route test FILE.json [--home DIR]\n"
                                    "\n"
                                    "test  dry-run the routing rules on a report file.\n"
                                    "\n"
                                    "`meldnetctl route test --help` explains it.\n";

static const char s_usage_route_test[] =
    "usage: meldnetctl route test FILE.json [--home DIR]\n"
    "\n"
    "Dry-run the routing rules of the home's gateway.conf on the report in FILE.json (\"-\":\n"
    "stdin): print the topics it reaches and by which rule, the topics no partner is bound to,\n"
    "and for every partner that would get it the referral JSON it would receive, after\n"
    "redaction. Changes nothing. Needs keys/pseudonym.key (the pseudonyms are real). The\n"
    "output holds report fields: run it where reports may be read.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

/* Today's date in UTC, YYYY-MM-DD (the routing rules' "minor" test). */
static void s_today(char out[11])
{
    if (!mn_time_format_day(mn_now_ms(), out, 11))
        snprintf(out, 11, "1970-01-01");
}

static int s_route_test(int argc, char **argv)
{
    gw_config *cfg = NULL;
    mn_secret32 *key = NULL;
    mn_report *report = NULL;
    char today[11];
    mn_diag d = {0};

    int rc = ctl_home_command(argc, argv, "route test", s_usage_route_test, 1,
                              "give one report FILE.json (\"-\": stdin)", &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    const char *file = argv[optind];
    if (mn_secret32_load(cfg->pseudonym_key, &key, &d) != MN_OK)
        goto out;
    int lrc = mn_report_load_json(file, &report, &d);
    if (lrc == MN_OK)
        lrc = mn_report_validate(report, &d);
    if (lrc != MN_OK) {
        if (lrc == MN_EREPORT) { /* where is a JSON path: say in which file */
            char where[sizeof d.where];
            if (snprintf(where, sizeof where, "%s: %s", file, d.where) > 0)
                memcpy(d.where, where, sizeof d.where);
        }
        goto out;
    }
    s_today(today);
    if (ctl_route_explain(stdout, cfg, report, mn_secret32_bytes(key), today) != MN_OK) {
        mn_diag_set(&d, MN_ENOMEM, file, "out of memory explaining the routes");
        goto out;
    }
    if (fflush(stdout) != 0) {
        mn_diag_sys(&d, "stdout", "cannot write the result");
        goto out;
    }
    rc = CTL_EXIT_OK;
out:
    mn_report_destroy(&report);
    mn_secret32_destroy(&key);
    gw_config_destroy(&cfg);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}

int ctl_cmd_route(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"test", s_route_test, CTL_PROG " route test"},
    };
    return ctl_group(argc, argv, "route", s_usage_route, subs, sizeof subs / sizeof subs[0],
                     "test");
}
