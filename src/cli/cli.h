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

/* watch.c: --events to a file, stdout (-) or an inherited fd (fd:N), buffered. */
struct cli_sink {
    int fd;    /* -1: none, or the consumer went away */
    int owned; /* the file we opened (closed by cli_sink_close), or -1 */
    char *buf;
    size_t len, cap;
};
#define CLI_SINK_INIT {.fd = -1, .owned = -1}
/* 0, or the exit status of a usage error (printed). */
int cli_sink_open(const char *where, struct cli_sink *s);
void cli_sink_event(const struct hutch_event *ev, void *ud); /* a hutch_event_fn */
void cli_sink_flush(struct cli_sink *s);                      /* s may be NULL */
void cli_sink_close(struct cli_sink *s);
/* Block the signals hutch forwards (and SIGWINCH if asked), ignore SIGPIPE; a signalfd that
 * reads them, or -1. */
int cli_signals_take(bool winch);
typedef void (*cli_winch_fn)(struct hutch_sandbox *sb);
/* Dispatch sb until it ends, forwarding the signals sfd reads (the third SIGINT/SIGTERM kills
 * it; SIGWINCH goes to on_winch when given). 0 when it ended; else, after SIGKILL to the
 * sandbox, the exit status of the error (printed, if there was one). */
int cli_supervise(struct hutch_sandbox *sb, int sfd, struct cli_sink *sink, cli_winch_fn on_winch);

#endif
