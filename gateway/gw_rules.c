/* gw_rules.c - routing rules: the defaults, and parsing the "routes" list of gateway.conf.
 *
 * Parsing checks everything a rule says before the gateway uses it: unknown keys, values and
 * placeholders are refused with file:line (libconfig's source line), the rule's name and a hint,
 * usually a "did you mean". The "when" conditions are read from one table (s_conditions): the
 * key, the kind of value it takes, where it goes in gw_rule, and for enumerations the report
 * enumeration whose JSON names it accepts. The rule's own fields are a table too (s_fields).
 *
 * Invariant: the distinct emit templates of all rules are at most MN_TOPICS_MAX, so no report
 * can match more topics than a delivery holds and none is dropped (gw_route_evaluate).
 */
#include "gw_rules.h"

#include <assert.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conf_util.h"
#include "mn_suggest.h"

/* ---------------------------------------------------------------------------------------------
 * Default rules */

static const gw_rule s_defaults[] = {
    {
        .name = "acute",
        .acute = 1,
        .minor = GW_RULE_ANY,
        .online = GW_RULE_ANY,
        .shelter = GW_RULE_ANY,
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"police.acute"},
        .n_emit = 1,
        .overrides_consent = 1,
    },
    {
        .name = "minor",
        .acute = GW_RULE_ANY,
        .minor = 1,
        .online = GW_RULE_ANY,
        .shelter = GW_RULE_ANY,
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"care.{region}"},
        .n_emit = 1,
    },
    {
        .name = "online-sexual",
        .acute = GW_RULE_ANY,
        .minor = GW_RULE_ANY,
        .online = GW_RULE_ANY,
        .shelter = GW_RULE_ANY,
        .sexual =
            (1u << MELDNET__SEXUAL_SUBTYPE__SEXTORTION) | (1u << MELDNET__SEXUAL_SUBTYPE__GROOMING),
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"research.online"},
        .n_emit = 1,
    },
    {
        .name = "online",
        .acute = GW_RULE_ANY,
        .minor = GW_RULE_ANY,
        .online = 1,
        .shelter = GW_RULE_ANY,
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"research.online"},
        .n_emit = 1,
    },
    {
        .name = "shelter",
        .acute = GW_RULE_ANY,
        .minor = GW_RULE_ANY,
        .online = GW_RULE_ANY,
        .shelter = 1,
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"shelter.coordination"},
        .n_emit = 1,
    },
    {
        .name = "all",
        .acute = GW_RULE_ANY,
        .minor = GW_RULE_ANY,
        .online = GW_RULE_ANY,
        .shelter = GW_RULE_ANY,
        .consent = {GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY, GW_RULE_ANY},
        .emit = {"hotline.{region}"},
        .n_emit = 1,
    },
};

const gw_rule *gw_rules_defaults(size_t *n)
{
    if (n)
        *n = sizeof s_defaults / sizeof s_defaults[0];
    return s_defaults;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing */

static const char *const s_consent_keys[GW_RULE_CONSENT_N] =
    {[MN_CONSENT_REGISTER_IDENTITY] = "register_identity",
     [MN_CONSENT_SHARE_POLICE] = "share_police",
     [MN_CONSENT_SHARE_CARE] = "share_care",
     [MN_CONSENT_SHARE_RESEARCH] = "share_research",
     [MN_CONSENT_REPORTER_CONTACT_SHAREABLE] = "reporter_contact_shareable"};
static const char *const s_placeholders[] = {"region", "municipality"};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct s_parse {
    const char *file; /* the config file, when libconfig does not name one */
    mn_diag *d;
    char label[96];                      /* "route \"acute\"" or "route #3", for messages */
    const char *distinct[MN_TOPICS_MAX]; /* distinct emit templates so far (in the rules) */
    size_t n_distinct;
} s_parse;

/* "file:line" of a setting; the tail of a long path is kept. cap is at least 32. */
static void s_where(const s_parse *p, const config_setting_t *s, char *buf, size_t cap)
{
    gw_conf_util_where(buf, cap, p->file ? p->file : "gateway.conf", s);
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
        mn_diag_hint(p->d, "write %s = true; or %s = false; (no quotes)", config_setting_name(s),
                     config_setting_name(s));
        return rc;
    }
    *out = config_setting_get_bool(s) ? 1 : 0;
    return MN_OK;
}

