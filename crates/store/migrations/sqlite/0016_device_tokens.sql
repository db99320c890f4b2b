-- tokenstack schema, version 16: authentik's device authorizations (RFC 8628, `DeviceToken`), stored through the
-- generic operations of `resource/` (its declaration names these columns). `data` is the row's JSON document.
-- The device code is the primary key (stored as upstream stores it); the user code is unique; `user_id` is NULL
-- until a user approves. Deleting the provider or the user deletes the row (the declaration's cascades).

CREATE TABLE ak_device_tokens (
    device_code TEXT NOT NULL,
    user_code   TEXT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (pk) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES ak_users (pk) ON DELETE CASCADE,
    expires     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    CONSTRAINT ak_device_tokens__device_code PRIMARY KEY (device_code),
    CONSTRAINT ak_device_tokens__user_code UNIQUE (user_code)
);
CREATE INDEX ak_device_tokens_provider ON ak_device_tokens (provider_id);
CREATE INDEX ak_device_tokens_user ON ak_device_tokens (user_id);
