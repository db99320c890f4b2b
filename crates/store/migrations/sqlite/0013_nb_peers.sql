-- tokenstack schema, version 13: NetBird peers, stored through the generic operations of `resource/` (its
-- declaration names these columns). `data` is the peer's JSON document; `peer_key` its WireGuard public key
-- (upstream's unique `Key`); `name` and `ip` are the list filters of `GET /api/peers`. A peer's groups are kept on
-- the groups (`nb_groups.data`), as upstream's group-peer table keeps them.

CREATE TABLE nb_peers (
    id         TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer_key   TEXT NOT NULL,
    name       TEXT NOT NULL,
    ip         TEXT NOT NULL,
    data       TEXT NOT NULL,
    CONSTRAINT nb_peers__id PRIMARY KEY (id),
    CONSTRAINT nb_peers__peer_key UNIQUE (peer_key)
);
CREATE INDEX nb_peers_account ON nb_peers (account_id);
