/* gw_route.c - routing rules (which topics a report reaches) and redaction (what each recipient
 * may see of it).
 *
 * Routing: every rule whose conditions all hold emits its topics, placeholders expanded. A
 * topic emitted twice keeps the first rule as rule_of; it counts as emitted by a
 * consent-overriding rule when any rule that emitted it overrides consent. A partner's share
 * (gw_route_plan) is the set of matched topics its bindings match, at the most open sharing
 * level of those bindings. It is marked overriding only when an overriding topic reaches it
 * through a FULL binding: a partner bound to police.acute as pseudonymous and to care.* as full
 * must not get identity without share_care because police.acute overrides consent.
 *
 * Redaction builds the referral from shallow copies of the report's messages that keep only
 * what the recipient may see (the caller's report is never changed; unknown fields are never
 * copied), then packs it and unpacks it once: every part of the result is a separate malloc()
 * block of protobuf-c, which mn_referral_destroy frees. The packed bytes are wiped.
 *
 * Decisions (the header is the spec; these fill its gaps):
 *   - FULL for a kind without a consent flag (hotline, shelter, other) goes out pseudonymous
 *     unless an overriding rule chose it: nobody consented to it.
 *   - The victim pseudonym is only in pseudonymous referrals (also a downgraded FULL). A FULL
 *     referral carries no pseudonym, so a partner that once got a victim's identity with consent
 *     cannot link later referrals made without consent to it.
 *   - Referral.acute is the report's acute_danger, whichever rule chose the recipient: the same
 *     fact is in the report (or the figures) anyway, and acute reports go first everywhere.
 *   - Ages (kept when a date of birth is removed, age bands) are taken on the day of
 *     accepted_ms (UTC), today when it is 0.
 *   - The distinct emit templates of all rules are at most MN_TOPICS_MAX (checked when
 *     parsing), so no report can match more topics than a delivery holds and none is dropped.
 *
 * Caveats: free text (narrative, acute_reason, exploitation descriptions, suspects'
 * descriptions) goes out as written at FULL and PSEUDONYMOUS; reporters are asked not to put
 * names in it, but nothing here can check that. Name normalisation for pseudonyms folds ASCII
 * case only ("Ř" and "ř" differ).
 */
#include "gw_route.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mn_envelope.h"
#include "mn_suggest.h"
#include "mn_time.h"

#define S_ANY (-1)
#define S_CONSENT_N 5
#define S_LEVEL_FULL MELDNET__SHARING_LEVEL__FULL
#define S_LEVEL_PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define S_LEVEL_STATS MELDNET__SHARING_LEVEL__STATISTICS
#define S_ENUM_MAX 32 /* enumeration values fit a uint32_t bit set */

/* ---------------------------------------------------------------------------------------------
 * Default rules */

static const gw_rule s_defaults[] = {
    {
        .name = "acute",
        .acute = 1, .minor = S_ANY, .online = S_ANY, .shelter = S_ANY,
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"police.acute"}, .n_emit = 1,
        .overrides_consent = 1,
    },
    {
        .name = "minor-sexual",
        .acute = S_ANY, .minor = 1, .online = S_ANY, .shelter = S_ANY,
        .forms = 1u << MELDNET__EXPLOITATION_FORM__SEXUAL,
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"care.{region}"}, .n_emit = 1,
    },
    {
        .name = "online-sexual",
        .acute = S_ANY, .minor = S_ANY, .online = S_ANY, .shelter = S_ANY,
        .sexual = (1u << MELDNET__SEXUAL_SUBTYPE__SEXTORTION) |
                  (1u << MELDNET__SEXUAL_SUBTYPE__GROOMING),
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"research.online"}, .n_emit = 1,
    },
    {
        .name = "online",
        .acute = S_ANY, .minor = S_ANY, .online = 1, .shelter = S_ANY,
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"research.online"}, .n_emit = 1,
    },
    {
        .name = "shelter",
        .acute = S_ANY, .minor = S_ANY, .online = S_ANY, .shelter = 1,
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"shelter.coordination"}, .n_emit = 1,
    },
    {
        .name = "all",
        .acute = S_ANY, .minor = S_ANY, .online = S_ANY, .shelter = S_ANY,
        .consent = {S_ANY, S_ANY, S_ANY, S_ANY, S_ANY},
        .emit = {"hotline.{region}"}, .n_emit = 1,
    },
};

