-- tokenstack schema, version 5 (PostgreSQL): what the OAuth2 provider endpoints (`/application/o/`) store.
--
-- * `authorization_codes`: authentik's `AuthorizationCode`, one use, keyed by the code itself; it goes with its
--   provider or user (the store deletes it in the same transaction, as it does their tokens). `scope` is a JSON
--   list, as in `oauth_tokens`. Codes are never in a snapshot: an import clears them.
-- * `key_pairs`: authentik's `CertificateKeyPair` as a signing key: PEM private key and certificate, name unique.
-- * the token endpoint looks OAuth2 tokens up by their value (refresh grant, introspection, revocation); values
--   are not unique, as upstream's `TextField`. The index is a hash index, as upstream's `HashIndex`: access tokens
--   are JWTs that can outgrow a B-tree entry (about 2.7 kB); `kind = $1` filters the few rows it finds.
--
-- None of these tables is cached (`store/sql/cache.rs`), so none announces its changes (0004_cache_notify.sql).
--
-- Secrets at rest: codes and private keys are stored in plain text, as authentik stores them.

CREATE TABLE authorization_codes (
    code                  TEXT COLLATE "C" NOT NULL,
    provider_id           BIGINT NOT NULL REFERENCES providers (pk),
    user_id               BIGINT NOT NULL REFERENCES ak_users (pk),
    expires               BIGINT NOT NULL,
    scope                 TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    auth_time             BIGINT NOT NULL,
    CONSTRAINT authorization_codes__code PRIMARY KEY (code)
);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_provider ON authorization_codes (provider_id);

CREATE TABLE key_pairs (
    pk               TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    key_data         TEXT NOT NULL,
    certificate_data TEXT NOT NULL,
    CONSTRAINT key_pairs__pk PRIMARY KEY (pk),
    CONSTRAINT key_pairs__name UNIQUE (name)
);

CREATE INDEX oauth_tokens_token ON oauth_tokens USING hash (token);
