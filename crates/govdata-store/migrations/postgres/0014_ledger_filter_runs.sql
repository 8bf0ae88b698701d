-- The ledger's filter index becomes runs: for each run of `run_size`
-- consecutive entries, one row per distinct term (kind:…, actor:…,
-- subject:…) holding the offsets of the entries that carry it. A run is
-- written once, when its last entry is committed, at the end of the table
-- (rows are keyed by run first); three secondary indexes took a write at a
-- random place per entry each (store/src/ledger/filter.rs). The indexer
-- rebuilds the runs from the log.
DROP TABLE ledger_filter;

CREATE TABLE ledger_filter_runs (
    run BIGINT NOT NULL,
    term TEXT NOT NULL,
    postings BYTEA NOT NULL,
    PRIMARY KEY (run, term)
);

ALTER TABLE ledger_filter_head ADD COLUMN run_size BIGINT NOT NULL DEFAULT 4096;
UPDATE ledger_filter_head SET upto = 0;
