/* mn-bench - load generator and machine probes behind `make bench` (scripts/bench.sh).
 *
 * Subcommands, each printing machine-readable "key=value" lines on stdout for the script:
 *
 *   crypto   the per-envelope crypto the gateway must do, on every core: the machine's bound
 *   lmdb     durable (fsynced) LMDB write transactions per second in a folder
 *   load     agents sending pre-sealed envelopes to a real gateway: closed loop (--max, a
 *            window of envelopes in flight) or open loop (--rate, on schedule), optionally next
 *            to flooding agents; receipts are verified after the timed part
 *   acute    one envelope, then the time until its referral file is on a partner's disk
 *   status   a gateway's run/status.json flattened to key=value (counters, stages)
 *   wait     wait until a status.json counter reaches a value
 *   rss      sample VmRSS/VmHWM of the process named by a pid file until stopped
 *
 * Load: one thread per agent, each with its own DEALER socket (CURVE, the agent's transport
 * key). Every envelope is sealed and signed before the timed part starts, as a real agent seals
 * into its spool ahead of time, and each carries a different narrative tag (a random run
 * nonce, the agent, a counter) so every report has its own content digest. Replies are matched
 * to envelopes by id. Latency is receipt time minus send time; in open loop minus the scheduled
 * send time, so a generator that falls behind does not hide the wait (no coordinated omission).
 *
 * Caveats: the load generator shares the machine with the gateway; it is kept light (sealing
 * happens before the clock starts, verification after it stops), but a flooding agent spins.
 * Point it only at a gateway you run for testing.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>
#include <zmq.h>

#include "mn_client.h"
#include "mn_delivery.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_report.h"
#include "mn_time.h"
#include "mn_wire.h"

#define PROG "mn-bench"
#define S_MAX_AGENTS 64
#define S_BATCH 64 /* envelopes per batch in the crypto probe, as the gateway batches */
#define S_HANDSHAKE_MS 10000

/* ---------------------------------------------------------------------------------------------
 * Small helpers */

