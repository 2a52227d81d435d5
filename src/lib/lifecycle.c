/* SPDX-License-Identifier: MIT */
/* ps, kill and gc over the run directory: each sandbox's state directory says what it made;
 * a state directory whose lock nobody holds belongs to a dead supervisor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctx.h"
#include "events.h"
#include "job.h"
#include "net.h"
#include "state.h"
#include "sys.h"
#include "userns.h"
#include "util.h"

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 4 || n > 64 || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
              (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-' || id[i] == '_'))
            return false;
    return true;
}

/* Call fn for every sandbox state directory under the run directory. */
static int for_each_state(struct hutch_ctx *ctx, int (*fn)(const char *dir, const char *id,
                                                            void *ud),
                          void *ud)
{
    DIR *d = opendir(ctx->run_dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *de;
    int r = 0;
    while (!r && (de = readdir(d))) {
        if (de->d_type != DT_DIR || !valid_id(de->d_name))
            continue;
        char dir[4096], lock[4200];
        snprintf(dir, sizeof(dir), "%s/%s", ctx->run_dir, de->d_name);
        /* a sandbox's state directory has its lock from birth; userns/, net/ ... do not */
        snprintf(lock, sizeof(lock), "%s/lock", dir);
        if (faccessat(AT_FDCWD, lock, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        r = fn(dir, de->d_name, ud);
    }
    closedir(d);
    return r;
}

static int ps_one(const char *dir, const char *id, void *ud)
{
    struct buf *b = ud;
    _cleanup_free_ char *info = NULL, *ipid = NULL;
    char p[4200];
    snprintf(p, sizeof(p), "%s/info.json", dir);
    read_file_at(AT_FDCWD, p, &info, NULL, 1 << 20);
    snprintf(p, sizeof(p), "%s/init.pid", dir);
    read_file_at(AT_FDCWD, p, &ipid, NULL, 64);
    bool live = state_is_live(dir);
    int r = buf_puts(b, b->len > 1 ? ",{" : "{");
    r = r ?: buf_printf(b, "\"id\":");
    r = r ?: json_append_string(b, id, strlen(id));
    r = r ?: event_str(b, "state", live ? "running" : "dead");
    r = r ?: event_i64(b, "init_pid", ipid ? atoi(ipid) : 0);
    /* info.json is ours: {"id":..,"pid":..,"created":..,"command":[..],...} */
    if (!r && info && info[0] == '{') {
        char *end = strrchr(info, '}');
        if (end) {
            *end = '\0';
            r = event_raw(b, "info", "{") ?: buf_puts(b, info + 1) ?: buf_puts(b, "}");
        }
    }
    return r ?: buf_puts(b, "}");
}

HUTCH_API int hutch_ps(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err)
{
    struct buf b = {0};
    int r = buf_puts(&b, "[");
    r = r ?: for_each_state(ctx, ps_one, &b);
    r = r ?: buf_puts(&b, "]");
    if (r < 0) {
        buf_free(&b);
        return hutch_err(err, r, "list", ctx->run_dir, "%s", strerror(-r));
    }
    *json_out = b.data;
    return 0;
}

HUTCH_API int hutch_signal_from_name(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                 {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
                 {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR},  {"ALRM", SIGALRM}};
    if (!name || !*name)
        return -EINVAL;
    uint64_t n;
    if (parse_u64(name, &n) == 0)
        return n > 0 && n < (uint64_t)NSIG ? (int)n : -EINVAL;
    if (!strncasecmp(name, "SIG", 3))
        name += 3;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (!strcasecmp(name, names[i].name))
            return names[i].sig;
    return -EINVAL;
}

HUTCH_API int hutch_kill(struct hutch_ctx *ctx, const char *id, int sig, struct hutch_error **err)
{
    if (!valid_id(id))
        return hutch_err(err, EINVAL, "validate", "id", "invalid sandbox id '%s'", id);
    char dir[4096], p[4200];
    snprintf(dir, sizeof(dir), "%s/%s", ctx->run_dir, id);
    if (!state_is_live(dir))
        return hutch_err(err, ESRCH, "kill", id, "no running sandbox with this id");
    _cleanup_free_ char *ipid = NULL;
    snprintf(p, sizeof(p), "%s/init.pid", dir);
    if (read_file_at(AT_FDCWD, p, &ipid, NULL, 64) < 0)
        return hutch_err(err, ESRCH, "kill", id, "the sandbox has no process yet");
    _cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, atoi(ipid), 0);
    /* the pidfd pins the process: if the sandbox is still live now, this is its init */
    if (pfd < 0 || !state_is_live(dir))
        return hutch_err(err, ESRCH, "kill", id, "the sandbox has ended");
    if (sys_pidfd_send_signal(pfd, sig) < 0)
        return hutch_err_sys(err, "kill", id);
    return 0;
}

struct gc_state {
    struct hutch_ctx *ctx;
    struct buf *b;
};

static int gc_one(const char *dir, const char *id, void *ud)
{
    struct gc_state *gs = ud;
    struct buf *b = gs->b;
    if (state_is_live(dir))
        return 0;
    struct hutch_error *e = NULL;
    /* the supervisor is dead; PDEATHSIG took init with it, the cgroup kill takes the rest */
    cgroup_gc(dir, &e);
    hutch_error_free(e);
    e = NULL;
    net_gc(gs->ctx, dir, &e);
    hutch_error_free(e);
    int r = state_remove(dir);
    if (r < 0)
        return 0; /* leave it for the next gc; never delete through a mount */
    return buf_puts(b, b->len > 1 ? "," : "") ?: json_append_string(b, id, strlen(id));
}

HUTCH_API int hutch_gc(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err)
{
    struct buf b = {0};
    int r = buf_puts(&b, "[");
    struct gc_state gs = {.ctx = ctx, .b = &b};
    r = r ?: for_each_state(ctx, gc_one, &gs);
    userns_gc(ctx->run_dir);
    /* after the dead sandboxes' leases are gone: networks nobody uses any more */
    struct hutch_error *ne = NULL;
    net_gc_networks(ctx, &ne);
    hutch_error_free(ne);
    /* job staging and cache uppers after the sandboxes: a dead job's sandbox goes first */
    r = r ?: job_gc(ctx, &b, err);
    r = r ?: buf_puts(&b, "]");
    if (r < 0) {
        buf_free(&b);
        return hutch_err(err, r, "gc", ctx->run_dir, "%s", strerror(-r));
    }
    if (json_out)
        *json_out = b.data;
    else
        buf_free(&b);
    return 0;
}
