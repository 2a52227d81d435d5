#!/usr/bin/env bash
# hutch job: the job file, its environment, overrides, profiles, the workspace, input_data and
# output.json, and job file errors (exit 125, FILE:LINE:COL).
. "$(dirname "$0")/../lib.sh"
t_begin

# hutch job on the test rootfs, events into the case dir: hj [ARGS...]
hj() {
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hj.$HR_N.jsonl
    hr_exec "$C_DIR/hj.$HR_N" job --rootfs "$ROOTFS" --events "$ev" "$@"
}

mkws() { # a workspace with a job file from stdin: mkws DIR
    mkdir -p "$1"
    cat >"$1/.hutch.yaml"
}

test_env_and_workspace() {
    mkws ws <<'EOF'
command: |
  echo "job=$HUTCH_JOB_ID sb=$HUTCH_SANDBOX_ID ci=$CI foo=$FOO pwd=$(pwd)"
  echo written-inside > from-job.txt
env:
  FOO: from-file
EOF
    hj --workspace ws --job-id build-42
    assert_status 0
    assert_events_valid
    local id
    id=$(ev_get sandbox.create .id | tr -d '"')
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" "job=build-42 sb=$id ci=true foo=from-file pwd=/workspace"
    # the workspace is the checkout itself, read-write
    assert_eq written-inside "$(cat ws/from-job.txt)" "file written by the job"
    assert_eq 1 "$(ev_count sandbox.remove)" "sandbox.remove events"
    assert_eq sandbox.remove "$(ev_types | tail -n 1)" "last event"
}

test_default_file_is_in_the_workspace() {
    mkws ws <<'EOF'
command: [echo, default file]
EOF
    cd ws || fail "cd ws"
    hj
    cd "$C_DIR" || fail "cd back"
    assert_status 0
    assert_contains "$out" "default file"
}

test_flags_override_the_file() {
    mkws ws <<'EOF'
command: echo "foo=$FOO mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; id -u
env: {FOO: from-file}
resources: {memory: 64M}
user: "1000"
EOF
    hj --workspace ws -e FOO=from-flag -m 96M -u 0
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_contains "$(cat "$C_DIR/stdout")" "foo=from-flag"
    assert_line "$(cat "$C_DIR/stdout")" "0"
    assert_event sandbox.create .memory_limit "$((96 << 20))"
}

test_exit_status_passes_through() {
    mkws ws <<'EOF'
command: exit 3
EOF
    hj --workspace ws
    assert_status 3
    assert_event process.end .exit_code 3
}

test_input_data_and_output_json() {
    mkws ws <<'EOF'
command: |
  cat /hutch/input.json
  echo "{\"answer\": $(sed 's/.*"n":\([0-9]*\).*/\1/' /hutch/input.json), \"ok\": true}" >/hutch/output/output.json
input_data:
  n: 42
  names: [a, "b c"]
  nested: {t: true, z: null}
EOF
    hj --workspace ws
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" '{"n":42,"names":["a","b c"],"nested":{"t":true,"z":null}}'
    assert_event output 'select(.stream == "result") | .result' '{"answer":42,"ok":true}'
    # /hutch itself is read-only
    mkws ws2 <<'EOF'
command: touch /hutch/x
EOF
    hj --workspace ws2
    assert_ne 0 "$status" "writing to /hutch"
}

test_bad_output_json_is_a_warning() {
    mkws ws <<'EOF'
command: echo 'not json' >/hutch/output/output.json
EOF
    hj --workspace ws
    assert_status 0
    assert_event warning .what '"output"'
    assert_contains "$(ev_get warning .message)" "not valid JSON"
    assert_eq 0 "$(jq -c 'select(.stream == "result")' "$ev" | grep -c . || true)" "result events"
}

test_output_symlink_is_not_followed() {
    # a symlink to a file of the sandbox's own: not followed even inside the sandbox
    mkws ws <<'EOF'
command: ln -s /etc/passwd /hutch/output/output.json
EOF
    hj --workspace ws
    assert_status 0
    assert_eq 0 "$(jq -c 'select(.stream == "result")' "$ev" | grep -c . || true)" "result events"
    assert_event warning .what '"output"'
}

test_workspace_overlay_keeps_the_checkout() {
    mkws ws <<'EOF'
command: |
  echo changed > tracked.txt && rm keep.txt && mkdir newdir && echo new > newdir/f
  cat tracked.txt; ls
workspace: {mode: overlay}
EOF
    echo original >ws/tracked.txt
    echo keep >ws/keep.txt
    local before
    before=$(t_tree_sum ws)
    hj --workspace ws
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" "changed"
    assert_no_line "$(cat "$C_DIR/stdout")" "keep.txt"
    assert_eq "$before" "$(t_tree_sum ws)" "the checkout after an overlay job"
}

