-- Organisation, identities and credentials. Times are RFC 3339 UTC text with
-- millisecond precision, so they sort and compare as strings on both backends.
CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uscc TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE info_systems (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (department_id, name)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    department_id TEXT NOT NULL REFERENCES departments(id),
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    department_id TEXT NOT NULL REFERENCES departments(id),
    roles TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX api_keys_department ON api_keys (department_id);

-- The ledger: one row per entry; perfect-subtree hashes above the leaves;
-- the head row serialises index assignment across processes.
CREATE TABLE ledger_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);

CREATE TABLE ledger_entries (
    idx BIGINT PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    canonical BLOB NOT NULL,
    payload TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX ledger_entries_kind ON ledger_entries (kind, idx);
CREATE INDEX ledger_entries_actor ON ledger_entries (actor, idx);
CREATE INDEX ledger_entries_subject ON ledger_entries (subject, idx);

CREATE TABLE ledger_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE node_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
