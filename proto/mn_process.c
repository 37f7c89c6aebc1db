/* mn_process.c - no core files and no ptrace by others (see mn_process.h for why). */
#include "mn_process.h"

#include <sys/prctl.h>
#include <sys/resource.h>

int mn_process_harden(mn_diag *d)
{
    /* Hard limit too: otherwise any code in the process (or a child) could raise it back. */
    struct rlimit none = {.rlim_cur = 0, .rlim_max = 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        int rc = mn_diag_sys(d, "RLIMIT_CORE", "cannot disable core dumps");
        mn_diag_hint(d, "the program refuses to run where a crash could write its secret keys "
                        "to a core file; report this to whoever maintains the machine");
        return rc;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        int rc = mn_diag_sys(d, "PR_SET_DUMPABLE",
                             "cannot forbid other processes to read "
                             "this one's memory");
        mn_diag_hint(d, "the program refuses to run where others could read its secret keys "
                        "from memory; report this to whoever maintains the machine");
        return rc;
    }
    return MN_OK;
}

int mn_process_harden_main(const char *prog)
{
    mn_diag d;
    mn_diag_clear(&d);
    if (mn_process_harden(&d) == MN_OK)
        return 0;
    mn_diag_print(prog, &d);
    return 1;
}
