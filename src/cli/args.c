/* SPDX-License-Identifier: MIT */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Errors of the CLI itself use the library's error type through a spec call that fails; for
 * plain usage errors we make our own chain with an unknown option name. */

struct flag {
    const char *lng;
    char shrt;
    bool value;
    const char *option; /* hutch_spec_set name; NULL = the CLI's own */
};

static const struct flag flags[] = {
    {"rootfs", 0, true, "rootfs"},
    {"image", 0, true, "image"},
    {"events", 0, true, NULL},
    {"id", 0, true, NULL},
    {"timeout", 0, true, "timeout"},
    {"kill-grace", 0, true, "kill-grace"},
    {"max-output", 0, true, "max-output"},
    {"env", 'e', true, "env"},
    {"workdir", 'w', true, "workdir"},
    {"user", 'u', true, "user"},
    {"hostname", 'h', true, "hostname"},
    {"volume", 'v', true, "volume"},
    {"tmpfs", 0, true, "tmpfs"},
    {"read-only", 0, false, "read-only"},
    {"cap-add", 0, true, "cap-add"},
    {"cap-drop", 0, true, "cap-drop"},
    {"tty", 't', false, "tty"},
    {"interactive", 'i', false, "interactive"},
    {"init", 0, false, "init"},
    {"no-init", 0, false, NULL},
    {"memory", 'm', true, "memory"},
    {"memory-reservation", 0, true, "memory-reservation"},
    {"cpus", 0, true, "cpus"},
    {"cpu-shares", 'c', true, "cpu-shares"},
    {"cpu-weight", 0, true, "cpu-weight"},
    {"cpuset-cpus", 0, true, "cpuset-cpus"},
    {"pids-limit", 0, true, "pids-limit"},
    {"device-read-bps", 0, true, "device-read-bps"},
    {"device-write-bps", 0, true, "device-write-bps"},
    {"device-read-iops", 0, true, "device-read-iops"},
    {"device-write-iops", 0, true, "device-write-iops"},
    {"cgroup-parent", 0, true, "cgroup-parent"},
    {"network", 0, true, "network"},
    {"net", 0, true, "network"},
    {"nat", 0, false, "nat"},
    {"security-opt", 0, true, "security-opt"},
    {"privileged", 0, false, "privileged"},
    {"bare", 0, false, "bare"},
    {"uts", 0, true, "uts"},
    {"ipc", 0, true, "ipc"},
    {"pid", 0, true, "pid"},
    {"cgroupns", 0, true, "cgroupns"},
    {"userns", 0, true, "userns"},
    {"upper-size", 0, true, "upper-size"},
};

const char args_run_usage[] =
    "usage: hutch run [OPTIONS] [IMAGE] [--] CMD [ARG...]\n"
    "  --rootfs DIR            run on a directory (never modified: writes go to a private upper)\n"
    "  --image REF             run on an imported image (or give IMAGE as first argument)\n"
    "  --events PATH|-|fd:N    JSON Lines events to a file, stdout (-), or an inherited fd\n"
    "  --timeout S             SIGTERM to everything after S seconds, SIGKILL after --kill-grace\n"
    "  --kill-grace S          default 10\n"
    "  --max-output BYTES      drop output past BYTES (K/M/G suffixes)\n"
    "  -e, --env KEY=VAL       -w, --workdir DIR      -u, --user UID[:GID]|NAME\n"
    "  -h, --hostname NAME     -v, --volume SRC:DST[:ro]   --tmpfs DST[:size=N,mode=M]\n"
    "  --read-only             --cap-add CAP   --cap-drop CAP|ALL   -t, --tty   -i, --interactive\n"
    "  -m, --memory BYTES      --memory-reservation BYTES   --cpus N.N   --cpu-shares N\n"
    "  --cpu-weight N          --cpuset-cpus LIST   --pids-limit N (default 1024)\n"
    "  --device-{read,write}-{bps,iops} DEV:RATE    --cgroup-parent PATH\n"
    "  --network none|host|bridge[=NAME]|internal=NAME|sandbox=ID   --nat\n"
    "  --security-opt seccomp=PATH|default|strict|unconfined | no-new-privileges=false\n"
    "  --privileged            --userns host|auto|C:H:N   --upper-size BYTES   --no-init\n"
    "  --uts|--ipc|--pid|--cgroupns host|private   stay in the caller's namespace of that kind\n"
    "  --bare                  a host process: only cgroup limits, timeout, output cap, events\n";

static int usage_err(struct run_args *out, const char *arg, const char *what)
{
    snprintf(out->error, sizeof(out->error), "%s: %s", arg, what);
    return -EINVAL;
}

static const struct flag *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strlen(flags[i].lng) == len && !strncmp(flags[i].lng, name, len))
            return &flags[i];
    return NULL;
}

static const struct flag *find_short(char c)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (flags[i].shrt == c)
            return &flags[i];
    return NULL;
}

static int apply(const struct flag *f, const char *value, args_set_fn set, void *ud,
                 struct run_args *out, struct hutch_error **err)
{
    if (f->option) {
        if (!strcmp(f->lng, "rootfs") || !strcmp(f->lng, "image") || !strcmp(f->lng, "bare"))
            out->has_rootfs = true;
        return set(ud, f->option, value, err);
    }
    if (!strcmp(f->lng, "events"))
        out->events = value;
    else if (!strcmp(f->lng, "id"))
        out->id = value;
    else if (!strcmp(f->lng, "no-init"))
        return set(ud, "init", "false", err);
    return 0;
}

static int set_spec(void *ud, const char *option, const char *value, struct hutch_error **err)
{
    return hutch_spec_set(ud, option, value, err);
}

int args_parse_run(int argc, char **argv, struct hutch_spec *spec, struct run_args *out,
                   struct hutch_error **err)
{
    return args_parse_run_fn(argc, argv, set_spec, spec, out, err);
}

int args_parse_run_fn(int argc, char **argv, args_set_fn set, void *ud, struct run_args *out,
                      struct hutch_error **err)
{
    memset(out, 0, sizeof(*out));
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            out->dashdash = true;
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break; /* the image or the command: what follows is theirs */
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const struct flag *f = find_long(name, len);
            if (!f)
                return usage_err(out, a, "unknown flag (see hutch run --help)");
            const char *v = NULL;
            if (f->value) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return usage_err(out, a, "needs a value");
            } else if (eq) {
                v = eq + 1;
            }
            int r = apply(f, v, set, ud, out, err);
            if (r < 0)
                return r;
            continue;
        }
        /* short flags, possibly bundled: -it, -e K=V, -eK=V */
        for (const char *c = a + 1; *c; c++) {
            const struct flag *f = find_short(*c);
            if (!f) {
                char tmp[3] = {'-', *c, 0};
                return usage_err(out, tmp, "unknown flag (see hutch run --help)");
            }
            const char *v = NULL;
            if (f->value) {
                if (c[1])
                    v = c + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else {
                    char tmp[3] = {'-', *c, 0};
                    return usage_err(out, tmp, "needs a value");
                }
            }
            int r = apply(f, v, set, ud, out, err);
            if (r < 0)
                return r;
            if (f->value)
                break;
        }
    }
    out->first_positional = i;
    return 0;
}
