/* gw_home_fixture.h - what the unit tests of the gateway's files share: a gateway home in a temp
 * folder (agents/, partners/, gateway.conf's path), writing and reading a file, and a fresh
 * public line. Header-only, like gw_stage_fixture.h: each test program includes it once.
 */
#ifndef GW_HOME_FIXTURE_H
#define GW_HOME_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mn_key.h"

struct fixture {
    char root[64];
    char home[128];
    char agents[160];
    char partners[160];
    char conf[160];
};

/* cmocka set-up: a new /tmp/NAME.XXXXXX with home/, home/agents/, home/partners/. */
static inline int home_setup(void **state, const char *name)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->agents, sizeof f->agents, "%s/agents", f->home);
    snprintf(f->partners, sizeof f->partners, "%s/partners", f->home);
    snprintf(f->conf, sizeof f->conf, "%s/gateway.conf", f->home);
    if (mkdir(f->home, 0700) != 0 || mkdir(f->agents, 0700) != 0 || mkdir(f->partners, 0700) != 0)
        return -1;
    *state = f;
    return 0;
}

/* cmocka tear-down: the temp folder and all in it. */
static inline int home_teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static inline void home_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* The whole file, NUL-terminated; the caller frees it. */
static inline char *home_read(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot read %s: %s (set MN_SRCDIR to the source tree)", path, strerror(errno));
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* A fresh public line of role/name (and its key in *pub unless NULL). */
static inline void home_line(mn_role role, const char *name, char *line, size_t cap, mn_pubkey *pub)
{
    mn_key *key = NULL;
    mn_diag d = {0};
    assert_int_equal(mn_key_generate(role, name, &key, &d), MN_OK);
    mn_pubkey_format(mn_key_public(key), line, cap);
    if (pub)
        *pub = *mn_key_public(key);
    mn_key_destroy(&key);
}

#endif
