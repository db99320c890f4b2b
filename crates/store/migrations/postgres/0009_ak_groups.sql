-- tokenstack schema, version 9 (PostgreSQL): authentik groups as rows, stored through the generic operations of
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
    is_superuser BOOLEAN NOT NULL,
    data         TEXT NOT NULL,
    CONSTRAINT ak_groups__pk PRIMARY KEY (pk),
    CONSTRAINT ak_groups__name UNIQUE (name)
);

INSERT INTO ak_groups (pk, name, name_lc, is_superuser, data)
SELECT pk, name, lower(name), is_superuser, data FROM (
    SELECT
        g.value ->> 'pk' AS pk,
        g.value ->> 'name' AS name,
        coalesce((g.value ->> 'is_superuser')::boolean, false) AS is_superuser,
        g.value::text AS data,
        row_number() OVER (PARTITION BY g.value ->> 'name' ORDER BY u.pk, g.position) AS position
    FROM ak_users u, jsonb_array_elements(u.data::jsonb -> 'groups') WITH ORDINALITY AS g(value, position)
) copies WHERE position = 1;

UPDATE ak_users SET data = jsonb_set(data::jsonb, '{groups}', (
    SELECT coalesce(jsonb_agg(ag.data::jsonb ORDER BY ag.name), '[]'::jsonb) FROM ak_groups ag
    WHERE ag.name IN (SELECT g ->> 'name' FROM jsonb_array_elements(ak_users.data::jsonb -> 'groups') g)
))::text
WHERE jsonb_array_length(data::jsonb -> 'groups') > 0;
