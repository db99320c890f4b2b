-- tokenstack schema, version 3 (PostgreSQL): every change to a row that replicas cache (core tokens, authentik
-- users, PATs, NetBird users) is announced on the channel `tokenstack_cache`, in the changing transaction, so it
-- reaches every listening replica when that transaction commits, whoever made the change.
--
-- One notification per statement: `<kind>:<key>,<key>,…` (kind `c` core token pks, `u` authentik user pks, `p`
-- PAT ids, `n` NetBird user ids) naming the changed rows as they were before; `*` (forget everything) when a
-- statement changed more than 100 rows. Inserts change no cached answer and are not announced; neither is an
-- update of a PAT's `last_used` alone. Keys are never secrets: no token key or PAT hash is ever sent.

CREATE FUNCTION tokenstack_announce(kind TEXT, keys TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF keys IS NULL THEN
        RETURN;
    ELSIF array_length(keys, 1) > 100 THEN
        PERFORM pg_notify('tokenstack_cache', '*');
    ELSE
        PERFORM pg_notify('tokenstack_cache', kind || ':' || array_to_string(keys, ','));
    END IF;
END $$;

-- TG_ARGV[0]: the kind; TG_ARGV[1]: the key column of `old_rows`.
CREATE FUNCTION tokenstack_announce_rows() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
BEGIN
    EXECUTE format('SELECT array_agg(k) FROM (SELECT %I::text AS k FROM old_rows LIMIT 101) s', TG_ARGV[1]) INTO keys;
    PERFORM tokenstack_announce(TG_ARGV[0], keys);
    RETURN NULL;
END $$;

-- PATs whose update changed more than `last_used`.
CREATE FUNCTION tokenstack_announce_pat_updates() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
BEGIN
    SELECT array_agg(id) INTO keys FROM (
        SELECT o.id FROM old_rows o
        WHERE NOT EXISTS (
            SELECT 1 FROM new_rows n
            WHERE n.id = o.id AND n.user_id = o.user_id AND n.name = o.name AND n.hashed_token = o.hashed_token
              AND n.expiration_date = o.expiration_date AND n.created_by = o.created_by AND n.created_at = o.created_at
        )
        LIMIT 101
    ) s;
    PERFORM tokenstack_announce('p', keys);
    RETURN NULL;
END $$;

CREATE TRIGGER core_tokens_updated AFTER UPDATE ON core_tokens REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('c', 'pk');
CREATE TRIGGER core_tokens_deleted AFTER DELETE ON core_tokens REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('c', 'pk');
CREATE TRIGGER ak_users_updated AFTER UPDATE ON ak_users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('u', 'pk');
CREATE TRIGGER ak_users_deleted AFTER DELETE ON ak_users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('u', 'pk');
CREATE TRIGGER nb_users_updated AFTER UPDATE ON nb_users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('n', 'id');
CREATE TRIGGER nb_users_deleted AFTER DELETE ON nb_users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('n', 'id');
CREATE TRIGGER pats_updated AFTER UPDATE ON pats REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_pat_updates();
CREATE TRIGGER pats_deleted AFTER DELETE ON pats REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tokenstack_announce_rows('p', 'id');
