/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the devcontainer.json reader: comment and trailing-comma stripping,
 * jansson, variable expansion. A repository's devcontainer.json is untrusted input. */
#include "devcontainer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_getenv(const char *name)
{
    return name[0] ? "value" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = devcontainer_strip((const char *)data, size);
    if (!s || strlen(s) > size)
        abort(); /* stripping never grows the text */
    free(s);
    struct devcontainer_vars vars = {"/fuzz/work space", fuzz_getenv};
    struct devcontainer dc;
    struct hutch_error *err = NULL;
    if (devcontainer_parse("fuzz.json", (const char *)data, size, &vars, &dc, &err) == 0) {
        if (!dc.image || !dc.env)
            abort();
        devcontainer_free(&dc);
    } else {
        if (!err)
            abort();
        hutch_error_free(err);
    }
    return 0;
}
