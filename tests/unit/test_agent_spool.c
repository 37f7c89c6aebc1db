/* test_agent_spool.c - unit tests for agent_spool: the agent's durable outbox in LMDB.
 *
 * Each test gets its own mkdtemp directory. The format-mismatch test edits the format record in
 * data.mdb in place (LMDB keeps a key and its value side by side and has no checksums), so the
 * test needs no LMDB of its own.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_spool.h"
#include "mn_wire.h"

static const char *s_self; /* argv[0], to start the second process of a test */

typedef struct fixture {
    char dir[64];   /* the temp dir */
    char spool[96]; /* dir/spool */
} fixture;

/* ---------------------------------------------------------------------------------------------
 * Helpers */

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_agent_spool.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    *state = f;
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void s_id(uint8_t id[MN_ENVELOPE_ID_BYTES], unsigned seed)
{
    for (int i = 0; i < MN_ENVELOPE_ID_BYTES; i++)
        id[i] = (uint8_t)(seed * 31 + i);
    id[0] = (uint8_t)(seed >> 8);
    id[1] = (uint8_t)seed;
}

/* Reserve a seq and add an item with a frame of `len` bytes of `fill`. Returns the seq. */
static uint64_t s_add(agent_spool *s, unsigned seed, size_t len, uint64_t next_try_ms)
{
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    uint8_t *frame = malloc(len);
    uint64_t seq = 0;
    mn_diag d = {0};
    assert_non_null(frame);
    memset(frame, (uint8_t)seed, len);
    s_id(id, seed);
    assert_int_equal(agent_spool_reserve_seq(s, &seq, &d), MN_OK);
    assert_int_equal(agent_spool_add(s, seq, id, 1000 + seed, frame, len, next_try_ms, &d), MN_OK);
    free(frame);
    return seq;
}

static agent_spool *s_open(const fixture *f)
{
    agent_spool *s = NULL;
    mn_diag d = {0};
    char path[160];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    int rc = stat(path, &st) == 0 ? agent_spool_open(f->spool, 16, &s, &d)
                                  : agent_spool_create(f->spool, 16, &s, &d);
    if (rc != MN_OK)
        mn_diag_print("test_agent_spool", &d);
    assert_int_equal(rc, MN_OK);
    assert_non_null(s);
    return s;
}

static agent_spool_state s_state(agent_spool *s, uint64_t seq)
{
    agent_spool_item it;
    mn_diag d = {0};
    assert_int_equal(agent_spool_get(s, seq, 0, &it, &d), MN_OK);
    agent_spool_state st = it.state;
    agent_spool_item_clear(&it);
    return st;
}

static void s_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static uint8_t *s_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Tests */

