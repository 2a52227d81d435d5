# shellcheck shell=bash
# Part `start` (issues 2 and 8.1): wall time to start a sandbox that runs busybox /bin/true,
# for hutch and its peers, all in ONE interleaved startlat run, then hutch's own phases.

# The command file: NAME [@ns] ARGV..., one line per configuration. Rows are named
# <tool>.<step>; the steps build on each other (see bench/README.md).
start_cmdfile() {
    local R=$ROOTFS H="$HUTCH run --rootfs $ROOTFS" b
    local u="unshare --fork --mount-proc -R $R" bw="bwrap --bind $R / --proc /proc --dev /dev"
    local cr="crun --root $BENCH_TMP/crun" rc="runc --root $BENCH_TMP/runc"
    echo "fork+exec $R/bin/true"
    # 1. pid + mount namespaces, into the rootfs (unshare: chroot; the others: pivot_root)
    echo "unshare.mnt-pid $u -mp /bin/true"
    echo "bwrap.mnt-pid $bw --unshare-pid /bin/true"
    echo "hutch.mnt-pid $H --uts host --ipc host --cgroupns host --network host --security-opt seccomp=unconfined --pids-limit 0 -- /bin/true"
    # 2. + uts, ipc, cgroup namespaces
    echo "unshare.ns-nonet $u -mpuiC /bin/true"
    echo "bwrap.ns-nonet $bw --unshare-pid --unshare-uts --unshare-ipc --unshare-cgroup /bin/true"
    echo "hutch.ns-nonet $H --network host --security-opt seccomp=unconfined --pids-limit 0 -- /bin/true"
    # 3. + network namespace (loopback only)
    echo "unshare.ns $u -mpuiCn /bin/true"
    echo "bwrap.ns $bw --unshare-pid --unshare-uts --unshare-ipc --unshare-cgroup --unshare-net /bin/true"
    echo "hutch.ns $H --security-opt seccomp=unconfined --pids-limit 0 -- /bin/true"
    if [ "$BENCH_PEERS_OCI" = 1 ]; then
        b=$(bench_oci_bundle mnt-pid "pid mount" none none)
        echo "crun.mnt-pid @ns $cr --cgroup-manager=disabled run --bundle $b bench-mnt-pid"
        b=$(bench_oci_bundle ns-nonet "pid mount uts ipc cgroup" none none)
        echo "crun.ns-nonet @ns $cr --cgroup-manager=disabled run --bundle $b bench-ns-nonet"
        b=$(bench_oci_bundle ns "pid mount uts ipc cgroup network" none none)
        echo "crun.ns @ns $cr --cgroup-manager=disabled run --bundle $b bench-ns"
        # 4. + cgroup with limits (pids 1024, memory 256m, 1 cpu)
        b=$(bench_oci_bundle limits "pid mount uts ipc cgroup network" limits none)
        echo "crun.limits @ns $cr run --bundle $b bench-limits"
        echo "runc.limits @ns $rc run --bundle $b bench-limits"
        # 5. + seccomp (hutch's default profile)
        b=$(bench_oci_bundle seccomp "pid mount uts ipc cgroup network" limits default)
        echo "crun.seccomp @ns $cr run --bundle $b bench-seccomp"
        # the closest peers of hutch's defaults: all namespaces, pids cgroup, seccomp
        b=$(bench_oci_bundle default "pid mount uts ipc cgroup network" pids default)
        echo "crun.default @ns $cr run --bundle $b bench-default"
        echo "runc.default @ns $rc run --bundle $b bench-default"
    fi
    echo "hutch.limits $H --security-opt seccomp=unconfined --memory 256m --cpus 1 -- /bin/true"
    echo "hutch.seccomp $H --memory 256m --cpus 1 -- /bin/true"
    # 6. + overlay of an imported image instead of --rootfs's overlay on a directory
    [ -z "$BENCH_IMAGE" ] ||
        echo "hutch.image $HUTCH run --image $BENCH_IMAGE --memory 256m --cpus 1 -- /bin/true"
    # 7. + bridge network
    [ "$BENCH_BRIDGE" != 1 ] ||
        echo "hutch.bridge $H --network bridge --memory 256m --cpus 1 -- /bin/true"
    # hutch's defaults, and one switch at a time away from them
    echo "hutch $H -- /bin/true"
    echo "hutch.unconfined $H --security-opt seccomp=unconfined -- /bin/true"
    echo "hutch.hostnet $H --network host -- /bin/true"
    echo "hutch.pids0 $H --pids-limit 0 -- /bin/true"
    # no isolation but the cgroup (--bare: a host process with hutch's limits and events): the
    # difference to hutch.limits is what the namespaces, mounts and pivot cost together
    echo "hutch.bare $HUTCH run --bare --memory 256m --cpus 1 -- $R/bin/true"
    # the floor of any hutch CLI start: its own exec and dynamic linking
    echo "hutch.exec-only $HUTCH --version"
}

