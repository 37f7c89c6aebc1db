/* test_mn_report.c - unit tests for mn_report: JSON, validation, bytes, digest, age, consent.
 *
 * Examples are found under $MN_SRCDIR/examples (MN_SRCDIR defaults to "."). Every example must
 * parse and validate; every file in examples/invalid must fail at the path listed below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glob.h>
#include <jansson.h>
#include <sodium.h>

#include "mn_envelope.h"
#include "mn_key.h"
#include "mn_report.h"

#define S_TODAY "2026-11-22" /* a fixed "today" for ages, so the examples' minors stay minors */

/* ------------------------------------------------------------------------------------------ */
/* helpers */

static const char *s_srcdir(void)
{
    const char *dir = getenv("MN_SRCDIR");
    return dir && *dir ? dir : ".";
}

static void s_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/%s", s_srcdir(), rel);
}

static char *s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static mn_report *s_load_example(const char *rel)
{
    char path[1024];
    mn_report *r = NULL;
    mn_diag d;
    memset(&d, 0, sizeof d);
    s_path(path, sizeof path, rel);
    int rc = mn_report_load_json(path, &r, &d);
    if (rc != MN_OK)
        print_error("%s: %s: %s\n", rel, d.where, d.what);
    assert_int_equal(rc, MN_OK);
    assert_non_null(r);
    return r;
}

static mn_report *s_parse(const char *json)
{
    mn_report *r = NULL;
    mn_diag d;
    memset(&d, 0, sizeof d);
    int rc = mn_report_from_json(json, strlen(json), &r, &d);
    if (rc != MN_OK)
        print_error("unexpected failure: %s: %s\n", d.where, d.what);
    assert_int_equal(rc, MN_OK);
    return r;
}

static void s_bytes(const mn_report *r, uint8_t **buf, size_t *len)
{
    assert_int_equal(mn_report_encode(r, buf, len), MN_OK);
    assert_non_null(*buf);
}

static void s_assert_same(const mn_report *a, const mn_report *b)
{
    uint8_t *ba, *bb;
    size_t la, lb;
    s_bytes(a, &ba, &la);
    s_bytes(b, &bb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    mn_plain_free(ba, la);
    mn_plain_free(bb, lb);
}

/* The sorted list of example files (not invalid/). Caller globfree()s. */
static void s_examples(glob_t *g)
{
    char pattern[1024];
    s_path(pattern, sizeof pattern, "examples/*.json");
    assert_int_equal(glob(pattern, 0, NULL, g), 0);
    assert_true(g->gl_pathc >= 8);
}

static mn_report *s_load_path(const char *path)
{
    mn_report *r = NULL;
    mn_diag d;
    memset(&d, 0, sizeof d);
    int rc = mn_report_load_json(path, &r, &d);
    if (rc != MN_OK)
        print_error("%s: %s: %s\n", path, d.where, d.what);
    assert_int_equal(rc, MN_OK);
    return r;
}

/* A minimal valid report as a jansson object, for tests that change one field. */
static json_t *s_base(void)
{
    json_error_t err;
    json_t *o = json_loads("{\"reporter\": {\"kind\": \"professional\", \"organisation_type\": "
                           "\"ngo\"}, \"victim\": {\"name\": \"Hendrika Quist-Overdijk\"}, "
                           "\"exploitation\": [{\"form\": \"sexual\"}, {\"form\": \"labour\"}]}",
                           0, &err);
    assert_non_null(o);
    return o;
}

/* Expect `o` (consumed) to fail with code and where. */
static void s_expect_json(json_t *o, int code, const char *where)
{
    char *text = json_dumps(o, 0);
    mn_report *r = NULL;
    mn_diag d;
    assert_non_null(text);
    memset(&d, 0, sizeof d);
    int rc = mn_report_from_json(text, strlen(text), &r, &d);
    if (rc != code || strcmp(d.where, where) != 0)
        print_error("input %s\n  got %s at \"%s\": %s\n", text, mn_err_name(rc), d.where, d.what);
    assert_int_equal(rc, code);
    assert_string_equal(d.where, where);
    assert_null(r);
    assert_true(strlen(d.what) > 0);
    free(text);
    json_decref(o);
}

static char *s_repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* examples */

static void test_examples_parse_and_validate(void **state)
{
    glob_t g;
    (void)state;
    s_examples(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        mn_report *r = s_load_path(g.gl_pathv[i]);
        mn_diag d;
        assert_int_equal(mn_report_validate(r, &d), MN_OK);
        mn_report_destroy(&r);
    }
    globfree(&g);
}

/* Together the examples show every form, subtype and reporter situation the brief names. */
static void test_examples_cover_the_schema(void **state)
{
    glob_t g;
    int forms[8] = {0}, subtypes[5] = {0};
    int anonymous = 0, hotline = 0, district = 0, school = 0, youth = 0, acute = 0;
    int refused = 0, shelter = 0, sector = 0, drugs = 0, minor_dob = 0, minor_age = 0;
    int handles = 0, linked = 0, attachment = 0;
    (void)state;
    s_examples(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        mn_report *r = s_load_path(g.gl_pathv[i]);
        const Meldnet__Reporter *rp = r->reporter;
        for (size_t k = 0; k < r->n_exploitation; k++) {
            const Meldnet__Exploitation *e = r->exploitation[k];
            forms[e->form]++;
            if (e->has_sexual)
                subtypes[e->sexual]++;
            sector += e->sector != NULL;
            drugs += e->has_drug_related && e->drug_related == MELDNET__TRISTATE__YES;
        }
        anonymous += rp->has_anonymous && rp->anonymous && !rp->contact &&
                     rp->organisation_type == MELDNET__ORGANISATION_TYPE__CITIZEN;
        hotline += rp->organisation_type == MELDNET__ORGANISATION_TYPE__HOTLINE;
        district += rp->organisation_type == MELDNET__ORGANISATION_TYPE__DISTRICT_TEAM;
        school += rp->organisation_type == MELDNET__ORGANISATION_TYPE__SCHOOL;
        youth += rp->organisation_type == MELDNET__ORGANISATION_TYPE__YOUTH_CARE;
        acute += r->acute_danger && r->acute_reason != NULL;
        refused += r->consent && r->consent->has_register_identity &&
                   !r->consent->register_identity && r->consent->has_share_police &&
                   !r->consent->share_police;
        shelter += r->victim && r->victim->shelter_needed == MELDNET__TRISTATE__YES;
        if (r->victim && r->victim->date_of_birth && mn_report_victim_age(r, S_TODAY) < 18)
            minor_dob++;
        if (r->victim && !r->victim->date_of_birth && r->victim->has_age_years &&
            r->victim->age_years < 18)
            minor_age++;
        for (size_t k = 0; k < r->n_suspects; k++)
            handles += r->suspects[k]->n_online_handles > 0;
        linked += r->n_linked_registrations > 0;
        attachment += r->n_attachments > 0;
        assert_non_null(r->victim);
        assert_non_null(r->victim->name);
        mn_report_destroy(&r);
    }
    globfree(&g);
    for (int f = MELDNET__EXPLOITATION_FORM__SEXUAL; f <= MELDNET__EXPLOITATION_FORM__FORM_OTHER;
         f++)
        assert_true(forms[f] > 0);
    assert_true(subtypes[MELDNET__SEXUAL_SUBTYPE__LOVERBOY] > 0);
    assert_true(subtypes[MELDNET__SEXUAL_SUBTYPE__SEXTORTION] > 0);
    assert_true(subtypes[MELDNET__SEXUAL_SUBTYPE__GROOMING] > 0);
    assert_true(anonymous && hotline && district && school && youth && acute && refused);
    assert_true(shelter && sector && drugs && minor_dob && minor_age && handles && linked);
    assert_true(attachment);
}

struct s_invalid {
    const char *file;
    const char *where;
};

static void test_invalid_examples(void **state)
{
    static const struct s_invalid cases[] = {
        {"examples/invalid/unknown-key.json", "victim.nmae"},
        {"examples/invalid/acute-without-reason.json", "acute_reason"},
        {"examples/invalid/anonymous-with-contact.json", "reporter.contact"},
        {"examples/invalid/bad-date-of-birth.json", "victim.date_of_birth"},
    };
    char pattern[1024];
    glob_t g;
    (void)state;
    /* Every file in invalid/ has a row here. */
    s_path(pattern, sizeof pattern, "examples/invalid/*.json");
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, sizeof cases / sizeof cases[0]);
    globfree(&g);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024];
        mn_report *r = NULL;
        mn_diag d;
        memset(&d, 0, sizeof d);
        s_path(path, sizeof path, cases[i].file);
        assert_int_equal(mn_report_load_json(path, &r, &d), MN_EREPORT);
        assert_null(r);
        assert_int_equal(d.code, MN_EREPORT);
        assert_string_equal(d.where, cases[i].where);
    }
}

