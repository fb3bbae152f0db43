/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_file.c: se_config_load_yaml: a configuration file read from disk
 * (a regular file only, never a FIFO's hang, at most 1 MiB) and handed to
 * the YAML loader. Kept apart so that the parsers (and their fuzz target)
 * link without the file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "config_int.h"
#include "logger.h"

#define FILE_BYTES_MAX (1u << 20) /* a config file */

/* Reads a whole file of at most FILE_BYTES_MAX. 0 or -errno. */
static int
read_file(const char *path, char **text, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = NULL;
    int32_t fd = -1;
    int rc = se__posix_open_regular(path, O_RDONLY, 0, &fd); /* never a FIFO's hang */
    if (rc < 0) return rc;
    for (;;) {
        if (n == cap || buf == NULL) {
            cap = buf == NULL ? cap : cap * 2;
            char *p = realloc(buf, cap);
            if (p == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = p;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = -errno;
        if (r <= 0) break;
        n += (size_t)r;
        if (n > FILE_BYTES_MAX) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

int
se_config_load_yaml(struct se_config *cfg, const char *path, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len);
    if (rc < 0) {
        struct sb b = se__msg_sb(&m);
        se__sb_puts(&b, path);
        se__sb_puts(&b, ": cannot read: ");
        char why[256];
        se__sb_puts(&b, rc == -EFBIG ? "larger than 1 MiB"
                                     : se__posix_open_error(path, rc, why, sizeof why));
        return rc;
    }
    se__msg_clear(&m);
    rc = se__config_yaml_load(cfg, path, text, len, &m);
    free(text);
    return rc;
}
