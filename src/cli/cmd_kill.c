/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

int cmd_kill(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return cli_usage_error("kill: usage: hutch kill ID [SIGNAL]");
    int sig = argc == 3 ? hutch_signal_from_name(argv[2]) : SIGKILL;
    if (sig < 0)
        return cli_usage_error("kill: unknown signal '%s'", argv[2]);
    struct hutch_ctx *ctx;
    int r = cli_ctx(&ctx);
    if (r < 0)
        return -r;
    struct hutch_error *err = NULL;
    r = hutch_kill(ctx, argv[1], sig, &err);
    hutch_ctx_free(ctx);
    return r < 0 ? cli_fail(err) : 0;
}
