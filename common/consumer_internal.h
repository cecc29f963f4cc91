/* consumer_internal.h - what the files of the consumer share and no caller
 * sees: consumer.c (new, destroy, accessors, reset, the tick),
 * consumer_txn.c (offsets, identity, the apply transaction),
 * consumer_replay.c (asking the producer) and consumer_live.c (the SUB
 * socket). It lives in common/, not include/, so that a service can only
 * use the consumer through include/consumer.h. */
#ifndef AIRGUARD_CONSUMER_INTERNAL_H
#define AIRGUARD_CONSUMER_INTERNAL_H

#include "consumer.h"

/* A failing message waits 1, 2, 4 ... times this (ms) before it is tried
 * again; a replay reply that brought nothing, once. */
#define CONSUMER_HOLD_BASE_MS 1000
/* Back-off from the database (ms): doubles from MIN to MAX while it stays
 * unreachable; MAX also after a bad replay reply. */
#define CONSUMER_RETRY_MIN_MS 100
#define CONSUMER_RETRY_MAX_MS 5000

/* One followed stream and how far we are with it. */
typedef struct source {
    char stream[STREAM_NAME_MAX + 1];  /* followed stream */
    char *pub_endpoint;                /* producer's PUB */
    char *control_endpoint;            /* producer's control socket */
    void *dealer;                      /* replay requests; replaced after a timeout */
    int64_t applied;                   /* committed offset as last read or written */
    int64_t head;                      /* highest seq announced by the producer */
    int offset_loaded;                 /* applied came from the database */
    int need_replay;                   /* a gap or restart: ask for a replay */
    int replay_inflight;               /* a request is out */
    int64_t replay_deadline;           /* monotonic ms when we give up waiting */
    int64_t last_heard;                /* monotonic ms of the last frame or reply from it */
    int64_t hold_until;                /* monotonic ms before which a failing message waits */
    size_t pending;                    /* live records queued in this drain */
    char stream_id[STREAM_ID_LEN + 1]; /* identity of the stream we follow; "" until heard */
    int halted;                        /* its identity changed: apply nothing until reset */
} source_t;

/* A live record copied out of its ZeroMQ frame; offsets into live_arena
 * because the arena may move while it grows. */
typedef struct live_rec {
    size_t src; /* index into sources */
    int64_t seq;
    size_t id_off, id_len, type_off, type_len, msg_off, msg_len;
} live_rec_t;

struct consumer {
    void *ctx;    /* borrowed ZeroMQ context */
    loop_t *loop; /* borrowed */
    db_t *db;     /* borrowed */
    char *name;   /* consumer name, key of stream_offset */
    source_t sources[CONSUMER_MAX_SOURCES];
    size_t nsources;
    void *sub;                 /* live data and heartbeats of every source */
    consumer_hooks_t hooks;    /* apply, flush, on_commit and their arg */
    int64_t retry_at;          /* monotonic ms before which we do not touch the database */
    int64_t retry_delay;       /* current back-off */
    int drop_every;            /* test hook: drop one in this many live messages */
    uint64_t live_seen;        /* live data messages received, for the hook */
    envelope_t env;            /* reused for every message */
    msgpack_unpacked unpacked; /* reused for frames */
    msgpack_sbuffer request;   /* reused for replay requests */
    live_rec_t live[CONSUMER_BATCH_MAX];
    size_t nlive;
    char *live_arena;
    size_t live_len, live_cap;
    stream_record_t batch[CONSUMER_BATCH_MAX]; /* records handed to consumer_txn_apply */
};

/* consumer.c: a socket of type for c, connected to endpoint unless NULL;
 * NULL with err. The caller owns it. */
void *consumer_new_socket(consumer_t *c, int type, const char *endpoint, err_t *err);

/* consumer_txn.c: backs off from the database (why: its error) and marks
 * every source to be replayed from its stored offset. */
void consumer_txn_backoff(consumer_t *c, const char *why);
/* 1 when the back-off is over. */
int consumer_txn_db_ready(const consumer_t *c);
/* Creates src's offset row if missing and reads it into src. */
db_rc_t consumer_txn_load_offset(consumer_t *c, source_t *src, err_t *err);
/* Stops following src until an operator resets it: heard is the identity
 * the producer gave, not the one src's offset belongs to. */
void consumer_txn_halt(consumer_t *c, source_t *src, const char *heard);
/* 1 when heard is src's identity (adopting it if src has none yet). */
int consumer_txn_identity_ok(consumer_t *c, source_t *src, const char *heard);
/* Applies recs[0..n) of src in as few transactions as their problems allow;
 * what is not applied is asked again by replay. */
void consumer_txn_apply(consumer_t *c, source_t *src, const stream_record_t *recs, size_t n);

/* consumer_replay.c: opens src's replay socket anew (a request out is
 * abandoned with the old one) and registers it with the loop; -1 if it
 * cannot. */
int consumer_replay_reset_dealer(consumer_t *c, source_t *src);
/* The loop's reader of the replay sockets (arg the consumer_t): applies a
 * reply's records and asks for more while the producer is ahead. */
int consumer_replay_on_dealer(loop_t *loop, void *socket, void *arg);
/* Asks for a replay from src's offset (read first if not loaded), unless
 * one is out, src is halted or holding, or the database is backed off. */
void consumer_replay_request(consumer_t *c, source_t *src);

/* consumer_live.c: the loop's reader of the SUB socket (arg the
 * consumer_t): applies what arrived in order, asks replay for the rest. */
int consumer_live_on_sub(loop_t *loop, void *socket, void *arg);

#endif
