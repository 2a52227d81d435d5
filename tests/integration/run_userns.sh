#!/usr/bin/env bash
# hutch run --userns: the rootfs layers are idmapped into the sandbox's user namespace, so image
# files keep their owners inside (root's are the sandbox root's, 1000's are 1000's) and the
# sandbox's root changes them in its private upper only; HUTCH_NO_IDMAP=1 forces the fallback
# (owners outside the map show as 65534, read-only, a warning event); --userns auto twice at
# once, an explicit MAP, a many-layer image (more layers than one SCM_RIGHTS frame carries); no
# mount or fd of the idmapped layers stays on the host.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/image_lib.bash
. "$(dirname "$0")/image_lib.bash"
t_begin

BASE=400000000 # the subordinate range of these tests (HUTCH_SUBUID/HUTCH_SUBGID)
OVERFLOW=$(cat /proc/sys/kernel/overflowuid)

# A subordinate id file of our own, and a rootfs copy R with a 1000-owned file and a root-only
# one (the test rootfs itself is shared by concurrent scripts: never changed).
userns_case() {
    printf 'root:%s:1000000\n' "$BASE" >"$C_DIR/subid"
    export HUTCH_SUBUID=$C_DIR/subid HUTCH_SUBGID=$C_DIR/subid
    R=$C_DIR/rootfs
    rootfs_copy "$R"
    echo mine >"$R/etc/owned1000"
    chown 1000:1000 "$R/etc/owned1000"
    echo secret >"$R/root/secret"
    chmod 0600 "$R/root/secret"
}

# What the owners checks print: id, owners of /, /etc/passwd, the 1000 file, the uid map.
OWNERS='id -u; stat -c "%u:%g" / /etc/passwd /etc/owned1000; cat /proc/self/uid_map'

# The lines OWNERS prints when the image's owners hold inside.
assert_owners_kept() { # HOSTBASE
    assert_eq "0
0:0
0:0
1000:1000" "$(head -n 4 <<<"$out")" "uid inside and owners of /, /etc/passwd, /etc/owned1000"
    assert_match "$(sed -n 5p <<<"$out")" "^ +0 +$1 +65536$" "uid_map"
}

test_owners_kept() {
    userns_case
    HR_ROOTFS=$R hr --userns auto -- sh -c "$OWNERS; cat /root/secret"
    assert_status 0
    assert_owners_kept "$BASE"
    assert_line "$out" secret "a root-only image file, read by the sandbox's root"
    assert_events_valid
    assert_eq 1 "$(jq -c 'select(.type == "phase" and .name == "userns.idmap")' "$ev" | grep -c '')" \
        "userns.idmap phases"
    assert_eq 0 "$(ev_count warning)" "warning events"
}
test_case "--userns auto: image files keep their owners inside (idmapped layers)" test_owners_kept

test_root_writes_upper() {
    userns_case
    local before
    before=$(t_tree_sum "$R")
    HR_ROOTFS=$R hr --userns auto --hostname idm -- sh -c 'set -e
        echo "x:x:5:5::/:/bin/sh" >>/etc/passwd; tail -n 1 /etc/passwd
        chown 1000:1000 /etc/group; stat -c "group %u:%g" /etc/group
        rm /etc/shadow; mkdir /root/new; echo changed >/etc/owned1000
        cat /etc/hostname; grep -c idm /etc/hosts
        grep -c " /etc/" /proc/self/mountinfo || true'
    assert_status 0
    assert_eq "x:x:5:5::/:/bin/sh
group 1000:1000
idm
1
0" "$out" "changes, /etc/hostname, /etc/hosts and mounts over /etc"
    assert_eq "$before" "$(t_tree_sum "$R")" "the rootfs after the run"
}
test_case "--userns auto: the sandbox's root changes image files in its upper only; /etc/hosts written, not bound" \
    test_root_writes_upper

test_user_1000() {
    userns_case
    HR_ROOTFS=$R hr --userns auto -u 1000 -- sh -c 'id -u; touch /home/tester/new && echo made
        cat /root/secret 2>/dev/null || echo denied'
    assert_status 0
    assert_eq "1000
made
denied" "$out" "uid 1000 in its own home, not in root's"
}
test_case "--userns auto -u 1000: the image's 1000 owns its home; root's files stay root's" \
    test_user_1000

