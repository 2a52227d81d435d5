/* SPDX-License-Identifier: MIT */
/* hutch image import|ls|inspect|rm|prune: arguments in, hutch_image_* calls, text out. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IMAGE_USAGE                                                                                \
    "usage: hutch image import [--name NAME[:TAG]] [--platform OS/ARCH[/VARIANT]]\n"               \
    "                          [--allow-file-caps] [--max-layer-size SIZE]\n"                      \
    "                          [--max-layer-files N] [-q|--quiet] SOURCE[:TAG]\n"                  \
    "       hutch image ls [--json]\n"                                                             \
    "       hutch image inspect NAME[:TAG]|DIGEST\n"                                               \
    "       hutch image rm NAME[:TAG]|DIGEST...\n"                                                 \
    "       hutch image prune [--json]\n"                                                          \
    "SOURCE: an OCI layout directory, an oci-archive or docker-archive tarball, or a rootfs\n"     \
    "tarball (which needs --name).\n"

/* "512", "64K", "1.5M", "2G", "1T" (powers of 1024). */
static int parse_size_arg(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isdigit((unsigned char)*s))
        return -1;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (*end && !u)
        return -1;
    if (u) {
        for (const char *p = units; p <= u; p++)
            v *= 1024;
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
    }
    if (*end || v >= 1.8e19)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static void human_size(uint64_t n, char *out, size_t outsz)
{
    const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t i = 0;
    while (v >= 1000 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000;
        i++;
    }
    snprintf(out, outsz, i ? "%.1f %s" : "%.0f %s", v, units[i]);
}

/* ---------------------------------------------------------------- import */

