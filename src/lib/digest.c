/* SPDX-License-Identifier: MIT */
/* SHA256_* are deprecated in OpenSSL 3 but kept: the first EVP digest of a process costs
 * 0.8-0.9 ms of config and provider loading, on every image start's blob check; these are the
 * same assembly without that set-up. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "digest.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int digest_init(struct digest *d)
{
    d->failed = false;
    if (!d->md)
        d->md = malloc(sizeof(SHA256_CTX));
    if (!d->md)
        return -ENOMEM;
    if (SHA256_Init(d->md) != 1)
        d->failed = true;
    return 0;
}

void digest_update(struct digest *d, const void *data, size_t len)
{
    if (len && SHA256_Update(d->md, data, len) != 1)
        d->failed = true;
}

int digest_final_hex(struct digest *d, char hex[DIGEST_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[SHA256_DIGEST_LENGTH];
    if (d->failed || SHA256_Final(raw, d->md) != 1)
        return -EIO;
    for (unsigned int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[DIGEST_HEX_LEN] = '\0';
    return 0;
}

void digest_free(struct digest *d)
{
    free(d->md);
    d->md = NULL;
}

int digest_buf(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1])
{
    struct digest d = {0};
    int r = digest_init(&d);
    if (r == 0) {
        digest_update(&d, data, len);
        r = digest_final_hex(&d, hex);
    }
    digest_free(&d);
    return r;
}

int digest_fd(int fd, char hex[DIGEST_HEX_LEN + 1], uint64_t *size)
{
    enum { CHUNK = 1 << 17 };
    struct digest d = {0};
    char *buf = malloc(CHUNK);
    int r = buf ? digest_init(&d) : -ENOMEM;
    uint64_t total = 0;
    while (r == 0) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = -errno;
        if (n <= 0)
            break;
        digest_update(&d, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (r == 0)
        r = digest_final_hex(&d, hex);
    if (r == 0 && size)
        *size = total;
    digest_free(&d);
    free(buf);
    return r;
}

bool digest_hex_valid(const char *hex)
{
    size_t i;
    for (i = 0; hex[i]; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return false;
    return i == DIGEST_HEX_LEN;
}

int digest_parse(const char *s, char hex[DIGEST_HEX_LEN + 1])
{
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon)
        return -EINVAL;
    if ((size_t)(colon - s) != strlen(DIGEST_PREFIX) - 1 || strncmp(s, DIGEST_PREFIX, 7) != 0)
        return -EOPNOTSUPP;
    if (!digest_hex_valid(colon + 1))
        return -EINVAL;
    memcpy(hex, colon + 1, DIGEST_HEX_LEN + 1);
    return 0;
}
