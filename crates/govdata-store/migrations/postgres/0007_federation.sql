-- Federation (DESIGN.md §5): the nodes this one is joined to, one-time join
-- tokens, seen signature nonces, the catalog outbox and the entries received
-- from descendants.

-- The parent (at most one) and the children of this node, keys pinned at join.
CREATE TABLE federation_nodes (
    id TEXT PRIMARY KEY,
    relation TEXT NOT NULL,            -- parent | child
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    region TEXT NOT NULL,
    url TEXT NOT NULL,
    public_key TEXT NOT NULL,          -- base64 of the raw Ed25519 key
    status TEXT NOT NULL,              -- active | suspended
    joined_at TEXT NOT NULL,
    key_rotated_at TEXT,
    last_seen_at TEXT,
    -- parent row: the highest outbox sequence the parent acknowledged;
    -- child row: the highest of the child's sequences applied here.
    synced_seq BIGINT NOT NULL DEFAULT 0,
    last_sync_at TEXT,
    -- child row: the child's outbox backlog as it last reported it.
    reported_backlog BIGINT NOT NULL DEFAULT 0,
    -- parent row: the last checkpoint of ours the parent cosigned (signed
    -- note with the cosignature line); child row: why witnessing refused the
    -- child's history, if it did.
    cosigned_checkpoint TEXT,
    witness_alarm TEXT
);
CREATE UNIQUE INDEX federation_one_parent ON federation_nodes (relation) WHERE relation = 'parent';

CREATE TABLE federation_join_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    node_id TEXT NOT NULL,             -- the child the token is for
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Nonces of accepted signed requests, kept for the signature window.
CREATE TABLE federation_nonces (
    node_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (node_id, nonce)
);
CREATE INDEX federation_nonces_seen ON federation_nonces (seen_at);

-- One counter row: outbox sequences are taken under its row lock, so they
-- are handed out in commit order on both backends.
CREATE TABLE federation_sequence (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);

-- Published catalog changes waiting to travel up: this node's own (home_node
-- NULL) and those relayed from descendants.
CREATE TABLE federation_outbox (
    seq BIGINT PRIMARY KEY,
    home_node TEXT,
    home_name TEXT,
    home_region TEXT,
    home_seq BIGINT,
    code TEXT NOT NULL,
    action TEXT NOT NULL,              -- publish | withdraw
    document TEXT,
    provider_name TEXT,
    created_at TEXT NOT NULL
);

-- The one ledger of descendants: the latest published state of each of
-- their entries, applied only when newer (home_seq) than what is held.
CREATE TABLE federated_entries (
    home_node TEXT NOT NULL,
    code TEXT NOT NULL,
    home_name TEXT NOT NULL,
    home_region TEXT NOT NULL,
    home_seq BIGINT NOT NULL,
    via_node TEXT NOT NULL,
    action TEXT NOT NULL,
    document TEXT,
    provider_name TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (home_node, code)
);
-- Counts per home node and per child without reading the documents.
CREATE INDEX federated_entries_home ON federated_entries (home_node, action);
CREATE INDEX federated_entries_via ON federated_entries (via_node, action);

-- Every entry published before this migration travels up too.
INSERT INTO federation_outbox (seq, code, action, document, provider_name, created_at)
SELECT ROW_NUMBER() OVER (ORDER BY e.code), e.code, 'publish', v.document, d.name, v.updated_at
FROM catalog_entries e
JOIN catalog_versions v ON v.code = e.code AND v.version = e.published_version
JOIN departments d ON d.id = e.provider_department_id;

INSERT INTO federation_sequence (id, last_seq) SELECT 1, COUNT(*) FROM federation_outbox;
