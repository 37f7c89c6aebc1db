/* mn_pseudonym.c - victim pseudonyms: the normalised input and the keyed hash over it.
 *
 * The name is folded character by character into a scratch buffer in which each word ends in
 * a NUL; the words are then sorted and joined. No folding makes a character longer than its
 * UTF-8 encoding (ß and æ are two bytes and fold to two letters; combining marks vanish), so
 * the scratch buffer and the result fit in strlen(name) + 1 bytes. Scratch copies are wiped:
 * they hold a victim's name.
 *
 * The fold tables were written from the Unicode character names ("LATIN SMALL LETTER O WITH
 * STROKE" -> o); a NULL entry is a separator (the multiplication and division signs).
 */
#include "mn_pseudonym.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* U+00C0-U+00FF, lower-cased base letters. */
static const char *const s_latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

/* U+0100-U+017F (Latin Extended-A), lower-cased base letters. */
static const char *const s_latin_ext_a[128] = {
    "a", "a", "a",  "a",  "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", /* 0100 */
    "d", "d", "e",  "e",  "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g", /* 0110 */
    "g", "g", "g",  "g",  "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i", /* 0120 */
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", /* 0130 */
    "l", "l", "l",  "n",  "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o", /* 0140 */
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s", /* 0150 */
    "s", "s", "t",  "t",  "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u", /* 0160 */
    "u", "u", "u",  "u",  "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s", /* 0170 */
};

enum { S_SEP, S_DROP, S_KEEP };

/* One UTF-8 character at s (left > 0 bytes): its length, and *cp (-1 for a byte that does not
 * start a valid sequence: it stands for itself, one byte long). */
static size_t s_utf8_next(const unsigned char *s, size_t left, long *cp)
{
    size_t n;
    long c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    if (left < n) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (n == 4 && (c < 0x10000 || c > 0x10ffff))) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return n;
}

static size_t s_utf8_put(long c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
}

/* What character c becomes: S_SEP, S_DROP, or S_KEEP with its folded text in *fold or its
 * lower-case code point in *lower (neither: keep the input bytes). */
static int s_classify(long c, const char **fold, long *lower)
{
    *fold = NULL;
    *lower = -1;
    if (c < 0) /* a byte that is not UTF-8: kept */
        return S_KEEP;
    if (c < 0x80) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            return S_KEEP;
        if (c >= 'A' && c <= 'Z') {
            *lower = c - 'A' + 'a';
            return S_KEEP;
        }
        return c == '\'' || c == '`' ? S_DROP : S_SEP;
    }
    if (c < 0xc0) /* C1 controls, no-break space, Latin-1 punctuation and symbols */
        return c == 0xad || c == 0xb4 ? S_DROP : c == 0xb5 ? S_KEEP : S_SEP;
    if (c < 0x100)
        return (*fold = s_latin1[c - 0xc0]) ? S_KEEP : S_SEP;
    if (c < 0x180) {
        *fold = s_latin_ext_a[c - 0x100];
        return S_KEEP;
    }
    if (c >= 0x218 && c <= 0x21b) { /* Romanian S and T with comma below */
        *fold = c < 0x21a ? "s" : "t";
        return S_KEEP;
    }
    if (c == 0x2bc || c == 0x2b9) /* modifier letter apostrophe, prime */
        return S_DROP;
    if (c >= 0x300 && c <= 0x36f) /* combining diacritical marks */
        return S_DROP;
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) /* Greek capitals */
        *lower = c + 0x20;
    else if (c == 0x3c2) /* final sigma */
        *lower = 0x3c3;
    else if (c >= 0x410 && c <= 0x42f) /* Cyrillic capitals */
        *lower = c + 0x20;
    else if (c >= 0x400 && c <= 0x40f)
        *lower = c + 0x50;
    else if (c >= 0x2000 && c <= 0x206f) /* general punctuation: spaces, dashes, quotes */
        return c == 0x200b || c == 0x200c || c == 0x200d || c == 0x2018 || c == 0x2019 ||
                       c == 0x2060
                   ? S_DROP
                   : S_SEP;
    else if (c == 0x3000 || c == 0xfeff)
        return c == 0xfeff ? S_DROP : S_SEP;
    return S_KEEP;
}

static int s_word_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mn_pseudonym_name(const char *name, char *out, size_t out_size)
{
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    size_t len = strlen((const char *)s), n = 0, nwords = 0, o = 0;
    char *scratch = NULL;
    char **words = NULL;
    int in_word = 0, rc = MN_OK;

    if (out_size == 0)
        return MN_EINVAL;
    out[0] = '\0';
    scratch = malloc(len + 1);
    words = malloc((len / 2 + 1) * sizeof *words);
    if (!scratch || !words) {
        rc = MN_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < len;) {
        long c, lower;
        const char *fold;
        size_t k = s_utf8_next(s + i, len - i, &c);
        int what = s_classify(c, &fold, &lower);
        if (what == S_SEP) {
            if (in_word)
                scratch[n++] = '\0';
            in_word = 0;
        } else if (what == S_KEEP) {
            if (!in_word)
                words[nwords++] = scratch + n;
            in_word = 1;
            if (fold) {
                memcpy(scratch + n, fold, strlen(fold));
                n += strlen(fold);
            } else if (lower >= 0) {
                n += s_utf8_put(lower, scratch + n);
            } else {
                memcpy(scratch + n, s + i, k);
                n += k;
            }
        }
        i += k;
    }
    if (in_word)
        scratch[n++] = '\0';
    qsort(words, nwords, sizeof *words, s_word_cmp);
    for (size_t w = 0; w < nwords; w++) {
        size_t wl = strlen(words[w]);
        if (o + (w > 0) + wl + 1 > out_size) {
            sodium_memzero(out, out_size);
            rc = MN_EINVAL;
            goto done;
        }
        if (w > 0)
            out[o++] = ' ';
        memcpy(out + o, words[w], wl);
        o += wl;
        out[o] = '\0';
    }
done:
    if (scratch)
        sodium_memzero(scratch, len + 1);
    free(scratch);
    free(words);
    return rc;
}

