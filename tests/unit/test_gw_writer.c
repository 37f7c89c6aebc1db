/* test_gw_writer - the writer's stage: a batch of verified envelopes in one transaction, then
 * signed receipts. A new report gets the next number, its registry record and partner items;
 * the same envelope again, or the same content under a new id, is answered with the first
 * registration (DUPLICATE); other content under a used id is refused (ID_REUSED); a clock far
 * off is counted, never refused; a batch that does not commit leaves nothing and answers every
 * job with a retryable STORE_FAILED.
 *
 * Real parts only: a real LMDB store and ledger in a temp folder, libsodium identities, jobs
 * made by the real verify stage (gw_verify_job) from envelopes sealed and signed by mn_envelope,
 * the default routing rules, reports from examples/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_ledger.h"
#include "gw_rules.h"
#include "gw_stage_fixture.h"
#include "gw_verify.h"
#include "gw_writer.h"
#include "mn_log.h"

#define BATCH_MAX 8

typedef struct fixture {
    char root[64];
    char data[128];
    gw_store *store;
    gw_ledger *ledger;
    mn_key *gateway;
    mn_key *agent;
    mn_key *registry;
    mn_key *hotline;
    mn_secret32 *digest_key;
    uint8_t pseudonym[32];
    gw_config *cfg;
    gw_stats stats;
    gw_verify_deps verify;
    gw_writer_deps writer;
    mn_report *report; /* minor-loverboy-acute.json */
    mn_report *other;  /* labour-horticulture-inspectorate.json */
    /* What the hand-over callbacks saw. */
    size_t built, build_calls, handed_over;
    gw_job *handed[BATCH_MAX];
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mn_diag d;
    size_t n_rules = 0;
    gw_store_ident ident;
    gw_ledger_mark mark;
    char path[160];
    assert_non_null(f);
    stage_tmpdir(f->root, sizeof f->root, "test_gw_writer");
    snprintf(f->data, sizeof f->data, "%s/data", f->root);
    assert_int_equal(gw_store_open(f->data, 16, 0, &f->store, &d), MN_OK);
    assert_int_equal(gw_store_identity(f->store, &ident, &d), MN_OK);
    memset(&mark, 0, sizeof mark);
    memcpy(mark.store_id, ident.id, sizeof mark.store_id);
    snprintf(path, sizeof path, "%s/registrations.ledger", f->root);
    assert_int_equal(gw_ledger_open(path, &mark, &f->ledger, &d), MN_OK);

    f->gateway = stage_key(MN_ROLE_GATEWAY, "gateway");
    f->agent = stage_key(MN_ROLE_AGENT, STAGE_AGENT);
    f->registry = stage_key(MN_ROLE_REGISTRY, "registry");
    f->hotline = stage_key(MN_ROLE_PARTNER, "hotline-mn");
    assert_int_equal(mn_secret32_generate(&f->digest_key, NULL), MN_OK);
    mn_random_bytes(f->pseudonym, sizeof f->pseudonym);

    /* The default rules; one partner, bound to every hotline topic (every report has one). */
    f->cfg = calloc(1, sizeof *f->cfg);
    assert_non_null(f->cfg);
    f->cfg->partners = calloc(1, sizeof *f->cfg->partners);
    assert_non_null(f->cfg->partners);
    f->cfg->partners[0] = stage_partner("hotline-mn", GW_PARTNER_HOTLINE, f->hotline, "hotline.*",
                                        MELDNET__SHARING_LEVEL__STATISTICS);
    f->cfg->n_partners = 1;
    const gw_rule *defaults = gw_rules_defaults(&n_rules);
    f->cfg->rules = calloc(n_rules, sizeof *f->cfg->rules);
    assert_non_null(f->cfg->rules);
    memcpy(f->cfg->rules, defaults, n_rules * sizeof *defaults);
    f->cfg->n_rules = n_rules;

    gw_stats_init(&f->stats);
    f->verify = (gw_verify_deps){.gateway = f->gateway,
                                 .digest_key = f->digest_key,
                                 .stats = &f->stats,
                                 .max_frame_bytes = MN_WIRE_DEFAULT_MAX_FRAME};
    f->writer = (gw_writer_deps){
        .gateway = f->gateway,
        .dispatch = {.cfg = f->cfg,
                     .gateway = f->gateway,
                     .registry = mn_key_public(f->registry),
                     .pseudonym_key = f->pseudonym},
        .store = f->store,
        .ledger = f->ledger,
        .stats = &f->stats,
    };
    f->report = fixture_load("minor-loverboy-acute.json");
    f->other = fixture_load("labour-horticulture-inspectorate.json");
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    gw_ledger_close(&f->ledger);
    gw_store_destroy(&f->store);
    stage_rmdir(f->root);
    free(f->cfg->partners);
    free(f->cfg->rules);
    free(f->cfg);
    mn_report_destroy(&f->report);
    mn_report_destroy(&f->other);
    mn_secret32_destroy(&f->digest_key);
    mn_key_destroy(&f->gateway);
    mn_key_destroy(&f->agent);
    mn_key_destroy(&f->registry);
    mn_key_destroy(&f->hotline);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------- */

