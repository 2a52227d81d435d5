/* SPDX-License-Identifier: MIT */
/*
 * The story of a sandbox (DESIGN.md §2), one line per step. Each step is timed and reported as
 * a `phase` event and, on failure, everything done so far is undone by sandbox_teardown(),
 * which `hutch gc` reuses for sandboxes whose supervisor died.
 *
 * prepare: resolve → seccomp → state → cgroup → net → clone → attach → mounts (child)
 * launch:  creds → caps → no_new_privs → seccomp → close fds → execve (child)
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctx.h"
#include "net.h"
#include "resolve.h"
#include "seccomp.h"
#include "state.h"
#include "store.h"
#include "sync.h"
#include "sys.h"

#define PHASE(sb, name, expr)                                                                     \
    ({                                                                                            \
        uint64_t t0_ = now_mono_ns();                                                             \
        int r_ = (expr);                                                                          \
        if (r_ >= 0) {                                                                            \
            sandbox_emit_phase(sb, name, now_mono_ns() - t0_);                                    \
            test_pause_at(name);                                                                  \
        }                                                                                         \
        r_;                                                                                       \
    })

/* ---------------------------------------------------------------- events */

int sandbox_ev_begin(struct hutch_sandbox *sb, enum hutch_event_type t)
{
    sb->evbuf.len = 0;
    return event_begin(&sb->evbuf, t, sb->id, now_real_ns());
}

void sandbox_emit(struct hutch_sandbox *sb, enum hutch_event_type t)
{
    if (!sb->on_event || event_end(&sb->evbuf) < 0)
        return;
    struct hutch_event ev = {.type = t, .json = sb->evbuf.data, .len = sb->evbuf.len};
    sb->on_event(&ev, sb->userdata);
}

void sandbox_emit_phase(struct hutch_sandbox *sb, const char *name, uint64_t ns)
{
    if (!sb->on_event)
        return;
    if (sandbox_ev_begin(sb, HUTCH_EVENT_PHASE) == 0 && event_str(&sb->evbuf, "name", name) == 0 &&
        event_u64(&sb->evbuf, "ns", ns) == 0)
        sandbox_emit(sb, HUTCH_EVENT_PHASE);
}

void sandbox_emit_error(struct hutch_sandbox *sb, const struct hutch_error *err)
{
    if (!sb->on_event || !err)
        return;
    _cleanup_free_ char *line = hutch_error_format(err);
    if (sandbox_ev_begin(sb, HUTCH_EVENT_ERROR) == 0 &&
        event_i64(&sb->evbuf, "code", hutch_error_exit_status(err)) == 0 &&
        event_str(&sb->evbuf, "message", line ? line : err->message) == 0 &&
        event_error_chain(&sb->evbuf, "cause", err) == 0)
        sandbox_emit(sb, HUTCH_EVENT_ERROR);
}

static void emit_create(struct hutch_sandbox *sb)
{
    if (!sb->on_event || sandbox_ev_begin(sb, HUTCH_EVENT_SANDBOX_CREATE) < 0)
        return;
    const struct hutch_spec *s = sb->spec;
    static const char *const nets[] = {"none", "host", "bridge", "internal", "sandbox"};
    struct buf *b = &sb->evbuf;
    int r = event_strv(b, "command", sb->plan.argv);
    r = r ?: (sb->image       ? event_str(b, "image", sb->image->ref)
              : sb->spec->bare ? event_str(b, "rootfs", "/")
                              : event_str(b, "rootfs", sb->plan.lowers[0]));
    r = r ?: (sb->spec->bare ? event_bool(b, "bare", true) : 0);
    r = r ?: event_str(b, "hostname", sb->plan.hostname);
    r = r ?: event_i64(b, "uid", sb->plan.uid);
    r = r ?: event_i64(b, "gid", sb->plan.gid);
    r = r ?: event_str(b, "network", nets[sb->spec->bare ? SPEC_NET_HOST : s->net]);
    r = r ?: event_bool(b, "read_only", s->read_only);
    r = r ?: event_str(b, "seccomp", s->privileged || s->bare ? "unconfined"
                                     : (s->seccomp ? s->seccomp : "default"));
    r = r ?: event_u64(b, "memory_limit", s->memory);
    r = r ?: event_i64(b, "pids_limit", s->pids_limit);
    r = r ?: event_u64(b, "timeout_ns", s->timeout_ns);
    const char *warn = net_spec_warning(s);
    if (!warn && s->privileged)
        warn = "--privileged: all capabilities, no seccomp filter, no masked paths";
    r = r ?: (warn ? event_str(b, "warning", warn) : 0);
    if (!r)
        sandbox_emit(sb, HUTCH_EVENT_SANDBOX_CREATE);
}

