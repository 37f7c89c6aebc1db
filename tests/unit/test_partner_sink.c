/* test_partner_sink.c - unit tests for partner_sink and partner_state: file names, crash-safe
 * output, idempotency by registration (file or marker), --exec with stdin, environment, exit
 * status, timeout and stop, the state summary and the one-listen lock.
 *
 * Each test gets its own mkdtemp directory holding out/ and state/.
 */
#define _XOPEN_SOURCE 700 /* nftw */
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
#include <unistd.h>

#include <cmocka.h>

#include "mn_time.h"
#include "partner_config.h"
#include "partner_sink.h"
#include "partner_state.h"

typedef struct fixture {
    char dir[64];
    char out[96];
    char state_dir[96];
    partner_state *state;
    partner_sink *sink;
    mn_topics topics;
    volatile sig_atomic_t stop;
} fixture;

static const char s_json[] = "{\n  \"registration\": \"MN-00000042\"\n}\n";

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_partner_sink.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    snprintf(f->state_dir, sizeof f->state_dir, "%s/state", f->dir);
    if (partner_state_open(f->state_dir, 1, &f->state, NULL) != MN_OK ||
        partner_topics_parse("police.acute,care.utrecht", &f->topics, NULL) != MN_OK)
        return -1;
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
    partner_sink_destroy(&f->sink);
    partner_sink_destroy(&f->sink);
    partner_state_destroy(&f->state);
    partner_state_destroy(&f->state);
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void s_sink(fixture *f, partner_sink_mode mode, const char *command, unsigned timeout_s)
{
    partner_sink_config sc = {
        .mode = mode,
        .out_dir = f->out,
        .command = command,
        .partner = "police-midden",
        .exec_timeout_s = timeout_s,
        .stop = &f->stop,
    };
    partner_sink_destroy(&f->sink);
    assert_int_equal(partner_sink_new(&sc, f->state, &f->sink, NULL), MN_OK);
}

static partner_sink_item s_item(fixture *f, uint64_t reg)
{
    partner_sink_item it = {.registration = reg, .topics = &f->topics, .attempt = 2, .acute = 1};
    return it;
}

