-- tokenstack schema, version 11: authentik sessions (Django's session with `AuthenticatedSession`) and user
-- consents (`UserConsent`), stored through the generic operations of `resource/` (their declarations name these
-- columns). `data` is the row's JSON document. A session's primary key is the SHA-256 of its key (the
-- `authentik_session` cookie, never stored); `user_id` is NULL until a login. Deleting a user deletes its sessions
-- and consents (the declarations' cascades).

CREATE TABLE ak_sessions (
    hashed_token TEXT NOT NULL,
    user_id      INTEGER REFERENCES ak_users (pk) ON DELETE CASCADE,
    expires      INTEGER NOT NULL,
    data         TEXT NOT NULL,
    CONSTRAINT ak_sessions__hashed_token PRIMARY KEY (hashed_token)
);
CREATE INDEX ak_sessions_user ON ak_sessions (user_id);

CREATE TABLE ak_user_consents (
    pk          TEXT NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES ak_users (pk) ON DELETE CASCADE,
    application TEXT NOT NULL,
    data        TEXT NOT NULL,
    CONSTRAINT ak_user_consents__pk PRIMARY KEY (pk)
);
CREATE INDEX ak_user_consents_user ON ak_user_consents (user_id);
