/* mn_log.c - logging to stderr, one line per event, with a mutex so threads do not interleave.
 *
 * A JSON line is built before the lock is taken (formatting, splitting key=value, jansson) and
 * written with one fwrite under it, newline included, so a slow formatter never holds up other
 * threads and a line is never split. The rules that turn text into members are in mn_log.h.
 *
 * Threads that must never wait for stderr (mn_log_set_nonblocking) build the whole line and
 * put it on a bounded queue; one detached log thread writes the queue in order. Nothing such a
 * thread does takes s_lock, which a writing thread holds while stderr blocks: the rate limits
 * have a lock of their own (s_limit_lock), and the queue too (s_qlock), held only to move a
 * pointer.
 */
#include "mn_log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum mn_log_level s_level = MN_LOG_INFO;
static enum mn_log_format s_format = MN_LOG_TEXT;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;       /* held while writing */
static pthread_mutex_t s_limit_lock = PTHREAD_MUTEX_INITIALIZER; /* mn_log_limit counters */

/* The queue of lines from non-blocking threads (see the top); all under s_qlock. */
static _Thread_local int s_nonblocking;
static pthread_mutex_t s_qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_qcond = PTHREAD_COND_INITIALIZER; /* a line was queued */
static pthread_cond_t s_qidle = PTHREAD_COND_INITIALIZER; /* the queue was written out */
static char *s_queue[MN_LOG_QUEUE_LINES];
static size_t s_qhead, s_qcount;
static int s_qwriting;                /* the log thread holds a line it has not written yet */
static unsigned long long s_qdropped; /* since the last line written */
static atomic_ullong s_dropped_total;
static pthread_once_t s_qonce = PTHREAD_ONCE_INIT;
static int s_qthread_ok;
static const char *const s_names[] = {"err", "warn", "notice", "info", "debug"};

/* Members every JSON line has; a field of the same name is renamed (mn_log.h). */
static const char *const s_reserved[] = {"time", "level", "component", "msg"};

void mn_log_set_level(enum mn_log_level level)
{
    s_level = level;
}

int mn_log_enabled(enum mn_log_level level)
{
    return level <= s_level;
}

int mn_log_parse_level(const char *name, enum mn_log_level *out)
{
    for (int i = 0; i <= MN_LOG_DEBUG; i++) {
        if (name && strcmp(name, s_names[i]) == 0) {
            *out = (enum mn_log_level)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

void mn_log_set_format(enum mn_log_format format)
{
    s_format = format;
}

int mn_log_parse_format(const char *text, enum mn_log_format *out)
{
    if (text && strcmp(text, "text") == 0)
        *out = MN_LOG_TEXT;
    else if (text && strcmp(text, "json") == 0)
        *out = MN_LOG_JSON;
    else
        return MN_EINVAL;
    return MN_OK;
}

/* --- values ----------------------------------------------------------------------------- */

/* n bytes of p as a JSON string; bytes that are not UTF-8 become "\xNN" text, so a line is
 * never lost to one bad byte. NULL: no memory. */
static json_t *s_jstr(const char *p, size_t n)
{
    json_t *v = json_stringn(p, n); /* NULL when not UTF-8 */
    if (v)
        return v;
    char *esc = malloc(n * 4 + 1);
    size_t o = 0;
    if (!esc)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80)
            o += (size_t)snprintf(esc + o, 5, "\\x%02x", c);
        else
            esc[o++] = (char)c;
    }
    v = json_stringn(esc, o);
    free(esc);
    return v;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undo mn_log_quote on the n bytes of q (between the quotes) into out (n + 1 bytes); unknown
 * escapes stay as written. Returns the decoded length. */
static size_t s_unquote(const char *q, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '\\' && i + 1 < n && (q[i + 1] == '"' || q[i + 1] == '\\')) {
            out[o++] = q[++i];
        } else if (q[i] == '\\' && i + 3 < n && q[i + 1] == 'x' && s_hex(q[i + 2]) >= 0 &&
                   s_hex(q[i + 3]) >= 0) {
            out[o++] = (char)(s_hex(q[i + 2]) * 16 + s_hex(q[i + 3]));
            i += 3;
        } else {
            out[o++] = q[i];
        }
    }
    out[o] = '\0';
    return o;
}

/* A quoted value: the decoded text when it is UTF-8 without NUL, else the text as quoted. */
static json_t *s_jquoted(const char *q, size_t n)
{
    char *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    size_t len = s_unquote(q, n, buf);
    json_t *v = memchr(buf, '\0', len) ? NULL : json_stringn(buf, len);
    free(buf);
    return v ? v : s_jstr(q, n);
}

