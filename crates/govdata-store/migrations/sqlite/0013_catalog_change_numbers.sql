-- Each write of a catalog version takes the next change number, so the
-- duplicate check (一数一源) can keep the live entries' summaries in memory
-- and read only the versions written since it last looked
-- (govdata-catalog/src/duplicates.rs) instead of every live entry for each
-- submission and each imported file. Versions written before this have 0.
CREATE TABLE catalog_change_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO catalog_change_head (id, last) VALUES (1, 0);
ALTER TABLE catalog_versions ADD COLUMN change_number BIGINT NOT NULL DEFAULT 0;
CREATE INDEX catalog_versions_change_number ON catalog_versions (change_number);
