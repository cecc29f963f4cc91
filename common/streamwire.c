/* streamwire.c - packing and strict unpacking of stream frames; the layout
 * is described in include/streamwire.h and docs/streams.md. */
#include "streamwire.h"

#include <string.h>

#include "envelope.h"
#include "mp.h"
#include "mpscan.h"
#include "uuid.h"

static void s_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

static void s_pack_cstr(msgpack_packer *pk, const char *s)
{
    s_pack_str(pk, s, strlen(s));
}

void streamwire_pack_data(msgpack_sbuffer *sbuf, const char *stream, const char *stream_id,
                          const stream_record_t *rec)
{
    msgpack_sbuffer_clear(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    s_pack_cstr(&pk, "kind");
    s_pack_cstr(&pk, "data");
    s_pack_cstr(&pk, "stream");
    s_pack_cstr(&pk, stream);
    s_pack_cstr(&pk, "stream_id");
    s_pack_cstr(&pk, stream_id);
    s_pack_cstr(&pk, "seq");
    msgpack_pack_int64(&pk, rec->seq);
    s_pack_cstr(&pk, "id");
    s_pack_str(&pk, rec->id, rec->id_len);
    s_pack_cstr(&pk, "type");
    s_pack_str(&pk, rec->type, rec->type_len);
    s_pack_cstr(&pk, "msg");
    msgpack_pack_bin(&pk, rec->msg_len);
    msgpack_pack_bin_body(&pk, rec->msg, rec->msg_len);
}

void streamwire_pack_heartbeat(msgpack_sbuffer *sbuf, const char *stream, const char *stream_id,
                               int64_t last_seq)
{
    msgpack_sbuffer_clear(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_cstr(&pk, "kind");
    s_pack_cstr(&pk, "heartbeat");
    s_pack_cstr(&pk, "stream");
    s_pack_cstr(&pk, stream);
    s_pack_cstr(&pk, "stream_id");
    s_pack_cstr(&pk, stream_id);
    s_pack_cstr(&pk, "last_seq");
    msgpack_pack_int64(&pk, last_seq);
}

void streamwire_pack_replay_request(msgpack_sbuffer *sbuf, const char *stream, int64_t from,
                                    int64_t max)
{
    msgpack_sbuffer_clear(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    s_pack_cstr(&pk, "op");
    s_pack_cstr(&pk, "replay");
    s_pack_cstr(&pk, "stream");
    s_pack_cstr(&pk, stream);
    s_pack_cstr(&pk, "from");
    msgpack_pack_int64(&pk, from);
    s_pack_cstr(&pk, "max");
    msgpack_pack_int64(&pk, max);
}

/* Unpacks exactly one map from buf; -1 with err otherwise. */
static int s_unpack_map(msgpack_unpacked *unpacked, const char *buf, size_t len,
                        const msgpack_object **map, err_t *err)
{
    if (len > STREAMWIRE_FRAME_MAX) {
        err_set(err, "frame of %zu bytes exceeds the %u byte limit", len, STREAMWIRE_FRAME_MAX);
        return -1;
    }
    size_t off = 0;
    if (mpscan_check(buf, len, err) != 0)
        return -1;
    msgpack_unpack_return ret = msgpack_unpack_next(unpacked, buf, len, &off);
    if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
        err_set(err, "frame is not one valid msgpack object");
        return -1;
    }
    if (unpacked->data.type != MSGPACK_OBJECT_MAP) {
        err_set(err, "frame is a %s, expected a map", mp_type_name(unpacked->data.type));
        return -1;
    }
    *map = &unpacked->data;
    return 0;
}

static int s_get_stream(const msgpack_object *map, char out[STREAM_NAME_MAX + 1], err_t *err)
{
    return mp_get_strcpy(map, "stream", out, STREAM_NAME_MAX + 1, err);
}

/* The stream's identity: a UUID, lower-cased as the producer sends it. */
static int s_get_stream_id(const msgpack_object *map, char out[STREAM_ID_LEN + 1], err_t *err)
{
    if (mp_get_strcpy(map, "stream_id", out, STREAM_ID_LEN + 1, err) != 0)
        return -1;
    if (!uuid_is_canonical(out, strlen(out))) {
        err_set(err, "field 'stream_id': expected a UUID");
        return -1;
    }
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return 0;
}

/* Reads the four record fields from a data map or a replay tuple. */
static int s_record_from_fields(const msgpack_object *seq, const msgpack_object *id,
                                const msgpack_object *type, const msgpack_object *msg,
                                stream_record_t *out, err_t *err)
{
    if (!seq || (seq->type != MSGPACK_OBJECT_POSITIVE_INTEGER) || seq->via.u64 == 0 ||
        seq->via.u64 > INT64_MAX) {
        err_set(err, "field 'seq': expected a positive int");
        return -1;
    }
    if (!id || id->type != MSGPACK_OBJECT_STR) {
        err_set(err, "field 'id': expected str");
        return -1;
    }
    if (!type || type->type != MSGPACK_OBJECT_STR) {
        err_set(err, "field 'type': expected str");
        return -1;
    }
    if (!msg || msg->type != MSGPACK_OBJECT_BIN) {
        err_set(err, "field 'msg': expected bin");
        return -1;
    }
    out->seq = (int64_t)seq->via.u64;
    out->id = id->via.str.ptr;
    out->id_len = id->via.str.size;
    out->type = type->via.str.ptr;
    out->type_len = type->via.str.size;
    out->msg = msg->via.bin.ptr;
    out->msg_len = msg->via.bin.size;
    return 0;
}

int streamwire_unpack_pub(msgpack_unpacked *unpacked, const char *buf, size_t len,
                          streamwire_pub_t *out, err_t *err)
{
    const msgpack_object *map = NULL;
    if (s_unpack_map(unpacked, buf, len, &map, err) != 0)
        return -1;
    if (s_get_stream(map, out->stream, err) != 0 || s_get_stream_id(map, out->stream_id, err) != 0)
        return -1;
    const msgpack_object *kind = mp_get(map, "kind");
    if (mp_str_eq(kind, "heartbeat")) {
        out->kind = STREAMWIRE_HEARTBEAT;
        if (mp_get_int(map, "last_seq", &out->last_seq, err) != 0)
            return -1;
        if (out->last_seq < 0) {
            err_set(err, "field 'last_seq': negative");
            return -1;
        }
        return 0;
    }
    if (mp_str_eq(kind, "data")) {
        out->kind = STREAMWIRE_DATA;
        return s_record_from_fields(mp_get(map, "seq"), mp_get(map, "id"), mp_get(map, "type"),
                                    mp_get(map, "msg"), &out->record, err);
    }
    err_set(err, "field 'kind': expected \"data\" or \"heartbeat\"");
    return -1;
}

int streamwire_unpack_replay(msgpack_unpacked *unpacked, const char *buf, size_t len,
                             streamwire_replay_t *out, err_t *err)
{
    const msgpack_object *map = NULL;
    if (s_unpack_map(unpacked, buf, len, &map, err) != 0)
        return -1;
    const msgpack_object *ok = mp_get(map, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        char code[64] = "?", text[300] = "";
        err_t ignored;
        mp_get_strcpy(map, "code", code, sizeof code, &ignored);
        mp_get_strcpy(map, "error", text, sizeof text, &ignored);
        err_set(err, "replay refused: %s %s", code, text);
        return -1;
    }
    if (s_get_stream(map, out->stream, err) != 0 ||
        s_get_stream_id(map, out->stream_id, err) != 0 ||
        mp_get_int(map, "from", &out->from, err) != 0 ||
        mp_get_int(map, "to", &out->to, err) != 0 ||
        mp_get_int(map, "last_seq", &out->last_seq, err) != 0)
        return -1;
    out->records = mp_get(map, "records");
    if (!out->records || out->records->type != MSGPACK_OBJECT_ARRAY) {
        err_set(err, "field 'records': expected array");
        return -1;
    }
    if (out->from < 1 || out->to < out->from - 1 ||
        (int64_t)out->records->via.array.size != out->to - out->from + 1) {
        err_set(err, "fields 'from'/'to' do not match the %u records",
                out->records->via.array.size);
        return -1;
    }
    return 0;
}

int streamwire_replay_record(const streamwire_replay_t *replay, uint32_t i, stream_record_t *out,
                             err_t *err)
{
    if (i >= replay->records->via.array.size) {
        err_set(err, "record %u: out of range", i);
        return -1;
    }
    const msgpack_object *tuple = &replay->records->via.array.ptr[i];
    if (tuple->type != MSGPACK_OBJECT_ARRAY || tuple->via.array.size != 4) {
        err_set(err, "record %u: expected [seq, id, type, msg]", i);
        return -1;
    }
    const msgpack_object *f = tuple->via.array.ptr;
    if (s_record_from_fields(&f[0], &f[1], &f[2], &f[3], out, err) != 0)
        return -1;
    if (out->seq != replay->from + (int64_t)i) {
        err_set(err, "record %u: seq %lld out of order", i, (long long)out->seq);
        return -1;
    }
    return 0;
}