const gw_rule *gw_route_defaults(size_t *n)
{
    if (n)
        *n = sizeof s_defaults / sizeof s_defaults[0];
    return s_defaults;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing */

static const char *const s_rule_keys[] = {"name", "when", "emit", "overrides_consent"};
static const char *const s_when_keys[] = {"acute",  "minor",         "online", "shelter",
                                          "form",   "sexual",        "reporter",
                                          "reporter_kind", "region", "municipality", "consent"};
static const char *const s_consent_keys[S_CONSENT_N] = {
    "register_identity", "share_police", "share_care", "share_research",
    "reporter_contact_shareable"};
static const char *const s_placeholders[] = {"region", "municipality"};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct s_parse {
    const char *file; /* the config file, when libconfig does not name one */
    mn_diag *d;
    char label[96];   /* "route \"acute\"" or "route #3", for messages */
    const char *distinct[MN_TOPICS_MAX]; /* distinct emit templates so far (in the rules) */
    size_t n_distinct;
} s_parse;

/* "file:line" of a setting; the tail of a long path is kept. cap is at least 32. */
static void s_where(const s_parse *p, const config_setting_t *s, char *buf, size_t cap)
{
    const char *file = config_setting_source_file(s);
    char suffix[16];
    int sn = snprintf(suffix, sizeof suffix, ":%u", config_setting_source_line(s));
    size_t slen = sn > 0 ? (size_t)sn : 0;
    size_t flen;

    if (!file)
        file = p->file ? p->file : "gateway.conf";
    flen = strlen(file);
    if (flen + slen + 1 > cap) {
        size_t keep = cap - 1 - slen - 3;
        memcpy(buf, "...", 3);
        memcpy(buf + 3, file + flen - keep, keep);
        memcpy(buf + 3 + keep, suffix, slen + 1);
    } else {
        memcpy(buf, file, flen);
        memcpy(buf + flen, suffix, slen + 1);
    }
}

static int s_fail(const s_parse *p, const config_setting_t *s, const char *fmt, ...)
    MN_PRINTF(3, 4);

static int s_fail(const s_parse *p, const config_setting_t *s, const char *fmt, ...)
{
    char where[sizeof p->d->where];
    char what[sizeof p->d->what];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    s_where(p, s, where, sizeof where);
    return mn_diag_set(p->d, MN_ECONFIG, where, "%s: %s", p->label, what);
}

/* "a, b, c" of a list of names, for hints. */
static void s_join(const char *const *names, size_t n, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos < cap; i++) {
        int k = snprintf(buf + pos, cap - pos, "%s%s", i ? ", " : "", names[i]);
        if (k < 0)
            break;
        pos += (size_t)k;
    }
}

static int s_unknown_key(const s_parse *p, const config_setting_t *s, const char *kind,
                         const char *const *known, size_t n)
{
    char list[512];
    const char *name = config_setting_name(s);
    const char *near = mn_suggest_closest(name, known, n);
    int rc = s_fail(p, s, "unknown %s \"%s\"", kind, name ? name : "?");
    s_join(known, n, list, sizeof list);
    if (near)
        mn_diag_hint(p->d, "did you mean \"%s\"? %ss are %s", near, kind, list);
    else
        mn_diag_hint(p->d, "%ss are %s", kind, list);
    return rc;
}

static int s_key_index(const char *name, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name && strcmp(name, keys[i]) == 0)
            return (int)i;
    return -1;
}

static int s_get_bool(const s_parse *p, const config_setting_t *s, const char *what, int *out)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        int rc = s_fail(p, s, "%s must be true or false", what);
        mn_diag_hint(p->d, "write %s = true; or %s = false; (no quotes)",
                     config_setting_name(s), config_setting_name(s));
        return rc;
    }
    *out = config_setting_get_bool(s) ? 1 : 0;
    return MN_OK;
}

/* A non-empty array or list of strings, at most max entries. */
static int s_check_strings(const s_parse *p, const config_setting_t *s, const char *what,
                           int max)
{
    int type = config_setting_type(s);
    int n;
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
        int rc = s_fail(p, s, "%s must be a list of strings", what);
        mn_diag_hint(p->d, "write it in brackets, e.g. %s = [ \"...\" ];", config_setting_name(s));
        return rc;
    }
    n = config_setting_length(s);
    if (n == 0) {
        int rc = s_fail(p, s, "%s is an empty list", what);
        mn_diag_hint(p->d, "name at least one value, or leave %s out", config_setting_name(s));
        return rc;
    }
    if (n > max) {
        int rc = s_fail(p, s, "%s has %d entries; at most %d are allowed", what, n, max);
        mn_diag_hint(p->d, "split the rule in two");
        return rc;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            int rc = s_fail(p, e, "%s[%d] is not a string", what, i);
            mn_diag_hint(p->d, "write each value in double quotes");
            return rc;
        }
    }
    return MN_OK;
}

/* A list of names of a report enumeration (as in the report JSON) -> bit set. */
static int s_get_enum_set(const s_parse *p, const config_setting_t *s, const char *what,
                          const ProtobufCEnumDescriptor *desc, const char *plural,
                          const char *kind, uint32_t *out)
{
    const char *names[S_ENUM_MAX];
    size_t n_names = 0;
    int values[S_ENUM_MAX];
    int rc;
    int n;

    if ((rc = s_check_strings(p, s, what, S_ENUM_MAX)) != MN_OK)
        return rc;
    for (int v = 0; v < S_ENUM_MAX; v++) {
        const char *name = mn_report_enum_name(desc, v);
        if (name) {
            names[n_names] = name;
            values[n_names++] = v;
        }
    }
    *out = 0;
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        int found = s_key_index(text, names, n_names);
        if (found < 0) {
            char list[512];
            const char *near = mn_suggest_closest(text, names, n_names);
            rc = s_fail(p, e, "\"%s\" is not %s", text, kind);
            s_join(names, n_names, list, sizeof list);
            if (near)
                mn_diag_hint(p->d, "did you mean \"%s\"? %s: %s", near, plural, list);
            else
                mn_diag_hint(p->d, "%s: %s (lowercase, as in the report JSON)", plural, list);
            return rc;
        }
        *out |= 1u << values[found];
    }
    return MN_OK;
}

