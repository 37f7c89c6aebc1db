/* test_gw_dispatch - what one registration writes: the registry record sealed to the registry,
 * one sealed and signed item per bound partner with that partner's redacted view, unrouted notes
 * for topics nobody is bound to; acute items in the acute lane; consent honoured (and overridden
 * only by an acute rule); a later release routes an unrouted topic.
 *
 * Real parts only: a real LMDB store in a temp folder, libsodium identities for the gateway, the
 * registry and every partner (each item is opened with its partner's key and its delivery
 * signature checked), the default routing rules, reports from examples/. The routing rules
 * depend on today's date only for the minor test; the reports used here are minors until 2027
 * at the earliest, or the cases do not depend on age.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libconfig.h>

#include "gw_dispatch.h"
#include "gw_route.h"
#include "gw_rules.h"
#include "gw_stage_fixture.h"
#include "mn_delivery.h"
#include "mn_log.h"
#include "mn_referral.h"

#define FULL MELDNET__SHARING_LEVEL__FULL
#define PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define STATS MELDNET__SHARING_LEVEL__STATISTICS
#define OPEN_MAX (8u * 1024 * 1024)

enum { CARE, HOTLINE, POLICE, SHELTER, N_PARTNER_KEYS };

typedef struct fixture {
    char root[64];
    gw_store *store;
    mn_key *gateway;
    mn_key *registry;
    mn_key *partner[N_PARTNER_KEYS];
    uint8_t pseudonym[32];
    gw_config *cfg;
    gw_dispatch_deps deps;
    uint64_t next_reg;
} fixture;

static const char *const s_names[N_PARTNER_KEYS] = {"care-midden", "hotline-mn", "police-midden",
                                                    "shelter-nl"};

/* Partners: care-midden (care.*, pseudonymous), hotline-mn (hotline.*, statistics),
 * police-midden (police.acute, full). Nobody is bound to shelter.coordination. */
static void s_default_partners(fixture *f)
{
    f->cfg->n_partners = 3;
    f->cfg->partners[0] =
        stage_partner(s_names[CARE], GW_PARTNER_CARE, f->partner[CARE], "care.*", PSEUDO);
    f->cfg->partners[1] = stage_partner(s_names[HOTLINE], GW_PARTNER_HOTLINE, f->partner[HOTLINE],
                                        "hotline.*", STATS);
    f->cfg->partners[2] =
        stage_partner(s_names[POLICE], GW_PARTNER_POLICE, f->partner[POLICE], "police.acute", FULL);
}

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mn_diag d;
    size_t n_rules = 0;
    assert_non_null(f);
    stage_tmpdir(f->root, sizeof f->root, "test_gw_dispatch");
    char dir[128];
    snprintf(dir, sizeof dir, "%s/data", f->root);
    assert_int_equal(gw_store_open(dir, 16, 0, &f->store, &d), MN_OK);
    f->gateway = stage_key(MN_ROLE_GATEWAY, "gateway");
    f->registry = stage_key(MN_ROLE_REGISTRY, "registry");
    for (int i = 0; i < N_PARTNER_KEYS; i++)
        f->partner[i] = stage_key(MN_ROLE_PARTNER, s_names[i]);
    mn_random_bytes(f->pseudonym, sizeof f->pseudonym);

    f->cfg = calloc(1, sizeof *f->cfg);
    assert_non_null(f->cfg);
    f->cfg->partners = calloc(N_PARTNER_KEYS, sizeof *f->cfg->partners);
    assert_non_null(f->cfg->partners);
    const gw_rule *defaults = gw_rules_defaults(&n_rules);
    f->cfg->rules = calloc(n_rules, sizeof *f->cfg->rules);
    assert_non_null(f->cfg->rules);
    memcpy(f->cfg->rules, defaults, n_rules * sizeof *defaults);
    f->cfg->n_rules = n_rules;
    s_default_partners(f);

    f->deps = (gw_dispatch_deps){.cfg = f->cfg,
                                 .gateway = f->gateway,
                                 .registry = mn_key_public(f->registry),
                                 .pseudonym_key = f->pseudonym,
                                 .sealers = NULL};
    f->next_reg = 1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    gw_store_destroy(&f->store);
    stage_rmdir(f->root);
    free(f->cfg->partners);
    free(f->cfg->rules);
    free(f->cfg);
    mn_key_destroy(&f->gateway);
    mn_key_destroy(&f->registry);
    for (int i = 0; i < N_PARTNER_KEYS; i++)
        mn_key_destroy(&f->partner[i]);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------- */

