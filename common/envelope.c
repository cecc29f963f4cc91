/* envelope.c - the strict, bounded envelope codec (see include/envelope.h).
 *
 * Decoding is three passes over at most ENVELOPE_MAX_BYTES:
 *   1. mpscan_object() walks the raw bytes without allocating: it rejects
 *      truncated or invalid msgpack, nesting beyond ENVELOPE_MAX_DEPTH
 *      (naming the path) and containers that declare more elements than
 *      there are bytes left (see mpscan.h for why); trailing bytes are
 *      refused here.
 *   2. msgpack-c builds the object tree in env's zone. The input is first
 *      copied into the zone, because msgpack-c's tree points str/bin/ext
 *      values into the buffer it parsed, and the header promises buf is not
 *      retained.
 *   3. The envelope map is checked field by field in canonical order, so the
 *      error names the first problem deterministically.
 *
 * Zone reuse: msgpack_unpack_next() frees result->zone and mallocs a new one
 * on every call (and frees it on a parse error), so it cannot reuse memory.
 * We keep the zone in env->unpacked.zone, msgpack_zone_clear() it per decode
 * (which keeps the first chunk) and parse with msgpack_unpack() into it. */
#include "envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "mpscan.h"
#include "quote.h"
#include "uuid.h"

/* 9999-12-31T23:59:59.999Z in milliseconds since the epoch. */
#define ENVELOPE_MAX_TIME_MS INT64_C(253402300799999)

enum { F_V, F_ID, F_TYPE, F_SOURCE, F_SUBDISTRICT, F_TIME, F_BODY, F_COUNT };

/* Canonical order: decoding checks and encoding packs in this order. */
static const char *const s_field_names[F_COUNT] = {
    "v", "id", "type", "source", "subdistrict", "time", "body",
};

/* ---- small helpers ------------------------------------------------------ */

static bool s_type_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static bool s_name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Checks a type/source/subdistrict value. Shared by decode (untrusted) and
 * encode (caller's struct), so both reject exactly the same values. */
static envelope_status_t s_check_name(const char *field, const char *s, size_t len,
                                      bool type_charset, err_t *err)
{
    if (len == 0) {
        err_set(err, "field '%s': empty, expected 1..%d bytes", field, ENVELOPE_NAME_MAX);
        return ENVELOPE_E_RANGE;
    }
    if (len > ENVELOPE_NAME_MAX) {
        err_set(err, "field '%s': %zu bytes, expected 1..%d", field, len, ENVELOPE_NAME_MAX);
        return ENVELOPE_E_RANGE;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (type_charset ? !s_type_char_ok(c) : !s_name_char_ok(c)) {
            char q[8];
            quote_bytes(q, sizeof q, s + i, 1);
            err_set(err, "field '%s': invalid character '%s' at offset %zu, allowed %s", field, q,
                    i, type_charset ? "[a-z0-9_.]" : "[A-Za-z0-9_.-]");
            return ENVELOPE_E_RANGE;
        }
    }
    return ENVELOPE_OK;
}

/* ---- decoding ------------------------------------------------------------- */

/* The envelope status of a scan result. */
static envelope_status_t s_scan_status(mpscan_status_t st)
{
    switch (st) {
    case MPSCAN_OK:
        return ENVELOPE_OK;
    case MPSCAN_E_TOO_DEEP:
        return ENVELOPE_E_TOO_DEEP;
    default:
        return ENVELOPE_E_MALFORMED;
    }
}

static void s_reset_fields(envelope_t *env)
{
    env->version = 0;
    env->id[0] = '\0';
    env->type[0] = '\0';
    env->source[0] = '\0';
    env->subdistrict[0] = '\0';
    env->time_ms = 0;
    memset(&env->body, 0, sizeof env->body);
    env->body.type = MSGPACK_OBJECT_NIL;
}

void envelope_init(envelope_t *env)
{
    if (!env)
        return;
    msgpack_unpacked_init(&env->unpacked);
    s_reset_fields(env);
}

void envelope_fini(envelope_t *env)
{
    if (!env)
        return;
    msgpack_unpacked_destroy(&env->unpacked);
    s_reset_fields(env);
}

static envelope_status_t s_type_error(const char *field, const char *expected,
                                      const msgpack_object *o, err_t *err)
{
    err_set(err, "field '%s': expected %s, got %s", field, expected, mp_type_name(o->type));
    return ENVELOPE_E_TYPE;
}

static envelope_status_t s_decode_version(envelope_t *env, const msgpack_object *o, err_t *err)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        err_set(err, "field 'v': version %" PRId64 " not supported, this build speaks %d",
                o->via.i64, ENVELOPE_VERSION);
        return ENVELOPE_E_VERSION;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_type_error("v", "int", o, err);
    if (o->via.u64 != ENVELOPE_VERSION) {
        err_set(err, "field 'v': version %" PRIu64 " not supported, this build speaks %d",
                o->via.u64, ENVELOPE_VERSION);
        return ENVELOPE_E_VERSION;
    }
    env->version = ENVELOPE_VERSION;
    return ENVELOPE_OK;
}

