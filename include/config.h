/* config.h - YAML documents as a read-only tree, with errors that name
 * file, line and key.
 *
 * config_load() parses one YAML file with libyaml into a small tree of maps,
 * sequences and scalars, each node remembering its line. The typed getters
 * below check presence, type and range and, on failure, write an error of
 * the form
 *     "seeds/baiyang-2019.yaml:42: key 'grids': expected a sequence"
 * into the caller's err_t, so that every service and the seed loader report
 * configuration mistakes the same way. Anchors/aliases and tags are refused
 * (a campaign file has no need of them, and they make line numbers lie).
 *
 * Ownership: a config_t owns every node and string reachable from it; all
 * const char * returned here are borrowed and live until config_destroy(). */
#ifndef AIRGUARD_CONFIG_H
#define AIRGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct config config_t;
typedef struct config_node config_node_t;

typedef enum config_kind { CONFIG_SCALAR, CONFIG_MAP, CONFIG_SEQ } config_kind_t;

/* Largest file config_load() will read; larger files are an error. */
#define CONFIG_MAX_FILE_BYTES (16u * 1024u * 1024u)

/* Parses the file at path. Returns NULL and fills err ("path:line: ...")
 * on a missing/unreadable file, a YAML syntax error, an empty document,
 * more than one document, an alias/anchor, or a duplicate map key. */
config_t *config_load(const char *path, err_t *err);

/* Same, from a buffer; name is used in error messages in place of a path. */
config_t *config_parse(const char *name, const char *text, size_t len, err_t *err);

/* Frees the tree and sets *self_p to NULL; safe on NULL and twice. */
void config_destroy(config_t **self_p);

/* The path or name the tree was loaded from, for messages. */
const char *config_path(const config_t *cfg);

/* The document's top node (never NULL for a loaded config). */
const config_node_t *config_root(const config_t *cfg);

/* Node inspection. */
config_kind_t config_kind(const config_node_t *node);
int config_line(const config_node_t *node);           /* 1-based */
const config_t *config_of(const config_node_t *node); /* owning tree */
size_t config_len(const config_node_t *node);         /* entries of a map/seq, 0 for scalars */
const config_node_t *config_at(const config_node_t *node,
                               size_t i);                      /* i-th value of a map or seq */
const char *config_key_at(const config_node_t *map, size_t i); /* i-th key of a map */
const char *config_scalar(const config_node_t *node); /* text of a scalar, NULL otherwise */

/* Lookup of a key in a map; NULL when absent or when node is not a map. */
const config_node_t *config_get(const config_node_t *map, const char *key);

/* Typed getters. Each returns 0 on success and -1 with err filled in
 * ("file:line: key 'k': missing" / "...: expected an integer, got 'abc'" /
 * "...: 70000 is out of range 1..65535"). The line is the value's line, or
 * the map's line when the key is missing.
 *
 * The _opt variants return 0 and leave *out untouched when the key is
 * absent (so the caller's default stands); a present value of the wrong
 * type is still an error. */
int config_string(const config_node_t *map, const char *key, const char **out, err_t *err);
int config_string_opt(const config_node_t *map, const char *key, const char **out, err_t *err);
int config_int(const config_node_t *map, const char *key, int64_t min, int64_t max, int64_t *out,
               err_t *err);
int config_int_opt(const config_node_t *map, const char *key, int64_t min, int64_t max,
                   int64_t *out, err_t *err);
int config_double(const config_node_t *map, const char *key, double min, double max, double *out,
                  err_t *err);
int config_bool(const config_node_t *map, const char *key, bool *out, err_t *err);
int config_bool_opt(const config_node_t *map, const char *key, bool *out, err_t *err);

/* Require a map / sequence under key (or at the node itself). */
int config_map(const config_node_t *map, const char *key, const config_node_t **out, err_t *err);
int config_seq(const config_node_t *map, const char *key, const config_node_t **out, err_t *err);
int config_seq_opt(const config_node_t *map, const char *key, const config_node_t **out,
                   err_t *err);

/* Fills err with "file:line: <formatted message>" for the given node; for
 * callers' own semantic checks (unknown community id, bad date ...). Always
 * returns -1 so it can be returned directly. */
int config_error(const config_node_t *node, err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rejects keys of map that are not in the NULL-terminated list allowed,
 * naming the first unknown key and its line (catches typos in files). */
int config_only_keys(const config_node_t *map, const char *const *allowed, err_t *err);

#endif
