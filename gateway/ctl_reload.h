/* ctl_reload.h - meldnetctl: apply a change of the gateway home to the running gateway.
 *
 * The running gateway writes run_dir/status.json (gw_stats_write) with its "pid" and "state".
 * When the state is "running" and /proc/PID/comm is "meldnet-gateway", that process is the
 * gateway of this home and a SIGHUP makes it reload its agents and partners (the gateway logs
 * whether the reload took). Otherwise no gateway runs from this home, and it reads the files
 * when it starts.
 *
 * Caveats: Linux only (/proc); the check trusts status.json to name this home's gateway (a
 * pid reused by another meldnet-gateway would get a harmless reload); sending the signal
 * needs the gateway's user (or root).
 */
#ifndef CTL_RELOAD_H
#define CTL_RELOAD_H

#include <sys/types.h>

#include "mn_error.h"

/* The pid of the gateway running from run_dir, into *pid; 0 when none runs (no status.json,
 * state not "running", or the pid is not a live meldnet-gateway). Returns MN_OK, or
 * MN_EDECODE when status.json exists but does not parse (the diag says where), MN_ESYS when it
 * cannot be read. */
MN_NODISCARD int ctl_reload_find(const char *run_dir, pid_t *pid, mn_diag *d);

/* Send SIGHUP to the gateway running from run_dir (ctl_reload_find). *pid gets the pid
 * signalled, 0 when none runs (then nothing is sent and MN_OK is returned). Returns MN_OK, or
 * MN_ESYS when kill() fails (EPERM: another user's process), or as ctl_reload_find. */
MN_NODISCARD int ctl_reload_signal(const char *run_dir, pid_t *pid, mn_diag *d);

/* For a command that changed the home: ctl_reload_signal, then print on stdout either
 * "reloaded the running gateway (pid N)" or "the gateway is not running; it applies this at
 * start". `changed` names what was written (a file), for the hint when the signal cannot be
 * sent. Returns MN_OK, or the error with the diag filled (the caller prints it; the change
 * itself is written either way). */
MN_NODISCARD int ctl_reload_apply(const char *run_dir, const char *changed, mn_diag *d);

#endif
