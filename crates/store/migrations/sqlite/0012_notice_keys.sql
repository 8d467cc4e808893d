-- A notice another part of momo asked for arrives as a durable job (`notices.deliver`),
-- which may run twice if its worker dies after storing it; the job's key is stored with
-- the notification, so the second run finds it and stores nothing.
ALTER TABLE notifications ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
