# shellcheck shell=bash
# Part `density` (issue 8.3): N sandboxes running `sleep` at once. How long starting all of
# them takes, what each costs the host beyond its workload, how long tearing all down takes;
# through the CLI (one `hutch run` supervisor process per sandbox) and through the library
# (bench/embed: one process, one epoll loop, N sandboxes).

density_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# A new memory cgroup nested under our own (v1 memory hierarchy, or cgroup2 when it alone is
# mounted), so that a round's memory is counted apart from everything else in our group (other
# work may share it). Prints its directory, or nothing where that is not possible.
density_memcg_new() {
    local own dir
    own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    if [ -n "$own" ] && [ -d "/sys/fs/cgroup/memory$own" ]; then
        dir=/sys/fs/cgroup/memory${own%/}/hutch-bench-$$-$1
    elif [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        grep -qw memory "/sys/fs/cgroup${own%/}/cgroup.subtree_control" 2>/dev/null || return 0
        dir=/sys/fs/cgroup${own%/}/hutch-bench-$$-$1
    else
        return 0
    fi
    mkdir "$dir" 2>/dev/null || return 0
    BENCH_CGROUPS+=("$dir")
    echo "$dir"
}

density_memcg_kib() {
    local f=$1/memory.usage_in_bytes
    [ -f "$f" ] || f=$1/memory.current
    echo $(($(cat "$f") / 1024))
}

# Sum of Pss (KiB) over the pids given on stdin.
density_pss() {
    awk '{ f = "/proc/" $1 "/smaps_rollup"
           while ((getline l < f) > 0) if (l ~ /^Pss:/) { split(l, a, " "); s += a[2] }
           close(f) } END { print s + 0 }'
}

# The memory cgroups of the pids on stdin: "usage_kib kmem_kib" summed (v1: usage_in_bytes and
# kmem.usage_in_bytes; v2: memory.current and memory.stat's kernel).
density_cgmem() {
    awk '{ f = "/proc/" $1 "/cgroup"; path = ""; v2 = ""
           while ((getline l < f) > 0) { split(l, a, ":")
               if (a[2] == "memory") path = "/sys/fs/cgroup/memory" a[3]
               if (a[1] == "0") v2 = "/sys/fs/cgroup" a[3] }
           close(f)
           if (path != "") { u += num(path "/memory.usage_in_bytes"); k += num(path "/memory.kmem.usage_in_bytes") }
           else if (v2 != "") { u += num(v2 "/memory.current")
               g = v2 "/memory.stat"; while ((getline l < g) > 0) if (l ~ /^kernel /) { split(l, a, " "); k += a[2] }
               close(g) } }
         function num(p,   x) { x = 0; getline x < p; close(p); return x + 0 }
         END { printf "%d %d\n", u / 1024, k / 1024 }'
}

# One CLI round: N `hutch run ... -- sleep` in the background, launched by a subshell that first
# moves itself into a fresh memory cgroup nested under ours (so everything it starts, sandboxes
# included, is counted there); prints a TSV row.
density_cli() {
    local n=$1
    local d=$BENCH_TMP/density/cli-$n i pids=() avail own=0 t0 t1 started=0 dead td sup init wl cg
    local mcg launcher
    mkdir -p "$d"
    mcg=$(density_memcg_new "cli-$n")
    avail=$(density_kib)
    t0=${EPOCHREALTIME/./}
    (
        [ -z "$mcg" ] || echo "$BASHPID" >"$mcg/cgroup.procs"
        for ((i = 0; i < n; i++)); do
            "$HUTCH" run --rootfs "$ROOTFS" --events "$d/ev.$i" -- sleep 100000 \
                </dev/null >/dev/null 2>>"$d/err" &
            echo $! >>"$d/pids"
        done
        wait
    ) &
    launcher=$!
    BENCH_PIDS+=("$launcher")
    # started = every event file has its process.start; give up on the ones that died
    while :; do
        [ -f "$d/pids" ] && mapfile -t pids <"$d/pids"
        started=$({ grep -l '"type":"process.start"' "$d"/ev.* 2>/dev/null || true; } | wc -l)
        dead=0
        for i in "${pids[@]+"${pids[@]}"}"; do kill -0 "$i" 2>/dev/null || dead=$((dead + 1)); done
        [ $((started + dead)) -lt "$n" ] || break
        [ $(((${EPOCHREALTIME/./} - t0) / 1000000)) -lt 600 ] || break
        sleep 0.05
    done
    t1=${EPOCHREALTIME/./}
    BENCH_PIDS+=("${pids[@]}")
    sleep 0.5
    sup=$(printf '%s\n' "${pids[@]}" | density_pss)
    cat "$d"/ev.* | sed -n '/"type":"process.start"/s/.*"init_pid":\([0-9]*\).*/\1/p' >"$d/init.pids"
    cat "$d"/ev.* | sed -n '/"type":"process.start"/s/.*"pid":\([0-9]*\).*/\1/p' >"$d/wl.pids"
    init=$(density_pss <"$d/init.pids")
    wl=$(density_pss <"$d/wl.pids")
    cg=$(density_cgmem <"$d/wl.pids")
    avail=$((avail - $(density_kib)))
    [ -z "$mcg" ] || own=$(density_memcg_kib "$mcg")
    td=${EPOCHREALTIME/./}
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
    td=$((${EPOCHREALTIME/./} - td))
    density_row "hutch CLI" "$n" "$started" $((t1 - t0)) "$td" "$sup" "$init" "$wl" "$cg" "$avail" "$own"
    rm -rf "$d"
    [ -z "$mcg" ] || rmdir "$mcg" 2>/dev/null || true
}

