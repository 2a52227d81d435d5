/* SPDX-License-Identifier: MIT */
/*
 * Ending a sandbox's cgroups (cgroup.h): kill every process (cgroup.kill, else freeze + SIGKILL +
 * thaw until empty), signal them all, destroy the groups (rmdir with retries) and gc the groups
 * a state directory recorded. Layout, placement, attach and events are in cgroup.c.
 */
#include "cgroup.h"

#include "cgroup_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- kill */

static void sleep_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Send sig to every pid in dirfd's cgroup.procs but except; the number still there (signalled,
 * or refused for another reason than being gone), or -errno. */
static int procs_signal(int dirfd, int sig, pid_t except)
{
    _cleanup_free_ char *s = NULL;
    int r = read_file_at(dirfd, "cgroup.procs", &s, NULL, 16 << 20);
    if (r < 0)
        return r;
    int n = 0;
    for (char *p = s, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid <= 0 || pid == except)
            continue;
        if (kill((pid_t)pid, sig) == 0 || errno != ESRCH)
            n++; /* (EPERM should not happen as root: keep looping) */
    }
    return n;
}

/* SIGKILL every pid in cgroup.procs; the number seen, or -errno. */
static int procs_kill(int dirfd)
{
    return procs_signal(dirfd, SIGKILL, 0);
}

enum freezer { FREEZER_NONE, FREEZER_V2, FREEZER_V1 };

/* Freeze (or thaw) and wait, bounded (100 ms), until the kernel says it is done. */
static void freezer_set(int dirfd, enum freezer kind, bool on)
{
    char buf[256];
    if (kind == FREEZER_NONE)
        return;
    const char *file = kind == FREEZER_V2 ? "cgroup.freeze" : "freezer.state";
    const char *val = kind == FREEZER_V2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
    if (write_file_at(dirfd, file, val) < 0 || !on)
        return;
    for (int i = 0; i < 500; i++) {
        uint64_t frozen = 0;
        if (kind == FREEZER_V2 && cgroup_read_key(dirfd, "cgroup.events", "frozen", &frozen) < 0)
            return;
        if (kind == FREEZER_V2 && frozen)
            return;
        _cleanup_close_ int fd =
            kind == FREEZER_V1 ? openat(dirfd, "freezer.state", O_RDONLY | O_CLOEXEC) : -1;
        if (kind == FREEZER_V1 &&
            (fd < 0 || cgroup_pread_small(fd, buf, sizeof(buf)) < 0 ||
             strncmp(buf, "FROZEN", 6) == 0))
            return;
        sleep_us(200);
    }
}

/*
 * Kill everything in the group open at dirfd: cgroup.kill where the kernel has it (5.14+,
 * the unified hierarchy even without controllers; grandchildren included, no race with fork).
 * Else freeze so nothing can fork while we read cgroup.procs, SIGKILL each pid, thaw (v1
 * frozen tasks only die once thawed), and loop until the group is empty (bounded ~1 s).
 */
static int dir_kill_all(int dirfd, bool kill_file)
{
    if (kill_file && write_file_at(dirfd, "cgroup.kill", "1") == 0)
        return 0;
    enum freezer kind = cgroup_file_exists(dirfd, "cgroup.freeze")   ? FREEZER_V2
                        : cgroup_file_exists(dirfd, "freezer.state") ? FREEZER_V1
                                                                     : FREEZER_NONE;
    uint64_t deadline = now_mono_ns() + 1000000000ull;
    for (;;) {
        freezer_set(dirfd, kind, true);
        int n = procs_kill(dirfd);
        freezer_set(dirfd, kind, false);
        if (n <= 0)
            return n;
        if (now_mono_ns() > deadline)
            return -EBUSY;
        sleep_us(1000);
    }
}

