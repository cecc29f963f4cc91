/* grow.h - the one way an array of this project grows: doubling, from 64
 * elements, with the multiplication checked, so no caller writes its own
 * realloc loop. */
#ifndef AIRGUARD_GROW_H
#define AIRGUARD_GROW_H

#include <stddef.h>

/* Makes *arr (an array of elem_size-byte elements, *cap of them allocated,
 * *arr NULL when none) hold at least need elements. On success returns 0
 * and may have moved *arr and raised *cap; returns -1 when out of memory or
 * the size overflows, leaving *arr and *cap as they were. */
int grow_array(void **arr, size_t *cap, size_t need, size_t elem_size);

#endif
