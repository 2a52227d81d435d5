/* SPDX-License-Identifier: MIT */
/*
 * startlat - the timing driver of hutch's benchmarks.
 *
 * Latency mode (default): runs every command of a command file RUNS times, interleaved (each
 * iteration runs each command once, in a freshly shuffled order, so load on the machine falls on
 * all of them alike), after WARMUP unrecorded iterations. Each run is timed from just before
 * fork() to just after waitpid() with CLOCK_MONOTONIC: the measurement costs one fork of this
 * small program, far below the 1 ms scale of what it measures (that is why it is C, not `time`).
 *
 * Throughput mode (-T SECONDS): runs each command in turn, back to back for SECONDS with -j
 * WORKERS runs in flight, and reports runs per second.
 *
 *   startlat [-n RUNS] [-w WARMUP] [-s SEED] [-r RAWFILE] [-e ERRLOG] [-N SETUP] [-k MAXFAIL]
 *            [-t TIMEOUT] [-T SECONDS -j WORKERS] CMDFILE
 *
 * CMDFILE (or - for stdin): one command per line, `NAME [@ns] [@sh] ARG...`, split on blanks
 * (no quoting); '#' starts a comment line. In an argument, {n} becomes the run's sequence number
 * and {w} the worker slot (0..WORKERS-1): unique names for runs in flight at once. @sh passes the rest of the line to /bin/sh -c as one
 * string. @ns runs the command in a private mount namespace prepared once by the shell snippet
 * SETUP (-N): startlat unshares a mount namespace, makes every mount in it private (so nothing
 * done there propagates to the host), runs SETUP there and keeps the namespace by an fd; each @ns
 * run enters it with setns() (a few microseconds, inside the timed window).
 *
 * Output (stdout), tab-separated with a header line; times in ns:
 *   latency:    name runs failed p50 p90 p99 mean min max
 *   throughput: name workers runs failed seconds per_sec
 * A command that fails MAXFAIL times (default 3) is dropped from the rotation; its row says so
 * through `failed`, and its stderr is in ERRLOG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 64
#define MAX_ARGS 128
#define MAX_WORKERS 256

struct cmd {
    char *name;
    char *argv[MAX_ARGS];
    int in_ns;
    int fails;
    int runs;
    uint64_t *ns; /* one sample per recorded run */
};

static struct cmd cmds[MAX_CMDS];
static int ncmds;
static int ns_fd = -1;
static char cwd[4096];
static int out_fd = -1, err_fd = -1;
static double timeout_s = 60;

static void die(const char *what)
{
    fprintf(stderr, "startlat: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- command file */

static void parse_line(char *line)
{
    char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
    if (!tok || tok[0] == '#')
        return;
    if (ncmds == MAX_CMDS) {
        fprintf(stderr, "startlat: more than %d commands\n", MAX_CMDS);
        exit(2);
    }
    struct cmd *c = &cmds[ncmds++];
    c->name = strdup(tok);
    int argc = 0;
    while ((tok = strtok_r(NULL, " \t\n", &save)) && argc < MAX_ARGS - 4) {
        if (argc == 0 && !strcmp(tok, "@ns")) {
            c->in_ns = 1;
        } else if (argc == 0 && !strcmp(tok, "@sh")) {
            c->argv[argc++] = "/bin/sh";
            c->argv[argc++] = "-c";
            c->argv[argc++] = strdup(save + strspn(save, " \t"));
            c->argv[argc - 1][strcspn(c->argv[argc - 1], "\n")] = '\0';
            break;
        } else {
            c->argv[argc++] = strdup(tok);
        }
    }
    if (argc == 0) {
        fprintf(stderr, "startlat: command '%s' has no argv\n", c->name);
        exit(2);
    }
}

static void read_cmds(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        die(path);
    char line[8192];
    while (fgets(line, sizeof(line), f))
        parse_line(line);
    if (f != stdin)
        fclose(f);
}

/* ---------------------------------------------------------------- private mount namespace */

/* A child unshares a mount namespace, makes it private (so that SETUP's unmounts never reach
 * the host), runs SETUP in it and waits until we hold the namespace by an fd. */
static void ns_prepare(const char *setup)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char ok = '1';
        close(ready[0]);
        close(hold[1]);
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
            pid_t sh = fork();
            if (sh == 0) {
                execl("/bin/sh", "sh", "-ec", setup, (char *)NULL);
                _exit(127);
            }
            int st = 0;
            if (sh > 0 && waitpid(sh, &st, 0) == sh && WIFEXITED(st) && WEXITSTATUS(st) == 0)
                ok = '0';
        } else {
            perror("startlat: private mount namespace");
        }
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        char c;
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char ok = '1';
    if (read(ready[0], &ok, 1) != 1 || ok != '0') {
        fprintf(stderr, "startlat: the namespace setup (-N) failed; @ns commands are skipped\n");
    } else {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
        ns_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0)
            die(p);
    }
    close(hold[1]);
    close(ready[0]);
    waitpid(pid, NULL, 0);
}

