/* ctl_registry - meldnetctl registry count|show (see ctl_registry.h). */
#include "ctl_registry.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_common.h"
#include "mn_referral.h"
#include "mn_report.h"
#include "mn_time.h"

static const char s_usage_registry[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "       meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "count  print the number of registrations (just the number)\n"
    "show   open registration REG (MN-00000042 or 42) with the registry's secret key and\n"
    "       print it as JSON\n"
    "\n"
    "`meldnetctl registry count --help` and `meldnetctl registry show --help` explain each.\n";

static const char s_usage_registry_count[] =
    "usage: meldnetctl registry count [--home DIR]\n"
    "\n"
    "Print the number of registrations in the store. Safe while the gateway runs.\n"
    "\n"
    "options:\n"
    "  --home DIR   the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help   this help\n";

static const char s_usage_registry_show[] =
    "usage: meldnetctl registry show REG --registry-key FILE [--home DIR]\n"
    "\n"
    "Open registration REG (MN-00000042 or 42) with the registry's secret key FILE (the\n"
    "registry-secret/registry.key made by init) and print it as JSON: registration, agent,\n"
    "accepted_at, created_at, envelope_id, sharing (full, or pseudonymous without consent to\n"
    "register identity), victim_pseudonym (the registry's own, whenever the report names the\n"
    "victim or a date of birth), withheld\n"
    "(what was left out, and why) and the report. The output holds the report in clear: run\n"
    "it only where the registry's operators may read reports.\n"
    "\n"
    "options:\n"
    "  --registry-key FILE   the registry's secret key file (0600)\n"
    "  --home DIR            the gateway home (default: $MELDNET_HOME, else ./meldnet-home)\n"
    "  -h, --help            this help\n";

static int s_registry_count(int argc, char **argv)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    uint64_t count = 0;
    mn_diag d = {0};

    int rc = ctl_home_command(argc, argv, "registry count", s_usage_registry_count, 0, NULL, &cfg);
    if (rc != CTL_GO_ON)
        return rc;
    rc = CTL_EXIT_FAIL;
    if (gw_store_open(cfg->data_dir, 0, 1, &store, &d) != MN_OK)
        goto out;
    if (gw_store_registry_count(store, &count) != MN_OK) {
        mn_diag_set(&d, MN_ESTORE, cfg->data_dir, "cannot count the registrations");
        goto out;
    }
    printf("%" PRIu64 "\n", count);
    rc = CTL_EXIT_OK;
out:
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc == CTL_EXIT_OK ? rc : ctl_fail(&d);
}

/* Print the report JSON as the value of "report": every line after the first indented. */
static void s_print_indented(const char *json)
{
    size_t len = strlen(json);
    while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len; i++) {
        putchar(json[i]);
        if (json[i] == '\n')
            fputs("  ", stdout);
    }
}

int ctl_registry_key_load(const char *key_path, mn_key **key, mn_diag *d)
{
    int rc = mn_key_load(key_path, key, d);
    if (rc != MN_OK)
        return rc;
    if (mn_key_public(*key)->role != MN_ROLE_REGISTRY) {
        rc = mn_diag_set(d, MN_EKEY, key_path, "this is the key of a %s, not of the registry",
                         mn_role_name(mn_key_public(*key)->role));
        mn_diag_hint(d, "use registry-secret/registry.key made by `meldnetctl init`");
        mn_key_destroy(key);
    }
    return rc;
}

int ctl_registry_key_check(const gw_config *cfg, const mn_key *key, const char *key_path,
                           int required, mn_pubkey *pub, mn_diag *d)
{
    mn_pubkey expected;
    int rc = mn_pubkey_load(cfg->registry_key, &expected, required ? d : NULL);
    if (rc != MN_OK)
        return required ? rc : MN_OK;
    if (memcmp(expected.box, mn_key_public(key)->box, MN_KEY_BYTES) != 0) {
        rc = mn_diag_set(d, MN_EKEY, key_path,
                         "this is not the registry key the gateway seals "
                         "records to (%s)",
                         cfg->registry_key);
        mn_diag_hint(d, "use the registry.key made together with that registry.pub");
        return rc;
    }
    if (pub)
        *pub = expected;
    return MN_OK;
}

int ctl_registry_record_open(const mn_key *key, const char *key_path, uint64_t reg,
                             const uint8_t *sealed, size_t sealed_len, mn_record_info *info,
                             mn_record **rec, mn_diag *d)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    char regtext[32];
    int rc;

    *rec = NULL;
    mn_registration_format(reg, regtext, sizeof regtext);
    rc = mn_box_open(key, sealed, sealed_len, MN_RECORD_MAX_BYTES, &plain, &plain_len);
    if (rc != MN_OK) {
        mn_diag_set(d, rc, regtext, "the record does not open with %s", key_path);
        mn_diag_hint(d, "use the registry key the record was sealed to; if it is right, the "
                        "record is damaged: restore the store from backup");
        goto out;
    }
    if ((rc = mn_record_decode_all(plain, plain_len, info, rec, d)) != MN_OK)
        goto out;
    if (info->registration != reg || !mn_name_is_valid(info->agent)) {
        rc = mn_diag_set(d, MN_EDECODE, regtext,
                         "the record is inconsistent (it names "
                         "registration %" PRIu64 ")",
                         info->registration);
        mn_diag_hint(d, "the store is damaged or tampered with: restore it from backup");
        mn_record_destroy(rec);
        goto out;
    }
out:
    mn_plain_free(plain, plain_len);
    return rc;
}

