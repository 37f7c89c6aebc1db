/* mn_referral.c - the Referral: encode/decode, a destroy that wipes, JSON for partners.
 *
 * decode is strict about the referral's own fields (version, sharing level, recipient name,
 * topics, pseudonym length) and leaves the embedded report alone: the recipient validates it
 * with mn_report_validate if it wants to, the same as any other report.
 *
 * JSON: keys in the order of mn_referral.h; absent optional parts (victim_pseudonym, report,
 * figures, and each figure) are left out rather than guessed, the convention of mn_report's JSON.
 * topics, rules and withheld are always written, an empty list saying "none". Enumerations use
 * the lowercase names of the report's JSON (mn_report_enum_name); a value without a name stays
 * a number.
 *
 * Memory: the report part is rendered with mn_report_to_json first, which installs jansson's
 * wiping allocator, so every scratch copy of report text made here is wiped when it is freed;
 * the intermediate text is wiped with mn_plain_free. A referral from decode, or one built by hand
 * with a malloc() block per part (gw_redact), is wiped field by field in mn_referral_destroy.
 */
#include "mn_referral.h"

#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_message.h"
#include "mn_report.h"
#include "mn_time.h"

#define S_REFERRAL_VERSION 1

static const char *const s_sharing_names[] = {
    [MELDNET__SHARING_LEVEL__FULL] = "full",
    [MELDNET__SHARING_LEVEL__PSEUDONYMOUS] = "pseudonymous",
    [MELDNET__SHARING_LEVEL__STATISTICS] = "statistics",
};
#define S_SHARING_COUNT (sizeof s_sharing_names / sizeof s_sharing_names[0])

const char *mn_sharing_name(int level)
{
    if (level <= 0 || (size_t)level >= S_SHARING_COUNT)
        return "unknown";
    return s_sharing_names[level];
}

