/* fuzz_common.c - what every fuzz target links: start-up and the invariant failure report. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "mn_key.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (mn_crypto_init() != MN_OK)
        fuzz_fail(__FILE__, __LINE__, "mn_crypto_init");
    return 0;
}

_Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
    abort();
}
