/* mn_time.h - clocks in milliseconds, and times and durations as text.
 *
 * Wall-clock times are ms since the Unix epoch (UTC): they go on the wire and on disk. The
 * monotonic clock is for intervals inside one process (timeouts, rates), never stored.
 */
#ifndef MN_TIME_H
#define MN_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch, and a monotonic clock in ms. */
uint64_t mn_now_ms(void);
uint64_t mn_mono_ms(void);

/* ms since the Unix epoch in UTC, as "2026-11-22T14:12:16.927Z" (mn_time_format_ms; a buf of
 * MN_TIME_TEXT_MAX bytes holds it) or "2026-11-22" (mn_time_format_day; 11 bytes) into buf.
 * Returns buf, or NULL (buf "") for a time past 9999-12-31. */
#define MN_TIME_TEXT_MAX 32
const char *mn_time_format_ms(uint64_t ms, char *buf, size_t cap);
const char *mn_time_format_day(uint64_t ms, char *buf, size_t cap);

/* A duration in ms as "45s", "12m03s", "5h02m" or "3d04h": two units at most, enough to judge
 * an age at a glance (queues, last seen, uptime). */
void mn_age_format(uint64_t ms, char *buf, size_t cap);

#endif