static void test_anonymous_message(void **state)
{
    char path[1024];
    mn_report *r = NULL;
    mn_diag d;
    (void)state;
    s_path(path, sizeof path, "examples/invalid/anonymous-with-contact.json");
    assert_int_equal(mn_report_load_json(path, &r, &d), MN_EREPORT);
    assert_string_equal(d.what, "an anonymous reporter has no contact; remove reporter.contact "
                                "or set anonymous to false");
}

/* ------------------------------------------------------------------------------------------ */
/* round trips */

static void test_json_round_trip(void **state)
{
    glob_t g;
    (void)state;
    s_examples(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        mn_report *a = s_load_path(g.gl_pathv[i]);
        char *text = NULL, *text2 = NULL;
        assert_int_equal(mn_report_to_json(a, &text), MN_OK);
        mn_report *b = s_parse(text);
        s_assert_same(a, b);
        /* printing is stable: the second rendering is the first */
        assert_int_equal(mn_report_to_json(b, &text2), MN_OK);
        assert_string_equal(text, text2);
        mn_plain_free((uint8_t *)text, strlen(text));
        mn_plain_free((uint8_t *)text2, strlen(text2));
        mn_report_destroy(&a);
        mn_report_destroy(&b);
    }
    globfree(&g);
}

/* The examples are kept in the printed form: to_json gives each file back byte for byte. */
static void test_examples_are_canonical(void **state)
{
    glob_t g;
    (void)state;
    s_examples(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        char *file = s_read(g.gl_pathv[i], &len), *text = NULL;
        mn_report *r = s_load_path(g.gl_pathv[i]);
        assert_int_equal(mn_report_to_json(r, &text), MN_OK);
        assert_true(len > 0 && file[len - 1] == '\n');
        file[len - 1] = '\0';
        if (strcmp(file, text) != 0)
            print_error("%s is not in mn_report_to_json form\n", g.gl_pathv[i]);
        assert_string_equal(file, text);
        mn_plain_free((uint8_t *)text, strlen(text));
        free(file);
        mn_report_destroy(&r);
    }
    globfree(&g);
}

static void test_json_output_form(void **state)
{
    mn_report *r = s_load_example("examples/criminal-drugs-consent-refused.json");
    char *text = NULL;
    (void)state;
    assert_int_equal(mn_report_to_json(r, &text), MN_OK);
    /* schema order, enum names, registration numbers as text, indentation */
    const char *rep = strstr(text, "\"reporter\"");
    const char *vic = strstr(text, "\"victim\"");
    const char *exp = strstr(text, "\"exploitation\"");
    const char *obs = strstr(text, "\"observed_at\"");
    assert_true(rep && vic && exp && obs && rep < vic && vic < exp && exp < obs);
    assert_non_null(strstr(text, "\"district_team\""));
    assert_non_null(strstr(text, "\"drug_related\": \"yes\""));
    assert_non_null(strstr(text, "\"MN-00000012\""));
    assert_non_null(strstr(text, "\"register_identity\": false"));
    assert_non_null(strstr(text, "\n  \"victim\": {"));
    assert_non_null(strstr(text, "Jayden Smits-Hoogendoorn"));
    /* absent fields are left out */
    assert_null(strstr(text, "\"acute_reason\""));
    assert_null(strstr(text, "\"attachments\""));
    mn_plain_free((uint8_t *)text, strlen(text));
    mn_report_destroy(&r);
}

static void test_attachment_round_trip(void **state)
{
    mn_report *r = s_load_example("examples/minor-sextortion-online.json");
    (void)state;
    assert_int_equal(r->n_attachments, 1);
    assert_string_equal(r->attachments[0]->filename, "chat-export.txt");
    assert_string_equal(r->attachments[0]->media_type, "text/plain");
    assert_true(r->attachments[0]->data.len > 0);
    assert_memory_equal(r->attachments[0]->data.data, "Export gesprek", 14);
    mn_report_destroy(&r);
}

