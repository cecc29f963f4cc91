/* rows.h - dispatch's table as rows (sql/): a task as a row of `task` and
 * back, and a record about a task as an entry of the row's history. Rows
 * are written a batch at a time: each column is a binary array
 * (pgarray.h) and one INSERT ... SELECT FROM unnest(...) writes them all.
 *
 * A task's pointers (holder, route, returned_by, community, grid, key area,
 * compound, school, outcome) are stored as the ids they point to and looked
 * up again in its subdistrict's rules and campaign when read. A task's
 * history is its records' entries (history.h) one after the other; the
 * upsert appends the batch's entries to what the row holds. */
#ifndef AIRGUARD_DISPATCH_ROWS_H
#define AIRGUARD_DISPATCH_ROWS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "decision.h"
#include "err.h"
#include "pgarray.h"
#include "rules.h"
#include "task.h"

#define DISPATCH_ROWS_TASK_COLS 36
/* The upsert's parameters: the task columns, then the history to append. */
#define DISPATCH_ROWS_TASK_PARAMS (DISPATCH_ROWS_TASK_COLS + 1)

/* SQL, malloc'd (NULL when out of memory): every column of `task` WHERE
 * where; the batch upsert of `task` ($1..$37: one array per column, then
 * the history entries to append). */
char *dispatch_rows_task_select_sql(const char *where);
char *dispatch_rows_task_upsert_sql(void);
/* SQL, malloc'd: COPY of new task rows (dispatch_rows_task_copy_row). */
char *dispatch_rows_task_copy_sql(void);
/* SQL: appends history ($2, bytea[]) to tasks ($1, uuid[]) not otherwise
 * written in the batch (a response rejected about a task it left alone). */
const char *dispatch_rows_history_append_sql(void);

/* Empties cols[DISPATCH_ROWS_TASK_PARAMS] as the upsert's binary arrays. */
void dispatch_rows_task_reset(pgarray_t *cols);
/* Appends t (of rules r) and the history entries to append to its row. */
void dispatch_rows_task_add(pgarray_t *cols, const dispatch_task_t *t, const dispatch_rules_t *r,
                            const char *history, size_t history_len);
/* The same for a task without a row yet, as a row of a binary COPY
 * (pgarray_reset_copy): new tasks are inserted that way, in bulk. */
void dispatch_rows_task_copy_row(pgarray_t *copy, const dispatch_task_t *t,
                                 const dispatch_rules_t *r, const char *history,
                                 size_t history_len);

/* Row i of a task SELECT into *t, with its rules (found by subdistrict
 * among rules[0..n)). Returns 0, or -1 with err when the row names a
 * subdistrict, kind or unit the rules do not have. */
int dispatch_rows_task_read(const PGresult *res, int i, dispatch_rules_t *const *rules, size_t n,
                            dispatch_task_t *t, const dispatch_rules_t **r, err_t *err);

#endif