/* The whole file at path into a static buffer ("" when missing). */
static const char *s_slurp(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *fp = fopen(path, "r");
    if (!fp)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* --- naming ------------------------------------------------------------------------------- */

static void test_file_name(void **state)
{
    (void)state;
    char buf[PARTNER_FILE_NAME_MAX];
    partner_sink_file_name(42, buf, sizeof buf);
    assert_string_equal(buf, "MN-00000042.json");
    partner_sink_file_name(123456789, buf, sizeof buf);
    assert_string_equal(buf, "MN-123456789.json");
    partner_sink_file_name(UINT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "MN-18446744073709551615.json");
    assert_string_equal(partner_sink_outcome_name(PARTNER_SINK_DUPLICATE), "duplicate");
}

/* --- --out -------------------------------------------------------------------------------- */

static void test_out_writes_once(void **state)
{
    fixture *f = *state;
    char path[160], reason[256];
    struct stat st;
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    assert_true(s_exists(f->out)); /* made when missing */
    partner_sink_item it = s_item(f, 42);
    assert_false(partner_sink_has(f->sink, 42));
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    snprintf(path, sizeof path, "%s/MN-00000042.json", f->out);
    assert_string_equal(s_slurp(path), s_json);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(partner_sink_has(f->sink, 42));
    assert_true(partner_state_has(f->state, 42));

    /* A redelivery with other bytes: acknowledged, the file is not touched. */
    assert_int_equal(partner_sink_put(f->sink, &it, "other", 5, reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_string_equal(s_slurp(path), s_json);

    /* The consumer moved the file away: the marker still stops a second copy. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_false(s_exists(path));
}

/* A number that comes again with another registration time is another report (the gateway's
 * store was replaced): kept beside the first, once; the same time again is a duplicate. */
static void test_out_number_given_again(void **state)
{
    fixture *f = *state;
    char first[160], second[160], reason[256];
    uint64_t seen = 0;
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    partner_sink_item it = s_item(f, 42);
    it.accepted_ms = 1733500000000ull;
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    assert_true(partner_state_find(f->state, 42, 0, &seen));
    assert_int_equal(seen, 1733500000000ull);

    partner_sink_item again = s_item(f, 42);
    again.accepted_ms = 1733600000000ull;
    assert_int_equal(partner_sink_put(f->sink, &again, "second\n", 7, reason, sizeof reason),
                     PARTNER_SINK_STORED);
    snprintf(first, sizeof first, "%s/MN-00000042.json", f->out);
    snprintf(second, sizeof second, "%s/MN-00000042-1733600000000.json", f->out);
    assert_string_equal(s_slurp(first), s_json);
    assert_string_equal(s_slurp(second), "second\n");
    assert_true(partner_state_find(f->state, 42, 1733600000000ull, &seen));
    assert_int_equal(seen, 1733600000000ull);
    /* redeliveries of either are duplicates */
    assert_int_equal(partner_sink_put(f->sink, &again, "x", 1, reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_int_equal(partner_sink_put(f->sink, &it, "x", 1, reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_string_equal(s_slurp(second), "second\n");

    /* a marker from before markers kept the time: taken as the same report */
    partner_sink_item old = s_item(f, 9);
    assert_int_equal(partner_sink_put(f->sink, &old, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    old.accepted_ms = 1733700000000ull;
    assert_int_equal(partner_sink_put(f->sink, &old, "x", 1, reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
}

static void test_out_file_without_marker(void **state)
{
    fixture *f = *state;
    char path[160], reason[256];
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    /* A crash after the rename, before the marker: the file is there, no marker. */
    snprintf(path, sizeof path, "%s/MN-00000007.json", f->out);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{}\n", fp);
    fclose(fp);
    partner_sink_item it = s_item(f, 7);
    assert_true(partner_sink_has(f->sink, 7));
    assert_false(partner_state_has(f->state, 7));
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_string_equal(s_slurp(path), "{}\n");
    assert_true(partner_state_has(f->state, 7)); /* the marker is made up for */
}

static void test_out_deferred_when_unwritable(void **state)
{
    fixture *f = *state;
    char reason[256];
    partner_state_summary sum;
    if (geteuid() == 0)
        skip(); /* root writes anywhere: test_out_deferred_when_disk_refuses runs as root too */
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    assert_int_equal(chmod(f->out, 0500), 0);
    partner_sink_item it = s_item(f, 9);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_DEFERRED);
    assert_non_null(strstr(reason, "cannot write"));
    assert_false(partner_state_has(f->state, 9));
    assert_int_equal(partner_state_summarize(f->state, &sum, NULL), MN_OK);
    assert_true(sum.has_refusal);
    assert_int_equal(sum.refusal.registration, 9);
    chmod(f->out, 0700);
}

/* A file system that refuses the write (here a file size limit, as a full disk would with
 * ENOSPC): the referral is deferred, not refused, nothing is left in the folder, and once the
 * limit is lifted the same delivery is stored. Listen ignores SIGXFSZ, as done here. */
static void test_out_deferred_when_disk_refuses(void **state)
{
    fixture *f = *state;
    char reason[256], path[160];
    struct rlimit old, tiny;
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    partner_sink_item it = s_item(f, 10);
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    tiny = old;
    tiny.rlim_cur = 8; /* fewer bytes than the referral */
    /* No cmocka output while the limit holds: it may go to a file too. */
    int set = setrlimit(RLIMIT_FSIZE, &tiny);
    partner_sink_outcome o =
        partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason);
    int restored = setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    assert_int_equal(set, 0);
    assert_int_equal(restored, 0);
    assert_int_equal(o, PARTNER_SINK_DEFERRED);
    assert_non_null(strstr(reason, "cannot write the referral file"));
    assert_false(partner_state_has(f->state, 10));
    snprintf(path, sizeof path, "%s/MN-00000010.json", f->out);
    assert_false(s_exists(path));
    /* No temporary file is left behind in the folder. */
    snprintf(path, sizeof path, "ls -A '%s' | grep -q .", f->out);
    assert_int_not_equal(system(path), 0);

    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    assert_true(partner_state_has(f->state, 10));
}

static void test_out_new_refuses_a_file(void **state)
{
    fixture *f = *state;
    mn_diag d = {0};
    partner_sink *sink = NULL;
    char file[160];
    snprintf(file, sizeof file, "%s/plain-file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    partner_sink_config sc = {.mode = PARTNER_SINK_OUT, .out_dir = file};
    assert_int_not_equal(partner_sink_new(&sc, f->state, &sink, &d), MN_OK);
    assert_null(sink);
    partner_sink_config none = {.mode = PARTNER_SINK_EXEC, .command = ""};
    assert_int_equal(partner_sink_new(&none, f->state, &sink, &d), MN_EINVAL);
    assert_null(sink);
}

static void test_registration_zero_refused(void **state)
{
    fixture *f = *state;
    char reason[256];
    s_sink(f, PARTNER_SINK_OUT, NULL, 0);
    partner_sink_item it = s_item(f, 0);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_REFUSED);
}

/* --- --exec ------------------------------------------------------------------------------- */

static void test_exec_stdin_and_env(void **state)
{
    fixture *f = *state;
    char cmd[512], path[160], reason[256];
    assert_int_equal(mkdir(f->out, 0700), 0);
    setenv("MELDNET_TOPICS", "stale", 1); /* a stale value in our own environment */
    snprintf(cmd, sizeof cmd,
             "cat > '%s/'\"$MELDNET_REGISTRATION\".json && "
             "printf '%%s|%%s|%%s|%%s|%%s' \"$MELDNET_REGISTRATION\" \"$MELDNET_TOPICS\" "
             "\"$MELDNET_ATTEMPT\" \"$MELDNET_ACUTE\" \"$MELDNET_PARTNER\" > '%s/env'",
             f->out, f->out);
    s_sink(f, PARTNER_SINK_EXEC, cmd, 10);
    partner_sink_item it = s_item(f, 42);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    unsetenv("MELDNET_TOPICS");
    snprintf(path, sizeof path, "%s/MN-00000042.json", f->out);
    assert_string_equal(s_slurp(path), s_json);
    snprintf(path, sizeof path, "%s/env", f->out);
    assert_string_equal(s_slurp(path), "MN-00000042|police.acute,care.utrecht|2|1|police-midden");
    assert_true(partner_state_has(f->state, 42));

    /* Once delivered, the command does not run again. */
    snprintf(path, sizeof path, "%s/MN-00000042.json", f->out);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_DUPLICATE);
    assert_false(s_exists(path));
}

/* What the command writes is private like --out's files (0600), whatever the umask of the
 * partner, and the partner's own umask is left as it was. */
static void test_exec_files_private(void **state)
{
    fixture *f = *state;
    char cmd[512], path[160], reason[256];
    struct stat st;
    assert_int_equal(mkdir(f->out, 0700), 0);
    snprintf(cmd, sizeof cmd, "cat > '%s/'\"$MELDNET_REGISTRATION\".json && mkdir '%s/sub'", f->out,
             f->out);
    s_sink(f, PARTNER_SINK_EXEC, cmd, 10);
    mode_t old = umask(022); /* the usual umask, which made the file 0644 */
    partner_sink_item it = s_item(f, 7);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_STORED);
    assert_int_equal(umask(old), 022);
    snprintf(path, sizeof path, "%s/MN-00000007.json", f->out);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/sub", f->out);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_exec_failure_is_refused(void **state)
{
    fixture *f = *state;
    char reason[256];
    partner_state_summary sum;
    s_sink(f, PARTNER_SINK_EXEC, "cat >/dev/null; exit 3", 10);
    partner_sink_item it = s_item(f, 43);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_REFUSED);
    assert_string_equal(reason, "command exited 3");
    assert_false(partner_state_has(f->state, 43));
    assert_int_equal(partner_state_summarize(f->state, &sum, NULL), MN_OK);
    assert_int_equal(sum.delivered, 0);
    assert_false(sum.has_last);
    assert_true(sum.has_refusal);
    assert_int_equal(sum.refusal.registration, 43);
    assert_string_equal(sum.refusal.reason, "command exited 3");
    assert_string_equal(sum.refusal.via, "exec");
    assert_int_equal(sum.refusal.attempt, 2);

    s_sink(f, PARTNER_SINK_EXEC, "kill -9 $$", 10);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_REFUSED);
    assert_string_equal(reason, "command was killed by signal 9");

    /* Exit 75 (EX_TEMPFAIL): the command says "not now", a deferral. */
    s_sink(f, PARTNER_SINK_EXEC, "cat >/dev/null; exit 75", 10);
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_DEFERRED);
    assert_string_equal(reason, "command exited 75 (try again later)");
    assert_false(partner_state_has(f->state, 43));
    assert_string_equal(partner_sink_outcome_name(PARTNER_SINK_DEFERRED), "deferred");
}

static void test_exec_not_reading_input(void **state)
{
    fixture *f = *state;
    char reason[256];
    size_t len = 512 * 1024; /* far more than a pipe holds */
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 'x', len);
    s_sink(f, PARTNER_SINK_EXEC, "exit 0", 10);
    partner_sink_item it = s_item(f, 44);
    assert_int_equal(partner_sink_put(f->sink, &it, big, len, reason, sizeof reason),
                     PARTNER_SINK_STORED);
    free(big);
}

static void test_exec_timeout(void **state)
{
    fixture *f = *state;
    char reason[256];
    s_sink(f, PARTNER_SINK_EXEC, "sleep 30", 1);
    partner_sink_item it = s_item(f, 45);
    uint64_t t0 = mn_mono_ms();
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_REFUSED);
    assert_true(mn_mono_ms() - t0 < 8000);
    assert_non_null(strstr(reason, "longer than 1 s"));
    assert_false(partner_state_has(f->state, 45));
}

static void test_exec_stop(void **state)
{
    fixture *f = *state;
    char reason[256];
    s_sink(f, PARTNER_SINK_EXEC, "sleep 30", 60);
    partner_sink_item it = s_item(f, 46);
    f->stop = 1;
    uint64_t t0 = mn_mono_ms();
    assert_int_equal(partner_sink_put(f->sink, &it, s_json, strlen(s_json), reason, sizeof reason),
                     PARTNER_SINK_INTERRUPTED);
    assert_true(mn_mono_ms() - t0 < 8000);
    assert_false(partner_state_has(f->state, 46));
}

/* --- state -------------------------------------------------------------------------------- */

static void test_state_summary(void **state)
{
    fixture *f = *state;
    partner_state_summary sum;
    partner_state_entry e;
    assert_int_equal(partner_state_summarize(f->state, &sum, NULL), MN_OK);
    assert_int_equal(sum.delivered, 0);
    assert_false(sum.has_last);
    assert_false(sum.has_refusal);
    for (uint64_t reg = 1; reg <= 3; reg++) {
        memset(&e, 0, sizeof e);
        e.registration = reg;
        e.at_ms = 1700000000000ull + reg;
        e.attempt = 1;
        snprintf(e.via, sizeof e.via, "out");
        snprintf(e.topics, sizeof e.topics, "police.acute");
        assert_int_equal(partner_state_mark(f->state, &e, NULL), MN_OK);
    }
    memset(&e, 0, sizeof e);
    e.registration = 9;
    snprintf(e.reason, sizeof e.reason, "two\nlines");
    assert_int_equal(partner_state_note_refusal(f->state, &e, NULL), MN_OK);
    assert_int_equal(partner_state_summarize(f->state, &sum, NULL), MN_OK);
    assert_int_equal(sum.delivered, 3);
    assert_true(sum.has_last);
    assert_int_equal(sum.last.registration, 3);
    assert_int_equal(sum.last.at_ms, 1700000000003ull);
    assert_string_equal(sum.last.topics, "police.acute");
    assert_true(sum.has_refusal);
    assert_string_equal(sum.refusal.reason, "two lines");
    e.registration = 0;
    assert_int_equal(partner_state_mark(f->state, &e, NULL), MN_EINVAL);
}

static void test_state_lock(void **state)
{
    fixture *f = *state;
    partner_state *other = NULL;
    mn_diag d = {0};
    assert_int_equal(partner_state_lock(f->state, NULL), MN_OK);
    assert_int_equal(partner_state_lock(f->state, NULL), MN_OK); /* held already */
    assert_int_equal(partner_state_open(f->state_dir, 0, &other, NULL), MN_OK);
    assert_int_equal(partner_state_lock(other, &d), MN_EEXIST);
    assert_non_null(strstr(d.what, "another"));
    partner_state_destroy(&f->state); /* releases it */
    assert_int_equal(partner_state_lock(other, NULL), MN_OK);
    partner_state_destroy(&other);
}

static void test_state_missing(void **state)
{
    fixture *f = *state;
    partner_state *st = NULL;
    char path[160];
    mn_diag d = {0};
    snprintf(path, sizeof path, "%s/nowhere", f->dir);
    assert_int_equal(partner_state_open(path, 0, &st, &d), MN_ESYS);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_name),
        cmocka_unit_test_setup_teardown(test_out_writes_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_number_given_again, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_file_without_marker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_deferred_when_unwritable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_deferred_when_disk_refuses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_out_new_refuses_a_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_registration_zero_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_stdin_and_env, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_files_private, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_failure_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_not_reading_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exec_stop, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_summary, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_lock, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_missing, s_setup, s_teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* as meldnet-partner does */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
