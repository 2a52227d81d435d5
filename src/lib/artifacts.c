/* SPDX-License-Identifier: MIT */
/* Inputs in, artifacts out, through file descriptors only (artifacts.h). */
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"
#include "sys.h"
#include "util.h"

#define COPY_CHUNK     (128 * 1024)
#define MAX_COPY_DEPTH 256

struct copy_ctx {
    bool hash;
    struct digest manifest; /* directories: the listing's digest */
    uint64_t bytes, files, skipped;
    char *buf;
    char rel[PATH_MAX]; /* path of the entry being copied, relative to the artifact */
};

/* ---------------------------------------------------------------- the copy engine */

static bool kernel_fs(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC ||
                                     sf.f_type == DEBUGFS_MAGIC || sf.f_type == SECURITYFS_MAGIC);
}

static void manifest_line(struct copy_ctx *c, const char *what, const char *arrow)
{
    if (!c->hash)
        return;
    digest_update(&c->manifest, arrow, strlen(arrow));
    digest_update(&c->manifest, what, strlen(what));
    digest_update(&c->manifest, "  ", 2);
    digest_update(&c->manifest, c->rel, strlen(c->rel));
    digest_update(&c->manifest, "\n", 1);
}

static int copy_file(struct copy_ctx *c, int sfd, const struct stat *st, int ddir,
                     const char *dname, char hex[DIGEST_HEX_LEN + 1])
{
    /* set-id bits never come along: an artifact must not become a setuid file on the host */
    _cleanup_close_ int dfd =
        openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
               (st->st_mode & 0777) | 0600);
    if (dfd < 0)
        return -errno;
    struct digest d = {0};
    if (c->hash && digest_init(&d) < 0)
        return -ENOMEM;
    int r = 0;
    for (;;) {
        ssize_t n = read(sfd, c->buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        if (c->hash)
            digest_update(&d, c->buf, (size_t)n);
        if ((r = write_all(dfd, c->buf, (size_t)n)) < 0)
            break;
        c->bytes += (uint64_t)n;
    }
    if (c->hash) {
        if (r == 0 && digest_final_hex(&d, hex) < 0)
            r = -EIO;
        digest_free(&d);
    }
    struct timespec ts[2] = {{0, UTIME_OMIT}, st->st_mtim};
    if (r == 0 && (fchmod(dfd, st->st_mode & 0777) < 0 || futimens(dfd, ts) < 0))
        r = -errno;
    c->files++;
    return r;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int copy_entry(struct copy_ctx *c, int sdir, const char *sname, int ddir, const char *dname,
                      int depth, char hex[DIGEST_HEX_LEN + 1]);

/* The names of a directory, sorted, so listings and digests do not depend on disk order. */
static int list_sorted(int dfd, char ***names_out, size_t *n_out)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof(char *));
            if (!nn) {
                r = -ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), cmp_names);
    *names_out = names;
    *n_out = n;
    return r;
}

static int copy_dir(struct copy_ctx *c, int sfd, const struct stat *st, int ddir, const char *dname,
                    int depth)
{
    if (depth > MAX_COPY_DEPTH)
        return -ELOOP;
    if (kernel_fs(sfd))
        return -EPERM;
    if (mkdirat(ddir, dname, 0700) < 0)
        return -errno;
    _cleanup_close_ int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    char **names = NULL;
    size_t n = 0;
    int r = list_sorted(sfd, &names, &n);
    size_t base = strlen(c->rel);
    for (size_t i = 0; i < n; i++) {
        if (r == 0) {
            snprintf(c->rel + base, sizeof(c->rel) - base, "%s%s", base ? "/" : "", names[i]);
            char hex[DIGEST_HEX_LEN + 1];
            r = copy_entry(c, sfd, names[i], dfd, names[i], depth + 1, hex);
            c->rel[base] = '\0';
        }
        free(names[i]);
    }
    free(names);
    struct timespec ts[2] = {{0, UTIME_OMIT}, st->st_mtim};
    if (r == 0 && (fchmod(dfd, (st->st_mode & 0777) | 0700) < 0 || futimens(dfd, ts) < 0))
        r = -errno;
    return r;
}