struct progress {
    bool draw; /* stderr is a terminal and not --quiet */
    bool quiet;
    bool drawn;  /* a bar is on the line */
    double last; /* monotonic seconds of the last redraw */
    unsigned warnings;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(uint64_t done, uint64_t total, unsigned ldone, unsigned ltotal,
                        void *userdata)
{
    struct progress *p = userdata;
    double now = mono_s();
    if (!p->draw || (now - p->last < 0.1 && done < total))
        return;
    p->last = now;
    char a[32], b[32], bar[31];
    unsigned fill = total ? (unsigned)(done * 30 / total) : 0;
    for (unsigned i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    human_size(done, a, sizeof(a));
    human_size(total, b, sizeof(b));
    fprintf(stderr, "\r[%s] %3u%%  %s / %s  layers %u/%u \033[K", bar,
            total ? (unsigned)(done * 100 / total) : 0, a, b, ldone, ltotal);
    p->drawn = true;
}

static void on_warning(const char *msg, void *userdata)
{
    struct progress *p = userdata;
    if (p->quiet || ++p->warnings > 20)
        return;
    fprintf(stderr, "%shutch: warning: %s\n", p->drawn ? "\r\033[K" : "", msg);
    p->drawn = false;
}

static int image_import(struct hutch_ctx *ctx, int argc, char **argv)
{
    struct progress p = {0};
    struct hutch_image_import_opts o = {
        .sz = sizeof(o), .progress = on_progress, .warning = on_warning, .userdata = &p};
    const char *source = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if ((!strcmp(a, "--name") || !strcmp(a, "--platform") || !strcmp(a, "--max-layer-size") ||
             !strcmp(a, "--max-layer-files")) &&
            !more)
            return cli_usage_error("image import: %s needs a value", a);
        if (!strcmp(a, "--name"))
            o.name = argv[++i];
        else if (!strcmp(a, "--platform"))
            o.platform = argv[++i];
        else if (!strcmp(a, "--allow-file-caps"))
            o.allow_file_caps = true;
        else if (!strcmp(a, "--max-layer-size")) {
            if (parse_size_arg(argv[++i], &o.max_layer_bytes) < 0 || !o.max_layer_bytes)
                return cli_usage_error("image import: bad --max-layer-size '%s'", argv[i]);
        } else if (!strcmp(a, "--max-layer-files")) {
            if (parse_size_arg(argv[++i], &o.max_layer_files) < 0 || !o.max_layer_files)
                return cli_usage_error("image import: bad --max-layer-files '%s'", argv[i]);
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            p.quiet = true;
        else if (a[0] == '-' && a[1])
            return cli_usage_error("image import: unknown option '%s'", a);
        else if (source)
            return cli_usage_error("image import: unexpected argument '%s'", a);
        else
            source = a;
    }
    if (!source)
        return cli_usage_error("image import: missing SOURCE\n%s", IMAGE_USAGE);
    p.draw = !p.quiet && isatty(2);
    struct hutch_error *err = NULL;
    char *ref = NULL;
    int r = hutch_image_import(ctx, source, &o, &ref, &err);
    if (p.drawn)
        fputs("\r\033[K", stderr);
    if (p.warnings > 20)
        fprintf(stderr, "hutch: warning: %u more warnings (hutch image inspect shows them)\n",
                p.warnings - 20);
    if (r < 0)
        return cli_fail(err);
    if (p.draw)
        fprintf(stderr, "imported %s\n", ref);
    free(ref);
    return 0;
}

/* ---------------------------------------------------------------- ls, inspect, rm, prune */

static void print_table(const char *json)
{
    json_t *arr = json_loads(json, 0, NULL);
    size_t i, w = 4;
    json_t *img;
    json_array_foreach(arr, i, img)
    {
        size_t n = strlen(json_string_value(json_object_get(img, "name")) ?: "");
        w = n > w ? n : w;
    }
    printf("%-*s  %-12s  %10s  %s\n", (int)w, "NAME", "DIGEST", "SIZE", "CREATED");
    json_array_foreach(arr, i, img)
    {
        const char *name = json_string_value(json_object_get(img, "name"));
        const char *digest = json_string_value(json_object_get(img, "digest"));
        const char *created = json_string_value(json_object_get(img, "created"));
        char size[32], when[20] = "-";
        human_size((uint64_t)json_integer_value(json_object_get(img, "size")), size, sizeof(size));
        if (created && strlen(created) >= 16) /* 2024-01-02T03:04:05Z -> 2024-01-02 03:04 */
            snprintf(when, sizeof(when), "%.10s %.5s", created, created + 11);
        printf("%-*s  %-12.12s  %10s  %s\n", (int)w, name ?: "?",
               digest && strlen(digest) > 7 ? digest + 7 : "?", size, when);
    }
    json_decref(arr);
}

static void print_prune(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    char size[32];
    human_size((uint64_t)json_integer_value(json_object_get(o, "bytes_freed")), size, sizeof(size));
    printf("removed %zu layers, %zu blobs; %s freed\n",
           json_array_size(json_object_get(o, "layers")),
           json_array_size(json_object_get(o, "blobs")), size);
    json_decref(o);
}

static int image_query(struct hutch_ctx *ctx, int argc, char **argv)
{
    const char *verb = argv[0];
    bool json = argc == 2 && !strcmp(argv[1], "--json");
    bool is_ls = !strcmp(verb, "ls") || !strcmp(verb, "list");
    if ((is_ls || !strcmp(verb, "prune")) && argc > 1 && !json)
        return cli_usage_error("image %s: unexpected argument '%s'", verb, argv[1]);
    if (!strcmp(verb, "inspect") && argc != 2)
        return cli_usage_error("image inspect: give exactly one image%s",
                               argc > 2 ? " (unexpected extra argument)" : "");
    struct hutch_error *err = NULL;
    char *out = NULL;
    int r = is_ls                    ? hutch_image_list(ctx, &out, &err)
            : !strcmp(verb, "prune") ? hutch_image_prune(ctx, &out, &err)
                                     : hutch_image_inspect(ctx, argv[1], &out, &err);
    if (r < 0)
        return cli_fail(err);
    if (json || !strcmp(verb, "inspect"))
        puts(out);
    else if (is_ls)
        print_table(out);
    else
        print_prune(out);
    free(out);
    return 0;
}

static int image_rm(struct hutch_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("image rm: give at least one image");
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct hutch_error *err = NULL;
        if (hutch_image_remove(ctx, argv[i], &err) < 0)
            status = cli_fail(err);
    }
    return status;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(IMAGE_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? HUTCH_EXIT_INTERNAL : 0;
    }
    const char *verb = argv[1];
    int (*fn)(struct hutch_ctx *, int, char **) = NULL;
    if (!strcmp(verb, "import"))
        fn = image_import;
    else if (!strcmp(verb, "ls") || !strcmp(verb, "list") || !strcmp(verb, "inspect") ||
             !strcmp(verb, "prune"))
        fn = image_query;
    else if (!strcmp(verb, "rm") || !strcmp(verb, "remove"))
        fn = image_rm;
    else
        return cli_usage_error("image: unknown subcommand '%s' (import, ls, inspect, rm, prune)",
                               verb);
    struct hutch_ctx *ctx;
    int r = cli_ctx(&ctx);
    if (r < 0)
        return -r;
    r = fn(ctx, argc - 1, argv + 1);
    hutch_ctx_free(ctx);
    return r;
}
