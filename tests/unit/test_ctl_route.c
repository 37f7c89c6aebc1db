/* test_ctl_route - meldnetctl route test: the explanation printed for one report.
 *
 * The report comes from $MN_SRCDIR/examples (MN_SRCDIR defaults to "."); "today" is
 * 2026-11-22, so ages do not depend on when the test runs.
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

#include "ctl_route.h"
#include "gw_config.h"
#include "gw_report_fixture.h"

#define TODAY "2026-11-22"
#define FULL MELDNET__SHARING_LEVEL__FULL
#define PSEUDO MELDNET__SHARING_LEVEL__PSEUDONYMOUS
#define STATS MELDNET__SHARING_LEVEL__STATISTICS

static const uint8_t s_master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* --- helpers ---------------------------------------------------------------------------------- */

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* --- explain ---------------------------------------------------------------------------------- */

static void test_explain(void **state)
{
    (void)state;
    gw_partner ps[3] = {
        fixture_partner("care-midden", GW_PARTNER_CARE, "care.*", PSEUDO, NULL, 0),
        fixture_partner("police-midden", GW_PARTNER_POLICE, "police.acute", FULL, NULL, 0),
        fixture_partner("cbs", GW_PARTNER_OTHER, "hotline.*", STATS, NULL, 0),
    };
    gw_config cfg;
    char *text = NULL;
    size_t len = 0;
    mn_report *r = fixture_load("minor-loverboy-acute.json");
    memset(&cfg, 0, sizeof cfg);
    cfg.partners = ps;
    cfg.n_partners = 3; /* rules NULL: the defaults */

    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    assert_int_equal(ctl_route_explain(fp, &cfg, r, s_master, TODAY), MN_OK);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(strstr(text, "topic police.acute  rule=acute  overrides_consent\n"));
    assert_non_null(strstr(text, "topic care.midden-nederland  rule=minor\n"));
    assert_non_null(strstr(text, "unbound shelter.coordination (no partner is bound)\n"));
    assert_null(strstr(text, "unbound hotline"));
    assert_non_null(strstr(text, "partner care-midden kind=care topics=care.midden-nederland "
                                 "sharing=pseudonymous (requested pseudonymous)\n"));
    assert_non_null(strstr(text, "partner police-midden kind=police topics=police.acute "
                                 "sharing=full (requested full) overrides_consent\n"));
    assert_non_null(strstr(text, "partner cbs kind=other topics=hotline.midden-nederland "
                                 "sharing=statistics (requested statistics)\n"));
    assert_int_equal(s_count(text, "\"registration\": \"(test)\""), 3);
    assert_int_equal(s_count(text, "\n    {\n"), 3);
    /* The name goes only to the police (acute); police and care get a pseudonym, cbs none. */
    assert_int_equal(s_count(text, "Lotte Verbeek-Zwanenburg"), 1);
    assert_int_equal(s_count(text, "victim_pseudonym"), 2);
    assert_int_equal(s_count(text, "\"age_band\": \"16-17\""), 1);
    free(text);

    /* No partner bound to anything. */
    cfg.n_partners = 0;
    fp = open_memstream(&text, &len);
    assert_non_null(fp);
    assert_int_equal(ctl_route_explain(fp, &cfg, r, s_master, TODAY), MN_OK);
    assert_int_equal(fclose(fp), 0);
    assert_non_null(strstr(text, "unbound police.acute (no partner is bound)\n"));
    assert_non_null(strstr(text, "no partner receives this report\n"));
    free(text);
    mn_report_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
