/* query.h - dispatch's read-only control ops (docs/protocol.md, section
 * "Dispatch queries"):
 *
 *   task  {"id"}                        one task, open or not, with its full
 *                                       history (every record about it)
 *   tasks {"unit"?, "community"?, "subdistrict"?, "overdue"?: bool, "limit"?}
 *                                       open tasks (and only overdue ones)
 *   units {"subdistrict"?}              every unit and the open tasks it holds
 *
 * Open tasks are answered from the store's memory, the rest from its
 * tables. Ops run between transactions, so they see committed state. */
#ifndef AIRGUARD_DISPATCH_QUERY_H
#define AIRGUARD_DISPATCH_QUERY_H

#include "service.h"
#include "store.h"

/* Registers the three ops on svc's control socket; -1 with err when taken. */
int dispatch_query_register(service_t *svc, dispatch_store_t *store, err_t *err);

#endif
