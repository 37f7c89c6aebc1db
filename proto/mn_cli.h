/* mn_cli.h - the command line of the client programs (meldnet-agent, meldnet-partner): the
 * command table, usage errors, the keygen command and the options status shares, the time and
 * the signals that end a loop.
 *
 * Output follows the house rules: results on stdout, messages on stderr prefixed with the
 * program's name; exit 0 done, 1 failed, 2 usage (MN_CLI_EXIT_USAGE). Option parsers return
 * MN_CLI_GO_ON when the command should run, else the exit code (after --help or after saying
 * what is wrong with the arguments).
 */
#ifndef MN_CLI_H
#define MN_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_error.h"
#include "mn_key.h"
#include "mn_log.h"

#define MN_CLI_EXIT_USAGE 2
#define MN_CLI_GO_ON (-1)

typedef struct mn_cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name; returns the exit code */
} mn_cli_command;

/* A program's main: `PROG COMMAND ...` runs the command of cmds[0 .. n-1] called argv[1] after
 * initialising libsodium; -h, --help and help print `help`. `names` lists the commands for the
 * error about an unknown one. Returns the exit code. */
int mn_cli_main(const char *prog, const char *help, const mn_cli_command *cmds, size_t n,
                const char *names, int argc, char **argv);

/* Print "PROG CMD: what" and "PROG: try 'PROG CMD --help'" on stderr (cmd may be NULL).
 * Returns MN_CLI_EXIT_USAGE. */
int mn_cli_usage_error(const char *prog, const char *cmd, const char *fmt, ...) MN_PRINTF(3, 4);

/* Print the diag (mn_diag_print). Returns 1. */
int mn_cli_fail(const char *prog, const mn_diag *d);

/* Parse a whole decimal number in [min, max]. Returns MN_OK or MN_EINVAL. */
MN_NODISCARD int mn_cli_parse_uint(const char *text, unsigned long min, unsigned long max,
                                   unsigned long *out);

/* Set the log level by name (a configuration's log_level), `fallback` for NULL or a bad one. */
void mn_cli_set_log_level(const char *name, enum mn_log_level fallback);

/* Set the log format from a --log-format argument ("text" or "json"). Returns MN_CLI_GO_ON, or
 * MN_CLI_EXIT_USAGE after saying what is wrong. */
int mn_cli_set_log_format(const char *prog, const char *cmd, const char *text);

/* The end of a loop that runs `seconds` from now, on the mn_mono_ms clock; 0 (no end) for 0. */
uint64_t mn_cli_deadline(unsigned long seconds);

/* How long one round of such a loop may wait: tick_ms, or less so that it ends at deadline_ms
 * (0: none); -1 once the deadline has passed. */
int mn_cli_tick(uint64_t deadline_ms, int tick_ms);

/* SIGINT and SIGTERM set *stop (without SA_RESTART, so a signal ends a wait in zmq_poll);
 * SIGPIPE is ignored. *stop must live as long as the program. */
void mn_cli_catch_signals(volatile sig_atomic_t *stop);

/* `keygen NAME --gateway ENDPOINT --gateway-key FILE [--home DIR]`. */
typedef struct mn_cli_keygen {
    const char *name;
    const char *endpoint;    /* valid (mn_conf_endpoint_is_valid) */
    const char *gateway_key; /* the gateway's public line */
    const char *home;        /* NULL: not given */
} mn_cli_keygen;

/* Parse keygen's arguments (argv[0] "keygen"); `help` is its --help text. NAME and the endpoint
 * are checked. Returns MN_CLI_GO_ON, 0 after --help, MN_CLI_EXIT_USAGE. */
int mn_cli_parse_keygen(const char *prog, const char *help, int argc, char **argv,
                        mn_cli_keygen *out);

/* What keygen makes for one program, in its home. */
typedef struct mn_cli_keygen_spec {
    mn_role role;            /* of the new identity */
    const char *conf;        /* "agent.conf", written last */
    const char *data;        /* "spool": the program's data folder in the home */
    int make_parents;        /* make the missing folders above the home */
    const char *taken_hint;  /* the hint for a home that has a party already */
    const char *add_options; /* after `meldnetctl ROLE add NAME "LINE"` in the next step shown:
                                "" or " --kind KIND --bind TOPIC=LEVEL" */
    const char *(*home)(const char *arg); /* the home folder, for --home arg (may be NULL) */
    int (*make_data)(const char *dir, mn_diag *d);
    int (*write_conf)(const char *home, const char *name, const char *endpoint, mn_diag *d);
} mn_cli_keygen_spec;

/* The keygen command (argv[0] "keygen"; `help` is its --help text): parse its arguments, make
 * the home (mn_home_create), its data folder and, last, its configuration, so a home with its
 * configuration is always complete; print the public line on stdout and the next step on
 * stderr. Returns the exit code. */
int mn_cli_run_keygen(const char *prog, const char *help, const mn_cli_keygen_spec *spec, int argc,
                      char **argv);

/* Parse `CMD [--home DIR]` (argv[0] CMD), a command with no other option or operand; *home is
 * NULL when not given. Returns MN_CLI_GO_ON, 0 after --help, MN_CLI_EXIT_USAGE. */
int mn_cli_parse_home(const char *prog, const char *cmd, const char *help, int argc, char **argv,
                      const char **home);

#endif
