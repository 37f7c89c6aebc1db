/* test_mn_key.c - unit tests for mn_key: identities, secret files, public lines, fingerprints.
 *
 * Known-answer vectors (public keys derived from fixed secrets, fingerprints, base64) were
 * computed with an independent implementation (Python's cryptography and hashlib modules).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mn_file_fixture.h"
#include "mn_key.h"

/* Secrets 00..1f (curve), 20..3f (Ed25519 seed), 40..5f (box) and what they must derive. */
#define KAT_CURVE_SK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KAT_SIGN_SEED "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
#define KAT_BOX_SK "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8"
#define KAT_CURVE_PK "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8"
#define KAT_SIGN_PK "Kay64UG8yvCyLhqU000LxzYeUm0L_hLIl5S8kyKWbdc"
#define KAT_BOX_PK "eaYx7t4b-cmPEgMs3q3Q56B5OY_HhriMyEbsia-FpRo"
#define KAT_SECRET_LINE                                                                            \
    "meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED                 \
    " box=" KAT_BOX_SK
#define KAT_PUBLIC_LINE                                                                            \
    "meldnet1 partner police-nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK
#define KAT_FINGERPRINT "0f7da899022b5275"

typedef struct fixture {
    char dir[64];
} fixture;

/* ---------------------------------------------------------------------------------------------
 * Helpers */

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_mn_key.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    DIR *dir = opendir(f->dir);
    if (dir) {
        struct dirent *e;
        char path[600];
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            if (unlink(path) != 0)
                rmdir(path);
        }
        closedir(dir);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_path(const fixture *f, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->dir, name);
}

static void s_write(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void s_assert_pub_equal(const mn_pubkey *a, const mn_pubkey *b)
{
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->name, b->name);
    assert_memory_equal(a->curve, b->curve, MN_KEY_BYTES);
    assert_memory_equal(a->sign, b->sign, MN_KEY_BYTES);
    assert_memory_equal(a->box, b->box, MN_KEY_BYTES);
}

/* ---------------------------------------------------------------------------------------------
 * Names, roles */

static void test_roles_and_names(void **state)
{
    (void)state;
    mn_role r = MN_ROLE_AGENT;
    const char *names[] = {"agent", "partner", "gateway", "registry"};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(mn_role_name((mn_role)i), names[i]);
        assert_int_equal(mn_role_parse(names[i], &r), MN_OK);
        assert_int_equal(r, (mn_role)i);
    }
    assert_int_equal(mn_role_parse("Agent", &r), MN_EINVAL);
    assert_int_equal(mn_role_parse("", &r), MN_EINVAL);
    assert_int_equal(mn_role_parse(NULL, &r), MN_EINVAL);

    char longest[MN_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[MN_NAME_MAX] = '\0';
    assert_true(mn_name_is_valid(longest));
    longest[MN_NAME_MAX] = 'a';
    longest[MN_NAME_MAX + 1] = '\0';
    assert_false(mn_name_is_valid(longest));
    assert_true(mn_name_is_valid("district-utrecht"));
    assert_true(mn_name_is_valid("A.b_c-9"));
    assert_false(mn_name_is_valid(""));
    assert_false(mn_name_is_valid(NULL));
    assert_false(mn_name_is_valid("a b"));
    assert_false(mn_name_is_valid("a/b"));
    assert_false(mn_name_is_valid("caf\xc3\xa9"));
}

/* ---------------------------------------------------------------------------------------------
 * Identities */

