#!/usr/bin/env bash
# hutch job with `container: none`: the command runs as a host process in the checkout itself,
# with a fresh HOME (caches linked into it, never mounted), inputs/outputs/artifacts through host
# paths (artifacts only from beneath the workspace, symlinks never followed), only the limits of
# a profile, container settings refused at their FILE:LINE:COL, and SIGKILL at any phase leaving
# only what `hutch gc` removes.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

CACHES=$HUTCH_ROOT/caches

# hutch job (no rootfs: the job is bare), events into the case dir: hj [ARGS...]
hj() {
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hj.$HR_N.jsonl
    hr_exec "$C_DIR/hj.$HR_N" job --events "$ev" "$@"
}

mkws() { # a workspace with a job file from stdin: mkws DIR
    mkdir -p "$1"
    cat >"$1/.hutch.yaml"
}

stdout_of() { # the workload's stdout of the last hj, from its output events
    ev_output_bytes stdout "$C_DIR/stdout.$HR_N"
    cat "$C_DIR/stdout.$HR_N"
}

sb_id() {
    ev_get sandbox.create .id | tr -d '"'
}




test_runs_in_the_checkout() {
    mkws ws <<'EOF'
container: none
command: |
  echo "pwd=$(pwd)"
  echo "job=$HUTCH_JOB_ID sb=$HUTCH_SANDBOX_ID ci=$CI foo=$FOO"
  echo "home=$HOME"
  echo "home-list=$(ls -A "$HOME" | tr '\n' ' ')"
  echo "secret=${HUTCH_BARE_SECRET:-unset}"
  echo written-by-job > from-job.txt
  touch "$HOME/dirt"
env: {FOO: from-file}
EOF
    export HUTCH_BARE_SECRET=leaked
    local wsr id o
    wsr=$(realpath ws)
    hj --workspace ws --job-id build-7
    assert_status 0
    assert_events_valid
    id=$(sb_id)
    o=$(stdout_of)
    assert_line "$o" "pwd=$wsr"
    assert_line "$o" "job=build-7 sb=$id ci=true foo=from-file"
    assert_line "$o" "home=$HUTCH_RUN/.jobs/$id/home"
    assert_line "$o" "home-list="
    assert_line "$o" "secret=unset" "the caller's environment"
    assert_eq written-by-job "$(cat ws/from-job.txt)" "file written by the job in the checkout"
    assert_event sandbox.create .bare true
    assert_event sandbox.create .rootfs '"/"'
    assert_eq sandbox.remove "$(ev_types | tail -n 1)" "last event"
    [ ! -e "$HUTCH_RUN/.jobs/$id" ] || fail "the job's staging (and home) is still there"
    # the next job's home is fresh again
    hj --workspace ws
    assert_status 0
    o=$(stdout_of)
    assert_line "$o" "home-list="
    assert_ne "$id" "$(sb_id)" "sandbox id of the second job"
}
test_case "container: none runs in the checkout, CI/HUTCH_* set, a fresh empty HOME" test_runs_in_the_checkout

test_exit_status_and_limits_of_the_file() {
    mkws ws <<'EOF'
container: none
command: exit 3
resources: {memory: 96M, pids: 55}
EOF
    hj --workspace ws
    assert_status 3
    assert_event process.end .exit_code 3
    assert_event sandbox.create .memory_limit "$((96 << 20))"
    assert_event sandbox.create .pids_limit 55
    mkws to <<'EOF'
container: none
command: sleep 1000 & echo ready; exec sleep 1000
timeout: 1
EOF
    hj --workspace to
    assert_status 124
    assert_event process.end .timed_out true
}
test_case "container: none: the exit status, resources and timeout of the job file" test_exit_status_and_limits_of_the_file

