/* mpjson.c - msgpack <-> JSON conversion; see include/mpjson.h. */
#include "mpjson.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- msgpack -> JSON --------------------------------------------------- */

static void s_print_string(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void s_print_hex(FILE *out, const char *p, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", (unsigned char)p[i]);
    fputc('"', out);
}

static void s_print(FILE *out, const msgpack_object *o, int depth)
{
    if (depth > MPJSON_MAX_DEPTH) {
        fputs("null", out);
        return;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        fputs("null", out);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", out);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fprintf(out, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fprintf(out, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64))
            fprintf(out, "%.17g", o->via.f64);
        else
            fputs("null", out);
        break;
    case MSGPACK_OBJECT_STR:
        s_print_string(out, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        fputs("{\"$bin\":", out);
        s_print_hex(out, o->via.bin.ptr, o->via.bin.size);
        fputc('}', out);
        break;
    case MSGPACK_OBJECT_EXT:
        fprintf(out, "{\"$ext\":%d,\"hex\":", o->via.ext.type);
        s_print_hex(out, o->via.ext.ptr, o->via.ext.size);
        fputc('}', out);
        break;
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', out);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                fputc(',', out);
            s_print(out, &o->via.array.ptr[i], depth + 1);
        }
        fputc(']', out);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', out);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (i)
                fputc(',', out);
            if (kv->key.type == MSGPACK_OBJECT_STR)
                s_print_string(out, kv->key.via.str.ptr, kv->key.via.str.size);
            else
                fputs("\"?\"", out);
            fputc(':', out);
            s_print(out, &kv->val, depth + 1);
        }
        fputc('}', out);
        break;
    default:
        fputs("null", out);
    }
}

void mpjson_print(FILE *out, const msgpack_object *o)
{
    s_print(out, o, 0);
}

/* ---- JSON -> msgpack --------------------------------------------------- */

typedef struct parser {
    const char *p, *start, *end;
    msgpack_packer *pk;
    err_t *err;
} parser_t;

static int s_fail(parser_t *ps, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    err_set(ps->err, "JSON line %d column %d: %s", line, col, what);
    return -1;
}