static mn_record_info s_info(fixture *f)
{
    mn_record_info info;
    memset(&info, 0, sizeof info);
    info.registration = f->next_reg++;
    info.accepted_ms = mn_now_ms();
    info.created_ms = info.accepted_ms - 1000;
    mn_random_bytes(info.envelope_id, sizeof info.envelope_id);
    snprintf(info.agent, sizeof info.agent, "%s", STAGE_AGENT);
    return info;
}

static void s_prepare(fixture *f, const mn_report *r, const mn_record_info *info,
                      gw_dispatch_prepared *p)
{
    mn_diag d;
    mn_diag_clear(&d);
    if (gw_dispatch_prepare(&f->deps, r, info, p, &d) != MN_OK)
        fail_msg("prepare: %s: %s", d.where, d.what);
}

/* Prepare and store one registration in its own committed transaction. */
static gw_dispatch_result s_register(fixture *f, const mn_report *r, mn_record_info *info)
{
    gw_dispatch_prepared p;
    gw_dispatch_result res;
    gw_store_txn *txn = NULL;
    uint8_t digest[32];
    mn_diag d;
    mn_diag_clear(&d);
    *info = s_info(f);
    mn_random_bytes(digest, sizeof digest);
    s_prepare(f, r, info, &p);
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_dispatch_store(txn, info, digest, &p, &res, &d), MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_dispatch_prepared_clear(&p);
    return res;
}

static const gw_queue_item *s_item(const gw_dispatch_prepared *p, const char *partner)
{
    for (size_t i = 0; i < p->n_items; i++)
        if (strcmp(p->items[i].partner, partner) == 0)
            return &p->items[i];
    return NULL;
}

/* Open an item with its partner's key and check the gateway's delivery signature over it (as
 * meldnet-partner does). Caller owns the result. */
static mn_referral *s_open_item(const fixture *f, const mn_key *partner, const gw_queue_item *it)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    mn_referral *ref = NULL;
    mn_diag d;
    mn_delivery dl;
    char topics[GW_TOPICS_TEXT_MAX], *save = NULL;

    memset(&dl, 0, sizeof dl);
    dl.registration = it->registration;
    snprintf(topics, sizeof topics, "%s", it->topics);
    for (char *t = strtok_r(topics, ",", &save); t; t = strtok_r(NULL, ",", &save))
        snprintf(dl.topics.name[dl.topics.n++], sizeof dl.topics.name[0], "%s", t);
    dl.sealed = it->sealed; /* borrowed */
    dl.sealed_len = it->sealed_len;
    memcpy(dl.signature, it->signature, sizeof dl.signature);
    assert_int_equal(mn_delivery_verify(&dl, it->partner, mn_key_public(f->gateway)->sign), MN_OK);
    /* Signed for this partner only. */
    assert_int_equal(mn_delivery_verify(&dl, "someone-else", mn_key_public(f->gateway)->sign),
                     MN_ECRYPTO);

    assert_int_equal(mn_box_open(partner, it->sealed, it->sealed_len, OPEN_MAX, &plain, &len),
                     MN_OK);
    assert_int_equal(mn_referral_decode(plain, len, OPEN_MAX, &ref, &d), MN_OK);
    mn_plain_free(plain, len);
    assert_string_equal(ref->recipient, it->partner);
    assert_int_equal(ref->registration, it->registration);
    return ref;
}

/* The registry record of p, opened with the registry's key. Caller frees it
 * (meldnet__registry_record__free_unpacked). */