test_bare_flag_makes_any_job_bare() {
    mkws ws <<'EOF'
command: echo "pid=$$ pwd=$(pwd)"; readlink /proc/self/ns/mnt
container: {rootfs: rootfs}
workspace: {mode: bind}
EOF
    mkdir ws/rootfs
    hj --workspace ws --bare
    assert_status 0
    assert_eq true "$(ev_get sandbox.create .bare)" "sandbox.create .bare"
    local o
    o=$(stdout_of)
    assert_contains "$o" "pwd=$(realpath ws)"
    assert_contains "$o" "$(readlink /proc/self/ns/mnt)"
    # a flag that needs a container does not mix with it
    hj --workspace ws --bare --read-only
    assert_status 125
    assert_one_error_line "--read-only: not available with --bare"
}
test_case "hutch job --bare: the job file's container is replaced by a bare host process" \
    test_bare_flag_makes_any_job_bare

test_caches_auto() {
    mkws ws <<'EOF'
container: none
command: |
  echo "seen: $(cat ~/.npm/marker 2>/dev/null || echo none)"
  echo "run-$RUN" > ~/.npm/marker
  echo "npm=$HUTCH_CACHE_NPM"
  echo "link=$(readlink ~/.npm)"
  echo "gomod=$GOMODCACHE"
  echo "gomodc=$HUTCH_CACHE_GO_MOD"
  echo "files-in-home=$(find ~ ! -type d ! -type l | wc -l)"
  echo "links-in-home=$(find ~ -type l | wc -l)"
caches: auto
EOF
    hj --workspace ws -e RUN=1
    assert_status 0
    local o1 o2 npm
    o1=$(stdout_of)
    assert_line "$o1" "seen: none"
    npm=$(sed -n 's/^npm=//p' <<<"$o1")
    [ -d "${npm:-/nonexistent}" ] || fail "HUTCH_CACHE_NPM is not a directory: '$npm'"
    assert_line "$o1" "link=$npm" "HOME/.npm is a link to HUTCH_CACHE_NPM"
    assert_eq "$(sed -n 's/^gomodc=//p' <<<"$o1")" "$(sed -n 's/^gomod=//p' <<<"$o1")" "GOMODCACHE"
    assert_ne "" "$(sed -n 's/^gomod=//p' <<<"$o1")" "GOMODCACHE"
    assert_line "$o1" "files-in-home=0" "HOME apart from cache links"
    assert_ge "$(sed -n 's/^links-in-home=//p' <<<"$o1")" 1 "cache links in HOME"
    assert_eq run-1 "$(cat "$npm/marker")" "the npm cache on the host"
    case "$(realpath "$npm")" in "$(realpath "$CACHES")"/*) ;; *) fail "the npm cache $npm is not in $CACHES" ;; esac
    hj --workspace ws -e RUN=2
    assert_status 0
    o2=$(stdout_of)
    assert_line "$o2" "seen: run-1"
    assert_line "$o2" "npm=$npm" "the same cache directory the second time"
    assert_eq run-2 "$(cat "$npm/marker")" "the npm cache after the second job"
    assert_no_job_leftovers "after two jobs"
}
test_case "container: none, caches: auto: links in HOME, warm the second time" test_caches_auto

NOWHERE=/hutch-bare-test-never-made
test_named_cache() {
    mkws ws <<EOF
container: none
command: |
  echo "seen: \$(cat ~/.cache/build/m 2>/dev/null || echo none) \$(cat "\$HUTCH_CACHE_MY_TOOL/m" 2>/dev/null || echo none)"
  echo "\$RUN" > ~/.cache/build/m
  echo "\$RUN" > "\$HUTCH_CACHE_MY_TOOL/m"
  echo "build=\$HUTCH_CACHE_BUILD"
  echo "link=\$(readlink ~/.cache/build)"
  [ -e $NOWHERE ] && echo "absolute path made"; true
caches:
  - {name: build, path: ~/.cache/build}
  - {name: my-tool, path: $NOWHERE}
EOF
    [ ! -e "$NOWHERE" ] || skip "$NOWHERE exists on this host"
    hj --workspace ws -e RUN=one
    assert_status 0
    local o build
    o=$(stdout_of)
    assert_line "$o" "seen: none none"
    build=$(sed -n 's/^build=//p' <<<"$o")
    [ -d "${build:-/nonexistent}" ] || fail "HUTCH_CACHE_BUILD is not a directory: '$build'"
    assert_line "$o" "link=$build"
    assert_no_line "$o" "absolute path made"
    [ ! -e "$NOWHERE" ] || fail "a cache path was made on the host: $NOWHERE"
    hj --workspace ws -e RUN=two
    assert_status 0
    o=$(stdout_of)
    assert_line "$o" "seen: one one"
    assert_line "$o" "build=$build"
    assert_eq two "$(cat "$build/m")" "the build cache on the host"
}
test_case "container: none, named caches: ~/ paths linked, \$HUTCH_CACHE_<NAME>, nothing made on /" test_named_cache

test_container_settings_are_errors() {
    mkdir -p ws
    # "snippet after 'container: none\ncommand: x\n'|expected FILE:LINE:COL|what"
    local -a cases=(
        'caches:\n  - {name: b, path: /c, mode: overlay}\n|ws/bad.yaml:4:5|overlay'
        'workspace: {mode: overlay}\n|ws/bad.yaml:3:12|overlay'
        'read_only: true\n|ws/bad.yaml:3:12|read-only'
        'network: none\n|ws/bad.yaml:3:10|network'
        'network: bridge\n|ws/bad.yaml:3:10|network'
        'security: {seccomp: default}\n|ws/bad.yaml:3:21|security'
        'hostname: box\n|ws/bad.yaml:3:11|hostname'
        'tmpfs: [/tmp]\n|ws/bad.yaml:3:9|tmpfs'
    )
    local c snippet rest pos what
    for c in "${cases[@]}"; do
        snippet=${c%%|*}
        rest=${c#*|}
        pos=${rest%%|*}
        what=${rest#*|}
        # shellcheck disable=SC2059 # the snippet's \n are meant
        printf "container: none\ncommand: touch ran.txt\n$snippet" >ws/bad.yaml
        hj --workspace ws ws/bad.yaml
        assert_status 125 "$snippet"
        assert_one_error_line "$pos"
        assert_contains "$err" "$what" "stderr"
        [ ! -e ws/ran.txt ] || fail "$snippet: the command ran"
    done
    # network: host is what a host process has anyway
    printf 'container: none\ncommand: touch ran.txt\nnetwork: host\n' >ws/ok.yaml
    hj --workspace ws ws/ok.yaml
    assert_status 0
    assert_event sandbox.create .network '"host"'
    [ -z "$(find "$HUTCH_RUN" -mindepth 1 ! -type d 2>/dev/null)" ] || fail "state left behind"
}
test_case "container: none: container settings are errors at FILE:LINE:COL (125)" test_container_settings_are_errors

test_profiles() {
    local pid id cg f o
    mkfifo go
    mkws ws <<EOF
container: none
profile: ci
command: cat /proc/self/cgroup; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; echo ready; read x <'$C_DIR/go'
EOF
    "$HUTCH" job --workspace ws --events "$C_DIR/ci.jsonl" >ci.out 2>ci.err &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null || true' EXIT
    wait_for_line ci.out ready
    id=$(jq -r 'select(.type == "sandbox.create") | .id' ci.jsonl)
    cg=$(grep -E '^[0-9]+:' ci.out)
    assert_contains "$cg" "/hutch-$id" "/proc/self/cgroup of the job"
    # the profile's limits, read from the host while the job runs
    f=$(cg_file "$cg" memory memory.limit_in_bytes memory.max)
    [ -r "$f" ] || fail "no memory limit file $f for: $cg"
    assert_eq $((4 << 30)) "$(cat "$f")" "memory limit of profile ci"
    f=$(cg_file "$cg" pids pids.max pids.max)
    assert_eq 4096 "$(cat "$f")" "pids limit of profile ci"
    # and not its network: none, seccomp or no_new_privileges
    assert_line "$(cat ci.out)" "Seccomp:	0"
    assert_line "$(cat ci.out)" "NoNewPrivs:	0"
    echo go >go
    trap - EXIT
    t_wait_bg "$pid"
    assert_eq 0 "$bg_status" "the job's status: $(cat ci.err)"
    ev=$C_DIR/ci.jsonl
    assert_event sandbox.create .network '"host"'
    assert_event sandbox.create .seccomp '"unconfined"'
    assert_event sandbox.create .memory_limit $((4 << 30))
    # a caller's enforced profile: a bare job is refused
    mkws plain <<'EOF'
container: none
command: touch ran.txt
EOF
    for p in untrusted ci; do
        hj --workspace plain --profile "$p"
        assert_status 125 "--profile $p"
        assert_one_error_line "plain/.hutch.yaml:1:12"
        assert_contains "$err" "enforced profile '$p'"
        [ ! -e plain/ran.txt ] || fail "--profile $p: the command ran"
    done
}
test_case "container: none: a file's profile gives only its limits; --profile refuses the job" test_profiles

test_inputs_and_output() {
    mkws ws <<'EOF'
container: none
command: |
  cat "$HUTCH_INPUT"
  echo "input=$HUTCH_INPUT"
  echo "x=$(cat "$HUTCH_INPUTS/data/x")"
  echo "y=$(cat "$HUTCH_INPUTS/cfg/sub/y")"
  echo changed > "$HUTCH_INPUTS/data/x"
  echo "{\"answer\": $(sed 's/.*"n":\([0-9]*\).*/\1/' "$HUTCH_INPUT"), \"ok\": true}" > "$HUTCH_OUTPUT_DIR/output.json"
input_data: {n: 42, s: "a b"}
inputs:
  - {src: in.txt, dst: /data/x}
  - {src: cfgdir, dst: /cfg}
EOF
    echo original >ws/in.txt
    mkdir -p ws/cfgdir/sub
    echo why >ws/cfgdir/sub/y
    hj --workspace ws
    assert_status 0
    local o id
    id=$(sb_id)
    o=$(stdout_of)
    assert_line "$o" '{"n":42,"s":"a b"}'
    assert_line "$o" "input=$HUTCH_RUN/.jobs/$id/hutch/input.json"
    assert_line "$o" "x=original"
    assert_line "$o" "y=why"
    assert_eq original "$(cat ws/in.txt)" "the input's original"
    assert_event output 'select(.stream == "result") | .result' '{"answer":42,"ok":true}'
    [ ! -e "$HUTCH_RUN/.jobs/$id" ] || fail "the job's staging is still there"
    # an invalid output.json is a warning
    printf 'container: none\ncommand: echo nope > "$HUTCH_OUTPUT_DIR/output.json"\n' >ws/.hutch.yaml
    hj --workspace ws
    assert_status 0
    assert_event warning .what '"output"'
}
test_case "container: none: input_data, inputs and output.json through host paths" test_inputs_and_output

