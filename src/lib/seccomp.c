/* SPDX-License-Identifier: MIT */
/*
 * Seccomp: resolve a profile, compile it once with libseccomp into a raw BPF program, cache the
 * program (in the context and under ROOT/cache/seccomp/), and load it in the child.
 * A start with a cached profile reads the profile, hashes it and loads the stored program:
 * libseccomp's compiler (milliseconds) never runs on that path.
 */
#include "seccomp.h"

/* SHA256_* are deprecated in OpenSSL 3 but kept: see seccomp_sha256_hex */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <openssl/sha.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ctx.h"
#include "seccomp_profile.h"
#include "util.h"

/* Bump when the compiled program for the same inputs changes (key and file layout). */
#define SECCOMP_CACHE_FORMAT 1
#define SECCOMP_CACHE_MAGIC  "HUTCHBPF"
#define PROFILE_MAX_BYTES    (4u << 20)
#define X32_SYSCALL_BIT      0x40000000u
#define SHA256_HEX_LEN       64

struct seccomp_cache_entry {
    char key[SHA256_HEX_LEN + 1];
    struct seccomp_prog prog;
};

struct seccomp_cache {
    struct seccomp_cache_entry **entries; /* pointers: a returned prog never moves */
    size_t n;
};

/* On-disk layout: this header, then len struct sock_filter. */
struct seccomp_cache_header {
    char magic[8];
    uint32_t format;
    uint32_t flags;
    uint32_t len;
    uint32_t reserved;
    char key[SHA256_HEX_LEN]; /* the file's own key: a misnamed file is never used */
    char sum[SHA256_HEX_LEN]; /* sha256 of format..reserved + the instructions: a torn or
                                 damaged file is never used */
};
#define HEADER_SUMMED                                                                              \
    (offsetof(struct seccomp_cache_header, key) - offsetof(struct seccomp_cache_header, format))

static void prog_clear(struct seccomp_prog *prog)
{
    free(prog->filter);
    free(prog->profile);
    *prog = (struct seccomp_prog){0};
}

void seccomp_cache_free(struct seccomp_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < cache->n; i++) {
        prog_clear(&cache->entries[i]->prog);
        free(cache->entries[i]);
    }
    free(cache->entries);
    free(cache);
}

/* ---------------------------------------------------------------- profile and key */

static int seccomp_resolve_path(const struct hutch_ctx *ctx, const char *profile, char **path,
                                struct hutch_error **err)
{
    size_t n = strlen(profile);
    if (!strcmp(profile, "default") || !strcmp(profile, "strict")) {
        if (asprintf(path, "%s/seccomp/%s.json", ctx->policies_dir, profile) < 0)
            return hutch_err(err, ENOMEM, NULL, "seccomp", "out of memory");
        return 0;
    }
    if (strchr(profile, '/') || (n > 5 && !strcmp(profile + n - 5, ".json"))) {
        *path = strdup(profile);
        return *path ? 0 : hutch_err(err, ENOMEM, NULL, "seccomp", "out of memory");
    }
    return hutch_err(err, EINVAL, "resolve", "seccomp",
                     "unknown profile \"%s\" (expected default, strict, unconfined or the path of "
                     "a JSON profile)",
                     profile);
}

static void seccomp_env(uint64_t caps, struct seccomp_profile_env *env)
{
    struct utsname u;
    *env = (struct seccomp_profile_env){.caps = caps, .arch = seccomp_arch_native()};
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &env->kernel_major, &env->kernel_minor) != 2)
        env->kernel_major = env->kernel_minor = 0;
}

/*
 * sha256 of a then b, as 64 hex characters. OpenSSL's low-level SHA256_* and not EVP: the
 * first EVP digest of a process costs 0.5-0.9 ms here (config and provider loading, measured),
 * ten times the whole cached path, and every `hutch run` is a fresh process.
 */
