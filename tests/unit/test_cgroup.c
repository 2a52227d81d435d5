/* SPDX-License-Identifier: MIT */
/*
 * cgroup module tests. They need root (they create real groups, nested under this process's
 * own cgroups, and move forked children into them); without root they fail, never skip.
 * Every test uses a random id so two runs at once do not clash, and its teardown kills its
 * children and destroys its groups even when an assertion failed.
 *
 *   test_cgroup            run the tests (works on hybrid, v1 and pure v2 hosts)
 *   test_cgroup --bench    p50 of 200 create+attach+destroy, and libcgroup's cgroup_init()
 */
/* cmocka.h needs these three first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include "cgroup.h"
#include "cgroup_internal.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* 0: the host's own layout; CGROUP_MODE_V1: a hybrid host's v1 hierarchies alone (legacy) */
static enum cgroup_mode test_mode;

struct fixture {
    char id[40];
    char state_dir[64];
    struct hutch_spec *spec;
    struct cgroup *cg;
    pid_t child;
    int release_fd; /* write end: the child waits for EOF on it */
};

/* ---------------------------------------------------------------- helpers */

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char hex[17];
    assert_int_equal(random_hex(hex, 8), 0);
    snprintf(f->id, sizeof(f->id), "test-%s", hex);
    snprintf(f->state_dir, sizeof(f->state_dir), "/tmp/hutch-cgtest-%s", hex);
    assert_int_equal(mkdir(f->state_dir, 0700), 0);
    assert_int_equal(hutch_spec_new(&f->spec), 0);
    f->child = -1;
    f->release_fd = -1;
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    close_fd(&f->release_fd);
    if (f->cg)
        cgroup_kill_all(f->cg);
    cgroup_destroy(f->cg);
    cgroup_gc(f->state_dir, NULL); /* whatever a failed test left recorded */
    hutch_spec_free(f->spec);
    rm_tree_at(AT_FDCWD, f->state_dir);
    /* reap grandchildren reparented to us (we are a subreaper) */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    free(f);
    return 0;
}

static void spec_set_ok(struct hutch_spec *spec, const char *opt, const char *val)
{
    struct hutch_error *err = NULL;
    int r = spec_set(spec, opt, val, &err);
    if (r < 0)
        fail_msg("spec_set %s=%s: %s", opt, val, err ? err->message : "?");
}

static void create_ok(struct fixture *f)
{
    struct hutch_error *err = NULL;
    int r = cgroup_create_as(f->spec, f->id, f->state_dir, test_mode, &f->cg, &err);
    if (r < 0) {
        char *m = hutch_error_format(err);
        fail_msg("cgroup_create: %s", m ? m : "?");
    }
    assert_non_null(f->cg);
}

/* Fork a child that blocks until release_fd is closed, then runs fn (if any) and exits. */
static void child_spawn(struct fixture *f, void (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR)
            ;
        if (fn)
            fn();
        _exit(0);
    }
    close(p[0]);
    f->release_fd = p[1];
}

static void child_attach(struct fixture *f)
{
    struct hutch_error *err = NULL;
    assert_int_equal(cgroup_attach(f->cg, f->child, &err), 0);
}

static void child_attach_release(struct fixture *f)
{
    child_attach(f);
    close_fd(&f->release_fd);
}

static bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* The status of the child once it ended. */
static int child_wait(struct fixture *f)
{
    int st = 0;
    assert_int_equal(waitpid(f->child, &st, 0), f->child);
    f->child = -1;
    return st;
}

static char *read_in(int dirfd, const char *file)
{
    char *s = NULL;
    int r = read_file_at(dirfd, file, &s, NULL, 1 << 20);
    if (r < 0)
        fail_msg("read %s: %s", file, strerror(-r));
    s[strcspn(s, "\n")] = '\0'; /* first line */
    return s;
}

static void assert_file_eq(int dirfd, const char *file, const char *want)
{
    char *s = read_in(dirfd, file);
    if (strcmp(s, want))
        fail_msg("%s is '%s', want '%s'", file, s, want);
    free(s);
}

static bool pid_in_procs(int dirfd, pid_t pid)
{
    char *s = NULL;
    if (read_file_at(dirfd, "cgroup.procs", &s, NULL, 1 << 20) < 0)
        return false;
    bool found = false;
    for (char *p = s, *end; *p; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        found = found || v == pid;
    }
    free(s);
    return found;
}

