#!/usr/bin/env bash
# Device nodes (issue 5): root in the sandbox keeps CAP_MKNOD by default and hutch has no
# devices cgroup, so no device node may be opened anywhere the workload can write or that the
# image provides: /dev is read-only, every other mount is nodev. The host's disks are not in /dev.
. "$(dirname "$0")/../lib.sh"
t_begin

# The host's root filesystem's block device ("MAJOR MINOR"): the disk an escape would read.
HOST_DISK=$(mountpoint -d / | tr ':' ' ')
read -r DISK_MAJ DISK_MIN <<<"$HOST_DISK"


# The lines the attempt ATTEMPT printed (between its "== " header and the next one).
lines_of() { # ATTEMPT
    awk -v h="== $1" '$0 == h { on = 1; next } /^== / { on = 0 } on' <<<"$out"
}

expect_of() { # ATTEMPT LINE...
    local a=$1 got l
    shift
    got=$(lines_of "$a")
    for l in "$@"; do
        grep -qxF -- "$l" <<<"$got" || fail "$a: expected '$l', got: $(tr '\n' '|' <<<"$got")"
    done
    if grep -qx 'open-dev: OK' <<<"$got"; then
        fail "$a: a device node was opened: $(tr '\n' '|' <<<"$got")"
    fi
}

# A tmpfs without nodev on the host, as a volume source: the sandbox's bind must add nodev.
host_dev_dir() { # DIR
    mkdir -p "$1"
    mount -t tmpfs -o mode=0755,size=1m hutch-test-vol "$1"
    trap 'umount -l "'"$1"'" 2>/dev/null' EXIT
}

test_mknod_root() {
    host_dev_dir "$C_DIR/vol"
    local places=(/tmp /var/tmp /root /home/tester /dev/shm /tt /vol) tries=() p
    for p in "${places[@]}" /dev; do
        tries+=("mknod-open $p/disk b $DISK_MAJ $DISK_MIN" "mknod-open $p/mem c 1 1")
    done
    hr_attacks --tmpfs /tt -v "$C_DIR/vol:/vol" -- "${tries[@]}"
    for p in "${places[@]}"; do
        # made (CAP_MKNOD) but not openable: the mount is nodev
        expect_of "mknod-open $p/disk b $DISK_MAJ $DISK_MIN" "mknod: OK" "open-dev: EACCES"
        expect_of "mknod-open $p/mem c 1 1" "mknod: OK" "open-dev: EACCES"
    done
    expect_of "mknod-open /dev/disk b $DISK_MAJ $DISK_MIN" "mknod: EROFS"
    expect_of "mknod-open /dev/mem c 1 1" "mknod: EROFS"
    assert_eq "" "$(ls -A "$C_DIR/vol")" "the volume's host directory"
}
test_case "as root: the host's disk node, made anywhere writable, can not be opened" \
    test_mknod_root

test_mknod_non_root() {
    hr_attacks -u 1000 -- "mknod-open /tmp/disk b $DISK_MAJ $DISK_MIN" "mknod-open /tmp/mem c 1 1"
    expect_of "mknod-open /tmp/disk b $DISK_MAJ $DISK_MIN" "mknod: EPERM"
    expect_of "mknod-open /tmp/mem c 1 1" "mknod: EPERM"
}
test_case "as uid 1000: mknod: EPERM" test_mknod_non_root

test_mknod_read_only() {
    hr_attacks --read-only -- "mknod-open /tmp/disk b $DISK_MAJ $DISK_MIN"
    expect_of "mknod-open /tmp/disk b $DISK_MAJ $DISK_MIN" "mknod: EROFS"
}
test_case "--read-only: mknod: EROFS" test_mknod_read_only

test_image_device_nodes() {
    local r=$C_DIR/rootfs
    rootfs_copy "$r"
    mkdir -p "$r/dev" "$r/var"
    mknod "$r/var/disk" b "$DISK_MAJ" "$DISK_MIN"
    mknod "$r/var/mem" c 1 1
    mknod "$r/dev/vda" b "$DISK_MAJ" "$DISK_MIN"
    chmod 0666 "$r/var/disk" "$r/var/mem"
    HR_ROOTFS=$r hr_attacks -- "open /var/disk r" "open /var/mem r" "open /dev/vda r"
    expect_of "open /var/disk r" "open: EACCES"
    expect_of "open /var/mem r" "open: EACCES"
    # /dev is hutch's own tmpfs: the image's /dev is not visible
    expect_of "open /dev/vda r" "open: ENOENT"
    HR_ROOTFS=$r hr_attacks -u 1000 -- "open /var/disk r" "open /var/mem rw"
    expect_of "open /var/disk r" "open: EACCES"
    expect_of "open /var/mem rw" "open: EACCES"
}
test_case "device nodes shipped in the image can not be opened" test_image_device_nodes

test_no_host_devices() {
    local tries=() d
    for d in /dev/vda /dev/sda /dev/nvme0n1 /dev/xvda /dev/mem /dev/kmem /dev/port /dev/kmsg \
        /dev/console /dev/tty0 /dev/tty1 /dev/loop0 /dev/loop-control /dev/fuse /dev/kvm \
        /dev/net/tun /dev/cpu/0/msr /dev/btrfs-control /dev/mapper/control; do
        tries+=("open $d r")
    done
    hr_attacks -- "${tries[@]}" "ls /dev"
    for d in "${tries[@]}"; do expect_of "$d" "open: ENOENT"; done
    expect_of "ls /dev" "ls: OK"
    # the minimal set, nothing else (sorted)
    assert_eq "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero" \
        "$(lines_of "ls /dev" | sed -n 's/^entries: //p' | tr ' ' '\n' | sort | xargs)" "/dev"
}
test_case "no host disk or kernel device in /dev (vda, sda, mem, kmsg, kvm...)" \
    test_no_host_devices

t_end
