#!/usr/bin/env bash
# Cgroup options that are wrong, and runs whose setup fails after the sandbox's cgroups exist:
# a clear one-line error (exit 125, or 126/127 for the command), and nothing left behind - no
# state directory, no hutch-<id> group in any hierarchy, no process in it. Every run has its
# own --id, so only this script's groups are ever looked at.
# ev, err: set by the harness's hr
# shellcheck disable=SC2154
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

# v2 | hybrid | v1
cg_mode() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo v2
    elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        echo hybrid
    else
        echo v1
    fi
}
CG_MODE=$(cg_mode)

assert_nothing_left() { # ID
    local s
    s=$(t_cgroups_of_ids "$1")
    [ -z "$s" ] || fail "cgroups left: $s"
    s=$(grep -l -E "/hutch-$1\$" /proc/[0-9]*/cgroup 2>/dev/null || true)
    [ -z "$s" ] || fail "processes left in hutch-$1: $s"
    [ ! -e "$HUTCH_RUN/$1" ] || fail "state left: $HUTCH_RUN/$1"
    s=$(t_cgroup_children)
    [ -z "$s" ] || fail "groups below this test's own cgroups: $s"
}

# The phase events of the last run, space-separated.
phases() {
    [ -s "$ev" ] && jq -r 'select(.type == "phase") | .name' "$ev" | tr '\n' ' '
}

test_invalid_values() {
    local i=0 args flag
    local cases=(
        "--memory|-m 0"
        "--cpus|--cpus -1"
        "--cpus|--cpus 0"
        "--cpuset-cpus|--cpuset-cpus 99"
        "--cpuset-cpus|--cpuset-cpus 1-x"
        "--pids-limit|--pids-limit -5"
        "--memory|-m lots"
        "--memory-reservation|-m 64m --memory-reservation 128m"
        "--cpu-shares|--cpu-shares 0"
        "--cgroup-parent|--cgroup-parent ../escape"
        "--device-read-bps|--device-read-bps /dev/null:1mb"
        "--device-write-iops|--device-write-iops /dev/nosuch:10"
    )
    [ "$(nproc --all)" -lt 100 ] || fail "this test assumes fewer than 100 CPUs"
    for c in "${cases[@]}"; do
        i=$((i + 1))
        flag=${c%%|*}
        read -r -a args <<<"${c#*|}"
        hr --id "bad$i-$$" "${args[@]}" -- true
        assert_status 125 "${c#*|}"
        assert_one_error_line "$flag"
        # validation comes first: not even the sandbox.create event
        [ ! -s "$ev" ] || assert_eq 0 "$(ev_count sandbox.create)" "sandbox.create events"
    done
    # one search for all of them (ids bad<N>-<this pid>)
    local left
    left=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "hutch-bad*-$$" 2>/dev/null)
    [ -z "$left" ] || fail "cgroups made for invalid values: $left"
    left=$(t_cgroup_children)
    [ -z "$left" ] || fail "groups below this test's own cgroups: $left"
    # nothing at all in HUTCH_RUN but hutch's own empty directories and locks
    assert_eq "" "$(find "$HUTCH_RUN" -mindepth 1 ! -type d ! -name '*lock' 2>/dev/null)" state
}
test_case "invalid cgroup values are one-line errors, 125, nothing created" test_invalid_values

# Each failure happens after the cgroup phase: the groups existed, and are gone.
midway() { # ID STATUS CULPRIT HUTCH-ARGS...
    local id=$1 want=$2 culprit=$3
    shift 3
    hr --id "$id" "$@"
    assert_status "$want" "$*"
    assert_one_error_line "$culprit"
    assert_contains "$(phases)" "cgroup " "phases reached"
    assert_nothing_left "$id"
}

test_midway_child_mounts() {
    rootfs_copy r1
    rm -rf r1/proc
    ln -s /tmp r1/proc
    HR_ROOTFS=$C_DIR/r1 midway "proc-$$" 125 /proc -- true
    assert_contains "$(phases)" "cgroup.attach " "phases reached"
    rootfs_copy r2
    rm -rf r2/dev
    echo x >r2/dev
    HR_ROOTFS=$C_DIR/r2 midway "dev-$$" 125 /dev -- true
}
test_case "setup failing in the child (/proc a symlink, /dev a file) leaves no cgroup" \
    test_midway_child_mounts

test_midway_exec() {
    rootfs_copy r
    printf '#!/nonexistent/interpreter\n' >r/bin/badscript
    printf 'not an executable' >r/bin/garbage
    chmod 755 r/bin/badscript r/bin/garbage
    HR_ROOTFS=$C_DIR/r midway "noint-$$" 127 badscript -- badscript
    HR_ROOTFS=$C_DIR/r midway "noexec-$$" 126 garbage -- garbage
    assert_contains "$(phases)" "child " "phases reached"
}
test_case "exec failing at the very end (126, 127) leaves no cgroup" test_midway_exec

