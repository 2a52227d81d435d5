/* SPDX-License-Identifier: MIT */
/*
 * hutch.h - the one public header of libhutch, a daemonless Linux sandbox executor.
 *
 * Objects are opaque; every fallible call returns 0 (or a non-negative value) on success and
 * a negative errno on failure, and fills *err with a chained error the caller frees with
 * hutch_error_free(). No call exits or aborts the process. The library keeps no global state:
 * one thread may run many sandboxes, each exposing one pollable fd.
 *
 * Typical use:
 *
 *     struct hutch_ctx *ctx; struct hutch_spec *spec; struct hutch_sandbox *sb;
 *     hutch_ctx_new(NULL, &ctx, &err);
 *     hutch_spec_new(&spec);
 *     hutch_spec_set(spec, "rootfs", "/srv/rootfs", &err);
 *     hutch_spec_set_argv(spec, argc, argv, &err);
 *     struct hutch_start_opts o = { .sz = sizeof(o), .on_event = cb, .stdout_fd = 1, .stderr_fd = 2 };
 *     hutch_sandbox_start(ctx, spec, &o, &sb, &err);
 *     int status = hutch_sandbox_wait(sb, &err);     // or poll hutch_sandbox_fd() + dispatch
 *     hutch_sandbox_destroy(sb);
 */
#ifndef HUTCH_H
#define HUTCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HUTCH_API
#define HUTCH_API __attribute__((visibility("default")))
#endif

#define HUTCH_EVENT_SCHEMA_VERSION 1

/* Exit statuses (DESIGN.md §4). A workload's own status passes through unchanged. */
#define HUTCH_EXIT_TIMEOUT        124
#define HUTCH_EXIT_INTERNAL       125
#define HUTCH_EXIT_NOT_EXECUTABLE 126
#define HUTCH_EXIT_NOT_FOUND      127

/* ---------------------------------------------------------------- errors */

struct hutch_error;

/* The errno of this link of the chain (positive). */
HUTCH_API int hutch_error_errno(const struct hutch_error *err);
/* What was being done ("mount", "parse"), may be NULL. */
HUTCH_API const char *hutch_error_op(const struct hutch_error *err);
/* The thing that failed: a path, a field, an option, an interface; may be NULL. */
HUTCH_API const char *hutch_error_subject(const struct hutch_error *err);
HUTCH_API const char *hutch_error_message(const struct hutch_error *err);
/* The deeper cause, or NULL. */
HUTCH_API const struct hutch_error *hutch_error_cause(const struct hutch_error *err);
/* The exit status a CLI should use for this error: 125, or 126/127 for a command that is not
 * executable / not found. */
HUTCH_API int hutch_error_exit_status(const struct hutch_error *err);
/* The whole chain on one line ("a: b: c"); the caller frees the string. NULL on ENOMEM. */
HUTCH_API char *hutch_error_format(const struct hutch_error *err);
HUTCH_API void hutch_error_free(struct hutch_error *err);

/* ---------------------------------------------------------------- context */

/* A context holds the store and run directories and caches shared between sandboxes (compiled
 * seccomp filters, cgroup mount discovery). Use one per thread. */
struct hutch_ctx;

struct hutch_ctx_opts {
    size_t sz;                /* sizeof(struct hutch_ctx_opts) */
    const char *root;         /* HUTCH_ROOT: image store, caches (default $HUTCH_ROOT or /var/lib/hutch) */
    const char *run_dir;      /* HUTCH_RUN: live sandbox state (default $HUTCH_RUN or /run/hutch) */
    const char *policies_dir; /* seccomp and profile files (default: installed policies) */
};

HUTCH_API int hutch_ctx_new(const struct hutch_ctx_opts *opts, struct hutch_ctx **out,
                            struct hutch_error **err);
HUTCH_API void hutch_ctx_free(struct hutch_ctx *ctx);
HUTCH_API const char *hutch_ctx_root(const struct hutch_ctx *ctx);
HUTCH_API const char *hutch_ctx_run_dir(const struct hutch_ctx *ctx);

