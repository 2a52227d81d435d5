#!/usr/bin/env bash
# Escape attempts through syscalls that reconfigure the kernel, load code into it or open new
# attack surface (issue 5): each one in a default sandbox, as root with the default
# capabilities (and some as an unprivileged user), must be refused with the exact errno. The
# same attempts with seccomp=unconfined show the second layer (capabilities, the kernel's own
# checks) refusing them too wherever it can.
. "$(dirname "$0")/../lib.sh"
t_begin


# expect LINE...: the last run printed each line.
expect() {
    local l
    for l in "$@"; do assert_line "$out" "$l"; done
}

# expect_refused NAME...: each attempt was refused in some way (the errno depends on the kernel's
# configuration: the layer under test is not hutch's).
expect_refused() {
    local n
    for n in "$@"; do
        grep -qxE -- "$n: (E[A-Z0-9]+|SIG[A-Z0-9]+)" <<<"$out" ||
            fail "$n: expected a refusal, got: $(grep -- "^$n:" <<<"$out" || echo nothing)"
    done
}

test_mount_family() {
    hr_attacks_unmarked -- mount "umount2 /proc/sys" pivot_root fsopen fsconfig open_tree move_mount \
        mount_setattr
    expect "mount: EPERM" "umount2: EPERM" "pivot_root: EPERM" "fsopen: EPERM" \
        "fsconfig: EPERM" "open_tree: EPERM" "move_mount: EPERM" "mount_setattr: EPERM"
}
test_case "mount, umount2, pivot_root, the new mount API (CVE-2022-0185's fsconfig): EPERM" \
    test_mount_family

test_mount_family_kernel_layer() {
    # without the filter, the missing CAP_SYS_ADMIN still refuses every one
    hr_attacks_unmarked --security-opt seccomp=unconfined -- mount "umount2 /proc/sys" pivot_root \
        fsopen open_tree move_mount mount_setattr
    expect "mount: EPERM" "umount2: EPERM" "pivot_root: EPERM" "fsopen: EPERM" \
        "open_tree: EPERM" "move_mount: EPERM" "mount_setattr: EPERM"
}
test_case "seccomp=unconfined: the mount family is still refused (no CAP_SYS_ADMIN)" \
    test_mount_family_kernel_layer

test_chroot_escape() {
    # root keeps CAP_SYS_CHROOT by default: chroot + ".." must end in the sandbox's own root
    hr_attacks_unmarked -- chroot-escape
    expect "chroot-escape: ENOENT (still the sandbox's root)"
}
test_case "the chroot \"..\" breakout ends at the sandbox's root" test_chroot_escape

test_namespaces() {
    hr_attacks_unmarked -- "unshare user" "unshare user+mnt+cgroup" "unshare mnt" "unshare net" \
        "unshare pid" "unshare ipc" "unshare uts" "unshare cgroup" "unshare time" \
        clone-newuser clone3-newuser
    expect "unshare-user: EPERM" "unshare-user+mnt+cgroup: EPERM" "unshare-mnt: EPERM" \
        "unshare-net: EPERM" "unshare-pid: EPERM" "unshare-ipc: EPERM" "unshare-uts: EPERM" \
        "unshare-cgroup: EPERM" "unshare-time: EPERM" "clone-newuser: EPERM"
    # the profile answers clone3 with ENOSYS (so that libc falls back to clone): refused too
    expect "clone3-newuser: ENOSYS"
}
test_case "unshare and clone with namespace flags (CLONE_NEWUSER first): refused" test_namespaces

test_setns() {
    local ns tries=()
    for ns in mnt net pid ipc uts cgroup user time; do
        tries+=("setns /proc/self/ns/$ns" "setns /proc/1/ns/$ns")
    done
    hr_attacks_unmarked -- "${tries[@]}"
    # setns into its own namespaces is refused by the filter ...
    [ "$(grep -cx 'setns: EPERM' <<<"$out")" = 8 ] || fail "setns: expected 8 x EPERM: $out"
    # ... and hutch's init (non-dumpable) does not even let its namespace files be opened
    [ "$(grep -cx 'setns-open: EACCES' <<<"$out")" = 8 ] ||
        fail "/proc/1/ns/*: expected 8 x EACCES on open: $out"
}
test_case "setns: EPERM; /proc/1/ns/* (hutch's init) can not be opened: EACCES" test_setns

test_keys() {
    hr_attacks_unmarked -- keyctl add_key request_key
    expect "keyctl: EPERM" "add_key: EPERM" "request_key: EPERM"
}
test_case "keyctl, add_key, request_key: EPERM (the keyring is not namespaced)" test_keys

test_kernel_code() {
    hr_attacks_unmarked -- bpf perf_event_open "perf_event_open system" kexec_load init_module
    expect "bpf-prog-load: EPERM" "bpf-map-create: EPERM" "perf_event_open: EPERM" \
        "perf_event_open-system: EPERM" "kexec_load: EPERM" "kexec_file_load: EPERM" \
        "init_module: EPERM" "finit_module: EPERM" "delete_module: EPERM"
}
test_case "bpf, perf_event_open, kexec_load/kexec_file_load, init/finit/delete_module: EPERM" \
    test_kernel_code

