-- Which node a live room's stream is published to (its origin): set when the room goes
-- live, so that the end of a stream on a node that is no longer the origin (the encoder
-- moved to another node within the grace period) does not take the room offline.
ALTER TABLE live_rooms ADD COLUMN origin TEXT;