art_event() { # NAME JQ
    jq -c --arg n "$1" "select(.type == \"artifact\" and .name == \$n) | $2" "$ev"
}

test_artifacts() {
    mkdir -p ws ws2
    echo "outside secret" >ws2/secret.txt
    local wsr
    wsr=$(realpath ws)
    cat >ws/.hutch.yaml <<EOF
container: none
command: |
  set -e
  rm -rf dist out shadow-link etcdir; mkdir -p dist/sub out
  echo app > dist/app.bin; echo nested > dist/sub/n.txt
  head -c 100000 /dev/urandom > out/big.dat
  ln -s /etc/shadow shadow-link
  ln -s /etc etcdir
artifacts:
  - dist/app.bin
  - {path: dist, name: all/dist}
  - {path: $wsr/out/big.dat, name: big.dat}
  - /etc/passwd
  - shadow-link
  - {path: ${wsr}2/secret.txt, name: sibling.txt}
  - {path: etcdir/passwd, name: via-link}
EOF
    hj --workspace ws --artifacts-dir "$C_DIR/art"
    assert_status 0
    assert_eq app "$(cat art/app.bin)"
    assert_eq "\"$(sha256sum <ws/dist/app.bin | cut -d' ' -f1)\"" "$(art_event app.bin .sha256)" "app.bin sha256"
    assert_eq nested "$(cat art/all/dist/sub/n.txt)"
    assert_eq '"directory"' "$(art_event all/dist .kind)"
    assert_eq 2 "$(art_event all/dist .files)" "files in dist"
    cmp art/big.dat ws/out/big.dat || fail "big.dat differs"
    assert_eq "\"$(sha256sum <ws/out/big.dat | cut -d' ' -f1)\"" "$(art_event big.dat .sha256)" "big.dat sha256"
    assert_eq 100000 "$(art_event big.dat .size)"
    # outside the workspace: a warning, not copied
    [ ! -e art/passwd ] || fail "/etc/passwd was copied"
    assert_eq 1 "$(jq -c 'select(.type == "warning" and .path == "/etc/passwd")' "$ev" | grep -c . || true)" \
        "warning for /etc/passwd"
    # a symlink is copied as a symlink, never followed
    [ -L art/shadow-link ] || fail "the symlink artifact is not a symlink"
    assert_eq /etc/shadow "$(readlink art/shadow-link)"
    assert_eq '"symlink"' "$(art_event shadow-link .kind)"
    assert_eq '"/etc/shadow"' "$(art_event shadow-link .target)"
    # a sibling directory whose name starts like the workspace's is outside it
    [ ! -e art/sibling.txt ] || fail "${wsr}2/secret.txt was copied"
    assert_eq 1 "$(jq -c --arg p "${wsr}2/secret.txt" 'select(.type == "warning" and .path == $p)' "$ev" |
        grep -c . || true)" "warning for ${wsr}2/secret.txt"
    # symlinks in the path do not leave the workspace
    if [ -e art/via-link ]; then
        [ -L art/via-link ] || fail "etcdir/passwd was copied from the host's /etc"
    fi
    local f
    while IFS= read -r -d '' f; do
        ! grep -q "^root:" "$f" || fail "host content in the artifacts: $f"
        ! grep -q "outside secret" "$f" || fail "a file from outside the workspace: $f"
    done < <(find art -type f -print0)
    assert_ge "$(ev_count warning)" 3 "warnings (passwd, sibling, via-link)"
    # .. is refused when the file is read
    printf 'container: none\ncommand: touch ran.txt\nartifacts: [../ws2/secret.txt]\n' >ws/.hutch.yaml
    hj --workspace ws --artifacts-dir "$C_DIR/art2"
    assert_status 125
    assert_one_error_line "ws/.hutch.yaml:3:13"
    [ ! -e ws/ran.txt ] || fail "the command ran"
}
test_case "container: none: artifacts from the workspace only, symlinks as symlinks" test_artifacts