# What the peers need; sets BENCH_PEERS_OCI and BENCH_BRIDGE.
start_probe() {
    local t
    for t in unshare bwrap; do
        bench_have "$t" || bench_die "$t is missing (HUTCH_DEPS_BENCH=1 tools/install-deps)"
    done
    BENCH_PEERS_OCI=1
    if ! bench_have crun || ! bench_have runc || ! bench_have jq; then
        bench_log "bench: crun, runc or jq missing: OCI peers skipped"
        BENCH_PEERS_OCI=0
    fi
    BENCH_BRIDGE=0
    if "$HUTCH" run --rootfs "$ROOTFS" --network bridge -- /bin/true >/dev/null 2>"$BENCH_TMP/out/bridge.err"; then
        BENCH_BRIDGE=1
    else
        bench_log "bench: --network bridge not available ($(head -c 120 "$BENCH_TMP/out/bridge.err")): row skipped"
    fi
}

# startlat's summary (TSV) → three tables: the headline (issue 2), the primitive matrix (issue
# 8.1: steps 1-7, each next to the peers' closest configuration) and hutch's one-switch
# variants. Ratios are of p50s against fork+exec, unshare.ns, bwrap.ns and crun.default.
start_table() {
    awk -F'\t' -v OFS='\t' -v which="$2" '
        NR == 1 { next }
        { name[++n] = $1; runs[$1] = $2; fail[$1] = $3; p50[$1] = $4; p90[$1] = $5; p99[$1] = $6 }
        function ms(v) { return v == "-" ? "-" : sprintf("%.2f", v / 1e6) }
        function ratio(a, b) {
            return (a == "-" || b == "" || b == "-" || b == 0) ? "-" : sprintf("%.2f", a / b)
        }
        function label(k) { return k (fail[k] > 0 ? " (" fail[k] " failed)" : "") }
        function cols(k) {
            return runs[k] OFS ms(p50[k]) OFS ms(p90[k]) OFS ms(p99[k]) OFS \
                ratio(p50[k], p50["fork+exec"]) OFS ratio(p50[k], p50["unshare.ns"]) OFS \
                ratio(p50[k], p50["bwrap.ns"]) OFS ratio(p50[k], p50["crun.default"])
        }
        END {
            hdr = "runs" OFS "p50 ms" OFS "p90 ms" OFS "p99 ms" OFS "x fork" OFS "x unshare" OFS \
                "x bwrap" OFS "x crun"
            if (which == "headline") {
                print "name", hdr
                split("fork+exec unshare.ns bwrap.ns crun.ns crun.default runc.default hutch", h, " ")
                for (i = 1; i in h; i++) if (h[i] in p50) print label(h[i]), cols(h[i])
            } else if (which == "matrix") {
                print "step", "tool", hdr
                ns = split("mnt-pid ns-nonet ns limits seccomp image bridge", st, " ")
                split("1. pid+mnt ns, pivot_root|2. + uts ipc cgroup ns|3. + net ns|" \
                      "4. + cgroup limits|5. + seccomp|6. + image overlay|7. + bridge net", sl, "|")
                nt = split("unshare bwrap crun runc hutch", tl, " ")
                for (i = 1; i <= ns; i++) for (j = 1; j <= nt; j++) {
                    k = tl[j] "." st[i]
                    if (k in p50) print sl[i], label(tl[j]), cols(k)
                }
            } else {
                print "hutch run ...", hdr, "p50 - hutch"
                split("hutch hutch.unconfined hutch.hostnet hutch.pids0 hutch.bare hutch.exec-only", h, " ")
                opt["hutch"] = "(defaults)"; opt["hutch.unconfined"] = "--security-opt seccomp=unconfined"
                opt["hutch.hostnet"] = "--network host"; opt["hutch.pids0"] = "--pids-limit 0"
                opt["hutch.bare"] = "--bare --memory 256m --cpus 1 (cgroup only)"
                opt["hutch.exec-only"] = "(no sandbox) hutch --version"
                for (i = 1; i in h; i++) if (h[i] in p50)
                    print opt[h[i]], cols(h[i]), sprintf("%+.2f", (p50[h[i]] - p50["hutch"]) / 1e6)
            }
        }' "$1"
}

