/* airguard.c - the operator's command-line tool: one subcommand per job,
 * the bigger ones in tools/cli/ (cli_submit.c, cli_events.c,
 * cli_catalogue.c, cli_net.c). `airguard --help` lists them; README.md
 * shows one example of each.
 *
 * Replies are printed as JSON lines. Exit status: 0 when every reply was
 * ok, 1 when a reply was an error, 2 for usage errors and bad input, 3 when
 * a service did not answer (or cannot, as configured). Requests are retried
 * like docs/protocol.md section 4 says (the ZeroMQ guide's Lazy Pirate):
 * on a timeout the socket is replaced and the same request (same message
 * id) is sent again; a submit answered E_UNAVAILABLE or E_INTERNAL is sent
 * again after a pause of 0.2 s doubling to 5 s; retries stop when the
 * request's time budget (--budget-ms) is spent, or after --retries
 * attempts when that is given. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "campaign.h"
#include "cli_catalogue.h"
#include "cli_events.h"
#include "cli_net.h"
#include "cli_submit.h"
#include "envelope.h"
#include "mpjson.h"
#include "campaignset.h"
#include "curvekey.h"
#include "mp.h"
#include "uuid.h"

/* Default control endpoints of a local suite (the files in config/ agree). */
static const char *s_service_endpoint(const char *service)
{
    static const struct {
        const char *name, *endpoint;
    } table[] = {
        {"intake", "tcp://127.0.0.1:7100"},  {"dispatch", "tcp://127.0.0.1:7110"},
        {"cases", "tcp://127.0.0.1:7120"},   {"attendance", "tcp://127.0.0.1:7130"},
        {"scoring", "tcp://127.0.0.1:7140"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, service) == 0)
            return table[i].endpoint;
    return NULL;
}

static void s_usage(FILE *out)
{
    fputs(
        "usage: airguard COMMAND [options]\n"
        "\n"
        "Asking a service (--service intake|dispatch|cases|attendance|scoring, the local\n"
        "defaults 127.0.0.1:71x0, or --endpoint E; default: $AIRGUARD_ENDPOINT or intake):\n"
        "  health                 is it up, is its database reachable?\n"
        "  ping                   does it answer at all?\n"
        "  version\n"
        "  streams                produced stream heads; consumed positions and dead letters\n"
        "  events [--from SEQ] [--type T] [--stream S] [--follow]\n"
        "                         the events it stored, decoded, one JSON line each\n"
        "  dead-letters [--stream S]\n"
        "                         messages it gave up on, and those it is retrying, with why\n"
        "  query JSON             any control request, e.g. '{\"op\":\"stats\"}'\n"
        "  reset-stream --stream S  follow a halted stream (recreated under its name) anew\n"
        "                         from seq 1; what was applied from the old one stays\n"
        "  clock [--set-ms MS]    the service's clock; moves a manual clock (a simulation)\n"
        "\n"
        "Dispatch (default --service dispatch):\n"
        "  tasks [--unit U] [--community C] [--subdistrict S] [--overdue] [--limit N]\n"
        "                         open tasks, and who holds them\n"
        "  task ID                one task with its full history\n"
        "  units [--subdistrict S] every unit and the open tasks it holds now\n"
        "  idle                   has it applied everything, with no timer due?\n"
        "\n"
        "Sending events to intake:\n"
        "  submit [FILE|-]        events as JSON (one object, an array, or one per line) or\n"
        "                         YAML; fills in v, id, time, source; one reply line per event,\n"
        "                         in input order, naming its file and line\n"
        "    --endpoint E         default $AIRGUARD_SUBMIT_ENDPOINT or tcp://127.0.0.1:7200\n"
        "    --source NAME        the source of events without one ($AIRGUARD_SOURCE; default\n"
        "                         cli): under CURVE, the source of your allow-list entry\n"
        "    --server-key-file F  intake's public key ($AIRGUARD_SERVER_KEY_FILE), or\n"
        "    --server-key Z85     ($AIRGUARD_SERVER_KEY): submit over CURVE, with\n"
        "    --key-file F         this client's secret key ($AIRGUARD_KEY_FILE)\n"
        "    --clients N          requests in flight, 1..64 (default 16)\n"
        "    --journal F          where the ids and times given to events are kept (default\n"
        "                         FILE.journal; for stdin $AIRGUARD_JOURNAL_DIR/stdin.journal\n"
        "                         or ~/.local/state/airguard/stdin.journal): a rerun of the same\n"
        "                         input sends the same ids and is acknowledged as duplicates\n"
        "    --new                these are new events: fresh ids and times\n"
        "    --unordered          print replies as they come, not in input order\n"
        "\n"
        "Local:\n"
        "  catalogue [TYPE] [--json | --table | --examples | --markdown]\n"
        "                         the event types: a table on a terminal, JSON lines in a pipe;\n"
        "                         complete example events; docs/protocol.md's type tables\n"
        "  check-campaign FILE    validate a campaign file as intake will\n"
        "  keygen [--out PREFIX]  a CURVE key pair (PREFIX.key mode 0600, PREFIX.pub)\n"
        "\n"
        "Retries: --timeout-ms MS per attempt (default 3000); --budget-ms MS per request from\n"
        "its first send (default 30000 for submit, 10000 otherwise); --retries N at most N\n"
        "attempts. A timeout is resent at once on a fresh socket with the same id,\n"
        "E_UNAVAILABLE and E_INTERNAL after 0.2 s doubling to 5 s (docs/protocol.md 4).\n"
        "Exit status: 0 all ok, 1 an error reply, 2 usage or input error, 3 no answer.\n",
        out);
}

