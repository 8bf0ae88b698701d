-- An append now writes only where the log ends. The kind, actor and subject
-- indexes the auditor's filters use took each batch of entries at as many
-- places as it had actors and subjects; they move to ledger_filter, which a
-- background indexer fills from the committed log many entries at a time
-- (store/src/ledger/filter.rs), and ledger_filter_head says how far it got.
-- Entries past that point are found by scanning the short unindexed tail.

CREATE TABLE ledger_filter (
    idx BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL
);
INSERT INTO ledger_filter (idx, kind, actor, subject) SELECT idx, kind, actor, subject FROM ledger_entries;
CREATE INDEX ledger_filter_kind ON ledger_filter (kind, idx);
CREATE INDEX ledger_filter_actor ON ledger_filter (actor, idx);
CREATE INDEX ledger_filter_subject ON ledger_filter (subject, idx);
DROP INDEX ledger_entries_kind;
DROP INDEX ledger_entries_actor;
DROP INDEX ledger_entries_subject;

CREATE TABLE ledger_filter_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    upto BIGINT NOT NULL
);
INSERT INTO ledger_filter_head (id, upto) SELECT 1, size FROM ledger_head;
