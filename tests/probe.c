/* SPDX-License-Identifier: MIT */
/*
 * probe - a multi-call test program that runs inside hutch sandboxes (in the spirit of crun's
 * tests/init.c and bubblewrap's try-syscall.c). Static, no dependencies, one file.
 *
 *   probe CMD [ARGS...]
 *
 * Output is made to be asserted on with grep: one fact per line, "key: value". Commands that
 * attempt something print "NAME: OK" or "NAME: ERRNO" (e.g. "mount: EPERM") and exit 0 on
 * success, 1 when the attempt failed. Usage errors exit 2. `probe help` lists the commands.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

/* every command has the same signature; most ignore their arguments */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Print "what: OK" or "what: ERRNO" and turn it into the exit status. r is 0 or -errno. */
static int report(const char *what, int r)
{
    if (r >= 0)
        printf("%s: OK\n", what);
    else
        printf("%s: %s\n", what, errname(-r));
    fflush(stdout);
    return r >= 0 ? 0 : 1;
}

static int neg_errno(long r)
{
    return r < 0 ? -errno : 0;
}

static int usage(const char *msg)
{
    fprintf(stderr, "probe: %s (try: probe help)\n", msg);
    return 2;
}

static int write_all_fd(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int print_file(const char *path)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report(path, -errno);
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        write_all_fd(1, buf, (size_t)n);
    int e = n < 0 ? errno : 0;
    close(fd);
    return e ? report(path, -e) : 0;
}

/* ------------------------------------------------------------------ identity and state */

static int cmd_caps(int argc, char **argv)
{
    static const char *const keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd",
                                       "CapAmb", "NoNewPrivs", "Seccomp"};
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return report("/proc/self/status", -errno);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            if (strcmp(line, keys[i]))
                continue;
            char *v = colon + 1;
            v += strspn(v, " \t");
            printf("%s: %s", line, v); /* v ends with its newline */
        }
    }
    fclose(f);
    return 0;
}

/* Lists open fds as "N TARGET", leaving out the directory fd used for the listing. */
static int cmd_fds(int argc, char **argv)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return report("/proc/self/fd", -errno);
    int self = dirfd(d);
    int fds[1024], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 1024) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd != self)
            fds[n++] = fd;
    }
    for (int i = 0; i < n; i++) { /* insertion sort: readdir order is not numeric */
        for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    }
    for (int i = 0; i < n; i++) {
        char p[64], target[PATH_MAX];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fds[i]);
        ssize_t l = readlinkat(dirfd(d), p + strlen("/proc/self/fd/"), target, sizeof(target) - 1);
        target[l < 0 ? 0 : l] = '\0';
        printf("%d %s\n", fds[i], l < 0 ? errname(errno) : target);
    }
    closedir(d);
    return 0;
}

static int cmd_pid(int argc, char **argv)
{
    printf("pid: %d\nppid: %d\n", (int)getpid(), (int)getppid());
    return 0;
}

static int cmd_ids(int argc, char **argv)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("uid: %u\neuid: %u\nsuid: %u\ngid: %u\negid: %u\nsgid: %u\ngroups:", r, e, s, gr, ge,
           gs);
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        printf(" %u", groups[i]);
    printf("\n");
    return 0;
}

static int cmd_hostname(int argc, char **argv)
{
    struct utsname u;
    if (uname(&u) < 0)
        return report("uname", -errno);
    printf("%s\n", u.nodename);
    return 0;
}

static int cmd_mounts(int argc, char **argv)
{
    return print_file("/proc/self/mountinfo");
}

/* "NAME INODE" for each namespace of this process, e.g. "net 4026531840". */
static int cmd_ns(int argc, char **argv)
{
    static const char *const names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[64];
        struct stat st;
        snprintf(p, sizeof(p), "/proc/self/ns/%s", names[i]);
        if (stat(p, &st) < 0)
            printf("%s %s\n", names[i], errname(errno));
        else
            printf("%s %llu\n", names[i], (unsigned long long)st.st_ino);
    }
    return 0;
}