/* Seal r as the agent (created now + created_offset_ms; id kept when not NULL). */
static void s_seal(fixture *f, const mn_report *r, int64_t created_offset_ms, const uint8_t *id,
                   mn_envelope *env)
{
    stage_seal(f->agent, mn_key_public(f->gateway)->box, r,
               (uint64_t)((int64_t)mn_now_ms() + created_offset_ms), id, env);
}

/* A job of env that passed the verify stage, as the writer gets it. */
static gw_job *s_job(fixture *f, const mn_envelope *env)
{
    gw_job *job = stage_job(STAGE_AGENT, mn_key_public(f->agent)->sign, env);
    assert_int_equal(gw_verify_job(&f->verify, job), MN_OK);
    return job;
}

static int s_commit(fixture *f, gw_job **jobs, size_t n, gw_writer_result *res)
{
    return gw_writer_commit(&f->writer, jobs, n, res);
}

/* The job's answer is a signed receipt of `status` for env; returns it. */
static mn_receipt s_receipt(const fixture *f, const gw_job *job, const mn_envelope *env, int status)
{
    mn_from_gateway out;
    stage_reply(job, &out);
    assert_int_equal(out.kind, MN_FROM_RECEIPT);
    assert_int_equal(out.receipt.status, status);
    assert_memory_equal(out.receipt.id, env->id, sizeof env->id);
    assert_int_equal(mn_receipt_verify(&out.receipt, mn_key_public(f->gateway)->sign), MN_OK);
    assert_true(out.receipt.registration > 0);
    /* Answered: the plaintext is gone. */
    assert_null(job->report);
    assert_null(job->prepared.record);
    return out.receipt;
}

static void s_assert_reject(const gw_job *job, const mn_envelope *env, int reason)
{
    mn_from_gateway out;
    stage_reply(job, &out);
    assert_int_equal(out.kind, MN_FROM_REJECT);
    assert_int_equal(out.reject.reason, reason);
    assert_int_equal(out.reject.retryable, mn_reject_reason_is_retryable(reason));
    assert_true(out.reject.has_id);
    assert_memory_equal(out.reject.id, env->id, sizeof env->id);
    assert_null(job->report);
}

static uint64_t s_registrations(fixture *f)
{
    uint64_t n = 0;
    assert_int_equal(gw_store_registry_count(f->store, &n), MN_OK);
    return n;
}

static uint64_t s_queue_depth(fixture *f)
{
    uint64_t n = 0, oldest = 0;
    assert_int_equal(gw_store_queue_depth(f->store, "hotline-mn", &n, &oldest), MN_OK);
    return n;
}

static void s_free_jobs(gw_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw_job_free(&jobs[i]);
}

/* --- a batch ------------------------------------------------------------------------------- */

