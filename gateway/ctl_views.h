/* ctl_views.h - meldnetctl status, top, queues and agents: the command lines of the views
 * of a running gateway. The views themselves (reading run/status.json) are ctl_watch's.
 */
#ifndef CTL_VIEWS_H
#define CTL_VIEWS_H

/* `meldnetctl status [--json] [--silent-after S] [--home DIR]` (argv[0] is the command's
 * label). Each returns the exit status: 0 success, 1 failure, 2 usage error. */
int ctl_cmd_status(int argc, char **argv);

/* `meldnetctl top [--interval MS] [--home DIR]`: the live view; --json is a usage error. */
int ctl_cmd_top(int argc, char **argv);

/* `meldnetctl queues [--json] [--home DIR]`. */
int ctl_cmd_queues(int argc, char **argv);

/* `meldnetctl agents [--json] [--silent-after S] [--home DIR]`. */
int ctl_cmd_agents(int argc, char **argv);

#endif