/* Interfaces from /proc/net/dev with their state: "lo UP" or "eth0 DOWN". */
static int cmd_netdev(int argc, char **argv)
{
    FILE *f = fopen("/proc/net/dev", "re");
    if (!f)
        return report("/proc/net/dev", -errno);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *name = line + strspn(line, " ");
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        const char *state = "?";
        if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
            state = (ifr.ifr_flags & IFF_UP) ? "UP" : "DOWN";
        printf("%s %s\n", name, state);
    }
    if (s >= 0)
        close(s);
    fclose(f);
    return 0;
}

static int cmd_tty(int argc, char **argv)
{
    for (int fd = 0; fd < 3; fd++) {
        char *n = ttyname(fd);
        printf("fd%d: %s\n", fd, n ? n : "not a tty");
    }
    return 0;
}

static int cmd_cwd(int argc, char **argv)
{
    char p[PATH_MAX];
    if (!getcwd(p, sizeof(p)))
        return report("getcwd", -errno);
    printf("%s\n", p);
    return 0;
}

static int cmd_dumpable(int argc, char **argv)
{
    printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
    return 0;
}

static const struct {
    const char *name;
    int res;
} rlimits[] = {
    {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},       {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"memlock", RLIMIT_MEMLOCK}, {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},     {"stack", RLIMIT_STACK},   {"as", RLIMIT_AS},
};

/* "NAME SOFT HARD" per limit, "unlimited" spelled out. */
static int cmd_rlimits(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
        struct rlimit rl;
        if (getrlimit(rlimits[i].res, &rl) < 0)
            continue;
        char a[32], b[32];
        snprintf(a, sizeof(a), "%llu", (unsigned long long)rl.rlim_cur);
        snprintf(b, sizeof(b), "%llu", (unsigned long long)rl.rlim_max);
        printf("%s %s %s\n", rlimits[i].name, rl.rlim_cur == RLIM_INFINITY ? "unlimited" : a,
               rl.rlim_max == RLIM_INFINITY ? "unlimited" : b);
    }
    return 0;
}

/* ------------------------------------------------------------------ files */

static int cmd_write(int argc, char **argv)
{
    if (argc < 3)
        return usage("write FILE DATA");
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int r = fd < 0 ? -errno : write_all_fd(fd, argv[2], strlen(argv[2]));
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    return report("write", r);
}

/* Open for writing without creating or truncating (e.g. /proc/1/exe, /proc/sysrq-trigger). */
static int cmd_open_write(int argc, char **argv)
{
    if (argc < 2)
        return usage("open-write PATH");
    int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    int r = fd < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    return report("open-write", r);
}

/* Read a file to its end: "read: OK N" with N the byte count, or "read: EACCES". */
static int cmd_read(int argc, char **argv)
{
    if (argc < 2)
        return usage("read PATH");
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return report("read", -errno);
    char buf[65536];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0 && total < (64ull << 20))
        total += (unsigned long long)n;
    int e = n < 0 ? errno : 0;
    close(fd);
    if (e)
        return report("read", -e);
    printf("read: OK %llu\n", total);
    return 0;
}

static int cmd_readlink(int argc, char **argv)
{
    if (argc < 2)
        return usage("readlink PATH");
    char t[PATH_MAX];
    ssize_t n = readlink(argv[1], t, sizeof(t) - 1);
    if (n < 0)
        return report("readlink", -errno);
    t[n] = '\0';
    printf("readlink: OK %s\n", t);
    return 0;
}

