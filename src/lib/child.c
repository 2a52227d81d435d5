/* SPDX-License-Identifier: MIT */
/*
 * The child's story, in order: wait for the parent → mounts → pivot_root → hostname → network
 * inside → (fork the workload under hutch's init) → stdio → rlimits → creds → caps →
 * no_new_privs → seccomp → close fds → execve. Errors travel to the parent as sync frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "creds.h"
#include "net.h"
#include "rootfs.h"
#include "sandbox.h"
#include "seccomp.h"
#include "sync.h"

/* Run one setup step, time it, report it; on failure report the step and die. */
#define CHILD_STEP(name, expr)                                                                    \
    ({                                                                                            \
        uint64_t t0_ = now_mono_ns();                                                             \
        int r_ = (expr);                                                                          \
        if (r_ < 0)                                                                               \
            child_fail_or_die(sync_fd, r_, name, &ce);                                            \
        sync_send_phase(sync_fd, name, now_mono_ns() - t0_);                                      \
        r_;                                                                                       \
    })

__attribute__((noreturn)) static void child_fail_or_die(int sync_fd, int r, const char *step,
                                                        struct cerr *ce)
{
    sync_send_error(sync_fd, r, HUTCH_EXIT_INTERNAL, "%s: %s", step,
                    ce->msg[0] ? ce->msg : strerror(-r));
    _exit(HUTCH_EXIT_INTERNAL);
}

/* The workload's error channel is a pipe: the frame goes out with write(). */
__attribute__((noreturn)) static void launch_fail(int exec_w, int err, int status,
                                                  const char *fmt, ...)
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
    if (write(exec_w, &m, sizeof(m)) < 0) {
        /* nothing else to tell */
    }
    _exit(status);
}

