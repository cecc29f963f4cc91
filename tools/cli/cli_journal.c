/* cli_journal.c - ids and times given to submitted events, kept so that a
 * rerun sends the same ones; see cli_journal.h. */
#include "cli_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

typedef struct entry {
    char digest[CLI_JOURNAL_DIGEST_HEX + 1]; /* of the event as written */
    int occurrence;                          /* 1 for the first such event of an input */
    char id[CLI_JOURNAL_ID_LEN + 1];         /* the id it was sent with */
    int64_t time_ms;                         /* and its time */
    int used;                                /* slot taken */
} entry_t;

struct cli_journal {
    char *path;     /* the file */
    entry_t *slots; /* open addressing by digest and occurrence */
    size_t cap, n;  /* slots, and how many are used */
    int changed;    /* something to save */
};

static size_t s_hash(const char *digest, int occurrence)
{
    /* The digest is already uniform: its first 16 hex digits will do. */
    size_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h * 16 + (size_t)(digest[i] <= '9' ? digest[i] - '0' : digest[i] - 'a' + 10);
    return h ^ (size_t)occurrence * 0x9e3779b97f4a7c15u;
}

static entry_t *s_slot(const cli_journal_t *j, const char *digest, int occurrence)
{
    size_t i = s_hash(digest, occurrence) & (j->cap - 1);
    while (j->slots[i].used &&
           (j->slots[i].occurrence != occurrence || strcmp(j->slots[i].digest, digest) != 0))
        i = (i + 1) & (j->cap - 1);
    return &j->slots[i];
}

static int s_grow(cli_journal_t *j)
{
    size_t cap = j->cap ? j->cap * 2 : 1024;
    entry_t *old = j->slots;
    size_t old_cap = j->cap;
    j->slots = calloc(cap, sizeof *j->slots);
    if (!j->slots) {
        j->slots = old;
        return -1;
    }
    j->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            *s_slot(j, old[i].digest, old[i].occurrence) = old[i];
    free(old);
    return 0;
}

int cli_journal_put(cli_journal_t *j, const char *digest, int occurrence, const char *id,
                    int64_t time_ms)
{
    if ((j->n + 1) * 2 > j->cap && s_grow(j) != 0)
        return -1;
    entry_t *e = s_slot(j, digest, occurrence);
    if (!e->used)
        j->n++;
    e->used = 1;
    snprintf(e->digest, sizeof e->digest, "%s", digest);
    e->occurrence = occurrence;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->time_ms = time_ms;
    j->changed = 1;
    return 0;
}

int cli_journal_find(const cli_journal_t *j, const char *digest, int occurrence,
                     char id[CLI_JOURNAL_ID_LEN + 1], int64_t *time_ms)
{
    if (j->cap == 0)
        return -1;
    const entry_t *e = s_slot(j, digest, occurrence);
    if (!e->used)
        return -1;
    memcpy(id, e->id, CLI_JOURNAL_ID_LEN + 1);
    *time_ms = e->time_ms;
    return 0;
}

/* One line "DIGEST OCCURRENCE ID TIME" into j; 0 or -1. */
static int s_parse_line(cli_journal_t *j, const char *line)
{
    char digest[CLI_JOURNAL_DIGEST_HEX + 2], id[CLI_JOURNAL_ID_LEN + 2];
    int occurrence;
    long long t;
    char tail;
    if (sscanf(line, "%65s %d %37s %lld %c", digest, &occurrence, id, &t, &tail) != 4 ||
        strlen(digest) != CLI_JOURNAL_DIGEST_HEX ||
        strspn(digest, "0123456789abcdef") != CLI_JOURNAL_DIGEST_HEX || occurrence < 1 ||
        strlen(id) != CLI_JOURNAL_ID_LEN || t < 0)
        return -1;
    return cli_journal_put(j, digest, occurrence, id, t);
}

cli_journal_t *cli_journal_load(const char *path, err_t *err)
{
    cli_journal_t *j = calloc(1, sizeof *j);
    FILE *f = NULL;
    char line[512];
    if (!j || !(j->path = strdup(path)) || s_grow(j) != 0) {
        err_set(err, "out of memory");
        goto fail;
    }
    f = fopen(path, "r");
    if (!f && errno != ENOENT) {
        err_set(err, "journal %s: %s", path, strerror(errno));
        goto fail;
    }
    for (int lineno = 1; f && fgets(line, sizeof line, f); lineno++) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (s_parse_line(j, line) != 0) {
            err_set(err, "journal %s:%d: not a journal line (DIGEST OCCURRENCE ID TIME)", path,
                    lineno);
            goto fail;
        }
    }
    if (f)
        fclose(f);
    j->changed = 0;
    return j;
fail:
    if (f)
        fclose(f);
    cli_journal_destroy(&j);
    return NULL;
}

void cli_journal_destroy(cli_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->path);
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

int cli_journal_save(cli_journal_t *j, err_t *err)
{
    if (!j->changed)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", j->path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        err_set(err, "journal %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# airguard submit journal: the id and time the CLI gave each event that had\n"
               "# none, so that submitting the same input again sends the same events.\n"
               "# Delete it (or submit with --new) to send the events as new ones.\n"
               "# digest occurrence id time\n");
    for (size_t i = 0; i < j->cap; i++)
        if (j->slots[i].used)
            fprintf(f, "%s %d %s %" PRId64 "\n", j->slots[i].digest, j->slots[i].occurrence,
                    j->slots[i].id, j->slots[i].time_ms);
    int ok = fflush(f) == 0 && fsync(fd) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, j->path) != 0) {
        err_set(err, "journal %s: %s", j->path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    j->changed = 0;
    return 0;
}

void cli_journal_digest(const void *event, size_t len, const char *source,
                        char hex[CLI_JOURNAL_DIGEST_HEX + 1])
{
    /* A content hash, not a secret: BLAKE2b over source (with its NUL, so
     * "ab"+"c" and "a"+"bc" differ) then the event. */
    static const char key[] = "airguard submit journal 1";
    uint8_t d[32];
    crypto_generichash_state st;
    if (sodium_init() < 0) {
        /* Only its CPU feature detection failed: the portable hash works. */
    }
    crypto_generichash_init(&st, (const unsigned char *)key, sizeof key - 1, sizeof d);
    crypto_generichash_update(&st, (const unsigned char *)source, strlen(source) + 1);
    crypto_generichash_update(&st, event, len);
    crypto_generichash_final(&st, d, sizeof d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
