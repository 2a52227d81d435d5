/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

void cleanup_pid_(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -ENOMEM;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if (buf_reserve(b, (size_t)n) < 0)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct buf b = {0};
    for (;;) {
        if (buf_reserve(&b, 4096) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            buf_free(&b);
            return -e;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (max && b.len > max) {
            buf_free(&b);
            return -EFBIG;
        }
    }
    if (buf_reserve(&b, 0) < 0)
        return -ENOMEM;
    b.data[b.len] = '\0';
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

int write_file_at(int dirfd, const char *path, const char *s)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    if (w < 0)
        return -errno;
    if ((size_t)w != n)
        return -EIO;
    return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end)
        return -EINVAL;
    *out = v;
    return 0;
}

int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end || end == s)
        return -EINVAL;
    *out = v;
    return 0;
}

/* a non-negative decimal with an optional fraction: "12", "0.5", "1." */
static int parse_decimal(const char *s, const char **end, long double *out)
{
    const char *p = s;
    long double v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        long double scale = 0.1L;
        while (isdigit((unsigned char)*p)) {
            v += (*p++ - '0') * scale;
            scale /= 10;
            digits++;
        }
    }
    if (!digits)
        return -EINVAL;
    *end = p;
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    if (!s)
        return -EINVAL;
    const char *p;
    long double v;
    if (parse_decimal(s, &p, &v) < 0)
        return -EINVAL;
    long double mult = 1;
    switch (*p) {
    case 'k': case 'K': mult = 1024.0L; p++; break;
    case 'm': case 'M': mult = 1024.0L * 1024; p++; break;
    case 'g': case 'G': mult = 1024.0L * 1024 * 1024; p++; break;
    case 't': case 'T': mult = 1024.0L * 1024 * 1024 * 1024; p++; break;
    default: break;
    }
    if (mult > 1 && *p == 'i')
        p++;
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p)
        return -EINVAL;
    v *= mult;
    if (v >= 18446744073709551615.0L)
        return -ERANGE;
    *out = (uint64_t)v;
    return 0;
}

int parse_seconds(const char *s, uint64_t *ns_out)
{
    if (!s)
        return -EINVAL;
    const char *p;
    long double v;
    if (parse_decimal(s, &p, &v) < 0)
        return -EINVAL;
    if (*p == 's')
        p++;
    if (*p)
        return -EINVAL;
    v *= 1e9L;
    if (v >= 9.2e18L)
        return -ERANGE;
    *ns_out = (uint64_t)v;
    return 0;
}

int parse_bool(const char *s, bool *out)
{
    if (!s || !*s || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

uint64_t now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw))
        return -EINVAL;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(raw + got, nbytes - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Remove the contents of the directory open at fd (which is on device dev). */
static int rm_contents(int fd, dev_t dev, int depth)
{
    if (depth > 4096)
        return -ELOOP;
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dupfd < 0)
        return -errno;
    DIR *d = fdopendir(dupfd);
    if (!d) {
        int e = -errno;
        close(dupfd);
        return e;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && !ret)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) { /* a mount point: never delete through it */
                ret = ret ? ret : -EBUSY;
                continue;
            }
            int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (!ret)
                    ret = -errno;
                continue;
            }
            struct stat st2;
            /* the entry may have been swapped between fstatat and openat */
            if (fstat(sub, &st2) < 0 || st2.st_dev != dev || st2.st_ino != st.st_ino) {
                close(sub);
                ret = ret ? ret : -EBUSY;
                continue;
            }
            int r = rm_contents(sub, dev, depth + 1);
            close(sub);
            if (r < 0 && !ret)
                ret = r;
            if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && !ret)
                ret = -errno;
        } else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT && !ret) {
            ret = -errno;
        }
    }
    closedir(d);
    return ret;
}

int rm_tree_at(int dirfd, const char *name)
{
    struct stat st, pst;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    /* the top itself must not be a mount point either */
    if (fstatat(dirfd, ".", &pst, 0) == 0 && strchr(name, '/') == NULL && pst.st_dev != st.st_dev)
        return -EBUSY;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int r = rm_contents(fd, st.st_dev, 0);
    close(fd);
    if (r < 0)
        return r;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

void test_pause_at(const char *phase)
{
    const char *at = getenv("HUTCH_TEST_PAUSE_AT");
    if (at && !strcmp(at, phase)) {
        fprintf(stderr, "paused at %s\n", phase);
        raise(SIGSTOP);
    }
}