/* Every place a hutch-<id> group could be for this process: none may exist. Built from
 * /proc/self/cgroup independently of cgroup.c's own planning. */
static void assert_no_groups(const char *id)
{
    char *text = NULL;
    assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, 1 << 20), 0);
    struct statfs fs;
    bool v2 = statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        assert_non_null(c2);
        *c2 = '\0';
        const char *list = c1 + 1, *path = c2 + 1;
        char p[4096];
        if (!*list)
            snprintf(p, sizeof(p), "%s%s%s/hutch-%s", CGROUP_ROOT, v2 ? "" : "/unified",
                     strcmp(path, "/") ? path : "", id);
        else
            snprintf(p, sizeof(p), "%s/%s%s/hutch-%s", CGROUP_ROOT,
                     strncmp(list, "name=", 5) ? list : list + 5, strcmp(path, "/") ? path : "",
                     id);
        struct stat st;
        if (stat(p, &st) == 0)
            fail_msg("left behind: %s", p);
    }
    free(text);
}

static int group_fd_v2_or(const struct cgroup *cg, enum cgroup_ctrl c)
{
    if (cg->mode == CGROUP_MODE_V2)
        return cg->dirs[cg->unified].fd;
    int fd = cgroup_ctrl_fd(cg, c);
    if (fd < 0)
        fail_msg("no group for controller %d", c);
    return fd;
}

/* ---------------------------------------------------------------- tests */

static void test_root_required(void **state)
{
    (void)state;
    if (geteuid() != 0)
        fail_msg("the cgroup tests need root (they create real cgroups)");
}

static void test_mode_detection_matches_mounts(void **state)
{
    (void)state;
    enum cgroup_mode mode = 0;
    assert_int_equal(cgroup_detect_mode(&mode), 0);
    /* independent check: what /proc/self/mounts says is at /sys/fs/cgroup and .../unified */
    char *m = NULL;
    assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mounts", &m, NULL, 1 << 22), 0);
    bool root_v2 = strstr(m, " /sys/fs/cgroup cgroup2 ") != NULL;
    bool unified = strstr(m, " /sys/fs/cgroup/unified cgroup2 ") != NULL;
    bool v1 = strstr(m, " cgroup rw") != NULL || strstr(m, " cgroup ro") != NULL;
    free(m);
    if (root_v2)
        assert_int_equal(mode, CGROUP_MODE_V2);
    else if (unified && v1)
        assert_int_equal(mode, CGROUP_MODE_HYBRID);
    else
        assert_int_equal(mode, CGROUP_MODE_V1);
    print_message("cgroup mode: %s\n", mode == CGROUP_MODE_V2       ? "v2"
                                       : mode == CGROUP_MODE_HYBRID ? "hybrid"
                                                                    : "v1");
}

static void test_shares_weight_conversion(void **state)
{
    (void)state;
    assert_int_equal(cgroup_shares_to_weight(2), 1);
    assert_int_equal(cgroup_shares_to_weight(262144), 10000);
    assert_int_equal(cgroup_shares_to_weight(1024), 39);
    assert_int_equal(cgroup_weight_to_shares(1), 2);
    assert_int_equal(cgroup_weight_to_shares(10000), 262144);
    assert_int_equal(cgroup_weight_to_shares(100), 2597);
}

/* The first block device of /proc/partitions as "/dev/NAME" (for io limits), or NULL. */
static char *block_device(unsigned *maj, unsigned *min)
{
    char *text = NULL, *dev = NULL;
    if (read_file_at(AT_FDCWD, "/proc/partitions", &text, NULL, 1 << 20) < 0)
        return NULL;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !dev;
         l = strtok_r(NULL, "\n", &save)) {
        char name[64];
        struct stat st;
        if (sscanf(l, "%u %u %*u %63s", maj, min, name) == 3 &&
            asprintf(&dev, "/dev/%s", name) > 0 && (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))) {
            free(dev);
            dev = NULL;
        }
    }
    free(text);
    return dev;
}

