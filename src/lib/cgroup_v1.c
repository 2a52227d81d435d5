/* SPDX-License-Identifier: MIT */
/*
 * cgroup v1 back end: limits, OOM watch and usage through the v1 controllers (legacy and
 * hybrid hosts). Each controller may sit in its own hierarchy (cpu and cpuacct are separate
 * here) or share one; cgroup.c made one group per hierarchy and cgroup_ctrl_fd() finds it.
 */
#include "cgroup_internal.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The inverse of cgroup_shares_to_weight(), for --cpu-weight on v1. */
uint64_t cgroup_weight_to_shares(uint64_t weight)
{
    weight = weight < 1 ? 1 : weight > 10000 ? 10000 : weight;
    return 2 + ((weight - 1) * 262142) / 9999;
}

static int v1_write_u64(struct cgroup *cg, int fd, const char *file, uint64_t v,
                        struct hutch_error **err)
{
    char s[32];
    snprintf(s, sizeof(s), "%" PRIu64, v);
    return cgroup_write(cg, fd, file, s, err);
}

static int v1_set_memory(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    int fd = cgroup_ctrl_fd(cg, CG_MEMORY), r = 0;
    if (spec->memory) {
        /* limit first: memsw must never be below it, and starts unlimited */
        r = v1_write_u64(cg, fd, "memory.limit_in_bytes", spec->memory, err);
        /* memory+swap = memory: no swap; absent when swap accounting is off */
        if (r == 0 && cgroup_file_exists(fd, "memory.memsw.limit_in_bytes"))
            r = v1_write_u64(cg, fd, "memory.memsw.limit_in_bytes", spec->memory, err);
    }
    if (r == 0 && spec->memory_reservation)
        r = v1_write_u64(cg, fd, "memory.soft_limit_in_bytes", spec->memory_reservation, err);
    return r;
}

static int v1_set_cpu(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    int fd = cgroup_ctrl_fd(cg, CG_CPU), r = 0;
    if (spec->cpu_quota_us) {
        /* period first: the kernel checks the quota against the current period */
        r = v1_write_u64(cg, fd, "cpu.cfs_period_us",
                         spec->cpu_period_us ? spec->cpu_period_us : 100000, err);
        if (r == 0)
            r = v1_write_u64(cg, fd, "cpu.cfs_quota_us", spec->cpu_quota_us, err);
    }
    if (r == 0 && (spec->cpu_shares || spec->cpu_weight))
        r = v1_write_u64(
            cg, fd, "cpu.shares",
            spec->cpu_shares ? spec->cpu_shares : cgroup_weight_to_shares(spec->cpu_weight), err);
    return r;
}

/* v1 cpuset refuses tasks until cpus and mems are both set: mems come from the parent. */
static int v1_set_cpuset(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    int fd = cgroup_ctrl_fd(cg, CG_CPUSET);
    _cleanup_free_ char *mems = NULL;
    _cleanup_close_ int pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = pfd < 0 ? -errno : read_file_at(pfd, "cpuset.mems", &mems, NULL, 65536);
    if (r == 0 && (mems[0] == '\n' || !mems[0])) {
        free(mems);
        mems = NULL;
        r = read_file_at(pfd, "cpuset.effective_mems", &mems, NULL, 65536);
    }
    if (r < 0)
        return hutch_err(err, r, "read", "cpuset.mems", "cannot read the parent's cpuset.mems");
    r = cgroup_write(cg, fd, "cpuset.mems", mems, err);
    return r ? r : cgroup_write(cg, fd, "cpuset.cpus", spec->cpuset_cpus, err);
}