static void seccomp_sha256_hex(const void *a, size_t alen, const void *b, size_t blen,
                               char hex[SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, a, alen);
    SHA256_Update(&c, b, blen);
    SHA256_Final(md, &c);
    for (size_t i = 0; i < sizeof(md); i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[SHA256_HEX_LEN] = '\0';
}

/* Everything the compiled program depends on: the profile's bytes, the caps and arch it was
 * evaluated for, the kernel (minKernel), libseccomp's version and our format. */
static void seccomp_key(const char *text, size_t len, const struct seccomp_profile_env *env,
                        char key[SHA256_HEX_LEN + 1])
{
    static const struct scmp_version none;
    const struct scmp_version *v = seccomp_version() ?: &none;
    char head[160];
    int n = snprintf(head, sizeof(head), "hutch-seccomp/%d %08x %016llx %u.%u %u.%u.%u\n",
                     SECCOMP_CACHE_FORMAT, env->arch, (unsigned long long)env->caps,
                     env->kernel_major, env->kernel_minor, v->major, v->minor, v->micro);
    seccomp_sha256_hex(head, (size_t)n, text, len, key);
}

/* ---------------------------------------------------------------- compile */

static bool args_repeat_index(const struct seccomp_entry *e)
{
    unsigned seen = 0;
    for (size_t i = 0; i < e->nargs; i++) {
        if (seen & (1u << e->args[i].index))
            return true;
        seen |= 1u << e->args[i].index;
    }
    return false;
}

/* libseccomp refuses two conditions on one argument in a rule; like runc, such an entry
 * becomes one rule per condition (any of them matches). */
static int seccomp_add_entry(scmp_filter_ctx sc, const struct seccomp_profile *p,
                             const struct seccomp_entry *e, struct hutch_error **err)
{
    struct scmp_arg_cmp conds[64];
    size_t n = e->nargs < ARRAY_SIZE(conds) ? e->nargs : ARRAY_SIZE(conds);
    for (size_t i = 0; i < n; i++)
        conds[i] = (struct scmp_arg_cmp){.arg = e->args[i].index,
                                         .op = e->args[i].op,
                                         .datum_a = e->args[i].value,
                                         .datum_b = e->args[i].value_two};
    bool split = args_repeat_index(e);
    for (size_t j = 0; j < e->nnames; j++) {
        int r = 0;
        if (!split)
            r = seccomp_rule_add_array(sc, e->action, e->nrs[j], (unsigned)n, conds);
        for (size_t i = 0; split && r == 0 && i < n; i++)
            r = seccomp_rule_add_array(sc, e->action, e->nrs[j], 1, &conds[i]);
        if (r < 0) {
            char f[64];
            snprintf(f, sizeof(f), "syscalls[%u].names[%zu]", e->index, j);
            return seccomp_profile_err(p, err, r, f, "libseccomp refused the rule for \"%s\": %s",
                                       e->names[j], strerror(-r));
        }
    }
    return 0;
}

static int seccomp_filter_setup(scmp_filter_ctx sc, const struct seccomp_profile *p)
{
    /* hutch sets no_new_privs itself, before this filter, in the child. Calls from an arch or
     * ABI the profile does not list (i386 int 0x80, x32) kill the process: a workload of
     * another ABI fails loudly at its first syscall instead of half-working. */
    int r = seccomp_attr_set(sc, SCMP_FLTATR_CTL_NNP, 0);
    r = r ?: seccomp_attr_set(sc, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary tree over syscall numbers: O(log n) per syscall instead of a linear scan. */
    r = r ?: seccomp_attr_set(sc, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    uint32_t native = seccomp_arch_native();
    if (r == 0 && p->arches[0] != native) {
        r = seccomp_arch_add(sc, p->arches[0]);
        r = r ?: seccomp_arch_remove(sc, native);
    }
    for (size_t i = 1; r == 0 && i < p->narches; i++)
        r = seccomp_arch_add(sc, p->arches[i]);
    return r;
}

/* Export the BPF through a memfd (libseccomp 2.5 only writes to an fd). */
static int seccomp_export(scmp_filter_ctx sc, struct seccomp_prog *prog)
{
    _cleanup_close_ int fd = memfd_create("hutch-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = seccomp_export_bpf(sc, fd);
    if (r < 0)
        return r;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0)
        return -EIO;
    prog->filter = malloc((size_t)st.st_size);
    if (!prog->filter)
        return -ENOMEM;
    if (pread(fd, prog->filter, (size_t)st.st_size, 0) != st.st_size)
        return -EIO;
    prog->len = (size_t)st.st_size / sizeof(struct sock_filter);
    return 0;
}

/*
 * Syscalls newer than any the profile names get ENOSYS rather than the default errno (what
 * runc does for Docker): a libc that tries a new syscall first (fchmodat2, a future clone4)
 * then falls back to the old one, where EPERM would be an error. Native arch only; x32 and
 * the other arches go on to libseccomp's program, which refuses them.
 */
static int seccomp_add_enosys_stub(const struct seccomp_profile *p, struct seccomp_prog *prog)
{
    if ((p->default_action & 0xffff0000u) != SCMP_ACT_ERRNO(0) || p->max_nr < 0)
        return 0;
    const struct sock_filter stub[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, p->arches[0], 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)p->max_nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    };
    size_t n = ARRAY_SIZE(stub) + prog->len;
    struct sock_filter *f = malloc(n * sizeof(*f));
    if (!f)
        return -ENOMEM;
    /* libseccomp's jumps are relative, so its program works unchanged after the prefix. */
    memcpy(f, stub, sizeof(stub));
    memcpy(f + ARRAY_SIZE(stub), prog->filter, prog->len * sizeof(*f));
    free(prog->filter);
    prog->filter = f;
    prog->len = n;
    return 0;
}

static int seccomp_compile(const struct seccomp_profile *p, struct seccomp_prog *prog,
                           struct hutch_error **err)
{
    scmp_filter_ctx sc = seccomp_init(p->default_action);
    if (!sc)
        return hutch_err(err, EINVAL, "seccomp_init", p->file,
                         "libseccomp cannot build a filter with this default action");
    int r = seccomp_filter_setup(sc, p);
    if (r < 0)
        r = hutch_err(err, r, "seccomp_attr_set", p->file, "cannot set up the filter: %s",
                      strerror(-r));
    for (size_t i = 0; r == 0 && i < p->nentries; i++)
        /* libseccomp refuses a rule that repeats the default action; it is a no-op anyway */
        if (p->entries[i].action != p->default_action)
            r = seccomp_add_entry(sc, p, &p->entries[i], err);
    if (r == 0 && (r = seccomp_export(sc, prog)) < 0)
        r = hutch_err(err, r, "seccomp_export_bpf", p->file, "cannot export the filter: %s",
                      strerror(-r));
    seccomp_release(sc);
    if (r == 0 && (r = seccomp_add_enosys_stub(p, prog)) < 0)
        r = hutch_err(err, r, NULL, p->file, "out of memory");
    if (r == 0 && prog->len > BPF_MAXINSNS)
        r = hutch_err(err, E2BIG, "compile", p->file,
                      "the filter has %zu instructions, more than the kernel's %d", prog->len,
                      BPF_MAXINSNS);
    if (r == 0)
        prog->flags = p->load_flags;
    return r;
}

/* ---------------------------------------------------------------- disk cache */

static char *cache_path(const struct hutch_ctx *ctx, const char *key, const char *suffix)
{
    char *path = NULL;
    if (asprintf(&path, "%s/cache/seccomp/%s.bpf%s", ctx->root, key, suffix) < 0)
        return NULL;
    return path;
}

/* 0: loaded; 1: no usable file (missing, short, corrupt, other key): compile instead. */
static int cache_load(const struct hutch_ctx *ctx, const char *key, struct seccomp_prog *prog)
{
    const size_t hsz = sizeof(struct seccomp_cache_header);
    _cleanup_free_ char *path = cache_path(ctx, key, "");
    _cleanup_free_ char *data = NULL;
    size_t size = 0;
    if (!path || read_file_at(AT_FDCWD, path, &data, &size,
                              hsz + BPF_MAXINSNS * sizeof(struct sock_filter)) < 0)
        return 1;
    struct seccomp_cache_header h;
    if (size < hsz)
        return 1;
    memcpy(&h, data, hsz);
    size_t body = (size_t)h.len * sizeof(struct sock_filter);
    char sum[SHA256_HEX_LEN + 1];
    if (memcmp(h.magic, SECCOMP_CACHE_MAGIC, sizeof(h.magic)) != 0 ||
        h.format != SECCOMP_CACHE_FORMAT || h.len == 0 || h.len > BPF_MAXINSNS ||
        size != hsz + body || memcmp(h.key, key, SHA256_HEX_LEN) != 0)
        return 1;
    seccomp_sha256_hex(&h.format, HEADER_SUMMED, data + hsz, body, sum);
    if (memcmp(h.sum, sum, SHA256_HEX_LEN) != 0)
        return 1;
    prog->filter = malloc(body);
    if (!prog->filter)
        return 1;
    memcpy(prog->filter, data + hsz, body);
    prog->len = h.len;
    prog->flags = h.flags;
    prog->compile_ns = 0;
    return 0;
}

/* Best effort: a cache that cannot be written costs a compile next time, nothing else. The
 * rename makes the file appear whole or not at all, also to a concurrent hutch. */
static void cache_store(const struct hutch_ctx *ctx, const char *key,
                        const struct seccomp_prog *prog)
{
    struct seccomp_cache_header h = {.magic = SECCOMP_CACHE_MAGIC,
                                     .format = SECCOMP_CACHE_FORMAT,
                                     .flags = prog->flags,
                                     .len = (uint32_t)prog->len};
    size_t body = prog->len * sizeof(struct sock_filter);
    char sum[SHA256_HEX_LEN + 1], rnd[17];
    memcpy(h.key, key, SHA256_HEX_LEN);
    if (random_hex(rnd, 8) < 0)
        return;
    seccomp_sha256_hex(&h.format, HEADER_SUMMED, prog->filter, body, sum);
    memcpy(h.sum, sum, SHA256_HEX_LEN);
    _cleanup_free_ char *dir = NULL;
    _cleanup_free_ char *path = cache_path(ctx, key, "");
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&dir, "%s/cache/seccomp", ctx->root) < 0 || !path ||
        asprintf(&tmp, "%s.tmp-%s", path, rnd) < 0 || mkdir_p(dir, 0700) < 0)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    int r = write_all(fd, &h, sizeof(h));
    r = r ?: write_all(fd, prog->filter, body);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0 || rename(tmp, path) < 0)
        unlink(tmp);
}

