/* SPDX-License-Identifier: MIT */
/* Jobs (job.c) as seen by the rest of the library: what `hutch gc` needs. Each job keeps its
 * staging under HUTCH_RUN/.jobs/<id>/ (lock, hutch/ with input.json and output/, copied inputs,
 * the workspace overlay's upper) — a name no sandbox id can take, so the sandbox state walk of
 * ps/gc never sees it. */
#ifndef HUTCH_JOB_H
#define HUTCH_JOB_H

#include "error.h"
#include "util.h"

struct hutch_ctx;

#define JOB_RUN_SUBDIR ".jobs"

/* Remove the staging directories of dead jobs (their lock is free) and what dead jobs left in
 * the caches. Appends JSON strings naming what went to removed (an array body). */
int job_gc(struct hutch_ctx *ctx, struct buf *removed, struct hutch_error **err);

#endif
