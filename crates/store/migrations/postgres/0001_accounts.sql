-- Accounts, refresh tokens and the social graph.
-- Times are milliseconds since the Unix epoch (BIGINT), the same on both databases.

CREATE TABLE users (
    id              BIGSERIAL PRIMARY KEY,
    username        TEXT    NOT NULL,
    username_key    TEXT COLLATE "C" NOT NULL UNIQUE, -- lower-cased, for uniqueness and search
    nickname        TEXT    NOT NULL,
    nickname_key    TEXT COLLATE "C" NOT NULL,               -- lower-cased, for prefix search
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'user',  -- user | admin
    status          TEXT    NOT NULL DEFAULT 'active',-- active | banned
    avatar_url      TEXT,
    bio             TEXT    NOT NULL DEFAULT '',
    gender          TEXT    NOT NULL DEFAULT 'unknown',
    birthday        TEXT,                             -- YYYY-MM-DD
    location        TEXT    NOT NULL DEFAULT '',
    follower_count  BIGINT  NOT NULL DEFAULT 0,
    following_count BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX users_nickname_key ON users (nickname_key);

CREATE TABLE refresh_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family     TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT ,
    revoked_at BIGINT 
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE follows (
    follower_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_by_followee ON follows (followee_id, created_at, follower_id);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at, followee_id);

CREATE TABLE blocks (
    blocker_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks (blocked_id);