static void test_open_creates_private_files_and_destroy_twice(void **state)
{
    fixture *f = *state;
    char path[160];
    struct stat st;
    agent_spool *s = s_open(f);
    assert_int_equal(stat(f->spool, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    agent_spool_destroy(&s);
    assert_null(s);
    agent_spool_destroy(&s);
    agent_spool_destroy(NULL);
    agent_spool_item_clear(NULL);
    agent_spool_items_free(NULL, 3);
}

static void test_add_get_list(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    agent_spool_item it;
    uint8_t id[MN_ENVELOPE_ID_BYTES];

    uint64_t a = s_add(s, 1, 100, 0);
    uint64_t b = s_add(s, 2, 5000, 0);
    uint64_t c = s_add(s, 3, 1, 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(c, 3);

    assert_int_equal(agent_spool_get(s, b, 1, &it, &d), MN_OK);
    assert_int_equal(it.seq, b);
    assert_int_equal(it.state, AGENT_SPOOL_QUEUED);
    assert_int_equal(it.created_ms, 1002);
    assert_int_equal(it.attempts, 0);
    assert_int_equal(it.last_sent_ms, 0);
    assert_int_equal(it.registration, 0);
    assert_int_equal(it.reject_reason, 0);
    s_id(id, 2);
    assert_memory_equal(it.id, id, sizeof id);
    assert_int_equal(it.frame_len, 5000);
    assert_int_equal(it.frame[0], 2);
    assert_int_equal(it.frame[4999], 2);
    agent_spool_item_clear(&it);
    agent_spool_item_clear(&it);

    /* without the frame */
    assert_int_equal(agent_spool_get(s, a, 0, &it, &d), MN_OK);
    assert_null(it.frame);
    assert_int_equal(it.frame_len, 0);
    agent_spool_item_clear(&it);

    assert_int_equal(agent_spool_get(s, 99, 0, &it, &d), MN_ENOTFOUND);
    assert_string_equal(agent_spool_state_name(AGENT_SPOOL_QUEUED), "queued");
    assert_string_equal(agent_spool_state_name(AGENT_SPOOL_ACKNOWLEDGED), "acknowledged");
    assert_string_equal(agent_spool_state_name(AGENT_SPOOL_REJECTED), "rejected");
    agent_spool_destroy(&s);
}

struct seen {
    uint64_t seqs[320];
    size_t n;
    size_t stop_after;
};

static int s_collect(const agent_spool_item *it, void *arg)
{
    struct seen *s = arg;
    assert_null(it->frame);
    s->seqs[s->n++] = it->seq;
    return s->stop_after && s->n == s->stop_after;
}

static void test_each_in_seq_order_and_stops(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    /* more than 255 so big-endian keys must sort numerically, not by the last byte */
    for (int i = 0; i < 300; i++)
        (void)s_add(s, (unsigned)i, 8, 0);
    struct seen all = {0};
    assert_int_equal(agent_spool_each(s, s_collect, &all, &d), MN_OK);
    assert_int_equal(all.n, 300);
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(all.seqs[i], i + 1);
    struct seen some = {.stop_after = 16};
    assert_int_equal(agent_spool_each(s, s_collect, &some, &d), MN_OK);
    assert_int_equal(some.n, 16);
    agent_spool_destroy(&s);
}

static void test_add_refuses_bad_input(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    uint8_t id[MN_ENVELOPE_ID_BYTES], other[MN_ENVELOPE_ID_BYTES];
    uint8_t frame[4] = {1, 2, 3, 4};
    uint64_t seq = 0, seq2 = 0;
    s_id(id, 7);
    s_id(other, 8);

    /* a seq that was never reserved */
    assert_int_equal(agent_spool_add(s, 5, id, 1, frame, 4, 0, &d), MN_EINVAL);
    assert_int_equal(agent_spool_add(s, 0, id, 1, frame, 4, 0, &d), MN_EINVAL);
    assert_int_equal(agent_spool_reserve_seq(s, &seq, &d), MN_OK);
    /* empty frame */
    assert_int_equal(agent_spool_add(s, seq, id, 1, frame, 0, 0, &d), MN_EINVAL);
    assert_int_equal(agent_spool_add(s, seq, id, 1, NULL, 4, 0, &d), MN_EINVAL);
    assert_int_equal(agent_spool_add(s, seq, id, 1, frame, 4, 0, &d), MN_OK);
    /* the same seq twice, the same id twice */
    assert_int_equal(agent_spool_add(s, seq, other, 1, frame, 4, 0, &d), MN_EEXIST);
    /* what happened and what to do, not the code's "choose another name" */
    assert_non_null(strstr(d.what, "the report was not queued"));
    assert_non_null(strstr(d.hint, "submit the report again"));
    assert_null(strstr(d.hint, "another name"));
    assert_int_equal(agent_spool_reserve_seq(s, &seq2, &d), MN_OK);
    assert_int_equal(seq2, seq + 1);
    assert_int_equal(agent_spool_add(s, seq2, id, 1, frame, 4, 0, &d), MN_EEXIST);
    assert_non_null(strstr(d.what, "envelope id is in the spool already"));
    assert_non_null(strstr(d.hint, "submit the report again"));
    /* nothing half-written by the refused add */
    agent_spool_item it;
    assert_int_equal(agent_spool_get(s, seq2, 0, &it, &d), MN_ENOTFOUND);
    agent_spool_counts c;
    assert_int_equal(agent_spool_count(s, &c, &d), MN_OK);
    assert_int_equal(c.queued, 1);
    agent_spool_destroy(&s);
}

static void test_find_by_id(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    agent_spool_item it;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    (void)s_add(s, 1, 10, 0);
    uint64_t b = s_add(s, 2, 20, 0);
    s_id(id, 2);
    assert_int_equal(agent_spool_find_id(s, id, 1, &it, &d), MN_OK);
    assert_int_equal(it.seq, b);
    assert_int_equal(it.frame_len, 20);
    agent_spool_item_clear(&it);
    s_id(id, 9);
    assert_int_equal(agent_spool_find_id(s, id, 0, &it, &d), MN_ENOTFOUND);
    assert_int_equal(d.code, MN_ENOTFOUND);
    agent_spool_destroy(&s);
}

static void test_state_transitions_and_counts(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    agent_spool_item it;
    agent_spool_counts c;
    uint64_t a = s_add(s, 1, 10, 0);
    uint64_t b = s_add(s, 2, 10, 0);
    uint64_t x = s_add(s, 3, 10, 0);
    uint64_t r = s_add(s, 4, 10, 0);

    /* sent twice: attempts and times move */
    agent_spool_sent sent[2] = {{a, 5500}, {b, 5600}};
    assert_int_equal(agent_spool_mark_sent(s, sent, 2, 5000, &d), MN_OK);
    sent[0].next_try_ms = 7000;
    assert_int_equal(agent_spool_mark_sent(s, sent, 1, 6000, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, a, 0, &it, &d), MN_OK);
    assert_int_equal(it.attempts, 2);
    assert_int_equal(it.last_sent_ms, 6000);
    assert_int_equal(it.next_try_ms, 7000);

    /* acknowledged: receipt kept, frame dropped, a later mark_sent changes nothing */
    agent_spool_ack acks[2] = {
        {a, MN_RECEIPT_ACCEPTED, 42, 6100},
        {999, MN_RECEIPT_ACCEPTED, 43, 6100}, /* not in the spool: skipped */
    };
    int changed[2] = {-1, -1};
    assert_int_equal(agent_spool_mark_acknowledged(s, acks, 2, changed, &d), MN_OK);
    assert_int_equal(changed[0], 1);
    assert_int_equal(changed[1], 0);
    assert_int_equal(agent_spool_get(s, a, 1, &it, &d), MN_OK);
    assert_int_equal(it.state, AGENT_SPOOL_ACKNOWLEDGED);
    assert_int_equal(it.registration, 42);
    assert_int_equal(it.receipt_status, MN_RECEIPT_ACCEPTED);
    assert_int_equal(it.accepted_ms, 6100);
    assert_int_equal(it.attempts, 2);
    assert_null(it.frame);
    agent_spool_item_clear(&it);
    assert_int_equal(agent_spool_mark_sent(s, sent, 1, 9000, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, a, 0, &it, &d), MN_OK);
    assert_int_equal(it.attempts, 2);
    /* a second receipt does not change the first */
    acks[0].status = MN_RECEIPT_DUPLICATE;
    assert_int_equal(agent_spool_mark_acknowledged(s, acks, 1, changed, &d), MN_OK);
    assert_int_equal(changed[0], 0);
    assert_int_equal(agent_spool_get(s, a, 0, &it, &d), MN_OK);
    assert_int_equal(it.receipt_status, MN_RECEIPT_ACCEPTED);

    /* DUPLICATE first, then the ACCEPTED of the first send: ACCEPTED wins */
    agent_spool_ack dup = {b, MN_RECEIPT_DUPLICATE, 50, 100};
    assert_int_equal(agent_spool_mark_acknowledged(s, &dup, 1, NULL, &d), MN_OK);
    dup.status = MN_RECEIPT_ACCEPTED;
    dup.accepted_ms = 200;
    assert_int_equal(agent_spool_mark_acknowledged(s, &dup, 1, NULL, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, b, 0, &it, &d), MN_OK);
    assert_int_equal(it.receipt_status, MN_RECEIPT_ACCEPTED);
    assert_int_equal(it.registration, 50);
    assert_int_equal(it.accepted_ms, 200);

    /* bad receipts are refused whole */
    agent_spool_ack bad = {x, 0, 1, 1};
    assert_int_equal(agent_spool_mark_acknowledged(s, &bad, 1, NULL, &d), MN_EINVAL);
    bad.status = MN_RECEIPT_ACCEPTED;
    bad.registration = 0;
    assert_int_equal(agent_spool_mark_acknowledged(s, &bad, 1, NULL, &d), MN_EINVAL);
    assert_int_equal(s_state(s, x), AGENT_SPOOL_QUEUED);

    /* retryable reject: stays queued, reason kept */
    assert_int_equal(agent_spool_mark_retry(s, x, 10, "busy", 12345, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, x, 0, &it, &d), MN_OK);
    assert_int_equal(it.state, AGENT_SPOOL_QUEUED);
    assert_int_equal(it.reject_reason, 10);
    assert_string_equal(it.reject_detail, "busy");
    assert_int_equal(it.next_try_ms, 12345);

    /* final reject: reason and detail kept (long detail cut), frame kept */
    char longd[600];
    memset(longd, 'z', sizeof longd - 1);
    longd[sizeof longd - 1] = '\0';
    assert_int_equal(agent_spool_mark_rejected(s, r, 7, longd, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, r, 1, &it, &d), MN_OK);
    assert_int_equal(it.state, AGENT_SPOOL_REJECTED);
    assert_int_equal(it.reject_reason, 7);
    assert_int_equal(strlen(it.reject_detail), AGENT_SPOOL_DETAIL_MAX - 1);
    assert_int_equal(it.frame_len, 10);
    agent_spool_item_clear(&it);
    /* rejecting again or retrying a finished item changes nothing */
    assert_int_equal(agent_spool_mark_rejected(s, a, 5, NULL, &d), MN_OK);
    assert_int_equal(s_state(s, a), AGENT_SPOOL_ACKNOWLEDGED);
    assert_int_equal(agent_spool_mark_retry(s, r, 10, NULL, 1, &d), MN_OK);
    assert_int_equal(s_state(s, r), AGENT_SPOOL_REJECTED);
    assert_int_equal(agent_spool_mark_rejected(s, 999, 5, NULL, &d), MN_ENOTFOUND);

    assert_int_equal(agent_spool_count(s, &c, &d), MN_OK);
    assert_int_equal(c.queued, 1);
    assert_int_equal(c.acknowledged, 2);
    assert_int_equal(c.rejected, 1);
    uint64_t q = 0;
    assert_int_equal(agent_spool_queued(s, &q, &d), MN_OK);
    assert_int_equal(q, 1);

    /* a signed receipt outranks an earlier reject: the gateway has it */
    agent_spool_ack late = {r, MN_RECEIPT_ACCEPTED, 77, 1};
    assert_int_equal(agent_spool_mark_acknowledged(s, &late, 1, changed, &d), MN_OK);
    assert_int_equal(changed[0], 1);
    assert_int_equal(s_state(s, r), AGENT_SPOOL_ACKNOWLEDGED);
    agent_spool_destroy(&s);
}

static void test_due_order_limit_and_next_try(void **state)
{
    fixture *f = *state;
    agent_spool *s = s_open(f);
    mn_diag d = {0};
    agent_spool_item *items = NULL;
    size_t n = 99;
    uint64_t when = 0;

    assert_int_equal(agent_spool_next_due(s, &when, &d), MN_ENOTFOUND);
    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 0);
    assert_null(items);

    uint64_t s1 = s_add(s, 1, 10, 500);  /* due */
    uint64_t s2 = s_add(s, 2, 10, 2000); /* later */
    uint64_t s3 = s_add(s, 3, 10, 0);    /* due */
    uint64_t s4 = s_add(s, 4, 10, 1000); /* due exactly now */
    uint64_t s5 = s_add(s, 5, 10, 0);    /* due, then acknowledged */
    agent_spool_ack ack = {s5, MN_RECEIPT_ACCEPTED, 1, 1};
    assert_int_equal(agent_spool_mark_acknowledged(s, &ack, 1, NULL, &d), MN_OK);

    assert_int_equal(agent_spool_next_due(s, &when, &d), MN_OK);
    assert_int_equal(when, 0);

    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(items[0].seq, s1); /* oldest first */
    assert_int_equal(items[1].seq, s3);
    assert_int_equal(items[2].seq, s4);
    assert_int_equal(items[0].frame_len, 10);
    assert_int_equal(items[1].frame[0], 3);
    agent_spool_items_free(&items, n);
    assert_null(items);

    /* at most max */
    assert_int_equal(agent_spool_due(s, 1000, 0, 2, &items, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[1].seq, s3);
    agent_spool_items_free(&items, n);

    /* sending moves next_try_ms: the item leaves "due" until then */
    agent_spool_sent sent = {s1, 1500};
    assert_int_equal(agent_spool_mark_sent(s, &sent, 1, 1000, &d), MN_OK);
    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0].seq, s3);
    assert_int_equal(items[0].attempts, 0);
    agent_spool_items_free(&items, n);
    assert_int_equal(agent_spool_due(s, 2000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 4);
    assert_int_equal(items[0].seq, s1);
    assert_int_equal(items[0].attempts, 1);
    assert_int_equal(items[1].seq, s2);
    agent_spool_items_free(&items, n);

    /* the wall clock went back: far-future items count as due */
    sent = (agent_spool_sent){s1, 1000000};
    assert_int_equal(agent_spool_mark_sent(s, &sent, 1, 1000, &d), MN_OK);
    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 2); /* s3, s4 */
    agent_spool_items_free(&items, n);
    assert_int_equal(agent_spool_due(s, 1000, 120000, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 3); /* s1 too; s2 (1 s ahead) is not */
    assert_int_equal(items[0].seq, s1);
    agent_spool_items_free(&items, n);

    /* a retry moves next_try_ms too */
    assert_int_equal(agent_spool_mark_retry(s, s3, 10, "later", 5000, &d), MN_OK);
    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].seq, s4);
    agent_spool_items_free(&items, n);
    assert_int_equal(agent_spool_next_due(s, &when, &d), MN_OK);
    assert_int_equal(when, 1000);

    /* a claim given up: due at once again; an earlier next_try_ms is kept */
    assert_int_equal(agent_spool_mark_due(s, s3, 1000, &d), MN_OK);
    assert_int_equal(agent_spool_mark_due(s, s4, 2000, &d), MN_OK);
    assert_int_equal(agent_spool_due(s, 1000, 0, 10, &items, &n, &d), MN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0].seq, s3);
    assert_int_equal(items[0].next_try_ms, 1000);
    assert_int_equal(items[0].reject_reason, 10); /* the last reject stays on record */
    assert_int_equal(items[1].seq, s4);
    assert_int_equal(items[1].next_try_ms, 1000);
    agent_spool_items_free(&items, n);
    assert_int_equal(agent_spool_mark_due(s, s5, 1000, &d), MN_OK); /* acknowledged: no-op */
    assert_int_equal(agent_spool_mark_due(s, 999, 1000, &d), MN_ENOTFOUND);
    agent_spool_destroy(&s);
}

