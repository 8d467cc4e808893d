-- Events that must not be lost (a ban closing sockets, a stream cut, a kick), written in
-- the transaction of the change that caused them. The node that committed publishes and
-- deletes each row at once; a row still here a few seconds later (its node died between
-- the commit and the publish) is published by whichever node sweeps first. Subscribers
-- are idempotent, so a row published twice does no harm.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_created_at ON outbox (created_at);