test_profile_untrusted() {
    mkws ws <<'EOF'
command: id -u; touch /etc/x 2>/dev/null && echo root-writable; grep CapEff /proc/self/status
profile: untrusted
EOF
    hj --workspace ws
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    assert_line "$(cat "$C_DIR/stdout")" "65534"
    assert_not_contains "$(cat "$C_DIR/stdout")" "root-writable"
    assert_contains "$(cat "$C_DIR/stdout")" "CapEff:	0000000000000000"
    assert_event sandbox.create .read_only true
    assert_event sandbox.create .pids_limit 100
    assert_event sandbox.create .seccomp '"strict"'
    # --profile replaces the file's
    hj --workspace ws --profile trusted
    assert_status 0
    assert_event sandbox.create .network '"host"'
    # a file's own settings come after its profile; the caller's --profile after the file
    mkws loose <<'EOF'
command: id -u
profile: untrusted
user: "0"
network: host
security: {seccomp: unconfined}
EOF
    hj --workspace loose
    assert_status 0
    assert_line "$out" "0"
    assert_event sandbox.create .network '"host"'
    hj --workspace loose --profile untrusted
    assert_status 0
    assert_line "$out" "65534"
    assert_event sandbox.create .network '"none"'
    assert_event sandbox.create .seccomp '"strict"'
}

test_rootfs_of_a_job_file_stays_in_the_workspace() {
    mkdir -p ws/images
    cp -a "$ROOTFS" ws/images/root
    echo 'in-workspace' >ws/images/root/etc/marker
    mkws ws <<'EOF'
command: cat /etc/marker
container: {rootfs: images/root}
EOF
    hr_raw job --workspace ws --events "$C_DIR/rootfs.jsonl"
    assert_status 0
    assert_contains "$out" "in-workspace"
    ln -s / ws/hostroot
    printf 'command: cat /etc/hostname\ncontainer: {rootfs: hostroot}\n' >ws/.hutch.yaml
    hr_raw job --workspace ws
    assert_status 125
    assert_one_error_line "container.rootfs 'hostroot'"
    assert_contains "$err" "out of the workspace"
}

test_job_file_errors() {
    mkdir -p ws
    printf 'command: x\nresources:\n  memory: lots\n' >ws/bad.yaml
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/bad.yaml
    assert_status 125
    assert_one_error_line "ws/bad.yaml:3:11"
    assert_contains "$err" "resources.memory"
    printf 'command: x\nfrobnicate: 1\n' >ws/bad.yaml
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/bad.yaml
    assert_status 125
    assert_one_error_line "ws/bad.yaml:2:1: unknown key 'frobnicate'"
    printf 'command: x\nprofile: nosuch\n' >ws/bad.yaml
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/bad.yaml
    assert_status 125
    assert_one_error_line "ws/bad.yaml:2:10: no profile 'nosuch'"
    printf 'command: x\ncontainer: none\n' >ws/bad.yaml
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/bad.yaml
    assert_status 125
    assert_one_error_line "--rootfs: not available with --bare or container: none"
    printf 'command: x\ninputs: [{src: missing, dst: /in}]\n' >ws/bad.yaml
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/bad.yaml
    assert_status 125
    assert_contains "$err" "ws/bad.yaml:2:10: inputs[0]"
    hr_raw job --rootfs "$ROOTFS" --workspace ws ws/missing.yaml
    assert_status 125
    assert_one_error_line "ws/missing.yaml"
    hr_raw job --rootfs "$ROOTFS" --workspace ws --memory lots ws/bad.yaml
    assert_status 125
    assert_one_error_line "--memory"
    hr_raw job --rootfs "$ROOTFS" ws/a.yaml ws/b.yaml
    assert_status 125
    assert_one_error_line "at most one job FILE"
    # nothing was made for any of them
    [ -z "$(find "$HUTCH_RUN" -mindepth 1 ! -type d 2>/dev/null)" ] || fail "state left behind"
}

test_case "env, job id, workspace at /workspace read-write" test_env_and_workspace
test_case "the default job file is WORKSPACE/.hutch.yaml" test_default_file_is_in_the_workspace
test_case "hutch run flags override the job file" test_flags_override_the_file
test_case "the workload's exit status passes through" test_exit_status_passes_through
test_case "input_data in, output.json out as a result event" test_input_data_and_output_json
test_case "an invalid output.json is a warning" test_bad_output_json_is_a_warning
test_case "an output.json symlink is not followed" test_output_symlink_is_not_followed
test_case "workspace: overlay leaves the checkout untouched" test_workspace_overlay_keeps_the_checkout
test_case "profile untrusted (and --profile)" test_profile_untrusted
test_case "a job file's rootfs stays inside the workspace" test_rootfs_of_a_job_file_stays_in_the_workspace
test_case "job file errors: exit 125, FILE:LINE:COL" test_job_file_errors
t_end