/* Copy sdir/sname to ddir/dname without following any symlink. */
static int copy_entry(struct copy_ctx *c, int sdir, const char *sname, int ddir, const char *dname,
                      int depth, char hex[DIGEST_HEX_LEN + 1])
{
    struct stat st, st2;
    if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        manifest_line(c, target, "-> ");
        if (c->hash && digest_buf(target, (size_t)n, hex) < 0)
            return -ENOMEM;
        return symlinkat(target, ddir, dname) < 0 ? -errno : 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        c->skipped++; /* devices, fifos, sockets: not artifacts */
        return 0;
    }
    int flags = S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY;
    _cleanup_close_ int fd = openat(sdir, sname, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* the entry we opened must be the one we looked at */
    if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev ||
        (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
        return -ESTALE;
    if (S_ISDIR(st.st_mode))
        return copy_dir(c, fd, &st, ddir, dname, depth);
    if (kernel_fs(fd))
        return -EPERM;
    int r = copy_file(c, fd, &st, ddir, dname, hex);
    if (r == 0)
        manifest_line(c, c->hash ? hex : "", "");
    return r;
}

/* Open (making) the parent directories of name below dfd, O_NOFOLLOW each; *base = last part. */
static int open_dest_parent(int dfd, const char *name, const char **base)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", name);
    int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    char *p = buf;
    for (char *slash; cur >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
        *slash = '\0';
        if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
            close(cur);
            return -errno;
        }
        int nfd = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        cur = nfd < 0 ? -errno : nfd;
    }
    *base = name + (p - buf);
    return cur;
}

/* Copy into a temporary name, then replace dest/name with it. */
static int copy_to_dest(struct copy_ctx *c, int sdir, const char *sname, int destfd,
                        const char *name, char hex[DIGEST_HEX_LEN + 1])
{
    const char *base = name;
    _cleanup_close_ int pfd = open_dest_parent(destfd, name, &base);
    if (pfd < 0)
        return pfd;
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof(tmp), ".hutch-%d-%.200s", (int)getpid(), base);
    rm_tree_at(pfd, tmp);
    int r = copy_entry(c, sdir, sname, pfd, tmp, 0, hex);
    if (r == 0 && (r = rm_tree_at(pfd, base)) == 0 && renameat(pfd, tmp, pfd, base) < 0)
        r = -errno;
    if (r < 0)
        rm_tree_at(pfd, tmp);
    return r;
}

/* ---------------------------------------------------------------- the helper process */

typedef int (*helper_fn)(void *arg, int out_fd);

/* Run fn in a child that has joined the sandbox's mount namespace; collect what it writes.
 * The child is a plain fork: it only opens, reads and writes, then _exits. */
