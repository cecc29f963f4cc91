/* curvekey.h - CURVE keys as text: a key is 32 bytes written as 40 Z85
 * characters (ZeroMQ's RFC 32), and a key file holds one such key. The
 * services read their secret key and their peers' public keys this way,
 * and so does the CLI; `airguard keygen` writes the files.
 *
 * Key file format (docs/protocol.md says the same): text lines; empty
 * lines and lines whose first non-blank character is '#' are skipped; the
 * first other line holds the key, its first blank-separated word exactly
 * 40 Z85 characters. A secret key file readable by group or others is
 * refused. */
#ifndef AIRGUARD_CURVEKEY_H
#define AIRGUARD_CURVEKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define CURVEKEY_BYTES 32 /* a key, binary */
#define CURVEKEY_Z85 40   /* a key, as Z85 text (without the NUL) */

/* Parses a 40-character Z85 key (NUL-terminated) into key. Returns 0, or
 * -1 with err. */
int curvekey_parse(const char *z85, uint8_t key[CURVEKEY_BYTES], err_t *err);

/* Reads the key file at path into key. secret: the file holds a secret
 * key, and is refused when group or others may read it. Returns 0, or -1
 * with err naming the file. */
int curvekey_read(const char *path, bool secret, uint8_t key[CURVEKEY_BYTES], err_t *err);

#endif
