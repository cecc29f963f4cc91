-- A task's history moves into its row, and the partial index on open tasks
-- goes (docs/dispatch.md, "Store").
--
-- history: every record the dispatch stream carried about the task, in
-- order, as concatenated msgpack maps in the shape the `task` query
-- returns. The batch upsert appends to it on the server (history =
-- task.history || excluded.history), so a task's history costs no row and
-- no index of its own: a separate history table was a third of dispatch's
-- database time per event.
--
-- task_open served no query: open tasks are read once, at start (a
-- sequential scan), and answered from memory after that; keeping it cost
-- an index entry per task written.
--
-- Dispatch had not been released when this was written: task_history's
-- rows are not carried over.
ALTER TABLE task ADD COLUMN history bytea NOT NULL DEFAULT '';
DROP INDEX task_open;
DROP TABLE task_history;