/* 1-64 characters of [a-z0-9-], like a report's region; or "unknown". */
static int s_is_region(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* A CBS code "GM" + 4 digits, or "unknown". */
static int s_is_municipality(const char *s)
{
    if (strcmp(s, "unknown") == 0)
        return 1;
    if (strlen(s) != 6 || s[0] != 'G' || s[1] != 'M')
        return 0;
    for (size_t i = 2; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int s_get_regions(const s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    int rc = s_check_strings(p, s, "when.region", GW_RULE_LIST_MAX);
    int n = config_setting_length(s);
    for (int i = 0; rc == MN_OK && i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        if (!s_is_region(text)) {
            rc = s_fail(p, e, "\"%s\" is not a region code", text);
            mn_diag_hint(p->d, "a region is written as in the reports: 1-64 characters of a-z, "
                               "0-9 and '-', e.g. \"midden-nederland\"; \"unknown\" matches "
                               "reports without a region");
            break;
        }
        snprintf(rule->regions[rule->n_regions++], sizeof rule->regions[0], "%s", text);
    }
    return rc;
}

static int s_get_municipalities(const s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    int rc = s_check_strings(p, s, "when.municipality", GW_RULE_LIST_MAX);
    int n = config_setting_length(s);
    for (int i = 0; rc == MN_OK && i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        if (!s_is_municipality(text)) {
            rc = s_fail(p, e, "\"%s\" is not a municipality code", text);
            mn_diag_hint(p->d, "write the CBS code, \"GM\" and four digits, e.g. \"GM0344\"; "
                               "\"unknown\" matches reports without one");
            break;
        }
        snprintf(rule->municipalities[rule->n_municipalities++],
                 sizeof rule->municipalities[0], "%s", text);
    }
    return rc;
}

static int s_get_consent(const s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    int n;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        int rc = s_fail(p, s, "when.consent must be a group");
        mn_diag_hint(p->d, "write consent = { share_police = true; };");
        return rc;
    }
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        int k = s_key_index(config_setting_name(m), s_consent_keys, S_CONSENT_N);
        char what[64];
        int rc;
        if (k < 0)
            return s_unknown_key(p, m, "consent flag", s_consent_keys, S_CONSENT_N);
        snprintf(what, sizeof what, "when.consent.%s", s_consent_keys[k]);
        if ((rc = s_get_bool(p, m, what, &rule->consent[k])) != MN_OK)
            return rc;
    }
    return MN_OK;
}

static int s_get_when(const s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    int n;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        int rc = s_fail(p, s, "when must be a group of conditions");
        mn_diag_hint(p->d, "write when = { acute = true; form = [ \"sexual\" ]; };");
        return rc;
    }
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *key = config_setting_name(m);
        int rc;
        switch (s_key_index(key, s_when_keys, S_COUNT(s_when_keys))) {
        case 0:
            rc = s_get_bool(p, m, "when.acute", &rule->acute);
            break;
        case 1:
            rc = s_get_bool(p, m, "when.minor", &rule->minor);
            break;
        case 2:
            rc = s_get_bool(p, m, "when.online", &rule->online);
            break;
        case 3:
            rc = s_get_bool(p, m, "when.shelter", &rule->shelter);
            break;
        case 4:
            rc = s_get_enum_set(p, m, "when.form", &meldnet__exploitation_form__descriptor,
                                "forms", "a form of exploitation", &rule->forms);
            break;
        case 5:
            rc = s_get_enum_set(p, m, "when.sexual", &meldnet__sexual_subtype__descriptor,
                                "sexual subtypes", "a sexual subtype", &rule->sexual);
            break;
        case 6:
            rc = s_get_enum_set(p, m, "when.reporter", &meldnet__organisation_type__descriptor,
                                "organisation types", "an organisation type",
                                &rule->reporter_types);
            break;
        case 7:
            rc = s_get_enum_set(p, m, "when.reporter_kind", &meldnet__reporter_kind__descriptor,
                                "reporter kinds", "a reporter kind", &rule->reporter_kinds);
            break;
        case 8:
            rc = s_get_regions(p, m, rule);
            break;
        case 9:
            rc = s_get_municipalities(p, m, rule);
            break;
        case 10:
            rc = s_get_consent(p, m, rule);
            break;
        default:
            rc = s_unknown_key(p, m, "condition", s_when_keys, S_COUNT(s_when_keys));
            break;
        }
        if (rc != MN_OK)
            return rc;
    }
    return MN_OK;
}

