/* cli_submit.c - `airguard submit`; see cli_submit.h. Retries follow
 * docs/protocol.md section 4 (the ZeroMQ guide's Lazy Pirate): on a timeout
 * the socket is replaced and the same request (same id) is sent again at
 * once; a reply E_UNAVAILABLE or E_INTERNAL is sent again after a pause of
 * 0.2 s doubling to 5 s, until the request's budget is spent. */
#include "cli_submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

#include "cli_journal.h"
#include "envelope.h"
#include "mp.h"
#include "mpjson.h"
#include "yamlpack.h"

#define RETRY_PAUSE_MIN_MS 200
#define RETRY_PAUSE_MAX_MS 5000

/* ---- input ------------------------------------------------------------ */

static char *s_read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "airguard: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap)
            continue;
        char *grown = cap >= CLI_SUBMIT_MAX_INPUT ? NULL : realloc(buf, cap *= 2);
        if (!grown) {
            fprintf(stderr, "airguard: %s: %s\n", path,
                    cap >= CLI_SUBMIT_MAX_INPUT ? "larger than 64 MiB" : "out of memory");
            free(buf);
        }
        buf = grown;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

/* The line on which each element of a top-level JSON array starts (the
 * text parsed already, so it is valid JSON). Fills up to max lines. */
static void s_json_array_lines(const char *text, size_t len, int *lines, size_t max)
{
    int line = 1, depth = 0, in_str = 0, expect = 0;
    size_t k = 0;
    for (size_t i = 0; i < len && k < max; i++) {
        char c = text[i];
        if (c == '\n')
            line++;
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (depth == 1 && expect && c != ']') {
            lines[k++] = line;
            expect = 0;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '[' || c == '{')
            expect = ++depth == 1;
        else if (c == ']' || c == '}')
            depth--;
        else if (c == ',' && depth == 1)
            expect = 1;
    }
}

/* The line on which each item of a top-level YAML sequence starts, or the
 * document's node when it is not a sequence. */
static void s_yaml_item_lines(const char *text, size_t len, int *lines, size_t max)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&parser))
        return;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int depth = 0, top_is_seq = -1, done = 0;
    size_t k = 0;
    while (!done && k < max && yaml_parser_parse(&parser, &ev)) {
        int starts = ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
                     ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT;
        if (starts && top_is_seq < 0) {
            top_is_seq = ev.type == YAML_SEQUENCE_START_EVENT;
            if (!top_is_seq)
                lines[k++] = (int)ev.start_mark.line + 1;
        } else if (starts && depth == 1 && top_is_seq) {
            lines[k++] = (int)ev.start_mark.line + 1;
        }
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
}

void cli_submit_free(cli_event_t *events, size_t n)
{
    for (size_t i = 0; events && i < n; i++) {
        msgpack_sbuffer_destroy(&events[i].given);
        msgpack_sbuffer_destroy(&events[i].ready);
    }
    free(events);
}

/* Appends obj, starting on line, to events (room for it is there). */
static void s_add_event(cli_event_t *events, size_t *n, int line, const msgpack_object *obj)
{
    cli_event_t *e = &events[(*n)++];
    e->line = line;
    msgpack_sbuffer_init(&e->given);
    msgpack_sbuffer_init(&e->ready);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e->given, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *obj);
}

/* The line of text's first character that is not white space. */
static int s_first_line(const char *text, size_t lead)
{
    int line = 1;
    for (size_t i = 0; i < lead; i++)
        line += text[i] == '\n';
    return line;
}