static void test_generate_save_load_roundtrip(void **state)
{
    fixture *f = *state;
    char sec[300], pub[300];
    mn_key *key = NULL, *loaded = NULL;
    mn_diag d;
    mn_pubkey from_file;

    mn_diag_clear(&d);
    s_path(f, "hotline.key", sec, sizeof sec);
    s_path(f, "hotline.pub", pub, sizeof pub);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "hotline-amsterdam", &key, &d), MN_OK);
    assert_non_null(key);
    assert_int_equal(mn_key_public(key)->role, MN_ROLE_AGENT);
    assert_string_equal(mn_key_public(key)->name, "hotline-amsterdam");
    assert_int_equal(mn_key_save(key, sec, pub, &d), MN_OK);
    assert_int_equal(file_mode(sec), 0600);
    assert_int_equal(file_mode(pub), 0644);
    assert_int_equal(file_count_entries(f->dir), 2); /* no temporary files left behind */

    char text[1024];
    file_read_small(sec, text, sizeof text);
    assert_non_null(strstr(text, "# meldnet secret identity"));
    assert_non_null(strstr(text, "\nmeldnet1-secret agent hotline-amsterdam curve="));

    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_OK);
    assert_non_null(loaded);
    s_assert_pub_equal(mn_key_public(loaded), mn_key_public(key));
    assert_memory_equal(mn_key_curve_secret(loaded), mn_key_curve_secret(key), 32);
    assert_memory_equal(mn_key_sign_secret(loaded), mn_key_sign_secret(key), 64);
    assert_memory_equal(mn_key_box_secret(loaded), mn_key_box_secret(key), 32);
    /* libsodium's sk form ends with the public key. */
    assert_memory_equal(mn_key_sign_secret(loaded) + 32, mn_key_public(key)->sign, 32);

    assert_int_equal(mn_pubkey_load(pub, &from_file, &d), MN_OK);
    s_assert_pub_equal(&from_file, mn_key_public(key));

    /* Two fresh identities differ. */
    mn_key *other = NULL;
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "hotline-amsterdam", &other, &d), MN_OK);
    assert_memory_not_equal(mn_key_public(other)->curve, mn_key_public(key)->curve, 32);
    assert_memory_not_equal(mn_key_public(other)->sign, mn_key_public(key)->sign, 32);
    assert_memory_not_equal(mn_key_public(other)->box, mn_key_public(key)->box, 32);
    mn_key_destroy(&other);

    mn_key_destroy(&loaded);
    mn_key_destroy(&key);
}

/* A secret file whose public file next to it (NAME.key, NAME.pub) is another identity's is
 * refused, naming which key differs; without a public file it loads. */
static void test_load_checks_pair(void **state)
{
    fixture *f = *state;
    char sec[300], pub[300], other_sec[300], other_pub[300];
    mn_key *key = NULL, *other = NULL, *loaded = NULL;
    mn_diag d;
    mn_pubkey mixed;

    mn_diag_clear(&d);
    s_path(f, "gateway.key", sec, sizeof sec);
    s_path(f, "gateway.pub", pub, sizeof pub);
    s_path(f, "old.key", other_sec, sizeof other_sec);
    s_path(f, "old.pub", other_pub, sizeof other_pub);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &key, &d), MN_OK);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &other, &d), MN_OK);
    assert_int_equal(mn_key_save(key, sec, pub, &d), MN_OK);
    assert_int_equal(mn_key_save(other, other_sec, other_pub, &d), MN_OK);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_OK); /* the pair belongs together */
    mn_key_destroy(&loaded);

    /* gateway.pub replaced by another gateway's public line */
    assert_int_equal(rename(other_pub, pub), 0);
    mn_diag_clear(&d);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_EKEY);
    assert_null(loaded);
    assert_non_null(strstr(d.what, "the key files do not belong together"));
    assert_non_null(strstr(d.what, "gateway.key was made for another gateway.pub"));
    assert_non_null(strstr(d.what, "transport (curve)"));
    assert_non_null(strstr(d.hint, "same backup"));
    assert_string_equal(d.where, sec);

    /* Only the signing key differs (an agent's sign key that is not its public line's). */
    mixed = *mn_key_public(key);
    memcpy(mixed.sign, mn_key_public(other)->sign, MN_KEY_BYTES);
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(mn_pubkey_save(&mixed, pub, &d), MN_OK);
    mn_diag_clear(&d);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "signing (sign)"));

    /* Only the box key differs. */
    mixed = *mn_key_public(key);
    memcpy(mixed.box, mn_key_public(other)->box, MN_KEY_BYTES);
    assert_int_equal(mn_pubkey_save(&mixed, pub, &d), MN_OK);
    mn_diag_clear(&d);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "encryption (box)"));

    /* Another name. */
    mixed = *mn_key_public(key);
    snprintf(mixed.name, sizeof mixed.name, "gateway-2");
    assert_int_equal(mn_pubkey_save(&mixed, pub, &d), MN_OK);
    mn_diag_clear(&d);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "role or name"));

    /* No public file: nothing to compare. */
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_OK);
    mn_key_destroy(&loaded);
    mn_key_destroy(&other);
    mn_key_destroy(&key);
}