/* ---------------------------------------------------------------- steps */

/* -i hands the caller's stdin to the workload as it is: a directory there would be a handle on
 * the host's tree inside the sandbox (the CVE-2024-21626 class). Streams and files only. */
static int check_stdin(const struct hutch_spec *spec, int fd, struct hutch_error **err)
{
    struct stat st;
    if (!spec->interactive || spec->tty || fd < 0)
        return 0;
    if (fstat(fd, &st) < 0)
        return hutch_err_sys(err, "fstat", "--interactive");
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode) ||
        S_ISCHR(st.st_mode))
        return 0;
    return hutch_err(err, EINVAL, "validate", "--interactive",
                     "stdin must be a pipe, socket, regular file or terminal, not a %s",
                     S_ISDIR(st.st_mode) ? "directory" : "block device or other file");
}

static void init_fds(struct hutch_sandbox *sb)
{
    sb->lock_fd = sb->pidfd = sb->sync_fd = sb->exec_fd = sb->epfd = sb->mntns_fd = -1;
    sb->out_fd = sb->err_fd = sb->timer_fd = sb->pty_fd = -1;
    sb->stdin_fd = sb->stdout_fd = sb->stderr_fd = -1;
}

static int step_state(struct hutch_sandbox *sb, struct hutch_error **err)
{
    int r = state_create(sb->ctx->run_dir, sb->id, &sb->state_dir, &sb->lock_fd, err);
    if (r < 0)
        return r;
    if (asprintf(&sb->plan.stage_dir, "%s/root", sb->state_dir) < 0)
        return hutch_err(err, ENOMEM, NULL, "state", "out of memory");
    if (sb->image && (r = store_pin(sb->ctx, sb->image, sb->state_dir, err)) < 0)
        return r;
    struct buf b = {0};
    r = buf_printf(&b, "{\"id\":\"%s\",\"pid\":%d,\"created\":%llu", sb->id, (int)getpid(),
                   (unsigned long long)now_real_ns());
    r = r ?: event_strv(&b, "command", sb->plan.argv);
    r = r ?: (sb->image ? event_str(&b, "image", sb->image->ref)
                        : event_str(&b, "rootfs", sb->spec->bare ? "/" : sb->plan.lowers[0]));
    r = r ?: buf_puts(&b, "}\n");
    if (!r)
        r = state_write(sb->state_dir, "info.json", b.data);
    buf_free(&b);
    return r < 0 ? hutch_err(err, r, "write", sb->state_dir, "cannot write info.json") : 0;
}

/* The id range (auto: leased) and a stage directory the mapped root can mount on. */
static int step_userns(struct hutch_sandbox *sb, struct hutch_error **err)
{
    struct sandbox_plan *p = &sb->plan;
    if (!p->userns)
        return 0;
    if (sb->spec->userns == SPEC_USERNS_AUTO) {
        int r = userns_lease_auto(sb->ctx->run_dir, sb->id, &p->umap, &p->userns_lease, err);
        if (r < 0)
            return r;
    }
    /* the slots the child receives its idmapped layers into (it allocates nothing itself) */
    p->held_fds = malloc(sizeof(int) * (size_t)p->nlowers);
    if (!p->held_fds)
        return hutch_err(err, ENOMEM, NULL, "--userns", "out of memory");
    for (p->nheld_fds = 0; p->nheld_fds < p->nlowers; p->nheld_fds++)
        p->held_fds[p->nheld_fds] = -1;
    uid_t root = p->umap.inside == 0 ? p->umap.host : (uid_t)-1;
    gid_t groot = p->umap.ginside == 0 ? p->umap.ghost : (gid_t)-1;
    if (chown(p->stage_dir, root, groot) < 0 || chmod(sb->state_dir, 0711) < 0 ||
        chmod(sb->ctx->run_dir, 0711) < 0)
        return hutch_err_sys(err, "chown", p->stage_dir);
    return 0;
}

