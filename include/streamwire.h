/* streamwire.h - the frames a stream travels in (docs/streams.md is the
 * normative description).
 *
 * PUB socket, two frames per message:
 *   frame 1: the stream name, e.g. "events.intake-1" (the subscription topic)
 *   frame 2: a msgpack map, one of
 *     data       {"kind":"data", "stream":S, "stream_id":SID, "seq":N, "id":UUID,
 *                 "type":T, "msg":bin}
 *     heartbeat  {"kind":"heartbeat", "stream":S, "stream_id":SID, "last_seq":N}
 *   SID is the stream's identity, a UUID made when the stream was created: a
 *   stream made again from scratch under the same name has another.
 *   "msg" is the message's envelope (include/envelope.h) as stored in the log.
 *
 * Replay, on the producer's control socket (request/reply):
 *   request  {"op":"replay", "stream":S, "from":N, "max":K}
 *   reply    {"ok":true, "kind":"replay", "stream":S, "stream_id":SID, "from":N, "to":M,
 *             "last_seq":H, "records":[[seq, id, type, msg], ...]}
 *   records hold seq from..to in order (to = from-1 when there are none);
 *   last_seq is the stream's committed head when the reply was made, so a
 *   consumer knows whether to ask again. A reply is capped at K records and
 *   at STREAMWIRE_REPLAY_MAX_BYTES.
 *
 * Decoders are strict and bounded like the envelope's: they return -1 with
 * err naming the field, and never assert. */
#ifndef AIRGUARD_STREAMWIRE_H
#define AIRGUARD_STREAMWIRE_H

#include <msgpack.h>
#include <stdint.h>

#include "err.h"

#define STREAM_NAME_MAX 63
#define STREAM_ID_LEN 36 /* a stream's identity: a UUID made with the stream */
#define STREAMWIRE_REPLAY_MAX_RECORDS 4000
#define STREAMWIRE_REPLAY_MAX_BYTES (4u * 1024u * 1024u)
#define STREAMWIRE_FRAME_MAX (8u * 1024u * 1024u)

/* One message of a stream. Strings and msg are borrowed from whatever was
 * decoded (a zone, a PGresult) unless stated otherwise. */
typedef struct stream_record {
    int64_t seq;    /* position in the stream, from 1, gap-free */
    const char *id; /* message id (UUID text) */
    size_t id_len;
    const char *type; /* message type */
    size_t type_len;
    const char *msg; /* envelope bytes */
    size_t msg_len;
} stream_record_t;

typedef enum streamwire_kind { STREAMWIRE_DATA, STREAMWIRE_HEARTBEAT } streamwire_kind_t;

/* A decoded PUB frame 2. */
typedef struct streamwire_pub {
    streamwire_kind_t kind;
    char stream[STREAM_NAME_MAX + 1];
    char stream_id[STREAM_ID_LEN + 1]; /* the stream's identity */
    int64_t last_seq;                  /* heartbeat */
    stream_record_t record;            /* data */
} streamwire_pub_t;

/* Packs a data / heartbeat frame 2 into sbuf (cleared first). */
void streamwire_pack_data(msgpack_sbuffer *sbuf, const char *stream, const char *stream_id,
                          const stream_record_t *rec);
void streamwire_pack_heartbeat(msgpack_sbuffer *sbuf, const char *stream, const char *stream_id,
                               int64_t last_seq);

/* Decodes a PUB frame 2 into out, using unpacked's zone (strings point into
 * it). Returns 0 or -1 with err. */
int streamwire_unpack_pub(msgpack_unpacked *unpacked, const char *buf, size_t len,
                          streamwire_pub_t *out, err_t *err);

/* Replay request. */
void streamwire_pack_replay_request(msgpack_sbuffer *sbuf, const char *stream, int64_t from,
                                    int64_t max);

/* Replay reply header fields; records are read with streamwire_replay_record(). */
typedef struct streamwire_replay {
    char stream[STREAM_NAME_MAX + 1];
    char stream_id[STREAM_ID_LEN + 1]; /* the stream's identity */
    int64_t from, to, last_seq;
    const msgpack_object *records; /* array; borrowed from the zone */
} streamwire_replay_t;

/* Decodes a replay reply. A reply with "ok":false is an error whose text is
 * copied into err. */
int streamwire_unpack_replay(msgpack_unpacked *unpacked, const char *buf, size_t len,
                             streamwire_replay_t *out, err_t *err);

/* The i-th record of a decoded replay; -1 with err if it is malformed. */
int streamwire_replay_record(const streamwire_replay_t *replay, uint32_t i, stream_record_t *out,
                             err_t *err);

#endif
