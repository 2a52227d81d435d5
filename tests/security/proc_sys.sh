#!/usr/bin/env bash
# The kernel's knobs under /proc and /sys (issue 5): /proc/sys, /proc/sysrq-trigger and /sys are
# read-only, the OCI masked paths are empty, and an image can not redirect either: not with a
# /dev/null that is a symlink to a kernel file (CVE-2025-31133), nor with a /dev, /proc or /sys
# that is a symlink (refused with 125).
. "$(dirname "$0")/../lib.sh"
t_begin


# The kernel files we try to write, where this host's kernel has them.
KNOBS=()
for f in /proc/sys/kernel/hostname /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe \
    /proc/sys/vm/drop_caches /proc/sys/kernel/sysrq /proc/irq/default_smp_affinity \
    /proc/sysrq-trigger /sys/class/net/lo/mtu /sys/kernel/mm/transparent_hugepage/enabled \
    /sys/kernel/uevent_helper /sys/kernel/profiling /sys/power/state; do
    [ -e "$f" ] && KNOBS+=("$f")
done

# One "open: ERRNO" line per knob, in order: all equal to $1.
expect_knobs_refused() { # ERRNO
    local n
    n=$(grep -c '^open: ' <<<"$out" || true)
    [ "$n" = "${#KNOBS[@]}" ] || fail "expected ${#KNOBS[@]} open lines, got $n: $out"
    local i=0 line
    while read -r line; do
        [ "$line" = "open: $1" ] || fail "${KNOBS[$i]}: expected 'open: $1', got '$line'"
        i=$((i + 1))
    done < <(grep '^open: ' <<<"$out")
}

test_knobs_read_only_root() {
    local core host tries=() f
    core=$(cat /proc/sys/kernel/core_pattern)
    host=$(cat /proc/sys/kernel/hostname)
    for f in "${KNOBS[@]}"; do tries+=("open $f w"); done
    hr_attacks_unmarked -- "${tries[@]}" "write-same /proc/sys/kernel/core_pattern" \
        "umount2 /proc/sys" "mount_setattr /proc/sys"
    expect_knobs_refused EROFS
    assert_line "$out" "write: EROFS"
    assert_line "$out" "umount2: EPERM"
    assert_line "$out" "mount_setattr: EPERM"
    assert_eq "$core" "$(cat /proc/sys/kernel/core_pattern)" "the host's core_pattern"
    assert_eq "$host" "$(cat /proc/sys/kernel/hostname)" "the host's hostname"
}
test_case "as root: /proc/sys/*, /proc/sysrq-trigger, /proc/irq, /sys knobs: EROFS" \
    test_knobs_read_only_root

test_knobs_non_root() {
    local tries=() f
    for f in "${KNOBS[@]}"; do tries+=("open $f w"); done
    hr_attacks_unmarked -u 1000 -- "${tries[@]}"
    expect_knobs_refused EACCES
}
test_case "as uid 1000: the same knobs: EACCES" test_knobs_non_root

test_sysrq_trigger() {
    hr_attacks_unmarked -- "open /proc/sysrq-trigger w"
    if [ -e /proc/sysrq-trigger ]; then
        assert_line "$out" "open: EROFS"
    else
        assert_line "$out" "open: ENOENT" # this kernel has no magic SysRq
    fi
}
test_case "/proc/sysrq-trigger can not be opened for writing" test_sysrq_trigger

test_sys_read_only() {
    hr_attacks_unmarked -- "open /sys/attack create" "open /sys/kernel/attack create" "umount2 /sys" \
        "mount_setattr /sys" "ls /sys/fs/cgroup"
    [ "$(grep -cx 'open: EROFS' <<<"$out")" = 2 ] || fail "creating under /sys: $out"
    assert_line "$out" "umount2: EPERM"
    assert_line "$out" "mount_setattr: EPERM"
    # no cgroup hierarchy of the host is mounted inside
    assert_line "$out" "entries:"
}
test_case "/sys: nothing can be created, it can not be made writable, no cgroupfs inside" \
    test_sys_read_only

