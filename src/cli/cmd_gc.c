/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_gc(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("gc: unexpected argument '%s' (usage: hutch gc)", argv[1]);
    struct hutch_ctx *ctx;
    int r = cli_ctx(&ctx);
    if (r < 0)
        return -r;
    struct hutch_error *err = NULL;
    char *json = NULL;
    r = hutch_gc(ctx, &json, &err);
    hutch_ctx_free(ctx);
    if (r < 0)
        return cli_fail(err);
    puts(json);
    free(json);
    return 0;
}