static void s_skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int s_hex4(parser_t *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return s_fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return s_fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

/* Parses a string (ps->p at the opening quote) into a malloc'd buffer. */
static int s_string(parser_t *ps, char **out, size_t *out_len)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return s_fail(ps, "out of memory");
    ps->p++;
    for (;;) {
        if (ps->p >= ps->end) {
            free(buf);
            return s_fail(ps, "unterminated string");
        }
        if (n + 4 >= cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                return s_fail(ps, "out of memory");
            }
            buf = grown;
        }
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(buf);
            return s_fail(ps, "control character in string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end) {
            free(buf);
            return s_fail(ps, "truncated escape");
        }
        char e = *ps->p++;
        unsigned cp = 0;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            buf[n++] = e;
            break;
        case 'b':
            buf[n++] = '\b';
            break;
        case 'f':
            buf[n++] = '\f';
            break;
        case 'n':
            buf[n++] = '\n';
            break;
        case 'r':
            buf[n++] = '\r';
            break;
        case 't':
            buf[n++] = '\t';
            break;
        case 'u':
            if (s_hex4(ps, &cp) != 0) {
                free(buf);
                return -1;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo = 0;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    free(buf);
                    return s_fail(ps, "unpaired surrogate");
                }
                ps->p += 2;
                if (s_hex4(ps, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    free(buf);
                    return s_fail(ps, "unpaired surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp < 0x80) {
                buf[n++] = (char)cp;
            } else if (cp < 0x800) {
                buf[n++] = (char)(0xc0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                buf[n++] = (char)(0xe0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                buf[n++] = (char)(0x80 | (cp & 0x3f));
            } else {
                buf[n++] = (char)(0xf0 | (cp >> 18));
                buf[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                buf[n++] = (char)(0x80 | (cp & 0x3f));
            }
            break;
        default:
            free(buf);
            return s_fail(ps, "unknown escape");
        }
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int s_value(parser_t *ps, int depth);

static bool s_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int s_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Packs {"$bin": "<hex>"} as bin; *handled = 0 when obj is something else.
 * The form is recognised with any JSON whitespace and only when the value
 * is an even number of hex digits: anything else (odd length, another
 * character, an escape) is an ordinary object with a "$bin" key. So what
 * mpjson_print() writes always parses again (tests/fuzz/fuzz_json.c). */
static int s_maybe_bin(parser_t *ps, const char *save, int *handled)
{
    *handled = 0;
    const char *q = save;
    if (q >= ps->end || *q++ != '{')
        return 0;
    while (q < ps->end && s_is_ws(*q))
        q++;
    if ((size_t)(ps->end - q) < 6 || strncmp(q, "\"$bin\"", 6) != 0)
        return 0;
    q += 6;
    while (q < ps->end && s_is_ws(*q))
        q++;
    if (q >= ps->end || *q++ != ':')
        return 0;
    while (q < ps->end && s_is_ws(*q))
        q++;
    if (q >= ps->end || *q != '"')
        return 0;
    const char *hex = ++q;
    while (q < ps->end && s_hex_digit(*q) >= 0)
        q++;
    size_t hl = (size_t)(q - hex);
    if (q >= ps->end || *q != '"' || hl % 2)
        return 0;
    const char *close = q + 1;
    while (close < ps->end && s_is_ws(*close))
        close++;
    if (close >= ps->end || *close != '}')
        return 0;
    msgpack_pack_bin(ps->pk, hl / 2);
    for (size_t i = 0; i < hl; i += 2) {
        char b = (char)(s_hex_digit(hex[i]) * 16 + s_hex_digit(hex[i + 1]));
        msgpack_pack_bin_body(ps->pk, &b, 1);
    }
    ps->p = close + 1;
    *handled = 1;
    return 0;
}

/* Parses one object member "key": value, packing key then value. */
static int s_member(parser_t *ps, int depth)
{
    s_skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return s_fail(ps, "expected a string key");
    char *key = NULL;
    size_t kl = 0;
    if (s_string(ps, &key, &kl) != 0)
        return -1;
    msgpack_pack_str(ps->pk, kl);
    msgpack_pack_str_body(ps->pk, key, kl);
    free(key);
    s_skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        return s_fail(ps, "expected ':'");
    ps->p++;
    return s_value(ps, depth + 1);
}

/* Parses an object or an array (ps->p at its opening bracket). msgpack
 * wants the element count first, so elements are packed into a scratch
 * buffer and copied after the header once the count is known. */
static int s_container(parser_t *ps, int depth, int is_object)
{
    const char close = is_object ? '}' : ']';
    msgpack_sbuffer inner;
    msgpack_sbuffer_init(&inner);
    msgpack_packer ipk;
    msgpack_packer_init(&ipk, &inner, msgpack_sbuffer_write);
    msgpack_packer *outer = ps->pk;
    /* ps->pk is restored before returning. */
    // cppcheck-suppress autoVariables
    ps->pk = &ipk;
    size_t count = 0;
    int rc = -1;
    ps->p++;
    s_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        rc = 0;
        goto out;
    }
    for (;;) {
        if ((is_object ? s_member(ps, depth) : s_value(ps, depth + 1)) != 0)
            goto out;
        count++;
        s_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            rc = 0;
            goto out;
        }
        s_fail(ps, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto out;
    }
out:
    ps->pk = outer;
    if (rc == 0) {
        if (is_object)
            msgpack_pack_map(outer, count);
        else
            msgpack_pack_array(outer, count);
        outer->callback(outer->data, inner.data, inner.size);
    }
    msgpack_sbuffer_destroy(&inner);
    return rc;
}

static int s_object(parser_t *ps, int depth)
{
    int handled = 0;
    if (s_maybe_bin(ps, ps->p, &handled) != 0)
        return -1;
    return handled ? 0 : s_container(ps, depth, 1);
}

static int s_number(parser_t *ps)
{
    const char *s = ps->p;
    int is_float = 0;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p)) {
        if (strchr(".eE", *ps->p))
            is_float = 1;
        ps->p++;
    }
    char buf[64];
    size_t n = (size_t)(ps->p - s);
    if (n == 0 || n >= sizeof buf)
        return s_fail(ps, "bad number");
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *endp = NULL;
    errno = 0;
    if (!is_float) {
        long long v = strtoll(buf, &endp, 10);
        if (*endp == '\0' && errno == 0) {
            msgpack_pack_int64(ps->pk, v);
            return 0;
        }
    }
    errno = 0;
    double d = strtod(buf, &endp);
    if (*endp != '\0' || errno != 0 || !isfinite(d))
        return s_fail(ps, "bad number");
    msgpack_pack_double(ps->pk, d);
    return 0;
}

static int s_literal(parser_t *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || strncmp(ps->p, word, n) != 0)
        return s_fail(ps, "unexpected character");
    ps->p += n;
    return 0;
}

static int s_value(parser_t *ps, int depth)
{
    if (depth > MPJSON_MAX_DEPTH)
        return s_fail(ps, "nested too deeply");
    s_skip_ws(ps);
    if (ps->p >= ps->end)
        return s_fail(ps, "unexpected end of input");
    char c = *ps->p;
    if (c == '{')
        return s_object(ps, depth);
    if (c == '[')
        return s_container(ps, depth, 0);
    if (c == '"') {
        char *s = NULL;
        size_t n = 0;
        if (s_string(ps, &s, &n) != 0)
            return -1;
        msgpack_pack_str(ps->pk, n);
        msgpack_pack_str_body(ps->pk, s, n);
        free(s);
        return 0;
    }
    if (c == 't') {
        if (s_literal(ps, "true") != 0)
            return -1;
        return msgpack_pack_true(ps->pk);
    }
    if (c == 'f') {
        if (s_literal(ps, "false") != 0)
            return -1;
        return msgpack_pack_false(ps->pk);
    }
    if (c == 'n') {
        if (s_literal(ps, "null") != 0)
            return -1;
        return msgpack_pack_nil(ps->pk);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return s_number(ps);
    return s_fail(ps, "unexpected character");
}

int mpjson_parse(const char *text, size_t len, msgpack_packer *pk, err_t *err)
{
    parser_t ps = {.p = text, .start = text, .end = text + len, .pk = pk, .err = err};
    if (s_value(&ps, 0) != 0)
        return -1;
    s_skip_ws(&ps);
    if (ps.p != ps.end)
        return s_fail(&ps, "trailing characters after the value");
    return 0;
}