static const char *env_get(char *const *env, const char *key)
{
    size_t n = strlen(key);
    for (; env && *env; env++)
        if (!strncmp(*env, key, n) && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* execvpe with the sandbox's PATH; returns only on failure with the status to use. */
static int exec_command(char *const *argv, char *const *env, int *err_out)
{
    const char *cmd = argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, argv, env);
        *err_out = errno;
        return errno == ENOENT || errno == ENOTDIR ? HUTCH_EXIT_NOT_FOUND
                                                   : HUTCH_EXIT_NOT_EXECUTABLE;
    }
    const char *path = env_get(env, "PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int seen_eacces = 0, last = ENOENT;
    char buf[PATH_MAX];
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int len = (int)(end - p);
        if (snprintf(buf, sizeof(buf), "%.*s/%s", len, len ? p : ".", cmd) < (int)sizeof(buf)) {
            execve(buf, argv, env);
            if (errno == EACCES)
                seen_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR)
                last = errno;
        }
        if (!*end)
            break;
        p = end;
    }
    *err_out = seen_eacces ? EACCES : last;
    return (seen_eacces || last != ENOENT) ? HUTCH_EXIT_NOT_EXECUTABLE : HUTCH_EXIT_NOT_FOUND;
}

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL); /* SIG_IGN would survive execve */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Move fds onto 0, 1, 2 even when some sources already sit on those numbers. */
static int setup_stdio(int in, int out, int err)
{
    int src[3] = {in, out, err};
    for (int i = 0; i < 3; i++)
        if ((src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
            return -errno;
    for (int i = 0; i < 3; i++)
        if (dup2(src[i], i) < 0)
            return -errno;
    for (int i = 0; i < 3; i++)
        close(src[i]);
    return 0;
}

static int set_rlimits(void)
{
    struct rlimit core = {0, 0}, nofile;
    if (setrlimit(RLIMIT_CORE, &core) < 0)
        return -errno;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        /* a bounded fd table by default: enough for compilers and test runners */
        rlim_t cap = 1048576;
        if (nofile.rlim_max == RLIM_INFINITY || nofile.rlim_max > cap)
            nofile.rlim_max = cap;
        nofile.rlim_cur = nofile.rlim_max < 65536 ? nofile.rlim_max : 65536;
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
            return -errno;
    }
    return 0;
}

/* --bare: the caller's credentials and capabilities as they are (or --user's, by the usual
 * rules), no filter, no no_new_privs; it dies with init, which dies with hutch. */
__attribute__((noreturn)) static void launch_bare(struct hutch_sandbox *sb, int exec_w)
{
    struct sandbox_plan *p = &sb->plan;
    int r = set_rlimits();
    if (r < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "rlimits: %s", strerror(-r));
    if (!p->keep_creds && (r = creds_apply(p->uid, p->gid, p->groups, p->ngroups)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "set user %u:%u: %s", (unsigned)p->uid,
                    (unsigned)p->gid, strerror(-r));
    /* the uid change keeps the capabilities creds_apply holds on to: drop them as setuid would */
    if (!p->keep_creds && p->uid != 0 && (r = caps_apply(p->uid, 0, 0)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "capabilities: %s", strerror(-r));
    /* after the uid change, which clears it */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "pdeathsig: %s", strerror(errno));
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "close fds: %s", strerror(errno));
    umask(022);
    int e = 0;
    int status = exec_command(p->argv, p->env, &e);
    launch_fail(exec_w, e, status, "%s: %s", p->argv[0],
                status == HUTCH_EXIT_NOT_FOUND ? "command not found" : strerror(e));
}

/* The workload's half: launch. Never returns. */
__attribute__((noreturn)) static void launch(struct hutch_sandbox *sb, int exec_w, int in,
                                             int out, int err, bool tty)
{
    struct sandbox_plan *p = &sb->plan;
    reset_signals();
    if (setsid() < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "setsid: %s", strerror(errno));
    if (tty && ioctl(in, TIOCSCTTY, 0) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "controlling terminal: %s",
                    strerror(errno));
    int r = setup_stdio(in, out, err);
    if (r < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "stdio: %s", strerror(-r));
    const char *wd = p->workdir ? p->workdir : "/";
    if (chdir(wd) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "working directory %s: %s", wd,
                    strerror(errno));
    if (sb->spec->bare)
        launch_bare(sb, exec_w);
    /* a cwd outside the new root (a leaked host directory fd, CVE-2024-21626) has no path */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
        launch_fail(exec_w, EPERM, HUTCH_EXIT_INTERNAL,
                    "working directory %s is outside the sandbox's root", wd);
    if ((r = set_rlimits()) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "rlimits: %s", strerror(-r));
    /* without no_new_privs the kernel takes a filter only from CAP_SYS_ADMIN: load it while we
     * still hold it (the profile must then allow the few calls that follow, as runc's must) */
    if (!p->no_new_privs && p->seccomp && (r = seccomp_load_prog(p->seccomp)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "seccomp: %s", strerror(-r));
    /* bounding set first: dropping needs CAP_SETPCAP, which the uid change may take away */
    if ((r = caps_drop_bounding(p->caps)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "capability bounding set: %s", strerror(-r));
    if ((r = creds_apply(p->uid, p->gid, p->groups, p->ngroups)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "set user %u:%u: %s", (unsigned)p->uid,
                    (unsigned)p->gid, strerror(-r));
    if ((r = caps_apply(p->uid, p->caps, p->caps_ambient)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "capabilities: %s", strerror(-r));
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "no_new_privs: %s", strerror(errno));
    /* every fd but 0, 1, 2 is closed by execve; the exec pipe reports failures until then */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        launch_fail(exec_w, errno, HUTCH_EXIT_INTERNAL, "close fds: %s", strerror(errno));
    umask(022);
    /* seccomp last: hutch's own setup above is not constrained by the workload's filter, and
     * nothing after it but execve can loosen anything */
    if (p->no_new_privs && p->seccomp && (r = seccomp_load_prog(p->seccomp)) < 0)
        launch_fail(exec_w, r, HUTCH_EXIT_INTERNAL, "seccomp: %s", strerror(-r));
    int e = 0;
    int status = exec_command(p->argv, p->env, &e);
    launch_fail(exec_w, e, status, "%s: %s", p->argv[0],
                status == HUTCH_EXIT_NOT_FOUND ? "command not found" : strerror(e));
}

/* -t: a pty from the sandbox's own devpts; the master goes to the supervisor. */
static int open_pty(int sync_fd, int *slave_out, struct cerr *ce)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        snprintf(ce->msg, sizeof(ce->msg), "open /dev/ptmx: %s", strerror(errno));
        return -errno;
    }
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) {
        snprintf(ce->msg, sizeof(ce->msg), "open the pty slave: %s", strerror(errno));
        return -errno;
    }
    struct sync_msg m;
    memset(&m, 0, sizeof(m));
    m.type = SYNC_PTY;
    int r = sync_send(sync_fd, &m, master, 0);
    close(master);
    *slave_out = slave;
    return r;
}

/* Before GO, with --userns, the parent may send the layers' idmapped mounts (SYNC_IDMAP): kept
 * in the slots it allocated for them; all of them or none make the layers idmapped. */
static int wait_for_go(struct sandbox_plan *p, int sync_fd)
{
    int got = 0;
    for (;;) {
        struct sync_msg m;
        int fds[SYNC_MAX_FDS], n = 0;
        if (sync_recv_fds(sync_fd, &m, fds, SYNC_MAX_FDS, &n) != 1)
            return -EPROTO;
        if (m.type == SYNC_GO) {
            p->idmapped = p->nheld_fds > 0 && got == p->nheld_fds;
            return 0;
        }
        if (m.type != SYNC_IDMAP || m.b != (uint64_t)n || m.a > (uint64_t)p->nheld_fds ||
            (uint64_t)n > (uint64_t)p->nheld_fds - m.a) {
            for (int i = 0; i < n; i++)
                close(fds[i]);
            return -EPROTO;
        }
        for (int i = 0; i < n; i++) {
            if (p->held_fds[m.a + (uint64_t)i] >= 0)
                return -EPROTO;
            p->held_fds[m.a + (uint64_t)i] = fds[i];
        }
        got += n;
    }
}

__attribute__((noreturn)) static void child_launch(struct hutch_sandbox *sb, int sync_fd,
                                                   int exec_w, int out_w, int err_w, int stdin_fd);

__attribute__((noreturn)) void child_main(struct hutch_sandbox *sb, int sync_fd, int exec_w,
                                          int out_w, int err_w, int stdin_fd)
{
    struct cerr ce = {{0}};
    /* die with the supervisor; keep /proc/1 of the sandbox (and its exe) out of reach */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(0);
    /* wait until the parent has put us in our cgroups and network: nothing runs before */
    if (wait_for_go(&sb->plan, sync_fd) < 0)
        _exit(HUTCH_EXIT_INTERNAL);
    /* into the v1 groups before anything else runs: a task moving itself is cheap (see
     * cgroup.h); the unified group already holds us (CLONE_INTO_CGROUP) or the parent did it */
    CHILD_STEP("cgroup.join", cgroup_child_attach(sb->cg));
    /* the network namespace first: sysfs shows the one current when it is mounted */
    if (sb->spec->bare) {
        /* a host process: no mounts, no root change; init adopts what the workload orphans */
        CHILD_STEP("subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0);
        child_launch(sb, sync_fd, exec_w, out_w, err_w, stdin_fd);
    }
    CHILD_STEP("net.inside", net_child_setup(sb->net));

    if (sb->plan.userns) {
        /* still the host's root here: open what the namespace's root could not search */
        CHILD_STEP("userns.hold", rootfs_hold_paths(sb, &ce));
        CHILD_STEP("userns.root", userns_child_setup(&sb->plan.umap));
    }
    int rootfd = CHILD_STEP("mount.rootfs", rootfs_mount_root(sb, &ce));
    CHILD_STEP("mount.check", rootfs_check_special_dirs(rootfd, &ce));
    CHILD_STEP("mount.proc", rootfs_mount_proc(sb, rootfd, &ce));
    int nullfd = CHILD_STEP("mount.dev", rootfs_mount_dev(sb, rootfd, &ce));
    CHILD_STEP("mount.sys", rootfs_mount_sys(sb, rootfd, &ce));
    CHILD_STEP("mount.masks", rootfs_mask_paths(sb, rootfd, nullfd, &ce));
    CHILD_STEP("mount.user", rootfs_mount_user(sb, rootfd, &ce));
    CHILD_STEP("mount.files", rootfs_write_files(sb, rootfd, &ce));
    CHILD_STEP("pivot_root", rootfs_pivot(sb, rootfd, &ce));
    close(rootfd);
    close(nullfd);
    if (!sb->spec->host_uts)
        CHILD_STEP("hostname", sethostname(sb->plan.hostname, strlen(sb->plan.hostname)) < 0
                                   ? -errno
                                   : 0);
    /* --pid host: init adopts what the workload orphans, as --bare's does */
    if (!sb->plan.pidns)
        CHILD_STEP("subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0);
    child_launch(sb, sync_fd, exec_w, out_w, err_w, stdin_fd);
}

/* stdio (or a terminal), then the workload: as pid 1, or forked under hutch's init. */
__attribute__((noreturn)) static void child_launch(struct hutch_sandbox *sb, int sync_fd,
                                                   int exec_w, int out_w, int err_w, int stdin_fd)
{
    struct cerr ce = {{0}};
    int in = stdin_fd, out = out_w, err = err_w;
    bool tty = sb->spec->tty;
    if (tty) {
        int slave = -1;
        CHILD_STEP("tty", open_pty(sync_fd, &slave, &ce));
        in = out = err = slave;
    } else if (in < 0) {
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0)
            child_fail_or_die(sync_fd, -errno, "stdin", &ce);
    }
    if (!sb->spec->init) {
        sync_send_type(sync_fd, SYNC_READY, 1);
        launch(sb, exec_w, in, out, err, tty);
    }
    /* block every signal before fork: init collects them with sigwaitinfo, none is lost */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t pid = fork();
    if (pid < 0)
        child_fail_or_die(sync_fd, -errno, "fork the workload", &ce);
    if (pid == 0) {
        close(sync_fd);
        launch(sb, exec_w, in, out, err, tty);
    }
    struct sync_msg ready;
    memset(&ready, 0, sizeof(ready));
    ready.type = SYNC_READY;
    ready.a = (uint64_t)pid;
    sync_send(sync_fd, &ready, -1, pid); /* SCM_CREDENTIALS: the parent sees the host pid */
    init_main(sync_fd, pid, sb->plan.pidns);
}
