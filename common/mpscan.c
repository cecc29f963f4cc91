/* mpscan.c - the allocation-free structural scan of raw msgpack (see
 * include/mpscan.h). msgpack-c allocates n * sizeof(object) for a declared
 * count n before reading any element, so without this pass a 5-byte input
 * (0xdf ff ff ff ff) asks for ~200 GB. */
#include "mpscan.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

enum { K_SCALAR, K_ARRAY, K_MAP };

/* Layout of the type bytes 0xc0..0xdf: lenbytes big-endian length/count
 * bytes follow the type byte, then fixed bytes (ext type, numbers), then
 * for str/bin/ext the length's worth of payload. */
typedef struct scan_format {
    unsigned char lenbytes, fixed, kind;
    bool is_str, valid;
} scan_format_t;

static const scan_format_t s_formats[32] = {
    /* c0 nil, c1 never used, c2 false, c3 true */
    {0, 0, K_SCALAR, false, true},
    {0, 0, K_SCALAR, false, false},
    {0, 0, K_SCALAR, false, true},
    {0, 0, K_SCALAR, false, true},
    /* c4..c6 bin 8/16/32 */
    {1, 0, K_SCALAR, false, true},
    {2, 0, K_SCALAR, false, true},
    {4, 0, K_SCALAR, false, true},
    /* c7..c9 ext 8/16/32: length, then the type byte */
    {1, 1, K_SCALAR, false, true},
    {2, 1, K_SCALAR, false, true},
    {4, 1, K_SCALAR, false, true},
    /* ca float32, cb float64 */
    {0, 4, K_SCALAR, false, true},
    {0, 8, K_SCALAR, false, true},
    /* cc..cf uint 8/16/32/64 */
    {0, 1, K_SCALAR, false, true},
    {0, 2, K_SCALAR, false, true},
    {0, 4, K_SCALAR, false, true},
    {0, 8, K_SCALAR, false, true},
    /* d0..d3 int 8/16/32/64 */
    {0, 1, K_SCALAR, false, true},
    {0, 2, K_SCALAR, false, true},
    {0, 4, K_SCALAR, false, true},
    {0, 8, K_SCALAR, false, true},
    /* d4..d8 fixext 1/2/4/8/16, plus the type byte */
    {0, 2, K_SCALAR, false, true},
    {0, 3, K_SCALAR, false, true},
    {0, 5, K_SCALAR, false, true},
    {0, 9, K_SCALAR, false, true},
    {0, 17, K_SCALAR, false, true},
    /* d9..db str 8/16/32 */
    {1, 0, K_SCALAR, true, true},
    {2, 0, K_SCALAR, true, true},
    {4, 0, K_SCALAR, true, true},
    /* dc, dd array 16/32; de, df map 16/32 */
    {2, 0, K_ARRAY, false, true},
    {4, 0, K_ARRAY, false, true},
    {2, 0, K_MAP, false, true},
    {4, 0, K_MAP, false, true},
};

typedef struct scan_frame {
    uint64_t left;  /* elements still to read; a map pair counts as two */
    uint64_t index; /* elements read so far */
    bool is_map;
    bool key_is_str; /* for maps: whether the current key is a str */
    const char *key; /* for maps: the current key's bytes */
    uint32_t key_len;
} scan_frame_t;

static uint64_t s_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Names the position of the element being read in the innermost frame,
 * e.g. "body.readings[3].value". root (may be NULL) is prepended. */
static void s_scan_path(const scan_frame_t *st, int top, const char *root, char *path, size_t cap)
{
    path[0] = '\0';
    if (root)
        quote_append(path, cap, root);
    for (int i = 0; i < top; i++) {
        const scan_frame_t *f = &st[i];
        char piece[QUOTE_CAP + 32];
        if (!f->is_map) {
            snprintf(piece, sizeof piece, "[%" PRIu64 "]", f->index);
        } else {
            char q[QUOTE_CAP];
            if (f->index % 2 == 0)
                snprintf(q, sizeof q, "<key>");
            else if (f->key_is_str)
                quote_bytes(q, sizeof q, f->key, f->key_len);
            else
                snprintf(q, sizeof q, "<non-str key>");
            snprintf(piece, sizeof piece, "%s%s", path[0] ? "." : "", q);
        }
        quote_append(path, cap, piece);
    }
}