/* This process's CPU time (user + system, every thread), in ns. */
static uint64_t s_process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void s_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                          .tv_nsec = (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int s_parse_num(const char *opt, const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, PROG ": %s \"%s\": give a number from %g to %g\n", opt, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int s_parse_long(const char *opt, const char *text, long min, long max, long *out)
{
    double v = 0;
    if (s_parse_num(opt, text, (double)min, (double)max, &v) != 0)
        return -1;
    if (v != floor(v)) {
        fprintf(stderr, PROG ": %s \"%s\": give a whole number\n", opt, text);
        return -1;
    }
    *out = (long)v;
    return 0;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n sorted values, nearest rank; 0 for none. */
static double s_quantile(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* Load the report JSON and set a base narrative; caller owns *out. */
static int s_load_report(const char *path, mn_report **out, char **narrative)
{
    mn_diag d = {0};
    int rc = mn_report_load_json(path, out, &d);
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        return rc;
    }
    *narrative = strdup((*out)->narrative ? (*out)->narrative : "");
    return *narrative ? MN_OK : MN_ENOMEM;
}

/* A random run nonce, 16 hex digits after `prefix`, for the narrative tags of one run. */
static void s_run_tag(const char *prefix, char *out, size_t cap)
{
    uint8_t nonce[8];
    char hex[2 * sizeof nonce + 1];
    randombytes_buf(nonce, sizeof nonce);
    snprintf(out, cap, "%s%s", prefix, sodium_bin2hex(hex, sizeof hex, nonce, sizeof nonce));
}

/* Encode r with narrative = base + " [bench TAG]". Caller owns *plain (mn_plain_free). */
static int s_encode_tagged(mn_report *r, const char *base, const char *tag, uint8_t **plain,
                           size_t *len)
{
    size_t cap = strlen(base) + strlen(tag) + 16;
    char *text = malloc(cap);
    if (!text)
        return MN_ENOMEM;
    snprintf(text, cap, "%s%s[bench %s]", base, *base ? " " : "", tag);
    free(r->narrative);
    r->narrative = text;
    return mn_report_encode(r, plain, len);
}

/* ---------------------------------------------------------------------------------------------
 * crypto: the machine's bound */

typedef struct s_crypto_shared {
    mn_key *gateway;
    mn_key *agent;
    mn_pubkey recipients[3]; /* registry, partner A, partner B */
    uint8_t digest_key[32];
    uint8_t curve_key[crypto_box_BEFORENMBYTES]; /* agent<->gateway CURVE session, precomputed */
    mn_envelope env[S_BATCH];
    uint8_t *frame_ct[S_BATCH]; /* the ToGateway frame as CURVE ciphertext */
    size_t frame_ct_len[S_BATCH];
    uint8_t nonce[crypto_box_NONCEBYTES];
    uint8_t *box_plain; /* what goes into each of the 3 boxes (~ a redacted report) */
    size_t box_plain_len;
    uint8_t *receipt_frame; /* an encoded FromGateway{receipt}, what CURVE encrypts out */
    size_t receipt_frame_len;
    pthread_barrier_t start;
    atomic_int stop;
} s_crypto_shared;

typedef struct s_crypto_thread {
    pthread_t th;
    s_crypto_shared *sh;
    uint64_t envelopes;
    int failed;
} s_crypto_thread;

enum {
    S_PART_CURVE_IN,
    S_PART_VERIFY,
    S_PART_OPEN,
    S_PART_DECODE,
    S_PART_DIGEST,
    S_PART_BOXES,
    S_PART_DELIVERY_SIGN,
    S_PART_RECEIPT_SIGN,
    S_PART_CURVE_OUT,
    S_PART_COUNT
};
static const char *const s_part_names[S_PART_COUNT] = {"curve_in",       "verify",
                                                       "open",           "decode",
                                                       "digest",         "boxes3",
                                                       "delivery_sign2", "receipt_sign",
                                                       "curve_out"};

/* The work of one envelope i of a batch, with that batch's three sealers. part_ns, when not
 * NULL, gets the time of each part added. Returns 0, or -1 when something failed. */
static int s_crypto_one(s_crypto_shared *sh, int i, mn_box_sealer *sealers[3], uint8_t *frame_buf,
                        uint64_t *part_ns)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_report *r = NULL;
    uint8_t digest[32];
    int rc = MN_OK;
    uint64_t t = part_ns ? s_now_ns() : 0;
#define S_LAP(p)                                                                                   \
    do {                                                                                           \
        if (part_ns) {                                                                             \
            uint64_t now_ = s_now_ns();                                                            \
            part_ns[p] += now_ - t;                                                                \
            t = now_;                                                                              \
        }                                                                                          \
    } while (0)

    /* CURVE: the ~2.3 KiB message in, decrypted with the session's precomputed key. */
    if (crypto_box_open_easy_afternm(frame_buf, sh->frame_ct[i], sh->frame_ct_len[i], sh->nonce,
                                     sh->curve_key) != 0)
        return -1;
    S_LAP(S_PART_CURVE_IN);
    if (mn_envelope_verify(&sh->env[i], mn_key_public(sh->agent)->sign) != MN_OK)
        return -1;
    S_LAP(S_PART_VERIFY);
    if (mn_envelope_open(&sh->env[i], sh->gateway, MN_REPORT_MAX_BYTES, &plain, &plain_len, NULL) !=
        MN_OK)
        return -1;
    S_LAP(S_PART_OPEN);
    rc = mn_report_decode(plain, plain_len, MN_REPORT_MAX_BYTES, &r, NULL);
    S_LAP(S_PART_DECODE);
    if (rc == MN_OK)
        rc = mn_report_digest(r, sh->env[i].agent, sh->digest_key, digest);
    S_LAP(S_PART_DIGEST);
    mn_report_destroy(&r);
    mn_plain_free(plain, plain_len);
    if (rc != MN_OK)
        return -1;

    /* 1 registry record + 2 referrals, each sealed to its recipient. */
    uint8_t *boxes[3] = {NULL, NULL, NULL};
    size_t box_len[3] = {0, 0, 0};
    for (int k = 0; rc == MN_OK && k < 3; k++)
        rc = mn_box_sealer_seal(sealers[k], sh->box_plain, sh->box_plain_len, &boxes[k],
                                &box_len[k]);
    S_LAP(S_PART_BOXES);
    for (int k = 1; rc == MN_OK && k < 3; k++) {
        mn_delivery dl;
        memset(&dl, 0, sizeof dl);
        dl.registration = 1000 + (uint64_t)i;
        dl.topics.n = 3;
        snprintf(dl.topics.name[0], sizeof dl.topics.name[0], "care.midden-nederland");
        snprintf(dl.topics.name[1], sizeof dl.topics.name[1], "shelter.coordination");
        snprintf(dl.topics.name[2], sizeof dl.topics.name[2], "hotline.midden-nederland");
        dl.sealed = boxes[k];
        dl.sealed_len = box_len[k];
        rc = mn_delivery_sign(&dl, sh->recipients[k].name, sh->gateway);
    }
    S_LAP(S_PART_DELIVERY_SIGN);
    for (int k = 0; k < 3; k++)
        free(boxes[k]);
    if (rc != MN_OK)
        return -1;

    mn_receipt rec;
    memset(&rec, 0, sizeof rec);
    memcpy(rec.id, sh->env[i].id, sizeof rec.id);
    rec.status = MN_RECEIPT_ACCEPTED;
    rec.registration = 1000 + (uint64_t)i;
    rec.accepted_ms = mn_now_ms();
    mn_receipt_sign(&rec, sh->gateway);
    S_LAP(S_PART_RECEIPT_SIGN);
    /* CURVE: the receipt frame out (encoding it is not crypto: one frame stands for all). */
    uint8_t out[512];
    if (sh->receipt_frame_len + crypto_box_MACBYTES > sizeof out ||
        crypto_box_easy_afternm(out, sh->receipt_frame, sh->receipt_frame_len, sh->nonce,
                                sh->curve_key) != 0)
        return -1;
    S_LAP(S_PART_CURVE_OUT);
#undef S_LAP
    return 0;
}

static int s_sealers_new(s_crypto_shared *sh, mn_box_sealer *sealers[3])
{
    for (int k = 0; k < 3; k++)
        if (mn_box_sealer_new(sh->recipients[k].box, &sealers[k]) != MN_OK)
            return -1;
    return 0;
}

static void s_sealers_destroy(mn_box_sealer *sealers[3])
{
    for (int k = 0; k < 3; k++)
        mn_box_sealer_destroy(&sealers[k]);
}

static void *s_crypto_thread_main(void *arg)
{
    s_crypto_thread *ct = arg;
    s_crypto_shared *sh = ct->sh;
    uint8_t *frame_buf = malloc(sh->frame_ct_len[0] + 4096);
    if (!frame_buf)
        ct->failed = 1;
    pthread_barrier_wait(&sh->start);
    while (!ct->failed && !atomic_load(&sh->stop)) {
        /* One batch: new sealers (the X25519 work, amortised over 64 envelopes), then 64. */
        mn_box_sealer *sealers[3] = {NULL, NULL, NULL};
        if (s_sealers_new(sh, sealers) != 0)
            ct->failed = 1;
        for (int i = 0; !ct->failed && i < S_BATCH; i++) {
            if (s_crypto_one(sh, i, sealers, frame_buf, NULL) != 0)
                ct->failed = 1;
            else
                ct->envelopes++;
        }
        s_sealers_destroy(sealers);
    }
    free(frame_buf);
    return NULL;
}

static int s_crypto_setup(s_crypto_shared *sh, const char *report_path)
{
    mn_diag d = {0};
    mn_report *r = NULL;
    char *base = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_key *k = NULL;
    static const char *const names[3] = {"registry", "bench-partner-a", "bench-partner-b"};
    static const mn_role roles[3] = {MN_ROLE_REGISTRY, MN_ROLE_PARTNER, MN_ROLE_PARTNER};
    int rc = mn_key_generate(MN_ROLE_GATEWAY, "bench-gateway", &sh->gateway, &d);
    if (rc == MN_OK)
        rc = mn_key_generate(MN_ROLE_AGENT, "bench-agent", &sh->agent, &d);
    for (int i = 0; rc == MN_OK && i < 3; i++) {
        rc = mn_key_generate(roles[i], names[i], &k, &d);
        if (rc == MN_OK)
            sh->recipients[i] = *mn_key_public(k);
        mn_key_destroy(&k);
    }
    if (rc != MN_OK) {
        mn_diag_print(PROG, &d);
        return rc;
    }
    randombytes_buf(sh->digest_key, sizeof sh->digest_key);
    randombytes_buf(sh->nonce, sizeof sh->nonce);
    /* A CURVE session key between the agent's and the gateway's transport keys. */
    uint8_t curve_pk[crypto_box_PUBLICKEYBYTES], curve_sk[crypto_box_SECRETKEYBYTES];
    crypto_box_keypair(curve_pk, curve_sk);
    if (crypto_box_beforenm(sh->curve_key, curve_pk, mn_key_curve_secret(sh->gateway)) != 0)
        return MN_ECRYPTO;
    sodium_memzero(curve_sk, sizeof curve_sk);

    if ((rc = s_load_report(report_path, &r, &base)) != MN_OK)
        goto out;
    for (int i = 0; rc == MN_OK && i < S_BATCH; i++) {
        char tag[32];
        uint8_t *frame = NULL;
        size_t frame_len = 0;
        snprintf(tag, sizeof tag, "crypto %d", i);
        mn_plain_free(plain, plain_len);
        plain = NULL;
        rc = s_encode_tagged(r, base, tag, &plain, &plain_len);
        if (rc == MN_OK)
            rc = mn_envelope_seal(sh->agent, mn_key_public(sh->gateway)->box, plain, plain_len,
                                  (uint64_t)i + 1, mn_now_ms(), &sh->env[i], &d);
        if (rc == MN_OK)
            rc = mn_wire_encode_envelope(&sh->env[i], &frame, &frame_len);
        if (rc == MN_OK) {
            sh->frame_ct_len[i] = frame_len + crypto_box_MACBYTES;
            sh->frame_ct[i] = malloc(sh->frame_ct_len[i]);
            if (!sh->frame_ct[i] || crypto_box_easy_afternm(sh->frame_ct[i], frame, frame_len,
                                                            sh->nonce, sh->curve_key) != 0)
                rc = MN_ECRYPTO;
        }
        free(frame);
    }
    if (rc == MN_OK) {
        sh->box_plain = plain; /* a tagged report: the size of a registry record or referral */
        sh->box_plain_len = plain_len;
        plain = NULL;
        mn_receipt rec;
        memset(&rec, 0, sizeof rec);
        rec.status = MN_RECEIPT_ACCEPTED;
        rec.registration = 1;
        rec.accepted_ms = mn_now_ms();
        mn_receipt_sign(&rec, sh->gateway);
        if (mn_wire_encode_receipt(&rec, &sh->receipt_frame, &sh->receipt_frame_len) != MN_OK)
            rc = MN_ENOMEM;
    }
out:
    if (rc != MN_OK && d.what[0])
        mn_diag_print(PROG, &d);
    mn_plain_free(plain, plain_len);
    free(base);
    mn_report_destroy(&r);
    return rc;
}

static void s_crypto_teardown(s_crypto_shared *sh)
{
    for (int i = 0; i < S_BATCH; i++) {
        mn_envelope_clear(&sh->env[i]);
        free(sh->frame_ct[i]);
    }
    mn_plain_free(sh->box_plain, sh->box_plain_len);
    free(sh->receipt_frame);
    mn_key_destroy(&sh->gateway);
    mn_key_destroy(&sh->agent);
}

static int s_cmd_crypto(int argc, char **argv)
{
    const char *report = NULL;
    double seconds = 3;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
            report = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            if (s_parse_num("--seconds", argv[++i], 0.1, 600, &seconds) != 0)
                return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (s_parse_long("--threads", argv[++i], 1, 1024, &threads) != 0)
                return 2;
        } else {
            fprintf(stderr, "usage: " PROG " crypto --report FILE.json [--seconds S] "
                            "[--threads N]\n");
            return 2;
        }
    }
    if (!report) {
        fprintf(stderr, PROG " crypto: --report FILE.json is required\n");
        return 2;
    }
    if (threads < 1)
        threads = 1;

    s_crypto_shared *sh = calloc(1, sizeof *sh);
    s_crypto_thread *ct = calloc((size_t)threads, sizeof *ct);
    int code = 1;
    if (!sh || !ct || s_crypto_setup(sh, report) != MN_OK)
        goto out;

    /* One thread alone first: where the time of one envelope goes (informational). */
    uint64_t part_ns[S_PART_COUNT] = {0};
    uint8_t *frame_buf = malloc(sh->frame_ct_len[0] + 4096);
    int parts_n = 0;
    for (int round = 0; frame_buf && round < 8; round++) {
        mn_box_sealer *sealers[3] = {NULL, NULL, NULL};
        uint64_t t0 = s_now_ns();
        int ok = s_sealers_new(sh, sealers) == 0;
        part_ns[S_PART_BOXES] += s_now_ns() - t0;
        for (int i = 0; ok && i < S_BATCH; i++, parts_n++)
            if (s_crypto_one(sh, i, sealers, frame_buf, part_ns) != 0)
                ok = 0;
        s_sealers_destroy(sealers);
        if (!ok) {
            fprintf(stderr, PROG " crypto: an envelope did not verify or open\n");
            free(frame_buf);
            goto out;
        }
    }
    free(frame_buf);
    double one_us = 0;
    for (int p = 0; p < S_PART_COUNT; p++) {
        double us = parts_n ? (double)part_ns[p] / parts_n / 1000.0 : 0;
        one_us += us;
        printf("crypto_part name=%s us=%.2f\n", s_part_names[p], us);
    }
    printf("crypto_one_thread us_per_envelope=%.1f envelopes_per_s=%.0f\n", one_us,
           one_us > 0 ? 1e6 / one_us : 0);

    pthread_barrier_init(&sh->start, NULL, (unsigned)threads + 1);
    long started = 0;
    for (; started < threads; started++) {
        ct[started].sh = sh;
        if (pthread_create(&ct[started].th, NULL, s_crypto_thread_main, &ct[started]) != 0)
            break;
    }
    if (started < threads) {
        fprintf(stderr, PROG " crypto: cannot start threads\n");
        exit(1); /* the barrier would never open */
    }
    pthread_barrier_wait(&sh->start);
    uint64_t t0 = s_now_ns();
    s_sleep_ns((uint64_t)(seconds * 1e9));
    atomic_store(&sh->stop, 1);
    uint64_t total = 0;
    int failed = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(ct[i].th, NULL);
        total += ct[i].envelopes;
        failed |= ct[i].failed;
    }
    double secs = (double)(s_now_ns() - t0) / 1e9;
    pthread_barrier_destroy(&sh->start);
    if (failed) {
        fprintf(stderr, PROG " crypto: a thread failed (verify, open or seal)\n");
        goto out;
    }
    printf("crypto threads=%ld seconds=%.2f envelopes=%" PRIu64 " envelopes_per_s=%.0f "
           "report_bytes=%zu sealed_bytes=%zu frame_bytes=%zu batch=%d boxes=sealer\n",
           threads, secs, total, (double)total / secs, sh->box_plain_len, sh->env[0].sealed_len,
           sh->frame_ct_len[0] - crypto_box_MACBYTES, S_BATCH);
    code = 0;
