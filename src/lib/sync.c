/* SPDX-License-Identifier: MIT */
#include "sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send(int sock, const struct sync_msg *m, int pass_fd, pid_t creds_pid)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    size_t clen = 0;
    if (pass_fd >= 0 || creds_pid > 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (pass_fd >= 0) {
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
            clen += CMSG_SPACE(sizeof(int));
            c = CMSG_NXTHDR(&msg, c);
        }
        if (creds_pid > 0) {
            struct ucred cr = {.pid = creds_pid, .uid = getuid(), .gid = getgid()};
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_CREDENTIALS;
            c->cmsg_len = CMSG_LEN(sizeof(cr));
            memcpy(CMSG_DATA(c), &cr, sizeof(cr));
            clen += CMSG_SPACE(sizeof(cr));
        }
        msg.msg_controllen = clen;
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
        if (errno != EINTR)
            return -errno;
    }
}

int sync_send_type(int sock, enum sync_type t, uint64_t a)
{
    struct sync_msg m;
    memset(&m, 0, sizeof(m));
    m.type = t;
    m.a = a;
    return sync_send(sock, &m, -1, 0);
}

int sync_send_phase(int sock, const char *name, uint64_t ns)
{
    struct sync_msg m;
    memset(&m, 0, sizeof(m));
    m.type = SYNC_PHASE;
    m.a = ns;
    snprintf(m.text, sizeof(m.text), "%s", name);
    return sync_send(sock, &m, -1, 0);
}

int sync_send_error(int sock, int err, int status, const char *fmt, ...)
{
    struct sync_msg m;
    memset(&m, 0, sizeof(m));
    m.type = SYNC_ERROR;
    m.err = err < 0 ? -err : err;
    m.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof(m.text), fmt, ap);
    va_end(ap);
    return sync_send(sock, &m, -1, 0);
}

/* One frame, its fds (up to max; the rest closed) and its sender's pid (SCM_CREDENTIALS). */
static int recv_frame(int sock, struct sync_msg *m, int *fds, int max, int *nfds, pid_t *pid_out)
{
    struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    *nfds = 0;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_RIGHTS) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
                if (*nfds < max)
                    fds[(*nfds)++] = fd;
                else
                    close(fd);
            }
        } else if (c->cmsg_type == SCM_CREDENTIALS && pid_out) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof(cr));
            *pid_out = cr.pid;
        }
    }
    if (n == (ssize_t)sizeof(*m) && !(msg.msg_flags & MSG_CTRUNC)) {
        m->text[sizeof(m->text) - 1] = '\0';
        return 1;
    }
    /* a short frame, or fds the kernel dropped: nothing of it is usable */
    for (int i = 0; i < *nfds; i++)
        close(fds[i]);
    *nfds = 0;
    return n == 0 ? 0 : -EPROTO;
}

int sync_recv(int sock, struct sync_msg *m, int *fd_out, pid_t *pid_out)
{
    int fd, nfds;
    int r = recv_frame(sock, m, &fd, 1, &nfds, pid_out);
    if (r == 1 && nfds == 1) {
        if (fd_out)
            *fd_out = fd;
        else
            close(fd);
    }
    return r;
}

int sync_recv_fds(int sock, struct sync_msg *m, int *fds, int max, int *nfds)
{
    return recv_frame(sock, m, fds, max, nfds, NULL);
}

int sync_send_fds(int sock, enum sync_type t, const int *fds, int n)
{
    for (int first = 0; first < n; first += SYNC_MAX_FDS) {
        int k = n - first < SYNC_MAX_FDS ? n - first : SYNC_MAX_FDS;
        struct sync_msg m;
        memset(&m, 0, sizeof(m));
        m.type = t;
        m.a = (uint64_t)first;
        m.b = (uint64_t)k;
        struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
        union {
            char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
            struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof(u));
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)k)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)k);
        memcpy(CMSG_DATA(c), fds + first, sizeof(int) * (size_t)k);
        ssize_t w;
        do
            w = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            return -errno;
        if (w != (ssize_t)sizeof(m))
            return -EIO;
    }
    return 0;
}