/* A bare value: an integer when it plainly is one ("-12", "0"; not "007", "-0", "1.5", or
 * more than 18 digits, which might not fit), else a string. */
static json_t *s_jbare(const char *p, size_t n)
{
    size_t sign = n > 0 && p[0] == '-' ? 1 : 0, digits = n - sign;
    int integer = digits >= 1 && digits <= 18 && (p[sign] != '0' || (digits == 1 && !sign));
    for (size_t i = sign; integer && i < n; i++)
        integer = p[i] >= '0' && p[i] <= '9';
    return integer ? json_integer(strtoll(p, NULL, 10)) : s_jstr(p, n);
}

/* --- splitting a line ------------------------------------------------------------------- */

static int s_is_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int s_is_key_char(char c)
{
    return s_is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Length of the key when a "key=value" token starts at p, else 0. */
static size_t s_key_len(const char *p)
{
    size_t n = 0;
    if (!s_is_key_start(p[0]))
        return 0;
    while (s_is_key_char(p[n]))
        n++;
    return p[n] == '=' ? n : 0;
}

/* The closing quote of a value whose text starts at q (after the opening one), or its end. */
static const char *s_quoted_end(const char *q)
{
    while (*q && *q != '"')
        q += q[0] == '\\' && q[1] ? 2 : 1;
    return q;
}

static int s_name_taken(const json_t *fields, const char *name)
{
    for (size_t i = 0; i < sizeof s_reserved / sizeof s_reserved[0]; i++)
        if (strcmp(name, s_reserved[i]) == 0)
            return 1;
    return json_object_get(fields, name) != NULL;
}

/* fields[key] = v (takes v), with '_' appended while the name is taken. -1: no memory. */
static int s_add_field(json_t *fields, const char *key, size_t n, json_t *v)
{
    char name[72];
    if (!v)
        return -1;
    if (n > sizeof name - 9) /* room for the '_'s */
        n = sizeof name - 9;
    memcpy(name, key, n);
    name[n] = '\0';
    for (int i = 0; i < 8 && s_name_taken(fields, name); i++)
        strcat(name, "_");
    return json_object_set_new(fields, name, v);
}

/* Append n bytes of word to msg (room for the whole text), a space between words. */
static void s_msg_append(char *msg, const char *word, size_t n)
{
    size_t len = strlen(msg);
    if (len)
        msg[len++] = ' ';
    memcpy(msg + len, word, n);
    msg[len + n] = '\0';
}

/* Parse the key=value token at p (klen: its key's length) into fields. Returns the end of the
 * token, or NULL when memory ran out. */
static const char *s_take_field(const char *p, size_t klen, json_t *fields)
{
    const char *v = p + klen + 1, *end;
    json_t *val;
    if (*v == '"') {
        end = s_quoted_end(v + 1);
        val = s_jquoted(v + 1, (size_t)(end - v - 1));
        if (*end)
            end++; /* the closing quote */
    } else {
        end = v + strcspn(v, " ");
        val = s_jbare(v, (size_t)(end - v));
    }
    return s_add_field(fields, p, klen, val) == 0 ? end : NULL;
}

/* Split text into message words (into msg, strlen(text) + 1 bytes) and fields. -1: no
 * memory. */
static int s_split(const char *text, char *msg, json_t *fields)
{
    const char *p = text;
    msg[0] = '\0';
    while (*p) {
        p += strspn(p, " ");
        if (!*p)
            break;
        size_t klen = s_key_len(p);
        if (klen) {
            p = s_take_field(p, klen, fields);
            if (!p)
                return -1;
        } else {
            size_t n = strcspn(p, " ");
            s_msg_append(msg, p, n);
            p += n;
        }
    }
    return 0;
}

/* --- lines ------------------------------------------------------------------------------ */

/* fmt formatted, then suffix. Caller frees. NULL: no memory. */
static char *s_vformat(const char *suffix, const char *fmt, va_list ap) MN_PRINTF(2, 0);

static char *s_vformat(const char *suffix, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    size_t extra = suffix ? strlen(suffix) : 0;
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *text = n >= 0 ? malloc((size_t)n + extra + 1) : NULL;
    if (text) {
        vsnprintf(text, (size_t)n + 1, fmt, again);
        memcpy(text + n, suffix ? suffix : "", extra + 1);
    }
    va_end(again);
    return text;
}

/* The JSON object of one line, newline-terminated. Caller frees. NULL: no memory. */
static char *s_json_line(const char *stamp, enum mn_log_level level, const char *component,
                         const char *text)
{
    char *line = NULL, *msg = malloc(strlen(text) + 1);
    json_t *root = json_object(), *fields = json_object();
    if (!msg || !root || !fields || s_split(text, msg, fields) != 0)
        goto out;
    if (json_object_set_new(root, "time", json_string(stamp)) != 0 ||
        json_object_set_new(root, "level", json_string(s_names[level])) != 0 ||
        json_object_set_new(root, "component", s_jstr(component, strlen(component))) != 0 ||
        json_object_set_new(root, "msg", s_jstr(msg, strlen(msg))) != 0 ||
        json_object_update(root, fields) != 0) /* in order: jansson keeps insertion order */
        goto out;
    char *dump = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len = dump ? strlen(dump) : 0;
    line = dump ? realloc(dump, len + 2) : NULL;
    if (!line) {
        free(dump);
        goto out;
    }
    memcpy(line + len, "\n", 2);
out:
    json_decref(fields);
    json_decref(root);
    free(msg);
    return line;
}

/* Write a JSON line; when memory ran out, a fixed line that says so (never half a line). */
static void s_vlog_json(const char *stamp, enum mn_log_level level, const char *component,
                        const char *suffix, const char *fmt, va_list ap) MN_PRINTF(5, 0);

static void s_vlog_json(const char *stamp, enum mn_log_level level, const char *component,
                        const char *suffix, const char *fmt, va_list ap)
{
    char lost[160];
    char *text = s_vformat(suffix, fmt, ap);
    char *line = text ? s_json_line(stamp, level, component, text) : NULL;
    if (!line) /* stamp and level names are plain ASCII: safe to print as they are */
        snprintf(lost, sizeof lost,
                 "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"log\","
                 "\"msg\":\"a log line was lost: out of memory\"}\n",
                 stamp, s_names[level]);
    const char *out = line ? line : lost;
    pthread_mutex_lock(&s_lock);
    fwrite(out, 1, strlen(out), stderr);
    fflush(stderr);
    pthread_mutex_unlock(&s_lock);
    free(line);
    free(text);
}

/* --- the queue of non-blocking threads --------------------------------------------------- */

/* One whole line (newline included) in the current format. Caller frees. NULL: no memory. */
static char *s_build_line(const char *stamp, long nsec, enum mn_log_level level,
                          const char *component, const char *suffix, const char *fmt, va_list ap)
    MN_PRINTF(6, 0);

static char *s_build_line(const char *stamp, long nsec, enum mn_log_level level,
                          const char *component, const char *suffix, const char *fmt, va_list ap)
{
    char full[48], *text = s_vformat(suffix, fmt, ap), *line = NULL;
    snprintf(full, sizeof full, "%s.%03uZ", stamp, (unsigned)(nsec / 1000000) % 1000u);
    if (!text)
        return NULL;
    if (s_format == MN_LOG_JSON) {
        line = s_json_line(full, level, component, text);
    } else {
        size_t n = strlen(full) + strlen(s_names[level]) + strlen(component) + strlen(text) + 8;
        line = malloc(n);
        if (line)
            snprintf(line, n, "%s %s %s: %s\n", full, s_names[level], component, text);
    }
    free(text);
    return line;
}

/* A line made now from fmt, in the current format. Caller frees. NULL: no memory. */
static char *s_build_now(enum mn_log_level level, const char *component, const char *fmt, ...)
    MN_PRINTF(3, 4);

static char *s_build_now(enum mn_log_level level, const char *component, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    char *line = s_build_line(stamp, ts.tv_nsec, level, component, NULL, fmt, ap);
    va_end(ap);
    return line;
}

static void s_write_line(const char *line)
{
    pthread_mutex_lock(&s_lock);
    fwrite(line, 1, strlen(line), stderr);
    fflush(stderr);
    pthread_mutex_unlock(&s_lock);
}

/* The log thread: write the queue in order; say how many lines were dropped before the next
 * one. It never ends (detached); at exit, s_at_exit waits a little for it. */
static void *s_writer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&s_qlock);
        while (s_qcount == 0) {
            s_qwriting = 0;
            pthread_cond_broadcast(&s_qidle);
            pthread_cond_wait(&s_qcond, &s_qlock);
        }
        char *line = s_queue[s_qhead];
        s_qhead = (s_qhead + 1) % MN_LOG_QUEUE_LINES;
        s_qcount--;
        s_qwriting = 1;
        unsigned long long dropped = s_qdropped;
        s_qdropped = 0;
        pthread_mutex_unlock(&s_qlock);
        if (dropped) {
            char *note = s_build_now(MN_LOG_WARN, "log",
                                     "lines dropped, stderr was not read "
                                     "in time dropped=%llu",
                                     dropped);
            if (note)
                s_write_line(note);
            free(note);
        }
        s_write_line(line);
        free(line);
    }
    return NULL;
}

