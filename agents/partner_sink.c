/* partner_sink.c - write a referral to DIR/MN-….json or hand it to a command; markers.
 *
 * Invariant: the marker of a registration is written only after its output is durable (the
 * file renamed into place and the folder fsynced) or its command exited 0; a registration with a
 * marker is never written or run again.
 *
 * The command is started with posix_spawn (safe in a process with ZeroMQ's threads: nothing but
 * exec runs in the child), its environment built beforehand, in a process group of its own, so
 * a timeout or a stop ends the shell and everything it started, and a Ctrl-C at the terminal
 * reaches listen, which decides. The JSON goes through a pipe written
 * without blocking, so a command that does not read its input, or hangs, still meets the timeout
 * and a stop signal.
 */
#include "partner_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mn_envelope.h"
#include "mn_file.h"
#include "mn_key.h"
#include "mn_log.h"
#include "mn_time.h"
#include "partner_config.h"

#define S_LOG "partner"
#define S_POLL_MS 20
#define S_KILL_GRACE_MS 5000
#define S_EXIT_TEMPFAIL 75 /* EX_TEMPFAIL of sysexits.h: "try again later" */

extern char **environ;

struct partner_sink {
    partner_sink_mode mode;
    char out_dir[MN_CONF_PATH_MAX];
    char *command;
    char partner[MN_NAME_MAX + 1];
    unsigned exec_timeout_s;
    volatile sig_atomic_t *stop;
    partner_state *state;
};

const char *partner_sink_outcome_name(partner_sink_outcome o)
{
    switch (o) {
    case PARTNER_SINK_STORED: return "stored";
    case PARTNER_SINK_DUPLICATE: return "duplicate";
    case PARTNER_SINK_REFUSED: return "refused";
    case PARTNER_SINK_INTERRUPTED: return "interrupted";
    case PARTNER_SINK_DEFERRED: return "deferred";
    }
    return "?";
}

/* MN-….json, or MN-…-VARIANT.json for another report that got the same number again. */
static void s_file_name(uint64_t registration, uint64_t variant, char *buf, size_t cap)
{
    char reg[32];
    mn_registration_format(registration, reg, sizeof reg);
    if (variant)
        snprintf(buf, cap, "%s-%llu.json", reg, (unsigned long long)variant);
    else
        snprintf(buf, cap, "%s.json", reg);
}

void partner_sink_file_name(uint64_t registration, char *buf, size_t cap)
{
    s_file_name(registration, 0, buf, cap);
}

int partner_sink_new(const partner_sink_config *cfg, partner_state *state, partner_sink **out,
                     mn_diag *d)
{
    int rc = MN_OK;
    partner_sink *sink = NULL;
    struct stat sb;

    *out = NULL;
    if (!cfg || !state || (cfg->mode != PARTNER_SINK_OUT && cfg->mode != PARTNER_SINK_EXEC) ||
        (cfg->mode == PARTNER_SINK_OUT && (!cfg->out_dir || !cfg->out_dir[0])) ||
        (cfg->mode == PARTNER_SINK_EXEC && (!cfg->command || !cfg->command[0])))
        return mn_diag_set(d, MN_EINVAL, "", "give --out DIR or --exec CMD");
    sink = calloc(1, sizeof *sink);
    if (!sink)
        return mn_diag_set(d, MN_ENOMEM, "", "no memory for the sink");
    sink->mode = cfg->mode;
    sink->state = state;
    sink->stop = cfg->stop;
    sink->exec_timeout_s =
        cfg->exec_timeout_s ? cfg->exec_timeout_s : PARTNER_EXEC_TIMEOUT_DEFAULT_S;
    snprintf(sink->partner, sizeof sink->partner, "%s", cfg->partner ? cfg->partner : "");
    if (cfg->mode == PARTNER_SINK_EXEC) {
        sink->command = strdup(cfg->command);
        if (!sink->command)
            rc = mn_diag_set(d, MN_ENOMEM, "", "no memory for the command");
        goto out;
    }
    /* 20 bytes for "/MN-<20 digits>.json" and the temp suffix mn_file_write_atomic adds. */
    if (strlen(cfg->out_dir) + 64 >= sizeof sink->out_dir) {
        rc = mn_diag_set(d, MN_EINVAL, cfg->out_dir, "the --out path is too long");
        goto out;
    }
    snprintf(sink->out_dir, sizeof sink->out_dir, "%s", cfg->out_dir);
    if (mkdir(sink->out_dir, 0700) != 0 && errno != EEXIST) {
        rc = mn_diag_sys(d, sink->out_dir, "cannot create the output folder");
        mn_diag_hint(d, "create it (mode 0700, owned by the user that runs meldnet-partner) or "
                        "name an existing folder");
        goto out;
    }
    if (stat(sink->out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        errno = errno ? errno : ENOTDIR;
        rc = mn_diag_sys(d, sink->out_dir, "--out must name a folder");
        goto out;
    }
    if (access(sink->out_dir, W_OK | X_OK) != 0) {
        rc = mn_diag_sys(d, sink->out_dir, "cannot write in the output folder");
        mn_diag_hint(d, "give the user that runs meldnet-partner write access to it");
        goto out;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO))
        log_warn(S_LOG,
                 "the output folder may be read by others; referrals are written 0600, but "
                 "consider chmod 700 mode=\"%04o\" dir=%s",
                 (unsigned)(sb.st_mode & 07777), sink->out_dir);
out:
    if (rc == MN_OK)
        *out = sink;
    else
        partner_sink_destroy(&sink);
    return rc;
}