static void test_batch_commits(void **state)
{
    fixture *f = *state;
    mn_envelope env[3];
    gw_job *jobs[3];
    gw_writer_result res;
    uint64_t t0 = mn_now_ms();

    s_seal(f, f->report, 0, NULL, &env[0]);
    s_seal(f, f->other, 0, NULL, &env[1]);
    stage_set_acute(f->report, 0);
    s_seal(f, f->report, 0, NULL, &env[2]);
    for (int i = 0; i < 3; i++)
        jobs[i] = s_job(f, &env[i]);

    assert_int_equal(s_commit(f, jobs, 3, &res), 1);
    assert_int_equal(res.queued, 3); /* one hotline item each */
    for (int i = 0; i < 3; i++) {
        mn_receipt rc = s_receipt(f, jobs[i], &env[i], MN_RECEIPT_ACCEPTED);
        assert_int_equal(rc.registration, (uint64_t)i + 1); /* in the batch's order */
        assert_true(rc.accepted_ms >= t0 && rc.accepted_ms <= mn_now_ms());
    }
    assert_int_equal(atomic_load(&f->stats.accepted), 3);
    assert_int_equal(atomic_load(&f->stats.duplicates), 0);
    assert_int_equal(atomic_load(&f->stats.commits), 1);
    assert_int_equal(atomic_load(&f->stats.queued), 3);
    assert_int_equal(atomic_load(&f->stats.batch_size.count), 1);
    assert_int_equal(atomic_load(&f->stats.rejected), 0);
    assert_int_equal(gw_writer_failed_run(), 0);

    /* On disk: three registrations, their ids, their items; the ledger knows the top. */
    assert_int_equal(s_registrations(f), 3);
    assert_int_equal(s_queue_depth(f), 3);
    assert_int_equal(gw_ledger_issued(f->ledger), 3);
    gw_store_txn *txn = NULL;
    gw_registration reg;
    mn_diag d;
    assert_int_equal(gw_store_begin(f->store, &txn, &d), MN_OK);
    assert_int_equal(gw_store_find_id(txn, STAGE_AGENT, env[1].id, &reg), MN_OK);
    assert_int_equal(reg.registration, 2);
    gw_store_abort(&txn);

    /* The registry record of number 2 opens with the registry's key and says who sent it. */
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_len = 0, plain_len = 0;
    mn_record_info info;
    mn_report *rec = NULL;
    assert_int_equal(gw_store_registry_get(f->store, 2, &sealed, &sealed_len), MN_OK);
    assert_int_equal(mn_box_open(f->registry, sealed, sealed_len, 8u << 20, &plain, &plain_len),
                     MN_OK);
    assert_int_equal(mn_record_decode(plain, plain_len, &info, &rec, &d), MN_OK);
    assert_int_equal(info.registration, 2);
    assert_memory_equal(info.envelope_id, env[1].id, sizeof env[1].id);
    assert_string_equal(info.agent, STAGE_AGENT);
    assert_int_equal(info.created_ms, env[1].created_ms);
    assert_string_equal(rec->narrative, f->other->narrative);
    mn_report_destroy(&rec);
    mn_plain_free(plain, plain_len);
    free(sealed);

    /* The next batch goes on numbering. */
    gw_job *next;
    mn_envelope env4;
    fixture_set(&f->report->narrative, "Nog een melding.");
    s_seal(f, f->report, 0, NULL, &env4);
    next = s_job(f, &env4);
    assert_int_equal(s_commit(f, &next, 1, &res), 1);
    assert_int_equal(s_receipt(f, next, &env4, MN_RECEIPT_ACCEPTED).registration, 4);
    assert_int_equal(gw_ledger_issued(f->ledger), 4);
    gw_job_free(&next);
    mn_envelope_clear(&env4);

    s_free_jobs(jobs, 3);
    for (int i = 0; i < 3; i++)
        mn_envelope_clear(&env[i]);
}

/* The same envelope again (the agent did not get its receipt) is answered with the first
 * registration, in a later batch and within the same one; nothing new is written. */