static Meldnet__RegistryRecord *s_open_record(const fixture *f, const uint8_t *sealed, size_t len)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(mn_box_open(f->registry, sealed, len, OPEN_MAX, &plain, &plain_len), MN_OK);
    Meldnet__RegistryRecord *rec = meldnet__registry_record__unpack(NULL, plain_len, plain);
    mn_plain_free(plain, plain_len);
    assert_non_null(rec);
    return rec;
}

static const char *s_withheld(const mn_referral *ref, const char *field)
{
    for (size_t i = 0; i < ref->n_withheld; i++)
        if (strcmp(ref->withheld[i]->field, field) == 0)
            return ref->withheld[i]->reason;
    return NULL;
}

typedef struct s_items {
    gw_queue_item item[8];
    size_t n;
} s_items;

static int s_collect(const gw_queue_item *item, void *arg)
{
    s_items *c = arg;
    assert_true(c->n < 8);
    c->item[c->n] = *item;
    c->item[c->n].sealed = NULL; /* the store clears its copy */
    c->n++;
    return 0;
}

static s_items s_queue(fixture *f, const char *partner)
{
    s_items c;
    memset(&c, 0, sizeof c);
    assert_int_equal(gw_store_queue_each(f->store, partner, s_collect, &c), MN_OK);
    return c;
}

typedef struct s_unrouted_list {
    gw_unrouted u[8];
    size_t n;
} s_unrouted_list;

static int s_collect_unrouted(const gw_unrouted *u, void *arg)
{
    s_unrouted_list *l = arg;
    assert_true(l->n < 8);
    l->u[l->n++] = *u;
    return 0;
}

static s_unrouted_list s_unrouted(fixture *f)
{
    s_unrouted_list l;
    memset(&l, 0, sizeof l);
    assert_int_equal(gw_store_unrouted_each(f->store, s_collect_unrouted, &l), MN_OK);
    return l;
}

/* --- prepare ------------------------------------------------------------------------------- */

/* An acute minor from Midden-Nederland: police.acute, care.midden-nederland,
 * shelter.coordination, hotline.midden-nederland. Each bound partner gets its own view sealed
 * to it; the shelter topic has nobody and becomes an unrouted note. */
