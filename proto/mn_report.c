/* mn_report.c - the Report: JSON <-> protobuf, validation, canonical bytes, keyed digest.
 *
 * from_json works in two passes. The parse pass checks the JSON's shape only (known keys,
 * JSON types, enumeration names, base64, registration numbers) and builds the protobuf-c
 * message; the validate pass checks every rule of the schema on that message, so a report that
 * arrives as protobuf bytes (mn_report_decode) meets exactly the same rules as one read from
 * JSON. Both passes keep the JSON path of the field they look at ("exploitation[1].sector") and
 * put it in diag.where on failure.
 *
 * Memory: every part of a report built here is a separate malloc() block, the way protobuf-c's
 * default allocator lays out an unpacked message, so meldnet__report__free_unpacked() frees
 * both kinds, and mn_report_destroy() serves both. A report assembled by hand elsewhere must
 * follow the same rule (malloc for the message, each sub-message, string, array and bytes).
 *
 * Invariants:
 *   - presence is kept as written: "gender": "unknown" sets has_gender with GENDER_UNKNOWN, a
 *     missing key leaves has_gender 0; both mean unknown, and to_json writes back what it got;
 *   - diag.what never quotes a value from the report (diags reach logs); only field names and
 *     sizes. A key that is not a field name is quoted only when it is short printable ASCII.
 *
 * Caveats: jansson's allocator is set process-wide (once) to one that wipes every block it
 * frees, so the parser's and printer's scratch copies of report text do not linger on the heap.
 * It stays malloc-compatible, so other users of jansson in the same process are unaffected.
 */
#include "mn_report.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "mn_envelope.h"
#include "mn_message.h"
#include "mn_suggest.h"

#define S_JSON_MAX_BYTES (8u * 1024 * 1024) /* JSON text accepted by from_json / load_json */
#define S_CODE_MAX 64                       /* region and signal codes */
#define S_FILENAME_MAX 255
#define S_MEDIA_PART_MAX 127 /* RFC 6838: type and subtype names */
#define S_AGE_MAX 120

/* ------------------------------------------------------------------------------------------ */
/* Enumerations: index = protobuf value; NULL = not accepted in JSON. */

static const char *const s_tristate_names[] = {"unknown", "yes", "no"};

static const char *const s_org_names[] = {
    [MELDNET__ORGANISATION_TYPE__ORGANISATION_UNKNOWN] = "unknown",
    [MELDNET__ORGANISATION_TYPE__POLICE] = "police",
    [MELDNET__ORGANISATION_TYPE__ROYAL_MARECHAUSSEE] = "royal_marechaussee",
    [MELDNET__ORGANISATION_TYPE__LABOUR_INSPECTORATE] = "labour_inspectorate",
    [MELDNET__ORGANISATION_TYPE__CARE_COORDINATION] = "care_coordination",
    [MELDNET__ORGANISATION_TYPE__VEILIG_THUIS] = "veilig_thuis",
    [MELDNET__ORGANISATION_TYPE__YOUTH_CARE] = "youth_care",
    [MELDNET__ORGANISATION_TYPE__SCHOOL] = "school",
    [MELDNET__ORGANISATION_TYPE__DISTRICT_TEAM] = "district_team",
    [MELDNET__ORGANISATION_TYPE__SHELTER] = "shelter",
    [MELDNET__ORGANISATION_TYPE__NGO] = "ngo",
    [MELDNET__ORGANISATION_TYPE__LAWYER] = "lawyer",
    [MELDNET__ORGANISATION_TYPE__CITIZEN] = "citizen",
    [MELDNET__ORGANISATION_TYPE__VICTIM_SELF] = "victim_self",
    [MELDNET__ORGANISATION_TYPE__HOTLINE] = "hotline",
    [MELDNET__ORGANISATION_TYPE__ORGANISATION_OTHER] = "other",
};

static const char *const s_kind_names[] = {
    [MELDNET__REPORTER_KIND__REPORTER_KIND_UNKNOWN] = "unknown",
    [MELDNET__REPORTER_KIND__PROFESSIONAL] = "professional",
    [MELDNET__REPORTER_KIND__PRIVATE_PERSON] = "private_person",
    [MELDNET__REPORTER_KIND__VICTIM] = "victim",
};

static const char *const s_gender_names[] = {
    [MELDNET__GENDER__GENDER_UNKNOWN] = "unknown",
    [MELDNET__GENDER__FEMALE] = "female",
    [MELDNET__GENDER__MALE] = "male",
    [MELDNET__GENDER__NON_BINARY] = "non_binary",
    [MELDNET__GENDER__GENDER_OTHER] = "other",
};

/* A form must be known: "other" is the answer when it fits none of the named ones. */
static const char *const s_form_names[] = {
    [MELDNET__EXPLOITATION_FORM__FORM_UNKNOWN] = NULL,
    [MELDNET__EXPLOITATION_FORM__SEXUAL] = "sexual",
    [MELDNET__EXPLOITATION_FORM__CRIMINAL] = "criminal",
    [MELDNET__EXPLOITATION_FORM__FORCED_BEGGING] = "forced_begging",
    [MELDNET__EXPLOITATION_FORM__LABOUR] = "labour",
    [MELDNET__EXPLOITATION_FORM__FINANCIAL] = "financial",
    [MELDNET__EXPLOITATION_FORM__ORGAN_REMOVAL] = "organ_removal",
    [MELDNET__EXPLOITATION_FORM__FORM_OTHER] = "other",
};

static const char *const s_sexual_names[] = {
    [MELDNET__SEXUAL_SUBTYPE__SEXUAL_SUBTYPE_UNKNOWN] = "unknown",
    [MELDNET__SEXUAL_SUBTYPE__LOVERBOY] = "loverboy",
    [MELDNET__SEXUAL_SUBTYPE__SEXTORTION] = "sextortion",
    [MELDNET__SEXUAL_SUBTYPE__GROOMING] = "grooming",
    [MELDNET__SEXUAL_SUBTYPE__SEXUAL_OTHER] = "other",
};

typedef struct s_enum {
    const char *const *names;
    size_t count;
    const char *expected; /* for error messages */
} s_enum;

#define S_ENUM(names, expected)                                                                    \
    {                                                                                              \
        names, sizeof names / sizeof names[0], expected                                            \
    }

static const s_enum s_tristate = S_ENUM(s_tristate_names, "\"yes\", \"no\" or \"unknown\"");
static const s_enum s_org =
    S_ENUM(s_org_names, "police, royal_marechaussee, labour_inspectorate, "
                        "care_coordination, veilig_thuis, youth_care, school, "
                        "district_team, shelter, ngo, lawyer, citizen, victim_self, "
                        "hotline, other, unknown");
static const s_enum s_kind = S_ENUM(s_kind_names, "professional, private_person, victim, unknown");
static const s_enum s_gender = S_ENUM(s_gender_names, "female, male, non_binary, other, unknown");
static const s_enum s_form =
    S_ENUM(s_form_names,
           "sexual, criminal, forced_begging, labour, financial, organ_removal, other");
static const s_enum s_sexual =
    S_ENUM(s_sexual_names, "loverboy, sextortion, grooming, other, unknown");

/* ISO 3166-1 alpha-2 codes officially assigned, plus XK (Kosovo, user-assigned, used by the EU
 * and the Dutch BRP). Two letters per code. */
static const char s_iso3166[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
    "CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFR"
    "GAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJP"
    "KEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMT"
    "MUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURW"
    "SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUG"
    "UMUSUYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";

/* JSON keys of each object, in schema order (also the order to_json writes them). */
static const char *const s_report_keys[] = {"reporter",
                                            "victim",
                                            "exploitation",
                                            "online",
                                            "acute_danger",
                                            "acute_reason",
                                            "consent",
                                            "municipality_code",
                                            "region",
                                            "signals",
                                            "narrative",
                                            "suspects",
                                            "linked_registrations",
                                            "attachments",
                                            "observed_at",
                                            NULL};
static const char *const s_reporter_keys[] = {"kind",      "organisation_type", "organisation_name",
                                              "anonymous", "contact",           NULL};
static const char *const s_contact_keys[] = {"name", "role", "phone", "email", NULL};
static const char *const s_victim_keys[] = {"name",           "date_of_birth",
                                            "age_years",      "gender",
                                            "nationality",    "municipality",
                                            "shelter_needed", "address",
                                            "phone",          NULL};
static const char *const s_exploitation_keys[] = {"form",         "sexual",      "sector",
                                                  "drug_related", "description", NULL};
static const char *const s_consent_keys[] = {"register_identity",
                                             "share_police",
                                             "share_care",
                                             "share_research",
                                             "reporter_contact_shareable",
                                             NULL};
static const char *const s_suspect_keys[] = {"description", "name", "online_handles", "phone",
                                             NULL};
static const char *const s_attachment_keys[] = {"filename", "media_type", "data", NULL};

const char *mn_report_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    const s_enum *e = desc == &meldnet__tristate__descriptor            ? &s_tristate
                      : desc == &meldnet__organisation_type__descriptor ? &s_org
                      : desc == &meldnet__reporter_kind__descriptor     ? &s_kind
                      : desc == &meldnet__gender__descriptor            ? &s_gender
                      : desc == &meldnet__exploitation_form__descriptor ? &s_form
                      : desc == &meldnet__sexual_subtype__descriptor    ? &s_sexual
                                                                        : NULL;
    if (!e || value < 0 || (size_t)value >= e->count)
        return NULL;
    return e->names[value];
}

