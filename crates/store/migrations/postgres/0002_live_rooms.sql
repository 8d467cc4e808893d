-- Live rooms: one per anchor, with the secret key their encoder publishes with.

CREATE TABLE live_rooms (
    id          BIGSERIAL PRIMARY KEY,
    owner_id    BIGINT  NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    stream_key  TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL DEFAULT 'offline',  -- offline | live
    banned      BIGINT  NOT NULL DEFAULT 0,
    live_since  BIGINT ,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX live_rooms_status ON live_rooms (status);
