/* ctl_reload.c - meldnetctl: SIGHUP the gateway that runs from a home, after a change. */
#include "ctl_reload.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define S_GATEWAY_COMM "meldnet-gateway"

/* True when /proc/PID/comm says the process is a meldnet-gateway (and so it lives). */
static int s_is_gateway(pid_t pid)
{
    char path[64], comm[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char *got = fgets(comm, sizeof comm, fp);
    fclose(fp);
    if (!got)
        return 0;
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, S_GATEWAY_COMM) == 0;
}

int ctl_reload_find(const char *run_dir, pid_t *pid, mn_diag *d)
{
    char path[4096];
    struct stat st;
    json_error_t err;
    json_t *root = NULL;
    int rc = MN_OK;

    *pid = 0;
    int pn = snprintf(path, sizeof path, "%s/status.json", run_dir);
    if (pn < 0 || (size_t)pn >= sizeof path) {
        rc = mn_diag_set(d, MN_EINVAL, run_dir, "the run folder path is too long");
        goto out;
    }
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            rc = mn_diag_sys(d, path, "cannot read the gateway's status");
        goto out; /* no status: the gateway has never run from this home */
    }
    root = json_load_file(path, 0, &err);
    if (!root || !json_is_object(root)) {
        rc = mn_diag_set(d, MN_EDECODE, path, "the gateway's status does not parse: %s",
                         root ? "not a JSON object" : err.text);
        goto out;
    }
    const char *state = json_string_value(json_object_get(root, "state"));
    json_t *jpid = json_object_get(root, "pid");
    if (!state || strcmp(state, "running") != 0)
        goto out;
    if (!json_is_integer(jpid) || json_integer_value(jpid) <= 1 ||
        json_integer_value(jpid) > (json_int_t)0x7fffffff) {
        rc = mn_diag_set(d, MN_EDECODE, path, "the gateway's status has no valid \"pid\"");
        goto out;
    }
    pid_t p = (pid_t)json_integer_value(jpid);
    if (s_is_gateway(p))
        *pid = p; /* else it stopped without saying so (killed): nobody to tell */
out:
    json_decref(root);
    return rc;
}

int ctl_reload_signal(const char *run_dir, pid_t *pid, mn_diag *d)
{
    int rc = ctl_reload_find(run_dir, pid, d);
    if (rc != MN_OK || *pid == 0)
        return rc;
    if (kill(*pid, SIGHUP) != 0) {
        if (errno == ESRCH) { /* it stopped between the look and the signal */
            *pid = 0;
            return MN_OK;
        }
        return mn_diag_sys(d, run_dir, "cannot signal the running gateway (pid %ld)", (long)*pid);
    }
    return MN_OK;
}

int ctl_reload_apply(const char *run_dir, const char *changed, mn_diag *d)
{
    pid_t pid = 0;
    int rc = ctl_reload_signal(run_dir, &pid, d);
    if (rc != MN_OK) {
        if (pid)
            mn_diag_hint(d,
                         "%s holds the change; run `kill -HUP %ld` as the gateway's user, or "
                         "restart the gateway, to apply it",
                         changed, (long)pid);
        else
            mn_diag_hint(d,
                         "%s holds the change; send the gateway SIGHUP (kill -HUP PID) or "
                         "restart it to apply it",
                         changed);
        return rc;
    }
    if (pid)
        printf("reloaded the running gateway (pid %ld)\n", (long)pid);
    else
        printf("the gateway is not running; it applies this at start\n");
    return MN_OK;
}