out:
    if (sh)
        s_crypto_teardown(sh);
    free(sh);
    free(ct);
    return code;
}

/* ---------------------------------------------------------------------------------------------
 * lmdb: durable commits per second */

/* What one registration writes: its record, an item for each of two partners, the id. */
static int s_lmdb_register(MDB_txn *txn, MDB_dbi reg_db, MDB_dbi queue_db, MDB_dbi id_db,
                           uint64_t seq, MDB_val *v)
{
    uint8_t key[16], id[16];
    memset(key, 0, sizeof key);
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t)(seq >> (56 - 8 * b)); /* big-endian: appends, as the gateway */
    MDB_val k8 = {8, key};
    int rc = mdb_put(txn, reg_db, &k8, v, 0);
    for (int q = 0; rc == 0 && q < 2; q++) {
        key[8] = (uint8_t)q;
        MDB_val kq = {sizeof key, key};
        rc = mdb_put(txn, queue_db, &kq, v, 0);
    }
    randombytes_buf(id, sizeof id);
    MDB_val ki = {sizeof id, id}, vi = {8, key};
    return rc == 0 ? mdb_put(txn, id_db, &ki, &vi, 0) : rc;
}

static int s_cmd_lmdb(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 2;
    long txn_bytes = 7 * 1024, batch = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            if (s_parse_num("--seconds", argv[++i], 0.1, 600, &seconds) != 0)
                return 2;
        } else if (strcmp(argv[i], "--txn-bytes") == 0 && i + 1 < argc) {
            if (s_parse_long("--txn-bytes", argv[++i], 64, 1 << 20, &txn_bytes) != 0)
                return 2;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (s_parse_long("--batch", argv[++i], 1, 4096, &batch) != 0)
                return 2;
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            dir = NULL;
            break;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: " PROG " lmdb DIR [--seconds S] [--txn-bytes N] [--batch N]\n");
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, PROG " lmdb: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    /* As gw_store_open: default (durable) flags plus MDB_NOTLS. A transaction holds what one
     * registration writes: a registry record and two queue items (about 2.3 KiB each), plus the
     * by_id and by_digest entries. */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi reg_db = 0, queue_db = 0, id_db = 0;
    size_t big = ((size_t)txn_bytes - 64) / 3;
    uint8_t *val = malloc(big);
    int rc = val ? mdb_env_create(&env) : ENOMEM;
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, (size_t)16 * 1024 * 1024 * 1024); /* sparse */
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "registry", MDB_CREATE, &reg_db);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "queue", MDB_CREATE, &queue_db);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "by_id", MDB_CREATE, &id_db);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (val)
        randombytes_buf(val, big);
    uint64_t commits = 0, seq = 0, t0 = s_now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    uint64_t cpu0 = s_process_cpu_ns();
    while (rc == 0 && s_now_ns() < end) {
        MDB_val v = {big, val};
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        for (long r = 0; rc == 0 && r < batch; r++)
            rc = s_lmdb_register(txn, reg_db, queue_db, id_db, ++seq, &v);
        if (rc == 0) {
            rc = mdb_txn_commit(txn); /* fsync */
            txn = NULL;
            if (rc == 0)
                commits++;
        }
    }
    double secs = (double)(s_now_ns() - t0) / 1e9;
    double cpu_us = (double)(s_process_cpu_ns() - cpu0) / 1e3;
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    free(val);
    if (rc != 0) {
        fprintf(stderr, PROG " lmdb: %s: %s\n", dir, mdb_strerror(rc));
        return 1;
    }
    /* CPU per registration: this process's user and system time, the kernel's copy into the
     * page cache and the write-back fdatasync does included; what the gateway's writer pays. */
    printf("lmdb seconds=%.2f commits=%" PRIu64 " commits_per_s=%.0f txn_bytes=%ld batch=%ld "
           "registrations_per_s=%.0f cpu_us_per_registration=%.1f\n",
           secs, commits, (double)commits / secs, txn_bytes, batch,
           (double)(commits * (uint64_t)batch) / secs,
           commits ? cpu_us / (double)(commits * (uint64_t)batch) : 0.0);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * load: agents against a real gateway */

typedef enum { S_ROLE_LOAD, S_ROLE_FLOOD } s_role;

/* Reply state of one envelope. */
enum { S_ST_NONE = 0, S_ST_SENT, S_ST_ACCEPTED, S_ST_DUPLICATE, S_ST_REJECTED };

typedef struct s_load_opts {
    const char *endpoint;
    const char *gateway_key;
    const char *report;
    int max;           /* closed loop: as fast as the window allows */
    double rate;       /* open loop: envelopes per second per agent */
    double duration_s; /* open loop and flooders: how long to send */
    long count;        /* envelopes per agent (closed loop) */
    long window;
    long flood_window;
    long flood_count;    /* sealed envelopes each flooder has */
    double flood_lead_s; /* flooders start this long before the others */
    double skip_s;       /* throughput: leave out the first seconds */
    long timeout_ms;     /* give up after this long without a reply */
    const char *tag;
} s_load_opts;

typedef struct s_agent {
    /* set up */
    const s_load_opts *o;
    s_role role;
    int index;
    mn_key *key;
    const char *name;
    const mn_pubkey *gateway;
    void *zctx;
    void *dealer;
    void *monitor;
    long n; /* envelopes sealed */
    long window;
    double rate; /* open loop; 0 = closed loop */
    uint64_t start_offset_ns;
    uint64_t send_until_ns; /* 0: until all n are sent */
    /* envelopes */
    uint8_t **frame;
    size_t *frame_len;
    uint8_t (*id)[MN_ENVELOPE_ID_BYTES];
    uint64_t *sched_ns; /* scheduled (open loop) or last actual send time */
    uint64_t *recv_ns;
    uint8_t *state;
    mn_receipt *receipt;
    uint32_t *slot; /* hash table id -> index + 1 */
    size_t slot_mask;
    uint32_t *resend; /* ring of rejected envelopes a flooder sends again */
    size_t resend_head, resend_tail, resend_cap;
    /* results */
    uint64_t t0_ns;
    uint64_t first_send_ns, last_send_ns, last_recv_ns;
    long next; /* next fresh envelope */
    long sent, replies, outstanding, accepted, duplicate, rejected, unmatched, unverified;
    long rejects[MN_REJECT_REASON_MAX + 1];
    long frames_sent; /* including resends */
    int exhausted;    /* a flooder used up its envelopes */
    int timed_out;
    int failed;
    double seal_s;
    char error[256];
    pthread_t th;
} s_agent;

