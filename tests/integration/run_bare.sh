#!/usr/bin/env bash
# hutch run --bare: a plain host process (the caller's namespaces, root, cwd and credentials),
# confined only by its cgroup (limits, and the end of everything it leaves behind), the timeout,
# the output cap and the event stream. Options that need a container are refused (125).
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

P=$PROBE_HOST # the static probe runs on the host as it is
MIB=$((1 << 20))

# hutch run --bare, events into the case dir: hb [ARGS...] -- CMD...
hb() {
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hb.$HR_N.jsonl
    hr_exec "$C_DIR/hb.$HR_N" run --bare --events "$ev" "$@"
}

# Bounded wait until proc_gone (lib.sh): proc_wait_gone PID [WHAT]
proc_wait_gone() {
    local i
    for ((i = 0; i < 200; i++)); do
        proc_gone "$1" && return 0
        sleep 0.05
    done
    fail "${2:-process} $1 is still running: $(t_proc_desc "$1")"
}

test_namespaces_are_the_hosts() {
    hb -- "$P" ns
    assert_status 0
    local n
    for n in pid mnt net uts ipc user cgroup time; do
        assert_line "$out" "$n $(host_ns "$n")" "namespace $n"
    done
    # and readlink agrees (the form a user would compare)
    hb -- readlink /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/uts
    assert_status 0
    assert_eq "$(readlink /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/uts)" \
        "$out" "readlink /proc/self/ns/*"
}
test_case "--bare: the caller's pid, mount, net, uts... namespaces" test_namespaces_are_the_hosts

test_cwd_and_workdir() {
    mkdir -p sub wd
    cd sub
    hb -- pwd
    assert_status 0
    assert_eq "$C_DIR/sub" "$out" "cwd (the caller's)"
    hb -w "$C_DIR/wd" -- "$P" cwd
    assert_status 0
    assert_contains "$out" "$C_DIR/wd" "cwd with -w"
    # the host's root: a file made here is seen at its host path
    echo marker >"$C_DIR/m.txt"
    hb -- cat "$C_DIR/m.txt"
    assert_eq marker "$out" "a host file"
}
test_case "--bare: cwd is the caller's, -w changes it, the root is the host's" test_cwd_and_workdir

test_env_is_clean() {
    export HUTCH_BARE_SECRET=leaked
    hb -e FOO=bar -- env
    assert_status 0
    assert_not_contains "$out" "HUTCH_BARE_SECRET" "env"
    assert_line "$out" "PATH=$PATH" "env"
    assert_line "$out" "FOO=bar" "env"
    assert_line "$out" "HOME=$(getent passwd root | cut -d: -f6)" "env"
    assert_line "$out" "HOSTNAME=$(hostname)" "env"
    # nothing else: spec env + PATH + HOME + HOSTNAME
    assert_eq "FOO HOME HOSTNAME PATH" "$(cut -d= -f1 <<<"$out" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" \
        "variable names"
    assert_event sandbox.create .hostname "\"$(hostname)\""
}
test_case "--bare: a clean environment (spec env, PATH, HOME, HOSTNAME)" test_env_is_clean

test_credentials() {
    local mine
    mine=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$BASHPID/status")
    hb -- "$P" ids
    assert_status 0
    assert_line "$out" "uid: 0"
    assert_line "$out" "gid: 0"
    hb -- "$P" caps
    assert_status 0
    assert_line "$out" "CapEff: $mine" "the caller's capabilities"
    assert_line "$out" "NoNewPrivs: 0" "no no_new_privs"
    assert_line "$out" "Seccomp: 0" "no seccomp filter"
    # nobody must reach the probe: the checkout may live under a 0700 home (/root)
    chmod 711 "$T_DIR" "$C_DIR"
    install -m 755 "$P" "$C_DIR/probe"
    local P=$C_DIR/probe
    hb -u nobody -- "$P" ids
    assert_status 0
    assert_line "$out" "uid: 65534"
    assert_line "$out" "euid: 65534"
    assert_line "$out" "suid: 65534"
    assert_line "$out" "gid: $(getent passwd nobody | cut -d: -f4)"
    hb -u nobody -- "$P" caps
    assert_status 0
    assert_line "$out" "CapEff: 0000000000000000"
    assert_line "$out" "CapPrm: 0000000000000000"
    assert_line "$out" "CapAmb: 0000000000000000"
    hb -u nobody -- sh -c 'echo "HOME=$HOME"'
    assert_line "$out" "HOME=$(getent passwd nobody | cut -d: -f6)" "nobody's home"
    assert_event sandbox.create .uid 65534
}
test_case "--bare: the caller's credentials; -u nobody: uid 65534, no capabilities" test_credentials

