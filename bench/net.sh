#!/usr/bin/env bash
# bench/net.sh - what each network mode adds to a sandbox's start (issue 6).
#
#   bench/net.sh [--runs N] [--warmup N] [--phase-runs N] [--keep]
#
# One interleaved startlat run (bench/startlat.c: each round runs every configuration once, in
# a new random order) of busybox /bin/true under hutch with --network host, none, bridge and
# internal, beside the same pair (without / with a network namespace) for `unshare` and for
# crun, so each tool's cost of a network namespace is read in the same run. Then hutch's own
# account: the p50 of each net.* phase event, and of teardown, over --phase-runs runs per mode.
#
# Everything runs in a network namespace of its own (unshare --net): the bridge hutch makes,
# its veths and any rule stay there and vanish with it; the machine's interfaces are untouched.
# Everything else (rootfs, HUTCH_ROOT/RUN, crun's state) lives in one /tmp/hutch-bench.* dir
# removed at exit (see bench/lib.sh). Prints figures, never a verdict.
set -euo pipefail

if [ -z "${BENCH_NET_OUTER:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 1; }
    BENCH_NET_OUTER=1 exec unshare --net -- "$BASH" "$0" "$@"
fi

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_RUNS=200 BENCH_WARMUP=10 BENCH_SEED=1 PHASE_RUNS=50
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) BENCH_RUNS=${2:?}; shift 2 ;;
    --warmup) BENCH_WARMUP=${2:?}; shift 2 ;;
    --phase-runs) PHASE_RUNS=${2:?}; shift 2 ;;
    --keep) export BENCH_KEEP=1; shift ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    *) bench_die "unknown argument '$1' (see --help)" ;;
    esac
done

bench_find_hutch
export HUTCH_POLICIES=${HUTCH_POLICIES:-$BENCH_SRC/policies}
bench_setup_tmp
bench_build_helpers
bench_make_rootfs
mkdir -p "$HUTCH_ROOT/net"
# private subnets: nothing outside this namespace could collide with them anyway
echo "subnet=10.200.0.0/16" >"$HUTCH_ROOT/net/bridge-hutch0.conf"
echo "subnet=10.201.0.0/16" >"$HUTCH_ROOT/net/internal-bench.conf"

net_cmdfile() {
    local R=$ROOTFS H="$HUTCH run --rootfs $ROOTFS" b cr="crun --root $BENCH_TMP/crun"
    local u="unshare --fork --mount-proc -R $R"
    echo "hutch.host $H --network host -- /bin/true"
    echo "hutch.none $H --network none -- /bin/true"
    echo "hutch.bridge $H --network bridge -- /bin/true"
    echo "hutch.internal $H --network internal=bench -- /bin/true"
    echo "unshare.nonet $u -mpuiC /bin/true"
    echo "unshare.none $u -mpuiCn /bin/true"
    if bench_have crun && bench_have jq; then
        b=$(bench_oci_bundle nonet "pid mount uts ipc cgroup" none none)
        echo "crun.nonet @ns $cr --cgroup-manager=disabled run --bundle $b bench-nonet"
        b=$(bench_oci_bundle none "pid mount uts ipc cgroup network" none none)
        echo "crun.none @ns $cr --cgroup-manager=disabled run --bundle $b bench-none"
    fi
}

# startlat's TSV (name runs failed p50 p90 p99 ...) -> the table, with each row's p50 over its
# tool's row without a network namespace (hutch.host, unshare.nonet, crun.nonet).
net_table() {
    awk -F'\t' 'NR == 1 { next }
        { name[NR] = $1; runs[NR] = $2; failed[NR] = $3; p50[$1] = $4; p90[NR] = $5; p99[NR] = $6 }
        END {
            print "config\truns\tfailed\tp50 ms\tp90 ms\tp99 ms\t+ over no netns (p50) ms"
            base["hutch"] = "hutch.host"; base["unshare"] = "unshare.nonet"; base["crun"] = "crun.nonet"
            for (i = 2; i <= NR; i++) {
                k = name[i]; t = k; sub(/\..*/, "", t); b = base[t]
                d = (b != k && b in p50) ? sprintf("%+.3f", (p50[k] - p50[b]) / 1e6) : "-"
                printf "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%s\n", k, runs[i], failed[i], p50[k] / 1e6,
                    p90[i] / 1e6, p99[i] / 1e6, d
            }
        }' "$1"
}

