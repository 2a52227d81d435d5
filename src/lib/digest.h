/* SPDX-License-Identifier: MIT */
/* SHA-256 content digests ("sha256:<64 hex>") over OpenSSL's EVP interface. Pure except
 * digest_fd, which reads a file descriptor. */
#ifndef HUTCH_DIGEST_H
#define HUTCH_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_HEX_LEN 64
#define DIGEST_PREFIX  "sha256:"
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_LEN (sizeof(DIGEST_PREFIX) - 1 + DIGEST_HEX_LEN + 1)

struct digest {
    void *md; /* SHA256_CTX */
    bool failed;
};

/* 0 or -ENOMEM. */
int digest_init(struct digest *d);
void digest_update(struct digest *d, const void *data, size_t len);
/* Finish into 64 lowercase hex chars + NUL; 0 or -EIO. The context may be reused after
 * digest_init again; digest_free releases it. */
int digest_final_hex(struct digest *d, char hex[DIGEST_HEX_LEN + 1]);
void digest_free(struct digest *d);

/* One-shot digest of a buffer; 0 or -ENOMEM/-EIO. */
int digest_buf(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1]);
/* Digest of everything readable from fd (from its current offset); *size gets the byte count. */
int digest_fd(int fd, char hex[DIGEST_HEX_LEN + 1], uint64_t *size);

/* 64 lowercase hex characters and nothing else. */
bool digest_hex_valid(const char *hex);
/* "sha256:<64 lowercase hex>" -> hex. -EINVAL for another form, -EOPNOTSUPP for another
 * algorithm ("sha512:..."), so callers can say which. */
int digest_parse(const char *s, char hex[DIGEST_HEX_LEN + 1]);

#endif