static int step_cgroup(struct hutch_sandbox *sb, struct hutch_error **err)
{
    return cgroup_create(sb->spec, sb->id, sb->state_dir, &sb->cg, err);
}

static void emit_net_phase(void *sb, const char *name, uint64_t ns)
{
    sandbox_emit_phase(sb, name, ns);
}

static int step_net(struct hutch_sandbox *sb, struct hutch_error **err)
{
    int r = net_prepare(sb->ctx, sb->spec, sb->id, sb->state_dir, &sb->net, err);
    if (r < 0)
        return r;
    net_phases(sb->net, emit_net_phase, sb);
    r = net_etc_files(sb->net, sb->plan.hostname, &sb->plan.etc_hosts, &sb->plan.etc_resolv);
    return r < 0 ? hutch_err(err, r, NULL, "--network", "cannot prepare /etc/hosts") : 0;
}

/* Pipes and the handshake, then clone3 into the namespaces (and the v2 cgroup, so not one
 * instruction of the child runs outside it). */
static int step_clone(struct hutch_sandbox *sb, int stdin_fd, struct hutch_error **err)
{
    int sp[2] = {-1, -1}, ex[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    int r = 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
        pipe2(ex, O_CLOEXEC) < 0 ||
        (!sb->spec->tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0))) {
        r = hutch_err_sys(err, "pipe", "supervisor");
        goto out;
    }
    int one = 1;
    setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    const struct hutch_spec *s = sb->spec;
    uint64_t ns = CLONE_NEWNS | (s->host_pid ? 0 : CLONE_NEWPID) | (s->host_uts ? 0 : CLONE_NEWUTS) |
                  (s->host_ipc ? 0 : CLONE_NEWIPC) | (s->host_cgroupns ? 0 : CLONE_NEWCGROUP) |
                  net_clone_flags(sb->net) | (sb->plan.userns ? CLONE_NEWUSER : 0);
    uint64_t flags = (sb->spec->bare ? 0 : ns) | CLONE_PIDFD;
    struct sys_clone_args ca = {.flags = flags, .pidfd = (uint64_t)(uintptr_t)&sb->pidfd,
                                .exit_signal = 0};
    int cgfd = sb->cg ? cgroup_clone_fd(sb->cg) : -1;
    if (cgfd >= 0 && !getenv("HUTCH_NO_CLONE_INTO_CGROUP")) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cgfd;
    }
    if (sb->cg && (r = cgroup_prepare_child_attach(sb->cg, err)) < 0)
        goto out;
    pid_t pid = sys_clone3(&ca);
    if (pid < 0 && (ca.flags & CLONE_INTO_CGROUP)) {
        /* older kernels or a group clone3 can not enter: attach before release instead */
        ca.flags &= ~CLONE_INTO_CGROUP;
        pid = sys_clone3(&ca);
    }
    if (pid == 0) {
        close(sp[0]);
        child_main(sb, sp[1], ex[1], out[1], er[1], sb->spec->interactive ? stdin_fd : -1);
    }
    if (sb->cg)
        cgroup_close_child_attach(sb->cg);
    if (pid < 0) {
        r = hutch_err_sys(err, "clone3", "namespaces");
        goto out;
    }
    if (ca.flags & CLONE_INTO_CGROUP)
        cgroup_mark_cloned_into(sb->cg); /* born inside: attach skips the v2 group */
    sb->pid = pid;
    sb->sync_fd = TAKE_FD(sp[0]);
    sb->exec_fd = TAKE_FD(ex[0]);
    sb->out_fd = TAKE_FD(out[0]);
    sb->err_fd = TAKE_FD(er[0]);
    char pidtxt[32];
    snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)pid);
    state_write(sb->state_dir, "init.pid", pidtxt);
out:
    close_fd(&sp[0]);
    close_fd(&sp[1]);
    close_fd(&ex[0]);
    close_fd(&ex[1]);
    close_fd(&out[0]);
    close_fd(&out[1]);
    close_fd(&er[0]);
    close_fd(&er[1]);
    return r;
}