# p50 of each net.* phase and of teardown over PHASE_RUNS runs per mode, from the events.
net_phases() {
    local mode d=$BENCH_TMP/out/phases i
    mkdir -p "$d"
    for mode in none bridge internal=bench; do
        for ((i = 0; i < PHASE_RUNS; i++)); do
            "$HUTCH" run --rootfs "$ROOTFS" --network "$mode" --events "$d/${mode%%=*}.$i.jsonl" \
                -- /bin/true >/dev/null
        done
    done
    for mode in none bridge internal; do
        jq -r --arg m "$mode" '
            if .type == "phase" and ((.name | startswith("net.")) or .name == "clone" or .name == "child")
            then "\($m)\t\(.name)\t\(.ns)"
            elif .type == "process.end" or .type == "sandbox.remove" then "\($m)\t\(.type)\t\(.ts)"
            else empty end' "$d/$mode".*.jsonl
    done | awk -F'\t' '
        $2 == "process.end" { pe[$1] = $3; next }
        $2 == "sandbox.remove" { v[$1 "\tteardown"] = v[$1 "\tteardown"] " " ($3 - pe[$1]); next }
        { v[$1 "\t" $2] = v[$1 "\t" $2] " " $3; names[$2] = 1 }
        END {
            names["teardown"] = 1
            split("net.netns net.lo net.ipam net.veth net.config net.prepare net.attach clone child net.inside teardown", order, " ")
            printf "phase"; split("none bridge internal", modes, " ")
            for (m = 1; m <= 3; m++) printf "\t%s p50 ms", modes[m]
            print ""
            for (o = 1; o in order; o++) {
                p = order[o]; printf "%s", p
                for (m = 1; m <= 3; m++) {
                    n = split(v[modes[m] "\t" p], s, " ")
                    if (n == 0) { printf "\t-"; continue }
                    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] + 0 < s[i] + 0) { t = s[i]; s[i] = s[j]; s[j] = t }
                    printf "\t%.3f", s[int((n + 1) / 2)] / 1e6
                }
                print ""
            }
        }'
}

main() {
    local cmds=$BENCH_TMP/out/net.cmds sum=$BENCH_TMP/out/net.tsv
    net_cmdfile >"$cmds"
    bench_peer_ns_setup
    bench_section "Network modes (issue 6)"
    {
        bench_machine
    } | tee -a "$BENCH_TMP/report.md"
    bench_log "bench: net: $(grep -c . "$cmds") configurations x ($BENCH_RUNS runs + $BENCH_WARMUP warm-up), interleaved..."
    "$STARTLAT" -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -s "$BENCH_SEED" -e "$BENCH_TMP/out/net.err" \
        -N "$BENCH_NS_SETUP" "$cmds" >"$sum" || bench_die "startlat failed"
    net_table "$sum" >"$BENCH_TMP/out/net-table.tsv"
    bench_table "Start latency of /bin/true by network mode, $BENCH_RUNS interleaved runs each" \
        "$BENCH_TMP/out/net-table.tsv" \
        "+ over no netns: p50 minus the p50 of the same tool without a network namespace (hutch --network host, unshare -fmpuiC, crun without \"network\")" \
        "targets (issue 6): none <= +0.2 ms over host; bridge <= +3 ms"
    if bench_have jq; then
        net_phases >"$BENCH_TMP/out/net-phases.tsv"
        bench_table "hutch's phases by network mode, p50 of $PHASE_RUNS runs each" \
            "$BENCH_TMP/out/net-phases.tsv" \
            "net.netns..net.config run inside net.prepare (parent, before clone3); net.inside is the child's setns; teardown: process.end to sandbox.remove"
    fi
    "$HUTCH" gc >/dev/null
}

main