density_embed() {
    local n=$1 f=$BENCH_TMP/out/embed-density mcg
    mcg=$(density_memcg_new "embed-$n")
    # embed measures the growth of its own memory cgroup: the fresh one, entered before exec
    sh -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$mcg" \
        "$BENCH_EMBED" density -n "$n" -o rootfs="$ROOTFS" -- sleep 100000 >"$f" \
        2>>"$BENCH_TMP/out/embed.err" || true
    [ -z "$mcg" ] || rmdir "$mcg" 2>/dev/null || true
    v() { sed -n "s/^$1=//p" "$f"; }
    [ -n "$(v teardown_seconds)" ] || { bench_log "bench: embed density $n failed"; return 0; }
    density_row "embed (libhutch)" "$n" "$(v running)" \
        "$(awk -v s="$(v start_seconds)" 'BEGIN { printf "%d", s * 1e6 }')" \
        "$(awk -v s="$(v teardown_seconds)" 'BEGIN { printf "%d", s * 1e6 }')" \
        "$(v self_pss_kib)" "$(v init_pss_kib)" "$(v workload_pss_kib)" \
        "$(v cgroup_usage_kib) $(v cgroup_kmem_kib)" "$(v memavailable_delta_kib)" "$(v memcg_delta_kib)"
}

# driver n started start_us teardown_us supervisor_kib init_kib workload_kib "usage kmem"
# avail_kib own_memcg_kib
density_row() {
    awk -v OFS='\t' -v drv="$1" -v n="$2" -v ok="$3" -v su="$4" -v tu="$5" -v sup="$6" -v init="$7" \
        -v wl="$8" -v cg="$9" -v av="${10}" -v own="${11}" 'BEGIN { split(cg, c, " "); m = ok > 0 ? ok : 1
        print drv, n, ok, sprintf("%.2f", su / 1e6), sprintf("%.1f", ok / (su / 1e6)), sprintf("%.2f", tu / 1e6),
            int(sup / m), int(init / m), int(c[2] / m), int(wl / m), int(own / m), int((own - wl) / m), int(av / m) }'
}

part_density() {
    bench_section "Density (issues 8.3 and 8.5)"
    local out=$BENCH_TMP/out/density.tsv n
    printf 'driver\tN\trunning\tstart all s\tstarts/s\tteardown s\tsupervisor KiB\tinit KiB\tsandbox kmem KiB\tworkload KiB\ttotal KiB\tbeyond workload KiB\tMemAvailable drop KiB\n' >"$out"
    for n in $BENCH_DENSITY; do
        bench_log "bench: density: $n sandboxes through the CLI..."
        density_cli "$n" >>"$out"
        if [ -n "$BENCH_EMBED" ]; then
            bench_log "bench: density: $n sandboxes through the library..."
            density_embed "$n" >>"$out"
        fi
    done
    bench_table "N sandboxes running sleep (defaults: all namespaces, network none, seccomp, pids cgroup)" "$out" \
        "KiB columns are per running sandbox: supervisor = PSS of the \`hutch run\` process (CLI) or of the one embedding process / N; init = PSS of hutch's init in the sandbox; sandbox kmem = kernel memory charged to the sandbox's memory cgroup (v1 memory.kmem.usage_in_bytes; v2 memory.stat kernel); workload = PSS of sleep" \
        "total: usage of a fresh memory cgroup nested under the benchmark's, which the launcher (CLI round) or bench/embed enters before starting anything: the sandboxes' groups nest in it, and it is charged for the kernel objects its processes create (namespaces, mounts, cgroups, page tables), / N; beyond workload = total - workload (target: < 1024 KiB). Kernel memory charged to no cgroup is missed there: MemAvailable drop (/proc/meminfo, before - after, / N) catches it but also moves with everything else on the machine, so read it as a cross-check" \
        "CLI: all N \`hutch run\` started at once in the background (start all = until every one reported process.start); teardown = SIGTERM to every supervisor until all exited. embed: started one after the other from one thread; teardown = hutch_sandbox_kill(SIGKILL) to all, then the epoll loop until every one is destroyed"
}