static void test_prepare_views_per_partner(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_record_info info = s_info(f);
    gw_dispatch_prepared p;
    uint8_t *plain = NULL;
    size_t len = 0;
    s_prepare(f, r, &info, &p);

    assert_int_equal(p.n_items, 3);
    assert_int_equal(p.n_unrouted, 1);
    assert_string_equal(p.unrouted[0].topic, "shelter.coordination");
    assert_int_equal(p.unrouted[0].registration, info.registration);
    assert_string_equal(p.unrouted[0].reason, "no partner is bound to this topic");
    assert_int_equal(p.acute_unrouted, 0); /* police.acute has its partner */
    for (size_t i = 0; i < p.n_items; i++) {
        assert_int_equal(p.items[i].acute, 1);
        assert_int_equal(p.items[i].registration, info.registration);
        assert_int_equal(p.items[i].tag, 0); /* set when stored */
    }

    /* police: full, from the acute rule, with the victim's identity. */
    const gw_queue_item *it = s_item(&p, s_names[POLICE]);
    assert_non_null(it);
    assert_string_equal(it->topics, "police.acute");
    mn_referral *ref = s_open_item(f, f->partner[POLICE], it);
    assert_int_equal(ref->sharing, FULL);
    assert_true(ref->acute);
    assert_int_equal(ref->n_topics, 1);
    assert_string_equal(ref->topics[0], "police.acute");
    assert_int_equal(ref->n_rules, 1);
    assert_string_equal(ref->rules[0], "acute");
    assert_non_null(ref->report);
    assert_string_equal(ref->report->victim->name, r->victim->name);
    assert_int_equal(ref->accepted_ms, info.accepted_ms);
    mn_referral_destroy(&ref);
    /* Sealed to police only: care's key does not open it. */
    assert_int_equal(mn_box_open(f->partner[CARE], it->sealed, it->sealed_len, OPEN_MAX, &plain,
                                 &len),
                     MN_ECRYPTO);

    /* care: pseudonymous (its binding), no name, a pseudonym of its own. */
    it = s_item(&p, s_names[CARE]);
    assert_non_null(it);
    assert_string_equal(it->topics, "care.midden-nederland");
    ref = s_open_item(f, f->partner[CARE], it);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_non_null(ref->report);
    assert_null(ref->report->victim->name);
    assert_null(ref->report->victim->date_of_birth);
    assert_true(ref->has_victim_pseudonym);
    assert_int_equal(ref->victim_pseudonym.len, MN_PSEUDONYM_BYTES);
    assert_non_null(s_withheld(ref, "victim.name"));
    mn_referral_destroy(&ref);

    /* hotline: statistics, figures only. */
    it = s_item(&p, s_names[HOTLINE]);
    assert_non_null(it);
    assert_string_equal(it->topics, "hotline.midden-nederland");
    ref = s_open_item(f, f->partner[HOTLINE], it);
    assert_int_equal(ref->sharing, STATS);
    assert_null(ref->report);
    assert_non_null(ref->figures);
    assert_string_equal(ref->figures->region, "midden-nederland");
    mn_referral_destroy(&ref);

    /* The registry: full (register_identity given), with everything of the registration. */
    Meldnet__RegistryRecord *rec = s_open_record(f, p.record, p.record_len);
    assert_int_equal(rec->version, 1);
    assert_int_equal(rec->registration, info.registration);
    assert_int_equal(rec->envelope_id.len, sizeof info.envelope_id);
    assert_memory_equal(rec->envelope_id.data, info.envelope_id, sizeof info.envelope_id);
    assert_string_equal(rec->agent, STAGE_AGENT);
    assert_int_equal(rec->accepted_ms, info.accepted_ms);
    assert_int_equal(rec->created_ms, info.created_ms);
    assert_int_equal(rec->sharing, FULL);
    assert_string_equal(rec->report->victim->name, r->victim->name);
    meldnet__registry_record__free_unpacked(rec, NULL);

    gw_dispatch_prepared_clear(&p);
    gw_dispatch_prepared_clear(&p); /* twice is harmless */
    gw_dispatch_prepared_clear(NULL);
    assert_null(p.items);
    assert_null(p.record);
    mn_report_destroy(&r);
}

/* Without consent the identifying fields stay home: police bound with FULL gets a pseudonymous
 * view saying why, and the registry gets a pseudonymised record. With consent it is full. */
static void test_consent_honoured(void **state)
{
    fixture *f = *state;
    /* den-haag, share_police = false, register_identity = false, not acute */
    mn_report *r = fixture_load("criminal-drugs-consent-refused.json");
    f->cfg->partners[2] =
        stage_partner(s_names[POLICE], GW_PARTNER_POLICE, f->partner[POLICE], "hotline.*", FULL);
    f->cfg->n_partners = 3;
    f->cfg->partners[1].revoked = 1; /* the hotline's statistics item is not needed here */
    mn_record_info info = s_info(f);
    gw_dispatch_prepared p;
    s_prepare(f, r, &info, &p);

    const gw_queue_item *it = s_item(&p, s_names[POLICE]);
    assert_non_null(it);
    assert_int_equal(it->acute, 0);
    assert_string_equal(it->topics, "hotline.den-haag");
    assert_null(s_item(&p, s_names[HOTLINE])); /* revoked: nothing for it */
    mn_referral *ref = s_open_item(f, f->partner[POLICE], it);
    assert_int_equal(ref->sharing, PSEUDO);
    assert_null(ref->report->victim->name);
    assert_string_equal(s_withheld(ref, "victim.name"), "no consent to share with police");
    assert_true(ref->has_victim_pseudonym);
    mn_referral_destroy(&ref);

    Meldnet__RegistryRecord *rec = s_open_record(f, p.record, p.record_len);
    assert_int_equal(rec->sharing, PSEUDO);
    assert_null(rec->report->victim->name);
    assert_true(rec->has_victim_pseudonym);
    assert_true(rec->n_withheld > 0);
    meldnet__registry_record__free_unpacked(rec, NULL);
    gw_dispatch_prepared_clear(&p);

    /* The same report with consent: full, with the name. */
    r->consent->has_share_police = 1;
    r->consent->share_police = 1;
    r->consent->has_register_identity = 1;
    r->consent->register_identity = 1;
    info = s_info(f);
    s_prepare(f, r, &info, &p);
    ref = s_open_item(f, f->partner[POLICE], s_item(&p, s_names[POLICE]));
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, r->victim->name);
    assert_null(s_withheld(ref, "victim.name"));
    mn_referral_destroy(&ref);
    rec = s_open_record(f, p.record, p.record_len);
    assert_int_equal(rec->sharing, FULL);
    assert_string_equal(rec->report->victim->name, r->victim->name);
    meldnet__registry_record__free_unpacked(rec, NULL);
    gw_dispatch_prepared_clear(&p);
    mn_report_destroy(&r);
}

