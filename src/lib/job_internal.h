/* SPDX-License-Identifier: MIT */
/* The job object shared by the story (job.c) and the staging (job_stage.c). */
#ifndef HUTCH_JOB_INTERNAL_H
#define HUTCH_JOB_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "devcontainer.h"
#include "job.h"
#include "jobfile.h"
#include "sandbox.h"

#define DEFAULT_WORKSPACE "/workspace"

struct cache_use;

struct hutch_job {
    struct hutch_ctx *ctx;
    hutch_event_fn on_event;
    void *userdata;
    int stdout_fd, stderr_fd;
    bool output_events;
    char *want_id, *job_id, *artifacts_dir;
    char *workspace; /* realpath on the host */
    char *ws_dst;    /* where it appears in the sandbox */
    struct jobfile *jf, *profile;
    bool profile_enforced; /* from the caller (--profile): applied after the job file */
    struct devcontainer dc;
    struct hutch_spec *spec;
    uid_t uid;
    gid_t gid;
    char *home;
    char id[SANDBOX_ID_LEN + 1];
    char *dir; /* HUTCH_RUN/.jobs/<id> */
    int dir_fd, lock_fd;
    struct cache_use **caches;
    int ncaches;
    struct hutch_sandbox *sb;
    struct buf ev;
    bool started, finished;
    int status;
};

/* RUN/.jobs/<id> (locked), the workspace mount, /hutch, the inputs. */
int job_stage(struct hutch_job *j, struct hutch_error **err);
/* caches: auto and the file's, each added to the spec. */
int job_acquire_caches(struct hutch_job *j, struct hutch_error **err);
/* The tools' cache variables and HUTCH_JOB_ID, HUTCH_SANDBOX_ID, HUTCH_OUTPUT_DIR, HUTCH_INPUT. */
int job_env(struct hutch_job *j, struct hutch_error **err);
/* Release the caches and remove the staging directory (idempotent). */
void job_cleanup(struct hutch_job *j);

#endif
