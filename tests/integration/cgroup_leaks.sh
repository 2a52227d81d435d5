#!/usr/bin/env bash
# No cgroup is left after many runs (HUTCH_CGROUP_RUNS, default 200) that end every way a run
# can: success, a non-zero exit, a signal, OOM, the pids limit, timeout with SIGTERM ignored,
# children left behind, and setup failing before, inside and after the cgroup step. Each run has
# its own --id; only the groups named after those ids (and below this test's own groups) are
# looked at, so other tests may run at the same time.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

RUNS=${HUTCH_CGROUP_RUNS:-200}
JOBS=2

# name | expected status | hutch run arguments (split on spaces, '\ ' keeps one; {R} = the
# rootfs, {BAD} = one whose /proc is a symlink, {EXEC} = one with a /bin/garbage)
VARIANTS=(
    "ok|0|--rootfs {R} -- true"
    "exit3|3|--rootfs {R} --cpus 0.5 --cpuset-cpus 0 -m 64m --pids-limit 20 -- sh -c exit\ 3"
    "signal|143|--rootfs {R} -- probe kill-self TERM"
    "oom|137|--rootfs {R} -m 32m -- probe alloc 268435456"
    "pids|0|--rootfs {R} --pids-limit 10 -- probe forks 20"
    "timeout|124|--rootfs {R} --timeout 0.2 --kill-grace 0.1 -- probe ignore-term-sleep"
    "leftover|0|--rootfs {R} -- sh -c probe\ ignore-term-sleep\ &"
    "badproc|125|--rootfs {BAD} -- true"
    "noimage|125|--image no-such-image:latest -- true"
    "network|125|--rootfs {R} --network sandbox=no-such-sandbox -- true"
    "noexec|126|--rootfs {EXEC} -- garbage"
    "nocmd|127|--rootfs {R} -- no-such-command"
)

# One run of variant I % ${#VARIANTS[@]}; on an unexpected status, a line in fail.W. Prints
# the variant's name.
run_one() { # I W
    local i=$1 w=$2 v name want args a st
    v=${VARIANTS[i % ${#VARIANTS[@]}]}
    name=${v%%|*}
    want=${v#*|}
    want=${want%%|*}
    # no -r: a backslash keeps a space inside one argument
    # shellcheck disable=SC2162
    read -a args <<<"${v#*|*|}"
    for a in "${!args[@]}"; do
        case ${args[a]} in
        "{R}") args[a]=$ROOTFS ;;
        "{BAD}") args[a]=$C_DIR/bad ;;
        "{EXEC}") args[a]=$C_DIR/exec ;;
        esac
    done
    # hutch alone, not hr/hr_raw: one process per run instead of four, which is what makes the
    # pure v2 guest (emulated CPU) affordable; a hang is caught by run-suite's timeout. The
    # events are not *.jsonl: the harness would search every cgroup hierarchy once per id
    # (slow in the guest); the checks below search once for all ids.
    "$HUTCH" run --id "many$i-$$" --events "$C_DIR/run.$i.events" "${args[@]}" \
        </dev/null >"$C_DIR/out.$w" 2>"$C_DIR/err.$w" && st=0 || st=$?
    [ "$st" = "$want" ] ||
        echo "run $i ($name): status $st, expected $want: $(<"$C_DIR/err.$w")" >>"$C_DIR/fail.$w"
    echo "$name"
}

test_many_runs() {
    rootfs_copy bad
    rm -rf bad/proc
    ln -s /tmp bad/proc
    rootfs_copy exec
    printf 'not an executable' >exec/bin/garbage
    chmod 755 exec/bin/garbage
    local w i t0 t1 pids=() left
    t0=${EPOCHREALTIME/./}
    # JOBS runs at a time: sandboxes that start and end while others do, and both CPUs of the
    # guest busy (one run is mostly one thread)
    for ((w = 0; w < JOBS; w++)); do
        (for ((i = w; i < RUNS; i += JOBS)); do run_one "$i" "$w"; done >"$C_DIR/names.$w") &
        pids+=($!)
    done
    wait "${pids[@]}"
    t1=${EPOCHREALTIME/./}
    if cat "$C_DIR"/fail.* >"$C_DIR/fails" 2>/dev/null; then
        fail "$(grep -c '' "$C_DIR/fails") runs ended unexpectedly: $(head -n 10 "$C_DIR/fails")"
    fi
    assert_eq "$RUNS" "$(cat "$C_DIR"/names.* | grep -c '')" "runs made"
    # every variant ran (the counts show the mix)
    echo "$RUNS runs, $JOBS at a time, in $(((t1 - t0) / 1000)) ms:" \
        "$(sort "$C_DIR"/names.* | uniq -c | tr -s ' \n' ' ')"
    assert_eq "${#VARIANTS[@]}" "$(sort -u "$C_DIR"/names.* | grep -c '')" "variants run"
    # one search for the groups of all the runs (their ids are many<N>-<this pid>)
    left=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "hutch-many*-$$" 2>/dev/null)
    [ -z "$left" ] || fail "groups left after $RUNS runs: $(head -n 20 <<<"$left")"
    left=$(t_cgroup_children)
    [ -z "$left" ] || fail "groups left below this test's own cgroups: $(head -n 20 <<<"$left")"
    left=$(grep -l -E '/hutch-many[0-9]+-'"$$"'$' /proc/[0-9]*/cgroup 2>/dev/null || true)
    [ -z "$left" ] || fail "processes left in the sandboxes' groups: $left"
    left=$(find "$HUTCH_RUN" -mindepth 1 -name "many*-$$*" 2>/dev/null)
    [ -z "$left" ] || fail "state left: $(head -n 20 <<<"$left")"
}
test_case "no cgroup, process or state left after $RUNS runs that end every way" test_many_runs

t_end
