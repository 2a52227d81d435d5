/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_job(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("job: not available in this version");
}
