/* mn_log.h - one-line structured logging to stderr: "time level component: message key=value".
 *
 * Never log keys, payloads or report fields. Warnings a peer can cause go through
 * mn_log_ratelimited() so a hostile peer cannot flood the log, and text a peer wrote goes
 * through mn_log_quote() so it can neither break the line nor drive the terminal.
 *
 * Two formats (mn_log_set_format). Text, the default:
 *   2024-05-01T10:00:00.123Z warn ingest: reject reason=BAD_SIGNATURE agent="a b"
 * JSON, one object per line, for log collectors:
 *   {"time":"2024-05-01T10:00:00.123Z","level":"warn","component":"ingest","msg":"reject",
 *    "reason":"BAD_SIGNATURE","agent":"a b"}
 * The JSON line is made from the same formatted text: "msg" is the words before the first
 * key=value; each key=value (key: a letter or '_', then letters, digits, '_', '.', '-') becomes
 * a member. A quoted value is unquoted (mn_log_quote's \" \\ \xNN undone) and is always a
 * string; a bare value is an integer when it is one (an optional '-', digits without a leading
 * zero, at most 18 of them), else a string ("1.5", "0x10", "007" stay strings). Words that are
 * not key=value after the first field are appended to "msg". A key that is taken ("time",
 * "level", "component", "msg", or the same key twice) gets a '_' appended. Bytes that are not
 * UTF-8 are written as \xNN text. The line is built and escaped by jansson and written whole:
 * never a partial or invalid line.
 */
#ifndef MN_LOG_H
#define MN_LOG_H

#include <stddef.h>

#include "mn_error.h"

enum mn_log_level { MN_LOG_ERR = 0, MN_LOG_WARN, MN_LOG_NOTICE, MN_LOG_INFO, MN_LOG_DEBUG };

/* Messages above `level` are dropped. Default MN_LOG_INFO. Thread-safe to call at start-up. */
void mn_log_set_level(enum mn_log_level level);

/* Whether messages of `level` are written: to skip preparing a line that would be dropped. */
int mn_log_enabled(enum mn_log_level level);

/* Parse "err|warn|notice|info|debug". Returns MN_OK or MN_EINVAL. */
MN_NODISCARD int mn_log_parse_level(const char *name, enum mn_log_level *out);

enum mn_log_format { MN_LOG_TEXT = 0, MN_LOG_JSON };

/* The format of every later line. Default MN_LOG_TEXT. Call at start-up, like set_level. */
void mn_log_set_format(enum mn_log_format format);

/* Parse "text" or "json". Returns MN_OK, or MN_EINVAL (out unchanged). */
MN_NODISCARD int mn_log_parse_format(const char *text, enum mn_log_format *out);

/* From now on this thread never waits for stderr: its lines are handed to a log thread (started
 * on first use) through a queue of at most MN_LOG_QUEUE_LINES lines, and written by it in
 * order. When the queue is full (stderr stalled: a pipe nobody reads) a line is dropped and
 * counted; the next line written says how many with dropped=N (MN_LOG_QUEUE_ERR_RESERVE places
 * are kept for errors). For the threads that must keep serving whatever the log does: the ZAP handler, the socket monitors, the HTTP endpoint. At
 * exit, queued lines are written for at most MN_LOG_EXIT_WAIT_MS. Lines of one thread keep
 * their order; lines of a queued thread and of a writing one may come out of order (their
 * time stamps say which came first). */
#define MN_LOG_QUEUE_LINES 1024
/* Places kept for errors: a flood of warnings never crowds out the line an operator must act
 * on (an acute referral on hold, a store that fails). */
#define MN_LOG_QUEUE_ERR_RESERVE 64
#define MN_LOG_EXIT_WAIT_MS 1000
void mn_log_set_nonblocking(void);

/* Lines dropped so far because the queue was full. */
unsigned long long mn_log_dropped(void);

void mn_log(enum mn_log_level level, const char *component, const char *fmt, ...) MN_PRINTF(3, 4);

/* Rate-limited log for events a peer can cause: at most `per_minute` lines per key (a static
 * counter the caller owns); the suppressed count is reported with the next line let through. */
typedef struct mn_log_limit {
    long window_start_s;
    unsigned in_window;
    unsigned suppressed;
} mn_log_limit;
void mn_log_ratelimited(mn_log_limit *lim, unsigned per_minute, enum mn_log_level level,
                        const char *component, const char *fmt, ...) MN_PRINTF(5, 6);

/* Copy text that came from the network into out (cap bytes) fit to print between double quotes
 * in a log line or a status line: '"' and '\' escaped, control and non-ASCII bytes as \xNN, cut
 * to fit. text may be NULL (""). */
void mn_log_quote(const char *text, char *out, size_t cap);

#define log_err(c, ...) mn_log(MN_LOG_ERR, c, __VA_ARGS__)
#define log_warn(c, ...) mn_log(MN_LOG_WARN, c, __VA_ARGS__)
#define log_notice(c, ...) mn_log(MN_LOG_NOTICE, c, __VA_ARGS__)
#define log_info(c, ...) mn_log(MN_LOG_INFO, c, __VA_ARGS__)
#define log_debug(c, ...) mn_log(MN_LOG_DEBUG, c, __VA_ARGS__)

#endif
