# shellcheck shell=bash
# Part `throughput` (issue 8.2): sandboxes per second running /bin/true, back to back with one
# run in flight, then with one per core; the CLI through startlat -T, the library through
# bench/embed (one process per worker, each starting its sandboxes one after the other).

part_throughput() {
    bench_section "Throughput (issue 8.2)"
    local cores j cmds=$BENCH_TMP/out/tput.cmds out=$BENCH_TMP/out/tput.tsv w
    cores=$(nproc)
    {
        echo "hutch $HUTCH run --rootfs $ROOTFS -- /bin/true"
        echo "bwrap.ns bwrap --bind $ROOTFS / --proc /proc --dev /dev --unshare-pid --unshare-uts --unshare-ipc --unshare-cgroup --unshare-net /bin/true"
        if bench_have crun && bench_have jq; then
            # one bundle per worker slot: concurrent runs need their own id and cgroup
            for ((w = 0; w < cores; w++)); do
                bench_oci_bundle "tput$w" "pid mount uts ipc cgroup network" pids default >/dev/null
            done
            echo "crun.default @ns crun --root $BENCH_TMP/crun run --bundle $BENCH_TMP/bundles/tput{w} bench-tput{w}"
        fi
    } >"$cmds"
    [ -n "${BENCH_NS_SETUP:-}" ] || bench_peer_ns_setup
    printf 'name\tworkers\tsandboxes\tfailed\tseconds\tper second\n' >"$out"
    for j in 1 "$cores"; do
        bench_log "bench: throughput: $j worker(s), ${BENCH_TPUT_SECONDS} s per tool..."
        "$STARTLAT" -T "$BENCH_TPUT_SECONDS" -j "$j" -e "$BENCH_TMP/out/tput.err" \
            -N "$BENCH_NS_SETUP" "$cmds" | tail -n +2 >>"$out"
        [ -n "$BENCH_EMBED" ] && tput_embed "$j" >>"$out"
        [ "$cores" -gt 1 ] || break
    done
    bench_table "Sandboxes per second, /bin/true" "$out" \
        "hutch: one \`hutch run --rootfs\` process per sandbox; embed: bench/embed, one process per worker starting sandboxes through libhutch back to back (its epoll loop reaps the ended ones between starts)" \
        "crun.default and bwrap.ns: the configurations of the start table; each worker keeps one run in flight for ${BENCH_TPUT_SECONDS} s"
}

# J embed processes at once, each starting as many sandboxes as the CLI managed per worker in
# the same time (about BENCH_TPUT_SECONDS of work).
tput_embed() {
    local j=$1 n i pids=() t0 t1
    n=$(awk -F'\t' -v j="$j" -v s="$BENCH_TPUT_SECONDS" '$1 == "hutch" && $2 == j { printf "%d", $6 * 1.5 * s / j + 10 }' \
        "$BENCH_TMP/out/tput.tsv")
    t0=${EPOCHREALTIME/./}
    for ((i = 0; i < j; i++)); do
        "$BENCH_EMBED" rate -n "${n:-100}" -o rootfs="$ROOTFS" -- /bin/true \
            >"$BENCH_TMP/out/embed-rate.$i" 2>>"$BENCH_TMP/out/embed.err" &
        pids+=($!)
        BENCH_PIDS+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done
    t1=${EPOCHREALTIME/./}
    awk -F= -v OFS='\t' -v j="$j" -v us=$((t1 - t0)) '
        $1 == "n" { n += $2 } $1 == "failed" { f += $2 }
        END { ok = n - f; print "embed (libhutch)", j, ok, f, sprintf("%.3f", us / 1e6), sprintf("%.2f", ok / (us / 1e6)) }' \
        "$BENCH_TMP"/out/embed-rate.*
    rm -f "$BENCH_TMP"/out/embed-rate.*
}