int cli_submit_parse(const char *name, const char *text, size_t len, cli_event_t **events,
                     size_t *n, err_t *err)
{
    msgpack_sbuffer all;
    msgpack_sbuffer_init(&all);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &all, msgpack_sbuffer_write);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int *lines = NULL, rc = -1;
    size_t count = 0, lead = 0, off = 0;
    bool yaml = false, json_lines = false;
    *events = NULL;
    *n = 0;
    while (lead < len && strchr(" \t\r\n", text[lead]))
        lead++;
    /* JSON starts with { or [; anything else is read as YAML. */
    if (lead < len && text[lead] != '{' && text[lead] != '[') {
        yaml = true;
        if (yamlpack_parse(name, text, len, &pk, err) != 0)
            goto out;
    } else if (mpjson_parse(text, len, &pk, err) != 0) {
        /* Not one JSON value: one value per line. */
        json_lines = true;
        msgpack_sbuffer_clear(&all);
        const char *p = text, *end = text + len;
        for (int lineno = 1; p < end; lineno++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            size_t l = (size_t)(le - p), blank = 0;
            while (blank < l && strchr(" \t\r", p[blank]))
                blank++;
            if (blank < l) {
                int *grown = realloc(lines, (count + 1) * sizeof *lines);
                if (!grown) {
                    err_set(err, "out of memory");
                    goto out;
                }
                lines = grown;
                lines[count++] = lineno;
                if (mpjson_parse(p, l, &pk, err) != 0) {
                    char msg[ERR_MSG_MAX];
                    snprintf(msg, sizeof msg, "%s", err->msg);
                    err_set(err, "%s:%d: %s", name, lineno, msg);
                    goto out;
                }
            }
            p = le + 1;
        }
    }
    if (!json_lines) {
        if (msgpack_unpack_next(&u, all.data, all.size, &off) != MSGPACK_UNPACK_SUCCESS) {
            err_set(err, "%s: no event in the input", name);
            goto out;
        }
        count = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.size : 1;
        lines = calloc(count ? count : 1, sizeof *lines);
        if (!lines) {
            err_set(err, "out of memory");
            goto out;
        }
        if (yaml)
            s_yaml_item_lines(text, len, lines, count);
        else if (u.data.type == MSGPACK_OBJECT_ARRAY)
            s_json_array_lines(text, len, lines, count);
        else
            lines[0] = s_first_line(text, lead);
    }
    *events = calloc(count ? count : 1, sizeof **events);
    if (!*events) {
        err_set(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (json_lines) {
            if (msgpack_unpack_next(&u, all.data, all.size, &off) != MSGPACK_UNPACK_SUCCESS) {
                err_set(err, "%s:%d: cannot read the event back", name, lines[i]);
                goto out;
            }
            s_add_event(*events, n, lines[i], &u.data);
        } else {
            s_add_event(*events, n, lines[i],
                        u.data.type == MSGPACK_OBJECT_ARRAY ? &u.data.via.array.ptr[i] : &u.data);
        }
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&all);
    free(lines);
    if (rc != 0) {
        cli_submit_free(*events, *n);
        *events = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- ids, times and the journal ---------------------------------------- */

const char *cli_submit_journal_path(const char *input, char *buf, size_t size, err_t *err)
{
    if (strcmp(input, "-") != 0) {
        snprintf(buf, size, "%s.journal", input);
        return buf;
    }
    const char *dir = getenv("AIRGUARD_JOURNAL_DIR");
    char made[3072];
    if (!dir || !*dir) {
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (state && *state)
            snprintf(made, sizeof made, "%s/airguard", state);
        else if (home && *home)
            snprintf(made, sizeof made, "%s/.local/state/airguard", home);
        else {
            err_set(err, "no place for the journal of stdin: set AIRGUARD_JOURNAL_DIR or give "
                         "--journal FILE");
            return NULL;
        }
        dir = made;
    }
    /* mkdir -p, one level at a time */
    char path[3072];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        err_set(err, "journal folder %s: %s (set AIRGUARD_JOURNAL_DIR or give --journal FILE)",
                path, strerror(errno));
        return NULL;
    }
    snprintf(buf, size, "%s/stdin.journal", path);
    return buf;
}

static void s_pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Packs e->ready: the event with v, id, time and source filled in. */
static int s_complete_one(cli_event_t *e, cli_journal_t *j, const char *source, bool fresh,
                          const char *digest, int occurrence, err_t *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (msgpack_unpack_next(&u, e->given.data, e->given.size, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(err, "line %d: an event must be an object (a mapping in YAML)", e->line);
        goto out;
    }
    const msgpack_object *ev = &u.data, *id_given = mp_get(ev, "id");
    bool has_v = mp_get(ev, "v") != NULL, has_time = mp_get(ev, "time") != NULL;
    bool has_source = mp_get(ev, "source") != NULL;
    char id[CLI_JOURNAL_ID_LEN + 1] = "";
    int64_t time_ms = 0;
    if (!id_given || !has_time) {
        if (fresh || cli_journal_find(j, digest, occurrence, id, &time_ms) != 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            if (uuid_new(id) != 0) {
                err_set(err, "no randomness for a message id");
                goto out;
            }
            if (cli_journal_put(j, digest, occurrence, id, time_ms) != 0) {
                err_set(err, "out of memory");
                goto out;
            }
        }
    }
    msgpack_sbuffer_clear(&e->ready);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e->ready, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ev->via.map.size + !has_v + !id_given + !has_time + !has_source);
    if (!has_v) {
        s_pack_cstr(&pk, "v");
        msgpack_pack_int(&pk, ENVELOPE_VERSION);
    }
    if (!id_given) {
        s_pack_cstr(&pk, "id");
        s_pack_cstr(&pk, id);
    }
    if (!has_time) {
        s_pack_cstr(&pk, "time");
        msgpack_pack_int64(&pk, time_ms);
    }
    if (!has_source) {
        s_pack_cstr(&pk, "source");
        s_pack_cstr(&pk, source);
    }
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        msgpack_pack_object(&pk, ev->via.map.ptr[i].key);
        msgpack_pack_object(&pk, ev->via.map.ptr[i].val);
    }
    if (id_given && id_given->type == MSGPACK_OBJECT_STR &&
        id_given->via.str.size == CLI_JOURNAL_ID_LEN)
        memcpy(id, id_given->via.str.ptr, CLI_JOURNAL_ID_LEN);
    else if (id_given)
        id[0] = '\0';
    memcpy(e->id, id, sizeof e->id);
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

typedef struct keyed {
    char digest[CLI_JOURNAL_DIGEST_HEX + 1]; /* of the event as written */
    size_t index;                            /* its position in the input */
} keyed_t;

static int s_by_digest_then_index(const void *a, const void *b)
{
    const keyed_t *x = a, *y = b;
    int c = strcmp(x->digest, y->digest);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

int cli_submit_complete(cli_event_t *events, size_t n, const char *source, const char *journal,
                        bool fresh, err_t *err)
{
    int rc = -1;
    keyed_t *keys = calloc(n ? n : 1, sizeof *keys);
    int *occurrence = calloc(n ? n : 1, sizeof *occurrence);
    cli_journal_t *j = keys && occurrence ? cli_journal_load(journal, err) : NULL;
    if (!keys || !occurrence) {
        err_set(err, "out of memory");
        goto out;
    }
    if (!j)
        goto out;
    /* An event's key is its content and which of the identical events of
     * this input it is, so inserting an event above it changes nothing. */
    for (size_t i = 0; i < n; i++) {
        cli_journal_digest(events[i].given.data, events[i].given.size, source, keys[i].digest);
        keys[i].index = i;
    }
    qsort(keys, n, sizeof *keys, s_by_digest_then_index);
    for (size_t i = 0; i < n; i++)
        occurrence[keys[i].index] = i > 0 && strcmp(keys[i].digest, keys[i - 1].digest) == 0
                                        ? occurrence[keys[i - 1].index] + 1
                                        : 1;
    for (size_t i = 0; i < n; i++) {
        size_t e = keys[i].index;
        if (s_complete_one(&events[e], j, source, fresh, keys[i].digest, occurrence[e], err) != 0)
            goto out;
    }
    rc = cli_journal_save(j, err);
out:
    cli_journal_destroy(&j);
    free(keys);
    free(occurrence);
    return rc;
}

/* ---- replies ------------------------------------------------------------ */

static void s_print_str(FILE *out, const char *s)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)strlen(s);
    mpjson_print(out, &o);
}