int cgroup_kill_all(struct cgroup *cg)
{
    if (!cg)
        return 0;
    if (cg->no_kill_file) { /* tests: the path kernels before 5.14 take */
        int fd = cg->unified >= 0 ? cg->dirs[cg->unified].fd : cgroup_ctrl_fd(cg, CG_FREEZER);
        return fd >= 0 ? dir_kill_all(fd, false) : -ENOENT;
    }
    /* every sandbox process is in every hierarchy: one group is enough; the unified one has
     * cgroup.kill, else the v1 freezer lets us kill without a fork race */
    int fd = cg->unified >= 0 ? cg->dirs[cg->unified].fd : cgroup_ctrl_fd(cg, CG_FREEZER);
    for (int i = 0; fd < 0 && i < cg->ndirs; i++)
        fd = cg->dirs[i].fd;
    return fd >= 0 ? dir_kill_all(fd, true) : 0;
}

int cgroup_signal_all(struct cgroup *cg, int sig, pid_t except)
{
    if (!cg)
        return 0;
    int fd = cg->unified >= 0 ? cg->dirs[cg->unified].fd : cgroup_ctrl_fd(cg, CG_PIDS);
    for (int i = 0; fd < 0 && i < cg->ndirs; i++)
        fd = cg->dirs[i].fd;
    return fd < 0 ? -ENOENT : procs_signal(fd, sig, except);
}

/* ---------------------------------------------------------------- destroy, gc */

/* rmdir, retrying while the kernel still holds the group (exiting tasks, css teardown):
 * 0.5 ms doubling to 64 ms, about 1 s in all; leftovers are killed after the first EBUSY. */
static int dir_remove(const char *path)
{
    long wait_us = 500, waited = 0;
    for (int tries = 0;; tries++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || waited >= 1000000)
            return -errno;
        if (tries == 0) {
            _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0)
                dir_kill_all(fd, true);
        }
        sleep_us(wait_us);
        waited += wait_us;
        wait_us = wait_us < 64000 ? wait_us * 2 : wait_us;
    }
}

void cgroup_destroy(struct cgroup *cg)
{
    if (!cg)
        return;
    close_fd(&cg->epfd);
    close_fd(&cg->events_fd);
    close_fd(&cg->oom_fd);
    close_fd(&cg->oom_ctl_fd);
    bool left = false;
    for (int i = cg->ndirs - 1; i >= 0; i--) {
        struct cgroup_dir *d = &cg->dirs[i];
        close_fd(&d->fd);
        if (d->created && dir_remove(d->path) < 0)
            left = true; /* keep the record: gc retries */
        free(d->path);
    }
    if (cg->record && !left)
        unlink(cg->record);
    free(cg->record);
    free(cg);
}

/* A recorded path is only acted on if it is a hutch-* group inside a cgroup filesystem: the
 * record lives in a state directory, and gc must not become an rmdir-anything tool. */
static bool gc_path_ok(const char *path)
{
    const char *base = strrchr(path, '/');
    return strncmp(path, CGROUP_ROOT "/", strlen(CGROUP_ROOT "/")) == 0 && base &&
           strncmp(base, "/hutch-", 7) == 0 && !strstr(path, "/../") &&
           (cgroup_is_fs(path, CGROUP_SUPER_MAGIC) || cgroup_is_fs(path, CGROUP2_SUPER_MAGIC));
}

int cgroup_gc(const char *state_dir, struct hutch_error **err)
{
    _cleanup_free_ char *rec = NULL, *text = NULL;
    if (asprintf(&rec, "%s/cgroups", state_dir) < 0)
        return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
    int r = read_file_at(AT_FDCWD, rec, &text, NULL, 1 << 20);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return hutch_err(err, r, "read", rec, "%s", strerror(-r));
    int ret = 0;
    for (char *save = NULL, *p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
        if (!gc_path_ok(p))
            continue; /* gone already, or not a group of ours */
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
            dir_kill_all(fd, true);
        if ((r = dir_remove(p)) < 0)
            ret = hutch_err(err, r, "rmdir", p, "cannot remove the cgroup: %s", strerror(-r));
    }
    if (ret == 0 && unlink(rec) < 0 && errno != ENOENT)
        ret = hutch_err_sys(err, "unlink", rec);
    return ret;
}