/* "stat: OK type=dir mode=1777 uid=0 gid=0 size=N dev=MAJ:MIN" */
static int cmd_stat(int argc, char **argv)
{
    if (argc < 2)
        return usage("stat PATH");
    struct stat st;
    if (lstat(argv[1], &st) < 0)
        return report("stat", -errno);
    const char *t = S_ISDIR(st.st_mode)    ? "dir"
                    : S_ISREG(st.st_mode)  ? "file"
                    : S_ISLNK(st.st_mode)  ? "symlink"
                    : S_ISCHR(st.st_mode)  ? "char"
                    : S_ISBLK(st.st_mode)  ? "block"
                    : S_ISFIFO(st.st_mode) ? "fifo"
                                           : "socket";
    printf("stat: OK type=%s mode=%o uid=%u gid=%u size=%lld rdev=%u:%u\n", t,
           (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid, (long long)st.st_size,
           major(st.st_rdev), minor(st.st_rdev));
    return 0;
}

/* "statfs: OK type=0x1021994 size=BYTES ro=0|1" */
static int cmd_statfs(int argc, char **argv)
{
    if (argc < 2)
        return usage("statfs PATH");
    struct statfs sf;
    if (statfs(argv[1], &sf) < 0)
        return report("statfs", -errno);
    printf("statfs: OK type=0x%lx size=%llu ro=%d\n", (unsigned long)sf.f_type,
           (unsigned long long)sf.f_blocks * (unsigned long long)sf.f_bsize,
           (sf.f_flags & ST_RDONLY) ? 1 : 0);
    return 0;
}

/* Directory entries without . and .., one per line, sorted. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(int argc, char **argv)
{
    if (argc < 2)
        return usage("ls DIR");
    DIR *d = opendir(argv[1]);
    if (!d)
        return report("ls", -errno);
    char *names[4096];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    return 0;
}

/* ------------------------------------------------------------------ process behaviour */

static int cmd_exit(int argc, char **argv)
{
    return argc < 2 ? usage("exit N") : atoi(argv[1]) & 255;
}

static int signal_from_name(const char *s)
{
    static const struct {
        const char *n;
        int sig;
    } t[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},
             {"ABRT", SIGABRT}, {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
             {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
             {"TERM", SIGTERM}, {"SYS", SIGSYS},   {"XCPU", SIGXCPU}};
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(s, t[i].n))
            return t[i].sig;
    int n = atoi(s);
    return n > 0 && n < 65 ? n : -1;
}

static int cmd_kill_self(int argc, char **argv)
{
    int sig = argc < 2 ? -1 : signal_from_name(argv[1]);
    if (sig < 0)
        return usage("kill-self SIG");
    /* no core dumps: a dumping signal must not leave a file or take long */
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
    for (;;)
        pause();
}

static void say_ready(void)
{
    write_all_fd(1, "ready\n", 6);
}

static int cmd_ignore_term_sleep(int argc, char **argv)
{
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    say_ready();
    for (;;)
        pause();
    return 0;
}

/* Print "ready" and wait for a signal with the default dispositions. */
static int cmd_wait(int argc, char **argv)
{
    say_ready();
    for (;;)
        pause();
    return 0;
}

/* Waits (bounded) until /proc/PID is gone; returns 1 if gone, 0 if still a zombie/alive. */
static int wait_gone(pid_t pid, char *state)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 10000; i++) { /* at most ~10 s */
        FILE *f = fopen(p, "re");
        if (!f)
            return 1;
        char buf[512];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        *state = rp && rp[1] == ' ' ? rp[2] : '?';
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/*
 * A grandchild that outlives its parent: it is reparented to the pid namespace's init (or the
 * nearest subreaper), then exits. Reports the new parent and whether the zombie was reaped.
 */
static int cmd_orphan(int argc, char **argv)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return report("pipe", -errno);
    pid_t child = fork();
    if (child < 0)
        return report("fork", -errno);
    if (child == 0) {
        pid_t parent = getpid();
        pid_t gc = fork();
        if (gc < 0)
            _exit(1);
        if (gc == 0) {
            for (int i = 0; i < 10000 && getppid() == parent; i++) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            int msg[2] = {(int)getpid(), (int)getppid()};
            write_all_fd(p[1], msg, sizeof(msg));
            _exit(0);
        }
        _exit(0);
    }
    close(p[1]);
    int st;
    waitpid(child, &st, 0);
    int msg[2];
    ssize_t n = read(p[0], msg, sizeof(msg));
    close(p[0]);
    if (n != (ssize_t)sizeof(msg))
        return report("orphan", -EIO);
    printf("orphan-ppid: %d\n", msg[1]);
    char state = '?';
    if (wait_gone(msg[0], &state)) {
        printf("orphan: reaped\n");
        return 0;
    }
    printf("orphan: not reaped (state %c)\n", state);
    return 1;
}

/* Write N bytes ("x" lines of 64) to stdout as fast as possible; "spam: done N" on stderr. */
static int cmd_spam(int argc, char **argv)
{
    if (argc < 2)
        return usage("spam N");
    unsigned long long total = strtoull(argv[1], NULL, 0), done = 0;
    static char buf[65536];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (i % 64 == 63) ? '\n' : 'x';
    while (done < total) {
        size_t n = total - done < sizeof(buf) ? (size_t)(total - done) : sizeof(buf);
        int r = write_all_fd(1, buf, n);
        if (r < 0)
            return report("spam", r);
        done += n;
    }
    fprintf(stderr, "spam: done %llu\n", done);
    return 0;
}

