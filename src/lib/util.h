/* SPDX-License-Identifier: MIT */
/* System helpers that know nothing of sandboxes: cleanup macros, fd and file utilities, a
 * growable byte buffer, number parsers. */
#ifndef HUTCH_UTIL_H
#define HUTCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void cleanup_free_(void *p)
{
    free(*(void **)p);
}
static inline void cleanup_close_(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void cleanup_fclose_(FILE **f)
{
    if (*f)
        fclose(*f);
}
/* SIGKILL and reap a child we own (pid > 0) */
void cleanup_pid_(pid_t *pid);

#define _cleanup_free_   __attribute__((cleanup(cleanup_free_)))
#define _cleanup_close_  __attribute__((cleanup(cleanup_close_)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclose_)))
#define _cleanup_pid_    __attribute__((cleanup(cleanup_pid_)))

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) take_ptr_tmp_ = (p);                                                         \
        (p) = NULL;                                                                                \
        take_ptr_tmp_;                                                                             \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int take_fd_tmp_ = (fd);                                                                   \
        (fd) = -1;                                                                                 \
        take_fd_tmp_;                                                                              \
    })

static inline void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* A growable byte buffer. All functions return 0 or -ENOMEM. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* write all of data, retrying on EINTR/short writes; -errno on failure */
int write_all(int fd, const void *data, size_t len);
/* read a whole (small) file relative to dirfd into a NUL-terminated malloc'd buffer */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max);
/* write a string to a file relative to dirfd (O_WRONLY|O_CLOEXEC, no create) */
int write_file_at(int dirfd, const char *path, const char *s);

/* Parsers (pure). Return 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *out);
int parse_i64(const char *s, int64_t *out);
/* "512", "64K", "1.5M", "2G", "1T" (powers of 1024; an optional trailing 'b'/'B'/'iB') */
int parse_size(const char *s, uint64_t *out);
/* "10", "0.5", "2.25s" -> nanoseconds; no negatives */
int parse_seconds(const char *s, uint64_t *ns_out);
/* "true"/"false"/"1"/"0"/"yes"/"no"/"" (true) */
int parse_bool(const char *s, bool *out);

uint64_t now_mono_ns(void);
uint64_t now_real_ns(void);
/* n random bytes as 2n lowercase hex chars into out (2n+1 bytes) */
int random_hex(char *out, size_t nbytes);

/* mkdir -p relative to AT_FDCWD with mode; existing directories are fine */
int mkdir_p(const char *path, mode_t mode);
/* A test hook: with HUTCH_TEST_PAUSE_AT=PHASE the process stops itself (SIGSTOP) after that
 * phase, saying "paused at PHASE" on stderr, so a test can SIGKILL it there and check that
 * `hutch gc` leaves nothing behind. */
void test_pause_at(const char *phase);
/* Remove a directory tree without following symlinks and without crossing into another
 * filesystem (st_dev of the top). A mount point below is left in place and reported as
 * -EBUSY. Missing path is success. */
int rm_tree_at(int dirfd, const char *name);

#endif