/* Ends a reply line: the event's id when the reply had none, its file and
 * line. Kept last, so scripts that look for a line starting {"ok":true
 * keep working. */
static void s_end_line(FILE *out, const char *file, const cli_event_t *e, bool with_id)
{
    if (with_id && e->id[0]) {
        fputs(",\"id\":", out);
        s_print_str(out, e->id);
    }
    fputs(",\"file\":", out);
    s_print_str(out, file);
    fprintf(out, ",\"line\":%d}\n", e->line);
}

/* One reply line, {the reply's own keys, then "file" and "line"}, in a
 * string the caller frees. *ok tells whether the reply says ok. */
static char *s_reply_line(const char *file, const cli_event_t *e, const char *data, size_t size,
                          bool *ok)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    *ok = false;
    bool with_id = true;
    if (msgpack_unpack_next(&u, data, size, NULL) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP && u.data.via.map.size > 0) {
        const msgpack_object_map *m = &u.data.via.map;
        for (uint32_t i = 0; i < m->size; i++) {
            fputc(i ? ',' : '{', out);
            mpjson_print(out, &m->ptr[i].key);
            fputc(':', out);
            mpjson_print(out, &m->ptr[i].val);
        }
        const msgpack_object *o = mp_get(&u.data, "ok");
        *ok = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
        /* An envelope error before the id decoded carries none: name ours. */
        with_id = mp_get(&u.data, "id") == NULL;
    } else {
        fputs("{\"ok\":false,\"code\":\"E_BAD_REPLY\",\"error\":\"reply is not a msgpack map\"",
              out);
    }
    s_end_line(out, file, e, with_id);
    msgpack_unpacked_destroy(&u);
    fclose(out);
    return text;
}

