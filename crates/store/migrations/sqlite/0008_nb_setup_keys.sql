-- tokenstack schema, version 7: NetBird setup keys, stored through the generic operations of `resource/` (its
-- declaration names these columns). `data` is the key's JSON document; `hashed_token` is the base64 SHA-256 of the
-- plain key (upstream's `Key` column; the plain key is never stored), unique, so that a joining peer finds its key.

CREATE TABLE nb_setup_keys (
    id           TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    hashed_token TEXT NOT NULL,
    data         TEXT NOT NULL,
    CONSTRAINT nb_setup_keys__id PRIMARY KEY (id),
    CONSTRAINT nb_setup_keys__hashed_token UNIQUE (hashed_token)
);
CREATE INDEX nb_setup_keys_account ON nb_setup_keys (account_id);