static void test_persistence_across_reopen(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool_item it;
    agent_spool *s = s_open(f);
    uint64_t a = s_add(s, 1, 300, 0);
    uint64_t b = s_add(s, 2, 300, 0);
    agent_spool_ack ack = {a, MN_RECEIPT_DUPLICATE, 9, 77};
    assert_int_equal(agent_spool_mark_acknowledged(s, &ack, 1, NULL, &d), MN_OK);
    agent_spool_sent sent = {b, 4242};
    assert_int_equal(agent_spool_mark_sent(s, &sent, 1, 4000, &d), MN_OK);
    agent_spool_destroy(&s);

    s = s_open(f);
    assert_int_equal(agent_spool_get(s, a, 0, &it, &d), MN_OK);
    assert_int_equal(it.state, AGENT_SPOOL_ACKNOWLEDGED);
    assert_int_equal(it.receipt_status, MN_RECEIPT_DUPLICATE);
    assert_int_equal(it.registration, 9);
    assert_int_equal(agent_spool_get(s, b, 1, &it, &d), MN_OK);
    assert_int_equal(it.state, AGENT_SPOOL_QUEUED);
    assert_int_equal(it.attempts, 1);
    assert_int_equal(it.next_try_ms, 4242);
    assert_int_equal(it.frame_len, 300);
    agent_spool_item_clear(&it);
    /* seqs go on after the reopen, never reused */
    uint64_t c = s_add(s, 3, 10, 0);
    assert_int_equal(c, 3);
    agent_spool_destroy(&s);
}