# hutch's own account of a start: RUNS runs with --events, the p50 of every phase, then the
# rest of the wall time (the CLI's exec and setup before the library starts, the workload,
# teardown). Wall times via $EPOCHREALTIME (no fork). GAP seconds of idleness before each run
# (0: back to back). Usage: start_phases LABEL RUNS GAP ARGS...
start_phases() {
    local label=$1 runs=$2 gap=$3 i t0 t1 d=$BENCH_TMP/phases/$1
    shift 3
    mkdir -p "$d"
    for ((i = 0; i < runs; i++)); do
        [ "$gap" = 0 ] || sleep "$gap"
        t0=${EPOCHREALTIME/./}
        "$HUTCH" run --events "$d/ev.$i" "$@" -- /bin/true >/dev/null 2>>"$d/err" || true
        t1=${EPOCHREALTIME/./}
        echo "$(((t1 - t0) * 1000))" >"$d/wall.$i"
    done
    awk -v OFS='\t' -v label="$label" '
        function med(key,   m, i, j, t, a) {
            m = cnt[key]; for (i = 1; i <= m; i++) a[i] = v[key, i]
            for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return m ? a[int((m + 1) / 2)] : 0
        }
        # x + 0: substr() gives strings, and strings would sort as text
        function add(key, x) { if (!(key in cnt)) order[++nk] = key; v[key, ++cnt[key]] = x + 0 }
        FNR == 1 && FILENAME ~ /\/wall\.[0-9]+$/ { add("wall", $1); next }
        FILENAME ~ /\/wall\.[0-9]+$/ { next }
        FNR == 1 { create = start = end = remove = 0 }
        /"type":"phase"/ { match($0, /"name":"[^"]*"/); n = substr($0, RSTART + 8, RLENGTH - 9)
                           match($0, /"ns":[0-9]+/); add(n, substr($0, RSTART + 5, RLENGTH - 5)) }
        { match($0, /"ts":[0-9]+/); ts = substr($0, RSTART + 5, RLENGTH - 5) }
        /"type":"sandbox.create"/ { create = ts }
        /"type":"process.start"/ { start = ts }
        /"type":"process.end"/ { end = ts; add("workload (process.start..end)", end - start) }
        /"type":"sandbox.remove"/ { add("teardown (process.end..sandbox.remove)", ts - end)
                                    add("library (sandbox.create..remove)", ts - create) }
        END {
            print label " phase", "p50 ms", "share of wall"
            wall = med("wall")
            top = "resolve seccomp state cgroup net.prepare clone cgroup.attach net.attach child exec"
            nt = split(top, t, " "); for (i = 1; i <= nt; i++) istop[t[i]] = 1
            for (i = 1; i <= nk; i++) {
                k = order[i]; if (k == "wall") continue
                if (k ~ /^(workload|teardown|library)/) continue
                m = med(k); if (istop[k]) sum += m
                print (istop[k] ? k : "  . " k), sprintf("%.3f", m / 1e6), sprintf("%.1f%%", 100 * m / wall)
            }
            print "sum of the start phases", sprintf("%.3f", sum / 1e6), sprintf("%.1f%%", 100 * sum / wall)
            for (i = 1; i <= nk; i++) { k = order[i]; if (k ~ /^(workload|teardown)/) { m = med(k)
                print k, sprintf("%.3f", m / 1e6), sprintf("%.1f%%", 100 * m / wall) } }
            lib = med("library (sandbox.create..remove)") + med("resolve")
            print "outside the library (exec of hutch, flags, ctx, exit)", sprintf("%.3f", (wall - lib) / 1e6),
                sprintf("%.1f%%", 100 * (wall - lib) / wall)
            print "wall (" cnt["wall"] " runs)", sprintf("%.3f", wall / 1e6), "100%"
        }' "$d"/wall.* "$d"/ev.*
}

