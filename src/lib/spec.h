/* SPDX-License-Identifier: MIT */
/* The sandbox specification (pure code: parsing and validation, no syscalls but stat). */
#ifndef HUTCH_SPEC_H
#define HUTCH_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "hutch.h"

struct spec_volume {
    char *src; /* host path (absolute); for an overlay volume, the read-only lower dir */
    char *dst; /* path in the sandbox (absolute) */
    bool ro;
    /* an overlay volume (caches): src as lower (may be NULL: empty), upper and work on disk */
    char *upper, *work;
};

struct spec_tmpfs {
    char *dst;
    uint64_t size; /* 0 = kernel default */
    mode_t mode;   /* default 01777 */
};

enum spec_net_mode {
    SPEC_NET_NONE = 0,
    SPEC_NET_HOST,
    SPEC_NET_BRIDGE,   /* net_name = bridge name (default hutch0) */
    SPEC_NET_INTERNAL, /* net_name = network name */
    SPEC_NET_SANDBOX,  /* net_name = sandbox id to join */
};

enum spec_userns_mode {
    SPEC_USERNS_HOST = 0,
    SPEC_USERNS_AUTO,
    SPEC_USERNS_MAP, /* userns_map = "CONTAINER:HOST:SIZE" */
};

enum spec_io_kind { SPEC_IO_READ_BPS, SPEC_IO_WRITE_BPS, SPEC_IO_READ_IOPS, SPEC_IO_WRITE_IOPS };

struct spec_io_limit {
    enum spec_io_kind kind;
    char *device; /* path as given (e.g. /dev/sda) */
    unsigned major, minor;
    uint64_t rate;
};

struct hutch_spec {
    /* what to run */
    char **argv; /* NULL-terminated; may be empty when an image supplies the command */
    int argc;
    char **env;  /* "KEY=VAL", NULL-terminated */
    int nenv;
    char *workdir;
    char *user; /* as given: "uid[:gid]" or a name */
    char *hostname;
    bool tty, interactive;
    bool init; /* hutch's init as pid 1 (default true) */
    /* a bare host process: no namespaces, no rootfs, no mounts, no seccomp or capability
     * changes; only the cgroup limits, supervision and the event stream (jobs' container: none) */
    bool bare;
    /* --uts/--ipc/--pid/--cgroupns host: stay in the caller's namespace of that kind */
    bool host_uts, host_ipc, host_pid, host_cgroupns;

    /* rootfs */
    char *rootfs; /* a directory */
    char *image;  /* an image reference in the store */
    bool read_only;
    uint64_t upper_size; /* tmpfs size for the overlay upper (0 = default) */
    struct spec_volume *volumes;
    int nvolumes;
    struct spec_tmpfs *tmpfs;
    int ntmpfs;

    /* keep the sandbox's mount namespace after the workload ends (artifact copy-out) */
    bool keep_mntns;

    /* supervision */
    uint64_t timeout_ns;    /* 0 = none */
    uint64_t kill_grace_ns; /* default 10 s */
    uint64_t max_output;    /* 0 = unlimited */

    /* privileges: capability masks by number (bit n = capability n) */
    uint64_t cap_add, cap_drop;
    bool cap_drop_all;
    bool no_new_privs; /* default true */
    bool privileged;
    char *seccomp; /* "default", "strict", "unconfined", or a path */
    enum spec_userns_mode userns;
    char *userns_map;

    /* cgroup limits (0 = not set) */
    uint64_t memory, memory_reservation;
    uint64_t cpu_quota_us, cpu_period_us; /* from --cpus */
    uint64_t cpu_shares, cpu_weight;
    char *cpuset_cpus;
    int64_t pids_limit; /* default 1024; -1 = unlimited */
    struct spec_io_limit *io;
    int nio;
    char *cgroup_parent;

    /* network */
    enum spec_net_mode net;
    char *net_name;
    bool nat;
};

/* Append an overlay volume (lower may be NULL) — used by jobs for overlay caches. */
int spec_add_overlay_volume(struct hutch_spec *spec, const char *lower, const char *upper,
                            const char *work, const char *dst);

/* Set one option by its CLI long name (see hutch_spec_set in hutch.h). */
int spec_set(struct hutch_spec *spec, const char *option, const char *value,
             struct hutch_error **err);
/* Cross-field checks that need no rootfs (the rootfs-dependent ones live in sandbox.c). */
int spec_validate(const struct hutch_spec *spec, struct hutch_error **err);

/* capability name ("CAP_SYS_ADMIN", "sys_admin", "ALL" is not a cap) -> number, or -EINVAL */
int spec_cap_from_name(const char *name);
const char *spec_cap_name(int cap);
#define SPEC_CAP_LAST 40 /* CAP_CHECKPOINT_RESTORE */

/* The OCI runtime spec's default capability set for root in a container. */
uint64_t spec_default_caps(void);

#endif