test_user_nobody() {
    mkws ws <<'EOF'
container: none
user: "65534"
command: |
  id -u
  echo "home=$HOME"
  touch "$HOME/x" && echo home-writable
  ls "$(dirname "$(dirname "$HOME")")" >/dev/null 2>&1 && echo jobs-listable
  echo "{\"uid\": $(id -u)}" > "$HUTCH_OUTPUT_DIR/output.json"
EOF
    chmod 0755 ws
    hj --workspace ws
    assert_status 0
    local o id
    id=$(sb_id)
    o=$(stdout_of)
    assert_line "$o" 65534
    assert_line "$o" "home=$HUTCH_RUN/.jobs/$id/home"
    assert_line "$o" home-writable
    assert_no_line "$o" jobs-listable "other jobs' ids"
    assert_event output 'select(.stream == "result") | .result' '{"uid":65534}'
    assert_event sandbox.create .uid 65534
    # caches are hutch's: a job as another user can not have them
    local c
    for c in 'caches: auto' 'caches: [{name: b, path: ~/.b}]'; do
        printf 'container: none\nuser: "65534"\ncommand: touch ran.txt\n%s\n' "$c" >ws/.hutch.yaml
        hj --workspace ws
        assert_status 125 "$c"
        assert_one_error_line "ws/.hutch.yaml:1:12"
        assert_contains "$err" "65534"
        [ ! -e ws/ran.txt ] || fail "$c: the command ran"
    done
}
test_case "container: none, user 65534: runs as nobody, writes output.json; with caches: 125" test_user_nobody