static int helper_run(int mntns_fd, const char *root_dir, helper_fn fn, void *arg,
                      struct buf *out, struct hutch_error **err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return hutch_err_sys(err, "pipe", "copy-out helper");
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return hutch_err_sys(err, "fork", "copy-out helper");
    }
    if (pid == 0) {
        close(p[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        /* after setns our root and cwd are the sandbox's root: the host is out of view; a
         * bare job has no view of its own: its root_dir stands for "/" (RESOLVE_IN_ROOT) */
        if (mntns_fd >= 0 ? setns(mntns_fd, CLONE_NEWNS) < 0 || chdir("/") < 0
                          : chdir(root_dir) < 0)
            _exit(2);
        _exit(fn(arg, p[1]) < 0 ? 1 : 0);
    }
    close(p[1]);
    int r = 0;
    char chunk[8192];
    for (;;) {
        ssize_t n = read(p[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (r == 0 && buf_append(out, chunk, (size_t)n) < 0)
            r = -ENOMEM;
    }
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return hutch_err(err, r, NULL, "copy-out helper", "out of memory");
    if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
        return hutch_err(err, EIO, "setns", "copy-out helper",
                         mntns_fd >= 0 ? "cannot enter the sandbox's mount namespace"
                                       : "cannot enter the job's directory");
    return 0;
}

struct out_job {
    const char *workdir;
    const struct job_artifact *list;
    int n;
    int destfd;
};

/* In the sandbox's view: the parent of path (symlinks resolved inside the root only) + base. */
static int open_in_root(int rootfd, const char *workdir, const char *path, const char **base)
{
    char full[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s%s%s",
             path[0] == '/' ? ""
             : workdir      ? workdir
                            : "/",
             path[0] == '/' || (workdir && workdir[strlen(workdir) - 1] == '/') ? "" : "/", path);
    char *slash = strrchr(full, '/');
    *base = path + strlen(path) - strlen(slash + 1);
    *slash = '\0';
    int fd = sys_openat2(rootfd, full[0] ? full : "/", O_PATH | O_DIRECTORY | O_CLOEXEC,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    return fd < 0 ? -errno : fd;
}

static void result_msg(struct artifact_result *res, int r)
{
    res->status = r;
    snprintf(res->message, sizeof(res->message), "%s",
             r == -EPERM    ? "on a kernel filesystem (proc, sysfs): not copied"
             : r == -ELOOP  ? "nested too deeply"
             : r == -ESTALE ? "changed while being copied"
                            : strerror(-r));
}

static void copy_one(struct copy_ctx *c, int rootfd, const struct out_job *j, int i,
                     struct artifact_result *res)
{
    const char *base = "";
    memset(res, 0, sizeof(*res));
    _cleanup_close_ int pfd = open_in_root(rootfd, j->workdir, j->list[i].path, &base);
    struct stat st;
    if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        result_msg(res, pfd < 0 ? pfd : -errno);
        return;
    }
    res->kind = S_ISDIR(st.st_mode)   ? ARTIFACT_DIR
                : S_ISLNK(st.st_mode) ? ARTIFACT_SYMLINK
                                      : ARTIFACT_FILE;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        result_msg(res, -EINVAL);
        snprintf(res->message, sizeof(res->message), "not a file, directory or symlink");
        return;
    }
    c->bytes = c->files = c->skipped = 0;
    c->rel[0] = '\0';
    if (digest_init(&c->manifest) < 0) {
        result_msg(res, -ENOMEM);
        return;
    }
    int r = copy_to_dest(c, pfd, base, j->destfd, j->list[i].name, res->sha256);
    if (r == 0 && res->kind == ARTIFACT_DIR && digest_final_hex(&c->manifest, res->sha256) < 0)
        r = -EIO;
    digest_free(&c->manifest);
    if (r == 0 && res->kind == ARTIFACT_SYMLINK &&
        readlinkat(pfd, base, res->target, sizeof(res->target) - 1) < 0)
        r = -errno;
    res->size = c->bytes;
    res->files = c->files;
    res->skipped = c->skipped;
    if (r < 0)
        result_msg(res, r);
}

static int out_helper(void *arg, int out_fd)
{
    const struct out_job *j = arg;
    struct copy_ctx c = {.hash = true, .buf = malloc(COPY_CHUNK)};
    int rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!c.buf || rootfd < 0)
        return -ENOMEM;
    for (int i = 0; i < j->n; i++) {
        struct artifact_result res;
        copy_one(&c, rootfd, j, i, &res);
        if (write_all(out_fd, &res, sizeof(res)) < 0)
            return -EIO;
    }
    return 0;
}

int artifacts_copy_out(int mntns_fd, const char *root_dir, const char *workdir,
                       const struct job_artifact *list, int n, const char *dest_dir,
                       struct artifact_result *results, struct hutch_error **err)
{
    if (n == 0)
        return 0;
    int r = mkdir_p(dest_dir, 0755);
    if (r < 0)
        return hutch_err(err, r, "mkdir", dest_dir, "%s", strerror(-r));
    /* opened here, before the helper enters the sandbox's namespace */
    struct out_job j = {workdir, list, n, open(dest_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)};
    if (j.destfd < 0)
        return hutch_err_sys(err, "open", dest_dir);
    struct buf b = {0};
    r = helper_run(mntns_fd, root_dir, out_helper, &j, &b, err);
    close(j.destfd);
    for (int i = 0; r == 0 && i < n; i++) {
        if (b.len >= (size_t)(i + 1) * sizeof(results[i])) {
            memcpy(&results[i], b.data + (size_t)i * sizeof(results[i]), sizeof(results[i]));
            results[i].sha256[DIGEST_HEX_LEN] = results[i].target[255] = '\0';
            results[i].message[255] = '\0';
        } else {
            memset(&results[i], 0, sizeof(results[i]));
            results[i].status = -EIO;
            snprintf(results[i].message, sizeof(results[i].message), "the copy-out helper failed");
        }
    }
    buf_free(&b);
    return r;
}

/* ---------------------------------------------------------------- one file in, out of the view */

struct read_job {
    const char *path;
    size_t max;
};

/* Open a regular file for reading: looked at through O_PATH first, so a device node is never
 * opened (an open can have side effects), and the file opened must be the one looked at. */
static int open_regular(int dirfd, const char *path, uint64_t resolve, size_t max)
{
    _cleanup_close_ int pfd =
        sys_openat2(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, resolve | RESOLVE_NO_MAGICLINKS);
    struct stat st, st2;
    if (pfd < 0)
        return -errno;
    if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || kernel_fs(pfd))
        return -EINVAL;
    if ((uint64_t)st.st_size > max)
        return -EFBIG;
    int fd = sys_openat2(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                         resolve | RESOLVE_NO_MAGICLINKS);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}

