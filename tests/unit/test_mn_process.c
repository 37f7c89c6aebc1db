/* test_mn_process.c - unit tests for mn_process: after hardening, no core files and not
 * dumpable (so no ptrace and no /proc/PID/mem for others). Each case runs in a child process,
 * so the test binary itself stays debuggable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mn_process.h"

/* Exit codes of the child: which check failed. */
enum {
    S_CHILD_OK = 0,
    S_HARDEN_FAILED = 10,
    S_STILL_DUMPABLE,
    S_CORE_SOFT,
    S_CORE_HARD,
    S_CORE_RAISED
};

static int s_child(int use_main)
{
    mn_diag d;
    mn_diag_clear(&d);
    if ((use_main ? mn_process_harden_main("test") : mn_process_harden(&d)) != 0)
        return S_HARDEN_FAILED;
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        return S_STILL_DUMPABLE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0)
        return S_CORE_SOFT;
    if (rl.rlim_max != 0)
        return S_CORE_HARD;
    /* An unprivileged process cannot raise the hard limit again; as root it could, which is
     * why the check above looks at rlim_max rather than trying. */
    if (geteuid() != 0) {
        struct rlimit up = {.rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY};
        if (setrlimit(RLIMIT_CORE, &up) == 0)
            return S_CORE_RAISED;
    }
    return S_CHILD_OK;
}

static int s_run_in_child(int use_main)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(s_child(use_main));
    assert_true(pid > 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_harden_disables_core_and_dumpable(void **state)
{
    (void)state;
    /* Precondition, so the test means something: a fresh process is dumpable. */
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    assert_int_equal(s_run_in_child(0), S_CHILD_OK);
}

static void test_harden_main_form(void **state)
{
    (void)state;
    assert_int_equal(s_run_in_child(1), S_CHILD_OK);
}

static void test_harden_twice_is_harmless(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        mn_diag d;
        mn_diag_clear(&d);
        if (mn_process_harden(&d) != MN_OK)
            _exit(S_HARDEN_FAILED);
        _exit(s_child(0));
    }
    assert_true(pid > 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), S_CHILD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harden_disables_core_and_dumpable),
        cmocka_unit_test(test_harden_main_form),
        cmocka_unit_test(test_harden_twice_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