static void test_encode_decode_round_trip(void **state)
{
    glob_t g;
    (void)state;
    s_examples(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        mn_report *a = s_load_path(g.gl_pathv[i]), *b = NULL;
        uint8_t *buf;
        size_t len;
        mn_diag d;
        s_bytes(a, &buf, &len);
        assert_int_equal(mn_report_decode(buf, len, len, &b, &d), MN_OK);
        assert_int_equal(mn_report_validate(b, &d), MN_OK);
        s_assert_same(a, b);
        /* one byte under the limit */
        mn_report *c = NULL;
        assert_int_equal(mn_report_decode(buf, len, len - 1, &c, &d), MN_ETOOBIG);
        assert_null(c);
        mn_plain_free(buf, len);
        mn_report_destroy(&a);
        mn_report_destroy(&b);
    }
    globfree(&g);
}

static void test_decode_garbage(void **state)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01, 0x02};
    mn_report *r = NULL;
    mn_diag d;
    (void)state;
    assert_int_equal(mn_report_decode(garbage, sizeof garbage, 1024, &r, &d), MN_EDECODE);
    assert_null(r);
    /* zero bytes: a Report without its required reporter */
    assert_int_equal(mn_report_decode(garbage, 0, 1024, &r, &d), MN_EDECODE);
    assert_null(r);
    /* truncated valid bytes */
    mn_report *a = s_load_example("examples/minor-loverboy-acute.json");
    uint8_t *buf;
    size_t len;
    s_bytes(a, &buf, &len);
    assert_int_equal(mn_report_decode(buf, len - 1, len, &r, &d), MN_EDECODE);
    assert_null(r);
    mn_plain_free(buf, len);
    mn_report_destroy(&a);
}

/* Bytes from a newer schema decode, but a field this version does not know is not accepted. */
static void test_decode_unknown_field(void **state)
{
    mn_report *a = s_load_example("examples/minor-loverboy-acute.json"), *b = NULL;
    uint8_t *buf, *more;
    size_t len;
    mn_diag d;
    (void)state;
    s_bytes(a, &buf, &len);
    more = malloc(len + 3);
    assert_non_null(more);
    memcpy(more, buf, len);
    more[len] = 0x98; /* field 99, varint */
    more[len + 1] = 0x06;
    more[len + 2] = 0x01;
    assert_int_equal(mn_report_decode(more, len + 3, len + 3, &b, &d), MN_OK);
    assert_int_equal(mn_report_validate(b, &d), MN_EREPORT);
    assert_string_equal(d.where, "report");
    assert_non_null(strstr(d.what, "99"));
    free(more);
    mn_plain_free(buf, len);
    mn_report_destroy(&a);
    mn_report_destroy(&b);
}

/* The text check reads printable ASCII 8 bytes at a time: a bad byte is found at every offset
 * and in every lane of a word, and good text of any length passes. */
static void test_text_scan_every_offset(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\x01", 1},         {"\x1f", 1}, {"\x7f", 1},
        {"\x80", 1},         {"\xc3", 1}, {"\xc2\x85", 2}, /* C1 */
        {"\xed\xa0\x80", 3},                               /* a surrogate */
    };
    mn_report *r = s_load_example("examples/minor-loverboy-acute.json");
    char *saved = r->narrative;
    char text[64];
    mn_diag d;
    (void)state;
    for (size_t len = 1; len < 40; len++) {
        memset(text, 'a', len);
        text[len] = '\0';
        r->narrative = text;
        assert_int_equal(mn_report_validate(r, &d), MN_OK);
        for (size_t at = 0; at < len; at++) {
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                if (at + bad[b].len > len)
                    continue;
                memset(text, '~', len); /* 0x7e: the highest printable byte */
                memcpy(text + at, bad[b].bytes, bad[b].len);
                if (mn_report_validate(r, &d) != MN_EREPORT)
                    fail_msg("bad byte %zu not found at offset %zu of %zu", b, at, len);
                assert_string_equal(d.where, "narrative");
            }
        }
        memset(text, ' ', len); /* 0x20: the lowest */
        text[len - 1] = len % 2 ? '\n' : '\t';
        assert_int_equal(mn_report_validate(r, &d), MN_OK);
    }
    /* Two-byte UTF-8 after an ASCII run, in the middle of a word. */
    snprintf(text, sizeof text, "Bij een controle bleek dat caf\xc3\xa9 X");
    r->narrative = text;
    assert_int_equal(mn_report_validate(r, &d), MN_OK);
    r->narrative = saved;
    mn_report_destroy(&r);
}

/* Decoded reports are checked like JSON ones: enum values out of range, bad text. */
static void test_validate_decoded_values(void **state)
{
    mn_report *r = s_load_example("examples/minor-loverboy-acute.json");
    mn_diag d;
    char *text = NULL;
    (void)state;
    r->victim->gender = (Meldnet__Gender)9;
    assert_int_equal(mn_report_validate(r, &d), MN_EREPORT);
    assert_string_equal(d.where, "victim.gender");
    /* to_json keeps the number rather than guessing a name; reading it back fails */
    assert_int_equal(mn_report_to_json(r, &text), MN_OK);
    assert_non_null(strstr(text, "\"gender\": 9"));
    mn_report *back = NULL;
    assert_int_equal(mn_report_from_json(text, strlen(text), &back, &d), MN_EREPORT);
    assert_string_equal(d.where, "victim.gender");
    mn_plain_free((uint8_t *)text, strlen(text));
    r->victim->gender = MELDNET__GENDER__FEMALE;

    r->exploitation[0]->form = MELDNET__EXPLOITATION_FORM__FORM_UNKNOWN;
    assert_int_equal(mn_report_validate(r, &d), MN_EREPORT);
    assert_string_equal(d.where, "exploitation[0].form");
    r->exploitation[0]->form = (Meldnet__ExploitationForm)42;
    assert_int_equal(mn_report_validate(r, &d), MN_EREPORT);
    assert_string_equal(d.where, "exploitation[0].form");
    r->exploitation[0]->form = MELDNET__EXPLOITATION_FORM__SEXUAL;

    r->narrative[3] = (char)0xc3; /* a lone lead byte: not UTF-8 */
    r->narrative[4] = 'x';
    assert_int_equal(mn_report_validate(r, &d), MN_EREPORT);
    assert_string_equal(d.where, "narrative");
    assert_int_equal(mn_report_to_json(r, &text), MN_EINVAL);
    assert_null(text);
    mn_report_destroy(&r);

    assert_int_equal(mn_report_validate(NULL, &d), MN_EREPORT);
}

