# shellcheck shell=bash
# Part `output` (issue 8.4): BYTES of workload text output (bench/textgen in the sandbox)
# through hutch's event stream and through plain passthrough, against the same bytes through a
# plain pipe; medians of interleaved runs (startlat -n 3).

part_output() {
    bench_section "Output throughput (issue 8.4)"
    local B=$BENCH_OUTPUT_BYTES cmds=$BENCH_TMP/out/output.cmds sum=$BENCH_TMP/out/output.tsv
    local tg=$BENCH_TMP/bin/textgen H="$HUTCH run --rootfs $ROOTFS"
    {
        echo "textgen-alone $tg $B"
        echo "plain-pipe @sh $tg $B | cat"
        echo "hutch-passthrough $H -- /usr/bin/textgen $B"
        echo "hutch-events $H --events - -- /usr/bin/textgen $B"
    } >"$cmds"
    bench_log "bench: output: $((B >> 20)) MiB x 4 ways x 3 runs..."
    "$STARTLAT" -n 3 -w 1 -t 300 -e "$BENCH_TMP/out/output.err" "$cmds" >"$sum" ||
        bench_die "startlat failed"
    awk -F'\t' -v OFS='\t' -v B="$B" '
        NR == 1 { print "path", "runs", "p50 s", "GB/s", "GiB/s", "x plain pipe"; next }
        { n[NR] = $1; r[NR] = $2; p[NR] = $4; if ($1 == "plain-pipe") pipe = $4 }
        END {
            d["textgen-alone"] = "textgen > /dev/null (the producer alone, no pipe)"
            d["plain-pipe"] = "textgen | cat > /dev/null (a plain pipe)"
            d["hutch-passthrough"] = "hutch run -- textgen > /dev/null (passthrough)"
            d["hutch-events"] = "hutch run --events - -- textgen > /dev/null (output events)"
            for (i = 2; i in n; i++) {
                if (p[i] == "-") { print d[n[i]], r[i], "-", "-", "-", "-"; continue }
                s = p[i] / 1e9
                x = (pipe && n[i] != "textgen-alone") ? sprintf("%.2f", pipe / p[i]) : "-"
                print d[n[i]], r[i], sprintf("%.3f", s), sprintf("%.2f", B / s / 1e9),
                    sprintf("%.2f", B / s / 1073741824), x
            }
        }' "$sum" >"$BENCH_TMP/out/output-table.tsv"
    bench_table "$((B >> 20)) MiB of text output (median of 3 interleaved runs)" "$BENCH_TMP/out/output-table.tsv" \
        "times include starting and tearing down the sandbox; GB = 10^9 bytes; target: >= 1 GB/s through events" \
        "textgen alone writes to /dev/null, which costs nothing: it only shows that the producer is not the limit" \
        "events: every chunk becomes a JSON \`output\` event (escaped text) on hutch's stdout, itself /dev/null"
}