static void test_save_without_public_file(void **state)
{
    fixture *f = *state;
    char sec[300];
    mn_key *key = NULL;
    mn_diag d;
    s_path(f, "only.key", sec, sizeof sec);
    assert_int_equal(mn_key_generate(MN_ROLE_REGISTRY, "comensha", &key, &d), MN_OK);
    assert_int_equal(mn_key_save(key, sec, NULL, &d), MN_OK);
    assert_int_equal(file_count_entries(f->dir), 1);
    assert_int_equal(mn_key_save(key, sec, sec, &d), MN_EINVAL);
    mn_key_destroy(&key);
}

static void test_save_refuses_overwrite(void **state)
{
    fixture *f = *state;
    char sec[300], pub[300], before[1024], after[1024];
    mn_key *a = NULL, *b = NULL;
    mn_diag d;

    s_path(f, "gw.key", sec, sizeof sec);
    s_path(f, "gw.pub", pub, sizeof pub);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &a, &d), MN_OK);
    assert_int_equal(mn_key_generate(MN_ROLE_GATEWAY, "gateway", &b, &d), MN_OK);
    assert_int_equal(mn_key_save(a, sec, pub, &d), MN_OK);
    file_read_small(sec, before, sizeof before);
    char pub_before[512], pub_after[512];
    file_read_small(pub, pub_before, sizeof pub_before);

    mn_diag_clear(&d);
    assert_int_equal(mn_key_save(b, sec, pub, &d), MN_EEXIST);
    assert_int_equal(d.code, MN_EEXIST);
    assert_string_equal(d.where, sec);
    file_read_small(sec, after, sizeof after);
    assert_string_equal(before, after);
    file_read_small(pub, pub_after, sizeof pub_after);
    assert_string_equal(pub_before, pub_after); /* the public file of the old key is kept too */
    assert_int_equal(file_count_entries(f->dir), 2);

    /* Not even a dangling symlink is replaced. */
    char link_path[300];
    s_path(f, "dangling.key", link_path, sizeof link_path);
    assert_int_equal(symlink("/nonexistent/meldnet-target", link_path), 0);
    assert_int_equal(mn_key_save(b, link_path, NULL, &d), MN_EEXIST);
    assert_int_equal(unlink(link_path), 0);

    mn_key_destroy(&a);
    mn_key_destroy(&b);
}

static void test_load_refuses_readable_by_others(void **state)
{
    fixture *f = *state;
    char sec[300];
    mn_key *key = NULL, *loaded = NULL;
    mn_diag d;
    const mode_t bad[] = {0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0666, 0777};
    char expect_hint[400];

    s_path(f, "perm.key", sec, sizeof sec);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "perm", &key, &d), MN_OK);
    assert_int_equal(mn_key_save(key, sec, NULL, &d), MN_OK);
    snprintf(expect_hint, sizeof expect_hint, "chmod 600 %s", sec);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(sec, bad[i]), 0);
        mn_diag_clear(&d);
        loaded = (mn_key *)(uintptr_t)1;
        assert_int_equal(mn_key_load(sec, &loaded, &d), MN_EPERM);
        assert_null(loaded);
        assert_int_equal(d.code, MN_EPERM);
        assert_string_equal(d.where, sec);
        assert_non_null(strstr(d.hint, expect_hint));
    }
    assert_int_equal(chmod(sec, 0400), 0);
    assert_int_equal(mn_key_load(sec, &loaded, &d), MN_OK);
    mn_key_destroy(&loaded);
    mn_key_destroy(&key);
}

