/* test_gw_verify - the crypto workers' stage: a good envelope becomes a report ready to register;
 * every refusal (damaged frame, too large, other version, agent mismatch, bad signature, sealed
 * to another gateway, not a valid report) becomes the job's Reject with its reason, counted.
 *
 * Real parts only: libsodium identities, envelopes sealed and signed by mn_envelope, frames
 * encoded by mn_wire, reports from examples/. Unknown and revoked agents never reach this stage
 * (the ZAP handler and the receive thread refuse them, test_gw_auth); what it sees of an agent is
 * the name and the signing key the receive thread looked up, so an envelope naming another agent
 * is AGENT_MISMATCH and one signed with a key the agent no longer has is BAD_SIGNATURE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_stage_fixture.h"
#include "gw_verify.h"
#include "mn_log.h"

typedef struct fixture {
    mn_key *gateway;
    mn_key *agent;
    mn_secret32 *digest_key;
    gw_stats stats;
    gw_verify_deps deps;
    mn_report *report; /* minor-loverboy-acute.json */
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->gateway = stage_key(MN_ROLE_GATEWAY, "gateway");
    f->agent = stage_key(MN_ROLE_AGENT, STAGE_AGENT);
    assert_int_equal(mn_secret32_generate(&f->digest_key, NULL), MN_OK);
    gw_stats_init(&f->stats);
    f->deps = (gw_verify_deps){.gateway = f->gateway,
                               .digest_key = f->digest_key,
                               .stats = &f->stats,
                               .max_frame_bytes = MN_WIRE_DEFAULT_MAX_FRAME};
    f->report = fixture_load("minor-loverboy-acute.json");
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    mn_report_destroy(&f->report);
    mn_secret32_destroy(&f->digest_key);
    mn_key_destroy(&f->gateway);
    mn_key_destroy(&f->agent);
    free(f);
    return 0;
}

static const uint8_t *s_box(const fixture *f)
{
    return mn_key_public(f->gateway)->box;
}

static const uint8_t *s_sign(const mn_key *k)
{
    return mn_key_public(k)->sign;
}

/* Run the stage on a job of agent STAGE_AGENT (its current key) for env. */
static gw_job *s_verify(fixture *f, const mn_envelope *env, int want_rc)
{
    gw_job *job = stage_job(STAGE_AGENT, s_sign(f->agent), env);
    assert_int_equal(gw_verify_job(&f->deps, job), want_rc);
    return job;
}

/* The job was refused for `reason`: its answer is that Reject (with env's id when env is not
 * NULL), the content is gone, and the reason was counted once more than `before`. */
static void s_assert_rejected(const fixture *f, const gw_job *job, const mn_envelope *env,
                              int reason, uint64_t before)
{
    mn_from_gateway out;
    stage_reply(job, &out);
    assert_int_equal(out.kind, MN_FROM_REJECT);
    assert_int_equal(out.reject.reason, reason);
    assert_int_equal(out.reject.retryable, mn_reject_reason_is_retryable(reason));
    assert_true(out.reject.detail[0] != '\0');
    assert_int_equal(out.reject.has_id, env != NULL);
    if (env)
        assert_memory_equal(out.reject.id, env->id, sizeof env->id);
    assert_int_equal(job->receipt.status, 0);
    assert_null(job->report);
    assert_null(job->env.sealed);
    assert_int_equal(atomic_load(&f->stats.rejected_by_reason[reason]), before + 1);
}

static uint64_t s_count(const fixture *f, int reason)
{
    return atomic_load(&f->stats.rejected_by_reason[reason]);
}

/* --- success ------------------------------------------------------------------------------- */