/* An acute rule overrides a refused consent, but only for its own topic: police.acute goes out
 * in full, care (FULL binding, no consent, no override) gets the pseudonymous view. */
static void test_acute_overrides_consent(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    r->consent->share_police = 0;
    r->consent->share_care = 0;
    f->cfg->partners[0].bindings[0].sharing = FULL;
    mn_record_info info = s_info(f);
    gw_dispatch_prepared p;
    s_prepare(f, r, &info, &p);

    mn_referral *ref = s_open_item(f, f->partner[POLICE], s_item(&p, s_names[POLICE]));
    assert_int_equal(ref->sharing, FULL);
    assert_string_equal(ref->report->victim->name, r->victim->name);
    mn_referral_destroy(&ref);

    ref = s_open_item(f, f->partner[CARE], s_item(&p, s_names[CARE]));
    assert_int_equal(ref->sharing, PSEUDO);
    assert_null(ref->report->victim->name);
    assert_string_equal(s_withheld(ref, "victim.name"), "no consent to share with care");
    mn_referral_destroy(&ref);
    gw_dispatch_prepared_clear(&p);
    mn_report_destroy(&r);
}

/* A partner that is revoked gets nothing; its topic counts as unbound. */
static void test_revoked_partner_gets_nothing(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    f->cfg->partners[2].revoked = 1;
    mn_record_info info = s_info(f);
    gw_dispatch_prepared p;
    s_prepare(f, r, &info, &p);
    assert_int_equal(p.n_items, 2);
    assert_null(s_item(&p, s_names[POLICE]));
    assert_int_equal(p.n_unrouted, 2);
    int police = 0;
    for (size_t i = 0; i < p.n_unrouted; i++)
        police += strcmp(p.unrouted[i].topic, "police.acute") == 0;
    assert_int_equal(police, 1);
    /* an acute report whose acute topic reaches nobody: the alarm, naming topic and rule only */
    assert_int_equal(p.acute_unrouted, 1);
    assert_string_equal(p.acute_topics, "police.acute");
    assert_string_equal(p.acute_rules, "acute");
    gw_dispatch_prepared_clear(&p);
    assert_int_equal(p.acute_unrouted, 0);
    mn_report_destroy(&r);
}

/* No rule matches: no item, one unrouted note with the empty topic. */
static void test_no_rule_matched(void **state)
{
    fixture *f = *state;
    config_t lc;
    gw_rule *rules = NULL;
    size_t n = 0;
    mn_diag d;
    config_init(&lc);
    assert_int_equal(config_read_string(&lc, "routes = ( { name = \"acute\"; when = { acute = "
                                             "true; }; emit = [ \"police.acute\" ]; } );"),
                     CONFIG_TRUE);
    assert_int_equal(gw_rules_parse(config_lookup(&lc, "routes"), "test.conf", &rules, &n, &d),
                     MN_OK);
    config_destroy(&lc);
    free(f->cfg->rules);
    f->cfg->rules = rules;
    f->cfg->n_rules = n;

    mn_report *r = fixture_load("labour-horticulture-inspectorate.json"); /* not acute */
    mn_record_info info;
    gw_dispatch_result res = s_register(f, r, &info);
    assert_int_equal(res.items, 0);
    assert_int_equal(res.unrouted, 1);
    assert_int_equal(res.acute, 0);
    s_unrouted_list l = s_unrouted(f);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.u[0].topic, "");
    assert_string_equal(l.u[0].reason, "no routing rule matched");
    assert_int_equal(l.u[0].registration, info.registration);
    /* Registered all the same: the record is in the registry. */
    uint64_t count = 0;
    assert_int_equal(gw_store_registry_count(f->store, &count), MN_OK);
    assert_int_equal(count, 1);
    mn_report_destroy(&r);
}

