-- tokenstack schema, version 14: NetBird accounts (the settings `PUT /api/accounts/{id}` changes), stored through
-- the generic operations of `resource/`. `data` is the account's JSON document.

CREATE TABLE nb_accounts (
    id   TEXT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT nb_accounts__id PRIMARY KEY (id)
);