static void test_duplicate_answers_first_registration(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    gw_job *first, *again[2];
    gw_writer_result res;

    s_seal(f, f->report, 0, NULL, &env);
    first = s_job(f, &env);
    assert_int_equal(s_commit(f, &first, 1, &res), 1);
    mn_receipt r1 = s_receipt(f, first, &env, MN_RECEIPT_ACCEPTED);

    again[0] = s_job(f, &env);
    again[1] = s_job(f, &env);
    assert_int_equal(s_commit(f, again, 2, &res), 1);
    assert_int_equal(res.queued, 0);
    for (int i = 0; i < 2; i++) {
        mn_receipt r2 = s_receipt(f, again[i], &env, MN_RECEIPT_DUPLICATE);
        assert_int_equal(r2.registration, r1.registration);
        assert_int_equal(r2.accepted_ms, r1.accepted_ms);
    }
    assert_int_equal(atomic_load(&f->stats.accepted), 1);
    assert_int_equal(atomic_load(&f->stats.duplicates), 2);
    assert_int_equal(s_registrations(f), 1);
    assert_int_equal(s_queue_depth(f), 1);
    s_free_jobs(again, 2);

    /* Within one batch: a new envelope and its copy. */
    mn_envelope env2;
    gw_job *pair[2];
    s_seal(f, f->other, 0, NULL, &env2);
    pair[0] = s_job(f, &env2);
    pair[1] = s_job(f, &env2);
    assert_int_equal(s_commit(f, pair, 2, &res), 1);
    assert_int_equal(res.queued, 1);
    mn_receipt a = s_receipt(f, pair[0], &env2, MN_RECEIPT_ACCEPTED);
    mn_receipt b = s_receipt(f, pair[1], &env2, MN_RECEIPT_DUPLICATE);
    assert_int_equal(a.registration, 2);
    assert_int_equal(b.registration, a.registration);
    assert_int_equal(b.accepted_ms, a.accepted_ms);
    assert_int_equal(s_registrations(f), 2);

    s_free_jobs(pair, 2);
    gw_job_free(&first);
    mn_envelope_clear(&env);
    mn_envelope_clear(&env2);
}

/* The same content under a new envelope id (the agent sealed it again) is the same report: the
 * new id answers with the first registration, and keeps answering so. */
static void test_same_content_new_id(void **state)
{
    fixture *f = *state;
    mn_envelope e1, e2, e3, e4;
    gw_job *j1, *j2, *j2again, *batch[2];
    gw_writer_result res;

    s_seal(f, f->report, 0, NULL, &e1);
    s_seal(f, f->report, 0, NULL, &e2);
    j1 = s_job(f, &e1);
    assert_int_equal(s_commit(f, &j1, 1, &res), 1);
    mn_receipt r1 = s_receipt(f, j1, &e1, MN_RECEIPT_ACCEPTED);

    j2 = s_job(f, &e2);
    assert_int_equal(s_commit(f, &j2, 1, &res), 1);
    mn_receipt r2 = s_receipt(f, j2, &e2, MN_RECEIPT_DUPLICATE);
    assert_int_equal(r2.registration, r1.registration);
    assert_int_equal(r2.accepted_ms, r1.accepted_ms);
    /* Now found by its own id. */
    j2again = s_job(f, &e2);
    assert_int_equal(s_commit(f, &j2again, 1, &res), 1);
    assert_int_equal(s_receipt(f, j2again, &e2, MN_RECEIPT_DUPLICATE).registration,
                     r1.registration);

    /* Within one batch: two new ids, one content. */
    s_seal(f, f->other, 0, NULL, &e3);
    s_seal(f, f->other, 0, NULL, &e4);
    batch[0] = s_job(f, &e3);
    batch[1] = s_job(f, &e4);
    assert_int_equal(s_commit(f, batch, 2, &res), 1);
    mn_receipt a = s_receipt(f, batch[0], &e3, MN_RECEIPT_ACCEPTED);
    mn_receipt b = s_receipt(f, batch[1], &e4, MN_RECEIPT_DUPLICATE);
    assert_int_equal(b.registration, a.registration);
    assert_int_equal(s_registrations(f), 2);
    assert_int_equal(s_queue_depth(f), 2);

    /* The alias was stored: e4 alone, in a batch of its own, answers the same. */
    gw_job *j4 = s_job(f, &e4);
    assert_int_equal(s_commit(f, &j4, 1, &res), 1);
    assert_int_equal(s_receipt(f, j4, &e4, MN_RECEIPT_DUPLICATE).registration, a.registration);

    gw_job_free(&j1);
    gw_job_free(&j2);
    gw_job_free(&j2again);
    gw_job_free(&j4);
    s_free_jobs(batch, 2);
    mn_envelope_clear(&e1);
    mn_envelope_clear(&e2);
    mn_envelope_clear(&e3);
    mn_envelope_clear(&e4);
}

/* Other content under an id the agent used before is refused, never answered with the first
 * registration: in a later batch and within the same one. */
