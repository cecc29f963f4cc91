/* campaignset.c - the campaigns of one county, one file per subdistrict in
 * a directory, loaded together (see include/campaignset.h). */
#include "campaignset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct campaignset {
    campaign_t **items; /* loaded campaigns, in file-name order */
    size_t n;           /* entries in items */
    campaign_t **by_id; /* the same, sorted by subdistrict id */
};

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_campaign_cmp(const void *a, const void *b)
{
    const campaign_t *x = *(campaign_t *const *)a, *y = *(campaign_t *const *)b;
    return strcmp(x->subdistrict_id, y->subdistrict_id);
}

/* Names of the regular *.yaml files of dir (no dot files), sorted. */
static int s_list_dir(const char *dir, char ***out, size_t *n_out, err_t *err)
{
    DIR *d = NULL;
    char **names = NULL, *path = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *de;

    d = opendir(dir);
    if (!d) {
        err_set(err, "%s: cannot open directory: %s", dir, strerror(errno));
        goto out;
    }
    for (;;) {
        struct stat st;
        size_t len;
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno) {
                err_set(err, "%s: cannot read directory: %s", dir, strerror(errno));
                goto out;
            }
            break;
        }
        len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        path = malloc(strlen(dir) + 1 + len + 1);
        if (!path) {
            err_set(err, "%s: out of memory", dir);
            goto out;
        }
        sprintf(path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            path = NULL;
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                err_set(err, "%s: out of memory", dir);
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        names[n++] = path;
        path = NULL;
    }
    if (n == 0) {
        err_set(err, "%s: no campaign files (*.yaml) in directory", dir);
        goto out;
    }
    qsort(names, n, sizeof *names, s_name_cmp);
    *out = names;
    *n_out = n;
    names = NULL;
    n = 0;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(path);
    if (d)
        closedir(d);
    return rc;
}

campaignset_t *campaignset_load_dir(const char *dir, err_t *err)
{
    campaignset_t *set = NULL, *result = NULL;
    char **paths = NULL;
    size_t n_paths = 0;

    if (!dir) {
        err_set(err, "campaignset_load_dir: no directory");
        goto out;
    }
    if (s_list_dir(dir, &paths, &n_paths, err))
        goto out;
    set = calloc(1, sizeof *set);
    if (!set || !(set->items = calloc(n_paths, sizeof *set->items)) ||
        !(set->by_id = calloc(n_paths, sizeof *set->by_id))) {
        err_set(err, "%s: out of memory", dir);
        goto out;
    }
    for (size_t i = 0; i < n_paths; i++) {
        campaign_t *c = campaign_load(paths[i], err);
        if (!c)
            goto out;
        /* Same subdistrict in two files: blame the later file. */
        for (size_t j = 0; j < set->n; j++) {
            if (strcmp(set->items[j]->subdistrict_id, c->subdistrict_id) == 0) {
                config_error(campaign_subdistrict_node(c), err,
                             "subdistrict '%s' is already defined in %s:%d", c->subdistrict_id,
                             set->items[j]->path,
                             config_line(campaign_subdistrict_node(set->items[j])));
                campaign_destroy(&c);
                goto out;
            }
        }
        set->items[set->n] = c;
        set->by_id[set->n] = c;
        set->n++;
    }
    qsort(set->by_id, set->n, sizeof *set->by_id, s_campaign_cmp);
    result = set;
    set = NULL;
out:
    for (size_t i = 0; i < n_paths; i++)
        free(paths[i]);
    free(paths);
    campaignset_destroy(&set);
    return result;
}

void campaignset_destroy(campaignset_t **self_p)
{
    campaignset_t *set;
    if (!self_p || !*self_p)
        return;
    set = *self_p;
    for (size_t i = 0; i < set->n; i++)
        campaign_destroy(&set->items[i]);
    free(set->items);
    free(set->by_id);
    free(set);
    *self_p = NULL;
}

size_t campaignset_count(const campaignset_t *set)
{
    return set ? set->n : 0;
}

const campaign_t *campaignset_at(const campaignset_t *set, size_t i)
{
    return set && i < set->n ? set->items[i] : NULL;
}

const campaign_t *campaignset_find(const campaignset_t *set, const char *subdistrict_id)
{
    size_t lo = 0, hi;
    if (!set || !subdistrict_id)
        return NULL;
    hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int rc = strcmp(subdistrict_id, set->by_id[mid]->subdistrict_id);
        if (rc == 0)
            return set->by_id[mid];
        if (rc < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