static int s_topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A topic with placeholders: check it, and that it is a valid topic once they are filled. */
static int s_check_template(const s_parse *p, const config_setting_t *e, const char *t)
{
    char probe[MN_TOPIC_MAX + 1];
    size_t len = strlen(t);
    size_t out = 0;
    int rc;

    if (len == 0 || len > MN_TOPIC_MAX) {
        rc = s_fail(p, e, "emit topic \"%.*s\" must be 1-%d characters", MN_TOPIC_MAX, t,
                    MN_TOPIC_MAX);
        mn_diag_hint(p->d, "topics look like \"care.{region}\" or \"police.acute\"");
        return rc;
    }
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '{') {
            const char *end = strchr(t + i, '}');
            char name[MN_TOPIC_MAX + 1];
            size_t nlen;
            if (!end) {
                rc = s_fail(p, e, "emit topic \"%s\" has a '{' without '}'", t);
                mn_diag_hint(p->d, "placeholders are {region} and {municipality}");
                return rc;
            }
            nlen = (size_t)(end - (t + i + 1));
            memcpy(name, t + i + 1, nlen);
            name[nlen] = '\0';
            if (s_key_index(name, s_placeholders, S_COUNT(s_placeholders)) < 0) {
                const char *near = mn_suggest_closest(name, s_placeholders,
                                                      S_COUNT(s_placeholders));
                rc = s_fail(p, e, "emit topic \"%s\": unknown placeholder {%s}", t, name);
                if (near)
                    mn_diag_hint(p->d, "did you mean {%s}? placeholders are {region} and "
                                       "{municipality}", near);
                else
                    mn_diag_hint(p->d, "placeholders are {region} and {municipality}");
                return rc;
            }
            probe[out++] = 'x';
            i += nlen + 1;
            continue;
        }
        if (!s_topic_char(t[i])) {
            rc = s_fail(p, e, "emit topic \"%s\" has a character that topics do not allow", t);
            if (t[i] == '*')
                mn_diag_hint(p->d, "emit names topics, not patterns; patterns such as "
                                   "\"care.*\" belong in partner bindings");
            else
                mn_diag_hint(p->d, "topics are lowercase a-z, 0-9, '.', '_' and '-', with "
                                   "placeholders {region} and {municipality}");
            return rc;
        }
        probe[out++] = t[i];
    }
    probe[out] = '\0';
    if (!mn_topic_is_valid(probe)) {
        rc = s_fail(p, e, "emit topic \"%s\" is not a valid topic", t);
        mn_diag_hint(p->d, "topics look like \"care.{region}\" or \"police.acute\"");
        return rc;
    }
    return MN_OK;
}

static int s_get_emit(s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    int rc = s_check_strings(p, s, "emit", MN_TOPICS_MAX);
    int n = config_setting_length(s);
    for (int i = 0; rc == MN_OK && i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        size_t k;
        if ((rc = s_check_template(p, e, text)) != MN_OK)
            break;
        for (k = 0; k < rule->n_emit; k++)
            if (strcmp(rule->emit[k], text) == 0)
                break;
        if (k < rule->n_emit) {
            rc = s_fail(p, e, "emit lists \"%s\" twice", text);
            mn_diag_hint(p->d, "remove one of them");
            break;
        }
        snprintf(rule->emit[rule->n_emit++], sizeof rule->emit[0], "%s", text);
        for (k = 0; k < p->n_distinct; k++)
            if (strcmp(p->distinct[k], text) == 0)
                break;
        if (k == p->n_distinct) {
            if (p->n_distinct == MN_TOPICS_MAX) {
                rc = s_fail(p, e, "the routes emit more than %d different topics",
                            MN_TOPICS_MAX);
                mn_diag_hint(p->d, "a report can reach at most %d topics; use fewer topics, or "
                                   "placeholders such as care.{region}",
                             MN_TOPICS_MAX);
                break;
            }
            p->distinct[p->n_distinct++] = rule->emit[rule->n_emit - 1];
        }
    }
    return rc;
}

/* 1-GW_RULE_NAME_MAX characters of [a-z0-9._-]: names are joined with commas in referrals. */
static int s_is_rule_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GW_RULE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!s_topic_char(s[i]))
            return 0;
    return 1;
}

static int s_parse_rule(s_parse *p, const config_setting_t *s, size_t index, gw_rule *rules)
{
    gw_rule *rule = &rules[index];
    const config_setting_t *name_s;
    const config_setting_t *emit_s = NULL;
    const char *name;
    int rc = MN_OK;
    int n;

    snprintf(p->label, sizeof p->label, "route #%zu", index + 1);
    memset(rule, 0, sizeof *rule);
    rule->acute = rule->minor = rule->online = rule->shelter = S_ANY;
    for (size_t k = 0; k < S_CONSENT_N; k++)
        rule->consent[k] = S_ANY;
    rule->line = (int)config_setting_source_line(s);

    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
        rc = s_fail(p, s, "is not a group");
        mn_diag_hint(p->d, "write each rule as { name = \"...\"; when = { ... }; "
                           "emit = [ \"topic\" ]; }");
        goto out;
    }
    name_s = config_setting_get_member(s, "name");
    if (!name_s) {
        rc = s_fail(p, s, "has no name");
        mn_diag_hint(p->d, "add name = \"...\"; a short unique name such as \"acute\"");
        goto out;
    }
    if (config_setting_type(name_s) != CONFIG_TYPE_STRING) {
        rc = s_fail(p, name_s, "name must be a string");
        mn_diag_hint(p->d, "write name = \"...\";");
        goto out;
    }
    name = config_setting_get_string(name_s);
    if (!s_is_rule_name(name)) {
        rc = s_fail(p, name_s, "name \"%.*s\" is not a rule name", GW_RULE_NAME_MAX, name);
        mn_diag_hint(p->d, "rule names are 1-%d characters of a-z, 0-9, '.', '_' and '-'",
                     GW_RULE_NAME_MAX);
        goto out;
    }
    for (size_t k = 0; k < index; k++) {
        if (strcmp(rules[k].name, name) == 0) {
            rc = s_fail(p, name_s, "the name \"%s\" is already used by the rule at line %d",
                        name, rules[k].line);
            mn_diag_hint(p->d, "give every rule its own name: referrals name the rules that "
                               "chose them");
            goto out;
        }
    }
    snprintf(rule->name, sizeof rule->name, "%s", name);
    snprintf(p->label, sizeof p->label, "route \"%s\"", name);

    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        switch (s_key_index(config_setting_name(m), s_rule_keys, S_COUNT(s_rule_keys))) {
        case 0:
            break;
        case 1:
            rc = s_get_when(p, m, rule);
            break;
        case 2:
            emit_s = m;
            rc = s_get_emit(p, m, rule);
            break;
        case 3:
            rc = s_get_bool(p, m, "overrides_consent", &rule->overrides_consent);
            break;
        default:
            rc = s_unknown_key(p, m, "field", s_rule_keys, S_COUNT(s_rule_keys));
            break;
        }
        if (rc != MN_OK)
            goto out;
    }
    if (!emit_s) {
        rc = s_fail(p, s, "has no emit");
        mn_diag_hint(p->d, "add emit = [ \"topic\" ]; the topics a matching report goes to");
        goto out;
    }
