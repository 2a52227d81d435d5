/* SPDX-License-Identifier: MIT */
/*
 * cgroup_libcg - libcgroup against the direct file writes hutch does, on one hierarchy (pids:
 * v1 on a legacy or hybrid host, the unified one on a pure v2 host), below the caller's own
 * group. Prints one line per measurement (p50, p90 in ms):
 *
 *   cgroup_init()          libcgroup's first call in a fresh process (fork, then call: what a
 *                          `hutch run` would pay on every start if it used libcgroup)
 *   direct                 mkdir + write pids.max + rmdir
 *   libcgroup              the same with cgroup_new_cgroup/add_controller/set_value/
 *                          create_cgroup/delete_cgroup (after one cgroup_init())
 *
 *   cgroup_libcg [RUNS]    (default 200; root; build: cc -O2 cgroup_libcg.c -lcgroup)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP2_MAGIC 0x63677270

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, int n, const char *note)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_u64);
    printf("%-16s p50 %7.3f ms  p90 %7.3f ms  (%d runs; %s)\n", what, (double)v[n / 2] / 1e6,
           (double)v[n * 9 / 10] / 1e6, n, note);
}

/* Our own group in the hierarchy that has pids: "/a/b" (v1 "N:...pids...:/a/b", v2 "0::/a/b"). */
static int own_path(int v2, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];
    int found = -1;
    while (f && found < 0 && fgets(line, sizeof(line), f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *list = c1 + 1;
        int hit = v2 ? *list == '\0' : (strstr(list, "pids") != NULL);
        if (hit) {
            c2[1 + strcspn(c2 + 1, "\n")] = '\0';
            snprintf(out, size, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "");
            found = 0;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static int write_str(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, val, strlen(val));
    int e = n < 0 ? -errno : 0;
    close(fd);
    return e;
}

/* cgroup_init() in a fresh child each time; the child sends its own measurement back. */
static int bench_init(uint64_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe(p) < 0)
            return -1;
        pid_t c = fork();
        if (c < 0)
            return -1;
        if (c == 0) {
            uint64_t t0 = now_ns();
            int r = cgroup_init();
            uint64_t d = r == 0 ? now_ns() - t0 : 0;
            _exit(write(p[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
        }
        close(p[1]);
        if (read(p[0], &v[i], sizeof(v[i])) != sizeof(v[i]))
            v[i] = 0;
        close(p[0]);
        waitpid(c, NULL, 0);
        if (!v[i]) {
            fprintf(stderr, "cgroup_init() failed\n");
            return -1;
        }
    }
    return 0;
}

static int bench_direct(const char *mnt, const char *own, uint64_t *v, int n)
{
    char dir[4096], file[4200];
    for (int i = 0; i < n; i++) {
        snprintf(dir, sizeof(dir), "%s%s/hutch-bench-%d-d%d", mnt, own, (int)getpid(), i);
        snprintf(file, sizeof(file), "%s/pids.max", dir);
        uint64_t t0 = now_ns();
        if (mkdir(dir, 0755) < 0 || write_str(file, "100") < 0 || rmdir(dir) < 0) {
            fprintf(stderr, "direct: %s: %s\n", dir, strerror(errno));
            rmdir(dir);
            return -1;
        }
        v[i] = now_ns() - t0;
    }
    return 0;
}

static int bench_libcgroup(const char *own, uint64_t *v, int n)
{
    int r = cgroup_init();
    if (r) {
        fprintf(stderr, "cgroup_init: %s\n", cgroup_strerror(r));
        return -1;
    }
    char name[4096];
    for (int i = 0; i < n; i++) {
        /* libcgroup names are relative to the hierarchy's root */
        snprintf(name, sizeof(name), "%s/hutch-bench-%d-l%d", own[0] ? own + 1 : "",
                 (int)getpid(), i);
        const char *nm = name[0] == '/' ? name + 1 : name;
        uint64_t t0 = now_ns();
        struct cgroup *cg = cgroup_new_cgroup(nm);
        struct cgroup_controller *ctl = cg ? cgroup_add_controller(cg, "pids") : NULL;
        r = ctl ? cgroup_set_value_string(ctl, "pids.max", "100") : ECGFAIL;
        r = r ? r : cgroup_create_cgroup(cg, 0);
        int d = r ? r : cgroup_delete_cgroup(cg, 0);
        v[i] = now_ns() - t0;
        if (cg)
            cgroup_free(&cg);
        if (r || d) {
            fprintf(stderr, "libcgroup: %s: %s\n", nm, cgroup_strerror(r ? r : d));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 10 || n > 100000) {
        fprintf(stderr, "usage: cgroup_libcg [RUNS >= 10]\n");
        return 2;
    }
    struct statfs fs;
    int v2 = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_MAGIC;
    const char *mnt = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids";
    char own[2048];
    if (own_path(v2, own, sizeof(own)) < 0) {
        fprintf(stderr, "no pids hierarchy in /proc/self/cgroup\n");
        return 1;
    }
    uint64_t *v = calloc((size_t)n, sizeof(*v));
    if (!v)
        return 1;
    int ninit = n < 50 ? n : 50;
    printf("# %s, group below %s%s\n", v2 ? "cgroup v2" : "cgroup v1 pids", mnt, own);
    if (bench_init(v, ninit) < 0)
        return 1;
    report("cgroup_init()", v, ninit, "first call in a forked process");
    if (bench_direct(mnt, own, v, n) < 0)
        return 1;
    report("direct", v, n, "mkdir, write pids.max, rmdir");
    if (bench_libcgroup(own, v, n) < 0)
        return 1;
    report("libcgroup", v, n, "new/add_controller/set_value/create/delete");
    free(v);
    return 0;
}
