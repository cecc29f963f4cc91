-- Stream contract tables, present in every service's schema
-- (docs/streams.md explains each). A service uses the producer half if it
-- publishes a stream, the consumer half if it follows one.

-- Producer: one row per stream this schema writes; its row lock makes
-- sequence numbers gap-free and commit-ordered.
CREATE TABLE stream_head (
    stream   text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);

-- Producer: the log itself, what replay serves. body is the message envelope
-- (msgpack) exactly as published.
CREATE TABLE stream_log (
    stream     text NOT NULL,
    seq        bigint NOT NULL,
    msg_id     uuid NOT NULL,
    type       text NOT NULL,
    body       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, seq)
);
-- The idempotency key: a message id is stored once, whichever instance took it.
CREATE UNIQUE INDEX stream_log_msg_id ON stream_log (msg_id);

-- Consumer: how far each consumer has applied each stream it follows,
-- updated in the same transaction as the effects.
CREATE TABLE stream_offset (
    consumer   text NOT NULL,
    stream     text NOT NULL,
    applied    bigint NOT NULL DEFAULT 0 CHECK (applied >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream)
);

-- Consumer: failures of a message whose effect could not be applied, kept
-- in the database so that a crash does not reset the count.
CREATE TABLE stream_failure (
    consumer   text NOT NULL,
    stream     text NOT NULL,
    seq        bigint NOT NULL,
    failures   integer NOT NULL,
    last_error text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream, seq)
);

-- Consumer: messages that can never be processed, with the reason; the
-- stream moved on past them.
CREATE TABLE dead_letter (
    id         bigserial PRIMARY KEY,
    consumer   text NOT NULL,
    stream     text NOT NULL,
    seq        bigint NOT NULL,
    msg_id     text,
    type       text,
    body       bytea NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, stream, seq)
);