typedef struct s_load_shared {
    pthread_barrier_t sealed;
    pthread_barrier_t go;
    uint64_t t0_ns;
} s_load_shared;

static s_load_shared s_ls;

static uint64_t s_id_hash(const uint8_t *id)
{
    uint64_t h;
    memcpy(&h, id, sizeof h); /* ids are random */
    return h;
}

static void s_slot_put(s_agent *a, long idx)
{
    size_t i = s_id_hash(a->id[idx]) & a->slot_mask;
    while (a->slot[i])
        i = (i + 1) & a->slot_mask;
    a->slot[i] = (uint32_t)idx + 1;
}

static long s_slot_find(const s_agent *a, const uint8_t *id)
{
    size_t i = s_id_hash(id) & a->slot_mask;
    while (a->slot[i]) {
        long idx = (long)a->slot[i] - 1;
        if (memcmp(a->id[idx], id, MN_ENVELOPE_ID_BYTES) == 0)
            return idx;
        i = (i + 1) & a->slot_mask;
    }
    return -1;
}

static int s_agent_alloc(s_agent *a)
{
    size_t n = (size_t)a->n;
    size_t slots = 1;
    while (slots < 2 * n + 2)
        slots <<= 1;
    a->frame = calloc(n, sizeof *a->frame);
    a->frame_len = calloc(n, sizeof *a->frame_len);
    a->id = calloc(n, sizeof *a->id);
    a->sched_ns = calloc(n, sizeof *a->sched_ns);
    a->recv_ns = calloc(n, sizeof *a->recv_ns);
    a->state = calloc(n, sizeof *a->state);
    a->receipt = calloc(n, sizeof *a->receipt);
    a->slot = calloc(slots, sizeof *a->slot);
    a->slot_mask = slots - 1;
    /* Rejected envelopes waiting to be sent again: at most a window of them (flooders only). */
    a->resend_cap = a->role == S_ROLE_FLOOD ? (size_t)a->window + 1 : 1;
    a->resend = calloc(a->resend_cap, sizeof *a->resend);
    return a->frame && a->frame_len && a->id && a->sched_ns && a->recv_ns && a->state &&
                   a->receipt && a->slot && a->resend
               ? 0
               : -1;
}

static void s_agent_close(s_agent *a)
{
    if (a->dealer)
        zmq_close(a->dealer);
    if (a->monitor)
        zmq_close(a->monitor);
    a->dealer = a->monitor = NULL;
}

static void s_agent_free(s_agent *a)
{
    if (a->frame)
        for (long i = 0; i < a->n; i++)
            free(a->frame[i]);
    free(a->frame);
    free(a->frame_len);
    free(a->id);
    free(a->sched_ns);
    free(a->recv_ns);
    free(a->state);
    free(a->receipt);
    free(a->slot);
    free(a->resend);
    mn_key_destroy(&a->key);
}

/* Seal this agent's envelopes (its own copy of the report, each with its own tag). */
static int s_agent_seal(s_agent *a)
{
    mn_report *r = NULL;
    char *base = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    mn_diag d = {0};
    int rc = s_load_report(a->o->report, &r, &base);
    uint64_t t0 = s_now_ns();
    for (long i = 0; rc == MN_OK && i < a->n; i++) {
        char tag[160];
        mn_envelope env;
        memset(&env, 0, sizeof env);
        snprintf(tag, sizeof tag, "%s %s %ld", a->o->tag, a->name, i);
        rc = s_encode_tagged(r, base, tag, &plain, &plain_len);
        if (rc == MN_OK)
            rc = mn_envelope_seal(a->key, a->gateway->box, plain, plain_len, (uint64_t)i + 1,
                                  mn_now_ms(), &env, &d);
        if (rc == MN_OK)
            rc = mn_wire_encode_envelope(&env, &a->frame[i], &a->frame_len[i]);
        if (rc == MN_OK) {
            memcpy(a->id[i], env.id, MN_ENVELOPE_ID_BYTES);
            s_slot_put(a, i);
        }
        mn_envelope_clear(&env);
        mn_plain_free(plain, plain_len);
        plain = NULL;
    }
    a->seal_s = (double)(s_now_ns() - t0) / 1e9;
    if (rc != MN_OK)
        snprintf(a->error, sizeof a->error, "cannot seal: %s %.160s", mn_err_meaning(rc), d.what);
    free(base);
    mn_report_destroy(&r);
    return rc;
}

/* Connect with CURVE and wait until the handshake has succeeded (so no timed envelope waits
 * for it). */
static int s_agent_connect(s_agent *a)
{
    char mon[64];
    int linger = 0, hwm = 100000;
    int64_t maxmsg = -1;
    a->dealer = zmq_socket(a->zctx, ZMQ_DEALER);
    if (!a->dealer || zmq_setsockopt(a->dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(a->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        mn_client_curve(a->dealer, a->key, a->gateway->curve) != 0)
        goto fail;
    snprintf(mon, sizeof mon, "inproc://mn-bench-monitor-%d", a->index);
    if (zmq_socket_monitor(a->dealer, mon,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        goto fail;
    a->monitor = zmq_socket(a->zctx, ZMQ_PAIR);
    if (!a->monitor || zmq_setsockopt(a->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(a->monitor, mon) != 0 || zmq_connect(a->dealer, a->o->endpoint) != 0)
        goto fail;
    uint64_t deadline = mn_mono_ms() + S_HANDSHAKE_MS;
    for (;;) {
        uint64_t now = mn_mono_ms();
        if (now >= deadline) {
            snprintf(a->error, sizeof a->error, "no CURVE handshake with %s within %d ms",
                     a->o->endpoint, S_HANDSHAKE_MS);
            return -1;
        }
        zmq_pollitem_t it = {a->monitor, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)(deadline - now)) <= 0)
            continue;
        zmq_msg_t m;
        uint16_t event = 0;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, a->monitor, 0) >= 0 && zmq_msg_size(&m) >= 2)
            memcpy(&event, zmq_msg_data(&m), sizeof event);
        zmq_msg_close(&m);
        int more = 0;
        size_t more_len = sizeof more;
        while (zmq_getsockopt(a->monitor, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, a->monitor, 0) < 0)
                more = 0;
            zmq_msg_close(&m);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            break;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            snprintf(a->error, sizeof a->error,
                     "the gateway refused agent %s's handshake "
                     "(is it registered with meldnetctl agent add?)",
                     a->name);
            return -1;
        }
    }
    (void)zmq_socket_monitor(a->dealer, NULL, 0);
    zmq_close(a->monitor);
    a->monitor = NULL;
    return 0;
fail:
    snprintf(a->error, sizeof a->error, "ZeroMQ socket set-up failed: %s",
             zmq_strerror(zmq_errno()));
    return -1;
}

static void s_agent_handle_reply(s_agent *a, const uint8_t *buf, size_t len, uint64_t now)
{
    mn_from_gateway from;
    if (mn_wire_decode_from_gateway(buf, len, MN_WIRE_DEFAULT_MAX_FRAME, &from, NULL) != MN_OK) {
        a->unmatched++;
        return;
    }
    const uint8_t *id = from.kind == MN_FROM_RECEIPT ? from.receipt.id
                        : from.reject.has_id         ? from.reject.id
                                                     : NULL;
    long idx = id ? s_slot_find(a, id) : -1;
    if (idx < 0 || a->state[idx] != S_ST_SENT) {
        a->unmatched++;
        return;
    }
    a->replies++;
    a->outstanding--;
    a->last_recv_ns = now;
    if (from.kind == MN_FROM_RECEIPT) {
        a->receipt[idx] = from.receipt;
        a->recv_ns[idx] = now;
        a->state[idx] =
            from.receipt.status == MN_RECEIPT_DUPLICATE ? S_ST_DUPLICATE : S_ST_ACCEPTED;
        return;
    }
    int reason = from.reject.reason;
    a->rejects[reason >= 0 && reason <= MN_REJECT_REASON_MAX ? reason : 0]++;
    a->rejected++;
    if (a->role == S_ROLE_FLOOD && from.reject.retryable) {
        /* A flooder ignores the hint to pause and sends the same envelope again. */
        a->state[idx] = S_ST_NONE;
        a->resend[a->resend_tail] = (uint32_t)idx;
        a->resend_tail = (a->resend_tail + 1) % a->resend_cap;
        return;
    }
    a->state[idx] = S_ST_REJECTED;
}

