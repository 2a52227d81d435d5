/* SPDX-License-Identifier: MIT */
/* hutch's init: pid 1 of the sandbox. It reaps orphans, forwards signals to the workload, and
 * reports the workload's wait status to the supervisor before exiting with it. When it exits the
 * kernel kills whatever is left in the pid namespace. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "sandbox.h"
#include "sync.h"
#include "sys.h"

static void init_drop_privileges(void)
{
    /* init needs nothing but to signal the workload, which may run as another user */
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (c != CAP_KILL)
            prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    uint32_t keep[2] = {1u << CAP_KILL, 0}, none[2] = {0, 0};
    sys_capset(keep, keep, none);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* init is a fork of the host's hutch and visible to the workload as pid 1: a workload given
 * CAP_SYS_PTRACE could make it run any call. Its own filter allows only what it does. */
static void init_confine(void)
{
#ifdef __x86_64__
#define INIT_ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                       BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), /* x32 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        INIT_ALLOW(SYS_rt_sigtimedwait), INIT_ALLOW(SYS_wait4), INIT_ALLOW(SYS_waitid),
        INIT_ALLOW(SYS_sendmsg),         INIT_ALLOW(SYS_kill),  INIT_ALLOW(SYS_exit_group),
        INIT_ALLOW(SYS_exit),            INIT_ALLOW(SYS_rt_sigreturn),
        INIT_ALLOW(SYS_restart_syscall), INIT_ALLOW(SYS_close),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
#undef INIT_ALLOW
    struct sock_fprog prog = {.len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f};
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#endif
}

__attribute__((noreturn)) void init_main(int sync_fd, pid_t workload, bool pidns)
{
    /* hold no fd but the handshake: nothing of the host stays reachable through pid 1 */
    if (sync_fd > 0)
        close_range(0, (unsigned)sync_fd - 1, 0);
    close_range((unsigned)sync_fd + 1, ~0U, 0);
    init_drop_privileges();
    prctl(PR_SET_NAME, "hutch-init", 0, 0, 0);
    init_confine();

    sigset_t all;
    sigfillset(&all); /* blocked since before fork: no signal is lost between fork and here */
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int st;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p != workload)
                    continue;
                struct sync_msg m;
                memset(&m, 0, sizeof(m));
                m.type = SYNC_EXIT;
                m.a = (uint64_t)(unsigned)st;
                /* no pid namespace: stay, reaping, until the supervisor has killed the cgroup;
                 * leaving first would hand what is left to the host's init (if it heard us) */
                if (sync_send(sync_fd, &m, -1, 0) < 0 || pidns)
                    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                workload = -1;
            }
            continue;
        }
        if (sig == INIT_SIG_TERM_ALL) {
            /* timeout: SIGTERM to every process of the sandbox but init; without a pid namespace
             * -1 would be every process we may signal: the workload's group only */
            if (pidns)
                kill(-1, SIGTERM);
            else if (workload > 0)
                kill(-workload, SIGTERM);
            continue;
        }
        if (sig == SIGKILL || sig == SIGSTOP || workload <= 0)
            continue;
        kill(workload, sig);
    }
}
