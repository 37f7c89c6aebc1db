/* ctl_queue.h - meldnetctl queue and hold: the partner queues and what is held back.
 *
 *   queue list      per partner: items waiting, age of the oldest, items held
 *   hold list       unrouted topics and held items
 *   hold release    held items back to their partner's queue, or an unrouted topic routed
 *                   again (with the registry's key: ctl_registry)
 *
 * The lists open the store read-only and are safe while the gateway runs; a release writes one
 * short transaction (LMDB serialises it with the gateway's writer).
 */
#ifndef CTL_QUEUE_H
#define CTL_QUEUE_H

/* `meldnetctl queue list ...` (argv[0] is the group's label, argv[1] the subcommand). Returns
 * the exit status: 0 success, 1 failure, 2 usage error. */
int ctl_cmd_queue(int argc, char **argv);

/* `meldnetctl hold list|release ...`, as ctl_cmd_queue. */
int ctl_cmd_hold(int argc, char **argv);

#endif