void partner_sink_destroy(partner_sink **sink_p)
{
    if (!sink_p || !*sink_p)
        return;
    free((*sink_p)->command);
    free(*sink_p);
    *sink_p = NULL;
}

static int s_out_path(const partner_sink *sink, uint64_t reg, uint64_t variant, char *buf,
                      size_t cap)
{
    char name[PARTNER_FILE_NAME_MAX];
    s_file_name(reg, variant, name, sizeof name);
    int n = snprintf(buf, cap, "%s/%s", sink->out_dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Delivered before: a marker, or (--out) its file (a crash came before the marker). */
static int s_has(const partner_sink *sink, uint64_t registration, uint64_t variant)
{
    char path[MN_CONF_PATH_MAX + PARTNER_FILE_NAME_MAX];
    struct stat sb;
    if (partner_state_find(sink->state, registration, variant, NULL))
        return 1;
    if (sink->mode != PARTNER_SINK_OUT)
        return 0;
    return s_out_path(sink, registration, variant, path, sizeof path) == 0 && stat(path, &sb) == 0;
}

int partner_sink_has(const partner_sink *sink, uint64_t registration)
{
    return s_has(sink, registration, 0);
}

/* 0, or it->accepted_ms when the number was delivered before for a report registered at
 * another time: the gateway gave the number again (its store was replaced or restored), and
 * this is another report, to be kept beside the first. */
static uint64_t s_variant(const partner_sink *sink, const partner_sink_item *it)
{
    uint64_t seen = 0;
    if (!it->accepted_ms || !partner_state_find(sink->state, it->registration, 0, &seen) || !seen ||
        seen == it->accepted_ms)
        return 0;
    char reg[32];
    mn_registration_format(it->registration, reg, sizeof reg);
    log_warn(S_LOG,
             "the gateway gave a registration number again for another report (was its "
             "store replaced or restored? tell its operators); both are kept registration=%s "
             "accepted_ms=%llu earlier_accepted_ms=%llu",
             reg, (unsigned long long)it->accepted_ms, (unsigned long long)seen);
    return it->accepted_ms;
}

static void s_entry(const partner_sink *sink, const partner_sink_item *it, partner_state_entry *e)
{
    memset(e, 0, sizeof *e);
    e->registration = it->registration;
    e->accepted_ms = it->accepted_ms;
    e->at_ms = mn_now_ms();
    e->attempt = it->attempt;
    snprintf(e->via, sizeof e->via, "%s", sink->mode == PARTNER_SINK_OUT ? "out" : "exec");
    mn_topics_join(it->topics, ",", e->topics, sizeof e->topics);
}

/* Write the marker; a failure is logged, not returned: the output exists already, so the
 * delivery is acknowledged either way (a nack would only bring a second copy). */
static void s_mark(partner_sink *sink, const partner_sink_item *it, uint64_t variant)
{
    partner_state_entry e;
    mn_diag d = {0};
    char reg[32];
    s_entry(sink, it, &e);
    e.variant = variant;
    if (partner_state_mark(sink->state, &e, &d) != MN_OK) {
        mn_registration_format(it->registration, reg, sizeof reg);
        log_err(S_LOG,
                "cannot write the delivery marker, a redelivery of it would be %s "
                "again; check the state folder registration=%s path=%s error=\"%s\"",
                sink->mode == PARTNER_SINK_OUT ? "written" : "run", reg, d.where, d.what);
    }
}

void partner_sink_note_refusal(partner_sink *sink, const partner_sink_item *it, const char *reason)
{
    partner_state_entry e;
    mn_diag d = {0};
    s_entry(sink, it, &e);
    snprintf(e.reason, sizeof e.reason, "%s", reason ? reason : "");
    if (partner_state_note_refusal(sink->state, &e, &d) != MN_OK)
        log_warn(S_LOG, "cannot record the refusal path=%s error=\"%s\"", d.where, d.what);
}

/* --- --out -------------------------------------------------------------------------------- */

static partner_sink_outcome s_put_file(partner_sink *sink, const partner_sink_item *it,
                                       uint64_t variant, const char *json, size_t len, char *reason,
                                       size_t cap)
{
    char path[MN_CONF_PATH_MAX + PARTNER_FILE_NAME_MAX];
    mn_diag d = {0};
    if (s_out_path(sink, it->registration, variant, path, sizeof path) != 0) {
        snprintf(reason, cap, "the output path is too long");
        return PARTNER_SINK_REFUSED;
    }
    if (mn_file_write_atomic(path, json, len, 0600, &d) != MN_OK) {
        /* Whatever the folder refuses (ENOSPC, EDQUOT, EFBIG, EIO, ...) is this side's storage,
         * not the referral: it passes when the disk has room again. */
        snprintf(reason, cap, "cannot write the referral file: %.200s", d.what);
        return PARTNER_SINK_DEFERRED;
    }
    return PARTNER_SINK_STORED;
}

/* --- --exec ------------------------------------------------------------------------------- */

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short: the caller's loop looks again */
}

static int s_is_ours(const char *var)
{
    return strncmp(var, "MELDNET_REGISTRATION=", 21) == 0 ||
           strncmp(var, "MELDNET_TOPICS=", 15) == 0 || strncmp(var, "MELDNET_ATTEMPT=", 16) == 0 ||
           strncmp(var, "MELDNET_ACUTE=", 14) == 0 || strncmp(var, "MELDNET_PARTNER=", 16) == 0;
}

/* The command's environment: ours without stale MELDNET_* values, then the five variables.
 * vars holds their text; *envp_out is a malloc'd array of pointers into environ and vars. */
static int s_build_env(const partner_sink *sink, const partner_sink_item *it, uint64_t variant,
                       char vars[5][PARTNER_STATE_TOPICS_MAX + 32], char ***envp_out)
{
    char reg[32], topics[PARTNER_STATE_TOPICS_MAX];
    size_t n = 0, k = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **envp = calloc(n + 6, sizeof *envp);
    if (!envp)
        return -1;
    for (char **e = environ; e && *e; e++)
        if (!s_is_ours(*e))
            envp[k++] = *e;
    mn_registration_format(it->registration, reg, sizeof reg);
    mn_topics_join(it->topics, ",", topics, sizeof topics);
    if (variant) /* a number given again: the name the command keys on must differ too */
        snprintf(vars[0], sizeof vars[0], "MELDNET_REGISTRATION=%s-%llu", reg,
                 (unsigned long long)variant);
    else
        snprintf(vars[0], sizeof vars[0], "MELDNET_REGISTRATION=%s", reg);
    snprintf(vars[1], sizeof vars[1], "MELDNET_TOPICS=%s", topics);
    snprintf(vars[2], sizeof vars[2], "MELDNET_ATTEMPT=%u", (unsigned)it->attempt);
    snprintf(vars[3], sizeof vars[3], "MELDNET_ACUTE=%d", it->acute ? 1 : 0);
    snprintf(vars[4], sizeof vars[4], "MELDNET_PARTNER=%s", sink->partner);
    for (size_t i = 0; i < 5; i++)
        envp[k++] = vars[i];
    envp[k] = NULL;
    *envp_out = envp;
    return 0;
}

static int s_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static int s_spawn(const partner_sink *sink, char **envp, int stdin_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t def, none;
    char *argv[] = {"sh", "-c", sink->command, NULL};
    int rc;

    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE); /* ignored here; the command gets the defaults */
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    sigaddset(&def, SIGXFSZ); /* ignored by listen, so a file size limit fails a write */
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    if ((rc = posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &def)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
        (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                                  POSIX_SPAWN_SETPGROUP)) == 0) {
        /* What the command writes holds a referral: private like --out's files (0600, folders
         * 0700), whatever umask started us. posix_spawn cannot set the child's umask, so ours
         * is set around it (no other thread of ours creates files meanwhile). */
        mode_t old = umask(077);
        rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, envp);
        umask(old);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Wait for pid up to grace_ms; 1 when it ended (status filled), 0 when not. */