/* "€" (E2 82 AC) split across two writes, then a newline. */
static int cmd_utf8_split(int argc, char **argv)
{
    int r = write_all_fd(1, "a\xe2\x82", 3);
    r = r ?: write_all_fd(1, "\xac" "b\n", 3);
    return r ? report("utf8-split", r) : 0;
}

/*
 * N bytes of a cycle of 2-, 3- and 4-byte characters (é € 𝄞 = 9 bytes) written in chunks of
 * 4096 bytes, so that write (and so read) boundaries fall inside characters. N is rounded down
 * to whole cycles; a final newline is added.
 */
static int cmd_utf8_stream(int argc, char **argv)
{
    static const char cyc[] = "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
    size_t total = argc > 1 ? strtoul(argv[1], NULL, 0) : 90000;
    total -= total % 9;
    char *all = malloc(total + 1);
    if (!all)
        return report("utf8-stream", -ENOMEM);
    for (size_t i = 0; i < total; i += 9)
        memcpy(all + i, cyc, 9);
    all[total] = '\n';
    int r = 0;
    for (size_t off = 0; off < total + 1 && !r; off += 4096)
        r = write_all_fd(1, all + off, total + 1 - off < 4096 ? total + 1 - off : 4096);
    free(all);
    return r ? report("utf8-stream", r) : 0;
}

/* Bytes that are not UTF-8: FF FE 00 01 'a' 'b' C3 (truncated) '\n'. */
static int cmd_binary(int argc, char **argv)
{
    static const char b[] = {'\xff', '\xfe', '\0', '\x01', 'a', 'b', '\xc3', '\n'};
    int r = write_all_fd(1, b, sizeof(b));
    return r ? report("binary", r) : 0;
}

/* Write ARG to stdout and ARG2 to stderr with no buffering between them. */
static int cmd_out_err(int argc, char **argv)
{
    if (argc < 3)
        return usage("out-err STDOUT_TEXT STDERR_TEXT");
    write_all_fd(1, argv[1], strlen(argv[1]));
    write_all_fd(2, argv[2], strlen(argv[2]));
    return 0;
}

/* Read stdin to EOF: "stdin: N bytes" (an immediate EOF is "stdin: 0 bytes"). */
static int cmd_stdin(int argc, char **argv)
{
    char buf[65536];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof(buf))) > 0)
        total += (unsigned long long)n;
    if (n < 0)
        return report("stdin", -errno);
    printf("stdin: %llu bytes\n", total);
    return 0;
}

/* Touch N bytes of memory (for memory limits). */
static int cmd_alloc(int argc, char **argv)
{
    if (argc < 2)
        return usage("alloc BYTES");
    unsigned long long n = strtoull(argv[1], NULL, 0);
    for (unsigned long long done = 0; done < n; done += 1 << 20) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return report("alloc", -errno);
        memset(p, 1, 1 << 20);
    }
    return report("alloc", 0);
}

/* Fork up to N children that wait; "forks: K" with K the number that succeeded. */
static int cmd_forks(int argc, char **argv)
{
    if (argc < 2)
        return usage("forks N");
    int n = atoi(argv[1]), k = 0, err = 0;
    pid_t kids[4096];
    for (; k < n && k < 4096; k++) {
        pid_t c = fork();
        if (c < 0) {
            err = errno;
            break;
        }
        if (c == 0) {
            pause();
            _exit(0);
        }
        kids[k] = c;
    }
    printf("forks: %d%s%s\n", k, err ? " " : "", err ? errname(err) : "");
    fflush(stdout);
    for (int i = 0; i < k; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    return 0;
}

/* Burn CPU for MS milliseconds of CPU time. */
static int cmd_burn(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 100;
    volatile unsigned long x = 0;
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >= ms)
            break;
        for (int i = 0; i < 100000; i++)
            x += (unsigned long)i;
    }
    return 0;
}

