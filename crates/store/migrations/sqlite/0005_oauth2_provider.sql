-- tokenstack schema, version 5 (SQLite): what the OAuth2 provider endpoints (`/application/o/`) store.
-- (Version 4 is PostgreSQL's cache notifications; SQLite has none, so the versions stay the same in both.)
--
-- * `authorization_codes`: authentik's `AuthorizationCode`, one use, keyed by the code itself; it goes with its
--   provider or user (the store deletes it in the same transaction, as it does their tokens). `scope` is a JSON
--   list, as in `oauth_tokens`. Codes are never in a snapshot: an import clears them.
-- * `key_pairs`: authentik's `CertificateKeyPair` as a signing key: PEM private key and certificate, name unique.
-- * the token endpoint looks OAuth2 tokens up by their value (refresh grant, introspection, revocation); values
--   are not unique, as upstream's `TextField`.
--
-- Secrets at rest: codes and private keys are stored in plain text, as authentik stores them.

CREATE TABLE authorization_codes (
    code                  TEXT NOT NULL,
    provider_id           INTEGER NOT NULL REFERENCES providers (pk),
    user_id               INTEGER NOT NULL REFERENCES ak_users (pk),
    expires               INTEGER NOT NULL,
    scope                 TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    auth_time             INTEGER NOT NULL,
    CONSTRAINT authorization_codes__code PRIMARY KEY (code)
);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_provider ON authorization_codes (provider_id);

CREATE TABLE key_pairs (
    pk               TEXT NOT NULL,
    name             TEXT NOT NULL,
    key_data         TEXT NOT NULL,
    certificate_data TEXT NOT NULL,
    CONSTRAINT key_pairs__pk PRIMARY KEY (pk),
    CONSTRAINT key_pairs__name UNIQUE (name)
);

CREATE INDEX oauth_tokens_token ON oauth_tokens (kind, token);
