/* main.c - airguard-dispatch, for now only its rule checker:
 *
 *   airguard-dispatch --check-rules FILE...
 *
 * loads each campaign file and its `dispatch:` section and prints
 * "FILE: OK (subdistrict, N units, N routes)" for each, or the first
 * mistake as "file:line: message" on stderr; exit 0 when all are good,
 * 1 otherwise, 2 on a usage error. The service wiring (consume the events
 * streams, apply decisions through the store, timers) replaces this file;
 * no logic lives here. */
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "rules.h"

static int s_check(const char *path)
{
    err_t err = {{0}};
    int rc = 1;
    campaign_t *c = campaign_load(path, &err);
    dispatch_rules_t *r = c ? dispatch_rules_load(c, &err) : NULL;
    if (!r) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    printf("%s: OK (%s, %zu units, %zu routes)\n", path, campaign_subdistrict(c), r->n_units,
           r->n_routes);
    rc = 0;
out:
    dispatch_rules_destroy(&r);
    campaign_destroy(&c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "--check-rules") != 0) {
        fprintf(stderr, "usage: airguard-dispatch --check-rules FILE...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++)
        if (s_check(argv[i]) != 0)
            rc = 1;
    return rc;
}
