/* SPDX-License-Identifier: MIT */
/* The CLI: parses arguments and prints; everything else goes through include/hutch.h. */
#ifndef HUTCH_CLI_H
#define HUTCH_CLI_H

#include <stdbool.h>

#include "hutch.h"

int cmd_run(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Print "hutch: <error chain>" and return the exit status it maps to (125/126/127). */
int cli_fail(struct hutch_error *err);
/* Print "hutch: <message>" for a usage error and return 125. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A context from the environment (HUTCH_ROOT, HUTCH_RUN). */
int cli_ctx(struct hutch_ctx **ctx);

#endif