static void test_load_known_answer(void **state)
{
    fixture *f = *state;
    char sec[300], line[MN_PUBLIC_LINE_MAX], fp[MN_FINGERPRINT_CHARS + 1];
    mn_key *key = NULL;
    mn_diag d;

    s_path(f, "kat.key", sec, sizeof sec);
    s_write(sec, "# a comment\n\n   # indented comment\r\n  " KAT_SECRET_LINE "  \r\n\n", 0600);
    assert_int_equal(mn_key_load(sec, &key, &d), MN_OK);
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    assert_string_equal(line, KAT_PUBLIC_LINE);
    mn_pubkey_fingerprint(mn_key_public(key), fp, sizeof fp);
    assert_string_equal(fp, KAT_FINGERPRINT);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(mn_key_curve_secret(key)[i], i);
        assert_int_equal(mn_key_sign_secret(key)[i], 32 + i);
        assert_int_equal(mn_key_box_secret(key)[i], 64 + i);
    }
    mn_key_destroy(&key);
}

static void test_load_malformed_secret_files(void **state)
{
    fixture *f = *state;
    char path[300];
    mn_key *key = NULL;
    mn_diag d;
    const struct {
        const char *text;
        int line;         /* expected line in diag.where, 0: the path alone */
        const char *what; /* substring of diag.what */
    } cases[] = {
        {"", 0, "no key line"},
        {"# only a comment\n\n", 0, "no key line"},
        {KAT_PUBLIC_LINE "\n", 1, "must start with \"meldnet1-secret\""},
        {"# c\n" KAT_SECRET_LINE "\n" KAT_SECRET_LINE "\n", 3, "a second key line"},
        {"meldnet1-secret boss police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         " box=" KAT_BOX_SK "\n",
         1, "unknown role"},
        {"meldnet1-secret partner police/nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         " box=" KAT_BOX_SK "\n",
         1, "name (3rd part)"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED "\n", 1,
         "missing the box= part"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         "x box=" KAT_BOX_SK "\n",
         1, "sign= key is 44 characters"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         " box=+" KAT_BOX_SK "\n",
         1, "box= key is 44 characters"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         " box=*EFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8\n",
         1, "box= key is not valid URL-safe base64"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK " sign=" KAT_SIGN_SEED
         " box=" KAT_BOX_SK " trailing\n",
         1, "unexpected text"},
        {"meldnet1-secret partner police-nl curve=" KAT_CURVE_SK "\0 sign=" KAT_SIGN_SEED, 1,
         "missing the sign= part"},
    };

    s_path(f, "bad.key", path, sizeof path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char where[400];
        s_write(path, cases[i].text, 0600);
        mn_diag_clear(&d);
        assert_int_equal(mn_key_load(path, &key, &d), MN_EKEY);
        assert_null(key);
        if (cases[i].line)
            snprintf(where, sizeof where, "%s:%d", path, cases[i].line);
        else
            snprintf(where, sizeof where, "%s", path);
        assert_string_equal(d.where, where);
        if (!strstr(d.what, cases[i].what))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, d.what, cases[i].what);
        /* A secret file's key material never appears in a diagnostic. */
        assert_null(strstr(d.what, "AAECAwQF"));
        assert_null(strstr(d.what, "ICEiIyQl"));
        assert_null(strstr(d.what, "QEFCQ0RF"));
        assert_null(strstr(d.what, "EFCQ0RF"));
    }

    /* A NUL byte inside the key line. */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    static const char with_nul[] = "meldnet1-secret partner police-nl\0 curve=x\n";
    assert_int_equal(write(fd, with_nul, sizeof with_nul - 1), (ssize_t)sizeof with_nul - 1);
    close(fd);
    assert_int_equal(mn_key_load(path, &key, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "NUL"));

    /* Oversized file. */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, '#', 9999);
    big[9999] = '\0';
    s_write(path, big, 0600);
    free(big);
    assert_int_equal(mn_key_load(path, &key, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "larger than"));

    /* Missing file and a directory. */
    s_path(f, "missing.key", path, sizeof path);
    assert_int_equal(mn_key_load(path, &key, &d), MN_ESYS);
    assert_int_equal(d.sys_errno, ENOENT);
    assert_string_equal(d.where, path);
    s_path(f, "subdir", path, sizeof path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mn_key_load(path, &key, &d), MN_EKEY);
    assert_non_null(strstr(d.what, "not a regular file"));
    assert_null(key);
}