/* ---------------------------------------------------------------- one run */

/* A copy of arg with {n} and {w} replaced (in the child, so nothing to free). */
static char *expand(const char *arg, unsigned long seq, int slot)
{
    if (!strchr(arg, '{'))
        return (char *)arg;
    char *out = malloc(strlen(arg) + 64), *o = out;
    if (!out)
        _exit(126);
    for (const char *p = arg; *p; p++) {
        if (!strncmp(p, "{n}", 3)) {
            o += sprintf(o, "%lu", seq);
            p += 2;
        } else if (!strncmp(p, "{w}", 3)) {
            o += sprintf(o, "%d", slot);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static pid_t spawn(const struct cmd *c, unsigned long seq, int slot)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    if (c->in_ns && (setns(ns_fd, CLONE_NEWNS) < 0 || chdir(cwd) < 0))
        _exit(126);
    char *argv[MAX_ARGS];
    int i;
    for (i = 0; c->argv[i]; i++)
        argv[i] = expand(c->argv[i], seq, slot);
    argv[i] = NULL;
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execvp(argv[0], argv);
    _exit(127);
}

/* Wait for pid with a deadline; on timeout kill its process group. Returns the wait status. */
static int wait_deadline(pid_t pid)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int r;
        do
            r = poll(&p, 1, (int)(timeout_s * 1000));
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            fprintf(stderr, "startlat: pid %d timed out after %.0f s, killed\n", pid, timeout_s);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        close(pfd);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static int run_once(struct cmd *c, unsigned long seq, uint64_t *ns)
{
    uint64_t t0 = now_ns();
    pid_t pid = spawn(c, seq, 0);
    if (pid < 0)
        die("fork");
    int st = wait_deadline(pid);
    *ns = now_ns() - t0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    dprintf(err_fd, "startlat: %s: run failed (%s %d)\n", c->name,
            WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return -1;
}

/* ---------------------------------------------------------------- latency mode */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static uint64_t pct(const uint64_t *v, int n, double q)
{
    int k = (int)(q * n + 0.999999);
    if (k < 1)
        k = 1;
    return v[(k > n ? n : k) - 1];
}

static void latency(int runs, int warmup, int maxfail, FILE *raw)
{
    int order[MAX_CMDS];
    for (int i = 0; i < ncmds; i++) {
        order[i] = i;
        cmds[i].ns = calloc((size_t)runs, sizeof(uint64_t));
        if (!cmds[i].ns)
            die("calloc");
    }
    for (int it = -warmup; it < runs; it++) {
        for (int i = ncmds - 1; i > 0; i--) { /* Fisher-Yates: a fresh order per iteration */
            int j = (int)(random() % (i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < ncmds; i++) {
            struct cmd *c = &cmds[order[i]];
            uint64_t ns;
            if (c->fails >= maxfail)
                continue;
            if (run_once(c, (unsigned long)(it + warmup), &ns) < 0) {
                c->fails++;
                continue;
            }
            if (it < 0)
                continue;
            c->ns[c->runs++] = ns;
            if (raw)
                fprintf(raw, "%s\t%d\t%llu\n", c->name, it, (unsigned long long)ns);
        }
    }
    printf("name\truns\tfailed\tp50\tp90\tp99\tmean\tmin\tmax\n");
    for (int i = 0; i < ncmds; i++) {
        struct cmd *c = &cmds[i];
        int n = c->runs;
        if (n == 0) {
            printf("%s\t0\t%d\t-\t-\t-\t-\t-\t-\n", c->name, c->fails);
            continue;
        }
        qsort(c->ns, (size_t)n, sizeof(uint64_t), cmp_u64);
        double sum = 0;
        for (int k = 0; k < n; k++)
            sum += (double)c->ns[k];
        printf("%s\t%d\t%d\t%llu\t%llu\t%llu\t%.0f\t%llu\t%llu\n", c->name, n, c->fails,
               (unsigned long long)pct(c->ns, n, 0.50), (unsigned long long)pct(c->ns, n, 0.90),
               (unsigned long long)pct(c->ns, n, 0.99), sum / n, (unsigned long long)c->ns[0],
               (unsigned long long)c->ns[n - 1]);
    }
}

/* ---------------------------------------------------------------- throughput mode */

static void throughput(double seconds, int workers, int maxfail)
{
    printf("name\tworkers\truns\tfailed\tseconds\tper_sec\n");
    for (int i = 0; i < ncmds; i++) {
        struct cmd *c = &cmds[i];
        int inflight = 0, done = 0, fails = 0;
        unsigned long seq = 0;
        pid_t slots[MAX_WORKERS];
        uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
        for (int w = 0; w < workers; w++) {
            if ((slots[w] = spawn(c, seq++, w)) < 0)
                die("fork");
            inflight++;
        }
        while (inflight > 0) {
            int st, w;
            pid_t p = wait(&st);
            if (p < 0) {
                if (errno == EINTR)
                    continue;
                die("wait");
            }
            for (w = 0; w < workers && slots[w] != p; w++)
                ;
            if (w == workers)
                continue; /* not one of ours (cannot happen: we start nothing else) */
            inflight--;
            slots[w] = -1;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                done++;
            else
                fails++;
            if (now_ns() < end && fails < maxfail) {
                if ((slots[w] = spawn(c, seq++, w)) < 0)
                    die("fork");
                inflight++;
            }
        }
        double s = (double)(now_ns() - t0) / 1e9;
        printf("%s\t%d\t%d\t%d\t%.3f\t%.2f\n", c->name, workers, done, fails, s, done / s);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    int runs = 200, warmup = 10, maxfail = 3, workers = 1, opt;
    double tput = 0;
    const char *rawpath = NULL, *errpath = "/dev/null", *setup = NULL;
    unsigned seed = 1;
    while ((opt = getopt(argc, argv, "n:w:s:r:e:N:k:t:T:j:")) != -1) {
        switch (opt) {
        case 'n': runs = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 's': seed = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'r': rawpath = optarg; break;
        case 'e': errpath = optarg; break;
        case 'N': setup = optarg; break;
        case 'k': maxfail = atoi(optarg); break;
        case 't': timeout_s = atof(optarg); break;
        case 'T': tput = atof(optarg); break;
        case 'j': workers = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: startlat [-n RUNS] [-w WARMUP] [-s SEED] [-r RAW] [-e ERRLOG] "
                            "[-N SETUP] [-k MAXFAIL] [-t TIMEOUT] [-T SECONDS -j WORKERS] CMDFILE\n");
            return 2;
        }
    }
    if (optind != argc - 1 || runs < 1 || warmup < 0 || workers < 1 || workers > MAX_WORKERS) {
        fprintf(stderr, "startlat: expected one CMDFILE (see the comment at the top of startlat.c)\n");
        return 2;
    }
    srandom(seed);
    read_cmds(argv[optind]);
    if (!getcwd(cwd, sizeof(cwd)))
        die("getcwd");
    out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    err_fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0 || err_fd < 0)
        die(errpath);
    int need_ns = 0;
    for (int i = 0; i < ncmds; i++)
        need_ns |= cmds[i].in_ns;
    if (need_ns)
        ns_prepare(setup ? setup : "true");
    for (int i = 0; i < ncmds; i++)
        if (cmds[i].in_ns && ns_fd < 0)
            cmds[i].fails = maxfail; /* no namespace: report the command as failed */
    FILE *raw = rawpath ? fopen(rawpath, "w") : NULL;
    if (rawpath && !raw)
        die(rawpath);
    if (tput > 0)
        throughput(tput, workers, maxfail);
    else
        latency(runs, warmup, maxfail, raw);
    if (raw)
        fclose(raw);
    return 0;
}