test_cgroup_and_limits() {
    local pid id cg f
    mkfifo go
    "$HUTCH" run --bare --events "$C_DIR/cg.jsonl" -m 48M --pids-limit 77 -- \
        sh -c "cat /proc/self/cgroup; echo ready; read x <'$C_DIR/go'" >cg.out 2>cg.err &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null || true' EXIT
    wait_for_line cg.out ready
    id=$(jq -r 'select(.type == "sandbox.create") | .id' cg.jsonl)
    cg=$(grep -v '^ready$' cg.out)
    assert_contains "$cg" "/hutch-$id" "/proc/self/cgroup of the workload"
    # read from the host while the workload runs
    f=$(cg_file "$cg" memory memory.limit_in_bytes memory.max)
    [ -r "$f" ] || fail "no memory limit file $f for: $cg"
    assert_contains "$f" "hutch-$id" "the workload's memory group"
    assert_eq $((48 * MIB)) "$(cat "$f")" "memory limit of hutch-$id"
    f=$(cg_file "$cg" pids pids.max pids.max)
    [ -r "$f" ] || fail "no pids limit file $f for: $cg"
    assert_eq 77 "$(cat "$f")" "pids limit of hutch-$id"
    echo go >go
    trap - EXIT
    t_wait_bg "$pid"
    assert_eq 0 "$bg_status" "hutch's status"
    assert_eq sandbox.remove "$(jq -r .type cg.jsonl | tail -n 1)" "last event"
    [ ! -e "$(dirname "$f")" ] || fail "the group $(dirname "$f") is still there"
}
test_case "--bare: the workload is in its hutch-<id> group, with -m and --pids-limit" test_cgroup_and_limits

test_oom() {
    hb -m 32M -- "$P" alloc $((256 * MIB))
    assert_status 137
    assert_not_contains "$out" "alloc: OK"
    assert_event process.end .oom_killed true
    assert_event process.end .exit_code 137
    assert_le "$(ev_get process.end .memory_peak_bytes)" $((32 * MIB)) "memory_peak_bytes"
    hb -m 64M -- "$P" alloc $((16 * MIB))
    assert_status 0
    assert_line "$out" "alloc: OK"
    assert_event process.end .oom_killed false
}
test_case "--bare -m 32M: 256 MiB is OOM-killed (137, oom_killed), 16 MiB under 64M is fine" test_oom

test_pids_limit() {
    hb --pids-limit 8 -- "$P" forks 50
    assert_status 0
    local k
    k=$(sed -n 's/^forks: \([0-9]*\) EAGAIN$/\1/p' <<<"$out")
    [ -n "$k" ] || fail "forks did not fail with EAGAIN: $out"
    assert_le "$k" 7 "forks that succeeded under --pids-limit 8"
    assert_le "$(ev_get process.end .pids_peak)" 8 "pids_peak"
}
test_case "--bare --pids-limit 8: forks fail with EAGAIN" test_pids_limit