out:
    return rc;
}

int gw_route_parse(const config_setting_t *routes, const char *file, gw_rule **rules,
                   size_t *n, mn_diag *d)
{
    s_parse p;
    gw_rule *out = NULL;
    size_t count;
    int rc = MN_OK;

    assert(routes && rules && n);
    *rules = NULL;
    *n = 0;
    memset(&p, 0, sizeof p);
    p.file = file;
    p.d = d;
    snprintf(p.label, sizeof p.label, "routes");
    if (config_setting_type(routes) != CONFIG_TYPE_LIST) {
        rc = s_fail(&p, routes, "must be a list of rules");
        mn_diag_hint(d, "write routes = ( { name = \"...\"; when = { ... }; emit = [ ... ]; }, "
                        "... );");
        goto out;
    }
    count = (size_t)config_setting_length(routes);
    if (count == 0) {
        rc = s_fail(&p, routes, "is empty: no report would reach any partner");
        mn_diag_hint(d, "add rules, or remove \"routes\" to use the default rules");
        goto out;
    }
    out = calloc(count, sizeof *out);
    if (!out) {
        rc = mn_diag_set(d, MN_ENOMEM, "routes", "out of memory for %zu rules", count);
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        rc = s_parse_rule(&p, config_setting_get_elem(routes, (unsigned)i), i, out);
        if (rc != MN_OK)
            goto out;
    }
    *rules = out;
    *n = count;
    out = NULL;
out:
    free(out);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation */

static uint32_t s_bit(int value)
{
    return value >= 0 && value < S_ENUM_MAX ? 1u << value : 0;
}

static int s_yes(protobuf_c_boolean has, Meldnet__Tristate v)
{
    return has && v == MELDNET__TRISTATE__YES;
}

static int s_consent_flag(const mn_report *r, int k)
{
    const Meldnet__Consent *c = r->consent;
    if (!c)
        return 0;
    switch (k) {
    case 0:
        return c->has_register_identity && c->register_identity;
    case 1:
        return c->has_share_police && c->share_police;
    case 2:
        return c->has_share_care && c->share_care;
    case 3:
        return c->has_share_research && c->share_research;
    default:
        return c->has_reporter_contact_shareable && c->reporter_contact_shareable;
    }
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
        !s_in_codes(r->municipality_code ? r->municipality_code : "unknown",
                    rule->municipalities, rule->n_municipalities))
        return 0;
    for (int k = 0; k < S_CONSENT_N; k++)
        if (rule->consent[k] >= 0 && s_consent_flag(r, k) != rule->consent[k])
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
        if (!s_topic_char(c)) {
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

void gw_route_evaluate(const gw_rule *rules, size_t n_rules, const mn_report *r,
                       const char *today, gw_route_match *out)
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

static int s_level(int level)
{
    return level == S_LEVEL_FULL || level == S_LEVEL_PSEUDO ? level : S_LEVEL_STATS;
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
                    best = s_level(bd->sharing);
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

/* ---------------------------------------------------------------------------------------------
 * Pseudonyms */

void gw_route_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32])
{
    static const char tag[] = "meldnet-pseudonym-v1:";
    crypto_generichash_state st;
    crypto_generichash_init(&st, master, 32, 32);
    crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
    crypto_generichash_update(&st, (const unsigned char *)recipient, strlen(recipient));
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
}

static int s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Keyed BLAKE2b-128 of "v1|" + name (ASCII-lowercased, whitespace collapsed and trimmed) + "|"
 * + date_of_birth. The name is fed through a small buffer, never copied whole. */
static void s_pseudonym(const Meldnet__Victim *v, const uint8_t key[32],
                        uint8_t out[MN_PSEUDONYM_BYTES])
{
    crypto_generichash_state st;
    unsigned char chunk[64];
    size_t n = 0;
    int pending_space = 0;
    int started = 0;

    crypto_generichash_init(&st, key, 32, MN_PSEUDONYM_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)"v1|", 3);
    for (const char *s = v->name ? v->name : ""; *s; s++) {
        char c = *s;
        if (s_space(c)) {
            pending_space = started;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (n + 2 > sizeof chunk) {
            crypto_generichash_update(&st, chunk, n);
            n = 0;
        }
        if (pending_space)
            chunk[n++] = ' ';
        chunk[n++] = (unsigned char)c;
        pending_space = 0;
        started = 1;
    }
    crypto_generichash_update(&st, chunk, n);
    crypto_generichash_update(&st, (const unsigned char *)"|", 1);
    if (v->date_of_birth)
        crypto_generichash_update(&st, (const unsigned char *)v->date_of_birth,
                                  strlen(v->date_of_birth));
    crypto_generichash_final(&st, out, MN_PSEUDONYM_BYTES);
    sodium_memzero(chunk, sizeof chunk);
    sodium_memzero(&st, sizeof st);
}

/* ---------------------------------------------------------------------------------------------
 * Redaction */

typedef struct s_withheld {
    Meldnet__Withheld msg;
    char field[48];
} s_withheld;

/* Everything the referral points into until it is packed; all borrowed or owned here. */
typedef struct s_build {
    Meldnet__Referral ref;
    Meldnet__Report rep;
    Meldnet__Reporter reporter;
    Meldnet__Contact contact;
    Meldnet__Victim victim;
    Meldnet__Consent consent;
    Meldnet__ReportFigures figures;
    Meldnet__ExploitationForm forms[S_ENUM_MAX];
    Meldnet__Exploitation *expl;
    Meldnet__Exploitation **expl_p;
    Meldnet__Suspect *sus;
    Meldnet__Suspect **sus_p;
    Meldnet__Attachment *att;
    Meldnet__Attachment **att_p;
    s_withheld *wh;
    Meldnet__Withheld **wh_p;
    size_t n_wh;
    size_t cap_wh;
    char *topic_p[MN_TOPICS_MAX];
    char *rules_buf;
    char **rule_p;
    uint8_t pseudonym[MN_PSEUDONYM_BYTES];
} s_build;

static void s_withhold(s_build *b, const char *field, const char *reason)
{
    s_withheld *w;
    assert(b->n_wh < b->cap_wh); /* cap_wh counts every field that can be removed */
    w = &b->wh[b->n_wh];
    meldnet__withheld__init(&w->msg);
    snprintf(w->field, sizeof w->field, "%s", field);
    w->msg.field = w->field;
    w->msg.reason = (char *)reason;
    b->wh_p[b->n_wh++] = &w->msg;
}

static void s_no_unknown(ProtobufCMessage *m)
{
    m->n_unknown_fields = 0;
    m->unknown_fields = NULL;
}

/* Does the report's consent let identity go to this kind of recipient? */
static int s_consented(const mn_report *r, int kind)
{
    switch (kind) {
    case GW_PARTNER_POLICE:
        return s_consent_flag(r, 1);
    case GW_PARTNER_CARE:
        return s_consent_flag(r, 2);
    case GW_PARTNER_RESEARCH:
        return s_consent_flag(r, 3);
    case GW_PARTNER_REGISTRY:
        return s_consent_flag(r, 0);
    default:
        return 0; /* hotline, shelter, other: no consent flag covers them */
    }
}

static const char *s_no_consent_reason(int kind)
{
    switch (kind) {
    case GW_PARTNER_POLICE:
        return "no consent to share with police";
    case GW_PARTNER_CARE:
        return "no consent to share with care";
    case GW_PARTNER_RESEARCH:
        return "no consent to share with research";
    case GW_PARTNER_REGISTRY:
        return "no consent to register identity";
    case GW_PARTNER_HOTLINE:
        return "no consent to share with a hotline";
    case GW_PARTNER_SHELTER:
        return "no consent to share with shelter";
    default:
        return "no consent to share with this recipient";
    }
}

/* YYYY-MM-DD (UTC) of ms since the epoch; NULL (today) for 0. */
static const char *s_day(uint64_t ms, char buf[11])
{
    return ms ? mn_time_format_day(ms, buf, 11) : NULL;
}

static const char *s_age_band(int age)
{
    if (age < 0)
        return "unknown";
    if (age <= 11)
        return "0-11";
    if (age <= 15)
        return "12-15";
    if (age <= 17)
        return "16-17";
    if (age <= 22)
        return "18-22";
    if (age <= 29)
        return "23-29";
    if (age <= 39)
        return "30-39";
    if (age <= 49)
        return "40-49";
    return "50+";
}

static void s_figures(s_build *b, const mn_report *r, const char *day)
{
    Meldnet__ReportFigures *f = &b->figures;
    meldnet__report_figures__init(f);
    f->municipality_code = r->municipality_code;
    f->region = r->region;
    f->age_band = (char *)s_age_band(mn_report_victim_age(r, day));
    if (r->victim && r->victim->has_gender) {
        f->has_gender = 1;
        f->gender = r->victim->gender;
    }
    for (size_t i = 0; i < r->n_exploitation; i++) {
        size_t k;
        if (!r->exploitation[i])
            continue;
        for (k = 0; k < f->n_forms; k++)
            if (b->forms[k] == r->exploitation[i]->form)
                break;
        if (k == f->n_forms && f->n_forms < S_ENUM_MAX)
            b->forms[f->n_forms++] = r->exploitation[i]->form;
    }
    f->forms = f->n_forms ? b->forms : NULL;
    if (r->reporter && r->reporter->has_organisation_type) {
        f->has_reporter_type = 1;
        f->reporter_type = r->reporter->organisation_type;
    }
    f->has_acute_danger = 1;
    f->acute_danger = r->has_acute_danger && r->acute_danger;
}

/* The reporter: an anonymous one keeps neither organisation name nor contact; a named one's
 * contact goes out only with reporter_contact_shareable, and only in a FULL referral. */
static void s_reporter(s_build *b, const mn_report *r, int level, const char *why)
{
    Meldnet__Reporter *rp = &b->reporter;
    if (r->reporter)
        *rp = *r->reporter;
    else
        meldnet__reporter__init(rp);
    s_no_unknown(&rp->base);
    rp->contact = NULL;
    if (rp->has_anonymous && rp->anonymous) {
        if (rp->organisation_name) {
            s_withhold(b, "reporter.organisation_name", "reporter is anonymous");
            rp->organisation_name = NULL;
        }
        if (r->reporter && r->reporter->contact)
            s_withhold(b, "reporter.contact", "reporter is anonymous");
    } else if (r->reporter && r->reporter->contact) {
        if (!s_consent_flag(r, 4)) {
            s_withhold(b, "reporter.contact", "reporter did not consent to share contact");
        } else if (level != S_LEVEL_FULL) {
            s_withhold(b, "reporter.contact", why);
        } else {
            b->contact = *r->reporter->contact;
            s_no_unknown(&b->contact.base);
            rp->contact = &b->contact;
        }
    }
    b->rep.reporter = rp;
}

static void s_victim(s_build *b, const mn_report *r, int level, const char *why,
                     const char *day)
{
    Meldnet__Victim *v = &b->victim;
    if (!r->victim) {
        b->rep.victim = NULL;
        return;
    }
    *v = *r->victim;
    s_no_unknown(&v->base);
    if (level != S_LEVEL_FULL) {
        if (v->name) {
            s_withhold(b, "victim.name", why);
            v->name = NULL;
        }
        if (v->date_of_birth) {
            int age = mn_report_victim_age(r, day);
            s_withhold(b, "victim.date_of_birth", why);
            v->date_of_birth = NULL;
            if (age >= 0) {
                v->has_age_years = 1;
                v->age_years = (uint32_t)age;
            }
        }
        if (v->address) {
            s_withhold(b, "victim.address", why);
            v->address = NULL;
        }
        if (v->phone) {
            s_withhold(b, "victim.phone", why);
            v->phone = NULL;
        }
    }
    b->rep.victim = v;
}

static int s_lists(s_build *b, const mn_report *r, int level, const char *why)
{
    size_t ne = r->n_exploitation, ns = r->n_suspects, na = r->n_attachments;

    b->expl = calloc(ne ? ne : 1, sizeof *b->expl);
    b->expl_p = calloc(ne ? ne : 1, sizeof *b->expl_p);
    b->sus = calloc(ns ? ns : 1, sizeof *b->sus);
    b->sus_p = calloc(ns ? ns : 1, sizeof *b->sus_p);
    b->att = calloc(na ? na : 1, sizeof *b->att);
    b->att_p = calloc(na ? na : 1, sizeof *b->att_p);
    if (!b->expl || !b->expl_p || !b->sus || !b->sus_p || !b->att || !b->att_p)
        return MN_ENOMEM;

    b->rep.n_exploitation = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!r->exploitation[i])
            continue;
        b->expl[i] = *r->exploitation[i];
        s_no_unknown(&b->expl[i].base);
        b->expl_p[b->rep.n_exploitation++] = &b->expl[i];
    }
    b->rep.exploitation = b->expl_p;

    b->rep.n_suspects = 0;
    for (size_t i = 0; i < ns; i++) {
        Meldnet__Suspect *s = &b->sus[i];
        char field[48];
        if (!r->suspects[i])
            continue;
        *s = *r->suspects[i];
        s_no_unknown(&s->base);
        if (level != S_LEVEL_FULL) {
            if (s->name) {
                snprintf(field, sizeof field, "suspects[%zu].name", i);
                s_withhold(b, field, why);
                s->name = NULL;
            }
            if (s->phone) {
                snprintf(field, sizeof field, "suspects[%zu].phone", i);
                s_withhold(b, field, why);
                s->phone = NULL;
            }
        }
        b->sus_p[b->rep.n_suspects++] = s;
    }
    b->rep.suspects = b->sus_p;

    b->rep.n_attachments = 0;
    if (level != S_LEVEL_FULL) {
        if (na)
            s_withhold(b, "attachments", why);
    } else {
        for (size_t i = 0; i < na; i++) {
            if (!r->attachments[i])
                continue;
            b->att[i] = *r->attachments[i];
            s_no_unknown(&b->att[i].base);
            b->att_p[b->rep.n_attachments++] = &b->att[i];
        }
    }
    b->rep.attachments = b->att_p;
    return MN_OK;
}