test_machine_state() {
    hr_attacks_unmarked -- reboot swapon settime
    expect "reboot: EPERM" "swapon: EPERM" "swapoff: EPERM" "settimeofday: EPERM" \
        "clock_settime: EPERM" "clock_adjtime: EPERM"
}
test_case "reboot, swapon/swapoff, settimeofday/clock_settime/clock_adjtime: EPERM" \
    test_machine_state

test_kernel_layer_caps() {
    hr_attacks_unmarked --security-opt seccomp=unconfined -- bpf reboot swapon settime \
        open_by_handle_at kexec_load init_module perf_event_open "perf_event_open system"
    # the capability checks (CAP_BPF/SYS_ADMIN, SYS_BOOT, SYS_ADMIN, SYS_TIME, DAC_READ_SEARCH)
    expect "bpf-prog-load: EPERM" "bpf-map-create: EPERM" "reboot: EPERM" "swapon: EPERM" \
        "swapoff: EPERM" "settimeofday: EPERM" "clock_settime: EPERM" "clock_adjtime: EPERM" \
        "open_by_handle_at: EPERM"
    # EPERM, or ENOSYS/EACCES on a kernel built without kexec or modules, or a strict perf policy
    expect_refused kexec_load kexec_file_load init_module finit_module delete_module \
        perf_event_open perf_event_open-system
}
test_case "seccomp=unconfined: the capability checks refuse the same calls" \
    test_kernel_layer_caps

test_shocker() {
    mkdir "$C_DIR/vol"
    echo host >"$C_DIR/vol/file"
    # the guessed handle of inode 2 (an ext4 root), against the rootfs and a host bind mount
    hr_attacks_unmarked -v "$C_DIR/vol:/vol" -- open_by_handle_at "open_by_handle_at /vol" \
        "open_by_handle_at /vol/file" name_to_handle_at "name_to_handle_at /vol/file"
    [ "$(grep -cx 'open_by_handle_at: EPERM' <<<"$out")" = 3 ] ||
        fail "open_by_handle_at: expected 3 x EPERM: $out"
    [ "$(grep -cx 'name_to_handle_at: EPERM' <<<"$out")" = 2 ] ||
        fail "name_to_handle_at: expected 2 x EPERM: $out"
}
test_case "open_by_handle_at with a guessed handle (shocker), name_to_handle_at: EPERM" \
    test_shocker

test_ptrace() {
    hr_attacks_unmarked -- "ptrace child" "ptrace init" "process_vm_writev init"
    expect "ptrace-child: EPERM" "ptrace-init: EPERM" "process_vm_writev-init: EPERM"
    # positive control: with the capability, the same attach of a child works
    hr_attacks_unmarked --cap-add SYS_PTRACE -- "ptrace child"
    expect "ptrace-child: OK"
}
test_case "ptrace of another process without CAP_SYS_PTRACE: EPERM (with it: OK)" test_ptrace

test_ptrace_cap_init_out_of_reach() {
    # --cap-add SYS_PTRACE lets the workload trace its own processes, not hutch's init: pid 1
    # runs without the workload's seccomp filter, and its exe is hutch's binary on the host
    hr_attacks_unmarked --cap-add SYS_PTRACE -- ptrace-inject-init
    assert_no_line "$out" "inject-keyctl: OK" "a syscall injected into pid 1 ran outside seccomp"
    # with the capability the link itself can be read (init is a fork of hutch, and there is no
    # CAP_SYS_RESOURCE here to re-point its exe), but never opened for writing
    hr_attacks_unmarked --cap-add SYS_PTRACE -- "open /proc/1/exe w" "open /proc/1/exe rw"
    expect_refused open
}
test_case "with --cap-add SYS_PTRACE, hutch's init stays out of reach (ptrace, /proc/1/exe)" \
    test_ptrace_cap_init_out_of_reach

test_other_abis() {
    hr_attacks_unmarked -- i386 x32
    # the default profile lists x86_64 only: a call through another ABI kills the process
    expect "i386-getpid: SIGSYS" "x32-getpid: SIGSYS"
    hr_attacks_unmarked --security-opt seccomp=strict -- i386 x32
    expect "i386-getpid: SIGSYS" "x32-getpid: SIGSYS"
    # positive control: the int 0x80 attempt is real (this kernel runs i386 calls)
    hr_attacks_unmarked --security-opt seccomp=unconfined -- i386
    expect "i386-getpid: OK"
}
test_case "i386 (int 0x80) and x32 syscalls: killed by SIGSYS" test_other_abis

test_rarely_used() {
    hr_attacks_unmarked -- userfaultfd io_uring personality
    expect "userfaultfd: EPERM" "io_uring_setup: EPERM" "personality: EPERM"
}
test_case "userfaultfd, io_uring_setup, personality(ADDR_NO_RANDOMIZE): EPERM" test_rarely_used

test_non_root() {
    hr_attacks_unmarked -u 1000 -- mount "unshare user" keyctl bpf "ptrace child" reboot settime \
        open_by_handle_at i386
    expect "mount: EPERM" "unshare-user: EPERM" "keyctl: EPERM" "bpf-prog-load: EPERM" \
        "ptrace-child: EPERM" "reboot: EPERM" "settimeofday: EPERM" "open_by_handle_at: EPERM" \
        "i386-getpid: SIGSYS"
}
test_case "as uid 1000: the same attempts are refused" test_non_root

t_end
