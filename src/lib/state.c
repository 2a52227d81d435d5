/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int state_create(const char *run_dir, const char *id, char **state_dir, int *lock_fd,
                 struct hutch_error **err)
{
    int r = mkdir_p(run_dir, 0700);
    if (r < 0)
        return hutch_err(err, r, "mkdir", run_dir, "cannot create the run directory: %s",
                         strerror(-r));
    _cleanup_free_ char *dir = NULL;
    if (asprintf(&dir, "%s/%s", run_dir, id) < 0)
        return hutch_err(err, ENOMEM, NULL, run_dir, "out of memory");
    if (mkdir(dir, 0700) < 0)
        return hutch_err_sys(err, "mkdir", dir);
    _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int lfd = dfd < 0 ? -1 : openat(dfd, "lock", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0 || mkdirat(dfd, "root", 0700) < 0) {
        r = hutch_err_sys(err, "create", dir);
        if (lfd >= 0)
            close(lfd);
        state_remove(dir);
        return r;
    }
    *lock_fd = lfd;
    *state_dir = TAKE_PTR(dir);
    return 0;
}

int state_write(const char *state_dir, const char *name, const char *content)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", state_dir, name);
    snprintf(dst, sizeof(dst), "%s/%s", state_dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, content, strlen(content));
    close(fd);
    if (r == 0 && rename(tmp, dst) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

bool state_is_live(const char *state_dir)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/lock", state_dir);
    int fd = open(p, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool live = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return live;
}

int state_remove(const char *state_dir)
{
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", state_dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return -EINVAL;
    *slash = '\0';
    _cleanup_close_ int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -errno;
    return rm_tree_at(pfd, slash + 1);
}
