/* ctl_store - meldnetctl store status|continue|new (see ctl_store.h). */
#include "ctl_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "ctl_common.h"
#include "ctl_reload.h"
#include "gw_ledger.h"
#include "gw_store.h"
#include "mn_envelope.h"

const char ctl_store_usage[] =
    "usage: meldnetctl store status|continue|new [--home DIR]\n"
    "\n"
    "The store and the registration ledger. The ledger (ledger_file in gateway.conf) remembers\n"
    "which store the gateway numbers with and the highest registration number it gave, so that\n"
    "a lost, emptied or restored store is noticed before a number is given twice (partners\n"
    "would take a new report with an old number for one they already have).\n"
    "\n"
    "  status     what the ledger and the store say; exit 1 when the gateway would not start\n"
    "  continue   go on with the store in the data folder (a restored backup, or one whose\n"
    "             ledger is lost): numbering goes on after every number already given\n"
    "  new        start an empty store (the data folder must be empty or missing): numbering\n"
    "             goes on after every number already given\n"
    "\n"
    "`meldnetctl store COMMAND --help` explains one.\n";

const char ctl_store_usage_status[] =
    "usage: meldnetctl store status [--home DIR]\n"
    "\n"
    "Print the store's identity and numbering, the ledger's, and whether the gateway would start\n"
    "with them (if not: why, and what to do). Reads only. Exit 0 when it would start, 1 when "
    "not.\n";

const char ctl_store_usage_continue[] =
    "usage: meldnetctl store continue [--after REG] [--home DIR]\n"
    "\n"
    "Go on with the store that is in the data folder: after restoring it from a backup, or when\n"
    "the ledger was lost. Its next registration number becomes one more than the highest number\n"
    "given (by the ledger, by this store, or REG), and the ledger is written for this store.\n"
    "Reports registered after the backup was made are not in the restored store; partners that\n"
    "received them keep them. The gateway must be stopped.\n"
    "\n"
    "  --after REG   also number after REG (e.g. MN-00000420: the highest number a partner\n"
    "                has received), when the ledger is lost or damaged\n";

const char ctl_store_usage_new[] =
    "usage: meldnetctl store new [--after REG] [--home DIR]\n"
    "\n"
    "Start an empty store in the data folder, when the old one is lost and no backup is left.\n"
    "The data folder must hold no store (move an old one aside first; an empty data.mdb is\n"
    "taken as none). Numbering goes on after the highest number the ledger (or REG) says was\n"
    "given. The gateway must be stopped.\n"
    "\n"
    "  --after REG   also number after REG (e.g. the highest number a partner has received),\n"
    "                when the ledger is lost or damaged\n";

static void s_reg(uint64_t n, char *buf, size_t cap)
{
    mn_registration_format(n, buf, cap);
}

/* The ledger, if there is one. *has: 1 read, 0 none; a damaged one is reported and counts as
 * none only when `damaged_ok` (continue/new: the operator says what to number after). */
static int s_read_ledger(const gw_config *cfg, int damaged_ok, gw_ledger_mark *mark, int *has,
                         mn_diag *d)
{
    int rc = gw_ledger_read(cfg->ledger_file, mark, d);
    *has = rc == MN_OK;
    if (rc == MN_ENOTFOUND)
        return MN_OK;
    if (rc == MN_ESTORE && damaged_ok) {
        printf("warning: %s: %s; it is written anew\n", d->where, d->what);
        mn_diag_clear(d);
        return MN_OK;
    }
    return rc;
}

static int s_gateway_stopped(const gw_config *cfg, mn_diag *d)
{
    pid_t pid = 0;
    int rc = ctl_reload_find(cfg->run_dir, &pid, d);
    if (rc != MN_OK)
        return rc;
    if (pid) {
        rc =
            mn_diag_set(d, MN_EINVAL, cfg->data_dir, "the gateway is running (pid %ld)", (long)pid);
        mn_diag_hint(d, "stop it first (SIGTERM), then run this again");
    }
    return rc;
}