static void test_generate_bad_inputs(void **state)
{
    (void)state;
    mn_key *key = NULL;
    mn_diag d;
    char longname[MN_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "", &key, &d), MN_EINVAL);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "bad name", &key, &d), MN_EINVAL);
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, longname, &key, &d), MN_EINVAL);
    assert_int_equal(mn_key_generate((mn_role)7, "ok", &key, &d), MN_EINVAL);
    assert_null(key);
    longname[MN_NAME_MAX] = '\0';
    assert_int_equal(mn_key_generate(MN_ROLE_PARTNER, longname, &key, &d), MN_OK);
    char line[MN_PUBLIC_LINE_MAX];
    mn_pubkey back;
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    assert_true(strlen(line) < MN_PUBLIC_LINE_MAX);
    assert_int_equal(mn_pubkey_parse(line, &back, &d), MN_OK);
    s_assert_pub_equal(&back, mn_key_public(key));
    mn_key_destroy(&key);
}

static void test_destroy_twice(void **state)
{
    (void)state;
    mn_key *key = NULL;
    mn_secret32 *s = NULL;
    mn_diag d;
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "twice", &key, &d), MN_OK);
    mn_key_destroy(&key);
    assert_null(key);
    mn_key_destroy(&key);
    mn_key_destroy(NULL);
    assert_int_equal(mn_secret32_generate(&s, &d), MN_OK);
    mn_secret32_destroy(&s);
    assert_null(s);
    mn_secret32_destroy(&s);
    mn_secret32_destroy(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Public lines */

static void test_public_line_roundtrip(void **state)
{
    (void)state;
    mn_key *key = NULL;
    mn_pubkey back;
    mn_diag d;
    char line[MN_PUBLIC_LINE_MAX], padded[MN_PUBLIC_LINE_MAX + 16];

    for (int role = MN_ROLE_AGENT; role <= MN_ROLE_REGISTRY; role++) {
        assert_int_equal(mn_key_generate((mn_role)role, "care.region-07_x", &key, &d), MN_OK);
        mn_pubkey_format(mn_key_public(key), line, sizeof line);
        assert_int_equal(strncmp(line, "meldnet1 ", 9), 0);
        assert_null(strchr(line, '\n'));
        assert_int_equal(mn_pubkey_parse(line, &back, &d), MN_OK);
        s_assert_pub_equal(&back, mn_key_public(key));
        snprintf(padded, sizeof padded, "  \t%s \r\n", line);
        assert_int_equal(mn_pubkey_parse(padded, &back, &d), MN_OK);
        s_assert_pub_equal(&back, mn_key_public(key));
        mn_key_destroy(&key);
    }
    /* Tabs and repeated blanks between parts are accepted. */
    assert_int_equal(mn_pubkey_parse("meldnet1\tpartner   police-nl\tcurve=" KAT_CURVE_PK
                                     "  sign=" KAT_SIGN_PK " box=" KAT_BOX_PK "\n",
                                     &back, &d),
                     MN_OK);
    assert_int_equal(back.role, MN_ROLE_PARTNER);
    assert_string_equal(back.name, "police-nl");
    mn_pubkey_format(&back, line, sizeof line);
    assert_string_equal(line, KAT_PUBLIC_LINE);
}

static void test_public_line_malformed(void **state)
{
    (void)state;
    char name65[MN_NAME_MAX + 2];
    char long_name_line[400];
    memset(name65, 'n', sizeof name65 - 1);
    name65[sizeof name65 - 1] = '\0';
    snprintf(long_name_line, sizeof long_name_line,
             "meldnet1 partner %s curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
             name65);

#define P_ "meldnet1 partner police-nl "
    const struct {
        const char *line;
        const char *what;
    } cases[] = {
        {"", "empty public key line"},
        {"   \n", "empty public key line"},
        {"meldnet2 partner police-nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "must start with \"meldnet1\", found \"meldnet2\""},
        {"Meldnet1 partner police-nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "must start with \"meldnet1\""},
        {KAT_SECRET_LINE, "SECRET key line"},
        {"meldnet1", "missing the role"},
        {"meldnet1 boss police-nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "unknown role \"boss\""},
        {"meldnet1 Partner police-nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "unknown role"},
        {"meldnet1 partnerpartnerpartner police-nl curve=" KAT_CURVE_PK, "unknown role"},
        {"meldnet1 partner", "missing the name"},
        {"meldnet1 partner police/nl curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "name \"police/nl\" (3rd part) has a character outside"},
        {"meldnet1 partner pol\xc3\xaf"
         "ce curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "(3rd part) has a character outside"},
        {long_name_line, "name (3rd part) is 65 characters, at most 64"},
        {P_, "missing the curve= part"},
        {P_ "curve=" KAT_CURVE_PK, "missing the sign= part"},
        {P_ "curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK, "missing the box= part"},
        {P_ "curve=" KAT_CURVE_PK " box=" KAT_BOX_PK, "expected the sign= part as the 5th part"},
        {P_ "sign=" KAT_SIGN_PK " curve=" KAT_CURVE_PK " box=" KAT_BOX_PK,
         "expected the curve= part as the 4th part of the public key line, found sign="},
        {P_ "curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " key=" KAT_BOX_PK,
         "expected the box= part as the 6th part of the public key line, found something else"},
        {P_ "curve " KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "expected the curve= part"},
        {P_ "curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK " extra",
         "unexpected text after the box= part"},
        {P_ "curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK " box=" KAT_BOX_PK " #comment",
         "unexpected text after the box= part"},
        {P_ "curve= sign=" KAT_SIGN_PK " box=" KAT_BOX_PK, "curve= key is 0 characters"},
        {P_ "curve=j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "curve= key is 42 characters, expected 43"},
        {P_ "curve=" KAT_CURVE_PK "= sign=" KAT_SIGN_PK " box=" KAT_BOX_PK,
         "curve= key is 44 characters, expected 43"},
        {P_ "curve=" KAT_CURVE_PK " sign=Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc"
            " box=" KAT_BOX_PK,
         "sign= key is not valid URL-safe base64"},
        {P_ "curve=" KAT_CURVE_PK " sign=Kay64UG8yvCyLhqU000LxzYeUm0L+hLIl5S8kyKWbdc"
            " box=" KAT_BOX_PK,
         "sign= key is not valid URL-safe base64"},
        {P_ "curve=" KAT_CURVE_PK " sign=" KAT_SIGN_PK
            " box=eaYx7t4b-cmPEgMs3q3Q56B5OY_HhriMyEbsia-FpR!",
         "box= key is not valid URL-safe base64"},
        /* Same bytes, but the last character carries non-zero unused bits: not canonical. */
        {P_ "curve=j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF9 sign=" KAT_SIGN_PK
            " box=" KAT_BOX_PK,
         "curve= key is not valid URL-safe base64"},
    };
#undef P_

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mn_pubkey out;
        mn_diag d;
        memset(&out, 0xa5, sizeof out);
        mn_diag_clear(&d);
        int rc = mn_pubkey_parse(cases[i].line, &out, &d);
        if (rc != MN_EKEY)
            fail_msg("case %zu (%s): rc %d, expected MN_EKEY", i, cases[i].line, rc);
        assert_int_equal(d.code, MN_EKEY);
        if (!strstr(d.what, cases[i].what))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, d.what, cases[i].what);
        /* *out is untouched on failure. */
        assert_int_equal(((uint8_t *)&out)[0], 0xa5);
        assert_int_equal(out.curve[0], 0xa5);
    }
    mn_pubkey out;
    assert_int_equal(mn_pubkey_parse(NULL, &out, NULL), MN_EKEY);
    assert_int_equal(mn_pubkey_parse("meldnet1", &out, NULL), MN_EKEY); /* diag is optional */
}

static void test_pubkey_files(void **state)
{
    fixture *f = *state;
    char path[300], text[512];
    mn_pubkey pub, back;
    mn_diag d;

    s_path(f, "police.pub", path, sizeof path);
    assert_int_equal(mn_pubkey_parse(KAT_PUBLIC_LINE, &pub, &d), MN_OK);
    assert_int_equal(mn_pubkey_save(&pub, path, &d), MN_OK);
    assert_int_equal(file_mode(path), 0644);
    file_read_small(path, text, sizeof text);
    assert_string_equal(text, KAT_PUBLIC_LINE "\n");
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_OK);
    s_assert_pub_equal(&back, &pub);
    /* A public file may be overwritten (crash-safe replace). */
    assert_int_equal(mn_pubkey_save(&pub, path, &d), MN_OK);
    assert_int_equal(file_count_entries(f->dir), 1);

    s_write(path, "# police, national unit\n\n" KAT_PUBLIC_LINE "\n# end\n", 0644);
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_OK);
    s_assert_pub_equal(&back, &pub);

    char where[400];
    s_write(path, "# two\n" KAT_PUBLIC_LINE "\n" KAT_PUBLIC_LINE "\n", 0644);
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_EKEY);
    snprintf(where, sizeof where, "%s:3", path);
    assert_string_equal(d.where, where);

    s_write(path, "# x\n\nmeldnet1 partner police-nl curve=" KAT_CURVE_PK "\n", 0644);
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_EKEY);
    snprintf(where, sizeof where, "%s:3", path);
    assert_string_equal(d.where, where);
    assert_non_null(strstr(d.what, "missing the sign= part"));

    s_write(path, "\n\n", 0644);
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_EKEY);

    s_path(f, "nope.pub", path, sizeof path);
    assert_int_equal(mn_pubkey_load(path, &back, &d), MN_ESYS);
}