static void emit_warning(struct hutch_sandbox *sb, const char *what, const char *path,
                         const char *message)
{
    if (sb->on_event && sandbox_ev_begin(sb, HUTCH_EVENT_WARNING) == 0 &&
        event_str(&sb->evbuf, "what", what) == 0 && event_str(&sb->evbuf, "path", path) == 0 &&
        event_str(&sb->evbuf, "message", message) == 0)
        sandbox_emit(sb, HUTCH_EVENT_WARNING);
}

/* --userns: the layers idmapped into the child's user namespace, so image files keep their
 * owners inside (root's belong to the sandbox's root, which may change them in its private
 * upper) instead of showing as 65534, read-only. The parent makes them: MOUNT_ATTR_IDMAP needs
 * CAP_SYS_ADMIN in the user namespace owning the layers' filesystem, the host's. Volumes stay
 * as they are: idmapped, a host directory would let the sandbox's root make host-root files.
 * Where the kernel or a layer's filesystem has no idmapped mounts: the layers as they are
 * (owners outside the map show as 65534, read-only) and a warning. HUTCH_NO_IDMAP=1 forces that
 * fallback (tests). */
static int step_idmap(struct hutch_sandbox *sb, struct hutch_error **err)
{
    struct sandbox_plan *p = &sb->plan;
    const char *off = getenv("HUTCH_NO_IDMAP");
    _cleanup_free_ int *fds = calloc((size_t)p->nlowers, sizeof(int));
    if (!fds)
        return hutch_err(err, ENOMEM, NULL, "--userns", "out of memory");
    int failed = 0;
    int r = off && !strcmp(off, "1")
                ? EOPNOTSUPP
                : userns_idmap_layers(sb->pid, p->lowers, p->nlowers, fds, &failed, err);
    if (r < 0)
        return r;
    if (r > 0) {
        char msg[4400];
        snprintf(msg, sizeof(msg),
                 "--userns: idmapped mounts unavailable on %s (%s): files owned by ids outside "
                 "the map appear as 65534 and are read-only to the sandbox",
                 p->lowers[failed], off && !strcmp(off, "1") ? "HUTCH_NO_IDMAP=1" : strerror(r));
        emit_warning(sb, "userns.idmap", p->lowers[failed], msg);
        return 0;
    }
    r = sync_send_fds(sb->sync_fd, SYNC_IDMAP, fds, p->nlowers);
    /* the child holds its own references now (or is gone): ours go at once */
    for (int i = 0; i < p->nlowers; i++)
        close(fds[i]);
    return r < 0 ? hutch_err(err, r, "send", "handshake", "cannot pass the idmapped layers") : 0;
}

static int step_attach(struct hutch_sandbox *sb, struct hutch_error **err)
{
    int r = sb->plan.userns ? PHASE(sb, "userns.map", userns_write_maps(sb->pid, &sb->plan.umap, err))
                            : 0;
    r = r ?: (sb->plan.userns ? PHASE(sb, "userns.idmap", step_idmap(sb, err)) : 0);
    r = r ?: (sb->cg ? PHASE(sb, "cgroup.attach", cgroup_attach(sb->cg, sb->pid, err)) : 0);
    r = r ?: (sb->net ? PHASE(sb, "net.attach", net_attach(sb->net, sb->pid, err)) : 0);
    if (r < 0)
        return r;
    if (sb->spec->keep_mntns && !sb->spec->bare) {
        /* an nsfs fd keeps the namespace and its mounts after every process is gone; taken
         * while the child waits for GO, so a workload that ends at once can not take it along */
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)sb->pid);
        sb->mntns_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (sb->mntns_fd < 0)
            return hutch_err_sys(err, "open", p);
    }
    /* release the child: from here on it is confined by everything above */
    r = sync_send_type(sb->sync_fd, SYNC_GO, 0);
    return r < 0 ? hutch_err(err, r, "send", "handshake", "cannot release the child") : 0;
}