/* A non-empty array or list of strings, at most max entries. */
static int s_check_strings(const s_parse *p, const config_setting_t *s, const char *what, int max)
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
                          const ProtobufCEnumDescriptor *desc, const char *plural, const char *kind,
                          uint32_t *out)
{
    const char *names[GW_RULE_ENUM_MAX];
    size_t n_names = 0;
    int values[GW_RULE_ENUM_MAX];
    int rc;
    int n;

    if ((rc = s_check_strings(p, s, what, GW_RULE_ENUM_MAX)) != MN_OK)
        return rc;
    for (int v = 0; v < GW_RULE_ENUM_MAX; v++) {
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

/* What a "when" condition takes, and so how it is read. */
typedef enum s_value {
    S_BOOL,     /* true or false: an int, GW_RULE_ANY when absent */
    S_ENUM_SET, /* names of a report enumeration: a uint32_t bit set, 0 when absent */
    S_CODES,    /* region or municipality codes: an array and its count */
    S_CONSENT,  /* a group of consent flags: int consent[GW_RULE_CONSENT_N] */
} s_value;

typedef struct s_condition {
    const char *key; /* in when = { ... }; messages call it when.KEY */
    s_value value;
    size_t offset;    /* of the field in gw_rule */
    const char *kind; /* S_ENUM_SET, S_CODES: what a value must be, "a form of exploitation" */
    /* S_ENUM_SET: the enumeration whose JSON names are accepted; its values, for hints */
    const ProtobufCEnumDescriptor *desc;
    const char *plural;
    /* S_CODES: the count's offset, one entry's size, the check, and the hint for a bad code */
    size_t count;
    size_t size;
    int (*is_valid)(const char *code);
    const char *hint;
} s_condition;

/* A list of codes (regions, municipalities) into the rule's array c->offset of c->size-byte
 * entries, counted at c->count. */
static int s_get_codes(const s_parse *p, const config_setting_t *s, const s_condition *c,
                       const char *what, gw_rule *rule)
{
    int rc = s_check_strings(p, s, what, GW_RULE_LIST_MAX);
    int n = config_setting_length(s);
    char *list = (char *)rule + c->offset;
    size_t *count = (void *)((char *)rule + c->count);
    for (int i = 0; rc == MN_OK && i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_get_string(e);
        if (!c->is_valid(text)) {
            rc = s_fail(p, e, "\"%s\" is not %s", text, c->kind);
            mn_diag_hint(p->d, "%s", c->hint);
            break;
        }
        snprintf(list + *count * c->size, c->size, "%s", text);
        (*count)++;
    }
    return rc;
}

static int s_get_consent(const s_parse *p, const config_setting_t *s, int flags[GW_RULE_CONSENT_N])
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
        int k = s_key_index(config_setting_name(m), s_consent_keys, GW_RULE_CONSENT_N);
        char what[64];
        int rc;
        if (k < 0)
            return s_unknown_key(p, m, "consent flag", s_consent_keys, GW_RULE_CONSENT_N);
        snprintf(what, sizeof what, "when.consent.%s", s_consent_keys[k]);
        if ((rc = s_get_bool(p, m, what, &flags[k])) != MN_OK)
            return rc;
    }
    return MN_OK;
}

#define S_AT(field) offsetof(gw_rule, field)
#define S_ENTRY(field) sizeof(((gw_rule *)0)->field[0])

/* In this order in the hint for an unknown condition. */
static const s_condition s_conditions[] = {
    {.key = "acute", .value = S_BOOL, .offset = S_AT(acute)},
    {.key = "minor", .value = S_BOOL, .offset = S_AT(minor)},
    {.key = "online", .value = S_BOOL, .offset = S_AT(online)},
    {.key = "shelter", .value = S_BOOL, .offset = S_AT(shelter)},
    {.key = "form",
     .value = S_ENUM_SET,
     .offset = S_AT(forms),
     .kind = "a form of exploitation",
     .desc = &meldnet__exploitation_form__descriptor,
     .plural = "forms"},
    {.key = "sexual",
     .value = S_ENUM_SET,
     .offset = S_AT(sexual),
     .kind = "a sexual subtype",
     .desc = &meldnet__sexual_subtype__descriptor,
     .plural = "sexual subtypes"},
    {.key = "reporter",
     .value = S_ENUM_SET,
     .offset = S_AT(reporter_types),
     .kind = "an organisation type",
     .desc = &meldnet__organisation_type__descriptor,
     .plural = "organisation types"},
    {.key = "reporter_kind",
     .value = S_ENUM_SET,
     .offset = S_AT(reporter_kinds),
     .kind = "a reporter kind",
     .desc = &meldnet__reporter_kind__descriptor,
     .plural = "reporter kinds"},
    {.key = "region",
     .value = S_CODES,
     .offset = S_AT(regions),
     .kind = "a region code",
     .count = S_AT(n_regions),
     .size = S_ENTRY(regions),
     .is_valid = s_is_region,
     .hint = "a region is written as in the reports: 1-64 characters of a-z, 0-9 and '-', "
             "e.g. \"midden-nederland\"; \"unknown\" matches reports without a region"},
    {.key = "municipality",
     .value = S_CODES,
     .offset = S_AT(municipalities),
     .kind = "a municipality code",
     .count = S_AT(n_municipalities),
     .size = S_ENTRY(municipalities),
     .is_valid = s_is_municipality,
     .hint = "write the CBS code, \"GM\" and four digits, e.g. \"GM0344\"; \"unknown\" "
             "matches reports without one"},
    {.key = "consent", .value = S_CONSENT, .offset = S_AT(consent)},
};

