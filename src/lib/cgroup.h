/* SPDX-License-Identifier: MIT */
/* Cgroups: one group per sandbox in every hierarchy (v2 unified, v1 controllers, or hybrid). */
#ifndef HUTCH_CGROUP_H
#define HUTCH_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct hutch_spec;
struct cgroup;

struct cgroup_stats {
    uint64_t cpu_user_us, cpu_system_us;
    uint64_t memory_peak_bytes;
    uint64_t pids_peak;
    uint64_t io_read_bytes, io_write_bytes;
    bool oom_killed;
};

/*
 * Create <parent>/hutch-<id> in each hierarchy (parent = spec->cgroup_parent, else the
 * caller's own cgroup there), write the spec's limits, open what supervision needs. Leaves
 * nothing behind on failure. Records the created paths in state_dir/cgroups (for gc).
 */
int cgroup_create(const struct hutch_spec *spec, const char *id, const char *state_dir,
                  struct cgroup **out, struct hutch_error **err);
/* The v2 directory fd to pass to clone3 with CLONE_INTO_CGROUP, or -1 when there is none. */
int cgroup_clone_fd(const struct cgroup *cg);
/* The child was created by clone3(CLONE_INTO_CGROUP) with cgroup_clone_fd(): cgroup_attach()
 * then skips that group (a cgroup.procs write costs ~12 us). */
void cgroup_mark_cloned_into(struct cgroup *cg);
/* Parent, before clone3: open the v1 groups' `tasks` files so the child can move itself with
 * cgroup_child_attach(): a task moving itself skips the kernel's threadgroup lock, which costs
 * an RCU grace period (9-15 ms here) when the parent writes another process's pid. */
int cgroup_prepare_child_attach(struct cgroup *cg, struct hutch_error **err);
/* Child, first thing after it is released... before anything else it runs: join the v1 groups.
 * Async-signal-safe; returns 0 or -errno. */
int cgroup_child_attach(const struct cgroup *cg);
/* Parent, after clone3: close what cgroup_prepare_child_attach() opened. */
void cgroup_close_child_attach(struct cgroup *cg);
/* Put pid into every group it is not yet in (v1 controllers; v2 when clone3 could not).
 * Called while the child waits, before it runs any workload code. */
int cgroup_attach(struct cgroup *cg, pid_t pid, struct hutch_error **err);
/* A pollable fd (register it for EPOLLIN) that becomes readable on an OOM kill or when the
 * group empties, or -1. Made on the first call: call it once the child runs, not before
 * clone, to keep its cost off the start path. */
int cgroup_event_fd(struct cgroup *cg);
/* Consume the event; returns true if an OOM kill happened so far. */
bool cgroup_check_oom(struct cgroup *cg);
/* Kill every process in the sandbox's groups (cgroup.kill, or freeze + SIGKILL + thaw). */
int cgroup_kill_all(struct cgroup *cg);
/* Send sig once to every process in the sandbox's groups but except (--bare's SIGTERM on
 * timeout: no pid namespace, so no kill(-1) from its init). The number signalled, or -errno. */
int cgroup_signal_all(struct cgroup *cg, int sig, pid_t except);
/* Read usage (call before destroy). */
int cgroup_read_stats(struct cgroup *cg, struct cgroup_stats *st);
/* Remove the groups (retrying while the kernel still holds them) and free. Idempotent;
 * cg may be NULL. */
void cgroup_destroy(struct cgroup *cg);
/* gc: remove the groups listed in state_dir/cgroups, killing what is left in them. */
int cgroup_gc(const char *state_dir, struct hutch_error **err);

#endif
