/* test_cli_submit.c - the CLI's submit input (tools/cli/cli_submit.c) and
 * journal (tools/cli/cli_journal.c): the line where each event starts, in
 * every input form; ids and times that stay the same for a rerun of the
 * same input, also when events are inserted above, and change with --new;
 * a journal that survives a save and a load and refuses a damaged line. */
#include "check.h"
#include "cli_journal.h"
#include "cli_submit.h"
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];

static void s_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", s_dir, name);
}

/* The lines of text's events, as "l1 l2 ..." in out; -1 when parsing fails. */
static int s_lines(const char *text, char *out, size_t size)
{
    cli_event_t *ev = NULL;
    size_t n = 0, k = 0;
    err_t err;
    out[0] = '\0';
    if (cli_submit_parse("t", text, strlen(text), &ev, &n, &err) != 0) {
        snprintf(out, size, "%s", err.msg);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, size - k, "%s%d", i ? " " : "", ev[i].line);
    cli_submit_free(ev, n);
    return 0;
}

static void test_lines_of_every_form(void)
{
    char got[256];
    CHECK(s_lines("{\"a\":1}\n\n  {\"b\":2}\n{\"c\":\"}\\\"{\"}\n", got, sizeof got) == 0);
    CHECKF(strcmp(got, "1 3 4") == 0, "JSON lines: %s", got);
    CHECK(s_lines("\n\n{\"a\":\n 1}\n", got, sizeof got) == 0);
    CHECKF(strcmp(got, "3") == 0, "one JSON object: %s", got);
    CHECK(s_lines("[\n {\"a\": \"],[\"},\n\n {\"b\": [1, {\"c\": 2}]}, {\"d\": 3}\n]", got,
                  sizeof got) == 0);
    CHECKF(strcmp(got, "2 4 4") == 0, "JSON array: %s", got);
    CHECK(s_lines("# c\n- a: 1\n  b: 2\n\n- {c: 3}\n-\n  d: 4\n", got, sizeof got) == 0);
    CHECKF(strcmp(got, "2 5 7") == 0, "YAML sequence: %s", got);
    CHECK(s_lines("# c\n\ntype: x\nbody: {}\n", got, sizeof got) == 0);
    CHECKF(strcmp(got, "3") == 0, "YAML mapping: %s", got);
    CHECK(s_lines("{\"a\":1}\n{\"a\":\n", got, sizeof got) == -1);
    CHECKF(CONTAINS(got, "t:2:"), "a bad JSON line is named: %s", got);
}

/* Parses and completes text with the journal at path; copies the ids and
 * times into ids[] / times[]. Returns the number of events or -1. */