test_background_processes_end() {
    hb -- sh -c 'sleep 1000 & echo "bg:$!"; (sleep 1000 & echo "gbg:$!"); echo done'
    assert_status 0
    local bg gbg
    bg=$(sed -n 's/^bg://p' <<<"$out")
    gbg=$(sed -n 's/^gbg://p' <<<"$out")
    if [ -z "$bg" ] || [ -z "$gbg" ]; then fail "no pids: $out"; fi
    # gone by the time hutch has returned (a zombie not yet reaped by its new parent is gone)
    proc_gone "$bg" || fail "background child $bg left running: $(t_proc_desc "$bg")"
    proc_gone "$gbg" || fail "orphaned grandchild $gbg left running: $(t_proc_desc "$gbg")"
    assert_event process.end .exit_code 0
}
test_case "--bare: background processes left by the workload are killed" test_background_processes_end

test_timeout() {
    hb --timeout 1 --kill-grace 1 -- sh -c "$P ignore-term-sleep & echo bg:\$!; exec $P ignore-term-sleep"
    assert_status 124
    assert_event process.end .timed_out true
    assert_eq 2 "$(grep -c '^ready$' <<<"$out")" "ready lines"
    assert_ge "$(ev_get process.end .wall_ns)" 1900000000 "wall_ns (timeout + grace)"
    local bg
    bg=$(sed -n 's/^bg://p' <<<"$out")
    [ -n "$bg" ] || fail "no background pid"
    proc_gone "$bg" || fail "TERM-ignoring child $bg left running"
}
test_case "--bare --timeout 1 --kill-grace 1: TERM ignored, KILLed, 124, nothing left" test_timeout

test_max_output() {
    hb --max-output 1K -- "$P" spam 100000
    assert_status 0
    assert_event process.end .output_truncated true
    assert_le "$(stat -c %s "$outf")" 1024 "passthrough bytes"
}
test_case "--bare --max-output 1K: output capped" test_max_output

test_refused_options() {
    local -a cases=(
        "--rootfs|--rootfs $ROOTFS"
        "--image|--image hutch/default:latest"
        "--volume|-v /tmp:/x"
        "--volume|--volume /tmp:/x:ro"
        "--tmpfs|--tmpfs /x"
        "--read-only|--read-only"
        "--upper-size|--upper-size 10M"
        "--hostname|--hostname box"
        "--hostname|-h box"
        "--userns|--userns auto"
        "--privileged|--privileged"
        "--security-opt seccomp|--security-opt seccomp=unconfined"
        "--security-opt seccomp|--security-opt seccomp=default"
        "--cap-add|--cap-add CAP_SYS_ADMIN"
        "--cap-drop|--cap-drop ALL"
        "--network|--network bridge"
        "--network|--network internal=x"
    )
    local c name args
    for c in "${cases[@]}"; do
        name=${c%%|*}
        read -r -a args <<<"${c#*|}"
        hb "${args[@]}" -- sh -c 'echo ran >ran.txt'
        assert_status 125 "${args[*]}"
        assert_one_error_line "$name"
        [ ! -e ran.txt ] || fail "${args[*]}: the command ran"
        ! grep -q '"sandbox.create"' "$ev" 2>/dev/null || fail "${args[*]}: a sandbox was made"
    done
    # what is a host process's anyway is fine
    hb --network host -- true
    assert_status 0
    hb --network none -- true
    assert_status 0
    # no state of any of them
    [ -z "$(find "$HUTCH_RUN" -mindepth 1 ! -type d 2>/dev/null)" ] || fail "state left behind"
}
test_case "--bare: options that need a container exit 125 naming the option" test_refused_options

test_missing_command() {
    hb -- hutch-no-such-command-xyz
    assert_status 127
    assert_one_error_line "hutch-no-such-command-xyz"
    ! grep -q '"sandbox.create"' "$ev" 2>/dev/null || fail "a sandbox was made"
    hb -- /nonexistent/bin/x
    assert_status 127
    assert_contains "$err" "/nonexistent/bin/x"
    hb --
    assert_status 125
}
test_case "--bare: a missing command is 127 before anything is made" test_missing_command