/* ---------------------------------------------------------------- prepare / load */

static struct seccomp_cache_entry *cache_find(struct seccomp_cache *cache, const char *key)
{
    for (size_t i = 0; i < cache->n; i++)
        if (!strcmp(cache->entries[i]->key, key))
            return cache->entries[i];
    return NULL;
}

static int cache_add(struct seccomp_cache *cache, struct seccomp_cache_entry *e)
{
    struct seccomp_cache_entry **v = realloc(cache->entries, (cache->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    cache->entries = v;
    cache->entries[cache->n++] = e;
    return 0;
}

/* Parse and compile text (a cache miss), timing both. */
static int seccomp_build(const char *text, size_t len, const char *path,
                         const struct seccomp_profile_env *env, struct seccomp_prog *prog,
                         struct hutch_error **err)
{
    uint64_t t0 = now_mono_ns();
    struct seccomp_profile *p = NULL;
    int r = seccomp_profile_parse(text, len, path, env, &p, err);
    if (r == 0)
        r = seccomp_compile(p, prog, err);
    seccomp_profile_free(p);
    prog->compile_ns = now_mono_ns() - t0 ?: 1;
    return r;
}

int seccomp_prepare(struct hutch_ctx *ctx, const char *profile, uint64_t caps,
                    const struct seccomp_prog **out, struct hutch_error **err)
{
    *out = NULL;
    if (!profile)
        profile = "default";
    if (!strcmp(profile, "unconfined"))
        return 0;
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = seccomp_resolve_path(ctx, profile, &path, err);
    if (r < 0)
        return r;
    if ((r = read_file_at(AT_FDCWD, path, &text, &len, PROFILE_MAX_BYTES)) < 0)
        return hutch_err(err, r, "open", path, "cannot read seccomp profile: %s", strerror(-r));
    struct seccomp_profile_env env;
    char key[SHA256_HEX_LEN + 1];
    seccomp_env(caps, &env);
    seccomp_key(text, len, &env, key);
    if (!ctx->seccomp && !(ctx->seccomp = calloc(1, sizeof(*ctx->seccomp))))
        return hutch_err(err, ENOMEM, NULL, "seccomp", "out of memory");
    struct seccomp_cache_entry *e = cache_find(ctx->seccomp, key);
    if (e) {
        *out = &e->prog;
        return 0;
    }
    if (!(e = calloc(1, sizeof(*e))) || !(e->prog.profile = strdup(profile))) {
        free(e);
        return hutch_err(err, ENOMEM, NULL, "seccomp", "out of memory");
    }
    memcpy(e->key, key, sizeof(key));
    if (cache_load(ctx, key, &e->prog) != 0) {
        r = seccomp_build(text, len, path, &env, &e->prog, err);
        if (r == 0)
            cache_store(ctx, key, &e->prog);
    }
    if (r == 0 && cache_add(ctx->seccomp, e) < 0)
        r = hutch_err(err, ENOMEM, NULL, "seccomp", "out of memory");
    if (r < 0) {
        prog_clear(&e->prog);
        free(e);
        return r;
    }
    *out = &e->prog;
    return 0;
}

int seccomp_load_prog(const struct seccomp_prog *prog)
{
    if (!prog)
        return 0;
    struct sock_fprog fprog = {.len = (unsigned short)prog->len,
                               .filter = (struct sock_filter *)prog->filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags, &fprog) != 0)
        return -errno;
    return 0;
}
