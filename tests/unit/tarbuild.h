/* SPDX-License-Identifier: MIT */
/* Test helpers: build tar layers entry by entry with libarchive's writer (so every header
 * field is ours to choose), snapshot a directory tree to compare it before/after, and make
 * scratch directories. Header-only: included by test_layer.c and test_image.c. */
#ifndef HUTCH_TEST_TARBUILD_H
#define HUTCH_TEST_TARBUILD_H

#include "digest.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum tar_comp { TAR_NONE, TAR_GZIP, TAR_ZSTD };

struct tent {
    const char *path;
    char type;        /* f file, d dir, l symlink, h hard link, c char dev, b block dev, p fifo */
    const char *data; /* file content, or link target */
    unsigned mode;    /* permission bits (07777); 0 = 0644 / 0755 */
    int uid, gid;
    long mtime;             /* 0 = 1000000000 */
    const char *xattr_name; /* one xattr, may be NULL */
    const char *xattr_value;
    uint64_t zero_size;    /* a file of this many zero bytes instead of data */
    const char *from_file; /* a file whose content to use instead of data */
};

static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    *len = fread(d, 1, (size_t)n, f);
    d[*len] = '\0';
    fclose(f);
    return d;
}

/* Write ents as a pax tar (optionally compressed) to path; returns 0 or -1. */
static inline int tar_build(const char *path, const struct tent *ents, size_t n, enum tar_comp comp)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    if (comp == TAR_GZIP)
        archive_write_add_filter_gzip(a);
    else if (comp == TAR_ZSTD)
        archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        return -1;
    static char zeros[65536];
    for (size_t i = 0; i < n; i++) {
        const struct tent *t = &ents[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, t->path);
        unsigned mode = t->mode;
        size_t size = 0;
        switch (t->type) {
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            mode = mode ? mode : 0755;
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, t->data);
            mode = 0777;
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, t->data);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        case 'b':
            archive_entry_set_filetype(e, AE_IFBLK);
            archive_entry_set_rdev(e, makedev(8, 0));
            break;
        case 'p':
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        default:
            archive_entry_set_filetype(e, AE_IFREG);
            size = t->zero_size ? t->zero_size : (t->data ? strlen(t->data) : 0);
            break;
        }
        char *content = NULL;
        if (t->from_file && !(content = slurp(t->from_file, &size)))
            return -1;
        archive_entry_set_perm(e, mode ? mode : 0644);
        archive_entry_set_size(e, (la_int64_t)size);
        archive_entry_set_uid(e, t->uid);
        archive_entry_set_gid(e, t->gid);
        archive_entry_set_mtime(e, t->mtime ? t->mtime : 1000000000, 0);
        if (t->xattr_name)
            archive_entry_xattr_add_entry(e, t->xattr_name, t->xattr_value, strlen(t->xattr_value));
        if (archive_write_header(a, e) != ARCHIVE_OK) {
            fprintf(stderr, "tar_build: %s: %s\n", t->path, archive_error_string(a));
            archive_entry_free(e);
            archive_write_free(a);
            return -1;
        }
        if (t->zero_size) {
            for (uint64_t left = t->zero_size; left;) {
                size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
                archive_write_data(a, zeros, k);
                left -= k;
            }
        } else if (size) {
            archive_write_data(a, content ? content : t->data, size);
        }
        free(content);
        archive_entry_free(e);
    }
    int r = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;
    archive_write_free(a);
    return r;
}

/* A recursive listing of dir: type, mode, owner, size, mtime, link target, content digest. */
static inline void tree_walk(int dfd, const char *prefix, struct buf *out)
{
    int fd2 = dup(dfd);
    DIR *d = fdopendir(fd2);
    if (!d)
        return;
    /* sorted names: readdir order is not stable across runs */
    char *names[4096];
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 4096;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(names[k], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[k];
                names[k] = t;
            }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char link[256] = "", hex[DIGEST_HEX_LEN + 1] = "";
        fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW);
        if (S_ISLNK(st.st_mode))
            readlinkat(dfd, names[i], link, sizeof(link) - 1);
        if (S_ISREG(st.st_mode)) {
            int fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW);
            digest_fd(fd, hex, NULL);
            close(fd);
        }
        buf_printf(out, "%s/%s %o %d:%d %lld %lld %s %s\n", prefix, names[i], st.st_mode, st.st_uid,
                   st.st_gid, (long long)st.st_size, (long long)st.st_mtime, link, hex);
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            char p[1024];
            snprintf(p, sizeof(p), "%s/%s", prefix, names[i]);
            tree_walk(sub, p, out);
            close(sub);
        }
        free(names[i]);
    }
}

static inline char *tree_snapshot(const char *dir)
{
    struct buf b = {0};
    buf_puts(&b, "");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        tree_walk(fd, "", &b);
        close(fd);
    }
    return b.data;
}

static inline char *scratch_dir(void)
{
    /* /var/tmp, not /tmp: a disk filesystem with user.* and trusted.* xattrs everywhere */
    const char *base = getenv("HUTCH_TEST_TMPDIR") ? getenv("HUTCH_TEST_TMPDIR") : "/var/tmp";
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/hutch-test-XXXXXX", base);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

#endif