/* ------------------------------------------------------------------------------------------ */
/* jansson allocator that wipes what it frees */

static void *s_json_malloc(size_t n)
{
    return malloc(n);
}

static void s_json_free(void *p)
{
    if (!p)
        return;
#ifdef __GLIBC__
    sodium_memzero(p, malloc_usable_size(p));
#endif
    free(p);
}

static pthread_once_t s_json_once = PTHREAD_ONCE_INIT;

static void s_json_setup_once(void)
{
    json_set_alloc_funcs(s_json_malloc, s_json_free);
}

static void s_json_setup(void)
{
    pthread_once(&s_json_once, s_json_setup_once);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON path context */

typedef struct s_ctx {
    mn_diag *d;
    size_t len;
    char path[200];
} s_ctx;

/* Append text to the path, cut at its size. Every field of every report passes here, so no
 * formatting: the path is only read when something fails. */
static void s_path_append(s_ctx *c, const char *text, size_t n)
{
    size_t room = sizeof c->path - 1 - c->len;
    if (n > room)
        n = room;
    memcpy(c->path + c->len, text, n);
    c->len += n;
    c->path[c->len] = '\0';
}

static size_t s_push(s_ctx *c, const char *key)
{
    size_t mark = c->len;
    if (c->len)
        s_path_append(c, ".", 1);
    s_path_append(c, key, strlen(key));
    return mark;
}

static size_t s_push_index(s_ctx *c, size_t i)
{
    char digits[24];
    size_t n = sizeof digits;
    digits[--n] = ']';
    do {
        digits[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i && n > 1);
    digits[--n] = '[';
    size_t mark = c->len;
    s_path_append(c, digits + n, sizeof digits - n);
    return mark;
}

static void s_pop(s_ctx *c, size_t mark)
{
    c->len = mark;
    c->path[mark] = '\0';
}

static int s_failv(s_ctx *c, int code, const char *fmt, va_list ap) MN_PRINTF(3, 0);

static int s_failv(s_ctx *c, int code, const char *fmt, va_list ap)
{
    char what[sizeof c->d->what];
    if (!c->d)
        return code;
    vsnprintf(what, sizeof what, fmt, ap);
    return mn_diag_set(c->d, code, c->len ? c->path : "report", "%s", what);
}

static int s_fail(s_ctx *c, const char *fmt, ...) MN_PRINTF(2, 3);

static int s_fail(s_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_failv(c, MN_EREPORT, fmt, ap);
    va_end(ap);
    return rc;
}

static int s_nomem(s_ctx *c)
{
    return mn_diag_set(c->d, MN_ENOMEM, c->len ? c->path : "report", "out of memory");
}

/* ------------------------------------------------------------------------------------------ */
/* Text checks */

enum { S_TEXT_OK = 0, S_TEXT_BAD_UTF8 = 1, S_TEXT_CONTROL = 2 };
enum { S_CONTROL_NONE = 0, S_CONTROL_NL_TAB = 1, S_CONTROL_ANY = 2 };

/* Whether 8 bytes are all printable ASCII (0x20 .. 0x7e): no high bit, no control, no DEL. */
static int s_ascii_printable8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t below_space = (w - ones * 0x20) & ~w & highs; /* a byte < 0x20 */
    uint64_t is_del = ((w ^ (ones * 0x7f)) - ones) & ~(w ^ (ones * 0x7f)) & highs;
    return ((w & highs) | below_space | is_del) == 0;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). Control characters: C0,
 * DEL and C1; `controls` says which pass. */
static int s_utf8_scan(const unsigned char *s, size_t len, int controls)
{
    size_t i = 0;
    while (i < len) {
        /* Most text is printable ASCII: skip 8 such bytes at a time. */
        while (len - i >= 8 && s_ascii_printable8(s + i))
            i += 8;
        if (i == len)
            break;
        unsigned c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            if ((c < 0x20 || c == 0x7f) && controls != S_CONTROL_ANY &&
                !(controls == S_CONTROL_NL_TAB && (c == '\n' || c == '\t')))
                return S_TEXT_CONTROL;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return S_TEXT_BAD_UTF8;
        }
        if (len - i <= n)
            return S_TEXT_BAD_UTF8;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return S_TEXT_BAD_UTF8;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return S_TEXT_BAD_UTF8;
        if (cp >= 0x80 && cp <= 0x9f && controls != S_CONTROL_ANY)
            return S_TEXT_CONTROL;
        i += n + 1;
    }
    return S_TEXT_OK;
}

/* Check the string at the current path: not empty, at most max bytes, clean UTF-8. */
static int s_check_text_here(s_ctx *c, const char *s, size_t max, int multiline)
{
    size_t len = strlen(s);
    int rc;
    if (len == 0)
        return s_fail(c, "is empty; leave the field out when it is not known");
    if (len > max)
        return s_fail(c, "is %zu bytes long, over the limit of %zu bytes", len, max);
    rc = s_utf8_scan((const unsigned char *)s, len, multiline ? S_CONTROL_NL_TAB : S_CONTROL_NONE);
    if (rc == S_TEXT_BAD_UTF8)
        return s_fail(c, "is not valid UTF-8 text");
    if (rc == S_TEXT_CONTROL)
        return multiline ? s_fail(c, "contains a control character; only line breaks (\\n) "
                                     "and tabs (\\t) are allowed here")
                         : s_fail(c, "contains a control character (such as a line break or "
                                     "tab); write it on one line");
    return MN_OK;
}

/* Check a string field `key` when present. */
static int s_check_text(s_ctx *c, const char *key, const char *s, size_t max, int multiline)
{
    size_t mark;
    int rc;
    if (!s)
        return MN_OK;
    mark = s_push(c, key);
    if ((rc = s_check_text_here(c, s, max, multiline)) != MN_OK)
        return rc;
    s_pop(c, mark);
    return MN_OK;
}

static int s_is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int s_num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* 1-max characters, each one of [a-z0-9] or in `extra`. */
static int s_is_code(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (ch != '\0' && strchr(extra, ch))))
            return 0;
    }
    return 1;
}

static int s_is_municipality(const char *s)
{
    return strlen(s) == 6 && s[0] == 'G' && s[1] == 'M' && s_is_digits(s + 2, 4);
}

static int s_is_nationality(const char *s)
{
    if (strcmp(s, "unknown") == 0)
        return 1;
    if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
        return 0;
    for (size_t i = 0; i + 1 < sizeof s_iso3166; i += 2)
        if (s_iso3166[i] == s[0] && s_iso3166[i + 1] == s[1])
            return 1;
    return 0;
}

/* RFC 6838 restricted-name: [A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126} */
static int s_is_media_part(const char *s, size_t n)
{
    if (n == 0 || n > S_MEDIA_PART_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || ch == '\0' || !strchr("!#$&^_.+-", ch)))
            return 0;
    }
    return 1;
}

static int s_is_media_type(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return 0;
    return s_is_media_part(s, (size_t)(slash - s)) && s_is_media_part(slash + 1, strlen(slash + 1));
}

/* ------------------------------------------------------------------------------------------ */
/* Dates */

static int s_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_is_leap(y) ? 29 : days[m - 1];
}

/* Exactly YYYY-MM-DD, a real calendar date (year 0001-9999). */
static int s_parse_date(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) < 10 || !s_is_digits(s, 4) || s[4] != '-' || !s_is_digits(s + 5, 2) ||
        s[7] != '-' || !s_is_digits(s + 8, 2))
        return 0;
    *y = s_num(s, 4);
    *m = s_num(s + 5, 2);
    *d = s_num(s + 8, 2);
    return *y >= 1 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= s_days_in_month(*y, *m);
}

