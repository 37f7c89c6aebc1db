/* test_mn_log.c - unit tests for mn_log: level names, quoting text a peer wrote, the JSON
 * format and rate limiting in both formats; a non-blocking thread never waits for a stalled
 * stderr. Lines are read back by pointing fd 2 at a file (or a pipe). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mn_log.h"

static void test_parse_level(void **state)
{
    (void)state;
    enum mn_log_level level = MN_LOG_ERR;
    assert_int_equal(mn_log_parse_level("debug", &level), MN_OK);
    assert_int_equal(level, MN_LOG_DEBUG);
    assert_int_equal(mn_log_parse_level("warn", &level), MN_OK);
    assert_int_equal(level, MN_LOG_WARN);
    assert_int_equal(mn_log_parse_level("loud", &level), MN_EINVAL);
    assert_int_equal(mn_log_parse_level(NULL, &level), MN_EINVAL);
    assert_int_equal(level, MN_LOG_WARN); /* unchanged by a failure */
}

static void test_quote_escapes(void **state)
{
    (void)state;
    char out[64];
    mn_log_quote("plain text", out, sizeof out);
    assert_string_equal(out, "plain text");
    mn_log_quote("say \"hi\" \\ bye", out, sizeof out);
    assert_string_equal(out, "say \\\"hi\\\" \\\\ bye");
    mn_log_quote("line\nbreak\x1b[31m\x7f\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "line\\x0abreak\\x1b[31m\\x7f\\xc3\\xa9");
    mn_log_quote(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_quote_cuts_whole_escapes(void **state)
{
    (void)state;
    char out[6];
    mn_log_quote("abcdefgh", out, sizeof out);
    assert_string_equal(out, "abcde");
    mn_log_quote("ab\n", out, sizeof out); /* "\x0a" does not fit after "ab": left out whole */
    assert_string_equal(out, "ab");
    mn_log_quote("\"", out, 2); /* an escape that does not fit at all */
    assert_string_equal(out, "");
    out[0] = 'x';
    mn_log_quote("abc", out, 0); /* no room: nothing written */
    assert_int_equal(out[0], 'x');
}

/* --- capturing stderr ------------------------------------------------------------------- */

static FILE *s_tmp;
static int s_saved_fd = -1;

static void s_capture_start(void)
{
    fflush(stderr);
    s_tmp = tmpfile();
    assert_non_null(s_tmp);
    s_saved_fd = dup(STDERR_FILENO);
    assert_true(s_saved_fd >= 0);
    assert_true(dup2(fileno(s_tmp), STDERR_FILENO) >= 0);
}

/* What was written since s_capture_start. Caller frees. */
static char *s_capture_end(void)
{
    fflush(stderr);
    assert_true(dup2(s_saved_fd, STDERR_FILENO) >= 0);
    close(s_saved_fd);
    long n = ftell(s_tmp);
    assert_true(n >= 0);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(s_tmp);
    assert_int_equal(fread(text, 1, (size_t)n, s_tmp), (size_t)n);
    fclose(s_tmp);
    return text;
}

static size_t s_count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* The one JSON line in text, parsed; fails unless it is exactly one valid object. */
static json_t *s_one_json(const char *text)
{
    json_error_t err;
    assert_int_equal(s_count_lines(text), 1);
    assert_int_equal(text[strlen(text) - 1], '\n');
    json_t *o = json_loads(text, 0, &err);
    if (!o)
        fail_msg("not JSON: %s: %s", err.text, text);
    assert_true(json_is_object(o));
    return o;
}

static const char *s_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("member \"%s\" is not a string", key);
    return json_string_value(v);
}

/* --- format ----------------------------------------------------------------------------- */

static void test_parse_format(void **state)
{
    (void)state;
    enum mn_log_format f = MN_LOG_TEXT;
    assert_int_equal(mn_log_parse_format("json", &f), MN_OK);
    assert_int_equal(f, MN_LOG_JSON);
    assert_int_equal(mn_log_parse_format("text", &f), MN_OK);
    assert_int_equal(f, MN_LOG_TEXT);
    f = MN_LOG_JSON;
    assert_int_equal(mn_log_parse_format("JSON", &f), MN_EINVAL);
    assert_int_equal(mn_log_parse_format("", &f), MN_EINVAL);
    assert_int_equal(mn_log_parse_format(NULL, &f), MN_EINVAL);
    assert_int_equal(f, MN_LOG_JSON); /* unchanged by a failure */
}

static void test_text_unchanged(void **state)
{
    (void)state;
    mn_log_set_format(MN_LOG_TEXT);
    s_capture_start();
    log_warn("ingest", "reject reason=%s n=%d", "BAD_SIGNATURE", 3);
    char *text = s_capture_end();
    /* "2024-05-01T10:00:00.123Z warn ingest: reject reason=BAD_SIGNATURE n=3\n" */
    assert_int_equal(strlen(text), 24 + strlen(" warn ingest: reject reason=BAD_SIGNATURE n=3\n"));
    assert_int_equal(text[23], 'Z');
    assert_string_equal(text + 24, " warn ingest: reject reason=BAD_SIGNATURE n=3\n");
    free(text);
}

static void test_json_line_has_fields(void **state)
{
    (void)state;
    mn_log_set_format(MN_LOG_JSON);
    s_capture_start();
    log_warn("ingest", "rejected a frame reason=%s n=%d neg=-4 ratio=1.5 code=007 empty= id=%s",
             "BAD_SIGNATURE", 42, "MN-00000042");
    char *text = s_capture_end();
    mn_log_set_format(MN_LOG_TEXT);
    json_t *o = s_one_json(text);
    const char *t = s_str(o, "time"); /* 2024-05-01T10:00:00.123Z */
    assert_int_equal(strlen(t), 24);
    assert_int_equal(t[10], 'T');
    assert_int_equal(t[19], '.');
    assert_int_equal(t[23], 'Z');
    assert_string_equal(s_str(o, "level"), "warn");
    assert_string_equal(s_str(o, "component"), "ingest");
    assert_string_equal(s_str(o, "msg"), "rejected a frame");
    assert_string_equal(s_str(o, "reason"), "BAD_SIGNATURE");
    assert_true(json_is_integer(json_object_get(o, "n")));
    assert_int_equal(json_integer_value(json_object_get(o, "n")), 42);
    assert_int_equal(json_integer_value(json_object_get(o, "neg")), -4);
    assert_string_equal(s_str(o, "ratio"), "1.5"); /* not clearly an integer: a string */
    assert_string_equal(s_str(o, "code"), "007");
    assert_string_equal(s_str(o, "empty"), "");
    assert_string_equal(s_str(o, "id"), "MN-00000042");
    /* the members come in the order of the line */
    const char *keys[] = {"time", "level", "component", "msg", "reason", "n"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (i < sizeof keys / sizeof keys[0])
            assert_string_equal(key, keys[i]);
        i++;
    }
    json_decref(o);
    free(text);
}

static void test_json_quoted_round_trip(void **state)
{
    (void)state;
    const char *original = "two words, \"quoted\" and a \\ back\\slash\tand \xc3\xa9 and\nnewline";
    char quoted[256];
    mn_log_quote(original, quoted, sizeof quoted);
    mn_log_set_format(MN_LOG_JSON);
    s_capture_start();
    log_info("deliver", "nack partner=police reason=\"%s\" attempts=2", quoted);
    char *text = s_capture_end();
    mn_log_set_format(MN_LOG_TEXT);
    json_t *o = s_one_json(text);
    assert_string_equal(s_str(o, "msg"), "nack");
    assert_string_equal(s_str(o, "partner"), "police");
    assert_string_equal(s_str(o, "reason"), original);
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 2);
    json_decref(o);
    free(text);
}

/* Whatever the text, the line is one valid JSON object. */
static void test_json_odd_text(void **state)
{
    (void)state;
    mn_log_set_format(MN_LOG_JSON);
    s_capture_start();
    log_err("odd", "bad \xff bytes k=\xfe\xfe msg=mine time=x level=y open=\"never closed \\");
    log_err("odd", "=x ==  k==v x=\"a\"tail 9=nine");
    log_err("", "%s", "");
    char *text = s_capture_end();
    mn_log_set_format(MN_LOG_TEXT);
    assert_int_equal(s_count_lines(text), 3);
    char *second = strchr(text, '\n') + 1;
    char *third = strchr(second, '\n') + 1;
    *(second - 1) = '\0';
    *(third - 1) = '\0';
    json_error_t err;
    json_t *a = json_loads(text, 0, &err);
    json_t *b = json_loads(second, 0, &err);
    json_t *c = json_loads(third, 0, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_equal(s_str(a, "msg"), "bad \\xff bytes");
    assert_string_equal(s_str(a, "k"), "\\xfe\\xfe");
    assert_string_equal(s_str(a, "msg_"), "mine"); /* a taken name gets a '_' */
    assert_string_equal(s_str(a, "time_"), "x");
    assert_string_equal(s_str(a, "level_"), "y");
    assert_string_equal(s_str(a, "level"), "err");
    assert_string_equal(s_str(a, "open"), "never closed \\");
    assert_string_equal(s_str(b, "k"), "=v");
    assert_string_equal(s_str(b, "x"), "a");
    assert_string_equal(s_str(b, "msg"), "=x == tail 9=nine");
    assert_string_equal(s_str(c, "msg"), "");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    free(text);
}

/* In both formats: per_minute lines let through, the rest counted and reported with the next
 * line of a new window. */
static void s_ratelimit(enum mn_log_format format)
{
    mn_log_limit lim = {0};
    mn_log_set_format(format);
    s_capture_start();
    for (int i = 0; i < 5; i++)
        mn_log_ratelimited(&lim, 2, MN_LOG_WARN, "zap", "refused peer=%d", i);
    lim.window_start_s -= 61; /* as if a minute went by */
    mn_log_ratelimited(&lim, 2, MN_LOG_WARN, "zap", "refused peer=%d", 5);
    char *text = s_capture_end();
    mn_log_set_format(MN_LOG_TEXT);
    assert_int_equal(s_count_lines(text), 3);
    const char *last = strrchr(text, '\n');
    while (last > text && last[-1] != '\n')
        last--;
    if (format == MN_LOG_TEXT) {
        assert_non_null(strstr(last, ": refused peer=5 suppressed=3\n"));
    } else {
        json_t *o = s_one_json(last);
        assert_int_equal(json_integer_value(json_object_get(o, "peer")), 5);
        assert_int_equal(json_integer_value(json_object_get(o, "suppressed")), 3);
        json_decref(o);
    }
    free(text);
}

static void test_ratelimit_both_formats(void **state)
{
    (void)state;
    s_ratelimit(MN_LOG_TEXT);
    s_ratelimit(MN_LOG_JSON);
}

/* --- a thread that must not wait for stderr ---------------------------------------------- */

#define S_FLOOD_LINES (MN_LOG_QUEUE_LINES + 500)
static atomic_int s_flood_done;

static void *s_flood(void *arg)
{
    (void)arg;
    mn_log_set_nonblocking();
    for (int i = 0; i < S_FLOOD_LINES; i++)
        log_warn("zap", "line n=%d", i);
    log_err("zap", "an error after the flood"); /* a place is kept for it */
    atomic_store(&s_flood_done, 1);
    return NULL;
}

/* Read the pipe until `text` has come out (at most 10 s); what was read is kept in buf, without
 * the '#' bytes that filled the pipe. */
static int s_read_until(int fd, char *buf, size_t cap, size_t *len, const char *text)
{
    for (int i = 0; i < 1000 && !strstr(buf, text); i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0)
            return 0;
        for (ssize_t k = 0; k < n && *len + 1 < cap; k++)
            if (chunk[k] != '#')
                buf[(*len)++] = chunk[k];
        buf[*len] = '\0';
    }
    return strstr(buf, text) != NULL;
}

static void test_nonblocking_thread_never_waits(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* Fill the pipe, then make writes to it block again: a stderr nobody reads. */
    assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    char junk[4096];
    memset(junk, '#', sizeof junk);
    while (write(p[1], junk, sizeof junk) > 0)
        ;
    assert_int_equal(fcntl(p[1], F_SETFL, 0), 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);

    unsigned long long dropped_before = mn_log_dropped();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_flood, NULL), 0);
    for (int i = 0; i < 1000 && !atomic_load(&s_flood_done); i++)
        poll(NULL, 0, 10);
    int done = atomic_load(&s_flood_done);
    unsigned long long dropped = mn_log_dropped() - dropped_before;

    /* Somebody reads again: the queued lines come out, with a count of the dropped ones. */
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t len = 0;
    /* line 0 went to the log thread first (it waited in write), the note comes before line 1 */
    char last_line[64]; /* well inside what the queue holds for warnings */
    snprintf(last_line, sizeof last_line, " warn zap: line n=%d\n",
             MN_LOG_QUEUE_LINES - MN_LOG_QUEUE_ERR_RESERVE - 24);
    int last = s_read_until(p[0], buf, 1 << 20, &len, last_line);
    int error = s_read_until(p[0], buf, 1 << 20, &len, " err zap: an error after the flood\n");
    char *note_at = strstr(buf, " warn log: lines dropped, stderr was not read in time dropped=");
    char *first_at = strstr(buf, " warn zap: line n=1\n");
    int note = note_at != NULL, first = first_at != NULL && note_at < first_at;
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    if (done)
        pthread_join(t, NULL);
    close(p[0]);
    free(buf);
    assert_true(done); /* it ran to its end with stderr stalled */
    /* warnings: the queue less the places kept for errors */
    unsigned long long room = MN_LOG_QUEUE_LINES - MN_LOG_QUEUE_ERR_RESERVE;
    assert_true(dropped >= S_FLOOD_LINES - room - 1);
    assert_true(dropped <= S_FLOOD_LINES - room);
    assert_true(note);
    assert_true(first);
    assert_true(last);
    assert_true(error); /* warnings filled the queue; the error still came out */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_cuts_whole_escapes),
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_text_unchanged),
        cmocka_unit_test(test_json_line_has_fields),
        cmocka_unit_test(test_json_quoted_round_trip),
        cmocka_unit_test(test_json_odd_text),
        cmocka_unit_test(test_ratelimit_both_formats),
        cmocka_unit_test(test_nonblocking_thread_never_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