/* ---------------------------------------------------------------- spec */

/* What to run and how. Built with setters; validated in full before anything is created. */
struct hutch_spec;

HUTCH_API int hutch_spec_new(struct hutch_spec **out);
HUTCH_API void hutch_spec_free(struct hutch_spec *spec);

/* The command; argv[0] is looked up in the sandbox's PATH when it has no '/'. */
HUTCH_API int hutch_spec_set_argv(struct hutch_spec *spec, int argc, const char *const *argv,
                                  struct hutch_error **err);

/*
 * Set one option by the name of its `hutch run` flag, with the flag's value syntax. Options
 * that may repeat (env, volume, tmpfs, cap-add, cap-drop, device-*-bps|iops) append.
 * Boolean options take "true"/"false" (or "" for true).
 *
 *   rootfs DIR · image REF · env KEY=VAL · workdir DIR · user UID[:GID]|NAME · hostname NAME
 *   volume SRC:DST[:ro] · tmpfs DST[:size=N,mode=M] · read-only · cap-add CAP · cap-drop CAP|ALL
 *   tty · interactive · timeout SECONDS · kill-grace SECONDS · max-output BYTES[K|M|G]
 *   memory BYTES · memory-reservation BYTES · cpus N.N · cpu-shares N · cpu-weight N
 *   cpuset-cpus LIST · pids-limit N · device-read-bps|device-write-bps|device-read-iops|
 *   device-write-iops DEV:RATE · cgroup-parent PATH · network none|host|bridge[=NAME]|
 *   internal=NAME|sandbox=ID · security-opt seccomp=PATH|default|strict|unconfined |
 *   no-new-privileges=BOOL · privileged · userns host|auto|MAP · upper-size BYTES · init BOOL
 *
 * Returns -EINVAL with an error naming the option and what was expected.
 */
HUTCH_API int hutch_spec_set(struct hutch_spec *spec, const char *option, const char *value,
                             struct hutch_error **err);

/* ---------------------------------------------------------------- events */

enum hutch_event_type {
    HUTCH_EVENT_SANDBOX_CREATE = 1,
    HUTCH_EVENT_PHASE,
    HUTCH_EVENT_PROCESS_START,
    HUTCH_EVENT_OUTPUT,
    HUTCH_EVENT_PROCESS_END,
    HUTCH_EVENT_ARTIFACT,
    HUTCH_EVENT_CACHE_COMMIT,
    HUTCH_EVENT_SANDBOX_REMOVE,
    HUTCH_EVENT_ERROR,
    HUTCH_EVENT_WARNING,
};

struct hutch_event;

HUTCH_API enum hutch_event_type hutch_event_type(const struct hutch_event *ev);
/* The event as one JSON object, without a trailing newline (schema: docs in hutch(1)). */
HUTCH_API const char *hutch_event_json(const struct hutch_event *ev, size_t *len);

typedef void (*hutch_event_fn)(const struct hutch_event *ev, void *userdata);

/* ---------------------------------------------------------------- sandboxes */

struct hutch_sandbox;

struct hutch_start_opts {
    size_t sz;               /* sizeof(struct hutch_start_opts) */
    hutch_event_fn on_event; /* called from hutch_sandbox_dispatch()/wait(); may be NULL */
    void *userdata;
    int stdin_fd;            /* with the "interactive" option: the workload's input (or -1) */
    int stdout_fd;           /* passthrough of the workload's stdout, or -1 for none */
    int stderr_fd;           /* passthrough of the workload's stderr, or -1 for none */
    bool output_events;      /* also deliver output as `output` events */
    const char *id;          /* sandbox id; NULL picks a random one */
};

/* Prepare and launch a sandbox. On success the workload runs; supervise it through
 * hutch_sandbox_fd() + hutch_sandbox_dispatch() or hutch_sandbox_wait(). */