/* Host side helper for the test harness: become a child subreaper, then exec CMD. */
static int cmd_subreaper(int argc, char **argv)
{
    if (argc < 2)
        return usage("subreaper CMD [ARGS...]");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return report("subreaper", -errno);
    execvp(argv[1], argv + 1);
    return report("exec", -errno);
}

/* ------------------------------------------------------------------ syscalls */

/* Each attempt returns 0 or -errno; arguments are chosen so that a success changes nothing
 * outside the sandbox that would matter (and, where the kernel checks privilege first, an
 * invalid argument after the check). */

static int sc_mount(const char *a)
{
    return neg_errno(mount("probe", a ? a : "/tmp", "tmpfs", 0, "size=16k"));
}
static int sc_umount2(const char *a)
{
    /* a directory that is not a mount point: EPERM without privilege, EINVAL with it */
    return neg_errno(umount2(a ? a : "/etc", 0));
}
static int sc_pivot_root(const char *a)
{
    return neg_errno(syscall(SYS_pivot_root, "/etc", "/etc"));
}
static int sc_chroot(const char *a)
{
    return neg_errno(chroot("/"));
}
static int unshare_flag(const char *a)
{
    static const struct {
        const char *n;
        int flag;
    } t[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"net", CLONE_NEWNET},
             {"pid", CLONE_NEWPID},   {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
             {"cgroup", CLONE_NEWCGROUP}, {"time", 0x80 /* CLONE_NEWTIME */}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(a, t[i].n))
            return t[i].flag;
    return 0;
}
static int sc_unshare(const char *a)
{
    int f = unshare_flag(a ? a : "user");
    return f ? neg_errno(unshare(f)) : -EINVAL;
}
static int sc_clone_newuser(const char *a)
{
    pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (p < 0)
        return -errno;
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return 0;
}
static int sc_setns(const char *a)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%s/ns/mnt", a ? a : "self");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = neg_errno(setns(fd, 0));
    close(fd);
    return r;
}
static int sc_keyctl(const char *a)
{
    return neg_errno(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1));
}
static int sc_add_key(const char *a)
{
    /* the process keyring dies with this process */
    return neg_errno(syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
}
static int sc_request_key(const char *a)
{
    return neg_errno(syscall(SYS_request_key, "user", "probe-none", NULL, KEY_SPEC_PROCESS_KEYRING));
}
static int sc_bpf(const char *a)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_perf_event_open(const char *a)
{
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof(pa));
    pa.size = sizeof(pa);
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_CPU_CLOCK;
    pa.disabled = 1;
    long fd = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_kexec_load(const char *a)
{
    /* an architecture that is not ours: EINVAL after the CAP_SYS_BOOT check, never a load */
    return neg_errno(syscall(SYS_kexec_load, 0, 0, NULL, 0x7fff0000ul));
}
static int sc_kexec_file_load(const char *a)
{
    return neg_errno(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xfffful));
}
static int sc_init_module(const char *a)
{
    return neg_errno(syscall(SYS_init_module, NULL, 0, ""));
}
static int sc_finit_module(const char *a)
{
    return neg_errno(syscall(SYS_finit_module, -1, "", 0));
}
static int sc_delete_module(const char *a)
{
    return neg_errno(syscall(SYS_delete_module, "probe_no_such_module", O_NONBLOCK));
}
static int sc_reboot(const char *a)
{
    /* a bad magic number: EINVAL after the CAP_SYS_BOOT check, never a reboot */
    return neg_errno(syscall(SYS_reboot, 0, 0, LINUX_REBOOT_CMD_CAD_OFF, NULL));
}
static int sc_swapon(const char *a)
{
    return neg_errno(syscall(SYS_swapon, "/probe-no-such-swap", 0));
}
static int sc_swapoff(const char *a)
{
    return neg_errno(syscall(SYS_swapoff, "/probe-no-such-swap"));
}
static int sc_settimeofday(const char *a)
{
    return neg_errno(syscall(SYS_settimeofday, NULL, NULL));
}
static int sc_clock_settime(const char *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* set to now: no visible change if it succeeds */
    return neg_errno(clock_settime(CLOCK_REALTIME, &ts));
}
static int sc_adjtimex(const char *a)
{
    struct timex tx;
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_TICK; /* tick 0 is invalid: EINVAL after the CAP_SYS_TIME check */
    return neg_errno(adjtimex(&tx));
}
static int sc_sethostname(const char *a)
{
    struct utsname u; /* set the current name again: no change if it succeeds */
    uname(&u);
    return neg_errno(sethostname(u.nodename, strlen(u.nodename)));
}
static int sc_open_by_handle_at(const char *a)
{
    struct {
        unsigned int bytes;
        int type;
        unsigned char h[8];
    } fh = {8, 1, {0}};
    long fd = syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_ptrace_attach(const char *a)
{
    pid_t pid = a ? atoi(a) : 1;
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
        return -errno;
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    return 0;
}
static int sc_process_vm_readv(const char *a)
{
    char buf[8];
    struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
    return neg_errno(syscall(SYS_process_vm_readv, a ? atoi(a) : 1, &l, 1, &r, 1, 0));
}
static int sc_mknod(const char *a)
{
    const char *p = a ? a : "/tmp/.probe-mknod";
    if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) < 0)
        return -errno;
    unlink(p);
    return 0;
}
static int sc_socket_raw(const char *a)
{
    int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (s >= 0)
        close(s);
    return neg_errno(s);
}
static int sc_socket_packet(const char *a)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s >= 0)
        close(s);
    return neg_errno(s);
}
static int sc_fsopen(const char *a)
{
    long fd = syscall(SYS_fsopen, a ? a : "tmpfs", 0);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_open_tree(const char *a)
{
    long fd = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_x32_getpid(const char *a)
{
    return neg_errno(syscall(__X32_SYSCALL_BIT | SYS_getpid));
}
static int sc_i386_getpid(const char *a)
{
#if defined(__x86_64__)
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* i386 getpid */
    return r < 0 ? (int)r : 0;
#else
    return -ENOSYS;
#endif
}
static int sc_ioctl_tiocsti(const char *a)
{
    char c = ' ';
    return neg_errno(ioctl(a ? atoi(a) : 0, TIOCSTI, &c));
}
static int sc_userfaultfd(const char *a)
{
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_io_uring_setup(const char *a)
{
    char params[120];
    memset(params, 0, sizeof(params));
    long fd = syscall(SYS_io_uring_setup, 1, params);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_iopl(const char *a)
{
    return neg_errno(syscall(SYS_iopl, 3));
}
static int sc_ioperm(const char *a)
{
    return neg_errno(syscall(SYS_ioperm, 0x80, 1, 1));
}
static int sc_syslog(const char *a)
{
    return neg_errno(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
}
static int sc_acct(const char *a)
{
    return neg_errno(syscall(SYS_acct, NULL)); /* turn accounting off: a no-op if it was off */
}
static int sc_personality(const char *a)
{
    /* ADDR_NO_RANDOMIZE: Docker's profile allows only a few personalities, not this one */
    return neg_errno(syscall(SYS_personality, 0x0040000));
}
static int sc_quotactl(const char *a)
{
    return neg_errno(syscall(SYS_quotactl, 0x800007 /* Q_SYNC */, NULL, 0, NULL));
}
static int sc_setuid0(const char *a)
{
    return neg_errno(setuid(0));
}
static int sc_chown_root(const char *a)
{
    return neg_errno(chown(a ? a : "/tmp", 0, 0));
}
static int sc_seccomp(const char *a)
{
    unsigned int action = 0x7fff0000u; /* SECCOMP_RET_ALLOW */
    return neg_errno(syscall(SYS_seccomp, 2 /* SECCOMP_GET_ACTION_AVAIL */, 0, &action));
}
static int sc_fanotify_init(const char *a)
{
    long fd = syscall(SYS_fanotify_init, 0, O_RDONLY);
    if (fd >= 0)
        close((int)fd);
    return neg_errno(fd);
}
static int sc_name_to_handle_at(const char *a)
{
    struct {
        unsigned int bytes;
        int type;
        unsigned char h[128];
    } fh = {128, 0, {0}};
    int mnt;
    return neg_errno(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mnt, 0));
}
static int sc_lookup_dcookie(const char *a)
{
#ifdef SYS_lookup_dcookie
    char buf[64];
    return neg_errno(syscall(SYS_lookup_dcookie, 0ull, buf, sizeof(buf)));
#else
    return -ENOSYS;
#endif
}
static int sc_vhangup(const char *a)
{
    return neg_errno(syscall(SYS_vhangup));
}
static int sc_mbind(const char *a)
{
    return neg_errno(syscall(SYS_mbind, NULL, 0, 0, NULL, 0, 0));
}
static int sc_clone3(const char *a)
{
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args = {0, 0, 0, 0, SIGCHLD, 0, 0, 0};
    long p = syscall(SYS_clone3, &args, sizeof(args));
    if (p < 0)
        return -errno;
    if (p == 0)
        _exit(0);
    waitpid((pid_t)p, NULL, 0);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const char *arg);
} syscalls[] = {
    {"mount", sc_mount},
    {"umount2", sc_umount2},
    {"pivot_root", sc_pivot_root},
    {"chroot", sc_chroot},
    {"unshare", sc_unshare}, /* unshare [user|mnt|net|pid|ipc|uts|cgroup|time] */
    {"unshare-user", NULL}, /* unshare-NS: handled in cmd_syscall, listed for help */
    {"clone-newuser", sc_clone_newuser},
    {"clone3", sc_clone3},
    {"setns", sc_setns},
    {"keyctl", sc_keyctl},
    {"add_key", sc_add_key},
    {"request_key", sc_request_key},
    {"bpf", sc_bpf},
    {"perf_event_open", sc_perf_event_open},
    {"kexec_load", sc_kexec_load},
    {"kexec_file_load", sc_kexec_file_load},
    {"init_module", sc_init_module},
    {"finit_module", sc_finit_module},
    {"delete_module", sc_delete_module},
    {"reboot", sc_reboot},
    {"swapon", sc_swapon},
    {"swapoff", sc_swapoff},
    {"settimeofday", sc_settimeofday},
    {"clock_settime", sc_clock_settime},
    {"adjtimex", sc_adjtimex},
    {"sethostname", sc_sethostname},
    {"open_by_handle_at", sc_open_by_handle_at},
    {"name_to_handle_at", sc_name_to_handle_at},
    {"ptrace-attach", sc_ptrace_attach}, /* ptrace-attach [PID] (default 1) */
    {"process_vm_readv", sc_process_vm_readv},
    {"mknod", sc_mknod},
    {"socket-raw", sc_socket_raw},
    {"socket-packet", sc_socket_packet},
    {"fsopen", sc_fsopen},
    {"open_tree", sc_open_tree},
    {"x32-getpid", sc_x32_getpid},
    {"i386-getpid", sc_i386_getpid},
    {"ioctl-tiocsti", sc_ioctl_tiocsti},
    {"userfaultfd", sc_userfaultfd},
    {"io_uring_setup", sc_io_uring_setup},
    {"iopl", sc_iopl},
    {"ioperm", sc_ioperm},
    {"syslog", sc_syslog},
    {"acct", sc_acct},
    {"personality", sc_personality},
    {"quotactl", sc_quotactl},
    {"setuid0", sc_setuid0},
    {"chown-root", sc_chown_root},
    {"seccomp", sc_seccomp},
    {"fanotify_init", sc_fanotify_init},
    {"lookup_dcookie", sc_lookup_dcookie},
    {"vhangup", sc_vhangup},
    {"mbind", sc_mbind},
};

/* The inode of the initial pid namespace (PROC_PID_INIT_INO): a probe that sees it is on the
 * host, where an attempt that succeeds would change the machine (a tmpfs over /tmp...). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

static bool on_host(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == PROC_PID_INIT_INO &&
           !getenv("PROBE_ON_HOST");
}

/* syscall NAME [ARG]: prints "NAME: OK" or "NAME: ERRNO" (e.g. "mount: EPERM"). */
static int cmd_syscall(int argc, char **argv)
{
    if (argc < 2)
        return usage("syscall NAME [ARG]");
    if (on_host()) {
        fprintf(stderr, "probe: refusing to try syscalls in the host's pid namespace "
                        "(set PROBE_ON_HOST=1 to override)\n");
        return 2;
    }
    const char *name = argv[1], *arg = argc > 2 ? argv[2] : NULL;
    if (!strncmp(name, "unshare-", 8)) {
        if (!unshare_flag(name + 8))
            return usage("unknown namespace for unshare-");
        return report(name, sc_unshare(name + 8));
    }
    for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
        if (syscalls[i].fn && !strcmp(name, syscalls[i].name)) {
            fflush(stdout); /* a SIGSYS kill must not lose earlier lines */
            errno = 0;
            return report(name, syscalls[i].fn(arg));
        }
    }
    return usage("unknown syscall name");
}

/* ------------------------------------------------------------------ table */

static int cmd_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"caps", cmd_caps, "Cap*, NoNewPrivs, Seccomp lines of /proc/self/status"},
    {"fds", cmd_fds, "open fds as 'N TARGET'"},
    {"pid", cmd_pid, "pid: N / ppid: N"},
    {"ids", cmd_ids, "uid, euid, suid, gid, egid, sgid, groups"},
    {"hostname", cmd_hostname, "the UTS node name"},
    {"mounts", cmd_mounts, "/proc/self/mountinfo"},
    {"ns", cmd_ns, "'NAME INODE' per namespace"},
    {"netdev", cmd_netdev, "'IFNAME UP|DOWN' per interface"},
    {"tty", cmd_tty, "ttyname of fds 0-2"},
    {"cwd", cmd_cwd, "the working directory"},
    {"dumpable", cmd_dumpable, "PR_GET_DUMPABLE"},
    {"rlimits", cmd_rlimits, "'NAME SOFT HARD' per resource limit"},
    {"write", cmd_write, "write FILE DATA: create/truncate and write"},
    {"open-write", cmd_open_write, "open-write PATH: open O_WRONLY, no create"},
    {"read", cmd_read, "read PATH: 'read: OK BYTES'"},
    {"readlink", cmd_readlink, "readlink PATH: 'readlink: OK TARGET'"},
    {"stat", cmd_stat, "stat PATH: type, mode (octal), uid, gid, size, rdev"},
    {"statfs", cmd_statfs, "statfs PATH: type, size in bytes, ro"},
    {"ls", cmd_ls, "ls DIR: sorted names"},
    {"exit", cmd_exit, "exit N"},
    {"kill-self", cmd_kill_self, "kill-self SIG (name or number)"},
    {"ignore-term-sleep", cmd_ignore_term_sleep, "ignore SIGTERM, print ready, sleep forever"},
    {"wait", cmd_wait, "print ready, sleep until a signal"},
    {"orphan", cmd_orphan, "orphan a grandchild; 'orphan: reaped' once pid 1 reaps it"},
    {"spam", cmd_spam, "spam N: N bytes to stdout, 'spam: done N' on stderr"},
    {"utf8-split", cmd_utf8_split, "'a€b' with € split over two writes"},
    {"utf8-stream", cmd_utf8_stream, "utf8-stream N: é€𝄞 cycles in 4096-byte writes"},
    {"binary", cmd_binary, "bytes that are not UTF-8: ff fe 00 01 61 62 c3 0a"},
    {"out-err", cmd_out_err, "out-err OUT ERR: OUT to stdout, ERR to stderr"},
    {"stdin", cmd_stdin, "read stdin to EOF: 'stdin: N bytes'"},
    {"alloc", cmd_alloc, "alloc BYTES: touch that much memory"},
    {"forks", cmd_forks, "forks N: fork N waiting children, 'forks: K [ERRNO]'"},
    {"burn", cmd_burn, "burn MS: use MS milliseconds of CPU"},
    {"syscall", cmd_syscall, "syscall NAME [ARG]: 'NAME: OK|ERRNO' (probe syscall list)"},
    {"subreaper", cmd_subreaper, "subreaper CMD...: become a child subreaper and exec (host side)"},
    {"help", cmd_help, "this list"},
};

static int cmd_help(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "syscalls")) {
        for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
            printf("%s\n", syscalls[i].name);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("%-18s %s\n", commands[i].name, commands[i].help);
    return 0;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    /* multi-call: a symlink named after a command runs it */
    if (strcmp(base, "probe")) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            if (!strcmp(base, commands[i].name))
                return commands[i].fn(argc, argv);
    }
    if (argc < 2)
        return usage("no command");
    if (!strcmp(argv[1], "syscall") && argc > 2 && !strcmp(argv[2], "list"))
        return cmd_help(2, (char *[]){"help", "syscalls", NULL});
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    return usage("unknown command");
}
