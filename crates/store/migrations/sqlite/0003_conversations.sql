-- Conversations (1:1 for now; groups later), their members and their messages.
-- Every message has a sequence number, consecutive within its conversation, assigned in the
-- transaction that stores it; clients sync by asking for everything after the last they have.

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,            -- direct
    pair_key   TEXT    UNIQUE,              -- "{low_id}:{high_id}" for direct conversations
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL             -- time of the last message
);
CREATE INDEX conversations_updated ON conversations (updated_at);

CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_by_user ON conversation_members (user_id);

CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,       -- text | image | voice | video | custom
    content         TEXT    NOT NULL,       -- JSON
    client_id       TEXT    NOT NULL,       -- the sender's idempotency key
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, sender_id, client_id)
);
