/* SPDX-License-Identifier: MIT */
/*
 * Supervision: one epoll set per sandbox (itself pollable, so a program can nest many in its
 * own loop) over the pidfd, the output pipes, the handshake socket, a timerfd and the cgroup's
 * event fd. Output is passed through and/or framed into events; the timeout sends SIGTERM to
 * everything, then SIGKILL after the grace period.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "init.h"
#include "sandbox.h"
#include "sync.h"
#include "sys.h"

enum { TAG_PIDFD = 1, TAG_OUT, TAG_ERR, TAG_SYNC, TAG_TIMER, TAG_CGROUP, TAG_STDIN };

#define READ_CHUNK (128 * 1024)

static int ep_add(int epfd, int fd, uint32_t tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void arm_timer(struct hutch_sandbox *sb, uint64_t ns)
{
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000ull),
                                          .tv_nsec = (long)(ns % 1000000000ull)}};
    if (ns == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(sb->timer_fd, 0, &its, NULL);
}

int supervisor_setup(struct hutch_sandbox *sb, struct hutch_error **err)
{
    sb->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sb->epfd < 0)
        return hutch_err_sys(err, "epoll_create1", "supervisor");
    /* drain() reads until EAGAIN: a blocking read would stall the loop (and the timeout)
     * while the workload keeps its end open; only our read ends, the workload's stay blocking */
    if (sb->out_fd >= 0)
        fcntl(sb->out_fd, F_SETFL, fcntl(sb->out_fd, F_GETFL) | O_NONBLOCK);
    if (sb->err_fd >= 0)
        fcntl(sb->err_fd, F_SETFL, fcntl(sb->err_fd, F_GETFL) | O_NONBLOCK);
    fcntl(sb->sync_fd, F_SETFL, fcntl(sb->sync_fd, F_GETFL) | O_NONBLOCK);
    int r = ep_add(sb->epfd, sb->pidfd, TAG_PIDFD, EPOLLIN);
    if (!r && sb->out_fd >= 0)
        r = ep_add(sb->epfd, sb->out_fd, TAG_OUT, EPOLLIN);
    if (!r && sb->err_fd >= 0)
        r = ep_add(sb->epfd, sb->err_fd, TAG_ERR, EPOLLIN);
    if (!r)
        r = ep_add(sb->epfd, sb->sync_fd, TAG_SYNC, EPOLLIN);
    if (!r && sb->cg && cgroup_event_fd(sb->cg) >= 0)
        r = ep_add(sb->epfd, cgroup_event_fd(sb->cg), TAG_CGROUP, EPOLLIN | EPOLLPRI);
    if (!r && sb->pty_fd >= 0 && sb->stdin_fd >= 0 && sb->spec->interactive) {
        fcntl(sb->stdin_fd, F_SETFL, fcntl(sb->stdin_fd, F_GETFL) | O_NONBLOCK);
        r = ep_add(sb->epfd, sb->stdin_fd, TAG_STDIN, EPOLLIN);
        if (r == -EPERM) /* a regular file: always readable, not pollable; copy at once */
            r = 0;
    }
    if (!r && sb->spec->timeout_ns) {
        sb->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (sb->timer_fd < 0)
            return hutch_err_sys(err, "timerfd_create", "--timeout");
        arm_timer(sb, sb->spec->timeout_ns);
        r = ep_add(sb->epfd, sb->timer_fd, TAG_TIMER, EPOLLIN);
    }
    if (r < 0)
        return hutch_err(err, r, "epoll_ctl", "supervisor", "%s", strerror(-r));
    return 0;
}

void supervisor_kill_all(struct hutch_sandbox *sb, int sig)
{
    if (sb->cg && sig == SIGKILL)
        cgroup_kill_all(sb->cg);
    if (sb->pidfd >= 0)
        sys_pidfd_send_signal(sb->pidfd, sig);
}

/* Emit output bytes of one stream as events, never splitting a UTF-8 sequence. */
static void emit_output(struct hutch_sandbox *sb, int s, const unsigned char *d, size_t n,
                        bool final)
{
    unsigned char *tail = sb->out_tail[s];
    size_t tl = sb->out_tail_len[s];
    if (!sb->output_events || !sb->on_event || (n == 0 && tl == 0))
        return;
    unsigned char joined[READ_CHUNK + 8];
    const unsigned char *p = d;
    size_t len = n;
    if (tl) { /* rare: only after a chunk ended inside a multibyte character */
        memcpy(joined, tail, tl);
        memcpy(joined + tl, d, n);
        p = joined;
        len = tl + n;
    }
    size_t keep = final ? len : utf8_split_point(p, len);
    sb->out_tail_len[s] = len - keep;
    memcpy(tail, p + keep, len - keep);
    if (keep == 0)
        return;
    if (sandbox_ev_begin(sb, HUTCH_EVENT_OUTPUT) < 0 ||
        event_output_data(&sb->evbuf, s == 0 ? "stdout" : "stderr", p, keep) < 0)
        return;
    sandbox_emit(sb, HUTCH_EVENT_OUTPUT);
}

