-- The gift economy: rooms' extra fields and live sessions, the double-entry ledger behind
-- every wallet, recharge orders, the gift catalogue, gifts sent, rankings and withdrawals.

ALTER TABLE live_rooms ADD COLUMN cover_url TEXT NOT NULL DEFAULT '';
ALTER TABLE live_rooms ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE live_rooms ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';           -- JSON array
ALTER TABLE live_rooms ADD COLUMN session_id BIGINT;                         -- current live session
ALTER TABLE live_rooms ADD COLUMN live_seen_at BIGINT;                       -- last heartbeat of its stream
CREATE INDEX live_rooms_category ON live_rooms (category, status);
CREATE INDEX live_rooms_created ON live_rooms (created_at);

-- One row per live period of a room.
CREATE TABLE live_sessions (
    id           BIGSERIAL PRIMARY KEY,
    room_id      BIGINT NOT NULL REFERENCES live_rooms (id) ON DELETE CASCADE,
    started_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    end_reason   TEXT,
    peak_viewers BIGINT NOT NULL DEFAULT 0,
    gift_coins   BIGINT NOT NULL DEFAULT 0,    -- coins spent on gifts in this session
    gift_diamonds BIGINT NOT NULL DEFAULT 0    -- diamonds the anchor earned from them
);
CREATE INDEX live_sessions_room ON live_sessions (room_id, started_at);

-- Balances of users' ledger accounts ("u{id}.coin", "u{id}.diamond", "u{id}.held").
-- System accounts ("sys.*") have no row: their balance is the sum of their entries.
CREATE TABLE ledger_accounts (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset      TEXT    NOT NULL,                          -- coin | diamond
    balance    BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_user ON ledger_accounts (user_id);

-- One row per change of money; its entries sum to zero for each asset.
CREATE TABLE ledger_txns (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT    NOT NULL,     -- recharge | gift | withdraw_hold | withdraw_paid | withdraw_release | adjustment
    user_id         BIGINT NOT NULL,     -- who asked for it
    idempotency_key TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,     -- what was asked, to refuse a key reused for something else
    result          TEXT    NOT NULL DEFAULT '{}',  -- the answer given, repeated to retries
    memo            TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);

CREATE TABLE ledger_entries (
    id            BIGSERIAL PRIMARY KEY,
    txn_id        BIGINT NOT NULL REFERENCES ledger_txns (id),
    account       TEXT    NOT NULL,
    user_id       BIGINT,                -- owner of a user account, NULL for system accounts
    asset         TEXT    NOT NULL,
    amount        BIGINT NOT NULL,       -- signed: credit > 0, debit < 0
    balance_after BIGINT,                -- for user accounts
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_entries_user ON ledger_entries (user_id, id);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);

CREATE TABLE recharge_orders (
    id           BIGSERIAL PRIMARY KEY,
    order_no     TEXT    NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    package_id   TEXT    NOT NULL,
    coins        BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency     TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'created',   -- created | paid | credited | closed
    provider_txn TEXT    UNIQUE,
    txn_id       BIGINT,
    created_at   BIGINT NOT NULL,
    paid_at      BIGINT,
    credited_at  BIGINT,
    closed_at    BIGINT
);
CREATE INDEX recharge_orders_user ON recharge_orders (user_id, id);

CREATE TABLE gifts (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL,
    price_coins   BIGINT NOT NULL CHECK (price_coins > 0),
    icon_url      TEXT    NOT NULL DEFAULT '',
    animation_url TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL DEFAULT 'normal',  -- normal | animated | effect
    sort          BIGINT NOT NULL DEFAULT 0,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE gift_events (
    id         BIGSERIAL PRIMARY KEY,
    txn_id     BIGINT NOT NULL REFERENCES ledger_txns (id),
    room_id    BIGINT NOT NULL,
    session_id BIGINT,
    sender_id  BIGINT NOT NULL,
    anchor_id  BIGINT NOT NULL,
    gift_id    BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    coins      BIGINT NOT NULL,
    diamonds   BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX gift_events_room ON gift_events (room_id, created_at);
CREATE INDEX gift_events_session ON gift_events (session_id);

-- Contribution rankings, kept as running sums per period: "all", "d20261127",
-- "w2026-48", "s{session_id}". room_id 0 holds the global anchor ranking (user = anchor).
CREATE TABLE gift_ranks (
    room_id BIGINT NOT NULL,
    period  TEXT    NOT NULL,
    user_id BIGINT NOT NULL,
    coins   BIGINT NOT NULL,
    PRIMARY KEY (room_id, period, user_id)
);
CREATE INDEX gift_ranks_top ON gift_ranks (room_id, period, coins);

CREATE TABLE withdrawals (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    diamonds    BIGINT NOT NULL CHECK (diamonds > 0),
    account     TEXT    NOT NULL DEFAULT '',   -- where the anchor wants the money
    state       TEXT    NOT NULL DEFAULT 'pending',  -- pending | paid | rejected
    reason      TEXT    NOT NULL DEFAULT '',
    reviewer_id BIGINT,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
CREATE INDEX withdrawals_user ON withdrawals (user_id, id);
CREATE INDEX withdrawals_state ON withdrawals (state, id);