test_volume_not_idmapped() {
    userns_case
    mkdir -m 0777 "$C_DIR/vol"
    echo host >"$C_DIR/vol/f"
    HR_ROOTFS=$R hr --userns auto -v "$C_DIR/vol:/vol" -- sh -c 'stat -c "%u:%g" /vol/f
        echo x >>/vol/f 2>/dev/null && echo appended || echo read-only; touch /vol/new'
    assert_status 0
    assert_eq "$OVERFLOW:$OVERFLOW
read-only" "$out" "a host root file on a volume, inside"
    assert_eq "$BASE:$BASE" "$(stat -c %u:%g "$C_DIR/vol/new")" "the host owner of a file made inside"
    assert_eq host "$(cat "$C_DIR/vol/f")" "the host file"
}
test_case "--userns auto: volumes are not idmapped (the sandbox's root makes no host-root files)" \
    test_volume_not_idmapped

test_fallback() {
    userns_case
    local before
    before=$(t_tree_sum "$R")
    HUTCH_NO_IDMAP=1 HR_ROOTFS=$R hr --userns auto --hostname fb -- sh -c "$OWNERS
        echo x >>/etc/passwd 2>/dev/null && echo appended || echo read-only
        grep -c fb /etc/hosts"
    assert_status 0
    # (/ is the private upper's, made by the sandbox's root)
    assert_eq "0
0:0
$OVERFLOW:$OVERFLOW
$OVERFLOW:$OVERFLOW" "$(head -n 4 <<<"$out")" "owners of /, /etc/passwd, /etc/owned1000 without idmapped layers"
    assert_line "$out" read-only "appending to /etc/passwd"
    # /etc/hosts is written on the stage and bound over the image's
    assert_eq 1 "$(tail -n 1 <<<"$out")" "lines of /etc/hosts naming the sandbox"
    assert_eq 1 "$(ev_count warning)" "warning events"
    assert_event warning .what '"userns.idmap"'
    assert_event warning .path "\"$R\""
    assert_contains "$(ev_get warning .message)" "idmapped mounts unavailable on $R (HUTCH_NO_IDMAP=1)"
    assert_contains "$(ev_get warning .message)" "appear as 65534"
    assert_eq "$before" "$(t_tree_sum "$R")" "the rootfs after the run"
}
test_case "HUTCH_NO_IDMAP=1: owners outside the map show as 65534, read-only; a warning; /etc/hosts still works" \
    test_fallback

test_fallback_filesystem() {
    userns_case
    # overlayfs can not be idmapped (EINVAL): a --rootfs on one takes the fallback by itself
    mkdir "$C_DIR/ovl" "$C_DIR/ovl/upper" "$C_DIR/ovl/work" "$C_DIR/ovl/m"
    mount -t overlay overlay -o "lowerdir=$R,upperdir=$C_DIR/ovl/upper,workdir=$C_DIR/ovl/work" \
        "$C_DIR/ovl/m"
    HR_ROOTFS=$C_DIR/ovl/m hr --userns auto -- stat -c %u /etc/passwd /etc/owned1000
    umount "$C_DIR/ovl/m"
    assert_status 0
    assert_eq "$OVERFLOW
$OVERFLOW" "$out" "owners on a --rootfs that can not be idmapped"
    assert_eq 1 "$(ev_count warning)" "warning events"
    assert_contains "$(ev_get warning .message)" \
        "idmapped mounts unavailable on $C_DIR/ovl/m (Invalid argument)"
}
test_case "a --rootfs on overlayfs (no idmapped mounts): the fallback, with a warning naming it" \
    test_fallback_filesystem

test_concurrent() {
    userns_case
    mkdir "$C_DIR/sync"
    mkfifo "$C_DIR/sync/go"
    chmod 0666 "$C_DIR/sync/go"
    hr_exec "$C_DIR/a" run --rootfs "$R" --events "$C_DIR/a.jsonl" --userns auto \
        -v "$C_DIR/sync:/sync" -- sh -c "$OWNERS; echo ready; cat /sync/go" &
    local a=$!
    wait_for_line "$C_DIR/a.out" ready
    HR_ROOTFS=$R hr --userns auto -- sh -c "$OWNERS"
    assert_status 0
    local bmap
    bmap=$(sed -n 5p <<<"$out")
    assert_owners_kept "$((BASE + 65536))"
    echo go >"$C_DIR/sync/go"
    t_wait_bg "$a"
    assert_eq 0 "$bg_status" "the first sandbox's status"
    out=$(cat "$C_DIR/a.out")
    assert_owners_kept "$BASE"
    assert_ne "$bmap" "$(sed -n 5p <<<"$out")" "the two sandboxes' uid maps"
}
test_case "--userns auto: two sandboxes at once, each idmapped to its own range" test_concurrent