static void test_create_writes_limits(void **state)
{
    struct fixture *f = *state;
    unsigned maj = 0, min = 0;
    char *dev = block_device(&maj, &min), io[128], want[64];
    spec_set_ok(f->spec, "memory", "64M");
    spec_set_ok(f->spec, "memory-reservation", "32M");
    spec_set_ok(f->spec, "cpus", "0.5");
    spec_set_ok(f->spec, "cpu-shares", "512");
    spec_set_ok(f->spec, "cpuset-cpus", "0");
    spec_set_ok(f->spec, "pids-limit", "100");
    if (dev) {
        snprintf(io, sizeof(io), "%s:1M", dev);
        spec_set_ok(f->spec, "device-read-bps", io);
    }
    create_ok(f);
    const struct cgroup *cg = f->cg;
    if (cg->mode == CGROUP_MODE_V2) {
        int fd = cg->dirs[cg->unified].fd;
        assert_file_eq(fd, "memory.max", "67108864");
        if (cgroup_file_exists(fd, "memory.swap.max"))
            assert_file_eq(fd, "memory.swap.max", "0");
        assert_file_eq(fd, "memory.low", "33554432");
        assert_file_eq(fd, "cpu.max", "50000 100000");
        assert_file_eq(fd, "cpu.weight", "20");
        assert_file_eq(fd, "cpuset.cpus", "0");
        assert_file_eq(fd, "pids.max", "100");
        snprintf(want, sizeof(want), "%u:%u rbps=1048576 wbps=max riops=max wiops=max", maj, min);
        if (dev)
            assert_file_eq(fd, "io.max", want);
    } else {
        int m = cgroup_ctrl_fd(cg, CG_MEMORY), c = cgroup_ctrl_fd(cg, CG_CPU);
        assert_file_eq(m, "memory.limit_in_bytes", "67108864");
        if (cgroup_file_exists(m, "memory.memsw.limit_in_bytes"))
            assert_file_eq(m, "memory.memsw.limit_in_bytes", "67108864");
        assert_file_eq(m, "memory.soft_limit_in_bytes", "33554432");
        assert_file_eq(c, "cpu.cfs_period_us", "100000");
        assert_file_eq(c, "cpu.cfs_quota_us", "50000");
        assert_file_eq(c, "cpu.shares", "512");
        assert_file_eq(cgroup_ctrl_fd(cg, CG_CPUSET), "cpuset.cpus", "0");
        char *mems = read_in(cgroup_ctrl_fd(cg, CG_CPUSET), "cpuset.mems");
        assert_true(mems[0] != '\0'); /* copied from the parent: v1 needs it */
        free(mems);
        assert_file_eq(cgroup_ctrl_fd(cg, CG_PIDS), "pids.max", "100");
        snprintf(want, sizeof(want), "%u:%u 1048576", maj, min);
        if (dev)
            assert_file_eq(cgroup_ctrl_fd(cg, CG_BLKIO), "blkio.throttle.read_bps_device", want);
    }
    /* the record names every group, one per line */
    char rec[128], *text = NULL;
    snprintf(rec, sizeof(rec), "%s/cgroups", f->state_dir);
    assert_int_equal(read_file_at(AT_FDCWD, rec, &text, NULL, 1 << 20), 0);
    for (int i = 0; i < cg->ndirs; i++)
        assert_non_null(strstr(text, cg->dirs[i].path));
    free(text);
    free(dev);
}

static void test_default_spec_groups(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    struct cgroup *cg = f->cg;
    /* defaults: pids 1024, and no cpu/cpuset/blkio group on v1 (they cost and say nothing) */
    assert_file_eq(group_fd_v2_or(cg, CG_PIDS), "pids.max", "1024");
    if (cg->mode != CGROUP_MODE_V2) {
        assert_true(cgroup_ctrl_fd(cg, CG_MEMORY) >= 0);
        assert_true(cgroup_ctrl_fd(cg, CG_CPUSET) < 0);
        assert_true(cgroup_ctrl_fd(cg, CG_BLKIO) < 0);
    }
    if (cg->mode != CGROUP_MODE_V1)
        assert_true(cgroup_clone_fd(cg) >= 0);
    else
        assert_int_equal(cgroup_clone_fd(cg), -1);
    assert_true(cgroup_event_fd(cg) >= 0);
}

