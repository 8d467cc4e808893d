-- Live rooms: one per anchor, with the secret key their encoder publishes with.

CREATE TABLE live_rooms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    stream_key  TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL DEFAULT 'offline',  -- offline | live
    banned      INTEGER NOT NULL DEFAULT 0,
    live_since  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX live_rooms_status ON live_rooms (status);
