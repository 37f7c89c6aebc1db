/* gw_redact.c - redaction: what each recipient may see of a report, and the victim pseudonyms.
 *
 * Redaction builds the referral from shallow copies of the report's messages that keep only
 * what the recipient may see (the caller's report is never changed; unknown fields are never
 * copied), then packs it and unpacks it once: every part of the result is a separate malloc()
 * block of protobuf-c, which mn_referral_destroy frees. The packed bytes are wiped.
 *
 * Decisions (the header is the spec; these fill its gaps):
 *   - FULL for a kind without a consent flag (hotline, shelter, other) goes out pseudonymous
 *     unless an overriding rule chose it: nobody consented to it.
 *   - The victim pseudonym (proto/mn_pseudonym) is in every FULL and PSEUDONYMOUS referral and
 *     registry view whose report names the victim or a date of birth, so a partner can link a
 *     referral made with consent to one made without; never at STATISTICS (figures only).
 *   - Referral.acute is the report's acute_danger, whichever rule chose the recipient: the same
 *     fact is in the report (or the figures) anyway, and acute reports go first everywhere.
 *   - Ages (kept when a date of birth is removed, age bands) are taken on the day of
 *     accepted_ms (UTC), today when it is 0.
 *
 * Caveats: free text (narrative, acute_reason, exploitation descriptions, suspects'
 * descriptions) goes out as written at FULL and PSEUDONYMOUS; reporters are asked not to put
 * names in it, but nothing here can check that.
 */
#include "gw_redact.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_parties.h"
#include "mn_envelope.h"
#include "mn_pseudonym.h"
#include "mn_time.h"

#define S_LEVEL_FULL MELDNET__SHARING_LEVEL__FULL
#define S_LEVEL_PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define S_LEVEL_STATS MELDNET__SHARING_LEVEL__STATISTICS

#define S_FORMS_MAX 32 /* distinct forms in the figures: more than ExploitationForm has */

/* ---------------------------------------------------------------------------------------------
 * Pseudonyms */

void gw_redact_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32])
{
    mn_pseudonym_recipient_key(master, recipient, out);
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
    Meldnet__ExploitationForm forms[S_FORMS_MAX];
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
    case GW_PARTNER_POLICE: return mn_report_consent(r, MN_CONSENT_SHARE_POLICE);
    case GW_PARTNER_CARE: return mn_report_consent(r, MN_CONSENT_SHARE_CARE);
    case GW_PARTNER_RESEARCH: return mn_report_consent(r, MN_CONSENT_SHARE_RESEARCH);
    case GW_PARTNER_REGISTRY: return mn_report_consent(r, MN_CONSENT_REGISTER_IDENTITY);
    default: return 0; /* hotline, shelter, other: no consent flag covers them */
    }
}

static const char *s_no_consent_reason(int kind)
{
    switch (kind) {
    case GW_PARTNER_POLICE: return "no consent to share with police";
    case GW_PARTNER_CARE: return "no consent to share with care";
    case GW_PARTNER_RESEARCH: return "no consent to share with research";
    case GW_PARTNER_REGISTRY: return "no consent to register identity";
    case GW_PARTNER_HOTLINE: return "no consent to share with a hotline";
    case GW_PARTNER_SHELTER: return "no consent to share with shelter";
    default: return "no consent to share with this recipient";
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
        if (k == f->n_forms && f->n_forms < S_FORMS_MAX)
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
        if (!mn_report_consent(r, MN_CONSENT_REPORTER_CONTACT_SHAREABLE)) {
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

static void s_victim(s_build *b, const mn_report *r, int level, const char *why, const char *day)
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
    int level = mn_sharing_level(sharing);
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
        if (r->victim && (r->victim->name || r->victim->date_of_birth)) {
            rc = mn_pseudonym_derive(recipient_key, r->victim->name, r->victim->date_of_birth,
                                     b->pseudonym);
            if (rc == MN_OK) {
                b->ref.has_victim_pseudonym = 1;
                b->ref.victim_pseudonym.data = b->pseudonym;
                b->ref.victim_pseudonym.len = sizeof b->pseudonym;
            } else if (rc != MN_ENOTFOUND) { /* a name of punctuation only: no pseudonym */
                goto fail;
            }
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

int gw_redact_referral(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                       const char *recipient, int kind, int sharing, int overriding,
                       const mn_topics *topics, const char *rules, const uint8_t recipient_key[32],
                       mn_referral **out)
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

int gw_redact_view(const mn_report *r, uint64_t registration, uint64_t accepted_ms,
                   const char *recipient, int kind, int sharing, int overriding,
                   const mn_topics *topics, const char *rules, const uint8_t recipient_key[32],
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
