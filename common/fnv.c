/* fnv.c - FNV-1a 64; see include/fnv.h. */
#include "fnv.h"

#include <string.h>

uint64_t fnv_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}