test_explicit_map() {
    userns_case
    HR_ROOTFS=$R hr --userns 0:410000000:65536 -- sh -c "$OWNERS; echo y >>/etc/passwd && echo ok"
    assert_status 0
    assert_owners_kept 410000000
    assert_line "$out" ok "appending to /etc/passwd"
}
test_case "--userns C:H:S: the same, with an explicit map" test_explicit_map

# 70 layers: more than one handshake frame carries (64), each adding a file owned by 1000.
many_layers_image() {
    local n=70 i
    export HUTCH_ROOT=$C_DIR/store
    img_umoci_base L t
    for ((i = 1; i <= n; i++)); do
        mkdir -p "raw$i/layers"
        echo "$i" >"raw$i/layers/$i"
        echo "$i" >"raw$i/layers/top"
        tar --owner=1000 --group=1000 -C "raw$i" -cf "l$i.tar" layers
        umoci raw add-layer --image L:t "l$i.tar" >/dev/null
        rm -rf "raw$i" "l$i.tar"
    done
    hr_raw image import L:t --name many:1
    assert_status 0
}

test_many_layers() {
    userns_case
    many_layers_image
    local store
    store=$(t_tree_sum "$HUTCH_ROOT/layers")
    hr_raw run --image many:1 --userns auto --events "$C_DIR/m.jsonl" -- sh -c 'set -e
        ls /layers | wc -l; cat /layers/top; stat -c "%u:%g" /layers/1 /layers/70 /etc/passwd
        echo more >>/layers/1; echo x >>/etc/passwd; tail -n 1 /layers/1'
    assert_status 0
    assert_eq "71
70
1000:1000
1000:1000
0:0
more" "$(tr -s ' ' <<<"$out" | sed 's/^ //')" "files, owners and writes across 71 layers"
    assert_eq 0 "$(ev_count warning "$C_DIR/m.jsonl")" "warning events"
    HUTCH_NO_IDMAP=1 hr_raw run --image many:1 --userns auto -- stat -c "%u" /layers/1
    assert_status 0
    assert_eq "$OVERFLOW" "$out" "the owner of a layer file without idmapped layers"
    assert_eq "$store" "$(t_tree_sum "$HUTCH_ROOT/layers")" "the store's layers after the runs"
}
test_case "--userns auto on a 71-layer image: every layer idmapped, the store unchanged" \
    test_many_layers

# fds of PID on a mount outside its own mount namespace: a detached (open_tree) mount
mount_fds_detached() { # PID
    local pid=$1 f link id ids
    ids=" $(awk '{ printf "%s ", $1 }' "/proc/$pid/mountinfo") "
    for f in "/proc/$pid/fd/"*; do
        link=$(readlink "$f") || continue
        [[ $link == /* ]] && [ -d "$f" ] || continue # the layers are directories
        id=$(sed -n 's/^mnt_id:[[:space:]]*//p' "/proc/$pid/fdinfo/${f##*/}")
        [[ $ids == *" $id "* ]] || echo "fd ${f##*/} -> $link (mount $id)"
    done
    return 0
}

test_nothing_left_on_host() {
    userns_case
    # while the workload runs: neither hutch nor the sandbox's init holds a layer's mount
    HUTCH_TEST_PAUSE_AT="exec" "$HUTCH" run --rootfs "$R" --userns auto --events "$C_DIR/p.jsonl" \
        -- true >"$C_DIR/p.out" 2>"$C_DIR/p.err" &
    local pid=$! id init held
    wait_for_line "$C_DIR/p.err" "paused at exec"
    id=$(jq -r 'select(.type == "sandbox.create") | .id' "$C_DIR/p.jsonl")
    init=$(cat "$HUTCH_RUN/$id/init.pid")
    held=$(mount_fds_detached "$pid"; mount_fds_detached "$init")
    kill -CONT "$pid"
    t_wait_bg "$pid"
    assert_eq 0 "$bg_status" "hutch's status after the pause"
    assert_eq 0 "$(ev_count warning "$C_DIR/p.jsonl")" "warning events"
    assert_eq "" "$held" "fds of hutch ($pid) and init ($init) on detached mounts"
    HR_ROOTFS=$R hr --userns auto -- true
    assert_status 0
    assert_eq 0 "$(grep -c -F "$R" /proc/self/mountinfo || true)" "host mounts of the rootfs"
}
test_case "no fd of the idmapped layers in hutch, no mount of them on the host" \
    test_nothing_left_on_host

t_end
