-- The web console: browser sessions, the operators' audit log and the chat gateway's
-- sensitive words, editable at run time.
--
-- A browser session is a random token in an HttpOnly cookie; the database keeps only its
-- SHA-256, as it does for refresh tokens. Signing out or a ban revokes it.

CREATE TABLE web_sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- Every operator action, written by the use case that performs it.
CREATE TABLE admin_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_id   INTEGER NOT NULL REFERENCES users (id),
    admin_name TEXT    NOT NULL,            -- the admin's username when they acted
    action     TEXT    NOT NULL,            -- e.g. user.ban, room.cut, gift.create
    target     TEXT    NOT NULL DEFAULT '', -- e.g. user:7, room:3
    detail     TEXT    NOT NULL DEFAULT '{}', -- JSON object
    created_at INTEGER NOT NULL
);
CREATE INDEX admin_audit_by_action ON admin_audit (action, id);

-- Words masked in (or refusing) room messages, on top of `chat.sensitive_words`.
CREATE TABLE sensitive_words (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    word       TEXT    NOT NULL,
    word_key   TEXT    NOT NULL UNIQUE,     -- lower-cased
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
