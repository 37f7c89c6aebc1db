/* ctl_top.c - meldnetctl top: the status screen, live, in the terminal (ncursesw).
 *
 * It draws the lines of ctl_status_render, the screen `meldnetctl status` prints. The only
 * file that uses the terminal library (its functions are declared in ctl_watch.h, with the
 * other views).
 *
 * Caveats: top needs a terminal; it re-reads the file every interval, which the gateway
 * replaces by rename, so a read never sees half a file.
 */
#include "ctl_watch.h"

#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_common.h"
#include "ctl_status.h"
#include "gw_snapshot.h"
#include "mn_time.h"

const char ctl_watch_usage_top[] =
    "usage: meldnetctl top [--interval MS] [--home DIR]\n"
    "\n"
    "A live view of the running gateway, like top: counters, rates over the last minute, per\n"
    "partner the queue and the age of its oldest item, silent agents (900 s). Re-reads\n"
    "run/status.json every MS milliseconds; keeps trying while the gateway is not running.\n"
    "Press q to quit. Needs a terminal: in scripts use `meldnetctl status` (--json).\n"
    "\n"
    "options:\n"
    "  --interval MS   refresh interval in milliseconds (default 1000)\n"
    "  --home DIR      the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help      this help\n";

/* --- top -------------------------------------------------------------------------------- */

static volatile sig_atomic_t s_top_stop;

static void s_on_stop(int sig)
{
    (void)sig;
    s_top_stop = 1;
}

/* Ctrl-C and SIGTERM end the loop (so endwin runs) instead of killing us mid-screen. No
 * SA_RESTART: the wait for a key returns at once. Installed before newterm, which leaves
 * handlers that are not the default alone. */
static void s_top_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void s_top_line(int y, int loud, const char *text)
{
    if (y >= LINES)
        return;
    if (loud)
        attron(A_REVERSE);
    mvaddnstr(y, 0, text, COLS);
    if (loud)
        attroff(A_REVERSE);
}

/* A message too long for one line, broken at spaces; returns the next free line. */
static int s_top_wrapped(int y, const char *text)
{
    int width = COLS > 10 ? COLS : 10;
    while (*text && y < LINES) {
        int n = (int)strlen(text);
        if (n > width) {
            n = width;
            while (n > width / 2 && text[n] != ' ')
                n--;
        }
        if (n < width && text[n] != ' ' && text[n] != '\0')
            n = width; /* no space in the second half: cut the word */
        attron(A_REVERSE);
        mvaddnstr(y++, 0, text, n);
        attroff(A_REVERSE);
        text += n;
        while (*text == ' ')
            text++;
    }
    return y;
}

/* The title line: what this is, the time, how to quit. */
static void s_top_title(unsigned interval_ms)
{
    char clock[32], text[CTL_STATUS_LINE_CHARS];
    ctl_status_iso(mn_now_ms(), clock, sizeof clock);
    snprintf(text, sizeof text, "meldnetctl top  %s  every %.1fs  q: quit", clock,
             interval_ms / 1000.0);
    attron(A_BOLD);
    s_top_line(0, 0, text);
    attroff(A_BOLD);
}

/* One frame: the title, then the status screen, or why there is none. */
static void s_top_draw(const gw_snapshot *s, int loaded, const char *msg, unsigned interval_ms,
                       ctl_status_screen *sc)
{
    int y = 2;
    char warn[CTL_STATUS_LINE_CHARS];
    uint64_t now = mn_now_ms();
    erase();
    s_top_title(interval_ms);
    if (!loaded) {
        y = s_top_wrapped(y, msg);
        s_top_line(y + 1, 0, "retrying...");
        refresh();
        return;
    }
    if (ctl_status_stale(s, now, warn, sizeof warn))
        s_top_line(y++, 1, warn);
    /* all partners when they fit; else as many as fit, and a line that says how many more
     * (counted in base when there are partners) */
    sc->n = 0;
    ctl_status_render(sc, s, &gw_snapshot_counters, now, CTL_WATCH_SILENT_AFTER_S, 0);
    long base = (long)sc->n;
    long room = (LINES < CTL_STATUS_LINES ? LINES : CTL_STATUS_LINES) - y - base;
    size_t shown = (long)s->n_partners <= room + 1 ? s->n_partners : room > 1 ? (size_t)room : 1;
    sc->n = 0;
    ctl_status_render(sc, s, &gw_snapshot_counters, now, CTL_WATCH_SILENT_AFTER_S, shown);
    for (size_t i = 0; i < sc->n; i++)
        s_top_line(y++, sc->loud[i], sc->line[i]);
    refresh();
}

/* Wait for a key up to ms; 1 when the user asked to quit. */
static int s_top_key(int ms)
{
    timeout(ms > 0 ? ms : 0);
    int ch = getch();
    return ch == 'q' || ch == 'Q';
}

static void s_top_loop(const char *status_path, unsigned interval_ms, ctl_status_screen *sc)
{
    gw_snapshot s;
    char msg[1024] = "";
    int loaded = 0;
    uint64_t next = 0;
    memset(&s, 0, sizeof s);
    while (!s_top_stop) {
        uint64_t now = mn_now_ms();
        if (now >= next) {
            gw_snapshot_clear(&s);
            loaded = ctl_status_load(status_path, &s, msg, sizeof msg) == CTL_EXIT_OK;
            next = now + interval_ms;
        }
        s_top_draw(&s, loaded, msg, interval_ms, sc); /* also after a resize (KEY_RESIZE) */
        now = mn_now_ms();
        if (s_top_key(next > now ? (int)(next - now) : 0))
            break;
    }
    gw_snapshot_clear(&s);
}

int ctl_watch_top(const char *status_path, unsigned interval_ms)
{
    struct sigaction old_int, old_term;
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "%s: top needs a terminal; use `meldnetctl status` (or `status --json`) "
                "in scripts\n",
                CTL_PROG);
        return CTL_EXIT_FAIL;
    }
    ctl_status_screen *sc = calloc(1, sizeof *sc);
    if (!sc) {
        fprintf(stderr, "%s: out of memory\n", CTL_PROG);
        return CTL_EXIT_FAIL;
    }
    s_top_stop = 0;
    s_top_signals(&old_int, &old_term);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "%s: cannot drive this terminal (TERM=%s): use `meldnetctl status`\n",
                CTL_PROG, getenv("TERM") ? getenv("TERM") : "unset");
        free(sc);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return CTL_EXIT_FAIL;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    s_top_loop(status_path, interval_ms ? interval_ms : CTL_WATCH_INTERVAL_MS, sc);
    endwin();
    delscreen(scr);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(sc);
    return CTL_EXIT_OK;
}