static void test_fingerprint(void **state)
{
    (void)state;
    mn_pubkey pub;
    char a[MN_FINGERPRINT_CHARS + 1], b[MN_FINGERPRINT_CHARS + 1];
    memset(&pub, 0, sizeof pub);
    memset(pub.curve, 1, sizeof pub.curve);
    memset(pub.sign, 2, sizeof pub.sign);
    memset(pub.box, 3, sizeof pub.box);
    pub.role = MN_ROLE_AGENT;
    snprintf(pub.name, sizeof pub.name, "x");
    mn_pubkey_fingerprint(&pub, a, sizeof a);
    assert_string_equal(a, "5ec1d4b3165012ec");
    assert_int_equal(strlen(a), MN_FINGERPRINT_CHARS);
    /* Name and role are not part of it; every key byte is. */
    pub.role = MN_ROLE_REGISTRY;
    snprintf(pub.name, sizeof pub.name, "other");
    mn_pubkey_fingerprint(&pub, b, sizeof b);
    assert_string_equal(a, b);
    pub.box[31] ^= 1;
    mn_pubkey_fingerprint(&pub, b, sizeof b);
    assert_string_not_equal(a, b);

    mn_key *key = NULL;
    mn_diag d;
    mn_pubkey parsed;
    char line[MN_PUBLIC_LINE_MAX];
    assert_int_equal(mn_key_generate(MN_ROLE_AGENT, "fp", &key, &d), MN_OK);
    mn_pubkey_fingerprint(mn_key_public(key), a, sizeof a);
    mn_pubkey_format(mn_key_public(key), line, sizeof line);
    assert_int_equal(mn_pubkey_parse(line, &parsed, &d), MN_OK);
    mn_pubkey_fingerprint(&parsed, b, sizeof b);
    assert_string_equal(a, b);
    mn_key_destroy(&key);
}

