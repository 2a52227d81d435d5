/* SPDX-License-Identifier: MIT */
/*
 * Warm caches for jobs, under ROOT/caches/shared/<name>/ or ROOT/caches/workspace/<key>/<name>/:
 *
 *   data/            bind mode: the one shared read-write directory
 *   lock             flock: taken for choosing a lower, committing and pruning
 *   current          overlay mode: the number of the last committed generation ("N\n")
 *   gen/<N>/         committed snapshots, never modified once renamed into place
 *   users/<id>       "N\n": job <id> mounts generation N as its lower; flock'ed by that job
 *                    for as long as it lives (a lock nobody holds = a dead job)
 *   jobs/<id>/       upper/ and work/ of job <id>'s overlay
 *   tmp/<id>.gen     a generation being built by job <id>
 *
 * Every component is opened from ROOT without following symlinks: a cache directory replaced
 * by a symlink between runs is refused, never followed (CVE-2024-42472 class). Removal uses
 * rm_tree_at (no symlink followed, no other filesystem entered) and only touches entries this
 * module made (CVE-2024-23652 class).
 *
 * A commit applies the job's upper (whiteouts delete, opaque directories replace) onto its
 * lower and publishes the result as gen/<N+1> and current by two renames under the lock, so a
 * job either sees a whole generation or the one before; when jobs race, the last successful
 * commit wins. When the job is the only one on the current generation, that generation is
 * moved out of gen/ and changed in place, under the lock (a cost in proportion to what the job
 * wrote; interrupted, it leaves current naming a missing generation: the next job starts cold,
 * never on half a commit). Otherwise the new generation is built beside the others, outside the
 * lock, as hard links to the lower's files (they are never modified) plus the upper.
 */
#ifndef HUTCH_CACHE_H
#define HUTCH_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "jobfile.h"
#include "util.h"

struct hutch_spec;
struct cache_use;

struct cache_request {
    const char *name; /* jobfile_name_ok() */
    const char *dst;  /* absolute path in the sandbox */
    enum job_cache_scope scope;
    enum job_cache_mode mode;
    const char *scope_key; /* workspace scope: the key (or the workspace path's hash) */
    uid_t uid;             /* owner of the directory the sandbox writes to */
    gid_t gid;
};

/* Prepare one cache for sandbox <id> and add its volume to spec. spec NULL (a bare host
 * process: nothing is mounted): bind mode only, the directory is cache_host_dir(). */
int cache_acquire(const char *root, const char *id, const struct cache_request *req,
                  struct hutch_spec *spec, struct cache_use **out, struct hutch_error **err);
enum job_cache_mode cache_mode(const struct cache_use *u);
/* Bind mode: the shared directory's host path (owned by u; valid until cache_release). */
const char *cache_host_dir(const struct cache_use *u);
const char *cache_name(const struct cache_use *u);
/* Overlay mode, after the job succeeded and its mounts are gone: make lower + upper the new
 * current generation, *gen. An empty upper changes nothing: no new generation, *changed false,
 * *gen the lower's. *bytes: the new generation's file bytes. Out pointers may be NULL. */
int cache_commit(struct cache_use *u, unsigned *gen, uint64_t *bytes, bool *changed,
                 struct hutch_error **err);
/* Remove this job's upper and usage record, prune unused generations, free u. NULL is fine. */
void cache_release(struct cache_use *u);

/* For hutch gc: in every cache, remove what dead jobs left (uppers, usage records, unfinished
 * generations) and prune. Appends "SCOPE/NAME ID" strings to *removed (a JSON array body). */
int cache_gc(const char *root, struct buf *removed, struct hutch_error **err);

#endif
