-- tokenstack schema, version 2 (PostgreSQL): the authentik user fields that /core/users/ filters, searches and
-- orders by, as columns beside the user's JSON document (which stays the source of every other field).
-- Existing rows get them from their document. `is_superuser` is effective: the user's flag or a superuser group's.

ALTER TABLE ak_users
    ADD COLUMN name TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN name_lc TEXT NOT NULL DEFAULT '',
    ADD COLUMN email TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN email_lc TEXT NOT NULL DEFAULT '',
    ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN path TEXT COLLATE "C" NOT NULL DEFAULT 'users',
    ADD COLUMN user_type TEXT COLLATE "C" NOT NULL DEFAULT 'internal',
    ADD COLUMN uuid TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN date_joined BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN last_login BIGINT,
    ADD COLUMN last_updated BIGINT NOT NULL DEFAULT 0;

UPDATE ak_users SET
    name = coalesce(data::jsonb->>'name', ''),
    name_lc = lower(coalesce(data::jsonb->>'name', '')),
    email = coalesce(data::jsonb->>'email', ''),
    email_lc = lower(coalesce(data::jsonb->>'email', '')),
    is_active = coalesce((data::jsonb->>'is_active')::boolean, TRUE),
    is_superuser = (coalesce((data::jsonb->>'is_superuser')::boolean, FALSE)
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(data::jsonb->'groups', '[]'::jsonb)) g
                   WHERE (g->>'is_superuser')::boolean)),
    path = coalesce(data::jsonb->>'path', 'users'),
    user_type = coalesce(data::jsonb->>'user_type', 'internal'),
    uuid = coalesce(data::jsonb->>'uuid', ''),
    date_joined = coalesce((EXTRACT(EPOCH FROM (data::jsonb->>'date_joined')::timestamptz) * 1000000)::BIGINT, 0),
    last_login = (EXTRACT(EPOCH FROM (data::jsonb->>'last_login')::timestamptz) * 1000000)::BIGINT,
    last_updated = coalesce((EXTRACT(EPOCH FROM (data::jsonb->>'last_updated')::timestamptz) * 1000000)::BIGINT, 0);

CREATE INDEX nb_users_account ON nb_users (account_id);
