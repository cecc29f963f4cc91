/* fuzz_campaign.c - the campaign loader (include/campaign.h) on a seed file
 * of arbitrary bytes: YAML parsing, every section's checks, references,
 * dates. campaign_load() reads a path, so each input is written to one
 * private temporary file first.
 *
 * Promises checked: a refusal names the file; a loaded campaign answers
 * lookups of its own ids and of its sensitive dates. */
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "fuzz.h"

static char path[64];
static int fd = -1;

static void s_unlink(void)
{
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/airguard-fuzz-XXXXXX", dir);
    if ((fd = mkstemp(path)) < 0) {
        perror("fuzz_campaign: mkstemp");
        exit(2);
    }
    atexit(s_unlink);
    return 0;
}

static void s_write(const uint8_t *data, size_t size)
{
    FUZZ_REQUIRE(ftruncate(fd, 0) == 0, "ftruncate");
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        FUZZ_REQUIRE(n > 0, "pwrite");
        done += (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    err_t err;
    s_write(data, size);
    campaign_t *c = campaign_load(path, &err);
    if (!c) {
        FUZZ_REQUIRE(strstr(err.msg, path) != NULL, "refusal does not name the file: %s", err.msg);
        return 0;
    }
    FUZZ_REQUIRE(c->subdistrict_id && !strcmp(campaign_subdistrict(c), c->subdistrict_id),
                 "no subdistrict");
    for (size_t i = 0; i < c->n_grids; i++)
        FUZZ_REQUIRE(campaign_find_grid(c, c->grids[i].id) == &c->grids[i], "grid lookup");
    for (size_t i = 0; i < c->n_communities; i++)
        FUZZ_REQUIRE(campaign_find_community(c, c->communities[i].id) == &c->communities[i],
                     "community lookup");
    for (size_t i = 0; i < c->n_sensitive; i++) {
        int32_t d = c->sensitive[i].from;
        FUZZ_REQUIRE(campaign_sensitive_on(c, d) != NULL, "sensitive date %d not found", d);
    }
    campaign_destroy(&c);
    return 0;
}
