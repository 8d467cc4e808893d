-- Search that reads Chinese, Japanese and Korean (see store::search): each searchable
-- table keeps the terms a row is found by in search_text, written by momo whenever the
-- words they come from change, and search_v, the version of the rules that made them
-- (rows of an older version, and those from before this migration, are indexed again
-- at start). The terms are plain ASCII words, so the 'simple' configuration reads them
-- the same under any locale (a C locale drops CJK characters from to_tsvector).

ALTER TABLE videos ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN search_v BIGINT NOT NULL DEFAULT 0;
ALTER TABLE live_rooms ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE live_rooms ADD COLUMN search_v BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN search_v BIGINT NOT NULL DEFAULT 0;

DROP INDEX videos_search;
CREATE INDEX videos_search ON videos USING GIN (to_tsvector('simple', search_text));
CREATE INDEX live_rooms_search ON live_rooms USING GIN (to_tsvector('simple', search_text));
CREATE INDEX users_search ON users USING GIN (to_tsvector('simple', search_text));

CREATE INDEX videos_search_v ON videos (search_v);
CREATE INDEX live_rooms_search_v ON live_rooms (search_v);
CREATE INDEX users_search_v ON users (search_v);
