-- The key of the digest intake writes into a stored event in place of its
-- confidential fields (HMAC-SHA-256, services/intake/confidential.c). It
-- is made here, once, by the database itself (gen_random_uuid() draws from
-- the server's strong random source: two of them give 244 random bits),
-- so every intake instance shares it, it never lies in a file, and only
-- intake's role can read it, like the contacts it protects. The row must
-- never change: digests of stored events would stop matching their retries.
CREATE TABLE digest_key (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key        bytea NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO digest_key (key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