HUTCH_API int hutch_sandbox_start(struct hutch_ctx *ctx, const struct hutch_spec *spec,
                                  const struct hutch_start_opts *opts,
                                  struct hutch_sandbox **out, struct hutch_error **err);
HUTCH_API const char *hutch_sandbox_id(const struct hutch_sandbox *sb);
/* One fd that is readable whenever hutch_sandbox_dispatch() has work. */
HUTCH_API int hutch_sandbox_fd(const struct hutch_sandbox *sb);
/* Do the ready work without blocking. Returns 1 once the sandbox has ended (its process.end
 * event delivered), 0 while it runs, <0 on error. */
HUTCH_API int hutch_sandbox_dispatch(struct hutch_sandbox *sb, struct hutch_error **err);
/* Block until the sandbox ends; returns its exit status (0..255, DESIGN.md §4) or <0. */
HUTCH_API int hutch_sandbox_wait(struct hutch_sandbox *sb, struct hutch_error **err);
/* Forward a signal to the workload (through the sandbox's init). SIGKILL kills everything. */
HUTCH_API int hutch_sandbox_kill(struct hutch_sandbox *sb, int sig);
/* Set the terminal size of a -t sandbox. */
HUTCH_API int hutch_sandbox_resize(struct hutch_sandbox *sb, unsigned rows, unsigned cols);
/* Exit status once ended, else -EBUSY. */
HUTCH_API int hutch_sandbox_exit_status(const struct hutch_sandbox *sb);
HUTCH_API pid_t hutch_sandbox_pid(const struct hutch_sandbox *sb);
/* Kill what still runs, tear everything down (emitting sandbox.remove) and free. */
HUTCH_API void hutch_sandbox_destroy(struct hutch_sandbox *sb);

/* ---------------------------------------------------------------- images */

/* Progress of an import, for a progress bar: bytes and layers done of the totals (0 = unknown). */
typedef void (*hutch_progress_fn)(uint64_t bytes_done, uint64_t bytes_total, unsigned layers_done,
                                  unsigned layers_total, void *userdata);

struct hutch_image_import_opts {
    size_t sz;              /* sizeof(struct hutch_image_import_opts) */
    const char *name;       /* NAME:TAG to record (required for a plain rootfs tarball) */
    const char *platform;   /* "linux/amd64" (default) for multi-platform indexes */
    bool allow_file_caps;   /* keep security.capability xattrs (refused by default) */
    uint64_t max_layer_bytes; /* decompression-bomb limits per layer (0 = defaults) */
    uint64_t max_layer_files;
    hutch_progress_fn progress;
    void *userdata;
    /* something skipped while extracting (a device node, an unsupported xattr); may be NULL */
    void (*warning)(const char *message, void *userdata);
};

/* Import an OCI layout directory, an oci-archive, a docker-archive or a rootfs tarball.
 * On success *ref_out (caller frees, may be NULL) names the image as NAME:TAG. */
HUTCH_API int hutch_image_import(struct hutch_ctx *ctx, const char *source,
                                 const struct hutch_image_import_opts *opts, char **ref_out,
                                 struct hutch_error **err);
/* JSON documents the caller frees: an array of images; one image's manifest, config, layers;
 * the list of what prune removed. */
HUTCH_API int hutch_image_list(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err);
HUTCH_API int hutch_image_inspect(struct hutch_ctx *ctx, const char *ref, char **json_out,
                                  struct hutch_error **err);
HUTCH_API int hutch_image_remove(struct hutch_ctx *ctx, const char *ref, struct hutch_error **err);
HUTCH_API int hutch_image_prune(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err);

/* ---------------------------------------------------------------- lifecycle */

/* Live and dead sandboxes under the run directory, as a JSON array (id, pid, image, command,
 * created, state). */
HUTCH_API int hutch_ps(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err);
/* A signal by name or number, as `kill` and an image's StopSignal take it: "TERM", "SIGTERM",
 * "sigterm" or "15". Returns the number, or -EINVAL. */