static int s_agent_send(s_agent *a, long idx, uint64_t now)
{
    if (zmq_send(a->dealer, a->frame[idx], a->frame_len[idx], ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == EAGAIN)
            return 1;
        snprintf(a->error, sizeof a->error, "send failed: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (a->rate <= 0)
        a->sched_ns[idx] = now; /* closed loop: latency from the actual send */
    a->state[idx] = S_ST_SENT;
    a->outstanding++;
    a->frames_sent++;
    if (!a->first_send_ns)
        a->first_send_ns = now;
    a->last_send_ns = now;
    return 0;
}

/* Open loop: when envelope idx is due, on the s_now_ns clock. */
static uint64_t s_agent_due_ns(const s_agent *a, long idx)
{
    return a->t0_ns + a->start_offset_ns + (uint64_t)((double)idx * 1e9 / a->rate);
}

/* Send what is due: in open loop every envelope whose time has come, in closed loop (and for
 * flooders) as long as the window has room. Returns -1 on a hard failure. */
static int s_agent_send_due(s_agent *a, uint64_t now)
{
    int sending = !a->send_until_ns || now < a->send_until_ns;
    while (a->outstanding < a->window) {
        long idx;
        if (a->resend_head != a->resend_tail && sending) {
            idx = (long)a->resend[a->resend_head];
        } else if (a->next < a->n && sending) {
            if (a->rate > 0) {
                uint64_t due = s_agent_due_ns(a, a->next);
                if (due > now)
                    break;
                a->sched_ns[a->next] = due;
            }
            idx = a->next;
        } else {
            /* A flooder that still should send has used up its sealed envelopes. */
            if (sending && a->next >= a->n && a->role == S_ROLE_FLOOD)
                a->exhausted = 1;
            break;
        }
        int rc = s_agent_send(a, idx, now);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break; /* the socket's queue is full: after the next replies */
        if (idx == a->next)
            a->next++;
        else
            a->resend_head = (a->resend_head + 1) % a->resend_cap;
        a->sent = a->next;
    }
    return 0;
}

static int s_agent_done_sending(const s_agent *a, uint64_t now)
{
    if (a->send_until_ns && now >= a->send_until_ns)
        return 1;
    return a->next >= a->n && a->resend_head == a->resend_tail;
}

static void s_agent_run(s_agent *a)
{
    uint64_t last_progress = s_now_ns();
    for (;;) {
        uint64_t now = s_now_ns();
        if (s_agent_send_due(a, now) != 0) {
            a->failed = 1;
            return;
        }
        if (s_agent_done_sending(a, now) && a->outstanding == 0)
            return;
        long timeout_ms = 100;
        if (a->rate > 0 && a->next < a->n && !s_agent_done_sending(a, now)) {
            uint64_t due = s_agent_due_ns(a, a->next);
            timeout_ms = due > now ? (long)((due - now) / 1000000) : 0;
        }
        if (a->send_until_ns && now < a->send_until_ns) {
            long left = (long)((a->send_until_ns - now) / 1000000) + 1;
            if (left < timeout_ms)
                timeout_ms = left;
        }
        zmq_pollitem_t it = {a->dealer, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, timeout_ms);
        if (n < 0 && zmq_errno() != EINTR) {
            snprintf(a->error, sizeof a->error, "poll failed: %s", zmq_strerror(zmq_errno()));
            a->failed = 1;
            return;
        }
        now = s_now_ns();
        if (n > 0) {
            /* Read everything that is there before sending more. */
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, a->dealer, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                s_agent_handle_reply(a, zmq_msg_data(&m), zmq_msg_size(&m), now);
                zmq_msg_close(&m);
                last_progress = now;
            }
        } else if (a->outstanding > 0 &&
                   now - last_progress > (uint64_t)a->o->timeout_ms * 1000000ull) {
            a->timed_out = 1;
            return;
        }
    }
}

static void *s_agent_main(void *arg)
{
    s_agent *a = arg;
    int ok = s_agent_seal(a) == MN_OK && s_agent_connect(a) == 0;
    if (!ok)
        a->failed = 1;
    pthread_barrier_wait(&s_ls.sealed);
    pthread_barrier_wait(&s_ls.go);
    if (!a->failed && s_ls.t0_ns) {
        a->t0_ns = s_ls.t0_ns;
        /* A flooder sends from t0 until flood_lead after the others' schedules end; the others
         * stop after their n envelopes (rate x duration in open loop). */
        if (a->role == S_ROLE_FLOOD)
            a->send_until_ns =
                a->t0_ns + (uint64_t)((a->o->flood_lead_s * 2 + a->o->duration_s) * 1e9);
        /* The clock of each agent starts at its offset; the wait is not counted. */
        uint64_t now = s_now_ns();
        if (a->start_offset_ns && a->t0_ns + a->start_offset_ns > now)
            s_sleep_ns(a->t0_ns + a->start_offset_ns - now);
        s_agent_run(a);
    }
    /* After the clock: check every receipt's signature and that it answers our envelope. */
    for (long i = 0; i < a->n; i++) {
        if (a->state[i] != S_ST_ACCEPTED && a->state[i] != S_ST_DUPLICATE)
            continue;
        if (a->state[i] == S_ST_DUPLICATE)
            a->duplicate++;
        else
            a->accepted++;
        if (mn_receipt_verify(&a->receipt[i], a->gateway->sign) != MN_OK ||
            memcmp(a->receipt[i].id, a->id[i], MN_ENVELOPE_ID_BYTES) != 0)
            a->unverified++;
    }
    s_agent_close(a);
    return NULL;
}

typedef struct s_lat {
    double *v;
    size_t n;
} s_lat;

/* Latencies (ms) of the envelopes that got a receipt. */
static int s_lat_collect(s_agent *agents, int n_agents, int which, s_lat *out)
{
    size_t cap = 0;
    for (int i = 0; i < n_agents; i++)
        if (which < 0 || which == i)
            cap += (size_t)agents[i].n;
    out->v = malloc((cap ? cap : 1) * sizeof *out->v);
    out->n = 0;
    if (!out->v)
        return -1;
    for (int i = 0; i < n_agents; i++) {
        s_agent *a = &agents[i];
        if (which >= 0 && which != i)
            continue;
        for (long k = 0; k < a->n; k++)
            if (a->state[k] == S_ST_ACCEPTED || a->state[k] == S_ST_DUPLICATE)
                out->v[out->n++] = (double)(a->recv_ns[k] - a->sched_ns[k]) / 1e6;
    }
    qsort(out->v, out->n, sizeof *out->v, s_cmp_double);
    return 0;
}

static void s_print_lat(const s_lat *l)
{
    printf(" p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
           s_quantile(l->v, l->n, 0.5), s_quantile(l->v, l->n, 0.9), s_quantile(l->v, l->n, 0.99),
           s_quantile(l->v, l->n, 0.999), l->n ? l->v[l->n - 1] : 0);
}

static void s_print_counts(const s_agent *agents, int n_agents, int which)
{
    long sent = 0, frames = 0, acc = 0, dup = 0, rej = 0, unv = 0, unm = 0, lost = 0;
    long reasons[MN_REJECT_REASON_MAX + 1] = {0};
    for (int i = 0; i < n_agents; i++) {
        const s_agent *a = &agents[i];
        if (which >= 0 && which != i)
            continue;
        sent += a->sent;
        frames += a->frames_sent;
        acc += a->accepted;
        dup += a->duplicate;
        rej += a->rejected;
        unv += a->unverified;
        unm += a->unmatched;
        lost += a->outstanding; /* sent, never answered */
        for (int r = 0; r <= MN_REJECT_REASON_MAX; r++)
            reasons[r] += a->rejects[r];
    }
    printf(" sent=%ld frames=%ld accepted=%ld duplicate=%ld rejected=%ld unverified=%ld "
           "unmatched=%ld lost=%ld",
           sent, frames, acc, dup, rej, unv, unm, lost);
    for (int r = 1; r <= MN_REJECT_REASON_MAX; r++)
        if (reasons[r])
            printf(" reject_%s=%ld", mn_reject_reason_name(r), reasons[r]);
}

static void s_load_usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " load --endpoint EP --gateway-key GATEWAY.pub --report FILE.json\n"
            "                     --key AGENT.key [--key ...] (--max --count N | --rate R "
            "--duration S)\n"
            "                     [--window W] [--flood-key AGENT.key ...] [--flood-window W]\n"
            "                     [--flood-count N] [--flood-lead S] [--skip S] "
            "[--timeout-ms MS]\n"
            "\n"
            "  --max --count N      closed loop: each --key agent sends N envelopes, keeping\n"
            "                       --window W (default 256) of them in flight\n"
            "  --rate R --duration S  open loop: each --key agent sends R envelopes/s for S s\n"
            "  --flood-key FILE     a flooding agent: window --flood-window (1000), sends again\n"
            "                       whatever is rejected as retryable, from --flood-lead s\n"
            "                       (1) before the others until as long after them\n"
            "  --flood-count N      envelopes each flooder seals (default 20000)\n"
            "  --skip S             throughput leaves out the first S seconds (default 1)\n"
            "  --timeout-ms MS      give up after MS without a reply (default 30000)\n");
}