static int v1_set_blkio(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    static const char *const files[] = {
        "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
    int fd = cgroup_ctrl_fd(cg, CG_BLKIO), r = 0;
    for (int i = 0; r == 0 && i < spec->nio; i++) {
        const struct spec_io_limit *io = &spec->io[i];
        char v[64];
        snprintf(v, sizeof(v), "%u:%u %" PRIu64, io->major, io->minor, io->rate);
        r = cgroup_write(cg, fd, files[io->kind], v, err);
    }
    return r;
}

/* cgroup.c only planned the groups the spec needs, and failed when a needed one is missing. */
static int v1_set_limits(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    int r = 0;
    if (spec->memory || spec->memory_reservation)
        r = v1_set_memory(cg, spec, err);
    if (r == 0 && (spec->cpu_quota_us || spec->cpu_shares || spec->cpu_weight))
        r = v1_set_cpu(cg, spec, err);
    if (r == 0 && spec->cpuset_cpus)
        r = v1_set_cpuset(cg, spec, err);
    if (r == 0 && spec->pids_limit > 0)
        r = v1_write_u64(cg, cgroup_ctrl_fd(cg, CG_PIDS), "pids.max", (uint64_t)spec->pids_limit,
                         err);
    if (r == 0 && spec->nio)
        r = v1_set_blkio(cg, spec, err);
    return r;
}

/*
 * v1 OOM notification: an eventfd registered in cgroup.event_control with memory.oom_control
 * fires on every OOM in the group; memory.oom_control's oom_kill counter then says whether the
 * kernel killed (memory.failcnt stays 0 here after an OOM kill: FACTS.md).
 */
static int v1_watch_oom(struct cgroup *cg, struct hutch_error **err)
{
    int fd = cgroup_ctrl_fd(cg, CG_MEMORY);
    if (fd < 0)
        return 0;
    cg->oom_ctl_fd = openat(fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
    if (cg->oom_ctl_fd < 0)
        return hutch_err_sys(err, "open", "memory.oom_control");
    cg->oom_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cg->oom_fd < 0)
        return hutch_err_sys(err, "eventfd", "memory.oom_control");
    char v[32];
    snprintf(v, sizeof(v), "%d %d", cg->oom_fd, cg->oom_ctl_fd);
    return cgroup_write(cg, fd, "cgroup.event_control", v, err);
}

static uint64_t v1_read_oom_kills(struct cgroup *cg)
{
    uint64_t n = 0;
    int fd = cgroup_ctrl_fd(cg, CG_MEMORY);
    if (cg->oom_ctl_fd >= 0)
        cgroup_read_key_fd(cg->oom_ctl_fd, "oom_kill", &n);
    else if (fd >= 0)
        cgroup_read_key(fd, "memory.oom_control", "oom_kill", &n);
    return n;
}

/* blkio.throttle.io_service_bytes: "MAJ:MIN Read N", "MAJ:MIN Write N", ..., "Total N" */
static void v1_read_io(int fd, struct cgroup_stats *st)
{
    _cleanup_free_ char *text = NULL;
    if (fd < 0 || read_file_at(fd, "blkio.throttle.io_service_bytes", &text, NULL, 1 << 20) < 0)
        return;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char op[16];
        uint64_t n;
        if (sscanf(l, "%*u:%*u %15s %" SCNu64, op, &n) != 2)
            continue;
        if (!strcmp(op, "Read"))
            st->io_read_bytes += n;
        else if (!strcmp(op, "Write"))
            st->io_write_bytes += n;
    }
}

static void v1_read_stats(struct cgroup *cg, struct cgroup_stats *st)
{
    int fd;
    /* hybrid: the unified group's cpu.stat works without controllers; legacy: cpuacct (ns) */
    if (cg->unified >= 0 &&
        cgroup_read_key(cg->dirs[cg->unified].fd, "cpu.stat", "user_usec", &st->cpu_user_us) == 0) {
        cgroup_read_key(cg->dirs[cg->unified].fd, "cpu.stat", "system_usec", &st->cpu_system_us);
    } else if ((fd = cgroup_ctrl_fd(cg, CG_CPUACCT)) >= 0) {
        if (cgroup_read_u64(fd, "cpuacct.usage_user", &st->cpu_user_us) == 0)
            st->cpu_user_us /= 1000;
        if (cgroup_read_u64(fd, "cpuacct.usage_sys", &st->cpu_system_us) == 0)
            st->cpu_system_us /= 1000;
    }
    if ((fd = cgroup_ctrl_fd(cg, CG_MEMORY)) >= 0)
        cgroup_read_u64(fd, "memory.max_usage_in_bytes", &st->memory_peak_bytes);
    /* v1 pids.peak exists on recent kernels (6.18 here); else the samples taken at events */
    if ((fd = cgroup_ctrl_fd(cg, CG_PIDS)) >= 0 &&
        cgroup_read_u64(fd, "pids.peak", &st->pids_peak) < 0)
        cgroup_sample_pids(cg, fd);
    v1_read_io(cgroup_ctrl_fd(cg, CG_BLKIO), st);
}

const struct cgroup_ops cgroup_v1_ops = {
    .name = "v1",
    .enable_controllers = NULL,
    .set_limits = v1_set_limits,
    .watch_oom = v1_watch_oom,
    .read_oom_kills = v1_read_oom_kills,
    .read_stats = v1_read_stats,
};
