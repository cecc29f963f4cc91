/* curvekey.c - CURVE key files and Z85 key text (see include/curvekey.h).
 * Secret keys come from files mounted at run time (a Docker/Kubernetes
 * secret, a file made by `airguard keygen`), never from the repository or
 * the configuration file itself. */
#include "curvekey.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

int curvekey_parse(const char *z85, uint8_t key[32], err_t *err)
{
    if (strlen(z85) != 40 || !zmq_z85_decode(key, z85)) {
        err_set(err, "not a 40-character Z85 CURVE key");
        return -1;
    }
    return 0;
}

int curvekey_read(const char *path, bool secret, uint8_t key[32], err_t *err)
{
    int rc = -1;
    char line[256];
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* A secret others can read is no secret: say so rather than use it. */
    if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        err_set(err, "%s: secret key file is readable by group or others (chmod 600 it)", path);
        goto out;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        p[strcspn(p, " \t")] = '\0';
        if (curvekey_parse(p, key, err) != 0) {
            err_set(err, "%s: not a 40-character Z85 CURVE key", path);
            goto out;
        }
        rc = 0;
        goto out;
    }
    err_set(err, "%s: no key in the file", path);
out:
    explicit_bzero(line, sizeof line); /* it held the key's text */
    if (f)
        fclose(f);
    return rc;
}
