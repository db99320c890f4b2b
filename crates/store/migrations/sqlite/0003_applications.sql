-- tokenstack schema, version 3 (SQLite): authentik applications. The slug is the key; `provider_id` is the bound
-- OAuth2 provider (at most one application each, as upstream's one-to-one field), set to NULL when the provider
-- is deleted. `data` is the application's JSON document without its provider.

CREATE TABLE applications (
    slug        TEXT NOT NULL,
    provider_id INTEGER REFERENCES providers (pk) ON DELETE SET NULL,
    data        TEXT NOT NULL,
    CONSTRAINT applications__slug PRIMARY KEY (slug),
    CONSTRAINT applications__provider UNIQUE (provider_id)
);
