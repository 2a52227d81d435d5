/* SPDX-License-Identifier: MIT */
#include "ipam.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* ---------------------------------------------------------------- pure */

static int parse_octets(const char *s, const char **end, uint32_t *out)
{
    uint32_t a = 0;
    for (int i = 0; i < 4; i++) {
        if (i && *s++ != '.')
            return -EINVAL;
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned v = 0;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            v = v * 10 + (unsigned)(*s - '0');
            if (digits > 2 || v > 255)
                return -EINVAL;
        }
        a = a << 8 | v;
    }
    *end = s;
    *out = a;
    return 0;
}

int ipam_parse_addr(const char *s, uint32_t *out)
{
    const char *end;
    return parse_octets(s, &end, out) < 0 || *end ? -EINVAL : 0;
}

static uint32_t prefix_mask(unsigned prefix)
{
    return prefix ? ~0U << (32 - prefix) : 0;
}

int ipam_parse_cidr(const char *s, struct ipam_subnet *out)
{
    uint32_t a;
    const char *p;
    if (parse_octets(s, &p, &a) < 0 || *p++ != '/' || *p < '0' || *p > '9')
        return -EINVAL;
    unsigned prefix = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((prefix = prefix * 10 + (unsigned)(*p - '0')) > 32)
            return -EINVAL;
    /* /31 and /32 leave no host address next to a gateway; below /8 is surely a typo */
    if (*p || prefix < 8 || prefix > 30 || (a & ~prefix_mask(prefix)))
        return -EINVAL;
    out->net = a;
    out->prefix = prefix;
    return 0;
}

void ipam_format_addr(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

uint32_t ipam_gateway(const struct ipam_subnet *s)
{
    return s->net + 1;
}

uint32_t ipam_capacity(const struct ipam_subnet *s, bool gateway)
{
    uint32_t size = (uint32_t)1 << (32 - s->prefix);
    return size - 2 - (gateway ? 1 : 0);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int ipam_alloc(const struct ipam_subnet *s, bool gateway, const struct ipam_table *t,
               uint32_t *out)
{
    uint32_t first = s->net + 1 + (gateway ? 1 : 0);
    uint32_t last = s->net + ((uint32_t)1 << (32 - s->prefix)) - 2; /* before broadcast */
    _cleanup_free_ uint32_t *used = t->n ? calloc(t->n, sizeof(*used)) : NULL;
    if (t->n && !used)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->leases[i].addr >= first && t->leases[i].addr <= last)
            used[n++] = t->leases[i].addr;
    if (n)
        qsort(used, n, sizeof(*used), cmp_u32);
    /* the lowest gap: leases are few and sorted, so one pass */
    uint32_t a = first;
    for (size_t i = 0; i < n && used[i] <= a; i++)
        if (used[i] == a)
            a++;
    if (a > last || a < first)
        return -ENOSPC;
    *out = a;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int ipam_conf_parse(const char *text, struct ipam_conf *conf, char *what, size_t whatsz)
{
    memset(conf, 0, sizeof(*conf));
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    unsigned lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        int r = -EINVAL;
        if (eq) {
            *eq = '\0';
            char *k = trim(l), *v = trim(eq + 1);
            uint64_t mtu;
            if (!strcmp(k, "subnet"))
                r = ipam_parse_cidr(v, &conf->subnet), conf->has_subnet = true;
            else if (!strcmp(k, "mtu") && parse_u64(v, &mtu) == 0 && mtu >= 576 && mtu <= 65535)
                r = 0, conf->mtu = (unsigned)mtu;
        }
        if (r < 0) {
            snprintf(what, whatsz, "line %u: expected subnet=A.B.C.D/8..30 or mtu=576..65535",
                     lineno);
            return -EINVAL;
        }
    }
    return 0;
}

static int table_reserve(struct ipam_table *t)
{
    if (t->n < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 8;
    struct ipam_lease *l = realloc(t->leases, cap * sizeof(*l));
    if (!l)
        return -ENOMEM;
    t->leases = l;
    t->cap = cap;
    return 0;
}

int ipam_table_add(struct ipam_table *t, uint32_t addr, const char *id, const char *host,
                   bool nat)
{
    if (strlen(id) > IPAM_ID_MAX || strlen(host) > IPAM_HOST_MAX)
        return -EINVAL;
    if (table_reserve(t) < 0)
        return -ENOMEM;
    struct ipam_lease *l = &t->leases[t->n++];
    memset(l, 0, sizeof(*l));
    l->addr = addr;
    strcpy(l->id, id);
    strcpy(l->host, host);
    l->nat = nat;
    l->hold_fd = -1;
    return 0;
}

/* ids and hostnames are [A-Za-z0-9._-]: anything else means a torn or foreign line */
static bool plain_word(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* "hold=PID:FD" */
static bool parse_hold(const char *s, int *pid, int *fd)
{
    uint64_t p, f;
    const char *colon = strchr(s, ':');
    if (strncmp(s, "hold=", 5) != 0 || !colon || colon - s > 16)
        return false;
    char num[17];
    snprintf(num, sizeof(num), "%.*s", (int)(colon - s - 5), s + 5);
    if (parse_u64(num, &p) < 0 || parse_u64(colon + 1, &f) < 0 || !p || p > INT32_MAX ||
        f > INT32_MAX)
        return false;
    *pid = (int)p;
    *fd = (int)f;
    return true;
}

static int parse_lease(struct ipam_table *t, char *rest)
{
    char *save = NULL;
    char *addr = strtok_r(rest, " \t", &save), *id = strtok_r(NULL, " \t", &save);
    char *host = strtok_r(NULL, " \t", &save);
    uint32_t a;
    const char *end;
    if (!addr || parse_octets(addr, &end, &a) < 0 || *end || !id ||
        !plain_word(id, IPAM_ID_MAX) || !host || !plain_word(host, IPAM_HOST_MAX))
        return 0;
    bool nat = false;
    int pid = 0, fd = -1;
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        if (!strcmp(w, "nat"))
            nat = true;
        else if (!parse_hold(w, &pid, &fd))
            return 0;
    }
    int r = ipam_table_add(t, a, id, host, nat);
    if (!r) {
        t->leases[t->n - 1].hold_pid = pid;
        t->leases[t->n - 1].hold_fd = fd;
    }
    return r;
}

int ipam_table_parse(const char *text, struct ipam_table *t)
{
    memset(t, 0, sizeof(*t));
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        uint64_t v;
        int r = 0;
        if (!strncmp(l, "lease ", 6))
            r = parse_lease(t, l + 6);
        else if (!strncmp(l, "ifindex ", 8) && parse_u64(l + 8, &v) == 0 && v < (1U << 31))
            t->ifindex = (unsigned)v;
        else if (!strcmp(l, "nat 1"))
            t->nat_table = true;
        else if (!strncmp(l, "netns ", 6) && parse_u64(l + 6, &v) == 0)
            t->netns_ino = v;
        if (r < 0) {
            ipam_table_free(t);
            return r;
        }
    }
    return 0;
}

int ipam_table_format(const struct ipam_table *t, struct buf *out)
{
    int r = buf_puts(out, "# hutch leases v1\n");
    if (!r && t->ifindex)
        r = buf_printf(out, "ifindex %u\n", t->ifindex);
    if (!r && t->netns_ino)
        r = buf_printf(out, "netns %llu\n", (unsigned long long)t->netns_ino);
    if (!r && t->nat_table)
        r = buf_puts(out, "nat 1\n");
    for (size_t i = 0; !r && i < t->n; i++) {
        const struct ipam_lease *l = &t->leases[i];
        char a[16];
        ipam_format_addr(l->addr, a);
        r = buf_printf(out, "lease %s %s %s%s", a, l->id, l->host, l->nat ? " nat" : "");
        if (!r && l->hold_pid > 0 && l->hold_fd >= 0)
            r = buf_printf(out, " hold=%d:%d", l->hold_pid, l->hold_fd);
        r = r ?: buf_puts(out, "\n");
    }
    return r;
}

bool ipam_table_remove(struct ipam_table *t, const char *id)
{
    bool found = false;
    for (size_t i = 0; i < t->n;) {
        if (!strcmp(t->leases[i].id, id)) {
            memmove(&t->leases[i], &t->leases[i + 1], (t->n - i - 1) * sizeof(t->leases[0]));
            t->n--;
            found = true;
        } else {
            i++;
        }
    }
    return found;
}

const struct ipam_lease *ipam_table_find(const struct ipam_table *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->leases[i].id, id))
            return &t->leases[i];
    return NULL;
}

