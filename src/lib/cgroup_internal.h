/* SPDX-License-Identifier: MIT */
/*
 * Cgroup internals shared by cgroup.c (layout, placement, attach, events), cgroup_kill.c (kill,
 * destroy, gc) and the two back ends behind a small ops table: cgroup_v2.c (limits, OOM and
 * usage in the unified hierarchy with controllers) and cgroup_v1.c (the same through the v1
 * controllers; used on legacy and hybrid hosts, where the controller-less unified group still
 * gives kill, freeze, events, cpu.stat and CLONE_INTO_CGROUP).
 */
#ifndef HUTCH_CGROUP_INTERNAL_H
#define HUTCH_CGROUP_INTERNAL_H

#include "cgroup.h"
#include "error.h"

#include <stdbool.h>
#include <stdint.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

enum cgroup_mode {
    CGROUP_MODE_V1 = 1, /* legacy: v1 controllers only */
    CGROUP_MODE_HYBRID, /* v1 controllers + a controller-less cgroup2 at .../unified */
    CGROUP_MODE_V2,     /* cgroup2 alone at /sys/fs/cgroup */
};

/* v1 controllers hutch may use; bit (1u << c) in masks. */
enum cgroup_ctrl {
    CG_MEMORY,
    CG_PIDS,
    CG_CPU,
    CG_CPUACCT,
    CG_CPUSET,
    CG_BLKIO,
    CG_FREEZER,
    CG_NCTRL,
};

/* One directory: hutch-<id> in one hierarchy. */
struct cgroup_dir {
    char *path;     /* absolute */
    size_t mnt_len; /* length of the hierarchy's mount point at the start of path */
    int fd;         /* O_RDONLY|O_DIRECTORY once created (CLONE_INTO_CGROUP needs a real fd) */
    unsigned ctrls; /* v1: controllers of this hierarchy; 0 for the unified one */
    bool created;
};

struct cgroup_ops;

struct cgroup {
    enum cgroup_mode mode;
    const struct cgroup_ops *ops;
    struct cgroup_dir dirs[CG_NCTRL + 1];
    int ndirs;
    int unified;           /* index in dirs of the cgroup2 group, or -1 */
    int by_ctrl[CG_NCTRL]; /* v1: index in dirs of the group holding the controller, or -1 */
    char *record;          /* state_dir/cgroups, or NULL */
    int epfd;              /* what cgroup_event_fd() hands out (an epoll set), or -1 */
    int events_fd;         /* unified cgroup.events (populated), or -1 */
    int oom_fd;            /* v2: memory.events; v1: an eventfd registered for OOM; or -1 */
    int oom_ctl_fd;        /* v1: memory.oom_control (its oom_kill counter), or -1 */
    uint64_t pids_peak;    /* max of pids.current samples where no pids.peak file exists */
    bool oom;
    bool watched;      /* cgroup_event_fd() made the epoll set (or tried to) */
    bool cloned_into;  /* the child was cloned into the unified group (CLONE_INTO_CGROUP) */
    int self_fds[CG_NCTRL + 1]; /* v1 `tasks` files the child writes "0" into, or -1 */
    int nself;
    bool no_kill_file; /* tests: kill through the freezer as kernels without cgroup.kill do */
};

/* What differs between v1 and v2 controllers. */
struct cgroup_ops {
    const char *name;
    /* v2: make the needed controllers available in dir (the parent of a new group).
     * -ENOENT, with *err untouched, when dir does not exist. */
    int (*enable_controllers)(struct cgroup *cg, const struct hutch_spec *spec, const char *dir,
                              struct hutch_error **err);
    /* Write the spec's limits into the created groups. */
    int (*set_limits)(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err);
    /* Open cg->oom_fd (and what it needs) so an OOM kill wakes the epoll set. */
    int (*watch_oom)(struct cgroup *cg, struct hutch_error **err);
    /* The group's OOM-kill counter (0 when it cannot be read). */
    uint64_t (*read_oom_kills)(struct cgroup *cg);
    /* Usage; fields that cannot be read stay 0. */
    void (*read_stats)(struct cgroup *cg, struct cgroup_stats *st);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* cgroup_create() with the layout forced (0: detect). Tests use CGROUP_MODE_V1 on a hybrid
 * host to run the legacy paths (cpuacct usage, v1 freezer kill) next to the hybrid ones. */
int cgroup_create_as(const struct hutch_spec *spec, const char *id, const char *state_dir,
                     enum cgroup_mode mode, struct cgroup **out, struct hutch_error **err);
/* Detect the host's layout (statfs of /sys/fs/cgroup and of .../unified). */
int cgroup_detect_mode(enum cgroup_mode *mode);
/* Directory fd of the group holding v1 controller c, or -1 (no such group). */
int cgroup_ctrl_fd(const struct cgroup *cg, enum cgroup_ctrl c);
/* Write val to file in the group open at dirfd; on failure an error naming the full path. */
int cgroup_write(const struct cgroup *cg, int dirfd, const char *file, const char *val,
                 struct hutch_error **err);
/* Write val to the file at an absolute path (parents, which hutch holds no fd for). */
int cgroup_write_path(const char *dir, const char *file, const char *val, struct hutch_error **err);
/* true if file exists relative to dirfd (for knobs some kernels or hosts lack). */
bool cgroup_file_exists(int dirfd, const char *file);
/* The number after "key " on a line of an already open file (pread from 0). */
int cgroup_read_key_fd(int fd, const char *key, uint64_t *val);
/* The same for a file relative to dirfd. */
int cgroup_read_key(int dirfd, const char *file, const char *key, uint64_t *val);
/* A file holding one number (or "max", read as UINT64_MAX). */
int cgroup_read_u64(int dirfd, const char *file, uint64_t *val);
/* Read a small cgroup file through an open fd from offset 0 (also re-arms kernfs poll). */
int cgroup_pread_small(int fd, char *buf, size_t size);
/* true if path is on a filesystem with this magic (CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC). */
bool cgroup_is_fs(const char *path, long magic);
/* Sample pids.current into cg->pids_peak (for kernels without pids.peak). */
void cgroup_sample_pids(struct cgroup *cg, int dirfd);
/* cpu shares (v1, 2..262144) <-> cpu weight (v2, 1..10000), as crun/runc convert them. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
uint64_t cgroup_weight_to_shares(uint64_t weight);

#endif
