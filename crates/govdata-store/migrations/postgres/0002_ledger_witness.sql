-- Witnessing: per witnessed log (a child node's origin), the last
-- checkpoint this node cosigned. A new one is cosigned only if it is
-- consistent with it.
CREATE TABLE ledger_witnessed (
    origin TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    cosigned_at TEXT NOT NULL
);
