/* mpjson.h - msgpack <-> JSON for people and scripts: the CLI prints replies
 * as JSON and reads events written as JSON.
 *
 * msgpack -> JSON: bin is written as {"$bin": "<hex>"}, ext as
 * {"$ext": type, "hex": "..."}; map keys that are not strings are written as
 * their JSON text in a string. Strings are UTF-8 and escaped as JSON.
 *
 * JSON -> msgpack: strict RFC 8259 (no comments, no trailing commas);
 * integers that fit int64 become msgpack ints, other numbers floats;
 * {"$bin": "<hex>"} becomes bin. Depth and size are bounded. */
#ifndef AIRGUARD_MPJSON_H
#define AIRGUARD_MPJSON_H

#include <msgpack.h>
#include <stdio.h>

#include "err.h"

#define MPJSON_MAX_DEPTH 32

/* Writes o as one line of JSON (no trailing newline). */
void mpjson_print(FILE *out, const msgpack_object *o);

/* Parses the JSON text [text, text+len) and packs it into pk. Returns 0, or
 * -1 with err naming the line and column of the problem. */
int mpjson_parse(const char *text, size_t len, msgpack_packer *pk, err_t *err);

#endif
