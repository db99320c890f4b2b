-- tokenstack schema, version 1 (PostgreSQL).
--
-- Conventions shared with migrations/sqlite:
-- * timestamps are BIGINT microseconds since the Unix epoch (UTC), so both backends compare,
--   order and index them the same way;
-- * unique and primary-key constraints are named `<table>__<column>`: the store maps a violation
--   back to the field it reports in `StoreError::Duplicate`;
-- * `*_lc` columns hold the Unicode lower case of a searched field (filled by the store), so
--   case-insensitive search is a plain index-free substring test with the same folding as memory;
-- * text that is ordered or compared uses the "C" collation (byte order, as the memory store).
--
-- Secrets at rest: authentik token keys (`core_tokens.token_key`) and OAuth2 tokens are stored in
-- plain text, as authentik does (they are shown by `view_key`); NetBird PATs only as the base64
-- SHA-256 of the plain token (`pats.hashed_token`), as NetBird does.

CREATE TABLE ak_users (
    pk          BIGINT NOT NULL,
    username    TEXT COLLATE "C" NOT NULL,
    username_lc TEXT NOT NULL,
    data        TEXT NOT NULL,
    CONSTRAINT ak_users__pk PRIMARY KEY (pk),
    CONSTRAINT ak_users__username UNIQUE (username)
);

CREATE TABLE providers (
    pk      BIGINT NOT NULL,
    name_lc TEXT NOT NULL,
    data    TEXT NOT NULL,
    CONSTRAINT providers__pk PRIMARY KEY (pk)
);

CREATE TABLE core_tokens (
    pk             TEXT COLLATE "C" NOT NULL,
    identifier     TEXT COLLATE "C" NOT NULL,
    identifier_lc  TEXT NOT NULL,
    token_key      TEXT COLLATE "C" NOT NULL,
    intent         TEXT COLLATE "C" NOT NULL,
    user_id        BIGINT NOT NULL REFERENCES ak_users (pk),
    description    TEXT COLLATE "C" NOT NULL,
    description_lc TEXT NOT NULL,
    expires        BIGINT,
    expiring       BOOLEAN NOT NULL,
    managed        TEXT COLLATE "C",
    key_viewers    TEXT NOT NULL,
    CONSTRAINT core_tokens__pk PRIMARY KEY (pk),
    CONSTRAINT core_tokens__identifier UNIQUE (identifier),
    CONSTRAINT core_tokens__token_key UNIQUE (token_key)
);
CREATE INDEX core_tokens_user ON core_tokens (user_id);
CREATE INDEX core_tokens_expiring ON core_tokens (expires) WHERE expiring;

CREATE TABLE oauth_tokens (
    kind        TEXT COLLATE "C" NOT NULL,
    pk          BIGINT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES providers (pk),
    user_id     BIGINT NOT NULL REFERENCES ak_users (pk),
    token       TEXT NOT NULL,
    expires     BIGINT,
    scope       TEXT NOT NULL,
    id_token    TEXT NOT NULL,
    revoked     BOOLEAN NOT NULL,
    CONSTRAINT oauth_tokens__pk PRIMARY KEY (kind, pk)
);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_provider ON oauth_tokens (provider_id);

CREATE TABLE nb_users (
    id         TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    data       TEXT NOT NULL,
    CONSTRAINT nb_users__id PRIMARY KEY (id)
);

CREATE TABLE pats (
    id              TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES nb_users (id),
    name            TEXT NOT NULL,
    hashed_token    TEXT COLLATE "C" NOT NULL,
    expiration_date BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used       BIGINT,
    CONSTRAINT pats__id PRIMARY KEY (id),
    CONSTRAINT pats__hashed_token UNIQUE (hashed_token)
);
CREATE INDEX pats_user ON pats (user_id, id);
