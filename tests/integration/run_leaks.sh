#!/usr/bin/env bash
# hutch run leaves nothing behind: no mount, cgroup, process, state or temp dir - after many
# runs, failing runs, concurrent runs, and runs whose hutch is signalled. (The harness checks
# for leftovers after every case; these cases only make many chances for one.)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

# Nothing of the case's sandboxes is left right now (the harness checks again after the case).
assert_nothing_left() {
    local n
    n=$(t_cgroup_children | grep -c '' || true)
    assert_eq 0 "$n" "cgroups left: $(t_cgroup_children | head -n 3)"
    [ -z "$(t_mounts_under "$T_DIR")" ] || fail "mounts left: $(t_mounts_under "$T_DIR")"
    if [ -d "$HUTCH_RUN" ]; then
        n=$(find "$HUTCH_RUN" -mindepth 1 ! -type d | grep -c '' || true)
        assert_eq 0 "$n" "files left in HUTCH_RUN: $(find "$HUTCH_RUN" -mindepth 1 | head -n 3)"
    fi
}

test_fifty_runs() {
    local i start end
    start=$(date +%s%N)
    for i in $(seq 50); do
        hr -- true
        assert_status 0 "run $i"
    done
    end=$(date +%s%N)
    note "50 runs in $(((end - start) / 1000000)) ms"
    assert_eq 50 "$(cat "$C_DIR"/hr.*.jsonl | jq -r 'select(.type == "sandbox.remove") | .id' |
        sort -u | grep -c '')" "sandbox.remove events"
    assert_nothing_left
}
test_case "50 runs leave nothing behind" test_fifty_runs

test_failing_runs() {
    local i
    for i in $(seq 5); do
        hr -- probe exit 3
        assert_status 3
        hr -- probe kill-self KILL
        assert_status 137
        hr -- no-such-command
        assert_status 127
        hr -- /etc/passwd
        assert_status 126
        hr -u ghost -- true
        assert_status 125
        hr -v "$C_DIR/none:/x" -- true
        assert_status 125
    done
    assert_nothing_left
}
test_case "failing runs (exit, signal, 125-127) leave nothing behind" test_failing_runs

test_timeout_runs() {
    local i
    for i in 1 2 3; do
        hr --timeout 0.2 --kill-grace 0.2 -- sh -c 'probe ignore-term-sleep & exec probe ignore-term-sleep'
        assert_status 124
    done
    assert_nothing_left
}
test_case "timed-out runs leave nothing behind" test_timeout_runs

test_concurrent_runs() {
    local i pids=() st=0
    for i in $(seq 10); do
        timeout -k 5 60 "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/c$i.jsonl" \
            -- sh -c "echo run $i" >"$C_DIR/c$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        t_wait_bg "${pids[$i]}"
        st=$bg_status
        [ "$st" = 0 ] || fail "concurrent run $((i + 1)): status $st: $(cat "$C_DIR/c$((i + 1)).out")"
    done
    for i in $(seq 10); do
        assert_eq "run $i" "$(cat "$C_DIR/c$i.out")" "output of concurrent run $i"
    done
    # ten different sandbox ids
    assert_eq 10 "$(cat "$C_DIR"/c*.jsonl | jq -r .id | sort -u | grep -c '')" "distinct ids"
    assert_nothing_left
}
test_case "10 concurrent runs: right output each, nothing left" test_concurrent_runs

test_hutch_sigterm() {
    # SIGTERM to hutch itself: passed to the workload, which dies; hutch cleans up
    "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/t.jsonl" -- probe wait \
        >"$C_DIR/t.out" 2>&1 &
    local pid=$!
    wait_for_line "$C_DIR/t.out" ready
    kill -TERM "$pid"
    HR_TIMEOUT=20 t_wait_bg "$pid"
    assert_eq 143 "$bg_status" "hutch's status after SIGTERM to it"
    assert_eq sandbox.remove "$(jq -r .type "$C_DIR/t.jsonl" | tail -n 1)" "last event"
    assert_nothing_left
}
test_case "SIGTERM to hutch ends the sandbox and cleans up" test_hutch_sigterm

test_hutch_sigint() {
    "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/t.jsonl" -- probe wait \
        >"$C_DIR/t.out" 2>&1 &
    local pid=$!
    wait_for_line "$C_DIR/t.out" ready
    kill -INT "$pid"
    HR_TIMEOUT=20 t_wait_bg "$pid"
    assert_eq 130 "$bg_status" "hutch's status after SIGINT to it"
    assert_nothing_left
}
test_case "SIGINT to hutch ends the sandbox and cleans up" test_hutch_sigint

test_workload_leaves_children() {
    # a workload that forks daemons and exits: the sandbox ends with it, daemons killed
    hr -- sh -c 'probe ignore-term-sleep >/dev/null & probe wait >/dev/null & echo started'
    assert_status 0
    assert_eq started "$out"
    assert_nothing_left
}
test_case "daemons left by the workload are killed with the sandbox" test_workload_leaves_children

test_no_temp_dirs_left() {
    local before after
    before=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -newer "$C_DIR" -name '*hutch*' ! -name 'hutch-test.*' \
        2>/dev/null | sort)
    hr -- true
    hr -- probe exit 1
    after=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -newer "$C_DIR" -name '*hutch*' ! -name 'hutch-test.*' \
        2>/dev/null | sort)
    assert_eq "$before" "$after" "new hutch entries in ${TMPDIR:-/tmp}"
    if [ -d "$HUTCH_ROOT" ]; then
        local n
        n=$(find "$HUTCH_ROOT" -mindepth 1 -name 'tmp*' | grep -c '' || true)
        assert_eq 0 "$n" "temp entries in HUTCH_ROOT"
    fi
}
test_case "no temp dirs are left in TMPDIR or HUTCH_ROOT" test_no_temp_dirs_left

t_end
