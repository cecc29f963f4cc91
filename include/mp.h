/* mp.h - lookups in decoded msgpack objects (msgpack-c's msgpack_object),
 * for reading event bodies and control requests by key; and mp_map_t, for
 * writing a map whose keys are known only as it is built (optional
 * fields left out).
 *
 * They never assert; on failure they return -1 and name the field in err
 * ("field 'grid': expected str, got int"). A NULL map or a non-map is
 * treated as empty. Nothing here allocates. */
#ifndef AIRGUARD_MP_H
#define AIRGUARD_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The value under key, or NULL when absent. */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);

/* Borrowed string (not NUL-terminated: *len bytes) under key. */
int mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len, err_t *err);

/* Copies a string under key into out (capacity cap, NUL-terminated);
 * longer strings are an error, not a truncation. */
int mp_get_strcpy(const msgpack_object *map, const char *key, char *out, size_t cap, err_t *err);

/* Signed integer under key (positive or negative msgpack int). */
int mp_get_int(const msgpack_object *map, const char *key, int64_t *out, err_t *err);

/* Boolean under key. */
int mp_get_bool(const msgpack_object *map, const char *key, bool *out, err_t *err);

/* Name of a msgpack type for messages: "nil", "bool", "int", "float",
 * "str", "bin", "array", "map", "ext". */
const char *mp_type_name(msgpack_object_type type);

/* True when o is a string equal to the NUL-terminated s. */
bool mp_str_eq(const msgpack_object *o, const char *s);

/* A map of at most MP_MAP_MAX string or integer values, packed at the
 * end (msgpack wants the count first). Keys and strings are borrowed until
 * mp_map_pack().
 *
 *   mp_map_t m = MP_MAP_INIT;
 *   mp_map_str(&m, "unit", unit);      // left out when NULL or ""
 *   mp_map_int(&m, "at", at_ms);
 *   mp_map_pack(&m, pk); */
#define MP_MAP_MAX 32
typedef struct mp_map {
    struct {
        const char *key, *s;
        int64_t i;
    } kv[MP_MAP_MAX];
    size_t n;
} mp_map_t;
#define MP_MAP_INIT                                                                                \
    {                                                                                              \
        .n = 0                                                                                     \
    }

void mp_map_str(mp_map_t *m, const char *key, const char *s);
void mp_map_int(mp_map_t *m, const char *key, int64_t v);
void mp_map_pack(const mp_map_t *m, msgpack_packer *pk);

#endif