static void handle_output(struct hutch_sandbox *sb, int s, const unsigned char *d, size_t n)
{
    if (sb->max_output) {
        uint64_t room = sb->output_bytes >= sb->max_output ? 0 : sb->max_output - sb->output_bytes;
        if (n > room) {
            sb->output_truncated = true;
            n = (size_t)room; /* the rest is read and dropped: the workload never blocks */
        }
    }
    sb->output_bytes += n;
    if (n == 0)
        return;
    int dst = s == 0 ? sb->stdout_fd : sb->stderr_fd;
    if (dst >= 0 && write_all(dst, d, n) == -EPIPE)
        sb->stdout_fd = s == 0 ? -1 : sb->stdout_fd;
    emit_output(sb, s, d, n, false);
}

/* Read what is there; returns 1 at EOF (fd closed and removed), 0 when nothing more is there
 * now, 2 when there may be more (a bounded batch, so that one stream can not starve others). */
static int drain(struct hutch_sandbox *sb, int *fdp, int s)
{
    static __thread unsigned char buf[READ_CHUNK];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(*fdp, buf, sizeof(buf));
        if (n > 0) {
            handle_output(sb, s, buf, (size_t)n);
            if (i == 15)
                return 2;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        /* EOF, or EIO on a pty whose slave side is gone */
        emit_output(sb, s, buf, 0, true);
        epoll_ctl(sb->epfd, EPOLL_CTL_DEL, *fdp, NULL);
        if (*fdp == sb->pty_fd)
            sb->pty_fd = -1;
        close_fd(fdp);
        return 1;
    }
    return 0;
}

static void read_sync(struct hutch_sandbox *sb)
{
    struct sync_msg m;
    for (;;) {
        int r = sync_recv(sb->sync_fd, &m, NULL, NULL);
        if (r == 1) {
            if (m.type == SYNC_EXIT) {
                sb->exit_known = true;
                sb->wait_status = (int)m.a;
                /* no pid namespace (--bare, --pid host) ends the rest with init: the cgroup
                 * does (init waits for it: it must not leave orphans to the host's init) */
                if (!sb->plan.pidns)
                    supervisor_kill_all(sb, SIGKILL);
            }
            continue;
        }
        if (r == 0 || (r < 0 && r != -EAGAIN)) {
            epoll_ctl(sb->epfd, EPOLL_CTL_DEL, sb->sync_fd, NULL);
            close_fd(&sb->sync_fd);
        }
        return;
    }
}

static void on_timer(struct hutch_sandbox *sb)
{
    uint64_t ticks;
    if (read(sb->timer_fd, &ticks, sizeof(ticks)) < 0)
        return;
    if (!sb->term_sent) {
        sb->timed_out = sb->term_sent = true;
        /* init sends SIGTERM to every process of the sandbox; without init, to pid 1 */
        /* the image's StopSignal to the workload first (init forwards it), like docker stop */
        if (sb->plan.stop_signal && sb->plan.stop_signal != SIGTERM)
            sys_pidfd_send_signal(sb->pidfd, sb->plan.stop_signal);
        if (!sb->plan.pidns)
            /* no pid namespace: every pid of the group but init (which would forward it) */
            cgroup_signal_all(sb->cg, SIGTERM, sb->spec->init ? sb->pid : 0);
        else if (sb->spec->init)
            sys_pidfd_send_signal(sb->pidfd, INIT_SIG_TERM_ALL);
        else
            sys_pidfd_send_signal(sb->pidfd, SIGTERM);
        arm_timer(sb, sb->spec->kill_grace_ns);
    } else if (!sb->kill_sent) {
        sb->kill_sent = true;
        supervisor_kill_all(sb, SIGKILL);
    }
}

static void forward_stdin(struct hutch_sandbox *sb)
{
    char buf[4096];
    ssize_t n = read(sb->stdin_fd, buf, sizeof(buf));
    if (n > 0 && sb->pty_fd >= 0) {
        if (write_all(sb->pty_fd, buf, (size_t)n) < 0) {
            /* the workload closed its terminal */
        }
    } else if (n == 0 || (n < 0 && errno != EAGAIN)) {
        epoll_ctl(sb->epfd, EPOLL_CTL_DEL, sb->stdin_fd, NULL);
        if (n == 0 && sb->pty_fd >= 0) {
            char eof = 4; /* ^D: end of input for the program on the terminal */
            if (write(sb->pty_fd, &eof, 1) < 0) {
            }
        }
    }
}

static int status_from_wait(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return HUTCH_EXIT_INTERNAL;
}