/* ------------------------------------------------------------------------------------------ */
/* digest */

static void test_digest(void **state)
{
    uint8_t key[32], key2[32], d1[32], d2[32], d3[32], d4[32];
    char path[1024];
    size_t len;
    (void)state;
    randombytes_buf(key, sizeof key);
    randombytes_buf(key2, sizeof key2);
    s_path(path, sizeof path, "examples/minor-loverboy-acute.json");
    char *text = s_read(path, &len);

    mn_report *a = s_parse(text), *b = s_parse(text);
    assert_int_equal(mn_report_digest(a, "school-a", key, d1), MN_OK);
    assert_int_equal(mn_report_digest(b, "school-a", key, d2), MN_OK);
    assert_memory_equal(d1, d2, 32);

    /* the same content, written differently (to_json form), gives the same digest */
    char *printed = NULL;
    assert_int_equal(mn_report_to_json(a, &printed), MN_OK);
    mn_report *p = s_parse(printed);
    assert_int_equal(mn_report_digest(p, "school-a", key, d2), MN_OK);
    assert_memory_equal(d1, d2, 32);

    /* one character changed */
    char *at = strstr(text, "Nieuwegein moet");
    assert_non_null(at);
    at[0] = 'n';
    mn_report *c = s_parse(text);
    assert_int_equal(mn_report_digest(c, "school-a", key, d3), MN_OK);
    assert_memory_not_equal(d1, d3, 32);

    /* another key */
    assert_int_equal(mn_report_digest(a, "school-a", key2, d4), MN_OK);
    assert_memory_not_equal(d1, d4, 32);

    /* the same content from another agent: another digest (no answer about someone else's
     * report), also where the names only differ in where the content starts */
    assert_int_equal(mn_report_digest(a, "school-b", key, d4), MN_OK);
    assert_memory_not_equal(d1, d4, 32);
    assert_int_equal(mn_report_digest(a, "school-a\x01", key, d4), MN_OK);
    assert_memory_not_equal(d1, d4, 32);

    mn_plain_free((uint8_t *)printed, strlen(printed));
    free(text);
    mn_report_destroy(&a);
    mn_report_destroy(&b);
    mn_report_destroy(&c);
    mn_report_destroy(&p);
}

/* ------------------------------------------------------------------------------------------ */
/* targeted bad inputs */

struct s_bad {
    const char *json;
    int code;
    const char *where;
};

#define S_R "\"reporter\":{\"kind\":\"professional\"}"
#define S_E "\"exploitation\":[{\"form\":\"sexual\"}]"
#define S_RE S_R "," S_E

