/* ctl_watch.h - meldnetctl's views of a running gateway: status, queues, agents, top.
 *
 * Every view reads <run_dir>/status.json (ctl_status_load), which the gateway rewrites once a
 * second; none opens the store, so they are safe and cheap while the gateway runs. Results go
 * to stdout, notes and warnings to stderr. Each returns the exit status: 0 success, 1 failure
 * (a message on stderr says what to do); usage errors (2) are the caller's. status, queues and
 * agents are in ctl_watch.c, top in ctl_top.c (the one file that uses ncursesw).
 *
 * Ages are measured from the current clock while the gateway runs, and from the moment it wrote
 * the file when it has stopped (so a stopped gateway's queues do not seem to grow older).
 */
#ifndef CTL_WATCH_H
#define CTL_WATCH_H

#include "gw_config.h"

/* --silent-after default: an agent that sent nothing for 15 minutes is silent. */
#define CTL_WATCH_SILENT_AFTER_S 900
/* top's default refresh interval. */
#define CTL_WATCH_INTERVAL_MS 1000

/* One screen (about 24 lines of 80 columns): version, state, uptime, readiness, totals with the
 * top reject reasons and refusal causes, rates over the last minute, in flight, queues per
 * partner, silent agents (no frame for silent_after_s, or none since start), storage. Warns on
 * stderr when a running gateway's file is more than 5 s old. json: print the status as JSON
 * instead (parsed and re-serialised, so it is known to be complete). */
int ctl_watch_status(const char *status_path, int json, unsigned silent_after_s);

/* Per partner: kind, connected, depth, oldest age, held, deliveries, redeliveries, acks, nacks;
 * then unrouted and held totals. json: {"partners": [...], "unrouted": N, "held_total": N}. */
int ctl_watch_queues(const char *status_path, int json);

/* Every agent of cfg (name, region, key fingerprint, revoked) with what the status file knows
 * of it (connected, last seen, accepted, duplicates, rejected, silent). Works without a running
 * gateway: the live columns then show "-" and a note on stderr says why. Agents the file knows
 * but cfg does not (removed, not yet reloaded) are listed too. json: an array of objects; live
 * fields are null when unknown. cfg is borrowed. */
int ctl_watch_agents(const char *status_path, const gw_config *cfg, int json,
                     unsigned silent_after_s);

/* A live full-screen view (ncursesw), re-read every interval_ms (0: CTL_WATCH_INTERVAL_MS):
 * header, counters (a line "accepted N ..."), rates, queues, silent agents. 'q' quits; Ctrl-C
 * and SIGTERM restore the terminal and quit. A missing or unreadable file shows a message and
 * is retried. Needs a terminal on stdin and stdout: otherwise says to use `meldnetctl status`
 * and returns 1. */
int ctl_watch_top(const char *status_path, unsigned interval_ms);

/* The help texts of the four commands, in the style of meldnetctl's others. */
extern const char ctl_watch_usage_status[];
extern const char ctl_watch_usage_top[];
extern const char ctl_watch_usage_queues[];
extern const char ctl_watch_usage_agents[];

#endif
