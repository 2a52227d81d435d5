/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the seccomp profile parser (pure code: JSON -> rules for one arch and
 * capability set, errors with file:line: field) and its line locator, which also sees texts
 * jansson refuses. The first byte picks the capability set and the kernel version, so the
 * includes/excludes paths are explored too.
 */
#include "seccomp_profile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = size ? data[0] : 0;
    struct seccomp_profile_env env = {
        .caps = (sel & 1)   ? ~0ull
                : (sel & 2) ? (1ull << 19)
                            : 0,
        .arch = SCMP_ARCH_X86_64,
        .kernel_major = (sel & 4) ? 4 : 6,
        .kernel_minor = (sel >> 3) & 31,
    };
    const char *text = (const char *)data;
    struct seccomp_profile *p = NULL;
    struct hutch_error *err = NULL;
    if (seccomp_profile_parse(text, size, "fuzz.json", &env, &p, &err) == 0) {
        /* what the compiler step reads must be consistent */
        for (size_t i = 0; i < p->nentries; i++) {
            const struct seccomp_entry *e = &p->entries[i];
            for (size_t j = 0; j < e->nnames; j++)
                if (!e->names[j] || (e->nrs[j] > p->max_nr))
                    abort();
            for (size_t j = 0; j < e->nargs; j++)
                if (e->args[j].index > 5)
                    abort();
        }
        if (p->narches < 1 || p->narches > SECCOMP_PROFILE_MAX_ARCHES)
            abort();
        seccomp_profile_free(p);
    } else {
        char *s = hutch_error_format(err);
        if (!s || !strstr(s, "fuzz.json"))
            abort(); /* every error names the file */
        free(s);
    }
    hutch_error_free(err);
    static const char *const paths[] = {
        "syscalls[0].names[1]",           "a.b[2].c", "[3]", "x[99999999999]",
        "archMap[0].subArchitectures[1]", ""};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (seccomp_profile_line(text, size, paths[i]) < 1)
            abort();
    return 0;
}
