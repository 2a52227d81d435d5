/* SPDX-License-Identifier: MIT */
/* Thin wrappers for syscalls glibc 2.36 lacks or wraps badly. No sandbox knowledge here. */
#ifndef HUTCH_SYS_H
#define HUTCH_SYS_H

#include <linux/openat2.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct sys_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

/* clone3 without a new stack: returns like fork() (0 in the child). */
pid_t sys_clone3(struct sys_clone_args *args);
int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve);
int sys_pidfd_send_signal(int pidfd, int sig);
int sys_pivot_root(const char *new_root, const char *put_old);
int sys_capset(uint32_t eff[2], uint32_t prm[2], uint32_t inh[2]);
int sys_capget(uint32_t eff[2], uint32_t prm[2], uint32_t inh[2]);

#endif
