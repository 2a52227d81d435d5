#!/usr/bin/env bash
# Cgroup limits in force: memory (OOM kill, reported, 137, host untouched), pids (a fork bomb
# stops at the limit and still ends on timeout), --cpus (CPU time read from the cgroup), cpuset,
# the values written into the sandbox's groups, and plausible usage in process.end.
# Runs on v2, hybrid and v1 hosts (tools/vmtest runs it in a pure v2 guest).
# PE_* variables are assigned by pe_read's eval:
# shellcheck disable=SC2154
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

MIB=1048576
NS=1000000000

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

# The sandbox's group that holds controller CTRL (v1 hierarchy, or the v2 group).
cg_dir() { # ID CTRL
    local d mnt opts
    while read -r d; do
        while read -r mnt _ opts; do
            [[ $d == "$mnt"/* ]] || continue
            if [ "$CG_MODE" = v2 ] || case ",$opts," in *",$2,"*) true ;; *) false ;; esac then
                echo "$d"
                return 0
            fi
        done < <(t_cgroup_mounts)
    done < <(t_cgroups_of_ids "$1")
    fail "no group of sandbox $1 holds the $2 controller"
}


# The fields of the last run's process.end as PE_<field> variables, in one jq call (each process
# costs tens of ms in the emulated v2 guest: ev_get per field would dominate the run time).
pe_read() {
    [ -s "$ev" ] || fail "no events file $ev"
    unset "${!PE_@}" # nothing left over from an earlier run
    eval "$(jq -r 'select(.type == "process.end") | to_entries[]
        | "PE_\(.key)=\(.value | tostring | @sh)"' "$ev")"
    [ -n "${PE_wall_ns:-}" ] || fail "no process.end event in $ev"
}

uptime_s() { read -r u _ </proc/uptime && echo "$u"; }

# Kernel log lines stamped at or after uptime T.
kmsg_since() { # T
    dmesg 2>/dev/null | awk -v t="$1" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 >= t) print }'
}

# The OOM kill stayed inside the sandbox's memory group: the kernel's report of it names the
# group as the constraint (CONSTRAINT_MEMCG), and no global OOM (CONSTRAINT_NONE) happened.
# The report is rate-limited (10 per 5 s), so it may be missing when others OOM at the same time.
assert_oom_contained() { # ID SINCE-UPTIME
    local log line
    log=$(kmsg_since "$2")
    assert_not_contains "$log" "constraint=CONSTRAINT_NONE" "kernel log (a global OOM)"
    line=$(grep -E "oom-kill:.*task_memcg=[^,]*/hutch-$1," <<<"$log" || true)
    if [ -n "$line" ]; then
        assert_contains "$line" "constraint=CONSTRAINT_MEMCG" "kernel OOM report"
        assert_match "$line" "oom_memcg=[^,]*/hutch-$1," "kernel OOM report: the OOM group"
    else
        echo "note: no kernel OOM report for hutch-$1 (rate-limited)"
    fi
}

oom_case() { # CMD...: a memory hog under -m 32m
    local since sentinel
    since=$(uptime_s)
    # a host process outside the sandbox, alive before and after
    "$PROBE_HOST" wait >"$C_DIR/sentinel.out" &
    sentinel=$!
    wait_for_line "$C_DIR/sentinel.out" ready
    hr --id "oom-$$-$HR_N" -m 32m -- "$@"
    assert_status 137
    pe_read
    assert_eq true "$PE_oom_killed" oom_killed
    assert_eq 9 "$PE_signal" signal
    assert_eq 137 "$PE_exit_code" exit_code
    assert_eq false "$PE_timed_out" timed_out
    assert_ge "$PE_memory_peak_bytes" $((16 * MIB)) "memory_peak_bytes (the hog got going)"
    assert_le "$PE_memory_peak_bytes" $((32 * MIB)) "memory_peak_bytes (the limit held)"
    kill -0 "$sentinel" || fail "the host process outside the sandbox died"
    kill "$sentinel"
    wait "$sentinel" || true
    assert_oom_contained "$PE_id" "$since"
}

test_oom_probe() {
    oom_case probe alloc $((256 * MIB))
}
test_case "-m 32m: a process allocating 256 MiB is OOM-killed, reported, 137" test_oom_probe

test_oom_shell() {
    # busybox sh doubling a string: no special tools needed
    oom_case sh -c 's=0123456789abcdef; while :; do s=$s$s; done'
}
test_case "-m 32m: a shell loop eating memory is OOM-killed, reported, 137" test_oom_shell

test_oom_not_when_under() {
    hr -m 64m -- probe alloc $((16 * MIB))
    assert_status 0
    assert_line "$out" "alloc: OK"
    pe_read
    assert_eq false "$PE_oom_killed" oom_killed
    assert_ge "$PE_memory_peak_bytes" $((16 * MIB)) "memory_peak_bytes"
}
test_case "-m 64m: 16 MiB is fine, no OOM reported" test_oom_not_when_under

test_pids_limit_forks() {
    hr --pids-limit 50 -- probe forks 200
    assert_status 0
    # init and probe take two of the 50
    assert_line "$out" "forks: 48 EAGAIN"
    pe_read
    assert_eq 50 "$PE_pids_peak" pids_peak
}
test_case "--pids-limit 50: fork fails with EAGAIN at the limit" test_pids_limit_forks

test_fork_bomb() {
    # the bomb runs in the background; the workload (probe wait) only ends on the timeout
    hr --pids-limit 50 --timeout 2 --kill-grace 1 -- sh -c '
        exec 2>/dev/null
        bomb() { while :; do bomb & done; }
        bomb &
        exec probe wait'
    assert_status 124
    pe_read
    assert_eq true "$PE_timed_out" timed_out
    assert_le "$PE_pids_peak" 50 "pids_peak"
    assert_ge "$PE_pids_peak" 45 "pids_peak (the bomb reached the limit)"
    # ended cleanly: removed, no error (one jq call for both counts)
    assert_eq "1 0" "$(jq -s -r '[map(select(.type == "sandbox.remove")) | length,
        (map(select(.type == "error")) | length)] | join(" ")' "$ev")" "sandbox.remove, error events"
}
test_case "--pids-limit 50: a fork bomb stops at the limit and the sandbox ends on timeout" \
    test_fork_bomb

test_cpus_half() {
    # 1 CPU-second of busy loop at 0.5 CPU: about 2 s of wall time
    hr --cpus 0.5 -- probe burn 1000
    assert_status 0
    local wall cpu permille
    pe_read
    wall=$PE_wall_ns
    cpu=$((PE_cpu_user_us + PE_cpu_system_us))
    assert_ge "$cpu" 1000000 "cpu_user_us + cpu_system_us (the busy loop's own second)"
    assert_ge "$wall" $((NS * 18 / 10)) "wall_ns (throttled to 0.5 CPU)"
    # CPU-seconds per second, in thousandths: 0.4-0.6
    permille=$((cpu * 1000000 / wall))
    echo "cpu ${cpu} us over ${wall} ns: ${permille}/1000 CPU"
    assert_ge "$permille" 400 "CPU use per second (x1000)"
    assert_le "$permille" 600 "CPU use per second (x1000)"
}
test_case "--cpus 0.5: a busy loop gets 0.4-0.6 CPU-seconds per second" test_cpus_half

test_cpus_half_two_loops() {
    # the quota is the group's: two loops together still get half a CPU
    hr --cpus 0.5 -- sh -c 'probe burn 500 & probe burn 500; wait'
    assert_status 0
    local cpu wall permille
    pe_read
    cpu=$((PE_cpu_user_us + PE_cpu_system_us))
    wall=$PE_wall_ns
    permille=$((cpu * 1000000 / wall))
    echo "cpu ${cpu} us over ${wall} ns: ${permille}/1000 CPU"
    assert_ge "$permille" 400 "CPU use per second (x1000)"
    assert_le "$permille" 600 "CPU use per second (x1000)"
}
test_case "--cpus 0.5: two busy loops share the half CPU" test_cpus_half_two_loops

test_cpuset() {
    [ "$(nproc --all)" -ge 2 ] || skip "needs 2 CPUs"
    local last=$(($(nproc --all) - 1))
    hr --cpuset-cpus "$last" -- sh -c 'grep Cpus_allowed_list /proc/self/status'
    assert_status 0
    assert_match "$out" "^Cpus_allowed_list:[[:space:]]+$last\$" "affinity inside"
}
test_case "--cpuset-cpus: the workload runs on the given CPU only" test_cpuset

# The values in the sandbox's own group files while it runs.
test_limits_written() {
    local last=$(($(nproc --all) - 1)) id="lim-$$" base=$C_DIR/bg d
    hr_bg "$base" --id "$id" -m 48m --memory-reservation 16m --cpus 0.5 --cpu-shares 512 \
        --cpuset-cpus "$last" --pids-limit 77 -- probe wait
    wait_for_line "$base.out" ready
    local mem pids cpu cpuset
    mem=$(cg_dir "$id" memory) pids=$(cg_dir "$id" pids) cpu=$(cg_dir "$id" cpu)
    cpuset=$(cg_dir "$id" cpuset)
    assert_eq 77 "$(<"$pids/pids.max")" "$pids/pids.max"
    assert_eq "$last" "$(<"$cpuset/cpuset.cpus")" "$cpuset/cpuset.cpus"
    if [ "$CG_MODE" = v2 ]; then
        assert_eq $((48 * MIB)) "$(<"$mem/memory.max")" "$mem/memory.max"
        [ ! -e "$mem/memory.swap.max" ] || assert_eq 0 "$(<"$mem/memory.swap.max")" memory.swap.max
        assert_eq $((16 * MIB)) "$(<"$mem/memory.low")" "$mem/memory.low"
        assert_eq "50000 100000" "$(<"$cpu/cpu.max")" "$cpu/cpu.max"
        # shares 512 -> weight 1 + (512 - 2) * 9999 / 262142
        assert_eq 20 "$(<"$cpu/cpu.weight")" "$cpu/cpu.weight"
    else
        assert_eq $((48 * MIB)) "$(<"$mem/memory.limit_in_bytes")" memory.limit_in_bytes
        [ ! -e "$mem/memory.memsw.limit_in_bytes" ] ||
            assert_eq $((48 * MIB)) "$(<"$mem/memory.memsw.limit_in_bytes")" memsw.limit_in_bytes
        assert_eq $((16 * MIB)) "$(<"$mem/memory.soft_limit_in_bytes")" soft_limit_in_bytes
        assert_eq 50000 "$(<"$cpu/cpu.cfs_quota_us")" "$cpu/cpu.cfs_quota_us"
        assert_eq 100000 "$(<"$cpu/cpu.cfs_period_us")" "$cpu/cpu.cfs_period_us"
        assert_eq 512 "$(<"$cpu/cpu.shares")" "$cpu/cpu.shares"
    fi
    # every process of the sandbox is in the group
    d=$(cg_dir "$id" pids)
    assert_ge "$(grep -c '' "$d/cgroup.procs")" 2 "processes in $d (init + workload)"
    "$HUTCH" kill "$id" TERM
    hr_bg_wait "$base"
    assert_status 143
}
test_case "limits are written into the sandbox's groups (memory, swap, cpu, cpuset, pids)" \
    test_limits_written

test_usage_plausible() {
    # 24 MiB touched, 300 ms of CPU, 6 processes at once
    hr -m 128m -- sh -c 'probe alloc 25165824 && probe burn 300 &&
        for i in 1 2 3 4; do probe wait >/dev/null & done; probe forks 1; kill $(jobs -p)'
    assert_status 0
    assert_line "$out" "forks: 1"
    local user sys wall peak pids
    pe_read
    user=$PE_cpu_user_us sys=$PE_cpu_system_us wall=$PE_wall_ns
    peak=$PE_memory_peak_bytes pids=$PE_pids_peak
    echo "user ${user} us, system ${sys} us, wall ${wall} ns, peak ${peak} B, pids ${pids}"
    assert_ge "$((user + sys))" 290000 "cpu_user_us + cpu_system_us (300 ms burnt)"
    assert_ge "$user" 150000 "cpu_user_us (a busy loop is user time)"
    # at most all CPUs for the whole wall time, plus 50 ms of accounting slack
    assert_le "$((user + sys))" $((wall * $(nproc --all) / 1000 + 50000)) "cpu vs wall"
    assert_ge "$peak" $((24 * MIB)) "memory_peak_bytes"
    assert_le "$peak" $((128 * MIB)) "memory_peak_bytes"
    # init, sh, 4 waiters, probe forks and its child
    assert_ge "$pids" 7 "pids_peak"
    assert_le "$pids" 12 "pids_peak"
    assert_eq 0 "$PE_io_read_bytes" "io_read_bytes (no block device I/O)"
}
test_case "usage in process.end: cpu, memory peak and pids peak are plausible" test_usage_plausible

test_usage_io() {
    command -v findmnt >/dev/null && command -v mkfs.ext4 >/dev/null ||
        skip "needs findmnt and mkfs.ext4"
    truncate -s 32M img
    mkfs.ext4 -q -F img
    mkdir mnt
    # undone even when an assertion fails (the case runs in a subshell with set -e); mount -o
    # loop sets the loop device to autoclear: any unmount (the harness's too) frees it
    trap 'umount mnt 2>/dev/null || true' EXIT
    mount -o loop img mnt || skip "cannot mount a loop device"
    local dev
    dev=$(findmnt -n -o SOURCE "$C_DIR/mnt")
    [[ $dev == /dev/loop* ]] || fail "mnt is not on a loop device: $dev"
    # O_DIRECT: the I/O is issued (and accounted) by the sandbox's own processes
    hr -v "$C_DIR/mnt:/data" --device-write-bps "$dev:1gb" --device-read-bps "$dev:1gb" -- sh -c '
        dd if=/dev/zero of=/data/f bs=1M count=4 oflag=direct 2>/dev/null &&
        dd if=/data/f of=/dev/null bs=1M iflag=direct 2>/dev/null && echo done'
    assert_status 0
    assert_line "$out" "done"
    local rd wr
    pe_read
    rd=$PE_io_read_bytes wr=$PE_io_write_bytes
    echo "io read ${rd} B, write ${wr} B"
    assert_ge "$wr" $((4 * MIB)) "io_write_bytes"
    assert_le "$wr" $((8 * MIB)) "io_write_bytes"
    assert_ge "$rd" $((4 * MIB)) "io_read_bytes"
    assert_le "$rd" $((8 * MIB)) "io_read_bytes"
}
test_case "usage in process.end: io bytes of direct I/O to a throttled device" test_usage_io

t_end
