/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for layer extraction (src/lib/layer.c): each input is a layer (tar, maybe
 * compressed) extracted into a fresh directory beside a decoy directory; after each run the
 * decoy must be untouched and nothing may have appeared beside the layer. The first byte
 * picks image or plain mode and whether file capabilities are allowed. Needs root.
 */
#include "layer.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int base_fd = -1;

static void setup(void)
{
    char path[] = "/var/tmp/hutch-fuzz-layer-XXXXXX";
    if (!mkdtemp(path))
        abort();
    base_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0 || mkdirat(base_fd, "decoy", 0755) < 0)
        abort();
    int fd = openat(base_fd, "decoy/secret", O_WRONLY | O_CREAT, 0600);
    if (fd < 0 || write(fd, "decoy\n", 6) != 6)
        abort();
    close(fd);
    fprintf(stderr, "fuzz_layer: working in %s\n", path);
}

/* Only "decoy" (holding only an unchanged "secret") and "x" may be in the base directory. */
static void check_decoy(void)
{
    int fd = dup(base_fd);
    DIR *d = fdopendir(fd);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "decoy") &&
            strcmp(de->d_name, "x"))
            abort();
    closedir(d);
    struct stat st;
    if (fstatat(base_fd, "decoy/secret", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_size != 6 ||
        (st.st_mode & 07777) != 0600 || st.st_nlink != 1 || st.st_uid != 0)
        abort();
    int dfd = openat(base_fd, "decoy", O_RDONLY | O_DIRECTORY);
    d = fdopendir(dfd);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "secret"))
            abort();
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (base_fd < 0)
        setup();
    if (size < 1)
        return 0;
    struct layer_opts o = {
        .mode = (data[0] & 1) ? LAYER_MODE_PLAIN : LAYER_MODE_IMAGE,
        .comp = IMAGE_COMP_DETECT,
        .allow_file_caps = data[0] & 2,
        .max_bytes = 16u << 20,
        .max_files = 4096,
    };
    int src = memfd_create("layer", MFD_CLOEXEC);
    if (src < 0 || write_all(src, data + 1, size - 1) < 0 || lseek(src, 0, SEEK_SET) < 0)
        abort();
    if (mkdirat(base_fd, "x", 0755) < 0)
        abort();
    int dst = openat(base_fd, "x", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct layer_result res;
    struct hutch_error *err = NULL;
    layer_extract(src, dst, &o, &res, &err);
    hutch_error_free(err);
    close(dst);
    close(src);
    check_decoy();
    if (rm_tree_at(base_fd, "x") < 0)
        abort();
    return 0;
}
