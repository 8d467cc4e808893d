-- Durable jobs (the delay queue) and the last slot of each fixed-interval schedule.
-- A job goes queued -> running -> done | failed; a failed attempt with attempts left goes back
-- to queued with a later run_at. A running job holds a lease (locked_until): when it lapses
-- because its worker died, another worker claims the job again.

CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL,            -- which handler runs it
    payload      TEXT    NOT NULL,            -- JSON
    state        TEXT    NOT NULL,            -- queued | running | done | failed
    unique_key   TEXT,                        -- at most one queued or running job per key
    run_at       BIGINT  NOT NULL,            -- not before this time
    attempts     BIGINT  NOT NULL DEFAULT 0,  -- claims so far; also fences a stale worker
    max_attempts BIGINT  NOT NULL,
    last_error   TEXT,
    locked_by    TEXT,                        -- the worker holding the lease
    locked_until BIGINT,                      -- the lease; NULL unless running
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    finished_at  BIGINT                       -- when it became done or failed
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
CREATE INDEX jobs_finished ON jobs (state, finished_at);
CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
    WHERE state IN ('queued', 'running');

CREATE TABLE job_schedules (
    name         TEXT    PRIMARY KEY,
    last_slot_at BIGINT  NOT NULL,            -- start of the last slot enqueued (ms); -1: none
    updated_at   BIGINT  NOT NULL
);
