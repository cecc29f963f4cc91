/* uuid.c - canonical UUID text: the check and a random version-4 id (see
 * include/uuid.h). */
#include "uuid.h"

#include "fnv.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

static bool s_is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool uuid_is_canonical(const char *s, size_t len)
{
    if (!s || len != UUID_LEN)
        return false;
    for (size_t i = 0; i < UUID_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!s_is_hex(c)) {
            return false;
        }
    }
    return true;
}

/* Fills buf from /dev/urandom; only used when getrandom(2) is missing. */
static int s_urandom(unsigned char *buf, size_t n)
{
    int rc = -1;
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

int uuid_new(char out[UUID_LEN + 1])
{
    unsigned char b[16];
    size_t got = 0;

    if (!out)
        return -1;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == ENOSYS) {
            if (s_urandom(b + got, sizeof b - got) != 0)
                return -1;
            got = sizeof b;
            break;
        }
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_format(b, out);
    return 0;
}

void uuid_format(const unsigned char bytes[16], char out[UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[bytes[i] >> 4];
        out[k++] = hex[bytes[i] & 15];
    }
    out[k] = '\0';
}

/* A hex digit's value plus one; 0 for any other byte (a table: uuid_parse
 * runs for every id a batch writes). */
static const unsigned char s_hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};

int uuid_parse(const char *s, size_t len, unsigned char out[16])
{
    if (!s || len != UUID_LEN)
        return -1;
    int k = 0;
    for (size_t i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        int hi = s_hex1[(unsigned char)s[i]], lo = s_hex1[(unsigned char)s[i + 1]];
        if (!hi || !lo)
            return -1;
        out[k++] = (unsigned char)((hi - 1) << 4 | (lo - 1));
        i++;
    }
    return 0;
}

void uuid_derive(const void *cause, size_t len, char out[UUID_LEN + 1])
{
    /* Two FNV-1a passes from different bases: 128 bits. */
    uint64_t a = fnv_bytes(FNV_OFFSET_BASIS, cause, len);
    uint64_t b = fnv_bytes(a ^ 0x9e3779b97f4a7c15ull, cause, len);
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(a >> (56 - 8 * i));
        bytes[8 + i] = (unsigned char)(b >> (56 - 8 * i));
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x80); /* version 8 */
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_format(bytes, out);
}