static void test_id_reused(void **state)
{
    fixture *f = *state;
    mn_envelope first, reused, fresh, clash;
    gw_job *j1, *j2, *batch[2];
    gw_writer_result res;

    s_seal(f, f->report, 0, NULL, &first);
    s_seal(f, f->other, 0, first.id, &reused);
    j1 = s_job(f, &first);
    assert_int_equal(s_commit(f, &j1, 1, &res), 1);
    s_receipt(f, j1, &first, MN_RECEIPT_ACCEPTED);

    j2 = s_job(f, &reused);
    assert_int_equal(s_commit(f, &j2, 1, &res), 1); /* the batch commits; the job is refused */
    s_assert_reject(j2, &reused, MN_REJECT_ID_REUSED);
    assert_int_equal(j2->receipt.status, 0);
    assert_int_equal(atomic_load(&f->stats.rejected_by_reason[MN_REJECT_ID_REUSED]), 1);
    assert_int_equal(s_registrations(f), 1);
    assert_int_equal(s_queue_depth(f), 1);

    /* In one batch: a new id, then other content under it. */
    fixture_set(&f->report->narrative, "Een derde verhaal.");
    s_seal(f, f->report, 0, NULL, &fresh);
    s_seal(f, f->other, 0, fresh.id, &clash);
    batch[0] = s_job(f, &fresh);
    batch[1] = s_job(f, &clash);
    assert_int_equal(s_commit(f, batch, 2, &res), 1);
    assert_int_equal(s_receipt(f, batch[0], &fresh, MN_RECEIPT_ACCEPTED).registration, 2);
    s_assert_reject(batch[1], &clash, MN_REJECT_ID_REUSED);
    assert_int_equal(atomic_load(&f->stats.rejected_by_reason[MN_REJECT_ID_REUSED]), 2);
    assert_int_equal(atomic_load(&f->stats.accepted), 2);
    assert_int_equal(s_registrations(f), 2);

    gw_job_free(&j1);
    gw_job_free(&j2);
    s_free_jobs(batch, 2);
    mn_envelope_clear(&first);
    mn_envelope_clear(&reused);
    mn_envelope_clear(&fresh);
    mn_envelope_clear(&clash);
}

/* created_ms far ahead or far behind is counted and accepted (agents spool through outages). */
static void test_clock_skew_counted(void **state)
{
    fixture *f = *state;
    mn_envelope env[3];
    gw_job *jobs[3];
    gw_writer_result res;
    s_seal(f, f->report, (int64_t)(2 * GW_CLOCK_SKEW_MS), NULL, &env[0]);
    fixture_set(&f->report->narrative, "Verhaal twee.");
    s_seal(f, f->report, -(int64_t)(GW_STALE_MS + 3600 * 1000), NULL, &env[1]);
    fixture_set(&f->report->narrative, "Verhaal drie.");
    s_seal(f, f->report, -(int64_t)(GW_CLOCK_SKEW_MS / 2), NULL, &env[2]); /* within bounds */
    for (int i = 0; i < 3; i++)
        jobs[i] = s_job(f, &env[i]);
    assert_int_equal(s_commit(f, jobs, 3, &res), 1);
    for (int i = 0; i < 3; i++)
        s_receipt(f, jobs[i], &env[i], MN_RECEIPT_ACCEPTED);
    assert_int_equal(atomic_load(&f->stats.timestamp_ahead), 1);
    assert_int_equal(atomic_load(&f->stats.timestamp_stale), 1);
    assert_int_equal(atomic_load(&f->stats.accepted), 3);
    assert_int_equal(atomic_load(&f->stats.rejected), 0);
    s_free_jobs(jobs, 3);
    for (int i = 0; i < 3; i++)
        mn_envelope_clear(&env[i]);
}

/* --- acute with nobody to receive it ------------------------------------------------------- */

/* An acute report whose police.acute nobody is bound to is counted once, when committed; a
 * report that is not acute, and a duplicate of the acute one, are not. With a partner bound to
 * police.acute the next acute report is no alarm. */
