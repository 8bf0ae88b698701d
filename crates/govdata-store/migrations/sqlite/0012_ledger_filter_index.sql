-- An append now writes only where the log ends. The kind, actor and subject
-- indexes the auditor's filters use took each batch of entries at as many
-- places as it had actors and subjects, so every commit rewrote ~100 pages;
-- they move to ledger_filter, which a background indexer fills from the
-- committed log many entries at a time (store/src/ledger/filter.rs), and
-- ledger_filter_head says how far it got. Entries past that point are found
-- by scanning the short unindexed tail.
--
-- On SQLite the entries' index also becomes the rowid (one B-tree instead
-- of two) and the tree nodes a WITHOUT ROWID table (likewise).

CREATE TABLE ledger_entries_by_rowid (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    canonical BLOB NOT NULL,
    payload TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    at TEXT NOT NULL
);
INSERT INTO ledger_entries_by_rowid (idx, leaf_hash, canonical, payload, kind, actor, subject, at)
    SELECT idx, leaf_hash, canonical, payload, kind, actor, subject, at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_by_rowid RENAME TO ledger_entries;

CREATE TABLE ledger_nodes_clustered (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
INSERT INTO ledger_nodes_clustered (level, idx, hash) SELECT level, idx, hash FROM ledger_nodes;
DROP TABLE ledger_nodes;
ALTER TABLE ledger_nodes_clustered RENAME TO ledger_nodes;

CREATE TABLE ledger_filter (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL
);
INSERT INTO ledger_filter (idx, kind, actor, subject) SELECT idx, kind, actor, subject FROM ledger_entries;
CREATE INDEX ledger_filter_kind ON ledger_filter (kind, idx);
CREATE INDEX ledger_filter_actor ON ledger_filter (actor, idx);
CREATE INDEX ledger_filter_subject ON ledger_filter (subject, idx);

CREATE TABLE ledger_filter_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    upto BIGINT NOT NULL
);
INSERT INTO ledger_filter_head (id, upto) SELECT 1, size FROM ledger_head;
