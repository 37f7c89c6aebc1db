/* ctl_route - meldnetctl route test (see ctl_route.h). */
#include "ctl_route.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl_common.h"
#include "gw_config.h"
#include "gw_route.h"
#include "mn_envelope.h"
#include "mn_error.h"
#include "mn_key.h"
#include "mn_report.h"

static const char s_usage_route[] =
    "usage: meldnetctl route test FILE.json [--home DIR]\n"
    "\n"
    "test  dry-run the routing rules on a report file.\n"
    "\n"
    "`meldnetctl route test --help` explains it.\n";

static const char s_usage_route_test[] =
    "usage: meldnetctl route test FILE.json [--home DIR]\n"
    "\n"
    "Dry-run the routing rules of the home's gateway.conf on the report in FILE.json (\"-\":\n"
    "stdin): print the topics it reaches and by which rule, the topics no partner is bound to,\n"
    "and for every partner that would get it the referral JSON it would receive, after\n"
    "redaction. Changes nothing. Needs keys/pseudonym.key (the pseudonyms are real). The\n"
    "output holds report fields: run it where reports may be read.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

/* Today's date in UTC, YYYY-MM-DD (the routing rules' "minor" test). */
static void s_today(char out[11])
{
    if (!mn_time_format_day(mn_now_ms(), out, 11))
        snprintf(out, 11, "1970-01-01");
}

static int s_route_test(int argc, char **argv)
{
    gw_config *cfg = NULL;
    mn_secret32 *key = NULL;
    mn_report *report = NULL;
    char today[11];
    mn_diag d = {0};

    int rc = ctl_home_command(argc, argv, "route test", s_usage_route_test, 1,
                              "give one report FILE.json (\"-\": stdin)", &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    const char *file = argv[optind];
    if (mn_secret32_load(cfg->pseudonym_key, &key, &d) != MN_OK)
        goto out;
    int lrc = mn_report_load_json(file, &report, &d);
    if (lrc == MN_OK)
        lrc = mn_report_validate(report, &d);
    if (lrc != MN_OK) {
        if (lrc == MN_EREPORT) { /* where is a JSON path: say in which file */
            char where[sizeof d.where];
            if (snprintf(where, sizeof where, "%s: %s", file, d.where) > 0)
                memcpy(d.where, where, sizeof d.where);
        }
        goto out;
    }
    s_today(today);
    if (gw_route_explain(stdout, cfg, report, mn_secret32_bytes(key), today) != MN_OK) {
        mn_diag_set(&d, MN_ENOMEM, file, "out of memory explaining the routes");
        goto out;
    }
    if (fflush(stdout) != 0) {
        mn_diag_sys(&d, "stdout", "cannot write the result");
        goto out;
    }
    rc = CTL_EXIT_OK;
out:
    mn_report_destroy(&report);
    mn_secret32_destroy(&key);
    gw_config_destroy(&cfg);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}

int ctl_cmd_route(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"test", s_route_test, CTL_PROG " route test"},
    };
    return ctl_group(argc, argv, "route", s_usage_route, subs, sizeof subs / sizeof subs[0],
                     "test");
}