/* At exit: give the log thread MN_LOG_EXIT_WAIT_MS to write what is queued. */
static void s_at_exit(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += MN_LOG_EXIT_WAIT_MS / 1000;
    until.tv_nsec += (long)(MN_LOG_EXIT_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s_qlock);
    while ((s_qcount > 0 || s_qwriting) && pthread_cond_timedwait(&s_qidle, &s_qlock, &until) == 0)
        ;
    pthread_mutex_unlock(&s_qlock);
}

static void s_start_writer(void)
{
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
        pthread_create(&t, &attr, s_writer, NULL) == 0) {
        s_qthread_ok = 1;
        atexit(s_at_exit);
    }
    pthread_attr_destroy(&attr);
}

/* Queue a line (takes it); without room it is dropped and counted. Without a log thread (it
 * could not be started) the line is written here: blocking beats losing every line. */
static void s_enqueue(enum mn_log_level level, char *line)
{
    pthread_once(&s_qonce, s_start_writer);
    if (line && !s_qthread_ok) {
        s_write_line(line);
        free(line);
        return;
    }
    size_t room =
        level <= MN_LOG_ERR ? MN_LOG_QUEUE_LINES : MN_LOG_QUEUE_LINES - MN_LOG_QUEUE_ERR_RESERVE;
    pthread_mutex_lock(&s_qlock);
    if (line && s_qcount < room) {
        s_queue[(s_qhead + s_qcount) % MN_LOG_QUEUE_LINES] = line;
        s_qcount++;
        line = NULL;
        pthread_cond_signal(&s_qcond);
    } else {
        s_qdropped++;
        atomic_fetch_add(&s_dropped_total, 1);
    }
    pthread_mutex_unlock(&s_qlock);
    free(line);
}