static int s_load_args(int argc, char **argv, s_load_opts *o, const char **keys, int *n_keys,
                       const char **flood_keys, int *n_flood)
{
    memset(o, 0, sizeof *o);
    o->window = 256;
    o->flood_window = 1000;
    o->flood_count = 20000;
    o->flood_lead_s = 1;
    o->skip_s = 1;
    o->timeout_ms = 30000;
    *n_keys = *n_flood = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int need = 1;
        if (strcmp(a, "--max") == 0) {
            o->max = 1;
            need = 0;
        } else if (!v) {
            s_load_usage(stderr);
            return 2;
        } else if (strcmp(a, "--endpoint") == 0) {
            o->endpoint = v;
        } else if (strcmp(a, "--gateway-key") == 0) {
            o->gateway_key = v;
        } else if (strcmp(a, "--report") == 0) {
            o->report = v;
        } else if (strcmp(a, "--key") == 0 || strcmp(a, "--flood-key") == 0) {
            int flood = a[2] == 'f';
            if (*n_keys + *n_flood >= S_MAX_AGENTS) {
                fprintf(stderr, PROG " load: at most %d agents\n", S_MAX_AGENTS);
                return 2;
            }
            if (flood)
                flood_keys[(*n_flood)++] = v;
            else
                keys[(*n_keys)++] = v;
        } else if (strcmp(a, "--rate") == 0) {
            if (s_parse_num(a, v, 0.001, 1e6, &o->rate) != 0)
                return 2;
        } else if (strcmp(a, "--duration") == 0) {
            if (s_parse_num(a, v, 0.1, 3600, &o->duration_s) != 0)
                return 2;
        } else if (strcmp(a, "--count") == 0) {
            if (s_parse_long(a, v, 1, 10000000, &o->count) != 0)
                return 2;
        } else if (strcmp(a, "--window") == 0) {
            if (s_parse_long(a, v, 1, 100000, &o->window) != 0)
                return 2;
        } else if (strcmp(a, "--flood-window") == 0) {
            if (s_parse_long(a, v, 1, 100000, &o->flood_window) != 0)
                return 2;
        } else if (strcmp(a, "--flood-count") == 0) {
            if (s_parse_long(a, v, 1, 10000000, &o->flood_count) != 0)
                return 2;
        } else if (strcmp(a, "--flood-lead") == 0) {
            if (s_parse_num(a, v, 0, 600, &o->flood_lead_s) != 0)
                return 2;
        } else if (strcmp(a, "--skip") == 0) {
            if (s_parse_num(a, v, 0, 600, &o->skip_s) != 0)
                return 2;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            if (s_parse_long(a, v, 1, 3600000, &o->timeout_ms) != 0)
                return 2;
        } else {
            fprintf(stderr, PROG " load: unknown option \"%s\"\n", a);
            s_load_usage(stderr);
            return 2;
        }
        i += need;
    }
    if (!o->endpoint || !o->gateway_key || !o->report || *n_keys + *n_flood == 0) {
        fprintf(stderr, PROG " load: --endpoint, --gateway-key, --report and --key are "
                             "required\n");
        return 2;
    }
    if (*n_keys && o->max == (o->rate > 0)) {
        fprintf(stderr, PROG " load: give either --max --count N or --rate R --duration S\n");
        return 2;
    }
    if (*n_keys && o->max && !o->count) {
        fprintf(stderr, PROG " load: --max needs --count N\n");
        return 2;
    }
    if ((o->rate > 0 || *n_flood) && o->duration_s <= 0) {
        fprintf(stderr, PROG " load: --rate and --flood-key need --duration S\n");
        return 2;
    }
    return 0;
}

static int s_cmd_load(int argc, char **argv)
{
    s_load_opts o;
    const char *keys[S_MAX_AGENTS], *flood_keys[S_MAX_AGENTS];
    int n_keys = 0, n_flood = 0, code = 1;
    int rc = s_load_args(argc, argv, &o, keys, &n_keys, flood_keys, &n_flood);
    if (rc != 0)
        return rc;

    mn_pubkey gateway;
    mn_diag d = {0};
    char tag[32];
    s_run_tag("", tag, sizeof tag);
    o.tag = tag;
    if (mn_pubkey_load(o.gateway_key, &gateway, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        return 1;
    }
    int n_agents = n_keys + n_flood;
    s_agent *agents = calloc((size_t)n_agents, sizeof *agents);
    void *zctx = zmq_ctx_new();
    if (!agents || !zctx)
        goto out;
    for (int i = 0; i < n_agents; i++) {
        s_agent *a = &agents[i];
        int flood = i >= n_keys;
        a->o = &o;
        a->index = i;
        a->role = flood ? S_ROLE_FLOOD : S_ROLE_LOAD;
        a->gateway = &gateway;
        a->zctx = zctx;
        if (mn_key_load(flood ? flood_keys[i - n_keys] : keys[i], &a->key, &d) != MN_OK) {
            mn_diag_print(PROG, &d);
            goto out;
        }
        a->name = mn_key_public(a->key)->name;
        if (flood) {
            a->n = o.flood_count;
            a->window = o.flood_window;
        } else if (o.max) {
            a->n = o.count;
            a->window = o.window;
        } else {
            a->rate = o.rate;
            a->n = (long)ceil(o.rate * o.duration_s);
            a->window = 1000000; /* open loop: no window */
            /* Spread the agents' schedules so their sends do not coincide; others start after
             * the flooders' lead. */
            a->start_offset_ns = (uint64_t)(n_flood ? o.flood_lead_s * 1e9 : 0) +
                                 (uint64_t)(1e9 / o.rate * i / n_keys);
        }
        if (s_agent_alloc(a) != 0) {
            fprintf(stderr, PROG " load: out of memory for %ld envelopes\n", a->n);
            goto out;
        }
    }

    pthread_barrier_init(&s_ls.sealed, NULL, (unsigned)n_agents + 1);
    pthread_barrier_init(&s_ls.go, NULL, (unsigned)n_agents + 1);
    uint64_t seal0 = s_now_ns();
    int started = 0;
    for (; started < n_agents; started++)
        if (pthread_create(&agents[started].th, NULL, s_agent_main, &agents[started]) != 0)
            break;
    if (started < n_agents) {
        fprintf(stderr, PROG " load: cannot start threads\n");
        exit(1); /* the barriers would never open */
    }
    pthread_barrier_wait(&s_ls.sealed);
    double seal_s = (double)(s_now_ns() - seal0) / 1e9;
    int ready = 1;
    for (int i = 0; i < n_agents; i++)
        if (agents[i].failed) {
            fprintf(stderr, PROG " load: agent %s: %s\n", agents[i].name, agents[i].error);
            ready = 0;
        }
    printf("sealed agents=%d seconds=%.2f\n", n_agents, seal_s);
    fflush(stdout);
    s_ls.t0_ns = ready ? s_now_ns() : 0;
    pthread_barrier_wait(&s_ls.go);
    for (int i = 0; i < n_agents; i++)
        pthread_join(agents[i].th, NULL);
    uint64_t t_end = s_now_ns();
    pthread_barrier_destroy(&s_ls.sealed);
    pthread_barrier_destroy(&s_ls.go);
    if (!ready)
        goto out;

    int failed = 0;
    for (int i = 0; i < n_agents; i++) {
        s_agent *a = &agents[i];
        if (a->failed) {
            fprintf(stderr, PROG " load: agent %s: %s\n", a->name, a->error);
            failed = 1;
        }
        if (a->timed_out)
            fprintf(stderr, PROG " load: agent %s: no reply for %ld ms with %ld in flight\n",
                    a->name, o.timeout_ms, a->outstanding);
        s_lat l;
        if (s_lat_collect(agents, n_agents, i, &l) != 0)
            goto out;
        printf("agent name=%s role=%s", a->name, a->role == S_ROLE_FLOOD ? "flood" : "load");
        s_print_counts(agents, n_agents, i);
        s_print_lat(&l);
        printf(" exhausted=%d timed_out=%d seal_s=%.2f\n", a->exhausted, a->timed_out, a->seal_s);
        free(l.v);
    }

    /* Throughput of the --key agents over the steady part: from skip after the start until
     * the first of them has sent its last envelope (until then every window is full);
     * steady_rate is the whole run's rate when that part is shorter than a second. */
    uint64_t first = UINT64_MAX, steady_end = UINT64_MAX, last_recv = 0;
    long receipts = 0, in_window = 0;
    for (int i = 0; i < n_keys; i++) {
        s_agent *a = &agents[i];
        if (a->first_send_ns && a->first_send_ns < first)
            first = a->first_send_ns;
        if (a->last_send_ns < steady_end)
            steady_end = a->last_send_ns;
        if (a->last_recv_ns > last_recv)
            last_recv = a->last_recv_ns;
    }
    uint64_t steady_start = first == UINT64_MAX ? 0 : first + (uint64_t)(o.skip_s * 1e9);
    for (int i = 0; i < n_keys; i++) {
        s_agent *a = &agents[i];
        for (long k = 0; k < a->n; k++) {
            if (a->state[k] != S_ST_ACCEPTED && a->state[k] != S_ST_DUPLICATE)
                continue;
            receipts++;
            if (a->recv_ns[k] >= steady_start && a->recv_ns[k] <= steady_end)
                in_window++;
        }
    }
    double steady_s = steady_end > steady_start ? (double)(steady_end - steady_start) / 1e9 : 0;
    double run_s = first != UINT64_MAX && last_recv > first ? (double)(last_recv - first) / 1e9 : 0;
    /* A run too short for a steady second (a small --count) is reported over the whole run. */
    int steady = steady_s >= 1.0;
    double steady_rate = steady ? in_window / steady_s : run_s > 0 ? receipts / run_s : 0;
    s_lat all;
    if (n_keys && s_lat_collect(agents, n_keys, -1, &all) != 0)
        goto out;
    printf("load agents=%d floods=%d", n_keys, n_flood);
    if (n_keys) {
        s_print_counts(agents, n_keys, -1);
        printf(" receipts=%ld run_s=%.3f rate=%.1f steady=%d steady_s=%.3f steady_receipts=%ld "
               "steady_rate=%.1f",
               receipts, run_s, run_s > 0 ? receipts / run_s : 0, steady, steady_s, in_window,
               steady_rate);
        s_print_lat(&all);
        free(all.v);
    }
    printf(" frame_bytes=%zu elapsed_s=%.3f\n", agents[0].frame_len[0],
           (double)(t_end - s_ls.t0_ns) / 1e9);
    if (n_flood) {
        printf("flood");
        s_print_counts(agents + n_keys, n_flood, -1);
        printf("\n");
    }
    code = failed ? 1 : 0;
out:
    if (agents)
        for (int i = 0; i < n_agents; i++)
            s_agent_free(&agents[i]);
    free(agents);
    if (zctx)
        zmq_ctx_term(zctx);
    return code;
}

/* ---------------------------------------------------------------------------------------------
 * acute: submit one report, time until the partner has written its referral */

/* Referral files (MN-*.json) in dir; -1 when it cannot be read. */
static long s_count_referrals(const char *dir)
{
    DIR *dh = opendir(dir);
    long n = 0;
    if (!dh)
        return -1;
    for (struct dirent *e = readdir(dh); e; e = readdir(dh)) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "MN-", 3) == 0 && len > 5 &&
            strcmp(e->d_name + len - 5, ".json") == 0)
            n++;
    }
    closedir(dh);
    return n;
}