static void test_attach_puts_child_in_every_group(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    child_spawn(f, NULL);
    child_attach(f);
    for (int i = 0; i < f->cg->ndirs; i++)
        if (!pid_in_procs(f->cg->dirs[i].fd, f->child))
            fail_msg("pid %d not in %s/cgroup.procs", f->child, f->cg->dirs[i].path);
    int efd = cgroup_event_fd(f->cg);
    assert_true(efd >= 0);
    assert_false(readable(efd, 0));
    close_fd(&f->release_fd);
    assert_int_equal(child_wait(f), 0);
    if (f->cg->unified >= 0) { /* cgroup.events: the group emptied */
        assert_true(readable(efd, 2000));
        assert_false(cgroup_check_oom(f->cg));
        assert_false(readable(efd, 0)); /* consumed */
    }
}

/* After CLONE_INTO_CGROUP the lead marks the unified group done; attach must skip it. */
static void test_attach_skips_group_cloned_into(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    if (f->cg->unified < 0)
        return; /* legacy v1: nothing to clone into */
    child_spawn(f, NULL);
    cgroup_mark_cloned_into(f->cg);
    child_attach(f);
    assert_false(pid_in_procs(f->cg->dirs[f->cg->unified].fd, f->child));
    for (int i = 0; i < f->cg->ndirs; i++)
        if (i != f->cg->unified)
            assert_true(pid_in_procs(f->cg->dirs[i].fd, f->child));
    close_fd(&f->release_fd);
    assert_int_equal(child_wait(f), 0);
}

static void alloc_64m(void)
{
    size_t n = 64 << 20;
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(2);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    _exit(3); /* should not get here: the OOM killer must stop us */
}

static void test_oom_kill_is_detected(void **state)
{
    struct fixture *f = *state;
    spec_set_ok(f->spec, "memory", "16M");
    create_ok(f);
    assert_false(cgroup_check_oom(f->cg));
    child_spawn(f, alloc_64m);
    child_attach(f);
    int efd = cgroup_event_fd(f->cg); /* as the supervisor does, once the child runs */
    assert_true(efd >= 0);
    assert_false(readable(efd, 0)); /* quiet until something happens (kernfs POLLPRI armed) */
    close_fd(&f->release_fd);
    int st = child_wait(f);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    assert_true(readable(efd, 2000)); /* the event fd woke up */
    assert_true(cgroup_check_oom(f->cg));
    struct cgroup_stats s;
    assert_int_equal(cgroup_read_stats(f->cg, &s), 0);
    assert_true(s.oom_killed);
    assert_true(s.memory_peak_bytes > (8u << 20));
}

static void fork_sleepers(void)
{
    if (fork() == 0) { /* grandchild */
        pause();
        _exit(0);
    }
    pause();
    _exit(0);
}

