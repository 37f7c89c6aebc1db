/* mn_cli.c - command table, usage errors, keygen and the shared options, loop timing and stop
 * signals of the client programs. */
#include "mn_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_conf.h"
#include "mn_home.h"
#include "mn_key.h"
#include "mn_time.h"

static volatile sig_atomic_t *s_stop_flag;

int mn_cli_usage_error(const char *prog, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s%s%s: ", prog, cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s: try '%s%s%s --help'\n", prog, prog, cmd ? " " : "", cmd ? cmd : "");
    return MN_CLI_EXIT_USAGE;
}

int mn_cli_fail(const char *prog, const mn_diag *d)
{
    mn_diag_print(prog, d);
    return 1;
}

int mn_cli_main(const char *prog, const char *help, const mn_cli_command *cmds, size_t n,
                const char *names, int argc, char **argv)
{
    if (argc < 2)
        return mn_cli_usage_error(prog, NULL, "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(help, stdout);
        return 0;
    }
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "%s: libsodium does not initialise\n", prog);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    return mn_cli_usage_error(prog, NULL, "unknown command \"%s\" (%s)", cmd, names);
}

int mn_cli_parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    if (!text || text[0] < '0' || text[0] > '9')
        return MN_EINVAL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return MN_EINVAL;
    *out = v;
    return MN_OK;
}

void mn_cli_set_log_level(const char *name, enum mn_log_level fallback)
{
    enum mn_log_level level = fallback;
    if (name && mn_log_parse_level(name, &level) != MN_OK)
        level = fallback;
    mn_log_set_level(level);
}

int mn_cli_set_log_format(const char *prog, const char *cmd, const char *text)
{
    enum mn_log_format format;
    if (mn_log_parse_format(text, &format) != MN_OK)
        return mn_cli_usage_error(prog, cmd, "--log-format \"%s\": give text or json", text);
    mn_log_set_format(format);
    return MN_CLI_GO_ON;
}

uint64_t mn_cli_deadline(unsigned long seconds)
{
    return seconds ? mn_mono_ms() + (uint64_t)seconds * 1000 : 0;
}

int mn_cli_tick(uint64_t deadline_ms, int tick_ms)
{
    if (!deadline_ms)
        return tick_ms;
    uint64_t now = mn_mono_ms();
    if (now >= deadline_ms)
        return -1;
    return deadline_ms - now < (uint64_t)tick_ms ? (int)(deadline_ms - now) : tick_ms;
}

static void s_on_signal(int sig)
{
    (void)sig;
    if (s_stop_flag)
        *s_stop_flag = 1;
}

void mn_cli_catch_signals(volatile sig_atomic_t *stop)
{
    struct sigaction sa;
    s_stop_flag = stop;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a signal ends the wait in zmq_poll */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int mn_cli_parse_keygen(const char *prog, const char *help, int argc, char **argv,
                        mn_cli_keygen *out)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"gateway", required_argument, NULL, 'g'},
        {"gateway-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(out, 0, sizeof *out);
    optind = 0; /* a new argument vector (glibc: 0 also resets its internal state) */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': out->home = optarg; break;
        case 'g': out->endpoint = optarg; break;
        case 'k': out->gateway_key = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: return mn_cli_usage_error(prog, "keygen", "bad option (see above)");
        }
    }
    if (optind != argc - 1)
        return mn_cli_usage_error(prog, "keygen", "give exactly one NAME");
    if (!out->endpoint || !out->gateway_key)
        return mn_cli_usage_error(prog, "keygen", "--gateway and --gateway-key are required");
    out->name = argv[optind];
    if (!mn_name_is_valid(out->name))
        return mn_cli_usage_error(prog, "keygen",
                                  "NAME \"%s\" must be 1-64 characters of A-Z "
                                  "a-z 0-9 . _ -",
                                  out->name);
    if (!mn_conf_endpoint_is_valid(out->endpoint))
        return mn_cli_usage_error(prog, "keygen",
                                  "--gateway \"%s\" is not an endpoint like "
                                  "tcp://HOST:PORT",
                                  out->endpoint);
    return MN_CLI_GO_ON;
}

int mn_cli_run_keygen(const char *prog, const char *help, const mn_cli_keygen_spec *spec, int argc,
                      char **argv)
{
    mn_cli_keygen a;
    int rc = mn_cli_parse_keygen(prog, help, argc, argv, &a);
    if (rc != MN_CLI_GO_ON)
        return rc;

    const char *home = spec->home(a.home);
    const char *noun = mn_role_name(spec->role);
    mn_diag d = {0};
    mn_key *key = NULL;
    mn_home_files files;
    char data[MN_CONF_PATH_MAX];
    char line[MN_PUBLIC_LINE_MAX];

    if ((rc = mn_home_create(home, spec->role, a.name, spec->conf, a.gateway_key,
                             spec->make_parents, spec->taken_hint, &files, &key, &d)) != MN_OK ||
        (rc = mn_home_join(data, home, spec->data, &d)) != MN_OK ||
        (rc = spec->make_data(data, &d)) != MN_OK ||
        (rc = spec->write_conf(home, a.name, a.endpoint, &d)) != MN_OK)
        goto out;
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    printf("%s\n", line);
    fprintf(stderr,
            "%s: made %s \"%s\" in %s\n"
            "%s: next: the gateway's operator runs: meldnetctl %s add %s \"LINE\"%s "
            "(LINE = the line above, also in %s)\n",
            prog, noun, a.name, home, prog, noun, a.name, spec->add_options, files.pub);
out:
    mn_key_destroy(&key);
    return rc == MN_OK ? 0 : mn_cli_fail(prog, &d);
}

int mn_cli_parse_home(const char *prog, const char *cmd, const char *help, int argc, char **argv,
                      const char **home)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    *home = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': *home = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: return mn_cli_usage_error(prog, cmd, "bad option (see above)");
        }
    }
    if (optind != argc)
        return mn_cli_usage_error(prog, cmd, "unexpected argument \"%s\"", argv[optind]);
    return MN_CLI_GO_ON;
}