static void test_bad_inputs(void **state)
{
    static const struct s_bad cases[] = {
        /* JSON itself (a key twice, even "reporter", is refused before any field rule) */
        {"{", MN_EREPORT, "report"},
        {"", MN_EREPORT, "report"},
        {"[]", MN_EREPORT, "report"},
        {"\"report\"", MN_EREPORT, "report"},
        {"{" S_RE "} trailing", MN_EREPORT, "report"},
        {"{" S_RE ",\"region\":\"a\",\"region\":\"b\"}", MN_EREPORT, "report"},
        {"{" S_RE ",\"narrative\":\"a\\u0000b\"}", MN_EREPORT, "report"},
        /* unknown keys, with their paths */
        {"{" S_RE ",\"victm\":{}}", MN_EREPORT, "victm"},
        {"{" S_RE ",\"victim\":{\"nmae\":\"x\"}}", MN_EREPORT, "victim.nmae"},
        {"{" S_RE ",\"consent\":{\"share_polcie\":true}}", MN_EREPORT, "consent.share_polcie"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"sexual\"},{\"form\":\"labour\",\"sectr\":\"x\"}]}",
         MN_EREPORT, "exploitation[1].sectr"},
        {"{" S_RE ",\"suspects\":[{\"handles\":[]}]}", MN_EREPORT, "suspects[0].handles"},
        {"{" S_RE ",\"reporter\":{\"contact\":{\"fax\":\"1\"}}}", MN_EREPORT, "report"},
        {"{\"reporter\":{\"contact\":{\"fax\":\"1\"}}," S_E "}", MN_EREPORT,
         "reporter.contact.fax"},
        /* required parts */
        {"{" S_E "}", MN_EREPORT, "reporter"},
        {"{" S_R "}", MN_EREPORT, "exploitation"},
        {"{" S_R ",\"exploitation\":[]}", MN_EREPORT, "exploitation"},
        {"{" S_R ",\"exploitation\":[{}]}", MN_EREPORT, "exploitation[0].form"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"unknown\"}]}", MN_EREPORT, "exploitation[0].form"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"Sexual\"}]}", MN_EREPORT, "exploitation[0].form"},
        /* subtypes and sectors belong to one form */
        {"{" S_R ",\"exploitation\":[{\"form\":\"sexual\"},{\"form\":\"labour\","
         "\"sexual\":\"grooming\"}]}",
         MN_EREPORT, "exploitation[1].sexual"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"labour\",\"sector\":\"cleaning\"},"
         "{\"form\":\"sexual\",\"sector\":\"x\"}]}",
         MN_EREPORT, "exploitation[1].sector"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"sexual\",\"sexual\":\"pimping\"}]}", MN_EREPORT,
         "exploitation[0].sexual"},
        {"{" S_R ",\"exploitation\":[{\"form\":\"criminal\",\"drug_related\":true}]}", MN_EREPORT,
         "exploitation[0].drug_related"},
        {"{" S_R ",\"exploitation\":[\"sexual\"]}", MN_EREPORT, "exploitation[0]"},
        /* acute danger */
        {"{" S_RE ",\"acute_danger\":true}", MN_EREPORT, "acute_reason"},
        {"{" S_RE ",\"acute_danger\":true,\"acute_reason\":\"\"}", MN_EREPORT, "acute_reason"},
        {"{" S_RE ",\"acute_danger\":true,\"acute_reason\":\"   \"}", MN_EREPORT, "acute_reason"},
        {"{" S_RE ",\"acute_danger\":\"yes\",\"acute_reason\":\"x\"}", MN_EREPORT, "acute_danger"},
        /* anonymous */
        {"{\"reporter\":{\"anonymous\":true,\"contact\":{}}," S_E "}", MN_EREPORT,
         "reporter.contact"},
        {"{\"reporter\":{\"anonymous\":\"true\"}," S_E "}", MN_EREPORT, "reporter.anonymous"},
        {"{\"reporter\":{\"organisation_type\":\"politie\"}," S_E "}", MN_EREPORT,
         "reporter.organisation_type"},
        {"{\"reporter\":{\"kind\":\"citizen\"}," S_E "}", MN_EREPORT, "reporter.kind"},
        {"{\"reporter\":[]," S_E "}", MN_EREPORT, "reporter"},
        /* dates */
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"2011-02-29\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"14-03-2009\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"2009-3-14\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"2009-03-14T00:00:00Z\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"2999-01-01\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":\"1850-01-01\"}}", MN_EREPORT,
         "victim.date_of_birth"},
        {"{" S_RE ",\"victim\":{\"date_of_birth\":20090314}}", MN_EREPORT, "victim.date_of_birth"},
        {"{" S_RE ",\"observed_at\":\"2026-13-01\"}", MN_EREPORT, "observed_at"},
        {"{" S_RE ",\"observed_at\":\"2026-11-01 10:00\"}", MN_EREPORT, "observed_at"},
        {"{" S_RE ",\"observed_at\":\"2026-11-01T25:00:00Z\"}", MN_EREPORT, "observed_at"},
        {"{" S_RE ",\"observed_at\":\"2026-11-01T10:00:00\"}", MN_EREPORT, "observed_at"},
        {"{" S_RE ",\"observed_at\":\"2026-11-01T10:00:00+0100\"}", MN_EREPORT, "observed_at"},
        {"{" S_RE ",\"observed_at\":\"2026-11-01T10:00:00.Z\"}", MN_EREPORT, "observed_at"},
        /* numbers */
        {"{" S_RE ",\"victim\":{\"age_years\":121}}", MN_EREPORT, "victim.age_years"},
        {"{" S_RE ",\"victim\":{\"age_years\":-1}}", MN_EREPORT, "victim.age_years"},
        {"{" S_RE ",\"victim\":{\"age_years\":12.5}}", MN_EREPORT, "victim.age_years"},
        {"{" S_RE ",\"victim\":{\"age_years\":\"12\"}}", MN_EREPORT, "victim.age_years"},
        {"{" S_RE ",\"victim\":{\"age_years\":99999999999999}}", MN_EREPORT, "victim.age_years"},
        /* codes */
        {"{" S_RE ",\"victim\":{\"nationality\":\"nl\"}}", MN_EREPORT, "victim.nationality"},
        {"{" S_RE ",\"victim\":{\"nationality\":\"NLD\"}}", MN_EREPORT, "victim.nationality"},
        {"{" S_RE ",\"victim\":{\"nationality\":\"XX\"}}", MN_EREPORT, "victim.nationality"},
        {"{" S_RE ",\"victim\":{\"nationality\":\"Unknown\"}}", MN_EREPORT, "victim.nationality"},
        {"{" S_RE ",\"victim\":{\"municipality\":\"GM344\"}}", MN_EREPORT, "victim.municipality"},
        {"{" S_RE ",\"municipality_code\":\"gm0344\"}", MN_EREPORT, "municipality_code"},
        {"{" S_RE ",\"municipality_code\":\"0344\"}", MN_EREPORT, "municipality_code"},
        {"{" S_RE ",\"region\":\"Midden-Nederland\"}", MN_EREPORT, "region"},
        {"{" S_RE ",\"region\":\"\"}", MN_EREPORT, "region"},
        {"{" S_RE ",\"region\":\"den haag\"}", MN_EREPORT, "region"},
        {"{" S_RE ",\"signals\":[\"older_boyfriend\",\"Older Boyfriend\"]}", MN_EREPORT,
         "signals[1]"},
        {"{" S_RE ",\"signals\":[\"\"]}", MN_EREPORT, "signals[0]"},
        {"{" S_RE ",\"signals\":\"older_boyfriend\"}", MN_EREPORT, "signals"},
        {"{" S_RE ",\"signals\":[1]}", MN_EREPORT, "signals[0]"},
        {"{" S_RE ",\"online\":true}", MN_EREPORT, "online"},
        {"{" S_RE ",\"online\":\"maybe\"}", MN_EREPORT, "online"},
        {"{" S_RE ",\"victim\":{\"shelter_needed\":\"YES\"}}", MN_EREPORT, "victim.shelter_needed"},
        {"{" S_RE ",\"victim\":{\"gender\":\"f\"}}", MN_EREPORT, "victim.gender"},
        /* text */
        {"{" S_RE ",\"victim\":{\"name\":\"\"}}", MN_EREPORT, "victim.name"},
        {"{" S_RE ",\"victim\":{\"name\":\"a\\u0007b\"}}", MN_EREPORT, "victim.name"},
        {"{" S_RE ",\"victim\":{\"name\":\"a\\nb\"}}", MN_EREPORT, "victim.name"},
        {"{" S_RE ",\"victim\":{\"name\":\"a\\u0085b\"}}", MN_EREPORT, "victim.name"},
        {"{" S_RE ",\"victim\":{\"name\":\"a\\u007fb\"}}", MN_EREPORT, "victim.name"},
        {"{" S_RE ",\"narrative\":\"line\\r\\nline\"}", MN_EREPORT, "narrative"},
        {"{" S_RE ",\"acute_reason\":\"a\\tb\"}", MN_EREPORT, "acute_reason"},
        {"{\"reporter\":{\"contact\":{\"email\":\"a\\u001bb\"}}," S_E "}", MN_EREPORT,
         "reporter.contact.email"},
        {"{" S_RE ",\"suspects\":[{\"online_handles\":[\"ok\",\"\"]}]}", MN_EREPORT,
         "suspects[0].online_handles[1]"},
        {"{" S_RE ",\"suspects\":[{\"online_handles\":[\"ok\",\"a\\nb\"]}]}", MN_EREPORT,
         "suspects[0].online_handles[1]"},
        {"{" S_RE ",\"suspects\":[{},{\"name\":7}]}", MN_EREPORT, "suspects[1].name"},
        {"{" S_RE ",\"suspects\":[{\"description\":\"\\u0001\"}]}", MN_EREPORT,
         "suspects[0].description"},
        /* nulls are not "unknown" */
        {"{" S_RE ",\"victim\":null}", MN_EREPORT, "victim"},
        {"{" S_RE ",\"victim\":{\"name\":null}}", MN_EREPORT, "victim.name"},
        /* registrations */
        {"{" S_RE ",\"linked_registrations\":[\"MN-00000001\",\"MN-0\"]}", MN_EREPORT,
         "linked_registrations[1]"},
        {"{" S_RE ",\"linked_registrations\":[\"abc\"]}", MN_EREPORT, "linked_registrations[0]"},
        {"{" S_RE ",\"linked_registrations\":[12]}", MN_EREPORT, "linked_registrations[0]"},
        {"{" S_RE ",\"linked_registrations\":[\"MN-99999999999999999999999\"]}", MN_EREPORT,
         "linked_registrations[0]"},
        /* attachments */
        {"{" S_RE ",\"attachments\":[{\"media_type\":\"text/plain\",\"data\":\"aGk=\"}]}",
         MN_EREPORT, "attachments[0].filename"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"../x\",\"media_type\":\"text/plain\","
         "\"data\":\"aGk=\"}]}",
         MN_EREPORT, "attachments[0].filename"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text\","
         "\"data\":\"aGk=\"}]}",
         MN_EREPORT, "attachments[0].media_type"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"data\":\"aGk=\"}]}", MN_EREPORT,
         "attachments[0].media_type"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\","
         "\"data\":\"aGk\"}]}",
         MN_EREPORT, "attachments[0].data"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\","
         "\"data\":\"a-_k\"}]}",
         MN_EREPORT, "attachments[0].data"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\"}]}",
         MN_EREPORT, "attachments[0].data"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\","
         "\"data\":\"\"}]}",
         MN_EREPORT, "attachments[0].data"},
        {"{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\","
         "\"data\":[1]}]}",
         MN_EREPORT, "attachments[0].data"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mn_report *r = NULL;
        mn_diag d;
        memset(&d, 0, sizeof d);
        int rc = mn_report_from_json(cases[i].json, strlen(cases[i].json), &r, &d);
        if (rc != cases[i].code || strcmp(d.where, cases[i].where) != 0)
            print_error("case %zu: %s\n  got %s at \"%s\": %s\n", i, cases[i].json, mn_err_name(rc),
                        d.where, d.what);
        assert_int_equal(rc, cases[i].code);
        assert_string_equal(d.where, cases[i].where);
        assert_int_equal(d.code, cases[i].code);
        assert_true(strlen(d.what) > 0);
        assert_null(r);
    }
}