static void test_acute_unrouted_counted(void **state)
{
    fixture *f = *state;
    mn_envelope env[3], bound;
    gw_job *jobs[3], *next;
    gw_writer_result res;

    s_seal(f, f->report, 0, NULL, &env[0]); /* acute */
    s_seal(f, f->other, 0, NULL, &env[1]);  /* not acute */
    for (int i = 0; i < 2; i++)
        jobs[i] = s_job(f, &env[i]);
    jobs[2] = s_job(f, &env[0]); /* a duplicate in the same batch */
    assert_int_equal(s_commit(f, jobs, 3, &res), 1);
    assert_int_equal(atomic_load(&f->stats.acute_unrouted), 1);
    s_receipt(f, jobs[0], &env[0], MN_RECEIPT_ACCEPTED);
    s_receipt(f, jobs[2], &env[0], MN_RECEIPT_DUPLICATE);
    s_free_jobs(jobs, 3);

    /* Sent again later: a duplicate, no second alarm. */
    next = s_job(f, &env[0]);
    assert_int_equal(s_commit(f, &next, 1, &res), 1);
    assert_int_equal(atomic_load(&f->stats.acute_unrouted), 1);
    gw_job_free(&next);

    /* A police partner bound to police.acute: routed, no alarm. */
    gw_partner *grown = realloc(f->cfg->partners, 2 * sizeof *grown);
    assert_non_null(grown);
    f->cfg->partners = grown;
    f->cfg->partners[1] = stage_partner("police-mn", GW_PARTNER_POLICE, f->hotline, "police.*",
                                        MELDNET__SHARING_LEVEL__FULL);
    f->cfg->n_partners = 2;
    fixture_set(&f->report->narrative, "Een andere acute melding.");
    s_seal(f, f->report, 0, NULL, &bound);
    next = s_job(f, &bound);
    assert_int_equal(s_commit(f, &next, 1, &res), 1);
    assert_int_equal(res.queued, 2); /* hotline and police */
    assert_int_equal(atomic_load(&f->stats.acute_unrouted), 1);
    gw_job_free(&next);
    mn_envelope_clear(&bound);
    for (int i = 0; i < 2; i++)
        mn_envelope_clear(&env[i]);
}

/* --- a batch that does not commit ---------------------------------------------------------- */

static void test_store_failure_rejects_every_job(void **state)
{
    fixture *f = *state;
    mn_envelope env[2];
    gw_job *jobs[2];
    gw_writer_result res;
    mn_diag d;
    uint64_t run = gw_writer_failed_run();

    /* A store the writer cannot write: the transaction cannot begin. */
    gw_store_destroy(&f->store);
    assert_int_equal(gw_store_open(f->data, 16, 1, &f->store, &d), MN_OK);
    f->writer.store = f->store;
    s_seal(f, f->report, 0, NULL, &env[0]);
    s_seal(f, f->other, 0, NULL, &env[1]);
    for (int i = 0; i < 2; i++)
        jobs[i] = s_job(f, &env[i]);
    assert_int_equal(s_commit(f, jobs, 2, &res), 0);
    assert_int_equal(res.queued, 0);
    for (int i = 0; i < 2; i++) {
        s_assert_reject(jobs[i], &env[i], MN_REJECT_STORE_FAILED);
        assert_true(mn_reject_reason_is_retryable(MN_REJECT_STORE_FAILED));
        gw_job_free(&jobs[i]);
    }
    assert_int_equal(atomic_load(&f->stats.commit_failures), 1);
    assert_int_equal(atomic_load(&f->stats.commits), 0);
    assert_int_equal(atomic_load(&f->stats.accepted), 0);
    assert_int_equal(atomic_load(&f->stats.acute_unrouted), 0); /* not registered: no alarm */
    assert_int_equal(atomic_load(&f->stats.rejected_by_reason[MN_REJECT_STORE_FAILED]), 2);
    assert_int_equal(gw_writer_failed_run(), run + 1);
    assert_int_equal(gw_ledger_issued(f->ledger), 0);

    /* Sent again to a store that works, they are new: nothing of the failed batch was kept. */
    gw_store_destroy(&f->store);
    assert_int_equal(gw_store_open(f->data, 16, 0, &f->store, &d), MN_OK);
    f->writer.store = f->store;
    for (int i = 0; i < 2; i++)
        jobs[i] = s_job(f, &env[i]);
    assert_int_equal(s_commit(f, jobs, 2, &res), 1);
    assert_int_equal(s_receipt(f, jobs[0], &env[0], MN_RECEIPT_ACCEPTED).registration, 1);
    assert_int_equal(s_receipt(f, jobs[1], &env[1], MN_RECEIPT_ACCEPTED).registration, 2);
    assert_int_equal(gw_writer_failed_run(), 0);                /* the run of failures ended */
    assert_int_equal(atomic_load(&f->stats.acute_unrouted), 1); /* the acute one, once */
    s_free_jobs(jobs, 2);
    for (int i = 0; i < 2; i++)
        mn_envelope_clear(&env[i]);
}

