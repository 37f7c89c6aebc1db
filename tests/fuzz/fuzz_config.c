/* fuzz_config.c - the configuration loader (gw_config_load) on an arbitrary gateway.conf.
 *
 * The input is written as gateway.conf into a temporary gateway home made once per process,
 * with empty agents/ and partners/ folders and no keys: a config that names missing files is
 * an error like any other. The home is removed at exit.
 *
 * Caveats: libconfig's @include reads any file the input names; run the fuzzer as a user
 * whose files it may read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "gw_config.h"

static char s_root[64];
static char s_conf[128];

static void s_cleanup(void)
{
    char path[160];
    const char *sub[] = {"gateway.conf", "agents", "partners"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", s_root, sub[i]);
        (void)(unlink(path) == 0 || rmdir(path) == 0);
    }
    (void)rmdir(s_root);
}

static void s_home(void)
{
    char path[160];
    const char *tmp = getenv("TMPDIR");
    snprintf(s_root, sizeof s_root, "%s/mn-fuzz-config.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(s_root))
        fuzz_fail(__FILE__, __LINE__, "mkdtemp");
    atexit(s_cleanup);
    snprintf(path, sizeof path, "%s/agents", s_root);
    FUZZ_CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/partners", s_root);
    FUZZ_CHECK(mkdir(path, 0700) == 0);
    snprintf(s_conf, sizeof s_conf, "%s/gateway.conf", s_root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_config *cfg = NULL;
    mn_diag d = {0};

    if (!s_root[0])
        s_home();
    FILE *fp = fopen(s_conf, "wb");
    FUZZ_CHECK(fp != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, fp) == size);
    FUZZ_CHECK(fclose(fp) == 0);
    if (gw_config_load(s_conf, &cfg, &d) == MN_OK)
        FUZZ_CHECK(cfg != NULL);
    gw_config_destroy(&cfg);
    return 0;
}