/* --- store --------------------------------------------------------------------------------- */

/* One transaction writes the registration (by id, by digest, the sealed record), the items and
 * the unrouted notes. */
static void test_store_writes_everything(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_record_info info = s_info(f);
    gw_dispatch_prepared p;
    gw_dispatch_result res;
    gw_store_txn *txn = NULL;
    gw_registration reg;
    uint8_t digest[32], *record = NULL, *stored = NULL;
    size_t record_len = 0, stored_len = 0;
    mn_diag d;
    uint64_t t0 = mn_now_ms();

    mn_random_bytes(digest, sizeof digest);
    s_prepare(f, r, &info, &p);
    record_len = p.record_len;
    record = malloc(record_len);
    assert_non_null(record);
    memcpy(record, p.record, record_len);
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_dispatch_store(txn, &info, digest, &p, &res, &d), MN_OK);
    assert_int_equal(res.items, 3);
    assert_int_equal(res.unrouted, 1);
    assert_int_equal(res.acute, 1);
    for (size_t i = 0; i < p.n_items; i++) {
        assert_true(p.items[i].tag > 0);
        assert_true(p.items[i].enqueued_ms >= t0);
    }
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    gw_dispatch_prepared_clear(&p);

    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, STAGE_AGENT, info.envelope_id, &reg), MN_OK);
    assert_int_equal(reg.registration, info.registration);
    assert_int_equal(reg.accepted_ms, info.accepted_ms);
    assert_true(reg.has_digest);
    assert_memory_equal(reg.digest, digest, sizeof digest);
    assert_int_equal(gw_store_find_digest(txn, digest, &reg), MN_OK);
    assert_int_equal(reg.registration, info.registration);
    gw_store_abort(&txn);
    assert_int_equal(gw_store_registry_get(f->store, info.registration, &stored, &stored_len),
                     MN_OK);
    assert_int_equal(stored_len, record_len);
    assert_memory_equal(stored, record, record_len);

    for (int k = 0; k < 3; k++) {
        s_items q = s_queue(f, s_names[k]);
        assert_int_equal(q.n, 1);
        assert_int_equal(q.item[0].registration, info.registration);
        assert_int_equal(q.item[0].attempts, 0);
        assert_int_equal(q.item[0].acute, 1);
    }
    s_unrouted_list l = s_unrouted(f);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.u[0].topic, "shelter.coordination");
    assert_true(l.u[0].held_ms >= t0);
    free(record);
    free(stored);
    mn_report_destroy(&r);
}

/* Acute first: an acute report registered after a normal one is ahead of it in the queue. */
static void test_acute_lane_first(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_record_info normal, acute;
    stage_set_acute(r, 0);
    gw_dispatch_result res = s_register(f, r, &normal);
    assert_int_equal(res.acute, 0);
    stage_set_acute(r, 1);
    res = s_register(f, r, &acute);
    assert_int_equal(res.acute, 1);

    s_items q = s_queue(f, s_names[HOTLINE]);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.item[0].registration, acute.registration);
    assert_int_equal(q.item[0].acute, 1);
    assert_int_equal(q.item[1].registration, normal.registration);
    assert_int_equal(q.item[1].acute, 0);
    assert_true(q.item[0].tag > q.item[1].tag); /* stored later, delivered first */
    /* Police is only bound to police.acute: the acute report alone. */
    q = s_queue(f, s_names[POLICE]);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.item[0].registration, acute.registration);
    mn_report_destroy(&r);
}

/* --- reroute ------------------------------------------------------------------------------- */

