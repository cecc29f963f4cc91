/* mp.c - lookups in decoded msgpack objects, for reading bodies and control
 * requests, and maps built field by field (see include/mp.h). */
#include "mp.h"

#include <inttypes.h>
#include <string.h>

const char *mp_type_name(msgpack_object_type type)
{
    switch (type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown";
}

bool mp_str_eq(const msgpack_object *o, const char *s)
{
    if (!o || !s || o->type != MSGPACK_OBJECT_STR)
        return false;
    size_t n = strlen(s);
    if (o->via.str.size != n)
        return false;
    return n == 0 || (o->via.str.ptr && memcmp(o->via.str.ptr, s, n) == 0);
}

const msgpack_object *mp_get(const msgpack_object *map, const char *key)
{
    if (!map || !key || map->type != MSGPACK_OBJECT_MAP || !map->via.map.ptr)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mp_str_eq(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

/* The value under key with the given type, or NULL with err naming why. */
static const msgpack_object *s_get_typed(const msgpack_object *map, const char *key,
                                         msgpack_object_type want, err_t *err)
{
    const msgpack_object *v = mp_get(map, key);
    if (!v) {
        err_set(err, "field '%s': missing", key ? key : "(null)");
        return NULL;
    }
    bool ok = v->type == want || (want == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                                  v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    if (!ok) {
        err_set(err, "field '%s': expected %s, got %s", key, mp_type_name(want),
                mp_type_name(v->type));
        return NULL;
    }
    return v;
}

int mp_get_str(const msgpack_object *map, const char *key, const char **s, size_t *len, err_t *err)
{
    const msgpack_object *v = s_get_typed(map, key, MSGPACK_OBJECT_STR, err);
    if (!v)
        return -1;
    if (s)
        *s = v->via.str.ptr;
    if (len)
        *len = v->via.str.size;
    return 0;
}

int mp_get_strcpy(const msgpack_object *map, const char *key, char *out, size_t cap, err_t *err)
{
    const msgpack_object *v = s_get_typed(map, key, MSGPACK_OBJECT_STR, err);
    if (!v)
        return -1;
    if (!out || cap == 0 || v->via.str.size > cap - 1) {
        err_set(err, "field '%s': %" PRIu32 " bytes, limit is %zu", key, v->via.str.size,
                cap ? cap - 1 : 0);
        return -1;
    }
    /* an embedded NUL would silently shorten the C string */
    if (v->via.str.size > 0 && memchr(v->via.str.ptr, '\0', v->via.str.size)) {
        err_set(err, "field '%s': contains a NUL byte", key);
        return -1;
    }
    if (v->via.str.size > 0)
        memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = '\0';
    return 0;
}

int mp_get_int(const msgpack_object *map, const char *key, int64_t *out, err_t *err)
{
    const msgpack_object *v = s_get_typed(map, key, MSGPACK_OBJECT_POSITIVE_INTEGER, err);
    if (!v)
        return -1;
    int64_t x;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        x = v->via.i64;
    } else if (v->via.u64 > (uint64_t)INT64_MAX) {
        err_set(err, "field '%s': %" PRIu64 " does not fit a signed 64-bit int", key, v->via.u64);
        return -1;
    } else {
        x = (int64_t)v->via.u64;
    }
    if (out)
        *out = x;
    return 0;
}

int mp_get_bool(const msgpack_object *map, const char *key, bool *out, err_t *err)
{
    const msgpack_object *v = s_get_typed(map, key, MSGPACK_OBJECT_BOOLEAN, err);
    if (!v)
        return -1;
    if (out)
        *out = v->via.boolean;
    return 0;
}

/* Past MP_MAP_MAX a field is dropped: the callers' field lists are fixed
 * and shorter, so it cannot happen with any input. */
void mp_map_str(mp_map_t *m, const char *key, const char *s)
{
    if (s && *s && m->n < MP_MAP_MAX) {
        m->kv[m->n].key = key;
        m->kv[m->n].s = s;
        m->n++;
    }
}

void mp_map_int(mp_map_t *m, const char *key, int64_t v)
{
    if (m->n < MP_MAP_MAX) {
        m->kv[m->n].key = key;
        m->kv[m->n].s = NULL;
        m->kv[m->n].i = v;
        m->n++;
    }
}

void mp_map_pack(const mp_map_t *m, msgpack_packer *pk)
{
    msgpack_pack_map(pk, (uint32_t)m->n);
    for (size_t i = 0; i < m->n; i++) {
        msgpack_pack_str_with_body(pk, m->kv[i].key, strlen(m->kv[i].key));
        if (m->kv[i].s)
            msgpack_pack_str_with_body(pk, m->kv[i].s, strlen(m->kv[i].s));
        else
            msgpack_pack_int64(pk, m->kv[i].i);
    }
}