static void test_two_processes_share_a_spool(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    uint64_t a = s_add(s, 1, 10, 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A fresh process (exec, so it inherits no LMDB handle), like a `submit` while `run`
         * has the spool open: see s_child_main. */
        char seq_text[32];
        snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)a);
        execl(s_self, s_self, "--child-add", f->spool, seq_text, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    agent_spool_counts c;
    assert_int_equal(agent_spool_count(s, &c, &d), MN_OK);
    assert_int_equal(c.queued, 1);
    assert_int_equal(c.acknowledged, 1);
    /* and its seq was not handed out twice */
    assert_int_equal(s_add(s, 2, 10, 0), 3);
    agent_spool_destroy(&s);
}

static void test_format_mismatch_is_a_clear_error(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char path[160];
    agent_spool *s = s_open(f);
    agent_spool_destroy(&s);

    /* rewrite every copy of the format record from 1 to 2 */
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    size_t len = 0, hits = 0;
    uint8_t *buf = s_read_file(path, &len);
    static const uint8_t rec[] = {'f', 'o', 'r', 'm', 'a', 't', 0, 0, 0, 1};
    for (size_t i = 0; i + sizeof rec <= len; i++) {
        if (memcmp(buf + i, rec, sizeof rec) == 0) {
            buf[i + sizeof rec - 1] = 2;
            hits++;
        }
    }
    assert_true(hits >= 1);
    s_write_file(path, buf, len);
    free(buf);

    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_EVERSION);
    assert_null(s);
    assert_int_equal(d.code, MN_EVERSION);
    assert_non_null(strstr(d.what, "format 2"));
    assert_non_null(strstr(d.what, "format 1"));
    assert_true(d.hint[0] != '\0');
}