static void test_reroute_after_binding(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    mn_record_info info;
    gw_dispatch_result res = s_register(f, r, &info);
    gw_store_txn *txn = NULL;
    mn_diag d;
    mn_diag_clear(&d);
    assert_int_equal(res.unrouted, 1);

    /* Still nobody bound: nothing changes, and the diag says what to do. */
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_dispatch_reroute(txn, &f->deps, r, info.registration, info.accepted_ms,
                                         "shelter.coordination", &res, &d),
                     MN_ENOTFOUND);
    assert_non_null(strstr(d.what, "no partner is bound"));
    gw_store_abort(&txn);
    assert_int_equal(s_unrouted(f).n, 1);

    /* The operator binds a shelter partner; the release queues its item and drops the note. */
    f->cfg->partners[3] = stage_partner(s_names[SHELTER], GW_PARTNER_SHELTER, f->partner[SHELTER],
                                        "shelter.*", PSEUDO);
    f->cfg->n_partners = 4;
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_dispatch_reroute(txn, &f->deps, r, info.registration, info.accepted_ms,
                                         "shelter.coordination", &res, &d),
                     MN_OK);
    assert_int_equal(gw_store_commit(&txn, &d), MN_OK);
    assert_int_equal(res.items, 1);
    assert_int_equal(res.acute, 1);
    assert_int_equal(s_unrouted(f).n, 0);

    s_items q = s_queue(f, s_names[SHELTER]);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.item[0].registration, info.registration);
    assert_string_equal(q.item[0].topics, "shelter.coordination");
    /* The others got nothing new: released for this topic only. */
    assert_int_equal(s_queue(f, s_names[POLICE]).n, 1);
    assert_int_equal(s_queue(f, s_names[CARE]).n, 1);
    mn_report_destroy(&r);
}

/* --- sealers ------------------------------------------------------------------------------- */

/* With the batch's sealers every box to one recipient shares its ephemeral key (the first 32
 * bytes); without, each box has its own. Either way each opens. */
static void test_batch_sealers(void **state)
{
    fixture *f = *state;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    gw_dispatch_prepared a, b, c;
    mn_record_info ia = s_info(f), ib = s_info(f), ic = s_info(f);

    assert_int_equal(gw_dispatch_sealers_new(&f->deps.sealers), MN_OK);
    s_prepare(f, r, &ia, &a);
    s_prepare(f, r, &ib, &b);
    gw_dispatch_sealers_destroy(&f->deps.sealers);
    gw_dispatch_sealers_destroy(&f->deps.sealers); /* twice is harmless */
    assert_null(f->deps.sealers);
    s_prepare(f, r, &ic, &c);

    assert_memory_equal(a.record, b.record, MN_KEY_BYTES);
    assert_memory_not_equal(a.record, c.record, MN_KEY_BYTES);
    const gw_queue_item *pa = s_item(&a, s_names[POLICE]), *pb = s_item(&b, s_names[POLICE]);
    assert_memory_equal(pa->sealed, pb->sealed, MN_KEY_BYTES);
    /* One sealer per recipient: police's key is not the registry's. */
    assert_memory_not_equal(pa->sealed, a.record, MN_KEY_BYTES);
    /* Nonces differ: the boxes are not the same. */
    assert_memory_not_equal(a.record + MN_KEY_BYTES, b.record + MN_KEY_BYTES, 24);

    Meldnet__RegistryRecord *rec = s_open_record(f, b.record, b.record_len);
    assert_int_equal(rec->registration, ib.registration);
    meldnet__registry_record__free_unpacked(rec, NULL);
    mn_referral *ref = s_open_item(f, f->partner[POLICE], pb);
    mn_referral_destroy(&ref);

    gw_dispatch_prepared_clear(&a);
    gw_dispatch_prepared_clear(&b);
    gw_dispatch_prepared_clear(&c);
    mn_report_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepare_views_per_partner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consent_honoured, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_acute_overrides_consent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_partner_gets_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_rule_matched, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_writes_everything, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_acute_lane_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reroute_after_binding, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_sealers, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    mn_log_set_level(MN_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
