-- Search that reads Chinese, Japanese and Korean (see store::search): each searchable
-- table keeps the terms a row is found by in search_text, written by momo whenever the
-- words they come from change, and search_v, the version of the rules that made them
-- (rows of an older version, and those from before this migration, are indexed again
-- at start). FTS5 indexes the terms, which are plain ASCII words.

ALTER TABLE videos ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN search_v INTEGER NOT NULL DEFAULT 0;
ALTER TABLE live_rooms ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE live_rooms ADD COLUMN search_v INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN search_v INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER videos_fts_insert;
DROP TRIGGER videos_fts_delete;
DROP TRIGGER videos_fts_update;
DROP TABLE videos_fts;

CREATE VIRTUAL TABLE videos_fts USING fts5 (
    search_text, content = 'videos', content_rowid = 'id'
);
CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
    INSERT INTO videos_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
    INSERT INTO videos_fts (videos_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER videos_fts_update AFTER UPDATE OF search_text ON videos BEGIN
    INSERT INTO videos_fts (videos_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO videos_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE VIRTUAL TABLE live_rooms_fts USING fts5 (
    search_text, content = 'live_rooms', content_rowid = 'id'
);
CREATE TRIGGER live_rooms_fts_insert AFTER INSERT ON live_rooms BEGIN
    INSERT INTO live_rooms_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER live_rooms_fts_delete AFTER DELETE ON live_rooms BEGIN
    INSERT INTO live_rooms_fts (live_rooms_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER live_rooms_fts_update AFTER UPDATE OF search_text ON live_rooms BEGIN
    INSERT INTO live_rooms_fts (live_rooms_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO live_rooms_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE VIRTUAL TABLE users_fts USING fts5 (
    search_text, content = 'users', content_rowid = 'id'
);
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO users_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE INDEX videos_search_v ON videos (search_v);
CREATE INDEX live_rooms_search_v ON live_rooms (search_v);
CREATE INDEX users_search_v ON users (search_v);
