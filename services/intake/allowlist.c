/* allowlist.c - which clients may submit what: the file of client public
 * keys, each under a source name with the event types and subdistricts it
 * may send (see allowlist.h for the layout). The ZAP handler asks it about a
 * key; every submit is then checked against the entry of its sender. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"

#include "catalogue.h"
#include "config.h"
#include "curvekey.h"

#define ALLOW_MAX_ITEMS 256 /* keys, types or subdistricts per client */

typedef struct client {
    const char *source; /* borrowed from the config tree */
    const char *types[ALLOW_MAX_ITEMS];
    size_t ntypes;
    const char *subdistricts[ALLOW_MAX_ITEMS]; /* none: every subdistrict */
    size_t nsubdistricts;
} client_t;

typedef struct key_entry {
    uint8_t key[32];
    size_t client; /* index into clients */
} key_entry_t;

struct intake_allowlist {
    config_t *cfg; /* owns every string the clients point to */
    client_t *clients;
    size_t nclients;
    key_entry_t *keys;
    size_t nkeys;
};

/* True when pattern ("*", "patrol.*" or an exact type) matches type. */
static bool s_type_matches(const char *pattern, const char *type)
{
    size_t n = strlen(pattern);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(pattern, type, n - 1) == 0;
    return strcmp(pattern, type) == 0;
}

/* The envelope's rule for source and subdistrict names: 1..63 bytes of
 * [A-Za-z0-9_.-]. A listed name that breaks it could never match a
 * message, so it is a mistake in the file, said at load. */
static bool s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ENVELOPE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* A pattern must match at least one catalogue type: a typo would
 * otherwise silently forbid what was meant to be allowed. */
static bool s_pattern_known(const char *pattern)
{
    for (size_t i = 0; i < catalogue_count(); i++)
        if (s_type_matches(pattern, catalogue_at(i)->name))
            return true;
    return false;
}

/* Reads a sequence of scalars under key into out (at most cap). */
static int s_scalars(const config_node_t *map, const char *key, bool required, const char **out,
                     size_t *n, err_t *err)
{
    const config_node_t *seq = NULL;
    *n = 0;
    if ((required ? config_seq(map, key, &seq, err) : config_seq_opt(map, key, &seq, err)) != 0)
        return -1;
    if (!seq)
        return 0;
    if (config_len(seq) == 0 || config_len(seq) > ALLOW_MAX_ITEMS)
        return config_error(seq, err, "key '%s': expected 1..%d entries", key, ALLOW_MAX_ITEMS);
    for (size_t i = 0; i < config_len(seq); i++) {
        const char *s = config_scalar(config_at(seq, i));
        if (!s || !*s)
            return config_error(config_at(seq, i), err, "key '%s': expected a string", key);
        out[(*n)++] = s;
    }
    return 0;
}