bool ipam_table_any_nat(const struct ipam_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->leases[i].nat)
            return true;
    return false;
}

void ipam_table_free(struct ipam_table *t)
{
    free(t->leases);
    memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- the lease file */

int ipam_lock(const char *dir, const char *network)
{
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return r;
    char p[4096];
    if (snprintf(p, sizeof(p), "%s/%s.lock", dir, network) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            r = -errno;
            close(fd);
            return r;
        }
    }
    return fd;
}

int ipam_load(const char *dir, const char *network, struct ipam_table *t)
{
    char p[4096];
    if (snprintf(p, sizeof(p), "%s/%s.leases", dir, network) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(AT_FDCWD, p, &text, NULL, 64 << 20);
    if (r == -ENOENT) {
        memset(t, 0, sizeof(*t));
        return 0;
    }
    return r < 0 ? r : ipam_table_parse(text, t);
}

int ipam_store(const char *dir, const char *network, const struct ipam_table *t)
{
    char p[4096], tmp[4200];
    if (snprintf(p, sizeof(p), "%s/%s.leases", dir, network) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    if (t->n == 0 && !t->nat_table)
        return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    struct buf b = {0};
    int r = ipam_table_format(t, &b);
    int fd = r < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!r && fd < 0)
        r = -errno;
    if (!r)
        r = write_all(fd, b.data, b.len);
    if (fd >= 0)
        close(fd);
    /* rename keeps the file whole for a reader that does not take the lock (ps, debugging) */
    if (!r && rename(tmp, p) < 0)
        r = -errno;
    if (r < 0 && fd >= 0)
        unlink(tmp);
    buf_free(&b);
    return r;
}
