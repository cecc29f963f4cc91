/* rows.h - dispatch's two tables as rows (sql/001_tasks.sql): a task as a
 * row of `task` and back, and a record about a task as a row of
 * `task_history`. Rows are written a batch at a time: each column is a
 * PostgreSQL array literal (pgarray.h) and one INSERT ... SELECT FROM
 * unnest(...) writes them all.
 *
 * A task's pointers (holder, route, returned_by, community, grid, key area,
 * compound, school, outcome) are stored as the ids they point to and looked
 * up again in its subdistrict's rules and campaign when read. */
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
#define DISPATCH_ROWS_HISTORY_COLS 12

/* SQL, malloc'd (NULL when out of memory): every column of `task` WHERE
 * where; the batch upsert of `task` ($1..$36: one array per column); the
 * batch insert of `task_history` ($1..$12). */
char *dispatch_rows_task_select_sql(const char *where);
char *dispatch_rows_task_upsert_sql(void);
char *dispatch_rows_history_insert_sql(void);

/* Appends t (of rules r) to the column arrays cols[DISPATCH_ROWS_TASK_COLS]. */
void dispatch_rows_task_add(pgarray_t *cols, const dispatch_task_t *t, const dispatch_rules_t *r);

/* Row i of a task SELECT into *t, with its rules (found by subdistrict
 * among rules[0..n)). Returns 0, or -1 with err when the row names a
 * subdistrict, kind or unit the rules do not have. */
int dispatch_rows_task_read(const PGresult *res, int i, dispatch_rules_t *const *rules, size_t n,
                            dispatch_task_t *t, const dispatch_rules_t **r, err_t *err);

/* Appends rec (about a task) to cols[DISPATCH_ROWS_HISTORY_COLS]. */
void dispatch_rows_history_add(pgarray_t *cols, const dispatch_record_t *rec);

#endif
