/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 back end: limits, OOM watch and usage in the one unified group (pure v2 hosts).
 * On a hybrid host the unified group has no controllers and cgroup_v1.c does this part.
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
#include <unistd.h>

enum { V2_MEMORY, V2_PIDS, V2_CPU, V2_CPUSET, V2_IO, V2_N };
static const char *const v2_names[V2_N] = {"memory", "pids", "cpu", "cpuset", "io"};

/* crun's conversion: shares [2, 262144] map linearly onto weight [1, 10000]. */
uint64_t cgroup_shares_to_weight(uint64_t shares)
{
    shares = shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
    return 1 + ((shares - 2) * 9999) / 262142;
}

/* Controllers the spec's limits need (*req) and those worth having for usage and OOM
 * reporting when the parent can give them (the return value, a superset). */
static unsigned v2_wanted(const struct hutch_spec *spec, unsigned *req)
{
    unsigned r = 0;
    if (spec->memory || spec->memory_reservation)
        r |= 1u << V2_MEMORY;
    if (spec->pids_limit > 0)
        r |= 1u << V2_PIDS;
    if (spec->cpu_quota_us || spec->cpu_shares || spec->cpu_weight)
        r |= 1u << V2_CPU;
    if (spec->cpuset_cpus)
        r |= 1u << V2_CPUSET;
    if (spec->nio)
        r |= 1u << V2_IO;
    *req = r;
    return r | 1u << V2_MEMORY | 1u << V2_PIDS;
}

/* Is name a word of the space-separated list text? */
static bool words_have(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n)
        if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static unsigned v2_read_set(int dfd, const char *file, int *r)
{
    _cleanup_free_ char *text = NULL;
    unsigned set = 0;
    *r = read_file_at(dfd, file, &text, NULL, 4096);
    for (int c = 0; *r == 0 && c < V2_N; c++)
        if (words_have(text, v2_names[c]))
            set |= 1u << c;
    return set;
}

static int v2_subtree_write(const char *dir, unsigned set, struct hutch_error **err)
{
    struct buf b = {0};
    for (int c = 0; c < V2_N; c++)
        if (set & 1u << c && buf_printf(&b, "%s+%s", b.len ? " " : "", v2_names[c]) < 0) {
            buf_free(&b);
            return hutch_err(err, ENOMEM, NULL, dir, "out of memory");
        }
    int r = cgroup_write_path(dir, "cgroup.subtree_control", b.data, err);
    if (r == -EBUSY)
        r = hutch_err(err, EBUSY, "cgroup", dir,
                      "cannot enable '%s' for its children: it has processes of its own "
                      "(cgroup v2 'no internal processes' rule); use --cgroup-parent with a "
                      "cgroup that has none",
                      b.data);
    buf_free(&b);
    return r;
}

/* Does the group open at dfd hold processes, and is it not the root (which may)? */
static bool v2_has_own_procs(int dfd)
{
    char c;
    _cleanup_close_ int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    /* cgroup.type exists everywhere but in the root */
    return fd >= 0 && cgroup_file_exists(dfd, "cgroup.type") && read(fd, &c, 1) == 1;
}

/*
 * A child only has the controllers in its parent's cgroup.subtree_control. Enable the missing
 * ones there when the parent has them (cgroup.controllers), which the kernel refuses while the
 * parent has processes of its own. One read in the common case where all are enabled already.
 */
static int v2_enable_controllers(struct cgroup *cg, const struct hutch_spec *spec, const char *dir,
                                 struct hutch_error **err)
{
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == ENOENT)
        return -ENOENT;
    if (dfd < 0)
        return hutch_err_sys(err, "open", dir);
    int r;
    unsigned req, want = v2_wanted(spec, &req);
    unsigned have = v2_read_set(dfd, "cgroup.subtree_control", &r);
    if (r < 0)
        return hutch_err(err, r, "read", dir, "cannot read cgroup.subtree_control");
    if (!(want & ~have))
        return 0;
    /* the kernel lets threaded controllers (pids, cpu, cpuset) be enabled in a group with
     * processes, which makes it a thread root whose children take no process (EOPNOTSUPP at
     * attach): refuse every enable there, before changing the parent */
    if (v2_has_own_procs(dfd))
        return hutch_err(err, EBUSY, "cgroup", dir,
                         "cannot enable controllers for its children: it has processes of its "
                         "own (cgroup v2 'no internal processes' rule); use --cgroup-parent with "
                         "a cgroup that has none");
    unsigned avail = v2_read_set(dfd, "cgroup.controllers", &r);
    if (r < 0)
        return hutch_err(err, r, "read", dir, "cannot read cgroup.controllers");
    for (int c = 0; c < V2_N; c++) {
        if (!(req & ~have & ~avail & 1u << c))
            continue;
        _cleanup_free_ char *file = NULL;
        if (asprintf(&file, "%s/cgroup.controllers", dir) < 0)
            file = NULL;
        return hutch_err(err, EPERM, "cgroup", file ? file : dir,
                         "the %s controller is not delegated here (missing from this file): "
                         "enable it in the parent's cgroup.subtree_control, or use "
                         "--cgroup-parent",
                         v2_names[c]);
    }
    if (req & ~have && (r = v2_subtree_write(dir, req & ~have, err)) < 0)
        return r;
    /* usage-only controllers: best effort, a missing one only costs a statistic */
    unsigned opt = want & ~req & ~have & avail;
    if (opt)
        v2_subtree_write(dir, opt, NULL);
    return 0;
}

