-- Data resources (数据资源) and their aggregation jobs. A resource binds a
-- catalog entry to where its data lives; its definition is a JSON document
-- (govdata_lake::resource::ResourceSpec, with connection secrets) that only
-- the server reads. Jobs keep the history of every aggregation run.
CREATE TABLE resources (
    id TEXT PRIMARY KEY,
    entry_code TEXT NOT NULL REFERENCES catalog_entries(code),
    department_id TEXT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    access_kind TEXT NOT NULL,
    entity_kind TEXT,
    spec TEXT NOT NULL,
    -- The source's columns as the last successful job saw them (drift check).
    source_columns TEXT,
    next_run_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX resources_entry ON resources (entry_code);
CREATE INDEX resources_department ON resources (department_id);
CREATE INDEX resources_due ON resources (next_run_at);

CREATE TABLE lake_jobs (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    upload_path TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    rows_read BIGINT,
    rows_written BIGINT,
    rows_rejected BIGINT,
    reject_sample TEXT,
    drift TEXT,
    error TEXT,
    table_version BIGINT
);
CREATE INDEX lake_jobs_resource ON lake_jobs (resource_id, created_at);
CREATE INDEX lake_jobs_status ON lake_jobs (status, created_at);