/* Relay the child's phases until its init reports the workload forked (or an error). */
static int step_wait_child(struct hutch_sandbox *sb, struct hutch_error **err)
{
    for (;;) {
        struct sync_msg m;
        int pty = -1;
        pid_t cpid = 0;
        int r = sync_recv(sb->sync_fd, &m, &pty, &cpid);
        if (r <= 0)
            return hutch_err(err, r ? r : EPIPE, "setup", "sandbox",
                             "the sandbox's init ended during setup");
        switch (m.type) {
        case SYNC_PHASE:
            sandbox_emit_phase(sb, m.text, m.a);
            break;
        case SYNC_PTY:
            sb->pty_fd = pty;
            sb->out_fd = fcntl(pty, F_DUPFD_CLOEXEC, 3);
            break;
        case SYNC_ERROR:
            return hutch_err(err, m.err, "setup", "sandbox", "%s", m.text);
        case SYNC_READY:
            sb->wl_pid_in = (pid_t)m.a;
            sb->wl_pid = m.a == 1 ? sb->pid : cpid;
            return 0;
        default:
            if (pty >= 0)
                close(pty);
        }
    }
}

/* EOF on the exec pipe: execve succeeded. A frame: it did not (126/127/125). */
static int step_wait_exec(struct hutch_sandbox *sb, struct hutch_error **err)
{
    struct sync_msg m;
    ssize_t n;
    do
        n = read(sb->exec_fd, &m, sizeof(m));
    while (n < 0 && errno == EINTR);
    close_fd(&sb->exec_fd);
    sb->t_exec_mono = now_mono_ns();
    if (n <= 0)
        return 0;
    if (n != (ssize_t)sizeof(m))
        return hutch_err(err, EPROTO, "exec", "workload", "short error frame");
    m.text[sizeof(m.text) - 1] = '\0';
    int r = hutch_err(err, m.err ? m.err : EIO, "exec", NULL, "%s", m.text);
    hutch_err_set_exit(err, m.status ? m.status : HUTCH_EXIT_INTERNAL);
    return r;
}

static void emit_start(struct hutch_sandbox *sb)
{
    if (sandbox_ev_begin(sb, HUTCH_EVENT_PROCESS_START) == 0 &&
        event_i64(&sb->evbuf, "pid", sb->wl_pid) == 0 &&
        event_i64(&sb->evbuf, "pid_inside", sb->wl_pid_in) == 0 &&
        event_i64(&sb->evbuf, "init_pid", sb->pid) == 0)
        sandbox_emit(sb, HUTCH_EVENT_PROCESS_START);
}

/* Undo whatever was done, in reverse; safe at every stage and twice. */
static void sandbox_teardown(struct hutch_sandbox *sb)
{
    if (sb->pid > 0) {
        supervisor_kill_all(sb, SIGKILL);
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
            ;
        sb->pid = 0;
    }
    close_fd(&sb->mntns_fd); /* the sandbox's mounts go with the last reference */
    if (sb->cg) {
        cgroup_kill_all(sb->cg);
        cgroup_destroy(sb->cg);
        sb->cg = NULL;
    }
    net_teardown(sb->net);
    sb->net = NULL;
    userns_release(sb->plan.userns_lease);
    if (sb->state_dir) {
        state_remove(sb->state_dir);
        free(sb->state_dir);
        sb->state_dir = NULL;
    }
    close_fd(&sb->lock_fd);
}

static void sandbox_free(struct hutch_sandbox *sb)
{
    int *fds[] = {&sb->pidfd, &sb->sync_fd, &sb->exec_fd, &sb->epfd, &sb->out_fd, &sb->mntns_fd,
                  &sb->err_fd, &sb->timer_fd, &sb->pty_fd, &sb->lock_fd};
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
        close_fd(fds[i]);
    resolve_plan_free(&sb->plan);
    image_rootfs_free(sb->image);
    buf_free(&sb->evbuf);
    free(sb);
}

HUTCH_API int hutch_sandbox_start(struct hutch_ctx *ctx, const struct hutch_spec *spec,
                                  const struct hutch_start_opts *opts,
                                  struct hutch_sandbox **out, struct hutch_error **err)
{
    struct hutch_start_opts o = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    if (opts)
        memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
    struct hutch_sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return hutch_err(err, ENOMEM, NULL, "sandbox", "out of memory");
    init_fds(sb);
    sb->ctx = ctx;
    sb->spec = spec;
    sb->on_event = o.on_event;
    sb->userdata = o.userdata;
    sb->output_events = o.output_events;
    sb->stdin_fd = o.stdin_fd;
    sb->stdout_fd = o.stdout_fd;
    sb->stderr_fd = o.stderr_fd;
    sb->max_output = spec->max_output;
    sb->t_start_mono = now_mono_ns();
    int r = resolve_id(o.id, sb->id, err);
    r = r ?: check_stdin(spec, o.stdin_fd, err);