static void kill_all_check(struct fixture *f, bool through_freezer)
{
    create_ok(f);
    f->cg->no_kill_file = through_freezer;
    child_spawn(f, fork_sleepers);
    child_attach_release(f);
    int procs = group_fd_v2_or(f->cg, CG_PIDS);
    for (int i = 0; i < 1000; i++) { /* until the grandchild exists */
        uint64_t n = 0;
        if (cgroup_read_u64(procs, "pids.current", &n) == 0 && n >= 2)
            break;
        usleep(1000);
    }
    assert_int_equal(cgroup_kill_all(f->cg), 0);
    int st = child_wait(f);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* the grandchild was reparented to us (subreaper): it must die too */
    pid_t g = waitpid(-1, &st, 0);
    assert_true(g > 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    int fd = f->cg->unified >= 0 ? f->cg->dirs[f->cg->unified].fd : procs;
    for (int i = 0; i < 1000 && !pid_in_procs(fd, g); i++) {
        char *s = read_in(fd, "cgroup.procs");
        bool empty = !s[0];
        free(s);
        if (empty)
            break;
        usleep(1000);
    }
    char *s = read_in(fd, "cgroup.procs");
    assert_string_equal(s, "");
    free(s);
}

static void test_kill_all_kills_child_and_grandchild(void **state)
{
    kill_all_check(*state, false);
}

/* kernels before 5.14 have no cgroup.kill: freeze, SIGKILL each pid, thaw */
static void test_kill_all_through_freezer(void **state)
{
    kill_all_check(*state, true);
}

static void busy_and_fork(void)
{
    uint64_t end = now_mono_ns() + 60000000ull;
    volatile uint64_t x = 0;
    while (now_mono_ns() < end)
        x++;
    char *p = malloc(8 << 20);
    if (p)
        memset(p, 1, 8 << 20);
    for (int i = 0; i < 3; i++)
        if (fork() == 0) {
            usleep(50000);
            _exit(0);
        }
    while (wait(NULL) > 0)
        ;
    free(p);
}

static void test_stats_after_busy_child(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    child_spawn(f, busy_and_fork);
    child_attach_release(f);
    assert_int_equal(child_wait(f), 0);
    struct cgroup_stats s;
    assert_int_equal(cgroup_read_stats(f->cg, &s), 0);
    print_message("cpu user %" PRIu64 " us sys %" PRIu64 " us, memory peak %" PRIu64
                  " B, pids peak %" PRIu64 ", io r/w %" PRIu64 "/%" PRIu64 "\n",
                  s.cpu_user_us, s.cpu_system_us, s.memory_peak_bytes, s.pids_peak, s.io_read_bytes,
                  s.io_write_bytes);
    assert_true(s.cpu_user_us + s.cpu_system_us >= 30000);
    assert_true(s.memory_peak_bytes >= (8u << 20));
    assert_true(s.pids_peak >= 4); /* the child and its three children at once */
    assert_false(s.oom_killed);
}

static void test_destroy_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    spec_set_ok(f->spec, "memory", "64M");
    spec_set_ok(f->spec, "cpus", "1");
    spec_set_ok(f->spec, "cpuset-cpus", "0");
    create_ok(f);
    char *paths[CG_NCTRL + 1];
    int n = f->cg->ndirs;
    for (int i = 0; i < n; i++)
        paths[i] = strdup(f->cg->dirs[i].path);
    child_spawn(f, NULL);
    child_attach_release(f);
    assert_int_equal(child_wait(f), 0);
    cgroup_destroy(TAKE_PTR(f->cg));
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0)
            fail_msg("still there: %s", paths[i]);
        free(paths[i]);
    }
    assert_no_groups(f->id);
    char rec[128];
    snprintf(rec, sizeof(rec), "%s/cgroups", f->state_dir);
    assert_int_equal(access(rec, F_OK), -1); /* nothing left for gc */
    cgroup_destroy(NULL);                    /* idempotent on NULL */
}

static void test_destroy_kills_leftovers(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    child_spawn(f, fork_sleepers);
    child_attach_release(f);
    usleep(20000);
    cgroup_destroy(TAKE_PTR(f->cg)); /* with live processes inside: kills, then removes */
    assert_no_groups(f->id);
    int st = child_wait(f);
    assert_true(WIFSIGNALED(st));
}

static void test_failure_midway_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    spec_set_ok(f->spec, "memory", "64M");
    free(f->spec->cpuset_cpus);
    f->spec->cpuset_cpus = strdup("9999"); /* passes no validation: the kernel refuses it */
    struct hutch_error *err = NULL;
    struct cgroup *cg = (struct cgroup *)1;
    int r = cgroup_create_as(f->spec, f->id, f->state_dir, test_mode, &cg, &err);
    assert_true(r < 0);
    assert_null(cg);
    assert_non_null(err);
    char *m = hutch_error_format(err);
    print_message("expected error: %s\n", m);
    assert_non_null(strstr(m, "cpuset.cpus"));
    free(m);
    hutch_error_free(err);
    assert_no_groups(f->id);
    char rec[128];
    snprintf(rec, sizeof(rec), "%s/cgroups", f->state_dir);
    assert_int_equal(access(rec, F_OK), -1);
}

static void test_existing_group_is_not_adopted(void **state)
{
    struct fixture *f = *state;
    create_ok(f);
    struct cgroup *again = NULL;
    struct hutch_error *err = NULL;
    char other[80];
    snprintf(other, sizeof(other), "%s-2", f->state_dir);
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(cgroup_create_as(f->spec, f->id, other, test_mode, &again, &err), -EEXIST);
    assert_null(again);
    hutch_error_free(err);
    rm_tree_at(AT_FDCWD, other);
    /* the first one's groups are intact */
    for (int i = 0; i < f->cg->ndirs; i++) {
        struct stat st;
        assert_int_equal(stat(f->cg->dirs[i].path, &st), 0);
    }
}

