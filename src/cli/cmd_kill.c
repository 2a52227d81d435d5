/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static int parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                 {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
                 {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}};
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0 && n < NSIG ? (int)n : -1;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(s, names[i].name))
            return names[i].sig;
    return -1;
}

int cmd_kill(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return cli_usage_error("kill: usage: hutch kill ID [SIGNAL]");
    int sig = argc == 3 ? parse_signal(argv[2]) : SIGKILL;
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
