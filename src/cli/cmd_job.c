/* SPDX-License-Identifier: MIT */
/* hutch job: a job file, the flags of `hutch run` as overrides, signals forwarded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char usage_text[] =
    "usage: hutch job [--workspace DIR] [--artifacts-dir DIR] [--profile NAME]\n"
    "                 [--job-id ID] [RUN-OPTIONS] [FILE]\n"
    "Runs the job file FILE (default WORKSPACE/.hutch.yaml, see hutch-job(5)) in a sandbox with\n"
    "the workspace (default: the current directory) mounted at /workspace.\n"
    "  --workspace DIR       the checkout the job runs on\n"
    "  --artifacts-dir DIR   where the job's artifacts are copied (none copied without it)\n"
    "  --profile NAME        untrusted, ci, trusted (policies/profiles/NAME.yaml): replaces\n"
    "                        the file's profile and is applied after the file's settings\n"
    "  --job-id ID           HUTCH_JOB_ID in the sandbox (default: the sandbox id)\n"
    "RUN-OPTIONS are those of `hutch run` (--events, --id, -m, --cpus, -e, -v, --network, ...):\n"
    "they override the job file.\n";

/* ---------------------------------------------------------------- arguments */

struct job_args {
    const char *workspace, *artifacts_dir, *profile, *job_id;
    char **overrides; /* "option=value", NULL-terminated */
    size_t n;
    struct hutch_spec *scratch; /* each override is checked as it is read */
};

static int collect(void *ud, const char *option, const char *value, struct hutch_error **err)
{
    struct job_args *ja = ud;
    int r = hutch_spec_set(ja->scratch, option, value, err);
    if (r < 0)
        return r;
    char **nv = realloc(ja->overrides, sizeof(char *) * (ja->n + 2));
    if (!nv)
        return -ENOMEM;
    ja->overrides = nv;
    if (asprintf(&nv[ja->n], "%s=%s", option, value ? value : "") < 0)
        return -ENOMEM;
    nv[++ja->n] = NULL;
    return 0;
}

/* Take hutch job's own flags out of argv (into ja); the rest goes to the run flag parser. */
static int take_own_flags(int argc, char **argv, struct job_args *ja, char **rest, int *nrest)
{
    static const char *const own[] = {"workspace", "artifacts-dir", "profile", "job-id"};
    const char **slots[] = {&ja->workspace, &ja->artifacts_dir, &ja->profile, &ja->job_id};
    int n = 0;
    rest[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        size_t k = 0, len = 0;
        const char *a = argv[i], *eq = NULL;
        if (!strcmp(a, "--")) { /* a job's command is in its file */
            while (i < argc)
                rest[n++] = argv[i++];
            break;
        }
        if (!strncmp(a, "--", 2)) {
            eq = strchr(a + 2, '=');
            len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            while (k < ARRAY_LEN(own) && (strlen(own[k]) != len || strncmp(own[k], a + 2, len)))
                k++;
        }
        if (strncmp(a, "--", 2) || k == ARRAY_LEN(own)) {
            rest[n++] = argv[i];
            continue;
        }
        if (!eq && i + 1 >= argc)
            return cli_usage_error("%s needs a value", a);
        *slots[k] = eq ? eq + 1 : argv[++i];
    }
    rest[n] = NULL;
    *nrest = n;
    return 0;
}

static int run_job(struct hutch_ctx *ctx, const char *file, const struct hutch_job_opts *o, int sfd,
                   struct cli_sink *sink)
{
    struct hutch_error *err = NULL;
    struct hutch_job *job = NULL;
    int status;
    if (hutch_job_new(ctx, file, o, &job, &err) < 0 || hutch_job_start(job, &err) < 0) {
        cli_sink_flush(sink);
        status = cli_fail(err);
    } else {
        cli_supervise(hutch_job_sandbox(job), sfd, sink, NULL);
        status = hutch_job_finish(job, &err); /* waits if supervision broke off */
        if (status < 0)
            status = cli_fail(err);
    }
    hutch_job_free(job);
    cli_sink_flush(sink);
    return status;
}

int cmd_job(int argc, char **argv)
{
    for (int i = 1; i < argc && argv[i][0] == '-'; i++)
        if (!strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
    struct job_args ja = {0};
    struct run_args a;
    struct hutch_error *err = NULL;
    struct hutch_ctx *ctx = NULL;
    struct cli_sink sink = CLI_SINK_INIT;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0, status;
    if (!rest || hutch_spec_new(&ja.scratch) < 0)
        return cli_usage_error("out of memory");
    if ((status = take_own_flags(argc, argv, &ja, rest, &nrest)) != 0)
        goto out;
    if (args_parse_run_fn(nrest, rest, collect, &ja, &a, &err) < 0) {
        status = err ? cli_fail(err) : cli_usage_error("%s", a.error);
        goto out;
    }
    if (a.dashdash || nrest - a.first_positional > 1) {
        status = cli_usage_error("job: give at most one job FILE (the command is in the file)");
        goto out;
    }
    if (cli_ctx(&ctx) < 0) {
        status = HUTCH_EXIT_INTERNAL;
        goto out;
    }
    if (a.events && (status = cli_sink_open(a.events, &sink)) != 0)
        goto out;
    bool events_on_stdout = a.events && !strcmp(a.events, "-");

    /* signals are read from a signalfd in the loop */
    int sfd = cli_signals_take(false);

    struct hutch_job_opts o = {
        .sz = sizeof(o),
        .workspace = ja.workspace,
        .artifacts_dir = ja.artifacts_dir,
        .profile = ja.profile,
        .overrides = ja.overrides,
        .id = a.id,
        .job_id = ja.job_id,
        .on_event = a.events ? cli_sink_event : NULL,
        .userdata = &sink,
        .stdout_fd = events_on_stdout ? -1 : STDOUT_FILENO,
        .stderr_fd = events_on_stdout ? -1 : STDERR_FILENO,
        .output_events = a.events != NULL,
    };
    const char *file = a.first_positional < nrest ? rest[a.first_positional] : NULL;
    status = run_job(ctx, file, &o, sfd, &sink);
    if (sfd >= 0)
        close(sfd);
out:
    for (size_t i = 0; i < ja.n; i++)
        free(ja.overrides[i]);
    free(ja.overrides);
    free(rest);
    cli_sink_close(&sink);
    hutch_spec_free(ja.scratch);
    hutch_ctx_free(ctx);
    return status;
}
