-- Dispatch's own tables (docs/dispatch.md, "Store"). The stream tables
-- (stream_log, timer, ...) come from common/sql.
--
-- A task is one row, rewritten whole when a decision changes it: the store
-- keeps every open task in memory and writes the batch's changed tasks with
-- one statement. Pointers of the in-memory task (holder, place, route) are
-- stored as the ids they point to and looked up in the campaign's rules on
-- load; times are UTC milliseconds, 0 meaning "not yet".
CREATE TABLE task (
    id               uuid PRIMARY KEY,  -- derived from the opening event's id
    subdistrict      text NOT NULL,
    event            uuid NOT NULL,     -- the event that opened it
    kind             text NOT NULL,     -- event kind, or task.done:<outcome>
    priority         text NOT NULL,     -- low / normal / urgent
    state            text NOT NULL,     -- created, acknowledged, arrived, escalated,
                                        -- done, returned, merged, closed
    holder           text,              -- unit id of who must act now
    route            text NOT NULL,     -- why it holds it: route name, default, fallback
    held_by_fallback boolean NOT NULL,
    returns          integer NOT NULL,
    returned_by      text NOT NULL,     -- unit ids, comma-separated, in order
    community        text, grid text, key_area text, compound text, school text,
    lat              double precision,  -- NULL when the report had no point
    lon              double precision,
    police_liaison   boolean NOT NULL,
    sensitive        boolean NOT NULL,
    created_ms       bigint NOT NULL,
    assigned_ms      bigint NOT NULL,
    acked_ms         bigint NOT NULL,
    arrived_ms       bigint NOT NULL,
    done_ms          bigint NOT NULL,
    last_report_ms   bigint NOT NULL,
    reports          integer NOT NULL,
    due_ack_ms       bigint NOT NULL,
    due_arrive_ms    bigint NOT NULL,
    due_resolve_ms   bigint NOT NULL,
    esc_stage        text,              -- stage being escalated, NULL when none
    esc_step         integer NOT NULL,
    esc_round        integer NOT NULL,
    merged_into      uuid,
    outcome          text,
    is_open          boolean NOT NULL,  -- still someone's job: what the store loads at start
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_open ON task (subdistrict, holder) WHERE is_open;

-- Every record the dispatch stream carries about a task, in order: the
-- task's history for the `task` query (the stream log holds the same as
-- msgpack, which SQL cannot read).
CREATE TABLE task_history (
    id      bigserial PRIMARY KEY,      -- order only (gaps are fine here)
    task    uuid NOT NULL,
    type    text NOT NULL,              -- dispatch.task_created ...
    at_ms   bigint NOT NULL,
    event   text NOT NULL,              -- the input event, '' when a timer fired
    unit    text NOT NULL,              -- addressed unit, '' when none
    role    text NOT NULL,              -- deputies / leaders / ''
    why     text NOT NULL,
    stage   text NOT NULL,
    step    integer NOT NULL,
    round   integer NOT NULL,
    by_unit text NOT NULL,              -- rejected responses: who claimed
    reason  text NOT NULL
);
CREATE INDEX task_history_task ON task_history (task, id);