static const s_condition *s_condition_find(const char *key)
{
    for (size_t i = 0; key && i < S_COUNT(s_conditions); i++)
        if (strcmp(key, s_conditions[i].key) == 0)
            return &s_conditions[i];
    return NULL;
}

static int s_unknown_condition(const s_parse *p, const config_setting_t *s)
{
    const char *keys[S_COUNT(s_conditions)];
    for (size_t i = 0; i < S_COUNT(s_conditions); i++)
        keys[i] = s_conditions[i].key;
    return s_unknown_key(p, s, "condition", keys, S_COUNT(keys));
}

static int s_get_condition(const s_parse *p, const config_setting_t *s, const s_condition *c,
                           gw_rule *rule)
{
    char what[64];
    void *field = (char *)rule + c->offset;

    snprintf(what, sizeof what, "when.%s", c->key);
    switch (c->value) {
    case S_BOOL: return s_get_bool(p, s, what, field);
    case S_ENUM_SET: return s_get_enum_set(p, s, what, c->desc, c->plural, c->kind, field);
    case S_CODES: return s_get_codes(p, s, c, what, rule);
    case S_CONSENT: return s_get_consent(p, s, field);
    }
    assert(!"a condition of no kind");
    return MN_EINVAL;
}

static int s_get_when(s_parse *p, const config_setting_t *s, gw_rule *rule)
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
        const s_condition *c = s_condition_find(config_setting_name(m));
        int rc = c ? s_get_condition(p, m, c, rule) : s_unknown_condition(p, m);
        if (rc != MN_OK)
            return rc;
    }
    return MN_OK;
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
                const char *near =
                    mn_suggest_closest(name, s_placeholders, S_COUNT(s_placeholders));
                rc = s_fail(p, e, "emit topic \"%s\": unknown placeholder {%s}", t, name);
                if (near)
                    mn_diag_hint(p->d,
                                 "did you mean {%s}? placeholders are {region} and "
                                 "{municipality}",
                                 near);
                else
                    mn_diag_hint(p->d, "placeholders are {region} and {municipality}");
                return rc;
            }
            probe[out++] = 'x';
            i += nlen + 1;
            continue;
        }
        if (!mn_topic_char_is_valid(t[i])) {
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
                rc = s_fail(p, e, "the routes emit more than %d different topics", MN_TOPICS_MAX);
                mn_diag_hint(p->d,
                             "a report can reach at most %d topics; use fewer topics, or "
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
        if (!mn_topic_char_is_valid(s[i]))
            return 0;
    return 1;
}

static int s_get_overrides(s_parse *p, const config_setting_t *s, gw_rule *rule)
{
    return s_get_bool(p, s, "overrides_consent", &rule->overrides_consent);
}

/* A rule's own fields, in this order in the hint for an unknown field. */
typedef struct s_field {
    const char *key;
    int (*parse)(s_parse *p, const config_setting_t *s, gw_rule *rule);
} s_field;

static const s_field s_fields[] = {
    {"name", NULL}, /* read first, so that every message names the rule */
    {"when", s_get_when},
    {"emit", s_get_emit},
    {"overrides_consent", s_get_overrides},
};

static const s_field *s_field_find(const char *key)
{
    for (size_t i = 0; key && i < S_COUNT(s_fields); i++)
        if (strcmp(key, s_fields[i].key) == 0)
            return &s_fields[i];
    return NULL;
}

static int s_unknown_field(const s_parse *p, const config_setting_t *s)
{
    const char *keys[S_COUNT(s_fields)];
    for (size_t i = 0; i < S_COUNT(s_fields); i++)
        keys[i] = s_fields[i].key;
    return s_unknown_key(p, s, "field", keys, S_COUNT(keys));
}

static int s_parse_rule(s_parse *p, const config_setting_t *s, size_t index, gw_rule *rules)
{
    gw_rule *rule = &rules[index];
    const config_setting_t *name_s;
    const char *name;
    int rc = MN_OK;
    int n;

    snprintf(p->label, sizeof p->label, "route #%zu", index + 1);
    memset(rule, 0, sizeof *rule);
    rule->acute = rule->minor = rule->online = rule->shelter = GW_RULE_ANY;
    for (size_t k = 0; k < GW_RULE_CONSENT_N; k++)
        rule->consent[k] = GW_RULE_ANY;
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
            rc = s_fail(p, name_s, "the name \"%s\" is already used by the rule at line %d", name,
                        rules[k].line);
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
        const s_field *f = s_field_find(config_setting_name(m));
        if (!f)
            rc = s_unknown_field(p, m);
        else if (f->parse)
            rc = f->parse(p, m, rule);
        if (rc != MN_OK)
            goto out;
    }
    if (!config_setting_get_member(s, "emit")) {
        rc = s_fail(p, s, "has no emit");
        mn_diag_hint(p->d, "add emit = [ \"topic\" ]; the topics a matching report goes to");
        goto out;
    }
out:
    return rc;
}

int gw_rules_parse(const config_setting_t *routes, const char *file, gw_rule **rules, size_t *n,
                   mn_diag *d)
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