part_start() {
    bench_section "Start latency (issue 2) and the primitive matrix (issue 8.1)"
    start_probe
    local cmds=$BENCH_TMP/out/start.cmds sum=$BENCH_TMP/out/start.tsv
    start_cmdfile >"$cmds"
    bench_peer_ns_setup
    local n
    n=$(grep -c . "$cmds")
    bench_log "bench: start: $n configurations x ($BENCH_RUNS runs + $BENCH_WARMUP warm-up), interleaved..."
    "$STARTLAT" -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -s "$BENCH_SEED" -r "$BENCH_TMP/out/start.raw" \
        -e "$BENCH_TMP/out/start.err" -N "$BENCH_NS_SETUP" "$cmds" >"$sum" ||
        bench_die "startlat failed"
    if awk -F'\t' 'NR > 1 && $3 > 0 { f = 1 } END { exit !f }' "$sum"; then
        bench_log "bench: some runs failed; their stderr (first lines of $BENCH_TMP/out/start.err):"
        { grep -v '^startlat:' "$BENCH_TMP/out/start.err" || true; } | sort | uniq -c | sort -rn | head -5 >&2
    fi
    local o=$BENCH_TMP/out
    start_table "$sum" headline >"$o/start-headline.tsv"
    start_table "$sum" matrix >"$o/start-matrix.tsv"
    start_table "$sum" knobs >"$o/start-knobs.tsv"
    bench_table "Start latency of /bin/true, $BENCH_RUNS interleaved runs each" "$o/start-headline.tsv" \
        "unshare.ns: \`unshare -fmpuiCn --mount-proc -R ROOTFS\`; bwrap.ns: \`bwrap --bind ROOTFS / --proc /proc --dev /dev --unshare-{pid,uts,ipc,cgroup,net}\`" \
        "crun.ns: crun without cgroups (\`--cgroup-manager=disabled\`); crun.default, runc.default: all namespaces, pids cgroup (1024), hutch's default seccomp profile, as hutch's defaults" \
        "x columns: p50 divided by the p50 of fork+exec, unshare.ns, bwrap.ns, crun.default in the same run"
    start_verdict "$sum"
    bench_table "Primitive by primitive (each step adds to the one above)" "$o/start-matrix.tsv" \
        "hutch always creates its cgroups (memory, pids, cgroup2 for stats and kill): its steps 1-3 include them; step 1 is hutch with --uts/--ipc/--cgroupns host and --network host" \
        "step 4: pids 1024 + memory 256m + cpu 1 (crun/runc: linux.resources; hutch: --memory 256m --cpus 1); step 6: --image (layers as overlay lowerdirs) vs --rootfs (the directory as the lowerdir)"
    bench_table "hutch, one switch away from its defaults" "$o/start-knobs.tsv"
    local pr=$BENCH_PHASE_RUNS
    start_phases hutch "$pr" 0 --rootfs "$ROOTFS" >"$o/phases.tsv"
    bench_table "Where hutch's start goes: phases of the default run (p50 of $pr runs, from --events)" \
        "$o/phases.tsv" "'. ' rows are steps reported from inside the next unindented phase, and part of it (the sandbox's own steps inside \`child\`; the network namespace inside \`net.prepare\`)" \
        "share of wall: of the p50 wall time of the whole \`hutch run\` as measured around it (fork to exit)"
    if [ -n "$BENCH_IMAGE" ]; then
        start_phases hutch.image "$pr" 0 --image "$BENCH_IMAGE" >"$o/phases-image.tsv"
        bench_table "Phases of an --image run (p50 of $pr runs)" "$o/phases-image.tsv"
    fi
    # one start on a quiet machine, not one of a burst: a v1 cgroup.procs write waits for an RCU
    # grace period unless another write happened just before (see bench/README.md)
    start_phases hutch.isolated "$BENCH_ISOLATED_RUNS" 0.3 --rootfs "$ROOTFS" >"$o/phases-isolated.tsv"
    bench_table "Phases of isolated default runs (p50 of $BENCH_ISOLATED_RUNS runs, 0.3 s apart)" \
        "$o/phases-isolated.tsv"
    start_costliest "$o/phases.tsv" "a default hutch start in a burst"
    start_costliest "$o/phases-isolated.tsv" "an isolated default hutch start"
}

# Issue 2's targets, stated from the same run's figures.
start_verdict() {
    awk -F'\t' 'NR > 1 { p[$1] = $4 }
        END {
            h = p["hutch"]; if (h == "" || h == "-") { print "no hutch figure"; exit }
            printf "hutch p50 %.2f ms: %.2fx unshare with the same namespaces (<= 1.5x is excellent)", h / 1e6, h / p["unshare.ns"]
            if (p["bwrap.ns"] != "") printf "; %s bwrap (%.2fx)", h <= p["bwrap.ns"] ? "<=" : ">", h / p["bwrap.ns"]
            if (p["crun.default"] != "" && p["crun.default"] != "-")
                printf "; %.2fx crun (target <= 0.20x: %s)", h / p["crun.default"], h <= p["crun.default"] / 5 ? "met" : "not met"
            printf "\n"
        }' "$1" >"$BENCH_TMP/out/verdict"
    bench_note "$(cat "$BENCH_TMP/out/verdict")"
}

start_costliest() {
    local line what=$2
    line=$(awk -F'\t' 'NR > 1 { k0 = $1; sub(/^  \. /, "", k0) }
        NR > 1 && k0 !~ /^(sum|wall|workload|teardown|outside|library)/ && k0 != "child" && $2 > m { m = $2; k = k0 }
        END { printf "%s (%.2f ms p50)", k, m }' "$1")
    bench_note "The costliest phase of $what: $line."
}
