#!/usr/bin/env bash
# Kill-all through the cgroup: no process of a sandbox survives its `hutch run` - on timeout
# (a tree that ignores SIGTERM and forks), when the workload leaves children behind, and when
# hutch itself is SIGKILLed (then `hutch gc` removes what is left). Every check is made by the
# sandbox's host pids (with their start times, so a reused pid does not count) and by scanning
# /proc/*/cgroup for the sandbox's group, whose directories must be gone too.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

NS=1000000000


# Bounded wait until FILE has N lines equal to LINE.
wait_for_count() { # FILE LINE N
    local i n
    for ((i = 0; i < ${HR_TIMEOUT:-60} * 100; i++)); do
        n=$(grep -cxF -- "$2" "$1" 2>/dev/null || true)
        [ "${n:-0}" -ge "$3" ] && return 0
        sleep 0.01
    done
    fail "fewer than $3 lines '$2' in $1 after ${HR_TIMEOUT:-60}s"
}

# "PID STARTTIME" of every process in the sandbox's groups (all of them are in every one).
sandbox_procs() { # ID
    local d pid st
    for d in $(t_cgroups_of_ids "$1"); do
        while read -r pid; do
            st=$(proc_start "$pid") && echo "$pid $st"
        done <"$d/cgroup.procs"
    done | sort -u
}

proc_start() { # PID: field 22 of /proc/PID/stat (start time in clock ticks)
    local line
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    line=${line##*) }
    # shellcheck disable=SC2086
    set -- $line
    echo "${20}"
}

# Processes of PROCS ("PID STARTTIME" lines) that still exist.
survivors() { # PROCS
    local pid st now
    while read -r pid st; do
        [ -n "$pid" ] || continue
        now=$(proc_start "$pid") || continue
        [ "$now" = "$st" ] && echo "$pid"
    done <<<"$1"
}

# Processes whose cgroup (any hierarchy) is the sandbox's.
procs_in_sandbox_cgroup() { # ID
    grep -l -E "/hutch-$1\$" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 || true
}

assert_nothing_left() { # ID PROCS
    local s
    s=$(survivors "$2")
    [ -z "$s" ] || fail "sandbox processes still alive: $(for p in $s; do t_proc_desc "$p"; done)"
    s=$(procs_in_sandbox_cgroup "$1")
    [ -z "$s" ] || fail "processes in hutch-$1: $(for p in $s; do t_proc_desc "$p"; done)"
    s=$(t_cgroups_of_ids "$1")
    [ -z "$s" ] || fail "cgroups left: $s"
    [ ! -e "$HUTCH_RUN/$1" ] || fail "state left: $HUTCH_RUN/$1"
}

# 7 processes ignoring SIGTERM, forked at three depths, some orphaned (reparented to init).
TREE='trap "" TERM
for i in 1 2 3; do probe ignore-term-sleep & done
(probe ignore-term-sleep &)
(sh -c "trap \"\" TERM; probe ignore-term-sleep & exec probe ignore-term-sleep" &)
exec probe ignore-term-sleep'

test_timeout_kills_forking_tree() {
    local id="tree-$$" base=$C_DIR/bg procs
    # 5 s: time to read the pids before the timeout, even in the emulated guest under load
    hr_bg "$base" --id "$id" --timeout 5 --kill-grace 0.5 -- sh -c "$TREE"
    wait_for_count "$base.out" ready 7
    procs=$(sandbox_procs "$id")
    echo "sandbox processes (pid start): $(tr '\n' ' ' <<<"$procs")"
    # init + 7 probes (+ the shells between them, if they are still there)
    assert_ge "$(grep -c '' <<<"$procs")" 8 "processes in the sandbox's group"
    hr_bg_wait "$base"
    assert_status 124
    local timed_out wall
    read -r timed_out wall < <(jq -r 'select(.type == "process.end") | "\(.timed_out) \(.wall_ns)"' "$ev")
    assert_eq true "$timed_out" "process.end timed_out"
    # SIGTERM was ignored: the end came with SIGKILL after the grace
    assert_ge "$wall" $((NS * 5)) "wall_ns (timeout + grace)"
    assert_nothing_left "$id" "$procs"
}
test_case "timeout: a forking tree that ignores SIGTERM is fully killed" \
    test_timeout_kills_forking_tree

leftover_case() { # ID HUTCH-OPTIONS...: the workload exits, its child lives on
    local id=$1
    shift
    # the workload waits (inside) until its child runs, then exits 0
    hr --id "$id" "$@" -- sh -c 'trap "" TERM; probe ignore-term-sleep >/tmp/r &
        until grep -q ready /tmp/r; do :; done; echo leaving'
    assert_status 0
    assert_line "$out" leaving
    assert_nothing_left "$id" ""
}

test_leftover_child_init() {
    leftover_case "left-$$"
}
test_case "a child left behind by the workload is killed at teardown (init)" \
    test_leftover_child_init

test_leftover_child_noinit() {
    leftover_case "leftni-$$" --no-init
}
test_case "a child left behind by the workload is killed at teardown (--no-init)" \
    test_leftover_child_noinit

test_hutch_killed_then_gc() {
    local id="gc-$$" procs hpid i s
    "$HUTCH" run --rootfs "$ROOTFS" --id "$id" --events "$C_DIR/gc.jsonl" -- \
        sh -c 'trap "" TERM; probe ignore-term-sleep & exec probe ignore-term-sleep' \
        >"$C_DIR/gc.out" 2>"$C_DIR/gc.err" &
    hpid=$!
    wait_for_count "$C_DIR/gc.out" ready 2
    procs=$(sandbox_procs "$id")
    assert_ge "$(grep -c '' <<<"$procs")" 3 "processes in the sandbox's group"
    [ -e "$HUTCH_RUN/$id" ] || fail "no state directory $HUTCH_RUN/$id while it runs"
    kill -KILL "$hpid"
    wait "$hpid" || true
    # init dies with its parent (PDEATHSIG) and the pid namespace with init; bounded wait
    for ((i = 0; i < 1000; i++)); do
        s=$(survivors "$procs")
        [ -z "$s" ] && break
        sleep 0.01
    done
    [ -z "$s" ] || fail "sandbox processes outlived hutch: $s"
    # nobody removed the groups: that is gc's job
    [ -n "$(t_cgroups_of_ids "$id")" ] || fail "the groups vanished before hutch gc"
    hr_raw gc
    assert_status 0
    assert_nothing_left "$id" "$procs"
}
test_case "hutch SIGKILLed: its sandbox dies with it and hutch gc removes the groups" \
    test_hutch_killed_then_gc

t_end
