#!/usr/bin/env bash
# shellcheck shell=bash
# Part `jobs` (issue 7): what warm caches buy, and what overlay caches cost per start.
#
# 1. Cold vs warm: a job "installs" a few hundred files from Debian packages (.deb files from
#    the local apt cache, else `apt-get download`; no network inside the sandbox) into its cache
#    when they are absent, then "builds" from them (reads every file). Cold = a fresh cache each
#    run (a new workspace, scope: workspace); warm = the cache of an earlier run. For bind and
#    overlay caches (an overlay cold run also commits the new generation).
# 2. Per start: `hutch job` running /bin/true with no cache, one bind cache, one overlay cache
#    (nothing written: no commit), and overlay caches that are written (a commit per run) over a
#    small and over a large lower; `hutch run` as the floor. Interleaved runs (bench/startlat).
#
# Sourced by bench/run-all (part_jobs), or alone: bench/jobs.sh [--runs N] [--cold-runs N]

part_jobs() {
    bench_section "Jobs: warm caches and the cost of overlay caches (issue 7)"
    local J=$BENCH_TMP/jobs runs=${BENCH_JOB_RUNS:-50} cruns=${BENCH_JOB_COLD_RUNS:-10}
    mkdir -p "$J"
    if ! jobs_get_debs "$J/debs"; then
        bench_note "jobs: no Debian packages (.deb) found or downloadable: part skipped"
        return 0
    fi
    local nfiles kbytes npkg pkgs
    npkg=$(find "$J/debs" -name '*.deb' | wc -l)
    pkgs=$(find "$J/debs" -name '*.deb' -printf '%f\n' | sed 's/_.*//' | sort | tr '\n' ' ')
    nfiles=$(for d in "$J"/debs/*.deb; do dpkg-deb -c "$d"; done | grep -vc '/$')
    kbytes=$(du -kc "$J"/debs/*.deb | tail -n 1 | cut -f1)
    jobs_write_files "$J"
    local H="$HUTCH job --rootfs $ROOTFS -v $J/debs:/debs:ro"
    # warm caches: one run each beforehand
    for m in bind overlay; do
        $H --workspace "$J/warm-$m" >/dev/null 2>"$J/warm-$m.err" ||
            bench_die "jobs: the $m job fails: $(tail -n 3 "$J/warm-$m.err")"
    done
    {
        echo "cold-bind $H --workspace $J/cold-bind/{n}"
        echo "warm-bind $H --workspace $J/warm-bind"
        echo "cold-overlay $H --workspace $J/cold-overlay/{n}"
        echo "warm-overlay $H --workspace $J/warm-overlay"
    } >"$J/cold.cmds"
    bench_log "bench: jobs: cold vs warm, $nfiles files from $npkg packages, $cruns runs..."
    "$STARTLAT" -n "$cruns" -w 1 -t 300 -e "$J/cold.err" "$J/cold.cmds" >"$J/cold.tsv" ||
        bench_die "startlat failed"
    awk -F'\t' -v OFS='\t' '
        NR == 1 { next }
        { p50[$1] = $4; p90[$1] = $5; runs[$1] = $2 }
        END {
            print "cache mode", "runs", "cold p50 ms", "warm p50 ms", "cold p90 ms", "warm p90 ms", "cold / warm"
            split("bind overlay", m, " ")
            for (i = 1; i <= 2; i++) {
                c = p50["cold-" m[i]]; w = p50["warm-" m[i]]
                print m[i], runs["cold-" m[i]] "/" runs["warm-" m[i]], sprintf("%.1f", c / 1e6),
                    sprintf("%.1f", w / 1e6), sprintf("%.1f", p90["cold-" m[i]] / 1e6),
                    sprintf("%.1f", p90["warm-" m[i]] / 1e6), (w > 0 ? sprintf("%.2fx", c / w) : "-")
            }
        }' "$J/cold.tsv" >"$J/cold-table.tsv"
    bench_table "A job with a warm cache: $nfiles files from $npkg Debian packages ($kbytes KiB of .deb), cold vs warm" \
        "$J/cold-table.tsv" \
        "cold: the job unpacks every package into an empty cache (dpkg-deb -x), then reads every file; warm: the files are there, it only reads them" \
        "whole \`hutch job\` runs (parse, staging, sandbox, teardown; overlay: the commit of the new generation), interleaved, median" \
        "packages: $pkgs"

    jobs_write_start_files "$J"
    {
        echo "run-true $HUTCH run --rootfs $ROOTFS -- /bin/true"
        echo "job-nocache $HUTCH job --rootfs $ROOTFS --workspace $J/s-none"
        echo "job-bind $HUTCH job --rootfs $ROOTFS --workspace $J/s-bind"
        echo "job-overlay-read $HUTCH job --rootfs $ROOTFS --workspace $J/s-ovr"
        echo "job-overlay-write $HUTCH job --rootfs $ROOTFS --workspace $J/s-ovw"
        echo "job-overlay-write-big $HUTCH job --rootfs $ROOTFS --workspace $J/s-ovb"
    } >"$J/start.cmds"
    # the big lower: the warm overlay cache's tree, copied into the s-ovb cache once
    $HUTCH job --rootfs "$ROOTFS" --workspace "$J/s-ovb" -e SEED=1 -v "$J/debs:/debs:ro" \
        >/dev/null 2>"$J/seed.err" || bench_die "jobs: seeding the big cache: $(tail -n 3 "$J/seed.err")"
    bench_log "bench: jobs: per-start cost, $runs interleaved runs..."
    "$STARTLAT" -n "$runs" -w 3 -t 120 -e "$J/start.err" "$J/start.cmds" >"$J/start.tsv" ||
        bench_die "startlat failed"
    awk -F'\t' -v OFS='\t' '
        NR == 1 { print "configuration", "runs", "p50 ms", "p90 ms", "vs no cache ms"; next }
        { n[NR] = $1; r[NR] = $2; p[NR] = $4; q[NR] = $5; if ($1 == "job-nocache") base = $4 }
        END {
            d["run-true"] = "hutch run /bin/true (the floor: one sandbox)"
            d["job-nocache"] = "hutch job /bin/true, no cache"
            d["job-bind"] = "+ one bind cache"
            d["job-overlay-read"] = "+ one overlay cache, read only (no commit)"
            d["job-overlay-write"] = "+ one overlay cache, one file written (commit, 1-file lower)"
            d["job-overlay-write-big"] = "+ one overlay cache, one file written (commit, big lower)"
            for (i = 2; i in n; i++)
                print d[n[i]], r[i], sprintf("%.2f", p[i] / 1e6), sprintf("%.2f", q[i] / 1e6),
                    (n[i] == "run-true" ? "-" : sprintf("%+.2f", (p[i] - base) / 1e6))
        }' "$J/start.tsv" >"$J/start-table.tsv"
    local big
    big=$(find "$HUTCH_ROOT/caches/workspace" -path '*/ovb/gen/*' -type f 2>/dev/null | wc -l)
    bench_table "Per-start cost of a job's caches (median of $runs interleaved runs)" \
        "$J/start-table.tsv" \
        "a job alone on the current generation commits in place: the cost follows what it wrote, not the cache (big lower: $big files); with other jobs on the same generation the commit builds a copy of hard links instead (a cost per file of the cache)" \
        "a job that wrote nothing into its overlay cache makes no new generation" \
        "load average at the end of this part: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a loaded machine spread widely)"
}

# Debian packages with a few hundred files between them: from the apt cache, else downloaded.
jobs_get_debs() {
    local dir=$1 p f n=0
    mkdir -p "$dir"
    for p in autoconf automake libperl5.36 perl-modules-5.36; do
        f=$(find /var/cache/apt/archives -maxdepth 1 -name "${p}_*.deb" -print -quit 2>/dev/null)
        if [ -z "$f" ]; then
            (cd "$dir" && apt-get download -q "$p" >/dev/null 2>&1) || true
            f=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" -print -quit)
        fi
        [ -n "$f" ] && [ "$f" != "$dir/$(basename "$f")" ] && cp "$f" "$dir/"
        [ -n "$f" ] && n=$((n + 1))
        [ "$n" -ge 3 ] && break
    done
    [ "$n" -gt 0 ]
}

jobs_write_files() {
    local J=$1 m i
    for m in bind overlay; do
        cat >"$J/job-$m.yaml" <<EOF
command: |
  set -e
  for deb in /debs/*.deb; do
    d=/cache/pkgs/\$(basename "\$deb" .deb)
    if [ ! -d "\$d" ]; then mkdir -p "\$d.tmp"; dpkg-deb -x "\$deb" "\$d.tmp"; mv "\$d.tmp" "\$d"; fi
  done
  find /cache/pkgs -type f | sort | xargs cat | sha256sum > /hutch/output/build.sha
caches: [{name: debs-$m, path: /cache, scope: workspace, mode: $m}]
EOF
        mkdir -p "$J/warm-$m"
        cp "$J/job-$m.yaml" "$J/warm-$m/.hutch.yaml"
        for i in $(seq 0 $((${BENCH_JOB_COLD_RUNS:-10} + 1))); do
            mkdir -p "$J/cold-$m/$i"
            cp "$J/job-$m.yaml" "$J/cold-$m/$i/.hutch.yaml"
        done
    done
}

jobs_write_start_files() {
    local J=$1
    mkdir -p "$J/s-none" "$J/s-bind" "$J/s-ovr" "$J/s-ovw" "$J/s-ovb"
    echo 'command: [/bin/true]' >"$J/s-none/.hutch.yaml"
    printf 'command: [/bin/true]\ncaches: [{name: b, path: /c}]\n' >"$J/s-bind/.hutch.yaml"
    printf 'command: [/bin/true]\ncaches: [{name: ovr, path: /c, mode: overlay}]\n' \
        >"$J/s-ovr/.hutch.yaml"
    printf 'command: [sh, -c, "echo $$ > /c/f"]\ncaches: [{name: ovw, path: /c, mode: overlay}]\n' \
        >"$J/s-ovw/.hutch.yaml"
    cat >"$J/s-ovb/.hutch.yaml" <<'EOF'
command: |
  if [ -n "$SEED" ]; then for d in /debs/*.deb; do dpkg-deb -x "$d" /c/pkgs; done; fi
  echo $$ > /c/f
caches: [{name: ovb, path: /c, mode: overlay, scope: workspace}]
EOF
    # the first runs make the caches' first generations
    local w
    for w in s-bind s-ovr s-ovw; do
        "$HUTCH" job --rootfs "$ROOTFS" --workspace "$J/$w" >/dev/null 2>&1 || true
    done
}

# Alone: the suite's setup, then this part.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    # shellcheck source=bench/lib.sh
    . "$(dirname "$0")/lib.sh"
    while [ $# -gt 0 ]; do
        case "$1" in
        --runs) BENCH_JOB_RUNS=${2:?}; shift 2 ;;
        --cold-runs) BENCH_JOB_COLD_RUNS=${2:?}; shift 2 ;;
        --keep) BENCH_KEEP=1; shift ;;
        *) bench_die "usage: bench/jobs.sh [--runs N] [--cold-runs N] [--keep]" ;;
        esac
    done
    [ "$(id -u)" = 0 ] || bench_die "needs root (namespaces, cgroups, mounts)"
    bench_find_hutch
    export HUTCH_POLICIES=${HUTCH_POLICIES:-$BENCH_SRC/policies}
    bench_setup_tmp
    bench_build_helpers
    bench_make_rootfs
    part_jobs
fi