test_masked() {
    local f tries=() files=()
    for f in /proc/keys /proc/timer_list /proc/interrupts /proc/latency_stats \
        /proc/sched_debug /proc/timer_stats; do
        [ -e "$f" ] && files+=("$f") && tries+=("read $f")
    done
    hr_attacks_unmarked -- "${tries[@]}" "ls /proc/acpi" "ls /sys/firmware" "umount2 /proc/keys" \
        "umount2 /proc/acpi"
    # each file reads empty (a bind of /dev/null), each directory is an empty tmpfs
    [ "$(grep -cx 'read: OK' <<<"$out")" = "${#files[@]}" ] || fail "masked files: $out"
    [ "$(grep -cx 'bytes: 0' <<<"$out")" = "${#files[@]}" ] || fail "masked files: $out"
    [ "$(grep -cx 'entries:' <<<"$out")" = 2 ] || fail "/proc/acpi, /sys/firmware not empty: $out"
    [ "$(grep -cx 'umount2: EPERM' <<<"$out")" = 2 ] || fail "a mask was removed: $out"
    hr -- stat -c '%n %F %t:%T' "${files[@]}"
    for f in "${files[@]}"; do assert_line "$out" "$f character special file 1:3"; done
    hr_attacks_unmarked -- "read /proc/kcore"
    if [ ! -e /proc/kcore ]; then
        assert_line "$out" "read: ENOENT" # this kernel has no /proc/kcore
    elif ! grep -qxE 'read: (EPERM|EACCES)' <<<"$out"; then
        assert_line "$out" "bytes: 0" # empty, or unreadable
    fi
}
test_case "masked paths (/proc/kcore, keys, timer_list...) are empty and stay masked" test_masked

# CVE-2025-31133: runc bound "/dev/null" over the masked paths after resolving it in the
# container; an image whose /dev/null is a symlink to a kernel file turned masking into a
# read-write bind of that file.
dev_null_attack() { # TARGET
    local r=$C_DIR/rootfs core
    rootfs_copy "$r"
    mkdir -p "$r/dev"
    ln -s "$1" "$r/dev/null"
    core=$(cat /proc/sys/kernel/core_pattern)
    HR_ROOTFS=$r hr_attacks_unmarked -- "read /proc/keys" "write-same /proc/sys/kernel/core_pattern" \
        "open /proc/sys/kernel/core_pattern w"
    assert_line "$out" "read: OK"
    assert_line "$out" "bytes: 0"
    assert_line "$out" "write: EROFS"
    assert_line "$out" "open: EROFS"
    # the masks are the real null device (1:3), so a write to them goes nowhere
    HR_ROOTFS=$r hr -- stat -c '%n %F %t:%T' /dev/null /proc/keys /proc/timer_list
    assert_line "$out" "/dev/null character special file 1:3"
    assert_line "$out" "/proc/keys character special file 1:3"
    assert_line "$out" "/proc/timer_list character special file 1:3"
    assert_eq "$core" "$(cat /proc/sys/kernel/core_pattern)" "the host's core_pattern"
    [ -L "$r/dev/null" ] || fail "the image's /dev/null was changed"
}

test_dev_null_core_pattern() {
    dev_null_attack /proc/sys/kernel/core_pattern
}
test_case "an image's /dev/null -> /proc/sys/kernel/core_pattern (CVE-2025-31133): masks hold" \
    test_dev_null_core_pattern

test_dev_null_relative() {
    dev_null_attack ../proc/sys/kernel/core_pattern
}
test_case "an image's /dev/null -> ../proc/sys/kernel/core_pattern: masks hold" \
    test_dev_null_relative

# An image whose /dev, /proc or /sys is a symlink (or not a directory): refused before anything
# is mounted through it.
special_dir_attack() { # DIR TARGET|--file
    local r=$C_DIR/rootfs.$1 t=$C_DIR/target.$1
    rootfs_copy "$r"
    mkdir -p "$t"
    rm -rf "${r:?}/$1"
    if [ "$2" = --file ]; then
        echo "not a directory" >"$r/$1"
    else
        ln -s "$2" "$r/$1"
    fi
    HR_ROOTFS=$r hr -- attack nop
    assert_status 125
    assert_one_error_line "/$1"
    [ "$2" = --file ] || assert_contains "$err" "symlink"
    assert_eq "" "$(ls -A "$t")" "the host directory the symlink names"
    assert_eq "" "$(t_mounts_under "$t")" "mounts on the host directory"
}

test_dev_symlink() {
    special_dir_attack dev "$C_DIR/target.dev"
}
test_case "an image whose /dev is a symlink to a host directory: 125" test_dev_symlink

test_proc_symlink() {
    special_dir_attack proc "$C_DIR/target.proc"
}
test_case "an image whose /proc is a symlink to a host directory: 125" test_proc_symlink

test_sys_symlink() {
    special_dir_attack sys "../../../../../../../../../$C_DIR/target.sys"
}
test_case "an image whose /sys is a relative symlink out of the rootfs: 125" test_sys_symlink

test_proc_symlink_inside() {
    special_dir_attack proc tmp
}
test_case "an image whose /proc is a symlink inside the rootfs (proc -> tmp): 125" \
    test_proc_symlink_inside

test_dev_file() {
    special_dir_attack dev --file
}
test_case "an image whose /dev is a regular file: 125" test_dev_file

t_end
