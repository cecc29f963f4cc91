-- Timers and stream identity (docs/streams.md, "Timers" and "Stream
-- identity").

-- Timers: a service's deadlines, committed with the decision that set them
-- and deleted in the transaction that fires them, so each fires exactly
-- once whatever crashes. key names the deadline ("task 42 ack"); setting a
-- key again moves it.
CREATE TABLE timer (
    key        text PRIMARY KEY,
    kind       text NOT NULL,
    due_ms     bigint NOT NULL,
    payload    bytea NOT NULL DEFAULT '',
    failures   integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX timer_due ON timer (due_ms, key);

-- Producer: the stream's identity, made with it. A stream recreated from
-- scratch (a database replaced or restored wrongly) gets a new one, so its
-- consumers can tell it from the stream they followed.
ALTER TABLE stream_head ADD COLUMN stream_id uuid NOT NULL DEFAULT gen_random_uuid();

-- Consumer: the identity of the stream the offset belongs to (NULL until
-- first heard), and why the consumer stopped following it (NULL while it
-- follows).
ALTER TABLE stream_offset ADD COLUMN stream_id uuid;
ALTER TABLE stream_offset ADD COLUMN halted text;
