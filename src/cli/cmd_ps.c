/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_ps(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 && strcmp(argv[1], "--json") != 0)
        return cli_usage_error("ps: unexpected argument '%s' (usage: hutch ps [--json])", argv[1]);
    struct hutch_ctx *ctx;
    int r = cli_ctx(&ctx);
    if (r < 0)
        return -r;
    struct hutch_error *err = NULL;
    char *json = NULL;
    if (hutch_ps(ctx, &json, &err) < 0) {
        hutch_ctx_free(ctx);
        return cli_fail(err);
    }
    puts(json);
    free(json);
    hutch_ctx_free(ctx);
    return 0;
}