static envelope_status_t s_decode_id(envelope_t *env, const msgpack_object *o, err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return s_type_error("id", "str", o, err);
    if (!uuid_is_canonical(o->via.str.ptr, o->via.str.size)) {
        char q[QUOTE_CAP];
        quote_bytes(q, sizeof q, o->via.str.ptr, o->via.str.size);
        err_set(err, "field 'id': '%s' is not a canonical UUID (8-4-4-4-12 hex)", q);
        return ENVELOPE_E_RANGE;
    }
    for (size_t i = 0; i < ENVELOPE_ID_LEN; i++) {
        char c = o->via.str.ptr[i];
        env->id[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    env->id[ENVELOPE_ID_LEN] = '\0';
    return ENVELOPE_OK;
}

static envelope_status_t s_decode_name(const char *field, const msgpack_object *o,
                                       bool type_charset, char *out, err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return s_type_error(field, "str", o, err);
    envelope_status_t st = s_check_name(field, o->via.str.ptr, o->via.str.size, type_charset, err);
    if (st != ENVELOPE_OK)
        return st;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return ENVELOPE_OK;
}

static envelope_status_t s_decode_time(envelope_t *env, const msgpack_object *o, err_t *err)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        err_set(err, "field 'time': %" PRId64 " ms is before the Unix epoch", o->via.i64);
        return ENVELOPE_E_RANGE;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_type_error("time", "int", o, err);
    if (o->via.u64 > (uint64_t)ENVELOPE_MAX_TIME_MS) {
        err_set(err, "field 'time': %" PRIu64 " ms is after the year 9999", o->via.u64);
        return ENVELOPE_E_RANGE;
    }
    env->time_ms = (int64_t)o->via.u64;
    return ENVELOPE_OK;
}

/* Checks the envelope map's fields; obj has passed mpscan_object(), so its depth and
 * sizes are already bounded. */
static envelope_status_t s_decode_fields(envelope_t *env, const msgpack_object *obj, err_t *err)
{
    const msgpack_object *slot[F_COUNT] = {NULL};
    envelope_status_t st;

    if (obj->type != MSGPACK_OBJECT_MAP) {
        err_set(err, "top level: expected map, got %s", mp_type_name(obj->type));
        return ENVELOPE_E_NOT_MAP;
    }

    /* Keys are scanned in wire order, so the first bad key is the one named. */
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            err_set(err, "unknown field: key %" PRIu32 " is %s, keys must be str", i,
                    mp_type_name(kv->key.type));
            return ENVELOPE_E_UNKNOWN_KEY;
        }
        int f;
        for (f = 0; f < F_COUNT; f++)
            if (mp_str_eq(&kv->key, s_field_names[f]))
                break;
        if (f == F_COUNT) {
            char q[QUOTE_CAP];
            quote_bytes(q, sizeof q, kv->key.via.str.ptr, kv->key.via.str.size);
            err_set(err, "unknown field '%s'", q);
            return ENVELOPE_E_UNKNOWN_KEY;
        }
        if (slot[f]) {
            err_set(err, "duplicate field '%s'", s_field_names[f]);
            return ENVELOPE_E_MALFORMED;
        }
        slot[f] = &kv->val;
    }

    for (int f = 0; f < F_COUNT; f++) {
        if (!slot[f]) {
            err_set(err, "field '%s': missing", s_field_names[f]);
            return ENVELOPE_E_MISSING;
        }
        switch (f) {
        case F_V:
            st = s_decode_version(env, slot[f], err);
            break;
        case F_ID:
            st = s_decode_id(env, slot[f], err);
            break;
        case F_TYPE:
            st = s_decode_name("type", slot[f], true, env->type, err);
            break;
        case F_SOURCE:
            st = s_decode_name("source", slot[f], false, env->source, err);
            break;
        case F_SUBDISTRICT:
            st = s_decode_name("subdistrict", slot[f], false, env->subdistrict, err);
            break;
        case F_TIME:
            st = s_decode_time(env, slot[f], err);
            break;
        default: /* F_BODY */
            if (slot[f]->type != MSGPACK_OBJECT_MAP)
                st = s_type_error("body", "map", slot[f], err);
            else {
                env->body = *slot[f];
                st = ENVELOPE_OK;
            }
            break;
        }
        if (st != ENVELOPE_OK)
            return st;
    }
    return ENVELOPE_OK;
}

