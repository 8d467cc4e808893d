-- The notifications inbox, operator announcements, and room moderation (room admins,
-- mutes, kicks).
--
-- Each user's notifications are numbered 1, 2, 3, ... without gaps: the inbox row keeps the
-- last number given and is bumped in the transaction that stores the notification, as
-- conversations do with last_seq. read_seq is how far the user has read (never backwards).
--
-- Announcements are stored once. A user's inbox receives a copy (with its own seq) the
-- next time that user's inbox is read; announcement_id is the last one copied, so each is
-- copied once. Announcements made before an account existed are not copied into it.

CREATE TABLE notification_inboxes (
    user_id         BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_seq        BIGINT  NOT NULL DEFAULT 0,
    read_seq        BIGINT  NOT NULL DEFAULT 0,
    announcement_id BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE notifications (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq        BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,            -- follow | gift | live | announcement
    actor_id   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    payload    TEXT    NOT NULL,            -- JSON object
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, seq)
);

CREATE TABLE announcements (
    id         BIGSERIAL PRIMARY KEY,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL
);

-- Users the room's owner trusts to mute and kick in the room.
CREATE TABLE room_admins (
    room_id    BIGINT  NOT NULL REFERENCES live_rooms (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_admins_by_user ON room_admins (user_id);

-- A member may not send danmaku in the room until until_ms.
CREATE TABLE room_mutes (
    room_id    BIGINT  NOT NULL REFERENCES live_rooms (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    until_ms   BIGINT  NOT NULL,
    by_user    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- A kicked user may not join the room's chat again until until_ms.
CREATE TABLE room_kicks (
    room_id    BIGINT  NOT NULL REFERENCES live_rooms (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    until_ms   BIGINT  NOT NULL,
    by_user    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