static void test_garbage_file_is_a_clear_error_and_left_alone(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    char path[160];
    uint8_t junk[65536];
    agent_spool *s = NULL;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(mkdir(f->spool, 0700), 0);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    s_write_file(path, junk, sizeof junk);

    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_ESTORE);
    assert_null(s);
    assert_int_equal(d.code, MN_ESTORE);
    assert_string_equal(d.where, path);
    assert_true(d.hint[0] != '\0');
    size_t len = 0;
    uint8_t *after = s_read_file(path, &len);
    assert_int_equal(len, sizeof junk);
    assert_memory_equal(after, junk, sizeof junk);
    free(after);
}

static void test_open_refuses_open_permissions_and_files(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = NULL;
    char path[160];

    /* a directory others may enter */
    assert_int_equal(mkdir(f->spool, 0700), 0);
    assert_int_equal(chmod(f->spool, 0755), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_EPERM);
    assert_null(s);
    assert_non_null(strstr(d.hint, "chmod 700"));
    assert_int_equal(chmod(f->spool, 0700), 0);

    /* a data file others may read */
    s = s_open(f);
    agent_spool_destroy(&s);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_EPERM);
    assert_non_null(strstr(d.hint, "chmod 600"));

    /* a path that is a file */
    snprintf(path, sizeof path, "%s/plain", f->dir);
    s_write_file(path, "x", 1);
    assert_int_equal(agent_spool_open(path, 16, &s, &d), MN_ESTORE);
    assert_int_equal(agent_spool_open(NULL, 16, &s, &d), MN_EINVAL);
    assert_int_equal(agent_spool_open("", 16, &s, &d), MN_EINVAL);
    assert_null(s);
}