    /* the story: each line one step; bad input costs nothing (resolve creates nothing) */
    uint64_t t0 = now_mono_ns();
    r = r ?: resolve_spec(sb, err);
    if (!r) {
        emit_create(sb);
        sandbox_emit_phase(sb, "resolve", now_mono_ns() - t0);
    }
    r = r ?: PHASE(sb, "seccomp", resolve_seccomp(sb, err));
    r = r ?: PHASE(sb, "state", step_state(sb, err));
    r = r ?: (sb->plan.userns ? PHASE(sb, "userns", step_userns(sb, err)) : 0);
    r = r ?: PHASE(sb, "cgroup", step_cgroup(sb, err));
    r = r ?: (sb->spec->bare ? 0 : PHASE(sb, "net.prepare", step_net(sb, err)));
    r = r ?: PHASE(sb, "clone", step_clone(sb, o.stdin_fd, err));
    r = r ?: step_attach(sb, err);
    r = r ?: PHASE(sb, "child", step_wait_child(sb, err));
    r = r ?: PHASE(sb, "exec", step_wait_exec(sb, err));
    if (!r)
        emit_start(sb);
    r = r ?: supervisor_setup(sb, err);
    if (r < 0) {
        if (err)
            sandbox_emit_error(sb, *err);
        sandbox_teardown(sb);
        sandbox_free(sb);
        return r;
    }
    sb->spec = spec;
    sb->state = SB_RUNNING;
    *out = sb;
    return 0;
}

HUTCH_API const char *hutch_sandbox_id(const struct hutch_sandbox *sb)
{
    return sb->id;
}

HUTCH_API int hutch_sandbox_fd(const struct hutch_sandbox *sb)
{
    return sb->epfd;
}

HUTCH_API pid_t hutch_sandbox_pid(const struct hutch_sandbox *sb)
{
    return sb->wl_pid;
}

HUTCH_API int hutch_sandbox_dispatch(struct hutch_sandbox *sb, struct hutch_error **err)
{
    return supervisor_dispatch(sb, err);
}

HUTCH_API int hutch_sandbox_wait(struct hutch_sandbox *sb, struct hutch_error **err)
{
    while (sb->state != SB_ENDED) {
        struct epoll_event ev;
        int n = epoll_wait(sb->epfd, &ev, 1, -1);
        if (n < 0 && errno != EINTR)
            return hutch_err_sys(err, "epoll_wait", "supervisor");
        int r = supervisor_dispatch(sb, err);
        if (r < 0)
            return r;
    }
    return sb->exit_status;
}

HUTCH_API int hutch_sandbox_kill(struct hutch_sandbox *sb, int sig)
{
    if (sb->state == SB_ENDED)
        return -ESRCH;
    if (sig == SIGKILL) {
        supervisor_kill_all(sb, SIGKILL);
        return 0;
    }
    /* init forwards it to the workload */
    return sys_pidfd_send_signal(sb->pidfd, sig) < 0 ? -errno : 0;
}

HUTCH_API int hutch_sandbox_resize(struct hutch_sandbox *sb, unsigned rows, unsigned cols)
{
    if (sb->pty_fd < 0)
        return -ENOTTY;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    return ioctl(sb->pty_fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

HUTCH_API int hutch_sandbox_exit_status(const struct hutch_sandbox *sb)
{
    return sb->state == SB_ENDED ? sb->exit_status : -EBUSY;
}

HUTCH_API void hutch_sandbox_destroy(struct hutch_sandbox *sb)
{
    if (!sb)
        return;
    sandbox_teardown(sb);
    if (sandbox_ev_begin(sb, HUTCH_EVENT_SANDBOX_REMOVE) == 0)
        sandbox_emit(sb, HUTCH_EVENT_SANDBOX_REMOVE);
    sandbox_free(sb);
}