/* Topics and rule names (split at commas) of the referral. */
static int s_labels(s_build *b, const mn_topics *topics, const char *rules)
{
    size_t commas = 0;
    char *save = NULL;

    for (size_t i = 0; topics && i < topics->n && i < MN_TOPICS_MAX; i++)
        b->topic_p[b->ref.n_topics++] = (char *)topics->name[i];
    b->ref.topics = b->topic_p;

    rules = rules ? rules : "";
    for (const char *c = rules; *c; c++)
        commas += *c == ',';
    b->rules_buf = strdup(rules);
    b->rule_p = calloc(commas + 1, sizeof *b->rule_p);
    if (!b->rules_buf || !b->rule_p)
        return MN_ENOMEM;
    for (char *tok = strtok_r(b->rules_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        b->rule_p[b->ref.n_rules++] = tok;
    b->ref.rules = b->rule_p;
    return MN_OK;
}

static void s_build_free(s_build *b)
{
    if (!b)
        return;
    free(b->expl);
    free(b->expl_p);
    free(b->sus);
    free(b->sus_p);
    free(b->att);
    free(b->att_p);
    free(b->wh);
    free(b->wh_p);
    free(b->rules_buf);
    free(b->rule_p);
    sodium_memzero(b, sizeof *b); /* pointers to report text and the pseudonym */
    free(b);
}

/* Build the redacted view for one recipient into *b_out (shallow: it points into r). */
static int s_redact_build(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                          const char *recipient, int kind, int sharing, int overriding,
                          const mn_topics *topics, const char *rules,
                          const uint8_t recipient_key[32], s_build **b_out)
{
    s_build *b = NULL;
    char day_buf[11];
    const char *day = s_day(accepted_ms, day_buf);
    const char *why = NULL; /* why identifying fields are removed */
    int level = s_level(sharing);
    int rc;

    assert(r && recipient && recipient_key && b_out);
    *b_out = NULL;
    if (level == S_LEVEL_FULL && !overriding && !s_consented(r, kind)) {
        level = S_LEVEL_PSEUDO;
        why = s_no_consent_reason(kind);
    } else if (level == S_LEVEL_PSEUDO) {
        why = "pseudonymous binding";
    }

    b = calloc(1, sizeof *b);
    if (!b)
        return MN_ENOMEM;
    b->cap_wh = 8 + 2 * r->n_suspects;
    b->wh = calloc(b->cap_wh, sizeof *b->wh);
    b->wh_p = calloc(b->cap_wh, sizeof *b->wh_p);
    if (!b->wh || !b->wh_p) {
        rc = MN_ENOMEM;
        goto fail;
    }
    meldnet__referral__init(&b->ref);
    b->ref.version = 1;
    b->ref.registration = registration;
    b->ref.recipient = (char *)recipient;
    b->ref.sharing = (Meldnet__SharingLevel)level;
    b->ref.accepted_ms = accepted_ms;
    b->ref.has_acute = 1;
    b->ref.acute = r->has_acute_danger && r->acute_danger;
    if ((rc = s_labels(b, topics, rules)) != MN_OK)
        goto fail;

    if (level == S_LEVEL_STATS) {
        s_figures(b, r, day);
        b->ref.figures = &b->figures;
        s_withhold(b, "report", "statistics binding");
    } else {
        b->rep = *r;
        s_no_unknown(&b->rep.base);
        s_reporter(b, r, level, why);
        s_victim(b, r, level, why, day);
        if (r->consent) {
            b->consent = *r->consent;
            s_no_unknown(&b->consent.base);
            b->rep.consent = &b->consent;
        }
        if ((rc = s_lists(b, r, level, why)) != MN_OK)
            goto fail;
        b->ref.report = &b->rep;
        if (level == S_LEVEL_PSEUDO && r->victim && (r->victim->name || r->victim->date_of_birth)) {
            s_pseudonym(r->victim, recipient_key, b->pseudonym);
            b->ref.has_victim_pseudonym = 1;
            b->ref.victim_pseudonym.data = b->pseudonym;
            b->ref.victim_pseudonym.len = sizeof b->pseudonym;
        }
    }
    b->ref.n_withheld = b->n_wh;
    b->ref.withheld = b->n_wh ? b->wh_p : NULL;
    *b_out = b;
    return MN_OK;
fail:
    s_build_free(b);
    return rc;
}

int gw_route_redact(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                    const char *recipient, int kind, int sharing, int overriding,
                    const mn_topics *topics, const char *rules,
                    const uint8_t recipient_key[32], mn_referral **out)
{
    s_build *b = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = s_redact_build(r, registration, accepted_ms, recipient, kind, sharing, overriding,
                            topics, rules, recipient_key, &b);
    /* An owned copy: through the encoder and back. */
    if (rc == MN_OK)
        rc = mn_referral_encode(&b->ref, &buf, &len);
    if (rc == MN_OK)
        rc = mn_referral_decode(buf, len, len, out, NULL);
    mn_plain_free(buf, len);
    s_build_free(b);
    return rc;
}

int gw_route_redact_view(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                         const char *recipient, int kind, int sharing, int overriding,
                         const mn_topics *topics, const char *rules,
                         const uint8_t recipient_key[32],
                         int (*use)(const mn_referral *view, void *arg), void *arg)
{
    s_build *b = NULL;
    int rc = s_redact_build(r, registration, accepted_ms, recipient, kind, sharing, overriding,
                            topics, rules, recipient_key, &b);
    if (rc == MN_OK)
        rc = use(&b->ref, arg);
    s_build_free(b);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Explain */

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

int gw_route_explain(FILE *out, const gw_config *cfg, const mn_report *r,
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
        rules = gw_route_defaults(&n_rules);
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
        gw_route_recipient_key(master_key, t->partner->name, key);
        rc = gw_route_redact(r, 0, now_ms, t->partner->name, t->partner->kind, t->sharing,
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
