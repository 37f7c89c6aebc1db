/* fuzz.h - the libFuzzer entry point every tests/fuzz/fuzz_<target>.c defines.
 *
 * A target decodes one input the way the daemon would, exercises what the daemon does with a
 * decoded message (re-encode, validate, render JSON) and frees everything: a leak is a finding.
 * It returns 0 whatever the input; only a crash, a sanitizer report or abort() is a failure.
 * libFuzzer calls it (make fuzz), and so does replay.c for the corpora (make check).
 */
#ifndef MN_FUZZ_H
#define MN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once before the first input (fuzz_common.c): libsodium, as the daemons start it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant (a decoded message that does not re-encode, a valid report whose JSON
 * does not parse back): abort so both libFuzzer and the replay report it. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

#endif