static int s_load_client(intake_allowlist_t *self, const config_node_t *item, size_t index,
                         err_t *err)
{
    static const char *const keys[] = {"source", "keys", "types", "subdistricts", NULL};
    client_t *c = &self->clients[index];
    const char *key_text[ALLOW_MAX_ITEMS];
    size_t nkeys = 0;
    if (config_only_keys(item, keys, err) != 0 ||
        config_string(item, "source", &c->source, err) != 0 ||
        s_scalars(item, "keys", true, key_text, &nkeys, err) != 0 ||
        s_scalars(item, "types", true, c->types, &c->ntypes, err) != 0 ||
        s_scalars(item, "subdistricts", false, c->subdistricts, &c->nsubdistricts, err) != 0)
        return -1;
    if (!s_name_ok(c->source))
        return config_error(item, err,
                            "source '%s': expected 1..%d characters of [A-Za-z0-9_.-] (the "
                            "envelope's rule)",
                            c->source, ENVELOPE_NAME_MAX);
    for (size_t i = 0; i < c->nsubdistricts; i++)
        if (!s_name_ok(c->subdistricts[i]))
            return config_error(item, err,
                                "source '%s': subdistrict '%s' is not a valid subdistrict id",
                                c->source, c->subdistricts[i]);
    for (size_t i = 0; i < index; i++)
        if (strcmp(self->clients[i].source, c->source) == 0)
            return config_error(item, err, "source '%s' is listed twice", c->source);
    for (size_t i = 0; i < c->ntypes; i++)
        if (!s_pattern_known(c->types[i]))
            return config_error(item, err, "type '%s' matches no event type of the catalogue",
                                c->types[i]);
    key_entry_t *grown = realloc(self->keys, (self->nkeys + nkeys) * sizeof *grown);
    if (!grown)
        return config_error(item, err, "out of memory");
    self->keys = grown;
    for (size_t i = 0; i < nkeys; i++) {
        key_entry_t *k = &self->keys[self->nkeys];
        if (curvekey_parse(key_text[i], k->key, err) != 0)
            return config_error(item, err,
                                "source '%s': key %zu is not a 40-character Z85 "
                                "public key (quote it with ')",
                                c->source, i + 1);
        for (size_t j = 0; j < self->nkeys; j++)
            if (memcmp(self->keys[j].key, k->key, 32) == 0)
                return config_error(item, err, "source '%s': key %zu is already listed", c->source,
                                    i + 1);
        k->client = index;
        self->nkeys++;
    }
    return 0;
}

intake_allowlist_t *intake_allowlist_load(const char *path, err_t *err)
{
    static const char *const top[] = {"clients", NULL};
    const config_node_t *seq = NULL;
    intake_allowlist_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, "out of memory");
        return NULL;
    }
    if (!(self->cfg = config_load(path, err)))
        goto fail;
    const config_node_t *root = config_root(self->cfg);
    if (config_only_keys(root, top, err) != 0 || config_seq(root, "clients", &seq, err) != 0)
        goto fail;
    self->nclients = config_len(seq);
    if (!(self->clients = calloc(self->nclients ? self->nclients : 1, sizeof *self->clients))) {
        err_set(err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < self->nclients; i++)
        if (s_load_client(self, config_at(seq, i), i, err) != 0)
            goto fail;
    return self;
fail:
    intake_allowlist_destroy(&self);
    return NULL;
}

void intake_allowlist_destroy(intake_allowlist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    intake_allowlist_t *self = *self_p;
    free(self->clients);
    free(self->keys);
    config_destroy(&self->cfg);
    free(self);
    *self_p = NULL;
}

size_t intake_allowlist_count(const intake_allowlist_t *self)
{
    return self ? self->nclients : 0;
}

const char *intake_allowlist_source_of(const intake_allowlist_t *self, const uint8_t key[32])
{
    for (size_t i = 0; self && i < self->nkeys; i++)
        if (memcmp(self->keys[i].key, key, 32) == 0)
            return self->clients[self->keys[i].client].source;
    return NULL;
}

bool intake_allowlist_permits(const intake_allowlist_t *self, const char *source,
                              const envelope_t *env, const char **field)
{
    const client_t *c = NULL;
    *field = "source";
    for (size_t i = 0; self && source && i < self->nclients; i++)
        if (strcmp(self->clients[i].source, source) == 0)
            c = &self->clients[i];
    if (!c || strcmp(env->source, c->source) != 0)
        return false;
    *field = "type";
    bool ok = false;
    for (size_t i = 0; i < c->ntypes && !ok; i++)
        ok = s_type_matches(c->types[i], env->type);
    if (!ok)
        return false;
    *field = "subdistrict";
    ok = c->nsubdistricts == 0;
    for (size_t i = 0; i < c->nsubdistricts && !ok; i++)
        ok = strcmp(c->subdistricts[i], env->subdistrict) == 0;
    if (!ok)
        return false;
    *field = NULL;
    return true;
}