static int s_cmd_acute(int argc, char **argv)
{
    s_load_opts o;
    const char *keys[S_MAX_AGENTS], *flood_keys[S_MAX_AGENTS];
    const char *out_dir = NULL;
    int n_keys = 0, n_flood = 0;
    /* Reuse the load parser for the common options; --out-dir is ours. */
    char **args = calloc((size_t)argc + 4, sizeof *args);
    int n_args = 0;
    if (!args)
        return 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out-dir") == 0 && i + 1 < argc) {
            out_dir = argv[++i];
            continue;
        }
        args[n_args++] = argv[i];
    }
    args[n_args++] = "--max";
    args[n_args++] = "--count";
    args[n_args++] = "1";
    int rc = s_load_args(n_args, args, &o, keys, &n_keys, flood_keys, &n_flood);
    free(args);
    if (rc != 0)
        return rc;
    if (!out_dir || n_keys != 1 || n_flood) {
        fprintf(stderr, "usage: " PROG " acute --endpoint EP --gateway-key GATEWAY.pub "
                        "--key AGENT.key --report FILE.json --out-dir DIR [--timeout-ms MS]\n");
        return 2;
    }

    mn_pubkey gateway;
    mn_diag d = {0};
    if (mn_pubkey_load(o.gateway_key, &gateway, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        return 1;
    }
    char tag[40];
    s_run_tag("acute ", tag, sizeof tag);
    o.tag = tag;
    s_agent a;
    memset(&a, 0, sizeof a);
    a.o = &o;
    a.gateway = &gateway;
    a.n = 1;
    a.window = 1;
    int code = 1;
    a.zctx = zmq_ctx_new();
    if (!a.zctx || mn_key_load(keys[0], &a.key, &d) != MN_OK) {
        mn_diag_print(PROG, &d);
        goto out;
    }
    a.name = mn_key_public(a.key)->name;
    if (s_agent_alloc(&a) != 0 || s_agent_seal(&a) != MN_OK || s_agent_connect(&a) != 0) {
        fprintf(stderr, PROG " acute: %s\n", a.error[0] ? a.error : "set-up failed");
        goto out;
    }
    long before = s_count_referrals(out_dir);
    uint64_t t0 = s_now_ns();
    if (s_agent_send(&a, 0, t0) != 0) {
        fprintf(stderr, PROG " acute: %s\n", a.error[0] ? a.error : "cannot send");
        goto out;
    }
    uint64_t deadline = t0 + (uint64_t)o.timeout_ms * 1000000ull;
    while (a.state[0] == S_ST_SENT && s_now_ns() < deadline) {
        zmq_pollitem_t it = {a.dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, a.dealer, 0) >= 0)
                s_agent_handle_reply(&a, zmq_msg_data(&m), zmq_msg_size(&m), s_now_ns());
            zmq_msg_close(&m);
        }
    }
    if (a.state[0] != S_ST_ACCEPTED) {
        fprintf(stderr, PROG " acute: no receipt of status accepted (state %d, reject %s)\n",
                a.state[0], a.rejected ? "yes" : "no");
        goto out;
    }
    uint64_t t_receipt = a.recv_ns[0];
    int verified = mn_receipt_verify(&a.receipt[0], gateway.sign) == MN_OK;
    char reg[32], path[4300];
    mn_registration_format(a.receipt[0].registration, reg, sizeof reg);
    snprintf(path, sizeof path, "%s/%s.json", out_dir, reg);
    /* The partner writes a temp file and renames it into place: existence means complete.
     * Poll every millisecond. */
    struct stat sb;
    uint64_t t_disk = 0;
    while (s_now_ns() < deadline) {
        if (stat(path, &sb) == 0) {
            t_disk = s_now_ns();
            break;
        }
        s_sleep_ns(1000000);
    }
    printf("acute registration=%s verified=%s receipt_ms=%.3f on_disk=%s on_disk_ms=%.3f "
           "delivered_before=%ld delivered_after=%ld\n",
           reg, verified ? "yes" : "no", (double)(t_receipt - t0) / 1e6, t_disk ? "yes" : "no",
           t_disk ? (double)(t_disk - t0) / 1e6 : -1.0, before, s_count_referrals(out_dir));
    code = t_disk && verified ? 0 : 1;
out:
    s_agent_close(&a);
    s_agent_free(&a);
    if (a.zctx)
        zmq_ctx_term(a.zctx);
    return code;
}

/* ---------------------------------------------------------------------------------------------
 * status, wait: the gateway's run/status.json */

static json_t *s_status_load(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int s_cmd_status(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: " PROG " status STATUS.json\n");
        return 2;
    }
    json_t *root = s_status_load(argv[2]);
    if (!root) {
        fprintf(stderr, PROG " status: %s: cannot read it as JSON\n", argv[2]);
        return 1;
    }
    const char *key;
    json_t *v;
    int has_stages = 0;
    json_object_foreach(root, key, v)
    {
        if (json_is_integer(v)) {
            printf("%s=%" JSON_INTEGER_FORMAT "\n", key, json_integer_value(v));
        } else if (strcmp(key, "rejected_by_reason") == 0 && json_is_object(v)) {
            const char *reason;
            json_t *n;
            json_object_foreach(v, reason, n) if (json_is_integer(n))
                printf("rejected_%s=%" JSON_INTEGER_FORMAT "\n", reason, json_integer_value(n));
        } else if (strcmp(key, "stages") == 0 && json_is_object(v)) {
            const char *stage;
            json_t *st;
            has_stages = 1;
            json_object_foreach(v, stage, st)
            {
                json_t *ns = json_object_get(st, "ns"), *items = json_object_get(st, "items");
                if (json_is_integer(ns) && json_is_integer(items))
                    printf("stage_%s_ns=%" JSON_INTEGER_FORMAT
                           "\nstage_%s_items=%" JSON_INTEGER_FORMAT "\n",
                           stage, json_integer_value(ns), stage, json_integer_value(items));
            }
        }
    }
    printf("stages=%s\n", has_stages ? "yes" : "no");
    json_decref(root);
    return 0;
}

