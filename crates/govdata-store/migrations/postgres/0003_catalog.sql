-- The catalog (数据目录). An entry is its stable resource code; each version
-- is a JSON document (govdata_model::catalog::CatalogEntry) with the columns
-- listings filter on beside it; history records who did what, when and why.
CREATE TABLE catalog_sequences (
    classification TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);

CREATE TABLE catalog_entries (
    code TEXT PRIMARY KEY,
    provider_department_id TEXT NOT NULL REFERENCES departments(id),
    latest_version BIGINT NOT NULL,
    published_version BIGINT,
    created_at TEXT NOT NULL
);

CREATE TABLE catalog_versions (
    code TEXT NOT NULL REFERENCES catalog_entries(code),
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    -- The compact EntrySummary the duplicate check reads for every live entry.
    summary TEXT NOT NULL,
    -- The facts statistics group by (one ledger, 一本账).
    top_class TEXT NOT NULL,
    share_type TEXT NOT NULL,
    open_type TEXT NOT NULL,
    grade TEXT NOT NULL,
    update_cycle TEXT NOT NULL,
    format_class TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (code, version)
);
CREATE INDEX catalog_versions_status ON catalog_versions (status, updated_at);

CREATE TABLE catalog_history (
    code TEXT NOT NULL REFERENCES catalog_entries(code),
    seq BIGINT NOT NULL,
    step TEXT NOT NULL,
    PRIMARY KEY (code, seq)
);