HUTCH_API int hutch_signal_from_name(const char *name);
/* Signal a sandbox of this run directory by id. */
HUTCH_API int hutch_kill(struct hutch_ctx *ctx, const char *id, int sig, struct hutch_error **err);
/* Remove everything dead sandboxes left behind; safe while others run. *json_out lists what was
 * removed (may be NULL). */
HUTCH_API int hutch_gc(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err);

/* ---------------------------------------------------------------- jobs */

/*
 * A job runs a job file (.hutch.yaml, hutch-job(5)) in its workspace: the environment from the
 * file (or .devcontainer/devcontainer.json, or the default image), warm caches, inputs in,
 * /hutch/output/output.json reported as an `output` event with "stream":"result" and the parsed
 * JSON in "result", artifacts copied out (`artifact` events), overlay caches committed when the
 * workload exits 0 (`cache.commit` events). Problems that do not fail the job (a missing
 * artifact, an unreadable output.json) are `warning` events.
 *
 * hutch_job_run() does it all. The steps are there for callers that supervise the sandbox
 * themselves (signals, many jobs in one epoll loop):
 *
 *     hutch_job_new(ctx, file, &o, &job, &err);  // parse and check; nothing created yet
 *     hutch_job_start(job, &err);                // caches, staging, the sandbox
 *     ... poll hutch_sandbox_fd(hutch_job_sandbox(job)) + hutch_sandbox_dispatch() ...
 *     int status = hutch_job_finish(job, &err);  // output, artifacts, commit, teardown
 *     hutch_job_free(job);
 */
struct hutch_job;

struct hutch_job_opts {
    size_t sz;                 /* sizeof(struct hutch_job_opts) */
    const char *workspace;     /* the checkout (default: the current directory) */
    const char *artifacts_dir; /* where artifacts go (NULL: not copied, a warning says so) */
    /* policies/profiles/NAME.yaml: replaces the file's `profile` and, unlike it, is applied
     * after the file's settings, so an untrusted file can not loosen it */
    const char *profile;
    /* "option=value" pairs with hutch_spec_set() names (e.g. "memory=1G", "read-only="),
     * NULL-terminated; applied after the file, so they override it */
    char *const *overrides;
    const char *id;     /* sandbox id; NULL picks a random one */
    const char *job_id; /* HUTCH_JOB_ID in the sandbox (default: the sandbox id) */
    hutch_event_fn on_event; /* may be NULL */
    void *userdata;
    int stdout_fd; /* passthrough of the workload's stdout, or -1 */
    int stderr_fd; /* passthrough of the workload's stderr, or -1 */
    bool output_events; /* also deliver output as `output` events */
};

/* Read and check a job file (NULL: WORKSPACE/.hutch.yaml); errors name FILE:LINE:COL. */
HUTCH_API int hutch_job_new(struct hutch_ctx *ctx, const char *file,
                            const struct hutch_job_opts *opts, struct hutch_job **out,
                            struct hutch_error **err);
HUTCH_API int hutch_job_start(struct hutch_job *job, struct hutch_error **err);
/* The job's sandbox once started (else NULL); owned by the job. */
HUTCH_API struct hutch_sandbox *hutch_job_sandbox(const struct hutch_job *job);
/* Wait for the workload if it still runs, then output, artifacts, cache commits and teardown.
 * Returns the workload's exit status (DESIGN.md §4) or <0. */
HUTCH_API int hutch_job_finish(struct hutch_job *job, struct hutch_error **err);
/* Tear down whatever is left (a job that was not finished is killed) and free. */
HUTCH_API void hutch_job_free(struct hutch_job *job);
/* new + start + finish + free. On success *exit_status is the workload's status. */
HUTCH_API int hutch_job_run(struct hutch_ctx *ctx, const char *file,
                            const struct hutch_job_opts *opts, int *exit_status,
                            struct hutch_error **err);

#ifdef __cplusplus
}
#endif
#endif /* HUTCH_H */
