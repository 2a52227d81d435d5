/* SPDX-License-Identifier: MIT */
/*
 * Inputs in, artifacts out. Both copy through file descriptors and never follow a symlink: a
 * symlink is copied as a symlink. Artifacts are read in the sandbox's own mount namespace (kept
 * by the core after the workload ends, spec->keep_mntns) by a forked helper, so paths resolve
 * in the sandbox's view — its "/" is the sandbox's root, and the host is not visible there at
 * all. By then every process of the sandbox is dead, so nothing can swap a directory for a
 * symlink during the copy (CVE-2018-15664 class), and the copy uses fds anyway.
 */
#ifndef HUTCH_ARTIFACTS_H
#define HUTCH_ARTIFACTS_H

#include <stdint.h>

#include "error.h"
#include "jobfile.h"

enum artifact_kind { ARTIFACT_FILE = 1, ARTIFACT_DIR, ARTIFACT_SYMLINK };

struct artifact_result {
    int status; /* 0, or -errno (-ENOENT: missing) */
    enum artifact_kind kind;
    uint64_t size;     /* bytes of regular files */
    uint64_t files;    /* regular files copied */
    uint64_t skipped;  /* devices, fifos and sockets left out */
    char sha256[65];   /* file: its content; directory: digest of the sha256sum-style listing
                        * "<sha256>  <relative path>\n" of its files, and "-> <target>  <path>\n"
                        * for its symlinks, depth first in byte order of names; symlink: of its
                        * target text */
    char target[256];  /* symlink target (truncated) */
    char message[256]; /* why status != 0 */
};

/*
 * Copy each artifact (path in the sandbox, absolute or relative to workdir) to dest_dir/name,
 * (mntns_fd < 0, a bare job: paths resolve inside root_dir as if it were "/"),
 * replacing what is there. results[i] tells how artifact i went; a missing artifact is not an
 * error of this call. Returns 0, or -errno when the helper could not run at all.
 */
int artifacts_copy_out(int mntns_fd, const char *root_dir, const char *workdir,
                       const struct job_artifact *list, int n, const char *dest_dir,
                       struct artifact_result *results, struct hutch_error **err);

/* Read one regular file (at most max bytes) from the sandbox's view. -ENOENT if missing,
 * -EFBIG if larger, -EINVAL if not a regular file. */
int artifacts_read_file(int mntns_fd, const char *root_dir, const char *path, size_t max,
                        char **data, size_t *len, struct hutch_error **err);

/* The same from a host directory of hutch's own (the job's /hutch/output staging): name is
 * resolved beneath dirfd without any symlink. */
int artifacts_read_file_at(int dirfd, const char *name, size_t max, char **data, size_t *len);

/* Copy src (relative to ws_fd and resolved beneath it) to dst_dirfd/dst_name. */
int artifacts_stage_input(int ws_fd, const char *src, int dst_dirfd, const char *dst_name,
                          struct hutch_error **err);

#endif
