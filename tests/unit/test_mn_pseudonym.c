/* test_mn_pseudonym - victim pseudonyms: name and date normalisation, the known answer, the
 * same victim written many ways, and no collisions among 10,000 generated people.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "mn_pseudonym.h"

static const uint8_t s_master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static void s_name_is(const char *in, const char *want)
{
    char out[256];
    assert_int_equal(mn_pseudonym_name(in, out, sizeof out), MN_OK);
    assert_string_equal(out, want);
    assert_true(strlen(out) <= strlen(in)); /* never longer than the input */
}

static void s_date_is(const char *in, const char *want)
{
    char out[MN_PSEUDONYM_DATE_MAX];
    mn_pseudonym_date(in, out);
    assert_string_equal(out, want);
}

static void test_name_normalisation(void **state)
{
    (void)state;
    s_name_is("Anna de Vries", "anna de vries");
    s_name_is("de Vries, Anna", "anna de vries");
    s_name_is("  anna \t DE   vries ", "anna de vries");
    s_name_is("VRIES, de, Anna.", "anna de vries");
    /* Diacritics and ligatures, composed and decomposed. */
    s_name_is("Zoë Çelik", "celik zoe");
    s_name_is("Zoe\xcc\x88 C\xcc\xa7"
              "elik",
              "celik zoe");
    s_name_is("Łukasz Wiśniewski", "lukasz wisniewski");
    s_name_is("Søren Ærø", "aero soren");
    s_name_is("Straße", "strasse");
    s_name_is("STRASSE", "strasse");
    s_name_is("Đorđe Ŋ ŒIL ĳsbrand Þór", "dorde ijsbrand n oeil thor");
    s_name_is("Ștefan Țurcan", "stefan turcan");
    s_name_is("Şerban Ţepeş", "serban tepes");
    s_name_is("Ýmir ÿ Ÿ", "y y ymir");
    /* Apostrophes join, hyphens and dots separate. */
    s_name_is("O'Brien", "obrien");
    s_name_is("O\xe2\x80\x99"
              "Brien",
              "obrien");
    s_name_is("OBrien", "obrien");
    s_name_is("Smits-Hoogendoorn", "hoogendoorn smits");
    s_name_is("Smits \xe2\x80\x93 Hoogendoorn", "hoogendoorn smits");
    s_name_is("A.B. de Vries", "a b de vries");
    s_name_is("Anna\xc2\xa0"
              "de\xe2\x80\x83Vries",
              "anna de vries"); /* no-break and em spaces */
    s_name_is("An\xc2\xad"
              "na",
              "anna"); /* soft hyphen */
    /* Other scripts: Cyrillic and Greek capitals lowered, kept otherwise. */
    s_name_is("ИВАН Петров", "иван петров");
    s_name_is("ΣΟΦΙΑ", "σοφια");
    s_name_is("李 小龙", "小龙 李");
    /* Nothing left. */
    s_name_is("", "");
    s_name_is(" -- ., ", "");
    /* A byte that is not UTF-8 stands for itself. */
    s_name_is("a\xff"
              "b",
              "a\xff"
              "b");

    char small[4];
    assert_int_equal(mn_pseudonym_name("Anna de Vries", small, sizeof small), MN_EINVAL);
    assert_string_equal(small, "");
    assert_int_equal(mn_pseudonym_name("x", small, 0), MN_EINVAL);
    assert_int_equal(mn_pseudonym_name(NULL, small, sizeof small), MN_OK);
    assert_string_equal(small, "");
}

static void test_date_normalisation(void **state)
{
    (void)state;
    /* The one form the gateway receives (mn_report_validate refuses others). */
    s_date_is("2009-02-14", "2009-02-14");
    /* Forms a person types elsewhere. */
    s_date_is(" 2009-2-14 ", "2009-02-14");
    s_date_is("2009/02/14", "2009-02-14");
    s_date_is("14-02-2009", "2009-02-14");
    s_date_is("14.2.2009", "2009-02-14");
    s_date_is("14/02/2009", "2009-02-14");
    s_date_is("14 2 2009", "2009-02-14");
    s_date_is("20090214", "2009-02-14");
    /* Not a date: kept as written, trimmed. */
    s_date_is("2009-13-14", "2009-13-14");
    s_date_is(" feb 2009 ", "feb 2009");
    s_date_is(NULL, "");
}

static void test_known_answer(void **state)
{
    (void)state;
    uint8_t key[32], expect_key[32], got[MN_PSEUDONYM_BYTES], expect[MN_PSEUDONYM_BYTES];
    static const char tag[] = "meldnet-pseudonym-v1:registry";
    static const char input[] = "v2|hoogendoorn jayden smits|2009-02-14";

    mn_pseudonym_recipient_key(s_master, "registry", key);
    crypto_generichash(expect_key, 32, (const unsigned char *)tag, sizeof tag - 1, s_master, 32);
    assert_memory_equal(key, expect_key, 32);
    crypto_generichash(expect, sizeof expect, (const unsigned char *)input, sizeof input - 1, key,
                       32);
    assert_int_equal(mn_pseudonym_derive(key, "Jayden Smits-Hoogendoorn", "2009-02-14", got),
                     MN_OK);
    assert_memory_equal(got, expect, sizeof got);

    /* Only a date, only a name, neither. */
    static const char only_date[] = "v2||2009-02-14";
    crypto_generichash(expect, sizeof expect, (const unsigned char *)only_date,
                       sizeof only_date - 1, key, 32);
    assert_int_equal(mn_pseudonym_derive(key, NULL, "2009-02-14", got), MN_OK);
    assert_memory_equal(got, expect, sizeof got);
    assert_int_equal(mn_pseudonym_derive(key, "Anna", NULL, got), MN_OK);
    assert_int_equal(mn_pseudonym_derive(key, NULL, NULL, got), MN_ENOTFOUND);
    assert_int_equal(mn_pseudonym_derive(key, " - ", "", got), MN_ENOTFOUND);
}

