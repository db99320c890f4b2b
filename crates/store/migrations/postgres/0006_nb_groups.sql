-- tokenstack schema, version 6: NetBird groups, the first resource stored through the generic operations of
-- `resource.rs` (its declaration names these columns). `data` is the group's JSON document; `id`, `account_id`
-- and `name` are its key and the columns its listings filter by (search reads `name_lc`, the lower case).
-- Names are unique per account by rule (upstream's `validateNewGroup`), not by constraint.

CREATE TABLE nb_groups (
    id         TEXT NOT NULL,
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_lc    TEXT NOT NULL,
    data       TEXT NOT NULL,
    CONSTRAINT nb_groups__id PRIMARY KEY (id)
);
CREATE INDEX nb_groups_account ON nb_groups (account_id, name);