static void test_lost_spool_is_refused_not_made_anew(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    char path[160];
    struct stat st;
    s_add(s, 1, 100, 0);
    agent_spool_destroy(&s);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);

    /* emptied: refused, and left empty */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_ESTORE);
    assert_null(s);
    assert_non_null(strstr(d.what, "empty"));
    assert_non_null(strstr(d.hint, "backup"));
    assert_non_null(strstr(d.hint, "meldnet-agent new-spool"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* removed (lock.mdb stays): refused, nothing made */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_ESTORE);
    assert_non_null(strstr(d.what, "missing"));
    assert_non_null(strstr(d.hint, "meldnet-agent new-spool"));
    assert_int_not_equal(stat(path, &st), 0);

    /* the whole directory gone: refused, not made */
    char lock[160];
    snprintf(lock, sizeof lock, "%s/lock.mdb", f->spool);
    unlink(lock);
    assert_int_equal(rmdir(f->spool), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_ESTORE);
    assert_non_null(strstr(d.hint, "backup"));
    assert_int_not_equal(stat(f->spool, &st), 0);

    /* made on purpose: empty; a second create leaves the spool with its data alone */
    assert_int_equal(agent_spool_create(f->spool, 16, &s, &d), MN_OK);
    s_add(s, 2, 100, 0);
    agent_spool_destroy(&s);
    assert_int_equal(agent_spool_create(f->spool, 16, &s, &d), MN_EEXIST);
    assert_null(s);
    s = s_open(f);
    uint64_t n = 0;
    assert_int_equal(agent_spool_queued(s, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    agent_spool_destroy(&s);
}

static int s_count_item(const agent_spool_item *it, void *arg)
{
    (void)it;
    (*(int *)arg)++;
    return 0;
}

static void test_open_and_read_write_nothing(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    char path[160];
    agent_spool_counts c;
    int n = 0;
    for (unsigned i = 0; i < 5; i++)
        s_add(s, i + 1, 200, 0);
    agent_spool_destroy(&s);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    size_t len0 = 0, len1 = 0;
    uint8_t *before = s_read_file(path, &len0);
    s = s_open(f);
    assert_int_equal(agent_spool_count(s, &c, &d), MN_OK);
    assert_int_equal(agent_spool_each(s, s_count_item, &n, &d), MN_OK);
    assert_int_equal(n, 5);
    agent_spool_destroy(&s);
    uint8_t *after = s_read_file(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);
}

static void test_damaged_spool_is_refused(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    char path[160];
    struct stat st;
    for (unsigned i = 0; i < 20; i++)
        s_add(s, i + 1, 3000, 0);
    agent_spool_destroy(&s);
    snprintf(path, sizeof path, "%s/data.mdb", f->spool);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    assert_int_equal(agent_spool_open(f->spool, 16, &s, &d), MN_ESTORE);
    assert_null(s);
    assert_non_null(strstr(d.what, "damaged")); /* a cut through its pages */
    assert_non_null(strstr(d.hint, "move the spool directory aside"));
    assert_int_equal(agent_spool_create(f->spool, 16, &s, &d), MN_EEXIST);
}

static void test_full_disk_is_reported_and_passes(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    struct rlimit old, low;
    uint64_t seq = 0;
    s_add(s, 1, 100, 0);
    assert_int_equal(agent_spool_is_short_of_space(s), 0);

    /* A file size limit below the spool's pages: writes fail in the kernel (EFBIG), as on a
     * full disk. Nothing is printed while it holds (the test's output is a file too). */
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 8192;
    agent_spool_destroy(&s);
    agent_spool_counts c = {0};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    /* opening and reading need no room: status works on a full disk */
    int rc_open = agent_spool_open(f->spool, 16, &s, &d);
    int rc_count = rc_open == MN_OK ? agent_spool_count(s, &c, &d) : rc_open;
    int rc = rc_open == MN_OK ? agent_spool_reserve_seq(s, &seq, &d) : rc_open;
    int short_of_space = agent_spool_is_short_of_space(s);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_xfsz);

    assert_int_equal(rc_open, MN_OK);
    assert_int_equal(rc_count, MN_OK);
    assert_int_equal(c.queued, 1);
    assert_int_equal(rc, MN_ESTORE);
    assert_int_equal(short_of_space, 1);
    assert_non_null(strstr(d.hint, "disk that holds the spool is full"));
    /* room again: the same call passes, the flag clears, nothing was lost */
    assert_int_equal(agent_spool_reserve_seq(s, &seq, &d), MN_OK);
    assert_int_equal(agent_spool_is_short_of_space(s), 0);
    uint64_t n = 0;
    assert_int_equal(agent_spool_queued(s, &n, &d), MN_OK);
    assert_int_equal(n, 1);
    agent_spool_destroy(&s);
    assert_int_equal(agent_spool_is_short_of_space(NULL), 0);
}

static void test_forget_only_a_rejected_item(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    agent_spool *s = s_open(f);
    agent_spool_item it;
    agent_spool_counts c;
    uint64_t q = s_add(s, 1, 10, 0);
    uint64_t a = s_add(s, 2, 10, 0);
    uint64_t r = s_add(s, 3, 10, 0);
    agent_spool_ack ack = {a, MN_RECEIPT_ACCEPTED, 7, 1};
    assert_int_equal(agent_spool_mark_acknowledged(s, &ack, 1, NULL, &d), MN_OK);
    assert_int_equal(agent_spool_mark_rejected(s, r, MN_REJECT_INVALID_REPORT, "age", &d), MN_OK);

    assert_int_equal(agent_spool_forget(s, q, &d), MN_EINVAL);
    assert_non_null(strstr(d.hint, "meldnet-agent run"));
    assert_int_equal(agent_spool_forget(s, a, &d), MN_EINVAL);
    assert_int_equal(agent_spool_forget(s, 999, &d), MN_ENOTFOUND);
    assert_non_null(strstr(d.hint, "status"));

    assert_int_equal(agent_spool_get(s, r, 1, &it, &d), MN_OK);
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    memcpy(id, it.id, sizeof id);
    agent_spool_item_clear(&it);
    assert_int_equal(agent_spool_forget(s, r, &d), MN_OK);
    assert_int_equal(agent_spool_get(s, r, 0, &it, &d), MN_ENOTFOUND);
    assert_int_equal(agent_spool_find_id(s, id, 0, &it, &d), MN_ENOTFOUND);
    assert_int_equal(agent_spool_forget(s, r, &d), MN_ENOTFOUND);
    assert_int_equal(agent_spool_count(s, &c, &d), MN_OK);
    assert_int_equal(c.queued, 1);
    assert_int_equal(c.acknowledged, 1);
    assert_int_equal(c.rejected, 0);
    agent_spool_destroy(&s);
}

/* The other process of test_two_processes_share_a_spool: add one item, acknowledge seq. */
static int s_child_main(const char *dir, const char *seq_text)
{
    agent_spool *s2 = NULL;
    uint64_t seq = 0;
    uint8_t id[MN_ENVELOPE_ID_BYTES];
    uint8_t frame[3] = {9, 9, 9};
    agent_spool_ack ack = {strtoull(seq_text, NULL, 10), MN_RECEIPT_ACCEPTED, 5, 5};
    s_id(id, 50);
    int ok = agent_spool_open(dir, 16, &s2, NULL) == MN_OK &&
             agent_spool_reserve_seq(s2, &seq, NULL) == MN_OK &&
             agent_spool_add(s2, seq, id, 1, frame, 3, 0, NULL) == MN_OK &&
             agent_spool_mark_acknowledged(s2, &ack, 1, NULL, NULL) == MN_OK;
    agent_spool_destroy(&s2);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child-add") == 0)
        return s_child_main(argv[2], argv[3]);
    s_self = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_private_files_and_destroy_twice, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_add_get_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_each_in_seq_order_and_stops, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_add_refuses_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_find_by_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_transitions_and_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_due_order_limit_and_next_try, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_persistence_across_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_share_a_spool, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_format_mismatch_is_a_clear_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_is_a_clear_error_and_left_alone, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_open_permissions_and_files, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_lost_spool_is_refused_not_made_anew, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_spool_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_and_read_write_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_is_reported_and_passes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_forget_only_a_rejected_item, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
