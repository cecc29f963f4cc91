/* campaignset.h - the campaigns of one county: one campaign file per
 * subdistrict in a directory (seeds/), loaded together, so a service serves
 * every subdistrict of the county and finds a message's campaign by the
 * envelope's subdistrict. A campaignset_t owns its campaigns; nothing is
 * modified after loading, so a set may be read from several threads. */
#ifndef AIRGUARD_CAMPAIGNSET_H
#define AIRGUARD_CAMPAIGNSET_H

#include <stddef.h>

#include "campaign.h"
#include "err.h"

typedef struct campaignset campaignset_t;

/* Loads every "*.yaml" file of dir (names starting with '.' are skipped)
 * in byte order of their names. Returns NULL and fills err when the
 * directory cannot be read, holds no such file, any file fails to load
 * (the message is that file's), or two files name the same subdistrict
 * ("b.yaml:3: subdistrict 'x' is already defined in a.yaml:3"). The caller
 * owns the set and frees it with campaignset_destroy(). */
campaignset_t *campaignset_load_dir(const char *dir, err_t *err);

/* Frees the set and every campaign in it; sets *self_p to NULL; safe on
 * NULL and twice. */
void campaignset_destroy(campaignset_t **self_p);

/* Number of campaigns, and the i-th in file-name order (NULL past the end). */
size_t campaignset_count(const campaignset_t *set);
const campaign_t *campaignset_at(const campaignset_t *set, size_t i);

/* The campaign of a subdistrict; NULL when none (or id is NULL). Borrowed. */
const campaign_t *campaignset_find(const campaignset_t *set, const char *subdistrict_id);

#endif