static void test_good_envelope_passes(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    uint8_t digest[32];
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    gw_job *job = s_verify(f, &env, MN_OK);

    assert_null(job->reply); /* no answer yet: the writer gives the receipt */
    assert_int_equal(job->receipt.status, 0);
    assert_non_null(job->report);
    assert_int_equal(mn_report_validate(job->report, NULL), MN_OK);
    assert_string_equal(job->report->narrative, f->report->narrative);
    assert_int_equal(job->acute, 1);
    assert_memory_equal(job->env.id, env.id, sizeof env.id);
    assert_string_equal(job->env.agent, STAGE_AGENT);
    assert_int_equal(job->env.created_ms, env.created_ms);
    /* The sealed bytes and the frame are dropped; only the plaintext goes on. */
    assert_null(job->env.sealed);
    assert_int_equal(job->env.sealed_len, 0);
    assert_int_equal(zmq_msg_size(&job->payload), 0);
    /* The keyed digest of this agent and this content. */
    assert_int_equal(mn_report_digest(f->report, STAGE_AGENT, mn_secret32_bytes(f->digest_key),
                                      digest),
                     MN_OK);
    assert_memory_equal(job->digest, digest, sizeof digest);
    assert_int_equal(atomic_load(&f->stats.rejected), 0);
    gw_job_free(&job);
    gw_job_free(&job); /* twice is harmless */
    mn_envelope_clear(&env);
}

static void test_not_acute_report(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    stage_set_acute(f->report, 0);
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    gw_job *job = s_verify(f, &env, MN_OK);
    assert_int_equal(job->acute, 0);
    assert_int_equal(job->report->acute_danger, 0);
    gw_job_free(&job);
    mn_envelope_clear(&env);
}

/* The digest is what dedup by content rests on: the same content from the same agent under a
 * new envelope id gives the same digest; another agent, or other content, another one. */
static void test_digest_by_agent_and_content(void **state)
{
    fixture *f = *state;
    mn_key *other = stage_key(MN_ROLE_AGENT, "school-b");
    mn_envelope e1, e2, e3, e4;
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &e1);
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms() + 5, NULL, &e2);
    stage_seal(other, s_box(f), f->report, mn_now_ms(), NULL, &e3);
    assert_memory_not_equal(e1.id, e2.id, sizeof e1.id);

    gw_job *j1 = s_verify(f, &e1, MN_OK);
    gw_job *j2 = s_verify(f, &e2, MN_OK);
    gw_job *j3 = stage_job("school-b", s_sign(other), &e3);
    assert_int_equal(gw_verify_job(&f->deps, j3), MN_OK);
    assert_memory_equal(j1->digest, j2->digest, sizeof j1->digest);
    assert_memory_not_equal(j1->digest, j3->digest, sizeof j1->digest);

    fixture_set(&f->report->narrative, "Een ander verhaal.");
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &e4);
    gw_job *j4 = s_verify(f, &e4, MN_OK);
    assert_memory_not_equal(j1->digest, j4->digest, sizeof j1->digest);

    gw_job_free(&j1);
    gw_job_free(&j2);
    gw_job_free(&j3);
    gw_job_free(&j4);
    mn_envelope_clear(&e1);
    mn_envelope_clear(&e2);
    mn_envelope_clear(&e3);
    mn_envelope_clear(&e4);
    mn_key_destroy(&other);
}

/* --- refusals ------------------------------------------------------------------------------ */