/* --- hand-over to other threads ------------------------------------------------------------ */

static void s_build_all(void *arg, gw_job **jobs, size_t n)
{
    fixture *f = arg;
    f->build_calls++;
    f->built += n;
    for (size_t i = 0; i < n; i++) {
        assert_null(jobs[i]->prepared.record);
        gw_writer_build(jobs[i]);
        assert_int_equal(jobs[i]->build_rc, MN_OK);
        assert_non_null(jobs[i]->prepared.record);
    }
}

static void s_acknowledge_all(void *arg, gw_job **jobs, size_t n)
{
    fixture *f = arg;
    assert_true(f->handed_over + n <= BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        f->handed[f->handed_over++] = jobs[i];
}

/* With build_all the fresh registrations (only those) are built by the caller's threads; with
 * acknowledge_all the receipts are signed there, after the commit. */
static void test_hand_over(void **state)
{
    fixture *f = *state;
    mn_envelope env[2];
    gw_job *jobs[3];
    gw_writer_result res;
    f->writer.build_all = s_build_all;
    f->writer.acknowledge_all = s_acknowledge_all;
    f->writer.build_arg = f;

    s_seal(f, f->report, 0, NULL, &env[0]);
    s_seal(f, f->other, 0, NULL, &env[1]);
    jobs[0] = s_job(f, &env[0]);
    jobs[1] = s_job(f, &env[1]);
    jobs[2] = s_job(f, &env[0]); /* a duplicate: nothing to build */
    assert_int_equal(s_commit(f, jobs, 3, &res), 1);
    assert_int_equal(f->build_calls, 1);
    assert_int_equal(f->built, 2);
    assert_int_equal(f->handed_over, 3);
    /* Committed, not yet answered: the receipts are decided but not signed. */
    assert_int_equal(s_registrations(f), 2);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(f->handed[i], jobs[i]);
        assert_null(jobs[i]->reply);
        assert_int_equal(jobs[i]->receipt.status,
                         i == 2 ? MN_RECEIPT_DUPLICATE : MN_RECEIPT_ACCEPTED);
    }
    assert_int_equal(atomic_load(&f->stats.accepted), 0); /* counted when acknowledged */
    for (int i = 0; i < 3; i++)
        gw_writer_acknowledge(&f->writer, f->handed[i]);
    mn_receipt a = s_receipt(f, jobs[0], &env[0], MN_RECEIPT_ACCEPTED);
    s_receipt(f, jobs[1], &env[1], MN_RECEIPT_ACCEPTED);
    assert_int_equal(s_receipt(f, jobs[2], &env[0], MN_RECEIPT_DUPLICATE).registration,
                     a.registration);
    assert_int_equal(atomic_load(&f->stats.accepted), 2);
    assert_int_equal(atomic_load(&f->stats.duplicates), 1);
    s_free_jobs(jobs, 3);
    for (int i = 0; i < 2; i++)
        mn_envelope_clear(&env[i]);
}

/* A job refused while deciding (ID_REUSED) keeps its Reject when acknowledged. */
static void test_acknowledge_keeps_refusal(void **state)
{
    fixture *f = *state;
    mn_envelope first, reused;
    gw_job *jobs[2];
    gw_writer_result res;
    f->writer.acknowledge_all = s_acknowledge_all;
    f->writer.build_arg = f;
    s_seal(f, f->report, 0, NULL, &first);
    s_seal(f, f->other, 0, first.id, &reused);
    jobs[0] = s_job(f, &first);
    jobs[1] = s_job(f, &reused);
    assert_int_equal(s_commit(f, jobs, 2, &res), 1);
    assert_int_equal(f->handed_over, 2);
    for (int i = 0; i < 2; i++)
        gw_writer_acknowledge(&f->writer, jobs[i]);
    s_receipt(f, jobs[0], &first, MN_RECEIPT_ACCEPTED);
    s_assert_reject(jobs[1], &reused, MN_REJECT_ID_REUSED);
    s_free_jobs(jobs, 2);
    mn_envelope_clear(&first);
    mn_envelope_clear(&reused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_commits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_answers_first_registration, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_same_content_new_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_id_reused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clock_skew_counted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_acute_unrouted_counted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_rejects_every_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hand_over, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_acknowledge_keeps_refusal, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    mn_log_set_level(MN_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
