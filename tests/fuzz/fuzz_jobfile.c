/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the job file parser (YAML → struct jobfile, errors with FILE:LINE:COL):
 * job files come from repositories nobody vetted. The first byte picks job or profile mode.
 */
#include "jobfile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned flags = size && (data[0] & 1) ? JOBFILE_PROFILE : 0;
    struct jobfile *jf = NULL;
    struct hutch_error *err = NULL;
    if (jobfile_parse("fuzz.yaml", (const char *)data, size, flags, &jf, &err) == 0) {
        if (!(flags & JOBFILE_PROFILE) && (!jf->argv || jf->argc < 1))
            abort(); /* a job always has a command */
        jobfile_free(jf);
    } else {
        char *m = hutch_error_format(err);
        if (!m || !err)
            abort(); /* every failure explains itself */
        free(m);
        hutch_error_free(err);
    }
    return 0;
}