envelope_status_t envelope_decode(envelope_t *env, const char *buf, size_t len, err_t *err)
{
    envelope_status_t st;
    size_t used = 0, off = 0;
    char *copy;
    msgpack_object obj;
    msgpack_unpack_return ur;

    err_clear(err);
    if (!env) {
        err_set(err, "envelope_decode: no envelope");
        return ENVELOPE_E_MALFORMED;
    }
    s_reset_fields(env);

    if (len > ENVELOPE_MAX_BYTES) {
        err_set(err, "message is %zu bytes, limit is %u", len, ENVELOPE_MAX_BYTES);
        st = ENVELOPE_E_TOO_LARGE;
        goto out;
    }
    if (!buf || len == 0) {
        err_set(err, "truncated: empty input");
        st = ENVELOPE_E_MALFORMED;
        goto out;
    }
    /* Structure over the whole message first (docs/protocol.md section 2,
     * step 2): not msgpack, truncated, trailing bytes, then too deep. */
    st = s_scan_status(mpscan_object(buf, len, 0, NULL, "", &used, err));
    if (st == ENVELOPE_E_MALFORMED)
        goto out;
    if (used < len) {
        err_set(err, "trailing bytes: %zu bytes after the envelope ends at offset %zu", len - used,
                used);
        st = ENVELOPE_E_MALFORMED;
        goto out;
    }
    if (st != ENVELOPE_OK)
        goto out;

    /* The zone is created once and cleared per decode; clearing keeps its
     * first chunk, so small messages decode without touching malloc. */
    if (env->unpacked.zone) {
        msgpack_zone_clear(env->unpacked.zone);
    } else {
        env->unpacked.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        if (!env->unpacked.zone) {
            err_set(err, "out of memory allocating a %d-byte zone", MSGPACK_ZONE_CHUNK_SIZE);
            st = ENVELOPE_E_TOO_LARGE;
            goto out;
        }
    }
    memset(&env->unpacked.data, 0, sizeof env->unpacked.data);

    /* msgpack-c points str/bin/ext objects into the parsed buffer; parsing a
     * copy held by the zone is what lets the caller free buf. */
    copy = msgpack_zone_malloc_no_align(env->unpacked.zone, len);
    if (!copy) {
        err_set(err, "out of memory copying a %zu-byte message", len);
        st = ENVELOPE_E_TOO_LARGE;
        goto out;
    }
    memcpy(copy, buf, len);

    ur = msgpack_unpack(copy, len, &off, env->unpacked.zone, &obj);
    /* After mpscan_object() only SUCCESS is expected; the rest is mapped anyway in
     * case the two parsers ever disagree. */
    switch (ur) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_EXTRA_BYTES:
        err_set(err, "trailing bytes: %zu bytes after the envelope ends at offset %zu", len - off,
                off);
        st = ENVELOPE_E_MALFORMED;
        goto out;
    case MSGPACK_UNPACK_CONTINUE:
        err_set(err, "truncated: %zu bytes is not a complete msgpack object", len);
        st = ENVELOPE_E_MALFORMED;
        goto out;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        /* msgpack-c reports nesting beyond its fixed stack (32 levels) this
         * way; mpscan_object() already stops at ENVELOPE_MAX_DEPTH, so this is only a
         * backstop */
        err_set(err, "nested deeper than %d levels", ENVELOPE_MAX_DEPTH);
        st = ENVELOPE_E_TOO_DEEP;
        goto out;
    default: /* PARSE_ERROR, also what msgpack-c returns when the zone is out of memory */
        err_set(err, "not valid msgpack");
        st = ENVELOPE_E_MALFORMED;
        goto out;
    }
    env->unpacked.data = obj;

    st = s_decode_fields(env, &env->unpacked.data, err);

out:
    if (st != ENVELOPE_OK) {
        /* no half-decoded body for a caller that ignores the status */
        memset(&env->body, 0, sizeof env->body);
        env->body.type = MSGPACK_OBJECT_NIL;
    }
    return st;
}

