-- Short videos: uploads and replays, their processing state, the feed's score,
-- engagement (likes, favourites, comments, comment likes), resumable uploads and reports.
--
-- A video's files live in object storage under the keys stored here (source_key: what
-- was uploaded or recorded; video_key: the web-playable MP4; cover_key: a JPEG). status
-- is processing -> ready | failed (fail_reason says why, for the author). visibility is
-- public | followers | private. hidden is set by moderation: a hidden video vanishes
-- from every list and its links answer 404 to everyone but its author and admins.
-- deleted_at marks a video deleted by its author or an admin (files removed by a job).
--
-- The counters are kept in the transaction that changes the rows they count, so they are
-- exact. hot_score orders the recommended feed: log10(1 + engagement) + created_at/45e6
-- (ms), i.e. a video needs ten times the engagement to stay level with one 12.5 hours
-- newer; it is recomputed whenever a counter changes.
CREATE TABLE videos (
    id              BIGSERIAL PRIMARY KEY,
    author_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL DEFAULT 'upload',      -- upload | replay
    title           TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    hashtags        TEXT    NOT NULL DEFAULT '',            -- space-separated, lower case
    visibility      TEXT    NOT NULL DEFAULT 'public',      -- public | followers | private
    status          TEXT    NOT NULL DEFAULT 'processing',  -- processing | ready | failed
    fail_reason     TEXT,
    hidden          BIGINT  NOT NULL DEFAULT 0,
    deleted_at      BIGINT ,
    source_key      TEXT,
    source_name     TEXT,
    source_bytes    BIGINT  NOT NULL DEFAULT 0,
    video_key       TEXT,
    video_bytes     BIGINT  NOT NULL DEFAULT 0,
    cover_key       TEXT,
    duration_ms     BIGINT  NOT NULL DEFAULT 0,
    width           BIGINT  NOT NULL DEFAULT 0,
    height          BIGINT  NOT NULL DEFAULT 0,
    room_id         BIGINT ,
    session_id      BIGINT ,
    like_count      BIGINT  NOT NULL DEFAULT 0,
    favorite_count  BIGINT  NOT NULL DEFAULT 0,
    comment_count   BIGINT  NOT NULL DEFAULT 0,
    share_count     BIGINT  NOT NULL DEFAULT 0,
    view_count      BIGINT  NOT NULL DEFAULT 0,
    hot_score       DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
-- The feed: listed videos by score; an author's videos; processing work.
CREATE INDEX videos_feed ON videos (hot_score DESC, id DESC)
    WHERE status = 'ready' AND hidden = 0 AND deleted_at IS NULL;
CREATE INDEX videos_author ON videos (author_id, id DESC);
CREATE INDEX videos_session ON videos (session_id);

-- Hashtag pages: one row per tag of a video.
CREATE TABLE video_hashtags (
    tag         TEXT    NOT NULL,
    video_id    BIGINT  NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, video_id)
);
CREATE INDEX video_hashtags_video ON video_hashtags (video_id);

-- Search by title, description and hashtags ('simple': no stemming, any language).
CREATE INDEX videos_search ON videos USING GIN (
    to_tsvector('simple', title || ' ' || description || ' ' || hashtags)
);

CREATE TABLE video_likes (
    video_id    BIGINT  NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (video_id, user_id)
);
CREATE INDEX video_likes_user ON video_likes (user_id, created_at DESC);

CREATE TABLE video_favorites (
    video_id    BIGINT  NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (video_id, user_id)
);
CREATE INDEX video_favorites_user ON video_favorites (user_id, created_at DESC);

-- Comments; parent_id is the top-level comment a reply belongs to, reply_to_user_id
-- whom it answers. A deleted comment keeps its row (replies hang off it) with its body
-- emptied and deleted_at set.
CREATE TABLE video_comments (
    id                BIGSERIAL PRIMARY KEY,
    video_id          BIGINT  NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id           BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id         BIGINT  REFERENCES video_comments (id) ON DELETE CASCADE,
    reply_to_user_id  BIGINT ,
    body              TEXT    NOT NULL,
    like_count        BIGINT  NOT NULL DEFAULT 0,
    reply_count       BIGINT  NOT NULL DEFAULT 0,
    hidden            BIGINT  NOT NULL DEFAULT 0,
    deleted_at        BIGINT ,
    created_at        BIGINT  NOT NULL
);
CREATE INDEX video_comments_video ON video_comments (video_id, parent_id, id);
CREATE INDEX video_comments_parent ON video_comments (parent_id, id);

CREATE TABLE comment_likes (
    comment_id  BIGINT  NOT NULL REFERENCES video_comments (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (comment_id, user_id)
);

-- Resumable uploads: a declared length, how much has arrived (each chunk is an object
-- under uploads/{id}/, listed in chunk_keys), the video's metadata, and the video it
-- became once complete.
CREATE TABLE video_uploads (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    length       BIGINT  NOT NULL,
    received     BIGINT  NOT NULL DEFAULT 0,
    chunk_keys   TEXT    NOT NULL DEFAULT '',  -- the stored chunks' keys, one per line, in order
    filename     TEXT    NOT NULL DEFAULT '',
    metadata     TEXT    NOT NULL DEFAULT '{}',
    video_id     BIGINT ,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX video_uploads_expiry ON video_uploads (expires_at);

-- Reports of a video, a comment or a user, worked through by admins.
CREATE TABLE reports (
    id           BIGSERIAL PRIMARY KEY,
    reporter_id  BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_kind  TEXT    NOT NULL,                 -- video | comment | user
    target_id    BIGINT  NOT NULL,
    reason       TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'open',  -- open | hidden | deleted | dismissed | banned
    handled_by   BIGINT ,
    handled_at   BIGINT ,
    note         TEXT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX reports_status ON reports (status, id);
CREATE INDEX reports_target ON reports (target_kind, target_id);
-- One open report per reporter and target; a decided one may be reported again.
CREATE UNIQUE INDEX reports_open ON reports (reporter_id, target_kind, target_id)
    WHERE status = 'open';

-- A room may record its live sessions as replays.
ALTER TABLE live_rooms ADD COLUMN record BIGINT  NOT NULL DEFAULT 0;
