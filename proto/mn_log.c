/* mn_log.c - logging to stderr, one line per event, with a mutex so threads do not interleave. */
#include "mn_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum mn_log_level s_level = MN_LOG_INFO;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const s_names[] = {"err", "warn", "notice", "info", "debug"};

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

static void s_vlog(enum mn_log_level level, const char *component, const char *suffix,
                   const char *fmt, va_list ap) MN_PRINTF(4, 0);

static void s_vlog(enum mn_log_level level, const char *component, const char *suffix,
                   const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
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
    pthread_mutex_lock(&s_lock);
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
    pthread_mutex_unlock(&s_lock);
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