static void test_damaged_frame_is_malformed(void **state)
{
    fixture *f = *state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05};
    uint64_t before = s_count(f, MN_REJECT_MALFORMED);

    gw_job *job = stage_job_frame(STAGE_AGENT, s_sign(f->agent), garbage, sizeof garbage);
    assert_int_equal(gw_verify_job(&f->deps, job), MN_EDECODE);
    s_assert_rejected(f, job, NULL, MN_REJECT_MALFORMED, before);
    gw_job_free(&job);

    /* A real frame cut short. */
    mn_envelope env;
    uint8_t *frame = NULL;
    size_t len = 0;
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    assert_int_equal(mn_wire_encode_envelope(&env, &frame, &len), MN_OK);
    job = stage_job_frame(STAGE_AGENT, s_sign(f->agent), frame, len / 2);
    assert_int_equal(gw_verify_job(&f->deps, job), MN_EDECODE);
    s_assert_rejected(f, job, NULL, MN_REJECT_MALFORMED, before + 1);
    assert_int_equal(atomic_load(&f->stats.rejected), 2);
    gw_job_free(&job);

    /* An empty frame. */
    job = stage_job_frame(STAGE_AGENT, s_sign(f->agent), NULL, 0);
    assert_int_equal(gw_verify_job(&f->deps, job), MN_EDECODE);
    s_assert_rejected(f, job, NULL, MN_REJECT_MALFORMED, before + 2);
    gw_job_free(&job);
    free(frame);
    mn_envelope_clear(&env);
}

static void test_frame_over_the_limit(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    f->deps.max_frame_bytes = 512; /* the sealed report alone is bigger */
    gw_job *job = s_verify(f, &env, MN_EDECODE);
    s_assert_rejected(f, job, NULL, MN_REJECT_TOO_LARGE, 0);
    gw_job_free(&job);
    mn_envelope_clear(&env);
}

static void test_other_protocol_version(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    env.version = MN_PROTOCOL_VERSION + 1;
    stage_resign(&env, f->agent);
    gw_job *job = s_verify(f, &env, MN_EDECODE);
    s_assert_rejected(f, job, &env, MN_REJECT_UNSUPPORTED_VERSION, 0);
    gw_job_free(&job);
    mn_envelope_clear(&env);
}

/* An authenticated agent sends an envelope in another agent's name. */
static void test_agent_mismatch(void **state)
{
    fixture *f = *state;
    mn_key *other = stage_key(MN_ROLE_AGENT, "school-b");
    mn_envelope env;
    mn_from_gateway out;
    stage_seal(other, s_box(f), f->report, mn_now_ms(), NULL, &env);
    /* Connection authenticated as school-a, with school-a's key; the envelope says school-b
     * and carries school-b's valid signature. */
    gw_job *job = s_verify(f, &env, MN_EINVAL);
    s_assert_rejected(f, job, &env, MN_REJECT_AGENT_MISMATCH, 0);
    stage_reply(job, &out);
    assert_non_null(strstr(out.reject.detail, "\"school-b\""));
    assert_non_null(strstr(out.reject.detail, "\"school-a\""));
    gw_job_free(&job);
    mn_envelope_clear(&env);
    mn_key_destroy(&other);
}

static void test_bad_signature(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    uint64_t before = 0;
    mn_key *rekeyed = stage_key(MN_ROLE_AGENT, STAGE_AGENT);

    /* The agent's key was replaced (the receive thread looked up the new one). */
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    gw_job *job = stage_job(STAGE_AGENT, s_sign(rekeyed), &env);
    assert_int_equal(gw_verify_job(&f->deps, job), MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_BAD_SIGNATURE, before++);
    gw_job_free(&job);

    /* A flipped bit in the signature. */
    env.signature[10] ^= 0x01;
    job = s_verify(f, &env, MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_BAD_SIGNATURE, before++);
    gw_job_free(&job);
    env.signature[10] ^= 0x01;

    /* Damaged sealed bytes: the signature covers them. */
    env.sealed[env.sealed_len / 2] ^= 0x80;
    job = s_verify(f, &env, MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_BAD_SIGNATURE, before++);
    gw_job_free(&job);
    env.sealed[env.sealed_len / 2] ^= 0x80;

    /* A signed field changed after signing: seq, created_ms. */
    env.created_ms += 1;
    job = s_verify(f, &env, MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_BAD_SIGNATURE, before++);
    gw_job_free(&job);
    env.created_ms -= 1;

    /* Put back together, it passes: the refusals were for the damage alone. */
    job = s_verify(f, &env, MN_OK);
    gw_job_free(&job);
    assert_int_equal(atomic_load(&f->stats.rejected), before);
    mn_envelope_clear(&env);
    mn_key_destroy(&rekeyed);
}

