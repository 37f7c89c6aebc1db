/* ctl_common - meldnetctl: what its command groups share (see ctl_common.h). */
#include "ctl_common.h"

#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mn_time.h"

static const char *s_home_opt; /* --home given before the command */

void ctl_home_set(const char *dir)
{
    s_home_opt = dir;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", CTL_PROG);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s%s%s --help'.\n", CTL_PROG, cmd[0] ? " " : "", cmd);
    return CTL_EXIT_USAGE;
}

int ctl_fail(const mn_diag *d)
{
    mn_diag_print(CTL_PROG, d);
    return CTL_EXIT_FAIL;
}

const char *ctl_home(const char *opt)
{
    const char *env = getenv("MELDNET_HOME");
    if (opt && opt[0])
        return opt;
    if (s_home_opt && s_home_opt[0])
        return s_home_opt;
    if (env && env[0])
        return env;
    return "./meldnet-home";
}

int ctl_path(char *buf, size_t cap, const char *dir, const char *name, mn_diag *d)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return mn_diag_set(d, MN_EINVAL, dir, "path too long");
    return MN_OK;
}

int ctl_load_config(const char *home, gw_config **cfg, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc = ctl_path(path, sizeof path, home, "gateway.conf", d);
    if (rc != MN_OK)
        goto out;
    if (stat(path, &st) != 0) {
        rc = mn_diag_sys(d, path, "no gateway home at %s", home);
        mn_diag_hint(d,
                     "make one with `meldnetctl init --home %s`, or name it with --home DIR "
                     "or $MELDNET_HOME",
                     home);
        goto out;
    }
    rc = gw_config_load(path, cfg, d);
out:
    return rc;
}

#define S_OPT_VAL 0x100   /* getopt_long's value for opts[0]; above every short option */
#define S_OPT_MULTI 0x1ff /* getopt_long's value for the ctl_multi option */

int ctl_options_multi(int argc, char **argv, const char *cmd, const char *usage,
                      const ctl_opt *opts, ctl_multi *multi, int n_operands,
                      const char *operands_error)
{
    struct option lopts[CTL_OPTS_MAX + 3];
    int n = 0, c;

    for (; opts[n].name; n++) {
        assert(n < CTL_OPTS_MAX);
        lopts[n] = (struct option){opts[n].name, required_argument, NULL, S_OPT_VAL + n};
    }
    int k = n;
    if (multi)
        lopts[k++] = (struct option){multi->name, required_argument, NULL, S_OPT_MULTI};
    lopts[k] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[k + 1] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* a new argument vector (glibc: 0 also resets its internal state) */
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CTL_EXIT_OK;
        }
        if (c == S_OPT_MULTI && multi) {
            if (multi->n == multi->max)
                return ctl_usage_error(cmd, "--%s may be given at most %zu times", multi->name,
                                       multi->max);
            multi->all[multi->n++] = optarg;
            continue;
        }
        if (c < S_OPT_VAL || c >= S_OPT_VAL + n)
            return ctl_usage_error(cmd, NULL);
        *opts[c - S_OPT_VAL].value = optarg;
    }
    if (n_operands == 0 && optind < argc)
        return ctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
    if (n_operands >= 0 && argc - optind != n_operands)
        return ctl_usage_error(cmd, "%s", operands_error);
    return CTL_GO_ON;
}

int ctl_options(int argc, char **argv, const char *cmd, const char *usage, const ctl_opt *opts,
                int n_operands, const char *operands_error)
{
    return ctl_options_multi(argc, argv, cmd, usage, opts, NULL, n_operands, operands_error);
}

int ctl_home_command(int argc, char **argv, const char *cmd, const char *usage, int n_operands,
                     const char *operands_error, gw_config **cfg)
{
    const char *home = NULL;
    const ctl_opt opts[] = {{"home", &home}, {NULL, NULL}};
    mn_diag d = {0};
    int rc = ctl_options(argc, argv, cmd, usage, opts, n_operands, operands_error);
    if (rc != CTL_GO_ON)
        return rc;
    if (ctl_load_config(ctl_home(home), cfg, &d) != MN_OK)
        return ctl_fail(&d);
    return CTL_GO_ON;
}

const ctl_command *ctl_command_find(const ctl_command *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

int ctl_group(int argc, char **argv, const char *group, const char *usage, const ctl_command *subs,
              size_t n, const char *names)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
    const ctl_command *sub = ctl_command_find(subs, n, argv[1]);
    if (!sub)
        return ctl_usage_error(group, "unknown %s command \"%s\" (%s)", group, argv[1], names);
    argv[1] = (char *)sub->label;
    return sub->run(argc - 1, argv + 1);
}

int ctl_take_flag(int *argc, char **argv, const char *flag)
{
    int found = 0, o = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[o++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], flag) == 0)
            found++;
        else
            argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return found;
}

void ctl_time_iso(uint64_t ms, char *buf, size_t cap)
{
    if (!mn_time_format_ms(ms, buf, cap))
        snprintf(buf, cap, "invalid");
}

int ctl_open_store_rw(const gw_config *cfg, gw_store **store, mn_diag *d)
{
    char path[GW_PATH_MAX];
    struct stat st;
    int rc = ctl_path(path, sizeof path, cfg->data_dir, "data.mdb", d);
    if (rc != MN_OK)
        return rc;
    if (stat(path, &st) != 0) {
        rc = mn_diag_set(d, MN_ESTORE, cfg->data_dir,
                         "no store at %s: start the gateway once "
                         "or check data_dir",
                         cfg->data_dir);
        mn_diag_hint(d, "the gateway creates the store on its first start; data_dir in "
                        "gateway.conf says where");
        return rc;
    }
    return gw_store_open(cfg->data_dir, cfg->map_size_mb, 0, store, d);
}
