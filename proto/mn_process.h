/* mn_process.h - process hardening for every program that holds secret keys or reports.
 *
 * A core file of the gateway held its CURVE secret key and fragments of reports; a debugger
 * attached by another local user could read the same from memory. mn_process_harden() closes
 * both: no core files (RLIMIT_CORE 0, soft and hard, so a child cannot raise it again) and the
 * process is not dumpable (PR_SET_DUMPABLE 0), which also makes /proc/PID/mem, environ and
 * friends root-owned and refuses ptrace attachment by anyone without CAP_SYS_PTRACE.
 *
 * Caveats: a non-dumpable process cannot be debugged by its own user either; to debug, run the
 * program under the debugger from the start as root. The setting survives exec only for
 * programs that do not reset it (a new exec of a non-setuid binary makes it dumpable again), so
 * children started with --exec do not inherit it: they hold only what they are given.
 */
#ifndef MN_PROCESS_H
#define MN_PROCESS_H

#include "mn_error.h"

/* Disable core dumps and ptrace attachment by others for this process. Call first thing in
 * main, before any secret is loaded. Returns MN_OK or MN_ESYS (d says which step failed). */
MN_NODISCARD int mn_process_harden(mn_diag *d);

/* For main(): mn_process_harden, and on failure print the diag as "prog: ..." on stderr.
 * Returns 0, or 1 (the exit status to return). One line in every main:
 *   if (mn_process_harden_main(PROG) != 0) return 1; */
MN_NODISCARD int mn_process_harden_main(const char *prog);

#endif
