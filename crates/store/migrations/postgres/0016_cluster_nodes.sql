-- The nodes of a cluster and where the others reach them: an edge pulls a stream from
-- its origin's RTMP address and fetches its HLS from its HTTP address. `seen_at` is the
-- node's latest heartbeat (ms since the epoch); a node not seen for a while is down.
CREATE TABLE cluster_nodes (
    id TEXT PRIMARY KEY,
    rtmp TEXT NOT NULL,
    http TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
