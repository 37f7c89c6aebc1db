/* mn_time.c - clocks in milliseconds, and times and durations as text. */
#include "mn_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define S_LAST_SECOND_9999 253402300799ull /* 9999-12-31T23:59:59Z */

static uint64_t s_clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mn_now_ms(void)
{
    return s_clock_ms(CLOCK_REALTIME);
}

uint64_t mn_mono_ms(void)
{
    return s_clock_ms(CLOCK_MONOTONIC);
}

/* The ISO text of ms in UTC, with the time of day when `with_time`; NULL (buf "") past
 * 9999-12-31T23:59:59Z, where dates would get a fifth year digit. */
static const char *s_iso(uint64_t ms, int with_time, char *buf, size_t cap)
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (cap == 0)
        return NULL;
    buf[0] = '\0';
    if (ms / 1000 > S_LAST_SECOND_9999 || !gmtime_r(&secs, &tm))
        return NULL;
    if (with_time)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    else
        snprintf(buf, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

const char *mn_time_format_ms(uint64_t ms, char *buf, size_t cap)
{
    return s_iso(ms, 1, buf, cap);
}

const char *mn_time_format_day(uint64_t ms, char *buf, size_t cap)
{
    return s_iso(ms, 0, buf, cap);
}

void mn_age_format(uint64_t ms, char *buf, size_t cap)
{
    uint64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, cap, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}
