-- The web console: browser sessions, the operators' audit log and the chat gateway's
-- sensitive words, editable at run time.
--
-- A browser session is a random token in an HttpOnly cookie; the database keeps only its
-- SHA-256, as it does for refresh tokens. Signing out or a ban revokes it.

CREATE TABLE web_sessions (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- Every operator action, written by the use case that performs it.
CREATE TABLE admin_audit (
    id         BIGSERIAL PRIMARY KEY,
    admin_id   BIGINT  NOT NULL REFERENCES users (id),
    admin_name TEXT    NOT NULL,            -- the admin's username when they acted
    action     TEXT    NOT NULL,            -- e.g. user.ban, room.cut, gift.create
    target     TEXT    NOT NULL DEFAULT '', -- e.g. user:7, room:3
    detail     TEXT    NOT NULL DEFAULT '{}', -- JSON object
    created_at BIGINT  NOT NULL
);
CREATE INDEX admin_audit_by_action ON admin_audit (action, id);

-- Words masked in (or refusing) room messages, on top of `chat.sensitive_words`.
CREATE TABLE sensitive_words (
    id         BIGSERIAL PRIMARY KEY,
    word       TEXT    NOT NULL,
    word_key   TEXT    NOT NULL UNIQUE,     -- lower-cased
    created_by BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL
);