static int read_helper(void *arg, int out_fd)
{
    const struct read_job *j = arg;
    _cleanup_close_ int fd = open_regular(AT_FDCWD, j->path, RESOLVE_IN_ROOT, j->max);
    int32_t status = fd < 0 ? fd : 0;
    if (write_all(out_fd, &status, sizeof(status)) < 0 || status < 0)
        return 0;
    char buf[8192];
    size_t total = 0;
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0 && total < j->max; total += (size_t)n)
        if (write_all(out_fd, buf, (size_t)n) < 0)
            return -EIO;
    return 0;
}

int artifacts_read_file(int mntns_fd, const char *root_dir, const char *path, size_t max,
                        char **data, size_t *len, struct hutch_error **err)
{
    struct read_job j = {path, max};
    struct buf b = {0};
    int r = helper_run(mntns_fd, root_dir, read_helper, &j, &b, err);
    int32_t status = -EIO;
    if (r == 0 && b.len >= sizeof(status))
        memcpy(&status, b.data, sizeof(status));
    if (r == 0 && (status < 0 || b.len - sizeof(status) > max)) {
        buf_free(&b);
        return status < 0 ? status : -EFBIG; /* plain codes: the caller words the warning */
    }
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    size_t n = b.len - sizeof(status);
    memmove(b.data, b.data + sizeof(status), n);
    b.data[n] = '\0'; /* buf_append keeps room: len < cap after the header was consumed */
    *data = b.data;
    *len = n;
    return 0;
}

int artifacts_read_file_at(int dirfd, const char *name, size_t max, char **data, size_t *len)
{
    _cleanup_close_ int fd = open_regular(dirfd, name, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, max);
    if (fd < 0)
        return fd;
    struct buf b = {0};
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b.len <= max)
        if (buf_append(&b, chunk, (size_t)n) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
    if (n < 0 || b.len > max || buf_append(&b, "", 1) < 0) {
        int r = n < 0 ? -errno : b.len > max ? -EFBIG : -ENOMEM;
        buf_free(&b);
        return r;
    }
    *data = b.data;
    *len = b.len - 1;
    return 0;
}

/* ---------------------------------------------------------------- inputs */

int artifacts_stage_input(int ws_fd, const char *src, int dst_dirfd, const char *dst_name,
                          struct hutch_error **err)
{
    /* Symlinks are followed only while they stay beneath the workspace (no absolute target, no
     * ".." out of it), so the staged copy is never itself a symlink: a bind mount of it would
     * follow one on the host. Symlinks inside a directory input are copied as they are. */
    const uint64_t how = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    _cleanup_close_ int pfd = sys_openat2(ws_fd, src, O_PATH | O_CLOEXEC, how);
    struct stat st, st2;
    if (pfd < 0 || fstat(pfd, &st) < 0)
        return hutch_err(err, errno, "open", src, "%s%s", strerror(errno),
                         errno == EXDEV ? " (it leads out of the workspace)" : "");
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return hutch_err(err, EINVAL, "open", src, "not a file or directory");
    int flags = S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY;
    _cleanup_close_ int fd = sys_openat2(ws_fd, src, flags | O_CLOEXEC, how);
    if (fd < 0 || fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
        return hutch_err(err, fd < 0 ? errno : ESTALE, "open", src, "%s",
                         fd < 0 ? strerror(errno) : "changed while being opened");
    struct copy_ctx c = {.hash = false, .buf = malloc(COPY_CHUNK)};
    if (!c.buf)
        return hutch_err(err, ENOMEM, NULL, src, "out of memory");
    char hex[DIGEST_HEX_LEN + 1];
    int r = S_ISDIR(st.st_mode) ? copy_dir(&c, fd, &st, dst_dirfd, dst_name, 0)
                                : copy_file(&c, fd, &st, dst_dirfd, dst_name, hex);
    free(c.buf);
    if (r < 0)
        return hutch_err(err, r, "copy", src, "%s", strerror(-r));
    return 0;
}