/* Inputs at the edge that must pass. */
static void test_good_edges(void **state)
{
    static const char *const cases[] = {
        "{" S_RE "}",
        "{\"reporter\":{}," S_E "}",
        "{" S_RE ",\"victim\":{\"date_of_birth\":\"2012-02-29\"}}",
        "{" S_RE ",\"victim\":{\"age_years\":0}}",
        "{" S_RE ",\"victim\":{\"age_years\":120}}",
        "{" S_RE ",\"victim\":{\"nationality\":\"unknown\"}}",
        "{" S_RE ",\"victim\":{\"nationality\":\"XK\"}}",
        "{" S_RE ",\"victim\":{\"name\":\"Zoë Ağaoğlu-Ørsted 🌷\"}}",
        "{" S_RE ",\"observed_at\":\"2026-11-01\"}",
        "{" S_RE ",\"observed_at\":\"2026-11-01T10:00:00Z\"}",
        "{" S_RE ",\"observed_at\":\"2026-11-01t10:00:00z\"}",
        "{" S_RE ",\"observed_at\":\"2026-11-01T10:00:00.123456+01:00\"}",
        "{" S_RE ",\"observed_at\":\"2016-12-31T23:59:60-00:00\"}",
        "{" S_RE ",\"narrative\":\"line\\n\\tindented\"}",
        "{" S_RE ",\"acute_danger\":false}",
        "{" S_RE ",\"acute_danger\":false,\"acute_reason\":\"was acuut, nu veilig\"}",
        "{\"reporter\":{\"anonymous\":false,\"contact\":{\"name\":\"x\"}}," S_E "}",
        "{" S_RE ",\"region\":\"zeeland-west-brabant\",\"municipality_code\":\"GM1783\"}",
        "{" S_RE ",\"signals\":[\"a.b-c_d\",\"x\"]}",
        "{" S_RE ",\"linked_registrations\":[\"MN-00000001\",\"42\"]}",
        "{" S_RE ",\"signals\":[],\"suspects\":[]}",
        "{" S_RE ",\"attachments\":[{\"filename\":\"x.txt\",\"media_type\":\"text/plain\","
        "\"data\":\"aGk=\\n\"}]}",
        " \n\t{" S_RE "}\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mn_report *r = s_parse(cases[i]);
        mn_report_destroy(&r);
    }
}

