# shellcheck shell=bash
# tests/lib.sh - the harness of hutch's integration and security tests (bash, run as root).
#
#   . "$(dirname "$0")/../lib.sh"
#   t_begin
#   test_thing() { hr -- probe pid; assert_status 0; assert_contains "$out" "pid: 2"; }
#   test_case "the workload is pid 2" test_thing
#   t_end
#
# Output is TAP-like ("ok N name", "not ok N name" + "# " diagnostics, "ok N name # SKIP why",
# "1..N"), which tests/run-suite counts. Environment: HUTCH (the hutch binary), ROOTFS (the test
# rootfs, with the probe at /usr/bin/probe), HUTCH_TEST_FILTER (a regex: run only matching case
# names), HUTCH_TEST_KEEP=1 (keep the temp dir).
#
# Each script gets a temp dir T_DIR with HUTCH_ROOT and HUTCH_RUN inside it, its own nested
# cgroup in every hierarchy where that is possible (so the hutch-<id> groups its sandboxes make
# are its own and nobody else's), and is a child subreaper (so any process hutch leaves behind
# ends up as its child). After every test case the harness checks for leaks, and a leak fails
# the case: a mount under T_DIR, a cgroup below the script's own groups or named after one of
# the case's sandbox ids (ids are read from the events files *.jsonl in the case dir), a process
# left running, state left in HUTCH_RUN. Leaks are cleaned up so that the next case starts
# clean. Scripts may run concurrently with each other and with themselves.
#
# Inside a test case (a function run in a subshell with set -eE, cwd = its own dir C_DIR):
#   hr ARGS...          hutch run --rootfs "${HR_ROOTFS:-$ROOTFS}" --events $C_DIR/hr.N.jsonl ARGS
#                       sets: status, out, err (text), outf, errf (files), ev (events file)
#   hr_raw ARGS...      hutch ARGS (no options added; ev="" - name events files *.jsonl)
#   HR_TIMEOUT=S        fail the case if hutch runs longer than S seconds (default 60)
#   assert_* / fail / skip / note, ev_* (events), wait_for_line (a "ready" line in a file),
#   t_wait_bg (a bounded wait for a background job), t_tree_sum, rootfs_copy (see below)
# No sleep is used to synchronise with a workload: it prints "ready", and the test waits for
# that line (bounded).

T_NAME=$(basename "$0" .sh)
T_N=0
T_FAILED=0

# ---------------------------------------------------------------- setup

t_skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

t_begin() {
    [ "$(id -u)" = 0 ] || t_skip_all "needs root"
    if [ -z "${HUTCH:-}" ] || [ ! -x "$HUTCH" ]; then
        t_skip_all "HUTCH is not set to the hutch binary"
    fi
    if [ -z "${ROOTFS:-}" ] || [ ! -d "$ROOTFS" ]; then
        t_skip_all "ROOTFS is not set to the test rootfs"
    fi
    PROBE_HOST=$ROOTFS/usr/bin/probe
    [ -x "$PROBE_HOST" ] || t_skip_all "$PROBE_HOST missing (make test-rootfs)"
    command -v jq >/dev/null || t_skip_all "jq is missing (tools/install-deps installs it)"
    HUTCH=$(realpath "$HUTCH")
    ROOTFS=$(realpath "$ROOTFS")
    export HUTCH ROOTFS PROBE_HOST
    if [ -z "${T_INNER:-}" ]; then
        t_outer # does not return
    fi
    t_inner_setup
}

# The outer process: makes the temp dir and the cgroups, runs the script again inside them as
# a child subreaper, and cleans up whatever that run could not (even if it was killed).
t_outer() {
    T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hutch-test.$T_NAME.XXXXXX")
    chmod 0755 "$T_DIR"
    t_cgroups_create
    local st=0 child
    T_INNER=1 T_DIR=$T_DIR T_CGROUP_LIST="${T_CGROUPS[*]}" \
        "$PROBE_HOST" subreaper bash "$0" </dev/null &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
    while :; do
        wait "$child" && st=0 || st=$?
        kill -0 "$child" 2>/dev/null || break # a trapped signal interrupts wait: wait again
    done
    trap - TERM INT HUP
    t_final_cleanup
    exit "$st"
}

