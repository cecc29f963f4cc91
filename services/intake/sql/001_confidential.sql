-- Fields of submitted events that must not travel with the event (the
-- catalogue flags them confidential, e.g. a tipster's phone number). The
-- event in stream_log and on the events stream carries everything else;
-- this table, readable only by intake's role, keeps these under the
-- event's message id.
CREATE TABLE confidential (
    msg_id      uuid PRIMARY KEY,
    subdistrict text NOT NULL,
    type        text NOT NULL,
    fields      bytea NOT NULL,             -- msgpack map of the removed fields
    created_at  timestamptz NOT NULL DEFAULT now()
);
