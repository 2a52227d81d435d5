/* SPDX-License-Identifier: MIT */
/* hutch run: flags → spec, an events sink, signals forwarded, the exit status passed on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"

static struct termios saved_tio;
static bool tio_saved;

static void tty_raw(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return;
    struct termios raw = saved_tio;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
        tio_saved = true;
}

static void tty_restore(void)
{
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    tio_saved = false;
}

static void tty_resize(struct hutch_sandbox *sb)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        hutch_sandbox_resize(sb, ws.ws_row, ws.ws_col);
}

/* IMAGE as the first positional when no --rootfs/--image: only if the store knows it. */
static void pick_image(struct hutch_ctx *ctx, struct hutch_spec *spec, struct run_args *a,
                       int argc, char **argv)
{
    if (a->has_rootfs || a->dashdash || a->first_positional >= argc)
        return;
    struct hutch_error *err = NULL;
    char *json = NULL;
    if (hutch_image_inspect(ctx, argv[a->first_positional], &json, &err) == 0) {
        hutch_spec_set(spec, "image", argv[a->first_positional], NULL);
        a->first_positional++;
        /* hutch run IMAGE -- CMD: the separator belongs to us, not to the command */
        if (a->first_positional < argc && !strcmp(argv[a->first_positional], "--"))
            a->first_positional++;
    }
    free(json);
    hutch_error_free(err);
}

int cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc && argv[i][0] == '-'; i++)
        if (!strcmp(argv[i], "--help")) {
            fputs(args_run_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--")) {
            break;
        }
    struct hutch_spec *spec;
    if (hutch_spec_new(&spec) < 0)
        return cli_usage_error("out of memory");
    struct hutch_error *err = NULL;
    struct run_args a;
    int status;
    struct hutch_ctx *ctx = NULL;
    struct cli_sink sink = CLI_SINK_INIT;
    int sfd = -1;
    struct hutch_sandbox *sb = NULL;
    if (args_parse_run(argc, argv, spec, &a, &err) < 0) {
        status = err ? cli_fail(err) : cli_usage_error("%s", a.error);
        goto out;
    }
    if (cli_ctx(&ctx) < 0) {
        status = HUTCH_EXIT_INTERNAL;
        goto out;
    }
    pick_image(ctx, spec, &a, argc, argv);
    if (hutch_spec_set_argv(spec, argc - a.first_positional,
                            (const char *const *)argv + a.first_positional, &err) < 0) {
        status = cli_fail(err);
        goto out;
    }
    if (a.events && (status = cli_sink_open(a.events, &sink)) != 0)
        goto out;
    bool events_on_stdout = a.events && !strcmp(a.events, "-");
    bool tty = false;
    for (int i = 1; i < a.first_positional; i++)
        if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--tty") ||
            (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i], 't') &&
             strlen(argv[i]) <= 4))
            tty = true;

    /* signals are read from a signalfd in the loop (the window size only for a terminal) */
    sfd = cli_signals_take(tty);

    struct hutch_start_opts o = {
        .sz = sizeof(o),
        .on_event = a.events ? cli_sink_event : NULL,
        .userdata = &sink,
        .stdin_fd = STDIN_FILENO,
        .stdout_fd = events_on_stdout ? -1 : STDOUT_FILENO,
        .stderr_fd = events_on_stdout ? -1 : STDERR_FILENO,
        .output_events = a.events != NULL,
        .id = a.id,
    };
    if (hutch_sandbox_start(ctx, spec, &o, &sb, &err) < 0) {
        cli_sink_flush(&sink);
        status = cli_fail(err);
        goto out;
    }
    if (tty) {
        tty_resize(sb);
        tty_raw();
    }
    status = cli_supervise(sb, sfd, &sink, tty ? tty_resize : NULL);
    if (status)
        hutch_sandbox_wait(sb, NULL);
    else
        status = hutch_sandbox_exit_status(sb);
    tty_restore();
out:
    hutch_sandbox_destroy(sb);
    cli_sink_close(&sink);
    if (sfd >= 0)
        close(sfd);
    hutch_spec_free(spec);
    hutch_ctx_free(ctx);
    return status;
}