/* wait STATUS.json KEY MIN [--timeout-s S]: until integer KEY >= MIN. Prints the last value
 * seen, the written_ms of the status.json it came from (the gateway writes it once a second, so
 * rates computed from written_ms are not off by the polling) and the time waited. */
static int s_cmd_wait(int argc, char **argv)
{
    double timeout_s = 60, min = 0;
    if (argc < 5 || s_parse_num("MIN", argv[4], 0, 9e18, &min) != 0 ||
        (argc == 7 && (strcmp(argv[5], "--timeout-s") != 0 ||
                       s_parse_num("--timeout-s", argv[6], 0.1, 86400, &timeout_s) != 0)) ||
        (argc != 5 && argc != 7)) {
        fprintf(stderr, "usage: " PROG " wait STATUS.json KEY MIN [--timeout-s S]\n");
        return 2;
    }
    uint64_t t0 = s_now_ns(), end = t0 + (uint64_t)(timeout_s * 1e9);
    json_int_t last = -1, written_ms = 0;
    for (;;) {
        json_t *root = s_status_load(argv[2]);
        json_t *v = root ? json_object_get(root, argv[3]) : NULL;
        json_t *w = root ? json_object_get(root, "written_ms") : NULL;
        if (json_is_integer(v) && json_is_integer(w)) {
            last = json_integer_value(v);
            written_ms = json_integer_value(w);
        }
        json_decref(root);
        int reached = last >= 0 && (double)last >= min;
        if (reached || s_now_ns() >= end) {
            printf("wait key=%s value=%" JSON_INTEGER_FORMAT " written_ms=%" JSON_INTEGER_FORMAT
                   " seconds=%.3f reached=%d\n",
                   argv[3], last, written_ms, (double)(s_now_ns() - t0) / 1e9, reached);
            return reached ? 0 : 1;
        }
        s_sleep_ns(50 * 1000000ull);
    }
}

/* ---------------------------------------------------------------------------------------------
 * rss: sample a process's memory */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Memory of one process in kB, from /proc/PID/status. VmRSS = RssAnon (heap, stacks) +
 * RssFile (mapped files: for the gateway mostly the LMDB map) + RssShmem. */
typedef struct s_mem {
    long rss, hwm, anon, file;
} s_mem;

/* Returns 0, or -1 when the process is gone. */
static int s_read_mem(long pid, s_mem *m)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    m->rss = m->hwm = m->anon = m->file = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            m->rss = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            m->hwm = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            m->anon = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssFile:", 8) == 0)
            m->file = strtol(line + 8, NULL, 10);
    }
    fclose(f);
    return m->rss >= 0 ? 0 : -1;
}

#define S_PHASES_MAX 16

static void s_mem_max(s_mem *max, const s_mem *m)
{
    if (m->rss > max->rss)
        max->rss = m->rss;
    if (m->hwm > max->hwm)
        max->hwm = m->hwm;
    if (m->anon > max->anon)
        max->anon = m->anon;
    if (m->file > max->file)
        max->file = m->file;
}

static void s_mem_print(FILE *to, const char *tag, const char *phase, long samples,
                        const s_mem *max)
{
    fprintf(to,
            "%s%s%s samples=%ld max_rss_kb=%ld max_hwm_kb=%ld max_anon_kb=%ld max_file_kb=%ld\n",
            tag, phase ? " name=" : "", phase ? phase : "", samples, max->rss, max->hwm, max->anon,
            max->file);
}

/* rss --pidfile F --out F [--phase-file F]: the pid is read again at each sample (the gateway
 * restarts between phases); with --phase-file, maxima are also kept per phase, named by the
 * first word of that file. */
static int s_cmd_rss(int argc, char **argv)
{
    const char *pidfile = NULL, *out = NULL, *phasefile = NULL;
    long interval_ms = 100;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc)
            pidfile = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--phase-file") == 0 && i + 1 < argc)
            phasefile = argv[++i];
        else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc) {
            if (s_parse_long("--interval-ms", argv[++i], 1, 60000, &interval_ms) != 0)
                return 2;
        } else {
            pidfile = out = NULL;
            break;
        }
    }
    if (!pidfile || !out) {
        fprintf(stderr, "usage: " PROG " rss --pidfile FILE --out FILE [--phase-file FILE] "
                        "[--interval-ms N]\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    long samples = 0, pid = 0;
    s_mem max = {0, 0, 0, 0}, m = {0, 0, 0, 0};
    struct {
        char name[32];
        long samples;
        s_mem max;
    } phase[S_PHASES_MAX];
    int n_phases = 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    while (!s_stop) {
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        char name[32] = "";
        if (phasefile && (f = fopen(phasefile, "r")) != NULL) {
            if (fscanf(f, "%31s", name) != 1)
                name[0] = '\0';
            fclose(f);
        }
        if (pid > 0 && s_read_mem(pid, &m) == 0) {
            samples++;
            s_mem_max(&max, &m);
            int k = 0;
            while (k < n_phases && strcmp(phase[k].name, name) != 0)
                k++;
            if (name[0] && k == n_phases && n_phases < S_PHASES_MAX) {
                memset(&phase[k], 0, sizeof phase[k]);
                snprintf(phase[k].name, sizeof phase[k].name, "%s", name);
                n_phases++;
            }
            if (name[0] && k < n_phases) {
                phase[k].samples++;
                s_mem_max(&phase[k].max, &m);
            }
            /* Rewritten each sample, so it holds the maxima even if this process is killed. */
            FILE *o = fopen(tmp, "w");
            if (o) {
                s_mem_print(o, "rss", NULL, samples, &max);
                for (int p = 0; p < n_phases; p++)
                    s_mem_print(o, "rss_phase", phase[p].name, phase[p].samples, &phase[p].max);
                fprintf(o, "rss_last pid=%ld rss_kb=%ld hwm_kb=%ld\n", pid, m.rss, m.hwm);
                if (fclose(o) == 0)
                    rename(tmp, out);
            }
        }
        s_sleep_ns((uint64_t)interval_ms * 1000000ull);
    }
    s_mem_print(stdout, "rss", NULL, samples, &max);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * main */

static void s_usage(FILE *to)
{
    fprintf(to, "usage: " PROG " COMMAND [OPTIONS]\n"
                "\n"
                "The programs behind `make bench` (scripts/bench.sh, docs/PERFORMANCE.md):\n"
                "  crypto --report FILE [--seconds S] [--threads N]\n"
                "                      the gateway's per-envelope crypto on every core\n"
                "  lmdb DIR [--seconds S] [--txn-bytes N] [--batch N]\n"
                "                      durable LMDB write transactions per second in DIR; with\n"
                "                      --batch, N registrations per transaction and their CPU\n"
                "  load ...            agents against a gateway (" PROG " load --help)\n"
                "  acute --endpoint EP --gateway-key F --key F --report F --out-dir DIR\n"
                "                      one report, until its referral is on the partner's disk\n"
                "  status STATUS.json  the gateway's counters as key=value\n"
                "  wait STATUS.json KEY MIN [--timeout-s S]\n"
                "                      until a counter reaches MIN (exit 1 on timeout)\n"
                "  rss --pidfile F --out F [--phase-file F] [--interval-ms N]\n"
                "                      sample VmRSS/VmHWM/RssAnon/RssFile until SIGTERM\n"
                "\n"
                "Results are key=value lines on stdout. Exit 0 ran, 1 could not, 2 usage.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        if (strcmp(argv[1], "load") == 0)
            s_load_usage(stdout);
        else
            s_usage(stdout);
        return 0;
    }
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, PROG ": cannot initialise libsodium\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "crypto") == 0)
        return s_cmd_crypto(argc, argv);
    if (strcmp(argv[1], "lmdb") == 0)
        return s_cmd_lmdb(argc, argv);
    if (strcmp(argv[1], "load") == 0)
        return s_cmd_load(argc, argv);
    if (strcmp(argv[1], "acute") == 0)
        return s_cmd_acute(argc, argv);
    if (strcmp(argv[1], "status") == 0)
        return s_cmd_status(argc, argv);
    if (strcmp(argv[1], "wait") == 0)
        return s_cmd_wait(argc, argv);
    if (strcmp(argv[1], "rss") == 0)
        return s_cmd_rss(argc, argv);
    fprintf(stderr, PROG ": unknown command \"%s\"\n", argv[1]);
    s_usage(stderr);
    return 2;
}