const char *envelope_status_code(envelope_status_t status)
{
    switch (status) {
    case ENVELOPE_OK:
        return "OK";
    case ENVELOPE_E_TOO_LARGE:
        return "E_TOO_LARGE";
    case ENVELOPE_E_MALFORMED:
        return "E_MALFORMED";
    case ENVELOPE_E_TOO_DEEP:
        return "E_TOO_DEEP";
    case ENVELOPE_E_NOT_MAP:
        return "E_NOT_MAP";
    case ENVELOPE_E_MISSING:
        return "E_MISSING";
    case ENVELOPE_E_TYPE:
        return "E_TYPE";
    case ENVELOPE_E_RANGE:
        return "E_RANGE";
    case ENVELOPE_E_UNKNOWN_KEY:
        return "E_UNKNOWN_KEY";
    case ENVELOPE_E_VERSION:
        return "E_VERSION";
    }
    return "E_UNKNOWN_STATUS";
}

/* ---- encoding ------------------------------------------------------------- */

/* Checks env's header fields against the same rules the decoder applies, so
 * we never emit an envelope we would refuse; writes the lower-cased id. */
static int s_check_header(const envelope_t *env, char id[ENVELOPE_ID_LEN + 1], err_t *err)
{
    if (env->version != ENVELOPE_VERSION) {
        err_set(err, "field 'v': version %" PRIu32 " not supported, this build speaks %d",
                env->version, ENVELOPE_VERSION);
        return -1;
    }
    size_t idlen = strnlen(env->id, sizeof env->id);
    if (!uuid_is_canonical(env->id, idlen)) {
        err_set(err, "field 'id': not a canonical UUID (8-4-4-4-12 hex)");
        return -1;
    }
    for (size_t i = 0; i < ENVELOPE_ID_LEN; i++) {
        char c = env->id[i];
        id[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    id[ENVELOPE_ID_LEN] = '\0';

    const struct {
        const char *field;
        const char *value;
        bool type_charset;
    } names[] = {
        {"type", env->type, true},
        {"source", env->source, false},
        {"subdistrict", env->subdistrict, false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        /* the arrays are ENVELOPE_NAME_MAX + 1: no NUL inside means too long */
        size_t n = strnlen(names[i].value, ENVELOPE_NAME_MAX + 1);
        if (s_check_name(names[i].field, names[i].value, n, names[i].type_charset, err) !=
            ENVELOPE_OK)
            return -1;
    }
    if (env->time_ms < 0 || env->time_ms > ENVELOPE_MAX_TIME_MS) {
        err_set(err, "field 'time': %" PRId64 " ms is outside 0..%" PRId64, env->time_ms,
                ENVELOPE_MAX_TIME_MS);
        return -1;
    }
    return 0;
}

/* Checks a caller-built object tree: nesting within ENVELOPE_MAX_DEPTH (so
 * the decoder accepts it; this also bounds the recursion) and no NULL
 * element arrays, which msgpack_pack_object would dereference. */
static int s_check_tree(const msgpack_object *o, int depth, char *path, size_t cap, err_t *err)
{
    const bool no_bytes = (o->type == MSGPACK_OBJECT_STR && o->via.str.size && !o->via.str.ptr) ||
                          (o->type == MSGPACK_OBJECT_BIN && o->via.bin.size && !o->via.bin.ptr) ||
                          (o->type == MSGPACK_OBJECT_EXT && o->via.ext.size && !o->via.ext.ptr);
    if (no_bytes) {
        err_set(err, "field '%s': %s of non-zero size has no bytes", path, mp_type_name(o->type));
        return -1;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP)
        return 0;
    if (depth > ENVELOPE_MAX_DEPTH) {
        err_set(err, "field '%s': nested deeper than %d levels", path, ENVELOPE_MAX_DEPTH);
        return -1;
    }
    size_t mark = strlen(path);
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        if (o->via.array.size > 0 && !o->via.array.ptr) {
            err_set(err, "field '%s': array of %" PRIu32 " elements has no storage", path,
                    o->via.array.size);
            return -1;
        }
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            char piece[24];
            snprintf(piece, sizeof piece, "[%" PRIu32 "]", i);
            quote_append(path, cap, piece);
            int rc = s_check_tree(&o->via.array.ptr[i], depth + 1, path, cap, err);
            path[mark] = '\0';
            if (rc != 0)
                return -1;
        }
        return 0;
    }
    if (o->via.map.size > 0 && !o->via.map.ptr) {
        err_set(err, "field '%s': map of %" PRIu32 " pairs has no storage", path, o->via.map.size);
        return -1;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        char piece[QUOTE_CAP + 16];
        char q[QUOTE_CAP];
        if (kv->key.type == MSGPACK_OBJECT_STR && (kv->key.via.str.ptr || !kv->key.via.str.size))
            quote_bytes(q, sizeof q, kv->key.via.str.ptr, kv->key.via.str.size);
        else
            snprintf(q, sizeof q, "<non-str key>");
        snprintf(piece, sizeof piece, ".%s", q);
        quote_append(path, cap, piece);
        int rc = s_check_tree(&kv->key, depth + 1, path, cap, err);
        if (rc == 0)
            rc = s_check_tree(&kv->val, depth + 1, path, cap, err);
        path[mark] = '\0';
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int s_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str_with_body(pk, s, n);
}

/* Packs the 7-entry map header, the six header fields and the "body" key. */
static int s_pack_header(msgpack_packer *pk, const envelope_t *env, const char *id)
{
    if (msgpack_pack_map(pk, F_COUNT) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_V]) != 0 || msgpack_pack_uint32(pk, env->version) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_ID]) != 0 || s_pack_cstr(pk, id) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_TYPE]) != 0 || s_pack_cstr(pk, env->type) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_SOURCE]) != 0 || s_pack_cstr(pk, env->source) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_SUBDISTRICT]) != 0 ||
        s_pack_cstr(pk, env->subdistrict) != 0)
        return -1;
    if (s_pack_cstr(pk, s_field_names[F_TIME]) != 0 || msgpack_pack_int64(pk, env->time_ms) != 0)
        return -1;
    return s_pack_cstr(pk, s_field_names[F_BODY]);
}

