/* mpscan.h - a structural scan of raw msgpack bytes that allocates nothing:
 * it rejects truncated or invalid msgpack, nesting beyond MPSCAN_MAX_DEPTH
 * (naming the path, e.g. "body.readings[3].value") and containers that
 * declare more elements than there are bytes left.
 *
 * Run it on any untrusted bytes before msgpack_unpack*(): msgpack-c
 * allocates a container's declared size up front, so five hostile bytes
 * can otherwise ask it for 256 GB. The envelope codec, the control socket
 * and the stream wire all do. Nothing here asserts on input. */
#ifndef AIRGUARD_MPSCAN_H
#define AIRGUARD_MPSCAN_H

#include <stddef.h>

#include "err.h"

#define MPSCAN_MAX_DEPTH 8 /* an outermost container is depth 1 */

/* Why a scan failed. */
typedef enum mpscan_status {
    MPSCAN_OK = 0,
    MPSCAN_E_MALFORMED, /* not msgpack, truncated, or a count larger than the bytes left */
    MPSCAN_E_TOO_DEEP,  /* nesting beyond MPSCAN_MAX_DEPTH */
} mpscan_status_t;

/* Walks one msgpack object at buf without allocating. base_depth is the
 * nesting level of whatever contains the object (0 for a top-level object,
 * 1 for an envelope's body). label (not NULL, may be "") prefixes messages,
 * root (may be NULL) prefixes depth paths. On success *used is the
 * object's length, which may be less than len: trailing bytes are the
 * caller's to judge. On failure err says why. A too-deep object is still
 * walked to its end: MPSCAN_E_MALFORMED wins over MPSCAN_E_TOO_DEEP
 * wherever the bad bytes are, and with MPSCAN_E_TOO_DEEP *used is set too,
 * so a caller can put trailing bytes before the depth as well. */
mpscan_status_t mpscan_object(const char *buf, size_t len, int base_depth, const char *root,
                              const char *label, size_t *used, err_t *err);

/* Checks that buf holds exactly one msgpack object nested at most
 * MPSCAN_MAX_DEPTH deep whose declared lengths fit in buf. Returns 0, or
 * -1 with err: not msgpack, truncated or trailing bytes before too deep. */
int mpscan_check(const char *buf, size_t len, err_t *err);

#endif