static int v2_set_memory(struct cgroup *cg, int fd, const struct hutch_spec *spec,
                         struct hutch_error **err)
{
    char v[32];
    int r = 0;
    if (spec->memory) {
        snprintf(v, sizeof(v), "%" PRIu64, spec->memory);
        r = cgroup_write(cg, fd, "memory.max", v, err);
        /* no swap beyond the limit; the file is absent when swap accounting is off */
        if (r == 0 && cgroup_file_exists(fd, "memory.swap.max"))
            r = cgroup_write(cg, fd, "memory.swap.max", "0", err);
    }
    if (r == 0 && spec->memory_reservation) {
        /* docker's --memory-reservation is a soft guarantee: memory.low, as runc and crun do */
        snprintf(v, sizeof(v), "%" PRIu64, spec->memory_reservation);
        r = cgroup_write(cg, fd, "memory.low", v, err);
    }
    return r;
}

static int v2_set_limits(struct cgroup *cg, const struct hutch_spec *spec, struct hutch_error **err)
{
    int fd = cg->dirs[cg->unified].fd, r = v2_set_memory(cg, fd, spec, err);
    char v[64];
    if (r == 0 && spec->cpu_quota_us) {
        snprintf(v, sizeof(v), "%" PRIu64 " %" PRIu64, spec->cpu_quota_us,
                 spec->cpu_period_us ? spec->cpu_period_us : 100000);
        r = cgroup_write(cg, fd, "cpu.max", v, err);
    }
    if (r == 0 && (spec->cpu_weight || spec->cpu_shares)) {
        uint64_t w =
            spec->cpu_weight ? spec->cpu_weight : cgroup_shares_to_weight(spec->cpu_shares);
        snprintf(v, sizeof(v), "%" PRIu64, w);
        r = cgroup_write(cg, fd, "cpu.weight", v, err);
    }
    if (r == 0 && spec->cpuset_cpus)
        r = cgroup_write(cg, fd, "cpuset.cpus", spec->cpuset_cpus, err);
    if (r == 0 && spec->pids_limit > 0) {
        snprintf(v, sizeof(v), "%" PRId64, spec->pids_limit);
        r = cgroup_write(cg, fd, "pids.max", v, err);
    }
    static const char *const io_keys[] = {"rbps", "wbps", "riops", "wiops"};
    for (int i = 0; r == 0 && i < spec->nio; i++) {
        const struct spec_io_limit *io = &spec->io[i];
        snprintf(v, sizeof(v), "%u:%u %s=%" PRIu64, io->major, io->minor, io_keys[io->kind],
                 io->rate);
        r = cgroup_write(cg, fd, "io.max", v, err);
    }
    return r;
}

/* memory.events changes (POLLPRI) on every oom/oom_kill; absent without the memory
 * controller, and then there is nothing to watch. */
static int v2_watch_oom(struct cgroup *cg, struct hutch_error **err)
{
    uint64_t n;
    cg->oom_fd = openat(cg->dirs[cg->unified].fd, "memory.events", O_RDONLY | O_CLOEXEC);
    if (cg->oom_fd >= 0)
        cgroup_read_key_fd(cg->oom_fd, "oom_kill", &n); /* the first read arms POLLPRI */
    return 0;
}

static uint64_t v2_read_oom_kills(struct cgroup *cg)
{
    uint64_t n = 0;
    if (cg->oom_fd >= 0) /* also re-arms its POLLPRI */
        cgroup_read_key_fd(cg->oom_fd, "oom_kill", &n);
    else
        cgroup_read_key(cg->dirs[cg->unified].fd, "memory.events", "oom_kill", &n);
    return n;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device */
static void v2_read_io(int fd, struct cgroup_stats *st)
{
    _cleanup_free_ char *text = NULL;
    if (read_file_at(fd, "io.stat", &text, NULL, 1 << 20) < 0)
        return;
    for (const char *p = text; (p = strstr(p, "bytes=")); p += 6) {
        uint64_t n = strtoull(p + 6, NULL, 10);
        if (p - text >= 1 && p[-1] == 'r')
            st->io_read_bytes += n;
        else if (p - text >= 1 && p[-1] == 'w')
            st->io_write_bytes += n;
    }
}

static void v2_read_stats(struct cgroup *cg, struct cgroup_stats *st)
{
    int fd = cg->dirs[cg->unified].fd;
    /* cpu.stat has usage even without the cpu controller */
    if (cgroup_read_key(fd, "cpu.stat", "user_usec", &st->cpu_user_us) == 0)
        cgroup_read_key(fd, "cpu.stat", "system_usec", &st->cpu_system_us);
    /* memory.peak is 5.19+; memory.current at the end is the best older kernels offer */
    if (cgroup_read_u64(fd, "memory.peak", &st->memory_peak_bytes) < 0)
        cgroup_read_u64(fd, "memory.current", &st->memory_peak_bytes);
    /* pids.peak is 6.1+; else the samples taken at each event */
    if (cgroup_read_u64(fd, "pids.peak", &st->pids_peak) < 0)
        cgroup_sample_pids(cg, fd);
    v2_read_io(fd, st);
}

const struct cgroup_ops cgroup_v2_ops = {
    .name = "v2",
    .enable_controllers = v2_enable_controllers,
    .set_limits = v2_set_limits,
    .watch_oom = v2_watch_oom,
    .read_oom_kills = v2_read_oom_kills,
    .read_stats = v2_read_stats,
};
