-- Subscriptions (订阅): a consumer's standing order to receive a grant's row
-- changes at its webhook. The cursor names the next change to deliver: the
-- table version, and how many of that version's rows (inside the grant's
-- scope) were already delivered.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants(id),
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    url TEXT NOT NULL,
    -- The Standard Webhooks signing secret ("whsec_" + base64), shown to
    -- the consumer once, when the subscription is made.
    secret TEXT NOT NULL,
    batch_size BIGINT NOT NULL,
    -- active | closed
    status TEXT NOT NULL,
    closed_reason TEXT,
    cursor_version BIGINT NOT NULL,
    cursor_offset BIGINT NOT NULL,
    -- Failed deliveries in a row; the next attempt waits longer each time.
    failures BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    last_delivered_at TEXT,
    delivered_rows BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX subscriptions_due ON subscriptions (status, next_attempt_at);
CREATE INDEX subscriptions_consumer ON subscriptions (consumer_department_id, created_at);
CREATE INDEX subscriptions_grant ON subscriptions (grant_id);

-- Every delivery attempt: which changes, how the receiver answered.
CREATE TABLE subscription_deliveries (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    from_cursor TEXT NOT NULL,
    to_cursor TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    -- The receiver's HTTP status; NULL when no answer came.
    status_code BIGINT,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, seq)
);
