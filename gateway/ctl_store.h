/* ctl_store.h - meldnetctl store: the store and the registration ledger (gw_ledger.h).
 *
 *   store status     what the ledger and the store say, and whether the gateway would start
 *   store continue   go on with the store that is in the data folder (a restored copy, or one
 *                    whose ledger is lost): numbering goes on after everything already given
 *   store new        start an empty store: numbering goes on after everything already given
 *
 * Both changes need the gateway stopped; they never lower a number and never delete a store.
 */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stdint.h>

#include "gw_config.h"

extern const char ctl_store_usage[];
extern const char ctl_store_usage_status[];
extern const char ctl_store_usage_continue[];
extern const char ctl_store_usage_new[];

/* `meldnetctl store status|continue|new ...` (argv[0] is the group's label, argv[1] the
 * subcommand): options and the home, then one of the functions below. Returns the exit status:
 * 0 success, 1 failure (said on stderr), 2 usage error. */
int ctl_cmd_store(int argc, char **argv);

/* Each prints what it found or did on stdout; errors go into d. after: numbering goes on after
 * at least this number too (0: only what the ledger and the store say). Returns 0 (done; for
 * status: the gateway would start), 1 (failed, d filled; for status: it would refuse, said on
 * stdout). */
int ctl_store_status(const gw_config *cfg, mn_diag *d);
int ctl_store_continue(const gw_config *cfg, uint64_t after, mn_diag *d);
int ctl_store_new(const gw_config *cfg, uint64_t after, mn_diag *d);

#endif
