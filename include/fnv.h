/* fnv.h - FNV-1a, 64 bits: a fast, stable, non-cryptographic hash for hash
 * tables and for names derived from a cause (uuid_derive). Never for
 * anything an adversary could exploit. */
#ifndef AIRGUARD_FNV_H
#define AIRGUARD_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET_BASIS 14695981039346656037ull

/* Continues hash h (start with FNV_OFFSET_BASIS) over len bytes of data. */
uint64_t fnv_bytes(uint64_t h, const void *data, size_t len);

/* Continues h over s with its NUL (so "ab","c" and "a","bc" differ); NULL
 * counts as the empty string. */
uint64_t fnv_str(uint64_t h, const char *s);

#endif
