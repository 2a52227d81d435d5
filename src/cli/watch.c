/* SPDX-License-Identifier: MIT */
/* What `hutch run` and `hutch job` share: the events sink and the loop that supervises a
 * sandbox while forwarding the signals hutch receives. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"

/* ---------------------------------------------------------------- events sink */

void cli_sink_flush(struct cli_sink *s)
{
    size_t off = 0;
    if (!s)
        return;
    while (s->fd >= 0 && off < s->len) {
        ssize_t n = write(s->fd, s->buf + off, s->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->fd = -1; /* a closed consumer: stop writing, keep running */
            break;
        }
        off += (size_t)n;
    }
    s->len = 0;
}

void cli_sink_event(const struct hutch_event *ev, void *ud)
{
    struct cli_sink *s = ud;
    size_t n;
    const char *json = hutch_event_json(ev, &n);
    if (s->len + n + 1 > s->cap) {
        cli_sink_flush(s);
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
    /* lifecycle events go out at once; output events are batched (large writes are cheap) */
    if (hutch_event_type(ev) != HUTCH_EVENT_OUTPUT)
        cli_sink_flush(s);
}

int cli_sink_open(const char *where, struct cli_sink *s)
{
    s->cap = 256 * 1024;
    if (!(s->buf = malloc(s->cap)))
        return cli_usage_error("out of memory");
    if (!strcmp(where, "-")) {
        s->fd = STDOUT_FILENO;
    } else if (!strncmp(where, "fd:", 3)) {
        char *end;
        long n = strtol(where + 3, &end, 10);
        if (!where[3] || *end || n < 0 || n > 1 << 20 || fcntl((int)n, F_GETFD) < 0)
            return cli_usage_error("--events: '%s' is not an open file descriptor", where);
        s->fd = (int)n;
    } else {
        s->owned = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (s->owned < 0)
            return cli_usage_error("--events: cannot open %s: %s", where, strerror(errno));
        s->fd = s->owned;
    }
    return 0;
}

void cli_sink_close(struct cli_sink *s)
{
    if (s->buf)
        cli_sink_flush(s);
    free(s->buf);
    s->buf = NULL;
    if (s->owned >= 0)
        close(s->owned);
    s->owned = s->fd = -1;
}

/* ---------------------------------------------------------------- supervision */

int cli_signals_take(bool winch)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        sigaddset(&sigs, fwd[i]);
    if (winch)
        sigaddset(&sigs, SIGWINCH);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed consumer must not kill us mid-teardown */
    return signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Forward what sfd has; the third SIGINT/SIGTERM kills the sandbox. */
static void forward_signals(struct hutch_sandbox *sb, int sfd, int *terms, cli_winch_fn on_winch)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGWINCH && on_winch) {
            on_winch(sb);
            continue;
        }
        if ((sig == SIGINT || sig == SIGTERM) && ++*terms >= 3)
            sig = SIGKILL;
        hutch_sandbox_kill(sb, sig);
    }
}

int cli_supervise(struct hutch_sandbox *sb, int sfd, struct cli_sink *sink, cli_winch_fn on_winch)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e1 = {.events = EPOLLIN, .data.u32 = 1};
    struct epoll_event e2 = {.events = EPOLLIN, .data.u32 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, hutch_sandbox_fd(sb), &e1);
    if (sfd >= 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e2);
    int terms = 0, status = HUTCH_EXIT_INTERNAL;
    for (;;) {
        struct epoll_event evs[2];
        int n = epoll_wait(ep, evs, 2, -1);
        if (n < 0 && errno != EINTR) {
            hutch_sandbox_kill(sb, SIGKILL);
            break;
        }
        for (int i = 0; i < n; i++)
            if (evs[i].data.u32 == 2)
                forward_signals(sb, sfd, &terms, on_winch);
        struct hutch_error *err = NULL;
        int r = hutch_sandbox_dispatch(sb, &err);
        cli_sink_flush(sink);
        if (r < 0) {
            status = cli_fail(err);
            hutch_sandbox_kill(sb, SIGKILL);
            break;
        }
        if (r == 1) {
            status = 0;
            break;
        }
    }
    if (ep >= 0)
        close(ep);
    return status;
}