/* The line for an event that got no answer (the CLI's own code). */
static char *s_no_answer_line(const char *file, const cli_event_t *e, const char *endpoint,
                              int attempts)
{
    char *text = NULL, msg[512];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    snprintf(msg, sizeof msg,
             "no answer from %s after %d attempts; the outcome is unknown: submit the same "
             "input again (the same ids are sent)",
             endpoint, attempts);
    fputs("{\"ok\":false,\"code\":\"E_NO_ANSWER\",\"error\":", out);
    s_print_str(out, msg);
    s_end_line(out, file, e, true);
    fclose(out);
    return text;
}

/* Whether a reply says "outcome unknown, send the same id again". */
static bool s_try_again(const char *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool again = false;
    if (msgpack_unpack_next(&u, data, size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *code = mp_get(&u.data, "code");
        again = mp_str_eq(code, "E_UNAVAILABLE") || mp_str_eq(code, "E_INTERNAL");
    }
    msgpack_unpacked_destroy(&u);
    return again;
}

/* ---- the submit loop ------------------------------------------------------ */

typedef struct submitter {
    void *sock;
    long event;           /* index of the event in hand, -1 idle */
    int attempts;         /* sends of it so far */
    long long started_ms; /* its first send, for the budget */
    long long due_ms;     /* in flight: when this attempt times out; else the next send */
    int pause_ms;         /* the pause after the next "try again" answer */
    bool in_flight;       /* sent, answer awaited */
} submitter_t;

typedef struct printer {
    char **lines;   /* finished reply lines not printed yet, by event */
    size_t next;    /* the next event to print in input order */
    bool unordered; /* print as they come */
} printer_t;

/* Takes line (owned) as event i's reply and prints what is due. */
static void s_emit(printer_t *p, size_t i, char *line, size_t n)
{
    if (p->unordered) {
        if (line)
            fputs(line, stdout);
        free(line);
        fflush(stdout);
        return;
    }
    p->lines[i] = line ? line : strdup("{\"ok\":false,\"code\":\"E_NO_MEMORY\"}\n");
    while (p->next < n && p->lines[p->next]) {
        fputs(p->lines[p->next], stdout);
        free(p->lines[p->next]);
        p->lines[p->next++] = NULL;
    }
    fflush(stdout);
}

typedef struct run {
    void *ctx;
    const cli_opts_t *o;
    const char *file; /* as named in reply lines */
    cli_event_t *events;
    size_t n;
    submitter_t sub[CLI_MAX_CLIENTS];
    int clients;
    printer_t printer;
    cli_net_watch_t *watch;
    int status;        /* exit status so far */
    int last_attempts; /* of the last event that got no answer */
} run_t;

/* Handles the answer to submitter s; returns true when its event is done. */
static bool s_on_answer(run_t *r, submitter_t *s, const zmq_msg_t *m)
{
    long long now = cli_net_now_ms();
    const char *data = zmq_msg_data((zmq_msg_t *)m);
    size_t size = zmq_msg_size(m);
    if (s_try_again(data, size) &&
        cli_net_may_retry(r->o, s->attempts, s->started_ms, now + s->pause_ms)) {
        s->in_flight = false;
        s->due_ms = now + s->pause_ms;
        s->pause_ms = s->pause_ms * 2 > RETRY_PAUSE_MAX_MS ? RETRY_PAUSE_MAX_MS : s->pause_ms * 2;
        return false;
    }
    bool ok = false;
    char *line = s_reply_line(r->file, &r->events[s->event], data, size, &ok);
    if (!ok && r->status == 0)
        r->status = 1;
    s_emit(&r->printer, (size_t)s->event, line, r->n);
    return true;
}

/* Sends, resends and times out what is due for submitter s; -1 when a
 * socket cannot be made. */
static int s_drive(run_t *r, submitter_t *s, size_t *next, size_t *done, long long now)
{
    if (s->event < 0 && *next < r->n)
        *s = (submitter_t){.sock = s->sock,
                           .event = (long)(*next)++,
                           .started_ms = now,
                           .due_ms = now,
                           .pause_ms = RETRY_PAUSE_MIN_MS};
    if (s->event >= 0 && s->in_flight && now >= s->due_ms) { /* no answer in time */
        if (cli_net_may_retry(r->o, s->attempts, s->started_ms, now)) {
            s->in_flight = false;
        } else {
            s_emit(&r->printer, (size_t)s->event,
                   s_no_answer_line(r->file, &r->events[s->event], r->o->endpoint, s->attempts),
                   r->n);
            r->status = 3;
            r->last_attempts = s->attempts;
            s->event = -1;
            (*done)++;
        }
    }
    if (s->event >= 0 && !s->in_flight && now >= s->due_ms) {
        if (s->attempts > 0) { /* Lazy Pirate: a fresh socket, no stale reply */
            zmq_close(s->sock);
            if (!(s->sock = cli_net_socket(r->ctx, r->o->endpoint, r->o)))
                return -1;
        }
        const msgpack_sbuffer *ev = &r->events[s->event].ready;
        zmq_send(s->sock, ev->data, ev->size, 0);
        s->attempts++;
        s->in_flight = true;
        s->due_ms = now + r->o->timeout_ms;
    }
    return 0;
}

/* Sends every event with up to o->clients in flight. Returns the status. */
static int s_send_all(run_t *r)
{
    zmq_pollitem_t items[CLI_MAX_CLIENTS + 1];
    size_t next = 0, done = 0;
    char why[1024];
    r->clients = r->o->clients < (int)r->n ? r->o->clients : (int)r->n;
    for (int i = 0; i < r->clients; i++)
        if (!(r->sub[i] =
                  (submitter_t){.sock = cli_net_socket(r->ctx, r->o->endpoint, r->o), .event = -1})
                 .sock)
            return 2;
    while (done < r->n) {
        long long now = cli_net_now_ms();
        for (int i = 0; i < r->clients; i++) {
            if (s_drive(r, &r->sub[i], &next, &done, now) != 0)
                return 2;
            items[i] = (zmq_pollitem_t){.socket = r->sub[i].sock, .events = ZMQ_POLLIN};
        }
        items[r->clients] =
            (zmq_pollitem_t){.socket = cli_net_watch_socket(r->watch), .events = ZMQ_POLLIN};
        if (zmq_poll(items, r->clients + 1, 50) < 0 && errno != EINTR)
            return 3;
        if ((items[r->clients].revents & ZMQ_POLLIN) &&
            cli_net_watch_check(r->watch, why, sizeof why)) {
            fprintf(stderr, "airguard: %s\n", why);
            return 3;
        }
        for (int i = 0; i < r->clients; i++) {
            submitter_t *s = &r->sub[i];
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) >= 0 && s->event >= 0 && s->in_flight &&
                s_on_answer(r, s, &m)) {
                s->event = -1;
                done++;
            }
            zmq_msg_close(&m);
        }
    }
    if (r->status == 3)
        cli_net_watch_explain(r->watch, r->o->endpoint, r->last_attempts);
    return r->status;
}

