-- This node's key history: each rotation is a statement signed by the key
-- it retires, naming the key that follows. Peers that pinned an older key
-- follow the chain from it (GET /api/v1/federation/keys), so a rotation
-- reaches them even when they were offline; the ledger is verified against
-- every key the node has had.
CREATE TABLE node_key_rotations (
    seq BIGINT PRIMARY KEY,
    previous_key TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL UNIQUE,
    rotated_at TEXT NOT NULL,
    signature TEXT NOT NULL
);