# The job of the SIGKILL test: every resource a bare job makes (staging, home, inputs, caches,
# artifacts) and a background process it leaves behind.
full_bare_job() {
    mkws ws <<'EOF'
container: none
command: |
  sleep 1000 & echo $! > bg.pid
  echo started; echo data > ~/.cache/b/f; echo out > out.txt
  [ -n "$SLEEP" ] && sleep "$SLEEP"; exit 0
inputs: [{src: in.txt, dst: /in.txt}]
input_data: {x: 1}
caches: [{name: b, path: ~/.cache/b}]
artifacts: [out.txt]
EOF
    echo input >ws/in.txt
}

wait_for() { # FILE TEXT PID: until FILE contains TEXT (or PID is gone); 1 on timeout
    local i
    for i in $(seq 300); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

test_sigkill_at_each_phase_then_gc() {
    full_bare_job
    "$HUTCH" job --workspace ws --artifacts-dir "$C_DIR/art" --events "$C_DIR/ref.jsonl" \
        >ref.out 2>&1 || fail "reference run: $(cat ref.out)"
    local phases ph pid n=0 bg
    phases=$(jq -r 'select(.type == "phase") | .name' ref.jsonl |
        grep -xE 'job\.[a-z]+|seccomp|state|userns|cgroup|net\.prepare|clone|userns\.map|cgroup\.attach|net\.attach|child|exec' || true)
    for ph in job.stage job.caches state cgroup clone child exec job.output job.artifacts; do
        grep -qx "$ph" <<<"$phases" || fail "phase $ph is not in the reference run: $phases"
    done
    for ph in net.prepare userns userns.map net.attach; do
        ! grep -qx "$ph" <<<"$phases" || fail "a bare job went through $ph"
    done
    for ph in $phases; do
        n=$((n + 1))
        rm -f ws/bg.pid
        HUTCH_TEST_PAUSE_AT=$ph "$HUTCH" job --workspace ws -e SLEEP=0.2 \
            --artifacts-dir "$C_DIR/art" --events "$C_DIR/kill.$n.jsonl" \
            >"kill.$n.out" 2>"kill.$n.err" &
        pid=$!
        wait_for "kill.$n.err" "paused at $ph" "$pid" ||
            fail "$ph: hutch did not pause: $(cat "kill.$n.err")"
        if [ "$ph" = exec ]; then
            # gc leaves a live job alone (its staging, its cache record, its processes)
            local id
            id=$(jq -r 'select(.type == "sandbox.create") | .id' "kill.$n.jsonl")
            wait_for ws/bg.pid . "$pid" || fail "the workload did not start"
            "$HUTCH" gc >/dev/null 2>&1 || fail "gc while a job lives"
            [ -d "$HUTCH_RUN/.jobs/$id/home" ] || fail "gc removed a live job's home"
            ! proc_gone "$(cat ws/bg.pid)" || fail "gc killed a live job's process"
        fi
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        "$HUTCH" gc >"gc.$n.out" 2>&1 || fail "$ph: gc failed: $(cat "gc.$n.out")"
        local tries=0
        while [ -n "$(find "$HUTCH_RUN" -mindepth 1 ! -path "$HUTCH_RUN/.jobs")" ] && [ "$tries" -lt 20 ]; do
            sleep 0.1
            "$HUTCH" gc >/dev/null 2>&1 || true
            tries=$((tries + 1))
        done
        assert_no_job_leftovers "SIGKILL at $ph"
        if [ -s ws/bg.pid ]; then
            bg=$(cat ws/bg.pid)
            for ((tries = 0; tries < 100; tries++)); do
                proc_gone "$bg" && break
                sleep 0.05
            done
            proc_gone "$bg" || fail "SIGKILL at $ph: the job's background process $bg survived gc"
        fi
        # and the next job runs normally on the same cache
        "$HUTCH" job --workspace ws --events "$C_DIR/after.$n.jsonl" >"after.$n.out" 2>&1 ||
            fail "$ph: the next job failed: $(cat "after.$n.out")"
    done
    assert_eq data "$(cat "$CACHES/shared/b/data/f" 2>/dev/null || find "$CACHES" -name f)" "the cache"
}
test_case "container: none: SIGKILL at each phase, then gc: nothing remains" test_sigkill_at_each_phase_then_gc

t_end