t_inner_setup() {
    : "${T_DIR:?}"
    read -r -a T_CGROUPS <<<"${T_CGROUP_LIST:-}"
    t_cgroups_join
    export HUTCH_ROOT=$T_DIR/root HUTCH_RUN=$T_DIR/run
    # the host processes hutch may leave running are the children of this shell (a subreaper)
    T_PID=$$
    trap 't_exit_trap' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

t_exit_trap() {
    local st=$?
    # the outer process removes the temp dir and the cgroups once this process has exited
    t_kill_descendants >/dev/null
    return "$st"
}

t_end() {
    echo "1..$T_N"
    [ "$T_FAILED" = 0 ]
    exit $?
}

# ---------------------------------------------------------------- cgroups
# One group "hutchtest-NAME-PID" below the script's own cgroup in each hierarchy where joining
# it changes nothing for hutch: v1 hierarchies and a v2 hierarchy whose controllers are not
# enabled for children (on a v2 host with controllers in use, hutch's own placement rules
# apply, and the ids from events are used to find its groups).

T_CGROUPS=()

t_cgroup_mounts() { # prints "MOUNTPOINT TYPE SUPEROPTS" of cgroup hierarchies
    awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup" || $(i+1) == "cgroup2")
           print $5, $(i+1), $(i+3) }' /proc/self/mountinfo
}

t_cgroups_create() {
    local mnt type opts line ctrls path dir
    while read -r mnt type opts; do
        if [ "$type" = cgroup2 ]; then
            path=$(sed -n 's/^0:://p' /proc/self/cgroup)
            # controllers in use below us: a group with processes may not delegate them
            [ -n "$(cat "$mnt${path%/}/cgroup.subtree_control" 2>/dev/null)" ] && continue
        else
            path=""
            while IFS=: read -r _ ctrls p; do
                [ -n "$ctrls" ] || continue
                case ",$opts," in *",${ctrls%%,*},"*) path=$p ;; esac
            done </proc/self/cgroup
            [ -n "$path" ] || continue
        fi
        dir="$mnt${path%/}/hutchtest-$T_NAME-$$"
        mkdir "$dir" 2>/dev/null || continue
        # a v1 cpuset group takes no process before it has cpus and mems
        if [ -e "$dir/cpuset.cpus" ]; then
            cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus" 2>/dev/null
            cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems" 2>/dev/null
        fi
        T_CGROUPS+=("$dir")
    done < <(t_cgroup_mounts)
}

t_cgroups_join() {
    local g
    for g in "${T_CGROUPS[@]}"; do
        echo "$$" >"$g/cgroup.procs" 2>/dev/null ||
            echo "# warning: cannot join $g: leak checks there use sandbox ids only" >&2
    done
}

# Subgroups below the script's groups (every one of them was made by one of our sandboxes).
t_cgroup_children() {
    local g
    for g in "${T_CGROUPS[@]}"; do
        [ -d "$g" ] && find "$g" -mindepth 1 -type d 2>/dev/null
    done
}