mpscan_status_t mpscan_object(const char *buf, size_t len, int base_depth, const char *root,
                              const char *label, size_t *used, err_t *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    scan_frame_t st[MPSCAN_MAX_DEPTH];
    int top = 0;
    size_t pos = 0;
    /* Past MPSCAN_MAX_DEPTH there is no frame to push: the rest of the
     * too-deep container is walked by count alone (elements still to read
     * in it, its nested ones included), so that a malformed byte anywhere
     * in the input is reported before the depth. */
    uint64_t skip = 0;
    bool too_deep = false;

    for (;;) {
        if (pos >= len) {
            err_set(err, "%struncated: input ends at offset %zu inside a value", label, pos);
            return MPSCAN_E_MALFORMED;
        }
        const unsigned char b = p[pos];
        int kind = K_SCALAR;
        bool is_str = false;
        size_t lenbytes = 0; /* big-endian length/count after the type byte */
        size_t fixed = 0;    /* fixed payload after those (ext type byte, numbers) */
        uint64_t n = 0;      /* payload length, or element count */

        if (b <= 0x7f || b >= 0xe0) {
            /* fixints */
        } else if (b <= 0x8f) {
            kind = K_MAP;
            n = b & 0x0fu;
        } else if (b <= 0x9f) {
            kind = K_ARRAY;
            n = b & 0x0fu;
        } else if (b <= 0xbf) {
            is_str = true;
            n = b & 0x1fu;
        } else {
            const scan_format_t *fmt = &s_formats[b - 0xc0];
            if (!fmt->valid) {
                err_set(err, "%snot valid msgpack: byte 0x%02x at offset %zu", label, b, pos);
                return MPSCAN_E_MALFORMED;
            }
            kind = fmt->kind;
            is_str = fmt->is_str;
            lenbytes = fmt->lenbytes;
            fixed = fmt->fixed;
        }

        const size_t avail = len - pos;
        if (avail < 1 + lenbytes) {
            err_set(err, "%struncated: input ends at offset %zu inside a header", label, len);
            return MPSCAN_E_MALFORMED;
        }
        if (lenbytes > 0)
            n = s_be(p + pos + 1, lenbytes);
        const size_t hdr = 1 + lenbytes;
        const bool in_skip = skip > 0;
        if (in_skip)
            skip--;

        /* A map key is recorded so a depth error can name the path. */
        if (!in_skip && top > 0 && st[top - 1].is_map && st[top - 1].index % 2 == 0) {
            st[top - 1].key_is_str = is_str;
            st[top - 1].key = is_str ? buf + pos + hdr : NULL;
            st[top - 1].key_len = is_str ? (uint32_t)n : 0;
        }

        if (kind == K_SCALAR) {
            /* n <= 2^32 and fixed <= 17: no overflow in 64 bits */
            uint64_t total = (uint64_t)hdr + fixed + n;
            if (total > avail) {
                err_set(err, "%struncated: value at offset %zu needs %" PRIu64 " bytes, %zu remain",
                        label, pos, total, avail);
                return MPSCAN_E_MALFORMED;
            }
            pos += (size_t)total;
        } else {
            uint64_t elems = kind == K_MAP ? 2 * n : n;
            /* every element takes at least one byte */
            if (elems > avail - hdr) {
                err_set(err,
                        "%struncated: %s at offset %zu declares %" PRIu64
                        " elements, %zu bytes remain",
                        label, kind == K_MAP ? "map" : "array", pos, elems, avail - hdr);
                return MPSCAN_E_MALFORMED;
            }
            if (in_skip) {
                skip += elems;
                pos += hdr;
            } else if (base_depth + top + 1 > MPSCAN_MAX_DEPTH) {
                if (!too_deep) { /* the first one in wire order is named */
                    char path[256];
                    s_scan_path(st, top, root, path, sizeof path);
                    if (path[0])
                        err_set(err, "%sfield '%s': nested deeper than %d levels", label, path,
                                MPSCAN_MAX_DEPTH);
                    else
                        err_set(err, "%snested deeper than %d levels", label, MPSCAN_MAX_DEPTH);
                    too_deep = true;
                }
                skip = elems;
                pos += hdr;
            } else {
                pos += hdr;
                if (elems > 0) {
                    st[top].left = elems;
                    st[top].index = 0;
                    st[top].is_map = kind == K_MAP;
                    st[top].key_is_str = false;
                    st[top].key = NULL;
                    st[top].key_len = 0;
                    top++;
                    continue;
                }
            }
        }

        if (skip > 0)
            continue;

        /* One element is complete: close every container it completes. */
        for (;;) {
            if (top == 0) {
                *used = pos;
                return too_deep ? MPSCAN_E_TOO_DEEP : MPSCAN_OK;
            }
            scan_frame_t *f = &st[top - 1];
            f->left--;
            f->index++;
            if (f->left > 0)
                break;
            top--;
        }
    }
}

int mpscan_check(const char *buf, size_t len, err_t *err)
{
    size_t used = 0;
    if (!buf || len == 0) {
        err_set(err, "truncated: empty input");
        return -1;
    }
    mpscan_status_t st = mpscan_object(buf, len, 0, NULL, "", &used, err);
    if (st == MPSCAN_E_MALFORMED)
        return -1;
    if (used < len) { /* before the depth: the whole structure first */
        err_set(err, "trailing bytes: %zu bytes after the object ends at offset %zu", len - used,
                used);
        return -1;
    }
    return st == MPSCAN_OK ? 0 : -1;
}