int cli_submit_run(void *ctx, const cli_opts_t *o, const cli_submit_opts_t *so)
{
    run_t r = {.ctx = ctx, .o = o, .file = so->input};
    size_t len = 0;
    char journal[4096];
    err_t err;
    int rc = 2;
    char *text = s_read_all(so->input, &len);
    if (!text)
        goto out;
    const char *jpath = so->journal
                            ? so->journal
                            : cli_submit_journal_path(so->input, journal, sizeof journal, &err);
    if (!jpath || cli_submit_parse(so->input, text, len, &r.events, &r.n, &err) != 0 ||
        cli_submit_complete(r.events, r.n, so->source, jpath, so->fresh, &err) != 0) {
        fprintf(stderr, "airguard: %s\n", err.msg);
        goto out;
    }
    if (r.n == 0) {
        rc = 0;
        goto out;
    }
    r.printer = (printer_t){.lines = calloc(r.n, sizeof(char *)), .unordered = so->unordered};
    if (!r.printer.lines || !(r.watch = cli_net_watch_new(ctx, o)))
        goto out;
    rc = s_send_all(&r);
out:
    for (int i = 0; i < r.clients; i++)
        if (r.sub[i].sock)
            zmq_close(r.sub[i].sock);
    for (size_t i = 0; r.printer.lines && i < r.n; i++)
        free(r.printer.lines[i]);
    free(r.printer.lines);
    cli_net_watch_destroy(&r.watch);
    cli_submit_free(r.events, r.n);
    free(text);
    return rc;
}