static int s_complete(const char *text, const char *journal, bool fresh, char ids[][37],
                      int64_t *times, err_t *err)
{
    cli_event_t *ev = NULL;
    size_t n = 0;
    if (cli_submit_parse("t", text, strlen(text), &ev, &n, err) != 0 ||
        cli_submit_complete(ev, n, "cli", journal, fresh, err) != 0) {
        cli_submit_free(ev, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        envelope_t env;
        envelope_init(&env);
        err_t e2;
        memcpy(ids[i], ev[i].id, 37);
        times[i] = envelope_decode(&env, ev[i].ready.data, ev[i].ready.size, &e2) == ENVELOPE_OK
                       ? env.time_ms
                       : -1;
        envelope_fini(&env);
    }
    cli_submit_free(ev, n);
    return (int)n;
}

static void test_rerun_keeps_ids_and_times(void)
{
    char journal[128], ids1[4][37], ids2[5][37], ids3[4][37];
    int64_t t1[4], t2[5], t3[4];
    err_t err;
    s_path(journal, sizeof journal, "a.journal");
    const char *text = "{\"type\":\"x.y\",\"subdistrict\":\"s\",\"body\":{\"k\":1}}\n"
                       "{\"type\":\"x.y\",\"subdistrict\":\"s\",\"body\":{\"k\":2}}\n"
                       "{\"type\":\"x.y\",\"subdistrict\":\"s\",\"body\":{\"k\":1}}\n"
                       "{\"id\":\"5f0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f\",\"time\":7,"
                       "\"type\":\"x.y\",\"subdistrict\":\"s\",\"body\":{}}\n";
    CHECKF(s_complete(text, journal, false, ids1, t1, &err) == 4, "%s", err.msg);
    CHECK(t1[0] > 0 && t1[3] == 7);
    CHECK(strcmp(ids1[0], ids1[2]) != 0); /* identical events are two events */
    CHECK(strcmp(ids1[3], "5f0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f") == 0);
    /* The same input with one event inserted at the top. */
    char text2[1024];
    snprintf(text2, sizeof text2, "{\"type\":\"x.y\",\"subdistrict\":\"s\",\"body\":{\"k\":9}}\n%s",
             text);
    CHECKF(s_complete(text2, journal, false, ids2, t2, &err) == 5, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        CHECKF(strcmp(ids2[i + 1], ids1[i]) == 0, "event %d keeps its id", i);
        CHECKF(t2[i + 1] == t1[i], "event %d keeps its time", i);
    }
    CHECK(strcmp(ids2[0], ids1[0]) != 0 && strcmp(ids2[0], ids1[1]) != 0);
    /* --new: fresh ids, and the journal remembers those from now on. */
    CHECKF(s_complete(text, journal, true, ids3, t3, &err) == 4, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        CHECKF(strcmp(ids3[i], ids1[i]) != 0, "--new: event %d gets a new id", i);
    CHECK(strcmp(ids3[3], ids1[3]) == 0); /* its own id is its own */
    CHECKF(s_complete(text, journal, false, ids1, t1, &err) == 4, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        CHECKF(strcmp(ids3[i], ids1[i]) == 0 && t3[i] == t1[i], "after --new, event %d", i);
}

static void test_other_source_other_events(void)
{
    char d1[CLI_JOURNAL_DIGEST_HEX + 1], d2[CLI_JOURNAL_DIGEST_HEX + 1];
    cli_journal_digest("\x81\xa1k\x01", 4, "cli", d1);
    cli_journal_digest("\x81\xa1k\x01", 4, "patrol-app", d2);
    CHECK(strlen(d1) == 64 && strcmp(d1, d2) != 0);
    cli_journal_digest("\x81\xa1k\x02", 4, "cli", d2);
    CHECK(strcmp(d1, d2) != 0);
}

static void test_journal_file(void)
{
    char path[128];
    err_t err;
    s_path(path, sizeof path, "b.journal");
    cli_journal_t *j = cli_journal_load(path, &err);
    CHECK(j != NULL);
    if (!j)
        return;
    char digest[65], id[37];
    int64_t t = 0;
    memset(digest, 'a', 64);
    digest[64] = '\0';
    CHECK(cli_journal_find(j, digest, 1, id, &t) == -1);
    for (int i = 1; i <= 3000; i++) /* grows past its first table */
        CHECK(cli_journal_put(j, digest, i, "5f0c3a8e-2f4b-4c1d-9e8f-0a1b2c3d4e5f", i) == 0);
    CHECK(cli_journal_save(j, &err) == 0);
    cli_journal_destroy(&j);
    CHECK(j == NULL);
    j = cli_journal_load(path, &err);
    CHECK(j && cli_journal_find(j, digest, 2999, id, &t) == 0 && t == 2999);
    CHECK(j && cli_journal_find(j, digest, 3001, id, &t) == -1);
    cli_journal_destroy(&j);
    FILE *f = fopen(path, "a");
    if (f) {
        fputs("not a journal line\n", f);
        fclose(f);
    }
    CHECK(cli_journal_load(path, &err) == NULL);
    CHECKF(CONTAINS(err.msg, "b.journal:3005:"), "%s", err.msg);
    unlink(path);
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/test_cli_submit.XXXXXX");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_lines_of_every_form);
    RUN(test_rerun_keeps_ids_and_times);
    RUN(test_other_source_other_events);
    RUN(test_journal_file);
    char path[128];
    s_path(path, sizeof path, "a.journal");
    unlink(path);
    rmdir(s_dir);
    return check_summary();
}
