-- Sharing (数据共享): applications for catalog entries, their decision
-- steps, and the grants approvals create. An application's request and a
-- grant's terms are JSON documents (govdata_sharing::{ApplicationRequest,
-- GrantTerms}) that only the server reads; the columns beside them are what
-- listings and policy filter on.
CREATE TABLE share_applications (
    id TEXT PRIMARY KEY,
    -- Applications submitted together (one-stop, 一次申请) share a batch.
    batch_id TEXT NOT NULL,
    entry_code TEXT NOT NULL REFERENCES catalog_entries(code),
    entry_version BIGINT NOT NULL,
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    provider_department_id TEXT NOT NULL REFERENCES departments(id),
    -- submitted | awaiting_authority | approved | rejected | withdrawn
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    -- The terms the provider approved with, while the authority's approval
    -- (重要/核心 data) is pending.
    proposed_terms TEXT,
    due_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX share_applications_consumer ON share_applications (consumer_department_id, created_at);
CREATE INDEX share_applications_provider ON share_applications (provider_department_id, status);
CREATE INDEX share_applications_due ON share_applications (status, due_at);

-- Every step of an application: who, when, what, and the legal reason of a
-- rejection.
CREATE TABLE share_application_steps (
    application_id TEXT NOT NULL REFERENCES share_applications(id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    comment TEXT,
    legal_basis TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES share_applications(id),
    entry_code TEXT NOT NULL REFERENCES catalog_entries(code),
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    provider_department_id TEXT NOT NULL REFERENCES departments(id),
    terms TEXT NOT NULL,
    -- Key of the keyed hash used by the `hash` masking rule: per grant, so
    -- hashed values link within one grant and nowhere else.
    mask_key TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX grants_consumer ON grants (consumer_department_id, created_at);
CREATE INDEX grants_provider ON grants (provider_department_id, created_at);
CREATE INDEX grants_application ON grants (application_id);

-- Demands (需求): a consumer's stated need, routed to a provider department,
-- answered with an entry that will provide it or with the legal basis for
-- not providing it.
CREATE TABLE demands (
    id TEXT PRIMARY KEY,
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    provider_department_id TEXT NOT NULL REFERENCES departments(id),
    -- The entry the consumer named, if any.
    entry_code TEXT REFERENCES catalog_entries(code),
    -- JSON: description, wanted items, purpose, legal basis.
    request TEXT NOT NULL,
    -- open | will_provide | cannot_provide
    status TEXT NOT NULL,
    -- The entry that answers the demand (will_provide).
    answer_entry_code TEXT REFERENCES catalog_entries(code),
    answer_legal_basis TEXT,
    answer_comment TEXT,
    answered_by TEXT,
    answered_at TEXT,
    due_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX demands_consumer ON demands (consumer_department_id, created_at);
CREATE INDEX demands_provider ON demands (provider_department_id, status);

-- Objections (异议) against a rejected application or a data problem in a
-- grant's data; the authority arbitrates.
CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    -- rejection | data_problem
    kind TEXT NOT NULL,
    application_id TEXT REFERENCES share_applications(id),
    grant_id TEXT REFERENCES grants(id),
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    provider_department_id TEXT NOT NULL REFERENCES departments(id),
    statement TEXT NOT NULL,
    -- open | upheld | dismissed
    status TEXT NOT NULL,
    provider_response TEXT,
    responded_at TEXT,
    ruling TEXT,
    ruled_by TEXT,
    ruled_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX objections_consumer ON objections (consumer_department_id, created_at);
CREATE INDEX objections_provider ON objections (provider_department_id, created_at);
CREATE INDEX objections_status ON objections (status, created_at);

-- Gateway usage per grant and day (China Standard Time): a projection of
-- the `gateway.*` ledger entries, accumulated in memory by the serving
-- process and added here every few seconds. Quotas and usage statistics
-- read it.
CREATE TABLE gateway_usage (
    grant_id TEXT NOT NULL REFERENCES grants(id),
    day TEXT NOT NULL,
    calls BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    rows_returned BIGINT NOT NULL,
    latency_us_total BIGINT NOT NULL,
    latency_us_max BIGINT NOT NULL,
    PRIMARY KEY (grant_id, day)
);