int mn_sharing_parse(const char *text, int *level)
{
    for (size_t i = 1; text && i < S_SHARING_COUNT; i++) {
        if (strcmp(text, s_sharing_names[i]) == 0) {
            *level = (int)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

int mn_sharing_level(int level)
{
    return level == MELDNET__SHARING_LEVEL__FULL || level == MELDNET__SHARING_LEVEL__PSEUDONYMOUS
               ? level
               : MELDNET__SHARING_LEVEL__STATISTICS;
}

/* ---------------------------------------------------------------------------------------------
 * Bytes */

int mn_referral_encode(const mn_referral *r, uint8_t **out, size_t *len)
{
    assert(r && out && len);
    return mn_message_pack(&r->base, out, len);
}

static int s_check(const mn_referral *r, mn_diag *d)
{
    static const char where[] = "referral";

    if (r->version != S_REFERRAL_VERSION)
        return mn_diag_set(d, MN_EVERSION, where,
                           "the referral has version %u; this meldnet reads version %d", r->version,
                           S_REFERRAL_VERSION);
    if (r->sharing <= 0 || (size_t)r->sharing >= S_SHARING_COUNT)
        return mn_diag_set(d, MN_EDECODE, where, "sharing level %d is not one of %s",
                           (int)r->sharing, "full, pseudonymous, statistics");
    if (!mn_name_is_valid(r->recipient))
        return mn_diag_set(d, MN_EDECODE, where, "the recipient is not a valid party name");
    if (r->has_victim_pseudonym && r->victim_pseudonym.len != MN_PSEUDONYM_BYTES)
        return mn_diag_set(d, MN_EDECODE, where, "victim pseudonym is %zu bytes; it must be %d",
                           r->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    if (r->n_topics > MN_TOPICS_MAX)
        return mn_diag_set(d, MN_EDECODE, where, "%zu topics; at most %d are allowed", r->n_topics,
                           MN_TOPICS_MAX);
    for (size_t i = 0; i < r->n_topics; i++)
        if (!mn_topic_is_valid(r->topics[i]))
            return mn_diag_set(d, MN_EDECODE, where, "topic %zu is not a valid topic", i + 1);
    return MN_OK;
}

int mn_referral_decode(const uint8_t *buf, size_t len, size_t max_len, mn_referral **out,
                       mn_diag *d)
{
    ProtobufCMessage *m = NULL;
    mn_referral *r = NULL;

    assert(out);
    *out = NULL;
    int rc =
        mn_message_unpack(&meldnet__referral__descriptor, buf, len, max_len, "referral", &m, d);
    r = (mn_referral *)m; /* the generated struct starts with its base */
    if (rc != MN_OK || (rc = s_check(r, d)) != MN_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    mn_referral_destroy(&r);
    return rc;
}

void mn_referral_destroy(mn_referral **r_p)
{
    if (!r_p || !*r_p)
        return;
    mn_message_free(&(*r_p)->base);
    *r_p = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * JSON */

/* json_object_set_new and json_array_append_new take the value even on failure; a NULL value
 * fails them, so a failed constructor needs no separate check. */
static int s_put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v) == 0 ? MN_OK : MN_ENOMEM;
}

static int s_append(json_t *arr, json_t *v)
{
    return json_array_append_new(arr, v) == 0 ? MN_OK : MN_ENOMEM;
}

/* A JSON string, or why not: json_string refuses text that is not UTF-8 as well as failing for
 * memory; only the unchecked constructor tells the two apart. */
static int s_text(const char *s, json_t **v)
{
    json_t *probe;

    *v = json_string(s ? s : "");
    if (*v)
        return MN_OK;
    probe = json_string_nocheck(s ? s : "");
    if (!probe)
        return MN_ENOMEM;
    json_decref(probe);
    return MN_EINVAL;
}

static int s_put_text(json_t *o, const char *key, const char *s)
{
    json_t *v;
    int rc = s_text(s, &v);
    return rc == MN_OK ? s_put(o, key, v) : rc;
}

static int s_put_texts(json_t *o, const char *key, char *const *items, size_t n)
{
    int rc = MN_OK;
    json_t *arr = json_array();
    json_t *v;

    if (!arr)
        return MN_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if ((rc = s_text(items[i], &v)) != MN_OK || (rc = s_append(arr, v)) != MN_OK)
            goto out;
    rc = s_put(o, key, json_incref(arr));
out:
    json_decref(arr);
    return rc;
}

static json_t *s_enum_value(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *name = mn_report_enum_name(desc, value);
    return name ? json_string(name) : json_integer(value);
}

static int s_json_withheld(json_t *root, const mn_referral *r)
{
    int rc = MN_OK;
    json_t *arr = json_array();
    json_t *o = NULL;

    if (!arr)
        return MN_ENOMEM;
    for (size_t i = 0; i < r->n_withheld; i++) {
        const Meldnet__Withheld *w = r->withheld[i];
        if (!w)
            continue;
        o = json_object();
        if (!o) {
            rc = MN_ENOMEM;
            goto out;
        }
        if ((rc = s_put_text(o, "field", w->field)) != MN_OK ||
            (rc = s_put_text(o, "reason", w->reason)) != MN_OK ||
            (rc = s_append(arr, json_incref(o))) != MN_OK)
            goto out;
        json_decref(o);
        o = NULL;
    }
    rc = s_put(root, "withheld", json_incref(arr));
out:
    json_decref(o);
    json_decref(arr);
    return rc;
}

static int s_json_figures(json_t *root, const Meldnet__ReportFigures *f)
{
    int rc = MN_OK;
    json_t *o = json_object();
    json_t *forms = NULL;

    if (!o)
        return MN_ENOMEM;
    if ((f->municipality_code &&
         (rc = s_put_text(o, "municipality_code", f->municipality_code)) != MN_OK) ||
        (f->region && (rc = s_put_text(o, "region", f->region)) != MN_OK) ||
        (f->age_band && (rc = s_put_text(o, "age_band", f->age_band)) != MN_OK))
        goto out;
    if (f->has_gender &&
        (rc = s_put(o, "gender", s_enum_value(&meldnet__gender__descriptor, (int)f->gender))) !=
            MN_OK)
        goto out;
    if (f->n_forms > 0) {
        forms = json_array();
        if (!forms) {
            rc = MN_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < f->n_forms; i++)
            if ((rc = s_append(forms, s_enum_value(&meldnet__exploitation_form__descriptor,
                                                   (int)f->forms[i]))) != MN_OK)
                goto out;
        if ((rc = s_put(o, "forms", json_incref(forms))) != MN_OK)
            goto out;
    }
    if (f->has_reporter_type && (rc = s_put(o, "reporter_type",
                                            s_enum_value(&meldnet__organisation_type__descriptor,
                                                         (int)f->reporter_type))) != MN_OK)
        goto out;
    if (f->has_acute_danger &&
        (rc = s_put(o, "acute_danger", json_boolean(f->acute_danger))) != MN_OK)
        goto out;
    rc = s_put(root, "figures", json_incref(o));
out:
    json_decref(forms);
    json_decref(o);
    return rc;
}

int mn_referral_to_json(const mn_referral *r, char **out)
{
    int rc = MN_OK;
    char *report_text = NULL;
    json_t *report = NULL;
    json_t *root = NULL;
    char *text;
    char buf[MN_TIME_TEXT_MAX]; /* a registration, or an ISO time */
    char hex[2 * MN_PSEUDONYM_BYTES + 1];

    assert(r && out);
    *out = NULL;
    if (r->report) {
        if ((rc = mn_report_to_json(r->report, &report_text)) != MN_OK)
            goto out;
        report = json_loads(report_text, 0, NULL);
        if (!report) {
            rc = MN_ENOMEM; /* our own JSON always parses */
            goto out;
        }
    }
    root = json_object();
    if (!root) {
        rc = MN_ENOMEM;
        goto out;
    }
    mn_registration_format(r->registration, buf, sizeof buf);
    if ((rc = s_put_text(root, "registration", buf)) != MN_OK ||
        (rc = s_put_text(root, "recipient", r->recipient)) != MN_OK ||
        (rc = s_put_texts(root, "topics", r->topics, r->n_topics)) != MN_OK ||
        (rc = s_put_text(root, "sharing", mn_sharing_name((int)r->sharing))) != MN_OK ||
        (rc = s_put(root, "acute", json_boolean(r->has_acute && r->acute))) != MN_OK ||
        (rc = s_put_texts(root, "rules", r->rules, r->n_rules)) != MN_OK ||
        (rc = mn_time_format_ms(r->accepted_ms, buf, sizeof buf) ? MN_OK : MN_EINVAL) != MN_OK ||
        (rc = s_put_text(root, "accepted_at", buf)) != MN_OK)
        goto out;
    if (r->has_victim_pseudonym) {
        if (r->victim_pseudonym.len != MN_PSEUDONYM_BYTES || !r->victim_pseudonym.data) {
            rc = MN_EINVAL;
            goto out;
        }
        sodium_bin2hex(hex, sizeof hex, r->victim_pseudonym.data, MN_PSEUDONYM_BYTES);
        if ((rc = s_put_text(root, "victim_pseudonym", hex)) != MN_OK)
            goto out;
    }
    if ((rc = s_json_withheld(root, r)) != MN_OK)
        goto out;
    if (report) {
        rc = s_put(root, "report", report);
        report = NULL; /* taken by root, even on failure */
        if (rc != MN_OK)
            goto out;
    }
    if (r->figures && (rc = s_json_figures(root, r->figures)) != MN_OK)
        goto out;
    text = json_dumps(root, JSON_INDENT(2));
    if (!text) {
        rc = MN_ENOMEM;
        goto out;
    }
    *out = text;
out:
    if (report_text)
        mn_plain_free((uint8_t *)report_text, strlen(report_text));
    json_decref(report);
    json_decref(root);
    return rc;
}
