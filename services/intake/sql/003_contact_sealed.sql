-- Confidential fields encrypted at rest (libsodium secretbox, common/
-- keyring.c): `sealed` holds the box of (message id || the msgpack map
-- that `fields` held), `nonce` its 24-byte nonce, `key_id` the id of the
-- key that sealed it. The key is not in the database: intake has it from
-- AIRGUARD_INTAKE_CONTACT_KEY(_FILE), see docs/deploy.md.
--
-- A row holds either form, never both. `fields` (plain text) is written
-- only by an intake running `insecure: true` without a key (local tests);
-- rows written before this migration are plain too: intake seals every
-- plain row, and re-seals every row of an older key, each time it starts
-- with a key (services/intake/confidential_store.c).
ALTER TABLE confidential
    ALTER COLUMN fields DROP NOT NULL,
    ADD COLUMN key_id integer CHECK (key_id BETWEEN 1 AND 65535),
    ADD COLUMN nonce  bytea CHECK (length(nonce) = 24),
    ADD COLUMN sealed bytea,
    ADD CONSTRAINT confidential_one_form CHECK (
        (fields IS NULL) = (sealed IS NOT NULL)
        AND (sealed IS NULL) = (key_id IS NULL)
        AND (sealed IS NULL) = (nonce IS NULL));