/* Shared tail of both encoders: body is either an object or packed bytes. */
static int s_encode(const envelope_t *env, const msgpack_object *body, const char *raw,
                    size_t raw_len, msgpack_sbuffer *sbuf, err_t *err)
{
    int rc = -1;
    const size_t start = sbuf->size;
    char id[ENVELOPE_ID_LEN + 1];
    msgpack_packer pk;

    if (s_check_header(env, id, err) != 0)
        goto out;
    if (body) {
        char path[256] = "body";
        if (body->type != MSGPACK_OBJECT_MAP) {
            err_set(err, "field 'body': expected map, got %s", mp_type_name(body->type));
            goto out;
        }
        if (s_check_tree(body, 2, path, sizeof path, err) != 0)
            goto out;
    } else {
        size_t used = 0;
        if (!raw || raw_len == 0) {
            err_set(err, "field 'body': empty, expected one packed msgpack map");
            goto out;
        }
        if (raw_len > ENVELOPE_MAX_BYTES) { /* before scanning it */
            err_set(err, "field 'body': %zu bytes, the envelope limit is %u", raw_len,
                    ENVELOPE_MAX_BYTES);
            goto out;
        }
        unsigned char b0 = (unsigned char)raw[0];
        if (!((b0 >= 0x80 && b0 <= 0x8f) || b0 == 0xde || b0 == 0xdf)) {
            err_set(err, "field 'body': expected a packed map, first byte is 0x%02x", b0);
            goto out;
        }
        /* the body sits inside the envelope map: its map is level 2 */
        if (mpscan_object(raw, raw_len, 1, "body", "field 'body': ", &used, err) != MPSCAN_OK)
            goto out;
        if (used != raw_len) {
            err_set(err, "field 'body': %zu trailing bytes after the packed map", raw_len - used);
            goto out;
        }
    }

    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    if (s_pack_header(&pk, env, id) != 0)
        goto nomem;
    if (body ? msgpack_pack_object(&pk, *body) != 0
             : msgpack_sbuffer_write(sbuf, raw, raw_len) != 0)
        goto nomem;
    if (sbuf->size - start > ENVELOPE_MAX_BYTES) {
        err_set(err, "encoded envelope is %zu bytes, limit is %u", sbuf->size - start,
                ENVELOPE_MAX_BYTES);
        goto out;
    }
    rc = 0;
    goto out;

nomem:
    err_set(err, "out of memory encoding the envelope");
out:
    if (rc != 0)
        sbuf->size = start; /* drop any partial write; the buffer stays usable */
    return rc;
}

int envelope_encode(const envelope_t *env, msgpack_sbuffer *sbuf, err_t *err)
{
    err_clear(err);
    if (!env || !sbuf) {
        err_set(err, "envelope_encode: no envelope or buffer");
        return -1;
    }
    return s_encode(env, &env->body, NULL, 0, sbuf, err);
}

int envelope_encode_raw_body(const envelope_t *env, const char *body, size_t body_len,
                             msgpack_sbuffer *sbuf, err_t *err)
{
    err_clear(err);
    if (!env || !sbuf) {
        err_set(err, "envelope_encode_raw_body: no envelope or buffer");
        return -1;
    }
    return s_encode(env, NULL, body, body_len, sbuf, err);
}
