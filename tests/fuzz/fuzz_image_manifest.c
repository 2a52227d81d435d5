/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the image document parsers (src/lib/image.c): the first byte picks
 * the parser (index + platform/tag selection, manifest, config, docker manifest.json,
 * reference normalization + file name round trip), the rest is the document.
 */
#include "image.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_index(const char *text, size_t len, uint8_t sel)
{
    static const char *const platforms[] = {NULL, "linux/arm64", "linux/arm/v7", "x"};
    struct image_index *idx = NULL;
    struct hutch_error *err = NULL;
    if (image_parse_index(text, len, "fuzz", &idx, &err) == 0) {
        size_t i;
        if (image_index_select(idx, platforms[(sel >> 3) & 3], (sel & 0x20) ? "v1" : NULL, &i,
                               &err) == 0 &&
            i >= idx->n)
            abort();
        image_index_free(idx);
    }
    hutch_error_free(err);
}

static void run_ref(const char *text, size_t len)
{
    char *s = strndup(text, len), *norm = NULL, *file = NULL, *back = NULL;
    if (s && image_ref_normalize(s, &norm) == 0) {
        if (image_ref_filename(norm, &file) == 0 && image_ref_from_filename(file, &back) == 0 &&
            strcmp(back, norm) != 0)
            abort(); /* the round trip must be exact */
        if (file && (strchr(file, '/') || file[0] == '.'))
            abort(); /* a file name must stay inside images/ */
    }
    free(s);
    free(norm);
    free(file);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct hutch_error *err = NULL;
    switch (sel & 7) {
    case 0:
        run_index(text, len, sel);
        break;
    case 1: {
        struct image_manifest *m = NULL;
        if (image_parse_manifest(text, len, "fuzz", &m, &err) == 0) {
            char *json = NULL;
            if (image_manifest_build(&m->config, m->layers, m->nlayers, &json) == 0) {
                struct image_manifest *m2 = NULL;
                /* what hutch writes, hutch reads back */
                if (image_parse_manifest(json, strlen(json), "rebuilt", &m2, &err) != 0)
                    abort();
                image_manifest_free(m2);
            }
            free(json);
            image_manifest_free(m);
        }
        break;
    }
    case 2: {
        struct image_config *c = NULL;
        if (image_parse_config(text, len, "fuzz", &c, &err) == 0)
            image_config_free(c);
        break;
    }
    case 3: {
        struct docker_manifest *dm = NULL;
        if (image_parse_docker_manifest(text, len, "fuzz", &dm, &err) == 0)
            docker_manifest_free(dm);
        break;
    }
    default:
        run_ref(text, len);
        break;
    }
    hutch_error_free(err);
    return 0;
}