static int s_reap(pid_t pid, long grace_ms, int *status)
{
    for (long waited = 0;; waited += S_POLL_MS) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (waited >= grace_ms)
            return 0;
        s_sleep_ms(S_POLL_MS);
    }
}

/* End the command and what it started (its own process group): SIGTERM, then SIGKILL after
 * the grace time; always reaps the shell. */
static void s_kill(pid_t pid)
{
    int status;
    kill(-pid, SIGTERM);
    if (s_reap(pid, S_KILL_GRACE_MS, &status)) {
        kill(-pid, SIGKILL); /* whatever the shell left behind */
        return;
    }
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static partner_sink_outcome s_put_exec(partner_sink *sink, const partner_sink_item *it,
                                       uint64_t variant, const char *json, size_t len, char *reason,
                                       size_t cap)
{
    /* Until the command has run, a failure is this side's (memory, pipes, processes). */
    partner_sink_outcome outcome = PARTNER_SINK_DEFERRED;
    char vars[5][PARTNER_STATE_TOPICS_MAX + 32];
    char **envp = NULL;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    size_t off = 0;
    int status = 0, err;

    if (s_build_env(sink, it, variant, vars, &envp) != 0) {
        snprintf(reason, cap, "no memory to start the command");
        goto out;
    }
    if (pipe(fds) != 0 || s_cloexec(fds[0]) != 0 || s_cloexec(fds[1]) != 0) {
        snprintf(reason, cap, "cannot make a pipe for the command: %s", strerror(errno));
        goto out;
    }
    if ((err = s_spawn(sink, envp, fds[0], &pid)) != 0) {
        snprintf(reason, cap, "cannot start /bin/sh: %s", strerror(err));
        pid = -1;
        goto out;
    }
    close(fds[0]);
    fds[0] = -1;
    if (fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK) != 0) {
        snprintf(reason, cap, "cannot set up the command's input: %s", strerror(errno));
        s_kill(pid);
        pid = -1;
        goto out;
    }
    outcome = PARTNER_SINK_REFUSED;
    uint64_t deadline = mn_mono_ms() + (uint64_t)sink->exec_timeout_s * 1000;
    for (;;) {
        if (sink->stop && *sink->stop) {
            s_kill(pid);
            pid = -1;
            snprintf(reason, cap, "stopped while the command ran");
            outcome = PARTNER_SINK_INTERRUPTED;
            goto out;
        }
        if (mn_mono_ms() >= deadline) {
            s_kill(pid);
            pid = -1;
            snprintf(reason, cap, "command ran longer than %u s and was stopped",
                     sink->exec_timeout_s);
            goto out;
        }
        if (fds[1] >= 0 && off < len) {
            struct pollfd pfd = {fds[1], POLLOUT, 0};
            if (poll(&pfd, 1, S_POLL_MS) > 0) {
                ssize_t w = write(fds[1], json + off, len - off);
                if (w > 0)
                    off += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR)
                    off = len; /* EPIPE: it stopped reading; its exit status decides */
            }
        } else {
            if (fds[1] >= 0) {
                close(fds[1]); /* end of input */
                fds[1] = -1;
            }
            s_sleep_ms(S_POLL_MS);
        }
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(reason, cap, "lost the command: %s", strerror(errno));
            pid = -1;
            goto out;
        }
    }
    pid = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        outcome = PARTNER_SINK_STORED;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == S_EXIT_TEMPFAIL) {
        snprintf(reason, cap, "command exited %d (try again later)", S_EXIT_TEMPFAIL);
        outcome = PARTNER_SINK_DEFERRED;
    } else if (WIFEXITED(status)) {
        snprintf(reason, cap, "command exited %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(reason, cap, "command was killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(reason, cap, "command ended with status 0x%x", (unsigned)status);
    }
    if (outcome != PARTNER_SINK_STORED && sink->stop && *sink->stop)
        outcome = PARTNER_SINK_INTERRUPTED; /* it got our Ctrl-C too: not its fault */
out:
    if (pid > 0)
        s_kill(pid);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(envp);
    return outcome;
}

partner_sink_outcome partner_sink_put(partner_sink *sink, const partner_sink_item *it,
                                      const char *json, size_t len, char *reason, size_t cap)
{
    partner_sink_outcome outcome;
    reason[0] = '\0';
    if (it->registration == 0) {
        snprintf(reason, cap, "registration 0 is not valid");
        outcome = PARTNER_SINK_REFUSED;
        goto out;
    }
    uint64_t variant = s_variant(sink, it);
    if (s_has(sink, it->registration, variant)) {
        if (!partner_state_find(sink->state, it->registration, variant, NULL))
            s_mark(sink, it, variant); /* the file was there (a crash before its marker) */
        outcome = PARTNER_SINK_DUPLICATE;
        goto out;
    }
    outcome = sink->mode == PARTNER_SINK_OUT
                  ? s_put_file(sink, it, variant, json, len, reason, cap)
                  : s_put_exec(sink, it, variant, json, len, reason, cap);
    if (outcome == PARTNER_SINK_STORED)
        s_mark(sink, it, variant);
out:
    /* A deferral is no refusal (and a full disk would rewrite the file for every item). */
    if (outcome == PARTNER_SINK_REFUSED)
        partner_sink_note_refusal(sink, it, reason);
    return outcome;
}