/* Cases built at run time: sizes and counts at and over each limit. */
static void test_limits(void **state)
{
    json_t *o, *arr;
    char *s;
    (void)state;

    /* text: MN_TEXT_MAX_BYTES passes, one more fails */
    s = s_repeat('a', MN_TEXT_MAX_BYTES);
    o = s_base();
    json_object_set_new(json_object_get(o, "victim"), "name", json_string(s));
    char *text = json_dumps(o, 0);
    mn_report *r = s_parse(text);
    mn_report_destroy(&r);
    free(text);
    json_decref(o);
    free(s);
    s = s_repeat('a', MN_TEXT_MAX_BYTES + 1);
    o = s_base();
    json_object_set_new(json_object_get(o, "victim"), "name", json_string(s));
    s_expect_json(o, MN_EREPORT, "victim.name");
    free(s);

    /* narrative */
    s = s_repeat('n', MN_NARRATIVE_MAX_BYTES + 1);
    o = s_base();
    json_object_set_new(o, "narrative", json_string(s));
    s_expect_json(o, MN_EREPORT, "narrative");
    free(s);

    /* region: 64 characters pass, 65 fail */
    s = s_repeat('r', 65);
    o = s_base();
    json_object_set_new(o, "region", json_string(s));
    s_expect_json(o, MN_EREPORT, "region");
    free(s);
    s = s_repeat('s', 65);
    o = s_base();
    arr = json_array();
    json_array_append_new(arr, json_string(s));
    json_object_set_new(o, "signals", arr);
    s_expect_json(o, MN_EREPORT, "signals[0]");
    free(s);

    /* lists: MN_LIST_MAX + 1 entries */
    const char *lists[] = {"exploitation", "signals", "suspects", "linked_registrations",
                           "attachments"};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        o = s_base();
        arr = json_array();
        for (int i = 0; i <= MN_LIST_MAX; i++) {
            if (k == 0)
                json_array_append_new(arr, json_pack("{s:s}", "form", "other"));
            else if (k == 1)
                json_array_append_new(arr, json_string("x"));
            else if (k == 2)
                json_array_append_new(arr, json_object());
            else if (k == 3)
                json_array_append_new(arr, json_string("MN-00000001"));
            else
                json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "filename", "a", "media_type",
                                                     "text/plain", "data", "aGk="));
        }
        json_object_set_new(o, lists[k], arr);
        s_expect_json(o, MN_EREPORT, lists[k]);
    }
    o = s_base();
    arr = json_array();
    for (int i = 0; i <= MN_LIST_MAX; i++)
        json_array_append_new(arr, json_string("h"));
    json_object_set_new(o, "suspects", json_pack("[{s:o}]", "online_handles", arr));
    s_expect_json(o, MN_EREPORT, "suspects[0].online_handles");

    /* attachments: one over its own limit; three that together exceed the total */
    size_t big = MN_ATTACHMENT_MAX_BYTES + 1;
    uint8_t *bin = calloc(1, big);
    size_t b64_cap = sodium_base64_encoded_len(big, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_cap);
    assert_non_null(bin);
    assert_non_null(b64);
    sodium_bin2base64(b64, b64_cap, bin, big, sodium_base64_VARIANT_ORIGINAL);
    o = s_base();
    json_object_set_new(o, "attachments",
                        json_pack("[{s:s,s:s,s:s}]", "filename", "big.bin", "media_type",
                                  "application/octet-stream", "data", b64));
    s_expect_json(o, MN_EREPORT, "attachments[0].data");
    /* exactly at the limit passes */
    sodium_bin2base64(b64, b64_cap, bin, MN_ATTACHMENT_MAX_BYTES, sodium_base64_VARIANT_ORIGINAL);
    o = s_base();
    json_object_set_new(o, "attachments",
                        json_pack("[{s:s,s:s,s:s}]", "filename", "max.bin", "media_type",
                                  "application/octet-stream", "data", b64));
    text = json_dumps(o, 0);
    r = s_parse(text);
    assert_int_equal(r->attachments[0]->data.len, MN_ATTACHMENT_MAX_BYTES);
    mn_report_destroy(&r);
    free(text);
    json_decref(o);
    sodium_bin2base64(b64, b64_cap, bin, 400 * 1024, sodium_base64_VARIANT_ORIGINAL);
    o = s_base();
    arr = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "filename", "part.bin", "media_type",
                                             "application/octet-stream", "data", b64));
    json_object_set_new(o, "attachments", arr);
    s_expect_json(o, MN_EREPORT, "attachments[2].data");
    free(b64);
    free(bin);
}

/* Diagnostics never quote report content. */
static void test_diag_has_no_content(void **state)
{
    static const char *const cases[] = {
        "{" S_RE ",\"victim\":{\"nationality\":\"Zwanenburg\"}}",
        "{" S_RE ",\"victim\":{\"gender\":\"Zwanenburg\"}}",
        "{" S_RE ",\"victim\":{\"date_of_birth\":\"Zwanenburg\"}}",
        "{" S_RE ",\"region\":\"Zwanenburg\"}",
        "{" S_RE ",\"linked_registrations\":[\"Zwanenburg\"]}",
        "{" S_RE ",\"victim\":{\"name\":\"Zwanenburg\", \"x\": 1}}",
        "{" S_RE ",\"victim\":{\"name\":\"Zwanenburg\" \"x\": 1}}",
        "{" S_RE ",\"victim\":{\"name\":Zwanenburg}}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mn_report *r = NULL;
        mn_diag d;
        memset(&d, 0, sizeof d);
        assert_int_equal(mn_report_from_json(cases[i], strlen(cases[i]), &r, &d), MN_EREPORT);
        assert_null(strstr(d.what, "Zwanenburg"));
        assert_null(strstr(d.where, "Zwanenburg"));
        assert_null(strstr(d.hint, "Zwanenburg"));
    }
}

static void test_unknown_key_suggestion(void **state)
{
    const char *json = "{" S_RE ",\"victim\":{\"date_of_brith\":\"2010-01-01\"}}";
    mn_report *r = NULL;
    mn_diag d;
    (void)state;
    assert_int_equal(mn_report_from_json(json, strlen(json), &r, &d), MN_EREPORT);
    assert_string_equal(d.where, "victim.date_of_brith");
    assert_non_null(strstr(d.what, "did you mean \"date_of_birth\""));
    assert_non_null(strstr(d.hint, "age_years"));
}

static void test_too_big(void **state)
{
    size_t n = 8u * 1024 * 1024 + 1;
    char *big = malloc(n);
    mn_report *r = NULL;
    mn_diag d;
    char path[] = "/tmp/test_mn_report_XXXXXX";
    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    assert_int_equal(mn_report_from_json(big, n, &r, &d), MN_ETOOBIG);
    assert_null(r);
    /* the same through a file */
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, n, f), n);
    fclose(f);
    assert_int_equal(mn_report_load_json(path, &r, &d), MN_ETOOBIG);
    assert_null(r);
    unlink(path);
    free(big);
}

static void test_load_missing_file(void **state)
{
    mn_report *r = NULL;
    mn_diag d;
    (void)state;
    assert_int_equal(mn_report_load_json("/nonexistent/report.json", &r, &d), MN_ESYS);
    assert_null(r);
    assert_string_equal(d.where, "/nonexistent/report.json");
}

/* ------------------------------------------------------------------------------------------ */
/* age, destroy */

