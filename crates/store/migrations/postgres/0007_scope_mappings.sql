-- tokenstack schema, version 7: authentik scope mappings (`ScopeMapping`), stored through the generic operations
-- of `resource/` (its declaration names these columns). `data` is the mapping's JSON document; `pk`, `name` and
-- `managed` are its unique keys (a NULL `managed` is no key, so any number of custom mappings have none).

CREATE TABLE scope_mappings (
    pk      TEXT NOT NULL,
    name    TEXT NOT NULL,
    managed TEXT,
    data    TEXT NOT NULL,
    CONSTRAINT scope_mappings__pk PRIMARY KEY (pk),
    CONSTRAINT scope_mappings__name UNIQUE (name),
    CONSTRAINT scope_mappings__managed UNIQUE (managed)
);