static void finish(struct hutch_sandbox *sb, const siginfo_t *si)
{
    sb->t_end_mono = now_mono_ns();
    /* init has exited, and with it every process of the pid namespace (without one: of the cgroup):
     * the pipes are at EOF, unless a process passed its end out; then take what is there */
    if (!sb->plan.pidns)
        supervisor_kill_all(sb, SIGKILL);
    for (int s = 0; s < 2; s++) {
        int *fdp = s ? &sb->err_fd : &sb->out_fd;
        /* a pty's last bytes may still be on their way to the master: wait for EOF (or EIO)
         * a little, not forever */
        while (*fdp >= 0) {
            int d = drain(sb, fdp, s);
            struct pollfd pfd = {.fd = *fdp, .events = POLLIN};
            if (d == 0 && poll(&pfd, 1, 200) <= 0)
                break;
        }
        if (*fdp >= 0) {
            emit_output(sb, s, NULL, 0, true);
            epoll_ctl(sb->epfd, EPOLL_CTL_DEL, *fdp, NULL);
            if (*fdp == sb->pty_fd)
                sb->pty_fd = -1;
            close_fd(fdp);
        }
    }
    if (sb->sync_fd >= 0)
        read_sync(sb);
    int sig = 0;
    if (!sb->exit_known) {
        if (si->si_code == CLD_EXITED)
            sb->wait_status = (si->si_status & 0xff) << 8;
        else
            sb->wait_status = si->si_status & 0x7f;
    }
    if (WIFSIGNALED(sb->wait_status))
        sig = WTERMSIG(sb->wait_status);
    sb->exit_status = status_from_wait(sb->wait_status);
    struct cgroup_stats st = {0};
    if (sb->cg) {
        cgroup_check_oom(sb->cg);
        cgroup_read_stats(sb->cg, &st);
        sb->oom_killed = st.oom_killed;
    }
    if (sb->oom_killed && sig == SIGKILL)
        sb->exit_status = 137;
    if (sb->timed_out)
        sb->exit_status = HUTCH_EXIT_TIMEOUT;
    sb->state = SB_ENDED;
    if (sandbox_ev_begin(sb, HUTCH_EVENT_PROCESS_END) < 0)
        return;
    struct buf *b = &sb->evbuf;
    int r = event_i64(b, "exit_code", sb->exit_status);
    r = r ?: (sig ? event_i64(b, "signal", sig) : event_null(b, "signal"));
    r = r ?: event_bool(b, "oom_killed", sb->oom_killed);
    r = r ?: event_bool(b, "timed_out", sb->timed_out);
    r = r ?: event_bool(b, "output_truncated", sb->output_truncated);
    r = r ?: event_u64(b, "output_bytes", sb->output_bytes);
    r = r ?: event_u64(b, "wall_ns", sb->t_end_mono - sb->t_exec_mono);
    r = r ?: event_u64(b, "cpu_user_us", st.cpu_user_us);
    r = r ?: event_u64(b, "cpu_system_us", st.cpu_system_us);
    r = r ?: event_u64(b, "memory_peak_bytes", st.memory_peak_bytes);
    r = r ?: event_u64(b, "pids_peak", st.pids_peak);
    r = r ?: event_u64(b, "io_read_bytes", st.io_read_bytes);
    r = r ?: event_u64(b, "io_write_bytes", st.io_write_bytes);
    if (!r)
        sandbox_emit(sb, HUTCH_EVENT_PROCESS_END);
}

int supervisor_dispatch(struct hutch_sandbox *sb, struct hutch_error **err)
{
    if (sb->state == SB_ENDED)
        return 1;
    struct epoll_event evs[8];
    int n = epoll_wait(sb->epfd, evs, 8, 0);
    if (n < 0)
        return errno == EINTR ? 0 : hutch_err_sys(err, "epoll_wait", "supervisor");
    bool child_done = false;
    for (int i = 0; i < n; i++) {
        switch (evs[i].data.u32) {
        case TAG_OUT:
            if (sb->out_fd >= 0)
                drain(sb, &sb->out_fd, 0);
            break;
        case TAG_ERR:
            if (sb->err_fd >= 0)
                drain(sb, &sb->err_fd, 1);
            break;
        case TAG_SYNC:
            if (sb->sync_fd >= 0)
                read_sync(sb);
            break;
        case TAG_TIMER:
            on_timer(sb);
            break;
        case TAG_CGROUP:
            if (cgroup_check_oom(sb->cg))
                sb->oom_killed = true;
            break;
        case TAG_STDIN:
            forward_stdin(sb);
            break;
        case TAG_PIDFD:
            child_done = true;
            break;
        }
    }
    if (!child_done)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0)
        return 0;
    sb->pid = 0; /* reaped: never signal this number again */
    finish(sb, &si);
    return 1;
}
