/* SPDX-License-Identifier: MIT */
/* hutch job: a job file, the flags of `hutch run` as overrides, signals forwarded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
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

/* ---------------------------------------------------------------- events to a file or stdout */

struct sink {
    int fd;
    struct {
        char *data;
        size_t len, cap;
    } b;
};

static void sink_flush(struct sink *s)
{
    size_t off = 0;
    while (s->fd >= 0 && off < s->b.len) {
        ssize_t n = write(s->fd, s->b.data + off, s->b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->fd = -1; /* a closed consumer: stop writing, keep running */
            break;
        }
        off += (size_t)n;
    }
    s->b.len = 0;
}

static void on_event(const struct hutch_event *ev, void *ud)
{
    struct sink *s = ud;
    size_t n;
    const char *json = hutch_event_json(ev, &n);
    if (s->b.len + n + 1 > s->b.cap) {
        sink_flush(s);
        if (n + 1 > s->b.cap) {
            char *nb = realloc(s->b.data, n + 1);
            if (!nb)
                return;
            s->b.data = nb;
            s->b.cap = n + 1;
        }
    }
    memcpy(s->b.data + s->b.len, json, n);
    s->b.data[s->b.len + n] = '\n';
    s->b.len += n + 1;
    if (hutch_event_type(ev) != HUTCH_EVENT_OUTPUT)
        sink_flush(s);
}

static int open_sink(const char *where, struct sink *s)
{
    s->b.cap = 256 * 1024;
    if (!(s->b.data = malloc(s->b.cap)))
        return cli_usage_error("out of memory");
    if (!strcmp(where, "-")) {
        s->fd = STDOUT_FILENO;
    } else if (!strncmp(where, "fd:", 3)) {
        char *end;
        long n = strtol(where + 3, &end, 10);
        if (!where[3] || *end || n < 0 || n > 1 << 20 || fcntl((int)n, F_GETFD) < 0)
            return cli_usage_error("--events: '%s' is not an open file descriptor", where);
        s->fd = (int)n;
    } else {
        s->fd = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (s->fd < 0)
            return cli_usage_error("--events: cannot open %s: %s", where, strerror(errno));
    }
    return 0;
}

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

/* ---------------------------------------------------------------- supervision */

static int supervise(struct hutch_job *job, int sfd, struct sink *sink)
{
    struct hutch_sandbox *sb = hutch_job_sandbox(job);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e1 = {.events = EPOLLIN, .data.u32 = 1};
    struct epoll_event e2 = {.events = EPOLLIN, .data.u32 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, hutch_sandbox_fd(sb), &e1);
    if (sfd >= 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e2);
    int terms = 0, r = 0;
    for (;;) {
        struct epoll_event evs[2];
        int n = epoll_wait(ep, evs, 2, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            struct signalfd_siginfo si;
            while (evs[i].data.u32 == 2 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                int sig = (int)si.ssi_signo;
                /* forwarded; the third interrupt kills the sandbox */
                if ((sig == SIGINT || sig == SIGTERM) && ++terms >= 3)
                    sig = SIGKILL;
                hutch_sandbox_kill(sb, sig);
            }
        }
        struct hutch_error *err = NULL;
        r = hutch_sandbox_dispatch(sb, &err);
        sink_flush(sink);
        if (r < 0) {
            cli_fail(err);
            hutch_sandbox_kill(sb, SIGKILL);
        }
        if (r != 0)
            break;
    }
    close(ep);
    return r < 0 ? r : 0;
}

static int run_job(struct hutch_ctx *ctx, const char *file, const struct hutch_job_opts *o, int sfd,
                   struct sink *sink)
{
    struct hutch_error *err = NULL;
    struct hutch_job *job = NULL;
    int status;
    if (hutch_job_new(ctx, file, o, &job, &err) < 0 || hutch_job_start(job, &err) < 0) {
        sink_flush(sink);
        status = cli_fail(err);
    } else {
        supervise(job, sfd, sink);
        status = hutch_job_finish(job, &err); /* waits if supervision broke off */
        if (status < 0)
            status = cli_fail(err);
    }
    hutch_job_free(job);
    sink_flush(sink);
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
    struct sink sink = {.fd = -1};
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
    if (a.events && (status = open_sink(a.events, &sink)) != 0)
        goto out;
    bool events_on_stdout = a.events && !strcmp(a.events, "-");

    /* signals are read from a signalfd in the loop; SIGPIPE must not kill us mid-teardown */
    sigset_t sigs;
    sigemptyset(&sigs);
    int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < ARRAY_LEN(fwd); i++)
        sigaddset(&sigs, fwd[i]);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);

    struct hutch_job_opts o = {
        .sz = sizeof(o),
        .workspace = ja.workspace,
        .artifacts_dir = ja.artifacts_dir,
        .profile = ja.profile,
        .overrides = ja.overrides,
        .id = a.id,
        .job_id = ja.job_id,
        .on_event = a.events ? on_event : NULL,
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
    free(sink.b.data);
    if (sink.fd > 2)
        close(sink.fd);
    hutch_spec_free(ja.scratch);
    hutch_ctx_free(ctx);
    return status;
}
