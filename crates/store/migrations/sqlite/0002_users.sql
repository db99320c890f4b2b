-- tokenstack schema, version 2 (SQLite): the authentik user fields that /core/users/ filters, searches and
-- orders by, as columns beside the user's JSON document (which stays the source of every other field).
-- Existing rows get them from their document. `is_superuser` is effective: the user's flag or a superuser group's.

ALTER TABLE ak_users ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE ak_users ADD COLUMN name_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE ak_users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE ak_users ADD COLUMN email_lc TEXT NOT NULL DEFAULT '';
ALTER TABLE ak_users ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ak_users ADD COLUMN is_superuser INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ak_users ADD COLUMN path TEXT NOT NULL DEFAULT 'users';
ALTER TABLE ak_users ADD COLUMN user_type TEXT NOT NULL DEFAULT 'internal';
ALTER TABLE ak_users ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
ALTER TABLE ak_users ADD COLUMN date_joined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ak_users ADD COLUMN last_login INTEGER;
ALTER TABLE ak_users ADD COLUMN last_updated INTEGER NOT NULL DEFAULT 0;

UPDATE ak_users SET
    name = coalesce(json_extract(data, '$.name'), ''),
    name_lc = lower(coalesce(json_extract(data, '$.name'), '')),
    email = coalesce(json_extract(data, '$.email'), ''),
    email_lc = lower(coalesce(json_extract(data, '$.email'), '')),
    is_active = coalesce(json_extract(data, '$.is_active'), 1),
    is_superuser = (coalesce(json_extract(data, '$.is_superuser'), 0) = 1
        OR EXISTS (SELECT 1 FROM json_each(data, '$.groups') WHERE json_extract(value, '$.is_superuser') = 1)),
    path = coalesce(json_extract(data, '$.path'), 'users'),
    user_type = coalesce(json_extract(data, '$.user_type'), 'internal'),
    uuid = coalesce(json_extract(data, '$.uuid'), ''),
    date_joined = coalesce(CAST(unixepoch(json_extract(data, '$.date_joined'), 'subsec') * 1000000 AS INTEGER), 0),
    last_login = CAST(unixepoch(json_extract(data, '$.last_login'), 'subsec') * 1000000 AS INTEGER),
    last_updated = coalesce(CAST(unixepoch(json_extract(data, '$.last_updated'), 'subsec') * 1000000 AS INTEGER), 0);

CREATE INDEX nb_users_account ON nb_users (account_id);