int ctl_store_status(const gw_config *cfg, mn_diag *d)
{
    gw_ledger_view v;
    char text[2 * GW_STORE_ID_BYTES + 1], reg[32];
    if (gw_ledger_inspect(cfg->ledger_file, cfg->data_dir, &v, d) != MN_OK)
        return 1;
    if (v.has_mark) {
        gw_ledger_id_text(v.mark.store_id, text);
        s_reg(v.mark.issued, reg, sizeof reg);
        printf("ledger  %s: store %s, numbers given up to %s\n", cfg->ledger_file, text,
               v.mark.issued ? reg : "(none yet)");
    } else {
        printf("ledger  %s: none\n", cfg->ledger_file);
    }
    if (v.absent) {
        printf("store   %s: none (missing or empty)\n", cfg->data_dir);
    } else {
        gw_ledger_id_text(v.store.id, text);
        s_reg(v.store.next_registration - 1, reg, sizeof reg);
        printf("store   %s: store %s, %llu registrations, numbered up to %s\n", cfg->data_dir,
               v.store.has_id ? text : "(no identity yet)",
               (unsigned long long)v.store.registrations,
               v.store.next_registration > 1 ? reg : "(none yet)");
    }
    if (gw_ledger_check(cfg->ledger_file, cfg->home, v.has_mark, &v.mark, v.absent, &v.store, d) !=
        MN_OK)
        return 1;
    printf("the gateway starts with them\n");
    return 0;
}

/* The highest number given, by the ledger, the store and the operator. */
static uint64_t s_highest(int has, const gw_ledger_mark *mark, uint64_t store_upto, uint64_t after)
{
    uint64_t top = store_upto > after ? store_upto : after;
    if (has && mark->issued > top)
        top = mark->issued;
    return top;
}

/* Number `store` after `top` and write the ledger for it. */
static int s_adopt(const gw_config *cfg, gw_store *store, uint64_t top, mn_diag *d)
{
    gw_store_ident ident;
    char reg[32];
    int rc = gw_store_raise_next(store, top + 1, d);
    if (rc == MN_OK)
        rc = gw_store_identity(store, &ident, d);
    if (rc != MN_OK)
        return rc;
    gw_ledger_mark now = {.issued = ident.next_registration - 1};
    memcpy(now.store_id, ident.id, sizeof now.store_id);
    gw_ledger *ledger = NULL;
    rc = gw_ledger_open(cfg->ledger_file, &now, &ledger, d);
    gw_ledger_close(&ledger);
    if (rc != MN_OK)
        return rc;
    s_reg(ident.next_registration, reg, sizeof reg);
    printf("the gateway goes on with the store in %s: the next registration number is %s\n",
           cfg->data_dir, reg);
    return MN_OK;
}

/* The start of a change: the gateway stopped, the ledger read (a damaged one reported). */
static int s_change_begin(const gw_config *cfg, gw_ledger_mark *mark, int *has, mn_diag *d)
{
    int rc = s_gateway_stopped(cfg, d);
    if (rc == MN_OK)
        rc = s_read_ledger(cfg, 1, mark, has, d);
    return rc;
}

/* Open the store for writing and read its identity. */
static int s_store_open(const gw_config *cfg, gw_store **store, gw_store_ident *ident, mn_diag *d)
{
    int rc = gw_store_open(cfg->data_dir, cfg->map_size_mb, 0, store, d);
    if (rc == MN_OK)
        rc = gw_store_identity(*store, ident, d);
    return rc;
}

int ctl_store_continue(const gw_config *cfg, uint64_t after, mn_diag *d)
{
    gw_ledger_mark mark;
    gw_store_ident ident;
    gw_store *store = NULL;
    int has = 0;
    if (s_change_begin(cfg, &mark, &has, d) != MN_OK)
        return 1;
    if (gw_ledger_store_is_absent(cfg->data_dir)) {
        mn_diag_set(d, MN_ESTORE, cfg->data_dir, "there is no store to continue with");
        mn_diag_hint(d,
                     "restore the data folder from backup first, or start an empty store "
                     "with `meldnetctl store new --home %s`",
                     cfg->home);
        return 1;
    }
    int rc = s_store_open(cfg, &store, &ident, d);
    if (rc == MN_OK)
        rc = s_adopt(cfg, store, s_highest(has, &mark, ident.next_registration - 1, after), d);
    gw_store_destroy(&store);
    return rc == MN_OK ? 0 : 1;
}