/* text as a JSON string: quotes, backslashes and control characters escaped. */
static void s_print_json_string(const char *text)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* The record's sharing, victim_pseudonym and withheld as JSON members (each line ending
 * with a comma: "report" follows). */
static void s_print_record_extra(const mn_record *rec)
{
    if (rec->has_sharing)
        printf("  \"sharing\": \"%s\",\n", mn_sharing_name((int)rec->sharing));
    if (rec->has_victim_pseudonym && rec->victim_pseudonym.len > 0) {
        printf("  \"victim_pseudonym\": \"");
        for (size_t i = 0; i < rec->victim_pseudonym.len; i++)
            printf("%02x", rec->victim_pseudonym.data[i]);
        printf("\",\n");
    }
    printf("  \"withheld\": [");
    for (size_t i = 0; i < rec->n_withheld; i++) {
        printf("%s\n    { \"field\": ", i ? "," : "");
        s_print_json_string(rec->withheld[i]->field);
        printf(", \"reason\": ");
        s_print_json_string(rec->withheld[i]->reason);
        printf(" }");
    }
    printf("%s],\n", rec->n_withheld ? "\n  " : "");
}

int ctl_registry_no_registration(gw_store *store, uint64_t reg, mn_diag *d)
{
    char regtext[32];
    uint64_t count = 0;
    mn_registration_format(reg, regtext, sizeof regtext);
    if (gw_store_registry_count(store, &count) != MN_OK)
        count = 0;
    mn_diag_set(d, MN_ENOTFOUND, regtext, "no such registration (the store holds %" PRIu64 ")",
                count);
    mn_diag_hint(d, "registrations are numbered from 1; `meldnetctl registry count` says how "
                    "many there are");
    return MN_ENOTFOUND;
}

static int s_show(const char *home, uint64_t reg, const char *key_path, mn_diag *d)
{
    gw_config *cfg = NULL;
    gw_store *store = NULL;
    mn_key *key = NULL;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    mn_record *rec = NULL;
    mn_record_info info;
    char *json = NULL;
    char regtext[32], accepted[48], created[48];
    int rc;

    mn_registration_format(reg, regtext, sizeof regtext);
    if ((rc = ctl_registry_key_load(key_path, &key, d)) != MN_OK ||
        (rc = ctl_load_config(home, &cfg, d)) != MN_OK ||
        (rc = ctl_registry_key_check(cfg, key, key_path, 0, NULL, d)) != MN_OK ||
        (rc = gw_store_open(cfg->data_dir, 0, 1, &store, d)) != MN_OK)
        goto out;
    rc = gw_store_registry_get(store, reg, &sealed, &sealed_len);
    if (rc == MN_ENOTFOUND) {
        ctl_registry_no_registration(store, reg, d);
        goto out;
    }
    if (rc != MN_OK) {
        mn_diag_set(d, rc, cfg->data_dir, "cannot read registration %s", regtext);
        goto out;
    }
    rc = ctl_registry_record_open(key, key_path, reg, sealed, sealed_len, &info, &rec, d);
    if (rc != MN_OK)
        goto out;
    if ((rc = mn_report_to_json(rec->report, &json)) != MN_OK) {
        mn_diag_set(d, rc, regtext, "cannot render the report as JSON");
        goto out;
    }
    ctl_time_iso(info.accepted_ms, accepted, sizeof accepted);
    ctl_time_iso(info.created_ms, created, sizeof created);
    printf("{\n  \"registration\": \"%s\",\n  \"agent\": \"%s\",\n"
           "  \"accepted_at\": \"%s\",\n  \"created_at\": \"%s\",\n  \"envelope_id\": \"",
           regtext, info.agent, accepted, created);
    for (size_t i = 0; i < sizeof info.envelope_id; i++)
        printf("%02x", info.envelope_id[i]);
    printf("\",\n");
    s_print_record_extra(rec);
    printf("  \"report\": ");
    s_print_indented(json);
    printf("\n}\n");
    if (fflush(stdout) != 0) {
        rc = mn_diag_sys(d, "stdout", "cannot write the record");
        goto out;
    }
    rc = MN_OK;
out:
    if (json)
        mn_plain_free((uint8_t *)json, strlen(json));
    mn_record_destroy(&rec);
    free(sealed);
    mn_key_destroy(&key);
    gw_store_destroy(&store);
    gw_config_destroy(&cfg);
    return rc;
}

static int s_registry_show(int argc, char **argv)
{
    const char *home = NULL, *key_path = NULL;
    const ctl_opt opts[] = {{"registry-key", &key_path}, {"home", &home}, {NULL, NULL}};
    uint64_t reg = 0;
    mn_diag d = {0};

    int rc = ctl_options(argc, argv, "registry show", s_usage_registry_show, opts, 1,
                         "give one registration number REG");
    if (rc != CTL_GO_ON)
        return rc;
    if (mn_registration_parse(argv[optind], &reg) != MN_OK || reg == 0)
        return ctl_usage_error("registry show",
                               "\"%s\" is not a registration number like "
                               "MN-00000042 or 42",
                               argv[optind]);
    if (!key_path)
        return ctl_usage_error("registry show", "%s", "--registry-key FILE is required");
    if (s_show(ctl_home(home), reg, key_path, &d) != MN_OK)
        return ctl_fail(&d);
    return CTL_EXIT_OK;
}

int ctl_cmd_registry(int argc, char **argv)
{
    static const ctl_command subs[] = {
        {"count", s_registry_count, CTL_PROG " registry count"},
        {"show", s_registry_show, CTL_PROG " registry show"},
    };
    return ctl_group(argc, argv, "registry", s_usage_registry, subs, sizeof subs / sizeof subs[0],
                     "count, show");
}
