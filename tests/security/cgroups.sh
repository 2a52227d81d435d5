#!/usr/bin/env bash
# CVE-2022-0492: mount a cgroup v1 hierarchy and write its release_agent, a program the kernel
# runs as root on the host. In a default sandbox no cgroup filesystem can be mounted (no
# CAP_SYS_ADMIN, and the filter refuses mount, fsopen and the user namespace that would grant
# it); with the filter off, the kernel's own check on release_agent still holds.
. "$(dirname "$0")/../lib.sh"
t_begin

# The host's release_agent files: an attempt that got through would change one of them.
agents_sum() {
    cat /sys/fs/cgroup/*/release_agent 2>/dev/null | sha256sum | cut -d' ' -f1
}

expect() {
    local l
    for l in "$@"; do assert_line "$out" "$l"; done
}

test_cgroup_mount_root() {
    local before
    before=$(agents_sum)
    hr -- attack cgroup-mount
    assert_status 1
    expect "mount-cgroup2: EPERM" "mount-cgroup-memory: EPERM" "mount-cgroup-pids: EPERM" \
        "mount-cgroup-freezer: EPERM" "mount-cgroup-devices: EPERM" \
        "mount-cgroup-none,name=systemd: EPERM" "fsopen-cgroup: EPERM"
    assert_not_contains "$out" "release_agent"
    assert_eq "$before" "$(agents_sum)" "the host's release_agent files"
}
test_case "as root: no cgroup filesystem can be mounted (v2, v1 memory/pids/...): EPERM" \
    test_cgroup_mount_root

test_cgroup_userns_door() {
    # the CVE's way in: a user + mount + cgroup namespace of one's own, where one is root
    hr -- attack cgroup-mount userns
    assert_status 1
    assert_eq "unshare-user+mnt+cgroup: EPERM" "$out" "output"
    hr -u 1000 -- attack cgroup-mount userns
    assert_eq "unshare-user+mnt+cgroup: EPERM" "$out" "output (uid 1000)"
}
test_case "the user-namespace door (unshare user+mnt+cgroup) is closed" test_cgroup_userns_door

test_release_agent_kernel_layer() {
    local before
    before=$(agents_sum)
    # without the filter the namespace and the mounts succeed (they are private), but the
    # kernel lets only the initial user namespace's CAP_SYS_ADMIN set release_agent
    hr --security-opt seccomp=unconfined -- attack cgroup-mount userns
    assert_line "$out" "unshare-user+mnt+cgroup: OK"
    assert_no_line "$out" "release_agent: OK" "release_agent written from a user namespace"
    assert_match "$(grep -c '^release_agent: E' <<<"$out")" '^[1-9]' "release_agent attempts"
    assert_eq "$before" "$(agents_sum)" "the host's release_agent files"
}
test_case "seccomp=unconfined: release_agent can not be written from a user namespace" \
    test_release_agent_kernel_layer

test_no_cgroupfs_inside() {
    hr -- sh -c 'awk "\$3 ~ /^cgroup/" /proc/self/mounts | wc -l; attack ls /sys/fs/cgroup;
        attack open /sys/fs/cgroup/release_agent w'
    assert_line "$out" "0"
    assert_line "$out" "entries:"
    assert_line "$out" "open: ENOENT"
}
test_case "no cgroup filesystem is mounted in the sandbox" test_no_cgroupfs_inside

t_end