static int s_is_date(const char *s)
{
    int y, m, d;
    return strlen(s) == 10 && s_parse_date(s, &y, &m, &d);
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM); 'T' and 'Z' either case. */
static int s_is_date_time(const char *s)
{
    int y, m, d;
    const char *p = s + 19;
    if (!s_parse_date(s, &y, &m, &d) || (s[10] != 'T' && s[10] != 't'))
        return 0;
    if (strlen(s) < 20 || !s_is_digits(s + 11, 2) || s[13] != ':' || !s_is_digits(s + 14, 2) ||
        s[16] != ':' || !s_is_digits(s + 17, 2))
        return 0;
    if (s_num(s + 11, 2) > 23 || s_num(s + 14, 2) > 59 || s_num(s + 17, 2) > 60)
        return 0;
    if (*p == '.') {
        size_t n = strspn(p + 1, "0123456789");
        if (n == 0 || n > 9)
            return 0;
        p += 1 + n;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    if ((*p == '+' || *p == '-') && strlen(p) == 6 && s_is_digits(p + 1, 2) && p[3] == ':' &&
        s_is_digits(p + 4, 2))
        return s_num(p + 1, 2) <= 23 && s_num(p + 4, 2) <= 59;
    return 0;
}

/* Days since 1970-01-01 (proleptic Gregorian), after H. Hinnant's days_from_civil. */
static long s_days_from_civil(int y, int m, int d)
{
    long yy = m <= 2 ? y - 1 : y;
    long era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400;
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void s_today_utc(int *y, int *m, int *d)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
    *d = tm.tm_mday;
}

/* Whole years from (by,bm,bd) to (ty,tm,td); negative when the first date is later. A birthday
 * on 29 February counts from 1 March in other years. */
static int s_years_between(int by, int bm, int bd, int ty, int tm, int td)
{
    int age = ty - by;
    if (tm < bm || (tm == bm && td < bd))
        age--;
    return age;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation */

static int s_check_enum(s_ctx *c, const char *key, int has, int value, const s_enum *e)
{
    size_t mark;
    if (!has)
        return MN_OK;
    mark = s_push(c, key);
    if (value < 0 || (size_t)value >= e->count || !e->names[value])
        return s_fail(c, "has no valid value; expected one of %s", e->expected);
    s_pop(c, mark);
    return MN_OK;
}

/* Fields of a newer schema that protobuf-c kept as unknown: not checked, so not accepted. */
static int s_check_unknown_fields(s_ctx *c, const ProtobufCMessage *m)
{
    if (m->n_unknown_fields == 0)
        return MN_OK;
    return s_fail(c,
                  "carries field number %u, which this version of meldnet does not know; "
                  "upgrade the receiving side",
                  (unsigned)m->unknown_fields[0].tag);
}

static int s_check_municipality(s_ctx *c, const char *key, const char *s)
{
    size_t mark;
    if (!s)
        return MN_OK;
    mark = s_push(c, key);
    if (!s_is_municipality(s))
        return s_fail(c, "is not a CBS municipality code; expected \"GM\" and four digits, "
                         "e.g. \"GM0344\" (Utrecht)");
    s_pop(c, mark);
    return MN_OK;
}

static int s_validate_contact(s_ctx *c, const Meldnet__Contact *ct)
{
    int rc;
    if ((rc = s_check_unknown_fields(c, &ct->base)) != MN_OK ||
        (rc = s_check_text(c, "name", ct->name, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_check_text(c, "role", ct->role, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_check_text(c, "phone", ct->phone, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_check_text(c, "email", ct->email, MN_TEXT_MAX_BYTES, 0)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_validate_reporter(s_ctx *c, const Meldnet__Reporter *rp)
{
    int rc;
    size_t mark;
    if ((rc = s_check_unknown_fields(c, &rp->base)) != MN_OK ||
        (rc = s_check_enum(c, "kind", rp->has_kind, (int)rp->kind, &s_kind)) != MN_OK ||
        (rc = s_check_enum(c, "organisation_type", rp->has_organisation_type,
                           (int)rp->organisation_type, &s_org)) != MN_OK ||
        (rc = s_check_text(c, "organisation_name", rp->organisation_name, MN_TEXT_MAX_BYTES, 0)) !=
            MN_OK)
        return rc;
    if (!rp->contact)
        return MN_OK;
    mark = s_push(c, "contact");
    if (rp->has_anonymous && rp->anonymous)
        return s_fail(c, "an anonymous reporter has no contact; remove reporter.contact or set "
                         "anonymous to false");
    if ((rc = s_validate_contact(c, rp->contact)) != MN_OK)
        return rc;
    s_pop(c, mark);
    return MN_OK;
}

static int s_validate_dob(s_ctx *c, const char *dob)
{
    int y, m, d, ty, tm, td;
    size_t mark;
    if (!dob)
        return MN_OK;
    mark = s_push(c, "date_of_birth");
    if (strlen(dob) != 10 || !s_parse_date(dob, &y, &m, &d))
        return s_fail(c, "is not a calendar date; expected YYYY-MM-DD, e.g. \"2009-03-14\"");
    /* One day of slack: "today" in the Netherlands may still be yesterday in UTC. */
    s_today_utc(&ty, &tm, &td);
    if (s_days_from_civil(y, m, d) > s_days_from_civil(ty, tm, td) + 1)
        return s_fail(c, "is in the future; expected the date of birth, YYYY-MM-DD");
    if (s_years_between(y, m, d, ty, tm, td) > S_AGE_MAX)
        return s_fail(c, "is more than %d years ago; leave it out when it is not known", S_AGE_MAX);
    s_pop(c, mark);
    return MN_OK;
}

static int s_validate_victim(s_ctx *c, const Meldnet__Victim *v)
{
    int rc;
    size_t mark;
    if ((rc = s_check_unknown_fields(c, &v->base)) != MN_OK ||
        (rc = s_check_text(c, "name", v->name, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_validate_dob(c, v->date_of_birth)) != MN_OK)
        return rc;
    if (v->has_age_years && v->age_years > S_AGE_MAX) {
        s_push(c, "age_years");
        return s_fail(c, "is over %d; expected a whole number of years 0-%d", S_AGE_MAX, S_AGE_MAX);
    }
    if ((rc = s_check_enum(c, "gender", v->has_gender, (int)v->gender, &s_gender)) != MN_OK)
        return rc;
    if (v->nationality) {
        mark = s_push(c, "nationality");
        if (!s_is_nationality(v->nationality))
            return s_fail(c, "is not a nationality code; expected an ISO 3166-1 alpha-2 code "
                             "in capitals (\"NL\", \"RO\", \"NG\") or \"unknown\"");
        s_pop(c, mark);
    }
    if ((rc = s_check_municipality(c, "municipality", v->municipality)) != MN_OK ||
        (rc = s_check_enum(c, "shelter_needed", v->has_shelter_needed, (int)v->shelter_needed,
                           &s_tristate)) != MN_OK ||
        (rc = s_check_text(c, "address", v->address, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_check_text(c, "phone", v->phone, MN_TEXT_MAX_BYTES, 0)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_validate_exploitation(s_ctx *c, const Meldnet__Exploitation *e)
{
    int rc;
    size_t mark;
    if ((rc = s_check_unknown_fields(c, &e->base)) != MN_OK)
        return rc;
    mark = s_push(c, "form");
    if (e->form == MELDNET__EXPLOITATION_FORM__FORM_UNKNOWN)
        return s_fail(c, "is missing; expected one of %s", s_form.expected);
    s_pop(c, mark);
    if ((rc = s_check_enum(c, "form", 1, (int)e->form, &s_form)) != MN_OK ||
        (rc = s_check_enum(c, "sexual", e->has_sexual, (int)e->sexual, &s_sexual)) != MN_OK)
        return rc;
    if (e->has_sexual && e->form != MELDNET__EXPLOITATION_FORM__SEXUAL) {
        s_push(c, "sexual");
        return s_fail(c, "is only for form \"sexual\"; remove it or change the form");
    }
    if (e->sector) {
        mark = s_push(c, "sector");
        if (e->form != MELDNET__EXPLOITATION_FORM__LABOUR)
            return s_fail(c, "is only for form \"labour\"; remove it or change the form");
        s_pop(c, mark);
    }
    if ((rc = s_check_text(c, "sector", e->sector, MN_TEXT_MAX_BYTES, 0)) != MN_OK ||
        (rc = s_check_enum(c, "drug_related", e->has_drug_related, (int)e->drug_related,
                           &s_tristate)) != MN_OK ||
        (rc = s_check_text(c, "description", e->description, MN_TEXT_MAX_BYTES, 1)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_validate_suspect(s_ctx *c, const Meldnet__Suspect *s)
{
    int rc;
    size_t mark;
    if ((rc = s_check_unknown_fields(c, &s->base)) != MN_OK ||
        (rc = s_check_text(c, "description", s->description, MN_TEXT_MAX_BYTES, 1)) != MN_OK ||
        (rc = s_check_text(c, "name", s->name, MN_TEXT_MAX_BYTES, 0)) != MN_OK)
        return rc;
    mark = s_push(c, "online_handles");
    if (s->n_online_handles > MN_LIST_MAX)
        return s_fail(c, "has %zu entries; at most %d are allowed", s->n_online_handles,
                      MN_LIST_MAX);
    for (size_t i = 0; i < s->n_online_handles; i++) {
        size_t m2 = s_push_index(c, i);
        if (!s->online_handles[i])
            return s_fail(c, "is missing");
        if ((rc = s_check_text_here(c, s->online_handles[i], MN_TEXT_MAX_BYTES, 0)) != MN_OK)
            return rc;
        s_pop(c, m2);
    }
    s_pop(c, mark);
    return s_check_text(c, "phone", s->phone, MN_TEXT_MAX_BYTES, 0);
}

static int s_validate_attachment(s_ctx *c, const Meldnet__Attachment *a, size_t *total)
{
    int rc;
    size_t mark;
    if ((rc = s_check_unknown_fields(c, &a->base)) != MN_OK)
        return rc;
    mark = s_push(c, "filename");
    if (!a->filename)
        return s_fail(c, "is missing; expected the file's name, e.g. \"chat.png\"");
    if (strlen(a->filename) > S_FILENAME_MAX)
        return s_fail(c, "is longer than %d bytes", S_FILENAME_MAX);
    if (strchr(a->filename, '/') || strchr(a->filename, '\\') || strcmp(a->filename, ".") == 0 ||
        strcmp(a->filename, "..") == 0)
        return s_fail(c, "must be a plain file name, without a directory");
    s_pop(c, mark);
    if ((rc = s_check_text(c, "filename", a->filename, S_FILENAME_MAX, 0)) != MN_OK)
        return rc;
    mark = s_push(c, "media_type");
    if (!a->media_type || !s_is_media_type(a->media_type))
        return s_fail(c,
                      "is %s; expected a media type such as \"image/png\" or "
                      "\"application/pdf\"",
                      a->media_type ? "not a media type" : "missing");
    s_pop(c, mark);
    mark = s_push(c, "data");
    if (a->data.len == 0 || !a->data.data)
        return s_fail(c, "is missing or empty; expected the file's bytes in standard base64");
    if (a->data.len > MN_ATTACHMENT_MAX_BYTES)
        return s_fail(c, "is %zu bytes, over the limit of %u bytes per attachment", a->data.len,
                      MN_ATTACHMENT_MAX_BYTES);
    *total += a->data.len;
    if (*total > MN_ATTACHMENTS_TOTAL_MAX_BYTES)
        return s_fail(c,
                      "brings the attachments to %zu bytes, over the limit of %u bytes per "
                      "report",
                      *total, MN_ATTACHMENTS_TOTAL_MAX_BYTES);
    s_pop(c, mark);
    return MN_OK;
}

/* Check a repeated field's count and that no entry is NULL (a report built by hand). */
static int s_check_list(s_ctx *c, const char *key, size_t n, void *const *items)
{
    size_t mark = s_push(c, key);
    if (n > MN_LIST_MAX)
        return s_fail(c, "has %zu entries; at most %d are allowed", n, MN_LIST_MAX);
    for (size_t i = 0; items && i < n; i++) {
        if (!items[i]) {
            s_push_index(c, i);
            return s_fail(c, "is missing");
        }
    }
    s_pop(c, mark);
    return MN_OK;
}

static int s_validate(s_ctx *c, const mn_report *r)
{
    int rc;
    size_t mark, total = 0;

    if ((rc = s_check_unknown_fields(c, &r->base)) != MN_OK)
        return rc;

    mark = s_push(c, "reporter");
    if (!r->reporter)
        return s_fail(c, "is missing; every report says who reports it (kind and "
                         "organisation_type may be \"unknown\")");
    if ((rc = s_validate_reporter(c, r->reporter)) != MN_OK)
        return rc;
    s_pop(c, mark);

    if (r->victim) {
        mark = s_push(c, "victim");
        if ((rc = s_validate_victim(c, r->victim)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }

    if ((rc = s_check_list(c, "exploitation", r->n_exploitation, (void *const *)r->exploitation)) !=
        MN_OK)
        return rc;
    mark = s_push(c, "exploitation");
    if (r->n_exploitation == 0)
        return s_fail(c, "is missing or empty; give at least one form of exploitation "
                         "(\"other\" when none fits)");
    for (size_t i = 0; i < r->n_exploitation; i++) {
        size_t m2 = s_push_index(c, i);
        if ((rc = s_validate_exploitation(c, r->exploitation[i])) != MN_OK)
            return rc;
        s_pop(c, m2);
    }
    s_pop(c, mark);

    if ((rc = s_check_enum(c, "online", r->has_online, (int)r->online, &s_tristate)) != MN_OK)
        return rc;
    if (r->has_acute_danger && r->acute_danger) {
        int blank = 1;
        for (const char *p = r->acute_reason; p && *p; p++)
            if (*p != ' ')
                blank = 0;
        if (blank) {
            s_push(c, "acute_reason");
            return s_fail(c, "is missing; acute_danger is true, so say in a few words what "
                             "the danger is");
        }
    }
    if ((rc = s_check_text(c, "acute_reason", r->acute_reason, MN_TEXT_MAX_BYTES, 0)) != MN_OK)
        return rc;
    if (r->consent) {
        mark = s_push(c, "consent");
        if ((rc = s_check_unknown_fields(c, &r->consent->base)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }
    if ((rc = s_check_municipality(c, "municipality_code", r->municipality_code)) != MN_OK)
        return rc;
    if (r->region) {
        mark = s_push(c, "region");
        if (!s_is_code(r->region, S_CODE_MAX, "-"))
            return s_fail(c,
                          "is not a region code; expected 1-%d characters of a-z, 0-9 and "
                          "'-', e.g. \"midden-nederland\"",
                          S_CODE_MAX);
        s_pop(c, mark);
    }

    if ((rc = s_check_list(c, "signals", r->n_signals, (void *const *)r->signals)) != MN_OK)
        return rc;
    for (size_t i = 0; i < r->n_signals; i++) {
        mark = s_push(c, "signals");
        s_push_index(c, i);
        if (!s_is_code(r->signals[i], S_CODE_MAX, "_.-"))
            return s_fail(c,
                          "is not a signal code; expected 1-%d characters of a-z, 0-9, "
                          "'_', '.' and '-', e.g. \"no_id_documents\"",
                          S_CODE_MAX);
        s_pop(c, mark);
    }

    if ((rc = s_check_text(c, "narrative", r->narrative, MN_NARRATIVE_MAX_BYTES, 1)) != MN_OK)
        return rc;

    if ((rc = s_check_list(c, "suspects", r->n_suspects, (void *const *)r->suspects)) != MN_OK)
        return rc;
    for (size_t i = 0; i < r->n_suspects; i++) {
        mark = s_push(c, "suspects");
        s_push_index(c, i);
        if ((rc = s_validate_suspect(c, r->suspects[i])) != MN_OK)
            return rc;
        s_pop(c, mark);
    }

    mark = s_push(c, "linked_registrations");
    if (r->n_linked_registrations > MN_LIST_MAX)
        return s_fail(c, "has %zu entries; at most %d are allowed", r->n_linked_registrations,
                      MN_LIST_MAX);
    for (size_t i = 0; i < r->n_linked_registrations; i++) {
        if (r->linked_registrations[i] == 0) {
            s_push_index(c, i);
            return s_fail(c, "is not a registration number; they start at MN-00000001");
        }
    }
    s_pop(c, mark);

    if ((rc = s_check_list(c, "attachments", r->n_attachments, (void *const *)r->attachments)) !=
        MN_OK)
        return rc;
    for (size_t i = 0; i < r->n_attachments; i++) {
        mark = s_push(c, "attachments");
        s_push_index(c, i);
        if ((rc = s_validate_attachment(c, r->attachments[i], &total)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }

    if (r->observed_at) {
        mark = s_push(c, "observed_at");
        if (!s_is_date(r->observed_at) && !s_is_date_time(r->observed_at))
            return s_fail(c, "is not a date or time; expected YYYY-MM-DD or an RFC 3339 "
                             "date-time such as \"2024-05-02T21:30:00+02:00\"");
        s_pop(c, mark);
    }

    /* Every field is within its limit, but the lists multiply; the whole must still fit an
     * envelope. */
    size_t packed = meldnet__report__get_packed_size(r);
    if (packed > MN_REPORT_MAX_BYTES)
        return s_fail(c,
                      "encodes to %zu bytes, over the limit of %u bytes; shorten it or send "
                      "fewer attachments",
                      packed, MN_REPORT_MAX_BYTES);
    return MN_OK;
}

int mn_report_validate(const mn_report *r, mn_diag *d)
{
    s_ctx c = {.d = d};
    if (!r)
        return mn_diag_set(d, MN_EREPORT, "report", "there is no report");
    return s_validate(&c, r);
}

/* ------------------------------------------------------------------------------------------ */
/* Parse: JSON shape -> protobuf-c message */

static int s_key_is_printable(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e || key[i] == '"' || key[i] == '\\')
            return 0;
    return 1;
}

static int s_unknown_key(s_ctx *c, const char *key, const char *const *keys)
{
    int printable = s_key_is_printable(key);
    char list[256];
    size_t used = 0, n_keys;

    s_push(c, printable ? key : "(unprintable key)");
    for (n_keys = 0; keys[n_keys]; n_keys++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", n_keys ? ", " : "", keys[n_keys]);
        if (n > 0 && used + (size_t)n < sizeof list)
            used += (size_t)n;
    }
    const char *guess = printable ? mn_suggest_closest(key, keys, n_keys) : NULL;
    if (guess)
        s_fail(c, "is not a field of the report; did you mean \"%s\"?", guess);
    else
        s_fail(c, "is not a field of the report");
    mn_diag_hint(c->d, "fields here are: %s", list);
    return MN_EREPORT;
}

static int s_check_keys(s_ctx *c, json_t *obj, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (!keys[i])
            return s_unknown_key(c, key, keys);
    }
    return MN_OK;
}

/* obj[key] when present. A JSON null is refused rather than read as "unknown": absent is how
 * the schema says unknown, and a null could as well mean "none". On MN_OK with *v != NULL the
 * key is pushed on the path; the caller pops it with *mark. */
static int s_member(s_ctx *c, json_t *obj, const char *key, json_t **v, size_t *mark)
{
    *v = json_object_get(obj, key);
    if (!*v)
        return MN_OK;
    *mark = s_push(c, key);
    if (json_is_null(*v))
        return s_fail(c, "is null; leave the field out when it is not known");
    return MN_OK;
}

static int s_get_string(s_ctx *c, json_t *obj, const char *key, char **dst)
{
    json_t *v;
    size_t mark;
    int rc = s_member(c, obj, key, &v, &mark);
    if (rc != MN_OK || !v)
        return rc;
    if (!json_is_string(v))
        return s_fail(c, "must be text (a JSON string)");
    *dst = strdup(json_string_value(v));
    if (!*dst)
        return s_nomem(c);
    s_pop(c, mark);
    return MN_OK;
}

static int s_get_bool(s_ctx *c, json_t *obj, const char *key, protobuf_c_boolean *has,
                      protobuf_c_boolean *val)
{
    json_t *v;
    size_t mark;
    int rc = s_member(c, obj, key, &v, &mark);
    if (rc != MN_OK || !v)
        return rc;
    if (!json_is_boolean(v))
        return s_fail(c, "must be true or false (a JSON boolean, not text)");
    *has = 1;
    *val = json_is_true(v) ? 1 : 0;
    s_pop(c, mark);
    return MN_OK;
}

static int s_get_enum(s_ctx *c, json_t *obj, const char *key, const s_enum *e,
                      protobuf_c_boolean *has, int *val)
{
    json_t *v;
    size_t mark;
    int rc = s_member(c, obj, key, &v, &mark);
    if (rc != MN_OK || !v)
        return rc;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < e->count; i++) {
            if (e->names[i] && strcmp(e->names[i], s) == 0) {
                *has = 1;
                *val = (int)i;
                s_pop(c, mark);
                return MN_OK;
            }
        }
    }
    return s_fail(c, "must be one of %s", e->expected);
}

static int s_get_object(s_ctx *c, json_t *obj, const char *key, json_t **v, size_t *mark)
{
    int rc = s_member(c, obj, key, v, mark);
    if (rc != MN_OK || !*v)
        return rc;
    if (!json_is_object(*v))
        return s_fail(c, "must be an object ({...})");
    return MN_OK;
}

/* An array of at most MN_LIST_MAX entries; *v NULL when absent. Pushes key like s_member. */
static int s_get_array(s_ctx *c, json_t *obj, const char *key, json_t **v, size_t *mark)
{
    int rc = s_member(c, obj, key, v, mark);
    if (rc != MN_OK || !*v)
        return rc;
    if (!json_is_array(*v))
        return s_fail(c, "must be a list ([...])");
    if (json_array_size(*v) > MN_LIST_MAX)
        return s_fail(c, "has %zu entries; at most %d are allowed", json_array_size(*v),
                      MN_LIST_MAX);
    return MN_OK;
}

/* Allocate a message (malloc, so free_unpacked can free it) and initialise it. */
static void *s_new_message(s_ctx *c, size_t size, void (*init)(void *), int *rc)
{
    void *m = malloc(size);
    if (!m) {
        *rc = s_nomem(c);
        return NULL;
    }
    init(m);
    *rc = MN_OK;
    return m;
}

static void s_init_contact(void *m)
{
    meldnet__contact__init(m);
}
static void s_init_reporter(void *m)
{
    meldnet__reporter__init(m);
}
static void s_init_victim(void *m)
{
    meldnet__victim__init(m);
}
static void s_init_exploitation(void *m)
{
    meldnet__exploitation__init(m);
}
static void s_init_consent(void *m)
{
    meldnet__consent__init(m);
}
static void s_init_suspect(void *m)
{
    meldnet__suspect__init(m);
}
static void s_init_attachment(void *m)
{
    meldnet__attachment__init(m);
}

static int s_parse_contact(s_ctx *c, json_t *o, Meldnet__Contact *ct)
{
    int rc;
    if ((rc = s_check_keys(c, o, s_contact_keys)) != MN_OK ||
        (rc = s_get_string(c, o, "name", &ct->name)) != MN_OK ||
        (rc = s_get_string(c, o, "role", &ct->role)) != MN_OK ||
        (rc = s_get_string(c, o, "phone", &ct->phone)) != MN_OK ||
        (rc = s_get_string(c, o, "email", &ct->email)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_parse_reporter(s_ctx *c, json_t *o, Meldnet__Reporter *rp)
{
    int rc, val = 0;
    json_t *v;
    size_t mark;
    if ((rc = s_check_keys(c, o, s_reporter_keys)) != MN_OK)
        return rc;
    if ((rc = s_get_enum(c, o, "kind", &s_kind, &rp->has_kind, &val)) != MN_OK)
        return rc;
    rp->kind = (Meldnet__ReporterKind)val;
    if ((rc = s_get_enum(c, o, "organisation_type", &s_org, &rp->has_organisation_type, &val)) !=
        MN_OK)
        return rc;
    rp->organisation_type = (Meldnet__OrganisationType)val;
    if ((rc = s_get_string(c, o, "organisation_name", &rp->organisation_name)) != MN_OK ||
        (rc = s_get_bool(c, o, "anonymous", &rp->has_anonymous, &rp->anonymous)) != MN_OK ||
        (rc = s_get_object(c, o, "contact", &v, &mark)) != MN_OK)
        return rc;
    if (v) {
        rp->contact = s_new_message(c, sizeof *rp->contact, s_init_contact, &rc);
        if (!rp->contact || (rc = s_parse_contact(c, v, rp->contact)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }
    return MN_OK;
}

static int s_parse_victim(s_ctx *c, json_t *o, Meldnet__Victim *vi)
{
    int rc, val = 0;
    json_t *v;
    size_t mark;
    if ((rc = s_check_keys(c, o, s_victim_keys)) != MN_OK ||
        (rc = s_get_string(c, o, "name", &vi->name)) != MN_OK ||
        (rc = s_get_string(c, o, "date_of_birth", &vi->date_of_birth)) != MN_OK ||
        (rc = s_member(c, o, "age_years", &v, &mark)) != MN_OK)
        return rc;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            return s_fail(c, "must be a whole number of years 0-%d", S_AGE_MAX);
        vi->has_age_years = 1;
        vi->age_years = (uint32_t)json_integer_value(v);
        s_pop(c, mark);
    }
    if ((rc = s_get_enum(c, o, "gender", &s_gender, &vi->has_gender, &val)) != MN_OK)
        return rc;
    vi->gender = (Meldnet__Gender)val;
    if ((rc = s_get_string(c, o, "nationality", &vi->nationality)) != MN_OK ||
        (rc = s_get_string(c, o, "municipality", &vi->municipality)) != MN_OK ||
        (rc = s_get_enum(c, o, "shelter_needed", &s_tristate, &vi->has_shelter_needed, &val)) !=
            MN_OK)
        return rc;
    vi->shelter_needed = (Meldnet__Tristate)val;
    if ((rc = s_get_string(c, o, "address", &vi->address)) != MN_OK ||
        (rc = s_get_string(c, o, "phone", &vi->phone)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_parse_exploitation(s_ctx *c, json_t *o, Meldnet__Exploitation *e)
{
    int rc, val = 0;
    protobuf_c_boolean has_form = 0;
    if ((rc = s_check_keys(c, o, s_exploitation_keys)) != MN_OK ||
        (rc = s_get_enum(c, o, "form", &s_form, &has_form, &val)) != MN_OK)
        return rc;
    e->form = (Meldnet__ExploitationForm)val;
    if ((rc = s_get_enum(c, o, "sexual", &s_sexual, &e->has_sexual, &val)) != MN_OK)
        return rc;
    e->sexual = (Meldnet__SexualSubtype)val;
    if ((rc = s_get_string(c, o, "sector", &e->sector)) != MN_OK ||
        (rc = s_get_enum(c, o, "drug_related", &s_tristate, &e->has_drug_related, &val)) != MN_OK)
        return rc;
    e->drug_related = (Meldnet__Tristate)val;
    return s_get_string(c, o, "description", &e->description);
}

static int s_parse_consent(s_ctx *c, json_t *o, Meldnet__Consent *ct)
{
    int rc;
    if ((rc = s_check_keys(c, o, s_consent_keys)) != MN_OK ||
        (rc = s_get_bool(c, o, "register_identity", &ct->has_register_identity,
                         &ct->register_identity)) != MN_OK ||
        (rc = s_get_bool(c, o, "share_police", &ct->has_share_police, &ct->share_police)) !=
            MN_OK ||
        (rc = s_get_bool(c, o, "share_care", &ct->has_share_care, &ct->share_care)) != MN_OK ||
        (rc = s_get_bool(c, o, "share_research", &ct->has_share_research, &ct->share_research)) !=
            MN_OK ||
        (rc = s_get_bool(c, o, "reporter_contact_shareable", &ct->has_reporter_contact_shareable,
                         &ct->reporter_contact_shareable)) != MN_OK)
        return rc;
    return MN_OK;
}

/* A list of strings into *items / *n (each strdup'd). */
static int s_parse_strings(s_ctx *c, json_t *obj, const char *key, char ***items, size_t *n)
{
    json_t *arr, *v;
    size_t mark, i;
    int rc = s_get_array(c, obj, key, &arr, &mark);
    if (rc != MN_OK || !arr)
        return rc;
    if (json_array_size(arr) > 0) {
        *items = calloc(json_array_size(arr), sizeof **items);
        if (!*items)
            return s_nomem(c);
    }
    json_array_foreach(arr, i, v)
    {
        size_t m2 = s_push_index(c, i);
        if (!json_is_string(v))
            return s_fail(c, "must be text (a JSON string)");
        (*items)[i] = strdup(json_string_value(v));
        if (!(*items)[i])
            return s_nomem(c);
        (*n)++;
        s_pop(c, m2);
    }
    s_pop(c, mark);
    return MN_OK;
}

static int s_parse_suspect(s_ctx *c, json_t *o, Meldnet__Suspect *s)
{
    int rc;
    if ((rc = s_check_keys(c, o, s_suspect_keys)) != MN_OK ||
        (rc = s_get_string(c, o, "description", &s->description)) != MN_OK ||
        (rc = s_get_string(c, o, "name", &s->name)) != MN_OK ||
        (rc = s_parse_strings(c, o, "online_handles", &s->online_handles, &s->n_online_handles)) !=
            MN_OK ||
        (rc = s_get_string(c, o, "phone", &s->phone)) != MN_OK)
        return rc;
    return MN_OK;
}

static int s_parse_attachment(s_ctx *c, json_t *o, Meldnet__Attachment *a)
{
    int rc;
    json_t *v;
    size_t mark, b64_len, cap, bin_len = 0;
    if ((rc = s_check_keys(c, o, s_attachment_keys)) != MN_OK ||
        (rc = s_get_string(c, o, "filename", &a->filename)) != MN_OK ||
        (rc = s_get_string(c, o, "media_type", &a->media_type)) != MN_OK ||
        (rc = s_member(c, o, "data", &v, &mark)) != MN_OK)
        return rc;
    if (!v)
        return MN_OK;
    if (!json_is_string(v))
        return s_fail(c, "must be text: the file's bytes in standard base64");
    b64_len = json_string_length(v);
    if (b64_len == 0) {
        s_pop(c, mark);
        return MN_OK;
    }
    /* The input is at most S_JSON_MAX_BYTES, so this bounds the allocation as well. */
    cap = b64_len / 4 * 3 + 3;
    a->data.data = malloc(cap);
    if (!a->data.data)
        return s_nomem(c);
    if (sodium_base642bin(a->data.data, cap, json_string_value(v), b64_len, " \t\r\n", &bin_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        sodium_memzero(a->data.data, cap);
        return s_fail(c, "is not standard base64 (A-Z a-z 0-9 + /, padded with '=')");
    }
    a->data.len = bin_len;
    s_pop(c, mark);
    return MN_OK;
}

/* Parse a list of objects into a protobuf-c array of messages. n counts only finished entries
 * so that a failure half-way leaves a message free_unpacked can free. */
static int s_parse_objects(s_ctx *c, json_t *obj, const char *key, size_t size,
                           void (*init)(void *), int (*parse)(s_ctx *, json_t *, void *),
                           void ***items, size_t *n)
{
    json_t *arr, *v;
    size_t mark, i;
    int rc = s_get_array(c, obj, key, &arr, &mark);
    if (rc != MN_OK || !arr)
        return rc;
    if (json_array_size(arr) > 0) {
        *items = calloc(json_array_size(arr), sizeof **items);
        if (!*items)
            return s_nomem(c);
    }
    json_array_foreach(arr, i, v)
    {
        size_t m2 = s_push_index(c, i);
        if (!json_is_object(v))
            return s_fail(c, "must be an object ({...})");
        void *m = s_new_message(c, size, init, &rc);
        if (!m)
            return rc;
        (*items)[i] = m;
        (*n)++;
        if ((rc = parse(c, v, m)) != MN_OK)
            return rc;
        s_pop(c, m2);
    }
    s_pop(c, mark);
    return MN_OK;
}

static int s_parse_exploitation_v(s_ctx *c, json_t *o, void *m)
{
    return s_parse_exploitation(c, o, m);
}
static int s_parse_suspect_v(s_ctx *c, json_t *o, void *m)
{
    return s_parse_suspect(c, o, m);
}
static int s_parse_attachment_v(s_ctx *c, json_t *o, void *m)
{
    return s_parse_attachment(c, o, m);
}

static int s_parse_registrations(s_ctx *c, json_t *o, mn_report *r)
{
    json_t *arr, *v;
    size_t mark, i;
    int rc = s_get_array(c, o, "linked_registrations", &arr, &mark);
    if (rc != MN_OK || !arr)
        return rc;
    if (json_array_size(arr) > 0) {
        r->linked_registrations = calloc(json_array_size(arr), sizeof(uint64_t));
        if (!r->linked_registrations)
            return s_nomem(c);
    }
    json_array_foreach(arr, i, v)
    {
        size_t m2 = s_push_index(c, i);
        uint64_t reg = 0;
        if (!json_is_string(v) || mn_registration_parse(json_string_value(v), &reg) != MN_OK)
            return s_fail(c, "is not a registration number; expected text like "
                             "\"MN-00000042\"");
        r->linked_registrations[i] = reg;
        r->n_linked_registrations++;
        s_pop(c, m2);
    }
    s_pop(c, mark);
    return MN_OK;
}

static int s_parse_report(s_ctx *c, json_t *o, mn_report *r)
{
    int rc, val = 0;
    json_t *v;
    size_t mark;

    if ((rc = s_check_keys(c, o, s_report_keys)) != MN_OK)
        return rc;

    if ((rc = s_get_object(c, o, "reporter", &v, &mark)) != MN_OK)
        return rc;
    if (v) {
        r->reporter = s_new_message(c, sizeof *r->reporter, s_init_reporter, &rc);
        if (!r->reporter || (rc = s_parse_reporter(c, v, r->reporter)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }
    if ((rc = s_get_object(c, o, "victim", &v, &mark)) != MN_OK)
        return rc;
    if (v) {
        r->victim = s_new_message(c, sizeof *r->victim, s_init_victim, &rc);
        if (!r->victim || (rc = s_parse_victim(c, v, r->victim)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }
    if ((rc = s_parse_objects(c, o, "exploitation", sizeof **r->exploitation, s_init_exploitation,
                              s_parse_exploitation_v, (void ***)&r->exploitation,
                              &r->n_exploitation)) != MN_OK)
        return rc;
    if ((rc = s_get_enum(c, o, "online", &s_tristate, &r->has_online, &val)) != MN_OK)
        return rc;
    r->online = (Meldnet__Tristate)val;
    if ((rc = s_get_bool(c, o, "acute_danger", &r->has_acute_danger, &r->acute_danger)) != MN_OK ||
        (rc = s_get_string(c, o, "acute_reason", &r->acute_reason)) != MN_OK ||
        (rc = s_get_object(c, o, "consent", &v, &mark)) != MN_OK)
        return rc;
    if (v) {
        r->consent = s_new_message(c, sizeof *r->consent, s_init_consent, &rc);
        if (!r->consent || (rc = s_parse_consent(c, v, r->consent)) != MN_OK)
            return rc;
        s_pop(c, mark);
    }
    if ((rc = s_get_string(c, o, "municipality_code", &r->municipality_code)) != MN_OK ||
        (rc = s_get_string(c, o, "region", &r->region)) != MN_OK ||
        (rc = s_parse_strings(c, o, "signals", &r->signals, &r->n_signals)) != MN_OK ||
        (rc = s_get_string(c, o, "narrative", &r->narrative)) != MN_OK ||
        (rc = s_parse_objects(c, o, "suspects", sizeof **r->suspects, s_init_suspect,
                              s_parse_suspect_v, (void ***)&r->suspects, &r->n_suspects)) !=
            MN_OK ||
        (rc = s_parse_registrations(c, o, r)) != MN_OK ||
        (rc = s_parse_objects(c, o, "attachments", sizeof **r->attachments, s_init_attachment,
                              s_parse_attachment_v, (void ***)&r->attachments,
                              &r->n_attachments)) != MN_OK ||
        (rc = s_get_string(c, o, "observed_at", &r->observed_at)) != MN_OK)
        return rc;
    return MN_OK;
}

/* A jansson error in words that never quote the input. */
static int s_json_error(mn_diag *d, const json_error_t *err)
{
    const char *what;
    switch (json_error_code(err)) {
    case json_error_out_of_memory:
        return mn_diag_set(d, MN_ENOMEM, "report", "out of memory while reading the JSON");
    case json_error_stack_overflow: what = "nests too deeply"; break;
    case json_error_invalid_utf8: what = "holds bytes that are not UTF-8"; break;
    case json_error_premature_end_of_input: what = "ends before the JSON is complete"; break;
    case json_error_end_of_input_expected:
        what = "has more text after the end of the JSON object";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key: what = "contains a NUL character"; break;
    case json_error_duplicate_key: what = "has a key twice in one object"; break;
    case json_error_numeric_overflow: what = "has a number too large to read"; break;
    case json_error_wrong_type: what = "is not a JSON object ({...})"; break;
    default: what = "is not valid JSON (a syntax error)"; break;
    }
    mn_diag_set(d, MN_EREPORT, "report", "the text %s (line %d, column %d)", what, err->line,
                err->column);
    mn_diag_hint(d, "fix the JSON at that line: keys and text in double quotes, commas between "
                    "members, no comments; \"python3 -m json.tool FILE\" points at the spot");
    return MN_EREPORT;
}

int mn_report_from_json(const char *json, size_t len, mn_report **out, mn_diag *d)
{
    int rc;
    json_t *root = NULL;
    mn_report *r = NULL;
    json_error_t err;
    s_ctx c = {.d = d};

    assert(out);
    *out = NULL;
    memset(&err, 0, sizeof err);
    if (len > S_JSON_MAX_BYTES) {
        rc = mn_diag_set(d, MN_ETOOBIG, "report",
                         "the JSON text is %zu bytes, over the limit of %u bytes", len,
                         S_JSON_MAX_BYTES);
        goto out;
    }
    if (!json && len > 0) {
        rc = mn_diag_set(d, MN_EREPORT, "report", "there is no JSON text");
        goto out;
    }
    s_json_setup();
    root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        rc = s_json_error(d, &err);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = mn_diag_set(d, MN_EREPORT, "report", "the JSON text must be one object ({...})");
        goto out;
    }
    r = malloc(sizeof *r);
    if (!r) {
        rc = mn_diag_set(d, MN_ENOMEM, "report", "out of memory");
        goto out;
    }
    meldnet__report__init(r);
    if ((rc = s_parse_report(&c, root, r)) != MN_OK)
        goto out;
    if ((rc = mn_report_validate(r, d)) != MN_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    mn_report_destroy(&r);
    json_decref(root);
    sodium_memzero(&err, sizeof err); /* err.text may quote the input */
    return rc;
}

int mn_report_load_json(const char *path, mn_report **out, mn_diag *d)
{
    int rc;
    FILE *f = NULL;
    char *buf = NULL, *grown;
    size_t len = 0, cap = 0;
    int is_stdin = strcmp(path, "-") == 0;

    assert(out);
    *out = NULL;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        rc = mn_diag_sys(d, path, "cannot open the report file");
        goto out;
    }
    for (;;) {
        if (len == cap) {
            /* Grow by copying, so no unwiped copy of the old buffer is left behind. */
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            if (ncap > S_JSON_MAX_BYTES + 1)
                ncap = S_JSON_MAX_BYTES + 1;
            if (ncap == cap) {
                rc = mn_diag_set(d, MN_ETOOBIG, path,
                                 "the report file is over the limit of %u bytes", S_JSON_MAX_BYTES);
                goto out;
            }
            grown = malloc(ncap);
            if (!grown) {
                rc = mn_diag_set(d, MN_ENOMEM, path, "out of memory");
                goto out;
            }
            if (buf)
                memcpy(grown, buf, len);
            mn_plain_free((uint8_t *)buf, cap);
            buf = grown;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                rc = mn_diag_sys(d, path, "cannot read the report file");
                goto out;
            }
            break;
        }
    }
    rc = mn_report_from_json(buf, len, out, d);
out:
    if (f && !is_stdin)
        fclose(f);
    mn_plain_free((uint8_t *)buf, cap);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* To JSON */

/* json_object_set_new takes the value even on failure, so a NULL value just means ENOMEM. */
static int s_put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v) == 0 ? MN_OK : MN_ENOMEM;
}

static int s_put_str(json_t *o, const char *key, const char *s)
{
    if (!s)
        return MN_OK;
    if (s_utf8_scan((const unsigned char *)s, strlen(s), S_CONTROL_ANY) != S_TEXT_OK)
        return MN_EINVAL;
    return s_put(o, key, json_string(s));
}

static int s_put_bool(json_t *o, const char *key, int has, int val)
{
    return has ? s_put(o, key, json_boolean(val)) : MN_OK;
}

/* An enumeration by name; a value out of range (an unvalidated report) stays a number, which
 * from_json will refuse, rather than becoming a guess. */
static int s_put_enum(json_t *o, const char *key, int has, int val, const s_enum *e)
{
    if (!has)
        return MN_OK;
    if (val >= 0 && (size_t)val < e->count && e->names[val])
        return s_put(o, key, json_string(e->names[val]));
    return s_put(o, key, json_integer(val));
}

static int s_put_object(json_t *o, const char *key, json_t **child)
{
    *child = json_object();
    return s_put(o, key, json_incref(*child)) == MN_OK ? MN_OK : MN_ENOMEM;
}

static int s_put_array(json_t *o, const char *key, json_t **arr)
{
    *arr = json_array();
    return s_put(o, key, json_incref(*arr)) == MN_OK ? MN_OK : MN_ENOMEM;
}

static int s_append(json_t *arr, json_t *v)
{
    return json_array_append_new(arr, v) == 0 ? MN_OK : MN_ENOMEM;
}

static int s_json_reporter(json_t *parent, const Meldnet__Reporter *rp)
{
    int rc;
    json_t *o = NULL, *ct = NULL;
    if ((rc = s_put_object(parent, "reporter", &o)) != MN_OK ||
        (rc = s_put_enum(o, "kind", rp->has_kind, (int)rp->kind, &s_kind)) != MN_OK ||
        (rc = s_put_enum(o, "organisation_type", rp->has_organisation_type,
                         (int)rp->organisation_type, &s_org)) != MN_OK ||
        (rc = s_put_str(o, "organisation_name", rp->organisation_name)) != MN_OK ||
        (rc = s_put_bool(o, "anonymous", rp->has_anonymous, rp->anonymous)) != MN_OK)
        goto out;
    if (rp->contact) {
        if ((rc = s_put_object(o, "contact", &ct)) != MN_OK ||
            (rc = s_put_str(ct, "name", rp->contact->name)) != MN_OK ||
            (rc = s_put_str(ct, "role", rp->contact->role)) != MN_OK ||
            (rc = s_put_str(ct, "phone", rp->contact->phone)) != MN_OK ||
            (rc = s_put_str(ct, "email", rp->contact->email)) != MN_OK)
            goto out;
    }
out:
    json_decref(ct);
    json_decref(o);
    return rc;
}

static int s_json_victim(json_t *parent, const Meldnet__Victim *v)
{
    int rc;
    json_t *o = NULL;
    if ((rc = s_put_object(parent, "victim", &o)) != MN_OK ||
        (rc = s_put_str(o, "name", v->name)) != MN_OK ||
        (rc = s_put_str(o, "date_of_birth", v->date_of_birth)) != MN_OK)
        goto out;
    if (v->has_age_years && (rc = s_put(o, "age_years", json_integer(v->age_years))) != MN_OK)
        goto out;
    if ((rc = s_put_enum(o, "gender", v->has_gender, (int)v->gender, &s_gender)) != MN_OK ||
        (rc = s_put_str(o, "nationality", v->nationality)) != MN_OK ||
        (rc = s_put_str(o, "municipality", v->municipality)) != MN_OK ||
        (rc = s_put_enum(o, "shelter_needed", v->has_shelter_needed, (int)v->shelter_needed,
                         &s_tristate)) != MN_OK ||
        (rc = s_put_str(o, "address", v->address)) != MN_OK ||
        (rc = s_put_str(o, "phone", v->phone)) != MN_OK)
        goto out;
out:
    json_decref(o);
    return rc;
}

static int s_json_exploitation(json_t *arr, const Meldnet__Exploitation *e)
{
    int rc;
    json_t *o = json_object();
    if (!o)
        return MN_ENOMEM;
    if ((rc = s_append(arr, json_incref(o))) != MN_OK ||
        (rc = s_put_enum(o, "form", 1, (int)e->form, &s_form)) != MN_OK ||
        (rc = s_put_enum(o, "sexual", e->has_sexual, (int)e->sexual, &s_sexual)) != MN_OK ||
        (rc = s_put_str(o, "sector", e->sector)) != MN_OK ||
        (rc = s_put_enum(o, "drug_related", e->has_drug_related, (int)e->drug_related,
                         &s_tristate)) != MN_OK ||
        (rc = s_put_str(o, "description", e->description)) != MN_OK)
        goto out;
out:
    json_decref(o);
    return rc;
}

static int s_json_consent(json_t *parent, const Meldnet__Consent *ct)
{
    int rc;
    json_t *o = NULL;
    if ((rc = s_put_object(parent, "consent", &o)) != MN_OK ||
        (rc = s_put_bool(o, "register_identity", ct->has_register_identity,
                         ct->register_identity)) != MN_OK ||
        (rc = s_put_bool(o, "share_police", ct->has_share_police, ct->share_police)) != MN_OK ||
        (rc = s_put_bool(o, "share_care", ct->has_share_care, ct->share_care)) != MN_OK ||
        (rc = s_put_bool(o, "share_research", ct->has_share_research, ct->share_research)) !=
            MN_OK ||
        (rc = s_put_bool(o, "reporter_contact_shareable", ct->has_reporter_contact_shareable,
                         ct->reporter_contact_shareable)) != MN_OK)
        goto out;
out:
    json_decref(o);
    return rc;
}

static int s_json_strings(json_t *parent, const char *key, char *const *items, size_t n)
{
    int rc = MN_OK;
    json_t *arr = NULL;
    if (n == 0)
        return MN_OK;
    if ((rc = s_put_array(parent, key, &arr)) != MN_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!items[i])
            continue;
        if (s_utf8_scan((const unsigned char *)items[i], strlen(items[i]), S_CONTROL_ANY) !=
            S_TEXT_OK) {
            rc = MN_EINVAL;
            goto out;
        }
        if ((rc = s_append(arr, json_string(items[i]))) != MN_OK)
            goto out;
    }
out:
    json_decref(arr);
    return rc;
}

static int s_json_suspect(json_t *arr, const Meldnet__Suspect *s)
{
    int rc;
    json_t *o = json_object();
    if (!o)
        return MN_ENOMEM;
    if ((rc = s_append(arr, json_incref(o))) != MN_OK ||
        (rc = s_put_str(o, "description", s->description)) != MN_OK ||
        (rc = s_put_str(o, "name", s->name)) != MN_OK ||
        (rc = s_json_strings(o, "online_handles", s->online_handles, s->n_online_handles)) !=
            MN_OK ||
        (rc = s_put_str(o, "phone", s->phone)) != MN_OK)
        goto out;
out:
    json_decref(o);
    return rc;
}

static int s_json_attachment(json_t *arr, const Meldnet__Attachment *a)
{
    int rc;
    char *b64 = NULL;
    size_t b64_cap = 0;
    json_t *o = json_object();
    if (!o)
        return MN_ENOMEM;
    if ((rc = s_append(arr, json_incref(o))) != MN_OK ||
        (rc = s_put_str(o, "filename", a->filename)) != MN_OK ||
        (rc = s_put_str(o, "media_type", a->media_type)) != MN_OK)
        goto out;
    b64_cap = sodium_base64_encoded_len(a->data.len, sodium_base64_VARIANT_ORIGINAL);
    b64 = malloc(b64_cap);
    if (!b64) {
        rc = MN_ENOMEM;
        goto out;
    }
    sodium_bin2base64(b64, b64_cap, a->data.data ? a->data.data : (const uint8_t *)"", a->data.len,
                      sodium_base64_VARIANT_ORIGINAL);
    rc = s_put(o, "data", json_string(b64));
out:
    mn_plain_free((uint8_t *)b64, b64_cap);
    json_decref(o);
    return rc;
}

static int s_json_report(json_t *o, const mn_report *r)
{
    int rc = MN_OK;
    json_t *arr = NULL;

    if (r->reporter && (rc = s_json_reporter(o, r->reporter)) != MN_OK)
        goto out;
    if (r->victim && (rc = s_json_victim(o, r->victim)) != MN_OK)
        goto out;
    if (r->n_exploitation > 0) {
        if ((rc = s_put_array(o, "exploitation", &arr)) != MN_OK)
            goto out;
        for (size_t i = 0; i < r->n_exploitation; i++)
            if (r->exploitation[i] && (rc = s_json_exploitation(arr, r->exploitation[i])) != MN_OK)
                goto out;
        json_decref(arr);
        arr = NULL;
    }
    if ((rc = s_put_enum(o, "online", r->has_online, (int)r->online, &s_tristate)) != MN_OK ||
        (rc = s_put_bool(o, "acute_danger", r->has_acute_danger, r->acute_danger)) != MN_OK ||
        (rc = s_put_str(o, "acute_reason", r->acute_reason)) != MN_OK)
        goto out;
    if (r->consent && (rc = s_json_consent(o, r->consent)) != MN_OK)
        goto out;
    if ((rc = s_put_str(o, "municipality_code", r->municipality_code)) != MN_OK ||
        (rc = s_put_str(o, "region", r->region)) != MN_OK ||
        (rc = s_json_strings(o, "signals", r->signals, r->n_signals)) != MN_OK ||
        (rc = s_put_str(o, "narrative", r->narrative)) != MN_OK)
        goto out;
    if (r->n_suspects > 0) {
        if ((rc = s_put_array(o, "suspects", &arr)) != MN_OK)
            goto out;
        for (size_t i = 0; i < r->n_suspects; i++)
            if (r->suspects[i] && (rc = s_json_suspect(arr, r->suspects[i])) != MN_OK)
                goto out;
        json_decref(arr);
        arr = NULL;
    }
    if (r->n_linked_registrations > 0) {
        if ((rc = s_put_array(o, "linked_registrations", &arr)) != MN_OK)
            goto out;
        for (size_t i = 0; i < r->n_linked_registrations; i++) {
            char buf[32];
            mn_registration_format(r->linked_registrations[i], buf, sizeof buf);
            if ((rc = s_append(arr, json_string(buf))) != MN_OK)
                goto out;
        }
        json_decref(arr);
        arr = NULL;
    }
    if (r->n_attachments > 0) {
        if ((rc = s_put_array(o, "attachments", &arr)) != MN_OK)
            goto out;
        for (size_t i = 0; i < r->n_attachments; i++)
            if (r->attachments[i] && (rc = s_json_attachment(arr, r->attachments[i])) != MN_OK)
                goto out;
        json_decref(arr);
        arr = NULL;
    }
    rc = s_put_str(o, "observed_at", r->observed_at);
out:
    json_decref(arr);
    return rc;
}

int mn_report_to_json(const mn_report *r, char **out)
{
    int rc;
    json_t *root = NULL;
    char *text;

    assert(r && out);
    *out = NULL;
    s_json_setup();
    root = json_object();
    if (!root) {
        rc = MN_ENOMEM;
        goto out;
    }
    if ((rc = s_json_report(root, r)) != MN_OK)
        goto out;
    text = json_dumps(root, JSON_INDENT(2));
    if (!text) {
        rc = MN_ENOMEM;
        goto out;
    }
    *out = text;
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Bytes */

int mn_report_encode(const mn_report *r, uint8_t **out, size_t *len)
{
    assert(r && out && len);
    return mn_message_pack(&r->base, out, len);
}

int mn_report_decode(const uint8_t *buf, size_t len, size_t max_len, mn_report **out, mn_diag *d)
{
    ProtobufCMessage *m = NULL;
    assert(out);
    int rc = mn_message_unpack(&meldnet__report__descriptor, buf, len, max_len, "report", &m, d);
    *out = (mn_report *)m; /* the generated struct starts with its base */
    return rc;
}

int mn_report_digest(const mn_report *r, const char *agent, const uint8_t key[32], uint8_t out[32])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mn_report_encode(r, &buf, &len);
    if (rc != MN_OK)
        return rc;
    /* The sender's name first, behind its length: content is "the same report" only when the
     * same agent sent it (PROTOCOL.md 9). */
    size_t agent_len = agent ? strlen(agent) : 0;
    uint8_t agent_len_be[4] = {(uint8_t)(agent_len >> 24), (uint8_t)(agent_len >> 16),
                               (uint8_t)(agent_len >> 8), (uint8_t)agent_len};
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, 32);
    crypto_generichash_update(&st, agent_len_be, sizeof agent_len_be);
    crypto_generichash_update(&st, (const uint8_t *)(agent ? agent : ""), agent_len);
    crypto_generichash_update(&st, buf, len);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
    mn_plain_free(buf, len);
    return MN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Destroy */

void mn_report_destroy(mn_report **r_p)
{
    if (!r_p || !*r_p)
        return;
    mn_message_free(&(*r_p)->base);
    *r_p = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Age */

int mn_report_victim_age(const mn_report *r, const char *today)
{
    int ty, tm, td, by, bm, bd;
    int have_today;
    const Meldnet__Victim *v = r ? r->victim : NULL;

    if (!v)
        return -1;
    if (today)
        have_today = strlen(today) == 10 && s_parse_date(today, &ty, &tm, &td);
    else {
        s_today_utc(&ty, &tm, &td);
        have_today = 1;
    }
    if (have_today && v->date_of_birth && strlen(v->date_of_birth) == 10 &&
        s_parse_date(v->date_of_birth, &by, &bm, &bd)) {
        int age = s_years_between(by, bm, bd, ty, tm, td);
        if (age >= 0)
            return age;
    }
    if (v->has_age_years && v->age_years <= INT_MAX)
        return (int)v->age_years;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Consent */

int mn_report_consent(const mn_report *r, int flag)
{
    const Meldnet__Consent *c = r ? r->consent : NULL;
    if (!c)
        return 0;
    switch (flag) {
    case MN_CONSENT_REGISTER_IDENTITY: return c->has_register_identity && c->register_identity;
    case MN_CONSENT_SHARE_POLICE: return c->has_share_police && c->share_police;
    case MN_CONSENT_SHARE_CARE: return c->has_share_care && c->share_care;
    case MN_CONSENT_SHARE_RESEARCH: return c->has_share_research && c->share_research;
    case MN_CONSENT_REPORTER_CONTACT_SHAREABLE:
        return c->has_reporter_contact_shareable && c->reporter_contact_shareable;
    default: return 0;
    }
}