/* Up to max_digits digits at *p: their value, or -1 when there are none. */
static int s_number(const char **p, int max_digits, int *digits)
{
    int v = 0, k = 0;
    while (k < max_digits && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    *digits = k;
    return k ? v : -1;
}

static int s_date_sep(char c)
{
    return c == '-' || c == '/' || c == '.' || c == ' ';
}

/* Three numbers with one separator between each, and nothing after. */
static int s_three(const char *p, int v[3], int digits[3])
{
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (!s_date_sep(*p))
                return 0;
            p++;
        }
        if ((v[i] = s_number(&p, 4, &digits[i])) < 0)
            return 0;
    }
    return *p == '\0';
}

void mn_pseudonym_date(const char *date, char out[MN_PSEUDONYM_DATE_MAX])
{
    char buf[MN_PSEUDONYM_DATE_MAX];
    size_t start = 0, end;
    int v[3], dg[3], y = -1, m = -1, d = -1;

    out[0] = '\0';
    if (!date)
        return;
    end = strlen(date);
    while (start < end && (date[start] == ' ' || date[start] == '\t'))
        start++;
    while (end > start && (date[end - 1] == ' ' || date[end - 1] == '\t'))
        end--;
    if (end - start >= sizeof buf)
        end = start + sizeof buf - 1;
    memcpy(buf, date + start, end - start);
    buf[end - start] = '\0';

    if (s_three(buf, v, dg)) {
        if (dg[0] == 4 && dg[1] <= 2 && dg[2] <= 2) {
            y = v[0], m = v[1], d = v[2];
        } else if (dg[2] == 4 && dg[0] <= 2 && dg[1] <= 2) {
            y = v[2], m = v[1], d = v[0]; /* Dutch order: day, month, year */
        }
    } else if (end - start == 8 && strspn(buf, "0123456789") == 8) {
        y = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + (buf[3] - '0');
        m = (buf[4] - '0') * 10 + (buf[5] - '0');
        d = (buf[6] - '0') * 10 + (buf[7] - '0');
    }
    if (y >= 0 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
        out[0] = (char)('0' + y / 1000);
        out[1] = (char)('0' + y / 100 % 10);
        out[2] = (char)('0' + y / 10 % 10);
        out[3] = (char)('0' + y % 10);
        out[4] = '-';
        out[5] = (char)('0' + m / 10);
        out[6] = (char)('0' + m % 10);
        out[7] = '-';
        out[8] = (char)('0' + d / 10);
        out[9] = (char)('0' + d % 10);
        out[10] = '\0';
    } else {
        memcpy(out, buf, strlen(buf) + 1);
    }
    sodium_memzero(buf, sizeof buf);
}

void mn_pseudonym_recipient_key(const uint8_t master[32], const char *recipient, uint8_t out[32])
{
    static const char tag[] = "meldnet-pseudonym-v1:";
    crypto_generichash_state st;
    crypto_generichash_init(&st, master, 32, 32);
    crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
    crypto_generichash_update(&st, (const unsigned char *)recipient, strlen(recipient));
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
}

int mn_pseudonym_derive(const uint8_t recipient_key[32], const char *name,
                        const char *date_of_birth, uint8_t out[MN_PSEUDONYM_BYTES])
{
    size_t size = (name ? strlen(name) : 0) + 1;
    char *norm = malloc(size);
    char date[MN_PSEUDONYM_DATE_MAX];
    crypto_generichash_state st;
    int rc;

    if (!norm)
        return MN_ENOMEM;
    if ((rc = mn_pseudonym_name(name, norm, size)) != MN_OK)
        goto done;
    mn_pseudonym_date(date_of_birth, date);
    if (!norm[0] && !date[0]) {
        rc = MN_ENOTFOUND;
        goto done;
    }
    crypto_generichash_init(&st, recipient_key, 32, MN_PSEUDONYM_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)"v2|", 3);
    crypto_generichash_update(&st, (const unsigned char *)norm, strlen(norm));
    crypto_generichash_update(&st, (const unsigned char *)"|", 1);
    crypto_generichash_update(&st, (const unsigned char *)date, strlen(date));
    crypto_generichash_final(&st, out, MN_PSEUDONYM_BYTES);
    sodium_memzero(&st, sizeof st);
done:
    sodium_memzero(norm, size);
    sodium_memzero(date, sizeof date);
    free(norm);
    return rc;
}
