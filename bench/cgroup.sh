#!/usr/bin/env bash
# cgroup.sh - what hutch's cgroup phases cost per sandbox start, read from its own `phase`
# events: "cgroup" (make <parent>/hutch-<id> in each hierarchy, write the limits), and the
# attach: "cgroup.join" (the child moves itself into the v1 groups) plus "cgroup.attach" (the
# parent puts it into the groups neither clone3 nor the child could), for a spec
# without limits, the default spec (pids 1024) and one with memory/cpu/cpuset/pids limits (also
# without CLONE_INTO_CGROUP), runs interleaved; then libcgroup against direct file writes
# (bench/cgroup_libcg.c). The target: the phases together add at most 0.3 ms (p50) to a start
# on the development host (hybrid cgroups).
#
#   bench/cgroup.sh [--runs N] [--vm] [--keep] [--hutch PATH] [--rootfs DIR]
#
#   --runs N       runs per configuration (default 200)
#   --vm           run it in tools/vmtest's pure cgroup v2 guest instead (emulated CPU: compare
#                  ratios within one guest run, never guest times with host times)
#   --keep         keep the events
#   --hutch PATH   the binary (default $HUTCH, else build/hutch); --rootfs: the test rootfs
#                  (default $ROOTFS, else the rootfs beside the binary: make test-rootfs)
#
# Needs root, jq, cc and libcgroup-dev (tools/install-deps). Prints figures, no verdict.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd -P)
RUNS=200 VM=0 KEEP=0
HUTCH=${HUTCH:-$SRC/build/hutch}
ROOTFS=${ROOTFS:-}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --vm) VM=1; shift ;;
    --keep) KEEP=1; shift ;;
    --hutch) HUTCH=$2; shift 2 ;;
    --rootfs) ROOTFS=$2; shift 2 ;;
    -h | --help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "cgroup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
die() { echo "cgroup.sh: $*" >&2; exit 1; }
HUTCH=$(realpath "$HUTCH")
ROOTFS=$(realpath "${ROOTFS:-$(dirname "$HUTCH")/rootfs}")
[ -x "$HUTCH" ] || die "no hutch binary at $HUTCH (make, or --hutch)"
[ -d "$ROOTFS" ] || die "no rootfs at $ROOTFS (make test-rootfs, or --rootfs)"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 10 ] || die "--runs: at least 10"
LIBCG=$(dirname "$HUTCH")/bench/cgroup_libcg

if [ "$VM" = 1 ]; then
    # built on the host (the guest compiles slowly); the guest sees the checkout over 9p
    mkdir -p "$(dirname "$LIBCG")"
    cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$LIBCG" "$SRC/bench/cgroup_libcg.c" -lcgroup
    args=(--runs "$RUNS" --hutch "$HUTCH" --rootfs "$ROOTFS")
    [ "$KEEP" = 0 ] || args+=(--keep)
    exec "$SRC/tools/vmtest" -q --append loglevel=3 "$SRC" -- bash "$SRC/bench/cgroup.sh" "${args[@]}"
fi

[ "$(id -u)" = 0 ] || die "needs root"
command -v jq >/dev/null || die "needs jq"
if [ ! -x "$LIBCG" ] || [ "$LIBCG" -ot "$SRC/bench/cgroup_libcg.c" ]; then
    mkdir -p "$(dirname "$LIBCG")"
    cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$LIBCG" "$SRC/bench/cgroup_libcg.c" -lcgroup ||
        die "cannot build bench/cgroup_libcg.c (libcgroup-dev)"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/hutch-bench-cgroup.XXXXXX")
export HUTCH_ROOT=$T/root HUTCH_RUN=$T/run
cleanup() {
    "$HUTCH" gc >/dev/null 2>&1 || true
    if [ "$KEEP" = 1 ]; then echo "kept $T" >&2; else rm -rf --one-file-system "$T"; fi
}
trap cleanup EXIT

