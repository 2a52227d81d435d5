/* SPDX-License-Identifier: MIT */
/*
 * textgen BYTES - writes BYTES bytes of printable text lines to stdout in 128 KiB writes.
 * The output benchmark's workload: busybox `yes | head -c` tops out near 0.2 GB/s here, which
 * would measure busybox instead of hutch's output path. Built static: it runs in the sandbox.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (128 * 1024)

int main(int argc, char **argv)
{
    static char buf[CHUNK];
    static const char line[] = "hutch bench output: the quick brown fox jumps over the lazy dog\n";
    if (argc != 2)
        return 2;
    unsigned long long left = strtoull(argv[1], NULL, 0);
    for (size_t i = 0; i < CHUNK; i++)
        buf[i] = line[i % (sizeof(line) - 1)];
    while (left > 0) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t w = write(STDOUT_FILENO, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 1;
        left -= (unsigned long long)w;
    }
    return 0;
}
