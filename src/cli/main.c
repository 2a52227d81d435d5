/* SPDX-License-Identifier: MIT */
/* hutch: a command table. Each command lives in its own cmd_<verb>.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"run", cmd_run, "run a command in a new sandbox"},
    {"image", cmd_image, "import, list, inspect, remove and prune images"},
    {"job", cmd_job, "run a .hutch.yaml job"},
    {"ps", cmd_ps, "list sandboxes"},
    {"kill", cmd_kill, "signal a sandbox"},
    {"gc", cmd_gc, "remove what dead sandboxes left behind"},
    {"bench", cmd_bench, "measure the cost of each isolation primitive on this host"},
};

int cli_fail(struct hutch_error *err)
{
    char *line = hutch_error_format(err);
    fprintf(stderr, "hutch: %s\n", line ? line : "error");
    free(line);
    int st = hutch_error_exit_status(err);
    hutch_error_free(err);
    return st;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("hutch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return HUTCH_EXIT_INTERNAL;
}

int cli_ctx(struct hutch_ctx **ctx)
{
    struct hutch_error *err = NULL;
    if (hutch_ctx_new(NULL, ctx, &err) < 0)
        return -cli_fail(err);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hutch COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nhutch COMMAND --help for a command's options; events: man hutch\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return HUTCH_EXIT_INTERNAL;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("hutch %s\n", HUTCH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (see hutch --help)", argv[1]);
}

