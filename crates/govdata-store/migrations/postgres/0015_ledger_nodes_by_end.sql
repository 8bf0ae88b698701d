-- Tree nodes are keyed by where they end, then level: the nodes a batch of
-- entries completes are then neighbours at the index's end instead of one
-- tail per level (see the SQLite migration of the same number). leaf_end
-- is one past the node's last leaf, (idx + 1) << level.
CREATE TABLE ledger_nodes_by_end (
    leaf_end BIGINT NOT NULL,
    level BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (leaf_end, level)
);
INSERT INTO ledger_nodes_by_end (leaf_end, level, hash)
    SELECT (idx + 1) << level::integer, level, hash FROM ledger_nodes ORDER BY 1, 2;
DROP TABLE ledger_nodes;
ALTER TABLE ledger_nodes_by_end RENAME TO ledger_nodes;
ALTER TABLE ledger_nodes RENAME CONSTRAINT ledger_nodes_by_end_pkey TO ledger_nodes_pkey;
