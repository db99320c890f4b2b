-- tokenstack schema, version 9 (SQLite): authentik groups as rows, stored through the generic operations of
-- `resource/` (its declaration names these columns). `data` is the group's JSON document; `pk` and `name` are
-- its unique keys, `name_lc` what search reads, `is_superuser` what the `is_superuser` filter reads.
--
-- Membership stays in the users' rows: each user's document embeds a copy of its groups. Until now those copies
-- were the only groups there were, so this migration makes one row of each group name (the copy of the user
-- with the lowest pk wins, as the first one listed), and rewrites every user's copies to those rows, so that a
-- name two users held under different pks becomes one group.

CREATE TABLE ak_groups (
    pk           TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_lc      TEXT NOT NULL,
    is_superuser INTEGER NOT NULL,
    data         TEXT NOT NULL,
    CONSTRAINT ak_groups__pk PRIMARY KEY (pk),
    CONSTRAINT ak_groups__name UNIQUE (name)
);

INSERT INTO ak_groups (pk, name, name_lc, is_superuser, data)
SELECT pk, name, lower(name), is_superuser, data FROM (
    SELECT
        json_extract(g.value, '$.pk') AS pk,
        json_extract(g.value, '$.name') AS name,
        coalesce(json_extract(g.value, '$.is_superuser'), 0) AS is_superuser,
        g.value AS data,
        row_number() OVER (PARTITION BY json_extract(g.value, '$.name') ORDER BY u.pk, g.key) AS position
    FROM ak_users u, json_each(u.data, '$.groups') g
) WHERE position = 1;

UPDATE ak_users SET data = json_set(data, '$.groups', (
    SELECT json_group_array(json(r.data)) FROM (
        SELECT ag.data FROM ak_groups ag
        WHERE ag.name IN (SELECT json_extract(g.value, '$.name') FROM json_each(ak_users.data, '$.groups') g)
        ORDER BY ag.name
    ) r
))
WHERE json_array_length(data, '$.groups') > 0;