test_events() {
    hb -- sh -c 'echo "pid:$$"; exit 3'
    assert_status 3
    assert_events_valid
    assert_eq sandbox.create "$(ev_types | head -n 1)" "first event"
    assert_eq sandbox.remove "$(ev_types | tail -n 1)" "last event"
    assert_eq 1 "$(ev_count process.start)" "process.start events"
    assert_eq 1 "$(ev_count process.end)" "process.end events"
    assert_event sandbox.create .bare true
    assert_event sandbox.create .rootfs '"/"'
    assert_event sandbox.create .network '"host"'
    assert_event sandbox.create .seccomp '"unconfined"'
    # one pid namespace: the pid hutch reports is the one the workload sees
    local pid
    pid=$(sed -n 's/^pid://p' <<<"$out")
    assert_event process.start .pid "$pid"
    assert_event process.start .pid_inside "$pid"
    assert_event process.end .exit_code 3
    assert_event process.end .timed_out false
    assert_event process.end .oom_killed false
    local k
    for k in wall_ns cpu_user_us cpu_system_us memory_peak_bytes pids_peak io_read_bytes io_write_bytes \
        output_bytes; do
        assert_event process.end ".$k | type" '"number"'
    done
    assert_ge "$(ev_get process.end .wall_ns)" 1 "wall_ns"
    assert_ge "$(ev_get process.end .pids_peak)" 1 "pids_peak"
    # the order: create, start, end, remove
    assert_eq "sandbox.create process.start process.end sandbox.remove" \
        "$(ev_types | grep -E '^(sandbox|process)\.' | tr '\n' ' ' | sed 's/ $//')" "event order"
}
test_case "--bare: events (bare, rootfs /, host network, unconfined; usage; order)" test_events

test_sigkill_then_gc() {
    local hpid id init wl gbg tries=0
    "$HUTCH" run --bare --events "$C_DIR/k.jsonl" -- \
        sh -c "$P ignore-term-sleep >/dev/null & echo gbg:\$!; echo ready; exec $P wait" \
        >k.out 2>k.err &
    hpid=$!
    wait_for_line k.out ready
    id=$(jq -r 'select(.type == "sandbox.create") | .id' k.jsonl)
    init=$(jq -r 'select(.type == "process.start") | .init_pid' k.jsonl)
    wl=$(jq -r 'select(.type == "process.start") | .pid' k.jsonl)
    gbg=$(sed -n 's/^gbg://p' k.out)
    if [ -z "$id" ] || [ -z "$init" ] || [ -z "$wl" ] || [ -z "$gbg" ]; then
        fail "ids: $(cat k.out k.jsonl)"
    fi
    kill -KILL "$hpid"
    wait "$hpid" 2>/dev/null || true
    # hutch's init and the workload die with it (PDEATHSIG)
    proc_wait_gone "$init" "hutch's init"
    proc_wait_gone "$wl" "the workload"
    # what the workload left stays, in its group, until gc
    ! proc_gone "$gbg" || fail "the background process died before gc"
    assert_contains "$(cat "/proc/$gbg/cgroup")" "/hutch-$id" "the leftover's cgroup"
    [ -n "$(t_cgroups_of_ids "$id")" ] || fail "no hutch-$id group before gc"
    "$HUTCH" gc >gc.out 2>&1 || fail "gc failed: $(cat gc.out)"
    proc_wait_gone "$gbg" "the leftover after gc"
    while [ -n "$(t_cgroups_of_ids "$id")$(t_run_leftovers "$id")" ] && [ "$tries" -lt 20 ]; do
        sleep 0.1
        "$HUTCH" gc >/dev/null 2>&1 || true
        tries=$((tries + 1))
    done
    assert_eq "" "$(t_cgroups_of_ids "$id")" "cgroups after gc"
    assert_eq "" "$(t_run_leftovers "$id")" "state after gc"
}
test_case "--bare: SIGKILL to hutch, then gc: the leftover is killed, nothing remains" test_sigkill_then_gc

t_end
