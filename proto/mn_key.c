/* mn_key.c - party identities: generate, save (secret 0600), load, fingerprint, public line.
 *
 * An mn_key lives entirely in sodium_malloc memory (guard pages, mlock where the system allows)
 * and is made read-only once built, so a stray write through a borrowed pointer faults instead
 * of corrupting a key; sodium_free() wipes it. Secret file text is handled only in sodium_malloc
 * buffers too, and diagnostics about a secret file never quote its tokens.
 *
 * Parsing is strict: fixed token order, exact base64 lengths, canonical base64 (libsodium
 * rejects non-zero trailing bits), one key line per file. Every error names the part that is
 * wrong, so an operator who pasted a broken line knows what to fix.
 */
#include "mn_key.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "mn_b64.h"
#include "mn_file.h"

#define S_KEY_B64_CHARS 43      /* mn_b64_encoded_len(MN_KEY_BYTES) */
#define S_SECRET_FILE_MAX 4096  /* a secret file is one comment and one line */
#define S_PUBLIC_FILE_MAX 65536 /* a public file may carry comments */
#define S_LINE_TOKENS 6         /* prefix role name curve= sign= box= */

static const char s_public_prefix[] = "meldnet1";
static const char s_secret_prefix[] = "meldnet1-secret";
static const char s_digest_prefix[] = "meldnet1-digest-key";
static const char s_secret_comment[] =
    "# meldnet secret identity - keep this file private (mode 0600)\n";
static const char s_digest_comment[] =
    "# meldnet digest key - keep this file private (mode 0600)\n";

