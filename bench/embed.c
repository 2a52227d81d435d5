/* SPDX-License-Identifier: MIT */
/*
 * embed - one process starting and supervising many sandboxes through include/hutch.h only,
 * with a single epoll loop over hutch_sandbox_fd() of each (DESIGN.md §1, the density use case).
 *
 *   embed rate    -n N [-o OPTION=VALUE]... -- CMD...   start N sandboxes one after the other,
 *                                                       reaping the ended ones between starts;
 *                                                       report sandboxes per second
 *   embed density -n N [-o OPTION=VALUE]... -- CMD...   start N long-running sandboxes, measure
 *                                                       what they cost, kill them all, report
 *                                                       the teardown time
 *
 * Options are hutch_spec_set() names and values ("rootfs=/srv/rootfs", "network=host").
 * HUTCH_ROOT and HUTCH_RUN come from the environment. Output: key=value lines (sizes in KiB).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <hutch.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct slot {
    struct hutch_sandbox *sb;
    pid_t init_pid;
    int ended;
};

struct run {
    struct hutch_ctx *ctx;
    struct hutch_spec *spec;
    int epfd;
    struct slot *slots;
    int alive;     /* started and not yet destroyed */
    int failed;    /* starts that failed, or sandboxes that ended with a status != 0 */
    int expect_ok; /* rate mode: a non-zero exit counts as a failure */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, struct hutch_error *err)
{
    char *line = err ? hutch_error_format(err) : NULL;
    fprintf(stderr, "embed: %s: %s\n", what, line ? line : strerror(errno));
    free(line);
    hutch_error_free(err);
    exit(1);
}

/* process.start carries the pid of the sandbox's init: remember it for the memory figures. */
static void on_event(const struct hutch_event *ev, void *userdata)
{
    struct slot *s = userdata;
    if (hutch_event_type(ev) != HUTCH_EVENT_PROCESS_START)
        return;
    const char *p = strstr(hutch_event_json(ev, NULL), "\"init_pid\":");
    if (p)
        s->init_pid = (pid_t)atoi(p + strlen("\"init_pid\":"));
}

static int start_one(struct run *r, struct slot *s)
{
    struct hutch_error *err = NULL;
    struct hutch_start_opts o = {.sz = sizeof(o), .on_event = on_event, .userdata = s,
                                 .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    if (hutch_sandbox_start(r->ctx, r->spec, &o, &s->sb, &err) < 0) {
        if (r->failed++ == 0) {
            char *line = hutch_error_format(err);
            fprintf(stderr, "embed: start: %s\n", line ? line : "?");
            free(line);
        }
        hutch_error_free(err);
        s->sb = NULL;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, hutch_sandbox_fd(s->sb), &ev) < 0)
        fail("epoll_ctl", NULL);
    r->alive++;
    return 0;
}

static void finish(struct run *r, struct slot *s)
{
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, hutch_sandbox_fd(s->sb), NULL);
    if (r->expect_ok && hutch_sandbox_exit_status(s->sb) != 0)
        r->failed++;
    hutch_sandbox_destroy(s->sb);
    s->sb = NULL;
    s->ended = 1;
    r->alive--;
}

/* One pass of the loop: dispatch every sandbox whose fd is ready; destroy the ended ones. */
static void pump(struct run *r, int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(r->epfd, evs, 64, timeout_ms);
    if (n < 0 && errno != EINTR)
        fail("epoll_wait", NULL);
    for (int i = 0; i < n; i++) {
        struct slot *s = evs[i].data.ptr;
        struct hutch_error *err = NULL;
        int d = hutch_sandbox_dispatch(s->sb, &err);
        if (d < 0) {
            hutch_error_free(err);
            r->failed++;
            hutch_sandbox_kill(s->sb, SIGKILL);
        } else if (d == 1) {
            finish(r, s);
        }
    }
}

/* ---------------------------------------------------------------- memory figures */

