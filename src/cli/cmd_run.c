/* SPDX-License-Identifier: MIT */
/* hutch run: flags → spec, an events sink, signals forwarded, the exit status passed on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"

/* Events are buffered and written in large pieces: output at high rates costs little. */
struct sink {
    int fd;
    char *buf;
    size_t len, cap;
    bool broken;
};

static void sink_flush(struct sink *s)
{
    size_t off = 0;
    while (off < s->len && !s->broken) {
        ssize_t n = write(s->fd, s->buf + off, s->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->broken = true;
            break;
        }
        off += (size_t)n;
    }
    s->len = 0;
}

static void on_event(const struct hutch_event *ev, void *ud)
{
    struct sink *s = ud;
    size_t n;
    const char *json = hutch_event_json(ev, &n);
    if (s->len + n + 1 > s->cap) {
        sink_flush(s);
        if (n + 1 > s->cap) {
            char *nb = realloc(s->buf, n + 1);
            if (!nb)
                return;
            s->buf = nb;
            s->cap = n + 1;
        }
    }
    memcpy(s->buf + s->len, json, n);
    s->buf[s->len + n] = '\n';
    s->len += n + 1;
    /* lifecycle events go out at once; output events are batched */
    if (hutch_event_type(ev) != HUTCH_EVENT_OUTPUT)
        sink_flush(s);
}

static int open_sink(const char *spec, struct sink *s)
{
    s->cap = 256 * 1024;
    s->buf = malloc(s->cap);
    if (!s->buf)
        return cli_usage_error("out of memory");
    if (!strcmp(spec, "-")) {
        s->fd = STDOUT_FILENO;
        return 0;
    }
    if (!strncmp(spec, "fd:", 3)) {
        char *end;
        long n = strtol(spec + 3, &end, 10);
        if (!spec[3] || *end || n < 0 || n > 1 << 20 || fcntl((int)n, F_GETFD) < 0)
            return cli_usage_error("--events: '%s' is not an open file descriptor", spec);
        s->fd = (int)n;
        return 0;
    }
    s->fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (s->fd < 0)
        return cli_usage_error("--events: cannot open %s: %s", spec, strerror(errno));
    return 0;
}

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

static int supervise(struct hutch_sandbox *sb, struct sink *sink, bool tty)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        sigaddset(&sigs, fwd[i]);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e1 = {.events = EPOLLIN, .data.u32 = 1}, e2 = {.events = EPOLLIN,
                                                                        .data.u32 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, hutch_sandbox_fd(sb), &e1);
    if (sfd >= 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e2);
    int terms = 0, status = HUTCH_EXIT_INTERNAL;
    for (;;) {
        struct epoll_event evs[2];
        int n = epoll_wait(ep, evs, 2, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 != 2)
                continue;
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGWINCH) {
                    if (tty)
                        tty_resize(sb);
                    continue;
                }
                /* forwarded to the workload; the third interrupt kills the sandbox */
                if ((sig == SIGINT || sig == SIGTERM) && ++terms >= 3)
                    sig = SIGKILL;
                hutch_sandbox_kill(sb, sig);
            }
        }
        struct hutch_error *err = NULL;
        int r = hutch_sandbox_dispatch(sb, &err);
        if (sink)
            sink_flush(sink);
        if (r < 0) {
            status = cli_fail(err);
            hutch_sandbox_kill(sb, SIGKILL);
            hutch_sandbox_wait(sb, NULL);
            break;
        }
        if (r == 1) {
            status = hutch_sandbox_exit_status(sb);
            break;
        }
    }
    close(ep);
    if (sfd >= 0)
        close(sfd);
    return status;
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
    struct sink sink = {.fd = -1};
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
    if (a.events && (status = open_sink(a.events, &sink)) != 0)
        goto out;
    bool events_on_stdout = a.events && !strcmp(a.events, "-");
    bool tty = false;
    for (int i = 1; i < a.first_positional; i++)
        if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--tty") ||
            (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i], 't') &&
             strlen(argv[i]) <= 4))
            tty = true;

    /* signals are taken through a signalfd in the loop; SIGPIPE must not kill us mid-teardown */
    sigset_t sigs;
    sigemptyset(&sigs);
    int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        sigaddset(&sigs, fwd[i]);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct hutch_start_opts o = {
        .sz = sizeof(o),
        .on_event = a.events ? on_event : NULL,
        .userdata = &sink,
        .stdin_fd = STDIN_FILENO,
        .stdout_fd = events_on_stdout ? -1 : STDOUT_FILENO,
        .stderr_fd = events_on_stdout ? -1 : STDERR_FILENO,
        .output_events = a.events != NULL,
        .id = a.id,
    };
    if (hutch_sandbox_start(ctx, spec, &o, &sb, &err) < 0) {
        if (a.events)
            sink_flush(&sink);
        status = cli_fail(err);
        goto out;
    }
    if (tty) {
        tty_resize(sb);
        tty_raw();
    }
    status = supervise(sb, a.events ? &sink : NULL, tty);
    tty_restore();
out:
    hutch_sandbox_destroy(sb);
    if (sink.buf) {
        sink_flush(&sink);
        free(sink.buf);
    }
    if (sink.fd > 2)
        close(sink.fd);
    hutch_spec_free(spec);
    hutch_ctx_free(ctx);
    return status;
}
