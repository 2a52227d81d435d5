/* SPDX-License-Identifier: MIT */
/*
 * The parent/child handshake: fixed-size frames on a SOCK_SEQPACKET socketpair, so an error
 * from the child arrives whole (errno + step + message), never as one byte.
 *
 *   step         sender -> receiver   who waits for what
 *   SYNC_IDMAP   parent -> child      (before GO, --userns) idmapped layer mounts as SCM_RIGHTS:
 *                                     a = index of the first layer, b = how many in this frame
 *   SYNC_GO      parent -> child      child waits before any setup: the parent has attached it to
 *                                     its cgroups, written id maps, moved its veth in
 *   SYNC_PHASE   child  -> parent     (no wait) one setup step done: text = name, a = ns
 *   SYNC_PTY     child  -> parent     (no wait) the pty master of a -t sandbox, as SCM_RIGHTS
 *   SYNC_READY   init   -> parent     parent waits: the workload is forked; a = its pid inside,
 *                                     SCM_CREDENTIALS carries it (translated to the host's pid)
 *   SYNC_ERROR   child  -> parent     parent stops waiting: setup failed; err, text
 *   SYNC_EXIT    init   -> parent     the workload ended: a = its wait status
 *
 * The workload itself reports only through its exec pipe (close-on-exec): EOF with no frame
 * means execve succeeded; a SYNC_ERROR frame means it did not.
 */
#ifndef HUTCH_SYNC_H
#define HUTCH_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum sync_type {
    SYNC_GO = 1,
    SYNC_PHASE,
    SYNC_PTY,
    SYNC_READY,
    SYNC_ERROR,
    SYNC_EXIT,
    SYNC_IDMAP,
};

/* fds per SCM_RIGHTS frame (the kernel's limit is 253): more go in several frames */
#define SYNC_MAX_FDS 64

struct sync_msg {
    uint32_t type;
    int32_t err;    /* positive errno for SYNC_ERROR */
    uint64_t a, b;  /* type-specific numbers */
    int32_t status; /* exit status a failed exec maps to (126/127), else 0 */
    char text[492]; /* NUL-terminated */
};

/* Send one frame; pass_fd >= 0 attaches it; creds_pid > 0 attaches SCM_CREDENTIALS for it. */
int sync_send(int sock, const struct sync_msg *m, int pass_fd, pid_t creds_pid);
/* Shorthands for the child (async-signal-safe enough: snprintf into a stack frame). */
int sync_send_type(int sock, enum sync_type t, uint64_t a);
int sync_send_phase(int sock, const char *name, uint64_t ns);
int sync_send_error(int sock, int err, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Receive one frame (blocking unless the socket is non-blocking). Returns 1 for a frame, 0 on
 * EOF, -errno on error. fd_out / pid_out receive SCM_RIGHTS / SCM_CREDENTIALS if given. */
int sync_recv(int sock, struct sync_msg *m, int *fd_out, pid_t *pid_out);
/* n fds as frames of type t of up to SYNC_MAX_FDS each (a = index of the first, b = count);
 * the caller keeps (and closes) its fds. */
int sync_send_fds(int sock, enum sync_type t, const int *fds, int n);
/* Receive one frame and up to max fds (more are closed); *nfds says how many arrived. */
int sync_recv_fds(int sock, struct sync_msg *m, int *fds, int max, int *nfds);

#endif