/* What an absent store leaves behind (an empty data.mdb, its lock.mdb) holds no registration:
 * removed, so that opening makes the new store instead of refusing a lost one. */
static int s_clear_absent(const gw_config *cfg, mn_diag *d)
{
    static const char *const names[] = {"data.mdb", "lock.mdb"};
    char path[GW_PATH_MAX + 16];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return mn_diag_sys(d, path, "cannot remove what is left of the old store");
    }
    return MN_OK;
}

int ctl_store_new(const gw_config *cfg, uint64_t after, mn_diag *d)
{
    gw_ledger_mark mark;
    gw_store *store = NULL;
    gw_store_ident ident;
    char reg[32];
    int has = 0;
    if (s_change_begin(cfg, &mark, &has, d) != MN_OK)
        return 1;
    if (!gw_ledger_store_is_absent(cfg->data_dir)) {
        mn_diag_set(d, MN_ESTORE, cfg->data_dir, "the data folder holds a store already");
        mn_diag_hint(d,
                     "to go on with it, run `meldnetctl store continue --home %s`; to start "
                     "anew, move the data folder aside first (keep it: it holds "
                     "registrations)",
                     cfg->home);
        return 1;
    }
    int rc = s_clear_absent(cfg, d);
    if (rc == MN_OK)
        rc = s_store_open(cfg, &store, &ident, d);
    if (rc == MN_OK && !ident.created && ident.registrations > 0) { /* raced with another */
        s_reg(ident.next_registration - 1, reg, sizeof reg);
        rc = mn_diag_set(d, MN_ESTORE, cfg->data_dir,
                         "a store appeared in the data folder "
                         "(numbered up to %s)",
                         reg);
    }
    if (rc == MN_OK)
        rc = s_adopt(cfg, store, s_highest(has, &mark, 0, after), d);
    gw_store_destroy(&store);
    return rc == MN_OK ? 0 : 1;
}

/* --- the commands: options, then the functions above ---------------------------------------- */

static int s_store_status(int argc, char **argv)
{
    gw_config *cfg = NULL;
    mn_diag d = {0};
    int rc = ctl_home_command(argc, argv, "store status", ctl_store_usage_status, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = ctl_store_status(cfg, &d);
    gw_config_destroy(&cfg);
    if (rc != 0)
        return ctl_fail(&d);
    return CTL_EXIT_OK;
}

/* store continue / store new: --home and --after REG. */
static int s_store_change(int argc, char **argv, const char *cmd, const char *usage,
                          int (*change)(const gw_config *, uint64_t, mn_diag *))
{
    const char *home = NULL, *after_text = NULL;
    const ctl_opt opts[] = {{"home", &home}, {"after", &after_text}, {NULL, NULL}};
    gw_config *cfg = NULL;
    uint64_t after = 0;
    mn_diag d = {0};
    int rc = ctl_options(argc, argv, cmd, usage, opts, 0, NULL);
    if (rc != CTL_GO_ON)
        return rc;
    if (after_text && mn_registration_parse(after_text, &after) != MN_OK)
        return ctl_usage_error(cmd,
                               "--after \"%s\": give a registration number like "
                               "MN-00000042 or 42",
                               after_text);
    if (ctl_load_config(ctl_home(home), &cfg, &d) != MN_OK)
        return ctl_fail(&d);
    rc = change(cfg, after, &d);
    gw_config_destroy(&cfg);
    return rc == 0 ? CTL_EXIT_OK : ctl_fail(&d);
}

static int s_store_continue(int argc, char **argv)
{
    return s_store_change(argc, argv, "store continue", ctl_store_usage_continue,
                          ctl_store_continue);
}

static int s_store_new(int argc, char **argv)
{
    return s_store_change(argc, argv, "store new", ctl_store_usage_new, ctl_store_new);
}

int ctl_cmd_store(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"status", s_store_status, CTL_PROG " store status"},
        {"continue", s_store_continue, CTL_PROG " store continue"},
        {"new", s_store_new, CTL_PROG " store new"},
    };
    return ctl_group(argc, argv, "store", ctl_store_usage, subs, sizeof subs / sizeof subs[0],
                     "status, continue, new");
}
