-- tokenstack schema, version 12: what an authorization code carries of the login it was issued in, for the id
-- token: `amr` (a JSON list, the session's authentication methods) and `session` (the session's hash, the `sid`
-- claim). Both are NULL for codes issued before, or without a login (`--authorize-as`).

ALTER TABLE authorization_codes ADD COLUMN amr TEXT;
ALTER TABLE authorization_codes ADD COLUMN session TEXT;