/* Prints a control reply; returns 0 if it says ok, 1 otherwise. */
static int s_print_reply(const zmq_msg_t *m)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 1;
    if (msgpack_unpack_next(&u, zmq_msg_data((zmq_msg_t *)m), zmq_msg_size(m), NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        mpjson_print(stdout, &u.data);
        fputc('\n', stdout);
        const msgpack_object *o = mp_get(&u.data, "ok");
        rc = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean ? 0 : 1;
    } else {
        printf("{\"ok\":false,\"code\":\"E_BAD_REPLY\",\"error\":\"reply is not msgpack\"}\n");
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* One control request written as JSON; prints the reply. */
static int s_control(void *ctx, const cli_opts_t *o, const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err_t err;
    int rc = 2;
    zmq_msg_t reply;
    if (mpjson_parse(json, strlen(json), &pk, &err) != 0)
        fprintf(stderr, "airguard: request: %s\n", err.msg);
    else if ((rc = cli_net_request(ctx, o, sb.data, sb.size, &reply)) == 0) {
        rc = s_print_reply(&reply);
        zmq_msg_close(&reply);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Sets up CURVE for submits from the options or the environment: the
 * server's public key (text or file) and this client's secret key file.
 * Returns 0 (curve stays off when no server key is given) or 2. */
static int s_curve_setup(cli_opts_t *o, const char *server_key, const char *server_key_file,
                         const char *key_file)
{
    err_t err;
    if (!server_key && !server_key_file) {
        server_key_file = getenv("AIRGUARD_SERVER_KEY_FILE");
        if (server_key_file && !*server_key_file)
            server_key_file = NULL;
        if (!server_key_file)
            server_key = getenv("AIRGUARD_SERVER_KEY");
    }
    if (!key_file)
        key_file = getenv("AIRGUARD_KEY_FILE");
    if ((!server_key || !*server_key) && !server_key_file) {
        if (key_file && *key_file) {
            fprintf(stderr,
                    "airguard: the key file %s needs intake's public key too: "
                    "--server-key-file F or AIRGUARD_SERVER_KEY_FILE (or --server-key, "
                    "AIRGUARD_SERVER_KEY)\n",
                    key_file);
            return 2;
        }
        return 0;
    }
    if (!key_file || !*key_file) {
        fprintf(stderr, "airguard: CURVE needs this client's secret key too: --key-file F or "
                        "AIRGUARD_KEY_FILE\n");
        return 2;
    }
    int bad = server_key_file ? curvekey_read(server_key_file, false, o->server_key, &err)
                              : curvekey_parse(server_key, o->server_key, &err);
    if (bad == 0)
        bad = curvekey_read(key_file, true, o->secret_key, &err);
    char secret[41], public[41];
    if (bad == 0 &&
        (!zmq_z85_encode(secret, o->secret_key, 32) || zmq_curve_public(public, secret) != 0 ||
         !zmq_z85_decode(o->public_key, public))) {
        err_set(&err, "%s: cannot derive the public key", key_file);
        bad = -1;
    }
    memset(secret, 0, sizeof secret);
    if (bad != 0) {
        fprintf(stderr, "airguard: %s\n", err.msg);
        return 2;
    }
    o->curve = true;
    return 0;
}

/* Writes text to path, created new with mode; 0 or -1 (message printed). */
static int s_write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    size_t len = strlen(text);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "airguard: %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* A CURVE key pair: into PREFIX.key (secret, 0600) and PREFIX.pub, or on
 * stdout without a prefix. Existing files are never overwritten. */
static int s_keygen(const char *prefix)
{
    char public[41], secret[41], text[160], path[1024];
    if (zmq_curve_keypair(public, secret) != 0) {
        fprintf(stderr, "airguard: keygen: %s (libzmq built without CURVE?)\n",
                zmq_strerror(zmq_errno()));
        return 2;
    }
    int rc = 0;
    if (!prefix) {
        printf("public: '%s'\nsecret: '%s'\n", public, secret);
    } else {
        snprintf(text, sizeof text, "# airguard CURVE secret key; keep private\n%s\n", secret);
        snprintf(path, sizeof path, "%s.key", prefix);
        rc = s_write_new(path, text, 0600) == 0 ? 0 : 2;
        snprintf(text, sizeof text, "%s\n", public);
        snprintf(path, sizeof path, "%s.pub", prefix);
        if (rc == 0)
            rc = s_write_new(path, text, 0644) == 0 ? 0 : 2;
        if (rc == 0)
            printf("wrote %s.key (secret) and %s.pub\n"
                   "allow-list entry (config/intake-clients.yaml):\n"
                   "  - source: NAME\n    keys: ['%s']\n    types: ['*']\n",
                   prefix, prefix, public);
    }
    memset(secret, 0, sizeof secret);
    return rc;
}

/* Validates one campaign file the way intake will at start, so an operator
 * can check an edit before restarting anything. */
static int s_check_campaign(const char *path)
{
    if (!path) {
        fprintf(stderr, "airguard: check-campaign needs a FILE\n");
        return 2;
    }
    err_t err;
    campaign_t *c = campaign_load(path, &err);
    if (!c) {
        fprintf(stderr, "airguard: %s\n", err.msg);
        return 1;
    }
    printf("{\"ok\":true,\"subdistrict\":\"%s\",\"communities\":%zu,\"grids\":%zu,"
           "\"key_areas\":%zu}\n",
           campaign_subdistrict(c), c->n_communities, c->n_grids, c->n_key_areas);
    campaign_destroy(&c);
    return 0;
}

/* A name as the envelope allows a source, and the campaign files write unit,
 * community and subdistrict ids: 1..63 of [A-Za-z0-9_.-]. */
static bool s_valid_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 63 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Appends ,"key":"value" to a request after checking value's charset. */
static int s_add_filter(char *req, size_t cap, const char *key, const char *value)
{
    if (!value)
        return 0;
    if (!s_valid_name(value)) {
        fprintf(stderr, "airguard: --%s '%s': 1..63 characters of A-Z a-z 0-9 _ . -\n", key, value);
        return -1;
    }
    size_t used = strlen(req);
    snprintf(req + used, cap - used, ",\"%s\":\"%s\"", key, value);
    return 0;
}

/* task ID | tasks [filters] | units [--subdistrict S]: dispatch's queries
 * (docs/protocol.md 6.1), printed as the service answers them. */
static int s_dispatch_query(void *ctx, const cli_opts_t *o, const char *cmd, const char *id,
                            const char *unit, const char *community, const char *subdistrict,
                            bool overdue, long long limit)
{
    char req[512];
    if (!strcmp(cmd, "task")) {
        if (!id || !uuid_is_canonical(id, strlen(id))) {
            fprintf(stderr, "airguard: task ID: the task's id, a UUID (see 'airguard tasks')\n");
            return 2;
        }
        snprintf(req, sizeof req, "{\"op\":\"task\",\"id\":\"%s\"}", id);
        return s_control(ctx, o, req);
    }
    snprintf(req, sizeof req, "{\"op\":\"%s\"", cmd);
    if (s_add_filter(req, sizeof req, "subdistrict", subdistrict) != 0 ||
        (!strcmp(cmd, "tasks") && (s_add_filter(req, sizeof req, "unit", unit) != 0 ||
                                   s_add_filter(req, sizeof req, "community", community) != 0)))
        return 2;
    size_t used = strlen(req);
    if (!strcmp(cmd, "tasks") && overdue)
        used += (size_t)snprintf(req + used, sizeof req - used, ",\"overdue\":true");
    if (!strcmp(cmd, "tasks") && limit >= 0)
        used += (size_t)snprintf(req + used, sizeof req - used, ",\"limit\":%lld", limit);
    snprintf(req + used, sizeof req - used, "}");
    return s_control(ctx, o, req);
}

/* A stream name as producers make them: 1..63 of [a-z0-9._-]. */
static bool s_valid_stream(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int s_catalogue(const char *type, bool json, bool table, bool examples, bool markdown)
{
    cli_catalogue_form_t form = examples                ? CLI_CATALOGUE_EXAMPLES
                                : markdown              ? CLI_CATALOGUE_MARKDOWN
                                : table                 ? CLI_CATALOGUE_TABLE
                                : json                  ? CLI_CATALOGUE_JSON
                                : isatty(STDOUT_FILENO) ? CLI_CATALOGUE_TABLE
                                                        : CLI_CATALOGUE_JSON;
    return cli_catalogue_print(stdout, type, form);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    /* budget_ms 0: the command's default, set below */
    cli_opts_t o = {.timeout_ms = 3000, .budget_ms = 0, .retries = 0, .clients = 16};
    cli_submit_opts_t so = {.source = getenv("AIRGUARD_SOURCE")};
    const char *positional = NULL, *service = NULL, *server_key = NULL, *server_key_file = NULL,
               *key_file = NULL, *out = NULL, *type = NULL, *stream = NULL;
    bool examples = false, markdown = false, json = false, table = false, follow = false;
    long long from = 1, set_ms = 0, limit = -1;
    const char *unit = NULL, *community = NULL, *subdistrict = NULL;
    bool overdue = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--examples"))
            examples = true;
        else if (!strcmp(a, "--markdown"))
            markdown = true;
        else if (!strcmp(a, "--json"))
            json = true;
        else if (!strcmp(a, "--table"))
            table = true;
        else if (!strcmp(a, "--follow"))
            follow = true;
        else if (!strcmp(a, "--new"))
            so.fresh = true;
        else if (!strcmp(a, "--unordered"))
            so.unordered = true;
        else if (!strcmp(a, "--server-key") && v)
            server_key = argv[++i];
        else if (!strcmp(a, "--server-key-file") && v)
            server_key_file = argv[++i];
        else if (!strcmp(a, "--key-file") && v)
            key_file = argv[++i];
        else if (!strcmp(a, "--source") && v)
            so.source = argv[++i];
        else if (!strcmp(a, "--journal") && v)
            so.journal = argv[++i];
        else if (!strcmp(a, "--out") && v)
            out = argv[++i];
        else if (!strcmp(a, "--type") && v)
            type = argv[++i];
        else if (!strcmp(a, "--stream") && v)
            stream = argv[++i];
        else if (!strcmp(a, "--from") && v)
            from = atoll(argv[++i]);
        else if (!strcmp(a, "--file") && v && !positional)
            positional = argv[++i];
        else if (!strcmp(a, "--set-ms") && v)
            set_ms = atoll(argv[++i]);
        else if (!strcmp(a, "--unit") && v)
            unit = argv[++i];
        else if (!strcmp(a, "--community") && v)
            community = argv[++i];
        else if (!strcmp(a, "--subdistrict") && v)
            subdistrict = argv[++i];
        else if (!strcmp(a, "--limit") && v)
            limit = atoll(argv[++i]);
        else if (!strcmp(a, "--overdue"))
            overdue = true;
        else if (!strcmp(a, "--endpoint") && v)
            o.endpoint = argv[++i];
        else if (!strcmp(a, "--service") && v)
            service = argv[++i];
        else if (!strcmp(a, "--timeout-ms") && v)
            o.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--retries") && v)
            o.retries = atoi(argv[++i]);
        else if (!strcmp(a, "--budget-ms") && v)
            o.budget_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--clients") && v)
            o.clients = atoi(argv[++i]);
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "airguard: unknown option %s (or it needs a value); airguard --help\n",
                    a);
            return 2;
        } else if (!positional)
            positional = a;
        else {
            fprintf(stderr, "airguard: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (!so.source || !*so.source)
        so.source = "cli";
    if (o.timeout_ms <= 0 || o.budget_ms < 0 || o.retries < 0 || o.clients <= 0 ||
        o.clients > CLI_MAX_CLIENTS || examples + markdown + json + table > 1 || from < 1) {
        fprintf(stderr,
                "airguard: --timeout-ms > 0; --budget-ms, --retries >= 0 (0: the default); "
                "--clients 1..%d; --from >= 1; one of --json, --table, --examples, --markdown\n",
                CLI_MAX_CLIENTS);
        return 2;
    }
    if (!s_valid_name(so.source)) {
        fprintf(stderr, "airguard: source '%s': 1..63 characters of A-Z a-z 0-9 _ . -\n",
                so.source);
        return 2;
    }
    /* A submit outlasts a database restart; a person asking a service
     * whether it is up should not wait that long. */
    if (o.budget_ms == 0)
        o.budget_ms = !strcmp(cmd, "submit") ? 30000 : 10000;
    if (service && !(o.endpoint = s_service_endpoint(service))) {
        fprintf(stderr,
                "airguard: unknown service '%s' (intake dispatch cases attendance "
                "scoring)\n",
                service);
        return 2;
    }
    if (!strcmp(cmd, "keygen"))
        return s_keygen(out);
    if (!strcmp(cmd, "check-campaign"))
        return s_check_campaign(positional);
    if (!strcmp(cmd, "catalogue"))
        return s_catalogue(positional, json, table, examples, markdown);
    if (!strcmp(cmd, "submit") && s_curve_setup(&o, server_key, server_key_file, key_file) != 0)
        return 2;
    int rc = 2;
    void *ctx = zmq_ctx_new();
    if (!strcmp(cmd, "submit")) {
        if (!o.endpoint)
            o.endpoint = getenv("AIRGUARD_SUBMIT_ENDPOINT") ? getenv("AIRGUARD_SUBMIT_ENDPOINT")
                                                            : "tcp://127.0.0.1:7200";
        so.input = positional ? positional : "-";
        rc = cli_submit_run(ctx, &o, &so);
    } else {
        bool dispatch_query =
            !strcmp(cmd, "task") || !strcmp(cmd, "tasks") || !strcmp(cmd, "units");
        if (!o.endpoint)
            o.endpoint = dispatch_query                ? s_service_endpoint("dispatch")
                         : getenv("AIRGUARD_ENDPOINT") ? getenv("AIRGUARD_ENDPOINT")
                                                       : s_service_endpoint("intake");
        char req[64];
        if (!strcmp(cmd, "ping"))
            cmd = "version"; /* any answer at all means the service is alive */
        if (!strcmp(cmd, "health") || !strcmp(cmd, "version") || !strcmp(cmd, "streams")) {
            snprintf(req, sizeof req, "{\"op\":\"%s\"}", cmd);
            rc = s_control(ctx, &o, req);
        } else if (!strcmp(cmd, "query") && positional) {
            rc = s_control(ctx, &o, positional);
        } else if (!strcmp(cmd, "events")) {
            rc = cli_events_run(ctx, &o, stream, from, type, follow);
        } else if (!strcmp(cmd, "dead-letters")) {
            rc = cli_events_dead_letters(ctx, &o, stream);
        } else if (!strcmp(cmd, "reset-stream") && stream && s_valid_stream(stream)) {
            char reset[128];
            snprintf(reset, sizeof reset, "{\"op\":\"reset_stream\",\"stream\":\"%s\"}", stream);
            rc = s_control(ctx, &o, reset);
        } else if (!strcmp(cmd, "reset-stream")) {
            fprintf(stderr, "airguard: reset-stream needs --stream NAME ([a-z0-9._-], the"
                            " followed stream that 'streams' shows halted)\n");
        } else if (dispatch_query) {
            rc = s_dispatch_query(ctx, &o, cmd, positional, unit, community, subdistrict, overdue,
                                  limit);
        } else if (!strcmp(cmd, "clock") || !strcmp(cmd, "idle")) {
            if (set_ms)
                snprintf(req, sizeof req, "{\"op\":\"clock\",\"set_ms\":%lld}", set_ms);
            else
                snprintf(req, sizeof req, "{\"op\":\"%s\"}", cmd);
            rc = s_control(ctx, &o, req);
        } else {
            fprintf(stderr, "airguard: unknown command '%s'\n", cmd);
            s_usage(stderr);
        }
    }
    zmq_ctx_term(ctx);
    return rc;
}