struct mn_key {
    mn_pubkey pub;
    uint8_t curve_sk[MN_KEY_BYTES];
    uint8_t sign_seed[MN_KEY_BYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t box_sk[MN_KEY_BYTES];
};

struct mn_secret32 {
    uint8_t bytes[MN_KEY_BYTES];
};

/* One whitespace-separated token of a line: a span, not NUL-terminated. */
typedef struct s_span {
    const char *p;
    size_t n;
} s_span;

/* ---------------------------------------------------------------------------------------------
 * Small helpers */

int mn_crypto_init(void)
{
    return sodium_init() < 0 ? MN_ECRYPTO : MN_OK;
}

static const char *const s_role_names[] = {"agent", "partner", "gateway", "registry"};
#define S_ROLE_COUNT (sizeof s_role_names / sizeof s_role_names[0])

const char *mn_role_name(mn_role role)
{
    if ((unsigned)role < S_ROLE_COUNT)
        return s_role_names[role];
    return "unknown";
}

int mn_role_parse(const char *text, mn_role *out)
{
    for (size_t i = 0; text && i < S_ROLE_COUNT; i++) {
        if (strcmp(text, s_role_names[i]) == 0) {
            *out = (mn_role)i;
            return MN_OK;
        }
    }
    return MN_EINVAL;
}

static int s_name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int s_span_is_name(s_span s)
{
    if (s.n < 1 || s.n > MN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (!s_name_char_ok((unsigned char)s.p[i]))
            return 0;
    return 1;
}

int mn_name_is_valid(const char *name)
{
    if (!name)
        return 0;
    s_span s = {name, strnlen(name, MN_NAME_MAX + 1)};
    return s_span_is_name(s);
}

static int s_span_eq(s_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int s_span_starts(s_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Copy a token for a message: printable ASCII only, shortened, never for secret files. */
static const char *s_quote(s_span s, char *buf, size_t cap)
{
    size_t shown = s.n > 24 ? 24 : s.n;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < 0x21 || s.p[i] > 0x7e)
            return "(unprintable text)";
    snprintf(buf, cap, "\"%.*s%s\"", (int)shown, s.p, shown < s.n ? "..." : "");
    return buf;
}

static int s_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Split [p, p+n) at blanks into at most cap spans; returns the number of tokens found, which
 * may exceed cap (the extra ones are counted, not stored). */
static size_t s_tokenize(const char *p, size_t n, s_span *tok, size_t cap)
{
    size_t count = 0, i = 0;
    while (i < n) {
        while (i < n && s_is_blank(p[i]))
            i++;
        if (i >= n)
            break;
        size_t start = i;
        while (i < n && !s_is_blank(p[i]))
            i++;
        if (count < cap)
            tok[count] = (s_span){p + start, i - start};
        count++;
    }
    return count;
}

/* ---------------------------------------------------------------------------------------------
 * Secret files */

static int s_write_secret(const char *path, size_t cap, mn_diag *d, const char *fmt, ...)
    MN_PRINTF(4, 5);

/* Write a secret file: fmt formatted into sodium_malloc memory of cap bytes (wiped and freed
 * after), written crash-safely with mode 0600 and never over an existing file. */
static int s_write_secret(const char *path, size_t cap, mn_diag *d, const char *fmt, ...)
{
    char *text = sodium_malloc(cap);
    va_list ap;
    if (!text)
        return mn_diag_set(d, MN_ENOMEM, path, "out of memory");
    va_start(ap, fmt);
    int n = vsnprintf(text, cap, fmt, ap);
    va_end(ap);
    assert(n > 0 && (size_t)n < cap);
    int rc = mn_file_write_exclusive(path, text, (size_t)n, 0600, d);
    sodium_free(text);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Reading files */

/* Read a whole file of at most max bytes into a fresh buffer (sodium_malloc when secret,
 * NUL-terminated). A secret file must be a regular file without group/other permissions; that is
 * checked on the open descriptor, before a byte is read. */
static int s_read_file(const char *path, int secret, size_t max, char **buf_out, size_t *len_out,
                       mn_diag *d)
{
    int rc = MN_OK;
    int fd = -1;
    char *buf = NULL;
    size_t len = 0, size = 0;
    struct stat st;

    *buf_out = NULL;
    *len_out = 0;
    /* A FIFO or device in place of a key is refused at once, never waited on. */
    rc = mn_file_open_regular(path, secret ? "secret key file" : "key file", MN_EKEY, max, &fd,
                              &size, d);
    if (rc != MN_OK)
        goto out;
    if (fstat(fd, &st) < 0) {
        rc = mn_diag_sys(d, path, "cannot stat the file");
        goto out;
    }
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        rc = mn_diag_set(d, MN_EPERM, path,
                         "secret key file has mode %04o: group or others may access it",
                         (unsigned)(st.st_mode & 07777));
        mn_diag_hint(d,
                     "chmod 600 %s (and consider the key exposed: make a new one if others "
                     "could have read it)",
                     path);
        goto out;
    }
    buf = secret ? sodium_malloc(max + 1) : malloc(max + 1);
    if (!buf) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory reading the file");
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, max + 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = mn_diag_sys(d, path, "cannot read the file");
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            rc =
                mn_diag_set(d, MN_EKEY, path, "file is larger than %zu bytes; not a key file", max);
            goto out;
        }
    }
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    buf = NULL;
out:
    if (buf) {
        if (secret) {
            sodium_free(buf);
        } else {
            free(buf);
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static void s_free_file(char *buf, size_t len, int secret)
{
    if (!buf)
        return;
    if (secret) {
        sodium_free(buf);
    } else {
        sodium_memzero(buf, len);
        free(buf);
    }
}

/* Find the one key line of a file: comments ('#') and blank lines are skipped; a second key line
 * is an error. Sets *line, *n and *lineno. */
static int s_find_key_line(const char *path, const char *buf, size_t len, const char **line,
                           size_t *n, unsigned *lineno, mn_diag *d)
{
    char where[300];
    unsigned no = 0;
    size_t i = 0;

    *line = NULL;
    while (i < len) {
        size_t start = i;
        while (i < len && buf[i] != '\n')
            i++;
        size_t end = i;
        if (i < len)
            i++;
        no++;
        size_t s = start;
        while (s < end && s_is_blank(buf[s]))
            s++;
        if (s == end || buf[s] == '#')
            continue;
        if (memchr(buf + start, '\0', end - start)) {
            snprintf(where, sizeof where, "%s:%u", path, no);
            return mn_diag_set(d, MN_EKEY, where, "line holds a NUL byte; not a key file");
        }
        if (*line) {
            snprintf(where, sizeof where, "%s:%u", path, no);
            return mn_diag_set(d, MN_EKEY, where,
                               "a second key line (line %u holds one already); a key file holds "
                               "exactly one",
                               *lineno);
        }
        *line = buf + start;
        *n = end - start;
        *lineno = no;
    }
    if (!*line)
        return mn_diag_set(d, MN_EKEY, path, "no key line in the file (empty or only comments)");
    return MN_OK;
}

/* A key file read into memory, and its one key line. */
typedef struct s_key_file {
    char *buf; /* the whole file; s_key_file_free() wipes it */
    size_t len;
    int secret;
    const char *line; /* the key line: n bytes in buf, not NUL-terminated */
    size_t n;
    char where[300]; /* "path:lineno" of the key line, for diags */
} s_key_file;

/* Read the key file at path (a secret one only when private) and find its key line. Call
 * s_key_file_free(kf) whatever this returns. */
static int s_key_file_read(const char *path, int secret, s_key_file *kf, mn_diag *d)
{
    unsigned lineno = 0;
    memset(kf, 0, sizeof *kf);
    kf->secret = secret;
    int rc = s_read_file(path, secret, secret ? S_SECRET_FILE_MAX : S_PUBLIC_FILE_MAX, &kf->buf,
                         &kf->len, d);
    if (rc == MN_OK)
        rc = s_find_key_line(path, kf->buf, kf->len, &kf->line, &kf->n, &lineno, d);
    if (rc == MN_OK)
        snprintf(kf->where, sizeof kf->where, "%s:%u", path, lineno);
    return rc;
}

static void s_key_file_free(s_key_file *kf)
{
    s_free_file(kf->buf, kf->len, kf->secret);
    kf->buf = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Key lines: "<prefix> <role> <name> curve=<b64> sign=<b64> box=<b64>" */

static const char *const s_labels[3] = {"curve=", "sign=", "box="};
static const char *const s_ordinals[S_LINE_TOKENS] = {"1st", "2nd", "3rd", "4th", "5th", "6th"};

/* Parse a public or secret key line. For a public line keys[] receive curve/sign/box public keys;
 * for a secret line the curve secret, the Ed25519 seed and the box secret. Secret lines are never
 * quoted in messages. */
static int s_parse_line(const char *p, size_t n, int secret, mn_role *role, char *name,
                        uint8_t *keys[3], const char *where, mn_diag *d)
{
    const char *prefix = secret ? s_secret_prefix : s_public_prefix;
    const char *kind = secret ? "secret key line" : "public key line";
    s_span tok[S_LINE_TOKENS];
    char q[64];
    char role_text[16];
    size_t count = s_tokenize(p, n, tok, S_LINE_TOKENS);

    if (count == 0)
        return mn_diag_set(d, MN_EKEY, where, "empty %s", kind);
    if (!s_span_eq(tok[0], prefix)) {
        if (!secret && s_span_eq(tok[0], s_secret_prefix)) {
            mn_diag_set(d, MN_EKEY, where, "this is a SECRET key line, not a public one");
            mn_diag_hint(d, "use the .pub file made by keygen; never paste or send a secret key, "
                            "and make a new key if it was shared");
            return MN_EKEY;
        }
        if (secret)
            return mn_diag_set(d, MN_EKEY, where, "%s must start with \"%s\"", kind, prefix);
        return mn_diag_set(d, MN_EKEY, where, "%s must start with \"%s\", found %s", kind, prefix,
                           s_quote(tok[0], q, sizeof q));
    }
    if (count < 2)
        return mn_diag_set(d, MN_EKEY, where, "%s is missing the role (2nd part)", kind);
    if (tok[1].n >= sizeof role_text)
        role_text[0] = '\0';
    else
        snprintf(role_text, sizeof role_text, "%.*s", (int)tok[1].n, tok[1].p);
    if (mn_role_parse(role_text, role) != MN_OK) {
        if (secret)
            mn_diag_set(d, MN_EKEY, where, "unknown role in %s (2nd part)", kind);
        else
            mn_diag_set(d, MN_EKEY, where, "unknown role %s in %s (2nd part)",
                        s_quote(tok[1], q, sizeof q), kind);
        mn_diag_hint(d, "the role is one of agent, partner, gateway, registry");
        return MN_EKEY;
    }
    if (count < 3)
        return mn_diag_set(d, MN_EKEY, where, "%s is missing the name (3rd part)", kind);
    if (tok[2].n > MN_NAME_MAX)
        return mn_diag_set(d, MN_EKEY, where, "name (3rd part) is %zu characters, at most %d",
                           tok[2].n, MN_NAME_MAX);
    if (!s_span_is_name(tok[2]) && secret)
        return mn_diag_set(d, MN_EKEY, where,
                           "name (3rd part) has a character outside [A-Za-z0-9._-]");
    if (!s_span_is_name(tok[2]))
        return mn_diag_set(d, MN_EKEY, where,
                           "name %s (3rd part) has a character outside [A-Za-z0-9._-]",
                           s_quote(tok[2], q, sizeof q));
    memcpy(name, tok[2].p, tok[2].n);
    name[tok[2].n] = '\0';

    for (size_t k = 0; k < 3; k++) {
        size_t t = 3 + k;
        const char *label = s_labels[k];
        if (count <= t)
            return mn_diag_set(d, MN_EKEY, where, "%s is missing the %s part (%s part)", kind,
                               label, s_ordinals[t]);
        if (!s_span_starts(tok[t], label)) {
            const char *found = "something else";
            for (size_t j = 0; j < 3; j++)
                if (s_span_starts(tok[t], s_labels[j]))
                    found = s_labels[j];
            return mn_diag_set(d, MN_EKEY, where,
                               "expected the %s part as the %s part of the %s, found %s", label,
                               s_ordinals[t], kind, found);
        }
        size_t vlen = tok[t].n - strlen(label);
        const char *v = tok[t].p + strlen(label);
        if (vlen != S_KEY_B64_CHARS)
            return mn_diag_set(d, MN_EKEY, where,
                               "%s key is %zu characters, expected %d (32 bytes in URL-safe "
                               "base64 without padding)",
                               label, vlen, S_KEY_B64_CHARS);
        if (mn_b64_decode_span(v, vlen, keys[k], MN_KEY_BYTES) != MN_OK)
            return mn_diag_set(d, MN_EKEY, where,
                               "%s key is not valid URL-safe base64 without padding "
                               "(characters A-Z a-z 0-9 - _ only)",
                               label);
    }
    if (count > S_LINE_TOKENS)
        return mn_diag_set(d, MN_EKEY, where, "unexpected text after the box= part of the %s",
                           kind);
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Identities */

static int s_key_alloc(mn_key **out)
{
    *out = sodium_malloc(sizeof **out);
    if (!*out)
        return MN_ENOMEM;
    memset(*out, 0, sizeof **out);
    return MN_OK;
}

/* Derive every public half from the secrets already in key. */
static int s_key_derive(mn_key *key)
{
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    if (crypto_scalarmult_base(key->pub.curve, key->curve_sk) != 0 ||
        crypto_scalarmult_base(key->pub.box, key->box_sk) != 0 ||
        crypto_sign_seed_keypair(sign_pk, key->sign_sk, key->sign_seed) != 0)
        return MN_ECRYPTO;
    memcpy(key->pub.sign, sign_pk, sizeof sign_pk);
    return MN_OK;
}

int mn_key_generate(mn_role role, const char *name, mn_key **out, mn_diag *d)
{
    int rc = MN_OK;
    mn_key *key = NULL;

    *out = NULL;
    if ((unsigned)role >= S_ROLE_COUNT) {
        rc = mn_diag_set(d, MN_EINVAL, "", "unknown role %d", (int)role);
        goto out;
    }
    if (!mn_name_is_valid(name)) {
        rc = mn_diag_set(d, MN_EINVAL, "", "a name is 1-%d characters of [A-Za-z0-9._-]",
                         MN_NAME_MAX);
        goto out;
    }
    if (s_key_alloc(&key) != MN_OK) {
        rc = mn_diag_set(d, MN_ENOMEM, "", "out of memory for a key");
        goto out;
    }
    key->pub.role = role;
    snprintf(key->pub.name, sizeof key->pub.name, "%s", name);
    randombytes_buf(key->curve_sk, sizeof key->curve_sk);
    randombytes_buf(key->sign_seed, sizeof key->sign_seed);
    randombytes_buf(key->box_sk, sizeof key->box_sk);
    if (s_key_derive(key) != MN_OK) {
        rc = mn_diag_set(d, MN_ECRYPTO, "", "cannot derive public keys");
        goto out;
    }
    sodium_mprotect_readonly(key);
    *out = key;
    key = NULL;
out:
    mn_key_destroy(&key);
    return rc;
}

void mn_key_destroy(mn_key **key_p)
{
    if (!key_p || !*key_p)
        return;
    sodium_free(*key_p);
    *key_p = NULL;
}

const mn_pubkey *mn_key_public(const mn_key *key)
{
    return &key->pub;
}

const uint8_t *mn_key_curve_secret(const mn_key *key)
{
    return key->curve_sk;
}

const uint8_t *mn_key_sign_secret(const mn_key *key)
{
    return key->sign_sk;
}

const uint8_t *mn_key_box_secret(const mn_key *key)
{
    return key->box_sk;
}

int mn_key_save(const mn_key *key, const char *path, const char *pub_path, mn_diag *d)
{
    /* comment + "meldnet1-secret registry <64> curve=<43> sign=<43> box=<43>\n" */
    size_t cap = sizeof s_secret_comment + MN_PUBLIC_LINE_MAX + 32;
    char b64[3][S_KEY_B64_CHARS + 1];

    if (pub_path && strcmp(pub_path, path) == 0)
        return mn_diag_set(d, MN_EINVAL, path, "the secret and the public file must differ");
    mn_b64_encode(key->curve_sk, MN_KEY_BYTES, b64[0], sizeof b64[0]);
    mn_b64_encode(key->sign_seed, MN_KEY_BYTES, b64[1], sizeof b64[1]);
    mn_b64_encode(key->box_sk, MN_KEY_BYTES, b64[2], sizeof b64[2]);
    int rc = s_write_secret(path, cap, d, "%s%s %s %s curve=%s sign=%s box=%s\n", s_secret_comment,
                            s_secret_prefix, mn_role_name(key->pub.role), key->pub.name, b64[0],
                            b64[1], b64[2]);
    sodium_memzero(b64, sizeof b64);
    if (rc == MN_OK && pub_path)
        rc = mn_pubkey_save(&key->pub, pub_path, d);
    return rc;
}

/* The public file next to a secret one: NAME.key -> NAME.pub. 0 when path has no ".key" end or
 * the result does not fit. */
static int s_pub_sibling(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path);
    if (n < 5 || strcmp(path + n - 4, ".key") != 0 || n >= cap)
        return 0;
    memcpy(out, path, n - 4);
    memcpy(out + n - 4, ".pub", 5);
    return 1;
}

/* A secret file and the public line next to it must be one identity: a gateway.key swapped
 * without its gateway.pub (or an agent.key without agent.pub) starts, and then every handshake
 * or signature fails far from the cause. The public halves are derived from the secrets (curve
 * and box by scalar multiplication, sign from the seed) and compared with the file's. No public
 * file: nothing to compare (a registry key kept alone, a key given on the command line). */
static int s_check_pair(const mn_key *key, const char *path, mn_diag *d)
{
    char pub_path[PATH_MAX];
    struct stat st;
    mn_pubkey pub;
    if (!s_pub_sibling(path, pub_path, sizeof pub_path) || lstat(pub_path, &st) != 0)
        return MN_OK;
    int rc = mn_pubkey_load(pub_path, &pub, d);
    if (rc != MN_OK)
        return rc;
    const char *differs = NULL;
    if (pub.role != key->pub.role || strcmp(pub.name, key->pub.name) != 0)
        differs = "role or name";
    else if (sodium_memcmp(pub.curve, key->pub.curve, MN_KEY_BYTES) != 0)
        differs = "transport (curve)";
    else if (sodium_memcmp(pub.sign, key->pub.sign, MN_KEY_BYTES) != 0)
        differs = "signing (sign)";
    else if (sodium_memcmp(pub.box, key->pub.box, MN_KEY_BYTES) != 0)
        differs = "encryption (box)";
    if (!differs)
        return MN_OK;
    const char *key_base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *pub_base = strrchr(pub_path, '/') ? strrchr(pub_path, '/') + 1 : pub_path;
    rc = mn_diag_set(d, MN_EKEY, path,
                     "the key files do not belong together: %s was made for another %s (its %s "
                     "key differs from the public line in %s)",
                     key_base, pub_base, differs, pub_path);
    mn_diag_hint(d, "restore both files from the same backup, or make a new pair with keygen and "
                    "give the new public line to everyone who had the old one");
    return rc;
}

int mn_key_load(const char *path, mn_key **out, mn_diag *d)
{
    s_key_file kf;
    mn_key *key = NULL;
    uint8_t *keys[3];

    *out = NULL;
    int rc = s_key_file_read(path, 1, &kf, d);
    if (rc != MN_OK)
        goto out;
    if (s_key_alloc(&key) != MN_OK) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory for a key");
        goto out;
    }
    keys[0] = key->curve_sk;
    keys[1] = key->sign_seed;
    keys[2] = key->box_sk;
    rc = s_parse_line(kf.line, kf.n, 1, &key->pub.role, key->pub.name, keys, kf.where, d);
    if (rc != MN_OK)
        goto out;
    if (s_key_derive(key) != MN_OK) {
        rc = mn_diag_set(d, MN_EKEY, kf.where, "the secret keys do not give valid public keys");
        goto out;
    }
    if ((rc = s_check_pair(key, path, d)) != MN_OK)
        goto out;
    sodium_mprotect_readonly(key);
    *out = key;
    key = NULL;
out:
    mn_key_destroy(&key);
    s_key_file_free(&kf);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Public halves */

void mn_pubkey_format(const mn_pubkey *pub, char *buf, size_t cap)
{
    char b64[3][S_KEY_B64_CHARS + 1];
    mn_b64_encode(pub->curve, MN_KEY_BYTES, b64[0], sizeof b64[0]);
    mn_b64_encode(pub->sign, MN_KEY_BYTES, b64[1], sizeof b64[1]);
    mn_b64_encode(pub->box, MN_KEY_BYTES, b64[2], sizeof b64[2]);
    snprintf(buf, cap, "%s %s %.*s curve=%s sign=%s box=%s", s_public_prefix,
             mn_role_name(pub->role), MN_NAME_MAX, pub->name, b64[0], b64[1], b64[2]);
}

int mn_pubkey_parse(const char *line, mn_pubkey *out, mn_diag *d)
{
    mn_pubkey pub;
    memset(&pub, 0, sizeof pub);
    if (!line)
        return mn_diag_set(d, MN_EKEY, "", "no public key line");
    uint8_t *keys[3] = {pub.curve, pub.sign, pub.box};
    int rc = s_parse_line(line, strlen(line), 0, &pub.role, pub.name, keys, "", d);
    if (rc == MN_OK)
        *out = pub;
    return rc;
}

int mn_pubkey_load(const char *path, mn_pubkey *out, mn_diag *d)
{
    s_key_file kf;
    mn_pubkey pub;
    uint8_t *keys[3] = {pub.curve, pub.sign, pub.box};

    memset(&pub, 0, sizeof pub);
    int rc = s_key_file_read(path, 0, &kf, d);
    if (rc == MN_OK)
        rc = s_parse_line(kf.line, kf.n, 0, &pub.role, pub.name, keys, kf.where, d);
    if (rc == MN_OK)
        *out = pub;
    s_key_file_free(&kf);
    return rc;
}

int mn_pubkey_save(const mn_pubkey *pub, const char *path, mn_diag *d)
{
    char line[MN_PUBLIC_LINE_MAX + 1];
    mn_pubkey_format(pub, line, MN_PUBLIC_LINE_MAX);
    size_t n = strlen(line);
    line[n++] = '\n';
    return mn_file_write_atomic(path, line, n, 0644, d);
}

/* First MN_FINGERPRINT_CHARS / 2 bytes of BLAKE2b-256(bytes), lowercase hex, into buf. */
static void s_fingerprint(const uint8_t *bytes, size_t len, char *buf, size_t cap)
{
    uint8_t hash[32];
    char hex[MN_FINGERPRINT_CHARS + 1];

    crypto_generichash(hash, sizeof hash, bytes, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, hash, MN_FINGERPRINT_CHARS / 2);
    assert(cap >= sizeof hex);
    if (cap > 0)
        snprintf(buf, cap, "%s", hex);
}

void mn_pubkey_fingerprint(const mn_pubkey *pub, char *buf, size_t cap)
{
    uint8_t all[3 * MN_KEY_BYTES];

    memcpy(all, pub->curve, MN_KEY_BYTES);
    memcpy(all + MN_KEY_BYTES, pub->sign, MN_KEY_BYTES);
    memcpy(all + 2 * MN_KEY_BYTES, pub->box, MN_KEY_BYTES);
    s_fingerprint(all, sizeof all, buf, cap);
}

void mn_curve_fingerprint(const uint8_t curve[MN_KEY_BYTES], char *buf, size_t cap)
{
    s_fingerprint(curve, MN_KEY_BYTES, buf, cap);
}

/* ---------------------------------------------------------------------------------------------
 * Digest keys: "meldnet1-digest-key <b64>" */

int mn_secret32_generate(mn_secret32 **out, mn_diag *d)
{
    mn_secret32 *s = sodium_malloc(sizeof *s);
    *out = NULL;
    if (!s)
        return mn_diag_set(d, MN_ENOMEM, "", "out of memory for a digest key");
    randombytes_buf(s->bytes, sizeof s->bytes);
    sodium_mprotect_readonly(s);
    *out = s;
    return MN_OK;
}

void mn_random_bytes(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

int mn_secret32_save(const mn_secret32 *s, const char *path, mn_diag *d)
{
    size_t cap = sizeof s_digest_comment + sizeof s_digest_prefix + S_KEY_B64_CHARS + 8;
    char b64[S_KEY_B64_CHARS + 1];

    mn_b64_encode(s->bytes, sizeof s->bytes, b64, sizeof b64);
    int rc = s_write_secret(path, cap, d, "%s%s %s\n", s_digest_comment, s_digest_prefix, b64);
    sodium_memzero(b64, sizeof b64);
    return rc;
}

int mn_secret32_load(const char *path, mn_secret32 **out, mn_diag *d)
{
    s_key_file kf;
    const char *where = kf.where;
    s_span tok[2];
    mn_secret32 *s = NULL;
    size_t count = 0;

    *out = NULL;
    int rc = s_key_file_read(path, 1, &kf, d);
    if (rc != MN_OK)
        goto out;
    count = s_tokenize(kf.line, kf.n, tok, 2);
    if (count == 0 || !s_span_eq(tok[0], s_digest_prefix)) {
        rc = mn_diag_set(d, MN_EKEY, where, "digest key line must start with \"%s\"",
                         s_digest_prefix);
        goto out;
    }
    if (count < 2) {
        rc = mn_diag_set(d, MN_EKEY, where, "digest key line is missing the key (2nd part)");
        goto out;
    }
    if (count > 2) {
        rc = mn_diag_set(d, MN_EKEY, where, "unexpected text after the key");
        goto out;
    }
    if (tok[1].n != S_KEY_B64_CHARS) {
        rc = mn_diag_set(d, MN_EKEY, where,
                         "digest key is %zu characters, expected %d (32 bytes in URL-safe base64 "
                         "without padding)",
                         tok[1].n, S_KEY_B64_CHARS);
        goto out;
    }
    s = sodium_malloc(sizeof *s);
    if (!s) {
        rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory for a digest key");
        goto out;
    }
    if (mn_b64_decode_span(tok[1].p, tok[1].n, s->bytes, sizeof s->bytes) != MN_OK) {
        rc = mn_diag_set(d, MN_EKEY, where,
                         "digest key is not valid URL-safe base64 without padding");
        goto out;
    }
    sodium_mprotect_readonly(s);
    *out = s;
    s = NULL;
out:
    mn_secret32_destroy(&s);
    s_key_file_free(&kf);
    return rc;
}

const uint8_t *mn_secret32_bytes(const mn_secret32 *s)
{
    return s->bytes;
}

void mn_secret32_destroy(mn_secret32 **s_p)
{
    if (!s_p || !*s_p)
        return;
    sodium_free(*s_p);
    *s_p = NULL;
}