LIMITS="-m 256m --memory-reservation 128m --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 --pids-limit 100"
# name | environment | hutch run options. The last one measures a start on its own, as a CLI
# user makes it: a cgroup.procs write by the parent takes the kernel's threadgroup lock for
# writing (a percpu rwsem): back to back it finds the lock still in its writer mode from the
# previous start, 50 ms later it waits for an RCU grace period (5-30 ms here) again. Without
# CLONE_INTO_CGROUP the parent has to write the unified group's cgroup.procs.
CONFIGS=(
    "no limits (--pids-limit 0)||--pids-limit 0"
    "default (pids 1024)||"
    "limits: memory, cpu, cpuset, pids||$LIMITS"
    "limits, no CLONE_INTO_CGROUP|HUTCH_NO_CLONE_INTO_CGROUP=1|$LIMITS"
    "default, each start 50 ms apart||"
)
ISOLATED=4

run_one() { # CONFIG-INDEX EVENTS-FILE
    local c=${CONFIGS[$1]} envs opts
    envs=${c#*|}
    envs=${envs%%|*}
    read -r -a opts <<<"${c#*|*|}"
    # not synchronisation: the idle time before the start is what this configuration measures
    [ "$1" != "$ISOLATED" ] || sleep 0.05
    # shellcheck disable=SC2086 # envs: zero or one word
    env $envs "$HUTCH" run --rootfs "$ROOTFS" --events "$2" "${opts[@]}" -- true \
        >/dev/null 2>"$T/err" || die "hutch run failed (${c%%|*}): $(cat "$T/err")"
}

for ((i = 0; i < 10; i++)); do run_one $((i % ${#CONFIGS[@]})) "$T/warmup.jsonl"; done
for ((i = 0; i < RUNS; i++)); do
    for c in "${!CONFIGS[@]}"; do run_one "$c" "$T/c$c.$i.jsonl"; done
done

# One line per run: cgroup, attach (cgroup.join + cgroup.attach), clone (ns), start
# (sandbox.create to process.start).
samples() { # CONFIG-INDEX
    cat "$T"/c"$1".*.jsonl | jq -r -n '[inputs] | group_by(.id)[] |
        def ph(n): (map(select(.type == "phase" and .name == n))[0].ns // 0);
        [ph("cgroup"), ph("cgroup.join") + ph("cgroup.attach"), ph("clone"),
         (map(select(.type == "process.start"))[0].ts - map(select(.type == "sandbox.create"))[0].ts)]
        | @tsv'
}

# p50 and p90 of column N (ns) as "p50 p90" in ms.
pct() { # COLUMN < samples
    cut -f"$1" | sort -n | awk '{ v[NR] = $1 } END {
        printf "%.3f %.3f\n", v[int((NR + 1) / 2)] / 1e6, v[int(NR * 0.9 + 0.5)] / 1e6 }'
}

mode=$(stat -f -c %T /sys/fs/cgroup)
case $mode in
cgroup2fs) mode="pure cgroup v2" ;;
*) [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
    mode="hybrid (v1 controllers + controller-less v2)" || mode="cgroup v1" ;;
esac
echo "# cgroup phases per start: $RUNS runs per configuration, interleaved; $(uname -r), $mode;"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); ms, p50 / p90"
printf '%-36s %15s %15s %15s %8s %8s %7s\n' configuration cgroup "join+attach" all clone start \
    all/start
for c in "${!CONFIGS[@]}"; do
    s=$(samples "$c")
    # the phases of each run, summed before the percentile
    both=$(awk -F'\t' '{ print $1 + $2 }' <<<"$s" | pct 1)
    read -r st50 _ < <(pct 4 <<<"$s")
    read -r b50 _ <<<"$both"
    printf '%-36s %15s %15s %15s %8s %8s %6.1f%%\n' "${CONFIGS[c]%%|*}" \
        "$(pct 1 <<<"$s" | sed 's| | / |')" "$(pct 2 <<<"$s" | sed 's| | / |')" \
        "${both/ / / }" "$(pct 3 <<<"$s" | cut -d' ' -f1)" "$st50" \
        "$(awk -v b="$b50" -v s="$st50" 'BEGIN { print (s > 0 ? 100 * b / s : 0) }')"
done
echo "# target on the development host: all (cgroup + cgroup.join + cgroup.attach) <= 0.300 ms (p50)"
echo
"$LIBCG" "$RUNS"
