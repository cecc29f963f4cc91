/* yamlpack.h - YAML text to msgpack, for people who write events by hand
 * (the CLI's submit reads JSON or YAML).
 *
 * One YAML document (libyaml). Quoted scalars are strings; plain scalars
 * are typed the way YAML 1.2's core schema does: null / ~ / empty are nil,
 * true / false are booleans, decimal integers that fit int64 are ints,
 * decimal numbers with a point or exponent are floats, everything else is a
 * string. Nesting is bounded, and aliases (*x) are refused, as in
 * configuration files: expanding them lets a few hundred bytes stand for
 * billions of nodes. */
#ifndef AIRGUARD_YAMLPACK_H
#define AIRGUARD_YAMLPACK_H

#include <msgpack.h>
#include <stddef.h>

#include "err.h"

#define YAMLPACK_MAX_DEPTH 32

/* Packs the document in text into pk. Returns 0, or -1 with err naming
 * name, the line and the problem. */
int yamlpack_parse(const char *name, const char *text, size_t len, msgpack_packer *pk, err_t *err);

#endif
