/* ctl_status.h - run/status.json for meldnetctl: read it, ages, and the status screen.
 *
 * What `meldnetctl status`, `queues` and `agents` (ctl_watch.c) and `top` (ctl_top.c) share.
 * Nothing here opens the store or prints to stdout; ctl_status_warn_stale writes to stderr.
 *
 * Ages are measured from the current clock while the gateway runs, and from the moment it wrote
 * the file when it has stopped (ctl_status_ref_ms), so a stopped gateway's queues do not seem
 * to grow older.
 */
#ifndef CTL_STATUS_H
#define CTL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_snapshot.h"

/* Read and parse the status file at path into *s, with every string made printable ASCII (a
 * damaged file cannot drive the terminal). *s is overwritten; the caller clears it
 * (gw_snapshot_clear) either way. Returns 0, or 1 (the exit status) with msg (truncated to cap)
 * saying what went wrong and what to do: no file (the gateway is not running), too large, not
 * readable, or not a status file (gw_snapshot_parse's complaint). */
int ctl_status_load(const char *path, gw_snapshot *s, char *msg, size_t cap);

/* 1 when s is of a running gateway (state "running"), else 0. */
int ctl_status_is_running(const gw_snapshot *s);

/* The "now" ages are measured from: now (ms since the epoch) while the gateway runs, else the
 * time it wrote the file (now when the file does not say). */
uint64_t ctl_status_ref_ms(const gw_snapshot *s, uint64_t now);

/* ref - then in ms, or 0 when then is later. */
uint64_t ctl_status_since(uint64_t ref, uint64_t then);

/* The age of `then` at `ref` ("12s", "5m03s", "2h10m", "3d04h"), or "-" when then is 0 (none),
 * into buf (truncated to cap). */
void ctl_status_age(uint64_t ref, uint64_t then, char *buf, size_t cap);

/* ms since the epoch as "2024-05-01T10:00:00Z" (UTC), or "-" for 0, into buf. */
void ctl_status_iso(uint64_t ms, char *buf, size_t cap);

/* 1 when agent a is silent at ref: not revoked, and no frame for more than silent_after_s
 * seconds, or none since the gateway started; else 0. */
int ctl_status_is_silent(const gw_snap_agent *a, uint64_t ref, unsigned silent_after_s);

/* When a running gateway wrote the file more than 5 s before now: a warning that says so into
 * buf (truncated to cap), and 1; else 0. */
int ctl_status_stale(const gw_snapshot *s, uint64_t now, char *buf, size_t cap);

/* ctl_status_stale's warning on stderr ("meldnetctl: warning: ... (pid N)"), when there is one. */
void ctl_status_warn_stale(const gw_snapshot *s, uint64_t now);

/* The width of the partner name column: the longest name, at least 7 ("PARTNER"). */
size_t ctl_status_partner_width(const gw_snapshot *s);

/* The status screen: lines of text (NUL-terminated; longer ones cut at
 * CTL_STATUS_LINE_CHARS - 1), loud ones to stand out (a warning). */
#define CTL_STATUS_LINES 96
#define CTL_STATUS_LINE_CHARS 320
typedef struct ctl_status_screen {
    char line[CTL_STATUS_LINES][CTL_STATUS_LINE_CHARS];
    int loud[CTL_STATUS_LINES]; /* to stand out: a warning */
    size_t n;
} ctl_status_screen;

/* Append the status screen of s to sc (about 24 lines of 80 columns): version, state, uptime,
 * readiness; the endpoints; the totals line ("accepted N  duplicates N  rejected N  in flight
 * ...", the counters of `counters` whose view is GW_VIEW_TOTALS) with the top reject reasons
 * and the refused handshakes by cause; rates over the last minute; the queues, at most
 * partner_lines partners (then a line saying how many more); the agents silent for
 * silent_after_s; storage; then the counters whose view is GW_VIEW_MORE, "name N", as many to a
 * line as fit in 80 columns. Lines past CTL_STATUS_LINES are dropped. now: ms since the epoch.
 * counters is borrowed: gw_snapshot_counters, or a caller's own table for s. */
void ctl_status_render(ctl_status_screen *sc, const gw_snapshot *s,
                       const gw_counter_table *counters, uint64_t now, unsigned silent_after_s,
                       size_t partner_lines);

#endif