static void test_cgroup_parent_is_created(void **state)
{
    struct fixture *f = *state;
    char parent[80];
    snprintf(parent, sizeof(parent), "hutch-parent-%s/sub", f->id + 5);
    spec_set_ok(f->spec, "cgroup-parent", parent);
    spec_set_ok(f->spec, "cpuset-cpus", "0");
    create_ok(f);
    char want[160];
    snprintf(want, sizeof(want), "/%s/hutch-%s", parent, f->id);
    char *top[CG_NCTRL + 1];
    int n = f->cg->ndirs;
    for (int i = 0; i < n; i++) {
        const char *p = f->cg->dirs[i].path;
        assert_non_null(strstr(p, want));
        top[i] = strndup(p, (size_t)(strstr(p, want) - p) + strlen("/hutch-parent-") + 16);
    }
    child_spawn(f, NULL);
    child_attach_release(f); /* fails on v1 cpuset unless the new parents got cpus and mems */
    assert_int_equal(child_wait(f), 0);
    cgroup_destroy(TAKE_PTR(f->cg));
    for (int i = 0; i < n; i++) { /* parents stay (shared); the test removes them */
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/sub", top[i]);
        assert_int_equal(rmdir(sub), 0);
        assert_int_equal(rmdir(top[i]), 0);
        free(top[i]);
    }
}

/* pure v2 only: a parent that has processes of its own cannot give controllers to children */
static void test_v2_parent_with_processes_is_refused(void **state)
{
    struct fixture *f = *state;
    char x[128], procs[160], pid[16];
    snprintf(x, sizeof(x), "/sys/fs/cgroup/hutch-busy-%s", f->id + 5);
    assert_int_equal(mkdir(x, 0755), 0);
    child_spawn(f, NULL);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", x);
    snprintf(pid, sizeof(pid), "%d", f->child);
    int w = write_file_at(AT_FDCWD, procs, pid), r = 0;
    struct hutch_error *err = NULL;
    if (w == 0) {
        /* memory is a domain controller (pids, threaded, may be enabled next to processes) */
        spec_set_ok(f->spec, "memory", "64M");
        spec_set_ok(f->spec, "cgroup-parent", x + strlen("/sys/fs/cgroup"));
        r = cgroup_create(f->spec, f->id, f->state_dir, &f->cg, &err);
    }
    kill(f->child, SIGKILL);
    child_wait(f);
    rmdir(x);
    assert_int_equal(w, 0);
    assert_int_equal(r, -EBUSY);
    char *m = hutch_error_format(err);
    print_message("expected error: %s\n", m);
    assert_non_null(strstr(m, "no internal processes"));
    assert_non_null(strstr(m, "--cgroup-parent"));
    free(m);
    hutch_error_free(err);
    assert_null(f->cg);
}

/* pure v2 only: a controller missing from the parent's cgroup.controllers is named */
static void test_v2_undelegated_controller_is_named(void **state)
{
    struct fixture *f = *state;
    char x[128], y[160];
    snprintf(x, sizeof(x), "/sys/fs/cgroup/hutch-deleg-%s", f->id + 5);
    snprintf(y, sizeof(y), "%s/y", x);
    assert_int_equal(mkdir(x, 0755), 0);
    assert_int_equal(mkdir(y, 0755), 0);
    /* x gives its children memory only: y has no pids controller to hand on */
    char sc[200];
    snprintf(sc, sizeof(sc), "%s/cgroup.subtree_control", x);
    int w = write_file_at(AT_FDCWD, sc, "+memory");
    spec_set_ok(f->spec, "cgroup-parent", y + strlen("/sys/fs/cgroup"));
    struct hutch_error *err = NULL;
    int r = cgroup_create(f->spec, f->id, f->state_dir, &f->cg, &err);
    rmdir(y);
    rmdir(x);
    assert_int_equal(w, 0);
    assert_int_equal(r, -EPERM);
    char *m = hutch_error_format(err);
    print_message("expected error: %s\n", m);
    assert_non_null(strstr(m, "pids controller is not delegated"));
    assert_non_null(strstr(m, "cgroup.controllers"));
    free(m);
    hutch_error_free(err);
}

/* A process that creates the groups, puts a sleeper in them and "crashes" (exits without
 * destroy); gc must kill the sleeper and remove everything. */