static void test_same_victim_one_pseudonym_per_recipient(void **state)
{
    (void)state;
    static const struct {
        const char *name, *dob;
    } variants[] = {
        {"Anna-Maria de Vries-Żółć", "2008-03-09"},
        {"anna maria de vries zolc", "2008-03-09"},
        {"  ANNA   MARIA  DE  VRIES  ZÓŁĆ ", "2008-03-09"},
        {"de Vries-Zolc, Anna-Maria", "2008-03-09"},
        {"Vries, Anna Maria de (Zolc)", "2008-03-09"},
        {"Anna\xe2\x80\x91Maria de Vries\xe2\x80\x94Z\xc3\xb3\xc5\x82\xc4\x87", "2008-03-09"},
        {"ZOLC, DE VRIES, ANNA MARIA.", "9-3-2008"},
        {"Anna Maria de Vries Zolc", "2008/3/9"},
        {"Zo\xcc\x81\xc5\x82" /* decomposed ó */
         "c\xcc\x81 Anna Maria de Vries",
         "20080309"},
    };
    static const char *const recipients[] = {"registry", "police-midden", "care-utrecht"};
    uint8_t first[3][MN_PSEUDONYM_BYTES];

    for (size_t k = 0; k < 3; k++) {
        uint8_t key[32];
        mn_pseudonym_recipient_key(s_master, recipients[k], key);
        for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
            uint8_t p[MN_PSEUDONYM_BYTES];
            assert_int_equal(mn_pseudonym_derive(key, variants[i].name, variants[i].dob, p), MN_OK);
            if (i == 0)
                memcpy(first[k], p, sizeof p);
            else
                assert_memory_equal(p, first[k], sizeof p);
        }
        for (size_t j = 0; j < k; j++)
            assert_memory_not_equal(first[j], first[k], MN_PSEUDONYM_BYTES);
    }
}

static int s_cmp_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int s_cmp16(const void *a, const void *b)
{
    return memcmp(a, b, MN_PSEUDONYM_BYTES);
}

/* 10,000 distinct people: 25 first names x 20 surnames x 20 dates, deterministic. Their
 * normalised inputs are distinct (checked), and so must their pseudonyms be. */
static void test_no_collisions(void **state)
{
    (void)state;
    static const char *const first[] = {"Anna",  "Bram",  "Chloë",  "Daan",  "Emma",
                                        "Fenna", "Gijs",  "Hanna",  "Ivan",  "Julia",
                                        "Kerem", "Lotte", "Mila",   "Noah",  "Olaf",
                                        "Priya", "Quinn", "Ruben",  "Sofie", "Tomasz",
                                        "Umut",  "Vera",  "Wessel", "Yara",  "Zoë"};
    static const char *const last[] = {"de Vries", "Jansen",  "van Dijk", "Bakker",   "Visser",
                                       "Smit",     "Meijer",  "de Boer",  "Mulder",   "de Groot",
                                       "Bos",      "Vos",     "Peters",   "Hendriks", "van Leeuwen",
                                       "Dekker",   "Brouwer", "de Wit",   "Dijkstra", "Kowalczyk"};
    const size_t nf = sizeof first / sizeof first[0], nl = sizeof last / sizeof last[0];
    const size_t nd = 20, total = nf * nl * nd;
    uint8_t key[32];
    uint8_t *all = malloc(total * MN_PSEUDONYM_BYTES);
    char(*inputs)[96] = malloc(total * sizeof *inputs);
    size_t n = 0;

    assert_int_equal(total, 10000);
    assert_non_null(all);
    assert_non_null(inputs);
    mn_pseudonym_recipient_key(s_master, "registry", key);
    for (size_t f = 0; f < nf; f++) {
        for (size_t l = 0; l < nl; l++) {
            for (size_t d = 0; d < nd; d++) {
                char name[64], norm[64], dob[11];
                snprintf(name, sizeof name, "%s %s", first[f], last[l]);
                snprintf(dob, sizeof dob, "%04zu-%02zu-%02zu", 1990 + d, 1 + (f + d) % 12,
                         1 + (l * 7 + d) % 28);
                assert_int_equal(mn_pseudonym_name(name, norm, sizeof norm), MN_OK);
                snprintf(inputs[n], sizeof inputs[n], "%s|%s", norm, dob);
                assert_int_equal(mn_pseudonym_derive(key, name, dob, all + n * MN_PSEUDONYM_BYTES),
                                 MN_OK);
                n++;
            }
        }
    }
    qsort(inputs, total, sizeof *inputs, s_cmp_text);
    for (size_t i = 1; i < total; i++)
        assert_string_not_equal(inputs[i - 1], inputs[i]);
    qsort(all, total, MN_PSEUDONYM_BYTES, s_cmp16);
    for (size_t i = 1; i < total; i++)
        assert_memory_not_equal(all + (i - 1) * MN_PSEUDONYM_BYTES, all + i * MN_PSEUDONYM_BYTES,
                                MN_PSEUDONYM_BYTES);
    free(all);
    free(inputs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_normalisation),
        cmocka_unit_test(test_date_normalisation),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_same_victim_one_pseudonym_per_recipient),
        cmocka_unit_test(test_no_collisions),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