void mn_log_set_nonblocking(void)
{
    s_nonblocking = 1;
}

unsigned long long mn_log_dropped(void)
{
    return atomic_load(&s_dropped_total);
}

static void s_vlog(enum mn_log_level level, const char *component, const char *suffix,
                   const char *fmt, va_list ap) MN_PRINTF(4, 0);

static void s_vlog(enum mn_log_level level, const char *component, const char *suffix,
                   const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32], full[48];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    if (s_nonblocking) {
        s_enqueue(level, s_build_line(stamp, ts.tv_nsec, level, component ? component : "", suffix,
                                      fmt, ap));
        return;
    }
    if (s_format == MN_LOG_JSON) {
        snprintf(full, sizeof full, "%s.%03uZ", stamp, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
        s_vlog_json(full, level, component ? component : "", suffix, fmt, ap);
        return;
    }
    pthread_mutex_lock(&s_lock);
    fprintf(stderr, "%s.%03ldZ %s %s: ", stamp, ts.tv_nsec / 1000000, s_names[level], component);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s\n", suffix ? suffix : "");
    fflush(stderr);
    pthread_mutex_unlock(&s_lock);
}

void mn_log(enum mn_log_level level, const char *component, const char *fmt, ...)
{
    if (level > s_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, component, NULL, fmt, ap);
    va_end(ap);
}

void mn_log_ratelimited(mn_log_limit *lim, unsigned per_minute, enum mn_log_level level,
                        const char *component, const char *fmt, ...)
{
    if (level > s_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&s_limit_lock);
    if (ts.tv_sec - lim->window_start_s >= 60) {
        lim->window_start_s = ts.tv_sec;
        lim->in_window = 0;
    }
    int let_through = lim->in_window < per_minute;
    unsigned suppressed = 0;
    if (let_through) {
        lim->in_window++;
        suppressed = lim->suppressed;
        lim->suppressed = 0;
    } else {
        lim->suppressed++;
    }
    pthread_mutex_unlock(&s_limit_lock);
    if (!let_through)
        return;
    char suffix[64] = "";
    if (suppressed)
        snprintf(suffix, sizeof suffix, " suppressed=%u", suppressed);
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, component, suffix, fmt, ap);
    va_end(ap);
}

void mn_log_quote(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        char buf[5];
        size_t n;
        if (*p == '"' || *p == '\\')
            n = (size_t)snprintf(buf, sizeof buf, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            n = (size_t)snprintf(buf, sizeof buf, "\\x%02x", *p);
        else
            n = (size_t)snprintf(buf, sizeof buf, "%c", *p);
        if (o + n >= cap)
            break;
        memcpy(out + o, buf, n);
        o += n;
    }
    out[o] = '\0';
}