test_midway_after_cgroup() {
    # the network step comes right after the cgroup step
    midway "net-$$" 125 --network --network sandbox=no-such-sandbox-$$ -- true
}
test_case "a failing step right after the cgroup step leaves no cgroup" test_midway_after_cgroup

test_before_cgroup() {
    hr_raw run --id "img-$$" --events "$C_DIR/img.jsonl" --image "no-such-image-$$:latest" -- true
    assert_status 125
    assert_one_error_line "no-such-image-$$"
    assert_nothing_left "img-$$"
    hr --id "user-$$" -u no-such-user -- true
    assert_status 125
    assert_one_error_line no-such-user
    assert_nothing_left "user-$$"
    hr --id "cmd-$$" -- no-such-command
    assert_status 127
    assert_nothing_left "cmd-$$"
}
test_case "failures before the cgroup step (image, user, command) create nothing" test_before_cgroup

# v1/hybrid: a v1 cpuset parent limited to CPU 0 refuses a child with CPU 1, after the groups
# in every other hierarchy were made and some limits written.
cgroup_step_fails_v1() {
    local own cs
    own=$(for g in "${T_CGROUPS[@]}"; do [ -e "$g/cpuset.cpus" ] && echo "$g"; done | head -n 1)
    [ -n "$own" ] || fail "no cpuset group of this test (v1 cpuset hierarchy missing?)"
    cs=$own/narrow
    mkdir "$cs"
    echo 0 >"$cs/cpuset.cpus"
    cat "$own/cpuset.mems" >"$cs/cpuset.mems"
    hr --id "cpuset-$$" --cgroup-parent narrow -m 64m --cpus 0.5 --cpuset-cpus 1 -- true
    assert_status 125
    assert_one_error_line cpuset.cpus
    assert_contains "$(phases)" "state " "phases reached"
    # hutch made the parent "narrow" in the other hierarchies (parents are shared and stay,
    # as docker leaves them); remove them, and nothing else may be there
    for g in "${T_CGROUPS[@]}"; do
        [ ! -d "$g/narrow" ] || rmdir "$g/narrow" || fail "$g/narrow is not empty"
    done
    assert_nothing_left "cpuset-$$"
}

v2_cleanup() {
    if [ -n "${SENTINEL:-}" ]; then
        kill "$SENTINEL" 2>/dev/null || true
        wait "$SENTINEL" 2>/dev/null || true
    fi
    # shellcheck disable=SC2086 # a list of paths without spaces
    rmdir $V2_DIRS 2>/dev/null || true
}

# v2: a parent that does not delegate a controller, and one that has processes of its own.
cgroup_step_fails_v2() {
    local top=/sys/fs/cgroup/hutchtest-deleg-$$ busy=/sys/fs/cgroup/hutchtest-busy-$$
    mkdir "$top" "$top/inner" "$busy"
    # undone even when an assertion fails (the case runs in a subshell); globals: the trap
    # runs after this function has returned
    V2_DIRS="$top/inner $top $busy"
    SENTINEL=""
    trap v2_cleanup EXIT
    # inner's controllers are top's subtree_control: none
    hr --id "deleg-$$" --cgroup-parent "/${top##*/}/inner" -m 64m -- true
    assert_status 125
    assert_one_error_line "$top/inner/cgroup.controllers"
    assert_contains "$err" memory "error"
    assert_nothing_left "deleg-$$"
    # a process of ours in busy: the kernel refuses controllers for its children
    "$PROBE_HOST" wait >"$C_DIR/sentinel.out" &
    SENTINEL=$!
    wait_for_line "$C_DIR/sentinel.out" ready
    echo "$SENTINEL" >"$busy/cgroup.procs"
    hr --id "busy-$$" --cgroup-parent "/${busy##*/}" --pids-limit 10 -- true
    assert_status 125
    assert_one_error_line "$busy"
    assert_contains "$err" "processes of its own" "error"
    assert_nothing_left "busy-$$"
    # and the parent was left as it was: no controller enabled in it
    assert_eq "" "$(<"$busy/cgroup.subtree_control")" "$busy/cgroup.subtree_control"
}

test_cgroup_step_fails() {
    if [ "$CG_MODE" = v2 ]; then
        cgroup_step_fails_v2
    else
        cgroup_step_fails_v1
    fi
}
test_case "the cgroup step failing halfway is a clear error and leaves nothing ($CG_MODE)" \
    test_cgroup_step_fails

t_end
