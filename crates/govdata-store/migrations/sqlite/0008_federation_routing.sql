-- Applications across nodes and the routes to reach them (DESIGN.md §5).

-- A consumer department of another node, known here because an application
-- of its was routed here; never listed among this node's departments.
ALTER TABLE departments ADD COLUMN home_node TEXT;
ALTER TABLE departments ADD COLUMN home_department_id TEXT;
CREATE UNIQUE INDEX departments_remote ON departments (home_node, home_department_id) WHERE home_node IS NOT NULL;

-- Applications this node's consumers sent to entries owned at other nodes.
CREATE TABLE remote_applications (
    id TEXT PRIMARY KEY,
    home_node TEXT NOT NULL,
    consumer_department_id TEXT NOT NULL REFERENCES departments(id),
    actor TEXT NOT NULL,
    request TEXT NOT NULL,
    -- JSON array of the application ids the home node gave them.
    remote_ids TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX remote_applications_department ON remote_applications (consumer_department_id, created_at);

-- The nodes below this node's children, as the children last reported them
-- (with each checkpoint they present), and the child each is reached through.
CREATE TABLE federation_descendants (
    id TEXT PRIMARY KEY,
    via_node TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    region TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
CREATE INDEX federation_descendants_via ON federation_descendants (via_node);
