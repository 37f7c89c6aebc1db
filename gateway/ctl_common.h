/* ctl_common.h - meldnetctl: what its command groups share.
 *
 * Option parsing (getopt_long, one table per command), the gateway home (--home, else
 * $MELDNET_HOME, else ./meldnet-home) and its configuration, the group dispatch, and the way
 * every command ends: results on stdout, a diag on stderr, and an exit status (0 success,
 * 1 failure, 2 usage error).
 *
 * A command is `int run(int argc, char **argv)` with argv[0] its label ("meldnetctl agent add"),
 * which getopt names in its messages; it returns the exit status.
 */
#ifndef CTL_COMMON_H
#define CTL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"
#include "gw_store.h"
#include "mn_error.h"

#define CTL_PROG "meldnetctl"
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2
#define CTL_GO_ON (-1) /* from ctl_options: parsed, run the command */
#define CTL_OPTS_MAX 4 /* ctl_opt entries a command may have */

/* An option of a command that takes a value: --NAME VALUE sets *value. */
typedef struct ctl_opt {
    const char *name;
    const char **value;
} ctl_opt;

/* An option that may be given several times (--bind): each value is appended to all[],
 * at most max of them; n counts them. */
typedef struct ctl_multi {
    const char *name;
    const char **all;
    size_t n;
    size_t max;
} ctl_multi;

/* A command or subcommand: its name, what runs it, and the argv[0] it runs with. */
typedef struct ctl_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *label; /* getopt names argv[0] in its messages */
} ctl_command;

/* The --home given before the command (borrowed: argv outlives every command); NULL: none. */
void ctl_home_set(const char *dir);

/* The gateway home: opt (a command's own --home) when given, else the --home before the
 * command, else $MELDNET_HOME, else "./meldnet-home". Borrowed. */
const char *ctl_home(const char *opt);

/* A usage problem: "meldnetctl: " and fmt on stderr, then "Try 'meldnetctl CMD --help'." (cmd
 * "": the top level). fmt NULL: getopt said what is wrong already, only the pointer to the
 * help is printed. Returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) MN_PRINTF(2, 3);

/* Print the diag d (mn_diag_print, as meldnetctl). Returns CTL_EXIT_FAIL. */
int ctl_fail(const mn_diag *d);

/* "dir/name" into buf (cap bytes). Returns MN_OK, or MN_EINVAL ("path too long") when it does
 * not fit. */
MN_NODISCARD int ctl_path(char *buf, size_t cap, const char *dir, const char *name, mn_diag *d);

/* Load home/gateway.conf into *cfg (caller destroys it), with a clear message and a hint to
 * `meldnetctl init` when home is not a gateway home (MN_ESYS). Returns as gw_config_load. */
MN_NODISCARD int ctl_load_config(const char *home, gw_config **cfg, mn_diag *d);

/* Parse the options of command `cmd` (argv[0] is its label, for getopt's messages): each of
 * `opts` (ended by {NULL, NULL}; at most CTL_OPTS_MAX), and -h/--help, which prints `usage`.
 * Then exactly n_operands operands must remain, from optind on; a wrong count is a usage error
 * that says `operands_error` (with n_operands 0: names the first unexpected argument; with -1
 * any count is accepted and the command checks). multi (may be NULL) is one option that may
 * repeat. Returns CTL_GO_ON to run the command, else the exit status: CTL_EXIT_OK after help,
 * CTL_EXIT_USAGE after saying what is wrong. */
int ctl_options_multi(int argc, char **argv, const char *cmd, const char *usage,
                      const ctl_opt *opts, ctl_multi *multi, int n_operands,
                      const char *operands_error);

/* ctl_options_multi without a repeatable option. */
int ctl_options(int argc, char **argv, const char *cmd, const char *usage, const ctl_opt *opts,
                int n_operands, const char *operands_error);

/* The start of a command whose only option is --home: its options and operands (as
 * ctl_options), then the home's configuration into *cfg (caller destroys it). Returns
 * CTL_GO_ON, else the exit status, after saying what is wrong. */
int ctl_home_command(int argc, char **argv, const char *cmd, const char *usage, int n_operands,
                     const char *operands_error, gw_config **cfg);

/* The command of table[0 .. n-1] called `name` (borrowed from table), or NULL. */
const ctl_command *ctl_command_find(const ctl_command *table, size_t n, const char *name);

/* `meldnetctl GROUP SUB ...` (argv[0] is GROUP): run SUB, one of subs[0 .. n-1] (`names`
 * lists them for the error), or print the group's usage: on stdout after --help (exit 0), on
 * stderr when SUB is missing (exit 2). Returns an exit status. */
int ctl_group(int argc, char **argv, const char *group, const char *usage, const ctl_command *subs,
              size_t n, const char *names);

/* Take every `flag` (a flag without a value, "--json") out of argv[1 ..], before a "--";
 * returns how many there were. The rest is parsed as usual. */
int ctl_take_flag(int *argc, char **argv, const char *flag);

/* ms since the epoch as UTC ISO 8601 with milliseconds into buf, or "invalid". */
void ctl_time_iso(uint64_t ms, char *buf, size_t cap);

/* Open the store of cfg for a short write (hold release), never creating one: a missing
 * data.mdb is MN_ESTORE with a hint. Caller owns *store. Returns MN_OK or as gw_store_open. */
MN_NODISCARD int ctl_open_store_rw(const gw_config *cfg, gw_store **store, mn_diag *d);

#endif