static void test_gc_cleans_recorded_groups(void **state)
{
    struct fixture *f = *state;
    spec_set_ok(f->spec, "memory", "32M");
    pid_t crasher = fork();
    assert_true(crasher >= 0);
    if (crasher == 0) {
        struct cgroup *cg = NULL;
        if (cgroup_create_as(f->spec, f->id, f->state_dir, test_mode, &cg, NULL) < 0)
            _exit(1);
        pid_t s = fork();
        if (s == 0) {
            pause();
            _exit(0);
        }
        _exit(cgroup_attach(cg, s, NULL) < 0 ? 2 : 0);
    }
    int st;
    assert_int_equal(waitpid(crasher, &st, 0), crasher);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct hutch_error *err = NULL;
    assert_int_equal(cgroup_gc(f->state_dir, &err), 0);
    pid_t g = waitpid(-1, &st, 0); /* the orphaned sleeper, reparented to us */
    assert_true(g > 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    assert_no_groups(f->id);
    char rec[128];
    snprintf(rec, sizeof(rec), "%s/cgroups", f->state_dir);
    assert_int_equal(access(rec, F_OK), -1);
    assert_int_equal(cgroup_gc(f->state_dir, &err), 0); /* nothing recorded: a no-op */
}

static void test_gc_refuses_foreign_paths(void **state)
{
    struct fixture *f = *state;
    char rec[128], victim[128];
    snprintf(victim, sizeof(victim), "%s/not-a-cgroup", f->state_dir);
    assert_int_equal(mkdir(victim, 0700), 0);
    snprintf(rec, sizeof(rec), "%s/cgroups", f->state_dir);
    FILE *fp = fopen(rec, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n/sys/fs/cgroup/../../%s\n", victim, victim);
    fclose(fp);
    assert_int_equal(cgroup_gc(f->state_dir, NULL), 0);
    struct stat st;
    assert_int_equal(stat(victim, &st), 0); /* untouched */
}

/* ---------------------------------------------------------------- bench */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t bench_parts[3];

/* create (before the fork, as the lead creates before clone3), attach, destroy; the fork,
 * the child's exit and the reaping are not counted. */
static uint64_t bench_one(struct hutch_spec *spec, const char *state_dir)
{
    char hex[17], id[40];
    random_hex(hex, 8);
    snprintf(id, sizeof(id), "bench-%s", hex);
    struct cgroup *cg = NULL;
    uint64_t t0 = now_mono_ns();
    int r = cgroup_create(spec, id, state_dir, &cg, NULL);
    uint64_t t1 = now_mono_ns();
    if (r < 0)
        return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return 0;
    /* as the lead starts a sandbox: clone3 into the unified group where there is one */
    struct clone_args ca = {.exit_signal = SIGCHLD};
    if (cgroup_clone_fd(cg) >= 0) {
        ca.flags = CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cgroup_clone_fd(cg);
    }
    pid_t c = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (c < 0)
        return 0;
    if (ca.flags)
        cgroup_mark_cloned_into(cg);
    if (c == 0) {
        char ch;
        close(p[1]);
        while (read(p[0], &ch, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[0]);
    uint64_t t2 = now_mono_ns();
    r = cgroup_attach(cg, c, NULL);
    uint64_t t3 = now_mono_ns();
    close(p[1]);
    waitpid(c, NULL, 0);
    uint64_t t4 = now_mono_ns();
    cgroup_destroy(cg);
    uint64_t t5 = now_mono_ns();
    bench_parts[0] = t1 - t0;
    bench_parts[1] = t3 - t2;
    bench_parts[2] = t5 - t4;
    return r < 0 ? 0 : bench_parts[0] + bench_parts[1] + bench_parts[2];
}

static void bench_spec(const char *name, struct hutch_spec *spec, const char *state_dir)
{
    uint64_t v[200], part[3][200];
    for (int i = 0; i < 200; i++) {
        if (!(v[i] = bench_one(spec, state_dir))) {
            fprintf(stderr, "bench %s: create/attach failed\n", name);
            return;
        }
        for (int k = 0; k < 3; k++)
            part[k][i] = bench_parts[k];
    }
    qsort(v, 200, sizeof(v[0]), cmp_u64);
    for (int k = 0; k < 3; k++)
        qsort(part[k], 200, sizeof(v[0]), cmp_u64);
    printf("%-28s p50 %6.3f ms  p90 %6.3f ms  (create+attach+destroy, 200 runs; p50 create "
           "%.3f, attach %.3f, destroy %.3f)\n",
           name, v[100] / 1e6, v[180] / 1e6, part[0][100] / 1e6, part[1][100] / 1e6,
           part[2][100] / 1e6);
}

/* libcgroup's cgroup_init() on its first call in a fresh process (what a `hutch run` pays). */
static void bench_libcgroup_init(void)
{
    uint64_t v[50];
    for (int i = 0; i < 50; i++) {
        int p[2];
        if (pipe(p) < 0)
            return;
        pid_t c = fork();
        if (c == 0) {
            uint64_t t0 = now_mono_ns();
            int r = cgroup_init();
            uint64_t d = r == 0 ? now_mono_ns() - t0 : 0;
            _exit(write(p[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
        }
        close(p[1]);
        if (read(p[0], &v[i], sizeof(v[i])) != sizeof(v[i]))
            v[i] = 0;
        close(p[0]);
        waitpid(c, NULL, 0);
    }
    qsort(v, 50, sizeof(v[0]), cmp_u64);
    printf("%-28s p50 %7.3f ms  p90 %7.3f ms  (first call in a process, 50 runs)\n",
           "libcgroup cgroup_init()", v[25] / 1e6, v[45] / 1e6);
}

static int bench(void)
{
    char dir[] = "/run/hutch-cgbench-XXXXXX"; /* HUTCH_RUN's default: a tmpfs */
    if (!mkdtemp(dir))
        return 1;
    struct hutch_spec *plain = NULL, *limits = NULL;
    hutch_spec_new(&plain);
    hutch_spec_new(&limits);
    spec_set(limits, "memory", "256M", NULL);
    spec_set(limits, "cpus", "0.5", NULL);
    spec_set(limits, "cpuset-cpus", "0", NULL);
    bench_spec("default spec (pids 1024)", plain, dir);
    bench_spec("memory+cpus+cpuset limits", limits, dir);
    bench_libcgroup_init();
    hutch_spec_free(plain);
    hutch_spec_free(limits);
    rm_tree_at(AT_FDCWD, dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench();
    /* grandchildren of the tests get reparented to us, so the tests can reap and check them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest host[] = {
        cmocka_unit_test(test_root_required),
        cmocka_unit_test(test_mode_detection_matches_mounts),
        cmocka_unit_test(test_shares_weight_conversion),
    };
    /* parent checks that only a pure v2 host has (tools/vmtest runs them) */
    const struct CMUnitTest v2_only[] = {
        T(test_v2_parent_with_processes_is_refused),
        T(test_v2_undelegated_controller_is_named),
    };
    /* run on the host's layout, and on a hybrid host once more on its v1 hierarchies alone */
    const struct CMUnitTest tests[] = {
        T(test_create_writes_limits),
        T(test_default_spec_groups),
        T(test_attach_puts_child_in_every_group),
        T(test_attach_skips_group_cloned_into),
        T(test_oom_kill_is_detected),
        T(test_kill_all_kills_child_and_grandchild),
        T(test_kill_all_through_freezer),
        T(test_stats_after_busy_child),
        T(test_destroy_leaves_nothing),
        T(test_destroy_kills_leftovers),
        T(test_failure_midway_leaves_nothing),
        T(test_existing_group_is_not_adopted),
        T(test_cgroup_parent_is_created),
        T(test_gc_cleans_recorded_groups),
        T(test_gc_refuses_foreign_paths),
    };
    enum cgroup_mode mode = 0;
    int failed = cmocka_run_group_tests_name("cgroup: host", host, NULL, NULL);
    failed += cmocka_run_group_tests_name("cgroup: host layout", tests, NULL, NULL);
    if (cgroup_detect_mode(&mode) == 0 && mode == CGROUP_MODE_V2)
        failed += cmocka_run_group_tests_name("cgroup: pure v2", v2_only, NULL, NULL);
    if (mode == CGROUP_MODE_HYBRID) {
        test_mode = CGROUP_MODE_V1;
        failed += cmocka_run_group_tests_name("cgroup: v1 hierarchies alone", tests, NULL, NULL);
    }
    return failed;
}