/* ---------------------------------------------------------------------------------------------
 * Digest keys and crash-safe writes */

static void test_secret32(void **state)
{
    fixture *f = *state;
    char path[300], text[512];
    mn_secret32 *s = NULL, *back = NULL, *other = NULL;
    mn_diag d;

    s_path(f, "digest.key", path, sizeof path);
    assert_int_equal(mn_secret32_generate(&s, &d), MN_OK);
    assert_int_equal(mn_secret32_save(s, path, &d), MN_OK);
    assert_int_equal(file_mode(path), 0600);
    file_read_small(path, text, sizeof text);
    assert_non_null(strstr(text, "\nmeldnet1-digest-key "));
    assert_int_equal(mn_secret32_load(path, &back, &d), MN_OK);
    assert_memory_equal(mn_secret32_bytes(back), mn_secret32_bytes(s), 32);
    mn_secret32_destroy(&back);

    assert_int_equal(mn_secret32_generate(&other, &d), MN_OK);
    assert_memory_not_equal(mn_secret32_bytes(other), mn_secret32_bytes(s), 32);
    assert_int_equal(mn_secret32_save(other, path, &d), MN_EEXIST);
    mn_secret32_destroy(&other);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(mn_secret32_load(path, &back, &d), MN_EPERM);
    assert_non_null(strstr(d.hint, "chmod 600"));
    assert_null(back);

    s_write(path, "meldnet1-digest-key " KAT_CURVE_SK "\n", 0600);
    assert_int_equal(mn_secret32_load(path, &back, &d), MN_OK);
    for (int i = 0; i < 32; i++)
        assert_int_equal(mn_secret32_bytes(back)[i], i);
    mn_secret32_destroy(&back);

    const struct {
        const char *text;
        const char *what;
    } bad[] = {
        {"meldnet1-digest-key\n", "missing the key"},
        {"meldnet1-digestkey " KAT_CURVE_SK "\n", "must start with"},
        {"meldnet1-digest-key " KAT_CURVE_SK " more\n", "unexpected text"},
        {"meldnet1-digest-key " KAT_CURVE_SK "A\n", "44 characters"},
        {"meldnet1-digest-key +AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", "not valid"},
        {"# nothing\n", "no key line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write(path, bad[i].text, 0600);
        assert_int_equal(mn_secret32_load(path, &back, &d), MN_EKEY);
        assert_null(back);
        if (!strstr(d.what, bad[i].what))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, d.what, bad[i].what);
        assert_null(strstr(d.what, "AAECAwQF"));
    }
    mn_secret32_destroy(&s);
}

int main(void)
{
    if (mn_crypto_init() != MN_OK)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_names),
        T(test_generate_save_load_roundtrip),
        T(test_load_checks_pair),
        T(test_save_without_public_file),
        T(test_save_refuses_overwrite),
        T(test_load_refuses_readable_by_others),
        T(test_load_known_answer),
        T(test_load_malformed_secret_files),
        cmocka_unit_test(test_generate_bad_inputs),
        cmocka_unit_test(test_destroy_twice),
        cmocka_unit_test(test_public_line_roundtrip),
        cmocka_unit_test(test_public_line_malformed),
        T(test_pubkey_files),
        cmocka_unit_test(test_fingerprint),
        T(test_secret32),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
