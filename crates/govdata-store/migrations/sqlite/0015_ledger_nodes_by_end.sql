-- Tree nodes are keyed by where they end, then level: the nodes a batch of
-- entries completes are then neighbours at the table's end. Keyed (level,
-- idx), each level had its own tail, so every commit rewrote one page per
-- level (about six for a batch of 16 entries, 17 WAL frames a commit in
-- all; 10 with this key). leaf_end is one past the node's last leaf,
-- (idx + 1) << level, from which idx follows.
CREATE TABLE ledger_nodes_by_end (
    leaf_end BIGINT NOT NULL,
    level BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (leaf_end, level)
) WITHOUT ROWID;
INSERT INTO ledger_nodes_by_end (leaf_end, level, hash)
    SELECT (idx + 1) << level, level, hash FROM ledger_nodes ORDER BY 1, 2;
DROP TABLE ledger_nodes;
ALTER TABLE ledger_nodes_by_end RENAME TO ledger_nodes;