# Groups named after the given sandbox ids anywhere in the cgroup filesystems.
t_cgroups_of_ids() {
    [ $# -gt 0 ] || return 0
    local args=() id mnt type opts
    for id in "$@"; do args+=(-o -name "hutch-$id"); done
    while read -r mnt type opts; do
        find "$mnt" -maxdepth 6 -type d \( -false "${args[@]}" \) -print 2>/dev/null
    done < <(t_cgroup_mounts)
}

# Kill every process in a group tree and remove it, deepest first.
t_cgroup_remove() {
    local g=$1 d pid
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local any=0
        while read -r d; do
            while read -r pid; do
                [ -n "$pid" ] && any=1 && kill -KILL "$pid" 2>/dev/null
            done <"$d/cgroup.procs"
        done < <(find "$g" -type d 2>/dev/null)
        [ "$any" = 0 ] && break
        sleep 0.1
    done
    find "$g" -depth -type d -exec rmdir {} + 2>/dev/null
    [ ! -d "$g" ]
}

# ---------------------------------------------------------------- processes
# Non-zombie descendants of this shell, found with builtins only (a fork would count itself).
T_DESC=()
t_descendants() {
    local -A kids=()
    local f line pid rest state pp
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        pid=${line%% *}
        rest=${line##*) }
        state=${rest:0:1}
        rest=${rest#* }
        pp=${rest%% *}
        [ "$state" = Z ] || [ "$state" = X ] && continue
        kids[$pp]+=" $pid"
    done
    T_DESC=()
    local queue=("$T_PID") p c
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        for c in ${kids[$p]:-}; do
            [ "$c" = "$BASHPID" ] && continue
            T_DESC+=("$c")
            queue+=("$c")
        done
    done
}

t_proc_desc() { # "PID (comm) cmdline"
    local comm="" cmd=""
    { read -r comm <"/proc/$1/comm"; } 2>/dev/null
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
    echo "$1 ($comm) $cmd"
}

# Prints and kills leftover descendants.
t_kill_descendants() {
    t_descendants
    [ ${#T_DESC[@]} -gt 0 ] || return 0
    local p
    for p in "${T_DESC[@]}"; do t_proc_desc "$p"; done
    kill -KILL "${T_DESC[@]}" 2>/dev/null
    for _ in $(seq 50); do
        t_descendants
        [ ${#T_DESC[@]} -eq 0 ] && break
        sleep 0.1
    done
    return 0
}

# ---------------------------------------------------------------- mounts
t_mounts_under() { # mount points at or below DIR in this mount namespace, deepest first
    awk -v d="$1" '{ mp = $5; gsub(/\\040/, " ", mp);
        if (mp == d || index(mp, d "/") == 1) print mp }' /proc/self/mountinfo | sort -r
}

t_unmount_under() {
    local m
    while read -r m; do
        [ -n "$m" ] && umount -l "$m" 2>/dev/null
    done < <(t_mounts_under "$1")
}

# ---------------------------------------------------------------- leak check after a case
t_case_ids() { # sandbox ids in the case's events files
    cat "$1"/*.jsonl 2>/dev/null | grep -o '"id":"[^"]*"' | sed 's/"id":"\(.*\)"/\1/' |
        grep -v '^$' | sort -u
}

# Writes one line per leak to CASEDIR/leaks and cleans each up. Runs in the main shell: the
# process check must not run in a subshell (it would find itself and its own children).
t_check_leaks() {
    local cdir=$1 out=$1/leaks ids=() l p
    : >"$out"
    # processes first: a live process may hold mounts and cgroups
    t_descendants
    if [ ${#T_DESC[@]} -gt 0 ]; then
        for p in "${T_DESC[@]}"; do echo "leak: process $(t_proc_desc "$p")" >>"$out"; done
        t_kill_descendants >/dev/null
    fi
    mapfile -t ids < <(t_case_ids "$cdir")
    while read -r l; do
        [ -n "$l" ] || continue
        echo "leak: mount $l" >>"$out"
        umount -l "$l" 2>/dev/null
    done < <(t_mounts_under "$T_DIR")
    while read -r l; do
        [ -n "$l" ] || continue
        echo "leak: cgroup $l" >>"$out"
        t_cgroup_remove "$l"
    done < <({ t_cgroup_children; t_cgroups_of_ids "${ids[@]}"; } | sort -u | sort -r)
    if [ -d "$HUTCH_RUN" ]; then
        t_run_leftovers "${ids[@]}" | sort -u | sed 's/^/leak: state /' >>"$out"
        # a leftover is reported once: clear it for the next case
        find "$HUTCH_RUN" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} + 2>/dev/null
    fi
    return 0
}

# State left in HUTCH_RUN: anything named after a sandbox id of the case, and any file that is
# not a lock (empty directories hutch keeps for itself are fine).
t_run_leftovers() {
    local id
    for id in "$@"; do find "$HUTCH_RUN" -mindepth 1 -name "*$id*" 2>/dev/null; done
    find "$HUTCH_RUN" -mindepth 1 ! -type d ! -name '*.lock' ! -name 'lock' 2>/dev/null
}

# The outer process, after the inner one has exited.
t_final_cleanup() {
    local g m
    t_unmount_under "$T_DIR"
    for g in "${T_CGROUPS[@]}"; do t_cgroup_remove "$g"; done
    m=$(t_mounts_under "$T_DIR")
    if [ -n "$m" ]; then
        echo "# not removing $T_DIR: still mounted: $m" >&2
        return
    fi
    if [ "${HUTCH_TEST_KEEP:-0}" = 1 ]; then
        echo "# kept $T_DIR" >&2
    else
        rm -rf --one-file-system "$T_DIR"
    fi
}

# ---------------------------------------------------------------- running cases
test_case() {
    local name=$1 fn=$2 st=0 cdir leaks
    if [ -n "${HUTCH_TEST_FILTER:-}" ] && ! [[ $name =~ $HUTCH_TEST_FILTER ]]; then
        return 0
    fi
    T_N=$((T_N + 1))
    cdir=$T_DIR/case.$T_N
    mkdir -p "$cdir"
    (
        set -eE -o pipefail
        C_DIR=$cdir
        HR_N=0
        trap 't_on_err "$BASH_COMMAND" "$LINENO"' ERR
        cd "$cdir"
        "$fn"
    ) </dev/null >"$cdir/log" 2>&1 || st=$?
    t_check_leaks "$cdir"
    leaks=$(cat "$cdir/leaks")
    if [ "$st" = 77 ] && [ -z "$leaks" ]; then
        echo "ok $T_N $name # SKIP $(cat "$cdir/skip" 2>/dev/null)"
    elif [ "$st" = 0 ] && [ -z "$leaks" ]; then
        echo "ok $T_N $name"
        [ ! -s "$cdir/notes" ] || sed 's/^/# /' "$cdir/notes"
    else
        T_FAILED=$((T_FAILED + 1))
        echo "not ok $T_N $name"
        sed 's/^/# /' "$cdir/log" | tail -n 80
        [ "$st" = 0 ] || [ "$st" = 77 ] || echo "# (case exited with status $st)"
        [ -z "$leaks" ] || sed 's/^/# /' "$cdir/leaks"
    fi
}

t_on_err() {
    echo "error: command failed at line $2: $1"
}

# ---------------------------------------------------------------- inside a case
fail() {
    echo "FAIL: $*"
    if [ -n "${errf:-}" ]; then
        echo "  last hutch run: status ${status:-?}"
        [ -s "$errf" ] && sed 's/^/  stderr: /' "$errf" | head -n 20
        [ -s "${outf:-}" ] && head -c 2000 "$outf" | sed 's/^/  stdout: /' | head -n 20
        [ -n "${ev:-}" ] && [ -s "$ev" ] && sed 's/^/  event: /' "$ev" | cut -c1-300 | head -n 30
    fi
    exit 1
}

skip() {
    echo "$*" >"$C_DIR/skip"
    exit 77
}

hr_exec() {
    local base=$1
    shift
    printf '+ hutch' >&2
    printf ' %q' "$@" >&2
    printf '\n' >&2
    status=0
    timeout --verbose -k 5 "${HR_TIMEOUT:-60}" "$HUTCH" "$@" >"$base.out" 2>"$base.err" ||
        status=$?
    outf=$base.out errf=$base.err
    out=$(tr -d '\0' <"$outf")
    err=$(<"$errf")
    if grep -q '^timeout: sending signal' "$errf"; then
        fail "hutch did not finish within ${HR_TIMEOUT:-60}s"
    fi
    return 0
}

hr() {
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hr.$HR_N.jsonl
    hr_exec "$C_DIR/hr.$HR_N" run --rootfs "${HR_ROOTFS:-$ROOTFS}" --events "$ev" "$@"
}

hr_raw() {
    HR_N=$((HR_N + 1))
    ev=""
    hr_exec "$C_DIR/hr.$HR_N" "$@"
}

assert_eq() { # EXPECTED ACTUAL [WHAT]
    [ "$1" == "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() {
    [ "$1" != "$2" ] || fail "${3:-value}: expected something other than '$1'"
}
assert_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ $1 == *"$2"* ]] || fail "${3:-output}: expected to contain '$2', got: $(head -c 1500 <<<"$1")"
}
assert_not_contains() {
    [[ $1 != *"$2"* ]] || fail "${3:-output}: expected not to contain '$2', got: $(head -c 1500 <<<"$1")"
}
assert_match() { # STRING REGEX [WHAT]
    [[ $1 =~ $2 ]] || fail "${3:-value}: '$1' does not match /$2/"
}
assert_line() { # TEXT LINE: TEXT has a line equal to LINE
    grep -qxF -- "$2" <<<"$1" || fail "${3:-output}: no line '$2' in: $(head -c 1500 <<<"$1")"
}
assert_no_line() {
    ! grep -qxF -- "$2" <<<"$1" || fail "${3:-output}: unexpected line '$2'"
}
assert_status() { # EXPECTED [WHAT]: the status of the last hr/hr_raw
    [ "$status" = "$1" ] || fail "${2:-exit status}: expected $1, got $status"
}
assert_le() { # A B [WHAT]: A <= B (integers)
    [ "$1" -le "$2" ] || fail "${3:-value}: expected $1 <= $2"
}
assert_ge() {
    [ "$1" -ge "$2" ] || fail "${3:-value}: expected $1 >= $2"
}
# Exactly one line on stderr, naming the culprit.
assert_one_error_line() { # CULPRIT
    local n
    n=$(grep -c '' "$errf" || true)
    [ "$n" = 1 ] || fail "expected exactly one line on stderr, got $n"
    assert_contains "$err" "$1" "stderr"
}

# ---- events (jq)
# Every line of FILE is a JSON object of schema 1 with type, id and ts.
assert_events_valid() { # [FILE]
    local f=${1:-$ev} bad
    [ -s "$f" ] || fail "events file $f is empty or missing"
    bad=$(jq -c 'select((.v != 1) or (.type|type) != "string" or (.id|type) != "string"
                 or (.ts|type) != "number")' "$f" 2>&1) || fail "events are not JSON Lines: $bad"
    [ -z "$bad" ] || fail "events without v/type/id/ts: $bad"
}
ev_types() { # the "type" of each event, one per line
    jq -r '.type' "${1:-$ev}"
}
ev_count() { # TYPE [FILE]
    jq -c --arg t "$1" 'select(.type == $t)' "${2:-$ev}" | grep -c '' || true
}
ev_get() { # TYPE JQ-EXPR [FILE]: the expression on the first event of TYPE (-c output)
    jq -c --arg t "$1" "select(.type == \$t) | $2" "${3:-$ev}" | head -n 1
}
assert_event() { # TYPE JQ-EXPR EXPECTED [FILE]
    local v
    v=$(ev_get "$1" "$2" "${4:-$ev}")
    [ "$v" == "$3" ] || fail "event $1 $2: expected $3, got '${v}'"
}
# The bytes of a stream's output events, decoded (data or data_b64), into FILE.
ev_output_bytes() { # STREAM OUTFILE [EVENTS]
    local line
    : >"$2"
    while read -r line; do
        base64 -d <<<"$line" >>"$2"
    done < <(jq -r --arg s "$1" 'select(.type == "output" and .stream == $s)
        | if has("data_b64") then .data_b64 else (.data | @base64) end' "${3:-$ev}")
}

# Waits (bounded: HR_TIMEOUT) until FILE has a line equal to LINE: how a test synchronises with a
# workload that prints "ready".
wait_for_line() { # FILE LINE
    local i
    for ((i = 0; i < ${HR_TIMEOUT:-60} * 100; i++)); do
        grep -qxF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.01
    done
    fail "no line '$2' in $1 after ${HR_TIMEOUT:-60}s: $(head -c 500 "$1" 2>/dev/null)"
}

# Waits (bounded: HR_TIMEOUT) for a background child; sets bg_status. A child still running at
# the deadline is killed and the case fails.
# shellcheck disable=SC2034 # bg_status is for the caller
t_wait_bg() { # PID
    local i
    for ((i = 0; i < ${HR_TIMEOUT:-60} * 20; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        fail "process $1 did not end within ${HR_TIMEOUT:-60}s"
    fi
    bg_status=0
    wait "$1" || bg_status=$?
}

# A line printed under the case's "ok" line (measurements, notes).
note() {
    echo "$*" >>"$C_DIR/notes"
}

# ---- files and trees
# A digest of a tree: names, types, modes, owners, sizes, mtimes, ctimes, link targets, content.
t_tree_sum() {
    {
        find "$1" -printf '%P|%y|%m|%U|%G|%s|%T@|%C@|%l\n' | LC_ALL=C sort
        (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# A private copy of the test rootfs in the case dir (for tests that change the rootfs).
rootfs_copy() { # DIR
    cp -a "$ROOTFS" "$1"
}

# The namespace inode of the host (this shell) for NAME.
host_ns() {
    stat -L -c %i "/proc/self/ns/$1"
}

# Bit N of a hex capability mask.
cap_has() { # HEXMASK BIT
    (((16#$1 >> $2) & 1))
}

# The host path of a cgroup file of a process, from its /proc/PID/cgroup text: a v1 controller's
# hierarchy if it has one, else the v2 hierarchy. cg_file CGROUP-TEXT CONTROLLER V1FILE V2FILE
cg_file() {
    local line path mnt
    line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" <<<"$1" | head -n 1 || true)
    if [ -n "$line" ]; then
        path=${line#*:*:}
        mnt=$(t_cgroup_mounts | awk -v c="$2" '$2 == "cgroup" && index("," $3 ",", "," c ",") { print $1; exit }')
        echo "$mnt${path%/}/$3"
    else
        path=$(sed -n 's/^0:://p' <<<"$1")
        mnt=$(t_cgroup_mounts | awk '$2 == "cgroup2" { print $1; exit }')
        echo "$mnt${path%/}/$4"
    fi
}

# PID: no live process of that pid (a zombie waiting for its reaper counts as gone).
proc_gone() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
    rest=${line##*) }
    [ "${rest:0:1}" = Z ] || [ "${rest:0:1}" = X ]
}

# Nothing of any job is left: state and staging, cache records, half-made generations.
assert_no_job_leftovers() {
    local left
    left=$(find "$HUTCH_RUN" -mindepth 1 ! -path "$HUTCH_RUN/.jobs" 2>/dev/null
        local c
        for c in "$HUTCH_ROOT"/caches/shared/*/; do
            find "$c"jobs "$c"users "$c"tmp -mindepth 1 -maxdepth 1 2>/dev/null
        done)
    [ -z "$left" ] || fail "${1:-}: left behind: $left"
}

# hutch run in the background: files BASE.out/.err/.jsonl; hr_bg_wait sets status/out/err/ev.
hr_bg() { # BASE ARGS...
    local base=$1
    shift
    (
        hr_exec "$base" run --rootfs "${HR_ROOTFS:-$ROOTFS}" --events "$base.jsonl" "$@"
        echo "$status" >"$base.status"
    ) &
    BG_PID=$!
}
hr_bg_wait() { # BASE
    wait "$BG_PID" || true
    [ -f "$1.status" ] || fail "background hutch run did not finish: $(cat "$1.err" 2>/dev/null)"
    status=$(<"$1.status")
    outf=$1.out errf=$1.err ev=$1.jsonl
    out=$(tr -d '\0' <"$outf")
    err=$(<"$errf")
}

hr_attacks() { # [HUTCH-OPTIONS...] -- ATTEMPT...: `attack ATTEMPT` for each, in one sandbox
    local opts=() script="" a
    while [ "$1" != "--" ]; do
        opts+=("$1")
        shift
    done
    shift
    for a in "$@"; do script+="echo '== $a'; attack $a; "; done
    hr "${opts[@]}" -- sh -c "$script"
    [ "$status" = 0 ] || [ "$status" = 1 ] || fail "the sandbox failed (status $status)"
}
# The same without the "== ATTEMPT" lines (scripts that read the attempts' output in order).
hr_attacks_unmarked() { # [HUTCH-OPTIONS...] -- ATTEMPT...
    local opts=() script="" a
    while [ "$1" != "--" ]; do
        opts+=("$1")
        shift
    done
    shift
    for a in "$@"; do script+="attack $a; "; done
    hr "${opts[@]}" -- sh -c "$script"
    # 0: the last attempt succeeded, 1: it was refused; anything else is hutch's or sh's failure
    [ "$status" = 0 ] || [ "$status" = 1 ] || fail "the sandbox failed (status $status)"
}