static void test_victim_age(void **state)
{
    (void)state;
    mn_report *r = s_parse("{" S_RE ",\"victim\":{\"date_of_birth\":\"2010-04-09\"}}");
    assert_int_equal(mn_report_victim_age(r, "2026-04-08"), 15);
    assert_int_equal(mn_report_victim_age(r, "2026-04-09"), 16);
    assert_int_equal(mn_report_victim_age(r, "2026-11-22"), 16);
    assert_int_equal(mn_report_victim_age(r, "2010-04-09"), 0);
    assert_int_equal(mn_report_victim_age(r, "2009-01-01"), -1); /* born after "today" */
    assert_int_equal(mn_report_victim_age(r, "garbage"), -1);
    assert_true(mn_report_victim_age(r, NULL) >= 16); /* NULL: the current date */
    mn_report_destroy(&r);

    r = s_parse("{" S_RE ",\"victim\":{\"date_of_birth\":\"2008-02-29\"}}");
    assert_int_equal(mn_report_victim_age(r, "2026-02-28"), 17);
    assert_int_equal(mn_report_victim_age(r, "2026-03-01"), 18);
    mn_report_destroy(&r);

    r = s_parse("{" S_RE ",\"victim\":{\"age_years\":14}}");
    assert_int_equal(mn_report_victim_age(r, S_TODAY), 14);
    mn_report_destroy(&r);

    /* date of birth wins over age_years */
    r = s_parse("{" S_RE ",\"victim\":{\"date_of_birth\":\"2010-04-09\",\"age_years\":30}}");
    assert_int_equal(mn_report_victim_age(r, S_TODAY), 16);
    mn_report_destroy(&r);

    r = s_parse("{" S_RE ",\"victim\":{\"name\":\"Pieternella Gijsbertsz-Ooms\"}}");
    assert_int_equal(mn_report_victim_age(r, S_TODAY), -1);
    mn_report_destroy(&r);
    r = s_parse("{" S_RE "}");
    assert_int_equal(mn_report_victim_age(r, S_TODAY), -1);
    mn_report_destroy(&r);
    assert_int_equal(mn_report_victim_age(NULL, S_TODAY), -1);
}

/* Each flag answers for its own field, only when present and true; nothing else consents. */
static void test_consent(void **state)
{
    (void)state;
    static const int flags[MN_CONSENT_N] = {MN_CONSENT_REGISTER_IDENTITY, MN_CONSENT_SHARE_POLICE,
                                            MN_CONSENT_SHARE_CARE, MN_CONSENT_SHARE_RESEARCH,
                                            MN_CONSENT_REPORTER_CONTACT_SHAREABLE};
    mn_report *r = s_parse("{" S_RE "}");
    Meldnet__Consent *c;

    assert_null(r->consent);
    for (int k = 0; k < MN_CONSENT_N; k++)
        assert_int_equal(mn_report_consent(r, flags[k]), 0);
    c = malloc(sizeof *c);
    assert_non_null(c);
    meldnet__consent__init(c);
    r->consent = c;
    for (int k = 0; k < MN_CONSENT_N; k++) {
        protobuf_c_boolean *has[MN_CONSENT_N] = {&c->has_register_identity, &c->has_share_police,
                                                 &c->has_share_care, &c->has_share_research,
                                                 &c->has_reporter_contact_shareable};
        protobuf_c_boolean *val[MN_CONSENT_N] = {&c->register_identity, &c->share_police,
                                                 &c->share_care, &c->share_research,
                                                 &c->reporter_contact_shareable};
        *val[k] = 1; /* true but absent: no consent */
        assert_int_equal(mn_report_consent(r, flags[k]), 0);
        *has[k] = 1;
        for (int j = 0; j < MN_CONSENT_N; j++)
            assert_int_equal(mn_report_consent(r, flags[j]), j == k);
        *val[k] = 0; /* present and false */
        assert_int_equal(mn_report_consent(r, flags[k]), 0);
        *has[k] = 0;
    }
    c->has_share_police = c->share_police = 1;
    assert_int_equal(mn_report_consent(r, -1), 0);
    assert_int_equal(mn_report_consent(r, MN_CONSENT_N), 0);
    assert_int_equal(mn_report_consent(NULL, MN_CONSENT_SHARE_POLICE), 0);
    mn_report_destroy(&r);

    /* As the JSON gives them. */
    r = s_load_example("examples/criminal-drugs-consent-refused.json");
    assert_int_equal(mn_report_consent(r, MN_CONSENT_REGISTER_IDENTITY), 0);
    assert_int_equal(mn_report_consent(r, MN_CONSENT_SHARE_POLICE), 0);
    assert_int_equal(mn_report_consent(r, MN_CONSENT_SHARE_CARE), 1);
    assert_int_equal(mn_report_consent(r, MN_CONSENT_SHARE_RESEARCH), 0);
    assert_int_equal(mn_report_consent(r, MN_CONSENT_REPORTER_CONTACT_SHAREABLE), 1);
    mn_report_destroy(&r);
}

static void test_destroy_twice(void **state)
{
    mn_report *r = s_load_example("examples/minor-sextortion-online.json");
    (void)state;
    mn_report_destroy(&r);
    assert_null(r);
    mn_report_destroy(&r);
    mn_report_destroy(NULL);

    /* a decoded report too */
    mn_report *a = s_load_example("examples/minor-sextortion-online.json"), *b = NULL;
    uint8_t *buf;
    size_t len;
    mn_diag d;
    s_bytes(a, &buf, &len);
    assert_int_equal(mn_report_decode(buf, len, len, &b, &d), MN_OK);
    mn_report_destroy(&b);
    mn_report_destroy(&b);
    assert_null(b);
    mn_plain_free(buf, len);
    mn_report_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_parse_and_validate),
        cmocka_unit_test(test_examples_cover_the_schema),
        cmocka_unit_test(test_invalid_examples),
        cmocka_unit_test(test_anonymous_message),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_examples_are_canonical),
        cmocka_unit_test(test_json_output_form),
        cmocka_unit_test(test_attachment_round_trip),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_decode_garbage),
        cmocka_unit_test(test_decode_unknown_field),
        cmocka_unit_test(test_validate_decoded_values),
        cmocka_unit_test(test_text_scan_every_offset),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_good_edges),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_diag_has_no_content),
        cmocka_unit_test(test_unknown_key_suggestion),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_victim_age),
        cmocka_unit_test(test_consent),
        cmocka_unit_test(test_destroy_twice),
    };
    if (mn_crypto_init() != MN_OK) {
        fprintf(stderr, "test_mn_report: libsodium did not initialise\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