/* Signed correctly by the agent, but not openable with this gateway's box key. */
static void test_cannot_open(void **state)
{
    fixture *f = *state;
    mn_key *other_gateway = stage_key(MN_ROLE_GATEWAY, "gateway");
    mn_envelope env;
    mn_from_gateway out;

    stage_seal(f->agent, mn_key_public(other_gateway)->box, f->report, mn_now_ms(), NULL, &env);
    gw_job *job = s_verify(f, &env, MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_CANNOT_OPEN, 0);
    stage_reply(job, &out);
    assert_non_null(strstr(out.reject.detail, "gateway.pub"));
    gw_job_free(&job);
    mn_envelope_clear(&env);

    /* Sealed to us, damaged, and signed after the damage (an agent's bug). */
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    env.sealed[env.sealed_len - 1] ^= 0x01;
    stage_resign(&env, f->agent);
    job = s_verify(f, &env, MN_ECRYPTO);
    s_assert_rejected(f, job, &env, MN_REJECT_CANNOT_OPEN, 1);
    gw_job_free(&job);
    mn_envelope_clear(&env);
    mn_key_destroy(&other_gateway);
}

static void test_invalid_report(void **state)
{
    fixture *f = *state;
    mn_envelope env;
    mn_from_gateway out;
    static const uint8_t not_a_report[] = "this is not a protobuf Report \xff\xff\xff\xff";

    stage_seal_bytes(f->agent, s_box(f), not_a_report, sizeof not_a_report, mn_now_ms(), NULL,
                     &env);
    gw_job *job = s_verify(f, &env, MN_EINVAL);
    s_assert_rejected(f, job, &env, MN_REJECT_INVALID_REPORT, 0);
    gw_job_free(&job);
    mn_envelope_clear(&env);

    /* A Report that decodes but breaks a rule: acute without a reason. */
    fixture_set(&f->report->acute_reason, NULL);
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms(), NULL, &env);
    job = s_verify(f, &env, MN_EINVAL);
    s_assert_rejected(f, job, &env, MN_REJECT_INVALID_REPORT, 1);
    stage_reply(job, &out);
    assert_non_null(strstr(out.reject.detail, "acute_reason"));
    assert_false(out.reject.retryable);
    gw_job_free(&job);
    mn_envelope_clear(&env);
}

/* The frame's time stamp is not this stage's business: a clock far ahead or far behind still
 * passes (the writer counts it, test_gw_writer). */
static void test_clock_is_not_checked_here(void **state)
{
    fixture *f = *state;
    mn_envelope ahead, stale;
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms() + GW_CLOCK_SKEW_MS * 10, NULL, &ahead);
    stage_seal(f->agent, s_box(f), f->report, mn_now_ms() - GW_STALE_MS * 2, NULL, &stale);
    gw_job *j1 = s_verify(f, &ahead, MN_OK);
    gw_job *j2 = s_verify(f, &stale, MN_OK);
    assert_int_equal(j1->env.created_ms, ahead.created_ms);
    assert_int_equal(j2->env.created_ms, stale.created_ms);
    assert_int_equal(atomic_load(&f->stats.rejected), 0);
    assert_int_equal(atomic_load(&f->stats.timestamp_ahead), 0);
    gw_job_free(&j1);
    gw_job_free(&j2);
    mn_envelope_clear(&ahead);
    mn_envelope_clear(&stale);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_envelope_passes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_acute_report, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_digest_by_agent_and_content, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_frame_is_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_frame_over_the_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_other_protocol_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_mismatch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cannot_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_report, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clock_is_not_checked_here, s_setup, s_teardown),
    };
    if (mn_crypto_init() != MN_OK)
        return 1;
    mn_log_set_level(MN_LOG_ERR); /* every refusal logs a warning */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