static long kib_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long v = 0;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, k)) {
            v = atol(line + k);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static long pss_kib(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", (int)pid);
    return kib_field(p, "Pss:");
}

static long read_num(const char *path)
{
    FILE *f = fopen(path, "r");
    long long v = 0;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return (long)v;
}

/* The memory cgroup of pid: v1 usage and kmem usage (bytes), or v2 memory.current and the
 * `kernel` line of memory.stat. */
static void cg_mem(pid_t pid, long *usage, long *kmem)
{
    char p[4096], line[1024];
    snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(p, "r");
    *usage = *kmem = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c = strchr(line, ':'), *path = c ? strchr(c + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        if (!strcmp(c + 1, "memory")) {
            snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", path);
            *usage = read_num(p);
            snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/memory.kmem.usage_in_bytes", path);
            *kmem = read_num(p);
            break;
        }
        if (!strcmp(c + 1, "") && !strcmp(line, "0")) {
            snprintf(p, sizeof(p), "/sys/fs/cgroup%s/memory.current", path);
            *usage = read_num(p);
            snprintf(p, sizeof(p), "/sys/fs/cgroup%s/memory.stat", path);
            *kmem = kib_field(p, "kernel ");
        }
    }
    if (f)
        fclose(f);
}

static void report_memory(struct run *r, int n, long avail_before, long own_before)
{
    long init = 0, wl = 0, usage = 0, kmem = 0;
    for (int i = 0; i < n; i++) {
        struct slot *s = &r->slots[i];
        if (!s->sb)
            continue;
        long u, k;
        init += s->init_pid > 0 ? pss_kib(s->init_pid) : 0;
        wl += pss_kib(hutch_sandbox_pid(s->sb));
        cg_mem(hutch_sandbox_pid(s->sb), &u, &k);
        usage += u;
        kmem += k;
    }
    printf("self_rss_kib=%ld\nself_pss_kib=%ld\n", kib_field("/proc/self/smaps_rollup", "Rss:"),
           kib_field("/proc/self/smaps_rollup", "Pss:"));
    printf("init_pss_kib=%ld\nworkload_pss_kib=%ld\n", init, wl);
    printf("cgroup_usage_kib=%ld\ncgroup_kmem_kib=%ld\n", usage / 1024, kmem / 1024);
    printf("memavailable_delta_kib=%ld\n",
           avail_before - kib_field("/proc/meminfo", "MemAvailable:"));
    long own, own_kmem;
    cg_mem(getpid(), &own, &own_kmem);
    printf("memcg_delta_kib=%ld\n", (own - own_before) / 1024);
}

/* ---------------------------------------------------------------- modes */

static void mode_rate(struct run *r, int n)
{
    r->expect_ok = 1;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        start_one(r, &r->slots[i]);
        pump(r, 0);
    }
    while (r->alive > 0)
        pump(r, 1000);
    double s = now_s() - t0;
    printf("n=%d\nfailed=%d\nseconds=%.3f\nper_sec=%.2f\n", n, r->failed, s, (n - r->failed) / s);
}

static void mode_density(struct run *r, int n)
{
    long avail = kib_field("/proc/meminfo", "MemAvailable:"), own, own_kmem;
    /* our own memory cgroup holds the sandboxes' (nested) and is charged for the kernel objects
     * we create: its growth is the cost, undisturbed by the rest of the machine */
    cg_mem(getpid(), &own, &own_kmem);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        start_one(r, &r->slots[i]);
        pump(r, 0);
    }
    double started = now_s() - t0;
    usleep(500 * 1000); /* let the workloads settle (page faults of sleep, init) */
    printf("n=%d\nrunning=%d\nfailed=%d\nstart_seconds=%.3f\n", n, r->alive, r->failed, started);
    report_memory(r, n, avail, own);
    fflush(stdout);
    t0 = now_s();
    for (int i = 0; i < n; i++)
        if (r->slots[i].sb)
            hutch_sandbox_kill(r->slots[i].sb, SIGKILL);
    while (r->alive > 0)
        pump(r, 1000);
    printf("teardown_seconds=%.3f\n", now_s() - t0);
}

int main(int argc, char **argv)
{
    struct run r = {0};
    struct hutch_error *err = NULL;
    int n = 100, opt;
    if (argc < 2)
        goto usage;
    const char *mode = argv[1];
    optind = 2;
    if (hutch_spec_new(&r.spec) < 0)
        fail("hutch_spec_new", NULL);
    while ((opt = getopt(argc, argv, "n:o:")) != -1) {
        char *eq;
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'o':
            if (!(eq = strchr(optarg, '=')))
                goto usage;
            *eq = '\0';
            if (hutch_spec_set(r.spec, optarg, eq + 1, &err) < 0)
                fail("option", err);
            break;
        default: goto usage;
        }
    }
    if (optind >= argc || n < 1)
        goto usage;
    if (hutch_spec_set_argv(r.spec, argc - optind, (const char *const *)argv + optind, &err) < 0)
        fail("command", err);
    /* a dozen fds per live sandbox: use the whole soft limit we may have */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (hutch_ctx_new(NULL, &r.ctx, &err) < 0)
        fail("hutch_ctx_new", err);
    r.epfd = epoll_create1(EPOLL_CLOEXEC);
    r.slots = calloc((size_t)n, sizeof(*r.slots));
    if (r.epfd < 0 || !r.slots)
        fail("setup", NULL);
    if (!strcmp(mode, "rate"))
        mode_rate(&r, n);
    else if (!strcmp(mode, "density"))
        mode_density(&r, n);
    else
        goto usage;
    free(r.slots);
    hutch_spec_free(r.spec);
    hutch_ctx_free(r.ctx);
    return 0;
usage:
    fprintf(stderr, "usage: embed rate|density -n N [-o OPTION=VALUE]... -- CMD...\n");
    return 2;
}
