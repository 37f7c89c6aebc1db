/* ctl_views - meldnetctl status, top, queues and agents: options, then ctl_watch (see
 * ctl_views.h).
 */
#include "ctl_views.h"

#include <string.h>

#include "ctl_common.h"
#include "ctl_watch.h"
#include "gw_config.h"
#include "mn_cli.h"
#include "mn_error.h"

/* What the views share: --json, --home, and one number option (--silent-after, --interval);
 * the home's configuration and the status file's path. */
typedef struct s_view {
    int json;
    unsigned long number;
    gw_config *cfg;
    char status_path[GW_PATH_MAX];
} s_view;

/* Parse a view command's options (number_opt may be NULL: none). Returns CTL_GO_ON with *v
 * filled (caller destroys v->cfg), else the exit status. */
static int s_view_start(int *argc, char **argv, const char *cmd, const char *usage,
                        const char *number_opt, unsigned long number_default,
                        unsigned long number_max, s_view *v)
{
    const char *home = NULL, *number = NULL;
    ctl_opt opts[] = {{"home", &home}, {number_opt, &number}, {NULL, NULL}};
    mn_diag d = {0};
    memset(v, 0, sizeof *v);
    v->json = ctl_take_flag(argc, argv, "--json") > 0;
    v->number = number_default;
    int rc = ctl_options(*argc, argv, cmd, usage, opts, 0, NULL);
    if (rc != CTL_GO_ON)
        return rc;
    if (number && mn_cli_parse_uint(number, 1, number_max, &v->number) != MN_OK)
        return ctl_usage_error(cmd, "--%s \"%s\": give a whole number from 1 to %lu", number_opt,
                               number, number_max);
    if (ctl_load_config(ctl_home(home), &v->cfg, &d) != MN_OK ||
        ctl_path(v->status_path, sizeof v->status_path, v->cfg->run_dir, "status.json", &d) !=
            MN_OK) {
        gw_config_destroy(&v->cfg);
        return ctl_fail(&d);
    }
    return CTL_GO_ON;
}

int ctl_cmd_status(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "status", ctl_watch_usage_status, "silent-after",
                          CTL_WATCH_SILENT_AFTER_S, 365ul * 24 * 3600, &v);
    if (rc != CTL_GO_ON)
        return rc;
    rc = ctl_watch_status(v.status_path, v.json, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}

int ctl_cmd_top(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "top", ctl_watch_usage_top, "interval",
                          CTL_WATCH_INTERVAL_MS, 60000, &v);
    if (rc != CTL_GO_ON)
        return rc;
    if (v.json)
        rc = ctl_usage_error("top", "%s",
                             "top is a live view; for JSON use `meldnetctl status "
                             "--json`");
    else
        rc = ctl_watch_top(v.status_path, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}

int ctl_cmd_queues(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "queues", ctl_watch_usage_queues, NULL, 0, 0, &v);
    if (rc != CTL_GO_ON)
        return rc;
    rc = ctl_watch_queues(v.status_path, v.json);
    gw_config_destroy(&v.cfg);
    return rc;
}

int ctl_cmd_agents(int argc, char **argv)
{
    s_view v;
    int rc = s_view_start(&argc, argv, "agents", ctl_watch_usage_agents, "silent-after",
                          CTL_WATCH_SILENT_AFTER_S, 365ul * 24 * 3600, &v);
    if (rc != CTL_GO_ON)
        return rc;
    rc = ctl_watch_agents(v.status_path, v.cfg, v.json, (unsigned)v.number);
    gw_config_destroy(&v.cfg);
    return rc;
}
