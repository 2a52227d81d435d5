/* SPDX-License-Identifier: MIT */
/* The sandbox object shared by the story (sandbox.c), the child side (child.c, init.c) and the
 * supervisor (supervisor.c). Other modules see only their own verbs. */
#ifndef HUTCH_SANDBOX_H
#define HUTCH_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"
#include "hutch.h"
#include "spec.h"
#include "userns.h"
#include "util.h"

struct cgroup;
struct net;
struct seccomp_prog;
struct image_rootfs;

#define SANDBOX_ID_LEN 16

/* Everything the child needs, computed by the parent before clone3 (the child allocates
 * nothing it can avoid: it may be the fork of a multi-threaded program). */
struct sandbox_plan {
    char **lowers; /* rootfs layers, top-most first (a --rootfs dir is the only one) */
    int nlowers;
    bool keep_creds; /* --bare without --user: the caller's own uid, gids and capabilities */
    bool pidns;      /* a pid namespace of its own (not --bare, not --pid host): its end is
                      * everyone's end; without one the cgroup is killed instead */
    char *stage_dir;  /* RUN/<id>/root: where the child mounts its private tmpfs */
    char *upper_dir;  /* on-disk upper (NULL: upper on the tmpfs) */
    uint64_t upper_size;
    bool read_only;
    bool legacy_mount;
    char *hostname;
    char **argv; /* resolved command (image Entrypoint+Cmd applied) */
    char **env;  /* final environment */
    char *workdir;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    uint64_t caps;         /* effective = permitted = bounding */
    uint64_t caps_ambient; /* inheritable + ambient (non-root with --cap-add) */
    bool no_new_privs;
    const struct seccomp_prog *seccomp; /* NULL: unconfined */
    int stop_signal;
    bool userns;              /* a user namespace with umap */
    struct userns_map umap;
    char *userns_lease;       /* --userns=auto: our lease file */
    int *held_fds;            /* (userns) one slot per layer, -1 until the parent sends the */
    int nheld_fds;            /* layer's idmapped mount (SYNC_IDMAP; the child's copy only) */
    bool idmapped;            /* (userns, child) the layers came idmapped: image owners hold */
    char **vol_srcs;          /* "/proc/self/fd/N" per volume (userns, child only), else NULL */
    int stage_fd;             /* (userns, child only) */
    int nvol_srcs;
    char *etc_hosts; /* contents for /etc/hosts (NULL: leave the image's) */
    char *etc_resolv;
};

enum sandbox_state { SB_PREPARING, SB_RUNNING, SB_ENDED };

struct hutch_sandbox {
    struct hutch_ctx *ctx;
    const struct hutch_spec *spec; /* borrowed for the start only */
    char id[SANDBOX_ID_LEN + 1];
    char *state_dir;
    int lock_fd; /* flock held while the supervisor lives: liveness for ps/gc */
    struct sandbox_plan plan;
    struct image_rootfs *image;
    struct cgroup *cg;
    struct net *net;

    /* events */
    hutch_event_fn on_event;
    void *userdata;
    struct buf evbuf;
    bool output_events;

    /* the child */
    pid_t pid;         /* init (or the workload when no init), host pid */
    int pidfd;
    pid_t wl_pid;      /* workload, host pid */
    pid_t wl_pid_in;   /* workload, pid inside */
    int sync_fd;       /* parent end of the handshake */
    int mntns_fd;      /* the sandbox's mount namespace, kept for copy-out (spec->keep_mntns) */
    int exec_fd;       /* read end of the workload's exec pipe */

    /* supervision */
    int epfd;
    int out_fd, err_fd; /* read ends of stdout/stderr pipes (or the pty master in out_fd) */
    int stdin_fd, stdout_fd, stderr_fd; /* caller's passthrough fds */
    int timer_fd;
    int pty_fd;
    unsigned char out_tail[2][4]; /* incomplete UTF-8 sequence held back per stream */
    size_t out_tail_len[2];
    uint64_t output_bytes, max_output;
    bool output_truncated;
    bool timed_out, term_sent, kill_sent;
    bool exit_known;
    int wait_status; /* the workload's, from init's SYNC_EXIT or waitid */
    int exit_status; /* hutch's, 0..255 */
    bool oom_killed;
    uint64_t t_start_mono, t_exec_mono, t_end_mono;
    enum sandbox_state state;
    bool removed;
};

/* events.c-level helpers bound to a sandbox (sandbox.c) */
void sandbox_emit(struct hutch_sandbox *sb, enum hutch_event_type t);
int sandbox_ev_begin(struct hutch_sandbox *sb, enum hutch_event_type t);
void sandbox_emit_phase(struct hutch_sandbox *sb, const char *name, uint64_t ns);
void sandbox_emit_error(struct hutch_sandbox *sb, const struct hutch_error *err);

/* child.c: the child's story; never returns */
__attribute__((noreturn)) void child_main(struct hutch_sandbox *sb, int sync_fd, int exec_w,
                                          int out_w, int err_w, int stdin_fd);
/* init.c: pid 1 of the sandbox (without a pid namespace: a subreaper); never returns */
__attribute__((noreturn)) void init_main(int sync_fd, pid_t workload, bool pidns);

/* supervisor.c */
int supervisor_setup(struct hutch_sandbox *sb, struct hutch_error **err);
int supervisor_dispatch(struct hutch_sandbox *sb, struct hutch_error **err);
void supervisor_kill_all(struct hutch_sandbox *sb, int sig);

#endif
