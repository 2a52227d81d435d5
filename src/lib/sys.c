/* SPDX-License-Identifier: MIT */
#include "sys.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t sys_clone3(struct sys_clone_args *args)
{
    return (pid_t)syscall(SYS_clone3, args, sizeof(*args));
}

int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .mode = 0, .resolve = resolve};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int sys_pidfd_send_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int sys_pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int sys_capset(uint32_t eff[2], uint32_t prm[2], uint32_t inh[2])
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    for (int i = 0; i < 2; i++) {
        d[i].effective = eff[i];
        d[i].permitted = prm[i];
        d[i].inheritable = inh[i];
    }
    return (int)syscall(SYS_capset, &h, d);
}

int sys_capget(uint32_t eff[2], uint32_t prm[2], uint32_t inh[2])
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        eff[i] = d[i].effective;
        prm[i] = d[i].permitted;
        inh[i] = d[i].inheritable;
    }
    return 0;
}
